// Tests for loader/workstation/extract (salvage extract): disk images written by the real BlockSink
// (over the RAM-disk fake) with a stream from the real Encoder, extracted through the
// real Receiver; the vmcore read back with <elf.h>'s structs. Complete dumps on a GPT
// partition, a partition file and scattered extents; a truncated dump; an interrupted
// one; one whose trailer is an older dump's; and the errors.
#include "workstation/extract/extract.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "loader/workstation/vmcore-test-util.h"
#include "workstation/recv/receiver.h"
#include "runtime/blockdump/dump-test-util.h"
#include "runtime/blockdump/partition-builder.h"
#include "runtime/blockdump/ram-disk.h"
#include "salvage/blockdump/sink.h"
#include "salvage/blockdump/target.h"

namespace salvage::loader {
namespace {

using blockdump::BlockSink;
using blockdump::BlockSinkMemoryBytes;
using blockdump::Extent;
using blockdump::Extents;
using blockdump::test::AlignedMemory;
using blockdump::test::Capture;
using blockdump::test::CaptureOptions;
using blockdump::test::CaptureTo;
using blockdump::test::GptPart;
using blockdump::test::RamDisk;
using stream::test::FakeMemory;
using stream::test::MakeMemory;
using stream::test::TestLz4;
using test::Bytes;
using test::Core;
using test::Exists;
using test::ParseCore;
using test::ReadFile;
using test::TempDir;
using test::WriteFile;

constexpr char kDumpUuid[] = "6a1b2c3d-4e5f-4061-8899-aabbccddeeff";

struct Extracted {
  int rc = -1;
  std::string log;
};

Extracted RunExtract(ExtractOptions o) {
  o.progress = false;
  Extracted out;
  testing::internal::CaptureStderr();
  out.rc = Extract(o);
  out.log = testing::internal::GetCapturedStderr();
  return out;
}

/// Every page in the vmcore's PT_LOADs, by physical address.
std::map<uint64_t, std::vector<uint8_t>> VmcorePages(const std::string& path, uint32_t page_size = 4096) {
  std::map<uint64_t, std::vector<uint8_t>> pages;
  const std::vector<uint8_t> f = ReadFile(path);
  const Core c = ParseCore(f);
  EXPECT_TRUE(c.ok) << path << " is not an ELF core";
  for (const auto& ph : c.Loads()) {
    for (uint64_t off = 0; off + page_size <= ph.filesz; off += page_size) {
      pages[ph.paddr + off] = Bytes(f, ph.offset + off, page_size);
    }
  }
  return pages;
}

/// The vmcore holds exactly the first `n` pages of `m` in page order, with their bytes.
void ExpectFirstPages(const std::string& vmcore, const FakeMemory& m, uint64_t n) {
  const auto pages = VmcorePages(vmcore, m.page_size);
  std::set<uint64_t> want;
  for (const auto& r : m.ranges) {
    for (uint64_t a = r.base; a < r.base + r.size && want.size() < n; a += m.page_size) want.insert(a);
  }
  std::set<uint64_t> got;
  for (const auto& [phys, bytes] : pages) {
    got.insert(phys);
    auto it = m.pages.find(phys);
    ASSERT_NE(it, m.pages.end());
    EXPECT_TRUE(bytes == it->second) << "wrong bytes at 0x" << std::hex << phys;
  }
  EXPECT_EQ(got, want);
}

/// A 8 MiB disk with a GPT: "root" and a 5 MiB "dump" partition.
constexpr uint64_t kDiskSectors = 16384;
constexpr uint64_t kDumpFirst = 4096;
constexpr uint64_t kDumpSectors = 10240;

RamDisk GptDisk() {
  RamDisk disk(kDiskSectors);
  blockdump::test::WriteGpt(
      disk.data, {GptPart{blockdump::test::kLinuxFsType, "0d3e8a6f-1111-4222-8333-944455556666", 2048, 4095, "root"},
                  GptPart{blockdump::test::kLinuxFsType, kDumpUuid, kDumpFirst, kDumpFirst + kDumpSectors - 1, "dump"}});
  return disk;
}

Extents Resolve(RamDisk& disk, const std::string& target) {
  auto spec = blockdump::ParseTarget(target);
  EXPECT_TRUE(spec.ok()) << spec.status().what();
  std::vector<uint8_t> scratch(4096);
  auto r = blockdump::ResolveTarget(disk, *spec, scratch);
  EXPECT_TRUE(r.ok()) << r.status().what();
  return *r;
}

/// Runs a capture of `m` into `extents` of `disk`.
Capture Dump(RamDisk& disk, const Extents& extents, const FakeMemory& m, const CaptureOptions& o = {}) {
  AlignedMemory mem(BlockSinkMemoryBytes(4, 64 * 1024));
  BlockSink sink(disk, extents, mem.span(), 64 * 1024);
  EXPECT_TRUE(sink.Begin().ok());
  TestLz4 lz4;
  Capture c = CaptureTo(sink, m, lz4, o);
  EXPECT_TRUE(c.status.ok()) << c.status.what();
  if (!o.finish) disk.WaitAll().ok();  // what was queued reached the disk; the staged rest did not
  return c;
}

class ExtractTest : public ::testing::Test {
 protected:
  std::string Image() const { return dir_.File("disk.img"); }
  std::string Out() const { return dir_.File("vmcore"); }
  ExtractOptions Options(const std::string& target = "") const {
    ExtractOptions o;
    o.source = Image();
    o.output = Out();
    o.target = target;
    return o;
  }
  void TearDown() override { EXPECT_TRUE(dir_.Partials().empty()); }
  TempDir dir_;
};

TEST_F(ExtractTest, CompleteDumpOnAGptPartition) {
  RamDisk disk = GptDisk();
  const Extents e = Resolve(disk, "gpt-name:dump");
  const FakeMemory m = MakeMemory({{0x40000000, 0x100000}, {0x48000000, 0x40000}});
  const Capture c = Dump(disk, e, m, {.stream_id = 0xd1d1});
  ASSERT_FALSE(c.stopped_early);
  WriteFile(Image(), disk.data);

  Extracted r = RunExtract(Options("gpt-name:dump"));
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("(gpt-name:dump): dump 0xd1d1, complete;"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("the dump is complete and intact"), std::string::npos) << r.log;
  ExpectFirstPages(Out(), m, m.TotalPages());

  // The same by unique GUID, and from the partition's bytes alone.
  ExtractOptions o = Options(std::string("gpt-uuid:") + kDumpUuid);
  o.force = true;
  r = RunExtract(o);
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  const std::string part = dir_.File("part.img");
  WriteFile(part, std::vector<uint8_t>(disk.data.begin() + kDumpFirst * 512,
                                       disk.data.begin() + (kDumpFirst + kDumpSectors) * 512));
  o = Options();
  o.source = part;
  o.force = true;
  r = RunExtract(o);
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  ExpectFirstPages(Out(), m, m.TotalPages());
}

TEST_F(ExtractTest, ScatteredExtentsAndFollowingTheHeadersList) {
  RamDisk disk(kDiskSectors);
  const std::string list = "9000+3000,100+1500,5000+2000";
  const Extents e = Resolve(disk, "extents:" + list);
  const FakeMemory m = MakeMemory({{0x80000000, 0x180000}}, 4096, 7);
  const Capture c = Dump(disk, e, m);
  ASSERT_FALSE(c.stopped_early);
  WriteFile(Image(), disk.data);

  ExtractOptions o = Options();
  o.extents = list;
  Extracted r = RunExtract(o);
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  ExpectFirstPages(Out(), m, m.TotalPages());

  // Only the first extent: the header lists the rest.
  o.extents = "9000+8";
  o.force = true;
  r = RunExtract(o);
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("following the 3 extents of the dump header"), std::string::npos) << r.log;
  ExpectFirstPages(Out(), m, m.TotalPages());
}

TEST_F(ExtractTest, TruncatedDumpSaysHowMuchItKept) {
  RamDisk disk = GptDisk();
  const Extents e = Resolve(disk, "gpt-name:dump");  // 5 MiB
  const FakeMemory m = MakeMemory({{0x40000000, 0x1800000}});  // 24 MiB, a quarter incompressible
  const Capture c = Dump(disk, e, m);
  ASSERT_TRUE(c.stopped_early);
  WriteFile(Image(), disk.data);

  const Extracted r = RunExtract(Options("gpt-name:dump"));
  ASSERT_EQ(r.rc, kExitIncomplete) << r.log;
  EXPECT_NE(r.log.find("truncated (the target was too small)"), std::string::npos) << r.log;
  const std::string want = "the dump on the target is truncated: it kept " + std::to_string(c.pages) + " of " +
                           std::to_string(m.TotalPages()) + " pages (the target was too small)";
  EXPECT_NE(r.log.find(want), std::string::npos) << r.log;
  ExpectFirstPages(Out(), m, c.pages);
}

TEST_F(ExtractTest, InterruptedDumpKeepsWhatWasWritten) {
  RamDisk disk = GptDisk();
  const Extents e = Resolve(disk, "gpt-name:dump");
  const FakeMemory m = MakeMemory({{0x40000000, 0x200000}});
  const Capture c = Dump(disk, e, m, {.stream_id = 0xabc, .finish = false, .stop_after_pages = 300});
  WriteFile(Image(), disk.data);

  const Extracted r = RunExtract(Options("gpt-name:dump"));
  ASSERT_EQ(r.rc, kExitIncomplete) << r.log;
  EXPECT_NE(r.log.find("dump 0xabc, interrupted (no trailer); stream read up to this dump's last record in a "),
            std::string::npos)
      << r.log;
  // The stream's size is said once, when it is known: never the area's capacity first.
  EXPECT_EQ(r.log.find("of stream in a"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find(" of stream read; nothing of this dump after that)"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("the dump on the target was interrupted: it has no trailer"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("nothing of this dump after that"), std::string::npos) << r.log;  // did not read it all
  // What reached the disk: whole 64 KiB buffers of stream (the last partial one was
  // still staged). Every page in the vmcore is right, and they are the first ones.
  const auto pages = VmcorePages(Out());
  EXPECT_GT(pages.size(), 100u);
  EXPECT_LT(pages.size(), 300u);
  ExpectFirstPages(Out(), m, pages.size());
}

TEST_F(ExtractTest, StaleTrailerOfAnOlderDumpIsNotBelieved) {
  RamDisk disk = GptDisk();
  const Extents e = Resolve(disk, "gpt-name:dump");
  const FakeMemory old_memory = MakeMemory({{0x40000000, 0x100000}}, 4096, 1);
  Dump(disk, e, old_memory, {.stream_id = 0x01d});
  const uint64_t trailer = (kDumpFirst + kDumpSectors) * 512 - 4096;
  const std::vector<uint8_t> old_trailer(disk.data.begin() + trailer, disk.data.begin() + trailer + 4096);

  // A new crash, interrupted; its zeroing of the trailer block did not survive (say the
  // disk's cache lost it): the older dump's trailer is back.
  const FakeMemory m = MakeMemory({{0x40000000, 0x100000}}, 4096, 2);
  Dump(disk, e, m, {.stream_id = 0x2e2, .finish = false, .stop_after_pages = 100});
  std::copy(old_trailer.begin(), old_trailer.end(), disk.data.begin() + trailer);
  WriteFile(Image(), disk.data);

  const Extracted r = RunExtract(Options("gpt-name:dump"));
  ASSERT_EQ(r.rc, kExitIncomplete) << r.log;
  EXPECT_NE(r.log.find("dump 0x2e2, interrupted (the trailer is an older dump's, 0x1d)"), std::string::npos)
      << r.log;
  EXPECT_NE(r.log.find("the trailer on the target belongs to an older dump (0x1d), not to this one (0x2e2)"),
            std::string::npos)
      << r.log;
  // Only the new dump's pages: the older stream's leftovers are another stream.
  const auto pages = VmcorePages(Out());
  ASSERT_GT(pages.size(), 10u);
  ExpectFirstPages(Out(), m, pages.size());
}

TEST_F(ExtractTest, NoDumpOnTheSource) {
  RamDisk disk = GptDisk();
  WriteFile(Image(), disk.data);
  Extracted r = RunExtract(Options("gpt-name:dump"));
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.log.find("holds no salvage dump: no dump header at its start"), std::string::npos) << r.log;
  r = RunExtract(Options());
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.log.find("needs --target as salvage.target= said"), std::string::npos) << r.log;
  EXPECT_FALSE(Exists(Out()));
}

// Disk format 2 keeps a backup of the header block in the area's last block but one
// (docs/disk-format.md §2): a damaged or overwritten header block is read from there.
TEST_F(ExtractTest, DamagedHeaderBlockIsReadFromItsBackup) {
  RamDisk disk = GptDisk();
  const Extents e = Resolve(disk, "gpt-name:dump");
  const FakeMemory m = MakeMemory({{0x40000000, 0x40000}});
  const Capture c = Dump(disk, e, m, {.stream_id = 0xbac});
  ASSERT_FALSE(c.stopped_early);
  const uint64_t backup = kDumpSectors * 512 - 8192;
  const std::string used = "used its backup at area offset " + std::to_string(backup);
  disk.data[kDumpFirst * 512 + 100] ^= 1;
  WriteFile(Image(), disk.data);

  Extracted r = RunExtract(Options("gpt-name:dump"));
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("is damaged (CRC mismatch); " + used), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("(gpt-name:dump): dump 0xbac, complete;"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("the dump is complete and intact"), std::string::npos) << r.log;
  ExpectFirstPages(Out(), m, m.TotalPages());

  // The header block overwritten with zeros (no magic), read from the partition alone.
  std::fill(disk.data.begin() + kDumpFirst * 512, disk.data.begin() + kDumpFirst * 512 + 4096, 0);
  const std::string part = dir_.File("part.img");
  WriteFile(part, std::vector<uint8_t>(disk.data.begin() + kDumpFirst * 512,
                                       disk.data.begin() + (kDumpFirst + kDumpSectors) * 512));
  ExtractOptions o = Options();
  o.source = part;
  o.force = true;
  r = RunExtract(o);
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("is not there (no magic: overwritten?); " + used), std::string::npos) << r.log;
  ExpectFirstPages(Out(), m, m.TotalPages());
}

TEST_F(ExtractTest, DamagedHeaderBlockAndBackupAreRefused) {
  RamDisk disk = GptDisk();
  const Extents e = Resolve(disk, "gpt-name:dump");
  Dump(disk, e, MakeMemory({{0x40000000, 0x40000}}));
  disk.data[kDumpFirst * 512 + 100] ^= 1;
  disk.data[(kDumpFirst + kDumpSectors) * 512 - 8192 + 100] ^= 1;  // the backup block
  WriteFile(Image(), disk.data);
  const Extracted r = RunExtract(Options("gpt-name:dump"));
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.log.find("is damaged (CRC mismatch), and so is its backup at the area's end"), std::string::npos)
      << r.log;
  EXPECT_NE(r.log.find("nothing extracted"), std::string::npos) << r.log;
  EXPECT_EQ(r.log.find("used its backup"), std::string::npos) << r.log;
  EXPECT_FALSE(Exists(Out()));
}

