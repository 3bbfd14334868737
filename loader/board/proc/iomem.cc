// salvage::loader::proc — /proc/iomem parser. Format: see iomem.h.
#include "iomem.h"

#include <algorithm>
#include <cstdio>

namespace salvage::loader::proc {
namespace {

constexpr size_t kMaxHexDigits = 16;
constexpr size_t kMaxQuoted = 100;  // characters of a bad line quoted in a message

// The line as it can be shown on a terminal: control bytes as \xNN, cut at kMaxQuoted.
std::string Quote(std::string_view line) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : line) {
    if (n++ == kMaxQuoted) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads 1 to 16 hex digits at *pos; false when there are none or too many.
bool ReadHex(std::string_view s, size_t* pos, uint64_t* out) {
  uint64_t v = 0;
  size_t n = 0;
  while (*pos < s.size() && HexDigit(s[*pos]) >= 0) {
    if (++n > kMaxHexDigits) return false;
    v = (v << 4) | static_cast<uint64_t>(HexDigit(s[*pos]));
    ++*pos;
  }
  *out = v;
  return n > 0;
}

}  // namespace

bool IsSystemRamName(std::string_view name) {
  constexpr std::string_view kRam = "System RAM";
  if (name == kRam) return true;
  return name.size() > kRam.size() + 1 && name.substr(0, kRam.size() + 2) == "System RAM (" && name.back() == ')';
}

Expected<Iomem> ParseIomem(std::string_view text, IomemAddresses addresses, std::string_view source) {
  Iomem out;
  std::vector<int32_t> open;  // open[d]: index of the last entry at depth d
  const std::string src(source);
  uint32_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;

    auto bad = [&](const std::string& why) {
      return Fail(src + " line " + std::to_string(line_no) + ": " + why + ": " + Quote(line));
    };
    size_t i = 0;
    while (i < line.size() && line[i] == ' ') ++i;
    if (i < line.size() && line[i] == '\t') return bad("indentation must be spaces, not tabs");
    if (i % 2 != 0) return bad("indentation is not a multiple of two spaces");
    const uint32_t depth = static_cast<uint32_t>(i / 2);
    if (depth > open.size()) {
      return bad(open.empty() ? "the first entry is indented"
                              : "indented more than one level below the entry before it");
    }
    IomemEntry e;
    e.depth = depth;
    e.line = line_no;
    if (!ReadHex(line, &i, &e.start) || i >= line.size() || line[i] != '-')
      return bad("expected START-END : NAME with START in hexadecimal (1 to 16 digits)");
    ++i;
    if (!ReadHex(line, &i, &e.end))
      return bad("expected START-END : NAME with END in hexadecimal (1 to 16 digits)");
    if (line.substr(i, 3) != " : ") return bad("expected \" : \" and a name after START-END");
    e.name = std::string(line.substr(i + 3));
    if (e.start > e.end) return bad("START " + Hex(e.start) + " is above END " + Hex(e.end));
    open.resize(depth);
    if (depth > 0) {
      e.parent = open[depth - 1];
      const IomemEntry& p = out.entries_[static_cast<size_t>(e.parent)];
      if (e.start < p.start || e.end > p.end) {
        return bad("not inside the entry it is indented under (line " + std::to_string(p.line) + ", " +
                   Hex(p.start) + "-" + Hex(p.end) + ")");
      }
    }
    open.push_back(static_cast<int32_t>(out.entries_.size()));
    out.entries_.push_back(std::move(e));
  }

  out.addresses_hidden_ = !out.entries_.empty() &&
                          std::all_of(out.entries_.begin(), out.entries_.end(),
                                      [](const IomemEntry& e) { return e.start == 0 && e.end == 0; });
  if (out.addresses_hidden_ && addresses == IomemAddresses::kRequired) {
    return Fail(src + " shows every address as 0: the kernel hides physical addresses from users " +
                "without CAP_SYS_ADMIN: run salvage as root");
  }
  return out;
}

std::vector<PhysRange> Iomem::SystemRam() const {
  std::vector<PhysRange> out;
  for (const IomemEntry& e : entries_) {
    if (!IsSystemRamName(e.name)) continue;
    bool nested = false;
    for (int32_t p = e.parent; p >= 0; p = entries_[static_cast<size_t>(p)].parent)
      nested = nested || IsSystemRamName(entries_[static_cast<size_t>(p)].name);
    if (!nested) out.push_back(e.Range());
  }
  std::sort(out.begin(), out.end(), [](const PhysRange& a, const PhysRange& b) { return a.base < b.base; });
  return out;
}

uint64_t Iomem::SystemRamBytes() const {
  uint64_t total = 0;
  for (const PhysRange& r : SystemRam()) total += r.size;
  return total;
}

std::vector<PhysRange> Iomem::CrashKernel() const {
  std::vector<PhysRange> out;
  for (const IomemEntry* e : Find("Crash kernel")) out.push_back(e->Range());
  std::sort(out.begin(), out.end(), [](const PhysRange& a, const PhysRange& b) { return a.base < b.base; });
  return out;
}

std::optional<PhysRange> Iomem::KernelCode() const {
  auto code = Find("Kernel code");
  if (code.empty()) return std::nullopt;
  return code.front()->Range();
}

std::optional<PhysRange> Iomem::KernelImage() const {
  auto code = Find("Kernel code");
  if (code.empty()) return std::nullopt;
  const uint64_t start = code.front()->start;
  uint64_t end = code.front()->end;
  for (const IomemEntry& e : entries_) {
    if ((e.name == "Kernel data" || e.name == "Kernel bss") && e.start >= start) end = std::max(end, e.end);
  }
  return IomemEntry{.start = start, .end = end}.Range();
}

std::vector<const IomemEntry*> Iomem::Find(std::string_view name) const {
  std::vector<const IomemEntry*> out;
  for (const IomemEntry& e : entries_)
    if (e.name == name) out.push_back(&e);
  return out;
}

}  // namespace salvage::loader::proc
