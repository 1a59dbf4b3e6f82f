/* Time arithmetic without overflow: converting between clocks of different
 * rates (TSC ticks, PIT ticks, nanoseconds) multiplies before it divides. */
#ifndef LIB_MULDIV_H
#define LIB_MULDIV_H

#include "lib/types.h"

/* a * b / c, with a 128-bit intermediate, and its remainder; c must not be
 * 0. Saturates at UINT64_MAX (remainder 0) when the quotient does not fit. */
static inline uint64_t muldivrem64(uint64_t a, uint64_t b, uint64_t c, uint64_t *rem)
{
#ifdef HV_HOSTED
	unsigned __int128 p = (unsigned __int128)a * b, q = p / c;
	if (q > UINT64_MAX) {
		*rem = 0;
		return UINT64_MAX;
	}
	*rem = (uint64_t)(p % c);
	return (uint64_t)q;
#else
	/* The freestanding build has no libgcc for a 128-bit division: MUL
	 * gives the 128-bit product in RDX:RAX and DIV divides it by c, which
	 * faults (#DE) unless the quotient fits 64 bits, i.e. unless the high
	 * half is below c (SDM Vol. 2A DIV). */
	uint64_t lo, hi, q;
	__asm__("mulq %3" : "=a"(lo), "=d"(hi) : "a"(a), "rm"(b) : "cc");
	if (hi >= c) {
		*rem = 0;
		return UINT64_MAX;
	}
	__asm__("divq %4" : "=a"(q), "=d"(*rem) : "a"(lo), "d"(hi), "rm"(c) : "cc");
	return q;
#endif
}

/* a * b / c rounded down, and rounded up. */
static inline uint64_t muldiv64(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t rem;
	return muldivrem64(a, b, c, &rem);
}

static inline uint64_t muldiv64_ceil(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t rem, q = muldivrem64(a, b, c, &rem);
	return (rem && q != UINT64_MAX) ? q + 1 : q;
}

/* A virtual clock for devices: the guest's TSC. Devices keep their own
 * rates (the PIT's 1.193182 MHz, the RTC's 32.768 kHz) and convert. */
struct vclock {
	uint64_t (*now)(void *ctx); /* guest TSC ticks */
	void *ctx;
	uint64_t tsc_hz;            /* ticks per second */
};

static inline uint64_t vclock_now(const struct vclock *c)
{
	return c->now(c->ctx);
}

/* Guest TSC ticks in `count` periods of a clock running at hz. */
static inline uint64_t vclock_ticks(const struct vclock *c, uint64_t count, uint64_t hz)
{
	return muldiv64(count, c->tsc_hz, hz);
}

#define VCLOCK_NEVER UINT64_MAX /* "no deadline" for a device timer */

#endif
