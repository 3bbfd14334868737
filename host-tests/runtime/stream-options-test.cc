// FormatStreamOptions (runtime/options.h): the options text a stream header records.
// Regression (issue #10): the capture recorded "salvage.sink=uart" whatever the sink was,
// so `salvage inspect` reported uart for dumps written to a disk.
#include <gtest/gtest.h>

#include <string>

#include "options.h"

namespace salvage {
namespace {

std::string Format(const Options& o, size_t room = 256) {
  std::string buf(room, '?');
  const size_t n = FormatStreamOptions(o, std::span<char>(buf.data(), buf.size()));
  EXPECT_LE(n, room);
  return buf.substr(0, n);
}

TEST(FormatStreamOptions, Uart) {
  EXPECT_EQ(Format(ParseOptions("")), "salvage.sink=uart salvage.after=poweroff");
  EXPECT_EQ(Format(ParseOptions("salvage.after=reboot")), "salvage.sink=uart salvage.after=reboot");
}

TEST(FormatStreamOptions, BlockSinksNameTheirTarget) {
  EXPECT_EQ(Format(ParseOptions("", "salvage.sink=virtio-blk salvage.target=gpt-name:dump salvage.after=halt")),
            "salvage.sink=virtio-blk salvage.target=gpt-name:dump salvage.after=halt");
  EXPECT_EQ(Format(ParseOptions("", "salvage.sink=sd@0x3f300000 salvage.target=extents:2048+8192")),
            "salvage.sink=sd@0x3f300000 salvage.target=extents:2048+8192 salvage.after=poweroff");
  EXPECT_EQ(Format(ParseOptions("", "salvage.sink=virtio-blk@0xa003e00 salvage.target=mbr:2")),
            "salvage.sink=virtio-blk@0xa003e00 salvage.target=mbr:2 salvage.after=poweroff");
}

TEST(FormatStreamOptions, WordsThatDoNotFitAreLeftOut) {
  const Options o = ParseOptions("", "salvage.sink=virtio-blk salvage.target=gpt-name:dump");
  EXPECT_EQ(Format(o, 23), "salvage.sink=virtio-blk");
  EXPECT_EQ(Format(o, 50), "salvage.sink=virtio-blk salvage.after=poweroff");
  EXPECT_EQ(Format(o, 10), "");
  EXPECT_EQ(Format(o, 0), "");
}

}  // namespace
}  // namespace salvage
