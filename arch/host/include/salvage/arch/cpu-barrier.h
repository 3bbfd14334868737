// Host stand-in for the I/O barriers, for host tests: a compiler barrier.
#pragma once
namespace salvage::arch {
inline void IoReadBarrier() { __asm__ volatile("" ::: "memory"); }
inline void IoWriteBarrier() { __asm__ volatile("" ::: "memory"); }
/// Memory shared with a DMA device (virtqueues): order normal-memory writes before the
/// write that publishes them, and the read of a device's index before reading what it
/// covers.
inline void DmaWriteBarrier() { __asm__ volatile("" ::: "memory"); }
inline void DmaReadBarrier() { __asm__ volatile("" ::: "memory"); }
}  // namespace salvage::arch
