// Tests for `salvage load --sink sd-file` end to end: the arm64 fixture tree with a
// Raspberry Pi 3's SD card in its sysfs (dump-file-test-util.h), the Pi 3 DTB of
// host-tests/data/raspi3b-sd.dts, a fake kernel and a fake file system. The file is made
// at the size of the tree's RAM, its extents reach /chosen/salvage,options of the DTB
// kexec_load gets, where the image's own parsers read salvage.sink=sd@0x3f202000 and the
// extents; the summary names the file; a dry run makes nothing; the refusals (no such
// controller in the DTB, --target, --file without sd-file) come before any write.
#include <gtest/gtest.h>
#include <libfdt.h>

#include <cstring>
#include <string>
#include <vector>

#include <salvage/blockdump/target.h>

#include "dump-file-test-util.h"
#include "board/load/command.h"
#include "board/load/load.h"
#include "board/load/state.h"
#include "options.h"

namespace salvage::loader::load {
namespace {

using testing::Capture;
using testing::FakeFiles;
using testing::FakeKernel;
using testing::kMiB;
using testing::Scratch;

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string ChosenOptions(const std::vector<uint8_t>& dtb) {
  std::vector<uint64_t> words((dtb.size() + 7) / 8);
  std::memcpy(words.data(), dtb.data(), dtb.size());
  const int chosen = fdt_path_offset(words.data(), "/chosen");
  const char* v = static_cast<const char*>(fdt_getprop(words.data(), chosen, "salvage,options", nullptr));
  return v ? v : "<absent>";
}

class SdFileLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::MakePiSysfs(root_);
    files_.dirs = {root_.path(), root_.At("/var")};
    files_.piece = 256 * kMiB;  // a few extents
    kernel_.files = &files_;
    blobs_ = testing::BlobsFor("aarch64", root_);
  }
  LoadSettings Settings(bool dry_run) const {
    LoadSettings s;
    s.root = root_.path();
    s.arch = "aarch64";
    s.dry_run = dry_run;
    s.choices.image = blobs_.image;
    s.choices.purgatory = blobs_.purgatory;
    s.choices.dtb = testing::CompiledDtb("raspi3b-sd");
    s.choices.sink = "sd-file";
    s.choices.after = "reboot";
    return s;
  }
  int Run(const LoadSettings& s) {
    Capture out, err;
    const int rc = RunLoad(s, kernel_, out.file(), err.file());
    out_ = out.text();
    err_ = err.text();
    return rc;
  }

  Scratch root_{"proc-arm64-virt"};
  FakeFiles files_;
  FakeKernel kernel_{root_.path()};
  testing::Blobs blobs_;
  std::string out_, err_;
};

