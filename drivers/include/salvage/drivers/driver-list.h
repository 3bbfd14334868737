// salvage::drivers — a family's drivers as one list (as Zircon's lib/uart/all.h).
//
// A family (uart/all.h, sd/all.h, reset/all.h) names its drivers once, as the
// alternatives of a std::variant. Everything that has to know "which drivers are
// there" is derived from that list here: a driver as a small value (its place in the
// list), its name, the devicetree `compatible` table (each driver's kCompatibles, in
// list order), and a call with the driver's type, so that a variant is built without
// a switch. Nothing here allocates or runs at boot: it is all compile time, or a
// chain of compares the compiler folds.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace salvage::drivers {

/// A driver of a list as a value: its place among the variant's alternatives.
enum class Driver : uint8_t {};

/// Where type `D` is among `List`'s alternatives; the list's size when it is not there.
template <class D, class List>
consteval size_t IndexIn() {
  return []<size_t... I>(std::index_sequence<I...>) {
    size_t at = sizeof...(I);
    (void)((std::is_same_v<D, std::variant_alternative_t<I, List>> ? (at = I, true) : false) || ...);
    return at;
  }(std::make_index_sequence<std::variant_size_v<List>>{});
}

/// The Driver of type `D` in `List` (a std::variant of drivers); a compile error when
/// `D` is not in the list.
template <class D, class List>
consteval Driver DriverOf() {
  constexpr size_t kAt = IndexIn<D, List>();
  static_assert(kAt < std::variant_size_v<List>, "DriverOf: the type is not in the driver list");
  return Driver(static_cast<uint8_t>(kAt));
}

/// Calls `fn(std::type_identity<T>{})` with the type of driver `d` in `List`; does
/// nothing (and returns false) for a value outside the list.
template <class List, class Fn>
constexpr bool WithDriverType(Driver d, Fn&& fn) {
  return [&]<size_t... I>(std::index_sequence<I...>) {
    return ((static_cast<size_t>(d) == I ? (fn(std::type_identity<std::variant_alternative_t<I, List>>{}), true)
                                         : false) ||
            ...);
  }(std::make_index_sequence<std::variant_size_v<List>>{});
}

/// The driver's short name (its Name()); "?" outside the list.
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

/// Every driver's kCompatibles, drivers in list order, each driver's strings in its own
/// order: the order in which a binding prefers them.
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

}  // namespace salvage::drivers
