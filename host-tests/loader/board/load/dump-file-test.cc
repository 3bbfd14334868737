// Tests for loader/board/load/dump-file: the SD-card dump file of `salvage load --sink
// sd-file`. Its size against the block sink's own accounting (a dump of incompressible
// pages into a file of that size is never truncated); the file system and mount checks;
// the SD card found in sysfs fixture trees (a Pi 3's card, a USB disk, an eMMC); FIEMAP
// extents turned into card sectors, and every extent that is refused; the whole step over
// a fake file system (new, reused, grown, holding a dump, dry run, each refusal); and the
// real FIEMAP of a file in the build tree's file system.
#include "board/load/dump-file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "dump-file-test-util.h"
#include "runtime/blockdump/dump-test-util.h"
#include "runtime/blockdump/ram-disk.h"
#include "salvage/blockdump/sink.h"
#include "salvage/blockdump/target.h"

namespace salvage::loader::load {
namespace {

using testing::FakeFiles;
using testing::kMiB;
using testing::Scratch;

uint64_t AlignUpForTest(uint64_t v) { return (v + 4095) / 4096 * 4096; }

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool NotesHave(const std::vector<std::string>& notes, const std::string& part) {
  for (const std::string& n : notes)
    if (Has(n, part)) return true;
  return false;
}

std::string Joined(const std::vector<std::string>& notes) {
  std::string s;
  for (const std::string& n : notes) s += n + "\n";
  return s;
}

// ---- size ------------------------------------------------------------------------------------

TEST(DumpFileSizeTest, OneGibOfRamNeedsItsPagesAsRawFramesAndTheBlocks) {
  DumpSizeInput in;
  in.ram = {{0x0, 0x3b400000}, {0x40000000, 0x4c00000}};  // a Pi 3: 948 MiB + 76 MiB
  in.note_bytes = {424, 424, 424, 424, 0x1024};
  in.segment_count = 3;
  const DumpSize s = DumpFileSize(in);
  EXPECT_EQ(s.pages, 262144u);
  EXPECT_EQ(s.header_record, 48u + 64 + 2 * 16 + 3 * 24 + 4096 + 4 * (4 + 424) + 4 + 0x1024);
  EXPECT_EQ(s.header_record, 10160u);
  // The header record is repeated every 1 MiB (docs/stream-format.md §4.6): the k-th
  // periodic copy starts at k MiB at the earliest, after k copies and the frames, so at
  // most 262143 x 4144 / (1 MiB - 10160) = 1046 of them come before the last page; then
  // the first copy, and two more that RoomForPage keeps room for.
  EXPECT_EQ(s.stream_bytes, (1 + 1046 + 2) * s.header_record + 262143 * (48 + 4096) + (96 + 4096) + 184);
  EXPECT_EQ(s.file_bytes % kMiB, 0u);
  EXPECT_GE(s.file_bytes, s.stream_bytes + 3 * 4096);  // header, backup header, trailer blocks
  EXPECT_LT(s.file_bytes, s.stream_bytes + 3 * 4096 + kMiB);
  // 1 GiB of RAM: 1036 MiB of raw frames, 10 MiB of header copies, then the rest.
  EXPECT_EQ(s.file_bytes, 1047 * kMiB);
}

TEST(DumpFileSizeTest, RangesAreRoundedToPagesAndMergedAsTheImageSendsThem) {
  DumpSizeInput in;
  in.ram = {{0x1000, 0x800}, {0x1800, 0x1000}, {0x10000, 0x1000}};  // the first two share a page
  const DumpSize s = DumpFileSize(in);
  EXPECT_EQ(s.pages, 3u);  // [0x1000, 0x3000) and [0x10000, 0x11000)
  EXPECT_EQ(s.header_record, 48u + 64 + 2 * 16 + 4096);
  EXPECT_EQ(DumpFileSize({}).pages, 0u);
  EXPECT_EQ(DumpFileSize({}).file_bytes, kMiB);
}

// The size is what the image's block sink needs: a capture of pages that do not
// compress, through the real Encoder and BlockSink (RoomForPage before every page, as
// runtime/capture.cc), into an area of exactly DumpFileSize bytes, is complete.
TEST(DumpFileSizeTest, AFileOfThatSizeHoldsAnIncompressibleDumpWhole) {
  stream::test::FakeMemory m;
  m.ranges = {{0x40000000, 3 * kMiB}, {0x40400000, 2 * kMiB + 0x3000}};
  std::mt19937_64 rng(42);
  for (const auto& r : m.ranges) {
    for (uint64_t a = r.base; a < r.base + r.size; a += 4096) {
      std::vector<uint8_t> page(4096);
      for (uint8_t& b : page) b = static_cast<uint8_t>(rng());
      m.pages[a] = page;
    }
  }
  DumpSizeInput in;
  in.ram = m.ranges;
  in.note_bytes = {stream::test::SampleNote().size(), stream::test::SampleVmcoreinfo().size()};
  in.segment_count = 1;  // what CaptureTo puts in the header
  const DumpSize size = DumpFileSize(in);
  ASSERT_EQ(size.file_bytes, 6 * kMiB);

  for (uint64_t area : {size.file_bytes, AlignUpForTest(size.stream_bytes + 3 * 4096)}) {
    blockdump::test::RamDisk disk(area / 512 + 4096);
    blockdump::Extents e;
    e.Add(2048, area / 512);
    blockdump::test::AlignedMemory mem(blockdump::BlockSinkMemoryBytes(4, 64 * 1024));
    blockdump::BlockSink sink(disk, e, mem.span(), 64 * 1024);
    ASSERT_TRUE(sink.Begin().ok());
    stream::test::TestLz4 lz4;
    const blockdump::test::Capture c = blockdump::test::CaptureTo(sink, m, lz4);
    ASSERT_TRUE(c.status.ok()) << c.status.what();
    EXPECT_FALSE(c.stopped_early) << "area " << area;
    EXPECT_EQ(c.pages, m.TotalPages());
    EXPECT_LE(c.stream.size(), size.stream_bytes);
  }
}

TEST(DumpFileSizeTest, FileSizeOption) {
  auto a = ParseFileSize("auto");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->has_value());
  auto m = ParseFileSize("1536M");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(**m, 1536 * kMiB);
  auto g = ParseFileSize("2G");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(**g, 2048 * kMiB);
  auto odd = ParseFileSize("1500000");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(**odd, 2 * kMiB);  // rounded up
  EXPECT_EQ(ParseFileSize("big").error(), "--file-size big: give auto or a size such as 1536M or 2G");
  EXPECT_EQ(ParseFileSize("4K").error(), "--file-size 4K: the dump file needs at least 1 MiB");
}

// ---- file systems ------------------------------------------------------------------------------

TEST(DumpFileFsTest, OnlyExtAndVfatKeepTheirBlocks) {
  EXPECT_TRUE(ClassifyFs(0xEF53).supported);
  EXPECT_EQ(ClassifyFs(0xEF53).name, "ext4");
  EXPECT_TRUE(ClassifyFs(0x4d44).supported);
  EXPECT_EQ(ClassifyFs(0x4d44).name, "vfat");
  const FsKind btrfs = ClassifyFs(0x9123683E);
  EXPECT_FALSE(btrfs.supported);
  EXPECT_EQ(btrfs.name, "btrfs");
  EXPECT_TRUE(Has(btrfs.why_not, "its blocks move when they are written")) << btrfs.why_not;
  EXPECT_TRUE(Has(ClassifyFs(0xF2F52010).why_not, "its blocks move"));
  EXPECT_TRUE(Has(ClassifyFs(0x01021994).why_not, "that is RAM, not the SD card"));
  EXPECT_TRUE(Has(ClassifyFs(0x6969).why_not, "not a file system on a local disk"));
  EXPECT_TRUE(Has(ClassifyFs(0x58465342).why_not, "salvage makes dump files on ext4 and vfat only"));
  EXPECT_EQ(ClassifyFs(0x1234).name, "a file system of type 0x1234");
}

TEST(DumpFileFsTest, MountinfoLine) {
  const std::string text =
      "22 1 179:2 / / rw,noatime shared:1 - ext4 /dev/mmcblk0p2 rw,data=journal\n"
      "31 22 179:1 / /boot/firmware rw,relatime - vfat /dev/mmcblk0p1 rw,fmask=0022\n";
  auto m = FindMount(text, 179, 2);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mount_point, "/");
  EXPECT_EQ(m->fs_type, "ext4");
  EXPECT_EQ(m->source, "/dev/mmcblk0p2");
  EXPECT_EQ(m->super_options, "rw,data=journal");
  auto v = FindMount(text, 179, 1);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->fs_type, "vfat");
  EXPECT_EQ(v->mount_point, "/boot/firmware");
  EXPECT_FALSE(FindMount(text, 8, 1));
}

