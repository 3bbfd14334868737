#include "options.h"

namespace salvage {
namespace {

bool IsSeparator(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0'; }

// "size@addr" or "addr" (elfcorehdr=) / "size" or "size@start" (mem=).
bool ParseSizeAt(std::string_view v, std::optional<uint64_t>* first, std::optional<uint64_t>* second) {
  const size_t at = v.find('@');
  if (at == std::string_view::npos) {
    *first = ParseMemSize(v);
    return first->has_value();
  }
  *first = ParseMemSize(v.substr(0, at));
  *second = ParseMemSize(v.substr(at + 1));
  return first->has_value() && second->has_value();
}

// Appends words to a fixed buffer; a word that does not fit whole is left out.
class WordWriter {
 public:
  explicit WordWriter(std::span<char> out) : out_(out) {}
  /// Appends " " (unless first) and the concatenation a + b + c.
  void Word(std::string_view a, std::string_view b = {}, std::string_view c = {}) {
    const std::string_view parts[] = {a, b, c};
    size_t need = len_ == 0 ? 0 : 1;
    for (std::string_view p : parts) need += p.size();
    if (need > out_.size() - len_) return;
    if (len_ != 0) out_[len_++] = ' ';
    for (std::string_view p : parts) {
      for (char c : p) out_[len_++] = c;
    }
  }
  size_t size() const { return len_; }

 private:
  std::span<char> out_;
  size_t len_ = 0;
};

}  // namespace

size_t FormatStreamOptions(const Options& o, std::span<char> out) {
  WordWriter w(out);
  const std::string_view sink = o.sink == SinkKind::kVirtioBlk ? "virtio-blk" : o.sink == SinkKind::kSd ? "sd" : "uart";
  char addr[20] = "";  // "@0x" + 16 hex digits
  std::string_view at;
  if (o.sink != SinkKind::kUart && o.sink_address) {
    static constexpr char kHex[] = "0123456789abcdef";
    char digits[16];
    size_t n = 0;
    uint64_t v = *o.sink_address;
    do {
      digits[n++] = kHex[v & 15];
      v >>= 4;
    } while (v != 0);
    size_t len = 0;
    addr[len++] = '@';
    addr[len++] = '0';
    addr[len++] = 'x';
    while (n > 0) addr[len++] = digits[--n];
    at = std::string_view(addr, len);
  }
  w.Word("salvage.sink=", sink, at);
  if (o.sink != SinkKind::kUart) w.Word("salvage.target=", o.target);
  const std::string_view after =
      o.after == AfterAction::kReboot ? "reboot" : o.after == AfterAction::kHalt ? "halt" : "poweroff";
  w.Word("salvage.after=", after);
  return w.size();
}

std::optional<uint64_t> ParseMemSize(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t base = 10;
  size_t i = 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    i = 2;
  } else if (text.size() > 1 && text[0] == '0') {
    base = 8;
    i = 1;
  }
  uint64_t v = 0;
  size_t digits = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    uint64_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint64_t>(c - '0');
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = static_cast<uint64_t>(c - 'a' + 10);
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      d = static_cast<uint64_t>(c - 'A' + 10);
    } else {
      break;
    }
    if (d >= base) return std::nullopt;
    if (v > (UINT64_MAX - d) / base) return std::nullopt;
    v = v * base + d;
    ++digits;
  }
  if (digits == 0 && base != 8) return std::nullopt;
  if (i < text.size()) {
    int shift;
    switch (text[i]) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      default: return std::nullopt;
    }
    if (i + 1 != text.size()) return std::nullopt;
    if (v > (UINT64_MAX >> shift)) return std::nullopt;
    v <<= shift;
  }
  return v;
}

Options ParseOptions(std::string_view bootargs) { return ParseOptions(bootargs, {}); }

const char* BlockTargetRefusal(const Options& o) {
  if (o.sink == SinkKind::kUart) return nullptr;
  if (o.target.empty()) return kMsgNoTarget;
  if (o.target == "disk" && !o.confirm_whole_disk) return kMsgWholeDiskUnconfirmed;
  return nullptr;
}

