// salvage::loader::elfcorehdr — elfcorehdr builder. What and why: see builder.h.
#include "board/elfcorehdr/builder.h"

#include <algorithm>
#include <cstdio>

#include <salvage/base/elf.h>
#include <salvage/elfcore/elfcore.h>

namespace salvage::loader::elfcorehdr {
namespace {

namespace elfcore = salvage::elfcore;

// The values written: salvage/base/elf.h.
using elf::kPfR;
using elf::kPfW;
using elf::kPfX;
using elf::kPtLoad;
using elf::kPtNote;

const elf::Layout& LayoutOf(ElfClass cls) { return cls == ElfClass::k64 ? elf::kElf64 : elf::kElf32; }

constexpr uint64_t k4GiBLast = 0xffffffff;

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// "0x40000000-0x7fffffff" (inclusive end, as /proc/iomem shows ranges).
std::string Describe(const PhysRange& r) { return Hex(r.base) + "-" + Hex(r.base + r.size - 1); }

// The last byte, saturated for a range that wraps.
uint64_t LastOf(const PhysRange& r) {
  const uint64_t last = r.base + r.size - 1;
  return last < r.base ? ~uint64_t{0} : last;
}

bool Overlap(const PhysRange& a, const PhysRange& b) {
  return a.size != 0 && b.size != 0 && a.base <= LastOf(b) && b.base <= LastOf(a);
}

// Every byte of `r` lies in a range of `set` (sorted, disjoint: Subtract's output).
bool Covered(const PhysRange& r, std::span<const PhysRange> set) {
  uint64_t cur = r.base;
  const uint64_t last = LastOf(r);
  for (const PhysRange& s : set) {
    if (s.base > cur) return false;
    if (LastOf(s) < cur) continue;
    if (LastOf(s) >= last) return true;
    cur = LastOf(s) + 1;
  }
  return false;
}

// A range the image's parser keeps: not empty, not wrapping, ending at or below
// kMaxPhysAddr, and for ELF32 at or below 4 GiB - 1.
Expected<void> CheckRange(const PhysRange& r, ElfClass cls, const std::string& what) {
  if (r.size == 0) return Fail(what + " at " + Hex(r.base) + " has size 0");
  if (r.base + r.size - 1 < r.base) return Fail(what + " at " + Hex(r.base) + " wraps past 2^64");
  if (r.Last() > elfcore::kMaxPhysAddr)
    return Fail(what + " " + Describe(r) + " ends above the 56-bit physical address space");
  if (cls == ElfClass::k32 && r.Last() > k4GiBLast) {
    return Fail("ELF32 cannot describe memory above 4 GiB: " + what + " " + Describe(r) +
                " ends above it; use an ELF64 header");
  }
  return {};
}

using elf::Phdr;  // p_filesz = p_memsz: the memory is all in the file

// Elf64_Ehdr / Elf32_Ehdr and the program headers after it (e_phoff = e_ehsize).
std::vector<uint8_t> Serialize(ElfClass cls, uint16_t machine, const std::vector<Phdr>& phdrs) {
  const elf::Layout& l = LayoutOf(cls);
  std::vector<uint8_t> b(HeaderBytes(cls, phdrs.size()), 0);
  elf::StoreCoreEhdr(b.data(), l, {.machine = machine, .phoff = l.ehdr_size, .phnum = static_cast<uint16_t>(phdrs.size())});
  size_t at = l.ehdr_size;
  for (const Phdr& p : phdrs) {
    elf::StorePhdr(b.data() + at, l, p);
    at += l.phdr_size;
  }
  return b;
}

// Splits the RAM pieces where the linear map starts (below phys_offset: no linear
// address) and ends (lowmem_end, or where the address would pass the class's 2^32/2^64),
// and gives each its p_vaddr: 0 when unknown, ~0 for highmem.
//
// The map is worked out in offsets from phys_offset, modulo 2^64, as the kernels do
// (arm64 __phys_to_virt: (x - PHYS_OFFSET) | PAGE_OFFSET): arm64 randomizes the linear
// map with KASLR by making PHYS_OFFSET "negative" (0xffffb74840000000 on a Debian 6.1
// guest), so physical RAM lies above it only in modular arithmetic.
struct Load {
  PhysRange phys;
  uint64_t vaddr;
};

std::vector<Load> WithVaddrs(const std::vector<PhysRange>& pieces, const std::optional<LinearMap>& lm, ElfClass cls) {
  std::vector<Load> out;
  if (!lm) {
    for (const PhysRange& p : pieces) out.push_back({p, 0});
    return out;
  }
  const uint64_t highmem_vaddr = cls == ElfClass::k32 ? k4GiBLast : ~uint64_t{0};
  // `limit`: bytes of the linear map from phys_offset on; ~0 stands for "to the end".
  uint64_t limit = ~uint64_t{0};
  auto cap = [&](uint64_t bytes) { limit = std::min(limit, bytes); };
  if (lm->lowmem_end != 0) cap(lm->lowmem_end > lm->phys_offset ? lm->lowmem_end - lm->phys_offset : 0);
  if (cls == ElfClass::k32) {
    cap(lm->page_offset > k4GiBLast ? 0 : (k4GiBLast - lm->page_offset) + 1);  // bytes up to 2^32
  } else if (lm->page_offset != 0) {
    cap(~lm->page_offset + 1);  // bytes up to 2^64
  }
  for (const PhysRange& p : pieces) {
    uint64_t cur = p.base;
    const uint64_t last = p.Last();
    while (true) {
      const uint64_t off = cur - lm->phys_offset;  // modulo 2^64
      uint64_t piece_last = last;
      uint64_t vaddr = 0;
      const bool inside = limit == ~uint64_t{0} ? cur >= lm->phys_offset : off < limit;
      if (inside) {
        // Inside the map: up to its end.
        if (limit != ~uint64_t{0} && last - cur > limit - 1 - off) piece_last = cur + (limit - 1 - off);
        vaddr = off + lm->page_offset;
      } else if (cur < lm->phys_offset) {
        // Below the map: unmapped up to where it starts.
        if (lm->phys_offset <= last) piece_last = lm->phys_offset - 1;
      } else {
        vaddr = highmem_vaddr;  // past its end
      }
      out.push_back({PhysRange{cur, piece_last - cur + 1}, vaddr});
      if (piece_last == last) break;
      cur = piece_last + 1;
    }
  }
  return out;
}

int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

// A VMCOREINFO value: "0x..." is hex; otherwise decimal (VMCOREINFO_NUMBER prints %ld,
// possibly negative). nullopt when the text is not all number.
std::optional<uint64_t> VmNumber(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  bool negative = false;
  unsigned base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    const unsigned d = static_cast<unsigned>(DigitValue(c));
    if (d >= base || v > (~uint64_t{0} - d) / base) return std::nullopt;
    v = v * base + d;
  }
  return negative ? ~v + 1 : v;
}

}  // namespace

