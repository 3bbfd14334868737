// salvage::base — SHA-256 as FIPS 180-4 (August 2015) specifies it: §4.1.2 functions,
// §4.2.2 constants, §5.1.1 padding, §5.3.3 initial hash value, §6.2 computation.
//
// The loader digests every kexec segment with it and the purgatory checks them again
// before jumping, so it is freestanding: no heap, no libc beyond <cstdint>/<cstddef>/
// <array>/<span>, no table but the 64 round constants, 112 bytes of state and 64
// bytes of stack for the message schedule (the 16-word window of §6.2.2 step 1,
// rewritten in place, not 64 words). Everything is constexpr, so a digest can be
// checked at compile time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace salvage {

/// Incremental SHA-256: Update() any number of times, then Final(). Any split of a
/// message into Update() calls gives the same digest as one call with all of it.
class Sha256 {
 public:
  static constexpr size_t kDigestSize = 32;  ///< Bytes of a digest (256 bits).
  static constexpr size_t kBlockSize = 64;   ///< Bytes of a message block (512 bits).
  using Digest = std::array<uint8_t, kDigestSize>;

  /// Ready for a message (Init() already done).
  constexpr Sha256() { Init(); }

  /// Starts a new message: H(0) of §5.3.3, nothing buffered, length 0.
  constexpr void Init() {
    // One word at a time: an aggregate assignment becomes a memcpy from .rodata at
    // -mstrict-align, and the purgatory should need no libc.
    state_[0] = 0x6a09e667;
    state_[1] = 0xbb67ae85;
    state_[2] = 0x3c6ef372;
    state_[3] = 0xa54ff53a;
    state_[4] = 0x510e527f;
    state_[5] = 0x9b05688c;
    state_[6] = 0x1f83d9ab;
    state_[7] = 0x5be0cd19;
    buffered_ = 0;
    length_ = 0;
  }

  /// Adds `data` to the message.
  constexpr void Update(std::span<const uint8_t> data) { Update(data.data(), data.size()); }

  /// Adds `len` bytes at `data` (which may be null when len is 0). The purgatory's
  /// form: a segment is a physical address and a size, not a span.
  constexpr void Update(const uint8_t* data, size_t len) {
    length_ += len;
    size_t i = 0;
    // Fill a partly buffered block first.
    if (buffered_ != 0) {
      while (i < len && buffered_ < kBlockSize) buffer_[buffered_++] = data[i++];
      if (buffered_ < kBlockSize) return;
      Compress(buffer_.data());
      buffered_ = 0;
    }
    // Whole blocks straight from the input.
    for (; len - i >= kBlockSize; i += kBlockSize) Compress(data + i);
    while (i < len) buffer_[buffered_++] = data[i++];
  }

  /// Adds the `len` chars of `text` as bytes (no terminating NUL); constexpr, so a
  /// string literal's digest can be computed at compile time.
  constexpr void Update(const char* text, size_t len) {
    uint8_t chunk[kBlockSize];
    for (size_t i = 0; i < len;) {
      size_t n = 0;
      for (; n < kBlockSize && i < len; ++n, ++i) chunk[n] = static_cast<uint8_t>(text[i]);
      Update(chunk, n);
    }
  }

  /// Pads the message (§5.1.1), returns its digest (§6.2.2 step 4: H(N) big-endian)
  /// and starts a new message, as Init() does.
  constexpr Digest Final() {
    const uint64_t bit_length = length_ * 8;  // Messages are below 2^61 bytes.
    // A 1 bit, then zeros up to 56 mod 64 bytes, then the 64-bit length.
    buffer_[buffered_++] = 0x80;
    if (buffered_ > kBlockSize - 8) {
      while (buffered_ < kBlockSize) buffer_[buffered_++] = 0;
      Compress(buffer_.data());
      buffered_ = 0;
    }
    while (buffered_ < kBlockSize - 8) buffer_[buffered_++] = 0;
    for (int i = 7; i >= 0; --i) buffer_[buffered_++] = static_cast<uint8_t>(bit_length >> (8 * i));
    Compress(buffer_.data());

    Digest digest;  // Every byte is written below.
    for (size_t i = 0; i < 8; ++i) {
      digest[4 * i + 0] = static_cast<uint8_t>(state_[i] >> 24);
      digest[4 * i + 1] = static_cast<uint8_t>(state_[i] >> 16);
      digest[4 * i + 2] = static_cast<uint8_t>(state_[i] >> 8);
      digest[4 * i + 3] = static_cast<uint8_t>(state_[i]);
    }
    Init();
    return digest;
  }

