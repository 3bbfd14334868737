// Tests for the stream as a whole: runtime/stream/encoder.cc against
// runtime/stream/decoder.cc. Round trips, console text, and damage of every kind the
// serial line can do (flipped bits, dropped/duplicated bytes, duplicated frames,
// truncation), checking that the decoder never emits a wrong page and reports exactly
// the pages it lost.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <random>
#include <string>
#include <vector>

#include "runtime/stream/stream-test-util.h"
#include "salvage/stream/decoder.h"
#include "salvage/stream/encoder.h"

namespace salvage::stream {
namespace {

using test::Collector;
using test::Decode;
using test::EncodeMemory;
using test::ExpectPagesMatch;
using test::FakeMemory;
using test::FrameIndices;
using test::MakeMemory;
using test::SplitRecords;

std::vector<PhysRange> TwoRanges() { return {{0x40000000, 24 * 4096}, {0x48000000, 16 * 4096}}; }

// All pages of `m` but `lost` were emitted; `lost` is exactly what OnLost reported.
void ExpectAllButLost(const FakeMemory& m, const Collector& c, const std::set<uint64_t>& lost) {
  ExpectPagesMatch(m, c);
  EXPECT_EQ(c.LostSet(m.page_size), lost);
  for (const auto& [phys, data] : m.pages) {
    if (lost.count(phys)) {
      EXPECT_EQ(c.pages.count(phys), 0u) << "lost page emitted: 0x" << std::hex << phys;
    } else {
      EXPECT_EQ(c.pages.count(phys), 1u) << "page missing: 0x" << std::hex << phys;
    }
  }
}

TEST(StreamRoundTrip, HeaderFramesAndTrailer) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  const auto bytes = EncodeMemory(m, lz4);

  // Every encoding is present.
  const auto recs = SplitRecords(bytes);
  std::set<Encoding> encodings;
  for (const auto& r : recs) {
    if (r.h.type == RecordType::kFrame) encodings.insert(r.h.encoding);
  }
  EXPECT_EQ(encodings, (std::set<Encoding>{Encoding::kZero, Encoding::kRaw, Encoding::kLz4}));

  Collector c;
  const Verdict v = Decode(bytes, c);
  ASSERT_EQ(c.headers.size(), 1u);
  const DecodedHeader& h = c.headers[0];
  EXPECT_EQ(h.version, kVersion);
  EXPECT_EQ(h.e_machine, kEmAarch64);
  EXPECT_EQ(h.elf_class, kElfClass64);
  EXPECT_EQ(h.elf_data, kElfDataLsb);
  EXPECT_EQ(h.page_size, 4096u);
  EXPECT_EQ(h.flags, kHeaderFromElfCoreHdr | kHeaderLz4);
  EXPECT_EQ(h.ranges, m.ranges);
  EXPECT_EQ(h.total_pages, m.TotalPages());
  ASSERT_EQ(h.segments.size(), 1u);
  EXPECT_EQ(h.segments[0].paddr.value, 0x40200000u);
  EXPECT_EQ(h.segments[0].vaddr, 0xffff800008000000ull);
  EXPECT_EQ(h.segments[0].size, 0x1000000u);
  ASSERT_EQ(h.notes.size(), 2u);
  EXPECT_EQ(h.notes[0], test::SampleNote());
  EXPECT_EQ(std::string(h.notes[1].begin(), h.notes[1].end()), test::SampleVmcoreinfo());
  EXPECT_EQ(h.options, "salvage.sink=uart");

