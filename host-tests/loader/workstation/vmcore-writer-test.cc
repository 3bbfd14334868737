// VmcoreWriter: the ELF core file it writes, read back with <elf.h>'s structs.

#include "workstation/convert/vmcore-writer.h"

#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "loader/workstation/vmcore-test-util.h"

namespace salvage::loader {
namespace {

using test::Bytes;
using test::Core;
using test::Hex;
using test::ParseCore;
using test::Phdr;
using test::ReadFile;
using test::TempDir;

// Independent of the writer: ELF header + 8192 program headers (the room reserved for
// them before the notes).
constexpr uint64_t kNotes64 = 64 + 56 * 8192;  // 0x70040
constexpr uint64_t kNotes32 = 52 + 32 * 8192;  // 0x40034

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/// Contents of the page at `phys` (version `v`): every page differs from every other.
std::vector<uint8_t> PageAt(uint64_t phys, uint32_t page_size, uint8_t v = 0) {
  std::vector<uint8_t> p(page_size);
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = static_cast<uint8_t>((phys >> 9) * 131 + (phys >> 17) * 7 + i * 13 + (i >> 8) + v * 29 + 1);
  }
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(phys >> (8 * i));
  p[8] = v;
  return p;
}

std::vector<uint8_t> SampleNotes() {
  std::vector<uint8_t> n;
  std::vector<uint8_t> prstatus(40);
  for (size_t i = 0; i < prstatus.size(); ++i) prstatus[i] = static_cast<uint8_t>(0xA0 + i);
  AppendElfNote(&n, "CORE", NT_PRSTATUS, prstatus);
  const std::string info = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n";
  AppendElfNote(&n, "VMCOREINFO", 0, std::vector<uint8_t>(info.begin(), info.end()));
  return n;
}

class VmcoreWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("vmcore");
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
  }
  std::vector<uint8_t> Contents() const { return ReadFile(path_); }

  /// Writes the vmcore of `layout` whole (every page of every range, in order) and
  /// returns its bytes.
  std::vector<uint8_t> WriteWhole(const VmcoreLayout& layout) {
    VmcoreWriter w;
    EXPECT_TRUE(w.Begin(fd_, layout).ok());
    WriteAll(w, layout);
    EXPECT_TRUE(w.Finish().ok());
    return Contents();
  }

  /// Writes every page of every range, in order.
  void WriteAll(VmcoreWriter& w, const VmcoreLayout& layout) {
    for (const VmcoreRange& r : layout.ranges) {
      for (uint64_t a = r.phys; a < r.phys + r.size; a += layout.page_size) {
        ASSERT_TRUE(w.WritePage(a, PageAt(a, layout.page_size).data()).ok());
      }
    }
  }

  /// Every PT_LOAD's bytes equal the pages written at its physical addresses (a PT_LOAD
  /// may start and end inside a page).
  static void ExpectLoadData(const std::vector<uint8_t>& f, const Core& c, uint32_t page_size) {
    for (const Phdr& ph : c.Loads()) {
      EXPECT_EQ(ph.memsz, ph.filesz) << "PT_LOAD paddr " << Hex(ph.paddr);
      for (uint64_t off = 0; off < ph.filesz;) {
        const uint64_t phys = ph.paddr + off, page = phys / page_size * page_size;
        const uint64_t n = std::min<uint64_t>(ph.filesz - off, page + page_size - phys);
        const std::vector<uint8_t> want = PageAt(page, page_size);
        EXPECT_EQ(Bytes(f, ph.offset + off, n),
                  std::vector<uint8_t>(want.begin() + (phys - page), want.begin() + (phys - page) + n))
            << "PT_LOAD paddr " << Hex(ph.paddr) << " at +" << Hex(off);
        off += n;
      }
    }
  }

  TempDir dir_;
  std::string path_;
  int fd_ = -1;
};

TEST_F(VmcoreWriterTest, NotesOffsetIsHeaderPlusReservedProgramHeaders) {
  EXPECT_EQ(VmcoreWriter::NotesOffsetFor(64), kNotes64);
  EXPECT_EQ(VmcoreWriter::NotesOffsetFor(32), kNotes32);
}

