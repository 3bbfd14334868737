// salvage::loader::load — the SD-card dump file (see dump-file.h).
#include "board/load/dump-file.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <salvage/blockdump/disk-format.h>
#include <salvage/blockdump/extents.h>
#include <salvage/blockdump/sink.h>
#include <salvage/stream/format.h>

#include "common/text.h"
#include "options.h"
#include "board/proc/sysfs.h"

namespace salvage::loader::load {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kSector = 512;

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
uint64_t AlignDown(uint64_t v, uint64_t a) { return v / a * a; }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
  return s;
}

// The first line of a sysfs attribute, or "" when it cannot be read.
std::string Attribute(const fs::path& p) {
  auto text = proc::ReadTextFile(p.string());
  return text.ok() ? Trim(*text) : "";
}

std::optional<uint64_t> DecimalAttribute(const fs::path& p) {
  const std::string s = Attribute(p);
  if (s.empty() || s.size() > 19 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(s);
}

// "bytes 0x100000-0x1fffff".
std::string ByteSpan(uint64_t offset, uint64_t length) {
  return "bytes " + Hex(offset) + "-" + Hex(offset + length - 1);
}

std::string FlagProblem(uint32_t flags) {
  using namespace fiemap;
  if (flags & kShared)
    return "shared with another file (a reflink or a snapshot): writing them would change that file too";
  if (flags & kDataEncrypted)
    return "encrypted (fscrypt): the image would write plain bytes where Linux reads ciphertext";
  if (flags & kEncoded) return "compressed or otherwise encoded on the device";
  if (flags & (kDataInline | kDataTail | kNotAligned))
    return "packed in with file system metadata (inline or tail data), not in blocks of their own";
  if (flags & kDelalloc) return "not allocated yet (delayed allocation, even after a sync)";
  if (flags & kUnknown) return "somewhere the file system does not say (FIEMAP_EXTENT_UNKNOWN)";
  if (flags & kUnwritten)
    return "allocated but unwritten: Linux reads zeros there whatever the image writes, even after writing them";
  return "flagged " + Hex(flags) + " by FIEMAP";
}

constexpr uint32_t kPlainFlags = fiemap::kLast | fiemap::kMerged;

// Where an extent's bytes end in the file. FIEMAP's numbers come from the kernel, but a
// sum that wraps must not turn into a small offset (found by the dump-file fuzzer).
uint64_t ExtentEnd(const FileExtent& e) {
  return e.length > ~uint64_t{0} - e.logical ? ~uint64_t{0} : e.logical + e.length;
}

Failure MapFailure(const std::string& name, const std::string& fs_name, int err) {
  if (err == EPERM)
    return Fail("cannot map " + name + "'s blocks: " + fs_name + " has no FIEMAP, and FIBMAP needs root "
                "(CAP_SYS_RAWIO): run salvage load as root");
  const std::string why = err == EOPNOTSUPP || err == ENOTTY ? "FIEMAP not supported by " + fs_name
                                                              : "FS_IOC_FIEMAP: " + std::string(std::strerror(err));
  return Fail("cannot map " + name + "'s blocks (" + why + "): salvage needs a file on ext4 or vfat on the SD card");
}

}  // namespace

std::string MibText(uint64_t bytes) { return std::to_string((bytes + kDumpFileRounding - 1) / kDumpFileRounding) + " MiB"; }

// ---- size ------------------------------------------------------------------------------------

