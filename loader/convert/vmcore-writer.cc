#include "convert/vmcore-writer.h"

#include <elf.h>
#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace salvage::loader {
namespace {

bool PWriteAll(int fd, const void* data, size_t len, uint64_t offset, std::string* error) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  while (len > 0) {
    ssize_t n = pwrite(fd, p, len, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::string("write: ") + std::strerror(errno);
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// The ELF header and program headers of a core file: one PT_NOTE, then `loads`.
// Begin() has checked that every value fits an ELF32 file where Ehdr is Elf32_Ehdr.
template <class Ehdr, class Phdr, int kClass>
std::vector<uint8_t> ElfHead(uint16_t machine, uint64_t notes_offset, uint64_t notes_size,
                             const std::vector<VmcoreWriter::Load>& loads) {
  using Addr = decltype(Phdr{}.p_offset);
  const uint16_t phnum = static_cast<uint16_t>(loads.size() + 1);
  Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = kClass;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_CORE;
  eh.e_machine = machine;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof(Ehdr);
  eh.e_ehsize = sizeof(Ehdr);
  eh.e_phentsize = sizeof(Phdr);
  eh.e_phnum = phnum;
  std::vector<uint8_t> head(sizeof(eh) + phnum * sizeof(Phdr));
  std::memcpy(head.data(), &eh, sizeof(eh));
  Phdr note{};
  note.p_type = PT_NOTE;
  note.p_offset = static_cast<Addr>(notes_offset);
  note.p_filesz = note.p_memsz = static_cast<decltype(note.p_filesz)>(notes_size);
  std::memcpy(head.data() + sizeof(eh), &note, sizeof(note));
  for (size_t i = 0; i < loads.size(); ++i) {
    Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_flags = PF_R | PF_W | PF_X;
    ph.p_offset = static_cast<Addr>(loads[i].offset);
    ph.p_vaddr = static_cast<decltype(ph.p_vaddr)>(loads[i].vaddr);
    ph.p_paddr = static_cast<decltype(ph.p_paddr)>(loads[i].phys);
    ph.p_filesz = ph.p_memsz = static_cast<decltype(ph.p_filesz)>(loads[i].size);
    std::memcpy(head.data() + sizeof(eh) + (i + 1) * sizeof(ph), &ph, sizeof(ph));
  }
  return head;
}

}  // namespace

void AppendElfNote(std::vector<uint8_t>* out, std::string_view name, uint32_t type, std::span<const uint8_t> desc) {
  auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put32(static_cast<uint32_t>(name.size() + 1));
  put32(static_cast<uint32_t>(desc.size()));
  put32(type);
  out->insert(out->end(), name.begin(), name.end());
  out->push_back(0);
  while (out->size() % 4) out->push_back(0);
  out->insert(out->end(), desc.begin(), desc.end());
  while (out->size() % 4) out->push_back(0);
}

uint64_t VmcoreWriter::NotesOffsetFor(int elf_class) {
  return elf_class == 64 ? sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) * kMaxPhdrs
                         : sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr) * kMaxPhdrs;
}

bool VmcoreWriter::Begin(int fd, const VmcoreLayout& layout, std::string* error) {
  fd_ = fd;
  layout_ = layout;
  if (layout_.elf_class != 32 && layout_.elf_class != 64) {
    *error = "vmcore: ELF class must be 32 or 64";
    return false;
  }
  if (layout_.page_size < 512 || (layout_.page_size & (layout_.page_size - 1)) != 0) {
    *error = "vmcore: page size " + std::to_string(layout_.page_size) + " is not a power of two >= 512";
    return false;
  }
  if (layout_.ranges.size() + 1 > kMaxPhdrs) {
    *error = "vmcore: too many ranges";
    return false;
  }
  notes_offset_ = NotesOffsetFor(layout_.elf_class);
  uint64_t offset = AlignUp(notes_offset_ + layout_.notes.size(), layout_.page_size);
  for (const VmcoreRange& r : layout_.ranges) {
    if (r.size % layout_.page_size != 0 || r.phys % layout_.page_size != 0) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "vmcore: range at 0x%llx size 0x%llx is not page-aligned",
                    static_cast<unsigned long long>(r.phys), static_cast<unsigned long long>(r.size));
      *error = buf;
      return false;
    }
    if (layout_.elf_class == 32 && (r.phys + r.size > (1ull << 32) || offset + r.size > (1ull << 32))) {
      *error = "vmcore: an ELF32 vmcore cannot hold memory or offsets above 4 GiB";
      return false;
    }
    range_offset_.push_back(offset);
    received_.emplace_back(r.size / layout_.page_size, false);
    total_pages_ += r.size / layout_.page_size;
    offset += r.size;
  }
  if (!PWriteAll(fd_, layout_.notes.data(), layout_.notes.size(), notes_offset_, error)) return false;
  // Size the file now so that pages not received read as zeros.
  if (ftruncate(fd_, static_cast<off_t>(offset)) != 0) {
    *error = std::string("vmcore: cannot size the output: ") + std::strerror(errno);
    return false;
  }
  return true;
}

