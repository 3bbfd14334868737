// Tests for runtime/blockdump/sink.cc (BlockSink) over the RAM-disk fake: the layout of
// docs/disk-format.md on scattered extents, the guard (no write outside the extents),
// the ring of in-flight writes, the order of writes (header first, trailer last), and a
// target too small for the dump.
#include "salvage/blockdump/sink.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "runtime/blockdump/dump-test-util.h"
#include "runtime/blockdump/ram-disk.h"

namespace salvage::blockdump {
namespace {

using stream::test::FakeMemory;
using stream::test::MakeMemory;
using stream::test::TestLz4;
using test::AlignedMemory;
using test::BlockAt;
using test::Capture;
using test::CaptureTo;
using test::RamDisk;
using test::ReadArea;

constexpr uint8_t kGuard = 0xA5;

Extents Make(std::initializer_list<Extent> list, uint32_t sector_size = 512) {
  Extents e;
  e.sector_size = sector_size;
  for (const Extent& x : list) e.Add(x.first_lba, x.count);
  return e;
}

RamDisk GuardedDisk(uint64_t sectors, uint32_t sector_size = 512, uint32_t max_transfer = 128 * 1024,
                    size_t slots = 8) {
  RamDisk disk(sectors, sector_size, max_transfer, slots);
  std::fill(disk.data.begin(), disk.data.end(), kGuard);
  return disk;
}

bool Inside(const Extents& e, uint64_t lba, uint64_t n) {
  for (size_t i = 0; i < e.size; ++i) {
    if (lba >= e.items[i].first_lba && lba + n <= e.items[i].first_lba + e.items[i].count) return true;
  }
  return false;
}

/// Every write of the log lies inside one extent, and every byte outside the extents
/// still holds the guard pattern.
void ExpectGuardHeld(const RamDisk& disk, const Extents& e) {
  for (const auto& w : disk.writes) {
    EXPECT_TRUE(Inside(e, w.lba, w.sectors)) << "write at LBA " << w.lba << " (" << w.sectors << " sectors)";
  }
  const uint64_t ss = e.sector_size;
  for (uint64_t lba = 0; lba < disk.SectorCount(); ++lba) {
    if (Inside(e, lba, 1)) continue;
    for (uint64_t i = 0; i < ss; ++i) {
      if (disk.data[lba * ss + i] != kGuard) {
        ADD_FAILURE() << "byte " << i << " of LBA " << lba << " outside the extents changed";
        return;
      }
    }
  }
}

/// The area of a finished dump: header, stream, padding, trailer, as the format says.
void ExpectDump(const RamDisk& disk, const Extents& e, const Capture& c, uint32_t flags) {
  const std::vector<uint8_t> area = ReadArea(disk, e);
  ASSERT_EQ(area.size(), e.AreaBytes());
  DumpHeader h;
  ASSERT_EQ(DecodeHeader(BlockAt(area, 0), &h), BlockCheck::kOk);
  EXPECT_EQ(h.dump_id, c.stream_id);
  EXPECT_EQ(h.state, kStateStarted);
  EXPECT_EQ(h.area_bytes, e.AreaBytes());
  EXPECT_EQ(h.stream_offset, 4096u);
  EXPECT_EQ(h.trailer_offset, e.AreaBytes() / 4096 * 4096 - 4096);
  EXPECT_EQ(h.backup_offset, h.trailer_offset - 4096);
  EXPECT_EQ(h.stream_capacity, h.backup_offset - 4096);
  // The backup header block is the header block, byte for byte.
  EXPECT_TRUE(std::equal(area.begin(), area.begin() + 4096, area.begin() + static_cast<ptrdiff_t>(h.backup_offset)))
      << "the backup header block differs from the header block";
  EXPECT_EQ(h.extents.sector_size, e.sector_size);
  ASSERT_EQ(h.extents.size, e.size);
  for (size_t i = 0; i < e.size; ++i) EXPECT_EQ(h.extents.items[i], e.items[i]);

  ASSERT_LE(4096 + c.stream.size(), h.backup_offset);
  EXPECT_TRUE(std::equal(c.stream.begin(), c.stream.end(), area.begin() + 4096)) << "stream bytes differ";
  const size_t end = 4096 + c.stream.size();
  const size_t padded = (end + e.sector_size - 1) / e.sector_size * e.sector_size;
  for (size_t i = end; i < padded; ++i) ASSERT_EQ(area[i], 0) << "padding at area offset " << i;

  DumpTrailer t;
  ASSERT_EQ(DecodeTrailer(BlockAt(area, h.trailer_offset), &t), BlockCheck::kOk);
  EXPECT_EQ(t.flags, flags);
  EXPECT_EQ(t.dump_id, c.stream_id);
  EXPECT_EQ(t.stream_bytes, c.stream.size());
  EXPECT_EQ(t.area_bytes, e.AreaBytes());
}

TEST(BlockSink, DumpOnScatteredExtentsKeepsEveryByteOutsideUnchanged) {
  RamDisk disk = GuardedDisk(20000);
  // Out of order, touching, tiny and large; the header block straddles the first two.
  const Extents e = Make({{5000, 3}, {100, 301}, {401, 7}, {12000, 6000}, {2000, 1}, {3000, 700}});
  AlignedMemory mem(BlockSinkMemoryBytes(4, 64 * 1024));
  BlockSink sink(disk, e, mem.span(), 64 * 1024);
  ASSERT_TRUE(sink.Begin().ok());
  EXPECT_EQ(sink.buffers(), 4u);
  FakeMemory m = MakeMemory({{0x40000000, 0x100000}, {0x48000000, 0x80000}});
  TestLz4 lz4;
  const Capture c = CaptureTo(sink, m, lz4, {.stream_id = 0x5eed});
  ASSERT_TRUE(c.status.ok()) << c.status.what();
  EXPECT_FALSE(c.stopped_early);
  EXPECT_EQ(sink.dump_id(), 0x5eedu);
  EXPECT_EQ(sink.stream_bytes(), c.stream.size());
  EXPECT_EQ(disk.InFlight(), 0u);
  ExpectDump(disk, e, c, kDumpComplete);
  ExpectGuardHeld(disk, e);

  // And the stream read back decodes to the memory, complete and intact.
  const std::vector<uint8_t> area = ReadArea(disk, e);
  stream::test::Collector col;
  const stream::Verdict v =
      stream::test::Decode(std::span<const uint8_t>(area).subspan(4096, c.stream.size()), col);
  EXPECT_TRUE(v.complete && v.intact);
  EXPECT_EQ(col.pages.size(), m.TotalPages());
  stream::test::ExpectPagesMatch(m, col);
}

TEST(BlockSink, DumpIdIsTheEncodersStreamId) {
  RamDisk disk(4000);
  const Extents e = Make({{0, 4000}});
  AlignedMemory mem(BlockSinkMemoryBytes(2, 16 * 1024));
  BlockSink sink(disk, e, mem.span(), 16 * 1024);
  ASSERT_TRUE(sink.Begin().ok());
  FakeMemory m = MakeMemory({{0x80000000, 0x20000}});
  TestLz4 lz4;
  const Capture c = CaptureTo(sink, m, lz4);  // stream_id 0: the encoder derives one
  ASSERT_TRUE(c.status.ok()) << c.status.what();
  EXPECT_NE(c.stream_id, 0u);
  EXPECT_EQ(sink.dump_id(), c.stream_id);
  ExpectDump(disk, e, c, kDumpComplete);
}

TEST(BlockSink, RequestsSplitAtExtentBoundariesAndMaxTransfer) {
  RamDisk disk = GuardedDisk(10000, 512, /*max_transfer=*/8 * 1024 + 100, /*slots=*/4);
  const Extents e = Make({{1000, 37}, {2000, 1}, {3000, 2500}, {50, 300}});
  AlignedMemory mem(BlockSinkMemoryBytes(3, 32 * 1024));
  BlockSink sink(disk, e, mem.span(), 32 * 1024);
  ASSERT_TRUE(sink.Begin().ok());
  FakeMemory m = MakeMemory({{0x40000000, 0x60000}});
  stream::NoCompression none;
  const Capture c = CaptureTo(sink, m, none);
  ASSERT_TRUE(c.status.ok()) << c.status.what();
  for (const auto& w : disk.writes) {
    EXPECT_LE(w.sectors * 512, 8u * 1024) << "LBA " << w.lba;  // MaxTransfer in whole sectors
    EXPECT_TRUE(Inside(e, w.lba, w.sectors)) << "LBA " << w.lba;
  }
  ExpectDump(disk, e, c, kDumpComplete);
  ExpectGuardHeld(disk, e);
}

TEST(BlockSink, SeveralWritesInFlightAndBuffersUntouchedUntilWaited) {
  RamDisk disk(20000, 512, 16 * 1024, /*slots=*/16);
  const Extents e = Make({{0, 20000}});
  AlignedMemory mem(BlockSinkMemoryBytes(4, 64 * 1024));
  BlockSink sink(disk, e, mem.span(), 64 * 1024);
  ASSERT_TRUE(sink.Begin().ok());
  std::vector<uint8_t> bytes(1 << 20);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + (i >> 12));
  // Odd-sized pieces, as the encoder writes them.
  for (size_t off = 0; off < bytes.size();) {
    const size_t n = std::min<size_t>(bytes.size() - off, 48 + (off % 5000));
    ASSERT_TRUE(sink.Write(std::span<const uint8_t>(bytes).subspan(off, n)).ok());
    off += n;
  }
  // 4 buffers of 64 KiB in 16 KiB requests: the ring keeps up to 3 buffers' worth queued.
  EXPECT_GE(disk.max_in_flight, 8u);
  EXPECT_GE(sink.max_in_flight(), 8u);
  ASSERT_TRUE(sink.Finish(false).ok());
  const std::vector<uint8_t> area = ReadArea(disk, e);
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), area.begin() + 4096));
}

