/* Events for the guest: exceptions, external interrupts and NMIs, injected
 * at VM entry when the guest can take them (SDM Vol. 3C 27.6), otherwise
 * waited for with interrupt-window and NMI-window exiting (SDM 25.6.2). */
#ifndef VMX_EVENTS_H
#define VMX_EVENTS_H

#include "lib/types.h"
#include "vm/vm.h"

/* Fault-like: deliver at the next entry, RIP unchanged. */
void vcpu_inject_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error_code);
/* An external interrupt (vector 32..255) from a virtual interrupt source. */
void vcpu_queue_interrupt(struct vcpu *v, unsigned vector);
void vcpu_queue_nmi(struct vcpu *v);
/* Something is pending that would wake a halted vCPU. */
bool vcpu_has_wake_event(const struct vcpu *v);

/* An exit interrupted the delivery of an event: deliver it again (SDM 28.2.4). */
void events_requeue_vectoring(struct vcpu *v, uint32_t idt_vectoring_info);
/* Just before VM entry: inject what can be injected, arm windows for the rest.
 * The common case, nothing pending, costs one test (events_pending). */
void events_before_entry_slow(struct vcpu *v);
static inline bool events_pending(const struct vcpu *v)
{
	return v->event.valid || v->events_waiting;
}
/* The window exits: the guest can now take what was waiting. */
void events_interrupt_window(struct vcpu *v);
void events_nmi_window(struct vcpu *v);

/* Set or clear a primary processor-based control, VMWRITE only on change. */
void vcpu_set_cpu_control(struct vcpu *v, uint32_t bit, bool on);

#endif
