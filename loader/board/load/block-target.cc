// salvage::loader::load — the block sink's disk, checked (see block-target.h).
#include "board/load/block-target.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <salvage/base/byte-order.h>
#include <salvage/devices/sd-binding.h>
#include <salvage/dtb/dtb.h>

#include "common/text.h"
#include "board/load/dump-file.h"
#include "board/proc/sysfs.h"

namespace salvage::loader::load {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kSector = 512;
constexpr size_t kHeadBytes = 128 * 1024;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string Attribute(const fs::path& p) {
  auto t = proc::ReadTextFile(p.string());
  return t.ok() ? Trim(*t) : "";
}

std::optional<uint64_t> DecimalAttribute(const fs::path& p) {
  const std::string s = Attribute(p);
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return std::stoull(s);
}

std::vector<std::string> Holders(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir / "holders", ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool Bytes(std::span<const uint8_t> head, size_t offset, std::string_view want) {
  if (offset > head.size() || want.size() > head.size() - offset) return false;
  return std::memcmp(head.data() + offset, want.data(), want.size()) == 0;
}

// 0 when the four bytes are not all in `head`.
uint32_t Le32(std::span<const uint8_t> head, size_t offset) {
  if (offset > head.size() || head.size() - offset < 4) return 0;
  return LoadLe32(head.data() + offset);
}

// An MBR with at least one partition entry in use (a FAT or NTFS boot sector also ends
// in 0x55AA: those are found first).
bool HasMbrPartitions(std::span<const uint8_t> head) {
  if (head.size() < 512 || head[510] != 0x55 || head[511] != 0xAA) return false;
  for (size_t i = 0; i < 4; ++i) {
    const uint8_t* e = head.data() + 446 + 16 * i;
    if (e[4] != 0 && (Le32(head, 446 + 16 * i + 12) != 0)) return true;
  }
  return false;
}

// One mountinfo line's fields: MAJ:MIN and the mount point.
struct Mount {
  std::string devno, mount_point;
};

std::vector<Mount> ParseMountinfo(std::string_view text) {
  std::vector<Mount> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const std::vector<std::string_view> f = SplitWords(line);
    // ID PARENT MAJ:MIN ROOT MOUNT_POINT ...
    if (f.size() >= 5) out.push_back({std::string(f[2]), std::string(f[4])});
  }
  return out;
}

// The device names in /proc/swaps ("/dev/vda3" -> "vda3"); swap files are on a mounted
// file system, which the mount check covers.
std::vector<std::string> SwapDevices(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const size_t sp = line.find_first_of(" \t");
    const std::string_view name = line.substr(0, sp);
    if (name.starts_with("/dev/")) out.emplace_back(name.substr(5));
  }
  return out;
}

// What makes a device or partition (name, devno, holders) unusable: mounted, backs / or
// /boot, swap, held. Empty when none.
std::string InUse(const std::string& name, const std::string& devno, const std::vector<std::string>& holders,
                  const std::vector<Mount>& mounts, const std::vector<std::string>& swaps) {
  std::vector<std::string> mps;
  for (const Mount& m : mounts)
    if (m.devno == devno) mps.push_back(m.mount_point);
  for (const std::string& mp : mps) {
    if (mp == "/") return "/dev/" + name + " holds the root file system (/ is mounted from it)";
    if (mp == "/boot" || mp.starts_with("/boot/"))
      return "/dev/" + name + " holds the boot files (" + mp + " is mounted from it)";
  }
  if (!mps.empty()) return "/dev/" + name + " is mounted at " + mps.front();
  if (std::find(swaps.begin(), swaps.end(), name) != swaps.end())
    return "/dev/" + name + " is in use as swap (/proc/swaps)";
  if (!holders.empty())
    return "/dev/" + name + " is used by /dev/" + holders.front() +
           " (device-mapper: LVM or dm-crypt, or software RAID), which may hold a file system or swap";
  return "";
}

// A host-side SectorReader over the device file, for blockdump::ResolveTarget.
struct DeviceSectors {
  const DeviceReader* read;
  uint32_t sector_size;
  uint64_t sector_count;
  std::string error;
  uint32_t SectorSize() { return sector_size; }
  uint64_t SectorCount() { return sector_count; }
  Status Read(uint64_t lba, std::span<uint8_t> dst) {
    auto bytes = (*read)(lba * sector_size, dst.size());
    if (!bytes.ok()) {
      error = bytes.error();
      return Status{Error::kIo, "cannot read the device"};
    }
    if (bytes->size() != dst.size()) return Status{Error::kIo, "the device ends early"};
    std::copy(bytes->begin(), bytes->end(), dst.begin());
    return Status::Ok();
  }
};

