/* Fakes for the hardware accessors and the few hypervisor functions that
 * vmx/handlers.c, vmx/exit.c and vmx/msr.c call but that cannot run on the
 * host (see fake_hw.h). Linked only into test_exit_table. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "tests/unit/fake_hw.h"
#include "vmx/vmcs.h"
#include "vmx/vmcs_diag.h"
#include "vmx/vmx.h"
#include "vm/vm.h"
#include "vm/sched.h"
#include "vmx/selftest.h"
#include "arch/x86/percpu.h"
#include "arch/x86/lapic_host.h"
#include "arch/x86/mm.h"
#include "lib/printf.h"
#include "lib/string.h"

/* --- VMCS --- */
#define FAKE_VMCS_SLOTS 256

static struct {
	uint32_t field;
	uint64_t value;
	bool used, written;
} vmcs[FAKE_VMCS_SLOTS];

unsigned fake_vmcs_bad_accesses;
uint32_t fake_vmcs_last_bad_field;

static unsigned vmcs_slot(uint32_t field)
{
	for (unsigned i = 0; i < FAKE_VMCS_SLOTS; i++)
		if (vmcs[i].used && vmcs[i].field == field)
			return i;
	for (unsigned i = 0; i < FAKE_VMCS_SLOTS; i++)
		if (!vmcs[i].used) {
			vmcs[i].used = true;
			vmcs[i].field = field;
			vmcs[i].value = 0;
			vmcs[i].written = false;
			return i;
		}
	fprintf(stderr, "fake VMCS full\n");
	abort();
}

/* Width from bits 14:13 of the encoding: 16-bit, 64-bit, 32-bit, natural. */
static uint64_t width_mask(uint32_t field)
{
	switch ((field >> 13) & 3) {
	case 0: return 0xffff;
	case 2: return 0xffffffff;
	default: return ~0ULL;
	}
}

static void bad_access(uint32_t field)
{
	fake_vmcs_bad_accesses++;
	fake_vmcs_last_bad_field = field;
}

uint64_t vmcs_read(uint32_t field)
{
	if (!vmcs_field_name(field)) {
		bad_access(field);
		return 0;
	}
	return vmcs[vmcs_slot(field)].value;
}

void vmcs_write(uint32_t field, uint64_t v)
{
	/* Type in bits 11:10; 1 is the read-only VM-exit information area. */
	if (!vmcs_field_name(field) || ((field >> 10) & 3) == 1) {
		bad_access(field);
		return;
	}
	unsigned i = vmcs_slot(field);
	vmcs[i].value = v & width_mask(field);
	vmcs[i].written = true;
}

void fake_vmcs_set(uint32_t field, uint64_t value)
{
	vmcs[vmcs_slot(field)].value = value & width_mask(field);
}

uint64_t fake_vmcs_get(uint32_t field)
{
	return vmcs[vmcs_slot(field)].value;
}

bool fake_vmcs_written(uint32_t field)
{
	return vmcs[vmcs_slot(field)].written;
}

unsigned fake_vmcs_dump_calls;

void vmcs_dump(void)
{
	fake_vmcs_dump_calls++;
}

/* --- CPUID --- */
#define FAKE_CPUID_SLOTS 64

struct fake_cpuid_entry {
	uint32_t leaf, subleaf;
	struct cpuid_regs r;
};
static struct fake_cpuid_entry cpuid_table[FAKE_CPUID_SLOTS];
static unsigned cpuid_count_used;

void fake_cpuid_set(uint32_t leaf, uint32_t subleaf, uint32_t eax, uint32_t ebx, uint32_t ecx,
		    uint32_t edx)
{
	for (unsigned i = 0; i < cpuid_count_used; i++)
		if (cpuid_table[i].leaf == leaf && cpuid_table[i].subleaf == subleaf) {
			cpuid_table[i].r = (struct cpuid_regs){ eax, ebx, ecx, edx };
			return;
		}
	if (cpuid_count_used == FAKE_CPUID_SLOTS)
		abort();
	cpuid_table[cpuid_count_used++] =
		(struct fake_cpuid_entry){ leaf, subleaf, { eax, ebx, ecx, edx } };
}

void cpuid_count(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
	for (unsigned i = 0; i < cpuid_count_used; i++)
		if (cpuid_table[i].leaf == leaf && cpuid_table[i].subleaf == subleaf) {
			*r = cpuid_table[i].r;
			return;
		}
	*r = (struct cpuid_regs){ 0, 0, 0, 0 };
}

/* --- MSRs --- */
#define FAKE_MSR_SLOTS 64

