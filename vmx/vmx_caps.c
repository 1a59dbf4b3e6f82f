#include "vmx/vmx_caps.h"
#include "vmx/vmcs.h"
#include "arch/x86/cpu.h"

struct vmx_caps vmx_caps;

bool vmx_adjust_controls(uint64_t cap_msr, uint32_t required, uint32_t wanted,
			 uint32_t *out, uint32_t *missing)
{
	uint32_t must_be_one = (uint32_t)cap_msr;
	uint32_t may_be_one = (uint32_t)(cap_msr >> 32);

	*missing = required & ~may_be_one;
	*out = ((required | wanted) & may_be_one) | must_be_one;
	return *missing == 0;
}

enum vmx_verdict vmx_feature_verdict(uint32_t cpuid1_ecx, uint64_t feature_control)
{
	if (!(cpuid1_ecx & CPUID_1_ECX_VMX))
		return VMX_VERDICT_NO_VMX;
	if (!(feature_control & FEATURE_CONTROL_LOCKED))
		return VMX_VERDICT_ENABLE_AND_LOCK;
	if (!(feature_control & FEATURE_CONTROL_VMX_OUTSIDE_SMX))
		return VMX_VERDICT_LOCKED_OFF;
	return VMX_VERDICT_OK;
}

const char *vmx_missing_feature(const struct vmx_caps *c)
{
	if (!vmx_control_allowed(c->procbased, CPU_ACTIVATE_SECONDARY_CONTROLS))
		return "secondary processor-based controls";
	if (!vmx_control_allowed(c->procbased2, SEC_ENABLE_EPT))
		return "EPT";
	if (!(c->ept_vpid & EPT_CAP_PWL4) || !(c->ept_vpid & EPT_CAP_MEMTYPE_WB))
		return "4-level write-back EPT";
	if (!vmx_control_allowed(c->procbased2, SEC_UNRESTRICTED_GUEST))
		return "unrestricted guest (guests start in protected mode with paging off)";
	/* VMCS and VMXON regions in write-back memory (IA32_VMX_BASIC 53:50, SDM A.1). */
	if (((c->basic >> 50) & 0xf) != 6)
		return "write-back memory type for the VMCS";
	return NULL;
}

const char *vmx_apicv_missing(const struct vmx_caps *c)
{
	static const struct {
		bool secondary;
		uint32_t bit;
		const char *name;
	} need[] = {
		{ false, CPU_USE_TPR_SHADOW, "the TPR shadow" },
		{ false, CPU_USE_MSR_BITMAPS, "MSR bitmaps" },
		{ false, CPU_ACTIVATE_SECONDARY_CONTROLS, "secondary controls" },
		{ true, SEC_VIRTUALIZE_APIC_ACCESSES, "virtualize APIC accesses" },
		{ true, SEC_VIRTUALIZE_X2APIC_MODE, "virtualize x2APIC mode" },
		{ true, SEC_APIC_REGISTER_VIRTUALIZATION, "APIC-register virtualization" },
		{ true, SEC_VIRTUAL_INTERRUPT_DELIVERY, "virtual-interrupt delivery" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(need); i++)
		if (!vmx_control_allowed(need[i].secondary ? c->procbased2 : c->procbased, need[i].bit))
			return need[i].name;
	/* Virtual-interrupt delivery requires external-interrupt exiting
	 * (SDM 27.2.1.1), which the hypervisor always sets. */
	if (!vmx_control_allowed(c->pinbased, PIN_EXTERNAL_INTERRUPT_EXITING))
		return "external-interrupt exiting";
	return NULL;
}
