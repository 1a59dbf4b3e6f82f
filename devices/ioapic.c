/* The I/O APIC: see ioapic.h. Sections are the 82093AA datasheet's. */
#include "devices/ioapic.h"
#include "lib/string.h"

#define ID_SHIFT 24
#define ID_MASK (0xFu << ID_SHIFT) /* IOAPICID bits 27:24 (3.2.1) */
#define MAX_REDIRECTION_ENTRY (IOAPIC_PINS - 1)

/* What software writes in an entry: vector, delivery mode, destination mode,
 * polarity, trigger mode, mask, destination. Delivery status and remote IRR
 * are read-only; bits 55:17 reserved (3.2.4). */
#define RTE_WRITABLE (IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELIVERY_MODE | IOAPIC_RTE_LOGICAL | \
		      IOAPIC_RTE_POLARITY_LOW | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED | (0xFFull << IOAPIC_RTE_DEST_SHIFT))

void ioapic_init(struct ioapic *io, uint8_t id, void (*deliver)(void *ctx, const struct apic_msg *msg),
		 void *ctx)
{
	memset(io, 0, sizeof(*io));
	io->id = ((uint32_t)id << ID_SHIFT) & ID_MASK;
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		io->rte[i] = IOAPIC_RTE_MASKED;
	io->deliver = deliver;
	io->ctx = ctx;
}

void ioapic_set_wiring(struct ioapic *io, unsigned pin, bool active_low)
{
	if (pin >= IOAPIC_PINS)
		return;
	if (active_low)
		io->wire_active_low |= 1u << pin;
	else
		io->wire_active_low &= ~(1u << pin);
}

/* Is the pin active? The wire carries the device's state, inverted on an
 * active-low board trace; the entry's polarity says which level is active. */
static bool pin_active(const struct ioapic *io, unsigned pin)
{
	bool wire_high = ((io->asserted ^ io->wire_active_low) >> pin) & 1;
	bool active_low = io->rte[pin] & IOAPIC_RTE_POLARITY_LOW;
	return active_low ? !wire_high : wire_high;
}

static unsigned delivery_mode(uint64_t e)
{
	return (unsigned)((e & IOAPIC_RTE_DELIVERY_MODE) >> 8);
}

/* 011B and 110B are reserved (3.2.4, bits 10:8): such an entry sends nothing. */
static bool mode_reserved(uint64_t e)
{
	return delivery_mode(e) == 3 || delivery_mode(e) == 6;
}

/* Send the message entry `pin` describes (3.2.4). The destination is the
 * 8-bit field of bits 63:56: an APIC ID in physical mode (the 82093AA's
 * 3-wire bus used bits 59:56; system-bus IOAPICs use all 8), a logical
 * destination otherwise. */
static void send(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->rte[pin];
	unsigned mode = delivery_mode(e);
	if (mode_reserved(e))
		return;
	struct apic_msg m = {
		.dest = (uint32_t)(e >> IOAPIC_RTE_DEST_SHIFT),
		.dest_logical = e & IOAPIC_RTE_LOGICAL,
		.mode = (enum apic_delivery_mode)mode,
		.vector = (uint8_t)(e & IOAPIC_RTE_VECTOR),
		.level_triggered = e & IOAPIC_RTE_LEVEL,
		.assert = true,
	};
	if (!m.dest_logical && m.dest == 0xFF)
		m.dest = APIC_BROADCAST;
	if (io->deliver)
		io->deliver(io->ctx, &m);
}

/* A level-triggered entry sends while its pin is active, unmasked and remote
 * IRR is clear, and sets remote IRR: the local APICs accepted it (3.2.4). */
static void service_level(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->rte[pin];
	if (!(e & IOAPIC_RTE_LEVEL) || (e & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)) || mode_reserved(e) ||
	    !pin_active(io, pin))
		return;
	io->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
	send(io, pin);
}