std::vector<PhysRange> Subtract(std::span<const PhysRange> from, std::span<const PhysRange> minus) {
  std::vector<PhysRange> in;
  for (const PhysRange& r : from)
    if (r.size != 0) in.push_back(PhysRange{r.base, LastOf(r) - r.base + 1});
  std::sort(in.begin(), in.end(), [](const PhysRange& a, const PhysRange& b) { return a.base < b.base; });
  std::vector<PhysRange> merged;
  for (const PhysRange& r : in) {
    if (!merged.empty() && r.base <= merged.back().Last()) {  // overlap, not just touching
      const uint64_t last = std::max(merged.back().Last(), r.Last());
      merged.back().size = last - merged.back().base + 1;
    } else {
      merged.push_back(r);
    }
  }
  std::vector<PhysRange> out;
  for (const PhysRange& r : merged) {
    std::vector<PhysRange> pieces{r};
    for (const PhysRange& m : minus) {
      if (m.size == 0) continue;
      const uint64_t m_last = LastOf(m);
      std::vector<PhysRange> next;
      for (const PhysRange& p : pieces) {
        if (!Overlap(p, m)) {
          next.push_back(p);
          continue;
        }
        if (m.base > p.base) next.push_back(PhysRange{p.base, m.base - p.base});
        if (m_last < p.Last()) next.push_back(PhysRange{m_last + 1, p.Last() - m_last});
      }
      pieces = std::move(next);
    }
    out.insert(out.end(), pieces.begin(), pieces.end());
  }
  std::sort(out.begin(), out.end(), [](const PhysRange& a, const PhysRange& b) { return a.base < b.base; });
  return out;
}

