// salvage::devices — finding the Raspberry Pi's SD host controllers in the DTB.
//
// Pure discovery glue (STYLE pattern 4): turns `mmc` nodes into the drivers' configs,
// next to the table of `compatible` strings salvage knows. Bindings followed: Linux
// Documentation/devicetree/bindings/mmc/brcm,sdhci-iproc.yaml (brcm,bcm2835-sdhci,
// brcm,bcm2711-emmc2), brcm,bcm2835-sdhost.yaml, mmc-controller.yaml (bus-width,
// broken-cd, non-removable), and the DT spec v0.4 §2.3.8 (reg translated through the
// parents' `ranges`: the Pi 3's /soc maps bus address 0x7e300000 to 0x3f300000).
//
// Which controller has the card depends on the board and on how the crashed kernel
// routed the pins: on a Pi 3 Linux gives GPIO 48-53 (the SD slot) to the sdhost and the
// Arasan "EMMC" drives the Wi-Fi chip on GPIO 34-39; QEMU's raspi3b attaches the card to
// the Arasan. So the capture tries every candidate in DT order and dumps to the first
// whose card initialises (an SDIO-only Wi-Fi chip does not answer ACMD41).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <libfdt.h>

#include <salvage/base/status.h>
#include <salvage/dtb/dtb.h>
#include <salvage/sd/bcm2835-sdhost.h>
#include <salvage/sd/sdhci.h>

namespace salvage::devices {

/// The SD host register interfaces salvage knows.
enum class SdKind : uint8_t {
  kBcm2835Sdhci,   ///< Arasan SDHCI of the BCM2835/6/7 ("EMMC"): sd::Sdhci with the BCM2835 quirks.
  kBcm2711Emmc2,   ///< The BCM2711's SD slot controller (Pi 4): sd::Sdhci.
  kBcm2835Sdhost,  ///< The BCM2835 custom "SDHOST": sd::Bcm2835Sdhost.
};

/// Short name for reports: "bcm2835-sdhci", "bcm2711-emmc2", "bcm2835-sdhost".
constexpr const char* SdKindName(SdKind kind) {
  switch (kind) {
    case SdKind::kBcm2835Sdhci: return "bcm2835-sdhci";
    case SdKind::kBcm2711Emmc2: return "bcm2711-emmc2";
    case SdKind::kBcm2835Sdhost: return "bcm2835-sdhost";
  }
  return "?";
}

struct SdCompatible {
  std::string_view compatible;
  SdKind kind;
};

/// Every accepted `compatible`. "brcm,bcm2835-mmc" is the Raspberry Pi downstream
/// kernels' name for the same Arasan controller.
inline constexpr std::array<SdCompatible, 4> kSdCompatibles = {{
    {"brcm,bcm2835-sdhci", SdKind::kBcm2835Sdhci},
    {"brcm,bcm2835-mmc", SdKind::kBcm2835Sdhci},
    {"brcm,bcm2711-emmc2", SdKind::kBcm2711Emmc2},
    {"brcm,bcm2835-sdhost", SdKind::kBcm2835Sdhost},
}};

/// Base clocks assumed when the DTB gives no `clock-frequency`: the real rates are set by
/// the firmware's clock manager, which salvage does not query (the DTB's `clocks` point
/// at it). Chosen as upper bounds, so that a lower real rate only makes the card clock
/// slower than asked, never faster. The Arasan EMMC clock: 250 MHz (an assumption, not
/// measured on hardware). The BCM2711 EMMC2 reports its base clock in the Capabilities
/// register (base_clock_hz 0 here: the driver reads it).
inline constexpr uint32_t kBcm2835EmmcAssumedHz = 250'000'000;
/// The SDHOST divides the VPU core clock: 250 MHz, or 400 MHz on a Pi 3 (its default
/// core_freq); the upper bound again.
inline constexpr uint32_t kBcm2835CoreAssumedHz = 400'000'000;

/// One SD host controller candidate.
struct SdChoice {
  SdKind kind = SdKind::kBcm2835Sdhci;
  uint64_t base = 0;         ///< Physical base of the registers (reg 0, translated).
  int node = -1;
  bool non_removable = false;  ///< `non-removable`: soldered (eMMC, or an SDIO chip such as Wi-Fi).
  sd::SdhciConfig sdhci;     ///< For the SDHCI kinds.
  sd::SdhostConfig sdhost;   ///< For kBcm2835Sdhost.
};

inline constexpr size_t kMaxSdControllers = 4;

/// The kind `node` is compatible with, or nullopt.
inline std::optional<SdKind> MatchSd(const dtb::Dtb& tree, int node) {
  for (const SdCompatible& c : kSdCompatibles) {
    if (tree.IsCompatible(node, c.compatible)) return c.kind;
  }
  return std::nullopt;
}

/// The candidate for `node` driven as `kind`: base from reg 0 (translated), bus-width
/// (1, 4 or 8; 8 is driven as 4; default 4), `clock-frequency` as the base (SDHCI) or
/// core (SDHOST) clock if present, else the assumed upper bounds above; card detect only
/// where the controller has it (not the BCM2835's Arasan, and not with `broken-cd`). Errors: those of TranslateRegAddress; kMalformed for another
/// bus-width.
inline Result<SdChoice> SdChoiceFromNode(const dtb::Dtb& tree, int node, SdKind kind) {
  SdChoice c;
  c.kind = kind;
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
  switch (kind) {
    case SdKind::kBcm2835Sdhci:
      // BCM2835 ARM Peripherals §5: no card detect in STATUS; 32-bit accesses (always);
      // writes spaced while the clock is slow; no base clock in the capabilities.
      c.sdhci.card_detect = false;
      c.sdhci.slow_writes = true;
      c.sdhci.fallback_base_clock_hz = kBcm2835EmmcAssumedHz;
      if (c.sdhci.base_clock_hz == 0) c.sdhci.base_clock_hz = kBcm2835EmmcAssumedHz;
      break;
    case SdKind::kBcm2711Emmc2:
      c.sdhci.card_detect = !broken_cd;
      break;
    case SdKind::kBcm2835Sdhost:
      c.sdhost.bus_width = c.sdhci.bus_width;
      c.sdhost.core_clock_hz = c.sdhci.base_clock_hz != 0 ? c.sdhci.base_clock_hz : kBcm2835CoreAssumedHz;
      break;
  }
  return c;
}

/// Every enabled node of a supported `compatible`, in DT order (at most `out.size()`),
/// or only the one at physical address `want_base` when given. Returns how many.
/// Errors: kNotFound naming what was looked for; a node whose reg cannot be translated
/// is skipped.
inline Result<size_t> FindSdControllers(const dtb::Dtb& tree, std::optional<uint64_t> want_base,
                                        std::span<SdChoice> out) {
  size_t n = 0;
  bool any = false;
  // One walk in DT order; each node counted once, whichever of its strings matched.
  for (int node = -1;;) {
    node = fdt_next_node(tree.blob(), node, nullptr);
    if (node < 0) break;
    const std::optional<SdKind> kind = MatchSd(tree, node);
    if (!kind || !tree.IsEnabled(node)) continue;
    Result<SdChoice> c = SdChoiceFromNode(tree, node, *kind);
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
