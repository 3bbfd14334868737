// Receiver and Source: a stream made by the real Encoder, read from a file (or stdin, or
// TCP), decoded and written as a vmcore; the vmcore read back with <elf.h>'s structs.

#include "workstation/recv/receiver.h"

#include <arpa/inet.h>
#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "loader/workstation/vmcore-test-util.h"
#include "workstation/recv/source.h"
#include "runtime/stream/stream-test-util.h"

namespace salvage::loader {
namespace {

using stream::kElfClass32;
using stream::kElfClass64;
using stream::LoadSegment;
using test::Bytes;
using test::Core;
using test::Exists;
using test::Hex;
using test::Note;
using test::ParseCore;
using test::ParseNotes;
using test::Phdr;
using test::ReadFile;
using test::TempDir;
using test::WriteFile;

constexpr uint64_t kText = 0xffff800080000000ull;
constexpr uint64_t kLinear = 0xffff000000000000ull;

/// Contents of the page at `phys` in memory version `version`: random bytes (sent raw),
/// except the pages listed as zero.
std::vector<uint8_t> MemoryPage(uint64_t phys, uint32_t page_size, uint32_t version) {
  std::mt19937_64 rng(phys * 1000003u + version);
  std::vector<uint8_t> p(page_size);
  for (auto& b : p) b = static_cast<uint8_t>(rng());
  return p;
}

const std::vector<uint8_t>& PrstatusDesc() {
  static const std::vector<uint8_t> d = [] {
    std::vector<uint8_t> v(48);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(0x30 + i);
    return v;
  }();
  return d;
}
const std::string kVmcoreinfo = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nCRASHTIME=1700000000\n";

/// What the crashed machine sends.
struct StreamSpec {
  uint16_t machine = stream::kEmAarch64;
  uint8_t elf_class = kElfClass64;
  uint32_t page_size = 4096;
  uint64_t stream_id = 0x1111;
  uint32_t version = 0;  ///< Memory contents variant.
  std::vector<PhysRange> ranges = {{0x40000000, 0x6000}, {0x48000000, 0x2000}};
  std::vector<LoadSegment> segments = {{PhysAddr{0x40000000}, kText, 0x2000},
                                       {PhysAddr{0x40000000}, kLinear, 0x6000}};
  std::set<uint64_t> zero_pages = {0x40003000};
  bool trailer = true;
  bool lz4 = true;
};

std::vector<uint8_t> PageOf(const StreamSpec& s, uint64_t phys) {
  if (s.zero_pages.count(phys)) return std::vector<uint8_t>(s.page_size, 0);
  return MemoryPage(phys, s.page_size, s.version);
}

std::vector<uint8_t> Encode(const StreamSpec& s) {
  stream::test::VectorSink sink;
  stream::test::TestLz4 lz4;
  stream::NoCompression none;
  std::vector<uint8_t> scratch(s.page_size);
  std::unique_ptr<stream::Encoder> enc;
  if (s.lz4) {
    enc = std::make_unique<stream::Encoder>(sink, lz4, scratch);
  } else {
    enc = std::make_unique<stream::Encoder>(sink, none, scratch);
  }
  // Two PT_NOTE buffers: a CORE note followed by the terminating empty note, and a
  // VMCOREINFO note.
  std::vector<uint8_t> note1, note2;
  AppendElfNote(&note1, "CORE", NT_PRSTATUS, PrstatusDesc());
  note1.resize(note1.size() + 12, 0);
  AppendElfNote(&note2, "VMCOREINFO", 0, std::vector<uint8_t>(kVmcoreinfo.begin(), kVmcoreinfo.end()));
  const std::span<const uint8_t> notes[] = {note1, note2};
  stream::HeaderInfo info;
  info.e_machine = s.machine;
  info.elf_class = s.elf_class;
  info.page_size = s.page_size;
  info.flags = stream::kHeaderFromElfCoreHdr | (s.lz4 ? uint32_t{stream::kHeaderLz4} : 0u);
  info.stream_id = s.stream_id;
  info.ranges = s.ranges;
  info.segments = s.segments;
  info.notes = notes;
  info.options = "salvage.sink=uart";
  const Status st = enc->WriteHeader(info);
  EXPECT_TRUE(st.ok());
  for (const PhysRange& r : s.ranges) {
    for (uint64_t a = r.base; a < r.base + r.size; a += s.page_size) {
      EXPECT_TRUE(enc->WritePage(PhysAddr{a}, PageOf(s, a)).ok());
    }
  }
  if (s.trailer) {
    EXPECT_TRUE(enc->WriteTrailer().ok());
  }
  return sink.bytes;
}

std::vector<uint8_t> Text(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

std::vector<uint8_t> Concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// The result of one receive.
struct Received {
  int rc = -1;
  std::string log;  // what the receiver printed on stderr
};

/// Receives `input` with options `o` (output, tool and timeouts filled in by the caller).
Received ReceiveWith(ReceiveOptions o, const std::string& input) {
  Received out;
  Source src;
  auto opened = src.Open(input, 115200, 0);
  EXPECT_TRUE(opened.ok()) << opened.error();
  testing::internal::CaptureStderr();
  {
    Receiver r(o);
    out.rc = r.Run(src);
  }  // the receiver is gone: whatever it left behind stays
  out.log = testing::internal::GetCapturedStderr();
  return out;
}

/// Options of a quiet receive into `output`: no progress, no console text.
ReceiveOptions Quiet(const std::string& output, const char* tool = "recv") {
  ReceiveOptions o;
  o.output = output;
  o.progress = false;
  o.echo_text = false;
  o.idle_timeout_s = 5;
  o.tool = tool;
  return o;
}

Received Receive(const std::string& input, const std::string& output, bool force = false,
                 const std::string& save_stream = "") {
  ReceiveOptions o = Quiet(output);
  o.force = force;
  o.save_stream = save_stream;
  return ReceiveWith(o, input);
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

/// The SALVAGE note's text (up to the first NUL), or "" with a failure.
std::string VerdictNote(const std::vector<uint8_t>& f, const Core& c) {
  const auto notes = c.Of(PT_NOTE);
  if (notes.size() != 1) {
    ADD_FAILURE() << notes.size() << " PT_NOTEs";
    return "";
  }
  for (const Note& n : ParseNotes(Bytes(f, notes[0].offset, notes[0].filesz))) {
    if (n.name == "SALVAGE") {
      EXPECT_EQ(n.type, kVerdictNoteType);
      EXPECT_EQ(n.desc.size(), kVerdictNoteDesc);
      std::string t(n.desc.begin(), n.desc.end());
      return t.substr(0, t.find('\0'));
    }
  }
  ADD_FAILURE() << "no SALVAGE note";
  return "";
}

/// True when some PT_LOAD covers any byte of [phys, phys + size).
bool Covered(const Core& c, uint64_t phys, uint64_t size) {
  for (const Phdr& ph : c.Loads()) {
    if (phys < ph.paddr + ph.memsz && ph.paddr < phys + size) return true;
  }
  return false;
}

/// Every PT_LOAD's bytes equal the spec's pages.
void ExpectLoadsHoldMemory(const std::vector<uint8_t>& f, const Core& c, const StreamSpec& s) {
  for (const Phdr& ph : c.Loads()) {
    ASSERT_EQ(ph.filesz, ph.memsz);
    ASSERT_EQ(ph.filesz % s.page_size, 0u);
    for (uint64_t off = 0; off < ph.filesz; off += s.page_size) {
      EXPECT_TRUE(Bytes(f, ph.offset + off, s.page_size) == PageOf(s, ph.paddr + off))
          << "PT_LOAD paddr " << Hex(ph.paddr) << ": wrong bytes at page " << Hex(ph.paddr + off);
    }
  }
}

class ReceiverTest : public ::testing::Test {
 protected:
  std::string In() const { return dir_.File("stream"); }
  std::string Out() const { return dir_.File("vmcore"); }
  void TearDown() override { EXPECT_TRUE(dir_.Partials().empty()) << "temporary file left: " << dir_.Partials()[0]; }
  TempDir dir_;
};

TEST_F(ReceiverTest, CompleteStreamFromAFileWritesTheVmcore) {
  const StreamSpec s;
  WriteFile(In(), Concat(Text("[    0.000000] Booting salvage\r\n"), Encode(s)));
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("complete and intact"), std::string::npos) << r.log;
  EXPECT_EQ(dir_.List(), (std::vector<std::string>{"stream", "vmcore"}));
  EXPECT_EQ(ModeOf(Out()), 0600u);

  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.elf_class, 64);
  EXPECT_EQ(c.type, ET_CORE);
  EXPECT_EQ(c.machine, EM_AARCH64);

  // Notes: the crashed kernel's (the empty terminator dropped), then SALVAGE's.
  const auto pt_note = c.Of(PT_NOTE);
  ASSERT_EQ(pt_note.size(), 1u);
  EXPECT_EQ(pt_note[0].offset, VmcoreWriter::NotesOffsetFor(64));
  const auto notes = ParseNotes(Bytes(f, pt_note[0].offset, pt_note[0].filesz));
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0].name, "CORE");
  EXPECT_EQ(notes[0].type, static_cast<uint32_t>(NT_PRSTATUS));
  EXPECT_EQ(notes[0].desc, PrstatusDesc());
  EXPECT_EQ(notes[1].name, "VMCOREINFO");
  EXPECT_EQ(std::string(notes[1].desc.begin(), notes[1].desc.end()), kVmcoreinfo);
  EXPECT_EQ(notes[2].name, "SALVAGE");
  const std::string verdict = VerdictNote(f, c);
  EXPECT_EQ(verdict.rfind("complete=yes intact=yes pages=8 lost=0 skipped=0 not-sent=0 stream=0x1111", 0), 0u)
      << verdict;

