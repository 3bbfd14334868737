// salvage::loader::load — the configuration file (see config.h).
#include "board/load/config.h"

#include <array>
#include <set>

#include "board/proc/sysfs.h"

namespace salvage::loader::load {
namespace {

constexpr std::array<std::string_view, 11> kKeys = {
    "USE_SALVAGE",    "SALVAGE_SINK",  "SALVAGE_TARGET",    "SALVAGE_AFTER", "SALVAGE_APPEND",
    "SALVAGE_IMAGE",  "SALVAGE_PURGATORY", "SALVAGE_DTB",   "SALVAGE_FILE",  "SALVAGE_FILE_SIZE", "SALVAGE_CONFIRM_WHOLE_DEVICE",
};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

bool IsKeyChar(char c, bool first) {
  return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (!first && c >= '0' && c <= '9');
}

// The value after '=': unquoted, "double" or 'single' quoted pieces, as a shell reads
// one word (without expansion). Stops at a blank; what follows must be a comment.
// Returns false with `why` set when the line is malformed.
bool ReadValue(std::string_view s, std::string* out, std::string* why) {
  size_t i = 0;
  while (i < s.size() && !IsBlank(s[i])) {
    const char c = s[i];
    if (c == '\'') {
      const size_t close = s.find('\'', i + 1);
      if (close == std::string_view::npos) {
        *why = "the single quote is not closed";
        return false;
      }
      out->append(s.substr(i + 1, close - i - 1));
      i = close + 1;
    } else if (c == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '"') {
          closed = true;
          ++i;
          break;
        }
        if (s[i] == '\\' && i + 1 < s.size() &&
            (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$' || s[i + 1] == '`')) {
          out->push_back(s[i + 1]);
          i += 2;
          continue;
        }
        if (s[i] == '$' || s[i] == '`') {
          *why = "salvage does not expand $ or ` in values: write the value itself";
          return false;
        }
        out->push_back(s[i++]);
      }
      if (!closed) {
        *why = "the double quote is not closed";
        return false;
      }
    } else if (c == '\\' && i + 1 < s.size()) {
      out->push_back(s[i + 1]);
      i += 2;
    } else if (c == '$' || c == '`') {
      *why = "salvage does not expand $ or ` in values: write the value itself";
      return false;
    } else if (c == ';' || c == '&' || c == '|' || c == '<' || c == '>' || c == '(' || c == ')') {
      *why = std::string("'") + c + "' in a value: quote the value";
      return false;
    } else {
      out->push_back(c);
      ++i;
    }
  }
  while (i < s.size() && IsBlank(s[i])) ++i;
  if (i < s.size() && s[i] != '#') {
    *why = "more than one word after '=': quote a value that has spaces (KEY=\"a b\")";
    return false;
  }
  return true;
}

std::string KnownKeys() {
  std::string out;
  for (std::string_view k : kKeys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

}  // namespace

Expected<Choices> ParseConfig(std::string_view text, std::string_view source) {
  Choices c;
  std::set<std::string> seen;
  uint32_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string where = std::string(source) + ":" + std::to_string(line_no) + ": ";
    size_t i = 0;
    while (i < line.size() && IsBlank(line[i])) ++i;
    if (i == line.size() || line[i] == '#') continue;
    std::string_view rest = line.substr(i);
    if (rest.starts_with("export") && rest.size() > 6 && IsBlank(rest[6])) {
      rest.remove_prefix(6);
      while (!rest.empty() && IsBlank(rest.front())) rest.remove_prefix(1);
    }
    size_t k = 0;
    while (k < rest.size() && IsKeyChar(rest[k], k == 0)) ++k;
    if (k == 0 || k == rest.size() || rest[k] != '=') {
      size_t b = k;
      while (b < rest.size() && IsBlank(rest[b])) ++b;
      if (k > 0 && b > k && b < rest.size() && rest[b] == '=')
        return Fail(where + "no spaces around '=' (write KEY=VALUE)");
      return Fail(where + "expected KEY=VALUE, found \"" + std::string(rest.substr(0, 60)) + "\"");
    }
    const std::string key(rest.substr(0, k));
    bool known = false;
    for (std::string_view kk : kKeys) known = known || kk == key;
    if (!known) return Fail(where + "unknown key " + key + " (salvage knows " + KnownKeys() + ")");
    if (!seen.insert(key).second) return Fail(where + key + " is set a second time");
    std::string value, why;
    if (!ReadValue(rest.substr(k + 1), &value, &why)) return Fail(where + key + ": " + why);
    if (key == "USE_SALVAGE" || key == "SALVAGE_CONFIRM_WHOLE_DEVICE") {
      if (value.empty()) continue;
      std::optional<bool>& flag = key == "USE_SALVAGE" ? c.enabled : c.confirm_whole_device;
      if (value == "1" || value == "yes" || value == "true") {
        flag = true;
      } else if (value == "0" || value == "no" || value == "false") {
        flag = false;
      } else {
        return Fail(where + key + " must be 1 or 0, not \"" + value + "\"");
      }
      continue;
    }
    if (value.empty()) continue;  // KEY= : the default
    if (key == "SALVAGE_SINK") c.sink = value;
    else if (key == "SALVAGE_TARGET") c.target = value;
    else if (key == "SALVAGE_AFTER") c.after = value;
    else if (key == "SALVAGE_APPEND") c.append = value;
    else if (key == "SALVAGE_IMAGE") c.image = value;
    else if (key == "SALVAGE_PURGATORY") c.purgatory = value;
    else if (key == "SALVAGE_DTB") c.dtb = value;
    else if (key == "SALVAGE_FILE") c.file = value;
    else if (key == "SALVAGE_FILE_SIZE") c.file_size = value;
  }
  return c;
}

Choices Merge(const Choices& cli, const Choices& file) {
  Choices m = cli;
  if (!m.enabled) m.enabled = file.enabled;
  if (!m.confirm_whole_device) m.confirm_whole_device = file.confirm_whole_device;
  if (!m.sink) m.sink = file.sink;
  if (!m.target) m.target = file.target;
  if (!m.after) m.after = file.after;
  if (!m.append) m.append = file.append;
  if (!m.image) m.image = file.image;
  if (!m.purgatory) m.purgatory = file.purgatory;
  if (!m.dtb) m.dtb = file.dtb;
  if (!m.file) m.file = file.file;
  if (!m.file_size) m.file_size = file.file_size;
  return m;
}

std::string LibDir() { return SALVAGE_LIBDIR; }

std::string DefaultConfigPath(std::string_view root) { return proc::RootedPath(root, "/etc/salvage.conf"); }

}  // namespace salvage::loader::load