TEST_F(ExtractTest, TargetErrors) {
  RamDisk disk = GptDisk();
  WriteFile(Image(), disk.data);
  Extracted r = RunExtract(Options("gpt-name:nope"));
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.log.find("target gpt-name:nope: gpt: no partition named 'nope'"), std::string::npos) << r.log;
  r = RunExtract(Options("mbr:1"));
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.log.find("the disk is GPT"), std::string::npos) << r.log;
  r = RunExtract(Options("gpt-name:"));
  EXPECT_EQ(r.rc, kExitUsage);
  EXPECT_NE(r.log.find("--target: target: gpt-name: needs a name"), std::string::npos) << r.log;
  ExtractOptions o = Options();
  o.extents = "1+0";
  r = RunExtract(o);
  EXPECT_EQ(r.rc, kExitUsage);
  o.target = "disk";
  o.extents = "1+1";
  EXPECT_EQ(RunExtract(o).rc, kExitUsage);
  o = Options();
  o.source = dir_.File("missing.img");
  r = RunExtract(o);
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.log.find("cannot open"), std::string::npos) << r.log;
}

TEST_F(ExtractTest, ExistingOutputIsNotReplacedWithoutForce) {
  RamDisk disk = GptDisk();
  const Extents e = Resolve(disk, "gpt-name:dump");
  Dump(disk, e, MakeMemory({{0x40000000, 0x40000}}));
  WriteFile(Image(), disk.data);
  const std::vector<uint8_t> precious = {'o', 'l', 'd'};
  WriteFile(Out(), precious);
  Extracted r = RunExtract(Options("gpt-name:dump"));
  EXPECT_EQ(r.rc, kExitUsage);
  EXPECT_NE(r.log.find("exists; use --force"), std::string::npos) << r.log;
  EXPECT_EQ(ReadFile(Out()), precious);
  ExtractOptions o = Options("gpt-name:dump");
  o.force = true;
  r = RunExtract(o);
  EXPECT_EQ(r.rc, kExitOk) << r.log;
}

