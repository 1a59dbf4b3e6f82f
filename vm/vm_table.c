/* The VM table (vm/vm_table.h) and the glue between the console router and
 * shell (vm/console.c, vm/shell.c, pure) and the VMs. Every defined VM
 * starts at once (up to VM_MAX live), its vCPUs spread over the CPUs by the
 * scheduler (vm/sched.c); the boot CPU also serves the console, and runs
 * this table's work between its own vCPUs' exits, with no VM lock held: a
 * shell command may look at or stop any VM (docs/console-and-shell.md). */
#include "vm/vm_table.h"
#include "vm/console.h"
#include "vm/shell.h"
#include "vm/platform.h"
#include "vmx/exit.h"
#include "vmx/vmx.h"
#include "arch/x86/cpu.h"
#include "arch/x86/serial.h"
#include "lib/log.h"
#include "lib/string.h"
#include "vm/sched.h"
#include "arch/x86/percpu.h"

enum def_state {
	DEF_QUEUED,    /* waits for its turn */
	DEF_RUNNING,
	DEF_STOPPED,   /* ended, kept for the shell (shell=yes) */
	DEF_FINISHED,  /* ended and destroyed */
	DEF_REFUSED,   /* vm_create said no */
	DEF_CANCELLED, /* killed from the shell before it ran */
};

static const char *const def_state_names[] = {
	[DEF_QUEUED] = "queued", [DEF_RUNNING] = "running", [DEF_STOPPED] = "stopped",
	[DEF_FINISHED] = "finished", [DEF_REFUSED] = "refused", [DEF_CANCELLED] = "cancelled",
};

struct vm_def {
	struct vm_config cfg;
	struct guest_module mods[VM_CONFIG_MAX_MODULES];
	struct guest_boot_params boot;
	struct vm_disk_params disk;
	bool has_disk;
	enum def_state state;
	struct vm *vm;   /* while running or stopped */
	uint64_t exits;  /* when it ended */
};

static struct vm_def defs[VM_TABLE_MAX];
static unsigned def_count;
static bool keep_stopped, quit_requested;
static struct console console;
static struct shell shell;

bool vm_table_define(const struct vm_config *cfg, const struct guest_boot_params *boot,
		     const struct vm_disk_params *disk)
{
	if (def_count == VM_TABLE_MAX) {
		pr_err("VM %s refused: at most %u VMs can be defined", cfg->name, VM_TABLE_MAX);
		return false;
	}
	struct vm_def *d = &defs[def_count++];
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->boot = *boot;
	unsigned nmods = MIN(boot->module_count, (unsigned)VM_CONFIG_MAX_MODULES);
	for (unsigned i = 0; i < nmods; i++)
		d->mods[i] = boot->modules[i];
	d->boot.modules = d->mods;
	d->boot.module_count = nmods;
	d->boot.cmdline = d->cfg.cmdline; /* the caller's copy may go away */
	if (disk) {
		d->disk = *disk;
		d->has_disk = true;
	}
	d->state = DEF_QUEUED;
	return true;
}

static struct vm *live_vm(unsigned i)
{
	return i < def_count ? defs[i].vm : NULL;
}

/* --- what the console router needs --- */

static unsigned t_count(void *ctx)
{
	(void)ctx;
	return def_count;
}

static const char *t_name(void *ctx, unsigned i)
{
	(void)ctx;
	return defs[i].cfg.name;
}

static bool t_live(void *ctx, unsigned i)
{
	(void)ctx;
	return defs[i].state == DEF_RUNNING && defs[i].vm->state == VM_STATE_RUNNING;
}

/* The VM's UART is its devices' state: under its lock, as its vCPUs may be
 * emulating it on other CPUs right now. */
static unsigned t_room(void *ctx, unsigned i)
{
	(void)ctx;
	struct vm *vm = defs[i].vm;
	ticket_lock(&vm->lock);
	unsigned n = uart16550_rx_space(&vm->com1);
	ticket_unlock(&vm->lock);
	return n;
}

static void t_to_vm(void *ctx, unsigned i, uint8_t byte)
{
	(void)ctx;
	struct vm *vm = defs[i].vm;
	ticket_lock(&vm->lock);
	uart16550_receive(&vm->com1, byte);
	ticket_unlock(&vm->lock);
	vcpu_kick(&vm->vcpus[0]); /* its interrupt may wake a halted vCPU */
}

static const struct console_ops console_ops = { NULL, t_count, t_name, t_live, t_room, t_to_vm };

