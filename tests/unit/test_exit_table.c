/* The exit-reason table (vmx/exit_reasons.c) and the exit handlers
 * (vmx/handlers.c, vmx/exit.c, vmx/msr.c) run against fake hardware
 * (fake_hw.c): a VMCS, CPUID, MSRs and a TSC that the tests set and read. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fake_hw.h"
#include "vmx/events.h"
#include "vm/platform.h"
#include "vmx/exit.h"
#include "vmx/exit_reasons.h"
#include "vmx/hypercall.h"
#include "vmx/msr.h"
#include "vmx/vmcs.h"
#include "vmx/vmcs_diag.h"
#include "vmx/vmx.h"
#include "vm/cpuid_policy.h"
#include "lib/log.h"

extern char test_console[8192];
extern size_t test_console_len;

/* --- The exit-reason table --------------------------------------------------- */

static const struct {
	const char *name;
	unsigned num;
	const char *desc;
} defined_reasons[] = {
#define EXIT_REASON(name, num, desc) { #name, num, desc },
#include "vmx/exit_reasons.def"
#undef EXIT_REASON
};

static bool reason_defined(unsigned num)
{
	for (size_t i = 0; i < ARRAY_SIZE(defined_reasons); i++)
		if (defined_reasons[i].num == num)
			return true;
	return false;
}

static void test_reason_names(void **state)
{
	(void)state;
	assert_true(ARRAY_SIZE(defined_reasons) > 70);
	for (size_t i = 0; i < ARRAY_SIZE(defined_reasons); i++) {
		unsigned num = defined_reasons[i].num;
		assert_true(num < EXIT_REASON_TABLE_SIZE);
		/* One entry per number: a duplicate would silently replace another. */
		for (size_t j = i + 1; j < ARRAY_SIZE(defined_reasons); j++) {
			if (defined_reasons[j].num == num)
				fail_msg("exit reason %u listed twice", num);
			assert_string_not_equal(defined_reasons[i].name, defined_reasons[j].name);
			assert_string_not_equal(defined_reasons[i].desc, defined_reasons[j].desc);
		}
		assert_non_null(exit_reason_name(num));
		assert_string_equal(exit_reason_name(num), defined_reasons[i].name);
		assert_non_null(exit_reason_description(num));
		assert_string_equal(exit_reason_description(num), defined_reasons[i].desc);
		assert_true(strlen(defined_reasons[i].desc) > 0);
	}
	/* Spot checks against the SDM (Vol. 3D Appendix C). */
	assert_string_equal(exit_reason_name(0), "EXCEPTION_NMI");
	assert_string_equal(exit_reason_name(10), "CPUID");
	assert_string_equal(exit_reason_name(30), "IO_INSTRUCTION");
	assert_string_equal(exit_reason_name(48), "EPT_VIOLATION");
	assert_string_equal(exit_reason_name(55), "XSETBV");
	assert_int_equal(EXIT_REASON_EPT_MISCONFIG, 49);
	assert_int_equal(EXIT_REASON_PREEMPTION_TIMER, 52);
}

static void test_undefined_reasons(void **state)
{
	(void)state;
	static const uint32_t undefined[] = { 35, 38, 42, 71 };
	for (size_t i = 0; i < ARRAY_SIZE(undefined); i++) {
		assert_null(exit_reason_name(undefined[i]));
		assert_null(exit_reason_description(undefined[i]));
	}
	static const uint32_t out_of_range[] = { EXIT_REASON_TABLE_SIZE, 80, 81, 0xffff, 0x80000021,
						 UINT32_MAX };
	for (size_t i = 0; i < ARRAY_SIZE(out_of_range); i++) {
		assert_null(exit_reason_name(out_of_range[i]));
		assert_null(exit_reason_description(out_of_range[i]));
	}
	/* Every number below the table size is either defined or NULL. */
	unsigned named = 0;
	for (uint32_t r = 0; r < EXIT_REASON_TABLE_SIZE; r++) {
		assert_int_equal(exit_reason_name(r) != NULL, reason_defined(r));
		named += exit_reason_name(r) != NULL;
	}
	assert_int_equal(named, ARRAY_SIZE(defined_reasons));
}

static void test_vmcs_names(void **state)
{
	(void)state;
	assert_string_equal(vmcs_field_name(VMCS_GUEST_RIP), "GUEST_RIP");
	assert_string_equal(vmcs_field_name(VMCS_EXIT_QUALIFICATION), "EXIT_QUALIFICATION");
	assert_string_equal(vmcs_field_name(VMCS_VIRTUAL_PROCESSOR_ID), "VIRTUAL_PROCESSOR_ID");
	assert_null(vmcs_field_name(0x1234));
	assert_null(vmcs_field_name(0xffffffff));
	assert_string_equal(vm_instruction_error_name(7), "VM entry with invalid control field(s)");
	assert_string_equal(vm_instruction_error_name(28), "invalid operand to INVEPT/INVVPID");
	assert_string_equal(vm_instruction_error_name(0), "unknown VM-instruction error");
	assert_string_equal(vm_instruction_error_name(14), "unknown VM-instruction error");
	assert_string_equal(vm_instruction_error_name(29), "unknown VM-instruction error");
	assert_string_equal(vm_instruction_error_name(UINT32_MAX), "unknown VM-instruction error");
}

/* --- The handler table -------------------------------------------------------- */

static void test_handler_table(void **state)
{
	(void)state;
	static const struct {
		uint32_t reason, needs;
	} handled[] = {
		{ EXIT_REASON_EXCEPTION_NMI, NEED_INTR_INFO },
		{ EXIT_REASON_EXTERNAL_INTERRUPT, NEED_INTR_INFO },
		{ EXIT_REASON_TRIPLE_FAULT, 0 },
		{ EXIT_REASON_CPUID, NEED_INSTRUCTION_LEN },
		{ EXIT_REASON_HLT, NEED_INSTRUCTION_LEN },
		{ EXIT_REASON_INVD, NEED_INSTRUCTION_LEN },
		{ EXIT_REASON_WBINVD, NEED_INSTRUCTION_LEN },
		{ EXIT_REASON_VMCALL, NEED_INSTRUCTION_LEN },
		{ EXIT_REASON_IO_INSTRUCTION, NEED_QUALIFICATION | NEED_INSTRUCTION_LEN },
		{ EXIT_REASON_CR_ACCESS, NEED_QUALIFICATION | NEED_INSTRUCTION_LEN },
		{ EXIT_REASON_RDMSR, NEED_INSTRUCTION_LEN },
		{ EXIT_REASON_WRMSR, NEED_INSTRUCTION_LEN },
		{ EXIT_REASON_XSETBV, NEED_INSTRUCTION_LEN },
		{ EXIT_REASON_MWAIT, 0 },
		{ EXIT_REASON_MONITOR, 0 },
		{ EXIT_REASON_EPT_VIOLATION, NEED_QUALIFICATION | NEED_GUEST_PHYSICAL },
		{ EXIT_REASON_EPT_MISCONFIG, 0 },
		{ EXIT_REASON_PREEMPTION_TIMER, 0 },
		{ EXIT_REASON_APIC_ACCESS, NEED_QUALIFICATION },
		{ EXIT_REASON_APIC_WRITE, NEED_QUALIFICATION },
		{ EXIT_REASON_VIRTUALIZED_EOI, NEED_QUALIFICATION },
		{ EXIT_REASON_VMCLEAR, 0 }, { EXIT_REASON_VMLAUNCH, 0 }, { EXIT_REASON_VMPTRLD, 0 },
		{ EXIT_REASON_VMPTRST, 0 }, { EXIT_REASON_VMREAD, 0 }, { EXIT_REASON_VMRESUME, 0 },
		{ EXIT_REASON_VMWRITE, 0 }, { EXIT_REASON_VMXOFF, 0 }, { EXIT_REASON_VMXON, 0 },
		{ EXIT_REASON_INVEPT, 0 }, { EXIT_REASON_INVVPID, 0 }, { EXIT_REASON_VMFUNC, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(handled); i++) {
		const struct exit_handler *h = &exit_handlers[handled[i].reason];
		if (!h->fn)
			fail_msg("no handler for exit reason %u (%s)", handled[i].reason,
				 exit_reason_name(handled[i].reason));
		/* At least the exit information the handler uses is read for it. */
		if ((h->needs & handled[i].needs) != handled[i].needs)
			fail_msg("handler for %s needs 0x%x, has 0x%x",
				 exit_reason_name(handled[i].reason), handled[i].needs, h->needs);
	}
	/* Only reasons the SDM defines can have a handler. */
	for (uint32_t r = 0; r < EXIT_REASON_TABLE_SIZE; r++)
		if (exit_handlers[r].fn)
			assert_non_null(exit_reason_name(r));
}

/* --- A VM for the handlers ------------------------------------------------------ */

#define GUEST_RAM MiB(1)
#define RIP0 0x100000ULL /* outside RAM on purpose: handlers must not fetch it */
#define CR0_INIT (CR0_PE | CR0_ET | CR0_NE)

struct tvm {
	struct vm vm;
	char tx[64];
	unsigned tx_len;
	/* A test MMIO device at 0xfed00000. */
	uint64_t dev_value;
	uint64_t dev_last_offset, dev_last_value;
	unsigned dev_last_size, dev_writes, dev_reads;
};

static void tvm_tx(void *ctx, uint8_t byte)
{
	struct tvm *t = ctx;
	if (t->tx_len < sizeof(t->tx))
		t->tx[t->tx_len++] = (char)byte;
}

/* As vm/vm.c: the exit port ends the VM with the code written. */
static void tvm_exit_port(void *ctx, uint32_t code)
{
	struct vm *vm = ctx;
	vm->has_exit_code = true;
	vm->exit_code = code;
	vm_stop(vm, false, "guest wrote exit code %u to port 0x%x", code, DEBUG_EXIT_PORT);
}

static uint64_t dev_read(void *opaque, uint64_t offset, unsigned size)
{
	struct tvm *t = opaque;
	t->dev_reads++;
	t->dev_last_offset = offset;
	t->dev_last_size = size;
	return t->dev_value;
}

static void dev_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct tvm *t = opaque;
	t->dev_writes++;
	t->dev_last_offset = offset;
	t->dev_last_size = size;
	t->dev_last_value = value;
}

#define CR4_FIXED0 CR4_VMXE
#define CR4_FIXED1 0x3727ffULL /* a Skylake's: no LA57, UMIP or PKE */
#define CR0_FIXED0 (CR0_PE | CR0_NE | CR0_PG)
#define CR0_FIXED1 0xffffffffULL

