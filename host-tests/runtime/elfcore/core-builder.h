// Builds elfcorehdrs and notes byte by byte from the host's <elf.h> structures (an
// independent source for the gABI layouts salvage hard codes), laid out as kexec-tools'
// crashdump-elf.c writes them. For runtime/elfcore's tests and the capture's.
#pragma once

#include <elf.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace salvage::elfcore::test {

static_assert(std::endian::native == std::endian::little,
              "the builder copies <elf.h> structures as they are in host memory");

using Bytes = std::vector<uint8_t>;

// A program header as the builder writes it.
struct Phdr {
  uint32_t type = PT_NULL;
  uint64_t offset = 0;
  uint64_t vaddr = 0;
  uint64_t paddr = 0;
  uint64_t filesz = 0;
  uint64_t memsz = 0;
};

template <class T>
inline void Append(Bytes& out, const T& v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

// Builds an ET_CORE little-endian header: the ELF header, then the program headers in
// the order they were added (e_phoff = e_ehsize, as kexec-tools does).
class CoreBuilder {
 public:
  explicit CoreBuilder(int bits, uint16_t machine = EM_AARCH64) : bits_(bits), machine_(machine) {}

  // kexec-tools' PT_NOTE: p_offset = p_paddr = buffer address, p_vaddr = 0.
  CoreBuilder& Note(uint64_t paddr, uint64_t size) {
    return Add({PT_NOTE, paddr, 0, paddr, size, size});
  }
  // kexec-tools' PT_LOAD: p_offset = p_paddr = start.
  CoreBuilder& Load(uint64_t paddr, uint64_t size, uint64_t vaddr) {
    return Add({PT_LOAD, paddr, vaddr, paddr, size, size});
  }
  CoreBuilder& Add(const Phdr& p) {
    phdrs_.push_back(p);
    return *this;
  }

  Bytes Build() const {
    Bytes out;
    if (bits_ == 64) {
      Elf64_Ehdr eh{};
      FillIdent(eh.e_ident, ELFCLASS64);
      eh.e_type = ET_CORE;
      eh.e_machine = machine_;
      eh.e_version = EV_CURRENT;
      eh.e_phoff = sizeof(Elf64_Ehdr);
      eh.e_ehsize = sizeof(Elf64_Ehdr);
      eh.e_phentsize = sizeof(Elf64_Phdr);
      eh.e_phnum = static_cast<Elf64_Half>(phdrs_.size());
      Append(out, eh);
      for (const Phdr& p : phdrs_) {
        Elf64_Phdr ph{};
        ph.p_type = p.type;
        ph.p_flags = p.type == PT_LOAD ? PF_R | PF_W | PF_X : 0;
        ph.p_offset = p.offset;
        ph.p_vaddr = p.vaddr;
        ph.p_paddr = p.paddr;
        ph.p_filesz = p.filesz;
        ph.p_memsz = p.memsz;
        Append(out, ph);
      }
    } else {
      Elf32_Ehdr eh{};
      FillIdent(eh.e_ident, ELFCLASS32);
      eh.e_type = ET_CORE;
      eh.e_machine = machine_;
      eh.e_version = EV_CURRENT;
      eh.e_phoff = sizeof(Elf32_Ehdr);
      eh.e_ehsize = sizeof(Elf32_Ehdr);
      eh.e_phentsize = sizeof(Elf32_Phdr);
      eh.e_phnum = static_cast<Elf32_Half>(phdrs_.size());
      Append(out, eh);
      for (const Phdr& p : phdrs_) {
        Elf32_Phdr ph{};
        ph.p_type = p.type;
        ph.p_flags = p.type == PT_LOAD ? PF_R | PF_W | PF_X : 0;
        ph.p_offset = static_cast<Elf32_Off>(p.offset);
        ph.p_vaddr = static_cast<Elf32_Addr>(p.vaddr);
        ph.p_paddr = static_cast<Elf32_Addr>(p.paddr);
        ph.p_filesz = static_cast<Elf32_Word>(p.filesz);
        ph.p_memsz = static_cast<Elf32_Word>(p.memsz);
        Append(out, ph);
      }
    }
    return out;
  }

 private:
  static void FillIdent(unsigned char* ident, int elf_class) {
    std::memcpy(ident, ELFMAG, SELFMAG);
    ident[EI_CLASS] = static_cast<unsigned char>(elf_class);
    ident[EI_DATA] = ELFDATA2LSB;
    ident[EI_VERSION] = EV_CURRENT;
    ident[EI_OSABI] = ELFOSABI_NONE;
  }

  int bits_;
  uint16_t machine_;
  std::vector<Phdr> phdrs_;
};

// Appends one note: Elf_Nhdr, the name with its NUL, the descriptor, each padded to 4.
inline void AppendNote(Bytes& out, std::string_view name, uint32_t type, const Bytes& desc) {
  Elf64_Nhdr nh{};
  nh.n_namesz = static_cast<Elf64_Word>(name.size() + 1);
  nh.n_descsz = static_cast<Elf64_Word>(desc.size());
  nh.n_type = type;
  Append(out, nh);
  out.insert(out.end(), name.begin(), name.end());
  out.push_back(0);
  while (out.size() % 4) out.push_back(0);
  out.insert(out.end(), desc.begin(), desc.end());
  while (out.size() % 4) out.push_back(0);
}

}  // namespace salvage::elfcore::test
