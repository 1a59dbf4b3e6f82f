/* The software VM-entry checker (vmx/entry_check.c) against a fake VMCS.
 *
 * The starting point is the VMCS vmx/vmcs_setup.c builds for a Multiboot
 * guest (32-bit flat protected mode, paging off, unrestricted guest) on a CPU
 * with the capabilities Bochs's corei7_skylake_x reports. It must pass every
 * check; then each test breaks one rule and expects exactly that rule, its
 * SDM section and the field's name in the detail. The fake VMCS also counts
 * reads of fields it does not hold: the checker must read only the fields the
 * controls make it use. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "vmx/entry_check.h"
#include "vmx/vmcs.h"
#include "vmx/vmx_caps.h"
#include "arch/x86/cpu.h"

/* --- Fake VMCS ------------------------------------------------------------------ */

static struct {
	uint32_t field;
	uint64_t value;
} vmcs[192];
static size_t vmcs_len;
static unsigned absent_reads;
static uint32_t last_absent_field;

static int find(uint32_t field)
{
	for (size_t i = 0; i < vmcs_len; i++)
		if (vmcs[i].field == field)
			return (int)i;
	return -1;
}

static void set(uint32_t field, uint64_t value)
{
	int i = find(field);
	if (i < 0) {
		assert_true(vmcs_len < sizeof(vmcs) / sizeof(vmcs[0]));
		i = (int)vmcs_len++;
		vmcs[i].field = field;
	}
	vmcs[i].value = value;
}

static uint64_t get(uint32_t field)
{
	int i = find(field);
	assert_true(i >= 0);
	return vmcs[i].value;
}

static void drop(uint32_t field)
{
	int i = find(field);
	if (i >= 0)
		vmcs[i] = vmcs[--vmcs_len];
}

static void or_bits(uint32_t field, uint64_t bits)
{
	set(field, get(field) | bits);
}

static void clear_bits(uint32_t field, uint64_t bits)
{
	set(field, get(field) & ~bits);
}

static uint64_t fake_read(void *ctx, uint32_t field)
{
	(void)ctx;
	int i = find(field);
	if (i < 0) {
		absent_reads++;
		last_absent_field = field;
		return 0;
	}
	return vmcs[i].value;
}

/* --- Capabilities like Bochs corei7_skylake_x ----------------------------------------- */

static struct vmx_caps caps;
static bool vmm_outside_ia32e;

static uint64_t cap(uint32_t must_be_one, uint32_t may_be_one)
{
	return ((uint64_t)may_be_one << 32) | must_be_one;
}

static void skylake_caps(void)
{
	memset(&caps, 0, sizeof(caps));
	/* Revision 1, 4 KiB VMCS, write-back, INS/OUTS information, TRUE MSRs. */
	caps.basic = BIT(55) | BIT(54) | (6ULL << 50) | (0x1000ULL << 32) | 1;
	caps.revision_id = 1;
	caps.vmcs_size = 0x1000;
	caps.true_controls = true;
	caps.pinbased = cap(0x00000016, 0x000000ff);
	caps.procbased = cap(0x04006172, 0xfff9fffe);
	caps.procbased2 = cap(0, 0x02577fff);
	caps.exit = cap(0x00036dfb, 0x007fefff);
	caps.entry = cap(0x000011fb, 0x0003ffff);
	/* Timer rate 5, LMA saved, HLT/shutdown/wait-for-SIPI, 4 CR3 targets. */
	caps.misc = 5 | BIT(5) | BIT(6) | BIT(7) | BIT(8) | (4ULL << 16) | BIT(29);
	caps.cr0_fixed0 = 0x80000021; /* PE, NE, PG */
	caps.cr0_fixed1 = 0xffffffff;
	caps.cr4_fixed0 = 0x2000; /* VMXE */
	caps.cr4_fixed1 = 0x00772fff;
	caps.ept_vpid = EPT_CAP_EXECUTE_ONLY | EPT_CAP_PWL4 | EPT_CAP_MEMTYPE_UC | EPT_CAP_MEMTYPE_WB |
			EPT_CAP_2MB_PAGE | EPT_CAP_1GB_PAGE | EPT_CAP_INVEPT | EPT_CAP_AD_FLAGS |
			EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL | VPID_CAP_INVVPID |
			VPID_CAP_INVVPID_ADDR | VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL;
	caps.preemption_timer_shift = 5;
}

/* --- The VMCS vmx/vmcs_setup.c builds ---------------------------------------------------- */

#define GUEST_ENTRY 0x00100000u /* a Multiboot kernel's entry point */
#define EPT_PML4 0x003f0000ULL
#define EPTP_VALUE (EPT_PML4 | (3 << 3) | 6) /* ept_pointer(): 4 levels, WB */
#define HOST_CR0_VALUE 0x80050033ULL /* PE MP ET NE WP AM PG */
#define HOST_CR4_VALUE (CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_VMXE)
#define HOST_EFER_VALUE (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)
#define POWER_ON_PAT 0x0007040600070406ULL
#define AR_CODE32_FLAT 0xc09b
#define AR_DATA32_FLAT 0xc093
#define AR_TSS32_BUSY 0x008b

