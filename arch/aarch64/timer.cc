// aarch64 generic timer: CNTVCT_EL0 at CNTFRQ_EL0 (Arm ARM D11 "The Generic Timer").
#include <salvage/arch/timer.h>

namespace salvage::arch {
namespace {
constinit uint64_t g_hz = 0;
}
uint64_t Ticks() {
  uint64_t v;
  __asm__ volatile("isb\n mrs %0, cntvct_el0" : "=r"(v));
  return v;
}
uint64_t TicksPerSecond() {
  if (g_hz != 0) return g_hz;
  uint64_t f;
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
  return f;
}
void SetTicksPerSecond(uint64_t hz) { g_hz = hz; }
}  // namespace salvage::arch
