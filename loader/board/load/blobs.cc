// salvage::loader::load — the image and purgatory files (see blobs.h).
#include "board/load/blobs.h"

#include <algorithm>
#include <cstring>

#include <salvage/base/byte-order.h>
#include <salvage/base/phys.h>
#include <salvage/boot/boot-params.h>
#include <salvage/purgatory/params.h>

#include "common/text.h"

namespace salvage::loader::load {
namespace {

// Offsets inside the blocks, from the structures themselves.
constexpr size_t kBoot = boot::kBootParamsOffset;
constexpr size_t kPurg = purgatory::kParamsOffset;
using boot::BootParams;
using purgatory::Params;

Expected<std::vector<uint8_t>> ReadBinary(const std::string& path, uint64_t max, const char* what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    return Fail(path + ": " + std::strerror(errno) + " (the " + what + "; give its path with --" +
                (std::strcmp(what, "image") == 0 ? "image" : "purgatory") + ")");
  }
  std::vector<uint8_t> out;
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    out.insert(out.end(), buf, buf + n);
    if (out.size() > max) {
      std::fclose(f);
      return Fail(path + ": larger than " + Mib(max) + ": not a salvage " + what);
    }
  }
  const bool error = std::ferror(f) != 0;
  std::fclose(f);
  if (error) return Fail(path + ": read error");
  return out;
}

// Which architecture's Linux image header `b` carries; "" when none.
std::string_view HeaderArch(const std::vector<uint8_t>& b) {
  if (b.size() >= 0x40 && std::memcmp(&b[0x38], "ARM\x64", 4) == 0) return "aarch64";
  if (b.size() >= 0x40 && std::memcmp(&b[0x38], "RSC\x05", 4) == 0) return "riscv64";
  if (b.size() >= 0x30 && LoadLe32(&b[0x24]) == 0x016f2818) return "arm";
  return "";
}

}  // namespace

Expected<ImageFile> ReadImageFile(const std::string& path, const ArchInfo& arch) {
  auto bytes = ReadBinary(path, kMaxImageBytes, "image");
  if (!bytes.ok()) return bytes.failure();
  ImageFile image{path, std::move(*bytes), 0};
  const std::vector<uint8_t>& b = image.bytes;
  if (b.size() < kBoot + sizeof(BootParams) ||
      std::memcmp(&b[kBoot], boot::kBootParamsMagic, sizeof(boot::kBootParamsMagic)) != 0) {
    return Fail(path + ": not a salvage image (no SLVGBOOT boot parameter block at 0x40)");
  }
  const uint32_t version = LoadLe32(&b[kBoot + offsetof(BootParams, version)]);
  const uint32_t size = LoadLe32(&b[kBoot + offsetof(BootParams, size)]);
  if (version != boot::kBootParamsVersion || size != sizeof(BootParams)) {
    return Fail(path + ": boot parameter block version " + std::to_string(version) + ", size " + std::to_string(size) +
                ": this salvage load knows version 1, size 64 (use the image and salvage command of one release)");
  }
  image.footprint = LoadLe32(&b[kBoot + offsetof(BootParams, footprint)]);
  if (image.footprint < b.size()) {
    return Fail(path + ": the memory footprint in its boot parameters (" + std::to_string(image.footprint) +
                " bytes) is smaller than the file (" + std::to_string(b.size()) + " bytes): a damaged image");
  }
  const std::string_view header = HeaderArch(b);
  if (header != arch.name) {
    return Fail(path + ": " + (header.empty() ? std::string("has no Linux image header salvage knows")
                                              : "is a salvage image for " + std::string(header)) +
                ", and the kernel is " + std::string(arch.name) + ": use the " + std::string(arch.name) +
                " image (salvage-" + std::string(arch.name) + ".img)");
  }
  return image;
}

