// Writes a vmcore as /proc/vmcore presents it: an ELF core file (ELF64, or ELF32 where
// the crashed kernel's header was ELF32) with one PT_NOTE holding every note and a
// PT_LOAD per received run of pages (per view, see VmcoreSegment). No PT_LOAD ever
// covers a page that was not received. A view's PT_LOADs keep the elfcorehdr's byte
// boundaries (p_memsz exact, as /proc/vmcore keeps it), and views that share bytes follow
// elfcore::IsSecondView: a second view of the same memory keeps its own program header
// over the same file bytes, any other overlap is clipped from the later segment.
//
// The file holds what arrived, never what a stream header announced: pages are appended
// in the order they arrive (a page received again overwrites its first copy), the
// writer's memory grows with the runs of pages received (not with the ranges' sizes),
// and all-zero pages are left as holes of a sparse file.
//
// File layout: ELF header | room for kReservedPhdrs program headers | notes | pad to a
// page | received pages. When the program headers do not fit in their room (a dump with
// thousands of holes), they go after the pages instead (e_phoff says where), and from
// PN_XNUM (0xffff) on their count is in section header 0's sh_info, as Linux writes
// core files: nothing received is dropped for want of program headers.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "salvage/base/elf.h"

namespace salvage::loader {

struct VmcoreRange {
  uint64_t phys = 0;
  uint64_t vaddr = 0;  ///< The kernel's virtual address for phys (0 when unknown).
  uint64_t size = 0;
};

/// A view of dumped memory at a kernel virtual address: the elfcorehdr's PT_LOADs
/// (several may show the same physical bytes, e.g. arm64's kernel text and its linear
/// map; the vmcore then has a PT_LOAD for each, pointing at the same file bytes; any
/// other overlap is clipped, see elfcore::IsSecondView).
struct VmcoreSegment {
  uint64_t phys = 0;
  uint64_t vaddr = 0;
  uint64_t size = 0;
};

struct VmcoreLayout {
  int elf_class = 64;      ///< 64 or 32.
  uint16_t machine = 0;    ///< ELF e_machine of the crashed kernel.
  uint32_t page_size = 4096;
  std::vector<uint8_t> notes;  ///< Every note, concatenated (4-byte aligned records).
  std::vector<VmcoreRange> ranges;      ///< What may be received: ascending, not overlapping.
  std::vector<VmcoreSegment> segments;  ///< Views for the program headers; may be empty.
};

/// Appends one ELF note (Elf_Nhdr, name with its NUL, desc; each padded to 4 bytes, as
/// /proc/vmcore lays them out for both classes) to `out`.
void AppendElfNote(std::vector<uint8_t>* out, std::string_view name, uint32_t type, std::span<const uint8_t> desc);

class VmcoreWriter {
 public:
  /// Program headers that fit between the ELF header and the notes. Tools that expect
  /// the program headers right after the ELF header (crash) read a vmcore with fewer.
  static constexpr size_t kReservedPhdrs = 8192;
  /// ELF extended numbering (gABI): e_phnum = PN_XNUM, the count in shdr[0].sh_info.
  static constexpr uint32_t kPnXnum = elf::kPnXnum;
  /// One PT_LOAD: file offset, kernel virtual address (0: none), physical address, size.
  struct Load {
    uint64_t offset, vaddr, phys, size;
  };

  /// Prepares `fd` (an empty file opened for writing). Fails when the layout cannot be
  /// written (ELF32 with addresses above 4 GiB, ranges not page-aligned, unordered or
  /// overlapping).
  Expected<void> Begin(int fd, const VmcoreLayout& layout);
  /// Writes one page (page_size bytes) at physical address `phys`. Fails when phys is
  /// not the start of a page inside a range, or the page cannot be stored.
  Expected<void> WritePage(uint64_t phys, const uint8_t* data);
  /// Writes the ELF header and program headers for what was received: a PT_LOAD for
  /// every received part of every segment, and (vaddr 0) for received memory no segment
  /// covers.
  Expected<void> Finish();

  /// File offset of the notes for an ELF class (fixed: header + kReservedPhdrs headers).
  static uint64_t NotesOffsetFor(int elf_class);

  /// Ranges of pages not received, in address order (phys, size).
  std::vector<std::pair<uint64_t, uint64_t>> Missing() const;
  uint64_t PagesReceived() const { return received_pages_; }
  uint64_t PagesExpected() const { return total_pages_; }
  /// After Finish: program headers written (PT_NOTE included), and whether they had to
  /// go after the data (more than kReservedPhdrs).
  uint64_t ProgramHeaders() const { return phdrs_written_; }
  bool ProgramHeadersAtEnd() const { return phdrs_at_end_; }
  /// After Finish: non-empty when the segments' views were left out (a layout whose
  /// views would multiply the program headers far beyond the received runs); every
  /// received page is still in a PT_LOAD at its physical address.
  const std::string& Warning() const { return warning_; }

 private:
  /// Received pages contiguous both in physical addresses and in the file, inside one
  /// range.
  struct Run {
    uint64_t pages = 0;
    uint64_t offset = 0;  ///< File offset of the first page.
    size_t range = 0;     ///< Index of the range holding it.
  };
  int RangeOf(uint64_t phys) const;
  std::vector<Load> ComputeLoads();

  int fd_ = -1;
  VmcoreLayout layout_;
  std::map<uint64_t, Run> runs_;  // by physical address of the first page
  uint64_t data_offset_ = 0;      // file offset of the first page
  uint64_t data_end_ = 0;         // end of the last page appended
  uint64_t received_pages_ = 0;
  uint64_t total_pages_ = 0;
  uint64_t notes_offset_ = 0;
  uint64_t phdrs_written_ = 0;
  bool phdrs_at_end_ = false;
  std::string warning_;
};

}  // namespace salvage::loader
