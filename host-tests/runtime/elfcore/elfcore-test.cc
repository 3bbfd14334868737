// Tests for runtime/elfcore (salvage::elfcore): the elfcorehdr parser, the note walker
// and helpers, and the dump planner. Core headers are built byte by byte here from the
// host's <elf.h> structures (an independent source for the gABI layouts the parser hard
// codes), laid out as kexec-tools' crashdump-elf.c writes them.
#include <salvage/elfcore/elfcore.h>

#include <elf.h>
#include <gtest/gtest.h>

#include "runtime/elfcore/core-builder.h"

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace salvage::elfcore {
namespace {

using test::Append;
using test::AppendNote;
using test::Bytes;
using test::CoreBuilder;
using test::Phdr;

// Writes `value` little-endian into `width` bytes at `offset` (to corrupt a built header).
void Poke(Bytes& b, size_t offset, uint64_t value, size_t width) {
  ASSERT_LE(offset + width, b.size());
  for (size_t i = 0; i < width; ++i) b[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

Bytes Filled(size_t n, uint8_t v) { return Bytes(n, v); }
Bytes TextBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

using Diag = CollectingDiagnostics<512>;

std::string Describe(const Diag& d) {
  std::string s;
  for (const ProblemReport& r : d.reports()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " (0x%llx, 0x%llx)\n", static_cast<unsigned long long>(r.a),
                  static_cast<unsigned long long>(r.b));
    s += r.what;
    s += buf;
  }
  return s;
}

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

// QEMU virt arm64 with 1 GiB at 0x40000000 and crashkernel=64M at 0x7a000000, as
// kexec-tools on arm64 describes it (docs/toolchain.md section 6): 4 CPU notes,
// VMCOREINFO, a kernel-image PT_LOAD inside the first RAM range, RAM minus the
// crashkernel.
constexpr PhysRange kVirtRam{0x40000000, kGiB};
constexpr PhysRange kVirtCrashkernel{0x7a000000, 64 * kMiB};
constexpr PhysRange kKernelImage{0x40210000, 0x1d90000};
constexpr uint64_t kKernelText = 0xffff800008000000;
constexpr uint64_t kPageOffset = 0xffff000000000000;

CoreBuilder VirtArm64Header() {
  CoreBuilder b(64, EM_AARCH64);
  for (uint64_t cpu = 0; cpu < 4; ++cpu) b.Note(0x7fb0e000 + cpu * 0x1000, 0x1a8);
  b.Note(0x7fa40000, 0x1000);  // VMCOREINFO
  b.Load(kKernelImage.base, kKernelImage.size, kKernelText);
  b.Load(0x40000000, 0x3a000000, kPageOffset + 0x40000000);
  b.Load(0x7e000000, 0x2000000, kPageOffset + 0x7e000000);
  return b;
}

// ---- constants ----------------------------------------------------------------------

TEST(ElfCoreConstants, MatchTheHostElfH) {
  EXPECT_EQ(kEmArm, EM_ARM);
  EXPECT_EQ(kEmAarch64, EM_AARCH64);
  EXPECT_EQ(kEmRiscv, EM_RISCV);
  EXPECT_EQ(kNtPrstatus, uint32_t{NT_PRSTATUS});
  EXPECT_EQ(kNoteHeaderSize, sizeof(Elf64_Nhdr));
  EXPECT_EQ(kNoteHeaderSize, sizeof(Elf32_Nhdr));
}

// ---- parsing ------------------------------------------------------------------------

TEST(ElfCoreParse, Elf64NotesAndLoadsIncludingAbove4GiB) {
  Bytes bytes = CoreBuilder(64, EM_AARCH64)
                    .Note(0x8fb0e000, 0x1a8)
                    .Note(0x8fb0f000, 0x1a8)
                    .Note(0x8fb10000, 0x1a8)
                    .Note(0x8fa40000, 0x1000)  // VMCOREINFO
                    .Load(0x80000000, 0x7f000000, 0xffff000080000000)
                    .Load(0x880000000, 0x180000000, 0xffff000880000000)  // above 4 GiB
                    .Build();
  Diag diag;
  Result<CoreHeader> h = ParseCoreHeader(bytes, diag);
  ASSERT_TRUE(h.ok()) << h.status().what();
  EXPECT_EQ(diag.total(), 0u) << Describe(diag);
  EXPECT_EQ(h->elf_class, 64);
  EXPECT_EQ(h->machine, EM_AARCH64);
  EXPECT_EQ(h->phnum, 6);
  ASSERT_EQ(h->notes.size(), 4u);
  EXPECT_EQ(h->notes[0], (PhysRange{0x8fb0e000, 0x1a8}));
  EXPECT_EQ(h->notes[2], (PhysRange{0x8fb10000, 0x1a8}));
  EXPECT_EQ(h->notes[3], (PhysRange{0x8fa40000, 0x1000}));
  ASSERT_EQ(h->loads.size(), 2u);
  EXPECT_EQ(h->loads[0], (LoadSegment{{0x80000000, 0x7f000000}, 0xffff000080000000}));
  EXPECT_EQ(h->loads[1], (LoadSegment{{0x880000000, 0x180000000}, 0xffff000880000000}));
}

TEST(ElfCoreParse, Elf32NotesLoadsAndHighmemVaddr) {
  Bytes bytes = CoreBuilder(32, EM_ARM)
                    .Note(0x6fe0c000, 0x94)
                    .Note(0x6fe0d000, 0x94)
                    .Note(0x6fc00000, 0x1000)
                    .Load(0x40000000, 0x2f000000, 0xc0000000)
                    .Load(0x73000000, 0x8d000000, 0xffffffff)  // highmem, up to 4 GiB exactly
                    .Build();
  ASSERT_EQ(bytes.size(), 52u + 5 * 32u);
  Diag diag;
  Result<CoreHeader> h = ParseCoreHeader(bytes, diag);
  ASSERT_TRUE(h.ok()) << h.status().what();
  EXPECT_EQ(diag.total(), 0u) << Describe(diag);
  EXPECT_EQ(h->elf_class, 32);
  EXPECT_EQ(h->machine, EM_ARM);
  ASSERT_EQ(h->notes.size(), 3u);
  EXPECT_EQ(h->notes[1], (PhysRange{0x6fe0d000, 0x94}));
  ASSERT_EQ(h->loads.size(), 2u);
  EXPECT_EQ(h->loads[0], (LoadSegment{{0x40000000, 0x2f000000}, 0xc0000000}));
  // Widened as unsigned: highmem's ~0 stays 0xffffffff, it is not sign-extended.
  EXPECT_EQ(h->loads[1], (LoadSegment{{0x73000000, 0x8d000000}, 0xffffffff}));
}

TEST(ElfCoreParse, Elf32RangeWrappingPast4GiBIsLeftOut) {
  Bytes bytes = CoreBuilder(32, EM_ARM)
                    .Note(0x6fe0c000, 0x94)
                    .Load(0xf0000000, 0x20000000, 0xffffffff)
                    .Load(0x40000000, 0x1000, 0xc0000000)
                    .Build();
  Diag diag;
  Result<CoreHeader> h = ParseCoreHeader(bytes, diag);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->loads.size(), 1u);
  EXPECT_EQ(h->loads[0].phys, (PhysRange{0x40000000, 0x1000}));
  const ProblemReport* r = diag.Find(problem::kLoadImpossible);
  ASSERT_NE(r, nullptr) << Describe(diag);
  EXPECT_EQ(r->a, 0xf0000000u);
  EXPECT_EQ(r->b, 0x20000000u);
  EXPECT_EQ(diag.total(), 1u);
}

TEST(ElfCoreParse, BigEndianIsUnsupported) {
  Bytes bytes = VirtArm64Header().Build();
  bytes[EI_DATA] = ELFDATA2MSB;
  Diag diag;
  Result<CoreHeader> h = ParseCoreHeader(bytes, diag);
  EXPECT_EQ(h.status().error(), Error::kUnsupported);
  EXPECT_NE(std::string(h.status().what()).find("big-endian"), std::string::npos) << h.status().what();
  bytes[EI_DATA] = 0;  // ELFDATANONE: not an encoding at all
  EXPECT_EQ(ParseCoreHeader(bytes, diag).status().error(), Error::kMalformed);
}

TEST(ElfCoreParse, TruncatedHeaderIsMalformed) {
  Bytes b64 = VirtArm64Header().Build();
  Bytes b32 = CoreBuilder(32, EM_ARM).Note(0x6fe0c000, 0x94).Load(0x40000000, 0x1000, 0).Build();
  Diag diag;
  for (size_t n : {size_t{0}, size_t{4}, size_t{15}, size_t{16}, size_t{63}}) {
    Result<CoreHeader> h = ParseCoreHeader(std::span<const uint8_t>(b64.data(), n), diag);
    EXPECT_EQ(h.status().error(), Error::kMalformed) << n;
  }
  // 63 bytes hold a whole Elf32_Ehdr but not an Elf64_Ehdr.
  EXPECT_STREQ(ParseCoreHeader(std::span<const uint8_t>(b64.data(), 63), diag).status().what(),
               "elfcorehdr: shorter than its ELF header");
  EXPECT_EQ(ParseCoreHeader(std::span<const uint8_t>(b32.data(), 51), diag).status().error(), Error::kMalformed);
  // The last program header cut short by one byte.
  Result<CoreHeader> h = ParseCoreHeader(std::span<const uint8_t>(b64.data(), b64.size() - 1), diag);
  EXPECT_EQ(h.status().error(), Error::kMalformed);
  EXPECT_STREQ(h.status().what(), "elfcorehdr: program headers run past the end of the buffer");
  // Exactly the right size parses.
  EXPECT_TRUE(ParseCoreHeader(b64, diag).ok());
  EXPECT_TRUE(ParseCoreHeader(b32, diag).ok());
}

TEST(ElfCoreParse, IdentityAndTypeChecks) {
  const Bytes good = VirtArm64Header().Build();
  Diag diag;
  struct Case {
    size_t offset;
    uint64_t value;
    size_t width;
    const char* what;
  } cases[] = {
      {0, 0x7e, 1, "elfcorehdr: no ELF magic"},
      {3, 'f', 1, "elfcorehdr: no ELF magic"},
      {EI_CLASS, 3, 1, "elfcorehdr: EI_CLASS is neither ELFCLASS32 nor ELFCLASS64"},
      {EI_CLASS, ELFCLASSNONE, 1, "elfcorehdr: EI_CLASS is neither ELFCLASS32 nor ELFCLASS64"},
      {offsetof(Elf64_Ehdr, e_type), ET_EXEC, 2, "elfcorehdr: e_type is not ET_CORE"},
      {offsetof(Elf64_Ehdr, e_phentsize), sizeof(Elf32_Phdr), 2,
       "elfcorehdr: e_phentsize is not the program header size of its class"},
  };
  for (const Case& c : cases) {
    Bytes b = good;
    Poke(b, c.offset, c.value, c.width);
    Result<CoreHeader> h = ParseCoreHeader(b, diag);
    EXPECT_EQ(h.status().error(), Error::kMalformed) << c.what;
    EXPECT_STREQ(h.status().what(), c.what);
  }
  // An ELF64 header whose EI_CLASS claims ELF32 reads as ELF32 with a wrong e_phentsize.
  Bytes b = good;
  b[EI_CLASS] = ELFCLASS32;
  EXPECT_EQ(ParseCoreHeader(b, diag).status().error(), Error::kMalformed);
  EXPECT_EQ(diag.total(), 0u);
}

TEST(ElfCoreParse, VersionMismatchIsReportedNotFatal) {
  Bytes b = VirtArm64Header().Build();
  b[EI_VERSION] = 0;
  Poke(b, offsetof(Elf64_Ehdr, e_version), 7, 4);
  Diag diag;
  Result<CoreHeader> h = ParseCoreHeader(b, diag);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->loads.size(), 3u);
  const ProblemReport* r = diag.Find(problem::kVersion);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->a, 0u);
  EXPECT_EQ(r->b, 7u);
}

