/* The 8042 keyboard controller and its keyboard: see i8042.h for what is
 * emulated and the sources. */
#include "devices/i8042.h"
#include "devices/bus.h"
#include "lib/string.h"

/* Status register (port 0x64 read). */
#define STATUS_OBF 0x01
#define STATUS_SYS 0x04
#define STATUS_A2 0x08
#define STATUS_NOT_INHIBITED 0x10
#define STATUS_AUXB 0x20

/* Command byte (controller RAM byte 0). */
#define CB_KBD_INT 0x01
#define CB_AUX_INT 0x02
#define CB_SYS 0x04
#define CB_KBD_DISABLE 0x10
#define CB_AUX_DISABLE 0x20
#define CB_TRANSLATE 0x40
#define CB_AFTER_BIOS (CB_TRANSLATE | CB_SYS | CB_KBD_INT)

/* Output port. */
#define OUT_RESET 0x01 /* low: system reset */
#define OUT_A20 0x02
#define OUT_KBD_OBF 0x10
#define OUT_AUX_OBF 0x20
#define OUT_AFTER_BIOS 0xcf /* clock and data lines high, A20 on, not in reset */

/* Controller commands. */
#define CMD_READ_RAM 0x20      /* 20h-3Fh */
#define CMD_WRITE_RAM 0x60     /* 60h-7Fh */
#define CMD_PASSWORD_TEST 0xa4
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_INPUT 0xc0
#define CMD_READ_OUTPUT 0xd0
#define CMD_WRITE_OUTPUT 0xd1
#define CMD_WRITE_KBD_OBUF 0xd2
#define CMD_WRITE_AUX_OBUF 0xd3
#define CMD_WRITE_AUX 0xd4
#define CMD_A20_OFF 0xdd
#define CMD_A20_ON 0xdf
#define CMD_READ_TEST_INPUTS 0xe0
#define CMD_PULSE 0xf0         /* F0h-FFh: bits 3-0 low are pulsed */

#define SELF_TEST_OK 0x55
#define INTERFACE_OK 0x00
#define NO_PASSWORD 0xf1
#define INPUT_PORT 0x80        /* keyboard not inhibited */

/* Keyboard commands and answers. */
#define KBD_SET_LEDS 0xed
#define KBD_ECHO 0xee
#define KBD_SCAN_SET 0xf0
#define KBD_IDENTIFY 0xf2
#define KBD_TYPEMATIC 0xf3
#define KBD_ENABLE 0xf4
#define KBD_DISABLE 0xf5
#define KBD_DEFAULTS 0xf6
#define KBD_SET3_FIRST 0xf7    /* F7h-FDh: scan code set 3 key types */
#define KBD_SET3_LAST 0xfd
#define KBD_RESEND 0xfe
#define KBD_RESET 0xff
#define KBD_ACK 0xfa
#define KBD_BAT_OK 0xaa
#define KBD_ID1 0xab
#define KBD_ID2 0x83
#define KBD_DEFAULT_TYPEMATIC 0x2b /* 10.9 characters/s after 500 ms */

/* --- Interrupts: IRQ 1 and IRQ 12 follow the output buffer. */

static void update_irqs(struct i8042 *k)
{
	bool kbd = k->obf && !k->obf_aux && (k->ram[0] & CB_KBD_INT);
	bool aux = k->obf && k->obf_aux && (k->ram[0] & CB_AUX_INT);
	if (kbd != k->irq1_level) {
		k->irq1_level = kbd;
		irq_set(&k->irq1, kbd);
	}
	if (aux != k->irq12_level) {
		k->irq12_level = aux;
		irq_set(&k->irq12, aux);
	}
}

/* --- The keyboard's queue and the output buffer. */

/* Translation to scan code set 1 terms, for the bytes this keyboard sends:
 * the codes below 80h are set numbers; 83h is F7 (set 2), 41h in set 1. */
static uint8_t translate(const struct i8042 *k, uint8_t v)
{
	if (!(k->ram[0] & CB_TRANSLATE))
		return v;
	switch (v) {
	case 0x01:
		return 0x43;
	case 0x02:
	case KBD_ID2:
		return 0x41;
	case 0x03:
		return 0x3f;
	default:
		return v;
	}
}

/* A byte from the keyboard moves into the output buffer when the buffer
 * is empty and the keyboard port is on. */
