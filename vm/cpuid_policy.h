/* What a guest sees from CPUID: one place decides it. Pure logic. */
#ifndef VM_CPUID_POLICY_H
#define VM_CPUID_POLICY_H

#include "lib/types.h"

struct cpuid_regs;

#define HV_CPUID_BASE 0x40000000u
#define HV_CPUID_MAX 0x40000010u
/* Leaf 0x40000010 (the timing leaf VMware defined and KVM follows): EAX = TSC
 * kHz, EBX = local APIC timer kHz, so guests need no calibration. */
#define HV_CPUID_TIMING 0x40000010u
/* The hypervisor's CPUID signature at leaf 0x40000000 (EBX, ECX, EDX). */
#define HV_CPUID_SIGNATURE "TextbookHV  "

struct cpuid_guest_view {
	unsigned apic_id;
	bool cr4_osxsave;     /* guest CR4.OSXSAVE, mirrored in CPUID.1:ECX.OSXSAVE */
	uint32_t host_max_leaf; /* the host's CPUID.0:EAX */
	uint64_t tsc_hz;      /* the guest TSC rate: leaves 15H, 16H, 0x40000010 */
	uint64_t apic_timer_hz; /* 0 when the VM has no local APIC timer */
};

/* The highest basic leaf the guest sees: at least 16H, so the TSC and
 * processor frequency leaves exist. */
#define CPUID_GUEST_MIN_MAX_LEAF 0x16u

/* r holds the host's answer for (leaf, subleaf); adjust it to the guest's. */
void cpuid_policy_apply(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r,
			const struct cpuid_guest_view *g);

#endif