TEST(ElfCoreParse, PhoffBeyondBuffer) {
  Diag diag;
  Bytes b = VirtArm64Header().Build();
  for (uint64_t phoff : {uint64_t{b.size()}, uint64_t{b.size()} + 8, uint64_t{64 + 56},
                         ~uint64_t{0} - 15 /* phoff + table wraps past 2^64 */, ~uint64_t{0}}) {
    Bytes c = b;
    Poke(c, offsetof(Elf64_Ehdr, e_phoff), phoff, 8);
    Result<CoreHeader> h = ParseCoreHeader(c, diag);
    EXPECT_EQ(h.status().error(), Error::kMalformed) << std::hex << phoff;
    EXPECT_STREQ(h.status().what(), "elfcorehdr: program headers run past the end of the buffer");
  }
  Bytes c32 = CoreBuilder(32, EM_ARM).Note(0x6fe0c000, 0x94).Build();
  Poke(c32, offsetof(Elf32_Ehdr, e_phoff), 0xffffffff, 4);
  EXPECT_EQ(ParseCoreHeader(c32, diag).status().error(), Error::kMalformed);
  // A phoff that leaves room (program headers after padding) is fine.
  Bytes padded = b;
  padded.insert(padded.begin() + 64, 8, 0);
  Poke(padded, offsetof(Elf64_Ehdr, e_phoff), 72, 8);
  Result<CoreHeader> h = ParseCoreHeader(padded, diag);
  ASSERT_TRUE(h.ok()) << h.status().what();
  EXPECT_EQ(h->loads.size(), 3u);
}

TEST(ElfCoreParse, PhnumZeroOrHuge) {
  Diag diag;
  Bytes b = VirtArm64Header().Build();
  Poke(b, offsetof(Elf64_Ehdr, e_phnum), 0, 2);
  EXPECT_EQ(ParseCoreHeader(b, diag).status().error(), Error::kMalformed);
  for (uint64_t phnum : {uint64_t{4097}, uint64_t{PN_XNUM}}) {
    Poke(b, offsetof(Elf64_Ehdr, e_phnum), phnum, 2);
    Result<CoreHeader> h = ParseCoreHeader(b, diag);
    EXPECT_EQ(h.status().error(), Error::kOutOfRange) << phnum;
    EXPECT_STREQ(h.status().what(), "elfcorehdr: e_phnum above 4096");
  }
  // 4096 PT_NULL entries that are really there: accepted, reported as ignored, once.
  CoreBuilder many(64);
  for (int i = 0; i < 4096; ++i) many.Add(Phdr{});
  Result<CoreHeader> h = ParseCoreHeader(many.Build(), diag);
  ASSERT_TRUE(h.ok()) << h.status().what();
  EXPECT_EQ(h->phnum, 4096);
  EXPECT_TRUE(h->loads.empty());
  const ProblemReport* r = diag.Find(problem::kOtherTypes);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->a, 4096u);
  EXPECT_EQ(r->b, uint64_t{PT_NULL});
  EXPECT_EQ(diag.Count(problem::kNoNotes), 1u);
  EXPECT_EQ(diag.total(), 2u) << Describe(diag);
}

