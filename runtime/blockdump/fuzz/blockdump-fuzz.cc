// libFuzzer target for runtime/blockdump: arbitrary bytes as a `salvage.target=` value,
// as a disk holding MBR/GPT partition tables, and as dump header and trailer blocks.
// By hand:
//   clang++-16 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined \
//     -I runtime/base/include -I runtime/stream/include -I drivers/include \
//     -I runtime/blockdump/include runtime/blockdump/target.cc \
//     runtime/blockdump/fuzz/blockdump-fuzz.cc -o blockdump-fuzz
//
// Input: byte 0 picks the sector size (512 or 4096), bytes 1..64 (up to a NUL) are a
// target value, the rest is the disk (zero-padded to whole sectors, at least 3).
// Besides "no crash, no UB" it checks what the resolver and the decoders promise and
// traps when a promise is broken: every read inside the disk, every resolved extent
// inside the disk, a decoded header whose extents and layout hold together.
#include <salvage/blockdump/disk-format.h>
#include <salvage/blockdump/extents.h>
#include <salvage/blockdump/target.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace {

namespace bd = salvage::blockdump;
using salvage::Status;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Disk {
  std::vector<uint8_t> bytes;
  uint32_t sector_size = 512;
  uint32_t SectorSize() const { return sector_size; }
  uint64_t SectorCount() const { return bytes.size() / sector_size; }
  Status Read(uint64_t lba, std::span<uint8_t> dst) {
    Check(dst.size() % sector_size == 0);
    Check(lba <= SectorCount() && dst.size() / sector_size <= SectorCount() - lba);
    std::memcpy(dst.data(), bytes.data() + lba * sector_size, dst.size());
    return Status::Ok();
  }
};

void CheckExtentsOn(const bd::Extents& e, const Disk& d) {
  Check(e.sector_size == d.sector_size);
  Check(bd::CheckExtents(e, d.SectorCount()).ok());
}

void Resolve(Disk& d, std::string_view target, std::span<uint8_t> scratch) {
  salvage::Result<bd::TargetSpec> spec = bd::ParseTarget(target);
  if (!spec.ok()) return;
  salvage::Result<bd::Extents> r = bd::ResolveTarget(d, *spec, scratch);
  if (r.ok()) CheckExtentsOn(*r, d);
  char msg[96];
  const size_t n = bd::FormatTargetError(r.status(), *spec, msg);
  Check(n < sizeof(msg) && msg[n] == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Disk d;
  d.sector_size = (data[0] & 1) ? 4096 : 512;
  size_t tlen = 0;
  while (tlen < 64 && 1 + tlen < size && data[1 + tlen] != 0) ++tlen;
  const std::string_view target(reinterpret_cast<const char*>(data + 1), tlen);
  const size_t rest = size > 65 ? size - 65 : 0;
  d.bytes.assign(data + (size - rest), data + size);
  const size_t min = 3 * d.sector_size;
  d.bytes.resize(d.bytes.size() < min ? min : (d.bytes.size() + d.sector_size - 1) / d.sector_size * d.sector_size, 0);

  // The target as given, then the fixed kinds over the same disk.
  std::vector<uint8_t> scratch(d.sector_size * 2);
  Resolve(d, target, scratch);
  for (std::string_view t : {"disk", "mbr:1", "mbr:4", "gpt-name:dump", "gpt-uuid:6a1b2c3d-4e5f-4061-8899-aabbccddeeff"}) {
    Resolve(d, t, scratch);
  }

  // The disk's first block as a dump header and as a trailer.
  std::array<uint8_t, bd::kBlockSize> block{};
  std::memcpy(block.data(), d.bytes.data(), d.bytes.size() < block.size() ? d.bytes.size() : block.size());
  bd::DumpHeader h;
  if (bd::DecodeHeader(block, &h) == bd::BlockCheck::kOk) {
    Check(h.extents.size >= 1 && h.extents.size <= bd::kMaxExtents);
    Check(h.extents.AreaBytes() == h.area_bytes);
    Check(h.stream_offset == bd::kBlockSize && h.trailer_offset + bd::kBlockSize <= h.area_bytes);
    Check(h.stream_offset + h.stream_capacity == h.trailer_offset);
    // The guard maps the trailer block inside the extents.
    uint64_t sectors = 0;
    const Status s = bd::MapArea(h.extents, h.trailer_offset, bd::kBlockSize, 8, [&](uint64_t lba, uint64_t n, uint64_t) {
      bool inside = false;
      for (const bd::Extent& x : h.extents.view()) {
        if (lba >= x.first_lba && n <= x.count && lba - x.first_lba <= x.count - n) inside = true;
      }
      Check(inside && n >= 1 && n <= 8);
      sectors += n;
      return Status::Ok();
    });
    Check(!s.ok() || sectors * h.extents.sector_size == bd::kBlockSize);
  }
  bd::DumpTrailer t;
  if (bd::DecodeTrailer(block, &t) == bd::BlockCheck::kOk) {
    Check(((t.flags & bd::kDumpComplete) != 0) != ((t.flags & bd::kDumpTruncated) != 0));
  }
  return 0;
}
