/* The 8254 and port 0x61: see pit8254.h for what is emulated and the
 * sources. Section names below are those of the 8254 datasheet (231164).
 *
 * Each counting element (CE) is a function of the tick t rather than a
 * value decremented by a timer: "e", the CLK pulses counted since the CE
 * was loaded, is e0 + (t - t0) while counting, and the count, OUT and the
 * next edge all follow from e, the loaded count n and the mode. */
#include "devices/pit8254.h"
#include "devices/bus.h"
#include "lib/string.h"

#define PORT_CONTROL 3
#define CW_SC(v) ((v) >> 6)          /* counter select; 3 = read-back */
#define CW_RW(v) (((v) >> 4) & 3)    /* 0 = counter latch command */
#define CW_MODE(v) (((v) >> 1) & 7)
#define CW_BCD 0x01
#define RW_LSB 1
#define RW_MSB 2
#define RB_NOT_COUNT 0x20           /* read-back: 0 latches the count */
#define RB_NOT_STATUS 0x10          /* read-back: 0 latches the status */
#define STATUS_OUT 0x80
#define STATUS_NULL_COUNT 0x40

#define PORT61_GATE2 0x01
#define PORT61_WRITABLE 0x0f
#define PORT61_REFRESH 0x10
#define PORT61_OUT2 0x20
/* The refresh request comes every 15.09 us: 18 clocks of the PIT, as the
 * AT's channel 1 was programmed (PIIX4 4.2.4.1 bit 4). */
#define REFRESH_TICKS 18

#define NEVER UINT64_MAX
/* The PIT's clock stops after 2^62 ticks (122,000 years), so that tick
 * arithmetic never wraps. */
#define TICK_LIMIT (1ull << 62)

/* --- Time: PIT ticks from guest-TSC time and back, split into whole
 * seconds and a fraction so that no product leaves 64 bits. (Written when
 * lib/muldiv.h still needed libgcc; muldiv64 could serve now.) */

static uint64_t now_tick(struct pit8254 *p)
{
	uint64_t hz = p->clock.tsc_hz;
	if (hz != 0 && p->clock.now) {
		uint64_t tsc = vclock_now(&p->clock), secs = tsc / hz;
		uint64_t t = secs >= TICK_LIMIT / PIT_HZ ? TICK_LIMIT
							 : secs * PIT_HZ + (tsc % hz) * PIT_HZ / hz;
		if (t > p->last_tick)
			p->last_tick = t;
	}
	return p->last_tick;
}

/* The first guest-TSC time at which tick k has begun. */
static uint64_t tick_to_tsc(const struct pit8254 *p, uint64_t k)
{
	uint64_t hz = p->clock.tsc_hz;
	uint64_t secs = k / PIT_HZ, frac = k % PIT_HZ;
	if (k >= TICK_LIMIT || hz == 0 || secs > (UINT64_MAX - hz) / hz)
		return VCLOCK_NEVER;
	return secs * hz + (frac * hz + PIT_HZ - 1) / PIT_HZ;
}

/* --- Counts: binary or BCD ("Control Word Format", BCD bit). */

static uint32_t modulus(const struct pit8254_channel *c)
{
	return (c->control & CW_BCD) ? 10000 : 65536;
}

/* The count written, as a number of CLK pulses: 0 is the largest count. */
static uint32_t decode_count(const struct pit8254_channel *c, uint16_t raw)
{
	uint32_t v = raw;
	if (c->control & CW_BCD)
		v = (((raw >> 12) & 15) * 1000 + ((raw >> 8) & 15) * 100 + ((raw >> 4) & 15) * 10 + (raw & 15)) % 10000;
	return v ? v : modulus(c);
}

static uint16_t encode_count(const struct pit8254_channel *c, uint32_t v)
{
	v %= modulus(c);
	if (!(c->control & CW_BCD))
		return (uint16_t)v;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10));
}

/* --- The counting element. */

static uint64_t elapsed(const struct pit8254_channel *c, uint64_t t)
{
	return c->e0 + (c->counting && t > c->t0 ? t - c->t0 : 0);
}

/* "Minimum and Maximum Initial Counts": 2 in modes 2 and 3. */
static uint32_t effective_count(const struct pit8254_channel *c)
{
	return (c->cr == 1 && (c->mode == 2 || c->mode == 3)) ? 2 : c->cr;
}

/* "Counter Loading": the CR goes into the CE on the next CLK pulse, which
 * does not count, so OUT in mode 0 rises N + 1 pulses after the write. */
static void load(struct pit8254_channel *c, uint64_t t)
{
	c->n = effective_count(c);
	c->armed = true;
	c->counting = (c->mode == 1 || c->mode == 5) || c->gate;
	c->t0 = t + 1;
	c->e0 = 0;
	c->loaded_at = t + 1;
	c->cr_waiting = false;
	c->reload_pending = false;
}

