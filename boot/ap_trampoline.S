/*
 * The application processors' start-up code (SDM Vol. 3A 9.4.4 "MP
 * Initialization Example", 9.9.1 "Switching to Protected Mode", 10.8.5
 * "Initializing IA-32e Mode"). arch/x86/smp.c copies the bytes between
 * ap_trampoline_start and ap_trampoline_end to AP_TRAMPOLINE_BASE and fills
 * in the parameters at the end before it sends the STARTUP IPIs; one AP at
 * a time runs it. The AP arrives in real mode at CS:IP = 0800:0000 with
 * paging off; every address below is written as its place in that copy
 * (TADDR), not as the address it was linked at.
 *
 * real mode -> 32-bit protected mode (a GDT inside this page) -> PAE,
 * CR3 = the hypervisor's page tables, EFER.LME, paging -> 64-bit mode ->
 * RSP = the AP's own stack, RDI = its struct cpu, jump to ap_main (C),
 * which loads its own GDT, TSS and the IDT.
 */
#include "arch/x86/smp_defs.h"

#define TADDR(x) ((x) - ap_trampoline_start + AP_TRAMPOLINE_BASE)
#define T_CODE32 0x08
#define T_DATA 0x10
#define T_CODE64 0x18

	.section .rodata.ap_trampoline, "a"
	.globl ap_trampoline_start, ap_trampoline_end, ap_trampoline_params
	.code16
ap_trampoline_start:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds                   /* DS = 0: TADDR() are linear addresses */
	movl $1, TADDR(tp_arrived)      /* tells the BSP a STARTUP IPI got here */
	lgdtl TADDR(tramp_gdt_ptr)
	movl %cr0, %eax
	orl $1, %eax                    /* CR0.PE */
	movl %eax, %cr0
	/* A far jump right after setting PE loads CS from the new GDT (9.9.1). */
	ljmpl $T_CODE32, $TADDR(tramp_pm32)

	.code32
tramp_pm32:
	movw $T_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	/* IA-32e mode: PAE, CR3, EFER.LME, then paging (10.8.5). */
	movl %cr4, %eax
	orl $(1 << 5), %eax             /* CR4.PAE */
	movl %eax, %cr4
	movl TADDR(tp_cr3), %eax        /* the BSP's PML4: below 4 GiB */
	movl %eax, %cr3
	movl $0xc0000080, %ecx          /* IA32_EFER */
	rdmsr
	orl $(1 << 8), %eax             /* LME */
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16) | 1), %eax /* PG, WP, PE */
	movl %eax, %cr0
	ljmp $T_CODE64, $TADDR(tramp_lm64)

	.code64
tramp_lm64:
	movw $T_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movq TADDR(tp_stack), %rsp
	movq TADDR(tp_cpu), %rdi
	movq TADDR(tp_entry), %rax
	xorl %ebp, %ebp
	pushq $0                        /* a return address nobody uses: ABI stack alignment */
	jmp *%rax

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff        /* 0x08: 32-bit code, flat */
	.quad 0x00cf92000000ffff        /* 0x10: data, flat */
	.quad 0x00af9a000000ffff        /* 0x18: 64-bit code */
tramp_gdt_end:
tramp_gdt_ptr:
	.short tramp_gdt_end - tramp_gdt - 1
	.long TADDR(tramp_gdt)

	/* struct ap_trampoline_params (arch/x86/smp.c), written by the BSP. */
	.balign 8
ap_trampoline_params:
tp_cr3:	.quad 0
tp_stack: .quad 0
tp_cpu:	.quad 0
tp_entry: .quad 0
tp_arrived: .long 0
	.long 0
ap_trampoline_end:

	.section .note.GNU-stack, "", @progbits
