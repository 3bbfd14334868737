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
set(_qemu_modes report relocated fault nodtb baddtb corruptdtb olddtb badprops)

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
  elseif(arch STREQUAL "arm")
    list(APPEND modes hyp)
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
  foreach(mode serial damaged line badhdr truncated nohdr memsize hdrfirst hdrallbut1 hdrall)
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
# target too small (modern) and a device left busy by a first driver (legacy); a whole
# disk without salvage.confirm=whole-disk and a block sink without a target, which the
# image must refuse without writing a sector.
foreach(arch IN LISTS SALVAGE_ARCHES)
  foreach(case disk:legacy disk:modern gpt:legacy gpt:modern extents:legacy extents:modern small:modern busy:legacy
               unconfirmed:legacy notarget:modern)
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

# A dump whose header block is damaged after the fact: extract uses the backup header
# block at the area's end (docs/disk-format.md §2) and still gives the whole vmcore.
foreach(arch IN LISTS SALVAGE_ARCHES)
  add_test(NAME disk-${arch}-gpt-badhdrblock
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/disk-test.py
            --arch ${arch} --target gpt --transport modern --damage-header --image ${SALVAGE_IMAGE_${arch}}
            --salvage $<TARGET_FILE:salvage> --synth ${CMAKE_SOURCE_DIR}/tools/synth-crash.py)
  set_tests_properties(disk-${arch}-gpt-badhdrblock PROPERTIES
    PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 300)
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
  set(_crash_load --loader load --purgatory ${SALVAGE_PURGATORY_aarch64}
      --salvage-arm64 ${SALVAGE_LINUX_TOOL_aarch64})
  foreach(sink serial virtio)
    add_test(NAME crash-load-${sink}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash-test.py ${_crash_load} --sink ${sink} ${_crash_common})
    set_tests_properties(crash-load-${sink} PROPERTIES
      PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 1000)
  endforeach()
  # The reservation estimate at its boundary: crashkernel= exactly what salvage load says
  # it needs loads, one page less is refused by salvage load itself (three boots).
  add_test(NAME crash-load-boundary
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash-test.py ${_crash_load} --mode boundary ${_crash_common})
  set_tests_properties(crash-load-boundary PROPERTIES
    PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 600)
  # A byte of the loaded image overwritten inside the reservation (through QEMU's
  # gdbstub) before the panic: the purgatory names the segment and does not jump.
  add_test(NAME crash-load-damaged
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash-test.py ${_crash_load} --mode damaged ${_crash_common})
  set_tests_properties(crash-load-damaged PROPERTIES
    PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 300)
  foreach(sink serial virtio)
    add_test(NAME crash-kexec-${sink}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash-test.py --loader kexec --sink ${sink} ${_crash_common})
    set_tests_properties(crash-kexec-${sink} PROPERTIES
      PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 1000)
  endforeach()
endif()

