// Test helpers for runtime/blockdump and loader/workstation/extract: 4096-aligned staging memory,
// the capture loop the runtime runs over a BlockSink, and the dump area read back from
// a RAM disk. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "runtime/blockdump/ram-disk.h"
#include "runtime/stream/stream-test-util.h"
#include "salvage/blockdump/disk-format.h"
#include "salvage/blockdump/extents.h"
#include "salvage/blockdump/sink.h"
#include "salvage/stream/encoder.h"

namespace salvage::blockdump::test {

/// Heap memory aligned to 4096, as the image's static staging buffers are.
class AlignedMemory {
 public:
  explicit AlignedMemory(size_t bytes, size_t offset = 0)
      : base_(static_cast<uint8_t*>(std::aligned_alloc(4096, (bytes + offset + 4095) / 4096 * 4096))),
        size_(bytes), offset_(offset) {}
  ~AlignedMemory() { std::free(base_); }
  AlignedMemory(const AlignedMemory&) = delete;
  AlignedMemory& operator=(const AlignedMemory&) = delete;
  std::span<uint8_t> span() { return {base_ + offset_, size_}; }

 private:
  uint8_t* base_;
  size_t size_;
  size_t offset_;
};

/// Passes every Write to the block sink and keeps a copy of what it accepted.
struct TeeSink {
  BlockSink& sink;
  std::vector<uint8_t> accepted;
  Status Write(std::span<const uint8_t> b) {
    SALVAGE_TRY(sink.Write(b));
    accepted.insert(accepted.end(), b.begin(), b.end());
    return Status::Ok();
  }
};

struct CaptureOptions {
  uint64_t stream_id = 0;
  /// false: stop after the pages, without the stream trailer and without Finish (as if
  /// the machine lost power); the caller decides what the device completed.
  bool finish = true;
  uint64_t stop_after_pages = UINT64_MAX;
};

struct Capture {
  Status status;               ///< The first error of the capture loop.
  uint64_t pages = 0;          ///< Pages given to the encoder.
  bool stopped_early = false;  ///< RoomForPage said no.
  uint64_t stream_id = 0;
  std::vector<uint8_t> stream; ///< The bytes the sink accepted.
};

/// The capture loop of the runtime, over `sink` (Begin already called): the header, then
/// every page while RoomForPage says it fits, then the stream trailer and Finish.
template <class Compressor>
Capture CaptureTo(BlockSink& sink, const stream::test::FakeMemory& m, Compressor& c, const CaptureOptions& o = {}) {
  Capture out;
  TeeSink tee{sink, {}};
  std::vector<uint8_t> scratch(m.page_size);
  stream::Encoder enc(tee, c, scratch);
  static const std::vector<stream::LoadSegment> segments = {{PhysAddr{0x40000000}, 0xffff800008000000ull, 0x10000}};
  const std::span<const uint8_t> notes[] = {
      stream::test::SampleNote(),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(stream::test::SampleVmcoreinfo().data()),
                               stream::test::SampleVmcoreinfo().size())};
  stream::HeaderInfo info;
  info.e_machine = stream::kEmAarch64;
  info.page_size = m.page_size;
  info.flags = stream::kHeaderFromElfCoreHdr | stream::kHeaderLz4;
  info.stream_id = o.stream_id;
  info.ranges = m.ranges;
  info.segments = segments;
  info.notes = notes;
  info.options = "salvage.sink=virtio-blk salvage.target=disk";
  out.status = enc.WriteHeader(info);
  out.stream_id = enc.stream_id();
  for (const auto& r : m.ranges) {
    for (uint64_t a = r.base; out.status.ok() && a < r.base + r.size; a += m.page_size) {
      if (out.pages >= o.stop_after_pages) break;
      if (!sink.RoomForPage(m.page_size, enc.header_record_bytes())) {
        out.stopped_early = true;
        break;
      }
      out.status = enc.WritePage(PhysAddr{a}, m.pages.at(a));
      ++out.pages;
    }
    if (out.stopped_early || out.pages >= o.stop_after_pages) break;
  }
  if (o.finish) {
    if (out.status.ok()) out.status = enc.WriteTrailer();
    const Status f = sink.Finish(out.stopped_early);
    if (out.status.ok()) out.status = f;
  }
  out.stream = std::move(tee.accepted);
  return out;
}

/// The dump area: the extents' bytes concatenated.
inline std::vector<uint8_t> ReadArea(const RamDisk& disk, const Extents& e) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < e.size; ++i) {
    const auto b = disk.Bytes(e.items[i].first_lba, e.items[i].count * e.sector_size);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

inline std::span<const uint8_t, kBlockSize> BlockAt(const std::vector<uint8_t>& area, uint64_t offset) {
  return std::span<const uint8_t, kBlockSize>(area.data() + offset, kBlockSize);
}

}  // namespace salvage::blockdump::test
