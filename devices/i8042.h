/* The PC's 8042 keyboard controller at ports 0x60 (data) and 0x64
 * (status and commands), with a keyboard that answers commands but has no
 * keys pressed, and an auxiliary (mouse) port with nothing plugged in.
 *
 * Sources: IBM PC AT Technical Reference, "Keyboard Controller" (status
 * register, command byte, controller commands 20h-FFh, input and output
 * ports) and "Keyboard" (commands and responses, scan code translation);
 * IBM Personal System/2 Hardware Interface Technical Reference, "Keyboard
 * and Auxiliary Device Controller" (commands A7h-A9h, D2h-D4h, the
 * auxiliary output buffer status bit).
 *
 * Emulated: the status register (OBF, IBF always 0 as every byte is taken
 * at once, SYS from the command byte, A2 = last write to port 0x64, the
 * inhibit switch off, AUXB); the 32 bytes of controller RAM with the
 * command byte at 0 (commands 20h-3Fh read, 60h-7Fh write); A4h (no
 * password: F1h); A7h/A8h (auxiliary port off/on); A9h and ABh (interface
 * tests: 00h); AAh (self-test: 55h, sets SYS); ADh/AEh (keyboard port
 * off/on); C0h (input port: 80h, keyboard not inhibited); D0h/D1h (output
 * port: bit 0 low resets the system, bit 1 is A20); D2h/D3h (write the
 * keyboard or auxiliary output buffer); D4h (a byte to the auxiliary
 * device: dropped, nothing answers); DDh/DFh (A20 off/on); E0h (test
 * inputs: 00h); F0h-FFh (pulse output port bits 0-3: bit 0 resets);
 * IRQ 1 (keyboard byte, command byte bit 0) and IRQ 12 (auxiliary byte,
 * bit 1) as levels held while the byte waits in the output buffer.
 *
 * The keyboard: a byte written to port 0x60 with no controller command
 * waiting for it goes to the keyboard, which answers FAh (ACK): FFh reset
 * (FAh AAh), FEh resend, F6h/F5h defaults (scanning on/off), F4h enable,
 * F3h typematic, EDh LEDs and F0h scan code set (each with a data byte,
 * ACKed too; F0h's data 1-3 selects a set, 0 has the set sent after the
 * ACK), F2h identify (FAh ABh 83h), EEh echo (EEh), F7h-FDh (ACK,
 * ignored); anything else FEh.
 * A command byte (80h and up) where a data byte was expected starts a new
 * command; invalid data (F0h above 3) is answered FEh. FFh, F6h, F5h and
 * F4h clear the keyboard's queue. The keyboard's bytes wait in its queue
 * (16 bytes; more are dropped) while the keyboard port is off (command
 * byte bit 4) or the output buffer is full. With translation on (command
 * byte bit 6, as after init) the controller turns what the keyboard sends
 * into scan code set 1 terms: the ID's 83h reads 41h and the set numbers
 * 1, 2, 3 read 43h, 41h, 3Fh (its other answers are the same in both).
 *
 * Choices: the state after i8042_init is what a BIOS leaves (command byte
 * 45h: keyboard interrupt, SYS, translation; output port CFh with A20 on;
 * the keyboard scanning, set 2); controller commands not listed above are
 * ignored; a controller command written while another waits for its data
 * byte replaces it; controller answers overwrite a byte not yet read (as
 * the AT reference warns); reads of port 0x60 with the buffer empty return
 * the last byte again; the output port's bit 0 reads back 1 (the reset is
 * a pulse); the reset callback comes last, after the device's own state
 * has changed, and may reinitialize the device. A20 is reported
 * (i8042_a20_enabled), not enforced. Each port is one byte wide: bytes of
 * a wider access above the first read 0xFF and are dropped on write. */
#ifndef DEVICES_I8042_H
#define DEVICES_I8042_H

#include "lib/types.h"
#include "devices/irq.h"

#define I8042_DATA_PORT 0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_NR_PORTS 1 /* each of the two */
#define I8042_KBD_QUEUE 16

struct i8042 {
	uint8_t ram[32];        /* controller RAM: byte 0 is the command byte */
	uint8_t outport;        /* output port as written, without bits 4-5 */
	uint8_t obuf;           /* the output buffer */
	bool obf, obf_aux;      /* full; and from the auxiliary port */
	bool a2;                /* the last write went to port 0x64 */
	uint8_t pending;        /* controller command waiting for a data byte, or 0 */
	/* The keyboard. */
	uint8_t kq[I8042_KBD_QUEUE];
	unsigned kq_head, kq_len;
	uint8_t kbd_pending;    /* keyboard command waiting for a data byte, or 0 */
	uint8_t kbd_last;       /* the last byte it sent, for resend */
	bool kbd_scanning;
	uint8_t kbd_leds, kbd_set, kbd_typematic;
	/* Outside. */
	struct irq_line irq1, irq12;
	bool irq1_level, irq12_level;
	void (*reset)(void *ctx);
	void *reset_ctx;
};

/* irq1, irq12 (copied) and reset may be NULL. */
void i8042_init(struct i8042 *k, const struct irq_line *irq1, const struct irq_line *irq12,
		void (*reset)(void *ctx), void *reset_ctx);

/* Port 0x60 and port 0x64: opaque is the struct i8042. */
uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size);
void i8042_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);
uint64_t i8042_status_read(void *opaque, uint64_t offset, unsigned size);
void i8042_command_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

/* Output port bit 1 (the A20 gate). */
bool i8042_a20_enabled(const struct i8042 *k);

#endif
