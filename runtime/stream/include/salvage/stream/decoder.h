// salvage::stream — the incremental decoder (docs/stream-format.md, version 1).
//
// Host side (`salvage recv`, `salvage extract`, `salvage convert`), but free of iostreams
// and files so it runs anywhere a hosted C++20 library does. Feed it bytes as they come
// (any chunk size); it calls a DecoderEvents for console text, the header, every verified
// page, every lost range, and the verdict when a stream ends.
//
// The decoder never emits data it has not verified: a page reaches OnPage only from a
// record whose CRCs match, whose stream tag is the current stream's, and whose position
// fits the sequence. Everything else is dropped and, where it stood for pages, those pages
// are reported through OnLost: at once when the damaged frame's header is still readable,
// otherwise when the next good frame or the trailer reveals the gap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "salvage/base/phys.h"
#include "salvage/stream/format.h"

namespace salvage::stream {

/// A parsed header record.
struct DecodedHeader {
  uint16_t version = 0;
  uint16_t e_machine = 0;
  uint8_t elf_class = 0;
  uint8_t elf_data = 0;
  uint8_t page_shift = 0;
  uint32_t page_size = 0;
  uint32_t flags = 0;
  uint64_t stream_id = 0;
  uint64_t total_pages = 0;
  uint64_t resume_seq = 0;
  std::vector<PhysRange> ranges;
  std::vector<LoadSegment> segments;
  std::vector<std::vector<uint8_t>> notes;
  std::string options;
};

/// Parses a header record's payload (untrusted input). On failure returns false and
/// points `*why` at a static message naming the problem.
bool ParseHeaderPayload(std::span<const uint8_t> payload, DecodedHeader* out, const char** why);

/// Why pages are missing from the dump.
enum class LossReason : uint8_t {
  kCorruptFrame,     ///< Their frame arrived damaged (its record CRC failed).
  kMissingFrames,    ///< Frames that held them never arrived (a gap in sequence/address).
  kTruncated,        ///< The input ended (no trailer) before they arrived.
  kNotSent,          ///< The trailer says the sender stopped before reaching them.
  kSkippedBySender,  ///< The sender could not read them (a skipped frame).
  kUndecodable,      ///< Their frame's CRC matched but its LZ4 block did not decode.
};
const char* LossReasonName(LossReason reason);

/// `pages` pages from `phys`, all in one range of the header.
struct LostPages {
  uint64_t phys = 0;
  uint64_t pages = 0;
  LossReason reason = LossReason::kMissingFrames;
};

/// Bits of Verdict::problems.
enum Problem : uint32_t {
  kProblemNoHeader = 1u << 0,        ///< No (usable) header: no notes, no ranges.
  kProblemNoTrailer = 1u << 1,       ///< The stream ended without a trailer: truncated.
  kProblemPagesLost = 1u << 2,       ///< Pages were lost in transit (see OnLost).
  kProblemPagesSkipped = 1u << 3,    ///< The sender could not read some pages.
  kProblemStoppedEarly = 1u << 4,    ///< The sender stopped before the end of its ranges.
  kProblemTotalsMismatch = 1u << 5,  ///< Nothing was lost, yet the trailer's counts differ.
  kProblemDigestMismatch = 1u << 6,  ///< Nothing was lost, yet the XXH64 digest differs.
  kProblemInconsistent = 1u << 7,    ///< A verified record contradicted the stream (diagnostics say how).
};
/// Name of one Problem bit.
const char* ProblemName(Problem problem);

/// What the decoder concluded about one stream.
struct Verdict {
  bool header_seen = false;
  bool trailer_seen = false;
  /// Header and trailer seen, every page the sender sent arrived, the sender covered all
  /// its ranges, and the trailer's counts match what arrived.
  bool complete = false;
  /// complete, the digest matches, and no page was skipped by the sender.
  bool intact = false;
  uint32_t problems = 0;  ///< Problem bits.
  uint64_t stream_id = 0; ///< From the header; without one, the 32-bit tag of the frames.
  StreamTotals received;  ///< What arrived (digest: XXH64 of the pages emitted, in order).
  StreamTotals sent;      ///< The trailer's totals (when trailer_seen).
  uint32_t trailer_flags = 0;
  uint64_t lost_pages = 0;          ///< Reported lost in transit (corrupt, missing, truncated, undecodable).
  uint64_t not_sent_pages = 0;      ///< Reported kNotSent.
  uint64_t unknown_lost_frames = 0; ///< Missing frames whose pages are unknown (no header).
  uint64_t duplicate_frames = 0;    ///< Frames received again and dropped.
  uint64_t corrupt_records = 0;     ///< Records whose header CRC matched but record CRC did not.
  uint64_t ignored_records = 0;     ///< Verified records of another stream, unknown or reserved types.
};

/// What the decoder reports. Every method has an empty default.
class DecoderEvents {
 public:
  virtual ~DecoderEvents() = default;
  /// Bytes between records that are not part of any record: console text (or line
  /// noise), in order. Bytes of a damaged record whose extent is known are not text.
  virtual void OnText(std::span<const uint8_t>) {}
  /// A stream's header (once per stream).
  virtual void OnHeader(const DecodedHeader&) {}
  /// One verified page, in stream order; `data` is page_size bytes, valid during the call.
  virtual void OnPage(uint64_t /*phys*/, std::span<const uint8_t> /*data*/) {}
  /// Pages that will not arrive, split at range boundaries; each page is reported once.
  virtual void OnLost(const LostPages&) {}
  /// A stream ended: its trailer arrived, another stream's header arrived, or Finish().
  virtual void OnStreamEnd(const Verdict&) {}
  /// Something odd in the input, for the log; `value` is the address, sequence number or
  /// field it concerns. Never changes what is emitted.
  virtual void OnDiagnostic(std::string_view /*what*/, uint64_t /*value*/) {}
};

class Decoder {
 public:
  explicit Decoder(DecoderEvents& events);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  /// Decodes `bytes`, which follow everything fed before. Bytes that may begin a record
  /// are held until the rest arrives. Must not be called from an event.
  void Feed(std::span<const uint8_t> bytes);

