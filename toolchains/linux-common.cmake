# Shared part of the Linux-userspace toolchain files: the `salvage` command (loader/)
# built as a static executable for a board (arm64, armhf, riscv64), where `salvage load`
# runs. Debian's cross compilers (g++-<triple>) supply glibc and libstdc++; libfdt and
# liblz4 come from the Debian packages of the board's architecture that tools/setup.sh
# extracted. The including file sets SALVAGE_LINUX_ARCH (the image architecture name),
# SALVAGE_GNU_TRIPLE, SALVAGE_DEBARCH and SALVAGE_DEB_MULTIARCH.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${SALVAGE_LINUX_ARCH})
set(CMAKE_C_COMPILER ${SALVAGE_GNU_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${SALVAGE_GNU_TRIPLE}-g++)
set(CMAKE_ASM_COMPILER ${SALVAGE_GNU_TRIPLE}-gcc)

if(NOT SALVAGE_SYSROOTS)
  set(SALVAGE_SYSROOTS "${CMAKE_BINARY_DIR}/../sysroots")
endif()
set(SALVAGE_DEB_ROOT "${SALVAGE_SYSROOTS}/${SALVAGE_DEBARCH}/root")
# Target libraries are found only in the extracted packages and the cross compiler's own
# tree, never on the host; static archives only (the binary must run on any board).
set(CMAKE_FIND_ROOT_PATH ${SALVAGE_DEB_ROOT} /usr/${SALVAGE_GNU_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
set(CMAKE_LIBRARY_ARCHITECTURE ${SALVAGE_DEB_MULTIARCH})
set(CMAKE_C_FLAGS_INIT "-isystem ${SALVAGE_DEB_ROOT}/usr/include")
set(CMAKE_CXX_FLAGS_INIT "-isystem ${SALVAGE_DEB_ROOT}/usr/include")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
