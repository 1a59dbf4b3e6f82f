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
		}
		return;
	}
	switch (leaf) {
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
		break;
	case CPUID_LEAF_PMU:
		memset(r, 0, sizeof(*r));
		break;
	default:
		break;
	}
}
