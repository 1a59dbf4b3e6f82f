/* Exit handlers and the table that routes each basic exit reason to one of
 * them (SDM Vol. 3C Appendix C). Each handler either completes the
 * instruction (and advances RIP), injects a fault, or stops its VM. */
#include "vmx/exit.h"
#include "vmx/vmx.h"
#include "vmx/vmcs.h"
#include "vmx/msr.h"
#include "vmx/hypercall.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "arch/x86/lapic_host.h"
#include "arch/x86/desc.h"
#include "lib/log.h"
#include "lib/string.h"
#include "vm/cpuid_policy.h"
#include "vmx/mmio.h"
#include "vm/platform.h"

/* CPUID.0:EAX of the host, read once. */
static uint32_t host_cpuid_max_leaf;

/* The host's XSAVE layout (CPUID leaf 0DH, subleaves 2..), read once. */
#define XSAVE_COMPONENTS 19 /* up to AMX tile data; later ones are not user states we offer */
static struct xsave_component host_xsave[XSAVE_COMPONENTS];

static const struct xsave_component *host_xsave_layout(void)
{
	/* Several CPUs may get here first at once: each writes the same values,
	 * and `read` is published after them. */
	static bool read;
	if (!__atomic_load_n(&read, __ATOMIC_ACQUIRE)) {
		for (unsigned i = 2; i < XSAVE_COMPONENTS; i++) {
			struct cpuid_regs c;
			cpuid_count(0xd, i, &c);
			host_xsave[i] = (struct xsave_component){ c.ebx, c.eax, (c.ecx & BIT(1)) != 0 };
		}
		__atomic_store_n(&read, true, __ATOMIC_RELEASE);
	}
	return host_xsave;
}

static void handle_cpuid(struct vcpu *v, const struct vmexit *e)
{
	if (!host_cpuid_max_leaf) {
		struct cpuid_regs m;
		cpuid_count(0, 0, &m);
		host_cpuid_max_leaf = m.eax;
	}
	uint32_t leaf = (uint32_t)v->gpr[GPR_RAX], subleaf = (uint32_t)v->gpr[GPR_RCX];
	struct cpuid_regs r;
	cpuid_count(leaf, subleaf, &r);
	struct cpuid_guest_view g = {
		.apic_id = v->id,
		.vcpus = v->vm->vcpu_count,
		/* Three VMREADs: only leaf 1 mirrors CR4.OSXSAVE. */
		.cr4_osxsave = leaf == 1 && (vcpu_guest_cr4() & CR4_OSXSAVE),
		.host_max_leaf = host_cpuid_max_leaf,
		.tsc_hz = tsc_hz,
		.apic_timer_hz = LAPIC_BUS_HZ,
		/* One VMREAD each, only for the leaves they decide. */
		.rdtscp = leaf == 0x80000001 &&
			  (vmcs_read(VMCS_SECONDARY_VM_EXEC_CONTROL) & SEC_ENABLE_RDTSCP),
		.invpcid = leaf == 7 && (vmcs_read(VMCS_SECONDARY_VM_EXEC_CONTROL) & SEC_ENABLE_INVPCID),
		.xcr0 = v->xcr0,
		.xsave = leaf == 0xd ? host_xsave_layout() : NULL,
		.xsave_count = XSAVE_COMPONENTS,
	};
	cpuid_policy_apply(leaf, subleaf, &r, &g);
	v->gpr[GPR_RAX] = r.eax;
	v->gpr[GPR_RBX] = r.ebx;
	v->gpr[GPR_RCX] = r.ecx;
	v->gpr[GPR_RDX] = r.edx;
	vcpu_skip_instruction(v, e);
}