/* Modes 2 and 3 take a new count at the end of the current period (mode
 * 2) or half-cycle (mode 3) ("Mode Definitions"). */
static void sync(struct pit8254_channel *c, uint64_t t)
{
	if (!c->reload_pending || t < c->reload_at)
		return;
	c->n = effective_count(c);
	c->t0 = c->reload_at;
	c->e0 = c->reload_half ? (c->n + 1) / 2 : 0;
	c->loaded_at = c->reload_at;
	c->reload_pending = false;
	c->cr_waiting = false;
}

static void schedule_reload(struct pit8254_channel *c, uint64_t t)
{
	uint64_t e = elapsed(c, t), n = c->n, p = e % n, boundary;
	c->reload_half = false;
	if (c->mode == 2) {
		boundary = e - p + n;
	} else if (p < (n + 1) / 2) {
		boundary = e - p + (n + 1) / 2;
		c->reload_half = true;
	} else {
		boundary = e - p + n;
	}
	c->reload_pending = true;
	c->reload_at = t + (boundary - e);
	c->cr_waiting = true;
}

/* The CE as the count pins show it (binary or BCD). */
static uint16_t count_now(const struct pit8254_channel *c, uint64_t t)
{
	if (!c->armed)
		return c->hold;
	uint64_t e = elapsed(c, t), n = c->n, m = modulus(c), v;
	if (c->mode == 2) {
		v = n - e % n;
	} else if (c->mode == 3) {
		/* Decrements by two from N (even) or N - 1 (odd), reloading at
		 * each half-cycle. */
		uint64_t p = e % n, h = (n + 1) / 2;
		v = (n & ~1ull) - 2 * (p < h ? p : p - h);
	} else {
		v = (n + m - e % m) % m; /* wraps after terminal count */
	}
	return encode_count(c, (uint32_t)v);
}

static bool out_now(const struct pit8254_channel *c, uint64_t t)
{
	if (!c->armed)
		return c->mode != 0; /* the state a control word leaves */
	uint64_t e = elapsed(c, t), n = c->n;
	switch (c->mode) {
	case 0: /* low until terminal count */
		return e >= n;
	case 1: /* low from the pulse after the trigger to terminal count */
		return t < c->t0 || e >= n;
	case 2: /* low for the one pulse when the count is 1 */
		return !c->counting || e % n != n - 1;
	case 3: /* high for the first (N + 1) / 2 pulses of each period */
		return !c->counting || e % n < (n + 1) / 2;
	default: /* 4, 5: low for the one pulse at terminal count */
		return e != n;
	}
}

/* The first tick after a at which OUT rises, with the configuration fixed. */
static uint64_t next_rise_fixed(const struct pit8254_channel *c, uint64_t a)
{
	if (!c->armed || !c->counting)
		return NEVER;
	uint64_t e = elapsed(c, a), n = c->n, target;
	switch (c->mode) {
	case 0:
	case 1:
		target = n;
		break;
	case 2:
	case 3:
		target = (e / n + 1) * n;
		break;
	default:
		target = n + 1;
		break;
	}
	if (e >= target)
		return NEVER;
	return c->t0 + (target - c->e0);
}

/* The same, across a reload still to come. */
static uint64_t next_rise(const struct pit8254_channel *ch, uint64_t a)
{
	struct pit8254_channel c = *ch;
	sync(&c, a);
	uint64_t r = next_rise_fixed(&c, a);
	if (c.reload_pending && r > c.reload_at) {
		uint64_t b = c.reload_at;
		sync(&c, b);
		r = next_rise_fixed(&c, b - 1);
	}
	return r;
}

/* How many times OUT rises in (a, t], with the configuration fixed. */
static uint64_t rises_fixed(const struct pit8254_channel *c, uint64_t a, uint64_t t)
{
	if (!c->armed || !c->counting || t <= a)
		return 0;
	uint64_t ea = elapsed(c, a), et = elapsed(c, t), n = c->n;
	switch (c->mode) {
	case 2:
	case 3:
		return et / n - ea / n;
	case 0:
	case 1:
		return ea < n && et >= n;
	default:
		return ea < n + 1 && et >= n + 1;
	}
}

/* The same, across a reload still to come. */
static uint64_t count_rises(const struct pit8254_channel *ch, uint64_t a, uint64_t t)
{
	struct pit8254_channel c = *ch;
	sync(&c, a);
	if (!c.reload_pending || c.reload_at > t)
		return rises_fixed(&c, a, t);
	uint64_t b = c.reload_at, before = rises_fixed(&c, a, b);
	sync(&c, b);
	return before + rises_fixed(&c, b, t);
}