TEST(BlockSink, BusyDeviceSlotsAreWaitedFor) {
  RamDisk disk(8000, 512, 4096, /*slots=*/1);
  const Extents e = Make({{0, 8000}});
  AlignedMemory mem(BlockSinkMemoryBytes(4, 16 * 1024));
  BlockSink sink(disk, e, mem.span(), 16 * 1024);
  ASSERT_TRUE(sink.Begin().ok());
  FakeMemory m = MakeMemory({{0x40000000, 0x40000}});
  TestLz4 lz4;
  const Capture c = CaptureTo(sink, m, lz4);
  ASSERT_TRUE(c.status.ok()) << c.status.what();
  EXPECT_GT(disk.busy_refusals, 0u);
  EXPECT_EQ(disk.max_in_flight, 1u);
  ExpectDump(disk, e, c, kDumpComplete);
}

TEST(BlockSink, HeaderBeforeTheStreamAndTrailerLast) {
  RamDisk disk(6000);
  const Extents e = Make({{1000, 5000}});
  AlignedMemory mem(BlockSinkMemoryBytes(2, 16 * 1024));
  BlockSink sink(disk, e, mem.span(), 16 * 1024);
  ASSERT_TRUE(sink.Begin().ok());
  // Begin: the old trailer block zeroed, completed and flushed before anything else.
  const uint64_t trailer_lba = 1000 + (5000 * 512 / 4096 * 4096 - 4096) / 512;
  const uint64_t backup_lba = trailer_lba - 8;  // the block before the trailer (disk format 2)
  ASSERT_EQ(disk.writes.size(), 1u);
  EXPECT_EQ(disk.writes[0].lba, trailer_lba);
  EXPECT_EQ(disk.writes[0].sectors, 8u);
  ASSERT_EQ(disk.flushes.size(), 1u);
  EXPECT_LT(disk.writes[0].completed, disk.flushes[0].event);

  FakeMemory m = MakeMemory({{0x40000000, 0x30000}});
  TestLz4 lz4;
  const Capture c = CaptureTo(sink, m, lz4);
  ASSERT_TRUE(c.status.ok()) << c.status.what();

  // The header block (area 0..4096 = LBA 1000..1007) is the second write, its backup
  // (the block before the trailer) the third, started after the first completed; both
  // are flushed before the first stream write starts.
  ASSERT_GE(disk.writes.size(), 5u);
  EXPECT_EQ(disk.writes[1].lba, 1000u);
  EXPECT_EQ(disk.writes[1].sectors, 8u);
  EXPECT_EQ(disk.writes[2].lba, backup_lba);
  EXPECT_EQ(disk.writes[2].sectors, 8u);
  EXPECT_LT(disk.writes[1].completed, disk.writes[2].started);
  ASSERT_GE(disk.flushes.size(), 2u);
  EXPECT_LT(disk.writes[2].completed, disk.flushes[1].event);
  EXPECT_LT(disk.flushes[1].event, disk.writes[3].started);
  EXPECT_EQ(disk.writes[3].lba, 1008u);

  // The trailer block is the last write, started after every other write completed and
  // a flush, and flushed itself.
  const auto& last = disk.writes.back();
  EXPECT_EQ(last.lba, trailer_lba);
  EXPECT_EQ(last.sectors, 8u);
  for (size_t i = 0; i + 1 < disk.writes.size(); ++i) {
    EXPECT_LT(disk.writes[i].completed, last.started) << "write " << i;
    // Only Begin's zeroing (write 0) and the trailer go to the trailer block, and only
    // write 2 to the backup header block.
    if (i > 0) {
      EXPECT_NE(disk.writes[i].lba, trailer_lba) << "write " << i;
    }
    if (i != 2) {
      EXPECT_NE(disk.writes[i].lba, backup_lba) << "write " << i;
    }
  }
  ASSERT_GE(disk.flushes.size(), 4u);
  EXPECT_LT(disk.flushes[disk.flushes.size() - 2].event, last.started);
  EXPECT_GT(disk.flushes.back().event, last.completed);
  ExpectDump(disk, e, c, kDumpComplete);
}

