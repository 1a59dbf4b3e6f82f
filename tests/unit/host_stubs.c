/* What the pure sources expect from the platform, for host unit tests:
 * console output goes to a buffer the tests can inspect. */
#include <stdio.h>
#include <string.h>
#include "lib/printf.h"

char test_console[8192];
size_t test_console_len;

void console_putc(char c)
{
	if (test_console_len < sizeof(test_console) - 1) {
		test_console[test_console_len++] = c;
		test_console[test_console_len] = '\0';
	}
}

/* One thread prints: CPU 0. */
unsigned console_cpu_id(void)
{
	return 0;
}

/* cmocka reports on stdout and stderr: line-buffer stdout so the two stay in
 * order when tests/run_unit.sh reads both through one pipe. */
__attribute__((constructor)) static void line_buffer_stdout(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}
