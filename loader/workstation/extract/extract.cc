// `salvage extract` (see extract.h): find the dump area on the source, read the dump's
// header and trailer blocks (docs/disk-format.md), and feed the stream to the Receiver
// that recv and convert use.
//
// The stream on a disk lies at an offset and may be scattered over extents: extract
// reads it through the extents and pushes it into the Receiver (Start, Feed, Finish),
// chunk by chunk, as recv does with what its Source reads.
#include "workstation/extract/extract.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <salvage/blockdump/disk-format.h>
#include <salvage/blockdump/extents.h>
#include <salvage/blockdump/target.h>
#include <salvage/stream/format.h>

#include "workstation/recv/receiver.h"

#include "common/exit-codes.h"
#include "common/expected.h"
#include "common/text.h"

namespace salvage::loader {

const char kExtractUsage[] =
    "usage: salvage extract [options] SOURCE\n"
    "\n"
    "Reads a dump that salvage wrote to a disk (salvage.sink=virtio-blk, or an SD card)\n"
    "and writes it as a vmcore, with the same checks and messages as recv. It says whether\n"
    "the dump on the disk is complete, truncated (the target was too small), or was\n"
    "interrupted before salvage finished writing it.\n"
    "\n"
    "SOURCE:\n"
    "  /dev/sdb, disk.img      a whole disk or its image: give --target as salvage.target= said\n"
    "  /dev/sdb2, part.img     the partition salvage wrote to (no --target needed)\n"
    "  dump.bin                a file whose bytes are the dump area\n"
    "\n"
    "options:\n"
    "  -o, --output FILE       the vmcore to write (default: vmcore-YYYYMMDD-HHMMSS)\n"
    "  -f, --force             replace FILE if it exists (default: refuse)\n"
    "  -t, --target SPEC       where on SOURCE the dump is, in salvage.target= syntax: disk,\n"
    "                          mbr:N, gpt-name:NAME, gpt-uuid:UUID, extents:S+C,...\n"
    "                          (default: all of SOURCE)\n"
    "      --extents S+C,...   the same as --target extents:S+C,... (512-byte sectors); with\n"
    "                          just the first extent, the dump header's extents are followed\n"
    "      --sector-size N     bytes per sector of SOURCE (default: the device's; for a file\n"
    "                          512, or 4096 when only that finds the GPT)\n"
    "  -q, --quiet             no progress line\n"
    "\n"
    "The vmcore is written as by recv (mode 0600, renamed when done). Exit status: 0 complete\n"
    "and intact; 3 written but incomplete (truncated, interrupted, or pages lost; the missing\n"
    "ranges are named); 1 no dump found, or an I/O error; 2 usage.\n";

namespace {

using blockdump::BlockCheck;
using blockdump::DumpHeader;
using blockdump::DumpTrailer;
using blockdump::Extents;
using blockdump::kBlockSize;

constexpr size_t kChunk = 1 << 20;  // bytes read from the source at a time

void Say(const std::string& s) { std::fprintf(stderr, "salvage extract: %s\n", s.c_str()); }
/// Prints the error; returns the exit code for it.
int FailExit(const std::string& s) {
  std::fprintf(stderr, "salvage extract: error: %s\n", s.c_str());
  return kExitFailure;
}

Expected<void> PreadAll(int fd, uint8_t* p, size_t n, uint64_t off) {
  while (n > 0) {
    const ssize_t r = pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Fail(std::string("read at byte ") + std::to_string(off) + ": " + std::strerror(errno));
    }
    if (r == 0) {
      return Fail("read at byte " + std::to_string(off) + ": end of file");
    }
    p += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return {};
}

/// The source as a read-only block device, for the target resolver.
class FdDevice {
 public:
  FdDevice(int fd, uint32_t sector_size, uint64_t sectors) : fd_(fd), sector_size_(sector_size), sectors_(sectors) {}
  uint32_t SectorSize() const { return sector_size_; }
  uint64_t SectorCount() const { return sectors_; }
  Status Read(uint64_t lba, std::span<uint8_t> dst) {
    if (auto read = PreadAll(fd_, dst.data(), dst.size(), lba * sector_size_); !read.ok()) {
      error_ = read.error();
      return {Error::kIo, "extract: cannot read the source"};
    }
    return Status::Ok();
  }
  const std::string& error() const { return error_; }