TEST(BlockSink, BeginZeroesAnOlderTrailer) {
  RamDisk disk(4000);
  const Extents e = Make({{0, 4000}});
  DumpHeader layout;
  ASSERT_TRUE(LayoutFor(e.AreaBytes(), &layout));
  DumpTrailer old;
  old.flags = kDumpComplete;
  old.dump_id = 0x01d;
  old.stream_bytes = 12345;
  old.area_bytes = e.AreaBytes();
  EncodeTrailer(old, std::span<uint8_t, kBlockSize>(disk.data.data() + layout.trailer_offset, kBlockSize));
  DumpTrailer check;
  ASSERT_EQ(DecodeTrailer(BlockAt(disk.data, layout.trailer_offset), &check), BlockCheck::kOk);

  AlignedMemory mem(BlockSinkMemoryBytes(2, 16 * 1024));
  BlockSink sink(disk, e, mem.span(), 16 * 1024);
  ASSERT_TRUE(sink.Begin().ok());
  EXPECT_EQ(DecodeTrailer(BlockAt(disk.data, layout.trailer_offset), &check), BlockCheck::kNoMagic);
  for (size_t i = 0; i < kBlockSize; ++i) ASSERT_EQ(disk.data[layout.trailer_offset + i], 0);
  ASSERT_TRUE(sink.Finish(false).ok());
}

