/* The 8259A pair: see pic8259.h for what is emulated and the sources.
 * Section names below are those of the 8259A datasheet (231468). */
#include "devices/pic8259.h"
#include "devices/bus.h"
#include "lib/string.h"

/* A0 = 0 writes: D4 = 1 is ICW1; otherwise D3 tells OCW3 (1) from OCW2 (0). */
#define ICW1_SELECT 0x10
#define ICW1_SNGL 0x02
#define ICW1_IC4 0x01
#define OCW3_SELECT 0x08
#define ICW4_UPM 0x01
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10

/* OCW2 bits 7-5: R, SL, EOI ("Operation Command Words", Figure 8). */
#define OCW2_NONSPECIFIC_EOI 0x1
#define OCW2_SPECIFIC_EOI 0x3
#define OCW2_ROTATE_NONSPECIFIC_EOI 0x5
#define OCW2_ROTATE_AEOI_SET 0x4
#define OCW2_ROTATE_AEOI_CLEAR 0x0
#define OCW2_ROTATE_SPECIFIC_EOI 0x7
#define OCW2_SET_PRIORITY 0x6
#define OCW2_NOP 0x2

#define OCW3_RIS 0x01
#define OCW3_RR 0x02
#define OCW3_P 0x04
#define OCW3_SMM 0x20
#define OCW3_ESMM 0x40

#define POLL_INTERRUPT 0x80 /* poll word: I, then W2-W0 */
#define NOBODY_ON_THE_BUS 0xff

/* ELCR bits that must stay 0 (edge): IRQ 0, 1, 2 and IRQ 8, 13 (PIIX4
 * ELCR1/ELCR2: the timer, keyboard, cascade, RTC and FERR# inputs are
 * always edge-triggered on a PC). */
#define ELCR1_WRITABLE 0xf8
#define ELCR2_WRITABLE 0xde

/* --- Priority ("Fully Nested Mode", "Automatic Rotation", "Specific
 * Rotation"): IR (lowest + 1) mod 8 has the highest priority. */

static unsigned rank(const struct pic8259_chip *c, unsigned ir)
{
	return (ir - c->lowest - 1) & 7; /* 0 = highest priority */
}

/* The IR in mask with the highest priority, or -1. */
static int highest_in(const struct pic8259_chip *c, uint8_t mask)
{
	for (unsigned r = 0; r < 8; r++) {
		unsigned ir = (c->lowest + 1 + r) & 7;
		if (mask & (1u << ir))
			return (int)ir;
	}
	return -1;
}

static bool is_cascade_input(const struct pic8259_chip *c, unsigned ir)
{
	return c->master && !c->single && (c->icw3 & (1u << ir));
}

/* The request the priority resolver would pass to INT, or -1: the highest
 * unmasked IRR bit, unless an in-service level of higher or equal priority
 * blocks it. In special mask mode a masked in-service level blocks nothing;
 * in special fully nested mode a cascade input in service does not block
 * further requests from the same slave. */
static int resolve(const struct pic8259_chip *c)
{
	if (c->init_step != 0)
		return -1;
	int req = highest_in(c, c->irr & ~c->imr);
	if (req < 0)
		return -1;
	uint8_t blocking = c->isr;
	if (c->special_mask)
		blocking &= ~c->imr;
	if ((c->icw4 & ICW4_SFNM) && is_cascade_input(c, (unsigned)req))
		blocking &= ~(1u << req);
	int svc = highest_in(c, blocking);
	if (svc >= 0 && rank(c, (unsigned)svc) <= rank(c, (unsigned)req))
		return -1;
	return req;
}

/* --- Inputs ("Edge and Level Triggered Modes"). */

static void chip_input(struct pic8259_chip *c, unsigned ir, bool level)
{
	uint8_t bit = (uint8_t)(1u << ir);
	bool was = c->input & bit;
	c->input = level ? (c->input | bit) : (c->input & ~bit);
	if (c->elcr & bit)
		c->irr = level ? (c->irr | bit) : (c->irr & ~bit);
	else if (level && !was)
		c->irr |= bit;
}

/* Level inputs show their line in IRR; edge inputs keep their latch. */
static void chip_refresh_levels(struct pic8259_chip *c)
{
	c->irr = (c->irr & ~c->elcr) | (c->input & c->elcr);
}

/* The slave's INT drives the master's IR2; the master's INT is INTR. */
static void pic_update(struct pic8259 *p)
{
	chip_input(&p->chip[0], PIC_CASCADE_IRQ, resolve(&p->chip[1]) >= 0);
	bool intr = resolve(&p->chip[0]) >= 0;
	if (intr != p->intr_out) {
		p->intr_out = intr;
		if (p->intr)
			p->intr(p->intr_ctx, intr);
	}
}