static void build_valid_vmcs(void)
{
	uint32_t pin, cpu, cpu2, exit, entry, missing;

	/* setup_controls() */
	assert_true(vmx_adjust_controls(caps.pinbased, PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING,
					PIN_PREEMPTION_TIMER, &pin, &missing));
	assert_true(vmx_adjust_controls(caps.procbased,
					CPU_HLT_EXITING | CPU_UNCONDITIONAL_IO_EXITING |
						CPU_ACTIVATE_SECONDARY_CONTROLS,
					CPU_USE_TSC_OFFSETTING | CPU_MWAIT_EXITING | CPU_MONITOR_EXITING,
					&cpu, &missing));
	assert_true(vmx_adjust_controls(caps.procbased2, SEC_ENABLE_EPT | SEC_UNRESTRICTED_GUEST,
					SEC_ENABLE_VPID | SEC_ENABLE_RDTSCP | SEC_ENABLE_INVPCID, &cpu2,
					&missing));
	assert_true(vmx_adjust_controls(caps.exit,
					EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_ACK_INTERRUPT_ON_EXIT |
						EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER,
					EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT | EXIT_SAVE_PREEMPTION_TIMER,
					&exit, &missing));
	assert_true(vmx_adjust_controls(caps.entry, ENTRY_LOAD_IA32_EFER, ENTRY_LOAD_IA32_PAT, &entry,
					&missing));
	if (!(exit & EXIT_SAVE_PREEMPTION_TIMER))
		pin &= ~(uint32_t)PIN_PREEMPTION_TIMER;
	if (!(pin & PIN_PREEMPTION_TIMER))
		exit &= ~(uint32_t)EXIT_SAVE_PREEMPTION_TIMER;
	set(VMCS_PIN_BASED_VM_EXEC_CONTROL, pin);
	set(VMCS_CPU_BASED_VM_EXEC_CONTROL, cpu);
	set(VMCS_SECONDARY_VM_EXEC_CONTROL, cpu2);
	set(VMCS_VM_EXIT_CONTROLS, exit);
	set(VMCS_VM_ENTRY_CONTROLS, entry);
	if (pin & PIN_PREEMPTION_TIMER)
		set(VMCS_VMX_PREEMPTION_TIMER_VALUE, 0x01000000);
	set(VMCS_EXCEPTION_BITMAP, BIT(EXC_AC));
	set(VMCS_PAGE_FAULT_ERROR_CODE_MASK, 0);
	set(VMCS_PAGE_FAULT_ERROR_CODE_MATCH, 0);
	set(VMCS_CR3_TARGET_COUNT, 0);
	set(VMCS_VM_EXIT_MSR_STORE_COUNT, 0);
	set(VMCS_VM_EXIT_MSR_LOAD_COUNT, 0);
	set(VMCS_VM_ENTRY_MSR_LOAD_COUNT, 0);
	set(VMCS_VM_ENTRY_INTR_INFO, 0);
	set(VMCS_TSC_OFFSET, 0);
	set(VMCS_EPT_POINTER, EPTP_VALUE);
	if (cpu2 & SEC_ENABLE_VPID)
		set(VMCS_VIRTUAL_PROCESSOR_ID, 1);
	set(VMCS_CR0_GUEST_HOST_MASK, (caps.cr0_fixed0 | ~caps.cr0_fixed1) & ~(CR0_PE | CR0_PG));
	set(VMCS_CR4_GUEST_HOST_MASK, caps.cr4_fixed0 | ~caps.cr4_fixed1);

	/* setup_host_state(), with values a 64-bit -mcmodel=kernel hypervisor has */
	set(VMCS_HOST_CR0, HOST_CR0_VALUE);
	set(VMCS_HOST_CR3, 0x00105000);
	set(VMCS_HOST_CR4, HOST_CR4_VALUE);
	set(VMCS_HOST_CS_SELECTOR, 0x08);
	set(VMCS_HOST_SS_SELECTOR, 0x10);
	set(VMCS_HOST_DS_SELECTOR, 0x10);
	set(VMCS_HOST_ES_SELECTOR, 0x10);
	set(VMCS_HOST_FS_SELECTOR, 0);
	set(VMCS_HOST_GS_SELECTOR, 0);
	set(VMCS_HOST_TR_SELECTOR, 0x18);
	set(VMCS_HOST_FS_BASE, 0);
	set(VMCS_HOST_GS_BASE, 0);
	set(VMCS_HOST_TR_BASE, 0xffffffff80120000ULL);
	set(VMCS_HOST_GDTR_BASE, 0xffffffff80121000ULL);
	set(VMCS_HOST_IDTR_BASE, 0xffffffff80122000ULL);
	set(VMCS_HOST_IA32_SYSENTER_CS, 0);
	set(VMCS_HOST_IA32_SYSENTER_ESP, 0);
	set(VMCS_HOST_IA32_SYSENTER_EIP, 0);
	set(VMCS_HOST_IA32_EFER, HOST_EFER_VALUE);
	if (exit & EXIT_LOAD_IA32_PAT)
		set(VMCS_HOST_IA32_PAT, POWER_ON_PAT);
	set(VMCS_HOST_RIP, 0xffffffff80102340ULL);
	set(VMCS_HOST_RSP, 0xffffffff80130000ULL);

	/* setup_guest_state() */
	static const uint32_t sel[] = { VMCS_GUEST_ES_SELECTOR, VMCS_GUEST_SS_SELECTOR,
					VMCS_GUEST_DS_SELECTOR, VMCS_GUEST_FS_SELECTOR,
					VMCS_GUEST_GS_SELECTOR };
	static const uint32_t base[] = { VMCS_GUEST_ES_BASE, VMCS_GUEST_SS_BASE, VMCS_GUEST_DS_BASE,
					 VMCS_GUEST_FS_BASE, VMCS_GUEST_GS_BASE };
	static const uint32_t limit[] = { VMCS_GUEST_ES_LIMIT, VMCS_GUEST_SS_LIMIT,
					  VMCS_GUEST_DS_LIMIT, VMCS_GUEST_FS_LIMIT,
					  VMCS_GUEST_GS_LIMIT };
	static const uint32_t ar[] = { VMCS_GUEST_ES_AR_BYTES, VMCS_GUEST_SS_AR_BYTES,
				       VMCS_GUEST_DS_AR_BYTES, VMCS_GUEST_FS_AR_BYTES,
				       VMCS_GUEST_GS_AR_BYTES };
	for (size_t i = 0; i < 5; i++) {
		set(sel[i], 0x10);
		set(base[i], 0);
		set(limit[i], 0xffffffff);
		set(ar[i], AR_DATA32_FLAT);
	}
	set(VMCS_GUEST_CS_SELECTOR, 0x08);
	set(VMCS_GUEST_CS_BASE, 0);
	set(VMCS_GUEST_CS_LIMIT, 0xffffffff);
	set(VMCS_GUEST_CS_AR_BYTES, AR_CODE32_FLAT);
	set(VMCS_GUEST_TR_SELECTOR, 0);
	set(VMCS_GUEST_TR_BASE, 0);
	set(VMCS_GUEST_TR_LIMIT, 0xffff);
	set(VMCS_GUEST_TR_AR_BYTES, AR_TSS32_BUSY);
	set(VMCS_GUEST_LDTR_SELECTOR, 0);
	set(VMCS_GUEST_LDTR_BASE, 0);
	set(VMCS_GUEST_LDTR_LIMIT, 0);
	set(VMCS_GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
	set(VMCS_GUEST_GDTR_BASE, 0);
	set(VMCS_GUEST_GDTR_LIMIT, 0);
	set(VMCS_GUEST_IDTR_BASE, 0);
	set(VMCS_GUEST_IDTR_LIMIT, 0x3ff);

	uint64_t cr0 = CR0_PE | CR0_ET;
	set(VMCS_CR0_READ_SHADOW, cr0);
	set(VMCS_GUEST_CR0, vmx_apply_fixed(cr0, caps.cr0_fixed0 & ~(CR0_PE | CR0_PG), caps.cr0_fixed1));
	set(VMCS_CR4_READ_SHADOW, 0);
	set(VMCS_GUEST_CR4, vmx_apply_fixed(0, caps.cr4_fixed0, caps.cr4_fixed1));
	set(VMCS_GUEST_CR3, 0);
	set(VMCS_GUEST_DR7, 0x400);
	set(VMCS_GUEST_RSP, 0);
	set(VMCS_GUEST_RIP, GUEST_ENTRY);
	set(VMCS_GUEST_RFLAGS, RFLAGS_FIXED);
	set(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	set(VMCS_GUEST_ACTIVITY_STATE, 0);
	set(VMCS_GUEST_SYSENTER_CS, 0);
	set(VMCS_GUEST_SYSENTER_ESP, 0);
	set(VMCS_GUEST_SYSENTER_EIP, 0);
	set(VMCS_GUEST_IA32_DEBUGCTL, 0);
	set(VMCS_GUEST_IA32_EFER, 0);
	if (entry & ENTRY_LOAD_IA32_PAT)
		set(VMCS_GUEST_IA32_PAT, POWER_ON_PAT);
	set(VMCS_VMCS_LINK_POINTER, ~0ULL);
}

static int setup(void **state)
{
	(void)state;
	vmcs_len = 0;
	absent_reads = 0;
	last_absent_field = 0;
	vmm_outside_ia32e = false;
	skylake_caps();
	build_valid_vmcs();
	return 0;
}

/* --- Running the checker ----------------------------------------------------------- */

static struct entry_check_input input(void)
{
	struct entry_check_input in = {
		.read = fake_read,
		.ctx = NULL,
		.caps = &caps,
		.phys_addr_width = 40,
		.linear_addr_width = 48,
		.vmm_outside_ia32e = vmm_outside_ia32e,
	};
	return in;
}

static enum entry_check_area area_of(const char *sdm)
{
	if (!strncmp(sdm, "SDM 27.2.1", 10) || !strcmp(sdm, "SDM A.6"))
		return ENTRY_CHECK_CONTROLS;
	if (!strncmp(sdm, "SDM 27.2", 8))
		return ENTRY_CHECK_HOST;
	return ENTRY_CHECK_GUEST;
}

/* The VMCS must break a rule whose text contains rule_part, in section sdm,
 * with a detail that names field. */
static void expect_rule(const char *sdm, const char *rule_part, const char *field)
{
	struct entry_check_input in = input();
	struct entry_check_result r;
	memset(&r, 0, sizeof(r));
	if (!entry_check_all(&in, &r))
		fail_msg("no rule broken; expected \"%s\" (%s)", rule_part, sdm);
	if (!strstr(r.rule, rule_part) || strcmp(r.sdm, sdm) != 0)
		fail_msg("got \"%s\" (%s: %s); expected \"%s\" (%s)", r.rule, r.sdm, r.detail, rule_part,
			 sdm);
	if (!strstr(r.detail, field))
		fail_msg("detail \"%s\" does not name %s", r.detail, field);
	assert_int_equal(r.area, area_of(sdm));
	if (absent_reads)
		fail_msg("%u read(s) of fields the VMCS does not hold, last 0x%04x", absent_reads,
			 last_absent_field);
}

static void expect_pass(void)
{
	struct entry_check_input in = input();
	struct entry_check_result r;
	memset(&r, 0, sizeof(r));
	if (entry_check_all(&in, &r))
		fail_msg("false positive: \"%s\" (%s: %s)", r.rule, r.sdm, r.detail);
	if (absent_reads)
		fail_msg("%u read(s) of fields the VMCS does not hold, last 0x%04x", absent_reads,
			 last_absent_field);
}

#define TEST(name) static void test_##name(void **state UNUSED)

#define S_EXEC "SDM 27.2.1.1"
#define S_EXIT "SDM 27.2.1.2"
#define S_ENTRY "SDM 27.2.1.3"
#define S_HOST_CR "SDM 27.2.2"
#define S_HOST_SEG "SDM 27.2.3"
#define S_HOST_SIZE "SDM 27.2.4"
#define S_GUEST_CR "SDM 27.3.1.1"
#define S_GUEST_SEG "SDM 27.3.1.2"
#define S_GUEST_DT "SDM 27.3.1.3"
#define S_GUEST_RIP "SDM 27.3.1.4"
#define S_GUEST_STATE "SDM 27.3.1.5"
#define S_GUEST_PDPTE "SDM 27.3.1.6"

#define PIN VMCS_PIN_BASED_VM_EXEC_CONTROL
#define CPU VMCS_CPU_BASED_VM_EXEC_CONTROL
#define SEC VMCS_SECONDARY_VM_EXEC_CONTROL
#define EXIT VMCS_VM_EXIT_CONTROLS
#define ENTRY VMCS_VM_ENTRY_CONTROLS
#define INTR_TYPE_OTHER_EVENT 7
#define INTR(type, vector) (INTR_INFO_VALID | ((uint32_t)(type) << 8) | (vector))

/* --- Scenario helpers ---------------------------------------------------------------- */

/* A guest with restricted (normal) VMX rules: paging on, no unrestricted guest. */
static void restricted_guest(void)
{
	clear_bits(SEC, SEC_UNRESTRICTED_GUEST);
	or_bits(VMCS_GUEST_CR0, CR0_PG);
}

/* A 64-bit guest: IA-32e mode, paging with PAE, EFER.LMA/LME, CS.L. */
static void long_mode_guest(void)
{
	or_bits(ENTRY, ENTRY_IA32E_MODE_GUEST);
	or_bits(VMCS_GUEST_CR0, CR0_PG);
	or_bits(VMCS_GUEST_CR4, CR4_PAE);
	set(VMCS_GUEST_IA32_EFER, EFER_LME | EFER_LMA);
	set(VMCS_GUEST_CS_AR_BYTES, 0xa09b);
}

static const uint32_t v86_regs[][4] = {
	{ VMCS_GUEST_CS_SELECTOR, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR_BYTES },
	{ VMCS_GUEST_SS_SELECTOR, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR_BYTES },
	{ VMCS_GUEST_DS_SELECTOR, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR_BYTES },
	{ VMCS_GUEST_ES_SELECTOR, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR_BYTES },
	{ VMCS_GUEST_FS_SELECTOR, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR_BYTES },
	{ VMCS_GUEST_GS_SELECTOR, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR_BYTES },
};

/* Virtual-8086 mode: bases are the selectors times 16; limits and access
 * rights are made right only when asked. */
static void v86_guest(bool limits, bool access_rights)
{
	or_bits(VMCS_GUEST_RFLAGS, RFLAGS_VM);
	for (size_t i = 0; i < 6; i++) {
		set(v86_regs[i][1], get(v86_regs[i][0]) << 4);
		if (limits)
			set(v86_regs[i][2], 0xffff);
		if (access_rights)
			set(v86_regs[i][3], 0xf3);
	}
}

static void pae_guest(void)
{
	or_bits(VMCS_GUEST_CR0, CR0_PG);
	or_bits(VMCS_GUEST_CR4, CR4_PAE);
	for (uint32_t i = 0; i < 4; i++)
		set(VMCS_GUEST_PDPTE0 + 2 * i, 0x1001 + 0x1000 * i);
}

static void usable_ldtr(void)
{
	set(VMCS_GUEST_LDTR_SELECTOR, 0x18);
	set(VMCS_GUEST_LDTR_LIMIT, 0xff);
	set(VMCS_GUEST_LDTR_AR_BYTES, 0x82);
}

static void tpr_shadow(void)
{
	or_bits(CPU, CPU_USE_TPR_SHADOW);
	set(VMCS_VIRTUAL_APIC_PAGE_ADDR, 0x8000);
	set(VMCS_TPR_THRESHOLD, 0);
}

static void inject(uint32_t info)
{
	set(VMCS_VM_ENTRY_INTR_INFO, info);
}

/* --- No false positives ---------------------------------------------------------------- */

TEST(valid_vmcs_passes)
{
	expect_pass();
	struct entry_check_input in = input();
	struct entry_check_result r;
	assert_false(entry_check_controls(&in, &r));
	assert_false(entry_check_host(&in, &r));
	assert_false(entry_check_guest(&in, &r));
	assert_int_equal(absent_reads, 0);
}

/* Without TRUE capability MSRs the default-1 controls stay set, among them
 * "load debug controls": DR7 and IA32_DEBUGCTL are then checked too. */
TEST(valid_vmcs_with_default_controls_passes)
{
	caps.true_controls = false;
	caps.basic &= ~BIT(55);
	caps.procbased = cap(0x0401e172, 0xfff9fffe);
	caps.exit = cap(0x00036dff, 0x007fefff);
	caps.entry = cap(0x000011ff, 0x0003ffff);
	vmcs_len = 0;
	build_valid_vmcs();
	assert_true(get(ENTRY) & ENTRY_LOAD_DEBUG_CONTROLS);
	expect_pass();
}

TEST(real_mode_under_unrestricted_guest_passes)
{
	clear_bits(VMCS_GUEST_CR0, CR0_PE);
	expect_pass();
}

TEST(long_mode_guest_passes)
{
	long_mode_guest();
	set(VMCS_GUEST_RIP, 0xffff800000001000ULL);
	expect_pass();
}

TEST(virtual_8086_guest_passes)
{
	v86_guest(true, true);
	expect_pass();
}

TEST(pae_guest_with_ept_passes)
{
	pae_guest();
	set(VMCS_GUEST_PDPTE2, 0x6); /* not present: its reserved bits do not count */
	expect_pass();
}

TEST(secondary_controls_not_read_when_not_activated)
{
	clear_bits(CPU, CPU_ACTIVATE_SECONDARY_CONTROLS);
	drop(SEC);
	drop(VMCS_EPT_POINTER);
	drop(VMCS_VIRTUAL_PROCESSOR_ID);
	struct entry_check_input in = input();
	struct entry_check_result r;
	assert_false(entry_check_controls(&in, &r));
	assert_false(entry_check_host(&in, &r));
	assert_int_equal(absent_reads, 0);
	/* Without unrestricted guest the flat guest with paging off is invalid. */
	assert_true(entry_check_guest(&in, &r));
	assert_non_null(strstr(r.rule, "guest CR0 must set every bit"));
	assert_int_equal(absent_reads, 0);
}

TEST(cd_and_nw_are_never_checked)
{
	caps.cr0_fixed1 &= ~(CR0_CD | CR0_NW);
	or_bits(VMCS_GUEST_CR0, CR0_CD | CR0_NW);
	or_bits(VMCS_HOST_CR0, CR0_CD);
	expect_pass();
}

TEST(unusable_data_segment_is_not_checked)
{
	set(VMCS_GUEST_DS_AR_BYTES, AR_UNUSABLE | 0x0f00);
	set(VMCS_GUEST_DS_BASE, 1ULL << 40);
	set(VMCS_GUEST_DS_LIMIT, 0x12345);
	expect_pass();
}

TEST(type_3_cs_allowed_under_unrestricted_guest)
{
	set(VMCS_GUEST_CS_AR_BYTES, AR_DATA32_FLAT);
	expect_pass();
}

TEST(any_error_code_allowed_with_basic_bit_56)
{
	caps.basic |= BIT(56);
	inject(INTR(INTR_TYPE_HARDWARE_EXCEPTION, EXC_UD) | INTR_INFO_DELIVER_ERROR_CODE);
	set(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
	expect_pass();
}

TEST(zero_instruction_length_allowed_with_misc_bit_30)
{
	caps.misc |= BIT(30);
	inject(INTR(INTR_TYPE_SOFTWARE_INTERRUPT, 0x80));
	set(VMCS_VM_ENTRY_INSTRUCTION_LEN, 0);
	expect_pass();
}

TEST(hlt_state_accepts_external_interrupt)
{
	set(VMCS_GUEST_ACTIVITY_STATE, 1);
	or_bits(VMCS_GUEST_RFLAGS, RFLAGS_IF);
	inject(INTR(INTR_TYPE_EXTERNAL_INTERRUPT, 0x20));
	expect_pass();
}

TEST(nmi_blocking_allowed_without_virtual_nmis)
{
	inject(INTR(INTR_TYPE_NMI, 2));
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_NMI);
	expect_pass();
}

TEST(pending_bs_matching_tf_passes)
{
	set(VMCS_GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF | RFLAGS_TF);
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI);
	set(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, BIT(14));
	expect_pass();
}

TEST(rip_bit_47_set_with_63_48_clear_passes)
{
	/* The rule is "bits 63:48 identical", one bit looser than canonical. */
	long_mode_guest();
	set(VMCS_GUEST_RIP, 0x0000800000000000ULL);
	expect_pass();
}

TEST(host_ss_zero_allowed_for_64_bit_host)
{
	set(VMCS_HOST_SS_SELECTOR, 0);
	expect_pass();
}

/* --- SDM 27.2.1.1 VM-execution control fields -------------------------------------------- */

TEST(pin_required_bit_clear)
{
	clear_bits(PIN, BIT(1));
	expect_rule(S_EXEC, "pin-based controls must set every bit the capability MSR requires (allowed 0-settings)",
		    "PIN_BASED_VM_EXEC_CONTROL");
}

TEST(pin_unsupported_bit_set)
{
	or_bits(PIN, BIT(8));
	expect_rule(S_EXEC, "pin-based controls must clear every bit the capability MSR does not allow (allowed 1-settings)",
		    "PIN_BASED_VM_EXEC_CONTROL");
}

TEST(primary_required_bit_clear)
{
	clear_bits(CPU, BIT(26));
	expect_rule(S_EXEC, "primary processor-based controls must set every bit the capability MSR requires",
		    "CPU_BASED_VM_EXEC_CONTROL");
}

TEST(primary_unsupported_bit_set)
{
	or_bits(CPU, CPU_ACTIVATE_TERTIARY_CONTROLS);
	expect_rule(S_EXEC, "primary processor-based controls must clear every bit the capability MSR does not allow",
		    "CPU_BASED_VM_EXEC_CONTROL");
}

TEST(secondary_unsupported_bit_set)
{
	or_bits(SEC, BIT(15));
	expect_rule(S_EXEC, "secondary processor-based controls must clear every bit the capability MSR does not allow",
		    "SECONDARY_VM_EXEC_CONTROL");
}

TEST(cr3_target_count_above_4)
{
	set(VMCS_CR3_TARGET_COUNT, 5);
	expect_rule(S_EXEC, "CR3-target count must not be greater than 4", "CR3_TARGET_COUNT");
}

TEST(io_bitmap_unaligned)
{
	or_bits(CPU, CPU_USE_IO_BITMAPS);
	set(VMCS_IO_BITMAP_A, 0x5000);
	set(VMCS_IO_BITMAP_B, 0x6800);
	expect_rule(S_EXEC, "I/O-bitmap addresses must be 4-KByte aligned", "IO_BITMAP_B");
}

TEST(io_bitmap_beyond_width)
{
	or_bits(CPU, CPU_USE_IO_BITMAPS);
	set(VMCS_IO_BITMAP_A, 1ULL << 40);
	set(VMCS_IO_BITMAP_B, 0x6000);
	expect_rule(S_EXEC, "I/O-bitmap addresses must not set bits beyond", "IO_BITMAP_A");
}

TEST(msr_bitmap_unaligned)
{
	or_bits(CPU, CPU_USE_MSR_BITMAPS);
	set(VMCS_MSR_BITMAP, 0x7010);
	expect_rule(S_EXEC, "MSR-bitmap address must be 4-KByte aligned", "MSR_BITMAP");
}

TEST(virtual_apic_page_unaligned)
{
	tpr_shadow();
	set(VMCS_VIRTUAL_APIC_PAGE_ADDR, 0x8004);
	expect_rule(S_EXEC, "virtual-APIC address must be 4-KByte aligned", "VIRTUAL_APIC_PAGE_ADDR");
}

TEST(tpr_threshold_high_bits)
{
	tpr_shadow();
	set(VMCS_TPR_THRESHOLD, 0x10);
	expect_rule(S_EXEC, "TPR threshold bits 31:4 must be 0", "TPR_THRESHOLD");
}

TEST(apic_virtualization_without_tpr_shadow)
{
	or_bits(SEC, SEC_VIRTUALIZE_X2APIC_MODE);
	expect_rule(S_EXEC, "without \"use TPR shadow\"", "SECONDARY_VM_EXEC_CONTROL");
}

TEST(virtual_nmis_without_nmi_exiting)
{
	clear_bits(PIN, PIN_NMI_EXITING);
	or_bits(PIN, PIN_VIRTUAL_NMIS);
	expect_rule(S_EXEC, "\"virtual NMIs\" requires \"NMI exiting\"", "PIN_BASED_VM_EXEC_CONTROL");
}

TEST(nmi_window_without_virtual_nmis)
{
	or_bits(CPU, CPU_NMI_WINDOW_EXITING);
	expect_rule(S_EXEC, "\"NMI-window exiting\" requires \"virtual NMIs\"",
		    "CPU_BASED_VM_EXEC_CONTROL");
}

TEST(apic_access_page_unaligned)
{
	or_bits(SEC, SEC_VIRTUALIZE_APIC_ACCESSES);
	set(VMCS_APIC_ACCESS_ADDR, 0xfee00100);
	expect_rule(S_EXEC, "APIC-access address must be 4-KByte aligned", "APIC_ACCESS_ADDR");
}

TEST(x2apic_mode_with_apic_accesses)
{
	tpr_shadow();
	or_bits(SEC, SEC_VIRTUALIZE_X2APIC_MODE | SEC_VIRTUALIZE_APIC_ACCESSES);
	set(VMCS_APIC_ACCESS_ADDR, 0xfee00000);
	expect_rule(S_EXEC, "\"virtualize x2APIC mode\" and \"virtualize APIC accesses\" cannot both be 1",
		    "SECONDARY_VM_EXEC_CONTROL");
}

TEST(virtual_interrupt_delivery_without_external_interrupt_exiting)
{
	tpr_shadow();
	or_bits(SEC, SEC_VIRTUAL_INTERRUPT_DELIVERY);
	clear_bits(PIN, PIN_EXTERNAL_INTERRUPT_EXITING);
	expect_rule(S_EXEC, "\"virtual-interrupt delivery\" requires \"external-interrupt exiting\"",
		    "PIN_BASED_VM_EXEC_CONTROL");
}

TEST(posted_interrupts_without_virtual_interrupt_delivery)
{
	or_bits(PIN, PIN_POSTED_INTERRUPTS);
	expect_rule(S_EXEC, "\"process posted interrupts\" requires \"virtual-interrupt delivery\"",
		    "PIN_BASED_VM_EXEC_CONTROL");
}

TEST(posted_interrupt_vector_high_bits)
{
	tpr_shadow();
	or_bits(SEC, SEC_VIRTUAL_INTERRUPT_DELIVERY);
	or_bits(PIN, PIN_POSTED_INTERRUPTS);
	set(VMCS_POSTED_INTR_NOTIFICATION_VECTOR, 0x1f2);
	set(VMCS_POSTED_INTR_DESC_ADDR, 0x9000);
	expect_rule(S_EXEC, "posted-interrupt notification vector bits 15:8 must be 0",
		    "POSTED_INTR_NOTIFICATION_VECTOR");
}

TEST(posted_interrupt_descriptor_unaligned)
{
	tpr_shadow();
	or_bits(SEC, SEC_VIRTUAL_INTERRUPT_DELIVERY);
	or_bits(PIN, PIN_POSTED_INTERRUPTS);
	set(VMCS_POSTED_INTR_NOTIFICATION_VECTOR, 0xf2);
	set(VMCS_POSTED_INTR_DESC_ADDR, 0x9020);
	expect_rule(S_EXEC, "posted-interrupt descriptor address must be 64-byte aligned",
		    "POSTED_INTR_DESC_ADDR");
}

TEST(vpid_zero)
{
	set(VMCS_VIRTUAL_PROCESSOR_ID, 0);
	expect_rule(S_EXEC, "the VPID must not be 0", "VIRTUAL_PROCESSOR_ID");
}

TEST(eptp_unsupported_memory_type)
{
	set(VMCS_EPT_POINTER, (EPTP_VALUE & ~7ULL) | 1);
	expect_rule(S_EXEC, "EPTP memory type", "EPT_POINTER");
}

TEST(eptp_uc_needs_capability)
{
	caps.ept_vpid &= ~EPT_CAP_MEMTYPE_UC;
	set(VMCS_EPT_POINTER, EPTP_VALUE & ~7ULL);
	expect_rule(S_EXEC, "EPTP memory type", "EPT_POINTER");
}

TEST(eptp_walk_length_not_4)
{
	set(VMCS_EPT_POINTER, EPT_PML4 | (1 << 3) | 6);
	expect_rule(S_EXEC, "EPTP bits 5:3 must be the page-walk length minus 1", "EPT_POINTER");
}

TEST(eptp_ad_flags_unsupported)
{
	caps.ept_vpid &= ~EPT_CAP_AD_FLAGS;
	set(VMCS_EPT_POINTER, EPTP_VALUE | BIT(6));
	expect_rule(S_EXEC, "EPTP bit 6 (accessed/dirty flags) requires", "EPT_POINTER");
}

TEST(eptp_reserved_bits)
{
	set(VMCS_EPT_POINTER, EPTP_VALUE | BIT(8));
	expect_rule(S_EXEC, "EPTP reserved bits 11:8 must be 0", "EPT_POINTER");
}

TEST(eptp_beyond_width)
{
	set(VMCS_EPT_POINTER, EPTP_VALUE | (1ULL << 45));
	expect_rule(S_EXEC, "EPTP must not set bits beyond", "EPT_POINTER");
}

TEST(pml_without_ept)
{
	clear_bits(SEC, SEC_ENABLE_EPT);
	or_bits(SEC, SEC_ENABLE_PML);
	expect_rule(S_EXEC, "\"enable PML\" requires \"enable EPT\"", "SECONDARY_VM_EXEC_CONTROL");
}

TEST(pml_address_unaligned)
{
	or_bits(SEC, SEC_ENABLE_PML);
	set(VMCS_PML_ADDRESS, 0x1234010);
	expect_rule(S_EXEC, "PML address must be 4-KByte aligned", "PML_ADDRESS");
}

TEST(unrestricted_guest_without_ept)
{
	clear_bits(SEC, SEC_ENABLE_EPT);
	expect_rule(S_EXEC, "\"unrestricted guest\" and \"mode-based execute control for EPT\" require",
		    "SECONDARY_VM_EXEC_CONTROL");
}

TEST(eptp_list_unaligned)
{
	or_bits(SEC, SEC_ENABLE_VM_FUNCTIONS);
	set(VMCS_VM_FUNCTION_CONTROLS, 1);
	set(VMCS_EPTP_LIST_ADDR, 0x3008);
	expect_rule(S_EXEC, "EPTP-list address must be 4-KByte aligned", "EPTP_LIST_ADDR");
}

TEST(vmwrite_bitmap_unaligned)
{
	or_bits(SEC, SEC_VMCS_SHADOWING);
	set(VMCS_VMREAD_BITMAP, 0xa000);
	set(VMCS_VMWRITE_BITMAP, 0xb001);
	expect_rule(S_EXEC, "VMREAD/VMWRITE-bitmap addresses must be 4-KByte aligned", "VMWRITE_BITMAP");
}

TEST(ve_information_address_unaligned)
{
	or_bits(SEC, SEC_EPT_VIOLATION_VE);
	set(VMCS_VE_INFO_ADDR, 0xc800);
	expect_rule(S_EXEC, "virtualization-exception information address must be 4-KByte aligned",
		    "VE_INFO_ADDR");
}

/* --- SDM 27.2.1.2 VM-exit control fields ----------------------------------------------- */

TEST(exit_required_bit_clear)
{
	clear_bits(EXIT, BIT(0));
	expect_rule(S_EXIT, "VM-exit controls must set every bit the capability MSR requires (allowed 0-settings)", "VM_EXIT_CONTROLS");
}

TEST(exit_unsupported_bit_set)
{
	or_bits(EXIT, EXIT_LOAD_PERF_GLOBAL_CTRL);
	expect_rule(S_EXIT, "VM-exit controls must clear every bit the capability MSR does not allow (allowed 1-settings)", "VM_EXIT_CONTROLS");
}

TEST(save_timer_without_timer)
{
	clear_bits(PIN, PIN_PREEMPTION_TIMER);
	expect_rule(S_EXIT, "\"save VMX-preemption timer value\" requires", "VM_EXIT_CONTROLS");
}

TEST(exit_msr_store_unaligned)
{
	set(VMCS_VM_EXIT_MSR_STORE_COUNT, 1);
	set(VMCS_VM_EXIT_MSR_STORE_ADDR, 0x1008);
	expect_rule(S_EXIT, "VM-exit MSR-store address must be 16-byte aligned", "VM_EXIT_MSR_STORE_ADDR");
}

TEST(exit_msr_store_address_not_read_when_count_is_zero)
{
	set(VMCS_VM_EXIT_MSR_STORE_ADDR, 0x1008);
	expect_pass();
}

TEST(exit_msr_load_beyond_width)
{
	set(VMCS_VM_EXIT_MSR_LOAD_COUNT, 1);
	set(VMCS_VM_EXIT_MSR_LOAD_ADDR, 1ULL << 41);
	expect_rule(S_EXIT, "VM-exit MSR-load address must not set bits beyond", "VM_EXIT_MSR_LOAD_ADDR");
}

TEST(exit_msr_load_area_ends_beyond_width)
{
	set(VMCS_VM_EXIT_MSR_LOAD_COUNT, 2);
	set(VMCS_VM_EXIT_MSR_LOAD_ADDR, (1ULL << 40) - 16);
	expect_rule(S_EXIT, "last byte of the VM-exit MSR-load area", "VM_EXIT_MSR_LOAD_COUNT");
}

TEST(exit_msr_load_count_above_recommended_maximum)
{
	set(VMCS_VM_EXIT_MSR_LOAD_COUNT, 513);
	set(VMCS_VM_EXIT_MSR_LOAD_ADDR, 0x100000);
	expect_rule("SDM A.6", "VM-exit MSR-load count should not exceed 512 * (IA32_VMX_MISC[27:25] + 1)",
		    "VM_EXIT_MSR_LOAD_COUNT");
}

/* --- SDM 27.2.1.3 VM-entry control fields ------------------------------------------------ */

TEST(entry_required_bit_clear)
{
	clear_bits(ENTRY, BIT(0));
	expect_rule(S_ENTRY, "VM-entry controls must set every bit the capability MSR requires (allowed 0-settings)", "VM_ENTRY_CONTROLS");
}

TEST(entry_unsupported_bit_set)
{
	or_bits(ENTRY, BIT(20));
	expect_rule(S_ENTRY, "VM-entry controls must clear every bit the capability MSR does not allow (allowed 1-settings)", "VM_ENTRY_CONTROLS");
}

TEST(inject_reserved_type_1)
{
	inject(INTR(1, 0x20));
	expect_rule(S_ENTRY, "interruption type is reserved", "VM_ENTRY_INTR_INFO");
}

TEST(inject_other_event_without_mtf)
{
	caps.procbased &= ~((uint64_t)CPU_MONITOR_TRAP_FLAG << 32);
	inject(INTR(INTR_TYPE_OTHER_EVENT, 0));
	expect_rule(S_ENTRY, "interruption type is reserved", "VM_ENTRY_INTR_INFO");
}

TEST(inject_nmi_with_wrong_vector)
{
	inject(INTR(INTR_TYPE_NMI, 3));
	expect_rule(S_ENTRY, "an NMI must have vector 2", "VM_ENTRY_INTR_INFO");
}

TEST(inject_hardware_exception_vector_above_31)
{
	inject(INTR(INTR_TYPE_HARDWARE_EXCEPTION, 32));
	expect_rule(S_ENTRY, "a hardware exception must have a vector of at most 31", "VM_ENTRY_INTR_INFO");
}

TEST(inject_other_event_with_nonzero_vector)
{
	inject(INTR(INTR_TYPE_OTHER_EVENT, 1));
	expect_rule(S_ENTRY, "\"other event\" (pending MTF VM exit) must have vector 0", "VM_ENTRY_INTR_INFO");
}

TEST(inject_gp_without_error_code)
{
	inject(INTR(INTR_TYPE_HARDWARE_EXCEPTION, EXC_GP));
	expect_rule(S_ENTRY, "deliver-error-code (bit 11) must be 1 exactly", "VM_ENTRY_INTR_INFO");
}

TEST(inject_ud_with_error_code)
{
	inject(INTR(INTR_TYPE_HARDWARE_EXCEPTION, EXC_UD) | INTR_INFO_DELIVER_ERROR_CODE);
	set(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
	expect_rule(S_ENTRY, "deliver-error-code (bit 11) must be 1 exactly", "VM_ENTRY_INTR_INFO");
}

TEST(inject_error_code_in_real_mode)
{
	clear_bits(VMCS_GUEST_CR0, CR0_PE);
	inject(INTR(INTR_TYPE_HARDWARE_EXCEPTION, EXC_GP) | INTR_INFO_DELIVER_ERROR_CODE);
	set(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
	expect_rule(S_ENTRY, "deliver-error-code (bit 11) must be 1 exactly", "real mode");
}

TEST(inject_reserved_bits)
{
	inject(INTR(INTR_TYPE_HARDWARE_EXCEPTION, EXC_UD) | INTR_INFO_NMI_UNBLOCKING);
	expect_rule(S_ENTRY, "reserved bits 30:12 of the interruption information must be 0",
		    "VM_ENTRY_INTR_INFO");
}

TEST(inject_error_code_high_bits)
{
	inject(INTR(INTR_TYPE_HARDWARE_EXCEPTION, EXC_GP) | INTR_INFO_DELIVER_ERROR_CODE);
	set(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000);
	expect_rule(S_ENTRY, "bits 31:16 of the error code must be 0", "VM_ENTRY_EXCEPTION_ERROR_CODE");
}

TEST(inject_software_interrupt_length_zero)
{
	inject(INTR(INTR_TYPE_SOFTWARE_INTERRUPT, 0x80));
	set(VMCS_VM_ENTRY_INSTRUCTION_LEN, 0);
	expect_rule(S_ENTRY, "instruction length must be 1-15", "VM_ENTRY_INSTRUCTION_LEN");
}

TEST(inject_software_exception_length_16)
{
	inject(INTR(INTR_TYPE_SOFTWARE_EXCEPTION, EXC_BP));
	set(VMCS_VM_ENTRY_INSTRUCTION_LEN, 16);
	expect_rule(S_ENTRY, "instruction length must be 1-15", "VM_ENTRY_INSTRUCTION_LEN");
}

TEST(entry_msr_load_unaligned)
{
	set(VMCS_VM_ENTRY_MSR_LOAD_COUNT, 1);
	set(VMCS_VM_ENTRY_MSR_LOAD_ADDR, 0x2004);
	expect_rule(S_ENTRY, "VM-entry MSR-load address must be 16-byte aligned", "VM_ENTRY_MSR_LOAD_ADDR");
}

TEST(entry_to_smm_outside_smm)
{
	or_bits(ENTRY, ENTRY_ENTRY_TO_SMM);
	expect_rule(S_ENTRY, "outside SMM, \"entry to SMM\"", "VM_ENTRY_CONTROLS");
}

/* --- SDM 27.2.2 host control registers and MSRs --------------------------------------------- */

TEST(host_cr0_ne_clear)
{
	clear_bits(VMCS_HOST_CR0, CR0_NE);
	expect_rule(S_HOST_CR, "host CR0 must set every bit IA32_VMX_CR0_FIXED0 sets", "HOST_CR0");
}

TEST(host_cr0_high_bit_set)
{
	or_bits(VMCS_HOST_CR0, 1ULL << 32);
	expect_rule(S_HOST_CR, "host CR0 must clear every bit IA32_VMX_CR0_FIXED1 clears", "HOST_CR0");
}

TEST(host_cr4_vmxe_clear)
{
	clear_bits(VMCS_HOST_CR4, CR4_VMXE);
	expect_rule(S_HOST_CR, "host CR4 must set every bit IA32_VMX_CR4_FIXED0 sets", "HOST_CR4");
}

TEST(host_cr4_unsupported_bit)
{
	or_bits(VMCS_HOST_CR4, CR4_LA57);
	expect_rule(S_HOST_CR, "host CR4 must clear every bit IA32_VMX_CR4_FIXED1 clears", "HOST_CR4");
}

TEST(host_cr3_beyond_width)
{
	set(VMCS_HOST_CR3, 1ULL << 41);
	expect_rule(S_HOST_CR, "host CR3 must not set bits beyond", "HOST_CR3");
}

TEST(host_cet_without_wp)
{
	caps.cr4_fixed1 |= BIT(23);
	or_bits(VMCS_HOST_CR4, BIT(23));
	clear_bits(VMCS_HOST_CR0, CR0_WP);
	expect_rule(S_HOST_CR, "host CR4.CET = 1 requires CR0.WP = 1", "HOST_CR0");
}

TEST(host_sysenter_esp_not_canonical)
{
	set(VMCS_HOST_IA32_SYSENTER_ESP, 0x0000800000000000ULL);
	expect_rule(S_HOST_CR, "host IA32_SYSENTER_ESP must be canonical", "HOST_IA32_SYSENTER_ESP");
}

TEST(host_sysenter_eip_not_canonical)
{
	set(VMCS_HOST_IA32_SYSENTER_EIP, 0x8000000000000000ULL);
	expect_rule(S_HOST_CR, "host IA32_SYSENTER_EIP must be canonical", "HOST_IA32_SYSENTER_EIP");
}

TEST(host_pat_invalid_type)
{
	set(VMCS_HOST_IA32_PAT, 0x0007040600020406ULL);
	expect_rule(S_HOST_CR, "host IA32_PAT", "HOST_IA32_PAT");
}

TEST(host_pat_not_read_without_load_pat)
{
	clear_bits(EXIT, EXIT_LOAD_IA32_PAT);
	drop(VMCS_HOST_IA32_PAT);
	expect_pass();
}

TEST(host_efer_reserved_bit)
{
	or_bits(VMCS_HOST_IA32_EFER, BIT(1));
	expect_rule(S_HOST_CR, "host IA32_EFER: reserved bits must be 0", "HOST_IA32_EFER");
}

TEST(host_efer_lma_clear)
{
	clear_bits(VMCS_HOST_IA32_EFER, EFER_LMA);
	expect_rule(S_HOST_CR, "host IA32_EFER.LMA and LME must each equal", "HOST_IA32_EFER");
}

/* --- SDM 27.2.3 host segment and descriptor-table registers ------------------------------------ */

TEST(host_selector_rpl)
{
	set(VMCS_HOST_DS_SELECTOR, 0x13);
	expect_rule(S_HOST_SEG, "host selectors must have RPL = 0 and TI = 0", "HOST_DS_SELECTOR");
}

TEST(host_selector_ti)
{
	set(VMCS_HOST_TR_SELECTOR, 0x1c);
	expect_rule(S_HOST_SEG, "host selectors must have RPL = 0 and TI = 0", "HOST_TR_SELECTOR");
}

TEST(host_cs_zero)
{
	set(VMCS_HOST_CS_SELECTOR, 0);
	expect_rule(S_HOST_SEG, "host CS selector must not be 0", "HOST_CS_SELECTOR");
}

TEST(host_tr_zero)
{
	set(VMCS_HOST_TR_SELECTOR, 0);
	expect_rule(S_HOST_SEG, "host TR selector must not be 0", "HOST_TR_SELECTOR");
}

/* A 32-bit VMM: "host address-space size" 0 and a matching host EFER. */
static void legacy_vmm(void)
{
	vmm_outside_ia32e = true;
	clear_bits(EXIT, EXIT_HOST_ADDRESS_SPACE_SIZE);
	set(VMCS_HOST_IA32_EFER, EFER_SCE | EFER_NXE);
	set(VMCS_HOST_RIP, 0x00102340);
	set(VMCS_HOST_TR_BASE, 0x00120000);
}

TEST(host_ss_zero_for_32_bit_host)
{
	legacy_vmm();
	set(VMCS_HOST_SS_SELECTOR, 0);
	expect_rule(S_HOST_SEG, "host SS selector must not be 0", "HOST_SS_SELECTOR");
}

TEST(host_fs_base_not_canonical)
{
	set(VMCS_HOST_FS_BASE, 0x0000800000000000ULL);
	expect_rule(S_HOST_SEG, "base addresses must be canonical", "HOST_FS_BASE");
}

TEST(host_gdtr_base_not_canonical)
{
	set(VMCS_HOST_GDTR_BASE, 0x7fffffff80121000ULL);
	expect_rule(S_HOST_SEG, "base addresses must be canonical", "HOST_GDTR_BASE");
}

/* --- SDM 27.2.4 address-space size ------------------------------------------------------ */

TEST(host_address_space_size_zero_in_ia32e_vmm)
{
	clear_bits(EXIT, EXIT_HOST_ADDRESS_SPACE_SIZE);
	set(VMCS_HOST_IA32_EFER, EFER_SCE | EFER_NXE);
	expect_rule(S_HOST_SIZE, "the VMM runs in IA-32e mode", "VM_EXIT_CONTROLS");
}

TEST(legacy_vmm_with_ia32e_guest)
{
	legacy_vmm();
	or_bits(ENTRY, ENTRY_IA32E_MODE_GUEST);
	expect_rule(S_HOST_SIZE, "a VMM outside IA-32e mode needs", "VM_ENTRY_CONTROLS");
}

TEST(legacy_vmm_valid_passes_host_checks)
{
	legacy_vmm();
	struct entry_check_input in = input();
	struct entry_check_result r;
	assert_false(entry_check_host(&in, &r));
}

TEST(host_32_bit_with_pcide)
{
	legacy_vmm();
	or_bits(VMCS_HOST_CR4, CR4_PCIDE);
	expect_rule(S_HOST_SIZE, "must have CR4.PCIDE = 0", "HOST_CR4");
}

TEST(host_32_bit_rip_high)
{
	legacy_vmm();
	set(VMCS_HOST_RIP, 0x100102340ULL);
	expect_rule(S_HOST_SIZE, "must have RIP bits 63:32 = 0", "HOST_RIP");
}

TEST(host_64_bit_without_pae)
{
	clear_bits(VMCS_HOST_CR4, CR4_PAE);
	expect_rule(S_HOST_SIZE, "must have CR4.PAE = 1", "HOST_CR4");
}

TEST(host_rip_not_canonical)
{
	set(VMCS_HOST_RIP, 0xffff7fff80102340ULL);
	expect_rule(S_HOST_SIZE, "must have a canonical RIP", "HOST_RIP");
}

/* --- SDM 27.3.1.1 guest control registers, debug registers and MSRs ------------------------------ */

TEST(guest_cr0_ne_clear)
{
	clear_bits(VMCS_GUEST_CR0, CR0_NE);
	expect_rule(S_GUEST_CR, "guest CR0 must set every bit IA32_VMX_CR0_FIXED0 sets", "GUEST_CR0");
}

TEST(guest_cr0_paging_off_without_unrestricted_guest)
{
	clear_bits(SEC, SEC_UNRESTRICTED_GUEST);
	expect_rule(S_GUEST_CR, "guest CR0 must set every bit IA32_VMX_CR0_FIXED0 sets", "GUEST_CR0");
}

TEST(guest_cr0_high_bit_set)
{
	or_bits(VMCS_GUEST_CR0, 1ULL << 40);
	expect_rule(S_GUEST_CR, "guest CR0 must clear every bit IA32_VMX_CR0_FIXED1 clears", "GUEST_CR0");
}

TEST(guest_cr0_pg_without_pe)
{
	set(VMCS_GUEST_CR0, (get(VMCS_GUEST_CR0) | CR0_PG) & ~CR0_PE);
	expect_rule(S_GUEST_CR, "guest CR0.PG = 1 requires CR0.PE = 1", "GUEST_CR0");
}

TEST(guest_cr4_vmxe_clear)
{
	clear_bits(VMCS_GUEST_CR4, CR4_VMXE);
	expect_rule(S_GUEST_CR, "guest CR4 must set every bit IA32_VMX_CR4_FIXED0 sets", "GUEST_CR4");
}

TEST(guest_cr4_unsupported_bit)
{
	or_bits(VMCS_GUEST_CR4, CR4_SMXE);
	expect_rule(S_GUEST_CR, "guest CR4 must clear every bit IA32_VMX_CR4_FIXED1 clears", "GUEST_CR4");
}

TEST(guest_cet_without_wp)
{
	caps.cr4_fixed1 |= BIT(23);
	or_bits(VMCS_GUEST_CR4, BIT(23));
	expect_rule(S_GUEST_CR, "guest CR4.CET = 1 requires CR0.WP = 1", "GUEST_CR4");
}

TEST(guest_debugctl_reserved_bit)
{
	or_bits(ENTRY, ENTRY_LOAD_DEBUG_CONTROLS);
	set(VMCS_GUEST_IA32_DEBUGCTL, BIT(3));
	expect_rule(S_GUEST_CR, "guest IA32_DEBUGCTL reserved bits must be 0", "GUEST_IA32_DEBUGCTL");
}

TEST(guest_ia32e_mode_without_paging)
{
	or_bits(ENTRY, ENTRY_IA32E_MODE_GUEST);
	expect_rule(S_GUEST_CR, "\"IA-32e mode guest\" requires guest CR0.PG = 1 and CR4.PAE = 1",
		    "GUEST_CR0");
}

TEST(guest_pcide_outside_ia32e_mode)
{
	or_bits(VMCS_GUEST_CR4, CR4_PCIDE);
	expect_rule(S_GUEST_CR, "guest CR4.PCIDE must be 0", "GUEST_CR4");
}

TEST(guest_cr3_beyond_width)
{
	set(VMCS_GUEST_CR3, 1ULL << 40);
	expect_rule(S_GUEST_CR, "guest CR3 must not set bits beyond", "GUEST_CR3");
}

TEST(guest_dr7_high_bits)
{
	or_bits(ENTRY, ENTRY_LOAD_DEBUG_CONTROLS);
	set(VMCS_GUEST_DR7, (1ULL << 32) | 0x400);
	expect_rule(S_GUEST_CR, "guest DR7 bits 63:32 must be 0", "GUEST_DR7");
}

TEST(guest_dr7_not_checked_without_load_debug_controls)
{
	set(VMCS_GUEST_DR7, (1ULL << 32) | 0x400);
	expect_pass();
}

TEST(guest_sysenter_esp_not_canonical)
{
	set(VMCS_GUEST_SYSENTER_ESP, 0x0001000000000000ULL);
	expect_rule(S_GUEST_CR, "guest IA32_SYSENTER_ESP must be canonical", "GUEST_SYSENTER_ESP");
}

TEST(guest_sysenter_eip_not_canonical)
{
	set(VMCS_GUEST_SYSENTER_EIP, 0xffff7fffffffffffULL);
	expect_rule(S_GUEST_CR, "guest IA32_SYSENTER_EIP must be canonical", "GUEST_SYSENTER_EIP");
}

TEST(guest_pat_invalid_type)
{
	set(VMCS_GUEST_IA32_PAT, 0x0007040600070403ULL);
	expect_rule(S_GUEST_CR, "guest IA32_PAT", "GUEST_IA32_PAT");
}

TEST(guest_efer_reserved_bit)
{
	set(VMCS_GUEST_IA32_EFER, BIT(9));
	expect_rule(S_GUEST_CR, "guest IA32_EFER: reserved bits must be 0", "GUEST_IA32_EFER");
}

TEST(guest_efer_lma_without_ia32e_mode)
{
	set(VMCS_GUEST_IA32_EFER, EFER_LMA | EFER_LME);
	expect_rule(S_GUEST_CR, "guest IA32_EFER.LMA must equal \"IA-32e mode guest\"", "GUEST_IA32_EFER");
}

TEST(guest_efer_lme_without_lma_with_paging)
{
	or_bits(VMCS_GUEST_CR0, CR0_PG);
	set(VMCS_GUEST_IA32_EFER, EFER_LME);
	expect_rule(S_GUEST_CR, "IA32_EFER.LME must equal LMA", "GUEST_IA32_EFER");
}

/* --- SDM 27.3.1.2 guest segment registers --------------------------------------------------- */

TEST(tr_selector_ti)
{
	set(VMCS_GUEST_TR_SELECTOR, 0x4);
	expect_rule(S_GUEST_SEG, "TR selector must have TI = 0", "GUEST_TR_SELECTOR");
}

TEST(ldtr_selector_ti)
{
	usable_ldtr();
	set(VMCS_GUEST_LDTR_SELECTOR, 0x1c);
	expect_rule(S_GUEST_SEG, "a usable LDTR's selector must have TI = 0", "GUEST_LDTR_SELECTOR");
}

TEST(ss_rpl_differs_from_cs_rpl)
{
	restricted_guest();
	set(VMCS_GUEST_SS_SELECTOR, 0x13);
	expect_rule(S_GUEST_SEG, "RPL of SS must equal the RPL of CS", "GUEST_SS_SELECTOR");
}

TEST(v86_base_not_selector_times_16)
{
	or_bits(VMCS_GUEST_RFLAGS, RFLAGS_VM);
	expect_rule(S_GUEST_SEG, "base must be its selector times 16", "GUEST_CS_BASE");
}

TEST(v86_limit_not_ffff)
{
	v86_guest(false, false);
	expect_rule(S_GUEST_SEG, "every segment limit must be 0xFFFF", "GUEST_CS_LIMIT");
}

TEST(v86_access_rights_not_f3)
{
	v86_guest(true, false);
	expect_rule(S_GUEST_SEG, "access rights must be 0xF3", "GUEST_CS_AR_BYTES");
}

TEST(fs_base_not_canonical)
{
	set(VMCS_GUEST_FS_BASE, 0x0000800000000000ULL);
	expect_rule(S_GUEST_SEG, "TR, FS and GS base addresses must be canonical", "GUEST_FS_BASE");
}

TEST(tr_base_not_canonical)
{
	set(VMCS_GUEST_TR_BASE, 0x1000000000000000ULL);
	expect_rule(S_GUEST_SEG, "TR, FS and GS base addresses must be canonical", "GUEST_TR_BASE");
}

TEST(ldtr_base_not_canonical)
{
	usable_ldtr();
	set(VMCS_GUEST_LDTR_BASE, 0x0000900000000000ULL);
	expect_rule(S_GUEST_SEG, "a usable LDTR's base address must be canonical", "GUEST_LDTR_BASE");
}

TEST(cs_base_high_bits)
{
	set(VMCS_GUEST_CS_BASE, 1ULL << 32);
	expect_rule(S_GUEST_SEG, "CS base bits 63:32 must be 0", "GUEST_CS_BASE");
}

TEST(ds_base_high_bits)
{
	set(VMCS_GUEST_DS_BASE, 1ULL << 33);
	expect_rule(S_GUEST_SEG, "a usable SS, DS or ES must have base bits 63:32 = 0", "GUEST_DS_BASE");
}

TEST(cs_data_type_without_unrestricted_guest)
{
	restricted_guest();
	set(VMCS_GUEST_CS_AR_BYTES, AR_DATA32_FLAT);
	expect_rule(S_GUEST_SEG, "CS type must be an accessed code segment", "GUEST_CS_AR_BYTES");
}

TEST(cs_not_accessed)
{
	set(VMCS_GUEST_CS_AR_BYTES, 0xc09a);
	expect_rule(S_GUEST_SEG, "CS type must be an accessed code segment", "GUEST_CS_AR_BYTES");
}

TEST(ss_code_type)
{
	set(VMCS_GUEST_SS_AR_BYTES, AR_CODE32_FLAT);
	expect_rule(S_GUEST_SEG, "a usable SS must be a read/write accessed data segment", "GUEST_SS_AR_BYTES");
}

TEST(ds_not_accessed)
{
	set(VMCS_GUEST_DS_AR_BYTES, 0xc092);
	expect_rule(S_GUEST_SEG, "must have the accessed bit", "GUEST_DS_AR_BYTES");
}

TEST(es_execute_only_code)
{
	set(VMCS_GUEST_ES_AR_BYTES, 0xc099);
	expect_rule(S_GUEST_SEG, "that is a code segment must be readable", "GUEST_ES_AR_BYTES");
}

TEST(fs_system_segment)
{
	set(VMCS_GUEST_FS_AR_BYTES, 0xc083);
	expect_rule(S_GUEST_SEG, "must be code or data segments (S = 1)", "GUEST_FS_AR_BYTES");
}

TEST(cs_type_3_with_dpl_3)
{
	set(VMCS_GUEST_CS_AR_BYTES, 0xc0f3);
	expect_rule(S_GUEST_SEG, "CS of type 3 (unrestricted guest) must have DPL 0", "GUEST_CS_AR_BYTES");
}

TEST(nonconforming_cs_dpl_differs_from_ss_dpl)
{
	set(VMCS_GUEST_CS_AR_BYTES, 0xc0fb);
	expect_rule(S_GUEST_SEG, "a non-conforming CS (type 9 or 11) must have DPL equal to SS.DPL",
		    "GUEST_SS_AR_BYTES");
}

TEST(conforming_cs_dpl_above_ss_dpl)
{
	set(VMCS_GUEST_CS_AR_BYTES, 0xc0ff);
	expect_rule(S_GUEST_SEG, "a conforming CS (type 13 or 15) must have DPL not greater than SS.DPL",
		    "GUEST_CS_AR_BYTES");
}

TEST(ss_dpl_differs_from_rpl)
{
	restricted_guest();
	set(VMCS_GUEST_CS_SELECTOR, 0x0b);
	set(VMCS_GUEST_CS_AR_BYTES, 0xc09f); /* conforming, DPL 0 */
	set(VMCS_GUEST_SS_SELECTOR, 0x13);
	expect_rule(S_GUEST_SEG, "SS.DPL must equal the RPL of the SS selector", "GUEST_SS_SELECTOR");
}

TEST(ss_dpl_not_0_in_real_mode)
{
	clear_bits(VMCS_GUEST_CR0, CR0_PE);
	set(VMCS_GUEST_CS_AR_BYTES, AR_DATA32_FLAT);
	set(VMCS_GUEST_SS_AR_BYTES, 0xc0f3);
	expect_rule(S_GUEST_SEG, "SS.DPL must be 0 when CS type is 3 or CR0.PE is 0", "GUEST_SS_AR_BYTES");
}

TEST(ds_dpl_below_rpl)
{
	restricted_guest();
	set(VMCS_GUEST_DS_SELECTOR, 0x13);
	expect_rule(S_GUEST_SEG, "must have DPL not less than its selector's RPL", "GUEST_DS_SELECTOR");
}

TEST(gs_not_present)
{
	set(VMCS_GUEST_GS_AR_BYTES, 0xc013);
	expect_rule(S_GUEST_SEG, "must be present (P = 1)", "GUEST_GS_AR_BYTES");
}

TEST(es_reserved_bits_11_8)
{
	set(VMCS_GUEST_ES_AR_BYTES, AR_DATA32_FLAT | 0x100);
	expect_rule(S_GUEST_SEG, "access rights bits 11:8 (reserved) must be 0", "GUEST_ES_AR_BYTES");
}

TEST(cs_l_and_db_in_ia32e_mode)
{
	long_mode_guest();
	set(VMCS_GUEST_CS_AR_BYTES, 0xe09b);
	expect_rule(S_GUEST_SEG, "a 64-bit CS (L = 1) must have D/B = 0", "GUEST_CS_AR_BYTES");
}

TEST(ss_limit_disagrees_with_g)
{
	set(VMCS_GUEST_SS_LIMIT, 0x000ff000);
	expect_rule(S_GUEST_SEG, "segment limit and G disagree", "GUEST_SS_LIMIT");
}

TEST(ds_large_limit_with_byte_granularity)
{
	set(VMCS_GUEST_DS_AR_BYTES, 0x4093);
	expect_rule(S_GUEST_SEG, "segment limit and G disagree", "GUEST_DS_LIMIT");
}

TEST(cs_reserved_bits_31_17)
{
	set(VMCS_GUEST_CS_AR_BYTES, AR_CODE32_FLAT | BIT(17));
	expect_rule(S_GUEST_SEG, "access rights bits 31:17 (reserved) must be 0", "GUEST_CS_AR_BYTES");
}

TEST(tr_16_bit_tss_in_ia32e_mode)
{
	long_mode_guest();
	set(VMCS_GUEST_TR_AR_BYTES, 0x83);
	expect_rule(S_GUEST_SEG, "TR must be a busy TSS", "GUEST_TR_AR_BYTES");
}

TEST(tr_available_tss)
{
	set(VMCS_GUEST_TR_AR_BYTES, 0x89);
	expect_rule(S_GUEST_SEG, "TR must be a busy TSS", "GUEST_TR_AR_BYTES");
}

TEST(tr_not_system_segment)
{
	set(VMCS_GUEST_TR_AR_BYTES, 0x9b);
	expect_rule(S_GUEST_SEG, "TR must be a system segment (S = 0)", "GUEST_TR_AR_BYTES");
}

TEST(tr_not_present)
{
	set(VMCS_GUEST_TR_AR_BYTES, 0x0b);
	expect_rule(S_GUEST_SEG, "TR must be present (P = 1)", "GUEST_TR_AR_BYTES");
}

TEST(tr_reserved_bits_11_8)
{
	set(VMCS_GUEST_TR_AR_BYTES, 0x18b);
	expect_rule(S_GUEST_SEG, "TR access rights bits 11:8 (reserved) must be 0", "GUEST_TR_AR_BYTES");
}

TEST(tr_limit_disagrees_with_g)
{
	set(VMCS_GUEST_TR_LIMIT, 0x100000);
	expect_rule(S_GUEST_SEG, "TR limit and G disagree", "GUEST_TR_LIMIT");
}

TEST(tr_unusable)
{
	set(VMCS_GUEST_TR_AR_BYTES, AR_UNUSABLE | AR_TSS32_BUSY);
	expect_rule(S_GUEST_SEG, "TR must be usable", "GUEST_TR_AR_BYTES");
}

TEST(tr_reserved_bits_31_17)
{
	set(VMCS_GUEST_TR_AR_BYTES, BIT(17) | AR_TSS32_BUSY);
	expect_rule(S_GUEST_SEG, "TR access rights bits 31:17 (reserved) must be 0", "GUEST_TR_AR_BYTES");
}

TEST(ldtr_wrong_type)
{
	usable_ldtr();
	set(VMCS_GUEST_LDTR_AR_BYTES, 0x83);
	expect_rule(S_GUEST_SEG, "a usable LDTR must have type 2", "GUEST_LDTR_AR_BYTES");
}

TEST(ldtr_not_system_segment)
{
	usable_ldtr();
	set(VMCS_GUEST_LDTR_AR_BYTES, 0x92);
	expect_rule(S_GUEST_SEG, "a usable LDTR must be a system segment", "GUEST_LDTR_AR_BYTES");
}

TEST(ldtr_not_present)
{
	usable_ldtr();
	set(VMCS_GUEST_LDTR_AR_BYTES, 0x02);
	expect_rule(S_GUEST_SEG, "a usable LDTR must be present", "GUEST_LDTR_AR_BYTES");
}

TEST(ldtr_reserved_bits_11_8)
{
	usable_ldtr();
	set(VMCS_GUEST_LDTR_AR_BYTES, 0x482);
	expect_rule(S_GUEST_SEG, "LDTR access rights bits 11:8", "GUEST_LDTR_AR_BYTES");
}

TEST(ldtr_limit_disagrees_with_g)
{
	usable_ldtr();
	set(VMCS_GUEST_LDTR_AR_BYTES, 0x8082);
	expect_rule(S_GUEST_SEG, "LDTR limit and G disagree", "GUEST_LDTR_LIMIT");
}

TEST(ldtr_reserved_bits_31_17)
{
	usable_ldtr();
	set(VMCS_GUEST_LDTR_AR_BYTES, BIT(20) | 0x82);
	expect_rule(S_GUEST_SEG, "LDTR access rights bits 31:17", "GUEST_LDTR_AR_BYTES");
}

/* --- SDM 27.3.1.3 GDTR and IDTR ----------------------------------------------------------- */

TEST(gdtr_base_not_canonical)
{
	set(VMCS_GUEST_GDTR_BASE, 0x0000800000000000ULL);
	expect_rule(S_GUEST_DT, "GDTR base address must be canonical", "GUEST_GDTR_BASE");
}

TEST(idtr_base_not_canonical)
{
	set(VMCS_GUEST_IDTR_BASE, 0x00f0000000000000ULL);
	expect_rule(S_GUEST_DT, "IDTR base address must be canonical", "GUEST_IDTR_BASE");
}

TEST(gdtr_limit_above_ffff)
{
	set(VMCS_GUEST_GDTR_LIMIT, 0x10000);
	expect_rule(S_GUEST_DT, "GDTR limit bits 31:16 must be 0", "GUEST_GDTR_LIMIT");
}

TEST(idtr_limit_above_ffff)
{
	set(VMCS_GUEST_IDTR_LIMIT, 0x1ffff);
	expect_rule(S_GUEST_DT, "IDTR limit bits 31:16 must be 0", "GUEST_IDTR_LIMIT");
}

/* --- SDM 27.3.1.4 RIP and RFLAGS --------------------------------------------------------- */

TEST(rip_high_bits_outside_64_bit_mode)
{
	set(VMCS_GUEST_RIP, (1ULL << 32) | GUEST_ENTRY);
	expect_rule(S_GUEST_RIP, "RIP bits 63:32 must be 0", "GUEST_RIP");
}

TEST(rip_high_bits_in_compatibility_mode)
{
	long_mode_guest();
	set(VMCS_GUEST_CS_AR_BYTES, AR_CODE32_FLAT); /* L = 0 */
	set(VMCS_GUEST_RIP, 0xffff800000001000ULL);
	expect_rule(S_GUEST_RIP, "RIP bits 63:32 must be 0", "GUEST_RIP");
}

TEST(rip_not_canonical_in_64_bit_mode)
{
	long_mode_guest();
	set(VMCS_GUEST_RIP, 0x0001000000000000ULL);
	expect_rule(S_GUEST_RIP, "RIP bits 63:N", "GUEST_RIP");
}

TEST(rflags_reserved_bit)
{
	or_bits(VMCS_GUEST_RFLAGS, BIT(15));
	expect_rule(S_GUEST_RIP, "RFLAGS reserved bits 63:22, 15, 5 and 3 must be 0", "GUEST_RFLAGS");
}

TEST(rflags_bit_1_clear)
{
	set(VMCS_GUEST_RFLAGS, 0);
	expect_rule(S_GUEST_RIP, "RFLAGS bit 1 (reserved) must be 1", "GUEST_RFLAGS");
}

TEST(rflags_vm_in_real_mode)
{
	clear_bits(VMCS_GUEST_CR0, CR0_PE);
	v86_guest(true, true);
	expect_rule(S_GUEST_RIP, "RFLAGS.VM must be 0 in IA-32e mode and when CR0.PE is 0", "GUEST_RFLAGS");
}

TEST(external_interrupt_with_if_clear)
{
	inject(INTR(INTR_TYPE_EXTERNAL_INTERRUPT, 0x20));
	expect_rule(S_GUEST_RIP, "injecting an external interrupt requires RFLAGS.IF = 1", "GUEST_RFLAGS");
}

/* --- SDM 27.3.1.5 non-register state ------------------------------------------------------- */

TEST(activity_state_unsupported)
{
	caps.misc &= ~BIT(8);
	set(VMCS_GUEST_ACTIVITY_STATE, 3);
	expect_rule(S_GUEST_STATE, "activity state must be one the CPU supports", "GUEST_ACTIVITY_STATE");
}

TEST(activity_state_undefined)
{
	set(VMCS_GUEST_ACTIVITY_STATE, 4);
	expect_rule(S_GUEST_STATE, "activity state must be one the CPU supports", "GUEST_ACTIVITY_STATE");
}

TEST(hlt_with_ss_dpl_3)
{
	set(VMCS_GUEST_CS_AR_BYTES, 0xc0fb);
	set(VMCS_GUEST_SS_AR_BYTES, 0xc0f3);
	set(VMCS_GUEST_ACTIVITY_STATE, 1);
	expect_rule(S_GUEST_STATE, "the HLT activity state requires SS.DPL = 0", "GUEST_SS_AR_BYTES");
}

TEST(sti_blocking_in_hlt_state)
{
	or_bits(VMCS_GUEST_RFLAGS, RFLAGS_IF);
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI);
	set(VMCS_GUEST_ACTIVITY_STATE, 1);
	expect_rule(S_GUEST_STATE, "blocking by STI or MOV SS requires the active state",
		    "GUEST_INTERRUPTIBILITY_INFO");
}

TEST(software_interrupt_injected_in_hlt_state)
{
	set(VMCS_GUEST_ACTIVITY_STATE, 1);
	inject(INTR(INTR_TYPE_SOFTWARE_INTERRUPT, 0x80));
	set(VMCS_VM_ENTRY_INSTRUCTION_LEN, 2);
	expect_rule(S_GUEST_STATE, "the activity state must allow the injected event", "VM_ENTRY_INTR_INFO");
}

TEST(external_interrupt_injected_in_shutdown_state)
{
	or_bits(VMCS_GUEST_RFLAGS, RFLAGS_IF);
	set(VMCS_GUEST_ACTIVITY_STATE, 2);
	inject(INTR(INTR_TYPE_EXTERNAL_INTERRUPT, 0x20));
	expect_rule(S_GUEST_STATE, "the activity state must allow the injected event", "GUEST_ACTIVITY_STATE");
}

TEST(nmi_injected_in_wait_for_sipi_state)
{
	set(VMCS_GUEST_ACTIVITY_STATE, 3);
	inject(INTR(INTR_TYPE_NMI, 2));
	expect_rule(S_GUEST_STATE, "the activity state must allow the injected event", "VM_ENTRY_INTR_INFO");
}

TEST(interruptibility_reserved_bits)
{
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, BIT(5));
	expect_rule(S_GUEST_STATE, "interruptibility-state reserved bits 31:5 must be 0",
		    "GUEST_INTERRUPTIBILITY_INFO");
}

TEST(sti_and_mov_ss_blocking)
{
	or_bits(VMCS_GUEST_RFLAGS, RFLAGS_IF);
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
	expect_rule(S_GUEST_STATE, "blocking by STI and by MOV SS cannot both be 1",
		    "GUEST_INTERRUPTIBILITY_INFO");
}

TEST(sti_blocking_with_if_clear)
{
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI);
	expect_rule(S_GUEST_STATE, "blocking by STI requires RFLAGS.IF = 1", "GUEST_RFLAGS");
}

