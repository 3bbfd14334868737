// libFuzzer target for salvage::stream::Decoder (docs/stream-format.md): arbitrary bytes,
// fed in chunks whose sizes the input itself chooses, so record boundaries fall
// everywhere. Events are ignored (pattern 8: the fuzzing policy ignores diagnostics);
// the sanitizers and a few invariants are the oracle.
//
// Build: cmake -DSALVAGE_FUZZERS=ON (with clang), or by hand:
//   clang++-16 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined \
//     -I runtime/base/include -I runtime/stream/include \
//     runtime/stream/fuzz/decoder-fuzz.cc runtime/stream/decoder.cc -llz4
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "salvage/stream/decoder.h"

namespace {

struct Checker : salvage::stream::DecoderEvents {
  uint32_t page_size = 0;
  void OnHeader(const salvage::stream::DecodedHeader& h) override { page_size = h.page_size; }
  void OnPage(uint64_t, std::span<const uint8_t> data) override {
    // Every emitted page is one page of the stream's size.
    if (data.size() < 4096 || data.size() > 65536 || (data.size() & (data.size() - 1)) != 0) std::abort();
    if (page_size != 0 && data.size() != page_size) std::abort();
  }
  void OnLost(const salvage::stream::LostPages& lost) override {
    if (lost.pages == 0) std::abort();
  }
  // After a stream's end the next one may start without a header (its first frames were
  // lost), with its own page size.
  void OnStreamEnd(const salvage::stream::Verdict&) override { page_size = 0; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Checker events;
  salvage::stream::Decoder decoder(events);
  std::span<const uint8_t> in(data, size);
  // The first byte seeds the chunk sizes.
  uint32_t state = size > 0 ? data[0] * 2654435761u + 1 : 1;
  while (!in.empty()) {
    state = state * 1103515245u + 12345u;
    size_t n = 1 + (state >> 16) % 97;
    if ((state & 0x7) == 0) n = 1 + (state >> 8) % 5000;
    if (n > in.size()) n = in.size();
    decoder.Feed(in.first(n));
    in = in.subspan(n);
  }
  const salvage::stream::Verdict v = decoder.Finish();
  if (v.intact && !v.complete) std::abort();
  return 0;
}
