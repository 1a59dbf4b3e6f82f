#include "devices/uart16550.h"
#include "lib/string.h"

/* Register offsets (PC16550D, Table 2). With LCR.DLAB = 1, offsets 0 and 1
 * are the divisor latch. */
#define REG_RBR_THR 0
#define REG_IER 1
#define REG_IIR_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */

/* IIR values, highest priority first (PC16550D Table 4). */
#define IIR_NONE 0x01
#define IIR_LINE_STATUS 0x06
#define IIR_RX_DATA 0x04
#define IIR_CHAR_TIMEOUT 0x0c
#define IIR_THRE 0x02
#define IIR_MODEM_STATUS 0x00
#define IIR_FIFOS_ENABLED 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04

#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_ERRORS 0x1e /* OE, PE, FE, BI */
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_FIFO_ERROR 0x80

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

static const uint8_t rx_trigger_levels[4] = { 1, 4, 8, 14 };

static bool fifo_enabled(const struct uart16550 *u)
{
	return u->fcr & FCR_ENABLE;
}

/* Modem status inputs: a cable with DCD, DSR, CTS up; in loopback the
 * outputs feed the inputs (DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD). */
static uint8_t modem_inputs(const struct uart16550 *u)
{
	if (!(u->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (uint8_t)(((u->mcr & MCR_DTR) ? MSR_DSR : 0) | ((u->mcr & MCR_RTS) ? MSR_CTS : 0) |
			 ((u->mcr & MCR_OUT1) ? MSR_RI : 0) | ((u->mcr & MCR_OUT2) ? MSR_DCD : 0));
}

static uint8_t modem_deltas(const struct uart16550 *u)
{
	uint8_t now = modem_inputs(u), was = u->msr_last, d = 0;
	if ((now ^ was) & MSR_CTS)
		d |= MSR_DCTS;
	if ((now ^ was) & MSR_DSR)
		d |= MSR_DDSR;
	if ((was & MSR_RI) && !(now & MSR_RI))
		d |= MSR_TERI; /* trailing edge of RI */
	if ((now ^ was) & MSR_DCD)
		d |= MSR_DDCD;
	return d;
}

/* The highest-priority pending interrupt, as IIR reports it. */
static uint8_t pending_iir(const struct uart16550 *u)
{
	if ((u->ier & IER_ELSI) && (u->lsr_errors & LSR_ERRORS))
		return IIR_LINE_STATUS;
	if ((u->ier & IER_ERBFI) && u->rx_count) {
		unsigned trigger = fifo_enabled(u) ? rx_trigger_levels[u->fcr >> 6] : 1;
		/* Below the trigger level the 16550 waits four character times
		 * and then reports a timeout; with no clock here, data sitting
		 * below the trigger is reported as that timeout at once. */
		return u->rx_count >= trigger ? IIR_RX_DATA : IIR_CHAR_TIMEOUT;
	}
	if ((u->ier & IER_ETBEI) && u->thre_pending)
		return IIR_THRE;
	if ((u->ier & IER_EDSSI) && modem_deltas(u))
		return IIR_MODEM_STATUS;
	return IIR_NONE;
}

/* On a PC the UART's interrupt output reaches the PIC only while OUT2 is set. */
static void update_irq(struct uart16550 *u)
{
	bool level = pending_iir(u) != IIR_NONE && (u->mcr & MCR_OUT2);
	if (level != u->irq_level) {
		u->irq_level = level;
		irq_set(&u->irq, level);
	}
}

void uart16550_init(struct uart16550 *u, void (*tx)(void *, uint8_t), void *ctx)
{
	memset(u, 0, sizeof(*u));
	u->dll = 0x0c; /* 9600 baud after reset */
	u->tx = tx;
	u->tx_ctx = ctx;
	u->msr_last = modem_inputs(u);
}

void uart16550_set_irq(struct uart16550 *u, const struct irq_line *irq)
{
	u->irq = *irq;
	u->irq_level = false;
	update_irq(u);
}

static bool rx_push(struct uart16550 *u, uint8_t byte)
{
	unsigned cap = fifo_enabled(u) ? UART_FIFO_SIZE : 1;
	if (u->rx_count >= cap) {
		u->lsr_errors |= LSR_OE;
		return false;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
	return true;
}

bool uart16550_receive(struct uart16550 *u, uint8_t byte)
{
	bool ok = (u->mcr & MCR_LOOP) ? false : rx_push(u, byte); /* loopback cuts the wire */
	update_irq(u);
	return ok;
}

unsigned uart16550_rx_space(const struct uart16550 *u)
{
	return (fifo_enabled(u) ? UART_FIFO_SIZE : 1) - u->rx_count;
}

static void transmit(struct uart16550 *u, uint8_t byte)
{
	if (u->mcr & MCR_LOOP)
		rx_push(u, byte); /* loopback: the byte comes back, nothing leaves */
	else if (u->tx)
		u->tx(u->tx_ctx, byte);
	/* Sent at once: THR is empty again and says so. */
	u->thre_pending = true;
}

uint64_t uart16550_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uart16550 *u = opaque;
	uint8_t v = 0xff;
	(void)size; /* wider accesses see the byte register in their low byte */

	switch (offset) {
	case REG_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			v = u->dll;
		} else if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
			u->rx_count--;
		} else {
			v = 0;
		}
		break;
	case REG_IER:
		v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
		break;
	case REG_IIR_FCR:
		v = pending_iir(u);
		/* Reading IIR while THRE is the reported source clears it
		 * (PC16550D Table 4, "reading the IIR register"). */
		if (v == IIR_THRE)
			u->thre_pending = false;
		v |= fifo_enabled(u) ? IIR_FIFOS_ENABLED : 0;
		break;
	case REG_LCR:
		v = u->lcr;
		break;
	case REG_MCR:
		v = u->mcr;
		break;
	case REG_LSR:
		v = (uint8_t)(LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0) | u->lsr_errors);
		if (fifo_enabled(u) && (u->lsr_errors & LSR_ERRORS))
			v |= LSR_FIFO_ERROR;
		u->lsr_errors = 0; /* error bits clear when LSR is read */
		break;
	case REG_MSR:
		v = (uint8_t)(modem_inputs(u) | modem_deltas(u));
		u->msr_last = modem_inputs(u); /* deltas clear when MSR is read */
		break;
	case REG_SCR:
		v = u->scr;
		break;
	}
	update_irq(u);
	return v;
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
		else
			transmit(u, v);
		break;
	case REG_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
		} else {
			/* Enabling ETBEI with THR empty raises THRE at once. */
			if ((v & IER_ETBEI) && !(u->ier & IER_ETBEI))
				u->thre_pending = true;
			u->ier = v & 0x0f;
		}
		break;
	case REG_IIR_FCR:
		if ((v ^ u->fcr) & FCR_ENABLE)
			u->rx_count = 0; /* switching FIFO mode empties the FIFOs */
		if (v & FCR_CLEAR_RX)
			u->rx_count = 0;
		u->fcr = v & 0xc9; /* the clear bits self-clear */
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
	update_irq(u);
}
