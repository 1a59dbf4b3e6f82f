/* The spine of the hypervisor: run a vCPU, take each VM exit, count it and
 * hand it to exit_handlers[reason] (SDM Vol. 3C 28, Appendix C). */
#include "vmx/exit.h"
#include "vmx/vmx.h"
#include "vmx/vmcs.h"
#include "vmx/vmcs_diag.h"
#include "vmx/msr.h"
#include "arch/x86/cpu.h"
#include "lib/log.h"
#include "lib/string.h"

void vcpu_skip_instruction(struct vcpu *v, const struct vmexit *e)
{
	(void)v;
	vmcs_write(VMCS_GUEST_RIP, e->rip + e->instruction_len);
	/* The emulated instruction retired: blocking by STI or MOV SS ends
	 * with it (SDM 25.4.2). */
	uint64_t intr = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY_INFO);
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmcs_write(VMCS_GUEST_INTERRUPTIBILITY_INFO,
			   intr & ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

/* Vectors that push an error code (SDM Vol. 3A 6.15). */
static bool exception_has_error_code(unsigned vector)
{
	return vector == EXC_DF || vector == EXC_TS || vector == EXC_NP || vector == EXC_SS ||
	       vector == EXC_GP || vector == EXC_PF || vector == EXC_AC || vector == EXC_CP;
}

void vcpu_inject_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error_code)
{
	/* Injecting over a pending exception would need the double-fault rules
	 * of SDM Vol. 3A Table 6-5; the handlers never queue two. */
	v->event.valid = true;
	v->event.intr_info = INTR_INFO_VALID | (INTR_TYPE_HARDWARE_EXCEPTION << INTR_INFO_TYPE_SHIFT) |
			     (vector & INTR_INFO_VECTOR_MASK);
	/* In real mode (CR0.PE = 0) no error code is delivered (SDM 27.2.1.3). */
	bool pe = vmcs_read(VMCS_GUEST_CR0) & CR0_PE;
	if (has_error && exception_has_error_code(vector) && pe) {
		v->event.intr_info |= INTR_INFO_DELIVER_ERROR_CODE;
		v->event.error_code = error_code;
	}
}

uint64_t vcpu_gpr_read(struct vcpu *v, unsigned reg)
{
	return reg == GPR_RSP ? vmcs_read(VMCS_GUEST_RSP) : v->gpr[reg & 15];
}

void vcpu_gpr_write(struct vcpu *v, unsigned reg, uint64_t value)
{
	if (reg == GPR_RSP)
		vmcs_write(VMCS_GUEST_RSP, value);
	else
		v->gpr[reg & 15] = value;
}

/* What the guest reads from CR0/CR4: its own bits from the register, the
 * bits we own from the read shadow (SDM 25.6.6). */
uint64_t vcpu_guest_cr0(void)
{
	uint64_t mask = vmcs_read(VMCS_CR0_GUEST_HOST_MASK);
	return (vmcs_read(VMCS_GUEST_CR0) & ~mask) | (vmcs_read(VMCS_CR0_READ_SHADOW) & mask);
}

uint64_t vcpu_guest_cr4(void)
{
	uint64_t mask = vmcs_read(VMCS_CR4_GUEST_HOST_MASK);
	return (vmcs_read(VMCS_GUEST_CR4) & ~mask) | (vmcs_read(VMCS_CR4_READ_SHADOW) & mask);
}

unsigned vcpu_cpl(void)
{
	/* CPL is SS.DPL (SDM 25.4.1). */
	return (unsigned)((vmcs_read(VMCS_GUEST_SS_AR_BYTES) >> 5) & 3);
}

bool vcpu_in_long_mode(void)
{
	return vmcs_read(VMCS_GUEST_IA32_EFER) & EFER_LMA;
}

void vcpu_dump(struct vcpu *v)
{
	static const char *const names[GPR_COUNT] = { "RAX", "RCX", "RDX", "RBX", "RSP", "RBP",
						     "RSI", "RDI", "R8",  "R9",  "R10", "R11",
						     "R12", "R13", "R14", "R15" };
	kprintf("  RIP %016llx  RFLAGS %016llx  CS %04llx  CPL %u\n",
		(unsigned long long)vmcs_read(VMCS_GUEST_RIP),
		(unsigned long long)vmcs_read(VMCS_GUEST_RFLAGS),
		(unsigned long long)vmcs_read(VMCS_GUEST_CS_SELECTOR), vcpu_cpl());
	for (unsigned i = 0; i < GPR_COUNT; i++)
		kprintf("  %-3s %016llx%s", names[i], (unsigned long long)vcpu_gpr_read(v, i),
			(i % 4 == 3) ? "\n" : "");
	kprintf("  CR0 %016llx  CR3 %016llx  CR4 %016llx  CR2 %016llx\n",
		(unsigned long long)vcpu_guest_cr0(), (unsigned long long)vmcs_read(VMCS_GUEST_CR3),
		(unsigned long long)vcpu_guest_cr4(), (unsigned long long)v->cr2);
	kprintf("  EFER %016llx  exits so far %llu\n",
		(unsigned long long)vmcs_read(VMCS_GUEST_IA32_EFER), (unsigned long long)v->exits);
}

void vcpu_stop_with_dump(struct vcpu *v, const struct vmexit *e, const char *why)
{
	const char *name = exit_reason_name(e->reason);
	vm_stop(v->vm, true, "%s: exit reason %u (%s), qualification 0x%llx, guest RIP 0x%llx", why,
		e->reason, name ? name : "undefined by the SDM", (unsigned long long)e->qualification,
		(unsigned long long)e->rip);
	vcpu_dump(v);
}