TEST(external_interrupt_with_mov_ss_blocking)
{
	or_bits(VMCS_GUEST_RFLAGS, RFLAGS_IF);
	inject(INTR(INTR_TYPE_EXTERNAL_INTERRUPT, 0x20));
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_MOV_SS);
	expect_rule(S_GUEST_STATE, "injecting an external interrupt requires no blocking by STI or MOV SS",
		    "GUEST_INTERRUPTIBILITY_INFO");
}

TEST(nmi_with_mov_ss_blocking)
{
	inject(INTR(INTR_TYPE_NMI, 2));
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_MOV_SS);
	expect_rule(S_GUEST_STATE, "injecting an NMI requires no blocking by MOV SS",
		    "GUEST_INTERRUPTIBILITY_INFO");
}

TEST(smi_blocking_outside_smm)
{
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_SMI);
	expect_rule(S_GUEST_STATE, "blocking by SMI must be 0 outside SMM", "GUEST_INTERRUPTIBILITY_INFO");
}

TEST(nmi_injected_while_virtual_nmi_blocked)
{
	or_bits(PIN, PIN_VIRTUAL_NMIS);
	inject(INTR(INTR_TYPE_NMI, 2));
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_NMI);
	expect_rule(S_GUEST_STATE, "with \"virtual NMIs\", injecting an NMI requires no blocking by NMI",
		    "GUEST_INTERRUPTIBILITY_INFO");
}

