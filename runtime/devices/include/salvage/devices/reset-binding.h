// salvage::devices — which device can restart the machine when no firmware call can,
// from the device tree.
//
// Pure discovery glue (STYLE pattern 4), next to the table of `compatible` strings salvage
// has reset drivers for. Bindings followed: Linux
// Documentation/devicetree/bindings/soc/bcm/brcm,bcm2835-pm.txt (the PM block: reg entry
// 0 is the "pm" range; older trees call the node `brcm,bcm2835-pm-wdt`, with one reg) and
// bindings/power/power-controller.txt (`system-power-controller`: this device may also
// turn the system off, as Linux's bcm2835_wdt does only then).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include <salvage/base/status.h>
#include <salvage/devices/mmio.h>
#include <salvage/dtb/dtb.h>
#include <salvage/reset/all.h>

namespace salvage::devices {

/// The reset drivers over the target's MMIO (reset/all.h's list).
using AnyReset = reset::Drivers<Mmio>;

/// A driver of AnyReset (reset::kNoDriver: none).
using ResetDriver = reset::Driver;

/// The ResetDriver of driver template `D` ("ResetDriverOf<reset::Bcm2835Pm>").
template <template <class> class D>
inline constexpr ResetDriver ResetDriverOf = drivers::DriverOf<D<Mmio>, AnyReset>();

/// Short name for reports: "none", "bcm2835-pm".
constexpr const char* ResetDriverName(ResetDriver d) { return drivers::DriverName<AnyReset>(d); }

/// Every accepted `compatible`, in order of preference: the list's.
inline constexpr auto kResetCompatibles = drivers::CompatibleTable<AnyReset>();

/// The reset device found, if any.
struct ResetChoice {
  ResetDriver driver = reset::kNoDriver;
  uint64_t base = 0;         ///< CPU physical address of reg entry 0.
  int node = -1;             ///< DT node offset, -1 when driver is kNoDriver.
  bool can_power_off = false;  ///< The node has `system-power-controller`.
};

/// For each kResetCompatibles entry in order, the first enabled node in DT order whose
/// reg entry 0 translates to a CPU address; kNoDriver when there is none.
ResetChoice FindResetDevice(const dtb::Dtb& dtb);

}  // namespace salvage::devices
