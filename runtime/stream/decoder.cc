// salvage::stream — the incremental decoder (docs/stream-format.md, version 1).
#include "salvage/stream/decoder.h"

#include <lz4.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace salvage::stream {
namespace {

/// Page contents of zero frames.
const std::array<uint8_t, kMaxPageSize> kZeroPage{};

/// Bounds-checked little-endian reader over an untrusted payload.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> d) : d_(d) {}
  bool Has(uint64_t n) const { return n <= d_.size() - off_; }
  void Seek(size_t off) { off_ = off; }
  uint32_t U32() { uint32_t v = LoadLe32(d_.data() + off_); off_ += 4; return v; }
  uint64_t U64() { uint64_t v = LoadLe64(d_.data() + off_); off_ += 8; return v; }
  std::span<const uint8_t> Bytes(size_t n) { auto s = d_.subspan(off_, n); off_ += n; return s; }

 private:
  std::span<const uint8_t> d_;
  size_t off_ = 0;
};

uint32_t PayloadLimit(RecordType type) {
  switch (type) {
    case RecordType::kFrame: return kMaxPageSize;
    case RecordType::kTrailer: return kMaxTrailerPayload;
    default: return kMaxHeaderPayload;
  }
}

}  // namespace

const char* LossReasonName(LossReason reason) {
  switch (reason) {
    case LossReason::kCorruptFrame: return "corrupt frame";
    case LossReason::kMissingFrames: return "missing frames";
    case LossReason::kTruncated: return "stream truncated";
    case LossReason::kNotSent: return "not sent";
    case LossReason::kSkippedBySender: return "skipped by sender";
    case LossReason::kUndecodable: return "undecodable frame";
  }
  return "?";
}

const char* ProblemName(Problem problem) {
  switch (problem) {
    case kProblemNoHeader: return "no header";
    case kProblemNoTrailer: return "no trailer (truncated)";
    case kProblemPagesLost: return "pages lost";
    case kProblemPagesSkipped: return "pages skipped by the sender";
    case kProblemStoppedEarly: return "sender stopped early";
    case kProblemTotalsMismatch: return "trailer totals do not match";
    case kProblemDigestMismatch: return "digest does not match";
    case kProblemInconsistent: return "inconsistent records";
  }
  return "?";
}