/* --- the shell's commands --- */

/* Commands without a VM name act on the VM with the input focus if it
 * runs, else on the first running one. */
static int t_default(void *ctx)
{
	(void)ctx;
	if (!console.shell_focus && console.vm_chosen && t_live(NULL, console.vm))
		return (int)console.vm;
	for (unsigned i = 0; i < def_count; i++)
		if (t_live(NULL, i))
			return (int)i;
	return -1;
}

/* The VM of a command that needs one that exists (running or kept); says
 * why not otherwise. */
static struct vm *need_vm(unsigned i)
{
	struct vm *vm = live_vm(i);
	if (!vm)
		kprintf("shell: VM %s is %s: it has no registers, memory or disk now%s\n",
			defs[i].cfg.name, def_state_names[defs[i].state],
			defs[i].state == DEF_FINISHED ? " (shell=yes keeps finished VMs)" : "");
	return vm;
}

static void t_vms(void *ctx)
{
	(void)ctx;
	kprintf("  %-16s %-9s %8s %12s  %s\n", "VM", "state", "RAM", "exits", "disk");
	for (unsigned i = 0; i < def_count; i++) {
		const struct vm_def *d = &defs[i];
		char exits[24] = "-", disk[48] = "none";
		if (d->vm || d->state == DEF_FINISHED)
			hv_snprintf(exits, sizeof(exits), "%llu",
				    (unsigned long long)(d->vm ? vm_exits(d->vm) : d->exits));
		if (d->vm && d->vm->has_disk)
			hv_snprintf(disk, sizeof(disk), "%llu bytes%s", (unsigned long long)d->vm->disk.size,
				    d->vm->disk.read_only ? ", read-only" : "");
		else if (d->has_disk)
			hv_snprintf(disk, sizeof(disk), "%llu bytes%s", (unsigned long long)d->disk.size,
				    d->disk.read_only ? ", read-only" : "");
		kprintf("  %-16s %-9s %7lluM %12s  %s\n", d->cfg.name, def_state_names[d->state],
			(unsigned long long)(d->cfg.mem >> 20), exits, disk);
	}
}

static const char *vcpu_state(const struct vcpu *v)
{
	if (v->vm->state != VM_STATE_RUNNING)
		return "stopped";
	if (v->wait_for_sipi)
		return v->started ? "wait-sipi" : "not-started";
	return v->halted ? "halted" : "running";
}

static void t_vcpus(void *ctx)
{
	(void)ctx;
	kprintf("  %-16s %-4s %-11s %-4s %-18s %12s %s\n", "VM", "vCPU", "state", "CPU", "RIP", "exits",
		"migrations");
	for (unsigned i = 0; i < def_count; i++) {
		struct vm *vm = defs[i].vm;
		if (!vm)
			continue;
		for (unsigned k = 0; k < vm->vcpu_count; k++) {
			const struct vcpu *v = &vm->vcpus[k];
			const struct cpu *c = __atomic_load_n(&v->home, __ATOMIC_ACQUIRE);
			char cpu[8] = "-", rip[24] = "-";
			if (c)
				hv_snprintf(cpu, sizeof(cpu), "%u", c->index);
			if (v->started)
				hv_snprintf(rip, sizeof(rip), "0x%llx", (unsigned long long)v->last_rip);
			kprintf("  %-16s %-4u %-11s %-4s %-18s %12llu %llu\n", vm->name, v->id, vcpu_state(v),
				cpu, rip, (unsigned long long)v->exits, (unsigned long long)v->migrations);
		}
	}
}

static void t_regs(void *ctx, unsigned i)
{
	(void)ctx;
	struct vm *vm = need_vm(i);
	if (!vm)
		return;
	for (unsigned k = 0; k < vm->vcpu_count; k++) {
		kprintf("[hv] VM %s vCPU %u registers:\n", vm->name, k);
		sched_dump_vcpu(&vm->vcpus[k]);
	}
}

static void t_exits(void *ctx, unsigned i)
{
	(void)ctx;
	struct vm *vm = need_vm(i);
	if (vm)
		vm_print_stats(vm);
}

static void t_trace(void *ctx, unsigned i)
{
	(void)ctx;
	struct vm *vm = need_vm(i);
	if (!vm)
		return;
	for (unsigned k = 0; k < vm->vcpu_count; k++)
		vcpu_print_trace(&vm->vcpus[k]);
}

