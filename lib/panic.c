#include "lib/panic.h"
#include "lib/printf.h"
#include "arch/x86/power.h"

void panic(const char *fmt, ...)
{
	va_list ap;

	kprintf("\n[hv PANIC] ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n[hv PANIC] the hypervisor cannot continue; stopping the machine\n");
	machine_stop(MACHINE_EXIT_PANIC);
}