TEST(enclave_interruption_with_mov_ss)
{
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, BIT(4) | INTERRUPTIBILITY_MOV_SS);
	set(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	expect_rule(S_GUEST_STATE, "enclave interruption (bit 4) cannot come with blocking by MOV SS",
		    "GUEST_INTERRUPTIBILITY_INFO");
}

TEST(pending_debug_reserved_bits)
{
	set(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, BIT(4));
	expect_rule(S_GUEST_STATE, "pending debug exceptions bits 11:4, 13, 15 and 63:17 must be 0",
		    "GUEST_PENDING_DBG_EXCEPTIONS");
}

TEST(pending_bs_missing_with_tf)
{
	set(VMCS_GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF | RFLAGS_TF);
	set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI);
	expect_rule(S_GUEST_STATE, "pending BS (bit 14) must be 1 exactly when RFLAGS.TF = 1",
		    "GUEST_PENDING_DBG_EXCEPTIONS");
}

TEST(pending_bs_without_tf_in_hlt)
{
	set(VMCS_GUEST_ACTIVITY_STATE, 1);
	set(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, BIT(14));
	expect_rule(S_GUEST_STATE, "pending BS (bit 14) must be 1 exactly when RFLAGS.TF = 1",
		    "GUEST_IA32_DEBUGCTL");
}

