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

/* Where state component i (2..63) lives in a standard-format XSAVE area:
 * CPUID.(EAX=0DH,ECX=i) EBX (offset) and EAX (size), SDM Vol. 1 13.4.3. */
struct xsave_component {
	uint32_t offset, size;
	bool align64; /* ECX bit 1: 64-byte aligned in the compacted format */
};
#define XSAVE_LEGACY_AND_HEADER 576u /* legacy region 512 + XSAVE header 64 */

struct cpuid_guest_view {
	unsigned apic_id;
	unsigned vcpus;       /* the VM's vCPUs: the topology leaves describe them (1 if 0) */
	bool cr4_osxsave;     /* guest CR4.OSXSAVE, mirrored in CPUID.1:ECX.OSXSAVE */
	uint32_t host_max_leaf; /* the host's CPUID.0:EAX */
	uint64_t tsc_hz;      /* the guest TSC rate: leaves 15H, 16H, 0x40000010 */
	uint64_t apic_timer_hz; /* 0 when the VM has no local APIC timer */
	bool rdtscp, invpcid; /* "enable RDTSCP"/"enable INVPCID" are set in the VMCS */
	/* Leaf 0DH: the guest's XCR0 and the host's component layout, indexed
	 * by component number (NULL: leave the host's sizes alone). */
	uint64_t xcr0;
	const struct xsave_component *xsave;
	unsigned xsave_count;
};

/* The highest basic leaf the guest sees: at least 16H, so the TSC and
 * processor frequency leaves exist. */
#define CPUID_GUEST_MIN_MAX_LEAF 0x16u

/* r holds the host's answer for (leaf, subleaf); adjust it to the guest's. */
void cpuid_policy_apply(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r,
			const struct cpuid_guest_view *g);

#endif
