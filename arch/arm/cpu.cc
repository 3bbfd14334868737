// 32-bit Arm CPU facts and early setup.
#include <cstdint>

#include <salvage/arch/cpu.h>
#include <salvage/base/elf.h>

extern "C" void _set_tls(void* tls);  // picolibc: TPIDRURO for the v7-a multilib
extern "C" char __tls_base[];
extern "C" volatile uint32_t salvage_arm_entered_hyp;  // boot/arm/start.S

namespace salvage::arch {

const char* Name() { return "arm"; }

const char* Mode() {
  uint32_t cpsr;
  __asm__ volatile("mrs %0, cpsr" : "=r"(cpsr));
  switch (cpsr & 0x1f) {
    case 0x13: return salvage_arm_entered_hyp != 0 ? "SVC (entered in HYP)" : "SVC";
    case 0x1a: return "HYP";
    case 0x1f: return "SYS";
    case 0x16: return "MON";
  }
  return "other mode";
}

uint16_t ElfMachine() { return elf::kEmArm; }
int ElfClass() { return 32; }

void EarlyInit() { _set_tls(__tls_base); }

}  // namespace salvage::arch