TEST_F(VmcoreWriterTest, Elf64ReadsBackWithElfH) {
  VmcoreLayout layout;
  layout.elf_class = 64;
  layout.machine = EM_AARCH64;
  layout.page_size = 4096;
  layout.notes = SampleNotes();
  layout.ranges = {{0x40000000, 0, 0x4000}, {0x80000000, 0, 0x2000}};
  VmcoreWriter w;
  ASSERT_TRUE(w.Begin(fd_, layout).ok());
  EXPECT_EQ(w.PagesExpected(), 6u);
  WriteAll(w, layout);
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_EQ(w.PagesReceived(), 6u);
  EXPECT_TRUE(w.Missing().empty());

  const std::vector<uint8_t> f = Contents();
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.elf_class, 64);
  EXPECT_EQ(c.type, ET_CORE);
  EXPECT_EQ(c.machine, EM_AARCH64);
  EXPECT_EQ(c.phoff, sizeof(Elf64_Ehdr));
  EXPECT_EQ(c.phentsize, sizeof(Elf64_Phdr));
  ASSERT_EQ(c.phdrs.size(), 3u);

  // One PT_NOTE, first, holding exactly the notes.
  ASSERT_EQ(c.Of(PT_NOTE).size(), 1u);
  const Phdr& note = c.phdrs[0];
  EXPECT_EQ(note.type, static_cast<uint32_t>(PT_NOTE));
  EXPECT_EQ(note.offset, kNotes64);
  EXPECT_EQ(note.filesz, layout.notes.size());
  EXPECT_EQ(note.memsz, layout.notes.size());
  EXPECT_EQ(Bytes(f, note.offset, note.filesz), layout.notes);
  const auto parsed = test::ParseNotes(Bytes(f, note.offset, note.filesz));
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].name, "CORE");
  EXPECT_EQ(parsed[1].name, "VMCOREINFO");

  // Data starts at the first page boundary after the notes.
  const uint64_t data = AlignUp(kNotes64 + layout.notes.size(), 4096);
  EXPECT_EQ(data, 0x71000u);
  const auto loads = c.Loads();
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_EQ(loads[0].offset, data);
  EXPECT_EQ(loads[0].paddr, 0x40000000u);
  EXPECT_EQ(loads[0].vaddr, 0u);
  EXPECT_EQ(loads[0].filesz, 0x4000u);
  EXPECT_EQ(loads[0].memsz, 0x4000u);
  EXPECT_EQ(loads[0].flags, static_cast<uint32_t>(PF_R | PF_W | PF_X));
  EXPECT_EQ(loads[1].offset, data + 0x4000);
  EXPECT_EQ(loads[1].paddr, 0x80000000u);
  EXPECT_EQ(loads[1].vaddr, 0u);
  EXPECT_EQ(loads[1].filesz, 0x2000u);
  EXPECT_EQ(loads[1].memsz, 0x2000u);
  EXPECT_EQ(f.size(), data + 0x6000);
  ExpectLoadData(f, c, 4096);
}

TEST_F(VmcoreWriterTest, Elf32ReadsBackWithElfH) {
  VmcoreLayout layout;
  layout.elf_class = 32;
  layout.machine = EM_ARM;
  layout.page_size = 4096;
  layout.notes = SampleNotes();
  layout.ranges = {{0x60000000, 0, 0x3000}, {0x70000000, 0, 0x1000}};
  layout.segments = {{0x60000000, 0xc0000000, 0x3000}};
  VmcoreWriter w;
  ASSERT_TRUE(w.Begin(fd_, layout).ok());
  WriteAll(w, layout);
  ASSERT_TRUE(w.Finish().ok());

  const std::vector<uint8_t> f = Contents();
  ASSERT_GE(f.size(), sizeof(Elf32_Ehdr));
  EXPECT_EQ(f[EI_CLASS], ELFCLASS32);
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.elf_class, 32);
  EXPECT_EQ(c.type, ET_CORE);
  EXPECT_EQ(c.machine, EM_ARM);
  EXPECT_EQ(c.phoff, sizeof(Elf32_Ehdr));
  EXPECT_EQ(c.phentsize, sizeof(Elf32_Phdr));
  ASSERT_EQ(c.phdrs.size(), 3u);
  ASSERT_EQ(c.Of(PT_NOTE).size(), 1u);
  EXPECT_EQ(c.phdrs[0].type, static_cast<uint32_t>(PT_NOTE));
  EXPECT_EQ(c.phdrs[0].offset, kNotes32);
  EXPECT_EQ(Bytes(f, c.phdrs[0].offset, c.phdrs[0].filesz), layout.notes);

  const uint64_t data = AlignUp(kNotes32 + layout.notes.size(), 4096);
  EXPECT_EQ(data, 0x41000u);
  const auto loads = c.Loads();
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_EQ(loads[0].offset, data);
  EXPECT_EQ(loads[0].paddr, 0x60000000u);
  EXPECT_EQ(loads[0].vaddr, 0xc0000000u);
  EXPECT_EQ(loads[0].filesz, 0x3000u);
  EXPECT_EQ(loads[0].memsz, 0x3000u);
  EXPECT_EQ(loads[1].offset, data + 0x3000);
  EXPECT_EQ(loads[1].paddr, 0x70000000u);
  EXPECT_EQ(loads[1].vaddr, 0u);  // no segment shows it
  EXPECT_EQ(loads[1].filesz, 0x1000u);
  EXPECT_EQ(f.size(), data + 0x4000);
  ExpectLoadData(f, c, 4096);
}

