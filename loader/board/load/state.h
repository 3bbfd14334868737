// salvage::loader::load — the state file: what `salvage load` loaded, for `salvage
// status` and `salvage unload`. The kernel says only whether *a* crash kernel is loaded
// (/sys/kernel/kexec_crash_loaded); this file says that salvage loaded it, with which
// options, and when.
//
// /run/salvage/loaded (under --root DIR: DIR/run/salvage/loaded). /run is a tmpfs, so
// the file goes away with a reboot, as the loaded crash kernel does; the boot id it
// records catches a file that survived one anyway. Format: "key=value" lines, '#'
// comments; unknown keys are ignored (a newer salvage may add some):
//   version=1
//   loaded_at=1700000000            seconds since the epoch
//   boot_id=0f1e...                 /proc/sys/kernel/random/boot_id (absent when unknown)
//   arch=aarch64
//   image=/usr/lib/salvage/salvage.img
//   purgatory=/usr/lib/salvage/purgatory.bin
//   dtb=/sys/firmware/fdt
//   options=salvage.sink=uart salvage.after=poweroff
//   append=                         words for bootargs (--append)
//   reservation=0x7b000000 0x4000000
//   entry=0x7b0ab000
//   segment=image 0x7b000000 0x2bcd0 0xab000 <sha256>     name addr bufsz memsz sha256
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <salvage/base/phys.h>

#include "common/expected.h"

namespace salvage::loader::load {

struct StateSegment {
  std::string name;
  uint64_t addr = 0, bufsz = 0, memsz = 0;
  std::string sha256;  ///< Lowercase hex.
};

struct LoadState {
  int64_t loaded_at = 0;
  std::string boot_id, arch, image, purgatory, dtb, options, append;
  PhysRange reservation;
  uint64_t entry = 0;
  std::vector<StateSegment> segments;
};

/// The state file's path under `root`.
std::string StatePath(std::string_view root);

/// The file's text.
std::string FormatState(const LoadState& state);

/// Parses the text. Errors ("SOURCE:LINE: ..."): a line without '=', a number or segment
/// line that does not parse, a version other than 1, no loaded_at.
Expected<LoadState> ParseState(std::string_view text, std::string_view source);

/// Writes the file atomically (a temporary file renamed over it), creating its directory
/// (mode 0755). Errors name the path and errno's text.
Expected<void> WriteStateFile(const std::string& path, const LoadState& state);

/// Reads and parses it; nullopt-like: ok() with loaded_at 0 when the file does not exist.
Expected<LoadState> ReadStateFile(const std::string& path);

/// Removes it. Returns whether a file was removed; errors other than "no such file".
Expected<bool> RemoveStateFile(const std::string& path);

/// "2024-01-02 03:04:05 UTC".
std::string FormatTime(int64_t unix_seconds);

}  // namespace salvage::loader::load
