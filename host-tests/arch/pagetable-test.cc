// Tests for arch/pagetable (salvage::arch::Lpae4kTable, ShortSectionTable). Expected
// descriptors are spelled out here from the Arm ARM bit layouts (DDI 0487 D8.3 for
// VMSAv8-64, DDI 0406C B3.5.1 for the VMSAv7 short-descriptor format), not computed
// with the pte:: helpers under test.
#include <salvage/arch/pagetable.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

namespace salvage::arch {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;

// ---------------------------------------------------------------------------------------
// VMSAv8-64, independent encodings.
// bits[1:0]: 0b01 block (levels 1-2), 0b11 table (levels 1-2) or page (level 3).
// AttrIndx bits 4:2, AP[1] bit 6, SH bits 9:8, AF bit 10, PXN bit 53, UXN/XN bit 54,
// output address bits 47:12.
constexpr uint64_t kBlockBits = 0b01;
constexpr uint64_t kPageOrTableBits = 0b11;
constexpr uint64_t kAddrBits = 0x0000fffffffff000ull;

constexpr uint64_t Normal(uint64_t pa, bool el2, bool page) {
  return pa | (page ? kPageOrTableBits : kBlockBits) | (1ull << 2) | (3ull << 8) | (1ull << 10) |
         (el2 ? 1ull << 6 : 0);
}
constexpr uint64_t Device(uint64_t pa, bool el2, bool page) {
  return pa | (page ? kPageOrTableBits : kBlockBits) | (1ull << 10) | (1ull << 53) | (1ull << 54) |
         (el2 ? 1ull << 6 : 0);
}
constexpr uint64_t NormalBlock(uint64_t pa, bool el2 = false) { return Normal(pa, el2, false); }
constexpr uint64_t DeviceBlock(uint64_t pa, bool el2 = false) { return Device(pa, el2, false); }
constexpr uint64_t NormalPage(uint64_t pa, bool el2 = false) { return Normal(pa, el2, true); }
constexpr uint64_t DevicePage(uint64_t pa, bool el2 = false) { return Device(pa, el2, true); }

// Sanity of the helpers against hand-assembled values.
static_assert(NormalBlock(0x40000000) == 0x40000705ull);
static_assert(NormalBlock(0x40000000, true) == 0x40000745ull);
static_assert(DeviceBlock(0) == 0x0060000000000401ull);
static_assert(DeviceBlock(0x80000000, true) == 0x0060000080000441ull);
static_assert(NormalPage(0x40001000) == 0x40001707ull);
static_assert(DevicePage(0x40000000) == 0x0060000040000403ull);

struct alignas(4096) Pool {
  Lpae4kTable::Table t[8];
};

uint64_t Identity(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// A fake physical offset, to check that descriptors use to_phys and not the pointer.
constexpr uint64_t kPhysOffset = 0x0000100000000000ull;  // bit 44: inside bits 47:12
uint64_t Offset(const void* p) { return reinterpret_cast<uintptr_t>(p) + kPhysOffset; }

uint64_t TableAddr(const Lpae4kTable::Table& t) { return reinterpret_cast<uintptr_t>(&t); }

// A pool filled with garbage, so the constructor's clearing is checked too.
std::unique_ptr<Pool> DirtyPool() {
  auto p = std::make_unique<Pool>();
  for (auto& t : p->t)
    for (auto& e : t) e = 0xdeadbeefcafef00dull;
  return p;
}

// Independent walk of an identity-mapped (to_phys == Identity) table tree: the leaf
// descriptor for `va` and its level, or level 0 / desc 0 for a fault.
struct Walk {
  int level = 0;
  uint64_t desc = 0;
};
Walk Translate(const Lpae4kTable::Table& root, uint64_t va) {
  const uint64_t* table = root;
  for (int level = 1; level <= 3; ++level) {
    const int shift = 12 + 9 * (3 - level);
    const uint64_t d = table[(va >> shift) & 511];
    if ((d & 1) == 0) return {};
    if (level == 3) return (d & 3) == 3 ? Walk{3, d} : Walk{};
    if ((d & 3) == kBlockBits) return {level, d};
    table = reinterpret_cast<const uint64_t*>(static_cast<uintptr_t>(d & kAddrBits));
  }
  return {};
}

TEST(PteConstants, MairMatchesAttrIndexes) {
  // Attr0 = 0x04 (Device-nGnRE), Attr1 = 0xff (Normal WB RW-allocate, inner and outer).
  EXPECT_EQ(pte::kMairValue, 0xff04ull);
  EXPECT_EQ(pte::kMairIndexDevice, 0u);
  EXPECT_EQ(pte::kMairIndexNormal, 1u);
}

TEST(Lpae4kTable, ConstructorClearsEveryTable) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  for (size_t n = 0; n < 8; ++n)
    for (size_t i = 0; i < Lpae4kTable::kEntries; ++i) ASSERT_EQ(pool->t[n][i], 0u) << "table " << n << " entry " << i;
  EXPECT_EQ(t.TablesUsed(), 1u);
  EXPECT_EQ(t.RootPhys(), TableAddr(pool->t[0]));
  EXPECT_EQ(&t.Root(), &pool->t[0]);
}

TEST(Lpae4kTable, RootPhysGoesThroughToPhys) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Offset);
  EXPECT_EQ(t.RootPhys(), TableAddr(pool->t[0]) + kPhysOffset);
}

