#include "arch/x86/tsc.h"
#include "arch/x86/cpu.h"
#include "lib/log.h"

uint64_t tsc_hz;

#define PIT_HZ 1193182ULL
#define PIT_CH2_DATA 0x42
#define PIT_COMMAND 0x43
#define PORT_61 0x61
#define PORT_61_GATE2 0x01
#define PORT_61_SPEAKER 0x02
#define PORT_61_OUT2 0x20

/* Channel 2 in mode 0 counts down once from the reload value; OUT2 (port
 * 0x61 bit 5) rises at terminal count. The TSC ticks between the gate going
 * up and OUT2 rising give its rate (the classic calibration loop). */
static uint64_t measure_with_pit(unsigned ms)
{
	uint32_t count = (uint32_t)(PIT_HZ * ms / 1000);
	uint8_t p61 = inb(PORT_61);
	outb(PORT_61, (uint8_t)((p61 & ~PORT_61_SPEAKER) & ~PORT_61_GATE2));
	outb(PIT_COMMAND, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH2_DATA, (uint8_t)count);
	outb(PIT_CH2_DATA, (uint8_t)(count >> 8));
	uint64_t t0 = rdtsc();
	outb(PORT_61, (uint8_t)((p61 & ~PORT_61_SPEAKER) | PORT_61_GATE2));
	uint64_t spins = 0;
	while (!(inb(PORT_61) & PORT_61_OUT2) && ++spins < 100000000)
		;
	uint64_t t1 = rdtsc();
	outb(PORT_61, p61);
	if (spins >= 100000000)
		return 0;
	return (t1 - t0) * 1000 / ms;
}

void tsc_calibrate(void)
{
	struct cpuid_regs r;
	cpuid_count(0, 0, &r);
	unsigned max = r.eax;
	const char *how = NULL;

	if (max >= 0x15) {
		/* Leaf 15H: TSC = crystal (ECX Hz) * EBX / EAX (SDM Vol. 2A CPUID). */
		cpuid_count(0x15, 0, &r);
		if (r.eax && r.ebx && r.ecx) {
			tsc_hz = (uint64_t)r.ecx * r.ebx / r.eax;
			how = "CPUID leaf 15H";
		}
	}
	if (!tsc_hz) {
		tsc_hz = measure_with_pit(10);
		how = "the 8254 PIT, 10 ms";
	}
	if (!tsc_hz && max >= 0x16) {
		cpuid_count(0x16, 0, &r);
		tsc_hz = (uint64_t)(r.eax & 0xffff) * 1000000;
		how = "CPUID leaf 16H base frequency";
	}
	if (!tsc_hz) {
		tsc_hz = 1000000000ULL;
		how = "a guess: nothing could measure it";
	}
	pr_info("TSC runs at %llu.%03llu MHz (from %s)", (unsigned long long)(tsc_hz / 1000000),
		(unsigned long long)(tsc_hz / 1000 % 1000), how);
}