static void t_ept(void *ctx, unsigned i, uint64_t gpa)
{
	(void)ctx;
	struct vm *vm = need_vm(i);
	if (!vm)
		return;
	uint64_t hpa, perms, size;
	if (!ept_lookup(&vm->ept, gpa, &hpa, &perms, &size)) {
		kprintf("[hv] VM %s: GPA 0x%llx is not mapped by its EPT (MMIO or nothing: accesses exit)\n",
			vm->name, (unsigned long long)gpa);
		return;
	}
	kprintf("[hv] VM %s: GPA 0x%llx -> HPA 0x%llx, %c%c%c, in a %s page\n", vm->name,
		(unsigned long long)gpa, (unsigned long long)hpa, perms & EPT_READ ? 'r' : '-',
		perms & EPT_WRITE ? 'w' : '-', perms & EPT_EXEC ? 'x' : '-',
		size == GiB(1) ? "1 GiB" : size == MiB(2) ? "2 MiB" : "4 KiB");
}

static void t_mem(void *ctx, unsigned i, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	struct vm *vm = need_vm(i);
	if (!vm)
		return;
	uint8_t buf[SHELL_MEM_MAX];
	/* Byte by byte through the checked helper: a range running off the
	 * end of RAM is dumped up to there. */
	uint64_t n = 0;
	while (n < len && n < sizeof(buf) && guest_read(&vm->mem, gpa + n, &buf[n], 1))
		n++;
	if (n == 0) {
		kprintf("shell: VM %s: GPA 0x%llx is not in its RAM (0 to 0x%llx)\n", vm->name,
			(unsigned long long)gpa, (unsigned long long)vm->mem.size);
		return;
	}
	for (uint64_t off = 0; off < n; off += 16) {
		char hex[16 * 3 + 1], text[17];
		unsigned k = 0;
		for (; k < 16 && off + k < n; k++) {
			uint8_t b = buf[off + k];
			hv_snprintf(hex + 3 * k, 4, " %02x", b);
			text[k] = b >= 0x20 && b < 0x7f ? (char)b : '.';
		}
		text[k] = '\0';
		kprintf("  %016llx %-48s  %s\n", (unsigned long long)(gpa + off), hex, text);
	}
	if (n < len)
		kprintf("shell: VM %s: RAM ends at 0x%llx\n", vm->name, (unsigned long long)vm->mem.size);
}

static void t_disk(void *ctx, unsigned i)
{
	(void)ctx;
	struct vm *vm = need_vm(i);
	if (!vm)
		return;
	if (!vm->has_disk)
		kprintf("shell: VM %s has no disk\n", vm->name);
	vm_print_disk(vm);
}

static void t_reset(void *ctx, unsigned i)
{
	(void)ctx;
	if (!t_live(NULL, i)) {
		kprintf("shell: VM %s is %s, not running (start runs it again)\n", defs[i].cfg.name,
			def_state_names[defs[i].state]);
		return;
	}
	/* Its run loop resets it before its next entry, as for the guest's
	 * own reset (i8042 0xFE, port 0xCF9). */
	struct vm *vm = defs[i].vm;
	ticket_lock(&vm->lock);
	vm->reset_requested = true;
	vm->reset_by_shell = true;
	ticket_unlock(&vm->lock);
	vm_kick_all(vm);
	kprintf("[hv] VM %s will be reset\n", defs[i].cfg.name);
}

static void kill_def(unsigned i, const char *why)
{
	struct vm_def *d = &defs[i];
	if (d->state == DEF_QUEUED) {
		d->state = DEF_CANCELLED;
		pr_info("VM %s will not run: %s", d->cfg.name, why);
	} else if (d->state == DEF_RUNNING && d->vm->state == VM_STATE_RUNNING) {
		/* Under its lock, as its vCPUs may be handling exits; vm_stop
		 * kicks them out of the guest and their CPUs retire them. */
		ticket_lock(&d->vm->lock);
		vm_stop(d->vm, false, "%s", why);
		ticket_unlock(&d->vm->lock);
	} else {
		kprintf("shell: VM %s is %s, not running or queued\n", d->cfg.name,
			def_state_names[d->state]);
	}
}

static void t_kill(void *ctx, unsigned i)
{
	(void)ctx;
	kill_def(i, "killed from the hypervisor shell");
}

