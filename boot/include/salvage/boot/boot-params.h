// The salvage boot parameter block: 64 bytes at offset 0x40 of every salvage image,
// right after the Linux image header. It is the image's only configuration that does
// not come from the DTB: the console to use when there is no usable DTB (like Linux's
// earlycon=). A loader or a test patches it in the image file; the image only reads it.
//
// Layout (little-endian):
//   0x00 char[8] magic "SLVGBOOT"
//   0x08 u32     version (1)
//   0x0c u32     size of the block (64)
//   0x10 u32     early console kind: 0 none, 1 PL011, 2 16550
//   0x14 u8      early console reg_shift
//   0x15 u8      early console reg_io_width (1 or 4)
//   0x16 u16     reserved, 0
//   0x18 u64     early console base (physical)
//   0x20 u32     flags: bit 0 = reset instead of power off when salvage stops
//   0x24 u32     memory footprint: bytes from the image's first byte to the end of its
//                .bss and stack (what a loader must give it; the arm zImage header has
//                no such field, arm64's and RISC-V's carry it as image_size too)
//   0x28 ..0x3f  reserved, 0
#pragma once

#include <cstdint>

namespace salvage::boot {

inline constexpr uint32_t kBootParamsOffset = 0x40;
inline constexpr char kBootParamsMagic[8] = {'S', 'L', 'V', 'G', 'B', 'O', 'O', 'T'};
inline constexpr uint32_t kBootParamsVersion = 1;

enum class EarlyConsoleKind : uint32_t { kNone = 0, kPl011 = 1, kNs16550 = 2 };

inline constexpr uint32_t kFlagResetOnStop = 1u << 0;

struct BootParams {
  char magic[8];
  uint32_t version;
  uint32_t size;
  uint32_t earlycon_kind;
  uint8_t earlycon_reg_shift;
  uint8_t earlycon_reg_io_width;
  uint16_t reserved0;
  uint64_t earlycon_base;
  uint32_t flags;
  uint32_t footprint;
  uint32_t reserved1[6];
};
static_assert(sizeof(BootParams) == 64);

}  // namespace salvage::boot

/// Defined by boot/<arch>/start.S at image offset 0x40.
extern "C" const salvage::boot::BootParams salvage_boot_params;