TEST(pending_rtm_without_enabled_breakpoint)
{
	set(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, BIT(16));
	expect_rule(S_GUEST_STATE, "pending RTM (bit 16) requires", "GUEST_PENDING_DBG_EXCEPTIONS");
}

TEST(link_pointer_unaligned)
{
	set(VMCS_VMCS_LINK_POINTER, 0x5010);
	expect_rule(S_GUEST_STATE, "VMCS link pointer other than all ones must be 4-KByte aligned",
		    "VMCS_LINK_POINTER");
}

TEST(link_pointer_beyond_width)
{
	set(VMCS_VMCS_LINK_POINTER, 1ULL << 40);
	expect_rule(S_GUEST_STATE, "VMCS link pointer other than all ones must be within", "VMCS_LINK_POINTER");
}

TEST(link_pointer_not_all_ones)
{
	set(VMCS_VMCS_LINK_POINTER, 0);
	expect_rule(S_GUEST_STATE, "the VMCS link pointer must be FFFFFFFF_FFFFFFFFH", "VMCS_LINK_POINTER");
}

/* --- SDM 27.3.1.6 PDPTEs ----------------------------------------------------------------- */

TEST(pdpte_reserved_bits)
{
	pae_guest();
	set(VMCS_GUEST_PDPTE2, 0x3001 | BIT(1));
	expect_rule(S_GUEST_PDPTE, "a present PDPTE must have reserved bits", "GUEST_PDPTE2");
}