  ExpectAllButLost(m, c, {});
  // In stream order.
  std::vector<uint64_t> want;
  for (const auto& [phys, data] : m.pages) want.push_back(phys);
  EXPECT_EQ(c.order, want);
  EXPECT_TRUE(c.text.empty());
  EXPECT_TRUE(v.header_seen);
  EXPECT_TRUE(v.trailer_seen);
  EXPECT_TRUE(v.complete);
  EXPECT_TRUE(v.intact);
  EXPECT_EQ(v.problems, 0u);
  EXPECT_EQ(v.received, v.sent);
  EXPECT_EQ(v.received.pages, m.TotalPages());
  EXPECT_GT(v.received.lz4_pages, 0u);
  EXPECT_EQ(v.stream_id, h.stream_id);
  ASSERT_EQ(c.ends.size(), 1u) << "OnStreamEnd once";
  EXPECT_TRUE(c.diagnostics.empty());
}

TEST(StreamRoundTrip, EveryChunkSizeGivesTheSameResult) {
  FakeMemory m = MakeMemory({{0x1000, 12 * 4096}});
  test::TestLz4 lz4;
  const auto bytes = EncodeMemory(m, lz4);
  for (size_t chunk : {1u, 2u, 7u, 47u, 48u, 49u, 4095u, 4096u, 4097u, 100000u}) {
    Collector c;
    const Verdict v = Decode(bytes, c, chunk);
    EXPECT_TRUE(v.intact) << chunk;
    ExpectAllButLost(m, c, {});
  }
}

TEST(StreamRoundTrip, LargePagesAndRawOnly) {
  FakeMemory m = MakeMemory({{0x100000, 6 * 65536}, {0x800000, 2 * 65536}}, 65536, 5);
  NoCompression none;
  const auto bytes = EncodeMemory(m, none);
  Collector c;
  const Verdict v = Decode(bytes, c, 1000);
  EXPECT_TRUE(v.intact);
  EXPECT_EQ(v.received.lz4_pages, 0u);
  EXPECT_EQ(c.headers.at(0).page_size, 65536u);
  ExpectAllButLost(m, c, {});
}

TEST(StreamRoundTrip, SkippedPagesAreReportedNotInvented) {
  FakeMemory m = MakeMemory(TwoRanges());
  m.unreadable = {0x40000000 + 5 * 4096, 0x40000000 + 6 * 4096, 0x48000000};
  test::TestLz4 lz4;
  const auto bytes = EncodeMemory(m, lz4);
  Collector c;
  const Verdict v = Decode(bytes, c);
  EXPECT_TRUE(v.complete);
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.problems, static_cast<uint32_t>(kProblemPagesSkipped));
  EXPECT_EQ(v.received.skipped_pages, 3u);
  EXPECT_EQ(v.lost_pages, 0u);
  for (const auto& l : c.lost) EXPECT_EQ(l.reason, LossReason::kSkippedBySender);
  ExpectAllButLost(m, c, m.unreadable);
}

TEST(StreamRoundTrip, SenderStoppedEarly) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  test::EncodeOptions o;
  o.stop_after_pages = 30;  // of 40
  const auto bytes = EncodeMemory(m, lz4, o);
  Collector c;
  const Verdict v = Decode(bytes, c);
  EXPECT_TRUE(v.trailer_seen);
  EXPECT_FALSE(v.complete);
  EXPECT_TRUE(v.problems & kProblemStoppedEarly);
  EXPECT_FALSE(v.problems & kProblemPagesLost);
  EXPECT_EQ(v.not_sent_pages, 10u);
  ASSERT_EQ(c.lost.size(), 1u);
  EXPECT_EQ(c.lost[0].reason, LossReason::kNotSent);
  EXPECT_EQ(c.lost[0].phys, 0x48000000u + 6 * 4096);
  EXPECT_EQ(c.lost[0].pages, 10u);
  EXPECT_EQ(c.pages.size(), 30u);
  ExpectPagesMatch(m, c);
}

TEST(StreamDecoder, ConsoleTextBetweenRecordsPassesThrough) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  const auto clean = EncodeMemory(m, lz4);
  const auto recs = SplitRecords(clean);
  // Text before, between every pair of records, and after; some of it contains bytes of
  // the sync marker, even a whole marker followed by junk.
  std::vector<uint8_t> noisy;
  std::string want_text;
  auto add_text = [&](const std::string& t) {
    noisy.insert(noisy.end(), t.begin(), t.end());
    want_text += t;
  };
  std::string marker(kSync.begin(), kSync.end());
  add_text("[    0.000000] salvage: booting\r\n");
  for (size_t i = 0; i < recs.size(); ++i) {
    noisy.insert(noisy.end(), clean.begin() + recs[i].offset, clean.begin() + recs[i].offset + recs[i].size);
    if (i % 3 == 0) add_text("salvage: progress " + std::to_string(i) + "%\n");
    if (i == 4) add_text(std::string("\xFE\x53 partial marker\n"));
    if (i == 5) add_text(marker + std::string(60, 'j') + "\n");
    if (i == 6) add_text(std::string("\xFE"));  // directly before a record
  }
  add_text("salvage: done, rebooting\n");
  for (size_t chunk : {0u, 1u, 13u, 4096u}) {
    Collector c;
    const Verdict v = Decode(noisy, c, chunk);
    EXPECT_EQ(c.text, want_text) << chunk;
    EXPECT_TRUE(v.intact) << chunk;
    ExpectAllButLost(m, c, {});
  }
}

