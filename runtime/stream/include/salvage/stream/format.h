// salvage::stream — the stream format, shared by the encoder (in the image) and the
// decoder (on the host).
//
// Follows docs/stream-format.md, format version 1. Every number in this file is defined
// there; change both together. All integers are little-endian and every record is
// serialized byte by byte, so the layout does not depend on the compiler's struct
// padding or on the host's byte order.
//
// Also here: CRC-32C (Castagnoli; the record checksum) and CRC-32/ISO-HDLC (zlib's, for
// tools and tests), both table-driven with tables computed at compile time, and XXH64
// (the digest of the whole dump), written from the public XXH64 specification
// (github.com/Cyan4973/xxHash, doc/xxhash_spec.md, "XXH64 Algorithm Description").
//
// Freestanding: only <array> <cstddef> <cstdint> <span> <type_traits> and runtime/base.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "salvage/base/byte-order.h"
#include "salvage/base/elf.h"
#include "salvage/base/fuzzing.h"
#include "salvage/base/phys.h"

namespace salvage::stream {

// Little-endian byte access: salvage/base/byte-order.h.

// ---------------------------------------------------------------------------------------
// CRC-32, reflected (LSB-first) variants, slicing-by-8 with tables built at compile time.

namespace internal {
using CrcTables = std::array<std::array<uint32_t, 256>, 8>;

constexpr CrcTables MakeCrcTables(uint32_t reflected_poly) {
  CrcTables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ reflected_poly : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
  return t;
}
}  // namespace internal

/// A reflected CRC-32 with init 0xFFFFFFFF and xorout 0xFFFFFFFF, given its reflected
/// polynomial. `Update` has zlib's `crc32(crc, buf, len)` semantics: start from 0, and
/// Update(Update(0, a), b) == Update(0, a ‖ b).
template <uint32_t kReflectedPoly>
struct Crc32Reflected {
  static constexpr internal::CrcTables kTables = internal::MakeCrcTables(kReflectedPoly);

  static constexpr uint32_t Update(uint32_t crc, std::span<const uint8_t> data) {
    if (!std::is_constant_evaluated()) return UpdateAtRunTime(crc, data);
    const auto& t = kTables;
    uint32_t c = ~crc;
    const uint8_t* p = data.data();
    size_t n = data.size();
    for (; n >= 8; p += 8, n -= 8) c = Eight(c, LoadLe32(p), LoadLe32(p + 4));
    for (; n > 0; ++p, --n) c = (c >> 8) ^ t[0][(c ^ *p) & 0xff];
    return ~c;
  }

  /// Out of line on purpose: inlined at every call site with a known length, the
  /// unrolled slicing loop cost kilobytes of image per caller.
  [[gnu::noinline]] static uint32_t UpdateAtRunTime(uint32_t crc, std::span<const uint8_t> data) {
    const auto& t = kTables;
    uint32_t c = ~crc;
    const uint8_t* p = data.data();
    size_t n = data.size();
    for (; n > 0 && !IsAligned(p, 8); ++p, --n) c = (c >> 8) ^ t[0][(c ^ *p) & 0xff];
    for (; n >= 8; p += 8, n -= 8) c = Eight(c, LoadLe32Aligned(p), LoadLe32Aligned(p + 4));
    for (; n > 0; ++p, --n) c = (c >> 8) ^ t[0][(c ^ *p) & 0xff];
    return ~c;
  }
  static constexpr uint32_t Compute(std::span<const uint8_t> data) { return Update(0, data); }

 private:
  // Slicing-by-8: the register after 8 more bytes (lo: bytes 0..3, hi: bytes 4..7, LE).
  static constexpr uint32_t Eight(uint32_t c, uint32_t lo, uint32_t hi) {
    const auto& t = kTables;
    lo ^= c;
    return t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
           t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
  }
};

/// CRC-32C (Castagnoli): poly 0x1EDC6F41 (reflected 0x82F63B78), init and xorout
/// 0xFFFFFFFF, reflected in and out; check("123456789") = 0xE3069283. The stream's
/// record checksum: better error detection than zlib's CRC at these lengths, and the
/// instruction set of arm64 (CRC32C*), x86 (SSE4.2 crc32) and RISC-V (Zbc) can compute it.
using Crc32c = Crc32Reflected<0x82F63B78u>;
/// CRC-32/ISO-HDLC (zlib, Ethernet, PNG): poly 0x04C11DB7 (reflected 0xEDB88320);
/// check("123456789") = 0xCBF43926. Not used by the stream; here for tools and tests.
using Crc32IsoHdlc = Crc32Reflected<0xEDB88320u>;

// ---------------------------------------------------------------------------------------
// XXH64, streaming. Spec: xxHash doc/xxhash_spec.md (XXH64 section).

class Xxh64 {
 public:
  static constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ull;
  static constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4Full;
  static constexpr uint64_t kPrime3 = 0x165667B19E3779F9ull;
  static constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ull;
  static constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ull;

