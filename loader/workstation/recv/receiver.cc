#include "workstation/recv/receiver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include <salvage/elfcore/elfcore.h>

#include "common/exit-codes.h"
#include "common/text.h"

namespace salvage::loader {
namespace {

uint64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

bool WriteAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

/// Most missing ranges listed one by one; the rest are counted.
constexpr size_t kMissingShown = 32;

}  // namespace

Expected<int> CreateStreamFile(const std::string& path, bool force) {
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) {
      return Fail(path + " is a symbolic link: salvage does not write a dump through a link; give another path");
    }
    if (!force) {
      return Fail(path + " exists; use --force to replace it or choose another name");
    }
    if (!S_ISREG(st.st_mode)) {
      return Fail(path + " exists and is not a regular file; give another path");
    }
    // Replaced by a new file (never truncated in place: another name may link to it).
    if (unlink(path.c_str()) != 0) {
      return Fail("cannot replace " + path + ": " + std::strerror(errno));
    }
  }
  // O_EXCL: a link or file that appears meanwhile is not followed or reused.
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int e = errno;
    return Fail("cannot create " + path + ": " + std::strerror(e) + (e == EEXIST ? " (it appeared meanwhile)" : ""));
  }
  return fd;
}

VmcoreLayout LayoutFor(const stream::DecodedHeader& header, uint64_t* verdict_note_offset) {
  VmcoreLayout layout;
  layout.elf_class = header.elf_class == stream::kElfClass32 ? 32 : 64;
  layout.machine = header.e_machine;
  layout.page_size = header.page_size;
  for (const auto& buffer : header.notes) {
    // Only whole notes: a PT_NOTE buffer ends with an empty note or padding.
    (void)elfcore::ForEachNote(std::span<const uint8_t>(buffer), [&](std::string_view name, uint32_t type,
                                                                     std::span<const uint8_t> desc) {
      AppendElfNote(&layout.notes, name, type, desc);
    });
  }
  *verdict_note_offset = layout.notes.size() + 12 + 8;  // header + "SALVAGE\0"
  std::vector<uint8_t> blank(kVerdictNoteDesc, 0);
  AppendElfNote(&layout.notes, "SALVAGE", kVerdictNoteType, blank);
  for (const PhysRange& r : header.ranges) layout.ranges.push_back({r.base, 0, r.size});
  for (const stream::LoadSegment& s : header.segments) {
    // 32-bit highmem has no kernel mapping (vaddr ~0): keep the bytes, no vaddr.
    const bool no_vaddr = s.vaddr == ~uint64_t{0} || (layout.elf_class == 32 && s.vaddr == 0xffffffffu);
    layout.segments.push_back({s.paddr.value, no_vaddr ? 0 : s.vaddr, s.size});
  }
  return layout;
}

std::string VerdictText(const stream::Verdict& v, const std::vector<stream::LostPages>& lost) {
  std::string t = std::string("complete=") + (v.complete ? "yes" : "no") + " intact=" + (v.intact ? "yes" : "no") +
                  " pages=" + std::to_string(v.received.pages) + " lost=" + std::to_string(v.lost_pages) +
                  " skipped=" + std::to_string(v.received.skipped_pages) +
                  " not-sent=" + std::to_string(v.not_sent_pages) + " stream=" + Hex(v.stream_id);
  for (uint32_t bit = 1; bit != 0 && bit <= stream::kProblemInconsistent; bit <<= 1) {
    if (v.problems & bit) t += std::string(" problem=") + stream::ProblemName(static_cast<stream::Problem>(bit));
  }
  size_t shown = 0;
  for (const auto& l : lost) {
    if (++shown > 8) {
      t += " ...";
      break;
    }
    t += " lost:" + Hex(l.phys) + "+" + std::to_string(l.pages) + "p(" + stream::LossReasonName(l.reason) + ")";
  }
  if (t.size() > kVerdictNoteDesc - 1) t.resize(kVerdictNoteDesc - 1);
  return t;
}

Receiver::Receiver(ReceiveOptions options) : options_(std::move(options)) {
  tty_ = isatty(2) != 0;
  escape_ = options_.escape_text == TextEscape::kAlways || (options_.escape_text == TextEscape::kWhenTerminal && tty_);
}