TEST(BlockSink, TooSmallTargetTruncatesTheDump) {
  RamDisk disk = GuardedDisk(4000);
  const Extents e = Make({{100, 300}, {1000, 100}});  // 200 KiB area
  AlignedMemory mem(BlockSinkMemoryBytes(2, 16 * 1024));
  BlockSink sink(disk, e, mem.span(), 16 * 1024);
  ASSERT_TRUE(sink.Begin().ok());
  const uint64_t capacity = e.AreaBytes() - 3 * 4096;  // header, backup header, trailer
  EXPECT_EQ(sink.capacity(), capacity);
  EXPECT_EQ(sink.Remaining(), capacity);
  FakeMemory m = MakeMemory({{0x40000000, 0x100000}});  // 1 MiB, mostly incompressible
  TestLz4 lz4;
  const Capture c = CaptureTo(sink, m, lz4, {.stream_id = 0x7777});
  ASSERT_TRUE(c.status.ok()) << c.status.what();
  EXPECT_TRUE(c.stopped_early);
  EXPECT_LT(c.pages, m.TotalPages());
  EXPECT_GT(c.pages, 10u);
  EXPECT_FALSE(sink.refused());  // the capture stopped in time: nothing was refused
  EXPECT_LE(c.stream.size(), capacity);
  // The stream under 1 MiB holds two copies of the header record: the first and the one
  // before the trailer; RoomForPage kept room for a periodic one too.
  const auto records = stream::test::SplitRecords(c.stream);
  std::vector<size_t> headers;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].h.type == stream::RecordType::kHeader) headers.push_back(i);
  }
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0], 0u);
  EXPECT_EQ(headers[1], records.size() - 2);
  EXPECT_EQ(records.back().h.type, stream::RecordType::kTrailer);
  const uint64_t header_record = records[0].size;
  EXPECT_TRUE(std::equal(c.stream.begin(), c.stream.begin() + header_record,
                         c.stream.begin() + records[headers[1]].offset));
  EXPECT_GT(c.stream.size(), capacity - MaxStreamBytesPerPage(4096) - kStreamEndReserve - 2 * header_record);
  ExpectDump(disk, e, c, kDumpTruncated);
  ExpectGuardHeld(disk, e);

  // The stream itself ends with a trailer that says it stopped early.
  stream::test::Collector col;
  const stream::Verdict v = stream::test::Decode(c.stream, col);
  EXPECT_TRUE(v.trailer_seen);
  EXPECT_FALSE(v.complete);
  EXPECT_NE(v.trailer_flags & stream::kTrailerStoppedEarly, 0u);
  EXPECT_EQ(col.pages.size(), c.pages);
  stream::test::ExpectPagesMatch(m, col);
}