TEST(ElfCoreParse, AbsurdEntriesAreReportedAndSkipped) {
  Bytes bytes = CoreBuilder(64)
                    .Note(0x7fb0e000, 0x1a8)              // kept
                    .Note(0x7fb0f000, 0)                  // index 1: empty
                    .Note(~uint64_t{0}, 0x1a8)            // wraps
                    .Note(0x7f000000, 2 * kMiB)           // too big
                    .Load(0x40000000, 0x1000, 0)          // kept
                    .Load(0x50000000, 0, 0)               // index 5: empty
                    .Load(~uint64_t{0}, 0x1000, 0)        // paddr ~0: wraps
                    .Load(uint64_t{1} << 60, 0x1000, 0)   // beyond 2^56
                    .Load(0xfffffffff000, 0x1000, 0)      // ends at 2^48: kept
                    .Add({PT_DYNAMIC, 0, 0, 0, 8, 8})     // another type
                    .Add({PT_LOAD, 0x1234000, 0, 0x60000000, 0x1000, 0x1000})  // offset != paddr
                    .Build();
  Diag diag;
  Result<CoreHeader> h = ParseCoreHeader(bytes, diag);
  ASSERT_TRUE(h.ok()) << h.status().what();
  ASSERT_EQ(h->notes.size(), 1u);
  EXPECT_EQ(h->notes[0], (PhysRange{0x7fb0e000, 0x1a8}));
  ASSERT_EQ(h->loads.size(), 3u);
  EXPECT_EQ(h->loads[0].phys, (PhysRange{0x40000000, 0x1000}));
  EXPECT_EQ(h->loads[1].phys, (PhysRange{0xfffffffff000, 0x1000}));
  EXPECT_EQ(h->loads[2].phys, (PhysRange{0x60000000, 0x1000}));

  ASSERT_NE(diag.Find(problem::kNoteEmpty), nullptr);
  EXPECT_EQ(diag.Find(problem::kNoteEmpty)->a, 1u);
  EXPECT_EQ(diag.Find(problem::kNoteImpossible)->a, ~uint64_t{0});
  EXPECT_EQ(diag.Find(problem::kNoteTooBig)->b, 2 * kMiB);
  EXPECT_EQ(diag.Find(problem::kLoadEmpty)->a, 5u);
  EXPECT_EQ(diag.Find(problem::kLoadEmpty)->b, 0x50000000u);
  ASSERT_EQ(diag.Count(problem::kLoadImpossible), 2u);
  EXPECT_EQ(diag.Find(problem::kLoadImpossible, 0)->a, ~uint64_t{0});
  EXPECT_EQ(diag.Find(problem::kLoadImpossible, 1)->a, uint64_t{1} << 60);
  EXPECT_EQ(diag.Find(problem::kOtherTypes)->a, 1u);
  EXPECT_EQ(diag.Find(problem::kOtherTypes)->b, uint64_t{PT_DYNAMIC});
  EXPECT_EQ(diag.Find(problem::kLoadOffsetMismatch)->a, 0x60000000u);
  EXPECT_EQ(diag.Find(problem::kLoadOffsetMismatch)->b, 0x1234000u);
  EXPECT_EQ(diag.total(), 8u) << Describe(diag);
}

TEST(ElfCoreParse, TooManyLoadsAreCountedOnce) {
  CoreBuilder b(64);
  b.Note(0x7fb0e000, 0x1a8);
  for (uint64_t i = 0; i < 300; ++i) b.Load(0x40000000 + i * 0x10000, 0x8000, 0);
  Diag diag;
  Result<CoreHeader> h = ParseCoreHeader(b.Build(), diag);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->loads.size(), kMaxLoads);
  EXPECT_EQ(h->loads[kMaxLoads - 1].phys.base, 0x40000000 + (kMaxLoads - 1) * 0x10000);
  ASSERT_EQ(diag.total(), 1u) << Describe(diag);
  EXPECT_EQ(diag.Find(problem::kTooManyLoads)->a, 300 - kMaxLoads);
  EXPECT_EQ(diag.Find(problem::kTooManyLoads)->b, kMaxLoads);
}

TEST(ElfCoreParse, ResultAndIntoFormsAgree) {
  Bytes bytes = VirtArm64Header().Build();
  Diag d1, d2;
  static CoreHeader into;  // static, as the image would keep it
  ASSERT_TRUE(ParseCoreHeaderInto(bytes, d1, &into).ok());
  Result<CoreHeader> h = ParseCoreHeader(bytes, d2);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(into.notes.size(), 5u);
  EXPECT_EQ(into.loads.size(), h->loads.size());
  for (size_t i = 0; i < into.loads.size(); ++i) EXPECT_EQ(into.loads[i], h->loads[i]);
  // A failed parse leaves the output empty, not half-filled from before.
  Bytes bad = bytes;
  bad[0] = 0;
  EXPECT_FALSE(ParseCoreHeaderInto(bad, d1, &into).ok());
  EXPECT_TRUE(into.loads.empty());
  EXPECT_TRUE(into.notes.empty());
}

// ---- the plan -----------------------------------------------------------------------

TEST(ElfCorePlan, KexecToolsArm64HeaderWithKernelImageDuplicate) {
  Diag diag;
  Result<CoreHeader> h = ParseCoreHeader(VirtArm64Header().Build(), diag);
  ASSERT_TRUE(h.ok());
  // The reservation: usable-memory-range (the crashkernel), and inside it the image
  // and the elfcorehdr.
  const PhysRange memory[] = {kVirtRam};
  const PhysRange reserved[] = {kVirtCrashkernel, {0x7a000000, 0x40000}, {0x7dfff000, 0x1000}};
  Result<Plan> plan = MakePlan(&*h, PlanInput{memory, reserved}, diag);
  ASSERT_TRUE(plan.ok()) << plan.status().what();
  EXPECT_FALSE(plan->fallback);
  ASSERT_EQ(plan->ranges.size(), 2u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x40000000, 0x3a000000}));  // kernel image merged in
  EXPECT_EQ(plan->ranges[1], (PhysRange{0x7e000000, 0x2000000}));
  EXPECT_EQ(plan->TotalBytes(), kGiB - kVirtCrashkernel.size);
  ASSERT_EQ(plan->notes.size(), 5u);
  EXPECT_EQ(plan->notes[4], (PhysRange{0x7fa40000, 0x1000}));
  // Reported once, naming the RAM PT_LOAD that shows the kernel image's bytes again at
  // their linear-map addresses: a second view, which the vmcore keeps.
  ASSERT_EQ(diag.total(), 1u) << Describe(diag);
  ASSERT_EQ(diag.Count(problem::kLoadSecondView), 1u) << Describe(diag);
  EXPECT_EQ(diag.Find(problem::kLoadSecondView)->a, 0x40000000u);
  EXPECT_EQ(diag.Find(problem::kLoadSecondView)->b, 0x3a000000u);
}

