// salvage::devices — which UART is the console, from the device tree.
//
// Pure discovery glue (STYLE pattern 4): turns a DT node into a uart::Config next to
// the table of `compatible` strings salvage has drivers for. It includes no driver;
// the caller builds the driver the chosen kind names. Bindings followed:
// Linux Documentation/devicetree/bindings/serial/{pl011.yaml, 8250.yaml,
// snps-dw-apb-uart.yaml, brcm,bcm2835-aux-uart.yaml} (reg-shift, reg-io-width,
// clock-frequency, clocks), bindings/clock/brcm,bcm2835-aux-clock.txt (the AUX block
// the mini UART's clock comes from) and the DT spec v0.4 §3.6 (/chosen stdout-path).
#pragma once

#include <array>
#include <string_view>

#include <salvage/base/status.h>
#include <salvage/dtb/dtb.h>
#include <salvage/uart/uart.h>

namespace salvage::devices {

/// The UART register interfaces salvage has drivers for.
enum class UartKind : uint8_t { kNone, kPl011, kNs16550, kBcm2835Aux };

/// Short name for reports: "none", "pl011", "ns16550", "bcm2835-aux".
const char* UartKindName(UartKind kind);

/// One accepted `compatible` string and the driver it selects.
struct UartCompatible {
  std::string_view compatible;
  UartKind kind;
};

/// Every accepted `compatible`, in order of preference for the fallback scan.
inline constexpr std::array<UartCompatible, 5> kUartCompatibles = {{
    {"arm,pl011", UartKind::kPl011},
    {"ns16550a", UartKind::kNs16550},
    {"ns16550", UartKind::kNs16550},
    {"snps,dw-apb-uart", UartKind::kNs16550},
    // Last: on a Raspberry Pi without a usable stdout-path the PL011 is preferred.
    {"brcm,bcm2835-aux-uart", UartKind::kBcm2835Aux},
}};

/// The console salvage will use and how it was found.
struct ConsoleChoice {
  UartKind kind = UartKind::kNone;
  uart::Config config;
  int node = -1;               ///< DT node offset, -1 when kind is kNone.
  const char* how = "none found";  ///< "stdout-path", "first compatible node" or "none found".
  /// Why the /chosen stdout-path node was not used (ok when it was); name the node
  /// with dtb.DescribeError() when it came from a Dtb query.
  Status stdout_path_status;
};

/// The kind of the first entry of kUartCompatibles that `node` is compatible with,
/// kNone when it matches none.
UartKind MatchUart(const dtb::Dtb& dtb, int node);

/// The Config of `node` driven as `kind`: base from reg entry 0 translated to a CPU
/// address; clock_hz from Dtb::FixedClockRate (clock-frequency, or a fixed-clock the
/// first `clocks` entry names; 0 when neither: then the driver keeps the rate it finds);
/// for kNs16550 also reg-shift (default 0, at most 31) and reg-io-width (default 1; 1
/// or 4, what uart::Config allows); for kBcm2835Aux aux_base, the AUX block (reg 0 of
/// the `brcm,bcm2835-aux` node its `clocks` names, else of the first such node; 0 when
/// there is none). PL011 ignores reg-shift / reg-io-width.
/// Errors: those of Dtb::TranslateRegAddress, kMalformed / kUnsupported for a bad
/// reg-shift or reg-io-width.
Result<uart::Config> UartConfigFromNode(const dtb::Dtb& dtb, int node, UartKind kind);

/// Picks the console: the /chosen stdout-path node if it is enabled, listed in
/// kUartCompatibles and its Config can be built ("stdout-path"); otherwise, for each
/// kUartCompatibles entry in table order, the first enabled node in DT order whose
/// Config can be built ("first compatible node"); otherwise kNone ("none found").
ConsoleChoice ChooseConsole(const dtb::Dtb& dtb);

}  // namespace salvage::devices
