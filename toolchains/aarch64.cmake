# salvage image for 64-bit Arm (arm64 Image; QEMU virt, Raspberry Pi 3/4 in 64-bit mode).
set(SALVAGE_ARCH aarch64)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(SALVAGE_TRIPLE aarch64-none-elf)
# -mstrict-align: until the MMU is on, memory is Device memory, where an unaligned
# access faults on real cores. -mgeneral-regs-only is not used: picolibc uses FP/SIMD,
# which boot/aarch64/start.S enables.
set(SALVAGE_ARCH_FLAGS "-mcpu=cortex-a53 -mstrict-align")
set(SALVAGE_PICOLIBC aarch64-linux-gnu)
set(SALVAGE_PICOLIBC_LIBDIR ".")
set(SALVAGE_DEBARCH arm64)
set(SALVAGE_DEB_MULTIARCH aarch64-linux-gnu)
set(SALVAGE_LIBGCC /usr/lib/gcc-cross/aarch64-linux-gnu/12/libgcc.a)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
