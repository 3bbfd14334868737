// The receiving end of a dump stream, shared by `salvage recv` and `salvage convert`:
// decodes, echoes console text, shows progress, and writes the vmcore atomically.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <salvage/stream/decoder.h>

#include "workstation/convert/vmcore-writer.h"
#include "common/exit-codes.h"
#include "common/expected.h"
#include "workstation/recv/source.h"
#include "workstation/recv/terminal-text.h"

namespace salvage::loader {

/// When console text is shown escaped (TerminalEscaper).
enum class TextEscape : uint8_t { kWhenTerminal, kAlways, kNever };

struct ReceiveOptions {
  std::string output;          ///< The vmcore to write.
  bool force = false;          ///< Replace an existing output (and an existing save_stream file).
  bool progress = true;        ///< Progress line on stderr (only when it is a terminal).
  bool echo_text = true;       ///< Console text from the line to stderr.
  TextEscape escape_text = TextEscape::kWhenTerminal;  ///< Console text with control bytes escaped.
  int idle_timeout_s = 30;     ///< After the stream started: give up after this long without data (0: never).
  std::string save_stream;     ///< Also keep the raw bytes received (for convert/inspect later).
  /// When the source is not a file (a serial line, TCP, a pipe) and save_stream is empty,
  /// the raw bytes also go to a temporary file beside the output; it is removed when a
  /// vmcore was written and kept as OUTPUT.stream when the conversion failed, so that
  /// nothing received is lost.
  bool keep_stream_on_failure = true;
  /// Where the stream stays whatever happens (extract: the disk), for the failure message;
  /// empty: the source itself when it is a file.
  std::string stream_origin;
  const char* tool = "recv";   ///< Prefix of messages.
};

/// Creates `path` for the raw stream with mode 0600 (a dump holds secrets), never through a
/// symbolic link and never into anything but a new regular file: an existing file is
/// refused unless `force`, and then only a regular file is replaced. Returns the fd, or
/// a message saying what to do.
Expected<int> CreateStreamFile(const std::string& path, bool force);

// Exit codes (kExitOk, kExitFailure, kExitUsage, kExitIncomplete): common/exit-codes.h.

/// What the Receiver is fed from, for its messages and for what it keeps.
struct StreamInput {
  std::string description;    ///< "tcp 127.0.0.1:4444", a file name: "reading <description>".
  /// A regular file: the stream stays there (no copy is kept, the failure message
  /// names it), and nothing after the trailer is read. Otherwise (a line, a pipe, a disk
  /// area read for extract) console text after the trailer is still taken.
  bool seekable_file = false;
};

/// Two ways to use it: Run(source) reads a Source to its end; or Start, then Feed with
/// the bytes as they come (extract pushes the bytes it reads from a disk area), then
/// Finish.
class Receiver : public stream::DecoderEvents {
 public:
  explicit Receiver(ReceiveOptions options);
  ~Receiver() override;
  /// Reads `source` until the stream's trailer, the end of input, or the idle timeout;
  /// writes the vmcore; prints the summary. Returns one of the kExit* codes.
  int Run(Source& source);

  /// Checks the output, creates the raw-stream copy and the spool, says what is read.
  /// Returns kExitOk to go on with Feed, or the exit code to return (nothing was read).
  int Start(const StreamInput& input);
  /// Decodes the next bytes of the input (after Start). Returns false when no more
  /// input is wanted: the vmcore cannot be written (and no raw copy is being kept), or
  /// the stream ended and the input is a file. After the stream's trailer, more bytes of
  /// a line are console text.
  bool Feed(std::span<const uint8_t> bytes);
  /// True once the stream's trailer was decoded (what follows is console text).
  bool StreamEnded() const { return stream_ended_; }
  /// The input ended (or stopped: `idle_timed_out`): writes the vmcore, prints the
  /// summary, keeps or drops the raw copy. Returns one of the kExit* codes.
  int Finish(bool idle_timed_out = false);

  void OnText(std::span<const uint8_t> text) override;
  void OnHeader(const stream::DecodedHeader& header) override;
  void OnPage(uint64_t phys, std::span<const uint8_t> data) override;
  void OnLost(const stream::LostPages& lost) override;
  void OnStreamEnd(const stream::Verdict& verdict) override;
  void OnDiagnostic(std::string_view what, uint64_t value) override;

