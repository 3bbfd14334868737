// Encode and emit: what every sink shares. The static buffers (sized at link time),
// the page loop that feeds the Encoder, and the closing report.
#pragma once

#include <cstdint>
#include <span>

#include <salvage/base/status.h>
#include <salvage/stream/encoder.h>

#include "capture.h"
#include "old-memory.h"

namespace salvage::capture {

/// The LZ4 compressor's state, one page of scratch for the Encoder (and the block
/// target's partition-table reads), and the block sink's memory: its header block plus
/// kSinkBuffers staging buffers of kSinkBufferSize (several requests in flight without
/// a large reservation).
inline constexpr uint32_t kSinkBufferSize = 64 * 1024;
inline constexpr size_t kSinkBuffers = 4;
std::span<uint8_t> Lz4State();
std::span<uint8_t> ScratchPage();
std::span<uint8_t> SinkMemory();

/// Sends every page of the plan through `encoder`, after the header. `room()` says
/// whether one more page still fits the sink; when it says no, the stream ends early
/// (its trailer says so). Returns whether every page was sent. Ranges beyond what the
/// identity map reaches are sent as skipped (the receiver reports them).
template <class Room>
Result<bool> SendPages(stream::Encoder& encoder, const CaptureInput& in, const CapturePlan& plan, Room room) {
  SALVAGE_TRY(encoder.WriteHeader(plan.info));
  for (const PhysRange& r : plan.ranges) {
    std::span<const uint8_t> bytes;
    if (!MapOld(in.memory, r, &bytes)) {
      if (!room()) return false;
      SALVAGE_TRY(encoder.SkipPages(PhysAddr{r.base}, r.size / kPageSize));
      continue;
    }
    for (uint64_t off = 0; off < r.size; off += kPageSize) {
      if (!room()) return false;
      SALVAGE_TRY(encoder.WritePage(PhysAddr{r.base + off}, bytes.subspan(off, kPageSize)));
    }
  }
  return true;
}

/// "salvage: dump complete: N pages (...), B stream bytes for M MiB" and the timing.
void ReportTotals(const stream::Encoder& encoder, uint64_t stream_bytes, const CapturePlan& plan, uint64_t start,
                  uint64_t end);

}  // namespace salvage::capture