// ---- the device --------------------------------------------------------------------------------

TEST(DumpFileDeviceTest, APi3CardPartitionAndItsController) {
  Scratch root;
  testing::MakePiSysfs(root);
  auto d = FindSdCard(root.path(), 179, 2, "/var/crash/salvage.dump");
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(d->partition, "mmcblk0p2");
  EXPECT_EQ(d->disk, "mmcblk0");
  EXPECT_EQ(d->start, 532480u);
  EXPECT_EQ(d->sectors, 61988864u);
  EXPECT_EQ(d->controller, "3f202000.mmc");
  ASSERT_TRUE(d->controller_address);
  EXPECT_EQ(*d->controller_address, 0x3f202000u);
  EXPECT_EQ(d->card_type, "SD");

  // A file system on the whole card: no partition, start 0.
  auto whole = FindSdCard(root.path(), 179, 0, "/x");
  ASSERT_TRUE(whole.ok()) << whole.error();
  EXPECT_EQ(whole->partition, "mmcblk0");
  EXPECT_EQ(whole->start, 0u);
  EXPECT_EQ(whole->sectors, 62521344u);
}

TEST(DumpFileDeviceTest, APi4CardBehindItsBus) {
  Scratch root;
  testing::MakePiSysfs(root, {.controller = "platform/emmc2bus/fe340000.mmc"});
  auto d = FindSdCard(root.path(), 179, 1, "/boot/firmware/salvage.dump");
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(d->controller, "fe340000.mmc");
  EXPECT_EQ(d->controller_address.value_or(0), 0xfe340000u);
  EXPECT_EQ(d->start, 8192u);
}

TEST(DumpFileDeviceTest, AControllerNameWithoutAnAddress) {
  Scratch root;
  testing::MakePiSysfs(root, {.controller = "platform/soc/soc:mmc"});
  auto d = FindSdCard(root.path(), 179, 2, "/x");
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_FALSE(d->controller_address);
}

