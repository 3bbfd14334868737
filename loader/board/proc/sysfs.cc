// salvage::loader::proc — sysfs/procfs readers for kdump. Formats: see sysfs.h.
#include "sysfs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <salvage/base/elf.h>

namespace salvage::loader::proc {
namespace {

using elf::kEmAarch64;
using elf::kEmArm;
using elf::kEmRiscv;
constexpr uint32_t kMaxCpu = 65535;
// /proc/iomem of a large machine is tens of KiB; nothing read here is near this.
constexpr size_t kMaxFileBytes = 16u << 20;

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80)) {
    if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out + (s.size() > 80 ? "...\"" : "\"");
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads digits in `base` (10 or 16; for 16 an optional 0x) at *pos. False when there are
// none or the value passes 2^64.
bool ReadNumber(std::string_view s, size_t* pos, unsigned base, uint64_t* out) {
  size_t i = *pos;
  if (base == 16 && i + 1 < s.size() && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) i += 2;
  const size_t first = i;
  uint64_t v = 0;
  while (i < s.size()) {
    const int d = HexDigit(s[i]);
    if (d < 0 || static_cast<unsigned>(d) >= base) break;
    if (v > (~uint64_t{0} - static_cast<uint64_t>(d)) / base) return false;
    v = v * base + static_cast<uint64_t>(d);
    ++i;
  }
  if (i == first) return false;
  *pos = i;
  *out = v;
  return true;
}

bool OnlySpaceFrom(std::string_view s, size_t pos) {
  for (; pos < s.size(); ++pos)
    if (!IsSpace(s[pos])) return false;
  return true;
}

Expected<uint64_t> ParseOneNumber(std::string_view text, std::string_view source, unsigned base) {
  size_t pos = 0;
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  uint64_t v = 0;
  if (!ReadNumber(text, &pos, base, &v) || !OnlySpaceFrom(text, pos)) {
    return Fail(std::string(source) + ": expected one " + (base == 16 ? "hexadecimal" : "decimal") +
                " number, found " + Quote(text));
  }
  return v;
}

// The path does not exist (ENOENT or ENOTDIR), as opposed to existing but unreadable: a
// missing sysfs file means the kernel lacks a feature.
bool IsMissing(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return false;
  return errno == ENOENT || errno == ENOTDIR;
}

Expected<std::string> ReadKernelFile(std::string_view root, std::string_view path, const char* when_missing) {
  const std::string full = RootedPath(root, path);
  auto text = ReadTextFile(full);
  if (!text.ok() && IsMissing(full)) return Fail(full + " does not exist: " + when_missing);
  return text;
}

Expected<bool> ReadFlag(std::string_view root, std::string_view path, const char* when_missing) {
  auto text = ReadKernelFile(root, path, when_missing);
  if (!text.ok()) return text.failure();
  const std::string full = RootedPath(root, path);
  auto v = ParseDecimalFile(*text, full);
  if (!v.ok()) return v.failure();
  if (*v > 1) return Fail(full + ": expected 0 or 1, found " + Quote(*text));
  return *v == 1;
}

}  // namespace

std::string RootedPath(std::string_view root, std::string_view path) {
  std::string r(root);
  while (!r.empty() && r.back() == '/') r.pop_back();
  std::string p(path);
  if (p.empty() || p.front() != '/') p.insert(p.begin(), '/');
  return r + p;
}

Expected<std::string> ReadTextFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string msg = path + ": " + std::strerror(err);
    if (err == EACCES || err == EPERM) msg += ": run salvage as root";
    return Fail(msg);
  }
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      std::string msg = path + ": " + std::strerror(err);
      if (err == EACCES || err == EPERM) msg += ": run salvage as root";
      return Fail(msg);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxFileBytes) {
      ::close(fd);
      return Fail(path + ": larger than 16 MiB: not a kernel file");
    }
  }
  ::close(fd);
  return out;
}

uint64_t CrashNoteBufSize(uint16_t e_machine) {
  // 2 note headers + "CORE\0" padded + sizeof(struct elf_prstatus): see sysfs.h.
  constexpr uint64_t kHeaders = 2 * 12 + 8;
  switch (e_machine) {
    case kEmAarch64: return kHeaders + 112 + 34 * 8 + 8;
    case kEmRiscv: return kHeaders + 112 + 32 * 8 + 8;
    case kEmArm: return kHeaders + 72 + 18 * 4 + 4;
    default: return 0;
  }
}

