#include "vm/cpuid_policy.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"

/* CPUID.1:EBX[31:24] is the initial APIC ID (SDM Vol. 2A, CPUID). */
#define CPUID_1_EBX_APIC_ID_SHIFT 24
/* Leaf 0Ah describes the performance-monitoring unit, which is not virtualized. */
#define CPUID_LEAF_PMU 0x0a

void cpuid_policy_apply(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r,
			const struct cpuid_guest_view *g)
{
	(void)subleaf;
	if (leaf >= HV_CPUID_BASE && leaf < HV_CPUID_BASE + 0x10000) {
		/* Our own leaves replace whatever the host (perhaps a hypervisor
		 * itself) reports there. */
		memset(r, 0, sizeof(*r));
		if (leaf == HV_CPUID_BASE) {
			const char *sig = HV_CPUID_SIGNATURE;
			r->eax = HV_CPUID_MAX;
			memcpy(&r->ebx, sig, 4);
			memcpy(&r->ecx, sig + 4, 4);
			memcpy(&r->edx, sig + 8, 4);
		} else if (leaf == HV_CPUID_TIMING) {
			r->eax = (uint32_t)(g->tsc_hz / 1000);
			r->ebx = (uint32_t)(g->apic_timer_hz / 1000);
		}
		return;
	}
	/* Leaves between the host's highest and ours: defined here or zero,
	 * never the host's "highest leaf" answer. */
	if (leaf > g->host_max_leaf && leaf <= CPUID_GUEST_MIN_MAX_LEAF && leaf != 0x15 && leaf != 0x16) {
		memset(r, 0, sizeof(*r));
		return;
	}
	switch (leaf) {
	case 0:
		if (r->eax < CPUID_GUEST_MIN_MAX_LEAF)
			r->eax = CPUID_GUEST_MIN_MAX_LEAF;
		break;
	case 0x15:
		/* TSC = ECX (crystal Hz) * EBX / EAX (SDM Vol. 2A CPUID leaf 15H).
		 * Describe the guest's TSC exactly: a "crystal" at the TSC rate,
		 * halved until it fits 32 bits. */
		if (g->tsc_hz) {
			uint64_t hz = g->tsc_hz;
			uint32_t mul = 1;
			while (hz > UINT32_MAX) {
				hz /= 2;
				mul *= 2;
			}
			r->eax = 1;
			r->ebx = mul;
			r->ecx = (uint32_t)hz;
			r->edx = 0;
		}
		break;
	case 0x16:
		/* Processor base and maximum frequency in MHz (leaf 16H). */
		if (g->tsc_hz) {
			uint32_t mhz = (uint32_t)(g->tsc_hz / 1000000);
			r->eax = mhz;
			r->ebx = mhz;
			r->ecx = g->apic_timer_hz ? (uint32_t)(g->apic_timer_hz / 1000000) : 0;
			r->edx = 0;
		}
		break;
	case 1:
		/* No VMX or SMX inside the guest; announce a hypervisor (bit 31,
		 * reserved for this use by convention). */
		/* MONITOR/MWAIT: hidden, so an idle guest halts (and exits)
		 * instead of spinning on an MWAIT we would have to emulate. */
		r->ecx &= ~(uint32_t)(CPUID_1_ECX_VMX | CPUID_1_ECX_SMX | CPUID_1_ECX_OSXSAVE |
				      CPUID_1_ECX_MONITOR);
		r->ecx |= (uint32_t)CPUID_1_ECX_HYPERVISOR;
		if (g->cr4_osxsave && (r->ecx & CPUID_1_ECX_XSAVE))
			r->ecx |= (uint32_t)CPUID_1_ECX_OSXSAVE;
		r->ebx = (r->ebx & 0x00ffffffu) | ((uint32_t)g->apic_id << CPUID_1_EBX_APIC_ID_SHIFT);
		if (g->apic_timer_hz) {
			/* The local APIC is emulated whatever the host has: APIC,
			 * x2APIC and the TSC-deadline timer are offered. */
			r->edx |= (uint32_t)CPUID_1_EDX_APIC;
			r->ecx |= (uint32_t)(CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE);
		}
		break;
	case CPUID_LEAF_PMU:
		memset(r, 0, sizeof(*r));
		break;
	default:
		break;
	}
}
