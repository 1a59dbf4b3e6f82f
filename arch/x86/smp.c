/* SMP bring-up: the CPUs come from the ACPI MADT, each AP is started with
 * INIT-SIPI-SIPI into boot/ap_trampoline.S, reaches ap_main in 64-bit mode,
 * turns VMX on with its own VMXON region and parks, waiting for work in its
 * mailbox. docs/smp.md walks through it with the SDM sections. */
#include "arch/x86/smp.h"
#include "arch/x86/smp_defs.h"
#include "arch/x86/acpi_host.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic_host.h"
#include "arch/x86/mm.h"
#include "arch/x86/pmm.h"
#include "arch/x86/tsc.h"
#include "lib/log.h"
#include "lib/string.h"
#include "vmx/vmx.h"
#include "vm/sched.h"

struct cpu cpus[MAX_CPUS];
unsigned cpu_count = 1;

#define AP_STACK_PAGES 16 /* 64 KiB, as the BSP's boot stack */
#define AP_IST_PAGES 2    /* 8 KiB for each of #DF and NMI, as the BSP's */

extern char boot_stack_top[];
extern const char ap_trampoline_start[], ap_trampoline_end[], ap_trampoline_params[];

/* The parameters at the end of the trampoline (boot/ap_trampoline.S). */
struct ap_trampoline_params {
	uint64_t cr3, stack, cpu, entry;
	uint32_t arrived; /* the AP writes 1 in real mode */
	uint32_t reserved;
};

/* What the BSP runs with, for each AP to copy: the CPU state registers are
 * per logical processor (SDM Vol. 3A 9.1.1: an AP starts from the reset
 * state), and PAT must be the same on every CPU (11.12.4). */
static struct {
	uint64_t cr0, cr4, efer, pat, xcr0;
} bsp_state;

static uint8_t bsp_ist[2][8192] ALIGNED(16);

void percpu_set_gs(struct cpu *c)
{
	c->self = c;
	wrmsr(MSR_IA32_GS_BASE, (uint64_t)(uintptr_t)c);
}

void smp_bsp_early_init(void)
{
	struct cpu *c = &cpus[0];
	c->index = 0;
	c->stack_top = boot_stack_top;
	c->ist_top[0] = bsp_ist[0] + sizeof(bsp_ist[0]);
	c->ist_top[1] = bsp_ist[1] + sizeof(bsp_ist[1]);
	percpu_set_gs(c);
	gdt_init(c, c->ist_top[0], c->ist_top[1]);
	c->state = CPU_ONLINE;
}

/* ACPI tables lie in RAM or reserved ranges below 4 GiB, all identity mapped. */
static const void *map_identity(void *ctx, uint64_t pa, uint64_t len)
{
	(void)ctx;
	if (pa + len < pa || pa + len > HOST_MAPPED_LIMIT || pa == 0)
		return NULL;
	return phys_to_virt(pa);
}

static void tsc_delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + tsc_hz / 1000000 * us;
	while (rdtsc() < end)
		cpu_relax();
}

static uint64_t tsc_to_us(uint64_t ticks)
{
	return tsc_hz >= 1000000 ? ticks / (tsc_hz / 1000000) : ticks;
}

/* --- The AP's side ---------------------------------------------------- */

static NORETURN void ap_fail(struct cpu *c, const char *why)
{
	pr_err("CPU %u (APIC ID %u): %s; it stays halted", c->index, c->apic_id, why);
	__atomic_store_n(&c->state, CPU_FAILED, __ATOMIC_RELEASE);
	cpu_halt_forever();
	__builtin_unreachable();
}

/* Parked: take work from the mailbox, run the vCPUs the scheduler gave
 * this CPU (vm/sched.c), else sleep until the wake IPI. `sleeping` is
 * published before the last look, so a kick either is seen here or sends
 * the IPI (vcpu_kick). With IF = 0 while checking, an IPI sent after the
 * check stays pending in the IRR; STI lets it in only after the next
 * instruction (SDM Vol. 2B STI: the interrupt shadow), which is HLT, so it
 * ends that HLT (SDM Vol. 2A HLT) and is never lost. */
