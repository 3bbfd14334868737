// Tests for elfcorehdr= / mem= in runtime/options.cc (Linux memparse syntax).
#include <gtest/gtest.h>
#include <string>

#include "options.h"

namespace salvage {
namespace {

TEST(ParseMemSize, DecimalHexOctalAndSuffixes) {
  EXPECT_EQ(ParseMemSize("4096"), 4096u);
  EXPECT_EQ(ParseMemSize("0x40000000"), 0x40000000u);
  EXPECT_EQ(ParseMemSize("0X1f"), 0x1fu);
  EXPECT_EQ(ParseMemSize("010"), 8u);
  EXPECT_EQ(ParseMemSize("0"), 0u);
  EXPECT_EQ(ParseMemSize("64K"), 64u << 10);
  EXPECT_EQ(ParseMemSize("256m"), 256u << 20);
  EXPECT_EQ(ParseMemSize("2G"), 2ull << 30);
  EXPECT_EQ(ParseMemSize("1T"), 1ull << 40);
  EXPECT_EQ(ParseMemSize("0x10M"), 16ull << 20);
}

TEST(ParseMemSize, RejectsGarbageAndOverflow) {
  EXPECT_FALSE(ParseMemSize(""));
  EXPECT_FALSE(ParseMemSize("K"));
  EXPECT_FALSE(ParseMemSize("12Q"));
  EXPECT_FALSE(ParseMemSize("12MB"));
  EXPECT_FALSE(ParseMemSize("0x"));
  EXPECT_FALSE(ParseMemSize("09"));
  EXPECT_FALSE(ParseMemSize("18446744073709551616"));  // 2^64
  EXPECT_FALSE(ParseMemSize("0x10000000000000000"));
  EXPECT_FALSE(ParseMemSize("17179869184G"));  // 2^34 G overflows
  EXPECT_EQ(ParseMemSize("18446744073709551615"), UINT64_MAX);
}

TEST(ParseOptions, ElfcorehdrAddressOnly) {
  Options o = ParseOptions("console=ttyAMA0 elfcorehdr=0x4ffff000 mem=40960K");
  ASSERT_TRUE(o.elfcorehdr_addr);
  EXPECT_EQ(*o.elfcorehdr_addr, 0x4ffff000u);
  EXPECT_FALSE(o.elfcorehdr_size);
  ASSERT_TRUE(o.mem_size);
  EXPECT_EQ(*o.mem_size, 40960u << 10);
  EXPECT_FALSE(o.mem_start);
}

TEST(ParseOptions, ElfcorehdrSizeAtAddressAndMemAtStart) {
  Options o = ParseOptions("elfcorehdr=4K@0x4ffff000 mem=64M@0x4c000000");
  EXPECT_EQ(o.elfcorehdr_addr, 0x4ffff000u);
  EXPECT_EQ(o.elfcorehdr_size, 4096u);
  EXPECT_EQ(o.mem_size, 64u << 20);
  EXPECT_EQ(o.mem_start, 0x4c000000u);
}

TEST(ParseOptions, MalformedWordsAreCollectedNotApplied) {
  Options o = ParseOptions("elfcorehdr=banana mem=12Q@0x1000");
  EXPECT_FALSE(o.elfcorehdr_addr);
  EXPECT_FALSE(o.mem_size);
  ASSERT_EQ(o.malformed_count, 2u);
  EXPECT_EQ(o.malformed[0], "elfcorehdr=banana");
  EXPECT_EQ(o.malformed[1], "mem=12Q@0x1000");
}

TEST(ParseOptions, CarriageReturnAndNulSeparateWords) {
  const char args[] = "salvage.debug=fault\r\nelfcorehdr=0x1000";
  Options o = ParseOptions(std::string_view(args, sizeof(args)));  // includes the NUL
  EXPECT_TRUE(o.debug_fault);
  EXPECT_EQ(o.elfcorehdr_addr, 0x1000u);
  EXPECT_EQ(o.unknown_count, 0u);
}

TEST(ParseOptions, DebugReportStopsAfterTheReport) {
  Options o = ParseOptions("console=ttyS0 salvage.debug=report");
  EXPECT_TRUE(o.debug_report_only);
  EXPECT_FALSE(o.debug_fault);
  EXPECT_EQ(o.unknown_count, 0u);
  EXPECT_FALSE(ParseOptions("salvage.debug=reports").debug_report_only);
}

}  // namespace
}  // namespace salvage