/* --- Gates ("Gate Pin Operations Summary"). */

static void set_gate(struct pit8254_channel *c, bool gate, uint64_t t)
{
	if (gate == c->gate)
		return;
	sync(c, t);
	c->gate = gate;
	switch (c->mode) {
	case 0:
	case 4: /* the gate enables counting */
		if (!c->armed)
			break;
		if (!gate) {
			c->e0 = elapsed(c, t);
			c->t0 = t;
			c->counting = false;
		} else {
			c->t0 = MAX(t, c->loaded_at);
			c->counting = true;
		}
		break;
	case 1:
	case 5: /* a rising edge triggers */
		if (gate && c->cr_valid)
			load(c, t);
		break;
	default: /* 2, 3: low stops counting with OUT high; rising reloads */
		if (!gate) {
			c->counting = false;
			if (c->reload_pending) {
				c->reload_pending = false;
				c->cr_waiting = true;
			}
		} else if (c->armed) {
			load(c, t);
		}
		break;
	}
}

/* --- Writes ("Write Operations"). */

static void write_count(struct pit8254_channel *c, uint16_t raw, uint64_t t)
{
	c->cr = decode_count(c, raw);
	c->cr_valid = true;
	switch (c->mode) {
	case 0:
	case 4: /* counting restarts from the new count */
		load(c, t);
		break;
	case 1:
	case 5: /* used at the next trigger */
		c->cr_waiting = true;
		break;
	default:
		if (!c->armed || t < c->loaded_at)
			load(c, t);
		else if (!c->counting)
			c->cr_waiting = true; /* loaded when the gate rises */
		else
			schedule_reload(c, t);
		break;
	}
}

static void write_counter(struct pit8254_channel *c, uint8_t v, uint64_t t)
{
	switch (CW_RW(c->control)) {
	case RW_LSB:
		write_count(c, v, t);
		break;
	case RW_MSB:
		write_count(c, (uint16_t)(v << 8), t);
		break;
	default:
		if (!c->write_msb) {
			c->cr_lsb = v;
			c->write_msb = true;
			/* Mode 0: "writing the first byte disables counting",
			 * and OUT goes low at once. */
			if (c->mode == 0 && c->armed) {
				c->hold = count_now(c, t);
				c->armed = false;
			}
		} else {
			c->write_msb = false;
			write_count(c, (uint16_t)(c->cr_lsb | v << 8), t);
		}
		break;
	}
}

static void latch_count(struct pit8254_channel *c, uint64_t t)
{
	if (c->count_latched)
		return; /* a second latch before the read is ignored */
	c->latch = count_now(c, t);
	c->count_latched = true;
}

static void latch_status(struct pit8254_channel *c, uint64_t t)
{
	if (c->status_latched)
		return;
	bool null_count = c->cr_waiting || t < c->loaded_at;
	c->status = (uint8_t)((out_now(c, t) ? STATUS_OUT : 0) | (null_count ? STATUS_NULL_COUNT : 0) | c->control);
	c->status_latched = true;
}

static void write_control(struct pit8254 *p, uint8_t v, uint64_t t)
{
	if (CW_SC(v) == 3) {
		/* "Read-Back Command": bits 3-1 select counters 2-0. */
		for (unsigned i = 0; i < PIT_NR_CHANNELS; i++) {
			struct pit8254_channel *c = &p->ch[i];
			if (!(v & (2u << i)))
				continue;
			sync(c, t);
			if (!(v & RB_NOT_COUNT))
				latch_count(c, t);
			if (!(v & RB_NOT_STATUS))
				latch_status(c, t);
		}
		return;
	}
	struct pit8254_channel *c = &p->ch[CW_SC(v)];
	sync(c, t);
	if (CW_RW(v) == 0) {
		latch_count(c, t); /* "Counter Latch Command" */
		return;
	}
	/* A control word resets the counter's control logic: OUT goes to
	 * its initial state and nothing counts until a count is written. */
	c->hold = count_now(c, t);
	c->control = v & 0x3f;
	c->mode = CW_MODE(v) >= 6 ? CW_MODE(v) - 4 : CW_MODE(v);
	c->armed = false;
	c->counting = false;
	c->reload_pending = false;
	c->cr_valid = false;
	c->cr_waiting = true;
	c->write_msb = false;
	c->read_msb = false;
	c->count_latched = false;
	c->status_latched = false;
}

/* --- Reads ("Read Operations"). */

static uint8_t read_counter(struct pit8254_channel *c, uint64_t t)
{
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	uint16_t v = c->count_latched ? c->latch : count_now(c, t);
	bool last_byte = true;
	uint8_t b;
	switch (CW_RW(c->control)) {
	case RW_LSB:
		b = (uint8_t)v;
		break;
	case RW_MSB:
		b = (uint8_t)(v >> 8);
		break;
	default:
		b = c->read_msb ? (uint8_t)(v >> 8) : (uint8_t)v;
		last_byte = c->read_msb;
		c->read_msb = !c->read_msb;
		break;
	}
	if (last_byte)
		c->count_latched = false;
	return b;
}

