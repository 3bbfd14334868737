# salvage image for 32-bit Arm, ARMv7-A hard-float (zImage; QEMU virt, Raspberry Pi 2/3
# in 32-bit mode). ARMv6 (Pi Zero/1) uses Debian's armel libraries: toolchains/armv6.cmake.
set(SALVAGE_ARCH arm)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(SALVAGE_TRIPLE armv7a-none-eabihf)
# -marm: entry and vectors are ARM code; -mno-unaligned-access: Strongly-ordered memory
# (MMU off) faults on unaligned accesses.
set(SALVAGE_ARCH_FLAGS "-mcpu=cortex-a7 -mfpu=vfpv3-d16 -mfloat-abi=hard -marm -mno-unaligned-access")
set(SALVAGE_PICOLIBC arm-none-eabi)
set(SALVAGE_PICOLIBC_LIBDIR "thumb/v7-a+fp/hard")
set(SALVAGE_DEBARCH armhf)
set(SALVAGE_DEB_MULTIARCH arm-linux-gnueabihf)
set(SALVAGE_LIBGCC /usr/lib/gcc/arm-none-eabi/12.2.1/thumb/v7-a+fp/hard/libgcc.a)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