uint64_t HeaderBytes(ElfClass elf_class, size_t phnum) {
  const uint64_t raw = LayoutOf(elf_class).ehdr_size + phnum * LayoutOf(elf_class).phdr_size;
  return (raw + kHeaderAlign - 1) / kHeaderAlign * kHeaderAlign;
}

uint64_t SegmentSize(uint64_t header_bytes, uint64_t page_size) {
  return (header_bytes + page_size - 1) / page_size * page_size;
}

Expected<PhysRange> PlaceAtEnd(PhysRange reservation, uint64_t header_bytes, uint64_t page_size) {
  if (page_size == 0 || (page_size & (page_size - 1)) != 0) return Fail("page size " + std::to_string(page_size) + " is not a power of two");
  if (header_bytes == 0) return Fail("the elfcorehdr is empty");
  const uint64_t seg = SegmentSize(header_bytes, page_size);
  if (reservation.size == 0 || LastOf(reservation) == ~uint64_t{0})
    return Fail("the crash reservation " + Hex(reservation.base) + " is empty or reaches the end of the address space");
  const uint64_t end = reservation.base + reservation.size;
  if (end % page_size != 0)
    return Fail("the crash reservation " + Describe(reservation) + " does not end on a page boundary");
  if (reservation.size < seg)
    return Fail("the crash reservation " + Describe(reservation) + " is smaller than the elfcorehdr's " +
                std::to_string(seg) + " bytes");
  return PhysRange{end - seg, header_bytes};
}

bool HasKernelTextSegment(uint16_t machine) {
  return machine == elfcore::kEmAarch64 || machine == elfcore::kEmRiscv;
}

bool AddressesNeedVmcoreinfo(uint16_t machine) { return machine != elfcore::kEmArm; }

bool PageOffsetFromStext(uint16_t machine) { return machine == elfcore::kEmArm; }

ElfClass DefaultElfClass(uint16_t machine, std::span<const PhysRange> system_ram) {
  if (machine != elfcore::kEmArm) return ElfClass::k64;
  for (const PhysRange& r : system_ram)
    if (r.size != 0 && LastOf(r) > k4GiBLast) return ElfClass::k64;
  return ElfClass::k32;
}

