/* devices/rtc_cmos.c through a port I/O bus on a fake vclock: the date
 * helpers against an independent calendar, reading the clock in BCD and
 * binary, 12-hour mode, UIP timing, SET, the divider, the periodic,
 * alarm and update interrupts, register C, NVRAM sizes, and random port
 * traffic. */
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "tests/unit/rig.h"
#include "devices/rtc_cmos.h"

/* One divider cycle is 100000 TSC ticks: a second is 3276800000. */
#define CYCLE 100000ull
#define HZ (32768 * CYCLE)
#define SECOND HZ

/* 2024-02-29 13:45:56, a Thursday. */
#define LEAP_DAY_AFTERNOON 1709214356

struct rig {
	struct rtc_cmos rtc;
	struct bus bus;
	uint64_t now;
	struct rig_line irq8;
};

static void line_set(void *ctx, unsigned pin, bool asserted)
{
	struct rig_line *l = ctx;
	assert_int_equal(pin, 8);
	assert_true(asserted != l->level); /* the RTC reports changes */
	rig_line_set(l, asserted);
}

static void rig_init(struct rig *r, int64_t epoch, uint64_t ram)
{
	memset(r, 0, sizeof(*r));
	struct vclock clock = { rig_fake_now, &r->now, HZ };
	struct irq_line irq8 = { line_set, &r->irq8, 8 };
	rtc_cmos_init(&r->rtc, &clock, &irq8, epoch, ram);
	struct bus_device dev = { "RTC", RTC_BASE, RTC_NR_PORTS, rtc_read, rtc_write, &r->rtc };
	rig_bus_attach(&r->bus, &dev, 1);
}

static uint8_t rd(struct rig *r, uint8_t reg)
{
	rig_out8(&r->bus, 0x70, reg);
	return rig_in8(&r->bus, 0x71);
}

static void wr(struct rig *r, uint8_t reg, uint8_t v)
{
	rig_out8(&r->bus, 0x70, reg);
	rig_out8(&r->bus, 0x71, v);
}

struct shown {
	uint8_t sec, min, hour, wday, day, month, year, century;
};

static struct shown clock_regs(struct rig *r)
{
	return (struct shown){ rd(r, 0), rd(r, 2), rd(r, 4), rd(r, 6), rd(r, 7), rd(r, 8), rd(r, 9), rd(r, 0x32) };
}

static void assert_shown(struct rig *r, struct shown want)
{
	struct shown got = clock_regs(r);
	assert_int_equal(got.sec, want.sec);
	assert_int_equal(got.min, want.min);
	assert_int_equal(got.hour, want.hour);
	assert_int_equal(got.wday, want.wday);
	assert_int_equal(got.day, want.day);
	assert_int_equal(got.month, want.month);
	assert_int_equal(got.year, want.year);
	assert_int_equal(got.century, want.century);
}

/* --- The date helpers, against a calendar counted a day at a time. */

static bool leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(long y, unsigned m)
{
	static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return days[m - 1] + (m == 2 && leap(y));
}

static void test_date_known_points(void **state)
{
	(void)state;
	static const struct {
		int64_t t;
		struct rtc_date d;
	} known[] = {
		{ 0, { 1970, 1, 1, 0, 0, 0, 4 } },
		{ 951782400, { 2000, 2, 29, 0, 0, 0, 2 } },
		{ LEAP_DAY_AFTERNOON, { 2024, 2, 29, 13, 45, 56, 4 } },
		{ 1709251200, { 2024, 3, 1, 0, 0, 0, 5 } },
		{ 4107542399, { 2100, 2, 28, 23, 59, 59, 0 } },
		{ 4107542400, { 2100, 3, 1, 0, 0, 0, 1 } }, /* 2100 is not a leap year */
		{ -2208988800, { 1900, 1, 1, 0, 0, 0, 1 } },
		{ -1, { 1969, 12, 31, 23, 59, 59, 3 } },
		{ RTC_TIME_MAX, { 9999, 12, 31, 23, 59, 59, 5 } },
		{ RTC_TIME_MIN, { 0, 1, 1, 0, 0, 0, 6 } },
	};
	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		struct rtc_date d;
		rtc_time_to_date(known[i].t, &d);
		assert_int_equal(d.year, known[i].d.year);
		assert_int_equal(d.month, known[i].d.month);
		assert_int_equal(d.day, known[i].d.day);
		assert_int_equal(d.hour, known[i].d.hour);
		assert_int_equal(d.minute, known[i].d.minute);
		assert_int_equal(d.second, known[i].d.second);
		assert_int_equal(d.weekday, known[i].d.weekday);
		assert_int_equal(rtc_date_to_time(&known[i].d), known[i].t);
	}
}

