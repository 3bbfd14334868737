# salvage image for 32-bit Arm, ARMv6 (ARM1176JZF-S: Raspberry Pi 1, Zero, Zero W; QEMU
# raspi0 and raspi1ap). The same sources as toolchains/arm.cmake (SALVAGE_ARCH arm: the
# arch/arm code picks the ARMv6 forms of barriers, cache maintenance and SCTLR by
# __ARM_ARCH), built as ARM code for ARMv6KZ against libraries that run there:
# Debian's armhf libfdt/liblz4 are Thumb-2/ARMv7 and trap with an Undefined Instruction on
# ARM1176 (docs/toolchain.md section 4), so armel's (ARMv5TE, soft-float calling
# convention).
set(SALVAGE_ARCH arm)
set(SALVAGE_ARM_VARIANT armv6)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(SALVAGE_TRIPLE armv6kz-none-eabi)
# -mfloat-abi=softfp -mfpu=vfpv2: VFP instructions (the ARM1176JZF-S has VFP11) with the
# soft-float calling convention of armel's libraries and picolibc's v5te/softfp multilib.
# -marm: ARM1176 has Thumb-1 only. -mno-unaligned-access: as for ARMv7 (MMU off faults).
set(SALVAGE_ARCH_FLAGS "-mcpu=arm1176jzf-s -mfpu=vfpv2 -mfloat-abi=softfp -marm -mno-unaligned-access")
set(SALVAGE_PICOLIBC arm-none-eabi)
set(SALVAGE_PICOLIBC_LIBDIR "arm/v5te/softfp")
set(SALVAGE_DEBARCH armel)
set(SALVAGE_DEB_MULTIARCH arm-linux-gnueabi)
set(SALVAGE_LIBGCC /usr/lib/gcc/arm-none-eabi/12.2.1/arm/v5te/softfp/libgcc.a)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
