// Tests for loader/board/elfcorehdr (salvage::loader::elfcorehdr::Build): headers built from the
// fixture trees of host-tests/data/proc-*-virt, read back by the capture image's own
// parser and planner (runtime/elfcore: ParseCoreHeader, MakePlan) and, independently,
// through the host's <elf.h> structures; the reservation split, ELF32's 4 GiB limit, the
// capacity limits of the image, sizing and placement as kexec-tools does them.
#include "board/elfcorehdr/builder.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <salvage/elfcore/elfcore.h>

#include "board/proc/iomem.h"
#include "board/proc/sysfs.h"

#ifndef SALVAGE_TEST_SOURCE_DATA_DIR
#error "SALVAGE_TEST_SOURCE_DATA_DIR must name host-tests/data in the source tree"
#endif

namespace salvage::loader::elfcorehdr {
namespace {

static_assert(std::endian::native == std::endian::little, "the checks copy <elf.h> structures from the bytes");

namespace elfcore = salvage::elfcore;
using Diag = elfcore::CollectingDiagnostics<64>;

constexpr uint64_t MiB = uint64_t{1} << 20;
constexpr uint64_t GiB = uint64_t{1} << 30;

PhysRange Incl(uint64_t first, uint64_t last) { return PhysRange{first, last - first + 1}; }

std::string Describe(const Diag& d) {
  std::string out;
  for (const elfcore::ProblemReport& r : d.reports()) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), " (0x%llx, 0x%llx)\n", static_cast<unsigned long long>(r.a),
                  static_cast<unsigned long long>(r.b));
    out += std::string("  ") + r.what + buf;
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Everything `salvage load` gathers from a root tree, the way it will gather it.
struct Gathered {
  uint16_t machine = 0;
  proc::Iomem iomem;
  std::vector<PhysRange> ram, crash, notes;
  PhysRange vmcoreinfo;
  Addressing addressing;
};

Gathered Gather(const char* tree, uint16_t machine) {
  Gathered g;
  g.machine = machine;
  const std::string root = std::string(SALVAGE_TEST_SOURCE_DATA_DIR) + "/" + tree;
  auto text = proc::ReadIomemText(root);
  EXPECT_TRUE(text.ok()) << text.error();
  if (!text.ok()) return g;
  auto iomem = proc::ParseIomem(*text);
  EXPECT_TRUE(iomem.ok()) << iomem.error();
  if (!iomem.ok()) return g;
  g.iomem = *iomem;
  g.ram = g.iomem.SystemRam();
  g.crash = g.iomem.CrashKernel();
  auto notes = proc::ReadCrashNotes(root, machine);
  EXPECT_TRUE(notes.ok()) << notes.error();
  if (notes.ok())
    for (const proc::CpuCrashNote& n : notes->cpus) g.notes.push_back(n.note);
  auto vmcoreinfo = proc::ReadVmcoreinfo(root);
  EXPECT_TRUE(vmcoreinfo.ok()) << vmcoreinfo.error();
  if (vmcoreinfo.ok()) g.vmcoreinfo = *vmcoreinfo;
  g.addressing = AddressingFromVmcoreinfo(ReadFile(root + "/vmcoreinfo-desc.txt"), machine, g.ram);
  return g;
}

Input InputFor(const Gathered& g) {
  Input in;
  in.machine = g.machine;
  in.elf_class = DefaultElfClass(g.machine, g.ram);
  in.cpu_notes = g.notes;
  in.vmcoreinfo = g.vmcoreinfo;
  in.system_ram = g.ram;
  in.reserved = g.crash;
  in.linear_map = g.addressing.linear_map;
  if (HasKernelTextSegment(g.machine) && g.addressing.kernel_voffset && g.iomem.KernelImage()) {
    const PhysRange image = *g.iomem.KernelImage();
    in.kernel_text = KernelText{image, image.base + *g.addressing.kernel_voffset};
  }
  return in;
}

// The program headers, read with <elf.h>: an independent check of the layout.
struct Seen {
  uint32_t type, flags;
  uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

std::vector<Seen> ReadWithElfH(const std::vector<uint8_t>& b) {
  std::vector<Seen> out;
  if (b.size() < EI_NIDENT) return out;
  if (b[EI_CLASS] == ELFCLASS64) {
    Elf64_Ehdr eh;
    std::memcpy(&eh, b.data(), sizeof(eh));
    EXPECT_EQ(eh.e_ehsize, sizeof(Elf64_Ehdr));
    EXPECT_EQ(eh.e_phentsize, sizeof(Elf64_Phdr));
    EXPECT_EQ(eh.e_phoff, sizeof(Elf64_Ehdr));
    EXPECT_EQ(eh.e_type, ET_CORE);
    EXPECT_EQ(eh.e_version, EV_CURRENT);
    EXPECT_EQ(eh.e_entry, 0u);
    EXPECT_EQ(eh.e_shoff, 0u);
    EXPECT_EQ(eh.e_shnum, 0u);
    EXPECT_EQ(eh.e_flags, 0u);
    for (size_t i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      std::memcpy(&ph, b.data() + eh.e_phoff + i * sizeof(ph), sizeof(ph));
      out.push_back({ph.p_type, ph.p_flags, ph.p_offset, ph.p_vaddr, ph.p_paddr, ph.p_filesz, ph.p_memsz, ph.p_align});
    }
  } else {
    Elf32_Ehdr eh;
    std::memcpy(&eh, b.data(), sizeof(eh));
    EXPECT_EQ(eh.e_ehsize, sizeof(Elf32_Ehdr));
    EXPECT_EQ(eh.e_phentsize, sizeof(Elf32_Phdr));
    EXPECT_EQ(eh.e_phoff, sizeof(Elf32_Ehdr));
    EXPECT_EQ(eh.e_type, ET_CORE);
    EXPECT_EQ(eh.e_version, EV_CURRENT);
    for (size_t i = 0; i < eh.e_phnum; ++i) {
      Elf32_Phdr ph;
      std::memcpy(&ph, b.data() + eh.e_phoff + i * sizeof(ph), sizeof(ph));
      out.push_back({ph.p_type, ph.p_flags, ph.p_offset, ph.p_vaddr, ph.p_paddr, ph.p_filesz, ph.p_memsz, ph.p_align});
    }
  }
  for (const Seen& s : out) {
    EXPECT_EQ(s.offset, s.paddr);  // crashdump-elf.c: p_offset = p_paddr
    EXPECT_EQ(s.filesz, s.memsz);
    EXPECT_EQ(s.align, 0u);
    if (s.type == PT_NOTE) {
      EXPECT_EQ(s.vaddr, 0u);
      EXPECT_EQ(s.flags, 0u);
    } else {
      EXPECT_EQ(s.type, static_cast<uint32_t>(PT_LOAD));
      EXPECT_EQ(s.flags, static_cast<uint32_t>(PF_R | PF_W | PF_X));
    }
  }
  return out;
}

// Parses `h` with the image's parser and plans it against `ram` minus `reserved`:
// ParseCoreHeader must report nothing. Returns the planner's reports.
struct Readback {
  elfcore::CoreHeader header;
  elfcore::Plan plan;
  Diag parse_diag, plan_diag;
};

std::unique_ptr<Readback> ReadBack(const Header& h, std::span<const PhysRange> ram, std::span<const PhysRange> reserved) {
  auto rb = std::make_unique<Readback>();
  auto st = elfcore::ParseCoreHeaderInto(h.bytes, rb->parse_diag, &rb->header);
  EXPECT_TRUE(st.ok()) << st.what();
  EXPECT_EQ(rb->parse_diag.total(), 0u) << Describe(rb->parse_diag);
  auto plan = elfcore::MakePlanInto(&rb->header, elfcore::PlanInput{ram, reserved}, rb->plan_diag, &rb->plan);
  EXPECT_TRUE(plan.ok()) << plan.what();
  EXPECT_FALSE(rb->plan.fallback);
  return rb;
}

TEST(ElfcorehdrBuilderTest, Arm64FromFixtureTree) {
  const Gathered g = Gather("proc-arm64-virt", elfcore::kEmAarch64);
  ASSERT_EQ(g.notes.size(), 4u);
  ASSERT_TRUE(g.addressing.linear_map.has_value()) << g.addressing.basis;
  ASSERT_TRUE(g.addressing.kernel_voffset.has_value()) << g.addressing.basis;
  EXPECT_EQ(g.addressing.linear_map->page_offset, 0xffff000000000000u);
  EXPECT_EQ(g.addressing.linear_map->phys_offset, 0x40000000u);
  EXPECT_EQ(*g.addressing.kernel_voffset, 0xffff7fffc7e00000u);
  EXPECT_NE(g.addressing.basis.find("NUMBER(kimage_voffset)"), std::string::npos);

  const Input in = InputFor(g);
  EXPECT_EQ(in.elf_class, ElfClass::k64);
  ASSERT_TRUE(in.kernel_text.has_value());
  EXPECT_EQ(in.kernel_text->vaddr, 0xffff800008000000u);  // KIMAGE_VADDR, no KASLR
  auto h = Build(in);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->note_count, 5u);  // 4 CPUs + VMCOREINFO
  EXPECT_EQ(h->load_count, 3u);  // kernel image + RAM below and above the reservation
  EXPECT_EQ(h->ram_loads, (std::vector<PhysRange>{Incl(0x40000000, 0x7affffff), Incl(0x7f000000, 0x7fffffff)}));
  EXPECT_EQ(h->used_bytes, 64u + 8 * 56);
  ASSERT_EQ(h->bytes.size(), 1024u);  // padded to ELF_CORE_HEADER_ALIGN
  for (size_t i = h->used_bytes; i < h->bytes.size(); ++i) ASSERT_EQ(h->bytes[i], 0) << i;

