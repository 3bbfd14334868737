// salvage::elfcore — elfcorehdr parser, note helpers and dump planner.
//
// The ELF layouts and constants are salvage/base/elf.h's; every field is read byte by
// byte as little-endian, so the buffer needs no alignment and the host's byte order is
// irrelevant.
#include <salvage/elfcore/elfcore.h>

#include <salvage/base/byte-order.h>
#include <salvage/base/elf.h>

#include <algorithm>
#include <cstring>

namespace salvage::elfcore {
namespace {

// The ELF ABI: salvage/base/elf.h.
using elf::kElf32;
using elf::kElf64;
using elf::kElfClass32;
using elf::kElfClass64;
using elf::Layout;

constexpr Status Malformed(const char* what) { return Status(Error::kMalformed, what); }

// The last byte of a range with size > 0, saturated at 2^64 - 1 for a range that wraps
// (only caller-supplied PlanInput ranges can; the header's are checked).
uint64_t LastOf(const PhysRange& r) {
  uint64_t last = r.base + r.size - 1;
  return last < r.base ? ~uint64_t{0} : last;
}

// A range salvage will touch: not empty, not wrapping, ending at or below kMaxPhysAddr.
// `space_last` is the last address the header's class can name.
bool Plausible(uint64_t base, uint64_t size, uint64_t space_last) {
  if (size == 0) return false;
  uint64_t last = base + size - 1;
  if (last < base || last > space_last) return false;
  return last <= kMaxPhysAddr;
}

bool Overlap(const PhysRange& a, const PhysRange& b) {
  return a.size != 0 && b.size != 0 && a.base <= LastOf(b) && b.base <= LastOf(a);
}

bool OverlapsAny(const PhysRange& r, std::span<const PhysRange> set) {
  for (const PhysRange& s : set)
    if (Overlap(r, s)) return true;
  return false;
}

// Splits `p` (size > 0, not wrapping) into consecutive pieces in address order and calls
// fn(piece, covered): a covered piece is a maximal run of bytes inside the union of
// `set`, an uncovered piece a maximal run outside it. O(|set|^2) per piece; the sets are
// the DTB's /memory and reserved ranges, a handful each.
template <class Fn>
void ForEachPiece(const PhysRange& p, std::span<const PhysRange> set, Fn fn) {
  const uint64_t last = p.Last();
  uint64_t cur = p.base;
  while (true) {
    bool covered = false;
    uint64_t run_last = 0;
    uint64_t probe = cur;
    while (true) {  // extend the covered run while some range holds the next byte
      bool found = false;
      uint64_t best = 0;
      for (const PhysRange& s : set) {
        if (s.size != 0 && s.base <= probe && probe <= LastOf(s)) {
          found = true;
          best = std::max(best, LastOf(s));
        }
      }
      if (!found) break;
      covered = true;
      run_last = best;
      if (run_last >= last) break;
      probe = run_last + 1;
    }
    uint64_t end = last;
    if (covered) {
      end = std::min(run_last, last);
    } else {
      for (const PhysRange& s : set)
        if (s.size != 0 && s.base > cur && s.base <= last) end = std::min(end, s.base - 1);
    }
    fn(PhysRange{cur, end - cur + 1}, covered);
    if (end >= last) return;
    cur = end + 1;
  }
}

bool CoveredBy(const PhysRange& r, std::span<const PhysRange> set) {
  bool all = true;
  ForEachPiece(r, set, [&](const PhysRange&, bool covered) { all = all && covered; });
  return all;
}

enum class Added { kNew, kMerged, kFull };

// Adds `r` to the sorted, pairwise disjoint `ranges`, merging it with every range it
// shares bytes with (ranges that only touch stay separate).
Added AddToPlan(FixedList<PhysRange, kMaxPlanRanges>& ranges, const PhysRange& r) {
  const uint64_t r_last = r.Last();
  size_t i = 0;
  while (i < ranges.size() && ranges[i].Last() < r.base) ++i;
  size_t j = i;
  uint64_t base = r.base;
  uint64_t last = r_last;
  while (j < ranges.size() && ranges[j].base <= r_last) {
    base = std::min(base, ranges[j].base);
    last = std::max(last, ranges[j].Last());
    ++j;
  }
  if (j > i) {
    ranges[i] = PhysRange{base, last - base + 1};  // all below 2^56: no overflow
    ranges.Erase(i + 1, j);
    return Added::kMerged;
  }
  return ranges.Insert(i, r) ? Added::kNew : Added::kFull;
}

void PlanLoad(const PhysRange& load, const PlanInput& in, ProblemSink diag, Plan* out) {
  if (!Plausible(load.base, load.size, ~uint64_t{0})) {  // a hand-made CoreHeader
    diag.Problem(problem::kLoadImpossible, load.base, load.size);
    return;
  }
  if (!OverlapsAny(load, in.memory)) {
    diag.Problem(problem::kLoadOutsideMemory, load.base, load.size);
    return;
  }
  ForEachPiece(load, in.memory, [&](const PhysRange& piece, bool in_memory) {
    if (!in_memory) {
      diag.Problem(problem::kLoadPartlyOutsideMemory, piece.base, piece.size);
      return;
    }
    ForEachPiece(piece, in.reserved, [&](const PhysRange& part, bool reserved) {
      if (reserved) {
        diag.Problem(problem::kLoadInReservation, part.base, part.size);
        return;
      }
      switch (AddToPlan(out->ranges, part)) {
        case Added::kNew:
        case Added::kMerged: break;
        case Added::kFull: diag.Problem(problem::kPlanFull, part.base, part.size); break;
      }
    });
  });
}

// Says how loads[i] shares bytes with the PT_LOADs before it (IsSecondView's rule):
// nothing when it shares none, kLoadSecondView when it only repeats memory as another
// view, kLoadOverlap when the vmcore clips it.
void ReportSharing(std::span<const LoadSegment> loads, size_t i, ProblemSink diag) {
  bool view = false;
  for (size_t j = 0; j < i; ++j) {
    if (!loads[j].phys.Overlaps(loads[i].phys)) continue;
    if (!IsSecondView(loads[i], loads[j])) {
      diag.Problem(problem::kLoadOverlap, loads[i].phys.base, loads[i].phys.size);
      return;
    }
    view = true;
  }
  if (view) diag.Problem(problem::kLoadSecondView, loads[i].phys.base, loads[i].phys.size);
}

void PlanFallback(const PlanInput& in, ProblemSink diag, Plan* out) {
  out->fallback = true;
  for (const PhysRange& m : in.memory) {
    if (m.size == 0) continue;
    const uint64_t last = LastOf(m);
    if (m.base > kMaxPhysAddr) {
      diag.Problem(problem::kMemoryBeyondPhys, m.base, last - m.base + 1);
      continue;
    }
    PhysRange clipped = m;
    if (last > kMaxPhysAddr) {
      diag.Problem(problem::kMemoryBeyondPhys, kMaxPhysAddr + 1, last - kMaxPhysAddr);
      clipped.size = kMaxPhysAddr - m.base + 1;
    }
    ForEachPiece(clipped, in.reserved, [&](const PhysRange& part, bool reserved) {
      if (!reserved && AddToPlan(out->ranges, part) == Added::kFull)
        diag.Problem(problem::kPlanFull, part.base, part.size);
    });
  }
  diag.Problem(problem::kFallback, out->ranges.size(), out->TotalBytes());
}

}  // namespace

namespace internal {

Status ParseCoreHeader(std::span<const uint8_t> bytes, ProblemSink diag, CoreHeader* out) {
  out->Clear();
  if (bytes.size() < elf::kEiNident) return Malformed("elfcorehdr: shorter than its ELF header");
  const uint8_t* b = bytes.data();
  if (std::memcmp(b, elf::kElfMag, sizeof(elf::kElfMag)) != 0) return Malformed("elfcorehdr: no ELF magic");
  const uint8_t elf_class = b[elf::kEiClass];
  if (elf_class != kElfClass32 && elf_class != kElfClass64)
    return Malformed("elfcorehdr: EI_CLASS is neither ELFCLASS32 nor ELFCLASS64");
  if (b[elf::kEiData] == elf::kElfData2Msb)
    return Status(Error::kUnsupported, "elfcorehdr: big-endian (ELFDATA2MSB) is not supported");
  if (b[elf::kEiData] != elf::kElfData2Lsb) return Malformed("elfcorehdr: EI_DATA is neither ELFDATA2LSB nor ELFDATA2MSB");
  const bool is64 = elf_class == kElfClass64;
  const Layout& l = is64 ? kElf64 : kElf32;
  if (bytes.size() < l.ehdr_size) return Malformed("elfcorehdr: shorter than its ELF header");
  if (LoadLe16(b + l.e_type) != elf::kEtCore) return Malformed("elfcorehdr: e_type is not ET_CORE");
  const uint32_t e_version = LoadLe32(b + l.e_version);
  if (b[elf::kEiVersion] != elf::kEvCurrent || e_version != elf::kEvCurrent)
    diag.Problem(problem::kVersion, b[elf::kEiVersion], e_version);  // harmless: go on
  if (LoadLe16(b + l.e_phentsize) != l.phdr_size)
    return Malformed("elfcorehdr: e_phentsize is not the program header size of its class");
  const uint16_t phnum = LoadLe16(b + l.e_phnum);
  if (phnum == 0) return Malformed("elfcorehdr: e_phnum is 0");
  if (phnum > kMaxPhnum) return Status(Error::kOutOfRange, "elfcorehdr: e_phnum above 4096");
  const uint64_t phoff = LoadLe(b + l.e_phoff, l.word);
  const uint64_t table = uint64_t{phnum} * l.phdr_size;  // at most 4096 * 56
  if (phoff > bytes.size() || table > bytes.size() - phoff)
    return Malformed("elfcorehdr: program headers run past the end of the buffer");

  out->elf_class = is64 ? 64 : 32;
  out->machine = LoadLe16(b + l.e_machine);
  out->phnum = phnum;
  // The last address the class can name: an ELF32 range must not wrap past 4 GiB.
  const uint64_t space_last = is64 ? ~uint64_t{0} : uint64_t{0xffffffff};
  size_t notes_seen = 0, notes_dropped = 0, loads_dropped = 0, others = 0;
  uint32_t first_other = 0;
  for (uint32_t i = 0; i < phnum; ++i) {
    const uint8_t* p = b + phoff + uint64_t{i} * l.phdr_size;
    const uint32_t type = LoadLe32(p + l.p_type);
    const uint64_t offset = LoadLe(p + l.p_offset, l.word);
    const uint64_t vaddr = LoadLe(p + l.p_vaddr, l.word);
    const uint64_t paddr = LoadLe(p + l.p_paddr, l.word);
    const uint64_t memsz = LoadLe(p + l.p_memsz, l.word);
    if (type == elf::kPtNote) {
      ++notes_seen;
      // The note buffer's physical address is p_offset (see elfcore.h).
      if (memsz == 0) {
        diag.Problem(problem::kNoteEmpty, i, offset);
      } else if (!Plausible(offset, memsz, space_last)) {
        diag.Problem(problem::kNoteImpossible, offset, memsz);
      } else if (memsz > kMaxNoteSegmentSize) {
        diag.Problem(problem::kNoteTooBig, offset, memsz);
      } else if (!out->notes.PushBack(PhysRange{offset, memsz})) {
        ++notes_dropped;
      }
    } else if (type == elf::kPtLoad) {
      if (memsz == 0) {
        diag.Problem(problem::kLoadEmpty, i, paddr);
      } else if (!Plausible(paddr, memsz, space_last)) {
        diag.Problem(problem::kLoadImpossible, paddr, memsz);
      } else if (!out->loads.PushBack(LoadSegment{PhysRange{paddr, memsz}, vaddr})) {
        ++loads_dropped;
      } else if (offset != paddr) {
        diag.Problem(problem::kLoadOffsetMismatch, paddr, offset);
      }
    } else {
      if (others++ == 0) first_other = type;
    }
  }
  if (others != 0) diag.Problem(problem::kOtherTypes, others, first_other);
  if (notes_dropped != 0) diag.Problem(problem::kTooManyNotes, notes_dropped, kMaxNotes);
  if (loads_dropped != 0) diag.Problem(problem::kTooManyLoads, loads_dropped, kMaxLoads);
  if (notes_seen == 0) diag.Problem(problem::kNoNotes, 0, 0);
  return Status::Ok();
}

// `r` rounded out to `page` (a power of two), saturated at 2^64 - 1.
PhysRange RoundOut(const PhysRange& r, uint64_t page) {
  const uint64_t base = r.base & ~(page - 1);
  const uint64_t last = LastOf(r) | (page - 1);
  return last - base == ~uint64_t{0} ? PhysRange{base, ~uint64_t{0}} : PhysRange{base, last - base + 1};
}

Status MakePlan(const CoreHeader* header, const PlanInput& given, ProblemSink diag, Plan* out) {
  out->Clear();
  // Loads (and the fallback) are cut by the reservation rounded out to whole pages, since
  // the dump is made of whole pages; notes are read byte-exact and checked as given.
  PlanInput in = given;
  PhysRange rounded[kMaxPlanReserved];
  if (given.page_size > 1) {
    if ((given.page_size & (given.page_size - 1)) != 0)
      return Status(Error::kInvalidArgument, "plan: page size not a power of two");
    if (given.reserved.size() > kMaxPlanReserved) return Status(Error::kInvalidArgument, "plan: too many reserved ranges");
    for (size_t i = 0; i < given.reserved.size(); ++i) {
      rounded[i] = given.reserved[i].size == 0 ? given.reserved[i] : RoundOut(given.reserved[i], given.page_size);
    }
    in.reserved = std::span<const PhysRange>(rounded, given.reserved.size());
  }
  if (header != nullptr) {
    for (const PhysRange& note : header->notes) {
      if (!Plausible(note.base, note.size, ~uint64_t{0})) {
        diag.Problem(problem::kNoteImpossible, note.base, note.size);
      } else if (!CoveredBy(note, in.memory)) {
        diag.Problem(problem::kNoteOutsideMemory, note.base, note.size);
      } else if (OverlapsAny(note, given.reserved)) {
        diag.Problem(problem::kNoteInReservation, note.base, note.size);
      } else {
        out->notes.PushBack(note);  // same capacity as the header's list
      }
    }
    const std::span<const LoadSegment> loads = header->loads.span();
    for (size_t i = 0; i < loads.size(); ++i) {
      PlanLoad(loads[i].phys, in, diag, out);
      ReportSharing(loads, i, diag);
    }
  }
  if (out->ranges.empty()) {
    PlanFallback(in, diag, out);
    if (out->ranges.empty())
      return Status(Error::kNotFound, "plan: nothing to dump: /memory is empty or all of it is reserved");
  }
  return Status::Ok();
}

}  // namespace internal

Result<uint64_t> CoreHeaderSize(std::span<const uint8_t> first_bytes) {
  if (first_bytes.size() < kCoreHeaderProbeSize) return Malformed("elfcorehdr: shorter than its ELF header");
  const uint8_t* b = first_bytes.data();
  if (std::memcmp(b, elf::kElfMag, sizeof(elf::kElfMag)) != 0) return Malformed("elfcorehdr: no ELF magic");
  if (b[elf::kEiClass] != elf::kElfClass32 && b[elf::kEiClass] != elf::kElfClass64)
    return Malformed("elfcorehdr: EI_CLASS is neither ELFCLASS32 nor ELFCLASS64");
  const elf::Layout& l = b[elf::kEiClass] == elf::kElfClass64 ? elf::kElf64 : elf::kElf32;
  if (LoadLe16(b + l.e_phentsize) != l.phdr_size)
    return Malformed("elfcorehdr: e_phentsize is not the program header size of its class");
  const uint64_t phoff = LoadLe(b + l.e_phoff, l.word);
  const uint64_t table = uint64_t{LoadLe16(b + l.e_phnum)} * l.phdr_size;  // at most 65535 * 56
  if (phoff > kMaxCoreHeaderSize || table > kMaxCoreHeaderSize - phoff)
    return Status(Error::kOutOfRange, "elfcorehdr: its program headers end above 1 MiB; not a core header");
  return std::max<uint64_t>(phoff + table, kCoreHeaderProbeSize);
}

Result<uint32_t> CountPrstatus(std::span<const uint8_t> note_bytes) {
  uint32_t count = 0;
  SALVAGE_TRY(ForEachNote(note_bytes, [&](std::string_view name, uint32_t type, std::span<const uint8_t>) {
    if (type == kNtPrstatus && name == kCoreNoteName) ++count;
  }));
  return count;
}

Result<std::span<const uint8_t>> FindVmcoreinfo(std::span<const uint8_t> note_bytes) {
  std::span<const uint8_t> found;
  bool have = false;
  SALVAGE_TRY(ForEachNote(note_bytes, [&](std::string_view name, uint32_t, std::span<const uint8_t> desc) {
    if (!have && name == kVmcoreinfoNoteName) {
      found = desc;
      have = true;
    }
  }));
  return found;
}

std::string_view VmcoreinfoField(std::span<const uint8_t> vmcoreinfo_desc, std::string_view key) {
  std::string_view text(reinterpret_cast<const char*>(vmcoreinfo_desc.data()), vmcoreinfo_desc.size());
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) text = text.substr(0, nul);
  if (!key.empty() && key.back() == '=') key.remove_suffix(1);
  if (key.empty()) return {};
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == '=')
      return line.substr(key.size() + 1);
    pos = eol + 1;
  }
  return {};
}

}  // namespace salvage::elfcore
