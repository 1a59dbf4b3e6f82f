/* Formatted output: a small printf that knows what the hypervisor prints.
 * Supports %d %i %u %x %X %o %c %s %p %% with flags '-', '0', width, precision
 * for strings (%.*s), and length modifiers hh h l ll z. */
#ifndef LIB_PRINTF_H
#define LIB_PRINTF_H

#include <stdarg.h>
#include "lib/types.h"

typedef void (*fmt_sink_fn)(void *ctx, char c);

/* The core formatter: every character goes to sink. Returns characters produced. */
int fmt_vformat(fmt_sink_fn sink, void *ctx, const char *fmt, va_list ap);

int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int hv_snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* To the console (the physical serial port in the hypervisor). */
int kprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
int kvprintf(const char *fmt, va_list ap);

/* Provided by the platform: arch/x86/serial.c in the hypervisor, the test
 * harness on the host. */
void console_putc(char c);
/* Which CPU is printing (the platform's per-CPU index), for the lock. */
unsigned console_cpu_id(void);

/* The console lock: one CPU prints at a time, so lines from two CPUs never
 * interleave. kprintf takes it for its text, log_msg for its whole line.
 * A CPU may take it again while holding it (an exception report printed
 * from inside a kprintf), so it counts its depth. */
void console_lock(void);
void console_unlock(void);

#endif