TEST_F(SdFileLoadTest, TheFilesExtentsReachTheImage) {
  ASSERT_EQ(Run(Settings(false)), 0) << err_;
  const std::string file = root_.At("/var/crash/salvage.dump");
  ASSERT_EQ(files_.fills.size(), 1u);
  const uint64_t size = files_.fills[0].size;
  EXPECT_EQ(size % kMiB, 0u);
  EXPECT_TRUE(files_.files.at(file).immutable);
  EXPECT_EQ(files_.made_dirs, std::vector<std::string>{root_.At("/var/crash")});

  // The file holds the tree's RAM (1 GiB of System RAM minus the 64 MiB reservation)
  // uncompressed: 245760 pages of 4144 bytes at most (971 MiB), the header record's
  // copies of docs/stream-format.md §4.6 (one a MiB: about 9 MiB), and the rest.
  EXPECT_EQ(size, 981 * kMiB);

  ASSERT_EQ(kernel_.calls.size(), 1u);
  const std::string words = ChosenOptions(kernel_.calls[0].bytes[2]);
  const std::string expected_target = "extents:" + std::to_string(532480 + 0x40000000 / 512) + "+524288," +
                                      std::to_string(532480 + (0x40000000 + 257 * kMiB) / 512) + "+524288,";
  EXPECT_EQ(words.rfind("salvage.sink=sd@0x3f202000 salvage.target=" + expected_target, 0), 0u) << words;
  EXPECT_TRUE(Has(words, " salvage.after=reboot")) << words;

  // What the image reads from them.
  const Options o = ParseOptions("", words);
  EXPECT_EQ(o.sink, SinkKind::kSd);
  ASSERT_TRUE(o.sink_address);
  EXPECT_EQ(*o.sink_address, 0x3f202000u);
  EXPECT_EQ(o.after, AfterAction::kReboot);
  auto spec = blockdump::ParseTarget(o.target);
  ASSERT_TRUE(spec.ok()) << spec.status().what();
  uint64_t sectors = 0;
  for (size_t i = 0; i < spec->extents.size; ++i) sectors += spec->extents.items[i].count;
  EXPECT_EQ(sectors * 512, size);
  EXPECT_EQ(spec->extents.size, (size + 256 * kMiB - 1) / (256 * kMiB));

  EXPECT_TRUE(Has(out_, "  dump file   /var/crash/salvage.dump: " + std::to_string(size / kMiB) +
                            " MiB on /dev/mmcblk0p2 (ext4), " + std::to_string(spec->extents.size) +
                            " extents, created now, immutable (chattr -i to delete it)\n"))
      << out_;
  EXPECT_TRUE(Has(out_, "salvage is ready: after a panic it will write the crashed kernel's memory into the dump "
                        "file /var/crash/salvage.dump on the SD card (/dev/mmcblk0p2, bcm2835-sdhost at "
                        "0x3f202000); after the reboot, salvage extract /var/crash/salvage.dump -o vmcore reads it, "
                        "then reboot.\n"))
      << out_;
  auto state = ReadStateFile(StatePath(root_.path()));
  ASSERT_TRUE(state.ok()) << state.error();
  EXPECT_EQ(state->options, words);

  // Loaded again (salvage.service at the next boot): the file is reused, not rewritten.
  ASSERT_EQ(Run(Settings(false)), 0) << err_;
  EXPECT_EQ(files_.fills.size(), 1u);
  ASSERT_EQ(kernel_.calls.size(), 2u);
  EXPECT_EQ(ChosenOptions(kernel_.calls[1].bytes[2]), words);
  EXPECT_TRUE(Has(out_, " extents, immutable (chattr -i to delete it)\n")) << out_;
}

TEST_F(SdFileLoadTest, ADryRunMakesNothingAndSaysWhatItWouldDo) {
  LoadSettings s = Settings(true);
  s.out = root_.At("/out");
  s.choices.file = "/var/crash/other.dump";
  s.choices.file_size = "512M";
  ASSERT_EQ(Run(s), 0) << err_;
  EXPECT_TRUE(files_.fills.empty());
  EXPECT_TRUE(files_.made_dirs.empty());
  EXPECT_TRUE(kernel_.calls.empty());
  EXPECT_TRUE(Has(out_, "  dump file   /var/crash/other.dump: 512 MiB on /dev/mmcblk0p2 (ext4), would be created "
                        "(512 MiB of zeros); its extents are known only then; the whole dump may need 981 MiB: the pages that do not fit are left "
                        "out (truncated)\n"))
      << out_;
  EXPECT_TRUE(Has(out_, "  options     salvage.sink=sd@0x3f202000 salvage.target=" + std::string(kDryRunTarget) +
                            " salvage.after=reboot\n"))
      << out_;
  EXPECT_TRUE(Has(err_, "warning: the whole dump may need ")) << err_;
}

