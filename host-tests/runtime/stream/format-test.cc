// Tests for runtime/stream/include/salvage/stream/format.h: CRC-32C and CRC-32/ISO-HDLC,
// XXH64, and the byte layout of records (docs/stream-format.md).
#include "salvage/stream/format.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

namespace salvage::stream {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Bit-at-a-time reference, straight from the definition (reflected, init/xorout ~0).
uint32_t BitwiseCrc(uint32_t reflected_poly, std::span<const uint8_t> d) {
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : d) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ reflected_poly : c >> 1;
  }
  return ~c;
}

TEST(Crc32, CheckValues) {
  EXPECT_EQ(Crc32c::Compute(Bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(Crc32IsoHdlc::Compute(Bytes("123456789")), 0xCBF43926u);
  EXPECT_EQ(Crc32c::Compute(Bytes("")), 0u);
  EXPECT_EQ(Crc32IsoHdlc::Compute(Bytes("")), 0u);
  // zlib: crc32("The quick brown fox jumps over the lazy dog") = 0x414FA339.
  EXPECT_EQ(Crc32IsoHdlc::Compute(Bytes("The quick brown fox jumps over the lazy dog")), 0x414FA339u);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros -> 0x8A9136AA.
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(Crc32c::Compute(zeros), 0x8A9136AAu);
  std::vector<uint8_t> ones(32, 0xFF);
  EXPECT_EQ(Crc32c::Compute(ones), 0x62A8AB43u);
}

TEST(Crc32, SlicedMatchesBitwiseAtEveryLength) {
  std::mt19937 rng(7);
  std::vector<uint8_t> d(300);
  for (auto& b : d) b = static_cast<uint8_t>(rng());
  for (size_t len = 0; len <= d.size(); ++len) {
    auto s = std::span<const uint8_t>(d).first(len);
    ASSERT_EQ(Crc32c::Compute(s), BitwiseCrc(0x82F63B78u, s)) << len;
    ASSERT_EQ(Crc32IsoHdlc::Compute(s), BitwiseCrc(0xEDB88320u, s)) << len;
  }
}

TEST(Crc32, UpdateChainsLikeZlib) {
  std::vector<uint8_t> d(1000);
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(i * 7 + 3);
  const uint32_t whole = Crc32c::Compute(d);
  for (size_t cut : {0u, 1u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
    auto s = std::span<const uint8_t>(d);
    EXPECT_EQ(Crc32c::Update(Crc32c::Update(0, s.first(cut)), s.subspan(cut)), whole) << cut;
  }
}

TEST(Xxh64, KnownVectors) {
  EXPECT_EQ(Xxh64::Hash(Bytes("")), 0xEF46DB3751D8E999ull);
  EXPECT_EQ(Xxh64::Hash(Bytes("a")), 0xD24EC4F1A98C6E5Bull);
  EXPECT_EQ(Xxh64::Hash(Bytes("abc")), 0x44BC2CF5AD770999ull);
  // 39 bytes: one 32-byte stripe, then an 8-byte lane... exercises every tail path.
  EXPECT_EQ(Xxh64::Hash(Bytes("Nobody inspects the spammish repetition")), 0xFBCEA83C8A378BF1ull);
  EXPECT_EQ(Xxh64::Hash(Bytes("The quick brown fox jumps over the lazy dog")), 0x0B242D361FDA71BCull);
}

TEST(Xxh64, StreamingEqualsOneShot) {
  std::mt19937 rng(11);
  std::vector<uint8_t> d(5000);
  for (auto& b : d) b = static_cast<uint8_t>(rng());
  for (size_t len : {0u, 1u, 3u, 4u, 31u, 32u, 33u, 63u, 64u, 100u, 4096u, 5000u}) {
    auto s = std::span<const uint8_t>(d).first(len);
    const uint64_t whole = Xxh64::Hash(s);
    for (int trial = 0; trial < 20; ++trial) {
      Xxh64 x;
      size_t off = 0;
      while (off < len) {
        size_t n = std::min<size_t>(len - off, rng() % 70);
        x.Update(s.subspan(off, n));
        off += n;
      }
      ASSERT_EQ(x.Digest(), whole) << "len " << len;
    }
  }
}

TEST(Xxh64, SeedChangesDigest) {
  EXPECT_NE(Xxh64::Hash(Bytes("abc"), 1), Xxh64::Hash(Bytes("abc"), 0));
}

TEST(StreamFormat, RecordHeaderLayoutIsByteExact) {
  RecordHeader h;
  h.type = RecordType::kFrame;
  h.encoding = Encoding::kLz4;
  h.page_shift = 12;
  h.stream_tag = 0x11223344;
  h.seq = 0x0102030405060708ull;
  h.phys = 0x00000000DEADB000ull;
  h.count = 1;
  h.payload_len = 3;
  const uint8_t payload[3] = {0xAA, 0xBB, 0xCC};
  std::array<uint8_t, kRecordHeaderSize> out{};
  EncodeRecordHeader(h, payload, out);
  const std::array<uint8_t, 40> expected = {
      0xFE, 0x53, 0x4C, 0x56, 0x47, 0xC1, 0xA5, 0x96,  // sync
      0x02, 0x02, 0x0C, 0x00,                          // type, encoding, page_shift, flags
      0x44, 0x33, 0x22, 0x11,                          // stream_tag
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // seq
      0x00, 0xB0, 0xAD, 0xDE, 0x00, 0x00, 0x00, 0x00,  // phys
      0x01, 0x00, 0x00, 0x00,                          // count
      0x03, 0x00, 0x00, 0x00,                          // payload_len
  };
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), out.begin()));
  const uint32_t header_crc = Crc32c::Compute(std::span<const uint8_t>(out).subspan(8, 32));
  EXPECT_EQ(LoadLe32(&out[40]), header_crc);
  std::vector<uint8_t> covered(out.begin() + 8, out.begin() + 40);
  covered.insert(covered.end(), payload, payload + 3);
  EXPECT_EQ(LoadLe32(&out[44]), Crc32c::Compute(covered));

  RecordHeader back;
  uint32_t record_crc = 0;
  ASSERT_TRUE(DecodeRecordHeader(out, &back, &record_crc));
  EXPECT_EQ(back.type, h.type);
  EXPECT_EQ(back.encoding, h.encoding);
  EXPECT_EQ(back.stream_tag, h.stream_tag);
  EXPECT_EQ(back.seq, h.seq);
  EXPECT_EQ(back.phys, h.phys);
  EXPECT_EQ(back.count, h.count);
  EXPECT_EQ(back.payload_len, h.payload_len);
  EXPECT_EQ(record_crc, Crc32c::Update(StoredHeaderCrc(out), payload));
}

