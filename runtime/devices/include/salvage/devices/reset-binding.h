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
#include <salvage/dtb/dtb.h>

namespace salvage::devices {

/// The reset devices salvage has drivers for.
enum class ResetKind : uint8_t { kNone, kBcm2835Pm };

/// Short name for reports: "none", "bcm2835-pm".
const char* ResetKindName(ResetKind kind);

struct ResetCompatible {
  std::string_view compatible;
  ResetKind kind;
};

/// Every accepted `compatible`, in order of preference. BCM2711 (Pi 4) trees list
/// "brcm,bcm2711-pm" before "brcm,bcm2835-pm", so they match too.
inline constexpr std::array<ResetCompatible, 2> kResetCompatibles = {{
    {"brcm,bcm2835-pm", ResetKind::kBcm2835Pm},
    {"brcm,bcm2835-pm-wdt", ResetKind::kBcm2835Pm},
}};

/// The reset device found, if any.
struct ResetChoice {
  ResetKind kind = ResetKind::kNone;
  uint64_t base = 0;         ///< CPU physical address of reg entry 0.
  int node = -1;             ///< DT node offset, -1 when kind is kNone.
  bool can_power_off = false;  ///< The node has `system-power-controller`.
};

/// For each kResetCompatibles entry in order, the first enabled node in DT order whose
/// reg entry 0 translates to a CPU address; kNone when there is none.
ResetChoice FindResetDevice(const dtb::Dtb& dtb);

}  // namespace salvage::devices
