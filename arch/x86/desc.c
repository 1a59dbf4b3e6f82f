#include "arch/x86/desc.h"
#include "arch/x86/cpu.h"
#include "arch/x86/power.h"
#include "lib/printf.h"
#include "lib/string.h"

struct PACKED tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};

static struct tss64 host_tss;
static uint8_t ist_stack[2][8192] ALIGNED(16);
static uint64_t host_gdt[5] ALIGNED(16);

struct PACKED idt_gate {
	uint16_t offset_lo, selector;
	uint8_t ist, type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi, reserved;
};
static struct idt_gate host_idt[256] ALIGNED(16);

extern const uint64_t isr_stub_table[32];

uint64_t host_tss_base(void)
{
	return (uint64_t)(uintptr_t)&host_tss;
}

void gdt_init(void)
{
	uint64_t base = host_tss_base(), limit = sizeof(host_tss) - 1;

	host_tss.ist[0] = (uint64_t)(uintptr_t)(ist_stack[0] + sizeof(ist_stack[0]));
	host_tss.ist[1] = (uint64_t)(uintptr_t)(ist_stack[1] + sizeof(ist_stack[1]));
	host_tss.iomap_base = sizeof(host_tss); /* no I/O permission bitmap */

	host_gdt[0] = 0;
	host_gdt[1] = 0x00af9a000000ffffULL; /* HOST_CS: 64-bit code */
	host_gdt[2] = 0x00cf92000000ffffULL; /* HOST_DS */
	/* HOST_TR: 64-bit available TSS, a 16-byte system descriptor. */
	host_gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
		      (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	host_gdt[4] = base >> 32;

	struct descriptor_table_ptr p = { sizeof(host_gdt) - 1, (uint64_t)(uintptr_t)host_gdt };
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

void idt_init(void)
{
	for (unsigned v = 0; v < 32; v++) {
		uint64_t off = isr_stub_table[v];
		host_idt[v] = (struct idt_gate){
			.offset_lo = (uint16_t)off,
			.selector = HOST_CS,
			/* NMI and #DF on their own stacks: the current one may be bad. */
			.ist = v == EXC_DF ? 1 : v == EXC_NMI ? 2 : 0,
			.type_attr = 0x8e, /* present, DPL 0, 64-bit interrupt gate */
			.offset_mid = (uint16_t)(off >> 16),
			.offset_hi = (uint32_t)(off >> 32),
		};
	}
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
	kprintf("\n[hv PANIC] host exception %llu (%s), error code 0x%llx\n",
		(unsigned long long)f->vector, name, (unsigned long long)f->error_code);
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