DumpSize DumpFileSize(const DumpSizeInput& in) {
  DumpSize s;
  // The ranges as the image sends them: rounded out to whole pages, neighbours that
  // then touch or overlap merged.
  std::vector<std::pair<uint64_t, uint64_t>> r;  // [begin, end)
  for (const PhysRange& p : in.ram) {
    if (p.size == 0) continue;
    const uint64_t end = p.base + p.size < p.base ? ~uint64_t{0} : p.base + p.size;
    r.emplace_back(AlignDown(p.base, kDumpPageSize), std::max(AlignUp(end, kDumpPageSize), end));
  }
  std::sort(r.begin(), r.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& x : r) {
    if (!merged.empty() && x.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, x.second);
    } else {
      merged.push_back(x);
    }
  }
  for (const auto& x : merged) s.pages += (x.second - x.first) / kDumpPageSize;

  s.header_record = stream::kRecordHeaderSize + stream::hdr::kSize + 16 * merged.size() + 24 * in.segment_count + 4096;
  for (uint64_t n : in.note_bytes) s.header_record += 4 + n;

  const uint64_t frame = stream::kRecordHeaderSize + kDumpPageSize;  // a raw page's frame
  const uint64_t h = s.header_record;
  // Frames before the last page, then what RoomForPage asks for at the last page: the
  // page, the end of the stream and two header copies (docs/disk-format.md §6).
  const uint64_t frames = s.pages > 0 ? (s.pages - 1) * frame : 0;
  const uint64_t last = (s.pages > 0 ? blockdump::MaxStreamBytesPerPage(kDumpPageSize) : 0) + blockdump::kStreamEndReserve;
  // The periodic copies of the header record before the last page (docs/stream-format.md
  // §4.6): the k-th begins at least k intervals into the stream and after the first copy,
  // k - 1 others and the frames before it, so k x interval <= k x h + frames, i.e. at
  // most frames / (interval - h) of them (interval >= 32 x h).
  const uint64_t interval = std::max(stream::kHeaderRepeatMinBytes, stream::kHeaderRepeatFactor * h);
  const uint64_t periodic = frames / (interval - h);
  s.stream_bytes = h * (1 + periodic) + frames + last + 2 * h;
  s.file_bytes = AlignUp(blockdump::kMetaBlocks * blockdump::kBlockSize + s.stream_bytes, kDumpFileRounding);
  return s;
}

Expected<std::optional<uint64_t>> ParseFileSize(std::string_view text) {
  if (text.empty() || text == "auto") return std::optional<uint64_t>{};
  const std::optional<uint64_t> v = ParseMemSize(text);
  if (!v) return Fail("--file-size " + std::string(text) + ": give auto or a size such as 1536M or 2G");
  if (*v < kDumpFileRounding) return Fail("--file-size " + std::string(text) + ": the dump file needs at least 1 MiB");
  if (*v > (~uint64_t{0} - kDumpFileRounding)) return Fail("--file-size " + std::string(text) + ": too large");
  return std::optional<uint64_t>{AlignUp(*v, kDumpFileRounding)};
}

// ---- file systems ------------------------------------------------------------------------------

FsKind ClassifyFs(uint32_t magic) {
  struct Known {
    uint32_t magic;
    const char* name;
    int kind;  // 0 supported, 1 copy on write, 2 memory, 3 not a local block device, 4 other
  };
  static constexpr std::array<Known, 20> kKnown = {{
      {0xEF53, "ext4", 0},          {0x4d44, "vfat", 0},           {0x9123683E, "btrfs", 1},
      {0xF2F52010, "f2fs", 1},      {0xca451a4e, "bcachefs", 1},   {0x2fc12fc1, "zfs", 1},
      {0x3434, "nilfs2", 1},        {0x01021994, "tmpfs", 2},      {0x858458f6, "ramfs", 2},
      {0x794c7630, "overlayfs", 3}, {0x6969, "nfs", 3},            {0x65735546, "fuse", 3},
      {0xFF534D42, "cifs", 3},      {0xFE534D42, "smb2", 3},       {0x58465342, "xfs", 4},
      {0x2011BAB0, "exfat", 4},     {0x7366746e, "ntfs3", 4},      {0x5346544e, "ntfs", 4},
      {0x73717368, "squashfs", 4},  {0x28cd3d45, "cramfs", 4},
  }};
  FsKind k;
  int kind = 4;
  k.name = "a file system of type " + Hex(magic);
  for (const Known& x : kKnown) {
    if (x.magic == magic) {
      k.name = x.name;
      kind = x.kind;
    }
  }
  switch (kind) {
    case 0:
      k.supported = true;
      break;
    case 1:
      k.why_not = "its blocks move when they are written (copy on write, or a log-structured file system that "
                  "cleans in the background), so the sectors salvage would give the image may belong to another "
                  "file by the time of the crash. Put the dump file on an ext4 or vfat file system of the SD card";
      break;
    case 2:
      k.why_not = "that is RAM, not the SD card: the dump file must be on the SD card's ext4 or vfat file system";
      break;
    case 3:
      k.why_not = "that is not a file system on a local disk: the dump file must be on the SD card's ext4 or vfat "
                  "file system";
      break;
    default:
      k.why_not = "salvage makes dump files on ext4 and vfat only, whose blocks stay where FIEMAP says they are; "
                  "put the dump file on an ext4 or vfat file system of the SD card";
      break;
  }
  return k;
}