TEST(pdpte_beyond_width)
{
	pae_guest();
	set(VMCS_GUEST_PDPTE0, (1ULL << 40) | 0x1001);
	expect_rule(S_GUEST_PDPTE, "a present PDPTE must have reserved bits", "GUEST_PDPTE0");
}

TEST(secondary_required_bit_clear)
{
	/* No real CPU forces a secondary control to 1; the rule still exists. */
	caps.procbased2 |= SEC_WBINVD_EXITING;
	expect_rule(S_EXEC, "secondary processor-based controls must set every bit the capability MSR requires",
		    "SECONDARY_VM_EXEC_CONTROL");
}

TEST(msr_bitmap_beyond_width)
{
	or_bits(CPU, CPU_USE_MSR_BITMAPS);
	set(VMCS_MSR_BITMAP, 1ULL << 44);
	expect_rule(S_EXEC, "MSR-bitmap address must not set bits beyond", "MSR_BITMAP");
}

TEST(msr_bitmap_above_4g_with_32_bit_vmx_addresses)
{
	caps.basic |= BIT(48); /* IA32_VMX_BASIC[48]: VMX structures below 4 GiB */
	or_bits(CPU, CPU_USE_MSR_BITMAPS);
	set(VMCS_MSR_BITMAP, 1ULL << 32);
	expect_rule(S_EXEC, "MSR-bitmap address must not set bits beyond", "MSR_BITMAP");
}

