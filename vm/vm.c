/* Creating a VM from a guest image and running it. */
#include "vm/vm.h"
#include "vm/vm_create.h"
#include "vm/guest_boot.h"
#include "vm/platform.h"
#include "vm/acpi.h"
#include "arch/x86/cmos.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "vmx/vmx.h"
#include "vmx/vmx_caps.h"
#include "vmx/exit.h"
#include "vmx/selftest.h"
#include "vmx/apicv.h"
#include "arch/x86/mm.h"
#include "lib/log.h"
#include "lib/string.h"
#include "vm/sched.h"

static struct vm vms[VM_MAX];
static unsigned vm_next_id;

static uint64_t ept_alloc_table(void *ctx)
{
	(void)ctx;
	void *p = page_alloc(1, PAGE_SIZE);
	return p ? virt_to_phys(p) : 0;
}

static void *ept_phys_to_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return phys_to_virt(pa);
}

/* The host's date, read from its RTC once: every VM's RTC starts there. */
static int64_t host_wall_clock(void)
{
	static int64_t t;
	if (!t)
		t = host_rtc_read();
	return t;
}

static void ept_free_table(void *ctx, uint64_t pa)
{
	(void)ctx;
	page_free(phys_to_virt(pa), 1);
}

static const struct ept_ops host_ept_ops = { ept_alloc_table, ept_phys_to_virt, NULL };

static void console_flush_line(struct vm_console *c)
{
	c->line[c->len] = '\0';
	if (c->port)
		kprintf("[%s:%s] %s\n", c->vm->name, c->port, c->line);
	else
		kprintf("[%s] %s\n", c->vm->name, c->line);
	c->len = 0;
}

/* Guest UART output: a line at a time, prefixed with the VM's name, so lines
 * of the hypervisor and of each VM never interleave mid-line. */
static void vm_console_tx(void *ctx, uint8_t byte)
{
	struct vm_console *c = ctx;
	c->vm->console_last_tsc = platform_guest_tsc(c->vm);
	if (byte == '\n') {
		console_flush_line(c);
		return;
	}
	if (byte == '\r')
		return;
	if (byte < 0x20 && byte != '\t')
		byte = '.'; /* control characters would garble the shared console */
	c->line[c->len++] = (char)byte;
	if (c->len == VM_CONSOLE_LINE - 1)
		console_flush_line(c);
}

static void vm_exit_port(void *ctx, uint32_t code)
{
	struct vm *vm = ctx;
	vm->has_exit_code = true;
	vm->exit_code = code;
	vm_stop(vm, false, "guest wrote exit code %u to port 0x%x", code, DEBUG_EXIT_PORT);
}

void vm_stop(struct vm *vm, bool failed, const char *fmt, ...)
{
	va_list ap;
	if (vm->state == VM_STATE_STOPPED)
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(vm->console); i++)
		if (vm->console[i].len)
			console_flush_line(&vm->console[i]);
	va_start(ap, fmt);
	hv_vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	__atomic_store_n(&vm->state, VM_STATE_STOPPED, __ATOMIC_RELEASE);
	vm->failed = failed;
	log_msg(failed ? LOG_ERROR : LOG_INFO, "VM %s stopped: %s", vm->name, vm->stop_reason);
	/* Its other vCPUs may be in the guest on other CPUs: bring them out,
	 * so that their CPUs retire them (vm/sched.c). */
	vm_kick_all(vm);
}

static bool setup_devices(struct vm *vm)
{
	bus_init(&vm->pio, "port I/O");
	bus_init(&vm->mmio, "MMIO");
	vm->console[0] = (struct vm_console){ .vm = vm };
	vm->console[1] = (struct vm_console){ .vm = vm, .port = "COM2" };
	uart16550_init(&vm->com1, vm_console_tx, &vm->console[0]);
	uart16550_init(&vm->com2, vm_console_tx, &vm->console[1]);
	vm->exit_port = (struct debug_exit){ vm_exit_port, vm };
	const struct bus_device devs[] = {
		{ "COM2 16550A", UART_COM2_BASE, UART_NR_PORTS, uart16550_read, uart16550_write, &vm->com2 },
		{ "exit port", DEBUG_EXIT_PORT, DEBUG_EXIT_NR_PORTS, NULL, debug_exit_write, &vm->exit_port },
	};
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++)
		if (!bus_register(&vm->pio, &devs[i]))
			return false;
	return true;
}

