// salvage::loader::load — segment placement (see placement.h).
#include "board/load/placement.h"

#include "board/elfcorehdr/builder.h"
#include "common/text.h"
#include "board/proc/crashkernel.h"

namespace salvage::loader::load {
namespace {

constexpr uint64_t k2MiB = uint64_t{2} << 20;

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

uint64_t NeededBytes(const PlacementInput& in) {
  const uint64_t p = in.page_size;
  return AlignUp(in.image_memsz, p) + AlignUp(in.purgatory_memsz, p) + AlignUp(in.dtb_bytes, p) +
         elfcorehdr::SegmentSize(in.elfcorehdr_bytes, p) + kKernelPages * p;
}

PhysRange MainReservation(std::span<const PhysRange> reservations) {
  PhysRange best = reservations.front();
  for (const PhysRange& r : reservations)
    if (r.base > best.base) best = r;
  return best;
}

Expected<Placement> PlaceSegments(const PlacementInput& in) {
  const uint64_t p = in.page_size;
  if (!IsPowerOfTwo(p)) return Fail("page size " + std::to_string(p) + " is not a power of two");
  Placement out;
  out.needed = NeededBytes(in);
  if (in.reservations.empty()) return Fail(proc::CrashkernelAdvice(out.needed, 0));
  const PhysRange res = MainReservation(in.reservations);
  out.reservation = res;
  auto too_small = [&]() {
    std::string msg = proc::CrashkernelAdvice(out.needed, res.size);
    if (in.reservations.size() > 1)
      msg += " (of the two crash kernel reservations, kexec_load takes segments only in the high one, " +
             Hex(res.base) + "-" + Hex(res.Last()) + ")";
    return Fail(msg);
  };
  if (res.size < out.needed) return too_small();
  // Start of the image: page aligned, 2 MiB aligned when that still fits.
  uint64_t start = AlignUp(res.base, p);
  const uint64_t start_2m = AlignUp(res.base, k2MiB);
  if (start_2m >= res.base && start_2m - res.base + out.needed <= res.size) start = start_2m;
  if (start - res.base + out.needed > res.size) return too_small();

  out.image = {start, AlignUp(in.image_memsz, p)};
  out.purgatory = {out.image.addr + out.image.memsz, AlignUp(in.purgatory_memsz, p)};
  out.dtb = {out.purgatory.addr + out.purgatory.memsz, AlignUp(in.dtb_bytes, p)};
  auto hdr = elfcorehdr::PlaceAtEnd(res, in.elfcorehdr_bytes, p);
  if (!hdr.ok()) return hdr.failure();
  out.elfcorehdr_range = *hdr;
  out.elfcorehdr = {hdr->base, elfcorehdr::SegmentSize(in.elfcorehdr_bytes, p)};
  // The kernel's two pages (control code, vmcoreinfo copy) must find free pages in the
  // reservation: before the image (when the 2 MiB alignment left a gap) or between the
  // DTB and the header.
  const uint64_t free_pages = (start - res.base) / p + (out.elfcorehdr.addr - (out.dtb.addr + out.dtb.memsz)) / p;
  if (out.dtb.addr + out.dtb.memsz > out.elfcorehdr.addr || free_pages < kKernelPages) return too_small();
  return out;
}

}  // namespace salvage::loader::load
