#include "workstation/convert/vmcore-writer.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "salvage/base/elf.h"
#include "salvage/elfcore/elfcore.h"

namespace salvage::loader {
namespace {

Expected<void> PWriteAll(int fd, const void* data, size_t len, uint64_t offset) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  while (len > 0) {
    ssize_t n = pwrite(fd, p, len, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(std::string("write: ") + std::strerror(errno));
    }
    p += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

bool AllZero(const uint8_t* p, size_t n) {
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (w != 0) return false;
  }
  for (; n > 0; ++p, --n) {
    if (*p != 0) return false;
  }
  return true;
}

/// Where the headers of a core file go and how many there are.
struct HeadPlacement {
  uint64_t phoff = 0;
  uint64_t phnum = 0;     // PT_NOTE + loads
  bool extended = false;  // phnum >= PN_XNUM: e_phnum = PN_XNUM, count in shdr[0].sh_info
  uint64_t shoff = 0;     // the one section header when extended
};

// The ELF header, the program headers (one PT_NOTE, then `loads`) and, with extended
// numbering, section header 0, as bytes to write at 0, phoff and shoff. Finish() has
// checked that every value fits an ELF32 file where the layout is ELF32's.
void ElfHead(const elf::Layout& l, uint16_t machine, uint64_t notes_offset, uint64_t notes_size,
             const std::vector<VmcoreWriter::Load>& loads, const HeadPlacement& at, std::vector<uint8_t>* ehdr,
             std::vector<uint8_t>* phdrs, std::vector<uint8_t>* shdr) {
  ehdr->assign(l.ehdr_size, 0);
  elf::StoreCoreEhdr(ehdr->data(), l,
                     {.machine = machine,
                      .phoff = at.phoff,
                      .phnum = static_cast<uint16_t>(at.extended ? elf::kPnXnum : at.phnum),
                      .shoff = at.extended ? at.shoff : 0,
                      .shnum = static_cast<uint16_t>(at.extended ? 1 : 0)});
  if (at.extended) {
    // As Linux's fill_extnum_info(): one SHT_NULL section header whose sh_info holds the
    // real program header count.
    shdr->assign(l.shdr_size, 0);
    elf::StoreExtnumShdr(shdr->data(), l, static_cast<uint32_t>(at.phnum));
  }
  phdrs->assign(at.phnum * l.phdr_size, 0);
  elf::StorePhdr(phdrs->data(), l,
                 {.type = elf::kPtNote, .offset = notes_offset, .filesz = notes_size, .memsz = notes_size});
  for (size_t i = 0; i < loads.size(); ++i) {
    elf::StorePhdr(phdrs->data() + (i + 1) * l.phdr_size, l,
                   {.type = elf::kPtLoad,
                    .flags = elf::kPfR | elf::kPfW | elf::kPfX,
                    .offset = loads[i].offset,
                    .vaddr = loads[i].vaddr,
                    .paddr = loads[i].phys,
                    .filesz = loads[i].size,
                    .memsz = loads[i].size});
  }
}

}  // namespace

void AppendElfNote(std::vector<uint8_t>* out, std::string_view name, uint32_t type, std::span<const uint8_t> desc) {
  const size_t at = out->size();
  out->resize(at + elf::kNhdrSize);
  StoreLe32(out->data() + at + elf::kNNamesz, static_cast<uint32_t>(name.size() + 1));
  StoreLe32(out->data() + at + elf::kNDescsz, static_cast<uint32_t>(desc.size()));
  StoreLe32(out->data() + at + elf::kNType, type);
  out->insert(out->end(), name.begin(), name.end());
  out->push_back(0);
  while (out->size() % 4) out->push_back(0);
  out->insert(out->end(), desc.begin(), desc.end());
  while (out->size() % 4) out->push_back(0);
}

uint64_t VmcoreWriter::NotesOffsetFor(int elf_class) {
  const elf::Layout& l = elf_class == 64 ? elf::kElf64 : elf::kElf32;
  return l.ehdr_size + l.phdr_size * kReservedPhdrs;
}

Expected<void> VmcoreWriter::Begin(int fd, const VmcoreLayout& layout) {
  fd_ = fd;
  layout_ = layout;
  if (layout_.elf_class != 32 && layout_.elf_class != 64) {
    return Fail("vmcore: ELF class must be 32 or 64");
  }
  if (layout_.page_size < 512 || (layout_.page_size & (layout_.page_size - 1)) != 0) {
    return Fail("vmcore: page size " + std::to_string(layout_.page_size) + " is not a power of two >= 512");
  }
  uint64_t prev_end = 0;
  for (size_t i = 0; i < layout_.ranges.size(); ++i) {
    const VmcoreRange& r = layout_.ranges[i];
    char buf[128];
    if (r.size == 0 || r.size % layout_.page_size != 0 || r.phys % layout_.page_size != 0) {
      std::snprintf(buf, sizeof(buf), "vmcore: range at 0x%llx size 0x%llx is not page-aligned",
                    static_cast<unsigned long long>(r.phys), static_cast<unsigned long long>(r.size));
      return Fail(buf);
    }
    if (r.phys + r.size < r.phys || (i > 0 && r.phys < prev_end)) {
      std::snprintf(buf, sizeof(buf), "vmcore: range at 0x%llx size 0x%llx wraps, overlaps or is out of order",
                    static_cast<unsigned long long>(r.phys), static_cast<unsigned long long>(r.size));
      return Fail(buf);
    }
    if (layout_.elf_class == 32 && r.phys + r.size > (1ull << 32)) {
      return Fail("vmcore: an ELF32 vmcore cannot hold memory or offsets above 4 GiB");
    }
    prev_end = r.phys + r.size;
    total_pages_ += r.size / layout_.page_size;
  }
  notes_offset_ = NotesOffsetFor(layout_.elf_class);
  data_offset_ = data_end_ = AlignUp(notes_offset_ + layout_.notes.size(), layout_.page_size);
  return PWriteAll(fd_, layout_.notes.data(), layout_.notes.size(), notes_offset_);
}

int VmcoreWriter::RangeOf(uint64_t phys) const {
  const auto& ranges = layout_.ranges;
  auto it = std::upper_bound(ranges.begin(), ranges.end(), phys,
                             [](uint64_t v, const VmcoreRange& r) { return v < r.phys; });
  if (it == ranges.begin()) return -1;
  --it;
  if (phys - it->phys >= it->size) return -1;
  return static_cast<int>(it - ranges.begin());
}

Expected<void> VmcoreWriter::WritePage(uint64_t phys, const uint8_t* data) {
  const uint64_t ps = layout_.page_size;
  const int range = RangeOf(phys);
  if (range < 0 || phys % ps != 0) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "page 0x%llx is not in any range of the stream header",
                  static_cast<unsigned long long>(phys));
    return Fail(buf);
  }
  // Received before: overwrite that copy.
  auto next = runs_.upper_bound(phys);
  if (next != runs_.begin()) {
    auto prev = std::prev(next);
    const uint64_t in = (phys - prev->first) / ps;
    if (in < prev->second.pages) return PWriteAll(fd_, data, ps, prev->second.offset + in * ps);
  }
  if (layout_.elf_class == 32 && data_end_ + ps > (1ull << 32)) {
    return Fail("vmcore: an ELF32 vmcore cannot hold more than 4 GiB of pages");
  }
  // All-zero pages stay holes of the file (Finish sizes it).
  if (!AllZero(data, ps)) {
    if (auto w = PWriteAll(fd_, data, ps, data_end_); !w.ok()) return w;
  }
  bool extended = false;
  if (next != runs_.begin()) {
    Run& prev_run = std::prev(next)->second;
    const uint64_t prev_phys = std::prev(next)->first;
    if (prev_phys + prev_run.pages * ps == phys && prev_run.range == static_cast<size_t>(range) &&
        prev_run.offset + prev_run.pages * ps == data_end_) {
      ++prev_run.pages;
      extended = true;
    }
  }
  if (!extended) runs_.emplace_hint(next, phys, Run{1, data_end_, static_cast<size_t>(range)});
  data_end_ += ps;
  ++received_pages_;
  return {};
}