  const std::vector<Seen> ph = ReadWithElfH(h->bytes);
  ASSERT_EQ(ph.size(), 8u);
  EXPECT_EQ(h->bytes[EI_CLASS], ELFCLASS64);
  EXPECT_EQ(h->bytes[EI_DATA], ELFDATA2LSB);
  EXPECT_EQ(h->bytes[EI_OSABI], ELFOSABI_NONE);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(ph[i].type, static_cast<uint32_t>(PT_NOTE));
    EXPECT_EQ(ph[i].paddr, g.notes[i].base);
    EXPECT_EQ(ph[i].memsz, 424u);
  }
  EXPECT_EQ(ph[4].type, static_cast<uint32_t>(PT_NOTE));
  EXPECT_EQ(ph[4].paddr, 0x45d7a000u);
  EXPECT_EQ(ph[4].memsz, 0x1024u);
  EXPECT_EQ(ph[5].type, static_cast<uint32_t>(PT_LOAD));  // the kernel image, before RAM
  EXPECT_EQ(ph[5].paddr, 0x40200000u);
  EXPECT_EQ(ph[5].memsz, 0x1a30000u);
  EXPECT_EQ(ph[5].vaddr, 0xffff800008000000u);
  EXPECT_EQ(ph[6].vaddr, 0xffff000000000000u);  // linear map of 0x40000000
  EXPECT_EQ(ph[7].paddr, 0x7f000000u);
  EXPECT_EQ(ph[7].vaddr, 0xffff00003f000000u);

