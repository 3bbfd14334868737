// TerminalEscaper (loader/workstation/recv/terminal-text.h): console text from the board shown on a
// terminal without letting its escape sequences act on it.
#include "workstation/recv/terminal-text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace salvage::loader {
namespace {

std::string Escape(const std::string& in) {
  TerminalEscaper e;
  std::string out;
  e.Escape(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.data()), in.size()), &out);
  e.Flush(&out);
  return out;
}

TEST(TerminalEscaper, PlainTextNewlinesAndTabsPass) {
  EXPECT_EQ(Escape("[    1.234] Booting Linux\n\tok\n"), "[    1.234] Booting Linux\n\tok\n");
}

TEST(TerminalEscaper, CrLfBecomesLf) { EXPECT_EQ(Escape("a\r\nb\r\n"), "a\nb\n"); }

TEST(TerminalEscaper, EscapeSequencesAreShownNotActedOn) {
  // OSC 52 (set the clipboard), clear screen, window title, bell, a lone CR.
  EXPECT_EQ(Escape("\x1b]52;c;aGk=\x07"), "\\x1b]52;c;aGk=\\x07");
  EXPECT_EQ(Escape("\x1b[2J\x1b[H"), "\\x1b[2J\\x1b[H");
  EXPECT_EQ(Escape("x\rspoof"), "x\\x0dspoof");
  EXPECT_EQ(Escape("\x7f\x9b" "31m\xc2\x9b"), "\\x7f\\x9b31m\\xc2\\x9b");  // DEL, C1 CSI raw and in UTF-8
  EXPECT_EQ(Escape(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(Escape("back\\slash"), "back\\\\slash");  // an escaped form cannot be faked
}

TEST(TerminalEscaper, CrAtTheEndOfAChunkWaitsForTheNext) {
  TerminalEscaper e;
  std::string out;
  const uint8_t a[] = {'x', '\r'};
  const uint8_t b[] = {'\n', 'y', '\r'};
  e.Escape(a, &out);
  EXPECT_EQ(out, "x");
  e.Escape(b, &out);
  EXPECT_EQ(out, "x\ny");
  e.Flush(&out);
  EXPECT_EQ(out, "x\ny\\x0d");
}

TEST(TerminalEscaper, OneString) { EXPECT_EQ(EscapeForTerminal("6.1.0\x1b[31m"), "6.1.0\\x1b[31m"); }

}  // namespace
}  // namespace salvage::loader
