// Tests for loader/board/proc/crashkernel: every crashkernel= syntax of the kdump documentation
// (seed 004: size, size@offset, the extended ranges syntax with its example, @offset
// after ranges) and of the kernel's parser (,high ,low ,cma, memparse's number forms),
// the kernel's rules for a whole command line, and the advice text.
#include "board/proc/crashkernel.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#ifndef SALVAGE_TEST_SOURCE_DATA_DIR
#error "SALVAGE_TEST_SOURCE_DATA_DIR must name host-tests/data in the source tree"
#endif

namespace salvage::loader::proc {
namespace {

constexpr uint64_t MiB = uint64_t{1} << 20;
constexpr uint64_t GiB = uint64_t{1} << 30;

CrashkernelValue Ok(std::string_view value, uint64_t ram, CrashkernelOptions options = {}) {
  auto r = ParseCrashkernel(value, ram, options);
  EXPECT_TRUE(r.ok()) << "crashkernel=" << value << ": " << r.error();
  return r.ok() ? *r : CrashkernelValue{};
}

std::string Err(std::string_view value, uint64_t ram) {
  auto r = ParseCrashkernel(value, ram);
  EXPECT_FALSE(r.ok()) << "crashkernel=" << value << " accepted";
  return r.error();
}

TEST(CrashkernelTest, SizeOnly) {
  auto v = Ok("64M", 1 * GiB);
  EXPECT_EQ(v.syntax, CrashkernelSyntax::kSize);
  EXPECT_EQ(v.size, 64 * MiB);
  EXPECT_FALSE(v.offset.has_value());
  EXPECT_TRUE(v.note.empty());
  EXPECT_EQ(Ok("256M", 4 * GiB).size, 256 * MiB);  // "crashkernel=256M" (seed 004)
}

TEST(CrashkernelTest, SizeAtOffsetFromTheDocumentation) {
  // "crashkernel=64M@16M" tells the system kernel to reserve 64 MB of memory starting at
  // physical address 0x01000000 (16MB).
  auto v = Ok("64M@16M", 1 * GiB);
  EXPECT_EQ(v.syntax, CrashkernelSyntax::kSize);
  EXPECT_EQ(v.size, 64 * MiB);
  ASSERT_TRUE(v.offset.has_value());
  EXPECT_EQ(*v.offset, 0x01000000u);
  EXPECT_EQ(*Ok("128M@32M", 2 * GiB).offset, 32 * MiB);    // ppc64
  EXPECT_EQ(*Ok("256M@256M", 4 * GiB).offset, 256 * MiB);  // ia64
  auto anywhere = Ok("256M@0", 4 * GiB);                   // "base address as 0"
  ASSERT_TRUE(anywhere.offset.has_value());
  EXPECT_EQ(*anywhere.offset, 0u);
}

TEST(CrashkernelTest, NumberFormsAsMemparse) {
  EXPECT_EQ(Ok("65536K", GiB).size, 64 * MiB);
  EXPECT_EQ(Ok("65536k", GiB).size, 64 * MiB);
  EXPECT_EQ(Ok("64m", GiB).size, 64 * MiB);
  EXPECT_EQ(Ok("1G", 4 * GiB).size, GiB);
  EXPECT_EQ(Ok("1g", 4 * GiB).size, GiB);
  EXPECT_EQ(Ok("1T", 2048 * GiB).size, 1024 * GiB);
  EXPECT_EQ(Ok("67108864", GiB).size, 64 * MiB);    // bytes
  EXPECT_EQ(Ok("0x4000000", GiB).size, 64 * MiB);   // hex
  EXPECT_EQ(Ok("0x40M", GiB).size, 64 * MiB);       // hex with a suffix
  EXPECT_EQ(Ok("0100M", GiB).size, 64 * MiB);       // leading 0: octal, as the kernel reads it
  EXPECT_EQ(*Ok("64M@0x7b000000", GiB).offset, 0x7b000000u);
  EXPECT_EQ(*Ok("64M@0X7B000000", GiB).offset, 0x7b000000u);
}

TEST(CrashkernelTest, RangesExampleFromTheDocumentation) {
  // crashkernel=512M-2G:64M,2G-:128M
  //  1) RAM smaller than 512M: nothing  2) 512M up to 2G (exclusive): 64M  3) 2G and up: 128M
  constexpr std::string_view kValue = "512M-2G:64M,2G-:128M";
  auto small = Ok(kValue, 256 * MiB);
  EXPECT_EQ(small.syntax, CrashkernelSyntax::kRanges);
  EXPECT_EQ(small.size, 0u);
  EXPECT_NE(small.note.find("reserves nothing"), std::string::npos) << small.note;
  EXPECT_EQ(Ok(kValue, 512 * MiB).size, 64 * MiB);
  EXPECT_EQ(Ok(kValue, 1 * GiB).size, 64 * MiB);
  EXPECT_EQ(Ok(kValue, 2 * GiB - 256 * MiB).size, 64 * MiB);
  EXPECT_EQ(Ok(kValue, 2 * GiB).size, 128 * MiB);  // start inclusive, end exclusive
  EXPECT_EQ(Ok(kValue, 64 * GiB).size, 128 * MiB);
  EXPECT_FALSE(Ok(kValue, GiB).offset.has_value());
  EXPECT_TRUE(Ok(kValue, GiB).note.empty());
}

TEST(CrashkernelTest, RangesRoundTheRamUpTo128MiB) {
  // Firmware keeps some RAM: 2 GiB - 40 MiB still counts as 2 GiB on current kernels.
  constexpr std::string_view kValue = "512M-2G:64M,2G-:128M";
  EXPECT_EQ(Ok(kValue, 2 * GiB - 40 * MiB).size, 128 * MiB);
  EXPECT_EQ(Ok(kValue, 2 * GiB - 40 * MiB, {.round_ram_to_128m = false}).size, 64 * MiB);
  EXPECT_EQ(Ok("1G-:64M", 1016 * MiB).size, 64 * MiB);
  auto old = Ok("1G-:64M", 1016 * MiB, {.round_ram_to_128m = false});
  EXPECT_EQ(old.size, 0u);
  EXPECT_FALSE(old.note.empty());
}

TEST(CrashkernelTest, RangesWithOffset) {
  // crashkernel=<range1>:<size1>[,<range2>:<size2>,...][@offset]
  auto v = Ok("512M-2G:64M,2G-:128M@16M", 1 * GiB);
  EXPECT_EQ(v.size, 64 * MiB);
  ASSERT_TRUE(v.offset.has_value());
  EXPECT_EQ(*v.offset, 16 * MiB);
  auto big = Ok("512M-2G:64M,2G-:128M@0x80000000", 8 * GiB);
  EXPECT_EQ(big.size, 128 * MiB);
  EXPECT_EQ(*big.offset, 0x80000000u);
  // One range, no end, and the smallest start.
  EXPECT_EQ(Ok("0-:32M", 256 * MiB).size, 32 * MiB);
  EXPECT_EQ(*Ok("0-:32M@64M", 256 * MiB).offset, 64 * MiB);
  // Three ranges.
  EXPECT_EQ(Ok("1G-4G:160M,4G-64G:192M,64G-:256M", 8 * GiB).size, 192 * MiB);
  // The kernel reads nothing after the matching entry before '@'.
  EXPECT_EQ(Ok("512M-:64M,garbage", GiB).size, 64 * MiB);
  // Unmatched: no reservation, and the @offset is never read.
  EXPECT_EQ(Ok("2G-:128M@16M", GiB).size, 0u);
}

TEST(CrashkernelTest, SuffixForms) {
  auto high = Ok("512M,high", 8 * GiB);
  EXPECT_EQ(high.syntax, CrashkernelSyntax::kHigh);
  EXPECT_EQ(high.size, 512 * MiB);
  auto low = Ok("128M,low", 8 * GiB);
  EXPECT_EQ(low.syntax, CrashkernelSyntax::kLow);
  EXPECT_EQ(low.size, 128 * MiB);
  auto none_low = Ok("0,low", 8 * GiB);  // "no low memory", valid
  EXPECT_EQ(none_low.size, 0u);
  auto cma = Ok("256M,cma", 8 * GiB);
  EXPECT_EQ(cma.syntax, CrashkernelSyntax::kCma);
  EXPECT_EQ(cma.size, 256 * MiB);
}

TEST(CrashkernelTest, ZeroReservesNothing) {
  auto v = Ok("0", GiB);
  EXPECT_EQ(v.size, 0u);
  EXPECT_NE(v.note.find("reserves nothing"), std::string::npos);
  auto zero_range = Ok("0-:0", GiB);
  EXPECT_EQ(zero_range.size, 0u);
  EXPECT_FALSE(zero_range.note.empty());
}

TEST(CrashkernelTest, WhatTheKernelIgnoresIsNoted) {
  auto v = Ok("64M@16Mfoo", GiB);
  EXPECT_EQ(*v.offset, 16 * MiB);
  EXPECT_NE(v.note.find("\"foo\""), std::string::npos) << v.note;
  auto empty_offset = Ok("64M@", GiB);  // the kernel takes 0: anywhere
  EXPECT_EQ(*empty_offset.offset, 0u);
  EXPECT_NE(empty_offset.note.find("offset 0"), std::string::npos) << empty_offset.note;
}

TEST(CrashkernelTest, ErrorsNameTheProblem) {
  const uint64_t ram = GiB;
  EXPECT_NE(Err("", ram).find("memory value expected"), std::string::npos);
  EXPECT_NE(Err("M", ram).find("memory value expected"), std::string::npos);
  EXPECT_NE(Err("64X", ram).find("unrecognized character 'X'"), std::string::npos);
  EXPECT_NE(Err("64M,16M", ram).find("unrecognized character ','"), std::string::npos);
  EXPECT_NE(Err("0x", ram).find("unrecognized character 'x'"), std::string::npos);
  EXPECT_NE(Err("08M", ram).find("unrecognized character '8'"), std::string::npos);  // octal
  EXPECT_NE(Err("99999999999999999999", ram).find("above 2^64"), std::string::npos);
  EXPECT_NE(Err("17179869184G", ram).find("above 2^64"), std::string::npos);
  EXPECT_NE(Err("2G", ram).find("not below the RAM size, 1024 MiB"), std::string::npos);
  EXPECT_NE(Err("1G", ram).find("not below the RAM size"), std::string::npos);
  // Ranges.
  EXPECT_NE(Err("512M:64M", ram).find("'-' expected"), std::string::npos);
  EXPECT_NE(Err("2G-1G:64M", ram).find("end is not above its start"), std::string::npos);
  EXPECT_NE(Err("1G-1G:64M", ram).find("end is not above its start"), std::string::npos);
  EXPECT_NE(Err("512M-2G", ram).find("unrecognized character '-'"), std::string::npos);  // no ':': simple form
  EXPECT_NE(Err("512M-2G;64M:", ram).find("':' expected"), std::string::npos);
  EXPECT_NE(Err("512M-2G:", ram).find("memory value (size) expected"), std::string::npos);
  EXPECT_NE(Err("-2G:64M", ram).find("range start"), std::string::npos);
  EXPECT_NE(Err("0-:2G", ram).find("not below the RAM size"), std::string::npos);
  EXPECT_NE(Err("512M-2G:64M@", ram).find("after '@'"), std::string::npos);
  // The documentation's example as printed, with a space after the comma: on a kernel
  // command line the space ends the parameter; as one value it is an error.
  EXPECT_NE(Err("512M-2G:64M, 2G-:128M", 4 * GiB).find("expected at \" 2G-:128M\""), std::string::npos);
  // Suffix forms take a size only.
  EXPECT_NE(Err("64M@16M,high", 8 * GiB).find("only a size"), std::string::npos);
  EXPECT_NE(Err("512M-2G:64M,high", 8 * GiB).find("only a size"), std::string::npos);
  EXPECT_NE(Err(",high", 8 * GiB).find("memory value expected"), std::string::npos);
  EXPECT_NE(Err("8G,high", 8 * GiB).find("not below the RAM size"), std::string::npos);
  // Every message names the value.
  EXPECT_EQ(Err("64X", ram).rfind("crashkernel=64X: ", 0), 0u);
  EXPECT_NE(Err("64M", 0).find("RAM size is not known"), std::string::npos);
}

TEST(CrashkernelTest, CmdlineLastPlainOneWins) {
  auto r = ParseCrashkernelCmdline("console=ttyAMA0 crashkernel=32M root=/dev/vda1 crashkernel=64M@0x7b000000\n", GiB);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->present);
  EXPECT_EQ(r->size, 64 * MiB);
  EXPECT_EQ(*r->offset, 0x7b000000u);
  EXPECT_EQ(r->parameter, "crashkernel=64M@0x7b000000");
  EXPECT_FALSE(r->high);
}

TEST(CrashkernelTest, CmdlineHighAndLow) {
  auto both = ParseCrashkernelCmdline("crashkernel=512M,high crashkernel=72M,low", 16 * GiB);
  ASSERT_TRUE(both.ok()) << both.error();
  EXPECT_TRUE(both->present);
  EXPECT_TRUE(both->high);
  EXPECT_EQ(both->size, 512 * MiB);
  EXPECT_EQ(both->low_size, 72 * MiB);

  auto default_low = ParseCrashkernelCmdline("crashkernel=512M,high", 16 * GiB);
  ASSERT_TRUE(default_low.ok()) << default_low.error();
  EXPECT_EQ(default_low->low_size, 128 * MiB);

  // A plain crashkernel= comes first; ,high is then ignored.
  auto plain = ParseCrashkernelCmdline("crashkernel=512M,high crashkernel=256M", 16 * GiB);
  ASSERT_TRUE(plain.ok()) << plain.error();
  EXPECT_FALSE(plain->high);
  EXPECT_EQ(plain->size, 256 * MiB);
  EXPECT_NE(plain->note.find("crashkernel=512M,high is ignored"), std::string::npos) << plain->note;

  // 32-bit Arm has no ,high.
  auto arm = ParseCrashkernelCmdline("crashkernel=64M,high", 2 * GiB, {.has_high_low = false});
  ASSERT_TRUE(arm.ok()) << arm.error();
  EXPECT_FALSE(arm->present);
  EXPECT_NE(arm->note.find("no crashkernel=...,high"), std::string::npos) << arm->note;

  // ,low alone does nothing.
  auto low_only = ParseCrashkernelCmdline("crashkernel=128M,low", 16 * GiB);
  ASSERT_TRUE(low_only.ok()) << low_only.error();
  EXPECT_FALSE(low_only->present);
  EXPECT_FALSE(low_only->note.empty());

  auto cma = ParseCrashkernelCmdline("crashkernel=64M crashkernel=256M,cma", 16 * GiB);
  ASSERT_TRUE(cma.ok()) << cma.error();
  EXPECT_EQ(cma->size, 64 * MiB);
  EXPECT_EQ(cma->cma_size, 256 * MiB);
}

TEST(CrashkernelTest, CmdlineWithoutOrWithBadCrashkernel) {
  auto none = ParseCrashkernelCmdline("console=ttyS0 foo_crashkernel=64M root=/dev/vda1", GiB);
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_FALSE(none->present);
  EXPECT_EQ(none->size, 0u);

  auto empty = ParseCrashkernelCmdline("", GiB);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->present);

