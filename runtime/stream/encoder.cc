// salvage::stream — the encoder (docs/stream-format.md, version 1).
#include "salvage/stream/encoder.h"

#include <array>

namespace salvage::stream {
namespace {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

/// True when every byte of `page` is zero. Reads 64 bytes per step with one branch;
/// memcpy keeps the loads free of aliasing assumptions (__builtin_memcpy: under
/// -ffreestanding std::memcpy would be a call per 64 bytes).
bool IsZeroPage(std::span<const uint8_t> page) {
  const uint8_t* p = page.data();
  size_t n = page.size();
  if (IsAligned(p, 8)) {
    // Pages are page-aligned: tell the compiler, or strict-alignment targets load bytes.
    for (; n >= 64; n -= 64, p += 64) {
      uint64_t w[8];
      __builtin_memcpy(w, __builtin_assume_aligned(p, 8), sizeof(w));
      if ((w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) != 0) return false;
    }
  }
  for (; n >= 64; n -= 64, p += 64) {
    uint64_t w[8];
    __builtin_memcpy(w, p, sizeof(w));
    if ((w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) != 0) return false;
  }
  for (; n > 0; --n, ++p) {
    if (*p != 0) return false;
  }
  return true;
}

/// Calls `fn(std::span<const uint8_t>)` for each piece of the header payload in order
/// (docs/stream-format.md §4), stopping at the first piece whose Status is not ok.
template <class Fn>
Status ForEachHeaderPiece(const HeaderInfo& info, uint8_t page_shift, uint64_t stream_id,
                          uint64_t total_pages, Fn&& fn) {
  std::array<uint8_t, hdr::kSize> fixed{};
  uint8_t* f = fixed.data();
  StoreLe16(f + hdr::kVersion, kVersion);
  StoreLe16(f + hdr::kFixedLen, static_cast<uint16_t>(hdr::kSize));
  StoreLe16(f + hdr::kMachine, info.e_machine);
  f[hdr::kElfClass] = info.elf_class;
  f[hdr::kElfData] = info.elf_data;
  f[hdr::kPageShift] = page_shift;
  StoreLe32(f + hdr::kFlags, info.flags);
  StoreLe32(f + hdr::kRangeCount, static_cast<uint32_t>(info.ranges.size()));
  StoreLe32(f + hdr::kSegmentCount, static_cast<uint32_t>(info.segments.size()));
  StoreLe32(f + hdr::kNoteCount, static_cast<uint32_t>(info.notes.size()));
  StoreLe32(f + hdr::kOptionsLen, static_cast<uint32_t>(info.options.size()));
  StoreLe64(f + hdr::kStreamId, stream_id);
  StoreLe64(f + hdr::kTotalPages, total_pages);
  StoreLe64(f + hdr::kResumeSeq, 0);
  SALVAGE_TRY(fn(std::span<const uint8_t>(fixed)));
  for (const PhysRange& r : info.ranges) {
    std::array<uint8_t, hdr::kRangeSize> b;
    StoreLe64(b.data(), r.base);
    StoreLe64(b.data() + 8, r.size);
    SALVAGE_TRY(fn(std::span<const uint8_t>(b)));
  }
  for (const LoadSegment& s : info.segments) {
    std::array<uint8_t, hdr::kSegmentSize> b;
    StoreLe64(b.data(), s.paddr.value);
    StoreLe64(b.data() + 8, s.vaddr);
    StoreLe64(b.data() + 16, s.size);
    SALVAGE_TRY(fn(std::span<const uint8_t>(b)));
  }
  for (std::span<const uint8_t> note : info.notes) {
    std::array<uint8_t, 4> len;
    StoreLe32(len.data(), static_cast<uint32_t>(note.size()));
    SALVAGE_TRY(fn(std::span<const uint8_t>(len)));
    if (!note.empty()) SALVAGE_TRY(fn(note));
  }
  if (!info.options.empty()) SALVAGE_TRY(fn(AsBytes(info.options)));
  return Status::Ok();
}

Status CheckRanges(std::span<const PhysRange> ranges, uint32_t page_size) {
  uint64_t prev_end = 0;
  for (size_t i = 0; i < ranges.size(); ++i) {
    const PhysRange& r = ranges[i];
    if (r.size == 0) return {Error::kInvalidArgument, "stream: empty range in header"};
    if ((r.base | r.size) & (page_size - 1)) {
      return {Error::kInvalidArgument, "stream: range not page-aligned"};
    }
    if (r.base + r.size <= r.base) {
      return {Error::kInvalidArgument, "stream: range ends at or past 2^64"};
    }
    if (i > 0 && r.base < prev_end) {
      return {Error::kInvalidArgument, "stream: ranges overlap or are not ascending"};
    }
    prev_end = r.base + r.size;
  }
  return Status::Ok();
}

}  // namespace

Status Encoder::Write(std::span<const uint8_t> bytes) {
  Status s = sink_write_(sink_, bytes);
  if (!s.ok()) failed_ = s;
  bytes_ += bytes.size();
  return s;
}

Status Encoder::WriteHeaderRecord() {
  last_header_at_ = bytes_;
  ++header_copies_;
  SALVAGE_TRY(Write(header_rh_));
  return ForEachHeaderPiece(info_, page_shift_, stream_id_, total_pages_,
                            [&](std::span<const uint8_t> piece) { return Write(piece); });
}

Status Encoder::WriteHeader(const HeaderInfo& info) {
  if (!failed_.ok()) return failed_;
  if (state_ != State::kNeedHeader) return {Error::kInvalidArgument, "stream: header written twice"};
  const unsigned shift = PageShiftOf(info.page_size);
  if (shift == 0) return {Error::kInvalidArgument, "stream: page size not a power of two in 4K..64K"};
  if (scratch_.size() < info.page_size - 1) {
    return {Error::kInvalidArgument, "stream: scratch buffer smaller than a page"};
  }
  if (info.elf_class != kElfClass32 && info.elf_class != kElfClass64) {
    return {Error::kInvalidArgument, "stream: ELF class is neither 32 nor 64"};
  }
  if (info.elf_data != kElfDataLsb && info.elf_data != kElfDataMsb) {
    return {Error::kInvalidArgument, "stream: ELF data encoding is neither LSB nor MSB"};
  }
  SALVAGE_TRY(CheckRanges(info.ranges, info.page_size));

  uint64_t total_pages = 0;
  for (const PhysRange& r : info.ranges) total_pages += r.size >> shift;

  // Pass 1: the payload's length, and the stream id if the caller left it to us. Sizes
  // are added in 64 bits so that no count can wrap before the limit check.
  uint64_t length = 0;
  Xxh64 id_hash(0);
  (void)ForEachHeaderPiece(info, static_cast<uint8_t>(shift), 0, total_pages,
                           [&](std::span<const uint8_t> piece) {
                             length += piece.size();
                             if (info.stream_id == 0 && length <= kMaxHeaderPayload) id_hash.Update(piece);
                             return Status::Ok();
                           });
  if (length > kMaxHeaderPayload) return {Error::kOutOfRange, "stream: header payload over 1 MiB"};
  uint64_t stream_id = info.stream_id;
  if (stream_id == 0) stream_id = id_hash.Digest() | (id_hash.Digest() == 0 ? 1 : 0);

  // Pass 2: the record CRC over the final payload. The record header is kept for the
  // copies (§4.6); pass 3 runs again for each.
  RecordHeader h;
  h.type = RecordType::kHeader;
  h.encoding = Encoding::kZero;
  h.page_shift = static_cast<uint8_t>(shift);
  h.stream_tag = static_cast<uint32_t>(stream_id);
  h.seq = 0;
  h.payload_len = static_cast<uint32_t>(length);
  uint32_t crc = BeginRecord(h, header_rh_);
  (void)ForEachHeaderPiece(info, static_cast<uint8_t>(shift), stream_id, total_pages,
                           [&](std::span<const uint8_t> piece) {
                             crc = Crc32c::Update(crc, piece);
                             return Status::Ok();
                           });
  FinishRecord(crc, header_rh_);
  info_ = info;
  header_record_bytes_ = kRecordHeaderSize + length;
  repeat_interval_ = header_record_bytes_ * kHeaderRepeatFactor;
  if (repeat_interval_ < kHeaderRepeatMinBytes) repeat_interval_ = kHeaderRepeatMinBytes;
  stream_id_ = stream_id;
  page_shift_ = static_cast<uint8_t>(shift);
  total_pages_ = total_pages;

  // Pass 3: out to the sink.
  SALVAGE_TRY(WriteHeaderRecord());

  page_size_ = info.page_size;
  ranges_ = info.ranges;
  range_ = 0;
  offset_ = 0;
  covered_pages_ = 0;
  state_ = State::kFrames;
  return Status::Ok();
}

Status Encoder::CheckNext(PhysAddr phys) const {
  if (range_ >= ranges_.size()) return {Error::kOutOfRange, "stream: page past the last range"};
  if (phys.value != ranges_[range_].base + offset_) {
    return {Error::kOutOfRange, "stream: page is not the next one in range order"};
  }
  return Status::Ok();
}

uint64_t Encoder::PagesLeftInRange() const {
  return (ranges_[range_].size - offset_) >> page_shift_;
}

void Encoder::Advance(uint64_t pages) {
  offset_ += pages << page_shift_;
  covered_pages_ += pages;
  while (range_ < ranges_.size() && offset_ == ranges_[range_].size) {
    ++range_;
    offset_ = 0;
  }
}

Status Encoder::WriteFrame(Encoding encoding, uint64_t phys, uint32_t count,
                           std::span<const uint8_t> payload) {
  // A copy of the header between records, every repeat_interval_ bytes (§4.6).
  if (bytes_ - last_header_at_ >= repeat_interval_) SALVAGE_TRY(WriteHeaderRecord());
  std::array<uint8_t, kRecordHeaderSize> rh;
  RecordHeader h;
  h.type = RecordType::kFrame;
  h.encoding = encoding;
  h.page_shift = page_shift_;
  h.stream_tag = static_cast<uint32_t>(stream_id_);
  h.seq = next_seq_;
  h.phys = phys;
  h.count = count;
  h.payload_len = static_cast<uint32_t>(payload.size());
  EncodeRecordHeader(h, payload, rh);
  SALVAGE_TRY(Write(rh));
  if (!payload.empty()) SALVAGE_TRY(Write(payload));

  ++next_seq_;
  ++totals_.frames;
  totals_.payload_bytes += payload.size();
  switch (encoding) {
    case Encoding::kZero: totals_.zero_pages += count; break;
    case Encoding::kRaw: totals_.raw_pages += count; break;
    case Encoding::kLz4: totals_.lz4_pages += count; break;
    case Encoding::kSkipped: totals_.skipped_pages += count; break;
  }
  totals_.pages = totals_.zero_pages + totals_.raw_pages + totals_.lz4_pages;
  totals_.memory_bytes = totals_.pages << page_shift_;
  return Status::Ok();
}

Status Encoder::FlushRun() {
  if (run_count_ == 0) return Status::Ok();
  SALVAGE_TRY(WriteFrame(run_encoding_, run_phys_, run_count_, {}));
  run_count_ = 0;
  return Status::Ok();
}

Status Encoder::AddToRun(Encoding encoding, uint64_t pages) {
  while (pages > 0) {
    if (run_count_ != 0 &&
        (run_encoding_ != encoding || run_range_ != range_ || run_count_ == kMaxRunPages)) {
      SALVAGE_TRY(FlushRun());
    }
    if (run_count_ == 0) {
      run_encoding_ = encoding;
      run_range_ = range_;
      run_phys_ = ranges_[range_].base + offset_;
    }
    uint64_t n = PagesLeftInRange();
    if (n > pages) n = pages;
    if (n > kMaxRunPages - run_count_) n = kMaxRunPages - run_count_;
    run_count_ += static_cast<uint32_t>(n);
    pages -= n;
    Advance(n);
  }
  return Status::Ok();
}

Status Encoder::WritePage(PhysAddr phys, std::span<const uint8_t> data) {
  if (!failed_.ok()) return failed_;
  if (state_ != State::kFrames) return {Error::kInvalidArgument, "stream: page outside header..trailer"};
  if (data.size() != page_size_) return {Error::kInvalidArgument, "stream: page data is not one page"};
  SALVAGE_TRY(CheckNext(phys));

  digest_.Update(data);
  if (IsZeroPage(data)) return AddToRun(Encoding::kZero, 1);

  SALVAGE_TRY(FlushRun());
  // Ask for at most page_size - 1 bytes, so any LZ4 block we get is smaller than the page.
  const size_t n = compress_(compressor_, data, scratch_.first(page_size_ - 1));
  if (n > 0 && n < page_size_) {
    SALVAGE_TRY(WriteFrame(Encoding::kLz4, phys.value, 1, scratch_.first(n)));
  } else {
    SALVAGE_TRY(WriteFrame(Encoding::kRaw, phys.value, 1, data));
  }
  Advance(1);
  return Status::Ok();
}

Status Encoder::SkipPages(PhysAddr phys, uint64_t count) {
  if (!failed_.ok()) return failed_;
  if (state_ != State::kFrames) return {Error::kInvalidArgument, "stream: skip outside header..trailer"};
  SALVAGE_TRY(CheckNext(phys));
  if (count > pages_remaining()) return {Error::kOutOfRange, "stream: skip passes the last range"};
  return AddToRun(Encoding::kSkipped, count);
}

Status Encoder::WriteTrailer() {
  if (!failed_.ok()) return failed_;
  if (state_ != State::kFrames) return {Error::kInvalidArgument, "stream: trailer without header, or twice"};
  SALVAGE_TRY(FlushRun());
  // The last copy of the header, right before the trailer (§4.6).
  SALVAGE_TRY(WriteHeaderRecord());

  const uint32_t flags = covered_pages_ < total_pages_ ? uint32_t{kTrailerStoppedEarly} : 0u;
  std::array<uint8_t, trl::kSize> payload;
  EncodeTrailerPayload(totals(), flags, payload);
  std::array<uint8_t, kRecordHeaderSize> rh;
  RecordHeader h;
  h.type = RecordType::kTrailer;
  h.encoding = Encoding::kZero;
  h.page_shift = page_shift_;
  h.stream_tag = static_cast<uint32_t>(stream_id_);
  h.seq = next_seq_;
  h.payload_len = static_cast<uint32_t>(payload.size());
  EncodeRecordHeader(h, payload, rh);
  SALVAGE_TRY(Write(rh));
  SALVAGE_TRY(Write(payload));
  state_ = State::kClosed;
  return Status::Ok();
}

StreamTotals Encoder::totals() const {
  StreamTotals t = totals_;
  t.digest = digest_.Digest();
  return t;
}

}  // namespace salvage::stream
