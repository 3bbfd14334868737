// salvage::loader::load — VMCOREINFO from /proc/kcore (see vmcoreinfo.h).
#include "load/vmcoreinfo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <salvage/elfcore/elfcore.h>

#include "proc/sysfs.h"

namespace salvage::loader::load {
namespace {

// ELF constants (System V gABI).
constexpr uint8_t kElfClass32 = 1, kElfClass64 = 2, kElfData2Lsb = 1;
constexpr uint16_t kEtCore = 4;
constexpr uint32_t kPtNote = 4;
// A PT_NOTE of /proc/kcore is a few KiB (the notes of one task plus VMCOREINFO).
constexpr uint64_t kMaxNotesBytes = 1u << 20;
constexpr uint32_t kMaxPhnum = 4096;

uint64_t Le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}


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
  uint8_t eh[64] = {};
  if (!f.ReadAt(0, std::span<uint8_t>(eh, 52))) return Fail(ErrnoMessage(path, errno));
  if (std::memcmp(eh, "\x7f" "ELF", 4) != 0 || (eh[4] != kElfClass32 && eh[4] != kElfClass64))
    return Fail(path + ": not an ELF core file");
  if (eh[5] != kElfData2Lsb) return Fail(path + ": a big-endian core file: salvage's targets are little-endian");
  const bool is64 = eh[4] == kElfClass64;
  if (is64 && !f.ReadAt(0, std::span<uint8_t>(eh, 64))) return Fail(ErrnoMessage(path, errno));
  if (Le(eh + 16, 2) != kEtCore) return Fail(path + ": not an ELF core file (e_type is not ET_CORE)");
  const uint64_t phoff = is64 ? Le(eh + 32, 8) : Le(eh + 28, 4);
  const uint64_t phentsize = is64 ? Le(eh + 54, 2) : Le(eh + 42, 2);
  const uint64_t phnum = is64 ? Le(eh + 56, 2) : Le(eh + 44, 2);
  if (phentsize != (is64 ? 56u : 32u) || phnum == 0 || phnum > kMaxPhnum)
    return Fail(path + ": unexpected program header table (e_phentsize " + std::to_string(phentsize) + ", e_phnum " +
                std::to_string(phnum) + ")");
  std::vector<uint8_t> ph(phentsize * phnum);
  if (!f.ReadAt(phoff, ph)) return Fail(ErrnoMessage(path, errno));
  for (uint64_t i = 0; i < phnum; ++i) {
    const uint8_t* h = &ph[i * phentsize];
    if (Le(h, 4) != kPtNote) continue;
    const uint64_t offset = is64 ? Le(h + 8, 8) : Le(h + 4, 4);
    const uint64_t filesz = is64 ? Le(h + 32, 8) : Le(h + 16, 4);
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
