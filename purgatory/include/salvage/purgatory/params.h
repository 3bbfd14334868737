// The purgatory's parameter block: 832 bytes at offset 0x40 of purgatory.bin, filled in
// by the loader (`salvage load`, or a test) before the purgatory is placed in memory.
//
// Layout (little-endian):
//   0x000 char[8] magic "SLVGPURG"
//   0x008 u32     version (1)
//   0x00c u32     segment count (at most kMaxSegments)
//   0x010 u64     entry: where to jump (the salvage image's first byte)
//   0x018 u64     DTB physical address, handed to the image in the boot protocol register
//   0x020 u32     console kind: 0 none, 1 PL011, 2 16550, 3 BCM2835 mini UART (for the
//                 mismatch message)
//   0x024 u8      console reg_shift
//   0x025 u8      console reg_io_width (1 or 4)
//   0x026 u16     reserved
//   0x028 u64     console base (physical)
//   0x030 u32     memory footprint: file + .bss + stack, the bytes its segment must span
//                 (set by the build, read by the loader)
//   0x034 ..0x03f reserved
//   0x040 segments[16], 48 bytes each: u64 address, u64 size, u8[32] SHA-256 of the bytes
#pragma once

#include <cstdint>

namespace salvage::purgatory {

inline constexpr uint32_t kParamsOffset = 0x40;
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kMaxSegments = 16;

struct Segment {
  uint64_t address;
  uint64_t size;
  uint8_t sha256[32];
};
static_assert(sizeof(Segment) == 48);

struct Params {
  char magic[8];
  uint32_t version;
  uint32_t segment_count;
  uint64_t entry;
  uint64_t dtb;
  uint32_t console_kind;
  uint8_t console_reg_shift;
  uint8_t console_reg_io_width;
  uint16_t reserved0;
  uint64_t console_base;
  uint32_t footprint;
  uint32_t reserved1[3];
  Segment segments[kMaxSegments];
};
static_assert(sizeof(Params) == 0x40 + 16 * 48);

}  // namespace salvage::purgatory

/// Defined by purgatory/<arch>/entry.S at offset 0x40.
extern "C" const salvage::purgatory::Params purgatory_params;