/* Every day from 1600 to 2400, across every kind of leap year. */
static void test_date_every_day(void **state)
{
	(void)state;
	int64_t days = 0; /* 1970-01-01 */
	for (long y = 1969; y >= 1600; y--)
		days -= leap(y) ? 366 : 365;
	unsigned weekday = (unsigned)((days % 7 + 7 + 4) % 7);
	for (long y = 1600; y < 2400; y++) {
		for (unsigned m = 1; m <= 12; m++) {
			for (unsigned dd = 1; dd <= month_days(y, m); dd++) {
				int64_t t = days * 86400 + 12 * 3600 + 34 * 60 + 56;
				struct rtc_date d;
				rtc_time_to_date(t, &d);
				assert_int_equal(d.year, y);
				assert_int_equal(d.month, m);
				assert_int_equal(d.day, dd);
				assert_int_equal(d.hour, 12);
				assert_int_equal(d.minute, 34);
				assert_int_equal(d.second, 56);
				assert_int_equal(d.weekday, weekday);
				assert_int_equal(rtc_date_to_time(&d), t);
				days++;
				weekday = (weekday + 1) % 7;
			}
		}
	}
}

static void test_date_clamping(void **state)
{
	(void)state;
	struct rtc_date d;
	rtc_time_to_date(INT64_MIN, &d);
	assert_int_equal(d.year, 0);
	rtc_time_to_date(INT64_MAX, &d);
	assert_int_equal(d.year, 9999);
	assert_int_equal(d.second, 59);
	/* A day past the end of the month rolls over. */
	struct rtc_date feb30 = { 2024, 2, 30, 0, 0, 0, 0 };
	rtc_time_to_date(rtc_date_to_time(&feb30), &d);
	assert_int_equal(d.month, 3);
	assert_int_equal(d.day, 1);
	feb30.year = 2023;
	rtc_time_to_date(rtc_date_to_time(&feb30), &d);
	assert_int_equal(d.day, 2);
	/* Fields out of range are clamped. */
	struct rtc_date wild = { 12345, 13, 0, 24, 60, 60, 9 };
	rtc_time_to_date(rtc_date_to_time(&wild), &d);
	assert_int_equal(d.year, 9999);
	assert_int_equal(d.month, 12);
	assert_int_equal(d.day, 1);
	assert_int_equal(d.hour, 23);
	assert_int_equal(d.minute, 59);
	assert_int_equal(d.second, 59);
	struct rtc_date early = { -5, 0, 99, 0, 0, 0, 0 };
	rtc_time_to_date(rtc_date_to_time(&early), &d);
	assert_int_equal(d.year, 0);
	assert_int_equal(d.month, 1);
	assert_int_equal(d.day, 31);
}

/* --- The device. */