/* The chip's part of an INTA cycle (or a poll) for level ir. */
static void chip_ack(struct pic8259_chip *c, unsigned ir)
{
	uint8_t bit = (uint8_t)(1u << ir);
	if (!(c->elcr & bit))
		c->irr &= ~bit;
	if (c->icw4 & ICW4_AEOI) {
		/* "Automatic End of Interrupt": the ISR bit is reset at the
		 * end of the INTA sequence, so it is never seen set. */
		if (c->rotate_aeoi)
			c->lowest = (uint8_t)ir;
	} else {
		c->isr |= bit;
	}
}

/* --- Initialization ("Initialization Command Words"). */

static void chip_icw1(struct pic8259_chip *c, uint8_t v)
{
	/* ICW1 resets the edge sense circuit (a line already high must go low
	 * and high again), clears IMR, gives IR7 the lowest priority, clears
	 * special mask mode, selects IRR for reads, and zeroes ICW4's
	 * functions. ISR is cleared too, as a fresh chip has nothing in
	 * service. LTIM is ignored: the ELCR decides (ICH, ICW1). */
	c->single = v & ICW1_SNGL;
	c->need_icw4 = v & ICW1_IC4;
	c->irr = c->input & c->elcr;
	c->isr = 0;
	c->imr = 0;
	c->icw3 = 0;
	c->icw4 = 0;
	c->lowest = 7;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->rotate_aeoi = false;
	c->init_step = 2;
}

static void chip_write_icw(struct pic8259_chip *c, uint8_t v)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = v & 0xf8;
		c->init_step = !c->single ? 3 : c->need_icw4 ? 4 : 0;
		break;
	case 3:
		c->icw3 = v;
		c->init_step = c->need_icw4 ? 4 : 0;
		break;
	default:
		c->icw4 = v;
		c->init_step = 0;
		break;
	}
}

/* --- Operation ("Operation Command Words"). */

static void chip_ocw2(struct pic8259_chip *c, uint8_t v)
{
	unsigned level = v & 7;
	int top = highest_in(c, c->isr);
	switch (v >> 5) {
	case OCW2_NONSPECIFIC_EOI:
	case OCW2_ROTATE_NONSPECIFIC_EOI:
		if (top < 0)
			break;
		c->isr &= ~(1u << top);
		if ((v >> 5) == OCW2_ROTATE_NONSPECIFIC_EOI)
			c->lowest = (uint8_t)top;
		break;
	case OCW2_SPECIFIC_EOI:
		c->isr &= ~(1u << level);
		break;
	case OCW2_ROTATE_SPECIFIC_EOI:
		c->isr &= ~(1u << level);
		c->lowest = (uint8_t)level;
		break;
	case OCW2_SET_PRIORITY:
		c->lowest = (uint8_t)level;
		break;
	case OCW2_ROTATE_AEOI_SET:
		c->rotate_aeoi = true;
		break;
	case OCW2_ROTATE_AEOI_CLEAR:
		c->rotate_aeoi = false;
		break;
	case OCW2_NOP:
	default:
		break;
	}
}

static void chip_ocw3(struct pic8259_chip *c, uint8_t v)
{
	if (v & OCW3_ESMM)
		c->special_mask = v & OCW3_SMM;
	if (v & OCW3_P)
		c->poll = true;
	if (v & OCW3_RR)
		c->read_isr = v & OCW3_RIS;
}

static void chip_write(struct pic8259 *p, struct pic8259_chip *c, unsigned a0, uint8_t v)
{
	if (a0 == 0) {
		if (v & ICW1_SELECT)
			chip_icw1(c, v);
		else if (v & OCW3_SELECT)
			chip_ocw3(c, v);
		else
			chip_ocw2(c, v);
	} else if (c->init_step != 0) {
		chip_write_icw(c, v);
	} else {
		c->imr = v; /* OCW1 */
	}
	pic_update(p);
}

/* "Poll Command": the read acts as an INTA for this chip alone (a master
 * answering IR2 does not involve the slave; software polls it next). */
static uint8_t chip_poll(struct pic8259 *p, struct pic8259_chip *c)
{
	c->poll = false;
	int ir = resolve(c);
	if (ir < 0)
		return 0;
	chip_ack(c, (unsigned)ir);
	pic_update(p);
	return (uint8_t)(POLL_INTERRUPT | ir);
}

static uint8_t chip_read(struct pic8259 *p, struct pic8259_chip *c, unsigned a0)
{
	if (a0 != 0)
		return c->imr;
	if (c->poll)
		return chip_poll(p, c);
	return c->read_isr ? c->isr : c->irr;
}

/* --- The INTA cycle ("Interrupt Sequence", "Cascade Mode"). */

