// salvage::blockdump — target parsing and resolution (see target.h for the specs).
#include "salvage/blockdump/target.h"

#include "salvage/base/byte-order.h"
#include "salvage/stream/format.h"

namespace salvage::blockdump {
namespace {

using stream::Crc32IsoHdlc;

constexpr bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

constexpr int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A number in decimal or 0x hex, the whole of `s`.
bool ParseNumber(std::string_view s, uint64_t* out) {
  uint64_t v = 0;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    for (char c : s) {
      const int d = HexDigit(c);
      if (d < 0 || v > (~uint64_t{0} >> 4)) return false;
      v = (v << 4) | static_cast<uint64_t>(d);
    }
  } else {
    if (s.empty()) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      const uint64_t d = static_cast<uint64_t>(c - '0');
      if (v > (~uint64_t{0} - d) / 10) return false;
      v = v * 10 + d;
    }
  }
  *out = v;
  return true;
}

Status ParseExtents(std::string_view list, Extents* out) {
  out->size = 0;
  out->sector_size = kSpecSectorSize;
  if (list.empty()) return {Error::kInvalidArgument, "target: extents: the list is empty"};
  while (true) {
    const size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    const size_t plus = item.find('+');
    if (plus == std::string_view::npos) return {Error::kInvalidArgument, "target: extents: an item is not START+COUNT"};
    uint64_t start = 0, count = 0;
    if (!ParseNumber(item.substr(0, plus), &start) || !ParseNumber(item.substr(plus + 1), &count)) {
      return {Error::kInvalidArgument, "target: extents: a number is not decimal or 0x hex (or is over 2^64)"};
    }
    if (count == 0) return {Error::kInvalidArgument, "target: extents: an extent has count 0"};
    if (start + count < start) return {Error::kInvalidArgument, "target: extents: an extent ends past 2^64 sectors"};
    if (!out->Add(start, count)) return {Error::kInvalidArgument, "target: extents: more than 64 extents"};
    for (size_t j = 0; j + 1 < out->size; ++j) {
      if (Overlap(out->items[j], out->items[out->size - 1])) {
        return {Error::kInvalidArgument, "target: extents: two extents overlap"};
      }
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return Status::Ok();
}

// ---- reading the device ------------------------------------------------------------

Status ReadSectors(const ReaderRef& d, uint64_t lba, std::span<uint8_t> dst) {
  const uint64_t n = dst.size() / d.sector_size;
  if (lba > d.sector_count || n > d.sector_count - lba) {
    return {Error::kOutOfRange, "blockdump: partition table read past the end of the device"};
  }
  return d.read(d.device, lba, dst);
}

// ---- MBR -----------------------------------------------------------------------------

constexpr size_t kMbrEntries = 446;
constexpr size_t kMbrEntrySize = 16;
constexpr size_t kMbrType = 4;      // u8 partition type (0: empty)
constexpr size_t kMbrFirstLba = 8;  // u32
constexpr size_t kMbrSectors = 12;  // u32
constexpr uint8_t kTypeProtective = 0xEE;

constexpr const char* kMbrEmpty[4] = {"mbr: partition 1 is empty", "mbr: partition 2 is empty",
                                      "mbr: partition 3 is empty", "mbr: partition 4 is empty"};
constexpr const char* kMbrExtended[4] = {
    "mbr: partition 1 is an extended partition (it holds logical partitions)",
    "mbr: partition 2 is an extended partition (it holds logical partitions)",
    "mbr: partition 3 is an extended partition (it holds logical partitions)",
    "mbr: partition 4 is an extended partition (it holds logical partitions)"};
constexpr const char* kMbrAtZero[4] = {"mbr: partition 1 starts at sector 0 (over the partition table)",
                                       "mbr: partition 2 starts at sector 0 (over the partition table)",
                                       "mbr: partition 3 starts at sector 0 (over the partition table)",
                                       "mbr: partition 4 starts at sector 0 (over the partition table)"};
constexpr const char* kMbrPastEnd[4] = {"mbr: partition 1 passes the end of the disk",
                                        "mbr: partition 2 passes the end of the disk",
                                        "mbr: partition 3 passes the end of the disk",
                                        "mbr: partition 4 passes the end of the disk"};

Result<Extents> ResolveMbr(const ReaderRef& d, unsigned n, std::span<uint8_t> scratch) {
  const std::span<uint8_t> s0 = scratch.first(d.sector_size);
  SALVAGE_TRY(ReadSectors(d, 0, s0));
  if (s0[510] != 0x55 || s0[511] != 0xAA) {
    return Status{Error::kMalformed, "mbr: no partition table (sector 0 has no 0x55AA signature)"};
  }
  for (unsigned i = 0; i < 4; ++i) {
    if (s0[kMbrEntries + i * kMbrEntrySize + kMbrType] == kTypeProtective) {
      return Status{Error::kUnsupported,
                    "mbr: the disk is GPT (its MBR is a protective one, type 0xEE); use gpt-name: or gpt-uuid:"};
    }
  }
  const uint8_t* e = s0.data() + kMbrEntries + (n - 1) * kMbrEntrySize;
  const uint8_t type = e[kMbrType];
  const uint64_t first = LoadLe32(e + kMbrFirstLba);
  const uint64_t count = LoadLe32(e + kMbrSectors);
  if (type == 0 || count == 0) return Status{Error::kNotFound, kMbrEmpty[n - 1]};
  if (type == 0x05 || type == 0x0F || type == 0x85) return Status{Error::kUnsupported, kMbrExtended[n - 1]};
  if (first == 0) return Status{Error::kMalformed, kMbrAtZero[n - 1]};
  if (first > d.sector_count || count > d.sector_count - first) return Status{Error::kOutOfRange, kMbrPastEnd[n - 1]};
  Extents out;
  out.sector_size = d.sector_size;
  out.Add(first, count);
  return out;
}

// ---- GPT (UEFI 2.10 §5.3.2 header, §5.3.3 entries) -------------------------------------

namespace gpt {
constexpr size_t kSignature = 0;        // u8[8] "EFI PART"
constexpr size_t kRevision = 8;         // u32 0x00010000
constexpr size_t kHeaderSize = 12;      // u32 >= 92, <= block size
constexpr size_t kHeaderCrc = 16;       // u32 CRC32 of the header (this field zero)
constexpr size_t kMyLba = 24;           // u64 1 for the primary header
constexpr size_t kFirstUsable = 40;     // u64
constexpr size_t kLastUsable = 48;      // u64 inclusive
constexpr size_t kEntryLba = 72;        // u64 PartitionEntryLBA
constexpr size_t kEntryCount = 80;      // u32 NumberOfPartitionEntries
constexpr size_t kEntrySize = 84;       // u32 SizeOfPartitionEntry: 128 * 2^n
constexpr size_t kEntriesCrc = 88;      // u32 PartitionEntryArrayCRC32
constexpr size_t kMinHeaderSize = 92;
// Entry fields.
constexpr size_t kTypeGuid = 0;     // 16 bytes; all zero: unused entry
constexpr size_t kUniqueGuid = 16;  // 16 bytes
constexpr size_t kStartLba = 32;    // u64
constexpr size_t kEndLba = 40;      // u64 inclusive
constexpr size_t kName = 56;        // 36 x UTF-16LE
constexpr uint32_t kMinEntrySize = 128;
constexpr uint32_t kMaxEntrySize = 4096;
constexpr uint32_t kMaxEntries = 65536;
constexpr uint64_t kMaxArrayBytes = 16u << 20;
}  // namespace gpt

bool Unused(const uint8_t* entry) {
  for (size_t i = 0; i < 16; ++i) {
    if (entry[gpt::kTypeGuid + i] != 0) return false;
  }
  return true;
}

bool Matches(const uint8_t* entry, const TargetSpec& spec) {
  if (spec.kind == TargetKind::kGptUuid) {
    for (size_t i = 0; i < 16; ++i) {
      if (entry[gpt::kUniqueGuid + i] != spec.uuid[i]) return false;
    }
    return true;
  }
  for (size_t i = 0; i < spec.name_len; ++i) {
    if (LoadLe16(entry + gpt::kName + 2 * i) != static_cast<uint8_t>(spec.name[i])) return false;
  }
  return spec.name_len == kGptNameUnits || LoadLe16(entry + gpt::kName + 2 * spec.name_len) == 0;
}

Result<Extents> ResolveGpt(const ReaderRef& d, const TargetSpec& spec, std::span<uint8_t> scratch) {
  const uint32_t ss = d.sector_size;
  if (d.sector_count < 3) return Status{Error::kOutOfRange, "gpt: the device is too small for a GPT"};
  const std::span<uint8_t> h = scratch.first(ss);
  SALVAGE_TRY(ReadSectors(d, 1, h));
  static constexpr uint8_t kSig[8] = {'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T'};
  for (size_t i = 0; i < 8; ++i) {
    if (h[gpt::kSignature + i] != kSig[i]) {
      return Status{Error::kMalformed, "gpt: no GPT header at LBA 1 (no \"EFI PART\" signature)"};
    }
  }
  if ((LoadLe32(&h[gpt::kRevision]) >> 16) != 1) {
    return Status{Error::kUnsupported, "gpt: header revision is not 1.x"};
  }
  const uint32_t header_size = LoadLe32(&h[gpt::kHeaderSize]);
  if (header_size < gpt::kMinHeaderSize || header_size > ss) {
    return Status{Error::kMalformed, "gpt: header size is out of range"};
  }
  static constexpr uint8_t kZero4[4] = {};
  uint32_t crc = Crc32IsoHdlc::Update(0, h.first(gpt::kHeaderCrc));
  crc = Crc32IsoHdlc::Update(crc, kZero4);
  crc = Crc32IsoHdlc::Update(crc, h.subspan(gpt::kHeaderCrc + 4, header_size - gpt::kHeaderCrc - 4));
  if (!ChecksumMatches(crc, LoadLe32(&h[gpt::kHeaderCrc]))) {
    return Status{Error::kMalformed, "gpt: header CRC32 mismatch (the table is damaged; not writing)"};
  }
  if (LoadLe64(&h[gpt::kMyLba]) != 1) return Status{Error::kMalformed, "gpt: the header's own LBA is not 1"};
  const uint64_t first_usable = LoadLe64(&h[gpt::kFirstUsable]);
  const uint64_t last_usable = LoadLe64(&h[gpt::kLastUsable]);
  if (first_usable > last_usable || last_usable >= d.sector_count) {
    return Status{Error::kOutOfRange, "gpt: the usable LBAs pass the end of the device"};
  }
  const uint64_t entry_lba = LoadLe64(&h[gpt::kEntryLba]);
  const uint32_t entry_count = LoadLe32(&h[gpt::kEntryCount]);
  const uint32_t entry_size = LoadLe32(&h[gpt::kEntrySize]);
  const uint32_t entries_crc = LoadLe32(&h[gpt::kEntriesCrc]);
  if (entry_size < gpt::kMinEntrySize || entry_size > gpt::kMaxEntrySize || (entry_size & (entry_size - 1)) != 0) {
    return Status{Error::kMalformed, "gpt: partition entry size is not 128 * 2^n (up to 4096)"};
  }
  if (entry_count == 0 || entry_count > gpt::kMaxEntries ||
      uint64_t{entry_count} * entry_size > gpt::kMaxArrayBytes) {
    return Status{Error::kMalformed, "gpt: partition entry count is out of range"};
  }
  const uint64_t array_bytes = uint64_t{entry_count} * entry_size;
  const uint64_t array_sectors = (array_bytes + ss - 1) / ss;
  if (entry_lba < 2 || entry_lba > d.sector_count || array_sectors > d.sector_count - entry_lba) {
    return Status{Error::kOutOfRange, "gpt: the partition entry array passes the end of the device"};
  }
  const uint32_t unit = entry_size > ss ? entry_size : ss;
  if (scratch.size() < unit) {
    return Status{Error::kInvalidArgument, "blockdump: scratch is smaller than a sector or a GPT entry"};
  }
  const uint64_t chunk = scratch.size() / unit * unit;

  // One pass over the array: its CRC, and the matching entries. The result is used
  // only when the CRC matches.
  uint32_t acrc = 0;
  unsigned matches = 0;
  uint64_t start = 0, end = 0;
  uint64_t done = 0;  // bytes of the array read
  while (done < array_bytes) {
    const uint64_t want = array_bytes - done < chunk ? array_bytes - done : chunk;
    const uint64_t read = (want + ss - 1) / ss * ss;  // <= chunk: chunk is whole sectors
    const std::span<uint8_t> buf = scratch.first(static_cast<size_t>(read));
    SALVAGE_TRY(ReadSectors(d, entry_lba + done / ss, buf));
    acrc = Crc32IsoHdlc::Update(acrc, buf.first(static_cast<size_t>(want)));
    // `want` is whole entries: chunk and array_bytes are multiples of entry_size.
    for (uint64_t off = 0; off < want; off += entry_size) {
      const uint8_t* e = buf.data() + off;
      if (Unused(e) || !Matches(e, spec)) continue;
      if (++matches == 1) {
        start = LoadLe64(e + gpt::kStartLba);
        end = LoadLe64(e + gpt::kEndLba);
      }
    }
    done += want;
  }
  if (!ChecksumMatches(acrc, entries_crc)) {
    return Status{Error::kMalformed, "gpt: partition entry array CRC32 mismatch (the table is damaged; not writing)"};
  }
  const bool by_uuid = spec.kind == TargetKind::kGptUuid;
  if (matches == 0) return Status{Error::kNotFound, by_uuid ? kMsgGptNoUuid : kMsgGptNoName};
  if (matches > 1) return Status{Error::kInvalidArgument, by_uuid ? kMsgGptTwoUuids : kMsgGptTwoNames};
  if (start > end || start < first_usable || end > last_usable) {
    return Status{Error::kMalformed, "gpt: the partition lies outside the disk's usable LBAs"};
  }
  Extents out;
  out.sector_size = ss;
  out.Add(start, end - start + 1);
  return out;
}

Result<Extents> ConvertExtents(const ReaderRef& d, const Extents& spec_extents) {
  const uint32_t factor = d.sector_size / kSpecSectorSize;
  Extents out;
  out.sector_size = d.sector_size;
  for (size_t i = 0; i < spec_extents.size; ++i) {
    const Extent& x = spec_extents.items[i];
    if (x.first_lba % factor != 0 || x.count % factor != 0) {
      return Status{Error::kInvalidArgument,
                    "extents: an extent is not aligned to the device's sectors (extents count 512-byte sectors)"};
    }
    out.Add(x.first_lba / factor, x.count / factor);
  }
  return out;
}

// ---- messages ------------------------------------------------------------------------

struct Writer {
  std::span<char> out;
  size_t len = 0;
  void Put(char c) {
    if (len + 1 < out.size()) out[len++] = c;
  }
  void Put(std::string_view s) {
    for (char c : s) Put(c);
  }
  size_t End() {
    if (!out.empty()) out[len] = 0;
    return len;
  }
};

}  // namespace

bool ParseGuid(std::string_view text, std::array<uint8_t, 16>* out) {
  if (text.size() != 36) return false;
  uint8_t t[16];
  size_t k = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
      ++i;
      continue;
    }
    const int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    t[k++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  // Text order to disk order: fields 1-3 little-endian, 4-5 as written.
  static constexpr uint8_t kOrder[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  for (size_t i = 0; i < 16; ++i) (*out)[i] = t[kOrder[i]];
  return true;
}

void FormatGuid(const std::array<uint8_t, 16>& guid, std::span<char, 37> out) {
  static constexpr uint8_t kOrder[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  static constexpr char kHex[] = "0123456789abcdef";
  size_t p = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[p++] = '-';
    const uint8_t b = guid[kOrder[i]];
    out[p++] = kHex[b >> 4];
    out[p++] = kHex[b & 15];
  }
  out[p] = 0;
}

Result<TargetSpec> ParseTarget(std::string_view value) {
  TargetSpec spec;
  if (value == "disk") {
    spec.kind = TargetKind::kDisk;
    return spec;
  }
  if (StartsWith(value, "mbr:")) {
    const std::string_view n = value.substr(4);
    if (n.size() != 1 || n[0] < '1' || n[0] > '4') {
      return Status{Error::kInvalidArgument, "target: mbr:N needs a primary partition number N from 1 to 4"};
    }
    spec.kind = TargetKind::kMbr;
    spec.mbr_partition = static_cast<uint8_t>(n[0] - '0');
    return spec;
  }
  if (StartsWith(value, "gpt-name:")) {
    const std::string_view name = value.substr(9);
    if (name.empty()) return Status{Error::kInvalidArgument, "target: gpt-name: needs a name"};
    if (name.size() > kGptNameUnits) {
      return Status{Error::kInvalidArgument, "target: gpt-name: a GPT name has at most 36 characters"};
    }
    for (char c : name) {
      if (c <= ' ' || c > '~') {
        return Status{Error::kInvalidArgument, "target: gpt-name: the name must be printable ASCII without spaces"};
      }
    }
    spec.kind = TargetKind::kGptName;
    for (size_t i = 0; i < name.size(); ++i) spec.name[i] = name[i];
    spec.name_len = name.size();
    return spec;
  }
  if (StartsWith(value, "gpt-uuid:")) {
    if (!ParseGuid(value.substr(9), &spec.uuid)) {
      return Status{Error::kInvalidArgument, "target: gpt-uuid: is not xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex)"};
    }
    spec.kind = TargetKind::kGptUuid;
    return spec;
  }
  if (StartsWith(value, "extents:")) {
    SALVAGE_TRY(ParseExtents(value.substr(8), &spec.extents));
    spec.kind = TargetKind::kExtents;
    return spec;
  }
  if (value.empty()) return Status{Error::kInvalidArgument, "target: empty"};
  return Status{Error::kInvalidArgument,
                "target: unknown (expected disk, mbr:N, gpt-name:NAME, gpt-uuid:UUID or extents:S+C,...)"};
}

Result<Extents> ResolveTargetWith(const ReaderRef& d, const TargetSpec& spec, std::span<uint8_t> scratch) {
  const uint32_t ss = d.sector_size;
  if (ss < 512 || ss > 4096 || (ss & (ss - 1)) != 0) {
    return Status{Error::kUnsupported, "blockdump: device sector size is not 512, 1024, 2048 or 4096"};
  }
  if (d.sector_count == 0) return Status{Error::kOutOfRange, "blockdump: the device has no sectors"};
  const bool reads = spec.kind != TargetKind::kDisk && spec.kind != TargetKind::kExtents;
  if (reads && scratch.size() < ss) {
    return Status{Error::kInvalidArgument, "blockdump: scratch is smaller than a sector or a GPT entry"};
  }
  Extents out;
  switch (spec.kind) {
    case TargetKind::kDisk:
      out.sector_size = ss;
      out.Add(0, d.sector_count);
      break;
    case TargetKind::kMbr: {
      if (spec.mbr_partition < 1 || spec.mbr_partition > 4) {
        return Status{Error::kInvalidArgument, "target: mbr:N needs a primary partition number N from 1 to 4"};
      }
      SALVAGE_ASSIGN_OR_RETURN(out, ResolveMbr(d, spec.mbr_partition, scratch));
      break;
    }
    case TargetKind::kGptName:
    case TargetKind::kGptUuid: {
      SALVAGE_ASSIGN_OR_RETURN(out, ResolveGpt(d, spec, scratch));
      break;
    }
    case TargetKind::kExtents: {
      SALVAGE_ASSIGN_OR_RETURN(out, ConvertExtents(d, spec.extents));
      break;
    }
  }
  SALVAGE_TRY(CheckExtents(out, d.sector_count));
  return out;
}

size_t FormatTargetError(const Status& status, const TargetSpec& spec, std::span<char> out) {
  Writer w{out};
  const char* what = status.what();
  if (what == kMsgGptNoName || what == kMsgGptTwoNames) {
    w.Put(what == kMsgGptNoName ? "gpt: no partition named '" : "gpt: more than one partition is named '");
    w.Put(spec.Name());
    w.Put('\'');
  } else if (what == kMsgGptNoUuid || what == kMsgGptTwoUuids) {
    std::array<char, 37> g;
    FormatGuid(spec.uuid, g);
    w.Put(what == kMsgGptNoUuid ? "gpt: no partition has the unique GUID " : "gpt: more than one partition has the unique GUID ");
    w.Put(std::string_view(g.data(), 36));
  } else {
    w.Put(std::string_view(what));
  }
  return w.End();
}

}  // namespace salvage::blockdump