static int setup(void **state)
{
	/* struct lapic holds its register page, 4 KiB-aligned. */
	struct tvm *t = aligned_alloc(4096, ALIGN_UP(sizeof(*t), 4096));
	if (!t)
		return -1;
	memset(t, 0, sizeof(*t));
	struct vm *vm = &t->vm;
	fake_hw_reset();
	/* Like any real CPU: basic leaves up to 16H (CPUID.0:EAX). */
	fake_cpuid_set(0, 0, 0x16, 0x756e6547, 0x6c65746e, 0x49656e69);
	/* A flat 32-bit code segment, as the Multiboot entry state has. */
	fake_vmcs_set(VMCS_GUEST_CS_AR_BYTES, 0xc09b);
	test_console_len = 0;
	test_console[0] = '\0';
	log_threshold = LOG_INFO;

	snprintf(vm->name, sizeof(vm->name), "test");
	vm->state = VM_STATE_RUNNING;
	vm->mem = (struct guest_mem){ calloc(1, GUEST_RAM), GUEST_RAM };
	if (!vm->mem.hva)
		return -1;
	bus_init(&vm->pio, "port I/O");
	bus_init(&vm->mmio, "MMIO");
	uart16550_init(&vm->com1, tvm_tx, t);
	vm->exit_port = (struct debug_exit){ tvm_exit_port, vm };
	const struct bus_device devs[] = {
		{ "COM1", UART_COM1_BASE, UART_NR_PORTS, uart16550_read, uart16550_write, &vm->com1 },
		{ "exit port", DEBUG_EXIT_PORT, DEBUG_EXIT_NR_PORTS, NULL, debug_exit_write,
		  &vm->exit_port },
	};
	const struct bus_device mmio_dev = { "test device", 0xfed00000, 0x1000, dev_read, dev_write,
					     t };
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++)
		if (!bus_register(&vm->pio, &devs[i]))
			return -1;
	if (!bus_register(&vm->mmio, &mmio_dev))
		return -1;
	vm->vcpu_count = 1;
	vm->vcpus[0].vm = vm;
	vm->vcpus[0].id = 0;
	vm->vcpus[0].xcr0 = 1;
	struct lapic_config lc = { .apic_id = 0, .bsp = true, .x2apic = true };
	lapic_init(&vm->vcpus[0].lapic, &lc);

	vmx_caps.cr0_fixed0 = CR0_FIXED0;
	vmx_caps.cr0_fixed1 = CR0_FIXED1;
	vmx_caps.cr4_fixed0 = CR4_FIXED0;
	vmx_caps.cr4_fixed1 = CR4_FIXED1;

	/* The guest as vmcs_setup.c leaves it: 32-bit protected mode, paging off. */
	fake_vmcs_set(VMCS_GUEST_RIP, RIP0);
	fake_vmcs_set(VMCS_GUEST_RSP, 0x8000);
	fake_vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_FIXED);
	fake_vmcs_set(VMCS_GUEST_CS_BASE, 0);
	fake_vmcs_set(VMCS_GUEST_SS_AR_BYTES, 0xc093); /* DPL 0 */
	fake_vmcs_set(VMCS_CR0_GUEST_HOST_MASK, vmx_cr0_owned_bits());
	fake_vmcs_set(VMCS_CR0_READ_SHADOW, CR0_PE | CR0_ET);
	fake_vmcs_set(VMCS_GUEST_CR0, CR0_INIT);
	fake_vmcs_set(VMCS_CR4_GUEST_HOST_MASK, vmx_cr4_owned_bits());
	fake_vmcs_set(VMCS_CR4_READ_SHADOW, 0);
	fake_vmcs_set(VMCS_GUEST_CR4, CR4_VMXE);
	fake_vmcs_set(VMCS_GUEST_IA32_EFER, 0);
	fake_vmcs_set(VMCS_GUEST_IA32_PAT, 0x0007040600070406ULL);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tvm *t = *state;
	int rc = 0;
	if (fake_vmcs_bad_accesses) {
		fprintf(stderr, "%u bad VMCS accesses, the last to field 0x%x\n",
			fake_vmcs_bad_accesses, fake_vmcs_last_bad_field);
		rc = -1;
	}
	free(t->vm.mem.hva);
	free(t);
	return rc;
}

static struct vcpu *vcpu_of(void **state)
{
	return &((struct tvm *)*state)->vm.vcpus[0];
}

static struct vm *vm_of(void **state)
{
	return &((struct tvm *)*state)->vm;
}

#define POISON 0xdeadbeefdeadbeefULL

/* Take one exit as vmx_vcpu_run would: the handler from the table, with only
 * the exit information it asks for (the rest is garbage, to catch a handler
 * using a field it did not ask for). */
static void take_exit(struct vcpu *v, uint32_t reason, uint64_t qual, uint32_t len,
		      uint64_t gpa, uint32_t intr_info, uint32_t intr_error)
{
	const struct exit_handler *h = &exit_handlers[reason];
	if (!h->fn)
		fail_msg("no handler for exit reason %u", reason);
	struct vmexit e = { .reason = reason, .full_reason = reason, .qualification = POISON,
			    .instruction_len = 0xdead, .guest_physical = POISON,
			    .guest_linear = POISON, .intr_info = 0xdeadbeef,
			    .intr_error_code = 0xdeadbeef, .rip = fake_vmcs_get(VMCS_GUEST_RIP) };
	if (h->needs & NEED_QUALIFICATION)
		e.qualification = qual;
	if (h->needs & NEED_INSTRUCTION_LEN)
		e.instruction_len = len;
	if (h->needs & NEED_GUEST_PHYSICAL)
		e.guest_physical = gpa;
	if (h->needs & NEED_INTR_INFO) {
		e.intr_info = intr_info;
		e.intr_error_code = intr_error;
	}
	h->fn(v, &e);
}

static void simple_exit(struct vcpu *v, uint32_t reason, uint32_t len)
{
	take_exit(v, reason, 0, len, 0, 0, 0);
}

#define GP_WITH_ERROR (INTR_INFO_VALID | (INTR_TYPE_HARDWARE_EXCEPTION << 8) | EXC_GP | \
		       INTR_INFO_DELIVER_ERROR_CODE)

static void assert_rip_advanced(uint64_t by)
{
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), RIP0 + by);
}

/* The instruction faulted: RIP stays, #GP(0) is queued. */
static void assert_gp(struct vcpu *v)
{
	assert_true(v->event.valid);
	assert_int_equal(v->event.intr_info, GP_WITH_ERROR);
	assert_int_equal(v->event.error_code, 0);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), RIP0);
	assert_false(fake_vmcs_written(VMCS_GUEST_RIP));
	assert_int_equal(v->vm->state, VM_STATE_RUNNING);
}

static void assert_no_event(struct vcpu *v)
{
	assert_false(v->event.valid);
}

static void assert_stopped(struct vm *vm, bool failed, const char *words)
{
	assert_int_equal(vm->state, VM_STATE_STOPPED);
	assert_int_equal(vm->failed, failed);
	if (!strstr(vm->stop_reason, words))
		fail_msg("stopped with '%s', expected '%s'", vm->stop_reason, words);
}

/* --- CPUID ---------------------------------------------------------------------------- */

#define HOST_1_ECX (CPUID_1_ECX_VMX | CPUID_1_ECX_SMX | CPUID_1_ECX_XSAVE | CPUID_1_ECX_OSXSAVE | \
		    BIT(0) | BIT(9) | BIT(28))

static void test_cpuid_leaf1(void **state)
{
	struct vcpu *v = vcpu_of(state);
	fake_cpuid_set(1, 0, 0x906ea, 0x05100800, (uint32_t)HOST_1_ECX, 0xbfebfbff);
	v->id = 3;
	v->gpr[GPR_RAX] = 0xffffffff00000001ULL; /* only EAX selects the leaf */
	v->gpr[GPR_RCX] = 0;
	v->gpr[GPR_RBX] = v->gpr[GPR_RDX] = POISON;
	simple_exit(v, EXIT_REASON_CPUID, 2);

	uint32_t ecx = (uint32_t)v->gpr[GPR_RCX];
	assert_true(ecx & CPUID_1_ECX_HYPERVISOR);
	assert_false(ecx & CPUID_1_ECX_VMX);
	assert_false(ecx & CPUID_1_ECX_SMX);
	assert_false(ecx & CPUID_1_ECX_OSXSAVE); /* the guest's CR4.OSXSAVE is clear */
	assert_true(ecx & CPUID_1_ECX_XSAVE);
	assert_int_equal(ecx & (BIT(0) | BIT(9) | BIT(28)), BIT(0) | BIT(9) | BIT(28));
	assert_int_equal(v->gpr[GPR_RAX], 0x906ea); /* upper half cleared */
	/* APIC ID in 31:24; 23:16 the VM's logical processors (1: this VM
	 * has one vCPU), not the host's 0x10. */
	assert_int_equal(v->gpr[GPR_RBX], 0x03010800);
	/* The host's EDX minus MCE (7), MCA (14), DS (21), ACPI (22), HTT
	 * (28: one vCPU), TM (29) and PBE (31). */
	assert_int_equal(v->gpr[GPR_RDX], 0xbfebfbff & ~(BIT(7) | BIT(14) | BIT(21) | BIT(22) | BIT(28) |
							BIT(29) | BIT(31)));
	assert_rip_advanced(2);
	assert_no_event(v);
}

/* A VM with 3 vCPUs: one package of 3 cores (2 bits of APIC ID), one
 * thread each, whatever the host's topology (SDM Vol. 2A CPUID 01H, 04H,
 * 0BH; Vol. 3A 9.9.1). */
static void test_cpuid_topology(void **state)
{
	struct vcpu *v = vcpu_of(state);
	v->vm->vcpu_count = 3;
	v->id = 2;
	fake_cpuid_set(1, 0, 0x906ea, 0x05100800, (uint32_t)HOST_1_ECX, 0xbfebfbff);
	fake_cpuid_set(0xb, 1, 4, 16, 0x201, 7);
	fake_cpuid_set(4, 3, 0x1c03c163, 0x3c0003f, 0x3fff, 6); /* L3: 16 threads share it */

	v->gpr[GPR_RAX] = 1;
	v->gpr[GPR_RCX] = 0;
	simple_exit(v, EXIT_REASON_CPUID, 2);
	assert_int_equal(v->gpr[GPR_RBX], 0x02040800); /* APIC ID 2, 4 addressable IDs */
	assert_true(v->gpr[GPR_RDX] & BIT(28));       /* HTT: that field is valid */

	v->gpr[GPR_RAX] = 0xb;
	v->gpr[GPR_RCX] = 1;
	simple_exit(v, EXIT_REASON_CPUID, 2);
	assert_int_equal(v->gpr[GPR_RAX], 2);      /* shift to the package ID */
	assert_int_equal(v->gpr[GPR_RBX], 3);      /* cores */
	assert_int_equal(v->gpr[GPR_RCX], 0x201);  /* level type core, level 1 */
	assert_int_equal(v->gpr[GPR_RDX], 2);      /* x2APIC ID */

	v->gpr[GPR_RAX] = 4;
	v->gpr[GPR_RCX] = 3;
	simple_exit(v, EXIT_REASON_CPUID, 2);
	assert_int_equal(v->gpr[GPR_RAX] >> 26, 3);            /* 4 core IDs */
	assert_int_equal((v->gpr[GPR_RAX] >> 14) & 0xfff, 3);  /* the package shares L3 */
	assert_int_equal(v->gpr[GPR_RAX] & 0x3fff, 0x0163);    /* cache type and level kept */
	v->vm->vcpu_count = 1;
}