static void test_read_known_date(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, LEAP_DAY_AFTERNOON, MiB(32));
	/* BCD, 24-hour (the state a BIOS leaves); Thursday is day 5. */
	assert_int_equal(rd(&r, 0x0b), 0x02);
	assert_shown(&r, (struct shown){ 0x56, 0x45, 0x13, 5, 0x29, 0x02, 0x24, 0x20 });
	/* Binary. */
	wr(&r, 0x0b, 0x06);
	assert_shown(&r, (struct shown){ 56, 45, 13, 5, 29, 2, 24, 20 });
	/* The clock moves: 4 s later, then over midnight into March. */
	r.now = 4 * SECOND;
	assert_int_equal(rd(&r, 0), 0); /* 13:46:00 */
	assert_int_equal(rd(&r, 2), 46);
	r.now = (4 + 10 * 3600 + 14 * 60) * SECOND;
	assert_shown(&r, (struct shown){ 0, 0, 0, 6, 1, 3, 24, 20 });
	/* Register D: valid RAM and time. */
	assert_int_equal(rd(&r, 0x0d), 0x80);

	/* The end of a century, in BCD. */
	rig_init(&r, 946684799, 0); /* 1999-12-31 23:59:59, a Friday */
	assert_shown(&r, (struct shown){ 0x59, 0x59, 0x23, 6, 0x31, 0x12, 0x99, 0x19 });
	r.now = SECOND;
	assert_shown(&r, (struct shown){ 0x00, 0x00, 0x00, 7, 0x01, 0x01, 0x00, 0x20 });
	/* And the end of time wraps to year 0000, a Saturday. */
	rig_init(&r, RTC_TIME_MAX, 0);
	r.now = SECOND;
	assert_shown(&r, (struct shown){ 0x00, 0x00, 0x00, 7, 0x01, 0x01, 0x00, 0x00 });
}

static void test_twelve_hour_mode(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, LEAP_DAY_AFTERNOON, 0);
	wr(&r, 0x0b, 0x00); /* 12-hour, BCD */
	assert_int_equal(rd(&r, 4), 0x81); /* 1 PM */
	wr(&r, 0x0b, 0x04); /* 12-hour, binary */
	assert_int_equal(rd(&r, 4), 0x81);
	/* Midnight is 12 AM, noon 12 PM. */
	rig_init(&r, 1709251200, 0); /* 00:00:00 */
	wr(&r, 0x0b, 0x00);
	assert_int_equal(rd(&r, 4), 0x12);
	rig_init(&r, 1709251200 + 12 * 3600, 0);
	wr(&r, 0x0b, 0x00);
	assert_int_equal(rd(&r, 4), 0x92);
	rig_init(&r, 1709251200 + 11 * 3600 + 59 * 60 + 59, 0);
	wr(&r, 0x0b, 0x00);
	assert_int_equal(rd(&r, 4), 0x11);
	r.now = SECOND;
	assert_int_equal(rd(&r, 4), 0x92); /* 11:59:59 AM to 12 PM */
	/* Set 7 PM in 12-hour mode, read back in 24-hour mode. */
	wr(&r, 0x0b, 0x80);
	wr(&r, 4, 0x87);
	wr(&r, 0x0b, 0x00);
	wr(&r, 0x0b, 0x02);
	assert_int_equal(rd(&r, 4), 0x19);
	/* The hour alarm compares in the same format: 7 PM = 0x87. */
	wr(&r, 0x0b, 0x00);
	wr(&r, 1, 0xff);
	wr(&r, 3, 0xff);
	wr(&r, 5, 0x87);
	(void)rd(&r, 0x0c);
	r.now += SECOND;
	assert_int_equal(rd(&r, 0x0c) & 0x20, 0x20);
	wr(&r, 5, 0x19);
	r.now += SECOND;
	assert_int_equal(rd(&r, 0x0c) & 0x20, 0);
}

