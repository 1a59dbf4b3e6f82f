/*
 * The smp guest's application-processor start-up code (SDM Vol. 3A 9.4.4
 * "MP Initialization Example", 10.9.1 "Switching to Protected Mode").
 *
 * A STARTUP IPI with vector VV starts an AP in real mode at CS:IP = VV00:0000,
 * that is at the physical page 000VV000H (9.4.4.1), below 1 MiB. The guest
 * itself is loaded at 1 MiB, so main.c copies the bytes between
 * ap_trampoline_start and ap_trampoline_end to a free page below 1 MiB and
 * sends that page's number as the vector. The copied part is written to run
 * anywhere: it addresses its own bytes through DS = CS (offsets from
 * ap_trampoline_start), and everything else by absolute 32-bit addresses
 * that the linker fills in (the guest is not relocated).
 *
 *   real mode (copied page) -> GDT, CR0.PE -> far jump to ap_pm32 (in the
 *   guest image, 32-bit flat) -> its own stack -> ap_main(arrival index).
 */
#define T_CODE32 0x08
#define T_DATA 0x10

	.section .rodata.ap_trampoline, "a"
	.globl ap_trampoline_start, ap_trampoline_end, ap_trampoline_arrived
	.code16
ap_trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds                   /* DS = CS = VV00H: offsets within this page */
	/* Tell the BSP this STARTUP IPI got here, so it need not send the
	 * second one (9.4.4.1). */
	movl $1, ap_trampoline_arrived - ap_trampoline_start
	/* The operand-size prefix (lgdtl) loads all 32 bits of the base: the
	 * GDT lives in the guest image, above 1 MiB. */
	lgdtl tramp_gdt_ptr - ap_trampoline_start
	movl %cr0, %eax
	orl $1, %eax                    /* CR0.PE */
	movl %eax, %cr0
	/* A far jump right after setting PE loads CS from the new GDT and
	 * flushes the instructions fetched in real mode (10.9.1 step 4). Its
	 * 32-bit offset is the linear address of ap_pm32: the code segment
	 * is flat. */
	ljmpl $T_CODE32, $ap_pm32

tramp_gdt_ptr:
	.short ap_gdt_end - ap_gdt - 1
	.long ap_gdt
	.balign 4
ap_trampoline_arrived:
	.long 0                         /* 1 once an AP ran the code above */
ap_trampoline_end:

/* The rest runs where it was linked. */
	.text
	.code32
ap_pm32:
	movw $T_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	/* A stack per AP, by arrival order: LOCK XADD hands out 0, 1, 2...
	 * atomically (SDM Vol. 3A 9.1.2.2 "Software Controlled Bus Locking"), so two
	 * APs never share one even if a slow AP arrives after the BSP gave up
	 * on it and started the next. Main.c owns the stacks and their sizes. */
	movl $1, %eax
	lock xaddl %eax, ap_next_arrival
	cmpl ap_stack_count, %eax
	jae ap_no_stack
	movl %eax, %ecx
	incl %ecx
	imull ap_stack_size, %ecx
	addl $ap_stacks, %ecx
	movl %ecx, %esp                 /* the top of stack number EAX */
	xorl %ebp, %ebp
	pushl %eax                      /* ap_main(arrival index) */
	call ap_main
ap_no_stack:                            /* more APs than stacks: stay halted */
	cli
	hlt
	jmp ap_no_stack

	/* The same flat segments as tests/guests/common/guest.c's GDT, so the
	 * shared IDT's gates (selector 0x08) are right on every CPU. */
	.section .rodata
	.balign 8
ap_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff        /* 0x08: 32-bit code, base 0, limit 4 GiB */
	.quad 0x00cf92000000ffff        /* 0x10: data, base 0, limit 4 GiB */
ap_gdt_end:

	.data
	.balign 4
ap_next_arrival:
	.long 0

	.section .note.GNU-stack, "", @progbits
