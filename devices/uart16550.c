#include "devices/uart16550.h"
#include "lib/string.h"

/* Register offsets and bits (PC16550D datasheet, Table 2). */
#define REG_RBR_THR 0
#define REG_IER 1
#define REG_IIR_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7
#define LCR_DLAB 0x80
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IIR_NO_INTERRUPT 0x01
#define IIR_FIFO_ENABLED 0xc0

void uart16550_init(struct uart16550 *u, void (*tx)(void *, uint8_t), void *ctx)
{
	memset(u, 0, sizeof(*u));
	u->dll = 0x0c; /* 9600 baud after reset */
	u->tx = tx;
	u->tx_ctx = ctx;
}

uint64_t uart16550_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uart16550 *u = opaque;
	(void)size;
	switch (offset) {
	case REG_RBR_THR:
		return (u->lcr & LCR_DLAB) ? u->dll : 0; /* no receive data yet */
	case REG_IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case REG_IIR_FCR:
		return IIR_NO_INTERRUPT | ((u->fcr & 1) ? IIR_FIFO_ENABLED : 0);
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT; /* output leaves at once */
	case REG_MSR:
		return 0xb0; /* DCD, DSR, CTS: a cable is attached */
	case REG_SCR:
		return u->scr;
	}
	return 0xff;
}

void uart16550_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct uart16550 *u = opaque;
	uint8_t v = (uint8_t)value;
	(void)size;
	switch (offset) {
	case REG_RBR_THR:
		if (u->lcr & LCR_DLAB)
			u->dll = v;
		else if (u->tx)
			u->tx(u->tx_ctx, v);
		break;
	case REG_IER:
		if (u->lcr & LCR_DLAB)
			u->dlm = v;
		else
			u->ier = v & 0x0f;
		break;
	case REG_IIR_FCR:
		u->fcr = v;
		break;
	case REG_LCR:
		u->lcr = v;
		break;
	case REG_MCR:
		u->mcr = v & 0x1f;
		break;
	case REG_SCR:
		u->scr = v;
		break;
	default:
		break; /* LSR and MSR are read-only */
	}
}
