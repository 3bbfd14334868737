// salvage::loader::load — VMCOREINFO from /proc/kcore (see vmcoreinfo.h).
#include "board/load/vmcoreinfo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <salvage/base/byte-order.h>
#include <salvage/base/elf.h>
#include <salvage/elfcore/elfcore.h>

#include "board/proc/sysfs.h"

namespace salvage::loader::load {
namespace {

// A PT_NOTE of /proc/kcore is a few KiB (the notes of one task plus VMCOREINFO).
constexpr uint64_t kMaxNotesBytes = 1u << 20;
constexpr uint32_t kMaxPhnum = 4096;


class File {
 public:
  explicit File(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)), err_(errno) {}
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  bool ok() const { return fd_ >= 0; }
  int open_errno() const { return err_; }
  // Reads exactly out.size() bytes at `offset`; false (errno set) otherwise.
  bool ReadAt(uint64_t offset, std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n == 0) errno = EIO;
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return true;
  }

 private:
  int fd_;
  int err_;
};

std::string ErrnoMessage(const std::string& path, int err) {
  std::string msg = path + ": " + std::strerror(err);
  if (err == EACCES || err == EPERM) msg += ": run salvage as root (reading /proc/kcore needs CAP_SYS_RAWIO)";
  return msg;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

// The note walk is the image's own (elfcore::FindVmcoreinfo), as for a vmcore's notes.
std::optional<std::string> FindVmcoreinfoNote(std::span<const uint8_t> notes) {
  auto desc = elfcore::FindVmcoreinfo(notes);
  if (!desc.ok() || desc->empty()) return std::nullopt;
  std::string text(reinterpret_cast<const char*>(desc->data()), desc->size());
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

Expected<std::string> ReadVmcoreinfoFromKcore(const std::string& path) {
  File f(path);
  if (!f.ok()) return Fail(ErrnoMessage(path, f.open_errno()));
  uint8_t eh[elf::kElf64.ehdr_size] = {};
  if (!f.ReadAt(0, std::span<uint8_t>(eh, elf::kElf32.ehdr_size))) return Fail(ErrnoMessage(path, errno));
  if (std::memcmp(eh, elf::kElfMag, sizeof(elf::kElfMag)) != 0 ||
      (eh[elf::kEiClass] != elf::kElfClass32 && eh[elf::kEiClass] != elf::kElfClass64))
    return Fail(path + ": not an ELF core file");
  if (eh[elf::kEiData] != elf::kElfData2Lsb)
    return Fail(path + ": a big-endian core file: salvage's targets are little-endian");
  const bool is64 = eh[elf::kEiClass] == elf::kElfClass64;
  const elf::Layout& l = is64 ? elf::kElf64 : elf::kElf32;
  if (is64 && !f.ReadAt(0, std::span<uint8_t>(eh, l.ehdr_size))) return Fail(ErrnoMessage(path, errno));
  if (LoadLe16(eh + l.e_type) != elf::kEtCore) return Fail(path + ": not an ELF core file (e_type is not ET_CORE)");
  const uint64_t phoff = LoadLe(eh + l.e_phoff, l.word);
  const uint64_t phentsize = LoadLe16(eh + l.e_phentsize);
  const uint64_t phnum = LoadLe16(eh + l.e_phnum);
  if (phentsize != l.phdr_size || phnum == 0 || phnum > kMaxPhnum)
    return Fail(path + ": unexpected program header table (e_phentsize " + std::to_string(phentsize) + ", e_phnum " +
                std::to_string(phnum) + ")");
  std::vector<uint8_t> ph(phentsize * phnum);
  if (!f.ReadAt(phoff, ph)) return Fail(ErrnoMessage(path, errno));
  for (uint64_t i = 0; i < phnum; ++i) {
    const uint8_t* h = &ph[i * phentsize];
    if (LoadLe32(h + l.p_type) != elf::kPtNote) continue;
    const uint64_t offset = LoadLe(h + l.p_offset, l.word);
    const uint64_t filesz = LoadLe(h + l.p_filesz, l.word);
    if (filesz == 0 || filesz > kMaxNotesBytes) continue;
    std::vector<uint8_t> notes(filesz);
    if (!f.ReadAt(offset, notes)) return Fail(ErrnoMessage(path, errno));
    if (auto text = FindVmcoreinfoNote(notes)) return *text;
  }
  return Fail(path + ": no VMCOREINFO note (kernels before 4.19 do not put it in /proc/kcore)");
}

Expected<VmcoreinfoText> ReadVmcoreinfoText(std::string_view root) {
  const std::string kcore = proc::RootedPath(root, "/proc/kcore");
  const bool rooted = !root.empty() && root != "/";
  if (rooted && !Exists(kcore)) {
    const std::string desc = proc::RootedPath(root, "/vmcoreinfo-desc.txt");
    if (!Exists(desc))
      return Fail("neither " + kcore + " nor " + desc + " exists: no VMCOREINFO text under --root " + std::string(root));
    auto text = proc::ReadTextFile(desc);
    if (!text.ok()) return text.failure();
    return VmcoreinfoText{*text, desc};
  }
  auto text = ReadVmcoreinfoFromKcore(kcore);
  if (!text.ok()) return text.failure();
  return VmcoreinfoText{*text, kcore + " (VMCOREINFO note)"};
}

std::optional<uint64_t> VmcoreinfoDecimal(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != '=') continue;
    std::string_view v = line.substr(key.size() + 1);
    uint64_t n = 0;
    if (v.empty()) return std::nullopt;
    for (char c : v) {
      if (c < '0' || c > '9' || n > (~uint64_t{0} - 9) / 10) return std::nullopt;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n;
  }
  return std::nullopt;
}

}  // namespace salvage::loader::load
