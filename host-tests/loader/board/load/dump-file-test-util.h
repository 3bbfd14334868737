// Helpers for the tests of loader/board/load/dump-file: a fake file system (FIEMAP extents,
// fallocate and the zeros as a model, every call recorded) and sysfs fixture trees of a
// Raspberry Pi's SD card, a USB disk and an eMMC, built under a scratch root.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "load-test-util.h"
#include "board/load/dump-file.h"

namespace salvage::loader::load::testing {

inline constexpr uint64_t kMiB = uint64_t{1} << 20;

/// A file system in memory. New blocks are handed out from `next_physical` on (bytes
/// from the start of the partition), in pieces of `piece` bytes (0: one piece) with a
/// gap of `gap` bytes between pieces, so that they do not merge.
class FakeFiles final : public FileSystem {
 public:
  struct File {
    bool regular = true;
    uint64_t size = 0;
    std::vector<FileExtent> extents;  ///< In logical order.
    std::vector<uint8_t> bytes;       ///< What Read returns (zeros beyond).
    bool immutable = false;
  };
  std::map<std::string, File> files;
  std::set<std::string> dirs = {"/", "/var", "/var/crash"};
  uint32_t dev_major = 179, dev_minor = 2;
  FsStatus fs{0xEF53, 16 * 1024 * kMiB};
  int map_error = 0;
  bool immutable_supported = true;
  bool fallocate_supported = true;
  uint64_t next_physical = 0x40000000;
  uint64_t piece = 0;
  uint64_t gap = kMiB;

  struct FillCall {
    std::string path;
    uint64_t size = 0;
    std::vector<ByteRange> zero;
  };
  std::vector<FillCall> fills;
  std::vector<std::string> made_dirs;
  std::vector<std::string> immutable_calls;

  Expected<FileStatus> Stat(const std::string& path) override {
    FileStatus s;
    if (auto it = files.find(path); it != files.end()) {
      s.exists = true;
      s.regular = it->second.regular;
      s.size = it->second.size;
    } else if (dirs.count(path)) {
      s.exists = true;
    } else {
      return s;
    }
    s.dev_major = dev_major;
    s.dev_minor = dev_minor;
    return s;
  }
  Expected<FsStatus> StatFs(const std::string&) override { return fs; }
  Expected<void> MakeDirectories(const std::string& path) override {
    made_dirs.push_back(path);
    for (std::filesystem::path p = path; !p.empty() && p != p.root_path(); p = p.parent_path()) dirs.insert(p.string());
    return {};
  }
  Expected<FillResult> Fill(const std::string& path, uint64_t size, std::span<const ByteRange> zero) override {
    fills.push_back({path, size, {zero.begin(), zero.end()}});
    File& f = files[path];
    FillResult r;
    r.was_immutable = f.immutable;
    f.immutable = false;
    if (size > f.size) {
      r.fallocated = fallocate_supported;
      Allocate(f, f.size, size, fallocate_supported ? fiemap::kUnwritten : 0);
      f.size = size;
    }
    for (const ByteRange& z : zero) {
      Allocate(f, z.offset, z.offset + z.length, 0);  // holes
      for (FileExtent& e : f.extents) {
        if (e.logical < z.offset + z.length && z.offset < e.logical + e.length) e.flags &= ~fiemap::kUnwritten;
      }
      r.zero_bytes += z.length;
    }
    if (!f.extents.empty()) {
      for (FileExtent& e : f.extents) e.flags &= ~fiemap::kLast;
      f.extents.back().flags |= fiemap::kLast;
    }
    return r;
  }
  FileMap Map(const std::string& path) override {
    FileMap m;
    m.error = map_error;
    if (map_error == 0) m.extents = files.at(path).extents;
    return m;
  }
  Expected<std::vector<uint8_t>> Read(const std::string& path, uint64_t offset, size_t length) override {
    const File& f = files.at(path);
    std::vector<uint8_t> out;
    for (uint64_t i = offset; i < offset + length && i < f.size; ++i) out.push_back(i < f.bytes.size() ? f.bytes[i] : 0);
    return out;
  }
  Expected<bool> SetImmutable(const std::string& path) override {
    immutable_calls.push_back(path);
    if (!immutable_supported) return false;
    files.at(path).immutable = true;
    return true;
  }

  /// A file of `size` bytes, written, in one extent at `physical` (or in pieces).
  File& AddFile(const std::string& path, uint64_t size) {
    File& f = files[path];
    Allocate(f, 0, size, 0);
    f.size = size;
    if (!f.extents.empty()) f.extents.back().flags |= fiemap::kLast;
    return f;
  }