/* The VM's ACPI tables (vm/acpi.c) live in the BIOS area below 1 MiB, where
 * an OS scanning for the RSDP looks, outside the memory map's RAM ranges. */
#define GUEST_ACPI_GPA 0xe0000ULL
#define GUEST_ACPI_MAX 0x10000ULL

static const char *load_acpi(struct vm *vm, const void **rsdp, uint32_t *rsdp_len, uint64_t *rsdp_gpa)
{
	static uint8_t tables[GUEST_ACPI_MAX];
	struct acpi_config ac = { .base_gpa = GUEST_ACPI_GPA, .vcpus = vm->vcpu_count,
				  .pci_mem_base = PLATFORM_PCI_MEM_BASE, .pci_mem_size = PLATFORM_PCI_MEM_SIZE,
				  .pci_gsi_base = PLATFORM_PCI_GSI_BASE };
	size_t n = acpi_build(&ac, tables, sizeof(tables), rsdp_gpa);
	if (!n || !guest_write(&vm->mem, GUEST_ACPI_GPA, tables, n))
		return "the ACPI tables do not fit";
	*rsdp = tables + (*rsdp_gpa - GUEST_ACPI_GPA);
	*rsdp_len = 36; /* an ACPI 2.0+ RSDP */
	return NULL;
}

/* The loaders (vm/guest_boot.c and the ACPI table buffer above) build in
 * static scratch space; a VM's reset may load on any CPU while another VM
 * is created or reset elsewhere: one load at a time. */
static struct ticket_lock loader_lock = TICKET_LOCK_INIT;

static const char *load_guest_locked(struct vm *vm, struct guest_boot *gb);

static const char *load_guest(struct vm *vm, struct guest_boot *gb)
{
	ticket_lock(&loader_lock);
	const char *err = load_guest_locked(vm, gb);
	/* The message may live in the loaders' scratch space: keep a copy. */
	static char err_copy[MAX_CPUS][192];
	if (err) {
		char *copy = err_copy[this_cpu()->index];
		hv_snprintf(copy, sizeof(err_copy[0]), "%s", err);
		err = copy;
	}
	ticket_unlock(&loader_lock);
	return err;
}

static const char *load_guest_locked(struct vm *vm, struct guest_boot *gb)
{
	const void *rsdp;
	uint32_t rsdp_len;
	uint64_t rsdp_gpa;
	const char *err = load_acpi(vm, &rsdp, &rsdp_len, &rsdp_gpa);
	if (err)
		return err;
	struct guest_module mods[ARRAY_SIZE(vm->boot_modules)];
	for (unsigned i = 0; i < vm->boot_module_count; i++)
		mods[i] = (struct guest_module){ vm->boot_modules[i].data, vm->boot_modules[i].size,
						 vm->boot_modules[i].string };
	struct guest_boot_params p = {
		.image = vm->kernel_image, .image_size = vm->kernel_size,
		.modules = mods, .module_count = vm->boot_module_count,
		.cmdline = vm->boot_cmdline, .loader_name = "TextbookHV",
		.rsdp = rsdp, .rsdp_len = rsdp_len, .rsdp_gpa = rsdp_gpa,
		.initrd = vm->initrd, .initrd_size = vm->initrd_size,
	};
	return guest_boot_prepare(&vm->mem, &p, gb);
}

/* Before the guest's memory is rewritten, every other vCPU of the VM must
 * be out of the guest: kick them and wait until each has left VMX non-root
 * operation. They then wait for the VM lock, which the caller holds, and
 * see the reset when they get it. */
static void pause_other_vcpus(struct vm *vm)
{
	struct vcpu *self = vcpu_running_here();
	vm_kick_all(vm);
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *v = &vm->vcpus[i];
		while (v != self && __atomic_load_n(&v->mode, __ATOMIC_SEQ_CST) == VCPU_IN_GUEST)
			cpu_relax();
	}
}

