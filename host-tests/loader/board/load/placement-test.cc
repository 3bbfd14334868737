// Tests for loader/board/load/placement: where salvage load puts image, purgatory, DTB and
// elfcorehdr in the crash reservation: page aligned, whole pages, inside, no overlaps,
// two free pages left for the kernel's own (control page, vmcoreinfo copy), the
// elfcorehdr at the end; a reservation of exactly NeededBytes fits, one page less does
// not; the advice
// when the reservation is missing or too small; the high reservation of two.
#include "board/load/placement.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace salvage::loader::load {
namespace {

constexpr uint64_t KiB = 1024, MiB = 1024 * 1024;

PlacementInput Typical(std::vector<PhysRange> reservations, uint64_t page = 4096) {
  PlacementInput in;
  in.reservations = std::move(reservations);
  in.page_size = page;
  in.image_memsz = 676 * KiB;
  in.purgatory_memsz = 72 * KiB;
  in.dtb_bytes = 9000;
  in.elfcorehdr_bytes = 1024;
  return in;
}

void CheckInvariants(const PlacementInput& in, const Placement& p) {
  const Place all[] = {p.image, p.purgatory, p.dtb, p.elfcorehdr};
  const char* names[] = {"image", "purgatory", "dtb", "elfcorehdr"};
  const uint64_t need[] = {in.image_memsz, in.purgatory_memsz, in.dtb_bytes, in.elfcorehdr_bytes};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(names[i]);
    EXPECT_EQ(all[i].addr % in.page_size, 0u);
    EXPECT_EQ(all[i].memsz % in.page_size, 0u);
    EXPECT_GE(all[i].memsz, need[i]);
    EXPECT_TRUE(p.reservation.Contains(all[i].Range()));
    if (i > 0) {
      EXPECT_LE(all[i - 1].addr + all[i - 1].memsz, all[i].addr) << "overlap or out of order";
    }
  }
  // Two free pages the kernel takes (control page, vmcoreinfo copy): kexec_load's search
  // starts at the reservation's base, so pages before a 2 MiB aligned image count too.
  const uint64_t free_bytes = (p.image.addr - p.reservation.base) + (p.elfcorehdr.addr - (p.dtb.addr + p.dtb.memsz));
  EXPECT_GE(free_bytes, 2 * in.page_size);
  // The elfcorehdr takes the last page(s); linux,elfcorehdr names its bytes.
  EXPECT_EQ(p.elfcorehdr.addr + p.elfcorehdr.memsz, p.reservation.End());
  EXPECT_EQ(p.elfcorehdr_range, (PhysRange{p.elfcorehdr.addr, in.elfcorehdr_bytes}));
  EXPECT_EQ(p.needed, NeededBytes(in));
}

TEST(PlacementTest, OneReservation) {
  const PlacementInput in = Typical({{0x7b000000, 64 * MiB}});
  auto p = PlaceSegments(in);
  ASSERT_TRUE(p.ok()) << p.error();
  CheckInvariants(in, *p);
  EXPECT_EQ(p->image.addr, 0x7b000000u);
  EXPECT_EQ(p->purgatory.addr, 0x7b000000u + 676 * KiB);
  EXPECT_EQ(p->dtb.memsz, 12 * KiB);
  EXPECT_EQ(p->elfcorehdr.addr, 0x7efff000u);
}

TEST(PlacementTest, NeededIsPagesOfEverySegmentPlusTheKernelsTwoPages) {
  const PlacementInput in = Typical({});
  EXPECT_EQ(NeededBytes(in), 676 * KiB + 72 * KiB + 12 * KiB + 4 * KiB + 2 * 4 * KiB);
  PlacementInput big = in;
  big.page_size = 65536;
  EXPECT_EQ(NeededBytes(big), 704 * KiB + 128 * KiB + 64 * KiB + 64 * KiB + 2 * 64 * KiB);
}

// A model of what a crash kexec_load takes beyond the segments (kernel/kexec_core.c
// kimage_alloc_crash_control_pages, called for the control code page and again for the
// vmcoreinfo copy): pages searched upward from the reservation's base, skipping every
// segment. True when both are found.
bool KernelFindsItsPages(const Placement& p, uint64_t page) {
  const Place segs[] = {p.image, p.purgatory, p.dtb, p.elfcorehdr};
  unsigned found = 0;
  for (uint64_t a = p.reservation.base; a + page <= p.reservation.End() && found < 2; a += page) {
    bool covered = false;
    for (const Place& s : segs) covered = covered || (a < s.addr + s.memsz && s.addr < a + page);
    if (!covered) ++found;
  }
  return found == 2;
}

TEST(PlacementTest, ExactlyNeededFitsAndLeavesTheKernelItsTwoPages) {
  PlacementInput in = Typical({});
  in.reservations = {{0x40000000, NeededBytes(in)}};
  auto p = PlaceSegments(in);
  ASSERT_TRUE(p.ok()) << p.error();
  CheckInvariants(in, *p);
  EXPECT_EQ(p->elfcorehdr.addr - (p->dtb.addr + p->dtb.memsz), 2 * 4096u);  // just the kernel's two pages
  EXPECT_TRUE(KernelFindsItsPages(*p, in.page_size));
}

