/* The host's time-stamp counter frequency: the time base of every virtual
 * clock (guest TSC = host TSC + offset, SDM 26.6.5). */
#ifndef ARCH_X86_TSC_H
#define ARCH_X86_TSC_H

#include "lib/types.h"

extern uint64_t tsc_hz;

/* From CPUID leaf 15H or 16H when the CPU reports it, else measured against
 * the 8254 PIT channel 2. Prints what it found and how. */
void tsc_calibrate(void);

#endif
