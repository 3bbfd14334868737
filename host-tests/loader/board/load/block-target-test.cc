// Tests for loader/board/load/block-target: salvage load refuses a block sink without a target,
// the whole device without --confirm-whole-device, and a target that holds a partition
// table, a file system or swap, is mounted, backs /, is swap or is held by device-mapper
// (issue #10), naming what it found; it accepts an empty partition, one holding an older
// salvage dump, and a blank disk when confirmed. Dry runs of the arm64 fixture tree with
// a virtio-blk disk (block-target-test-util.h) under --root, and real loads through the
// fake kernel.
#include "board/load/block-target.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "block-target-test-util.h"
#include "load-test-util.h"
#include "board/load/load.h"

namespace salvage::loader::load {
namespace {

using testing::Capture;
using testing::FakeKernel;
using testing::FixtureDisk;
using testing::Scratch;


struct LoadResult {
  int rc = 0;
  std::string out, err;
  std::vector<FakeKernel::Call> calls;
};

bool Has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// salvage load of the arm64 tree with the disk installed; `adjust` sets the options.
template <class Adjust>
LoadResult Load(const Scratch& root, Adjust adjust, bool dry_run = true) {
  const testing::Blobs blobs = testing::BlobsFor("aarch64", root);
  LoadSettings s;
  s.root = root.path();
  s.arch = "aarch64";
  s.dry_run = dry_run;
  s.choices.image = blobs.image;
  s.choices.purgatory = blobs.purgatory;
  s.choices.dtb = testing::CompiledDtb("virt-aarch64-disks");
  s.choices.sink = "virtio-blk";
  adjust(s);
  FakeKernel kernel(root.path());
  if (!dry_run) kernel.root_user = true;
  Capture out, err;
  LoadResult r;
  r.rc = RunLoad(s, kernel, out.file(), err.file());
  r.out = out.text();
  r.err = err.text();
  r.calls = kernel.calls;
  return r;
}

LoadResult LoadTarget(const Scratch& root, const std::string& target, bool confirm = false) {
  return Load(root, [&](LoadSettings& s) {
    s.choices.target = target;
    if (confirm) s.choices.confirm_whole_device = true;
  });
}


// ---- the options ------------------------------------------------------------------------

TEST(BlockTargetTest, ABlockSinkWithoutATargetIsRefused) {
  // Today's main armed the whole device: salvage load --sink sd on a Pi booting from its card.
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, FixtureDisk::Gpt());
  for (const char* sink : {"virtio-blk", "virtio-blk@0xa003e00", "sd"}) {
    SCOPED_TRACE(sink);
    const LoadResult r = Load(root, [&](LoadSettings& s) { s.choices.sink = sink; });
    EXPECT_EQ(r.rc, 1);
    EXPECT_TRUE(Has(r.err, std::string("salvage load: error: --sink ") + sink + " needs --target")) << r.err;
    EXPECT_FALSE(Has(r.out, "ready")) << r.out;
  }
}

TEST(BlockTargetTest, TheWholeDeviceNeedsTheConfirmation) {
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, FixtureDisk::Blank());
  const LoadResult r = LoadTarget(root, "disk");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "--target disk overwrites the whole device (virtio-blk)")) << r.err;
  EXPECT_TRUE(Has(r.err, "add --confirm-whole-device")) << r.err;
  // The confirmation without --target disk is a mistake too.
  const LoadResult c = LoadTarget(root, "gpt-name:dump", /*confirm=*/true);
  EXPECT_EQ(c.rc, 1);
  EXPECT_TRUE(Has(c.err, "--confirm-whole-device confirms --target disk, which is not given")) << c.err;
}

TEST(BlockTargetTest, AConfirmedBlankDiskIsArmedWithTheConfirmationWord) {
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, FixtureDisk::Blank());
  const LoadResult r = Load(root, [](LoadSettings& s) {
    s.choices.target = "disk";
    s.choices.confirm_whole_device = true;
    s.choices.after = "reboot";
  }, /*dry_run=*/false);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "options     salvage.sink=virtio-blk salvage.target=disk salvage.confirm=whole-disk "
                         "salvage.after=reboot")) << r.out;
  EXPECT_TRUE(Has(r.out, "(target disk): /dev/vda")) << r.out;
  ASSERT_EQ(r.calls.size(), 1u);  // kexec_load
}

