/* The PC's pair of 8259A programmable interrupt controllers: the master at
 * ports 0x20-0x21 with the slave's INT wired to its IR2, the slave at
 * 0xA0-0xA1 (IRQ 8-15), and the chipset's edge/level control registers
 * (ELCR) at 0x4D0-0x4D1.
 *
 * Sources: Intel 8259A Programmable Interrupt Controller datasheet
 * (order number 231468): "Interrupt Sequence", "Initialization Command
 * Words", "Operation Command Words", "Fully Nested Mode", "Special Mask
 * Mode", "Poll Command", "Cascade Mode", "Edge and Level Triggered Modes";
 * Intel 82371AB (PIIX4) datasheet, "ELCR1/ELCR2 - Edge/Level Control
 * Registers" (I/O 4D0h-4D1h), and the ICH datasheets' ICW1 description,
 * where LTIM is "disabled, replaced by the ELCR registers".
 *
 * Emulated: the ICW1-ICW4 sequence (single or cascade, with or without
 * ICW4, vector base, cascade identity, AEOI, SFNM); OCW1 masks; every OCW2
 * command (non-specific and specific EOI, rotate on EOI, rotate in AEOI
 * mode, set priority); OCW3 (read IRR or ISR, poll, special mask mode);
 * edge or level inputs per ELCR; priority resolution with the slave on the
 * master's IR2; spurious IRQ 7 and 15; the INTA cycle as one call.
 *
 * Not emulated, with the result chosen instead:
 * - MCS-80/85 mode (ICW4 uPM = 0, or no ICW4): vectors are still delivered
 *   as in 8086 mode; ICW1's ADI and A7-A5 bits are ignored.
 * - LTIM (ICW1 bit 3) is ignored: the ELCR decides, as on PIIX and ICH.
 * - Buffered mode and ICW4's M/S bit: stored, no effect. Which chip is the
 *   master is fixed by the wiring, not by ICW4.
 * - An edge-triggered request stays in IRR when its line falls before the
 *   INTA cycle (the datasheet asks the line to stay high until then):
 *   devices pulse their lines (devices/irq.h), so an edge is latched, as in
 *   other PC emulators. Spurious interrupts come from level-triggered
 *   lines that fall, or from requests masked, before the acknowledge.
 * - The slave's INT is taken as falling during the INTA cycle, so a slave
 *   with a further request gives the master's IR2 a new edge.
 * - A cascade address nobody answers (the master's ICW3 names an IR other
 *   than 2, or the slave is in single mode or has an ID other than 2):
 *   nothing drives the data bus and the vector is 0xFF.
 * - IRQ 2 is the cascade input: pic_set_irq(..., 2, ...) is ignored, as is
 *   any irq above 15.
 *
 * State at pic8259_init: as a PC BIOS leaves the pair (master vectors
 * 0x08-0x0F, slave 0x70-0x77, slave on IR2, 8086 mode, normal EOI), but
 * with every input masked; ELCR all edge.
 *
 * Bus accesses: ports are 8 bits wide. An access of n bytes acts as n byte
 * accesses to consecutive ports, low byte first, as the ISA bus splits it;
 * a byte outside the device's ports reads 0xFF and is dropped on write. */
#ifndef DEVICES_PIC8259_H
#define DEVICES_PIC8259_H

#include "lib/types.h"
#include "devices/irq.h"

#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE 0xa0
#define PIC_NR_PORTS 2
#define PIC_ELCR_BASE 0x4d0
#define PIC_ELCR_NR_PORTS 2
#define PIC_NR_IRQS 16
#define PIC_CASCADE_IRQ 2

/* One 8259A. */
struct pic8259_chip {
	bool master;
	uint8_t irr, isr, imr;
	uint8_t input;       /* IR pin levels, for edge detection */
	uint8_t elcr;        /* 1 = level-triggered */
	uint8_t vector_base; /* ICW2 T7-T3 */
	uint8_t icw3, icw4;
	uint8_t lowest;      /* the IR with the lowest priority (7 until rotated) */
	uint8_t init_step;   /* 0: operational; 2, 3, 4: waiting for that ICW */
	bool single, need_icw4;
	bool read_isr;       /* OCW3 RIS: reads at A0=0 return ISR, else IRR */
	bool poll;           /* OCW3 P: the next read at A0=0 is a poll */
	bool special_mask;   /* OCW3 SMM */
	bool rotate_aeoi;    /* OCW2 rotate in automatic EOI mode */
};

struct pic8259 {
	struct pic8259_chip chip[2]; /* [0] master, [1] slave */
	void (*intr)(void *ctx, bool asserted);
	void *intr_ctx;
	bool intr_out;               /* the master's INT pin */
};

/* intr (may be NULL) is called whenever the master's INT output changes. */
void pic8259_init(struct pic8259 *pic, void (*intr)(void *ctx, bool asserted), void *ctx);

/* An irq_line setter: opaque is the struct pic8259, irq 0-15. */
void pic_set_irq(void *opaque, unsigned irq, bool level);

static inline struct irq_line pic_irq_line(struct pic8259 *pic, unsigned irq)
{
	return (struct irq_line){ pic_set_irq, pic, irq };
}

/* The INTA cycle: the vector the CPU receives. Sets ISR (unless AEOI),
 * clears an edge request from IRR, asks the slave for the vector when its
 * cascade input wins. With no request left to serve, the spurious vector
 * of IR7 of the master (or of the slave, IRQ 15, whose master IR2 is then
 * in service) without any ISR bit set for it. */
int pic_acknowledge(struct pic8259 *pic);

bool pic_intr_asserted(const struct pic8259 *pic);

/* Port I/O: opaque is the struct pic8259. */
uint64_t pic_master_read(void *opaque, uint64_t offset, unsigned size);
void pic_master_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);
uint64_t pic_slave_read(void *opaque, uint64_t offset, unsigned size);
void pic_slave_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);
uint64_t pic_elcr_read(void *opaque, uint64_t offset, unsigned size);
void pic_elcr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

#endif