TEST_F(VmcoreWriterTest, PagesOutOfOrderLandAtTheirPlace) {
  VmcoreLayout layout;
  layout.machine = EM_RISCV;
  layout.page_size = 4096;
  layout.ranges = {{0x80000000, 0, 0x8000}};
  VmcoreWriter w;
  ASSERT_TRUE(w.Begin(fd_, layout).ok());
  // Page 2 is first written with other contents, then again: the last write wins and
  // counts once.
  ASSERT_TRUE(w.WritePage(0x80002000, PageAt(0x80002000, 4096, 9).data()).ok());
  for (int p : {5, 0, 7, 2, 1, 6, 3, 4}) {
    const uint64_t a = 0x80000000 + p * 0x1000ull;
    ASSERT_TRUE(w.WritePage(a, PageAt(a, 4096).data()).ok());
  }
  EXPECT_EQ(w.PagesReceived(), 8u);
  EXPECT_TRUE(w.Missing().empty());
  ASSERT_TRUE(w.Finish().ok());

  const std::vector<uint8_t> f = Contents();
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.machine, EM_RISCV);
  // Pages are stored in the order they came, each once: every PT_LOAD shows its own
  // pages, together they cover the range exactly once, and the file holds 8 pages.
  const auto loads = c.Loads();
  ExpectLoadData(f, c, 4096);
  uint64_t covered = 0;
  for (const Phdr& ph : loads) covered += ph.filesz;
  EXPECT_EQ(covered, 0x8000u);
  const uint64_t data = AlignUp(kNotes64, 4096);
  EXPECT_EQ(f.size(), data + 0x8000);
  // No notes: an empty PT_NOTE at the fixed offset.
  ASSERT_EQ(c.Of(PT_NOTE).size(), 1u);
  EXPECT_EQ(c.Of(PT_NOTE)[0].filesz, 0u);
}

TEST_F(VmcoreWriterTest, MissingPagesSplitLoadsAndAreReported) {
  VmcoreLayout layout;
  layout.page_size = 4096;
  layout.machine = EM_AARCH64;
  layout.notes = SampleNotes();
  layout.ranges = {{0x40000000, 0, 0x6000}, {0x50000000, 0, 0x3000}};
  VmcoreWriter w;
  ASSERT_TRUE(w.Begin(fd_, layout).ok());
  for (uint64_t a : {0x40000000ull, 0x40001000ull, 0x40003000ull, 0x40004000ull, 0x50001000ull}) {
    ASSERT_TRUE(w.WritePage(a, PageAt(a, 4096).data()).ok());
  }
  EXPECT_EQ(w.PagesReceived(), 5u);
  EXPECT_EQ(w.PagesExpected(), 9u);
  using Gap = std::pair<uint64_t, uint64_t>;
  const std::vector<Gap> want_missing = {
      {0x40002000, 0x1000}, {0x40005000, 0x1000}, {0x50000000, 0x1000}, {0x50002000, 0x1000}};
  EXPECT_EQ(w.Missing(), want_missing);
  ASSERT_TRUE(w.Finish().ok());

  const std::vector<uint8_t> f = Contents();
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  const uint64_t data = AlignUp(kNotes64 + layout.notes.size(), 4096);
  const auto loads = c.Loads();
  ASSERT_EQ(loads.size(), 3u);
  EXPECT_EQ(loads[0].paddr, 0x40000000u);
  EXPECT_EQ(loads[0].offset, data);
  EXPECT_EQ(loads[0].filesz, 0x2000u);
  EXPECT_EQ(loads[1].paddr, 0x40003000u);
  EXPECT_EQ(loads[1].offset, data + 0x2000);  // pages missing take no room in the file
  EXPECT_EQ(loads[1].filesz, 0x2000u);
  EXPECT_EQ(loads[2].paddr, 0x50001000u);
  EXPECT_EQ(loads[2].offset, data + 0x4000);
  EXPECT_EQ(loads[2].filesz, 0x1000u);
  ExpectLoadData(f, c, 4096);
  // No PT_LOAD claims a missing page, and the file holds zeros there.
  for (const Gap& g : want_missing) {
    for (const Phdr& ph : loads) {
      EXPECT_FALSE(g.first < ph.paddr + ph.memsz && ph.paddr < g.first + g.second)
          << "PT_LOAD " << Hex(ph.paddr) << " covers missing " << Hex(g.first);
    }
  }
  EXPECT_EQ(f.size(), data + 0x5000);  // the 5 pages received, not the 9 of the ranges
}