TEST(DumpFileDeviceTest, AnotherDiskIsRefused) {
  Scratch root;
  testing::MakePiSysfs(root);
  auto usb = FindSdCard(root.path(), 8, 1, "/var/crash/salvage.dump");
  ASSERT_FALSE(usb.ok());
  EXPECT_EQ(usb.error(),
            "/var/crash/salvage.dump is on /dev/sda1 (not the SD card): salvage writes to the SD card only; put the "
            "dump file on the SD card's file system (a partition of /dev/mmcblk0)");
  auto emmc = FindSdCard(root.path(), 179, 33, "/data/salvage.dump");
  ASSERT_FALSE(emmc.ok());
  EXPECT_TRUE(Has(emmc.error(), "/data/salvage.dump is on /dev/mmcblk1p1, on a card of type MMC (an eMMC or SDIO "
                                "device), not an SD card")) << emmc.error();
  auto dm = FindSdCard(root.path(), 254, 0, "/var/crash/salvage.dump");
  ASSERT_FALSE(dm.ok());
  EXPECT_EQ(dm.error(), "/var/crash/salvage.dump is on /dev/dm-0, a device-mapper device (LVM, dm-crypt): the image "
                        "writes the SD card's raw sectors, which are not this device's; put the dump file on a plain "
                        "partition of the SD card (ext4 or vfat)");
  auto none = FindSdCard(root.path(), 0, 25, "/run/salvage.dump");
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(Has(none.error(), "/run/salvage.dump is not on a disk (its file system's device 0:25 has no "))
      << none.error();
}

TEST(DumpFileDeviceTest, OtherSectorSizesAreRefused) {
  Scratch root;
  testing::MakePiSysfs(root);
  root.Write("/sys/devices/platform/soc/3f202000.mmc/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0/queue/logical_block_size",
             "4096\n");
  auto d = FindSdCard(root.path(), 179, 2, "/x");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), "/dev/mmcblk0 has 4096-byte sectors; SD cards have 512-byte sectors, and salvage writes only "
                       "those");
}

// ---- extents -----------------------------------------------------------------------------------

SdCardDevice Card() {
  SdCardDevice d;
  d.partition = "mmcblk0p2";
  d.disk = "mmcblk0";
  d.start = 532480;
  d.sectors = 61988864;
  return d;
}

TEST(DumpFileExtentsTest, CardSectorsIncludeThePartitionStartAndNeighboursMerge) {
  // ext4 reports at most 128 MiB per extent: two that touch on the device are one.
  const std::vector<FileExtent> map = {
      {0, 0x8000000, 128 * kMiB, 0},
      {128 * kMiB, 0x10000000, 64 * kMiB, 0},
      {192 * kMiB, 0x40000000, 8 * kMiB, fiemap::kLast | fiemap::kMerged},
  };
  auto e = CardExtentsFromMap(map, 200 * kMiB, Card(), "/f");
  ASSERT_TRUE(e.ok()) << e.error();
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0], (CardExtent{532480 + 0x8000000 / 512, 192 * kMiB / 512}));
  EXPECT_EQ((*e)[1], (CardExtent{532480 + 0x40000000 / 512, 8 * kMiB / 512}));
  EXPECT_EQ(ExtentsTarget(*e), "extents:794624+393216,2629632+16384");
  // The image's own parser takes the words.
  auto spec = blockdump::ParseTarget(ExtentsTarget(*e));
  ASSERT_TRUE(spec.ok()) << spec.status().what();
  EXPECT_EQ(spec->extents.size, 2u);
  EXPECT_EQ(spec->extents.items[1].first_lba, 2629632u);

  // Only the area counts: blocks past it (ext4 preallocation, a tail) are left alone.
  auto cut = CardExtentsFromMap(map, 100 * kMiB, Card(), "/f");
  ASSERT_TRUE(cut.ok()) << cut.error();
  ASSERT_EQ(cut->size(), 1u);
  EXPECT_EQ((*cut)[0].count, 100 * kMiB / 512);
}

TEST(DumpFileExtentsTest, EveryExtentThatIsNotPlainDataIsRefused) {
  struct Case {
    uint32_t flags;
    const char* says;
  } cases[] = {
      {fiemap::kUnwritten, "allocated but unwritten: Linux reads zeros there"},
      {fiemap::kShared, "shared with another file (a reflink or a snapshot)"},
      {fiemap::kDataEncrypted, "encrypted (fscrypt)"},
      {fiemap::kEncoded, "compressed or otherwise encoded"},
      {fiemap::kDataInline | fiemap::kNotAligned, "inline or tail data"},
      {fiemap::kDataTail | fiemap::kNotAligned, "inline or tail data"},
      {fiemap::kDelalloc | fiemap::kUnknown, "delayed allocation"},
      {fiemap::kUnknown, "FIEMAP_EXTENT_UNKNOWN"},
  };
  for (const Case& c : cases) {
    const std::vector<FileExtent> map = {{0, 0x100000, kMiB, 0}, {kMiB, 0x300000, kMiB, c.flags | fiemap::kLast}};
    auto e = CardExtentsFromMap(map, 2 * kMiB, Card(), "/var/crash/salvage.dump");
    ASSERT_FALSE(e.ok()) << c.says;
    EXPECT_TRUE(Has(e.error(), "/var/crash/salvage.dump: its bytes 0x100000-0x1fffff are ")) << e.error();
    EXPECT_TRUE(Has(e.error(), c.says)) << e.error();
    EXPECT_TRUE(Has(e.error(), "delete the file and run salvage load again")) << e.error();
  }
}

