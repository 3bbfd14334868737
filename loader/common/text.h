// Small text helpers the salvage command's messages share.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

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

}  // namespace salvage::loader
