// salvage::stop — see stop.h.
#include "stop.h"

#include <salvage/arch/reset.h>
#include <salvage/arch/timer.h>
#include <salvage/console/console.h>
#include <salvage/devices/mmio.h>
#include <salvage/reset/all.h>

namespace salvage::stop {
namespace {

constinit AfterAction g_action = AfterAction::kPowerOff;
constinit devices::ResetChoice g_device;

const char* ActionName(AfterAction action) {
  switch (action) {
    case AfterAction::kPowerOff: return "poweroff";
    case AfterAction::kReboot: return "reboot";
    case AfterAction::kHalt: return "halt";
  }
  return "?";
}

const char* FirmwareName() {
  switch (arch::GetFirmwareCall()) {
    case arch::FirmwareCall::kPsciHvc: return "psci (hvc)";
    case arch::FirmwareCall::kPsciSmc: return "psci (smc)";
    case arch::FirmwareCall::kSbi: return "sbi";
    case arch::FirmwareCall::kUnknown: break;
  }
  return nullptr;
}

// Gives a started reset time to happen: the PM watchdog fires after ~150 us; a second
// is far beyond that. Without a known counter frequency, a bounded spin.
void WaitForReset() {
  const uint64_t hz = arch::TicksPerSecond();
  if (hz == 0) {
    for (volatile uint32_t i = 0; i < 100'000'000u; i = i + 1) {
    }
    return;
  }
  const uint64_t start = arch::Ticks();
  while (arch::Ticks() - start < hz) {
  }
}

}  // namespace

void SetAction(AfterAction action) { g_action = action; }

void SelectResetDevice(const dtb::Dtb& tree) { g_device = devices::FindResetDevice(tree); }

void PrintReport(const dtb::Dtb& tree) {
  const char* firmware = FirmwareName();
  if (firmware != nullptr) console::Printf("salvage: stop %s\n", firmware);
  if (g_device.driver != reset::kNoDriver) {
    char path[128];
    tree.NodePath(g_device.node, path, sizeof(path));
    console::Printf("salvage: stop %s 0x%llx %s (%s)\n", devices::ResetDriverName(g_device.driver),
                    static_cast<unsigned long long>(g_device.base), path,
                    g_device.can_power_off ? "reboot, poweroff" : "reboot");
  }
  if (firmware == nullptr && g_device.driver == reset::kNoDriver) {
    console::Write("salvage: stop halt (no PSCI and no reset device in the DTB)\n");
  }
}

[[noreturn]] void Stop() {
  const Plan plan = PlanStop(g_action, arch::GetFirmwareCall() != arch::FirmwareCall::kUnknown, g_device);
  if (plan.firmware) {
    if (g_action == AfterAction::kReboot) {
      arch::FirmwareReset();
    } else {
      arch::FirmwarePowerOff();
    }
    console::EmergencyWrite("salvage: the firmware call returned without stopping the machine\n");
  }
  if (plan.reset_device) {
    drivers::WithDriverType<devices::AnyReset>(g_device.driver, [](auto type) {
      using T = typename decltype(type)::type;
      if constexpr (std::is_constructible_v<T, devices::Mmio>) {
        T device{devices::Mmio(g_device.base)};
        if (g_action == AfterAction::kReboot) {
          device.Reset();
        } else {
          device.PowerOff();
        }
        WaitForReset();
        console::EmergencyWrite("salvage: the reset device did not reset the machine\n");
      }
    });
  }
  if (g_action != AfterAction::kHalt) {
    console::EmergencyWrite("salvage: cannot ");
    console::EmergencyWrite(ActionName(g_action));
    console::EmergencyWrite(" this machine; halting\n");
    console::Flush();
  }
  arch::Halt();
}

}  // namespace salvage::stop