TEST(ElfCorePlan, KexecToolsBrokenKernelTextEntryIsSurvived) {
  // kexec-tools without _text in /proc/kallsyms: kernel-text PT_LOAD with p_vaddr ~0 and
  // a size near 2^64 (docs/toolchain.md section 6). Two shapes: the end wraps past
  // 2^64, and (from a low base) it does not wrap but ends far above any physical
  // address.
  for (uint64_t base : {kKernelImage.base, uint64_t{0}}) {
    const uint64_t size = 0xfffffffffe5f0000;
    CoreBuilder b(64);
    for (uint64_t cpu = 0; cpu < 2; ++cpu) b.Note(0x7fb0e000 + cpu * 0x1000, 0x1a8);
    b.Note(0x7fa40000, 0x1000);
    b.Load(base, size, ~uint64_t{0});
    b.Load(0x40000000, 0x3a000000, kPageOffset + 0x40000000);
    b.Load(0x7e000000, 0x2000000, kPageOffset + 0x7e000000);
    Diag diag;
    Result<CoreHeader> h = ParseCoreHeader(b.Build(), diag);
    ASSERT_TRUE(h.ok()) << h.status().what();
    ASSERT_EQ(h->loads.size(), 2u);
    EXPECT_EQ(h->loads[0].phys.base, 0x40000000u);
    const ProblemReport* r = diag.Find(problem::kLoadImpossible);
    ASSERT_NE(r, nullptr) << Describe(diag);
    EXPECT_EQ(r->a, base);
    EXPECT_EQ(r->b, size);

    const PhysRange memory[] = {kVirtRam};
    const PhysRange reserved[] = {kVirtCrashkernel};
    Result<Plan> plan = MakePlan(&*h, PlanInput{memory, reserved}, diag);
    ASSERT_TRUE(plan.ok());
    EXPECT_FALSE(plan->fallback);
    ASSERT_EQ(plan->ranges.size(), 2u);
    EXPECT_EQ(plan->ranges[0], (PhysRange{0x40000000, 0x3a000000}));
    EXPECT_EQ(plan->ranges[1], (PhysRange{0x7e000000, 0x2000000}));
    EXPECT_EQ(diag.total(), 1u) << Describe(diag);
  }
}

TEST(ElfCorePlan, OverlappingLoadsAreDumpedOnce) {
  CoreHeader h;
  ASSERT_TRUE(h.loads.PushBack({{0x100000, 0x200000}, 0}));  // A [1M, 3M)
  ASSERT_TRUE(h.loads.PushBack({{0x200000, 0x300000}, 0}));  // B [2M, 5M) overlaps A
  ASSERT_TRUE(h.loads.PushBack({{0x400000, 0x80000}, 0}));   // C inside B
  ASSERT_TRUE(h.loads.PushBack({{0x1000000, 0x1000}, 0}));   // D
  ASSERT_TRUE(h.loads.PushBack({{0x1001000, 0x1000}, 0}));   // E touches D: not an overlap
  ASSERT_TRUE(h.loads.PushBack({{0x0ff000, 0x1000000}, 0}));  // F covers A..C and into D's gap
  const PhysRange memory[] = {{0, kGiB}};
  Diag diag;
  Result<Plan> plan = MakePlan(&h, PlanInput{memory, {}}, diag);
  ASSERT_TRUE(plan.ok());
  // F = [0x0ff000, 0x10ff000) covers A..E, so everything merges into F.
  ASSERT_EQ(plan->ranges.size(), 1u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x0ff000, 0x1000000}));
  ASSERT_EQ(diag.Count(problem::kLoadOverlap), 3u) << Describe(diag);
  EXPECT_EQ(diag.Find(problem::kLoadOverlap, 0)->a, 0x200000u);  // B
  EXPECT_EQ(diag.Find(problem::kLoadOverlap, 1)->a, 0x400000u);  // C
  EXPECT_EQ(diag.Find(problem::kLoadOverlap, 2)->a, 0x0ff000u);  // F
  EXPECT_EQ(diag.total(), 3u);

  // Without F: A+B+C merge; D and E only touch and stay apart, and so do G and H
  // (H added below G, touching it from the left).
  h.loads.Erase(5, 6);
  ASSERT_TRUE(h.loads.PushBack({{0x2001000, 0x1000}, 0}));  // G
  ASSERT_TRUE(h.loads.PushBack({{0x2000000, 0x1000}, 0}));  // H
  diag.Clear();
  plan = MakePlan(&h, PlanInput{memory, {}}, diag);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->ranges.size(), 5u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x100000, 0x400000}));
  EXPECT_EQ(plan->ranges[1], (PhysRange{0x1000000, 0x1000}));
  EXPECT_EQ(plan->ranges[2], (PhysRange{0x1001000, 0x1000}));
  EXPECT_EQ(plan->ranges[3], (PhysRange{0x2000000, 0x1000}));
  EXPECT_EQ(plan->ranges[4], (PhysRange{0x2001000, 0x1000}));
  EXPECT_EQ(diag.Count(problem::kLoadOverlap), 2u);
  EXPECT_EQ(diag.total(), 2u) << Describe(diag);
}

TEST(ElfCorePlan, RangesOutsideMemoryAreDroppedOrClipped) {
  CoreHeader h;
  ASSERT_TRUE(h.loads.PushBack({{0x10000000, 0x1000000}, 0}));  // wholly below RAM
  ASSERT_TRUE(h.loads.PushBack({{0x4ff00000, 0x200000}, 0}));   // runs 1 MiB past bank 0
  ASSERT_TRUE(h.loads.PushBack({{0x68000000, 0x10000000}, 0}));  // spans the hole into bank 1
  const PhysRange memory[] = {{0x40000000, 0x10000000}, {0x70000000, 0x10000000}};
  Diag diag;
  Result<Plan> plan = MakePlan(&h, PlanInput{memory, {}}, diag);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->fallback);
  ASSERT_EQ(plan->ranges.size(), 2u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x4ff00000, 0x100000}));
  EXPECT_EQ(plan->ranges[1], (PhysRange{0x70000000, 0x8000000}));
  ASSERT_NE(diag.Find(problem::kLoadOutsideMemory), nullptr) << Describe(diag);
  EXPECT_EQ(diag.Find(problem::kLoadOutsideMemory)->a, 0x10000000u);
  EXPECT_EQ(diag.Find(problem::kLoadOutsideMemory)->b, 0x1000000u);
  ASSERT_EQ(diag.Count(problem::kLoadPartlyOutsideMemory), 2u);
  EXPECT_EQ(diag.Find(problem::kLoadPartlyOutsideMemory, 0)->a, 0x50000000u);
  EXPECT_EQ(diag.Find(problem::kLoadPartlyOutsideMemory, 0)->b, 0x100000u);
  EXPECT_EQ(diag.Find(problem::kLoadPartlyOutsideMemory, 1)->a, 0x68000000u);
  EXPECT_EQ(diag.Find(problem::kLoadPartlyOutsideMemory, 1)->b, 0x8000000u);
  EXPECT_EQ(diag.total(), 3u);
}

TEST(ElfCorePlan, AdjacentAndOverlappingMemoryRangesDoNotSplitALoad) {
  CoreHeader h;
  ASSERT_TRUE(h.loads.PushBack({{0x48000000, 0x10000000}, 0}));
  const PhysRange memory[] = {{0x40000000, 0x10000000}, {0x50000000, 0x10000000}, {0x4c000000, 0x8000000}};
  Diag diag;
  Result<Plan> plan = MakePlan(&h, PlanInput{memory, {}}, diag);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->ranges.size(), 1u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x48000000, 0x10000000}));
  EXPECT_EQ(diag.total(), 0u) << Describe(diag);
}

TEST(ElfCorePlan, ReservationSplitsARange) {
  CoreHeader h;
  ASSERT_TRUE(h.loads.PushBack({kVirtRam, kPageOffset + kVirtRam.base}));
  // usable-memory-range, the image right after it (touching), the elfcorehdr inside.
  const PhysRange reserved[] = {{0x50000000, 0x10000000}, {0x60000000, 0x200000}, {0x5ffff000, 0x1000}};
  const PhysRange memory[] = {kVirtRam};
  Diag diag;
  Result<Plan> plan = MakePlan(&h, PlanInput{memory, reserved}, diag);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->ranges.size(), 2u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x40000000, 0x10000000}));
  EXPECT_EQ(plan->ranges[1], (PhysRange{0x60200000, 0x1fe00000}));
  ASSERT_EQ(diag.total(), 1u) << Describe(diag);
  EXPECT_EQ(diag.Find(problem::kLoadInReservation)->a, 0x50000000u);
  EXPECT_EQ(diag.Find(problem::kLoadInReservation)->b, 0x10200000u);
}

