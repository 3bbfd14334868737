/* salvage purgatory entry for arm64 (see purgatory/purgatory.cc).
 * In: whatever the kexec path left (x0..x3 unused); MMU off.
 * Out (to the image, booting.rst): x0 = DTB, x1 = x2 = x3 = 0. */
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
	msr	daifset, #0xf
	adr	x20, _start		/* x20: load address */
	adrp	x0, __stack_top
	add	x0, x0, :lo12:__stack_top
	mov	sp, x0
	adrp	x0, __bss_start
	add	x0, x0, :lo12:__bss_start
	adrp	x1, __bss_end
	add	x1, x1, :lo12:__bss_end
1:	cmp	x0, x1
	b.hs	2f
	stp	xzr, xzr, [x0], #16
	b	1b
2:	mov	x0, x20
	adrp	x1, __reloc_start
	add	x1, x1, :lo12:__reloc_start
	adrp	x2, __reloc_end
	add	x2, x2, :lo12:__reloc_end
	bl	SalvageRelocate
	cbnz	x0, halt
	bl	PurgatoryMain		/* returns only when every segment is intact */
	adr	x9, purgatory_params
	ldr	x0, [x9, #0x18]		/* DTB */
	ldr	x10, [x9, #0x10]	/* entry */
	mov	x1, xzr
	mov	x2, xzr
	mov	x3, xzr
	br	x10
halt:	wfe
	b	halt
