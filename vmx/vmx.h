/* Turning VT-x on (SDM Vol. 3C 24.6-24.8) and running vCPUs. */
#ifndef VMX_VMX_H
#define VMX_VMX_H

#include "lib/types.h"
#include "vmx/vmx_caps.h"

struct vcpu;
struct vm;

enum vmx_support {
	VMX_OK,
	VMX_NO_CPUID_FLAG,      /* CPUID.1:ECX.VMX = 0 */
	VMX_LOCKED_OFF,         /* IA32_FEATURE_CONTROL locked without VMX */
	VMX_MISSING_FEATURE,    /* VMX, but without something we require */
};

/* Check CPUID and IA32_FEATURE_CONTROL (setting and locking it when the
 * firmware left it unlocked), read the capability MSRs, print the features,
 * and say in one line what is missing when something is. */
enum vmx_support vmx_probe(void);
/* VMXON on this CPU, with its own VMXON region (this_cpu()->vmxon_region,
 * allocated here if the caller left it NULL). */
bool vmx_enable(void);
/* On an AP, after the BSP's vmx_probe: check this CPU's CPUID and
 * IA32_FEATURE_CONTROL (per logical processor), that its VMCS revision is
 * the BSP's, and VMXON. NULL, or what went wrong. */
const char *vmx_enable_ap(void);

/* Build the VMCS of a vCPU for a guest entered in 32-bit protected mode with
 * paging off (the Multiboot state) at rip, with eax/ebx as given. */
struct guest_entry;
bool vmx_vcpu_setup(struct vcpu *v, const struct guest_entry *e);
void vmx_invalidate_vm_tlbs(uint64_t eptp, uint16_t vpid);
/* VMCLEAR the vCPU's VMCS so its memory may be reused or it may move to
 * another CPU (SDM 25.11.3). */
void vmx_vcpu_release(struct vcpu *v);
/* Make the vCPU's VMCS current on this CPU (VMPTRLD); one arriving from
 * another CPU gets this CPU's host state and fresh TLBs. */
void vmx_vcpu_load(struct vcpu *v);
/* For the shell, whether the vCPU runs or not: print its registers
 * (vcpu_dump), read its RIP. False if it has no VMCS yet (never ran). */
bool vmx_vcpu_dump(struct vcpu *v);
bool vmx_vcpu_rip(struct vcpu *v, uint64_t *rip);
/* Run a vCPU on this CPU, its VMCS current (vmx_vcpu_load), until its VM
 * stops, it waits for a start-up IPI, or the scheduler wants the CPU
 * (vm/sched.h). Takes and releases the VM lock. */
void vmx_vcpu_run(struct vcpu *v);

/* Guest time between VMX-preemption timer exits, in timer ticks: the slice
 * after which the hypervisor gets control back from a busy guest. */
#define VMX_PREEMPTION_SLICE 0x01000000u

uint64_t vmx_cr0_owned_bits(void);
uint64_t vmx_cr4_owned_bits(void);

/* In entry.S. */
int vmx_enter(struct vcpu *v);
void vmx_exit_stub(void);

#endif
