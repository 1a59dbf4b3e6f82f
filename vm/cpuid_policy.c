#include "vm/cpuid_policy.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"

/* CPUID.1:EBX[31:24] is the initial APIC ID (SDM Vol. 2A, CPUID). */
#define CPUID_1_EBX_APIC_ID_SHIFT 24

enum { REG_EAX, REG_EBX, REG_ECX, REG_EDX };

/* Features a guest must not see, because using them would need a
 * hypervisor mechanism we do not have (an MSR we do not virtualize, a VMCS
 * control we do not set). Each line names its leaf, register, bits and why
 * (bits from SDM Vol. 2A, CPUID, Tables 3-10/3-11 and leaf 07H). */
static const struct cpuid_hidden {
	uint32_t leaf, subleaf;
	uint8_t reg;
	uint32_t bits;
	const char *why;
} cpuid_hidden[] = {
	{ 1, 0, REG_ECX, BIT(5) | BIT(6), "VMX, SMX: no nested virtualization" },
	{ 1, 0, REG_ECX, BIT(3), "MONITOR/MWAIT: an idle guest halts (and exits) instead" },
	{ 1, 0, REG_ECX, BIT(2) | BIT(4) | BIT(7) | BIT(8) | BIT(11) | BIT(14) | BIT(15) | BIT(18),
	  "DTES64, DS-CPL, EST, TM2, SDBG, xTPR, PDCM, DCA: their MSRs are not virtualized" },
	{ 1, 0, REG_EDX, BIT(7) | BIT(14), "MCE, MCA: no machine-check MSRs or banks" },
	{ 1, 0, REG_EDX, BIT(21) | BIT(22) | BIT(29) | BIT(31),
	  "DS, ACPI thermal, TM, PBE: their MSRs are not virtualized" },
	{ 7, 0, REG_EBX, BIT(2) | BIT(12) | BIT(14) | BIT(15) | BIT(25),
	  "SGX, RDT monitoring, MPX, RDT allocation, Processor Trace: not virtualized" },
	{ 7, 0, REG_ECX, BIT(5) | BIT(30) | BIT(31),
	  "WAITPKG (needs a VMCS control), SGX launch control, PKS" },
	{ 7, 0, REG_EDX, BIT(15) | BIT(18) | BIT(26) | BIT(27) | BIT(28) | BIT(29) | BIT(30) | BIT(31),
	  "hybrid, PCONFIG, IBRS/IBPB, STIBP, L1D_FLUSH, ARCH_CAPABILITIES, CORE_CAPABILITIES, SSBD: "
	  "their MSRs are not virtualized" },
	{ 0xd, 1, REG_EAX, BIT(3), "XSAVES/XRSTORS: not enabled in the VMCS, IA32_XSS not virtualized" },
};

/* Basic leaves (below 32) answered with zeros: whole units that are not
 * virtualized. */
static const uint32_t cpuid_zeroed[] = {
	0x06, /* thermal and power management (APERF/MPERF, HWP, ...) */
	0x0a, /* architectural performance monitoring */
	0x0f, /* RDT monitoring */
	0x10, /* RDT allocation */
	0x12, /* SGX */
	0x14, /* Processor Trace */
	0x1f, /* V2 extended topology: leaf 0BH describes ours */
};

/* The VM's topology: one package with one core per vCPU, one thread per
 * core, APIC ID = vCPU index. The core field of the APIC ID is as many bits
 * as n vCPUs need (SDM Vol. 3A 9.9.1 "Hierarchical Mapping of Shared
 * Resources", Vol. 2A CPUID leaves 01H, 04H, 0BH). The host's own topology
 * (the physical CPUs') means nothing to the guest. */
static unsigned core_bits(unsigned n)
{
	unsigned b = 0;
	while ((1u << b) < n)
		b++;
	return b;
}

static void apply_topology(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r,
			   const struct cpuid_guest_view *g)
{
	unsigned n = g->vcpus ? g->vcpus : 1, bits = core_bits(n);
	switch (leaf) {
	case 1:
		/* EBX[23:16]: addressable logical processor IDs in the package;
		 * EDX bit 28 (HTT) says that field is valid. */
		r->ebx = (r->ebx & 0xff00ffffu) | ((uint32_t)(1u << bits) << 16);
		if (n > 1)
			r->edx |= BIT(28);
		else
			r->edx &= ~(uint32_t)BIT(28);
		break;
	case 4:
		/* EAX[31:26]: addressable core IDs - 1; EAX[25:14]: logical
		 * processors sharing this cache - 1 (one thread per core; the
		 * last-level cache shared by the package). */
		if (r->eax & 0x1f) {
			unsigned level = (r->eax >> 5) & 7;
			uint32_t sharing = level >= 3 ? (1u << bits) - 1 : 0;
			r->eax = (r->eax & 0x3fffu) | (sharing << 14) | (((1u << bits) - 1) << 26);
		}
		break;
	case 0xb:
		/* Level 0: SMT, 1 thread, shift 0; level 1: core, n of them,
		 * shift `bits`; then an invalid level. EDX: x2APIC ID. */
		r->edx = g->apic_id;
		if (subleaf == 0) {
			r->eax = 0;
			r->ebx = 1;
			r->ecx = (1u << 8) | subleaf;
		} else if (subleaf == 1) {
			r->eax = bits;
			r->ebx = n;
			r->ecx = (2u << 8) | subleaf;
		} else {
			r->eax = r->ebx = 0;
			r->ecx = subleaf & 0xff;
		}
		break;
	default:
		break;
	}
}

