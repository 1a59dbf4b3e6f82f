/* The vCPU scheduler: run queues per CPU, time slices bounded by the
 * VMX-preemption timer, kicks by IPI, VMCS migration. docs/smp.md has the
 * walk-through; vm/sched.h the rules in short.
 *
 * Who touches what:
 *  - A CPU's run queue (cpu->rq) changes under cpu->rq_lock: the CPU itself
 *    removes vCPUs (retire, migrate away), any CPU may add one (a VM
 *    starting, a vCPU migrating in).
 *  - A vCPU's VMCS, MSRs and FPU state are handled only by its home CPU;
 *    it changes home only at a migration, after its old CPU let it go.
 *  - vCPU fields the VM's devices look at (APIC, pending events) are under
 *    the VM lock (vm->lock), which vmx_vcpu_run holds outside the guest. */
#include "vm/sched.h"
#include "vm/vm_create.h"
#include "vmx/vmx.h"
#include "vmx/msr.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/lapic_host.h"
#include "arch/x86/percpu.h"
#include "arch/x86/tsc.h"
#include "lib/log.h"

static uint64_t us_to_tsc(uint64_t us)
{
	return tsc_hz / 1000000 * us;
}

struct vcpu *vcpu_running_here(void)
{
	return this_cpu()->current_vcpu;
}

/* --- Kicks --------------------------------------------------------------- */

/* The order is the mirror of enter_guest (vmx/exit.c): publish the kick,
 * then look whether the CPU is in a guest or asleep. Either the CPU sees
 * the kick before it enters, or we see it entered (or sleeping) and the
 * IPI brings it out. */
void vcpu_kick(struct vcpu *v)
{
	v->events_waiting = true;
	struct cpu *me = this_cpu();
	if (me->running_vcpu == v && __atomic_load_n(&v->mode, __ATOMIC_RELAXED) == VCPU_OUTSIDE_GUEST)
		return; /* from its own run loop, here: it looks at events before entering */
	__atomic_store_n(&v->kicked, 1, __ATOMIC_SEQ_CST);
	struct cpu *c = __atomic_load_n(&v->home, __ATOMIC_ACQUIRE);
	if (!c)
		return;
	__atomic_fetch_add(&c->kicks, 1, __ATOMIC_SEQ_CST);
	if (c == me)
		return; /* we are that CPU, in the hypervisor: the run loop looks */
	if (__atomic_load_n(&c->in_guest, __ATOMIC_SEQ_CST) || __atomic_load_n(&c->sleeping, __ATOMIC_SEQ_CST))
		lapic_host_send_fixed(c->apic_id, HOST_WAKE_VECTOR);
}

void vm_kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		vcpu_kick(&vm->vcpus[i]);
}

/* --- What can run ----------------------------------------------------------- */

enum readiness {
	NOT_READY, /* waits for a SIPI, or already retired */
	IDLE,      /* halted with nothing pending: can be entered to wait in HLT */
	READY,     /* has guest work, or hypervisor work (a stop, a reset, an event) */
};

/* Host TSC of the VM's next device deadline. */
static uint64_t vm_deadline_host(const struct vm *vm)
{
	uint64_t d = __atomic_load_n(&vm->next_deadline, __ATOMIC_RELAXED);
	return d == VCLOCK_NEVER ? UINT64_MAX : d - vm->tsc_offset;
}

/* Read without the VM lock: a stale answer costs one wasted pick or one
 * slice of delay, never correctness (the run loop decides under the lock). */
static enum readiness readiness(const struct vcpu *v, uint64_t now)
{
	const struct vm *vm = v->vm;
	if (v->retired)
		return NOT_READY;
	if (__atomic_load_n(&vm->state, __ATOMIC_RELAXED) != VM_STATE_RUNNING ||
	    __atomic_load_n(&v->kicked, __ATOMIC_RELAXED) || v->reset_generation != vm->reset_generation)
		return READY;
	if (v->wait_for_sipi)
		return NOT_READY;
	if (!v->halted || vm_deadline_host(vm) <= now)
		return READY;
	return IDLE;
}

/* Another vCPU of c has a device deadline due (its timer interrupt is
 * waiting): like a kick, a reason to preempt before the slice ends. */
static bool others_deadline_due(struct cpu *c, const struct vcpu *self, uint64_t now)
{
	for (unsigned i = 0; i < c->rq_len; i++) {
		const struct vcpu *u = c->rq[i];
		if (u != self && u->vm != self->vm && !u->wait_for_sipi && vm_deadline_host(u->vm) <= now)
			return true;
	}
	return false;
}

