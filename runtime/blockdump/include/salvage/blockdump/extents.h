// salvage::blockdump — extents: where on a block device the dump may be written, and the
// one function that turns a position in the dump area into device sectors.
//
// The dump area is the extents concatenated in list order (docs/disk-format.md §1).
// MapArea is the guard: every device write of the block sink goes through it, and it
// refuses any range that does not lie wholly inside the area before a single piece is
// handed on.
//
// Freestanding: only <array> <cstddef> <cstdint> <span>.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "salvage/base/status.h"

namespace salvage::blockdump {

/// Most extents a target may have (docs/options.md: `extents:` takes at most 64).
inline constexpr size_t kMaxExtents = 64;

/// `count` sectors from `first_lba`.
struct Extent {
  uint64_t first_lba = 0;
  uint64_t count = 0;
  constexpr bool operator==(const Extent&) const = default;
};

/// A resolved target: extents on the whole device, in the device's sectors
/// (`sector_size` bytes each), in the order the dump area uses them.
struct Extents {
  std::array<Extent, kMaxExtents> items{};
  size_t size = 0;
  uint32_t sector_size = 512;

  constexpr std::span<const Extent> view() const { return {items.data(), size}; }
  /// Sectors of all extents (callers have checked that this does not overflow: Check).
  constexpr uint64_t TotalSectors() const {
    uint64_t n = 0;
    for (size_t i = 0; i < size; ++i) n += items[i].count;
    return n;
  }
  /// Bytes of the dump area.
  constexpr uint64_t AreaBytes() const { return TotalSectors() * sector_size; }
  /// Appends one extent; false when the list is full.
  constexpr bool Add(uint64_t first_lba, uint64_t count) {
    if (size == kMaxExtents) return false;
    items[size++] = Extent{first_lba, count};
    return true;
  }
};

/// True when [a, a + n) and [b, b + m) share a sector (n, m > 0, no overflow).
constexpr bool Overlap(const Extent& x, const Extent& y) {
  return x.first_lba < y.first_lba + y.count && y.first_lba < x.first_lba + x.count;
}

/// Checks a list of extents against a device of `sector_count` sectors: 1..64 extents,
/// every count > 0, no extent past the end of the device (nor past 2^64), no two
/// overlapping, and an area that fits in 2^64 bytes.
/// Errors: kInvalidArgument (empty list, count 0, overlap), kOutOfRange (past the end).
constexpr Status CheckExtents(const Extents& e, uint64_t sector_count) {
  if (e.size == 0 || e.size > kMaxExtents) return {Error::kInvalidArgument, "blockdump: no extents, or more than 64"};
  if (e.sector_size == 0 || (e.sector_size & (e.sector_size - 1)) != 0) {
    return {Error::kInvalidArgument, "blockdump: sector size is not a power of two"};
  }
  uint64_t total = 0;
  for (size_t i = 0; i < e.size; ++i) {
    const Extent& x = e.items[i];
    if (x.count == 0) return {Error::kInvalidArgument, "blockdump: an extent has no sectors"};
    if (x.first_lba > sector_count || x.count > sector_count - x.first_lba) {
      return {Error::kOutOfRange, "blockdump: an extent passes the end of the device"};
    }
    for (size_t j = 0; j < i; ++j) {
      if (Overlap(x, e.items[j])) return {Error::kInvalidArgument, "blockdump: two extents overlap"};
    }
    total += x.count;  // no overflow: disjoint extents inside a device of < 2^64 sectors
  }
  if (total > ~uint64_t{0} / e.sector_size) return {Error::kOutOfRange, "blockdump: area over 2^64 bytes"};
  return Status::Ok();
}

/// The guard. Maps the area bytes [area_offset, area_offset + length) to device sectors
/// and calls `fn(uint64_t lba, uint64_t sectors, uint64_t done)` for each piece in order
/// (`done`: bytes of the range before this piece). Pieces never cross an extent
/// boundary and hold at most `max_sectors` sectors.
///
/// Refuses, before calling `fn` at all: a range not in whole sectors (kInvalidArgument),
/// and a range that is not wholly inside the area (kOutOfRange, "blockdump: write beyond
/// the target"). Stops at the first piece whose Status is not ok and returns it.
/// Precondition: CheckExtents(e, ...) is ok and max_sectors > 0.
template <class Fn>
constexpr Status MapArea(const Extents& e, uint64_t area_offset, uint64_t length, uint64_t max_sectors, Fn&& fn) {
  const uint64_t ss = e.sector_size;
  if (area_offset % ss != 0 || length % ss != 0) {
    return {Error::kInvalidArgument, "blockdump: write not in whole sectors"};
  }
  const uint64_t area = e.AreaBytes();
  if (area_offset > area || length > area - area_offset) {
    return {Error::kOutOfRange, "blockdump: write beyond the target"};
  }
  uint64_t sector = area_offset / ss;  // sector of the area
  uint64_t left = length / ss;
  uint64_t done = 0;
  for (size_t i = 0; i < e.size && left > 0; ++i) {
    const Extent& x = e.items[i];
    if (sector >= x.count) {
      sector -= x.count;
      continue;
    }
    while (left > 0 && sector < x.count) {
      uint64_t n = x.count - sector;
      if (n > left) n = left;
      if (n > max_sectors) n = max_sectors;
      SALVAGE_TRY(fn(x.first_lba + sector, n, done));
      sector += n;
      left -= n;
      done += n * ss;
    }
    sector = 0;
  }
  return Status::Ok();
}

}  // namespace salvage::blockdump