TEST(Lpae4kTable, WholeRangeDeviceUsesOnlyRootBlocks) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  ASSERT_TRUE(t.Map(PhysRange{0, 1ull << 39}, MemType::kDevice).ok());
  EXPECT_EQ(t.TablesUsed(), 1u);
  for (size_t i = 0; i < 512; ++i) ASSERT_EQ(t.Root()[i], DeviceBlock(i * kGiB)) << "entry " << i;
  // No other table was touched.
  for (size_t i = 0; i < 512; ++i) ASSERT_EQ(pool->t[1][i], 0u);
}

TEST(Lpae4kTable, WholeRangeDeviceAtEl2SetsApBit) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, true, Identity);
  ASSERT_TRUE(t.Map(PhysRange{0, Lpae4kTable::kVaLimit}, MemType::kDevice).ok());
  EXPECT_EQ(t.Root()[0], 0x0060000000000441ull);
  for (size_t i = 0; i < 512; ++i) ASSERT_EQ(t.Root()[i], DeviceBlock(i * kGiB, true)) << "entry " << i;
}

TEST(Lpae4kTable, AlignedGigabyteIsOneNormalBlock) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  ASSERT_TRUE(t.Map(PhysRange{0x40000000, kGiB}, MemType::kNormal).ok());
  EXPECT_EQ(t.TablesUsed(), 1u);
  EXPECT_EQ(t.Root()[1], 0x40000705ull);
  EXPECT_EQ(t.Root()[0], 0u);
  EXPECT_EQ(t.Root()[2], 0u);
}

TEST(Lpae4kTable, RamSplitsGigabyteBlockInto2MiBBlocks) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  ASSERT_TRUE(t.Map(PhysRange{0, Lpae4kTable::kVaLimit}, MemType::kDevice).ok());
  ASSERT_TRUE(t.Map(PhysRange{0x40000000, 256 * kMiB}, MemType::kNormal).ok());
  EXPECT_EQ(t.TablesUsed(), 2u);

  // Entry 1 is now a table descriptor pointing at the second table.
  const uint64_t d = t.Root()[1];
  EXPECT_EQ(d & 3, 3u);
  EXPECT_EQ(d & kAddrBits, TableAddr(pool->t[1]));
  EXPECT_EQ(d, TableAddr(pool->t[1]) | 3);

  // The other level-1 entries keep their Device blocks.
  EXPECT_EQ(t.Root()[0], DeviceBlock(0));
  EXPECT_EQ(t.Root()[2], DeviceBlock(2 * kGiB));
  EXPECT_EQ(t.Root()[511], DeviceBlock(511 * kGiB));

  const auto& l2 = pool->t[1];
  EXPECT_EQ(l2[0], 0x40000705ull);
  EXPECT_EQ(l2[1], 0x40200705ull);
  for (size_t i = 0; i < 128; ++i) ASSERT_EQ(l2[i], NormalBlock(0x40000000 + i * 2 * kMiB)) << "entry " << i;
  EXPECT_EQ(l2[128], 0x0060000050000401ull);
  for (size_t i = 128; i < 512; ++i) ASSERT_EQ(l2[i], DeviceBlock(0x40000000 + i * 2 * kMiB)) << "entry " << i;
}

