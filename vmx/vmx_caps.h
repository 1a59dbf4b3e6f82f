/* What this CPU's VMX offers, read once from the capability MSRs
 * (SDM Vol. 3D Appendix A), and the rule for building control values. */
#ifndef VMX_VMX_CAPS_H
#define VMX_VMX_CAPS_H

#include "lib/types.h"

/* EPT and VPID capabilities (IA32_VMX_EPT_VPID_CAP, SDM A.10). */
#define EPT_CAP_EXECUTE_ONLY BIT(0)
#define EPT_CAP_PWL4 BIT(6)
#define EPT_CAP_PWL5 BIT(7)
#define EPT_CAP_MEMTYPE_UC BIT(8)
#define EPT_CAP_MEMTYPE_WB BIT(14)
#define EPT_CAP_2MB_PAGE BIT(16)
#define EPT_CAP_1GB_PAGE BIT(17)
#define EPT_CAP_INVEPT BIT(20)
#define EPT_CAP_AD_FLAGS BIT(21)
#define EPT_CAP_INVEPT_SINGLE BIT(25)
#define EPT_CAP_INVEPT_ALL BIT(26)
#define VPID_CAP_INVVPID BIT(32)
#define VPID_CAP_INVVPID_ADDR BIT(40)
#define VPID_CAP_INVVPID_SINGLE BIT(41)
#define VPID_CAP_INVVPID_ALL BIT(42)

struct vmx_caps {
	uint64_t basic;
	uint32_t revision_id;
	uint32_t vmcs_size;
	bool true_controls;
	/* Each control MSR: low 32 bits = allowed 0-settings (a 1 there means the
	 * control must be 1), high 32 bits = allowed 1-settings (SDM A.3-A.5). */
	uint64_t pinbased, procbased, procbased2, exit, entry;
	uint64_t misc;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	uint64_t ept_vpid;
	unsigned preemption_timer_shift; /* timer ticks every 2^shift TSC cycles */
};

/* Compute a control value from what we require and what we would like.
 * Bits the CPU forces to 1 are set, bits it cannot set are dropped from
 * wanted. Returns false, with *missing = required bits the CPU cannot set,
 * when a required control is unavailable. */
bool vmx_adjust_controls(uint64_t cap_msr, uint32_t required, uint32_t wanted,
			 uint32_t *out, uint32_t *missing);

/* Whether a control bit may be set to 1 according to a capability MSR. */
static inline bool vmx_control_allowed(uint64_t cap_msr, uint32_t bit)
{
	return (cap_msr >> 32) & bit;
}

/* Apply IA32_VMX_CRx_FIXED0/1: bits 1 in FIXED0 must be 1, bits 0 in FIXED1
 * must be 0 (SDM A.7, A.8). */
static inline uint64_t vmx_apply_fixed(uint64_t value, uint64_t fixed0, uint64_t fixed1)
{
	return (value | fixed0) & fixed1;
}

extern struct vmx_caps vmx_caps;


/* What CPUID.1:ECX and IA32_FEATURE_CONTROL say about using VMX (SDM 24.6, 24.7). */
enum vmx_verdict {
	VMX_VERDICT_OK,              /* locked with VMX outside SMX allowed */
	VMX_VERDICT_NO_VMX,          /* CPUID.1:ECX.VMX = 0 */
	VMX_VERDICT_LOCKED_OFF,      /* locked with VMX outside SMX clear */
	VMX_VERDICT_ENABLE_AND_LOCK, /* unlocked: we may set the bits and lock it */
};
enum vmx_verdict vmx_feature_verdict(uint32_t cpuid1_ecx, uint64_t feature_control);

/* The first VMX feature this hypervisor needs that c lacks, in words; NULL
 * when everything needed is there. */
const char *vmx_missing_feature(const struct vmx_caps *c);

/* The first control APIC virtualization needs (vmx/apicv.h) that c lacks, in
 * words; NULL when all are offered. */
const char *vmx_apicv_missing(const struct vmx_caps *c);

#endif
