/* Building a vCPU's VMCS: controls from the capability MSRs, host state from
 * the running hypervisor, guest state for the Multiboot entry state
 * (SDM Vol. 3C 25 "VMCS layout", 27.2-27.3 checks on VM entry). */
#include "vmx/vmx.h"
#include "vmx/vmcs.h"
#include "vmx/msr.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/percpu.h"
#include "arch/x86/mm.h"
#include "lib/log.h"
#include "lib/string.h"
#include "vm/vm.h"
#include "vmx/apicv.h"
#include "vmx/exit.h"

/* Guest-visible CR bits the hypervisor owns: the guest/host mask sends
 * writes to them to us, and reads come from the read shadow (SDM 25.6.6). */
uint64_t vmx_cr0_owned_bits(void)
{
	/* Unrestricted guest lets the guest run with PE and PG clear (SDM 27.3.1.1).
	 * CD and NW are ours too: a guest that disables caching (an OS does,
	 * briefly, to program MTRRs, SDM 12.11.8) sees the bits it wrote, while
	 * the CPU keeps caching on and EPT decides the memory type; in Bochs a
	 * native CD write also came back with NW set, which made the guest's
	 * next MOV CR0 fault. */
	return ((vmx_caps.cr0_fixed0 | ~vmx_caps.cr0_fixed1) & ~(CR0_PE | CR0_PG)) | CR0_CD | CR0_NW;
}

uint64_t vmx_cr4_owned_bits(void)
{
	return vmx_caps.cr4_fixed0 | ~vmx_caps.cr4_fixed1;
}

static bool adjust(const char *what, uint64_t cap, uint32_t required, uint32_t wanted, uint32_t *out)
{
	uint32_t missing;
	if (!vmx_adjust_controls(cap, required, wanted, out, &missing)) {
		pr_err("the CPU cannot set %s control bits 0x%x that the hypervisor requires", what,
		       missing);
		return false;
	}
	return true;
}