  auto bad = ParseCrashkernelCmdline("quiet crashkernel=64Q", GiB);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("crashkernel=64Q"), std::string::npos) << bad.error();

  // Ranges that match nothing: present, but size 0 and a note.
  auto nothing = ParseCrashkernelCmdline("crashkernel=2G-:256M", GiB);
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->present);
  EXPECT_EQ(nothing->size, 0u);
  EXPECT_FALSE(nothing->note.empty());
}

std::string ReadFixture(const std::string& relative) {
  std::ifstream in(std::string(SALVAGE_TEST_SOURCE_DATA_DIR) + "/" + relative, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CrashkernelTest, FixtureCommandLinesMatchTheirReservations) {
  struct Case {
    const char* tree;
    bool has_high_low;
    uint64_t size;
    std::optional<uint64_t> offset;
  };
  const Case cases[] = {
      {"proc-arm64-virt", true, 64 * MiB, std::nullopt},
      {"proc-armhf-virt", false, 64 * MiB, std::nullopt},  // 512M-2G:64M,2G-:128M on 1 GiB
      {"proc-riscv64-virt", true, 64 * MiB, 0xbb000000},
  };
  for (const Case& c : cases) {
    const std::string cmdline = ReadFixture(std::string(c.tree) + "/proc/cmdline");
    ASSERT_FALSE(cmdline.empty()) << c.tree;
    auto r = ParseCrashkernelCmdline(cmdline, GiB, {.has_high_low = c.has_high_low});
    ASSERT_TRUE(r.ok()) << c.tree << ": " << r.error();
    EXPECT_TRUE(r->present) << c.tree;
    EXPECT_EQ(r->size, c.size) << c.tree;
    EXPECT_EQ(r->offset, c.offset) << c.tree;
  }
}

TEST(CrashkernelTest, Advice) {
  EXPECT_EQ(RoundUpToMiB(0), 0u);
  EXPECT_EQ(RoundUpToMiB(1), MiB);
  EXPECT_EQ(RoundUpToMiB(40 * MiB), 40 * MiB);
  EXPECT_EQ(RoundUpToMiB(40 * MiB + 1), 41 * MiB);
  EXPECT_EQ(CrashkernelArgument(40 * MiB), "crashkernel=40M");
  EXPECT_EQ(CrashkernelArgument(40 * MiB - 4096), "crashkernel=40M");
  EXPECT_EQ(CrashkernelArgument(40 * MiB + 1), "crashkernel=41M");

  EXPECT_EQ(CrashkernelAdvice(40 * MiB, 0),
            "no memory is reserved for a crash kernel: add crashkernel=40M to the kernel command line and reboot");
  EXPECT_EQ(CrashkernelAdvice(40 * MiB + 1, 32 * MiB),
            "the crash kernel reservation is 32 MiB and salvage needs 41 MiB: add crashkernel=41M to the kernel "
            "command line (in place of the crashkernel= there now) and reboot");
  EXPECT_EQ(CrashkernelAdvice(40 * MiB, 40 * MiB), "");
  EXPECT_EQ(CrashkernelAdvice(40 * MiB, 64 * MiB), "");
  // The advice round-trips through the parser.
  EXPECT_EQ(Ok(CrashkernelArgument(40 * MiB + 1).substr(12), GiB).size, 41 * MiB);
}

}  // namespace
}  // namespace salvage::loader::proc
