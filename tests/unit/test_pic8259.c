/* devices/pic8259.c through a port I/O bus: initialization, masks,
 * priorities, EOIs, the cascade, edge and level inputs, spurious IRQ 7 and
 * 15, AEOI, register reads, poll, special modes, and random port traffic. */
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "tests/unit/rig.h"
#include "devices/pic8259.h"

struct rig {
	struct pic8259 pic;
	struct bus bus;
	unsigned intr_calls;
	bool intr_level;
};

static void on_intr(void *ctx, bool asserted)
{
	struct rig *r = ctx;
	/* The callback reports changes only. */
	assert_true(r->intr_calls == 0 || asserted != r->intr_level);
	r->intr_calls++;
	r->intr_level = asserted;
}

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	pic8259_init(&r->pic, on_intr, r);
	const struct bus_device devs[] = {
		{ "PIC master", PIC_MASTER_BASE, PIC_NR_PORTS, pic_master_read, pic_master_write, &r->pic },
		{ "PIC slave", PIC_SLAVE_BASE, PIC_NR_PORTS, pic_slave_read, pic_slave_write, &r->pic },
		{ "ELCR", PIC_ELCR_BASE, PIC_ELCR_NR_PORTS, pic_elcr_read, pic_elcr_write, &r->pic },
	};
	rig_bus_attach(&r->bus, devs, ARRAY_SIZE(devs));
}

static void out8(struct rig *r, uint16_t port, uint8_t v)
{
	rig_out8(&r->bus, port, v);
}

static uint8_t in8(struct rig *r, uint16_t port)
{
	return rig_in8(&r->bus, port);
}

/* The sequence Linux and most kernels use: master at 0x20, slave at 0x28. */
static void program_pair(struct rig *r, uint8_t icw4)
{
	out8(r, 0x20, 0x11);
	out8(r, 0x21, 0x20);
	out8(r, 0x21, 0x04);
	out8(r, 0x21, icw4);
	out8(r, 0xa0, 0x11);
	out8(r, 0xa1, 0x28);
	out8(r, 0xa1, 0x02);
	out8(r, 0xa1, icw4);
	out8(r, 0x21, 0x00);
	out8(r, 0xa1, 0x00);
}

static void pulse(struct rig *r, unsigned irq)
{
	pic_set_irq(&r->pic, irq, true);
	pic_set_irq(&r->pic, irq, false);
}

/* A handler for a slave interrupt ends it on both chips. */
static void eoi_slave_then_master(struct rig *r)
{
	out8(r, 0xa0, 0x20);
	out8(r, 0x20, 0x20);
}

static uint8_t read_irr(struct rig *r, uint16_t cmd)
{
	out8(r, cmd, 0x0a);
	return in8(r, cmd);
}

static uint8_t read_isr(struct rig *r, uint16_t cmd)
{
	out8(r, cmd, 0x0b);
	return in8(r, cmd);
}

static void test_initial_state(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	/* As a BIOS leaves it, but fully masked. */
	assert_int_equal(in8(&r, 0x21), 0xff);
	assert_int_equal(in8(&r, 0xa1), 0xff);
	assert_int_equal(in8(&r, 0x4d0), 0);
	assert_int_equal(in8(&r, 0x4d1), 0);
	pulse(&r, 0);
	assert_false(pic_intr_asserted(&r.pic));
	out8(&r, 0x21, 0xfe);
	assert_true(pic_intr_asserted(&r.pic));
	assert_int_equal(pic_acknowledge(&r.pic), 0x08);
	out8(&r, 0xa1, 0x00);
	out8(&r, 0x21, 0xfa); /* IR0 in service blocks the cascade input */
	pulse(&r, 8);
	assert_false(pic_intr_asserted(&r.pic));
	out8(&r, 0x20, 0x20);
	assert_true(pic_intr_asserted(&r.pic));
	assert_int_equal(pic_acknowledge(&r.pic), 0x70);
}