TEST(PlacementTest, OnePageLessThanNeededIsRefused) {
  // The boundary of issue #10: a reservation that leaves the kernel its control page but
  // not the vmcoreinfo copy was accepted, and kexec_load failed with ENOMEM.
  for (uint64_t page : {uint64_t{4096}, uint64_t{65536}}) {
    SCOPED_TRACE(page);
    PlacementInput in = Typical({}, page);
    in.reservations = {{0x40000000, NeededBytes(in) - page}};
    auto p = PlaceSegments(in);
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().find("salvage needs"), std::string::npos) << p.error();
    // And exactly NeededBytes past a 2 MiB boundary: the image moves up to it, and the
    // kernel still finds its two pages.
    in.reservations = {{0x40100000, (1 * MiB) + NeededBytes(in)}};
    auto q = PlaceSegments(in);
    ASSERT_TRUE(q.ok()) << q.error();
    CheckInvariants(in, *q);
    EXPECT_EQ(q->image.addr, 0x40200000u);
    EXPECT_TRUE(KernelFindsItsPages(*q, page));
  }
}

TEST(PlacementTest, NoReservationSaysWhatToAdd) {
  auto p = PlaceSegments(Typical({}));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error(), "no memory is reserved for a crash kernel: add crashkernel=1M to the kernel command line and reboot");
}

TEST(PlacementTest, TooSmallGivesTheAdviceWithTheNeededSize) {
  PlacementInput in = Typical({{0x7b000000, 512 * KiB}});
  auto p = PlaceSegments(in);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find("the crash kernel reservation is 0x80000 bytes and salvage needs 1 MiB"), std::string::npos)
      << p.error();
  EXPECT_NE(p.error().find("crashkernel=1M"), std::string::npos) << p.error();
  // One page short of what is needed.
  in.reservations = {{0x7b000000, NeededBytes(in) - 4096}};
  EXPECT_FALSE(PlaceSegments(in).ok());
}

TEST(PlacementTest, TwoReservationsUseTheHighOne) {
  // crashkernel=64M,high with the default 128M low: crashk_low_res below 4 GiB, crashk_res
  // above; kexec_load takes segments only in crashk_res.
  const PlacementInput in = Typical({{0x70000000, 128 * MiB}, {0x23c000000, 64 * MiB}});
  auto p = PlaceSegments(in);
  ASSERT_TRUE(p.ok()) << p.error();
  CheckInvariants(in, *p);
  EXPECT_EQ(p->reservation, (PhysRange{0x23c000000, 64 * MiB}));
  EXPECT_EQ(p->image.addr, 0x23c000000u);
}

TEST(PlacementTest, TwoReservationsWithATinyLowOneUseTheOneThatFits) {
  const PlacementInput in = Typical({{0x3f000000, 64 * KiB}, {0x83000000, 16 * MiB}});
  auto p = PlaceSegments(in);
  ASSERT_TRUE(p.ok()) << p.error();
  CheckInvariants(in, *p);
  EXPECT_EQ(p->reservation.base, 0x83000000u);
}

TEST(PlacementTest, TwoReservationsWithTheHighOneTooSmallSaySo) {
  // The low one would hold everything, but the kernel would refuse it (EADDRNOTAVAIL).
  auto p = PlaceSegments(Typical({{0x70000000, 128 * MiB}, {0x23c000000, 256 * KiB}}));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find("salvage needs 1 MiB"), std::string::npos) << p.error();
  EXPECT_NE(p.error().find("only in the high one, 0x23c000000-0x23c03ffff"), std::string::npos) << p.error();
}

TEST(PlacementTest, TwoMiBAlignmentWhenItFits) {
  // A reservation starting 1 MiB past a 2 MiB boundary: the image moves up to the
  // boundary when the rest still fits, and stays at the start when it does not.
  const PlacementInput roomy = Typical({{0x40100000, 8 * MiB}});
  auto p = PlaceSegments(roomy);
  ASSERT_TRUE(p.ok()) << p.error();
  CheckInvariants(roomy, *p);
  EXPECT_EQ(p->image.addr, 0x40200000u);

  PlacementInput tight = Typical({});
  tight.reservations = {{0x40100000, NeededBytes(tight) + 8192}};
  auto q = PlaceSegments(tight);
  ASSERT_TRUE(q.ok()) << q.error();
  CheckInvariants(tight, *q);
  EXPECT_EQ(q->image.addr, 0x40100000u);
}

TEST(PlacementTest, LargePages) {
  const PlacementInput in = Typical({{0x80000000, 32 * MiB}}, 65536);
  auto p = PlaceSegments(in);
  ASSERT_TRUE(p.ok()) << p.error();
  CheckInvariants(in, *p);
}

TEST(PlacementTest, BadPageSizeOrUnalignedEnd) {
  PlacementInput in = Typical({{0x80000000, 32 * MiB}}, 3000);
  EXPECT_FALSE(PlaceSegments(in).ok());
  in = Typical({{0x80000000, 32 * MiB + 100}});
  auto p = PlaceSegments(in);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find("page"), std::string::npos) << p.error();
}

}  // namespace
}  // namespace salvage::loader::load
