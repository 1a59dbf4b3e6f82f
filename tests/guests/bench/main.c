/* CPUID round-trip benchmark. Runs the same loop natively (booted by GRUB)
 * and under the hypervisor; in Bochs the TSC counts instructions, so the
 * difference per iteration is the cost of one exit round trip. */
#include "tests/guests/common/guest.h"

#define ITERATIONS 1000u

static uint32_t cpuid_loop(void)
{
	uint32_t r[4];
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < ITERATIONS; i++)
		cpuid(0, 0, r);
	uint64_t t1 = rdtsc();
	return (uint32_t)(t1 - t0);
}

void guest_main(uint32_t magic, uint32_t mb_info)
{
	(void)magic;
	(void)mb_info;
	cpuid_loop(); /* warm up */
	uint32_t best = ~0u;
	for (int run = 0; run < 3; run++) {
		uint32_t t = cpuid_loop();
		if (t < best)
			best = t;
	}
	gprintf("bench-guest: mode=%s iterations=%u ticks=%u\n",
		running_under_hypervisor() ? "hypervisor" : "native", ITERATIONS, best);
}
