// Tests for runtime/blockdump/target.cc: `salvage.target=` parsing (every syntax of
// docs/options.md and its errors) and resolution against handmade MBR and GPT tables.
#include "salvage/blockdump/target.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/blockdump/partition-builder.h"
#include "runtime/blockdump/ram-disk.h"

namespace salvage::blockdump {
namespace {

using test::GptGeometry;
using test::GptPart;
using test::MbrPart;
using test::RamDisk;

std::string Message(const Status& s, const TargetSpec& spec) {
  char buf[160];
  FormatTargetError(s, spec, buf);
  return buf;
}

// ---- parsing ---------------------------------------------------------------------------

TEST(BlockdumpParseTarget, Disk) {
  auto r = ParseTarget("disk");
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->kind, TargetKind::kDisk);
}

TEST(BlockdumpParseTarget, MbrPartitionNumbers) {
  for (int n = 1; n <= 4; ++n) {
    auto r = ParseTarget("mbr:" + std::to_string(n));
    ASSERT_TRUE(r.ok()) << n;
    EXPECT_EQ(r->kind, TargetKind::kMbr);
    EXPECT_EQ(r->mbr_partition, n);
  }
  for (const char* bad : {"mbr:0", "mbr:5", "mbr:", "mbr:12", "mbr:a", "mbr:01", "mbr: 1"}) {
    auto r = ParseTarget(bad);
    EXPECT_EQ(r.status().error(), Error::kInvalidArgument) << bad;
    EXPECT_STREQ(r.status().what(), "target: mbr:N needs a primary partition number N from 1 to 4") << bad;
  }
}

TEST(BlockdumpParseTarget, GptName) {
  auto r = ParseTarget("gpt-name:dump");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, TargetKind::kGptName);
  EXPECT_EQ(r->Name(), "dump");

  const std::string longest(36, 'x');
  r = ParseTarget("gpt-name:" + longest);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Name(), longest);

  EXPECT_STREQ(ParseTarget("gpt-name:" + longest + "y").status().what(),
               "target: gpt-name: a GPT name has at most 36 characters");
  EXPECT_STREQ(ParseTarget("gpt-name:").status().what(), "target: gpt-name: needs a name");
  EXPECT_STREQ(ParseTarget("gpt-name:my dump").status().what(),
               "target: gpt-name: the name must be printable ASCII without spaces");
  EXPECT_EQ(ParseTarget("gpt-name:d\xc3\xbcmp").status().error(), Error::kInvalidArgument);
}

TEST(BlockdumpParseTarget, GptUuidIsStoredInDiskByteOrder) {
  // The Linux filesystem type GUID and its well-known on-disk bytes.
  auto r = ParseTarget("gpt-uuid:0fc63daf-8483-4772-8e79-3d69d8477de4");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, TargetKind::kGptUuid);
  const std::array<uint8_t, 16> want = {0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47,
                                        0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4};
  EXPECT_EQ(r->uuid, want);
  auto upper = ParseTarget("gpt-uuid:0FC63DAF-8483-4772-8E79-3D69D8477DE4");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->uuid, want);
  EXPECT_EQ(test::GuidBytes(test::kLinuxFsType), want);

  std::array<char, 37> text;
  FormatGuid(want, text);
  EXPECT_STREQ(text.data(), "0fc63daf-8483-4772-8e79-3d69d8477de4");

  for (const char* bad : {"gpt-uuid:", "gpt-uuid:0fc63daf-8483-4772-8e79-3d69d8477de", "gpt-uuid:0fc63daf84834772-8e79-3d69d8477de4x",
                          "gpt-uuid:0fc63daf-8483-4772-8e79_3d69d8477de4", "gpt-uuid:0fc63daf-8483-4772-8e79-3d69d8477dg4",
                          "gpt-uuid:{0fc63daf-8483-4772-8e79-3d69d8477de4}"}) {
    EXPECT_STREQ(ParseTarget(bad).status().what(),
                 "target: gpt-uuid: is not xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex)")
        << bad;
  }
}

TEST(BlockdumpParseTarget, ExtentsDecimalAndHex) {
  auto r = ParseTarget("extents:2048+1024,0x10000+0X200,4096+1");
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->kind, TargetKind::kExtents);
  ASSERT_EQ(r->extents.size, 3u);
  EXPECT_EQ(r->extents.sector_size, 512u);
  EXPECT_EQ(r->extents.items[0], (Extent{2048, 1024}));
  EXPECT_EQ(r->extents.items[1], (Extent{0x10000, 0x200}));
  EXPECT_EQ(r->extents.items[2], (Extent{4096, 1}));
  // Touching is not overlapping; order is kept as given.
  r = ParseTarget("extents:100+10,90+10,110+1");
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->extents.items[1], (Extent{90, 10}));
}

