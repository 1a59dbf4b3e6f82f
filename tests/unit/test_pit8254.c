/* devices/pit8254.c through a port I/O bus on a fake vclock: counting,
 * reloads, latches, read-back, every mode, drift-free periodic edges on
 * IRQ 0, channel 2 through port 0x61 (the calibration loop), byte access
 * sequencing, BCD, and random port traffic. */
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "tests/unit/rig.h"
#include "devices/pit8254.h"

struct rig {
	struct pit8254 pit;
	struct bus bus;
	uint64_t now;
	struct rig_line irq0;
};

static void line_set(void *ctx, unsigned pin, bool asserted)
{
	struct rig_line *l = ctx;
	assert_int_equal(pin, 0);
	rig_line_set(l, asserted);
}

/* hz = PIT_HZ makes one TSC tick one PIT tick. */
static void rig_init(struct rig *r, uint64_t hz, uint64_t start)
{
	memset(r, 0, sizeof(*r));
	r->now = start;
	struct vclock clock = { rig_fake_now, &r->now, hz };
	struct irq_line irq0 = { line_set, &r->irq0, 0 };
	pit8254_init(&r->pit, &clock, &irq0);
	assert_true(r->irq0.level); /* OUT0 starts high */
	r->irq0.rises = 0;
	const struct bus_device devs[] = {
		{ "PIT", PIT_BASE, PIT_NR_PORTS, pit_read, pit_write, &r->pit },
		{ "port B", PIT_PORT61, PIT_PORT61_NR_PORTS, pit_port61_read, pit_port61_write, &r->pit },
	};
	rig_bus_attach(&r->bus, devs, ARRAY_SIZE(devs));
}

static void out8(struct rig *r, uint16_t port, uint8_t v)
{
	rig_out8(&r->bus, port, v);
}

static uint8_t in8(struct rig *r, uint16_t port)
{
	return rig_in8(&r->bus, port);
}

