// Tests for loader/board/load/config and the command line of salvage load (command.h): the
// KEY=VALUE file (quotes, comments, export, empty values), its errors with file:line,
// the shipped loader/board/dist/salvage.conf, and the command line winning over the file.
#include "board/load/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "board/load/command.h"
#include "board/load/load.h"
#include "load-test-util.h"

namespace salvage::loader::load {
namespace {

using testing::Scratch;

TEST(ConfigTest, GoodFile) {
  auto c = ParseConfig(
      "# salvage settings\n"
      "\n"
      "USE_SALVAGE=1\n"
      "SALVAGE_SINK=virtio-blk@0xa003e00   # the second disk\n"
      "  SALVAGE_TARGET=\"gpt-name:dump\"\n"
      "export SALVAGE_AFTER='reboot'\n"
      "SALVAGE_APPEND=\"salvage.debug=report  mem=1M\"\n"
      "SALVAGE_IMAGE=/opt/salvage/salvage.img\r\n"
      "SALVAGE_PURGATORY=\n"
      "SALVAGE_DTB=/boot/my\\ board.dtb\n",
      "/etc/salvage.conf");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->enabled, true);
  EXPECT_EQ(c->sink, "virtio-blk@0xa003e00");
  EXPECT_EQ(c->target, "gpt-name:dump");
  EXPECT_EQ(c->after, "reboot");
  EXPECT_EQ(c->append, "salvage.debug=report  mem=1M");
  EXPECT_EQ(c->image, "/opt/salvage/salvage.img");
  EXPECT_FALSE(c->purgatory.has_value());  // empty: the default
  EXPECT_EQ(c->dtb, "/boot/my board.dtb");
}

TEST(ConfigTest, UseSalvage) {
  auto off = ParseConfig("USE_SALVAGE=0\n", "f");
  ASSERT_TRUE(off.ok()) << off.error();
  EXPECT_EQ(off->enabled, false);
  EXPECT_FALSE(ParseConfig("", "f")->enabled.has_value());
  auto bad = ParseConfig("USE_SALVAGE=maybe\n", "f");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "f:1: USE_SALVAGE must be 1 or 0, not \"maybe\"");
}

TEST(ConfigTest, ErrorsNameFileAndLine) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"# ok\nSALVAGE_SNK=uart\n",
       "/etc/salvage.conf:2: unknown key SALVAGE_SNK (salvage knows USE_SALVAGE, SALVAGE_SINK, SALVAGE_TARGET, "
       "SALVAGE_AFTER, SALVAGE_APPEND, SALVAGE_IMAGE, SALVAGE_PURGATORY, SALVAGE_DTB, SALVAGE_FILE, "
       "SALVAGE_FILE_SIZE, SALVAGE_CONFIRM_WHOLE_DEVICE)"},
      {"SALVAGE_CONFIRM_WHOLE_DEVICE=sure\n", "/etc/salvage.conf:1: SALVAGE_CONFIRM_WHOLE_DEVICE must be 1 or 0, not \"sure\""},
      {"USE_KDUMP=1\n", "/etc/salvage.conf:1: unknown key USE_KDUMP (salvage knows"},
      {"\n\nSALVAGE_SINK = uart\n", "/etc/salvage.conf:3: no spaces around '=' (write KEY=VALUE)"},
      {"SALVAGE_SINK uart\n", "/etc/salvage.conf:1: expected KEY=VALUE, found \"SALVAGE_SINK uart\""},
      {"just words\n", "/etc/salvage.conf:1: expected KEY=VALUE, found \"just words\""},
      {"SALVAGE_APPEND=\"a b\n", "/etc/salvage.conf:1: SALVAGE_APPEND: the double quote is not closed"},
      {"SALVAGE_APPEND='a b\n", "/etc/salvage.conf:1: SALVAGE_APPEND: the single quote is not closed"},
      {"SALVAGE_APPEND=a b\n", "/etc/salvage.conf:1: SALVAGE_APPEND: more than one word after '='"},
      {"SALVAGE_IMAGE=$HOME/x\n", "/etc/salvage.conf:1: SALVAGE_IMAGE: salvage does not expand $"},
      {"SALVAGE_SINK=uart\nSALVAGE_SINK=virtio-blk\n", "/etc/salvage.conf:2: SALVAGE_SINK is set a second time"},
  };
  for (const Case& c : cases) {
    auto r = ParseConfig(c.text, "/etc/salvage.conf");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().substr(0, std::string(c.error).size()), c.error) << r.error();
  }
}

TEST(ConfigTest, ShippedFileParsesToDefaults) {
  const std::string path = std::string(SALVAGE_TEST_SOURCE_DATA_DIR) + "/../../loader/board/dist/salvage.conf";
  const std::string text = testing::ReadFile(path);
  ASSERT_FALSE(text.empty()) << path;
  auto c = ParseConfig(text, path);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->enabled, true);
  EXPECT_FALSE(c->sink || c->target || c->after || c->append || c->image || c->purgatory || c->dtb);
}

TEST(ConfigTest, MergeCommandLineWins) {
  Choices cli, file;
  cli.sink = "uart";
  file.sink = "virtio-blk";
  file.after = "halt";
  file.enabled = false;
  const Choices m = Merge(cli, file);
  EXPECT_EQ(m.sink, "uart");
  EXPECT_EQ(m.after, "halt");
  EXPECT_EQ(m.enabled, false);
}

// argv from a list of strings.
struct Argv {
  explicit Argv(std::vector<std::string> a) : args(std::move(a)) {
    for (std::string& s : args) ptrs.push_back(s.data());
  }
  int argc() { return static_cast<int>(ptrs.size()); }
  char** argv() { return ptrs.data(); }
  std::vector<std::string> args;
  std::vector<char*> ptrs;
};

