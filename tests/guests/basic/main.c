/* The first guest: exercises each kind of VM exit the skeleton handles and
 * reports a PASS/FAIL line per check. Exit code = number of failed checks. */
#include "tests/guests/common/guest.h"

#define UNMAPPED_GPA 0xe0000000u /* far above the VM's RAM, no device there */
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_BOGUS 0x12345678u

static uint32_t msr_lo, msr_hi, msr_index;

static void do_rdmsr(void *arg)
{
	(void)arg;
	msr_lo = msr_hi = 0xdeadbeef;
	__asm__ volatile("rdmsr" : "=a"(msr_lo), "=d"(msr_hi) : "c"(msr_index)); /* 2 bytes */
}

static void do_wrmsr(void *arg)
{
	(void)arg;
	__asm__ volatile("wrmsr" ::"a"(msr_lo), "d"(msr_hi), "c"(msr_index)); /* 2 bytes */
}

static uint32_t cr4_value;
static void do_write_cr4(void *arg)
{
	(void)arg;
	__asm__ volatile("movl %0, %%cr4" ::"r"(cr4_value)); /* 3 bytes: 0f 22 e0.. */
}

static void do_vmxoff(void *arg)
{
	(void)arg;
	__asm__ volatile(".byte 0x0f, 0x01, 0xc4"); /* VMXOFF, 3 bytes */
}

static uint32_t xcr0_lo;
static void do_xsetbv(void *arg)
{
	(void)arg;
	__asm__ volatile("xsetbv" ::"a"(xcr0_lo), "d"(0), "c"(0)); /* 3 bytes */
}

static void check_cpuid(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	check(r[2] & (1u << 31), "cpuid.1 reports a hypervisor", "ecx=0x%x", r[2]);
	check(!(r[2] & (1u << 5)), "cpuid.1 hides VMX", "ecx=0x%x", r[2]);
	cpuid(0x40000000, 0, r);
	char sig[13];
	__builtin_memcpy(sig, &r[1], 4);
	__builtin_memcpy(sig + 4, &r[2], 4);
	__builtin_memcpy(sig + 8, &r[3], 4);
	sig[12] = 0;
	check(__builtin_memcmp(sig, "TextbookHV  ", 12) == 0 && r[0] >= 0x40000001,
	      "cpuid.40000000 names the hypervisor", "'%s' max 0x%x", sig, r[0]);
	cpuid(0, 0, r);
	check(r[0] >= 1, "cpuid.0 passes the vendor through", "max leaf 0x%x", r[0]);
}

static void check_msrs(void)
{
	msr_index = MSR_IA32_FEATURE_CONTROL;
	int v = guest_try(do_rdmsr, 0, 2);
	check(v == -1 && (msr_lo & 1) && !(msr_lo & 4), "rdmsr IA32_FEATURE_CONTROL: locked, VMX off",
	      "value 0x%x", msr_lo);

	msr_index = MSR_BOGUS;
	v = guest_try(do_rdmsr, 0, 2);
	check(v == 13, "rdmsr of an unknown MSR raises #GP", "vector %d", v);

	msr_index = MSR_BOGUS;
	msr_lo = 1;
	v = guest_try(do_wrmsr, 0, 2);
	check(v == 13, "wrmsr of an unknown MSR raises #GP", "vector %d", v);

	msr_index = MSR_IA32_SYSENTER_ESP;
	msr_lo = 0x12345000;
	msr_hi = 0;
	int w = guest_try(do_wrmsr, 0, 2);
	v = guest_try(do_rdmsr, 0, 2);
	check(w == -1 && v == -1 && msr_lo == 0x12345000, "wrmsr/rdmsr IA32_SYSENTER_ESP round trip",
	      "read 0x%x", msr_lo);
}

static void check_port_io(void)
{
	outb(0x3f8 + 7, 0x5a); /* 16550 scratch register */
	uint8_t s = inb(0x3f8 + 7);
	check(s == 0x5a, "COM1 scratch register keeps what was written", "read 0x%x", s);
	uint8_t lsr = inb(0x3f8 + 5);
	check((lsr & 0x60) == 0x60, "COM1 line status shows an empty transmitter", "LSR 0x%x", lsr);
	/* COM2: a second channel; the hypervisor prints it as [name:COM2]. */
	for (const char *m = "second channel on COM2\n"; *m; m++)
		outb(0x2f8, (uint8_t)*m);
	check((inb(0x2f8 + 5) & 0x60) == 0x60, "COM2 is a second 16550A", "");
	uint32_t none = inl(0x510);
	check(none == 0xffffffffu, "an unclaimed port reads all-ones", "read 0x%x", none);
}

