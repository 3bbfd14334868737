// salvage::devices — which UART is the console, from the device tree.
//
// Pure discovery glue (STYLE pattern 4): turns a DT node into a uart::Config and the
// driver of uart/all.h's list that drives it. The compatible table is that list's
// (each driver's kCompatibles); this file adds only the properties some drivers read
// beyond `reg` and the clock. Bindings followed: Linux
// Documentation/devicetree/bindings/serial/{pl011.yaml, 8250.yaml,
// snps-dw-apb-uart.yaml, brcm,bcm2835-aux-uart.yaml} (reg-shift, reg-io-width,
// clock-frequency, clocks), bindings/clock/brcm,bcm2835-aux-clock.txt (the AUX block
// the mini UART's clock comes from) and the DT spec v0.4 §3.6 (/chosen stdout-path).
#pragma once

#include <array>
#include <string_view>

#include <salvage/base/status.h>
#include <salvage/devices/mmio.h>
#include <salvage/dtb/dtb.h>
#include <salvage/uart/all.h>
#include <salvage/uart/uart.h>

namespace salvage::devices {

/// The UART drivers over the target's MMIO: the console's variant.
using AnyUart = uart::Drivers<Mmio>;

/// A driver of AnyUart (uart::kNoDriver: none).
using UartDriver = uart::Driver;

/// The UartDriver of driver template `D` ("UartDriverOf<uart::Pl011>").
template <template <class> class D>
inline constexpr UartDriver UartDriverOf = drivers::DriverOf<D<Mmio>, AnyUart>();

/// Short name for reports: "none", "pl011", "ns16550", "bcm2835-aux".
constexpr const char* UartDriverName(UartDriver d) { return drivers::DriverName<AnyUart>(d); }

/// Every accepted `compatible`, in order of preference for the fallback scan.
inline constexpr auto kUartCompatibles = drivers::CompatibleTable<AnyUart>();

/// The console salvage will use and how it was found.
struct ConsoleChoice {
  UartDriver driver = uart::kNoDriver;
  uart::Config config;
  int node = -1;               ///< DT node offset, -1 when driver is kNoDriver.
  const char* how = "none found";  ///< "stdout-path", "first compatible node" or "none found".
  /// Why the /chosen stdout-path node was not used (ok when it was); name the node
  /// with dtb.DescribeError() when it came from a Dtb query.
  Status stdout_path_status;
};

/// The driver of the first entry of kUartCompatibles that `node` is compatible with,
/// kNoDriver when it matches none.
UartDriver MatchUart(const dtb::Dtb& dtb, int node);

/// The Config of `node` driven by `driver`: base from reg entry 0 translated to a CPU
/// address; clock_hz from Dtb::FixedClockRate (clock-frequency, or a fixed-clock the
/// first `clocks` entry names; 0 when neither: then the driver keeps the rate it finds);
/// for the ns16550 also reg-shift (default 0, at most 31) and reg-io-width (default 1; 1
/// or 4, what uart::Config allows); for the mini UART aux_base, the AUX block (reg 0 of
/// the `brcm,bcm2835-aux` node its `clocks` names, else of the first such node; 0 when
/// there is none). PL011 ignores reg-shift / reg-io-width.
/// Errors: those of Dtb::TranslateRegAddress, kMalformed / kUnsupported for a bad
/// reg-shift or reg-io-width.
Result<uart::Config> UartConfigFromNode(const dtb::Dtb& dtb, int node, UartDriver driver);

/// Picks the console: the /chosen stdout-path node if it is enabled, listed in
/// kUartCompatibles and its Config can be built ("stdout-path"); otherwise, for each
/// kUartCompatibles entry in table order, the first enabled node in DT order whose
/// Config can be built ("first compatible node"); otherwise kNoDriver ("none found").
ConsoleChoice ChooseConsole(const dtb::Dtb& dtb);

}  // namespace salvage::devices
