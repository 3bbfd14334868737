// The repeated stream header (docs/stream-format.md §4.6): the encoder writes identical
// copies at the start, every HeaderRepeatInterval() bytes and before the trailer; a
// decoder seeded with a copy found later places the frames that came before it.

#include <gtest/gtest.h>

#include "runtime/stream/stream-test-util.h"

namespace salvage::stream {
namespace {

using test::Collector;
using test::FakeMemory;
using test::RecordAt;

std::vector<size_t> HeaderIndices(const std::vector<RecordAt>& records) {
  std::vector<size_t> out;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].h.type == RecordType::kHeader) out.push_back(i);
  }
  return out;
}

/// Memory of random pages (sent raw: 4144 stream bytes each), `pages` of them.
FakeMemory RandomMemory(uint64_t pages) {
  FakeMemory m;
  m.ranges = {{0x40000000, pages * 4096}};
  std::mt19937_64 rng(5);
  for (uint64_t i = 0; i < pages; ++i) m.pages[0x40000000 + i * 4096] = test::MakePage(test::PageKind::kRandom, 4096, rng);
  return m;
}

TEST(HeaderCopies, AtTheStartAtIntervalsAndBeforeTheTrailerEachIdentical) {
  const FakeMemory m = RandomMemory(600);  // about 2.4 MiB of stream
  NoCompression none;
  const std::vector<uint8_t> bytes = test::EncodeMemory(m, none);
  const auto records = test::SplitRecords(bytes);
  const auto headers = HeaderIndices(records);
  ASSERT_EQ(headers.size(), 4u);  // start, after 1 MiB, after 2 MiB, before the trailer
  EXPECT_EQ(headers.front(), 0u);
  EXPECT_EQ(headers.back(), records.size() - 2);
  EXPECT_EQ(records.back().h.type, RecordType::kTrailer);
  const RecordAt& first = records[0];
  for (size_t i : headers) {
    const RecordAt& r = records[i];
    ASSERT_EQ(r.size, first.size);
    EXPECT_TRUE(std::equal(bytes.begin() + r.offset, bytes.begin() + r.offset + r.size, bytes.begin()))
        << "header copy " << i << " differs from the first";
  }
  // The rule: a copy before the first record that starts kHeaderRepeatMinBytes or more
  // after the previous copy began.
  for (size_t k = 1; k + 1 < headers.size(); ++k) {
    const size_t prev = records[headers[k - 1]].offset;
    EXPECT_GE(records[headers[k]].offset - prev, kHeaderRepeatMinBytes);
    EXPECT_LT(records[headers[k] - 1].offset - prev, kHeaderRepeatMinBytes);
  }
  // A clean stream decodes as one stream, complete and intact, every copy a repetition.
  Collector c;
  const Verdict v = test::Decode(bytes, c);
  EXPECT_TRUE(v.intact);
  EXPECT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.pages.size(), 600u);
}

TEST(HeaderCopies, TheIntervalGrowsWithALargeHeader) {
  test::VectorSink sink;
  NoCompression none;
  std::vector<uint8_t> scratch(4096);
  Encoder enc(sink, none, scratch);
  const std::vector<uint8_t> big(100000, 0x11);
  const std::span<const uint8_t> notes[] = {big};
  const PhysRange ranges[] = {{0x40000000, 0x1000}};
  HeaderInfo info;
  info.e_machine = kEmAarch64;
  info.ranges = ranges;
  info.notes = notes;
  ASSERT_TRUE(enc.WriteHeader(info).ok());
  EXPECT_EQ(enc.header_record_bytes(), sink.bytes.size());
  EXPECT_EQ(enc.HeaderRepeatInterval(), kHeaderRepeatFactor * sink.bytes.size());
  ASSERT_TRUE(enc.WritePage(PhysAddr{0x40000000}, std::vector<uint8_t>(4096, 0)).ok());
  ASSERT_TRUE(enc.WriteTrailer().ok());
  EXPECT_EQ(enc.header_copies(), 2u);
}

// The first header is damaged: a decoder finds the copy after the frames; seeded with
// it, a second decoder over the same bytes places every frame, and the result equals an
// undamaged decode.
TEST(HeaderCopies, SeededDecoderPlacesFramesBeforeTheCopy) {
  const FakeMemory m = test::MakeMemory({{0x40000000, 0x20000}, {0x48000000, 0x8000}});
  test::TestLz4 lz4;
  std::vector<uint8_t> bytes = test::EncodeMemory(m, lz4);
  const auto records = test::SplitRecords(bytes);
  const auto headers = HeaderIndices(records);
  ASSERT_EQ(headers.size(), 2u);
  bytes[records[0].offset + kRecordHeaderSize + 70] ^= 0x04;  // the first copy's payload

  // Pass 1: the frames come without a header; the copy before the trailer is found.
  struct Offsets : Collector {
    Decoder* d = nullptr;
    uint64_t header_at = 0;
    void OnHeader(const DecodedHeader& h) override {
      Collector::OnHeader(h);
      header_at = d->record_offset();
    }
  } pass1;
  Decoder d(pass1);
  pass1.d = &d;
  d.Feed(bytes);
  d.Finish();
  EXPECT_EQ(d.damaged_headers(), 1u);
  ASSERT_EQ(pass1.headers.size(), 1u);
  EXPECT_EQ(pass1.header_at, records[headers[1]].offset);

  // Pass 2: seeded.
  Collector c;
  Decoder d2(c);
  d2.Seed(pass1.headers[0]);
  d2.Feed(bytes);
  const Verdict v = d2.Finish();
  EXPECT_TRUE(v.complete && v.intact) << v.problems;
  EXPECT_EQ(c.headers.size(), 1u);
  EXPECT_TRUE(c.lost.empty());
  EXPECT_EQ(c.pages.size(), m.pages.size());
  test::ExpectPagesMatch(m, c);
}

// Every header copy damaged: frames still verify on their own (§8.5), numbered by
// address, with no losses where nothing was lost.
TEST(HeaderCopies, WithoutAnyIntactHeaderTheFramesStillVerify) {
  const FakeMemory m = test::MakeMemory({{0x40000000, 0x20000}});
  test::TestLz4 lz4;
  std::vector<uint8_t> bytes = test::EncodeMemory(m, lz4);
  const auto records = test::SplitRecords(bytes);
  for (size_t i : HeaderIndices(records)) bytes[records[i].offset + kRecordHeaderSize + 70] ^= 0x04;
  Collector c;
  const Verdict v = test::Decode(bytes, c);
  EXPECT_FALSE(v.header_seen);
  EXPECT_TRUE(v.trailer_seen);
  EXPECT_TRUE(c.headers.empty());
  EXPECT_EQ(c.pages.size(), m.pages.size());
  EXPECT_EQ(v.lost_pages, 0u);
  test::ExpectPagesMatch(m, c);
}

}  // namespace
}  // namespace salvage::stream
