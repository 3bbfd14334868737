// salvage::sd — every SD host controller driver salvage has, in one list.
//
// Adding an SD host is its driver header (a host of sd/host.h with Name(), Config and
// kCompatibles), its quirks in runtime/devices/sd-binding.h if the DT properties it
// needs go beyond the common ones, and one line in Hosts below. The binding's
// compatible table and the SD sink's dispatch come from this list
// (drivers/driver-list.h).
#pragma once

#include <variant>

#include <salvage/drivers/driver-list.h>
#include <salvage/sd/bcm2835-sdhost.h>
#include <salvage/sd/sdhci.h>

namespace salvage::sd {

/// The host drivers over register window `Io` and clock `Clock`, in the binding's order
/// of preference.
template <class Io, class Clock>
using Hosts = std::variant<Sdhci<Io, Clock>, Bcm2835Sdhost<Io, Clock>>;

/// A host driver of the list as a value.
using drivers::Driver;

}  // namespace salvage::sd
