// RISC-V I/O barriers (as OpenSBI's riscv_io.h): device reads before later memory
// reads; memory writes before a device write.
#pragma once
namespace salvage::arch {
inline void IoReadBarrier() { __asm__ volatile("fence i,r" ::: "memory"); }
inline void IoWriteBarrier() { __asm__ volatile("fence w,o" ::: "memory"); }
/// Memory shared with a DMA device (virtqueues): order normal-memory writes before the
/// write that publishes them, and the read of a device's index before reading what it
/// covers.
inline void DmaWriteBarrier() { __asm__ volatile("fence w,w" ::: "memory"); }
inline void DmaReadBarrier() { __asm__ volatile("fence r,r" ::: "memory"); }
}  // namespace salvage::arch