void ioapic_set_irq(void *opaque, unsigned pin, bool asserted)
{
	struct ioapic *io = opaque;
	if (pin >= IOAPIC_PINS)
		return;
	bool was_active = pin_active(io, pin);
	if (asserted)
		io->asserted |= 1u << pin;
	else
		io->asserted &= ~(1u << pin);
	uint64_t e = io->rte[pin];
	if (e & IOAPIC_RTE_LEVEL) {
		service_level(io, pin);
		return;
	}
	/* "Edge-sensitive interrupts signaled on a masked interrupt pin are
	 * ignored (i.e., not delivered or held pending)" (3.2.4, bit 16). */
	if (!was_active && pin_active(io, pin) && !(e & IOAPIC_RTE_MASKED))
		send(io, pin);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t e = io->rte[pin];
		if ((e & IOAPIC_RTE_LEVEL) && (e & IOAPIC_RTE_REMOTE_IRR) && (e & IOAPIC_RTE_VECTOR) == vector) {
			io->rte[pin] &= ~IOAPIC_RTE_REMOTE_IRR;
			service_level(io, pin);
		}
	}
}

static uint32_t reg_read(const struct ioapic *io, uint32_t index)
{
	switch (index) {
	case IOAPIC_REG_ID:
		return io->id;
	case IOAPIC_REG_VER: /* 3.2.2: maximum redirection entry in 23:16 */
		return IOAPIC_VERSION | (MAX_REDIRECTION_ENTRY << 16);
	case IOAPIC_REG_ARB: /* 3.2.3: loaded from the ID; nothing else here */
		return io->id;
	}
	if (index >= IOAPIC_REG_REDTBL && index < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS) {
		uint64_t e = io->rte[(index - IOAPIC_REG_REDTBL) / 2];
		return (index & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
	}
	return 0;
}

static void reg_write(struct ioapic *io, uint32_t index, uint32_t value)
{
	if (index == IOAPIC_REG_ID) {
		io->id = value & ID_MASK;
		return;
	}
	if (index < IOAPIC_REG_REDTBL || index >= IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS)
		return; /* IOAPICVER, IOAPICARB: read-only; the rest: nothing */
	unsigned pin = (index - IOAPIC_REG_REDTBL) / 2;
	uint64_t e = io->rte[pin];
	uint64_t w = (index & 1) ? ((uint64_t)value << 32) | (uint32_t)e : (e & ~0xFFFFFFFFull) | value;
	uint64_t ro = e & IOAPIC_RTE_REMOTE_IRR;
	/* Remote IRR means nothing for edge triggering (3.2.4, bit 14): an
	 * entry switched to edge drops it. Linux relies on this to unstick a
	 * level entry on IOAPICs without an EOI register. */
	if (!(w & IOAPIC_RTE_LEVEL))
		ro = 0;
	io->rte[pin] = (w & RTE_WRITABLE) | ro;
	/* A level that was held off by the mask, or that the new polarity
	 * makes active, is delivered now. */
	service_level(io, pin);
}

uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct ioapic *io = opaque;
	uint32_t v;
	switch (offset) {
	case IOAPIC_IOREGSEL:
		v = io->regsel;
		break;
	case IOAPIC_IOWIN:
		v = reg_read(io, io->regsel);
		break;
	default: /* including EOI: write-only */
		v = 0;
		break;
	}
	return v & (size >= 4 ? 0xFFFFFFFFull : (1ull << (size * 8)) - 1);
}

void ioapic_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct ioapic *io = opaque;
	switch (offset) {
	case IOAPIC_IOREGSEL:
		io->regsel = value & 0xFF;
		break;
	case IOAPIC_IOWIN:
		if (size >= 4)
			reg_write(io, io->regsel, (uint32_t)value);
		break;
	case IOAPIC_EOI:
		ioapic_eoi(io, (uint8_t)value);
		break;
	default:
		break;
	}
}
