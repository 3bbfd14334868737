// Tests for runtime/stream/encoder.cc (salvage::stream::Encoder): validation, order,
// the choice of encoding, zero runs, the trailer's totals, sink errors.
#include "salvage/stream/encoder.h"

#include <gtest/gtest.h>

#include <vector>

#include "runtime/stream/stream-test-util.h"

namespace salvage::stream {
namespace {

using test::FrameIndices;
using test::SplitRecords;
using test::VectorSink;

struct Fixture {
  VectorSink sink;
  std::vector<uint8_t> scratch = std::vector<uint8_t>(65536);
};

HeaderInfo Info(std::span<const PhysRange> ranges, uint32_t page_size = 4096) {
  HeaderInfo info;
  info.e_machine = kEmAarch64;
  info.page_size = page_size;
  info.ranges = ranges;
  return info;
}

/// The header record's copy right before the trailer (docs/stream-format.md §4.6): the
/// record at `copy` is a header, byte for byte the first record of the stream.
void ExpectHeaderCopyAt(const std::vector<uint8_t>& bytes, const std::vector<test::RecordAt>& recs, size_t copy) {
  ASSERT_LT(copy, recs.size());
  EXPECT_EQ(recs[copy].h.type, RecordType::kHeader);
  ASSERT_EQ(recs[copy].size, recs[0].size);
  EXPECT_TRUE(std::equal(bytes.begin() + recs[copy].offset, bytes.begin() + recs[copy].offset + recs[copy].size,
                         bytes.begin()))
      << "the copy differs from the first header";
}

TEST(StreamEncoder, HeaderValidation) {
  VectorSink sink;
  NoCompression none;
  std::vector<uint8_t> scratch(4096);
  const PhysRange good[] = {{0x40000000, 0x2000}};
  {
    Encoder e(sink, none, scratch);
    HeaderInfo info = Info(good, 3000);
    EXPECT_EQ(e.WriteHeader(info).error(), Error::kInvalidArgument);
  }
  {
    Encoder e(sink, none, scratch);
    EXPECT_EQ(e.WriteHeader(Info(good, 131072)).error(), Error::kInvalidArgument);
  }
  {
    Encoder e(sink, none, scratch);  // scratch is 4096: too small for 64K pages
    EXPECT_EQ(e.WriteHeader(Info(good, 65536)).error(), Error::kInvalidArgument);
  }
  {
    const PhysRange unaligned[] = {{0x40000800, 0x1000}};
    Encoder e(sink, none, scratch);
    EXPECT_EQ(e.WriteHeader(Info(unaligned)).error(), Error::kInvalidArgument);
  }
  {
    const PhysRange overlap[] = {{0x40000000, 0x3000}, {0x40002000, 0x1000}};
    Encoder e(sink, none, scratch);
    EXPECT_EQ(e.WriteHeader(Info(overlap)).error(), Error::kInvalidArgument);
  }
  {
    const PhysRange descending[] = {{0x50000000, 0x1000}, {0x40000000, 0x1000}};
    Encoder e(sink, none, scratch);
    EXPECT_EQ(e.WriteHeader(Info(descending)).error(), Error::kInvalidArgument);
  }
  {
    const PhysRange empty[] = {{0x40000000, 0}};
    Encoder e(sink, none, scratch);
    EXPECT_EQ(e.WriteHeader(Info(empty)).error(), Error::kInvalidArgument);
  }
  {
    const PhysRange top[] = {{0xFFFFFFFFFFFFF000ull, 0x1000}};
    Encoder e(sink, none, scratch);
    EXPECT_EQ(e.WriteHeader(Info(top)).error(), Error::kInvalidArgument);
  }
  {
    Encoder e(sink, none, scratch);
    HeaderInfo info = Info(good);
    info.elf_class = 3;
    EXPECT_EQ(e.WriteHeader(info).error(), Error::kInvalidArgument);
  }
  EXPECT_TRUE(sink.bytes.empty()) << "nothing is written for an invalid header";
  {
    Encoder e(sink, none, scratch);
    EXPECT_TRUE(e.WriteHeader(Info(good)).ok());
    EXPECT_EQ(e.WriteHeader(Info(good)).error(), Error::kInvalidArgument);
  }
}

TEST(StreamEncoder, HeaderTooLarge) {
  VectorSink sink;
  NoCompression none;
  std::vector<uint8_t> scratch(4096);
  const PhysRange good[] = {{0x40000000, 0x1000}};
  std::vector<uint8_t> big(kMaxHeaderPayload);
  const std::span<const uint8_t> notes[] = {big};
  Encoder e(sink, none, scratch);
  HeaderInfo info = Info(good);
  info.notes = notes;
  EXPECT_EQ(e.WriteHeader(info).error(), Error::kOutOfRange);
  EXPECT_TRUE(sink.bytes.empty());
}

TEST(StreamEncoder, PagesMustComeInRangeOrder) {
  VectorSink sink;
  NoCompression none;
  std::vector<uint8_t> scratch(4096);
  std::vector<uint8_t> page(4096, 1);
  const PhysRange ranges[] = {{0x1000, 0x2000}, {0x10000, 0x1000}};
  Encoder e(sink, none, scratch);
  EXPECT_EQ(e.WritePage(PhysAddr{0x1000}, page).error(), Error::kInvalidArgument) << "before header";
  ASSERT_TRUE(e.WriteHeader(Info(ranges)).ok());
  EXPECT_EQ(e.WritePage(PhysAddr{0x2000}, page).error(), Error::kOutOfRange) << "skips 0x1000";
  EXPECT_EQ(e.WritePage(PhysAddr{0x1000}, std::span<const uint8_t>(page).first(100)).error(),
            Error::kInvalidArgument);
  EXPECT_TRUE(e.WritePage(PhysAddr{0x1000}, page).ok());
  EXPECT_EQ(e.WritePage(PhysAddr{0x1000}, page).error(), Error::kOutOfRange) << "twice";
  EXPECT_TRUE(e.WritePage(PhysAddr{0x2000}, page).ok());
  EXPECT_EQ(e.pages_remaining(), 1u);
  EXPECT_TRUE(e.WritePage(PhysAddr{0x10000}, page).ok());
  EXPECT_EQ(e.WritePage(PhysAddr{0x11000}, page).error(), Error::kOutOfRange) << "past the last range";
  EXPECT_TRUE(e.WriteTrailer().ok());
  EXPECT_EQ(e.WriteTrailer().error(), Error::kInvalidArgument);
  EXPECT_EQ(e.WritePage(PhysAddr{0x10000}, page).error(), Error::kInvalidArgument);
}

TEST(StreamEncoder, PicksZeroRawAndLz4) {
  const PhysRange ranges[] = {{0x80000000, 0x4000}};
  VectorSink sink;
  test::TestLz4 lz4;
  ASSERT_TRUE(lz4.ok());
  std::vector<uint8_t> scratch(4096);
  std::mt19937_64 rng(3);
  std::vector<uint8_t> zero(4096, 0);
  auto random = test::MakePage(test::PageKind::kRandom, 4096, rng);
  auto text = test::MakePage(test::PageKind::kText, 4096, rng);
  std::vector<uint8_t> last_byte(4096, 0);
  last_byte[4095] = 1;  // not a zero page
  Encoder e(sink, lz4, scratch);
  ASSERT_TRUE(e.WriteHeader(Info(ranges)).ok());
  ASSERT_TRUE(e.WritePage(PhysAddr{0x80000000}, zero).ok());
  ASSERT_TRUE(e.WritePage(PhysAddr{0x80001000}, random).ok());
  ASSERT_TRUE(e.WritePage(PhysAddr{0x80002000}, text).ok());
  ASSERT_TRUE(e.WritePage(PhysAddr{0x80003000}, last_byte).ok());
  ASSERT_TRUE(e.WriteTrailer().ok());

  const auto recs = SplitRecords(sink.bytes);
  ASSERT_EQ(recs.size(), 7u) << "header, 4 frames, the header's copy, trailer";
  EXPECT_EQ(recs[0].h.type, RecordType::kHeader);
  EXPECT_EQ(recs[1].h.encoding, Encoding::kZero);
  EXPECT_EQ(recs[1].h.payload_len, 0u);
  EXPECT_EQ(recs[1].size, kRecordHeaderSize) << "a zero page costs one record header";
  EXPECT_EQ(recs[2].h.encoding, Encoding::kRaw);
  EXPECT_EQ(recs[2].h.payload_len, 4096u);
  EXPECT_EQ(recs[3].h.encoding, Encoding::kLz4);
  EXPECT_LT(recs[3].h.payload_len, 200u);
  EXPECT_EQ(recs[4].h.encoding, Encoding::kLz4);
  ExpectHeaderCopyAt(sink.bytes, recs, 5);
  EXPECT_EQ(recs[6].h.type, RecordType::kTrailer);
  EXPECT_EQ(e.header_copies(), 2u);
  for (size_t i = 1; i <= 4; ++i) {
    EXPECT_EQ(recs[i].h.seq, i - 1);
    EXPECT_EQ(recs[i].h.phys, 0x80000000u + (i - 1) * 0x1000);
    EXPECT_EQ(recs[i].h.stream_tag, static_cast<uint32_t>(e.stream_id()));
  }
  EXPECT_EQ(recs[6].h.seq, 4u) << "trailer's seq is the frame count";
  // The raw payload is the page itself.
  EXPECT_TRUE(std::equal(random.begin(), random.end(), sink.bytes.begin() + recs[2].offset + kRecordHeaderSize));

  const StreamTotals t = e.totals();
  EXPECT_EQ(t.frames, 4u);
  EXPECT_EQ(t.pages, 4u);
  EXPECT_EQ(t.zero_pages, 1u);
  EXPECT_EQ(t.raw_pages, 1u);
  EXPECT_EQ(t.lz4_pages, 2u);
  EXPECT_EQ(t.memory_bytes, 4u * 4096);
  EXPECT_EQ(t.payload_bytes, 4096u + recs[3].h.payload_len + recs[4].h.payload_len);
  Xxh64 x;
  x.Update(zero);
  x.Update(random);
  x.Update(text);
  x.Update(last_byte);
  EXPECT_EQ(t.digest, x.Digest());
}

TEST(StreamEncoder, RawWhenCompressionDoesNotPay) {
  const PhysRange ranges[] = {{0x1000, 0x1000}};
  VectorSink sink;
  test::NeverPays never;
  std::vector<uint8_t> scratch(4096);
  std::vector<uint8_t> text(4096, 'x');  // LZ4 would shrink this to almost nothing
  Encoder e(sink, never, scratch);
  ASSERT_TRUE(e.WriteHeader(Info(ranges)).ok());
  ASSERT_TRUE(e.WritePage(PhysAddr{0x1000}, text).ok());
  ASSERT_TRUE(e.WriteTrailer().ok());
  EXPECT_EQ(never.calls, 1u);
  const auto recs = SplitRecords(sink.bytes);
  ASSERT_EQ(recs.size(), 4u) << "header, frame, the header's copy, trailer";
  EXPECT_EQ(recs[1].h.encoding, Encoding::kRaw);
  ExpectHeaderCopyAt(sink.bytes, recs, 2);
  EXPECT_EQ(recs[3].h.type, RecordType::kTrailer);
  EXPECT_EQ(e.totals().raw_pages, 1u);
  EXPECT_EQ(e.totals().lz4_pages, 0u);
}

// A compressor that claims to have produced a whole page (it may never: the encoder only
// offers page_size - 1 bytes) is not believed.
struct Liar {
  size_t Compress(std::span<const uint8_t> in, std::span<uint8_t> out) {
    EXPECT_LT(out.size(), in.size());
    return in.size();
  }
};

TEST(StreamEncoder, CompressorOutputNotSmallerIsIgnored) {
  const PhysRange ranges[] = {{0x1000, 0x1000}};
  VectorSink sink;
  Liar liar;
  std::vector<uint8_t> scratch(4096);
  std::vector<uint8_t> page(4096, 7);
  Encoder e(sink, liar, scratch);
  ASSERT_TRUE(e.WriteHeader(Info(ranges)).ok());
  ASSERT_TRUE(e.WritePage(PhysAddr{0x1000}, page).ok());
  EXPECT_EQ(SplitRecords(sink.bytes)[1].h.encoding, Encoding::kRaw);
}

TEST(StreamEncoder, ZeroPagesMergeIntoRunsWithinARange) {
  // Two adjacent ranges: a run must not cross from one to the other.
  const PhysRange ranges[] = {{0x0, 0x5000}, {0x5000, 0x3000}};
  VectorSink sink;
  NoCompression none;
  std::vector<uint8_t> scratch(4096);
  std::vector<uint8_t> zero(4096, 0);
  std::vector<uint8_t> one(4096, 1);
  Encoder e(sink, none, scratch);
  ASSERT_TRUE(e.WriteHeader(Info(ranges)).ok());
  // Range 0: Z Z 1 Z Z; range 1: Z skip skip
  for (uint64_t a : {0x0, 0x1000}) ASSERT_TRUE(e.WritePage(PhysAddr{a}, zero).ok());
  ASSERT_TRUE(e.WritePage(PhysAddr{0x2000}, one).ok());
  for (uint64_t a : {0x3000, 0x4000, 0x5000}) ASSERT_TRUE(e.WritePage(PhysAddr{a}, zero).ok());
  ASSERT_TRUE(e.SkipPages(PhysAddr{0x6000}, 2).ok());
  ASSERT_TRUE(e.WriteTrailer().ok());
  const auto recs = SplitRecords(sink.bytes);
  ASSERT_EQ(recs.size(), 8u) << "header, 5 frames, the header's copy, trailer";
  struct Want { Encoding enc; uint64_t phys; uint32_t count; };
  const Want want[] = {{Encoding::kZero, 0x0, 2}, {Encoding::kRaw, 0x2000, 1}, {Encoding::kZero, 0x3000, 2},
                       {Encoding::kZero, 0x5000, 1}, {Encoding::kSkipped, 0x6000, 2}};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(recs[i + 1].h.encoding, want[i].enc) << i;
    EXPECT_EQ(recs[i + 1].h.phys, want[i].phys) << i;
    EXPECT_EQ(recs[i + 1].h.count, want[i].count) << i;
    EXPECT_EQ(recs[i + 1].h.seq, i);
  }
  ExpectHeaderCopyAt(sink.bytes, recs, 6);
  EXPECT_EQ(recs[7].h.type, RecordType::kTrailer);
  const StreamTotals t = e.totals();
  EXPECT_EQ(t.frames, 5u);
  EXPECT_EQ(t.zero_pages, 5u);
  EXPECT_EQ(t.skipped_pages, 2u);
  EXPECT_EQ(t.pages, 6u);
  uint32_t flags = 99;
  StreamTotals sent;
  ASSERT_TRUE(DecodeTrailerPayload(std::span<const uint8_t>(sink.bytes).subspan(recs[7].offset + kRecordHeaderSize),
                                   &sent, &flags));
  EXPECT_EQ(flags, 0u);
  EXPECT_EQ(sent, t);
}

TEST(StreamEncoder, LongZeroRunSplitsAtMaxRun) {
  const PhysRange ranges[] = {{0x0, uint64_t{kMaxRunPages + 3} * 4096}};
  VectorSink sink;
  NoCompression none;
  std::vector<uint8_t> scratch(4096);
  std::vector<uint8_t> zero(4096, 0);
  Encoder e(sink, none, scratch);
  ASSERT_TRUE(e.WriteHeader(Info(ranges)).ok());
  for (uint64_t i = 0; i < kMaxRunPages + 3; ++i) ASSERT_TRUE(e.WritePage(PhysAddr{i * 4096}, zero).ok());
  ASSERT_TRUE(e.WriteTrailer().ok());
  const auto recs = SplitRecords(sink.bytes);
  ASSERT_EQ(recs.size(), 5u) << "header, 2 frames, the header's copy, trailer";
  EXPECT_EQ(recs[1].h.count, kMaxRunPages);
  EXPECT_EQ(recs[2].h.count, 3u);
  EXPECT_EQ(recs[2].h.phys, uint64_t{kMaxRunPages} * 4096);
  ExpectHeaderCopyAt(sink.bytes, recs, 3);
  EXPECT_EQ(recs[4].h.type, RecordType::kTrailer);
}

TEST(StreamEncoder, SkipAcrossRangesAndPastEnd) {
  const PhysRange ranges[] = {{0x0, 0x2000}, {0x8000, 0x2000}};
  VectorSink sink;
  NoCompression none;
  std::vector<uint8_t> scratch(4096);
  Encoder e(sink, none, scratch);
  ASSERT_TRUE(e.WriteHeader(Info(ranges)).ok());
  EXPECT_EQ(e.SkipPages(PhysAddr{0x0}, 5).error(), Error::kOutOfRange);
  ASSERT_TRUE(e.SkipPages(PhysAddr{0x0}, 3).ok());
  EXPECT_EQ(e.pages_remaining(), 1u);
  ASSERT_TRUE(e.WriteTrailer().ok());
  const auto recs = SplitRecords(sink.bytes);
  ASSERT_EQ(recs.size(), 5u) << "header, 2 frames, the header's copy, trailer";
  EXPECT_EQ(recs[1].h.count, 2u);
  EXPECT_EQ(recs[2].h.phys, 0x8000u);
  EXPECT_EQ(recs[2].h.count, 1u);
  ExpectHeaderCopyAt(sink.bytes, recs, 3);
  EXPECT_EQ(recs[4].h.type, RecordType::kTrailer);
}

TEST(StreamEncoder, TrailerSaysStoppedEarly) {
  const PhysRange ranges[] = {{0x0, 0x3000}};
  VectorSink sink;
  NoCompression none;
  std::vector<uint8_t> scratch(4096);
  std::vector<uint8_t> one(4096, 1);
  Encoder e(sink, none, scratch);
  ASSERT_TRUE(e.WriteHeader(Info(ranges)).ok());
  ASSERT_TRUE(e.WritePage(PhysAddr{0}, one).ok());
  ASSERT_TRUE(e.WriteTrailer().ok());
  const auto recs = SplitRecords(sink.bytes);
  StreamTotals sent;
  uint32_t flags = 0;
  ASSERT_TRUE(DecodeTrailerPayload(std::span<const uint8_t>(sink.bytes).subspan(recs.back().offset + kRecordHeaderSize),
                                   &sent, &flags));
  EXPECT_EQ(flags, kTrailerStoppedEarly);
  EXPECT_EQ(sent.pages, 1u);
}

TEST(StreamEncoder, SinkErrorIsSticky) {
  const PhysRange ranges[] = {{0x0, 0x3000}};
  VectorSink sink;
  sink.fail_at_write = 3;  // header record, header payload pieces... fail inside the frames
  NoCompression none;
  std::vector<uint8_t> scratch(4096);
  std::vector<uint8_t> one(4096, 1);
  Encoder e(sink, none, scratch);
  ASSERT_TRUE(e.WriteHeader(Info(ranges)).ok());  // record header + fixed part + one range = 3 writes
  const Status s = e.WritePage(PhysAddr{0}, one);
  EXPECT_EQ(s.error(), Error::kIo);
  EXPECT_EQ(e.WritePage(PhysAddr{0}, one).error(), Error::kIo);
  EXPECT_EQ(e.WriteTrailer().error(), Error::kIo);
}

TEST(StreamEncoder, StreamIdDerivedFromContentsUnlessGiven) {
  const PhysRange ranges[] = {{0x0, 0x1000}};
  NoCompression none;
  std::vector<uint8_t> scratch(4096);
  const uint8_t note_a[] = {1, 2, 3};
  const uint8_t note_b[] = {1, 2, 4};
  auto id_for = [&](std::span<const uint8_t> note, uint64_t given) {
    VectorSink sink;
    Encoder e(sink, none, scratch);
    const std::span<const uint8_t> notes[] = {note};
    HeaderInfo info = Info(ranges);
    info.notes = notes;
    info.stream_id = given;
    EXPECT_TRUE(e.WriteHeader(info).ok());
    return e.stream_id();
  };
  EXPECT_EQ(id_for(note_a, 0), id_for(note_a, 0)) << "a re-run of the same crash keeps its id";
  EXPECT_NE(id_for(note_a, 0), id_for(note_b, 0));
  EXPECT_NE(id_for(note_a, 0), 0u);
  EXPECT_EQ(id_for(note_a, 0x1234), 0x1234u);
}

// The example of docs/stream-format.md §11, byte for byte: the spec and the code agree.
// The header record appears twice: first, and again right before the trailer (§4.6).
TEST(StreamEncoder, ProducesTheSpecExampleByteForByte) {
  static const uint8_t kExample[] = {
      0xfe, 0x53, 0x4c, 0x56, 0x47, 0xc1, 0xa5, 0x96, 0x01, 0x00, 0x0c, 0x00, 0xef, 0xcd, 0xab, 0x89,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x5b, 0x00, 0x00, 0x00, 0x1d, 0x8f, 0xce, 0x65, 0x0e, 0xa8, 0xbb, 0xe7,
      0x01, 0x00, 0x40, 0x00, 0xb7, 0x00, 0x02, 0x01, 0x0c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
      0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x04, 0x00, 0x00, 0x00, 0x4e, 0x4f, 0x54, 0x45, 0x78, 0x3d, 0x31, 0xfe, 0x53, 0x4c, 0x56, 0x47,
      0xc1, 0xa5, 0x96, 0x02, 0x00, 0x0c, 0x00, 0xef, 0xcd, 0xab, 0x89, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x13, 0xea, 0x41, 0x7f, 0x13, 0xea, 0x41, 0x7f, 0xfe, 0x53, 0x4c, 0x56, 0x47,
      0xc1, 0xa5, 0x96, 0x01, 0x00, 0x0c, 0x00, 0xef, 0xcd, 0xab, 0x89, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5b,
      0x00, 0x00, 0x00, 0x1d, 0x8f, 0xce, 0x65, 0x0e, 0xa8, 0xbb, 0xe7, 0x01, 0x00, 0x40, 0x00, 0xb7,
      0x00, 0x02, 0x01, 0x0c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0xef, 0xcd, 0xab, 0x89, 0x67,
      0x45, 0x23, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x4e,
      0x4f, 0x54, 0x45, 0x78, 0x3d, 0x31, 0xfe, 0x53, 0x4c, 0x56, 0x47, 0xc1, 0xa5, 0x96, 0x03, 0x00,
      0x0c, 0x00, 0xef, 0xcd, 0xab, 0x89, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x58, 0x00, 0x00, 0x00, 0x3c, 0x65,
      0xee, 0xc6, 0x09, 0xc4, 0x45, 0xe7, 0x58, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb4, 0x8f,
      0xa4, 0x05, 0x35, 0x07, 0xb5, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  VectorSink sink;
  NoCompression none;
  std::vector<uint8_t> scratch(4096);
  Encoder e(sink, none, scratch);
  const PhysRange ranges[] = {{0x80000000, 0x2000}};
  const uint8_t note[] = {'N', 'O', 'T', 'E'};
  const std::span<const uint8_t> notes[] = {note};
  HeaderInfo info = Info(ranges);
  info.flags = kHeaderFromElfCoreHdr;
  info.stream_id = 0x0123456789ABCDEFull;
  info.notes = notes;
  info.options = "x=1";
  ASSERT_TRUE(e.WriteHeader(info).ok());
  std::vector<uint8_t> zero(4096, 0);
  ASSERT_TRUE(e.WritePage(PhysAddr{0x80000000}, zero).ok());
  ASSERT_TRUE(e.WritePage(PhysAddr{0x80001000}, zero).ok());
  ASSERT_TRUE(e.WriteTrailer().ok());
  EXPECT_EQ(sink.bytes, std::vector<uint8_t>(std::begin(kExample), std::end(kExample)));
  std::vector<uint8_t> zeros(8192, 0);
  EXPECT_EQ(e.totals().digest, Xxh64::Hash(zeros));
  EXPECT_EQ(e.totals().digest, 0x02B5073505A48FB4ull);

  test::Collector c;
  const Verdict v = test::Decode(kExample, c);
  EXPECT_TRUE(v.intact);
  EXPECT_EQ(c.pages.size(), 2u);
  ASSERT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.headers[0].options, "x=1");
}

}  // namespace
}  // namespace salvage::stream