  // Loads: text view, linear view (same file bytes), and the second range (no view).
  const uint64_t data = (pt_note[0].offset + pt_note[0].filesz + 4095) / 4096 * 4096;
  const auto loads = c.Loads();
  ASSERT_EQ(loads.size(), 3u);
  EXPECT_EQ(loads[0].vaddr, kText);
  EXPECT_EQ(loads[0].paddr, 0x40000000u);
  EXPECT_EQ(loads[0].offset, data);
  EXPECT_EQ(loads[0].filesz, 0x2000u);
  EXPECT_EQ(loads[1].vaddr, kLinear);
  EXPECT_EQ(loads[1].paddr, 0x40000000u);
  EXPECT_EQ(loads[1].offset, data);
  EXPECT_EQ(loads[1].filesz, 0x6000u);
  EXPECT_EQ(loads[2].vaddr, 0u);
  EXPECT_EQ(loads[2].paddr, 0x48000000u);
  EXPECT_EQ(loads[2].offset, data + 0x6000);
  EXPECT_EQ(loads[2].filesz, 0x2000u);
  EXPECT_EQ(f.size(), data + 0x8000);
  ExpectLoadsHoldMemory(f, c, s);
}

TEST_F(ReceiverTest, BytesPushedWithFeedGiveTheSameVmcoreAsAFileRead) {
  // Extract's way in: no Source, the bytes pushed as they are read (here in pieces that
  // split records anywhere), then the console text after the trailer, then Finish.
  const StreamSpec s;
  const std::vector<uint8_t> bytes = Concat(Concat(Text("boot\r\n"), Encode(s)), Text("salvage: done\r\n"));
  WriteFile(In(), bytes);
  ASSERT_EQ(Receive(In(), Out()).rc, kExitOk);
  const std::vector<uint8_t> from_file = ReadFile(Out());
  ASSERT_EQ(unlink(Out().c_str()), 0);

  ReceiveOptions o = Quiet(Out(), "extract");
  o.idle_timeout_s = 0;
  o.keep_stream_on_failure = false;
  testing::internal::CaptureStderr();
  int rc;
  {
    Receiver r(o);
    ASSERT_EQ(r.Start({"the test's bytes", false}), kExitOk);
    size_t piece = 1;
    for (size_t off = 0; off < bytes.size(); piece = piece * 3 % 1021 + 1) {
      const size_t n = std::min(piece, bytes.size() - off);
      EXPECT_TRUE(r.Feed(std::span<const uint8_t>(bytes.data() + off, n)));  // text after the trailer too
      off += n;
    }
    EXPECT_TRUE(r.StreamEnded());
    rc = r.Finish();
  }
  const std::string log = testing::internal::GetCapturedStderr();
  ASSERT_EQ(rc, kExitOk) << log;
  EXPECT_NE(log.find("salvage extract: reading the test's bytes; waiting for a dump stream"), std::string::npos) << log;
  EXPECT_TRUE(ReadFile(Out()) == from_file);
}

