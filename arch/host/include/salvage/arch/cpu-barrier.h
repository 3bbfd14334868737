// Host stand-in for the I/O barriers, for host tests: a compiler barrier.
#pragma once
namespace salvage::arch {
inline void IoReadBarrier() { __asm__ volatile("" ::: "memory"); }
inline void IoWriteBarrier() { __asm__ volatile("" ::: "memory"); }
}  // namespace salvage::arch