# The real crash on 32-bit Arm: Debian's armhf armmp kernel (zImage) on qemu-system-arm
# -M virt, Cortex-A15, 2 CPUs, 512 MiB; the same script with --arch arm. The kit is
# build/crash-kit/armhf (tools/setup.sh); makedumpfile is Debian's armhf build under
# qemu-arm-static.
if("arm" IN_LIST SALVAGE_ARCHES)
  set(_crash_arm_common --arch arm --kit ${CMAKE_BINARY_DIR}/crash-kit/armhf --image ${SALVAGE_IMAGE_arm}
      --salvage $<TARGET_FILE:salvage>)
  set(_crash_arm_load --loader load --purgatory ${SALVAGE_PURGATORY_arm}
      --salvage-target ${SALVAGE_LINUX_TOOL_arm})
  foreach(sink serial virtio)
    add_test(NAME crash-arm-load-${sink}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash-test.py ${_crash_arm_load} --sink ${sink} ${_crash_arm_common})
    set_tests_properties(crash-arm-load-${sink} PROPERTIES
      PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 1000)
  endforeach()
  add_test(NAME crash-arm-load-boundary
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash-test.py ${_crash_arm_load} --mode boundary ${_crash_arm_common})
  set_tests_properties(crash-arm-load-boundary PROPERTIES
    PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 600)
  add_test(NAME crash-arm-load-damaged
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash-test.py ${_crash_arm_load} --mode damaged ${_crash_arm_common})
  set_tests_properties(crash-arm-load-damaged PROPERTIES
    PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 300)
  # The kernel started in HYP mode (virtualization=on, as the Pi firmware and U-Boot start
  # 32-bit kernels): kexec enters salvage in HYP, which must leave it for SVC.
  # Stock kexec (3M, below) and the purgatory's damaged-segment stop are run in HYP too.
  add_test(NAME crash-arm-hyp-load-virtio
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash-test.py ${_crash_arm_load} --sink virtio
            --machine-extra ,virtualization=on ${_crash_arm_common})
  add_test(NAME crash-arm-hyp-load-damaged
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash-test.py ${_crash_arm_load} --mode damaged
            --machine-extra ,virtualization=on ${_crash_arm_common})
  add_test(NAME crash-arm-hyp-kexec-virtio
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash-test.py --loader kexec --sink virtio --crashkernel 3M
            --machine-extra ,virtualization=on ${_crash_arm_common})
  set_tests_properties(crash-arm-hyp-load-virtio crash-arm-hyp-load-damaged crash-arm-hyp-kexec-virtio PROPERTIES
    PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 600)
  # Stock kexec-tools 2.0.25 (zImage loader): it puts the image 0x8000 into the
  # reservation, sized by the header's KRNL_SIZE tag (salvage's footprint), then QEMU's DTB,
  # which it copies unpacked (1 MiB), and the elfcorehdr on the highest 1 MiB boundary
  # above them: 3M holds them all (without the tag, kexec-tools guesses 5x the file and
  # 3M fails with "Overlapping memory segments").
  foreach(sink serial virtio)
    add_test(NAME crash-arm-kexec-${sink}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash-test.py --loader kexec --sink ${sink}
              --crashkernel 3M ${_crash_arm_common})
    set_tests_properties(crash-arm-kexec-${sink} PROPERTIES
      PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 1000)
  endforeach()
endif()

# Dumps to an SD card on QEMU's raspi3b (host-tests/qemu/sd-test.py), read back with
# `salvage extract`: SDSC (byte addressing) whole card and MBR partition, SDHC (block
# addressing) partition past 2 GiB, and a card and controller left mid-write by a first
# driver; on the Arasan SDHCI (where QEMU puts the card) and on the SDHOST (GPIO 48-53
# routed to it first, as on a Pi 3 under Linux). Debian's Pi 3 device tree when
# tools/setup.sh fetched it, else a test tree.
if("aarch64" IN_LIST SALVAGE_ARCHES)
  foreach(case disk-sdsc mbr-sdsc mbr-sdhc busy-sdsc sdhost-mbr-sdsc sdhost-mbr-sdhc sdhost-busy-sdsc)
    add_test(NAME sd-raspi3b-${case}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/sd-test.py --case ${case}
              --image ${SALVAGE_IMAGE_aarch64} --salvage $<TARGET_FILE:salvage>
              --synth ${CMAKE_SOURCE_DIR}/tools/synth-crash.py --dtb ${CMAKE_BINARY_DIR}/pi-dtbs/bcm2837-rpi-3-b.dtb)
    set_tests_properties(sd-raspi3b-${case} PROPERTIES
      PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 300)
  endforeach()
endif()

# A dump file on the SD card's file systems (host-tests/qemu/sd-file-test.py), as
# `salvage load --sink sd-file` prepares it: a card with an MBR, a FAT32 and an ext4
# partition made with mkfs.vfat/mke2fs, files put there with mtools/debugfs, and a
# preallocated salvage.dump in pieces on one of them; salvage writes the dump into the
# file's extents (salvage.target=extents:...). Both file systems must pass fsck, no byte
# outside the extents may change, and the file copied out through its file system must
# extract to the synthetic machine's memory. raspi3b (aarch64 image): the Arasan SDHCI,
# a 4 GiB SDHC card; raspi2b (arm image): the SDHOST with the pins routed to it as Linux
# leaves them (Debian's Pi 2 tree disables the Arasan), a 256 MiB SDSC card.
foreach(case raspi3b:aarch64:bcm2837-rpi-3-b raspi2b:arm:bcm2836-rpi-2-b)
  string(REPLACE ":" ";" parts ${case})
  list(GET parts 0 board)
  list(GET parts 1 arch)
  list(GET parts 2 dtb)
  if(NOT arch IN_LIST SALVAGE_ARCHES)
    continue()
  endif()
  foreach(fs vfat ext4)
    add_test(NAME sd-file-${board}-${fs}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/sd-file-test.py --machine ${board} --fs ${fs}
              --image ${SALVAGE_IMAGE_${arch}} --salvage $<TARGET_FILE:salvage>
              --synth ${CMAKE_SOURCE_DIR}/tools/synth-crash.py --dtb ${CMAKE_BINARY_DIR}/pi-dtbs/${dtb}.dtb)
    set_tests_properties(sd-file-${board}-${fs} PROPERTIES
      PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 300)
  endforeach()