TEST_F(ReceiverTest, FeedWantsNothingAfterTheTrailerOfAFile) {
  const StreamSpec s;
  const std::vector<uint8_t> bytes = Encode(s);
  testing::internal::CaptureStderr();
  Receiver r(Quiet(Out()));
  ASSERT_EQ(r.Start({In(), true}), kExitOk);
  EXPECT_FALSE(r.Feed(bytes));  // the trailer ends a file's input
  EXPECT_FALSE(r.Feed(Text("more")));
  EXPECT_EQ(r.Finish(), kExitOk);
  testing::internal::GetCapturedStderr();
}

TEST_F(ReceiverTest, ExistingOutputIsNotReplacedWithoutForce) {
  WriteFile(In(), Encode(StreamSpec{}));
  const std::vector<uint8_t> precious = Text("an earlier vmcore\n");
  WriteFile(Out(), precious, 0644);
  const Received r = Receive(In(), Out());
  EXPECT_EQ(r.rc, kExitUsage);
  EXPECT_NE(r.log.find("exists"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("--force"), std::string::npos) << r.log;
  EXPECT_EQ(ReadFile(Out()), precious);
  EXPECT_EQ(ModeOf(Out()), 0644u);
  EXPECT_EQ(dir_.List(), (std::vector<std::string>{"stream", "vmcore"}));
}

TEST_F(ReceiverTest, ExistingOutputIsReplacedWithForce) {
  const StreamSpec s;
  WriteFile(In(), Encode(s));
  WriteFile(Out(), Text("an earlier vmcore\n"), 0644);
  const Received r = Receive(In(), Out(), /*force=*/true);
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_EQ(ModeOf(Out()), 0600u);
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.Loads().size(), 3u);
  EXPECT_EQ(VerdictNote(f, c).rfind("complete=yes intact=yes", 0), 0u);
  ExpectLoadsHoldMemory(f, c, s);
  EXPECT_EQ(dir_.List(), (std::vector<std::string>{"stream", "vmcore"}));
}

TEST_F(ReceiverTest, CorruptFrameGivesIncompleteVmcoreWithoutThatPage) {
  const StreamSpec s;
  std::vector<uint8_t> bytes = Encode(s);
  const auto records = stream::test::SplitRecords(bytes);
  constexpr uint64_t kLost = 0x40002000;
  bool corrupted = false;
  for (size_t i : stream::test::FrameIndices(records)) {
    const auto& rec = records[i];
    if (rec.h.phys == kLost) {
      ASSERT_EQ(rec.h.count, 1u);
      ASSERT_GT(rec.h.payload_len, 100u);
      bytes[rec.offset + stream::kRecordHeaderSize + 100] ^= 0x40;  // the payload, not the header
      corrupted = true;
    }
  }
  ASSERT_TRUE(corrupted);
  WriteFile(In(), bytes);
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitIncomplete) << r.log;
  EXPECT_NE(r.log.find("lost 1 pages at 0x40002000 (corrupt frame)"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("missing 0x40002000-0x40002fff (1 pages)"), std::string::npos) << r.log;
  EXPECT_EQ(ModeOf(Out()), 0600u);
  EXPECT_EQ(dir_.List(), (std::vector<std::string>{"stream", "vmcore"}));

  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_FALSE(Covered(c, kLost, 0x1000)) << "a PT_LOAD claims the lost page";
  EXPECT_TRUE(Covered(c, kLost - 0x1000, 0x1000));
  EXPECT_TRUE(Covered(c, kLost + 0x1000, 0x1000));
  // Text view [0, 2) is whole; the linear view splits around page 2.
  const auto loads = c.Loads();
  ASSERT_EQ(loads.size(), 4u);
  EXPECT_EQ(loads[0].vaddr, kText);
  EXPECT_EQ(loads[0].filesz, 0x2000u);
  EXPECT_EQ(loads[1].vaddr, kLinear);
  EXPECT_EQ(loads[1].filesz, 0x2000u);
  EXPECT_EQ(loads[2].vaddr, kLinear + 0x3000);
  EXPECT_EQ(loads[2].paddr, 0x40003000u);
  EXPECT_EQ(loads[2].filesz, 0x3000u);
  EXPECT_EQ(loads[3].paddr, 0x48000000u);
  ExpectLoadsHoldMemory(f, c, s);
  const std::string verdict = VerdictNote(f, c);
  EXPECT_EQ(verdict.rfind("complete=no intact=no pages=7 lost=1 ", 0), 0u) << verdict;
  EXPECT_NE(verdict.find("lost:0x40002000+1p(corrupt frame)"), std::string::npos) << verdict;
}

TEST_F(ReceiverTest, TruncatedStreamKeepsWhatArrived) {
  StreamSpec s;
  std::vector<uint8_t> bytes = Encode(s);
  const auto records = stream::test::SplitRecords(bytes);
  // Cut after the frame of 0x40004000: 0x40005000 and the second range never arrive.
  size_t cut = 0;
  for (const auto& rec : records) {
    if (rec.h.type == stream::RecordType::kFrame && rec.h.phys == 0x40004000) cut = rec.offset + rec.size;
  }
  ASSERT_GT(cut, 0u);
  bytes.resize(cut);
  WriteFile(In(), bytes);
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitIncomplete) << r.log;
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_TRUE(Covered(c, 0x40000000, 0x5000));
  EXPECT_FALSE(Covered(c, 0x40005000, 0x1000));
  EXPECT_FALSE(Covered(c, 0x48000000, 0x2000));
  ExpectLoadsHoldMemory(f, c, s);
  const std::string verdict = VerdictNote(f, c);
  EXPECT_EQ(verdict.rfind("complete=no intact=no pages=5 lost=3 ", 0), 0u) << verdict;
  EXPECT_NE(verdict.find("problem=no trailer"), std::string::npos) << verdict;
}