TEST(Lpae4kTable, UnalignedRamForcesLevel3Pages) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  ASSERT_TRUE(t.Map(PhysRange{0, Lpae4kTable::kVaLimit}, MemType::kDevice).ok());
  ASSERT_TRUE(t.Map(PhysRange{0x40001000, 0x3000}, MemType::kNormal).ok());
  EXPECT_EQ(t.TablesUsed(), 3u);

  EXPECT_EQ(t.Root()[1], TableAddr(pool->t[1]) | 3);
  const auto& l2 = pool->t[1];
  EXPECT_EQ(l2[0], TableAddr(pool->t[2]) | 3);
  for (size_t i = 1; i < 512; ++i) ASSERT_EQ(l2[i], DeviceBlock(0x40000000 + i * 2 * kMiB)) << "entry " << i;

  const auto& l3 = pool->t[2];
  EXPECT_EQ(l3[0], 0x0060000040000403ull);
  EXPECT_EQ(l3[1], 0x40001707ull);
  EXPECT_EQ(l3[2], 0x40002707ull);
  EXPECT_EQ(l3[3], 0x40003707ull);
  EXPECT_EQ(l3[4], DevicePage(0x40004000));
  int normal = 0;
  for (size_t i = 0; i < 512; ++i) {
    const uint64_t pa = 0x40000000 + i * 4 * kKiB;
    if (i >= 1 && i <= 3) {
      ASSERT_EQ(l3[i], NormalPage(pa)) << "entry " << i;
      ++normal;
    } else {
      ASSERT_EQ(l3[i], DevicePage(pa)) << "entry " << i;
    }
  }
  EXPECT_EQ(normal, 3);
}

TEST(Lpae4kTable, SplitAtEl2InheritsApBit) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, true, Identity);
  ASSERT_TRUE(t.Map(PhysRange{0, Lpae4kTable::kVaLimit}, MemType::kDevice).ok());
  ASSERT_TRUE(t.Map(PhysRange{0x40001000, 0x1000}, MemType::kNormal).ok());
  const auto& l2 = pool->t[1];
  const auto& l3 = pool->t[2];
  EXPECT_EQ(l2[1], DeviceBlock(0x40200000, true));
  EXPECT_EQ(l2[1], 0x0060000040200441ull);
  EXPECT_EQ(l3[0], DevicePage(0x40000000, true));
  EXPECT_EQ(l3[1], 0x40001747ull);
  EXPECT_EQ(l3[2], DevicePage(0x40002000, true));
}

TEST(Lpae4kTable, UnalignedRangeIsRoundedOutTo4KiB) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  // [0x40000ffc, 0x40001004) touches pages 0 and 1.
  ASSERT_TRUE(t.Map(PhysRange{0x40000ffc, 8}, MemType::kNormal).ok());
  EXPECT_EQ(t.TablesUsed(), 3u);
  const auto& l3 = pool->t[2];
  EXPECT_EQ(l3[0], NormalPage(0x40000000));
  EXPECT_EQ(l3[1], NormalPage(0x40001000));
  EXPECT_EQ(l3[2], 0u);
}