TEST(StreamDecoder, OnlyTextIsOnlyText) {
  const std::string t = "U-Boot 2023.01\r\nStarting kernel ...\r\n\xFE\xFE\xFE";
  Collector c;
  const Verdict v = Decode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(t.data()), t.size()), c, 3);
  EXPECT_EQ(c.text, t);
  EXPECT_FALSE(v.header_seen);
  EXPECT_FALSE(v.complete);
  EXPECT_EQ(v.problems, static_cast<uint32_t>(kProblemNoHeader | kProblemNoTrailer));
  EXPECT_TRUE(c.ends.empty());
}

// Flips one bit at `byte` of frame `frame` and checks that exactly its pages are lost.
void FlipAndCheck(const FakeMemory& m, const std::vector<uint8_t>& clean, size_t frame, size_t byte, int bit) {
  const auto recs = SplitRecords(clean);
  const auto frames = FrameIndices(recs);
  const auto& r = recs[frames[frame]];
  auto bytes = clean;
  bytes[r.offset + byte] ^= static_cast<uint8_t>(1u << bit);
  Collector c;
  const Verdict v = Decode(bytes, c);
  std::set<uint64_t> want;
  for (uint32_t i = 0; i < r.h.count; ++i) want.insert(r.h.phys + uint64_t{i} * m.page_size);
  SCOPED_TRACE(testing::Message() << "frame " << frame << " byte " << byte << " bit " << bit);
  ExpectAllButLost(m, c, want);
  EXPECT_FALSE(v.complete);
  EXPECT_TRUE(v.trailer_seen);
  EXPECT_EQ(v.problems, static_cast<uint32_t>(kProblemPagesLost));
  EXPECT_EQ(v.lost_pages, want.size());
}

TEST(StreamDecoder, FlippedBitInPayloadLosesExactlyThatPage) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  const auto clean = EncodeMemory(m, lz4);
  const auto recs = SplitRecords(clean);
  const auto frames = FrameIndices(recs);
  bool raw = false, lz = false;
  for (size_t f = 0; f < frames.size(); ++f) {
    const auto& r = recs[frames[f]];
    if (r.h.payload_len == 0) continue;
    raw |= r.h.encoding == Encoding::kRaw;
    lz |= r.h.encoding == Encoding::kLz4;
    FlipAndCheck(m, clean, f, kRecordHeaderSize + r.h.payload_len / 2, 3);
    FlipAndCheck(m, clean, f, kRecordHeaderSize + r.h.payload_len - 1, 7);
    // The frame's own payload is reported lost at once, with the reason.
    auto bytes = clean;
    bytes[r.offset + kRecordHeaderSize] ^= 1;
    Collector c;
    Decode(bytes, c);
    ASSERT_EQ(c.lost.size(), 1u);
    EXPECT_EQ(c.lost[0].reason, LossReason::kCorruptFrame);
    EXPECT_EQ(c.lost[0].phys, r.h.phys);
  }
  EXPECT_TRUE(raw && lz);
}

TEST(StreamDecoder, FlippedBitInAnyHeaderByteLosesExactlyThatFrame) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  const auto clean = EncodeMemory(m, lz4);
  const auto frames = FrameIndices(SplitRecords(clean));
  // A raw frame, an lz4 frame, a zero run, the first and the last frame.
  for (size_t f : {size_t{0}, size_t{1}, size_t{2}, size_t{5}, frames.size() - 1}) {
    for (size_t byte = 0; byte < kRecordHeaderSize; ++byte) FlipAndCheck(m, clean, f, byte, byte % 8);
  }
}