static uint32_t *reg(struct cpuid_regs *r, uint8_t which)
{
	switch (which) {
	case REG_EAX: return &r->eax;
	case REG_EBX: return &r->ebx;
	case REG_ECX: return &r->ecx;
	default: return &r->edx;
	}
}

void cpuid_policy_apply(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r,
			const struct cpuid_guest_view *g)
{
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
	/* Which basic leaves the two tables touch, as bitmasks built from the
	 * tables once: CPUID is the hottest exit, and most leaves need no
	 * table walk (docs/benchmarks.md). */
	static uint32_t zeroed_leaves, hidden_leaves;
	if (!zeroed_leaves) {
		for (size_t i = 0; i < ARRAY_SIZE(cpuid_zeroed); i++)
			zeroed_leaves |= (uint32_t)BIT(cpuid_zeroed[i]);
		for (size_t i = 0; i < ARRAY_SIZE(cpuid_hidden); i++)
			hidden_leaves |= (uint32_t)BIT(cpuid_hidden[i].leaf);
	}
	if (leaf < 32 && (zeroed_leaves & BIT(leaf))) {
		memset(r, 0, sizeof(*r));
		return;
	}
	if (leaf < 32 && (hidden_leaves & BIT(leaf)))
		for (size_t i = 0; i < ARRAY_SIZE(cpuid_hidden); i++)
			if (cpuid_hidden[i].leaf == leaf && cpuid_hidden[i].subleaf == subleaf)
				*reg(r, cpuid_hidden[i].reg) &= ~cpuid_hidden[i].bits;
	if (leaf == 1 || leaf == 4 || leaf == 0xb)
		apply_topology(leaf, subleaf, r, g);
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
		/* Announce a hypervisor (bit 31, reserved for this use by
		 * convention); OSXSAVE mirrors the guest's CR4, not the host's. */
		r->ecx &= ~(uint32_t)CPUID_1_ECX_OSXSAVE;
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
	case 0xd:
		/* EBX: bytes of XSAVE area the guest's XCR0 needs; ECX: for every
		 * supported component (SDM Vol. 2A CPUID leaf 0DH). The CPU would
		 * answer for the XCR0 loaded when the hypervisor runs CPUID, and
		 * Bochs adds up component sizes instead of taking the highest
		 * end, so we compute both from the layout. */
		if (subleaf == 0 && g->xsave) {
			uint64_t supported = ((uint64_t)r->edx << 32) | r->eax;
			uint32_t need = XSAVE_LEGACY_AND_HEADER, all = XSAVE_LEGACY_AND_HEADER;
			for (unsigned i = 2; i < g->xsave_count && i < 64; i++) {
				uint32_t end = g->xsave[i].offset + g->xsave[i].size;
				if ((supported & BIT(i)) && end > all)
					all = end;
				if ((supported & g->xcr0 & BIT(i)) && end > need)
					need = end;
			}
			r->ebx = need;
			r->ecx = all;
		}
		/* Subleaf 1 EBX: the compacted-format size (XSAVEC) for XCR0 |
		 * IA32_XSS, XSS being 0 as XSAVES is hidden: components packed
		 * in order after the header, some 64-byte aligned (SDM Vol. 1
		 * 13.4.3). Bochs answers with the standard-format size. */
		if (subleaf == 1 && g->xsave) {
			uint32_t end = XSAVE_LEGACY_AND_HEADER;
			for (unsigned i = 2; i < g->xsave_count && i < 64; i++) {
				if (!(g->xcr0 & BIT(i)))
					continue;
				if (g->xsave[i].align64)
					end = (end + 63) & ~63u;
				end += g->xsave[i].size;
			}
			r->ebx = end;
		}
		break;
	case 7:
		/* INVPCID executes natively only with "enable INVPCID" set
		 * (SDM 26.3 / 25.6.2); otherwise it would #UD. */
		if (subleaf == 0 && !g->invpcid)
			r->ebx &= ~(uint32_t)BIT(10);
		break;
	case 0x80000001:
		/* RDTSCP likewise needs "enable RDTSCP". */
		if (!g->rdtscp)
			r->edx &= ~(uint32_t)BIT(27);
		break;
	case 0x80000007:
		/* Invariant TSC (EDX bit 8): the guest TSC is the host's plus a
		 * constant offset, at the constant rate leaves 15H/16H give. */
		r->edx = BIT(8);
		break;
	default:
		break;
	}
}
