// ARMv7 generic timer (Cortex-A7/A15): CNTVCT via MRRC p15, 1, c14 at CNTFRQ (c14, c0, 0).
// (Arm ARM DDI 0406C, B8 "The Generic Timer".) Cores without it (ARM1176) report 0 Hz.
#include <salvage/arch/cpu-barrier.h>
#include <salvage/arch/timer.h>

namespace salvage::arch {
namespace {
constinit uint64_t g_hz = 0;

bool HasGenericTimer() {
  uint32_t pfr1;
  __asm__ volatile("mrc p15, 0, %0, c0, c1, 1" : "=r"(pfr1));  // ID_PFR1
  return ((pfr1 >> 16) & 0xf) != 0;                           // GenTimer, bits 19:16
}
}  // namespace
uint64_t Ticks() {
  if (!HasGenericTimer()) return 0;
  uint32_t lo, hi;
  ArmIsb();
  __asm__ volatile("mrrc p15, 1, %0, %1, c14" : "=r"(lo), "=r"(hi));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}
uint64_t TicksPerSecond() {
  if (g_hz != 0) return g_hz;
  if (!HasGenericTimer()) return 0;
  uint32_t f;
  __asm__ volatile("mrc p15, 0, %0, c14, c0, 0" : "=r"(f));
  return f;
}
void SetTicksPerSecond(uint64_t hz) { g_hz = hz; }
}  // namespace salvage::arch