TEST_F(VmcoreWriterTest, TwoSegmentsOverTheSameMemoryShareFileBytes) {
  // arm64: the kernel image is seen at its text address and in the linear map.
  constexpr uint64_t kText = 0xffff800080000000ull, kLinear = 0xffff000000000000ull;
  VmcoreLayout layout;
  layout.page_size = 4096;
  layout.machine = EM_AARCH64;
  layout.ranges = {{0x40000000, 0, 0x8000}};
  layout.segments = {{0x40000000, kText, 0x4000}, {0x40000000, kLinear, 0x8000}};
  VmcoreWriter w;
  ASSERT_TRUE(w.Begin(fd_, layout).ok());
  WriteAll(w, layout);
  ASSERT_TRUE(w.Finish().ok());

  const std::vector<uint8_t> f = Contents();
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  const uint64_t data = AlignUp(kNotes64, 4096);
  const auto loads = c.Loads();
  ASSERT_EQ(loads.size(), 2u);  // every page is covered by a segment: no vaddr-0 load
  EXPECT_EQ(loads[0].vaddr, kText);
  EXPECT_EQ(loads[0].paddr, 0x40000000u);
  EXPECT_EQ(loads[0].filesz, 0x4000u);
  EXPECT_EQ(loads[1].vaddr, kLinear);
  EXPECT_EQ(loads[1].paddr, 0x40000000u);
  EXPECT_EQ(loads[1].filesz, 0x8000u);
  EXPECT_EQ(loads[0].offset, data);
  EXPECT_EQ(loads[1].offset, data);
  EXPECT_EQ(f.size(), data + 0x8000);  // the bytes are stored once
  ExpectLoadData(f, c, 4096);
}

TEST_F(VmcoreWriterTest, MissingPageSplitsEveryView) {
  constexpr uint64_t kText = 0xffff800080000000ull, kLinear = 0xffff000000000000ull;
  VmcoreLayout layout;
  layout.page_size = 4096;
  layout.ranges = {{0x40000000, 0, 0x4000}};
  layout.segments = {{0x40000000, kText, 0x4000}, {0x40000000, kLinear, 0x4000}};
  VmcoreWriter w;
  ASSERT_TRUE(w.Begin(fd_, layout).ok());
  for (uint64_t a : {0x40000000ull, 0x40002000ull, 0x40003000ull}) {
    ASSERT_TRUE(w.WritePage(a, PageAt(a, 4096).data()).ok());
  }
  EXPECT_EQ(w.Missing(), (std::vector<std::pair<uint64_t, uint64_t>>{{0x40001000, 0x1000}}));
  ASSERT_TRUE(w.Finish().ok());
  const std::vector<uint8_t> f = Contents();
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  const uint64_t data = AlignUp(kNotes64, 4096);
  const auto loads = c.Loads();
  ASSERT_EQ(loads.size(), 4u);
  const uint64_t want[4][4] = {  // vaddr, paddr, offset, size
      {kText, 0x40000000, data, 0x1000},
      {kText + 0x2000, 0x40002000, data + 0x1000, 0x2000},
      {kLinear, 0x40000000, data, 0x1000},
      {kLinear + 0x2000, 0x40002000, data + 0x1000, 0x2000}};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(loads[i].vaddr, want[i][0]) << i;
    EXPECT_EQ(loads[i].paddr, want[i][1]) << i;
    EXPECT_EQ(loads[i].offset, want[i][2]) << i;
    EXPECT_EQ(loads[i].filesz, want[i][3]) << i;
  }
  ExpectLoadData(f, c, 4096);
}