static void test_init_sequence(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	out8(&r, 0x21, 0x00);
	pic_set_irq(&r.pic, 1, true);
	assert_true(r.intr_level);

	/* ICW1 clears IMR, drops INT until the sequence ends, and resets the
	 * edge detector: IR1, still high, needs a new edge. */
	out8(&r, 0x21, 0x5a);
	out8(&r, 0x20, 0x11);
	assert_false(r.intr_level);
	assert_int_equal(in8(&r, 0x21), 0x00);
	out8(&r, 0x21, 0x40); /* ICW2: vectors 0x40-0x47 (low bits ignored) */
	out8(&r, 0x21, 0x04); /* ICW3 */
	assert_false(r.intr_level);
	out8(&r, 0x21, 0x01); /* ICW4: 8086 */
	assert_int_equal(in8(&r, 0x21), 0x00);
	assert_false(r.intr_level);
	pic_set_irq(&r.pic, 1, false);
	pic_set_irq(&r.pic, 1, true);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x41);

	/* ICW2 bits 2-0 are not part of the base. */
	out8(&r, 0x20, 0x11);
	out8(&r, 0x21, 0x47);
	out8(&r, 0x21, 0x04);
	out8(&r, 0x21, 0x01);
	out8(&r, 0x21, 0x00);
	pulse(&r, 3);
	assert_int_equal(pic_acknowledge(&r.pic), 0x43);

	/* Single mode without ICW4: two words, then the next A0=1 write is
	 * OCW1. IR2 is then an ordinary input answered by the master. */
	out8(&r, 0x20, 0x12);
	out8(&r, 0x21, 0x50);
	out8(&r, 0x21, 0xfb); /* OCW1 already */
	assert_int_equal(in8(&r, 0x21), 0xfb);
	out8(&r, 0xa1, 0x00);
	pulse(&r, 9);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x52); /* no cascade: the master's own vector */

	/* Cascade without ICW4: ICW1, ICW2, ICW3 then OCW1. */
	out8(&r, 0x20, 0x10);
	out8(&r, 0x21, 0x60);
	out8(&r, 0x21, 0x04);
	out8(&r, 0x21, 0x3c);
	assert_int_equal(in8(&r, 0x21), 0x3c);
}

static void test_masking(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	program_pair(&r, 0x01);
	out8(&r, 0x21, 0x10);
	assert_int_equal(in8(&r, 0x21), 0x10);
	pulse(&r, 4);
	assert_false(r.intr_level);
	assert_int_equal(read_irr(&r, 0x20), 0x10); /* requested, but masked */
	out8(&r, 0x21, 0x00);
	assert_true(r.intr_level);
	out8(&r, 0x21, 0x10);
	assert_false(r.intr_level);
	out8(&r, 0x21, 0x00);
	assert_int_equal(pic_acknowledge(&r.pic), 0x24);
	assert_false(r.intr_level);

	/* Masking the cascade input hides the whole slave. */
	out8(&r, 0x21, 0x04);
	pulse(&r, 12);
	assert_false(r.intr_level);
	out8(&r, 0x21, 0x00);
	assert_true(r.intr_level);
	/* A slave mask works the same way. */
	assert_int_equal(pic_acknowledge(&r.pic), 0x2c);
	eoi_slave_then_master(&r);
	out8(&r, 0xa1, 0x01);
	pulse(&r, 8);
	assert_false(r.intr_level);
}

static void test_priority(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	program_pair(&r, 0x01);
	pulse(&r, 5);
	pulse(&r, 3);
	pulse(&r, 7);
	assert_int_equal(pic_acknowledge(&r.pic), 0x23);
	/* IR3 in service blocks IR5 and IR7... */
	assert_false(r.intr_level);
	/* ...but not a higher priority request: nesting. */
	pulse(&r, 1);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x21);
	assert_int_equal(read_isr(&r, 0x20), 0x0a);
	/* The slave's requests rank at IR2: above IR3, below IR1. */
	pulse(&r, 14);
	assert_false(r.intr_level);
	out8(&r, 0x20, 0x20); /* EOI for IR1 */
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x2e);
	eoi_slave_then_master(&r); /* EOI IR2 */
	assert_false(r.intr_level);
	out8(&r, 0x20, 0x20); /* EOI IR3 */
	assert_int_equal(pic_acknowledge(&r.pic), 0x25);
	out8(&r, 0x20, 0x20);
	assert_int_equal(pic_acknowledge(&r.pic), 0x27);
	out8(&r, 0x20, 0x20);
	assert_false(r.intr_level);
	assert_int_equal(read_isr(&r, 0x20), 0);
	assert_int_equal(read_irr(&r, 0x20), 0);
}

