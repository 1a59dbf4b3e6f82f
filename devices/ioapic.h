/* The I/O APIC: the 82093AA's register set (Intel 82093AA I/O Advanced
 * Programmable Interrupt Controller datasheet, section 3), 24 input pins,
 * each translated by its redirection entry into an interrupt message for the
 * local APICs (devices/lapic.h), handed to deliver().
 *
 * Version: 20H, not the 82093AA's 11H. The register layout is the
 * 82093AA's; version 20H is what the I/O APICs integrated in later Intel
 * chipsets (ICH/PCH) report, and it adds the EOI register at offset 40H.
 * Guests use that register when the local APIC suppresses EOI broadcasts
 * (SDM Vol. 3A 11.8.5; Linux does in x2APIC mode), which our LAPIC supports:
 * with a version 11H IOAPIC such a guest could never clear remote IRR.
 *
 * Emulated: IOREGSEL/IOWIN, IOAPICID, IOAPICVER, IOAPICARB, the 24
 * redirection entries, edge and level triggering with remote IRR, the mask,
 * polarity, the EOI register, all delivery and destination modes.
 * Not emulated: the 3-wire APIC bus (delivery is immediate, so the delivery
 * status bit reads 0 and the arbitration ID only mirrors the ID), the pin
 * assertion register, the ICH extended destination ID (bits 55:48). */
#ifndef DEVICES_IOAPIC_H
#define DEVICES_IOAPIC_H

#include "lib/types.h"
#include "devices/irq.h"

#define IOAPIC_DEFAULT_BASE 0xFEC00000ULL
#define IOAPIC_MMIO_SIZE 0x1000ULL
#define IOAPIC_PINS 24
#define IOAPIC_VERSION 0x20u

/* MMIO offsets (datasheet 3.1) and the version 20H EOI register. */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10
#define IOAPIC_EOI 0x40

/* Register indexes behind IOREGSEL (datasheet 3.2). */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDTBL 0x10 /* entry n: low dword 10H + 2n, high dword 11H + 2n */

/* Redirection entry fields (datasheet 3.2.4). */
#define IOAPIC_RTE_VECTOR 0xFFull
#define IOAPIC_RTE_DELIVERY_MODE (7ull << 8)
#define IOAPIC_RTE_LOGICAL BIT(11)
#define IOAPIC_RTE_DELIVERY_STATUS BIT(12) /* read-only */
#define IOAPIC_RTE_POLARITY_LOW BIT(13)
#define IOAPIC_RTE_REMOTE_IRR BIT(14) /* read-only */
#define IOAPIC_RTE_LEVEL BIT(15)
#define IOAPIC_RTE_MASKED BIT(16)
#define IOAPIC_RTE_DEST_SHIFT 56

struct ioapic {
	uint32_t id;             /* IOAPICID: the ID in bits 27:24 */
	uint32_t regsel;         /* IOREGSEL: bits 7:0 */
	uint64_t rte[IOAPIC_PINS];
	uint32_t asserted;       /* pin n: its device asserts the line */
	uint32_t wire_active_low; /* pin n: the board drives it active-low */
	void (*deliver)(void *ctx, const struct apic_msg *msg);
	void *ctx;
};

/* Reset state: every entry masked, the rest 0 (datasheet 3.2.4 "xxx1 xxxx
 * xxxx xxxxh"), all lines deasserted and wired active-high. id is the APIC ID
 * the firmware would program and the MADT announces (bits 3:0 kept). */
void ioapic_init(struct ioapic *io, uint8_t id, void (*deliver)(void *ctx, const struct apic_msg *msg),
		 void *ctx);

/* bus_device callbacks (opaque = struct ioapic; offset from the base). The
 * registers are 32-bit (datasheet 3.1). IOREGSEL takes a write of any width
 * (its bits 7:0); IOWIN takes 4- and 8-byte writes (bits 31:0) and drops
 * narrower ones, which would tear a redirection entry; EOI takes any width
 * (the vector in bits 7:0). Reads of any width return the register's low
 * bytes, zero-extended; unknown offsets and register indexes read 0 and
 * ignore writes. */
uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size);
void ioapic_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

/* A device's line (irq_line-compatible: opaque = struct ioapic). `asserted`
 * is what the device says; the board turns it into a wire level (inverted on
 * pins ioapic_set_wiring made active-low), and the entry's polarity bit
 * reads the wire: 0 = active high, 1 = active low. When the guest programs
 * the polarity its ACPI tables describe for the pin, "asserted" means
 * active; when it does not, an idle line looks active, as on a real board.
 * Edge-triggered: a message on each inactive-to-active change, lost while
 * masked. Level-triggered: a message while active, unmasked and remote IRR
 * clear; delivering sets remote IRR. */
void ioapic_set_irq(void *opaque, unsigned pin, bool asserted);
/* Board wiring, set up with the VM before the guest runs (it delivers
 * nothing by itself): pin n carries an active-low signal, as PCI INTx lines
 * do. Default: active-high, as ISA IRQs arrive. */
void ioapic_set_wiring(struct ioapic *io, unsigned pin, bool active_low);

/* An EOI for `vector` (a local APIC's EOI broadcast, or the EOI register):
 * clears remote IRR of every level-triggered entry with that vector, and
 * delivers again those whose line is still active. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* An irq_line for pin n of this IOAPIC. */
static inline struct irq_line ioapic_irq_line(struct ioapic *io, unsigned pin)
{
	return (struct irq_line){ ioapic_set_irq, io, pin };
}

#endif