Expected<Header> Build(const Input& in) {
  if (in.machine == 0) return Fail("elfcorehdr: e_machine is 0");
  const ElfClass cls = in.elf_class;
  if (in.system_ram.empty()) return Fail("elfcorehdr: no System RAM in /proc/iomem");
  for (const PhysRange& r : in.system_ram) {
    auto ok = CheckRange(r, cls, "System RAM");
    if (!ok.ok()) return ok.failure();
  }
  for (const PhysRange& r : in.reserved) {
    if (r.size == 0 || r.base + r.size - 1 < r.base)
      return Fail("the crash reservation at " + Hex(r.base) + " is empty or wraps past 2^64");
  }
  const std::vector<PhysRange> ram = Subtract(in.system_ram, {});

  std::vector<Phdr> phdrs;
  auto add_note = [&](const PhysRange& n, const std::string& what) -> Expected<void> {
    auto ok = CheckRange(n, cls, what);
    if (!ok.ok()) return ok;
    if (n.size > elfcore::kMaxNoteSegmentSize)
      return Fail(what + " " + Describe(n) + " is larger than the capture image accepts (1 MiB)");
    if (!Covered(n, ram)) return Fail(what + " " + Describe(n) + " is not inside System RAM");
    for (const PhysRange& r : in.reserved)
      if (Overlap(n, r)) return Fail(what + " " + Describe(n) + " lies in the crash reservation " + Describe(r));
    phdrs.push_back(Phdr{.type = kPtNote, .flags = 0, .offset = n.base, .vaddr = 0, .paddr = n.base, .filesz = n.size,
                         .memsz = n.size});
    return {};
  };
  for (size_t i = 0; i < in.cpu_notes.size(); ++i) {
    auto ok = add_note(in.cpu_notes[i], "crash note " + std::to_string(i));
    if (!ok.ok()) return ok.failure();
  }
  if (in.vmcoreinfo) {
    auto ok = add_note(*in.vmcoreinfo, "VMCOREINFO note");
    if (!ok.ok()) return ok.failure();
  }
  if (phdrs.size() > elfcore::kMaxNotes) {
    return Fail("elfcorehdr: " + std::to_string(phdrs.size()) + " notes (one per CPU and VMCOREINFO); the capture image keeps " +
                std::to_string(elfcore::kMaxNotes));
  }
  const uint32_t notes = static_cast<uint32_t>(phdrs.size());

  if (in.kernel_text) {
    const KernelText& kt = *in.kernel_text;
    auto ok = CheckRange(kt.phys, cls, "kernel image");
    if (!ok.ok()) return ok.failure();
    if (!Covered(kt.phys, ram)) return Fail("the kernel image " + Describe(kt.phys) + " is not inside System RAM");
    for (const PhysRange& r : in.reserved)
      if (Overlap(kt.phys, r)) return Fail("the kernel image " + Describe(kt.phys) + " overlaps the crash reservation " + Describe(r));
    const uint64_t vlast = kt.vaddr + (kt.phys.size - 1);
    if (vlast < kt.vaddr) return Fail("the kernel image's virtual range at " + Hex(kt.vaddr) + " wraps past 2^64");
    if (cls == ElfClass::k32 && vlast > k4GiBLast)
      return Fail("ELF32 cannot describe the kernel image's virtual address " + Hex(kt.vaddr) + "; use an ELF64 header");
    phdrs.push_back(Phdr{.type = kPtLoad, .flags = kPfR | kPfW | kPfX, .offset = kt.phys.base, .vaddr = kt.vaddr,
                         .paddr = kt.phys.base, .filesz = kt.phys.size, .memsz = kt.phys.size});
  }

  const std::vector<PhysRange> pieces = Subtract(ram, in.reserved);
  if (pieces.empty()) return Fail("elfcorehdr: nothing is left of System RAM outside the crash reservation");
  Header out;
  for (const Load& l : WithVaddrs(pieces, in.linear_map, cls)) {
    phdrs.push_back(Phdr{.type = kPtLoad, .flags = kPfR | kPfW | kPfX, .offset = l.phys.base, .vaddr = l.vaddr,
                         .paddr = l.phys.base, .filesz = l.phys.size, .memsz = l.phys.size});
    out.ram_loads.push_back(l.phys);
  }
  const size_t loads = phdrs.size() - notes;
  if (loads > elfcore::kMaxLoads || out.ram_loads.size() > elfcore::kMaxPlanRanges) {
    return Fail("elfcorehdr: " + std::to_string(loads) + " PT_LOAD segments; the capture image keeps " +
                std::to_string(elfcore::kMaxLoads));
  }
  out.note_count = notes;
  out.load_count = static_cast<uint32_t>(loads);
  out.bytes = Serialize(cls, in.machine, phdrs);
  out.used_bytes = LayoutOf(cls).ehdr_size + phdrs.size() * LayoutOf(cls).phdr_size;
  return out;
}

