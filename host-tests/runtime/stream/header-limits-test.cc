// ParseHeaderPayload's limits (docs/stream-format.md §8.2, issue #10): a header is
// refused before anything is sized by its counts, and every range and segment must lie
// in the physical address space of the crashed machine's architecture.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "salvage/stream/decoder.h"
#include "salvage/stream/format.h"

namespace salvage::stream {
namespace {

/// A header payload written from docs/stream-format.md §4, field by field.
struct Payload {
  uint16_t machine = kEmAarch64;
  std::vector<std::pair<uint64_t, uint64_t>> ranges = {{0x40000000, 0x2000}};
  std::vector<LoadSegment> segments;
  uint32_t range_count_override = 0;  ///< When set, the count field says this.
  uint32_t segment_count_override = 0;
  uint32_t note_count_override = 0;

  std::vector<uint8_t> Bytes() const {
    std::vector<uint8_t> p(hdr::kSize, 0);
    StoreLe16(&p[hdr::kVersion], kVersion);
    StoreLe16(&p[hdr::kFixedLen], hdr::kSize);
    StoreLe16(&p[hdr::kMachine], machine);
    p[hdr::kElfClass] = kElfClass64;
    p[hdr::kElfData] = kElfDataLsb;
    p[hdr::kPageShift] = 12;
    StoreLe32(&p[hdr::kRangeCount], range_count_override ? range_count_override : static_cast<uint32_t>(ranges.size()));
    StoreLe32(&p[hdr::kSegmentCount],
              segment_count_override ? segment_count_override : static_cast<uint32_t>(segments.size()));
    StoreLe32(&p[hdr::kNoteCount], note_count_override);
    StoreLe64(&p[hdr::kStreamId], 0x1234);
    uint64_t pages = 0;
    for (const auto& [base, size] : ranges) pages += size >> 12;
    StoreLe64(&p[hdr::kTotalPages], pages);
    for (const auto& [base, size] : ranges) {
      uint8_t b[16];
      StoreLe64(b, base);
      StoreLe64(b + 8, size);
      p.insert(p.end(), b, b + 16);
    }
    for (const LoadSegment& s : segments) {
      uint8_t b[24];
      StoreLe64(b, s.paddr.value);
      StoreLe64(b + 8, s.vaddr);
      StoreLe64(b + 16, s.size);
      p.insert(p.end(), b, b + 24);
    }
    return p;
  }
};

/// "" when accepted, else the refusal.
std::string Parse(const Payload& p) {
  DecodedHeader h;
  const char* why = "";
  const std::vector<uint8_t> bytes = p.Bytes();
  return ParseHeaderPayload(bytes, &h, &why) ? "" : why;
}

TEST(HeaderLimits, PhysicalAddressBitsPerArchitecture) {
  EXPECT_EQ(MaxPhysAddressBits(kEmAarch64), 52u);
  EXPECT_EQ(MaxPhysAddressBits(kEmX86_64), 52u);
  EXPECT_EQ(MaxPhysAddressBits(kEmArm), 40u);
  EXPECT_EQ(MaxPhysAddressBits(kEmRiscv), 56u);
  EXPECT_EQ(MaxPhysAddressBits(0), 56u);
}

TEST(HeaderLimits, RangesEndInsideTheArchitecturesAddressSpace) {
  struct Case {
    uint16_t machine;
    unsigned bits;
  };
  for (const Case c : {Case{kEmAarch64, 52}, Case{kEmArm, 40}, Case{kEmRiscv, 56}, Case{kEmX86_64, 52}}) {
    Payload p;
    p.machine = c.machine;
    const uint64_t top = uint64_t{1} << c.bits;
    p.ranges = {{top - 0x2000, 0x2000}};  // ends exactly at the top: fine
    EXPECT_EQ(Parse(p), "") << c.machine;
    p.ranges = {{top - 0x1000, 0x2000}};  // one page beyond
    EXPECT_NE(Parse(p).find("physical address space"), std::string::npos) << c.machine;
    p.ranges = {{top, 0x1000}};
    EXPECT_NE(Parse(p).find("physical address space"), std::string::npos) << c.machine;
  }
}

TEST(HeaderLimits, TwoToTheSixtyByteRangeIsRefused) {
  // Regression (issue #10): a 277-byte stream with this header made recv allocate a bit
  // per page of the range (2^45 bytes) and abort with std::bad_alloc.
  Payload p;
  p.ranges = {{0, uint64_t{1} << 60}};
  EXPECT_NE(Parse(p).find("physical address space"), std::string::npos);
}

TEST(HeaderLimits, CountsAreCappedBeforeAnythingIsSized) {
  Payload p;
  p.range_count_override = kMaxHeaderRanges + 1;  // the payload holds one range only
  EXPECT_NE(Parse(p).find("more ranges"), std::string::npos);
  p.range_count_override = 0;
  p.segment_count_override = kMaxHeaderSegments + 1;
  EXPECT_NE(Parse(p).find("more segments"), std::string::npos);
  p.segment_count_override = 0;
  p.note_count_override = kMaxHeaderNotes + 1;
  EXPECT_NE(Parse(p).find("more note buffers"), std::string::npos);
}

TEST(HeaderLimits, ManyHugeRangesAreRefused) {
  // 8000 ranges of 2^44 bytes (issue #10): over the count, and beyond 52 bits.
  Payload p;
  p.machine = kEmX86_64;
  p.ranges.clear();
  for (uint64_t i = 0; i < 8000; ++i) p.ranges.push_back({i << 45, uint64_t{1} << 44});
  EXPECT_NE(Parse(p).find("more ranges"), std::string::npos);
  p.ranges.resize(kMaxHeaderRanges);
  EXPECT_NE(Parse(p).find("physical address space"), std::string::npos);
}

TEST(HeaderLimits, SegmentsToo) {
  Payload p;
  p.segments = {{PhysAddr{0x40000000}, 0xffff000000000000ull, 0x2000}};
  EXPECT_EQ(Parse(p), "");
  p.segments = {{PhysAddr{(uint64_t{1} << 52) - 0x1000}, 0, 0x2000}};
  EXPECT_NE(Parse(p).find("segment beyond"), std::string::npos);
  p.segments = {{PhysAddr{0x1000}, 0, ~uint64_t{0}}};  // wraps
  EXPECT_NE(Parse(p).find("segment beyond"), std::string::npos);
}

TEST(HeaderLimits, TotalPagesMustMatchTheRanges) {
  Payload p;
  std::vector<uint8_t> bytes = p.Bytes();
  StoreLe64(&bytes[hdr::kTotalPages], 3);
  DecodedHeader h;
  const char* why = "";
  EXPECT_FALSE(ParseHeaderPayload(bytes, &h, &why));
  EXPECT_NE(std::string(why).find("total_pages"), std::string::npos) << why;
}

}  // namespace
}  // namespace salvage::stream