// ---- what the disk holds -------------------------------------------------------------------

TEST(BlockTargetTest, TheWholeDeviceWithAPartitionTableIsRefused) {
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, FixtureDisk::Gpt());
  root.Write("/sys/block/vda/vda1/partition", "1\n");
  const LoadResult r = LoadTarget(root, "disk", true);
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "salvage load: error: /dev/vda holds a GPT partition table (the target disk on /dev/vda)"))
      << r.err;
  EXPECT_TRUE(Has(r.err, "Use a dedicated partition")) << r.err;

  // An MBR without partitions Linux knows of (sysfs shows none).
  Scratch mbr("proc-arm64-virt");
  testing::InstallVirtioDisk(mbr, FixtureDisk::Blank());
  std::vector<uint8_t> disk(FixtureDisk::kSectors * 512);
  blockdump::test::WriteMbr(disk, {blockdump::test::MbrPart{0x83, 2048, 4096}, {}, {}, {}});
  testing::WriteBytes(mbr.At("/dev/vda"), disk);
  const LoadResult m = LoadTarget(mbr, "disk", true);
  EXPECT_EQ(m.rc, 1);
  EXPECT_TRUE(Has(m.err, "/dev/vda holds an MBR partition table")) << m.err;
}

TEST(BlockTargetTest, AFileSystemOnTheWholeDeviceIsRefused) {
  FixtureDisk d = FixtureDisk::Blank();
  d.Ext4At(0);
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, d);
  const LoadResult r = LoadTarget(root, "disk", true);
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "/dev/vda holds an ext2/3/4 file system")) << r.err;
  // And extents on it.
  const LoadResult e = LoadTarget(root, "extents:4096+2048");
  EXPECT_EQ(e.rc, 1);
  EXPECT_TRUE(Has(e.err, "/dev/vda holds an ext2/3/4 file system over the whole device")) << e.err;
}

TEST(BlockTargetTest, APartitionHoldingAFileSystemIsRefused) {
  struct Case {
    const char* what;
    void (*put)(FixtureDisk&);
  };
  const Case cases[] = {
      {"an ext2/3/4 file system", [](FixtureDisk& d) { d.Ext4At(FixtureDisk::kDumpFirst); }},
      {"swap", [](FixtureDisk& d) { d.SwapAt(FixtureDisk::kDumpFirst); }},
      {"a vfat file system", [](FixtureDisk& d) { d.Put(FixtureDisk::kDumpFirst, 82, "FAT32   "); }},
      {"an xfs file system", [](FixtureDisk& d) { d.Put(FixtureDisk::kDumpFirst, 0, "XFSB"); }},
      {"a btrfs file system", [](FixtureDisk& d) { d.Put(FixtureDisk::kDumpFirst, 0x10040, "_BHRfS_M"); }},
      {"an LVM physical volume", [](FixtureDisk& d) { d.Put(FixtureDisk::kDumpFirst + 1, 0, "LABELONE"); }},
      {"an MBR partition table", [](FixtureDisk& d) {
         d.Put(FixtureDisk::kDumpFirst, 446 + 4, "\x83");
         d.Put(FixtureDisk::kDumpFirst, 446 + 12, "\x10");
         d.Put(FixtureDisk::kDumpFirst, 510, "\x55\xAA");
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    FixtureDisk d = FixtureDisk::Gpt();
    c.put(d);
    Scratch root("proc-arm64-virt");
    testing::InstallVirtioDisk(root, d);
    const LoadResult r = LoadTarget(root, "gpt-name:dump");
    EXPECT_EQ(r.rc, 1);
    EXPECT_TRUE(Has(r.err, std::string("salvage load: error: /dev/vda2 holds ") + c.what +
                               " (the target gpt-name:dump on /dev/vda)"))
        << r.err;
    // The same partition as mbr:N is not possible on a GPT disk; as extents it is.
    const LoadResult e = LoadTarget(root, "extents:10240+8192");
    EXPECT_EQ(e.rc, 1);
    EXPECT_TRUE(Has(e.err, std::string("/dev/vda2, which the target overlaps, holds ") + c.what)) << e.err;
  }
}

TEST(BlockTargetTest, AMountedPartitionIsRefused) {
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, FixtureDisk::Gpt());
  root.Write("/proc/self/mountinfo", "22 1 0:21 / / rw - rootfs rootfs rw\n"
                                     "31 22 254:2 / /mnt/data rw,relatime shared:5 - ext4 /dev/vda2 rw\n");
  const LoadResult r = LoadTarget(root, "gpt-name:dump");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "salvage load: error: /dev/vda2 is mounted at /mnt/data (the target gpt-name:dump")) << r.err;
}