TEST(BlockSink, WriteBeyondRemainingIsRefusedAndNothingOfItWritten) {
  RamDisk disk = GuardedDisk(1000);
  const Extents e = Make({{10, 32}, {500, 16}});  // 24 KiB: header, 12 KiB of stream, backup, trailer
  AlignedMemory mem(BlockSinkMemoryBytes(2, 4096));
  BlockSink sink(disk, e, mem.span(), 4096);
  ASSERT_TRUE(sink.Begin().ok());
  ASSERT_EQ(sink.Remaining(), 12288u);
  std::vector<uint8_t> bytes(5000, 0x11);
  ASSERT_TRUE(sink.Write(bytes).ok());
  EXPECT_EQ(sink.Remaining(), 12288u - 5000);
  ASSERT_TRUE(sink.Write(bytes).ok());
  EXPECT_EQ(sink.Remaining(), 2288u);
  const size_t writes_before = disk.writes.size();
  const Status s = sink.Write(std::vector<uint8_t>(2289, 0x22));
  EXPECT_EQ(s.error(), Error::kResourceExhausted);
  EXPECT_STREQ(s.what(), "blockdump: target full");
  EXPECT_TRUE(sink.refused());
  EXPECT_EQ(sink.Remaining(), 2288u);
  EXPECT_EQ(disk.writes.size(), writes_before);
  // What fits still goes in (the stream trailer of a capture that kept its reserve).
  ASSERT_TRUE(sink.Write(std::vector<uint8_t>(2288, 0x33)).ok());
  EXPECT_EQ(sink.Remaining(), 0u);
  EXPECT_EQ(sink.Write(std::vector<uint8_t>(1, 0x44)).error(), Error::kResourceExhausted);
  ASSERT_TRUE(sink.Finish(false).ok());  // a refused Write makes the dump truncated anyway
  EXPECT_EQ(sink.Remaining(), 0u);
  const std::vector<uint8_t> area = ReadArea(disk, e);
  DumpTrailer t;
  ASSERT_EQ(DecodeTrailer(BlockAt(area, area.size() - 4096), &t), BlockCheck::kOk);
  DumpHeader backup;
  ASSERT_EQ(DecodeHeader(BlockAt(area, area.size() - 8192), &backup), BlockCheck::kOk);
  EXPECT_EQ(t.flags, kDumpTruncated);
  EXPECT_EQ(t.stream_bytes, 12288u);
  for (size_t i = 4096 + 10000; i < 4096 + 12288; ++i) ASSERT_EQ(area[i], 0x33) << i;
  ExpectGuardHeld(disk, e);
}

