// salvage::loader::load — the state file (see state.h).
#include "board/load/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "common/text.h"
#include "board/proc/sysfs.h"

namespace salvage::loader::load {
namespace {

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  unsigned base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  uint64_t v = 0;
  for (char c : s) {
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else return false;
    if (v > (~uint64_t{0} - d) / base) return false;
    v = v * base + d;
  }
  *out = v;
  return true;
}

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// Values are single lines; a newline in a path would break the format.
std::string OneLine(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

}  // namespace

std::string StatePath(std::string_view root) { return proc::RootedPath(root, "/run/salvage/loaded"); }

std::string FormatState(const LoadState& s) {
  std::string out = "# written by `salvage load`; removed by `salvage unload`; read by `salvage status`\n";
  out += "version=1\n";
  out += "loaded_at=" + std::to_string(s.loaded_at) + "\n";
  if (!s.boot_id.empty()) out += "boot_id=" + OneLine(s.boot_id) + "\n";
  out += "arch=" + OneLine(s.arch) + "\n";
  out += "image=" + OneLine(s.image) + "\n";
  out += "purgatory=" + OneLine(s.purgatory) + "\n";
  out += "dtb=" + OneLine(s.dtb) + "\n";
  out += "options=" + OneLine(s.options) + "\n";
  out += "append=" + OneLine(s.append) + "\n";
  out += "reservation=" + Hex(s.reservation.base) + " " + Hex(s.reservation.size) + "\n";
  out += "entry=" + Hex(s.entry) + "\n";
  for (const StateSegment& seg : s.segments) {
    out += "segment=" + seg.name + " " + Hex(seg.addr) + " " + Hex(seg.bufsz) + " " + Hex(seg.memsz) + " " +
           seg.sha256 + "\n";
  }
  return out;
}

Expected<LoadState> ParseState(std::string_view text, std::string_view source) {
  LoadState s;
  bool have_time = false;
  uint32_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const std::string where = std::string(source) + ":" + std::to_string(line_no) + ": ";
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return Fail(where + "expected key=value");
    const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    uint64_t n = 0;
    if (key == "version") {
      if (value != "1") return Fail(where + "state file version " + std::string(value) + ": this salvage knows 1");
    } else if (key == "loaded_at") {
      if (!ParseU64(value, &n)) return Fail(where + "loaded_at is not a number");
      s.loaded_at = static_cast<int64_t>(n);
      have_time = true;
    } else if (key == "boot_id") {
      s.boot_id = value;
    } else if (key == "arch") {
      s.arch = value;
    } else if (key == "image") {
      s.image = value;
    } else if (key == "purgatory") {
      s.purgatory = value;
    } else if (key == "dtb") {
      s.dtb = value;
    } else if (key == "options") {
      s.options = value;
    } else if (key == "append") {
      s.append = value;
    } else if (key == "entry") {
      if (!ParseU64(value, &s.entry)) return Fail(where + "entry is not a number");
    } else if (key == "reservation") {
      const auto w = Words(value);
      if (w.size() != 2 || !ParseU64(w[0], &s.reservation.base) || !ParseU64(w[1], &s.reservation.size))
        return Fail(where + "expected reservation=BASE SIZE");
    } else if (key == "segment") {
      const auto w = Words(value);
      StateSegment seg;
      if (w.size() != 5 || !ParseU64(w[1], &seg.addr) || !ParseU64(w[2], &seg.bufsz) || !ParseU64(w[3], &seg.memsz))
        return Fail(where + "expected segment=NAME ADDR BUFSZ MEMSZ SHA256");
      seg.name = w[0];
      seg.sha256 = w[4];
      s.segments.push_back(seg);
    }
  }
  if (!have_time) return Fail(std::string(source) + ": no loaded_at: not a salvage state file");
  return s;
}

Expected<void> WriteStateFile(const std::string& path, const LoadState& state) {
  const std::filesystem::path p(path);
  std::error_code ec;
  std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) return Fail(p.parent_path().string() + ": cannot create the directory: " + ec.message());
  ::chmod(p.parent_path().c_str(), 0755);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(tmp + ": " + std::strerror(errno));
  const std::string text = FormatState(state);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Fail(tmp + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Fail(path + ": " + std::strerror(err));
  }
  return {};
}

Expected<LoadState> ReadStateFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) return LoadState{};
  auto text = proc::ReadTextFile(path);
  if (!text.ok()) return text.failure();
  return ParseState(*text, path);
}

Expected<bool> RemoveStateFile(const std::string& path) {
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  return Fail(path + ": cannot remove it: " + std::strerror(errno));
}

std::string FormatTime(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  if (!gmtime_r(&t, &tm)) return std::to_string(unix_seconds);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace salvage::loader::load
