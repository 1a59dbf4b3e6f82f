#include "arch/x86/desc.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/power.h"
#include "lib/printf.h"
#include "lib/string.h"


struct PACKED idt_gate {
	uint16_t offset_lo, selector;
	uint8_t ist, type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi, reserved;
};
static struct idt_gate host_idt[256] ALIGNED(16);

extern const uint64_t isr_stub_table[32];
extern const char isr_wake[], isr_spurious[];

uint64_t host_tss_base(void)
{
	return (uint64_t)(uintptr_t)&this_cpu()->tss;
}

/* Each CPU has its own GDT and TSS: LTR marks the TSS descriptor busy, and
 * a second LTR of a busy descriptor faults (SDM Vol. 3A 8.2.4), so CPUs
 * cannot share one. The selectors are the same on every CPU. */
void gdt_init(struct cpu *c, void *ist_df_top, void *ist_nmi_top)
{
	uint64_t base = (uint64_t)(uintptr_t)&c->tss, limit = sizeof(c->tss) - 1;
	uint64_t *gdt = c->gdt;

	memset(&c->tss, 0, sizeof(c->tss));
	c->tss.ist[0] = (uint64_t)(uintptr_t)ist_df_top;
	c->tss.ist[1] = (uint64_t)(uintptr_t)ist_nmi_top;
	c->tss.iomap_base = sizeof(c->tss); /* no I/O permission bitmap */

	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffULL; /* HOST_CS: 64-bit code */
	gdt[2] = 0x00cf92000000ffffULL; /* HOST_DS */
	/* HOST_TR: 64-bit available TSS, a 16-byte system descriptor. */
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
		 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;

	struct descriptor_table_ptr p = { sizeof(c->gdt) - 1, (uint64_t)(uintptr_t)gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "ltr %w3\n\t"
			 :
			 : "m"(p), "i"((uint64_t)HOST_CS), "r"((uint32_t)HOST_DS), "r"((uint32_t)HOST_TR)
			 : "rax", "memory");
}

static void set_gate(unsigned v, uint64_t off, uint8_t ist)
{
	host_idt[v] = (struct idt_gate){
		.offset_lo = (uint16_t)off,
		.selector = HOST_CS,
		.ist = ist,
		.type_attr = 0x8e, /* present, DPL 0, 64-bit interrupt gate */
		.offset_mid = (uint16_t)(off >> 16),
		.offset_hi = (uint32_t)(off >> 32),
	};
}

void idt_init(void)
{
	/* NMI and #DF on their own stacks: the current one may be bad. */
	for (unsigned v = 0; v < 32; v++)
		set_gate(v, isr_stub_table[v], v == EXC_DF ? 1 : v == EXC_NMI ? 2 : 0);
	/* Only parked APs take interrupts (IF=1 around their HLT): the wake IPI
	 * and the local APIC's spurious vector. Every other vector is absent,
	 * so a stray one faults (#GP) and is reported. */
	set_gate(HOST_WAKE_VECTOR, (uint64_t)(uintptr_t)isr_wake, 0);
	set_gate(HOST_SPURIOUS_VECTOR, (uint64_t)(uintptr_t)isr_spurious, 0);
	idt_load();
}

/* One IDT for all CPUs: it is only read. */
void idt_load(void)
{
	struct descriptor_table_ptr p = { sizeof(host_idt) - 1, (uint64_t)(uintptr_t)host_idt };
	__asm__ volatile("lidt %0" ::"m"(p));
}

static const char *const exception_names[32] = {
	[EXC_DE] = "#DE divide error", [EXC_DB] = "#DB debug", [EXC_NMI] = "NMI",
	[EXC_BP] = "#BP breakpoint", [EXC_OF] = "#OF overflow", [EXC_BR] = "#BR bound range",
	[EXC_UD] = "#UD invalid opcode", [EXC_NM] = "#NM device not available",
	[EXC_DF] = "#DF double fault", [EXC_TS] = "#TS invalid TSS",
	[EXC_NP] = "#NP segment not present", [EXC_SS] = "#SS stack fault",
	[EXC_GP] = "#GP general protection", [EXC_PF] = "#PF page fault",
	[EXC_MF] = "#MF x87 error", [EXC_AC] = "#AC alignment check",
	[EXC_MC] = "#MC machine check", [EXC_XM] = "#XM SIMD exception",
	[EXC_VE] = "#VE virtualization exception", [EXC_CP] = "#CP control protection",
};

void exception_handler(struct trap_frame *f);
void exception_handler(struct trap_frame *f)
{
	const char *name = f->vector < 32 && exception_names[f->vector] ? exception_names[f->vector]
									 : "reserved vector";
	kprintf("\n[hv PANIC] host exception %llu (%s) on CPU %u, error code 0x%llx\n",
		(unsigned long long)f->vector, name, this_cpu()->index, (unsigned long long)f->error_code);
	kprintf("  RIP %016llx  CS %04llx  RFLAGS %016llx\n", (unsigned long long)f->rip,
		(unsigned long long)f->cs, (unsigned long long)f->rflags);
	kprintf("  RSP %016llx  SS %04llx  CR2 %016llx\n", (unsigned long long)f->rsp,
		(unsigned long long)f->ss, (unsigned long long)read_cr2());
	kprintf("  CR0 %016llx  CR3 %016llx  CR4 %016llx\n", (unsigned long long)read_cr0(),
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	kprintf("  RAX %016llx  RBX %016llx  RCX %016llx  RDX %016llx\n",
		(unsigned long long)f->rax, (unsigned long long)f->rbx, (unsigned long long)f->rcx,
		(unsigned long long)f->rdx);
	kprintf("  RSI %016llx  RDI %016llx  RBP %016llx  R8  %016llx\n",
		(unsigned long long)f->rsi, (unsigned long long)f->rdi, (unsigned long long)f->rbp,
		(unsigned long long)f->r8);
	kprintf("  R9  %016llx  R10 %016llx  R11 %016llx  R12 %016llx\n",
		(unsigned long long)f->r9, (unsigned long long)f->r10, (unsigned long long)f->r11,
		(unsigned long long)f->r12);
	kprintf("  R13 %016llx  R14 %016llx  R15 %016llx\n", (unsigned long long)f->r13,
		(unsigned long long)f->r14, (unsigned long long)f->r15);
	kprintf("[hv PANIC] the hypervisor cannot continue; stopping the machine\n");
	machine_stop(MACHINE_EXIT_PANIC);
}
