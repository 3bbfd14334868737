// salvage::elf — the ELF ABI as salvage reads and writes it: the one place for its
// constants and for the byte offsets of Elf32/Elf64 Ehdr, Phdr, Shdr and Nhdr fields.
// Used by the image (elfcore), the loader (elfcorehdr builder, vmcoreinfo, vmcore
// writer) and the host tools; host tests check it against the C library's <elf.h>.
//
// Sources: System V ABI (gABI) "Object Files" chapter ("ELF Identification", "ELF
// Header", "Sections", "Program Header", "Note Section"), ELF-64 Object File Format 1.5,
// and Linux include/uapi/linux/elf.h for the core-file note types.
//
// Every field is read and written byte by byte, little-endian (salvage/base/byte-order.h),
// so no structure's padding or the host's byte order matters, and the buffers need no
// alignment. Freestanding: only <cstddef> <cstdint>.
#pragma once

#include <cstddef>
#include <cstdint>

#include "salvage/base/byte-order.h"

namespace salvage::elf {

// ---- e_ident (gABI "ELF Identification") ------------------------------------------------
inline constexpr size_t kEiNident = 16;
inline constexpr size_t kEiClass = 4;
inline constexpr size_t kEiData = 5;
inline constexpr size_t kEiVersion = 6;
inline constexpr uint8_t kElfMag[4] = {0x7f, 'E', 'L', 'F'};  // ELFMAG, at EI_MAG0..3
inline constexpr uint8_t kElfClass32 = 1;                     // ELFCLASS32
inline constexpr uint8_t kElfClass64 = 2;                     // ELFCLASS64
inline constexpr uint8_t kElfData2Lsb = 1;                    // ELFDATA2LSB
inline constexpr uint8_t kElfData2Msb = 2;                    // ELFDATA2MSB
inline constexpr uint32_t kEvCurrent = 1;                     // EV_CURRENT (e_ident too)

// ---- header values ----------------------------------------------------------------------
inline constexpr uint16_t kEtCore = 4;  // e_type ET_CORE
// e_machine values of salvage's targets (and of the host, for decoders' messages).
inline constexpr uint16_t kEmArm = 40;       // EM_ARM
inline constexpr uint16_t kEmX86_64 = 62;    // EM_X86_64
inline constexpr uint16_t kEmAarch64 = 183;  // EM_AARCH64
inline constexpr uint16_t kEmRiscv = 243;    // EM_RISCV
// p_type and p_flags.
inline constexpr uint32_t kPtLoad = 1;  // PT_LOAD
inline constexpr uint32_t kPtNote = 4;  // PT_NOTE
inline constexpr uint32_t kPfX = 1, kPfW = 2, kPfR = 4;
// Extended numbering: e_phnum = PN_XNUM, the real count in section header 0's sh_info.
inline constexpr uint16_t kPnXnum = 0xffff;
inline constexpr uint32_t kShtNull = 0;   // SHT_NULL
inline constexpr uint16_t kShnUndef = 0;  // SHN_UNDEF
// Note type of a CPU's registers at the crash (Linux NT_PRSTATUS).
inline constexpr uint32_t kNtPrstatus = 1;

// ---- Elf32_Nhdr / Elf64_Nhdr (the same): n_namesz, n_descsz, n_type, each 32 bits ------
inline constexpr size_t kNhdrSize = 12;
inline constexpr size_t kNNamesz = 0, kNDescsz = 4, kNType = 8;

// ---- Ehdr / Phdr / Shdr field offsets per class -----------------------------------------
// Byte offsets of every header field, and `word`: the width of the class's Addr, Off and
// Xword/Word-sized fields (4 for ELF32, 8 for ELF64). Fields not listed are Half (2
// bytes: e_type, e_machine, e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum,
// e_shstrndx) or Word (4 bytes: e_version, e_flags, p_type, p_flags, sh_name, sh_type,
// sh_link, sh_info).
struct Layout {
  uint8_t elf_class;  // kElfClass32 / kElfClass64
  size_t word;
  // Ehdr
  size_t ehdr_size, e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize,
      e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
  // Phdr
  size_t phdr_size, p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
  // Shdr
  size_t shdr_size, sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info,
      sh_addralign, sh_entsize;
};

inline constexpr Layout kElf64{
    .elf_class = kElfClass64, .word = 8,
    .ehdr_size = 64, .e_type = 16, .e_machine = 18, .e_version = 20, .e_entry = 24, .e_phoff = 32,
    .e_shoff = 40, .e_flags = 48, .e_ehsize = 52, .e_phentsize = 54, .e_phnum = 56,
    .e_shentsize = 58, .e_shnum = 60, .e_shstrndx = 62,
    .phdr_size = 56, .p_type = 0, .p_flags = 4, .p_offset = 8, .p_vaddr = 16, .p_paddr = 24,
    .p_filesz = 32, .p_memsz = 40, .p_align = 48,
    .shdr_size = 64, .sh_name = 0, .sh_type = 4, .sh_flags = 8, .sh_addr = 16, .sh_offset = 24,
    .sh_size = 32, .sh_link = 40, .sh_info = 44, .sh_addralign = 48, .sh_entsize = 56};

inline constexpr Layout kElf32{
    .elf_class = kElfClass32, .word = 4,
    .ehdr_size = 52, .e_type = 16, .e_machine = 18, .e_version = 20, .e_entry = 24, .e_phoff = 28,
    .e_shoff = 32, .e_flags = 36, .e_ehsize = 40, .e_phentsize = 42, .e_phnum = 44,
    .e_shentsize = 46, .e_shnum = 48, .e_shstrndx = 50,
    .phdr_size = 32, .p_type = 0, .p_flags = 24, .p_offset = 4, .p_vaddr = 8, .p_paddr = 12,
    .p_filesz = 16, .p_memsz = 20, .p_align = 28,
    .shdr_size = 40, .sh_name = 0, .sh_type = 4, .sh_flags = 8, .sh_addr = 12, .sh_offset = 16,
    .sh_size = 20, .sh_link = 24, .sh_info = 28, .sh_addralign = 32, .sh_entsize = 36};

// ---- writing a little-endian core file's headers ----------------------------------------

/// The Ehdr fields a core file sets; the rest are written as the class requires
/// (e_ident, e_version, e_ehsize, e_phentsize; e_shentsize when there are sections) or 0.
struct CoreEhdr {
  uint16_t machine = 0;
  uint64_t phoff = 0;
  uint16_t phnum = 0;
  uint64_t shoff = 0;
  uint16_t shnum = 0;
};

/// Writes an ET_CORE, ELFDATA2LSB header of class `l` to out[0, l.ehdr_size). The bytes
/// not set (e_ident padding, e_entry, e_flags, e_shstrndx = SHN_UNDEF) must be zero.
constexpr void StoreCoreEhdr(uint8_t* out, const Layout& l, const CoreEhdr& e) {
  for (size_t i = 0; i < sizeof(kElfMag); ++i) out[i] = kElfMag[i];
  out[kEiClass] = l.elf_class;
  out[kEiData] = kElfData2Lsb;
  out[kEiVersion] = kEvCurrent;  // EI_OSABI = ELFOSABI_NONE, padding 0
  StoreLe16(out + l.e_type, kEtCore);
  StoreLe16(out + l.e_machine, e.machine);
  StoreLe32(out + l.e_version, kEvCurrent);
  StoreLe(out + l.e_phoff, e.phoff, l.word);
  StoreLe16(out + l.e_ehsize, static_cast<uint16_t>(l.ehdr_size));
  StoreLe16(out + l.e_phentsize, static_cast<uint16_t>(l.phdr_size));
  StoreLe16(out + l.e_phnum, e.phnum);
  if (e.shnum != 0) {
    StoreLe(out + l.e_shoff, e.shoff, l.word);
    StoreLe16(out + l.e_shentsize, static_cast<uint16_t>(l.shdr_size));
    StoreLe16(out + l.e_shnum, e.shnum);
    StoreLe16(out + l.e_shstrndx, kShnUndef);
  }
}

/// One program header (p_align is written as 0).
struct Phdr {
  uint32_t type = 0;
  uint32_t flags = 0;
  uint64_t offset = 0;
  uint64_t vaddr = 0;
  uint64_t paddr = 0;
  uint64_t filesz = 0;
  uint64_t memsz = 0;
};

/// Writes `p` to out[0, l.phdr_size), whose other bytes must be zero.
constexpr void StorePhdr(uint8_t* out, const Layout& l, const Phdr& p) {
  StoreLe32(out + l.p_type, p.type);
  StoreLe32(out + l.p_flags, p.flags);
  StoreLe(out + l.p_offset, p.offset, l.word);
  StoreLe(out + l.p_vaddr, p.vaddr, l.word);
  StoreLe(out + l.p_paddr, p.paddr, l.word);
  StoreLe(out + l.p_filesz, p.filesz, l.word);
  StoreLe(out + l.p_memsz, p.memsz, l.word);
}

/// Writes section header 0 of extended numbering (gABI; Linux fill_extnum_info()): an
/// SHT_NULL header whose sh_info holds the real program header count, sh_size the section
/// count (1) and sh_link e_shstrndx (SHN_UNDEF). out[0, l.shdr_size) must be zero.
constexpr void StoreExtnumShdr(uint8_t* out, const Layout& l, uint32_t phnum) {
  StoreLe32(out + l.sh_type, kShtNull);
  StoreLe(out + l.sh_size, 1, l.word);
  StoreLe32(out + l.sh_link, kShnUndef);
  StoreLe32(out + l.sh_info, phnum);
}

}  // namespace salvage::elf
