// salvage::devices — the MMIO window that satisfies drivers::Io on the target: a base
// address from the DTB plus the arch accessors (which carry the barriers).
#pragma once

#include <cstdint>

#include <salvage/arch/mmio.h>
#include <salvage/drivers/io.h>

namespace salvage::devices {

class Mmio {
 public:
  constexpr Mmio() = default;
  constexpr explicit Mmio(uint64_t base) : base_(static_cast<uintptr_t>(base)) {}
  uint8_t Read8(uint32_t offset) { return arch::MmioRead8(base_ + offset); }
  uint32_t Read32(uint32_t offset) { return arch::MmioRead32(base_ + offset); }
  void Write8(uint32_t offset, uint8_t v) { arch::MmioWrite8(base_ + offset, v); }
  void Write32(uint32_t offset, uint32_t v) { arch::MmioWrite32(base_ + offset, v); }

 private:
  uintptr_t base_ = 0;
};
static_assert(drivers::Io<Mmio>);

}  // namespace salvage::devices