Receiver::~Receiver() {
  if (fd_ >= 0) close(fd_);
  // Left by an early exit (an exception): what was received is kept.
  KeepOrDropStreamCopy(!succeeded_ && (records_seen_ || header_seen_));
  if (save_fd_ >= 0) close(save_fd_);
  if (!temp_path_.empty()) unlink(temp_path_.c_str());
}

bool Receiver::OpenStreamCopy() {
  if (!options_.save_stream.empty() || !options_.keep_stream_on_failure || input_.seekable_file) return true;
  const size_t slash = options_.output.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : options_.output.substr(0, slash);
  const std::string base = slash == std::string::npos ? options_.output : options_.output.substr(slash + 1);
  std::string tmpl = dir + "/." + base + ".stream-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back(0);
  save_fd_ = mkostemp(buf.data(), O_CLOEXEC);  // mode 0600, O_EXCL
  if (save_fd_ < 0) {
    std::fprintf(stderr, "salvage %s: error: cannot create a temporary file in %s for the raw stream: %s\n",
                 options_.tool, dir.c_str(), std::strerror(errno));
    return false;
  }
  stream_copy_path_ = buf.data();
  return true;
}

void Receiver::KeepOrDropStreamCopy(bool keep) {
  if (stream_copy_path_.empty()) return;
  if (save_fd_ >= 0) {
    if (keep) (void)fsync(save_fd_);
    close(save_fd_);
    save_fd_ = -1;
  }
  const std::string temp = stream_copy_path_;
  stream_copy_path_.clear();
  if (!keep) {
    unlink(temp.c_str());
    return;
  }
  const std::string kept = options_.output + ".stream";
  std::string where = temp;
  if (renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, kept.c_str(), RENAME_NOREPLACE) == 0) where = kept;
  std::fprintf(stderr,
               "salvage %s: the raw stream received (%s) is kept in %s: 'salvage inspect %s' shows it, "
               "'salvage convert -o VMCORE %s' tries again\n",
               options_.tool, Mib(stream_bytes_).c_str(), where.c_str(), where.c_str(), where.c_str());
}

bool Receiver::Fail(const std::string& message) {
  ClearProgress();
  std::fprintf(stderr, "salvage %s: error: %s\n", options_.tool, message.c_str());
  if (!failed_ && save_fd_ >= 0 && header_seen_ && !stream_ended_) {
    std::fprintf(stderr, "salvage %s: no vmcore will be written; still receiving, to keep the raw stream whole\n",
                 options_.tool);
  }
  failed_ = true;
  // Nothing that looks like a dump stays behind.
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (!temp_path_.empty()) unlink(temp_path_.c_str());
  temp_path_.clear();
  return false;
}

void Receiver::ClearProgress() {
  if (progress_shown_) {
    std::fprintf(stderr, "\r\033[K");
    progress_shown_ = false;
  }
}

void Receiver::Progress(bool force) {
  if (!options_.progress || !tty_ || !header_seen_) return;
  const uint64_t now = NowNs();
  if (!force && now - last_progress_ns_ < 200000000ull) return;
  last_progress_ns_ = now;
  const double secs = (now - started_ns_) / 1e9;
  const double rate = secs > 0 ? stream_bytes_ / secs : 0;
  const uint64_t total = header_.total_pages ? header_.total_pages : 1;
  const double done = static_cast<double>(pages_) / total;
  char eta[32] = "--:--";
  if (done > 0.001 && secs > 0.5) {
    const uint64_t left = static_cast<uint64_t>(secs / done - secs);
    std::snprintf(eta, sizeof(eta), "%llu:%02llu", static_cast<unsigned long long>(left / 60),
                  static_cast<unsigned long long>(left % 60));
  }
  std::fprintf(stderr, "\r\033[Ksalvage %s: %5.1f%%  %llu/%llu pages  %s received  %.1f KiB/s  ETA %s", options_.tool,
               100 * done, static_cast<unsigned long long>(pages_), static_cast<unsigned long long>(header_.total_pages),
               Mib(stream_bytes_).c_str(), rate / 1024, eta);
  progress_shown_ = true;
}

