// salvage's command-line options: `salvage.<name>=<value>` words in /chosen/bootargs
// (how stock kexec-tools passes a capture kernel its options). Pure; host-tested.
#pragma once

#include <cstddef>
#include <string_view>

namespace salvage {

struct Options {
  bool debug_fault = false;  ///< salvage.debug=fault: fault on purpose after the boot report.
  static constexpr size_t kMaxUnknown = 8;
  std::string_view unknown[kMaxUnknown];  ///< salvage.* words not understood (reported, ignored).
  size_t unknown_count = 0;
};

/// Reads every whitespace-separated `salvage.*` word of `bootargs`; other words belong
/// to Linux (elfcorehdr=, mem=, console=) and are skipped.
Options ParseOptions(std::string_view bootargs);

}  // namespace salvage