/* Control word for channel ch, LSB then MSB, then the count. */
static void program(struct rig *r, unsigned ch, unsigned mode, uint16_t count)
{
	out8(r, 0x43, (uint8_t)(ch << 6 | 0x30 | mode << 1));
	out8(r, (uint16_t)(0x40 + ch), (uint8_t)count);
	out8(r, (uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

/* Counter latch command, then both bytes (channel in LSB/MSB mode). */
static uint16_t latched_count(struct rig *r, unsigned ch)
{
	out8(r, 0x43, (uint8_t)(ch << 6));
	uint8_t lo = in8(r, (uint16_t)(0x40 + ch));
	return (uint16_t)(lo | in8(r, (uint16_t)(0x40 + ch)) << 8);
}

static uint8_t status(struct rig *r, unsigned ch)
{
	out8(r, 0x43, (uint8_t)(0xe0 | 2u << ch));
	return in8(r, (uint16_t)(0x40 + ch));
}

static bool out_pin(struct rig *r, unsigned ch)
{
	return status(r, ch) & 0x80;
}

/* OUT2, as port 0x61 bit 5 shows it. */
static bool out2(struct rig *r)
{
	return in8(r, 0x61) & 0x20;
}

static void at(struct rig *r, uint64_t t)
{
	r->now = t;
}

static void test_mode0_counts_down(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, PIT_HZ, 1000);
	program(&r, 0, 0, 100);
	/* OUT0 went low with the control word. */
	assert_false(r.irq0.level);
	assert_int_equal(status(&r, 0), 0x40 | 0x30); /* OUT low, null count, mode 0 */
	/* The count is loaded on the next CLK pulse, which does not count. */
	at(&r, 1001);
	assert_int_equal(status(&r, 0), 0x30);
	assert_int_equal(latched_count(&r, 0), 100);
	at(&r, 1050);
	assert_int_equal(latched_count(&r, 0), 51);
	at(&r, 1100);
	assert_int_equal(latched_count(&r, 0), 1);
	assert_false(out_pin(&r, 0));
	/* OUT rises N + 1 pulses after the write: tick 1101. */
	assert_int_equal(pit_next_deadline(&r.pit), 1101);
	pit_update(&r.pit);
	assert_int_equal(r.irq0.rises, 0);
	at(&r, 1101);
	assert_int_equal(latched_count(&r, 0), 0);
	assert_true(out_pin(&r, 0));
	pit_update(&r.pit);
	assert_true(r.irq0.level);
	assert_int_equal(r.irq0.rises, 1);
	/* The counter wraps and goes on; OUT stays high; nothing more to do. */
	at(&r, 1102);
	assert_int_equal(latched_count(&r, 0), 0xffff);
	assert_int_equal(pit_next_deadline(&r.pit), VCLOCK_NEVER);
	at(&r, 100000);
	pit_update(&r.pit);
	assert_true(r.irq0.level);
	assert_int_equal(r.irq0.rises, 1);
	/* A new count restarts the one-shot: OUT low again at once (the
	 * first byte stops counting, the count stays where it was), high
	 * N + 1 pulses after the second. */
	out8(&r, 0x40, 10);
	assert_false(r.irq0.level);
	at(&r, 100005);
	assert_int_equal(latched_count(&r, 0), (uint16_t)(0 - (100000 - 1101)));
	out8(&r, 0x40, 0);
	assert_int_equal(pit_next_deadline(&r.pit), 100005 + 11);
	at(&r, 100016);
	pit_update(&r.pit);
	assert_int_equal(r.irq0.rises, 2);
	/* A count of 0 is 65536. */
	program(&r, 0, 0, 0);
	assert_int_equal(pit_next_deadline(&r.pit), 100016 + 65537);
}

static void test_mode2_periodic_edges(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, PIT_HZ, 0);
	program(&r, 0, 2, 10);
	assert_true(r.irq0.level); /* OUT stays high: no edge yet */
	/* Loaded at tick 1; OUT low while the count is 1 (tick 10, 20, ...),
	 * rising at 11, 21, ... */
	at(&r, 1);
	assert_int_equal(latched_count(&r, 0), 10);
	at(&r, 5);
	assert_int_equal(latched_count(&r, 0), 6);
	at(&r, 10);
	assert_int_equal(latched_count(&r, 0), 1);
	assert_false(out_pin(&r, 0));
	at(&r, 11);
	assert_int_equal(latched_count(&r, 0), 10);
	assert_true(out_pin(&r, 0));
	/* The reads at tick 11 reported that edge already. */
	assert_int_equal(r.irq0.rises, 1);
	rig_init(&r, PIT_HZ, 0);
	program(&r, 0, 2, 10);
	for (unsigned k = 1; k <= 1000; k++) {
		uint64_t d = pit_next_deadline(&r.pit);
		assert_int_equal(d, 1 + 10 * k);
		at(&r, d - 1);
		pit_update(&r.pit);
		assert_int_equal(r.irq0.rises, k - 1);
		at(&r, d);
		pit_update(&r.pit);
		assert_int_equal(r.irq0.rises, k);
		assert_true(r.irq0.level);
	}
	/* Late by several periods: one edge reported, all of them counted,
	 * the next deadline still on the grid. */
	assert_int_equal(r.pit.out0_edges, 1000);
	at(&r, 1 + 10 * 1000 + 55);
	pit_update(&r.pit);
	assert_int_equal(r.irq0.rises, 1001);
	assert_int_equal(r.pit.out0_edges, 1005);
	assert_int_equal(pit_next_deadline(&r.pit), 1 + 10 * 1006);
	/* Stopped at the low pulse: reported low, then the edge. */
	at(&r, 10 * 1006);
	pit_update(&r.pit);
	assert_false(r.irq0.level);
	at(&r, 1 + 10 * 1006);
	pit_update(&r.pit);
	assert_int_equal(r.irq0.rises, 1002);
}

/* With a real TSC rate the deadlines stay on the PIT's grid: the k-th edge
 * is at the first TSC tick of PIT tick 1 + N k, however many periods go by. */
static void test_no_drift(void **state)
{
	(void)state;
	static const uint64_t rates[] = { 2999999999ull, 1000000000ull, 3700000000ull, 1193183ull, 14318180ull };
	for (size_t i = 0; i < ARRAY_SIZE(rates); i++) {
		uint64_t hz = rates[i];
		struct rig r;
		rig_init(&r, hz, 0);
		program(&r, 0, 2, 11932);
		for (unsigned k = 1; k <= 20000; k++) {
			uint64_t tick = 1 + 11932ull * k;
			uint64_t want = (uint64_t)(((unsigned __int128)tick * hz + PIT_HZ - 1) / PIT_HZ);
			uint64_t d = pit_next_deadline(&r.pit);
			assert_int_equal(d, want);
			/* One TSC tick early: nothing; on time: the edge. */
			at(&r, d - 1);
			pit_update(&r.pit);
			assert_int_equal(r.irq0.rises, k - 1);
			at(&r, d);
			pit_update(&r.pit);
			assert_int_equal(r.irq0.rises, k);
			assert_int_equal(r.pit.out0_edges, k);
		}
	}
}

static void test_mode3_square_wave(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, PIT_HZ, 0);
	/* Even count 10: five ticks high, five low; the count goes down by 2. */
	program(&r, 0, 3, 10);
	static const uint16_t even[] = { 10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10 };
	for (unsigned i = 0; i < ARRAY_SIZE(even); i++) {
		at(&r, 1 + i);
		assert_int_equal(latched_count(&r, 0), even[i]);
		assert_int_equal(out_pin(&r, 0), (i % 10) < 5);
	}
	/* Odd count 9: high (N + 1) / 2 = 5 ticks from N - 1, low 4. */
	at(&r, 100);
	program(&r, 0, 3, 9);
	static const uint16_t odd[] = { 8, 6, 4, 2, 0, 8, 6, 4, 2, 8 };
	for (unsigned i = 0; i < ARRAY_SIZE(odd); i++) {
		at(&r, 101 + i);
		assert_int_equal(latched_count(&r, 0), odd[i]);
		assert_int_equal(out_pin(&r, 0), (i % 9) < 5);
	}
	/* IRQ 0 sees one rising edge per period. */
	at(&r, 200);
	program(&r, 0, 3, 9);
	pit_update(&r.pit);
	unsigned before = r.irq0.rises;
	for (unsigned k = 1; k <= 50; k++) {
		uint64_t d = pit_next_deadline(&r.pit);
		assert_int_equal(d, 201 + 9 * k);
		at(&r, d - 2); /* in the low half */
		pit_update(&r.pit);
		assert_false(r.irq0.level);
		at(&r, d);
		pit_update(&r.pit);
		assert_true(r.irq0.level);
	}
	assert_int_equal(r.irq0.rises - before, 50);
	/* A count of 1 is below the minimum: it counts as 2. */
	program(&r, 0, 3, 1);
	assert_int_equal(pit_next_deadline(&r.pit), r.now + 3);
}

