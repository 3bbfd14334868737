// `salvage inspect` (loader/workstation/inspect/) on crafted ELF files and streams (issue #10): sizes
// from the file are added without wrapping, a vmcore not written by salvage is said to be
// of unknown completeness (exit 4), extended program header numbering is read, and text
// from the dump is shown escaped.
#include "workstation/inspect/inspect.h"

#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "workstation/convert/vmcore-writer.h"
#include "common/exit-codes.h"
#include "workstation/recv/receiver.h"
#include "loader/workstation/vmcore-test-util.h"
#include "runtime/stream/stream-test-util.h"

namespace salvage::loader {
namespace {

using test::TempDir;
using test::WriteFile;

struct Shown {
  int rc = -1;
  std::string out, err;
};

Shown RunInspect(const std::string& path) {
  Shown s;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  s.rc = Inspect(path);
  s.out = testing::internal::GetCapturedStdout();
  s.err = testing::internal::GetCapturedStderr();
  return s;
}

/// An ELF64 core: the header, then `phdrs`, then `tail` bytes.
std::vector<uint8_t> Core64(const std::vector<Elf64_Phdr>& phdrs, uint64_t phoff = sizeof(Elf64_Ehdr),
                            uint16_t phnum_field = 0xfffe, std::vector<uint8_t> tail = {}) {
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_CORE;
  eh.e_machine = EM_AARCH64;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = phoff;
  eh.e_ehsize = sizeof(eh);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = phnum_field == 0xfffe ? static_cast<uint16_t>(phdrs.size()) : phnum_field;
  std::vector<uint8_t> f(sizeof(eh) + phdrs.size() * sizeof(Elf64_Phdr));
  std::memcpy(f.data(), &eh, sizeof(eh));
  if (!phdrs.empty()) std::memcpy(f.data() + sizeof(eh), phdrs.data(), phdrs.size() * sizeof(Elf64_Phdr));
  f.insert(f.end(), tail.begin(), tail.end());
  return f;
}

Elf64_Phdr Ph(uint32_t type, uint64_t offset, uint64_t paddr, uint64_t size) {
  Elf64_Phdr p{};
  p.p_type = type;
  p.p_offset = offset;
  p.p_paddr = paddr;
  p.p_filesz = p.p_memsz = size;
  return p;
}

TEST(InspectTest, ProgramHeaderTableThatWrapsIsRefused) {
  TempDir dir;
  WriteFile(dir.File("core"), Core64({}, ~uint64_t{0} - 8, 2));
  const Shown s = RunInspect(dir.File("core"));
  EXPECT_EQ(s.rc, kExitFailure);
  EXPECT_NE(s.err.find("past the end"), std::string::npos) << s.err;
}

TEST(InspectTest, SegmentsThatWrapAreSkipped) {
  // Regression (issue #10): p_offset + p_filesz wrapped past 2^64, passed the bounds
  // check, and inspect read far outside the file (SIGSEGV).
  TempDir dir;
  WriteFile(dir.File("core"), Core64({Ph(PT_NOTE, ~uint64_t{0} - 15, 0, 64),
                                      Ph(PT_LOAD, ~uint64_t{0} - 4095, 0x40000000, 8192)}));
  const Shown s = RunInspect(dir.File("core"));
  EXPECT_EQ(s.rc, kExitNotSalvage);
  EXPECT_NE(s.out.find("program header 0 points past the end"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("program header 1 points past the end"), std::string::npos) << s.out;
}

TEST(InspectTest, VmcoreNotWrittenBySalvageHasUnknownCompleteness) {
  // Regression (issue #10): exit 0, as for a complete dump.
  TempDir dir;
  std::vector<uint8_t> note;
  AppendElfNote(&note, "CORE", NT_PRSTATUS, std::vector<uint8_t>(16, 1));
  const uint64_t note_at = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
  std::vector<uint8_t> tail = note;
  tail.resize(4096 - note_at + 4096, 0);
  WriteFile(dir.File("vmcore"), Core64({Ph(PT_NOTE, note_at, 0, note.size()), Ph(PT_LOAD, 4096, 0x40000000, 4096)},
                                       sizeof(Elf64_Ehdr), 0xfffe, tail));
  const Shown s = RunInspect(dir.File("vmcore"));
  EXPECT_EQ(s.rc, kExitNotSalvage);
  EXPECT_NE(s.out.find("not written by salvage, completeness unknown"), std::string::npos) << s.out;
  EXPECT_EQ(s.out.find("complete and intact"), std::string::npos) << s.out;
}

TEST(InspectTest, ReadsExtendedNumberingAndHeadersAfterTheData) {
  TempDir dir;
  const std::string path = dir.File("vmcore");
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  VmcoreLayout layout;
  layout.page_size = 512;
  layout.ranges = {{0, 0, 140000ull * 512}};
  AppendElfNote(&layout.notes, "SALVAGE", kVerdictNoteType, std::vector<uint8_t>{'c', 'o', 'm', 'p', 'l', 'e', 't',
                                                                                'e', '=', 'n', 'o', 0});
  VmcoreWriter w;
  ASSERT_TRUE(w.Begin(fd, layout).ok());
  const std::vector<uint8_t> zero(512, 0);
  for (uint64_t p = 0; p < 140000; p += 2) ASSERT_TRUE(w.WritePage(p * 512, zero.data()).ok());
  ASSERT_TRUE(w.Finish().ok());
  close(fd);
  const Shown s = RunInspect(path);
  EXPECT_EQ(s.rc, kExitIncomplete) << s.err;
  EXPECT_NE(s.out.find("memory:    70000 PT_LOAD"), std::string::npos) << s.out.substr(s.out.size() - 600);
  EXPECT_NE(s.out.find("... and 69936 more"), std::string::npos);
}

TEST(InspectTest, TextFromTheDumpIsEscaped) {
  stream::test::VectorSink sink;
  stream::NoCompression none;
  std::vector<uint8_t> scratch(4096);
  stream::Encoder enc(sink, none, scratch);
  const PhysRange ranges[] = {{0x40000000, 0x1000}};
  stream::HeaderInfo info;
  info.e_machine = stream::kEmAarch64;
  info.page_size = 4096;
  info.ranges = ranges;
  info.options = "salvage.sink=uart\x1b]0;owned\x07";
  ASSERT_TRUE(enc.WriteHeader(info).ok());
  ASSERT_TRUE(enc.WritePage(PhysAddr{0x40000000}, std::vector<uint8_t>(4096, 0)).ok());
  ASSERT_TRUE(enc.WriteTrailer().ok());
  TempDir dir;
  WriteFile(dir.File("s"), sink.bytes);
  const Shown s = RunInspect(dir.File("s"));
  EXPECT_EQ(s.rc, kExitOk) << s.err;
  EXPECT_NE(s.out.find("salvage.sink=uart\\x1b]0;owned\\x07"), std::string::npos) << s.out;
  EXPECT_EQ(s.out.find('\x1b'), std::string::npos);
}

TEST(InspectTest, RefusedStreamHeaderSaysWhy) {
  stream::test::VectorSink sink;
  stream::NoCompression none;
  std::vector<uint8_t> scratch(4096);
  stream::Encoder enc(sink, none, scratch);
  const PhysRange ranges[] = {{0, uint64_t{1} << 60}};
  stream::HeaderInfo info;
  info.e_machine = stream::kEmAarch64;
  info.page_size = 4096;
  info.ranges = ranges;
  ASSERT_TRUE(enc.WriteHeader(info).ok());
  TempDir dir;
  WriteFile(dir.File("s"), sink.bytes);
  const Shown s = RunInspect(dir.File("s"));
  EXPECT_EQ(s.rc, kExitFailure);
  EXPECT_NE(s.err.find("physical address space"), std::string::npos) << s.err;
}

}  // namespace
}  // namespace salvage::loader
