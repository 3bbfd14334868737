# salvage image for RISC-V 64 (RISC-V Image; QEMU virt with OpenSBI, S-mode).
set(SALVAGE_ARCH riscv64)
set(CMAKE_SYSTEM_PROCESSOR riscv64)
set(SALVAGE_TRIPLE riscv64-unknown-elf)
# rv64gc/lp64d: Debian's riscv64 libfdt is lp64d and lld refuses to mix float ABIs.
# medany: the image runs anywhere in the address space, not just the low 2 GiB.
# -mno-relax: linker relaxation against __global_pointer$ would tie code to gp.
set(SALVAGE_ARCH_FLAGS "-march=rv64gc -mabi=lp64d -mcmodel=medany -mno-relax")
set(SALVAGE_PICOLIBC riscv64-unknown-elf)
set(SALVAGE_PICOLIBC_LIBDIR ".")
set(SALVAGE_DEBARCH riscv64)
set(SALVAGE_DEB_MULTIARCH riscv64-linux-gnu)
set(SALVAGE_LIBGCC /usr/lib/gcc/riscv64-unknown-elf/12.2.0/libgcc.a)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
