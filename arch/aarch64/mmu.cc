// aarch64 identity map with caches on, at EL1 or EL2.
// (Arm ARM DDI 0487: D8 "The AArch64 Virtual Memory System Architecture";
// registers TCR_EL1/TCR_EL2, MAIR_ELx, TTBR0_ELx, SCTLR_ELx in D17.2.)
//
// Two table sets: the bootstrap map (image and DTB Normal, all else Device) is built
// with the MMU off; the final map (all /memory Normal) is built with the MMU on and
// switched to by writing TTBR0. Both map the image and the DTB identically, so the
// switch never changes the attributes of memory in use.
#include <cstdint>

#include <salvage/arch/mmu.h>
#include <salvage/arch/pagetable.h>

extern "C" char __image_start[];
extern "C" char _end[];

namespace salvage::arch {
namespace {

constexpr size_t kBootstrapTables = 8;
constexpr size_t kFinalTables = 24;
alignas(4096) constinit Lpae4kTable::Table g_bootstrap[kBootstrapTables] = {};
alignas(4096) constinit Lpae4kTable::Table g_final[kFinalTables] = {};

constinit char g_describe[96] = "MMU off, caches off";

uint64_t Identity(const void* p) { return reinterpret_cast<uintptr_t>(p); }

bool AtEl2() {
  uint64_t el;
  __asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
  return ((el >> 2) & 3) == 2;
}

// TCR fields (same positions at EL1 and EL2 for these).
constexpr uint64_t kT0sz = 64 - Lpae4kTable::kVaBits;
constexpr uint64_t kIrgn0Wbwa = 1ull << 8;
constexpr uint64_t kOrgn0Wbwa = 1ull << 10;
constexpr uint64_t kSh0Inner = 3ull << 12;
constexpr uint64_t kTg0_4k = 0ull << 14;
constexpr uint64_t kTcrEl1Epd1 = 1ull << 23;  // no TTBR1 walks
constexpr uint64_t kTcrEl1IpsShift = 32;
constexpr uint64_t kTcrEl2PsShift = 16;
constexpr uint64_t kTcrEl2Res1 = (1ull << 31) | (1ull << 23);

// SCTLR fields.
constexpr uint64_t kSctlrM = 1ull << 0;
constexpr uint64_t kSctlrA = 1ull << 1;
constexpr uint64_t kSctlrC = 1ull << 2;
constexpr uint64_t kSctlrI = 1ull << 12;
constexpr uint64_t kSctlrWxn = 1ull << 19;

uint64_t PaRange() {
  uint64_t mmfr0;
  __asm__ volatile("mrs %0, id_aa64mmfr0_el1" : "=r"(mmfr0));
  uint64_t r = mmfr0 & 0xf;
  return r > 5 ? 5 : r;  // 48 bits is the most a 4K 39-bit-VA map needs
}

// Invalidates the data cache to PoC over [begin, end): discards any stale line for
// memory that was written with the MMU off.
void InvalidateDcache(uintptr_t begin, uintptr_t end) {
  uint64_t ctr;
  __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
  const uintptr_t line = 4u << ((ctr >> 16) & 0xf);
  for (uintptr_t a = begin & ~(line - 1); a < end; a += line) __asm__ volatile("dc ivac, %0" ::"r"(a) : "memory");
  __asm__ volatile("dsb sy" ::: "memory");
}

void Describe(const char* el, size_t tables) {
  // "identity map, caches on (EL1, 39-bit VA, N tables)" without libc.
  const char* parts[] = {"identity map, caches on (", el, ", 39-bit VA, "};
  size_t n = 0;
  for (const char* p : parts)
    while (*p && n < sizeof(g_describe) - 16) g_describe[n++] = *p++;
  if (tables >= 10) g_describe[n++] = static_cast<char>('0' + tables / 10);
  g_describe[n++] = static_cast<char>('0' + tables % 10);
  for (const char* p = " tables)"; *p;) g_describe[n++] = *p++;
  g_describe[n] = 0;
}

Status Build(Lpae4kTable& t, std::span<const PhysRange> ram, PhysRange image, PhysRange dtb) {
  SALVAGE_TRY(t.Map(PhysRange{0, Lpae4kTable::kVaLimit}, MemType::kDevice));
  for (const PhysRange& r : ram) {
    // RAM beyond the map's reach is reported by the runtime when it plans the dump.
    if (r.base >= Lpae4kTable::kVaLimit) continue;
    PhysRange clipped = r;
    if (r.Last() >= Lpae4kTable::kVaLimit) clipped.size = Lpae4kTable::kVaLimit - r.base;
    SALVAGE_TRY(t.Map(clipped, MemType::kNormal));
  }
  SALVAGE_TRY(t.Map(image, MemType::kNormal));
  SALVAGE_TRY(t.Map(dtb, MemType::kNormal));
  return Status::Ok();
}

}  // namespace

Status MmuBootstrap(PhysRange image, PhysRange dtb) {
  const bool el2 = AtEl2();
  uint64_t sctlr;
  if (el2) {
    __asm__ volatile("mrs %0, sctlr_el2" : "=r"(sctlr));
  } else {
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
  }
  if (sctlr & kSctlrM) return Status(Error::kUnsupported, "mmu: already on at entry (boot protocol wants it off)");

  Lpae4kTable table(g_bootstrap, kBootstrapTables, el2, Identity);
  SALVAGE_TRY(Build(table, {}, image, dtb));

  // Everything written so far (tables, .bss, relocations, stack) went to memory with
  // the MMU off; drop any stale cache lines over the image before caches come on.
  InvalidateDcache(reinterpret_cast<uintptr_t>(__image_start), reinterpret_cast<uintptr_t>(_end));
  __asm__ volatile("ic iallu\n dsb nsh\n isb" ::: "memory");

  const uint64_t tcr_common = kT0sz | kIrgn0Wbwa | kOrgn0Wbwa | kSh0Inner | kTg0_4k;
  const uint64_t root = table.RootPhys();
  sctlr = (sctlr | kSctlrM | kSctlrC | kSctlrI) & ~(kSctlrA | kSctlrWxn);
  if (el2) {
    const uint64_t tcr = tcr_common | kTcrEl2Res1 | (PaRange() << kTcrEl2PsShift);
    __asm__ volatile(
        "msr mair_el2, %0\n msr tcr_el2, %1\n msr ttbr0_el2, %2\n isb\n"
        "tlbi alle2\n dsb ish\n isb\n msr sctlr_el2, %3\n isb" ::"r"(pte::kMairValue),
        "r"(tcr), "r"(root), "r"(sctlr)
        : "memory");
  } else {
    const uint64_t tcr = tcr_common | kTcrEl1Epd1 | (PaRange() << kTcrEl1IpsShift);
    __asm__ volatile(
        "msr mair_el1, %0\n msr tcr_el1, %1\n msr ttbr0_el1, %2\n isb\n"
        "tlbi vmalle1\n dsb ish\n isb\n msr sctlr_el1, %3\n isb" ::"r"(pte::kMairValue),
        "r"(tcr), "r"(root), "r"(sctlr)
        : "memory");
  }
  Describe(el2 ? "EL2" : "EL1", table.TablesUsed());
  return Status::Ok();
}

Status MmuMapRam(std::span<const PhysRange> ram, PhysRange image, PhysRange dtb) {
  const bool el2 = AtEl2();
  Lpae4kTable table(g_final, kFinalTables, el2, Identity);
  SALVAGE_TRY(Build(table, ram, image, dtb));
  const uint64_t root = table.RootPhys();
  // The tables were written through the cacheable map and walks are cacheable
  // (IRGN/ORGN write-back): a DSB makes them visible to the walker.
  if (el2) {
    __asm__ volatile("dsb ishst\n msr ttbr0_el2, %0\n isb\n tlbi alle2\n dsb ish\n isb" ::"r"(root) : "memory");
  } else {
    __asm__ volatile("dsb ishst\n msr ttbr0_el1, %0\n isb\n tlbi vmalle1\n dsb ish\n isb" ::"r"(root) : "memory");
  }
  Describe(el2 ? "EL2" : "EL1", table.TablesUsed());
  return Status::Ok();
}

uint64_t IdentityMapLimit() { return Lpae4kTable::kVaLimit; }

const char* MmuDescribe() { return g_describe; }

}  // namespace salvage::arch