TEST(Lpae4kTable, SplitOfUnmappedEntryLeavesRestFaulting) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  ASSERT_TRUE(t.Map(PhysRange{0x80000000 + 4 * kMiB, 2 * kMiB}, MemType::kNormal).ok());
  EXPECT_EQ(t.TablesUsed(), 2u);
  EXPECT_EQ(t.Root()[2], TableAddr(pool->t[1]) | 3);
  EXPECT_EQ(t.Root()[1], 0u);
  const auto& l2 = pool->t[1];
  EXPECT_EQ(l2[2], NormalBlock(0x80400000));
  for (size_t i = 0; i < 512; ++i) {
    if (i == 2) continue;
    ASSERT_EQ(l2[i], 0u) << "entry " << i;
  }
}

TEST(Lpae4kTable, RangeSpanningLevel1BoundaryMixesBlocks) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  // [1 GiB - 2 MiB, 2 GiB + 2 MiB): one 2 MiB block under entry 0, the whole 1 GiB
  // block at entry 1, one 2 MiB block under entry 2.
  ASSERT_TRUE(t.Map(PhysRange{kGiB - 2 * kMiB, kGiB + 4 * kMiB}, MemType::kNormal).ok());
  EXPECT_EQ(t.TablesUsed(), 3u);
  EXPECT_EQ(t.Root()[0], TableAddr(pool->t[1]) | 3);
  EXPECT_EQ(t.Root()[1], NormalBlock(kGiB));
  EXPECT_EQ(t.Root()[2], TableAddr(pool->t[2]) | 3);
  EXPECT_EQ(pool->t[1][511], NormalBlock(kGiB - 2 * kMiB));
  EXPECT_EQ(pool->t[1][510], 0u);
  EXPECT_EQ(pool->t[2][0], NormalBlock(2 * kGiB));
  EXPECT_EQ(pool->t[2][1], 0u);
}

TEST(Lpae4kTable, LaterMapOverridesEarlierOne) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  ASSERT_TRUE(t.Map(PhysRange{0, Lpae4kTable::kVaLimit}, MemType::kDevice).ok());
  ASSERT_TRUE(t.Map(PhysRange{0x40000000, kGiB}, MemType::kNormal).ok());
  EXPECT_EQ(t.Root()[1], NormalBlock(0x40000000));
  EXPECT_EQ(t.TablesUsed(), 1u);
  // A hole of Device in the middle of RAM.
  ASSERT_TRUE(t.Map(PhysRange{0x40200000, 0x1000}, MemType::kDevice).ok());
  EXPECT_EQ(t.TablesUsed(), 3u);
  EXPECT_EQ(Translate(t.Root(), 0x40000000).desc, NormalBlock(0x40000000));
  EXPECT_EQ(Translate(t.Root(), 0x40200000).level, 3);
  EXPECT_EQ(Translate(t.Root(), 0x40200000).desc, DevicePage(0x40200000));
  EXPECT_EQ(Translate(t.Root(), 0x40201000).desc, NormalPage(0x40201000));
  EXPECT_EQ(Translate(t.Root(), 0x40400000).desc, NormalBlock(0x40400000));
  EXPECT_EQ(Translate(t.Root(), 0x7fe00000).desc, NormalBlock(0x7fe00000));
  EXPECT_EQ(Translate(t.Root(), 0x80000000).desc, DeviceBlock(0x80000000));

  // Mapping the whole GiB again as Device reaches through the existing tables: every
  // address under entry 1 becomes Device, and no table is allocated.
  ASSERT_TRUE(t.Map(PhysRange{0x40000000, kGiB}, MemType::kDevice).ok());
  EXPECT_EQ(t.TablesUsed(), 3u);
  for (uint64_t va = 0x40000000; va < 0x80000000; va += 2 * kMiB) {
    const Walk w = Translate(t.Root(), va);
    ASSERT_NE(w.level, 0) << std::hex << va;
    ASSERT_EQ(w.desc & ~(uint64_t{3}), DeviceBlock(va) & ~(uint64_t{3})) << std::hex << va;
  }
  EXPECT_EQ(Translate(t.Root(), 0x40201000).desc, DevicePage(0x40201000));
}