static void read_exit_info(struct vmexit *e, uint32_t needs)
{
	e->qualification = e->guest_physical = e->guest_linear = 0;
	e->instruction_len = e->intr_info = e->intr_error_code = 0;
	if (needs & NEED_QUALIFICATION)
		e->qualification = vmcs_read(VMCS_EXIT_QUALIFICATION);
	if (needs & NEED_INSTRUCTION_LEN)
		e->instruction_len = (uint32_t)vmcs_read(VMCS_VM_EXIT_INSTRUCTION_LEN);
	if (needs & NEED_GUEST_PHYSICAL)
		e->guest_physical = vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS);
	if (needs & NEED_GUEST_LINEAR)
		e->guest_linear = vmcs_read(VMCS_GUEST_LINEAR_ADDRESS);
	if (needs & NEED_INTR_INFO) {
		e->intr_info = (uint32_t)vmcs_read(VMCS_VM_EXIT_INTR_INFO);
		e->intr_error_code = (uint32_t)vmcs_read(VMCS_VM_EXIT_INTR_ERROR_CODE);
	}
}

static void handle_unknown_exit(struct vcpu *v, const struct vmexit *e)
{
	const char *desc = exit_reason_description(e->reason);
	char why[96];
	hv_snprintf(why, sizeof(why), "unhandled VM exit '%s'", desc ? desc : "unknown");
	struct vmexit full = *e;
	full.qualification = vmcs_read(VMCS_EXIT_QUALIFICATION);
	vcpu_stop_with_dump(v, &full, why);
}

/* An exit that interrupted the delivery of an event (IDT-vectoring information
 * valid, SDM 28.2.4) must deliver that event again on the next entry. */
static void requeue_vectoring_event(struct vcpu *v)
{
	uint32_t idt = (uint32_t)vmcs_read(VMCS_IDT_VECTORING_INFO);
	if (!(idt & INTR_INFO_VALID))
		return;
	v->event.valid = true;
	v->event.intr_info = idt & ~(uint32_t)INTR_INFO_NMI_UNBLOCKING;
	v->event.error_code = (uint32_t)vmcs_read(VMCS_IDT_VECTORING_ERROR_CODE);
	v->event.instr_len = (uint32_t)vmcs_read(VMCS_VM_EXIT_INSTRUCTION_LEN);
}

static void inject_pending_event(struct vcpu *v)
{
	if (!v->event.valid)
		return;
	vmcs_write(VMCS_VM_ENTRY_INTR_INFO, v->event.intr_info);
	if (v->event.intr_info & INTR_INFO_DELIVER_ERROR_CODE)
		vmcs_write(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, v->event.error_code);
	uint32_t type = (v->event.intr_info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	if (type == INTR_TYPE_SOFTWARE_INTERRUPT || type == INTR_TYPE_PRIV_SOFTWARE_EXCEPTION ||
	    type == INTR_TYPE_SOFTWARE_EXCEPTION)
		vmcs_write(VMCS_VM_ENTRY_INSTRUCTION_LEN, v->event.instr_len);
	v->event.valid = false;
}

static void report_entry_failure(struct vcpu *v, int rc)
{
	if (rc == 2) {
		vm_stop(v->vm, true, "VM entry failed with VMfailInvalid: no valid current VMCS");
		return;
	}
	uint32_t err = (uint32_t)vmcs_read(VMCS_VM_INSTRUCTION_ERROR);
	vm_stop(v->vm, true, "VM entry failed: VM-instruction error %u (%s)", err,
		vm_instruction_error_name(err));
	vmcs_dump();
}

void vmx_vcpu_run(struct vcpu *v)
{
	struct vm *vm = v->vm;

	msr_load_guest_state(v);
	vm->state = VM_STATE_RUNNING;
	while (vm->state == VM_STATE_RUNNING) {
		inject_pending_event(v);
		msr_before_entry(v);
		int rc = vmx_enter(v);
		uint64_t t0 = rdtsc();
		if (rc != 0) {
			report_entry_failure(v, rc);
			break;
		}
		v->exits++;

		/* Only the fields the handler declares are read (read_exit_info);
		 * the rest stay unset rather than costing a clear on every exit. */
		struct vmexit e;
		e.full_reason = (uint32_t)vmcs_read(VMCS_VM_EXIT_REASON);
		e.reason = e.full_reason & EXIT_REASON_BASIC_MASK;
		e.rip = vmcs_read(VMCS_GUEST_RIP);

		if (e.full_reason & EXIT_REASON_ENTRY_FAILURE) {
			/* VM entry failed after the checks on controls and host state:
			 * guest state or MSR loading (SDM 27.8). */
			const char *d = exit_reason_description(e.reason);
			vm_stop(vm, true, "VM entry failed: %s (exit reason %u), qualification 0x%llx",
				d ? d : "unknown", e.reason,
				(unsigned long long)vmcs_read(VMCS_EXIT_QUALIFICATION));
			vmcs_dump();
			break;
		}
		requeue_vectoring_event(v);

		const struct exit_handler *h =
			e.reason < EXIT_REASON_TABLE_SIZE ? &exit_handlers[e.reason] : NULL;
		if (h && h->fn) {
			read_exit_info(&e, h->needs);
			h->fn(v, &e);
		} else {
			handle_unknown_exit(v, &e);
		}
		if (e.reason < EXIT_REASON_TABLE_SIZE) {
			vm->exit_count[e.reason]++;
			vm->exit_cycles[e.reason] += rdtsc() - t0;
		}
	}
	msr_save_guest_state(v);
}