static void test_new_count_waits_for_period_end(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, PIT_HZ, 0);
	/* Mode 2: a count written mid-period takes effect at its end. */
	program(&r, 0, 2, 10);
	at(&r, 5);
	out8(&r, 0x40, 20);
	assert_int_equal(status(&r, 0) & 0x40, 0); /* half a count: nothing yet */
	out8(&r, 0x40, 0);
	assert_int_equal(status(&r, 0) & 0x40, 0x40); /* null count until the reload */
	assert_int_equal(latched_count(&r, 0), 6);
	assert_int_equal(pit_next_deadline(&r.pit), 11);
	at(&r, 11);
	pit_update(&r.pit);
	assert_int_equal(status(&r, 0) & 0x40, 0);
	assert_int_equal(latched_count(&r, 0), 20);
	assert_int_equal(pit_next_deadline(&r.pit), 31);
	/* Seen late, across the reload: both edges are on the right ticks. */
	at(&r, 35);
	out8(&r, 0x40, 5);
	out8(&r, 0x40, 0);
	unsigned edges = (unsigned)r.pit.out0_edges;
	at(&r, 57);
	pit_update(&r.pit);
	assert_int_equal(pit_next_deadline(&r.pit), 56 + 5);
	assert_int_equal(r.pit.out0_edges, edges + 2); /* 51, then 56 */

	/* Mode 3: at the end of the current half-cycle. */
	rig_init(&r, PIT_HZ, 0);
	program(&r, 0, 3, 100);
	at(&r, 10); /* high half: ticks 1-50 */
	out8(&r, 0x40, 20);
	out8(&r, 0x40, 0);
	at(&r, 50);
	assert_true(out_pin(&r, 0));
	assert_int_equal(latched_count(&r, 0), 2);
	at(&r, 51); /* the low half runs with the new count: 10 ticks */
	assert_false(out_pin(&r, 0));
	assert_int_equal(latched_count(&r, 0), 20);
	assert_int_equal(pit_next_deadline(&r.pit), 61);
	at(&r, 61);
	assert_true(out_pin(&r, 0));
	assert_int_equal(pit_next_deadline(&r.pit), 81);
}

