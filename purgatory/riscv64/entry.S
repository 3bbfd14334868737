/* salvage purgatory entry for RISC-V 64 (see purgatory/purgatory.cc).
 * In: a0 = hart id (kept for the image). Out: a0 = hart id, a1 = DTB. */
#include "../../boot/riscv64/bss-relocate.inc"

	.section .text.header, "ax"
	.option	push
	.option	norvc
	.globl	_start
_start:
	j	entry
	.option	pop
	.org	0x40
	.globl	purgatory_params
purgatory_params:
	.ascii	"SLVGPURG"
	.fill	0x30 - 8, 1, 0
	.long	__image_size		/* 0x30 memory footprint, from the linker */
	.fill	0x340 - 0x34, 1, 0

	.section .text.boot, "ax"
entry:
	csrw	sie, zero
	li	t0, 0x2000		/* sstatus.FS = Initial, in case the compiler used the FPU */
	csrs	sstatus, t0
	mv	s1, a0			/* s1: hart id */
	lla	s2, _start		/* s2: load address */
	lla	sp, __stack_top
	salvage_bss_relocate halt
	call	PurgatoryMain		/* returns only when every segment is intact */
	lla	t0, purgatory_params
	ld	a1, 0x18(t0)		/* DTB */
	ld	t1, 0x10(t0)		/* entry */
	mv	a0, s1
	jr	t1
halt:	wfi
	j	halt