static void test_cpuid_osxsave_mirrors_guest_cr4(void **state)
{
	struct vcpu *v = vcpu_of(state);
	fake_cpuid_set(1, 0, 0, 0, (uint32_t)HOST_1_ECX, 0);
	fake_vmcs_set(VMCS_GUEST_CR4, CR4_VMXE | CR4_OSXSAVE);
	v->gpr[GPR_RAX] = 1;
	simple_exit(v, EXIT_REASON_CPUID, 2);
	assert_true(v->gpr[GPR_RCX] & CPUID_1_ECX_OSXSAVE);

	/* Without XSAVE on the host, OSXSAVE cannot be claimed. */
	fake_cpuid_set(1, 0, 0, 0, (uint32_t)(HOST_1_ECX & ~CPUID_1_ECX_XSAVE), 0);
	v->gpr[GPR_RAX] = 1;
	simple_exit(v, EXIT_REASON_CPUID, 2);
	assert_false(v->gpr[GPR_RCX] & CPUID_1_ECX_OSXSAVE);
}

static void test_cpuid_hypervisor_leaves(void **state)
{
	struct vcpu *v = vcpu_of(state);
	/* The host is itself a VM: its hypervisor's leaves must not show through. */
	fake_cpuid_set(0x40000000, 0, 0x40000010, 0x4b4d564b, 0x564b4d56, 0x4d);
	fake_cpuid_set(0x40000001, 0, 0x1234, 0x5678, 0x9abc, 0xdef0);
	fake_cpuid_set(0xa, 0, 0x07300805, 0, 0, 0x603); /* a PMU */
	fake_cpuid_set(0, 0, 0x16, 0x756e6547, 0x6c65746e, 0x49656e69);

	v->gpr[GPR_RAX] = 0x40000000;
	simple_exit(v, EXIT_REASON_CPUID, 2);
	char sig[13] = { 0 };
	uint32_t w[3] = { (uint32_t)v->gpr[GPR_RBX], (uint32_t)v->gpr[GPR_RCX],
			  (uint32_t)v->gpr[GPR_RDX] };
	memcpy(sig, w, 12);
	assert_string_equal(sig, "TextbookHV  ");
	assert_int_equal(v->gpr[GPR_RAX], HV_CPUID_MAX);

	v->gpr[GPR_RAX] = 0x40000001;
	simple_exit(v, EXIT_REASON_CPUID, 2);
	assert_int_equal(v->gpr[GPR_RAX] | v->gpr[GPR_RBX] | v->gpr[GPR_RCX] | v->gpr[GPR_RDX], 0);

	v->gpr[GPR_RAX] = 0xa; /* no PMU for the guest */
	simple_exit(v, EXIT_REASON_CPUID, 2);
	assert_int_equal(v->gpr[GPR_RAX] | v->gpr[GPR_RBX] | v->gpr[GPR_RCX] | v->gpr[GPR_RDX], 0);

	v->gpr[GPR_RAX] = 0; /* ordinary leaves pass through */
	simple_exit(v, EXIT_REASON_CPUID, 2);
	assert_int_equal(v->gpr[GPR_RAX], 0x16);
	assert_int_equal(v->gpr[GPR_RBX], 0x756e6547);
	assert_rip_advanced(4 * 2);

	/* The subleaf comes from ECX. */
	fake_cpuid_set(7, 0, 1, 0x111, 0, 0);
	fake_cpuid_set(7, 1, 0, 0x222, 0, 0);
	v->gpr[GPR_RAX] = 7;
	v->gpr[GPR_RCX] = 0xffffffff00000001ULL;
	simple_exit(v, EXIT_REASON_CPUID, 2);
	assert_int_equal(v->gpr[GPR_RBX], 0x222);
}

/* A completed instruction ends blocking by STI and MOV SS, not NMI blocking. */
static void test_skip_ends_sti_blocking(void **state)
{
	struct vcpu *v = vcpu_of(state);
	fake_vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO,
		      INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI);
	v->gpr[GPR_RAX] = 0;
	simple_exit(v, EXIT_REASON_CPUID, 2);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), INTERRUPTIBILITY_NMI);
}

/* --- Simple instructions ------------------------------------------------------------------ */

static void test_hlt_stops_vm(void **state)
{
	struct vcpu *v = vcpu_of(state);
	simple_exit(v, EXIT_REASON_HLT, 1);
	assert_stopped(v->vm, false, "HLT");
	assert_true(strstr(v->vm->stop_reason, "disabled") != NULL);
	assert_rip_advanced(1);
}

static void test_invd_wbinvd_complete(void **state)
{
	struct vcpu *v = vcpu_of(state);
	simple_exit(v, EXIT_REASON_INVD, 2);
	simple_exit(v, EXIT_REASON_WBINVD, 2);
	assert_rip_advanced(4);
	assert_no_event(v);
	assert_int_equal(v->vm->state, VM_STATE_RUNNING);
}

/* CPUID hides MONITOR: MONITOR and MWAIT are then undefined opcodes. */
static void test_monitor_mwait_ud(void **state)
{
	struct vcpu *v = vcpu_of(state);
	fake_cpuid_set(1, 0, 0, 0, (uint32_t)(HOST_1_ECX | CPUID_1_ECX_MONITOR), 0);
	v->gpr[GPR_RAX] = 1;
	simple_exit(v, EXIT_REASON_CPUID, 2);
	assert_false(v->gpr[GPR_RCX] & CPUID_1_ECX_MONITOR);
	fake_vmcs_set(VMCS_GUEST_RIP, RIP0);

	static const uint32_t reasons[] = { EXIT_REASON_MONITOR, EXIT_REASON_MWAIT };
	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++) {
		v->event.valid = false;
		simple_exit(v, reasons[i], 3);
		assert_true(v->event.valid);
		assert_int_equal(v->event.intr_info,
				 INTR_INFO_VALID | (INTR_TYPE_HARDWARE_EXCEPTION << 8) | EXC_UD);
		assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), RIP0);
	}
}

/* A pending interrupt wakes a HLT at once: the VM goes on. */
/* APIC virtualization (vmx/apicv.c): exits forward to the model, which owns
 * the virtual-APIC page; before entry RVI/SVI and the EOI-exit bitmap follow
 * it, and the CPU, not an injection, delivers. */
static void test_apicv_exits_and_entry(void **state)
{
	struct vcpu *v = vcpu_of(state);
	struct lapic *l = &v->lapic;
	v->vm->apicv = true;
	lapic_mmio_write(l, 0xF0, 4, 0x1FF);
	/* A self IPI through ICR low: the write is in the page, the exit is a trap. */
	l->page[0x300 / 4] = (1u << 18) | 0x45;
	take_exit(v, EXIT_REASON_APIC_WRITE, 0x300, 0, 0, 0, 0);
	assert_true(v->events_waiting);
	assert_false(fake_vmcs_written(VMCS_GUEST_RIP)); /* trap-like: RIP already past it */
	assert_int_equal(lapic_pending_vector(l), 0x45);
	/* A level-triggered one from the IOAPIC's side. */
	struct apic_msg m = { .mode = APIC_DM_FIXED, .vector = 0x93, .level_triggered = true, .assert = true };
	lapic_accept(l, &m);
	fake_vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF);
	fake_vmcs_set(VMCS_GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	l->page[(0x100 + 0x30) / 4] |= 1u << 0; /* 60H in service (the CPU delivered it) */
	events_before_entry_slow(v);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_INTR_STATUS), 0x6093);
	assert_int_equal(l->page[0xA0 / 4], 0x60); /* VPPR */
	assert_int_equal(fake_vmcs_get(VMCS_EOI_EXIT_BITMAP2), 1ull << (0x93 - 0x80));
	assert_int_equal(fake_vmcs_get(VMCS_EOI_EXIT_BITMAP0), 0);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_ACTIVE); /* woken */
	assert_false(fake_vmcs_written(VMCS_VM_ENTRY_INTR_INFO)); /* nothing injected */
	assert_false(v->events_waiting); /* the rest is the CPU's */
	/* The CPU delivers 93H and virtualizes its EOI; the EOI-induced exit
	 * reaches the model. */
	l->page[(0x200 + 0x40) / 4] &= ~(1u << 0x13);
	take_exit(v, EXIT_REASON_VIRTUALIZED_EOI, 0x93, 0, 0, 0, 0);
	assert_true(v->events_waiting);
	events_before_entry_slow(v);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_INTR_STATUS), 0x6045);
	l->page[(0x100 + 0x30) / 4] = 0; /* the CPU's EOI of 60H */
	/* Without APIC virtualization the same vector is injected. */
	v->vm->apicv = false;
	v->events_waiting = true;
	events_before_entry_slow(v);
	assert_int_equal(fake_vmcs_get(VMCS_VM_ENTRY_INTR_INFO),
			 INTR_INFO_VALID | (INTR_TYPE_EXTERNAL_INTERRUPT << INTR_INFO_TYPE_SHIFT) | 0x45);
}

static void test_apic_access_fetch_stops(void **state)
{
	struct vcpu *v = vcpu_of(state);
	v->vm->apicv = true;
	take_exit(v, EXIT_REASON_APIC_ACCESS, (2u << 12) | 0x80, 0, 0, 0, 0);
	assert_stopped(v->vm, true, "APIC-access exit for an instruction fetch");
}

static void test_hlt_with_pending_interrupt(void **state)
{
	struct vcpu *v = vcpu_of(state);
	vcpu_queue_interrupt(v, 0x30);
	simple_exit(v, EXIT_REASON_HLT, 1);
	assert_int_equal(v->vm->state, VM_STATE_RUNNING);
	assert_rip_advanced(1);
}

/* Two exceptions (SDM Vol. 3A Table 6-5): contributory + contributory is a
 * double fault; anything during a double fault is a triple fault. */
static void test_double_and_triple_fault(void **state)
{
	struct vcpu *v = vcpu_of(state);
	vcpu_inject_exception(v, EXC_GP, true, 0x10);
	vcpu_inject_exception(v, EXC_NP, true, 0x20);
	assert_true(v->event.valid);
	assert_int_equal(v->event.intr_info, INTR_INFO_VALID | (INTR_TYPE_HARDWARE_EXCEPTION << 8) |
						     EXC_DF | INTR_INFO_DELIVER_ERROR_CODE);
	assert_int_equal(v->event.error_code, 0);
	assert_int_equal(v->vm->state, VM_STATE_RUNNING);
	vcpu_inject_exception(v, EXC_GP, true, 0);
	assert_stopped(v->vm, true, "triple fault");
}