  /// Starts a stream with `header` before any input, as if its header record had come
  /// first (emits OnHeader). For a second pass over input whose first intact header copy
  /// came after some of its frames (docs/stream-format.md §4.6): those frames are then
  /// placed in the header's ranges. Must not be called from an event.
  void Seed(DecodedHeader header);

  /// The input has ended: decodes what is held, reports pages that never arrived as
  /// kTruncated when there was no trailer, emits OnStreamEnd for an open stream, and
  /// returns the verdict of the last stream (all false when none was seen).
  Verdict Finish();

  /// The current (or last) stream's verdict so far.
  const Verdict& verdict() const { return verdict_; }
  /// Bytes passed to OnText, and bytes dropped as parts of damaged records.
  uint64_t text_bytes() const { return text_bytes_; }
  uint64_t garbage_bytes() const { return garbage_bytes_; }
  /// During an event: the input offset (bytes fed before it) of the record it comes from.
  uint64_t record_offset() const { return record_offset_; }
  /// Header records whose record header verified but whose payload did not (damaged
  /// copies), over all input so far.
  uint64_t damaged_headers() const { return damaged_headers_; }

 private:
  size_t Scan(std::span<const uint8_t> d, bool final);
  void EmitText(std::span<const uint8_t> d, size_t from, size_t to);
  void Dispatch(const RecordHeader& h, std::span<const uint8_t> payload, uint32_t record_crc);
  void OnHeaderRecord(const RecordHeader& h, std::span<const uint8_t> payload);
  void OnFrame(const RecordHeader& h, std::span<const uint8_t> payload, uint32_t record_crc);
  void OnCorruptFrame(const RecordHeader& h);
  void OnTrailerRecord(const RecordHeader& h, std::span<const uint8_t> payload);

  void StartStream(DecodedHeader header);
  void StartHeaderless(const RecordHeader& h);
  void AdoptHeader(DecodedHeader header);
  void EndStream();
  void Conclude();
  void Inconsistent(std::string_view what, uint64_t value);

  bool Locate(uint64_t phys, uint64_t count, uint64_t* ordinal) const;
  bool PositionFrame(const RecordHeader& h, uint64_t* ordinal);
  void ReportLost(uint64_t from, uint64_t to, LossReason reason);
  void EmitPage(uint64_t phys, std::span<const uint8_t> data);

  DecoderEvents& events_;
  std::vector<uint8_t> buf_;   // held input, starting at absolute offset base_
  uint64_t base_ = 0;          // absolute offset of the data being scanned
  uint64_t suppress_until_ = 0;// absolute offset: bytes before it are not text
  uint64_t text_bytes_ = 0;
  uint64_t garbage_bytes_ = 0;
  uint64_t record_offset_ = 0;
  uint64_t damaged_headers_ = 0;

  // The current stream.
  bool active_ = false;      // a header or a frame has named a stream
  bool have_header_ = false;
  bool closed_ = false;      // its trailer arrived
  bool ended_ = false;       // OnStreamEnd was emitted
  bool inconsistent_ = false;
  DecodedHeader header_;
  uint32_t tag_ = 0;
  uint8_t page_shift_ = 0;
  uint32_t page_size_ = 0;
  std::vector<uint64_t> range_first_;  // ordinal of each range's first page
  uint64_t total_ = 0;                 // pages in all ranges
  bool have_cursor_ = false;
  uint64_t cursor_ = 0;                // ordinal of the next page expected
  uint64_t next_seq_ = 0;
  bool have_last_ = false;
  uint64_t last_seq_ = 0;
  uint32_t last_crc_ = 0;
  Xxh64 digest_;
  Verdict verdict_;
  std::vector<uint8_t> page_buf_;
};

}  // namespace salvage::stream