static NORETURN void ap_park(struct cpu *c)
{
	struct cpu_mailbox *mb = &c->mailbox;
	for (;;) {
		__asm__ volatile("cli" ::: "memory");
		uint32_t posted = __atomic_load_n(&mb->posted, __ATOMIC_ACQUIRE);
		if (posted != mb->done) {
			mb->fn(c, mb->arg);
			__atomic_store_n(&mb->done, posted, __ATOMIC_RELEASE);
			continue;
		}
		sched_run_ap();
		__atomic_store_n(&c->sleeping, 1, __ATOMIC_SEQ_CST);
		if (sched_has_work() || __atomic_load_n(&mb->posted, __ATOMIC_ACQUIRE) != mb->done) {
			__atomic_store_n(&c->sleeping, 0, __ATOMIC_SEQ_CST);
			continue;
		}
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		__atomic_store_n(&c->sleeping, 0, __ATOMIC_SEQ_CST);
	}
}

NORETURN void ap_main(struct cpu *c)
{
	percpu_set_gs(c);
	gdt_init(c, c->ist_top[0], c->ist_top[1]);
	idt_load();
	/* What the BSP enabled: CR0 (NE, WP...), CR4 (OSXSAVE...; VMXE comes
	 * with VMXON), EFER (the trampoline set only LME), XCR0, PAT. */
	write_cr0(bsp_state.cr0);
	write_cr4(bsp_state.cr4 & ~CR4_VMXE);
	wrmsr(MSR_IA32_EFER, bsp_state.efer);
	if (bsp_state.cr4 & CR4_OSXSAVE)
		xsetbv(0, bsp_state.xcr0);
	wrmsr(MSR_IA32_PAT, bsp_state.pat);
	if (!lapic_host_enable_this_cpu())
		ap_fail(c, "its local APIC is not where the BSP's is, or is disabled");
	uint32_t id = lapic_host_id();
	if (id != c->apic_id)
		ap_fail(c, "its local APIC ID differs from the MADT's");
	const char *err = vmx_enable_ap();
	if (err)
		ap_fail(c, err);
	pr_info("CPU %u (APIC ID %u) online, VMX on", c->index, id);
	__atomic_store_n(&c->state, CPU_ONLINE, __ATOMIC_RELEASE);
	ap_park(c);
}

/* --- The BSP's side --------------------------------------------------- */

bool smp_call(struct cpu *c, cpu_work_fn fn, void *arg)
{
	struct cpu_mailbox *mb = &c->mailbox;
	ticket_lock(&mb->lock);
	mb->fn = fn;
	mb->arg = arg;
	uint32_t seq = mb->posted + 1;
	__atomic_store_n(&mb->posted, seq, __ATOMIC_RELEASE);
	bool ok = lapic_host_send_fixed(c->apic_id, HOST_WAKE_VECTOR);
	uint64_t deadline = rdtsc() + tsc_hz;
	while (ok && __atomic_load_n(&mb->done, __ATOMIC_ACQUIRE) != seq) {
		if (rdtsc() > deadline) {
			ok = false;
			break;
		}
		cpu_relax();
	}
	ticket_unlock(&mb->lock);
	return ok;
}

static void answer_ping(struct cpu *c, void *arg)
{
	(void)arg;
	pr_info("CPU %u: mailbox call answered (woken by IPI vector 0x%x), CR4.VMXE %s", c->index,
		HOST_WAKE_VECTOR, (read_cr4() & CR4_VMXE) ? "still set" : "clear");
}

/* INIT-SIPI-SIPI to one AP (SDM Vol. 3A 9.4.4.1 "Typical BSP Initialization
 * Sequence", and 11.6.1 for the ICR): INIT puts the AP in the
 * wait-for-SIPI state whatever the firmware left it doing; 10 ms later a
 * STARTUP IPI starts it at AP_TRAMPOLINE_BASE; a second STARTUP is sent
 * 200 us later only if the first did not arrive (a STARTUP is ignored by a
 * CPU that is not waiting for one, 9.4.4.1). */