static void test_vmcall(void **state)
{
	struct vcpu *v = vcpu_of(state);
	v->gpr[GPR_RAX] = HC_GET_VERSION;
	simple_exit(v, EXIT_REASON_VMCALL, 3);
	assert_int_equal(v->gpr[GPR_RAX], HV_VERSION);
	char sig[13] = { 0 };
	uint32_t w[3] = { (uint32_t)v->gpr[GPR_RBX], (uint32_t)v->gpr[GPR_RCX],
			  (uint32_t)v->gpr[GPR_RDX] };
	memcpy(sig, w, 12);
	assert_string_equal(sig, HV_CPUID_SIGNATURE);

	v->exits = 1234;
	v->gpr[GPR_RAX] = HC_GET_EXIT_COUNT;
	simple_exit(v, EXIT_REASON_VMCALL, 3);
	assert_int_equal(v->gpr[GPR_RAX], 1234);

	v->gpr[GPR_RAX] = 77;
	simple_exit(v, EXIT_REASON_VMCALL, 3);
	assert_int_equal(v->gpr[GPR_RAX], HC_ENOSYS);

	/* Only CPL 0 may call. */
	fake_vmcs_set(VMCS_GUEST_SS_AR_BYTES, 0xc0f3); /* DPL 3 */
	v->gpr[GPR_RAX] = HC_GET_VERSION;
	simple_exit(v, EXIT_REASON_VMCALL, 3);
	assert_int_equal(v->gpr[GPR_RAX], HC_EPERM);
	assert_rip_advanced(4 * 3);
	assert_no_event(v);
}

/* --- MSRs ------------------------------------------------------------------------------------- */

static void rdmsr_exit(struct vcpu *v, uint32_t msr)
{
	v->gpr[GPR_RCX] = msr;
	v->gpr[GPR_RAX] = v->gpr[GPR_RDX] = POISON;
	simple_exit(v, EXIT_REASON_RDMSR, 2);
}

static void wrmsr_exit(struct vcpu *v, uint32_t msr, uint64_t value)
{
	v->gpr[GPR_RCX] = msr;
	/* Only EDX:EAX count: garbage in the upper halves must be ignored. */
	v->gpr[GPR_RAX] = 0xabcdef0000000000ULL | (uint32_t)value;
	v->gpr[GPR_RDX] = 0x1234567800000000ULL | (value >> 32);
	simple_exit(v, EXIT_REASON_WRMSR, 2);
}

static void test_rdmsr_unknown_gp(void **state)
{
	struct vcpu *v = vcpu_of(state);
	static const uint32_t unknown[] = { 0x12345678, MSR_IA32_MCG_CAP, MSR_IA32_VMX_BASIC,
					    MSR_IA32_DEBUGCTL, 0xc0010000 };
	for (size_t i = 0; i < ARRAY_SIZE(unknown); i++) {
		v->event.valid = false;
		rdmsr_exit(v, unknown[i]);
		assert_gp(v);
		assert_int_equal(v->gpr[GPR_RAX], POISON); /* nothing returned */
	}
	/* The #GP was reported, naming the MSR. */
	assert_non_null(strstr(test_console, "RDMSR 0x12345678"));
}

static void test_gp_in_real_mode_has_no_error_code(void **state)
{
	struct vcpu *v = vcpu_of(state);
	fake_vmcs_set(VMCS_GUEST_CR0, CR0_NE | CR0_ET);
	rdmsr_exit(v, 0x12345678);
	assert_true(v->event.valid);
	assert_int_equal(v->event.intr_info,
			 INTR_INFO_VALID | (INTR_TYPE_HARDWARE_EXCEPTION << 8) | EXC_GP);
}

static void test_rdmsr_known(void **state)
{
	struct vcpu *v = vcpu_of(state);
	fake_vmcs_set(VMCS_GUEST_IA32_EFER, 0x0000000100000d01ULL);
	rdmsr_exit(v, MSR_IA32_EFER);
	assert_int_equal(v->gpr[GPR_RAX], 0xd01);
	assert_int_equal(v->gpr[GPR_RDX], 1);
	assert_rip_advanced(2);

	rdmsr_exit(v, MSR_IA32_FEATURE_CONTROL); /* locked, VMX off */
	assert_int_equal(v->gpr[GPR_RAX], FEATURE_CONTROL_LOCKED);
	assert_int_equal(v->gpr[GPR_RDX], 0);

	rdmsr_exit(v, MSR_IA32_APIC_BASE);
	assert_int_equal(v->gpr[GPR_RAX], 0xfee00900);

	fake_tsc = 0x123456789aULL;
	fake_vmcs_set(VMCS_TSC_OFFSET, 0x1000);
	rdmsr_exit(v, MSR_IA32_TSC);
	assert_int_equal(((v->gpr[GPR_RDX] << 32) | v->gpr[GPR_RAX]), 0x123456789aULL + 0x1000);

	v->msr_lstar = 0xffffffff81000000ULL;
	rdmsr_exit(v, MSR_IA32_LSTAR);
	assert_int_equal(v->gpr[GPR_RAX], 0x81000000);
	assert_int_equal(v->gpr[GPR_RDX], 0xffffffff);

	rdmsr_exit(v, MSR_IA32_PAT);
	assert_int_equal(v->gpr[GPR_RAX], 0x00070406);
	assert_int_equal(v->gpr[GPR_RDX], 0x00070406);
	assert_no_event(v);
	assert_rip_advanced(6 * 2);
}

static void test_wrmsr_efer(void **state)
{
	struct vcpu *v = vcpu_of(state);
	/* Reserved bits raise #GP. */
	static const uint64_t bad[] = { BIT(1), BIT(9), BIT(12), BIT(63), BIT(32) | EFER_SCE };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v->event.valid = false;
		wrmsr_exit(v, MSR_IA32_EFER, bad[i]);
		assert_gp(v);
		assert_int_equal(fake_vmcs_get(VMCS_GUEST_IA32_EFER), 0);
	}
	v->event.valid = false;
	wrmsr_exit(v, MSR_IA32_EFER, EFER_SCE | EFER_NXE | EFER_LME);
	assert_no_event(v);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_IA32_EFER), EFER_SCE | EFER_NXE | EFER_LME);
	assert_rip_advanced(2);

	/* LMA belongs to the CPU: a write neither sets nor clears it. */
	wrmsr_exit(v, MSR_IA32_EFER, EFER_LME | EFER_LMA);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_IA32_EFER), EFER_LME);
	fake_vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME | EFER_LMA);
	fake_vmcs_set(VMCS_GUEST_CR0, CR0_INIT | CR0_PG);
	wrmsr_exit(v, MSR_IA32_EFER, EFER_LME | EFER_SCE);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_IA32_EFER), EFER_LME | EFER_LMA | EFER_SCE);
	assert_no_event(v);

	/* LME cannot change while paging is on. */
	uint64_t rip = fake_vmcs_get(VMCS_GUEST_RIP);
	wrmsr_exit(v, MSR_IA32_EFER, EFER_SCE);
	assert_true(v->event.valid);
	assert_int_equal(v->event.intr_info, GP_WITH_ERROR);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), rip);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_IA32_EFER), EFER_LME | EFER_LMA | EFER_SCE);
}

static void test_wrmsr_checks(void **state)
{
	struct vcpu *v = vcpu_of(state);
	static const struct {
		uint32_t msr;
		uint64_t value;
	} bad[] = {
		{ MSR_IA32_PAT, 0x0007040600070402ULL },       /* type 2 is reserved */
		{ MSR_IA32_PAT, 0x0807040600070406ULL },       /* type 8 does not exist */
		{ MSR_IA32_FS_BASE, 0x0000800000000000ULL },   /* not canonical */
		{ MSR_IA32_GS_BASE, 0x8000000000000000ULL },
		{ MSR_IA32_SYSENTER_EIP, 0x00ff000000000000ULL },
		{ MSR_IA32_LSTAR, 0x0001000000000000ULL },
		{ MSR_IA32_KERNEL_GS_BASE, 0xfff0000000000000ULL },
		{ MSR_IA32_APIC_BASE, 0xfec00900 },            /* moving the APIC */
		{ MSR_IA32_TSC_AUX, 1 },                       /* no RDTSCP on this host */
		{ MSR_IA32_PLATFORM_ID, 0 },                   /* read-only */
		{ MSR_IA32_FEATURE_CONTROL, 5 },
		{ MSR_IA32_MTRRCAP, 0 },
		{ 0x12345678, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v->event.valid = false;
		wrmsr_exit(v, bad[i].msr, bad[i].value);
		if (!v->event.valid)
			fail_msg("WRMSR 0x%x <- 0x%llx accepted", bad[i].msr,
				 (unsigned long long)bad[i].value);
		assert_gp(v);
	}
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_IA32_PAT), 0x0007040600070406ULL);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_FS_BASE), 0);
	assert_int_equal(v->msr_lstar, 0);
	assert_int_equal(fake_msr_writes(MSR_IA32_LSTAR), 0);
}

static void test_wrmsr_accepted(void **state)
{
	struct vcpu *v = vcpu_of(state);
	wrmsr_exit(v, MSR_IA32_PAT, 0x0606060606060606ULL);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_IA32_PAT), 0x0606060606060606ULL);
	wrmsr_exit(v, MSR_IA32_FS_BASE, 0xffff800000001000ULL);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_FS_BASE), 0xffff800000001000ULL);
	wrmsr_exit(v, MSR_IA32_SYSENTER_CS, 0x1234000000000010ULL);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_SYSENTER_CS), 0x10);
	/* Kept in the vCPU and live in the CPU at once. */
	wrmsr_exit(v, MSR_IA32_LSTAR, 0xffffffff81000000ULL);
	assert_int_equal(v->msr_lstar, 0xffffffff81000000ULL);
	assert_int_equal(fake_msr_get(MSR_IA32_LSTAR), 0xffffffff81000000ULL);
	wrmsr_exit(v, MSR_IA32_STAR, 0x0023001000000000ULL);
	assert_int_equal(v->msr_star, 0x0023001000000000ULL);
	/* The APIC base may be written with its current value. */
	wrmsr_exit(v, MSR_IA32_APIC_BASE, lapic_get_base(&v->lapic));
	/* Ignored writes complete. */
	wrmsr_exit(v, MSR_IA32_BIOS_SIGN_ID, 0);
	wrmsr_exit(v, MSR_IA32_MISC_ENABLE, 1);
	assert_no_event(v);
	assert_rip_advanced(8 * 2);

	/* TSC_AUX only with RDTSCP on the host, and only 32 bits. */
	fake_cpuid_set(0x80000000, 0, 0x80000008, 0, 0, 0);
	fake_cpuid_set(0x80000001, 0, 0, 0, 0, BIT(27));
	wrmsr_exit(v, MSR_IA32_TSC_AUX, 7);
	assert_no_event(v);
	assert_int_equal(v->msr_tsc_aux, 7);
	wrmsr_exit(v, MSR_IA32_TSC_AUX, BIT(32));
	assert_true(v->event.valid);
}