bool ParseHeaderPayload(std::span<const uint8_t> payload, DecodedHeader* out, const char** why) {
  const uint8_t* p = payload.data();
  if (payload.size() < 4) return *why = "header: payload too short", false;
  const uint16_t version = LoadLe16(p + hdr::kVersion);
  if (version != kVersion) return *why = "header: unsupported format version", false;
  const uint16_t fixed_len = LoadLe16(p + hdr::kFixedLen);
  if (fixed_len < hdr::kSize || fixed_len > payload.size()) {
    return *why = "header: fixed part too short or past the payload", false;
  }
  DecodedHeader d;
  d.version = version;
  d.e_machine = LoadLe16(p + hdr::kMachine);
  d.elf_class = p[hdr::kElfClass];
  d.elf_data = p[hdr::kElfData];
  d.page_shift = p[hdr::kPageShift];
  d.flags = LoadLe32(p + hdr::kFlags);
  const uint32_t range_count = LoadLe32(p + hdr::kRangeCount);
  const uint32_t segment_count = LoadLe32(p + hdr::kSegmentCount);
  const uint32_t note_count = LoadLe32(p + hdr::kNoteCount);
  const uint32_t options_len = LoadLe32(p + hdr::kOptionsLen);
  d.stream_id = LoadLe64(p + hdr::kStreamId);
  d.total_pages = LoadLe64(p + hdr::kTotalPages);
  d.resume_seq = LoadLe64(p + hdr::kResumeSeq);
  if (d.page_shift < kMinPageShift || d.page_shift > kMaxPageShift) {
    return *why = "header: page size out of 4K..64K", false;
  }
  d.page_size = 1u << d.page_shift;
  if (d.elf_class != kElfClass32 && d.elf_class != kElfClass64) return *why = "header: bad ELF class", false;
  if (d.elf_data != kElfDataLsb && d.elf_data != kElfDataMsb) return *why = "header: bad ELF data", false;

  // Counts are checked against the limits before anything is sized by them, and every
  // address against what the crashed machine's architecture can have: the receiver's
  // memory and output must follow what arrives, never what a header claims.
  if (range_count > kMaxHeaderRanges) return *why = "header: more ranges than any crashed machine has", false;
  if (segment_count > kMaxHeaderSegments) return *why = "header: more segments than any elfcorehdr has", false;
  if (note_count > kMaxHeaderNotes) return *why = "header: more note buffers than any elfcorehdr has", false;
  const unsigned phys_bits = MaxPhysAddressBits(d.e_machine);
  const uint64_t phys_limit = uint64_t{1} << phys_bits;  // every range ends at or below it

  Reader r(payload);
  r.Seek(fixed_len);
  if (!r.Has(uint64_t{range_count} * hdr::kRangeSize)) return *why = "header: ranges past the payload", false;
  d.ranges.reserve(range_count);
  uint64_t pages = 0;
  uint64_t prev_end = 0;
  for (uint32_t i = 0; i < range_count; ++i) {
    PhysRange range;
    range.base = r.U64();
    range.size = r.U64();
    if (range.size == 0 || ((range.base | range.size) & (d.page_size - 1)) != 0 ||
        range.base + range.size <= range.base) {
      return *why = "header: range empty, not page-aligned or past 2^64", false;
    }
    if (range.base + range.size > phys_limit) {
      return *why = "header: range beyond the physical address space of the crashed machine's architecture", false;
    }
    if (i > 0 && range.base < prev_end) return *why = "header: ranges overlap or are not ascending", false;
    prev_end = range.base + range.size;
    pages += range.size >> d.page_shift;
    d.ranges.push_back(range);
  }
  if (pages != d.total_pages) return *why = "header: total_pages does not match the ranges", false;
  if (!r.Has(uint64_t{segment_count} * hdr::kSegmentSize)) return *why = "header: segments past the payload", false;
  d.segments.reserve(segment_count);
  for (uint32_t i = 0; i < segment_count; ++i) {
    LoadSegment s;
    s.paddr.value = r.U64();
    s.vaddr = r.U64();
    s.size = r.U64();
    if (s.size > phys_limit || s.paddr.value > phys_limit - s.size) {
      return *why = "header: segment beyond the physical address space of the crashed machine's architecture", false;
    }
    d.segments.push_back(s);
  }
  for (uint32_t i = 0; i < note_count; ++i) {
    if (!r.Has(4)) return *why = "header: note length past the payload", false;
    const uint32_t len = r.U32();
    if (!r.Has(len)) return *why = "header: note past the payload", false;
    auto bytes = r.Bytes(len);
    d.notes.emplace_back(bytes.begin(), bytes.end());
  }
  if (!r.Has(options_len)) return *why = "header: options past the payload", false;
  auto opts = r.Bytes(options_len);
  d.options.assign(reinterpret_cast<const char*>(opts.data()), opts.size());
  *out = std::move(d);
  return true;
}

Decoder::Decoder(DecoderEvents& events) : events_(events) {}
Decoder::~Decoder() = default;

// ---------------------------------------------------------------------------------------
// Framing: find records, verify them, and pass everything else on as text.

void Decoder::Feed(std::span<const uint8_t> bytes) {
  if (buf_.empty()) {
    // Common case: decode straight from the caller's buffer, keep only the tail.
    const size_t n = Scan(bytes, false);
    base_ += n;
    buf_.assign(bytes.begin() + static_cast<ptrdiff_t>(n), bytes.end());
    return;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  const size_t n = Scan(buf_, false);
  base_ += n;
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(n));
}

void Decoder::EmitText(std::span<const uint8_t> d, size_t from, size_t to) {
  if (from >= to) return;
  const uint64_t abs_from = base_ + from;
  if (abs_from < suppress_until_) {
    const size_t hidden = static_cast<size_t>(std::min<uint64_t>(suppress_until_ - abs_from, to - from));
    garbage_bytes_ += hidden;
    from += hidden;
  }
  if (from >= to) return;
  text_bytes_ += to - from;
  events_.OnText(d.subspan(from, to - from));
}

