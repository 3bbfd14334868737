// salvage::blockdump — the dump target: `salvage.target=` (docs/options.md) parsed, and
// resolved against the partition table of a block device into extents.
//
// Follows:
//   - MBR: the classic PC partition table (sector 0: four 16-byte primary entries at
//     offset 446, signature 0x55 0xAA at 510; LBA fields little-endian u32).
//   - GPT: UEFI Specification 2.10, §5.3 "GUID Partition Table (GPT) Disk Layout"
//     (header at LBA 1, "EFI PART", header and entry-array CRC32 = zlib's CRC-32;
//     entries with PartitionName in UTF-16LE, 36 code units).
//   - GUID text form: RFC 4122 §3 / UEFI Appendix A — the first three fields are stored
//     little-endian on disk, the last two as bytes in order ("mixed-endian").
//
// Runs in the image: no heap, no exceptions; the partition table is untrusted input, so
// every field is bounds-checked against the device and nothing is asserted on it.
// Errors name the thing that is wrong ("mbr: partition 3 is empty"); messages that
// concern a GPT name or GUID read well on their own, and FormatTargetError adds the
// name or GUID asked for ("gpt: no partition named 'dump'").
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "salvage/base/status.h"
#include "salvage/blockdump/extents.h"

namespace salvage::blockdump {

/// Sector size in which `extents:` counts (docs/options.md), whatever the device's.
inline constexpr uint32_t kSpecSectorSize = 512;
/// Most UTF-16 code units in a GPT partition name.
inline constexpr size_t kGptNameUnits = 36;

enum class TargetKind : uint8_t {
  kDisk,     ///< `disk`: the whole device.
  kMbr,      ///< `mbr:N`: MBR primary partition N (1..4).
  kGptName,  ///< `gpt-name:NAME`: the GPT partition named NAME.
  kGptUuid,  ///< `gpt-uuid:UUID`: the GPT partition with that unique partition GUID.
  kExtents,  ///< `extents:S+C,...`: explicit extents in 512-byte sectors.
};

/// A parsed `salvage.target=` value. Holds copies, not views of the input.
struct TargetSpec {
  TargetKind kind = TargetKind::kDisk;
  uint8_t mbr_partition = 0;  ///< kMbr: 1..4.
  std::array<char, kGptNameUnits> name{};
  size_t name_len = 0;  ///< kGptName: 1..36 printable ASCII characters, no spaces.
  /// kGptUuid: the GUID in on-disk byte order (first three fields little-endian).
  std::array<uint8_t, 16> uuid{};
  /// kExtents: start and count in 512-byte sectors (sector_size 512), in order.
  Extents extents;

  constexpr std::string_view Name() const { return {name.data(), name_len}; }
};

/// Parses `disk`, `mbr:N`, `gpt-name:NAME`, `gpt-uuid:UUID` or `extents:S+C,...`
/// (numbers decimal or 0x hex; at most 64 extents, each count > 0, none overlapping,
/// none ending past 2^64 sectors). Errors: kInvalidArgument, with a message that says
/// which part is wrong.
Result<TargetSpec> ParseTarget(std::string_view value);

/// Parses a GUID in its text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits of
/// either case) into on-disk byte order. False when the text is not one.
bool ParseGuid(std::string_view text, std::array<uint8_t, 16>* out);

/// Writes the text form of an on-disk GUID (lower case, 36 characters) to `out`, which
/// must hold 37 bytes (NUL-terminated).
void FormatGuid(const std::array<uint8_t, 16>& guid, std::span<char, 37> out);

/// What ResolveTarget needs of a device: every drivers::BlockDevice qualifies; so does a
/// read-only host device (loader/workstation/extract).
template <class T>
concept SectorReader = requires(T& d, uint64_t lba, std::span<uint8_t> dst) {
  { d.SectorSize() } -> std::same_as<uint32_t>;
  { d.SectorCount() } -> std::same_as<uint64_t>;
  { d.Read(lba, dst) } -> std::same_as<Status>;
};

/// A device seen through plain function pointers, so that the resolver is compiled
/// once (as the stream's Encoder does with its sink).
struct ReaderRef {
  void* device = nullptr;
  Status (*read)(void* device, uint64_t lba, std::span<uint8_t> dst) = nullptr;
  uint32_t sector_size = 0;
  uint64_t sector_count = 0;
};

/// ResolveTarget's implementation (target.cc).
Result<Extents> ResolveTargetWith(const ReaderRef& device, const TargetSpec& spec, std::span<uint8_t> scratch);

/// Resolves `spec` on `device` into extents on the whole device, in its sectors:
///   disk       one extent, all sectors;
///   mbr:N      reads sector 0; refuses a missing 0x55AA signature, a protective MBR
///              (the disk is GPT), an empty or extended entry N, an entry past the end;
///   gpt-*      reads the header at LBA 1 and the entry array it names, checks both
///              CRC32s, the entry size and count, and every bound against the device;
///              refuses no match and more than one match;
///   extents    converts 512-byte sectors to the device's (must divide evenly) and
///              checks every extent against the device.
/// `scratch`: at least one device sector (and one GPT entry); the GPT entry array is
/// read through it in pieces. Device sector sizes 512..4096 (powers of two).
/// Errors: the device's Read error; kMalformed (damaged or inconsistent table),
/// kNotFound (no such partition), kUnsupported (protective MBR for mbr:N, extended
/// partition, odd sector size), kOutOfRange (past the end of the device),
/// kInvalidArgument (scratch too small, extents not aligned to the device's sectors).
template <SectorReader Device>
Result<Extents> ResolveTarget(Device& device, const TargetSpec& spec, std::span<uint8_t> scratch) {
  ReaderRef ref;
  ref.device = &device;
  ref.read = [](void* d, uint64_t lba, std::span<uint8_t> dst) { return static_cast<Device*>(d)->Read(lba, dst); };
  ref.sector_size = device.SectorSize();
  ref.sector_count = device.SectorCount();
  return ResolveTargetWith(ref, spec, scratch);
}

/// Writes a message for a ParseTarget/ResolveTarget error to `out` (NUL-terminated,
/// cut to fit): its what(), but naming the GPT name or GUID that `spec` asked for where
/// the error concerns it ("gpt: no partition named 'dump'"). Returns the length.
size_t FormatTargetError(const Status& status, const TargetSpec& spec, std::span<char> out);

// Messages that FormatTargetError expands (compared by address).
inline constexpr char kMsgGptNoName[] = "gpt: no partition has the name asked for";
inline constexpr char kMsgGptTwoNames[] = "gpt: more than one partition has the name asked for";
inline constexpr char kMsgGptNoUuid[] = "gpt: no partition has the unique GUID asked for";
inline constexpr char kMsgGptTwoUuids[] = "gpt: more than one partition has the unique GUID asked for";

}  // namespace salvage::blockdump