static void handle_hlt(struct vcpu *v, const struct vmexit *e)
{
	vcpu_skip_instruction(v, e);
	/* HLT ends when an interrupt or NMI arrives. One already pending is
	 * injected at the next entry, which is what waking up means: make
	 * sure the next entry looks (without this, an interrupt the guest
	 * made deliverable without a kick, by an EOI, say, left it halting
	 * and waking in a loop for ever). */
	if (vcpu_has_wake_event(v)) {
		v->events_waiting = true;
		return;
	}
	bool if_set = vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_IF;
	/* Otherwise the vCPU sleeps in the HLT activity state (SDM 25.4.2)
	 * until a device timer (the VMX-preemption timer is set to the next
	 * deadline) or another source raises something (another vCPU's IPI).
	 * With interrupts off, or nothing armed that could ever fire, it
	 * would sleep forever. */
	if (if_set && (v->vm->next_deadline != VCLOCK_NEVER || platform_console_can_wake(v->vm) ||
		       v->vm->vcpu_count > 1)) {
		vmcs_write(VMCS_GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
		v->halted = true; /* the scheduler may give its CPU to another vCPU */
		return;
	}
	vm_stop(v->vm, false, "guest executed HLT with interrupts %s and no interrupt source "
		"can wake it (RIP 0x%llx)", if_set ? "enabled" : "disabled",
		(unsigned long long)e->rip);
}

static void handle_interrupt_window(struct vcpu *v, const struct vmexit *e)
{
	(void)e;
	events_interrupt_window(v); /* the next entry injects what waited */
}

static void handle_nmi_window(struct vcpu *v, const struct vmexit *e)
{
	(void)e;
	events_nmi_window(v);
}

static void handle_monitor_trap_flag(struct vcpu *v, const struct vmexit *e)
{
	/* One guest instruction retired under the monitor trap flag (SDM 26.5.2). */
	pr_debug("VM %s: single step at RIP 0x%llx", v->vm->name, (unsigned long long)e->rip);
	if (v->mtf_steps && --v->mtf_steps == 0)
		vcpu_set_cpu_control(v, CPU_MONITOR_TRAP_FLAG, false);
}

/* I/O-instruction exit qualification (SDM 28.2.1, Table 28-5). */
#define IO_QUAL_SIZE(q) (((q) & 7) + 1)
#define IO_QUAL_IN BIT(3)
#define IO_QUAL_STRING BIT(4)
#define IO_QUAL_REP BIT(5)
#define IO_QUAL_PORT(q) ((uint16_t)((q) >> 16))

static void handle_io(struct vcpu *v, const struct vmexit *e)
{
	uint64_t q = e->qualification;
	unsigned size = IO_QUAL_SIZE(q);
	uint16_t port = IO_QUAL_PORT(q);
	bool claimed;

	if (q & IO_QUAL_STRING) {
		vcpu_stop_with_dump(v, e, "string I/O (INS/OUTS) is not emulated yet");
		return;
	}
	if (q & IO_QUAL_IN) {
		uint64_t val = bus_read(&v->vm->pio, port, size, &claimed);
		uint64_t *rax = &v->gpr[GPR_RAX];
		if (size == 4)
			*rax = (uint32_t)val;
		else
			*rax = (*rax & ~size_mask(size)) | val;
	} else {
		bus_write(&v->vm->pio, port, size, v->gpr[GPR_RAX] & size_mask(size), &claimed);
	}
	if (!claimed && bus_first_unclaimed(&v->vm->pio, port))
		pr_info("VM %s: %s of unclaimed port 0x%x (%u bytes) %s; reported once per port",
			v->vm->name, (q & IO_QUAL_IN) ? "IN" : "OUT", port, size,
			(q & IO_QUAL_IN) ? "reads all-ones" : "is ignored");
	if (v->vm->state == VM_STATE_RUNNING)
		vcpu_skip_instruction(v, e);
}

static void handle_vmcall(struct vcpu *v, const struct vmexit *e)
{
	uint64_t *rax = &v->gpr[GPR_RAX];
	uint64_t arg = v->gpr[GPR_RBX];
	if (vcpu_cpl() != 0) {
		*rax = HC_EPERM;
		vcpu_skip_instruction(v, e);
		return;
	}
	switch (*rax) {
	case HC_GET_VERSION: {
		const char *sig = HV_CPUID_SIGNATURE;
		uint32_t w[3];
		memcpy(w, sig, 12);
		*rax = HV_VERSION;
		v->gpr[GPR_RBX] = w[0];
		v->gpr[GPR_RCX] = w[1];
		v->gpr[GPR_RDX] = w[2];
		break;
	}
	case HC_GET_EXIT_COUNT:
		*rax = v->exits;
		break;
	case HC_DUMP_STATS:
		vm_print_stats(v->vm);
		vm_print_disk(v->vm);
		vcpu_print_trace(v);
		*rax = 0;
		break;
	case HC_QUEUE_INTERRUPT:
		if (arg < 32 || arg > 255) {
			*rax = HC_EINVAL;
			break;
		}
		vcpu_queue_interrupt(v, (unsigned)arg);
		*rax = 0;
		break;
	case HC_QUEUE_NMI:
		vcpu_queue_nmi(v);
		*rax = 0;
		break;
	case HC_SINGLE_STEP:
		/* The monitor trap flag exits after each guest instruction
		 * (SDM 25.6.2); not every CPU has it. */
		if (!vmx_control_allowed(vmx_caps.procbased, CPU_MONITOR_TRAP_FLAG) || arg > 1000000) {
			*rax = HC_EINVAL;
			break;
		}
		v->mtf_steps = (unsigned)arg;
		vcpu_set_cpu_control(v, CPU_MONITOR_TRAP_FLAG, arg != 0);
		*rax = 0;
		break;
	default:
		*rax = HC_ENOSYS;
		break;
	}
	vcpu_skip_instruction(v, e);
}

static void handle_rdmsr(struct vcpu *v, const struct vmexit *e)
{
	uint32_t msr = (uint32_t)v->gpr[GPR_RCX];
	uint64_t value;
	if (!msr_read(v, msr, &value)) {
		pr_info("VM %s: RDMSR 0x%x (%s) at RIP 0x%llx: #GP, as the MSR policy says",
			v->vm->name, msr, msr_name(msr) ? msr_name(msr) : "unknown MSR",
			(unsigned long long)e->rip);
		vcpu_inject_exception(v, EXC_GP, true, 0);
		return;
	}
	v->gpr[GPR_RAX] = (uint32_t)value;
	v->gpr[GPR_RDX] = value >> 32;
	vcpu_skip_instruction(v, e);
}

static void handle_wrmsr(struct vcpu *v, const struct vmexit *e)
{
	uint32_t msr = (uint32_t)v->gpr[GPR_RCX];
	uint64_t value = ((uint64_t)(uint32_t)v->gpr[GPR_RDX] << 32) | (uint32_t)v->gpr[GPR_RAX];
	if (!msr_write(v, msr, value)) {
		pr_info("VM %s: WRMSR 0x%x (%s) value 0x%llx at RIP 0x%llx: #GP, as the MSR policy says",
			v->vm->name, msr, msr_name(msr) ? msr_name(msr) : "unknown MSR",
			(unsigned long long)value, (unsigned long long)e->rip);
		vcpu_inject_exception(v, EXC_GP, true, 0);
		return;
	}
	vcpu_skip_instruction(v, e);
}

/* --- Control registers (SDM 28.2.1, Table 28-3) --- */
#define CR_QUAL_NUMBER(q) ((unsigned)((q) & 15))
#define CR_QUAL_TYPE(q) ((unsigned)(((q) >> 4) & 3))
#define CR_QUAL_GPR(q) ((unsigned)(((q) >> 8) & 15))
#define CR_QUAL_LMSW_DATA(q) ((uint16_t)((q) >> 16))
#define CR_ACCESS_MOV_TO 0
#define CR_ACCESS_MOV_FROM 1
#define CR_ACCESS_CLTS 2
#define CR_ACCESS_LMSW 3

/* The guest writes CR0 = value. Checks are those MOV to CR0 makes on real
 * hardware (SDM Vol. 3A 2.5 and Vol. 2A MOV CR): failures raise #GP. */
static bool guest_write_cr0(struct vcpu *v, uint64_t value)
{
	(void)v;
	if (value >> 32)
		return false;
	if ((value & CR0_PG) && !(value & CR0_PE))
		return false;
	if ((value & CR0_NW) && !(value & CR0_CD))
		return false;
	uint64_t efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	if ((value & CR0_PG) && (efer & EFER_LME) && !(vmcs_read(VMCS_GUEST_CR4) & CR4_PAE))
		return false;
	value |= CR0_ET; /* hard-wired to 1 on modern CPUs */
	vmcs_write(VMCS_CR0_READ_SHADOW, value);
	uint64_t owned = vmx_cr0_owned_bits();
	vmcs_write(VMCS_GUEST_CR0, (value & ~owned) | (vmx_caps.cr0_fixed0 & owned));
	return true;
}

static bool guest_write_cr4(struct vcpu *v, uint64_t value)
{
	(void)v;
	/* The guest has no VMX or SMX: CR4.VMXE, CR4.SMXE and bits the CPU does
	 * not support raise #GP, as for a CPU without them (SDM Vol. 3A 2.5). */
	if ((value & (CR4_VMXE | CR4_SMXE)) || (value & ~vmx_caps.cr4_fixed1) || (value >> 32))
		return false;
	if (!(value & CR4_PAE) && vcpu_in_long_mode())
		return false;
	vmcs_write(VMCS_CR4_READ_SHADOW, value);
	uint64_t owned = vmx_cr4_owned_bits();
	vmcs_write(VMCS_GUEST_CR4, (value & ~owned) | (vmx_caps.cr4_fixed0 & owned));
	return true;
}

static void handle_cr_access(struct vcpu *v, const struct vmexit *e)
{
	uint64_t q = e->qualification;
	unsigned cr = CR_QUAL_NUMBER(q), type = CR_QUAL_TYPE(q);
	bool ok = true;

	switch (type) {
	case CR_ACCESS_MOV_TO: {
		uint64_t val = vcpu_gpr_read(v, CR_QUAL_GPR(q));
		if (!vcpu_in_long_mode())
			val = (uint32_t)val;
		if (cr == 0)
			ok = guest_write_cr0(v, val);
		else if (cr == 4)
			ok = guest_write_cr4(v, val);
		else if (cr == 3)
			vmcs_write(VMCS_GUEST_CR3, val); /* exits only if the CPU forces CR3 exiting */
		else if (cr == 8) {
			/* CR8 is TPR[7:4] of the local APIC (SDM Vol. 3A 11.8.6.1);
			 * bits 63:4 are reserved. */
			if (val >> 4)
				ok = false;
			else
				lapic_set_tpr(&v->lapic, (uint8_t)(val << 4));
		} else {
			vcpu_stop_with_dump(v, e, "MOV to a control register that is not emulated");
			return;
		}
		break;
	}
	case CR_ACCESS_MOV_FROM:
		if (cr == 3) {
			vcpu_gpr_write(v, CR_QUAL_GPR(q), vmcs_read(VMCS_GUEST_CR3));
		} else if (cr == 8) {
			vcpu_gpr_write(v, CR_QUAL_GPR(q), lapic_get_tpr(&v->lapic) >> 4);
		} else {
			vcpu_stop_with_dump(v, e, "MOV from a control register that is not emulated");
			return;
		}
		break;
	case CR_ACCESS_CLTS:
		ok = guest_write_cr0(v, vcpu_guest_cr0() & ~CR0_TS);
		break;
	case CR_ACCESS_LMSW: {
		/* LMSW writes CR0 bits 3:0 and cannot clear PE (SDM Vol. 2A LMSW). */
		uint64_t cr0 = vcpu_guest_cr0();
		uint64_t src = CR_QUAL_LMSW_DATA(q) & 0xf;
		ok = guest_write_cr0(v, (cr0 & ~0xeULL) | src | (cr0 & CR0_PE));
		break;
	}
	}
	if (!ok) {
		vcpu_inject_exception(v, EXC_GP, true, 0);
		return;
	}
	vcpu_skip_instruction(v, e);
}

/* XSETBV (SDM Vol. 2C XSETBV, Vol. 1 13.3): only XCR0, bit 0 set, AVX needs
 * SSE, AVX-512 state comes as a set with AVX, and only bits the CPU supports. */
static void handle_xsetbv(struct vcpu *v, const struct vmexit *e)
{
	uint32_t xcr = (uint32_t)v->gpr[GPR_RCX];
	uint64_t value = ((uint64_t)(uint32_t)v->gpr[GPR_RDX] << 32) | (uint32_t)v->gpr[GPR_RAX];
	struct cpuid_regs r;
	cpuid_count(0xd, 0, &r);
	uint64_t supported = ((uint64_t)r.edx << 32) | r.eax;
	uint64_t avx512 = BIT(5) | BIT(6) | BIT(7);

	if (xcr != 0 || vcpu_cpl() != 0 || !(value & BIT(0)) || (value & ~supported) ||
	    ((value & BIT(2)) && !(value & BIT(1))) ||
	    ((value & avx512) && ((value & avx512) != avx512 || !(value & BIT(2))))) {
		vcpu_inject_exception(v, EXC_GP, true, 0);
		return;
	}
	v->xcr0 = value; /* loaded into the CPU before the next entry */
	vcpu_skip_instruction(v, e);
}

static void handle_wbinvd(struct vcpu *v, const struct vmexit *e)
{
	/* Guest RAM is ordinary write-back memory and no device does DMA behind
	 * the caches, so there is nothing to write back: complete it. INVD is
	 * treated the same way; really dropping caches would lose host data. */
	vcpu_skip_instruction(v, e);
}

static void handle_external_interrupt(struct vcpu *v, const struct vmexit *e)
{
	/* With "acknowledge interrupt on exit" the vector is in the exit
	 * interruption information (SDM 28.2.2) and the host's local APIC has
	 * it in service: it wants an EOI. The wake IPI (vcpu_kick) did its
	 * job by making this exit; the run loop looks at what arrived. Other
	 * host interrupt sources are never unmasked, so one is worth a
	 * message. */
	if (!(e->intr_info & INTR_INFO_VALID))
		return;
	unsigned vector = e->intr_info & INTR_INFO_VECTOR_MASK;
	if (vector != HOST_WAKE_VECTOR)
		pr_warn("host interrupt vector %u arrived while VM %s ran; no host handler", vector,
			v->vm->name);
	if (vector >= 32)
		lapic_host_eoi();
}

static void handle_preemption_timer(struct vcpu *v, const struct vmexit *e)
{
	(void)e;
	/* A device deadline came, or the guest used its slice: the run loop
	 * lets the device timers catch up and re-arms the timer. */
	v->vm->timers_dirty = true;
}

/* A triple fault is a shutdown (SDM Vol. 3A 7.15, "Double Fault
 * Exception"); a PC's chipset answers shutdown with a reset, which is how
 * a guest OS reboots when nothing else works. So the VM is reset, its disk
 * kept, with the registers printed first so the cause can be found. A
 * guest that keeps triple-faulting would reset forever: the third time, it
 * is stopped instead. */
#define VM_TRIPLE_FAULT_RESETS 2

static void handle_triple_fault(struct vcpu *v, const struct vmexit *e)
{
	struct vm *vm = v->vm;
	if (vm->triple_faults++ >= VM_TRIPLE_FAULT_RESETS) {
		vcpu_stop_with_dump(v, e, "guest triple fault (an exception could not be delivered, not even "
				    "as a double fault), again after two resets");
		return;
	}
	pr_warn("VM %s: guest triple fault (an exception could not be delivered, not even as a double "
		"fault) at RIP 0x%llx: resetting the VM, as a PC does", vm->name,
		(unsigned long long)e->rip);
	vcpu_dump(v);
	vm->reset_requested = true;
}

static void handle_vmx_instruction(struct vcpu *v, const struct vmexit *e)
{
	(void)e;
	/* The guest sees no VMX (CPUID.1:ECX.VMX = 0), so VMX instructions are
	 * undefined opcodes for it. */
	vcpu_inject_exception(v, EXC_UD, false, 0);
}

static void handle_monitor_mwait(struct vcpu *v, const struct vmexit *e)
{
	(void)e;
	/* CPUID.1:ECX.MONITOR is hidden (vm/cpuid_policy.c): a guest halting
	 * with MWAIT would spin here instead of sleeping. Without the feature
	 * both instructions are undefined opcodes (SDM Vol. 2B MONITOR). */
	vcpu_inject_exception(v, EXC_UD, false, 0);
}

static void handle_rdpmc(struct vcpu *v, const struct vmexit *e)
{
	(void)e;
	/* No performance counters are offered (CPUID leaf 0Ah is zero), so
	 * every counter number is invalid: #GP (SDM Vol. 2B RDPMC). */
	vcpu_inject_exception(v, EXC_GP, true, 0);
}

static void handle_getsec(struct vcpu *v, const struct vmexit *e)
{
	(void)e;
	/* SMX is hidden and CR4.SMXE cannot be set: GETSEC is undefined. */
	vcpu_inject_exception(v, EXC_UD, false, 0);
}

static void handle_task_switch(struct vcpu *v, const struct vmexit *e)
{
	/* Task switches through a TSS or task gate always exit (SDM 26.4.2).
	 * Emulating the 32-bit hardware task switch is not done: refuse it
	 * clearly rather than half-emulate it. */
	static const char *const source[] = { "CALL", "IRET", "JMP", "a task gate in the IDT" };
	char why[112];
	hv_snprintf(why, sizeof(why), "hardware task switch to TSS selector 0x%llx by %s is not emulated",
		    (unsigned long long)(e->qualification & 0xffff), source[(e->qualification >> 30) & 3]);
	vcpu_stop_with_dump(v, e, why);
}

static void handle_init_signal(struct vcpu *v, const struct vmexit *e)
{
	/* An INIT reached this physical CPU (SDM 26.2). Nothing in the
	 * hypervisor sends one yet and a vCPU reset is not implemented. */
	vcpu_stop_with_dump(v, e, "INIT signal received: vCPU reset is not implemented yet");
}

static void handle_sipi(struct vcpu *v, const struct vmexit *e)
{
	/* Only a vCPU in wait-for-SIPI state sees this; none is put there yet. */
	vcpu_stop_with_dump(v, e, "start-up IPI received by a vCPU that does not wait for one");
}

static void handle_exception(struct vcpu *v, const struct vmexit *e)
{
	unsigned vector = e->intr_info & INTR_INFO_VECTOR_MASK;
	unsigned type = (e->intr_info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	if (type == INTR_TYPE_NMI) {
		pr_warn("host NMI arrived while VM %s ran", v->vm->name);
		return;
	}
	/* Only #AC is intercepted: hand it back to the guest as it was. */
	vcpu_inject_exception(v, vector, e->intr_info & INTR_INFO_DELIVER_ERROR_CODE,
			      e->intr_error_code);
}

static void handle_ept_violation(struct vcpu *v, const struct vmexit *e)
{
	struct vm *vm = v->vm;
	uint64_t gpa = e->guest_physical;

	if (gpa_is_ram(&vm->mem, gpa)) {
		vcpu_stop_with_dump(v, e, "EPT violation inside guest RAM (the EPT is wrong)");
		return;
	}
	if (e->idt_vectoring_info & INTR_INFO_VALID) {
		/* The access was part of delivering an event (IDT, stack or TSS
		 * outside RAM), not of the instruction at RIP: nothing to emulate. */
		char what[96];
		ept_describe_violation(e->qualification, what, sizeof(what));
		vm_stop(vm, true, "delivering vector %u touched guest-physical 0x%llx, outside its RAM (%s)",
			e->idt_vectoring_info & INTR_INFO_VECTOR_MASK, (unsigned long long)gpa, what);
		vcpu_dump(v);
		return;
	}
	if (e->qualification & EPT_VIOL_FETCH) {
		char what[96];
		ept_describe_violation(e->qualification, what, sizeof(what));
		vm_stop(vm, true, "guest jumped to guest-physical 0x%llx, outside its RAM (%s)",
			(unsigned long long)gpa, what);
		vcpu_dump(v);
		return;
	}
	mmio_emulate(v, e);
}

/* --- APIC virtualization (vmx/apicv.c, SDM Vol. 3C chapter 30) --- */

/* APIC-access exit qualification (SDM 28.2.1, Table 28-6): the page offset
 * in bits 11:0, the access type in bits 15:12. */
#define APIC_ACCESS_OFFSET(q) ((q) & 0xfffu)
#define APIC_ACCESS_TYPE(q) (((q) >> 12) & 0xfu)
#define APIC_ACCESS_LINEAR_READ 0
#define APIC_ACCESS_LINEAR_WRITE 1

/* An access to the xAPIC page the CPU does not virtualize (a register not
 * in SDM 30.4.2's list, such as the current count, or an access of another
 * size): fault-like, nothing done yet. The MMIO path emulates it on the
 * same bus device as without APIC virtualization. */
static void handle_apic_access(struct vcpu *v, const struct vmexit *e)
{
	unsigned type = APIC_ACCESS_TYPE(e->qualification);
	if (type != APIC_ACCESS_LINEAR_READ && type != APIC_ACCESS_LINEAR_WRITE) {
		vcpu_stop_with_dump(v, e, "APIC-access exit for an instruction fetch or event delivery "
			"from the local APIC page");
		return;
	}
	struct vmexit m = *e;
	m.guest_physical = LAPIC_DEFAULT_BASE + APIC_ACCESS_OFFSET(e->qualification);
	mmio_emulate(v, &m);
	v->events_waiting = true; /* IRR, ISR or TPR may have changed: RVI/SVI follow */
}

/* A write the CPU has put in the virtual-APIC page and whose side effects
 * are the model's (SDM 30.4.3.3): trap-like, RIP is past the instruction. */
static void handle_apic_write(struct vcpu *v, const struct vmexit *e)
{
	unsigned offset = (unsigned)(e->qualification & 0xff0);
	if (!lapic_apic_write(&v->lapic, offset))
		pr_warn("VM %s: APIC write at offset 0x%x refused by the local APIC (already retired)",
			v->vm->name, offset);
	v->vm->timers_dirty = true; /* LVT timer, initial count, divide configuration, SVR */
	v->events_waiting = true;
}

/* The EOI of a vector whose EOI-exit bitmap bit is set (SDM 30.1.4): the
 * CPU has retired it from VISR; the IOAPIC or LINT0 waits for it. */
static void handle_virtualized_eoi(struct vcpu *v, const struct vmexit *e)
{
	lapic_eoi_virtualized(&v->lapic, (uint8_t)(e->qualification & 0xff));
	v->events_waiting = true;
}

static void handle_ept_misconfig(struct vcpu *v, const struct vmexit *e)
{
	vcpu_stop_with_dump(v, e, "EPT misconfiguration (a hypervisor bug in the EPT entries)");
}

/* Exits whose VM-execution control this hypervisor leaves off, so the
 * instruction runs natively in the guest: INVLPG and INVPCID (EPT and VPID
 * make guest TLB management safe), RDTSC/RDTSCP (TSC offsetting), PAUSE,
 * MOV DR (debug registers are the guest's while it runs), RDRAND/RDSEED,
 * descriptor-table accesses, and the APIC-virtualization exits (no virtual
 * APIC yet). One of these arriving means the VMCS is not what vmx/vmcs_setup.c
 * built, or the CPU misbehaves: stop the VM and say which. */
static void handle_not_enabled(struct vcpu *v, const struct vmexit *e)
{
	vcpu_stop_with_dump(v, e, "VM exit for an instruction whose exiting control is off "
			    "(a hypervisor or CPU bug)");
}

#define H(fn, needs) { fn, needs }
const struct exit_handler exit_handlers[EXIT_REASON_TABLE_SIZE] = {
	[EXIT_REASON_EXCEPTION_NMI] = H(handle_exception, NEED_INTR_INFO),
	[EXIT_REASON_EXTERNAL_INTERRUPT] = H(handle_external_interrupt, NEED_INTR_INFO),
	[EXIT_REASON_TRIPLE_FAULT] = H(handle_triple_fault, 0),
	[EXIT_REASON_INIT_SIGNAL] = H(handle_init_signal, 0),
	[EXIT_REASON_SIPI] = H(handle_sipi, 0),
	[EXIT_REASON_INTERRUPT_WINDOW] = H(handle_interrupt_window, 0),
	[EXIT_REASON_NMI_WINDOW] = H(handle_nmi_window, 0),
	[EXIT_REASON_TASK_SWITCH] = H(handle_task_switch, NEED_QUALIFICATION),
	[EXIT_REASON_CPUID] = H(handle_cpuid, NEED_INSTRUCTION_LEN),
	[EXIT_REASON_GETSEC] = H(handle_getsec, 0),
	[EXIT_REASON_RDPMC] = H(handle_rdpmc, 0),
	[EXIT_REASON_MONITOR_TRAP_FLAG] = H(handle_monitor_trap_flag, 0),
	[EXIT_REASON_HLT] = H(handle_hlt, NEED_INSTRUCTION_LEN),
	[EXIT_REASON_INVD] = H(handle_wbinvd, NEED_INSTRUCTION_LEN),
	[EXIT_REASON_VMCALL] = H(handle_vmcall, NEED_INSTRUCTION_LEN),
	[EXIT_REASON_VMCLEAR] = H(handle_vmx_instruction, 0),
	[EXIT_REASON_VMLAUNCH] = H(handle_vmx_instruction, 0),
	[EXIT_REASON_VMPTRLD] = H(handle_vmx_instruction, 0),
	[EXIT_REASON_VMPTRST] = H(handle_vmx_instruction, 0),
	[EXIT_REASON_VMREAD] = H(handle_vmx_instruction, 0),
	[EXIT_REASON_VMRESUME] = H(handle_vmx_instruction, 0),
	[EXIT_REASON_VMWRITE] = H(handle_vmx_instruction, 0),
	[EXIT_REASON_VMXOFF] = H(handle_vmx_instruction, 0),
	[EXIT_REASON_VMXON] = H(handle_vmx_instruction, 0),
	[EXIT_REASON_INVEPT] = H(handle_vmx_instruction, 0),
	[EXIT_REASON_INVVPID] = H(handle_vmx_instruction, 0),
	[EXIT_REASON_VMFUNC] = H(handle_vmx_instruction, 0),
	[EXIT_REASON_CR_ACCESS] = H(handle_cr_access, NEED_QUALIFICATION | NEED_INSTRUCTION_LEN),
	[EXIT_REASON_IO_INSTRUCTION] = H(handle_io, NEED_QUALIFICATION | NEED_INSTRUCTION_LEN),
	[EXIT_REASON_RDMSR] = H(handle_rdmsr, NEED_INSTRUCTION_LEN),
	[EXIT_REASON_WRMSR] = H(handle_wrmsr, NEED_INSTRUCTION_LEN),
	[EXIT_REASON_MWAIT] = H(handle_monitor_mwait, NEED_INSTRUCTION_LEN),
	[EXIT_REASON_MONITOR] = H(handle_monitor_mwait, NEED_INSTRUCTION_LEN),
	[EXIT_REASON_EPT_VIOLATION] = H(handle_ept_violation, NEED_QUALIFICATION | NEED_GUEST_PHYSICAL),
	[EXIT_REASON_EPT_MISCONFIG] = H(handle_ept_misconfig, NEED_GUEST_PHYSICAL),
	[EXIT_REASON_PREEMPTION_TIMER] = H(handle_preemption_timer, 0),
	[EXIT_REASON_WBINVD] = H(handle_wbinvd, NEED_INSTRUCTION_LEN),
	[EXIT_REASON_XSETBV] = H(handle_xsetbv, NEED_INSTRUCTION_LEN),

	[EXIT_REASON_INVLPG] = H(handle_not_enabled, 0),
	[EXIT_REASON_RDTSC] = H(handle_not_enabled, 0),
	[EXIT_REASON_DR_ACCESS] = H(handle_not_enabled, 0),
	[EXIT_REASON_PAUSE] = H(handle_not_enabled, 0),
	[EXIT_REASON_TPR_BELOW_THRESHOLD] = H(handle_not_enabled, 0),
	[EXIT_REASON_APIC_ACCESS] = H(handle_apic_access, NEED_QUALIFICATION),
	[EXIT_REASON_VIRTUALIZED_EOI] = H(handle_virtualized_eoi, NEED_QUALIFICATION),
	[EXIT_REASON_GDTR_IDTR_ACCESS] = H(handle_not_enabled, 0),
	[EXIT_REASON_LDTR_TR_ACCESS] = H(handle_not_enabled, 0),
	[EXIT_REASON_RDTSCP] = H(handle_not_enabled, 0),
	[EXIT_REASON_APIC_WRITE] = H(handle_apic_write, NEED_QUALIFICATION),
	[EXIT_REASON_RDRAND] = H(handle_not_enabled, 0),
	[EXIT_REASON_INVPCID] = H(handle_not_enabled, 0),
	[EXIT_REASON_RDSEED] = H(handle_not_enabled, 0),
	[EXIT_REASON_PML_FULL] = H(handle_not_enabled, 0),
	[EXIT_REASON_XSAVES] = H(handle_not_enabled, 0),
	[EXIT_REASON_XRSTORS] = H(handle_not_enabled, 0),
	/* Not listed (so reported as unhandled, by name): SMIs and RSM (no SMM
	 * here), ENCLS/ENCLV/PCONFIG/SEAMCALL/TDCALL (SGX, TDX), SPP, UMWAIT/
	 * TPAUSE, LOADIWKEY, ENQCMD, bus lock, instruction timeout and the MSR
	 * list instructions, none of which we enable or offer. */
};