TEST(BlockdumpParseTarget, AtMost64Extents) {
  std::string v = "extents:";
  for (int i = 0; i < 64; ++i) {
    if (i > 0) v += ',';
    v += std::to_string(i * 100);
    v += "+50";
  }
  auto r = ParseTarget(v);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->extents.size, 64u);
  EXPECT_STREQ(ParseTarget(v + ",99999+1").status().what(), "target: extents: more than 64 extents");
}

TEST(BlockdumpParseTarget, ExtentErrors) {
  struct Case {
    const char* value;
    const char* what;
  };
  const Case cases[] = {
      {"extents:", "target: extents: the list is empty"},
      {"extents:2048", "target: extents: an item is not START+COUNT"},
      {"extents:2048+8,", "target: extents: an item is not START+COUNT"},
      {"extents:+8", "target: extents: a number is not decimal or 0x hex (or is over 2^64)"},
      {"extents:2048+", "target: extents: a number is not decimal or 0x hex (or is over 2^64)"},
      {"extents:0x+8", "target: extents: a number is not decimal or 0x hex (or is over 2^64)"},
      {"extents:12a+8", "target: extents: a number is not decimal or 0x hex (or is over 2^64)"},
      {"extents:-1+8", "target: extents: a number is not decimal or 0x hex (or is over 2^64)"},
      {"extents: 1+8", "target: extents: a number is not decimal or 0x hex (or is over 2^64)"},
      {"extents:18446744073709551616+1", "target: extents: a number is not decimal or 0x hex (or is over 2^64)"},
      {"extents:0x10000000000000000+1", "target: extents: a number is not decimal or 0x hex (or is over 2^64)"},
      {"extents:18446744073709551615+1", "target: extents: an extent ends past 2^64 sectors"},
      {"extents:2048+0", "target: extents: an extent has count 0"},
      {"extents:2048+100,2100+10", "target: extents: two extents overlap"},
      {"extents:2048+100,1000+1049", "target: extents: two extents overlap"},
      {"extents:10+5,20+5,12+1", "target: extents: two extents overlap"},
  };
  for (const Case& c : cases) {
    auto r = ParseTarget(c.value);
    EXPECT_EQ(r.status().error(), Error::kInvalidArgument) << c.value;
    EXPECT_STREQ(r.status().what(), c.what) << c.value;
  }
}

TEST(BlockdumpParseTarget, UnknownAndEmpty) {
  EXPECT_STREQ(ParseTarget("").status().what(), "target: empty");
  for (const char* bad : {"Disk", "disk ", "gpt:dump", "partition:1", "extents", "mbr"}) {
    EXPECT_STREQ(ParseTarget(bad).status().what(),
                 "target: unknown (expected disk, mbr:N, gpt-name:NAME, gpt-uuid:UUID or extents:S+C,...)")
        << bad;
  }
}

// ---- resolution: whole disk and extents ---------------------------------------------------

Result<Extents> Resolve(RamDisk& disk, const std::string& target, size_t scratch_bytes = 4096) {
  auto spec = ParseTarget(target);
  EXPECT_TRUE(spec.ok()) << target << ": " << spec.status().what();
  std::vector<uint8_t> scratch(scratch_bytes);
  return ResolveTarget(disk, *spec, scratch);
}

TEST(BlockdumpResolveTarget, WholeDisk) {
  RamDisk disk(10000);
  auto r = Resolve(disk, "disk");
  ASSERT_TRUE(r.ok()) << r.status().what();
  ASSERT_EQ(r->size, 1u);
  EXPECT_EQ(r->items[0], (Extent{0, 10000}));
  EXPECT_EQ(r->sector_size, 512u);
  EXPECT_EQ(r->AreaBytes(), 10000u * 512);
  EXPECT_EQ(disk.reads, 0u);
}

