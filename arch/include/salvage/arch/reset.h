// salvage::arch — stopping the machine: power off, reset, or halt in place.
#pragma once

namespace salvage::arch {

/// How firmware services are called. Arm: PSCI through HVC or SMC, as the DTB's /psci
/// `method` says; RISC-V: the SBI, always present.
enum class FirmwareCall { kUnknown, kPsciHvc, kPsciSmc, kSbi };

/// Records the firmware call method found in the DTB. Until then it is kUnknown on Arm
/// (PowerOff and Reset then halt in place) and kSbi on RISC-V.
void SetFirmwareCall(FirmwareCall call);
FirmwareCall GetFirmwareCall();

/// PSCI SYSTEM_OFF / SBI system reset (shutdown). Returns only when no firmware call
/// is known or the call failed, so the caller can try a board's reset device.
void FirmwarePowerOff();

/// PSCI SYSTEM_RESET / SBI system reset (cold reboot). Returns only when no firmware
/// call is known or the call failed.
void FirmwareReset();

/// FirmwarePowerOff(), then Halt() if it returned.
[[noreturn]] void PowerOff();

/// FirmwareReset(), then Halt() if it returned.
[[noreturn]] void Reset();

/// Interrupts masked, wait for interrupt, forever.
[[noreturn]] void Halt();

}  // namespace salvage::arch
