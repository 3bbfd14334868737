// A fake console for host tests of runtime code that prints (runtime/console's
// console::* functions, defined in fake-console.cc): everything written, text and raw
// stream bytes, in order, as a serial line would carry it. The text's "\n" stays "\n".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace salvage::testing {

/// Everything the console received since the last ClearConsole().
const std::vector<uint8_t>& ConsoleBytes();
/// The same, as text (the stream's bytes included).
std::string ConsoleText();
void ClearConsole();

}  // namespace salvage::testing