TEST_F(VmcoreWriterTest, MemoryNoSegmentShowsGetsVaddrZero) {
  constexpr uint64_t kV = 0xffff000000000000ull;
  VmcoreLayout layout;
  layout.page_size = 4096;
  layout.ranges = {{0x40000000, 0, 0x4000}, {0x48000000, 0, 0x2000}};
  // Covers half of the first range; the second one is not covered by any segment. A
  // segment over memory that was not dumped produces nothing.
  layout.segments = {{0x40000000, kV, 0x2000}, {0x90000000, 0xffff000050000000ull, 0x1000}};
  const std::vector<uint8_t> f = WriteWhole(layout);
  ASSERT_FALSE(HasFailure());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  const uint64_t data = AlignUp(kNotes64, 4096);
  const auto loads = c.Loads();
  ASSERT_EQ(loads.size(), 3u);
  EXPECT_EQ(loads[0].paddr, 0x40000000u);
  EXPECT_EQ(loads[0].vaddr, kV);
  EXPECT_EQ(loads[0].offset, data);
  EXPECT_EQ(loads[0].filesz, 0x2000u);
  EXPECT_EQ(loads[1].paddr, 0x40002000u);
  EXPECT_EQ(loads[1].vaddr, 0u);
  EXPECT_EQ(loads[1].offset, data + 0x2000);
  EXPECT_EQ(loads[1].filesz, 0x2000u);
  EXPECT_EQ(loads[2].paddr, 0x48000000u);
  EXPECT_EQ(loads[2].vaddr, 0u);
  EXPECT_EQ(loads[2].offset, data + 0x4000);
  EXPECT_EQ(loads[2].filesz, 0x2000u);
  ExpectLoadData(f, c, 4096);
}

TEST_F(VmcoreWriterTest, SegmentInsidePagesKeepsItsExactBoundaries) {
  // /proc/vmcore keeps p_memsz as the elfcorehdr gave it; so does the writer.
  constexpr uint64_t kV = 0xc0000000;
  VmcoreLayout layout;
  layout.page_size = 4096;
  layout.ranges = {{0x40000000, 0, 0x4000}};
  layout.segments = {{0x40000800, kV + 0x800, 0x1000}};  // touches pages 0 and 1
  const std::vector<uint8_t> f = WriteWhole(layout);
  ASSERT_FALSE(HasFailure());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  const uint64_t data = AlignUp(kNotes64, 4096);
  const auto loads = c.Loads();
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_EQ(loads[0].paddr, 0x40000800u);
  EXPECT_EQ(loads[0].vaddr, kV + 0x800);
  EXPECT_EQ(loads[0].offset, data + 0x800);
  EXPECT_EQ(loads[0].filesz, 0x1000u);
  EXPECT_EQ(loads[0].memsz, 0x1000u);
  // The rest of pages 0 and 1 belongs to no PT_LOAD (as in /proc/vmcore); pages 2 and 3
  // are dumped memory no segment shows.
  EXPECT_EQ(loads[1].paddr, 0x40002000u);
  EXPECT_EQ(loads[1].vaddr, 0u);
  EXPECT_EQ(loads[1].filesz, 0x2000u);
  ExpectLoadData(f, c, 4096);
}

TEST_F(VmcoreWriterTest, OverlapsOtherThanASecondViewAreClipped) {
  constexpr uint64_t kLinear = 0xffff000000000000ull, kOther = 0xffff000050000000ull;
  VmcoreLayout layout;
  layout.page_size = 4096;
  layout.ranges = {{0x40000000, 0, 0x5000}};
  layout.segments = {
      {0x40000000, kLinear + 0x40000000, 0x3000},  // A
      {0x40001000, kLinear + 0x40001000, 0x1000},  // inside A at A's offset: a duplicate, dropped
      {0x40002000, kOther, 0x2000},                // partly over A: keeps only [0x40003000, 0x40004000)
      {0x40003000, kLinear + 0x40003000, 0x2000},  // partly over the third: keeps [0x40004000, 0x40005000)
  };
  const std::vector<uint8_t> f = WriteWhole(layout);
  ASSERT_FALSE(HasFailure());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  const uint64_t data = AlignUp(kNotes64, 4096);
  const auto loads = c.Loads();
  ASSERT_EQ(loads.size(), 3u);
  const uint64_t want[3][4] = {  // vaddr, paddr, offset, size
      {kLinear + 0x40000000, 0x40000000, data, 0x3000},
      {kOther + 0x1000, 0x40003000, data + 0x3000, 0x1000},
      {kLinear + 0x40004000, 0x40004000, data + 0x4000, 0x1000}};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(loads[i].vaddr, want[i][0]) << i;
    EXPECT_EQ(loads[i].paddr, want[i][1]) << i;
    EXPECT_EQ(loads[i].offset, want[i][2]) << i;
    EXPECT_EQ(loads[i].filesz, want[i][3]) << i;
  }
  ExpectLoadData(f, c, 4096);
}

