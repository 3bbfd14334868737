// aarch64 CPU facts and early setup.
#include <cstdint>

#include <salvage/arch/cpu.h>
#include <salvage/base/elf.h>

extern "C" void _set_tls(void* tls);  // picolibc: TPIDR_EL0 = tls - 16 (TCB)
extern "C" char __tls_base[];

namespace salvage::arch {

const char* Name() { return "aarch64"; }

const char* Mode() {
  uint64_t el;
  __asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
  switch ((el >> 2) & 3) {
    case 1: return "EL1";
    case 2: return "EL2";
    case 3: return "EL3";
  }
  return "EL0";
}

uint16_t ElfMachine() { return elf::kEmAarch64; }
int ElfClass() { return 64; }

void EarlyInit() { _set_tls(__tls_base); }

}  // namespace salvage::arch
