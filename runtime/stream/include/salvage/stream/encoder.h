// salvage::stream — the encoder: turns the crashed kernel's pages into the stream
// (docs/stream-format.md, version 1).
//
// Runs in the image: no heap, no exceptions, no vtables. The encoder writes through a
// `ByteSink` and compresses through a `PageCompressor`, both taken by reference and
// called through a plain function pointer (one copy of the encoder's code serves every
// sink). A raw page is handed to the sink straight from old memory, never copied.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "salvage/base/phys.h"
#include "salvage/base/status.h"
#include "salvage/stream/format.h"

namespace salvage::stream {

/// Where the stream goes: a UART, a block device, a test buffer.
template <class T>
concept ByteSink = requires(T& sink, std::span<const uint8_t> bytes) {
  /// Writes all of `bytes`, in order, after what was written before; or says why not.
  /// The bytes may be old memory: the sink must not keep the span after returning.
  { sink.Write(bytes) } -> std::same_as<Status>;
};

/// How pages are compressed (LZ4 in the image: salvage/stream/lz4-compressor.h).
template <class T>
concept PageCompressor = requires(T& c, std::span<const uint8_t> in, std::span<uint8_t> out) {
  /// Compresses all of `in` into the front of `out` as one LZ4 block that
  /// LZ4_decompress_safe() restores; returns its length, or 0 when it does not fit in
  /// `out` (the encoder then sends the page raw).
  { c.Compress(in, out) } -> std::same_as<size_t>;
};

/// A compressor that never pays: every non-zero page is sent raw.
struct NoCompression {
  size_t Compress(std::span<const uint8_t>, std::span<uint8_t>) { return 0; }
};

/// What the stream header says about the dump. Spans must stay valid until WriteTrailer.
struct HeaderInfo {
  uint16_t e_machine = 0;         ///< ELF e_machine of the crashed kernel (kEmAarch64, ...).
  uint8_t elf_class = kElfClass64;///< ELF class of its elfcorehdr: kElfClass32 or kElfClass64.
  uint8_t elf_data = kElfDataLsb; ///< Byte order of the notes: kElfDataLsb or kElfDataMsb.
  uint32_t page_size = 4096;      ///< A power of two in [4096, 65536].
  uint32_t flags = 0;             ///< HeaderFlag bits.
  /// Names this dump in every record. 0: the encoder derives it from XXH64 of the
  /// header's contents (the notes hold the crash time and registers, so every crash
  /// differs, and a re-run of the same crash keeps its id).
  uint64_t stream_id = 0;
  /// What is dumped: page-aligned, non-empty, ascending, non-overlapping, not ending at
  /// 2^64. Pages are written in this order, every page once (sent or skipped).
  std::span<const PhysRange> ranges;
  /// The elfcorehdr's PT_LOADs, for the vmcore's program headers (may be empty).
  std::span<const LoadSegment> segments;
  /// The bytes of every PT_NOTE segment of the elfcorehdr, one span each.
  std::span<const std::span<const uint8_t>> notes;
  /// The salvage options in force, as text (e.g. "salvage.sink=uart salvage.lz4=on").
  std::string_view options;
};

/// Writes one stream: WriteHeader, then WritePage/SkipPages for every page of every
/// range in order, then WriteTrailer.
///
/// The header record is written again, identical, so that no single damaged record
/// loses the dump (docs/stream-format.md §4.6): before the first frame that would start
/// HeaderRepeatInterval() or more stream bytes after the previous copy began, and once
/// more right before the trailer.
///
/// Zero pages and skipped pages are gathered into runs (one frame of a few dozen bytes
/// per up to kMaxRunPages pages), so a frame may reach the sink only when the run ends.
/// A sink error is sticky: the stream is broken and every later call returns it.
class Encoder {
 public:
  /// `scratch` receives compressed pages: at least page_size - 1 bytes. `sink`,
  /// `compressor` and `scratch` must outlive the encoder.
  template <ByteSink Sink, PageCompressor Compressor>
  Encoder(Sink& sink, Compressor& compressor, std::span<uint8_t> scratch)
      : sink_(&sink),
        sink_write_([](void* s, std::span<const uint8_t> b) { return static_cast<Sink*>(s)->Write(b); }),
        compressor_(&compressor),
        compress_([](void* c, std::span<const uint8_t> in, std::span<uint8_t> out) {
          return static_cast<Compressor*>(c)->Compress(in, out);
        }),
        scratch_(scratch) {}

  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  /// Validates `info` and writes the header record. `info` (and what its spans show)
  /// must stay valid until WriteTrailer: the encoder writes the header again from it.
  /// Errors: kInvalidArgument (called twice; page size, ELF class/data, a range not
  /// page-aligned, empty, overlapping, unordered or ending at 2^64; scratch too small),
  /// kOutOfRange (header payload over kMaxHeaderPayload), or the sink's error.
  Status WriteHeader(const HeaderInfo& info);

