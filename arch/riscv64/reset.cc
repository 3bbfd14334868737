// Stopping a RISC-V machine through the SBI (RISC-V SBI specification v1.0, chapter 10
// "System Reset Extension": EID 0x53525354 "SRST", FID 0, type 0 shutdown / 1 cold
// reboot), with the legacy SBI shutdown (EID 0x08) as a fallback for old firmware.
#include <cstdint>

#include <salvage/arch/reset.h>

namespace salvage::arch {
namespace {
constinit FirmwareCall g_call = FirmwareCall::kSbi;

void SbiCall(uint64_t eid, uint64_t fid, uint64_t arg0, uint64_t arg1) {
  register uint64_t a0 __asm__("a0") = arg0;
  register uint64_t a1 __asm__("a1") = arg1;
  register uint64_t a6 __asm__("a6") = fid;
  register uint64_t a7 __asm__("a7") = eid;
  __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
}
constexpr uint64_t kSrst = 0x53525354;
}  // namespace

void SetFirmwareCall(FirmwareCall call) { g_call = call; }
FirmwareCall GetFirmwareCall() { return g_call; }

[[noreturn]] void Halt() {
  __asm__ volatile("csrci sstatus, 0x2");
  for (;;) __asm__ volatile("wfi");
}

void FirmwarePowerOff() {
  SbiCall(kSrst, 0, 0, 0);
  SbiCall(0x08, 0, 0, 0);  // legacy shutdown
}

void FirmwareReset() { SbiCall(kSrst, 0, 1, 0); }

[[noreturn]] void PowerOff() {
  FirmwarePowerOff();
  Halt();
}

[[noreturn]] void Reset() {
  FirmwareReset();
  Halt();
}

}  // namespace salvage::arch