// --- The repeated header (docs/stream-format.md §4.6): one damaged copy loses nothing.

/// Offsets of the stream's header records.
std::vector<size_t> HeaderOffsets(const std::vector<uint8_t>& bytes) {
  std::vector<size_t> out;
  for (const auto& rec : stream::test::SplitRecords(bytes)) {
    if (rec.h.type == stream::RecordType::kHeader) out.push_back(rec.offset);
  }
  return out;
}

/// A spec whose stream is over 2 MiB (random pages go raw): header copies at the start,
/// after 1 and 2 MiB, and before the trailer.
StreamSpec LongSpec() {
  StreamSpec s;
  s.ranges = {{0x40000000, 0x200000}, {0x48000000, 0x80000}};
  s.segments = {{PhysAddr{0x40000000}, kLinear, 0x200000}};
  return s;
}

TEST_F(ReceiverTest, DamagedFirstHeaderUsesALaterCopyAndLosesNothing) {
  const StreamSpec s;
  std::vector<uint8_t> bytes = Encode(s);
  const auto headers = HeaderOffsets(bytes);
  ASSERT_EQ(headers.size(), 2u);
  bytes[headers[0] + stream::kRecordHeaderSize + 40] ^= 0x01;  // one bit of the first copy's payload
  WriteFile(In(), Concat(Text("boot log\r\n"), bytes));
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("the stream header was damaged; used the copy at offset " + std::to_string(10 + headers[1])),
            std::string::npos)
      << r.log;
  EXPECT_NE(r.log.find("complete and intact"), std::string::npos) << r.log;
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_TRUE(Covered(c, 0x40000000, 0x6000));
  EXPECT_TRUE(Covered(c, 0x48000000, 0x2000));
  ExpectLoadsHoldMemory(f, c, s);
  EXPECT_EQ(VerdictNote(f, c).rfind("complete=yes intact=yes pages=8 lost=0 ", 0), 0u);
}

TEST_F(ReceiverTest, DamagedFirstRecordHeaderUsesALaterCopy) {
  const StreamSpec s;
  std::vector<uint8_t> bytes = Encode(s);
  const auto headers = HeaderOffsets(bytes);
  bytes[headers[0] + 20] ^= 0x80;  // the record header: not even known to be a header
  WriteFile(In(), bytes);
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("used the copy at offset " + std::to_string(headers[1])), std::string::npos) << r.log;
}

TEST_F(ReceiverTest, EveryHeaderCopyButOneDamagedGivesTheWholeVmcore) {
  const StreamSpec s = LongSpec();
  std::vector<uint8_t> bytes = Encode(s);
  const auto headers = HeaderOffsets(bytes);
  ASSERT_EQ(headers.size(), 4u);
  for (size_t i = 0; i < headers.size(); ++i) {
    if (i != 1) bytes[headers[i] + stream::kRecordHeaderSize + 100] ^= 0x20;
  }
  WriteFile(In(), bytes);
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("the stream header was damaged; used the copy at offset " + std::to_string(headers[1])),
            std::string::npos)
      << r.log;
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_TRUE(Covered(c, 0x40000000, 0x200000));
  EXPECT_TRUE(Covered(c, 0x48000000, 0x80000));
  ExpectLoadsHoldMemory(f, c, s);
}

TEST_F(ReceiverTest, NoIntactHeaderKeepsTheVerifiedPagesWithoutNotes) {
  const StreamSpec s;
  std::vector<uint8_t> bytes = Encode(s);
  for (size_t off : HeaderOffsets(bytes)) bytes[off + stream::kRecordHeaderSize + 40] ^= 0x01;
  WriteFile(In(), bytes);
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitIncomplete) << r.log;
  EXPECT_NE(r.log.find("no intact header: kept 8 verified pages without notes"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("Missing: the crash notes"), std::string::npos) << r.log;
  EXPECT_EQ(r.log.find("console text"), std::string::npos) << r.log;
  EXPECT_EQ(ModeOf(Out()), 0600u);
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_TRUE(Covered(c, 0x40000000, 0x6000));
  EXPECT_TRUE(Covered(c, 0x48000000, 0x2000));
  EXPECT_FALSE(Covered(c, 0x40006000, 0x48000000 - 0x40006000)) << "a PT_LOAD covers pages never received";
  ExpectLoadsHoldMemory(f, c, s);
  const std::string verdict = VerdictNote(f, c);
  EXPECT_NE(verdict.find("problem=no header"), std::string::npos) << verdict;
  EXPECT_EQ(verdict.find("CORE"), std::string::npos);
}

TEST_F(ReceiverTest, NoIntactHeaderAndALostFrameReportsIt) {
  const StreamSpec s;
  std::vector<uint8_t> bytes = Encode(s);
  for (size_t off : HeaderOffsets(bytes)) bytes[off + stream::kRecordHeaderSize + 40] ^= 0x01;
  for (const auto& rec : stream::test::SplitRecords(bytes)) {
    if (rec.h.type == stream::RecordType::kFrame && rec.h.phys == 0x40002000) {
      bytes[rec.offset + stream::kRecordHeaderSize + 100] ^= 0x40;
    }
  }
  WriteFile(In(), bytes);
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitIncomplete) << r.log;
  EXPECT_NE(r.log.find("no intact header: kept 7 verified pages"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("lost 1 pages at 0x40002000 (corrupt frame)"), std::string::npos) << r.log;
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_FALSE(Covered(c, 0x40002000, 0x1000));
  ExpectLoadsHoldMemory(f, c, s);
}

