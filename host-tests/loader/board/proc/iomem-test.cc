// Tests for loader/board/proc/iomem (salvage::loader::proc::ParseIomem): the fixture trees of
// host-tests/data/proc-*-virt, nesting, names, the all-zero file a non-root reader sees,
// and malformed lines (each must be an error that names the line, never a crash).
#include "board/proc/iomem.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef SALVAGE_TEST_SOURCE_DATA_DIR
#error "SALVAGE_TEST_SOURCE_DATA_DIR must name host-tests/data in the source tree"
#endif

namespace salvage::loader::proc {
namespace {

std::string ReadFixture(const std::string& relative) {
  std::ifstream in(std::string(SALVAGE_TEST_SOURCE_DATA_DIR) + "/" + relative, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

PhysRange Incl(uint64_t start, uint64_t end) { return PhysRange{start, end - start + 1}; }

TEST(IomemTest, Arm64VirtFixture) {
  const std::string text = ReadFixture("proc-arm64-virt/proc/iomem");
  ASSERT_FALSE(text.empty());
  auto iomem = ParseIomem(text);
  ASSERT_TRUE(iomem.ok()) << iomem.error();
  EXPECT_FALSE(iomem->addresses_hidden());
  EXPECT_EQ(iomem->entries().size(), 26u);

  EXPECT_EQ(iomem->SystemRam(), (std::vector<PhysRange>{Incl(0x40000000, 0x7fffffff)}));
  EXPECT_EQ(iomem->SystemRamBytes(), 0x40000000u);
  EXPECT_EQ(iomem->CrashKernel(), (std::vector<PhysRange>{Incl(0x7b000000, 0x7effffff)}));
  ASSERT_TRUE(iomem->KernelCode().has_value());
  EXPECT_EQ(*iomem->KernelCode(), Incl(0x40200000, 0x4156ffff));
  ASSERT_TRUE(iomem->KernelImage().has_value());
  EXPECT_EQ(*iomem->KernelImage(), Incl(0x40200000, 0x41c2ffff));  // code .. data

  // Nesting: "Kernel code" is one level inside "System RAM".
  auto code = iomem->Find("Kernel code");
  ASSERT_EQ(code.size(), 1u);
  EXPECT_EQ(code[0]->depth, 1u);
  ASSERT_GE(code[0]->parent, 0);
  EXPECT_EQ(iomem->entries()[static_cast<size_t>(code[0]->parent)].name, "System RAM");
  EXPECT_EQ(code[0]->line, 17u);
  // Names with spaces and dots survive; addresses wider than 8 digits parse.
  EXPECT_EQ(iomem->entries()[5].name, "9000000.pl011 pl011@9000000");
  EXPECT_EQ(iomem->entries().back().start, 0x8000000000u);
  EXPECT_EQ(iomem->entries().back().end, 0xffffffffffu);
  EXPECT_EQ(iomem->Find("reserved").size(), 5u);
}

TEST(IomemTest, Riscv64VirtFixtureHasTwoLevels) {
  auto iomem = ParseIomem(ReadFixture("proc-riscv64-virt/proc/iomem"));
  ASSERT_TRUE(iomem.ok()) << iomem.error();
  // "Reserved" (OpenSBI, no-map) is not RAM.
  EXPECT_EQ(iomem->SystemRam(), (std::vector<PhysRange>{Incl(0x80040000, 0xbfffffff)}));
  EXPECT_EQ(iomem->CrashKernel(), (std::vector<PhysRange>{Incl(0xbb000000, 0xbeffffff)}));
  auto code = iomem->Find("Kernel code");
  ASSERT_EQ(code.size(), 1u);
  EXPECT_EQ(code[0]->depth, 2u);
  EXPECT_EQ(iomem->entries()[static_cast<size_t>(code[0]->parent)].name, "Kernel image");
  // kexec-tools' riscv kernel segment: "Kernel code" start to "Kernel bss" end.
  EXPECT_EQ(*iomem->KernelImage(), Incl(0x80200000, 0x8172bb37));
  EXPECT_EQ(iomem->entries().back().start, 0x400000000u);
}

TEST(IomemTest, ArmhfVirtFixture) {
  auto iomem = ParseIomem(ReadFixture("proc-armhf-virt/proc/iomem"));
  ASSERT_TRUE(iomem.ok()) << iomem.error();
  EXPECT_EQ(iomem->SystemRam(), (std::vector<PhysRange>{Incl(0x40000000, 0x7fffffff)}));
  EXPECT_EQ(iomem->CrashKernel(), (std::vector<PhysRange>{Incl(0x68000000, 0x6bffffff)}));
  EXPECT_EQ(*iomem->KernelImage(), Incl(0x40008000, 0x40fb7c3b));
}

TEST(IomemTest, LowAndHighCrashKernelSorted) {
  // crashkernel=512M,high on a machine with RAM above 4 GiB: crashk_res and
  // crashk_low_res have the same name.
  const char* text =
      "40000000-bfffffff : System RAM\n"
      "  40200000-4156ffff : Kernel code\n"
      "  41840000-41c2ffff : Kernel data\n"
      "  b8000000-bfffffff : Crash kernel\n"
      "880000000-9ffffffff : System RAM\n"
      "  9e0000000-9ffffffff : Crash kernel\n";
  auto iomem = ParseIomem(text);
  ASSERT_TRUE(iomem.ok()) << iomem.error();
  EXPECT_EQ(iomem->CrashKernel(),
            (std::vector<PhysRange>{Incl(0xb8000000, 0xbfffffff), Incl(0x9e0000000, 0x9ffffffff)}));
  EXPECT_EQ(iomem->SystemRam(),
            (std::vector<PhysRange>{Incl(0x40000000, 0xbfffffff), Incl(0x880000000, 0x9ffffffff)}));
}

TEST(IomemTest, HotpluggedRamCountsAndNestedRamDoesNot) {
  const char* text =
      "40000000-7fffffff : System RAM\n"
      "  40000000-4fffffff : System RAM\n"  // not seen in practice: must not count twice
      "100000000-13fffffff : dax0.0\n"
      "  100000000-13fffffff : System RAM (kmem)\n"
      "140000000-17fffffff : System RAM (virtio_mem)\n"
      "180000000-18fffffff : System RAMBO\n";
  auto iomem = ParseIomem(text);
  ASSERT_TRUE(iomem.ok()) << iomem.error();
  EXPECT_EQ(iomem->SystemRam(), (std::vector<PhysRange>{Incl(0x40000000, 0x7fffffff), Incl(0x100000000, 0x13fffffff),
                                                        Incl(0x140000000, 0x17fffffff)}));
  EXPECT_FALSE(IsSystemRamName("System RAMBO"));
  EXPECT_FALSE(IsSystemRamName("System RAM ("));
  EXPECT_TRUE(IsSystemRamName("System RAM (kmem)"));
}

TEST(IomemTest, NonRootSeesZeros) {
  // What a user without CAP_SYS_ADMIN reads (Linux 4.15 and later): names, no addresses.
  const char* text =
      "00000000-00000000 : pl011@9000000\n"
      "  00000000-00000000 : 9000000.pl011 pl011@9000000\n"
      "00000000-00000000 : System RAM\n"
      "  00000000-00000000 : Kernel code\n"
      "  00000000-00000000 : Kernel data\n"
      "  00000000-00000000 : Crash kernel\n";
  auto strict = ParseIomem(text);
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.error().find("/proc/iomem shows every address as 0"), std::string::npos) << strict.error();
  EXPECT_NE(strict.error().find("run salvage as root"), std::string::npos) << strict.error();

  auto lenient = ParseIomem(text, IomemAddresses::kMayBeHidden);
  ASSERT_TRUE(lenient.ok()) << lenient.error();
  EXPECT_TRUE(lenient->addresses_hidden());
  EXPECT_EQ(lenient->Find("Crash kernel").size(), 1u);
  EXPECT_EQ(lenient->entries().size(), 6u);
}

TEST(IomemTest, OneZeroEntryIsNotHidden) {
  auto iomem = ParseIomem("00000000-00000000 : something\n40000000-7fffffff : System RAM\n");
  ASSERT_TRUE(iomem.ok()) << iomem.error();
  EXPECT_FALSE(iomem->addresses_hidden());
}

TEST(IomemTest, EmptyBlankAndCrlf) {
  auto empty = ParseIomem("");
  ASSERT_TRUE(empty.ok()) << empty.error();
  EXPECT_TRUE(empty->entries().empty());
  EXPECT_TRUE(empty->SystemRam().empty());
  EXPECT_FALSE(empty->KernelCode().has_value());
  EXPECT_FALSE(empty->KernelImage().has_value());

  auto crlf = ParseIomem("\n40000000-7fffffff : System RAM\r\n\r\n  40200000-4156ffff : Kernel code\r\n");
  ASSERT_TRUE(crlf.ok()) << crlf.error();
  ASSERT_EQ(crlf->entries().size(), 2u);
  EXPECT_EQ(crlf->entries()[0].name, "System RAM");
  EXPECT_EQ(crlf->entries()[0].line, 2u);
  EXPECT_EQ(crlf->entries()[1].line, 4u);
  // No trailing newline, uppercase hex.
  auto bare = ParseIomem("40000000-7FFFFFFF : System RAM");
  ASSERT_TRUE(bare.ok()) << bare.error();
  EXPECT_EQ(bare->SystemRam(), (std::vector<PhysRange>{Incl(0x40000000, 0x7fffffff)}));
}

TEST(IomemTest, KernelImageWithoutData) {
  auto iomem = ParseIomem("40000000-7fffffff : System RAM\n  40200000-4156ffff : Kernel code\n");
  ASSERT_TRUE(iomem.ok()) << iomem.error();
  EXPECT_EQ(*iomem->KernelImage(), Incl(0x40200000, 0x4156ffff));
}

struct BadLine {
  const char* text;
  unsigned line;
  const char* why;  // a piece of the message
};

TEST(IomemTest, MalformedLinesAreErrorsNamingTheLine) {
  const BadLine cases[] = {
      {"zz000000-7fffffff : System RAM\n", 1, "START in hexadecimal"},
      {"40000000 : System RAM\n", 1, "START in hexadecimal"},
      {"40000000-: System RAM\n", 1, "END in hexadecimal"},
      {"40000000-7fffffff: System RAM\n", 1, "\" : \""},
      {"40000000-7fffffff System RAM\n", 1, "\" : \""},
      {"40000000-7fffffff :System RAM\n", 1, "\" : \""},
      {"40000000-7fffffff", 1, "\" : \""},
      {"-7fffffff : x\n", 1, "START in hexadecimal"},
      {"00000000000000000-1 : x\n", 1, "1 to 16 digits"},
      {"0-10000000000000000 : x\n", 1, "END in hexadecimal"},
      {"7fffffff-40000000 : backwards\n", 1, "START 0x7fffffff is above END 0x40000000"},
      {"  40000000-7fffffff : System RAM\n", 1, "first entry is indented"},
      {"40000000-7fffffff : System RAM\n   40200000-4156ffff : Kernel code\n", 2, "multiple of two"},
      {"40000000-7fffffff : System RAM\n\t40200000-4156ffff : Kernel code\n", 2, "tabs"},
      {"40000000-7fffffff : System RAM\n    40200000-4156ffff : Kernel code\n", 2, "more than one level"},
      {"40000000-7fffffff : System RAM\n  3f000000-4156ffff : Kernel code\n", 2, "not inside the entry"},
      {"40000000-7fffffff : System RAM\n  40200000-8156ffff : Kernel code\n", 2, "(line 1, 0x40000000-0x7fffffff)"},
      {"40000000-7fffffff : System RAM\n  40200000-4156ffff : Kernel code\n    41000000-41ffffff : x\n", 3,
       "not inside"},
      {"40000000-7fffffff : System RAM\n\n\n+40000000-7fffffff : x\n", 4, "START in hexadecimal"},
  };
  for (const BadLine& c : cases) {
    auto r = ParseIomem(c.text);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.text;
    const std::string want = "/proc/iomem line " + std::to_string(c.line) + ": ";
    EXPECT_EQ(r.error().rfind(want, 0), 0u) << r.error();
    EXPECT_NE(r.error().find(c.why), std::string::npos) << r.error();
  }
}

TEST(IomemTest, MessagesNameTheSourceAndQuoteSafely) {
  auto r = ParseIomem(std::string("40000000-7fffffff : System RAM\nbad\x01\x7f\"line\n"), IomemAddresses::kRequired,
                      "/tmp/root/proc/iomem");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "/tmp/root/proc/iomem line 2: expected START-END : NAME with START in hexadecimal (1 to 16 "
                       "digits): \"bad\\x01\\x7f\\x22line\"");
  // A long line is cut.
  std::string long_line(500, 'x');
  auto l = ParseIomem(long_line);
  ASSERT_FALSE(l.ok());
  EXPECT_LT(l.error().size(), 250u);
  EXPECT_NE(l.error().find("...\""), std::string::npos);
}

TEST(IomemTest, ArbitraryBytesNeverCrash) {
  // A cheap stand-in for the fuzzer (loader/board/proc/fuzz/iomem-fuzz.cc): mutate a valid file.
  const std::string base = ReadFixture("proc-riscv64-virt/proc/iomem");
  uint64_t state = 0x9e3779b97f4a7c15u;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const char alphabet[] = " -:0123456789abcdefxX\n\t\r\0SystemRAMCrashkernel";
  for (int round = 0; round < 2000; ++round) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(next() % 6);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = next() % text.size();
      switch (next() % 3) {
        case 0: text[at] = alphabet[next() % (sizeof(alphabet) - 1)]; break;
        case 1: text.erase(at, 1 + next() % 8); break;
        default: text.insert(at, 1, alphabet[next() % (sizeof(alphabet) - 1)]); break;
      }
    }
    for (IomemAddresses mode : {IomemAddresses::kRequired, IomemAddresses::kMayBeHidden}) {
      auto r = ParseIomem(text, mode);
      if (!r.ok()) {
        EXPECT_EQ(r.error().rfind("/proc/iomem", 0), 0u) << r.error();
        continue;
      }
      for (const PhysRange& ram : r->SystemRam()) EXPECT_NE(ram.size, 0u);
      (void)r->CrashKernel();
      (void)r->KernelImage();
      for (const IomemEntry& entry : r->entries()) {
        EXPECT_LE(entry.start, entry.end);
        if (entry.parent >= 0) {
          const IomemEntry& p = r->entries()[static_cast<size_t>(entry.parent)];
          EXPECT_EQ(p.depth + 1, entry.depth);
          EXPECT_LE(p.start, entry.start);
          EXPECT_GE(p.end, entry.end);
        }
      }
    }
  }
}

}  // namespace
}  // namespace salvage::loader::proc
