// salvage::arch — what the runtime needs to know about the CPU it runs on.
// Implemented once per CPU in arch/<cpu>/cpu.cc.
#pragma once

#include <cstddef>
#include <cstdint>

namespace salvage::arch {

/// "aarch64", "arm" or "riscv64".
const char* Name();

/// The privilege level or mode salvage was entered in, for the boot report:
/// "EL1", "EL2", "SVC", "HYP", "S-mode".
const char* Mode();

/// The ELF e_machine and class of this architecture's kernels, for a dump whose
/// elfcorehdr is unusable (EM_AARCH64 / 64, EM_ARM / 32, EM_RISCV / 64; salvage/base/elf.h).
uint16_t ElfMachine();
int ElfClass();

/// Per-CPU setup C++ and picolibc need before anything else: the thread pointer for
/// picolibc's errno (a thread-local). Call once, first thing in SalvageMain.
void EarlyInit();

}  // namespace salvage::arch