static void test_uip_timing(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, LEAP_DAY_AFTERNOON, 0);
	/* UIP rises 244 us (8 cycles of 32.768 kHz) before each update. */
	for (unsigned s = 1; s <= 3; s++) {
		r.now = s * SECOND - 8 * CYCLE - 1;
		assert_int_equal(rd(&r, 0x0a), 0x26);
		r.now = s * SECOND - 8 * CYCLE;
		assert_int_equal(rd(&r, 0x0a), 0xa6);
		assert_int_equal(rd(&r, 0), 0x56 + s - 1); /* not yet updated */
		r.now = s * SECOND - 1;
		assert_int_equal(rd(&r, 0x0a), 0xa6);
		r.now = s * SECOND;
		assert_int_equal(rd(&r, 0x0a), 0x26);
		assert_int_equal(rd(&r, 0), 0x56 + s);
	}
	/* SET clears UIP. */
	r.now = 4 * SECOND - 4 * CYCLE;
	assert_int_equal(rd(&r, 0x0a), 0xa6);
	wr(&r, 0x0b, 0x82);
	assert_int_equal(rd(&r, 0x0a), 0x26);
	/* UIP is read-only. */
	wr(&r, 0x0a, 0xa6);
	wr(&r, 0x0b, 0x02);
	r.now = 5 * SECOND - 20 * CYCLE;
	assert_int_equal(rd(&r, 0x0a), 0x26);
}

static void test_set_freezes(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, LEAP_DAY_AFTERNOON, 0);
	wr(&r, 0x0b, 0x12); /* UIE on */
	r.now = SECOND / 2;
	wr(&r, 0x0b, 0x92); /* SET: UIE goes off with it */
	assert_int_equal(rd(&r, 0x0b), 0x82);
	r.now = 5 * SECOND + SECOND / 2;
	assert_int_equal(rd(&r, 0), 0x56); /* no update while SET */
	assert_int_equal(rd(&r, 0x0c) & 0x10, 0);
	/* Bytes written while frozen are read back as written, even invalid. */
	wr(&r, 0, 0x30);
	wr(&r, 2, 0x15);
	wr(&r, 4, 0x09);
	wr(&r, 7, 0x31);
	wr(&r, 8, 0x02); /* February 31 */
	assert_int_equal(rd(&r, 7), 0x31);
	/* Clearing SET: the clock takes the bytes (Feb 31 2024 = Mar 2) and
	 * runs from them at the divider's next second. */
	r.now = 6 * SECOND - SECOND / 4;
	wr(&r, 0x0b, 0x02);
	assert_shown(&r, (struct shown){ 0x30, 0x15, 0x09, 7, 0x02, 0x03, 0x24, 0x20 });
	r.now = 6 * SECOND - 1;
	assert_int_equal(rd(&r, 0), 0x30);
	r.now = 6 * SECOND;
	assert_int_equal(rd(&r, 0), 0x31);
	/* The day of the week keeps what the guest set. */
	wr(&r, 0x0b, 0x82);
	wr(&r, 6, 2);
	wr(&r, 0x0b, 0x02);
	r.now = 7 * SECOND;
	assert_int_equal(rd(&r, 6), 2);
	r.now = 7 * SECOND + 86400 * SECOND;
	assert_int_equal(rd(&r, 6), 3);
	/* A write while running takes effect at once. */
	wr(&r, 2, 0x59);
	assert_int_equal(rd(&r, 2), 0x59);
	r.now += 30 * SECOND;
	assert_int_equal(rd(&r, 2), 0x00);
	assert_int_equal(rd(&r, 4), 0x10);
}

static void test_divider_control(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, LEAP_DAY_AFTERNOON, 0);
	r.now = SECOND / 3;
	wr(&r, 0x0a, 0x66); /* divider reset */
	r.now = 10 * SECOND;
	assert_int_equal(rd(&r, 0), 0x56);
	assert_int_equal(rd(&r, 0x0a), 0x66);
	/* Set the time while the divider is held, then release it: the first
	 * update half a second later. */
	wr(&r, 0, 0x00);
	wr(&r, 0x0a, 0x26);
	r.now = 10 * SECOND + SECOND / 2 - 1;
	assert_int_equal(rd(&r, 0), 0x00);
	r.now = 10 * SECOND + SECOND / 2;
	assert_int_equal(rd(&r, 0), 0x01);
	r.now = 11 * SECOND + SECOND / 2;
	assert_int_equal(rd(&r, 0), 0x02);
	/* No periodic flag while stopped; no deadline either. */
	wr(&r, 0x0b, 0x42);
	wr(&r, 0x0a, 0x06); /* DV = 000: not the 32.768 kHz time base */
	(void)rd(&r, 0x0c);
	r.now += SECOND;
	assert_int_equal(rd(&r, 0x0c), 0);
	assert_int_equal(rtc_next_deadline(&r.rtc), VCLOCK_NEVER);
}