static void test_eoi_order(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	program_pair(&r, 0x01);
	pulse(&r, 6);
	assert_int_equal(pic_acknowledge(&r.pic), 0x26);
	pulse(&r, 4);
	assert_int_equal(pic_acknowledge(&r.pic), 0x24);
	pulse(&r, 0);
	assert_int_equal(pic_acknowledge(&r.pic), 0x20);
	assert_int_equal(read_isr(&r, 0x20), 0x51);

	/* A non-specific EOI ends the highest priority level in service. */
	out8(&r, 0x20, 0x20);
	assert_int_equal(read_isr(&r, 0x20), 0x50);
	/* A specific EOI ends the level named, whatever its priority. */
	out8(&r, 0x20, 0x66);
	assert_int_equal(read_isr(&r, 0x20), 0x10);
	/* A specific EOI for a level not in service changes nothing. */
	out8(&r, 0x20, 0x63);
	assert_int_equal(read_isr(&r, 0x20), 0x10);
	out8(&r, 0x20, 0x20);
	assert_int_equal(read_isr(&r, 0x20), 0);
	/* An EOI with nothing in service is harmless; so is the OCW2 NOP. */
	out8(&r, 0x20, 0x20);
	out8(&r, 0x20, 0x40);
	assert_int_equal(read_isr(&r, 0x20), 0);
}

static void test_rotation(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	program_pair(&r, 0x01);
	/* Rotate on non-specific EOI: the level served becomes the lowest. */
	pulse(&r, 3);
	assert_int_equal(pic_acknowledge(&r.pic), 0x23);
	out8(&r, 0x20, 0xa0);
	pulse(&r, 3);
	pulse(&r, 5);
	assert_int_equal(pic_acknowledge(&r.pic), 0x25); /* IR4 highest now: 5 beats 3 */
	out8(&r, 0x20, 0x20);
	assert_int_equal(pic_acknowledge(&r.pic), 0x23);
	out8(&r, 0x20, 0x20);

	/* Set priority: IR0 lowest, IR1 highest. */
	out8(&r, 0x20, 0xc0);
	pulse(&r, 0);
	pulse(&r, 7);
	assert_int_equal(pic_acknowledge(&r.pic), 0x27);
	/* Rotate on specific EOI: end IR7 and make it lowest. */
	out8(&r, 0x20, 0xe7);
	pulse(&r, 7);
	assert_int_equal(pic_acknowledge(&r.pic), 0x20);
	out8(&r, 0x20, 0x60);
	assert_int_equal(pic_acknowledge(&r.pic), 0x27);
	out8(&r, 0x20, 0x67);

	/* Rotate in AEOI mode: each level served goes to the bottom. */
	program_pair(&r, 0x03);
	out8(&r, 0x20, 0x80);
	pulse(&r, 1);
	pulse(&r, 2 + 8); /* IRQ 10 via the cascade */
	pulse(&r, 6);
	assert_int_equal(pic_acknowledge(&r.pic), 0x21);
	pulse(&r, 1);
	assert_int_equal(pic_acknowledge(&r.pic), 0x2a); /* cascade (IR2) now ranks first */
	assert_int_equal(pic_acknowledge(&r.pic), 0x26);
	assert_int_equal(pic_acknowledge(&r.pic), 0x21);
	out8(&r, 0x20, 0x00); /* clear rotate in AEOI */
	pulse(&r, 0);
	pulse(&r, 7);
	assert_int_equal(pic_acknowledge(&r.pic), 0x27); /* IR1 lowest, so IR2 highest ... IR7 before IR0 */
	assert_int_equal(pic_acknowledge(&r.pic), 0x20);
}

