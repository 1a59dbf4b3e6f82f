#ifndef LIB_PANIC_H
#define LIB_PANIC_H

#include "lib/types.h"

/* Stop the whole machine with a message: for hypervisor bugs only. A guest
 * that misbehaves never reaches this; it stops its own VM (vm_stop). */
NORETURN void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);

#define ASSERT(cond)                                                              \
	do {                                                                      \
		if (!(cond))                                                      \
			panic("assertion failed: %s at %s:%d", #cond, __FILE__, __LINE__); \
	} while (0)

#endif
