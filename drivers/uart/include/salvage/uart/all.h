// salvage::uart — every UART driver salvage has, in one list (as Zircon's lib/uart/all.h).
//
// Adding a UART is three things: its driver header (a uart::Uart with Name() and
// kCompatibles, the devicetree `compatible` strings it drives), its binding quirks in
// runtime/devices/uart-binding.cc if it reads DT properties beyond `reg` and clocks, and
// one line in Drivers below. The binding's compatible table, the console's variant, the
// driver names and the loader's report all come from this list (drivers/driver-list.h).
#pragma once

#include <variant>

#include <salvage/drivers/driver-list.h>
#include <salvage/uart/bcm2835-aux.h>
#include <salvage/uart/ns16550.h>
#include <salvage/uart/pl011.h>
#include <salvage/uart/uart.h>

namespace salvage::uart {

/// The drivers over register window `Io`. Null (first) is "no UART"; the others in the
/// order the console prefers them when /chosen stdout-path names none of them (the
/// Raspberry Pi's mini UART last: its PL011 is the better console).
template <class Io>
using Drivers = std::variant<Null, Pl011<Io>, Ns16550<Io>, MiniUart<Io>>;

/// A driver of the list as a value; Driver{} (kNoDriver) is Null, "none".
using drivers::Driver;
inline constexpr Driver kNoDriver{};

}  // namespace salvage::uart