/* Writing the TSC moves the offset; reading it back gives what was written. */
static void test_tsc_write_read(void **state)
{
	struct vcpu *v = vcpu_of(state);
	fake_tsc = 1000000;
	wrmsr_exit(v, MSR_IA32_TSC, 5);
	assert_int_equal(fake_vmcs_get(VMCS_TSC_OFFSET), (uint64_t)5 - 1000000);
	rdmsr_exit(v, MSR_IA32_TSC);
	assert_int_equal((v->gpr[GPR_RDX] << 32) | v->gpr[GPR_RAX], 5);
	fake_tsc += 300;
	rdmsr_exit(v, MSR_IA32_TSC);
	assert_int_equal((v->gpr[GPR_RDX] << 32) | v->gpr[GPR_RAX], 305);
}

/* IA32_TSC_ADJUST follows every TSC write, and writing it moves the TSC by
 * the difference (SDM 17.17.3). */
static void test_tsc_adjust(void **state)
{
	struct vcpu *v = vcpu_of(state);
	fake_tsc = 1000000;
	v->vm->tsc_offset = 0;
	v->tsc_adjust = 0;
	wrmsr_exit(v, MSR_IA32_TSC, 1000500); /* 500 ahead */
	rdmsr_exit(v, MSR_IA32_TSC_ADJUST);
	assert_int_equal(v->gpr[GPR_RAX], 500);
	wrmsr_exit(v, MSR_IA32_TSC_ADJUST, 0); /* back by 500 */
	assert_no_event(v);
	rdmsr_exit(v, MSR_IA32_TSC);
	assert_int_equal((v->gpr[GPR_RDX] << 32) | v->gpr[GPR_RAX], 1000000);
	assert_int_equal(fake_vmcs_get(VMCS_TSC_OFFSET), 0);
	wrmsr_exit(v, MSR_IA32_TSC_ADJUST, (uint64_t)-100);
	rdmsr_exit(v, MSR_IA32_TSC);
	assert_int_equal((v->gpr[GPR_RDX] << 32) | v->gpr[GPR_RAX], 1000000 - 100);
}

/* IA32_MTRR_DEF_TYPE: enabled write-back at reset, reserved bits and
 * undefined types #GP; no ranges (IA32_MTRRCAP reads 0). */
static void test_mtrr_def_type(void **state)
{
	struct vcpu *v = vcpu_of(state);
	v->mtrr_def_type = 0xc06;
	rdmsr_exit(v, MSR_IA32_MTRRCAP);
	assert_int_equal(v->gpr[GPR_RAX] | v->gpr[GPR_RDX], 0);
	rdmsr_exit(v, MSR_IA32_MTRR_DEF_TYPE);
	assert_int_equal(v->gpr[GPR_RAX], 0xc06);
	wrmsr_exit(v, MSR_IA32_MTRR_DEF_TYPE, 0x800); /* E, default UC */
	assert_no_event(v);
	assert_int_equal(v->mtrr_def_type, 0x800);
	wrmsr_exit(v, MSR_IA32_MTRR_DEF_TYPE, 0x802); /* type 2 is reserved */
	assert_true(v->event.valid);
	v->event.valid = false;
	wrmsr_exit(v, MSR_IA32_MTRR_DEF_TYPE, 0x1806); /* bit 12 reserved */
	assert_true(v->event.valid);
	assert_int_equal(v->mtrr_def_type, 0x800);
}

/* --- Control registers ----------------------------------------------------------------------- */

static uint64_t cr_qual(unsigned cr, unsigned type, unsigned gpr, uint16_t lmsw)
{
	return cr | (type << 4) | (gpr << 8) | ((uint64_t)lmsw << 16);
}

static void mov_to_cr(struct vcpu *v, unsigned cr, unsigned gpr, uint64_t value)
{
	if (gpr == GPR_RSP)
		fake_vmcs_set(VMCS_GUEST_RSP, value);
	else
		v->gpr[gpr] = value;
	take_exit(v, EXIT_REASON_CR_ACCESS, cr_qual(cr, 0, gpr, 0), 3, 0, 0, 0);
}

static void test_cr4_vmxe_gp(void **state)
{
	struct vcpu *v = vcpu_of(state);
	mov_to_cr(v, 4, GPR_RAX, CR4_VMXE);
	assert_gp(v);
	v->event.valid = false;
	mov_to_cr(v, 4, GPR_RBX, CR4_PAE | CR4_VMXE);
	assert_gp(v);
	/* Bits the CPU does not support (not in CR4_FIXED1). */
	v->event.valid = false;
	mov_to_cr(v, 4, GPR_RBX, CR4_PAE | CR4_LA57);
	assert_gp(v);
	v->event.valid = false;
	mov_to_cr(v, 4, GPR_RBX, CR4_PKE);
	assert_gp(v);
	assert_int_equal(fake_vmcs_get(VMCS_CR4_READ_SHADOW), 0);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_CR4), CR4_VMXE);
}

static void test_cr4_write(void **state)
{
	struct vcpu *v = vcpu_of(state);
	uint64_t value = CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXSAVE;
	mov_to_cr(v, 4, GPR_R9, value);
	assert_no_event(v);
	assert_int_equal(fake_vmcs_get(VMCS_CR4_READ_SHADOW), value);
	/* The real CR4 keeps VMXE, which VMX operation requires. */
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_CR4), value | CR4_VMXE);
	/* The guest reads back what it wrote. */
	assert_int_equal(vcpu_guest_cr4(), value);
	assert_rip_advanced(3);

	/* From RSP, which lives in the VMCS. */
	mov_to_cr(v, 4, GPR_RSP, CR4_PSE);
	assert_int_equal(fake_vmcs_get(VMCS_CR4_READ_SHADOW), CR4_PSE);

	/* Outside long mode only the low 32 bits of the register count. */
	mov_to_cr(v, 4, GPR_RAX, 0xffffffff00000000ULL | CR4_PAE);
	assert_no_event(v);
	assert_int_equal(fake_vmcs_get(VMCS_CR4_READ_SHADOW), CR4_PAE);
}

static void test_cr4_long_mode_needs_pae(void **state)
{
	struct vcpu *v = vcpu_of(state);
	fake_vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME | EFER_LMA);
	fake_vmcs_set(VMCS_CR4_READ_SHADOW, CR4_PAE);
	fake_vmcs_set(VMCS_GUEST_CR4, CR4_PAE | CR4_VMXE);
	mov_to_cr(v, 4, GPR_RAX, CR4_PGE);
	assert_gp(v);
	assert_int_equal(fake_vmcs_get(VMCS_CR4_READ_SHADOW), CR4_PAE);
	/* In long mode bits 63:32 are not dropped: they raise #GP. */
	v->event.valid = false;
	mov_to_cr(v, 4, GPR_RAX, BIT(32) | CR4_PAE);
	assert_gp(v);
}

static void test_cr0_writes(void **state)
{
	struct vcpu *v = vcpu_of(state);
	static const uint64_t bad[] = { CR0_PG,                    /* paging without protection */
					CR0_PE | CR0_NW,           /* not-write-through without CD */
					};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v->event.valid = false;
		mov_to_cr(v, 0, GPR_RAX, bad[i]);
		assert_gp(v);
	}
	/* Paging with EFER.LME needs CR4.PAE. */
	v->event.valid = false;
	fake_vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME);
	mov_to_cr(v, 0, GPR_RAX, CR0_PE | CR0_PG);
	assert_gp(v);
	assert_int_equal(fake_vmcs_get(VMCS_CR0_READ_SHADOW), CR0_PE | CR0_ET);

	/* Valid: the shadow holds what the guest wrote (ET forced on), the real
	 * CR0 has the bits VMX requires. */
	v->event.valid = false;
	fake_vmcs_set(VMCS_GUEST_IA32_EFER, 0);
	mov_to_cr(v, 0, GPR_RDX, CR0_PE | CR0_MP | CR0_WP | CR0_CD | CR0_NW);
	assert_no_event(v);
	uint64_t want = CR0_PE | CR0_MP | CR0_WP | CR0_CD | CR0_NW | CR0_ET;
	assert_int_equal(fake_vmcs_get(VMCS_CR0_READ_SHADOW), want);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_CR0), want | CR0_NE);
	assert_int_equal(vcpu_guest_cr0(), want);
	assert_rip_advanced(3);

	/* Back to real mode: allowed with unrestricted guest. */
	mov_to_cr(v, 0, GPR_RDX, CR0_ET);
	assert_no_event(v);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_CR0), CR0_ET | CR0_NE);
}

static void test_clts_and_lmsw(void **state)
{
	struct vcpu *v = vcpu_of(state);
	fake_vmcs_set(VMCS_CR0_READ_SHADOW, CR0_PE | CR0_ET | CR0_TS | CR0_MP);
	fake_vmcs_set(VMCS_GUEST_CR0, CR0_INIT | CR0_TS | CR0_MP);
	take_exit(v, EXIT_REASON_CR_ACCESS, cr_qual(0, 2, 0, 0), 2, 0, 0, 0); /* CLTS */
	assert_no_event(v);
	assert_false(vcpu_guest_cr0() & CR0_TS);
	assert_false(fake_vmcs_get(VMCS_GUEST_CR0) & CR0_TS);
	assert_true(vcpu_guest_cr0() & CR0_MP);

	/* LMSW 0: clears MP, EM and TS but cannot clear PE. */
	fake_vmcs_set(VMCS_CR0_READ_SHADOW, CR0_PE | CR0_ET | CR0_TS | CR0_MP | CR0_EM);
	fake_vmcs_set(VMCS_GUEST_CR0, CR0_INIT | CR0_TS | CR0_MP | CR0_EM);
	take_exit(v, EXIT_REASON_CR_ACCESS, cr_qual(0, 3, 0, 0), 3, 0, 0, 0);
	assert_no_event(v);
	assert_int_equal(vcpu_guest_cr0() & 0xf, CR0_PE);
	/* LMSW can set PE and the others; bits above 3 of the source are ignored. */
	fake_vmcs_set(VMCS_CR0_READ_SHADOW, CR0_ET);
	fake_vmcs_set(VMCS_GUEST_CR0, CR0_ET | CR0_NE);
	take_exit(v, EXIT_REASON_CR_ACCESS, cr_qual(0, 3, 0, 0xfff0 | CR0_PE | CR0_TS), 3, 0, 0, 0);
	assert_int_equal(vcpu_guest_cr0() & 0xffff, CR0_ET | CR0_PE | CR0_TS);
	assert_rip_advanced(2 + 3 + 3);
}

