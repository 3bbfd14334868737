// 32-bit Arm barriers. ARMv7-A has DMB/DSB/ISB instructions; ARMv6 (ARM1176, the
// toolchains/armv6.cmake image) has the same operations as CP15 c7 writes (ARM1176JZF-S
// TRM 3.2.22: Data Memory Barrier c7 c10 5, Data Synchronization Barrier c7 c10 4,
// Flush Prefetch Buffer c7 c5 4; Arm ARM DDI 0406C D12.7.10). The I/O barriers are a full
// data memory barrier on each side.
#pragma once
namespace salvage::arch {
#if __ARM_ARCH >= 7
inline void ArmDmb() { __asm__ volatile("dmb" ::: "memory"); }
inline void ArmDsb() { __asm__ volatile("dsb" ::: "memory"); }
inline void ArmIsb() { __asm__ volatile("isb" ::: "memory"); }
#else
inline void ArmDmb() { __asm__ volatile("mcr p15, 0, %0, c7, c10, 5" ::"r"(0) : "memory"); }
inline void ArmDsb() { __asm__ volatile("mcr p15, 0, %0, c7, c10, 4" ::"r"(0) : "memory"); }
inline void ArmIsb() { __asm__ volatile("mcr p15, 0, %0, c7, c5, 4" ::"r"(0) : "memory"); }
#endif
inline void IoReadBarrier() { ArmDmb(); }
inline void IoWriteBarrier() { ArmDmb(); }
/// Memory shared with a DMA device (virtqueues): order normal-memory writes before the
/// write that publishes them, and the read of a device's index before reading what it
/// covers.
inline void DmaWriteBarrier() { ArmDmb(); }
inline void DmaReadBarrier() { ArmDmb(); }
}  // namespace salvage::arch
