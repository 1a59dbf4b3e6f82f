/* Reset through the keyboard controller (i8042 command 0xFE pulses the reset
 * line): the VM starts over from its kernel, RAM cleared, while the CMOS
 * NVRAM, on its battery, keeps the marker the first boot left. */
#include "tests/guests/common/guest.h"

static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }

#define CMOS_MARKER 0x40 /* an NVRAM byte no BIOS field uses */
#define MARKER 0xa5

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static void cmos_w(uint8_t reg, uint8_t v)
{
	outb(0x70, reg);
	outb(0x71, v);
}

static uint32_t ram_marker; /* .bss: zero after every (re)load */

void guest_main(uint32_t magic, uint32_t mb_info)
{
	(void)magic;
	(void)mb_info;
	uint8_t m = cmos(CMOS_MARKER);
	if (m != MARKER && m != MARKER + 1) {
		gprintf("reset guest: first boot; asking the i8042 for a reset\n");
		cmos_w(CMOS_MARKER, MARKER);
		ram_marker = 0x1234;
		while (inb(0x64) & 0x02)
			; /* input buffer empty */
		outb(0x64, 0xfe);
		for (;;)
			__asm__ volatile("pause");
	}
	if (m == MARKER) {
		gprintf("reset guest: second boot; resetting through port 0xcf9\n");
		check(ram_marker == 0, "RAM was reloaded (the first boot's variable is gone)", "0x%x",
		      ram_marker);
		cmos_w(CMOS_MARKER, MARKER + 1);
		outb(0xcf9, 0x06); /* the FADT's RESET_REG: full reset */
		for (;;)
			__asm__ volatile("pause");
	}
	gprintf("reset guest: third boot\n");
	check(true, "the VM started again after the i8042 reset and the 0xcf9 reset", "");
	cmos_w(CMOS_MARKER, 0);
	checks_summary();
	/* Power off through ACPI (SLP_TYP 5 | SLP_EN in PM1a_CNT) instead of the
	 * exit port: the hypervisor stops the VM and says so. */
	outw(0x604, (5u << 10) | (1u << 13));
	gprintf("FAIL: still running after the ACPI power-off\n");
}