static bool start_ap(struct cpu *c, volatile struct ap_trampoline_params *tp)
{
	tp->cr3 = read_cr3();
	tp->stack = (uint64_t)(uintptr_t)c->stack_top;
	tp->cpu = (uint64_t)(uintptr_t)c;
	tp->entry = (uint64_t)(uintptr_t)ap_main;
	tp->arrived = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	uint64_t t0 = rdtsc();
	if (!lapic_host_send_init(c->apic_id)) {
		pr_warn("APIC ID %u: the INIT IPI was not delivered", c->apic_id);
		return false;
	}
	tsc_delay_us(10000);
	unsigned sipis = 0;
	for (; sipis < 2 && !tp->arrived; sipis++) {
		uint64_t ts = rdtsc();
		if (!lapic_host_send_startup(c->apic_id, AP_TRAMPOLINE_VECTOR)) {
			pr_warn("APIC ID %u: the STARTUP IPI was not delivered", c->apic_id);
			return false;
		}
		tsc_delay_us(200);
		/* Give a slow (emulated) CPU up to 10 ms to reach the trampoline. */
		while (!tp->arrived && rdtsc() - ts < tsc_hz / 100)
			cpu_relax();
	}
	/* Then up to a second to reach ap_main and turn VMX on. */
	uint64_t deadline = rdtsc() + tsc_hz;
	uint32_t st;
	while ((st = __atomic_load_n(&c->state, __ATOMIC_ACQUIRE)) == CPU_STARTING && rdtsc() < deadline)
		cpu_relax();
	pr_debug("APIC ID %u: %s after %u STARTUP IPI(s); state %u %llu us after INIT", c->apic_id,
		 tp->arrived ? "arrived" : "did not arrive", sipis, st,
		 (unsigned long long)tsc_to_us(rdtsc() - t0));
	if (st == CPU_STARTING) {
		pr_warn("APIC ID %u: the CPU did not come online within a second; sent INIT to stop it",
			c->apic_id);
		lapic_host_send_init(c->apic_id); /* back to wait-for-SIPI: it must not run on */
		return false;
	}
	return st == CPU_ONLINE;
}

static struct cpu *prepare_cpu(uint32_t apic_id)
{
	struct cpu *c = &cpus[cpu_count];
	memset(c, 0, sizeof(*c));
	c->index = cpu_count;
	c->apic_id = apic_id;
	uint8_t *stack = page_alloc(AP_STACK_PAGES, PAGE_SIZE);
	uint8_t *ist = page_alloc(2 * AP_IST_PAGES, PAGE_SIZE);
	c->vmxon_region = page_alloc(1, PAGE_SIZE);
	if (!stack || !ist || !c->vmxon_region)
		return NULL; /* at boot, out of memory: the pages stay taken */
	c->stack_top = stack + AP_STACK_PAGES * PAGE_SIZE;
	c->ist_top[0] = ist + AP_IST_PAGES * PAGE_SIZE;
	c->ist_top[1] = ist + 2 * AP_IST_PAGES * PAGE_SIZE;
	return c;
}

static void print_madt(const struct acpi_host_madt *m)
{
	pr_info("ACPI MADT at 0x%llx (through the %s): %u CPU%s, local APIC at 0x%llx",
		(unsigned long long)m->madt_addr, m->from_xsdt ? "XSDT" : "RSDT", m->cpu_count,
		m->cpu_count == 1 ? "" : "s", (unsigned long long)m->lapic_addr);
	for (unsigned i = 0; i < m->cpu_count; i++)
		kprintf("  APIC ID %u, ACPI processor UID %u%s\n", m->cpus[i].apic_id, m->cpus[i].acpi_uid,
			m->cpus[i].x2apic ? " (x2APIC entry)" : "");
	if (m->cpus_dropped)
		pr_warn("ACPI MADT: %u more enabled CPUs ignored (at most %u)", m->cpus_dropped,
			ACPI_HOST_MAX_CPUS);
	if (m->online_capable)
		pr_info("ACPI MADT: %u CPUs can be brought online later (not started)", m->online_capable);
}