static void test_counter_latch(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, PIT_HZ, 0);
	program(&r, 1, 2, 1000);
	at(&r, 101);
	out8(&r, 0x43, 0x40); /* latch channel 1 */
	at(&r, 201);
	out8(&r, 0x43, 0x40); /* ignored: the first latch is not read yet */
	assert_int_equal(in8(&r, 0x41), (900 & 0xff));
	at(&r, 301);
	assert_int_equal(in8(&r, 0x41), 900 >> 8);
	/* Read out: the next reads follow the counter. */
	assert_int_equal(in8(&r, 0x41), 700 & 0xff);
	assert_int_equal(in8(&r, 0x41), 700 >> 8);
	/* Latch, read the LSB, and a new latch is still ignored until the MSB. */
	out8(&r, 0x43, 0x40);
	assert_int_equal(in8(&r, 0x41), 700 & 0xff);
	at(&r, 401);
	out8(&r, 0x43, 0x40);
	assert_int_equal(in8(&r, 0x41), 700 >> 8);
	assert_int_equal(latched_count(&r, 1), 600);
	/* Reading and writing have their own byte sequences. */
	assert_int_equal(in8(&r, 0x41), 600 & 0xff);
	out8(&r, 0x41, 0x34);
	assert_int_equal(in8(&r, 0x41), 600 >> 8);
	out8(&r, 0x41, 0x12);
	at(&r, 1001); /* the period running when the count came ends at 1001 */
	assert_int_equal(latched_count(&r, 1), 0x1234);
}

static void test_read_back(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, PIT_HZ, 0);
	/* Fresh: mode 3, LSB/MSB, binary, OUT high, null count. */
	for (unsigned ch = 0; ch < 3; ch++)
		assert_int_equal(status(&r, ch), 0x80 | 0x40 | 0x36);
	program(&r, 0, 2, 500);
	program(&r, 1, 0, 300);
	out8(&r, 0x43, 0xa1); /* channel 2: MSB only, mode 0, BCD */
	out8(&r, 0x42, 0x12);
	at(&r, 101);
	/* Count and status of channels 0 and 1 at once: status first. */
	out8(&r, 0x43, 0xc6);
	assert_int_equal(in8(&r, 0x40), 0x80 | 0x34);
	assert_int_equal(in8(&r, 0x40), 400 & 0xff);
	assert_int_equal(in8(&r, 0x40), 400 >> 8);
	assert_int_equal(in8(&r, 0x41), 0x30);
	assert_int_equal(in8(&r, 0x41), 200 & 0xff);
	at(&r, 150);
	assert_int_equal(in8(&r, 0x41), 200 >> 8);
	/* Status only; a second status latch before the read is ignored. */
	out8(&r, 0x43, 0xe8);
	at(&r, 2000);
	out8(&r, 0x43, 0xe8);
	assert_int_equal(in8(&r, 0x42), 0x21); /* OUT low at tick 101 */
	/* Gate 2 is low: the BCD count 1200 has not moved (MSB only: 0x12). */
	out8(&r, 0x43, 0xd8);
	assert_int_equal(in8(&r, 0x42), 0x12);
	/* Reserved bit 0 and no counters selected: nothing latched. */
	out8(&r, 0x43, 0xc1);
	assert_int_equal(in8(&r, 0x42), 0x12);
	/* Port 0x43 is write-only. */
	assert_int_equal(in8(&r, 0x43), 0xff);
}