TEST(StreamDecoder, DroppedBytesLoseOnlyTheirFrame) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  const auto clean = EncodeMemory(m, lz4);
  const auto recs = SplitRecords(clean);
  const auto frames = FrameIndices(recs);
  for (size_t f : {size_t{1}, size_t{2}, size_t{6}}) {
    const auto& r = recs[frames[f]];
    for (size_t at : {size_t{0}, size_t{10}, kRecordHeaderSize - 1, kRecordHeaderSize + 5, r.size - 1}) {
      if (at >= r.size) continue;
      for (size_t n : {1u, 3u, 20u}) {
        if (at + n > r.size) continue;
        auto bytes = clean;
        bytes.erase(bytes.begin() + static_cast<ptrdiff_t>(r.offset + at),
                    bytes.begin() + static_cast<ptrdiff_t>(r.offset + at + n));
        Collector c;
        const Verdict v = Decode(bytes, c);
        SCOPED_TRACE(testing::Message() << "frame " << f << " at " << at << " n " << n);
        std::set<uint64_t> want;
        for (uint32_t i = 0; i < r.h.count; ++i) want.insert(r.h.phys + uint64_t{i} * m.page_size);
        ExpectAllButLost(m, c, want);
        EXPECT_TRUE(v.trailer_seen);
        EXPECT_FALSE(v.complete);
      }
    }
  }
}

TEST(StreamDecoder, DuplicatedFramesAreNeitherLostNorEmittedTwice) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  const auto clean = EncodeMemory(m, lz4);
  const auto recs = SplitRecords(clean);
  const auto frames = FrameIndices(recs);
  auto record = [&](size_t f) {
    const auto& r = recs[frames[f]];
    return std::vector<uint8_t>(clean.begin() + r.offset, clean.begin() + r.offset + r.size);
  };
  // Frame 3 twice in a row, frame 1 again much later, and the header and trailer twice.
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < recs.size(); ++i) {
    const auto& r = recs[i];
    bytes.insert(bytes.end(), clean.begin() + r.offset, clean.begin() + r.offset + r.size);
    if (i == frames[3] || r.h.type == RecordType::kHeader || r.h.type == RecordType::kTrailer) {
      bytes.insert(bytes.end(), clean.begin() + r.offset, clean.begin() + r.offset + r.size);
    }
    if (i == frames[9]) {
      auto again = record(1);
      bytes.insert(bytes.end(), again.begin(), again.end());
    }
  }
  Collector c;
  const Verdict v = Decode(bytes, c, 333);
  ExpectAllButLost(m, c, {});
  EXPECT_TRUE(v.intact);
  EXPECT_EQ(v.duplicate_frames, 2u);
  EXPECT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.ends.size(), 1u);
}

TEST(StreamDecoder, DuplicatedBytesInsideAFrameLoseOnlyThatFrame) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  const auto clean = EncodeMemory(m, lz4);
  const auto recs = SplitRecords(clean);
  const auto frames = FrameIndices(recs);
  const auto& r = recs[frames[1]];
  for (size_t at : {size_t{3}, size_t{20}, kRecordHeaderSize + 100}) {
    auto bytes = clean;
    const size_t pos = r.offset + at;
    std::vector<uint8_t> dup(bytes.begin() + static_cast<ptrdiff_t>(pos), bytes.begin() + static_cast<ptrdiff_t>(pos + 4));
    bytes.insert(bytes.begin() + static_cast<ptrdiff_t>(pos), dup.begin(), dup.end());
    Collector c;
    Decode(bytes, c);
    SCOPED_TRACE(at);
    ExpectAllButLost(m, c, {r.h.phys});
  }
}

TEST(StreamDecoder, TruncatedStreamIsIncomplete) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  const auto clean = EncodeMemory(m, lz4);
  const auto recs = SplitRecords(clean);
  const size_t cuts[] = {recs[1].offset, recs[4].offset + 20, recs[7].offset + kRecordHeaderSize + 1,
                         recs.back().offset, clean.size() - 1};
  for (size_t cut : cuts) {
    Collector c;
    const Verdict v = Decode(std::span<const uint8_t>(clean).first(cut), c, 512);
    SCOPED_TRACE(cut);
    EXPECT_TRUE(v.header_seen);
    EXPECT_FALSE(v.trailer_seen);
    EXPECT_FALSE(v.complete);
    EXPECT_FALSE(v.intact);
    EXPECT_TRUE(v.problems & kProblemNoTrailer);
    ExpectPagesMatch(m, c);
    // Every page is either emitted or reported lost as truncated, once.
    uint64_t lost = 0;
    for (const auto& l : c.lost) {
      EXPECT_EQ(l.reason, LossReason::kTruncated);
      lost += l.pages;
    }
    EXPECT_EQ(c.pages.size() + lost, m.TotalPages());
    EXPECT_TRUE(c.text.empty()) << "a truncated record is not text";
    ASSERT_EQ(c.ends.size(), 1u);
  }
}

