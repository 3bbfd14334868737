# Shared part of the freestanding toolchain files. The including file sets
# SALVAGE_ARCH, SALVAGE_TRIPLE, SALVAGE_ARCH_FLAGS, SALVAGE_PICOLIBC (triple dir under
# /usr/lib/picolibc), SALVAGE_PICOLIBC_LIBDIR, SALVAGE_LIBGCC, SALVAGE_DEBARCH (the Debian
# architecture whose libfdt/liblz4 the setup step extracted) and SALVAGE_DEB_MULTIARCH.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_C_COMPILER clang-16)
set(CMAKE_CXX_COMPILER clang++-16)
set(CMAKE_ASM_COMPILER clang-16)
foreach(lang C CXX ASM)
  set(CMAKE_${lang}_COMPILER_TARGET ${SALVAGE_TRIPLE})
endforeach()
set(CMAKE_AR llvm-ar-16)
set(CMAKE_RANLIB llvm-ranlib-16)
set(CMAKE_OBJCOPY llvm-objcopy-16)
set(CMAKE_READELF llvm-readelf-16)
# Without this, CMake's compiler check tries to link an executable against a libc it
# cannot find (docs/toolchain.md section 2).
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# The setup step extracts Debian's target packages here (tools/setup.sh).
if(NOT SALVAGE_SYSROOTS)
  set(SALVAGE_SYSROOTS "${CMAKE_BINARY_DIR}/../sysroots")
endif()
set(SALVAGE_DEB_ROOT "${SALVAGE_SYSROOTS}/${SALVAGE_DEBARCH}/root")
set(SALVAGE_PICOLIBC_INCLUDE /usr/lib/picolibc/${SALVAGE_PICOLIBC}/include)

# -ffreestanding: no hosted libc assumptions; -fPIE: the image is a static PIE that
# relocates itself, since every board's crashkernel base differs;
# -fvisibility=hidden: references to our own symbols stay PC-relative (no GOT);
# -fno-stack-protector: no canary before the stack exists (libfdt's own references to
# __stack_chk_guard are satisfied in boot/support.c);
# -ffunction-sections/-fdata-sections with --gc-sections: keep the image small.
set(_common "${SALVAGE_ARCH_FLAGS} -ffreestanding -fPIE -fvisibility=hidden -fno-stack-protector -ffunction-sections -fdata-sections")
# C: picolibc's headers, then the Debian target packages' (libfdt.h, lz4.h).
set(CMAKE_C_FLAGS_INIT "${_common} -isystem ${SALVAGE_PICOLIBC_INCLUDE} -isystem ${SALVAGE_DEB_ROOT}/usr/include")
# C++: libc++'s headers (configured by toolchains/include/__config_site) must come
# before picolibc's, or <cstdint> finds the C <stdint.h> first.
set(CMAKE_CXX_FLAGS_INIT "${_common} -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit -nostdinc++ -isystem ${CMAKE_CURRENT_LIST_DIR}/include -isystem /usr/lib/llvm-16/include/c++/v1 -isystem ${SALVAGE_PICOLIBC_INCLUDE} -isystem ${SALVAGE_DEB_ROOT}/usr/include")
set(CMAKE_ASM_FLAGS_INIT "${SALVAGE_ARCH_FLAGS}")
# /usr/bin/ld.lld is lld-14; name lld-16 explicitly (docs/toolchain.md section 2).
# -pie --no-dynamic-linker: a static PIE. -z notext: picolibc's arm objects keep
# absolute addresses in literal pools inside .text; those become R_ARM_RELATIVE entries
# like any other, which the entry code applies (nothing is read-only before the MMU).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wno-unused-command-line-argument -nostdlib -fuse-ld=lld-16 -Wl,-pie -Wl,--no-dynamic-linker -Wl,-z,notext -Wl,-z,norelro")

set(SALVAGE_LIBC "/usr/lib/picolibc/${SALVAGE_PICOLIBC}/lib/${SALVAGE_PICOLIBC_LIBDIR}/libc.a")
set(SALVAGE_LIBFDT "${SALVAGE_DEB_ROOT}/usr/lib/${SALVAGE_DEB_MULTIARCH}/libfdt.a")
set(SALVAGE_LIBLZ4 "${SALVAGE_DEB_ROOT}/usr/lib/${SALVAGE_DEB_MULTIARCH}/liblz4.a")