TEST(BlockdumpResolveTarget, ExtentsAreCheckedAgainstTheDevice) {
  RamDisk disk(10000);
  auto r = Resolve(disk, "extents:100+50,9000+1000");
  ASSERT_TRUE(r.ok()) << r.status().what();
  ASSERT_EQ(r->size, 2u);
  EXPECT_EQ(r->items[1], (Extent{9000, 1000}));
  r = Resolve(disk, "extents:100+50,9000+1001");
  EXPECT_EQ(r.status().error(), Error::kOutOfRange);
  EXPECT_STREQ(r.status().what(), "blockdump: an extent passes the end of the device");
  r = Resolve(disk, "extents:10000+1");
  EXPECT_EQ(r.status().error(), Error::kOutOfRange);
}

TEST(BlockdumpResolveTarget, ExtentsOn4096ByteSectors) {
  RamDisk disk(1000, 4096);
  auto r = Resolve(disk, "extents:64+80,800+8");
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->sector_size, 4096u);
  EXPECT_EQ(r->items[0], (Extent{8, 10}));
  EXPECT_EQ(r->items[1], (Extent{100, 1}));
  r = Resolve(disk, "extents:65+8");
  EXPECT_STREQ(r.status().what(),
               "extents: an extent is not aligned to the device's sectors (extents count 512-byte sectors)");
  r = Resolve(disk, "extents:64+9");
  EXPECT_EQ(r.status().error(), Error::kInvalidArgument);
}

// ---- MBR ------------------------------------------------------------------------------------

RamDisk MbrDisk() {
  RamDisk disk(100000);
  test::WriteMbr(disk.data, {MbrPart{0x83, 2048, 8192}, MbrPart{0x0c, 10240, 20480}, MbrPart{},
                             MbrPart{0x83, 40960, 59040}});
  return disk;
}

TEST(BlockdumpResolveTarget, MbrPrimaryPartitions) {
  RamDisk disk = MbrDisk();
  auto r = Resolve(disk, "mbr:1");
  ASSERT_TRUE(r.ok()) << r.status().what();
  ASSERT_EQ(r->size, 1u);
  EXPECT_EQ(r->items[0], (Extent{2048, 8192}));
  r = Resolve(disk, "mbr:2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->items[0], (Extent{10240, 20480}));
  r = Resolve(disk, "mbr:4");  // ends exactly at the end of the disk
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->items[0], (Extent{40960, 59040}));
}

TEST(BlockdumpResolveTarget, MbrEmptyEntry) {
  RamDisk disk = MbrDisk();
  auto r = Resolve(disk, "mbr:3");
  EXPECT_EQ(r.status().error(), Error::kNotFound);
  EXPECT_STREQ(r.status().what(), "mbr: partition 3 is empty");
}

TEST(BlockdumpResolveTarget, MbrProtectiveMeansGpt) {
  RamDisk disk(20000);
  test::WriteGpt(disk.data, {GptPart{test::kLinuxFsType, "01234567-89ab-cdef-0123-456789abcdef", 2048, 4095, "dump"}});
  auto r = Resolve(disk, "mbr:1");
  EXPECT_EQ(r.status().error(), Error::kUnsupported);
  EXPECT_NE(std::string(r.status().what()).find("the disk is GPT"), std::string::npos) << r.status().what();
  EXPECT_NE(std::string(r.status().what()).find("gpt-name:"), std::string::npos);
  // The same for any N (a hybrid MBR is refused too).
  EXPECT_EQ(Resolve(disk, "mbr:2").status().error(), Error::kUnsupported);
}

TEST(BlockdumpResolveTarget, MbrErrors) {
  {
    RamDisk disk(100000);  // all zeros: no signature
    auto r = Resolve(disk, "mbr:1");
    EXPECT_EQ(r.status().error(), Error::kMalformed);
    EXPECT_STREQ(r.status().what(), "mbr: no partition table (sector 0 has no 0x55AA signature)");
  }
  {
    RamDisk disk(100000);
    test::WriteMbr(disk.data, {MbrPart{0x83, 2048, 8192}, MbrPart{0x05, 10240, 2048}, MbrPart{0x83, 0, 100},
                               MbrPart{0x83, 90000, 10001}});
    EXPECT_STREQ(Resolve(disk, "mbr:2").status().what(),
                 "mbr: partition 2 is an extended partition (it holds logical partitions)");
    EXPECT_STREQ(Resolve(disk, "mbr:3").status().what(),
                 "mbr: partition 3 starts at sector 0 (over the partition table)");
    auto r = Resolve(disk, "mbr:4");
    EXPECT_EQ(r.status().error(), Error::kOutOfRange);
    EXPECT_STREQ(r.status().what(), "mbr: partition 4 passes the end of the disk");
  }
  {
    RamDisk disk = MbrDisk();
    disk.fail_reads = true;
    EXPECT_EQ(Resolve(disk, "mbr:1").status().error(), Error::kIo);
  }
}