TEST_F(ExtractTest, CommandLine) {
  auto run = [](std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    testing::internal::CaptureStderr();
    testing::internal::CaptureStdout();
    const int rc = ExtractCommand(static_cast<int>(argv.size()), argv.data());
    const std::string out = testing::internal::GetCapturedStdout() + testing::internal::GetCapturedStderr();
    return std::make_pair(rc, out);
  };
  auto [rc, out] = run({"--help"});
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("usage: salvage extract"), std::string::npos);
  std::tie(rc, out) = run({});
  EXPECT_EQ(rc, kExitUsage);
  EXPECT_NE(out.find("no SOURCE given"), std::string::npos);
  std::tie(rc, out) = run({"--bogus", "x"});
  EXPECT_EQ(rc, kExitUsage);
  std::tie(rc, out) = run({"a", "b"});
  EXPECT_NE(out.find("more than one source"), std::string::npos);
  std::tie(rc, out) = run({"-o"});
  EXPECT_EQ(rc, kExitUsage);

  RamDisk disk = GptDisk();
  const Extents e = Resolve(disk, "gpt-name:dump");
  const FakeMemory m = MakeMemory({{0x40000000, 0x40000}});
  Dump(disk, e, m);
  WriteFile(Image(), disk.data);
  std::tie(rc, out) = run({Image(), "-o", Out(), "-q", "--target", "gpt-name:dump"});
  EXPECT_EQ(rc, kExitOk) << out;
  ExpectFirstPages(Out(), m, m.TotalPages());
}

}  // namespace
}  // namespace salvage::loader
