/* Thin wrappers around privileged x86 instructions. Hardware access lives
 * behind these so the logic that uses them stays readable. */
#ifndef ARCH_X86_CPU_H
#define ARCH_X86_CPU_H

#include "lib/types.h"

/* Control-register bits (SDM Vol. 3A 2.5). */
#define CR0_PE BIT(0)
#define CR0_MP BIT(1)
#define CR0_EM BIT(2)
#define CR0_TS BIT(3)
#define CR0_ET BIT(4)
#define CR0_NE BIT(5)
#define CR0_WP BIT(16)
#define CR0_AM BIT(18)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR0_PG BIT(31)

#define CR4_VME BIT(0)
#define CR4_PVI BIT(1)
#define CR4_TSD BIT(2)
#define CR4_DE BIT(3)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define CR4_MCE BIT(6)
#define CR4_PGE BIT(7)
#define CR4_PCE BIT(8)
#define CR4_OSFXSR BIT(9)
#define CR4_OSXMMEXCPT BIT(10)
#define CR4_UMIP BIT(11)
#define CR4_LA57 BIT(12)
#define CR4_VMXE BIT(13)
#define CR4_SMXE BIT(14)
#define CR4_FSGSBASE BIT(16)
#define CR4_PCIDE BIT(17)
#define CR4_OSXSAVE BIT(18)
#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define CR4_PKE BIT(22)

#define RFLAGS_CF BIT(0)
#define RFLAGS_FIXED BIT(1)
#define RFLAGS_ZF BIT(6)
#define RFLAGS_TF BIT(8)
#define RFLAGS_IF BIT(9)
#define RFLAGS_DF BIT(10)
#define RFLAGS_VM BIT(17)

#define EFER_SCE BIT(0)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)

/* CPUID.1:ECX feature bits we look at (SDM Vol. 2A, CPUID). */
#define CPUID_1_ECX_MONITOR BIT(3)
#define CPUID_1_ECX_VMX BIT(5)
#define CPUID_1_ECX_SMX BIT(6)
#define CPUID_1_ECX_X2APIC BIT(21)
#define CPUID_1_ECX_TSC_DEADLINE BIT(24)
#define CPUID_1_ECX_XSAVE BIT(26)
#define CPUID_1_EDX_APIC BIT(9)
#define CPUID_1_ECX_OSXSAVE BIT(27)
#define CPUID_1_ECX_HYPERVISOR BIT(31)

/* Exception vectors (SDM Vol. 3A 6.3.1). */
#define EXC_DE 0
#define EXC_DB 1
#define EXC_NMI 2
#define EXC_BP 3
#define EXC_OF 4
#define EXC_BR 5
#define EXC_UD 6
#define EXC_NM 7
#define EXC_DF 8
#define EXC_TS 10
#define EXC_NP 11
#define EXC_SS 12
#define EXC_GP 13
#define EXC_PF 14
#define EXC_MF 16
#define EXC_AC 17
#define EXC_MC 18
#define EXC_XM 19
#define EXC_VE 20
#define EXC_CP 21

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

