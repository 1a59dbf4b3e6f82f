/* The host CPU's own local APIC (SDM Vol. 3A chapter 11), used to start and
 * wake the other CPUs. Not the guests' emulated APIC (devices/lapic.c). */
#ifndef ARCH_X86_LAPIC_HOST_H
#define ARCH_X86_LAPIC_HOST_H

#include "lib/types.h"

/* IA32_APIC_BASE bits (SDM Vol. 3A 11.4.4, Figure 11-5). */
#define APIC_BASE_BSP BIT(8)
#define APIC_BASE_EXTD BIT(10) /* x2APIC mode */
#define APIC_BASE_ENABLE BIT(11)

/* On the BSP: read IA32_APIC_BASE, xAPIC (MMIO) or x2APIC (MSR) mode, then
 * lapic_host_enable_this_cpu. False if the APIC is globally disabled
 * (IA32_APIC_BASE bit 11 clear) or out of the identity map. */
bool lapic_host_init(void);
/* On each CPU: check its IA32_APIC_BASE matches the BSP's and software-
 * enable its APIC (SVR bit 8, spurious vector HOST_SPURIOUS_VECTOR) with
 * TPR 0, so the wake IPI gets through (SDM Vol. 3A 11.4.7.2, 11.8.3). */
bool lapic_host_enable_this_cpu(void);
uint64_t lapic_host_base(void);
bool lapic_host_x2apic(void);
uint32_t lapic_host_id(void);
/* INIT (level assert), STARTUP with vector (the page number of the start
 * code), and a fixed interrupt, each to one APIC ID; false if the
 * previous IPI was still not delivered after a while. */
bool lapic_host_send_init(uint32_t apic_id);
bool lapic_host_send_startup(uint32_t apic_id, uint8_t vector);
bool lapic_host_send_fixed(uint32_t apic_id, uint8_t vector);
void lapic_host_eoi(void);

#endif
