/* The spine of the hypervisor: run a vCPU, take each VM exit, count it and
 * hand it to exit_handlers[reason] (SDM Vol. 3C 28, Appendix C). */
#include "vmx/exit.h"
#include "arch/x86/tsc.h"
#include "vmx/vmx.h"
#include "vmx/vmcs.h"
#include "vmx/vmcs_diag.h"
#include "vmx/msr.h"
#include "vmx/events.h"
#include "vmx/entry_check.h"
#include "vm/platform.h"
#include "vm/vm_create.h"
#include "vm/sched.h"
#include "vmx/selftest.h"
#include "arch/x86/percpu.h"
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

void vcpu_print_trace(const struct vcpu *v)
{
	unsigned n = MIN(v->trace_next, VCPU_TRACE_LEN);
	kprintf("[hv info] VM %s vCPU %u: last %u exits, oldest first (reason, guest RIP, "
		"qualification, TSC cycles in the hypervisor):\n", v->vm->name, v->id, n);
	for (unsigned i = v->trace_next - n; i != v->trace_next; i++) {
		const struct exit_trace_entry *t = &v->trace[i % VCPU_TRACE_LEN];
		const char *name = exit_reason_name(t->reason);
		kprintf("  %-22s rip %016llx  qual %016llx  %8llu\n", name ? name : "?",
			(unsigned long long)t->rip, (unsigned long long)t->qualification,
			(unsigned long long)t->cycles);
	}
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
	e->guest_physical = e->guest_linear = 0;
	e->instruction_len = e->intr_info = e->intr_error_code = 0;
	/* Always read: the exit trace records it for every exit. */
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
	vcpu_stop_with_dump(v, e, why);
}

static uint64_t read_current_vmcs(void *ctx, uint32_t field)
{
	(void)ctx;
	return vmcs_read(field);
}

/* Our own software check of SDM 27.2 and 27.3 finds the rule the VMCS
 * breaks and says it in words (vmx/entry_check.c, docs/entry-failures.md).
 * After exit reason 33 only guest state can be at fault; after a
 * VMfailValid, controls or host state are. */
static void explain_entry_failure(struct vcpu *v, bool guest_state)
{
	struct cpuid_regs r;
	cpuid_count(0x80000000, 0, &r);
	unsigned maxphy = 36, maxlin = 48;
	if (r.eax >= 0x80000008) {
		cpuid_count(0x80000008, 0, &r);
		maxphy = r.eax & 0xff;
		maxlin = (r.eax >> 8) & 0xff;
	}
	struct entry_check_input in = {
		.read = read_current_vmcs,
		.caps = &vmx_caps,
		.phys_addr_width = maxphy,
		.linear_addr_width = maxlin,
	};
	struct entry_check_result res;
	char line[400];
	bool found = guest_state ? entry_check_guest(&in, &res) : entry_check_all(&in, &res);
	if (found) {
		entry_check_format(&res, line, sizeof(line));
		pr_err("VM %s: VM entry check: %s", v->vm->name, line);
	} else {
		pr_err("VM %s: VM entry check: no rule this checker knows is broken; the VMCS follows",
		       v->vm->name);
	}
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
	if (err == 7 || err == 8)
		explain_entry_failure(v, false);
	vmcs_dump();
}

/* The VMX-preemption timer brings the CPU back at the VM's next device
 * deadline, or when the scheduler needs it (the end of a slice when the
 * CPU is shared, another vCPU's deadline), or after VMX_PREEMPTION_SLICE
 * at the latest. It counts down once every 2^shift TSC ticks (SDM 26.5.1)
 * and its value is saved at each exit, so it is rewritten only when the
 * deadlines were recomputed or the CPU is shared. */
static void arm_preemption_timer(struct vcpu *v, uint64_t now, bool timers_ran)
{
	struct vm *vm = v->vm;
	if (!(v->pin_controls & PIN_PREEMPTION_TIMER))
		return;
	uint64_t by = sched_return_by(v);
	if (!timers_ran && by == UINT64_MAX)
		return;
	if (vm->next_deadline != VCLOCK_NEVER)
		by = MIN(by, vm->next_deadline - vm->tsc_offset);
	uint64_t value = VMX_PREEMPTION_SLICE;
	if (by != UINT64_MAX) {
		uint64_t ticks = by > now ? by - now : 0;
		value = MIN(ticks >> vmx_caps.preemption_timer_shift, (uint64_t)VMX_PREEMPTION_SLICE);
	}
	vmcs_write(VMCS_VMX_PREEMPTION_TIMER_VALUE, value);
}

/* A guest that prints nothing for a long while may be stuck waiting for
 * something we never deliver. Say where it is and what it may be waiting
 * for, on the console, without stopping it: after STALL_SECONDS of guest
 * time without output, then again each time as long again has passed. */
