/* devices/i8042.c through a port I/O bus: the status register, controller
 * self-tests, the command byte, the output port and system reset, the
 * keyboard's answers, translation, IRQ 1 and IRQ 12, and random traffic. */
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "tests/unit/rig.h"
#include "devices/i8042.h"

struct rig {
	struct i8042 kbc;
	struct bus bus;
	struct rig_line irq1, irq12;
	unsigned resets;
};

static void line_set(void *ctx, unsigned pin, bool asserted)
{
	struct rig_line *l = ctx;
	assert_true(pin == 1 || pin == 12);
	assert_true(asserted != l->level); /* changes only */
	rig_line_set(l, asserted);
}

static void on_reset(void *ctx)
{
	struct rig *r = ctx;
	r->resets++;
}

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	struct irq_line irq1 = { line_set, &r->irq1, 1 }, irq12 = { line_set, &r->irq12, 12 };
	i8042_init(&r->kbc, &irq1, &irq12, on_reset, r);
	const struct bus_device devs[] = {
		{ "8042 data", I8042_DATA_PORT, I8042_NR_PORTS, i8042_data_read, i8042_data_write, &r->kbc },
		{ "8042 command", I8042_COMMAND_PORT, I8042_NR_PORTS, i8042_status_read, i8042_command_write, &r->kbc },
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

static uint8_t status(struct rig *r)
{
	return in8(r, 0x64);
}

/* The next byte of the output buffer, which must be full. */
static uint8_t next_byte(struct rig *r)
{
	assert_int_equal(status(r) & 0x01, 0x01);
	return in8(r, 0x60);
}

static void assert_empty(struct rig *r)
{
	assert_int_equal(status(r) & 0x01, 0);
}

static uint8_t command_byte(struct rig *r)
{
	out8(r, 0x64, 0x20);
	return next_byte(r);
}

static void set_command_byte(struct rig *r, uint8_t v)
{
	out8(r, 0x64, 0x60);
	out8(r, 0x60, v);
}

static void test_initial_state(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	/* Not inhibited, SYS (POST passed), empty, last write was data. */
	assert_int_equal(status(&r), 0x14);
	assert_int_equal(command_byte(&r), 0x45);
	assert_true(i8042_a20_enabled(&r.kbc));
	out8(&r, 0x64, 0xd0);
	assert_int_equal(next_byte(&r), 0xcf);
	out8(&r, 0x64, 0xc0);
	assert_int_equal(next_byte(&r), 0x80);
	assert_int_equal(r.resets, 0);
}

static void test_self_tests(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	/* Clear SYS, then the self-test sets it again and answers 55h. */
	set_command_byte(&r, 0x40);
	assert_int_equal(status(&r) & 0x04, 0);
	out8(&r, 0x64, 0xaa);
	assert_int_equal(status(&r), 0x1d); /* OBF, SYS, A2, not inhibited */
	assert_int_equal(in8(&r, 0x60), 0x55);
	assert_int_equal(status(&r), 0x1c);
	/* Interface tests: 00h = no error. No password installed. */
	out8(&r, 0x64, 0xab);
	assert_int_equal(next_byte(&r), 0x00);
	out8(&r, 0x64, 0xa9);
	assert_int_equal(next_byte(&r), 0x00);
	out8(&r, 0x64, 0xa4);
	assert_int_equal(next_byte(&r), 0xf1);
	out8(&r, 0x64, 0xe0);
	assert_int_equal(next_byte(&r), 0x00);
	/* An empty buffer reads the last byte again. */
	assert_empty(&r);
	assert_int_equal(in8(&r, 0x60), 0x00);
	/* Unknown commands do nothing. */
	out8(&r, 0x64, 0xc8);
	out8(&r, 0x64, 0x05);
	assert_empty(&r);
}

static void test_command_byte(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	set_command_byte(&r, 0x65);
	assert_int_equal(status(&r) & 0x08, 0); /* data written last */
	assert_int_equal(command_byte(&r), 0x65);
	assert_int_equal(status(&r) & 0x08, 0x08); /* ...and now a command */
	/* The other RAM bytes. */
	out8(&r, 0x64, 0x7f);
	out8(&r, 0x60, 0x9c);
	out8(&r, 0x64, 0x3f);
	assert_int_equal(next_byte(&r), 0x9c);
	out8(&r, 0x64, 0x21);
	assert_int_equal(next_byte(&r), 0x00);
	/* ADh/AEh and A7h/A8h are bits 4 and 5. */
	set_command_byte(&r, 0x45);
	out8(&r, 0x64, 0xad);
	assert_int_equal(command_byte(&r), 0x55);
	out8(&r, 0x64, 0xa7);
	assert_int_equal(command_byte(&r), 0x75);
	out8(&r, 0x64, 0xae);
	out8(&r, 0x64, 0xa8);
	assert_int_equal(command_byte(&r), 0x45);
	/* A command replaces one still waiting for its data byte. */
	out8(&r, 0x64, 0x60);
	out8(&r, 0x64, 0x20);
	assert_int_equal(next_byte(&r), 0x45);
	out8(&r, 0x60, 0xf4); /* goes to the keyboard */
	assert_int_equal(next_byte(&r), 0xfa);
	assert_int_equal(command_byte(&r), 0x45);
	/* IRQ 1 only with bit 0. */
	set_command_byte(&r, 0x44);
	unsigned rises = r.irq1.rises;
	out8(&r, 0x64, 0xaa);
	assert_false(r.irq1.level);
	assert_int_equal(in8(&r, 0x60), 0x55);
	set_command_byte(&r, 0x45);
	out8(&r, 0x64, 0xaa);
	assert_true(r.irq1.level);
	/* Turning bit 0 off with a byte waiting lowers IRQ 1. */
	set_command_byte(&r, 0x44);
	assert_false(r.irq1.level);
	assert_int_equal(r.irq1.rises, rises + 1);
}

static void test_reset_and_output_port(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	out8(&r, 0x64, 0xfe);
	assert_int_equal(r.resets, 1);
	/* Pulses that leave bit 0 alone do not reset. */
	out8(&r, 0x64, 0xff);
	out8(&r, 0x64, 0xfd);
	out8(&r, 0x64, 0xf1);
	assert_int_equal(r.resets, 1);
	out8(&r, 0x64, 0xf0);
	assert_int_equal(r.resets, 2);
	/* The output port: A20 off, then bit 0 low resets. */
	out8(&r, 0x64, 0xd1);
	out8(&r, 0x60, 0xcd);
	assert_false(i8042_a20_enabled(&r.kbc));
	assert_int_equal(r.resets, 2);
	out8(&r, 0x64, 0xd0);
	assert_int_equal(next_byte(&r), 0xcd);
	out8(&r, 0x64, 0xd1);
	out8(&r, 0x60, 0xde);
	assert_int_equal(r.resets, 3);
	assert_true(i8042_a20_enabled(&r.kbc));
	/* Bit 0 reads back 1; bits 4-5 show the buffer, not what was written. */
	out8(&r, 0x64, 0xd0);
	assert_int_equal(next_byte(&r), 0xdf & ~0x30);
	out8(&r, 0x64, 0xd1);
	out8(&r, 0x60, 0xff);
	out8(&r, 0x64, 0xd2);
	out8(&r, 0x60, 0x12);
	out8(&r, 0x64, 0xd0); /* the answer replaces the 12h not yet read */
	assert_int_equal(next_byte(&r), 0xcf | 0x10);
	/* DDh and DFh. */
	out8(&r, 0x64, 0xdd);
	assert_false(i8042_a20_enabled(&r.kbc));
	out8(&r, 0x64, 0xdf);
	assert_true(i8042_a20_enabled(&r.kbc));
	assert_int_equal(r.resets, 3);
}

static void test_keyboard_answers(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	/* Reset: ACK, then the self-test passed. Each byte raises IRQ 1. */
	out8(&r, 0x60, 0xff);
	assert_true(r.irq1.level);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_true(r.irq1.level);
	assert_int_equal(r.irq1.rises, 2);
	assert_int_equal(next_byte(&r), 0xaa);
	assert_false(r.irq1.level);
	assert_empty(&r);
	/* Identify: an MF2 keyboard, its 83h translated to 41h... */
	out8(&r, 0x60, 0xf2);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_int_equal(next_byte(&r), 0xab);
	assert_int_equal(next_byte(&r), 0x41);
	/* ...or not, with translation off. */
	set_command_byte(&r, 0x05);
	out8(&r, 0x60, 0xf2);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_int_equal(next_byte(&r), 0xab);
	assert_int_equal(next_byte(&r), 0x83);
	/* Enable, disable, defaults. */
	out8(&r, 0x60, 0xf4);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_true(r.kbc.kbd_scanning);
	out8(&r, 0x60, 0xf5);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_false(r.kbc.kbd_scanning);
	out8(&r, 0x60, 0xf6);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_true(r.kbc.kbd_scanning);
	/* LEDs and typematic take a data byte, each ACKed. */
	out8(&r, 0x60, 0xed);
	assert_int_equal(next_byte(&r), 0xfa);
	out8(&r, 0x60, 0x07);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_int_equal(r.kbc.kbd_leds, 7);
	out8(&r, 0x60, 0xf3);
	out8(&r, 0x60, 0x20);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_int_equal(r.kbc.kbd_typematic, 0x20);
	/* A command where data was expected is a command. */
	out8(&r, 0x60, 0xed);
	out8(&r, 0x60, 0xee);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_int_equal(next_byte(&r), 0xee); /* echo */
	assert_int_equal(r.kbc.kbd_leds, 7);
	/* Scan code sets: query, select, refuse. The command and its data
	 * byte are each ACKed; a query then sends the set. */
	out8(&r, 0x60, 0xf0);
	out8(&r, 0x60, 0x00);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_int_equal(next_byte(&r), 0x02);
	out8(&r, 0x60, 0xf0);
	out8(&r, 0x60, 0x03);
	out8(&r, 0x60, 0xf0);
	out8(&r, 0x60, 0x00);
	for (int i = 0; i < 4; i++)
		assert_int_equal(next_byte(&r), 0xfa);
	assert_int_equal(next_byte(&r), 0x03);
	out8(&r, 0x60, 0xf0);
	out8(&r, 0x60, 0x04);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_int_equal(next_byte(&r), 0xfe);
	/* With translation the set numbers read in set 1 terms. */
	set_command_byte(&r, 0x45);
	static const uint8_t translated[] = { 0x43, 0x41, 0x3f };
	for (uint8_t set = 1; set <= 3; set++) {
		out8(&r, 0x60, 0xf0);
		out8(&r, 0x60, set);
		out8(&r, 0x60, 0xf0);
		out8(&r, 0x60, 0x00);
		for (int i = 0; i < 4; i++)
			assert_int_equal(next_byte(&r), 0xfa);
		assert_int_equal(next_byte(&r), translated[set - 1]);
	}
	/* Set 3 key-type commands are ACKed; unknown commands get FEh;
	 * resend repeats the last byte. */
	out8(&r, 0x60, 0xf8);
	assert_int_equal(next_byte(&r), 0xfa);
	out8(&r, 0x60, 0x12);
	assert_int_equal(next_byte(&r), 0xfe);
	out8(&r, 0x60, 0xee);
	assert_int_equal(next_byte(&r), 0xee);
	out8(&r, 0x60, 0xfe);
	assert_int_equal(next_byte(&r), 0xee);
	assert_empty(&r);
	assert_int_equal(r.resets, 0);
}

static void test_keyboard_port_off(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	/* Answers wait in the keyboard while its port is off. */
	out8(&r, 0x64, 0xad);
	out8(&r, 0x60, 0xff);
	assert_empty(&r);
	assert_false(r.irq1.level);
	/* A controller answer is not held. */
	out8(&r, 0x64, 0x20);
	assert_int_equal(next_byte(&r), 0x55);
	out8(&r, 0x64, 0xae);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_int_equal(next_byte(&r), 0xaa);
	assert_empty(&r);
	/* The queue holds 16 bytes; more are dropped. F2h six times is 18. */
	out8(&r, 0x64, 0xad);
	for (int i = 0; i < 6; i++)
		out8(&r, 0x60, 0xf2);
	out8(&r, 0x64, 0xae);
	unsigned n = 0;
	while (status(&r) & 0x01) {
		(void)in8(&r, 0x60);
		n++;
	}
	assert_int_equal(n, 16);
	/* F4h clears what is queued. */
	out8(&r, 0x64, 0xad);
	out8(&r, 0x60, 0xf2);
	out8(&r, 0x60, 0xf4);
	out8(&r, 0x64, 0xae);
	assert_int_equal(next_byte(&r), 0xfa);
	assert_empty(&r);
	/* Enabling the port by writing the command byte delivers too. */
	out8(&r, 0x64, 0xad);
	out8(&r, 0x60, 0xee);
	assert_empty(&r);
	set_command_byte(&r, 0x45);
	assert_int_equal(next_byte(&r), 0xee);
}

static void test_status_and_aux(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	/* D3h: a byte as if from the auxiliary device: AUXB, IRQ 12 with bit 1. */
	set_command_byte(&r, 0x47);
	out8(&r, 0x64, 0xd3);
	out8(&r, 0x60, 0x5a);
	assert_int_equal(status(&r), 0x35); /* OBF, SYS, not inhibited, AUXB */
	assert_true(r.irq12.level);
	assert_false(r.irq1.level);
	out8(&r, 0x64, 0xd0);
	/* The answer replaced the aux byte: now a keyboard-side byte, which
	 * shows the port as it was: the auxiliary buffer full. */
	assert_false(r.irq12.level);
	assert_true(r.irq1.level);
	assert_int_equal(next_byte(&r) & 0x30, 0x20);
	out8(&r, 0x64, 0xd3);
	out8(&r, 0x60, 0xa5);
	out8(&r, 0x64, 0xd0);
	out8(&r, 0x64, 0xd3);
	out8(&r, 0x60, 0x5a);
	assert_int_equal(in8(&r, 0x60), 0x5a);
	assert_false(r.irq12.level);
	assert_int_equal(r.irq12.rises, 3);
	/* Without bit 1, no IRQ 12. */
	set_command_byte(&r, 0x45);
	out8(&r, 0x64, 0xd3);
	out8(&r, 0x60, 0x01);
	assert_false(r.irq12.level);
	assert_int_equal(status(&r) & 0x21, 0x21);
	out8(&r, 0x64, 0xd0);
	assert_int_equal(next_byte(&r) & 0x30, 0x20);
	/* D2h: as if from the keyboard, IRQ 1, no translation. */
	out8(&r, 0x64, 0xd2);
	out8(&r, 0x60, 0x83);
	assert_true(r.irq1.level);
	assert_int_equal(status(&r) & 0x21, 0x01);
	assert_int_equal(in8(&r, 0x60), 0x83);
	/* D4h: a byte for the auxiliary device, which is not there. */
	out8(&r, 0x64, 0xd4);
	out8(&r, 0x60, 0xff);
	assert_empty(&r);
	assert_int_equal(r.resets, 0);
}

static void test_odd_accesses(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	assert_int_equal(i8042_status_read(&r.kbc, 0, 2), 0xff14);
	assert_int_equal(i8042_status_read(&r.kbc, 1, 1), 0xff);
	assert_int_equal(i8042_status_read(&r.kbc, 0, 0), 0);
	assert_int_equal(i8042_status_read(&r.kbc, 0, 99), 0xffffffffffffff14ull);
	assert_int_equal(i8042_data_read(&r.kbc, 3, 4), 0xffffffff);
	i8042_command_write(&r.kbc, 1, 1, 0xfe);
	i8042_command_write(&r.kbc, 0, 0, 0xfe);
	i8042_data_write(&r.kbc, UINT64_MAX, 8, 0xff);
	assert_int_equal(r.resets, 0);
	assert_empty(&r);
	/* Only the low byte of a wide write counts. */
	i8042_command_write(&r.kbc, 0, 4, 0x12345620);
	assert_int_equal(i8042_data_read(&r.kbc, 0, 4), 0xffffff45);
	/* No lines, no reset callback: fine. */
	struct i8042 bare;
	i8042_init(&bare, NULL, NULL, NULL, NULL);
	i8042_command_write(&bare, 0, 1, 0xfe);
	i8042_data_write(&bare, 0, 1, 0xff);
	assert_int_equal(i8042_data_read(&bare, 0, 1), 0xfa);
}

/* Random traffic: no sanitizer report; the lines follow the buffer and
 * the command byte; the status agrees with the state. */
static uint32_t rng_state = 0x8042;

static uint32_t rng(void)
{
	return rig_xorshift32(&rng_state);
}

static void test_random_traffic(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 1, 1, 1, 1, 2, 4, 8 };
	unsigned bytes = 0;
	for (unsigned run = 0; run < 50; run++) {
		struct rig r;
		rig_init(&r);
		for (unsigned step = 0; step < 4000; step++) {
			uint32_t x = rng();
			unsigned size = sizes[(x >> 8) % ARRAY_SIZE(sizes)];
			uint64_t v = rng();
			switch (x % 5) {
			case 0:
				/* Mostly keyboard traffic; now and then any byte. */
				i8042_data_write(&r.kbc, 0, size, (x & 0x10000) ? v : 0xe0 | (v & 0x1f));
				break;
			case 1:
				i8042_command_write(&r.kbc, (x >> 20) % 3 == 0, size, v);
				break;
			case 2:
				if (i8042_status_read(&r.kbc, 0, 1) & 1)
					bytes++;
				(void)i8042_data_read(&r.kbc, (x >> 20) % 3 == 0, size);
				break;
			case 3:
				(void)i8042_status_read(&r.kbc, (x >> 20) % 3 == 0, size);
				break;
			default: {
				uint8_t s = (uint8_t)i8042_status_read(&r.kbc, 0, 1);
				uint8_t cb = r.kbc.ram[0];
				bool obf = s & 1, aux = s & 0x20;
				assert_int_equal(s & 0xc2, 0);
				assert_true(!aux || obf);
				assert_int_equal(r.irq1.level, obf && !aux && (cb & 1));
				assert_int_equal(r.irq12.level, obf && aux && (cb & 2));
				assert_true(r.kbc.kq_len <= I8042_KBD_QUEUE);
				break;
			}
			}
		}
	}
	assert_true(bytes > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_state),
		cmocka_unit_test(test_self_tests),
		cmocka_unit_test(test_command_byte),
		cmocka_unit_test(test_reset_and_output_port),
		cmocka_unit_test(test_keyboard_answers),
		cmocka_unit_test(test_keyboard_port_off),
		cmocka_unit_test(test_status_and_aux),
		cmocka_unit_test(test_odd_accesses),
		cmocka_unit_test(test_random_traffic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
