// The console: a closed set of UART drivers chosen at run time (STYLE pattern 5).
#include <salvage/console/console.h>

#include <cstdarg>
#include <cstdio>
#include <variant>

#include <salvage/devices/mmio.h>
#include <salvage/uart/all.h>

namespace salvage::console {
namespace {

using devices::Mmio;
using AnyUart = uart::Drivers<Mmio>;

// Zero-initialised: the null UART until Select(). No constructor runs at boot.
constinit AnyUart g_uart;

void PutRaw(char c) {
  std::visit([c](auto& u) { u.PutChar(c); }, g_uart);
}

void Put(char c) {
  if (c == '\n') PutRaw('\r');
  PutRaw(c);
}

}  // namespace

Status Select(uart::Driver driver, const uart::Config& cfg) {
  const bool known = drivers::WithDriverType<AnyUart>(driver, [&]<class T>(std::type_identity<T>) {
    if constexpr (std::is_constructible_v<T, Mmio, Mmio, const uart::Config&>) {
      g_uart.emplace<T>(Mmio(cfg.base), Mmio(cfg.aux_base), cfg);  // its registers and a second block (AUX)
    } else if constexpr (std::is_constructible_v<T, Mmio, const uart::Config&>) {
      g_uart.emplace<T>(Mmio(cfg.base), cfg);
    } else {
      g_uart.emplace<T>();  // the null UART
    }
  });
  if (!known) g_uart.emplace<uart::Null>();
  return std::visit([](auto& u) { return u.Init(); }, g_uart);
}

const char* DriverName() {
  return std::visit([](auto& u) { return std::remove_reference_t<decltype(u)>::Name(); }, g_uart);
}

void Write(std::string_view text) {
  for (char c : text) Put(c);
}

void Printf(const char* format, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, format);
  int n = vsnprintf(buf, sizeof(buf), format, ap);
  va_end(ap);
  if (n < 0) return;
  Write(std::string_view(buf, static_cast<size_t>(n) < sizeof(buf) ? static_cast<size_t>(n) : sizeof(buf) - 1));
}

void WriteRaw(std::span<const uint8_t> bytes) {
  // One dispatch per call, not per byte: this is the serial dump's hot loop.
  std::visit([bytes](auto& u) { u.PutBytes(bytes); }, g_uart);
}

void Flush() {
  std::visit([](auto& u) { u.Flush(); }, g_uart);
}

void EmergencyWrite(const char* text) {
  while (*text) Put(*text++);
}

void EmergencyHex(uint64_t value, int digits) {
  char buf[19];
  buf[0] = '0';
  buf[1] = 'x';
  for (int i = 0; i < digits; ++i) buf[2 + i] = "0123456789abcdef"[(value >> (4 * (digits - 1 - i))) & 0xf];
  buf[2 + digits] = 0;
  EmergencyWrite(buf);
}

}  // namespace salvage::console