static bool setup_controls(struct vcpu *v)
{
	uint32_t pin, cpu, cpu2, exit, entry;
	const struct vmx_caps *c = &vmx_caps;
	/* APIC virtualization, when the VM uses it (vmx/apicv.c), adds the TPR
	 * shadow, MSR bitmaps and its secondary controls, and drops CR8
	 * exiting. */
	uint32_t apicv_cpu, apicv_cpu_clear, apicv_sec;
	apicv_controls(v, &apicv_cpu, &apicv_cpu_clear, &apicv_sec);
	uint32_t cpu_required = ((CPU_HLT_EXITING | CPU_UNCONDITIONAL_IO_EXITING |
				  CPU_ACTIVATE_SECONDARY_CONTROLS | CPU_CR8_LOAD_EXITING |
				  CPU_CR8_STORE_EXITING | CPU_USE_TSC_OFFSETTING) & ~apicv_cpu_clear) |
				apicv_cpu;

	/* CR8 load/store exiting: without a TPR shadow a guest MOV CR8 would
	 * reach the host's own local APIC. MOV DR does not exit: DR0-3 and DR6
	 * are the guest's while it runs, DR7 and DEBUGCTL switch with the VMCS
	 * (load/save debug controls). */
	if (!adjust("pin-based", c->pinbased, PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING,
		    PIN_PREEMPTION_TIMER | PIN_VIRTUAL_NMIS, &pin) ||
	    !adjust("primary processor-based", c->procbased, cpu_required,
		    CPU_MWAIT_EXITING | CPU_MONITOR_EXITING | CPU_RDPMC_EXITING, &cpu) ||
	    !adjust("secondary processor-based", c->procbased2,
		    SEC_ENABLE_EPT | SEC_UNRESTRICTED_GUEST | apicv_sec,
		    SEC_ENABLE_VPID | SEC_ENABLE_RDTSCP | SEC_ENABLE_INVPCID, &cpu2) ||
	    !adjust("VM-exit", c->exit,
		    EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_ACK_INTERRUPT_ON_EXIT | EXIT_SAVE_IA32_EFER |
			    EXIT_LOAD_IA32_EFER | EXIT_SAVE_DEBUG_CONTROLS,
		    EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT | EXIT_SAVE_PREEMPTION_TIMER, &exit) ||
	    !adjust("VM-entry", c->entry, ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_DEBUG_CONTROLS,
		    ENTRY_LOAD_IA32_PAT, &entry))
		return false;

	/* Without "save VMX-preemption timer value" the timer restarts from the
	 * field at every entry and may never expire; we only use it with it. */
	if (!(exit & EXIT_SAVE_PREEMPTION_TIMER))
		pin &= ~(uint32_t)PIN_PREEMPTION_TIMER;
	if (!(pin & PIN_PREEMPTION_TIMER))
		exit &= ~(uint32_t)EXIT_SAVE_PREEMPTION_TIMER;

	vmcs_write(VMCS_PIN_BASED_VM_EXEC_CONTROL, pin);
	vmcs_write(VMCS_CPU_BASED_VM_EXEC_CONTROL, cpu);
	v->cpu_controls = cpu;
	v->pin_controls = pin;
	vmcs_write(VMCS_SECONDARY_VM_EXEC_CONTROL, cpu2);
	vmcs_write(VMCS_VM_EXIT_CONTROLS, exit);
	vmcs_write(VMCS_VM_ENTRY_CONTROLS, entry);
	if (pin & PIN_PREEMPTION_TIMER)
		vmcs_write(VMCS_VMX_PREEMPTION_TIMER_VALUE, VMX_PREEMPTION_SLICE);

	/* #AC is intercepted: an #AC raised while delivering #AC would loop in
	 * the CPU forever and hang the host (CVE-2015-5307). */
	vmcs_write(VMCS_EXCEPTION_BITMAP, BIT(EXC_AC));
	vmcs_write(VMCS_PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(VMCS_PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write(VMCS_VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VMCS_VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_VM_ENTRY_INTR_INFO, 0);
	/* The guest's TSC (guest TSC = host TSC + offset, SDM 26.6.5): the VM
	 * chose the offset when it was created, so its TSC started near zero. */
	vmcs_write(VMCS_TSC_OFFSET, v->vm->tsc_offset);
	vmcs_write(VMCS_EPT_POINTER, ept_pointer(&v->vm->ept));
	if (cpu2 & SEC_ENABLE_VPID)
		vmcs_write(VMCS_VIRTUAL_PROCESSOR_ID, v->vpid);

	vmcs_write(VMCS_CR0_GUEST_HOST_MASK, vmx_cr0_owned_bits());
	vmcs_write(VMCS_CR4_GUEST_HOST_MASK, vmx_cr4_owned_bits());
	apicv_setup_vmcs(v);
	return true;
}

static void setup_host_state(void)
{
	struct descriptor_table_ptr gdtr, idtr;
	sgdt(&gdtr);
	sidt(&idtr);

	vmcs_write(VMCS_HOST_CR0, read_cr0());
	vmcs_write(VMCS_HOST_CR3, read_cr3());
	vmcs_write(VMCS_HOST_CR4, read_cr4());
	vmcs_write(VMCS_HOST_CS_SELECTOR, HOST_CS);
	vmcs_write(VMCS_HOST_SS_SELECTOR, HOST_DS);
	vmcs_write(VMCS_HOST_DS_SELECTOR, HOST_DS);
	vmcs_write(VMCS_HOST_ES_SELECTOR, HOST_DS);
	vmcs_write(VMCS_HOST_FS_SELECTOR, 0);
	vmcs_write(VMCS_HOST_GS_SELECTOR, 0);
	vmcs_write(VMCS_HOST_TR_SELECTOR, HOST_TR); /* must not be 0 (SDM 27.2.3) */
	vmcs_write(VMCS_HOST_FS_BASE, 0);
	/* GS base is how the host finds its struct cpu (arch/x86/percpu.h):
	 * a VM exit loads it from here (SDM 28.5.2). This CPU runs the vCPU. */
	vmcs_write(VMCS_HOST_GS_BASE, (uint64_t)(uintptr_t)this_cpu());
	vmcs_write(VMCS_HOST_TR_BASE, host_tss_base());
	vmcs_write(VMCS_HOST_GDTR_BASE, gdtr.base);
	vmcs_write(VMCS_HOST_IDTR_BASE, idtr.base);
	vmcs_write(VMCS_HOST_IA32_SYSENTER_CS, 0);
	vmcs_write(VMCS_HOST_IA32_SYSENTER_ESP, 0);
	vmcs_write(VMCS_HOST_IA32_SYSENTER_EIP, 0);
	vmcs_write(VMCS_HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	if (vmcs_read(VMCS_VM_EXIT_CONTROLS) & EXIT_LOAD_IA32_PAT)
		vmcs_write(VMCS_HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_write(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_stub);
	/* HOST_RSP is written by vmx_enter, which knows its stack. */
}

/* Access rights (SDM 25.4.1, Table 25-2): type, S, DPL, P, AVL, L, D/B, G. */
#define AR_CODE32_FLAT 0xc09b /* execute/read, accessed, present, 32-bit, 4 KiB granularity */
#define AR_CODE64_FLAT 0xa09b /* execute/read, accessed, present, L (64-bit), 4 KiB granularity */
#define AR_DATA32_FLAT 0xc093 /* read/write, accessed, present, 32-bit, 4 KiB granularity */
#define AR_CODE16_REAL 0x009b /* execute/read, accessed, present, 16-bit, byte granularity */
#define AR_DATA16_REAL 0x0093 /* read/write, accessed, present, 16-bit, byte granularity */
#define AR_TSS32_BUSY 0x008b
#define AR_LDT_UNUSABLE AR_UNUSABLE

static void setup_guest_state(const struct guest_entry *e, struct vcpu *v)
{
	/* Two starting states (vm/guest_boot.h), both with flat 4 GiB segments
	 * and EFLAGS.IF = 0:
	 *  - the Multiboot machine state (Multiboot2 spec 3.3): 32-bit
	 *    protected mode, paging off;
	 *  - the Linux 64-bit entry (boot.rst "64-bit BOOT PROTOCOL"): long
	 *    mode on the loader's identity-mapped page tables, CS a 64-bit code
	 *    segment. Entering IA-32e mode directly needs the "IA-32e mode
	 *    guest" entry control, CR0.PG, CR4.PAE and EFER.LME/LMA all set
	 *    (SDM 27.3.1.1). */
	bool long64 = e->mode == GUEST_MODE_LONG64, real16 = e->mode == GUEST_MODE_REAL16;
	static const uint32_t sel[] = { VMCS_GUEST_ES_SELECTOR, VMCS_GUEST_SS_SELECTOR,
					VMCS_GUEST_DS_SELECTOR, VMCS_GUEST_FS_SELECTOR,
					VMCS_GUEST_GS_SELECTOR };
	static const uint32_t base[] = { VMCS_GUEST_ES_BASE, VMCS_GUEST_SS_BASE, VMCS_GUEST_DS_BASE,
					 VMCS_GUEST_FS_BASE, VMCS_GUEST_GS_BASE };
	static const uint32_t limit[] = { VMCS_GUEST_ES_LIMIT, VMCS_GUEST_SS_LIMIT,
					  VMCS_GUEST_DS_LIMIT, VMCS_GUEST_FS_LIMIT,
					  VMCS_GUEST_GS_LIMIT };
	static const uint32_t ar[] = { VMCS_GUEST_ES_AR_BYTES, VMCS_GUEST_SS_AR_BYTES,
				       VMCS_GUEST_DS_AR_BYTES, VMCS_GUEST_FS_AR_BYTES,
				       VMCS_GUEST_GS_AR_BYTES };
	/* Real mode (an AP started by a SIPI, SDM Vol. 3A 9.4.4.1 and 11.6.1):
	 * CS = VV00H with base VV000H, IP 0, the other segments at 0, all
	 * 64 KiB limits, as after INIT (Table 9-1). Unrestricted guest lets
	 * the guest run with CR0.PE = 0 (SDM 27.3.1.1, 27.3.1.2). */
	for (size_t i = 0; i < ARRAY_SIZE(sel); i++) {
		vmcs_write(sel[i], real16 ? 0 : e->ds);
		vmcs_write(base[i], 0);
		vmcs_write(limit[i], real16 ? 0xffff : 0xffffffff);
		vmcs_write(ar[i], real16 ? AR_DATA16_REAL : AR_DATA32_FLAT);
	}
	vmcs_write(VMCS_GUEST_CS_SELECTOR, e->cs);
	vmcs_write(VMCS_GUEST_CS_BASE, real16 ? (uint64_t)e->cs << 4 : 0);
	vmcs_write(VMCS_GUEST_CS_LIMIT, real16 ? 0xffff : 0xffffffff);
	vmcs_write(VMCS_GUEST_CS_AR_BYTES, long64 ? AR_CODE64_FLAT : real16 ? AR_CODE16_REAL : AR_CODE32_FLAT);
	/* TR must be usable even if the guest never loads one (SDM 27.3.1.2). */
	vmcs_write(VMCS_GUEST_TR_SELECTOR, 0);
	vmcs_write(VMCS_GUEST_TR_BASE, 0);
	vmcs_write(VMCS_GUEST_TR_LIMIT, 0xffff);
	vmcs_write(VMCS_GUEST_TR_AR_BYTES, AR_TSS32_BUSY);
	vmcs_write(VMCS_GUEST_LDTR_SELECTOR, 0);
	vmcs_write(VMCS_GUEST_LDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_LDTR_LIMIT, 0);
	vmcs_write(VMCS_GUEST_LDTR_AR_BYTES, AR_LDT_UNUSABLE);
	vmcs_write(VMCS_GUEST_GDTR_BASE, e->gdt_base);
	vmcs_write(VMCS_GUEST_GDTR_LIMIT, e->gdt_limit);
	vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_IDTR_LIMIT, long64 ? 0 : 0x3ff);
	if (real16)
		vmcs_write(VMCS_GUEST_GDTR_LIMIT, 0xffff);

	uint64_t cr0 = (real16 ? 0 : CR0_PE) | CR0_ET | (long64 ? CR0_PG : 0);
	uint64_t cr4 = long64 ? CR4_PAE : 0;
	vmcs_write(VMCS_CR0_READ_SHADOW, cr0);
	vmcs_write(VMCS_GUEST_CR0, vmx_apply_fixed(cr0, vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG),
						   vmx_caps.cr0_fixed1));
	vmcs_write(VMCS_CR4_READ_SHADOW, cr4);
	vmcs_write(VMCS_GUEST_CR4, vmx_apply_fixed(cr4, vmx_caps.cr4_fixed0, vmx_caps.cr4_fixed1));
	vmcs_write(VMCS_GUEST_CR3, e->cr3);
	uint32_t entry_ctls = (uint32_t)vmcs_read(VMCS_VM_ENTRY_CONTROLS);
	vmcs_write(VMCS_VM_ENTRY_CONTROLS, long64 ? entry_ctls | ENTRY_IA32E_MODE_GUEST
						  : entry_ctls & ~(uint32_t)ENTRY_IA32E_MODE_GUEST);
	vmcs_write(VMCS_GUEST_DR7, 0x400);
	vmcs_write(VMCS_GUEST_RSP, 0);
	vmcs_write(VMCS_GUEST_RIP, e->rip);
	vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED);
	vmcs_write(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(VMCS_GUEST_ACTIVITY_STATE, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_EIP, 0);
	vmcs_write(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(VMCS_GUEST_IA32_EFER, long64 ? EFER_LME | EFER_LMA : 0);
	if (vmcs_read(VMCS_VM_ENTRY_CONTROLS) & ENTRY_LOAD_IA32_PAT)
		vmcs_write(VMCS_GUEST_IA32_PAT, 0x0007040600070406ULL); /* power-on PAT */
	/* No shadow VMCS: the link pointer must be all ones (SDM 27.3.1.5). */
	vmcs_write(VMCS_VMCS_LINK_POINTER, ~0ULL);

	memset(v->gpr, 0, sizeof(v->gpr));
	v->gpr[GPR_RAX] = e->rax;
	v->gpr[GPR_RBX] = e->rbx;
	v->gpr[GPR_RSI] = e->rsi;
	v->cr2 = 0;
	v->xcr0 = 1; /* x87 only, the reset value */
	v->tsc_adjust = 0;
	/* MTRRs enabled with write-back as the default type, as firmware
	 * leaves them (SDM 12.11.2.1): an OS that finds them disabled turns
	 * PAT off too. */
	v->mtrr_def_type = MTRR_DEF_TYPE_E | MTRR_TYPE_WB;
}

bool vmx_vcpu_setup(struct vcpu *v, const struct guest_entry *e)
{
	if (!v->vmcs) {
		v->vmcs = page_alloc(1, PAGE_SIZE);
		if (!v->vmcs) {
			pr_err("VM %s: no memory for a VMCS", v->vm->name);
			return false;
		}
		v->vmcs_pa = virt_to_phys(v->vmcs);
	}
	memcpy(v->vmcs, &vmx_caps.revision_id, 4);

	bool fail;
	/* VMCLEAR puts the VMCS in the clear state so VMLAUNCH accepts it (SDM 25.11.3). */
	__asm__ volatile("vmclear %1" : "=@ccbe"(fail) : "m"(v->vmcs_pa) : "cc", "memory");
	if (!fail)
		__asm__ volatile("vmptrld %1" : "=@ccbe"(fail) : "m"(v->vmcs_pa) : "cc", "memory");
	if (fail) {
		pr_err("VM %s: VMCLEAR/VMPTRLD of the VMCS at 0x%llx failed", v->vm->name,
		       (unsigned long long)v->vmcs_pa);
		return false;
	}
	v->launched = 0;
	v->host_rsp = 0;
	v->vmcs_cpu = this_cpu();
	if (!setup_controls(v))
		return false;
	setup_host_state();
	setup_guest_state(e, v);
	vmx_invalidate_vm_tlbs(ept_pointer(&v->vm->ept), v->vpid);
	return true;
}

void vmx_vcpu_release(struct vcpu *v)
{
	/* VMCLEAR writes any VMCS data the CPU caches back to memory and makes
	 * the VMCS inactive; only then may its page be freed, or the VMCS be
	 * made current on another CPU (SDM 25.11.1: it must be active on one
	 * CPU at most). It is clear now: the next entry is a VMLAUNCH. */
	if (!v->vmcs)
		return;
	__asm__ volatile("vmclear %0" ::"m"(v->vmcs_pa) : "cc", "memory");
	v->vmcs_cpu = NULL;
	v->launched = 0;
}

void vmx_vcpu_load(struct vcpu *v)
{
	if (!v->vmcs)
		return; /* never set up: vmx_vcpu_setup will */
	__asm__ volatile("vmptrld %0" : : "m"(v->vmcs_pa) : "cc", "memory");
	struct cpu *c = this_cpu();
	if (v->vmcs_cpu == c)
		return;
	/* Arriving from another CPU (VMCLEARed there): the host-state area
	 * still describes that CPU (its GS base, TSS, GDT, stack: SDM 28.5),
	 * and this CPU's TLBs may hold translations tagged with this VPID
	 * and EPTP from an earlier stay, stale since (SDM 29.4.3.4). */
	setup_host_state();
	v->host_rsp = 0;
	vmx_invalidate_vm_tlbs(ept_pointer(&v->vm->ept), v->vpid);
	v->vmcs_cpu = c;
}

/* Call fn with v's VMCS current, then make the VMCS that was current before
 * current again (VMPTRST, VMPTRLD: SDM 31.3). The shell reads a VM's
 * registers this way, from inside another VM's exit or with no VM running.
 * False if v has no VMCS yet (it never ran). */
static bool with_vmcs(struct vcpu *v, void (*fn)(struct vcpu *v))
{
	/* A VMCS active on another CPU cannot be loaded here (SDM 25.11.1):
	 * the caller asks that CPU (vm/sched.c). */
	if (!v->vmcs || (v->vmcs_cpu && v->vmcs_cpu != this_cpu()))
		return false;
	bool was_clear = !v->vmcs_cpu;
	uint64_t cur = ~0ULL;
	__asm__ volatile("vmptrst %0" : "=m"(cur) : : "memory");
	if (cur != v->vmcs_pa)
		__asm__ volatile("vmptrld %0" : : "m"(v->vmcs_pa) : "cc", "memory");
	fn(v);
	if (was_clear) /* leave it clear, free to go to any CPU */
		__asm__ volatile("vmclear %0" ::"m"(v->vmcs_pa) : "cc", "memory");
	if (cur != v->vmcs_pa && cur != ~0ULL)
		__asm__ volatile("vmptrld %0" : : "m"(cur) : "cc", "memory");
	return true;
}

bool vmx_vcpu_dump(struct vcpu *v)
{
	return with_vmcs(v, vcpu_dump);
}

static uint64_t rip_read;

static void read_rip(struct vcpu *v)
{
	(void)v;
	rip_read = vmcs_read(VMCS_GUEST_RIP);
}

bool vmx_vcpu_rip(struct vcpu *v, uint64_t *rip)
{
	if (!with_vmcs(v, read_rip))
		return false;
	*rip = rip_read;
	return true;
}
