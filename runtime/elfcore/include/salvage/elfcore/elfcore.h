// salvage::elfcore — the ELF core header (elfcorehdr) that the crashed kernel's loader
// left in memory, its notes, and the plan of which physical ranges to dump.
//
// Follows the System V ABI (gABI, "Object Files" chapter: ELF header, program header,
// note section; the ELF-64 Object File Format 1.5 for the 64-bit layouts) and Linux's
// include/uapi/linux/elf.h for the note types. The elfcorehdr is written by kexec-tools
// (kexec/crashdump-elf.c) or by the kernel's kexec_file_load (crash_prepare_elf64_headers
// in kernel/crash_core.c), and read by Linux's fs/proc/vmcore.c. What they write:
//   - e_type ET_CORE, ELFCLASS64 or ELFCLASS32 (kexec-tools picks ELF32 on 32-bit Arm
//     when all RAM is below 4 GiB), the data encoding of the crashed kernel;
//   - one PT_NOTE per CPU: that CPU's crash_notes buffer, NT_PRSTATUS notes named
//     "CORE" followed by an all-zero note header (the kernel's final_note()), then one
//     PT_NOTE for the VMCOREINFO note (name "VMCOREINFO", text lines "KEY=value\n");
//   - a PT_NOTE's p_offset (= p_paddr) is the *physical address* of the note buffer in
//     the crashed kernel's memory, not an offset into the elfcorehdr, and p_memsz
//     (= p_filesz) its size. crashdump-elf.c sets `p_offset = p_paddr = notes_addr;
//     p_filesz = p_memsz = notes_len`, and vmcore.c reads p_memsz bytes of old memory
//     at p_offset. salvage does the same;
//   - an optional PT_LOAD for the kernel image (p_vaddr = _text), which duplicates part
//     of a RAM range. kexec-tools writes p_vaddr = ~0 when /proc/kallsyms has no _text,
//     and its size can then be garbage near 2^64 (docs/toolchain.md section 6);
//   - one PT_LOAD per System RAM range minus the crashkernel reservation:
//     p_offset = p_paddr = start, p_filesz = p_memsz = size. On 32-bit, a highmem range
//     legitimately has p_vaddr = ~0, so p_vaddr alone never disqualifies an entry.
//     salvage dumps [p_paddr, p_paddr + p_memsz). p_offset differs from p_paddr only for
//     x86's backup region, which salvage does not run on; that is reported.
//
// Everything here is untrusted input: nothing asserts on it. The parser and the planner
// report each entry they leave out through a diagnostics policy (STYLE.md pattern 8) and
// go on; only a header that cannot be read at all is an error, and then MakePlan falls
// back to dumping /memory minus salvage's reservation.
//
// Sizes: CoreHeader is about 8 KiB and Plan about 6 KiB. The image has a 32 KiB stack, so
// there use the *Into() forms with static storage; the Result<> forms copy the value.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include <salvage/base/byte-order.h>
#include <salvage/base/elf.h>
#include <salvage/base/phys.h>
#include <salvage/base/status.h>

namespace salvage::elfcore {

// ---- limits ---------------------------------------------------------------------------

/// Most PT_NOTE segments kept (one per CPU plus VMCOREINFO).
inline constexpr size_t kMaxNotes = 128;
/// Most PT_LOAD segments kept from the header.
inline constexpr size_t kMaxLoads = 256;
/// Most ranges in a plan (after clipping and splitting around the reservation).
inline constexpr size_t kMaxPlanRanges = 256;
/// Largest e_phnum accepted; anything above is not a kexec elfcorehdr (and PN_XNUM,
/// 0xffff, extended numbering, is above it).
inline constexpr uint32_t kMaxPhnum = 4096;
/// Highest physical address of any range: RISC-V's 56-bit physical address space is the
/// widest of salvage's targets (arm64 has 52 bits). Keeps all range arithmetic far from
/// 2^64 and catches the garbage sizes of a broken kernel-text PT_LOAD.
inline constexpr uint64_t kMaxPhysAddr = (uint64_t{1} << 56) - 1;
/// Largest PT_NOTE segment accepted. A CPU's crash_notes buffer is under 1 KiB and
/// VMCOREINFO a page or two.
inline constexpr uint64_t kMaxNoteSegmentSize = uint64_t{1} << 20;

// ---- ELF constants used by callers ------------------------------------------------------

/// e_machine values of salvage's targets and NT_PRSTATUS, from salvage/base/elf.h.
using elf::kEmAarch64;
using elf::kEmArm;
using elf::kEmRiscv;
using elf::kNtPrstatus;
/// Note names (without the NUL that namesz counts).
inline constexpr std::string_view kCoreNoteName = "CORE";
inline constexpr std::string_view kVmcoreinfoNoteName = "VMCOREINFO";

// ---- fixed-capacity list ---------------------------------------------------------------

/// An array of up to N values in place; no heap. Appending to a full list fails.
template <class T, size_t N>
class FixedList {
 public:
  static constexpr size_t kCapacity = N;