TEST_F(VmcoreWriterTest, Elf32RefusesMemoryAbove4GiB) {
  VmcoreLayout layout;
  layout.elf_class = 32;
  layout.machine = EM_ARM;
  layout.page_size = 4096;
  std::string error;
  {
    layout.ranges = {{0x80000000, 0, 0x1000}, {0x100000000ull, 0, 0x1000}};
    VmcoreWriter w;
    error = w.Begin(fd_, layout).error();
    EXPECT_FALSE(error.empty());
    EXPECT_NE(error.find("4 GiB"), std::string::npos) << error;
    EXPECT_NE(error.find("ELF32"), std::string::npos) << error;
  }
  {
    error.clear();
    layout.ranges = {{0xfffff000ull, 0, 0x2000}};  // crosses 4 GiB
    VmcoreWriter w;
    error = w.Begin(fd_, layout).error();
    EXPECT_FALSE(error.empty());
    EXPECT_NE(error.find("4 GiB"), std::string::npos) << error;
  }
  {
    // Control: the same memory in ELF64 is fine.
    error.clear();
    layout.elf_class = 64;
    layout.ranges = {{0x100000000ull, 0, 0x1000}};
    VmcoreWriter w;
    EXPECT_TRUE(w.Begin(fd_, layout).ok());
  }
}

TEST_F(VmcoreWriterTest, Elf32AcceptsMemoryEndingAt4GiB) {
  VmcoreLayout layout;
  layout.elf_class = 32;
  layout.machine = EM_ARM;
  layout.page_size = 4096;
  layout.ranges = {{0xffffe000ull, 0, 0x2000}};
  const std::vector<uint8_t> f = WriteWhole(layout);
  ASSERT_FALSE(HasFailure());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  ASSERT_EQ(c.Loads().size(), 1u);
  EXPECT_EQ(c.Loads()[0].paddr, 0xffffe000u);
  EXPECT_EQ(c.Loads()[0].filesz, 0x2000u);
  ExpectLoadData(f, c, 4096);
}

TEST_F(VmcoreWriterTest, WritePageOutsideEveryRangeIsRefused) {
  VmcoreLayout layout;
  layout.page_size = 4096;
  layout.ranges = {{0x40000000, 0, 0x2000}, {0x40004000, 0, 0x1000}};
  VmcoreWriter w;
  std::string error;
  ASSERT_TRUE(w.Begin(fd_, layout).ok());
  const std::vector<uint8_t> page = PageAt(0x40000000, 4096);
  // Before, in the gap, after, and inside a range but not at a page start.
  for (uint64_t a : {0x3ffff000ull, 0x40002000ull, 0x40003000ull, 0x40005000ull, 0x40000800ull, 0x140000000ull}) {
    error.clear();
    error = w.WritePage(a, page.data()).error();
    EXPECT_FALSE(error.empty()) << Hex(a);
    EXPECT_NE(error.find(Hex(a)), std::string::npos) << error;
    EXPECT_NE(error.find("not in any range"), std::string::npos) << error;
  }
  EXPECT_EQ(w.PagesReceived(), 0u);
  EXPECT_EQ(w.Missing().size(), 2u);
  ASSERT_TRUE(w.Finish().ok());
  const std::vector<uint8_t> f = Contents();
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.phdrs.size(), 1u);  // only the PT_NOTE
  EXPECT_TRUE(c.Loads().empty());
  EXPECT_EQ(f.size(), AlignUp(kNotes64, 4096));  // nothing was received: no data at all
}

TEST_F(VmcoreWriterTest, BeginRefusesBadLayouts) {
  std::string error;
  {
    VmcoreLayout layout;
    layout.elf_class = 16;
    VmcoreWriter w;
    error = w.Begin(fd_, layout).error();
    EXPECT_FALSE(error.empty());
    EXPECT_NE(error.find("ELF class"), std::string::npos) << error;
  }
  {
    error.clear();
    VmcoreLayout layout;
    layout.page_size = 3000;
    VmcoreWriter w;
    error = w.Begin(fd_, layout).error();
    EXPECT_FALSE(error.empty());
    EXPECT_NE(error.find("3000"), std::string::npos) << error;
  }
  {
    error.clear();
    VmcoreLayout layout;
    layout.ranges = {{0x40000000, 0, 0x1800}};
    VmcoreWriter w;
    error = w.Begin(fd_, layout).error();
    EXPECT_FALSE(error.empty());
    EXPECT_NE(error.find("not page-aligned"), std::string::npos) << error;
  }
  {
    error.clear();
    VmcoreLayout layout;
    layout.ranges = {{0x40000000, 0, 0x2000}, {0x40001000, 0, 0x1000}};
    VmcoreWriter w;
    error = w.Begin(fd_, layout).error();
    EXPECT_FALSE(error.empty());
    EXPECT_NE(error.find("overlaps"), std::string::npos) << error;
  }
  {
    // As many ranges as the stream may have: the number of ranges costs nothing, only
    // what is received does.
    VmcoreLayout layout;
    layout.page_size = 512;
    for (uint64_t i = 0; i < 2 * VmcoreWriter::kReservedPhdrs; ++i) layout.ranges.push_back({i * 1024, 0, 512});
    error.clear();
    VmcoreWriter w;
    EXPECT_TRUE(w.Begin(fd_, layout).ok());
  }
}