endforeach()

# QEMU's Raspberry Pi boards with Debian's Pi device trees (tools/setup.sh fetches them
# into build/pi-dtbs): the boot report and a fault on raspi3b (arm64 image, console on
# the mini UART that stdout-path "serial1" names), raspi2b (arm image, PL011 via
# "serial0") and raspi0; serial captures of the synthetic crashed machine over each UART, checked
# byte for byte, and QEMU's exit checked through QMP: a power off (the default) or, with
# salvage.after=reboot, a reset, both through the BCM2835 PM watchdog (no PSCI there).
# raspi0 (ARM1176) runs the ARMv6 variant of the arm image (image-armv6,
# toolchains/armv6.cmake); its DTB leaves the mini UART disabled, so the PL011 it is.
set(_pi_dtb_raspi3b ${CMAKE_BINARY_DIR}/pi-dtbs/bcm2837-rpi-3-b.dtb)
set(_pi_dtb_raspi2b ${CMAKE_BINARY_DIR}/pi-dtbs/bcm2836-rpi-2-b.dtb)
set(_pi_dtb_raspi0 ${CMAKE_BINARY_DIR}/pi-dtbs/bcm2835-rpi-zero.dtb)
set(_pi_arch_raspi3b aarch64)
set(_pi_arch_raspi2b arm)
set(_pi_arch_raspi0 arm)
set(_pi_image_raspi3b aarch64)
set(_pi_image_raspi2b arm)
set(_pi_image_raspi0 armv6)
if("arm" IN_LIST SALVAGE_ARCHES)
  add_test(NAME image-armv6-check
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/check-image.py
            --arch arm --elf ${SALVAGE_IMAGE_ELF_armv6} --image ${SALVAGE_IMAGE_armv6})
  set_tests_properties(image-armv6-check PROPERTIES PASS_REGULAR_EXPRESSION "SALVAGE: PASS" TIMEOUT 60)
  add_test(NAME purgatory-armv6-check
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/check-image.py --purgatory
            --arch arm --elf ${SALVAGE_PURGATORY_ELF_armv6} --image ${SALVAGE_PURGATORY_armv6})
  set_tests_properties(purgatory-armv6-check PROPERTIES PASS_REGULAR_EXPRESSION "SALVAGE: PASS" TIMEOUT 60)
endif()
foreach(board raspi3b raspi2b raspi0)
  set(arch ${_pi_arch_${board}})
  set(image ${_pi_image_${board}})
  if(NOT arch IN_LIST SALVAGE_ARCHES)
    continue()
  endif()
  foreach(mode report fault)
    add_test(NAME qemu-${board}-${mode}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/boot-test.py
              --arch ${arch} --mode ${mode} --machine ${board} --dtb ${_pi_dtb_${board}}
              --image ${SALVAGE_IMAGE_${image}} --elf ${SALVAGE_IMAGE_ELF_${image}})
    set_tests_properties(qemu-${board}-${mode} PROPERTIES
      PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 120)
  endforeach()
endforeach()
foreach(case raspi3b:pl011: raspi3b:mini-uart: raspi3b:mini-uart:reboot raspi2b:pl011: raspi2b:pl011:reboot
             raspi0:pl011: raspi0:pl011:reboot)
  string(REPLACE ":" ";" parts "${case}")
  list(GET parts 0 board)
  list(GET parts 1 uart)
  list(GET parts 2 after)
  set(arch ${_pi_arch_${board}})
  set(image ${_pi_image_${board}})
  if(NOT arch IN_LIST SALVAGE_ARCHES)
    continue()
  endif()
  set(name capture-${board}-${uart})
  set(after_args)
  if(after)
    set(name ${name}-${after})
    set(after_args --after ${after})
  endif()
  add_test(NAME ${name}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/capture-test.py
            --arch ${arch} --machine ${board} --dtb ${_pi_dtb_${board}} --uart ${uart} ${after_args}
            --image ${SALVAGE_IMAGE_${image}} --salvage $<TARGET_FILE:salvage> --synth ${CMAKE_SOURCE_DIR}/tools/synth-crash.py)
  set_tests_properties(${name} PROPERTIES
    PASS_REGULAR_EXPRESSION "SALVAGE: PASS" FAIL_REGULAR_EXPRESSION "SALVAGE: FAIL" TIMEOUT 300)
endforeach()
