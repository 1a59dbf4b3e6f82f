/* The MC146818 RTC and CMOS RAM: see rtc_cmos.h for what is emulated and
 * the sources. Section names below are those of the MC146818A datasheet. */
#include "devices/rtc_cmos.h"
#include "devices/bus.h"
#include "lib/string.h"

/* "Address Map". */
#define REG_SECONDS 0x00
#define REG_SECONDS_ALARM 0x01
#define REG_MINUTES 0x02
#define REG_MINUTES_ALARM 0x03
#define REG_HOURS 0x04
#define REG_HOURS_ALARM 0x05
#define REG_WEEKDAY 0x06
#define REG_DAY 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32 /* IBM AT CMOS map */

#define A_UIP 0x80
#define A_DV(v) (((v) >> 4) & 7)
#define A_DV_32KHZ 2
#define A_RS(v) ((v) & 15)
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_FLAGS 0x70 /* PF, AF, UF: the same bits as PIE, AIE, UIE in B */
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80
#define HOUR_PM 0x80
#define ALARM_DONT_CARE 0xc0
#define INDEX_NMI_MASK 0x80

/* Table 6: UIP rises tBUC = 244 us before the update: 8 cycles of 32.768 kHz. */
#define UIP_CYCLES 8
#define SECONDS_PER_DAY 86400
/* The clock's range is exactly 25 Gregorian 400-year cycles. */
#define TIME_WRAP ((uint64_t)(RTC_TIME_MAX - RTC_TIME_MIN + 1))
/* The divider stops counting after 2^62 cycles (4.4 million years). */
#define CYCLE_LIMIT (1ull << 62)
#define NEVER UINT64_MAX

/* --- Dates: days since 1970-01-01 from a Gregorian date and back. The
 * year is taken to start on March 1, so that the leap day ends it; 400
 * years ("an era") are exactly 146097 days. */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static int64_t days_from_date(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;                       /* 0-399 */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* from March 1 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;                /* 719468: 0000-03-01 to 1970-01-01 */
}

