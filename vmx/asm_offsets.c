/* Offsets of struct vcpu for vmx/entry.S. This file is compiled to assembly
 * only; the Makefile turns each "->NAME value" marker into a #define in
 * build/asm-offsets.h, so the assembly never holds a hand-typed offset. */
#include <stddef.h>
#include "vm/vm.h"
#include "vmx/vmcs.h"

#define DEFINE(sym, val) __asm__ volatile("\n.ascii \"->" #sym " %c0\"" ::"i"(val))
#define GPR(name, idx) DEFINE(VCPU_##name, offsetof(struct vcpu, gpr) + (idx) * 8)

void asm_offsets(void);
void asm_offsets(void)
{
	GPR(RAX, GPR_RAX);
	GPR(RCX, GPR_RCX);
	GPR(RDX, GPR_RDX);
	GPR(RBX, GPR_RBX);
	GPR(RBP, GPR_RBP);
	GPR(RSI, GPR_RSI);
	GPR(RDI, GPR_RDI);
	GPR(R8, GPR_R8);
	GPR(R9, GPR_R9);
	GPR(R10, GPR_R10);
	GPR(R11, GPR_R11);
	GPR(R12, GPR_R12);
	GPR(R13, GPR_R13);
	GPR(R14, GPR_R14);
	GPR(R15, GPR_R15);
	DEFINE(VCPU_CR2, offsetof(struct vcpu, cr2));
	DEFINE(VCPU_HOST_RSP, offsetof(struct vcpu, host_rsp));
	DEFINE(VCPU_LAUNCHED, offsetof(struct vcpu, launched));
	DEFINE(VMCS_FIELD_HOST_RSP, VMCS_HOST_RSP);
}
