// The runtime's side of arch/include/salvage/arch/fault.h: print the fault report on
// the console, then stop the machine as salvage.after= says. Uses only
// EmergencyWrite/EmergencyHex.
#include <salvage/arch/fault.h>
#include <salvage/console/console.h>

#include "stop.h"

namespace salvage::arch {

[[noreturn]] void ReportFault(const FaultInfo& info) {
  using console::EmergencyHex;
  using console::EmergencyWrite;
  const int width = sizeof(uintptr_t) * 2;
  EmergencyWrite(info.nested ? "\nsalvage: FAULT while reporting a fault: " : "\nsalvage: FAULT: ");
  EmergencyWrite(info.cause);
  EmergencyWrite(" (");
  EmergencyWrite(info.kind);
  EmergencyWrite(")\nsalvage:   pc ");
  EmergencyHex(info.pc, width);
  if (info.address_name != nullptr) {
    EmergencyWrite("  address ");
    EmergencyHex(info.address, width);
    EmergencyWrite(" (");
    EmergencyWrite(info.address_name);
    EmergencyWrite(")");
  }
  EmergencyWrite("\nsalvage:   ");
  EmergencyWrite(info.syndrome_name);
  EmergencyWrite(" ");
  EmergencyHex(info.syndrome, width);
  EmergencyWrite("  ");
  EmergencyWrite(info.status_name);
  EmergencyWrite(" ");
  EmergencyHex(info.status, width);
  if (info.sp != 0) {
    EmergencyWrite("  sp ");
    EmergencyHex(info.sp, width);
  }
  for (uint32_t i = 0; i < info.reg_count; ++i) {
    if (i % 4 == 0) EmergencyWrite("\nsalvage:  ");
    char name[6] = {' ', info.reg_prefix[0], static_cast<char>('0' + i / 10), static_cast<char>('0' + i % 10), ' ', 0};
    if (i < 10) {
      name[2] = static_cast<char>('0' + i);
      name[3] = ' ';
    }
    EmergencyWrite(name);
    EmergencyHex(info.regs[i], width);
  }
  EmergencyWrite("\nsalvage: stopped after a fault; no dump was written\n");
  console::Flush();
  stop::Stop();  // As salvage.after= says, as at the end of a dump.
}

}  // namespace salvage::arch
