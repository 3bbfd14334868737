# QEMU smoke tests of the three images (host-tests/qemu/boot-test.py prints one
# "SALVAGE: PASS|FAIL <arch> <mode>" line per run). Each run has its own timeout.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
find_program(SALVAGE_CLANG clang-16 REQUIRED)
find_program(SALVAGE_LLD ld.lld-16 REQUIRED)
find_program(SALVAGE_OBJCOPY llvm-objcopy-16 REQUIRED)

# Test-only trampolines: tiny images that jump to salvage at another address.
set(_triple_aarch64 aarch64-none-elf)
set(_triple_arm armv7a-none-eabi)
set(_triple_riscv64 riscv64-unknown-elf)
set(_qemu_modes report relocated fault nodtb baddtb corruptdtb badprops)

foreach(arch IN LISTS SALVAGE_ARCHES)
  set(src ${CMAKE_CURRENT_LIST_DIR}/trampoline/${arch}.S)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/trampoline-${arch})
  add_custom_command(OUTPUT ${out}.bin
    COMMAND ${SALVAGE_CLANG} --target=${_triple_${arch}} -c ${src} -o ${out}.o
    COMMAND ${SALVAGE_LLD} -Ttext=0 ${out}.o -o ${out}.elf
    COMMAND ${SALVAGE_OBJCOPY} -O binary ${out}.elf ${out}.bin
    DEPENDS ${src} COMMENT "test trampoline for ${arch}")
  add_custom_target(trampoline-${arch} ALL DEPENDS ${out}.bin)

  # The image's relocations and header, checked from the ELF.
  add_test(NAME image-${arch}-check
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/check-image.py
            --arch ${arch} --elf ${SALVAGE_IMAGE_ELF_${arch}} --image ${SALVAGE_IMAGE_${arch}})
  set_tests_properties(image-${arch}-check PROPERTIES PASS_REGULAR_EXPRESSION "SALVAGE: PASS" TIMEOUT 60)

  set(modes ${_qemu_modes})
  if(arch STREQUAL "aarch64")
    list(APPEND modes el2)
  endif()
  foreach(mode IN LISTS modes)
    add_test(NAME qemu-${arch}-${mode}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/boot-test.py
              --arch ${arch} --mode ${mode}
              --image ${SALVAGE_IMAGE_${arch}} --elf ${SALVAGE_IMAGE_ELF_${arch}}
              --trampoline ${out}.bin)
    set_tests_properties(qemu-${arch}-${mode} PROPERTIES
      PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 120)
  endforeach()
endforeach()

# Capture tests: a synthetic crashed machine (tools/synth-crash.py) dumped over the
# serial line (QEMU's -serial tcp server) into `salvage recv`; the vmcore must equal the
# machine's memory byte for byte. Modes: see host-tests/qemu/capture-test.py.
foreach(arch IN LISTS SALVAGE_ARCHES)
  foreach(mode serial damaged badhdr truncated nohdr)
    add_test(NAME capture-${arch}-${mode}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/capture-test.py
              --arch ${arch} --mode ${mode} --image ${SALVAGE_IMAGE_${arch}}
              --salvage $<TARGET_FILE:salvage> --synth ${CMAKE_SOURCE_DIR}/tools/synth-crash.py)
    set_tests_properties(capture-${arch}-${mode} PROPERTIES
      PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 300)
  endforeach()
endforeach()

# Dumps to virtio-blk (host-tests/qemu/disk-test.py), read back with `salvage extract`:
# whole disk, GPT partition and scattered extents on both virtio-mmio transports; a
# target too small (modern) and a device left busy by a first driver (legacy).
foreach(arch IN LISTS SALVAGE_ARCHES)
  foreach(case disk:legacy disk:modern gpt:legacy gpt:modern extents:legacy extents:modern small:modern busy:legacy)
    string(REPLACE ":" ";" parts ${case})
    list(GET parts 0 target)
    list(GET parts 1 transport)
    add_test(NAME disk-${arch}-${target}-${transport}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/disk-test.py
              --arch ${arch} --target ${target} --transport ${transport} --image ${SALVAGE_IMAGE_${arch}}
              --salvage $<TARGET_FILE:salvage> --synth ${CMAKE_SOURCE_DIR}/tools/synth-crash.py)
    set_tests_properties(disk-${arch}-${target}-${transport} PROPERTIES
      PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 300)
  endforeach()
endforeach()

# `salvage recv` on a serial device (a pty standing in for the USB serial cable).
if("aarch64" IN_LIST SALVAGE_ARCHES)
add_test(NAME recv-pty-aarch64
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/pty-test.py --arch aarch64
          --image ${SALVAGE_IMAGE_aarch64} --salvage $<TARGET_FILE:salvage> --synth ${CMAKE_SOURCE_DIR}/tools/synth-crash.py)
set_tests_properties(recv-pty-aarch64 PROPERTIES
  PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 300)
endif()

# The purgatory: only RELATIVE relocations (which it applies itself), and in QEMU it
# jumps to an intact image with the DTB, and refuses a damaged one naming the segment.
foreach(arch IN LISTS SALVAGE_ARCHES)
  add_test(NAME purgatory-${arch}-check
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/check-image.py --purgatory
            --arch ${arch} --elf ${SALVAGE_PURGATORY_ELF_${arch}} --image ${SALVAGE_PURGATORY_${arch}})
  set_tests_properties(purgatory-${arch}-check PROPERTIES PASS_REGULAR_EXPRESSION "SALVAGE: PASS" TIMEOUT 60)
  foreach(mode intact damaged)
    add_test(NAME purgatory-${arch}-${mode}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/purgatory-test.py --arch ${arch} --mode ${mode}
              --image ${SALVAGE_IMAGE_${arch}} --purgatory ${SALVAGE_PURGATORY_${arch}})
    set_tests_properties(purgatory-${arch}-${mode} PROPERTIES
      PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 120)
  endforeach()
endforeach()

# The `salvage` command built for the boards (static Linux executables) runs there:
# here under qemu-user.
set(_qemu_user_aarch64 qemu-aarch64-static)
set(_qemu_user_arm qemu-arm-static)
set(_qemu_user_riscv64 qemu-riscv64-static)
foreach(arch IN LISTS SALVAGE_ARCHES)
  add_test(NAME salvage-linux-${arch}-runs
    COMMAND ${_qemu_user_${arch}} ${SALVAGE_LINUX_TOOL_${arch}} --version)
  set_tests_properties(salvage-linux-${arch}-runs PROPERTIES PASS_REGULAR_EXPRESSION "^salvage [0-9]" TIMEOUT 60)
endforeach()

# The real crash (host-tests/qemu/crash-test.py): Debian's arm64 kernel panics in QEMU
# and salvage captures it; makedumpfile and readelf judge the vmcore. The crash kit
# (kernel, busybox, kexec-tools, makedumpfile) is fetched by tools/setup.sh into the
# build tree.
if("aarch64" IN_LIST SALVAGE_ARCHES)
  set(_crash_common --kit ${CMAKE_BINARY_DIR}/crash-kit/arm64 --image ${SALVAGE_IMAGE_aarch64}
      --salvage $<TARGET_FILE:salvage>)
  foreach(sink serial virtio)
    add_test(NAME crash-kexec-${sink}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash-test.py --loader kexec --sink ${sink} ${_crash_common})
    set_tests_properties(crash-kexec-${sink} PROPERTIES
      PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 400)
  endforeach()
endif()
