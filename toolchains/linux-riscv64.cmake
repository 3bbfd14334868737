# The `salvage` command as a static Linux executable for riscv64 boards (see linux-common.cmake).
set(SALVAGE_LINUX_ARCH riscv64)
set(SALVAGE_GNU_TRIPLE riscv64-linux-gnu)
set(SALVAGE_DEBARCH riscv64)
set(SALVAGE_DEB_MULTIARCH riscv64-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/linux-common.cmake)
