/* A guest that waits for console input: it reads COM1 by polling LSR.DR and
 * answers each line with "got: LINE"; the line "exit" ends it with exit code
 * 0. The shell test (tests/scenarios/70-shell.sh) types to it through the
 * hypervisor's console router and dumps shell_marker[] with "mem". */
#include "tests/guests/common/guest.h"

#define COM1 0x3f8
#define LSR_DR 0x01

/* Known bytes at a known guest-physical address (paging is off: the ELF's
 * address is the GPA; the test reads it with nm). */
const char shell_marker[32] __attribute__((used, aligned(16))) = "SHELL-MARKER-0123456789abcdef";

static char line[64];

void guest_main(uint32_t magic, uint32_t mb_info)
{
	(void)magic;
	(void)mb_info;
	unsigned len = 0;
	gprintf("console guest: ready\n");
	for (;;) {
		while (!(inb(COM1 + 5) & LSR_DR))
			__asm__ volatile("pause");
		char c = (char)inb(COM1);
		if (c != '\r' && c != '\n') {
			if (len < sizeof(line) - 1)
				line[len++] = c;
			continue;
		}
		if (!len)
			continue;
		line[len] = '\0';
		len = 0;
		gprintf("got: %s\n", line);
		if (__builtin_strcmp(line, "exit") == 0)
			guest_exit(0);
	}
}