TEST(DumpFileExtentsTest, HolesMisalignmentAndStrayExtentsAreRefused) {
  auto hole = CardExtentsFromMap(std::vector<FileExtent>{{0, 0x100000, kMiB, 0}, {2 * kMiB, 0x300000, kMiB, 0}},
                                 3 * kMiB, Card(), "/f");
  ASSERT_FALSE(hole.ok());
  EXPECT_TRUE(Has(hole.error(), "/f has a hole at bytes 0x100000-0x1fffff")) << hole.error();
  auto tail = CardExtentsFromMap(std::vector<FileExtent>{{0, 0x100000, kMiB, 0}}, 2 * kMiB, Card(), "/f");
  ASSERT_FALSE(tail.ok());
  EXPECT_TRUE(Has(tail.error(), "/f has no blocks for bytes 0x100000-0x1fffff")) << tail.error();
  auto odd = CardExtentsFromMap(std::vector<FileExtent>{{0, 0x100100 + 7, kMiB, 0}}, kMiB, Card(), "/f");
  ASSERT_FALSE(odd.ok());
  EXPECT_TRUE(Has(odd.error(), "are not in whole 512-byte sectors")) << odd.error();
  // Two parts of the file on the same sectors (found by the fuzzer: the image's target
  // parser refuses overlapping extents, and the dump would overwrite itself).
  auto twice = CardExtentsFromMap(std::vector<FileExtent>{{0, 0x100000, kMiB, 0}, {kMiB, 0x180000, kMiB, 0}},
                                  2 * kMiB, Card(), "/f");
  ASSERT_FALSE(twice.ok());
  EXPECT_TRUE(Has(twice.error(), "/f: FIEMAP puts two parts of it on the same card sectors")) << twice.error();
  auto outside = CardExtentsFromMap(std::vector<FileExtent>{{0, 61988864ull * 512, kMiB, 0}}, kMiB, Card(), "/f");
  ASSERT_FALSE(outside.ok());
  EXPECT_TRUE(Has(outside.error(), "outside /dev/mmcblk0p2")) << outside.error();
}

TEST(DumpFileExtentsTest, AtMost64PiecesAfterMerging) {
  std::vector<FileExtent> map;
  for (uint64_t i = 0; i < 65; ++i) map.push_back({i * kMiB, 0x100000 + i * 2 * kMiB, kMiB, 0});
  auto too_many = CardExtentsFromMap(map, 65 * kMiB, Card(), "/var/crash/salvage.dump");
  ASSERT_FALSE(too_many.ok());
  EXPECT_TRUE(Has(too_many.error(), "/var/crash/salvage.dump lies in 65 pieces on /dev/mmcblk0p2 (after merging "
                                    "neighbours), and the image takes at most 64."))
      << too_many.error();
  EXPECT_TRUE(Has(too_many.error(), "--sink sd --target mbr:N")) << too_many.error();
  auto ok = CardExtentsFromMap(map, 64 * kMiB, Card(), "/f");
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok->size(), 64u);
  EXPECT_TRUE(blockdump::ParseTarget(ExtentsTarget(*ok)).ok());
}

TEST(DumpFileExtentsTest, WhatMustBeWrittenFirst) {
  const std::vector<FileExtent> map = {
      {0, 0x100000, kMiB, 0},
      {2 * kMiB, 0x300000, kMiB, fiemap::kUnwritten},
      {3 * kMiB, 0x400000, kMiB, 0},
      {4 * kMiB, 0x500000, 4 * kMiB, fiemap::kUnwritten | fiemap::kLast},
  };
  EXPECT_EQ(RangesToWrite(map, 6 * kMiB), (std::vector<ByteRange>{{kMiB, 2 * kMiB}, {4 * kMiB, 2 * kMiB}}));
  EXPECT_EQ(RangesToWrite(map, kMiB), std::vector<ByteRange>{});
  EXPECT_EQ(RangesToWrite({}, 3 * kMiB), (std::vector<ByteRange>{{0, 3 * kMiB}}));
  EXPECT_EQ(RangesToWrite(map, 10 * kMiB),
            (std::vector<ByteRange>{{kMiB, 2 * kMiB}, {4 * kMiB, 6 * kMiB}}));
}

// An extent whose end wraps past 2^64 (found by the dump-file fuzzer): it reaches to the
// end of the file, and the ranges to write stay apart and in order.
TEST(DumpFileExtentsTest, AnExtentThatWrapsEndsAtTheEndOfTheFile) {
  const uint64_t big = ~uint64_t{0} - kMiB;
  const std::vector<FileExtent> map = {{2 * kMiB, 0x300000, big, fiemap::kLast}};
  EXPECT_EQ(RangesToWrite(map, 6 * kMiB), (std::vector<ByteRange>{{0, 2 * kMiB}}));
  const std::vector<FileExtent> unwritten = {{2 * kMiB, 0x300000, big, fiemap::kUnwritten}};
  EXPECT_EQ(RangesToWrite(unwritten, 6 * kMiB), (std::vector<ByteRange>{{0, 6 * kMiB}}));
  // Overlapping what is already mapped: named as such, not skipped as if it ended early.
  const std::vector<FileExtent> card_map = {{0, 0x100000, kMiB, 0}, {kMiB / 2, 0x900000, ~uint64_t{0}, 0}};
  auto e = CardExtentsFromMap(card_map, 2 * kMiB, Card(), "/f");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().find("overlapping extents"), std::string::npos) << e.error();
}

