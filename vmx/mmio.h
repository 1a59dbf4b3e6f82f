/* Emulating the guest instruction that touched guest-physical memory where
 * there is no RAM (a device's MMIO, or nothing), after an EPT violation. */
#ifndef VMX_MMIO_H
#define VMX_MMIO_H

#include "vmx/exit.h"

/* Decode and carry out the instruction at the guest's RIP whose access to
 * e->guest_physical caused the exit. Completes it (RIP advanced, or for a
 * REP string instruction cut short, registers updated and RIP kept), injects
 * the fault the guest would have seen (#PF, #GP), or stops the VM naming the
 * instruction bytes when it cannot be emulated. */
void mmio_emulate(struct vcpu *v, const struct vmexit *e);

#endif
