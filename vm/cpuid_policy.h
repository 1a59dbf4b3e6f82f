/* What a guest sees from CPUID: one place decides it. Pure logic. */
#ifndef VM_CPUID_POLICY_H
#define VM_CPUID_POLICY_H

#include "lib/types.h"

struct cpuid_regs;

#define HV_CPUID_BASE 0x40000000u
#define HV_CPUID_MAX 0x40000001u
/* The hypervisor's CPUID signature at leaf 0x40000000 (EBX, ECX, EDX). */
#define HV_CPUID_SIGNATURE "TextbookHV  "

struct cpuid_guest_view {
	unsigned apic_id;
	bool cr4_osxsave; /* guest CR4.OSXSAVE, mirrored in CPUID.1:ECX.OSXSAVE */
};

/* r holds the host's answer for (leaf, subleaf); adjust it to the guest's. */
void cpuid_policy_apply(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r,
			const struct cpuid_guest_view *g);

#endif
