// salvage::loader::proc — crashkernel= parsing, following kernel/crash_reserve.c
// (parse_crashkernel_simple, parse_crashkernel_mem, parse_crashkernel_suffix,
// get_last_crashkernel) and lib/cmdline.c (memparse). Syntax: see crashkernel.h.
#include "crashkernel.h"

#include <cstdio>
#include <vector>

namespace salvage::loader::proc {
namespace {

constexpr uint64_t k128MiB = 128 * kMiB;

std::string Quoted(std::string_view s) {
  std::string out;  // built by appending: GCC 12 -O2 warns (-Wrestrict) on "\"" + std::string
  out.reserve(s.size() + 2);
  out += '"';
  out.append(s);
  out += '"';
  return out;
}

// A size for messages: "64 MiB" when it is a whole number of MiB, else bytes in hex.
std::string Size(uint64_t bytes) {
  char buf[48];
  if (bytes % kMiB == 0) {
    std::snprintf(buf, sizeof(buf), "%llu MiB", static_cast<unsigned long long>(bytes / kMiB));
  } else {
    std::snprintf(buf, sizeof(buf), "0x%llx bytes", static_cast<unsigned long long>(bytes));
  }
  return buf;
}

int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

enum class Parsed { kOk, kNone, kOverflow };

// memparse(): simple_strtoull(s, &end, 0) then an optional K/M/G/T/P/E suffix. Base 0 as
// the kernel's _parse_integer_fixup_radix picks it: "0x" followed by a hex digit is hex,
// another leading 0 octal, else decimal. kNone when no digit was read (the kernel's
// "cur == tmp"), with *pos unchanged. Unlike the kernel, which wraps, kOverflow past 2^64.
Parsed MemParse(std::string_view s, size_t* pos, uint64_t* out) {
  size_t i = *pos;
  unsigned base = 10;
  if (i < s.size() && s[i] == '0') {
    base = 8;
    if (i + 2 < s.size() && (s[i + 1] == 'x' || s[i + 1] == 'X') && DigitValue(s[i + 2]) < 16) {
      base = 16;
      i += 2;
    }
  }
  const size_t digits_at = i;
  uint64_t v = 0;
  while (i < s.size() && static_cast<unsigned>(DigitValue(s[i])) < base) {
    const uint64_t d = static_cast<uint64_t>(DigitValue(s[i]));
    if (v > (~uint64_t{0} - d) / base) return Parsed::kOverflow;
    v = v * base + d;
    ++i;
  }
  if (i == digits_at) return Parsed::kNone;
  unsigned shift = 0;
  if (i < s.size()) {
    switch (s[i]) {
      case 'E': case 'e': shift = 60; break;
      case 'P': case 'p': shift = 50; break;
      case 'T': case 't': shift = 40; break;
      case 'G': case 'g': shift = 30; break;
      case 'M': case 'm': shift = 20; break;
      case 'K': case 'k': shift = 10; break;
      default: break;
    }
  }
  if (shift != 0) {
    if (v > (~uint64_t{0} >> shift)) return Parsed::kOverflow;
    v <<= shift;
    ++i;
  }
  *out = v;
  *pos = i;
  return Parsed::kOk;
}

class ValueParser {
 public:
  ValueParser(std::string_view value, uint64_t system_ram, const CrashkernelOptions& options)
      : s_(value), ram_(system_ram), options_(options) {}

  Expected<CrashkernelValue> Run() {
    if (ram_ == 0) return Error("the RAM size is not known (0)");
    CrashkernelValue v;
    for (auto [suffix, syntax] : {std::pair{std::string_view(",high"), CrashkernelSyntax::kHigh},
                                  std::pair{std::string_view(",low"), CrashkernelSyntax::kLow},
                                  std::pair{std::string_view(",cma"), CrashkernelSyntax::kCma}}) {
      if (s_.size() >= suffix.size() && s_.substr(s_.size() - suffix.size()) == suffix) {
        v.syntax = syntax;
        return Suffix(suffix, v);
      }
    }
    if (s_.find(':') != std::string_view::npos) {
      v.syntax = CrashkernelSyntax::kRanges;
      return Ranges(v);
    }
    v.syntax = CrashkernelSyntax::kSize;
    return Simple(v);
  }

 private:
  Failure Error(const std::string& why) const { return Fail("crashkernel=" + std::string(s_) + ": " + why); }

