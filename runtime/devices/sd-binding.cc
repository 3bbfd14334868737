// salvage::devices — see sd-binding.h.
#include <salvage/devices/sd-binding.h>

#include <libfdt.h>

namespace salvage::devices {

std::optional<drivers::Compatible> MatchSd(const dtb::Dtb& tree, int node) {
  for (const drivers::Compatible& c : kSdCompatibles) {
    if (tree.IsCompatible(node, c.compatible)) return c;
  }
  return std::nullopt;
}

Result<SdChoice> SdChoiceFromNode(const dtb::Dtb& tree, int node, const drivers::Compatible& match) {
  SdChoice c;
  c.host = match.driver;
  c.name = match.compatible.data() + match.compatible.find(',') + 1;  // the table's literals end in NUL
  c.node = node;
  SALVAGE_ASSIGN_OR_RETURN(c.base, tree.TranslateRegAddress(node, 0));
  uint32_t width = 4;
  if (Result<uint32_t> w = tree.GetU32(node, "bus-width"); w.ok()) {
    width = *w;
  } else if (w.status().error() != Error::kNotFound) {
    return w.status();
  }
  if (width != 1 && width != 4 && width != 8) return Status(Error::kMalformed, "sd: bus-width is not 1, 4 or 8");
  c.sdhci.bus_width = width >= 4 ? 4 : 1;
  if (Result<uint32_t> hz = tree.GetU32(node, "clock-frequency"); hz.ok()) {
    c.sdhci.base_clock_hz = *hz;
  } else if (hz.status().error() != Error::kNotFound) {
    return hz.status();
  }
  const void* fdt = tree.blob();
  c.non_removable = fdt_getprop(fdt, node, "non-removable", nullptr) != nullptr;
  const bool broken_cd = fdt_getprop(fdt, node, "broken-cd", nullptr) != nullptr;
  if (c.host == SdHostOf<sd::Bcm2835Sdhost>) {
    c.sdhost.bus_width = c.sdhci.bus_width;
    c.sdhost.core_clock_hz = c.sdhci.base_clock_hz != 0 ? c.sdhci.base_clock_hz : kBcm2835CoreAssumedHz;
  } else if (match.compatible.starts_with("brcm,bcm2835-")) {
    // The BCM2835's Arasan SDHCI ("brcm,bcm2835-sdhci", downstream "brcm,bcm2835-mmc";
    // ARM Peripherals §5): no card detect in STATUS; 32-bit
    // accesses (always); writes spaced while the clock is slow; no base clock in the
    // capabilities.
    c.sdhci.card_detect = false;
    c.sdhci.slow_writes = true;
    c.sdhci.fallback_base_clock_hz = kBcm2835EmmcAssumedHz;
    if (c.sdhci.base_clock_hz == 0) c.sdhci.base_clock_hz = kBcm2835EmmcAssumedHz;
  } else {
    c.sdhci.card_detect = !broken_cd;
  }
  return c;
}

Result<size_t> FindSdControllers(const dtb::Dtb& tree, std::optional<uint64_t> want_base,
                                        std::span<SdChoice> out) {
  size_t n = 0;
  bool any = false;
  // One walk in DT order; each node counted once, whichever of its strings matched.
  for (int node = -1;;) {
    node = fdt_next_node(tree.blob(), node, nullptr);
    if (node < 0) break;
    const std::optional<drivers::Compatible> match = MatchSd(tree, node);
    if (!match || !tree.IsEnabled(node)) continue;
    Result<SdChoice> c = SdChoiceFromNode(tree, node, *match);
    if (!c.ok()) continue;
    any = true;
    if (want_base && *want_base != c->base) continue;
    if (n < out.size()) out[n++] = *c;
  }
  if (n > 0) return n;
  if (want_base) return Status(Error::kNotFound, "sd: no enabled SD host controller at the address salvage.sink names");
  if (!any) return Status(Error::kNotFound, "sd: the DTB has no enabled brcm,bcm2835-sdhci, bcm2711-emmc2 or bcm2835-sdhost node");
  return Status(Error::kNotFound, "sd: no usable SD host controller node");
}

}  // namespace salvage::devices