TEST(ElfCorePlan, ReservationAtEitherEndTrimsARange) {
  CoreHeader h;
  ASSERT_TRUE(h.loads.PushBack({{0x40000000, 0x1000000}, 0}));
  const PhysRange memory[] = {kVirtRam};
  const PhysRange reserved[] = {{0x3ff00000, 0x200000}, {0x40f00000, 0x100000}};
  Diag diag;
  Result<Plan> plan = MakePlan(&h, PlanInput{memory, reserved}, diag);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->ranges.size(), 1u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x40100000, 0xe00000}));
  EXPECT_EQ(diag.Count(problem::kLoadInReservation), 2u) << Describe(diag);
}

// The dump is made of whole pages: with the page size given, a reserved range that is
// not page-aligned (the elfcorehdr's bytes, the DTB) leaves out the pages that hold it,
// and the report names exactly what is left out; notes are still checked byte-exact.
TEST(ElfCorePlan, ReservationIsLeftOutInWholePages) {
  CoreHeader h;
  ASSERT_TRUE(h.loads.PushBack({{0x40000000, 0x1000000}, 0}));
  ASSERT_TRUE(h.notes.PushBack({0x40800400, 0x100}));  // in the elfcorehdr's page, not in its bytes
  const PhysRange memory[] = {kVirtRam};
  const PhysRange reserved[] = {{0x40800100, 0x238}, {0x40900000, 0x89a2}};
  Diag diag;
  Result<Plan> plan = MakePlan(&h, PlanInput{memory, reserved, 4096}, diag);
  ASSERT_TRUE(plan.ok()) << plan.status().what();
  ASSERT_EQ(plan->ranges.size(), 3u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x40000000, 0x800000}));
  EXPECT_EQ(plan->ranges[1], (PhysRange{0x40801000, 0xff000}));
  EXPECT_EQ(plan->ranges[2], (PhysRange{0x40909000, 0x6f7000}));
  ASSERT_EQ(diag.Count(problem::kLoadInReservation), 2u) << Describe(diag);
  EXPECT_EQ(diag.Find(problem::kLoadInReservation, 0)->a, 0x40800000u);
  EXPECT_EQ(diag.Find(problem::kLoadInReservation, 0)->b, 0x1000u);
  EXPECT_EQ(diag.Find(problem::kLoadInReservation, 1)->a, 0x40900000u);
  EXPECT_EQ(diag.Find(problem::kLoadInReservation, 1)->b, 0x9000u);
  ASSERT_EQ(plan->notes.size(), 1u);
  EXPECT_EQ(diag.total(), 2u) << Describe(diag);

  // Byte-exact without a page size (the host's checks), as before.
  diag.Clear();
  plan = MakePlan(&h, PlanInput{memory, reserved}, diag);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->ranges.size(), 3u);
  EXPECT_EQ(plan->ranges[1], (PhysRange{0x40800338, 0xffcc8}));
  EXPECT_EQ(diag.Find(problem::kLoadInReservation, 0)->b, 0x238u);

  // The fallback (no header) leaves out the same whole pages.
  diag.Clear();
  plan = MakePlan(nullptr, PlanInput{memory, reserved, 4096}, diag);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->ranges.size(), 3u);
  EXPECT_EQ(plan->ranges[1], (PhysRange{0x40801000, 0xff000}));
  EXPECT_EQ(plan->ranges[2].base, 0x40909000u);

  // A page size that is not a power of two, or more reserved ranges than it rounds.
  EXPECT_EQ(MakePlan(&h, PlanInput{memory, reserved, 3000}, diag).status().error(), Error::kInvalidArgument);
  std::vector<PhysRange> many(kMaxPlanReserved + 1, PhysRange{0x7f000000, 0x1000});
  EXPECT_EQ(MakePlan(&h, PlanInput{memory, many, 4096}, diag).status().error(), Error::kInvalidArgument);
}

TEST(ElfCorePlan, RangesComeOutSorted) {
  CoreHeader h;
  for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(h.loads.PushBack({{0x4f000000 - i * 0x1000000, 0x100000}, 0}));
  const PhysRange memory[] = {kVirtRam};
  Diag diag;
  Result<Plan> plan = MakePlan(&h, PlanInput{memory, {}}, diag);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->ranges.size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(plan->ranges[i].base, 0x46000000 + i * 0x1000000) << i;
  EXPECT_EQ(diag.total(), 0u);
}

TEST(ElfCorePlan, NotesOutsideMemoryOrInReservationAreLeftOut) {
  CoreHeader h;
  ASSERT_TRUE(h.notes.PushBack({0x7fb0e000, 0x1a8}));  // fine
  ASSERT_TRUE(h.notes.PushBack({0x30000000, 0x1a8}));  // below RAM
  ASSERT_TRUE(h.notes.PushBack({0x7ffffff0, 0x20}));   // straddles the end of RAM
  ASSERT_TRUE(h.notes.PushBack({0x7b000000, 0x1000}));  // inside the crashkernel
  ASSERT_TRUE(h.notes.PushBack({0x7fa40000, 0x1000}));  // VMCOREINFO, fine
  ASSERT_TRUE(h.loads.PushBack({{0x40000000, 0x3a000000}, 0}));
  const PhysRange memory[] = {kVirtRam};
  const PhysRange reserved[] = {kVirtCrashkernel};
  Diag diag;
  Result<Plan> plan = MakePlan(&h, PlanInput{memory, reserved}, diag);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->notes.size(), 2u);
  EXPECT_EQ(plan->notes[0], (PhysRange{0x7fb0e000, 0x1a8}));
  EXPECT_EQ(plan->notes[1], (PhysRange{0x7fa40000, 0x1000}));
  ASSERT_EQ(diag.Count(problem::kNoteOutsideMemory), 2u) << Describe(diag);
  EXPECT_EQ(diag.Find(problem::kNoteOutsideMemory, 0)->a, 0x30000000u);
  EXPECT_EQ(diag.Find(problem::kNoteOutsideMemory, 1)->a, 0x7ffffff0u);
  EXPECT_EQ(diag.Find(problem::kNoteInReservation)->a, 0x7b000000u);
  EXPECT_EQ(diag.total(), 3u);
}

TEST(ElfCorePlan, FallbackWhenHeaderUnusable) {
  Bytes bytes = VirtArm64Header().Build();
  bytes[EI_DATA] = ELFDATA2MSB;
  Diag diag;
  Result<CoreHeader> h = ParseCoreHeader(bytes, diag);
  ASSERT_FALSE(h.ok());
  const PhysRange memory[] = {kVirtRam, {0x100000000, kGiB}};
  const PhysRange reserved[] = {kVirtCrashkernel, {0x7a000000, 0x40000}};
  Result<Plan> plan = MakePlan(nullptr, PlanInput{memory, reserved}, diag);
  ASSERT_TRUE(plan.ok()) << plan.status().what();
  EXPECT_TRUE(plan->fallback);
  ASSERT_EQ(plan->ranges.size(), 3u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x40000000, 0x3a000000}));
  EXPECT_EQ(plan->ranges[1], (PhysRange{0x7e000000, 0x2000000}));
  EXPECT_EQ(plan->ranges[2], (PhysRange{0x100000000, kGiB}));
  EXPECT_TRUE(plan->notes.empty());
  ASSERT_EQ(diag.total(), 1u) << Describe(diag);
  const ProblemReport* r = diag.Find(problem::kFallback);
  ASSERT_NE(r, nullptr);
  EXPECT_STREQ(r->what, "no usable elfcorehdr: dumping all of /memory minus salvage's reservation (ranges, bytes)");
  EXPECT_EQ(r->a, 3u);
  EXPECT_EQ(r->b, 0x3a000000 + 0x2000000 + kGiB);
}

