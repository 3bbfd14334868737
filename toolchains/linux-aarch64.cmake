# The `salvage` command as a static Linux executable for arm64 boards (see linux-common.cmake).
set(SALVAGE_LINUX_ARCH aarch64)
set(SALVAGE_GNU_TRIPLE aarch64-linux-gnu)
set(SALVAGE_DEBARCH arm64)
set(SALVAGE_DEB_MULTIARCH aarch64-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/linux-common.cmake)
