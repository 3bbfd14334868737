// aarch64 I/O barriers (as Linux's __iormb/__iowmb): outer-shareable loads/stores.
#pragma once
namespace salvage::arch {
inline void IoReadBarrier() { __asm__ volatile("dmb oshld" ::: "memory"); }
inline void IoWriteBarrier() { __asm__ volatile("dmb oshst" ::: "memory"); }
/// Memory shared with a DMA device (virtqueues): order normal-memory writes before the
/// write that publishes them, and the read of a device's index before reading what it
/// covers.
inline void DmaWriteBarrier() { __asm__ volatile("dmb oshst" ::: "memory"); }
inline void DmaReadBarrier() { __asm__ volatile("dmb oshld" ::: "memory"); }
}  // namespace salvage::arch
