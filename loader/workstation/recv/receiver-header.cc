// The Receiver's side of the repeated stream header (docs/stream-format.md §4.6, §8.5):
// a header whose first copy was damaged, found again after some of its frames, and a
// stream with no intact header at all. Kept apart from receiver.cc, which handles the
// ordinary case.
//
// Until a header is known the raw input is kept in an unlinked spool file beside the
// output, so memory stays bounded whatever the line brings. When a header comes first
// (the usual case) the spool is dropped at once. When frames came first, the spool is
// decoded again from its start by a decoder seeded with the header, so those frames are
// placed in the header's ranges as if it had come first; the live input then continues
// into that decoder. When no intact header ever arrives, the spool is decoded a second
// time without one and the verified pages are written as a vmcore without notes whose
// PT_LOADs cover exactly the pages received.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>

#include "workstation/recv/receiver.h"

#include "common/text.h"

namespace salvage::loader {

int Receiver::CreateBesideOutput(const char* suffix, std::string* path, std::string* dir) const {
  const size_t slash = options_.output.rfind('/');
  *dir = slash == std::string::npos ? "." : options_.output.substr(0, slash);
  const std::string base = slash == std::string::npos ? options_.output : options_.output.substr(slash + 1);
  std::string tmpl = *dir + "/." + base + suffix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back(0);
  const int fd = mkstemp(buf.data());
  if (fd >= 0) *path = buf.data();
  return fd;
}

bool Receiver::OpenSpool() {
  std::string path, dir;
  spool_fd_ = CreateBesideOutput(".stream-", &path, &dir);
  if (spool_fd_ < 0) {
    std::fprintf(stderr,
                 "salvage %s: warning: cannot create a spool file in %s (%s): frames that arrive before an intact "
                 "stream header cannot be kept\n",
                 options_.tool, dir.c_str(), std::strerror(errno));
    return false;
  }
  unlink(path.c_str());  // anonymous: gone with the descriptor
  spool_bytes_ = 0;
  return true;
}

void Receiver::Spool(const uint8_t* data, size_t n) {
  if (spool_fd_ < 0) return;
  while (n > 0) {
    const ssize_t w = write(spool_fd_, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      std::fprintf(stderr, "salvage %s: warning: the spool file stopped taking data (%s): frames before an intact "
                           "stream header may be lost\n",
                   options_.tool, std::strerror(errno));
      CloseSpool();
      return;
    }
    data += w;
    n -= static_cast<size_t>(w);
    spool_bytes_ += static_cast<uint64_t>(w);
  }
}

void Receiver::CloseSpool() {
  if (spool_fd_ >= 0) close(spool_fd_);
  spool_fd_ = -1;
}

bool Receiver::ReplaySpool(stream::Decoder& decoder) {
  std::vector<uint8_t> buf(1 << 16);
  for (uint64_t off = 0; off < spool_bytes_ && !failed_;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), spool_bytes_ - off));
    const ssize_t n = pread(spool_fd_, buf.data(), want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fail(std::string("reading the spool file again: ") + (n < 0 ? std::strerror(errno) : "end of file"));
    decoder.Feed(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    off += static_cast<uint64_t>(n);
  }
  return !failed_;
}

bool Receiver::DeferHeader(const stream::DecodedHeader& header) {
  if (reseed_pending_) return true;
  if (header_seen_ || failed_ || replaying_ || headerless_writing_ || headerless_events_ == 0) return false;
  if (headerless_tag_ == static_cast<uint32_t>(header.stream_id)) {
    // A copy of the header of the stream whose frames came first: decode it all again.
    reseed_pending_ = true;
    reseed_header_ = header;
    reseed_offset_ = decoder_ != nullptr ? decoder_->record_offset() : 0;
    reseed_damaged_ = decoder_ != nullptr ? decoder_->damaged_headers() : 0;
    return true;
  }
  // Another stream begins: the frames before it were not its own.
  headerless_events_ = 0;
  headerless_pages_ = 0;
  headerless_runs_.clear();
  headerless_lost_.clear();
  headerless_ended_ = false;
  return false;
}

void Receiver::HeaderAccepted() {
  if (replaying_ || headerless_writing_) return;
  // The header came before its frames: nothing to decode again.
  CloseSpool();
  if (decoder_ != nullptr && decoder_->damaged_headers() != 0) {
    ClearProgress();
    std::fprintf(stderr, "salvage %s: the stream header was damaged; used the copy at offset %llu\n", options_.tool,
                 static_cast<unsigned long long>(decoder_->record_offset()));
  }
}

bool Receiver::HeaderlessStreamEnd(const stream::Verdict& verdict) {
  if (reseed_pending_) return true;
  if (header_seen_) return false;
  // A stream without a header ended: by its trailer (then the input is done), or by
  // another stream's header (which DeferHeader sorts out), or at the end of input.
  headerless_ended_ = true;
  headerless_verdict_ = verdict;
  if (verdict.trailer_seen) stream_ended_ = true;
  return true;
}