static void t_start(void *ctx, unsigned i)
{
	(void)ctx;
	struct vm_def *d = &defs[i];
	if (d->state == DEF_QUEUED || d->state == DEF_RUNNING) {
		kprintf("shell: VM %s is %s already\n", d->cfg.name, def_state_names[d->state]);
		return;
	}
	/* It runs again from its configuration (a new VM: RAM, devices and an
	 * empty disk afresh; a disk image module keeps what was written), after
	 * the VMs queued before it. */
	d->state = DEF_QUEUED;
	pr_info("VM %s queued to start", d->cfg.name);
}

static void t_quit(void *ctx)
{
	(void)ctx;
	quit_requested = true;
	for (unsigned i = 0; i < def_count; i++)
		if (defs[i].state == DEF_QUEUED || defs[i].state == DEF_RUNNING)
			kill_def(i, "the hypervisor shell quit");
	pr_info("shell: quit: powering off");
}

static const struct shell_ops shell_ops = {
	NULL, t_count, t_name, t_default, t_vms, t_vcpus, t_regs, t_exits, t_trace,
	t_ept, t_mem, t_disk, t_reset, t_kill, t_start, t_quit,
};

/* The router's poll point, on the boot CPU only, with no VM lock held (the
 * scheduler calls it between exits and when idle). A byte stays in the
 * physical UART while the focused VM's FIFO is full. */
static void console_poll(void)
{
	while (serial_rx_ready() && console_ready(&console))
		console_input(&console, serial_getc());
}

/* --- running them --- */

static void finish(struct vm_def *d, struct vm_table_totals *t)
{
	struct vm *vm = d->vm;
	if (vm->failed)
		t->failed++;
	vm_report(vm);
	d->exits = vm_exits(vm);
	if (keep_stopped) {
		d->state = DEF_STOPPED;
		return;
	}
	vm_destroy(vm);
	d->vm = NULL;
	d->state = DEF_FINISHED;
}

static unsigned live_vms(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < def_count; i++)
		n += defs[i].vm != NULL;
	return n;
}

static void start_def(unsigned i, struct vm_table_totals *t)
{
	struct vm_def *d = &defs[i];
	if (d->vm) { /* started again: the kept VM makes room for a new one */
		vm_destroy(d->vm);
		d->vm = NULL;
	}
	d->vm = vm_create(&d->cfg, &d->boot, d->has_disk ? &d->disk : NULL);
	if (!d->vm) {
		d->state = DEF_REFUSED;
		t->refused++;
		return;
	}
	t->ran++;
	d->state = DEF_RUNNING;
	console_vm_started(&console, i);
	vm_start(d->vm);
}

/* A VM ended and its vCPUs are off their CPUs (it can be reported and
 * destroyed); a VM is queued and there is room; or nothing runs and the
 * table is done. The scheduler gives the boot CPU back to vm_table_run. */
static bool attention(void)
{
	bool running_any = false, room = live_vms() < VM_MAX;
	for (unsigned i = 0; i < def_count; i++) {
		const struct vm_def *d = &defs[i];
		if (d->state == DEF_QUEUED && !quit_requested && room)
			return true;
		if (d->state == DEF_RUNNING) {
			if (d->vm->state != VM_STATE_RUNNING && sched_vm_retired(d->vm))
				return true;
			running_any = true;
		}
	}
	return !running_any && (!keep_stopped || quit_requested);
}

void vm_table_run(bool stay, struct vm_table_totals *t)
{
	keep_stopped = stay;
	shell_init(&shell, &shell_ops);
	console_init(&console, &console_ops, &shell);
	platform_console_route(console_poll);
	bool idle_announced = false;
	for (;;) {
		for (unsigned i = 0; i < def_count; i++) {
			struct vm_def *d = &defs[i];
			if (d->state == DEF_RUNNING && d->vm->state != VM_STATE_RUNNING && sched_vm_retired(d->vm))
				finish(d, t);
		}
		for (unsigned i = 0; i < def_count && !quit_requested; i++)
			if (defs[i].state == DEF_QUEUED && live_vms() < VM_MAX)
				start_def(i, t);
		bool running_any = false;
		for (unsigned i = 0; i < def_count; i++)
			running_any |= defs[i].state == DEF_RUNNING;
		if (!running_any) {
			if (!stay || quit_requested)
				break;
			if (!idle_announced) {
				pr_info("all VMs done: %u ran, %u failed, %u refused; the shell has the "
					"console (shell=yes)", t->ran, t->failed, t->refused);
				console_focus_shell(&console);
			}
			idle_announced = true;
		} else {
			idle_announced = false;
		}
		sched_run_bsp(attention, console_poll);
	}
}
