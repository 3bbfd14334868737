// salvage::arch — MMIO accessors. Plain single loads and stores (so a hypervisor can
// emulate them), with the barriers that order them against memory inside:
// a read is followed by a read barrier, a write is preceded by a write barrier.
// The barriers themselves are CPU-specific (arch/<cpu>/include/salvage/arch/cpu-barrier.h).
#pragma once

#include <cstdint>

#include <salvage/arch/cpu-barrier.h>

namespace salvage::arch {

inline uint8_t MmioRead8(uintptr_t addr) {
  uint8_t v = *reinterpret_cast<volatile uint8_t*>(addr);
  IoReadBarrier();
  return v;
}
inline uint32_t MmioRead32(uintptr_t addr) {
  uint32_t v = *reinterpret_cast<volatile uint32_t*>(addr);
  IoReadBarrier();
  return v;
}
inline void MmioWrite8(uintptr_t addr, uint8_t v) {
  IoWriteBarrier();
  *reinterpret_cast<volatile uint8_t*>(addr) = v;
}
inline void MmioWrite32(uintptr_t addr, uint32_t v) {
  IoWriteBarrier();
  *reinterpret_cast<volatile uint32_t*>(addr) = v;
}

}  // namespace salvage::arch