// Rewrites the trailer's payload and fixes its CRCs, as a sender with a bug would.
std::vector<uint8_t> WithTrailer(const std::vector<uint8_t>& clean, const std::function<void(StreamTotals&)>& edit) {
  const auto recs = SplitRecords(clean);
  const auto& r = recs.back();
  auto bytes = clean;
  StreamTotals t;
  uint32_t flags = 0;
  EXPECT_TRUE(DecodeTrailerPayload(std::span<const uint8_t>(bytes).subspan(r.offset + kRecordHeaderSize), &t, &flags));
  edit(t);
  auto payload = std::span<uint8_t>(bytes).subspan(r.offset + kRecordHeaderSize).first<trl::kSize>();
  EncodeTrailerPayload(t, flags, payload);
  EncodeRecordHeader(r.h, payload, std::span<uint8_t>(bytes).subspan(r.offset).first<kRecordHeaderSize>());
  return bytes;
}

TEST(StreamDecoder, DigestMismatchIsReported) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  const auto bytes = WithTrailer(EncodeMemory(m, lz4), [](StreamTotals& t) { t.digest ^= 1; });
  Collector c;
  const Verdict v = Decode(bytes, c);
  EXPECT_TRUE(v.trailer_seen);
  EXPECT_TRUE(v.complete) << "every frame arrived and the counts match";
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.problems, static_cast<uint32_t>(kProblemDigestMismatch));
  EXPECT_NE(v.received.digest, v.sent.digest);
}

TEST(StreamDecoder, TotalsMismatchIsReported) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  const auto bytes = WithTrailer(EncodeMemory(m, lz4), [](StreamTotals& t) { t.lz4_pages += 1; });
  Collector c;
  const Verdict v = Decode(bytes, c);
  EXPECT_FALSE(v.complete);
  EXPECT_EQ(v.problems, static_cast<uint32_t>(kProblemTotalsMismatch));
}

TEST(StreamDecoder, LostTrailingFramesAreReportedByTheTrailer) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  const auto clean = EncodeMemory(m, lz4);
  const auto recs = SplitRecords(clean);
  // Drop the last two frames entirely.
  const size_t n = recs.size();
  std::vector<uint8_t> bytes(clean.begin(), clean.begin() + recs[n - 3].offset);
  bytes.insert(bytes.end(), clean.begin() + recs[n - 1].offset, clean.end());
  Collector c;
  const Verdict v = Decode(bytes, c);
  std::set<uint64_t> want;
  for (size_t i : {n - 3, n - 2}) {
    for (uint32_t k = 0; k < recs[i].h.count; ++k) want.insert(recs[i].h.phys + uint64_t{k} * 4096);
  }
  ExpectAllButLost(m, c, want);
  for (const auto& l : c.lost) EXPECT_EQ(l.reason, LossReason::kMissingFrames);
  EXPECT_TRUE(v.trailer_seen);
  EXPECT_EQ(v.problems, static_cast<uint32_t>(kProblemPagesLost));
}

TEST(StreamDecoder, LostRangeIsSplitAtRangeBoundaries) {
  // Frames around the boundary between the two ranges vanish: the report names each
  // range's part separately.
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  const auto clean = EncodeMemory(m, lz4);
  const auto recs = SplitRecords(clean);
  size_t first = 0, last = 0;  // records covering 0x40000000 + 20 pages .. 0x48000000 + 3 pages
  for (size_t i = 0; i < recs.size(); ++i) {
    if (recs[i].h.type != RecordType::kFrame) continue;
    if (recs[i].h.phys <= 0x40000000 + 20 * 4096) first = i;
    if (recs[i].h.phys <= 0x48000000 + 3 * 4096) last = i;
  }
  std::vector<uint8_t> bytes(clean.begin(), clean.begin() + recs[first].offset);
  bytes.insert(bytes.end(), clean.begin() + recs[last + 1].offset, clean.end());
  Collector c;
  Decode(bytes, c);
  ASSERT_EQ(c.lost.size(), 2u);
  EXPECT_EQ(c.lost[0].phys, recs[first].h.phys);
  EXPECT_EQ(c.lost[0].phys + c.lost[0].pages * 4096, 0x40000000u + 24 * 4096);
  EXPECT_EQ(c.lost[1].phys, 0x48000000u);
  EXPECT_EQ(c.lost[1].pages * 4096, recs[last + 1].h.phys - 0x48000000u);
  ExpectPagesMatch(m, c);
}