/* --- OUT0 to IRQ 0. */

static void report_irq0(struct pit8254 *p, uint64_t t)
{
	struct pit8254_channel *c = &p->ch[0];
	uint64_t rises = count_rises(c, p->irq_tick, t);
	bool rose = rises != 0;
	p->out0_edges += rises;
	sync(c, t);
	bool level = out_now(c, t);
	if (rose) {
		/* One or more rising edges since the last report: show one. */
		if (p->irq_level)
			irq_set(&p->irq0, false);
		irq_set(&p->irq0, true);
		if (!level)
			irq_set(&p->irq0, false);
	} else if (level != p->irq_level) {
		irq_set(&p->irq0, level);
	}
	p->irq_level = level;
	p->irq_tick = t;
}

uint64_t pit_next_deadline(const struct pit8254 *p)
{
	return tick_to_tsc(p, next_rise(&p->ch[0], p->irq_tick));
}

void pit_update(struct pit8254 *p)
{
	report_irq0(p, now_tick(p));
}

bool pit_output(struct pit8254 *p, unsigned channel)
{
	if (channel >= PIT_NR_CHANNELS)
		return false;
	uint64_t t = now_tick(p);
	report_irq0(p, t);
	sync(&p->ch[channel], t);
	return out_now(&p->ch[channel], t);
}

/* --- Port I/O. Every access first reports OUT0 up to now, so that no
 * edge is lost when the access changes channel 0. */

static uint8_t port_read(void *opaque, unsigned port)
{
	struct pit8254 *p = opaque;
	if (port == PORT_CONTROL)
		return 0xff;
	uint64_t t = now_tick(p);
	report_irq0(p, t);
	struct pit8254_channel *c = &p->ch[port];
	sync(c, t);
	return read_counter(c, t);
}

static void port_write(void *opaque, unsigned port, uint8_t v)
{
	struct pit8254 *p = opaque;
	uint64_t t = now_tick(p);
	report_irq0(p, t);
	if (port == PORT_CONTROL) {
		write_control(p, v, t);
	} else {
		sync(&p->ch[port], t);
		write_counter(&p->ch[port], v, t);
	}
	report_irq0(p, t);
}

uint64_t pit_read(void *opaque, uint64_t offset, unsigned size)
{
	return bus_read_bytewise(opaque, offset, size, PIT_NR_PORTS, port_read);
}

void pit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	bus_write_bytewise(opaque, offset, size, value, PIT_NR_PORTS, port_write);
}

/* --- System control port B (PIIX4 4.2.4.1 NMISC). One port: a wider
 * access reads 0xFF above its first byte. */

uint64_t pit_port61_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pit8254 *p = opaque;
	if (offset != 0 || size == 0)
		return size == 0 ? 0 : size_mask(MIN(size, 8u));
	uint64_t t = now_tick(p);
	report_irq0(p, t);
	struct pit8254_channel *c = &p->ch[2];
	sync(c, t);
	uint8_t v = p->port61 & PORT61_WRITABLE;
	if ((t / REFRESH_TICKS) & 1)
		v |= PORT61_REFRESH;
	if (out_now(c, t))
		v |= PORT61_OUT2;
	return (size_mask(MIN(size, 8u)) & ~0xffull) | v;
}

void pit_port61_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pit8254 *p = opaque;
	if (offset != 0 || size == 0)
		return;
	uint64_t t = now_tick(p);
	report_irq0(p, t);
	p->port61 = (uint8_t)value & PORT61_WRITABLE;
	set_gate(&p->ch[2], value & PORT61_GATE2, t);
}

/* --- Set-up. */

void pit8254_init(struct pit8254 *p, const struct vclock *clock, const struct irq_line *irq0)
{
	memset(p, 0, sizeof(*p));
	p->clock = *clock;
	if (irq0)
		p->irq0 = *irq0;
	for (unsigned i = 0; i < PIT_NR_CHANNELS; i++) {
		struct pit8254_channel *c = &p->ch[i];
		c->control = 0x36; /* LSB then MSB, mode 3, binary */
		c->mode = 3;
		c->gate = i != 2;
		c->cr_waiting = true;
	}
	/* OUT0 is high, as mode 3 leaves it: the line starts high too, so
	 * that programming a periodic mode gives no edge before its period. */
	p->irq_level = true;
	irq_set(&p->irq0, true);
	p->last_tick = now_tick(p);
	p->irq_tick = p->last_tick;
}