static void test_byte_sequencing(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, PIT_HZ, 0);
	/* LSB only: the MSB is 0. */
	out8(&r, 0x43, 0x14); /* channel 0, LSB, mode 2 */
	out8(&r, 0x40, 50);
	at(&r, 1);
	assert_int_equal(in8(&r, 0x40), 50);
	assert_int_equal(in8(&r, 0x40), 50); /* every read is the LSB */
	assert_int_equal(pit_next_deadline(&r.pit), 51);
	/* MSB only: the LSB is 0. */
	out8(&r, 0x43, 0x24);
	out8(&r, 0x40, 2);
	at(&r, 2);
	assert_int_equal(in8(&r, 0x40), 2);
	assert_int_equal(pit_next_deadline(&r.pit), 2 + 512);
	/* LSB then MSB: nothing happens on the first byte in mode 2. */
	out8(&r, 0x43, 0x34);
	out8(&r, 0x40, 0x00);
	at(&r, 10);
	assert_int_equal(status(&r, 0) & 0x40, 0x40);
	out8(&r, 0x40, 0x01);
	at(&r, 11);
	assert_int_equal(in8(&r, 0x40), 0x00);
	assert_int_equal(in8(&r, 0x40), 0x01);
	/* A control word resets the read sequence. */
	assert_int_equal(in8(&r, 0x40), 0x00);
	out8(&r, 0x43, 0x34);
	program(&r, 0, 2, 0x0203);
	at(&r, 12);
	assert_int_equal(in8(&r, 0x40), 0x03);
	/* A 16-bit write to 0x40 is two byte writes: to 0x40 and to 0x43. */
	bool claimed;
	bus_write(&r.bus, 0x42, 2, 0xb6ff, &claimed); /* 0xff to channel 2, then a control word */
	assert_true(claimed);
	assert_int_equal(status(&r, 2), 0x80 | 0x40 | 0x36);
}

static void test_port61_channel2(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, PIT_HZ, 0);
	/* Bits 3-0 read back; 7-6 read 0; writes to 7-4 are dropped. */
	out8(&r, 0x61, 0xfe);
	assert_int_equal(in8(&r, 0x61) & 0xcf, 0x0e);
	/* Gate low: mode 0 does not count, OUT2 stays low. */
	out8(&r, 0x61, 0x00);
	program(&r, 2, 0, 1000);
	assert_false(out2(&r));
	at(&r, 5000);
	assert_false(out2(&r));
	assert_int_equal(latched_count(&r, 2), 1000);
	/* Gate high: counts from here. */
	out8(&r, 0x61, 0x01);
	at(&r, 5999);
	assert_int_equal(in8(&r, 0x61) & 0x21, 0x01);
	at(&r, 6000);
	assert_int_equal(in8(&r, 0x61) & 0x21, 0x21);
	/* Gate low pauses mode 0 where it is. */
	program(&r, 2, 0, 1000);
	at(&r, 6501);
	out8(&r, 0x61, 0x00);
	at(&r, 9000);
	assert_int_equal(latched_count(&r, 2), 500);
	out8(&r, 0x61, 0x01);
	at(&r, 9499);
	assert_false(out2(&r));
	at(&r, 9500);
	assert_true(out2(&r));
	/* Mode 2: gate low forces OUT high and stops; rising restarts the period. */
	program(&r, 2, 2, 100);
	at(&r, 9600);
	assert_false(out2(&r)); /* the low pulse at count 1 */
	out8(&r, 0x61, 0x00);
	assert_true(out2(&r));
	at(&r, 9650);
	out8(&r, 0x61, 0x01);
	at(&r, 9651);
	assert_int_equal(latched_count(&r, 2), 100);
	at(&r, 9750);
	assert_false(out2(&r));

	/* The refresh bit toggles every 18 PIT clocks. */
	at(&r, 18 * 1000);
	uint8_t a = in8(&r, 0x61) & 0x10;
	at(&r, 18 * 1000 + 17);
	assert_int_equal(in8(&r, 0x61) & 0x10, a);
	at(&r, 18 * 1001);
	assert_int_equal(in8(&r, 0x61) & 0x10, a ^ 0x10);
}