/* Follow the deadlines for one second with PIE on and the guest's handler
 * reading register C each time: count the interrupts. */
static unsigned periodic_per_second(struct rig *r, uint8_t rate)
{
	wr(r, 0x0a, (uint8_t)(0x20 | rate));
	wr(r, 0x0b, 0x42);
	(void)rd(r, 0x0c);
	uint64_t start = r->now, rises = r->irq8.rises;
	for (;;) {
		uint64_t d = rtc_next_deadline(&r->rtc);
		assert_true(d > r->now);
		if (d > start + SECOND)
			break;
		r->now = d;
		rtc_update(&r->rtc);
		assert_true(r->irq8.level);
		assert_int_equal(rtc_next_deadline(&r->rtc), VCLOCK_NEVER);
		assert_int_equal(rd(r, 0x0c) & 0xc0, 0xc0);
		assert_false(r->irq8.level);
	}
	wr(r, 0x0b, 0x02);
	return (unsigned)(r->irq8.rises - rises);
}

static void test_periodic_interrupt(void **state)
{
	(void)state;
	static const struct {
		uint8_t rate;
		unsigned hz;
	} rates[] = { { 1, 256 }, { 2, 128 }, { 3, 8192 }, { 6, 1024 }, { 10, 64 }, { 15, 2 } };
	struct rig r;
	rig_init(&r, LEAP_DAY_AFTERNOON, 0);
	for (size_t i = 0; i < ARRAY_SIZE(rates); i++)
		assert_int_equal(periodic_per_second(&r, rates[i].rate), rates[i].hz);
	/* Rate 0: none. */
	assert_int_equal(periodic_per_second(&r, 0), 0);
	/* PF is set without PIE, and IRQ 8 stays low. */
	wr(&r, 0x0a, 0x2f);
	(void)rd(&r, 0x0c);
	r.now += SECOND / 2;
	rtc_update(&r.rtc);
	assert_false(r.irq8.level);
	assert_int_equal(rd(&r, 0x0c), 0x40);
	/* Enabling PIE with PF set raises IRQ 8 at once. */
	r.now += SECOND / 2;
	wr(&r, 0x0b, 0x42);
	assert_true(r.irq8.level);
	assert_int_equal(rd(&r, 0x0c), 0xd0); /* IRQF, PF and the update's UF */
	assert_false(r.irq8.level);
}

static void test_alarm(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, LEAP_DAY_AFTERNOON, 0);
	wr(&r, 0x0a, 0x20); /* no periodic flag in the way */
	/* 13:46:10, AIE. */
	wr(&r, 1, 0x10);
	wr(&r, 3, 0x46);
	wr(&r, 5, 0x13);
	wr(&r, 0x0b, 0x22);
	(void)rd(&r, 0x0c);
	for (unsigned s = 1; s < 14; s++) {
		r.now = s * SECOND;
		rtc_update(&r.rtc);
		assert_false(r.irq8.level);
	}
	assert_int_equal(rtc_next_deadline(&r.rtc), 14 * SECOND);
	r.now = 14 * SECOND;
	rtc_update(&r.rtc);
	assert_true(r.irq8.level);
	assert_int_equal(rd(&r, 0x0c), 0xb0); /* IRQF, AF, UF */
	assert_false(r.irq8.level);
	/* Don't-care hours and minutes: every minute at :30. */
	wr(&r, 1, 0x30);
	wr(&r, 3, 0xc0);
	wr(&r, 5, 0xff);
	unsigned alarms = 0;
	for (unsigned s = 15; s < 15 + 180; s++) {
		r.now = s * SECOND;
		rtc_update(&r.rtc);
		if (r.irq8.level) {
			alarms++;
			assert_int_equal(rd(&r, 0), 0x30);
			(void)rd(&r, 0x0c);
		}
	}
	assert_int_equal(alarms, 3);
	/* All three don't-care: every second. */
	wr(&r, 1, 0xc0);
	(void)rd(&r, 0x0c);
	r.now += SECOND;
	rtc_update(&r.rtc);
	assert_true(r.irq8.level);
	(void)rd(&r, 0x0c);
	/* Seen late, across days: the alarm still matched in between. */
	wr(&r, 0x0b, 0x02);
	wr(&r, 1, 0x00);
	wr(&r, 3, 0x00);
	wr(&r, 5, 0x07);
	(void)rd(&r, 0x0c);
	r.now += 3 * 86400 * SECOND;
	assert_int_equal(rd(&r, 0x0c), 0x30);
	/* An impossible alarm (hour 0x25) never matches. */
	wr(&r, 5, 0x25);
	r.now += 2 * 86400 * SECOND;
	assert_int_equal(rd(&r, 0x0c), 0x10);
}

