// salvage::arch — exception reports.
//
// The exception vectors (arch/<cpu>/vectors.S) decode what happened into a FaultInfo
// and call ReportFault, which the runtime defines (runtime/console/fault-report.cc):
// arch knows no console. ReportFault must need no initialised memory beyond the saved
// console configuration, and never returns.
#pragma once

#include <cstdint>

namespace salvage::arch {

struct FaultInfo {
  const char* kind;         ///< Which vector: "synchronous", "SError", "data abort", ...
  const char* cause;        ///< Decoded cause: "data abort: translation fault, level 1".
  const char* syndrome_name;///< "ESR_EL1", "DFSR", "scause".
  uint64_t syndrome;        ///< The raw syndrome / status register.
  const char* address_name; ///< "FAR_EL1", "DFAR", "stval"; nullptr when no address applies.
  uint64_t address;         ///< The faulting address when address_name is set.
  uint64_t pc;              ///< Where the fault happened.
  uint64_t status;          ///< SPSR / CPSR / sstatus at the fault.
  const char* status_name;
  const uint64_t* regs;     ///< General registers, reg_count of them, named reg_prefix<i>.
  uint32_t reg_count;
  const char* reg_prefix;
  uint64_t sp;              ///< The stack pointer at the fault (0 when not known).
  bool nested;              ///< A fault while reporting a fault.
};

/// Defined by the runtime: print the report on the console, then stop the machine by
/// the configured rule. Called from the vectors with interrupts masked.
[[noreturn]] void ReportFault(const FaultInfo& info);

/// Faults on purpose, by reading an address that is never mapped, to test the fault
/// report (the `salvage.debug=fault` option).
[[noreturn]] void DeliberateFault();

}  // namespace salvage::arch