TEST(LoadArgsTest, ConfigUnderRootAndCommandLineOverride) {
  Scratch root;
  root.Write("/etc/salvage.conf", "SALVAGE_SINK=virtio-blk\nSALVAGE_TARGET=mbr:2\nSALVAGE_AFTER=halt\n");
  Argv a({"--dry-run", "--root", root.path(), "--after", "reboot", "--append", "salvage.debug=report", "--append",
          "mem=2M", "--elf32", "-v"});
  auto r = ParseLoadArgs(a.argc(), a.argv());
  ASSERT_TRUE(r.ok()) << r.error();
  const LoadSettings& s = r->settings;
  EXPECT_EQ(s.choices.sink, "virtio-blk");  // from the file
  EXPECT_EQ(s.choices.target, "mbr:2");
  EXPECT_EQ(s.choices.after, "reboot");  // the command line wins
  EXPECT_EQ(s.choices.append, "salvage.debug=report mem=2M");
  EXPECT_EQ(s.elf_class, elfcorehdr::ElfClass::k32);
  EXPECT_TRUE(s.dry_run);
  EXPECT_TRUE(s.verbose);
}

TEST(LoadArgsTest, ConfirmWholeDevice) {
  Scratch root;
  Argv a({"--dry-run", "--root", root.path(), "--sink", "sd", "--target", "disk", "--confirm-whole-device"});
  auto r = ParseLoadArgs(a.argc(), a.argv());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->settings.choices.confirm_whole_device, true);
  EXPECT_EQ(r->settings.choices.target, "disk");
}

TEST(LoadArgsTest, ExplicitConfigAndItsErrors) {
  Scratch dir;
  dir.Write("/my.conf", "SALVAGE_AFTER=halt\nBOGUS=1\n");
  Argv a({"--config", dir.At("/my.conf")});
  auto r = ParseLoadArgs(a.argc(), a.argv());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().substr(0, dir.At("/my.conf").size() + 21), dir.At("/my.conf") + ":2: unknown key BOGUS");

  Argv missing({"--config", dir.At("/none.conf")});
  auto m = ParseLoadArgs(missing.argc(), missing.argv());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().find("No such file"), std::string::npos) << m.error();
}

TEST(LoadArgsTest, UsageErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--frobnicate"}, "unknown option --frobnicate"},
      {{"extra"}, "unexpected argument extra"},
      {{"--sink"}, "--sink needs uart, virtio-blk[@ADDR], sd[@ADDR] or sd-file"},
      {{"--arch", "x86_64"}, "--arch x86_64: salvage has images for aarch64, arm and riscv64"},
      {{"--root", "/tmp"}, "--root /tmp describes another system: use it with --dry-run"},
      {{"--out", "/tmp/x"}, "--out writes the segments of a dry run: add --dry-run"},
  };
  for (const auto& [args, error] : cases) {
    Argv a(args);
    auto r = ParseLoadArgs(a.argc(), a.argv());
    ASSERT_FALSE(r.ok()) << args[0];
    EXPECT_EQ(r.error(), error);
  }
  Argv help({"--sink", "uart", "--help"});
  auto h = ParseLoadArgs(help.argc(), help.argv());
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->help);
}

TEST(LoadArgsTest, CommandsPrintUsageAndExit2) {
  testing::FakeKernel kernel;
  testing::Capture out, err;
  Argv bad({"--bogus"});
  EXPECT_EQ(LoadCommand(bad.argc(), bad.argv(), kernel, out.file(), err.file()), 2);
  EXPECT_NE(err.text().find("try 'salvage load --help'"), std::string::npos);
  Argv help({"--help"});
  EXPECT_EQ(LoadCommand(help.argc(), help.argv(), kernel, out.file(), err.file()), 0);
  EXPECT_NE(out.text().find("usage: salvage load [options]"), std::string::npos);
  Argv unload_root({"--root", "/tmp"});
  testing::Capture e2;
  EXPECT_EQ(UnloadCommand(unload_root.argc(), unload_root.argv(), kernel, out.file(), e2.file()), 2);
  EXPECT_TRUE(kernel.calls.empty());
  Argv status_bad({"--dry-run"});
  EXPECT_EQ(StatusCommand(status_bad.argc(), status_bad.argv(), out.file(), e2.file()), 2);
}

TEST(LoadArgsTest, HelpMentionsEveryOption) {
  const std::string usage = kLoadUsage;
  for (const char* opt : {"--sink", "--target", "--after", "--append", "--image", "--purgatory", "--dtb", "--config",
                          "--elf32", "--elf64", "--arch", "--dry-run", "--out", "--root", "--verbose", "--help"}) {
    EXPECT_NE(usage.find(opt), std::string::npos) << opt;
  }
}

TEST(ConfigTest, ConfirmWholeDevice) {
  auto c = ParseConfig("SALVAGE_SINK=virtio-blk\nSALVAGE_TARGET=disk\nSALVAGE_CONFIRM_WHOLE_DEVICE=1\n", "f");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->confirm_whole_device, true);
  Choices cli;
  EXPECT_EQ(Merge(cli, *c).confirm_whole_device, true);
  auto off = ParseConfig("SALVAGE_CONFIRM_WHOLE_DEVICE=0\n", "f");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->confirm_whole_device, false);
  EXPECT_FALSE(ParseConfig("SALVAGE_CONFIRM_WHOLE_DEVICE=\n", "f")->confirm_whole_device);
}

}  // namespace
}  // namespace salvage::loader::load