// Every copy of the header damaged (docs/stream-format.md §4.6, §8.5).
TEST(StreamDecoder, DamagedHeaderStillYieldsVerifiedPages) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  auto bytes = EncodeMemory(m, lz4);
  const auto recs = SplitRecords(bytes);
  size_t copies = 0;
  for (const auto& r : recs) {
    if (r.h.type != RecordType::kHeader) continue;
    bytes[r.offset + kRecordHeaderSize + 70] ^= 0x10;  // inside the header payload (the ranges)
    ++copies;
  }
  ASSERT_EQ(copies, 2u);  // the first and the one before the trailer
  Collector c;
  Decoder d(c);
  d.Feed(bytes);
  const Verdict v = d.Finish();
  EXPECT_EQ(d.damaged_headers(), 2u);
  EXPECT_TRUE(c.headers.empty());
  EXPECT_FALSE(v.header_seen);
  EXPECT_TRUE(v.trailer_seen);
  EXPECT_FALSE(v.complete);
  EXPECT_TRUE(v.problems & kProblemNoHeader);
  // Frames carry their own address and page size: the pages are still good, and (the
  // gap between the ranges held no frame) none is missing.
  ExpectAllButLost(m, c, {});
  EXPECT_EQ(v.received.digest, v.sent.digest);
}

// Only the first copy damaged: the copy before the trailer is adopted for the frames
// decoded without it, and the stream is whole (§8.2).
TEST(StreamDecoder, DamagedFirstHeaderIsTakenFromItsCopy) {
  FakeMemory m = MakeMemory(TwoRanges());
  test::TestLz4 lz4;
  auto bytes = EncodeMemory(m, lz4);
  Collector clean;
  Decode(bytes, clean);
  ASSERT_EQ(clean.headers.size(), 1u);
  bytes[kRecordHeaderSize + 70] ^= 0x10;
  Collector c;
  Decoder d(c);
  d.Feed(bytes);
  const Verdict v = d.Finish();
  EXPECT_EQ(d.damaged_headers(), 1u);
  ASSERT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.headers[0].stream_id, clean.headers[0].stream_id);
  EXPECT_EQ(c.headers[0].ranges, m.ranges);
  EXPECT_EQ(c.headers[0].notes, clean.headers[0].notes);
  EXPECT_TRUE(v.header_seen);
  EXPECT_TRUE(v.trailer_seen);
  EXPECT_TRUE(v.complete);
  EXPECT_TRUE(v.intact) << v.problems;
  EXPECT_EQ(v.problems & kProblemNoHeader, 0u);
  ExpectAllButLost(m, c, {});
  EXPECT_EQ(v.received, v.sent);
}

TEST(StreamDecoder, FramesOfAnotherStreamAreIgnored) {
  FakeMemory a = MakeMemory({{0x1000, 8 * 4096}}, 4096, 1);
  FakeMemory b = MakeMemory({{0x1000, 8 * 4096}}, 4096, 2);
  test::TestLz4 lz4;
  test::EncodeOptions oa, ob;
  oa.stream_id = 0x1111;
  ob.stream_id = 0x2222;
  const auto sa = EncodeMemory(a, lz4, oa);
  const auto sb = EncodeMemory(b, lz4, ob);
  const auto ra = SplitRecords(sa);
  const auto rb = SplitRecords(sb);
  // Stream a with one record of stream b (a frame with a different page) in the middle.
  std::vector<uint8_t> bytes(sa.begin(), sa.begin() + ra[3].offset);
  bytes.insert(bytes.end(), sb.begin() + rb[3].offset, sb.begin() + rb[3].offset + rb[3].size);
  bytes.insert(bytes.end(), sa.begin() + ra[3].offset, sa.end());
  Collector c;
  const Verdict v = Decode(bytes, c);
  EXPECT_TRUE(v.intact);
  EXPECT_EQ(v.ignored_records, 1u);
  ExpectAllButLost(a, c, {});
}