Expected<std::vector<uint32_t>> ParseCpuList(std::string_view text, std::string_view source) {
  auto bad = [&](const std::string& why) {
    return Fail(std::string(source) + ": " + why + " in the CPU list " + Quote(text));
  };
  std::string_view s = text;
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  if (s.empty()) return bad("no CPU");
  std::vector<uint32_t> cpus;
  size_t pos = 0;
  while (true) {
    uint64_t first = 0, last = 0;
    if (!ReadNumber(s, &pos, 10, &first)) return bad("a CPU number expected");
    last = first;
    if (pos < s.size() && s[pos] == '-') {
      ++pos;
      if (!ReadNumber(s, &pos, 10, &last)) return bad("a CPU number expected after '-'");
      if (last < first) return bad("a range ends below its start");
    }
    if (last > kMaxCpu) return bad("CPU number above 65535");
    for (uint64_t c = first; c <= last; ++c) cpus.push_back(static_cast<uint32_t>(c));
    if (pos == s.size()) break;
    if (s[pos] != ',') return bad("',' expected");
    ++pos;
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

Expected<uint64_t> ParseHexFile(std::string_view text, std::string_view source) {
  return ParseOneNumber(text, source, 16);
}

Expected<uint64_t> ParseDecimalFile(std::string_view text, std::string_view source) {
  return ParseOneNumber(text, source, 10);
}

std::optional<uint64_t> KallsymsAddress(std::string_view text, std::string_view name) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    // "ADDRESS TYPE NAME" or "ADDRESS TYPE NAME\t[module]".
    const size_t a = line.find(' ');
    if (a == std::string_view::npos || a + 3 > line.size() || line[a + 2] != ' ') continue;
    std::string_view sym = line.substr(a + 3);
    if (const size_t tab = sym.find('\t'); tab != std::string_view::npos) sym = sym.substr(0, tab);
    if (sym != name) continue;
    size_t p = 0;
    uint64_t addr = 0;
    if (!ReadNumber(line, &p, 16, &addr) || p != a || addr == 0) return std::nullopt;
    return addr;
  }
  return std::nullopt;
}

Expected<PhysRange> ParseVmcoreinfoFile(std::string_view text, std::string_view source) {
  auto bad = [&](const std::string& why) {
    return Fail(std::string(source) + ": " + why + ", found " + Quote(text));
  };
  size_t pos = 0;
  uint64_t addr = 0, size = 0;
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  if (!ReadNumber(text, &pos, 16, &addr)) return bad("expected \"ADDRESS SIZE\" in hexadecimal");
  if (pos >= text.size() || (text[pos] != ' ' && text[pos] != '\t')) return bad("expected \"ADDRESS SIZE\" in hexadecimal");
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  if (!ReadNumber(text, &pos, 16, &size) || !OnlySpaceFrom(text, pos))
    return bad("expected \"ADDRESS SIZE\" in hexadecimal");
  if (size == 0) return bad("the VMCOREINFO note has size 0");
  PhysRange r;
  if (!PhysRange::Make(addr, size, &r)) return bad("the VMCOREINFO note wraps past 2^64");
  return r;
}

