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
#include <type_traits>

#include <salvage/base/status.h>
#include <salvage/devices/clock.h>
#include <salvage/devices/mmio.h>
#include <salvage/dtb/dtb.h>
#include <salvage/sd/all.h>
#include <salvage/sd/bcm2835-sdhost.h>
#include <salvage/sd/sdhci.h>

namespace salvage::devices {

/// The SD host drivers over the target's MMIO and clock (sd/all.h's list).
using AnySdHost = sd::Hosts<Mmio, ArchClock>;

/// A host driver of AnySdHost.
using SdHost = sd::Driver;

/// The SdHost of driver template `H` ("SdHostOf<sd::Sdhci>").
template <template <class, class> class H>
inline constexpr SdHost SdHostOf = drivers::DriverOf<H<Mmio, ArchClock>, AnySdHost>();

/// Every accepted `compatible`: the list's.
inline constexpr auto kSdCompatibles = drivers::CompatibleTable<AnySdHost>();

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
  SdHost host{};             ///< The driver.
  /// For reports: the `compatible` string that matched, without the vendor
  /// ("bcm2835-sdhci", "bcm2711-emmc2", "bcm2835-sdhost").
  const char* name = "";
  uint64_t base = 0;         ///< Physical base of the registers (reg 0, translated).
  int node = -1;
  bool non_removable = false;  ///< `non-removable`: soldered (eMMC, or an SDIO chip such as Wi-Fi).
  sd::SdhciConfig sdhci;     ///< For sd::Sdhci.
  sd::SdhostConfig sdhost;   ///< For sd::Bcm2835Sdhost.

  /// The config of host driver `H`.
  template <class H>
  const typename H::Config& ConfigFor() const {
    if constexpr (std::is_same_v<typename H::Config, sd::SdhostConfig>) {
      return sdhost;
    } else {
      return sdhci;
    }
  }
};

inline constexpr size_t kMaxSdControllers = 4;

/// The first entry of kSdCompatibles `node` is compatible with, or nullopt.
std::optional<drivers::Compatible> MatchSd(const dtb::Dtb& tree, int node);

/// The candidate for `node` driven as `match` says: base from reg 0 (translated),
/// bus-width (1, 4 or 8; 8 is driven as 4; default 4), `clock-frequency` as the base
/// (SDHCI) or core (SDHOST) clock if present, else the assumed upper bounds above; card
/// detect only where the controller has it (not the BCM2835's Arasan, and not with
/// `broken-cd`). Errors: those of TranslateRegAddress; kMalformed for another bus-width.
Result<SdChoice> SdChoiceFromNode(const dtb::Dtb& tree, int node, const drivers::Compatible& match);

/// Every enabled node of a supported `compatible`, in DT order (at most `out.size()`),
/// or only the one at physical address `want_base` when given. Returns how many.
/// Errors: kNotFound naming what was looked for; a node whose reg cannot be translated
/// is skipped.
Result<size_t> FindSdControllers(const dtb::Dtb& tree, std::optional<uint64_t> want_base, std::span<SdChoice> out);

}  // namespace salvage::devices
