/* Host exception entry stubs: each pushes a dummy error code where the CPU
 * does not push one (SDM Vol. 3A 6.13), then its vector, then all GPRs in the
 * order of struct trap_frame (arch/x86/desc.h). */
	.text
	.code64

.macro ISR_NOERR vec
isr_\vec:
	pushq $0
	pushq $\vec
	jmp isr_common
.endm
.macro ISR_ERR vec
isr_\vec:
	pushq $\vec
	jmp isr_common
.endm

ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR 8
ISR_NOERR 9
ISR_ERR 10
ISR_ERR 11
ISR_ERR 12
ISR_ERR 13
ISR_ERR 14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR 17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR 21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR 29
ISR_ERR 30
ISR_NOERR 31

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	andq $-16, %rsp
	call exception_handler
1:	cli
	hlt
	jmp 1b

/* HOST_WAKE_VECTOR: the IPI that wakes a parked CPU from HLT. Its only job
 * is to end the HLT; the EOI lets the next one in (SDM Vol. 3A 11.8.5). The
 * C function may clobber the caller-saved registers: save them. */
	.globl isr_wake
isr_wake:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	movq %rsp, %rax
	andq $-16, %rsp
	pushq %rax
	pushq %rax                      /* keep the 16-byte alignment for the call */
	call lapic_host_eoi
	popq %rax
	popq %rsp
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	iretq

/* The spurious-interrupt vector takes no EOI (SDM Vol. 3A 11.9). */
	.globl isr_spurious
isr_spurious:
	iretq

	.section .rodata
	.balign 8
	.globl isr_stub_table
isr_stub_table:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad isr_\v
	.endr

	.section .note.GNU-stack, "", @progbits