static void test_update_interrupt_and_register_c(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, LEAP_DAY_AFTERNOON, 0);
	assert_int_equal(rtc_next_deadline(&r.rtc), VCLOCK_NEVER); /* nothing enabled */
	/* PF is set at the periodic rate whatever PIE says. */
	r.now = SECOND / 100;
	assert_int_equal(rd(&r, 0x0c), 0x40);
	wr(&r, 0x0a, 0x20);
	wr(&r, 0x0b, 0x12);
	assert_int_equal(rtc_next_deadline(&r.rtc), SECOND);
	for (unsigned s = 1; s <= 5; s++) {
		r.now = rtc_next_deadline(&r.rtc);
		assert_int_equal(r.now, s * SECOND);
		rtc_update(&r.rtc);
		assert_true(r.irq8.level);
		unsigned sec = (56 + s) % 60;
		assert_int_equal(rd(&r, 0), (sec / 10) << 4 | sec % 10);
		/* Register C reads its flags and clears them all. */
		assert_int_equal(rd(&r, 0x0c), 0x90);
		assert_false(r.irq8.level);
		assert_int_equal(rd(&r, 0x0c), 0x00);
	}
	assert_int_equal(r.irq8.rises, 5);
	/* While IRQ 8 is up nothing more can happen: no deadline. */
	r.now = 6 * SECOND;
	rtc_update(&r.rtc);
	assert_int_equal(rtc_next_deadline(&r.rtc), VCLOCK_NEVER);
	/* Register C and D are read-only; C's flags survive a write. */
	wr(&r, 0x0c, 0x00);
	wr(&r, 0x0d, 0x00);
	assert_int_equal(rd(&r, 0x0c), 0x90);
	assert_int_equal(rd(&r, 0x0d), 0x80);
	/* Turning UIE off with UF pending lowers IRQ 8; on again raises it. */
	r.now = 7 * SECOND;
	rtc_update(&r.rtc);
	assert_true(r.irq8.level);
	wr(&r, 0x0b, 0x02);
	assert_false(r.irq8.level);
	wr(&r, 0x0b, 0x12);
	assert_true(r.irq8.level);
}