std::optional<MountInfo> FindMount(std::string_view text, uint32_t major, uint32_t minor) {
  const std::string want = std::to_string(major) + ":" + std::to_string(minor);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const std::vector<std::string_view> f = SplitWords(line);
    // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER_OPTIONS
    if (f.size() < 10 || f[2] != want) continue;
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 1 >= f.size()) continue;
    MountInfo m;
    m.mount_point = std::string(f[4]);
    m.fs_type = std::string(f[dash + 1]);
    m.source = dash + 2 < f.size() ? std::string(f[dash + 2]) : "";
    m.super_options = dash + 3 < f.size() ? std::string(f[dash + 3]) : "";
    return m;
  }
  return std::nullopt;
}

// ---- the device --------------------------------------------------------------------------------

Expected<SdCardDevice> FindSdCard(std::string_view root, uint32_t major, uint32_t minor, const std::string& path) {
  const std::string devno = std::to_string(major) + ":" + std::to_string(minor);
  const std::string link = proc::RootedPath(root, "/sys/dev/block/" + devno);
  std::error_code ec;
  const fs::path real = fs::canonical(link, ec);
  if (ec)
    return Fail(path + " is not on a disk (its file system's device " + devno + " has no " + link +
                "): salvage writes the dump file on the SD card's file system (ext4 or vfat)");
  SdCardDevice d;
  const bool is_partition = fs::exists(real / "partition", ec);
  const fs::path disk_dir = is_partition ? real.parent_path() : real;
  d.partition = real.filename().string();
  d.disk = disk_dir.filename().string();

  // .../<controller>/mmc_host/mmcN/mmcN:RCA/block/mmcblkN[/mmcblkNpM]
  std::vector<std::string> parts;
  for (const fs::path& c : real) parts.push_back(c.string());
  size_t host = parts.size();
  for (size_t i = 1; i < parts.size(); ++i)
    if (parts[i] == "mmc_host") host = i;
  if (d.disk.starts_with("dm-") || d.disk.starts_with("loop") || d.disk.starts_with("md"))
    return Fail(path + " is on /dev/" + d.partition + ", a " +
                (d.disk.starts_with("dm-") ? "device-mapper device (LVM, dm-crypt)"
                 : d.disk.starts_with("loop") ? "loop device" : "software RAID device") +
                ": the image writes the SD card's raw sectors, which are not this device's; put the dump file on a "
                "plain partition of the SD card (ext4 or vfat)");
  if (!d.disk.starts_with("mmcblk") || host + 2 >= parts.size())
    return Fail(path + " is on /dev/" + d.partition + " (not the SD card): salvage writes to the SD card only; put "
                "the dump file on the SD card's file system (a partition of /dev/mmcblk0)");
  d.controller = parts[host - 1];
  fs::path card;
  for (size_t i = 0; i <= host + 2; ++i) card /= parts[i];
  d.card_type = Attribute(card / "type");
  if (!d.card_type.empty() && d.card_type != "SD" && d.card_type != "SDcombo")
    return Fail(path + " is on /dev/" + d.partition + ", on a card of type " + d.card_type +
                " (an eMMC or SDIO device), not an SD card: salvage's SD driver initialises SD memory cards "
                "only");
  if (is_partition) {
    auto start = DecimalAttribute(real / "start");
    if (!start) return Fail("cannot read the start of /dev/" + d.partition + " (" + (real / "start").string() + ")");
    d.start = *start;
  }
  auto size = DecimalAttribute(real / "size");
  if (!size) return Fail("cannot read the size of /dev/" + d.partition + " (" + (real / "size").string() + ")");
  d.sectors = *size;
  if (auto lbs = DecimalAttribute(disk_dir / "queue" / "logical_block_size"); lbs && *lbs != kSector)
    return Fail("/dev/" + d.disk + " has " + std::to_string(*lbs) +
                "-byte sectors; SD cards have 512-byte sectors, and salvage writes only those");

  // The platform device's name is the controller's translated address in hex, then a
  // dot and the node's name (Linux drivers/of/platform.c of_device_make_bus_id):
  // "3f202000.mmc", "fe340000.mmc".
  const std::string& c = d.controller;
  const size_t dot = c.find('.');
  if (dot != std::string::npos && dot > 0 && dot <= 16 &&
      std::all_of(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(dot), [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; }))
    d.controller_address = std::stoull(c.substr(0, dot), nullptr, 16);
  return d;
}

