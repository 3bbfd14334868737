/* 32-bit Arm exception vectors (VMSAv7, low vectors through VBAR): every exception is
 * reported and stops salvage. (Arm ARM DDI 0406C, B1.8.1 "Exception vectors".)
 *
 * start.S gave abort, undefined, IRQ and FIQ modes a stack of their own. Each handler
 * adjusts lr to the address of the faulting instruction (B1.8.3, table B1-7: ARM state),
 * pushes r0-r12 and that pc, and calls SalvageArchFault(index, frame), which never
 * returns. Frame: [0..12] r0..r12, [13] pc.
 */
	.syntax	unified
	.arm
	.section .text.vectors, "ax"
	.balign	32
	.globl	salvage_vectors
salvage_vectors:
	b	vec_reset		/* 0x00 */
	b	vec_undef		/* 0x04 */
	b	vec_svc			/* 0x08 */
	b	vec_pabt		/* 0x0c */
	b	vec_dabt		/* 0x10 */
	b	vec_hyp			/* 0x14 */
	b	vec_irq			/* 0x18 */
	b	vec_fiq			/* 0x1c */

	.macro	handler name, index, adjust
\name:
	sub	lr, lr, #\adjust
	push	{r0-r12, lr}
	mov	r0, #\index
	mov	r1, sp
	b	vector_common
	.endm

	handler	vec_reset, 0, 0
	handler	vec_undef, 1, 4
	handler	vec_svc, 2, 4
	handler	vec_pabt, 3, 4
	handler	vec_dabt, 4, 8
	handler	vec_hyp, 5, 0
	handler	vec_irq, 6, 4
	handler	vec_fiq, 7, 4

vector_common:
	bl	SalvageArchFault
1:	wfe				/* not reached */
	b	1b