TEST(BlockTargetTest, APartitionBackingRootOrBootIsRefused) {
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, FixtureDisk::Gpt());
  root.Write("/proc/self/mountinfo", "22 1 254:2 / / rw,relatime - ext4 /dev/vda2 rw\n"
                                     "30 22 254:1 / /boot/firmware rw - vfat /dev/vda1 rw\n");
  const LoadResult r = LoadTarget(root, "gpt-name:dump");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "/dev/vda2 holds the root file system (/ is mounted from it)")) << r.err;
  const LoadResult b = LoadTarget(root, "gpt-name:before");
  EXPECT_EQ(b.rc, 1);
  EXPECT_TRUE(Has(b.err, "/dev/vda1 holds the boot files (/boot/firmware is mounted from it)")) << b.err;
  // The whole device, confirmed, is refused too: a partition of it backs /.
  const LoadResult d = LoadTarget(root, "disk", true);
  EXPECT_EQ(d.rc, 1);
  EXPECT_TRUE(Has(d.err, "/dev/vda1 holds the boot files (/boot/firmware is mounted from it), and the whole device "
                         "would be overwritten")) << d.err;
}

TEST(BlockTargetTest, ASwapPartitionOrAHeldOneIsRefused) {
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, FixtureDisk::Gpt());
  root.Write("/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/vda2\tpartition\t32768\t0\t-2\n");
  const LoadResult r = LoadTarget(root, "gpt-name:dump");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "/dev/vda2 is in use as swap (/proc/swaps)")) << r.err;

  Scratch held("proc-arm64-virt");
  testing::InstallVirtioDisk(held, FixtureDisk::Gpt());
  held.Write("/sys/block/vda/vda2/holders/dm-0/dev", "253:0\n");
  const LoadResult h = LoadTarget(held, "gpt-name:dump");
  EXPECT_EQ(h.rc, 1);
  EXPECT_TRUE(Has(h.err, "/dev/vda2 is used by /dev/dm-0 (device-mapper")) << h.err;
}

TEST(BlockTargetTest, ExtentsOverThePartitionTableAreRefused) {
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, FixtureDisk::Gpt());
  const LoadResult r = LoadTarget(root, "extents:0+2048");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "the target overlaps /dev/vda's GPT partition table")) << r.err;
}

// ---- what is accepted ---------------------------------------------------------------------

TEST(BlockTargetTest, AnEmptyPartitionOrOneWithAnOlderDumpIsArmed) {
  FixtureDisk d = FixtureDisk::Gpt();
  d.Ext4At(2048);  // the other partitions may hold anything
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, d);
  root.Write("/proc/self/mountinfo", "22 1 254:1 / / rw - ext4 /dev/vda1 rw\n");
  const LoadResult r = Load(root, [](LoadSettings& s) {
    s.choices.target = "gpt-name:dump";
    s.verbose = true;
  }, /*dry_run=*/false);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(Has(r.err, "disk: /dev/vda (gpt-name:dump, 32 MiB): no file system or swap; not mounted")) << r.err;
  EXPECT_TRUE(Has(r.out, "the first virtio-blk device (target gpt-name:dump): /dev/vda for salvage extract")) << r.out;

  FixtureDisk old = FixtureDisk::Gpt();
  old.Put(FixtureDisk::kDumpFirst, 0, "SLVGDUMP");
  Scratch again("proc-arm64-virt");
  testing::InstallVirtioDisk(again, old);
  EXPECT_EQ(LoadTarget(again, "gpt-name:dump").rc, 0);
}