// ---- extents -----------------------------------------------------------------------------------

FileMap ExtentsFromBlocks(const std::function<int(uint64_t, uint64_t*)>& lookup, uint64_t blocks,
                          uint32_t block_size, uint32_t step) {
  FileMap m;
  m.fibmap = true;
  if (step == 0) step = 1;
  auto add = [&](uint64_t block, uint64_t phys, uint64_t n) {
    if (phys == 0) return;  // a hole
    if (!m.extents.empty()) {
      FileExtent& last = m.extents.back();
      if (last.logical + last.length == block * block_size && last.physical + last.length == phys * block_size) {
        last.length += n * block_size;
        return;
      }
    }
    m.extents.push_back({block * block_size, phys * block_size, n * block_size, 0});
  };
  for (uint64_t b = 0; b < blocks;) {
    const uint64_t n = std::min<uint64_t>(step, blocks - b);
    uint64_t first = 0, last = 0;
    if ((m.error = lookup(b, &first)) != 0) break;
    if (n > 1 && (m.error = lookup(b + n - 1, &last)) != 0) break;
    if (n == 1 || (first != 0 && last == first + n - 1)) {
      add(b, first, n);
    } else {
      add(b, first, 1);
      for (uint64_t i = 1; i < n; ++i) {
        uint64_t p = 0;
        if ((m.error = lookup(b + i, &p)) != 0) break;
        add(b + i, p, 1);
      }
      if (m.error != 0) break;
    }
    b += n;
  }
  if (m.error != 0) {
    m.extents.clear();
    return m;
  }
  if (!m.extents.empty()) m.extents.back().flags |= fiemap::kLast;
  return m;
}

std::vector<ByteRange> RangesToWrite(std::span<const FileExtent> map, uint64_t size) {
  std::vector<ByteRange> out;
  auto add = [&](uint64_t from, uint64_t to) {
    if (to <= from) return;
    if (!out.empty() && out.back().offset + out.back().length == from) {
      out.back().length += to - from;
    } else {
      out.push_back({from, to - from});
    }
  };
  std::vector<FileExtent> sorted(map.begin(), map.end());
  std::sort(sorted.begin(), sorted.end(), [](const FileExtent& a, const FileExtent& b) { return a.logical < b.logical; });
  uint64_t at = 0;
  for (const FileExtent& e : sorted) {
    if (at >= size) break;
    if (e.logical >= size) break;
    const uint64_t end = std::min(size, ExtentEnd(e));
    if (e.logical > at) add(at, e.logical);  // a hole
    if (e.flags & (fiemap::kUnwritten | fiemap::kDelalloc)) add(std::max(at, e.logical), end);
    at = std::max(at, end);
  }
  add(at, size);
  return out;
}

