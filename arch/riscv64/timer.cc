// RISC-V `time` CSR (rdtime); its frequency comes from the DTB's
// /cpus/timebase-frequency, recorded with SetTicksPerSecond.
#include <salvage/arch/timer.h>

namespace salvage::arch {
namespace {
constinit uint64_t g_hz = 0;
}
uint64_t Ticks() {
  uint64_t v;
  __asm__ volatile("rdtime %0" : "=r"(v));
  return v;
}
uint64_t TicksPerSecond() { return g_hz; }
void SetTicksPerSecond(uint64_t hz) { g_hz = hz; }
}  // namespace salvage::arch