TEST(ElfCorePlan, FallbackWhenNoLoadSurvives) {
  CoreHeader h;
  ASSERT_TRUE(h.notes.PushBack({0x7fb0e000, 0x1a8}));
  ASSERT_TRUE(h.loads.PushBack({{0x10000000, 0x1000}, 0}));     // outside /memory
  ASSERT_TRUE(h.loads.PushBack({{0x7b000000, 0x100000}, 0}));   // all reserved
  const PhysRange memory[] = {kVirtRam};
  const PhysRange reserved[] = {kVirtCrashkernel};
  Diag diag;
  Result<Plan> plan = MakePlan(&h, PlanInput{memory, reserved}, diag);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->fallback);
  ASSERT_EQ(plan->ranges.size(), 2u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x40000000, 0x3a000000}));
  EXPECT_EQ(plan->ranges[1], (PhysRange{0x7e000000, 0x2000000}));
  ASSERT_EQ(plan->notes.size(), 1u);  // the notes are still good
  EXPECT_EQ(diag.Count(problem::kFallback), 1u);
  EXPECT_EQ(diag.Count(problem::kLoadOutsideMemory), 1u);
  EXPECT_EQ(diag.Count(problem::kLoadInReservation), 1u);
  EXPECT_EQ(diag.total(), 3u) << Describe(diag);
}

TEST(ElfCorePlan, NothingToDumpIsAnError) {
  Diag diag;
  Result<Plan> plan = MakePlan(nullptr, PlanInput{}, diag);
  EXPECT_EQ(plan.status().error(), Error::kNotFound);
  const PhysRange memory[] = {{0x40000000, 0x1000000}};
  const PhysRange reserved[] = {{0x3f000000, 0x2000000}};
  plan = MakePlan(nullptr, PlanInput{memory, reserved}, diag);
  EXPECT_EQ(plan.status().error(), Error::kNotFound);
}

TEST(ElfCorePlan, FallbackClipsMemoryAboveThePhysicalAddressSpace) {
  const PhysRange memory[] = {{kMaxPhysAddr - 0xfff, 0x2000}, {uint64_t{1} << 60, 0x1000}};
  Diag diag;
  Result<Plan> plan = MakePlan(nullptr, PlanInput{memory, {}}, diag);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->ranges.size(), 1u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{kMaxPhysAddr - 0xfff, 0x1000}));
  ASSERT_EQ(diag.Count(problem::kMemoryBeyondPhys), 2u) << Describe(diag);
  EXPECT_EQ(diag.Find(problem::kMemoryBeyondPhys, 0)->a, kMaxPhysAddr + 1);
  EXPECT_EQ(diag.Find(problem::kMemoryBeyondPhys, 0)->b, 0x1000u);
}

TEST(ElfCorePlan, CapacityOverflowIsReportedNotUndefined) {
  // 200 loads each split in two by a reserved hole: 400 pieces for 256 slots.
  CoreHeader h;
  std::vector<PhysRange> reserved;
  for (uint64_t i = 0; i < 200; ++i) {
    ASSERT_TRUE(h.loads.PushBack({{0x40000000 + i * 0x10000, 0x2000}, 0}));
    reserved.push_back({0x40000000 + i * 0x10000 + 0x1000, 0x100});
  }
  const PhysRange memory[] = {kVirtRam};
  Diag diag;
  Result<Plan> plan = MakePlan(&h, PlanInput{memory, reserved}, diag);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->ranges.size(), kMaxPlanRanges);
  EXPECT_EQ(diag.Count(problem::kPlanFull), 400 - kMaxPlanRanges);
  EXPECT_EQ(diag.Count(problem::kLoadInReservation), 200u);
  for (size_t i = 1; i < plan->ranges.size(); ++i)
    EXPECT_LT(plan->ranges[i - 1].Last(), plan->ranges[i].base) << i;
  // The first 128 loads got both halves in.
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x40000000, 0x1000}));
  EXPECT_EQ(plan->ranges[1], (PhysRange{0x40001100, 0xf00}));
  EXPECT_EQ(plan->ranges[255], (PhysRange{0x40000000 + 127 * 0x10000 + 0x1100, 0xf00}));
}

TEST(ElfCorePlan, HandMadeImpossibleRangesAreNotTrusted) {
  CoreHeader h;
  ASSERT_TRUE(h.loads.PushBack({{0xfffffffffffff000, 0x2000}, 0}));  // wraps
  ASSERT_TRUE(h.notes.PushBack({0, 0}));
  ASSERT_TRUE(h.loads.PushBack({{0x40000000, 0x1000}, 0}));
  const PhysRange memory[] = {{0, ~uint64_t{0}}};
  Diag diag;
  Result<Plan> plan = MakePlan(&h, PlanInput{memory, {}}, diag);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->ranges.size(), 1u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x40000000, 0x1000}));
  EXPECT_TRUE(plan->notes.empty());
  EXPECT_EQ(diag.Count(problem::kLoadImpossible), 1u);
  EXPECT_EQ(diag.Count(problem::kNoteImpossible), 1u);
}

// ---- notes --------------------------------------------------------------------------

// One CPU's crash_notes buffer as Linux fills it: NT_PRSTATUS "CORE", then final_note()
// (an all-zero header), then zeros to the buffer's size.
Bytes CrashNotesBuffer(uint8_t fill, size_t buffer_size = 0x1a8 + 64) {
  Bytes b;
  AppendNote(b, "CORE", NT_PRSTATUS, Filled(392, fill));  // arm64 sizeof(elf_prstatus)
  b.resize(buffer_size, 0);
  return b;
}

TEST(ElfCoreNotes, WalksCrashNotesAndStopsAtTheFinalNote) {
  Bytes b;
  AppendNote(b, "CORE", NT_PRSTATUS, Filled(392, 0xa1));
  AppendNote(b, "CORE", NT_PRFPREG, Filled(528, 0xb2));
  AppendNote(b, "LINUX", 0x400 /* NT_ARM_VFP */, Filled(260, 0xc3));
  AppendNote(b, "CORE", NT_PRSTATUS, Filled(392, 0xd4));
  b.resize(b.size() + 12, 0);              // final_note()
  AppendNote(b, "CORE", NT_PRSTATUS, Filled(392, 0xee));  // after it: not walked
  struct Seen {
    std::string name;
    uint32_t type;
    size_t size;
    uint8_t first;
  };
  std::vector<Seen> seen;
  Status s = ForEachNote(b, [&](std::string_view name, uint32_t type, std::span<const uint8_t> desc) {
    seen.push_back({std::string(name), type, desc.size(), desc.empty() ? uint8_t{0} : desc[0]});
  });
  ASSERT_TRUE(s.ok()) << s.what();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].name, "CORE");
  EXPECT_EQ(seen[0].type, uint32_t{NT_PRSTATUS});
  EXPECT_EQ(seen[0].size, 392u);
  EXPECT_EQ(seen[0].first, 0xa1);
  EXPECT_EQ(seen[1].type, uint32_t{NT_PRFPREG});
  EXPECT_EQ(seen[2].name, "LINUX");  // namesz 6: padded to 8
  EXPECT_EQ(seen[2].size, 260u);
  EXPECT_EQ(seen[2].first, 0xc3);
  EXPECT_EQ(seen[3].first, 0xd4);
  Result<uint32_t> n = CountPrstatus(b);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
}