 private:
  int fd_;
  uint32_t sector_size_;
  uint64_t sectors_;
  std::string error_;
};
static_assert(blockdump::SectorReader<FdDevice>);

/// Bytes of the dump area: offsets in the area mapped through the extents to the source.
class AreaReader {
 public:
  AreaReader(int fd, const Extents& e, uint64_t limit) : fd_(fd), extents_(e), limit_(limit) {}
  uint64_t size() const { return limit_; }
  /// Reads [off, off + n) of the area; fails past its end or on a read error.
  Expected<void> Read(uint64_t off, uint8_t* dst, size_t n) const {
    if (off > limit_ || n > limit_ - off) return Fail("read past the end of the dump area");
    const uint64_t ss = extents_.sector_size;
    uint64_t base = 0;  // area offset of extent i
    for (size_t i = 0; i < extents_.size && n > 0; ++i) {
      const uint64_t len = extents_.items[i].count * ss;
      if (off < base + len) {
        const uint64_t in = off - base;
        const size_t m = static_cast<size_t>(std::min<uint64_t>(n, len - in));
        if (auto read = PreadAll(fd_, dst, m, extents_.items[i].first_lba * ss + in); !read.ok()) return read;
        dst += m;
        off += m;
        n -= m;
      }
      base += len;
    }
    return {};
  }

 private:
  int fd_;
  Extents extents_;
  uint64_t limit_;
};

/// True when `chunk` holds the start of a record (verified header CRC) of the stream
/// whose tag is `tag`.
bool HasRecordOf(std::span<const uint8_t> chunk, uint32_t tag) {
  for (size_t i = 0; i + stream::kRecordHeaderSize <= chunk.size(); ++i) {
    if (chunk[i] != stream::kSync[0] || !stream::HasSync(chunk.subspan(i))) continue;
    stream::RecordHeader h;
    uint32_t crc = 0;
    if (stream::DecodeRecordHeader(chunk.subspan(i).first<stream::kRecordHeaderSize>(), &h, &crc) &&
        h.stream_tag == tag) {
      return true;
    }
  }
  return false;
}

/// The header's total_pages and the trailer's pages, read from the ends of a stream of
/// `length` bytes at area offset `from`. False when either record is not there intact.
bool StreamCounts(const AreaReader& area, uint64_t from, uint64_t length, uint64_t* total, uint64_t* kept) {
  std::vector<uint8_t> b(stream::kRecordHeaderSize + stream::hdr::kSize);
  constexpr size_t kTrailerRecord = stream::kRecordHeaderSize + stream::trl::kSize;
  if (length < b.size() + kTrailerRecord || !area.Read(from, b.data(), b.size()).ok()) return false;
  stream::RecordHeader h;
  uint32_t crc = 0;
  if (!stream::DecodeRecordHeader(std::span<const uint8_t>(b).first<stream::kRecordHeaderSize>(), &h, &crc) ||
      h.type != stream::RecordType::kHeader) {
    return false;
  }
  *total = LoadLe64(b.data() + stream::kRecordHeaderSize + stream::hdr::kTotalPages);
  b.resize(kTrailerRecord);
  if (!area.Read(from + length - kTrailerRecord, b.data(), b.size()).ok()) return false;
  const std::span<const uint8_t> t(b);
  if (!stream::DecodeRecordHeader(t.first<stream::kRecordHeaderSize>(), &h, &crc) ||
      h.type != stream::RecordType::kTrailer || h.payload_len != stream::trl::kSize ||
      !ChecksumMatches(stream::Crc32c::Update(stream::StoredHeaderCrc(t.first<stream::kRecordHeaderSize>()),
                                              t.subspan(stream::kRecordHeaderSize)),
                       crc)) {
    return false;
  }
  stream::StreamTotals totals;
  uint32_t flags = 0;
  if (!stream::DecodeTrailerPayload(t.subspan(stream::kRecordHeaderSize), &totals, &flags)) return false;
  *kept = totals.pages;
  return true;
}

/// How far the stream was read from the area.
struct AreaRead {
  uint64_t bytes = 0;        ///< Stream bytes read and fed to the Receiver.
  bool stopped_at_gap = false;
  std::string read_error;    ///< Set when the source could not be read.
};

/// Runs the Receiver on area bytes [from, from + length); returns its exit code. With
/// `scan`, stops once two whole chunks in a row hold no record of the stream tagged
/// `tag`: the stream is contiguous from its start, so what follows is older data.
int ReceiveFromArea(const ExtractOptions& o, const std::string& where, const AreaReader& area, uint64_t from,
                    uint64_t length, bool scan, uint32_t tag, AreaRead* read) {
  ReceiveOptions ro;
  ro.output = o.output;
  ro.force = o.force;
  ro.progress = o.progress;
  ro.echo_text = false;     // no console text on a disk; padding and old data are not news
  ro.idle_timeout_s = 0;    // the area ends the input
  ro.tool = "extract";
  // The stream stays on the source (extract only reads it): no copy is needed.
  ro.keep_stream_on_failure = false;
  ro.stream_origin = o.source + " (extract only reads it; run it again with another -o)";
  Receiver receiver(ro);
  if (const int rc = receiver.Start({"the dump area of " + where, false}); rc != kExitOk) return rc;
  std::vector<uint8_t> buf(kChunk);
  int empty_chunks = 0;
  for (uint64_t done = 0; done < length;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, length - done));
    if (auto r = area.Read(from + done, buf.data(), n); !r.ok()) {
      read->read_error = r.error();
      break;
    }
    const std::span<const uint8_t> chunk(buf.data(), n);
    if (scan) {
      empty_chunks = HasRecordOf(chunk, tag) ? 0 : empty_chunks + 1;
      if (empty_chunks == 2) {
        read->stopped_at_gap = true;
        break;
      }
    }
    done += n;
    read->bytes = done;
    if (!receiver.Feed(chunk)) break;
  }
  return receiver.Finish();
}

