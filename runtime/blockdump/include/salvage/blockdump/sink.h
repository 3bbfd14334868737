// salvage::blockdump — the block sink: the stream written into a dump area on a block
// device (docs/disk-format.md), with several large writes in flight.
//
// Layout of the area (the target's extents concatenated): a header block at 0, the
// stream from 4096, a backup of the header block in the last whole 4096 bytes but one,
// a trailer block in the last whole 4096 bytes, written last.
//
// The sink is the one place that writes to the device, and every write goes through
// MapArea (extents.h), which refuses anything outside the extents. The stream bytes are
// staged in caller-provided buffers; a full buffer is queued with StartWrite (split at
// extent boundaries and at the device's MaxTransfer) and the next buffer is filled while
// it is in flight; before a buffer is refilled, the sink Waits for its writes.
//
// Order of writes: Begin zeroes the trailer block (so an interrupted dump never shows
// an older dump's trailer) and flushes; the header block and its backup are written
// and flushed before the first stream byte; Finish writes the rest of the stream, flushes, writes the
// trailer block, flushes.
//
// When the target is too small: Write refuses a span that does not fit in Remaining()
// with kResourceExhausted "blockdump: target full" and writes none of it. The stream's
// Encoder makes that error sticky, so the capture checks RoomForPage() before every
// page and, when it says no, ends the stream (Encoder::WriteTrailer, which marks it
// stopped early) and calls Finish(/*truncated=*/true). RoomForPage keeps
// kStreamEndReserve bytes (one frame header for a pending zero/skipped run plus the
// stream trailer record) and two copies of the stream's header record (a periodic one
// before the page, the last one before the trailer: docs/stream-format.md §4.6) on top
// of the most one page can cost.
//
// Runs in the image: no heap, no exceptions, no vtables; the device is called through
// plain function pointers (as the Encoder calls its sink), so this file's code is
// compiled once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <salvage/drivers/block.h>

#include "salvage/base/status.h"
#include "salvage/blockdump/disk-format.h"
#include "salvage/blockdump/extents.h"
#include "salvage/stream/format.h"

namespace salvage::blockdump {

/// Staging buffer size the runtime uses: large enough that a virtio-blk or SD request
/// moves a lot at once, small enough that 4 of them are a modest static reservation.
inline constexpr uint32_t kDefaultBufferSize = 256 * 1024;
inline constexpr size_t kDefaultBuffers = 4;
/// Most staging buffers the sink uses (more memory is left unused).
inline constexpr size_t kMaxBuffers = 16;
/// Most device write requests the sink keeps track of at once; beyond that it waits for
/// the oldest.
inline constexpr size_t kMaxPendingWrites = 64;

/// Bytes of staging memory for `buffers` buffers of `buffer_size` bytes: one 4096-byte
/// block for the header and trailer, then the buffers.
constexpr size_t BlockSinkMemoryBytes(size_t buffers = kDefaultBuffers, uint32_t buffer_size = kDefaultBufferSize) {
  return kBlockSize + buffers * buffer_size;
}

/// Stream bytes to keep free so that the stream can always be ended: the frame of a
/// pending zero or skipped run (a record header, no payload) plus the stream trailer
/// record (record header + trailer payload). 48 + 48 + 88 = 184 bytes.
inline constexpr uint64_t kStreamEndReserve =
    stream::kRecordHeaderSize + stream::kRecordHeaderSize + stream::trl::kSize;
/// Most stream bytes one Encoder::WritePage can produce: the frame that ends a pending
/// run, then the page's own frame sent raw.
constexpr uint64_t MaxStreamBytesPerPage(uint32_t page_size) {
  return 2 * stream::kRecordHeaderSize + page_size;
}
/// Most stream bytes Encoder::SkipPages(count) can produce (one frame per kMaxRunPages
/// pages, one per range it crosses, and the frame of a pending run).
constexpr uint64_t MaxStreamBytesForSkip(uint64_t count, uint64_t ranges_crossed) {
  return (count / stream::kMaxRunPages + ranges_crossed + 2) * stream::kRecordHeaderSize;
}

class BlockSink {
 public:
  /// `extents`: the resolved target (ResolveTarget), copied. `memory`: staging memory
  /// the device can reach by physical address, 4096-aligned, at least
  /// BlockSinkMemoryBytes(1, buffer_size) bytes (use 2 or more buffers for overlap),
  /// owned by the caller and untouched by anyone else until Finish returns.
  /// `buffer_size`: a multiple of 4096. Nothing is checked or written until Begin.
  template <drivers::BlockDevice Device>
  BlockSink(Device& device, const Extents& extents, std::span<uint8_t> memory,
            uint32_t buffer_size = kDefaultBufferSize)
      : device_(&device),
        start_write_([](void* d, uint64_t lba, std::span<const uint8_t> src) {
          return static_cast<Device*>(d)->StartWrite(lba, src);
        }),
        wait_([](void* d, uint32_t ticket) { return static_cast<Device*>(d)->Wait(ticket); }),
        wait_all_([](void* d) { return static_cast<Device*>(d)->WaitAll(); }),
        flush_([](void* d) { return static_cast<Device*>(d)->Flush(); }),
        sector_size_(device.SectorSize()),
        sector_count_(device.SectorCount()),
        max_transfer_(device.MaxTransfer()),
        extents_(extents),
        memory_(memory),
        buffer_size_(buffer_size) {}

