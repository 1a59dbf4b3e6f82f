#include "arch/x86/power.h"
#include "arch/x86/cpu.h"
#include "arch/x86/serial.h"

/* QEMU's isa-debug-exit device, when present (-device isa-debug-exit,iobase=0xf4). */
#define QEMU_DEBUG_EXIT_PORT 0xf4
/* Bochs ends the simulation when it sees the bytes "Shutdown" on this port. */
#define BOCHS_SHUTDOWN_PORT 0x8900
/* QEMU's i440FX/PIIX4 ACPI PM1a control block: SLP_TYP=0, SLP_EN. */
#define QEMU_PIIX4_PM1A_CNT 0x604
#define PM1_SLP_EN 0x2000

void machine_stop(enum machine_exit_code code)
{
	serial_flush();
	outl(QEMU_DEBUG_EXIT_PORT, (uint32_t)code);
	for (const char *p = "Shutdown"; *p; p++)
		outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
	outw(QEMU_PIIX4_PM1A_CNT, PM1_SLP_EN);
	cpu_halt_forever();
	__builtin_unreachable();
}
