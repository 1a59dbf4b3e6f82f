#ifndef ARCH_X86_SERIAL_H
#define ARCH_X86_SERIAL_H

#include "lib/types.h"

#define COM1_PORT 0x3f8

void serial_init(void);
void serial_putc(char c);
/* Wait until the transmitter is completely empty (LSR.TEMT): the last bytes
 * before the emulator is ended are otherwise lost. */
void serial_flush(void);
/* A byte has arrived on the physical port (LSR.DR), and taking it. */
bool serial_rx_ready(void);
uint8_t serial_getc(void);

#endif