TEST_F(SdFileLoadTest, TheDtbMustHaveTheCardsController) {
  LoadSettings s = Settings(false);
  s.choices.dtb = testing::CompiledDtb("virt-aarch64");
  ASSERT_EQ(Run(s), 1);
  EXPECT_TRUE(Has(err_, "salvage load: error: the SD card (/dev/mmcblk0) is on the host controller 3f202000.mmc, but " +
                            testing::CompiledDtb("virt-aarch64") +
                            " has no enabled SD host controller at 0x3f202000 that salvage drives"))
      << err_;
  EXPECT_TRUE(files_.fills.empty());
  EXPECT_TRUE(kernel_.calls.empty());
}

TEST_F(SdFileLoadTest, RefusalsComeBeforeAnyWrite) {
  LoadSettings s = Settings(false);
  s.choices.target = "mbr:2";
  ASSERT_EQ(Run(s), 1);
  EXPECT_TRUE(Has(err_, "--target mbr:2 does not go with --sink sd-file: the dump file's blocks are the target"))
      << err_;
  s.choices.target.reset();
  s.choices.file_size = "lots";
  ASSERT_EQ(Run(s), 1);
  EXPECT_TRUE(Has(err_, "--file-size lots: give auto or a size")) << err_;
  s.choices.file_size.reset();
  files_.dev_major = 8;
  files_.dev_minor = 1;
  ASSERT_EQ(Run(s), 1);
  EXPECT_TRUE(Has(err_, "/var/crash/salvage.dump is on /dev/sda1 (not the SD card)")) << err_;
  files_.dev_major = 179;
  files_.dev_minor = 2;
  files_.fs.magic = 0x9123683E;
  ASSERT_EQ(Run(s), 1);
  EXPECT_TRUE(Has(err_, "is on btrfs: its blocks move")) << err_;
  EXPECT_TRUE(files_.fills.empty());
  EXPECT_TRUE(kernel_.calls.empty());
}

TEST(SdFileCommandTest, OptionsAndConfiguration) {
  Scratch root("proc-arm64-virt");
  root.Write("/etc/salvage.conf", "SALVAGE_SINK=sd-file\nSALVAGE_FILE=/data/dump\nSALVAGE_FILE_SIZE=2G\n");
  std::vector<std::string> args = {"--dry-run", "--root", root.path()};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  auto parsed = ParseLoadArgs(static_cast<int>(argv.size()), argv.data());
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->settings.choices.sink.value_or(""), "sd-file");
  EXPECT_EQ(parsed->settings.choices.file.value_or(""), "/data/dump");
  EXPECT_EQ(parsed->settings.choices.file_size.value_or(""), "2G");

  // The command line wins; --file and --file-size need the sd-file sink.
  args = {"--dry-run", "--root", root.path(), "--file", "/var/crash/x", "--file-size", "auto"};
  argv.clear();
  for (std::string& a : args) argv.push_back(a.data());
  parsed = ParseLoadArgs(static_cast<int>(argv.size()), argv.data());
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->settings.choices.file.value_or(""), "/var/crash/x");

  root.Write("/etc/salvage.conf", "SALVAGE_FILE=/data/dump\n");  // ignored without sd-file
  args = {"--dry-run", "--root", root.path()};
  argv.clear();
  for (std::string& a : args) argv.push_back(a.data());
  EXPECT_TRUE(ParseLoadArgs(static_cast<int>(argv.size()), argv.data()).ok());
  args = {"--dry-run", "--root", root.path(), "--file", "/var/crash/x"};
  argv.clear();
  for (std::string& a : args) argv.push_back(a.data());
  auto bad = ParseLoadArgs(static_cast<int>(argv.size()), argv.data());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "--file is for the dump file on the SD card: add --sink sd-file");
  args = {"--config", "/dev/null", "--sink", "sd-file", "--file-size", "12"};
  argv.clear();
  for (std::string& a : args) argv.push_back(a.data());
  bad = ParseLoadArgs(static_cast<int>(argv.size()), argv.data());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "--file-size 12: the dump file needs at least 1 MiB");
  EXPECT_TRUE(Has(kLoadUsage, "--file PATH")) << kLoadUsage;
}

}  // namespace
}  // namespace salvage::loader::load