TEST_F(VmcoreWriterTest, UnalignedRangeMessageShowsTheAddressInHex) {
  // Regression (vmcore-writer.cc, Begin, fixed): the message was built as
  //   "vmcore: range at 0x" + std::to_string(r.phys)
  // so the address was printed in decimal behind a "0x" prefix: a range at 0x40000800
  // is reported as "range at 0x1073743872".
  VmcoreLayout layout;
  layout.ranges = {{0x40000800, 0, 0x1000}};
  VmcoreWriter w;
  std::string error;
  error = w.Begin(fd_, layout).error();
    EXPECT_FALSE(error.empty());
  EXPECT_NE(error.find("0x40000800"), std::string::npos) << error;
}

TEST_F(VmcoreWriterTest, AsManyHolesAsProgramHeadersFitStayAfterTheElfHeader) {
  // 512-byte pages keep the file small: every other page received.
  VmcoreLayout layout;
  layout.page_size = 512;
  layout.notes = SampleNotes();
  layout.ranges = {{0, 0, 16384 * 512}};
  const std::vector<uint8_t> page(512, 0x5a);
  // 8191 runs + the PT_NOTE = kReservedPhdrs headers: in their room, notes untouched.
  VmcoreWriter w;
  ASSERT_TRUE(w.Begin(fd_, layout).ok());
  for (uint64_t p = 0; p < 16382; p += 2) ASSERT_TRUE(w.WritePage(p * 512, page.data()).ok());
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_FALSE(w.ProgramHeadersAtEnd());
  const std::vector<uint8_t> f = Contents();
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.phoff, sizeof(Elf64_Ehdr));
  EXPECT_FALSE(c.extended);
  ASSERT_EQ(c.phdrs.size(), VmcoreWriter::kReservedPhdrs);
  EXPECT_EQ(c.Loads().size(), 8191u);
  EXPECT_EQ(c.Loads().back().paddr, 16380u * 512);
  EXPECT_EQ(c.Loads().back().filesz, 512u);
  EXPECT_EQ(Bytes(f, kNotes64, layout.notes.size()), layout.notes);
}

TEST_F(VmcoreWriterTest, MoreHolesThanTheRoomKeepsEveryPage) {
  // Regression (issue #10): with 8192 or more runs Finish refused ("too many holes")
  // and everything received was thrown away. Now the program headers go after the
  // pages (e_phoff says where).
  VmcoreLayout layout;
  layout.page_size = 512;
  layout.notes = SampleNotes();
  layout.ranges = {{0x100000, 0, 20000 * 512}};
  VmcoreWriter w;
  ASSERT_TRUE(w.Begin(fd_, layout).ok());
  for (uint64_t p = 0; p < 20000; p += 2) {
    const uint64_t a = 0x100000 + p * 512;
    ASSERT_TRUE(w.WritePage(a, PageAt(a, 512).data()).ok());
  }
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_TRUE(w.ProgramHeadersAtEnd());
  EXPECT_EQ(w.ProgramHeaders(), 10001u);
  const std::vector<uint8_t> f = Contents();
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_FALSE(c.extended);  // 10001 < PN_XNUM
  EXPECT_EQ(c.phoff, AlignUp(kNotes64 + layout.notes.size(), 512) + 10000 * 512);
  ASSERT_EQ(c.Loads().size(), 10000u);
  EXPECT_EQ(Bytes(f, c.Of(PT_NOTE)[0].offset, layout.notes.size()), layout.notes);
  ExpectLoadData(f, c, 512);
}