/* The classic TSC calibration: gate on, speaker off, channel 2 in mode 0,
 * poll port 0x61 bit 5. Each poll costs the guest 37 TSC ticks. */
static void test_calibration_loop(void **state)
{
	(void)state;
	const uint64_t hz = 2400000000ull, latch = 11932; /* 10 ms */
	struct rig r;
	rig_init(&r, hz, 123456789);
	out8(&r, 0x61, (in8(&r, 0x61) & ~0x02) | 0x01);
	out8(&r, 0x43, 0xb0);
	out8(&r, 0x42, latch & 0xff);
	out8(&r, 0x42, latch >> 8);
	uint64_t start = r.now;
	unsigned polls = 0;
	while ((in8(&r, 0x61) & 0x20) == 0) {
		r.now += 37;
		polls++;
		assert_true(polls < 10000000);
	}
	uint64_t took = r.now - start;
	uint64_t want = (latch + 1) * hz / PIT_HZ;
	assert_true(took + 37 + hz / PIT_HZ >= want && took <= want + 37 + hz / PIT_HZ);
	/* Channel 2 is not IRQ 0. */
	assert_int_equal(r.irq0.rises, 0);
}

static void test_bcd(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, PIT_HZ, 0);
	out8(&r, 0x43, 0x31); /* channel 0, LSB/MSB, mode 0, BCD */
	out8(&r, 0x40, 0x00);
	out8(&r, 0x40, 0x01); /* 0100 = one hundred */
	at(&r, 2);
	assert_int_equal(latched_count(&r, 0), 0x0099);
	at(&r, 101);
	assert_int_equal(latched_count(&r, 0), 0x0000);
	assert_true(out_pin(&r, 0));
	at(&r, 102);
	assert_int_equal(latched_count(&r, 0), 0x9999); /* BCD wraps at 10^4 */
	/* A count of 0 is 10000 in BCD. */
	out8(&r, 0x40, 0);
	out8(&r, 0x40, 0);
	assert_int_equal(pit_next_deadline(&r.pit), 102 + 10001);
	/* Digits above 9 count at face value, modulo 10^4: 0x00fa = 160. */
	out8(&r, 0x40, 0xfa);
	out8(&r, 0x40, 0x00);
	assert_int_equal(pit_next_deadline(&r.pit), 102 + 161);
	/* Mode 2 in BCD. */
	out8(&r, 0x43, 0x35);
	out8(&r, 0x40, 0x50);
	out8(&r, 0x40, 0x00);
	at(&r, 103);
	assert_int_equal(latched_count(&r, 0), 0x50);
	at(&r, 113);
	assert_int_equal(latched_count(&r, 0), 0x40);
}

