/* The vCPU scheduler (vm/sched.c, docs/smp.md): which vCPU each physical
 * CPU runs, and how a vCPU on another CPU is told that something arrived.
 *
 * Every vCPU has a home CPU, chosen when its VM starts (the CPU with the
 * fewest vCPUs). A CPU with one vCPU runs it until its VM stops: the vCPU
 * is pinned. A CPU with several time-slices them round robin, a slice of
 * SCHED_SLICE_US bounded by the VMX-preemption timer; a halted vCPU gives
 * its CPU to one that can run. A CPU with two vCPUs that can run while
 * another CPU has none pushes one over: VMCLEAR on the CPU it leaves,
 * VMPTRLD on the one it reaches (SDM Vol. 3C 25.11.1). */
#ifndef VM_SCHED_H
#define VM_SCHED_H

#include "vm/vm.h"

#define SCHED_SLICE_US 10000     /* 10 ms, as a general-purpose OS's tick-based slice */
#define SCHED_MIGRATE_GAP_US 50000 /* a vCPU moves at most once per 50 ms */
#define SCHED_WAKEUP_MIN_RUN_US 500 /* a woken vCPU preempts one that ran this long */
#define SCHED_MAX_PER_CPU (VM_MAX * VM_MAX_VCPUS)

/* Something for v arrived (an interrupt in its APIC, a SIPI, a stop): make
 * it look before its next VM entry. If it is in the guest on another CPU,
 * or that CPU sleeps, an IPI (HOST_WAKE_VECTOR) brings it out: external-
 * interrupt exiting makes the IPI a VM exit (SDM 25.6.1). */
void vcpu_kick(struct vcpu *v);
void vm_kick_all(struct vm *vm);

/* The vCPU this CPU is running (its VMCS current), or NULL. */
struct vcpu *vcpu_running_here(void);

/* For the run loop (vmx/exit.c), called with the VM lock held. */
/* Should v give its CPU to another vCPU now? */
bool sched_should_yield(struct vcpu *v);
/* Host TSC by which the run loop must be back, for the scheduler (the end
 * of v's slice, another halted vCPU's device deadline), or UINT64_MAX
 * when v has the CPU alone. */
uint64_t sched_return_by(struct vcpu *v);
/* The boot CPU polls the console between exits, without any VM lock held
 * (the shell may stop or inspect any VM). Due: it is time to; poll: do it,
 * true if the scheduler needs the CPU back (a VM stopped or was queued). */
bool sched_poll_due(struct vcpu *v);
bool sched_poll(void);

/* Put the VM's vCPUs on CPUs and start it. */
void sched_start_vm(struct vm *vm);
/* All of the VM's vCPUs are off their CPUs, their VMCSs clear: it may be
 * destroyed. */
bool sched_vm_retired(const struct vm *vm);

/* The boot CPU's loop: run its vCPUs until attention() says the VM table
 * has work (a VM to report, one to start). Polls the console meanwhile. */
void sched_run_bsp(bool (*attention)(void), void (*console_poll)(void));
/* An AP's loop: run its vCPUs while it has any that can run; returns when
 * it has none (the caller sleeps until an IPI). */
void sched_run_ap(void);
bool sched_has_work(void);

/* For the shell: print the vCPU's registers, asking its CPU if its VMCS
 * is active there. */
void sched_dump_vcpu(struct vcpu *v);

#endif
