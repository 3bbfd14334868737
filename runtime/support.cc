// What the freestanding toolchain expects the program to provide.
#include <cstddef>
#include <cstdint>

#include <salvage/arch/reset.h>
#include <salvage/console/console.h>

extern "C" {
// libfdt.a from Debian is built with the stack protector. The guard is a fixed value:
// there is no entropy source this early, and the check still catches overwrites.
uintptr_t __stack_chk_guard = static_cast<uintptr_t>(0x5a1a6e5a1a6e5a1aull);

[[noreturn]] void __stack_chk_fail() {
  salvage::console::EmergencyWrite("\nsalvage: FAULT: stack smashing detected (stack protector)\n");
  salvage::arch::Halt();
}

// salvage has no heap. Debian's liblz4.a keeps its malloc-using functions in the same
// object as LZ4_compress_fast_extState, so the references must resolve; those functions
// are never called (salvage passes its own state), and if one were, it gets no memory.
void* malloc(size_t) { return nullptr; }
void* calloc(size_t, size_t) { return nullptr; }
void free(void*) {}

void abort() {
  salvage::console::EmergencyWrite("\nsalvage: FAULT: abort() called\n");
  salvage::arch::Halt();
}
}

namespace std {
inline namespace __1 {
// libc++'s assertion and "exception with -fno-exceptions" path.
[[noreturn]] void __libcpp_verbose_abort(const char* format, ...) {
  salvage::console::EmergencyWrite("\nsalvage: FAULT: C++ runtime abort: ");
  salvage::console::EmergencyWrite(format);
  salvage::console::EmergencyWrite("\n");
  salvage::arch::Halt();
}
}  // namespace __1
}  // namespace std
