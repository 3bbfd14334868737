/* salvage entry for 32-bit Arm: a zImage-style header, then the code that gets C++
 * running wherever the image was loaded.
 *
 * Header layout: Linux arch/arm/boot/compressed/head.S (magic 0x016f2818 at 0x24,
 * start and end at 0x28/0x2c, endianness marker 0x04030201 at 0x30, then magic2
 * 0x45454545 at 0x34 and the offset of the extension tag table at 0x38). The table has
 * one tag, ZIMAGE_TAG_KRNL_SIZE, as head.S's _magic_table: a loader that reads it
 * (kexec-tools' zImage loader) learns salvage's whole memory footprint, file plus .bss
 * and stacks, and puts the DTB and initrd above it. Without it kexec-tools guesses five
 * times the file (a zImage's decompression ratio) and needs a reservation 1 MiB larger.
 *
 * Machine state on entry (Linux Documentation/arch/arm/booting.rst, kexec, QEMU):
 *   r0 = 0, r1 = machine type, r2 = physical address of the DTB
 *   MMU off, data cache off, SVC or HYP mode, IRQ/FIQ masked
 * HYP mode (kexec from a kernel that was itself started in HYP, as the Raspberry Pi
 * firmware, U-Boot and QEMU -M virt,virtualization=on start it) is left for SVC first:
 * HYP has its own MMU and vectors (HSCTLR, HVBAR), which salvage does not use, so in HYP
 * its identity map and caches would not apply to itself and a fault would go nowhere.
 */
	.syntax	unified
	.arm
	.section .text.header, "ax"
	.globl	_start
_start:
	.rept	8
	mov	r0, r0			/* 0x00..0x1c: the traditional NOP sled */
	.endr
	b	entry			/* 0x20 */
	.word	0x016f2818		/* 0x24 zImage magic */
	.word	0			/* 0x28 start: position-independent, linked at 0 */
	.word	__file_size		/* 0x2c end: size of the file contents */
	.word	0x04030201		/* 0x30 endianness marker: little-endian */
	.word	0x45454545		/* 0x34 magic2: extension tags follow */
	.word	zimage_tags - _start	/* 0x38 file offset of the tag table (no relocation) */

#include "../boot-params.inc"

/* The extension tag table (after the boot parameter block, 0x80): tags of
 * {size in words, id, data}, ended by a tag of size 0. */
zimage_tags:
	.word	4			/* size in words */
	.word	0x5a534c4b		/* ZIMAGE_TAG_KRNL_SIZE ("KLSZ") */
	.word	0x2c			/* size_ptr: file offset of a word with the loaded size: the header's end */
	.word	__zimage_bss_size	/* bss_size: what follows the file in memory (image.ld) */
	.word	0, 0			/* end of the table */
#include "bss-relocate.inc"
#include "barrier.inc"

	.section .text.boot, "ax"
/* Register roles until SalvageMain:
 *   r8 = DTB physical address (from r2)
 *   r9 = load address of the image (where _start is now)
 *   r10 = machine type (from r1), reported only
 */
entry:
	cpsid	aif
	/* In HYP: nothing trapped to HYP any more (HCR, HSTR = 0; HCPTR without the
	 * cp10/cp11, ASIMD, trace and CPACR traps, so VFP works in SVC), the physical counter
	 * and timer open to PL1 (CNTHCTL.PL1PCTEN, PL1PCEN) and CNTVOFF = 0, as Linux's
	 * arch/arm/kernel/hyp-stub.S leaves them; then an exception return to SVC with A, I, F
	 * masked, as Linux's safe_svcmode_maskall. salvage_arm_entered_hyp tells the report.
	 * The same file builds the ARMv6 image, whose assembler knows no virtualization
	 * extensions: ELR_hyp and ERET are written as words, as Linux's assembler.h does
	 * (__MSR_ELR_HYP, __ERET); an ARMv6 CPU has no HYP mode and never runs them. */
	mrs	r0, cpsr
	and	r0, r0, #0x1f
	cmp	r0, #0x1a
	bne	.Lin_svc
	mov	r0, #0
	mcr	p15, 4, r0, c1, c1, 0	/* HCR */
	mcr	p15, 4, r0, c1, c1, 3	/* HSTR */
	mrc	p15, 4, r0, c1, c1, 2	/* HCPTR */
	bic	r0, r0, #0xc00		/* TCP10, TCP11 */
	bic	r0, r0, #0x8000		/* TASE */
	bic	r0, r0, #0x100000	/* TTA */
	bic	r0, r0, #0x80000000	/* TCPAC */
	mcr	p15, 4, r0, c1, c1, 2
	mrc	p15, 4, r0, c14, c1, 0	/* CNTHCTL */
	orr	r0, r0, #3		/* PL1PCTEN, PL1PCEN */
	mcr	p15, 4, r0, c14, c1, 0
	mov	r0, #0
	mov	r1, #0
	mcrr	p15, 4, r0, r1, c14	/* CNTVOFF */
	ldr	r0, .Lhyp_flag_off
