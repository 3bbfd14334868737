// The SD-card dump file from both ends: salvage load's extents (CardExtentsFromMap of a
// file scattered over a partition) given to the image as salvage.target=extents:..., the
// image's BlockSink writing a dump into those card sectors (the RAM-disk card, the real
// Encoder), and after the "reboot" the file's bytes (read back through the same extents)
// given to `salvage extract FILE`: a complete vmcore with every page. A file of zeros
// (no crash yet) says "no dump"; and salvage load at the next boot keeps the dump.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "dump-file-test-util.h"
#include "workstation/extract/extract.h"
#include "common/exit-codes.h"
#include "common/text.h"
#include "board/load/dump-file.h"
#include "loader/workstation/vmcore-test-util.h"
#include "runtime/blockdump/dump-test-util.h"
#include "runtime/blockdump/ram-disk.h"
#include "salvage/blockdump/sink.h"
#include "salvage/blockdump/target.h"

namespace salvage::loader::load {
namespace {

using blockdump::test::RamDisk;
using testing::kMiB;

constexpr uint64_t kPartitionStart = 2048;        // sectors of the card
constexpr uint64_t kPartitionSectors = 120000;    // ~58 MiB

struct Extracted {
  int rc = -1;
  std::string log;
};

Extracted RunExtract(const std::string& source, const std::string& output) {
  ExtractOptions o;
  o.source = source;
  o.output = output;
  o.progress = false;
  Extracted out;
  ::testing::internal::CaptureStderr();
  out.rc = Extract(o);
  out.log = ::testing::internal::GetCapturedStderr();
  return out;
}

class DumpFileExtractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memory_ = stream::test::MakeMemory({{0x40000000, 2 * kMiB}, {0x40400000, kMiB + 0x5000}}, 4096, 11);
    DumpSizeInput in;
    in.ram = memory_.ranges;
    in.note_bytes = {stream::test::SampleNote().size(), stream::test::SampleVmcoreinfo().size()};
    in.segment_count = 1;
    size_ = DumpFileSize(in).file_bytes;  // 4 MiB
    // The file as FIEMAP would report it: three pieces, out of order on the partition
    // (offsets in bytes from the partition's start), and a preallocated tail past the end.
    map_ = {
        {0, 20 * kMiB, kMiB, 0},
        {kMiB, 5 * kMiB, 2 * kMiB, 0},
        {3 * kMiB, 40 * kMiB, size_ - 3 * kMiB, 0},
        {size_, 50 * kMiB, kMiB, fiemap::kLast},
    };
    card_.partition = "mmcblk0p2";
    card_.disk = "mmcblk0";
    card_.start = kPartitionStart;
    card_.sectors = kPartitionSectors;
  }

  /// The file's bytes after the reboot: read through its extents from the card.
  std::vector<uint8_t> FileBytes(const RamDisk& disk) const {
    std::vector<uint8_t> f(size_);
    for (const FileExtent& e : map_) {
      if (e.logical >= size_) continue;
      const auto b = disk.Bytes(kPartitionStart + e.physical / 512, e.length);
      std::copy(b.begin(), b.end(), f.begin() + static_cast<std::ptrdiff_t>(e.logical));
    }
    return f;
  }

  stream::test::FakeMemory memory_;
  uint64_t size_ = 0;
  std::vector<FileExtent> map_;
  SdCardDevice card_;
  test::TempDir dir_;
};