bool sched_should_yield(struct vcpu *v)
{
	struct cpu *c = v->home;
	if (!c || c->rq_len <= 1)
		return false; /* alone on its CPU: pinned */
	uint64_t now = rdtsc();
	/* Before the slice ends, only a halted vCPU gives way, or one that
	 * has run a little while another of this CPU's vCPUs was kicked (an
	 * IPI or an interrupt for it: waiting a whole slice would make every
	 * IPI between time-shared vCPUs cost a slice) or has a device
	 * deadline due. Fairness decides whom it gives way to: a vCPU that
	 * has had less CPU time (runtime), so that a VM with frequent timers
	 * cannot starve one without. */
	uint64_t ran = now - v->run_start, mine = v->runtime + ran;
	bool ran_enough = ran >= us_to_tsc(SCHED_WAKEUP_MIN_RUN_US);
	bool kicked = __atomic_load_n(&c->kicks, __ATOMIC_RELAXED) != v->kicks_seen;
	bool slice_over = now >= v->slice_end;
	ticket_lock(&c->rq_lock);
	bool woken = ran_enough && (kicked || others_deadline_due(c, v, now));
	if (!v->halted && !slice_over && !woken) {
		ticket_unlock(&c->rq_lock);
		return false;
	}
	v->kicks_seen = __atomic_load_n(&c->kicks, __ATOMIC_RELAXED);
	bool other = false;
	for (unsigned i = 0; i < c->rq_len && !other; i++) {
		struct vcpu *u = c->rq[i];
		other = u != v && readiness(u, now) == READY &&
			(v->halted || (slice_over ? u->runtime <= mine : u->runtime < mine));
	}
	ticket_unlock(&c->rq_lock);
	if (!other && now >= v->slice_end)
		v->slice_end = now + us_to_tsc(SCHED_SLICE_US); /* nobody waits: a new slice */
	return other;
}

uint64_t sched_return_by(struct vcpu *v)
{
	struct cpu *c = v->home;
	if (!c || c->rq_len <= 1)
		return UINT64_MAX;
	uint64_t by = v->slice_end;
	if (__atomic_load_n(&c->kicks, __ATOMIC_RELAXED) != v->kicks_seen)
		by = MIN(by, v->run_start + us_to_tsc(SCHED_WAKEUP_MIN_RUN_US));
	ticket_lock(&c->rq_lock);
	/* The other vCPUs' device deadlines: each is a reason to look again
	 * (after the minimum run, should_yield decides). */
	for (unsigned i = 0; i < c->rq_len; i++) {
		struct vcpu *u = c->rq[i];
		if (u != v && u->vm != v->vm && !u->wait_for_sipi)
			by = MIN(by, MAX(vm_deadline_host(u->vm), v->run_start + us_to_tsc(SCHED_WAKEUP_MIN_RUN_US)));
	}
	ticket_unlock(&c->rq_lock);
	return by;
}

/* --- The boot CPU's console duty ---------------------------------------- */

#define CONSOLE_POLL_US 1000

static bool (*bsp_attention)(void);
static void (*bsp_console_poll)(void);

bool sched_poll_due(struct vcpu *v)
{
	(void)v;
	struct cpu *c = this_cpu();
	return c->index == 0 && bsp_console_poll && rdtsc() >= c->next_poll;
}

bool sched_poll(void)
{
	struct cpu *c = this_cpu();
	c->next_poll = rdtsc() + us_to_tsc(CONSOLE_POLL_US);
	if (bsp_console_poll)
		bsp_console_poll();
	return bsp_attention && bsp_attention();
}

/* --- Placing, loading, retiring, migrating -------------------------------- */

static void rq_add(struct cpu *c, struct vcpu *v)
{
	ticket_lock(&c->rq_lock);
	/* It starts level with the least-served vCPU there: neither owed the
	 * CPU for the time it was elsewhere, nor behind the others. */
	uint64_t least = UINT64_MAX;
	for (unsigned i = 0; i < c->rq_len; i++)
		least = MIN(least, c->rq[i]->runtime);
	v->runtime = least == UINT64_MAX ? 0 : least;
	c->rq[c->rq_len++] = v;
	__atomic_store_n(&v->home, c, __ATOMIC_RELEASE);
	ticket_unlock(&c->rq_lock);
}