bool vm_reset(struct vm *vm)
{
	/* Like pressing the reset button, then the loader running again: RAM
	 * cleared, the kernel and modules loaded afresh, every device and the
	 * vCPU back to their power-on state. (Disks, when they come, keep
	 * their contents.) */
	vm->resets++;
	pr_info("VM %s: reset requested by %s (reset #%u)", vm->name,
		vm->reset_by_shell ? "the hypervisor shell" : "the guest", vm->resets);
	pause_other_vcpus(vm);
	vm->reset_by_shell = false;
	memset(vm->mem.hva, 0, (size_t)vm->mem.size);
	struct guest_boot gb;
	const char *err = load_guest(vm, &gb);
	if (err) {
		vm_stop(vm, true, "reset failed: %s", err);
		return false;
	}
	vm->entry = gb.cpu;
	/* The guest TSC starts again near zero before the devices power on:
	 * they read their clock (the guest TSC) as they start, and the PIT's
	 * never runs backwards, so started on the old TSC it would stand still
	 * until the new one caught up (seconds: Linux's second boot found no
	 * timer interrupt and panicked). */
	vm->tsc_offset = 0 - rdtsc();
	platform_reset(vm, host_wall_clock());
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *v = &vm->vcpus[i];
		memset(&v->event, 0, sizeof(v->event));
		memset(v->pending_irq, 0, sizeof(v->pending_irq));
		v->pending_nmi = v->events_waiting = false;
		v->mtf_steps = 0;
		v->fpu_valid = false;
	}
	vm->console_last_tsc = vm->stall_reported_tsc = 0;
	/* Each vCPU sets its VMCS up again on its own CPU before its next
	 * entry (vmx/exit.c): the BSP at the kernel's entry, the APs waiting
	 * for a SIPI. */
	vm->reset_generation++;
	vm_kick_all(vm);
	return true;
}

static bool attach_disk(struct vm *vm, const struct vm_disk_params *dp)
{
	void *data = dp->data;
	if (!data) {
		data = page_alloc(ALIGN_UP(dp->size, PAGE_SIZE) / PAGE_SIZE, PAGE_SIZE);
		if (!data) {
			pr_err("VM %s refused: cannot allocate a %llu MiB disk", vm->name,
			       (unsigned long long)(dp->size >> 20));
			return false;
		}
		vm->disk_allocated = true;
		vm->disk.data = data; /* so a failure below gives the pages back */
		vm->disk.size = dp->size;
	}
	if (!ramdisk_init(&vm->disk, data, dp->size, dp->read_only) ||
	    !platform_add_disk(vm, dp->over_mmio)) {
		pr_err("VM %s refused: its disk (%llu bytes) cannot be attached", vm->name,
		       (unsigned long long)dp->size);
		return false;
	}
	pr_info("VM %s: virtio-blk disk of %llu sectors%s over %s", vm->name,
		(unsigned long long)ramdisk_sectors(&vm->disk), dp->read_only ? ", read-only" : "",
		dp->over_mmio ? "virtio-mmio at 0xfeb00000" : "virtio-pci at 00:02.0");
	return true;
}

