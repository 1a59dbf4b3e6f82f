/* A 16550A UART as the guest sees it at COM1. For now the transmit side and
 * the register file: bytes the guest writes to THR go to tx(); the line status
 * always shows an empty transmitter. Receive and interrupts arrive with the
 * platform-devices work. */
#ifndef DEVICES_UART16550_H
#define DEVICES_UART16550_H

#include "lib/types.h"
#include "devices/bus.h"

#define UART_COM1_BASE 0x3f8
#define UART_NR_PORTS 8

struct uart16550 {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	void (*tx)(void *ctx, uint8_t byte);
	void *tx_ctx;
};

void uart16550_init(struct uart16550 *u, void (*tx)(void *, uint8_t), void *ctx);
uint64_t uart16550_read(void *opaque, uint64_t offset, unsigned size);
void uart16550_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

#endif