  /// Adds the page at `phys`, which must be the next page in range order. `data` is its
  /// contents (page_size bytes; may be old memory, read once for the zero test and the
  /// digest and once more by LZ4, and passed to the sink as is when sent raw).
  /// Errors: kInvalidArgument (no header yet, trailer written, wrong size), kOutOfRange
  /// (`phys` is not the next page), or the sink's error.
  Status WritePage(PhysAddr phys, std::span<const uint8_t> data);

  /// Records that `count` pages from `phys` (the next page in range order) could not be
  /// read; they are sent as skipped frames and counted in the trailer. May cross range
  /// boundaries. Errors as WritePage, and kOutOfRange when `count` passes the last range.
  Status SkipPages(PhysAddr phys, uint64_t count);

  /// Ends pending runs and writes the trailer. Pages never written or skipped make the
  /// trailer say kTrailerStoppedEarly (the receiver reports them as not sent).
  /// Errors: kInvalidArgument (no header yet, called twice), or the sink's error.
  Status WriteTrailer();

  /// Totals so far (the digest covers the pages given so far).
  StreamTotals totals() const;
  /// The stream id in use (valid after WriteHeader).
  uint64_t stream_id() const { return stream_id_; }
  /// Pages of the ranges not yet written or skipped (valid after WriteHeader).
  uint64_t pages_remaining() const { return total_pages_ - covered_pages_; }
  uint32_t page_size() const { return page_size_; }
  /// Bytes of one header record (record header + payload; valid after WriteHeader): what
  /// each repeated copy costs. A sink with a fixed capacity keeps room for two of them
  /// (one periodic copy before a page, one before the trailer).
  uint64_t header_record_bytes() const { return header_record_bytes_; }
  /// Stream bytes after which the header is repeated: max(kHeaderRepeatMinBytes,
  /// kHeaderRepeatFactor x header_record_bytes()) (valid after WriteHeader).
  uint64_t HeaderRepeatInterval() const { return repeat_interval_; }
  /// Header records written so far (the first one included).
  uint64_t header_copies() const { return header_copies_; }

 private:
  enum class State : uint8_t { kNeedHeader, kFrames, kClosed };

  Status Write(std::span<const uint8_t> bytes);
  Status WriteHeaderRecord();
  Status CheckNext(PhysAddr phys) const;
  void Advance(uint64_t pages);
  uint64_t PagesLeftInRange() const;
  Status AddToRun(Encoding encoding, uint64_t pages);
  Status FlushRun();
  Status WriteFrame(Encoding encoding, uint64_t phys, uint32_t count, std::span<const uint8_t> payload);

  void* sink_;
  Status (*sink_write_)(void*, std::span<const uint8_t>);
  void* compressor_;
  size_t (*compress_)(void*, std::span<const uint8_t>, std::span<uint8_t>);
  std::span<uint8_t> scratch_;

  State state_ = State::kNeedHeader;
  Status failed_;
  uint32_t page_size_ = 0;
  uint8_t page_shift_ = 0;
  uint64_t stream_id_ = 0;
  std::span<const PhysRange> ranges_;
  uint64_t total_pages_ = 0;

  // The header record, for its copies: the caller's info, the 48-byte record header
  // (CRCs included) and where the last copy began.
  HeaderInfo info_;
  std::array<uint8_t, kRecordHeaderSize> header_rh_{};
  uint64_t header_record_bytes_ = 0;
  uint64_t repeat_interval_ = 0;
  uint64_t header_copies_ = 0;
  uint64_t bytes_ = 0;             // stream bytes written
  uint64_t last_header_at_ = 0;    // stream offset of the last header copy

  // The next page expected: ranges_[range_].base + offset_.
  size_t range_ = 0;
  uint64_t offset_ = 0;  // bytes
  uint64_t covered_pages_ = 0;

  // The pending run of zero or skipped pages (run_count_ == 0: none).
  Encoding run_encoding_ = Encoding::kZero;
  uint64_t run_phys_ = 0;
  uint32_t run_count_ = 0;
  size_t run_range_ = 0;

  uint64_t next_seq_ = 0;
  StreamTotals totals_;
  Xxh64 digest_;
};

}  // namespace salvage::stream