  constexpr size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  constexpr bool full() const { return size_ == N; }
  constexpr void Clear() { size_ = 0; }

  /// Appends `v`; false (and no change) when full.
  constexpr bool PushBack(const T& v) {
    if (size_ == N) return false;
    items_[size_++] = v;
    return true;
  }
  /// Inserts `v` before position `index` (<= size()); false when full or out of range.
  constexpr bool Insert(size_t index, const T& v) {
    if (size_ == N || index > size_) return false;
    for (size_t i = size_; i > index; --i) items_[i] = items_[i - 1];
    items_[index] = v;
    ++size_;
    return true;
  }
  /// Removes positions [first, last). Out-of-range bounds are clamped.
  constexpr void Erase(size_t first, size_t last) {
    if (last > size_) last = size_;
    if (first >= last) return;
    size_t n = last - first;
    for (size_t i = first; i + n < size_; ++i) items_[i] = items_[i + n];
    size_ -= n;
  }

  /// Precondition: i < size().
  constexpr T& operator[](size_t i) { return items_[i]; }
  constexpr const T& operator[](size_t i) const { return items_[i]; }
  constexpr std::span<const T> span() const { return {items_.data(), size_}; }
  constexpr const T* begin() const { return items_.data(); }
  constexpr const T* end() const { return items_.data() + size_; }