.Lhyp_flag_pc:
	add	r0, pc, r0
	mov	r1, #1
	str	r1, [r0]
	mrs	r0, cpsr
	bic	r0, r0, #0x1f
	orr	r0, r0, #0x13		/* SVC */
	orr	r0, r0, #0x1c0		/* A, I, F masked */
	msr	spsr_cxsf, r0		/* in HYP: SPSR_hyp */
	adr	r0, .Lin_svc
	.inst	0xe12ef300		/* msr elr_hyp, r0 */
	.inst	0xe160006e		/* eret */
.Lin_svc:
	mov	r8, r2
	mov	r10, r1
	/* adr cannot reach _start across sections reliably: use a PC-relative literal. */
	ldr	r9, .Lstart_off
.Lstart_pc:
	add	r9, pc, r9

	/* VFP on: CPACR cp10/cp11 full access, then FPEXC.EN. picolibc uses VFP. */
	mrc	p15, 0, r0, c1, c0, 2
	orr	r0, r0, #(0xf << 20)
	mcr	p15, 0, r0, c1, c0, 2
	salvage_isb r0
	mov	r0, #0x40000000
	vmsr	fpexc, r0

	/* Exception vectors: VBAR (needs SCTLR.V = 0: low vectors). */
	ldr	r0, .Lvectors_off
.Lvectors_pc:
	add	r0, pc, r0
	mcr	p15, 0, r0, c12, c0, 0
	mrc	p15, 0, r0, c1, c0, 0
	bic	r0, r0, #(1 << 13)
	mcr	p15, 0, r0, c1, c0, 0
	salvage_isb r0

	/* Stack inside the image: PC-relative literals, since nothing is relocated yet. */
	ldr	r0, .Lstack_off
.Lstack_pc:
	add	sp, pc, r0

	/* Abort, undefined, IRQ and FIQ modes get the vectors' own stack (their banked sp
	 * is whatever the crashed kernel left). */
	ldr	r0, .Lfault_stack_off
.Lfault_stack_pc:
	add	r0, pc, r0
	cps	#0x17			/* abort */
	mov	sp, r0
	cps	#0x1b			/* undefined */
	mov	sp, r0
	cps	#0x12			/* IRQ */
	mov	sp, r0
	cps	#0x11			/* FIQ */
	mov	sp, r0
	cps	#0x13			/* back to SVC */

	/* Clear .bss and apply our own relocations for the load address. */
	salvage_bss_relocate halt

	mov	r0, r8			/* DTB */
	mov	r1, r9			/* load address */
	mov	r2, r10			/* machine type */
	bl	SalvageMain
	/* SalvageMain does not return; trap forever just in case it does. */
halt:	wfe
	b	halt

	/* In ARM state, pc reads as the instruction's address + 8. */
.Lstart_off:		.word	_start - (.Lstart_pc + 8)
.Lhyp_flag_off:		.word	salvage_arm_entered_hyp - (.Lhyp_flag_pc + 8)
.Lvectors_off:		.word	salvage_vectors - (.Lvectors_pc + 8)
.Lstack_off:		.word	__stack_top - (.Lstack_pc + 8)
.Lfault_stack_off:	.word	__fault_stack_top - (.Lfault_stack_pc + 8)

	/* 1 when salvage was entered in HYP mode and left it for SVC (arch/arm/cpu.cc).
	 * In .data, not .bss: it is written before .bss is cleared. */
	.section .data.salvage_arm_entered_hyp, "aw"
	.balign	4
	.globl	salvage_arm_entered_hyp
salvage_arm_entered_hyp:
	.word	0
