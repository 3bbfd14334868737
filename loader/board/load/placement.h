// salvage::loader::load — where each kexec segment goes in the crash reservation.
//
//   reservation start (2 MiB aligned when that still fits, else page aligned)
//   | image (memsz: footprint) | purgatory (+ .bss) | DTB | ... free ... | elfcorehdr |
//                                                          ^ at least two pages free:
//                                                            the kernel's own (below)
// The elfcorehdr takes the last page(s), as kexec-tools places it (PlaceAtEnd). Every
// segment starts on a page and spans whole pages (kexec_load refuses anything else).
//
// Which reservation: with crashkernel=X,high (or a high fallback) there are two "Crash
// kernel" ranges; the kernel's crashk_res is the high one and kexec_load accepts
// segments only there (crashk_low_res is memory the capture kernel may use, not where
// it is loaded). So the segments go into the highest reservation. All reservations are
// linux,usable-memory-range and salvage never dumps them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <salvage/base/phys.h>

#include "common/expected.h"

namespace salvage::loader::load {

/// Sizes of what goes into the reservation. `*_memsz` are whole pages already;
/// `dtb_bytes` and `elfcorehdr_bytes` are rounded here.
struct PlacementInput {
  std::vector<PhysRange> reservations;  ///< Iomem::CrashKernel(): sorted, 0 to 2.
  uint64_t page_size = 4096;            ///< A power of two.
  uint64_t image_memsz = 0;
  uint64_t purgatory_memsz = 0;
  uint64_t dtb_bytes = 0;
  uint64_t elfcorehdr_bytes = 0;
};

/// One segment's place.
struct Place {
  uint64_t addr = 0;
  uint64_t memsz = 0;
  PhysRange Range() const { return PhysRange{addr, memsz}; }
};

struct Placement {
  PhysRange reservation;  ///< The one the segments are in (crashk_res).
  Place image, purgatory, dtb, elfcorehdr;
  /// The elfcorehdr's own bytes (what linux,elfcorehdr names): elfcorehdr_bytes at
  /// elfcorehdr.addr.
  PhysRange elfcorehdr_range;
  uint64_t needed = 0;  ///< NeededBytes() of the input.
};

/// Pages a crash kexec_load takes from the reservation itself, outside every segment
/// (kernel/kexec_core.c, both through kimage_alloc_crash_control_pages, which searches
/// crashk_res upward from its start for pages no segment covers): the control code page
/// (kimage_alloc_init; KEXEC_CONTROL_PAGE_SIZE is 4096 on arm64, arm and riscv, so one
/// page) and the vmcoreinfo safe copy (kimage_crash_copy_vmcoreinfo). Without the second,
/// kexec_load fails with ENOMEM ("Could not allocate vmcoreinfo buffer").
inline constexpr uint64_t kKernelPages = 2;

/// Bytes the reservation must hold: every segment rounded up to pages, plus the
/// kKernelPages the kernel takes. Exact: a reservation of this size loads, one page less
/// does not.
uint64_t NeededBytes(const PlacementInput& in);

/// The reservation kexec_load will accept segments in: the highest (see above).
/// Precondition: reservations not empty.
PhysRange MainReservation(std::span<const PhysRange> reservations);

/// Places the segments. Errors: no reservation, or a main reservation smaller than
/// NeededBytes() (the message is proc::CrashkernelAdvice's), a page size that is not a
/// power of two, a reservation whose end is not page aligned.
Expected<Placement> PlaceSegments(const PlacementInput& in);

}  // namespace salvage::loader::load
