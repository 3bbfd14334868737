// Test helpers for runtime/stream: a fake crashed memory, a byte-vector sink, an event
// collector for the decoder, and a record splitter for corrupting streams precisely.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "salvage/stream/decoder.h"
#include "salvage/stream/encoder.h"
#include "salvage/stream/format.h"
#include "salvage/stream/lz4-compressor.h"

namespace salvage::stream::test {

/// Appends everything to a vector; can be told to fail from the n-th Write on.
struct VectorSink {
  std::vector<uint8_t> bytes;
  size_t writes = 0;
  size_t fail_at_write = SIZE_MAX;
  Status Write(std::span<const uint8_t> b) {
    if (writes++ >= fail_at_write) return {Error::kIo, "test sink: write failed"};
    bytes.insert(bytes.end(), b.begin(), b.end());
    return Status::Ok();
  }
};
static_assert(ByteSink<VectorSink>);
static_assert(PageCompressor<NoCompression>);
static_assert(PageCompressor<Lz4Compressor>);

/// The real liblz4, with a state of its own.
class TestLz4 {
 public:
  TestLz4() : lz4_(state_) {}
  size_t Compress(std::span<const uint8_t> in, std::span<uint8_t> out) { return lz4_.Compress(in, out); }
  bool ok() const { return lz4_.ok(); }

 private:
  alignas(8) uint8_t state_[kLz4StateSize] = {};
  Lz4Compressor lz4_;
};

/// A "compressor" whose output is never smaller than the page: compression does not pay.
struct NeverPays {
  size_t calls = 0;
  size_t Compress(std::span<const uint8_t> in, std::span<uint8_t> out) {
    ++calls;
    // Claims the whole output buffer (page_size - 1) is not enough: returns 0.
    (void)in;
    (void)out;
    return 0;
  }
};

/// The crashed machine's memory: ranges, and the contents of every page in them.
struct FakeMemory {
  uint32_t page_size = 4096;
  std::vector<PhysRange> ranges;
  std::map<uint64_t, std::vector<uint8_t>> pages;
  std::set<uint64_t> unreadable;  // pages the "runtime" skips

  uint64_t TotalPages() const {
    uint64_t n = 0;
    for (const auto& r : ranges) n += r.size / page_size;
    return n;
  }
};

enum class PageKind { kZero, kRandom, kText, kPattern };

inline std::vector<uint8_t> MakePage(PageKind kind, uint32_t page_size, std::mt19937_64& rng) {
  std::vector<uint8_t> p(page_size, 0);
  switch (kind) {
    case PageKind::kZero: break;
    case PageKind::kRandom:
      for (auto& b : p) b = static_cast<uint8_t>(rng());
      break;
    case PageKind::kText: {
      static const char kWords[] = "the quick brown fox jumps over the lazy dog; kernel panic - not syncing\n";
      size_t off = rng() % (sizeof(kWords) - 1);
      for (auto& b : p) b = static_cast<uint8_t>(kWords[off++ % (sizeof(kWords) - 1)]);
      break;
    }
    case PageKind::kPattern:
      for (size_t i = 0; i < p.size(); i += 8) {
        uint64_t v = 0xffff000000000000ull | (i * 0x40);
        std::memcpy(&p[i], &v, 8);
      }
      p[rng() % p.size()] ^= 0x5a;
      break;
  }
  return p;
}

/// A memory with a mix of zero runs, random, text and pattern pages over `ranges`.
inline FakeMemory MakeMemory(std::vector<PhysRange> ranges, uint32_t page_size = 4096, uint64_t seed = 1) {
  FakeMemory m;
  m.page_size = page_size;
  m.ranges = std::move(ranges);
  std::mt19937_64 rng(seed);
  uint64_t i = 0;
  for (const auto& r : m.ranges) {
    for (uint64_t a = r.base; a < r.base + r.size; a += page_size, ++i) {
      static constexpr PageKind kCycle[] = {PageKind::kZero,   PageKind::kRandom, PageKind::kText,
                                            PageKind::kZero,   PageKind::kZero,   PageKind::kPattern,
                                            PageKind::kRandom, PageKind::kText};
      m.pages[a] = MakePage(kCycle[i % 8], page_size, rng);
    }
  }
  return m;
}

inline const std::vector<uint8_t>& SampleNote() {
  // An ELF note "CORE"/NT_PRSTATUS-shaped blob and a VMCOREINFO-shaped one.
  static const std::vector<uint8_t> note = [] {
    std::vector<uint8_t> n = {5, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 'C', 'O', 'R', 'E', 0, 0, 0, 0};
    for (int i = 0; i < 16; ++i) n.push_back(static_cast<uint8_t>(0xA0 + i));
    return n;
  }();
  return note;
}

inline const std::string& SampleVmcoreinfo() {
  static const std::string s = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nCRASHTIME=1700000000\n";
  return s;
}

struct EncodeOptions {
  uint64_t stream_id = 0;
  uint32_t flags = kHeaderFromElfCoreHdr | kHeaderLz4;
  bool write_trailer = true;
  uint64_t stop_after_pages = UINT64_MAX;  // stop early (no more pages) after this many
};

/// Encodes all of `m` (skipping m.unreadable) with compressor `c`.
template <class Compressor>
std::vector<uint8_t> EncodeMemory(const FakeMemory& m, Compressor& c, const EncodeOptions& o = {}) {
  VectorSink sink;
  std::vector<uint8_t> scratch(m.page_size);
  Encoder enc(sink, c, scratch);
  static const std::vector<LoadSegment> segments = {{PhysAddr{0x40200000}, 0xffff800008000000ull, 0x1000000}};
  const std::span<const uint8_t> notes[] = {
      SampleNote(),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(SampleVmcoreinfo().data()),
                               SampleVmcoreinfo().size())};
  HeaderInfo info;
  info.e_machine = kEmAarch64;
  info.elf_class = kElfClass64;
  info.page_size = m.page_size;
  info.flags = o.flags;
  info.stream_id = o.stream_id;
  info.ranges = m.ranges;
  info.segments = segments;
  info.notes = notes;
  info.options = "salvage.sink=uart";
  EXPECT_TRUE(enc.WriteHeader(info).ok());
  uint64_t n = 0;
  for (const auto& r : m.ranges) {
    for (uint64_t a = r.base; a < r.base + r.size; a += m.page_size) {
      if (n++ >= o.stop_after_pages) break;
      if (m.unreadable.count(a)) {
        EXPECT_TRUE(enc.SkipPages(PhysAddr{a}, 1).ok());
      } else {
        EXPECT_TRUE(enc.WritePage(PhysAddr{a}, m.pages.at(a)).ok());
      }
    }
  }
  if (o.write_trailer) {
    EXPECT_TRUE(enc.WriteTrailer().ok());
  }
  return sink.bytes;
}

