// Small text helpers the salvage command's messages share.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace salvage::loader {

/// "0x1f000".
inline std::string Hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof(b), "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

/// "12.0 MiB".
inline std::string Mib(uint64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.1f MiB", bytes / 1048576.0);
  return b;
}

/// The space-separated words of one line (runs of spaces count as one), as
/// /proc/self/mountinfo lays out its fields.
inline std::vector<std::string_view> SplitWords(std::string_view line) {
  std::vector<std::string_view> f;
  for (size_t i = 0; i < line.size();) {
    while (i < line.size() && line[i] == ' ') ++i;
    const size_t s = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > s) f.push_back(line.substr(s, i - s));
  }
  return f;
}

}  // namespace salvage::loader