static void test_cascade(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	program_pair(&r, 0x01);
	pulse(&r, 10);
	assert_true(r.intr_level);
	assert_int_equal(read_irr(&r, 0xa0), 0x04);
	assert_int_equal(read_irr(&r, 0x20), 0x04);
	assert_int_equal(pic_acknowledge(&r.pic), 0x2a);
	assert_int_equal(read_isr(&r, 0x20), 0x04);
	assert_int_equal(read_isr(&r, 0xa0), 0x04);
	assert_false(r.intr_level);

	/* A lower slave request waits for the slave's EOI; then the master's
	 * IR2 is still in service, so it waits for the master's EOI too. */
	pulse(&r, 11);
	assert_false(r.intr_level);
	out8(&r, 0xa0, 0x20);
	assert_false(r.intr_level);
	out8(&r, 0x20, 0x20);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x2b);

	/* Two slave requests at once come out one after the other. */
	eoi_slave_then_master(&r);
	pulse(&r, 15);
	pulse(&r, 8);
	assert_int_equal(pic_acknowledge(&r.pic), 0x28);
	eoi_slave_then_master(&r);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x2f);
	assert_int_equal(read_isr(&r, 0xa0), 0x80); /* a real IRQ 15, not spurious */
	eoi_slave_then_master(&r);

	/* A slave with another identity does not answer: nobody drives the bus. */
	out8(&r, 0xa0, 0x11);
	out8(&r, 0xa1, 0x28);
	out8(&r, 0xa1, 0x03);
	out8(&r, 0xa1, 0x01);
	pulse(&r, 9);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0xff);
	assert_int_equal(read_isr(&r, 0x20), 0x04);
}

static void test_special_fully_nested(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	program_pair(&r, 0x01);
	/* Normal nesting: IRQ 8 cannot interrupt IRQ 9 while IR2 is in service. */
	pulse(&r, 9);
	assert_int_equal(pic_acknowledge(&r.pic), 0x29);
	pulse(&r, 8);
	assert_false(r.intr_level);
	eoi_slave_then_master(&r);
	assert_int_equal(pic_acknowledge(&r.pic), 0x28);
	eoi_slave_then_master(&r);

	/* SFNM on the master: the higher slave request gets through. */
	out8(&r, 0x20, 0x11);
	out8(&r, 0x21, 0x20);
	out8(&r, 0x21, 0x04);
	out8(&r, 0x21, 0x11);
	out8(&r, 0x21, 0x00);
	pulse(&r, 9);
	assert_int_equal(pic_acknowledge(&r.pic), 0x29);
	pulse(&r, 8);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x28);
	assert_int_equal(read_isr(&r, 0xa0), 0x03);
}

static void test_level_and_edge(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	program_pair(&r, 0x01);
	/* Reserved ELCR bits (IRQ 0, 1, 2, 8, 13) stay edge. */
	out8(&r, 0x4d0, 0xff);
	out8(&r, 0x4d1, 0xff);
	assert_int_equal(in8(&r, 0x4d0), 0xf8);
	assert_int_equal(in8(&r, 0x4d1), 0xde);
	out8(&r, 0x4d0, 0x20); /* IRQ 5 level */
	out8(&r, 0x4d1, 0x04); /* IRQ 10 level */

	/* Edge (IRQ 4): held high, it interrupts once. */
	pic_set_irq(&r.pic, 4, true);
	assert_int_equal(pic_acknowledge(&r.pic), 0x24);
	assert_int_equal(read_irr(&r, 0x20) & 0x10, 0);
	out8(&r, 0x20, 0x20);
	assert_false(r.intr_level);
	pic_set_irq(&r.pic, 4, true); /* no new edge */
	assert_false(r.intr_level);
	pic_set_irq(&r.pic, 4, false);
	pic_set_irq(&r.pic, 4, true);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x24);
	out8(&r, 0x20, 0x20);
	pic_set_irq(&r.pic, 4, false);

	/* Level (IRQ 5): IRR follows the line; still high after the EOI, it
	 * interrupts again. */
	pic_set_irq(&r.pic, 5, true);
	assert_int_equal(pic_acknowledge(&r.pic), 0x25);
	assert_int_equal(read_irr(&r, 0x20) & 0x20, 0x20);
	out8(&r, 0x20, 0x20);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x25);
	pic_set_irq(&r.pic, 5, false);
	assert_int_equal(read_irr(&r, 0x20) & 0x20, 0);
	out8(&r, 0x20, 0x20);
	assert_false(r.intr_level);

	/* Level on the slave. */
	pic_set_irq(&r.pic, 10, true);
	assert_int_equal(pic_acknowledge(&r.pic), 0x2a);
	eoi_slave_then_master(&r);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x2a);
	pic_set_irq(&r.pic, 10, false);
	eoi_slave_then_master(&r);
	assert_false(r.intr_level);

	/* Switching a line that is high to level mode requests at once;
	 * back to edge, the request stays latched until acknowledged. */
	pic_set_irq(&r.pic, 6, true);
	assert_int_equal(pic_acknowledge(&r.pic), 0x26);
	out8(&r, 0x20, 0x20);
	out8(&r, 0x4d0, 0x60);
	assert_true(r.intr_level);
	out8(&r, 0x4d0, 0x20);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x26);
	out8(&r, 0x20, 0x20);
	assert_false(r.intr_level);
}

