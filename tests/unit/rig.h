/* Pieces shared by the device test rigs (test_pic8259.c, test_pit8254.c,
 * test_rtc_cmos.c, test_i8042.c): a port I/O bus with the device's ranges
 * registered, byte-wide port in/out that insist the port is claimed, a fake
 * clock for struct vclock, an interrupt-line probe and a small
 * deterministic random generator. Header-only (static inline) because each
 * test is one translation unit. */
#ifndef TESTS_UNIT_RIG_H
#define TESTS_UNIT_RIG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/bus.h"

/* A port I/O bus holding exactly devs[0..n-1]. */
static inline void rig_bus_attach(struct bus *b, const struct bus_device *devs, size_t n)
{
	bus_init(b, "port I/O");
	for (size_t i = 0; i < n; i++)
		assert_true(bus_register(b, &devs[i]));
}

static inline void rig_out8(struct bus *b, uint16_t port, uint8_t v)
{
	bool claimed;
	bus_write(b, port, 1, v, &claimed);
	assert_true(claimed);
}

static inline uint8_t rig_in8(struct bus *b, uint16_t port)
{
	bool claimed;
	uint8_t v = (uint8_t)bus_read(b, port, 1, &claimed);
	assert_true(claimed);
	return v;
}

/* vclock read callback: ctx points at the test's uint64_t "now". */
static inline uint64_t rig_fake_now(void *ctx)
{
	return *(uint64_t *)ctx;
}

/* An interrupt line as a device drives it. rig_line_set records a new
 * level, counting edges; the caller checks the pin and, for devices that
 * promise to report changes only, that the level changed. */
struct rig_line {
	bool level;
	unsigned rises, falls;
};

static inline void rig_line_set(struct rig_line *l, bool asserted)
{
	if (asserted && !l->level)
		l->rises++;
	if (!asserted && l->level)
		l->falls++;
	l->level = asserted;
}

/* xorshift32: each test keeps its own state (and seed) so its traffic
 * does not depend on the other tests. */
static inline uint32_t rig_xorshift32(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

#endif