TEST(BlockSink, DeviceErrorIsStickyAndNoTrailerIsWritten) {
  RamDisk disk(4000, 512, 4096, 4);
  const Extents e = Make({{0, 4000}});
  AlignedMemory mem(BlockSinkMemoryBytes(2, 8192));
  BlockSink sink(disk, e, mem.span(), 8192);
  ASSERT_TRUE(sink.Begin().ok());
  disk.fail_write = 5;  // a stream write (0: Begin's zeroing, 1: the header)
  std::vector<uint8_t> bytes(4096, 0x5a);
  Status s;
  for (int i = 0; i < 40 && s.ok(); ++i) s = sink.Write(bytes);
  EXPECT_EQ(s.error(), Error::kIo);
  EXPECT_EQ(sink.Write(bytes).error(), Error::kIo);
  EXPECT_EQ(sink.Finish(false).error(), Error::kIo);
  EXPECT_EQ(disk.InFlight(), 0u) << "a failed sink left writes in flight";
  DumpHeader layout;
  ASSERT_TRUE(LayoutFor(e.AreaBytes(), &layout));
  DumpTrailer t;
  EXPECT_EQ(DecodeTrailer(BlockAt(disk.data, layout.trailer_offset), &t), BlockCheck::kNoMagic);
}

TEST(BlockSink, EmptyStreamStillGetsHeaderAndTrailer) {
  RamDisk disk(100);
  const Extents e = Make({{0, 100}});
  AlignedMemory mem(BlockSinkMemoryBytes(1, 4096));
  BlockSink sink(disk, e, mem.span(), 4096);
  ASSERT_TRUE(sink.Begin().ok());
  ASSERT_TRUE(sink.Finish(false).ok());
  DumpHeader h;
  ASSERT_EQ(DecodeHeader(BlockAt(disk.data, 0), &h), BlockCheck::kOk);
  EXPECT_EQ(h.dump_id, 0u);
  DumpTrailer t;
  ASSERT_EQ(DecodeTrailer(BlockAt(disk.data, h.trailer_offset), &t), BlockCheck::kOk);
  EXPECT_EQ(t.flags, kDumpComplete);
  EXPECT_EQ(t.stream_bytes, 0u);
}

TEST(BlockSink, FourKiBSectors) {
  RamDisk disk = GuardedDisk(3000, 4096, 64 * 1024);
  const Extents e = Make({{2000, 900}, {10, 100}}, 4096);
  AlignedMemory mem(BlockSinkMemoryBytes(3, 64 * 1024));
  BlockSink sink(disk, e, mem.span(), 64 * 1024);
  ASSERT_TRUE(sink.Begin().ok());
  FakeMemory m = MakeMemory({{0x40000000, 0x80000}});
  TestLz4 lz4;
  const Capture c = CaptureTo(sink, m, lz4);
  ASSERT_TRUE(c.status.ok()) << c.status.what();
  ExpectDump(disk, e, c, kDumpComplete);
  ExpectGuardHeld(disk, e);
}

