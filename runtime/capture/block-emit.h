// Emit to a block device: resolve salvage.target on it (runtime/blockdump), then write
// the dump through the BlockSink: a header block, the stream with several requests in
// flight, a trailer block last (docs/disk-format.md). Shared by the virtio-blk and SD
// sinks, and driven over a RAM disk by the host test.
#pragma once

#include <salvage/arch/timer.h>
#include <salvage/blockdump/sink.h>
#include <salvage/blockdump/target.h>
#include <salvage/console/console.h>
#include <salvage/drivers/block.h>
#include <salvage/stream/encoder.h>
#include <salvage/stream/lz4-compressor.h>

#include "capture.h"
#include "emit.h"

namespace salvage::capture {

/// Writes the plan's dump to salvage.target on `dev` (initialised). A target too small
/// for the whole stream keeps what fits, in address order, and says TRUNCATED.
template <drivers::BlockDevice Device>
Status EmitToBlockDevice(Device& dev, const CaptureInput& in, const CapturePlan& plan) {
  const std::string_view target = in.options->target;
  Result<blockdump::TargetSpec> spec = blockdump::ParseTarget(target);
  if (!spec.ok()) {
    console::Printf("salvage: salvage.target=%.*s: %s\n", static_cast<int>(target.size()), target.data(),
                    spec.status().what());
    return spec.status();
  }
  Result<blockdump::Extents> extents = blockdump::ResolveTarget(dev, *spec, ScratchPage());
  if (!extents.ok()) {
    char msg[160];
    blockdump::FormatTargetError(extents.status(), *spec, std::span<char>(msg, sizeof(msg)));
    console::Printf("salvage: target %.*s: %s\n", static_cast<int>(target.size()), target.data(), msg);
    return extents.status();
  }
  blockdump::BlockSink sink(dev, *extents, SinkMemory(), kSinkBufferSize);
  SALVAGE_TRY(sink.Begin());
  console::Printf("salvage: writing %llu MiB in %u ranges to %.*s: %u extents, room for %llu MiB of stream\n",
                  static_cast<unsigned long long>(plan.total >> 20), static_cast<unsigned>(plan.ranges.size()),
                  static_cast<int>(target.size()), target.data(), static_cast<unsigned>(extents->size),
                  static_cast<unsigned long long>(sink.capacity() >> 20));

  stream::Lz4Compressor lz4(Lz4State());
  stream::Encoder encoder(sink, lz4, ScratchPage());
  const uint64_t start = arch::Ticks();
  SALVAGE_ASSIGN_OR_RETURN(bool all, SendPages(encoder, in, plan, [&] {
    return sink.RoomForPage(kPageSize, encoder.header_record_bytes());
  }));
  SALVAGE_TRY(encoder.WriteTrailer());
  SALVAGE_TRY(sink.Finish(!all));
  const uint64_t end = arch::Ticks();
  if (!all) {
    console::Printf("salvage: TRUNCATED: the target holds %llu MiB of stream; the dump kept %llu of %llu pages in address order\n",
                    static_cast<unsigned long long>(sink.capacity() >> 20),
                    static_cast<unsigned long long>(encoder.totals().pages + encoder.totals().skipped_pages),
                    static_cast<unsigned long long>(plan.total / kPageSize));
  }
  ReportTotals(encoder, sink.stream_bytes(), plan, start, end);
  console::Printf("salvage: %llu MiB written to %s, up to %u writes in flight\n",
                  static_cast<unsigned long long>(sink.stream_bytes() >> 20), Device::Name(),
                  static_cast<unsigned>(sink.max_in_flight()));
  return Status::Ok();
}

}  // namespace salvage::capture