TEST(Lpae4kTable, RepeatedSplitReusesExistingTables) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  ASSERT_TRUE(t.Map(PhysRange{0, Lpae4kTable::kVaLimit}, MemType::kDevice).ok());
  ASSERT_TRUE(t.Map(PhysRange{0x40001000, 0x1000}, MemType::kNormal).ok());
  ASSERT_TRUE(t.Map(PhysRange{0x40005000, 0x1000}, MemType::kNormal).ok());
  ASSERT_TRUE(t.Map(PhysRange{0x40400000, 0x1000}, MemType::kNormal).ok());
  // Level-1 table, one level-2 table, level-3 tables for 2 MiB blocks 0 and 2.
  EXPECT_EQ(t.TablesUsed(), 4u);
  EXPECT_EQ(pool->t[1][0], TableAddr(pool->t[2]) | 3);
  EXPECT_EQ(pool->t[1][2], TableAddr(pool->t[3]) | 3);
  EXPECT_EQ(pool->t[2][1], NormalPage(0x40001000));
  EXPECT_EQ(pool->t[2][5], NormalPage(0x40005000));
  EXPECT_EQ(pool->t[2][4], DevicePage(0x40004000));
  EXPECT_EQ(pool->t[3][0], NormalPage(0x40400000));
  EXPECT_EQ(pool->t[3][1], DevicePage(0x40401000));
}

TEST(Lpae4kTable, ExistingTablesAreFoundThroughToPhys) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Offset);
  ASSERT_TRUE(t.Map(PhysRange{0x40001000, 0x1000}, MemType::kNormal).ok());
  EXPECT_EQ(t.Root()[1], (TableAddr(pool->t[1]) + kPhysOffset) | 3);
  EXPECT_EQ(pool->t[1][0], (TableAddr(pool->t[2]) + kPhysOffset) | 3);
  // A second map under the same tables must find them by their physical address.
  ASSERT_TRUE(t.Map(PhysRange{0x40002000, 0x1000}, MemType::kDevice).ok());
  EXPECT_EQ(t.TablesUsed(), 3u);
  EXPECT_EQ(pool->t[2][1], NormalPage(0x40001000));
  EXPECT_EQ(pool->t[2][2], DevicePage(0x40002000));
}

TEST(Lpae4kTable, EmptyRangeIsANoOp) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  EXPECT_TRUE(t.Map(PhysRange{0x40001000, 0}, MemType::kNormal).ok());
  EXPECT_TRUE(t.Map(PhysRange{1ull << 40, 0}, MemType::kNormal).ok());
  EXPECT_EQ(t.TablesUsed(), 1u);
  for (size_t i = 0; i < 512; ++i) ASSERT_EQ(t.Root()[i], 0u);
}

TEST(Lpae4kTable, BeyondVaLimitIsOutOfRange) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  Status s = t.Map(PhysRange{1ull << 39, 0x1000}, MemType::kNormal);
  EXPECT_EQ(s.error(), Error::kOutOfRange);
  // Crossing the limit is refused as a whole: nothing below it is mapped either.
  s = t.Map(PhysRange{(1ull << 39) - 0x1000, 0x2000}, MemType::kNormal);
  EXPECT_EQ(s.error(), Error::kOutOfRange);
  s = t.Map(PhysRange{0, (1ull << 39) + 1}, MemType::kDevice);
  EXPECT_EQ(s.error(), Error::kOutOfRange);
  s = t.Map(PhysRange{0xffff'ffff'ffff'f000ull, 0x1000}, MemType::kDevice);
  EXPECT_EQ(s.error(), Error::kOutOfRange);
  EXPECT_EQ(t.TablesUsed(), 1u);
  for (size_t i = 0; i < 512; ++i) ASSERT_EQ(t.Root()[i], 0u);
  // The last page below the limit is fine.
  ASSERT_TRUE(t.Map(PhysRange{(1ull << 39) - 0x1000, 0x1000}, MemType::kNormal).ok());
  EXPECT_EQ(pool->t[2][511], NormalPage((1ull << 39) - 0x1000));
}

TEST(Lpae4kTable, ExhaustedPoolAtLevel2) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 1, false, Identity);
  ASSERT_TRUE(t.Map(PhysRange{0, Lpae4kTable::kVaLimit}, MemType::kDevice).ok());
  Status s = t.Map(PhysRange{0x40000000, 2 * kMiB}, MemType::kNormal);
  EXPECT_EQ(s.error(), Error::kResourceExhausted);
  EXPECT_EQ(t.TablesUsed(), 1u);
  // The block that could not be split is left as it was.
  EXPECT_EQ(t.Root()[1], DeviceBlock(0x40000000));
  // Tables beyond `count` are not the builder's: the constructor left them alone.
  EXPECT_EQ(pool->t[1][0], 0xdeadbeefcafef00dull);
}