std::string SizeText(uint64_t sectors) { return MibText(sectors * kSector); }

constexpr char kWhatToDo[] =
    "salvage writes the dump over its target's raw sectors. Use a dedicated partition (--target "
    "gpt-name:NAME, gpt-uuid:UUID or mbr:N of a partition that holds nothing), or on a Raspberry Pi "
    "the SD-card dump file (--sink sd-file), or clear the area first yourself (wipefs -a) if it really "
    "holds nothing you need";

}  // namespace

Expected<BlockDisk> ReadBlockDisk(std::string_view root, const std::string& name) {
  const fs::path dir = proc::RootedPath(root, "/sys/block/" + name);
  BlockDisk d;
  d.name = name;
  d.found_at = dir.string();
  d.devno = Attribute(dir / "dev");
  auto size = DecimalAttribute(dir / "size");
  if (d.devno.empty() || !size) return Fail("cannot read /dev/" + name + "'s size and device number in " + dir.string());
  d.sectors = *size;
  if (auto lbs = DecimalAttribute(dir / "queue" / "logical_block_size")) d.logical_block_size = static_cast<uint32_t>(*lbs);
  d.holders = Holders(dir);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!fs::exists(e.path() / "partition", ec)) continue;
    BlockPartition p;
    p.name = e.path().filename().string();
    p.devno = Attribute(e.path() / "dev");
    auto start = DecimalAttribute(e.path() / "start");
    auto psize = DecimalAttribute(e.path() / "size");
    if (!start || !psize) return Fail("cannot read the start and size of /dev/" + p.name + " in " + e.path().string());
    p.start = *start;
    p.sectors = *psize;
    p.holders = Holders(e.path());
    d.partitions.push_back(std::move(p));
  }
  std::sort(d.partitions.begin(), d.partitions.end(),
            [](const BlockPartition& a, const BlockPartition& b) { return a.start < b.start; });
  return d;
}

std::optional<std::string> BlockDeviceAt(std::string_view root, uint64_t address, bool sd_memory_only) {
  char prefix[32];
  std::snprintf(prefix, sizeof(prefix), "%llx.", static_cast<unsigned long long>(address));
  const fs::path devices = proc::RootedPath(root, "/sys/bus/platform/devices");
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(devices, ec)) {
    if (!e.path().filename().string().starts_with(prefix)) continue;
    // Below the controller: .../virtio0/block/vda or .../mmc_host/mmc0/mmc0:aaaa/block/mmcblk0.
    // Symlinks (driver, subsystem, ...) are not followed.
    for (auto it = fs::recursive_directory_iterator(e.path(), ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it.depth() > 4) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_symlink() || !it->is_directory() || it->path().filename() != "block") continue;
      if (sd_memory_only) {
        const std::string type = Attribute(it->path().parent_path() / "type");
        if (!type.empty() && type != "SD" && type != "SDcombo") continue;
      }
      for (const auto& b : fs::directory_iterator(it->path(), ec)) return b.path().filename().string();
    }
  }
  return std::nullopt;
}

Expected<BlockDisk> FindSinkDisk(std::string_view root, const Options& o, std::span<const uint8_t> dtb) {
  auto tree = dtb::Dtb::Open(dtb.data(), dtb.size());
  if (!tree.ok()) return Fail("the DTB is not one salvage can read, so the disk the image would write is unknown");
  const bool sd = o.sink == SinkKind::kSd;
  std::vector<uint64_t> candidates;
  if (sd) {
    std::array<devices::SdChoice, devices::kMaxSdControllers> found;
    auto n = devices::FindSdControllers(*tree, o.sink_address, found);
    if (n.ok())
      for (size_t i = 0; i < *n; ++i) candidates.push_back(found[i].base);
  } else {
    tree->ForEachCompatible("virtio,mmio", [&](int node) {
      if (!tree->IsEnabled(node)) return;
      auto base = tree->TranslateRegAddress(node, 0);
      if (base.ok() && (!o.sink_address || *o.sink_address == *base)) candidates.push_back(*base);
    });
  }
  const std::string what = sd ? "SD host controller" : "virtio-mmio device";
  const std::string at = o.sink_address ? " at " + Hex(*o.sink_address) : "";
  if (candidates.empty())
    return Fail("the DTB has no enabled " + what + at + " that salvage drives: the image would find no disk to write");
  for (uint64_t base : candidates) {
    if (auto name = BlockDeviceAt(root, base, sd)) {
      auto d = ReadBlockDisk(root, *name);
      if (!d.ok()) return d.failure();
      d->found_at = proc::RootedPath(root, "/sys/bus/platform/devices") + "/" + Hex(base).substr(2) + ".*";
      return d;
    }
  }
  return Fail("salvage load cannot tell which disk the image would write: no Linux block device is below the " + what +
              at + (candidates.size() > 1 ? "s the image would try" : "") + " (" +
              proc::RootedPath(root, "/sys/bus/platform/devices") + "/" + Hex(candidates.front()).substr(2) +
              ".*); it checks a disk before arming a sink that writes it. Load the driver (" +
              (sd ? "sdhci_iproc or bcm2835 mmc, and a card in the slot" : "modprobe virtio_blk") +
              ") and run salvage load again");
}

