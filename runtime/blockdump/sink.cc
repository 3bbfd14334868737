// salvage::blockdump — the block sink (see sink.h and docs/disk-format.md).
#include "salvage/blockdump/sink.h"

namespace salvage::blockdump {
namespace {

// The stream_id of a stream header record at the start of `s`, or 0.
uint64_t StreamIdOf(std::span<const uint8_t> s) {
  if (s.size() < stream::kRecordHeaderSize + stream::hdr::kStreamId + 8) return 0;
  stream::RecordHeader h;
  uint32_t crc = 0;
  if (!stream::DecodeRecordHeader(s.first<stream::kRecordHeaderSize>(), &h, &crc)) return 0;
  if (h.type != stream::RecordType::kHeader || h.payload_len < stream::hdr::kSize) return 0;
  return LoadLe64(s.data() + stream::kRecordHeaderSize + stream::hdr::kStreamId);
}

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

Status BlockSink::Fail(Status s) {
  if (!s.ok() && failed_.ok()) failed_ = s;
  return s;
}

Status BlockSink::WaitOldest() {
  const Pending p = pending_[pending_head_];
  pending_head_ = (pending_head_ + 1) % kMaxPendingWrites;
  --pending_count_;
  return wait_(device_, p.ticket);
}

Status BlockSink::WaitTag(uint16_t tag) {
  // Requests complete in any order but are waited for oldest first; everything older
  // than the last request of `tag` is waited for too, which costs nothing: the ring
  // refills buffers in the order it submitted them.
  while (true) {
    bool any = false;
    for (size_t i = 0; i < pending_count_; ++i) {
      if (pending_[(pending_head_ + i) % kMaxPendingWrites].tag == tag) any = true;
    }
    if (!any) return Status::Ok();
    SALVAGE_TRY(WaitOldest());
  }
}

Status BlockSink::FlushDevice() {
  // Flush waits for every queued write: none of the tickets is pending any more.
  pending_count_ = 0;
  pending_head_ = 0;
  return flush_(device_);
}

Status BlockSink::StartOne(uint64_t lba, std::span<const uint8_t> piece, uint16_t tag) {
  if (pending_count_ == kMaxPendingWrites) SALVAGE_TRY(WaitOldest());
  while (true) {
    Result<uint32_t> ticket = start_write_(device_, lba, piece);
    if (ticket.ok()) {
      pending_[(pending_head_ + pending_count_) % kMaxPendingWrites] = Pending{*ticket, tag};
      ++pending_count_;
      if (pending_count_ > max_in_flight_) max_in_flight_ = pending_count_;
      return Status::Ok();
    }
    // Every slot of the device is busy: wait for our oldest request, then try again.
    if (ticket.status().error() != Error::kResourceExhausted || pending_count_ == 0) return ticket.status();
    SALVAGE_TRY(WaitOldest());
  }
}

Status BlockSink::SubmitRange(uint64_t area_offset, std::span<const uint8_t> data, uint16_t tag) {
  const uint64_t ss = sector_size_;
  Status s = MapArea(extents_, area_offset, data.size(), max_sectors_,
                     [&](uint64_t lba, uint64_t sectors, uint64_t done) {
                       return StartOne(lba, data.subspan(static_cast<size_t>(done), static_cast<size_t>(sectors * ss)),
                                       tag);
                     });
  if (s.error() == Error::kOutOfRange) guard_offset_ = area_offset;
  return s;
}

Status BlockSink::WriteMeta(uint64_t area_offset) {
  SALVAGE_TRY(SubmitRange(area_offset, Meta(), kMetaTag));
  return WaitTag(kMetaTag);
}

Status BlockSink::WriteHeaderBlock() {
  // Only before the first submission: buffer 0 holds the stream from its first byte.
  dump_id_ = StreamIdOf(Buffer(0).first(static_cast<size_t>(fill_)));
  DumpHeader h = layout_;
  h.dump_id = dump_id_;
  h.state = kStateStarted;
  EncodeHeader(h, Meta());
  SALVAGE_TRY(WriteMeta(0));
  // The same block again near the area's end (docs/disk-format.md §2), far from the
  // first, so that one damaged block does not lose the dump.
  SALVAGE_TRY(WriteMeta(layout_.backup_offset));
  SALVAGE_TRY(FlushDevice());  // both headers are on the medium before any stream byte
  header_written_ = true;
  return Status::Ok();
}

Status BlockSink::SubmitCurrent(uint64_t length) {
  if (!header_written_) SALVAGE_TRY(WriteHeaderBlock());
  const uint64_t area_offset = layout_.stream_offset + (stream_bytes_ - fill_);
  return SubmitRange(area_offset, Buffer(current_).first(static_cast<size_t>(length)), static_cast<uint16_t>(current_));
}

Status BlockSink::Begin() {
  if (state_ != State::kNew) return {Error::kInvalidArgument, "blockdump: Begin called twice"};
  if (sector_size_ < 512 || sector_size_ > kBlockSize || !IsPowerOfTwo(sector_size_)) {
    return {Error::kUnsupported, "blockdump: device sector size is not 512, 1024, 2048 or 4096"};
  }
  if (extents_.sector_size != sector_size_) {
    return {Error::kInvalidArgument, "blockdump: the extents are not in the device's sectors"};
  }
  SALVAGE_TRY(CheckExtents(extents_, sector_count_));
  max_sectors_ = max_transfer_ / sector_size_;
  if (max_sectors_ == 0) return {Error::kUnsupported, "blockdump: the device's largest transfer is under one sector"};
  if (buffer_size_ == 0 || buffer_size_ % kBlockSize != 0) {
    return {Error::kInvalidArgument, "blockdump: buffer size is not a multiple of 4096"};
  }
  if (reinterpret_cast<uintptr_t>(memory_.data()) % kBlockSize != 0) {
    return {Error::kInvalidArgument, "blockdump: staging memory is not 4096-aligned"};
  }
  if (memory_.size() < kBlockSize + uint64_t{buffer_size_}) {
    return {Error::kInvalidArgument, "blockdump: staging memory holds no buffer"};
  }
  buffers_ = (memory_.size() - kBlockSize) / buffer_size_;
  if (buffers_ > kMaxBuffers) buffers_ = kMaxBuffers;
  if (!LayoutFor(extents_.AreaBytes(), &layout_)) {
    return {Error::kOutOfRange, "blockdump: the target is smaller than 16 KiB"};
  }
  layout_.extents = extents_;

  // An older dump's trailer must not vouch for this one if it is interrupted.
  for (auto& b : Meta()) b = 0;
  SALVAGE_TRY(Fail(WriteMeta(layout_.trailer_offset)));
  SALVAGE_TRY(Fail(FlushDevice()));
  state_ = State::kOpen;
  return Status::Ok();
}

uint64_t BlockSink::Remaining() const {
  if (state_ != State::kOpen) return 0;
  return layout_.stream_capacity - stream_bytes_;
}

Status BlockSink::Write(std::span<const uint8_t> bytes) {
  if (state_ != State::kOpen) return {Error::kInvalidArgument, "blockdump: Write before Begin or after Finish"};
  if (!failed_.ok()) return failed_;
  if (bytes.size() > Remaining()) {
    refused_ = true;
    return {Error::kResourceExhausted, "blockdump: target full"};
  }
  while (!bytes.empty()) {
    uint64_t n = buffer_size_ - fill_;
    if (n > bytes.size()) n = bytes.size();
    __builtin_memcpy(Buffer(current_).data() + fill_, bytes.data(), static_cast<size_t>(n));
    fill_ += n;
    stream_bytes_ += n;
    bytes = bytes.subspan(static_cast<size_t>(n));
    if (fill_ == buffer_size_) {
      SALVAGE_TRY(Fail(SubmitCurrent(buffer_size_)));
      current_ = (current_ + 1) % buffers_;
      fill_ = 0;
      SALVAGE_TRY(Fail(WaitTag(static_cast<uint16_t>(current_))));  // its last writes are done
    }
  }
  return Status::Ok();
}

Status BlockSink::Finish(bool truncated) {
  if (state_ != State::kOpen) return {Error::kInvalidArgument, "blockdump: Finish without Begin, or twice"};
  state_ = State::kFinished;
  if (!failed_.ok()) {
    // Leave the device idle; write nothing more: the dump reads as interrupted.
    (void)wait_all_(device_);
    pending_count_ = 0;
    return failed_;
  }
  if (fill_ > 0) {
    const uint64_t padded = (fill_ + sector_size_ - 1) / sector_size_ * sector_size_;
    const std::span<uint8_t> b = Buffer(current_);
    for (uint64_t i = fill_; i < padded; ++i) b[static_cast<size_t>(i)] = 0;
    SALVAGE_TRY(Fail(SubmitCurrent(padded)));
  } else if (!header_written_) {
    SALVAGE_TRY(Fail(WriteHeaderBlock()));
  }
  SALVAGE_TRY(Fail(wait_all_(device_)));
  SALVAGE_TRY(Fail(FlushDevice()));

  DumpTrailer t;
  t.flags = (truncated || refused_) ? kDumpTruncated : kDumpComplete;
  t.dump_id = dump_id_;
  t.stream_bytes = stream_bytes_;
  t.area_bytes = layout_.area_bytes;
  EncodeTrailer(t, Meta());
  SALVAGE_TRY(Fail(WriteMeta(layout_.trailer_offset)));
  return Fail(FlushDevice());
}

}  // namespace salvage::blockdump
