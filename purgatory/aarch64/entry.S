/* salvage purgatory entry for arm64 (see purgatory/purgatory.cc).
 * In: whatever the kexec path left (x0..x3 unused); MMU off.
 * Out (to the image, booting.rst): x0 = DTB, x1 = x2 = x3 = 0. */
#include "../../boot/aarch64/bss-relocate.inc"

	.section .text.header, "ax"
	.globl	_start
_start:
	b	entry
#include "../params.inc"

	.section .text.boot, "ax"
entry:
	msr	daifset, #0xf
	adr	x20, _start		/* x20: load address */
	adrp	x0, __stack_top
	add	x0, x0, :lo12:__stack_top
	mov	sp, x0
	salvage_bss_relocate halt
	bl	PurgatoryMain		/* returns only when every segment is intact */
	adr	x9, purgatory_params
	ldr	x0, [x9, #SALVAGE_PURGATORY_DTB]		/* DTB */
	ldr	x10, [x9, #SALVAGE_PURGATORY_ENTRY]	/* entry */
	mov	x1, xzr
	mov	x2, xzr
	mov	x3, xzr
	br	x10
halt:	wfe
	b	halt