static void refill(struct i8042 *k)
{
	if (!k->obf && !(k->ram[0] & CB_KBD_DISABLE) && k->kq_len != 0) {
		k->obuf = translate(k, k->kq[k->kq_head]);
		k->kq_head = (k->kq_head + 1) % I8042_KBD_QUEUE;
		k->kq_len--;
		k->obf = true;
		k->obf_aux = false;
	}
	update_irqs(k);
}

static void kbd_send(struct i8042 *k, uint8_t v)
{
	if (k->kq_len < I8042_KBD_QUEUE) {
		k->kq[(k->kq_head + k->kq_len) % I8042_KBD_QUEUE] = v;
		k->kq_len++;
	}
	k->kbd_last = v;
	refill(k);
}

/* A byte from the controller itself (or D2h/D3h): straight to the buffer. */
static void controller_output(struct i8042 *k, uint8_t v, bool aux)
{
	k->obuf = v;
	k->obf = true;
	k->obf_aux = aux;
	update_irqs(k);
}

/* --- The keyboard. */

static void kbd_defaults(struct i8042 *k)
{
	k->kq_len = 0;
	k->kbd_set = 2;
	k->kbd_typematic = KBD_DEFAULT_TYPEMATIC;
	k->kbd_pending = 0;
}

static void kbd_data(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	switch (cmd) {
	case KBD_SET_LEDS:
		k->kbd_leds = v & 7;
		kbd_send(k, KBD_ACK);
		break;
	case KBD_TYPEMATIC:
		k->kbd_typematic = v & 0x7f;
		kbd_send(k, KBD_ACK);
		break;
	default: /* KBD_SCAN_SET */
		if (v > 3) {
			kbd_send(k, KBD_RESEND);
		} else if (v == 0) {
			kbd_send(k, KBD_ACK);
			kbd_send(k, k->kbd_set);
		} else {
			k->kbd_set = v;
			kbd_send(k, KBD_ACK);
		}
		break;
	}
}

static void kbd_receive(struct i8042 *k, uint8_t v)
{
	if (k->kbd_pending && v < 0x80) {
		uint8_t cmd = k->kbd_pending;
		k->kbd_pending = 0;
		kbd_data(k, cmd, v);
		return;
	}
	k->kbd_pending = 0;
	switch (v) {
	case KBD_SET_LEDS:
	case KBD_TYPEMATIC:
	case KBD_SCAN_SET:
		kbd_send(k, KBD_ACK);
		k->kbd_pending = v;
		break;
	case KBD_ECHO:
		kbd_send(k, KBD_ECHO);
		break;
	case KBD_IDENTIFY:
		kbd_send(k, KBD_ACK);
		kbd_send(k, KBD_ID1);
		kbd_send(k, KBD_ID2);
		break;
	case KBD_ENABLE:
		k->kq_len = 0;
		k->kbd_scanning = true;
		kbd_send(k, KBD_ACK);
		break;
	case KBD_DISABLE:
	case KBD_DEFAULTS:
		kbd_defaults(k);
		k->kbd_scanning = v == KBD_DEFAULTS;
		kbd_send(k, KBD_ACK);
		break;
	case KBD_RESEND: {
		uint8_t last = k->kbd_last;
		kbd_send(k, last);
		break;
	}
	case KBD_RESET:
		kbd_defaults(k);
		k->kbd_leds = 0;
		k->kbd_scanning = true;
		kbd_send(k, KBD_ACK);
		kbd_send(k, KBD_BAT_OK);
		break;
	default:
		kbd_send(k, v >= KBD_SET3_FIRST && v <= KBD_SET3_LAST ? KBD_ACK : KBD_RESEND);
		break;
	}
}

/* --- The controller. */

static uint8_t output_port(const struct i8042 *k)
{
	uint8_t v = k->outport;
	if (k->obf)
		v |= k->obf_aux ? OUT_AUX_OBF : OUT_KBD_OBF;
	return v;
}

static void reset_system(struct i8042 *k)
{
	if (k->reset)
		k->reset(k->reset_ctx);
}