TEST(Lpae4kTable, ExhaustedPoolAtLevel3) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 2, false, Identity);
  ASSERT_TRUE(t.Map(PhysRange{0, Lpae4kTable::kVaLimit}, MemType::kDevice).ok());
  Status s = t.Map(PhysRange{0x40001000, 0x1000}, MemType::kNormal);
  EXPECT_EQ(s.error(), Error::kResourceExhausted);
  EXPECT_EQ(t.TablesUsed(), 2u);
  // The level-1 split happened and preserved the old mapping; the level-2 entry stays
  // a Device block.
  EXPECT_EQ(t.Root()[1], TableAddr(pool->t[1]) | 3);
  EXPECT_EQ(pool->t[1][0], DeviceBlock(0x40000000));
  EXPECT_EQ(pool->t[1][1], DeviceBlock(0x40200000));
  // Further maps that need no new table still work.
  ASSERT_TRUE(t.Map(PhysRange{0x40200000, 2 * kMiB}, MemType::kNormal).ok());
  EXPECT_EQ(pool->t[1][1], NormalBlock(0x40200000));
  EXPECT_EQ(t.Map(PhysRange{0x80001000, 0x1000}, MemType::kNormal).error(), Error::kResourceExhausted);
}

TEST(Lpae4kTable, TablesUsedCountsEachNewTable) {
  auto pool = DirtyPool();
  Lpae4kTable t(pool->t, 8, false, Identity);
  EXPECT_EQ(t.TablesUsed(), 1u);
  ASSERT_TRUE(t.Map(PhysRange{0, kGiB}, MemType::kDevice).ok());
  EXPECT_EQ(t.TablesUsed(), 1u);
  ASSERT_TRUE(t.Map(PhysRange{0, 2 * kMiB}, MemType::kNormal).ok());
  EXPECT_EQ(t.TablesUsed(), 2u);
  ASSERT_TRUE(t.Map(PhysRange{0x1000, 0x1000}, MemType::kDevice).ok());
  EXPECT_EQ(t.TablesUsed(), 3u);
  ASSERT_TRUE(t.Map(PhysRange{0x2000, 0x1000}, MemType::kDevice).ok());  // same level-3 table
  EXPECT_EQ(t.TablesUsed(), 3u);
  ASSERT_TRUE(t.Map(PhysRange{3 * kGiB + 0x1000, 0x1000}, MemType::kNormal).ok());
  EXPECT_EQ(t.TablesUsed(), 5u);
}

// ---------------------------------------------------------------------------------------
// VMSAv7 short-descriptor sections: bits[1:0]=0b10, B bit 2, C bit 3, XN bit 4,
// AP[1:0] bits 11:10, TEX bits 14:12, S bit 16, base bits 31:20.
constexpr uint32_t ShortNormal(uint32_t pa) {
  return pa | 0b10 | (1u << 2) | (1u << 3) | (0b01u << 10) | (0b001u << 12) | (1u << 16);
}
constexpr uint32_t ShortDevice(uint32_t pa) { return pa | 0b10 | (1u << 2) | (1u << 4) | (0b01u << 10); }
static_assert(ShortNormal(0x40000000) == 0x4001140eu);
static_assert(ShortDevice(0x09000000) == 0x09000416u);

