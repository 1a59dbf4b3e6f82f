/* A tiny runtime for test guests: serial output, checks, exceptions,
 * and the instructions the tests exercise. 32-bit, paging off. */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_EXIT_PORT 0xf4

/* What the exception stubs push (tests/guests/common/start.S). */
struct exc_frame {
	uint32_t edi, esi, ebp, esp_dummy, ebx, edx, ecx, eax;
	uint32_t vector, error_code;
	uint32_t eip, cs, eflags;
};

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

/* PCI configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2), bus 0:
 * register reg (dword aligned) of device dev, function 0. */
static inline uint32_t pci_cfg(unsigned dev, unsigned reg)
{
	outl(0xcf8, 0x80000000u | (dev << 11) | reg);
	return inl(0xcfc);
}
static inline void pci_cfg_w(unsigned dev, unsigned reg, uint32_t v)
{
	outl(0xcf8, 0x80000000u | (dev << 11) | reg);
	outl(0xcfc, v);
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

void gprintf(const char *fmt, ...);
void guest_exit(uint32_t code) __attribute__((noreturn));
bool running_under_hypervisor(void);

/* Run fn expecting (or not) an exception; returns the vector taken or -1.
 * The faulting instruction is skipped by `skip` bytes. The EIP and error
 * code the exception reported are kept in fault_eip and fault_error. */
int guest_try(void (*fn)(void *), void *arg, unsigned skip);
extern volatile uint32_t fault_eip, fault_error;

/* Vectors 1, 2 and 32..63 call this hook when set (interrupt context). */
extern void (*volatile guest_irq_hook)(struct exc_frame *f);

static inline uint32_t vmcall1(uint32_t nr, uint32_t arg)
{
	uint32_t a = nr, b = arg, c, d;
	__asm__ volatile("vmcall" : "+a"(a), "+b"(b), "=c"(c), "=d"(d) : : "memory");
	return a;
}

#define HC_GET_EXIT_COUNT 1
#define HC_DUMP_STATS 2
#define HC_QUEUE_INTERRUPT 3
#define HC_QUEUE_NMI 4
#define HC_SINGLE_STEP 5

/* Checks: print PASS/FAIL lines and count them. */
void check(bool ok, const char *name, const char *fmt, ...);
int checks_failed(void);
void checks_summary(void);

/* Each guest provides this. */
void guest_main(uint32_t magic, uint32_t mb_info);

#endif
