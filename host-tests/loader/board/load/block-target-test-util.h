// Fixture disks for salvage load's block-sink checks (loader/board/load/block-target): under a
// scratch root, the sysfs a virtio-blk disk has on QEMU's virt
// (sys/bus/platform/devices/a003e00.virtio_mmio/virtio1/block/vda, sys/block/vda with
// its partitions), the disk itself as an image file at dev/vda, and proc/self/mountinfo
// and proc/swaps. Plain directories stand in for sysfs's symlinks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "load-test-util.h"
#include "runtime/blockdump/partition-builder.h"

namespace salvage::loader::load::testing {

/// A 64 MiB disk: GPT with "before" (2048-10239), "dump" (10240-75775) and "after"; or
/// blank (no table, no partitions).
struct FixtureDisk {
  static constexpr uint64_t kSectors = 64 * 2048;
  static constexpr uint64_t kDumpFirst = 10240, kDumpCount = 65536;
  std::vector<uint8_t> bytes = std::vector<uint8_t>(kSectors * 512);
  bool gpt = false;

  static FixtureDisk Gpt() {
    FixtureDisk d;
    d.gpt = true;
    blockdump::test::WriteGpt(
        d.bytes, {{blockdump::test::kLinuxFsType, "aaaaaaaa-0000-4000-8000-000000000001", 2048, kDumpFirst - 1, "before"},
                  {blockdump::test::kLinuxFsType, "5a1a6e00-1234-4abc-8def-0123456789ab", kDumpFirst,
                   kDumpFirst + kDumpCount - 1, "dump"},
                  {blockdump::test::kLinuxFsType, "aaaaaaaa-0000-4000-8000-000000000002", kDumpFirst + kDumpCount,
                   kSectors - 34, "after"}});
    return d;
  }
  static FixtureDisk Blank() { return FixtureDisk{}; }

  /// Puts `what` at byte `offset` of the sector `sector`.
  void Put(uint64_t sector, size_t offset, const std::string& what) {
    for (size_t i = 0; i < what.size(); ++i) bytes[sector * 512 + offset + i] = static_cast<uint8_t>(what[i]);
  }
  void Ext4At(uint64_t sector) { Put(sector, 1080, std::string("\x53\xEF", 2)); }
  void SwapAt(uint64_t sector) { Put(sector, 4096 - 10, "SWAPSPACE2"); }
};

/// Writes the disk's sysfs, dev/vda and empty mountinfo/swaps under `root`.
inline void InstallVirtioDisk(const Scratch& root, const FixtureDisk& disk) {
  root.Write("/sys/bus/platform/devices/a003e00.virtio_mmio/virtio1/block/vda/dev", "254:0\n");
  root.Write("/sys/bus/platform/devices/a003c00.virtio_mmio/virtio0/net/eth0/type", "1\n");
  root.Write("/sys/block/vda/dev", "254:0\n");
  root.Write("/sys/block/vda/size", std::to_string(FixtureDisk::kSectors) + "\n");
  root.Write("/sys/block/vda/queue/logical_block_size", "512\n");
  std::filesystem::create_directories(root.At("/sys/block/vda/holders"));
  if (disk.gpt) {
    const uint64_t parts[3][2] = {{2048, FixtureDisk::kDumpFirst - 2048},
                                  {FixtureDisk::kDumpFirst, FixtureDisk::kDumpCount},
                                  {FixtureDisk::kDumpFirst + FixtureDisk::kDumpCount,
                                   FixtureDisk::kSectors - 34 - (FixtureDisk::kDumpFirst + FixtureDisk::kDumpCount) + 1}};
    for (int i = 0; i < 3; ++i) {
      const std::string dir = "/sys/block/vda/vda" + std::to_string(i + 1);
      root.Write(dir + "/partition", std::to_string(i + 1) + "\n");
      root.Write(dir + "/dev", "254:" + std::to_string(i + 1) + "\n");
      root.Write(dir + "/start", std::to_string(parts[i][0]) + "\n");
      root.Write(dir + "/size", std::to_string(parts[i][1]) + "\n");
      std::filesystem::create_directories(root.At(dir + "/holders"));
    }
  }
  WriteBytes(root.At("/dev/vda"), disk.bytes);
  root.Write("/proc/self/mountinfo", "22 1 0:21 / / rw,relatime - rootfs rootfs rw\n"
                                     "23 22 0:5 / /proc rw - proc proc rw\n");
  root.Write("/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
}

}  // namespace salvage::loader::load::testing