struct alignas(16384) ShortTable {
  uint32_t e[ShortSectionTable::kEntries];
};

std::unique_ptr<ShortTable> DirtyShort() {
  auto p = std::make_unique<ShortTable>();
  for (auto& e : p->e) e = 0xdeadbeefu;
  return p;
}

TEST(ShortSectionTable, ConstructorClears) {
  auto tbl = DirtyShort();
  ShortSectionTable t(tbl->e);
  EXPECT_EQ(t.Data(), tbl->e);
  for (size_t i = 0; i < ShortSectionTable::kEntries; ++i) ASSERT_EQ(tbl->e[i], 0u) << "entry " << i;
}

TEST(ShortSectionTable, DeviceSection) {
  auto tbl = DirtyShort();
  ShortSectionTable t(tbl->e);
  ASSERT_TRUE(t.Map(PhysRange{0x09000000, 0x1000}, MemType::kDevice).ok());
  EXPECT_EQ(tbl->e[0x090], 0x09000416u);
  EXPECT_EQ(tbl->e[0x08f], 0u);
  EXPECT_EQ(tbl->e[0x091], 0u);
}

TEST(ShortSectionTable, NormalSections) {
  auto tbl = DirtyShort();
  ShortSectionTable t(tbl->e);
  ASSERT_TRUE(t.Map(PhysRange{0x40000000, 16 * kMiB}, MemType::kNormal).ok());
  EXPECT_EQ(tbl->e[0x400], 0x4001140eu);
  EXPECT_EQ(tbl->e[0x401], 0x4011140eu);
  for (uint32_t s = 0x400; s < 0x410; ++s) ASSERT_EQ(tbl->e[s], ShortNormal(s << 20)) << "section " << s;
  EXPECT_EQ(tbl->e[0x3ff], 0u);
  EXPECT_EQ(tbl->e[0x410], 0u);
}

TEST(ShortSectionTable, NonShareableNormalForArmv6) {
  // ARMv6 (ARM1176) builds: Normal memory without S (bit 16), Device unchanged.
  auto tbl = DirtyShort();
  ShortSectionTable t(tbl->e, /*shareable_normal=*/false);
  ASSERT_TRUE(t.Map(PhysRange{0x00000000, 2 * kMiB}, MemType::kNormal).ok());
  ASSERT_TRUE(t.Map(PhysRange{0x20201000, 0x1000}, MemType::kDevice).ok());
  EXPECT_EQ(tbl->e[0x000], 0x0000140eu);  // TEX 001, AP 01, C, B; no S
  EXPECT_EQ(tbl->e[0x001], 0x0010140eu);
  EXPECT_EQ(tbl->e[0x202], 0x20200416u);
}

TEST(ShortSectionTable, RoundsOutTo1MiB) {
  auto tbl = DirtyShort();
  ShortSectionTable t(tbl->e);
  // [0x400ff000, 0x40101000) touches sections 0x400 and 0x401.
  ASSERT_TRUE(t.Map(PhysRange{0x400ff000, 0x2000}, MemType::kNormal).ok());
  EXPECT_EQ(tbl->e[0x3ff], 0u);
  EXPECT_EQ(tbl->e[0x400], ShortNormal(0x40000000));
  EXPECT_EQ(tbl->e[0x401], ShortNormal(0x40100000));
  EXPECT_EQ(tbl->e[0x402], 0u);
  // A single byte maps its whole section.
  ASSERT_TRUE(t.Map(PhysRange{0x1c0fffff, 1}, MemType::kDevice).ok());
  EXPECT_EQ(tbl->e[0x1c0], ShortDevice(0x1c000000));
  EXPECT_EQ(tbl->e[0x1c1], 0u);
}

