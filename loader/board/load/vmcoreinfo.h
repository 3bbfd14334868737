// salvage::loader::load — the VMCOREINFO text (the "KEY=value" lines the kernel writes
// for dump tools), which gives salvage the kernel's virtual addresses for the
// elfcorehdr (elfcorehdr::AddressingFromVmcoreinfo).
//
// /sys/kernel/vmcoreinfo gives only the note's physical address; its bytes are read from
// /proc/kcore (fs/proc/kcore.c), an ELF core file whose PT_NOTE segment holds, since
// Linux 4.19, a note named "VMCOREINFO" (type 0) whose descriptor is that text. Reading
// /proc/kcore needs CAP_SYS_RAWIO, and kernel lockdown (confidentiality) hides it.
// Note layout: System V gABI "Note Section" (namesz, descsz, type, name and descriptor
// each padded to 4 bytes, in ELF32 and ELF64 alike on Linux).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/expected.h"

namespace salvage::loader::load {

/// The descriptor of the first note named "VMCOREINFO" in `notes` (a PT_NOTE segment's
/// bytes), without trailing NULs; nullopt when there is none or the notes are malformed
/// before it.
std::optional<std::string> FindVmcoreinfoNote(std::span<const uint8_t> notes);

/// Reads the ELF header, the program headers and the PT_NOTE segments of the core file
/// at `path` (/proc/kcore), and returns FindVmcoreinfoNote of them.
/// Errors (naming the path): cannot open or read ("run salvage as root" for EACCES/EPERM);
/// not a little-endian ELF32/ELF64 core file; no VMCOREINFO note (a kernel before 4.19).
Expected<std::string> ReadVmcoreinfoFromKcore(const std::string& path);

struct VmcoreinfoText {
  std::string text;
  std::string source;  ///< Where it came from, for messages and -v.
};

/// Where `salvage load` takes the text: ROOT/proc/kcore; under a --root DIR that has no
/// proc/kcore, the file DIR/vmcoreinfo-desc.txt (a fixture tree's stand-in: the note's
/// descriptor as plain text). Errors: those of ReadVmcoreinfoFromKcore, or under --root
/// neither file.
Expected<VmcoreinfoText> ReadVmcoreinfoText(std::string_view root);

/// NUMBER/plain KEY from VMCOREINFO text ("PAGESIZE=4096"): the value of "KEY=" as a
/// decimal number; nullopt when missing or malformed.
std::optional<uint64_t> VmcoreinfoDecimal(std::string_view text, std::string_view key);

}  // namespace salvage::loader::load