// ---- GPT ------------------------------------------------------------------------------------

constexpr char kDumpUuid[] = "6a1b2c3d-4e5f-4061-8899-aabbccddeeff";
constexpr char kRootUuid[] = "0d3e8a6f-1111-4222-8333-944455556666";

// root [b, b+1000), dump [b+1000, b+5096), dump2 [b+6000, b+6008) on b + 6100 sectors,
// b = 2048 (or the first usable LBA when that is later).
constexpr uint64_t kGptSectors = 2048 + 6100;
RamDisk GptDisk(GptGeometry g = {}, uint64_t base = 2048) {
  RamDisk disk(base + 6100, g.sector_size);
  test::WriteGpt(disk.data,
                 {GptPart{test::kLinuxFsType, kRootUuid, base, base + 999, "root"},
                  GptPart{test::kLinuxFsType, kDumpUuid, base + 1000, base + 5095, "dump"},
                  GptPart{test::kLinuxFsType, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", base + 6000, base + 6007, "dump2"}},
                 g);
  return disk;
}

TEST(BlockdumpResolveTarget, GptByName) {
  RamDisk disk = GptDisk();
  auto r = Resolve(disk, "gpt-name:dump");
  ASSERT_TRUE(r.ok()) << r.status().what();
  ASSERT_EQ(r->size, 1u);
  EXPECT_EQ(r->items[0], (Extent{3048, 4096}));
  r = Resolve(disk, "gpt-name:dump2");  // not a prefix match either way
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->items[0], (Extent{8048, 8}));
  r = Resolve(disk, "gpt-name:root");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->items[0], (Extent{2048, 1000}));
}

TEST(BlockdumpResolveTarget, GptByUniqueGuid) {
  RamDisk disk = GptDisk();
  auto r = Resolve(disk, std::string("gpt-uuid:") + kDumpUuid);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->items[0], (Extent{3048, 4096}));
  r = Resolve(disk, "gpt-uuid:6A1B2C3D-4E5F-4061-8899-AABBCCDDEEFF");
  ASSERT_TRUE(r.ok());
  // The type GUID is not a unique GUID.
  auto spec = ParseTarget(std::string("gpt-uuid:") + test::kLinuxFsType);
  std::vector<uint8_t> scratch(4096);
  r = ResolveTarget(disk, *spec, scratch);
  EXPECT_EQ(r.status().error(), Error::kNotFound);
  EXPECT_EQ(Message(r.status(), *spec), "gpt: no partition has the unique GUID 0fc63daf-8483-4772-8e79-3d69d8477de4");
}

TEST(BlockdumpResolveTarget, GptNoSuchNameSaysTheName) {
  RamDisk disk = GptDisk();
  auto spec = ParseTarget("gpt-name:dum");
  std::vector<uint8_t> scratch(4096);
  auto r = ResolveTarget(disk, *spec, scratch);
  EXPECT_EQ(r.status().error(), Error::kNotFound);
  EXPECT_STREQ(r.status().what(), kMsgGptNoName);
  EXPECT_EQ(Message(r.status(), *spec), "gpt: no partition named 'dum'");
  // Other messages pass through unchanged.
  EXPECT_EQ(Message(Status{Error::kMalformed, "mbr: partition 3 is empty"}, *spec), "mbr: partition 3 is empty");
}

TEST(BlockdumpResolveTarget, GptDuplicateNameIsRefused) {
  RamDisk disk(20000);
  test::WriteGpt(disk.data, {GptPart{test::kLinuxFsType, kRootUuid, 2048, 4095, "dump"},
                             GptPart{test::kLinuxFsType, kDumpUuid, 4096, 8191, "dump"}});
  auto spec = ParseTarget("gpt-name:dump");
  std::vector<uint8_t> scratch(4096);
  auto r = ResolveTarget(disk, *spec, scratch);
  EXPECT_EQ(r.status().error(), Error::kInvalidArgument);
  EXPECT_EQ(Message(r.status(), *spec), "gpt: more than one partition is named 'dump'");
}

TEST(BlockdumpResolveTarget, GptLongestName) {
  RamDisk disk(20000);
  const std::string name(36, 'n');
  test::WriteGpt(disk.data, {GptPart{test::kLinuxFsType, kDumpUuid, 2048, 4095, name}});
  auto r = Resolve(disk, "gpt-name:" + name);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->items[0], (Extent{2048, 2048}));
  EXPECT_EQ(Resolve(disk, "gpt-name:" + name.substr(1)).status().error(), Error::kNotFound);
}

