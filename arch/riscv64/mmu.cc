// RISC-V 64: no page tables are needed for a fast copy. With satp = 0 (bare mode)
// every access is physical, and cacheability comes from the platform's physical memory
// attributes (PMAs): RAM is cacheable, devices are not. So "caches on for RAM, device
// memory for MMIO" already holds at entry. An Sv39 identity map would only add
// protection (a guard around salvage itself); that is the next step, not a speed need.
#include <salvage/arch/mmu.h>

namespace salvage::arch {

Status MmuBootstrap(PhysRange, PhysRange) { return Status::Ok(); }
Status MmuMapRam(std::span<const PhysRange>, PhysRange, PhysRange) { return Status::Ok(); }
uint64_t IdentityMapLimit() { return uint64_t{1} << 56; }

const char* MmuDescribe() { return "bare (satp=0): RAM cacheable by its PMA, no page tables"; }

}  // namespace salvage::arch
