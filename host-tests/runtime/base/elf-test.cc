// salvage/base/elf.h and byte-order.h against an independent definition: the C library's
// <elf.h> (glibc), its structures' offsets and its constants.
#include <salvage/base/byte-order.h>
#include <salvage/base/elf.h>

#include <elf.h>
#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstring>

namespace salvage::elf {
namespace {

static_assert(kEiNident == EI_NIDENT && kEiClass == EI_CLASS && kEiData == EI_DATA && kEiVersion == EI_VERSION);
static_assert(kElfMag[0] == ELFMAG0 && kElfMag[1] == ELFMAG1 && kElfMag[2] == ELFMAG2 && kElfMag[3] == ELFMAG3);
static_assert(kElfClass32 == ELFCLASS32 && kElfClass64 == ELFCLASS64);
static_assert(kElfData2Lsb == ELFDATA2LSB && kElfData2Msb == ELFDATA2MSB && kEvCurrent == EV_CURRENT);
static_assert(kEtCore == ET_CORE);
static_assert(kEmArm == EM_ARM && kEmX86_64 == EM_X86_64 && kEmAarch64 == EM_AARCH64 && kEmRiscv == EM_RISCV);
static_assert(kPtLoad == PT_LOAD && kPtNote == PT_NOTE && kPfX == PF_X && kPfW == PF_W && kPfR == PF_R);
static_assert(kPnXnum == PN_XNUM && kShtNull == SHT_NULL && kShnUndef == SHN_UNDEF && kNtPrstatus == NT_PRSTATUS);
static_assert(kNhdrSize == sizeof(Elf32_Nhdr) && kNhdrSize == sizeof(Elf64_Nhdr));
static_assert(kNNamesz == offsetof(Elf64_Nhdr, n_namesz) && kNDescsz == offsetof(Elf64_Nhdr, n_descsz) &&
              kNType == offsetof(Elf64_Nhdr, n_type));

#define SALVAGE_CHECK_LAYOUT(L, E, P, S)                                                                           \
  static_assert(L.ehdr_size == sizeof(E) && L.phdr_size == sizeof(P) && L.shdr_size == sizeof(S));                 \
  static_assert(L.word == sizeof(E::e_phoff) && L.word == sizeof(P::p_memsz) && L.word == sizeof(S::sh_size));     \
  static_assert(L.e_type == offsetof(E, e_type) && L.e_machine == offsetof(E, e_machine) &&                        \
                L.e_version == offsetof(E, e_version) && L.e_entry == offsetof(E, e_entry) &&                      \
                L.e_phoff == offsetof(E, e_phoff) && L.e_shoff == offsetof(E, e_shoff) &&                          \
                L.e_flags == offsetof(E, e_flags) && L.e_ehsize == offsetof(E, e_ehsize) &&                        \
                L.e_phentsize == offsetof(E, e_phentsize) && L.e_phnum == offsetof(E, e_phnum) &&                  \
                L.e_shentsize == offsetof(E, e_shentsize) && L.e_shnum == offsetof(E, e_shnum) &&                  \
                L.e_shstrndx == offsetof(E, e_shstrndx));                                                          \
  static_assert(L.p_type == offsetof(P, p_type) && L.p_flags == offsetof(P, p_flags) &&                            \
                L.p_offset == offsetof(P, p_offset) && L.p_vaddr == offsetof(P, p_vaddr) &&                        \
                L.p_paddr == offsetof(P, p_paddr) && L.p_filesz == offsetof(P, p_filesz) &&                        \
                L.p_memsz == offsetof(P, p_memsz) && L.p_align == offsetof(P, p_align));                           \
  static_assert(L.sh_name == offsetof(S, sh_name) && L.sh_type == offsetof(S, sh_type) &&                          \
                L.sh_flags == offsetof(S, sh_flags) && L.sh_addr == offsetof(S, sh_addr) &&                        \
                L.sh_offset == offsetof(S, sh_offset) && L.sh_size == offsetof(S, sh_size) &&                      \
                L.sh_link == offsetof(S, sh_link) && L.sh_info == offsetof(S, sh_info) &&                          \
                L.sh_addralign == offsetof(S, sh_addralign) && L.sh_entsize == offsetof(S, sh_entsize))
SALVAGE_CHECK_LAYOUT(kElf64, Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr);
SALVAGE_CHECK_LAYOUT(kElf32, Elf32_Ehdr, Elf32_Phdr, Elf32_Shdr);
#undef SALVAGE_CHECK_LAYOUT

// The writers against glibc's structures read back on this (little-endian) host.
TEST(ElfTest, CoreHeadersReadBackThroughElfH) {
  std::array<uint8_t, sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + sizeof(Elf64_Shdr)> b{};
  StoreCoreEhdr(b.data(), kElf64, {.machine = kEmAarch64, .phoff = 64, .phnum = kPnXnum, .shoff = 120, .shnum = 1});
  StorePhdr(b.data() + 64, kElf64,
            {.type = kPtLoad, .flags = kPfR | kPfX, .offset = 0x1000, .vaddr = 0xffff000000001000,
             .paddr = 0x40001000, .filesz = 0x2000, .memsz = 0x3000});
  StoreExtnumShdr(b.data() + 120, kElf64, 70000);
  Elf64_Ehdr eh;
  Elf64_Phdr ph;
  Elf64_Shdr sh;
  std::memcpy(&eh, b.data(), sizeof(eh));
  std::memcpy(&ph, b.data() + 64, sizeof(ph));
  std::memcpy(&sh, b.data() + 120, sizeof(sh));
  EXPECT_EQ(std::memcmp(eh.e_ident, ELFMAG, SELFMAG), 0);
  EXPECT_EQ(eh.e_ident[EI_CLASS], ELFCLASS64);
  EXPECT_EQ(eh.e_ident[EI_DATA], ELFDATA2LSB);
  EXPECT_EQ(eh.e_ident[EI_VERSION], EV_CURRENT);
  EXPECT_EQ(eh.e_type, ET_CORE);
  EXPECT_EQ(eh.e_machine, EM_AARCH64);
  EXPECT_EQ(eh.e_version, EV_CURRENT);
  EXPECT_EQ(eh.e_phoff, 64u);
  EXPECT_EQ(eh.e_ehsize, sizeof(Elf64_Ehdr));
  EXPECT_EQ(eh.e_phentsize, sizeof(Elf64_Phdr));
  EXPECT_EQ(eh.e_phnum, PN_XNUM);
  EXPECT_EQ(eh.e_shoff, 120u);
  EXPECT_EQ(eh.e_shentsize, sizeof(Elf64_Shdr));
  EXPECT_EQ(eh.e_shnum, 1);
  EXPECT_EQ(eh.e_shstrndx, SHN_UNDEF);
  EXPECT_EQ(ph.p_type, PT_LOAD);
  EXPECT_EQ(ph.p_flags, static_cast<uint32_t>(PF_R | PF_X));
  EXPECT_EQ(ph.p_offset, 0x1000u);
  EXPECT_EQ(ph.p_vaddr, 0xffff000000001000u);
  EXPECT_EQ(ph.p_paddr, 0x40001000u);
  EXPECT_EQ(ph.p_filesz, 0x2000u);
  EXPECT_EQ(ph.p_memsz, 0x3000u);
  EXPECT_EQ(ph.p_align, 0u);
  EXPECT_EQ(sh.sh_type, SHT_NULL);
  EXPECT_EQ(sh.sh_size, 1u);
  EXPECT_EQ(sh.sh_link, SHN_UNDEF);
  EXPECT_EQ(sh.sh_info, 70000u);

  std::array<uint8_t, sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr)> c{};
  StoreCoreEhdr(c.data(), kElf32, {.machine = kEmArm, .phoff = 52, .phnum = 1});
  StorePhdr(c.data() + 52, kElf32, {.type = kPtNote, .offset = 0x80, .filesz = 0x20, .memsz = 0x20});
  Elf32_Ehdr eh32;
  Elf32_Phdr ph32;
  std::memcpy(&eh32, c.data(), sizeof(eh32));
  std::memcpy(&ph32, c.data() + 52, sizeof(ph32));
  EXPECT_EQ(eh32.e_ident[EI_CLASS], ELFCLASS32);
  EXPECT_EQ(eh32.e_machine, EM_ARM);
  EXPECT_EQ(eh32.e_phoff, 52u);
  EXPECT_EQ(eh32.e_phentsize, sizeof(Elf32_Phdr));
  EXPECT_EQ(eh32.e_phnum, 1);
  EXPECT_EQ(eh32.e_shoff, 0u);
  EXPECT_EQ(eh32.e_shentsize, 0);
  EXPECT_EQ(eh32.e_shnum, 0);
  EXPECT_EQ(ph32.p_type, PT_NOTE);
  EXPECT_EQ(ph32.p_flags, 0u);
  EXPECT_EQ(ph32.p_offset, 0x80u);
  EXPECT_EQ(ph32.p_filesz, 0x20u);
  EXPECT_EQ(ph32.p_memsz, 0x20u);
}

TEST(ByteOrderTest, LittleAndBigEndian) {
  uint8_t b[8];
  StoreLe64(b, 0x0807060504030201);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(b[i], i + 1);
  EXPECT_EQ(LoadLe16(b), 0x0201);
  EXPECT_EQ(LoadLe32(b), 0x04030201u);
  EXPECT_EQ(LoadLe64(b), 0x0807060504030201u);
  EXPECT_EQ(LoadLe(b + 1, 3), 0x040302u);
  EXPECT_EQ(LoadBe32(b), 0x01020304u);
  StoreLe32(b, 0xa1b2c3d4);
  StoreLe16(b + 4, 0xe5f6);
  StoreLe(b + 6, 0x1234, 2);
  EXPECT_EQ(LoadLe64(b), 0x1234e5f6a1b2c3d4u);
  uint32_t word;
  std::memcpy(&word, b, 4);
  EXPECT_EQ(FromBe32(word), LoadBe32(b));
}

}  // namespace
}  // namespace salvage::elf
