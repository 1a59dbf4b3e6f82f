/* From GRUB to guests: the hypervisor's main line. */
#include "boot/multiboot2.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/mm.h"
#include "arch/x86/power.h"
#include "arch/x86/serial.h"
#include "arch/x86/smp.h"
#include "arch/x86/tsc.h"
#include "lib/log.h"
#include "lib/string.h"
#include "vm/config.h"
#include "vm/vm_table.h"
#include "vmx/vmx.h"

#define HV_BANNER "TextbookHV 0.1 - a bare-metal VT-x hypervisor"
#define HV_LOADER_NAME "TextbookHV"

static void print_boot_info(const struct boot_info *bi)
{
	kprintf("[hv info] boot loader: %s\n", bi->loader_name ? bi->loader_name : "(not named)");
	kprintf("[hv info] command line: '%s'\n", bi->cmdline ? bi->cmdline : "");
	kprintf("[hv info] memory map (%u entries):\n", bi->mmap_count);
	for (unsigned i = 0; i < bi->mmap_count; i++) {
		const struct mb2_mmap_entry *m = &bi->mmap[i];
		kprintf("  %016llx-%016llx %s\n", (unsigned long long)m->base,
			(unsigned long long)(m->base + m->length - 1), mb2_memory_type_name(m->type));
	}
	kprintf("[hv info] modules (%u):\n", bi->module_count);
	for (unsigned i = 0; i < bi->module_count; i++) {
		const struct mb2_module *m = &bi->modules[i];
		kprintf("  %08llx-%08llx %8llu bytes '%s'\n", (unsigned long long)m->start,
			(unsigned long long)m->end, (unsigned long long)(m->end - m->start), m->string);
	}
	if (bi->modules_dropped)
		pr_warn("%u more modules were ignored (at most %u)", bi->modules_dropped, MB2_MAX_MODULES);
	if (bi->rsdp)
		kprintf("[hv info] ACPI RSDP (revision %u tag) found\n", bi->rsdp_revision);
	else
		kprintf("[hv info] no ACPI RSDP tag\n");
}

/* Set by selftest=host-fault: raise a host exception after boot so the tests
 * can check the exception dump. */
static bool selftest_host_fault;
/* shell=yes: after the last VM the hypervisor shell keeps the console
 * instead of powering off (docs/console-and-shell.md). */
static bool shell_stay;

/* Hypervisor options on the Multiboot2 command line:
 *   loglevel=error|warn|info|debug
 *   shell=yes|no          (stay in the hypervisor shell after the last VM; no)
 *   selftest=host-fault   (tests only: prove the host exception path) */
static void parse_cmdline(const char *s)
{
	while (s && *s) {
		while (*s == ' ')
			s++;
		const char *tok = s;
		while (*s && *s != ' ')
			s++;
		size_t len = (size_t)(s - tok);
		if (len > 9 && strncmp(tok, "loglevel=", 9) == 0) {
			if (!log_level_parse(tok + 9, len - 9, &log_threshold))
				pr_warn("command line: unknown log level '%.*s'", (int)(len - 9), tok + 9);
		} else if (len == 9 && strncmp(tok, "shell=yes", 9) == 0) {
			shell_stay = true;
		} else if (len == 8 && strncmp(tok, "shell=no", 8) == 0) {
			shell_stay = false;
		} else if (len == 19 && strncmp(tok, "selftest=host-fault", 19) == 0) {
			selftest_host_fault = true;
		} else if (len) {
			pr_warn("command line: unknown option '%.*s' ignored", (int)len, tok);
		}
	}
}

static void enable_host_xsave(void)
{
	struct cpuid_regs r;
	cpuid_count(1, 0, &r);
	/* With OSXSAVE the hypervisor can switch XCR0 between guests. */
	if (r.ecx & CPUID_1_ECX_XSAVE)
		write_cr4(read_cr4() | CR4_OSXSAVE);
}

/* A module's name is the first word of its string (module2 /boot/x.elf x.elf). */
static size_t module_name_len(const char *s)
{
	size_t n = 0;
	while (s[n] && s[n] != ' ')
		n++;
	return n;
}

static const struct mb2_module *find_module(const struct boot_info *bi, const char *name)
{
	for (unsigned i = 0; i < bi->module_count; i++) {
		const char *s = bi->modules[i].string;
		size_t n = module_name_len(s);
		if (n == strlen(name) && strncmp(s, name, n) == 0)
			return &bi->modules[i];
	}
	return NULL;
}

/* Into the VM table (vm/vm_table.c), which runs the VMs in this order. */
static void launch(const struct vm_config *cfg, const struct guest_boot_params *boot,
		   const struct vm_disk_params *disk, struct vm_table_totals *t)
{
	if (!vm_table_define(cfg, boot, disk))
		t->refused++;
}

/* Without a configuration file: every module is a guest kernel with its VM
 * settings in its string. */
static void launch_from_module_strings(const struct boot_info *bi, struct vm_table_totals *t)
{
	for (unsigned i = 0; i < bi->module_count; i++) {
		const struct mb2_module *m = &bi->modules[i];
		struct vm_config cfg;
		char errbuf[128], defname[16];
		hv_snprintf(defname, sizeof(defname), "vm%u", i);
		const char *cerr = vm_config_parse(m->string, defname, &cfg, errbuf, sizeof(errbuf));
		if (!cerr && (cfg.kernel[0] || cfg.module_count || cfg.disk[0] || cfg.initrd[0]))
			cerr = "kernel=, initrd=, module= and disk= need a configuration file "
			       "(docs/configuration.md)";
		if (cerr) {
			pr_err("module %u ('%s') refused: %s", i, m->string, cerr);
			t->refused++;
			continue;
		}
		struct guest_boot_params boot = {
			.image = phys_to_virt(m->start), .image_size = m->end - m->start,
			.cmdline = cfg.cmdline, .loader_name = HV_LOADER_NAME,
		};
		struct vm_disk_params disk = { NULL, cfg.disk_size, cfg.disk_ro, cfg.disk_mmio };
		launch(&cfg, &boot, cfg.disk_size ? &disk : NULL, t);
	}
}