std::optional<std::string> FindSignature(std::span<const uint8_t> head) {
  if (Bytes(head, 0, "SLVGDUMP")) return std::nullopt;  // a salvage dump: the area's purpose
  if (head.size() >= 1082 && head[1080] == 0x53 && head[1081] == 0xEF) return "an ext2/3/4 file system";
  if (Bytes(head, 0, "XFSB")) return "an xfs file system";
  if (Bytes(head, 0x10040, "_BHRfS_M")) return "a btrfs file system";
  if (Le32(head, 1024) == 0xF2F52010) return "an f2fs file system";
  if (Bytes(head, 0, "LUKS\xba\xbe")) return "a LUKS encrypted volume";
  if (Bytes(head, 512, "LABELONE") || Bytes(head, 536, "LVM2 001")) return "an LVM physical volume";
  if (Le32(head, 4096) == 0xa92b4efc) return "a software RAID (md) member";
  if (Bytes(head, 0, "hsqs")) return "a squashfs file system";
  if (Bytes(head, 0x8001, "CD001")) return "an ISO 9660 file system";
  if (Bytes(head, 3, "NTFS    ")) return "an NTFS file system";
  if (Bytes(head, 3, "EXFAT   ")) return "an exFAT file system";
  if (Bytes(head, 54, "FAT1") || Bytes(head, 82, "FAT32   ")) return "a vfat file system";
  for (size_t page : {4096u, 8192u, 16384u, 65536u})
    if (Bytes(head, page - 10, "SWAPSPACE2") || Bytes(head, page - 10, "SWAP-SPACE")) return "swap";
  if (Bytes(head, 512, "EFI PART") || Bytes(head, 4096, "EFI PART")) return "a GPT partition table";
  if (HasMbrPartitions(head)) return "an MBR partition table";
  return std::nullopt;
}

