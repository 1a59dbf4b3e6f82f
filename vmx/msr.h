/* The guest's MSRs: one table says, for every MSR a guest may touch, whether
 * it is emulated, kept per vCPU, or refused; anything not listed raises #GP,
 * as an unimplemented MSR does on real hardware (SDM Vol. 4). */
#ifndef VMX_MSR_H
#define VMX_MSR_H

#include "lib/types.h"

struct vcpu;

/* Returns false if the access must raise #GP. */
bool msr_read(struct vcpu *v, uint32_t msr, uint64_t *value);
bool msr_write(struct vcpu *v, uint32_t msr, uint64_t value);
/* Name of an MSR the policy knows, or NULL. */
const char *msr_name(uint32_t msr);

/* MSRs the VMCS does not switch are loaded into the CPU while a vCPU runs. */
void msr_load_guest_state(struct vcpu *v);
void msr_save_guest_state(struct vcpu *v);
/* XCR0 is not switched by VMX either (vmx/handlers.c XSETBV). */
void msr_before_entry(struct vcpu *v);
/* The vCPU's x87/SSE/AVX state to its XSAVE area and back, when another
 * vCPU is to use this CPU or it moves to another (vm/sched.c). */
void msr_fpu_save(struct vcpu *v);
void msr_fpu_restore(struct vcpu *v);

/* IA32_MTRR_DEF_TYPE (SDM 12.11.2.1): default type in bits 7:0, FE bit 10, E bit 11. */
#define MTRR_DEF_TYPE_E BIT(11)
#define MTRR_DEF_TYPE_FE BIT(10)
#define MTRR_TYPE_WB 6

#endif