static void test_modes_1_4_5(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, PIT_HZ, 0);
	/* Mode 4: OUT high, low for one pulse N + 1 after the write. */
	program(&r, 0, 4, 20);
	assert_true(r.irq0.level);
	at(&r, 20);
	assert_true(out_pin(&r, 0));
	at(&r, 21);
	assert_false(out_pin(&r, 0));
	pit_update(&r.pit);
	assert_false(r.irq0.level);
	assert_int_equal(pit_next_deadline(&r.pit), 22);
	at(&r, 22);
	assert_true(out_pin(&r, 0));
	pit_update(&r.pit);
	assert_int_equal(r.irq0.rises, 1);
	assert_int_equal(pit_next_deadline(&r.pit), VCLOCK_NEVER);

	/* Mode 1 on channel 2: nothing until the gate rises; OUT low from the
	 * next pulse for N pulses; retriggerable. */
	program(&r, 2, 1, 30);
	at(&r, 100);
	assert_true(out2(&r));
	out8(&r, 0x61, 0x01);
	assert_true(out2(&r));
	at(&r, 101);
	assert_false(out2(&r));
	assert_int_equal(latched_count(&r, 2), 30);
	at(&r, 120);
	out8(&r, 0x61, 0x00);
	out8(&r, 0x61, 0x01); /* retrigger */
	at(&r, 131);
	assert_false(out2(&r));
	at(&r, 151);
	assert_true(out2(&r));

	/* Mode 5 on channel 2: triggered by the gate, one low pulse at
	 * terminal count. */
	program(&r, 2, 5, 10);
	out8(&r, 0x61, 0x00);
	at(&r, 200);
	out8(&r, 0x61, 0x01);
	at(&r, 210);
	assert_true(out2(&r));
	at(&r, 211);
	assert_false(out2(&r));
	at(&r, 212);
	assert_true(out2(&r));
	/* Modes 6 and 7 are modes 2 and 3; the status shows what was written. */
	out8(&r, 0x43, 0x3c);
	assert_int_equal(status(&r, 0) & 0x3f, 0x3c);
	out8(&r, 0x40, 4);
	out8(&r, 0x40, 0);
	at(&r, 213);
	assert_int_equal(latched_count(&r, 0), 4);
	at(&r, 214);
	assert_int_equal(latched_count(&r, 0), 3); /* mode 2: by one */
	out8(&r, 0x43, 0x3e);
	assert_int_equal(status(&r, 0) & 0x3f, 0x3e);
	out8(&r, 0x40, 4);
	out8(&r, 0x40, 0);
	at(&r, 215);
	assert_int_equal(latched_count(&r, 0), 4);
	at(&r, 216);
	assert_int_equal(latched_count(&r, 0), 2); /* mode 3: by two */
}

static void test_odd_accesses_and_clocks(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, PIT_HZ, 0);
	assert_int_equal(pit_read(&r.pit, 4, 1), 0xff);
	assert_int_equal(pit_read(&r.pit, 3, 2), 0xffff);
	assert_int_equal(pit_read(&r.pit, UINT64_MAX, 8), UINT64_MAX);
	assert_int_equal(pit_read(&r.pit, 0, 0), 0);
	assert_int_equal(pit_port61_read(&r.pit, 1, 1), 0xff);
	assert_int_equal(pit_port61_read(&r.pit, 0, 0), 0);
	assert_int_equal(pit_port61_read(&r.pit, 0, 4) & 0xffffff00, 0xffffff00);
	pit_write(&r.pit, 4, 1, 0x30);
	pit_write(&r.pit, UINT64_MAX, 8, 0x30);
	pit_port61_write(&r.pit, 1, 1, 0x01);
	pit_port61_write(&r.pit, 0, 0, 0x01);
	assert_int_equal(in8(&r, 0x61) & 0x01, 0);
	assert_int_equal(status(&r, 0), 0x80 | 0x40 | 0x36);

	/* A clock that goes back is held where it was. */
	at(&r, 1000);
	program(&r, 0, 2, 100);
	at(&r, 500);
	assert_int_equal(latched_count(&r, 0), 100);
	assert_int_equal(pit_next_deadline(&r.pit), 1101);

	/* A clock with tsc_hz 0 never advances; no IRQ line is fine. */
	struct pit8254 p;
	uint64_t now = 5;
	struct vclock still = { rig_fake_now, &now, 0 };
	pit8254_init(&p, &still, NULL);
	pit_write(&p, 3, 1, 0x34);
	pit_write(&p, 0, 1, 0x02);
	pit_write(&p, 0, 1, 0x00);
	now = 1000000;
	pit_update(&p);
	assert_int_equal(pit_next_deadline(&p), VCLOCK_NEVER);
	assert_int_equal(pit_read(&p, 0, 1), 0x02);
	assert_int_equal(pit_read(&p, 0, 1), 0x00);
	assert_true(pit_output(&p, 0));
	assert_false(pit_output(&p, 3));
}

