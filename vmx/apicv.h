/* APIC virtualization (SDM Vol. 3C chapter 30): the CPU keeps the guest's
 * TPR, IRR and ISR in the virtual-APIC page, which is the local APIC
 * model's own register page (devices/lapic.h), delivers its interrupts
 * (virtual-interrupt delivery), completes edge-triggered EOIs and serves
 * register reads without a VM exit. What it cannot do alone comes to the
 * model: APIC-access exits (emulated as MMIO), APIC-write exits (side
 * effects of a write already in the page), EOI-induced exits (EOIs of
 * level-triggered vectors) and the x2APIC MSRs the MSR bitmap intercepts.
 * Used per VM when the CPU offers every piece (vmx_apicv_missing) and the
 * configuration does not say apicv=no; otherwise the model runs alone, as
 * before, with every access exiting. */
#ifndef VMX_APICV_H
#define VMX_APICV_H

#include "lib/types.h"

struct vm;
struct vcpu;

/* Decide once, before the VM's first VMCS is built, and say it. */
void apicv_decide(struct vm *vm, bool wanted);
/* The control bits APIC virtualization adds or removes (primary, secondary). */
void apicv_controls(const struct vcpu *v, uint32_t *cpu_set, uint32_t *cpu_clear, uint32_t *sec_set);
/* VMCS fields of a new VMCS: virtual-APIC page, APIC-access address, TPR
 * threshold, EOI-exit bitmap, guest interrupt status, MSR bitmap. */
void apicv_setup_vmcs(struct vcpu *v);
/* IA32_APIC_BASE changed: switch between virtualizing the xAPIC page and
 * the x2APIC MSRs (the two controls exclude each other, SDM 27.2.1.1). */
void apicv_mode_changed(struct vcpu *v);
/* Before VM entry, after the model changed: RVI/SVI from the page, the
 * EOI-exit bitmap from the TMR, and a halted vCPU woken for a deliverable
 * virtual interrupt. */
void apicv_before_entry(struct vcpu *v);

#endif