TEST(ElfCoreNotes, CountPrstatusPerCpuBuffers) {
  for (uint8_t cpu = 0; cpu < 4; ++cpu) {
    Bytes b = CrashNotesBuffer(cpu);
    Result<uint32_t> n = CountPrstatus(b);
    ASSERT_TRUE(n.ok()) << n.status().what();
    EXPECT_EQ(*n, 1u);
  }
  // A CPU that never saved its registers: the buffer is all zeros.
  Result<uint32_t> none = CountPrstatus(Bytes(0x1a8, 0));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  // NT_PRSTATUS under another name does not count.
  Bytes other;
  AppendNote(other, "LINUX", NT_PRSTATUS, Filled(8, 1));
  EXPECT_EQ(*CountPrstatus(other), 0u);
}

TEST(ElfCoreNotes, TruncatedNotesAreMalformed) {
  Bytes good;
  AppendNote(good, "CORE", NT_PRSTATUS, Filled(392, 0xa1));
  const size_t first_end = good.size();
  AppendNote(good, "CORE", NT_PRSTATUS, Filled(392, 0xa2));

  // The second note's descriptor cut short: the first is delivered, then the error.
  Bytes cut(good.begin(), good.end() - 4);
  int calls = 0;
  Status s = ForEachNote(cut, [&](std::string_view, uint32_t, std::span<const uint8_t>) { ++calls; });
  EXPECT_EQ(s.error(), Error::kMalformed);
  EXPECT_STREQ(s.what(), "note: name or descriptor runs past the end of the segment");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(CountPrstatus(cut).status().error(), Error::kMalformed);

  // A partial header (nonzero) after the first note.
  Bytes partial(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(first_end + 8));
  s = ForEachNote(partial, [](std::string_view, uint32_t, std::span<const uint8_t>) {});
  EXPECT_STREQ(s.what(), "note: header truncated");
  // ...but zero padding shorter than a header is fine.
  Bytes padded(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(first_end));
  padded.resize(padded.size() + 8, 0);
  EXPECT_TRUE(ForEachNote(padded, [](std::string_view, uint32_t, std::span<const uint8_t>) {}).ok());

  // Sizes near 2^32 must not wrap the bounds check.
  for (uint32_t namesz : {0xffffffffu, 0xfffffffdu}) {
    Bytes huge(12 + 8, 0);
    Poke(huge, 0, namesz, 4);
    EXPECT_EQ(ForEachNote(huge, [](std::string_view, uint32_t, std::span<const uint8_t>) {}).error(),
              Error::kMalformed);
  }
  Bytes huge_desc(12 + 8, 0);
  Poke(huge_desc, 0, 5, 4);
  Poke(huge_desc, 4, 0xfffffffc, 4);
  EXPECT_EQ(ForEachNote(huge_desc, [](std::string_view, uint32_t, std::span<const uint8_t>) {}).error(),
            Error::kMalformed);
}

TEST(ElfCoreNotes, LastNoteWithoutPaddingAndCallbackStatus) {
  // A name "CORE" plus a 3-byte descriptor whose padding the segment cut off.
  Bytes b;
  AppendNote(b, "CORE", 7, Bytes{1, 2, 3});
  b.pop_back();
  std::vector<size_t> sizes;
  ASSERT_TRUE(ForEachNote(b, [&](std::string_view, uint32_t, std::span<const uint8_t> d) {
                sizes.push_back(d.size());
              }).ok());
  ASSERT_EQ(sizes.size(), 1u);
  EXPECT_EQ(sizes[0], 3u);

  // A callback returning a Status stops the walk with it.
  Bytes two;
  AppendNote(two, "CORE", NT_PRSTATUS, Filled(4, 1));
  AppendNote(two, "CORE", NT_PRSTATUS, Filled(4, 2));
  int calls = 0;
  Status s = ForEachNote(two, [&](std::string_view, uint32_t, std::span<const uint8_t>) -> Status {
    ++calls;
    return Status(Error::kInvalidArgument, "stop");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(s.error(), Error::kInvalidArgument);
  EXPECT_STREQ(s.what(), "stop");
}

constexpr std::string_view kVmcoreinfoText =
    "OSRELEASE=6.1.0-18-arm64\n"
    "BUILD-ID=3d1e0b3f\n"
    "PAGESIZE=4096\n"
    "SYMBOL(swapper_pg_dir)=ffff800009a3c000\n"
    "NUMBER(VA_BITS)=48\n"
    "EMPTY=\n"
    "KERNELOFFSET=1a0000\n"
    "CRASHTIME=1700000000";  // the last line without '\n'

TEST(ElfCoreNotes, FindVmcoreinfoAndReadFields) {
  Bytes seg;
  Bytes text = TextBytes(kVmcoreinfoText);
  text.resize(text.size() + 13, 0);  // NUL padding as the kernel's buffer has
  AppendNote(seg, "VMCOREINFO", 0, text);
  seg.resize(4096, 0);  // p_memsz is the whole buffer
  Result<std::span<const uint8_t>> desc = FindVmcoreinfo(seg);
  ASSERT_TRUE(desc.ok()) << desc.status().what();
  ASSERT_EQ(desc->size(), text.size());

  EXPECT_EQ(VmcoreinfoField(*desc, "OSRELEASE"), "6.1.0-18-arm64");
  EXPECT_EQ(VmcoreinfoField(*desc, "PAGESIZE="), "4096");
  EXPECT_EQ(VmcoreinfoField(*desc, "SYMBOL(swapper_pg_dir)"), "ffff800009a3c000");
  EXPECT_EQ(VmcoreinfoField(*desc, "NUMBER(VA_BITS)"), "48");
  EXPECT_EQ(VmcoreinfoField(*desc, "CRASHTIME"), "1700000000");  // not into the NULs
  EXPECT_EQ(VmcoreinfoField(*desc, "EMPTY"), "");
  // Only whole keys at the start of a line.
  EXPECT_EQ(VmcoreinfoField(*desc, "PAGE"), "");
  EXPECT_EQ(VmcoreinfoField(*desc, "SIZE"), "");
  EXPECT_EQ(VmcoreinfoField(*desc, "RELEASE"), "");
  EXPECT_EQ(VmcoreinfoField(*desc, "MISSING"), "");
  EXPECT_EQ(VmcoreinfoField(*desc, ""), "");
  EXPECT_EQ(VmcoreinfoField(*desc, "="), "");
  EXPECT_EQ(VmcoreinfoField({}, "OSRELEASE"), "");

  // No VMCOREINFO note: an empty span, not an error.
  Result<std::span<const uint8_t>> none = FindVmcoreinfo(CrashNotesBuffer(1));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ElfCoreNotes, VmcoreinfoSegmentReachedThroughTheHeader) {
  // End to end over a simulated old memory: parse the header, plan, then walk each
  // planned note buffer as the image would after mapping it.
  constexpr uint64_t kBase = 0x40000000;
  Bytes old_memory(0x4000, 0);
  Bytes cpu0 = CrashNotesBuffer(0x11);
  Bytes cpu1 = CrashNotesBuffer(0x22);
  Bytes info;
  AppendNote(info, "VMCOREINFO", 0, TextBytes(kVmcoreinfoText));
  std::memcpy(&old_memory[0x1000], cpu0.data(), cpu0.size());
  std::memcpy(&old_memory[0x2000], cpu1.data(), cpu1.size());
  std::memcpy(&old_memory[0x3000], info.data(), info.size());
  Bytes hdr = CoreBuilder(64)
                  .Note(kBase + 0x1000, cpu0.size())
                  .Note(kBase + 0x2000, cpu1.size())
                  .Note(kBase + 0x3000, info.size())
                  .Load(kBase, old_memory.size(), kPageOffset + kBase)
                  .Build();
  Diag diag;
  Result<CoreHeader> h = ParseCoreHeader(hdr, diag);
  ASSERT_TRUE(h.ok());
  const PhysRange memory[] = {{kBase, old_memory.size()}};
  Result<Plan> plan = MakePlan(&*h, PlanInput{memory, {}}, diag);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->notes.size(), 3u);
  uint32_t cpus = 0;
  std::string_view release;
  for (const PhysRange& n : plan->notes) {
    std::span<const uint8_t> bytes(&old_memory[n.base - kBase], n.size);
    cpus += *CountPrstatus(bytes);
    Result<std::span<const uint8_t>> vi = FindVmcoreinfo(bytes);
    ASSERT_TRUE(vi.ok());
    if (!vi->empty()) release = VmcoreinfoField(*vi, "OSRELEASE");
  }
  EXPECT_EQ(cpus, 2u);
  EXPECT_EQ(release, "6.1.0-18-arm64");
  EXPECT_EQ(diag.total(), 0u) << Describe(diag);
}

// ---- diagnostics --------------------------------------------------------------------

TEST(ElfCoreDiagnostics, CollectingKeepsTheFirstNAndCountsAll) {
  CollectingDiagnostics<2> d;
  d.Problem("one", 1, 2);
  d.Problem("two", 3, 4);
  d.Problem("one", 5, 6);
  EXPECT_EQ(d.total(), 3u);
  ASSERT_EQ(d.reports().size(), 2u);
  EXPECT_STREQ(d.reports()[1].what, "two");
  EXPECT_EQ(d.reports()[1].b, 4u);
  EXPECT_EQ(d.Count("one"), 1u);  // the third was not stored
  EXPECT_EQ(d.Find("one")->a, 1u);
  EXPECT_EQ(d.Find("one", 1), nullptr);
  d.Clear();
  EXPECT_EQ(d.total(), 0u);
  EXPECT_TRUE(d.reports().empty());
}

TEST(ElfCoreDiagnostics, ProblemSinkForwardsToThePolicy) {
  CollectingDiagnostics<4> d;
  ProblemSink sink(d);
  sink.Problem("x", 7, 8);
  ASSERT_EQ(d.total(), 1u);
  EXPECT_EQ(d.reports()[0].a, 7u);
  // Passing a sink to the templates does not wrap it again (and still reports).
  Bytes b = VirtArm64Header().Build();
  b[EI_VERSION] = 0;
  ASSERT_TRUE(ParseCoreHeader(b, sink).ok());
  EXPECT_EQ(d.Count(problem::kVersion), 1u);
}


TEST(ElfCorePlan, SecondViewsAreKeptOtherOverlapsClipped) {
  constexpr uint64_t kLinear = 0xffff000000000000;  // virtual = kLinear + physical
  constexpr uint64_t kText = 0xffff800080000000;    // the kernel image's own mapping
  const LoadSegment ram{{0x40000000, 0x10000000}, kLinear + 0x40000000};
  const LoadSegment text{{0x40200000, 0x1000000}, kText + 0x200000};
  // The rule itself: containment with another offset is a second view, either way round.
  EXPECT_TRUE(IsSecondView(text, ram));
  EXPECT_TRUE(IsSecondView(ram, text));
  // Same offset: a duplicate, not a view; unknown or missing addresses: no view.
  EXPECT_FALSE(IsSecondView(LoadSegment{text.phys, kLinear + text.phys.base}, ram));
  EXPECT_FALSE(IsSecondView(LoadSegment{text.phys, 0}, ram));
  EXPECT_FALSE(IsSecondView(LoadSegment{text.phys, ~uint64_t{0}}, ram));
  // Partly inside: no view, whatever the addresses.
  EXPECT_FALSE(IsSecondView(LoadSegment{{0x4f000000, 0x2000000}, kText}, ram));

  CoreHeader h;
  ASSERT_TRUE(h.loads.PushBack(text));  // kexec-tools' order: the kernel text first
  ASSERT_TRUE(h.loads.PushBack(ram));
  ASSERT_TRUE(h.loads.PushBack({{0x4f000000, 0x2000000}, kLinear + 0x4f000000}));  // runs past ram's end
  const PhysRange memory[] = {{0x40000000, kGiB}};
  Diag diag;
  Result<Plan> plan = MakePlan(&h, PlanInput{memory, {}}, diag);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->ranges.size(), 1u);
  EXPECT_EQ(plan->ranges[0], (PhysRange{0x40000000, 0x11000000}));
  ASSERT_EQ(diag.total(), 2u) << Describe(diag);
  EXPECT_EQ(diag.reports()[0].what, std::string_view(problem::kLoadSecondView));
  EXPECT_EQ(diag.reports()[0].a, 0x40000000u);
  EXPECT_EQ(diag.reports()[1].what, std::string_view(problem::kLoadOverlap));
  EXPECT_EQ(diag.reports()[1].a, 0x4f000000u);
}