/* Random traffic with the clock moving: no sanitizer report; after each
 * pit_update the line shows OUT0 and the next deadline is in the future. */
static uint32_t rng_state = 0x8254;

static uint32_t rng(void)
{
	return rig_xorshift32(&rng_state);
}

static void test_random_traffic(void **state)
{
	(void)state;
	static const uint16_t ports[] = { 0x40, 0x41, 0x42, 0x43, 0x43, 0x43, 0x61 };
	static const unsigned sizes[] = { 1, 1, 1, 1, 2, 4, 8 };
	static const uint64_t rates[] = { PIT_HZ, 3000000000ull, 1000, 1 };
	unsigned checked = 0;
	for (unsigned run = 0; run < 40; run++) {
		struct rig r;
		rig_init(&r, rates[run % ARRAY_SIZE(rates)], rng());
		for (unsigned step = 0; step < 3000; step++) {
			uint32_t x = rng();
			uint16_t port = ports[x % ARRAY_SIZE(ports)];
			unsigned size = sizes[(x >> 8) % ARRAY_SIZE(sizes)];
			bool claimed;
			switch ((x >> 12) % 5) {
			case 0:
				bus_write(&r.bus, port, size, rng() | (uint64_t)rng() << 32, &claimed);
				break;
			case 1:
				(void)bus_read(&r.bus, port, size, &claimed);
				break;
			case 2:
				r.now += rng() % 200;
				break;
			case 3:
				if ((x >> 24) == 0xff) /* now and then, centuries */
					r.now += (uint64_t)rng() * rng();
				else if (x & 0x80000000u)
					r.now += (uint64_t)rng() * 1000;
				pit_write(&r.pit, rng() % 6, rng() % 10, rng());
				break;
			default: {
				pit_update(&r.pit);
				assert_int_equal(r.irq0.level, pit_output(&r.pit, 0));
				uint64_t d = pit_next_deadline(&r.pit);
				assert_true(d > r.now);
				if (d != VCLOCK_NEVER && d - r.now < 1000000000ull) {
					/* Nothing before the deadline, one edge on it (at
					 * least one if a TSC tick holds several PIT ticks). */
					uint64_t edges = r.pit.out0_edges;
					unsigned rises = r.irq0.rises;
					at(&r, d - 1);
					pit_update(&r.pit);
					assert_int_equal(r.pit.out0_edges, edges);
					at(&r, d);
					pit_update(&r.pit);
					if (r.pit.clock.tsc_hz >= PIT_HZ)
						assert_int_equal(r.pit.out0_edges, edges + 1);
					else
						assert_true(r.pit.out0_edges > edges);
					assert_int_equal(r.irq0.rises, rises + 1);
					checked++;
				}
				break;
			}
			}
		}
	}
	assert_true(checked > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode0_counts_down),
		cmocka_unit_test(test_mode2_periodic_edges),
		cmocka_unit_test(test_no_drift),
		cmocka_unit_test(test_mode3_square_wave),
		cmocka_unit_test(test_new_count_waits_for_period_end),
		cmocka_unit_test(test_counter_latch),
		cmocka_unit_test(test_read_back),
		cmocka_unit_test(test_byte_sequencing),
		cmocka_unit_test(test_port61_channel2),
		cmocka_unit_test(test_calibration_loop),
		cmocka_unit_test(test_bcd),
		cmocka_unit_test(test_modes_1_4_5),
		cmocka_unit_test(test_odd_accesses_and_clocks),
		cmocka_unit_test(test_random_traffic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