size_t Decoder::Scan(std::span<const uint8_t> d, bool final) {
  size_t pos = 0;
  while (pos < d.size()) {
    // The next full sync marker at or after pos.
    size_t m = pos;
    for (;;) {
      const void* hit = std::memchr(d.data() + m, kSync[0], d.size() - m);
      if (hit == nullptr) {
        m = d.size();
        break;
      }
      m = static_cast<size_t>(static_cast<const uint8_t*>(hit) - d.data());
      if (d.size() - m < kSync.size()) {
        // A possible start of a marker at the very end: hold it unless input has ended.
        if (final) {
          m = d.size();
          break;
        }
        if (!std::equal(d.begin() + static_cast<ptrdiff_t>(m), d.end(), kSync.begin())) {
          ++m;
          continue;
        }
        EmitText(d, pos, m);
        return m;
      }
      if (HasSync(d.subspan(m))) break;
      ++m;
    }
    EmitText(d, pos, m);
    pos = m;
    if (pos == d.size()) break;

    if (d.size() - m < kRecordHeaderSize) {
      if (!final) return m;
      // The input ended inside a record header: nothing to verify, not text either.
      suppress_until_ = std::max<uint64_t>(suppress_until_, base_ + d.size());
      EmitText(d, m, d.size());
      return d.size();
    }
    RecordHeader h;
    uint32_t record_crc = 0;
    const auto head = d.subspan(m).first<kRecordHeaderSize>();
    if (!DecodeRecordHeader(head, &h, &record_crc)) {
      // A marker in text or a damaged header: its length cannot be trusted. Resume the
      // search one byte later; the bytes up to the next marker come out as text.
      EmitText(d, m, m + 1);
      pos = m + 1;
      continue;
    }
    if (h.payload_len > PayloadLimit(h.type)) {
      events_.OnDiagnostic("record: payload length over its limit", h.payload_len);
      EmitText(d, m, m + 1);
      pos = m + 1;
      continue;
    }
    const size_t end = m + kRecordHeaderSize + h.payload_len;
    if (end > d.size()) {
      if (!final) return m;
      // Truncated record: its header is good, so its extent is known; not text.
      suppress_until_ = std::max<uint64_t>(suppress_until_, base_ + d.size());
      EmitText(d, m, m + 1);
      pos = m + 1;
      continue;
    }
    const auto payload = d.subspan(m + kRecordHeaderSize, h.payload_len);
    if (!ChecksumMatches(Crc32c::Update(StoredHeaderCrc(head), payload), record_crc)) {
      // The header is intact, so this record's extent is known: what follows the marker
      // up to its claimed end is damage, not text. Search again from the next byte,
      // since bytes may have been dropped and the next record may start inside.
      ++verdict_.corrupt_records;
      record_offset_ = base_ + m;
      if (h.type == RecordType::kFrame) OnCorruptFrame(h);
      if (h.type == RecordType::kHeader) {
        // A damaged copy of a header: another copy will do (§4.6).
        ++damaged_headers_;
        events_.OnDiagnostic("header: damaged copy (CRC mismatch), ignored", base_ + m);
      }
      events_.OnDiagnostic("record: CRC mismatch", h.seq);
      suppress_until_ = std::max<uint64_t>(suppress_until_, base_ + end);
      EmitText(d, m, m + 1);
      pos = m + 1;
      continue;
    }
    record_offset_ = base_ + m;
    Dispatch(h, payload, record_crc);
    pos = end;
  }
  return pos;
}

void Decoder::Dispatch(const RecordHeader& h, std::span<const uint8_t> payload, uint32_t record_crc) {
  switch (h.type) {
    case RecordType::kHeader: OnHeaderRecord(h, payload); return;
    case RecordType::kFrame: OnFrame(h, payload, record_crc); return;
    case RecordType::kTrailer: OnTrailerRecord(h, payload); return;
    default:
      ++verdict_.ignored_records;
      // 0x80..0x8F: the receive direction's requests (resumable mode), e.g. echoed back
      // by a tty; not ours to act on.
      if (static_cast<uint8_t>(h.type) < 0x80 || static_cast<uint8_t>(h.type) > 0x8F) {
        events_.OnDiagnostic("record: unknown type ignored", static_cast<uint8_t>(h.type));
      }
      return;
  }
}

void Decoder::Seed(DecodedHeader header) {
  // As if this header had come first: frames before its copy in the input are placed in
  // its ranges, and the copy itself is then a repetition.
  if (active_ && !ended_) EndStream();
  StartStream(std::move(header));
  events_.OnHeader(header_);
}