TEST(BlockdumpResolveTarget, GptBadHeaderCrcIsRefused) {
  RamDisk disk = GptDisk();
  disk.data[512 + 40] ^= 1;  // FirstUsableLBA, CRC not fixed
  auto r = Resolve(disk, "gpt-name:dump");
  EXPECT_EQ(r.status().error(), Error::kMalformed);
  EXPECT_STREQ(r.status().what(), "gpt: header CRC32 mismatch (the table is damaged; not writing)");
}

TEST(BlockdumpResolveTarget, GptBadEntriesCrcIsRefused) {
  RamDisk disk = GptDisk();
  disk.data[2 * 512 + 128 + 32] ^= 0x10;  // the dump partition's first LBA
  auto r = Resolve(disk, "gpt-name:dump");
  EXPECT_EQ(r.status().error(), Error::kMalformed);
  EXPECT_STREQ(r.status().what(), "gpt: partition entry array CRC32 mismatch (the table is damaged; not writing)");
  // Even when the damage is in an entry that is not the one asked for.
  RamDisk disk2 = GptDisk();
  disk2.data[2 * 512 + 127 * 128 + 60] = 'x';  // an unused entry's name
  EXPECT_EQ(Resolve(disk2, "gpt-name:dump").status().error(), Error::kMalformed);
}

TEST(BlockdumpResolveTarget, GptNotPresent) {
  RamDisk disk = MbrDisk();
  auto r = Resolve(disk, "gpt-name:dump");
  EXPECT_EQ(r.status().error(), Error::kMalformed);
  EXPECT_STREQ(r.status().what(), "gpt: no GPT header at LBA 1 (no \"EFI PART\" signature)");
}

TEST(BlockdumpResolveTarget, GptFieldsOutOfBounds) {
  {
    RamDisk disk = GptDisk();
    test::Put32(disk.data, 512 + 12, 600);  // header size over a sector
    test::FixGptHeaderCrc(disk.data, 512);
    EXPECT_STREQ(Resolve(disk, "gpt-name:dump").status().what(), "gpt: header size is out of range");
  }
  {
    RamDisk disk = GptDisk();
    test::Put32(disk.data, 512 + 84, 100);  // entry size
    test::FixGptHeaderCrc(disk.data, 512);
    EXPECT_STREQ(Resolve(disk, "gpt-name:dump").status().what(),
                 "gpt: partition entry size is not 128 * 2^n (up to 4096)");
  }
  {
    RamDisk disk = GptDisk();
    test::Put32(disk.data, 512 + 80, 0x7fffffff);  // entry count
    test::FixGptHeaderCrc(disk.data, 512);
    EXPECT_STREQ(Resolve(disk, "gpt-name:dump").status().what(), "gpt: partition entry count is out of range");
  }
  {
    RamDisk disk = GptDisk();
    test::Put64(disk.data, 512 + 72, kGptSectors - 10);  // 32 sectors from there pass the end
    test::FixGptHeaderCrc(disk.data, 512);
    auto r = Resolve(disk, "gpt-name:dump");
    EXPECT_EQ(r.status().error(), Error::kOutOfRange);
    EXPECT_STREQ(r.status().what(), "gpt: the partition entry array passes the end of the device");
  }
  {
    RamDisk disk = GptDisk();
    test::Put64(disk.data, 512 + 48, kGptSectors);  // last usable LBA = sector count
    test::FixGptHeaderCrc(disk.data, 512);
    EXPECT_EQ(Resolve(disk, "gpt-name:dump").status().error(), Error::kOutOfRange);
  }
  {
    RamDisk disk(20000);  // a partition past LastUsableLBA (19966)
    test::WriteGpt(disk.data, {GptPart{test::kLinuxFsType, kDumpUuid, 2048, 19990, "dump"}});
    auto r = Resolve(disk, "gpt-name:dump");
    EXPECT_EQ(r.status().error(), Error::kMalformed);
    EXPECT_STREQ(r.status().what(), "gpt: the partition lies outside the disk's usable LBAs");
  }
  {
    RamDisk disk(20000);  // end before start
    test::WriteGpt(disk.data, {GptPart{test::kLinuxFsType, kDumpUuid, 4096, 4095, "dump"}});
    EXPECT_EQ(Resolve(disk, "gpt-name:dump").status().error(), Error::kMalformed);
  }
}

