# The `salvage` command as a static Linux executable for armhf boards (see linux-common.cmake).
set(SALVAGE_LINUX_ARCH arm)
set(SALVAGE_GNU_TRIPLE arm-linux-gnueabihf)
set(SALVAGE_DEBARCH armhf)
set(SALVAGE_DEB_MULTIARCH arm-linux-gnueabihf)
include(${CMAKE_CURRENT_LIST_DIR}/linux-common.cmake)