static void check_vmcall(void)
{
	uint32_t a = 0, b, c, d;
	__asm__ volatile("vmcall" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	check(a == 0x100 && b == 0x74786554 /* "Text" */, "vmcall GET_VERSION", "eax=0x%x ebx=0x%x", a, b);
	a = 0x7777;
	__asm__ volatile("vmcall" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	check(a == (uint32_t)-38, "vmcall of an unknown call returns -ENOSYS", "eax=0x%x", a);
}

static void check_unmapped_memory(void)
{
	volatile uint32_t *p32 = (volatile uint32_t *)UNMAPPED_GPA;
	volatile uint8_t *p8 = (volatile uint8_t *)(UNMAPPED_GPA + 0x10);
	volatile uint16_t *p16 = (volatile uint16_t *)(UNMAPPED_GPA + 0x20);
	uint32_t v32 = *p32;
	check(v32 == 0xffffffffu, "32-bit read of unmapped memory gives all-ones", "read 0x%x", v32);
	*p32 = 0x11223344; /* dropped, and the guest goes on */
	uint32_t again = *p32;
	check(again == 0xffffffffu, "a write to unmapped memory is dropped", "read 0x%x", again);
	uint32_t v8 = *p8;
	check(v8 == 0xff, "8-bit read of unmapped memory (movzx) gives 0xff", "read 0x%x", v8);
	uint32_t v16 = *p16;
	check(v16 == 0xffff, "16-bit read of unmapped memory gives 0xffff", "read 0x%x", v16);
	uint32_t ax = 0x12345678;
	__asm__ volatile("movb (%1), %%ah" : "+a"(ax) : "r"(p8) : "memory");
	check(ax == 0x1234ff78, "read into AH keeps the rest of EAX", "eax 0x%x", ax);
	uint32_t moffs;
	__asm__ volatile("movl 0xe0000040, %0" : "=a"(moffs)); /* A1 moffs32 */
	check(moffs == 0xffffffffu, "MOV EAX, moffs32 from unmapped memory", "read 0x%x", moffs);
}

static void check_control_registers(void)
{
	uint32_t cr0, cr4;
	__asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
	check((cr0 & 1) && !(cr0 & (1u << 31)), "CR0 reads protected mode, paging off", "cr0 0x%x", cr0);
	__asm__ volatile("movl %%cr4, %0" : "=r"(cr4));
	check(!(cr4 & (1u << 13)), "CR4.VMXE reads as 0", "cr4 0x%x", cr4);
	cr4_value = cr4 | (1u << 9) | (1u << 10); /* OSFXSR, OSXMMEXCPT */
	int v = guest_try(do_write_cr4, 0, 3);
	__asm__ volatile("movl %%cr4, %0" : "=r"(cr4));
	check(v == -1 && (cr4 & (3u << 9)) == (3u << 9), "CR4 write reads back", "cr4 0x%x", cr4);
	cr4_value = cr4 | (1u << 13);
	v = guest_try(do_write_cr4, 0, 3);
	check(v == 13, "setting CR4.VMXE raises #GP", "vector %d", v);
	uint32_t cr0_new = cr0 | (1u << 3); /* TS */
	__asm__ volatile("movl %0, %%cr0" ::"r"(cr0_new));
	__asm__ volatile("clts");
	__asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
	check(!(cr0 & (1u << 3)), "CLTS clears CR0.TS", "cr0 0x%x", cr0);
}

static void check_xsetbv(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 26))) {
		check(true, "XSETBV skipped: no XSAVE on this CPU", "");
		return;
	}
	uint32_t cr4;
	__asm__ volatile("movl %%cr4, %0" : "=r"(cr4));
	cr4_value = cr4 | (1u << 18); /* OSXSAVE */
	int v = guest_try(do_write_cr4, 0, 3);
	cpuid(1, 0, r);
	check(v == -1 && (r[2] & (1u << 27)), "CR4.OSXSAVE shows in CPUID.1:ECX.OSXSAVE", "ecx 0x%x", r[2]);
	xcr0_lo = 3; /* x87 | SSE */
	v = guest_try(do_xsetbv, 0, 3);
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	check(v == -1 && lo == 3, "XSETBV of x87|SSE takes effect", "xcr0 0x%x", lo);
	xcr0_lo = 2; /* x87 bit clear: invalid */
	v = guest_try(do_xsetbv, 0, 3);
	check(v == 13, "XSETBV without x87 raises #GP", "vector %d", v);
}

static void check_vmx_hidden(void)
{
	int v = guest_try(do_vmxoff, 0, 3);
	check(v == 6, "VMXOFF in the guest raises #UD", "vector %d", v);
}

void guest_main(uint32_t magic, uint32_t mb_info)
{
	gprintf("basic guest: hello from VMX non-root mode\n");
	check(magic == 0x36d76289u, "entered with the Multiboot2 magic", "eax 0x%x", magic);
	uint32_t total = *(volatile uint32_t *)mb_info;
	check(total >= 16 && total < 4096, "Multiboot2 information is present", "%u bytes at 0x%x",
	      total, mb_info);
	if (!running_under_hypervisor()) {
		gprintf("basic guest: not under a hypervisor; nothing to check\n");
		return;
	}
	check_cpuid();
	check_msrs();
	check_port_io();
	check_vmcall();
	check_unmapped_memory();
	check_control_registers();
	check_xsetbv();
	check_vmx_hidden();
	checks_summary();
}
