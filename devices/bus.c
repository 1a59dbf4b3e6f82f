#include "devices/bus.h"
#include "lib/string.h"

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
}

bool bus_register(struct bus *b, const struct bus_device *dev)
{
	if (dev->len == 0 || dev->base + dev->len < dev->base || b->count == BUS_MAX_DEVICES)
		return false;
	for (unsigned i = 0; i < b->count; i++)
		if (ranges_overlap(dev->base, dev->len, b->devices[i].base, b->devices[i].len))
			return false;
	b->devices[b->count++] = *dev;
	return true;
}

const struct bus_device *bus_find(const struct bus *b, uint64_t addr, unsigned size)
{
	for (unsigned i = 0; i < b->count; i++) {
		const struct bus_device *d = &b->devices[i];
		if (range_within(addr, size, d->base, d->len))
			return d;
	}
	return NULL;
}

uint64_t bus_read(struct bus *b, uint64_t addr, unsigned size, bool *claimed)
{
	const struct bus_device *d = bus_find(b, addr, size);
	*claimed = d != NULL;
	if (!d || !d->read)
		return size_mask(size);
	return d->read(d->opaque, addr - d->base, size) & size_mask(size);
}

void bus_write(struct bus *b, uint64_t addr, unsigned size, uint64_t value, bool *claimed)
{
	const struct bus_device *d = bus_find(b, addr, size);
	*claimed = d != NULL;
	if (d && d->write)
		d->write(d->opaque, addr - d->base, size, value & size_mask(size));
}

bool bus_first_unclaimed(struct bus *b, uint64_t addr)
{
	for (unsigned i = 0; i < b->logged_count; i++)
		if (b->logged[i] == addr)
			return false;
	/* Once the list is full an address cannot be remembered, so saying
	 * "first" would repeat for every access: stay quiet instead. */
	if (b->logged_count == BUS_MAX_LOGGED_UNCLAIMED)
		return false;
	b->logged[b->logged_count++] = addr;
	return true;
}

uint64_t bus_read_bytewise(void *opaque, uint64_t offset, unsigned size, unsigned nports,
			   uint8_t (*read_byte)(void *opaque, unsigned port))
{
	uint64_t v = 0;
	for (unsigned i = 0; i < MIN(size, 8u); i++)
		v |= (uint64_t)(offset < nports && offset + i < nports ? read_byte(opaque, (unsigned)offset + i) : 0xff) << (8 * i);
	return v;
}

void bus_write_bytewise(void *opaque, uint64_t offset, unsigned size, uint64_t value, unsigned nports,
			void (*write_byte)(void *opaque, unsigned port, uint8_t v))
{
	for (unsigned i = 0; i < MIN(size, 8u); i++)
		if (offset < nports && offset + i < nports)
			write_byte(opaque, (unsigned)offset + i, (uint8_t)(value >> (8 * i)));
}