static void date_from_days(int64_t days, struct rtc_date *dt)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;                  /* 0 = March */
	dt->day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	dt->month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	dt->year = (int)(yoe + era * 400 + (dt->month <= 2));
	dt->weekday = (unsigned)((days % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
}

void rtc_time_to_date(int64_t t, struct rtc_date *d)
{
	t = t < RTC_TIME_MIN ? RTC_TIME_MIN : t > RTC_TIME_MAX ? RTC_TIME_MAX : t;
	int64_t days = floor_div(t, SECONDS_PER_DAY), tod = t - days * SECONDS_PER_DAY;
	date_from_days(days, d);
	d->hour = (unsigned)(tod / 3600);
	d->minute = (unsigned)(tod / 60 % 60);
	d->second = (unsigned)(tod % 60);
}

static unsigned clamp(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int64_t rtc_date_to_time(const struct rtc_date *d)
{
	int64_t year = d->year < 0 ? 0 : d->year > 9999 ? 9999 : d->year;
	int64_t days = days_from_date(year, clamp(d->month, 1, 12), clamp(d->day, 1, 31));
	int64_t t = days * SECONDS_PER_DAY + clamp(d->hour, 0, 23) * 3600 + clamp(d->minute, 0, 59) * 60 +
		    clamp(d->second, 0, 59);
	return t > RTC_TIME_MAX ? RTC_TIME_MAX : t; /* 9999-12-31 plus a rolled-over day */
}

/* t + n seconds, wrapping from 9999 to 0000. */
static int64_t advance(int64_t t, uint64_t n)
{
	int64_t r = t + (int64_t)(n % TIME_WRAP);
	return r > RTC_TIME_MAX ? r - (int64_t)TIME_WRAP : r;
}

/* --- Register formats: BCD or binary (DM), 12 or 24 hours. */

static uint8_t encode(const struct rtc_cmos *r, unsigned v)
{
	return (r->cmos[REG_B] & B_DM_BINARY) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

/* Any byte decodes: BCD digits above 9 count at face value. */
static unsigned decode(const struct rtc_cmos *r, uint8_t b)
{
	return (r->cmos[REG_B] & B_DM_BINARY) ? b : (unsigned)(b >> 4) * 10 + (b & 15);
}

static uint8_t encode_hour(const struct rtc_cmos *r, unsigned h)
{
	if (r->cmos[REG_B] & B_24H)
		return encode(r, h);
	unsigned h12 = h % 12 ? h % 12 : 12;
	return (uint8_t)(encode(r, h12) | (h >= 12 ? HOUR_PM : 0));
}

static unsigned decode_hour(const struct rtc_cmos *r, uint8_t b)
{
	if (r->cmos[REG_B] & B_24H)
		return clamp(decode(r, b), 0, 23);
	unsigned h12 = clamp(decode(r, b & ~HOUR_PM), 1, 12);
	return h12 % 12 + ((b & HOUR_PM) ? 12 : 0);
}

/* The time registers from r->time. */
static void show_time(struct rtc_cmos *r)
{
	struct rtc_date d;
	rtc_time_to_date(r->time, &d);
	r->cmos[REG_SECONDS] = encode(r, d.second);
	r->cmos[REG_MINUTES] = encode(r, d.minute);
	r->cmos[REG_HOURS] = encode_hour(r, d.hour);
	r->cmos[REG_WEEKDAY] = encode(r, (d.weekday + r->weekday_offset) % 7 + 1);
	r->cmos[REG_DAY] = encode(r, d.day);
	r->cmos[REG_MONTH] = encode(r, d.month);
	r->cmos[REG_YEAR] = encode(r, (unsigned)d.year % 100);
	r->cmos[REG_CENTURY] = encode(r, (unsigned)d.year / 100);
}

/* r->time from the time registers (what the guest wrote), then shown
 * again as a valid time. */
static void take_time(struct rtc_cmos *r)
{
	struct rtc_date d = {
		.year = (int)(clamp(decode(r, r->cmos[REG_CENTURY]), 0, 99) * 100 +
			      clamp(decode(r, r->cmos[REG_YEAR]), 0, 99)),
		.month = decode(r, r->cmos[REG_MONTH]),
		.day = decode(r, r->cmos[REG_DAY]),
		.hour = decode_hour(r, r->cmos[REG_HOURS]),
		.minute = decode(r, r->cmos[REG_MINUTES]),
		.second = decode(r, r->cmos[REG_SECONDS]),
	};
	r->time = rtc_date_to_time(&d);
	if (r->weekday_written) {
		struct rtc_date real;
		rtc_time_to_date(r->time, &real);
		unsigned wday = decode(r, r->cmos[REG_WEEKDAY]);
		r->weekday_offset = (wday >= 1 && wday <= 7) ? (uint8_t)((wday - 1 + 7 - real.weekday) % 7) : 0;
		r->weekday_written = false;
	}
	show_time(r);
}

static bool frozen(const struct rtc_cmos *r)
{
	return !r->running || (r->cmos[REG_B] & B_SET);
}

/* --- The divider chain on the vclock: cycle c of 32.768 kHz, split into
 * seconds and a fraction to stay in 64 bits. (Written when lib/muldiv.h
 * still needed libgcc; muldiv64 could serve now.) */

static uint64_t vclock_now_monotonic(struct rtc_cmos *r)
{
	if (r->clock.now) {
		uint64_t t = vclock_now(&r->clock);
		if (t > r->last_tsc)
			r->last_tsc = t;
	}
	return r->last_tsc;
}

static uint64_t cycle_at(const struct rtc_cmos *r, uint64_t tsc)
{
	uint64_t hz = r->clock.tsc_hz;
	if (hz == 0 || tsc <= r->origin)
		return r->origin_cycle;
	uint64_t d = tsc - r->origin, secs = d / hz;
	if (secs >= (CYCLE_LIMIT - r->origin_cycle) / RTC_HZ)
		return CYCLE_LIMIT;
	return r->origin_cycle + secs * RTC_HZ + (d % hz) * RTC_HZ / hz;
}

/* The first vclock time at which cycle k has begun. */
static uint64_t cycle_to_tsc(const struct rtc_cmos *r, uint64_t k)
{
	uint64_t hz = r->clock.tsc_hz;
	if (k >= CYCLE_LIMIT || hz == 0)
		return VCLOCK_NEVER;
	uint64_t c = k - r->origin_cycle, secs = c / RTC_HZ, frac = c % RTC_HZ;
	uint64_t room = UINT64_MAX - r->origin;
	if (room < hz || secs > (room - hz) / hz)
		return VCLOCK_NEVER;
	return r->origin + secs * hz + (frac * hz + RTC_HZ - 1) / RTC_HZ;
}

/* Register A's rate select: a periodic tick every this many cycles, or 0.
 * With a 32.768 kHz time base rates 1 and 2 are those of 8 and 9. */
static uint64_t periodic_cycles(const struct rtc_cmos *r)
{
	unsigned rs = A_RS(r->cmos[REG_A]);
	if (rs == 0)
		return 0;
	return 1ull << (rs <= 2 ? rs + 6 : rs - 1);
}

/* --- Interrupts ("Interrupts", register C). */

static void update_irq(struct rtc_cmos *r)
{
	bool irqf = r->cmos[REG_C] & r->cmos[REG_B] & C_FLAGS;
	if (irqf != r->irq_level) {
		r->irq_level = irqf;
		irq_set(&r->irq, irqf);
	}
}

static bool alarm_field_matches(uint8_t alarm, uint8_t now)
{
	return alarm >= ALARM_DONT_CARE || alarm == now;
}

/* The alarm bytes against the time bytes the clock would show at t. */
static bool alarm_matches(const struct rtc_cmos *r, int64_t t)
{
	int64_t tod = t - floor_div(t, SECONDS_PER_DAY) * SECONDS_PER_DAY;
	return alarm_field_matches(r->cmos[REG_SECONDS_ALARM], encode(r, (unsigned)(tod % 60))) &&
	       alarm_field_matches(r->cmos[REG_MINUTES_ALARM], encode(r, (unsigned)(tod / 60 % 60))) &&
	       alarm_field_matches(r->cmos[REG_HOURS_ALARM], encode_hour(r, (unsigned)(tod / 3600)));
}

/* n update cycles: the clock advances, UF is set, AF when the alarm
 * matches after any of them. Only the last day of a longer gap can
 * matter to the alarm, which repeats daily at most. */
static void run_updates(struct rtc_cmos *r, uint64_t n)
{
	if (n > SECONDS_PER_DAY) {
		r->time = advance(r->time, n - SECONDS_PER_DAY);
		n = SECONDS_PER_DAY;
	}
	while (n > 0 && !(r->cmos[REG_C] & C_AF)) {
		r->time = advance(r->time, 1);
		n--;
		if (alarm_matches(r, r->time))
			r->cmos[REG_C] |= C_AF;
	}
	r->time = advance(r->time, n);
	r->cmos[REG_C] |= C_UF;
	show_time(r);
}

/* Everything the divider chain did up to now. */
static void catch_up(struct rtc_cmos *r)
{
	uint64_t now = vclock_now_monotonic(r);
	if (!r->running)
		return;
	uint64_t c = cycle_at(r, now), done = r->done_cycle;
	if (c <= done)
		return;
	uint64_t updates = c / RTC_HZ - done / RTC_HZ, period = periodic_cycles(r);
	if (updates != 0 && !(r->cmos[REG_B] & B_SET))
		run_updates(r, updates);
	if (period != 0 && c / period != done / period)
		r->cmos[REG_C] |= C_PF;
	r->done_cycle = c;
	update_irq(r);
}

uint64_t rtc_next_deadline(const struct rtc_cmos *r)
{
	if (r->irq_level || !r->running)
		return VCLOCK_NEVER;
	uint8_t b = r->cmos[REG_B];
	uint64_t period = periodic_cycles(r), next = NEVER, done = r->done_cycle;
	if ((b & B_PIE) && period != 0)
		next = (done / period + 1) * period;
	if (!(b & B_SET) && (b & (B_UIE | B_AIE)))
		next = MIN(next, (done / RTC_HZ + 1) * RTC_HZ);
	return next == NEVER ? VCLOCK_NEVER : cycle_to_tsc(r, next);
}

void rtc_update(struct rtc_cmos *r)
{
	catch_up(r);
}

/* --- Registers. */

/* Register A: DV = 010 runs the divider; from any other value the first
 * update comes half a second later ("Divider Control"). */
static void write_reg_a(struct rtc_cmos *r, uint8_t v)
{
	bool was_frozen = frozen(r), run = A_DV(v) == A_DV_32KHZ;
	r->cmos[REG_A] = v & ~A_UIP;
	if (run && !r->running) {
		r->running = true;
		r->origin = r->last_tsc;
		r->origin_cycle = RTC_HZ / 2;
		r->done_cycle = RTC_HZ / 2;
	} else if (!run) {
		r->running = false;
	}
	if (was_frozen && !frozen(r))
		take_time(r);
}

static void write_reg_b(struct rtc_cmos *r, uint8_t v)
{
	bool was_frozen = frozen(r);
	uint8_t old = r->cmos[REG_B];
	if ((v & B_SET) && !(old & B_SET))
		v &= ~B_UIE; /* "the SET bit going high clears UIE" */
	r->cmos[REG_B] = v;
	if (was_frozen && !frozen(r))
		take_time(r);
	else if (!frozen(r) && ((old ^ v) & (B_DM_BINARY | B_24H)))
		show_time(r);
	update_irq(r);
}

static bool is_time_register(unsigned reg)
{
	return reg == REG_SECONDS || reg == REG_MINUTES || reg == REG_HOURS ||
	       (reg >= REG_WEEKDAY && reg <= REG_YEAR) || reg == REG_CENTURY;
}

static uint8_t read_register(struct rtc_cmos *r, unsigned reg)
{
	catch_up(r);
	switch (reg) {
	case REG_A: {
		bool uip = !frozen(r) && r->done_cycle % RTC_HZ >= RTC_HZ - UIP_CYCLES;
		return (uint8_t)(r->cmos[REG_A] | (uip ? A_UIP : 0));
	}
	case REG_C: {
		uint8_t v = r->cmos[REG_C] & C_FLAGS;
		if (r->irq_level)
			v |= C_IRQF;
		r->cmos[REG_C] = 0;
		update_irq(r);
		return v;
	}
	case REG_D:
		return D_VRT;
	default:
		return r->cmos[reg];
	}
}

static void write_register(struct rtc_cmos *r, unsigned reg, uint8_t v)
{
	catch_up(r);
	switch (reg) {
	case REG_A:
		write_reg_a(r, v);
		break;
	case REG_B:
		write_reg_b(r, v);
		break;
	case REG_C:
	case REG_D:
		break; /* read-only */
	default:
		r->cmos[reg] = v;
		if (reg == REG_WEEKDAY)
			r->weekday_written = true;
		if (is_time_register(reg) && !frozen(r))
			take_time(r);
		break;
	}
}

/* --- Ports: 0x70 selects (bit 7 masks NMI), 0x71 reads and writes. */

static uint8_t port_read(void *opaque, unsigned port)
{
	struct rtc_cmos *r = opaque;
	if (port == 0)
		return 0xff;
	return read_register(r, r->index & ~INDEX_NMI_MASK);
}

static void port_write(void *opaque, unsigned port, uint8_t v)
{
	struct rtc_cmos *r = opaque;
	if (port == 0)
		r->index = v;
	else
		write_register(r, r->index & ~INDEX_NMI_MASK, v);
}

uint64_t rtc_read(void *opaque, uint64_t offset, unsigned size)
{
	return bus_read_bytewise(opaque, offset, size, RTC_NR_PORTS, port_read);
}

void rtc_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	bus_write_bytewise(opaque, offset, size, value, RTC_NR_PORTS, port_write);
}

bool rtc_nmi_masked(const struct rtc_cmos *r)
{
	return r->index & INDEX_NMI_MASK;
}

/* --- Set-up: the memory-size bytes (IBM AT CMOS map) and the clock. */

static void put16(struct rtc_cmos *r, unsigned reg, uint64_t v)
{
	v = MIN(v, 0xffffu);
	r->cmos[reg] = (uint8_t)v;
	r->cmos[reg + 1] = (uint8_t)(v >> 8);
}

static void fill_nvram(struct rtc_cmos *r, uint64_t ram)
{
	r->cmos[0x14] = 0x02; /* equipment: math coprocessor, no floppy, EGA/VGA */
	put16(r, 0x15, MIN(ram / KiB(1), 640));
	uint64_t extended = ram > MiB(1) ? (ram - MiB(1)) / KiB(1) : 0;
	put16(r, 0x17, extended);
	put16(r, 0x30, extended);
	uint64_t below_4g = MIN(ram, GiB(4));
	put16(r, 0x34, below_4g > MiB(16) ? (below_4g - MiB(16)) / KiB(64) : 0);
	unsigned sum = 0;
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += r->cmos[i];
	r->cmos[0x2e] = (uint8_t)(sum >> 8);
	r->cmos[0x2f] = (uint8_t)sum;
}

void rtc_cmos_init(struct rtc_cmos *r, const struct vclock *clock, const struct irq_line *irq8,
		   int64_t epoch_seconds, uint64_t ram_bytes)
{
	memset(r, 0, sizeof(*r));
	r->clock = *clock;
	if (irq8)
		r->irq = *irq8;
	r->cmos[REG_A] = A_DV_32KHZ << 4 | 6; /* 32.768 kHz, 1024 Hz: as a BIOS leaves it */
	r->cmos[REG_B] = B_24H;               /* BCD, 24-hour */
	r->cmos[REG_D] = D_VRT;
	fill_nvram(r, ram_bytes);
	r->time = epoch_seconds < RTC_TIME_MIN ? RTC_TIME_MIN : epoch_seconds > RTC_TIME_MAX ? RTC_TIME_MAX : epoch_seconds;
	r->running = true;
	r->origin = vclock_now_monotonic(r);
	show_time(r);
}