int VmcoreWriter::Locate(uint64_t phys, uint64_t* page_index) const {
  for (size_t i = 0; i < layout_.ranges.size(); ++i) {
    const VmcoreRange& r = layout_.ranges[i];
    if (phys >= r.phys && phys - r.phys < r.size) {
      *page_index = (phys - r.phys) / layout_.page_size;
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool VmcoreWriter::WritePage(uint64_t phys, const uint8_t* data, std::string* error) {
  uint64_t page = 0;
  const int i = Locate(phys, &page);
  if (i < 0 || phys % layout_.page_size != 0) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "page 0x%llx is not in any range of the stream header",
                  static_cast<unsigned long long>(phys));
    *error = buf;
    return false;
  }
  if (!PWriteAll(fd_, data, layout_.page_size, range_offset_[i] + page * layout_.page_size, error)) return false;
  if (!received_[i][page]) {
    received_[i][page] = true;
    ++received_pages_;
  }
  return true;
}

std::vector<std::pair<uint64_t, uint64_t>> VmcoreWriter::Missing() const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (size_t i = 0; i < layout_.ranges.size(); ++i) {
    const auto& got = received_[i];
    for (size_t p = 0; p < got.size();) {
      if (got[p]) {
        ++p;
        continue;
      }
      size_t q = p;
      while (q < got.size() && !got[q]) ++q;
      out.emplace_back(layout_.ranges[i].phys + p * layout_.page_size, (q - p) * layout_.page_size);
      p = q;
    }
  }
  return out;
}

bool VmcoreWriter::Finish(std::string* error) {
  std::vector<Load> loads;
  // Received runs of [from, to) within range i, each as a PT_LOAD seen at `vaddr_of`.
  auto add_runs = [&](size_t i, uint64_t from, uint64_t to, uint64_t view_phys, uint64_t view_vaddr) {
    const VmcoreRange& r = layout_.ranges[i];
    const uint64_t ps = layout_.page_size;
    uint64_t p = (from - r.phys) / ps, end = (to - r.phys + ps - 1) / ps;
    while (p < end) {
      if (!received_[i][p]) {
        ++p;
        continue;
      }
      uint64_t q = p;
      while (q < end && received_[i][q]) ++q;
      const uint64_t phys = r.phys + p * ps;
      loads.push_back({range_offset_[i] + p * ps, view_vaddr ? view_vaddr + (phys - view_phys) : 0, phys, (q - p) * ps});
      p = q;
    }
  };
  std::vector<std::vector<bool>> covered(layout_.ranges.size());
  for (size_t i = 0; i < layout_.ranges.size(); ++i) covered[i].assign(received_[i].size(), false);
  for (const VmcoreSegment& s : layout_.segments) {
    if (s.size == 0) continue;
    for (size_t i = 0; i < layout_.ranges.size(); ++i) {
      const VmcoreRange& r = layout_.ranges[i];
      const uint64_t from = std::max(r.phys, s.phys & ~uint64_t(layout_.page_size - 1));
      const uint64_t to = std::min(r.phys + r.size, s.phys + s.size);
      if (from >= to) continue;
      add_runs(i, from, to, s.phys, s.vaddr);
      for (uint64_t p = (from - r.phys) / layout_.page_size; p * layout_.page_size < to - r.phys; ++p) covered[i][p] = true;
    }
  }
  // Dumped memory no segment shows (a fallback dump has no segments at all).
  for (size_t i = 0; i < layout_.ranges.size(); ++i) {
    const VmcoreRange& r = layout_.ranges[i];
    for (size_t p = 0; p < covered[i].size();) {
      if (covered[i][p]) {
        ++p;
        continue;
      }
      size_t q = p;
      while (q < covered[i].size() && !covered[i][q]) ++q;
      add_runs(i, r.phys + p * layout_.page_size, r.phys + q * layout_.page_size, r.phys, r.vaddr);
      p = q;
    }
  }
  if (loads.size() + 1 > kMaxPhdrs) {
    *error = "vmcore: the dump has too many holes to describe (" + std::to_string(loads.size()) + " pieces)";
    return false;
  }
  std::vector<uint8_t> head;
  if (layout_.elf_class == 64) {
    head = ElfHead<Elf64_Ehdr, Elf64_Phdr, ELFCLASS64>(layout_.machine, notes_offset_, layout_.notes.size(), loads);
  } else {
    head = ElfHead<Elf32_Ehdr, Elf32_Phdr, ELFCLASS32>(layout_.machine, notes_offset_, layout_.notes.size(), loads);
  }
  return PWriteAll(fd_, head.data(), head.size(), 0, error);
}

}  // namespace salvage::loader
