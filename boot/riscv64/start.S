/* salvage entry for RISC-V 64: the Linux RISC-V Image header, then the code that gets
 * C++ running wherever the image was loaded.
 *
 * Header layout: Linux Documentation/arch/riscv/boot-image-header.rst.
 *
 * Machine state on entry (SBI firmware such as OpenSBI, kexec, QEMU):
 *   a0 = hart id, a1 = physical address of the DTB
 *   S-mode, satp = 0 (bare: no translation; RAM is cacheable by its PMA)
 */
	.section .text.header, "ax"
	.option	push
	.option	norvc
	.globl	_start
_start:
	j	entry			/* 0x00 code0 (4 bytes) */
	.long	0			/* 0x04 code1 */
	.quad	0x200000		/* 0x08 text_offset */
	.quad	__image_size		/* 0x10 image_size: file + bss + stack, from the linker */
	.quad	0			/* 0x18 flags: little-endian */
	.long	2			/* 0x20 header version 0.2 */
	.long	0			/* 0x24 res1 */
	.quad	0			/* 0x28 res2 */
	.ascii	"RISCV\0\0\0"		/* 0x30 magic (deprecated) */
	.ascii	"RSC\x05"		/* 0x38 magic2 */
	.long	0			/* 0x3c res3: no PE/COFF header */
	.option	pop

#include "../boot-params.inc"
#include "bss-relocate.inc"

	.section .text.boot, "ax"
/* Register roles until SalvageMain:
 *   s0 = DTB physical address (from a1)
 *   s1 = hart id (from a0)
 *   s2 = load address of the image (where _start is now)
 */
entry:
	csrw	sie, zero		/* no interrupts */
	csrci	sstatus, 0x2		/* SIE off */
	mv	s0, a1
	mv	s1, a0
	lla	s2, _start

	li	t0, 0x2000		/* sstatus.FS = Initial: picolibc uses the FPU */
	csrs	sstatus, t0

	lla	sp, __stack_top
	lla	t0, __fault_stack_top
	csrw	sscratch, t0		/* the trap entry swaps to this stack */
	lla	t0, salvage_trap_entry
	csrw	stvec, t0		/* direct mode: the address is 4-byte aligned */

	/* Clear .bss and apply our own relocations for the load address. */
	salvage_bss_relocate halt

	mv	a0, s0			/* DTB */
	mv	a1, s2			/* load address */
	mv	a2, s1			/* hart id */
	call	SalvageMain
	/* SalvageMain does not return; trap forever just in case it does. */
halt:	wfi
	j	halt
