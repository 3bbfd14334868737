/* aarch64 exception vectors: every exception is reported and stops salvage.
 * (Arm ARM DDI 0487, D1.10.2 "Exception vectors".)
 *
 * 16 entries of 0x80 bytes: {current EL with SP0, current EL with SPx, lower EL
 * AArch64, lower EL AArch32} x {synchronous, IRQ, FIQ, SError}. Each entry switches to
 * SP_EL0, which start.S pointed at a stack of its own, so a fault with a broken stack
 * still reports. Nothing returns: salvage does not resume after an exception.
 *
 * Frame handed to SalvageArchFault (In: x0 = vector index 0..15, x1 = frame):
 *   [0..30] x0..x30, [31] sp at the fault (SP_ELx), [32] ELR, [33] SPSR, [34] ESR, [35] FAR
 */
	.equ	FRAME_SIZE, 36 * 8 + 8	/* 16-byte aligned */

	.macro	vector index
	.balign	0x80
	msr	spsel, #0		/* switch to the vectors' stack */
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #\index
	b	vector_common
	.endm

	.section .text.vectors, "ax"
	.balign	0x800
	.globl	salvage_vectors
salvage_vectors:
	vector 0
	vector 1
	vector 2
	vector 3
	vector 4
	vector 5
	vector 6
	vector 7
	vector 8
	vector 9
	vector 10
	vector 11
	vector 12
	vector 13
	vector 14
	vector 15

vector_common:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	str	x30, [sp, #240]
	/* The interrupted stack pointer is SP_ELx: read it with SPSel = 1. */
	msr	spsel, #1
	mov	x1, sp
	msr	spsel, #0
	str	x1, [sp, #248]
	mrs	x2, CurrentEL
	cmp	x2, #(2 << 2)
	b.eq	1f
	mrs	x2, elr_el1
	mrs	x3, spsr_el1
	mrs	x4, esr_el1
	mrs	x5, far_el1
	b	2f
1:	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	mrs	x4, esr_el2
	mrs	x5, far_el2
2:	stp	x2, x3, [sp, #256]
	stp	x4, x5, [sp, #272]
	mov	x1, sp
	bl	SalvageArchFault
3:	wfe				/* not reached: SalvageArchFault does not return */
	b	3b