static void test_nvram_sizes(void **state)
{
	(void)state;
	static const struct {
		uint64_t ram;
		uint16_t base, ext, above16;
	} sizes[] = {
		{ 0, 0, 0, 0 },
		{ KiB(512), 512, 0, 0 },
		{ MiB(1), 640, 0, 0 },
		{ MiB(16), 640, 15 * 1024, 0 },
		{ MiB(32), 640, 31 * 1024, 256 },
		{ MiB(64) + MiB(1) - KiB(1), 640, 0xffff, 783 },
		{ MiB(128), 640, 0xffff, 1792 },
		{ GiB(4), 640, 0xffff, 0xff00 },
		{ GiB(64), 640, 0xffff, 0xff00 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct rig r;
		rig_init(&r, 0, sizes[i].ram);
		assert_int_equal(rd(&r, 0x15) | rd(&r, 0x16) << 8, sizes[i].base);
		assert_int_equal(rd(&r, 0x17) | rd(&r, 0x18) << 8, sizes[i].ext);
		assert_int_equal(rd(&r, 0x30) | rd(&r, 0x31) << 8, sizes[i].ext);
		assert_int_equal(rd(&r, 0x34) | rd(&r, 0x35) << 8, sizes[i].above16);
		assert_int_equal(rd(&r, 0x14), 0x02);
		unsigned sum = 0;
		for (uint8_t a = 0x10; a <= 0x2d; a++)
			sum += rd(&r, a);
		assert_int_equal(rd(&r, 0x2e) << 8 | rd(&r, 0x2f), sum);
	}
}

static void test_nvram_and_index(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, LEAP_DAY_AFTERNOON, 0);
	/* NVRAM 0x0e-0x7f holds bytes (but the century, which is the clock). */
	for (unsigned a = 0x0e; a < 0x80; a++)
		if (a != 0x32)
			wr(&r, (uint8_t)a, (uint8_t)(a * 7 + 1));
	for (unsigned a = 0x0e; a < 0x80; a++)
		if (a != 0x32)
			assert_int_equal(rd(&r, (uint8_t)a), (uint8_t)(a * 7 + 1));
	/* Bit 7 of the index masks NMIs and does not change the register. */
	bool claimed;
	bus_write(&r.bus, 0x70, 1, 0x80 | 0x40, &claimed);
	assert_true(rtc_nmi_masked(&r.rtc));
	assert_int_equal(bus_read(&r.bus, 0x71, 1, &claimed), (uint8_t)(0x40 * 7 + 1));
	bus_write(&r.bus, 0x70, 1, 0x40, &claimed);
	assert_false(rtc_nmi_masked(&r.rtc));
	/* Port 0x70 is write-only. */
	assert_int_equal(bus_read(&r.bus, 0x70, 1, &claimed), 0xff);
	/* A 16-bit write: index, then data. */
	bus_write(&r.bus, 0x70, 2, 0x5550, &claimed);
	assert_int_equal(rd(&r, 0x50), 0x55);
	assert_int_equal(bus_read(&r.bus, 0x70, 2, &claimed), 0x55ff);
	/* Bytes beyond the ports. */
	assert_int_equal(rtc_read(&r.rtc, 1, 2), 0xff55);
	assert_int_equal(rtc_read(&r.rtc, 2, 1), 0xff);
	assert_int_equal(rtc_read(&r.rtc, UINT64_MAX, 8), UINT64_MAX);
	assert_int_equal(rtc_read(&r.rtc, 0, 0), 0);
	rtc_write(&r.rtc, 2, 1, 0);
	rtc_write(&r.rtc, UINT64_MAX, 8, 0);
	assert_int_equal(rd(&r, 0x50), 0x55);
	/* A century written while running moves the clock by 100 years. */
	wr(&r, 0x32, 0x21);
	assert_int_equal(rd(&r, 9), 0x24);
	assert_int_equal(rd(&r, 0x32), 0x21);
	assert_int_equal(rd(&r, 6), 3); /* 2124-02-29 is a Tuesday */
}

static void test_clock_edge_cases(void **state)
{
	(void)state;
	/* tsc_hz 0: the clock never moves. No IRQ line. */
	struct rtc_cmos rtc;
	uint64_t now = 0;
	struct vclock still = { rig_fake_now, &now, 0 };
	rtc_cmos_init(&rtc, &still, NULL, LEAP_DAY_AFTERNOON, 0);
	now = UINT64_MAX;
	rtc_update(&rtc);
	rtc_write(&rtc, 0, 1, 0);
	assert_int_equal(rtc_read(&rtc, 1, 1), 0x56);
	rtc_write(&rtc, 0, 1, 0x0b);
	rtc_write(&rtc, 1, 1, 0x72);
	assert_int_equal(rtc_next_deadline(&rtc), VCLOCK_NEVER);
	/* A clock going back is held. */
	struct rig r;
	rig_init(&r, LEAP_DAY_AFTERNOON, 0);
	r.now = 10 * SECOND;
	assert_int_equal(rd(&r, 0), 0x06);
	r.now = SECOND;
	assert_int_equal(rd(&r, 0), 0x06);
	/* The far future: held at the end of the divider's count. */
	r.now = UINT64_MAX;
	rtc_update(&r.rtc);
	(void)rd(&r, 0);
	wr(&r, 0x0b, 0x52);
	assert_true(rtc_next_deadline(&r.rtc) == VCLOCK_NEVER || r.irq8.level);
}