namespace {
void ParseInto(std::string_view bootargs, Options& o);
}

Options ParseOptions(std::string_view bootargs, std::string_view salvage_options) {
  Options o;
  ParseInto(bootargs, o);
  ParseInto(salvage_options, o);
  return o;
}

namespace {
void ParseInto(std::string_view bootargs, Options& o) {
  auto malformed = [&](std::string_view word) {
    if (o.malformed_count < Options::kMaxUnknown) o.malformed[o.malformed_count++] = word;
  };
  size_t i = 0;
  while (i < bootargs.size()) {
    while (i < bootargs.size() && IsSeparator(bootargs[i])) ++i;
    const size_t start = i;
    while (i < bootargs.size() && !IsSeparator(bootargs[i])) ++i;
    const std::string_view word = bootargs.substr(start, i - start);
    if (word.starts_with("elfcorehdr=")) {
      std::optional<uint64_t> a, b;
      if (ParseSizeAt(word.substr(11), &a, &b)) {
        // elfcorehdr=addr, or elfcorehdr=size@addr
        o.elfcorehdr_addr = b ? b : a;
        o.elfcorehdr_size = b ? a : std::nullopt;
      } else {
        malformed(word);
      }
      continue;
    }
    if (word.starts_with("mem=")) {
      std::optional<uint64_t> a, b;
      if (ParseSizeAt(word.substr(4), &a, &b)) {
        o.mem_size = a;
        o.mem_start = b;
      } else {
        malformed(word);
      }
      continue;
    }
    if (!word.starts_with("salvage.")) continue;
    if (word.starts_with("salvage.sink=")) {
      const std::string_view v = word.substr(13);
      if (v == "uart") {
        o.sink = SinkKind::kUart;
        o.sink_address.reset();
      } else if (v == "virtio-blk") {
        o.sink = SinkKind::kVirtioBlk;
        o.sink_address.reset();
      } else if (v.starts_with("virtio-blk@") && ParseMemSize(v.substr(11))) {
        o.sink = SinkKind::kVirtioBlk;
        o.sink_address = ParseMemSize(v.substr(11));
      } else if (v == "sd") {
        o.sink = SinkKind::kSd;
        o.sink_address.reset();
      } else if (v.starts_with("sd@") && ParseMemSize(v.substr(3))) {
        o.sink = SinkKind::kSd;
        o.sink_address = ParseMemSize(v.substr(3));
      } else {
        malformed(word);
      }
    } else if (word.starts_with("salvage.target=")) {
      if (word.size() > 15) {
        o.target = word.substr(15);
      } else {
        malformed(word);
      }
    } else if (word.starts_with("salvage.confirm=")) {
      if (word.substr(16) == "whole-disk") {
        o.confirm_whole_disk = true;
      } else {
        malformed(word);
      }
    } else if (word.starts_with("salvage.after=")) {
      const std::string_view v = word.substr(14);
      if (v == "poweroff") {
        o.after = AfterAction::kPowerOff;
      } else if (v == "reboot") {
        o.after = AfterAction::kReboot;
      } else if (v == "halt") {
        o.after = AfterAction::kHalt;
      } else {
        malformed(word);
      }
    } else if (word == "salvage.debug=fault") {
      o.debug_fault = true;
    } else if (word == "salvage.debug=report") {
      o.debug_report_only = true;
    } else if (word == "salvage.debug=copy-bench") {
      o.debug_copy_bench = true;
    } else if (word == "salvage.debug=virtio-busy") {
      o.debug_virtio_busy = true;
    } else if (word == "salvage.debug=sd-busy") {
      o.debug_sd_busy = true;
    } else if (word == "salvage.debug=sd-pins-sdhost") {
      o.debug_sd_pins_sdhost = true;
    } else if (o.unknown_count < Options::kMaxUnknown) {
      o.unknown[o.unknown_count++] = word;
    }
  }
}
}  // namespace

}  // namespace salvage