/* Called by c itself, holding c->rq_lock. */
static void rq_remove_locked(struct cpu *c, struct vcpu *v)
{
	for (unsigned i = 0; i < c->rq_len; i++) {
		if (c->rq[i] != v)
			continue;
		c->rq[i] = c->rq[--c->rq_len];
		if (c->rq_next >= c->rq_len)
			c->rq_next = 0;
		return;
	}
}

static unsigned cpu_load(struct cpu *c)
{
	return __atomic_load_n(&c->rq_len, __ATOMIC_RELAXED);
}

void sched_start_vm(struct vm *vm)
{
	__atomic_store_n(&vm->state, VM_STATE_RUNNING, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *v = &vm->vcpus[i];
		/* The online CPU with the fewest vCPUs; on a tie, one without a
		 * vCPU of this VM yet, so a VM's vCPUs spread out. */
		struct cpu *best = NULL;
		unsigned best_load = ~0u;
		for (unsigned k = 0; k < cpu_count; k++) {
			struct cpu *c = &cpus[k];
			if (c->state != CPU_ONLINE || c->rq_len >= CPU_RQ_MAX)
				continue;
			unsigned load = cpu_load(c) * 2;
			for (unsigned j = 0; j < i; j++)
				if (vm->vcpus[j].home == c)
					load++;
			if (load < best_load) {
				best = c;
				best_load = load;
			}
		}
		if (!best)
			best = &cpus[0];
		v->retired = false;
		rq_add(best, v);
		pr_info("VM %s: vCPU %u on CPU %u", vm->name, v->id, best->index);
	}
	vm_kick_all(vm);
}