// A damaged line at 1e-3 per byte (a relay with a fixed seed that flips, drops and
// duplicates bytes): the pages recv reports lost are exactly those of the frames the
// relay touched, and no byte of the vmcore is wrong.
TEST_F(ReceiverTest, DamagedLineAtOnePerThousandLosesExactlyTheDamagedFrames) {
  const StreamSpec s = LongSpec();
  const std::vector<uint8_t> clean = Encode(s);
  const auto records = stream::test::SplitRecords(clean);
  std::mt19937_64 rng(1234);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<uint8_t> line;
  std::set<size_t> hit;  // indices of damaged records
  size_t rec = 0;
  for (size_t off = 0; off < clean.size(); ++off) {
    while (records[rec].offset + records[rec].size <= off) ++rec;
    if (u(rng) >= 1e-3) {
      line.push_back(clean[off]);
      continue;
    }
    switch (rng() % 3) {
      case 0: line.push_back(clean[off] ^ static_cast<uint8_t>(1u << (rng() % 8))); break;
      case 1: break;  // dropped
      case 2:
        line.push_back(clean[off]);
        line.push_back(clean[off]);
        // A record's first or last byte sent twice leaves it whole: one byte of line
        // noise before its sync word or after its end.
        if (off == records[rec].offset || off == records[rec].offset + records[rec].size - 1) continue;
        break;
    }
    hit.insert(rec);
  }
  std::set<uint64_t> damaged_pages;
  size_t intact_headers = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& h = records[i].h;
    if (h.type == stream::RecordType::kHeader && !hit.count(i)) ++intact_headers;
    if (h.type != stream::RecordType::kFrame || !hit.count(i)) continue;
    for (uint64_t p = 0; p < h.count; ++p) damaged_pages.insert(h.phys + p * s.page_size);
  }
  ASSERT_GT(hit.size(), 100u) << "the relay hardly damaged anything";
  ASSERT_GT(intact_headers, 0u) << "this seed damages every header copy: pick another";
  ASSERT_FALSE(hit.count(records.size() - 1)) << "this seed damages the trailer: pick another";
  WriteFile(In(), line);
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitIncomplete) << r.log;
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  ExpectLoadsHoldMemory(f, c, s);
  std::set<uint64_t> missing;
  for (const PhysRange& range : s.ranges) {
    for (uint64_t a = range.base; a < range.base + range.size; a += s.page_size) {
      if (!Covered(c, a, s.page_size)) missing.insert(a);
    }
  }
  EXPECT_EQ(missing, damaged_pages);
  uint64_t reported = 0;
  for (size_t at = r.log.find("lost "); at != std::string::npos; at = r.log.find("lost ", at + 1)) {
    reported += std::strtoull(r.log.c_str() + at + 5, nullptr, 10);
  }
  EXPECT_EQ(reported, damaged_pages.size()) << r.log;
}

TEST_F(ReceiverTest, InputWithoutAStreamWritesNothing) {
  WriteFile(In(), Text("U-Boot 2024.01\r\nStarting kernel ...\r\n[    0.000000] Linux version 6.1.0\r\n"));
  const Received r = Receive(In(), Out());
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.log.find("no dump stream found"), std::string::npos) << r.log;
  EXPECT_FALSE(Exists(Out()));
  EXPECT_EQ(dir_.List(), (std::vector<std::string>{"stream"}));
}

TEST_F(ReceiverTest, EmptyInputWritesNothing) {
  WriteFile(In(), {});
  const Received r = Receive(In(), Out());
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_FALSE(Exists(Out()));
  EXPECT_EQ(dir_.List(), (std::vector<std::string>{"stream"}));
}

TEST_F(ReceiverTest, Elf32Stream) {
  StreamSpec s;
  s.machine = stream::kEmArm;
  s.elf_class = kElfClass32;
  s.ranges = {{0x60000000, 0x3000}};
  // Lowmem at 0xc0000000, and a highmem page the kernel does not map (vaddr ~0 in ELF32).
  s.segments = {{PhysAddr{0x60000000}, 0xc0000000, 0x2000}, {PhysAddr{0x60002000}, 0xffffffff, 0x1000}};
  s.zero_pages = {};
  WriteFile(In(), Encode(s));
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.elf_class, 32);
  EXPECT_EQ(c.machine, EM_ARM);
  EXPECT_EQ(c.Of(PT_NOTE)[0].offset, VmcoreWriter::NotesOffsetFor(32));
  const auto loads = c.Loads();
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_EQ(loads[0].paddr, 0x60000000u);
  EXPECT_EQ(loads[0].vaddr, 0xc0000000u);
  EXPECT_EQ(loads[0].filesz, 0x2000u);
  EXPECT_EQ(loads[1].paddr, 0x60002000u);
  EXPECT_EQ(loads[1].vaddr, 0u);
  EXPECT_EQ(loads[1].filesz, 0x1000u);
  ExpectLoadsHoldMemory(f, c, s);
  EXPECT_EQ(VerdictNote(f, c).rfind("complete=yes intact=yes pages=3 ", 0), 0u);
}

TEST_F(ReceiverTest, Elf32StreamWithMemoryAbove4GiBFailsAndLeavesNothing) {
  StreamSpec s;
  s.machine = stream::kEmArm;
  s.elf_class = kElfClass32;
  s.ranges = {{0x80000000, 0x1000}, {0x100000000ull, 0x1000}};
  s.segments = {};
  s.zero_pages = {};
  WriteFile(In(), Encode(s));
  const Received r = Receive(In(), Out());
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.log.find("4 GiB"), std::string::npos) << r.log;
  EXPECT_FALSE(Exists(Out()));
  EXPECT_EQ(dir_.List(), (std::vector<std::string>{"stream"}));
}

TEST_F(ReceiverTest, SaveStreamKeepsTheRawBytes) {
  const std::vector<uint8_t> bytes = Concat(Text("console\n"), Encode(StreamSpec{}));
  WriteFile(In(), bytes);
  const Received r = Receive(In(), Out(), false, dir_.File("saved"));
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_EQ(ReadFile(dir_.File("saved")), bytes);
  EXPECT_EQ(ModeOf(dir_.File("saved")), 0600u);
}