  BlockSink(const BlockSink&) = delete;
  BlockSink& operator=(const BlockSink&) = delete;

  /// Checks the extents against the device (CheckExtents; same sector size), the
  /// memory and the buffer size, and the area (at least 16 KiB); then zeroes the
  /// trailer block of the area and flushes.
  /// Errors: kInvalidArgument (called twice; buffers; sector size differs from the
  /// extents'), kOutOfRange (extents past the device, area too small), kUnsupported
  /// (MaxTransfer under one sector), or the device's error.
  Status Begin();

  /// ByteSink: appends `bytes` to the stream. Refuses, writing none of it, when it does
  /// not fit in Remaining(): kResourceExhausted "blockdump: target full" (the dump will
  /// be marked truncated). Errors: kInvalidArgument (before Begin, after Finish), the
  /// guard's kOutOfRange, or the device's error (sticky: every later call returns it).
  Status Write(std::span<const uint8_t> bytes);

  /// Stream bytes that still fit in the area (the trailer block is already set aside);
  /// 0 before Begin and after Finish.
  uint64_t Remaining() const;

  /// True when one more page of `page_size` bytes and the end of the stream still fit:
  /// Remaining() >= MaxStreamBytesPerPage(page_size) + kStreamEndReserve + 2 x
  /// `header_record_bytes` (Encoder::header_record_bytes(): a header copy may precede
  /// the page, and one precedes the trailer). The capture asks before every page and
  /// ends the stream when it says no.
  bool RoomForPage(uint32_t page_size, uint64_t header_record_bytes) const {
    return Remaining() >= MaxStreamBytesPerPage(page_size) + kStreamEndReserve + 2 * header_record_bytes;
  }

  /// Ends the dump: pads the last partial sector with zeros, writes what is staged,
  /// waits for every write, flushes, writes the trailer block (flags: truncated when
  /// `truncated` or a Write was refused, else complete, and the stream length), flushes.
  /// After a device error nothing more is written (the dump reads as interrupted) and
  /// that error is returned. Errors: kInvalidArgument (before Begin, twice), the
  /// device's error.
  Status Finish(bool truncated);

  /// The dump id written in the header: the stream_id of the stream's header record,
  /// read from the first stream bytes (0 when they are not a stream header). Valid once
  /// the header block is written (the first buffer submitted, or Finish).
  uint64_t dump_id() const { return dump_id_; }
  /// Stream bytes accepted so far.
  uint64_t stream_bytes() const { return stream_bytes_; }
  /// Bytes of the area and of its stream part (valid after Begin).
  uint64_t area_bytes() const { return layout_.area_bytes; }
  uint64_t capacity() const { return layout_.stream_capacity; }
  /// Staging buffers in use (valid after Begin).
  size_t buffers() const { return buffers_; }
  /// A Write was refused because the target was full.
  bool refused() const { return refused_; }
  /// When the guard refused a write (kOutOfRange): the area offset it was for, to print
  /// "blockdump: write at dump offset X beyond the target (area_bytes() bytes)".
  uint64_t guard_offset() const { return guard_offset_; }
  /// Most write requests that were in flight at once (for reports and tests).
  size_t max_in_flight() const { return max_in_flight_; }

 private:
  enum class State : uint8_t { kNew, kOpen, kFinished };
  static constexpr uint16_t kMetaTag = 0xFFFF;  // pending writes of the metadata block
  struct Pending {
    uint32_t ticket = 0;
    uint16_t tag = 0;  // the staging buffer it reads from, or kMetaTag
  };

  std::span<uint8_t> Buffer(size_t i) const {
    return memory_.subspan(kBlockSize + i * buffer_size_, buffer_size_);
  }
  std::span<uint8_t, kBlockSize> Meta() const { return memory_.first<kBlockSize>(); }

  Status Fail(Status s);
  Status SubmitRange(uint64_t area_offset, std::span<const uint8_t> data, uint16_t tag);
  Status StartOne(uint64_t lba, std::span<const uint8_t> piece, uint16_t tag);
  Status WaitOldest();
  Status WaitTag(uint16_t tag);
  Status FlushDevice();
  Status WriteMeta(uint64_t area_offset);
  Status WriteHeaderBlock();
  Status SubmitCurrent(uint64_t length);

  void* device_;
  Result<uint32_t> (*start_write_)(void*, uint64_t, std::span<const uint8_t>);
  Status (*wait_)(void*, uint32_t);
  Status (*wait_all_)(void*);
  Status (*flush_)(void*);
  uint32_t sector_size_;
  uint64_t sector_count_;
  uint32_t max_transfer_;
  Extents extents_;
  std::span<uint8_t> memory_;
  uint32_t buffer_size_;

  State state_ = State::kNew;
  Status failed_;
  DumpHeader layout_;
  size_t buffers_ = 0;
  uint64_t max_sectors_ = 0;
  bool header_written_ = false;
  uint64_t dump_id_ = 0;
  uint64_t stream_bytes_ = 0;
  size_t current_ = 0;  // staging buffer being filled
  uint64_t fill_ = 0;   // bytes in it
  bool refused_ = false;
  uint64_t guard_offset_ = 0;

  std::array<Pending, kMaxPendingWrites> pending_{};
  size_t pending_head_ = 0;
  size_t pending_count_ = 0;
  size_t max_in_flight_ = 0;
};

static_assert(kStreamEndReserve == 184);

}  // namespace salvage::blockdump
