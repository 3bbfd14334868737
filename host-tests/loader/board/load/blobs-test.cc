// Tests for loader/board/load/blobs: the checks on the image and purgatory files (magic,
// version, footprint, architecture), the boot parameter and purgatory parameter
// writers (read back through the structures the image and the purgatory use), and the
// purgatory's .bss allowance against the built purgatory.elf.
#include "board/load/blobs.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include <salvage/boot/boot-params.h>
#include <salvage/purgatory/params.h>

#include "load-test-util.h"

namespace salvage::loader::load {
namespace {

static_assert(std::endian::native == std::endian::little, "the checks copy the parameter structures from the bytes");

using testing::FakeImage;
using testing::FakePurgatory;
using testing::Scratch;
using testing::WriteBytes;

ArchInfo Arch(const char* name) { return *ArchFromName(name); }

TEST(BlobsTest, ArchNames) {
  EXPECT_EQ(ArchFromName("aarch64")->e_machine, 183);
  EXPECT_EQ(ArchFromName("arm64")->kexec_arch, 183ul << 16);
  EXPECT_EQ(ArchFromName("armv7l")->name, "arm");
  EXPECT_EQ(ArchFromName("armv6l")->kexec_arch, 40ul << 16);
  EXPECT_EQ(ArchFromName("armhf")->e_machine, 40);
  EXPECT_EQ(ArchFromName("riscv64")->kexec_arch, 243ul << 16);
  EXPECT_FALSE(ArchFromName("x86_64"));
  EXPECT_FALSE(ArchFromName("armv7"));
  EXPECT_FALSE(ArchFromName("riscv32"));
}

TEST(BlobsTest, ReadsFakeImagesOfEachArchitecture) {
  Scratch dir;
  for (const char* arch : {"aarch64", "arm", "riscv64"}) {
    SCOPED_TRACE(arch);
    const std::string path = dir.At(std::string("/") + arch + ".img");
    WriteBytes(path, FakeImage(arch, 0x3000, 0x9100));
    auto image = ReadImageFile(path, Arch(arch));
    ASSERT_TRUE(image.ok()) << image.error();
    EXPECT_EQ(image->footprint, 0x9100u);
    EXPECT_EQ(ImageMemsz(*image, 4096), 0xa000u);
    const std::string ppath = dir.At(std::string("/") + arch + ".bin");
    WriteBytes(ppath, FakePurgatory(arch));
    auto p = ReadPurgatoryFile(ppath, Arch(arch));
    EXPECT_TRUE(p.ok()) << p.error();
  }
}

TEST(BlobsTest, ImageErrors) {
  Scratch dir;
  const std::string path = dir.At("/x.img");
  auto err = [&](const std::vector<uint8_t>& bytes, const char* arch = "aarch64") {
    WriteBytes(path, bytes);
    auto r = ReadImageFile(path, Arch(arch));
    EXPECT_FALSE(r.ok());
    return r.error();
  };
  EXPECT_EQ(err(std::vector<uint8_t>(0x1000, 0)), path + ": not a salvage image (no SLVGBOOT boot parameter block at 0x40)");
  std::vector<uint8_t> v2 = FakeImage("aarch64");
  v2[0x48] = 2;
  EXPECT_NE(err(v2).find("boot parameter block version 2, size 64"), std::string::npos);
  EXPECT_NE(err(FakeImage("aarch64", 0x3000, 0x2000)).find("smaller than the file"), std::string::npos);
  EXPECT_EQ(err(FakeImage("arm"), "aarch64"),
            path + ": is a salvage image for arm, and the kernel is aarch64: use the aarch64 image (salvage-aarch64.img)");
  EXPECT_NE(err(FakeImage("aarch64"), "riscv64").find("is a salvage image for aarch64, and the kernel is riscv64"),
            std::string::npos);
  auto missing = ReadImageFile(dir.At("/none.img"), Arch("arm"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("No such file or directory (the image; give its path with --image)"), std::string::npos)
      << missing.error();
}

TEST(BlobsTest, PurgatoryErrors) {
  Scratch dir;
  const std::string path = dir.At("/p.bin");
  WriteBytes(path, FakePurgatory("riscv64"));
  auto wrong = ReadPurgatoryFile(path, Arch("aarch64"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("is it the purgatory of another architecture? (use purgatory-aarch64.bin)"),
            std::string::npos);
  WriteBytes(path, FakeImage("aarch64"));
  auto not_purgatory = ReadPurgatoryFile(path, Arch("aarch64"));
  ASSERT_FALSE(not_purgatory.ok());
  EXPECT_EQ(not_purgatory.error(), path + ": not a salvage purgatory (no SLVGPURG parameter block at 0x40)");
  std::vector<uint8_t> v7 = FakePurgatory("arm");
  v7[0x48] = 7;
  WriteBytes(path, v7);
  EXPECT_FALSE(ReadPurgatoryFile(path, Arch("arm")).ok());
}

TEST(BlobsTest, BootParamsPatch) {
  std::vector<uint8_t> image = FakeImage("riscv64");
  const std::vector<uint8_t> before = image;
  PatchBootParams(image, ConsoleParams{2, 2, 4, 0x10000000}, kBootFlagResetOnStop);
  boot::BootParams bp;
  std::memcpy(&bp, &image[boot::kBootParamsOffset], sizeof(bp));
  EXPECT_EQ(std::memcmp(bp.magic, "SLVGBOOT", 8), 0);
  EXPECT_EQ(bp.earlycon_kind, static_cast<uint32_t>(boot::EarlyConsoleKind::kNs16550));
  EXPECT_EQ(bp.earlycon_reg_shift, 2);
  EXPECT_EQ(bp.earlycon_reg_io_width, 4);
  EXPECT_EQ(bp.earlycon_base, 0x10000000u);
  EXPECT_EQ(bp.flags, boot::kFlagResetOnStop);
  EXPECT_EQ(bp.footprint, 0x9000u);
  // Nothing outside the console and flags fields changed.
  for (size_t i = 0; i < image.size(); ++i) {
    if (i >= 0x50 && i < 0x64) continue;
    ASSERT_EQ(image[i], before[i]) << "byte " << i;
  }
}

TEST(BlobsTest, PurgatoryParamsFill) {
  std::vector<uint8_t> p = FakePurgatory("aarch64");
  const std::vector<uint8_t> a(1000, 0xaa), b = {1, 2, 3};
  const CheckedSegment segs[] = {{0x7b000000, a}, {0x7b0bb000, b}};
  ASSERT_TRUE(FillPurgatoryParams(p, 0x7b000000, 0x7b0bb000, ConsoleParams{1, 0, 1, 0x9000000}, segs));
  purgatory::Params params;
  std::memcpy(&params, &p[purgatory::kParamsOffset], sizeof(params));
  EXPECT_EQ(std::memcmp(params.magic, "SLVGPURG", 8), 0);
  EXPECT_EQ(params.version, purgatory::kVersion);
  EXPECT_EQ(params.segment_count, 2u);
  EXPECT_EQ(params.entry, 0x7b000000u);
  EXPECT_EQ(params.dtb, 0x7b0bb000u);
  EXPECT_EQ(params.console_kind, 1u);
  EXPECT_EQ(params.console_reg_io_width, 1);
  EXPECT_EQ(params.console_base, 0x9000000u);
  EXPECT_EQ(params.segments[0].address, 0x7b000000u);
  EXPECT_EQ(params.segments[0].size, 1000u);
  const Sha256::Digest da = Sha256::Hash(a.data(), a.size());
  EXPECT_EQ(std::memcmp(params.segments[0].sha256, da.data(), 32), 0);
  EXPECT_EQ(params.segments[1].size, 3u);
  // FIPS 180-4 example: SHA-256("abc").
  EXPECT_EQ(HexDigest(Sha256::Hash("abc", 3)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(params.segments[2].size, 0u);

  std::vector<CheckedSegment> too_many(17, CheckedSegment{0x1000, b});
  const std::vector<uint8_t> copy = p;
  EXPECT_FALSE(FillPurgatoryParams(p, 1, 2, {}, too_many));
  EXPECT_EQ(p, copy);
}

// The end of the purgatory's memory (its last PT_LOAD's p_vaddr + p_memsz; linked at 0)
// from its ELF.
template <class Ehdr, class Phdr>
uint64_t MemoryEnd(const std::vector<uint8_t>& elf) {
  Ehdr eh;
  std::memcpy(&eh, elf.data(), sizeof(eh));
  uint64_t end = 0;
  for (size_t i = 0; i < eh.e_phnum; ++i) {
    Phdr ph;
    std::memcpy(&ph, elf.data() + eh.e_phoff + i * sizeof(Phdr), sizeof(ph));
    if (ph.p_type == PT_LOAD) end = std::max<uint64_t>(end, ph.p_vaddr + ph.p_memsz);
  }
  return end;
}

TEST(BlobsTest, PurgatoryMemszCoversTheBuiltPurgatorysBss) {
  int checked = 0;
  for (const char* arch : {"aarch64", "arm", "riscv64"}) {
    const std::string elf_path = testing::BuiltPurgatoryElf(arch), bin_path = testing::BuiltPurgatory(arch);
    if (elf_path.empty() || bin_path.empty()) continue;
    SCOPED_TRACE(arch);
    const std::vector<uint8_t> elf = testing::ReadBytes(elf_path);
    ASSERT_GE(elf.size(), sizeof(Elf64_Ehdr));
    const uint64_t end = elf[EI_CLASS] == ELFCLASS64 ? MemoryEnd<Elf64_Ehdr, Elf64_Phdr>(elf)
                                                     : MemoryEnd<Elf32_Ehdr, Elf32_Phdr>(elf);
    const std::vector<uint8_t> bin = testing::ReadBytes(bin_path);
    EXPECT_GT(end, bin.size());
    // The footprint the build records in the parameter block is the ELF's memory end,
    // rounded up to a page (boot/image.ld aligns _end).
    ASSERT_GE(bin.size(), 0x74u);
    const uint32_t recorded = bin[0x70] | bin[0x71] << 8 | bin[0x72] << 16 | static_cast<uint32_t>(bin[0x73]) << 24;
    EXPECT_EQ(recorded, (end + 4095) / 4096 * 4096);
    PurgatoryFile p{bin_path, bin, recorded};
    EXPECT_EQ(PurgatoryMemsz(p, 4096), (end + 4095) / 4096 * 4096);
    // A purgatory from before the field: the file plus the old allowance.
    p.footprint = 0;
    EXPECT_EQ(PurgatoryMemsz(p, 4096), (bin.size() + kPurgatoryBssBytes + 4095) / 4096 * 4096);
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no purgatory was built";
}

}  // namespace
}  // namespace salvage::loader::load