// vfat has no FIEMAP: its blocks come from FIBMAP, a cluster (8 blocks here) at a time.
TEST(DumpFileExtentsTest, FibmapRunsOfClusters) {
  // File clusters 0..5 on device clusters 10, 11, 30, 31, 32, 5; cluster c is blocks 8c..8c+7.
  const std::vector<uint64_t> clusters = {10, 11, 30, 31, 32, 5};
  std::vector<uint64_t> calls;
  auto lookup = [&](uint64_t block, uint64_t* phys) -> int {
    calls.push_back(block);
    *phys = clusters.at(block / 8) * 8 + block % 8;
    return 0;
  };
  FileMap m = ExtentsFromBlocks(lookup, 6 * 8 - 3, 512, 8);  // the last cluster is partly used
  ASSERT_EQ(m.error, 0);
  EXPECT_TRUE(m.fibmap);
  ASSERT_EQ(m.extents.size(), 3u);
  EXPECT_EQ(m.extents[0].logical, 0u);
  EXPECT_EQ(m.extents[0].physical, 80u * 512);
  EXPECT_EQ(m.extents[0].length, 16u * 512);
  EXPECT_EQ(m.extents[1].physical, 240u * 512);
  EXPECT_EQ(m.extents[1].length, 24u * 512);
  EXPECT_EQ(m.extents[2].logical, 40u * 512);
  EXPECT_EQ(m.extents[2].length, 5u * 512);
  EXPECT_EQ(m.extents[2].flags, fiemap::kLast);
  EXPECT_EQ(calls.size(), 12u);  // the first and last block of each cluster

  // A step that is not contiguous is looked up block by block; 0 is a hole; errors stop.
  auto odd = [](uint64_t block, uint64_t* phys) -> int {
    *phys = block == 3 ? 0 : block < 4 ? 100 + block : 200 + block;
    return 0;
  };
  m = ExtentsFromBlocks(odd, 8, 512, 8);
  ASSERT_EQ(m.extents.size(), 2u);
  EXPECT_EQ(m.extents[0].length, 3u * 512);
  EXPECT_EQ(m.extents[1].logical, 4u * 512);
  EXPECT_EQ(RangesToWrite(m.extents, 8 * 512), (std::vector<ByteRange>{{3 * 512, 512}}));
  m = ExtentsFromBlocks([](uint64_t, uint64_t*) { return EPERM; }, 8, 512, 8);
  EXPECT_EQ(m.error, EPERM);
  EXPECT_TRUE(m.extents.empty());
}

// ---- the whole step over a fake file system ----------------------------------------------------

class PrepareDumpFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::MakePiSysfs(root_);
    files_.dirs = {root_.path(), root_.At("/var"), root_.At("/var/crash"), root_.At("/boot/firmware")};
  }
  DumpFileRequest Request(uint64_t needed = 100 * kMiB) const {
    DumpFileRequest rq;
    rq.path = "/var/crash/salvage.dump";
    rq.root = root_.path();
    rq.needed = needed;
    return rq;
  }
  std::string File() const { return root_.At("/var/crash/salvage.dump"); }
  Expected<DumpFile> Run(const DumpFileRequest& rq) {
    notes_.clear();
    return PrepareDumpFile(rq, files_, &notes_);
  }

  Scratch root_;
  FakeFiles files_;
  std::vector<std::string> notes_;
};

TEST_F(PrepareDumpFileTest, ANewFileIsMadeWrittenMappedAndMadeImmutable) {
  files_.dirs.erase(root_.At("/var/crash"));
  files_.piece = 40 * kMiB;  // three pieces with gaps between them
  auto f = Run(Request());
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(files_.made_dirs, std::vector<std::string>{root_.At("/var/crash")});
  ASSERT_EQ(files_.fills.size(), 1u);
  EXPECT_EQ(files_.fills[0].size, 100 * kMiB);
  EXPECT_EQ(files_.fills[0].zero, (std::vector<ByteRange>{{0, 100 * kMiB}}));
  EXPECT_TRUE(f->created);
  EXPECT_EQ(f->written, 100 * kMiB);
  EXPECT_EQ(f->bytes, 100 * kMiB);
  EXPECT_EQ(f->device, "/dev/mmcblk0p2");
  EXPECT_EQ(f->fs_name, "ext4");
  EXPECT_EQ(f->sink, "sd@0x3f202000");
  ASSERT_EQ(f->extents.size(), 3u);
  EXPECT_EQ(f->extents[0], (CardExtent{532480 + 0x40000000 / 512, 40 * kMiB / 512}));
  EXPECT_EQ(f->extents[1].first, 532480 + (0x40000000 + 41 * kMiB) / 512);
  EXPECT_EQ(f->extents[2].count, 20 * kMiB / 512);
  EXPECT_EQ(f->target, ExtentsTarget(f->extents));
  EXPECT_TRUE(f->immutable);
  EXPECT_TRUE(files_.files.at(File()).immutable);
  EXPECT_TRUE(NotesHave(notes_, "created /var/crash/salvage.dump: 100 MiB of zeros, blocks reserved with fallocate"))
      << Joined(notes_);
}

TEST_F(PrepareDumpFileTest, AWholeFileIsReusedAsItIs) {
  files_.AddFile(File(), 100 * kMiB);
  auto f = Run(Request());
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_TRUE(files_.fills.empty());
  EXPECT_FALSE(f->created);
  EXPECT_EQ(f->written, 0u);
  EXPECT_EQ(f->extents.size(), 1u);
  EXPECT_TRUE(f->immutable);

  // Larger than needed: kept at its size.
  auto g = Run(Request(50 * kMiB));
  ASSERT_TRUE(g.ok()) << g.error();
  EXPECT_EQ(g->bytes, 100 * kMiB);
  EXPECT_TRUE(NotesHave(notes_, "is 100 MiB, more than the 50 MiB asked for: it is kept at that size")) << Joined(notes_);
}