#ifndef HV_HOSTED
static inline void cpuid_count(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
	__asm__ volatile("cpuid"
			 : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
			 : "a"(leaf), "c"(subleaf));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

#define DEFINE_CR_ACCESSORS(n)                                                    \
	static inline uint64_t read_cr##n(void)                                   \
	{                                                                         \
		uint64_t v;                                                       \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                  \
		return v;                                                         \
	}                                                                         \
	static inline void write_cr##n(uint64_t v)                                \
	{                                                                         \
		__asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory");           \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
#undef DEFINE_CR_ACCESSORS

/* Debug registers (SDM Vol. 3B 18.2); n must be a constant. */
#define read_dr(n)                                                                \
	({                                                                        \
		uint64_t _v;                                                      \
		__asm__ volatile("mov %%db" #n ", %0" : "=r"(_v));                 \
		_v;                                                               \
	})
#define write_dr(n, v) __asm__ volatile("mov %0, %%db" #n ::"r"((uint64_t)(v)))

static inline uint64_t read_rflags(void)
{
	uint64_t v;
	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t xgetbv(uint32_t xcr)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(xcr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void xsetbv(uint32_t xcr, uint64_t v)
{
	__asm__ volatile("xsetbv" ::"c"(xcr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* Save and restore the x87/SSE/AVX... state components in `mask` (with
 * XCR0) to a 64-byte aligned XSAVE area (SDM Vol. 1 13.7, 13.8), or the
 * legacy 512-byte FXSAVE image without XSAVE (Vol. 1 10.5.1). */
static inline void xsave64(void *area, uint64_t mask)
{
	__asm__ volatile("xsave64 %0" : "+m"(*(uint8_t(*)[4096])area)
			 : "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)));
}
static inline void xrstor64(const void *area, uint64_t mask)
{
	__asm__ volatile("xrstor64 %0" ::"m"(*(const uint8_t(*)[4096])area), "a"((uint32_t)mask),
			 "d"((uint32_t)(mask >> 32)));
}
static inline void fxsave64(void *area)
{
	__asm__ volatile("fxsave64 %0" : "+m"(*(uint8_t(*)[512])area));
}
static inline void fxrstor64(const void *area)
{
	__asm__ volatile("fxrstor64 %0" ::"m"(*(const uint8_t(*)[512])area));
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

struct PACKED descriptor_table_ptr {
	uint16_t limit;
	uint64_t base;
};

static inline void sgdt(struct descriptor_table_ptr *p)
{
	__asm__ volatile("sgdt %0" : "=m"(*p));
}
static inline void sidt(struct descriptor_table_ptr *p)
{
	__asm__ volatile("sidt %0" : "=m"(*p));
}
static inline uint16_t str_selector(void)
{
	uint16_t v;
	__asm__ volatile("str %0" : "=r"(v));
	return v;
}
#else /* HV_HOSTED */
/* Host unit tests: the same accessors, implemented by the test's fakes
 * (tests/unit/fake_hw.c) for the tests that link code using them. */
void cpuid_count(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r);
uint64_t rdmsr(uint32_t msr);
void wrmsr(uint32_t msr, uint64_t v);
uint64_t read_cr0(void);
void write_cr0(uint64_t v);
uint64_t read_cr2(void);
void write_cr2(uint64_t v);
uint64_t read_cr3(void);
void write_cr3(uint64_t v);
uint64_t read_cr4(void);
void write_cr4(uint64_t v);
uint64_t read_rflags(void);
uint64_t rdtsc(void);
uint64_t xgetbv(uint32_t xcr);
void xsetbv(uint32_t xcr, uint64_t v);
void xsave64(void *area, uint64_t mask);
void xrstor64(const void *area, uint64_t mask);
void fxsave64(void *area);
void fxrstor64(const void *area);
void outb(uint16_t port, uint8_t v);
void outw(uint16_t port, uint16_t v);
void outl(uint16_t port, uint32_t v);
uint8_t inb(uint16_t port);
void cpu_halt_forever(void);

struct PACKED descriptor_table_ptr {
	uint16_t limit;
	uint64_t base;
};

void sgdt(struct descriptor_table_ptr *p);
void sidt(struct descriptor_table_ptr *p);
uint16_t str_selector(void);
uint64_t fake_read_dr(unsigned n);
void fake_write_dr(unsigned n, uint64_t v);
#define read_dr(n) fake_read_dr(n)
#define write_dr(n, v) fake_write_dr(n, v)
#endif /* HV_HOSTED */

/* MSR numbers (SDM Vol. 4). */
#define MSR_IA32_TSC 0x10
#define MSR_IA32_PLATFORM_ID 0x17
#define MSR_IA32_APIC_BASE 0x1b
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_IA32_TSC_ADJUST 0x3b
#define MSR_IA32_SPEC_CTRL 0x48
#define MSR_IA32_PRED_CMD 0x49
#define MSR_IA32_BIOS_SIGN_ID 0x8b
#define MSR_IA32_MTRRCAP 0xfe
#define MSR_IA32_MTRR_DEF_TYPE 0x2ff
#define MSR_IA32_TSC_ADJUST 0x3b
#define MSR_IA32_ARCH_CAPABILITIES 0x10a
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MCG_CAP 0x179
#define MSR_IA32_MCG_STATUS 0x17a
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_MTRR_DEF_TYPE 0x2ff
#define MSR_IA32_PAT 0x277
#define MSR_IA32_DEBUGCTL 0x1d9
#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_PINBASED_CTLS 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define MSR_IA32_VMX_MISC 0x485
#define MSR_IA32_VMX_CR0_FIXED0 0x486
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_VMCS_ENUM 0x48a
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490
#define MSR_IA32_VMX_VMFUNC 0x491
#define MSR_IA32_EFER 0xc0000080
#define MSR_IA32_STAR 0xc0000081
#define MSR_IA32_LSTAR 0xc0000082
#define MSR_IA32_CSTAR 0xc0000083
#define MSR_IA32_FMASK 0xc0000084
#define MSR_IA32_FS_BASE 0xc0000100
#define MSR_IA32_GS_BASE 0xc0000101
#define MSR_IA32_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_TSC_AUX 0xc0000103

/* IA32_FEATURE_CONTROL bits (SDM Vol. 3C 24.7). */
#define FEATURE_CONTROL_LOCKED BIT(0)
#define FEATURE_CONTROL_VMX_IN_SMX BIT(1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX BIT(2)

#endif