std::vector<std::pair<uint64_t, uint64_t>> VmcoreWriter::Missing() const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  const uint64_t ps = layout_.page_size;
  for (const VmcoreRange& r : layout_.ranges) {
    uint64_t cursor = r.phys;
    for (auto it = runs_.lower_bound(r.phys); it != runs_.end() && it->first - r.phys < r.size; ++it) {
      if (it->first > cursor) out.emplace_back(cursor, it->first - cursor);
      cursor = it->first + it->second.pages * ps;
    }
    if (cursor < r.phys + r.size) out.emplace_back(cursor, r.phys + r.size - cursor);
  }
  return out;
}

std::vector<VmcoreWriter::Load> VmcoreWriter::ComputeLoads() {
  // Runs in page numbers, views in bytes: the decoder keeps every range and segment
  // inside the crashed machine's physical address space, so no sum overflows.
  const uint64_t ps = layout_.page_size;
  struct Piece {
    uint64_t first, end;  // pages [first, end)
    uint64_t offset;
    size_t range;
  };
  std::vector<Piece> runs;
  runs.reserve(runs_.size());
  for (const auto& [phys, run] : runs_) runs.push_back({phys / ps, phys / ps + run.pages, run.offset, run.range});
  // The views, byte-exact as the elfcorehdr gave them (/proc/vmcore keeps p_memsz
  // exact too). PT_LOADs that share bytes follow elfcore::IsSecondView's rule: a second
  // view (the kernel text inside a RAM range) keeps its own program header over the
  // same file bytes; any other overlap is clipped, the later segment losing what an
  // earlier one already shows.
  struct View {
    uint64_t first, end;  // bytes [first, end)
    uint64_t phys, vaddr;
  };
  const std::vector<VmcoreSegment>& segments = layout_.segments;
  auto end_of = [](const VmcoreSegment& s) { return s.size > ~uint64_t{0} - s.phys ? ~uint64_t{0} : s.phys + s.size; };
  std::vector<View> views;
  for (size_t i = 0; i < segments.size(); ++i) {
    const VmcoreSegment& s = segments[i];
    if (s.size == 0) continue;
    const elfcore::LoadSegment me{PhysRange{s.phys, end_of(s) - s.phys}, s.vaddr};
    std::vector<std::pair<uint64_t, uint64_t>> pieces{{s.phys, end_of(s)}};
    for (size_t j = 0; j < i && !pieces.empty(); ++j) {
      const VmcoreSegment& e = segments[j];
      if (e.size == 0) continue;
      const elfcore::LoadSegment other{PhysRange{e.phys, end_of(e) - e.phys}, e.vaddr};
      if (!me.phys.Overlaps(other.phys) || elfcore::IsSecondView(me, other)) continue;
      std::vector<std::pair<uint64_t, uint64_t>> left;
      for (const auto& [first, end] : pieces) {
        if (end <= e.phys || first >= end_of(e)) {
          left.emplace_back(first, end);
          continue;
        }
        if (first < e.phys) left.emplace_back(first, e.phys);
        if (end > end_of(e)) left.emplace_back(end_of(e), end);
      }
      pieces.swap(left);
    }
    for (const auto& [first, end] : pieces) views.push_back({first, end, s.phys, s.vaddr});
  }
  // The runs a view meets: [lo, hi) of `runs`, found by binary search on pages.
  auto meets = [&](const View& v, size_t* lo, size_t* hi) {
    const uint64_t first = v.first / ps, end = (v.end - 1) / ps + 1;
    *lo = static_cast<size_t>(std::upper_bound(runs.begin(), runs.end(), first,
                                               [](uint64_t p, const Piece& r) { return p < r.end; }) -
                              runs.begin());
    *hi = static_cast<size_t>(std::lower_bound(runs.begin(), runs.end(), end,
                                               [](const Piece& r, uint64_t p) { return r.first < p; }) -
                              runs.begin());
    if (*hi < *lo) *hi = *lo;
  };
  // A real elfcorehdr shows memory once or twice (arm64: the linear map and the kernel
  // text); a layout whose views would multiply the runs is left with physical views
  // only, so the program headers stay in proportion to what was received.
  uint64_t pieces = 0;
  for (const View& v : views) {
    size_t lo, hi;
    meets(v, &lo, &hi);
    pieces += hi - lo;
  }
  if (pieces > 4 * (runs.size() + views.size()) + 64) {
    warning_ = "vmcore: the stream's " + std::to_string(segments.size()) + " segments would need " +
               std::to_string(pieces) + " program headers for " + std::to_string(runs.size()) +
               " runs of pages; the vmcore shows the memory at its physical addresses only";
    views.clear();
  }
  std::vector<Load> loads;
  for (const View& v : views) {
    size_t lo, hi;
    meets(v, &lo, &hi);
    for (size_t i = lo; i < hi; ++i) {
      // Runs lie inside the stream's ranges, which end below 2^64: bytes do not wrap.
      const uint64_t first = std::max(runs[i].first * ps, v.first), end = std::min(runs[i].end * ps, v.end);
      if (first >= end) continue;
      loads.push_back({runs[i].offset + (first - runs[i].first * ps), v.vaddr ? v.vaddr + (first - v.phys) : 0, first,
                       end - first});
    }
  }
  // Received memory no view shows (a fallback dump has no segments at all).
  std::vector<std::pair<uint64_t, uint64_t>> shown;  // union of the views, pages [first, end)
  for (const View& v : views) shown.emplace_back(v.first / ps, (v.end - 1) / ps + 1);
  std::sort(shown.begin(), shown.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& iv : shown) {
    if (!merged.empty() && iv.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, iv.second);
    } else {
      merged.push_back(iv);
    }
  }
  size_t j = 0;
  for (const Piece& run : runs) {
    const VmcoreRange& r = layout_.ranges[run.range];
    uint64_t cur = run.first;
    while (cur < run.end) {
      while (j < merged.size() && merged[j].second <= cur) ++j;
      if (j < merged.size() && merged[j].first <= cur) {
        cur = std::min(run.end, merged[j].second);
        continue;
      }
      const uint64_t end = j < merged.size() ? std::min(run.end, merged[j].first) : run.end;
      const uint64_t phys = cur * ps;
      loads.push_back({run.offset + (cur - run.first) * ps, r.vaddr ? r.vaddr + (phys - r.phys) : 0, phys,
                       (end - cur) * ps});
      cur = end;
    }
  }
  return loads;
}

