// The fake arch: arch/'s interfaces (cpu.h, timer.h, mmu.h) on the host, for tests that
// run runtime code above arch/ (the capture) as the image would, in the way Hafnium's
// fake arch stands in for a CPU. What a test may set is here; the rest answers like a
// 64-bit machine with the MMU already on and a timer that moves one microsecond per
// read.
#pragma once

#include <cstdint>

namespace salvage::arch::fake {

/// What ElfMachine() / ElfClass() answer (default EM_AARCH64, 64).
void SetMachine(uint16_t elf_machine, int elf_class);

/// What IdentityMapLimit() answers (default 2^47: the host's user address space, where
/// a test places its fake old memory at the physical addresses it describes).
void SetIdentityMapLimit(uint64_t limit);

/// Back to the defaults.
void Reset();

}  // namespace salvage::arch::fake