struct vm *vm_create(const struct vm_config *cfg, const struct guest_boot_params *boot,
		     const struct vm_disk_params *disk)
{
	struct vm *vm = NULL;
	for (unsigned i = 0; i < VM_MAX && !vm; i++)
		if (vms[i].state == VM_STATE_FREE)
			vm = &vms[i];
	if (!vm) {
		pr_err("VM %s refused: at most %u VMs exist at once", cfg->name, VM_MAX);
		return NULL;
	}
	memset(vm, 0, sizeof(*vm));
	hv_snprintf(vm->name, sizeof(vm->name), "%s", cfg->name);
	vm->id = vm_next_id;

	/* Guest RAM: one contiguous, 2 MiB-aligned block, so EPT can map it
	 * with 2 MiB (or 1 GiB) pages. */
	void *ram = page_alloc(cfg->mem / PAGE_SIZE, MiB(2));
	if (!ram) {
		pr_err("VM %s refused: cannot allocate %llu MiB of RAM", vm->name,
		       (unsigned long long)(cfg->mem >> 20));
		return NULL;
	}
	vm->ram_hpa = virt_to_phys(ram);
	vm->mem = (struct guest_mem){ ram, cfg->mem };

	bool use_2m = vmx_caps.ept_vpid & EPT_CAP_2MB_PAGE, use_1g = vmx_caps.ept_vpid & EPT_CAP_1GB_PAGE;
	if (!ept_init(&vm->ept, &host_ept_ops, use_2m, use_1g) ||
	    !ept_map(&vm->ept, 0, vm->ram_hpa, cfg->mem, EPT_RWX, EPT_MEMTYPE_WB)) {
		pr_err("VM %s refused: cannot build its EPT", vm->name);
		goto fail;
	}
	vm->vcpu_count = cfg->vcpus ? cfg->vcpus : 1;
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *v = &vm->vcpus[i];
		v->vm = vm;
		v->id = i;
		v->xcr0 = 1; /* x87 only, the reset value (SDM Vol. 1 13.3) */
		/* VPID 0 is the host's (SDM 29.1); each vCPU has its own, as
		 * its TLB entries belong to its own address spaces. Ids are
		 * never reused, so neither are VPIDs until they wrap. */
		v->vpid = (uint16_t)((vm->id * VM_MAX_VCPUS + i) % 0xffff + 1);
		v->fpu = page_alloc(1, PAGE_SIZE);
		if (!v->fpu) {
			pr_err("VM %s refused: no memory for vCPU %u's register state", vm->name, i);
			goto fail;
		}
	}
	/* Not equal to the vCPUs' 0: each sets its VMCS up at its first run. */
	vm->reset_generation = 1;
	/* The guest's TSC starts near zero (guest TSC = host TSC + offset). */
	vm->tsc_offset = 0 - rdtsc();
	if (!setup_devices(vm) || !platform_init(vm, host_wall_clock())) {
		pr_err("VM %s refused: device registration failed", vm->name);
		goto fail;
	}

	if (disk && !attach_disk(vm, disk))
		goto fail;

	/* Keep what was loaded, to load it again on a reset. */
	vm->kernel_image = boot->image;
	vm->kernel_size = boot->image_size;
	vm->initrd = boot->initrd;
	vm->initrd_size = boot->initrd_size;
	vm->boot_module_count = MIN(boot->module_count, (unsigned)ARRAY_SIZE(vm->boot_modules));
	for (unsigned i = 0; i < vm->boot_module_count; i++) {
		vm->boot_modules[i].data = boot->modules[i].data;
		vm->boot_modules[i].size = boot->modules[i].size;
		hv_snprintf(vm->boot_modules[i].string, sizeof(vm->boot_modules[i].string), "%s",
			    boot->modules[i].string);
	}
	hv_snprintf(vm->boot_cmdline, sizeof(vm->boot_cmdline), "%s", boot->cmdline);

	struct guest_boot gb;
	const char *err = load_guest(vm, &gb);
	if (err) {
		pr_err("VM %s refused: its guest image is invalid: %s", vm->name, err);
		goto fail;
	}

	pr_info("VM %s: %u vCPU%s, %llu MiB RAM at host 0x%llx, EPT %u tables (%llu x 1G, %llu x 2M, %llu x 4K "
		"leaves)", vm->name, vm->vcpu_count, vm->vcpu_count == 1 ? "" : "s",
		(unsigned long long)(cfg->mem >> 20),
		(unsigned long long)vm->ram_hpa, vm->ept.tables, (unsigned long long)vm->ept.leaves[2],
		(unsigned long long)vm->ept.leaves[1], (unsigned long long)vm->ept.leaves[0]);
	if (gb.kind == GUEST_KIND_LINUX)
		pr_info("VM %s: %s loaded at 0x%llx-0x%llx, initrd %llu KiB, 64-bit entry 0x%llx, "
			"command line '%s'", vm->name, guest_kind_name(gb.kind),
			(unsigned long long)gb.load_start, (unsigned long long)gb.load_end,
			(unsigned long long)(boot->initrd_size >> 10), (unsigned long long)gb.cpu.rip,
			boot->cmdline);
	else
		pr_info("VM %s: %s loaded at 0x%llx-0x%llx, %u modules, entry 0x%llx, command line '%s'",
			vm->name, guest_kind_name(gb.kind), (unsigned long long)gb.load_start,
			(unsigned long long)gb.load_end, boot->module_count,
			(unsigned long long)gb.cpu.rip, boot->cmdline);
	vm->state = VM_STATE_READY;
	vm->entry = gb.cpu;
	hv_snprintf(vm->selftest, sizeof(vm->selftest), "%s", cfg->selftest);
	vm->apicv_wanted = !cfg->no_apicv;
	vm_next_id++;
	return vm;