 private:
  void Progress(bool force);
  void ClearProgress();
  bool Fail(const std::string& message);
  int Conclude();
  bool OpenStreamCopy();
  bool WantsStream() const;
  void KeepOrDropStreamCopy(bool keep);

  // A header that arrives only after some of its stream's frames (its first copy was
  // damaged: docs/stream-format.md §4.6). Until a header is known the raw input is kept
  // in an unlinked spool file (memory stays bounded); then it is decoded again from its
  // start by a decoder seeded with the header. Without any intact header the verified
  // pages are written as a vmcore without notes. See receiver-header.cc.
  bool OpenSpool();
  // A new file "DIR/.BASE<suffix>XXXXXX" beside the output (mkstemp: mode 0600, O_EXCL);
  // its path in *path and its directory in *dir. -1 with errno on failure.
  int CreateBesideOutput(const char* suffix, std::string* path, std::string* dir) const;
  void Spool(const uint8_t* data, size_t n);
  void CloseSpool();
  bool ReplaySpool(stream::Decoder& decoder);
  std::unique_ptr<stream::Decoder> Reseed();
  bool DeferHeader(const stream::DecodedHeader& header);
  void HeaderAccepted();
  bool HeaderlessEvent();
  bool HeaderlessStreamEnd(const stream::Verdict& verdict);
  std::string NothingFound() const;
  void NoteHeaderlessPage(uint64_t phys, size_t page_size);
  int ConcludeHeaderless();

  ReceiveOptions options_;
  bool header_seen_ = false;
  bool stream_ended_ = false;
  bool failed_ = false;
  bool progress_shown_ = false;
  bool tty_ = false;
  stream::DecodedHeader header_;
  stream::Verdict verdict_;
  std::vector<stream::LostPages> lost_;
  VmcoreWriter writer_;
  int fd_ = -1;
  int save_fd_ = -1;
  std::string temp_path_;
  std::string stream_copy_path_;  // the automatic copy of the raw stream (temporary name)
  std::string stream_origin_;     // where the stream stays anyway (a file source, a disk)
  bool succeeded_ = false;        // a vmcore was written
  bool records_seen_ = false;     // any verified record (a stream was there)
  std::string header_rejected_;   // why the last header record was refused
  bool escape_ = false;
  TerminalEscaper escaper_;
  uint64_t stream_bytes_ = 0;
  uint64_t pages_ = 0;
  uint64_t started_ns_ = 0;
  uint64_t last_progress_ns_ = 0;
  uint64_t verdict_note_offset_ = 0;

  StreamInput input_;
  std::unique_ptr<stream::Decoder> input_decoder_;  // the decoder Feed uses (replaced by Reseed)

  // Header copies and header-less streams (receiver-header.cc).
  stream::Decoder* decoder_ = nullptr;  // the decoder being fed, for record offsets
  int spool_fd_ = -1;
  uint64_t spool_bytes_ = 0;
  bool replaying_ = false;              // feeding the spool again: no console echo
  bool reseed_pending_ = false;         // a header came after frames: decode again
  stream::DecodedHeader reseed_header_;
  uint64_t reseed_offset_ = 0;
  uint64_t reseed_damaged_ = 0;
  uint64_t headerless_events_ = 0;      // pages/losses of a stream whose header is not known
  uint32_t headerless_tag_ = 0;
  uint32_t headerless_page_size_ = 0;
  uint64_t headerless_pages_ = 0;
  bool headerless_writing_ = false;     // second pass: write the pages
  bool headerless_ended_ = false;
  stream::Verdict headerless_verdict_;
  std::vector<std::pair<uint64_t, uint64_t>> headerless_runs_;  // [begin, end) of verified pages
  std::vector<stream::LostPages> headerless_lost_;
};

/// The layout of the vmcore for a stream header: ELF class, machine, notes (only real
/// notes of each PT_NOTE buffer, as /proc/vmcore merges them, plus room for salvage's
/// own "SALVAGE" verdict note), ranges and segments.
VmcoreLayout LayoutFor(const stream::DecodedHeader& header, uint64_t* verdict_note_offset);

/// The text of the SALVAGE note: "complete=yes intact=yes pages=N lost=N ...".
std::string VerdictText(const stream::Verdict& v, const std::vector<stream::LostPages>& lost);

inline constexpr uint32_t kVerdictNoteType = 0x5341;   ///< In a note named "SALVAGE".
inline constexpr size_t kVerdictNoteDesc = 512;        ///< Bytes reserved for its text.

}  // namespace salvage::loader
