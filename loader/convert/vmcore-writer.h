// Writes a vmcore as /proc/vmcore presents it: an ELF core file (ELF64, or ELF32 where
// the crashed kernel's header was ELF32) with one PT_NOTE holding every note and a
// PT_LOAD per dumped range. Pages arrive in any order; a range with pages missing is
// split so that no PT_LOAD ever covers a page that was not received (the file keeps
// zeros there, but no program header claims them).
//
// File layout: ELF header | program headers (room for kMaxPhdrs) | notes | pad to a
// page | each range's pages, in range order, page-aligned.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace salvage::loader {

struct VmcoreRange {
  uint64_t phys = 0;
  uint64_t vaddr = 0;  ///< The kernel's virtual address for phys (0 when unknown).
  uint64_t size = 0;
};

/// A view of dumped memory at a kernel virtual address: the elfcorehdr's PT_LOADs
/// (several may show the same physical bytes, e.g. arm64's kernel text and its linear
/// map; the vmcore then has a PT_LOAD for each, pointing at the same file bytes).
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
  std::vector<VmcoreRange> ranges;      ///< What was dumped (the file's data, in order).
  std::vector<VmcoreSegment> segments;  ///< Views for the program headers; may be empty.
};

/// Appends one ELF note (Elf_Nhdr, name with its NUL, desc; each padded to 4 bytes, as
/// /proc/vmcore lays them out for both classes) to `out`.
void AppendElfNote(std::vector<uint8_t>* out, std::string_view name, uint32_t type, std::span<const uint8_t> desc);

class VmcoreWriter {
 public:
  static constexpr size_t kMaxPhdrs = 8192;
  /// One PT_LOAD: file offset, kernel virtual address (0: none), physical address, size.
  struct Load {
    uint64_t offset, vaddr, phys, size;
  };

  /// Prepares `fd` (an empty file opened for writing). Returns false with *error set when
  /// the layout cannot be written (ELF32 with addresses above 4 GiB, too many ranges).
  bool Begin(int fd, const VmcoreLayout& layout, std::string* error);
  /// Writes one page (page_size bytes) at physical address `phys`. Returns false when
  /// phys is not the start of a page inside a range (*error says which).
  bool WritePage(uint64_t phys, const uint8_t* data, std::string* error);
  /// Writes the ELF header and program headers for what was received: a PT_LOAD for
  /// every received part of every segment, and (vaddr 0) for received memory no segment
  /// covers.
  bool Finish(std::string* error);

  /// File offset of the notes for an ELF class (fixed: header + kMaxPhdrs headers).
  static uint64_t NotesOffsetFor(int elf_class);

  /// Ranges of pages not received, in address order (phys, size).
  std::vector<std::pair<uint64_t, uint64_t>> Missing() const;
  uint64_t PagesReceived() const { return received_pages_; }
  uint64_t PagesExpected() const { return total_pages_; }

 private:
  int Locate(uint64_t phys, uint64_t* page_index) const;

  int fd_ = -1;
  VmcoreLayout layout_;
  std::vector<uint64_t> range_offset_;            // file offset of each range's data
  std::vector<std::vector<bool>> received_;       // per range, per page
  uint64_t received_pages_ = 0;
  uint64_t total_pages_ = 0;
  uint64_t notes_offset_ = 0;
};

}  // namespace salvage::loader
