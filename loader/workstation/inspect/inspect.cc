#include "workstation/inspect/inspect.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <salvage/base/byte-order.h>
#include <salvage/base/elf.h>
#include <salvage/elfcore/elfcore.h>
#include <salvage/stream/decoder.h>

#include "common/exit-codes.h"
#include "workstation/recv/receiver.h"
#include "workstation/recv/terminal-text.h"

namespace salvage::loader {
namespace {

const char* MachineName(uint16_t m) {
  switch (m) {
    case elf::kEmAarch64: return "aarch64";
    case elf::kEmArm: return "arm";
    case elf::kEmRiscv: return "riscv64";
    case elf::kEmX86_64: return "x86_64";
  }
  return "unknown";
}

// Prints what the notes say; returns the SALVAGE verdict text ("" when absent).
std::string PrintNotes(const std::vector<std::span<const uint8_t>>& buffers) {
  unsigned cpus = 0, notes = 0;
  std::string osrelease, pagesize, verdict;
  for (auto b : buffers) {
    Status s = elfcore::ForEachNote(b, [&](std::string_view name, uint32_t type, std::span<const uint8_t> desc) {
      ++notes;
      if (name == elfcore::kCoreNoteName && type == elf::kNtPrstatus) ++cpus;
      if (name == elfcore::kVmcoreinfoNoteName) {
        osrelease = std::string(elfcore::VmcoreinfoField(desc, "OSRELEASE"));
        pagesize = std::string(elfcore::VmcoreinfoField(desc, "PAGESIZE"));
      }
      if (name == "SALVAGE" && type == kVerdictNoteType) {
        verdict.assign(reinterpret_cast<const char*>(desc.data()), strnlen(reinterpret_cast<const char*>(desc.data()), desc.size()));
      }
    });
    if (!s.ok()) std::printf("  notes: %s\n", s.what());
  }
  std::printf("notes:     %u (%u CPUs with crash notes)\n", notes, cpus);
  // Text from the dump is shown escaped: it is the crashed machine's, or anyone's.
  std::printf("kernel:    OSRELEASE=%s PAGESIZE=%s\n",
              osrelease.empty() ? "(no VMCOREINFO)" : EscapeForTerminal(osrelease).c_str(),
              pagesize.empty() ? "?" : EscapeForTerminal(pagesize).c_str());
  return verdict;
}

class Collector : public stream::DecoderEvents {
 public:
  void OnHeader(const stream::DecodedHeader& h) override {
    if (!seen) header = h, seen = true;
  }
  void OnLost(const stream::LostPages& l) override { lost.push_back(l); }
  void OnStreamEnd(const stream::Verdict& v) override {
    if (!ended) verdict = v, ended = true;
  }
  void OnDiagnostic(std::string_view what, uint64_t) override {
    if (what.starts_with("header:") && what != "header: repeated, ignored") header_rejected = std::string(what);
  }
  bool seen = false, ended = false;
  std::string header_rejected;
  stream::DecodedHeader header;
  stream::Verdict verdict;
  std::vector<stream::LostPages> lost;
};

int InspectStream(const std::string& path, std::span<const uint8_t> data) {
  Collector c;
  stream::Decoder d(c);
  d.Feed(data);
  if (!c.ended) c.verdict = d.Finish();
  if (!c.seen) {
    if (!c.header_rejected.empty()) {
      std::fprintf(stderr, "salvage inspect: %s holds a salvage stream whose header is refused (%s)\n", path.c_str(),
                   c.header_rejected.c_str());
      return kExitFailure;
    }
    std::fprintf(stderr, "salvage inspect: %s is neither a vmcore (ELF) nor holds a salvage stream header\n", path.c_str());
    return kExitFailure;
  }
  const auto& h = c.header;
  std::printf("file:      %s (salvage dump stream, format version %u)\n", path.c_str(), h.version);
  std::printf("stream:    0x%llx, %s, ELF%d core header, page size %u\n", static_cast<unsigned long long>(h.stream_id),
              MachineName(h.e_machine), h.elf_class == stream::kElfClass32 ? 32 : 64, h.page_size);
  std::vector<std::span<const uint8_t>> notes;
  for (const auto& n : h.notes) notes.emplace_back(n);
  PrintNotes(notes);
  uint64_t total = 0;
  for (const PhysRange& r : h.ranges) {
    std::printf("range:     0x%llx-0x%llx (%llu KiB)\n", static_cast<unsigned long long>(r.base),
                static_cast<unsigned long long>(r.base + r.size - 1), static_cast<unsigned long long>(r.size >> 10));
    total += r.size;
  }
  std::printf("memory:    %llu KiB in %zu ranges; options \"%s\"\n", static_cast<unsigned long long>(total >> 10),
              h.ranges.size(), EscapeForTerminal(h.options).c_str());
  const std::string v = VerdictText(c.verdict, c.lost);
  std::printf("verdict:   %s\n", v.c_str());
  std::printf("status:    %s\n", c.verdict.complete && c.verdict.intact ? "complete and intact" : "INCOMPLETE");
  return c.verdict.complete && c.verdict.intact ? kExitOk : kExitIncomplete;
}

/// Program headers printed one by one; the rest are counted.
constexpr uint64_t kLoadsShown = 64;

// `data` holds at least an ELF header of class `l`.
int InspectElf(const std::string& path, std::span<const uint8_t> data, const elf::Layout& l) {
  const int bits = l.elf_class == elf::kElfClass64 ? 64 : 32;
  // Every offset and size below is the file's: each sum is checked against the file's
  // size by subtraction, so none can wrap.
  const uint64_t size = data.size();
  auto fits = [size](uint64_t offset, uint64_t length) { return offset <= size && length <= size - offset; };
  auto unreadable = [&](const std::string& why) {
    std::fprintf(stderr, "salvage inspect: %s is an ELF file but not a readable core file: %s\n", path.c_str(),
                 why.c_str());
    return kExitFailure;
  };
  const uint8_t* eh = data.data();
  if (LoadLe16(eh + l.e_type) != elf::kEtCore) return unreadable("e_type is not ET_CORE");
  if (LoadLe16(eh + l.e_phentsize) != l.phdr_size) return unreadable("e_phentsize is not the size of a program header");
  const uint64_t phoff = LoadLe(eh + l.e_phoff, l.word);
  uint64_t phnum = LoadLe16(eh + l.e_phnum);
  if (phnum == elf::kPnXnum) {
    // ELF extended numbering: the count is in section header 0's sh_info.
    const uint64_t shoff = LoadLe(eh + l.e_shoff, l.word);
    if (LoadLe16(eh + l.e_shentsize) != l.shdr_size || shoff == 0 || !fits(shoff, l.shdr_size)) {
      return unreadable("e_phnum is PN_XNUM but section header 0 is not in the file");
    }
    phnum = LoadLe32(data.data() + shoff + l.sh_info);
  }
  if (phoff > size || phnum > (size - phoff) / l.phdr_size) {
    return unreadable("its " + std::to_string(phnum) + " program headers at offset " + std::to_string(phoff) +
                      " run past the end of the file");
  }
  std::printf("file:      %s (vmcore, ELF%d, %s)\n", path.c_str(), bits, MachineName(LoadLe16(eh + l.e_machine)));
  std::vector<std::span<const uint8_t>> notes;
  uint64_t total = 0, loads = 0, bad = 0;
  for (uint64_t i = 0; i < phnum; ++i) {
    const uint8_t* ph = data.data() + phoff + i * l.phdr_size;
    const uint32_t p_type = LoadLe32(ph + l.p_type);
    const uint64_t p_offset = LoadLe(ph + l.p_offset, l.word);
    const uint64_t p_filesz = LoadLe(ph + l.p_filesz, l.word);
    if ((p_type == elf::kPtNote || p_type == elf::kPtLoad) && !fits(p_offset, p_filesz)) {
      if (++bad <= kLoadsShown) std::printf("program header %llu points past the end of the file\n",
                                            static_cast<unsigned long long>(i));
      continue;
    }
    if (p_type == elf::kPtNote) notes.emplace_back(data.data() + p_offset, static_cast<size_t>(p_filesz));
    if (p_type == elf::kPtLoad) {
      const uint64_t p_paddr = LoadLe(ph + l.p_paddr, l.word);
      const uint64_t p_vaddr = LoadLe(ph + l.p_vaddr, l.word);
      const uint64_t p_memsz = LoadLe(ph + l.p_memsz, l.word);
      if (++loads <= kLoadsShown) {
        std::printf("load:      phys 0x%llx-0x%llx vaddr 0x%llx (%llu KiB)\n", static_cast<unsigned long long>(p_paddr),
                    static_cast<unsigned long long>(p_paddr + p_memsz - 1), static_cast<unsigned long long>(p_vaddr),
                    static_cast<unsigned long long>(p_memsz >> 10));
      }
      total += p_memsz;
    }
  }
  if (loads > kLoadsShown) {
    std::printf("load:      ... and %llu more\n", static_cast<unsigned long long>(loads - kLoadsShown));
  }
  const std::string verdict = PrintNotes(notes);
  std::printf("memory:    %llu PT_LOAD, %llu KiB (a page shown by two views counts twice)\n",
              static_cast<unsigned long long>(loads), static_cast<unsigned long long>(total >> 10));
  if (verdict.empty()) {
    // Only salvage's own note says whether pages are missing: a vmcore from elsewhere
    // (Linux's /proc/vmcore, makedumpfile) may be whole or not; nothing here tells.
    std::printf("status:    not written by salvage, completeness unknown (no SALVAGE note)\n");
    return kExitNotSalvage;
  }
  std::printf("verdict:   %s\n", EscapeForTerminal(verdict).c_str());
  const bool whole = verdict.rfind("complete=yes intact=yes", 0) == 0;
  std::printf("status:    %s\n", whole ? "complete and intact" : "INCOMPLETE");
  return whole ? kExitOk : kExitIncomplete;
}

}  // namespace

int Inspect(const std::string& path) {
  // Mapped, not read: a vmcore may be as large as the board's RAM.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) {
    std::fprintf(stderr, "salvage inspect: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    if (fd >= 0) close(fd);
    return 1;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* map = size ? mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
  close(fd);
  if (size != 0 && map == MAP_FAILED) {
    std::fprintf(stderr, "salvage inspect: cannot map %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  struct Unmap {
    void* p;
    size_t n;
    ~Unmap() {
      if (p) munmap(p, n);
    }
  } unmap{map, size};
  std::span<const uint8_t> data(static_cast<const uint8_t*>(map), size);
  if (data.size() >= elf::kEiNident && std::memcmp(data.data(), elf::kElfMag, sizeof(elf::kElfMag)) == 0) {
    for (const elf::Layout* l : {&elf::kElf64, &elf::kElf32}) {
      if (data[elf::kEiClass] == l->elf_class && data.size() >= l->ehdr_size) return InspectElf(path, data, *l);
    }
    std::fprintf(stderr, "salvage inspect: %s: unknown ELF class\n", path.c_str());
    return 1;
  }
  return InspectStream(path, data);
}

}  // namespace salvage::loader