  /// The digest of one whole message.
  static constexpr Digest Hash(std::span<const uint8_t> data) {
    Sha256 h;
    h.Update(data);
    return h.Final();
  }
  static constexpr Digest Hash(const uint8_t* data, size_t len) {
    Sha256 h;
    h.Update(data, len);
    return h.Final();
  }
  static constexpr Digest Hash(const char* text, size_t len) {
    Sha256 h;
    h.Update(text, len);
    return h.Final();
  }

 private:
  // §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first
  // 64 primes.
  static constexpr uint32_t kRound[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
      0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
      0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
      0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  };

  // §3.2 ROTR^n and the §4.1.2 functions (4.2)-(4.7).
  static constexpr uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  static constexpr uint32_t Ch(uint32_t x, uint32_t y, uint32_t z) { return (x & y) ^ (~x & z); }
  static constexpr uint32_t Maj(uint32_t x, uint32_t y, uint32_t z) { return (x & y) ^ (x & z) ^ (y & z); }
  static constexpr uint32_t BigSigma0(uint32_t x) { return Rotr(x, 2) ^ Rotr(x, 13) ^ Rotr(x, 22); }
  static constexpr uint32_t BigSigma1(uint32_t x) { return Rotr(x, 6) ^ Rotr(x, 11) ^ Rotr(x, 25); }
  static constexpr uint32_t SmallSigma0(uint32_t x) { return Rotr(x, 7) ^ Rotr(x, 18) ^ (x >> 3); }
  static constexpr uint32_t SmallSigma1(uint32_t x) { return Rotr(x, 17) ^ Rotr(x, 19) ^ (x >> 10); }

  // §6.2.2 steps 1-4 for one 64-byte block. Bytes are loaded one at a time: the
  // purgatory's segments need not be aligned, and aarch64 may run it with the MMU
  // (hence unaligned access) off. Out of line: one copy in the purgatory, and GCC's
  // -Warray-bounds stops tracing short inputs into the whole-block path it cannot reach.
  [[gnu::noinline]] constexpr void Compress(const uint8_t* block) {
    uint32_t w[16];  // Every word is written before it is read.
    for (size_t t = 0; t < 16; ++t) {
      w[t] = (uint32_t{block[4 * t]} << 24) | (uint32_t{block[4 * t + 1]} << 16) |
             (uint32_t{block[4 * t + 2]} << 8) | uint32_t{block[4 * t + 3]};
    }
    uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
    uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
    for (size_t t = 0; t < 64; ++t) {
      // W_t for t >= 16 replaces W_{t-16} in the 16-word window.
      if (t >= 16) {
        w[t % 16] = SmallSigma1(w[(t - 2) % 16]) + w[(t - 7) % 16] + SmallSigma0(w[(t - 15) % 16]) + w[t % 16];
      }
      const uint32_t t1 = h + BigSigma1(e) + Ch(e, f, g) + kRound[t] + w[t % 16];
      const uint32_t t2 = BigSigma0(a) + Maj(a, b, c);
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    state_[0] += a;
    state_[1] += b;
    state_[2] += c;
    state_[3] += d;
    state_[4] += e;
    state_[5] += f;
    state_[6] += g;
    state_[7] += h;
  }

  std::array<uint32_t, 8> state_{};        // H(i), §6.2.2 step 4.
  std::array<uint8_t, kBlockSize> buffer_;  // The partial block not yet compressed; only
                                           // its first buffered_ bytes are ever read.
  size_t buffered_ = 0;                     // Bytes in buffer_.
  uint64_t length_ = 0;                     // Message bytes so far (the padding's l / 8).
};

}  // namespace salvage
