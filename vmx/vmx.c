#include "vmx/vmx.h"
#include "vmx/vmcs.h"
#include "arch/x86/cpu.h"
#include "arch/x86/mm.h"
#include "arch/x86/percpu.h"
#include "lib/log.h"
#include "lib/string.h"

static void print_feature(const char *name, bool present)
{
	kprintf("  %-34s %s\n", name, present ? "yes" : "no");
}

static void read_caps(struct vmx_caps *c)
{
	c->basic = rdmsr(MSR_IA32_VMX_BASIC);
	c->revision_id = (uint32_t)(c->basic & 0x7fffffff);
	c->vmcs_size = (uint32_t)((c->basic >> 32) & 0x1fff);
	/* Bit 55: the TRUE_* MSRs exist and report which default-1 controls
	 * can really be cleared (SDM A.1, A.2). */
	c->true_controls = c->basic & BIT(55);
	c->pinbased = rdmsr(c->true_controls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS
					     : MSR_IA32_VMX_PINBASED_CTLS);
	c->procbased = rdmsr(c->true_controls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
					      : MSR_IA32_VMX_PROCBASED_CTLS);
	c->exit = rdmsr(c->true_controls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
	c->entry = rdmsr(c->true_controls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
	c->misc = rdmsr(MSR_IA32_VMX_MISC);
	c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	/* The secondary controls MSR exists only if the primary controls can
	 * activate them (SDM A.3.3). */
	c->procbased2 = vmx_control_allowed(c->procbased, CPU_ACTIVATE_SECONDARY_CONTROLS)
				? rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2)
				: 0;
	/* EPT/VPID capabilities exist only if EPT or VPID can be enabled (SDM A.10). */
	c->ept_vpid = vmx_control_allowed(c->procbased2, SEC_ENABLE_EPT | SEC_ENABLE_VPID)
			      ? rdmsr(MSR_IA32_VMX_EPT_VPID_CAP)
			      : 0;
	c->preemption_timer_shift = (unsigned)(c->misc & 0x1f);
}

static void print_caps(const struct vmx_caps *c)
{
	uint64_t p2 = c->procbased2;
	kprintf("[hv info] VMX capabilities (VMCS revision 0x%x, VMCS size %u bytes, %s controls):\n",
		c->revision_id, c->vmcs_size, c->true_controls ? "TRUE" : "default");
	pr_debug("capability MSRs: pin %016llx proc %016llx proc2 %016llx exit %016llx entry %016llx "
		 "misc %016llx ept/vpid %016llx", (unsigned long long)c->pinbased,
		 (unsigned long long)c->procbased, (unsigned long long)c->procbased2,
		 (unsigned long long)c->exit, (unsigned long long)c->entry, (unsigned long long)c->misc,
		 (unsigned long long)c->ept_vpid);
	print_feature("secondary controls", vmx_control_allowed(c->procbased, CPU_ACTIVATE_SECONDARY_CONTROLS));
	print_feature("EPT", vmx_control_allowed(p2, SEC_ENABLE_EPT));
	print_feature("EPT 4-level walk", c->ept_vpid & EPT_CAP_PWL4);
	print_feature("EPT write-back memory type", c->ept_vpid & EPT_CAP_MEMTYPE_WB);
	print_feature("EPT 2 MiB pages", c->ept_vpid & EPT_CAP_2MB_PAGE);
	print_feature("EPT 1 GiB pages", c->ept_vpid & EPT_CAP_1GB_PAGE);
	print_feature("EPT accessed/dirty flags", c->ept_vpid & EPT_CAP_AD_FLAGS);
	print_feature("INVEPT (single-context/all)", (c->ept_vpid & EPT_CAP_INVEPT) &&
		      (c->ept_vpid & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL)));
	print_feature("VPID", vmx_control_allowed(p2, SEC_ENABLE_VPID));
	print_feature("INVVPID", c->ept_vpid & VPID_CAP_INVVPID);
	print_feature("unrestricted guest", vmx_control_allowed(p2, SEC_UNRESTRICTED_GUEST));
	print_feature("VMX-preemption timer", vmx_control_allowed(c->pinbased, PIN_PREEMPTION_TIMER));
	print_feature("posted interrupts", vmx_control_allowed(c->pinbased, PIN_POSTED_INTERRUPTS));
	print_feature("virtual NMIs", vmx_control_allowed(c->pinbased, PIN_VIRTUAL_NMIS));
	print_feature("TPR shadow", vmx_control_allowed(c->procbased, CPU_USE_TPR_SHADOW));
	print_feature("APIC-register virtualization", vmx_control_allowed(p2, SEC_APIC_REGISTER_VIRTUALIZATION));
	print_feature("virtual-interrupt delivery", vmx_control_allowed(p2, SEC_VIRTUAL_INTERRUPT_DELIVERY));
	print_feature("x2APIC virtualization", vmx_control_allowed(p2, SEC_VIRTUALIZE_X2APIC_MODE));
	print_feature("VMCS shadowing", vmx_control_allowed(p2, SEC_VMCS_SHADOWING));
	print_feature("MSR bitmaps", vmx_control_allowed(c->procbased, CPU_USE_MSR_BITMAPS));
	print_feature("monitor trap flag", vmx_control_allowed(c->procbased, CPU_MONITOR_TRAP_FLAG));
	print_feature("NMI-window exiting", vmx_control_allowed(c->procbased, CPU_NMI_WINDOW_EXITING));
	print_feature("RDTSCP", vmx_control_allowed(p2, SEC_ENABLE_RDTSCP));
	print_feature("INVPCID", vmx_control_allowed(p2, SEC_ENABLE_INVPCID));
	print_feature("XSAVES/XRSTORS", vmx_control_allowed(p2, SEC_ENABLE_XSAVES));
	if (vmx_control_allowed(c->pinbased, PIN_PREEMPTION_TIMER))
		kprintf("  %-34s every 2^%u TSC cycles\n", "preemption timer rate", c->preemption_timer_shift);
}