static void test_spurious(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	program_pair(&r, 0x01);
	out8(&r, 0x4d0, 0x20);
	out8(&r, 0x4d1, 0x08); /* IRQ 5 and IRQ 11 level */

	/* IRQ 5 goes away before the INTA: spurious IRQ 7, nothing in service. */
	pic_set_irq(&r.pic, 5, true);
	assert_true(r.intr_level);
	pic_set_irq(&r.pic, 5, false);
	assert_int_equal(pic_acknowledge(&r.pic), 0x27);
	assert_int_equal(read_isr(&r, 0x20), 0);

	/* So does an edge request masked before the INTA. */
	pulse(&r, 3);
	out8(&r, 0x21, 0x08);
	assert_int_equal(pic_acknowledge(&r.pic), 0x27);
	assert_int_equal(read_isr(&r, 0x20), 0);
	out8(&r, 0x21, 0x00);
	assert_int_equal(pic_acknowledge(&r.pic), 0x23); /* still latched */
	out8(&r, 0x20, 0x20);

	/* Nothing at all: spurious too. */
	assert_int_equal(pic_acknowledge(&r.pic), 0x27);

	/* IRQ 11 goes away: the master latched IR2's edge, the slave has
	 * nothing: spurious IRQ 15, and the master's IR2 is in service (the
	 * handler must EOI the master only). */
	pic_set_irq(&r.pic, 11, true);
	assert_true(r.intr_level);
	pic_set_irq(&r.pic, 11, false);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x2f);
	assert_int_equal(read_isr(&r, 0xa0), 0);
	assert_int_equal(read_isr(&r, 0x20), 0x04);
	out8(&r, 0x20, 0x20);
	assert_int_equal(read_isr(&r, 0x20), 0);
	assert_false(r.intr_level);
}

static void test_auto_eoi(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	program_pair(&r, 0x03);
	pulse(&r, 1);
	pulse(&r, 6);
	assert_int_equal(pic_acknowledge(&r.pic), 0x21);
	assert_int_equal(read_isr(&r, 0x20), 0);
	assert_true(r.intr_level); /* nothing in service blocks IR6 */
	assert_int_equal(pic_acknowledge(&r.pic), 0x26);
	assert_false(r.intr_level);
	/* Through the cascade: both chips in AEOI; two slave requests follow
	 * each other without any EOI. */
	pulse(&r, 12);
	pulse(&r, 9);
	assert_int_equal(pic_acknowledge(&r.pic), 0x29);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x2c);
	assert_false(r.intr_level);
	assert_int_equal(read_isr(&r, 0x20), 0);
	assert_int_equal(read_isr(&r, 0xa0), 0);
}

static void test_register_reads(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	program_pair(&r, 0x01);
	out8(&r, 0x21, 0x80);
	pulse(&r, 7);
	pulse(&r, 3);
	pulse(&r, 13);
	/* After ICW1 reads at A0=0 give IRR: IR7 (masked, still requested),
	 * IR3, and IR2 from the slave's INT. */
	assert_int_equal(in8(&r, 0x20), 0x8c);
	assert_int_equal(in8(&r, 0xa0), 0x20);
	/* The cascade (IR2) outranks IR3. */
	assert_int_equal(pic_acknowledge(&r.pic), 0x2d);
	/* RR=1 RIS=1 selects ISR; the choice sticks for later reads, and an
	 * OCW3 with RR=0 leaves it. */
	assert_int_equal(read_isr(&r, 0xa0), 0x20);
	assert_int_equal(in8(&r, 0xa0), 0x20);
	out8(&r, 0xa0, 0x08);
	assert_int_equal(in8(&r, 0xa0), 0x20);
	assert_int_equal(read_isr(&r, 0x20), 0x04);
	assert_int_equal(read_irr(&r, 0x20), 0x88);
	assert_int_equal(in8(&r, 0x20), 0x88);
	/* A0=1 always reads IMR. */
	assert_int_equal(in8(&r, 0x21), 0x80);
	assert_int_equal(in8(&r, 0xa1), 0x00);
}