 private:
  std::array<T, N> items_{};
  size_t size_ = 0;
};

// ---- diagnostics -----------------------------------------------------------------------

/// A diagnostics policy: the parser and the planner call `Problem(what, a, b)` for every
/// entry they leave out or change, then continue. `what` is a literal from `problem::`
/// below (static storage); `a` and `b` are the values it names (usually base and size).
/// In the image the policy prints to the console; in tests it collects; in the fuzzer it
/// discards.
template <class D>
concept Diagnostics = requires(D& d, const char* what, uint64_t a, uint64_t b) {
  { d.Problem(what, a, b) } -> std::same_as<void>;
};

/// What the parser and the planner report. Each message says what happened to the entry.
namespace problem {
// ParseCoreHeader
inline constexpr const char* kVersion = "elfcorehdr: EI_VERSION or e_version is not EV_CURRENT (ident version, e_version)";
inline constexpr const char* kOtherTypes = "elfcorehdr: program headers other than PT_NOTE and PT_LOAD ignored (count, first p_type)";
inline constexpr const char* kNoNotes = "elfcorehdr: no PT_NOTE: no CPU registers and no VMCOREINFO";
inline constexpr const char* kNoteEmpty = "PT_NOTE of size 0 left out (index, p_offset)";
inline constexpr const char* kNoteImpossible = "PT_NOTE wraps around the address space or ends above 2^56: left out (p_offset, p_memsz)";
inline constexpr const char* kNoteTooBig = "PT_NOTE larger than 1 MiB left out (p_offset, p_memsz)";
inline constexpr const char* kTooManyNotes = "too many PT_NOTE: the last ones left out (count left out, capacity)";
inline constexpr const char* kLoadEmpty = "PT_LOAD of size 0 left out (index, p_paddr)";
inline constexpr const char* kLoadImpossible = "PT_LOAD wraps around the address space or ends above 2^56: left out (p_paddr, p_memsz)";
inline constexpr const char* kLoadOffsetMismatch = "PT_LOAD p_offset differs from p_paddr: dumping p_paddr (p_paddr, p_offset)";
inline constexpr const char* kTooManyLoads = "too many PT_LOAD: the last ones left out (count left out, capacity)";
// MakePlan
inline constexpr const char* kNoteOutsideMemory = "PT_NOTE not inside /memory: left out (base, size)";
inline constexpr const char* kNoteInReservation = "PT_NOTE overlaps salvage's reservation: left out (base, size)";
inline constexpr const char* kLoadOutsideMemory = "PT_LOAD outside /memory: left out (base, size)";
inline constexpr const char* kLoadPartlyOutsideMemory = "PT_LOAD partly outside /memory: that part left out (base, size)";
inline constexpr const char* kLoadInReservation = "PT_LOAD overlaps salvage's reservation: that part left out (base, size)";
inline constexpr const char* kLoadOverlap =
    "PT_LOAD overlaps an earlier PT_LOAD: the shared bytes are dumped once, and the vmcore shows them under the earlier PT_LOAD only (base, size)";
inline constexpr const char* kLoadSecondView =
    "PT_LOAD shows memory an earlier PT_LOAD also shows, at other virtual addresses (the kernel text inside a RAM range): dumped once, the vmcore keeps both program headers (base, size)";
inline constexpr const char* kPlanFull = "plan full: range left out (base, size)";
inline constexpr const char* kMemoryBeyondPhys = "/memory range beyond the physical address space: that part left out (base, size)";
inline constexpr const char* kFallback = "no usable elfcorehdr: dumping all of /memory minus salvage's reservation (ranges, bytes)";
}  // namespace problem

/// One report, as CollectingDiagnostics keeps it.
struct ProblemReport {
  const char* what = "";
  uint64_t a = 0;
  uint64_t b = 0;
};

/// Keeps the first N reports and counts all of them. Fixed storage: usable in the image.
template <size_t N>
class CollectingDiagnostics {
 public:
  void Problem(const char* what, uint64_t a, uint64_t b) {
    if (stored_ < N) reports_[stored_++] = ProblemReport{what, a, b};
    ++total_;
  }
  /// Reports received, including those not stored.
  size_t total() const { return total_; }
  /// The stored reports, in order.
  std::span<const ProblemReport> reports() const { return {reports_.data(), stored_}; }
  /// How many stored reports have this message.
  size_t Count(std::string_view what) const {
    size_t n = 0;
    for (const ProblemReport& r : reports())
      if (what == r.what) ++n;
    return n;
  }
  /// The `nth` stored report with this message, or nullptr.
  const ProblemReport* Find(std::string_view what, size_t nth = 0) const {
    for (const ProblemReport& r : reports())
      if (what == r.what && nth-- == 0) return &r;
    return nullptr;
  }
  void Clear() { stored_ = total_ = 0; }

 private:
  std::array<ProblemReport, N> reports_{};
  size_t stored_ = 0;
  size_t total_ = 0;
};

/// Ignores every report (the fuzzer's policy).
struct DiscardingDiagnostics {
  void Problem(const char*, uint64_t, uint64_t) {}
};

/// A reference to any Diagnostics, as a context pointer plus one function pointer (no
/// vtable), so the parser and planner are compiled once, in elfcore.cc, whatever the
/// policy. The referenced policy must outlive the sink.
class ProblemSink {
 public:
  template <Diagnostics D>
    requires(!std::is_same_v<std::remove_cv_t<D>, ProblemSink>)
  explicit ProblemSink(D& diag)
      : context_(&diag), report_([](void* context, const char* what, uint64_t a, uint64_t b) {
          static_cast<D*>(context)->Problem(what, a, b);
        }) {}

  void Problem(const char* what, uint64_t a, uint64_t b) const { report_(context_, what, a, b); }