/// Records everything the decoder reports.
struct Collector : DecoderEvents {
  std::string text;
  std::vector<DecodedHeader> headers;
  std::map<uint64_t, std::vector<uint8_t>> pages;
  std::vector<uint64_t> order;
  size_t emitted_twice = 0;
  std::vector<LostPages> lost;
  std::vector<Verdict> ends;
  std::vector<std::string> diagnostics;

  void OnText(std::span<const uint8_t> t) override { text.append(t.begin(), t.end()); }
  void OnHeader(const DecodedHeader& h) override { headers.push_back(h); }
  void OnPage(uint64_t phys, std::span<const uint8_t> data) override {
    if (pages.count(phys)) ++emitted_twice;
    pages[phys].assign(data.begin(), data.end());
    order.push_back(phys);
  }
  void OnLost(const LostPages& l) override { lost.push_back(l); }
  void OnStreamEnd(const Verdict& v) override { ends.push_back(v); }
  void OnDiagnostic(std::string_view what, uint64_t) override { diagnostics.emplace_back(what); }

  /// Pages reported lost (any reason), as a set of addresses.
  std::set<uint64_t> LostSet(uint32_t page_size) const {
    std::set<uint64_t> s;
    for (const auto& l : lost) {
      for (uint64_t i = 0; i < l.pages; ++i) s.insert(l.phys + i * page_size);
    }
    return s;
  }
};

/// Feeds `bytes` in chunks of `chunk` bytes (0: all at once) and finishes.
inline Verdict Decode(std::span<const uint8_t> bytes, Collector& c, size_t chunk = 0) {
  Decoder d(c);
  if (chunk == 0) {
    d.Feed(bytes);
  } else {
    for (size_t i = 0; i < bytes.size(); i += chunk) d.Feed(bytes.subspan(i, std::min(chunk, bytes.size() - i)));
  }
  return d.Finish();
}

/// One record of a clean stream.
struct RecordAt {
  size_t offset = 0;
  size_t size = 0;  // header + payload
  RecordHeader h;
};

/// Splits a stream that holds only records, back to back.
inline std::vector<RecordAt> SplitRecords(std::span<const uint8_t> bytes) {
  std::vector<RecordAt> out;
  size_t off = 0;
  while (off + kRecordHeaderSize <= bytes.size()) {
    RecordAt r;
    r.offset = off;
    uint32_t crc = 0;
    if (!DecodeRecordHeader(bytes.subspan(off).first<kRecordHeaderSize>(), &r.h, &crc)) break;
    r.size = kRecordHeaderSize + r.h.payload_len;
    out.push_back(r);
    off += r.size;
  }
  EXPECT_EQ(off, bytes.size()) << "stream is not records back to back";
  return out;
}

/// Frames of `records` with their index in `records`.
inline std::vector<size_t> FrameIndices(const std::vector<RecordAt>& records) {
  std::vector<size_t> f;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].h.type == RecordType::kFrame) f.push_back(i);
  }
  return f;
}

/// Every page the decoder emitted equals the memory's page at that address.
inline void ExpectPagesMatch(const FakeMemory& m, const Collector& c) {
  for (const auto& [phys, data] : c.pages) {
    auto it = m.pages.find(phys);
    ASSERT_NE(it, m.pages.end()) << "emitted a page outside memory: 0x" << std::hex << phys;
    EXPECT_TRUE(it->second == data) << "wrong contents at 0x" << std::hex << phys;
  }
  EXPECT_EQ(c.emitted_twice, 0u);
}

}  // namespace salvage::stream::test