bool sched_vm_retired(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		if (!__atomic_load_n(&vm->vcpus[i].retired, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

/* Take v's registers off this CPU: debug registers and XCR0 back, x87/SSE/
 * AVX state to its XSAVE area. Its VMCS stays active here unless clear. */
static void vcpu_put(struct cpu *c, struct vcpu *v, bool clear)
{
	if (c->current_vcpu == v) {
		msr_fpu_save(v);
		msr_save_guest_state(v);
		c->current_vcpu = NULL;
	}
	if (clear && v->vmcs_cpu == c)
		vmx_vcpu_release(v);
}

static void vcpu_load(struct cpu *c, struct vcpu *v)
{
	if (c->current_vcpu == v) {
		vmx_vcpu_load(v); /* another VMCS may have been current meanwhile (the shell) */
		return;
	}
	if (c->current_vcpu)
		vcpu_put(c, c->current_vcpu, false);
	vmx_vcpu_load(v);
	msr_load_guest_state(v);
	msr_fpu_restore(v);
	c->current_vcpu = v;
}

/* Its VM stopped: v leaves this CPU for good, its VMCS clear so that the
 * VM may be destroyed (vm_destroy frees the page). */
static void retire_locked(struct cpu *c, struct vcpu *v)
{
	vcpu_put(c, v, true);
	rq_remove_locked(c, v);
	__atomic_store_n(&v->home, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&v->retired, true, __ATOMIC_RELEASE);
}

static unsigned count_ready(struct cpu *c, uint64_t now)
{
	unsigned n = 0;
	ticket_lock(&c->rq_lock);
	for (unsigned i = 0; i < c->rq_len; i++)
		n += readiness(c->rq[i], now) == READY;
	ticket_unlock(&c->rq_lock);
	return n;
}

/* v used up its slice on c while another vCPU there is ready: if some other
 * CPU has nothing ready, v moves there. The VMCS must be made clear here,
 * on the CPU where it is active, before the other CPU may load it (SDM
 * 25.11.1); vmx_vcpu_load there gives it that CPU's host state and
 * invalidates TLB entries its VPID and EPTP may have left there before. */
static void maybe_migrate(struct cpu *c, struct vcpu *v, uint64_t now)
{
	if (cpu_count == 1 || now - v->last_migration < us_to_tsc(SCHED_MIGRATE_GAP_US))
		return;
	if (readiness(v, now) != READY || count_ready(c, now) < 2)
		return;
	struct cpu *to = NULL;
	for (unsigned k = 0; k < cpu_count && !to; k++) {
		struct cpu *d = &cpus[k];
		if (d != c && d->state == CPU_ONLINE && d->rq_len < CPU_RQ_MAX && count_ready(d, now) == 0)
			to = d;
	}
	if (!to)
		return;
	vcpu_put(c, v, true);
	ticket_lock(&c->rq_lock);
	rq_remove_locked(c, v);
	ticket_unlock(&c->rq_lock);
	v->migrations++;
	v->last_migration = now;
	pr_debug("VM %s: vCPU %u moves from CPU %u to CPU %u (VMCLEAR here, VMPTRLD there)",
		 v->vm->name, v->id, c->index, to->index);
	rq_add(to, v);
	vcpu_kick(v);
}

/* The next vCPU for c: the ready one that has had the least CPU time
 * (round robin among equals); if none is ready,
 * an idle (halted) one, preferably the one loaded, to wait in the guest's
 * HLT until an interrupt, a kick or the preemption timer. Retires the
 * vCPUs of stopped VMs on the way. */
static struct vcpu *pick(struct cpu *c)
{
	uint64_t now = rdtsc();
	struct vcpu *idle = NULL, *ready = NULL;
	ticket_lock(&c->rq_lock);
	for (unsigned i = 0; i < c->rq_len;) {
		struct vcpu *v = c->rq[i];
		/* A stopped VM's vCPU that is not in its run loop: retire it. */
		if (__atomic_load_n(&v->vm->state, __ATOMIC_ACQUIRE) != VM_STATE_RUNNING) {
			retire_locked(c, v);
			continue; /* rq[i] is another vCPU now */
		}
		i++;
	}
	unsigned ready_at = 0;
	for (unsigned k = 0; k < c->rq_len; k++) {
		unsigned i = (c->rq_next + k) % c->rq_len;
		struct vcpu *v = c->rq[i];
		enum readiness r = readiness(v, now);
		if (r == READY && (!ready || v->runtime < ready->runtime)) {
			ready = v;
			ready_at = i;
		} else if (r == IDLE && (!idle || v == c->current_vcpu)) {
			idle = v;
		}
	}
	if (ready)
		c->rq_next = (ready_at + 1) % c->rq_len;
	ticket_unlock(&c->rq_lock);
	return ready ? ready : idle;
}

static void run_one(struct cpu *c, struct vcpu *v)
{
	vcpu_load(c, v);
	v->run_start = rdtsc();
	v->slice_end = v->run_start + us_to_tsc(SCHED_SLICE_US);
	v->kicks_seen = __atomic_load_n(&c->kicks, __ATOMIC_RELAXED);
	c->running_vcpu = v;
	vmx_vcpu_run(v);
	c->running_vcpu = NULL;
	uint64_t now = rdtsc();
	v->runtime += now - v->run_start;
	if (v->vm->state == VM_STATE_RUNNING && now >= v->slice_end)
		maybe_migrate(c, v, now);
}

bool sched_has_work(void)
{
	struct cpu *c = this_cpu();
	uint64_t now = rdtsc();
	bool work = false;
	ticket_lock(&c->rq_lock);
	for (unsigned i = 0; i < c->rq_len && !work; i++)
		work = readiness(c->rq[i], now) != NOT_READY ||
		       c->rq[i]->vm->state != VM_STATE_RUNNING;
	ticket_unlock(&c->rq_lock);
	return work;
}

void sched_run_ap(void)
{
	struct cpu *c = this_cpu();
	struct vcpu *v;
	while ((v = pick(c)))
		run_one(c, v);
}

void sched_run_bsp(bool (*attention)(void), void (*console_poll)(void))
{
	struct cpu *c = this_cpu();
	bsp_attention = attention;
	bsp_console_poll = console_poll;
	for (;;) {
		if (sched_poll())
			break;
		struct vcpu *v = pick(c);
		if (v)
			run_one(c, v);
		else
			cpu_relax();
	}
}

/* --- The shell's view ----------------------------------------------------- */

#define DUMP_WAIT_US 200000

void sched_dump_vcpu(struct vcpu *v)
{
	if (!v->vmcs) {
		kprintf("  (vCPU %u has not started: no registers yet)\n", v->id);
		return;
	}
	/* Its VMCS is current here, clear, or active on another CPU, which
	 * alone may read it (SDM 25.11.1): then that CPU prints it at its
	 * vCPU's next pass through the run loop, which a kick brings about. */
	if (vmx_vcpu_dump(v))
		return;
	__atomic_store_n(&v->dump_requested, 1, __ATOMIC_SEQ_CST);
	vcpu_kick(v);
	uint64_t end = rdtsc() + us_to_tsc(DUMP_WAIT_US);
	while (__atomic_load_n(&v->dump_requested, __ATOMIC_ACQUIRE) && rdtsc() < end)
		cpu_relax();
	if (__atomic_exchange_n(&v->dump_requested, 0, __ATOMIC_ACQ_REL))
		kprintf("  (vCPU %u did not answer from its CPU within %u ms)\n", v->id,
			DUMP_WAIT_US / 1000);
}