 private:
  void* context_;
  void (*report_)(void*, const char*, uint64_t, uint64_t);
};

static_assert(Diagnostics<ProblemSink>);
static_assert(Diagnostics<DiscardingDiagnostics>);
static_assert(Diagnostics<CollectingDiagnostics<1>>);

// ---- the core header -----------------------------------------------------------------

/// A PT_LOAD kept by the parser: the crashed kernel's physical range and the virtual
/// address it was mapped at (~0 when unknown: highmem, or kexec-tools found no _text).
struct LoadSegment {
  PhysRange phys;
  uint64_t vaddr = 0;
  constexpr bool operator==(const LoadSegment&) const = default;
};

/// The rule for two PT_LOADs that share physical bytes (MakePlan's report and the host's
/// vmcore writer both follow it): when one lies wholly inside the other and both have a
/// known virtual address with a different virtual-to-physical offset, the smaller is a
/// second view of the same memory (kexec-tools' kernel-text PT_LOAD inside a System RAM
/// PT_LOAD, as /proc/vmcore shows it) and both are kept. Any other overlap is clipped:
/// the later PT_LOAD loses the bytes an earlier one already shows.
constexpr bool IsSecondView(const LoadSegment& a, const LoadSegment& b) {
  constexpr uint64_t kUnknown = ~uint64_t{0};
  if (a.vaddr == 0 || b.vaddr == 0 || a.vaddr == kUnknown || b.vaddr == kUnknown) return false;
  if (!a.phys.Contains(b.phys) && !b.phys.Contains(a.phys)) return false;
  return a.vaddr - a.phys.base != b.vaddr - b.phys.base;  // modular: no overflow
}

/// What ParseCoreHeader keeps of an elfcorehdr: only entries that passed the checks, in
/// header order. Every range satisfies 0 < size and Last() <= kMaxPhysAddr.
struct CoreHeader {
  uint8_t elf_class = 0;  ///< 32 or 64.
  uint16_t machine = 0;   ///< e_machine (kEmAarch64, kEmArm, kEmRiscv, ...).
  uint16_t phnum = 0;     ///< e_phnum as read.
  /// PT_NOTE segments: physical address (p_offset) and size (p_memsz) of note buffers
  /// in old memory, in header order (CPUs, then VMCOREINFO).
  FixedList<PhysRange, kMaxNotes> notes;
  /// PT_LOAD segments, in header order (not sorted; may overlap; see MakePlan).
  FixedList<LoadSegment, kMaxLoads> loads;

