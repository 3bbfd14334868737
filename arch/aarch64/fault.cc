// aarch64 exception decoding: ESR_ELx to words, then the runtime's ReportFault.
// (Arm ARM DDI 0487, D17.2.37 "ESR_EL1": EC in bits 31:26, ISS in 24:0; DFSC/IFSC in
// ISS bits 5:0.)
#include <cstdint>

#include <salvage/arch/fault.h>
#include <salvage/arch/reset.h>

namespace salvage::arch {
namespace {

const char* const kVectorNames[16] = {
    "synchronous (SP0)", "IRQ (SP0)", "FIQ (SP0)", "SError (SP0)",
    "synchronous",       "IRQ",       "FIQ",       "SError",
    "synchronous (lower EL)", "IRQ (lower EL)", "FIQ (lower EL)", "SError (lower EL)",
    "synchronous (lower EL, AArch32)", "IRQ (lower EL, AArch32)", "FIQ (lower EL, AArch32)",
    "SError (lower EL, AArch32)",
};

const char* AbortStatus(uint32_t fsc) {
  switch (fsc & 0x3c) {
    case 0x00: return "address size fault";
    case 0x04: return "translation fault";
    case 0x08: return "access flag fault";
    case 0x0c: return "permission fault";
  }
  switch (fsc) {
    case 0x10: return "synchronous external abort";
    case 0x11: return "synchronous tag check fault";
    case 0x21: return "alignment fault";
    case 0x30: return "TLB conflict abort";
  }
  return "other abort";
}

// Writes "<what>: <status>, level N" into buf (no libc: this runs in a fault).
const char* DescribeAbort(const char* what, uint32_t iss, char* buf, int len) {
  int n = 0;
  auto put = [&](const char* s) { while (*s && n < len - 1) buf[n++] = *s++; };
  const uint32_t fsc = iss & 0x3f;
  put(what);
  put(": ");
  put(AbortStatus(fsc));
  if (fsc < 0x10) {
    put(", level ");
    if (n < len - 1) buf[n++] = static_cast<char>('0' + (fsc & 3));
  }
  buf[n] = 0;
  return buf;
}

const char* DescribeEsr(uint64_t esr, bool* has_address, char* buf, int len) {
  const uint32_t ec = (esr >> 26) & 0x3f;
  const uint32_t iss = esr & 0x1ffffff;
  *has_address = false;
  switch (ec) {
    case 0x00: return "unknown reason (undefined instruction)";
    case 0x01: return "WFI/WFE trapped";
    case 0x07: return "FP/SIMD access trapped";
    case 0x0e: return "illegal execution state";
    case 0x15: return "SVC instruction";
    case 0x16: return "HVC instruction";
    case 0x17: return "SMC instruction";
    case 0x18: return "system register access trapped";
    case 0x20:
    case 0x21: *has_address = true; return DescribeAbort("instruction abort", iss, buf, len);
    case 0x22: *has_address = true; return "PC alignment fault";
    case 0x24:
    case 0x25: *has_address = true; return DescribeAbort("data abort", iss, buf, len);
    case 0x26: return "SP alignment fault";
    case 0x2f: return "SError interrupt";
    case 0x3c: return "BRK instruction";
  }
  return "unhandled exception class";
}

}  // namespace
}  // namespace salvage::arch

/// Called by arch/aarch64/vectors.S on the vectors' own stack. Never returns.
extern "C" [[noreturn]] void SalvageArchFault(uint64_t vector, const uint64_t* frame) {
  using namespace salvage::arch;
  static int depth = 0;  // zero-initialised .bss: no initialisation needed
  const bool nested = depth++ > 0;
  if (depth > 2) Halt();  // a fault while reporting a nested fault: stop without output

  char cause_buf[80];
  bool has_address = false;
  const bool sync = (vector & 3) == 0;
  const uint64_t esr = frame[34];
  FaultInfo info{};
  info.kind = kVectorNames[vector & 15];
  info.cause = sync ? DescribeEsr(esr, &has_address, cause_buf, sizeof(cause_buf))
                    : ((vector & 3) == 3 ? "SError interrupt" : "unexpected interrupt");
  uint64_t el;
  __asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
  const bool el2 = ((el >> 2) & 3) == 2;
  info.syndrome_name = el2 ? "ESR_EL2" : "ESR_EL1";
  info.syndrome = esr;
  info.address_name = has_address ? (el2 ? "FAR_EL2" : "FAR_EL1") : nullptr;
  info.address = frame[35];
  info.pc = frame[32];
  info.status_name = el2 ? "SPSR_EL2" : "SPSR_EL1";
  info.status = frame[33];
  info.regs = frame;
  info.reg_count = 31;
  info.reg_prefix = "x";
  info.sp = frame[31];
  info.nested = nested;
  ReportFault(info);
}

namespace salvage::arch {
// Never mapped: the identity map covers 39 bits (arch/pagetable), so this VA faults.
[[noreturn]] void DeliberateFault() {
  volatile uint64_t* p = reinterpret_cast<volatile uint64_t*>(0xdead00000000ull);
  (void)*p;
  Halt();
}
}  // namespace salvage::arch