fail:
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		if (vm->vcpus[i].fpu)
			page_free(vm->vcpus[i].fpu, 1);
	if (vm->disk_allocated)
		page_free(vm->disk.data, ALIGN_UP(vm->disk.size, PAGE_SIZE) / PAGE_SIZE);
	if (vm->ept.pml4_pa)
		ept_destroy(&vm->ept, ept_free_table);
	page_free(ram, cfg->mem / PAGE_SIZE);
	vm->state = VM_STATE_FREE;
	return NULL;
}

void vm_destroy(struct vm *vm)
{
	/* Its TLB entries are tagged with its EPTP and VPID: a later VM reusing
	 * the same table pages invalidates them before its first entry
	 * (vmx_vcpu_setup). */
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *v = &vm->vcpus[i];
		/* Retired by its CPU (sched_vm_retired): its VMCS is clear. */
		if (v->vmcs)
			page_free(v->vmcs, 1);
		if (v->fpu)
			page_free(v->fpu, 1);
	}
	ept_destroy(&vm->ept, ept_free_table);
	if (vm->apic_access_page)
		page_free(vm->apic_access_page, 1);
	page_free(vm->mem.hva, vm->mem.size / PAGE_SIZE);
	if (vm->disk_allocated)
		page_free(vm->disk.data, ALIGN_UP(vm->disk.size, PAGE_SIZE) / PAGE_SIZE);
	memset(vm, 0, sizeof(*vm));
	vm->state = VM_STATE_FREE;
}

void vm_start(struct vm *vm)
{
	apicv_decide(vm, vm->apicv_wanted);
	/* Entered as a boot loader enters that kind of kernel (vm/guest_boot.h);
	 * vCPU 0 sets its VMCS up on its own CPU at its first run. */
	pr_info("VM %s: starting at 0x%llx in %s mode", vm->name, (unsigned long long)vm->entry.rip,
		vm->entry.mode == GUEST_MODE_LONG64 ? "64-bit" : "32-bit protected");
	sched_start_vm(vm);
}

uint64_t vm_exits(const struct vm *vm)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		n += vm->vcpus[i].exits;
	return n;
}

void vm_print_stats(const struct vm *vm)
{
	kprintf("[hv info] VM %s exit statistics (reason: count, average TSC cycles in the handler):\n",
		vm->name);
	for (unsigned r = 0; r < EXIT_REASON_TABLE_SIZE; r++) {
		if (!vm->exit_count[r])
			continue;
		kprintf("  %-24s %10llu  %8llu\n", exit_reason_name(r) ? exit_reason_name(r) : "?",
			(unsigned long long)vm->exit_count[r],
			(unsigned long long)(vm->exit_cycles[r] / vm->exit_count[r]));
	}
}

void vm_report(const struct vm *vm)
{
	vm_print_stats(vm);
	vm_print_disk(vm);
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		const struct vcpu *v = &vm->vcpus[i];
		if (vm->vcpu_count > 1)
			pr_info("VM %s vCPU %u: %llu exits, %llu migrations%s", vm->name, i,
				(unsigned long long)v->exits, (unsigned long long)v->migrations,
				v->started ? "" : ", never started");
		if (vm->failed && v->exits)
			vcpu_print_trace(v);
	}
	if (vm->has_exit_code)
		pr_info("VM %s finished with exit code %u", vm->name, vm->exit_code);
	else
		pr_info("VM %s finished without an exit code (%s)", vm->name, vm->stop_reason);
}