  // Reads a number at pos_ or fails with "`what` expected".
  bool Number(const char* what, uint64_t* out, Failure* failure) {
    switch (MemParse(s_, &pos_, out)) {
      case Parsed::kOk: return true;
      case Parsed::kNone:
        *failure = Error(std::string(what) + " expected at " +
                         (pos_ < s_.size() ? Quoted(s_.substr(pos_)) : std::string("the end")));
        return false;
      case Parsed::kOverflow:
        *failure = Error("number at " + Quoted(s_.substr(pos_)) + " is above 2^64");
        return false;
    }
    return false;
  }

  // "@offset": the kernel reads a number without checking what follows it.
  Expected<CrashkernelValue> Offset(CrashkernelValue v, bool require_digits) {
    ++pos_;  // '@'
    uint64_t offset = 0;
    const size_t at = pos_;
    switch (MemParse(s_, &pos_, &offset)) {
      case Parsed::kOk: break;
      case Parsed::kOverflow: return Error("offset at " + Quoted(s_.substr(at)) + " is above 2^64");
      case Parsed::kNone:
        if (require_digits) return Error("memory value expected after '@'");
        v.note = "nothing usable after '@': the kernel takes offset 0 (anywhere)";
        break;
    }
    v.offset = offset;
    if (pos_ < s_.size() && v.note.empty())
      v.note = "the kernel ignores " + Quoted(s_.substr(pos_)) + " after the offset";
    return v;
  }

  Expected<CrashkernelValue> Finish(CrashkernelValue v) {
    if (v.size != 0 && v.size >= ram_)
      return Error("the size, " + Size(v.size) + ", is not below the RAM size, " + Size(ram_));
    if (v.size == 0 && v.note.empty()) v.note = "the size is 0: the kernel reserves nothing";
    return v;
  }

  // crashkernel=size[@offset] (parse_crashkernel_simple).
  Expected<CrashkernelValue> Simple(CrashkernelValue v) {
    Failure f;
    if (!Number("memory value", &v.size, &f)) return f;
    if (pos_ < s_.size() && s_[pos_] == '@') {
      auto r = Offset(v, /*require_digits=*/false);
      if (!r.ok()) return r;
      return Finish(*r);
    }
    if (pos_ < s_.size()) return Error("unrecognized character '" + std::string(1, s_[pos_]) + "' after the size");
    return Finish(v);
  }

  // crashkernel=start-[end]:size[,...][@offset] (parse_crashkernel_mem).
  Expected<CrashkernelValue> Ranges(CrashkernelValue v) {
    const uint64_t total = options_.round_ram_to_128m ? (ram_ + (k128MiB - 1)) / k128MiB * k128MiB : ram_;
    const bool rounded_overflowed = total < ram_;
    const uint64_t ram = rounded_overflowed ? ram_ : total;
    Failure f;
    bool matched = false;
    while (true) {
      uint64_t start = 0, end = ~uint64_t{0}, size = 0;
      if (!Number("memory value (range start)", &start, &f)) return f;
      if (pos_ >= s_.size() || s_[pos_] != '-') return Error("'-' expected after the range start");
      ++pos_;
      if (pos_ >= s_.size() || s_[pos_] != ':') {
        if (!Number("memory value (range end)", &end, &f)) return f;
        if (end <= start) return Error("range end is not above its start (end is exclusive)");
      }
      if (pos_ >= s_.size() || s_[pos_] != ':') return Error("':' expected after the range");
      ++pos_;
      if (!Number("memory value (size)", &size, &f)) return f;
      if (size >= ram) return Error("the size " + Size(size) + " is not below the RAM size, " + Size(ram));
      if (ram >= start && ram < end) {
        v.size = size;
        matched = true;
        break;
      }
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      break;
    }
    if (!matched) {
      v.note = "no range holds the RAM size (" + Size(ram) + "): the kernel reserves nothing";
      return v;
    }
    // After the matching entry the kernel skips to '@' without reading the rest.
    while (pos_ < s_.size() && s_[pos_] != '@') ++pos_;
    if (pos_ < s_.size()) {
      auto r = Offset(v, /*require_digits=*/true);
      if (!r.ok()) return r;
      return Finish(*r);
    }
    return Finish(v);
  }

  // crashkernel=size,high|low|cma (parse_crashkernel_suffix).
  Expected<CrashkernelValue> Suffix(std::string_view suffix, CrashkernelValue v) {
    Failure f;
    if (!Number("memory value", &v.size, &f)) return f;
    if (pos_ + suffix.size() != s_.size())
      return Error("only a size may come before " + Quoted(suffix) + " (no @offset, no ranges)");
    if (v.syntax == CrashkernelSyntax::kHigh) return Finish(v);
    if (v.size == 0) v.note = "the size is 0: the kernel reserves nothing";
    return v;
  }

