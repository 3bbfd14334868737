/* salvage entry for arm64: the Linux arm64 Image header, then the code that gets C++
 * running wherever the image was loaded.
 *
 * Header layout: Linux Documentation/arch/arm64/booting.rst, section 4.
 *
 * Machine state on entry (booting.rst, kexec, QEMU -kernel):
 *   x0 = physical address of the DTB, x1..x3 = 0
 *   MMU off, data cache off (or the image cleaned to PoC), at EL2 or EL1
 *   interrupts: not to be relied on, masked here
 */
	.section .text.header, "ax"
	.globl	_start
_start:
	b	entry			/* 0x00 code0 */
	.long	0			/* 0x04 code1 */
	.quad	0			/* 0x08 text_offset */
	.quad	__image_size		/* 0x10 image_size: file + bss + stack, from the linker */
	.quad	0xa			/* 0x18 flags: little-endian (0), 4K pages (bit 1), anywhere (bit 3) */
	.quad	0			/* 0x20 res2 */
	.quad	0			/* 0x28 res3 */
	.quad	0			/* 0x30 res4 */
	.ascii	"ARM\x64"		/* 0x38 magic */
	.long	0			/* 0x3c res5: no PE/COFF header */

#include "../boot-params.inc"
#include "bss-relocate.inc"

	.section .text.boot, "ax"
/* Register roles until SalvageMain:
 *   x19 = DTB physical address (from x0)
 *   x20 = load address of the image (where _start is now)
 */
entry:
	msr	daifset, #0xf		/* mask debug, SError, IRQ, FIQ */
	mov	x19, x0
	adr	x20, _start

	/* FP/SIMD on: picolibc uses it. At EL2 also stop trapping it to EL2
	 * (CPTR_EL2: TFP bit 10 clear; bits 13:12 and 9:0 are RES1 without VHE). */
	mrs	x0, CurrentEL
	cmp	x0, #(2 << 2)
	b.ne	1f
	mov	x0, #0x33ff
	msr	cptr_el2, x0
	adr	x0, salvage_vectors
	msr	vbar_el2, x0
	b	2f
1:	adr	x0, salvage_vectors
	msr	vbar_el1, x0
2:	mov	x0, #(3 << 20)		/* CPACR_EL1.FPEN = 0b11 */
	msr	cpacr_el1, x0
	isb

	/* Stack inside the image. */
	adrp	x0, __stack_top
	add	x0, x0, :lo12:__stack_top
	mov	sp, x0
	/* SP_EL0 is the vectors' own stack: they switch to it with SPSel (arch/aarch64/vectors.S). */
	adrp	x0, __fault_stack_top
	add	x0, x0, :lo12:__fault_stack_top
	msr	sp_el0, x0

	/* Clear .bss (the stack is in it, but nothing is on it yet) and apply our own
	 * relocations for the load address; an unexpected relocation type: do not run. */
	salvage_bss_relocate halt

	mov	x0, x19			/* DTB */
	mov	x1, x20			/* load address */
	mov	x2, xzr			/* no boot argument beyond the DTB on arm64 */
	bl	SalvageMain
	/* SalvageMain does not return; trap forever just in case it does. */
halt:	wfe
	b	halt
