#include "arch/x86/cmos.h"
#include "arch/x86/cpu.h"
#include "devices/rtc_cmos.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define CMOS_NMI_DISABLE 0x80

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, CMOS_NMI_DISABLE | reg);
	return inb(CMOS_DATA);
}

static unsigned from_bcd(uint8_t v, bool bcd)
{
	return bcd ? (unsigned)((v >> 4) * 10 + (v & 0xf)) : v;
}

int64_t host_rtc_read(void)
{
	/* Wait out an update in progress (register A bit 7, MC146818 datasheet),
	 * then read twice until two reads agree. */
	struct rtc_date d, prev = { 0 };
	for (int tries = 0; tries < 5; tries++) {
		for (unsigned spins = 0; (cmos_read(0x0a) & 0x80) && spins < 1000000; spins++)
			;
		uint8_t b = cmos_read(0x0b);
		bool bcd = !(b & 0x04), h24 = b & 0x02;
		uint8_t hour = cmos_read(0x04);
		d.second = from_bcd(cmos_read(0x00), bcd);
		d.minute = from_bcd(cmos_read(0x02), bcd);
		d.hour = from_bcd(hour & 0x7f, bcd);
		if (!h24) {
			d.hour %= 12;
			if (hour & 0x80)
				d.hour += 12;
		}
		d.day = from_bcd(cmos_read(0x07), bcd);
		d.month = from_bcd(cmos_read(0x08), bcd);
		unsigned century = from_bcd(cmos_read(0x32), bcd);
		d.year = (int)((century >= 19 && century <= 30 ? century : 20) * 100 +
			       from_bcd(cmos_read(0x09), bcd));
		d.weekday = 0;
		if (tries && d.second == prev.second && d.minute == prev.minute && d.hour == prev.hour &&
		    d.day == prev.day)
			break;
		prev = d;
	}
	if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31)
		return 0;
	return rtc_date_to_time(&d);
}