  /// Empties the header in place (no 8 KiB temporary on the stack).
  void Clear() {
    elf_class = 0;
    machine = 0;
    phnum = 0;
    notes.Clear();
    loads.Clear();
  }
};

namespace internal {
Status ParseCoreHeader(std::span<const uint8_t> bytes, ProblemSink diag, CoreHeader* out);
}  // namespace internal

/// The most an elfcorehdr may take: kMaxPhnum program headers fit well inside it.
inline constexpr uint64_t kMaxCoreHeaderSize = uint64_t{1} << 20;
/// What CoreHeaderSize reads: the larger ELF header (ELF64's).
inline constexpr size_t kCoreHeaderProbeSize = 64;

/// The size of an elfcorehdr given only its address (`elfcorehdr=ADDR` without a size),
/// from its first kCoreHeaderProbeSize bytes: the end of its program header table, at
/// least kCoreHeaderProbeSize. Only what the size needs is checked here; ParseCoreHeader
/// checks the rest.
/// Errors: kMalformed (fewer than kCoreHeaderProbeSize bytes, no ELF magic, EI_CLASS
/// neither 32 nor 64, e_phentsize not the class's program header size), kOutOfRange
/// (the table ends above kMaxCoreHeaderSize).
Result<uint64_t> CoreHeaderSize(std::span<const uint8_t> first_bytes);

/// Parses an ELF64 or ELF32 little-endian ET_CORE header into `*out` (cleared first).
/// Bad PT_NOTE/PT_LOAD entries (size 0, wrapping past 2^64 or 4 GiB for ELF32, above
/// kMaxPhysAddr, note over kMaxNoteSegmentSize, over capacity) and other p_types are
/// reported to `diag` and left out; they are not errors.
/// Errors (the header is unusable):
///   kMalformed: shorter than its ELF header; no ELF magic; EI_CLASS not ELFCLASS32/64;
///     EI_DATA not ELFDATA2LSB/MSB; e_type not ET_CORE; e_phentsize not the class's
///     program header size; e_phnum 0; program headers past the end of `bytes`.
///   kUnsupported: big-endian (ELFDATA2MSB).
///   kOutOfRange: e_phnum above kMaxPhnum.
template <Diagnostics D>
Status ParseCoreHeaderInto(std::span<const uint8_t> bytes, D& diag, CoreHeader* out) {
  if constexpr (std::is_same_v<std::remove_cv_t<D>, ProblemSink>) {
    return internal::ParseCoreHeader(bytes, diag, out);
  } else {
    return internal::ParseCoreHeader(bytes, ProblemSink(diag), out);
  }
}

/// ParseCoreHeaderInto returning the header by value (about 8 KiB: see the file comment).
template <Diagnostics D>
Result<CoreHeader> ParseCoreHeader(std::span<const uint8_t> bytes, D& diag) {
  CoreHeader header;
  SALVAGE_TRY(ParseCoreHeaderInto(bytes, diag, &header));
  return header;
}

// ---- notes -----------------------------------------------------------------------------

/// Size of an Elf32_Nhdr / Elf64_Nhdr: namesz, descsz, type, each 32 bits.
inline constexpr size_t kNoteHeaderSize = elf::kNhdrSize;

namespace internal {

constexpr uint64_t AlignUp4(uint64_t v) { return (v + 3) & ~uint64_t{3}; }

template <class Fn>
Status InvokeNote(Fn& fn, std::string_view name, uint32_t type, std::span<const uint8_t> desc) {
  using R = std::invoke_result_t<Fn&, std::string_view, uint32_t, std::span<const uint8_t>>;
  static_assert(std::is_void_v<R> || std::is_same_v<R, Status>,
                "the note callback must return void or salvage::Status");
  if constexpr (std::is_same_v<R, Status>) {
    return fn(name, type, desc);
  } else {
    fn(name, type, desc);
    return Status::Ok();
  }
}

}  // namespace internal

/// Walks the notes of one PT_NOTE segment's bytes (little-endian), calling
/// fn(std::string_view name, uint32_t type, std::span<const uint8_t> desc) for each in
/// order. `name` is without its terminating NUL. Name and descriptor are padded to 4
/// bytes in both ELF classes, as Linux writes them (append_elf_note) and vmcore.c reads
/// them. The walk ends at the end of the bytes or at a note header with namesz 0 (the
/// kernel's final_note(), after which a crash_notes buffer holds only padding); fewer
/// than 12 bytes left at the end must be zero padding. fn may return void or a Status: a
/// non-ok Status stops the walk and is returned.
/// Errors (notes before the bad one were already passed to fn):
///   kMalformed: "note: header truncated" (nonzero tail shorter than a note header),
///   "note: name or descriptor runs past the end of the segment".
template <class Fn>
Status ForEachNote(std::span<const uint8_t> bytes, Fn fn) {
  static_assert(std::is_invocable_v<Fn&, std::string_view, uint32_t, std::span<const uint8_t>>,
                "the note callback must be callable as fn(std::string_view name, uint32_t type, "
                "std::span<const uint8_t> desc)");
  const uint64_t size = bytes.size();
  uint64_t pos = 0;
  while (pos < size) {
    if (size - pos < kNoteHeaderSize) {
      for (uint64_t i = pos; i < size; ++i)
        if (bytes[i] != 0) return Status(Error::kMalformed, "note: header truncated");
      return Status::Ok();
    }
    const uint8_t* h = bytes.data() + pos;
    const uint32_t namesz = LoadLe32(h + elf::kNNamesz);
    const uint32_t descsz = LoadLe32(h + elf::kNDescsz);
    const uint32_t type = LoadLe32(h + elf::kNType);
    if (namesz == 0) return Status::Ok();
    // 64-bit arithmetic: pos < 2^63 and the sizes are 32-bit, so nothing wraps.
    const uint64_t name_begin = pos + kNoteHeaderSize;
    const uint64_t name_end = name_begin + namesz;
    uint64_t desc_begin = internal::AlignUp4(name_end);
    const uint64_t desc_end = desc_begin + descsz;
    if (name_end > size || (descsz != 0 && desc_end > size))
      return Status(Error::kMalformed, "note: name or descriptor runs past the end of the segment");
    if (descsz == 0 && desc_begin > size) desc_begin = size;  // last note, padding cut off
    size_t name_len = namesz;
    if (bytes[name_end - 1] == 0) --name_len;
    std::string_view name(reinterpret_cast<const char*>(bytes.data() + name_begin), name_len);
    SALVAGE_TRY(internal::InvokeNote(fn, name, type, bytes.subspan(desc_begin, descsz)));
    pos = internal::AlignUp4(desc_begin + descsz);
  }
  return Status::Ok();
}

/// Counts the NT_PRSTATUS notes named "CORE" (one per CPU that saved its registers) in a
/// PT_NOTE segment's bytes. Errors: as ForEachNote.
Result<uint32_t> CountPrstatus(std::span<const uint8_t> note_bytes);

/// The descriptor of the first note named "VMCOREINFO" in a PT_NOTE segment's bytes, or
/// an empty span when there is none. Errors: as ForEachNote.
Result<std::span<const uint8_t>> FindVmcoreinfo(std::span<const uint8_t> note_bytes);

/// The value of `key` in a VMCOREINFO descriptor ("KEY=value" lines separated by '\n',
/// possibly followed by NUL padding): VmcoreinfoField(desc, "OSRELEASE") -> "6.1.0-18-arm64".
/// `key` may end in '=' ("PAGESIZE="). Only whole keys at the start of a line match.
/// Returns "" when the key is absent (or its value is empty). Points into `desc`.
std::string_view VmcoreinfoField(std::span<const uint8_t> vmcoreinfo_desc, std::string_view key);

// ---- the plan -------------------------------------------------------------------------

/// What the planner checks the header against.
struct PlanInput {
  /// The /memory ranges of the DTB.
  std::span<const PhysRange> memory;
  /// Salvage's own reservation: the linux,usable-memory-range entries, the image and the
  /// elfcorehdr itself. Nothing in here is dumped or read as a note.
  std::span<const PhysRange> reserved;
  /// The granule the dump is made of (the image: its page size). The dump rounds its
  /// ranges out to whole pages, so a page that holds a reserved byte is left out whole:
  /// the plan (and its "that part left out" reports) cut the reservation rounded out to
  /// this granule. 0 or 1: byte-exact. At most kMaxPlanReserved reserved ranges then.
  uint64_t page_size = 0;
};

/// Most reserved ranges MakePlan takes with a page_size (it rounds a copy of them).
inline constexpr size_t kMaxPlanReserved = 32;

/// Which physical ranges to dump and which note buffers to read.
struct Plan {
  /// Sorted by address, pairwise disjoint (they may touch), each inside /memory and
  /// outside the reservation, each Last() <= kMaxPhysAddr.
  FixedList<PhysRange, kMaxPlanRanges> ranges;
  /// The header's PT_NOTE buffers that lie wholly inside /memory and outside the
  /// reservation, in header order. Empty in a fallback without a header.
  FixedList<PhysRange, kMaxNotes> notes;
  /// True when `ranges` is /memory minus the reservation because there was no usable
  /// header, or no PT_LOAD survived the checks.
  bool fallback = false;