Expected<std::vector<CardExtent>> CardExtentsFromMap(std::span<const FileExtent> map, uint64_t area_bytes,
                                                     const SdCardDevice& device, const std::string& path) {
  std::vector<CardExtent> out;
  const std::string again = ": delete the file and run salvage load again (it makes the file anew)";
  uint64_t at = 0;
  for (const FileExtent& e : map) {
    if (at >= area_bytes) break;
    if (e.length == 0) continue;
    if (ExtentEnd(e) <= at) continue;
    if (e.logical > at)
      return Fail(path + " has a hole at " + ByteSpan(at, e.logical - at) +
                  " (no blocks on the card there)" + again);
    if (e.logical < at) return Fail(path + ": FIEMAP returned overlapping extents at " + Hex(e.logical));
    const uint64_t length = std::min(e.length, area_bytes - at);
    if ((e.flags & ~kPlainFlags) != 0)
      return Fail(path + ": its " + ByteSpan(e.logical, length) + " are " + FlagProblem(e.flags) +
                  ". salvage needs plain blocks it can overwrite in place" + again);
    if (e.logical % kSector != 0 || e.physical % kSector != 0 || length % kSector != 0)
      return Fail(path + ": its " + ByteSpan(e.logical, length) + " are not in whole 512-byte sectors on the card" +
                  again);
    const uint64_t first = e.physical / kSector, count = length / kSector;
    if (first > device.sectors || count > device.sectors - first || device.start > ~uint64_t{0} - device.sectors)
      return Fail(path + ": FIEMAP puts its " + ByteSpan(e.logical, length) + " outside /dev/" + device.partition +
                  " (" + std::to_string(device.sectors) + " sectors)");
    const uint64_t card = device.start + first;
    if (!out.empty() && out.back().first + out.back().count == card) {
      out.back().count += count;
    } else {
      out.push_back({card, count});
    }
    at += length;
  }
  if (at < area_bytes)
    return Fail(path + " has no blocks for " + ByteSpan(at, area_bytes - at) + again);
  if (out.size() > blockdump::kMaxExtents)
    return Fail(path + " lies in " + std::to_string(out.size()) + " pieces on /dev/" + device.partition +
                " (after merging neighbours), and the image takes at most " +
                std::to_string(blockdump::kMaxExtents) +
                ". Delete it and run salvage load again when the file system has more contiguous free space (a "
                "fresh or less fragmented file system), use a smaller --file-size, or give the dump a partition of "
                "its own (--sink sd --target mbr:N or gpt-name:NAME)");
  // Two parts of the file on the same sectors (a file system that does not flag them
  // FIEMAP_EXTENT_SHARED, or a damaged one) would have the image write one part of the
  // dump over another.
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t j = i + 1; j < out.size(); ++j) {
      const CardExtent& a = out[i];
      const CardExtent& b = out[j];
      if (a.first < b.first + b.count && b.first < a.first + a.count)
        return Fail(path + ": FIEMAP puts two parts of it on the same card sectors (" + std::to_string(a.first) +
                    "+" + std::to_string(a.count) + " and " + std::to_string(b.first) + "+" +
                    std::to_string(b.count) + "), so the dump would overwrite itself" + again);
    }
  }
  return out;
}

std::string ExtentsTarget(std::span<const CardExtent> extents) {
  std::string s = "extents:";
  for (size_t i = 0; i < extents.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(extents[i].first) + "+" + std::to_string(extents[i].count);
  }
  return s;
}

// ---- the whole step --------------------------------------------------------------------------

