// salvage::loader::load — the two files `salvage load` puts into the crash reservation
// besides the data it builds: the salvage image and the purgatory.
//
// The image (boot/include/salvage/boot/boot-params.h): a Linux image header for its
// architecture (arm64 Image "ARM\x64" at 0x38; RISC-V Image "RSC\x05" at 0x38; arm
// zImage magic 0x016f2818 at 0x24), then the boot parameter block at 0x40: "SLVGBOOT",
// version 1, size 64, the early console, flags, and at 0x24 of the block the memory
// footprint (file + .bss + stacks): what the image's segment must span.
//
// The purgatory (purgatory/include/salvage/purgatory/params.h): raw code whose first
// instruction is a branch over the parameter block at 0x40 ("SLVGPURG", version 1),
// which the loader fills: entry, DTB, console, and up to 16 segments with their
// SHA-256. At 0x30 of the block the build records the purgatory's memory footprint
// (file + .bss + stack); a purgatory built before that field existed has 0 there, and
// gets kPurgatoryBssBytes more than its file.
//
// Both are written little-endian byte by byte, so the host's byte order does not matter.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <salvage/base/sha256.h>

#include "board/load/kexec.h"
#include "common/expected.h"

namespace salvage::loader::load {

/// Room after the file of a purgatory that records no footprint (older builds, whose
/// .bss held boot/image.ld's 32 KiB boot stack and 8 KiB exception stack).
inline constexpr uint64_t kPurgatoryBssBytes = 48 * 1024;
/// Largest image and purgatory files salvage accepts (the image is a few hundred KiB).
inline constexpr uint64_t kMaxImageBytes = 64ull << 20;
inline constexpr uint64_t kMaxPurgatoryBytes = 1ull << 20;

/// Console for the image's early console and the purgatory's mismatch message.
struct ConsoleParams {
  uint32_t kind = 0;  ///< 0 none, 1 PL011, 2 16550.
  uint8_t reg_shift = 0;
  uint8_t reg_io_width = 1;
  uint64_t base = 0;
};

struct ImageFile {
  std::string path;
  std::vector<uint8_t> bytes;
  uint32_t footprint = 0;  ///< Boot parameter block 0x24.
};

struct PurgatoryFile {
  std::string path;
  std::vector<uint8_t> bytes;
  uint32_t footprint = 0;  ///< From the parameter block (0x30); 0: not recorded.
};

/// Reads and checks the image for `arch`. Errors (each names the file): unreadable,
/// larger than kMaxImageBytes, no "SLVGBOOT" block at 0x40 ("not a salvage image"), a
/// version or size salvage does not know, a footprint smaller than the file, the Linux
/// header of another architecture ("... is an arm image; this kernel is aarch64").
Expected<ImageFile> ReadImageFile(const std::string& path, const ArchInfo& arch);

/// Reads and checks the purgatory for `arch`. Errors: unreadable, too large, no
/// "SLVGPURG" block at 0x40 or another version, a first instruction that is not the
/// branch `arch`'s purgatory starts with ("built for another architecture?").
Expected<PurgatoryFile> ReadPurgatoryFile(const std::string& path, const ArchInfo& arch);

/// memsz of the image's segment: its footprint rounded up to `page_size`.
uint64_t ImageMemsz(const ImageFile& image, uint64_t page_size);
/// memsz of the purgatory's segment: file + kPurgatoryBssBytes rounded up to `page_size`.
/// memsz of the purgatory's segment: its recorded footprint (at least the file), or the
/// file + kPurgatoryBssBytes when none is recorded, rounded up to `page_size`.
uint64_t PurgatoryMemsz(const PurgatoryFile& purgatory, uint64_t page_size);

/// Bit 0 of the boot parameter flags: reset instead of power off when salvage stops.
inline constexpr uint32_t kBootFlagResetOnStop = 1u << 0;

/// Writes the early console and flags into the image's boot parameter block.
/// Precondition: `image` passed ReadImageFile.
void PatchBootParams(std::vector<uint8_t>& image, const ConsoleParams& console, uint32_t flags);

/// A segment the purgatory checks before it jumps.
struct CheckedSegment {
  uint64_t address = 0;
  std::span<const uint8_t> bytes;
};

/// Fills the purgatory's parameter block: entry (the image's address), the DTB's
/// address, the console, and each segment's address, size and SHA-256. Returns false
/// (and changes nothing) for more than 16 segments. Precondition: `purgatory` passed
/// ReadPurgatoryFile.
bool FillPurgatoryParams(std::vector<uint8_t>& purgatory, uint64_t entry, uint64_t dtb, const ConsoleParams& console,
                         std::span<const CheckedSegment> segments);

/// Lowercase hex of a digest.
std::string HexDigest(const Sha256::Digest& digest);

}  // namespace salvage::loader::load
