// Tests for loader/board/load/state: the state file written by salvage load, read by status and
// unload: round trip, atomic write into a new directory, errors, and removal.
#include "board/load/state.h"

#include <gtest/gtest.h>

#include <string>

#include "load-test-util.h"

namespace salvage::loader::load {
namespace {

LoadState Example() {
  LoadState s;
  s.loaded_at = 1700000000;
  s.boot_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  s.arch = "aarch64";
  s.image = "/usr/lib/salvage/salvage.img";
  s.purgatory = "/usr/lib/salvage/purgatory.bin";
  s.dtb = "/sys/firmware/fdt";
  s.options = "salvage.sink=uart salvage.after=poweroff";
  s.append = "salvage.debug=report";
  s.reservation = {0x7b000000, 0x4000000};
  s.entry = 0x7b0a9000;
  s.segments = {{"image", 0x7b000000, 0x2bcd0, 0xa9000, std::string(64, 'a')},
                {"elfcorehdr", 0x7efff000, 0x400, 0x1000, std::string(64, 'b')}};
  return s;
}

TEST(StateTest, RoundTrip) {
  const LoadState s = Example();
  const std::string text = FormatState(s);
  EXPECT_NE(text.find("options=salvage.sink=uart salvage.after=poweroff\n"), std::string::npos);
  EXPECT_NE(text.find("segment=image 0x7b000000 0x2bcd0 0xa9000 aaaa"), std::string::npos);
  auto back = ParseState(text, "state");
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->loaded_at, s.loaded_at);
  EXPECT_EQ(back->boot_id, s.boot_id);
  EXPECT_EQ(back->arch, s.arch);
  EXPECT_EQ(back->image, s.image);
  EXPECT_EQ(back->purgatory, s.purgatory);
  EXPECT_EQ(back->dtb, s.dtb);
  EXPECT_EQ(back->options, s.options);
  EXPECT_EQ(back->append, s.append);
  EXPECT_EQ(back->reservation, s.reservation);
  EXPECT_EQ(back->entry, s.entry);
  ASSERT_EQ(back->segments.size(), 2u);
  EXPECT_EQ(back->segments[1].name, "elfcorehdr");
  EXPECT_EQ(back->segments[1].memsz, 0x1000u);
  EXPECT_EQ(back->segments[1].sha256, std::string(64, 'b'));
}

TEST(StateTest, UnknownKeysAreIgnoredAndErrorsNameTheLine) {
  auto r = ParseState("version=1\nloaded_at=5\nfuture_key=x\n", "s");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->loaded_at, 5);
  EXPECT_EQ(ParseState("version=2\nloaded_at=5\n", "s").error(), "s:1: state file version 2: this salvage knows 1");
  EXPECT_EQ(ParseState("loaded_at=5\nsegment=image 0x1\n", "s").error(),
            "s:2: expected segment=NAME ADDR BUFSZ MEMSZ SHA256");
  EXPECT_EQ(ParseState("hello\n", "s").error(), "s:1: expected key=value");
  EXPECT_EQ(ParseState("version=1\n", "s").error(), "s: no loaded_at: not a salvage state file");
}

TEST(StateTest, WriteReadRemove) {
  testing::Scratch root;
  const std::string path = StatePath(root.path());
  EXPECT_EQ(path, root.path() + "/run/salvage/loaded");
  auto none = ReadStateFile(path);
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_EQ(none->loaded_at, 0);
  auto w = WriteStateFile(path, Example());
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_FALSE(root.Has("/run/salvage/loaded.tmp"));
  auto r = ReadStateFile(path);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->image, "/usr/lib/salvage/salvage.img");
  auto removed = RemoveStateFile(path);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  auto again = RemoveStateFile(path);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
}

TEST(StateTest, FormatTime) { EXPECT_EQ(FormatTime(1700000000), "2023-11-14 22:13:20 UTC"); }

}  // namespace
}  // namespace salvage::loader::load
