/* The PC's MC146818 real-time clock and its CMOS RAM at ports 0x70 (index;
 * bit 7 masks NMI) and 0x71 (data), on IRQ 8, with the clock kept on the
 * guest's TSC.
 *
 * Sources: Motorola MC146818A datasheet: "Address Map", "Time, Calendar
 * and Alarm Locations", "Registers" (A: UIP, DV2-DV0, RS3-RS0; B: SET,
 * PIE, AIE, UIE, SQWE, DM, 24/12, DSE; C: IRQF, PF, AF, UF; D: VRT),
 * Table 6 "Update Cycle Times" (tBUC = 244 us), "Update Cycle", "Interrupts",
 * "Divider Control"; the IBM PC AT Technical Reference, "CMOS RAM Address
 * Map" (0x10-0x2F, checksum at 0x2E-0x2F, century at 0x32); for
 * 0x34-0x35 (memory above 16 MiB in 64 KiB blocks) the later BIOS
 * convention that QEMU fills and SeaBIOS reads.
 *
 * Emulated: the time and date registers in BCD or binary, 12- or 24-hour
 * (PM in bit 7 of the hour); UIP for the 244 us before each update; SET
 * freezing updates (and clearing UIE, as the datasheet says); the divider
 * (DV = 010 runs; any other value stops the clock; the first update comes
 * half a second after it runs again); the periodic interrupt at the rate
 * register A selects; the alarm with don't-care values 0xC0-0xFF; the
 * update-ended interrupt; register C flags, set whatever the enables, read
 * and cleared together; register D's VRT (always 1); IRQ 8 as a level that
 * is held while IRQF is set (as the chip's IRQ# pin); NVRAM 0x0E-0x7F.
 *
 * How the clock is kept: while it runs, the time is seconds since 1970
 * (rtc_time_to_date) advanced at each second of the divider chain, whose
 * phase comes from the vclock; the time registers always show it in the
 * format register B selects (changing DM or 24/12 converts them). While
 * updates are frozen (SET, or the divider stopped), the time registers are
 * plain bytes read back as written, turned back into a time when the clock
 * runs again (the datasheet's way to set the clock); out-of-range fields
 * are clamped (seconds 0-59 ..., month 1-12, day 1-31) and a day past the
 * end of its month rolls into the next (February 30 is March 1 or 2). A
 * write to a time register while the clock runs takes effect at once. The
 * day of the week (1 = Sunday) follows the date; once a guest writes it,
 * it keeps the offset the guest gave it (as the chip, which only counts).
 *
 * Not emulated: the square-wave output (SQWE stored); daylight saving
 * (DSE stored, no change of hour); the 1984 us update cycle itself (an
 * update is instantaneous at the end of the UIP window); time bases other
 * than 32.768 kHz. Years run from 0000 to 9999 through the century byte
 * (0x32, in the format of the other registers, following the clock as a
 * BIOS keeps it) and wrap from 9999 to 0000.
 *
 * NVRAM at creation (other bytes 0): 0x14 equipment = 0x02 (math
 * coprocessor; no floppy; EGA/VGA); 0x15-0x16 base memory in KiB (640, or
 * less with less RAM); 0x17-0x18 and 0x30-0x31 memory above 1 MiB in KiB,
 * at most 0xFFFF; 0x34-0x35 memory from 16 MiB up to 4 GiB in 64 KiB
 * units, at most 0xFFFF (RAM is taken as one range from address 0); the
 * checksum of 0x10-0x2D at 0x2E (high byte) and 0x2F.
 *
 * Bus accesses: reads of port 0x70 return 0xFF (it is write-only); an
 * access of n bytes acts as n byte accesses to consecutive ports, low byte
 * first; bytes outside the two ports read 0xFF and are dropped on write.
 * A vclock with tsc_hz 0 never advances; tsc_hz is assumed below 500 THz;
 * a vclock that goes back is held where it was. */
#ifndef DEVICES_RTC_CMOS_H
#define DEVICES_RTC_CMOS_H

#include "lib/types.h"
#include "lib/muldiv.h"
#include "devices/irq.h"

#define RTC_BASE 0x70
#define RTC_NR_PORTS 2
#define RTC_CMOS_SIZE 128
#define RTC_HZ 32768u              /* the time base: 32.768 kHz */

/* The times the clock can show: 0000-01-01 00:00:00 to 9999-12-31 23:59:59. */
#define RTC_TIME_MIN (-62167219200LL)
#define RTC_TIME_MAX 253402300799LL

/* A broken-down date, proleptic Gregorian, no time zone. */
struct rtc_date {
	int year;          /* 0-9999 */
	unsigned month;    /* 1-12 */
	unsigned day;      /* 1-31 */
	unsigned hour;     /* 0-23 */
	unsigned minute;   /* 0-59 */
	unsigned second;   /* 0-59 */
	unsigned weekday;  /* 0 = Sunday */
};

/* Seconds since 1970-01-01 00:00:00 to a date and back. The first clamps
 * t to [RTC_TIME_MIN, RTC_TIME_MAX]; the second clamps each field to its
 * range (year 0-9999, month 1-12, day 1-31, ...), lets a day past the end
 * of its month roll over, and ignores weekday. */
void rtc_time_to_date(int64_t t, struct rtc_date *d);
int64_t rtc_date_to_time(const struct rtc_date *d);

struct rtc_cmos {
	uint8_t cmos[RTC_CMOS_SIZE]; /* registers and NVRAM, as the guest reads them */
	uint8_t index;               /* last byte written to port 0x70 */
	struct vclock clock;
	struct irq_line irq;
	bool irq_level;
	int64_t time;                /* the clock at the last update (while it runs) */
	uint8_t weekday_offset;      /* the guest's day of week minus the real one */
	bool weekday_written;        /* register 6 written since the time was last taken */
	bool running;                /* the divider chain runs (DV = 010) */
	uint64_t origin;             /* vclock time at which ... */
	uint64_t origin_cycle;       /* ... the divider chain was at this 32.768 kHz cycle */
	uint64_t done_cycle;         /* divider cycles whose events are processed */
	uint64_t last_tsc;           /* the latest vclock time seen */
};

/* clock and irq8 are copied; irq8 may be NULL. epoch_seconds: the wall
 * clock (seconds since 1970, the zone the guest expects) at the vclock's
 * current time; ram_bytes: the guest's RAM for the memory-size bytes. */
void rtc_cmos_init(struct rtc_cmos *rtc, const struct vclock *clock, const struct irq_line *irq8,
		   int64_t epoch_seconds, uint64_t ram_bytes);

/* Ports 0x70-0x71: opaque is the struct rtc_cmos. */
uint64_t rtc_read(void *opaque, uint64_t offset, unsigned size);
void rtc_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

/* The guest-TSC time of the next event that can raise IRQ 8 (a periodic
 * tick with PIE, an update with UIE or AIE), or VCLOCK_NEVER (also while
 * IRQ 8 is already raised: nothing changes until register C is read). */
uint64_t rtc_next_deadline(const struct rtc_cmos *rtc);
/* Catch up to vclock_now: updates, flags, IRQ 8. */
void rtc_update(struct rtc_cmos *rtc);

/* Port 0x70 bit 7 as last written: NMIs masked. */
bool rtc_nmi_masked(const struct rtc_cmos *rtc);

#endif