TEST_F(VmcoreWriterTest, PnXnumWhenProgramHeadersReach0xffff) {
  // 70000 runs of one zero page each (zero pages are holes: the file stays small).
  VmcoreLayout layout;
  layout.page_size = 512;
  layout.ranges = {{0, 0, 140000ull * 512}};
  const std::vector<uint8_t> zero(512, 0);
  VmcoreWriter w;
  ASSERT_TRUE(w.Begin(fd_, layout).ok());
  for (uint64_t p = 0; p < 140000; p += 2) ASSERT_TRUE(w.WritePage(p * 512, zero.data()).ok());
  // One page with contents, to see it is where its PT_LOAD says.
  ASSERT_TRUE(w.WritePage(1 * 512, PageAt(512, 512).data()).ok());
  ASSERT_TRUE(w.Finish().ok());
  const std::vector<uint8_t> f = Contents();
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_TRUE(c.extended);
  Elf64_Ehdr eh;
  std::memcpy(&eh, f.data(), sizeof(eh));
  EXPECT_EQ(eh.e_phnum, PN_XNUM);
  EXPECT_EQ(eh.e_shnum, 1u);
  EXPECT_EQ(eh.e_shentsize, sizeof(Elf64_Shdr));
  Elf64_Shdr sh;
  std::memcpy(&sh, f.data() + eh.e_shoff, sizeof(sh));
  EXPECT_EQ(sh.sh_type, static_cast<uint32_t>(SHT_NULL));
  EXPECT_EQ(sh.sh_info, w.ProgramHeaders());
  // Page 1 follows page 0 in address order but not in the file (it came last): 70000
  // runs of zero pages + page 1 + the PT_NOTE.
  EXPECT_EQ(c.phdrs.size(), 70002u);
  bool found = false;
  for (const Phdr& ph : c.Loads()) {
    EXPECT_EQ(ph.filesz, 512u);
    if (ph.paddr == 512) {
      found = true;
      EXPECT_EQ(Bytes(f, ph.offset, 512), PageAt(512, 512));
    } else {
      EXPECT_EQ(Bytes(f, ph.offset, 512), zero);
    }
  }
  EXPECT_TRUE(found);
  struct stat st {};
  ASSERT_EQ(fstat(fd_, &st), 0);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 16ull << 20) << "zero pages should be holes";
}

TEST_F(VmcoreWriterTest, HugeRangesCostOnlyWhatIsReceived) {
  // Regression (issue #10): a range of 2^44 bytes (2^32 pages) allocated a bit per page
  // (512 MiB) and sized the file to the range (a 16 TiB sparse vmcore).
  VmcoreLayout layout;
  layout.page_size = 4096;
  for (uint64_t i = 0; i < 200; ++i) layout.ranges.push_back({i << 45, 0, 1ull << 44});
  VmcoreWriter w;
  ASSERT_TRUE(w.Begin(fd_, layout).ok());
  EXPECT_EQ(w.PagesExpected(), 200ull << 32);
  const uint64_t a = (7ull << 45) + 0x5000;
  ASSERT_TRUE(w.WritePage(a, PageAt(a, 4096).data()).ok());
  const auto missing = w.Missing();
  EXPECT_EQ(missing.size(), 201u);
  ASSERT_TRUE(w.Finish().ok());
  const std::vector<uint8_t> f = Contents();
  EXPECT_EQ(f.size(), AlignUp(kNotes64, 4096) + 4096);
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  ASSERT_EQ(c.Loads().size(), 1u);
  EXPECT_EQ(c.Loads()[0].paddr, a);
  ExpectLoadData(f, c, 4096);
}

TEST_F(VmcoreWriterTest, ViewsThatWouldMultiplyTheHeadersAreLeftOut) {
  // 1000 segments over the same memory and 1000 runs: a million program headers. The
  // vmcore shows each run once at its physical address instead.
  VmcoreLayout layout;
  layout.page_size = 512;
  layout.ranges = {{0, 0, 2000 * 512}};
  for (uint64_t i = 0; i < 1000; ++i) layout.segments.push_back({0, 0xffff000000000000ull + (i << 32), 2000 * 512});
  VmcoreWriter w;
  ASSERT_TRUE(w.Begin(fd_, layout).ok());
  for (uint64_t p = 0; p < 2000; p += 2) ASSERT_TRUE(w.WritePage(p * 512, PageAt(p * 512, 512).data()).ok());
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_NE(w.Warning().find("physical addresses only"), std::string::npos) << w.Warning();
  const std::vector<uint8_t> f = Contents();
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  ASSERT_EQ(c.Loads().size(), 1000u);
  for (const Phdr& ph : c.Loads()) EXPECT_EQ(ph.vaddr, 0u);
  ExpectLoadData(f, c, 512);
}

TEST(AppendElfNoteTest, LaysOutHeaderNameAndDescWithFourBytePadding) {
  std::vector<uint8_t> out;
  const uint8_t desc[5] = {1, 2, 3, 4, 5};
  AppendElfNote(&out, "CORE", 1, desc);
  const std::vector<uint8_t> want = {
      5, 0, 0, 0,              // namesz: "CORE" and its NUL
      5, 0, 0, 0,              // descsz
      1, 0, 0, 0,              // type NT_PRSTATUS
      'C', 'O', 'R', 'E', 0, 0, 0, 0,  // name, padded to 8
      1, 2, 3, 4, 5, 0, 0, 0,          // desc, padded to 8
  };
  EXPECT_EQ(out, want);
}

}  // namespace
}  // namespace salvage::loader
