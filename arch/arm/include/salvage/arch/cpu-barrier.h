// ARMv7-A I/O barriers: a full data memory barrier on each side.
#pragma once
namespace salvage::arch {
inline void IoReadBarrier() { __asm__ volatile("dmb" ::: "memory"); }
inline void IoWriteBarrier() { __asm__ volatile("dmb" ::: "memory"); }
/// Memory shared with a DMA device (virtqueues): order normal-memory writes before the
/// write that publishes them, and the read of a device's index before reading what it
/// covers.
inline void DmaWriteBarrier() { __asm__ volatile("dmb" ::: "memory"); }
inline void DmaReadBarrier() { __asm__ volatile("dmb" ::: "memory"); }
}  // namespace salvage::arch
