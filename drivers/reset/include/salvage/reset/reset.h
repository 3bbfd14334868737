// salvage::reset — the contract of a board's reset device (a watchdog or power
// manager that can restart the machine without firmware), and the null device.
//
// Used where no firmware call (PSCI, SBI) can stop the machine: the Raspberry Pi's
// BCM2835 PM block. The runtime prefers the firmware call and falls back to these.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <string_view>

namespace salvage::reset {

/// A device that restarts or stops the whole machine:
///   Reset()      starts a full reset of the machine and returns; the reset follows
///                within microseconds to milliseconds (the caller waits, then halts);
///   PowerOff()   the same, but asks the boot firmware to stay down afterwards (the
///                nearest thing to power off a board without a PMIC call has); returns;
///   Name()       the driver's short name ("bcm2835-pm");
///   kCompatibles the devicetree `compatible` strings it drives (reset/all.h builds
///                the binding's table from them).
template <class T>
concept ResetDevice = requires(T d) {
  d.Reset();
  d.PowerOff();
  { T::Name() } -> std::convertible_to<const char*>;
  { T::kCompatibles.size() } -> std::convertible_to<size_t>;
};

/// No reset device: both calls return at once (the caller then halts in place).
class Null {
 public:
  void Reset() {}
  void PowerOff() {}
  static constexpr const char* Name() { return "none"; }
  static constexpr std::array<std::string_view, 0> kCompatibles{};
};
static_assert(ResetDevice<Null>);

}  // namespace salvage::reset