  // The capture image's parser takes it without a word; the planner dumps RAM minus the
  // reservation, keeps all notes, and reports the one overlap kexec-tools' layout has by
  // design: the kernel image repeats bytes of the first RAM range.
  auto rb = ReadBack(*h, g.ram, g.crash);
  EXPECT_EQ(rb->header.elf_class, 64);
  EXPECT_EQ(rb->header.machine, elfcore::kEmAarch64);
  EXPECT_EQ(rb->header.notes.size(), 5u);
  EXPECT_EQ(rb->header.loads.size(), 3u);
  EXPECT_EQ(rb->plan.notes.size(), 5u);
  EXPECT_EQ(std::vector<PhysRange>(rb->plan.ranges.begin(), rb->plan.ranges.end()), h->ram_loads);
  EXPECT_EQ(rb->plan.TotalBytes(), 1 * GiB - 64 * MiB);
  EXPECT_EQ(rb->plan_diag.total(), 1u) << Describe(rb->plan_diag);
  ASSERT_EQ(rb->plan_diag.Count(elfcore::problem::kLoadSecondView), 1u) << Describe(rb->plan_diag);
  EXPECT_EQ(rb->plan_diag.Find(elfcore::problem::kLoadSecondView)->a, 0x40000000u);

  // Placement: the last page of the reservation; linux,elfcorehdr names 1 KiB there.
  EXPECT_EQ(SegmentSize(h->bytes.size(), 4096), 4096u);
  auto at = PlaceAtEnd(g.crash[0], h->bytes.size(), 4096);
  ASSERT_TRUE(at.ok()) << at.error();
  EXPECT_EQ(*at, (PhysRange{0x7efff000, 1024}));
}

TEST(ElfcorehdrBuilderTest, WithoutKernelImageNothingIsReported) {
  const Gathered g = Gather("proc-arm64-virt", elfcore::kEmAarch64);
  Input in = InputFor(g);
  in.kernel_text.reset();
  auto h = Build(in);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->load_count, 2u);
  auto rb = ReadBack(*h, g.ram, g.crash);
  EXPECT_EQ(rb->plan_diag.total(), 0u) << Describe(rb->plan_diag);
  EXPECT_EQ(rb->plan.notes.size(), 5u);
  EXPECT_EQ(std::vector<PhysRange>(rb->plan.ranges.begin(), rb->plan.ranges.end()), h->ram_loads);
}

TEST(ElfcorehdrBuilderTest, ArmhfFromFixtureTreeIsElf32WithHighmem) {
  const Gathered g = Gather("proc-armhf-virt", elfcore::kEmArm);
  ASSERT_EQ(g.notes.size(), 4u);
  Input in = InputFor(g);
  EXPECT_EQ(in.elf_class, ElfClass::k32);  // 32-bit Arm, all RAM below 4 GiB
  EXPECT_FALSE(in.kernel_text.has_value());  // kexec-tools writes none on 32-bit Arm
  ASSERT_TRUE(in.linear_map.has_value()) << g.addressing.basis;
  EXPECT_EQ(in.linear_map->page_offset, 0xc0000000u);
  EXPECT_EQ(in.linear_map->phys_offset, 0x40000000u);
  // With VMSPLIT_3G and 1 GiB, lowmem ends 760 MiB in (high_memory = 0xef800000).
  LinearMap lm = *in.linear_map;
  lm.lowmem_end = 0x6f800000;
  in.linear_map = lm;
  auto h = Build(in);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->note_count, 5u);
  EXPECT_EQ(h->ram_loads, (std::vector<PhysRange>{Incl(0x40000000, 0x67ffffff), Incl(0x6c000000, 0x6f7fffff),
                                                  Incl(0x6f800000, 0x7fffffff)}));
  EXPECT_EQ(h->used_bytes, 52u + 8 * 32);
  EXPECT_EQ(h->bytes.size(), 1024u);
  const std::vector<Seen> ph = ReadWithElfH(h->bytes);
  ASSERT_EQ(ph.size(), 8u);
  EXPECT_EQ(h->bytes[EI_CLASS], ELFCLASS32);
  EXPECT_EQ(ph[0].memsz, 180u);
  EXPECT_EQ(ph[5].vaddr, 0xc0000000u);
  EXPECT_EQ(ph[6].vaddr, 0xec000000u);
  EXPECT_EQ(ph[7].vaddr, 0xffffffffu);  // highmem, as kexec-tools marks it

  auto rb = ReadBack(*h, g.ram, g.crash);
  EXPECT_EQ(rb->header.elf_class, 32);
  EXPECT_EQ(rb->header.machine, elfcore::kEmArm);
  EXPECT_EQ(rb->plan_diag.total(), 0u) << Describe(rb->plan_diag);
  EXPECT_EQ(rb->plan.notes.size(), 5u);
  EXPECT_EQ(rb->plan.TotalBytes(), 1 * GiB - 64 * MiB);
  EXPECT_EQ(std::vector<PhysRange>(rb->plan.ranges.begin(), rb->plan.ranges.end()), h->ram_loads);
}

