// salvage::devices — see reset-binding.h.
#include <salvage/devices/reset-binding.h>

namespace salvage::devices {

const char* ResetKindName(ResetKind kind) {
  switch (kind) {
    case ResetKind::kNone: return "none";
    case ResetKind::kBcm2835Pm: return "bcm2835-pm";
  }
  return "?";
}

ResetChoice FindResetDevice(const dtb::Dtb& dtb) {
  ResetChoice choice;
  for (const ResetCompatible& entry : kResetCompatibles) {
    dtb.ForEachCompatible(entry.compatible, [&](int node) {
      if (!dtb.IsEnabled(node)) return true;
      Result<uint64_t> base = dtb.TranslateRegAddress(node, 0);
      if (!base.ok()) return true;
      choice.kind = entry.kind;
      choice.base = *base;
      choice.node = node;
      choice.can_power_off = dtb.HasProperty(node, "system-power-controller");
      return false;
    });
    if (choice.kind != ResetKind::kNone) break;
  }
  return choice;
}

}  // namespace salvage::devices
