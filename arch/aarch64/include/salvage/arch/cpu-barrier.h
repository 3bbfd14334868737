// aarch64 I/O barriers (as Linux's __iormb/__iowmb): outer-shareable loads/stores.
#pragma once
namespace salvage::arch {
inline void IoReadBarrier() { __asm__ volatile("dmb oshld" ::: "memory"); }
inline void IoWriteBarrier() { __asm__ volatile("dmb oshst" ::: "memory"); }
}  // namespace salvage::arch
