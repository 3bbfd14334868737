// salvage::loader::proc — the crashkernel= kernel parameter: what a value reserves on a
// machine with a given amount of RAM, and the advice salvage gives when the reservation
// is missing or too small.
//
// Syntaxes (the kdump documentation, Documentation/admin-guide/kdump/kdump.rst, and the
// parser that defines them, kernel/crash_reserve.c, formerly kernel/crash_core.c):
//   crashkernel=size[KMG][@offset[KMG]]          e.g. 64M, 64M@16M, 256M@0 (0: anywhere)
//   crashkernel=range1:size1[,range2:size2,...][@offset]
//       range = start-[end], start inclusive, end exclusive, end omitted = no limit;
//       e.g. 512M-2G:64M,2G-:128M reserves nothing below 512M of RAM, 64M from 512M up
//       to 2G, 128M from 2G; the first range that holds the RAM size wins.
//   crashkernel=size[KMG],high                   above the DMA limit (x86, arm64 since
//   crashkernel=size[KMG],low                    6.2, riscv, loongarch); ,low is the low
//                                                part that goes with ,high
//   crashkernel=size[KMG],cma                    extra CMA memory for the crash kernel
//                                                (recent kernels)
// Numbers are read as the kernel's memparse() reads them: C notation (decimal, 0x hex,
// leading-0 octal) followed by an optional K, M, G, T, P or E (either case, powers of
// 1024). In the ranges form the kernel compares the RAM size rounded up to 128 MiB
// (firmware keeps some RAM, so "1G-" must still match a 1 GiB board); older kernels
// compared the exact size. Every size in the ranges form must be below that RAM size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/expected.h"

namespace salvage::loader::proc {

inline constexpr uint64_t kMiB = uint64_t{1} << 20;

/// Which syntax a crashkernel= value uses.
enum class CrashkernelSyntax {
  kSize,    ///< size[@offset]
  kRanges,  ///< start-[end]:size,...[@offset]
  kHigh,    ///< size,high
  kLow,     ///< size,low
  kCma,     ///< size,cma
};

/// What one crashkernel= value asks for on a machine with the given RAM.
struct CrashkernelValue {
  CrashkernelSyntax syntax = CrashkernelSyntax::kSize;
  /// Bytes to reserve. 0 when no range matched the RAM size (the kernel reserves
  /// nothing; `note` says so) or for crashkernel=0.
  uint64_t size = 0;
  /// The @offset, when given: the physical address the reservation must start at. The
  /// kernel treats @0 as "anywhere".
  std::optional<uint64_t> offset;
  /// Set when the kernel would quietly reserve nothing or ignore part of the value
  /// (text after @offset); empty otherwise.
  std::string note;
};

struct CrashkernelOptions {
  /// Compare the RAM size rounded up to 128 MiB in the ranges form, as current kernels
  /// do; false for kernels that compared the exact size.
  bool round_ram_to_128m = true;
};

/// Parses one value (the text after "crashkernel=", up to the next space) for a machine
/// with `system_ram` bytes of RAM (/proc/iomem's System RAM total).
/// Errors (each names the value and the problem, as the kernel's own warnings do):
///   no number where one is expected; a range without '-' or ':'; a range whose end is
///   not above its start; a size in the ranges form not below the RAM size; a number
///   above 2^64; text the kernel rejects after a size ("64X"); a suffix form with
///   anything but ",high", ",low" or ",cma"; a resulting size not below the RAM size.
Expected<CrashkernelValue> ParseCrashkernel(std::string_view value, uint64_t system_ram,
                                            const CrashkernelOptions& options = {});

/// What a whole kernel command line reserves, following the kernel's rules: the last
/// crashkernel= without a suffix wins; only when there is none, and the architecture has
/// them, crashkernel=X,high (with crashkernel=Y,low, or a default low size) applies.
struct CrashkernelRequest {
  bool present = false;            ///< Some crashkernel= parameter applies.
  uint64_t size = 0;               ///< The main reservation.
  std::optional<uint64_t> offset;  ///< Its @offset.
  bool high = false;               ///< size came from crashkernel=X,high.
  uint64_t low_size = 0;           ///< With high: crashkernel=Y,low or the default.
  uint64_t cma_size = 0;           ///< crashkernel=Z,cma.
  std::string parameter;           ///< The crashkernel=... that decided `size`.
  std::string note;                ///< As CrashkernelValue::note.
};

struct CrashkernelCmdlineOptions {
  CrashkernelOptions value{};
  /// crashkernel=,high/,low exist (x86, arm64 from 6.2, riscv, loongarch; not 32-bit Arm).
  bool has_high_low = true;
  /// The low reservation that goes with ,high when there is no ,low
  /// (DEFAULT_CRASH_KERNEL_LOW_SIZE: 128 MiB on arm64 and riscv; more on x86).
  uint64_t default_low_size = 128 * kMiB;
};

/// Parses /proc/cmdline. Parameters are separated by spaces; quoting is not handled (the
/// kernel's crashkernel= lookup does not handle it either). Unlike the kernel, which
/// finds "crashkernel=" anywhere (even inside "foo_crashkernel="), only whole parameters
/// count. No crashkernel= at all gives present == false. Errors: as ParseCrashkernel,
/// naming the parameter.
Expected<CrashkernelRequest> ParseCrashkernelCmdline(std::string_view cmdline, uint64_t system_ram,
                                                     const CrashkernelCmdlineOptions& options = {});

/// `bytes` rounded up to a whole MiB.
uint64_t RoundUpToMiB(uint64_t bytes);

/// The parameter that reserves at least `needed_bytes`: "crashkernel=40M".
std::string CrashkernelArgument(uint64_t needed_bytes);

/// What to tell the user when the reservation is missing (`reserved_bytes` == 0) or
/// smaller than `needed_bytes`:
///   "no memory is reserved for a crash kernel: add crashkernel=40M to the kernel
///    command line and reboot"
///   "the crash kernel reservation is 32 MiB and salvage needs 40 MiB: add
///    crashkernel=40M to the kernel command line (in place of the crashkernel= there
///    now) and reboot"
/// Returns "" when `reserved_bytes` >= `needed_bytes`.
std::string CrashkernelAdvice(uint64_t needed_bytes, uint64_t reserved_bytes);

}  // namespace salvage::loader::proc
