// salvage::reset::Bcm2835Pm — restarting a Raspberry Pi through the BCM2835 power
// manager's watchdog (PM_RSTC / PM_RSTS / PM_WDOG).
//
// The "BCM2835 ARM Peripherals" manual does not document the PM block. This follows the
// register description of the eLinux "BCM2835 registers" page (section PM) and what
// Linux does with it in drivers/watchdog/bcm2835_wdt.c (__bcm2835_restart and
// bcm2835_power_off): every write carries the password 0x5a in bits 31:24 or the block
// ignores it; a full reset is PM_RSTC.WRCFG = full reset with the watchdog counter set
// to a few ticks; "power off" is a reset with PM_RSTS's boot partition set to 63, which
// the Raspberry Pi boot firmware takes as "halt, do not boot" (QEMU's raspi machines
// take it as a shutdown). The same block is in BCM2836/7 (Pi 2/3) and BCM2711 (Pi 4).
//
// Freestanding: no heap, no exceptions; every register access goes through `Io`,
// 32 bits wide, at offsets from the node's first reg entry (the "pm" range).
#pragma once

#include <array>
#include <string_view>

#include <cstdint>

#include <salvage/drivers/io.h>
#include <salvage/reset/reset.h>

namespace salvage::reset {
namespace bcm2835_pm {

/// Bits 31:24 of every write: the block ignores writes without it.
inline constexpr uint32_t kPassword = 0x5a000000u;
inline constexpr uint32_t kPasswordMask = 0xff000000u;

/// PM_RSTC, reset control.
struct Rstc {
  static constexpr uint32_t kOffset = 0x1c;
  static constexpr uint32_t kWrcfgMask = 0x30u;       ///< 5:4 WRCFG: what the watchdog does when it expires.
  static constexpr uint32_t kWrcfgFullReset = 0x20u;  ///< WRCFG = 0b10: full reset.
  // Other bits are kept as read (Linux: PM_RSTC_WRCFG_CLR = 0xffffffcf).
};

/// PM_RSTS, reset status; bits 10, 8, 6, 4, 2, 0 hold the partition the boot firmware
/// boots from after a reset (partition bit i at bit 2i).
struct Rsts {
  static constexpr uint32_t kOffset = 0x20;
  static constexpr uint32_t kPartitionMask = 0x555u;  ///< The six partition bits.
  static constexpr uint32_t kPartitionHalt = 0x555u;  ///< Partition 63: "halt" to the firmware.
  // 12 HADPOR (power-on reset), 9 HADWRF, 5 HADWRH, ...: status, kept as read.
};

/// PM_WDOG, watchdog counter: ticks (about 65.5 kHz, ~15 us each) until it expires.
struct Wdog {
  static constexpr uint32_t kOffset = 0x24;
  static constexpr uint32_t kTimeMask = 0x000fffffu;  ///< 19:0 ticks.
  /// Linux's restart value: 10 ticks, about 150 us.
  static constexpr uint32_t kResetTicks = 10;
};

static_assert((Rsts::kPartitionHalt & ~Rsts::kPartitionMask) == 0);

}  // namespace bcm2835_pm

/// The BCM2835 PM watchdog over register window `Io`; satisfies `reset::ResetDevice`.
template <drivers::Io Io>
class Bcm2835Pm {
 public:
  explicit Bcm2835Pm(Io io) : io_(io) {}

  /// Starts a full reset about 150 us from now and returns. Clears the boot partition
  /// first, so a halt request left in PM_RSTS cannot turn the reboot into a halt.
  void Reset() {
    SetPartition(0);
    StartFullReset();
  }

  /// Starts a full reset with boot partition 63 ("halt"): the firmware keeps the board
  /// down until its power is cycled. Returns.
  void PowerOff() {
    SetPartition(bcm2835_pm::Rsts::kPartitionHalt);
    StartFullReset();
  }

  static constexpr const char* Name() { return "bcm2835-pm"; }
  /// Linux bindings/soc/bcm/brcm,bcm2835-pm.yaml and the older watchdog binding. BCM2711
  /// (Pi 4) trees list "brcm,bcm2711-pm" before "brcm,bcm2835-pm", so they match too.
  static constexpr std::array<std::string_view, 2> kCompatibles = {"brcm,bcm2835-pm", "brcm,bcm2835-pm-wdt"};

 private:
  void SetPartition(uint32_t partition_bits) {
    using namespace bcm2835_pm;
    const uint32_t rsts = io_.Read32(Rsts::kOffset) & ~(kPasswordMask | Rsts::kPartitionMask);
    io_.Write32(Rsts::kOffset, kPassword | rsts | partition_bits);
  }

  // The watchdog first, so it runs when WRCFG arms it (Linux's order).
  void StartFullReset() {
    using namespace bcm2835_pm;
    io_.Write32(Wdog::kOffset, kPassword | Wdog::kResetTicks);
    const uint32_t rstc = io_.Read32(Rstc::kOffset) & ~(kPasswordMask | Rstc::kWrcfgMask);
    io_.Write32(Rstc::kOffset, kPassword | rstc | Rstc::kWrcfgFullReset);
  }

  Io io_;
};

}  // namespace salvage::reset
