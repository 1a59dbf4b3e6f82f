/* Bringing up the other CPUs (docs/smp.md). */
#ifndef ARCH_X86_SMP_H
#define ARCH_X86_SMP_H

#include "arch/x86/percpu.h"
#include "boot/multiboot2.h"

/* The BSP's struct cpu, GS base, GDT and TSS: the first thing kmain does. */
void smp_bsp_early_init(void);
/* Find the CPUs in the ACPI MADT and start every AP (INIT-SIPI-SIPI), each
 * entering VMX root operation and parking. Call on the BSP after VMXON.
 * With one CPU, or no usable MADT, only says so. */
void smp_init(const struct boot_info *bi);
/* Run fn(c, arg) on the parked CPU c and wait until it returns; false if it
 * did not answer within a second. */
bool smp_call(struct cpu *c, cpu_work_fn fn, void *arg);

/* Entered from boot/ap_trampoline.S in 64-bit mode on the AP's own stack. */
NORETURN void ap_main(struct cpu *c);

#endif
