#include "options.h"

namespace salvage {

Options ParseOptions(std::string_view bootargs) {
  Options o;
  size_t i = 0;
  while (i < bootargs.size()) {
    while (i < bootargs.size() && (bootargs[i] == ' ' || bootargs[i] == '\t' || bootargs[i] == '\n')) ++i;
    size_t start = i;
    while (i < bootargs.size() && bootargs[i] != ' ' && bootargs[i] != '\t' && bootargs[i] != '\n') ++i;
    std::string_view word = bootargs.substr(start, i - start);
    if (!word.starts_with("salvage.")) continue;
    if (word == "salvage.debug=fault") {
      o.debug_fault = true;
    } else if (o.unknown_count < Options::kMaxUnknown) {
      o.unknown[o.unknown_count++] = word;
    }
  }
  return o;
}

}  // namespace salvage
