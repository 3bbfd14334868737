// Stopping an aarch64 machine through PSCI (Arm DEN 0022, "Arm Power State Coordination
// Interface": SYSTEM_OFF 0x84000008, SYSTEM_RESET 0x84000009), called with HVC or SMC
// as the DTB's /psci node says.
#include <cstdint>

#include <salvage/arch/reset.h>

namespace salvage::arch {
namespace {
constinit FirmwareCall g_call = FirmwareCall::kUnknown;
constexpr uint64_t kPsciSystemOff = 0x84000008;
constexpr uint64_t kPsciSystemReset = 0x84000009;

void Psci(uint64_t function) {
  register uint64_t x0 __asm__("x0") = function;
  if (g_call == FirmwareCall::kPsciHvc) {
    __asm__ volatile("hvc #0" : "+r"(x0)::"x1", "x2", "x3", "memory");
  } else if (g_call == FirmwareCall::kPsciSmc) {
    __asm__ volatile("smc #0" : "+r"(x0)::"x1", "x2", "x3", "memory");
  }
}
}  // namespace

void SetFirmwareCall(FirmwareCall call) { g_call = call; }
FirmwareCall GetFirmwareCall() { return g_call; }

[[noreturn]] void Halt() {
  __asm__ volatile("msr daifset, #0xf");
  for (;;) __asm__ volatile("wfi");
}

void FirmwarePowerOff() { Psci(kPsciSystemOff); }

void FirmwareReset() { Psci(kPsciSystemReset); }

[[noreturn]] void PowerOff() {
  FirmwarePowerOff();
  Halt();
}

[[noreturn]] void Reset() {
  FirmwareReset();
  Halt();
}

}  // namespace salvage::arch