TEST(ShortSectionTable, WholeAddressSpace) {
  auto tbl = DirtyShort();
  ShortSectionTable t(tbl->e);
  ASSERT_TRUE(t.Map(PhysRange{0, 1ull << 32}, MemType::kDevice).ok());
  for (uint32_t s = 0; s < 4096; ++s) ASSERT_EQ(tbl->e[s], ShortDevice(s << 20)) << "section " << s;
}

TEST(ShortSectionTable, LaterMapOverrides) {
  auto tbl = DirtyShort();
  ShortSectionTable t(tbl->e);
  ASSERT_TRUE(t.Map(PhysRange{0, 1ull << 32}, MemType::kDevice).ok());
  ASSERT_TRUE(t.Map(PhysRange{0x60000000, 3 * kMiB}, MemType::kNormal).ok());
  EXPECT_EQ(tbl->e[0x5ff], ShortDevice(0x5ff00000));
  EXPECT_EQ(tbl->e[0x600], ShortNormal(0x60000000));
  EXPECT_EQ(tbl->e[0x602], ShortNormal(0x60200000));
  EXPECT_EQ(tbl->e[0x603], ShortDevice(0x60300000));
  ASSERT_TRUE(t.Map(PhysRange{0x60100000, kMiB}, MemType::kDevice).ok());
  EXPECT_EQ(tbl->e[0x601], ShortDevice(0x60100000));
  EXPECT_EQ(tbl->e[0x600], ShortNormal(0x60000000));
}

TEST(ShortSectionTable, RangeCrossing4GiBIsClipped) {
  auto tbl = DirtyShort();
  ShortSectionTable t(tbl->e);
  ASSERT_TRUE(t.Map(PhysRange{0xffe00000, 4 * kMiB}, MemType::kNormal).ok());
  EXPECT_EQ(tbl->e[0xffd], 0u);
  EXPECT_EQ(tbl->e[0xffe], ShortNormal(0xffe00000));
  EXPECT_EQ(tbl->e[0xfff], 0xfff1140eu);
  // Nothing wrapped round to the bottom of the table.
  EXPECT_EQ(tbl->e[0], 0u);
  EXPECT_EQ(tbl->e[1], 0u);
}

TEST(ShortSectionTable, RangeAbove4GiBIsOutOfRange) {
  auto tbl = DirtyShort();
  ShortSectionTable t(tbl->e);
  EXPECT_EQ(t.Map(PhysRange{1ull << 32, kMiB}, MemType::kNormal).error(), Error::kOutOfRange);
  EXPECT_EQ(t.Map(PhysRange{0x880000000ull, kGiB}, MemType::kDevice).error(), Error::kOutOfRange);
  for (size_t i = 0; i < ShortSectionTable::kEntries; ++i) ASSERT_EQ(tbl->e[i], 0u) << "entry " << i;
}

TEST(ShortSectionTable, EmptyRangeIsANoOp) {
  auto tbl = DirtyShort();
  ShortSectionTable t(tbl->e);
  EXPECT_TRUE(t.Map(PhysRange{0x40000000, 0}, MemType::kNormal).ok());
  EXPECT_TRUE(t.Map(PhysRange{1ull << 33, 0}, MemType::kNormal).ok());
  for (size_t i = 0; i < ShortSectionTable::kEntries; ++i) ASSERT_EQ(tbl->e[i], 0u) << "entry " << i;
}

TEST(ShortSectionTable, UnmapMakesSectionFault) {
  auto tbl = DirtyShort();
  ShortSectionTable t(tbl->e);
  ASSERT_TRUE(t.Map(PhysRange{0x40000000, 4 * kMiB}, MemType::kNormal).ok());
  t.Unmap(0x40180000);  // any address inside section 0x401
  EXPECT_EQ(tbl->e[0x401], 0u);
  EXPECT_EQ(tbl->e[0x400], ShortNormal(0x40000000));
  EXPECT_EQ(tbl->e[0x402], ShortNormal(0x40200000));
  t.Unmap(0xfff00000);
  EXPECT_EQ(tbl->e[0xfff], 0u);
}

}  // namespace
}  // namespace salvage::arch