/// What OpenSource found: the source's size and sector size.
struct SourceShape {
  uint32_t sector_size = 0;
  uint64_t bytes = 0;
  bool is_block = false;
};

/// Opens the source read-only into *fd (closed by the caller, also on failure).
Expected<SourceShape> OpenSource(const ExtractOptions& o, int* fd) {
  *fd = open(o.source.c_str(), O_RDONLY | O_CLOEXEC);
  if (*fd < 0) return Fail("cannot open " + o.source + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(*fd, &st) != 0) return Fail("cannot stat " + o.source + ": " + std::strerror(errno));
  SourceShape shape;
  shape.is_block = S_ISBLK(st.st_mode);
  if (shape.is_block) {
    uint64_t size = 0;
    int ss = 0;
    if (ioctl(*fd, BLKGETSIZE64, &size) != 0 || ioctl(*fd, BLKSSZGET, &ss) != 0) {
      return Fail("cannot read the size of " + o.source + ": " + std::strerror(errno));
    }
    shape.bytes = size;
    shape.sector_size = o.sector_size ? o.sector_size : static_cast<uint32_t>(ss);
  } else if (S_ISREG(st.st_mode)) {
    shape.bytes = static_cast<uint64_t>(st.st_size);
    shape.sector_size = o.sector_size ? o.sector_size : 512;
  } else {
    return Fail(o.source + " is neither a file nor a block device");
  }
  return shape;
}

// A GPT on a 4096-byte-sector disk image: its header is at byte 4096, not 512.
uint32_t GuessImageSectorSize(int fd, uint64_t bytes) {
  static constexpr uint8_t kSig[8] = {'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T'};
  uint8_t b[8];
  if (bytes >= 520 && PreadAll(fd, b, 8, 512).ok() && std::memcmp(b, kSig, 8) == 0) return 512;
  if (bytes >= 4104 && PreadAll(fd, b, 8, 4096).ok() && std::memcmp(b, kSig, 8) == 0) return 4096;
  return 512;
}