Expected<PurgatoryFile> ReadPurgatoryFile(const std::string& path, const ArchInfo& arch) {
  auto bytes = ReadBinary(path, kMaxPurgatoryBytes, "purgatory");
  if (!bytes.ok()) return bytes.failure();
  PurgatoryFile p{path, std::move(*bytes)};
  const std::vector<uint8_t>& b = p.bytes;
  if (b.size() < kPurg + sizeof(Params) || std::memcmp(&b[kPurg], purgatory::kMagic.data(), purgatory::kMagic.size()) != 0) {
    return Fail(path + ": not a salvage purgatory (no SLVGPURG parameter block at 0x40)");
  }
  // The built file carries only the magic; the loader writes the version (a file a
  // loader already filled has 1).
  const uint32_t version = LoadLe32(&b[kPurg + offsetof(Params, version)]);
  if (version != 0 && version != purgatory::kVersion) {
    return Fail(path + ": purgatory parameter block version " + std::to_string(version) +
                ": this salvage load knows version 1");
  }
  // The first instruction branches over the parameter block (purgatory/<arch>/entry.S).
  const uint32_t insn = LoadLe32(&b[0]);
  bool branch = false;
  if (arch.name == "aarch64") branch = (insn >> 26) == 0x05;              // B imm26
  else if (arch.name == "arm") branch = (insn >> 24) == 0xea;             // B (always)
  else if (arch.name == "riscv64") branch = (insn & 0xfff) == 0x06f;      // JAL x0 (j)
  if (!branch) {
    return Fail(path + ": does not start with the branch an " + std::string(arch.name) +
                " purgatory starts with: is it the purgatory of another architecture? (use purgatory-" +
                std::string(arch.name) + ".bin)");
  }
  p.footprint = LoadLe32(&b[kPurg + offsetof(Params, footprint)]);
  return p;
}

uint64_t ImageMemsz(const ImageFile& image, uint64_t page_size) { return AlignUp(image.footprint, page_size); }

uint64_t PurgatoryMemsz(const PurgatoryFile& purgatory, uint64_t page_size) {
  const uint64_t file_bytes = purgatory.bytes.size();
  if (purgatory.footprint == 0) return AlignUp(file_bytes + kPurgatoryBssBytes, page_size);
  return AlignUp(std::max<uint64_t>(purgatory.footprint, file_bytes), page_size);
}

void PatchBootParams(std::vector<uint8_t>& image, const ConsoleParams& console, uint32_t flags) {
  StoreLe32(&image[kBoot + offsetof(BootParams, earlycon_kind)], console.kind);
  image[kBoot + offsetof(BootParams, earlycon_reg_shift)] = console.reg_shift;
  image[kBoot + offsetof(BootParams, earlycon_reg_io_width)] = console.reg_io_width;
  StoreLe16(&image[kBoot + offsetof(BootParams, reserved0)], 0);
  StoreLe64(&image[kBoot + offsetof(BootParams, earlycon_base)], console.base);
  StoreLe32(&image[kBoot + offsetof(BootParams, flags)], flags);
}

bool FillPurgatoryParams(std::vector<uint8_t>& p, uint64_t entry, uint64_t dtb, const ConsoleParams& console,
                         std::span<const CheckedSegment> segments) {
  if (segments.size() > purgatory::kMaxSegments) return false;
  StoreLe32(&p[kPurg + offsetof(Params, version)], purgatory::kVersion);
  StoreLe32(&p[kPurg + offsetof(Params, segment_count)], static_cast<uint32_t>(segments.size()));
  StoreLe64(&p[kPurg + offsetof(Params, entry)], entry);
  StoreLe64(&p[kPurg + offsetof(Params, dtb)], dtb);
  StoreLe32(&p[kPurg + offsetof(Params, console_kind)], console.kind);
  p[kPurg + offsetof(Params, console_reg_shift)] = console.reg_shift;
  p[kPurg + offsetof(Params, console_reg_io_width)] = console.reg_io_width;
  StoreLe16(&p[kPurg + offsetof(Params, reserved0)], 0);
  StoreLe64(&p[kPurg + offsetof(Params, console_base)], console.base);
  for (uint32_t i = 0; i < purgatory::kMaxSegments; ++i) {
    const size_t off = kPurg + offsetof(Params, segments) + i * sizeof(purgatory::Segment);
    uint64_t addr = 0, size = 0;
    Sha256::Digest digest{};
    if (i < segments.size()) {
      addr = segments[i].address;
      size = segments[i].bytes.size();
      digest = Sha256::Hash(segments[i].bytes.data(), segments[i].bytes.size());
    }
    StoreLe64(&p[off + offsetof(purgatory::Segment, address)], addr);
    StoreLe64(&p[off + offsetof(purgatory::Segment, size)], size);
    std::memcpy(&p[off + offsetof(purgatory::Segment, sha256)], digest.data(), digest.size());
  }
  return true;
}

std::string HexDigest(const Sha256::Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace salvage::loader::load
