// The console sink: the stream on the console UART, after one line that says what
// follows. Nothing else is printed while it runs.
#include <salvage/arch/timer.h>
#include <salvage/console/console.h>
#include <salvage/stream/encoder.h>
#include <salvage/stream/lz4-compressor.h>

#include "emit.h"
#include "sinks.h"

namespace salvage::capture {
namespace {

struct ConsoleBytes {
  uint64_t bytes = 0;
  Status Write(std::span<const uint8_t> b) {
    console::WriteRaw(b);
    bytes += b.size();
    return Status::Ok();
  }
};

}  // namespace

Status EmitToConsole(const CaptureInput& in, const CapturePlan& plan) {
  console::Printf("salvage: sending %llu MiB in %u ranges with %u notes over the console; stream follows\n",
                  static_cast<unsigned long long>(plan.total >> 20), static_cast<unsigned>(plan.ranges.size()),
                  static_cast<unsigned>(plan.info.notes.size()));
  console::Flush();
  ConsoleBytes sink;
  stream::Lz4Compressor lz4(Lz4State());
  stream::Encoder encoder(sink, lz4, ScratchPage());
  const uint64_t start = arch::Ticks();
  SALVAGE_ASSIGN_OR_RETURN(bool all, SendPages(encoder, in, plan, [] { return true; }));
  (void)all;  // the console never runs out of room
  SALVAGE_TRY(encoder.WriteTrailer());
  const uint64_t end = arch::Ticks();
  console::Flush();
  ReportTotals(encoder, sink.bytes, plan, start, end);
  return Status::Ok();
}

}  // namespace salvage::capture