#define STALL_SECONDS 30

static void check_stall(struct vcpu *v)
{
	struct vm *vm = v->vm;
	uint64_t now = platform_guest_tsc(vm);
	if (now < vm->console_last_tsc) /* the guest moved its TSC back */
		vm->console_last_tsc = vm->stall_reported_tsc = now;
	uint64_t quiet = now - vm->console_last_tsc, last = vm->stall_reported_tsc;
	if (!tsc_hz || quiet < STALL_SECONDS * tsc_hz)
		return;
	/* Reported already in this silence: again once it has doubled. */
	if (last > vm->console_last_tsc && quiet < 2 * (last - vm->console_last_tsc))
		return;
	vm->stall_reported_tsc = now;
	uint32_t act = (uint32_t)vmcs_read(VMCS_GUEST_ACTIVITY_STATE);
	pr_warn("VM %s: no console output for %llu s of guest time; the guest is %s at RIP 0x%llx, "
		"RFLAGS 0x%llx, %llu exits so far", vm->name, (unsigned long long)(quiet / tsc_hz),
		act == 1 ? "halted" : "running", (unsigned long long)vmcs_read(VMCS_GUEST_RIP),
		(unsigned long long)vmcs_read(VMCS_GUEST_RFLAGS), (unsigned long long)v->exits);
	platform_describe(vm);
	vcpu_print_trace(v);
}

/* The VM was reset (vm_reset, by this vCPU or another): set this vCPU's
 * VMCS up again, here on its own CPU. The bootstrap processor starts where
 * the loader says; the others wait for a start-up IPI, as after power-on
 * (SDM Vol. 3A 9.1, 9.4). */
static bool vcpu_restart(struct vcpu *v)
{
	struct vm *vm = v->vm;
	v->reset_generation = vm->reset_generation;
	v->halted = false;
	if (v->id != 0) {
		v->wait_for_sipi = true;
		return true;
	}
	v->wait_for_sipi = false;
	if (!vmx_vcpu_setup(v, &vm->entry)) {
		vm_stop(vm, true, "vCPU %u: its VMCS could not be set up", v->id);
		return false;
	}
	v->started = true;
	if (vm->selftest[0]) {
		if (!vmx_selftest_break(vm->selftest)) {
			vm_stop(vm, true, "unknown selftest '%s' (known: %s)", vm->selftest,
				vmx_selftest_names());
			return false;
		}
		pr_warn("VM %s: selftest %s: its VMCS is broken on purpose", vm->name, vm->selftest);
	}
	return true;
}

/* Only an AP waiting for a SIPI takes one (SDM Vol. 3A 9.4.4.1): it starts
 * in real mode at VV000H. The BSP's events are looked at in vmx/events.c. */
static void vcpu_take_sipi(struct vcpu *v)
{
	uint8_t vector;
	/* An INIT while waiting is a no-op: it waits still (9.4.4.1). */
	lapic_take_init(&v->lapic);
	if (!lapic_take_sipi(&v->lapic, &vector))
		return;
	struct guest_entry e = { .mode = GUEST_MODE_REAL16, .cs = (uint16_t)(vector << 8) };
	pr_debug("VM %s: vCPU %u started by a SIPI at 0x%x", v->vm->name, v->id, vector << 12);
	if (!vmx_vcpu_setup(v, &e)) {
		vm_stop(v->vm, true, "vCPU %u: its VMCS could not be set up for its SIPI", v->id);
		return;
	}
	v->wait_for_sipi = false;
	v->started = true;
	v->vm->timers_dirty = true;
}

void vm_ept_changed(struct vm *vm)
{
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		__atomic_store_n(&vm->vcpus[i].ept_flush, 1, __ATOMIC_SEQ_CST);
		vcpu_kick(&vm->vcpus[i]);
	}
}

/* Enter the guest, or back out: the window between the last look at
 * events and VMRESUME is closed by publishing "in the guest" first and
 * then looking at the kick flags (vcpu_kick does the reverse), so a kick
 * either is seen here or sends an IPI that makes the entry exit at once. */
static int enter_guest(struct vcpu *v, uint32_t cpu_kicks)
{
	struct cpu *c = this_cpu();
	__atomic_store_n(&v->mode, VCPU_IN_GUEST, __ATOMIC_SEQ_CST);
	__atomic_store_n(&c->in_guest, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&v->kicked, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&c->kicks, __ATOMIC_SEQ_CST) != cpu_kicks) {
		__atomic_store_n(&c->in_guest, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&v->mode, VCPU_OUTSIDE_GUEST, __ATOMIC_SEQ_CST);
		return -1;
	}
	ticket_unlock(&v->vm->lock);
	int rc = vmx_enter(v);
	__atomic_store_n(&c->in_guest, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&v->mode, VCPU_OUTSIDE_GUEST, __ATOMIC_SEQ_CST);
	ticket_lock(&v->vm->lock);
	return rc;
}

