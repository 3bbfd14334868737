// Tests for runtime/base/include/salvage/base/sha256.h against the FIPS 180-4 example
// vectors (NIST CSRC "Cryptographic Standards and Guidelines: Examples with
// Intermediate Values", SHA256.pdf and SHA2_Additional.pdf), plus padding-boundary
// lengths of one fixed message whose digests were computed once with Python's hashlib
// and written down here (nothing is computed by another tool at test time).
#include <salvage/base/sha256.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace salvage {
namespace {

// A digest from its 64 hex digits.
constexpr Sha256::Digest FromHex(const char* hex) {
  Sha256::Digest d{};
  auto nibble = [](char c) -> uint8_t {
    return static_cast<uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  };
  for (size_t i = 0; i < d.size(); ++i) {
    d[i] = static_cast<uint8_t>((nibble(hex[2 * i]) << 4) | nibble(hex[2 * i + 1]));
  }
  return d;
}

std::string ToHex(const Sha256::Digest& d) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

constexpr const char kEmpty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char kAbc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char k448Bit[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
constexpr const char kMillionA[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
constexpr const char k448BitMessage[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

// The digest is usable at compile time (the purgatory's expected digests are data).
static_assert(Sha256::Hash("abc", 3) == FromHex(kAbc));
static_assert(Sha256::Hash("", 0) == FromHex(kEmpty));
static_assert(Sha256::Hash(k448BitMessage, sizeof(k448BitMessage) - 1) == FromHex(k448Bit));

TEST(Sha256Test, EmptyMessage) {
  EXPECT_EQ(ToHex(Sha256::Hash(std::span<const uint8_t>())), kEmpty);
  Sha256 h;
  EXPECT_EQ(ToHex(h.Final()), kEmpty);
}

TEST(Sha256Test, Abc) {
  EXPECT_EQ(ToHex(Sha256::Hash(Bytes("abc"))), kAbc);
}

TEST(Sha256Test, TwoBlockMessage448Bits) {
  // 56 bytes: the length no longer fits after the 0x80, so padding takes a second block.
  EXPECT_EQ(ToHex(Sha256::Hash(Bytes(k448BitMessage))), k448Bit);
}

TEST(Sha256Test, MillionA) {
  const std::vector<uint8_t> a(1000000, 'a');
  EXPECT_EQ(ToHex(Sha256::Hash(a)), kMillionA);
  // The same in uneven pieces, each crossing block boundaries differently.
  Sha256 h;
  size_t done = 0;
  for (size_t piece = 1; done < a.size(); piece = piece * 3 % 1000 + 1) {
    const size_t n = std::min(piece, a.size() - done);
    h.Update(a.data() + done, n);
    done += n;
  }
  EXPECT_EQ(ToHex(h.Final()), kMillionA);
}

// The fixed 200-byte message of the tests below: byte i is (7 i + 3) mod 256.
std::vector<uint8_t> Message200() {
  std::vector<uint8_t> m(200);
  for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<uint8_t>(i * 7 + 3);
  return m;
}

TEST(Sha256Test, PaddingBoundaries) {
  // Lengths around 55/56 (the length field fits or not) and 64 (a whole block).
  struct Case {
    size_t length;
    const char* digest;
  };
  static constexpr Case kCases[] = {
      {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
      {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
      {57, "35df609437dcfea3279283ab79fd554e2bf78f8f7ae2de532d8ee300b09e8f73"},
      {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
      {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
      {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
      {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
      {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
      {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
      {200, "2c7e18c942ef065b526a2d4e5546283749cd3ddfb51d8fc71f42717363685f46"},
  };
  const std::vector<uint8_t> m = Message200();
  for (const Case& c : kCases) {
    EXPECT_EQ(ToHex(Sha256::Hash(m.data(), c.length)), c.digest) << "length " << c.length;
  }
}

TEST(Sha256Test, SplitAtEveryOffsetEqualsOneShot) {
  const std::vector<uint8_t> m = Message200();
  const Sha256::Digest whole = Sha256::Hash(m);
  for (size_t split = 0; split <= m.size(); ++split) {
    Sha256 h;
    h.Update(std::span<const uint8_t>(m).first(split));
    h.Update(std::span<const uint8_t>(m).subspan(split));
    EXPECT_EQ(h.Final(), whole) << "split at " << split;
  }
}

TEST(Sha256Test, SplitInThreeAtEveryPairOfOffsets) {
  const std::vector<uint8_t> m = Message200();
  const Sha256::Digest whole = Sha256::Hash(m);
  for (size_t i = 0; i <= m.size(); ++i) {
    for (size_t j = i; j <= m.size(); ++j) {
      Sha256 h;
      h.Update(m.data(), i);
      h.Update(m.data() + i, j - i);
      h.Update(m.data() + j, m.size() - j);
      ASSERT_EQ(h.Final(), whole) << "split at " << i << " and " << j;
    }
  }
}

TEST(Sha256Test, ByteAtATime) {
  const std::vector<uint8_t> m = Message200();
  Sha256 h;
  for (uint8_t b : m) h.Update(&b, 1);
  EXPECT_EQ(h.Final(), Sha256::Hash(m));
}

TEST(Sha256Test, FinalStartsANewMessage) {
  Sha256 h;
  h.Update(Bytes("abc"));
  EXPECT_EQ(ToHex(h.Final()), kAbc);
  // Final() reset the state: the next message does not continue the last.
  h.Update(Bytes("abc"));
  EXPECT_EQ(ToHex(h.Final()), kAbc);
  h.Update(Bytes("xyz"));
  h.Init();
  EXPECT_EQ(ToHex(h.Final()), kEmpty);
}

TEST(Sha256Test, TextAndByteFormsAgree) {
  const std::string text(300, 'q');
  EXPECT_EQ(Sha256::Hash(text.data(), text.size()), Sha256::Hash(Bytes(text)));
  EXPECT_EQ(Sha256::Hash(k448BitMessage, std::strlen(k448BitMessage)), FromHex(k448Bit));
}

TEST(Sha256Test, DifferentMessagesDiffer) {
  std::vector<uint8_t> m = Message200();
  const Sha256::Digest before = Sha256::Hash(m);
  m[137] ^= 1;  // One flipped bit, as a corrupted segment would have.
  EXPECT_NE(Sha256::Hash(m), before);
}

}  // namespace
}  // namespace salvage
