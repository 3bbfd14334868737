// 32-bit Arm identity map with caches on: VMSAv7 short-descriptor 1 MiB sections.
// (Arm ARM DDI 0406C: B3.5 "Short-descriptor translation table format"; B4.1.130
// "SCTLR"; B4.1.43 "DACR".) Physical memory above 4 GiB (LPAE) is not mapped yet.
// ARMv6 (ARM1176, toolchains/armv6.cmake) has the same section format once SCTLR.XP
// selects it (ARM1176JZF-S TRM 6.11 "MMU descriptors", 3.2.7 "c1, Control Register"),
// CP15 barriers instead of instructions (cpu-barrier.h) and the ARMv6 Cache Type
// Register layout (TRM 3.2.3).
//
// As on aarch64: a bootstrap map built with the MMU off (image and DTB Normal, all else
// Device), then a final map with all of /memory Normal. The top section is never mapped,
// so salvage.debug=fault has an address that always faults.
#include <cstdint>

#include <salvage/arch/cpu-barrier.h>
#include <salvage/arch/mmu.h>
#include <salvage/arch/pagetable.h>

extern "C" char __image_start[];
extern "C" char _end[];

namespace salvage::arch {
namespace {

// TTBR0 needs a 16 KiB-aligned table, but the image is only guaranteed 4 KiB alignment
// wherever it is loaded: reserve 12 KiB of slack and align at run time.
constexpr size_t kSlackWords = 3 * 1024;
alignas(4096) constinit uint32_t g_bootstrap_storage[ShortSectionTable::kEntries + kSlackWords] = {};
alignas(4096) constinit uint32_t g_final_storage[ShortSectionTable::kEntries + kSlackWords] = {};
constexpr size_t kTableBytes = ShortSectionTable::kEntries * sizeof(uint32_t);

uint32_t* Aligned16k(uint32_t* storage) {
  return reinterpret_cast<uint32_t*>((reinterpret_cast<uintptr_t>(storage) + 16383) & ~uintptr_t{16383});
}
constinit const char* g_describe = "MMU off, caches off";

constexpr uint32_t kSctlrM = 1u << 0;
constexpr uint32_t kSctlrA = 1u << 1;
constexpr uint32_t kSctlrC = 1u << 2;
constexpr uint32_t kSctlrZ = 1u << 11;
constexpr uint32_t kSctlrI = 1u << 12;
// ARMv6: 22 U, unaligned access support (not the ARMv5 rotation), and 23 XP, the
// "extended" descriptors with XN and TEX that ShortSectionTable writes. ARMv7: both RAO.
constexpr uint32_t kSctlrU = 1u << 22;
constexpr uint32_t kSctlrXp = 1u << 23;
constexpr uint32_t kSctlrTre = 1u << 28;
constexpr uint32_t kSctlrAfe = 1u << 29;
constexpr uint32_t kDacrAllClient = 0x55555555;
// Normal memory Shareable on ARMv7 (as Linux maps it). An ARMv6 uniprocessor (ARM1176)
// does not cache Shareable Normal memory: non-shareable there.
constexpr bool kShareableNormal = __ARM_ARCH >= 7;

// Smallest data cache line in bytes, from CTR: ARMv7 format (bits 31:29 = 0b100) DminLine
// in words at 19:16; ARMv6 format: Dsize.LEN at 13:12, lines of 8 << LEN bytes.
uint32_t DcacheLine() {
  uint32_t ctr;
  __asm__ volatile("mrc p15, 0, %0, c0, c0, 1" : "=r"(ctr));
  if ((ctr >> 29) == 0b100) return 4u << ((ctr >> 16) & 0xf);
  return 8u << ((ctr >> 12) & 0x3);
}

// op 1: invalidate (DCIMVAC), op 2: clean (DCCMVAC), to PoC.
void DcacheRange(uintptr_t begin, uintptr_t end, int op) {
  const uintptr_t line = DcacheLine();
  for (uintptr_t a = begin & ~(line - 1); a < end; a += line) {
    if (op == 1) {
      __asm__ volatile("mcr p15, 0, %0, c7, c6, 1" ::"r"(a) : "memory");
    } else {
      __asm__ volatile("mcr p15, 0, %0, c7, c10, 1" ::"r"(a) : "memory");
    }
  }
  ArmDsb();
}

Status Build(ShortSectionTable& t, std::span<const PhysRange> ram, PhysRange image, PhysRange dtb) {
  SALVAGE_TRY(t.Map(PhysRange{0, 1ull << 32}, MemType::kDevice));
  for (const PhysRange& r : ram) {
    if (r.base >= (1ull << 32)) continue;  // reported by the runtime's plan
    SALVAGE_TRY(t.Map(r, MemType::kNormal));
  }
  SALVAGE_TRY(t.Map(image, MemType::kNormal));
  SALVAGE_TRY(t.Map(dtb, MemType::kNormal));
  t.Unmap(0xfff00000u);
  return Status::Ok();
}

}  // namespace

Status MmuBootstrap(PhysRange image, PhysRange dtb) {
  uint32_t sctlr;
  __asm__ volatile("mrc p15, 0, %0, c1, c0, 0" : "=r"(sctlr));
  if (sctlr & kSctlrM) return Status(Error::kUnsupported, "mmu: already on at entry (boot protocol wants it off)");
  uint32_t* const bootstrap = Aligned16k(g_bootstrap_storage);
  ShortSectionTable table(bootstrap, kShareableNormal);
  SALVAGE_TRY(Build(table, {}, image, dtb));
  DcacheRange(reinterpret_cast<uintptr_t>(__image_start), reinterpret_cast<uintptr_t>(_end), 1);
  const uint32_t zero = 0;
  __asm__ volatile(
      "mcr p15, 0, %0, c3, c0, 0\n"   // DACR
      "mcr p15, 0, %1, c2, c0, 2\n"   // TTBCR = 0: TTBR0 only, short descriptors
      "mcr p15, 0, %2, c2, c0, 0\n"   // TTBR0: non-cacheable walks
      "mcr p15, 0, %1, c8, c7, 0\n"   // TLBIALL
      "mcr p15, 0, %1, c7, c5, 0\n"   // ICIALLU
      "mcr p15, 0, %1, c7, c5, 6\n"   // BPIALL
      ::"r"(kDacrAllClient),
      "r"(zero), "r"(reinterpret_cast<uintptr_t>(bootstrap))
      : "memory");
  ArmDsb();
  ArmIsb();
  sctlr = (sctlr | kSctlrM | kSctlrC | kSctlrI | kSctlrZ | kSctlrU | kSctlrXp) & ~(kSctlrA | kSctlrTre | kSctlrAfe);
  __asm__ volatile("mcr p15, 0, %0, c1, c0, 0" ::"r"(sctlr) : "memory");
  ArmIsb();
  g_describe = "identity map, caches on (1 MiB sections)";
  return Status::Ok();
}

Status MmuMapRam(std::span<const PhysRange> ram, PhysRange image, PhysRange dtb) {
  uint32_t* const final_table = Aligned16k(g_final_storage);
  ShortSectionTable table(final_table, kShareableNormal);
  SALVAGE_TRY(Build(table, ram, image, dtb));
  // Walks are non-cacheable: push the new table to memory before using it.
  DcacheRange(reinterpret_cast<uintptr_t>(final_table), reinterpret_cast<uintptr_t>(final_table) + kTableBytes, 2);
  const uint32_t zero = 0;
  __asm__ volatile("mcr p15, 0, %0, c2, c0, 0" ::"r"(reinterpret_cast<uintptr_t>(final_table)) : "memory");
  ArmIsb();
  __asm__ volatile(
      "mcr p15, 0, %0, c8, c7, 0\n"  // TLBIALL
      "mcr p15, 0, %0, c7, c5, 6\n"  // BPIALL
      ::"r"(zero)
      : "memory");
  ArmDsb();
  ArmIsb();
  g_describe = "identity map, caches on (1 MiB sections)";
  return Status::Ok();
}

uint64_t IdentityMapLimit() { return uint64_t{1} << 32; }

const char* MmuDescribe() { return g_describe; }

}  // namespace salvage::arch
