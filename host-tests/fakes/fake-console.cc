#include "fakes/fake-console.h"

#include <cstdarg>
#include <cstdio>

#include <salvage/console/console.h>

namespace salvage {
namespace {

std::vector<uint8_t>& Line() {
  static std::vector<uint8_t> bytes;
  return bytes;
}

}  // namespace

namespace testing {
const std::vector<uint8_t>& ConsoleBytes() { return Line(); }
std::string ConsoleText() { return std::string(Line().begin(), Line().end()); }
void ClearConsole() { Line().clear(); }
}  // namespace testing

namespace console {

Status Select(uart::Driver, const uart::Config&) { return Status::Ok(); }
const char* DriverName() { return "fake"; }
void Write(std::string_view text) { Line().insert(Line().end(), text.begin(), text.end()); }
void Printf(const char* format, ...) {
  char buf[256];  // as the image's: at most 255 bytes per call
  va_list ap;
  va_start(ap, format);
  const int n = std::vsnprintf(buf, sizeof(buf), format, ap);
  va_end(ap);
  if (n > 0) Write(std::string_view(buf, static_cast<size_t>(n) < sizeof(buf) ? static_cast<size_t>(n) : sizeof(buf) - 1));
}
void WriteRaw(std::span<const uint8_t> bytes) { Line().insert(Line().end(), bytes.begin(), bytes.end()); }
void Flush() {}
void EmergencyWrite(const char* text) { Write(text); }
void EmergencyHex(uint64_t value, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*llx", digits, static_cast<unsigned long long>(value));
  Write(buf);
}

}  // namespace console
}  // namespace salvage
