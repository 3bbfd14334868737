// salvage::stream — the LZ4 PageCompressor, over liblz4 (lz4.h, 1.9.x block API).
//
// Only LZ4_compress_fast_extState is called, with a state the caller provides: it never
// allocates, so the image can link Debian's liblz4.a although that archive also holds
// functions that call malloc/free (they are never pulled in). Include this header only
// where liblz4 is linked (the image's main, the host tests, the loader).
#pragma once

#include <lz4.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace salvage::stream {

/// Bytes of LZ4 compression state (LZ4_sizeofState() of this liblz4 is not larger).
#ifdef LZ4_STREAM_MINSIZE
inline constexpr size_t kLz4StateSize = LZ4_STREAM_MINSIZE;
#else
inline constexpr size_t kLz4StateSize = LZ4_STREAMSIZE;
#endif

class Lz4Compressor {
 public:
  /// `state`: at least LZ4_sizeofState() bytes, 8-byte aligned (e.g. a static
  /// `alignas(8) uint8_t[kLz4StateSize]`), owned by the caller. `acceleration` 1 is
  /// LZ4's default; larger trades ratio for speed. An unusable state makes every
  /// Compress() return 0 (pages go out raw) and ok() false.
  explicit Lz4Compressor(std::span<uint8_t> state, int acceleration = 1)
      : state_(state), acceleration_(acceleration) {
    ok_ = state.size() >= static_cast<size_t>(LZ4_sizeofState()) &&
          reinterpret_cast<uintptr_t>(state.data()) % 8 == 0;
  }

  bool ok() const { return ok_; }

  /// PageCompressor: one LZ4 block of `in` in `out`, or 0 when it does not fit.
  size_t Compress(std::span<const uint8_t> in, std::span<uint8_t> out) {
    if (!ok_ || in.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE) || out.empty()) return 0;
    const int n = LZ4_compress_fast_extState(state_.data(), reinterpret_cast<const char*>(in.data()),
                                             reinterpret_cast<char*>(out.data()), static_cast<int>(in.size()),
                                             static_cast<int>(out.size()), acceleration_);
    return n > 0 ? static_cast<size_t>(n) : 0;
  }

 private:
  std::span<uint8_t> state_;
  int acceleration_;
  bool ok_ = false;
};

}  // namespace salvage::stream