TEST(ElfcorehdrBuilderTest, ArmhfWithoutLowmemEndStopsAt4GiBOfVirtualSpace) {
  const Gathered g = Gather("proc-armhf-virt", elfcore::kEmArm);
  Input in = InputFor(g);
  in.linear_map = LinearMap{.page_offset = 0xe0000000, .phys_offset = 0x40000000};  // a 512 MiB window
  auto h = Build(in);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->ram_loads, (std::vector<PhysRange>{Incl(0x40000000, 0x5fffffff), Incl(0x60000000, 0x67ffffff),
                                                  Incl(0x6c000000, 0x7fffffff)}));
  const std::vector<Seen> ph = ReadWithElfH(h->bytes);
  EXPECT_EQ(ph[5].vaddr, 0xe0000000u);
  EXPECT_EQ(ph[6].vaddr, 0xffffffffu);
  EXPECT_EQ(ph[7].vaddr, 0xffffffffu);
  auto rb = ReadBack(*h, g.ram, g.crash);
  EXPECT_EQ(rb->plan_diag.total(), 0u) << Describe(rb->plan_diag);
}

TEST(ElfcorehdrBuilderTest, Riscv64FromFixtureTree) {
  const Gathered g = Gather("proc-riscv64-virt", elfcore::kEmRiscv);
  ASSERT_EQ(g.notes.size(), 4u);
  ASSERT_TRUE(g.addressing.linear_map.has_value()) << g.addressing.basis;
  EXPECT_EQ(g.addressing.linear_map->page_offset, 0xff60000000000000u);
  EXPECT_EQ(g.addressing.linear_map->phys_offset, 0x80000000u);  // decimal in VMCOREINFO
  const Input in = InputFor(g);
  ASSERT_TRUE(in.kernel_text.has_value());
  EXPECT_EQ(in.kernel_text->phys, Incl(0x80200000, 0x8172bb37));
  EXPECT_EQ(in.kernel_text->vaddr, 0xffffffff80000000u);  // KERNEL_LINK_ADDR
  auto h = Build(in);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->ram_loads, (std::vector<PhysRange>{Incl(0x80040000, 0xbaffffff), Incl(0xbf000000, 0xbfffffff)}));
  const std::vector<Seen> ph = ReadWithElfH(h->bytes);
  ASSERT_EQ(ph.size(), 8u);
  EXPECT_EQ(ph[0].memsz, 408u);
  EXPECT_EQ(ph[6].vaddr, 0xff60000000040000u);

  auto rb = ReadBack(*h, g.ram, g.crash);
  EXPECT_EQ(rb->header.machine, elfcore::kEmRiscv);
  EXPECT_EQ(rb->plan.notes.size(), 5u);
  EXPECT_EQ(rb->plan_diag.total(), 1u) << Describe(rb->plan_diag);
  EXPECT_EQ(rb->plan_diag.Count(elfcore::problem::kLoadSecondView), 1u) << Describe(rb->plan_diag);
  EXPECT_EQ(std::vector<PhysRange>(rb->plan.ranges.begin(), rb->plan.ranges.end()), h->ram_loads);
}

// A small board for the error cases: 1 GiB at 0x40000000, a 64 MiB reservation.
struct Board {
  std::vector<PhysRange> ram{Incl(0x40000000, 0x7fffffff)};
  std::vector<PhysRange> crash{Incl(0x7b000000, 0x7effffff)};
  std::vector<PhysRange> notes{PhysRange{0x7f4d2e48, 424}, PhysRange{0x7f512e48, 424}};
  Input Make(ElfClass cls = ElfClass::k64) const {
    Input in;
    in.machine = elfcore::kEmAarch64;
    in.elf_class = cls;
    in.cpu_notes = notes;
    in.vmcoreinfo = PhysRange{0x45d7a000, 0x1024};
    in.system_ram = ram;
    in.reserved = crash;
    return in;
  }
};

std::string BuildError(const Input& in) {
  auto h = Build(in);
  EXPECT_FALSE(h.ok());
  return h.error();
}

TEST(ElfcorehdrBuilderTest, Elf32RefusesMemoryAbove4GiB) {
  Board b;
  b.ram.push_back(Incl(0x100000000, 0x13fffffff));
  const std::string e = BuildError(b.Make(ElfClass::k32));
  EXPECT_NE(e.find("ELF32 cannot describe memory above 4 GiB"), std::string::npos) << e;
  EXPECT_NE(e.find("0x100000000-0x13fffffff"), std::string::npos) << e;
  EXPECT_NE(e.find("use an ELF64 header"), std::string::npos) << e;
  // ELF64 takes it; and it is what 32-bit Arm picks with LPAE memory above 4 GiB.
  EXPECT_EQ(DefaultElfClass(elfcore::kEmArm, b.ram), ElfClass::k64);
  auto h = Build(b.Make(ElfClass::k64));
  ASSERT_TRUE(h.ok()) << h.error();
  auto rb = ReadBack(*h, b.ram, b.crash);
  EXPECT_EQ(rb->plan_diag.total(), 0u) << Describe(rb->plan_diag);

  // A note above 4 GiB, a kernel image mapped above 4 GiB: refused too.
  Board n;
  n.ram.push_back(Incl(0x100000000, 0x13fffffff));
  n.notes.push_back(PhysRange{0x100001000, 180});
  Input in = n.Make(ElfClass::k32);
  in.system_ram = std::span<const PhysRange>(n.ram.data(), 1);
  EXPECT_NE(BuildError(in).find("ELF32 cannot describe memory above 4 GiB: crash note 2"), std::string::npos);
  Board k;
  Input kin = k.Make(ElfClass::k32);
  kin.kernel_text = KernelText{Incl(0x40008000, 0x40fb7c3b), 0xffff800008000000};
  EXPECT_NE(BuildError(kin).find("ELF32 cannot describe the kernel image's virtual address"), std::string::npos);
}

