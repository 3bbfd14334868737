// The purgatory's parameter block: 832 bytes at offset 0x40 of purgatory.bin, filled in
// by the loader (`salvage load`, or a test) before the purgatory is placed in memory.
//
// This file is the block's one definition. C++ (the purgatory, the loader, the host
// tests) uses `Params`; the assembly (purgatory/params.inc, included by each
// purgatory/<arch>/entry.S) and the QEMU test (host-tests/qemu/purgatory-test.py, which
// reads the #defines below) use the SALVAGE_PURGATORY_* offsets, which the static_asserts
// tie to the structure.
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

// Offsets for the assembly and the QEMU test (plain numbers: the assembler and the test's
// parser read them as they are).
#define SALVAGE_PURGATORY_PARAMS_OFFSET 0x40  /* of the block in purgatory.bin */
#define SALVAGE_PURGATORY_MAGIC "SLVGPURG"
#define SALVAGE_PURGATORY_VERSION 0x8
#define SALVAGE_PURGATORY_SEGMENT_COUNT 0xc
#define SALVAGE_PURGATORY_ENTRY 0x10
#define SALVAGE_PURGATORY_DTB 0x18
#define SALVAGE_PURGATORY_CONSOLE_KIND 0x20
#define SALVAGE_PURGATORY_CONSOLE_BASE 0x28
#define SALVAGE_PURGATORY_FOOTPRINT 0x30
#define SALVAGE_PURGATORY_SEGMENTS 0x40
#define SALVAGE_PURGATORY_SEGMENT_SIZE 48
#define SALVAGE_PURGATORY_MAX_SEGMENTS 16
#define SALVAGE_PURGATORY_PARAMS_SIZE 0x340

#ifndef __ASSEMBLER__

#include <array>
#include <cstddef>
#include <cstdint>

namespace salvage::purgatory {

inline constexpr uint32_t kParamsOffset = SALVAGE_PURGATORY_PARAMS_OFFSET;
/// The magic at the start of the block (without the literal's NUL).
inline constexpr std::array<char, sizeof(SALVAGE_PURGATORY_MAGIC) - 1> kMagic = [] {
  std::array<char, sizeof(SALVAGE_PURGATORY_MAGIC) - 1> m{};
  for (size_t i = 0; i < m.size(); ++i) m[i] = SALVAGE_PURGATORY_MAGIC[i];
  return m;
}();
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kMaxSegments = SALVAGE_PURGATORY_MAX_SEGMENTS;

struct Segment {
  uint64_t address;
  uint64_t size;
  uint8_t sha256[32];
};
static_assert(sizeof(Segment) == SALVAGE_PURGATORY_SEGMENT_SIZE);

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
static_assert(sizeof(Params::magic) == kMagic.size());
static_assert(offsetof(Params, version) == SALVAGE_PURGATORY_VERSION);
static_assert(offsetof(Params, segment_count) == SALVAGE_PURGATORY_SEGMENT_COUNT);
static_assert(offsetof(Params, entry) == SALVAGE_PURGATORY_ENTRY);
static_assert(offsetof(Params, dtb) == SALVAGE_PURGATORY_DTB);
static_assert(offsetof(Params, console_kind) == SALVAGE_PURGATORY_CONSOLE_KIND);
static_assert(offsetof(Params, console_base) == SALVAGE_PURGATORY_CONSOLE_BASE);
static_assert(offsetof(Params, footprint) == SALVAGE_PURGATORY_FOOTPRINT);
static_assert(offsetof(Params, segments) == SALVAGE_PURGATORY_SEGMENTS);
static_assert(sizeof(Params) == SALVAGE_PURGATORY_PARAMS_SIZE);

}  // namespace salvage::purgatory

/// Defined by purgatory/params.inc (in each purgatory/<arch>/entry.S) at offset 0x40.
extern "C" const salvage::purgatory::Params purgatory_params;

#endif  // __ASSEMBLER__
