// Self-relocation of the salvage image (a static PIE linked at 0).
//
// Called by boot/<arch>/start.S with the MMU off, before any other C++ code, so it must
// use nothing that itself needs relocating: no global data, only its arguments.
// Applies R_AARCH64_RELATIVE / R_RISCV_RELATIVE (RELA) and R_ARM_RELATIVE (REL). Any
// other type means the image was linked wrongly; the build checks for that too
// (tools/check-relocations.py), and here it stops the boot.
#include <cstddef>
#include <cstdint>

namespace {

#if defined(__aarch64__) || (defined(__riscv) && __riscv_xlen == 64)
struct Rela {
  uint64_t offset;
  uint64_t info;
  int64_t addend;
};
#if defined(__aarch64__)
constexpr uint32_t kRelative = 1027;  // R_AARCH64_RELATIVE
#else
constexpr uint32_t kRelative = 3;  // R_RISCV_RELATIVE
#endif

uintptr_t Apply(uintptr_t base, const Rela* begin, const Rela* end) {
  for (const Rela* r = begin; r < end; ++r) {
    if (static_cast<uint32_t>(r->info) != kRelative) return static_cast<uint32_t>(r->info) | 0x10000u;
    *reinterpret_cast<uint64_t*>(base + r->offset) = base + r->addend;
  }
  return 0;
}
#elif defined(__arm__)
struct Rel {
  uint32_t offset;
  uint32_t info;
};
constexpr uint32_t kRelative = 23;  // R_ARM_RELATIVE

uintptr_t Apply(uintptr_t base, const Rel* begin, const Rel* end) {
  for (const Rel* r = begin; r < end; ++r) {
    if ((r->info & 0xff) != kRelative) return (r->info & 0xff) | 0x10000u;
    *reinterpret_cast<uint32_t*>(base + r->offset) += base;
  }
  return 0;
}
#else
#error "salvage: no relocation code for this architecture"
#endif

}  // namespace

/// In: base = load address (= link address 0 + displacement), [begin, end) the
/// relocation table as loaded. Out: 0 when every entry was applied, otherwise
/// 0x10000 | the first unexpected relocation type.
extern "C" uintptr_t SalvageRelocate(uintptr_t base, const void* begin, const void* end) {
#if defined(__arm__)
  using Entry = Rel;
#else
  using Entry = Rela;
#endif
  return Apply(base, static_cast<const Entry*>(begin), static_cast<const Entry*>(end));
}
