// salvage's command-line options: words in /chosen/bootargs (how kexec-tools passes a
// capture kernel its command line). Pure; host-tested.
//
//   salvage.debug=fault          fault on purpose after the boot report
//   salvage.debug=report         stop after the boot report, dump nothing
//   elfcorehdr=[size@]addr       where the loader left the ELF core header (32-bit Arm
//                                kexec-tools passes it here as well as, or instead of,
//                                /chosen/linux,elfcorehdr); K/M/G suffixes as Linux's memparse
//   mem=size[@start]             the capture kernel's memory: with @start it is part of
//                                salvage's reservation and never dumped
//   salvage.sink=, salvage.target=, salvage.after=   see docs/options.md
//   salvage.confirm=whole-disk   with salvage.target=disk: yes, write over the whole device
//
// A block sink writes only where it is told to: it has no default target, and the whole
// device (salvage.target=disk) also needs salvage.confirm=whole-disk (BlockTargetRefusal).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace salvage {

enum class SinkKind : uint8_t { kUart, kVirtioBlk, kSd };
enum class AfterAction : uint8_t { kPowerOff, kReboot, kHalt };

struct Options {
  SinkKind sink = SinkKind::kUart;            ///< salvage.sink=uart|virtio-blk[@ADDR]|sd[@ADDR]
  std::optional<uint64_t> sink_address;       ///< salvage.sink=virtio-blk@ADDR or sd@ADDR
  std::string_view target;                    ///< salvage.target=... (docs/options.md), parsed by blockdump; empty: none given
  bool confirm_whole_disk = false;            ///< salvage.confirm=whole-disk
  AfterAction after = AfterAction::kPowerOff; ///< salvage.after=poweroff|reboot|halt
  bool debug_fault = false;
  bool debug_report_only = false;
  bool debug_copy_bench = false;   ///< salvage.debug=copy-bench: time a plain copy of the dump first (bench/).
  bool debug_virtio_busy = false;  ///< salvage.debug=virtio-busy: leave writes queued before the real driver starts (test).
  bool debug_sd_busy = false;      ///< salvage.debug=sd-busy: leave a CMD25 half sent before the real SD driver starts (test).
  bool debug_sd_pins_sdhost = false;  ///< salvage.debug=sd-pins-sdhost: route GPIO 48-53 to the SDHOST first (test).
  std::optional<uint64_t> elfcorehdr_addr;  ///< From elfcorehdr=.
  std::optional<uint64_t> elfcorehdr_size;  ///< From elfcorehdr=size@addr.
  std::optional<uint64_t> mem_size;         ///< From mem=.
  std::optional<uint64_t> mem_start;        ///< From mem=size@start.
  static constexpr size_t kMaxUnknown = 8;
  std::string_view unknown[kMaxUnknown];  ///< salvage.* words not understood (reported, ignored).
  size_t unknown_count = 0;
  std::string_view malformed[kMaxUnknown];  ///< elfcorehdr=/mem= words that do not parse.
  size_t malformed_count = 0;
};

/// Reads the words of `bootargs` (separated by spaces, tabs, CR, LF or NUL). Words that
/// are neither salvage.* nor elfcorehdr=/mem= belong to Linux and are skipped.
Options ParseOptions(std::string_view bootargs);

/// Reads `bootargs`, then `salvage_options` (/chosen/salvage,options, docs/options.md):
/// where both give a word, salvage_options wins.
Options ParseOptions(std::string_view bootargs, std::string_view salvage_options);

/// Why a block sink must not write with these options, or nullptr when it may (or the
/// sink is the UART): a block sink without salvage.target (there is no default: the first
/// disk may be the system's own), or salvage.target=disk without
/// salvage.confirm=whole-disk. The image checks this before it touches the device, prints
/// the message and writes nothing.
const char* BlockTargetRefusal(const Options& options);

/// The messages BlockTargetRefusal returns.
inline constexpr char kMsgNoTarget[] =
    "a block sink needs salvage.target= (there is no default: the device may hold the system's own data): "
    "a partition (gpt-name:NAME, gpt-uuid:UUID, mbr:N), extents:S+C,..., or the whole device with "
    "salvage.target=disk salvage.confirm=whole-disk; nothing was written";
inline constexpr char kMsgWholeDiskUnconfirmed[] =
    "salvage.target=disk writes over the whole device, and salvage.confirm=whole-disk does not confirm it: "
    "add that word (salvage load --target disk --confirm-whole-device), or name a partition; nothing was written";

/// The options a stream header records (docs/stream-format.md §4.5): where the dump
/// went and what happens after, as the salvage.* words that say so, e.g.
/// "salvage.sink=virtio-blk@0xa003e00 salvage.target=gpt-name:dump salvage.after=reboot"
/// ("salvage.target=" only for a block sink). Writes at most out.size() bytes (a word
/// that does not fit is left out) and returns how many.
size_t FormatStreamOptions(const Options& options, std::span<char> out);

/// Linux's memparse: a number (decimal, 0x hex, or 0 octal) with an optional K, M, G,
/// T suffix (either case). Returns nullopt for anything else or on overflow.
std::optional<uint64_t> ParseMemSize(std::string_view text);

}  // namespace salvage