Expected<void> VmcoreWriter::Finish() {
  const std::vector<Load> loads = ComputeLoads();
  const bool elf64 = layout_.elf_class == 64;
  const elf::Layout& l = elf64 ? elf::kElf64 : elf::kElf32;
  const uint64_t phent = l.phdr_size;
  HeadPlacement at;
  at.phnum = loads.size() + 1;
  if (at.phnum <= kReservedPhdrs) {
    at.phoff = l.ehdr_size;
  } else {
    // More than the room before the notes: after the pages, where e_phoff says.
    at.phoff = AlignUp(data_end_, 8);
    phdrs_at_end_ = true;
  }
  at.extended = at.phnum >= kPnXnum;
  if (at.extended) at.shoff = AlignUp(at.phoff + at.phnum * phent, 8);
  const uint64_t end = at.extended ? at.shoff + l.shdr_size : at.phoff + at.phnum * phent;
  if (!elf64 && end > (1ull << 32)) {
    return Fail("vmcore: an ELF32 vmcore cannot hold program headers above 4 GiB (" + std::to_string(at.phnum) +
                " program headers after " + std::to_string(data_end_) + " bytes)");
  }
  // The file ends after the last page even when the last pages were zeros (holes).
  if (ftruncate(fd_, static_cast<off_t>(data_end_)) != 0) {
    return Fail(std::string("vmcore: cannot size the output: ") + std::strerror(errno));
  }
  std::vector<uint8_t> ehdr, phdrs, shdr;
  ElfHead(l, layout_.machine, notes_offset_, layout_.notes.size(), loads, at, &ehdr, &phdrs, &shdr);
  if (auto w = PWriteAll(fd_, phdrs.data(), phdrs.size(), at.phoff); !w.ok()) return w;
  if (!shdr.empty()) {
    if (auto w = PWriteAll(fd_, shdr.data(), shdr.size(), at.shoff); !w.ok()) return w;
  }
  phdrs_written_ = at.phnum;
  return PWriteAll(fd_, ehdr.data(), ehdr.size(), 0);
}

}  // namespace salvage::loader
