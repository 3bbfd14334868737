#include "emit.h"

#include <salvage/arch/timer.h>
#include <salvage/blockdump/sink.h>
#include <salvage/console/console.h>
#include <salvage/stream/lz4-compressor.h>

namespace salvage::capture {
namespace {

alignas(8) constinit uint8_t g_lz4_state[stream::kLz4StateSize];
alignas(8) constinit uint8_t g_scratch[kPageSize];
alignas(4096) constinit uint8_t g_sink_memory[blockdump::BlockSinkMemoryBytes(kSinkBuffers, kSinkBufferSize)];

}  // namespace

std::span<uint8_t> Lz4State() { return g_lz4_state; }
std::span<uint8_t> ScratchPage() { return g_scratch; }
std::span<uint8_t> SinkMemory() { return g_sink_memory; }

void ReportTotals(const stream::Encoder& encoder, uint64_t stream_bytes, const CapturePlan& plan, uint64_t start,
                  uint64_t end) {
  const stream::StreamTotals t = encoder.totals();
  const uint64_t us = arch::MicrosBetween(start, end);
  const uint64_t us_entry = arch::MicrosBetween(plan.entry_ticks, end);
  console::Printf("\nsalvage: dump complete: %llu pages (%llu zero, %llu lz4, %llu raw), %llu stream bytes for %llu MiB\n",
                  static_cast<unsigned long long>(t.pages), static_cast<unsigned long long>(t.zero_pages),
                  static_cast<unsigned long long>(t.lz4_pages), static_cast<unsigned long long>(t.raw_pages),
                  static_cast<unsigned long long>(stream_bytes), static_cast<unsigned long long>(plan.total >> 20));
  if (us != 0) {
    console::Printf("salvage: stream took %llu.%03llu s; entry to trailer %llu.%03llu s\n",
                    static_cast<unsigned long long>(us / 1000000), static_cast<unsigned long long>(us / 1000 % 1000),
                    static_cast<unsigned long long>(us_entry / 1000000),
                    static_cast<unsigned long long>(us_entry / 1000 % 1000));
  }
}

}  // namespace salvage::capture