Expected<DumpFile> PrepareDumpFile(const DumpFileRequest& rq, FileSystem& files, std::vector<std::string>* notes) {
  auto note = [&](std::string text) { notes->push_back(std::move(text)); };
  DumpFile out;
  out.path = rq.path;
  out.needed = rq.needed;
  if (rq.path.empty() || rq.path.front() != '/') return Fail("--file " + rq.path + ": give an absolute path");
  const std::string path = proc::RootedPath(rq.root, rq.path);
  const std::string& name = rq.path;  // in messages

  auto st = files.Stat(path);
  if (!st.ok()) return st.failure();
  if (st->exists && !st->regular) return Fail(name + " exists and is not a regular file");

  // The file system: the file's, or that of the directory it will be made in.
  std::string probe = path;
  FileStatus probe_st = *st;
  while (!probe_st.exists) {
    const std::string parent = fs::path(probe).parent_path().string();
    if (parent == probe || parent.empty()) return Fail("cannot find a directory of " + name);
    probe = parent;
    auto p = files.Stat(probe);
    if (!p.ok()) return p.failure();
    probe_st = *p;
  }
  auto fsst = files.StatFs(probe);
  if (!fsst.ok()) return fsst.failure();
  const FsKind kind = ClassifyFs(fsst->magic);
  out.fs_name = kind.name;
  const auto mountinfo = proc::ReadTextFile(proc::RootedPath(rq.root, "/proc/self/mountinfo"));
  std::optional<MountInfo> mount;
  if (mountinfo.ok()) mount = FindMount(*mountinfo, probe_st.dev_major, probe_st.dev_minor);
  if (mount && kind.supported) out.fs_name = mount->fs_type;
  if (!kind.supported)
    return Fail(name + " is on " + (mount && kind.name.starts_with("a file system") ? mount->fs_type : kind.name) +
                ": " + kind.why_not);
  if (mount && mount->fs_type.starts_with("ext") && mount->super_options.find("data=journal") != std::string::npos)
    return Fail(name + " is on " + mount->fs_type + " mounted with data=journal: after the crash, replaying the "
                "journal at the next mount can write old file data over the dump. Use a file system mounted with "
                "the default data=ordered");

  auto card = FindSdCard(rq.root, probe_st.dev_major, probe_st.dev_minor, name);
  if (!card.ok()) return card.failure();
  out.card = *card;
  if (rq.check_card) {
    auto checked = rq.check_card(*card);
    if (!checked.ok()) return checked.failure();
  }
  out.device = "/dev/" + card->partition;
  out.sink = card->controller_address ? "sd@" + Hex(*card->controller_address) : "sd";
  if (!card->controller_address)
    note("warning: the SD host controller's device name (" + card->controller +
         ") has no address: the image will try every SD host controller of the device tree");
  note("dump file " + name + " is on " + out.device + " (" + out.fs_name + "), partition start " +
       std::to_string(card->start) + ", card type " + (card->card_type.empty() ? "unknown" : card->card_type) +
       ", SD host controller " + card->controller);

  // The size.
  const uint64_t wanted = rq.size.value_or(rq.needed);
  if (rq.size && *rq.size < rq.needed)
    note("warning: the whole dump may need " + MibText(rq.needed) + "; a " + MibText(*rq.size) +
         " file keeps the first pages in address order only (salvage extract then says the dump is truncated)");
  uint64_t size = wanted;
  if (st->exists && st->size > wanted) {
    size = st->size;
    note(name + " is " + MibText(st->size) + ", more than the " + MibText(wanted) +
         " asked for: it is kept at that size (delete it to make it smaller)");
  }
  if (kind.name == "vfat") {
    if (size > kVfatMaxFileBytes)
      return Fail("the dump file needs " + MibText(size) + ", and a file on vfat (" + out.device +
                  ") holds less than 4 GiB: put it on an ext4 file system of the SD card, or give --file-size " +
                  std::to_string(kVfatMaxFileBytes >> 20) + "M (a dump that does not fit is truncated)");
  }
  const uint64_t grow = st->exists ? (size > st->size ? size - st->size : 0) : size;
  if (grow > fsst->free_bytes)
    return Fail("not enough space for " + name + " on " + out.device + " (" + out.fs_name + "): the dump file " +
                (st->exists ? "must grow by " + MibText(grow) + " to " : "needs ") + MibText(size) + " (" +
                (rq.size ? std::string("--file-size") : "the RAM salvage dumps, at worst uncompressed") + "), and " +
                MibText(fsst->free_bytes & ~(kDumpFileRounding - 1)) +
                " are free. Free some space, or give --file-size SIZE (a smaller file keeps only the first pages "
                "of the dump)");
  out.bytes = size;

  // What is there already: a dump from an earlier crash is kept (salvage load runs at
  // boot, before anyone read it).
  std::vector<ByteRange> zero;
  if (st->exists) {
    if (auto head = files.Read(path, 0, blockdump::kBlockSize); head.ok() && head->size() == blockdump::kBlockSize) {
      blockdump::DumpHeader h;
      if (blockdump::DecodeHeader(std::span<const uint8_t, blockdump::kBlockSize>(head->data(), blockdump::kBlockSize),
                                  &h) == blockdump::BlockCheck::kOk) {
        std::string state = "an interrupted";
        auto tail = files.Read(path, h.trailer_offset, blockdump::kBlockSize);
        blockdump::DumpTrailer t;
        if (tail.ok() && tail->size() == blockdump::kBlockSize &&
            blockdump::DecodeTrailer(std::span<const uint8_t, blockdump::kBlockSize>(tail->data(), blockdump::kBlockSize),
                                     &t) == blockdump::BlockCheck::kOk &&
            t.dump_id == h.dump_id) {
          state = (t.flags & blockdump::kDumpComplete) ? "a complete" : "a truncated";
        }
        out.existing_dump = state.substr(state.find(' ') + 1) + " dump " + Hex(h.dump_id);
        note("warning: " + name + " holds " + state + " dump (" + Hex(h.dump_id) +
             ") from an earlier crash; it is kept, and the next crash overwrites it: read it now with salvage "
             "extract " + rq.path + " -o vmcore");
      }
    }
    const FileMap before = files.Map(path);
    if (before.error != 0) return MapFailure(name, out.fs_name, before.error);
    zero = RangesToWrite(before.extents, std::min(st->size, size));
    if (size > st->size) zero.push_back({st->size, size - st->size});
  } else {
    zero.push_back({0, size});
    out.created = true;
  }
  for (const ByteRange& r : zero) out.written += r.length;

  if (rq.dry_run) {
    if (out.created || out.written != 0) {
      out.target = std::string(kDryRunTarget);
      note(std::string("a real load would ") + (out.created ? "create " + name + " and " : "") + "write " +
           MibText(out.written) + " of zeros to it; its extents are known only then");
      return out;
    }
  } else {
    if (out.created) {
      const std::string dir = fs::path(path).parent_path().string();
      if (dir != probe) {
        auto made = files.MakeDirectories(dir);
        if (!made.ok()) return made.failure();
      }
    }
    if (!zero.empty()) {
      auto filled = files.Fill(path, size, zero);
      if (!filled.ok()) return filled.failure();
      note(std::string(out.created ? "created " : "wrote ") + name + ": " + MibText(filled->zero_bytes) +
           " of zeros" + (filled->fallocated ? ", blocks reserved with fallocate" : ""));
    }
    auto after = files.Stat(path);
    if (!after.ok()) return after.failure();
    if (after->dev_major != probe_st.dev_major || after->dev_minor != probe_st.dev_minor)
      return Fail(name + " ended up on another file system than its directory (a mount point in between?)");
    if (after->size < size) return Fail(name + " is " + std::to_string(after->size) + " bytes, not " + std::to_string(size));
    out.bytes = size;
  }

  const FileMap map = files.Map(path);
  if (map.error != 0) return MapFailure(name, out.fs_name, map.error);
  if (map.fibmap) note(name + ": " + out.fs_name + " has no FIEMAP; its blocks were read with FIBMAP");
  auto extents = CardExtentsFromMap(map.extents, AlignDown(out.bytes, blockdump::kBlockSize), *card, name);
  if (!extents.ok()) return extents.failure();
  out.extents = *extents;
  out.target = ExtentsTarget(out.extents);

  if (!rq.dry_run) {
    auto imm = files.SetImmutable(path);
    if (!imm.ok()) return imm.failure();
    out.immutable = *imm;
    if (!out.immutable)
      note("warning: " + out.fs_name + " cannot make " + name +
           " immutable: do not delete, move or rewrite it while salvage is loaded (its blocks would go to other "
           "files, and the dump over them)");
  }
  return out;
}

}  // namespace salvage::loader::load
