// Old memory, the crashed kernel's, as bytes. The MMU maps all of /memory 1:1 (arch's
// MmuMapRam), so a physical range is its own address, up to arch::IdentityMapLimit().
// On the host, arch/host's fake arch sets that limit and the tests place their fake old
// memory at the physical addresses they describe.
#pragma once

#include <cstdint>
#include <span>

#include <salvage/arch/mmu.h>
#include <salvage/base/phys.h>

namespace salvage::capture {

/// `r` as bytes when it lies inside one /memory range and below the identity map's
/// limit; false otherwise.
inline bool MapOld(std::span<const PhysRange> memory, PhysRange r, std::span<const uint8_t>* out) {
  if (r.Empty() || r.Last() >= arch::IdentityMapLimit()) return false;
  for (const PhysRange& m : memory) {
    if (m.Contains(r)) {
      *out = {reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(r.base)), static_cast<size_t>(r.size)};
      return true;
    }
  }
  return false;
}

}  // namespace salvage::capture
