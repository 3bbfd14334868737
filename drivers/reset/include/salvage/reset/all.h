// salvage::reset — every reset device driver salvage has, in one list.
//
// Adding a reset device is its driver header (a reset::ResetDevice with Name() and
// kCompatibles) and one line in Drivers below; the binding's compatible table, the
// stop path's dispatch and the report's names come from this list
// (drivers/driver-list.h).
#pragma once

#include <variant>

#include <salvage/drivers/driver-list.h>
#include <salvage/reset/bcm2835-pm.h>
#include <salvage/reset/reset.h>

namespace salvage::reset {

/// The drivers over register window `Io`, Null (no device) first, the others in the
/// binding's order of preference.
template <class Io>
using Drivers = std::variant<Null, Bcm2835Pm<Io>>;

/// A driver of the list as a value; Driver{} (kNoDriver) is Null, "none".
using drivers::Driver;
inline constexpr Driver kNoDriver{};

}  // namespace salvage::reset
