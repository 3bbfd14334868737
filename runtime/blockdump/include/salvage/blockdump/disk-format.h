// salvage::blockdump — the dump on a block device: header block, stream, trailer block.
//
// Follows docs/disk-format.md, version 2 (reads version 1 too); every number here is defined there (change
// both together). Shared by the block sink (in the image) and `salvage extract` (on the
// host). All integers little-endian, serialized byte by byte; CRC is CRC-32C as in the
// stream (docs/stream-format.md §7.1).
//
// Freestanding: only <array> <cstddef> <cstdint> <span>.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "salvage/blockdump/extents.h"
#include "salvage/base/byte-order.h"
#include "salvage/stream/format.h"

namespace salvage::blockdump {

/// The header and trailer blocks are this size; the stream starts at this area offset.
inline constexpr uint32_t kBlockSize = 4096;
inline constexpr uint16_t kBlockShift = 12;
/// Format version of both blocks, as written. Version 2 added the backup header block
/// (docs/disk-format.md §2); a reader also takes version 1 (no backup).
inline constexpr uint16_t kDiskVersion = 2;
inline constexpr uint16_t kOldestDiskVersion = 1;
/// Blocks of the area that are not stream: header, backup header, trailer.
inline constexpr uint64_t kMetaBlocks = 3;
/// Smallest usable area: header, one block of stream, backup header, trailer.
inline constexpr uint64_t kMinAreaBytes = (kMetaBlocks + 1) * kBlockSize;

/// "SLVGDUMP" and "SLVGDEND".
inline constexpr std::array<uint8_t, 8> kHeaderMagic = {'S', 'L', 'V', 'G', 'D', 'U', 'M', 'P'};
inline constexpr std::array<uint8_t, 8> kTrailerMagic = {'S', 'L', 'V', 'G', 'D', 'E', 'N', 'D'};

/// Header block offsets (docs/disk-format.md §3).
namespace dh {
inline constexpr size_t kMagic = 0;           // u8[8] kHeaderMagic
inline constexpr size_t kVersion = 8;         // u16   kDiskVersion
inline constexpr size_t kBlockShift = 10;     // u16   12: log2 of the block size
inline constexpr size_t kState = 12;          // u32   kStateStarted
inline constexpr size_t kDumpId = 16;         // u64   the stream's stream_id
inline constexpr size_t kAreaBytes = 24;      // u64   the whole area, header and trailer included
inline constexpr size_t kStreamOffset = 32;   // u64   4096
inline constexpr size_t kStreamCapacity = 40; // u64   bytes for the stream
inline constexpr size_t kTrailerOffset = 48;  // u64   area offset of the trailer block
inline constexpr size_t kSectorSize = 56;     // u32   bytes per device sector
inline constexpr size_t kExtentCount = 60;    // u32   1..64
inline constexpr size_t kExtents = 64;        // {u64 first_lba, u64 count} x extent_count
inline constexpr size_t kExtentSize = 16;
inline constexpr size_t kCrc = 4092;          // u32   CRC-32C of bytes [0, 4092)
}  // namespace dh

/// Trailer block offsets (docs/disk-format.md §4).
namespace dt {
inline constexpr size_t kMagic = 0;        // u8[8] kTrailerMagic
inline constexpr size_t kVersion = 8;      // u16   kDiskVersion
inline constexpr size_t kBlockShift = 10;  // u16   12: log2 of the block size
inline constexpr size_t kFlags = 12;       // u32   TrailerFlags
inline constexpr size_t kDumpId = 16;      // u64   equals the header's
inline constexpr size_t kStreamBytes = 24; // u64   bytes of stream written from offset 4096
inline constexpr size_t kAreaBytes = 32;   // u64   equals the header's
inline constexpr size_t kCrc = 4092;       // u32   CRC-32C of bytes [0, 4092)
}  // namespace dt

/// The only state the header records in version 1: the dump was started. The header is
/// written once, before any stream byte; how the dump ended is the trailer's to say.
inline constexpr uint32_t kStateStarted = 1;

/// Trailer flags.
enum TrailerFlags : uint32_t {
  kDumpComplete = 1u << 0,   ///< The whole stream fit (stream trailer included).
  kDumpTruncated = 1u << 1,  ///< The target was too small: the stream stopped early.
};

/// What the header block says.
struct DumpHeader {
  uint64_t dump_id = 0;
  uint64_t area_bytes = 0;
  uint64_t stream_offset = kBlockSize;
  uint64_t stream_capacity = 0;
  uint64_t trailer_offset = 0;
  uint32_t state = kStateStarted;
  uint16_t version = kDiskVersion;  ///< Of the block read (EncodeHeader writes kDiskVersion).
  /// Area offset of the backup header block (version 2: the block before the trailer);
  /// 0 in version 1, which has none.
  uint64_t backup_offset = 0;
  Extents extents;  ///< Its sector_size is the header's sector size.
};

/// What the trailer block says.
struct DumpTrailer {
  uint32_t flags = 0;
  uint64_t dump_id = 0;
  uint64_t stream_bytes = 0;
  uint64_t area_bytes = 0;
};

/// The layout of an area of `area_bytes` (docs/disk-format.md §2): the trailer block is
/// the last whole 4096-byte block, the backup header block the one before it (version
/// 2), the stream lies between the header block and those. False when the area is
/// smaller than the version's minimum (kMinAreaBytes; 3 blocks in version 1).
constexpr bool LayoutFor(uint64_t area_bytes, DumpHeader* h, uint16_t version = kDiskVersion) {
  const uint64_t usable = area_bytes / kBlockSize * kBlockSize;
  const uint64_t meta = version == 1 ? 2 : kMetaBlocks;
  if (usable < (meta + 1) * kBlockSize) return false;
  h->area_bytes = area_bytes;
  h->version = version;
  h->stream_offset = kBlockSize;
  h->trailer_offset = usable - kBlockSize;
  h->backup_offset = version == 1 ? 0 : usable - 2 * kBlockSize;
  h->stream_capacity = usable - meta * kBlockSize;
  return true;
}

constexpr uint32_t BlockCrc(std::span<const uint8_t, kBlockSize> b) {
  return stream::Crc32c::Compute(b.first(dh::kCrc));
}

/// Serializes a header block (every byte of `out` is written).
constexpr void EncodeHeader(const DumpHeader& h, std::span<uint8_t, kBlockSize> out) {
  uint8_t* p = out.data();
  for (auto& b : out) b = 0;
  for (size_t i = 0; i < 8; ++i) p[dh::kMagic + i] = kHeaderMagic[i];
  StoreLe16(p + dh::kVersion, kDiskVersion);
  StoreLe16(p + dh::kBlockShift, kBlockShift);
  StoreLe32(p + dh::kState, h.state);
  StoreLe64(p + dh::kDumpId, h.dump_id);
  StoreLe64(p + dh::kAreaBytes, h.area_bytes);
  StoreLe64(p + dh::kStreamOffset, h.stream_offset);
  StoreLe64(p + dh::kStreamCapacity, h.stream_capacity);
  StoreLe64(p + dh::kTrailerOffset, h.trailer_offset);
  StoreLe32(p + dh::kSectorSize, h.extents.sector_size);
  StoreLe32(p + dh::kExtentCount, static_cast<uint32_t>(h.extents.size));
  for (size_t i = 0; i < h.extents.size; ++i) {
    StoreLe64(p + dh::kExtents + i * dh::kExtentSize, h.extents.items[i].first_lba);
    StoreLe64(p + dh::kExtents + i * dh::kExtentSize + 8, h.extents.items[i].count);
  }
  StoreLe32(p + dh::kCrc, BlockCrc(out));
}

/// Serializes a trailer block (every byte of `out` is written).
constexpr void EncodeTrailer(const DumpTrailer& t, std::span<uint8_t, kBlockSize> out) {
  uint8_t* p = out.data();
  for (auto& b : out) b = 0;
  for (size_t i = 0; i < 8; ++i) p[dt::kMagic + i] = kTrailerMagic[i];
  StoreLe16(p + dt::kVersion, kDiskVersion);
  StoreLe16(p + dt::kBlockShift, kBlockShift);
  StoreLe32(p + dt::kFlags, t.flags);
  StoreLe64(p + dt::kDumpId, t.dump_id);
  StoreLe64(p + dt::kStreamBytes, t.stream_bytes);
  StoreLe64(p + dt::kAreaBytes, t.area_bytes);
  StoreLe32(p + dt::kCrc, BlockCrc(out));
}

/// How a block read back compares with what a reader expects.
enum class BlockCheck : uint8_t {
  kOk,
  kNoMagic,     ///< Not a block of this kind (zeros, old data, another format).
  kBadCrc,      ///< The magic is there but the CRC does not match: damaged.
  kBadVersion,  ///< A version this reader does not know.
  kBadFields,   ///< CRC fine, but the fields contradict each other.
};

/// Parses a header block (untrusted input): magic, CRC, version, then the fields: the
/// stream at 4096, the trailer after the stream, inside the area, 1..64 extents whose
/// sectors add up to area_bytes, a power-of-two sector size.
constexpr BlockCheck DecodeHeader(std::span<const uint8_t, kBlockSize> in, DumpHeader* h) {
  const uint8_t* p = in.data();
  for (size_t i = 0; i < 8; ++i) {
    if (p[dh::kMagic + i] != kHeaderMagic[i]) return BlockCheck::kNoMagic;
  }
  if (!ChecksumMatches(stream::Crc32c::Compute(in.first(dh::kCrc)), LoadLe32(p + dh::kCrc))) return BlockCheck::kBadCrc;
  const uint16_t version = LoadLe16(p + dh::kVersion);
  if (version < kOldestDiskVersion || version > kDiskVersion) return BlockCheck::kBadVersion;
  h->version = version;
  h->state = LoadLe32(p + dh::kState);
  h->dump_id = LoadLe64(p + dh::kDumpId);
  h->area_bytes = LoadLe64(p + dh::kAreaBytes);
  h->stream_offset = LoadLe64(p + dh::kStreamOffset);
  h->stream_capacity = LoadLe64(p + dh::kStreamCapacity);
  h->trailer_offset = LoadLe64(p + dh::kTrailerOffset);
  h->extents.sector_size = LoadLe32(p + dh::kSectorSize);
  const uint32_t n = LoadLe32(p + dh::kExtentCount);
  if (LoadLe16(p + dh::kBlockShift) != kBlockShift) return BlockCheck::kBadFields;
  if (n == 0 || n > kMaxExtents) return BlockCheck::kBadFields;
  h->extents.size = 0;
  for (size_t i = 0; i < n; ++i) {
    h->extents.Add(LoadLe64(p + dh::kExtents + i * dh::kExtentSize),
                   LoadLe64(p + dh::kExtents + i * dh::kExtentSize + 8));
  }
  // The extents must be a valid list on some device: check against the largest one.
  if (!CheckExtents(h->extents, ~uint64_t{0}).ok()) return BlockCheck::kBadFields;
  if (h->extents.AreaBytes() != h->area_bytes) return BlockCheck::kBadFields;
  DumpHeader layout;
  if (!LayoutFor(h->area_bytes, &layout, version) || layout.stream_offset != h->stream_offset ||
      layout.trailer_offset != h->trailer_offset || layout.stream_capacity != h->stream_capacity) {
    return BlockCheck::kBadFields;
  }
  h->backup_offset = layout.backup_offset;
  return BlockCheck::kOk;
}

/// Parses a trailer block (untrusted input): magic, CRC, version, flags.
constexpr BlockCheck DecodeTrailer(std::span<const uint8_t, kBlockSize> in, DumpTrailer* t) {
  const uint8_t* p = in.data();
  for (size_t i = 0; i < 8; ++i) {
    if (p[dt::kMagic + i] != kTrailerMagic[i]) return BlockCheck::kNoMagic;
  }
  if (!ChecksumMatches(stream::Crc32c::Compute(in.first(dt::kCrc)), LoadLe32(p + dt::kCrc))) return BlockCheck::kBadCrc;
  const uint16_t version = LoadLe16(p + dt::kVersion);
  if (version < kOldestDiskVersion || version > kDiskVersion) return BlockCheck::kBadVersion;
  t->flags = LoadLe32(p + dt::kFlags);
  t->dump_id = LoadLe64(p + dt::kDumpId);
  t->stream_bytes = LoadLe64(p + dt::kStreamBytes);
  t->area_bytes = LoadLe64(p + dt::kAreaBytes);
  if (LoadLe16(p + dt::kBlockShift) != kBlockShift) return BlockCheck::kBadFields;
  const uint32_t ends = t->flags & (kDumpComplete | kDumpTruncated);
  if (ends != kDumpComplete && ends != kDumpTruncated) return BlockCheck::kBadFields;
  return BlockCheck::kOk;
}

}  // namespace salvage::blockdump
