/* A 16550A UART as the guest sees it (National Semiconductor PC16550D
 * datasheet): the register file, 16-byte receive FIFO, line and modem
 * status, loopback, and the four interrupt sources with their priorities.
 * Transmission is instantaneous: a byte written to THR goes to tx() at once,
 * so THR and the transmitter are always empty again by the next access. */
#ifndef DEVICES_UART16550_H
#define DEVICES_UART16550_H

#include "lib/types.h"
#include "devices/bus.h"
#include "devices/irq.h"

#define UART_COM1_BASE 0x3f8
#define UART_COM2_BASE 0x2f8
#define UART_NR_PORTS 8
#define UART_FIFO_SIZE 16

struct uart16550 {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, msr_last;
	uint8_t lsr_errors;        /* OE, PE, FE, BI latched until LSR is read */
	bool thre_pending;         /* the THRE interrupt, until IIR read or THR write */
	uint8_t rx[UART_FIFO_SIZE];
	unsigned rx_head, rx_count;
	void (*tx)(void *ctx, uint8_t byte);
	void *tx_ctx;
	struct irq_line irq;       /* IRQ 4 for COM1, 3 for COM2, gated by MCR.OUT2 */
	bool irq_level;
};

void uart16550_init(struct uart16550 *u, void (*tx)(void *, uint8_t), void *ctx);
void uart16550_set_irq(struct uart16550 *u, const struct irq_line *irq);
/* A byte arrives on the wire (from the physical console). False if the
 * receive FIFO was full: the byte is lost and LSR.OE is set. */
bool uart16550_receive(struct uart16550 *u, uint8_t byte);
/* Room in the receive FIFO, for flow control by the caller. */
unsigned uart16550_rx_space(const struct uart16550 *u);
uint64_t uart16550_read(void *opaque, uint64_t offset, unsigned size);
void uart16550_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

#endif