static struct {
	uint32_t msr;
	uint64_t value;
	unsigned writes;
} msrs[FAKE_MSR_SLOTS];
static unsigned msr_used;

static unsigned msr_slot(uint32_t msr)
{
	for (unsigned i = 0; i < msr_used; i++)
		if (msrs[i].msr == msr)
			return i;
	if (msr_used == FAKE_MSR_SLOTS)
		abort();
	msrs[msr_used].msr = msr;
	msrs[msr_used].value = 0;
	msrs[msr_used].writes = 0;
	return msr_used++;
}

void fake_msr_set(uint32_t msr, uint64_t value)
{
	msrs[msr_slot(msr)].value = value;
}

uint64_t fake_msr_get(uint32_t msr)
{
	return msrs[msr_slot(msr)].value;
}

unsigned fake_msr_writes(uint32_t msr)
{
	return msrs[msr_slot(msr)].writes;
}

uint64_t rdmsr(uint32_t msr)
{
	return fake_msr_get(msr);
}

void wrmsr(uint32_t msr, uint64_t v)
{
	unsigned i = msr_slot(msr);
	msrs[i].value = v;
	msrs[i].writes++;
}

/* --- Registers, TSC, XCR0, ports --- */
uint64_t fake_tsc, fake_tsc_step;
uint64_t fake_cr0, fake_cr2, fake_cr3, fake_cr4;
uint64_t fake_xcr0;
unsigned fake_xsetbv_calls;

uint64_t read_cr0(void) { return fake_cr0; }
void write_cr0(uint64_t v) { fake_cr0 = v; }
uint64_t read_cr2(void) { return fake_cr2; }
void write_cr2(uint64_t v) { fake_cr2 = v; }
uint64_t read_cr3(void) { return fake_cr3; }
void write_cr3(uint64_t v) { fake_cr3 = v; }
uint64_t read_cr4(void) { return fake_cr4; }
void write_cr4(uint64_t v) { fake_cr4 = v; }
uint64_t read_rflags(void) { return RFLAGS_FIXED; }

uint64_t rdtsc(void)
{
	uint64_t t = fake_tsc;
	fake_tsc += fake_tsc_step;
	return t;
}

uint64_t xgetbv(uint32_t xcr)
{
	return xcr == 0 ? fake_xcr0 : 0;
}

void xsetbv(uint32_t xcr, uint64_t v)
{
	if (xcr == 0)
		fake_xcr0 = v;
	fake_xsetbv_calls++;
}

/* Debug registers DR0-DR7 (arch/x86/cpu.h maps read_dr/write_dr here). */
uint64_t fake_dr[8];

uint64_t fake_read_dr(unsigned n)
{
	return n < 8 ? fake_dr[n] : 0;
}

void fake_write_dr(unsigned n, uint64_t v)
{
	if (n < 8)
		fake_dr[n] = v;
}

/* The hypervisor's own ports are not the guest's: tests see no host I/O. */
void outb(uint16_t port, uint8_t v) { (void)port; (void)v; }
void outw(uint16_t port, uint16_t v) { (void)port; (void)v; }
void outl(uint16_t port, uint32_t v) { (void)port; (void)v; }
uint8_t inb(uint16_t port) { (void)port; return 0xff; }

void cpu_halt_forever(void)
{
	abort();
}

void sgdt(struct descriptor_table_ptr *p) { memset(p, 0, sizeof(*p)); }
void sidt(struct descriptor_table_ptr *p) { memset(p, 0, sizeof(*p)); }
uint16_t str_selector(void) { return 0; }

/* --- The rest of the hypervisor that exit.c and handlers.c call --- */

/* As vmx/vmcs_setup.c computes them (that file is hardware-only). */
uint64_t vmx_cr0_owned_bits(void)
{
	return (vmx_caps.cr0_fixed0 | ~vmx_caps.cr0_fixed1) & ~(CR0_PE | CR0_PG);
}

uint64_t vmx_cr4_owned_bits(void)
{
	return vmx_caps.cr4_fixed0 | ~vmx_caps.cr4_fixed1;
}

int (*fake_vmx_enter_hook)(struct vcpu *v, unsigned call);
unsigned fake_vmx_enter_calls;

int vmx_enter(struct vcpu *v)
{
	unsigned call = fake_vmx_enter_calls++;
	return fake_vmx_enter_hook ? fake_vmx_enter_hook(v, call) : 2;
}

void vmx_exit_stub(void)
{
}

/* vmx/vmx.c: INVEPT/INVVPID; counted so tests see an EPT change invalidate. */
unsigned fake_tlb_invalidations;
void vmx_invalidate_vm_tlbs(uint64_t eptp, uint16_t vpid)
{
	(void)eptp;
	(void)vpid;
	fake_tlb_invalidations++;
}

