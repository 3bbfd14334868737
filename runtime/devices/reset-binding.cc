// salvage::devices — see reset-binding.h.
#include <salvage/devices/reset-binding.h>

namespace salvage::devices {

ResetChoice FindResetDevice(const dtb::Dtb& dtb) {
  ResetChoice choice;
  for (const drivers::Compatible& entry : kResetCompatibles) {
    dtb.ForEachCompatible(entry.compatible, [&](int node) {
      if (!dtb.IsEnabled(node)) return true;
      Result<uint64_t> base = dtb.TranslateRegAddress(node, 0);
      if (!base.ok()) return true;
      choice.driver = entry.driver;
      choice.base = *base;
      choice.node = node;
      choice.can_power_off = dtb.HasProperty(node, "system-power-controller");
      return false;
    });
    if (choice.driver != reset::kNoDriver) break;
  }
  return choice;
}

}  // namespace salvage::devices
