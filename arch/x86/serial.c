/* The physical COM1 port: the hypervisor's console. 16550 registers as in the
 * PC16550D datasheet. */
#include "arch/x86/serial.h"
#include "arch/x86/cpu.h"
#include "lib/printf.h"
#include "arch/x86/percpu.h"

#define UART_THR 0
#define UART_IER 1
#define UART_DLL 0
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

void serial_init(void)
{
	outb(COM1_PORT + UART_IER, 0x00);
	outb(COM1_PORT + UART_LCR, 0x80); /* DLAB to set the divisor */
	outb(COM1_PORT + UART_DLL, 0x01); /* 115200 baud */
	outb(COM1_PORT + UART_DLM, 0x00);
	outb(COM1_PORT + UART_LCR, 0x03); /* 8N1 */
	outb(COM1_PORT + UART_FCR, 0xc7); /* FIFOs on and cleared */
	outb(COM1_PORT + UART_MCR, 0x03); /* DTR, RTS */
}

void serial_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	for (unsigned spins = 0; !(inb(COM1_PORT + UART_LSR) & LSR_THRE) && spins < 1000000; spins++)
		;
	outb(COM1_PORT + UART_THR, (uint8_t)c);
}

void serial_flush(void)
{
	for (unsigned spins = 0; !(inb(COM1_PORT + UART_LSR) & LSR_TEMT) && spins < 1000000; spins++)
		;
}

bool serial_rx_ready(void)
{
	return inb(COM1_PORT + UART_LSR) & LSR_DR;
}

uint8_t serial_getc(void)
{
	return inb(COM1_PORT + UART_THR); /* RBR at the same offset */
}

void console_putc(char c)
{
	serial_putc(c);
}

unsigned console_cpu_id(void)
{
	return this_cpu()->index;
}
