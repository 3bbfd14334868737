// salvage::arch — the identity map and caches.
//
// Copying old memory with caches off is many times slower, and on arm64 unaligned
// accesses fault while memory is Device memory. So salvage turns the MMU on with an
// identity map in two steps: before the DTB is parsed (MmuBootstrap: only the image
// and the DTB are known to be RAM), then once /memory is known (MmuMapRam).
#pragma once

#include <span>

#include <salvage/base/phys.h>
#include <salvage/base/status.h>

namespace salvage::arch {

/// Turns on the MMU and caches with an identity map in which `image` and `dtb` are
/// Normal write-back memory and every other address is Device memory (execute-never).
/// Precondition: MMU off. Errors name the range that could not be mapped.
Status MmuBootstrap(PhysRange image, PhysRange dtb);

/// Replaces the map with one in which every range of `ram`, `image` and `dtb` is Normal
/// write-back and everything else Device. Precondition: MmuBootstrap succeeded (or
/// the architecture has no MMU step, where this only records the ranges).
Status MmuMapRam(std::span<const PhysRange> ram, PhysRange image, PhysRange dtb);

/// One past the highest physical address the identity map can reach (aarch64: 2^39;
/// arm: 4 GiB without LPAE; riscv64: 2^56). Memory above it cannot be read.
uint64_t IdentityMapLimit();

/// One line for the boot report: "identity map, caches on (EL1, 39-bit VA, 5 tables)".
const char* MmuDescribe();

}  // namespace salvage::arch