TEST_F(PrepareDumpFileTest, UnwrittenPartsAndGrowthAreWrittenOnlyThere) {
  FakeFiles::File& f = files_.AddFile(File(), 60 * kMiB);
  f.extents[0].length = 20 * kMiB;
  f.extents.push_back({20 * kMiB, 0x50000000, 10 * kMiB, fiemap::kUnwritten});
  f.extents.push_back({30 * kMiB, 0x60000000, 30 * kMiB, fiemap::kLast});
  auto d = Run(Request());
  ASSERT_TRUE(d.ok()) << d.error();
  ASSERT_EQ(files_.fills.size(), 1u);
  EXPECT_EQ(files_.fills[0].zero, (std::vector<ByteRange>{{20 * kMiB, 10 * kMiB}, {60 * kMiB, 40 * kMiB}}));
  EXPECT_EQ(d->written, 50 * kMiB);
  EXPECT_FALSE(d->created);
  EXPECT_EQ(d->bytes, 100 * kMiB);
  EXPECT_EQ(d->extents.size(), 4u);
}

TEST_F(PrepareDumpFileTest, ADumpInTheFileIsKeptAndNamed) {
  FakeFiles::File& f = files_.AddFile(File(), 100 * kMiB);
  blockdump::DumpHeader h;
  ASSERT_TRUE(blockdump::LayoutFor(100 * kMiB, &h));
  h.dump_id = 0xfeedbeef;
  h.extents.Add(532480 + 0x40000000 / 512, 100 * kMiB / 512);
  f.bytes.resize(100 * kMiB);
  blockdump::EncodeHeader(h, std::span<uint8_t, blockdump::kBlockSize>(f.bytes.data(), blockdump::kBlockSize));
  blockdump::DumpTrailer t{blockdump::kDumpComplete, 0xfeedbeef, 12345, 100 * kMiB};
  blockdump::EncodeTrailer(t, std::span<uint8_t, blockdump::kBlockSize>(f.bytes.data() + h.trailer_offset,
                                                                        blockdump::kBlockSize));
  auto d = Run(Request());
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_TRUE(files_.fills.empty());
  EXPECT_EQ(d->existing_dump, "complete dump 0xfeedbeef");
  EXPECT_TRUE(NotesHave(notes_, "warning: /var/crash/salvage.dump holds a complete dump (0xfeedbeef) from an earlier "
                                "crash; it is kept, and the next crash overwrites it: read it now with salvage "
                                "extract /var/crash/salvage.dump -o vmcore"))
      << Joined(notes_);

  // Without its trailer: interrupted.
  std::fill(f.bytes.begin() + static_cast<std::ptrdiff_t>(h.trailer_offset), f.bytes.end(), 0);
  d = Run(Request());
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(d->existing_dump, "interrupted dump 0xfeedbeef");
}

TEST_F(PrepareDumpFileTest, ADryRunChangesNothing) {
  DumpFileRequest rq = Request();
  rq.dry_run = true;
  files_.dirs.erase(root_.At("/var/crash"));
  auto f = Run(rq);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_TRUE(files_.fills.empty());
  EXPECT_TRUE(files_.made_dirs.empty());
  EXPECT_TRUE(files_.immutable_calls.empty());
  EXPECT_TRUE(f->created);
  EXPECT_TRUE(f->extents.empty());
  EXPECT_EQ(f->target, kDryRunTarget);
  EXPECT_TRUE(blockdump::ParseTarget(f->target).ok());
  EXPECT_TRUE(NotesHave(notes_, "a real load would create /var/crash/salvage.dump and write 100 MiB of zeros to it"))
      << Joined(notes_);

  // An existing whole file: its extents.
  files_.dirs.insert(root_.At("/var/crash"));
  files_.AddFile(File(), 100 * kMiB);
  f = Run(rq);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->extents.size(), 1u);
  EXPECT_TRUE(files_.fills.empty());
  EXPECT_TRUE(files_.immutable_calls.empty());
}

TEST_F(PrepareDumpFileTest, FileSystemsThatCannotHoldIt) {
  files_.fs.magic = 0x9123683E;
  auto btrfs = Run(Request());
  ASSERT_FALSE(btrfs.ok());
  EXPECT_TRUE(Has(btrfs.error(), "/var/crash/salvage.dump is on btrfs: its blocks move when they are written"))
      << btrfs.error();
  files_.fs.magic = 0x01021994;
  auto tmpfs = Run(Request());
  ASSERT_FALSE(tmpfs.ok());
  EXPECT_TRUE(Has(tmpfs.error(), "is on tmpfs: that is RAM, not the SD card")) << tmpfs.error();
  EXPECT_TRUE(files_.fills.empty());

  files_.fs.magic = 0xEF53;
  root_.Write("/proc/self/mountinfo", "22 1 179:2 / / rw shared:1 - ext4 /dev/mmcblk0p2 rw,data=journal\n");
  auto journal = Run(Request());
  ASSERT_FALSE(journal.ok());
  EXPECT_TRUE(Has(journal.error(), "is on ext4 mounted with data=journal: after the crash, replaying the journal"))
      << journal.error();
}

