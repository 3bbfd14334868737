/* Test-only trampoline (host-tests/qemu): QEMU boots this as the "kernel"; it jumps to
 * the salvage image that -device loader put at another address, to prove that salvage
 * runs wherever it is loaded. The test patches two little-endian 64-bit slots:
 *   0x10  DTB pointer to pass (all-ones: pass on the one QEMU gave us)
 *   0x18  address to jump to
 * arm64 boot protocol: x0 = DTB. */
	.text
	.globl	_start
_start:
	b	1f
	.balign	16
dtb:	.quad	-1
entry:	.quad	0
1:	ldr	x1, dtb
	cmn	x1, #1
	b.eq	2f
	mov	x0, x1
2:	ldr	x2, entry
	mov	x1, xzr
	br	x2
