// salvage::console — text output on the UART the DTB chose.
//
// One console for the whole runtime. Before Select() it is the null UART (everything
// is dropped). The fault path uses the same saved configuration through
// EmergencyWrite/EmergencyHex, which use no libc and no buffers.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include <salvage/uart/all.h>
#include <salvage/uart/uart.h>

namespace salvage::console {

/// Makes the UART `driver` (of uart/all.h's list) at `cfg` the console and initialises
/// it; uart::kNoDriver (or a value outside the list) makes it the null UART. Returns the
/// driver's Init status; on failure the console stays usable for best-effort output.
Status Select(uart::Driver driver, const uart::Config& cfg);

/// The console in use: its driver name ("pl011", "ns16550", "bcm2835-aux", "none").
const char* DriverName();

/// Writes text, turning "\n" into "\r\n".
void Write(std::string_view text);

/// printf-style output through picolibc's vsnprintf (at most 255 bytes per call).
void Printf(const char* format, ...) __attribute__((format(printf, 1, 2)));

/// Writes bytes exactly as given (no newline translation): the dump stream.
void WriteRaw(std::span<const uint8_t> bytes);

/// Waits until every byte has left the UART.
void Flush();

/// For fault reports: writes a NUL-terminated string / a hex number with `digits`
/// digits, using only the saved UART configuration.
void EmergencyWrite(const char* text);
void EmergencyHex(uint64_t value, int digits);

}  // namespace salvage::console
