// salvage::stop — stopping the machine when salvage is done, has failed, or took a
// fault: the action salvage.after= (or the boot parameter block) asks for, carried out
// by the firmware where the DTB names a way to call it (PSCI; the SBI on RISC-V), else
// by the board's reset device (the Raspberry Pi's PM watchdog: QEMU's raspi machines
// and the Pi's own boot firmware have no PSCI), else by halting in place.
#pragma once

#include <cstdint>

#include <salvage/devices/reset-binding.h>
#include <salvage/dtb/dtb.h>

#include "options.h"

namespace salvage::stop {

/// What Stop() tries, in order; a halt in place always comes last. Pure (host-tested).
struct Plan {
  bool firmware = false;      ///< The firmware call (PSCI SYSTEM_RESET / SYSTEM_OFF, SBI SRST).
  bool reset_device = false;  ///< Then the reset device (Reset() or PowerOff()).
  bool operator==(const Plan&) const = default;
};

/// kHalt: nothing but the halt. kReboot: the firmware if known, then the reset device if
/// there is one. kPowerOff: the firmware if known, then the reset device only when it
/// may power the system off (`system-power-controller`; on a Pi: the firmware stays
/// down until the power is cycled).
constexpr Plan PlanStop(AfterAction action, bool have_firmware, const devices::ResetChoice& device) {
  if (action == AfterAction::kHalt) return Plan{};
  const bool usable = device.driver != reset::kNoDriver &&
                      (action == AfterAction::kReboot || device.can_power_off);
  return Plan{have_firmware, usable};
}

/// The action the next Stop() carries out (default kPowerOff).
void SetAction(AfterAction action);

/// Finds the board's reset device in the DTB (devices::FindResetDevice) and keeps it.
void SelectResetDevice(const dtb::Dtb& tree);

/// The boot report's line on how salvage will stop: "salvage: stop psci (hvc)",
/// "salvage: stop bcm2835-pm 0x3f100000 /soc/watchdog@7e100000 (reboot, poweroff)", ...
void PrintReport(const dtb::Dtb& tree);

/// Carries out the action by the Plan; reports on the console (emergency path: no
/// buffers) when a means returned without stopping the machine, then halts.
[[noreturn]] void Stop();

}  // namespace salvage::stop
