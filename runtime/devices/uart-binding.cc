// salvage::devices — see uart-binding.h.
#include <salvage/devices/uart-binding.h>

namespace salvage::devices {
namespace {

// The AUX block (AUX_ENABLES) of a mini UART: the node its clock comes from, as Linux's
// clk-bcm2835-aux gates it there, else the first `brcm,bcm2835-aux` node; 0 if none.
uint64_t AuxBlockBase(const dtb::Dtb& dtb, int uart) {
  constexpr std::string_view kAux = "brcm,bcm2835-aux";
  int aux = -1;
  if (Result<int> provider = dtb.PhandleTarget(uart, "clocks"); provider.ok() && dtb.IsCompatible(*provider, kAux)) {
    aux = *provider;
  } else {
    dtb.ForEachCompatible(kAux, [&](int node) {
      aux = node;
      return false;
    });
  }
  if (aux < 0) return 0;
  Result<uint64_t> base = dtb.TranslateRegAddress(aux, 0);
  return base.ok() ? *base : 0;
}

}  // namespace

UartDriver MatchUart(const dtb::Dtb& dtb, int node) {
  for (const drivers::Compatible& entry : kUartCompatibles) {
    if (dtb.IsCompatible(node, entry.compatible)) return entry.driver;
  }
  return uart::kNoDriver;
}

Result<uart::Config> UartConfigFromNode(const dtb::Dtb& dtb, int node, UartDriver driver) {
  uart::Config config;
  SALVAGE_ASSIGN_OR_RETURN(config.base, dtb.TranslateRegAddress(node, 0));
  // Only a hint for setting the baud rate; a console without it still works.
  if (Result<uint32_t> clock = dtb.FixedClockRate(node); clock.ok()) {
    config.clock_hz = *clock;
  }
  if (driver == UartDriverOf<uart::MiniUart>) {
    config.aux_base = AuxBlockBase(dtb, node);
    return config;
  }
  if (driver != UartDriverOf<uart::Ns16550>) return config;

  if (Result<uint32_t> shift = dtb.GetU32(node, "reg-shift"); shift.ok()) {
    if (*shift > 31) return Status(Error::kUnsupported, "uart: reg-shift is larger than 31");
    config.reg_shift = static_cast<uint8_t>(*shift);
  } else if (shift.status().error() != Error::kNotFound) {
    return shift.status();
  }
  if (Result<uint32_t> width = dtb.GetU32(node, "reg-io-width"); width.ok()) {
    // uart::Config (and so the ns16550 driver) knows byte and word access only.
    if (*width != 1 && *width != 4) {
      return Status(Error::kUnsupported, "uart: reg-io-width is not 1 or 4");
    }
    config.reg_io_width = static_cast<uint8_t>(*width);
  } else if (width.status().error() != Error::kNotFound) {
    return width.status();
  }
  return config;
}

ConsoleChoice ChooseConsole(const dtb::Dtb& dtb) {
  ConsoleChoice choice;
  if (Result<int> node = dtb.ResolveStdoutPath(); !node.ok()) {
    choice.stdout_path_status = node.status();
  } else if (!dtb.IsEnabled(*node)) {
    choice.stdout_path_status = Status(Error::kUnsupported, "uart: the stdout-path node is disabled");
  } else if (UartDriver driver = MatchUart(dtb, *node); driver == uart::kNoDriver) {
    choice.stdout_path_status =
        Status(Error::kUnsupported, "uart: the stdout-path node is not a UART salvage drives");
  } else if (Result<uart::Config> config = UartConfigFromNode(dtb, *node, driver); !config.ok()) {
    choice.stdout_path_status = config.status();
  } else {
    choice.driver = driver;
    choice.config = *config;
    choice.node = *node;
    choice.how = "stdout-path";
    return choice;
  }

  for (const drivers::Compatible& entry : kUartCompatibles) {
    dtb.ForEachCompatible(entry.compatible, [&](int node) {
      if (!dtb.IsEnabled(node)) return true;
      Result<uart::Config> config = UartConfigFromNode(dtb, node, entry.driver);
      if (!config.ok()) return true;
      choice.driver = entry.driver;
      choice.config = *config;
      choice.node = node;
      choice.how = "first compatible node";
      return false;
    });
    if (choice.driver != uart::kNoDriver) break;
  }
  return choice;
}

}  // namespace salvage::devices
