# libFuzzer targets for the parsers of untrusted input (docs/security.md, "Fuzzing").
#
# Included twice:
#   - by the host build (host-tests/CMakeLists.txt): configures a sub-build in build/fuzz
#     (SALVAGE_FUZZ_BUILD, clang-16 whatever the host compiler is: libFuzzer is clang's)
#     as the target salvage-fuzzers, and registers a short ctest run of every target
#     (fuzz-<name>) from its checked-in seeds;
#   - by that sub-build (the top CMakeLists.txt): builds every library instrumented for
#     libFuzzer, ASan and UBSan with SALVAGE_FUZZING (checksums always match, so that
#     mutations get past them: runtime/base/include/salvage/base/fuzzing.h), and one
#     executable per target, build/fuzz/<name>-fuzz.
#
# Seeds: host-tests/fuzz-corpus/<name>/ (regenerate with tools/fuzz-seeds.sh), with a
# dictionary host-tests/fuzz-corpus/<name>.dict where one helps. What libFuzzer finds
# besides goes to build/fuzz/<name>-corpus. Long runs: tools/fuzz.sh.
#
# name | source of LLVMFuzzerTestOneInput | libraries it links (comma-separated)
set(SALVAGE_FUZZERS
  "elfcore|runtime/elfcore/fuzz/elfcore-fuzz.cc|salvage_elfcore"
  "blockdump|runtime/blockdump/fuzz/blockdump-fuzz.cc|salvage_blockdump"
  "iomem|loader/board/proc/fuzz/iomem-fuzz.cc|salvage_host"
  "stream-decoder|runtime/stream/fuzz/decoder-fuzz.cc|salvage_stream"
  "receiver|loader/workstation/recv/fuzz/receiver-fuzz.cc|salvage_host"
  "inspect|loader/workstation/inspect/fuzz/inspect-fuzz.cc|salvage_host"
  "extract|loader/workstation/extract/fuzz/extract-fuzz.cc|salvage_host"
  "dtb|runtime/dtb/fuzz/dtb-fuzz.cc|salvage_devices,salvage_options"
  "config|loader/board/load/fuzz/config-fuzz.cc|salvage_host"
  "crashkernel|loader/board/proc/fuzz/crashkernel-fuzz.cc|salvage_host"
  "dump-file|loader/board/load/fuzz/dump-file-fuzz.cc|salvage_host")

# Seconds of fuzzing per target in ctest (after the seeds have run): enough for shallow
# crashes on every change, short enough for CI (11 targets, 2 at a time).
set(SALVAGE_FUZZ_CTEST_SECONDS 12 CACHE STRING "Seconds each fuzz-<name> ctest runs its target")

if(SALVAGE_FUZZ_BUILD)
  # ---- in the sub-build: the targets ----
  set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  # The salvage command's code (everything but main.cc) is salvage_host, from
  # loader/CMakeLists.txt (added before this file by the top CMakeLists.txt).
  foreach(entry IN LISTS SALVAGE_FUZZERS)
    string(REPLACE "|" ";" parts "${entry}")
    list(GET parts 0 name)
    list(GET parts 1 src)
    list(GET parts 2 libs)
    string(REPLACE "," ";" libs "${libs}")
    add_executable(${name}-fuzz ${CMAKE_SOURCE_DIR}/${src})
    target_include_directories(${name}-fuzz PRIVATE ${CMAKE_SOURCE_DIR}/host-tests/fuzz)
    target_link_libraries(${name}-fuzz PRIVATE ${libs})
    target_link_options(${name}-fuzz PRIVATE -fsanitize=fuzzer)
  endforeach()
  return()
endif()

# ---- in the host build: the sub-build and the short runs ----
find_program(SALVAGE_CLANGXX clang++-16 REQUIRED)
find_program(SALVAGE_CLANG clang-16 REQUIRED)
include(ExternalProject)
ExternalProject_Add(salvage-fuzzers
  SOURCE_DIR ${CMAKE_SOURCE_DIR}
  BINARY_DIR ${CMAKE_BINARY_DIR}/fuzz
  CMAKE_ARGS -G Ninja
             -DSALVAGE_FUZZ_BUILD=ON
             -DCMAKE_BUILD_TYPE=Debug
             -DCMAKE_C_COMPILER=${SALVAGE_CLANG}
             -DCMAKE_CXX_COMPILER=${SALVAGE_CLANGXX}
             "-DSALVAGE_GIT=${SALVAGE_GIT}"
  BUILD_ALWAYS ON
  INSTALL_COMMAND ""
  USES_TERMINAL_BUILD ON)

set(SALVAGE_FUZZ_CORPUS ${CMAKE_SOURCE_DIR}/host-tests/fuzz-corpus)
foreach(entry IN LISTS SALVAGE_FUZZERS)
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 name)
  set(dict)
  if(EXISTS ${SALVAGE_FUZZ_CORPUS}/${name}.dict)
    set(dict -dict=${SALVAGE_FUZZ_CORPUS}/${name}.dict)
  endif()
  # A short, seeded run: every seed first (they are the valid inputs, so this is also a
  # regression test of the parsers on them), then mutations for a few seconds. New
  # inputs go to build/fuzz/<name>-corpus; the checked-in seeds are only read.
  # -close_fd_mask=3: the targets' own messages are not news (libFuzzer's report still
  # shows). A crash, a leak, a sanitizer report or a timeout fails the test.
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz/${name}-corpus)
  add_test(NAME fuzz-${name}
    COMMAND ${CMAKE_BINARY_DIR}/fuzz/${name}-fuzz -seed=1 -max_total_time=${SALVAGE_FUZZ_CTEST_SECONDS}
            -rss_limit_mb=2048 -timeout=10 -close_fd_mask=3 -print_final_stats=1 ${dict}
            ${CMAKE_BINARY_DIR}/fuzz/${name}-corpus ${SALVAGE_FUZZ_CORPUS}/${name}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  set_tests_properties(fuzz-${name} PROPERTIES TIMEOUT 120)
endforeach()

# The generator of the binary seeds (tools/fuzz-seeds.py builds and runs it): streams,
# disk images and dump-file extent maps made with the project's own encoder, block sink
# and partition layouts. Not built by default.
add_executable(salvage-fuzz-seeds EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/fuzz/make-seeds.cc)
target_include_directories(salvage-fuzz-seeds PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(salvage-fuzz-seeds PRIVATE salvage_stream salvage_blockdump)
