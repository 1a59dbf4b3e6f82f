/* Fake hardware for host unit tests of the exit handlers (vmx/handlers.c,
 * vmx/exit.c, vmx/msr.c): a VMCS that stores values by encoding, a CPUID
 * table, MSRs, a TSC, control registers and XCR0, all settable by tests.
 * The accessors themselves are declared by arch/x86/cpu.h and vmx/vmcs.h
 * under HV_HOSTED and defined in fake_hw.c. */
#ifndef TESTS_UNIT_FAKE_HW_H
#define TESTS_UNIT_FAKE_HW_H

#include "lib/types.h"
#include "arch/x86/cpu.h"

struct vcpu;

/* Forget every value, counter and hook. */
void fake_hw_reset(void);

/* --- VMCS. vmcs_read/vmcs_write truncate to the field's width (SDM 25.11.2)
 * and count as a bad access (the panic on real hardware) any encoding
 * vmx/vmcs_fields.def does not know, and any VMWRITE to a read-only
 * VM-exit information field. The fake_vmcs_* functions below are the
 * test's back door and count nothing. */
void fake_vmcs_set(uint32_t field, uint64_t value);
uint64_t fake_vmcs_get(uint32_t field);
bool fake_vmcs_written(uint32_t field); /* by vmcs_write since the last reset */
extern unsigned fake_vmcs_bad_accesses;
extern uint32_t fake_vmcs_last_bad_field;

/* --- CPUID: leaves not set read as all zeros. */
void fake_cpuid_set(uint32_t leaf, uint32_t subleaf, uint32_t eax, uint32_t ebx, uint32_t ecx,
		    uint32_t edx);

/* --- MSRs: unset ones read as 0. */
void fake_msr_set(uint32_t msr, uint64_t value);
uint64_t fake_msr_get(uint32_t msr);
unsigned fake_msr_writes(uint32_t msr); /* wrmsr calls since the last reset */

/* --- Other state. rdtsc() returns fake_tsc and then adds fake_tsc_step. */
extern uint64_t fake_tsc, fake_tsc_step;
extern uint64_t fake_cr0, fake_cr2, fake_cr3, fake_cr4;
extern uint64_t fake_xcr0;
extern unsigned fake_xsetbv_calls;
extern uint64_t fake_dr[8]; /* DR0-DR7 */

/* --- vmx_enter: calls the hook with the number of the call (0, 1, ...);
 * without a hook it returns 2 (VMfailInvalid). */
extern int (*fake_vmx_enter_hook)(struct vcpu *v, unsigned call);
extern unsigned fake_vmx_enter_calls;
extern unsigned fake_tlb_invalidations; /* vmx_invalidate_vm_tlbs calls */

/* --- vm_stop: counts calls; the VM records the message as vm.c does.
 * vm_print_stats: counts calls, prints nothing. */
extern unsigned fake_vm_stop_calls, fake_vm_print_stats_calls;
extern unsigned fake_vmcs_dump_calls;

/* Bytes arriving on the physical console (serial_rx_ready/serial_getc). */
void fake_serial_type(const char *s);

#endif