TEST(StreamDecoder, TwoStreamsBackToBack) {
  FakeMemory a = MakeMemory({{0x1000, 8 * 4096}}, 4096, 1);
  FakeMemory b = MakeMemory({{0x100000, 4 * 4096}}, 4096, 2);
  test::TestLz4 lz4;
  test::EncodeOptions oa, ob;
  oa.stream_id = 0xA;
  ob.stream_id = 0xB;
  auto bytes = EncodeMemory(a, lz4, oa);
  const auto sb = EncodeMemory(b, lz4, ob);
  bytes.insert(bytes.end(), sb.begin(), sb.end());
  Collector c;
  const Verdict v = Decode(bytes, c);
  ASSERT_EQ(c.ends.size(), 2u);
  EXPECT_TRUE(c.ends[0].intact);
  EXPECT_EQ(c.ends[0].stream_id, 0xAu);
  EXPECT_TRUE(c.ends[1].intact);
  EXPECT_EQ(v.stream_id, 0xBu);
  EXPECT_EQ(c.headers.size(), 2u);
  EXPECT_EQ(c.pages.size(), 12u);
}

TEST(StreamDecoder, UnknownRecordTypeIsSkippedNotText) {
  FakeMemory m = MakeMemory({{0x1000, 4 * 4096}});
  test::TestLz4 lz4;
  const auto clean = EncodeMemory(m, lz4);
  const auto recs = SplitRecords(clean);
  RecordHeader h;
  h.type = static_cast<RecordType>(0x42);
  h.stream_tag = recs[0].h.stream_tag;
  h.payload_len = 5;
  const uint8_t payload[5] = {'h', 'e', 'l', 'l', 'o'};
  std::array<uint8_t, kRecordHeaderSize> rh{};
  EncodeRecordHeader(h, payload, rh);
  std::vector<uint8_t> bytes(clean.begin(), clean.begin() + recs[2].offset);
  bytes.insert(bytes.end(), rh.begin(), rh.end());
  bytes.insert(bytes.end(), payload, payload + 5);
  bytes.insert(bytes.end(), clean.begin() + recs[2].offset, clean.end());
  Collector c;
  const Verdict v = Decode(bytes, c);
  EXPECT_TRUE(c.text.empty());
  EXPECT_TRUE(v.intact);
  EXPECT_EQ(v.ignored_records, 1u);
}

// Random damage of every kind. Whatever happens, no wrong page is emitted, no page is
// emitted twice, and while the header survives every page is either emitted or reported
// lost exactly once.
TEST(StreamDecoder, RandomDamageNeverYieldsWrongPages) {
  FakeMemory m = MakeMemory(TwoRanges(), 4096, 9);
  test::TestLz4 lz4;
  const auto clean = EncodeMemory(m, lz4);
  const size_t header_end = SplitRecords(clean)[0].size;
  std::mt19937_64 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    auto bytes = clean;
    const int damages = 1 + static_cast<int>(rng() % 4);
    for (int d = 0; d < damages; ++d) {
      const size_t pos = header_end + rng() % (bytes.size() - header_end);
      switch (rng() % 5) {
        case 0: bytes[pos] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 1: bytes.erase(bytes.begin() + static_cast<ptrdiff_t>(pos),
                            bytes.begin() + static_cast<ptrdiff_t>(std::min(bytes.size(), pos + 1 + rng() % 100)));
          break;
        case 2: {
          const size_t n = std::min<size_t>(bytes.size() - pos, 1 + rng() % 5000);
          std::vector<uint8_t> dup(bytes.begin() + static_cast<ptrdiff_t>(pos),
                                   bytes.begin() + static_cast<ptrdiff_t>(pos + n));
          bytes.insert(bytes.begin() + static_cast<ptrdiff_t>(pos), dup.begin(), dup.end());
          break;
        }
        case 3: {
          const std::string t = "\r\nsalvage: kernel message\r\n";
          bytes.insert(bytes.begin() + static_cast<ptrdiff_t>(pos), t.begin(), t.end());
          break;
        }
        case 4: bytes.resize(pos); break;
      }
      if (bytes.size() <= header_end + 1) break;
    }
    Collector c;
    const Verdict v = Decode(bytes, c, 1 + rng() % 9000);
    SCOPED_TRACE(trial);
    ExpectPagesMatch(m, c);
    ASSERT_TRUE(v.header_seen);
    const auto lost = c.LostSet(4096);
    uint64_t lost_count = 0;
    for (const auto& l : c.lost) lost_count += l.pages;
    EXPECT_EQ(lost.size(), lost_count) << "a page reported lost twice";
    for (const auto& [phys, data] : m.pages) {
      EXPECT_EQ(c.pages.count(phys) + lost.count(phys), 1u) << "page 0x" << std::hex << phys;
    }
    if (v.intact) {
      EXPECT_EQ(c.pages.size(), m.TotalPages());
    }
  }
}

}  // namespace
}  // namespace salvage::stream