Verdict Decoder::Finish() {
  const size_t n = Scan(buf_, true);
  base_ += n;
  buf_.clear();
  if (active_) {
    EndStream();
  } else {
    Conclude();
  }
  return verdict_;
}

// ---------------------------------------------------------------------------------------
// Streams.

void Decoder::StartStream(DecodedHeader header) {
  active_ = true;
  have_header_ = true;
  closed_ = false;
  ended_ = false;
  inconsistent_ = false;
  header_ = std::move(header);
  tag_ = static_cast<uint32_t>(header_.stream_id);
  page_shift_ = header_.page_shift;
  page_size_ = header_.page_size;
  range_first_.clear();
  uint64_t first = 0;
  for (const PhysRange& r : header_.ranges) {
    range_first_.push_back(first);
    first += r.size >> page_shift_;
  }
  total_ = first;
  have_cursor_ = true;
  cursor_ = 0;
  next_seq_ = 0;
  have_last_ = false;
  digest_ = Xxh64(0);
  verdict_ = Verdict{};
  verdict_.header_seen = true;
  verdict_.stream_id = header_.stream_id;
  page_buf_.assign(page_size_, 0);
  if (header_.resume_seq != 0) events_.OnDiagnostic("header: resume_seq set (reserved), ignored", header_.resume_seq);
}

void Decoder::StartHeaderless(const RecordHeader& h) {
  active_ = true;
  have_header_ = false;
  closed_ = false;
  ended_ = false;
  inconsistent_ = false;
  header_ = DecodedHeader{};
  tag_ = h.stream_tag;
  page_shift_ = h.page_shift;
  page_size_ = 1u << page_shift_;
  range_first_.clear();
  total_ = 0;
  have_cursor_ = false;
  cursor_ = 0;
  next_seq_ = 0;
  have_last_ = false;
  digest_ = Xxh64(0);
  verdict_ = Verdict{};
  verdict_.stream_id = h.stream_tag;
  page_buf_.assign(page_size_, 0);
  events_.OnDiagnostic("frame before any header: decoding without ranges or notes", h.seq);
}

void Decoder::AdoptHeader(DecodedHeader header) {
  // A header for the stream we have been decoding without one. Pages already emitted
  // stay; the cursor moves from "address / page size" to the ranges' numbering.
  const uint64_t addr = cursor_ << page_shift_;
  const bool had_cursor = have_cursor_;
  const uint64_t seq = next_seq_;
  const bool had_last = have_last_;
  const uint64_t last_seq = last_seq_;
  const uint32_t last_crc = last_crc_;
  const Xxh64 digest = digest_;
  const Verdict v = verdict_;
  const bool inconsistent = inconsistent_;
  StartStream(std::move(header));
  inconsistent_ = inconsistent;
  next_seq_ = seq;
  have_last_ = had_last;
  last_seq_ = last_seq;
  last_crc_ = last_crc;
  digest_ = digest;
  const bool header_seen = verdict_.header_seen;
  const uint64_t id = verdict_.stream_id;
  verdict_ = v;
  verdict_.header_seen = header_seen;
  verdict_.stream_id = id;
  if (had_cursor) {
    cursor_ = total_;
    for (size_t i = 0; i < header_.ranges.size(); ++i) {
      const PhysRange& r = header_.ranges[i];
      if (addr < r.base + r.size) {
        cursor_ = range_first_[i] + (addr >= r.base ? (addr - r.base) >> page_shift_ : 0);
        break;
      }
    }
  }
}