/// The dump header block at area offset 0 did not decode (`primary`): reads the backup
/// that disk format 2 keeps in the area's last whole block but one (docs/disk-format.md
/// §2) and takes it when it is intact and describes this area. Says which it used.
bool UseBackupHeader(const AreaReader& area, const std::string& where, BlockCheck primary, DumpHeader* header) {
  DumpHeader layout;
  if (!blockdump::LayoutFor(area.size(), &layout)) return false;
  std::vector<uint8_t> block(kBlockSize);
  if (!area.Read(layout.backup_offset, block.data(), kBlockSize).ok()) return false;
  DumpHeader backup;
  if (blockdump::DecodeHeader(std::span<const uint8_t, kBlockSize>(block.data(), kBlockSize), &backup) !=
          BlockCheck::kOk ||
      backup.backup_offset != layout.backup_offset || backup.area_bytes != area.size()) {
    return false;
  }
  const char* why = primary == BlockCheck::kNoMagic  ? "is not there (no magic: overwritten?)"
                    : primary == BlockCheck::kBadCrc ? "is damaged (CRC mismatch)"
                                                     : "contradicts itself";
  Say("the dump header block on " + where + " " + why + "; used its backup at area offset " +
      std::to_string(layout.backup_offset));
  *header = backup;
  return true;
}

class FdCloser {
 public:
  explicit FdCloser(int* fd) : fd_(fd) {}
  ~FdCloser() {
    if (*fd_ >= 0) close(*fd_);
  }

 private:
  int* fd_;
};

}  // namespace