static void report_config_error(void *ctx, unsigned line, const char *message)
{
	struct vm_table_totals *t = ctx;
	t->refused++;
	pr_err("config line %u: %s; that VM is skipped", line, message);
}

/* With a configuration file (a module whose string is "config"): its "vm"
 * lines name the kernel and modules by their module names. */
static void launch_from_config_file(const struct boot_info *bi, const struct mb2_module *config,
				    struct vm_table_totals *t)
{
	static struct vm_config cfgs[64]; /* VMs run one after another: many may be listed */
	unsigned n = vm_config_parse_file(phys_to_virt(config->start), config->end - config->start,
					  cfgs, ARRAY_SIZE(cfgs), report_config_error, t);
	pr_info("configuration file: %u valid VM definitions", n);
	for (unsigned i = 0; i < n; i++) {
		const struct vm_config *c = &cfgs[i];
		const struct mb2_module *k = find_module(bi, c->kernel);
		struct guest_module mods[VM_CONFIG_MAX_MODULES];
		bool ok = k != NULL;
		if (!k)
			pr_err("config line %u: VM %s refused: no module named '%s'", c->line, c->name, c->kernel);
		for (unsigned j = 0; ok && j < c->module_count; j++) {
			const struct mb2_module *m = find_module(bi, c->modules[j]);
			if (!m) {
				pr_err("config line %u: VM %s refused: no module named '%s'", c->line, c->name,
				       c->modules[j]);
				ok = false;
				break;
			}
			mods[j] = (struct guest_module){ phys_to_virt(m->start), m->end - m->start, m->string };
		}
		struct vm_disk_params disk = { NULL, c->disk_size, c->disk_ro, c->disk_mmio };
		if (ok && c->disk[0]) {
			const struct mb2_module *d = find_module(bi, c->disk);
			if (!d) {
				pr_err("config line %u: VM %s refused: no disk module named '%s'", c->line,
				       c->name, c->disk);
				ok = false;
			} else {
				disk.data = phys_to_virt(d->start); /* served in place */
				disk.size = d->end - d->start;
			}
		}
		const struct mb2_module *rd = NULL;
		if (ok && c->initrd[0] && !(rd = find_module(bi, c->initrd))) {
			pr_err("config line %u: VM %s refused: no initrd module named '%s'", c->line, c->name,
			       c->initrd);
			ok = false;
		}
		if (!ok) {
			t->refused++;
			continue;
		}
		struct guest_boot_params boot = {
			.image = phys_to_virt(k->start), .image_size = k->end - k->start,
			.modules = mods, .module_count = c->module_count,
			.cmdline = c->cmdline, .loader_name = HV_LOADER_NAME,
			.initrd = rd ? phys_to_virt(rd->start) : NULL, .initrd_size = rd ? rd->end - rd->start : 0,
		};
		launch(c, &boot, (c->disk[0] || c->disk_size) ? &disk : NULL, t);
	}
}

void kmain(uint32_t magic, uint32_t info_addr);
void kmain(uint32_t magic, uint32_t info_addr)
{
	smp_bsp_early_init(); /* GS base, GDT, TSS: before anything prints */
	serial_init();
	idt_init();
	/* Mask both 8259 PICs: the host takes no interrupts, and a timer
	 * interrupt left on by the firmware would cause an exit per tick. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);

	kprintf("\n" HV_BANNER "\n");
	if (magic != MB2_BOOTLOADER_MAGIC) {
		pr_err("not started by a Multiboot2 loader (EAX = 0x%x, expected 0x%x)", magic,
		       MB2_BOOTLOADER_MAGIC);
		machine_stop(MACHINE_EXIT_PANIC);
	}
	static struct boot_info bi;
	const char *err = mb2_parse(phys_to_virt(info_addr), info_addr, &bi);
	if (err) {
		pr_err("the Multiboot2 information is malformed: %s", err);
		machine_stop(MACHINE_EXIT_PANIC);
	}
	parse_cmdline(bi.cmdline);
	print_boot_info(&bi);
	mm_init(&bi);
	enable_host_xsave();
	tsc_calibrate();
	if (selftest_host_fault) {
		pr_info("selftest: executing UD2 in the hypervisor");
		__asm__ volatile("movabs $0x1122334455667788, %%r15\n\tud2" ::: "r15");
	}

	enum vmx_support s = vmx_probe();
	if (s != VMX_OK)
		machine_stop(MACHINE_EXIT_NO_VMX);
	if (!vmx_enable())
		machine_stop(MACHINE_EXIT_NO_VMX);
	smp_init(&bi);

	struct vm_table_totals t = { 0 };
	const struct mb2_module *config = find_module(&bi, "config");
	if (config)
		launch_from_config_file(&bi, config, &t);
	else
		launch_from_module_strings(&bi, &t);
	vm_table_run(shell_stay, &t);
	unsigned ran = t.ran, failed = t.failed, refused = t.refused;
	if (bi.module_count == 0)
		pr_warn("no guest modules were given: nothing to run");
	pr_info("all VMs done: %u ran, %u failed, %u refused", ran, failed, refused);
	machine_stop(failed || refused ? MACHINE_EXIT_VM_FAILED : MACHINE_EXIT_OK);
}