TEST(BlockdumpResolveTarget, GptReadThroughASmallScratch) {
  RamDisk disk = GptDisk();
  auto r = Resolve(disk, "gpt-name:dump", 512);  // one sector at a time: 32 reads of the array
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->items[0], (Extent{3048, 4096}));
  EXPECT_EQ(disk.reads, 1u + 32u);
  EXPECT_EQ(Resolve(disk, "gpt-name:dump", 511).status().error(), Error::kInvalidArgument);
}

TEST(BlockdumpResolveTarget, GptLargeEntriesAnd4096ByteSectors) {
  GptGeometry g;
  g.sector_size = 4096;
  g.entries = 32;
  g.entry_size = 256;
  RamDisk disk = GptDisk(g, 64);
  auto r = Resolve(disk, "gpt-name:dump", 4096);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->sector_size, 4096u);
  EXPECT_EQ(r->items[0], (Extent{1064, 4096}));
  // An odd count of entries: the CRC covers exactly count * size bytes.
  g.sector_size = 512;
  g.entries = 5;
  g.entry_size = 128;
  RamDisk odd = GptDisk(g);
  r = Resolve(odd, std::string("gpt-uuid:") + kDumpUuid, 512);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->items[0], (Extent{3048, 4096}));
}

TEST(BlockdumpResolveTarget, UnsupportedSectorSize) {
  RamDisk disk(1000, 520);
  EXPECT_EQ(Resolve(disk, "disk").status().error(), Error::kUnsupported);
}

// ---- the guard's mapping ------------------------------------------------------------------------

TEST(BlockdumpMapArea, PiecesFollowTheExtentsAndStopAtMaxSectors) {
  Extents e;
  e.Add(100, 10);
  e.Add(50, 3);
  e.Add(1000, 20);
  std::vector<std::array<uint64_t, 3>> pieces;
  auto fn = [&](uint64_t lba, uint64_t n, uint64_t done) {
    pieces.push_back({lba, n, done});
    return Status::Ok();
  };
  ASSERT_TRUE(MapArea(e, 8 * 512, 20 * 512, 8, fn).ok());
  const std::vector<std::array<uint64_t, 3>> want = {
      {108, 2, 0}, {50, 3, 1024}, {1000, 8, 2560}, {1008, 7, 6656}};
  EXPECT_EQ(pieces, want);
}

TEST(BlockdumpMapArea, RefusesBeyondTheAreaBeforeAnyPiece) {
  Extents e;
  e.Add(100, 10);
  e.Add(500, 10);
  int calls = 0;
  auto fn = [&](uint64_t, uint64_t, uint64_t) {
    ++calls;
    return Status::Ok();
  };
  Status s = MapArea(e, 19 * 512, 2 * 512, 64, fn);  // last sector in, next one out
  EXPECT_EQ(s.error(), Error::kOutOfRange);
  EXPECT_STREQ(s.what(), "blockdump: write beyond the target");
  EXPECT_EQ(MapArea(e, 20 * 512, 512, 64, fn).error(), Error::kOutOfRange);
  EXPECT_EQ(MapArea(e, 1, 512, 64, fn).error(), Error::kInvalidArgument);  // not whole sectors
  EXPECT_EQ(MapArea(e, ~uint64_t{0} / 512 * 512, 512, 64, fn).error(), Error::kOutOfRange);
  EXPECT_EQ(MapArea(e, 0, 100, 64, fn).error(), Error::kInvalidArgument);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(MapArea(e, 19 * 512, 512, 64, fn).ok());
  EXPECT_EQ(calls, 1);
}

TEST(BlockdumpCheckExtents, Errors) {
  Extents e;
  EXPECT_EQ(CheckExtents(e, 100).error(), Error::kInvalidArgument);
  e.Add(0, 50);
  EXPECT_TRUE(CheckExtents(e, 100).ok());
  e.Add(49, 2);
  EXPECT_STREQ(CheckExtents(e, 100).what(), "blockdump: two extents overlap");
  e.items[1] = Extent{50, 51};
  EXPECT_EQ(CheckExtents(e, 100).error(), Error::kOutOfRange);
  e.items[1] = Extent{50, 0};
  EXPECT_STREQ(CheckExtents(e, 100).what(), "blockdump: an extent has no sectors");
}

}  // namespace
}  // namespace salvage::blockdump
