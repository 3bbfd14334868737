/* salvage purgatory entry for 32-bit Arm (see purgatory/purgatory.cc).
 * Out (to the image, Documentation/arch/arm/booting.rst): r0 = 0, r1 = ~0 (DT boot,
 * no machine type), r2 = DTB. MMU off throughout. */
	.syntax	unified
	.arm
	.section .text.header, "ax"
	.globl	_start
_start:
	b	entry
	.org	0x40
	.globl	purgatory_params
purgatory_params:
	.ascii	"SLVGPURG"
	.fill	0x340 - 8, 1, 0

	.section .text.boot, "ax"
entry:
	cpsid	aif
	/* VFP on, in case the compiler used it (the kernel may have left it off). */
	mrc	p15, 0, r0, c1, c0, 2
	orr	r0, r0, #(0xf << 20)
	mcr	p15, 0, r0, c1, c0, 2
	isb
	mov	r0, #0x40000000
	vmsr	fpexc, r0
	ldr	r9, .Lstart_off
.Lstart_pc:
	add	r9, pc, r9		/* r9: load address */
	ldr	r0, .Lstack_off
.Lstack_pc:
	add	sp, pc, r0
	ldr	r0, .Lbss_start_off
.Lbss_start_pc:
	add	r0, pc, r0
	ldr	r1, .Lbss_end_off
.Lbss_end_pc:
	add	r1, pc, r1
	mov	r2, #0
	mov	r3, #0
1:	cmp	r0, r1
	bhs	2f
	stmia	r0!, {r2, r3}
	b	1b
2:	mov	r0, r9
	ldr	r1, .Lreloc_start_off
.Lreloc_start_pc:
	add	r1, pc, r1
	ldr	r2, .Lreloc_end_off
.Lreloc_end_pc:
	add	r2, pc, r2
	bl	SalvageRelocate
	cmp	r0, #0
	bne	halt
	bl	PurgatoryMain		/* returns only when every segment is intact */
	ldr	r9, .Lparams_off
.Lparams_pc:
	add	r9, pc, r9
	ldr	r2, [r9, #0x18]		/* DTB (low word) */
	ldr	r3, [r9, #0x10]		/* entry (low word) */
	mov	r0, #0
	mvn	r1, #0
	bx	r3
halt:	wfe
	b	halt

.Lstart_off:		.word	_start - (.Lstart_pc + 8)
.Lstack_off:		.word	__stack_top - (.Lstack_pc + 8)
.Lbss_start_off:	.word	__bss_start - (.Lbss_start_pc + 8)
.Lbss_end_off:		.word	__bss_end - (.Lbss_end_pc + 8)
.Lreloc_start_off:	.word	__reloc_start - (.Lreloc_start_pc + 8)
.Lreloc_end_off:	.word	__reloc_end - (.Lreloc_end_pc + 8)
.Lparams_off:		.word	purgatory_params - (.Lparams_pc + 8)
