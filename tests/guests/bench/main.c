/* Benchmarks, run natively (booted by GRUB) and under the hypervisor. In
 * Bochs the TSC counts instructions, so each difference between the two is
 * the hypervisor's cost in instructions.
 *   cpuid: a loop of CPUID (one VM exit each under the hypervisor);
 *   eoi: a loop of writes to the local APIC's EOI register (xAPIC MMIO:
 *        one EPT-violation exit each, decoded and emulated);
 *   timer_irq: a fixed busy loop, once with the LAPIC timer firing every
 *        TIMER_PERIOD_TSC ticks and once without; the extra ticks per
 *        interrupt, minus the guest's own handler, are the delivery cost. */
#include "tests/guests/common/guest.h"

#define ITERATIONS 1000u
#define LAPIC 0xfee00000u
#define V_TIMER 48
#define BUSY_LOOPS 200000u

static volatile uint32_t ticks;
static void hook(struct exc_frame *f)
{
	if (f->vector == V_TIMER) {
		ticks++;
		*(volatile uint32_t *)(LAPIC + 0xb0) = 0;
	}
}

static uint32_t cpuid_loop(void)
{
	uint32_t r[4];
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < ITERATIONS; i++)
		cpuid(0, 0, r);
	return (uint32_t)(rdtsc() - t0);
}

static uint32_t eoi_loop(void)
{
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < ITERATIONS; i++)
		*(volatile uint32_t *)(LAPIC + 0xb0) = 0;
	return (uint32_t)(rdtsc() - t0);
}

static uint32_t busy_loop(void)
{
	uint64_t t0 = rdtsc();
	for (volatile uint32_t i = 0; i < BUSY_LOOPS; i++)
		;
	return (uint32_t)(rdtsc() - t0);
}

static uint32_t best(uint32_t (*fn)(void))
{
	fn(); /* warm up */
	uint32_t b = ~0u;
	for (int run = 0; run < 3; run++) {
		uint32_t t = fn();
		if (t < b)
			b = t;
	}
	return b;
}

void guest_main(uint32_t magic, uint32_t mb_info)
{
	(void)magic;
	(void)mb_info;
	const char *mode = running_under_hypervisor() ? "hypervisor" : "native";
	gprintf("bench-guest: mode=%s test=cpuid iterations=%u ticks=%u\n", mode, ITERATIONS,
		best(cpuid_loop));

	/* The local APIC, software-enabled, in xAPIC mode (both Bochs natively
	 * and the hypervisor start it that way). */
	guest_irq_hook = hook;
	/* Booted natively, the BIOS left the 8259 unmasked with IRQ 0 on
	 * vector 8: mask it, or the PIT would look like a double fault. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	*(volatile uint32_t *)(LAPIC + 0xf0) = 0x13f; /* enabled, spurious vector 63 */
	gprintf("bench-guest: mode=%s test=eoi iterations=%u ticks=%u\n", mode, ITERATIONS,
		best(eoi_loop));

	uint32_t quiet = best(busy_loop);
	*(volatile uint32_t *)(LAPIC + 0x3e0) = 0xb;                 /* divide by 1 */
	*(volatile uint32_t *)(LAPIC + 0x320) = (1u << 17) | V_TIMER; /* periodic */
	*(volatile uint32_t *)(LAPIC + 0x380) = 100000;              /* bus ticks per period */
	ticks = 0;
	__asm__ volatile("sti");
	uint32_t noisy = busy_loop();
	__asm__ volatile("cli");
	*(volatile uint32_t *)(LAPIC + 0x320) = 1u << 16;
	gprintf("bench-guest: mode=%s test=timer_irq quiet=%u noisy=%u interrupts=%u\n", mode, quiet,
		noisy, ticks);
}