TEST(BlockSink, BeginChecksItsInputs) {
  RamDisk disk(1000);
  {
    AlignedMemory mem(BlockSinkMemoryBytes(2, 4096), /*offset=*/512);
    BlockSink sink(disk, Make({{0, 1000}}), mem.span(), 4096);
    EXPECT_STREQ(sink.Begin().what(), "blockdump: staging memory is not 4096-aligned");
  }
  {
    AlignedMemory mem(BlockSinkMemoryBytes(2, 4096));
    BlockSink sink(disk, Make({{0, 1000}}), mem.span(), 6000);
    EXPECT_STREQ(sink.Begin().what(), "blockdump: buffer size is not a multiple of 4096");
  }
  {
    AlignedMemory mem(4096 + 4095);
    BlockSink sink(disk, Make({{0, 1000}}), mem.span(), 4096);
    EXPECT_STREQ(sink.Begin().what(), "blockdump: staging memory holds no buffer");
  }
  {
    AlignedMemory mem(BlockSinkMemoryBytes(2, 4096));
    BlockSink sink(disk, Make({{0, 31}}), mem.span(), 4096);  // 15.5 KiB
    EXPECT_STREQ(sink.Begin().what(), "blockdump: the target is smaller than 16 KiB");
  }
  {
    AlignedMemory mem(BlockSinkMemoryBytes(2, 4096));
    BlockSink sink(disk, Make({{990, 11}}), mem.span(), 4096);
    EXPECT_EQ(sink.Begin().error(), Error::kOutOfRange);
  }
  {
    AlignedMemory mem(BlockSinkMemoryBytes(2, 4096));
    BlockSink sink(disk, Make({{0, 100}, {50, 100}}), mem.span(), 4096);
    EXPECT_STREQ(sink.Begin().what(), "blockdump: two extents overlap");
  }
  {
    AlignedMemory mem(BlockSinkMemoryBytes(2, 4096));
    BlockSink sink(disk, Make({{0, 100}}, 4096), mem.span(), 4096);
    EXPECT_STREQ(sink.Begin().what(), "blockdump: the extents are not in the device's sectors");
  }
  {
    RamDisk tiny(1000, 512, /*max_transfer=*/256);
    AlignedMemory mem(BlockSinkMemoryBytes(2, 4096));
    BlockSink sink(tiny, Make({{0, 1000}}), mem.span(), 4096);
    EXPECT_EQ(sink.Begin().error(), Error::kUnsupported);
  }
  {
    AlignedMemory mem(BlockSinkMemoryBytes(2, 4096));
    BlockSink sink(disk, Make({{0, 1000}}), mem.span(), 4096);
    EXPECT_EQ(sink.Write(std::vector<uint8_t>(10)).error(), Error::kInvalidArgument);
    EXPECT_EQ(sink.Remaining(), 0u);
    EXPECT_EQ(sink.Finish(false).error(), Error::kInvalidArgument);
    ASSERT_TRUE(sink.Begin().ok());
    EXPECT_EQ(sink.Begin().error(), Error::kInvalidArgument);
    ASSERT_TRUE(sink.Finish(false).ok());
    EXPECT_EQ(sink.Finish(false).error(), Error::kInvalidArgument);
    EXPECT_EQ(sink.Write(std::vector<uint8_t>(10)).error(), Error::kInvalidArgument);
  }
  EXPECT_TRUE(disk.writes.size() >= 2u);  // only the last sink wrote
}

TEST(BlockSink, ReserveConstants) {
  // docs/disk-format.md §6: what the capture keeps free.
  EXPECT_EQ(kStreamEndReserve, 48u + 48u + 88u);
  EXPECT_EQ(MaxStreamBytesPerPage(4096), 4096u + 96u);
  EXPECT_EQ(BlockSinkMemoryBytes(), 4096u + 4u * 256u * 1024u);
}

}  // namespace
}  // namespace salvage::blockdump