int Extract(const ExtractOptions& o) {
  if (!o.target.empty() && !o.extents.empty()) {
    std::fprintf(stderr, "salvage extract: --target and --extents exclude each other\n");
    return kExitUsage;
  }
  if (!o.force && access(o.output.c_str(), F_OK) == 0) {
    std::fprintf(stderr, "salvage extract: error: %s exists; use --force to replace it or -o to choose another name\n",
                 o.output.c_str());
    return kExitUsage;
  }
  if (o.sector_size != 0 && (o.sector_size < 512 || o.sector_size > 4096 || (o.sector_size & (o.sector_size - 1)))) {
    std::fprintf(stderr, "salvage extract: --sector-size must be 512, 1024, 2048 or 4096\n");
    return kExitUsage;
  }

  // The target, parsed before anything is opened: a typo is a usage error.
  const std::string spec_text = !o.extents.empty() ? "extents:" + o.extents : o.target.empty() ? "disk" : o.target;
  const Result<blockdump::TargetSpec> spec = blockdump::ParseTarget(spec_text);
  if (!spec.ok()) {
    std::fprintf(stderr, "salvage extract: %s: %s\n", o.extents.empty() ? "--target" : "--extents",
                 spec.status().what());
    return kExitUsage;
  }

  int fd = -1;
  FdCloser closer(&fd);
  const Expected<SourceShape> shape = OpenSource(o, &fd);
  if (!shape.ok()) return FailExit(shape.error());
  uint32_t ss = shape->sector_size;
  const uint64_t bytes = shape->bytes;
  const bool is_block = shape->is_block;
  const bool gpt = spec->kind == blockdump::TargetKind::kGptName || spec->kind == blockdump::TargetKind::kGptUuid;
  if (!is_block && o.sector_size == 0 && gpt) ss = GuessImageSectorSize(fd, bytes);

  // Where the dump area is.
  FdDevice device(fd, ss, bytes / ss);
  std::vector<uint8_t> scratch(64 * 1024);
  Result<Extents> resolved = blockdump::ResolveTarget(device, *spec, scratch);
  if (!resolved.ok()) {
    if (!device.error().empty()) return FailExit(o.source + ": " + device.error());
    char why[256];
    blockdump::FormatTargetError(resolved.status(), *spec, why);
    return FailExit(o.source + ": target " + spec_text + ": " + why);
  }
  Extents extents = *resolved;
  const std::string where = o.target.empty() && o.extents.empty() ? o.source : o.source + " (" + spec_text + ")";
  if (extents.AreaBytes() < kBlockSize) {
    return FailExit(where + " is too small to hold a salvage dump (" + std::to_string(extents.AreaBytes()) + " bytes)");
  }

  // The header block.
  AreaReader whole(fd, extents, extents.AreaBytes());
  std::vector<uint8_t> block(kBlockSize);
  if (auto read = whole.Read(0, block.data(), kBlockSize); !read.ok()) return FailExit(o.source + ": " + read.error());
  DumpHeader header;
  BlockCheck check = blockdump::DecodeHeader(std::span<const uint8_t, kBlockSize>(block.data(), kBlockSize), &header);
  if (check != BlockCheck::kOk && check != BlockCheck::kBadVersion && UseBackupHeader(whole, where, check, &header)) {
    check = BlockCheck::kOk;
  }
  switch (check) {
    case BlockCheck::kOk: break;
    case BlockCheck::kNoMagic:
      return FailExit(where + " holds no salvage dump: no dump header at its start" +
                  (o.target.empty() && o.extents.empty()
                       ? std::string(" (a whole disk or card needs --target as salvage.target= said; a dump file"
                                     " from salvage load --sink sd-file without a header has not been written by"
                                     " a crash yet)")
                       : std::string()));
    case BlockCheck::kBadCrc:
      return FailExit("the dump header on " + where + " is damaged (CRC mismatch), and so is its backup at the area's end " +
                  "(or it is not there: a dump of disk format 1, or an area given shorter than salvage wrote it); " +
                  "nothing extracted");
    case BlockCheck::kBadVersion:
      return FailExit("the dump on " + where + " has a disk format version this salvage does not know; update salvage");
    case BlockCheck::kBadFields:
      return FailExit("the dump header on " + where + " contradicts itself, and its backup at the area's end is not " +
                  "usable either; nothing extracted");
  }

  // The header knows the area's size (and extents): a source that starts at the same
  // sector but is given shorter follows the header's extents; a longer one is cut.
  uint64_t available = extents.AreaBytes();
  if (header.area_bytes != extents.AreaBytes() && header.extents.sector_size == extents.sector_size &&
      header.extents.items[0].first_lba == extents.items[0].first_lba && extents.size == 1 &&
      blockdump::CheckExtents(header.extents, device.SectorCount()).ok()) {
    extents = header.extents;
    available = extents.AreaBytes();
    Say("following the " + std::to_string(extents.size) + " extents of the dump header (" +
        Mib(header.area_bytes) + ")");
  }
  const bool cut = available < header.area_bytes;
  if (!cut) available = header.area_bytes;
  AreaReader area(fd, extents, available);

  // The trailer block.
  enum class State { kComplete, kTruncated, kInterrupted, kStale } state = State::kInterrupted;
  DumpTrailer trailer;
  BlockCheck trailer_check = BlockCheck::kNoMagic;
  if (!cut) {
    if (auto read = area.Read(header.trailer_offset, block.data(), kBlockSize); !read.ok()) {
      return FailExit(o.source + ": " + read.error());
    }
    trailer_check = blockdump::DecodeTrailer(std::span<const uint8_t, kBlockSize>(block.data(), kBlockSize), &trailer);
  }
  if (trailer_check == BlockCheck::kOk) {
    if (trailer.dump_id != header.dump_id) {
      state = State::kStale;
    } else if (trailer.area_bytes == header.area_bytes && trailer.stream_bytes <= header.stream_capacity) {
      state = (trailer.flags & blockdump::kDumpTruncated) ? State::kTruncated : State::kComplete;
    }
  }
  const uint64_t stream_room =
      cut ? std::min(available > kBlockSize ? available - kBlockSize : 0, header.stream_capacity)
          : header.stream_capacity;
  const uint64_t length =
      (state == State::kComplete || state == State::kTruncated) ? trailer.stream_bytes : stream_room;

  std::string what;
  switch (state) {
    case State::kComplete: what = "complete"; break;
    case State::kTruncated: what = "truncated (the target was too small)"; break;
    case State::kInterrupted:
      what = cut ? "cut short: the source holds " + Mib(available) + " of its " + Mib(header.area_bytes) + " area"
                 : std::string("interrupted (no trailer") +
                       (trailer_check == BlockCheck::kBadCrc ? ": it is damaged)" : ")");
      break;
    case State::kStale: what = "interrupted (the trailer is an older dump's, " + Hex(trailer.dump_id) + ")"; break;
  }
  // An interrupted dump's stream length is found by reading: say it once, at the end.
  const std::string size_text = (state == State::kComplete || state == State::kTruncated)
                                    ? Mib(length) + " of stream"
                                    : "stream read up to this dump's last record";
  Say(where + ": dump " + Hex(header.dump_id) + ", " + what + "; " + size_text + " in a " + Mib(header.area_bytes) +
      " area (" + std::to_string(header.extents.size) + " extent" + (header.extents.size == 1 ? "" : "s") + ")");

  const bool scan = (state == State::kInterrupted || state == State::kStale) && header.dump_id != 0;
  AreaRead feed;
  const int rc = ReceiveFromArea(o, where, area, header.stream_offset, length, scan,
                                 static_cast<uint32_t>(header.dump_id), &feed);
  if (rc == kExitUsage) return rc;
  if (!feed.read_error.empty()) {
    FailExit("reading " + o.source + " stopped after " + Mib(feed.bytes) + " of stream: " + feed.read_error);
  }
  switch (state) {
    case State::kComplete: break;
    case State::kTruncated: {
      uint64_t total = 0, kept = 0;
      if (StreamCounts(area, header.stream_offset, length, &total, &kept)) {
        Say("the dump on the target is truncated: it kept " + std::to_string(kept) + " of " + std::to_string(total) +
            " pages (the target was too small)");
      } else {
        Say("the dump on the target is truncated (the target was too small)");
      }
      break;
    }
    case State::kInterrupted:
    case State::kStale: {
      if (rc == kExitOk) {
        Say("the dump's trailer block is missing, but the stream on the target is complete");
        break;
      }
      std::string why = state == State::kStale
                            ? "the trailer on the target belongs to an older dump (" + Hex(trailer.dump_id) +
                                  "), not to this one (" + Hex(header.dump_id) + ")"
                            : cut ? "the source ends before the dump area does"
                                  : "it has no trailer (salvage did not finish writing it: power loss, a reset or a "
                                    "fault)";
      Say("the dump on the target was interrupted: " + why + "; the vmcore holds what was written" +
          (feed.stopped_at_gap ? " (" + Mib(feed.bytes) + " of stream read; nothing of this dump after that)"
                               : " (" + Mib(feed.bytes) + " of stream read)"));
      break;
    }
  }
  return rc;
}

