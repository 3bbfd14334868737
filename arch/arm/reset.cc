// Stopping a 32-bit Arm machine through PSCI (Arm DEN 0022: SYSTEM_OFF 0x84000008,
// SYSTEM_RESET 0x84000009), called with HVC or SMC as the DTB's /psci node says.
#include <cstdint>

#include <salvage/arch/reset.h>

namespace salvage::arch {
namespace {
constinit FirmwareCall g_call = FirmwareCall::kUnknown;

void Psci(uint32_t function) {
  register uint32_t r0 __asm__("r0") = function;
  if (g_call == FirmwareCall::kPsciHvc) {
#if __ARM_ARCH >= 7  // HVC is an ARMv7 Virtualization Extensions instruction; an ARMv6 build has no PSCI over HVC.
    __asm__ volatile(".arch_extension virt\n hvc #0" : "+r"(r0)::"r1", "r2", "r3", "memory");
#endif
  } else if (g_call == FirmwareCall::kPsciSmc) {
    __asm__ volatile(".arch_extension sec\n smc #0" : "+r"(r0)::"r1", "r2", "r3", "memory");
  }
}
}  // namespace

void SetFirmwareCall(FirmwareCall call) { g_call = call; }
FirmwareCall GetFirmwareCall() { return g_call; }

[[noreturn]] void Halt() {
  __asm__ volatile("cpsid aif");
  for (;;) __asm__ volatile("wfi");
}

void FirmwarePowerOff() { Psci(0x84000008); }

void FirmwareReset() { Psci(0x84000009); }

[[noreturn]] void PowerOff() {
  FirmwarePowerOff();
  Halt();
}

[[noreturn]] void Reset() {
  FirmwareReset();
  Halt();
}

}  // namespace salvage::arch