TEST(ElfcorehdrBuilderTest, Elf32UpTo4GiBExactly) {
  Board b;
  b.ram = {Incl(0x40000000, 0xffffffff)};
  auto h = Build(b.Make(ElfClass::k32));
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->ram_loads.back(), Incl(0x7f000000, 0xffffffff));
  auto rb = ReadBack(*h, b.ram, b.crash);
  EXPECT_EQ(rb->header.elf_class, 32);
  EXPECT_EQ(rb->plan_diag.total(), 0u) << Describe(rb->plan_diag);
  EXPECT_EQ(DefaultElfClass(elfcore::kEmArm, b.ram), ElfClass::k32);
  EXPECT_EQ(DefaultElfClass(elfcore::kEmAarch64, b.ram), ElfClass::k64);
}

TEST(ElfcorehdrBuilderTest, LowAndHighReservationsAndSeveralRamRanges) {
  // crashkernel=512M,high: a low and a high "Crash kernel"; RAM in three ranges, two of
  // them touching (UEFI splits): they stay separate PT_LOADs, as in /proc/iomem.
  Board b;
  b.ram = {Incl(0x40000000, 0x7fffffff), Incl(0x80000000, 0xbfffffff), Incl(0x880000000, 0x9ffffffff)};
  b.crash = {Incl(0xb8000000, 0xbfffffff), Incl(0x9e0000000, 0x9ffffffff)};
  auto h = Build(b.Make());
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->ram_loads, (std::vector<PhysRange>{Incl(0x40000000, 0x7fffffff), Incl(0x80000000, 0xb7ffffff),
                                                  Incl(0x880000000, 0x9dfffffff)}));
  auto rb = ReadBack(*h, b.ram, b.crash);
  EXPECT_EQ(rb->plan_diag.total(), 0u) << Describe(rb->plan_diag);
  EXPECT_EQ(rb->plan.TotalBytes(), 8 * GiB - 512 * MiB - 128 * MiB);
  for (const PhysRange& r : rb->plan.ranges)
    for (const PhysRange& c : b.crash) EXPECT_FALSE(r.Overlaps(c));
}

TEST(ElfcorehdrBuilderTest, Subtract) {
  const PhysRange ram[] = {Incl(0x1000, 0x1fff), Incl(0x3000, 0x3fff), Incl(0x3800, 0x4fff), Incl(0x5000, 0x5fff)};
  // Overlapping inputs merge; touching ones stay apart.
  EXPECT_EQ(Subtract(ram, {}), (std::vector<PhysRange>{Incl(0x1000, 0x1fff), Incl(0x3000, 0x4fff), Incl(0x5000, 0x5fff)}));
  const PhysRange minus[] = {Incl(0x0, 0x10ff), Incl(0x1800, 0x18ff), Incl(0x4f00, 0x50ff), Incl(0x5f00, 0xffff)};
  EXPECT_EQ(Subtract(ram, minus), (std::vector<PhysRange>{Incl(0x1100, 0x17ff), Incl(0x1900, 0x1fff),
                                                          Incl(0x3000, 0x4eff), Incl(0x5100, 0x5eff)}));
  const PhysRange all[] = {Incl(0, 0xffffff)};
  EXPECT_TRUE(Subtract(ram, all).empty());
  const PhysRange top[] = {PhysRange{0xfffffffffffff000, 0x1000}};
  EXPECT_EQ(Subtract(top, minus), (std::vector<PhysRange>{PhysRange{0xfffffffffffff000, 0x1000}}));
}

TEST(ElfcorehdrBuilderTest, InputErrors) {
  Board b;
  Input in = b.Make();
  in.machine = 0;
  EXPECT_NE(BuildError(in).find("e_machine is 0"), std::string::npos);

  in = b.Make();
  in.system_ram = {};
  EXPECT_NE(BuildError(in).find("no System RAM"), std::string::npos);

  const PhysRange outside[] = {PhysRange{0x30000000, 424}};
  in = b.Make();
  in.cpu_notes = outside;
  EXPECT_NE(BuildError(in).find("crash note 0 0x30000000-0x300001a7 is not inside System RAM"), std::string::npos)
      << BuildError(in);

  const PhysRange reserved_note[] = {PhysRange{0x7c000000, 424}};
  in = b.Make();
  in.cpu_notes = reserved_note;
  EXPECT_NE(BuildError(in).find("lies in the crash reservation"), std::string::npos);

  in = b.Make();
  in.vmcoreinfo = PhysRange{0x45d7a000, 2 * MiB};
  EXPECT_NE(BuildError(in).find("VMCOREINFO note 0x45d7a000-0x45f79fff is larger than"), std::string::npos);

  in = b.Make();
  in.vmcoreinfo = PhysRange{0x45d7a000, 0};
  EXPECT_NE(BuildError(in).find("has size 0"), std::string::npos);

  const PhysRange wrapping[] = {PhysRange{0xfffffffffffff000, 0x2000}};
  in = b.Make();
  in.system_ram = wrapping;
  EXPECT_NE(BuildError(in).find("wraps past 2^64"), std::string::npos);

  const PhysRange beyond[] = {PhysRange{uint64_t{1} << 56, 0x1000}};
  in = b.Make();
  in.system_ram = beyond;
  EXPECT_NE(BuildError(in).find("56-bit"), std::string::npos);

  const PhysRange everything[] = {Incl(0, 0xffffffff)};
  in = b.Make();
  in.cpu_notes = {};
  in.vmcoreinfo.reset();
  in.reserved = everything;
  EXPECT_NE(BuildError(in).find("nothing is left of System RAM"), std::string::npos);

  in = b.Make();
  in.kernel_text = KernelText{Incl(0x7a000000, 0x7bffffff), 0xffff800008000000};
  EXPECT_NE(BuildError(in).find("overlaps the crash reservation"), std::string::npos);
  in.kernel_text = KernelText{Incl(0x3fe00000, 0x40ffffff), 0xffff800008000000};
  EXPECT_NE(BuildError(in).find("kernel image 0x3fe00000-0x40ffffff is not inside System RAM"), std::string::npos);
  in.kernel_text = KernelText{Incl(0x40200000, 0x41ffffff), 0xffffffffffff0000};
  EXPECT_NE(BuildError(in).find("wraps past 2^64"), std::string::npos);
}

