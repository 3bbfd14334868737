// salvage::base — physical addresses and ranges.
//
// Everything that comes from the DTB, the elfcorehdr or a device is a physical
// address; it has its own type so it is never dereferenced by accident. Range
// arithmetic is overflow-checked here, in one place.
#pragma once

#include <compare>
#include <cstdint>

namespace salvage {

/// A physical address. Not a pointer: turning it into one goes through the arch layer,
/// which knows what is mapped.
struct PhysAddr {
  uint64_t value = 0;
  constexpr bool operator==(const PhysAddr&) const = default;
  constexpr auto operator<=>(const PhysAddr&) const = default;
};

/// A half-open physical range [base, base + size). A range whose end would pass 2^64
/// cannot be built through Make().
struct PhysRange {
  uint64_t base = 0;
  uint64_t size = 0;

  /// Builds the range, or returns false when base + size overflows.
  static constexpr bool Make(uint64_t base, uint64_t size, PhysRange* out) {
    if (size != 0 && base + size - 1 < base) return false;
    *out = PhysRange{base, size};
    return true;
  }
  /// One past the last byte; for a range that ends exactly at 2^64 this is 0, so use
  /// Last() for comparisons.
  constexpr uint64_t End() const { return base + size; }
  /// The last byte. Precondition: size > 0.
  constexpr uint64_t Last() const { return base + size - 1; }
  constexpr bool Empty() const { return size == 0; }
  constexpr bool Contains(uint64_t addr) const { return size != 0 && addr >= base && addr <= Last(); }
  constexpr bool Contains(const PhysRange& r) const {
    return r.size == 0 || (size != 0 && r.base >= base && r.Last() <= Last());
  }
  constexpr bool Overlaps(const PhysRange& r) const {
    return size != 0 && r.size != 0 && r.base <= Last() && base <= r.Last();
  }
  constexpr bool operator==(const PhysRange&) const = default;
};

/// Rounds down/up to a power-of-two alignment. AlignUp saturates at the top.
constexpr uint64_t AlignDown(uint64_t v, uint64_t align) { return v & ~(align - 1); }
constexpr uint64_t AlignUp(uint64_t v, uint64_t align) {
  uint64_t r = (v + align - 1) & ~(align - 1);
  return r < v ? ~(align - 1) : r;
}

}  // namespace salvage
