#include "workstation/recv/terminal-text.h"

namespace salvage::loader {
namespace {

void AppendByte(uint8_t b, std::string* out) {
  if (b == '\\') {
    *out += "\\\\";
  } else if ((b >= 0x20 && b < 0x7f) || b == '\n' || b == '\t') {
    out->push_back(static_cast<char>(b));
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    *out += "\\x";
    out->push_back(kHex[b >> 4]);
    out->push_back(kHex[b & 15]);
  }
}

}  // namespace

void TerminalEscaper::Escape(std::span<const uint8_t> bytes, std::string* out) {
  for (const uint8_t b : bytes) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (b == '\n') {
        out->push_back('\n');
        continue;
      }
      AppendByte('\r', out);
    }
    if (b == '\r') {
      pending_cr_ = true;
      continue;
    }
    AppendByte(b, out);
  }
}

void TerminalEscaper::Flush(std::string* out) {
  if (pending_cr_) AppendByte('\r', out);
  pending_cr_ = false;
}

std::string EscapeForTerminal(std::string_view text) {
  std::string out;
  TerminalEscaper e;
  e.Escape(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()), &out);
  e.Flush(&out);
  return out;
}

}  // namespace salvage::loader