TEST(virtual_apic_page_beyond_width)
{
	tpr_shadow();
	set(VMCS_VIRTUAL_APIC_PAGE_ADDR, 0xff00000000ULL << 8);
	expect_rule(S_EXEC, "virtual-APIC address must not set bits beyond", "VIRTUAL_APIC_PAGE_ADDR");
}

TEST(apic_access_page_beyond_width)
{
	or_bits(SEC, SEC_VIRTUALIZE_APIC_ACCESSES);
	set(VMCS_APIC_ACCESS_ADDR, 0x10000000000ULL);
	expect_rule(S_EXEC, "APIC-access address must not set bits beyond", "APIC_ACCESS_ADDR");
}

TEST(posted_interrupts_without_acknowledge_on_exit)
{
	tpr_shadow();
	or_bits(SEC, SEC_VIRTUAL_INTERRUPT_DELIVERY);
	or_bits(PIN, PIN_POSTED_INTERRUPTS);
	clear_bits(EXIT, EXIT_ACK_INTERRUPT_ON_EXIT);
	expect_rule(S_EXEC, "\"process posted interrupts\" requires \"acknowledge interrupt on exit\"",
		    "VM_EXIT_CONTROLS");
}

TEST(posted_interrupt_descriptor_beyond_width)
{
	tpr_shadow();
	or_bits(SEC, SEC_VIRTUAL_INTERRUPT_DELIVERY);
	or_bits(PIN, PIN_POSTED_INTERRUPTS);
	set(VMCS_POSTED_INTR_NOTIFICATION_VECTOR, 0xf2);
	set(VMCS_POSTED_INTR_DESC_ADDR, (1ULL << 50) | 0x9000);
	expect_rule(S_EXEC, "posted-interrupt descriptor address must not set bits beyond",
		    "POSTED_INTR_DESC_ADDR");
}

TEST(pml_address_beyond_width)
{
	or_bits(SEC, SEC_ENABLE_PML);
	set(VMCS_PML_ADDRESS, 1ULL << 40);
	expect_rule(S_EXEC, "PML address must not set bits beyond", "PML_ADDRESS");
}

TEST(eptp_switching_without_ept)
{
	clear_bits(SEC, SEC_ENABLE_EPT | SEC_UNRESTRICTED_GUEST);
	or_bits(SEC, SEC_ENABLE_VM_FUNCTIONS);
	set(VMCS_VM_FUNCTION_CONTROLS, 1);
	expect_rule(S_EXEC, "EPTP switching requires \"enable EPT\"", "VM_FUNCTION_CONTROLS");
}

TEST(eptp_list_beyond_width)
{
	or_bits(SEC, SEC_ENABLE_VM_FUNCTIONS);
	set(VMCS_VM_FUNCTION_CONTROLS, 1);
	set(VMCS_EPTP_LIST_ADDR, 1ULL << 63);
	expect_rule(S_EXEC, "EPTP-list address must not set bits beyond", "EPTP_LIST_ADDR");
}

TEST(vmread_bitmap_beyond_width)
{
	or_bits(SEC, SEC_VMCS_SHADOWING);
	set(VMCS_VMREAD_BITMAP, 1ULL << 42);
	set(VMCS_VMWRITE_BITMAP, 0xb000);
	expect_rule(S_EXEC, "VMREAD/VMWRITE-bitmap addresses must not set bits beyond", "VMREAD_BITMAP");
}

TEST(ve_information_address_beyond_width)
{
	or_bits(SEC, SEC_EPT_VIOLATION_VE);
	set(VMCS_VE_INFO_ADDR, 1ULL << 40);
	expect_rule(S_EXEC, "virtualization-exception information address must not set bits beyond",
		    "VE_INFO_ADDR");
}

TEST(exit_msr_store_beyond_width)
{
	set(VMCS_VM_EXIT_MSR_STORE_COUNT, 1);
	set(VMCS_VM_EXIT_MSR_STORE_ADDR, 1ULL << 40);
	expect_rule(S_EXIT, "VM-exit MSR-store address must not set bits beyond", "VM_EXIT_MSR_STORE_ADDR");
}

TEST(exit_msr_store_area_ends_beyond_width)
{
	set(VMCS_VM_EXIT_MSR_STORE_COUNT, 4);
	set(VMCS_VM_EXIT_MSR_STORE_ADDR, (1ULL << 40) - 32);
	expect_rule(S_EXIT, "last byte of the VM-exit MSR-store area", "VM_EXIT_MSR_STORE_ADDR");
}

TEST(exit_msr_store_count_above_recommended_maximum)
{
	caps.misc |= 1ULL << 25; /* 1024 recommended */
	set(VMCS_VM_EXIT_MSR_STORE_COUNT, 1025);
	set(VMCS_VM_EXIT_MSR_STORE_ADDR, 0x100000);
	expect_rule("SDM A.6", "VM-exit MSR-store count should not exceed", "VM_EXIT_MSR_STORE_COUNT");
}

TEST(exit_msr_load_unaligned)
{
	set(VMCS_VM_EXIT_MSR_LOAD_COUNT, 3);
	set(VMCS_VM_EXIT_MSR_LOAD_ADDR, 0x1001);
	expect_rule(S_EXIT, "VM-exit MSR-load address must be 16-byte aligned", "VM_EXIT_MSR_LOAD_ADDR");
}

TEST(entry_msr_load_beyond_width)
{
	set(VMCS_VM_ENTRY_MSR_LOAD_COUNT, 1);
	set(VMCS_VM_ENTRY_MSR_LOAD_ADDR, 1ULL << 48);
	expect_rule(S_ENTRY, "VM-entry MSR-load address must not set bits beyond", "VM_ENTRY_MSR_LOAD_ADDR");
}

TEST(entry_msr_load_area_ends_beyond_width)
{
	set(VMCS_VM_ENTRY_MSR_LOAD_COUNT, 2);
	set(VMCS_VM_ENTRY_MSR_LOAD_ADDR, (1ULL << 40) - 16);
	expect_rule(S_ENTRY, "last byte of the VM-entry MSR-load area", "VM_ENTRY_MSR_LOAD_ADDR");
}

TEST(entry_msr_load_count_above_recommended_maximum)
{
	set(VMCS_VM_ENTRY_MSR_LOAD_COUNT, 600);
	set(VMCS_VM_ENTRY_MSR_LOAD_ADDR, 0x200000);
	expect_rule("SDM A.6", "VM-entry MSR-load count should not exceed", "VM_ENTRY_MSR_LOAD_COUNT");
}

/* Entry to SMM fails the controls first (27.2.1.3); the guest-state rules
 * about it are reached by checking the guest state alone. */
static void expect_guest_rule(const char *rule_part, const char *field)
{
	struct entry_check_input in = input();
	struct entry_check_result r;
	assert_true(entry_check_guest(&in, &r));
	if (!strstr(r.rule, rule_part) || strcmp(r.sdm, S_GUEST_STATE) != 0 || !strstr(r.detail, field))
		fail_msg("got \"%s\" (%s: %s); expected \"%s\"", r.rule, r.sdm, r.detail, rule_part);
	assert_int_equal(r.area, ENTRY_CHECK_GUEST);
}

TEST(wait_for_sipi_with_entry_to_smm)
{
	or_bits(ENTRY, ENTRY_ENTRY_TO_SMM);
	set(VMCS_GUEST_ACTIVITY_STATE, 3);
	expect_guest_rule("wait-for-SIPI state is not allowed with \"entry to SMM\"", "GUEST_ACTIVITY_STATE");
}

