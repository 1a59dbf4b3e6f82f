#include "devices/debug_exit.h"

void debug_exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct debug_exit *d = opaque;
	(void)offset;
	(void)size;
	if (d->on_exit)
		d->on_exit(d->ctx, (uint32_t)value);
}
