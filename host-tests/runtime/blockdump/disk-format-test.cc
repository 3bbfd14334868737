// Tests for runtime/blockdump/include/salvage/blockdump/disk-format.h: the example of
// docs/disk-format.md §8 byte for byte, and the decoders on damaged blocks.
#include "salvage/blockdump/disk-format.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace salvage::blockdump {
namespace {

using Block = std::array<uint8_t, kBlockSize>;

DumpHeader ExampleHeader() {
  DumpHeader h;
  h.extents.sector_size = 512;
  h.extents.Add(2048, 8192);
  EXPECT_TRUE(LayoutFor(h.extents.AreaBytes(), &h));
  h.dump_id = 0x1122334455667788ull;
  return h;
}

TEST(DiskFormat, HeaderExampleOfTheSpec) {
  Block b;
  EncodeHeader(ExampleHeader(), b);
  const std::vector<uint8_t> want = {
      0x53, 0x4c, 0x56, 0x47, 0x44, 0x55, 0x4d, 0x50, 0x02, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd0, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0xf0, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(std::vector<uint8_t>(b.begin(), b.begin() + 80), want);
  for (size_t i = 80; i < 4092; ++i) ASSERT_EQ(b[i], 0) << i;
  EXPECT_EQ(LoadLe32(&b[4092]), 0x26611d44u);

  DumpHeader h;
  ASSERT_EQ(DecodeHeader(b, &h), BlockCheck::kOk);
  EXPECT_EQ(h.dump_id, 0x1122334455667788ull);
  EXPECT_EQ(h.area_bytes, 0x400000u);
  EXPECT_EQ(h.stream_capacity, 0x3fd000u);
  EXPECT_EQ(h.backup_offset, 0x3fe000u);
  EXPECT_EQ(h.trailer_offset, 0x3ff000u);
  ASSERT_EQ(h.extents.size, 1u);
  EXPECT_EQ(h.extents.items[0], (Extent{2048, 8192}));
}

TEST(DiskFormat, TrailerExampleOfTheSpec) {
  DumpTrailer t;
  t.flags = kDumpComplete;
  t.dump_id = 0x1122334455667788ull;
  t.stream_bytes = 0x2a5f30;
  t.area_bytes = 0x400000;
  Block b;
  EncodeTrailer(t, b);
  const std::vector<uint8_t> want = {
      0x53, 0x4c, 0x56, 0x47, 0x44, 0x45, 0x4e, 0x44, 0x02, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x30, 0x5f, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(std::vector<uint8_t>(b.begin(), b.begin() + 40), want);
  EXPECT_EQ(LoadLe32(&b[4092]), 0x9b09e6f0u);
  DumpTrailer back;
  ASSERT_EQ(DecodeTrailer(b, &back), BlockCheck::kOk);
  EXPECT_EQ(back.flags, kDumpComplete);
  EXPECT_EQ(back.stream_bytes, 0x2a5f30u);
}

TEST(DiskFormat, LayoutRoundsTheAreaDownToBlocks) {
  DumpHeader h;
  EXPECT_FALSE(LayoutFor(4 * 4096 - 512, &h));
  ASSERT_TRUE(LayoutFor(4 * 4096, &h));
  EXPECT_EQ(h.stream_capacity, 4096u);
  EXPECT_EQ(h.backup_offset, 2 * 4096u);
  ASSERT_TRUE(LayoutFor(5 * 4096 + 3 * 512, &h));
  EXPECT_EQ(h.trailer_offset, 4 * 4096u);
  EXPECT_EQ(h.backup_offset, 3 * 4096u);
  EXPECT_EQ(h.stream_capacity, 2 * 4096u);
  EXPECT_EQ(h.area_bytes, 5 * 4096u + 3 * 512);
  // Version 1 (no backup block) is still read.
  ASSERT_TRUE(LayoutFor(3 * 4096, &h, 1));
  EXPECT_EQ(h.stream_capacity, 4096u);
  EXPECT_EQ(h.backup_offset, 0u);
}

TEST(DiskFormat, DamagedBlocksAreTold) {
  Block b;
  EncodeHeader(ExampleHeader(), b);
  DumpHeader h;
  Block z{};
  EXPECT_EQ(DecodeHeader(z, &h), BlockCheck::kNoMagic);
  Block bad = b;
  bad[200] = 1;  // a reserved byte: only the CRC notices
  EXPECT_EQ(DecodeHeader(bad, &h), BlockCheck::kBadCrc);

  auto reencode = [](Block blk, size_t off, uint64_t v, int bytes) {
    StoreLe(&blk[off], v, static_cast<size_t>(bytes));
    StoreLe32(&blk[dh::kCrc], BlockCrc(blk));
    return blk;
  };
  EXPECT_EQ(DecodeHeader(reencode(b, dh::kVersion, 3, 2), &h), BlockCheck::kBadVersion);
  EXPECT_EQ(DecodeHeader(reencode(b, dh::kVersion, 0, 2), &h), BlockCheck::kBadVersion);
  // A version-1 header with version 2's capacity contradicts its own layout.
  EXPECT_EQ(DecodeHeader(reencode(b, dh::kVersion, 1, 2), &h), BlockCheck::kBadFields);
  // A version-1 header as salvage wrote it before the backup block.
  Block v1 = reencode(reencode(b, dh::kVersion, 1, 2), dh::kStreamCapacity, 0x3fe000, 8);
  ASSERT_EQ(DecodeHeader(v1, &h), BlockCheck::kOk);
  EXPECT_EQ(h.version, 1u);
  EXPECT_EQ(h.backup_offset, 0u);
  EXPECT_EQ(DecodeHeader(reencode(b, dh::kBlockShift, 9, 2), &h), BlockCheck::kBadFields);
  EXPECT_EQ(DecodeHeader(reencode(b, dh::kExtentCount, 0, 4), &h), BlockCheck::kBadFields);
  EXPECT_EQ(DecodeHeader(reencode(b, dh::kExtentCount, 65, 4), &h), BlockCheck::kBadFields);
  EXPECT_EQ(DecodeHeader(reencode(b, dh::kAreaBytes, 0x400200, 8), &h), BlockCheck::kBadFields);
  EXPECT_EQ(DecodeHeader(reencode(b, dh::kTrailerOffset, 0x3fe000, 8), &h), BlockCheck::kBadFields);
  EXPECT_EQ(DecodeHeader(reencode(b, dh::kSectorSize, 500, 4), &h), BlockCheck::kBadFields);
  EXPECT_EQ(DecodeHeader(reencode(b, dh::kExtents + 8, 0, 8), &h), BlockCheck::kBadFields);  // count 0
  // Two overlapping extents that add up to the area.
  Block two = reencode(b, dh::kExtentCount, 2, 4);
  two = reencode(two, dh::kExtents + 8, 4096, 8);
  two = reencode(two, dh::kExtents + 16, 2048 + 4095, 8);
  two = reencode(two, dh::kExtents + 24, 4096, 8);
  EXPECT_EQ(DecodeHeader(two, &h), BlockCheck::kBadFields);
  two = reencode(two, dh::kExtents + 16, 2048 + 4096, 8);  // touching is fine
  EXPECT_EQ(DecodeHeader(two, &h), BlockCheck::kOk);

  DumpTrailer t;
  t.flags = kDumpTruncated;
  Block tb;
  EncodeTrailer(t, tb);
  DumpTrailer back;
  ASSERT_EQ(DecodeTrailer(tb, &back), BlockCheck::kOk);
  EXPECT_EQ(DecodeTrailer(b, &back), BlockCheck::kNoMagic);  // a header is no trailer
  t.flags = kDumpComplete | kDumpTruncated;
  EncodeTrailer(t, tb);
  EXPECT_EQ(DecodeTrailer(tb, &back), BlockCheck::kBadFields);
  t.flags = 0;
  EncodeTrailer(t, tb);
  EXPECT_EQ(DecodeTrailer(tb, &back), BlockCheck::kBadFields);
  t.flags = kDumpComplete;
  EncodeTrailer(t, tb);
  tb[100] ^= 1;
  EXPECT_EQ(DecodeTrailer(tb, &back), BlockCheck::kBadCrc);
}

}  // namespace
}  // namespace salvage::blockdump
