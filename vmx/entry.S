/*
 * VM entry and VM exit (SDM Vol. 3C 27 and 28).
 *
 * int vmx_enter(struct vcpu *v)
 *   Saves the host's callee-saved registers, leaves the vcpu pointer at the
 *   top of the stack, records that stack pointer as HOST_RSP, loads the guest
 *   registers and executes VMLAUNCH (first time) or VMRESUME.
 *   Returns 0 after a VM exit, 1 for VMfailValid (read the VM-instruction
 *   error field) and 2 for VMfailInvalid (SDM 31.2).
 *
 * vmx_exit_stub is HOST_RIP: the CPU arrives here on every VM exit with
 * RSP = HOST_RSP, so [rsp] is the vcpu pointer. It stores the guest registers
 * into the vcpu and returns 0 from vmx_enter.
 *
 * Offsets come from build/asm-offsets.h (generated from vmx/asm_offsets.c).
 */
#include "asm-offsets.h"

	.text
	.code64
	.globl vmx_enter
vmx_enter:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi                      /* [rsp] = vcpu, for the exit stub */

	/* HOST_RSP changes only if we are called from a different depth. */
	cmpq %rsp, VCPU_HOST_RSP(%rdi)
	je 1f
	movq %rsp, VCPU_HOST_RSP(%rdi)
	movq $VMCS_FIELD_HOST_RSP, %rax
	vmwrite %rsp, %rax
	jbe vmwrite_failed
1:
	/* CR2 is not part of the VMCS: the guest's value is ours to restore. */
	movq VCPU_CR2(%rdi), %rax
	movq %rax, %cr2

	cmpb $0, VCPU_LAUNCHED(%rdi)    /* flags survive the MOVs below */
	movq VCPU_RAX(%rdi), %rax
	movq VCPU_RCX(%rdi), %rcx
	movq VCPU_RDX(%rdi), %rdx
	movq VCPU_RBX(%rdi), %rbx
	movq VCPU_RBP(%rdi), %rbp
	movq VCPU_RSI(%rdi), %rsi
	movq VCPU_R8(%rdi), %r8
	movq VCPU_R9(%rdi), %r9
	movq VCPU_R10(%rdi), %r10
	movq VCPU_R11(%rdi), %r11
	movq VCPU_R12(%rdi), %r12
	movq VCPU_R13(%rdi), %r13
	movq VCPU_R14(%rdi), %r14
	movq VCPU_R15(%rdi), %r15
	movq VCPU_RDI(%rdi), %rdi
	jne do_resume
	vmlaunch
	jmp entry_failed
do_resume:
	vmresume
entry_failed:
	/* Still in VMX root operation, guest registers loaded: report how. */
	movl $1, %eax
	movl $2, %ecx
	cmovcl %ecx, %eax               /* CF: VMfailInvalid; ZF: VMfailValid */
	jmp restore_host

vmwrite_failed:
	movl $2, %eax
	jmp restore_host

	.globl vmx_exit_stub
vmx_exit_stub:
	pushq %rdi                      /* guest RDI; vcpu pointer is now at 8(%rsp) */
	movq 8(%rsp), %rdi
	movq %rax, VCPU_RAX(%rdi)
	movq %rcx, VCPU_RCX(%rdi)
	movq %rdx, VCPU_RDX(%rdi)
	movq %rbx, VCPU_RBX(%rdi)
	movq %rbp, VCPU_RBP(%rdi)
	movq %rsi, VCPU_RSI(%rdi)
	movq %r8, VCPU_R8(%rdi)
	movq %r9, VCPU_R9(%rdi)
	movq %r10, VCPU_R10(%rdi)
	movq %r11, VCPU_R11(%rdi)
	movq %r12, VCPU_R12(%rdi)
	movq %r13, VCPU_R13(%rdi)
	movq %r14, VCPU_R14(%rdi)
	movq %r15, VCPU_R15(%rdi)
	popq %rax
	movq %rax, VCPU_RDI(%rdi)
	movq %cr2, %rax
	movq %rax, VCPU_CR2(%rdi)
	movb $1, VCPU_LAUNCHED(%rdi)
	xorl %eax, %eax

restore_host:
	addq $8, %rsp                   /* drop the vcpu pointer */
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

	.section .note.GNU-stack, "", @progbits
