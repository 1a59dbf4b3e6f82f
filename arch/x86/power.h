#ifndef ARCH_X86_POWER_H
#define ARCH_X86_POWER_H

#include "lib/types.h"

/* Exit statuses the hypervisor reports when it ends the machine (seen as
 * (code << 1) | 1 by QEMU's isa-debug-exit). */
enum machine_exit_code {
	MACHINE_EXIT_OK = 0,
	MACHINE_EXIT_VM_FAILED = 1,
	MACHINE_EXIT_NO_VMX = 2,
	MACHINE_EXIT_PANIC = 3,
};

/* Flush the console and end the machine: QEMU isa-debug-exit (port 0xf4),
 * Bochs shutdown port (0x8900), QEMU's PIIX4 ACPI power-off, then halt. */
NORETURN void machine_stop(enum machine_exit_code code);

#endif
