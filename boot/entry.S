/*
 * Multiboot2 header and the 32-bit entry point. GRUB enters here in 32-bit
 * protected mode with paging off, EAX = 0x36d76289 and EBX = the physical
 * address of the boot information (Multiboot2 spec 3.3). We build identity
 * page tables for the first 4 GiB with 2 MiB pages, enable PAE and long mode
 * (SDM Vol. 3A 9.8.5 "Initializing IA-32e Mode") and call kmain in C.
 */
#define MB2_HEADER_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_HEADER_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	/* end tag */
	.short 0
	.short 0
	.long 8
mb2_header_end:

	.section .boot.text, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl $boot_stack_top, %esp
	movl %eax, boot_magic
	movl %ebx, boot_info_addr

	/* Long mode needs CPUID.80000001h:EDX.LM (bit 29). */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_long_mode

	/* Zero the page tables (GRUB zeroes .bss, but do not rely on it). */
	movl $boot_pml4, %edi
	movl $(6 * 4096 / 4), %ecx
	xorl %eax, %eax
	rep stosl

	/* PML4[0] -> PDPT; PDPT[0..3] -> four page directories. */
	movl $boot_pdpt, %eax
	orl $0x3, %eax
	movl %eax, boot_pml4
	movl $boot_pd, %eax
	orl $0x3, %eax
	movl $boot_pdpt, %edi
	movl $4, %ecx
1:	movl %eax, (%edi)
	addl $4096, %eax
	addl $8, %edi
	loop 1b

	/* 2048 PDEs of 2 MiB each: present, writable, PS. */
	movl $boot_pd, %edi
	xorl %eax, %eax
	xorl %edx, %edx
	movl $2048, %ecx
2:	movl %eax, %ebx
	orl $0x83, %ebx
	movl %ebx, (%edi)
	movl %edx, 4(%edi)
	addl $0x200000, %eax
	adcl $0, %edx
	addl $8, %edi
	loop 2b

	movl %cr4, %eax
	orl $(1 << 5), %eax            /* CR4.PAE */
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx         /* IA32_EFER */
	rdmsr
	orl $(1 << 8), %eax            /* LME */
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16) | 1), %eax /* PG, WP, PE */
	movl %eax, %cr0

	lgdt boot_gdt_ptr
	ljmp $KERNEL_CS, $long_mode_entry

no_long_mode:
	/* Say so on COM1 and stop: nothing else can run on this CPU. */
	movl $msg_no_lm, %esi
3:	lodsb
	testb %al, %al
	jz 5f
	movb %al, %bl
	movw $0x3fd, %dx
4:	inb %dx, %al
	testb $0x20, %al
	jz 4b
	movw $0x3f8, %dx
	movb %bl, %al
	outb %al, %dx
	jmp 3b
5:	cli
	hlt
	jmp 5b

	.code64
long_mode_entry:
	movw $KERNEL_DS, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movabsq $boot_stack_top, %rsp
	xorq %rbp, %rbp
	movl boot_magic, %edi
	movl boot_info_addr, %esi
	call kmain
6:	cli
	hlt
	jmp 6b

	.section .rodata
msg_no_lm:
	.asciz "hv: this CPU has no 64-bit long mode; the hypervisor needs an x86-64 CPU\r\n"

	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff       /* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff       /* 0x10: data, DPL 0 */
boot_gdt_end:
boot_gdt_ptr:
	.short boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	.section .data
	.balign 4
boot_magic:
	.long 0
boot_info_addr:
	.long 0

	.section .bss
	.balign 4096
	.globl boot_pml4
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4 * 4096
	.balign 16
boot_stack:
	.skip 64 * 1024
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
