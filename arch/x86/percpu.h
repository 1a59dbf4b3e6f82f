/* Per-CPU state. Each CPU has one `struct cpu`, found through its GS base:
 * IA32_GS_BASE (SDM Vol. 3A 3.4.4.1, MSR C0000101H) holds the address of
 * its own struct, whose first field points at itself, so `mov %gs:0`
 * gives this CPU's struct in one instruction. VM exits load GS base from
 * the VMCS host-state area (SDM 28.5.2), so vmcs_setup.c writes it there.
 * The BSP is cpus[0]; the APs follow in MADT order (arch/x86/smp.c). */
#ifndef ARCH_X86_PERCPU_H
#define ARCH_X86_PERCPU_H

#include "lib/types.h"
#include "arch/x86/desc.h"
#include "lib/spinlock.h"

#define MAX_CPUS 16 /* ACPI_HOST_MAX_CPUS: the MADT parser keeps as many */
#define CPU_RQ_MAX 32 /* vCPUs one CPU can hold: VM_MAX x VM_MAX_VCPUS */

struct vcpu;
struct cpu;

/* Work the BSP hands to a parked CPU (smp_call): posted and done are
 * sequence numbers; a call is pending while they differ. */
typedef void (*cpu_work_fn)(struct cpu *c, void *arg);
struct cpu_mailbox {
	cpu_work_fn fn;
	void *arg;
	uint32_t posted; /* written by the caller, release */
	uint32_t done;   /* written by the CPU when fn returned, release */
	struct ticket_lock lock; /* one caller at a time */
};

enum cpu_state { CPU_STARTING, CPU_ONLINE, CPU_FAILED };

struct cpu {
	struct cpu *self;       /* offset 0: %gs:0 */
	unsigned index;         /* 0 = BSP, 1.. = APs */
	uint32_t apic_id;       /* local APIC ID (from the MADT, checked by the CPU) */
	uint32_t state;         /* enum cpu_state, set by the CPU itself (release) */
	uint64_t gdt[GDT_ENTRIES] ALIGNED(16); /* its own GDT: its TSS descriptor goes busy on LTR */
	struct tss64 tss;       /* its own TSS: IST stacks for #DF and NMI */
	void *stack_top;        /* the stack it runs on (the BSP: boot_stack_top) */
	void *ist_top[2];       /* its #DF and NMI stacks (TSS IST1, IST2) */
	void *vmxon_region;     /* its VMXON region (SDM 25.11.5) */
	struct vcpu *current_vcpu; /* the vCPU whose VMCS, MSRs and FPU state it holds, or NULL */
	struct vcpu *running_vcpu; /* the vCPU whose run loop it is in, or NULL */
	struct cpu_mailbox mailbox;

	/* The vCPUs it runs (vm/sched.c): its run queue, under rq_lock. */
	struct ticket_lock rq_lock;
	struct vcpu *rq[CPU_RQ_MAX];
	unsigned rq_len, rq_next;
	/* For kicks (vcpu_kick): a vCPU of this CPU is in the guest; the CPU
	 * sleeps in HLT; kicks counts kicks to its vCPUs, so an entry that
	 * raced with one backs out. */
	uint32_t in_guest, sleeping, kicks;
	uint64_t next_poll;     /* the boot CPU: host TSC of the next console poll */
	uint64_t hw_xcr0;       /* XCR0 as the hardware holds it now (vmx/msr.c) */
	uint64_t host_xcr0;     /* XCR0 as the hypervisor runs with it */
};

extern struct cpu cpus[MAX_CPUS];
extern unsigned cpu_count; /* CPUs with a struct cpu in use (online or starting) */

#ifndef HV_HOSTED
static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}
#else
struct cpu *this_cpu(void);
#endif

/* Point GS base at c (c->self is set first). */
void percpu_set_gs(struct cpu *c);

#endif