TEST(BlockTargetTest, TheDiskIsTheOneTheImageWouldPick) {
  // --sink virtio-blk: the first virtio-mmio node in DT order with a Linux block device
  // (a003c00 has a network device); @ADDR: that one only.
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, FixtureDisk::Gpt());
  const LoadResult r = Load(root, [](LoadSettings& s) {
    s.choices.sink = "virtio-blk@0xa003c00";
    s.choices.target = "gpt-name:dump";
  });
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "salvage load cannot tell which disk the image would write: no Linux block device is below "
                         "the virtio-mmio device at 0xa003c00")) << r.err;
  EXPECT_TRUE(Has(r.err, "modprobe virtio_blk")) << r.err;
  const LoadResult e = Load(root, [](LoadSettings& s) {
    s.choices.sink = "virtio-blk@0xa003e00";
    s.choices.target = "gpt-name:dump";
  });
  EXPECT_EQ(e.rc, 0) << e.err;
  const LoadResult none = Load(root, [](LoadSettings& s) {
    s.choices.sink = "virtio-blk@0xb000000";
    s.choices.target = "gpt-name:dump";
  });
  EXPECT_EQ(none.rc, 1);
  EXPECT_TRUE(Has(none.err, "the DTB has no enabled virtio-mmio device at 0xb000000 that salvage drives")) << none.err;
}

TEST(BlockTargetTest, ATargetTheImageCannotResolveIsRefusedBeforeLoading) {
  Scratch root("proc-arm64-virt");
  testing::InstallVirtioDisk(root, FixtureDisk::Gpt());
  const LoadResult r = LoadTarget(root, "gpt-name:nosuch");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Has(r.err, "the target gpt-name:nosuch on /dev/vda: gpt: no partition named 'nosuch'")) << r.err;
}

// ---- the signatures ------------------------------------------------------------------------

TEST(FindSignature, KnownSignaturesAndNothingElse) {
  std::vector<uint8_t> head(128 * 1024);
  EXPECT_FALSE(FindSignature(head));
  auto with = [&](size_t off, std::string_view s) {
    std::vector<uint8_t> h(128 * 1024);
    for (size_t i = 0; i < s.size(); ++i) h[off + i] = static_cast<uint8_t>(s[i]);
    return FindSignature(h).value_or("");
  };
  EXPECT_EQ(with(1080, "\x53\xEF"), "an ext2/3/4 file system");
  EXPECT_EQ(with(4086, "SWAPSPACE2"), "swap");
  EXPECT_EQ(with(65526, "SWAPSPACE2"), "swap");  // 64 KiB pages
  EXPECT_EQ(with(512, "EFI PART"), "a GPT partition table");
  EXPECT_EQ(with(0, "LUKS\xba\xbe"), "a LUKS encrypted volume");
  EXPECT_EQ(with(3, "NTFS    "), "an NTFS file system");
  EXPECT_EQ(with(3, "EXFAT   "), "an exFAT file system");
  EXPECT_EQ(with(54, "FAT16   "), "a vfat file system");
  EXPECT_EQ(with(0, "SLVGDUMP"), "");  // an older salvage dump: what a dump partition holds
  // 0x55AA alone (no partition entry in use) is not a partition table.
  EXPECT_EQ(with(510, "\x55\xAA"), "");
  // A short read finds what lies inside it and nothing beyond.
  std::vector<uint8_t> short_head(1024);
  EXPECT_FALSE(FindSignature(short_head));
}

}  // namespace
}  // namespace salvage::loader::load
