/* A guest that triple-faults: it loads an empty IDT and divides by zero.
 * The hypervisor must stop only this VM and say why. */
#include "tests/guests/common/guest.h"

void guest_main(uint32_t magic, uint32_t mb_info)
{
	(void)magic;
	(void)mb_info;
	gprintf("triple guest: loading an empty IDT and faulting\n");
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } empty = { 0, 0 };
	__asm__ volatile("lidt %0\n\t"
			 "xorl %%ecx, %%ecx\n\t"
			 "divl %%ecx" : : "m"(empty) : "eax", "ecx", "edx");
	gprintf("FAIL: still running after the fault\n");
}
