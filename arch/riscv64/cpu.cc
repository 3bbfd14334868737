// RISC-V 64 CPU facts and early setup.
#include <salvage/arch/cpu.h>
#include <salvage/base/elf.h>

extern "C" void _set_tls(void* tls);  // picolibc: tp = tls
extern "C" char __tls_base[];

namespace salvage::arch {

const char* Name() { return "riscv64"; }
const char* Mode() { return "S-mode"; }

// picolibc's _init_tls is not used: lld-16 cannot link it at high addresses
// (docs/toolchain.md section 4). .tbss is cleared with .bss and .tdata is used in place.
uint16_t ElfMachine() { return elf::kEmRiscv; }
int ElfClass() { return 64; }

void EarlyInit() { _set_tls(__tls_base); }

}  // namespace salvage::arch
