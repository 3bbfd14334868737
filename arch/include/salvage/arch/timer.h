// salvage::arch — a free-running counter for elapsed time (progress, benchmarks).
// aarch64 and arm: the generic timer's virtual counter (CNTVCT) at CNTFRQ;
// riscv64: the `time` CSR at the DTB's /cpus timebase-frequency.
#pragma once

#include <cstdint>

namespace salvage::arch {

/// The counter's current value.
uint64_t Ticks();

/// Counter frequency in Hz; 0 when unknown (then elapsed times are not reported).
uint64_t TicksPerSecond();

/// Records the frequency where the CPU cannot tell it (riscv64: from the DTB).
void SetTicksPerSecond(uint64_t hz);

/// Microseconds between two counter values, 0 when the frequency is unknown.
inline uint64_t MicrosBetween(uint64_t from, uint64_t to) {
  const uint64_t hz = TicksPerSecond();
  if (hz == 0) return 0;
  const uint64_t d = to - from;
  return d / hz * 1000000 + (d % hz) * 1000000 / hz;
}

}  // namespace salvage::arch