std::string Receiver::NothingFound() const {
  const uint64_t text = decoder_ != nullptr ? decoder_->text_bytes() : stream_bytes_;
  if (headerless_events_ != 0) {
    return "no intact stream header and no page that verified (" + Mib(stream_bytes_) + " read)";
  }
  return "no dump stream found in the input (" + Mib(text) + " of console text in " + Mib(stream_bytes_) + " read)";
}

bool Receiver::HeaderlessEvent() {
  if (reseed_pending_) return true;  // the decoder in use is about to be replaced
  if (header_seen_) return false;
  if (headerless_events_++ == 0 && decoder_ != nullptr) {
    headerless_tag_ = static_cast<uint32_t>(decoder_->verdict().stream_id);
  }
  return true;
}

void Receiver::NoteHeaderlessPage(uint64_t phys, size_t page_size) {
  headerless_page_size_ = static_cast<uint32_t>(page_size);
  ++headerless_pages_;
  if (!headerless_runs_.empty() && headerless_runs_.back().second == phys) {
    headerless_runs_.back().second += page_size;
  } else {
    headerless_runs_.emplace_back(phys, phys + page_size);
  }
}

std::unique_ptr<stream::Decoder> Receiver::Reseed() {
  reseed_pending_ = false;
  headerless_events_ = 0;
  headerless_pages_ = 0;
  headerless_runs_.clear();
  headerless_lost_.clear();
  headerless_ended_ = false;
  ClearProgress();
  std::fprintf(stderr, "salvage %s: the stream header %s; used the copy at offset %llu\n", options_.tool,
               reseed_damaged_ != 0 ? "was damaged" : "did not arrive intact before its frames",
               static_cast<unsigned long long>(reseed_offset_));
  auto decoder = std::make_unique<stream::Decoder>(*this);
  decoder_ = decoder.get();
  replaying_ = true;
  decoder->Seed(reseed_header_);
  if (spool_fd_ < 0) {
    std::fprintf(stderr, "salvage %s: the frames before offset %llu were not kept (no spool file): they are reported lost\n",
                 options_.tool, static_cast<unsigned long long>(reseed_offset_));
  } else {
    (void)ReplaySpool(*decoder);
  }
  replaying_ = false;
  CloseSpool();
  return decoder;
}

int Receiver::ConcludeHeaderless() {
  // The vmcore's layout from what verified: one range per run of pages received; no
  // notes but salvage's own; the machine is unknown (EM_NONE), the class 64-bit.
  stream::DecodedHeader h;
  h.version = stream::kVersion;
  h.e_machine = 0;
  h.elf_class = stream::kElfClass64;
  h.elf_data = stream::kElfDataLsb;
  h.page_size = headerless_page_size_;
  for (h.page_shift = 0; (1u << h.page_shift) < h.page_size; ++h.page_shift) {
  }
  h.stream_id = headerless_tag_;
  for (const auto& r : headerless_runs_) {
    h.ranges.push_back(PhysRange{r.first, r.second - r.first});
    h.total_pages += (r.second - r.first) / h.page_size;
  }
  const uint64_t kept = headerless_pages_;
  ClearProgress();
  std::fprintf(stderr,
               "salvage %s: no intact header: kept %llu verified pages without notes (stream tag 0x%08x). Missing: the "
               "crash notes (CPU registers, VMCOREINFO), the list of dumped ranges and the machine type (e_machine is "
               "EM_NONE); the vmcore's PT_LOADs cover exactly the pages received\n",
               options_.tool, static_cast<unsigned long long>(kept), headerless_tag_);
  if (spool_fd_ < 0) {
    std::fprintf(stderr, "salvage %s: error: the input was not kept (no spool file); nothing written\n", options_.tool);
    return kExitFailure;
  }
  headerless_writing_ = true;
  stream_ended_ = false;
  const bool echo = options_.echo_text;
  options_.echo_text = false;
  OnHeader(h);  // the output and the vmcore writer, as for a real header
  if (failed_) return kExitFailure;
  auto decoder = std::make_unique<stream::Decoder>(*this);
  decoder_ = decoder.get();
  replaying_ = true;
  if (!ReplaySpool(*decoder)) return kExitFailure;
  if (!stream_ended_) verdict_ = decoder->Finish();
  replaying_ = false;
  options_.echo_text = echo;
  CloseSpool();
  const int rc = Conclude();
  decoder_ = nullptr;
  // Never "complete" without a header, whatever the frames said.
  return rc == kExitOk ? kExitIncomplete : rc;
}

}  // namespace salvage::loader
