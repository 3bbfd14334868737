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
#include "../params.inc"

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
	ld	a1, SALVAGE_PURGATORY_DTB(t0)		/* DTB */
	ld	t1, SALVAGE_PURGATORY_ENTRY(t0)		/* entry */
	mv	a0, s1
	jr	t1
halt:	wfi
	j	halt
