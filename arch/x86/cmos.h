/* The host's real-time clock, read once at boot, so each VM's RTC starts at
 * the real date. */
#ifndef ARCH_X86_CMOS_H
#define ARCH_X86_CMOS_H

#include "lib/types.h"

/* Seconds since 1970-01-01 00:00 UTC (the RTC is taken to hold UTC), or 0
 * if the clock could not be read. */
int64_t host_rtc_read(void);

#endif