void vmx_vcpu_run(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct cpu *c = this_cpu();

	ticket_lock(&vm->lock);
	uint64_t last_tsc = rdtsc();
	while (vm->state == VM_STATE_RUNNING) {
		uint32_t cpu_kicks = __atomic_load_n(&c->kicks, __ATOMIC_SEQ_CST);
		__atomic_store_n(&v->kicked, 0, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&v->dump_requested, __ATOMIC_ACQUIRE)) { /* the shell asks (vm/sched.c) */
			vcpu_dump(v);
			__atomic_store_n(&v->dump_requested, 0, __ATOMIC_RELEASE);
		}
		if (v->reset_generation != vm->reset_generation && !vcpu_restart(v))
			break;
		if (v->wait_for_sipi) {
			vcpu_take_sipi(v);
			if (v->wait_for_sipi || vm->state != VM_STATE_RUNNING)
				break; /* nothing to run until a SIPI comes */
		}
		/* The boot CPU serves the console and the shell between exits,
		 * with no VM lock held. */
		if (sched_poll_due(v)) {
			ticket_unlock(&vm->lock);
			bool leave = sched_poll();
			ticket_lock(&vm->lock);
			if (leave)
				break;
			continue;
		}
		/* Device timers: catch up when one is due or a device was touched
		 * (one compare per entry otherwise). */
		bool timers = vm->timers_dirty || last_tsc + vm->tsc_offset >= vm->next_deadline;
		if (timers) {
			platform_update(vm);
			check_stall(v);
		}
		if (vm->reset_requested) {
			vm->reset_requested = false;
			if (!vm_reset(vm))
				break;
			continue;
		}
		if (events_pending(v))
			events_before_entry_slow(v);
		if (vm->state != VM_STATE_RUNNING || v->wait_for_sipi)
			continue; /* an INIT or a stop while looking at events */
		/* An injected event, or virtual-interrupt delivery, wakes a
		 * halted guest (SDM 25.4.2, Vol. 3C 30.2.2). */
		if (v->halted)
			v->halted = vmcs_read(VMCS_GUEST_ACTIVITY_STATE) == GUEST_ACTIVITY_HLT;
		if (sched_should_yield(v))
			break;
		if (__atomic_exchange_n(&v->ept_flush, 0, __ATOMIC_SEQ_CST))
			vmx_invalidate_vm_tlbs(ept_pointer(&vm->ept), v->vpid);
		msr_before_entry(v);
		arm_preemption_timer(v, last_tsc, timers);
		int rc = enter_guest(v, cpu_kicks);
		uint64_t t0 = rdtsc();
		if (rc < 0)
			continue; /* kicked just before entering: look again */
		v->entry_event_written = false; /* delivered, or back in the vectoring info */
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
		v->last_rip = e.rip;

		if (e.full_reason & EXIT_REASON_ENTRY_FAILURE) {
			/* VM entry failed after the checks on controls and host state:
			 * guest state or MSR loading (SDM 27.8). */
			const char *d = exit_reason_description(e.reason);
			vm_stop(vm, true, "VM entry failed: %s (exit reason %u), qualification 0x%llx",
				d ? d : "unknown", e.reason,
				(unsigned long long)vmcs_read(VMCS_EXIT_QUALIFICATION));
			if (e.reason == EXIT_REASON_ENTRY_FAIL_GUEST_STATE)
				explain_entry_failure(v, true);
			vmcs_dump();
			break;
		}
		e.idt_vectoring_info = (uint32_t)vmcs_read(VMCS_IDT_VECTORING_INFO);
		if (e.idt_vectoring_info & INTR_INFO_VALID)
			events_requeue_vectoring(v, e.idt_vectoring_info);

		const struct exit_handler *h =
			e.reason < EXIT_REASON_TABLE_SIZE ? &exit_handlers[e.reason] : NULL;
		read_exit_info(&e, h && h->fn ? h->needs : 0);
		if (h && h->fn)
			h->fn(v, &e);
		else
			handle_unknown_exit(v, &e);
		last_tsc = rdtsc();
		uint64_t cycles = last_tsc - t0;
		if (e.reason < EXIT_REASON_TABLE_SIZE) {
			vm->exit_count[e.reason]++;
			vm->exit_cycles[e.reason] += cycles;
		}
		struct exit_trace_entry *t = &v->trace[v->trace_next++ % VCPU_TRACE_LEN];
		t->reason = e.reason;
		t->rip = e.rip;
		t->qualification = e.qualification;
		t->cycles = cycles;
	}
	ticket_unlock(&vm->lock);
}