static void test_poll(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	program_pair(&r, 0x01);
	out8(&r, 0x20, 0x0c);
	assert_int_equal(in8(&r, 0x20), 0x00); /* nothing pending */
	pulse(&r, 5);
	out8(&r, 0x20, 0x0c);
	assert_int_equal(in8(&r, 0x20), 0x85);
	assert_int_equal(read_isr(&r, 0x20), 0x20);
	/* Poll is one read only. */
	assert_int_equal(in8(&r, 0x20), 0x20);
	out8(&r, 0x20, 0x20);
	/* Polling the master for a slave request gives IR2; the slave is
	 * polled next. */
	pulse(&r, 14);
	out8(&r, 0x20, 0x0c);
	assert_int_equal(in8(&r, 0x20), 0x82);
	out8(&r, 0xa0, 0x0c);
	assert_int_equal(in8(&r, 0xa0), 0x86);
	assert_int_equal(read_isr(&r, 0xa0), 0x40);
	/* A poll together with a register read: the poll wins. */
	eoi_slave_then_master(&r);
	pulse(&r, 1);
	out8(&r, 0x20, 0x0f);
	assert_int_equal(in8(&r, 0x20), 0x81);
	assert_int_equal(in8(&r, 0x20), 0x02); /* and ISR was selected */
}

static void test_special_mask_mode(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	program_pair(&r, 0x01);
	pulse(&r, 3);
	assert_int_equal(pic_acknowledge(&r.pic), 0x23);
	pulse(&r, 5);
	assert_false(r.intr_level);
	/* The handler masks its own level and enters special mask mode:
	 * lower priority levels may interrupt it. */
	out8(&r, 0x21, 0x08);
	out8(&r, 0x20, 0x68);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x25);
	assert_int_equal(read_isr(&r, 0x20), 0x28);
	/* IR5 in service, not masked, still blocks lower levels. */
	pulse(&r, 6);
	assert_false(r.intr_level);
	out8(&r, 0x20, 0x65); /* specific EOI 5 */
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x26);
	out8(&r, 0x20, 0x66);
	/* ESMM=1 SMM=0 leaves special mask mode; ESMM=0 changes nothing. */
	out8(&r, 0x20, 0x48);
	pulse(&r, 7);
	assert_false(r.intr_level); /* IR3 still in service */
	out8(&r, 0x20, 0x28);
	assert_false(r.intr_level);
	out8(&r, 0x20, 0x63);
	assert_true(r.intr_level);
	assert_int_equal(pic_acknowledge(&r.pic), 0x27);
}

