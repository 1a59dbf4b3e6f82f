/* A bus: a set of non-overlapping address ranges, each claimed by one device
 * through read/write callbacks. Each VM has two: port I/O (addresses are
 * ports) and MMIO (addresses are guest-physical). Pure logic: unit-tested. */
#ifndef DEVICES_BUS_H
#define DEVICES_BUS_H

#include "lib/types.h"

#define BUS_MAX_DEVICES 32
#define BUS_MAX_LOGGED_UNCLAIMED 32

struct bus_device {
	const char *name;
	uint64_t base, len;
	/* size is 1, 2, 4 or 8 bytes; offset is relative to base. */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
	void *opaque;
};

struct bus {
	const char *name; /* "port I/O" or "MMIO", for messages */
	struct bus_device devices[BUS_MAX_DEVICES];
	unsigned count;
	/* Unclaimed addresses already reported, so a polling guest does not
	 * flood the console. */
	uint64_t logged[BUS_MAX_LOGGED_UNCLAIMED];
	unsigned logged_count;
};

void bus_init(struct bus *b, const char *name);
/* Refuses (returns false) an empty, wrapping or overlapping range, or a full bus. */
bool bus_register(struct bus *b, const struct bus_device *dev);
const struct bus_device *bus_find(const struct bus *b, uint64_t addr, unsigned size);

/* An access nobody claims reads all-ones and drops writes, as on a PC where
 * no device answers. *claimed tells the caller which happened. */
uint64_t bus_read(struct bus *b, uint64_t addr, unsigned size, bool *claimed);
void bus_write(struct bus *b, uint64_t addr, unsigned size, uint64_t value, bool *claimed);
/* True the first time addr is seen unclaimed (for log-once messages); once
 * BUS_MAX_LOGGED_UNCLAIMED addresses have been reported, false for all. */
bool bus_first_unclaimed(struct bus *b, uint64_t addr);

/* Byte-wide ISA devices (PIC, PIT, RTC) decode each port on its own: the
 * bus splits a wider access into one byte access per port, lowest first.
 * These helpers do that split for a device of nports consecutive ports,
 * calling read_byte/write_byte with the port index (0..nports-1) and opaque.
 * Bytes that fall outside the device read 0xFF (nobody answers) and their
 * writes are dropped; at most 8 bytes are handled. */
uint64_t bus_read_bytewise(void *opaque, uint64_t offset, unsigned size, unsigned nports,
			   uint8_t (*read_byte)(void *opaque, unsigned port));
void bus_write_bytewise(void *opaque, uint64_t offset, unsigned size, uint64_t value, unsigned nports,
			void (*write_byte)(void *opaque, unsigned port, uint8_t v));

static inline uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

#endif
