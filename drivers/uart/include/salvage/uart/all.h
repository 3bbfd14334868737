// salvage::uart — every UART driver salvage has, in one list (as Zircon's lib/uart/all.h).
//
// Adding a UART is three things: its driver header (a uart::Uart with Name() and
// kCompatibles, the devicetree `compatible` strings it drives), its binding quirks in
// runtime/devices/uart-binding.cc if it reads DT properties beyond `reg` and clocks, and
// one line in Drivers below. The binding's compatible table, the console's variant, the
// driver names and the loader's report all come from this list.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>

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

/// A driver of the list as a value: its place in Drivers. Driver{} is Null, "none".
enum class Driver : uint8_t {};
inline constexpr Driver kNoDriver{};

/// The Driver of type `D` in `List` (a Drivers<Io>).
template <class D, class List>
consteval Driver DriverOf() {
  return []<size_t... I>(std::index_sequence<I...>) {
    size_t at = 0;
    (void)((std::is_same_v<D, std::variant_alternative_t<I, List>> ? (at = I, true) : false) || ...);
    return Driver(static_cast<uint8_t>(at));
  }(std::make_index_sequence<std::variant_size_v<List>>{});
}

/// Calls `fn(std::type_identity<T>{})` with the type of driver `d` in `List`; nothing
/// for a value outside the list.
template <class List, class Fn>
constexpr void WithDriverType(Driver d, Fn&& fn) {
  [&]<size_t... I>(std::index_sequence<I...>) {
    (void)((static_cast<size_t>(d) == I ? (fn(std::type_identity<std::variant_alternative_t<I, List>>{}), true) : false) ||
           ...);
  }(std::make_index_sequence<std::variant_size_v<List>>{});
}

/// The driver's short name ("pl011"); "?" outside the list.
template <class List>
constexpr const char* DriverName(Driver d) {
  const char* name = "?";
  WithDriverType<List>(d, [&]<class T>(std::type_identity<T>) { name = T::Name(); });
  return name;
}

/// One devicetree `compatible` string and the driver it selects.
struct Compatible {
  std::string_view compatible;
  Driver driver;
};

/// Every driver's kCompatibles, in list order (then each driver's own order).
template <class List>
consteval auto CompatibleTable() {
  constexpr size_t kCount = []<size_t... I>(std::index_sequence<I...>) {
    return (std::variant_alternative_t<I, List>::kCompatibles.size() + ...);
  }(std::make_index_sequence<std::variant_size_v<List>>{});
  std::array<Compatible, kCount> out{};
  size_t n = 0;
  [&]<size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          for (std::string_view c : std::variant_alternative_t<I, List>::kCompatibles) {
            out[n++] = {c, Driver(static_cast<uint8_t>(I))};
          }
        }(),
        ...);
  }(std::make_index_sequence<std::variant_size_v<List>>{});
  return out;
}

}  // namespace salvage::uart