TEST_F(ReceiverTest, SecondStreamDoesNotChangeTheFirstOnesVmcore) {
  // Regression (receiver.cc, OnPage/OnLost, fixed): once the first stream has ended (its trailer was
  // decoded, OnStreamEnd set stream_ended_), Run() stops reading, but the rest of the
  // chunk already handed to Decoder::Feed is still decoded: a second stream's header is
  // ignored by OnHeader ("only the first is written"), yet its pages still reach OnPage,
  // which writes them into the first stream's vmcore (overwriting its pages when the
  // ranges are the same, or failing the whole receive with "page ... is not in any
  // range" when they differ), and its losses are added to lost_. OnPage and OnLost should
  // ignore everything after stream_ended_.
  StreamSpec first;
  StreamSpec second;
  second.stream_id = 0x2222;
  second.version = 1;  // same ranges, other contents (e.g. the dump sent again)
  WriteFile(In(), Concat(Encode(first), Encode(second)));
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_NE(VerdictNote(f, c).find("stream=0x1111"), std::string::npos);
  ExpectLoadsHoldMemory(f, c, first);  // the note says stream 0x1111: its pages, not 0x2222's
}

TEST_F(ReceiverTest, SecondStreamWithOtherRangesDoesNotFailTheFirst) {
  // Same bug as above, other symptom: the second stream's pages are outside the first's
  // ranges, WritePage refuses them, and the complete first dump is thrown away.
  StreamSpec first;
  StreamSpec second;
  second.stream_id = 0x2222;
  second.ranges = {{0x90000000, 0x2000}};
  second.segments = {};
  WriteFile(In(), Concat(Encode(first), Encode(second)));
  const Received r = Receive(In(), Out());
  EXPECT_EQ(r.rc, kExitOk) << r.log;
  ASSERT_TRUE(Exists(Out()));
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  ExpectLoadsHoldMemory(f, c, first);
}

TEST_F(ReceiverTest, ReadsStandardInput) {
  const StreamSpec s;
  WriteFile(In(), Encode(s));
  const int saved = dup(0);
  ASSERT_GE(saved, 0);
  const int in = open(In().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(in, 0);
  ASSERT_EQ(dup2(in, 0), 0);
  close(in);
  const Received r = Receive("-", Out());
  dup2(saved, 0);
  close(saved);
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("standard input"), std::string::npos) << r.log;
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.Loads().size(), 3u);
  ExpectLoadsHoldMemory(f, c, s);
}

TEST_F(ReceiverTest, ReadsTcp) {
  const StreamSpec s;
  const std::vector<uint8_t> bytes = Concat(Text("console text first\r\n"), Encode(s));
  const int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(ls, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(ls, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const unsigned port = ntohs(addr.sin_port);
  // The "machine": sends the bytes in small pieces, then hangs up.
  std::thread sender([&] {
    const int c = accept(ls, nullptr, nullptr);
    if (c < 0) return;
    for (size_t off = 0; off < bytes.size();) {
      const size_t n = std::min<size_t>(1000, bytes.size() - off);
      const ssize_t w = send(c, bytes.data() + off, n, MSG_NOSIGNAL);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    close(c);
  });
  const Received r = Receive("tcp:127.0.0.1:" + std::to_string(port), Out());
  sender.join();
  close(ls);
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("tcp 127.0.0.1:" + std::to_string(port)), std::string::npos) << r.log;
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  ExpectLoadsHoldMemory(f, c, s);
  EXPECT_EQ(VerdictNote(f, c).rfind("complete=yes intact=yes", 0), 0u);
}

/// Runs `fn` with standard input reading `bytes` from a pipe (not a file: a serial line's
/// or TCP's behaviour, where nothing can be read twice).
template <class Fn>
void WithPipeOnStdin(const std::vector<uint8_t>& bytes, Fn fn) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  std::thread writer([&] {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t w = write(p[1], bytes.data() + off, bytes.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    close(p[1]);
  });
  const int saved = dup(0);
  ASSERT_EQ(dup2(p[0], 0), 0);
  close(p[0]);
  fn();
  dup2(saved, 0);
  close(saved);
  writer.join();
}

/// The stream of `s` with every frame that holds data (raw, lz4) dropped: only the zero
/// frames arrive, each one a run of its own between two holes.
std::vector<uint8_t> EveryOtherFrame(const StreamSpec& s) {
  const std::vector<uint8_t> whole = Encode(s);
  std::vector<uint8_t> out;
  const auto records = stream::test::SplitRecords(whole);
  for (const auto& r : records) {
    const bool frame = r.h.type == stream::RecordType::kFrame;
    // Keep the header, the trailer and the zero frames; drop every raw/lz4 frame.
    if (frame && r.h.encoding != stream::Encoding::kZero) continue;
    out.insert(out.end(), whole.begin() + static_cast<long>(r.offset),
               whole.begin() + static_cast<long>(r.offset + r.size));
  }
  return out;
}

TEST_F(ReceiverTest, MoreThan8191HolesKeepEveryPageReceived) {
  // Regression (issue #10): a dump with more holes than 8191 program headers could
  // describe was refused by the vmcore writer and everything received was deleted.
  StreamSpec s;
  s.ranges = {{0x40000000, 18000 * 0x1000ull}};
  s.segments = {};
  s.zero_pages.clear();
  for (uint64_t p = 0; p < 18000; p += 2) s.zero_pages.insert(0x40000000 + p * 0x1000);
  WriteFile(In(), EveryOtherFrame(s));
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitIncomplete) << r.log.substr(0, 3000);
  EXPECT_NE(r.log.find("program headers"), std::string::npos) << r.log.substr(r.log.size() - 2000);
  EXPECT_NE(r.log.find("more missing ranges"), std::string::npos);  // not 9000 lines of them
  const std::vector<uint8_t> f = ReadFile(Out());
  const Core c = ParseCore(f);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.Loads().size(), 9000u);
  for (const Phdr& ph : c.Loads()) EXPECT_EQ(ph.filesz, 0x1000u);
  ExpectLoadsHoldMemory(f, c, s);
  EXPECT_EQ(VerdictNote(f, c).rfind("complete=no intact=no pages=9000 lost=9000 ", 0), 0u) << VerdictNote(f, c);
}