namespace {

/// Two parses of the same header record: every field equal.
bool SameHeader(const DecodedHeader& a, const DecodedHeader& b) {
  if (a.version != b.version || a.e_machine != b.e_machine || a.elf_class != b.elf_class ||
      a.elf_data != b.elf_data || a.page_shift != b.page_shift || a.page_size != b.page_size || a.flags != b.flags ||
      a.stream_id != b.stream_id || a.total_pages != b.total_pages || a.resume_seq != b.resume_seq ||
      a.ranges != b.ranges || a.notes != b.notes || a.options != b.options || a.segments.size() != b.segments.size()) {
    return false;
  }
  for (size_t i = 0; i < a.segments.size(); ++i) {
    if (a.segments[i].paddr != b.segments[i].paddr || a.segments[i].vaddr != b.segments[i].vaddr ||
        a.segments[i].size != b.segments[i].size) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Decoder::OnHeaderRecord(const RecordHeader& h, std::span<const uint8_t> payload) {
  DecodedHeader d;
  const char* why = "";
  if (!ParseHeaderPayload(payload, &d, &why)) {
    ++verdict_.ignored_records;
    events_.OnDiagnostic(why, h.seq);
    return;
  }
  if (static_cast<uint32_t>(d.stream_id) != h.stream_tag || d.page_shift != h.page_shift) {
    ++verdict_.ignored_records;
    events_.OnDiagnostic("header: record tag or page size differs from its payload", h.stream_tag);
    return;
  }
  if (active_ && tag_ == h.stream_tag && (!have_header_ || header_.stream_id == d.stream_id)) {
    if (have_header_) {
      // A copy (docs/stream-format.md §4.6): every stream carries several, so an identical
      // one is not worth a word. One that differs from the header in force is ignored too.
      if (!SameHeader(d, header_)) events_.OnDiagnostic("header: a copy differs from the first, ignored", d.stream_id);
      return;
    }
    if (d.page_shift != page_shift_) {
      Inconsistent("header: page size differs from the frames before it", d.page_size);
      return;
    }
    AdoptHeader(std::move(d));
    events_.OnHeader(header_);
    return;
  }
  if (active_ && !ended_) {
    events_.OnDiagnostic("header of a new stream before the trailer of the last", d.stream_id);
    EndStream();
  }
  StartStream(std::move(d));
  events_.OnHeader(header_);
}

void Decoder::Inconsistent(std::string_view what, uint64_t value) {
  inconsistent_ = true;
  events_.OnDiagnostic(what, value);
}

bool Decoder::Locate(uint64_t phys, uint64_t count, uint64_t* ordinal) const {
  if ((phys & (page_size_ - 1)) != 0 || count == 0) return false;
  if (!have_header_) {
    // No ranges known: number pages by address.
    const uint64_t o = phys >> page_shift_;
    if (count > (~uint64_t{0} >> page_shift_) - o) return false;
    *ordinal = o;
    return true;
  }
  const auto& ranges = header_.ranges;
  auto it = std::upper_bound(ranges.begin(), ranges.end(), phys,
                             [](uint64_t v, const PhysRange& r) { return v < r.base; });
  if (it == ranges.begin()) return false;
  --it;
  const uint64_t off = phys - it->base;
  if (off >= it->size) return false;
  const uint64_t page = off >> page_shift_;
  if (count > (it->size >> page_shift_) - page) return false;
  *ordinal = range_first_[static_cast<size_t>(it - ranges.begin())] + page;
  return true;
}

void Decoder::ReportLost(uint64_t from, uint64_t to, LossReason reason) {
  while (from < to) {
    LostPages lost;
    lost.reason = reason;
    if (have_header_) {
      const auto it = std::upper_bound(range_first_.begin(), range_first_.end(), from);
      const size_t i = static_cast<size_t>(it - range_first_.begin()) - 1;
      const uint64_t in_range = from - range_first_[i];
      const uint64_t left = (header_.ranges[i].size >> page_shift_) - in_range;
      lost.phys = header_.ranges[i].base + (in_range << page_shift_);
      lost.pages = std::min(left, to - from);
    } else {
      lost.phys = from << page_shift_;
      lost.pages = to - from;
    }
    if (reason == LossReason::kNotSent) {
      verdict_.not_sent_pages += lost.pages;
    } else if (reason != LossReason::kSkippedBySender) {
      verdict_.lost_pages += lost.pages;
    }
    events_.OnLost(lost);
    from += lost.pages;
  }
}

// Checks a verified (or header-verified) frame's position against the sequence and
// reports the pages between the cursor and it as lost. False: drop the frame.
bool Decoder::PositionFrame(const RecordHeader& h, uint64_t* ordinal) {
  if (h.page_shift != page_shift_) {
    Inconsistent("frame: page size differs from the stream's", h.seq);
    return false;
  }
  if (h.count == 0 || h.count > kMaxRunPages || !Locate(h.phys, h.count, ordinal)) {
    Inconsistent("frame: outside the ranges or misaligned", h.phys);
    return false;
  }
  if (!have_cursor_) {
    // The first frame of a stream without header: everything before it is unknown.
    if (h.seq > next_seq_) {
      verdict_.unknown_lost_frames += h.seq - next_seq_;
      events_.OnDiagnostic("frames lost before the first one received (pages unknown)", h.seq - next_seq_);
    }
    have_cursor_ = true;
    cursor_ = *ordinal;
    next_seq_ = h.seq;
  }
  if (*ordinal < cursor_) {
    Inconsistent("frame: goes back to pages already passed", h.phys);
    return false;
  }
  if (*ordinal > cursor_) {
    if (!have_header_) {
      // Without the ranges an address gap may be a hole between them: only a sequence gap
      // says pages are missing, and then the gap bounds them.
      if (h.seq > next_seq_) {
        events_.OnDiagnostic("no header: lost range may include addresses outside the dump", h.phys);
        ReportLost(cursor_, *ordinal, LossReason::kMissingFrames);
      }
    } else {
      if (h.seq == next_seq_) Inconsistent("frame: pages missing without a missing frame", h.phys);
      ReportLost(cursor_, *ordinal, LossReason::kMissingFrames);
    }
  } else if (h.seq > next_seq_) {
    Inconsistent("frame: frames missing but no pages", h.seq);
  }
  return true;
}

void Decoder::EmitPage(uint64_t phys, std::span<const uint8_t> data) {
  digest_.Update(data);
  events_.OnPage(phys, data);
}

void Decoder::OnFrame(const RecordHeader& h, std::span<const uint8_t> payload, uint32_t record_crc) {
  if (!active_ || (ended_ && h.stream_tag != tag_)) {
    if (h.page_shift < kMinPageShift || h.page_shift > kMaxPageShift) {
      ++verdict_.ignored_records;
      events_.OnDiagnostic("frame: page size out of 4K..64K", h.page_shift);
      return;
    }
    StartHeaderless(h);
  }
  if (h.stream_tag != tag_) {
    ++verdict_.ignored_records;
    events_.OnDiagnostic("frame of another stream ignored", h.stream_tag);
    return;
  }
  if (h.seq < next_seq_ && have_cursor_) {
    ++verdict_.duplicate_frames;
    if (have_last_ && h.seq == last_seq_ && record_crc != last_crc_) {
      Inconsistent("frame: received again with different contents", h.seq);
    }
    return;
  }
  if (closed_) {
    Inconsistent("frame after the trailer", h.seq);
    return;
  }
  bool valid = false;
  switch (h.encoding) {
    case Encoding::kZero:
    case Encoding::kSkipped: valid = h.payload_len == 0; break;
    case Encoding::kRaw: valid = h.count == 1 && h.payload_len == page_size_; break;
    case Encoding::kLz4: valid = h.count == 1 && h.payload_len > 0 && h.payload_len < page_size_; break;
  }
  if (!valid) {
    Inconsistent("frame: bad encoding, count or length", h.seq);
    return;
  }
  uint64_t ordinal = 0;
  if (!PositionFrame(h, &ordinal)) return;

  StreamTotals& t = verdict_.received;
  switch (h.encoding) {
    case Encoding::kZero:
      for (uint32_t i = 0; i < h.count; ++i) {
        EmitPage(h.phys + (uint64_t{i} << page_shift_), std::span<const uint8_t>(kZeroPage).first(page_size_));
      }
      t.zero_pages += h.count;
      break;
    case Encoding::kRaw:
      EmitPage(h.phys, payload);
      ++t.raw_pages;
      break;
    case Encoding::kLz4: {
      const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(payload.data()),
                                        reinterpret_cast<char*>(page_buf_.data()),
                                        static_cast<int>(payload.size()), static_cast<int>(page_size_));
      if (n != static_cast<int>(page_size_)) {
        Inconsistent("frame: LZ4 block does not decode to one page", h.phys);
        ReportLost(ordinal, ordinal + 1, LossReason::kUndecodable);
      } else {
        EmitPage(h.phys, page_buf_);
      }
      ++t.lz4_pages;
      break;
    }
    case Encoding::kSkipped:
      ReportLost(ordinal, ordinal + h.count, LossReason::kSkippedBySender);
      t.skipped_pages += h.count;
      break;
  }
  ++t.frames;
  t.payload_bytes += h.payload_len;
  t.pages = t.zero_pages + t.raw_pages + t.lz4_pages;
  t.memory_bytes = t.pages << page_shift_;
  cursor_ = ordinal + h.count;
  next_seq_ = h.seq + 1;
  have_last_ = true;
  last_seq_ = h.seq;
  last_crc_ = record_crc;
}

void Decoder::OnCorruptFrame(const RecordHeader& h) {
  // The header CRC held, so seq, address and count are the sender's: the pages of this
  // frame are lost, now. Anything else (another stream, an old sequence number) is
  // a damaged duplicate or not ours.
  if (!active_ || ended_ || h.stream_tag != tag_ || (have_cursor_ && h.seq < next_seq_)) return;
  uint64_t ordinal = 0;
  if (!PositionFrame(h, &ordinal)) return;
  ReportLost(ordinal, ordinal + h.count, LossReason::kCorruptFrame);
  cursor_ = ordinal + h.count;
  next_seq_ = h.seq + 1;
  have_last_ = false;
}

void Decoder::OnTrailerRecord(const RecordHeader& h, std::span<const uint8_t> payload) {
  if (!active_ || h.stream_tag != tag_) {
    ++verdict_.ignored_records;
    events_.OnDiagnostic("trailer of another stream ignored", h.stream_tag);
    return;
  }
  if (closed_) {
    events_.OnDiagnostic("trailer: repeated, ignored", h.seq);
    return;
  }
  StreamTotals sent;
  uint32_t flags = 0;
  if (!DecodeTrailerPayload(payload, &sent, &flags)) {
    ++verdict_.ignored_records;
    events_.OnDiagnostic("trailer: payload malformed", payload.size());
    return;
  }
  if (h.seq != sent.frames) Inconsistent("trailer: sequence number is not its frame count", h.seq);
  closed_ = true;
  verdict_.trailer_seen = true;
  verdict_.sent = sent;
  verdict_.trailer_flags = flags;

  if (have_header_) {
    // The sender covered pages [0, covered) of the ranges, in order; the rest it never sent.
    const uint64_t covered = std::min<uint64_t>(total_, sent.pages + sent.skipped_pages);
    if (cursor_ < covered) ReportLost(cursor_, covered, LossReason::kMissingFrames);
    const uint64_t from = std::max(cursor_, covered);
    if (from < total_) ReportLost(from, total_, LossReason::kNotSent);
    cursor_ = total_;
  } else if (next_seq_ < sent.frames) {
    verdict_.unknown_lost_frames += sent.frames - next_seq_;
    events_.OnDiagnostic("frames lost before the trailer (pages unknown: no header)", sent.frames - next_seq_);
  }
  next_seq_ = std::max(next_seq_, sent.frames);
  EndStream();
}

void Decoder::EndStream() {
  if (ended_) return;
  if (!closed_ && have_header_ && cursor_ < total_) {
    ReportLost(cursor_, total_, LossReason::kTruncated);
    cursor_ = total_;
  }
  Conclude();
  ended_ = true;
  events_.OnStreamEnd(verdict_);
}

void Decoder::Conclude() {
  Verdict& v = verdict_;
  v.received.digest = digest_.Digest();
  uint32_t p = 0;
  if (!v.header_seen) p |= kProblemNoHeader;
  if (!v.trailer_seen) p |= kProblemNoTrailer;
  const bool lost = v.lost_pages != 0 || v.unknown_lost_frames != 0;
  if (lost) p |= kProblemPagesLost;
  if (v.received.skipped_pages != 0) p |= kProblemPagesSkipped;
  if (v.trailer_seen && ((v.trailer_flags & kTrailerStoppedEarly) != 0 || v.not_sent_pages != 0)) {
    p |= kProblemStoppedEarly;
  }
  if (v.trailer_seen && !lost) {
    StreamTotals a = v.received;
    StreamTotals b = v.sent;
    a.digest = b.digest = 0;
    if (!(a == b)) p |= kProblemTotalsMismatch;
    if (!ChecksumMatches(v.received.digest, v.sent.digest)) p |= kProblemDigestMismatch;
  }
  if (inconsistent_) p |= kProblemInconsistent;
  v.problems = p;
  v.complete = v.header_seen && v.trailer_seen &&
               (p & (kProblemPagesLost | kProblemTotalsMismatch | kProblemStoppedEarly | kProblemInconsistent)) == 0;
  v.intact = v.complete && (p & (kProblemDigestMismatch | kProblemPagesSkipped)) == 0;
}

}  // namespace salvage::stream
