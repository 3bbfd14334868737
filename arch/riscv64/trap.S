/* RISC-V S-mode trap entry: every trap is reported and stops salvage.
 * (RISC-V Privileged Architecture 1.12, 4.1 "Supervisor CSRs": stvec, sscratch,
 * scause, stval, sepc.)
 *
 * start.S put the vectors' own stack in sscratch; the entry swaps it with sp, so a trap
 * with a broken sp still reports. Frame handed to SalvageArchFault
 * (In: a0 = frame; scause/stval/sepc are read there): [0] the interrupted sp, [1..31]
 * x1..x31 (slot 2 unused: sp is slot 0).
 */
	.section .text.vectors, "ax"
	.balign	4
	.globl	salvage_trap_entry
salvage_trap_entry:
	csrrw	sp, sscratch, sp	/* sp = vectors' stack, sscratch = interrupted sp */
	addi	sp, sp, -256
	sd	x1, 8(sp)
	sd	x3, 24(sp)
	sd	x4, 32(sp)
	sd	x5, 40(sp)
	sd	x6, 48(sp)
	sd	x7, 56(sp)
	sd	x8, 64(sp)
	sd	x9, 72(sp)
	sd	x10, 80(sp)
	sd	x11, 88(sp)
	sd	x12, 96(sp)
	sd	x13, 104(sp)
	sd	x14, 112(sp)
	sd	x15, 120(sp)
	sd	x16, 128(sp)
	sd	x17, 136(sp)
	sd	x18, 144(sp)
	sd	x19, 152(sp)
	sd	x20, 160(sp)
	sd	x21, 168(sp)
	sd	x22, 176(sp)
	sd	x23, 184(sp)
	sd	x24, 192(sp)
	sd	x25, 200(sp)
	sd	x26, 208(sp)
	sd	x27, 216(sp)
	sd	x28, 224(sp)
	sd	x29, 232(sp)
	sd	x30, 240(sp)
	sd	x31, 248(sp)
	csrr	t0, sscratch
	sd	t0, 0(sp)
	sd	zero, 16(sp)
	mv	a0, sp
	call	SalvageArchFault
1:	wfi				/* not reached */
	j	1b