  std::string_view s_;
  uint64_t ram_;
  CrashkernelOptions options_;
  size_t pos_ = 0;
};

}  // namespace

Expected<CrashkernelValue> ParseCrashkernel(std::string_view value, uint64_t system_ram,
                                            const CrashkernelOptions& options) {
  return ValueParser(value, system_ram, options).Run();
}

Expected<CrashkernelRequest> ParseCrashkernelCmdline(std::string_view cmdline, uint64_t system_ram,
                                                     const CrashkernelCmdlineOptions& options) {
  constexpr std::string_view kName = "crashkernel=";
  std::string_view plain, high, low, cma;
  std::vector<std::string_view> ignored;
  size_t pos = 0;
  while (pos < cmdline.size()) {
    while (pos < cmdline.size() && (cmdline[pos] == ' ' || cmdline[pos] == '\t' || cmdline[pos] == '\n')) ++pos;
    size_t end = pos;
    while (end < cmdline.size() && cmdline[end] != ' ' && cmdline[end] != '\t' && cmdline[end] != '\n') ++end;
    std::string_view param = cmdline.substr(pos, end - pos);
    pos = end;
    if (param.substr(0, kName.size()) != kName) continue;
    auto ends_with = [&](std::string_view suffix) {
      return param.size() >= suffix.size() && param.substr(param.size() - suffix.size()) == suffix;
    };
    if (ends_with(",high")) {
      high = param;
    } else if (ends_with(",low")) {
      low = param;
    } else if (ends_with(",cma")) {
      cma = param;
    } else {
      plain = param;
    }
  }

  CrashkernelRequest req;
  auto value_of = [&](std::string_view param) { return param.substr(kName.size()); };
  if (!cma.empty()) {
    auto v = ParseCrashkernel(value_of(cma), system_ram, options.value);
    if (!v.ok()) return v.failure();
    req.cma_size = v->size;
  }
  if (!plain.empty()) {
    auto v = ParseCrashkernel(value_of(plain), system_ram, options.value);
    if (!v.ok()) return v.failure();
    req.present = true;
    req.size = v->size;
    req.offset = v->offset;
    req.parameter = std::string(plain);
    req.note = v->note;
    if (!high.empty()) req.note += std::string(req.note.empty() ? "" : "; ") + std::string(high) + " is ignored: " + std::string(plain) + " comes first";
    return req;
  }
  if (high.empty()) {
    if (!low.empty()) req.note = std::string(low) + " is ignored without crashkernel=...,high";
    return req;
  }
  if (!options.has_high_low) {
    req.note = std::string(high) + " is ignored: this architecture has no crashkernel=...,high";
    return req;
  }
  auto h = ParseCrashkernel(value_of(high), system_ram, options.value);
  if (!h.ok()) return h.failure();
  req.present = true;
  req.high = true;
  req.size = h->size;
  req.parameter = std::string(high);
  req.note = h->note;
  req.low_size = options.default_low_size;
  if (!low.empty()) {
    auto l = ParseCrashkernel(value_of(low), system_ram, options.value);
    if (!l.ok()) return l.failure();
    req.low_size = l->size;
  }
  return req;
}

uint64_t RoundUpToMiB(uint64_t bytes) {
  const uint64_t mib = bytes / kMiB + (bytes % kMiB != 0 ? 1 : 0);
  return mib * kMiB;
}

std::string CrashkernelArgument(uint64_t needed_bytes) {
  const uint64_t mib = needed_bytes / kMiB + (needed_bytes % kMiB != 0 ? 1 : 0);
  return "crashkernel=" + std::to_string(mib) + "M";
}

std::string CrashkernelAdvice(uint64_t needed_bytes, uint64_t reserved_bytes) {
  if (reserved_bytes >= needed_bytes && reserved_bytes != 0) return "";
  const std::string arg = CrashkernelArgument(needed_bytes);
  if (reserved_bytes == 0)
    return "no memory is reserved for a crash kernel: add " + arg + " to the kernel command line and reboot";
  return "the crash kernel reservation is " + Size(reserved_bytes) + " and salvage needs " +
         Size(RoundUpToMiB(needed_bytes)) + ": add " + arg +
         " to the kernel command line (in place of the crashkernel= there now) and reboot";
}

}  // namespace salvage::loader::proc