namespace salvage {
namespace {

TEST(ParseOptions, SinkTargetAndAfter) {
  Options o = ParseOptions("salvage.sink=virtio-blk salvage.target=gpt-name:dump salvage.after=reboot");
  EXPECT_EQ(o.sink, SinkKind::kVirtioBlk);
  EXPECT_FALSE(o.sink_address);
  EXPECT_EQ(o.target, "gpt-name:dump");
  EXPECT_EQ(o.after, AfterAction::kReboot);
  EXPECT_EQ(o.malformed_count, 0u);
}

TEST(ParseOptions, SinkWithAddress) {
  Options o = ParseOptions("salvage.sink=virtio-blk@0xa003e00");
  EXPECT_EQ(o.sink, SinkKind::kVirtioBlk);
  EXPECT_EQ(o.sink_address, 0xa003e00u);
}

TEST(ParseOptions, SdSink) {
  Options o = ParseOptions("salvage.sink=sd salvage.target=mbr:1");
  EXPECT_EQ(o.sink, SinkKind::kSd);
  EXPECT_FALSE(o.sink_address);
  EXPECT_EQ(o.target, "mbr:1");
  o = ParseOptions("salvage.sink=virtio-blk@0x1000 salvage.sink=sd@0x3f300000");
  EXPECT_EQ(o.sink, SinkKind::kSd);
  EXPECT_EQ(o.sink_address, 0x3f300000u);
  o = ParseOptions("salvage.sink=sd@0x3f300000 salvage.sink=sd");  // the later word wins, address too
  EXPECT_EQ(o.sink, SinkKind::kSd);
  EXPECT_FALSE(o.sink_address);
  o = ParseOptions("salvage.sink=sd@ salvage.sink=sdcard");
  EXPECT_EQ(o.sink, SinkKind::kUart);
  EXPECT_EQ(o.malformed_count, 2u);
  EXPECT_FALSE(o.debug_sd_busy);
  EXPECT_TRUE(ParseOptions("salvage.debug=sd-busy").debug_sd_busy);
}

TEST(ParseOptions, DefaultsAreUartNoTargetPowerOff) {
  Options o = ParseOptions("console=ttyAMA0");
  EXPECT_EQ(o.sink, SinkKind::kUart);
  EXPECT_EQ(o.target, "");  // no default target: never the whole device by default
  EXPECT_FALSE(o.confirm_whole_disk);
  EXPECT_EQ(o.after, AfterAction::kPowerOff);
  EXPECT_EQ(BlockTargetRefusal(o), nullptr);  // the UART needs no target
}

TEST(BlockTargetRefusal, ABlockSinkWithoutATargetIsRefused) {
  // Issue #10: salvage.sink=sd on a Pi that boots from its card would overwrite it.
  for (const char* sink : {"salvage.sink=virtio-blk", "salvage.sink=virtio-blk@0xa003e00", "salvage.sink=sd",
                           "salvage.sink=sd@0x3f202000"}) {
    SCOPED_TRACE(sink);
    const Options o = ParseOptions(sink);
    EXPECT_EQ(BlockTargetRefusal(o), kMsgNoTarget);
    EXPECT_EQ(BlockTargetRefusal(ParseOptions(std::string(sink) + " salvage.confirm=whole-disk")), kMsgNoTarget);
  }
}

TEST(BlockTargetRefusal, TheWholeDiskNeedsTheConfirmation) {
  EXPECT_EQ(BlockTargetRefusal(ParseOptions("salvage.sink=virtio-blk salvage.target=disk")), kMsgWholeDiskUnconfirmed);
  EXPECT_EQ(BlockTargetRefusal(ParseOptions("salvage.sink=sd salvage.target=disk")), kMsgWholeDiskUnconfirmed);
  const Options o = ParseOptions("salvage.sink=sd salvage.target=disk salvage.confirm=whole-disk");
  EXPECT_TRUE(o.confirm_whole_disk);
  EXPECT_EQ(o.malformed_count, 0u);
  EXPECT_EQ(BlockTargetRefusal(o), nullptr);
  // The confirmation may come from bootargs (kexec -p --append) with the target in
  // salvage,options, or the other way round.
  EXPECT_EQ(BlockTargetRefusal(ParseOptions("salvage.confirm=whole-disk", "salvage.sink=virtio-blk salvage.target=disk")),
            nullptr);
  // Any other confirmation word is malformed and confirms nothing.
  const Options bad = ParseOptions("salvage.sink=sd salvage.target=disk salvage.confirm=yes salvage.confirm=");
  EXPECT_FALSE(bad.confirm_whole_disk);
  EXPECT_EQ(bad.malformed_count, 2u);
  EXPECT_EQ(BlockTargetRefusal(bad), kMsgWholeDiskUnconfirmed);
}

TEST(BlockTargetRefusal, PartitionsAndExtentsNeedNoConfirmation) {
  for (const char* t : {"mbr:1", "gpt-name:dump", "gpt-uuid:5a1a6e00-1234-4abc-8def-0123456789ab", "extents:2048+4096"}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(BlockTargetRefusal(ParseOptions("salvage.sink=virtio-blk salvage.target=" + std::string(t))), nullptr);
  }
}

TEST(ParseOptions, BadSinkTargetAfterAreMalformed) {
  Options o = ParseOptions("salvage.sink=floppy salvage.target= salvage.after=explode salvage.sink=virtio-blk@zz");
  EXPECT_EQ(o.sink, SinkKind::kUart);
  EXPECT_EQ(o.target, "");
  EXPECT_EQ(o.after, AfterAction::kPowerOff);
  ASSERT_EQ(o.malformed_count, 4u);
  EXPECT_EQ(o.malformed[0], "salvage.sink=floppy");
  EXPECT_EQ(o.malformed[3], "salvage.sink=virtio-blk@zz");
}

TEST(ParseOptions, SalvageOptionsPropertyWinsOverBootargs) {
  Options o = ParseOptions("salvage.sink=uart salvage.after=halt elfcorehdr=0x1000",
                           "salvage.sink=virtio-blk salvage.target=mbr:2");
  EXPECT_EQ(o.sink, SinkKind::kVirtioBlk);
  EXPECT_EQ(o.target, "mbr:2");
  EXPECT_EQ(o.after, AfterAction::kHalt);  // only bootargs gave it
  EXPECT_EQ(o.elfcorehdr_addr, 0x1000u);
}

}  // namespace
}  // namespace salvage