TEST(ElfcorehdrBuilderTest, NoteAndLoadCapacityOfTheImage) {
  // 127 CPUs + VMCOREINFO fill the image's kMaxNotes exactly, and parse without a word.
  Board b;
  std::vector<PhysRange> cpus;
  for (uint64_t i = 0; i < elfcore::kMaxNotes - 1; ++i) cpus.push_back(PhysRange{0x50000000 + i * 0x1000, 424});
  Input in = b.Make();
  in.cpu_notes = cpus;
  auto h = Build(in);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->note_count, elfcore::kMaxNotes);
  EXPECT_EQ(h->bytes.size(), HeaderBytes(ElfClass::k64, elfcore::kMaxNotes + 2));
  EXPECT_EQ(h->bytes.size() % kHeaderAlign, 0u);
  auto rb = ReadBack(*h, b.ram, b.crash);
  EXPECT_EQ(rb->header.notes.size(), elfcore::kMaxNotes);
  EXPECT_EQ(rb->plan_diag.total(), 0u) << Describe(rb->plan_diag);
  // One more CPU and the builder refuses rather than let the image drop a note.
  cpus.push_back(PhysRange{0x5f000000, 424});
  in.cpu_notes = cpus;
  EXPECT_NE(BuildError(in).find("129 notes"), std::string::npos);

  // More RAM ranges than the image keeps PT_LOADs.
  std::vector<PhysRange> ram;
  for (uint64_t i = 0; i < elfcore::kMaxLoads + 1; ++i) ram.push_back(PhysRange{0x100000000 + i * 0x200000, 0x100000});
  in = b.Make();
  in.cpu_notes = {};
  in.vmcoreinfo.reset();
  in.reserved = {};
  in.system_ram = ram;
  EXPECT_NE(BuildError(in).find("257 PT_LOAD"), std::string::npos);
  ram.pop_back();
  in.system_ram = ram;
  auto full = Build(in);
  ASSERT_TRUE(full.ok()) << full.error();
  EXPECT_EQ(full->load_count, elfcore::kMaxLoads);
}

TEST(ElfcorehdrBuilderTest, SizingAndPlacementAsKexec) {
  // crashdump-elf.c: sizeof(EHDR) + phnum * sizeof(PHDR), aligned to 1024.
  EXPECT_EQ(HeaderBytes(ElfClass::k64, 1), 1024u);
  EXPECT_EQ(HeaderBytes(ElfClass::k64, 17), 1024u);   // 64 + 952 = 1016
  EXPECT_EQ(HeaderBytes(ElfClass::k64, 18), 2048u);   // 64 + 1008 = 1072
  EXPECT_EQ(HeaderBytes(ElfClass::k32, 30), 1024u);   // 52 + 960 = 1012
  EXPECT_EQ(HeaderBytes(ElfClass::k32, 31), 2048u);   // 52 + 992 = 1044
  EXPECT_EQ(SegmentSize(1024, 4096), 4096u);
  EXPECT_EQ(SegmentSize(5120, 4096), 8192u);
  EXPECT_EQ(SegmentSize(5120, 65536), 65536u);

  const PhysRange crash = Incl(0x7b000000, 0x7effffff);
  auto two_pages = PlaceAtEnd(crash, 5120, 4096);
  ASSERT_TRUE(two_pages.ok()) << two_pages.error();
  EXPECT_EQ(*two_pages, (PhysRange{0x7effe000, 5120}));
  auto big_pages = PlaceAtEnd(crash, 1024, 65536);
  ASSERT_TRUE(big_pages.ok());
  EXPECT_EQ(big_pages->base, 0x7eff0000u);

  auto small = PlaceAtEnd(PhysRange{0x7b000000, 0x1000}, 5120, 4096);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().find("is smaller than the elfcorehdr's 8192 bytes"), std::string::npos) << small.error();
  auto unaligned = PlaceAtEnd(PhysRange{0x7b000000, 0x3ffff00}, 1024, 4096);
  ASSERT_FALSE(unaligned.ok());
  EXPECT_NE(unaligned.error().find("page boundary"), std::string::npos);
  EXPECT_FALSE(PlaceAtEnd(crash, 1024, 3000).ok());
  EXPECT_FALSE(PlaceAtEnd(crash, 0, 4096).ok());
  EXPECT_FALSE(PlaceAtEnd(PhysRange{0, 0}, 1024, 4096).ok());
}

TEST(ElfcorehdrBuilderTest, KernelTextSegmentWhereKexecWritesOne) {
  EXPECT_TRUE(HasKernelTextSegment(elfcore::kEmAarch64));
  EXPECT_TRUE(HasKernelTextSegment(elfcore::kEmRiscv));
  EXPECT_FALSE(HasKernelTextSegment(elfcore::kEmArm));
}