void Receiver::OnText(std::span<const uint8_t> text) {
  if (!options_.echo_text || replaying_) return;
  ClearProgress();
  if (escape_) {
    // The bytes are the board's (or anyone's on the line): on a terminal, no escape
    // sequence of theirs may reach it.
    std::string shown;
    escaper_.Escape(text, &shown);
    std::fwrite(shown.data(), 1, shown.size(), stderr);
  } else {
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  std::fflush(stderr);
}

void Receiver::OnDiagnostic(std::string_view what, uint64_t /*value*/) {
  records_seen_ = true;
  if (what.starts_with("header:") && what != "header: repeated, ignored") header_rejected_ = std::string(what);
}

void Receiver::OnHeader(const stream::DecodedHeader& header) {
  records_seen_ = true;
  if (DeferHeader(header)) return;      // frames came first: decode again (receiver-header.cc)
  if (header_seen_ || failed_) return;  // a second stream: only the first is written
  header_seen_ = true;
  HeaderAccepted();
  header_ = header;
  started_ns_ = NowNs();
  ClearProgress();
  std::fprintf(stderr, "salvage %s: stream %s: %zu ranges, %llu pages of %u bytes, %zu note buffers; options \"%s\"\n",
               options_.tool, Hex(header.stream_id).c_str(), header.ranges.size(),
               static_cast<unsigned long long>(header.total_pages), header.page_size, header.notes.size(),
               EscapeForTerminal(header.options).c_str());
  // Temporary file beside the output, mode 0600 (a dump holds secrets), renamed at the end.
  std::string path, dir;
  fd_ = CreateBesideOutput(".partial-", &path, &dir);
  if (fd_ < 0) {
    Fail("cannot create a temporary file in " + dir + ": " + std::strerror(errno));
    return;
  }
  fchmod(fd_, 0600);
  temp_path_ = path;
  if (auto begun = writer_.Begin(fd_, LayoutFor(header, &verdict_note_offset_)); !begun.ok()) Fail(begun.error());
}

void Receiver::OnPage(uint64_t phys, std::span<const uint8_t> data) {
  records_seen_ = true;
  // After the first stream's end, the rest of the chunk may hold another stream:
  // only the first one is written.
  if (HeaderlessEvent()) {
    if (!reseed_pending_) NoteHeaderlessPage(phys, data.size());
    return;
  }
  if (failed_ || fd_ < 0 || stream_ended_) return;
  if (auto written = writer_.WritePage(phys, data.data()); !written.ok()) {
    Fail(written.error());
    return;
  }
  ++pages_;
  Progress(false);
}

void Receiver::OnLost(const stream::LostPages& lost) {
  records_seen_ = true;
  if (HeaderlessEvent()) {
    if (!reseed_pending_) headerless_lost_.push_back(lost);
    return;
  }
  if (stream_ended_) return;
  lost_.push_back(lost);
  ClearProgress();
  std::fprintf(stderr, "salvage %s: lost %llu pages at %s (%s)\n", options_.tool,
               static_cast<unsigned long long>(lost.pages), Hex(lost.phys).c_str(), stream::LossReasonName(lost.reason));
}

void Receiver::OnStreamEnd(const stream::Verdict& verdict) {
  if (HeaderlessStreamEnd(verdict)) return;
  if (stream_ended_) return;
  stream_ended_ = true;
  verdict_ = verdict;
}

int Receiver::Start(const StreamInput& input) {
  input_ = input;
  if (!options_.force && access(options_.output.c_str(), F_OK) == 0) {
    std::fprintf(stderr, "salvage %s: error: %s exists; use --force to replace it or -o to choose another name\n",
                 options_.tool, options_.output.c_str());
    return kExitUsage;
  }
  if (!options_.save_stream.empty()) {
    auto created = CreateStreamFile(options_.save_stream, options_.force);
    if (!created.ok()) {
      std::fprintf(stderr, "salvage %s: error: --save-stream: %s\n", options_.tool, created.error().c_str());
      return kExitFailure;
    }
    save_fd_ = *created;
  } else if (!OpenStreamCopy()) {
    return kExitFailure;
  }
  stream_origin_ = !options_.stream_origin.empty() ? options_.stream_origin
                   : input_.seekable_file          ? input_.description
                                                   : std::string();
  std::fprintf(stderr, "salvage %s: reading %s%s\n", options_.tool, input_.description.c_str(),
               input_.seekable_file ? "" : "; waiting for a dump stream (console text is shown as it comes)");
  (void)OpenSpool();
  input_decoder_ = std::make_unique<stream::Decoder>(*this);
  decoder_ = input_decoder_.get();
  return kExitOk;
}

// After a failure (the vmcore cannot be written), the raw stream is still saved to its
// end when it is being kept: a serial line does not send it twice.
bool Receiver::WantsStream() const { return !stream_ended_ && (!failed_ || (save_fd_ >= 0 && header_seen_)); }

bool Receiver::Feed(std::span<const uint8_t> bytes) {
  if (stream_ended_) {
    // salvage prints a summary after the trailer: console text only (the stream is
    // closed), from a line; a file ends with its stream.
    if (failed_ || input_.seekable_file) return false;
    if (save_fd_ >= 0) (void)WriteAll(save_fd_, bytes.data(), bytes.size());
    input_decoder_->Feed(bytes);
    return true;
  }
  if (!WantsStream()) return false;
  stream_bytes_ += bytes.size();
  if (save_fd_ >= 0 && !WriteAll(save_fd_, bytes.data(), bytes.size())) {
    Fail("writing the raw stream to " + (stream_copy_path_.empty() ? options_.save_stream : stream_copy_path_) +
         ": " + std::strerror(errno));
    return false;
  }
  Spool(bytes.data(), bytes.size());
  input_decoder_->Feed(bytes);
  if (reseed_pending_) input_decoder_ = Reseed();
  return WantsStream() || (stream_ended_ && !failed_ && !input_.seekable_file);
}

int Receiver::Run(Source& source) {
  if (const int rc = Start({source.Describe(), source.IsSeekableFile()}); rc != kExitOk) return rc;
  std::vector<uint8_t> buf(1 << 16);
  uint64_t last_data = NowNs();
  bool timed_out = false;
  while (WantsStream()) {
    const Expected<Source::Got> got = source.Read(buf.data(), buf.size(), 250);
    if (!got.ok()) {
      Fail(got.error());
      break;
    }
    if (got->end) break;
    if (got->timed_out()) {
      if (header_seen_ && options_.idle_timeout_s > 0 && NowNs() - last_data > options_.idle_timeout_s * 1000000000ull) {
        timed_out = true;
        break;
      }
      Progress(true);
      continue;
    }
    last_data = NowNs();
    if (!Feed(std::span<const uint8_t>(buf.data(), got->count))) break;
  }
  if (stream_ended_ && !failed_ && !source.IsSeekableFile()) {
    // The console text after the trailer, until the line goes quiet for a moment.
    ClearProgress();
    const uint64_t until = NowNs() + 3000000000ull;
    while (NowNs() < until) {
      const Expected<Source::Got> got = source.Read(buf.data(), buf.size(), 500);
      if (!got.ok() || got->count == 0 || !Feed(std::span<const uint8_t>(buf.data(), got->count))) break;
    }
  }
  return Finish(timed_out);
}

int Receiver::Finish(bool idle_timed_out) {
  if (input_decoder_ == nullptr) return kExitFailure;  // not started
  if (!stream_ended_) verdict_ = input_decoder_->Finish();
  if (reseed_pending_) {
    input_decoder_ = Reseed();
    if (!stream_ended_) verdict_ = input_decoder_->Finish();
  }
  ClearProgress();
  if (escape_) {
    std::string rest;
    escaper_.Flush(&rest);
    std::fwrite(rest.data(), 1, rest.size(), stderr);
  }
  if (idle_timed_out) {
    std::fprintf(stderr, "salvage %s: no data for %d s; ending (the dump is incomplete)\n", options_.tool,
                 options_.idle_timeout_s);
  }
  const int rc = Conclude();
  succeeded_ = rc == kExitOk || rc == kExitIncomplete;
  if (!succeeded_ && (records_seen_ || header_seen_)) {
    // Nothing received is thrown away: say where the stream is.
    if (!options_.save_stream.empty()) {
      std::fprintf(stderr, "salvage %s: the raw stream received is in %s: 'salvage convert -o VMCORE %s' tries again\n",
                   options_.tool, options_.save_stream.c_str(), options_.save_stream.c_str());
    } else if (!stream_origin_.empty()) {
      std::fprintf(stderr, "salvage %s: the stream is unchanged in %s\n", options_.tool, stream_origin_.c_str());
    }
  }
  KeepOrDropStreamCopy(!succeeded_ && (records_seen_ || header_seen_));
  return rc;
}

int Receiver::Conclude() {
  if (failed_) return kExitFailure;
  if (!header_seen_) {
    if (!header_rejected_.empty()) {
      std::fprintf(stderr, "salvage %s: error: the stream's header was refused (%s)%s\n", options_.tool,
                   header_rejected_.c_str(), headerless_pages_ > 0 ? "" : "; nothing written");
    }
    if (headerless_pages_ > 0) return ConcludeHeaderless();
    if (header_rejected_.empty())
      std::fprintf(stderr, "salvage %s: error: %s; nothing written\n", options_.tool, NothingFound().c_str());
    return kExitFailure;
  }
  const std::string verdict = VerdictText(verdict_, lost_);
  std::vector<uint8_t> text(kVerdictNoteDesc, 0);
  std::memcpy(text.data(), verdict.data(), verdict.size());
  const bool noted = pwrite(fd_, text.data(), text.size(), static_cast<off_t>(VmcoreWriter::NotesOffsetFor(header_.elf_class == stream::kElfClass32 ? 32 : 64) + verdict_note_offset_)) ==
                     static_cast<ssize_t>(text.size());
  const Expected<void> finished = noted ? writer_.Finish() : Expected<void>();
  if (!noted || !finished.ok() || fsync(fd_) != 0) {
    Fail(finished.ok() ? std::string("writing the vmcore: ") + std::strerror(errno) : finished.error());
    return kExitFailure;
  }
  close(fd_);
  fd_ = -1;
  int rc;
  if (options_.force) {
    rc = rename(temp_path_.c_str(), options_.output.c_str());
  } else {
    rc = renameat2(AT_FDCWD, temp_path_.c_str(), AT_FDCWD, options_.output.c_str(), RENAME_NOREPLACE);
  }
  if (rc != 0) {
    const int e = errno;
    const std::string stays = temp_path_;
    temp_path_.clear();  // a whole vmcore: not removed
    Fail("cannot move the vmcore to " + options_.output + ": " + std::strerror(e) +
         (e == EEXIST ? " (it appeared meanwhile; use --force or -o)" : "") + "; it stays at " + stays);
    return kExitFailure;
  }
  temp_path_.clear();
  if (!writer_.Warning().empty()) std::fprintf(stderr, "salvage %s: warning: %s\n", options_.tool, writer_.Warning().c_str());
  if (writer_.ProgramHeadersAtEnd()) {
    std::fprintf(stderr,
                 "salvage %s: note: %llu program headers (a PT_LOAD per piece received) follow the data%s; gdb and "
                 "readelf read them where e_phoff says, tools that expect them after the ELF header (crash) may not\n",
                 options_.tool, static_cast<unsigned long long>(writer_.ProgramHeaders()),
                 writer_.ProgramHeaders() >= VmcoreWriter::kPnXnum ? " (ELF extended numbering, PN_XNUM)" : "");
  }

  const double secs = (NowNs() - started_ns_) / 1e9;
  const auto& r = verdict_.received;
  std::fprintf(stderr, "salvage %s: wrote %s: %llu pages (%s) in %.1f s; %llu zero, %llu lz4, %llu raw; %s of stream\n",
               options_.tool, options_.output.c_str(), static_cast<unsigned long long>(r.pages),
               Mib(r.pages * header_.page_size).c_str(), secs, static_cast<unsigned long long>(r.zero_pages),
               static_cast<unsigned long long>(r.lz4_pages), static_cast<unsigned long long>(r.raw_pages),
               Mib(stream_bytes_).c_str());
  if (verdict_.complete && verdict_.intact) {
    std::fprintf(stderr, "salvage %s: the dump is complete and intact (digest verified)\n", options_.tool);
    return kExitOk;
  }
  std::fprintf(stderr, "salvage %s: the dump is INCOMPLETE: %s\n", options_.tool, verdict.c_str());
  const auto missing = writer_.Missing();
  for (size_t i = 0; i < missing.size() && i < kMissingShown; ++i) {
    const auto& m = missing[i];
    std::fprintf(stderr, "salvage %s:   missing %s-%s (%llu pages)\n", options_.tool, Hex(m.first).c_str(),
                 Hex(m.first + m.second - 1).c_str(), static_cast<unsigned long long>(m.second / header_.page_size));
  }
  if (missing.size() > kMissingShown) {
    std::fprintf(stderr, "salvage %s:   ... and %zu more missing ranges ('salvage inspect %s' lists what is there)\n",
                 options_.tool, missing.size() - kMissingShown, options_.output.c_str());
  }
  return kExitIncomplete;
}

}  // namespace salvage::loader
