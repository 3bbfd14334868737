// salvage::LoadLe16/32/64, StoreLe16/32/64, LoadBe32: the one definition of byte-order
// access, for the image, the purgatory, the drivers, the loader and the host tools.
//
// Written as byte shifts, so they are constexpr, need no alignment and do not depend on
// the CPU's byte order; compilers turn them into single loads/stores on little-endian
// CPUs that allow unaligned access. Every on-disk, on-wire and in-memory ABI salvage
// reads or writes (ELF, the stream format, the disk format, the parameter blocks, GPT/MBR)
// is little-endian, except the flattened device tree, which is big-endian.
//
// Freestanding: only <cstddef> <cstdint>.
#pragma once

#include <cstddef>
#include <cstdint>

namespace salvage {

constexpr void StoreLe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
constexpr void StoreLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
constexpr void StoreLe64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
constexpr uint16_t LoadLe16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
constexpr uint32_t LoadLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
constexpr uint64_t LoadLe64(const uint8_t* p) {
  return static_cast<uint64_t>(LoadLe32(p)) | (static_cast<uint64_t>(LoadLe32(p + 4)) << 32);
}

/// A little-endian unsigned field of `width` bytes (1 to 8): the ELF Addr/Off/Word fields,
/// whose width depends on the ELF class.
constexpr uint64_t LoadLe(const uint8_t* p, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}
/// Stores the low `width` bytes (1 to 8) of `v`, little-endian.
constexpr void StoreLe(uint8_t* p, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

constexpr uint32_t LoadBe32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}
/// A big-endian 32-bit value already loaded as one word (a volatile MMIO or memory read),
/// in the CPU's byte order.
constexpr uint32_t FromBe32(uint32_t v) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return __builtin_bswap32(v);
#else
  return v;
#endif
}

// Loads from an address known to be aligned to the load's size. On strict-alignment
// targets (arm64 with -mstrict-align, armv7 with -mno-unaligned-access) the byte-shift
// loads above stay byte loads, since the compiler cannot prove alignment; pages are
// page-aligned, so the hot loops check once and then use these. __builtin_memcpy, not
// std::memcpy: -ffreestanding implies -fno-builtin, which would make every load a call.
// Not constexpr: callers use them only when !std::is_constant_evaluated().
inline bool IsAligned(const uint8_t* p, size_t align) {
  return (reinterpret_cast<uintptr_t>(p) & (align - 1)) == 0;
}
inline uint32_t LoadLe32Aligned(const uint8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, __builtin_assume_aligned(p, 4), sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap32(v);
#endif
  return v;
}
inline uint64_t LoadLe64Aligned(const uint8_t* p) {
  uint64_t v;
  __builtin_memcpy(&v, __builtin_assume_aligned(p, 8), sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}
}  // namespace salvage