TEST(ElfcorehdrBuilderTest, AddressingFromVmcoreinfo) {
  const PhysRange ram[] = {Incl(0x40000000, 0x7fffffff)};
  // Missing or malformed keys leave the fields unset.
  auto none = AddressingFromVmcoreinfo("OSRELEASE=6.1.0\nPAGESIZE=4096\n", elfcore::kEmAarch64, ram);
  EXPECT_FALSE(none.linear_map.has_value());
  EXPECT_FALSE(none.kernel_voffset.has_value());
  EXPECT_TRUE(none.basis.empty());
  auto bad = AddressingFromVmcoreinfo("NUMBER(VA_BITS)=4x\nNUMBER(PHYS_OFFSET)=0x40000000\nNUMBER(kimage_voffset)=0xzz\n",
                                      elfcore::kEmAarch64, ram);
  EXPECT_FALSE(bad.linear_map.has_value());
  EXPECT_FALSE(bad.kernel_voffset.has_value());
  auto odd_bits = AddressingFromVmcoreinfo("NUMBER(VA_BITS)=64\nNUMBER(PHYS_OFFSET)=0x40000000\n", elfcore::kEmAarch64, ram);
  EXPECT_FALSE(odd_bits.linear_map.has_value());
  // 52-bit VA, KASLR: the kernel image offset is taken as it is.
  auto kaslr = AddressingFromVmcoreinfo(
      "NUMBER(VA_BITS)=52\nNUMBER(kimage_voffset)=0xffff7fff52e00000\nNUMBER(PHYS_OFFSET)=0x40000000\nKERNELOFFSET=8b200000\n",
      elfcore::kEmAarch64, ram);
  ASSERT_TRUE(kaslr.linear_map.has_value());
  EXPECT_EQ(kaslr.linear_map->page_offset, 0xfff0000000000000u);
  EXPECT_EQ(*kaslr.kernel_voffset, 0xffff7fff52e00000u);
  // riscv without va_kernel_pa_offset (kernels before 6.5): linear map only.
  auto riscv = AddressingFromVmcoreinfo("NUMBER(phys_ram_base)=2147483648\nNUMBER(PAGE_OFFSET)=0xffffaf8000000000\n",
                                        elfcore::kEmRiscv, ram);
  ASSERT_TRUE(riscv.linear_map.has_value());
  EXPECT_EQ(riscv.linear_map->phys_offset, 0x80000000u);
  EXPECT_EQ(riscv.linear_map->page_offset, 0xffffaf8000000000u);
  EXPECT_FALSE(riscv.kernel_voffset.has_value());
  // 32-bit Arm without _stext: kexec-tools' default PAGE_OFFSET.
  auto arm = AddressingFromVmcoreinfo("", elfcore::kEmArm, ram);
  ASSERT_TRUE(arm.linear_map.has_value());
  EXPECT_EQ(arm.linear_map->page_offset, 0xc0000000u);
  EXPECT_EQ(arm.linear_map->phys_offset, 0x40000000u);
  EXPECT_NE(arm.basis.find("kexec-tools' 32-bit Arm defaults"), std::string::npos) << arm.basis;
  EXPECT_FALSE(AddressingFromVmcoreinfo("", elfcore::kEmArm, {}).linear_map.has_value());
}

// 32-bit Arm, as kexec-tools 2.0.25 (crashdump-arm.c get_kernel_page_offset): PAGE_OFFSET is
// _stext & ~(32 MiB - 1). Debian's armmp 6.1 kernel in QEMU virt: SYMBOL(_stext)=c0300000
// (VMSPLIT_3G, TEXT_OFFSET 0x208000 of a multiplatform kernel with Meson), and it has no
// /proc/kcore, so the loader hands the /proc/kallsyms value in.
TEST(ElfcorehdrBuilderTest, ArmPageOffsetFromStext) {
  const PhysRange ram[] = {Incl(0x40000000, 0x5fffffff)};
  auto debian = AddressingFromVmcoreinfo("OSRELEASE=6.1.0-50-armmp\nSYMBOL(_stext)=c0300000\n", elfcore::kEmArm, ram);
  ASSERT_TRUE(debian.linear_map.has_value());
  EXPECT_EQ(debian.linear_map->page_offset, 0xc0000000u);
  EXPECT_EQ(debian.linear_map->phys_offset, 0x40000000u);
  EXPECT_NE(debian.basis.find("SYMBOL(_stext)=c0300000"), std::string::npos) << debian.basis;
  // VMSPLIT_2G and VMSPLIT_1G kernels: the default would put every PT_LOAD 1 or 2 GiB off.
  auto split2g = AddressingFromVmcoreinfo("SYMBOL(_stext)=80008000\n", elfcore::kEmArm, ram);
  ASSERT_TRUE(split2g.linear_map.has_value());
  EXPECT_EQ(split2g.linear_map->page_offset, 0x80000000u);
  auto split1g = AddressingFromVmcoreinfo("", elfcore::kEmArm, ram, 0x40208000);
  ASSERT_TRUE(split1g.linear_map.has_value());
  EXPECT_EQ(split1g.linear_map->page_offset, 0x40000000u);
  EXPECT_NE(split1g.basis.find("_stext 0x40208000 in /proc/kallsyms"), std::string::npos) << split1g.basis;
  // VMCOREINFO wins over /proc/kallsyms.
  auto both = AddressingFromVmcoreinfo("SYMBOL(_stext)=c0100000\n", elfcore::kEmArm, ram, 0x80008000);
  EXPECT_EQ(both.linear_map->page_offset, 0xc0000000u);
  // Unusable values fall back to the default: malformed, 0 after the mask, above 4 GiB.
  for (const char* text : {"SYMBOL(_stext)=c03zz000\n", "SYMBOL(_stext)=1000\n", "SYMBOL(_stext)=1c0300000\n"}) {
    auto bad = AddressingFromVmcoreinfo(text, elfcore::kEmArm, ram);
    ASSERT_TRUE(bad.linear_map.has_value()) << text;
    EXPECT_EQ(bad.linear_map->page_offset, 0xc0000000u) << text;
    EXPECT_NE(bad.basis.find("defaults"), std::string::npos) << text;
  }
  // Only 32-bit Arm takes it: arm64 keeps its own numbers.
  EXPECT_FALSE(AddressingFromVmcoreinfo("SYMBOL(_stext)=ffff800008010000\n", elfcore::kEmAarch64, ram, 0x80008000)
                   .linear_map.has_value());
  EXPECT_TRUE(PageOffsetFromStext(elfcore::kEmArm));
  EXPECT_FALSE(PageOffsetFromStext(elfcore::kEmAarch64));
  EXPECT_FALSE(PageOffsetFromStext(elfcore::kEmRiscv));
  EXPECT_FALSE(AddressesNeedVmcoreinfo(elfcore::kEmArm));
  EXPECT_TRUE(AddressesNeedVmcoreinfo(elfcore::kEmAarch64));
  EXPECT_TRUE(AddressesNeedVmcoreinfo(elfcore::kEmRiscv));
}