int ExtractCommand(int argc, char** argv) {
  ExtractOptions o;
  auto usage = [](const std::string& what) {
    std::fprintf(stderr, "salvage extract: %s\ntry 'salvage extract --help'\n", what.c_str());
    return kExitUsage;
  };
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "-h" || a == "--help") {
      std::fputs(kExtractUsage, stdout);
      return 0;
    } else if (a == "-o" || a == "--output") {
      if (!next) return usage(a + " needs a file name");
      o.output = argv[++i];
    } else if (a == "-f" || a == "--force") {
      o.force = true;
    } else if (a == "-t" || a == "--target") {
      if (!next) return usage(a + " needs a target (disk, mbr:N, gpt-name:NAME, gpt-uuid:UUID, extents:S+C,...)");
      o.target = argv[++i];
    } else if (a == "--extents") {
      if (!next) return usage(a + " needs S+C,... (512-byte sectors)");
      o.extents = argv[++i];
    } else if (a == "--sector-size") {
      if (!next || std::atoi(next) <= 0) return usage(a + " needs a number of bytes");
      o.sector_size = static_cast<uint32_t>(std::atoi(argv[++i]));
    } else if (a == "-q" || a == "--quiet") {
      o.progress = false;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage("unknown option " + a);
    } else if (o.source.empty()) {
      o.source = a;
    } else {
      return usage("more than one source: " + o.source + " and " + a);
    }
  }
  if (o.source.empty()) return usage("no SOURCE given");
  if (o.output.empty()) {
    char buf[64];
    const time_t t = time(nullptr);
    strftime(buf, sizeof(buf), "vmcore-%Y%m%d-%H%M%S", localtime(&t));
    o.output = buf;
  }
  return Extract(o);
}

}  // namespace salvage::loader