  /// Sum of the range sizes (cannot overflow: all ranges are below 2^56).
  uint64_t TotalBytes() const {
    uint64_t total = 0;
    for (const PhysRange& r : ranges) total += r.size;
    return total;
  }
  /// Empties the plan in place.
  void Clear() {
    ranges.Clear();
    notes.Clear();
    fallback = false;
  }
};

namespace internal {
Status MakePlan(const CoreHeader* header, const PlanInput& in, ProblemSink diag, Plan* out);
}  // namespace internal

/// Builds the plan into `*out` (cleared first). For each PT_LOAD in header order: left out
/// if it touches no /memory range; parts outside /memory left out; parts overlapping a
/// reserved range left out (which may split it); bytes already in the plan from an
/// earlier PT_LOAD are kept once (the union is stored, so a kernel-image PT_LOAD inside
/// a RAM PT_LOAD yields the RAM range once). Each of these is reported once per part
/// (once per PT_LOAD for overlaps). Notes are kept only when wholly inside /memory and
/// clear of the reservation. If `header` is nullptr (unusable) or no range remains, the
/// plan is /memory minus the reservation, `fallback` is set and problem::kFallback is
/// reported. A full plan reports problem::kPlanFull for each range it cannot take.
/// Errors: kNotFound: nothing to dump even in the fallback (no /memory, or all of it
/// reserved).
template <Diagnostics D>
Status MakePlanInto(const CoreHeader* header, const PlanInput& in, D& diag, Plan* out) {
  if constexpr (std::is_same_v<std::remove_cv_t<D>, ProblemSink>) {
    return internal::MakePlan(header, in, diag, out);
  } else {
    return internal::MakePlan(header, in, ProblemSink(diag), out);
  }
}

/// MakePlanInto returning the plan by value (about 6 KiB: see the file comment).
template <Diagnostics D>
Result<Plan> MakePlan(const CoreHeader* header, const PlanInput& in, D& diag) {
  Plan plan;
  SALVAGE_TRY(MakePlanInto(header, in, diag, &plan));
  return plan;
}

}  // namespace salvage::elfcore