static void controller_command(struct i8042 *k, uint8_t cmd)
{
	k->pending = 0;
	if ((cmd & 0xe0) == CMD_READ_RAM) {
		controller_output(k, k->ram[cmd & 0x1f], false);
		return;
	}
	if ((cmd & 0xe0) == CMD_WRITE_RAM) {
		k->pending = cmd;
		return;
	}
	if ((cmd & 0xf0) == CMD_PULSE) {
		if (!(cmd & OUT_RESET))
			reset_system(k);
		return;
	}
	switch (cmd) {
	case CMD_PASSWORD_TEST:
		controller_output(k, NO_PASSWORD, false);
		break;
	case CMD_AUX_DISABLE:
		k->ram[0] |= CB_AUX_DISABLE;
		break;
	case CMD_AUX_ENABLE:
		k->ram[0] &= ~CB_AUX_DISABLE;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		controller_output(k, INTERFACE_OK, false);
		break;
	case CMD_SELF_TEST:
		k->ram[0] |= CB_SYS;
		controller_output(k, SELF_TEST_OK, false);
		break;
	case CMD_KBD_DISABLE:
		k->ram[0] |= CB_KBD_DISABLE;
		break;
	case CMD_KBD_ENABLE:
		k->ram[0] &= ~CB_KBD_DISABLE;
		refill(k);
		break;
	case CMD_READ_INPUT:
		controller_output(k, INPUT_PORT, false);
		break;
	case CMD_READ_OUTPUT:
		controller_output(k, output_port(k), false);
		break;
	case CMD_WRITE_OUTPUT:
	case CMD_WRITE_KBD_OBUF:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		k->pending = cmd;
		break;
	case CMD_A20_OFF:
		k->outport &= ~OUT_A20;
		break;
	case CMD_A20_ON:
		k->outport |= OUT_A20;
		break;
	case CMD_READ_TEST_INPUTS:
		controller_output(k, 0x00, false);
		break;
	default:
		break; /* not emulated: ignored */
	}
}

/* The data byte of a controller command. */
static void controller_data(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	switch (cmd) {
	case CMD_WRITE_OUTPUT:
		k->outport = (uint8_t)((v & ~(OUT_KBD_OBF | OUT_AUX_OBF)) | OUT_RESET);
		if (!(v & OUT_RESET))
			reset_system(k);
		break;
	case CMD_WRITE_KBD_OBUF:
		controller_output(k, v, false);
		break;
	case CMD_WRITE_AUX_OBUF:
		controller_output(k, v, true);
		break;
	case CMD_WRITE_AUX:
		break; /* no auxiliary device */
	default: /* CMD_WRITE_RAM */
		k->ram[cmd & 0x1f] = v;
		refill(k); /* the command byte may have turned on the port or an interrupt */
		break;
	}
}

/* --- Ports. */

static uint8_t status(const struct i8042 *k)
{
	uint8_t v = STATUS_NOT_INHIBITED;
	if (k->obf)
		v |= STATUS_OBF | (k->obf_aux ? STATUS_AUXB : 0);
	if (k->ram[0] & CB_SYS)
		v |= STATUS_SYS;
	if (k->a2)
		v |= STATUS_A2;
	return v;
}

/* Byte 0 of the access is the port; bytes above it read 0xFF. */
static uint64_t one_port(uint8_t v, uint64_t offset, unsigned size)
{
	if (size == 0)
		return 0;
	uint64_t all = size_mask(MIN(size, 8u));
	return offset == 0 ? (all & ~0xffull) | v : all;
}

uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	if (offset != 0 || size == 0)
		return one_port(0xff, offset, size);
	uint8_t v = k->obuf;
	/* Reading empties the buffer and drops the interrupt line before the
	 * next byte (if any) comes in and raises it again: an edge for each. */
	k->obf = false;
	update_irqs(k);
	refill(k);
	return one_port(v, 0, size);
}

void i8042_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8042 *k = opaque;
	if (offset != 0 || size == 0)
		return;
	uint8_t v = (uint8_t)value;
	k->a2 = false;
	if (k->pending) {
		uint8_t cmd = k->pending;
		k->pending = 0;
		controller_data(k, cmd, v);
	} else {
		kbd_receive(k, v);
	}
}

uint64_t i8042_status_read(void *opaque, uint64_t offset, unsigned size)
{
	return one_port(status(opaque), offset, size);
}

void i8042_command_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8042 *k = opaque;
	if (offset != 0 || size == 0)
		return;
	k->a2 = true;
	controller_command(k, (uint8_t)value);
}

bool i8042_a20_enabled(const struct i8042 *k)
{
	return k->outport & OUT_A20;
}

void i8042_init(struct i8042 *k, const struct irq_line *irq1, const struct irq_line *irq12,
		void (*reset)(void *ctx), void *reset_ctx)
{
	memset(k, 0, sizeof(*k));
	k->ram[0] = CB_AFTER_BIOS;
	k->outport = OUT_AFTER_BIOS;
	kbd_defaults(k);
	k->kbd_scanning = true;
	if (irq1)
		k->irq1 = *irq1;
	if (irq12)
		k->irq12 = *irq12;
	k->reset = reset;
	k->reset_ctx = reset_ctx;
}