enum vmx_support vmx_probe(void)
{
	struct cpuid_regs r;

	cpuid_count(1, 0, &r);
	/* IA32_FEATURE_CONTROL exists only when CPUID reports VMX or SMX. */
	uint64_t fc = (r.ecx & (CPUID_1_ECX_VMX | CPUID_1_ECX_SMX)) ? rdmsr(MSR_IA32_FEATURE_CONTROL) : 0;
	switch (vmx_feature_verdict(r.ecx, fc)) {
	case VMX_VERDICT_NO_VMX:
		pr_err("VT-x is not available: this CPU does not report VMX (CPUID.1:ECX.VMX = 0). "
		       "Run the hypervisor on an Intel CPU with VT-x: in QEMU use KVM with nested "
		       "virtualization (-enable-kvm -cpu host,+vmx on an Intel host with kvm_intel nested=1), "
		       "or boot the ISO in Bochs (make run picks Bochs when KVM is missing).");
		return VMX_NO_CPUID_FLAG;
	case VMX_VERDICT_LOCKED_OFF:
		pr_err("VT-x is switched off by the firmware: IA32_FEATURE_CONTROL is locked with "
		       "'VMX outside SMX' clear (value 0x%llx). Enable Intel Virtualization Technology "
		       "in the BIOS/UEFI setup, or for a nested VM give the guest VMX (-cpu host,+vmx).",
		       (unsigned long long)fc);
		return VMX_LOCKED_OFF;
	case VMX_VERDICT_ENABLE_AND_LOCK:
		/* The firmware left it open: allow VMX outside SMX and lock it, as
		 * VMXON requires (SDM 24.7). */
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCKED);
		pr_info("IA32_FEATURE_CONTROL was unlocked: enabled VMX outside SMX and locked it");
		break;
	case VMX_VERDICT_OK:
		break;
	}

	read_caps(&vmx_caps);
	print_caps(&vmx_caps);

	const char *missing = vmx_missing_feature(&vmx_caps);
	if (missing) {
		pr_err("VT-x is present but lacks %s, which this hypervisor needs. Use a newer CPU, "
		       "-cpu host,+vmx with KVM, or Bochs with cpu model corei7_skylake_x.", missing);
		return VMX_MISSING_FEATURE;
	}
	return VMX_OK;
}