 private:
  // Gives blocks to the parts of [from, to) no extent covers.
  void Allocate(File& f, uint64_t from, uint64_t to, uint32_t flags) {
    std::vector<FileExtent> add;
    uint64_t at = from;
    auto give = [&](uint64_t a, uint64_t b) {
      while (a < b) {
        const uint64_t n = piece ? std::min(piece, b - a) : b - a;
        add.push_back({a, next_physical, n, flags});
        next_physical += n + (piece ? gap : 0);
        a += n;
      }
    };
    std::vector<FileExtent> sorted = f.extents;
    std::sort(sorted.begin(), sorted.end(), [](const FileExtent& x, const FileExtent& y) { return x.logical < y.logical; });
    for (const FileExtent& e : sorted) {
      if (e.logical + e.length <= at) continue;
      if (e.logical >= to) break;
      if (e.logical > at) give(at, std::min(e.logical, to));
      at = std::max(at, e.logical + e.length);
    }
    if (at < to) give(at, to);
    f.extents.insert(f.extents.end(), add.begin(), add.end());
    std::sort(f.extents.begin(), f.extents.end(),
              [](const FileExtent& x, const FileExtent& y) { return x.logical < y.logical; });
  }
};

/// sysfs of a Raspberry Pi 3's SD card under `root`: /dev/mmcblk0 on the sdhost
/// (3f202000.mmc), partition 1 (vfat, 179:1) at 8192 and partition 2 (ext4, 179:2) at
/// 532480, /dev/block 179:0 for the whole card; a USB disk sda1 (8:1); an eMMC
/// mmcblk1p1 (179:33); a device-mapper device dm-0 (254:0); the mountinfo of both SD
/// partitions.
struct SysfsCase {
  std::string controller = "platform/soc/3f202000.mmc";
  std::string card_type = "SD";
};

inline void Link(const std::string& link, const std::string& target) {
  std::filesystem::create_directories(std::filesystem::path(link).parent_path());
  std::filesystem::create_directory_symlink(target, link);
}

inline void MakePiSysfs(const Scratch& root, const SysfsCase& c = {}) {
  const std::string card = "/sys/devices/" + c.controller + "/mmc_host/mmc0/mmc0:aaaa";
  root.Write(card + "/type", c.card_type + "\n");
  const std::string disk = card + "/block/mmcblk0";
  root.Write(disk + "/size", "62521344\n");
  root.Write(disk + "/queue/logical_block_size", "512\n");
  root.Write(disk + "/mmcblk0p1/partition", "1\n");
  root.Write(disk + "/mmcblk0p1/start", "8192\n");
  root.Write(disk + "/mmcblk0p1/size", "524288\n");
  root.Write(disk + "/mmcblk0p2/partition", "2\n");
  root.Write(disk + "/mmcblk0p2/start", "532480\n");
  root.Write(disk + "/mmcblk0p2/size", "61988864\n");
  const std::string up = "../../devices/" + c.controller + "/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0";
  Link(root.At("/sys/dev/block/179:0"), up);
  Link(root.At("/sys/dev/block/179:1"), up + "/mmcblk0p1");
  Link(root.At("/sys/dev/block/179:2"), up + "/mmcblk0p2");

  const std::string usb = "/sys/devices/platform/soc/3f980000.usb/usb1/1-1/1-1.2/1-1.2:1.0/host0/target0:0:0/0:0:0:0/block/sda";
  root.Write(usb + "/size", "1000000\n");
  root.Write(usb + "/sda1/partition", "1\n");
  root.Write(usb + "/sda1/start", "2048\n");
  root.Write(usb + "/sda1/size", "900000\n");
  Link(root.At("/sys/dev/block/8:1"),
       "../../devices/platform/soc/3f980000.usb/usb1/1-1/1-1.2/1-1.2:1.0/host0/target0:0:0/0:0:0:0/block/sda/sda1");

  const std::string emmc = "/sys/devices/platform/soc/fe340000.mmc/mmc_host/mmc1/mmc1:0001";
  root.Write(emmc + "/type", "MMC\n");
  root.Write(emmc + "/block/mmcblk1/size", "30000000\n");
  root.Write(emmc + "/block/mmcblk1/mmcblk1p1/partition", "1\n");
  root.Write(emmc + "/block/mmcblk1/mmcblk1p1/start", "2048\n");
  root.Write(emmc + "/block/mmcblk1/mmcblk1p1/size", "29000000\n");
  Link(root.At("/sys/dev/block/179:33"),
       "../../devices/platform/soc/fe340000.mmc/mmc_host/mmc1/mmc1:0001/block/mmcblk1/mmcblk1p1");

  root.Write("/sys/devices/virtual/block/dm-0/size", "40000000\n");
  Link(root.At("/sys/dev/block/254:0"), "../../devices/virtual/block/dm-0");

  root.Write("/proc/self/mountinfo",
             "22 1 179:2 / / rw,noatime shared:1 - ext4 /dev/mmcblk0p2 rw\n"
             "25 22 0:21 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=94452k,mode=755\n"
             "31 22 179:1 / /boot/firmware rw,relatime shared:9 - vfat /dev/mmcblk0p1 rw,fmask=0022,dmask=0022\n");
}

}  // namespace salvage::loader::load::testing