static void test_cr3_cr8_and_unemulated_crs(void **state)
{
	struct vcpu *v = vcpu_of(state);
	mov_to_cr(v, 3, GPR_RSI, 0x123000);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_CR3), 0x123000);
	fake_vmcs_set(VMCS_GUEST_CR3, 0x456000);
	take_exit(v, EXIT_REASON_CR_ACCESS, cr_qual(3, 1, GPR_R12, 0), 3, 0, 0, 0);
	assert_int_equal(v->gpr[GPR_R12], 0x456000);
	assert_rip_advanced(6);

	/* CR8 (the TPR): 4 bits; reserved bits raise #GP. */
	mov_to_cr(v, 8, GPR_RAX, 0xa);
	assert_int_equal(lapic_get_tpr(&v->lapic), 0xa0); /* CR8 is TPR[7:4] */
	take_exit(v, EXIT_REASON_CR_ACCESS, cr_qual(8, 1, GPR_RDX, 0), 3, 0, 0, 0);
	assert_int_equal(v->gpr[GPR_RDX], 0xa);
	assert_rip_advanced(12);
	assert_no_event(v);
	fake_vmcs_set(VMCS_GUEST_RIP, RIP0);
	mov_to_cr(v, 8, GPR_RAX, 0x10);
	assert_true(v->event.valid);
	assert_int_equal(v->event.intr_info, GP_WITH_ERROR);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), RIP0);
	assert_int_equal(lapic_get_tpr(&v->lapic), 0xa0);
	assert_int_equal(v->vm->state, VM_STATE_RUNNING);

	/* A control register with no emulation: the VM stops rather than guessing. */
	mov_to_cr(v, 2, GPR_RAX, 0);
	assert_stopped(v->vm, true, "not emulated");
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), RIP0);
}

static void test_mov_from_cr0_stops(void **state)
{
	struct vcpu *v = vcpu_of(state);
	take_exit(v, EXIT_REASON_CR_ACCESS, cr_qual(0, 1, GPR_RAX, 0), 3, 0, 0, 0);
	assert_stopped(v->vm, true, "MOV from a control register");
}

/* --- XSETBV ------------------------------------------------------------------------------------ */

static void xsetbv_exit(struct vcpu *v, uint32_t xcr, uint64_t value)
{
	v->event.valid = false;
	v->gpr[GPR_RCX] = xcr;
	v->gpr[GPR_RAX] = 0xffffffff00000000ULL | (uint32_t)value;
	v->gpr[GPR_RDX] = value >> 32;
	simple_exit(v, EXIT_REASON_XSETBV, 3);
}

static void test_xsetbv(void **state)
{
	struct vcpu *v = vcpu_of(state);
	fake_cpuid_set(0xd, 0, 0xe7, 0, 0, 0); /* x87, SSE, AVX, AVX-512 */
	static const struct {
		uint32_t xcr;
		uint64_t value;
	} bad[] = {
		{ 0, 0x2 },        /* x87 (bit 0) must stay set */
		{ 0, 0x0 },
		{ 0, 0x5 },        /* AVX without SSE */
		{ 0, 0x8 | 0x3 },  /* a component the CPU lacks */
		{ 0, BIT(62) | 1 },
		{ 0, 0x27 },       /* AVX-512 opmask alone */
		{ 0, 0xe3 },       /* AVX-512 without AVX */
		{ 1, 0x3 },        /* XCR1 */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		xsetbv_exit(v, bad[i].xcr, bad[i].value);
		if (!v->event.valid)
			fail_msg("XSETBV %u <- 0x%llx accepted", bad[i].xcr,
				 (unsigned long long)bad[i].value);
		assert_gp(v);
		assert_int_equal(v->xcr0, 1);
	}
	xsetbv_exit(v, 0, 0x7);
	assert_no_event(v);
	assert_int_equal(v->xcr0, 0x7);
	assert_rip_advanced(3);
	xsetbv_exit(v, 0, 0xe7);
	assert_no_event(v);
	assert_int_equal(v->xcr0, 0xe7);
	/* Not loaded into the CPU by the handler, but before the next entry. */
	assert_int_equal(fake_xsetbv_calls, 0);

	/* Only at CPL 0. */
	fake_vmcs_set(VMCS_GUEST_SS_AR_BYTES, 0xc0f3);
	xsetbv_exit(v, 0, 0x3);
	assert_true(v->event.valid);
	assert_int_equal(v->xcr0, 0xe7);
}

/* --- Exceptions and VMX instructions -------------------------------------------------------- */

static void test_vmx_instructions_ud(void **state)
{
	struct vcpu *v = vcpu_of(state);
	static const uint32_t vmx[] = { EXIT_REASON_VMXOFF, EXIT_REASON_VMXON, EXIT_REASON_VMCLEAR,
					EXIT_REASON_VMLAUNCH, EXIT_REASON_VMPTRLD,
					EXIT_REASON_VMPTRST, EXIT_REASON_VMREAD,
					EXIT_REASON_VMRESUME, EXIT_REASON_VMWRITE,
					EXIT_REASON_INVEPT, EXIT_REASON_INVVPID,
					EXIT_REASON_VMFUNC };
	for (size_t i = 0; i < ARRAY_SIZE(vmx); i++) {
		v->event.valid = false;
		simple_exit(v, vmx[i], 3);
		assert_true(v->event.valid);
		/* #UD: hardware exception 6, no error code. */
		assert_int_equal(v->event.intr_info,
				 INTR_INFO_VALID | (INTR_TYPE_HARDWARE_EXCEPTION << 8) | EXC_UD);
		assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), RIP0);
		assert_int_equal(v->vm->state, VM_STATE_RUNNING);
	}
}

static void test_exception_reinjected(void **state)
{
	struct vcpu *v = vcpu_of(state);
	uint32_t ac = INTR_INFO_VALID | (INTR_TYPE_HARDWARE_EXCEPTION << 8) | EXC_AC |
		      INTR_INFO_DELIVER_ERROR_CODE;
	take_exit(v, EXIT_REASON_EXCEPTION_NMI, 0, 0, 0, ac, 0);
	assert_true(v->event.valid);
	assert_int_equal(v->event.intr_info, ac);
	assert_int_equal(v->event.error_code, 0);

	/* A host NMI is not the guest's. */
	v->event.valid = false;
	take_exit(v, EXIT_REASON_EXCEPTION_NMI, 0, 0, 0,
		  INTR_INFO_VALID | (INTR_TYPE_NMI << 8) | EXC_NMI, 0);
	assert_no_event(v);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), RIP0);
}

static void test_interrupt_timer_and_faults(void **state)
{
	struct vcpu *v = vcpu_of(state);
	take_exit(v, EXIT_REASON_EXTERNAL_INTERRUPT, 0, 0, 0, INTR_INFO_VALID | 0x20, 0);
	assert_no_event(v);
	assert_int_equal(v->vm->state, VM_STATE_RUNNING);
	assert_non_null(strstr(test_console, "vector 32"));

	v->vm->timers_dirty = false;
	simple_exit(v, EXIT_REASON_PREEMPTION_TIMER, 0);
	assert_true(v->vm->timers_dirty); /* the run loop lets the device timers catch up */
	assert_int_equal(v->vm->state, VM_STATE_RUNNING);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), RIP0);

	/* A triple fault resets the VM, as a PC does; the third one stops it. */
	v->vm->reset_requested = false;
	simple_exit(v, EXIT_REASON_TRIPLE_FAULT, 0);
	assert_true(v->vm->reset_requested);
	assert_int_equal(v->vm->state, VM_STATE_RUNNING);
	assert_non_null(strstr(test_console, "resetting the VM"));
	simple_exit(v, EXIT_REASON_TRIPLE_FAULT, 0);
	assert_int_equal(v->vm->state, VM_STATE_RUNNING);
	simple_exit(v, EXIT_REASON_TRIPLE_FAULT, 0);
	assert_stopped(v->vm, true, "triple fault");
}

static void test_ept_misconfig_stops(void **state)
{
	struct vcpu *v = vcpu_of(state);
	take_exit(v, EXIT_REASON_EPT_MISCONFIG, 0, 0, 0x1000, 0, 0);
	assert_stopped(v->vm, true, "EPT misconfiguration");
}

/* --- Port I/O ---------------------------------------------------------------------------------- */

#define IO_IN BIT(3)
#define IO_STRING BIT(4)

static void io_exit(struct vcpu *v, uint16_t port, unsigned size, bool in, uint64_t extra)
{
	uint64_t q = (uint64_t)port << 16 | (size - 1) | (in ? IO_IN : 0) | extra;
	take_exit(v, EXIT_REASON_IO_INSTRUCTION, q, 1, 0, 0, 0);
}

static void test_out_exit_port_stops_vm(void **state)
{
	struct vcpu *v = vcpu_of(state);
	v->gpr[GPR_RAX] = 0x1234; /* OUT of AL: 0x34 */
	io_exit(v, DEBUG_EXIT_PORT, 1, false, 0);
	assert_stopped(v->vm, false, "exit code 52");
	assert_true(v->vm->has_exit_code);
	assert_int_equal(v->vm->exit_code, 0x34);
	/* The VM is over: its RIP is left where it stopped. */
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), RIP0);
}

static void test_out_exit_port_dword(void **state)
{
	struct vcpu *v = vcpu_of(state);
	v->gpr[GPR_RAX] = 0xffffffff80000001ULL;
	io_exit(v, DEBUG_EXIT_PORT, 4, false, 0);
	assert_int_equal(v->vm->exit_code, 0x80000001);
}

static void test_in_unclaimed_port(void **state)
{
	struct vcpu *v = vcpu_of(state);
	v->gpr[GPR_RAX] = 0x1122334455667788ULL;
	io_exit(v, 0x80, 1, true, 0);
	assert_int_equal(v->gpr[GPR_RAX], 0x11223344556677ffULL);
	v->gpr[GPR_RAX] = 0x1122334455667788ULL;
	io_exit(v, 0x80, 2, true, 0);
	assert_int_equal(v->gpr[GPR_RAX], 0x112233445566ffffULL);
	v->gpr[GPR_RAX] = 0x1122334455667788ULL;
	io_exit(v, 0x80, 4, true, 0); /* a 32-bit result clears RAX's upper half */
	assert_int_equal(v->gpr[GPR_RAX], 0xffffffffULL);
	assert_rip_advanced(3);
	assert_int_equal(v->vm->state, VM_STATE_RUNNING);
	/* Reported once per port. */
	const char *first = strstr(test_console, "unclaimed port 0x80");
	assert_non_null(first);
	assert_null(strstr(first + 1, "unclaimed port 0x80"));
	/* Writes to it are dropped and the instruction completes. */
	io_exit(v, 0x80, 1, false, 0);
	assert_rip_advanced(4);
}