TEST_F(PrepareDumpFileTest, AFileOnAnotherDisk) {
  files_.dev_major = 8;
  files_.dev_minor = 1;
  auto f = Run(Request());
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(Has(f.error(), "/var/crash/salvage.dump is on /dev/sda1 (not the SD card)")) << f.error();
  EXPECT_TRUE(files_.fills.empty());
}

TEST_F(PrepareDumpFileTest, NotEnoughSpaceSaysHowMuch) {
  files_.fs.free_bytes = 80 * kMiB + 12345;
  auto f = Run(Request(1037 * kMiB));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(),
            "not enough space for /var/crash/salvage.dump on /dev/mmcblk0p2 (ext4): the dump file needs 1037 MiB "
            "(the RAM salvage dumps, at worst uncompressed), and 80 MiB are free. Free some space, or give "
            "--file-size SIZE (a smaller file keeps only the first pages of the dump)");
  EXPECT_TRUE(files_.fills.empty());
  // An existing file only has to grow.
  files_.AddFile(File(), 1000 * kMiB);
  auto g = Run(Request(1037 * kMiB));
  ASSERT_TRUE(g.ok()) << g.error();
}

TEST_F(PrepareDumpFileTest, VfatHoldsLessThan4Gib) {
  files_.fs.magic = 0x4d44;
  files_.immutable_supported = false;
  files_.fallocate_supported = false;
  files_.dev_minor = 1;
  DumpFileRequest rq = Request(5000 * kMiB);
  rq.path = "/boot/firmware/salvage.dump";
  auto big = Run(rq);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error(), "the dump file needs 5000 MiB, and a file on vfat (/dev/mmcblk0p1) holds less than 4 GiB: "
                         "put it on an ext4 file system of the SD card, or give --file-size 4095M (a dump that does "
                         "not fit is truncated)");
  rq.needed = 100 * kMiB;
  files_.next_physical = 0x100000;
  auto ok = Run(rq);
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok->fs_name, "vfat");
  EXPECT_EQ(ok->device, "/dev/mmcblk0p1");
  EXPECT_EQ(ok->extents[0].first, 8192u + 0x100000 / 512);
  EXPECT_FALSE(ok->immutable);
  EXPECT_TRUE(NotesHave(notes_, "warning: vfat cannot make /boot/firmware/salvage.dump immutable")) << Joined(notes_);
  EXPECT_TRUE(NotesHave(notes_, "created /boot/firmware/salvage.dump: 100 MiB of zeros")) << Joined(notes_);
}

TEST_F(PrepareDumpFileTest, NoFiemap) {
  files_.AddFile(File(), 100 * kMiB);
  files_.map_error = EOPNOTSUPP;
  auto f = Run(Request());
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(), "cannot map /var/crash/salvage.dump's blocks (FIEMAP not supported by ext4): salvage needs a "
                       "file on ext4 or vfat on the SD card");
  files_.map_error = EPERM;
  EXPECT_EQ(Run(Request()).error(), "cannot map /var/crash/salvage.dump's blocks: ext4 has no FIEMAP, and FIBMAP "
                                    "needs root (CAP_SYS_RAWIO): run salvage load as root");
}

TEST_F(PrepareDumpFileTest, SharedBlocksAreRefusedAfterTheWrite) {
  FakeFiles::File& f = files_.AddFile(File(), 100 * kMiB);
  f.extents[0].flags |= fiemap::kShared;
  auto d = Run(Request());
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(Has(d.error(), "shared with another file")) << d.error();
}

TEST_F(PrepareDumpFileTest, ASmallerFileSizeIsAWarningAndOtherMistakes) {
  DumpFileRequest rq = Request();
  rq.size = 10 * kMiB;
  auto f = Run(rq);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->bytes, 10 * kMiB);
  EXPECT_TRUE(NotesHave(notes_, "warning: the whole dump may need 100 MiB; a 10 MiB file keeps the first pages in "
                                "address order only"))
      << Joined(notes_);

  rq.path = "salvage.dump";
  EXPECT_EQ(Run(rq).error(), "--file salvage.dump: give an absolute path");
  files_.dirs.insert(root_.At("/var/crash/dir"));
  rq.path = "/var/crash/dir";
  EXPECT_EQ(Run(rq).error(), "/var/crash/dir exists and is not a regular file");

  // The caller's check of the card comes before any write.
  files_.fills.clear();
  rq = Request();
  rq.check_card = [](const SdCardDevice& card) -> Expected<void> { return Fail("no controller " + card.controller); };
  EXPECT_EQ(Run(rq).error(), "no controller 3f202000.mmc");
  EXPECT_TRUE(files_.fills.empty());
}

// ---- the real file system ----------------------------------------------------------------------

