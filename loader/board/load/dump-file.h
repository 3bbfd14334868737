// salvage::loader::load — the SD-card dump file: `salvage load --sink sd-file`.
//
// The image cannot write a file system: it writes sectors. So salvage load makes a file
// on the SD card's file system (ext4 or vfat) whose blocks the image may overwrite, and
// tells the image where they are:
//   1. sizes it from the RAM that will be dumped (DumpFileSize: the most stream bytes
//      the capture can write for those pages, plus the dump area's header and trailer
//      blocks, rounded up to 1 MiB), or takes --file-size;
//   2. checks the file system (statfs: ext2/3/4 or vfat; copy-on-write file systems such
//      as btrfs and f2fs move blocks on write, tmpfs is RAM; /proc/self/mountinfo: ext4
//      with data=journal would replay old file data over the dump at the next mount),
//      the device (sysfs: the file's st_dev must be a partition of an SD card, an
//      mmcblkN whose card type is SD; its host controller's platform device name
//      "3f202000.mmc" gives the controller's physical address) and the free space;
//   3. creates the file (mode 0600) or reuses it, reserves its blocks (fallocate, where
//      the file system has it) and writes zeros over every part that is new, a hole or
//      unwritten (FIEMAP_EXTENT_UNWRITTEN: blocks the image would fill but Linux would
//      still read as zeros), then fsync; a file that is already whole is not rewritten
//      (a dump in it survives salvage load at boot);
//   4. reads the extents (FS_IOC_FIEMAP with FIEMAP_FLAG_SYNC; FIBMAP a cluster at a time
//      on vfat, which has no FIEMAP) and refuses any that is
//      not plain data on the device (unknown, delayed allocation, encoded, encrypted,
//      not aligned, inline, tail-packed, unwritten, shared); turns them into sectors of
//      the whole card (partition start + fe_physical / 512), merging neighbours; at
//      most 64 (the image's extents target);
//   5. makes the file immutable (FS_IMMUTABLE_FL, ext4: nobody deletes or rewrites it,
//      which would hand its blocks to other files while the image still has them);
//   6. gives the image `salvage.sink=sd@ADDR salvage.target=extents:S+C,...`.
// After the crash the image writes the dump area (docs/disk-format.md) into exactly those
// sectors; after the reboot the file's bytes are the dump area, so
// `salvage extract /var/crash/salvage.dump` reads the dump.
//
// Everything that touches the file system goes through FileSystem (LiveFileSystem in
// dump-file-live.cc is the only real one), and sysfs and mountinfo are read under a root
// directory, so the host tests run all of this against fakes and fixture trees.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <salvage/base/phys.h>

#include "common/expected.h"

