/* Test-only trampoline (see aarch64.S). Slots at 0x10 (DTB, low word used) and 0x18
 * (entry). 32-bit Arm boot protocol: r0 = 0, r1 = machine type, r2 = DTB. */
	.syntax	unified
	.arm
	.text
	.globl	_start
_start:
	b	1f
	.balign	16
dtb:	.quad	-1
entry:	.quad	0
1:	ldr	r3, dtb
	cmn	r3, #1
	movne	r2, r3
	ldr	r3, entry
	mov	r0, #0
	bx	r3