// FIEMAP of a file in the build tree's file system, through LiveFileSystem: the extents
// cover the file, do not overlap, and none is unwritten once Fill wrote it. Skipped where
// the file system has no FIEMAP (tmpfs, some FUSE).
TEST(DumpFileLiveTest, FillAndMapAFileHere) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::current_path() / ("dump-file-live-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "salvage.dump").string();
  FileSystem& live = LiveFileSystem();
  struct Cleanup {
    fs::path dir;
    std::string path;
    ~Cleanup() {
      const int fd = ::open(path.c_str(), O_RDONLY);
      int flags = 0;
      if (fd >= 0 && ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL)) {
        flags &= ~FS_IMMUTABLE_FL;
        (void)::ioctl(fd, FS_IOC_SETFLAGS, &flags);
      }
      if (fd >= 0) ::close(fd);
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir, path};

  auto st = live.Stat(path);
  ASSERT_TRUE(st.ok()) << st.error();
  EXPECT_FALSE(st->exists);
  auto fsst = live.StatFs(dir.string());
  ASSERT_TRUE(fsst.ok()) << fsst.error();

  // A file fallocate only reserved: unwritten extents where the file system marks them.
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    const int r = ::fallocate(fd, 0, 0, static_cast<off_t>(4 * kMiB));
    ::close(fd);
    if (r != 0) GTEST_SKIP() << "fallocate: " << std::strerror(errno) << " (file system " << ClassifyFs(fsst->magic).name << ")";
  }
  FileMap before = live.Map(path);
  if (before.error == EOPNOTSUPP || before.error == ENOTTY)
    GTEST_SKIP() << "FIEMAP not supported by " << ClassifyFs(fsst->magic).name << " here";
  ASSERT_EQ(before.error, 0) << std::strerror(before.error);
  const std::vector<ByteRange> todo = RangesToWrite(before.extents, 4 * kMiB);
  if (ClassifyFs(fsst->magic).name == "ext4") {
    EXPECT_EQ(todo, (std::vector<ByteRange>{{0, 4 * kMiB}}));
  }

  // Fill: the unwritten part, and 12 MiB more.
  std::vector<ByteRange> zero = todo;
  zero.push_back({4 * kMiB, 12 * kMiB});
  auto filled = live.Fill(path, 16 * kMiB, zero);
  ASSERT_TRUE(filled.ok()) << filled.error();
  EXPECT_EQ(filled->zero_bytes, (todo.empty() ? 0 : 4 * kMiB) + 12 * kMiB);
  st = live.Stat(path);
  ASSERT_TRUE(st.ok() && st->exists && st->regular);
  EXPECT_EQ(st->size, 16 * kMiB);

  const FileMap map = live.Map(path);
  ASSERT_EQ(map.error, 0) << std::strerror(map.error);
  ASSERT_FALSE(map.extents.empty());
  EXPECT_TRUE(RangesToWrite(map.extents, 16 * kMiB).empty());
  uint64_t at = 0, covered = 0;
  std::vector<std::pair<uint64_t, uint64_t>> physical;
  for (const FileExtent& e : map.extents) {
    EXPECT_EQ(e.logical, at) << "a hole or an overlap at " << at;
    EXPECT_EQ(e.flags & ~(fiemap::kLast | fiemap::kMerged), 0u) << "flags " << e.flags;
    at = e.logical + e.length;
    covered += e.length;
    physical.emplace_back(e.physical, e.physical + e.length);
  }
  EXPECT_EQ(covered, 16 * kMiB);
  EXPECT_TRUE(map.extents.back().flags & fiemap::kLast);
  std::sort(physical.begin(), physical.end());
  for (size_t i = 1; i < physical.size(); ++i) EXPECT_LE(physical[i - 1].second, physical[i].first);

  // Card sectors of a pretend partition as large as the device: the sums agree.
  SdCardDevice card;
  card.partition = "test";
  card.start = 2048;
  card.sectors = ~uint64_t{0} / 1024;
  auto sectors = CardExtentsFromMap(map.extents, 16 * kMiB, card, path);
  ASSERT_TRUE(sectors.ok()) << sectors.error();
  uint64_t total = 0;
  for (const CardExtent& c : *sectors) total += c.count;
  EXPECT_EQ(total * 512, 16 * kMiB);

  // FIBMAP (what vfat gets) agrees with FIEMAP, where the file system has both and this
  // process may use it (root).
  const FileMap by_block = MapWithFibmap(path);
  if (by_block.error == 0) {
    auto same = CardExtentsFromMap(by_block.extents, 16 * kMiB, card, path);
    ASSERT_TRUE(same.ok()) << same.error();
    EXPECT_EQ(*same, *sectors);
  }

  auto head = live.Read(path, 0, 4096);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, std::vector<uint8_t>(4096, 0));

  // The immutable flag, where this process may set it (root with CAP_LINUX_IMMUTABLE);
  // Fill clears it again to write.
  auto imm = live.SetImmutable(path);
  if (imm.ok() && *imm) {
    EXPECT_EQ(::unlink(path.c_str()), -1);
    auto again = live.Fill(path, 17 * kMiB, std::vector<ByteRange>{{16 * kMiB, kMiB}});
    ASSERT_TRUE(again.ok()) << again.error();
    EXPECT_TRUE(again->was_immutable);
  }
}

// The real sysfs, mountinfo and statfs of this machine in a dry run (nothing written):
// a file in the build tree is refused with one of the messages above (a workstation's
// disk is not an SD card), or, on a board building on its SD card, accepted.
TEST(DumpFileLiveTest, ThisMachinesDiskInADryRun) {
  DumpFileRequest rq;
  rq.path = (std::filesystem::current_path() / "no-such-dump-file").string();
  rq.needed = kMiB;
  rq.dry_run = true;
  std::vector<std::string> notes;
  auto f = PrepareDumpFile(rq, LiveFileSystem(), &notes);
  EXPECT_FALSE(std::filesystem::exists(rq.path));
  if (f.ok()) {
    EXPECT_TRUE(f->device.starts_with("/dev/mmcblk")) << f->device;
    EXPECT_EQ(f->target, kDryRunTarget);
    return;
  }
  EXPECT_TRUE(Has(f.error(), "(not the SD card): salvage writes to the SD card only") ||
              Has(f.error(), "is not on a disk") || Has(f.error(), rq.path + " is on "))
      << f.error();
}

}  // namespace
}  // namespace salvage::loader::load