Expected<CrashNotes> ReadCrashNotes(std::string_view root, uint16_t e_machine) {
  const std::string cpu_dir = RootedPath(root, "/sys/devices/system/cpu");
  std::vector<uint32_t> cpus;
  const std::string possible_path = cpu_dir + "/possible";
  auto possible = ReadTextFile(possible_path);
  if (possible.ok()) {
    auto list = ParseCpuList(*possible, possible_path);
    if (!list.ok()) return list.failure();
    cpus = std::move(*list);
  } else if (IsMissing(possible_path)) {
    // Old or unusual kernels: take the cpuN directories.
    std::error_code ec;
    for (std::filesystem::directory_iterator it(cpu_dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.size() < 4 || name.compare(0, 3, "cpu") != 0) continue;
      size_t pos = 3;
      uint64_t n = 0;
      if (ReadNumber(name, &pos, 10, &n) && pos == name.size() && n <= kMaxCpu) cpus.push_back(static_cast<uint32_t>(n));
    }
    if (ec || cpus.empty())
      return Fail(cpu_dir + ": no \"possible\" file and no cpuN directory: is sysfs mounted?");
    std::sort(cpus.begin(), cpus.end());
  } else {
    return possible.failure();
  }

  const uint64_t default_size = CrashNoteBufSize(e_machine);
  CrashNotes out;
  for (uint32_t cpu : cpus) {
    const std::string dir = cpu_dir + "/cpu" + std::to_string(cpu);
    const std::string notes_path = dir + "/crash_notes";
    if (IsMissing(notes_path)) {
      out.missing.push_back(cpu);
      continue;
    }
    auto text = ReadTextFile(notes_path);
    if (!text.ok()) return text.failure();
    auto addr = ParseHexFile(*text, notes_path);
    if (!addr.ok()) return addr.failure();
    if (*addr == 0) return Fail(notes_path + ": address 0: the kernel did not allocate crash notes");
    CpuCrashNote note{.cpu = cpu};
    const std::string size_path = dir + "/crash_notes_size";
    uint64_t size = default_size;
    if (!IsMissing(size_path)) {
      auto size_text = ReadTextFile(size_path);
      if (!size_text.ok()) return size_text.failure();
      auto parsed = ParseDecimalFile(*size_text, size_path);
      if (!parsed.ok()) return parsed.failure();
      if (*parsed == 0) return Fail(size_path + ": size 0");
      size = *parsed;
      note.size_from_kernel = true;
    } else if (size == 0) {
      return Fail(size_path + " does not exist and the crash note size of this architecture (e_machine " +
                  std::to_string(e_machine) + ") is not known");
    }
    if (!PhysRange::Make(*addr, size, &note.note)) return Fail(notes_path + ": the note buffer wraps past 2^64");
    out.cpus.push_back(note);
  }
  if (out.cpus.empty()) {
    return Fail("no " + cpu_dir + "/cpuN/crash_notes for any possible CPU: the kernel was built without "
                "CONFIG_CRASH_DUMP (kdump) support");
  }
  return out;
}

Expected<PhysRange> ReadVmcoreinfo(std::string_view root) {
  auto text = ReadKernelFile(root, "/sys/kernel/vmcoreinfo",
                             "the kernel was built without CONFIG_VMCORE_INFO (CONFIG_CRASH_CORE on older kernels)");
  if (!text.ok()) return text.failure();
  return ParseVmcoreinfoFile(*text, RootedPath(root, "/sys/kernel/vmcoreinfo"));
}

Expected<uint64_t> ReadKexecCrashSize(std::string_view root) {
  auto text = ReadKernelFile(root, "/sys/kernel/kexec_crash_size",
                             "the kernel was built without CONFIG_CRASH_DUMP (kdump) support");
  if (!text.ok()) return text.failure();
  return ParseDecimalFile(*text, RootedPath(root, "/sys/kernel/kexec_crash_size"));
}

Expected<bool> ReadKexecCrashLoaded(std::string_view root) {
  return ReadFlag(root, "/sys/kernel/kexec_crash_loaded",
                  "the kernel was built without CONFIG_CRASH_DUMP (kdump) support");
}

Expected<bool> ReadKexecLoadDisabled(std::string_view root) {
  return ReadFlag(root, "/proc/sys/kernel/kexec_load_disabled",
                  "the kernel was built without CONFIG_KEXEC_CORE (kexec) support");
}

Expected<std::string> ReadIomemText(std::string_view root) {
  return ReadKernelFile(root, "/proc/iomem", "is /proc mounted?");
}

Expected<std::string> ReadCmdline(std::string_view root) {
  return ReadKernelFile(root, "/proc/cmdline", "is /proc mounted?");
}

Expected<uint64_t> ReadKallsymsAddress(std::string_view root, std::string_view name) {
  auto text = ReadKernelFile(root, "/proc/kallsyms", "the kernel was built without CONFIG_KALLSYMS");
  if (!text.ok()) return text.failure();
  if (auto addr = KallsymsAddress(*text, name)) return *addr;
  return Fail(RootedPath(root, "/proc/kallsyms") + ": no address for " + std::string(name) +
              " (no such symbol, or kernel.kptr_restrict hides the addresses)");
}

}  // namespace salvage::loader::proc