void smp_init(const struct boot_info *bi)
{
	if (!bi->rsdp) {
		pr_warn("no ACPI RSDP from the boot loader: only the boot CPU runs");
		return;
	}
	struct acpi_host_madt madt;
	const char *err = acpi_host_find_madt(bi->rsdp, bi->rsdp_len, map_identity, NULL, &madt);
	if (err) {
		pr_warn("ACPI: %s; only the boot CPU runs", err);
		return;
	}
	print_madt(&madt);
	if (madt.cpu_count <= 1)
		return; /* one CPU: nothing to start */

	if (!lapic_host_init()) {
		pr_warn("the local APIC is disabled in IA32_APIC_BASE: only the boot CPU runs");
		return;
	}
	cpus[0].apic_id = lapic_host_id();
	if (!lapic_host_x2apic() && lapic_host_base() != madt.lapic_addr)
		pr_warn("IA32_APIC_BASE says the local APIC is at 0x%llx, the MADT 0x%llx: using the MSR",
			(unsigned long long)lapic_host_base(), (unsigned long long)madt.lapic_addr);
	if (!boot_range_is_free_ram(bi, AP_TRAMPOLINE_BASE, PAGE_SIZE)) {
		pr_warn("the AP start-up page 0x%x is not free RAM: only the boot CPU runs",
			AP_TRAMPOLINE_BASE);
		return;
	}
	size_t tsize = (size_t)(ap_trampoline_end - ap_trampoline_start);
	memcpy(phys_to_virt(AP_TRAMPOLINE_BASE), ap_trampoline_start, tsize);
	volatile struct ap_trampoline_params *tp = phys_to_virt(
		AP_TRAMPOLINE_BASE + (uint64_t)(ap_trampoline_params - ap_trampoline_start));

	bsp_state.cr0 = read_cr0();
	bsp_state.cr4 = read_cr4();
	bsp_state.efer = rdmsr(MSR_IA32_EFER);
	bsp_state.pat = rdmsr(MSR_IA32_PAT);
	bsp_state.xcr0 = (bsp_state.cr4 & CR4_OSXSAVE) ? xgetbv(0) : 0;

	unsigned started = 0, wanted = 0;
	bool bsp_listed = false;
	for (unsigned i = 0; i < madt.cpu_count; i++) {
		uint32_t id = madt.cpus[i].apic_id;
		if (id == cpus[0].apic_id) {
			bsp_listed = true;
			continue;
		}
		wanted++;
		if (id > 0xfe && !lapic_host_x2apic()) {
			pr_warn("APIC ID %u needs x2APIC mode to be addressed: not started", id);
			continue;
		}
		struct cpu *c = prepare_cpu(id);
		if (!c) {
			pr_warn("APIC ID %u: no memory for its stacks: not started", id);
			continue;
		}
		cpu_count++; /* the slot stays this CPU's, started or not: its GDT and TSS may be loaded */
		if (start_ap(c, tp))
			started++;
	}
	if (!bsp_listed)
		pr_warn("the boot CPU's APIC ID %u is not in the MADT", cpus[0].apic_id);
	pr_info("SMP: %u of %u application processors online, VMX on in each; the boot CPU is "
		"APIC ID %u", started, wanted, cpus[0].apic_id);
	/* The mailbox works: each AP wakes on its IPI and answers. */
	for (unsigned i = 1; i < cpu_count; i++)
		if (cpus[i].state == CPU_ONLINE && !smp_call(&cpus[i], answer_ping, NULL))
			pr_warn("CPU %u did not answer its mailbox", i);
}