TEST(StreamFormat, EveryFlippedHeaderBitIsCaught) {
  RecordHeader h;
  h.seq = 42;
  h.phys = 0x80000000;
  h.count = 7;
  std::array<uint8_t, kRecordHeaderSize> good{};
  EncodeRecordHeader(h, {}, good);
  for (size_t bit = 0; bit < (rec::kRecordCrc)*8; ++bit) {
    auto bad = good;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    RecordHeader out;
    uint32_t crc = 0;
    EXPECT_FALSE(DecodeRecordHeader(bad, &out, &crc)) << "bit " << bit;
  }
}

TEST(StreamFormat, TrailerPayloadRoundTrip) {
  StreamTotals t{1, 2, 3, 4, 5, 6, 7, 8, 0x123456789ABCDEF0ull};
  std::array<uint8_t, trl::kSize> p{};
  EncodeTrailerPayload(t, kTrailerStoppedEarly, p);
  EXPECT_EQ(LoadLe16(&p[0]), trl::kSize);
  EXPECT_EQ(LoadLe64(&p[trl::kDigest]), 0x123456789ABCDEF0ull);
  StreamTotals back;
  uint32_t flags = 0;
  ASSERT_TRUE(DecodeTrailerPayload(p, &back, &flags));
  EXPECT_EQ(back, t);
  EXPECT_EQ(flags, kTrailerStoppedEarly);
  EXPECT_FALSE(DecodeTrailerPayload(std::span<const uint8_t>(p).first(trl::kSize - 1), &back, &flags));
}

TEST(StreamFormat, PageShift) {
  EXPECT_EQ(PageShiftOf(4096), 12u);
  EXPECT_EQ(PageShiftOf(16384), 14u);
  EXPECT_EQ(PageShiftOf(65536), 16u);
  EXPECT_EQ(PageShiftOf(2048), 0u);
  EXPECT_EQ(PageShiftOf(131072), 0u);
  EXPECT_EQ(PageShiftOf(5000), 0u);
}

}  // namespace
}  // namespace salvage::stream
