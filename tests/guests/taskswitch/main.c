/* A guest that switches tasks through a TSS descriptor, which VT-x always
 * turns into a VM exit (SDM 26.4.2). The hypervisor does not emulate
 * hardware task switches: it must stop this VM, naming the cause. */
#include "tests/guests/common/guest.h"

static uint8_t tss[104] __attribute__((aligned(16)));
static uint64_t gdt[4] = {
	0,
	0x00cf9a000000ffffULL, /* 0x08 code */
	0x00cf92000000ffffULL, /* 0x10 data */
	0,                     /* 0x18: 32-bit available TSS, filled in below */
};

void guest_main(uint32_t magic, uint32_t mb_info)
{
	(void)magic;
	(void)mb_info;
	uint32_t base = (uint32_t)tss, limit = sizeof(tss) - 1;
	gdt[3] = (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | (0x89ULL << 40) |
		 ((uint64_t)(base >> 24) << 56);
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } gp = { sizeof(gdt) - 1, (uint32_t)gdt };
	__asm__ volatile("lgdt %0" : : "m"(gp));
	gprintf("taskswitch guest: far jump to TSS selector 0x18\n");
	__asm__ volatile("ljmp $0x18, $0");
	gprintf("FAIL: the task switch returned\n");
}
