# The unit tests under AddressSanitizer and UndefinedBehaviorSanitizer: a second, small
# build of this source tree (build/sanitize, SALVAGE_SANITIZE=ON, no images) that builds
# only salvage-host-tests, with clang-16 (it compiles faster than g++ under the
# sanitizers). ctest runs the whole binary as one test, unit-sanitized.
#
# SALVAGE_SANITIZED_TESTS=OFF leaves it out (a quicker build while developing).
option(SALVAGE_SANITIZED_TESTS "Build and run the unit tests under ASan + UBSan too (build/sanitize)" ON)
if(NOT SALVAGE_SANITIZED_TESTS)
  return()
endif()
find_program(SALVAGE_SANITIZE_CXX clang++-16 REQUIRED)
find_program(SALVAGE_SANITIZE_CC clang-16 REQUIRED)
# salvage load's end-to-end tests use the host build's images when they exist, as the
# unsanitized tests do (without them some reservation checks see a fake image's size).
set(_images)
foreach(arch aarch64 arm riscv64)
  if(SALVAGE_IMAGE_${arch})
    list(APPEND _images -DSALVAGE_IMAGE_${arch}=${SALVAGE_IMAGE_${arch}}
                        -DSALVAGE_PURGATORY_${arch}=${SALVAGE_PURGATORY_${arch}}
                        -DSALVAGE_PURGATORY_ELF_${arch}=${SALVAGE_PURGATORY_ELF_${arch}})
  endif()
endforeach()
include(ExternalProject)
ExternalProject_Add(salvage-host-tests-sanitized
  SOURCE_DIR ${CMAKE_SOURCE_DIR}
  BINARY_DIR ${CMAKE_BINARY_DIR}/sanitize
  CMAKE_ARGS -G Ninja
             -DSALVAGE_SANITIZE=ON
             -DSALVAGE_ARCHES=
             -DCMAKE_BUILD_TYPE=Debug
             "-DCMAKE_CXX_FLAGS=-O1"
             "-DCMAKE_C_FLAGS=-O1"
             -DCMAKE_C_COMPILER=${SALVAGE_SANITIZE_CC}
             -DCMAKE_CXX_COMPILER=${SALVAGE_SANITIZE_CXX}
             -DSALVAGE_SYSROOTS=${SALVAGE_SYSROOTS}
             "-DSALVAGE_GIT=${SALVAGE_GIT}"
             ${_images}
  BUILD_COMMAND ${CMAKE_COMMAND} --build <BINARY_DIR> --target salvage-host-tests
  BUILD_ALWAYS ON
  INSTALL_COMMAND ""
  USES_TERMINAL_BUILD ON)
# halt_on_error: the first report fails the test; detect_leaks: the loader's vectors and
# files are freed and closed on every path.
add_test(NAME unit-sanitized COMMAND ${CMAKE_BINARY_DIR}/sanitize/host-tests/salvage-host-tests --gtest_brief=1)
set_tests_properties(unit-sanitized PROPERTIES TIMEOUT 600
  ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