// ---- sizing a header from its first bytes (elfcorehdr=ADDR without a size) ----------

TEST(ElfCoreHeaderSize, EndOfTheProgramHeaderTable) {
  CoreBuilder b64(64);
  b64.Note(0x7fb0e000, 0x1a8).Load(0x40000000, 0x1000, 0).Load(0x40002000, 0x1000, 0);
  const Bytes h64 = b64.Build();
  Result<uint64_t> n = CoreHeaderSize(std::span<const uint8_t>(h64).first(kCoreHeaderProbeSize));
  ASSERT_TRUE(n.ok()) << n.status().what();
  EXPECT_EQ(*n, 64u + 3 * 56);
  EXPECT_EQ(*n, h64.size());

  CoreBuilder b32(32, EM_ARM);
  b32.Note(0x6fb0e000, 0x94);
  Bytes h32 = b32.Build();  // 52 + 32 = 84 bytes
  Result<uint64_t> m = CoreHeaderSize(h32);
  ASSERT_TRUE(m.ok()) << m.status().what();
  EXPECT_EQ(*m, 84u);
  // An ELF32 header alone is 52 bytes, but the probe is 64: the size never goes below.
  Poke(h32, 44, 0, 2);  // e_phnum = 0
  EXPECT_EQ(*CoreHeaderSize(h32), kCoreHeaderProbeSize);
}

TEST(ElfCoreHeaderSize, WhatCannotBeSizedIsRefused) {
  CoreBuilder b(64);
  b.Note(0x7fb0e000, 0x1a8);
  const Bytes good = b.Build();
  EXPECT_EQ(CoreHeaderSize(std::span<const uint8_t>(good).first(63)).status().error(), Error::kMalformed);
  Bytes bad = good;
  bad[0] = 0;
  EXPECT_STREQ(CoreHeaderSize(bad).status().what(), "elfcorehdr: no ELF magic");
  bad = good;
  bad[EI_CLASS] = 3;
  EXPECT_EQ(CoreHeaderSize(bad).status().error(), Error::kMalformed);
  bad = good;
  Poke(bad, 54, 32, 2);  // e_phentsize of ELF32 in an ELF64 header
  EXPECT_EQ(CoreHeaderSize(bad).status().error(), Error::kMalformed);
  bad = good;
  Poke(bad, 32, kMaxCoreHeaderSize - 55, 8);  // e_phoff: the table would end past 1 MiB
  EXPECT_EQ(CoreHeaderSize(bad).status().error(), Error::kOutOfRange);
  Poke(bad, 32, ~uint64_t{0} - 8, 8);  // e_phoff near 2^64: no wrap
  EXPECT_EQ(CoreHeaderSize(bad).status().error(), Error::kOutOfRange);
  Poke(bad, 32, kMaxCoreHeaderSize - 56, 8);  // ends exactly at 1 MiB: accepted
  EXPECT_EQ(*CoreHeaderSize(bad), kMaxCoreHeaderSize);
}

}  // namespace
}  // namespace salvage::elfcore