  constexpr explicit Xxh64(uint64_t seed = 0)
      : acc_{seed + kPrime1 + kPrime2, seed + kPrime2, seed, seed - kPrime1}, seed_(seed) {}

  /// Hashes `data` after everything given so far.
  constexpr void Update(std::span<const uint8_t> data) {
    const uint8_t* p = data.data();
    size_t n = data.size();
    total_ += n;
    if (buffered_ != 0) {  // Complete the pending stripe first.
      while (n > 0 && buffered_ < 32) {
        buf_[buffered_++] = *p++;
        --n;
      }
      if (buffered_ < 32) return;
      Stripe(buf_.data());
      buffered_ = 0;
    }
    if (!std::is_constant_evaluated() && IsAligned(p, 8)) {
      // Accumulators in locals, so they stay in registers across the loop.
      uint64_t a0 = acc_[0], a1 = acc_[1], a2 = acc_[2], a3 = acc_[3];
      for (; n >= 32; p += 32, n -= 32) {
        a0 = Round(a0, LoadLe64Aligned(p));
        a1 = Round(a1, LoadLe64Aligned(p + 8));
        a2 = Round(a2, LoadLe64Aligned(p + 16));
        a3 = Round(a3, LoadLe64Aligned(p + 24));
      }
      acc_ = {a0, a1, a2, a3};
    }
    for (; n >= 32; p += 32, n -= 32) Stripe(p);
    while (n > 0) {
      buf_[buffered_++] = *p++;
      --n;
    }
  }

  /// The digest of everything given so far (the state is not changed).
  constexpr uint64_t Digest() const {
    uint64_t h;
    if (total_ >= 32) {
      h = Rotl(acc_[0], 1) + Rotl(acc_[1], 7) + Rotl(acc_[2], 12) + Rotl(acc_[3], 18);
      for (uint64_t a : acc_) h = Merge(h, a);
    } else {
      h = seed_ + kPrime5;
    }
    h += total_;
    const uint8_t* p = buf_.data();
    size_t n = buffered_;
    while (n >= 8) {
      h ^= Round(0, LoadLe64(p));
      h = Rotl(h, 27) * kPrime1 + kPrime4;
      p += 8;
      n -= 8;
    }
    if (n >= 4) {
      h ^= static_cast<uint64_t>(LoadLe32(p)) * kPrime1;
      h = Rotl(h, 23) * kPrime2 + kPrime3;
      p += 4;
      n -= 4;
    }
    while (n-- > 0) {
      h ^= static_cast<uint64_t>(*p++) * kPrime5;
      h = Rotl(h, 11) * kPrime1;
    }
    h ^= h >> 33;
    h *= kPrime2;
    h ^= h >> 29;
    h *= kPrime3;
    h ^= h >> 32;
    return h;
  }

  /// One-shot XXH64.
  static constexpr uint64_t Hash(std::span<const uint8_t> data, uint64_t seed = 0) {
    Xxh64 x(seed);
    x.Update(data);
    return x.Digest();
  }

 private:
  static constexpr uint64_t Rotl(uint64_t v, int r) { return (v << r) | (v >> (64 - r)); }
  static constexpr uint64_t Round(uint64_t acc, uint64_t lane) {
    acc += lane * kPrime2;
    acc = Rotl(acc, 31);
    return acc * kPrime1;
  }
  static constexpr uint64_t Merge(uint64_t h, uint64_t acc) {
    h ^= Round(0, acc);
    return h * kPrime1 + kPrime4;
  }
  constexpr void Stripe(const uint8_t* p) {
    for (int i = 0; i < 4; ++i) acc_[i] = Round(acc_[i], LoadLe64(p + 8 * i));
  }