static void test_wide_and_odd_accesses(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r);
	bool claimed;
	/* A 16-bit write to 0x20 is ICW1 at 0x20, then ICW2 at 0x21. */
	bus_write(&r.bus, 0x20, 2, 0x3011, &claimed);
	assert_true(claimed);
	out8(&r, 0x21, 0x04);
	out8(&r, 0x21, 0x01);
	bus_write(&r.bus, 0x4d0, 2, 0x0820, &claimed);
	assert_int_equal(bus_read(&r.bus, 0x4d0, 2, &claimed), 0x0820);
	assert_int_equal(bus_read(&r.bus, 0x20, 2, &claimed), 0x0000); /* IRR, then IMR */
	/* Bytes outside the device read 0xff and are dropped. */
	assert_int_equal(pic_master_read(&r.pic, 1, 2), 0xff00);
	assert_int_equal(pic_master_read(&r.pic, 2, 1), 0xff);
	assert_int_equal(pic_elcr_read(&r.pic, UINT64_MAX, 8), UINT64_MAX);
	assert_int_equal(pic_slave_read(&r.pic, 0, 0), 0);
	assert_int_equal(pic_master_read(&r.pic, 0, 100), 0xffffffffffff0000ull);
	pic_master_write(&r.pic, 2, 1, 0x11);
	pic_master_write(&r.pic, UINT64_MAX, 4, 0x11111111);
	pic_master_write(&r.pic, 0, 0, 0x11);
	assert_int_equal(in8(&r, 0x21), 0x00);
	pulse(&r, 0);
	assert_int_equal(pic_acknowledge(&r.pic), 0x30);
	/* Inputs beyond 15, and IRQ 2, are ignored. */
	pic_set_irq(&r.pic, 2, true);
	pic_set_irq(&r.pic, 16, true);
	pic_set_irq(&r.pic, UINT32_MAX, true);
	out8(&r, 0x20, 0x20);
	assert_int_equal(read_irr(&r, 0x20), 0);
	assert_false(r.intr_level);

	/* The irq_line helper. */
	out8(&r, 0x21, 0x00);
	struct irq_line l = pic_irq_line(&r.pic, 4);
	irq_pulse(&l);
	assert_int_equal(pic_acknowledge(&r.pic), 0x34);
}

/* Random traffic: any byte to any port, any size, lines and acknowledges
 * in between. Checks: no sanitizer report, the callback only reports
 * changes and agrees with pic_intr_asserted, vectors are bytes, and with
 * INTR low an acknowledge is the master's spurious IRQ 7, changing no ISR. */
static uint32_t rng_state = 0x8259a;

static uint32_t rng(void)
{
	return rig_xorshift32(&rng_state);
}

static void test_random_traffic(void **state)
{
	(void)state;
	static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };
	static const unsigned sizes[] = { 1, 1, 1, 1, 2, 4, 8 };
	unsigned acks = 0;
	for (unsigned run = 0; run < 50; run++) {
		struct rig r;
		rig_init(&r);
		if (run & 1)
			program_pair(&r, (uint8_t)(rng() & 0x13));
		for (unsigned step = 0; step < 4000; step++) {
			uint32_t x = rng();
			uint16_t port = ports[x % ARRAY_SIZE(ports)];
			unsigned size = sizes[(x >> 8) % ARRAY_SIZE(sizes)];
			bool claimed;
			switch ((x >> 12) % 6) {
			case 0:
				bus_write(&r.bus, port, size, rng() | (uint64_t)rng() << 32, &claimed);
				break;
			case 1:
				(void)bus_read(&r.bus, port, size, &claimed);
				break;
			case 2:
			case 3:
				pic_set_irq(&r.pic, (x >> 16) % 18, (x >> 24) & 1);
				break;
			case 4: {
				bool intr = pic_intr_asserted(&r.pic);
				uint8_t isr0 = r.pic.chip[0].isr, isr1 = r.pic.chip[1].isr;
				int v = pic_acknowledge(&r.pic);
				assert_true(v >= 0 && v <= 0xff);
				if (!intr) {
					assert_int_equal(v, r.pic.chip[0].vector_base | 7);
					assert_int_equal(r.pic.chip[0].isr, isr0);
					assert_int_equal(r.pic.chip[1].isr, isr1);
				} else {
					acks++;
				}
				break;
			}
			default:
				pic_master_write(&r.pic, rng() % 4, rng() % 10, rng());
				break;
			}
			assert_int_equal(pic_intr_asserted(&r.pic), r.intr_level);
		}
	}
	assert_true(acks > 100); /* the traffic did reach interrupts */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_state),
		cmocka_unit_test(test_init_sequence),
		cmocka_unit_test(test_masking),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_eoi_order),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_cascade),
		cmocka_unit_test(test_special_fully_nested),
		cmocka_unit_test(test_level_and_edge),
		cmocka_unit_test(test_spurious),
		cmocka_unit_test(test_auto_eoi),
		cmocka_unit_test(test_register_reads),
		cmocka_unit_test(test_poll),
		cmocka_unit_test(test_special_mask_mode),
		cmocka_unit_test(test_wide_and_odd_accesses),
		cmocka_unit_test(test_random_traffic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