Addressing AddressingFromVmcoreinfo(std::string_view vmcoreinfo, uint16_t machine,
                                    std::span<const PhysRange> system_ram, std::optional<uint64_t> kallsyms_stext) {
  const std::span<const uint8_t> desc(reinterpret_cast<const uint8_t*>(vmcoreinfo.data()), vmcoreinfo.size());
  auto field = [&](std::string_view key) { return elfcore::VmcoreinfoField(desc, key); };
  auto number = [&](std::string_view key) { return VmNumber(field(key)); };
  Addressing a;
  if (machine == elfcore::kEmAarch64) {
    auto va_bits = number("NUMBER(VA_BITS)");
    auto phys_offset = number("NUMBER(PHYS_OFFSET)");
    if (va_bits && *va_bits >= 36 && *va_bits <= 52 && phys_offset) {
      a.linear_map = LinearMap{.page_offset = ~uint64_t{0} << *va_bits, .phys_offset = *phys_offset};
      a.basis = "linear map: PAGE_OFFSET = ~0 << NUMBER(VA_BITS)=" + std::string(field("NUMBER(VA_BITS)")) +
                ", NUMBER(PHYS_OFFSET)=" + std::string(field("NUMBER(PHYS_OFFSET)"));
    }
    if (auto voff = number("NUMBER(kimage_voffset)")) {
      a.kernel_voffset = *voff;
      a.basis += std::string(a.basis.empty() ? "" : "; ") + "kernel image: NUMBER(kimage_voffset)=" +
                 std::string(field("NUMBER(kimage_voffset)"));
    }
  } else if (machine == elfcore::kEmRiscv) {
    auto page_offset = number("NUMBER(PAGE_OFFSET)");
    auto base = number("NUMBER(phys_ram_base)");
    if (page_offset && base) {
      a.linear_map = LinearMap{.page_offset = *page_offset, .phys_offset = *base};
      a.basis = "linear map: NUMBER(PAGE_OFFSET)=" + std::string(field("NUMBER(PAGE_OFFSET)")) +
                ", NUMBER(phys_ram_base)=" + std::string(field("NUMBER(phys_ram_base)"));
    }
    if (auto voff = number("NUMBER(va_kernel_pa_offset)")) {
      a.kernel_voffset = *voff;
      a.basis += std::string(a.basis.empty() ? "" : "; ") + "kernel image: NUMBER(va_kernel_pa_offset)=" +
                 std::string(field("NUMBER(va_kernel_pa_offset)"));
    }
  } else if (machine == elfcore::kEmArm) {
    uint64_t lowest = ~uint64_t{0};
    for (const PhysRange& r : system_ram)
      if (r.size != 0) lowest = std::min(lowest, r.base);
    if (lowest != ~uint64_t{0}) {
      // VMCOREINFO's SYMBOL() values are "%lx": hexadecimal without 0x.
      const std::string_view sym = field("SYMBOL(_stext)");
      const std::optional<uint64_t> from_vmcoreinfo = sym.empty() ? std::nullopt : VmNumber("0x" + std::string(sym));
      // 0: none (an _stext of 0 gives no PAGE_OFFSET either).
      const uint64_t stext = from_vmcoreinfo.value_or(kallsyms_stext.value_or(0));
      const std::string from = from_vmcoreinfo ? "SYMBOL(_stext)=" + std::string(sym)
                                               : "_stext " + Hex(stext) + " in /proc/kallsyms";
      constexpr uint64_t kKvbaseMask = 0x1ffffff;  // kexec-tools' KVBASE_MASK: 32 MiB - 1
      if (stext <= k4GiBLast && (stext & ~kKvbaseMask) != 0) {
        const uint64_t page_offset = stext & ~kKvbaseMask;
        a.linear_map = LinearMap{.page_offset = page_offset, .phys_offset = lowest};
        a.basis = "linear map: PAGE_OFFSET " + Hex(page_offset) + " from " + from +
                  " (as kexec-tools: _stext & ~(32 MiB - 1)), PHYS_OFFSET " + Hex(lowest) + " (the lowest System RAM)";
      } else {
        a.linear_map = LinearMap{.page_offset = 0xc0000000, .phys_offset = lowest};
        a.basis = "linear map: kexec-tools' 32-bit Arm defaults (no _stext), PAGE_OFFSET 0xc0000000 and PHYS_OFFSET " +
                  Hex(lowest) + " (the lowest System RAM)";
      }
    }
  }
  return a;
}

}  // namespace salvage::loader::elfcorehdr
