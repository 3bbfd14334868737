/* salvage purgatory entry for 32-bit Arm (see purgatory/purgatory.cc).
 * Out (to the image, Documentation/arch/arm/booting.rst): r0 = 0, r1 = ~0 (DT boot,
 * no machine type), r2 = DTB. MMU off throughout. */
	.syntax	unified
	.arm
#include "../../boot/arm/bss-relocate.inc"
#include "../../boot/arm/barrier.inc"

	.section .text.header, "ax"
	.globl	_start
_start:
	b	entry
#include "../params.inc"

	.section .text.boot, "ax"
entry:
	cpsid	aif
	/* VFP on, in case the compiler used it (the kernel may have left it off). */
	mrc	p15, 0, r0, c1, c0, 2
	orr	r0, r0, #(0xf << 20)
	mcr	p15, 0, r0, c1, c0, 2
	salvage_isb r0
	mov	r0, #0x40000000
	vmsr	fpexc, r0
	ldr	r9, .Lstart_off
.Lstart_pc:
	add	r9, pc, r9		/* r9: load address */
	ldr	r0, .Lstack_off
.Lstack_pc:
	add	sp, pc, r0
	salvage_bss_relocate halt
	bl	PurgatoryMain		/* returns only when every segment is intact */
	ldr	r9, .Lparams_off
.Lparams_pc:
	add	r9, pc, r9
	ldr	r2, [r9, #SALVAGE_PURGATORY_DTB]		/* DTB (low word) */
	ldr	r3, [r9, #SALVAGE_PURGATORY_ENTRY]		/* entry (low word) */
	mov	r0, #0
	mvn	r1, #0
	bx	r3
halt:	wfe
	b	halt

.Lstart_off:		.word	_start - (.Lstart_pc + 8)
.Lstack_off:		.word	__stack_top - (.Lstack_pc + 8)
.Lparams_off:		.word	purgatory_params - (.Lparams_pc + 8)
