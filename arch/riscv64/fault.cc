// RISC-V trap decoding: scause to words, then the runtime's ReportFault.
// (RISC-V Privileged Architecture 1.12, table 4.2 "Supervisor cause register values".)
#include <cstdint>

#include <salvage/arch/fault.h>
#include <salvage/arch/reset.h>

namespace salvage::arch {
namespace {

const char* DescribeCause(uint64_t scause, bool* has_address) {
  *has_address = false;
  if (scause >> 63) return "interrupt";
  switch (scause) {
    case 0: *has_address = true; return "instruction address misaligned";
    case 1: *has_address = true; return "instruction access fault";
    case 2: return "illegal instruction";
    case 3: *has_address = true; return "breakpoint";
    case 4: *has_address = true; return "load address misaligned";
    case 5: *has_address = true; return "load access fault";
    case 6: *has_address = true; return "store/AMO address misaligned";
    case 7: *has_address = true; return "store/AMO access fault";
    case 8: return "environment call from U-mode";
    case 9: return "environment call from S-mode";
    case 12: *has_address = true; return "instruction page fault";
    case 13: *has_address = true; return "load page fault";
    case 15: *has_address = true; return "store/AMO page fault";
  }
  return "unknown exception";
}

}  // namespace
}  // namespace salvage::arch

/// Called by arch/riscv64/trap.S on the vectors' own stack. Never returns.
extern "C" [[noreturn]] void SalvageArchFault(const uint64_t* frame) {
  using namespace salvage::arch;
  static int depth = 0;
  const bool nested = depth++ > 0;
  if (depth > 2) Halt();

  uint64_t scause, stval, sepc, sstatus;
  __asm__ volatile("csrr %0, scause" : "=r"(scause));
  __asm__ volatile("csrr %0, stval" : "=r"(stval));
  __asm__ volatile("csrr %0, sepc" : "=r"(sepc));
  __asm__ volatile("csrr %0, sstatus" : "=r"(sstatus));
  // x0 reads as zero; the frame holds sp in slot 0 and x1..x31 in their slots.
  uint64_t regs[32];
  regs[0] = 0;
  for (int i = 1; i < 32; ++i) regs[i] = frame[i];
  regs[2] = frame[0];

  bool has_address = false;
  FaultInfo info{};
  info.kind = (scause >> 63) ? "interrupt" : "exception";
  info.cause = DescribeCause(scause, &has_address);
  info.syndrome_name = "scause";
  info.syndrome = scause;
  info.address_name = has_address ? "stval" : nullptr;
  info.address = stval;
  info.pc = sepc;
  info.status_name = "sstatus";
  info.status = sstatus;
  info.regs = regs;
  info.reg_count = 32;
  info.reg_prefix = "x";
  info.sp = frame[0];
  info.nested = nested;
  ReportFault(info);
}

namespace salvage::arch {
// Far beyond any RAM or device of the boards salvage supports; with satp bare the
// access reaches the bus and faults there (load access fault).
[[noreturn]] void DeliberateFault() {
  volatile uint64_t* p = reinterpret_cast<volatile uint64_t*>(0xdead00000000ull);
  (void)*p;
  Halt();
}
}  // namespace salvage::arch
