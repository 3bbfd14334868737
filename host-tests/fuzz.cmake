# libFuzzer targets for the parsers of untrusted input, built with clang-16 whatever the
# host compiler is (libFuzzer is clang's). ctest runs each briefly (fuzz-<name>); for
# long runs use tools/fuzz.sh.
find_program(SALVAGE_CLANGXX clang++-16 REQUIRED)
set(_fuzz_flags -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
    -I${CMAKE_SOURCE_DIR}/runtime/base/include -I${CMAKE_SOURCE_DIR}/runtime/elfcore/include
    -I${CMAKE_SOURCE_DIR}/runtime/stream/include -I${CMAKE_SOURCE_DIR}/runtime/blockdump/include
    -I${CMAKE_SOURCE_DIR}/drivers/include -I${CMAKE_SOURCE_DIR}/loader)
set(SALVAGE_FUZZERS
  "elfcore|${CMAKE_SOURCE_DIR}/runtime/elfcore/fuzz/elfcore-fuzz.cc|${CMAKE_SOURCE_DIR}/runtime/elfcore/elfcore.cc|"
  "blockdump|${CMAKE_SOURCE_DIR}/runtime/blockdump/fuzz/blockdump-fuzz.cc|${CMAKE_SOURCE_DIR}/runtime/blockdump/target.cc|"
  "iomem|${CMAKE_SOURCE_DIR}/loader/proc/fuzz/iomem-fuzz.cc|${CMAKE_SOURCE_DIR}/loader/proc/iomem.cc|"
  "stream-decoder|${CMAKE_SOURCE_DIR}/runtime/stream/fuzz/decoder-fuzz.cc|${CMAKE_SOURCE_DIR}/runtime/stream/decoder.cc|${CMAKE_SOURCE_DIR}/runtime/stream/encoder.cc|-llz4")
set(_fuzz_bins)
foreach(entry IN LISTS SALVAGE_FUZZERS)
  string(REPLACE "|" ";" parts "${entry}")
  list(POP_FRONT parts name)
  set(srcs)
  set(libs)
  foreach(p IN LISTS parts)
    if(p MATCHES "^-l")
      list(APPEND libs ${p})
    elseif(p)
      list(APPEND srcs ${p})
    endif()
  endforeach()
  set(bin ${CMAKE_BINARY_DIR}/fuzz/${name}-fuzz)
  add_custom_command(OUTPUT ${bin}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/fuzz/${name}-corpus
    COMMAND ${SALVAGE_CLANGXX} ${_fuzz_flags} ${srcs} ${libs} -o ${bin}
    DEPENDS ${srcs} COMMENT "libFuzzer target ${name}" VERBATIM)
  list(APPEND _fuzz_bins ${bin})
  # A short, seeded run: finds shallow crashes on every change. Crashes fail the test.
  add_test(NAME fuzz-${name}
    COMMAND ${bin} -seed=1 -max_total_time=20 -rss_limit_mb=2048 -print_final_stats=1
            ${CMAKE_BINARY_DIR}/fuzz/${name}-corpus
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  set_tests_properties(fuzz-${name} PROPERTIES TIMEOUT 120)
endforeach()
add_custom_target(salvage-fuzzers ALL DEPENDS ${_fuzz_bins})
