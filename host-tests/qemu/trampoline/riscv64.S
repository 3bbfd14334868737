/* Test-only trampoline (see aarch64.S). Slots at 0x10 (DTB) and 0x18 (entry).
 * RISC-V boot protocol: a0 = hart id, a1 = DTB. */
	.option	norvc
	.text
	.globl	_start
_start:
	j	1f
	.balign	16
dtb:	.quad	-1
entry:	.quad	0
1:	ld	t0, dtb
	li	t1, -1
	beq	t0, t1, 2f
	mv	a1, t0
2:	ld	t0, entry
	jr	t0