/* Random traffic with the clock moving: no sanitizer report; the line is
 * IRQF; a deadline is never in the past; the time registers always hold
 * a valid time while the clock runs. */
static uint32_t rng_state = 0x146818;

static uint32_t rng(void)
{
	return rig_xorshift32(&rng_state);
}

static void test_random_traffic(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 1, 1, 1, 1, 2, 4, 8 };
	static const uint8_t regs[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0a, 0x0b, 0x0b, 0x0c, 0x0c, 0x0d, 0x32, 0x40 };
	for (unsigned run = 0; run < 30; run++) {
		struct rig r;
		rig_init(&r, (int64_t)rng() * 37 - 2000000000ll, (uint64_t)rng() << 8);
		for (unsigned step = 0; step < 3000; step++) {
			uint32_t x = rng();
			bool claimed;
			switch (x % 7) {
			case 0:
				wr(&r, regs[(x >> 8) % ARRAY_SIZE(regs)] | (uint8_t)(x & 0x80), (uint8_t)rng());
				break;
			case 1:
				(void)rd(&r, regs[(x >> 8) % ARRAY_SIZE(regs)]);
				break;
			case 2:
				bus_write(&r.bus, 0x70 + ((x >> 8) & 1), sizes[(x >> 12) % ARRAY_SIZE(sizes)] & 1 ? 1 : 2,
					  rng(), &claimed);
				break;
			case 3:
				(void)rtc_read(&r.rtc, rng() % 4, sizes[(x >> 12) % ARRAY_SIZE(sizes)]);
				break;
			case 4:
				r.now += (x >> 16) == 0xffff ? (uint64_t)rng() * rng() * 1000 : rng() % (SECOND / 4);
				break;
			default: {
				rtc_update(&r.rtc);
				uint64_t d = rtc_next_deadline(&r.rtc);
				assert_true(d > r.now);
				bool irqf = r.rtc.cmos[0x0c] & r.rtc.cmos[0x0b] & 0x70;
				assert_int_equal(r.irq8.level, irqf);
				if (r.rtc.running && !(r.rtc.cmos[0x0b] & 0x80)) {
					/* What the registers show is the clock. */
					struct rtc_date d8;
					rtc_time_to_date(r.rtc.time, &d8);
					uint8_t b = r.rtc.cmos[0x0b];
					uint8_t sec = r.rtc.cmos[0];
					assert_int_equal((b & 4) ? sec : (sec >> 4) * 10 + (sec & 15), d8.second);
				}
				break;
			}
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date_known_points),
		cmocka_unit_test(test_date_every_day),
		cmocka_unit_test(test_date_clamping),
		cmocka_unit_test(test_read_known_date),
		cmocka_unit_test(test_twelve_hour_mode),
		cmocka_unit_test(test_uip_timing),
		cmocka_unit_test(test_set_freezes),
		cmocka_unit_test(test_divider_control),
		cmocka_unit_test(test_periodic_interrupt),
		cmocka_unit_test(test_alarm),
		cmocka_unit_test(test_update_interrupt_and_register_c),
		cmocka_unit_test(test_nvram_sizes),
		cmocka_unit_test(test_nvram_and_index),
		cmocka_unit_test(test_clock_edge_cases),
		cmocka_unit_test(test_random_traffic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