namespace salvage::loader::load {

/// The sink name salvage load takes for the dump file: --sink sd-file.
inline constexpr std::string_view kSdFileSink = "sd-file";
/// The file when neither --file nor SALVAGE_FILE names one.
inline constexpr std::string_view kDefaultDumpFile = "/var/crash/salvage.dump";
/// The stream's page size in the image (runtime/capture.cc kPageSize).
inline constexpr uint32_t kDumpPageSize = 4096;
/// The file's size is rounded up to this.
inline constexpr uint64_t kDumpFileRounding = uint64_t{1} << 20;
/// vfat cannot hold a file of 4 GiB or more.
inline constexpr uint64_t kVfatMaxFileBytes = (uint64_t{4} << 30) - kDumpFileRounding;

// ---- size ------------------------------------------------------------------------------------

struct DumpSizeInput {
  /// The RAM the image dumps: the elfcorehdr's RAM PT_LOADs (elfcorehdr::Header::ram_loads).
  std::vector<PhysRange> ram;
  /// Bytes of each PT_NOTE (every CPU's crash notes, VMCOREINFO): the stream header holds them.
  std::vector<uint64_t> note_bytes;
  /// PT_LOADs of the elfcorehdr (the stream header lists them as segments).
  size_t segment_count = 0;
};

struct DumpSize {
  uint64_t pages = 0;          ///< Pages the image dumps (ranges rounded out to pages).
  uint64_t header_record = 0;  ///< The stream's header record at most.
  uint64_t stream_bytes = 0;   ///< Stream capacity the whole dump needs at most.
  uint64_t file_bytes = 0;     ///< Header blocks + stream + trailer block, rounded up to 1 MiB.
};

/// The worst case: every page sent raw (docs/stream-format.md §5: a frame of 48 bytes +
/// page, and a zero or skipped run's frame stands for at least one page), the header
/// record (48 + 64 + 16 per range + 24 per segment + 4 + size per note + 4 KiB for the
/// options text), and the block sink's margin: before each page it asks for
/// MaxStreamBytesPerPage + kStreamEndReserve + two header records free (docs/disk-format.md
/// §6); and the header record's periodic copies (docs/stream-format.md §4.6), at most
/// frames / (interval - header record) of them before the last page. Then the header,
/// backup header and trailer blocks (12 KiB).
DumpSize DumpFileSize(const DumpSizeInput& input);

/// --file-size / SALVAGE_FILE_SIZE: "auto" (or empty) → nullopt; otherwise a size as
/// Linux's memparse reads it (1536M, 2G, 0x40000000), rounded up to 1 MiB.
/// Errors: not a size; under 1 MiB.
Expected<std::optional<uint64_t>> ParseFileSize(std::string_view text);

// ---- what the file system is asked ------------------------------------------------------------

struct FileStatus {
  bool exists = false;
  bool regular = false;
  uint64_t size = 0;
  uint32_t dev_major = 0, dev_minor = 0;  ///< st_dev: the file system's device.
};

struct FsStatus {
  uint32_t magic = 0;       ///< statfs f_type.
  uint64_t free_bytes = 0;  ///< statvfs f_bavail * f_frsize: what an unprivileged writer may still use.
};

/// FIEMAP extent flags (linux/fiemap.h; the values are the kernel's ABI).
namespace fiemap {
inline constexpr uint32_t kLast = 0x1;
inline constexpr uint32_t kUnknown = 0x2;
inline constexpr uint32_t kDelalloc = 0x4;
inline constexpr uint32_t kEncoded = 0x8;
inline constexpr uint32_t kDataEncrypted = 0x80;
inline constexpr uint32_t kNotAligned = 0x100;
inline constexpr uint32_t kDataInline = 0x200;
inline constexpr uint32_t kDataTail = 0x400;
inline constexpr uint32_t kUnwritten = 0x800;
inline constexpr uint32_t kMerged = 0x1000;
inline constexpr uint32_t kShared = 0x2000;
}  // namespace fiemap

/// One struct fiemap_extent: bytes of the file at `logical` are on the file system's
/// device at byte `physical`.
struct FileExtent {
  uint64_t logical = 0, physical = 0, length = 0;
  uint32_t flags = 0;
};

/// The file's extents, or the errno FS_IOC_FIEMAP (or open) failed with.
struct FileMap {
  int error = 0;
  std::vector<FileExtent> extents;
  /// The extents come from FIBMAP, block by block (a file system without FIEMAP: vfat);
  /// FIBMAP knows no flags, and says nothing of unwritten or shared blocks.
  bool fibmap = false;
};

/// [offset, offset + length) of a file.
struct ByteRange {
  uint64_t offset = 0, length = 0;
  bool operator==(const ByteRange&) const = default;
};

struct FillResult {
  bool fallocated = false;         ///< fallocate reserved the new blocks (not on vfat).
  uint64_t zero_bytes = 0;         ///< Bytes of zeros written.
  bool was_immutable = false;      ///< The flag was cleared to write.
};

/// The file operations the dump file needs. Paths are as the process sees them.
class FileSystem {
 public:
  virtual ~FileSystem() = default;
  /// stat(2), following symlinks; exists = false for ENOENT. Errors name the path.
  virtual Expected<FileStatus> Stat(const std::string& path) = 0;
  /// statfs(2) and statvfs(2) of the file system holding `path`.
  virtual Expected<FsStatus> StatFs(const std::string& path) = 0;
  /// mkdir -p with mode 0755.
  virtual Expected<void> MakeDirectories(const std::string& path) = 0;
  /// Opens or creates (mode 0600) `path`, clears FS_IMMUTABLE_FL if set, grows it to
  /// `size` bytes (never shrinks it) with fallocate(2) mode 0 where the file system has
  /// it, writes zeros over `zero` (which covers what was added), fsyncs.
  virtual Expected<FillResult> Fill(const std::string& path, uint64_t size, std::span<const ByteRange> zero) = 0;
  /// FS_IOC_FIEMAP with FIEMAP_FLAG_SYNC, every extent of the file in logical order;
  /// where the file system has no FIEMAP (EOPNOTSUPP: vfat), FIBMAP (ExtentsFromBlocks).
  /// error EOPNOTSUPP: neither works; EPERM: FIBMAP needs CAP_SYS_RAWIO.
  virtual FileMap Map(const std::string& path) = 0;
  /// `length` bytes at `offset` (fewer at the end of the file).
  virtual Expected<std::vector<uint8_t>> Read(const std::string& path, uint64_t offset, size_t length) = 0;
  /// Sets FS_IMMUTABLE_FL. false: the file system has no such flag (vfat).
  virtual Expected<bool> SetImmutable(const std::string& path) = 0;
};

/// The real one (dump-file-live.cc). Writes of 64 MiB or more say so on stderr first.
FileSystem& LiveFileSystem();

/// The live FIBMAP walk alone (what LiveFileSystem().Map falls back to), for tests on
/// a file system that has both.
FileMap MapWithFibmap(const std::string& path);

/// A file's extents from a block-by-block lookup (FIBMAP): `lookup(i, &phys)` gives the
/// device block of file block i (`block_size` bytes; 0: a hole) or returns an errno.
/// Blocks are looked up `step` at a time (a FAT cluster: FAT allocates whole clusters),
/// a step taken as one run when its first and last blocks are `step - 1` apart, else
/// block by block. Neighbours are merged; the last extent gets FIEMAP_EXTENT_LAST.
FileMap ExtentsFromBlocks(const std::function<int(uint64_t, uint64_t*)>& lookup, uint64_t blocks,
                          uint32_t block_size, uint32_t step);

// ---- the pieces (pure; tested one by one) ----------------------------------------------------

/// A file system type from statfs's f_type.
struct FsKind {
  std::string name;          ///< "ext4", "vfat", "btrfs", "tmpfs", or "file system type 0x1234".
  bool supported = false;    ///< ext2/3/4, vfat/msdos.
  std::string why_not;       ///< For the others: why the dump file cannot live there.
};
FsKind ClassifyFs(uint32_t magic);

/// The /proc/self/mountinfo line of the file system on device major:minor.
struct MountInfo {
  std::string mount_point, fs_type, source, super_options;
};
std::optional<MountInfo> FindMount(std::string_view mountinfo, uint32_t major, uint32_t minor);

/// The SD card partition that holds the file.
struct SdCardDevice {
  std::string partition;  ///< "mmcblk0p2" (or "mmcblk0": a file system on the whole card).
  std::string disk;       ///< "mmcblk0".
  uint64_t start = 0;     ///< First sector of the partition on the card (512-byte sectors).
  uint64_t sectors = 0;   ///< Its size in 512-byte sectors.
  std::string controller;  ///< The host controller's device name: "3f202000.mmc".
  /// Its physical address (the name's unit address); nullopt when the name has none.
  std::optional<uint64_t> controller_address;
  std::string card_type;  ///< sysfs "type": "SD", "SDcombo"; "" when unknown.
};

/// Finds the device major:minor under `root`'s /sys/dev/block. `path` names the file in
/// messages. Errors: not a block device; not an SD card ("PATH is on /dev/sda1 (not the
/// SD card): ..."); an eMMC or SDIO card; a sector size other than 512.
Expected<SdCardDevice> FindSdCard(std::string_view root, uint32_t major, uint32_t minor, const std::string& path);

/// Holes and unwritten extents of [0, size) of `map`: what must be written before the
/// blocks hold what Linux reads.
std::vector<ByteRange> RangesToWrite(std::span<const FileExtent> map, uint64_t size);

/// A run of whole-card sectors.
struct CardExtent {
  uint64_t first = 0, count = 0;  ///< 512-byte sectors of the whole card.
  bool operator==(const CardExtent&) const = default;
};

/// The card sectors of the first `area_bytes` of the file (a multiple of 4096), in file
/// order, neighbours merged. Errors, each naming the file and what to do: a flag other
/// than LAST/MERGED, a hole, a piece not 512-byte aligned, an extent outside the
/// partition, more than 64 extents.
Expected<std::vector<CardExtent>> CardExtentsFromMap(std::span<const FileExtent> map, uint64_t area_bytes,
                                                     const SdCardDevice& device, const std::string& path);

/// "extents:S+C,S+C,..." (decimal).
std::string ExtentsTarget(std::span<const CardExtent> extents);

// ---- the whole step --------------------------------------------------------------------------

struct DumpFileRequest {
  std::string path;        ///< As given (--file, SALVAGE_FILE, or the default).
  std::string root;        ///< --root: the file, sysfs and mountinfo are read under it.
  uint64_t needed = 0;     ///< DumpFileSize().file_bytes.
  std::optional<uint64_t> size;  ///< --file-size; nullopt: `needed`.
  bool dry_run = false;    ///< Change nothing: no file, no directory, no zeros, no flag.
  /// Called with the card once it is found, before anything is written: salvage load
  /// checks there that the image will find the card's controller in the DTB.
  std::function<Expected<void>(const SdCardDevice&)> check_card;
};

struct DumpFile {
  std::string path;        ///< As given.
  std::string device;      ///< "/dev/mmcblk0p2".
  std::string fs_name;     ///< "ext4".
  uint64_t bytes = 0;      ///< The file's size (what the image may fill).
  uint64_t needed = 0;     ///< What the whole dump needs.
  std::vector<CardExtent> extents;  ///< Empty in a dry run that would create or write the file.
  SdCardDevice card;
  std::string sink;        ///< "sd@0x3f202000", or "sd" when the address is unknown.
  std::string target;      ///< "extents:...", or kDryRunTarget.
  bool created = false;    ///< The file was made now (or would be, in a dry run).
  uint64_t written = 0;    ///< Bytes of zeros written (or to be written).
  bool immutable = false;  ///< FS_IMMUTABLE_FL is set.
  std::string existing_dump;  ///< "complete dump 0x..." when the file holds one (it is kept).
};

/// The target a dry run names when the file's extents are not known yet: a GPT
/// partition no card has, so an image loaded with it writes nothing.
inline constexpr std::string_view kDryRunTarget = "gpt-name:salvage-dry-run-no-file";

/// Steps 2-5 of the file comment. `notes` receives the details for -v and the warnings
/// ("warning: ..."). Errors: every refusal above with what to do.
Expected<DumpFile> PrepareDumpFile(const DumpFileRequest& request, FileSystem& files, std::vector<std::string>* notes);

/// "1040 MiB".
std::string MibText(uint64_t bytes);

}  // namespace salvage::loader::load
