// salvage::loader::proc — /proc/iomem: the kernel's tree of physical address ranges.
//
// Format (Linux kernel/resource.c, r_show()): one resource per line,
//   "%*s%0*llx-%0*llx : %s\n"  with  depth * 2 spaces, start, end, name
// where start and end are lowercase hexadecimal without "0x", zero-padded to 8 digits
// (longer when the value needs it: "8000000000-ffffffffff"), and end is the *last* byte
// (inclusive). A child is indented two spaces more than its parent and lies inside it;
// siblings are in address order. The kernel prints at most 5 levels.
//
// Since Linux 4.15 the file is readable by everyone but shows every address as zero
// ("00000000-00000000 : System RAM") to a reader without CAP_SYS_ADMIN: the tree and the
// names are there, the addresses are not. ParseIomem detects that and says to run as root.
//
// Names that matter for kdump, and where they sit on salvage's targets:
//   "System RAM"        top level: the RAM the kernel manages (hot-plugged memory is
//                       "System RAM (kmem)", "System RAM (virtio_mem)": the same thing);
//   "Crash kernel"      inside System RAM: crashkernel= reservation (crashk_res); with
//                       crashkernel=X,high there is a second, low one (crashk_low_res),
//                       with the same name;
//   "Kernel code"       inside System RAM (arm64, arm) or inside "Kernel image" (riscv):
//   "Kernel data"       _text (or _stext on some arm64 kernels) to __init_begin - 1, and
//   "Kernel bss"        _sdata to _end - 1 (arm64, arm; riscv splits rodata, data, bss);
//   "reserved"          arm64: memblock reservations inside System RAM;
//   "Reserved"          riscv: no-map memory (OpenSBI) at the top level.
// kexec-tools reads the same names (kexec/arch/*/crashdump-*.c).
//
// Everything here is untrusted text: ParseIomem never asserts and never crashes; a line
// it cannot read is an error that names the line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <salvage/base/phys.h>

#include "common/expected.h"

namespace salvage::loader::proc {

/// One line of /proc/iomem.
struct IomemEntry {
  uint64_t start = 0;   ///< First byte.
  uint64_t end = 0;     ///< Last byte (inclusive, as /proc/iomem prints it). start <= end.
  uint32_t depth = 0;   ///< 0 at the top level; each level is two more spaces.
  int32_t parent = -1;  ///< Index in Iomem::entries() of the enclosing entry; -1 at the top.
  uint32_t line = 0;    ///< 1-based line number in the text.
  std::string name{};   ///< Everything after " : " (may contain spaces).

  /// [start, end] as a PhysRange. The one range it cannot express, all of 2^64 bytes,
  /// comes out one byte short.
  PhysRange Range() const {
    const uint64_t size = end - start + 1;
    return PhysRange{start, size == 0 ? ~uint64_t{0} : size};
  }
};

/// Whether ParseIomem accepts a file whose addresses are all zero.
enum class IomemAddresses {
  kRequired,     ///< All-zero addresses are an error that says to run as root.
  kMayBeHidden,  ///< Parse it anyway (to show the names, e.g. in `salvage status`).
};

/// The parsed tree, in file order.
class Iomem {
 public:
  const std::vector<IomemEntry>& entries() const { return entries_; }
  /// True when every entry reads 00000000-00000000: the reader lacked CAP_SYS_ADMIN.
  bool addresses_hidden() const { return addresses_hidden_; }

  /// The "System RAM" ranges (also "System RAM (...)"), outermost only, sorted.
  std::vector<PhysRange> SystemRam() const;
  /// Total bytes of SystemRam().
  uint64_t SystemRamBytes() const;
  /// Every "Crash kernel" range, sorted: none without crashkernel=; one; or two with
  /// crashkernel=X,high (the low one first).
  std::vector<PhysRange> CrashKernel() const;
  /// The first "Kernel code" range.
  std::optional<PhysRange> KernelCode() const;
  /// The kernel image as kexec-tools takes it for its kernel-text PT_LOAD: from the start
  /// of "Kernel code" to the end of the last "Kernel data" or "Kernel bss" after it
  /// (arm64: code..data, riscv: code..bss). Just "Kernel code" when neither is there.
  std::optional<PhysRange> KernelImage() const;
  /// The entries named exactly `name`, in file order.
  std::vector<const IomemEntry*> Find(std::string_view name) const;

 private:
  friend Expected<Iomem> ParseIomem(std::string_view, IomemAddresses, std::string_view);
  std::vector<IomemEntry> entries_;
  bool addresses_hidden_ = false;
};

/// True for "System RAM" and "System RAM (<driver>)".
bool IsSystemRamName(std::string_view name);

/// Parses the text of /proc/iomem. `source` names the file in messages ("/proc/iomem",
/// or DIR/proc/iomem under --root). Empty lines and a trailing '\r' are ignored; an empty
/// file gives an empty tree.
/// Errors (each message names the source and the line, and quotes it):
///   a line not of the form "START-END : NAME" (hex digits, 1 to 16 of them);
///   indentation that is odd, not spaces, or more than one level below the line before;
///   START above END; an entry not inside its parent;
///   with IomemAddresses::kRequired, a file whose addresses are all zero: "run as root".
Expected<Iomem> ParseIomem(std::string_view text, IomemAddresses addresses = IomemAddresses::kRequired,
                           std::string_view source = "/proc/iomem");

}  // namespace salvage::loader::proc
