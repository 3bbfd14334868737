// Tests for loader/board/load/vmcoreinfo: the VMCOREINFO note read from an ELF core file laid
// out as /proc/kcore is (fs/proc/kcore.c: ET_CORE, a PT_NOTE with CORE notes and then
// VMCOREINFO, PT_LOADs), ELF64 and ELF32; the --root fallback to vmcoreinfo-desc.txt;
// the page size from the text.
#include "board/load/vmcoreinfo.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "workstation/convert/vmcore-writer.h"
#include "load-test-util.h"

namespace salvage::loader::load {
namespace {

using testing::Scratch;

// Notes as Linux writes them, through the project's one note serializer.
void AppendNote(std::vector<uint8_t>& out, const std::string& name, uint32_t type, const std::string& desc) {
  AppendElfNote(&out, name, type, std::span(reinterpret_cast<const uint8_t*>(desc.data()), desc.size()));
}

const char kText[] = "OSRELEASE=6.1.0-18-arm64\nPAGESIZE=4096\nNUMBER(VA_BITS)=48\n";

std::vector<uint8_t> Notes(bool with_vmcoreinfo) {
  std::vector<uint8_t> n;
  AppendNote(n, "CORE", NT_PRSTATUS, std::string(392, '\x11'));
  AppendNote(n, "CORE", NT_PRPSINFO, std::string(136, '\x22'));
  AppendNote(n, "CORE", 4 /* NT_TASKSTRUCT */, std::string(64, '\x33'));
  if (with_vmcoreinfo) AppendNote(n, "VMCOREINFO", 0, std::string(kText) + std::string(5, '\0'));
  return n;
}

// An ELF64 or ELF32 core file: header, a PT_LOAD, the PT_NOTE, then the notes.
std::vector<uint8_t> Kcore(bool elf64, const std::vector<uint8_t>& notes) {
  std::vector<uint8_t> f;
  if (elf64) {
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_CORE;
    eh.e_machine = EM_AARCH64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof(eh);
    eh.e_ehsize = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 2;
    Elf64_Phdr load{}, note{};
    load.p_type = PT_LOAD;
    load.p_offset = 0x10000;
    load.p_vaddr = 0xffff000000000000;
    load.p_filesz = load.p_memsz = 0x40000000;
    note.p_type = PT_NOTE;
    note.p_offset = sizeof(eh) + 2 * sizeof(Elf64_Phdr);
    note.p_filesz = notes.size();
    f.resize(note.p_offset);
    std::memcpy(f.data(), &eh, sizeof(eh));
    std::memcpy(f.data() + sizeof(eh), &load, sizeof(load));
    std::memcpy(f.data() + sizeof(eh) + sizeof(load), &note, sizeof(note));
  } else {
    Elf32_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS32;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_CORE;
    eh.e_machine = EM_ARM;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof(eh);
    eh.e_ehsize = sizeof(eh);
    eh.e_phentsize = sizeof(Elf32_Phdr);
    eh.e_phnum = 1;
    Elf32_Phdr note{};
    note.p_type = PT_NOTE;
    note.p_offset = sizeof(eh) + sizeof(Elf32_Phdr);
    note.p_filesz = static_cast<Elf32_Word>(notes.size());
    f.resize(note.p_offset);
    std::memcpy(f.data(), &eh, sizeof(eh));
    std::memcpy(f.data() + sizeof(eh), &note, sizeof(note));
  }
  f.insert(f.end(), notes.begin(), notes.end());
  return f;
}

TEST(VmcoreinfoTest, FindsTheNote) {
  const std::vector<uint8_t> n = Notes(true);
  EXPECT_EQ(FindVmcoreinfoNote(n), kText);
  EXPECT_FALSE(FindVmcoreinfoNote(Notes(false)));
  // Truncated in the middle of the VMCOREINFO note: not found, no crash.
  EXPECT_FALSE(FindVmcoreinfoNote(std::span<const uint8_t>(n.data(), n.size() - 20)));
  EXPECT_FALSE(FindVmcoreinfoNote({}));
}

TEST(VmcoreinfoTest, FromKcoreElf64AndElf32) {
  Scratch dir;
  for (bool elf64 : {true, false}) {
    SCOPED_TRACE(elf64 ? "ELF64" : "ELF32");
    testing::WriteBytes(dir.At("/kcore"), Kcore(elf64, Notes(true)));
    auto text = ReadVmcoreinfoFromKcore(dir.At("/kcore"));
    ASSERT_TRUE(text.ok()) << text.error();
    EXPECT_EQ(*text, kText);
  }
  testing::WriteBytes(dir.At("/kcore"), Kcore(true, Notes(false)));
  auto none = ReadVmcoreinfoFromKcore(dir.At("/kcore"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error(), dir.At("/kcore") + ": no VMCOREINFO note (kernels before 4.19 do not put it in /proc/kcore)");
  testing::WriteFile(dir.At("/kcore"), "not an ELF file at all, but long enough for a header.....");
  EXPECT_EQ(ReadVmcoreinfoFromKcore(dir.At("/kcore")).error(), dir.At("/kcore") + ": not an ELF core file");
  auto missing = ReadVmcoreinfoFromKcore(dir.At("/nothing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("No such file or directory"), std::string::npos);
}

TEST(VmcoreinfoTest, RootPrefersKcoreThenTheDescriptorFile) {
  Scratch root("proc-arm64-virt");
  auto from_desc = ReadVmcoreinfoText(root.path());
  ASSERT_TRUE(from_desc.ok()) << from_desc.error();
  EXPECT_EQ(from_desc->source, root.At("/vmcoreinfo-desc.txt"));
  EXPECT_NE(from_desc->text.find("NUMBER(kimage_voffset)="), std::string::npos);

  testing::WriteBytes(root.At("/proc/kcore"), Kcore(true, Notes(true)));
  auto from_kcore = ReadVmcoreinfoText(root.path());
  ASSERT_TRUE(from_kcore.ok()) << from_kcore.error();
  EXPECT_EQ(from_kcore->text, kText);
  EXPECT_EQ(from_kcore->source, root.At("/proc/kcore") + " (VMCOREINFO note)");

  Scratch empty;
  auto neither = ReadVmcoreinfoText(empty.path());
  ASSERT_FALSE(neither.ok());
  EXPECT_NE(neither.error().find("neither " + empty.At("/proc/kcore") + " nor"), std::string::npos);
}

TEST(VmcoreinfoTest, Decimal) {
  EXPECT_EQ(VmcoreinfoDecimal(kText, "PAGESIZE"), 4096u);
  EXPECT_EQ(VmcoreinfoDecimal("PAGESIZE=65536", "PAGESIZE"), 65536u);
  EXPECT_FALSE(VmcoreinfoDecimal(kText, "PAGE"));
  EXPECT_FALSE(VmcoreinfoDecimal("PAGESIZE=4k\n", "PAGESIZE"));
  EXPECT_FALSE(VmcoreinfoDecimal("", "PAGESIZE"));
}

}  // namespace
}  // namespace salvage::loader::load
