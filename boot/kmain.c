/* From GRUB to guests: the hypervisor's main line. */
#include "boot/multiboot2.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/mm.h"
#include "arch/x86/power.h"
#include "arch/x86/serial.h"
#include "lib/log.h"
#include "lib/string.h"
#include "vm/config.h"
#include "vm/vm_create.h"
#include "vmx/vmx.h"

#define HV_BANNER "TextbookHV 0.1 - a bare-metal VT-x hypervisor"

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

/* Hypervisor options on the Multiboot2 command line:
 *   loglevel=error|warn|info|debug
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

void kmain(uint32_t magic, uint32_t info_addr);
void kmain(uint32_t magic, uint32_t info_addr)
{
	serial_init();
	gdt_init();
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
	if (selftest_host_fault) {
		pr_info("selftest: executing UD2 in the hypervisor");
		__asm__ volatile("movabs $0x1122334455667788, %%r15\n\tud2" ::: "r15");
	}

	enum vmx_support s = vmx_probe();
	if (s != VMX_OK)
		machine_stop(MACHINE_EXIT_NO_VMX);
	if (!vmx_enable())
		machine_stop(MACHINE_EXIT_NO_VMX);

	/* Every module is a guest image with its VM settings in its string. */
	unsigned ran = 0, failed = 0, refused = 0;
	for (unsigned i = 0; i < bi.module_count; i++) {
		const struct mb2_module *m = &bi.modules[i];
		struct vm_config cfg;
		char errbuf[96], defname[16];
		hv_snprintf(defname, sizeof(defname), "vm%u", i);
		const char *cerr = vm_config_parse(m->string, defname, &cfg, errbuf, sizeof(errbuf));
		if (cerr) {
			pr_err("module %u ('%s') refused: %s", i, m->string, cerr);
			refused++;
			continue;
		}
		struct vm *vm = vm_create(&cfg, phys_to_virt(m->start), m->end - m->start);
		if (!vm) {
			refused++;
			continue;
		}
		ran++;
		if (!vm_run(vm))
			failed++;
		vm_report(vm);
	}
	if (bi.module_count == 0)
		pr_warn("no guest modules were given: nothing to run");
	pr_info("all VMs done: %u ran, %u failed, %u refused", ran, failed, refused);
	machine_stop(failed || refused ? MACHINE_EXIT_VM_FAILED : MACHINE_EXIT_OK);
}
