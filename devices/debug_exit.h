/* The guest's exit port, compatible with QEMU's isa-debug-exit at 0xf4: a
 * write of value V ends the VM with exit code V (QEMU would exit with
 * (V << 1) | 1). Writes of any width are accepted. */
#ifndef DEVICES_DEBUG_EXIT_H
#define DEVICES_DEBUG_EXIT_H

#include "lib/types.h"

#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_NR_PORTS 4

struct debug_exit {
	void (*on_exit)(void *ctx, uint32_t code);
	void *ctx;
};

void debug_exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

#endif
