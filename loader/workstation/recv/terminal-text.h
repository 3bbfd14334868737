// Console text from the board, made safe to show on the user's terminal. The bytes come
// from a serial line or a file (untrusted): an escape sequence in them would act on the
// terminal (clear the screen, retitle the window, set the clipboard with OSC 52, ...).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace salvage::loader {

/// Turns bytes into text a terminal shows but does not act on: printable ASCII, LF and
/// TAB pass; CR LF becomes LF (serial consoles end lines with it); every other byte
/// (ESC and the other C0 controls, DEL, a lone CR, and bytes >= 0x80, which include the
/// C1 controls such as CSI 0x9b) is shown as \xHH, and a backslash as \\.
/// Stateful only for a CR at the end of one chunk and an LF at the start of the next.
class TerminalEscaper {
 public:
  /// Appends the escaped form of `bytes` to *out.
  void Escape(std::span<const uint8_t> bytes, std::string* out);
  /// Appends what is held back (a CR that ended the last chunk).
  void Flush(std::string* out);

 private:
  bool pending_cr_ = false;
};

/// The escaped form of one string read from a dump (options text, OSRELEASE, ...).
std::string EscapeForTerminal(std::string_view text);

}  // namespace salvage::loader