TEST_F(ReceiverTest, RefusedHeaderSaysWhyAndLeavesNothing) {
  // Regression (issue #10): a header claiming a 2^60-byte range made the receiver abort
  // with std::bad_alloc, leaving a .partial file.
  StreamSpec s;
  s.ranges = {{0, uint64_t{1} << 60}};
  s.segments = {};
  s.trailer = false;
  stream::test::VectorSink sink;
  stream::NoCompression none;
  std::vector<uint8_t> scratch(4096);
  stream::Encoder enc(sink, none, scratch);
  stream::HeaderInfo info;
  info.e_machine = stream::kEmAarch64;
  info.page_size = 4096;
  info.stream_id = 0x77;
  info.ranges = s.ranges;
  ASSERT_TRUE(enc.WriteHeader(info).ok());
  WriteFile(In(), sink.bytes);
  const Received r = Receive(In(), Out());
  EXPECT_EQ(r.rc, kExitFailure) << r.log;
  EXPECT_NE(r.log.find("header was refused"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("physical address space"), std::string::npos) << r.log;
  EXPECT_EQ(dir_.List(), (std::vector<std::string>{"stream"}));
}

TEST_F(ReceiverTest, FailedConversionKeepsTheRawStreamFromALine) {
  // A stream that cannot become a vmcore (ELF32 with memory above 4 GiB), read from a
  // pipe: the bytes cannot be read again, so they are kept and named.
  StreamSpec s;
  s.machine = stream::kEmArm;
  s.elf_class = kElfClass32;
  s.ranges = {{0x80000000, 0x1000}, {0x100000000ull, 0x1000}};
  s.segments = {};
  s.zero_pages = {};
  const std::vector<uint8_t> bytes = Concat(Text("console\n"), Encode(s));
  Received r;
  WithPipeOnStdin(bytes, [&] { r = Receive("-", Out()); });
  EXPECT_EQ(r.rc, kExitFailure) << r.log;
  EXPECT_FALSE(Exists(Out()));
  const std::string kept = Out() + ".stream";
  ASSERT_TRUE(Exists(kept)) << r.log;
  EXPECT_EQ(ReadFile(kept), bytes);  // all of it: reading went on after the failure
  EXPECT_EQ(ModeOf(kept), 0600u);
  EXPECT_NE(r.log.find("kept in " + kept), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("salvage convert"), std::string::npos) << r.log;
  EXPECT_EQ(dir_.List(), (std::vector<std::string>{"vmcore.stream"}));
}

TEST_F(ReceiverTest, RawStreamCopyIsRemovedWhenTheVmcoreIsWritten) {
  const StreamSpec s;
  Received r;
  WithPipeOnStdin(Encode(s), [&] { r = Receive("-", Out()); });
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_EQ(dir_.List(), (std::vector<std::string>{"vmcore"}));
}

TEST_F(ReceiverTest, SaveStreamNeverFollowsALinkNorReplacesWithoutForce) {
  // Regression (issue #10): --save-stream opened its file with O_CREAT | O_TRUNC: it
  // followed a symbolic link and truncated whatever was there.
  WriteFile(In(), Encode(StreamSpec{}));
  const std::string victim = dir_.File("victim");
  WriteFile(victim, Text("precious"), 0644);
  ASSERT_EQ(symlink("victim", dir_.File("link").c_str()), 0);
  Received r = Receive(In(), Out(), false, dir_.File("link"));
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.log.find("symbolic link"), std::string::npos) << r.log;
  EXPECT_EQ(ReadFile(victim), Text("precious"));
  EXPECT_FALSE(Exists(Out()));

  r = Receive(In(), Out(), false, victim);
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_NE(r.log.find("--force"), std::string::npos) << r.log;
  EXPECT_EQ(ReadFile(victim), Text("precious"));

  // With --force a link is still refused, and a regular file is replaced by a new one.
  r = Receive(In(), Out(), true, dir_.File("link"));
  EXPECT_EQ(r.rc, kExitFailure);
  EXPECT_EQ(ReadFile(victim), Text("precious"));
  r = Receive(In(), Out(), true, victim);
  EXPECT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_EQ(ReadFile(victim), ReadFile(In()));
  EXPECT_EQ(ModeOf(victim), 0600u);
}

TEST(CreateStreamFileTest, RefusesLinksDirectoriesAndExistingFiles) {
  TempDir dir;
  ASSERT_EQ(symlink("nowhere", dir.File("dangling").c_str()), 0);
  auto link = CreateStreamFile(dir.File("dangling"), true);
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.error().find("symbolic link"), std::string::npos) << link.error();
  EXPECT_FALSE(Exists(dir.File("nowhere")));
  ASSERT_EQ(mkdir(dir.File("d").c_str(), 0700), 0);
  auto directory = CreateStreamFile(dir.File("d"), true);
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.error().find("not a regular file"), std::string::npos) << directory.error();
  rmdir(dir.File("d").c_str());
  auto fd = CreateStreamFile(dir.File("new"), false);
  ASSERT_TRUE(fd.ok()) << fd.error();
  ASSERT_GE(*fd, 0);
  close(*fd);
  EXPECT_EQ(ModeOf(dir.File("new")), 0600u);
  auto again = CreateStreamFile(dir.File("new"), false);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("exists"), std::string::npos) << again.error();
}

TEST_F(ReceiverTest, ConsoleTextIsEscapedForATerminal) {
  const std::string text = "boot\r\n\x1b]52;c;aGk=\x07\x1b[2Jok\n";
  WriteFile(In(), Concat(Text(text), Encode(StreamSpec{})));
  ReceiveOptions o;
  o.output = Out();
  o.progress = false;
  o.echo_text = true;
  o.escape_text = TextEscape::kAlways;  // what a terminal on stderr gets
  o.idle_timeout_s = 5;
  const Received r = ReceiveWith(o, In());
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("boot\n\\x1b]52;c;aGk=\\x07\\x1b[2Jok\n"), std::string::npos) << r.log;
  EXPECT_EQ(r.log.find('\x1b'), std::string::npos) << "a raw escape reached the terminal";
}

TEST_F(ReceiverTest, HeaderLineNamesTheOptions) {
  WriteFile(In(), Encode(StreamSpec{}));
  const Received r = Receive(In(), Out());
  ASSERT_EQ(r.rc, kExitOk) << r.log;
  EXPECT_NE(r.log.find("options \"salvage.sink=uart\""), std::string::npos) << r.log;
}

