// 32-bit Arm exception decoding: DFSR/IFSR (short-descriptor format) to words, then the
// runtime's ReportFault. (Arm ARM DDI 0406C, B4.1.52 "DFSR", table B3-23 "Short-descriptor
// format FSR encodings".)
#include <cstdint>

#include <salvage/arch/fault.h>
#include <salvage/arch/reset.h>

namespace salvage::arch {
namespace {

const char* const kVectorNames[8] = {"reset", "undefined instruction", "supervisor call", "prefetch abort",
                                     "data abort", "hypervisor trap", "IRQ", "FIQ"};

const char* DescribeFsr(uint32_t fsr) {
  const uint32_t fs = ((fsr >> 6) & 0x10) | (fsr & 0xf);  // FS[4] is bit 10
  switch (fs) {
    case 0x01: return "alignment fault";
    case 0x04: return "instruction cache maintenance fault";
    case 0x0c: return "synchronous external abort on translation table walk, level 1";
    case 0x0e: return "synchronous external abort on translation table walk, level 2";
    case 0x05: return "translation fault, section";
    case 0x07: return "translation fault, page";
    case 0x03: return "access flag fault, section";
    case 0x06: return "access flag fault, page";
    case 0x09: return "domain fault, section";
    case 0x0b: return "domain fault, page";
    case 0x0d: return "permission fault, section";
    case 0x0f: return "permission fault, page";
    case 0x08: return "synchronous external abort";
    case 0x16: return "asynchronous external abort";
    case 0x02: return "debug event";
  }
  return "other abort";
}

}  // namespace
}  // namespace salvage::arch

/// Called by arch/arm/vectors.S on the vectors' own stack. Never returns.
extern "C" [[noreturn]] void SalvageArchFault(uint32_t vector, const uint32_t* frame) {
  using namespace salvage::arch;
  static int depth = 0;
  const bool nested = depth++ > 0;
  if (depth > 2) Halt();

  uint64_t regs[13];
  for (int i = 0; i < 13; ++i) regs[i] = frame[i];
  uint32_t spsr, fsr = 0, far = 0;
  __asm__ volatile("mrs %0, spsr" : "=r"(spsr));
  FaultInfo info{};
  info.kind = kVectorNames[vector & 7];
  info.cause = kVectorNames[vector & 7];
  if (vector == 4) {
    __asm__ volatile("mrc p15, 0, %0, c5, c0, 0" : "=r"(fsr));  // DFSR
    __asm__ volatile("mrc p15, 0, %0, c6, c0, 0" : "=r"(far));  // DFAR
    info.cause = DescribeFsr(fsr);
    info.syndrome_name = "DFSR";
    info.address_name = "DFAR";
  } else if (vector == 3) {
    __asm__ volatile("mrc p15, 0, %0, c5, c0, 1" : "=r"(fsr));  // IFSR
    __asm__ volatile("mrc p15, 0, %0, c6, c0, 2" : "=r"(far));  // IFAR
    info.cause = DescribeFsr(fsr);
    info.syndrome_name = "IFSR";
    info.address_name = "IFAR";
  } else {
    info.syndrome_name = "none";
  }
  info.syndrome = fsr;
  info.address = far;
  info.pc = frame[13];
  info.status_name = "SPSR";
  info.status = spsr;
  info.regs = regs;
  info.reg_count = 13;
  info.reg_prefix = "r";
  info.sp = 0;  // the interrupted mode's banked sp is not read here
  info.nested = nested;
  ReportFault(info);
}

namespace salvage::arch {
// The top 1 MiB section is left unmapped in every map (arch/arm/mmu.cc).
[[noreturn]] void DeliberateFault() {
  volatile uint32_t* p = reinterpret_cast<volatile uint32_t*>(0xfffdead0u);
  (void)*p;
  Halt();
}
}  // namespace salvage::arch
