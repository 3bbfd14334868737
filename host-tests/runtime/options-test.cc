// Tests for runtime/options (salvage::ParseOptions over /chosen/bootargs).
#include "options.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace salvage {
namespace {

TEST(ParseOptions, EmptyString) {
  const Options o = ParseOptions("");
  EXPECT_FALSE(o.debug_fault);
  EXPECT_EQ(o.unknown_count, 0u);
}

TEST(ParseOptions, OnlyWhitespace) {
  const Options o = ParseOptions(" \t\n  \n");
  EXPECT_FALSE(o.debug_fault);
  EXPECT_EQ(o.unknown_count, 0u);
}

TEST(ParseOptions, DebugFault) {
  const Options o = ParseOptions("salvage.debug=fault");
  EXPECT_TRUE(o.debug_fault);
  EXPECT_EQ(o.unknown_count, 0u);
}

TEST(ParseOptions, LinuxWordsAreIgnored) {
  const Options o =
      ParseOptions("console=ttyAMA0 elfcorehdr=0x8f000000 mem=256M earlycon debug.salvage=1 salvage");
  EXPECT_FALSE(o.debug_fault);
  EXPECT_EQ(o.unknown_count, 0u);
}

TEST(ParseOptions, DebugFaultAmongLinuxWords) {
  const Options o = ParseOptions("console=ttyAMA0 elfcorehdr=0x8f000000 salvage.debug=fault mem=256M");
  EXPECT_TRUE(o.debug_fault);
  EXPECT_EQ(o.unknown_count, 0u);
}

TEST(ParseOptions, TabsNewlinesAndRepeatedSpaces) {
  const Options o = ParseOptions("  console=ttyAMA0\t\tsalvage.debug=fault\n\nsalvage.foo=1   \tsalvage.bar\n");
  EXPECT_TRUE(o.debug_fault);
  ASSERT_EQ(o.unknown_count, 2u);
  EXPECT_EQ(o.unknown[0], "salvage.foo=1");
  EXPECT_EQ(o.unknown[1], "salvage.bar");
}

TEST(ParseOptions, UnknownWordsCollectedInOrder) {
  const Options o = ParseOptions("salvage.zeta=1 mem=1G salvage.alpha salvage.debug=trace salvage.");
  EXPECT_FALSE(o.debug_fault);
  ASSERT_EQ(o.unknown_count, 4u);
  EXPECT_EQ(o.unknown[0], "salvage.zeta=1");
  EXPECT_EQ(o.unknown[1], "salvage.alpha");
  EXPECT_EQ(o.unknown[2], "salvage.debug=trace");
  EXPECT_EQ(o.unknown[3], "salvage.");
}

TEST(ParseOptions, UnknownWordsPointIntoBootargs) {
  const std::string bootargs = "console=ttyS0 salvage.x=1";
  const Options o = ParseOptions(bootargs);
  ASSERT_EQ(o.unknown_count, 1u);
  EXPECT_EQ(o.unknown[0].data(), bootargs.data() + 14);
  EXPECT_EQ(o.unknown[0].size(), 11u);
}

TEST(ParseOptions, ExtraUnknownWordsAreDropped) {
  static_assert(Options::kMaxUnknown == 8);
  std::string bootargs;
  for (int i = 0; i < 12; ++i) bootargs += "salvage.u" + std::to_string(i) + " ";
  bootargs += "salvage.debug=fault";
  const Options o = ParseOptions(bootargs);
  ASSERT_EQ(o.unknown_count, Options::kMaxUnknown);
  for (size_t i = 0; i < Options::kMaxUnknown; ++i)
    EXPECT_EQ(o.unknown[i], "salvage.u" + std::to_string(i)) << "slot " << i;
  // A known option after the overflow is still honoured.
  EXPECT_TRUE(o.debug_fault);
}

TEST(ParseOptions, FaultWithSuffixIsUnknown) {
  const Options o = ParseOptions("salvage.debug=faultx");
  EXPECT_FALSE(o.debug_fault);
  ASSERT_EQ(o.unknown_count, 1u);
  EXPECT_EQ(o.unknown[0], "salvage.debug=faultx");
}

TEST(ParseOptions, OtherDebugSpellingsAreUnknown) {
  const Options o = ParseOptions("salvage.debug=faul salvage.debug= salvage.debug Salvage.debug=fault");
  EXPECT_FALSE(o.debug_fault);
  ASSERT_EQ(o.unknown_count, 3u);
  EXPECT_EQ(o.unknown[0], "salvage.debug=faul");
  EXPECT_EQ(o.unknown[1], "salvage.debug=");
  EXPECT_EQ(o.unknown[2], "salvage.debug");
}

TEST(ParseOptions, PrefixedWordIsNotAnOption) {
  const Options o = ParseOptions("xsalvage.debug=fault");
  EXPECT_FALSE(o.debug_fault);
  EXPECT_EQ(o.unknown_count, 0u);
}

TEST(ParseOptions, ViewIsNotNulTerminated) {
  // The bootargs view may end before the buffer does: words must stop at its end.
  const char buf[] = "salvage.debug=faultXYZ";
  const Options o = ParseOptions(std::string_view(buf, 19));
  EXPECT_TRUE(o.debug_fault);
  EXPECT_EQ(o.unknown_count, 0u);
}

TEST(ParseOptions, RepeatedDebugFault) {
  const Options o = ParseOptions("salvage.debug=fault salvage.debug=fault");
  EXPECT_TRUE(o.debug_fault);
  EXPECT_EQ(o.unknown_count, 0u);
}

}  // namespace
}  // namespace salvage