TEST(ElfcorehdrBuilderTest, NoVmcoreinfoAndNoLinearMap) {
  Board b;
  Input in = b.Make();
  in.vmcoreinfo.reset();
  auto h = Build(in);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->note_count, 2u);
  const std::vector<Seen> ph = ReadWithElfH(h->bytes);
  ASSERT_EQ(ph.size(), 4u);
  EXPECT_EQ(ph[2].vaddr, 0u);  // unknown linear map
  EXPECT_EQ(ph[3].vaddr, 0u);
  auto rb = ReadBack(*h, b.ram, b.crash);
  EXPECT_EQ(rb->plan_diag.total(), 0u) << Describe(rb->plan_diag);
}

// arm64 with KASLR randomizes the linear map by making PHYS_OFFSET (memstart_addr)
// "negative"; RAM is above it only modulo 2^64. Values from a Debian 6.1 guest in QEMU
// (512 MiB at 0x40000000): its VMCOREINFO said NUMBER(VA_BITS)=48 and
// NUMBER(PHYS_OFFSET)=0xffffb74840000000, and __phys_to_virt(0x40000000) is
// (0x40000000 - PHYS_OFFSET) | PAGE_OFFSET = 0xffff48b800000000.
TEST(ElfcorehdrBuilderTest, Arm64NegativePhysOffset) {
  Board b;
  b.ram = {Incl(0x40000000, 0x5fffffff)};
  b.crash = {Incl(0x5b400000, 0x5b4fffff)};
  b.notes = {PhysRange{0x5f7d2e48, 424}, PhysRange{0x5f7f2e48, 424}};
  Input in = b.Make();
  in.vmcoreinfo = PhysRange{0x5e000000, 0x1024};
  const PhysRange ram[] = {Incl(0x40000000, 0x5fffffff)};
  const Addressing a = AddressingFromVmcoreinfo(
      "NUMBER(VA_BITS)=48\nNUMBER(kimage_voffset)=0xffffb8ff8f000000\nNUMBER(PHYS_OFFSET)=0xffffb74840000000\n",
      elfcore::kEmAarch64, ram);
  ASSERT_TRUE(a.linear_map.has_value()) << a.basis;
  in.linear_map = a.linear_map;
  auto h = Build(in);
  ASSERT_TRUE(h.ok()) << h.error();
  const std::vector<Seen> ph = ReadWithElfH(h->bytes);
  ASSERT_EQ(ph.size(), 5u);
  EXPECT_EQ(ph[3].paddr, 0x40000000u);
  EXPECT_EQ(ph[3].memsz, 0x1b400000u);  // one piece: no split at PHYS_OFFSET
  EXPECT_EQ(ph[3].vaddr, 0xffff48b800000000u);
  EXPECT_EQ(ph[4].paddr, 0x5b500000u);
  EXPECT_EQ(ph[4].vaddr, 0xffff48b81b500000u);
}

// A positive PHYS_OFFSET above some RAM: the RAM below it has no linear address.
TEST(ElfcorehdrBuilderTest, RamBelowPhysOffsetHasNoVaddr) {
  Board b;
  Input in = b.Make();
  in.linear_map = LinearMap{.page_offset = 0xffff000000000000u, .phys_offset = 0x60000000};
  auto h = Build(in);
  ASSERT_TRUE(h.ok()) << h.error();
  const std::vector<Seen> ph = ReadWithElfH(h->bytes);
  ASSERT_EQ(ph.size(), 6u);  // 2 CPU notes, VMCOREINFO, 3 PT_LOAD
  EXPECT_EQ(ph[3].paddr, 0x40000000u);
  EXPECT_EQ(ph[3].memsz, 0x20000000u);
  EXPECT_EQ(ph[3].vaddr, 0u);
  EXPECT_EQ(ph[4].paddr, 0x60000000u);
  EXPECT_EQ(ph[4].vaddr, 0xffff000000000000u);
  EXPECT_EQ(ph[5].paddr, 0x7f000000u);
  EXPECT_EQ(ph[5].vaddr, 0xffff00001f000000u);
}

}  // namespace
}  // namespace salvage::loader::elfcorehdr