  std::array<uint64_t, 4> acc_;
  std::array<uint8_t, 32> buf_{};
  uint64_t seed_;
  uint64_t total_ = 0;
  size_t buffered_ = 0;
};

// ---------------------------------------------------------------------------------------
// Records. docs/stream-format.md §3.

/// Starts every record. 0xFE and 0xC1 never occur in UTF-8 text; no byte is a C0
/// control (no NUL, CR, LF, XON/XOFF, ESC) that a tty might eat; the pattern is neither
/// a run nor a common fill value. "SLVG" in the middle makes records easy to spot in a
/// hexdump.
inline constexpr std::array<uint8_t, 8> kSync = {0xFE, 0x53, 0x4C, 0x56, 0x47, 0xC1, 0xA5, 0x96};

/// Size of the record header that precedes every payload.
inline constexpr size_t kRecordHeaderSize = 48;

/// Byte offsets inside the record header.
namespace rec {
inline constexpr size_t kSync = 0;         // u8[8]  kSync
inline constexpr size_t kType = 8;         // u8     RecordType
inline constexpr size_t kEncoding = 9;     // u8     Encoding (frames), 0 otherwise
inline constexpr size_t kPageShift = 10;   // u8     log2(page size), 12..16
inline constexpr size_t kFlags = 11;       // u8     reserved: written 0, ignored on read
inline constexpr size_t kStreamTag = 12;   // u32    low 32 bits of the header's stream_id
inline constexpr size_t kSeq = 16;         // u64    frame: 0,1,2...; header: 0; trailer: frames
inline constexpr size_t kPhys = 24;        // u64    frame: physical address of its first page
inline constexpr size_t kCount = 32;       // u32    frame: pages it covers (>= 1)
inline constexpr size_t kPayloadLen = 36;  // u32    bytes of payload after the record header
inline constexpr size_t kHeaderCrc = 40;   // u32    CRC-32C of bytes [8, 40)
inline constexpr size_t kRecordCrc = 44;   // u32    CRC-32C of bytes [8, 40) then the payload
}  // namespace rec

/// Byte 8 of a record.
enum class RecordType : uint8_t {
  kHeader = 0x01,
  kFrame = 0x02,
  kTrailer = 0x03,
  // 0x80..0x8F: reserved for the receive direction (host -> salvage) of the resumable
  // mode: 0x80 request frames again, 0x81 resume from a frame. Not sent by version 1.
  kReservedRequest = 0x80,
  kReservedResume = 0x81,
};

/// Byte 9 of a frame: how its payload encodes its pages.
enum class Encoding : uint8_t {
  kZero = 0,     ///< `count` all-zero pages; no payload.
  kRaw = 1,      ///< One page; the payload is its bytes.
  kLz4 = 2,      ///< One page; the payload is an LZ4 block (shorter than the page).
  kSkipped = 3,  ///< `count` pages the sender could not read; no payload.
};

/// Format version in the header payload.
inline constexpr uint16_t kVersion = 1;
inline constexpr unsigned kMinPageShift = 12;  // 4 KiB
inline constexpr unsigned kMaxPageShift = 16;  // 64 KiB
inline constexpr uint32_t kMaxPageSize = 1u << kMaxPageShift;
/// Most pages a zero or skipped frame covers.
inline constexpr uint32_t kMaxRunPages = 65536;
/// Largest payload of a header (and of any record type a decoder does not know).
inline constexpr uint32_t kMaxHeaderPayload = 1u << 20;
/// Largest trailer payload a decoder accepts.
inline constexpr uint32_t kMaxTrailerPayload = 4096;
/// The header record is repeated (docs/stream-format.md §4.6) once this many stream
/// bytes have gone out since the previous copy began, or kHeaderRepeatFactor header
/// records' worth when that is more (so copies never cost over 1/32 of the stream).
inline constexpr uint64_t kHeaderRepeatMinBytes = 1u << 20;
inline constexpr uint64_t kHeaderRepeatFactor = 32;

/// Header payload: the fixed part. docs/stream-format.md §4.
namespace hdr {
inline constexpr size_t kVersion = 0;       // u16  kVersion
inline constexpr size_t kFixedLen = 2;      // u16  bytes of this fixed part (64)
inline constexpr size_t kMachine = 4;       // u16  ELF e_machine of the crashed kernel
inline constexpr size_t kElfClass = 6;      // u8   1 ELFCLASS32, 2 ELFCLASS64
inline constexpr size_t kElfData = 7;       // u8   1 ELFDATA2LSB, 2 ELFDATA2MSB
inline constexpr size_t kPageShift = 8;     // u8   log2(page size)
                                            // u8[3] reserved, 0
inline constexpr size_t kFlags = 12;        // u32  HeaderFlag bits
inline constexpr size_t kRangeCount = 16;   // u32
inline constexpr size_t kSegmentCount = 20; // u32
inline constexpr size_t kNoteCount = 24;    // u32
inline constexpr size_t kOptionsLen = 28;   // u32
inline constexpr size_t kStreamId = 32;     // u64
inline constexpr size_t kTotalPages = 40;   // u64  sum of range sizes / page size
inline constexpr size_t kResumeSeq = 48;    // u64  reserved (resumable): 0
                                            // u64 reserved, 0
inline constexpr size_t kSize = 64;
inline constexpr size_t kRangeSize = 16;    // u64 base, u64 size
inline constexpr size_t kSegmentSize = 24;  // u64 paddr, u64 vaddr, u64 size
}  // namespace hdr

/// Header flags (u32 at hdr::kFlags).
enum HeaderFlag : uint32_t {
  /// The ranges come from the elfcorehdr's PT_LOADs; clear: the runtime had no usable
  /// elfcorehdr and dumps all of /memory minus its own reservation.
  kHeaderFromElfCoreHdr = 1u << 0,
  /// The sender tries LZ4 on every page.
  kHeaderLz4 = 1u << 1,
  /// Reserved (resumable): the sender listens for requests on the receive direction.
  kHeaderReservedBackChannel = 1u << 2,
};

/// Trailer payload. docs/stream-format.md §6.
namespace trl {
inline constexpr size_t kFixedLen = 0;     // u16  88
                                           // u16  reserved, 0
inline constexpr size_t kFlags = 4;        // u32  TrailerFlag bits
inline constexpr size_t kFrames = 8;       // u64
inline constexpr size_t kPages = 16;       // u64  zero + raw + lz4 pages
inline constexpr size_t kZeroPages = 24;   // u64
inline constexpr size_t kRawPages = 32;    // u64
inline constexpr size_t kLz4Pages = 40;    // u64
inline constexpr size_t kSkippedPages = 48;// u64
inline constexpr size_t kMemoryBytes = 56; // u64  pages * page size
inline constexpr size_t kPayloadBytes = 64;// u64  sum of frame payload lengths
inline constexpr size_t kDigest = 72;      // u64  XXH64 (seed 0) of all pages' contents
                                           // u64  reserved, 0
inline constexpr size_t kSize = 88;
}  // namespace trl

/// Trailer flags (u32 at trl::kFlags).
enum TrailerFlag : uint32_t {
  /// The sender stopped before it had sent or skipped every page of every range.
  kTrailerStoppedEarly = 1u << 0,
};

/// The fixed fields of a record header (everything but the sync marker and the CRCs).
struct RecordHeader {
  RecordType type = RecordType::kFrame;
  Encoding encoding = Encoding::kZero;
  uint8_t page_shift = kMinPageShift;
  uint8_t flags = 0;
  uint32_t stream_tag = 0;
  uint64_t seq = 0;
  uint64_t phys = 0;
  uint32_t count = 0;
  uint32_t payload_len = 0;
};

/// Serializes `h` into out[0, 44): the sync marker, the fields and the header CRC.
/// Returns the header CRC, which is also the running CRC-32C to continue over the
/// payload (Crc32c::Update(returned, payload) is the record CRC).
constexpr uint32_t BeginRecord(const RecordHeader& h, std::span<uint8_t, kRecordHeaderSize> out) {
  uint8_t* p = out.data();
  for (size_t i = 0; i < kSync.size(); ++i) p[rec::kSync + i] = kSync[i];
  p[rec::kType] = static_cast<uint8_t>(h.type);
  p[rec::kEncoding] = static_cast<uint8_t>(h.encoding);
  p[rec::kPageShift] = h.page_shift;
  p[rec::kFlags] = h.flags;
  StoreLe32(p + rec::kStreamTag, h.stream_tag);
  StoreLe64(p + rec::kSeq, h.seq);
  StoreLe64(p + rec::kPhys, h.phys);
  StoreLe32(p + rec::kCount, h.count);
  StoreLe32(p + rec::kPayloadLen, h.payload_len);
  const uint32_t crc = Crc32c::Compute(out.subspan(rec::kType, rec::kHeaderCrc - rec::kType));
  StoreLe32(p + rec::kHeaderCrc, crc);
  return crc;
}

/// Stores the record CRC (the running CRC from BeginRecord continued over the payload).
constexpr void FinishRecord(uint32_t record_crc, std::span<uint8_t, kRecordHeaderSize> out) {
  StoreLe32(out.data() + rec::kRecordCrc, record_crc);
}

/// BeginRecord + FinishRecord for a payload held in one span.
constexpr void EncodeRecordHeader(const RecordHeader& h, std::span<const uint8_t> payload,
                                  std::span<uint8_t, kRecordHeaderSize> out) {
  FinishRecord(Crc32c::Update(BeginRecord(h, out), payload), out);
}

/// True when `in` starts with the sync marker.
constexpr bool HasSync(std::span<const uint8_t> in) {
  if (in.size() < kSync.size()) return false;
  for (size_t i = 0; i < kSync.size(); ++i) {
    if (in[i] != kSync[i]) return false;
  }
  return true;
}

/// Parses a record header: checks the sync marker and the header CRC and fills `*h` and
/// `*record_crc` (the CRC still to be checked over the payload). False when either check
/// fails; `*h` is then unspecified. Field values are not range-checked here.
constexpr bool DecodeRecordHeader(std::span<const uint8_t, kRecordHeaderSize> in, RecordHeader* h,
                                  uint32_t* record_crc) {
  const uint8_t* p = in.data();
  if (!HasSync(in)) return false;
  if (!ChecksumMatches(Crc32c::Compute(in.subspan(rec::kType, rec::kHeaderCrc - rec::kType)),
                       LoadLe32(p + rec::kHeaderCrc))) {
    return false;
  }
  h->type = static_cast<RecordType>(p[rec::kType]);
  h->encoding = static_cast<Encoding>(p[rec::kEncoding]);
  h->page_shift = p[rec::kPageShift];
  h->flags = p[rec::kFlags];
  h->stream_tag = LoadLe32(p + rec::kStreamTag);
  h->seq = LoadLe64(p + rec::kSeq);
  h->phys = LoadLe64(p + rec::kPhys);
  h->count = LoadLe32(p + rec::kCount);
  h->payload_len = LoadLe32(p + rec::kPayloadLen);
  *record_crc = LoadLe32(p + rec::kRecordCrc);
  return true;
}

/// The header CRC as stored (the running CRC to continue over a payload when checking).
constexpr uint32_t StoredHeaderCrc(std::span<const uint8_t, kRecordHeaderSize> in) {
  return LoadLe32(in.data() + rec::kHeaderCrc);
}

/// The stream's totals, as the trailer carries them and as the decoder counts them.
struct StreamTotals {
  uint64_t frames = 0;
  uint64_t pages = 0;  ///< zero_pages + raw_pages + lz4_pages
  uint64_t zero_pages = 0;
  uint64_t raw_pages = 0;
  uint64_t lz4_pages = 0;
  uint64_t skipped_pages = 0;
  uint64_t memory_bytes = 0;  ///< pages * page size
  uint64_t payload_bytes = 0;
  uint64_t digest = 0;
  constexpr bool operator==(const StreamTotals&) const = default;
};

/// Serializes a trailer payload.
constexpr void EncodeTrailerPayload(const StreamTotals& t, uint32_t flags,
                                    std::span<uint8_t, trl::kSize> out) {
  uint8_t* p = out.data();
  for (auto& b : out) b = 0;
  StoreLe16(p + trl::kFixedLen, static_cast<uint16_t>(trl::kSize));
  StoreLe32(p + trl::kFlags, flags);
  StoreLe64(p + trl::kFrames, t.frames);
  StoreLe64(p + trl::kPages, t.pages);
  StoreLe64(p + trl::kZeroPages, t.zero_pages);
  StoreLe64(p + trl::kRawPages, t.raw_pages);
  StoreLe64(p + trl::kLz4Pages, t.lz4_pages);
  StoreLe64(p + trl::kSkippedPages, t.skipped_pages);
  StoreLe64(p + trl::kMemoryBytes, t.memory_bytes);
  StoreLe64(p + trl::kPayloadBytes, t.payload_bytes);
  StoreLe64(p + trl::kDigest, t.digest);
}

/// Parses a trailer payload. False when it is shorter than its fixed part says or than
/// version 1's fixed part; bytes past the fixed part are ignored (later versions).
constexpr bool DecodeTrailerPayload(std::span<const uint8_t> in, StreamTotals* t, uint32_t* flags) {
  if (in.size() < trl::kSize) return false;
  const uint8_t* p = in.data();
  const uint16_t fixed = LoadLe16(p + trl::kFixedLen);
  if (fixed < trl::kSize || fixed > in.size()) return false;
  *flags = LoadLe32(p + trl::kFlags);
  t->frames = LoadLe64(p + trl::kFrames);
  t->pages = LoadLe64(p + trl::kPages);
  t->zero_pages = LoadLe64(p + trl::kZeroPages);
  t->raw_pages = LoadLe64(p + trl::kRawPages);
  t->lz4_pages = LoadLe64(p + trl::kLz4Pages);
  t->skipped_pages = LoadLe64(p + trl::kSkippedPages);
  t->memory_bytes = LoadLe64(p + trl::kMemoryBytes);
  t->payload_bytes = LoadLe64(p + trl::kPayloadBytes);
  t->digest = LoadLe64(p + trl::kDigest);
  return true;
}

/// One PT_LOAD of the crashed kernel's elfcorehdr, as `salvage convert` must reproduce
/// it (the kernel text segment overlaps a RAM range physically; /proc/vmcore keeps both).
struct LoadSegment {
  PhysAddr paddr;
  uint64_t vaddr = 0;
  uint64_t size = 0;
};

/// ELF constants the header carries: salvage/base/elf.h's.
using elf::kElfClass32;
using elf::kElfClass64;
inline constexpr uint8_t kElfDataLsb = elf::kElfData2Lsb;
inline constexpr uint8_t kElfDataMsb = elf::kElfData2Msb;
using elf::kEmAarch64;
using elf::kEmArm;
using elf::kEmRiscv;
using elf::kEmX86_64;

/// Limits a decoder checks in a header (docs/stream-format.md §8.2), far above what the
/// image sends (elfcore's kMaxPlanRanges, kMaxLoads and kMaxNotes are 256, 256, 128),
/// so that a header claiming more is refused before anything is sized by its counts.
inline constexpr uint32_t kMaxHeaderRanges = 4096;
inline constexpr uint32_t kMaxHeaderSegments = 4096;
inline constexpr uint32_t kMaxHeaderNotes = 4096;

/// Width of the physical address space a crashed kernel of ELF machine `e_machine` can
/// have: every range and segment of a header ends at or below 2^bits. arm64 and x86-64
/// 52 bits (LPA / 5-level paging), 32-bit Arm 40 (LPAE), RISC-V 56 (Sv57's physical
/// addresses); any other machine 56, salvage's widest (elfcore's kMaxPhysAddr).
constexpr unsigned MaxPhysAddressBits(uint16_t e_machine) {
  switch (e_machine) {
    case kEmAarch64:
    case kEmX86_64: return 52;
    case kEmArm: return 40;
    default: return 56;
  }
}

/// log2 of a supported page size, or 0 when `page_size` is not a power of two in
/// [4096, 65536].
constexpr unsigned PageShiftOf(uint64_t page_size) {
  for (unsigned s = kMinPageShift; s <= kMaxPageShift; ++s) {
    if (page_size == (uint64_t{1} << s)) return s;
  }
  return 0;
}

static_assert(Crc32c::Compute(std::array<uint8_t, 9>{'1', '2', '3', '4', '5', '6', '7', '8', '9'}) ==
              0xE3069283u);
static_assert(Crc32IsoHdlc::Compute(std::array<uint8_t, 9>{'1', '2', '3', '4', '5', '6', '7', '8', '9'}) ==
              0xCBF43926u);
static_assert(Xxh64::Hash(std::span<const uint8_t>()) == 0xEF46DB3751D8E999ull);

}  // namespace salvage::stream