TEST(entry_to_smm_without_smi_blocking)
{
	or_bits(ENTRY, ENTRY_ENTRY_TO_SMM);
	expect_guest_rule("\"entry to SMM\" requires blocking by SMI", "GUEST_INTERRUPTIBILITY_INFO");
}

/* --- Order and output ---------------------------------------------------------------- */

TEST(controls_are_reported_before_host_and_guest)
{
	set(VMCS_GUEST_RIP, 1ULL << 32);
	clear_bits(VMCS_HOST_CR4, CR4_PAE);
	set(VMCS_CR3_TARGET_COUNT, 9);
	expect_rule(S_EXEC, "CR3-target count", "CR3_TARGET_COUNT");
}

TEST(host_is_reported_before_guest)
{
	set(VMCS_GUEST_RIP, 1ULL << 32);
	clear_bits(VMCS_HOST_CR4, CR4_PAE);
	expect_rule(S_HOST_SIZE, "must have CR4.PAE = 1", "HOST_CR4");
}

TEST(format_names_area_rule_section_and_fields)
{
	set(VMCS_GUEST_CS_AR_BYTES, 0xc09a);
	struct entry_check_input in = input();
	struct entry_check_result r;
	char line[320];
	assert_true(entry_check_all(&in, &r));
	entry_check_format(&r, line, sizeof(line));
	assert_string_equal(line, "guest-state area: CS type must be an accessed code segment (9, 11, "
				  "13, 15), or 3 under unrestricted guest (SDM 27.3.1.2): "
				  "GUEST_CS_AR_BYTES=0xc09a: type 10");
	assert_string_equal(entry_check_area_name(ENTRY_CHECK_CONTROLS), "VMX controls");
	assert_string_equal(entry_check_area_name(ENTRY_CHECK_HOST), "host-state area");
}

TEST(result_untouched_when_nothing_is_broken)
{
	struct entry_check_input in = input();
	struct entry_check_result r = { .rule = "sentinel", .sdm = "none", .detail = "x" };
	assert_false(entry_check_all(&in, &r));
	assert_string_equal(r.rule, "sentinel");
	assert_string_equal(r.detail, "x");
}

#define T(name) cmocka_unit_test_setup(test_##name, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* no false positives */
		T(valid_vmcs_passes),
		T(valid_vmcs_with_default_controls_passes),
		T(real_mode_under_unrestricted_guest_passes),
		T(long_mode_guest_passes),
		T(virtual_8086_guest_passes),
		T(pae_guest_with_ept_passes),
		T(secondary_controls_not_read_when_not_activated),
		T(cd_and_nw_are_never_checked),
		T(unusable_data_segment_is_not_checked),
		T(type_3_cs_allowed_under_unrestricted_guest),
		T(any_error_code_allowed_with_basic_bit_56),
		T(zero_instruction_length_allowed_with_misc_bit_30),
		T(hlt_state_accepts_external_interrupt),
		T(nmi_blocking_allowed_without_virtual_nmis),
		T(pending_bs_matching_tf_passes),
		T(rip_bit_47_set_with_63_48_clear_passes),
		T(host_ss_zero_allowed_for_64_bit_host),
		T(exit_msr_store_address_not_read_when_count_is_zero),
		T(host_pat_not_read_without_load_pat),
		T(guest_dr7_not_checked_without_load_debug_controls),
		T(legacy_vmm_valid_passes_host_checks),
		/* 27.2.1.1 */
		T(pin_required_bit_clear),
		T(pin_unsupported_bit_set),
		T(primary_required_bit_clear),
		T(primary_unsupported_bit_set),
		T(secondary_unsupported_bit_set),
		T(cr3_target_count_above_4),
		T(io_bitmap_unaligned),
		T(io_bitmap_beyond_width),
		T(msr_bitmap_unaligned),
		T(virtual_apic_page_unaligned),
		T(tpr_threshold_high_bits),
		T(apic_virtualization_without_tpr_shadow),
		T(virtual_nmis_without_nmi_exiting),
		T(nmi_window_without_virtual_nmis),
		T(apic_access_page_unaligned),
		T(x2apic_mode_with_apic_accesses),
		T(virtual_interrupt_delivery_without_external_interrupt_exiting),
		T(posted_interrupts_without_virtual_interrupt_delivery),
		T(posted_interrupt_vector_high_bits),
		T(posted_interrupt_descriptor_unaligned),
		T(vpid_zero),
		T(eptp_unsupported_memory_type),
		T(eptp_uc_needs_capability),
		T(eptp_walk_length_not_4),
		T(eptp_ad_flags_unsupported),
		T(eptp_reserved_bits),
		T(eptp_beyond_width),
		T(pml_without_ept),
		T(pml_address_unaligned),
		T(unrestricted_guest_without_ept),
		T(eptp_list_unaligned),
		T(vmwrite_bitmap_unaligned),
		T(ve_information_address_unaligned),
		/* 27.2.1.2 */
		T(exit_required_bit_clear),
		T(exit_unsupported_bit_set),
		T(save_timer_without_timer),
		T(exit_msr_store_unaligned),
		T(exit_msr_load_beyond_width),
		T(exit_msr_load_area_ends_beyond_width),
		T(exit_msr_load_count_above_recommended_maximum),
		/* 27.2.1.3 */
		T(entry_required_bit_clear),
		T(entry_unsupported_bit_set),
		T(inject_reserved_type_1),
		T(inject_other_event_without_mtf),
		T(inject_nmi_with_wrong_vector),
		T(inject_hardware_exception_vector_above_31),
		T(inject_other_event_with_nonzero_vector),
		T(inject_gp_without_error_code),
		T(inject_ud_with_error_code),
		T(inject_error_code_in_real_mode),
		T(inject_reserved_bits),
		T(inject_error_code_high_bits),
		T(inject_software_interrupt_length_zero),
		T(inject_software_exception_length_16),
		T(entry_msr_load_unaligned),
		T(entry_to_smm_outside_smm),
		/* 27.2.2 */
		T(host_cr0_ne_clear),
		T(host_cr0_high_bit_set),
		T(host_cr4_vmxe_clear),
		T(host_cr4_unsupported_bit),
		T(host_cr3_beyond_width),
		T(host_cet_without_wp),
		T(host_sysenter_esp_not_canonical),
		T(host_sysenter_eip_not_canonical),
		T(host_pat_invalid_type),
		T(host_efer_reserved_bit),
		T(host_efer_lma_clear),
		/* 27.2.3 */
		T(host_selector_rpl),
		T(host_selector_ti),
		T(host_cs_zero),
		T(host_tr_zero),
		T(host_ss_zero_for_32_bit_host),
		T(host_fs_base_not_canonical),
		T(host_gdtr_base_not_canonical),
		/* 27.2.4 */
		T(host_address_space_size_zero_in_ia32e_vmm),
		T(legacy_vmm_with_ia32e_guest),
		T(host_32_bit_with_pcide),
		T(host_32_bit_rip_high),
		T(host_64_bit_without_pae),
		T(host_rip_not_canonical),
		/* 27.3.1.1 */
		T(guest_cr0_ne_clear),
		T(guest_cr0_paging_off_without_unrestricted_guest),
		T(guest_cr0_high_bit_set),
		T(guest_cr0_pg_without_pe),
		T(guest_cr4_vmxe_clear),
		T(guest_cr4_unsupported_bit),
		T(guest_cet_without_wp),
		T(guest_debugctl_reserved_bit),
		T(guest_ia32e_mode_without_paging),
		T(guest_pcide_outside_ia32e_mode),
		T(guest_cr3_beyond_width),
		T(guest_dr7_high_bits),
		T(guest_sysenter_esp_not_canonical),
		T(guest_sysenter_eip_not_canonical),
		T(guest_pat_invalid_type),
		T(guest_efer_reserved_bit),
		T(guest_efer_lma_without_ia32e_mode),
		T(guest_efer_lme_without_lma_with_paging),
		/* 27.3.1.2 */
		T(tr_selector_ti),
		T(ldtr_selector_ti),
		T(ss_rpl_differs_from_cs_rpl),
		T(v86_base_not_selector_times_16),
		T(v86_limit_not_ffff),
		T(v86_access_rights_not_f3),
		T(fs_base_not_canonical),
		T(tr_base_not_canonical),
		T(ldtr_base_not_canonical),
		T(cs_base_high_bits),
		T(ds_base_high_bits),
		T(cs_data_type_without_unrestricted_guest),
		T(cs_not_accessed),
		T(ss_code_type),
		T(ds_not_accessed),
		T(es_execute_only_code),
		T(fs_system_segment),
		T(cs_type_3_with_dpl_3),
		T(nonconforming_cs_dpl_differs_from_ss_dpl),
		T(conforming_cs_dpl_above_ss_dpl),
		T(ss_dpl_differs_from_rpl),
		T(ss_dpl_not_0_in_real_mode),
		T(ds_dpl_below_rpl),
		T(gs_not_present),
		T(es_reserved_bits_11_8),
		T(cs_l_and_db_in_ia32e_mode),
		T(ss_limit_disagrees_with_g),
		T(ds_large_limit_with_byte_granularity),
		T(cs_reserved_bits_31_17),
		T(tr_16_bit_tss_in_ia32e_mode),
		T(tr_available_tss),
		T(tr_not_system_segment),
		T(tr_not_present),
		T(tr_reserved_bits_11_8),
		T(tr_limit_disagrees_with_g),
		T(tr_unusable),
		T(tr_reserved_bits_31_17),
		T(ldtr_wrong_type),
		T(ldtr_not_system_segment),
		T(ldtr_not_present),
		T(ldtr_reserved_bits_11_8),
		T(ldtr_limit_disagrees_with_g),
		T(ldtr_reserved_bits_31_17),
		/* 27.3.1.3 */
		T(gdtr_base_not_canonical),
		T(idtr_base_not_canonical),
		T(gdtr_limit_above_ffff),
		T(idtr_limit_above_ffff),
		/* 27.3.1.4 */
		T(rip_high_bits_outside_64_bit_mode),
		T(rip_high_bits_in_compatibility_mode),
		T(rip_not_canonical_in_64_bit_mode),
		T(rflags_reserved_bit),
		T(rflags_bit_1_clear),
		T(rflags_vm_in_real_mode),
		T(external_interrupt_with_if_clear),
		/* 27.3.1.5 */
		T(activity_state_unsupported),
		T(activity_state_undefined),
		T(hlt_with_ss_dpl_3),
		T(sti_blocking_in_hlt_state),
		T(software_interrupt_injected_in_hlt_state),
		T(external_interrupt_injected_in_shutdown_state),
		T(nmi_injected_in_wait_for_sipi_state),
		T(interruptibility_reserved_bits),
		T(sti_and_mov_ss_blocking),
		T(sti_blocking_with_if_clear),
		T(external_interrupt_with_mov_ss_blocking),
		T(nmi_with_mov_ss_blocking),
		T(smi_blocking_outside_smm),
		T(nmi_injected_while_virtual_nmi_blocked),
		T(enclave_interruption_with_mov_ss),
		T(pending_debug_reserved_bits),
		T(pending_bs_missing_with_tf),
		T(pending_bs_without_tf_in_hlt),
		T(pending_rtm_without_enabled_breakpoint),
		T(link_pointer_unaligned),
		T(link_pointer_beyond_width),
		T(link_pointer_not_all_ones),
		/* 27.3.1.6 */
		T(pdpte_reserved_bits),
		T(pdpte_beyond_width),
		/* more address, count and SMM rules */
		T(secondary_required_bit_clear),
		T(msr_bitmap_beyond_width),
		T(msr_bitmap_above_4g_with_32_bit_vmx_addresses),
		T(virtual_apic_page_beyond_width),
		T(apic_access_page_beyond_width),
		T(posted_interrupts_without_acknowledge_on_exit),
		T(posted_interrupt_descriptor_beyond_width),
		T(pml_address_beyond_width),
		T(eptp_switching_without_ept),
		T(eptp_list_beyond_width),
		T(vmread_bitmap_beyond_width),
		T(ve_information_address_beyond_width),
		T(exit_msr_store_beyond_width),
		T(exit_msr_store_area_ends_beyond_width),
		T(exit_msr_store_count_above_recommended_maximum),
		T(exit_msr_load_unaligned),
		T(entry_msr_load_beyond_width),
		T(entry_msr_load_area_ends_beyond_width),
		T(entry_msr_load_count_above_recommended_maximum),
		T(wait_for_sipi_with_entry_to_smm),
		T(entry_to_smm_without_smi_blocking),
		/* order and output */
		T(controls_are_reported_before_host_and_guest),
		T(host_is_reported_before_guest),
		T(format_names_area_rule_section_and_fields),
		T(result_untouched_when_nothing_is_broken),
	};
	return cmocka_run_group_tests_name("entry_check", tests, NULL, NULL);
}