TEST_F(DumpFileExtractTest, TheImageWritesTheFileAndExtractReadsIt) {
  ASSERT_EQ(size_, 4 * kMiB);
  auto extents = CardExtentsFromMap(map_, size_, card_, "/var/crash/salvage.dump");
  ASSERT_TRUE(extents.ok()) << extents.error();
  ASSERT_EQ(extents->size(), 3u);
  const std::string target = ExtentsTarget(*extents);
  EXPECT_EQ(target, "extents:43008+2048,12288+4096,83968+2048");

  // The image: salvage.target=extents:... resolved on the card, the dump written there.
  RamDisk disk(kPartitionStart + kPartitionSectors + 1000);
  auto spec = blockdump::ParseTarget(target);
  ASSERT_TRUE(spec.ok()) << spec.status().what();
  std::vector<uint8_t> scratch(4096);
  auto resolved = blockdump::ResolveTarget(disk, *spec, scratch);
  ASSERT_TRUE(resolved.ok()) << resolved.status().what();
  blockdump::test::AlignedMemory mem(blockdump::BlockSinkMemoryBytes(4, 64 * 1024));
  blockdump::BlockSink sink(disk, *resolved, mem.span(), 64 * 1024);
  ASSERT_TRUE(sink.Begin().ok());
  stream::test::TestLz4 lz4;
  const blockdump::test::Capture c = blockdump::test::CaptureTo(sink, memory_, lz4, {.stream_id = 0x5d5d});
  ASSERT_TRUE(c.status.ok()) << c.status.what();
  ASSERT_FALSE(c.stopped_early);
  // Nothing outside the file's sectors was written.
  for (const auto& w : disk.writes) {
    bool inside = false;
    for (const CardExtent& e : *extents) inside = inside || (w.lba >= e.first && w.lba + w.sectors <= e.first + e.count);
    EXPECT_TRUE(inside) << "write at LBA " << w.lba;
  }

  // After the reboot: salvage extract /var/crash/salvage.dump.
  const std::string file = dir_.File("salvage.dump");
  test::WriteFile(file, FileBytes(disk));
  const std::string vmcore = dir_.File("vmcore");
  const Extracted r = RunExtract(file, vmcore);
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("complete"), std::string::npos) << r.log;
  const std::vector<uint8_t> core = test::ReadFile(vmcore);
  const test::Core parsed = test::ParseCore(core);
  ASSERT_TRUE(parsed.ok);
  std::set<uint64_t> seen;
  for (const auto& ph : parsed.Loads()) {
    for (uint64_t off = 0; off + 4096 <= ph.filesz; off += 4096) {
      const uint64_t phys = ph.paddr + off;
      auto it = memory_.pages.find(phys);
      ASSERT_NE(it, memory_.pages.end()) << std::hex << phys;
      EXPECT_TRUE(test::Bytes(core, ph.offset + off, 4096) == it->second) << "page 0x" << std::hex << phys;
      seen.insert(phys);
    }
  }
  EXPECT_EQ(seen.size(), memory_.TotalPages());

  // salvage load at the next boot finds the dump in the file and keeps it.
  testing::Scratch root;
  testing::MakePiSysfs(root);
  testing::FakeFiles files;
  files.dirs = {root.path(), root.At("/var"), root.At("/var/crash")};
  testing::FakeFiles::File& f = files.files[root.At("/var/crash/salvage.dump")];
  f.size = size_;
  f.extents = map_;
  f.bytes = test::ReadFile(file);
  DumpFileRequest rq;
  rq.path = "/var/crash/salvage.dump";
  rq.root = root.path();
  rq.needed = size_;
  std::vector<std::string> notes;
  auto again = PrepareDumpFile(rq, files, &notes);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_TRUE(files.fills.empty());
  EXPECT_EQ(again->existing_dump, "complete dump " + Hex(c.stream_id));
}

TEST_F(DumpFileExtractTest, AFileWithoutADumpSaysSo) {
  const std::string file = dir_.File("salvage.dump");
  test::WriteFile(file, std::vector<uint8_t>(size_, 0));
  const Extracted r = RunExtract(file, dir_.File("vmcore"));
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.log.find(file + " holds no salvage dump"), std::string::npos) << r.log;
  EXPECT_FALSE(test::Exists(dir_.File("vmcore")));
}

}  // namespace
}  // namespace salvage::loader::load