int pic_acknowledge(struct pic8259 *p)
{
	struct pic8259_chip *m = &p->chip[0], *s = &p->chip[1];
	int ir = resolve(m);
	if (ir < 0)
		return m->vector_base | 7; /* spurious IRQ 7: no ISR bit set */
	chip_ack(m, (unsigned)ir);
	if (!is_cascade_input(m, (unsigned)ir)) {
		pic_update(p);
		return m->vector_base | ir;
	}
	/* The master puts the cascade address on CAS0-2; the slave with
	 * that identity supplies the vector in the second INTA pulse. */
	int vector = NOBODY_ON_THE_BUS;
	if (ir == PIC_CASCADE_IRQ && !s->single && (s->icw3 & 7) == PIC_CASCADE_IRQ) {
		int sir = resolve(s);
		if (sir < 0) {
			vector = s->vector_base | 7; /* spurious IRQ 15 */
		} else {
			chip_ack(s, (unsigned)sir);
			vector = s->vector_base | sir;
		}
	}
	/* The slave's INT falls during the cycle: a further slave request
	 * gives IR2 a new edge. */
	if (ir == PIC_CASCADE_IRQ)
		m->input &= ~(1u << PIC_CASCADE_IRQ);
	pic_update(p);
	return vector;
}

/* --- Inputs from devices. */

void pic_set_irq(void *opaque, unsigned irq, bool level)
{
	struct pic8259 *p = opaque;
	if (irq >= PIC_NR_IRQS || irq == PIC_CASCADE_IRQ)
		return;
	chip_input(&p->chip[irq >> 3], irq & 7, level);
	pic_update(p);
}

bool pic_intr_asserted(const struct pic8259 *p)
{
	return p->intr_out;
}

/* --- Set-up. */

static void chip_bios_state(struct pic8259_chip *c, bool master, uint8_t base, uint8_t icw3)
{
	memset(c, 0, sizeof(*c));
	c->master = master;
	chip_icw1(c, ICW1_SELECT | ICW1_IC4);
	chip_write_icw(c, base);
	chip_write_icw(c, icw3);
	chip_write_icw(c, ICW4_UPM);
	c->imr = 0xff;
}

void pic8259_init(struct pic8259 *p, void (*intr)(void *ctx, bool asserted), void *ctx)
{
	memset(p, 0, sizeof(*p));
	chip_bios_state(&p->chip[0], true, 0x08, 1u << PIC_CASCADE_IRQ);
	chip_bios_state(&p->chip[1], false, 0x70, PIC_CASCADE_IRQ);
	p->intr = intr;
	p->intr_ctx = ctx;
}

/* --- Port I/O: bus_{read,write}_bytewise split wider accesses into byte accesses. */

static uint8_t master_port_read(void *opaque, unsigned port)
{
	struct pic8259 *p = opaque;
	return chip_read(p, &p->chip[0], port);
}

static void master_port_write(void *opaque, unsigned port, uint8_t v)
{
	struct pic8259 *p = opaque;
	chip_write(p, &p->chip[0], port, v);
}

static uint8_t slave_port_read(void *opaque, unsigned port)
{
	struct pic8259 *p = opaque;
	return chip_read(p, &p->chip[1], port);
}

static void slave_port_write(void *opaque, unsigned port, uint8_t v)
{
	struct pic8259 *p = opaque;
	chip_write(p, &p->chip[1], port, v);
}

static uint8_t elcr_port_read(void *opaque, unsigned port)
{
	struct pic8259 *p = opaque;
	return p->chip[port].elcr;
}

static void elcr_port_write(void *opaque, unsigned port, uint8_t v)
{
	struct pic8259 *p = opaque;
	struct pic8259_chip *c = &p->chip[port];
	c->elcr = v & (port == 0 ? ELCR1_WRITABLE : ELCR2_WRITABLE);
	chip_refresh_levels(c);
	pic_update(p);
}

uint64_t pic_master_read(void *opaque, uint64_t offset, unsigned size)
{
	return bus_read_bytewise(opaque, offset, size, PIC_NR_PORTS, master_port_read);
}

void pic_master_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	bus_write_bytewise(opaque, offset, size, value, PIC_NR_PORTS, master_port_write);
}

uint64_t pic_slave_read(void *opaque, uint64_t offset, unsigned size)
{
	return bus_read_bytewise(opaque, offset, size, PIC_NR_PORTS, slave_port_read);
}

void pic_slave_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	bus_write_bytewise(opaque, offset, size, value, PIC_NR_PORTS, slave_port_write);
}

uint64_t pic_elcr_read(void *opaque, uint64_t offset, unsigned size)
{
	return bus_read_bytewise(opaque, offset, size, PIC_ELCR_NR_PORTS, elcr_port_read);
}

void pic_elcr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	bus_write_bytewise(opaque, offset, size, value, PIC_ELCR_NR_PORTS, elcr_port_write);
}
