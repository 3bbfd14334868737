// RISC-V I/O barriers (as OpenSBI's riscv_io.h): device reads before later memory
// reads; memory writes before a device write.
#pragma once
namespace salvage::arch {
inline void IoReadBarrier() { __asm__ volatile("fence i,r" ::: "memory"); }
inline void IoWriteBarrier() { __asm__ volatile("fence w,o" ::: "memory"); }
}  // namespace salvage::arch
