/* How emulated devices signal interrupts, and the message an interrupt
 * controller hands to a local APIC. Shared by the PIC, IOAPIC, LAPIC, MSI
 * and every device that raises a line. Pure definitions. */
#ifndef DEVICES_IRQ_H
#define DEVICES_IRQ_H

#include "lib/types.h"

/* An interrupt line from a device to a controller input (PIC IRQ n, IOAPIC
 * pin n). Level-triggered devices hold it; edge-triggered ones pulse it
 * (raise then lower). set may be NULL: the line goes nowhere. */
struct irq_line {
	void (*set)(void *ctx, unsigned pin, bool asserted);
	void *ctx;
	unsigned pin;
};

static inline void irq_set(const struct irq_line *l, bool asserted)
{
	if (l && l->set)
		l->set(l->ctx, l->pin, asserted);
}

static inline void irq_pulse(const struct irq_line *l)
{
	irq_set(l, true);
	irq_set(l, false);
}

/* Delivery modes of an interrupt message (SDM Vol. 3A 11.6.1, IOAPIC
 * redirection entries and MSI data use the same encoding). */
enum apic_delivery_mode {
	APIC_DM_FIXED = 0,
	APIC_DM_LOWEST = 1,
	APIC_DM_SMI = 2,
	APIC_DM_NMI = 4,
	APIC_DM_INIT = 5,
	APIC_DM_STARTUP = 6,
	APIC_DM_EXTINT = 7,
};

/* An interrupt on its way to local APICs: from the IOAPIC, an MSI, or an
 * IPI written to an ICR. */
struct apic_msg {
	uint32_t dest;            /* APIC ID (physical) or logical destination */
	bool dest_logical;
	enum apic_delivery_mode mode;
	uint8_t vector;
	bool level_triggered;     /* trigger mode; level interrupts need an EOI to the source */
	bool assert;              /* level: asserted (INIT de-assert has it 0) */
	uint32_t source_id;       /* the sending APIC's ID, for IPIs and lowest priority */
	/* Added with the local APIC: the all-excluding-self shorthand (SDM
	 * Vol. 3A 11.6.1): every APIC dest addresses except the one whose ID
	 * is source_id. false for everything but such an IPI. */
	bool exclude_source;
};

/* A destination that addresses every local APIC, in xAPIC and x2APIC mode
 * alike (SDM Vol. 3A 11.12.9: FFFF_FFFFH is the x2APIC broadcast). Sources
 * with 8-bit destinations (IOAPIC redirection entries, MSI addresses, the
 * xAPIC ICR) write their physical broadcast 0xFF as this value, so that it
 * still means "all" to a local APIC in x2APIC mode, where 0xFF is an
 * ordinary APIC ID. */
#define APIC_BROADCAST 0xFFFFFFFFu

#endif