static void test_uart_through_io(void **state)
{
	struct tvm *t = *state;
	struct vcpu *v = &t->vm.vcpus[0];
	v->gpr[GPR_RAX] = 0xff41; /* 'A' */
	io_exit(v, UART_COM1_BASE, 1, false, 0);
	v->gpr[GPR_RAX] = 0x0a;
	io_exit(v, UART_COM1_BASE, 1, false, 0);
	assert_int_equal(t->tx_len, 2);
	assert_memory_equal(t->tx, "A\n", 2);
	v->gpr[GPR_RAX] = 0;
	io_exit(v, UART_COM1_BASE + 5, 1, true, 0); /* LSR */
	assert_int_equal(v->gpr[GPR_RAX], 0x60);
	assert_rip_advanced(3);
	assert_null(strstr(test_console, "unclaimed"));
}

static void test_string_io_stops(void **state)
{
	struct vcpu *v = vcpu_of(state);
	io_exit(v, UART_COM1_BASE, 1, false, IO_STRING);
	assert_stopped(v->vm, true, "string I/O");
}

/* --- EPT violations: MMIO emulation ---------------------------------------------------------- */

#define CODE_GPA 0x2000ULL

/* Put an instruction at CS:RIP in guest RAM. */
static void place_code(struct vm *vm, const void *bytes, size_t n)
{
	memcpy(vm->mem.hva + CODE_GPA, bytes, n);
	fake_vmcs_set(VMCS_GUEST_RIP, CODE_GPA);
}

static void ept_exit(struct vcpu *v, uint64_t gpa, uint64_t qual)
{
	take_exit(v, EXIT_REASON_EPT_VIOLATION, qual, 0, gpa, 0, 0);
}

static void test_mmio_load_unclaimed(void **state)
{
	struct vcpu *v = vcpu_of(state);
	static const uint8_t mov_eax_ebx[] = { 0x8b, 0x03 };
	place_code(v->vm, mov_eax_ebx, sizeof(mov_eax_ebx));
	v->gpr[GPR_RAX] = 0x1122334455667788ULL;
	ept_exit(v, 0xfee00000, EPT_VIOL_READ);
	assert_int_equal(v->gpr[GPR_RAX], 0xffffffffULL);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), CODE_GPA + 2);
	assert_int_equal(v->vm->state, VM_STATE_RUNNING);
	assert_non_null(strstr(test_console, "no RAM or device"));
}

static void test_mmio_device_access(void **state)
{
	struct tvm *t = *state;
	struct vcpu *v = &t->vm.vcpus[0];
	/* mov word [ebx], 0xbeef */
	static const uint8_t store[] = { 0x66, 0xc7, 0x03, 0xef, 0xbe };
	place_code(&t->vm, store, sizeof(store));
	ept_exit(v, 0xfed00010, EPT_VIOL_WRITE);
	assert_int_equal(t->dev_writes, 1);
	assert_int_equal(t->dev_last_offset, 0x10);
	assert_int_equal(t->dev_last_size, 2);
	assert_int_equal(t->dev_last_value, 0xbeef);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), CODE_GPA + 5);

	/* mov ah, [ebx+4]: the byte lands in AH, the rest of RAX kept. */
	static const uint8_t load_ah[] = { 0x8a, 0x63, 0x04 };
	place_code(&t->vm, load_ah, sizeof(load_ah));
	t->dev_value = 0x12345678;
	v->gpr[GPR_RAX] = 0xaaaaaaaaaaaaaaaaULL;
	ept_exit(v, 0xfed00004, EPT_VIOL_READ);
	assert_int_equal(t->dev_reads, 1);
	assert_int_equal(t->dev_last_size, 1);
	assert_int_equal(v->gpr[GPR_RAX], 0xaaaaaaaaaaaa78aaULL);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), CODE_GPA + 3);

	/* mov [ebx], esp: the stored register comes from the VMCS. */
	static const uint8_t store_esp[] = { 0x89, 0x23 };
	place_code(&t->vm, store_esp, sizeof(store_esp));
	fake_vmcs_set(VMCS_GUEST_RSP, 0x7ff0);
	ept_exit(v, 0xfed00000, EPT_VIOL_WRITE);
	assert_int_equal(t->dev_last_value, 0x7ff0);
	assert_int_equal(t->dev_last_size, 4);
	assert_no_event(v);
}

static void test_mmio_refusals(void **state)
{
	struct vm *vm = vm_of(state);
	struct vcpu *v = &vm->vcpus[0];
	/* An instruction the decoder does not know (NEG on memory): stop,
	 * showing its bytes. */
	static const uint8_t neg[] = { 0xf7, 0x1b };
	place_code(vm, neg, sizeof(neg));
	ept_exit(v, 0xfee00000, EPT_VIOL_WRITE);
	assert_stopped(vm, true, "cannot emulate");
	assert_non_null(strstr(vm->stop_reason, "f7 1b"));
}

static void test_ept_fetch_outside_ram_stops(void **state)
{
	struct vm *vm = vm_of(state);
	ept_exit(&vm->vcpus[0], 0xfee00000, EPT_VIOL_FETCH | EPT_VIOL_READ);
	assert_stopped(vm, true, "jumped");
}

static void test_ept_violation_in_ram_stops(void **state)
{
	struct vm *vm = vm_of(state);
	ept_exit(&vm->vcpus[0], 0x3000, EPT_VIOL_WRITE);
	assert_stopped(vm, true, "inside guest RAM");
}

/* What is typed on the physical console reaches the running VM's COM1, and
 * a guest waiting for it with the receive interrupt on can sleep in HLT. */
static void test_console_input(void **state)
{
	struct vm *vm = vm_of(state);
	uart16550_init(&vm->com1, NULL, NULL);
	fake_serial_type("ok");
	platform_console_poll(vm);
	assert_int_equal(uart16550_read(&vm->com1, 5, 1) & 1, 1); /* LSR.DR */
	assert_int_equal(uart16550_read(&vm->com1, 0, 1), 'o');
	/* Without FIFOs the UART holds one byte: the next waits on the wire
	 * until the guest looks again. */
	assert_int_equal(uart16550_read(&vm->com1, 5, 1) & 1, 0);
	platform_console_poll(vm);
	assert_int_equal(uart16550_read(&vm->com1, 0, 1), 'k');
	assert_false(platform_console_can_wake(vm));
	uart16550_write(&vm->com1, 1, 1, 0x01); /* IER: received data */
	uart16550_write(&vm->com1, 4, 1, 0x08); /* MCR: OUT2 */
	assert_true(platform_console_can_wake(vm));
}

static void test_mmio_16bit_code_refused(void **state)
{
	struct vm *vm = vm_of(state);
	static const uint8_t mov[] = { 0x8b, 0x07 }; /* mov ax, [bx] in 16-bit code */
	place_code(vm, mov, sizeof(mov));
	fake_vmcs_set(VMCS_GUEST_CS_AR_BYTES, 0x009b); /* D = 0 */
	ept_exit(&vm->vcpus[0], 0xfee00000, EPT_VIOL_READ);
	assert_stopped(vm, true, "16-bit code");
}

/* 32-bit paging with one 4 MiB page: linear 0-4 MiB -> physical 0-4 MiB. */
#define PAGE_DIR_GPA 0x10000
static void identity_paging(struct vm *vm, bool present)
{
	uint32_t pde = present ? 0x83 : 0; /* P, RW, PS */
	memcpy(vm->mem.hva + PAGE_DIR_GPA, &pde, 4);
	fake_vmcs_set(VMCS_GUEST_CR0, CR0_INIT | CR0_PG);
	fake_vmcs_set(VMCS_GUEST_CR3, PAGE_DIR_GPA);
	fake_vmcs_set(VMCS_GUEST_CR4, CR4_VMXE | CR4_PSE);
}

static void test_ept_with_paging_walks(void **state)
{
	struct vm *vm = vm_of(state);
	static const uint8_t mov_eax_ebx[] = { 0x8b, 0x03 };
	place_code(vm, mov_eax_ebx, sizeof(mov_eax_ebx));
	identity_paging(vm, true);
	vm->vcpus[0].gpr[GPR_RAX] = 0;
	ept_exit(&vm->vcpus[0], 0xfee00000, EPT_VIOL_READ);
	assert_int_equal(vm->state, VM_STATE_RUNNING);
	assert_int_equal(vm->vcpus[0].gpr[GPR_RAX], 0xffffffff);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), CODE_GPA + 2);
	/* The walk set the accessed flag of the PDE it used (SDM Vol. 3A 4.8). */
	uint32_t pde;
	memcpy(&pde, vm->mem.hva + PAGE_DIR_GPA, 4);
	assert_true(pde & 0x20);
}

static void test_ept_fetch_page_fault(void **state)
{
	struct vm *vm = vm_of(state);
	static const uint8_t mov_eax_ebx[] = { 0x8b, 0x03 };
	place_code(vm, mov_eax_ebx, sizeof(mov_eax_ebx));
	identity_paging(vm, false);
	ept_exit(&vm->vcpus[0], 0xfee00000, EPT_VIOL_READ);
	/* The code page is not present: the guest gets the #PF its CPU would
	 * have raised fetching it, CR2 = RIP, error code 0 (not present, read,
	 * supervisor), and RIP stays. */
	assert_int_equal(vm->state, VM_STATE_RUNNING);
	assert_true(vm->vcpus[0].event.valid);
	assert_int_equal(vm->vcpus[0].event.intr_info & 0xff, EXC_PF);
	assert_int_equal(vm->vcpus[0].event.error_code, 0);
	assert_int_equal(vm->vcpus[0].cr2, CODE_GPA);
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), CODE_GPA);
}

static void test_ept_code_outside_ram_stops(void **state)
{
	struct vm *vm = vm_of(state);
	fake_vmcs_set(VMCS_GUEST_RIP, GUEST_RAM); /* the code is not in RAM */
	ept_exit(&vm->vcpus[0], 0xfee00000, EPT_VIOL_READ);
	assert_stopped(vm, true, "not in RAM");
}

static void test_ept_code_at_end_of_ram(void **state)
{
	struct vm *vm = vm_of(state);
	vm->mem.hva[GUEST_RAM - 2] = 0x8b;
	vm->mem.hva[GUEST_RAM - 1] = 0x03;
	fake_vmcs_set(VMCS_GUEST_RIP, GUEST_RAM - 2);
	vm->vcpus[0].gpr[GPR_RAX] = 0;
	ept_exit(&vm->vcpus[0], 0xfee00000, EPT_VIOL_READ);
	assert_int_equal(vm->state, VM_STATE_RUNNING);
	assert_int_equal(vm->vcpus[0].gpr[GPR_RAX], 0xffffffff);
}

/* --- The run loop ---------------------------------------------------------------------------- */