TEST(SourceTest, OpenErrorsSayWhatIsWrong) {
  TempDir dir;
  std::string error;
  {
    Source src;
    error = src.Open(dir.File("no-such-file"), 115200, 0).error();
    EXPECT_FALSE(error.empty());
    EXPECT_NE(error.find("cannot open " + dir.File("no-such-file")), std::string::npos) << error;
  }
  {
    Source src;
    error.clear();
    error = src.Open("tcp:4444", 115200, 0).error();
    EXPECT_FALSE(error.empty());
    EXPECT_NE(error.find("is not tcp:HOST:PORT"), std::string::npos) << error;
  }
  {
    Source src;
    error.clear();
    error = src.Open("tcp::4444", 115200, 0).error();
    EXPECT_FALSE(error.empty());
    EXPECT_NE(error.find("is not tcp:HOST:PORT"), std::string::npos) << error;
  }
}

TEST(SourceTest, RegularFileReadsToEnd) {
  TempDir dir;
  WriteFile(dir.File("f"), Text("0123456789"));
  Source src;
  auto opened = src.Open(dir.File("f"), 115200, 0);
  ASSERT_TRUE(opened.ok()) << opened.error();
  EXPECT_TRUE(src.IsSeekableFile());
  EXPECT_EQ(src.SizeHint(), 10u);
  EXPECT_EQ(src.Describe(), dir.File("f"));
  uint8_t buf[4];
  auto count = [&] {
    Expected<Source::Got> got = src.Read(buf, sizeof(buf), 100);
    EXPECT_TRUE(got.ok()) << got.error();
    return got.ok() ? std::make_pair(got->count, got->end) : std::make_pair(size_t{99}, false);
  };
  EXPECT_EQ(count(), std::make_pair(size_t{4}, false));
  EXPECT_EQ(std::string(buf, buf + 4), "0123");
  EXPECT_EQ(count(), std::make_pair(size_t{4}, false));
  EXPECT_EQ(count(), std::make_pair(size_t{2}, false));
  EXPECT_EQ(std::string(buf, buf + 2), "89");
  EXPECT_EQ(count(), std::make_pair(size_t{0}, true));
}

TEST(LayoutForTest, NotesRangesAndSegments) {
  stream::DecodedHeader h;
  h.elf_class = kElfClass32;
  h.e_machine = stream::kEmArm;
  h.page_size = 4096;
  std::vector<uint8_t> buf;
  AppendElfNote(&buf, "CORE", NT_PRSTATUS, PrstatusDesc());
  const std::vector<uint8_t> core_note = buf;
  buf.resize(buf.size() + 24, 0);  // the terminator and padding of a PT_NOTE buffer
  h.notes = {buf};
  h.ranges = {{0x60000000, 0x3000}};
  h.segments = {{PhysAddr{0x60000000}, 0xc0000000, 0x2000},
                {PhysAddr{0x60002000}, 0xffffffff, 0x1000},
                {PhysAddr{0x60002000}, ~uint64_t{0}, 0x1000}};
  uint64_t off = 0;
  const VmcoreLayout l = LayoutFor(h, &off);
  EXPECT_EQ(l.elf_class, 32);
  EXPECT_EQ(l.machine, stream::kEmArm);
  EXPECT_EQ(l.page_size, 4096u);
  ASSERT_EQ(l.ranges.size(), 1u);
  EXPECT_EQ(l.ranges[0].phys, 0x60000000u);
  EXPECT_EQ(l.ranges[0].vaddr, 0u);
  EXPECT_EQ(l.ranges[0].size, 0x3000u);
  ASSERT_EQ(l.segments.size(), 3u);
  EXPECT_EQ(l.segments[0].vaddr, 0xc0000000u);
  EXPECT_EQ(l.segments[1].vaddr, 0u);
  EXPECT_EQ(l.segments[2].vaddr, 0u);
  // The CORE note as it was, then a SALVAGE note whose 512-byte descriptor is at `off`.
  ASSERT_EQ(l.notes.size(), core_note.size() + 12 + 8 + kVerdictNoteDesc);
  EXPECT_TRUE(std::equal(core_note.begin(), core_note.end(), l.notes.begin()));
  EXPECT_EQ(off, core_note.size() + 20);
  const auto notes = ParseNotes(l.notes);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[1].name, "SALVAGE");
  EXPECT_EQ(notes[1].type, kVerdictNoteType);
  EXPECT_EQ(notes[1].desc, std::vector<uint8_t>(kVerdictNoteDesc, 0));
}

TEST(VerdictTextTest, SaysWhatHappened) {
  stream::Verdict v;
  v.complete = true;
  v.intact = true;
  v.received.pages = 8;
  v.stream_id = 0xabc;
  EXPECT_EQ(VerdictText(v, {}), "complete=yes intact=yes pages=8 lost=0 skipped=0 not-sent=0 stream=0xabc");

  v.complete = v.intact = false;
  v.received.pages = 5;
  v.lost_pages = 3;
  v.problems = stream::kProblemPagesLost | stream::kProblemNoTrailer;
  const std::vector<stream::LostPages> lost = {{0x40002000, 1, stream::LossReason::kCorruptFrame},
                                               {0x48000000, 2, stream::LossReason::kTruncated}};
  EXPECT_EQ(VerdictText(v, lost),
            "complete=no intact=no pages=5 lost=3 skipped=0 not-sent=0 stream=0xabc problem=no trailer (truncated) "
            "problem=pages lost lost:0x40002000+1p(corrupt frame) lost:0x48000000+2p(stream truncated)");

  // Many losses: eight are listed, then "...", and the text fits the note.
  std::vector<stream::LostPages> many;
  for (uint64_t i = 0; i < 100; ++i) many.push_back({0x40000000 + i * 0x2000, 1, stream::LossReason::kMissingFrames});
  const std::string t = VerdictText(v, many);
  EXPECT_LE(t.size(), kVerdictNoteDesc - 1);
  EXPECT_NE(t.find("lost:0x4000e000+1p(missing frames) ..."), std::string::npos) << t;
  EXPECT_EQ(t.find("lost:0x40010000"), std::string::npos) << t;
}

}  // namespace
}  // namespace salvage::loader
