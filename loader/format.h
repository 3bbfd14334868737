// Small text helpers the salvage command's messages share.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace salvage::loader {

/// Exit codes of the salvage command. recv/convert/extract/inspect: 3 = a vmcore was
/// written but pages are missing or it is not intact. status: 3 = salvage is not the
/// loaded crash kernel (load/load.h kExitNotLoaded).
inline constexpr int kExitOk = 0;         ///< Done: a complete and intact dump, salvage loaded.
inline constexpr int kExitFailure = 1;    ///< Could not read, write, decode or load.
inline constexpr int kExitUsage = 2;      ///< Wrong arguments.
inline constexpr int kExitIncomplete = 3; ///< A vmcore was written but pages are missing or it is not intact.
/// inspect: a vmcore with no SALVAGE note (not written by salvage): whether it is
/// complete is unknown.
inline constexpr int kExitNotSalvage = 4;

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
