// ARMv7-A I/O barriers: a full data memory barrier on each side.
#pragma once
namespace salvage::arch {
inline void IoReadBarrier() { __asm__ volatile("dmb" ::: "memory"); }
inline void IoWriteBarrier() { __asm__ volatile("dmb" ::: "memory"); }
}  // namespace salvage::arch