struct scripted_exit {
	uint32_t reason;
	uint64_t qual;
	uint32_t len;
	uint32_t idt_info, idt_error;
};

static const struct scripted_exit *script;
static unsigned script_len;
static uint32_t entry_intr_info[8], entry_error[8];

/* Each VM entry "runs" the guest into the next scripted exit; past the end
 * of the script the entry fails (VMfailInvalid), which stops the VM. */
static int scripted_enter(struct vcpu *v, unsigned call)
{
	(void)v;
	if (call < 8) {
		entry_intr_info[call] = (uint32_t)fake_vmcs_get(VMCS_VM_ENTRY_INTR_INFO);
		entry_error[call] = (uint32_t)fake_vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE);
		fake_vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0); /* consumed by the entry */
	}
	if (call >= script_len)
		return 2;
	const struct scripted_exit *s = &script[call];
	fake_vmcs_set(VMCS_VM_EXIT_REASON, s->reason);
	fake_vmcs_set(VMCS_EXIT_QUALIFICATION, s->qual);
	fake_vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, s->len);
	fake_vmcs_set(VMCS_IDT_VECTORING_INFO, s->idt_info);
	fake_vmcs_set(VMCS_IDT_VECTORING_ERROR_CODE, s->idt_error);
	fake_tsc += 100;
	return 0;
}

static void run_script(struct vcpu *v, const struct scripted_exit *s, unsigned n)
{
	script = s;
	script_len = n;
	memset(entry_intr_info, 0, sizeof(entry_intr_info));
	memset(entry_error, 0, sizeof(entry_error));
	fake_vmx_enter_hook = scripted_enter;
	vmx_vcpu_run(v);
}

static void test_run_loop_dispatch_and_counts(void **state)
{
	struct vm *vm = vm_of(state);
	struct vcpu *v = &vm->vcpus[0];
	fake_tsc_step = 7;
	v->gpr[GPR_RCX] = 0x12345678; /* for the RDMSR: an unknown MSR */
	const struct scripted_exit s[] = {
		{ EXIT_REASON_CPUID, 0, 2, 0, 0 },
		{ EXIT_REASON_RDMSR, 0, 2, 0, 0 },
		{ EXIT_REASON_CPUID, 0, 2, 0, 0 },
		{ 35, 0, 2, 0, 0 },                /* undefined: no handler, stops the VM */
		{ EXIT_REASON_CPUID, 0, 2, 0, 0 }, /* never reached */
	};
	v->gpr[GPR_RAX] = 0;
	run_script(v, s, ARRAY_SIZE(s));
	assert_stopped(vm, true, "unhandled VM exit 'unknown'");
	assert_non_null(strstr(vm->stop_reason, "exit reason 35 (undefined by the SDM)"));
	assert_int_equal(fake_vmx_enter_calls, 4);
	assert_int_equal(v->exits, 4);
	assert_int_equal(vm->exit_count[EXIT_REASON_CPUID], 2);
	assert_int_equal(vm->exit_count[EXIT_REASON_RDMSR], 1);
	assert_int_equal(vm->exit_count[35], 1);
	assert_true(vm->exit_cycles[EXIT_REASON_CPUID] > 0);
	/* The #GP of the RDMSR was injected at the entry after it, with its error code. */
	assert_int_equal(entry_intr_info[2], GP_WITH_ERROR);
	assert_int_equal(entry_error[2], 0);
	assert_int_equal(entry_intr_info[1], 0);
	assert_int_equal(entry_intr_info[3], 0);
	assert_false(v->event.valid);
	/* RIP: two CPUIDs completed, the faulting RDMSR did not move it. */
	assert_int_equal(fake_vmcs_get(VMCS_GUEST_RIP), RIP0 + 4);
}

static void test_run_loop_requeues_vectoring_event(void **state)
{
	struct vm *vm = vm_of(state);
	struct vcpu *v = &vm->vcpus[0];
	/* A #PF interrupted by an EPT exit (here: a preemption timer exit) is
	 * delivered again at the next entry, without the NMI-unblocking bit. */
	uint32_t pf = INTR_INFO_VALID | (INTR_TYPE_HARDWARE_EXCEPTION << 8) | EXC_PF |
		      INTR_INFO_DELIVER_ERROR_CODE;
	const struct scripted_exit s[] = {
		{ EXIT_REASON_PREEMPTION_TIMER, 0, 0, pf | INTR_INFO_NMI_UNBLOCKING, 0x6 },
		{ EXIT_REASON_PREEMPTION_TIMER, 0, 0, 0, 0 },
	};
	run_script(v, s, ARRAY_SIZE(s));
	assert_int_equal(entry_intr_info[0], 0);
	assert_int_equal(entry_intr_info[1], pf);
	assert_int_equal(entry_error[1], 0x6);
	assert_int_equal(entry_intr_info[2], 0);
	assert_stopped(vm, true, "VMfailInvalid");
}

static void test_run_loop_software_interrupt_length(void **state)
{
	struct vm *vm = vm_of(state);
	struct vcpu *v = &vm->vcpus[0];
	uint32_t int3 = INTR_INFO_VALID | (INTR_TYPE_SOFTWARE_EXCEPTION << 8) | EXC_BP;
	const struct scripted_exit s[] = {
		{ EXIT_REASON_PREEMPTION_TIMER, 0, 1, int3, 0 },
	};
	run_script(v, s, ARRAY_SIZE(s));
	assert_int_equal(entry_intr_info[1], int3);
	assert_int_equal(fake_vmcs_get(VMCS_VM_ENTRY_INSTRUCTION_LEN), 1);
}

static int failing_enter(struct vcpu *v, unsigned call)
{
	(void)v;
	(void)call;
	fake_vmcs_set(VMCS_VM_INSTRUCTION_ERROR, 7);
	return 1;
}

static void test_run_loop_entry_failures(void **state)
{
	struct vm *vm = vm_of(state);
	fake_vmx_enter_hook = failing_enter;
	vmx_vcpu_run(&vm->vcpus[0]);
	assert_stopped(vm, true, "invalid control field");
	assert_int_equal(fake_vmcs_dump_calls, 1);
	assert_int_equal(vm->vcpus[0].exits, 0);
}

static void test_run_loop_entry_failure_exit(void **state)
{
	struct vm *vm = vm_of(state);
	const struct scripted_exit s[] = {
		{ EXIT_REASON_ENTRY_FAILURE | EXIT_REASON_ENTRY_FAIL_GUEST_STATE, 0, 0, 0, 0 },
	};
	run_script(&vm->vcpus[0], s, ARRAY_SIZE(s));
	assert_stopped(vm, true, "invalid guest state");
	assert_int_equal(fake_vmcs_dump_calls, 1);
	assert_int_equal(fake_vmx_enter_calls, 1);
}

static int check_xcr0_enter(struct vcpu *v, unsigned call)
{
	(void)call;
	/* While the guest runs, the CPU holds its XCR0, its syscall MSRs and
	 * its debug registers. */
	assert_int_equal(fake_xcr0, v->xcr0);
	assert_int_equal(fake_msr_get(MSR_IA32_LSTAR), v->msr_lstar);
	assert_int_equal(fake_dr[0], v->dr[0]);
	assert_int_equal(fake_dr[6], v->dr6);
	fake_dr[1] = 0x5000; /* the guest sets a breakpoint */
	return 2;
}

static void test_run_loop_switches_guest_state(void **state)
{
	struct vm *vm = vm_of(state);
	fake_cr4 = CR4_OSXSAVE;
	fake_xcr0 = 0x7; /* the host's */
	vm->vcpus[0].xcr0 = 0x3;
	vm->vcpus[0].msr_lstar = 0xffffffff81000000ULL;
	vm->vcpus[0].dr[0] = 0x1234;
	vm->vcpus[0].dr6 = 0xffff0ff0;
	fake_vmx_enter_hook = check_xcr0_enter;
	/* As the scheduler runs a vCPU (vm/sched.c): its MSRs and debug
	 * registers in, the run loop, and out again. */
	msr_load_guest_state(&vm->vcpus[0]);
	vmx_vcpu_run(&vm->vcpus[0]);
	msr_save_guest_state(&vm->vcpus[0]);
	assert_int_equal(fake_vmx_enter_calls, 1);
	assert_int_equal(fake_xcr0, 0x7); /* given back */
	assert_int_equal(vm->vcpus[0].dr[1], 0x5000); /* kept for the next run */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_undefined_reasons),
		cmocka_unit_test(test_vmcs_names),
		cmocka_unit_test(test_handler_table),
		T(test_cpuid_leaf1),
		T(test_cpuid_topology),
		T(test_cpuid_osxsave_mirrors_guest_cr4),
		T(test_cpuid_hypervisor_leaves),
		T(test_skip_ends_sti_blocking),
		T(test_hlt_stops_vm),
		T(test_invd_wbinvd_complete),
		T(test_monitor_mwait_ud),
		T(test_hlt_with_pending_interrupt),
		T(test_apicv_exits_and_entry),
		T(test_apic_access_fetch_stops),
		T(test_double_and_triple_fault),
		T(test_vmcall),
		T(test_rdmsr_unknown_gp),
		T(test_gp_in_real_mode_has_no_error_code),
		T(test_rdmsr_known),
		T(test_wrmsr_efer),
		T(test_wrmsr_checks),
		T(test_wrmsr_accepted),
		T(test_tsc_write_read),
		T(test_tsc_adjust),
		T(test_mtrr_def_type),
		T(test_cr4_vmxe_gp),
		T(test_cr4_write),
		T(test_cr4_long_mode_needs_pae),
		T(test_cr0_writes),
		T(test_clts_and_lmsw),
		T(test_cr3_cr8_and_unemulated_crs),
		T(test_mov_from_cr0_stops),
		T(test_xsetbv),
		T(test_vmx_instructions_ud),
		T(test_exception_reinjected),
		T(test_interrupt_timer_and_faults),
		T(test_ept_misconfig_stops),
		T(test_out_exit_port_stops_vm),
		T(test_out_exit_port_dword),
		T(test_in_unclaimed_port),
		T(test_uart_through_io),
		T(test_string_io_stops),
		T(test_mmio_load_unclaimed),
		T(test_mmio_device_access),
		T(test_mmio_refusals),
		T(test_ept_fetch_outside_ram_stops),
		T(test_ept_violation_in_ram_stops),
		T(test_ept_with_paging_walks),
		T(test_ept_fetch_page_fault),
		T(test_mmio_16bit_code_refused),
		T(test_console_input),
		T(test_ept_code_outside_ram_stops),
		T(test_ept_code_at_end_of_ram),
		T(test_run_loop_dispatch_and_counts),
		T(test_run_loop_requeues_vectoring_event),
		T(test_run_loop_software_interrupt_length),
		T(test_run_loop_entry_failures),
		T(test_run_loop_entry_failure_exit),
		T(test_run_loop_switches_guest_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