Expected<std::string> CheckBlockTarget(const BlockTargetCheck& c) {
  const BlockDisk& d = c.disk;
  const std::vector<Mount> mounts = ParseMountinfo(c.mountinfo);
  const std::vector<std::string> swaps = SwapDevices(c.swaps);
  const std::string target = "the target " + c.target_text;
  auto head_at = [&](uint64_t sector) -> Expected<std::vector<uint8_t>> {
    auto b = c.read(sector * kSector, kHeadBytes);
    if (!b.ok()) return Fail("cannot check /dev/" + d.name + " before writing it: " + b.error());
    return b;
  };
  // What is at `sector`, as a refusal naming `where`; "" when nothing.
  auto signature_at = [&](uint64_t sector, const std::string& where) -> Expected<std::string> {
    auto head = head_at(sector);
    if (!head.ok()) return head.failure();
    if (auto sig = FindSignature(*head)) return where + " holds " + *sig;
    return std::string();
  };
  auto refuse = [&](const std::string& why) { return Fail(why + " (" + target + " on /dev/" + d.name + "): " + kWhatToDo); };

  // The area in the device's sectors.
  DeviceSectors sectors{&c.read, d.logical_block_size, d.sectors * kSector / d.logical_block_size, {}};
  std::vector<uint8_t> scratch(64 * 1024);
  auto area = blockdump::ResolveTarget(sectors, c.target, scratch);
  if (!area.ok()) {
    if (!sectors.error.empty()) return Fail("cannot check /dev/" + d.name + " before writing it: " + sectors.error);
    std::array<char, 200> msg;
    blockdump::FormatTargetError(area.status(), c.target, msg);
    return Fail(target + " on /dev/" + d.name + ": " + std::string(msg.data()) +
                " (salvage load reads the partition table as the image will)");
  }
  const uint64_t factor = d.logical_block_size / kSector;
  struct Piece {
    uint64_t first, count;  // 512-byte sectors
  };
  std::vector<Piece> pieces;
  for (const blockdump::Extent& e : area->view()) pieces.push_back({e.first_lba * factor, e.count * factor});
  auto overlaps = [&](uint64_t first, uint64_t count) {
    for (const Piece& p : pieces)
      if (p.first < first + count && first < p.first + p.count) return true;
    return false;
  };

  // The whole device in use (a file system without a partition table, swap, LVM).
  if (std::string u = InUse(d.name, d.devno, d.holders, mounts, swaps); !u.empty()) return refuse(u);
  uint64_t total = 0;
  for (const Piece& p : pieces) total += p.count;
  const std::string summary = "/dev/" + d.name + " (" + c.target_text + ", " + SizeText(total) + ")";

  if (c.target.kind == blockdump::TargetKind::kDisk) {
    for (const BlockPartition& p : d.partitions)
      if (std::string u = InUse(p.name, p.devno, p.holders, mounts, swaps); !u.empty())
        return refuse(u + ", and the whole device would be overwritten");
    auto sig = signature_at(0, "/dev/" + d.name);
    if (!sig.ok()) return sig.failure();
    if (!sig->empty()) return refuse(*sig);
    if (!d.partitions.empty())
      return refuse("/dev/" + d.name + " has partitions (" + d.partitions.front().name + ", ...)");
    return summary + ": no partition table, file system or swap; not mounted";
  }

  // A partition or extents: every partition they overlap, and the partition table.
  bool in_partition = false;
  for (const BlockPartition& p : d.partitions) {
    if (!overlaps(p.start, p.sectors)) continue;
    in_partition = true;
    const bool exact = pieces.size() == 1 && pieces[0].first == p.start && pieces[0].count == p.sectors;
    const std::string where = exact ? "/dev/" + p.name : "/dev/" + p.name + ", which the target overlaps,";
    if (std::string u = InUse(p.name, p.devno, p.holders, mounts, swaps); !u.empty()) return refuse(u);
    auto sig = signature_at(p.start, where);
    if (!sig.ok()) return sig.failure();
    if (!sig->empty()) return refuse(*sig);
  }
  // The device's own signature: a file system on the whole device, or the partition
  // table, which the area must not touch.
  auto head = head_at(0);
  if (!head.ok()) return head.failure();
  if (auto sig = FindSignature(*head)) {
    const bool table = sig->find("partition table") != std::string::npos;
    if (!table) return refuse("/dev/" + d.name + " holds " + *sig + " over the whole device");
    const bool gpt = sig->find("GPT") != std::string::npos;
    const uint64_t table_sectors = gpt ? 34 * factor : 1;
    if (overlaps(0, table_sectors) || (gpt && d.sectors > 33 * factor && overlaps(d.sectors - 33 * factor, 33 * factor)))
      return refuse("the target overlaps /dev/" + d.name + "'s " + (gpt ? "GPT" : "MBR") + " partition table");
  }
  // An area outside every partition Linux knows: check what its start holds.
  if (!in_partition) {
    auto sig = signature_at(pieces.front().first, "the target's first sector");
    if (!sig.ok()) return sig.failure();
    if (!sig->empty()) return refuse(*sig);
  }
  return summary + ": no file system or swap; not mounted";
}

DeviceReader DeviceFileReader(std::string_view root, const std::string& name) {
  const std::string path = proc::RootedPath(root, "/dev/" + name);
  return [path](uint64_t offset, size_t length) -> Expected<std::vector<uint8_t>> {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int e = errno;
      return Fail(path + ": cannot open it (" + std::strerror(e) + ")" +
                  (e == EACCES || e == EPERM ? ": run salvage load as root" : ""));
    }
    std::vector<uint8_t> out(length);
    size_t got = 0;
    while (got < length) {
      const ssize_t n = ::pread(fd, out.data() + got, length - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int e = errno;
        ::close(fd);
        return Fail(path + ": cannot read it (" + std::strerror(e) + ")");
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    ::close(fd);
    out.resize(got);
    return out;
  };
}

}  // namespace salvage::loader::load
