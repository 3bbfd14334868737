// salvage::loader::load — what `salvage load`, `unload` and `status` ask of the running
// kernel: who we are, its architecture and page size, and kexec_load(2).
//
// kexec_load(2) (Linux kernel/kexec.c, include/uapi/linux/kexec.h; man 2 kexec_load):
//   long kexec_load(unsigned long entry, unsigned long nr_segments,
//                   struct kexec_segment *segments, unsigned long flags);
//   struct kexec_segment { const void *buf; size_t bufsz; const void *mem; size_t memsz; };
// With KEXEC_ON_CRASH every segment [mem, mem + memsz) must lie inside the crash
// reservation the kernel calls crashk_res (not crashk_low_res), mem and memsz page
// aligned, bufsz <= memsz, no overlaps, at most 16 segments (KEXEC_SEGMENT_MAX), and
// entry inside crashk_res; the kernel also takes two pages from the reservation outside
// every segment (its control page and the vmcoreinfo copy: placement.h kKernelPages).
// nr_segments 0 unloads. The high 16 bits of flags name the
// architecture (KEXEC_ARCH_*: the ELF e_machine); the kernel refuses any but its own and
// KEXEC_ARCH_DEFAULT (0) with EINVAL, so the flag also checks that the image's
// architecture is the running kernel's.
//
// Kernel is an interface so that the command logic (load.cc) runs in host tests against
// a fake; the one real implementation (LiveKernel, kexec.cc) is the only code that makes
// Linux-only system calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace salvage::loader::load {

class FileSystem;  // dump-file.h

/// KEXEC_ON_CRASH: load the image as the crash kernel (kexec_crash_image).
inline constexpr unsigned long kKexecOnCrash = 0x00000001;
/// KEXEC_ARCH_DEFAULT: "the kernel's own architecture".
inline constexpr unsigned long kKexecArchDefault = 0;
/// KEXEC_ARCH_*: e_machine << 16.
inline constexpr unsigned long kKexecArchArm = 40ul << 16;
inline constexpr unsigned long kKexecArchAarch64 = 183ul << 16;
inline constexpr unsigned long kKexecArchRiscv = 243ul << 16;
/// KEXEC_SEGMENT_MAX.
inline constexpr size_t kKexecSegmentMax = 16;

/// An architecture salvage has an image for.
struct ArchInfo {
  std::string_view name;   ///< "aarch64", "arm", "riscv64": as --arch takes it.
  uint16_t e_machine = 0;  ///< EM_AARCH64 183, EM_ARM 40, EM_RISCV 243.
  unsigned long kexec_arch = 0;  ///< KEXEC_ARCH_*.
};

/// The architecture for an --arch value or a uname(2) machine: "aarch64"/"arm64";
/// "arm", "armhf", "armv6l", "armv7l", "armv8l" (a 32-bit personality); "riscv64".
/// nullopt for anything else.
std::optional<ArchInfo> ArchFromName(std::string_view name);

/// The architecture this salvage binary was built for; nullopt on a workstation build
/// (x86_64 and others), where only --dry-run --root with --arch makes sense.
std::optional<ArchInfo> BuildArch();

/// One kexec segment: `bufsz` bytes at `buf` copied to physical `mem`, the rest of
/// `memsz` zeroed by the kernel.
struct KexecSegment {
  const void* buf = nullptr;
  size_t bufsz = 0;
  uint64_t mem = 0;
  uint64_t memsz = 0;
};

/// What the commands need from the running kernel.
class Kernel {
 public:
  virtual ~Kernel() = default;
  /// geteuid() == 0.
  virtual bool IsRoot() = 0;
  /// uname(2)'s machine ("aarch64", "armv7l", "riscv64"); "" when unknown.
  virtual std::string Machine() = 0;
  /// The page size (sysconf(_SC_PAGESIZE)): kexec segments are placed in its units.
  virtual uint64_t PageSize() = 0;
  /// kexec_load(2). Returns 0, or the errno it failed with. An address that does not
  /// fit an unsigned long (a 32-bit process) fails with EOVERFLOW before the call.
  virtual int KexecLoad(uint64_t entry, std::span<const KexecSegment> segments, unsigned long flags) = 0;
  /// The file operations of the SD-card dump file (dump-file.h: stat, statfs, fallocate,
  /// FIEMAP); LiveFileSystem() unless a test gives a fake.
  virtual FileSystem& Files();
};

/// The running system (kexec.cc): the only place with Linux-only system calls.
Kernel& LiveKernel();

}  // namespace salvage::loader::load