/* Drop cached translations for an EPTP and a VPID before they are used, so
 * nothing cached for earlier tables that lived at the same addresses
 * survives (SDM 29.4.3.4). */
void vmx_invalidate_vm_tlbs(uint64_t eptp, uint16_t vpid)
{
	struct { uint64_t eptp, reserved; } ept_desc = { eptp, 0 };
	struct { uint64_t vpid, linear; } vpid_desc = { vpid, 0 };
	uint64_t c = vmx_caps.ept_vpid;

	if (c & EPT_CAP_INVEPT) {
		uint64_t type = (c & EPT_CAP_INVEPT_SINGLE) ? 1 : 2; /* single-context or global */
		__asm__ volatile("invept %0, %1" ::"m"(ept_desc), "r"(type) : "cc", "memory");
	}
	if ((c & VPID_CAP_INVVPID) && vpid) {
		uint64_t type = (c & VPID_CAP_INVVPID_SINGLE) ? 1 : 2;
		__asm__ volatile("invvpid %0, %1" ::"m"(vpid_desc), "r"(type) : "cc", "memory");
	}
}

bool vmx_enable(void)
{
	/* CR0 and CR4 must respect the VMX fixed bits, CR4.VMXE included (SDM 24.8). */
	write_cr0(vmx_apply_fixed(read_cr0(), vmx_caps.cr0_fixed0, vmx_caps.cr0_fixed1));
	write_cr4(vmx_apply_fixed(read_cr4() | CR4_VMXE, vmx_caps.cr4_fixed0, vmx_caps.cr4_fixed1));

	/* VMXON region: one 4 KiB-aligned page per CPU, starting with the
	 * revision ID (SDM 25.11.5); a CPU's region is its own while it is in
	 * VMX operation (24.11.5 asks software not to touch it). */
	struct cpu *c = this_cpu();
	if (!c->vmxon_region && !(c->vmxon_region = page_alloc(1, PAGE_SIZE))) {
		pr_err("CPU %u: no memory for a VMXON region", c->index);
		return false;
	}
	memset(c->vmxon_region, 0, PAGE_SIZE);
	memcpy(c->vmxon_region, &vmx_caps.revision_id, 4);
	uint64_t pa = virt_to_phys(c->vmxon_region);
	bool fail;
	__asm__ volatile("vmxon %1" : "=@ccbe"(fail) : "m"(pa) : "cc", "memory");
	if (fail) {
		pr_err("CPU %u: VMXON failed (CR0 0x%llx, CR4 0x%llx)", c->index,
		       (unsigned long long)read_cr0(), (unsigned long long)read_cr4());
		return false;
	}
	if (c->index == 0)
		pr_info("VMX root operation entered (VMXON region at 0x%llx)", (unsigned long long)pa);
	else
		pr_debug("CPU %u: VMX root operation entered (VMXON region at 0x%llx)", c->index,
			 (unsigned long long)pa);
	return true;
}

const char *vmx_enable_ap(void)
{
	struct cpuid_regs r;
	cpuid_count(1, 0, &r);
	uint64_t fc = (r.ecx & (CPUID_1_ECX_VMX | CPUID_1_ECX_SMX)) ? rdmsr(MSR_IA32_FEATURE_CONTROL) : 0;
	switch (vmx_feature_verdict(r.ecx, fc)) {
	case VMX_VERDICT_NO_VMX:
		return "it does not report VMX (CPUID.1:ECX.VMX = 0)";
	case VMX_VERDICT_LOCKED_OFF:
		return "its IA32_FEATURE_CONTROL is locked with VMX off";
	case VMX_VERDICT_ENABLE_AND_LOCK:
		/* Each logical processor has its own IA32_FEATURE_CONTROL (SDM 24.7). */
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCKED);
		break;
	case VMX_VERDICT_OK:
		break;
	}
	/* One vmx_caps for all CPUs: they must agree on the VMCS revision. */
	if ((uint32_t)(rdmsr(MSR_IA32_VMX_BASIC) & 0x7fffffff) != vmx_caps.revision_id)
		return "its VMCS revision differs from the boot CPU's";
	if (!vmx_enable())
		return "VMXON failed";
	return NULL;
}
