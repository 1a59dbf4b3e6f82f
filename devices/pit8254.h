/* The PC's 8254 programmable interval timer at ports 0x40-0x43, clocked at
 * 1.193182 MHz from the guest's TSC, and system control port B (port 0x61)
 * with channel 2's gate and output.
 *
 * Sources: Intel 8254 Programmable Interval Timer datasheet (order number
 * 231164): "Control Word Format", "Write Operations", "Read Operations"
 * (counter latch, read-back command, status byte), "Mode Definitions",
 * the tables "Minimum and Maximum Initial Counts" and "Gate Pin
 * Operations Summary"; IBM PC AT Technical Reference, "System Timers" and
 * port 61h; Intel 82371AB (PIIX4) datasheet, 4.2.4.1 "NMISC - NMI Status
 * and Control Register" (port 61h bits, the refresh toggle).
 *
 * Emulated: channels 0, 1 and 2 in every mode (0 interrupt on terminal
 * count, 1 hardware one-shot, 2 rate generator, 3 square wave, 4 software
 * strobe, 5 hardware strobe); LSB, MSB and LSB-then-MSB access with
 * separate read and write sequences; the counter latch command; the
 * read-back command (count and status); BCD counting; the null count flag;
 * a new count during counting as the datasheet says for each mode;
 * channel 0's OUT on an irq_line (IRQ 0); channel 2's GATE and OUT through
 * port 0x61.
 *
 * Time: tick k of the PIT clock is the k-th 1/1193182 s of the vclock,
 * counted from vclock time 0, so periodic modes never drift however often
 * the hypervisor calls in. pit_update reports channel 0's output to the
 * line: the level it has now, with a pulse (a low then a high) in between
 * if one or more rising edges happened since the last call; several
 * periods missed are coalesced into one edge, as the PIC would latch them,
 * and counted exactly in out0_edges.
 * pit_next_deadline gives the guest-TSC time of the next rising edge of
 * OUT0 (the edge the PIC latches), or VCLOCK_NEVER.
 *
 * Choices where the datasheet leaves a result open:
 * - After pit8254_init (the chip's power-up state is undefined) each
 *   channel is as after a control word for mode 3, LSB then MSB, binary,
 *   with no count: OUT high, not counting; init raises irq0 to match.
 *   Gates 0 and 1 are high (tied on a PC), gate 2 low (port 0x61 bit 0
 *   clear).
 * - A count of 1 in modes 2 and 3 (below the minimum of 2) counts as 2.
 * - BCD digits above 9 count at face value and the count is taken modulo
 *   10000 (0 is 10^4, as the datasheet says).
 * - The counting element read before any count was loaded after a control
 *   word shows the value it had when the control word came.
 * - Port 0x43 reads 0xFF (the 8254 does not drive the bus for it).
 * - Port 0x61: bits 3-0 read back as written (bit 0 gate 2, bit 1 speaker
 *   data, bits 2-3 NMI enables: stored only, no NMI sources); bit 4 toggles
 *   every 18 PIT clocks (15.09 us, the refresh period); bit 5 is OUT2; bits
 *   6-7 (NMI sources) read 0. The speaker is not emulated.
 * - Bus accesses: an access of n bytes acts as n byte accesses to
 *   consecutive ports, low byte first; bytes outside the ports read 0xFF
 *   and are dropped on write.
 * - A vclock with tsc_hz 0 never advances; tsc_hz is assumed below 15 THz
 *   (the conversions split seconds from fractions to stay in 64 bits). The
 *   PIT clock stops after 2^62 ticks (122,000 years); a vclock that goes
 *   back is held where it was. */
#ifndef DEVICES_PIT8254_H
#define DEVICES_PIT8254_H

#include "lib/types.h"
#include "lib/muldiv.h"
#include "devices/irq.h"

#define PIT_BASE 0x40
#define PIT_NR_PORTS 4
#define PIT_PORT61 0x61
#define PIT_PORT61_NR_PORTS 1
#define PIT_HZ 1193182u
#define PIT_NR_CHANNELS 3

struct pit8254_channel {
	uint8_t control;       /* bits 5-0 of the last control word (RW, M, BCD) */
	uint8_t mode;          /* 0-5 */
	bool gate;
	/* The count register (CR): what the guest wrote. */
	uint32_t cr;           /* 1..65536, or 1..10000 in BCD */
	bool cr_valid;         /* a whole count was written since the control word */
	bool cr_waiting;       /* written, not yet in the counting element */
	bool write_msb;        /* the next LSB-then-MSB write byte is the MSB */
	uint8_t cr_lsb;
	/* The counting element (CE), as a function of the tick t. */
	bool armed;            /* CE holds a count (modes 1 and 5: triggered) */
	bool counting;         /* CE advances with CLK */
	uint32_t n;            /* the count CE was loaded with */
	uint64_t t0, e0;       /* CLK pulses counted: e0 + (t - t0) for t >= t0 */
	uint64_t loaded_at;    /* the tick the CR reached CE */
	bool reload_pending;   /* modes 2, 3: CR reaches CE at reload_at */
	bool reload_half;      /* mode 3: ... at the start of a low half-cycle */
	uint64_t reload_at;
	uint16_t hold;         /* CE contents while not armed */
	/* The output latch. */
	bool count_latched, status_latched, read_msb;
	uint16_t latch;
	uint8_t status;
};

struct pit8254 {
	struct pit8254_channel ch[PIT_NR_CHANNELS];
	struct vclock clock;
	struct irq_line irq0;
	uint64_t last_tick;    /* the latest tick seen: time never goes back */
	uint64_t irq_tick;     /* OUT0 is reported to irq0 up to this tick */
	bool irq_level;
	/* Rising edges of OUT0 reported so far, each counted even when
	 * several came between two updates (for a hypervisor that wants to
	 * know how many timer periods a guest missed). */
	uint64_t out0_edges;
	uint8_t port61;        /* bits 3-0 as written */
};

/* clock and irq0 are copied; irq0 may be NULL (OUT0 goes nowhere). */
void pit8254_init(struct pit8254 *pit, const struct vclock *clock, const struct irq_line *irq0);

/* Ports 0x40-0x43 and port 0x61: opaque is the struct pit8254. */
uint64_t pit_read(void *opaque, uint64_t offset, unsigned size);
void pit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);
uint64_t pit_port61_read(void *opaque, uint64_t offset, unsigned size);
void pit_port61_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

/* The guest-TSC time at which pit_update has something to report (the
 * next rising edge of OUT0; in the past if one is unreported), or
 * VCLOCK_NEVER. */
uint64_t pit_next_deadline(const struct pit8254 *pit);
/* Catch up to vclock_now: raise or lower IRQ 0 as OUT0 changed. */
void pit_update(struct pit8254 *pit);

/* OUT of a channel (0-2) now; false for any other channel. */
bool pit_output(struct pit8254 *pit, unsigned channel);

#endif
