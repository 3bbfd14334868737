// Builds MBR and GPT partition tables on a disk image in memory, for the target
// resolver and extract tests. Test-only. Written from the layouts (UEFI 2.10 §5.2.3
// protective MBR, §5.3.2 GPT header, §5.3.3 entries) independently of the code under
// test; the CRC is zlib's CRC-32 (stream::Crc32IsoHdlc, checked against the standard
// check value in format.h).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "salvage/base/byte-order.h"
#include "salvage/stream/format.h"

namespace salvage::blockdump::test {

inline void Put16(std::vector<uint8_t>& d, size_t off, uint16_t v) { StoreLe16(&d[off], v); }
inline void Put32(std::vector<uint8_t>& d, size_t off, uint32_t v) { StoreLe32(&d[off], v); }
inline void Put64(std::vector<uint8_t>& d, size_t off, uint64_t v) { StoreLe64(&d[off], v); }

struct MbrPart {
  uint8_t type = 0;
  uint32_t first = 0;
  uint32_t count = 0;
};

/// Writes the four primary entries and the 0x55AA signature into sector 0.
inline void WriteMbr(std::vector<uint8_t>& disk, const std::array<MbrPart, 4>& parts) {
  for (size_t i = 0; i < 4; ++i) {
    const size_t e = 446 + 16 * i;
    for (size_t k = 0; k < 16; ++k) disk[e + k] = 0;
    disk[e + 4] = parts[i].type;
    Put32(disk, e + 8, parts[i].first);
    Put32(disk, e + 12, parts[i].count);
  }
  disk[510] = 0x55;
  disk[511] = 0xAA;
}

/// A GUID's on-disk bytes from its text form (fields 1-3 little-endian).
inline std::array<uint8_t, 16> GuidBytes(const std::string& text) {
  std::string hex;
  for (char c : text) {
    if (c != '-') hex += c;
  }
  std::array<uint8_t, 16> t{};
  for (size_t i = 0; i < 16; ++i) t[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  return {t[3], t[2], t[1], t[0], t[5], t[4], t[7], t[6], t[8], t[9], t[10], t[11], t[12], t[13], t[14], t[15]};
}

inline constexpr char kLinuxFsType[] = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

struct GptPart {
  std::string type = kLinuxFsType;
  std::string unique;
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
  std::string name;   // ASCII, stored as UTF-16LE
};

struct GptGeometry {
  uint32_t sector_size = 512;
  uint32_t entries = 128;
  uint32_t entry_size = 128;
  uint64_t EntrySectors() const { return (uint64_t{entries} * entry_size + sector_size - 1) / sector_size; }
  uint64_t FirstUsable() const { return 2 + EntrySectors(); }
  uint64_t LastUsable(uint64_t sectors) const { return sectors - 2 - EntrySectors(); }
};

/// Recomputes the primary header's CRC32 (after a test edited a field).
inline void FixGptHeaderCrc(std::vector<uint8_t>& disk, uint32_t ss) {
  const size_t h = ss;
  Put32(disk, h + 16, 0);
  const uint32_t size = LoadLe32(&disk[h + 12]);
  Put32(disk, h + 16, stream::Crc32IsoHdlc::Compute(std::span<const uint8_t>(&disk[h], size)));
}

/// Writes a protective MBR at LBA 0, the primary GPT header at LBA 1 and the entry array
/// at LBA 2 of `disk` (whose size is the disk's), with correct CRCs.
inline void WriteGpt(std::vector<uint8_t>& disk, const std::vector<GptPart>& parts, GptGeometry g = {}) {
  const uint32_t ss = g.sector_size;
  const uint64_t sectors = disk.size() / ss;
  const uint64_t tail = sectors - 1 > 0xFFFFFFFFu ? 0xFFFFFFFFu : sectors - 1;
  WriteMbr(disk, {MbrPart{0xEE, 1, static_cast<uint32_t>(tail)}, MbrPart{}, MbrPart{}, MbrPart{}});

  std::vector<uint8_t> array(uint64_t{g.entries} * g.entry_size, 0);
  for (size_t i = 0; i < parts.size(); ++i) {
    const size_t e = i * g.entry_size;
    const auto type = GuidBytes(parts[i].type);
    const auto unique = GuidBytes(parts[i].unique);
    std::copy(type.begin(), type.end(), array.begin() + e);
    std::copy(unique.begin(), unique.end(), array.begin() + e + 16);
    Put64(array, e + 32, parts[i].first);
    Put64(array, e + 40, parts[i].last);
    for (size_t k = 0; k < parts[i].name.size() && k < 36; ++k) {
      Put16(array, e + 56 + 2 * k, static_cast<uint8_t>(parts[i].name[k]));
    }
  }
  std::copy(array.begin(), array.end(), disk.begin() + 2 * ss);

  const size_t h = ss;
  for (size_t k = 0; k < ss; ++k) disk[h + k] = 0;
  const char sig[] = "EFI PART";
  for (size_t k = 0; k < 8; ++k) disk[h + k] = static_cast<uint8_t>(sig[k]);
  Put32(disk, h + 8, 0x00010000);
  Put32(disk, h + 12, 92);
  Put64(disk, h + 24, 1);
  Put64(disk, h + 32, sectors - 1);
  Put64(disk, h + 40, g.FirstUsable());
  Put64(disk, h + 48, g.LastUsable(sectors));
  const auto disk_guid = GuidBytes("11111111-2222-3333-4444-555555555555");
  std::copy(disk_guid.begin(), disk_guid.end(), disk.begin() + h + 56);
  Put64(disk, h + 72, 2);
  Put32(disk, h + 80, g.entries);
  Put32(disk, h + 84, g.entry_size);
  Put32(disk, h + 88, stream::Crc32IsoHdlc::Compute(array));
  FixGptHeaderCrc(disk, ss);
}

}  // namespace salvage::blockdump::test