unsigned fake_vm_stop_calls, fake_vm_print_stats_calls;

void vm_print_stats(const struct vm *vm)
{
	(void)vm;
	fake_vm_print_stats_calls++;
}

/* As vm/vm.c does, without the console line buffer. */
void vm_stop(struct vm *vm, bool failed, const char *fmt, ...)
{
	va_list ap;
	fake_vm_stop_calls++;
	if (vm->state == VM_STATE_STOPPED)
		return;
	va_start(ap, fmt);
	hv_vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	vm->state = VM_STATE_STOPPED;
	vm->failed = failed;
}

void fake_hw_reset(void)
{
	memset(vmcs, 0, sizeof(vmcs));
	fake_vmcs_bad_accesses = 0;
	fake_vmcs_last_bad_field = 0;
	fake_vmcs_dump_calls = 0;
	memset(cpuid_table, 0, sizeof(cpuid_table));
	cpuid_count_used = 0;
	memset(msrs, 0, sizeof(msrs));
	msr_used = 0;
	fake_tsc = fake_tsc_step = 0;
	fake_cr0 = fake_cr2 = fake_cr3 = fake_cr4 = 0;
	fake_xcr0 = 0;
	fake_xsetbv_calls = 0;
	memset(fake_dr, 0, sizeof(fake_dr));
	fake_vm_print_stats_calls = 0;
	fake_vmx_enter_hook = NULL;
	fake_vmx_enter_calls = 0;
	fake_vm_stop_calls = 0;
}

/* The host TSC rate arch/x86/tsc.c would measure. */
uint64_t tsc_hz = 2000000000ULL;

/* vm/vm.c is not built for the host: a reset request stops the test VM. */
bool vm_reset(struct vm *vm)
{
	vm_stop(vm, false, "reset requested");
	return false;
}

/* The physical console's receive side: bytes a test "types". */
static uint8_t serial_in[64];
static unsigned serial_in_head, serial_in_count;

void fake_serial_type(const char *s)
{
	for (; *s && serial_in_count < sizeof(serial_in); s++)
		serial_in[(serial_in_head + serial_in_count++) % sizeof(serial_in)] = (uint8_t)*s;
}

bool serial_rx_ready(void)
{
	return serial_in_count != 0;
}

uint8_t serial_getc(void)
{
	if (!serial_in_count)
		return 0xff;
	uint8_t c = serial_in[serial_in_head];
	serial_in_head = (serial_in_head + 1) % sizeof(serial_in);
	serial_in_count--;
	return c;
}

/* --- One CPU, no scheduler: what vm/sched.c and arch/x86 give the run loop
 * in the hypervisor. The vCPU under test is alone on its CPU (pinned), so
 * it never yields and only its own deadlines count. --- */
static struct cpu fake_cpu;

struct cpu *this_cpu(void)
{
	return &fake_cpu;
}

void vcpu_kick(struct vcpu *v)
{
	v->events_waiting = true;
	__atomic_store_n(&v->kicked, 1, __ATOMIC_SEQ_CST);
}

struct vcpu *vcpu_running_here(void)
{
	return fake_cpu.current_vcpu;
}

bool sched_should_yield(struct vcpu *v)
{
	(void)v;
	return false;
}

uint64_t sched_return_by(struct vcpu *v)
{
	(void)v;
	return UINT64_MAX;
}

bool sched_poll_due(struct vcpu *v)
{
	(void)v;
	return false;
}

bool sched_poll(void)
{
	return false;
}

void lapic_host_eoi(void)
{
}

/* The VMCS is the fake's: a (re)setup is not exercised by these tests. */
bool vmx_vcpu_setup(struct vcpu *v, const struct guest_entry *e)
{
	(void)v;
	(void)e;
	return true;
}

bool vmx_selftest_break(const char *name)
{
	(void)name;
	return false;
}

const char *vmx_selftest_names(void)
{
	return "";
}

/* No x87/SSE state to move between vCPUs in these tests. */
void xsave64(void *area, uint64_t mask)
{
	(void)area;
	(void)mask;
}

void xrstor64(const void *area, uint64_t mask)
{
	(void)area;
	(void)mask;
}

void fxsave64(void *area)
{
	(void)area;
}

void fxrstor64(const void *area)
{
	(void)area;
}

/* The page allocator, for the per-VM pages apicv_decide takes (never
 * freed: each test's VM is torn down with its process). */
void *page_alloc(uint64_t npages, uint64_t align)
{
	return aligned_alloc((size_t)align, (size_t)(npages * PAGE_SIZE));
}
