/* The checks VM entry makes on a VMCS, in software (SDM Vol. 3C 27.2, 27.3.1),
 * to name the first rule a failed VMLAUNCH/VMRESUME broke.
 *
 * Each check below is one sentence of the SDM, written as
 *     REQUIRE(c, what must hold, section, rule in words, detail format, ...);
 * in the order the SDM lists them. The hardware may check in any order
 * (SDM 27.2, 27.3.1), so "first" means first in the SDM's list.
 *
 * Not checked, because they need memory or CPU state this code cannot see:
 * the TPR threshold against the virtual-APIC page, the revision identifier
 * at the VMCS link pointer, PDPTEs in guest memory when EPT is off, the
 * reserved bits of IA32_PERF_GLOBAL_CTRL and of the VM-function controls,
 * the tertiary controls (vmx_caps has no IA32_VMX_PROCBASED_CTLS3), CET, PKRS,
 * Intel PT and LBR state. */
#include "vmx/entry_check.h"
#include "vmx/vmcs.h"
#include "arch/x86/cpu.h"
#include "lib/printf.h"

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
#define S_MSR_COUNT "SDM A.6"

/* Bits vmx/vmcs.h and arch/x86/cpu.h do not name yet. */
#define CR4_CET BIT(23)
#define ENTRY_DEACTIVATE_DUAL_MONITOR BIT(11)
#define INTR_TYPE_OTHER_EVENT 7
#define INTERRUPTIBILITY_ENCLAVE BIT(4)
#define EPTP_AD_FLAGS BIT(6)
#define DEBUGCTL_BTF BIT(1)
/* IA32_VMX_BASIC (SDM A.1) and IA32_VMX_MISC (SDM A.6). */
#define BASIC_32BIT_ADDRESSES BIT(48)
#define BASIC_ANY_ERROR_CODE BIT(56)
#define MISC_ZERO_LENGTH_INJECTION BIT(30)
/* Activity states (SDM 25.4.2); IA32_VMX_MISC bit 5 + state says state 1-3 is supported. */
#define ACTIVITY_ACTIVE 0
#define ACTIVITY_HLT 1
#define ACTIVITY_SHUTDOWN 2
#define ACTIVITY_WAIT_FOR_SIPI 3
/* Pending debug exceptions (SDM 25.4.2, Table 25-4). */
#define PENDING_DBG_ENABLED_BP BIT(12)
#define PENDING_DBG_BS BIT(14)
#define PENDING_DBG_RTM BIT(16)

#define ULL(x) ((unsigned long long)(x))

/* One run of the checker: the input, where the answer goes, and the
 * controls, read once because nearly every rule depends on them. */
struct ck {
	const struct entry_check_input *in;
	const struct vmx_caps *caps;
	struct entry_check_result *out;
	enum entry_check_area area;
	uint32_t pin, cpu, sec, exit_ctl, entry_ctl;
};

static bool fail(struct ck *c, const char *sdm, const char *rule, const char *fmt, ...)
	PRINTF_LIKE(4, 5);

static bool fail(struct ck *c, const char *sdm, const char *rule, const char *fmt, ...)
{
	va_list ap;
	c->out->rule = rule;
	c->out->sdm = sdm;
	c->out->area = c->area;
	va_start(ap, fmt);
	hv_vsnprintf(c->out->detail, sizeof(c->out->detail), fmt, ap);
	va_end(ap);
	return true;
}

/* A rule: when `holds` is false the VMCS breaks it, and the enclosing check
 * returns true with the rule, its section and the detail. */
#define REQUIRE(c, holds, sdm, rule, ...)                          \
	do {                                                       \
		if (!(holds))                                      \
			return fail((c), (sdm), (rule), __VA_ARGS__); \
	} while (0)

static uint64_t rd(const struct ck *c, uint32_t field)
{
	return c->in->read(c->in->ctx, field);
}

static uint32_t rd32(const struct ck *c, uint32_t field)
{
	return (uint32_t)rd(c, field);
}

/* --- Addresses -------------------------------------------------------------- */

static bool beyond_width(uint64_t addr, unsigned width)
{
	return width < 64 && (addr >> width) != 0;
}

/* MAXPHYADDR; 52, the architectural maximum, when the caller did not say. */
static unsigned phys_width(const struct ck *c)
{
	return c->in->phys_addr_width ? c->in->phys_addr_width : 52;
}

/* Structures the VMCS points to (bitmaps, MSR areas, APIC pages) live below
 * MAXPHYADDR, and below 4 GiB if IA32_VMX_BASIC[48] says so (SDM A.1). */
static unsigned vmx_ptr_width(const struct ck *c)
{
	unsigned w = phys_width(c);
	if ((c->caps->basic & BASIC_32BIT_ADDRESSES) && w > 32)
		w = 32;
	return w;
}

static unsigned linear_width(const struct ck *c)
{
	return c->in->linear_addr_width ? c->in->linear_addr_width : 48;
}

/* Canonical: bits 63 down to the top implemented bit are all equal (SDM Vol. 1 3.3.7.1). */
static bool canonical(const struct ck *c, uint64_t a)
{
	unsigned w = linear_width(c);
	if (w >= 64)
		return true;
	int64_t s = (int64_t)(a << (64 - w)) >> (64 - w);
	return (uint64_t)s == a;
}

/* Bits 63:N identical, N = linear-address width: the RIP rule (SDM 27.3.1.4)
 * is this, one bit looser than canonical. */
static bool upper_bits_identical(const struct ck *c, uint64_t a)
{
	unsigned w = linear_width(c);
	if (w >= 64)
		return true;
	uint64_t top = a >> w;
	return top == 0 || top == (~0ULL >> w);
}

/* An address the controls use: its low bits must be 0 and it must fit the
 * physical-address width. */
static bool check_address(struct ck *c, uint64_t a, const char *name, uint64_t low_bits,
			  const char *sdm, const char *rule_aligned, const char *rule_width)
{
	REQUIRE(c, !(a & low_bits), sdm, rule_aligned, "%s=0x%llx: bits 0x%llx must be 0", name,
		ULL(a), ULL(a & low_bits));
	unsigned w = vmx_ptr_width(c);
	REQUIRE(c, !beyond_width(a, w), sdm, rule_width,
		"%s=0x%llx is beyond the %u-bit physical-address width", name, ULL(a), w);
	return false;
}

static bool check_pointer(struct ck *c, uint32_t field, const char *name, uint64_t low_bits,
			  const char *sdm, const char *rule_aligned, const char *rule_width)
{
	return check_address(c, rd(c, field), name, low_bits, sdm, rule_aligned, rule_width);
}

/* An MSR-load or MSR-store area for a VMX transition (SDM 27.2.1.2, 27.2.1.3). */
static bool check_msr_area(struct ck *c, uint32_t count_field, const char *count_name,
			   uint32_t addr_field, const char *addr_name, const char *sdm,
			   const char *rule_aligned, const char *rule_width, const char *rule_last,
			   const char *rule_count)
{
	uint32_t count = rd32(c, count_field);
	if (count == 0)
		return false;
	uint64_t a = rd(c, addr_field);
	if (check_address(c, a, addr_name, 0xf, sdm, rule_aligned, rule_width))
		return true;
	/* The sum is computed with more bits than MAXPHYADDR. */
	uint64_t last = a + (uint64_t)count * 16 - 1;
	unsigned w = vmx_ptr_width(c);
	REQUIRE(c, !beyond_width(last, w), sdm, rule_last,
		"%s=0x%llx with %s=%u ends at 0x%llx, beyond %u bits", addr_name, ULL(a), count_name,
		count, ULL(last), w);
	/* Not a VM-entry check but a limit the CPU states: longer lists have
	 * undefined results, up to a machine check (SDM A.6). */
	uint32_t max = 512u * (uint32_t)(((c->caps->misc >> 25) & 7) + 1);
	REQUIRE(c, count <= max, S_MSR_COUNT, rule_count,
		"%s=%u exceeds the recommended maximum %u (IA32_VMX_MISC[27:25])", count_name, count,
		max);
	return false;
}

/* --- Values of MSRs ------------------------------------------------------------ */

/* Each byte of IA32_PAT must be a memory type: UC 0, WC 1, WT 4, WP 5, WB 6, UC- 7. */
static int bad_pat_entry(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		unsigned t = (unsigned)(pat >> (i * 8)) & 0xff;
		if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7)
			return i;
	}
	return -1;
}

/* IA32_EFER: SCE, LME, LMA and NXE are the bits Intel defines (SDM Vol. 3A 2.2.1). */
#define EFER_RESERVED (~(uint64_t)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
/* IA32_DEBUGCTL: bits 5:3 and 63:16 reserved. Bit 2 is left alone: newer CPUs
 * use it for bus-lock detection (SDM Vol. 3B 18.4.1, Vol. 4 Table 2-2). */
#define DEBUGCTL_RESERVED (0x38ULL | ~0xffffULL)

/* --- The controls ----------------------------------------------------------------- */

static bool secondary_active(const struct ck *c)
{
	/* Without "activate secondary controls", or without the CPU supporting
	 * it, the secondary controls are not used and act as all 0 (SDM 27.2.1.1);
	 * the field may not even exist. */
	return (c->cpu & CPU_ACTIVATE_SECONDARY_CONTROLS) &&
	       vmx_control_allowed(c->caps->procbased, CPU_ACTIVATE_SECONDARY_CONTROLS);
}

static void start(struct ck *c, const struct entry_check_input *in, struct entry_check_result *out,
		  enum entry_check_area area)
{
	c->in = in;
	c->caps = in->caps;
	c->out = out;
	c->area = area;
	c->pin = rd32(c, VMCS_PIN_BASED_VM_EXEC_CONTROL);
	c->cpu = rd32(c, VMCS_CPU_BASED_VM_EXEC_CONTROL);
	c->sec = secondary_active(c) ? rd32(c, VMCS_SECONDARY_VM_EXEC_CONTROL) : 0;
	c->exit_ctl = rd32(c, VMCS_VM_EXIT_CONTROLS);
	c->entry_ctl = rd32(c, VMCS_VM_ENTRY_CONTROLS);
}

/* A control field against its capability MSR: low half = bits that must be 1,
 * high half = bits that may be 1 (SDM A.3-A.5). */
static bool check_reserved_controls(struct ck *c, uint32_t value, uint64_t cap, const char *name,
				    const char *sdm, const char *rule_must_be_1,
				    const char *rule_may_not_be_1)
{
	uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);
	REQUIRE(c, !(must1 & ~value), sdm, rule_must_be_1,
		"%s=0x%08x clears bits 0x%08x; the capability MSR requires 0x%08x", name, value,
		must1 & ~value, must1);
	REQUIRE(c, !(value & ~may1), sdm, rule_may_not_be_1,
		"%s=0x%08x sets bits 0x%08x; the capability MSR allows only 0x%08x", name, value,
		value & ~may1, may1);
	return false;
}

static bool check_eptp(struct ck *c)
{
	uint64_t eptp = rd(c, VMCS_EPT_POINTER), cap = c->caps->ept_vpid;
	unsigned type = (unsigned)(eptp & 7), walk = (unsigned)((eptp >> 3) & 7);

	REQUIRE(c, (type == 0 && (cap & EPT_CAP_MEMTYPE_UC)) || (type == 6 && (cap & EPT_CAP_MEMTYPE_WB)),
		S_EXEC, "EPTP memory type (bits 2:0) must be one IA32_VMX_EPT_VPID_CAP supports (UC 0, WB 6)",
		"EPT_POINTER=0x%llx: memory type %u; IA32_VMX_EPT_VPID_CAP=0x%llx", ULL(eptp), type,
		ULL(cap));
	REQUIRE(c, (walk == 3 && (cap & EPT_CAP_PWL4)) || (walk == 4 && (cap & EPT_CAP_PWL5)), S_EXEC,
		"EPTP bits 5:3 must be the page-walk length minus 1: 3 for a supported 4-level walk",
		"EPT_POINTER=0x%llx: bits 5:3 = %u", ULL(eptp), walk);
	REQUIRE(c, !(eptp & EPTP_AD_FLAGS) || (cap & EPT_CAP_AD_FLAGS), S_EXEC,
		"EPTP bit 6 (accessed/dirty flags) requires IA32_VMX_EPT_VPID_CAP[21]",
		"EPT_POINTER=0x%llx sets bit 6; IA32_VMX_EPT_VPID_CAP=0x%llx", ULL(eptp), ULL(cap));
	REQUIRE(c, !(eptp & 0xf00), S_EXEC, "EPTP reserved bits 11:8 must be 0",
		"EPT_POINTER=0x%llx", ULL(eptp));
	REQUIRE(c, !beyond_width(eptp, phys_width(c)), S_EXEC,
		"EPTP must not set bits beyond the physical-address width",
		"EPT_POINTER=0x%llx, physical-address width %u", ULL(eptp), phys_width(c));
	return false;
}

/* SDM 27.2.1.1: VM-execution control fields. */
static bool check_execution_controls(struct ck *c)
{
	const struct vmx_caps *caps = c->caps;

	if (check_reserved_controls(c, c->pin, caps->pinbased, "PIN_BASED_VM_EXEC_CONTROL", S_EXEC,
				    "pin-based controls must set every bit the capability MSR requires (allowed 0-settings)",
				    "pin-based controls must clear every bit the capability MSR does not allow (allowed 1-settings)") ||
	    check_reserved_controls(c, c->cpu, caps->procbased, "CPU_BASED_VM_EXEC_CONTROL", S_EXEC,
				    "primary processor-based controls must set every bit the capability MSR requires (allowed 0-settings)",
				    "primary processor-based controls must clear every bit the capability MSR does not allow (allowed 1-settings)"))
		return true;
	if (secondary_active(c) &&
	    check_reserved_controls(c, c->sec, caps->procbased2, "SECONDARY_VM_EXEC_CONTROL", S_EXEC,
				    "secondary processor-based controls must set every bit the capability MSR requires (allowed 0-settings)",
				    "secondary processor-based controls must clear every bit the capability MSR does not allow (allowed 1-settings)"))
		return true;

	uint32_t cr3_targets = rd32(c, VMCS_CR3_TARGET_COUNT);
	REQUIRE(c, cr3_targets <= 4, S_EXEC, "the CR3-target count must not be greater than 4",
		"CR3_TARGET_COUNT=%u", cr3_targets);

	if (c->cpu & CPU_USE_IO_BITMAPS) {
		if (check_pointer(c, VMCS_IO_BITMAP_A, "IO_BITMAP_A", 0xfff, S_EXEC,
				  "I/O-bitmap addresses must be 4-KByte aligned (bits 11:0 = 0)",
				  "I/O-bitmap addresses must not set bits beyond the physical-address width") ||
		    check_pointer(c, VMCS_IO_BITMAP_B, "IO_BITMAP_B", 0xfff, S_EXEC,
				  "I/O-bitmap addresses must be 4-KByte aligned (bits 11:0 = 0)",
				  "I/O-bitmap addresses must not set bits beyond the physical-address width"))
			return true;
	}
	if ((c->cpu & CPU_USE_MSR_BITMAPS) &&
	    check_pointer(c, VMCS_MSR_BITMAP, "MSR_BITMAP", 0xfff, S_EXEC,
			  "the MSR-bitmap address must be 4-KByte aligned (bits 11:0 = 0)",
			  "the MSR-bitmap address must not set bits beyond the physical-address width"))
		return true;

	if (c->cpu & CPU_USE_TPR_SHADOW) {
		if (check_pointer(c, VMCS_VIRTUAL_APIC_PAGE_ADDR, "VIRTUAL_APIC_PAGE_ADDR", 0xfff, S_EXEC,
				  "the virtual-APIC address must be 4-KByte aligned (bits 11:0 = 0)",
				  "the virtual-APIC address must not set bits beyond the physical-address width"))
			return true;
		if (!(c->sec & SEC_VIRTUAL_INTERRUPT_DELIVERY)) {
			uint32_t tpr = rd32(c, VMCS_TPR_THRESHOLD);
			REQUIRE(c, !(tpr & ~0xfu), S_EXEC,
				"with \"use TPR shadow\" and no virtual-interrupt delivery, TPR threshold bits 31:4 must be 0",
				"TPR_THRESHOLD=0x%x", tpr);
		}
	} else {
		uint32_t apicv = SEC_VIRTUALIZE_X2APIC_MODE | SEC_APIC_REGISTER_VIRTUALIZATION |
				 SEC_VIRTUAL_INTERRUPT_DELIVERY;
		REQUIRE(c, !(c->sec & apicv), S_EXEC,
			"without \"use TPR shadow\", virtualize x2APIC mode, APIC-register virtualization and virtual-interrupt delivery must be 0",
			"CPU_BASED_VM_EXEC_CONTROL=0x%08x, SECONDARY_VM_EXEC_CONTROL=0x%08x", c->cpu,
			c->sec);
	}

	REQUIRE(c, (c->pin & PIN_NMI_EXITING) || !(c->pin & PIN_VIRTUAL_NMIS), S_EXEC,
		"\"virtual NMIs\" requires \"NMI exiting\"", "PIN_BASED_VM_EXEC_CONTROL=0x%08x", c->pin);
	REQUIRE(c, (c->pin & PIN_VIRTUAL_NMIS) || !(c->cpu & CPU_NMI_WINDOW_EXITING), S_EXEC,
		"\"NMI-window exiting\" requires \"virtual NMIs\"",
		"PIN_BASED_VM_EXEC_CONTROL=0x%08x, CPU_BASED_VM_EXEC_CONTROL=0x%08x", c->pin, c->cpu);

	if ((c->sec & SEC_VIRTUALIZE_APIC_ACCESSES) &&
	    check_pointer(c, VMCS_APIC_ACCESS_ADDR, "APIC_ACCESS_ADDR", 0xfff, S_EXEC,
			  "the APIC-access address must be 4-KByte aligned (bits 11:0 = 0)",
			  "the APIC-access address must not set bits beyond the physical-address width"))
		return true;
	REQUIRE(c, !((c->sec & SEC_VIRTUALIZE_X2APIC_MODE) && (c->sec & SEC_VIRTUALIZE_APIC_ACCESSES)),
		S_EXEC, "\"virtualize x2APIC mode\" and \"virtualize APIC accesses\" cannot both be 1",
		"SECONDARY_VM_EXEC_CONTROL=0x%08x", c->sec);
	REQUIRE(c, !(c->sec & SEC_VIRTUAL_INTERRUPT_DELIVERY) || (c->pin & PIN_EXTERNAL_INTERRUPT_EXITING),
		S_EXEC, "\"virtual-interrupt delivery\" requires \"external-interrupt exiting\"",
		"PIN_BASED_VM_EXEC_CONTROL=0x%08x, SECONDARY_VM_EXEC_CONTROL=0x%08x", c->pin, c->sec);

	if (c->pin & PIN_POSTED_INTERRUPTS) {
		REQUIRE(c, c->sec & SEC_VIRTUAL_INTERRUPT_DELIVERY, S_EXEC,
			"\"process posted interrupts\" requires \"virtual-interrupt delivery\"",
			"PIN_BASED_VM_EXEC_CONTROL=0x%08x, SECONDARY_VM_EXEC_CONTROL=0x%08x", c->pin,
			c->sec);
		REQUIRE(c, c->exit_ctl & EXIT_ACK_INTERRUPT_ON_EXIT, S_EXEC,
			"\"process posted interrupts\" requires \"acknowledge interrupt on exit\"",
			"PIN_BASED_VM_EXEC_CONTROL=0x%08x, VM_EXIT_CONTROLS=0x%08x", c->pin, c->exit_ctl);
		uint32_t pinv = rd32(c, VMCS_POSTED_INTR_NOTIFICATION_VECTOR);
		REQUIRE(c, !(pinv & 0xff00), S_EXEC,
			"posted-interrupt notification vector bits 15:8 must be 0",
			"POSTED_INTR_NOTIFICATION_VECTOR=0x%x", pinv);
		if (check_pointer(c, VMCS_POSTED_INTR_DESC_ADDR, "POSTED_INTR_DESC_ADDR", 0x3f, S_EXEC,
				  "the posted-interrupt descriptor address must be 64-byte aligned (bits 5:0 = 0)",
				  "the posted-interrupt descriptor address must not set bits beyond the physical-address width"))
			return true;
	}

	if (c->sec & SEC_ENABLE_VPID) {
		uint32_t vpid = rd32(c, VMCS_VIRTUAL_PROCESSOR_ID);
		REQUIRE(c, vpid != 0, S_EXEC, "with \"enable VPID\", the VPID must not be 0 (the host's)",
			"VIRTUAL_PROCESSOR_ID=0x%x", vpid);
	}
	if ((c->sec & SEC_ENABLE_EPT) && check_eptp(c))
		return true;
	if (c->sec & SEC_ENABLE_PML) {
		REQUIRE(c, c->sec & SEC_ENABLE_EPT, S_EXEC, "\"enable PML\" requires \"enable EPT\"",
			"SECONDARY_VM_EXEC_CONTROL=0x%08x", c->sec);
		if (check_pointer(c, VMCS_PML_ADDRESS, "PML_ADDRESS", 0xfff, S_EXEC,
				  "the PML address must be 4-KByte aligned (bits 11:0 = 0)",
				  "the PML address must not set bits beyond the physical-address width"))
			return true;
	}
	REQUIRE(c, !(c->sec & (SEC_UNRESTRICTED_GUEST | SEC_MODE_BASED_EPT_EXEC)) || (c->sec & SEC_ENABLE_EPT),
		S_EXEC, "\"unrestricted guest\" and \"mode-based execute control for EPT\" require \"enable EPT\"",
		"SECONDARY_VM_EXEC_CONTROL=0x%08x", c->sec);

	if (c->sec & SEC_ENABLE_VM_FUNCTIONS) {
		uint64_t vmfunc = rd(c, VMCS_VM_FUNCTION_CONTROLS);
		if (vmfunc & BIT(0)) { /* EPTP switching */
			REQUIRE(c, c->sec & SEC_ENABLE_EPT, S_EXEC, "EPTP switching requires \"enable EPT\"",
				"VM_FUNCTION_CONTROLS=0x%llx, SECONDARY_VM_EXEC_CONTROL=0x%08x",
				ULL(vmfunc), c->sec);
			if (check_pointer(c, VMCS_EPTP_LIST_ADDR, "EPTP_LIST_ADDR", 0xfff, S_EXEC,
					  "the EPTP-list address must be 4-KByte aligned (bits 11:0 = 0)",
					  "the EPTP-list address must not set bits beyond the physical-address width"))
				return true;
		}
	}
	if (c->sec & SEC_VMCS_SHADOWING) {
		if (check_pointer(c, VMCS_VMREAD_BITMAP, "VMREAD_BITMAP", 0xfff, S_EXEC,
				  "VMREAD/VMWRITE-bitmap addresses must be 4-KByte aligned (bits 11:0 = 0)",
				  "VMREAD/VMWRITE-bitmap addresses must not set bits beyond the physical-address width") ||
		    check_pointer(c, VMCS_VMWRITE_BITMAP, "VMWRITE_BITMAP", 0xfff, S_EXEC,
				  "VMREAD/VMWRITE-bitmap addresses must be 4-KByte aligned (bits 11:0 = 0)",
				  "VMREAD/VMWRITE-bitmap addresses must not set bits beyond the physical-address width"))
			return true;
	}
	if ((c->sec & SEC_EPT_VIOLATION_VE) &&
	    check_pointer(c, VMCS_VE_INFO_ADDR, "VE_INFO_ADDR", 0xfff, S_EXEC,
			  "the virtualization-exception information address must be 4-KByte aligned (bits 11:0 = 0)",
			  "the virtualization-exception information address must not set bits beyond the physical-address width"))
		return true;
	return false;
}

/* SDM 27.2.1.2: VM-exit control fields. */
static bool check_exit_controls(struct ck *c)
{
	if (check_reserved_controls(c, c->exit_ctl, c->caps->exit, "VM_EXIT_CONTROLS", S_EXIT,
				    "VM-exit controls must set every bit the capability MSR requires (allowed 0-settings)",
				    "VM-exit controls must clear every bit the capability MSR does not allow (allowed 1-settings)"))
		return true;
	REQUIRE(c, (c->pin & PIN_PREEMPTION_TIMER) || !(c->exit_ctl & EXIT_SAVE_PREEMPTION_TIMER), S_EXIT,
		"\"save VMX-preemption timer value\" requires \"activate VMX-preemption timer\"",
		"PIN_BASED_VM_EXEC_CONTROL=0x%08x, VM_EXIT_CONTROLS=0x%08x", c->pin, c->exit_ctl);
	return check_msr_area(c, VMCS_VM_EXIT_MSR_STORE_COUNT, "VM_EXIT_MSR_STORE_COUNT",
			      VMCS_VM_EXIT_MSR_STORE_ADDR, "VM_EXIT_MSR_STORE_ADDR", S_EXIT,
			      "the VM-exit MSR-store address must be 16-byte aligned (bits 3:0 = 0)",
			      "the VM-exit MSR-store address must not set bits beyond the physical-address width",
			      "the last byte of the VM-exit MSR-store area must be within the physical-address width",
			      "the VM-exit MSR-store count should not exceed 512 * (IA32_VMX_MISC[27:25] + 1)") ||
	       check_msr_area(c, VMCS_VM_EXIT_MSR_LOAD_COUNT, "VM_EXIT_MSR_LOAD_COUNT",
			      VMCS_VM_EXIT_MSR_LOAD_ADDR, "VM_EXIT_MSR_LOAD_ADDR", S_EXIT,
			      "the VM-exit MSR-load address must be 16-byte aligned (bits 3:0 = 0)",
			      "the VM-exit MSR-load address must not set bits beyond the physical-address width",
			      "the last byte of the VM-exit MSR-load area must be within the physical-address width",
			      "the VM-exit MSR-load count should not exceed 512 * (IA32_VMX_MISC[27:25] + 1)");
}

/* Exceptions that push an error code (SDM Vol. 3A 6.15). #CP (21) also does,
 * but only CET processors have it, and they set IA32_VMX_BASIC[56], which
 * lifts the rule that uses this list. */
static bool exception_has_error_code(unsigned vector)
{
	return vector == EXC_DF || vector == EXC_TS || vector == EXC_NP || vector == EXC_SS ||
	       vector == EXC_GP || vector == EXC_PF || vector == EXC_AC;
}

static bool check_event_injection(struct ck *c)
{
	uint32_t info = rd32(c, VMCS_VM_ENTRY_INTR_INFO);
	if (!(info & INTR_INFO_VALID))
		return false;
	unsigned type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	unsigned vector = info & INTR_INFO_VECTOR_MASK;
	bool has_error = info & INTR_INFO_DELIVER_ERROR_CODE;
	bool mtf = vmx_control_allowed(c->caps->procbased, CPU_MONITOR_TRAP_FLAG);

	REQUIRE(c, type != 1 && (type != INTR_TYPE_OTHER_EVENT || mtf), S_ENTRY,
		"injected event: interruption type is reserved (1, or 7 without monitor trap flag)",
		"VM_ENTRY_INTR_INFO=0x%08x: type %u", info, type);
	REQUIRE(c, type != INTR_TYPE_NMI || vector == EXC_NMI, S_ENTRY,
		"injected event: an NMI must have vector 2", "VM_ENTRY_INTR_INFO=0x%08x: vector %u",
		info, vector);
	REQUIRE(c, type != INTR_TYPE_HARDWARE_EXCEPTION || vector <= 31, S_ENTRY,
		"injected event: a hardware exception must have a vector of at most 31",
		"VM_ENTRY_INTR_INFO=0x%08x: vector %u", info, vector);
	REQUIRE(c, type != INTR_TYPE_OTHER_EVENT || vector == 0, S_ENTRY,
		"injected event: \"other event\" (pending MTF VM exit) must have vector 0",
		"VM_ENTRY_INTR_INFO=0x%08x: vector %u", info, vector);
	if (!(c->caps->basic & BASIC_ANY_ERROR_CODE)) {
		/* In real mode (unrestricted guest with CR0.PE = 0) exceptions push no error code. */
		bool protected_mode = !(c->sec & SEC_UNRESTRICTED_GUEST) || (rd(c, VMCS_GUEST_CR0) & CR0_PE);
		bool want = protected_mode && type == INTR_TYPE_HARDWARE_EXCEPTION &&
			    exception_has_error_code(vector);
		REQUIRE(c, has_error == want, S_ENTRY,
			"injected event: deliver-error-code (bit 11) must be 1 exactly for a protected-mode hardware exception that pushes one (8, 10-14, 17)",
			"VM_ENTRY_INTR_INFO=0x%08x: type %u, vector %u, deliver-error-code %u%s", info,
			type, vector, has_error ? 1u : 0u,
			protected_mode ? "" : ", guest CR0.PE = 0 (real mode)");
	}
	REQUIRE(c, !(info & 0x7ffff000u), S_ENTRY,
		"injected event: reserved bits 30:12 of the interruption information must be 0",
		"VM_ENTRY_INTR_INFO=0x%08x: bits 0x%08x", info, info & 0x7ffff000u);
	if (has_error) {
		uint32_t err = rd32(c, VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE);
		REQUIRE(c, !(err & 0xffff0000u), S_ENTRY,
			"injected event: bits 31:16 of the error code must be 0",
			"VM_ENTRY_EXCEPTION_ERROR_CODE=0x%08x", err);
	}
	if (type == INTR_TYPE_SOFTWARE_INTERRUPT || type == INTR_TYPE_PRIV_SOFTWARE_EXCEPTION ||
	    type == INTR_TYPE_SOFTWARE_EXCEPTION) {
		uint32_t len = rd32(c, VMCS_VM_ENTRY_INSTRUCTION_LEN);
		bool zero_ok = c->caps->misc & MISC_ZERO_LENGTH_INJECTION;
		REQUIRE(c, len <= 15 && (len >= 1 || zero_ok), S_ENTRY,
			"injected software interrupt/exception: the instruction length must be 1-15 (0 only if IA32_VMX_MISC[30])",
			"VM_ENTRY_INSTRUCTION_LEN=%u, VM_ENTRY_INTR_INFO=0x%08x", len, info);
	}
	return false;
}

/* SDM 27.2.1.3: VM-entry control fields. */
static bool check_entry_controls(struct ck *c)
{
	if (check_reserved_controls(c, c->entry_ctl, c->caps->entry, "VM_ENTRY_CONTROLS", S_ENTRY,
				    "VM-entry controls must set every bit the capability MSR requires (allowed 0-settings)",
				    "VM-entry controls must clear every bit the capability MSR does not allow (allowed 1-settings)") ||
	    check_event_injection(c) ||
	    check_msr_area(c, VMCS_VM_ENTRY_MSR_LOAD_COUNT, "VM_ENTRY_MSR_LOAD_COUNT",
			   VMCS_VM_ENTRY_MSR_LOAD_ADDR, "VM_ENTRY_MSR_LOAD_ADDR", S_ENTRY,
			   "the VM-entry MSR-load address must be 16-byte aligned (bits 3:0 = 0)",
			   "the VM-entry MSR-load address must not set bits beyond the physical-address width",
			   "the last byte of the VM-entry MSR-load area must be within the physical-address width",
			   "the VM-entry MSR-load count should not exceed 512 * (IA32_VMX_MISC[27:25] + 1)"))
		return true;
	/* The hypervisor never runs in SMM. */
	REQUIRE(c, !(c->entry_ctl & (ENTRY_ENTRY_TO_SMM | ENTRY_DEACTIVATE_DUAL_MONITOR)), S_ENTRY,
		"outside SMM, \"entry to SMM\" and \"deactivate dual-monitor treatment\" must be 0",
		"VM_ENTRY_CONTROLS=0x%08x", c->entry_ctl);
	return false;
}

bool entry_check_controls(const struct entry_check_input *in, struct entry_check_result *out)
{
	struct ck c;
	start(&c, in, out, ENTRY_CHECK_CONTROLS);
	return check_execution_controls(&c) || check_exit_controls(&c) || check_entry_controls(&c);
}

/* --- The host-state area ------------------------------------------------------------ */

/* CR0.NW and CR0.CD are never checked: VM entries and exits leave them alone. */
#define CR0_UNCHECKED (CR0_NW | CR0_CD)

static bool check_fixed_bits(struct ck *c, uint64_t v, uint64_t fixed0, uint64_t fixed1,
			     uint64_t exempt, const char *name, const char *sdm,
			     const char *rule_must_be_1, const char *rule_must_be_0)
{
	uint64_t must1 = fixed0 & ~exempt, must0 = ~fixed1 & ~exempt;
	REQUIRE(c, !(must1 & ~v), sdm, rule_must_be_1, "%s=0x%llx clears bits 0x%llx (FIXED0 0x%llx)",
		name, ULL(v), ULL(must1 & ~v), ULL(fixed0));
	REQUIRE(c, !(v & must0), sdm, rule_must_be_0, "%s=0x%llx sets bits 0x%llx (FIXED1 0x%llx)",
		name, ULL(v), ULL(v & must0), ULL(fixed1));
	return false;
}

/* SDM 27.2.2: host control registers and MSRs. */
static bool check_host_registers(struct ck *c)
{
	const struct vmx_caps *caps = c->caps;
	bool host64 = c->exit_ctl & EXIT_HOST_ADDRESS_SPACE_SIZE;
	uint64_t cr0 = rd(c, VMCS_HOST_CR0), cr3 = rd(c, VMCS_HOST_CR3), cr4 = rd(c, VMCS_HOST_CR4);

	if (check_fixed_bits(c, cr0, caps->cr0_fixed0, caps->cr0_fixed1, CR0_UNCHECKED, "HOST_CR0",
			     S_HOST_CR, "host CR0 must set every bit IA32_VMX_CR0_FIXED0 sets",
			     "host CR0 must clear every bit IA32_VMX_CR0_FIXED1 clears") ||
	    check_fixed_bits(c, cr4, caps->cr4_fixed0, caps->cr4_fixed1, 0, "HOST_CR4", S_HOST_CR,
			     "host CR4 must set every bit IA32_VMX_CR4_FIXED0 sets",
			     "host CR4 must clear every bit IA32_VMX_CR4_FIXED1 clears"))
		return true;
	REQUIRE(c, !beyond_width(cr3, phys_width(c)), S_HOST_CR,
		"host CR3 must not set bits beyond the physical-address width",
		"HOST_CR3=0x%llx, physical-address width %u", ULL(cr3), phys_width(c));
	REQUIRE(c, !(cr4 & CR4_CET) || (cr0 & CR0_WP), S_HOST_CR, "host CR4.CET = 1 requires CR0.WP = 1",
		"HOST_CR4=0x%llx, HOST_CR0=0x%llx", ULL(cr4), ULL(cr0));

	uint64_t esp = rd(c, VMCS_HOST_IA32_SYSENTER_ESP), eip = rd(c, VMCS_HOST_IA32_SYSENTER_EIP);
	REQUIRE(c, canonical(c, esp), S_HOST_CR, "host IA32_SYSENTER_ESP must be canonical",
		"HOST_IA32_SYSENTER_ESP=0x%llx", ULL(esp));
	REQUIRE(c, canonical(c, eip), S_HOST_CR, "host IA32_SYSENTER_EIP must be canonical",
		"HOST_IA32_SYSENTER_EIP=0x%llx", ULL(eip));

	if (c->exit_ctl & EXIT_LOAD_IA32_PAT) {
		uint64_t pat = rd(c, VMCS_HOST_IA32_PAT);
		int i = bad_pat_entry(pat);
		REQUIRE(c, i < 0, S_HOST_CR,
			"host IA32_PAT: every byte must be a memory type (0, 1, 4, 5, 6 or 7)",
			"HOST_IA32_PAT=0x%016llx: entry %d is 0x%02x", ULL(pat), i,
			(unsigned)(pat >> (i * 8)) & 0xff);
	}
	if (c->exit_ctl & EXIT_LOAD_IA32_EFER) {
		uint64_t efer = rd(c, VMCS_HOST_IA32_EFER);
		REQUIRE(c, !(efer & EFER_RESERVED), S_HOST_CR, "host IA32_EFER: reserved bits must be 0",
			"HOST_IA32_EFER=0x%llx: bits 0x%llx", ULL(efer), ULL(efer & EFER_RESERVED));
		REQUIRE(c, !!(efer & EFER_LMA) == host64 && !!(efer & EFER_LME) == host64, S_HOST_CR,
			"host IA32_EFER.LMA and LME must each equal \"host address-space size\"",
			"HOST_IA32_EFER=0x%llx, host address-space size %u", ULL(efer), host64 ? 1u : 0u);
	}
	return false;
}

/* SDM 27.2.3: host segment and descriptor-table registers. */
static bool check_host_segments(struct ck *c)
{
	static const struct {
		const char *name;
		uint32_t field;
	} sel[] = {
		{ "HOST_ES_SELECTOR", VMCS_HOST_ES_SELECTOR }, { "HOST_CS_SELECTOR", VMCS_HOST_CS_SELECTOR },
		{ "HOST_SS_SELECTOR", VMCS_HOST_SS_SELECTOR }, { "HOST_DS_SELECTOR", VMCS_HOST_DS_SELECTOR },
		{ "HOST_FS_SELECTOR", VMCS_HOST_FS_SELECTOR }, { "HOST_GS_SELECTOR", VMCS_HOST_GS_SELECTOR },
		{ "HOST_TR_SELECTOR", VMCS_HOST_TR_SELECTOR },
	};
	static const struct {
		const char *name;
		uint32_t field;
	} base[] = {
		{ "HOST_FS_BASE", VMCS_HOST_FS_BASE },	   { "HOST_GS_BASE", VMCS_HOST_GS_BASE },
		{ "HOST_GDTR_BASE", VMCS_HOST_GDTR_BASE }, { "HOST_IDTR_BASE", VMCS_HOST_IDTR_BASE },
		{ "HOST_TR_BASE", VMCS_HOST_TR_BASE },
	};
	bool host64 = c->exit_ctl & EXIT_HOST_ADDRESS_SPACE_SIZE;

	for (size_t i = 0; i < ARRAY_SIZE(sel); i++) {
		uint32_t s = rd32(c, sel[i].field);
		REQUIRE(c, !(s & 7), S_HOST_SEG, "host selectors must have RPL = 0 and TI = 0 (bits 2:0)",
			"%s=0x%04x", sel[i].name, s);
	}
	uint32_t cs = rd32(c, VMCS_HOST_CS_SELECTOR), tr = rd32(c, VMCS_HOST_TR_SELECTOR);
	uint32_t ss = rd32(c, VMCS_HOST_SS_SELECTOR);
	REQUIRE(c, cs != 0, S_HOST_SEG, "the host CS selector must not be 0", "HOST_CS_SELECTOR=0x%04x", cs);
	REQUIRE(c, tr != 0, S_HOST_SEG, "the host TR selector must not be 0", "HOST_TR_SELECTOR=0x%04x", tr);
	REQUIRE(c, ss != 0 || host64, S_HOST_SEG,
		"the host SS selector must not be 0 unless \"host address-space size\" is 1",
		"HOST_SS_SELECTOR=0x%04x, VM_EXIT_CONTROLS=0x%08x", ss, c->exit_ctl);
	for (size_t i = 0; i < ARRAY_SIZE(base); i++) {
		uint64_t b = rd(c, base[i].field);
		REQUIRE(c, canonical(c, b), S_HOST_SEG,
			"host FS, GS, GDTR, IDTR and TR base addresses must be canonical", "%s=0x%llx",
			base[i].name, ULL(b));
	}
	return false;
}

/* SDM 27.2.4: address-space size. */
static bool check_address_space_size(struct ck *c)
{
	bool host64 = c->exit_ctl & EXIT_HOST_ADDRESS_SPACE_SIZE;
	bool guest64 = c->entry_ctl & ENTRY_IA32E_MODE_GUEST;

	if (c->in->vmm_outside_ia32e) {
		REQUIRE(c, !guest64 && !host64, S_HOST_SIZE,
			"a VMM outside IA-32e mode needs \"IA-32e mode guest\" and \"host address-space size\" both 0",
			"VM_ENTRY_CONTROLS=0x%08x, VM_EXIT_CONTROLS=0x%08x", c->entry_ctl, c->exit_ctl);
	} else {
		REQUIRE(c, host64, S_HOST_SIZE,
			"the VMM runs in IA-32e mode, so \"host address-space size\" must be 1",
			"VM_EXIT_CONTROLS=0x%08x", c->exit_ctl);
	}
	uint64_t cr4 = rd(c, VMCS_HOST_CR4), rip = rd(c, VMCS_HOST_RIP);
	if (!host64) {
		/* "IA-32e mode guest" must be 0 here too: the rules above imply it. */
		REQUIRE(c, !(cr4 & CR4_PCIDE), S_HOST_SIZE,
			"a 32-bit host (\"host address-space size\" 0) must have CR4.PCIDE = 0",
			"HOST_CR4=0x%llx", ULL(cr4));
		REQUIRE(c, !(rip >> 32), S_HOST_SIZE,
			"a 32-bit host (\"host address-space size\" 0) must have RIP bits 63:32 = 0",
			"HOST_RIP=0x%llx", ULL(rip));
	} else {
		REQUIRE(c, cr4 & CR4_PAE, S_HOST_SIZE,
			"a 64-bit host (\"host address-space size\" 1) must have CR4.PAE = 1",
			"HOST_CR4=0x%llx", ULL(cr4));
		REQUIRE(c, canonical(c, rip), S_HOST_SIZE,
			"a 64-bit host (\"host address-space size\" 1) must have a canonical RIP",
			"HOST_RIP=0x%llx", ULL(rip));
	}
	return false;
}

bool entry_check_host(const struct entry_check_input *in, struct entry_check_result *out)
{
	struct ck c;
	start(&c, in, out, ENTRY_CHECK_HOST);
	return check_host_registers(&c) || check_host_segments(&c) || check_address_space_size(&c);
}

/* --- The guest-state area ----------------------------------------------------------- */

/* SDM 27.3.1.1: guest control registers, debug registers and MSRs. */
static bool check_guest_registers(struct ck *c)
{
	const struct vmx_caps *caps = c->caps;
	bool guest64 = c->entry_ctl & ENTRY_IA32E_MODE_GUEST;
	bool load_debug = c->entry_ctl & ENTRY_LOAD_DEBUG_CONTROLS;
	uint64_t cr0 = rd(c, VMCS_GUEST_CR0), cr4 = rd(c, VMCS_GUEST_CR4);
	/* Unrestricted guest lets PE and PG be 0 (real mode, paging off). */
	uint64_t exempt = CR0_UNCHECKED | ((c->sec & SEC_UNRESTRICTED_GUEST) ? CR0_PE | CR0_PG : 0);

	if (check_fixed_bits(c, cr0, caps->cr0_fixed0, caps->cr0_fixed1, exempt, "GUEST_CR0",
			     S_GUEST_CR,
			     "guest CR0 must set every bit IA32_VMX_CR0_FIXED0 sets (PE, PG exempt under unrestricted guest)",
			     "guest CR0 must clear every bit IA32_VMX_CR0_FIXED1 clears"))
		return true;
	REQUIRE(c, !(cr0 & CR0_PG) || (cr0 & CR0_PE), S_GUEST_CR, "guest CR0.PG = 1 requires CR0.PE = 1",
		"GUEST_CR0=0x%llx", ULL(cr0));
	if (check_fixed_bits(c, cr4, caps->cr4_fixed0, caps->cr4_fixed1, 0, "GUEST_CR4", S_GUEST_CR,
			     "guest CR4 must set every bit IA32_VMX_CR4_FIXED0 sets",
			     "guest CR4 must clear every bit IA32_VMX_CR4_FIXED1 clears"))
		return true;
	REQUIRE(c, !(cr4 & CR4_CET) || (cr0 & CR0_WP), S_GUEST_CR, "guest CR4.CET = 1 requires CR0.WP = 1",
		"GUEST_CR4=0x%llx, GUEST_CR0=0x%llx", ULL(cr4), ULL(cr0));
	if (load_debug) {
		uint64_t debugctl = rd(c, VMCS_GUEST_IA32_DEBUGCTL);
		REQUIRE(c, !(debugctl & DEBUGCTL_RESERVED), S_GUEST_CR,
			"with \"load debug controls\", guest IA32_DEBUGCTL reserved bits must be 0",
			"GUEST_IA32_DEBUGCTL=0x%llx: bits 0x%llx", ULL(debugctl),
			ULL(debugctl & DEBUGCTL_RESERVED));
	}
	if (guest64) {
		REQUIRE(c, (cr0 & CR0_PG) && (cr4 & CR4_PAE), S_GUEST_CR,
			"\"IA-32e mode guest\" requires guest CR0.PG = 1 and CR4.PAE = 1",
			"GUEST_CR0=0x%llx, GUEST_CR4=0x%llx", ULL(cr0), ULL(cr4));
	} else {
		REQUIRE(c, !(cr4 & CR4_PCIDE), S_GUEST_CR,
			"outside IA-32e mode (\"IA-32e mode guest\" 0) guest CR4.PCIDE must be 0",
			"GUEST_CR4=0x%llx, VM_ENTRY_CONTROLS=0x%08x", ULL(cr4), c->entry_ctl);
	}
	uint64_t cr3 = rd(c, VMCS_GUEST_CR3);
	REQUIRE(c, !beyond_width(cr3, phys_width(c)), S_GUEST_CR,
		"guest CR3 must not set bits beyond the physical-address width",
		"GUEST_CR3=0x%llx, physical-address width %u", ULL(cr3), phys_width(c));
	if (load_debug) {
		uint64_t dr7 = rd(c, VMCS_GUEST_DR7);
		REQUIRE(c, !(dr7 >> 32), S_GUEST_CR,
			"with \"load debug controls\", guest DR7 bits 63:32 must be 0", "GUEST_DR7=0x%llx",
			ULL(dr7));
	}
	uint64_t esp = rd(c, VMCS_GUEST_SYSENTER_ESP), eip = rd(c, VMCS_GUEST_SYSENTER_EIP);
	REQUIRE(c, canonical(c, esp), S_GUEST_CR, "guest IA32_SYSENTER_ESP must be canonical",
		"GUEST_SYSENTER_ESP=0x%llx", ULL(esp));
	REQUIRE(c, canonical(c, eip), S_GUEST_CR, "guest IA32_SYSENTER_EIP must be canonical",
		"GUEST_SYSENTER_EIP=0x%llx", ULL(eip));
	if (c->entry_ctl & ENTRY_LOAD_IA32_PAT) {
		uint64_t pat = rd(c, VMCS_GUEST_IA32_PAT);
		int i = bad_pat_entry(pat);
		REQUIRE(c, i < 0, S_GUEST_CR,
			"guest IA32_PAT: every byte must be a memory type (0, 1, 4, 5, 6 or 7)",
			"GUEST_IA32_PAT=0x%016llx: entry %d is 0x%02x", ULL(pat), i,
			(unsigned)(pat >> (i * 8)) & 0xff);
	}
	if (c->entry_ctl & ENTRY_LOAD_IA32_EFER) {
		uint64_t efer = rd(c, VMCS_GUEST_IA32_EFER);
		REQUIRE(c, !(efer & EFER_RESERVED), S_GUEST_CR, "guest IA32_EFER: reserved bits must be 0",
			"GUEST_IA32_EFER=0x%llx: bits 0x%llx", ULL(efer), ULL(efer & EFER_RESERVED));
		REQUIRE(c, !!(efer & EFER_LMA) == guest64, S_GUEST_CR,
			"guest IA32_EFER.LMA must equal \"IA-32e mode guest\"",
			"GUEST_IA32_EFER=0x%llx, VM_ENTRY_CONTROLS=0x%08x", ULL(efer), c->entry_ctl);
		REQUIRE(c, !(cr0 & CR0_PG) || !!(efer & EFER_LME) == !!(efer & EFER_LMA), S_GUEST_CR,
			"with guest CR0.PG = 1, IA32_EFER.LME must equal LMA",
			"GUEST_IA32_EFER=0x%llx, GUEST_CR0=0x%llx", ULL(efer), ULL(cr0));
	}
	return false;
}

/* Segment registers in VMCS order; checks walk them in the SDM's order. */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT };

static const struct {
	const char *name;
	uint32_t sel, base, limit, ar;
} seg_fields[SEG_COUNT] = {
	[SEG_ES] = { "ES", VMCS_GUEST_ES_SELECTOR, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR_BYTES },
	[SEG_CS] = { "CS", VMCS_GUEST_CS_SELECTOR, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR_BYTES },
	[SEG_SS] = { "SS", VMCS_GUEST_SS_SELECTOR, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR_BYTES },
	[SEG_DS] = { "DS", VMCS_GUEST_DS_SELECTOR, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR_BYTES },
	[SEG_FS] = { "FS", VMCS_GUEST_FS_SELECTOR, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR_BYTES },
	[SEG_GS] = { "GS", VMCS_GUEST_GS_SELECTOR, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR_BYTES },
	[SEG_LDTR] = { "LDTR", VMCS_GUEST_LDTR_SELECTOR, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT,
		       VMCS_GUEST_LDTR_AR_BYTES },
	[SEG_TR] = { "TR", VMCS_GUEST_TR_SELECTOR, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT, VMCS_GUEST_TR_AR_BYTES },
};

/* The order the SDM names the six code and data registers in. */
static const uint8_t code_data_order[] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS };

struct seg {
	uint32_t sel, limit, ar;
	uint64_t base;
};

/* Access rights (SDM 25.4.1, Table 25-2). */
static unsigned ar_type(uint32_t ar) { return ar & 0xf; }
static bool ar_s(uint32_t ar) { return ar & BIT(4); }
static unsigned ar_dpl(uint32_t ar) { return (ar >> 5) & 3; }
static bool ar_p(uint32_t ar) { return ar & BIT(7); }
static bool ar_l(uint32_t ar) { return ar & BIT(13); }
static bool ar_db(uint32_t ar) { return ar & BIT(14); }
static bool ar_g(uint32_t ar) { return ar & BIT(15); }
static bool ar_usable(uint32_t ar) { return !(ar & AR_UNUSABLE); }
#define AR_RESERVED_11_8 0xf00u
#define AR_RESERVED_31_17 0xfffe0000u

/* G must be 0 if any of limit bits 11:0 is 0, and 1 if any of bits 31:20 is 1. */
static bool limit_matches_g(uint32_t limit, uint32_t ar)
{
	if (ar_g(ar))
		return (limit & 0xfff) == 0xfff;
	return !(limit & 0xfff00000u);
}

/* Access rights of CS, SS, DS, ES, FS, GS outside virtual-8086 mode. */
static bool check_code_data_access_rights(struct ck *c, const struct seg *s, uint64_t cr0)
{
	bool ug = c->sec & SEC_UNRESTRICTED_GUEST;
	bool guest64 = c->entry_ctl & ENTRY_IA32E_MODE_GUEST;
	const struct seg *cs = &s[SEG_CS], *ss = &s[SEG_SS];
	unsigned cs_type = ar_type(cs->ar);

	/* Type */
	REQUIRE(c, cs_type == 9 || cs_type == 11 || cs_type == 13 || cs_type == 15 || (ug && cs_type == 3),
		S_GUEST_SEG,
		"CS type must be an accessed code segment (9, 11, 13, 15), or 3 under unrestricted guest",
		"GUEST_CS_AR_BYTES=0x%x: type %u", cs->ar, cs_type);
	REQUIRE(c, !ar_usable(ss->ar) || ar_type(ss->ar) == 3 || ar_type(ss->ar) == 7, S_GUEST_SEG,
		"a usable SS must be a read/write accessed data segment (type 3 or 7)",
		"GUEST_SS_AR_BYTES=0x%x: type %u", ss->ar, ar_type(ss->ar));
	for (size_t i = 2; i < ARRAY_SIZE(code_data_order); i++) {
		unsigned r = code_data_order[i];
		uint32_t ar = s[r].ar;
		if (!ar_usable(ar))
			continue;
		REQUIRE(c, ar_type(ar) & 1, S_GUEST_SEG,
			"a usable DS, ES, FS or GS must have the accessed bit (type bit 0) set",
			"GUEST_%s_AR_BYTES=0x%x: type %u", seg_fields[r].name, ar, ar_type(ar));
		REQUIRE(c, !(ar_type(ar) & 8) || (ar_type(ar) & 2), S_GUEST_SEG,
			"a usable DS, ES, FS or GS that is a code segment must be readable",
			"GUEST_%s_AR_BYTES=0x%x: type %u", seg_fields[r].name, ar, ar_type(ar));
	}
	/* S */
	for (size_t i = 0; i < ARRAY_SIZE(code_data_order); i++) {
		unsigned r = code_data_order[i];
		if (r != SEG_CS && !ar_usable(s[r].ar))
			continue;
		REQUIRE(c, ar_s(s[r].ar), S_GUEST_SEG,
			"CS and usable SS, DS, ES, FS, GS must be code or data segments (S = 1)",
			"GUEST_%s_AR_BYTES=0x%x", seg_fields[r].name, s[r].ar);
	}
	/* DPL */
	REQUIRE(c, cs_type != 3 || ar_dpl(cs->ar) == 0, S_GUEST_SEG,
		"CS of type 3 (unrestricted guest) must have DPL 0", "GUEST_CS_AR_BYTES=0x%x: DPL %u",
		cs->ar, ar_dpl(cs->ar));
	REQUIRE(c, !(cs_type == 9 || cs_type == 11) || ar_dpl(cs->ar) == ar_dpl(ss->ar), S_GUEST_SEG,
		"a non-conforming CS (type 9 or 11) must have DPL equal to SS.DPL",
		"GUEST_CS_AR_BYTES=0x%x (DPL %u), GUEST_SS_AR_BYTES=0x%x (DPL %u)", cs->ar,
		ar_dpl(cs->ar), ss->ar, ar_dpl(ss->ar));
	REQUIRE(c, !(cs_type == 13 || cs_type == 15) || ar_dpl(cs->ar) <= ar_dpl(ss->ar), S_GUEST_SEG,
		"a conforming CS (type 13 or 15) must have DPL not greater than SS.DPL",
		"GUEST_CS_AR_BYTES=0x%x (DPL %u), GUEST_SS_AR_BYTES=0x%x (DPL %u)", cs->ar,
		ar_dpl(cs->ar), ss->ar, ar_dpl(ss->ar));
	REQUIRE(c, ug || ar_dpl(ss->ar) == (ss->sel & 3), S_GUEST_SEG,
		"SS.DPL must equal the RPL of the SS selector (unless unrestricted guest)",
		"GUEST_SS_AR_BYTES=0x%x (DPL %u), GUEST_SS_SELECTOR=0x%04x", ss->ar, ar_dpl(ss->ar),
		ss->sel);
	REQUIRE(c, !(cs_type == 3 || !(cr0 & CR0_PE)) || ar_dpl(ss->ar) == 0, S_GUEST_SEG,
		"SS.DPL must be 0 when CS type is 3 or CR0.PE is 0",
		"GUEST_SS_AR_BYTES=0x%x (DPL %u), GUEST_CS_AR_BYTES=0x%x, GUEST_CR0=0x%llx", ss->ar,
		ar_dpl(ss->ar), cs->ar, ULL(cr0));
	for (size_t i = 2; i < ARRAY_SIZE(code_data_order) && !ug; i++) {
		unsigned r = code_data_order[i];
		uint32_t ar = s[r].ar;
		if (!ar_usable(ar) || ar_type(ar) > 11)
			continue;
		REQUIRE(c, ar_dpl(ar) >= (s[r].sel & 3), S_GUEST_SEG,
			"a usable DS, ES, FS or GS (data or non-conforming code) must have DPL not less than its selector's RPL",
			"GUEST_%s_AR_BYTES=0x%x (DPL %u), GUEST_%s_SELECTOR=0x%04x", seg_fields[r].name,
			ar, ar_dpl(ar), seg_fields[r].name, s[r].sel);
	}
	/* P, reserved bits 11:8, D/B, G, reserved bits 31:17 */
	for (size_t i = 0; i < ARRAY_SIZE(code_data_order); i++) {
		unsigned r = code_data_order[i];
		if (r != SEG_CS && !ar_usable(s[r].ar))
			continue;
		REQUIRE(c, ar_p(s[r].ar), S_GUEST_SEG, "CS and usable SS, DS, ES, FS, GS must be present (P = 1)",
			"GUEST_%s_AR_BYTES=0x%x", seg_fields[r].name, s[r].ar);
	}
	for (size_t i = 0; i < ARRAY_SIZE(code_data_order); i++) {
		unsigned r = code_data_order[i];
		if (r != SEG_CS && !ar_usable(s[r].ar))
			continue;
		REQUIRE(c, !(s[r].ar & AR_RESERVED_11_8), S_GUEST_SEG,
			"access rights bits 11:8 (reserved) must be 0 for CS and usable SS, DS, ES, FS, GS",
			"GUEST_%s_AR_BYTES=0x%x", seg_fields[r].name, s[r].ar);
	}
	REQUIRE(c, !(guest64 && ar_l(cs->ar) && ar_db(cs->ar)), S_GUEST_SEG,
		"in IA-32e mode, a 64-bit CS (L = 1) must have D/B = 0", "GUEST_CS_AR_BYTES=0x%x", cs->ar);
	for (size_t i = 0; i < ARRAY_SIZE(code_data_order); i++) {
		unsigned r = code_data_order[i];
		if (r != SEG_CS && !ar_usable(s[r].ar))
			continue;
		REQUIRE(c, limit_matches_g(s[r].limit, s[r].ar), S_GUEST_SEG,
			"segment limit and G disagree: G = 0 needs limit bits 31:20 clear, G = 1 needs bits 11:0 set",
			"GUEST_%s_LIMIT=0x%x, GUEST_%s_AR_BYTES=0x%x (G %u)", seg_fields[r].name,
			s[r].limit, seg_fields[r].name, s[r].ar, ar_g(s[r].ar) ? 1u : 0u);
	}
	for (size_t i = 0; i < ARRAY_SIZE(code_data_order); i++) {
		unsigned r = code_data_order[i];
		if (r != SEG_CS && !ar_usable(s[r].ar))
			continue;
		REQUIRE(c, !(s[r].ar & AR_RESERVED_31_17), S_GUEST_SEG,
			"access rights bits 31:17 (reserved) must be 0 for CS and usable SS, DS, ES, FS, GS",
			"GUEST_%s_AR_BYTES=0x%x", seg_fields[r].name, s[r].ar);
	}
	return false;
}

static bool check_tr_ldtr_access_rights(struct ck *c, const struct seg *s)
{
	bool guest64 = c->entry_ctl & ENTRY_IA32E_MODE_GUEST;
	const struct seg *tr = &s[SEG_TR], *ldtr = &s[SEG_LDTR];
	unsigned t = ar_type(tr->ar);

	REQUIRE(c, t == 11 || (t == 3 && !guest64), S_GUEST_SEG,
		"TR must be a busy TSS: type 11, or 3 (16-bit) outside IA-32e mode",
		"GUEST_TR_AR_BYTES=0x%x: type %u, IA-32e mode guest %u", tr->ar, t, guest64 ? 1u : 0u);
	REQUIRE(c, !ar_s(tr->ar), S_GUEST_SEG, "TR must be a system segment (S = 0)",
		"GUEST_TR_AR_BYTES=0x%x", tr->ar);
	REQUIRE(c, ar_p(tr->ar), S_GUEST_SEG, "TR must be present (P = 1)", "GUEST_TR_AR_BYTES=0x%x",
		tr->ar);
	REQUIRE(c, !(tr->ar & AR_RESERVED_11_8), S_GUEST_SEG,
		"TR access rights bits 11:8 (reserved) must be 0", "GUEST_TR_AR_BYTES=0x%x", tr->ar);
	REQUIRE(c, limit_matches_g(tr->limit, tr->ar), S_GUEST_SEG,
		"TR limit and G disagree: G = 0 needs limit bits 31:20 clear, G = 1 needs bits 11:0 set",
		"GUEST_TR_LIMIT=0x%x, GUEST_TR_AR_BYTES=0x%x", tr->limit, tr->ar);
	REQUIRE(c, ar_usable(tr->ar), S_GUEST_SEG, "TR must be usable (unusable bit 16 = 0)",
		"GUEST_TR_AR_BYTES=0x%x", tr->ar);
	REQUIRE(c, !(tr->ar & AR_RESERVED_31_17), S_GUEST_SEG,
		"TR access rights bits 31:17 (reserved) must be 0", "GUEST_TR_AR_BYTES=0x%x", tr->ar);

	if (!ar_usable(ldtr->ar))
		return false;
	REQUIRE(c, ar_type(ldtr->ar) == 2, S_GUEST_SEG, "a usable LDTR must have type 2 (LDT)",
		"GUEST_LDTR_AR_BYTES=0x%x: type %u", ldtr->ar, ar_type(ldtr->ar));
	REQUIRE(c, !ar_s(ldtr->ar), S_GUEST_SEG, "a usable LDTR must be a system segment (S = 0)",
		"GUEST_LDTR_AR_BYTES=0x%x", ldtr->ar);
	REQUIRE(c, ar_p(ldtr->ar), S_GUEST_SEG, "a usable LDTR must be present (P = 1)",
		"GUEST_LDTR_AR_BYTES=0x%x", ldtr->ar);
	REQUIRE(c, !(ldtr->ar & AR_RESERVED_11_8), S_GUEST_SEG,
		"LDTR access rights bits 11:8 (reserved) must be 0", "GUEST_LDTR_AR_BYTES=0x%x", ldtr->ar);
	REQUIRE(c, limit_matches_g(ldtr->limit, ldtr->ar), S_GUEST_SEG,
		"LDTR limit and G disagree: G = 0 needs limit bits 31:20 clear, G = 1 needs bits 11:0 set",
		"GUEST_LDTR_LIMIT=0x%x, GUEST_LDTR_AR_BYTES=0x%x", ldtr->limit, ldtr->ar);
	REQUIRE(c, !(ldtr->ar & AR_RESERVED_31_17), S_GUEST_SEG,
		"LDTR access rights bits 31:17 (reserved) must be 0", "GUEST_LDTR_AR_BYTES=0x%x", ldtr->ar);
	return false;
}

/* SDM 27.3.1.2: guest segment registers. */
static bool check_guest_segments(struct ck *c)
{
	struct seg s[SEG_COUNT];
	for (unsigned r = 0; r < SEG_COUNT; r++) {
		s[r].sel = rd32(c, seg_fields[r].sel) & 0xffff;
		s[r].base = rd(c, seg_fields[r].base);
		s[r].limit = rd32(c, seg_fields[r].limit);
		s[r].ar = rd32(c, seg_fields[r].ar);
	}
	uint64_t cr0 = rd(c, VMCS_GUEST_CR0);
	bool v86 = rd(c, VMCS_GUEST_RFLAGS) & RFLAGS_VM;
	bool ug = c->sec & SEC_UNRESTRICTED_GUEST;

	/* Selector fields */
	REQUIRE(c, !(s[SEG_TR].sel & 4), S_GUEST_SEG, "the TR selector must have TI = 0 (bit 2)",
		"GUEST_TR_SELECTOR=0x%04x", s[SEG_TR].sel);
	REQUIRE(c, !ar_usable(s[SEG_LDTR].ar) || !(s[SEG_LDTR].sel & 4), S_GUEST_SEG,
		"a usable LDTR's selector must have TI = 0 (bit 2)", "GUEST_LDTR_SELECTOR=0x%04x",
		s[SEG_LDTR].sel);
	REQUIRE(c, v86 || ug || (s[SEG_SS].sel & 3) == (s[SEG_CS].sel & 3), S_GUEST_SEG,
		"the RPL of SS must equal the RPL of CS (unless virtual-8086 or unrestricted guest)",
		"GUEST_SS_SELECTOR=0x%04x, GUEST_CS_SELECTOR=0x%04x", s[SEG_SS].sel, s[SEG_CS].sel);

	/* Base-address fields */
	if (v86) {
		for (size_t i = 0; i < ARRAY_SIZE(code_data_order); i++) {
			unsigned r = code_data_order[i];
			REQUIRE(c, s[r].base == (uint64_t)s[r].sel << 4, S_GUEST_SEG,
				"in virtual-8086 mode a segment base must be its selector times 16",
				"GUEST_%s_BASE=0x%llx, GUEST_%s_SELECTOR=0x%04x", seg_fields[r].name,
				ULL(s[r].base), seg_fields[r].name, s[r].sel);
		}
	}
	static const uint8_t canonical_bases[] = { SEG_TR, SEG_FS, SEG_GS };
	for (size_t i = 0; i < ARRAY_SIZE(canonical_bases); i++) {
		unsigned r = canonical_bases[i];
		REQUIRE(c, canonical(c, s[r].base), S_GUEST_SEG, "TR, FS and GS base addresses must be canonical",
			"GUEST_%s_BASE=0x%llx", seg_fields[r].name, ULL(s[r].base));
	}
	REQUIRE(c, !ar_usable(s[SEG_LDTR].ar) || canonical(c, s[SEG_LDTR].base), S_GUEST_SEG,
		"a usable LDTR's base address must be canonical", "GUEST_LDTR_BASE=0x%llx",
		ULL(s[SEG_LDTR].base));
	REQUIRE(c, !(s[SEG_CS].base >> 32), S_GUEST_SEG, "CS base bits 63:32 must be 0",
		"GUEST_CS_BASE=0x%llx", ULL(s[SEG_CS].base));
	static const uint8_t low_bases[] = { SEG_SS, SEG_DS, SEG_ES };
	for (size_t i = 0; i < ARRAY_SIZE(low_bases); i++) {
		unsigned r = low_bases[i];
		REQUIRE(c, !ar_usable(s[r].ar) || !(s[r].base >> 32), S_GUEST_SEG,
			"a usable SS, DS or ES must have base bits 63:32 = 0", "GUEST_%s_BASE=0x%llx",
			seg_fields[r].name, ULL(s[r].base));
	}

	/* Limit and access-rights fields */
	if (v86) {
		for (size_t i = 0; i < ARRAY_SIZE(code_data_order); i++) {
			unsigned r = code_data_order[i];
			REQUIRE(c, s[r].limit == 0xffff, S_GUEST_SEG,
				"in virtual-8086 mode every segment limit must be 0xFFFF",
				"GUEST_%s_LIMIT=0x%x", seg_fields[r].name, s[r].limit);
		}
		for (size_t i = 0; i < ARRAY_SIZE(code_data_order); i++) {
			unsigned r = code_data_order[i];
			REQUIRE(c, s[r].ar == 0xf3, S_GUEST_SEG,
				"in virtual-8086 mode CS, SS, DS, ES, FS, GS access rights must be 0xF3",
				"GUEST_%s_AR_BYTES=0x%x", seg_fields[r].name, s[r].ar);
		}
	} else if (check_code_data_access_rights(c, s, cr0)) {
		return true;
	}
	return check_tr_ldtr_access_rights(c, s);
}

/* SDM 27.3.1.3: GDTR and IDTR. */
static bool check_guest_descriptor_tables(struct ck *c)
{
	uint64_t gdtr = rd(c, VMCS_GUEST_GDTR_BASE), idtr = rd(c, VMCS_GUEST_IDTR_BASE);
	uint32_t gdtl = rd32(c, VMCS_GUEST_GDTR_LIMIT), idtl = rd32(c, VMCS_GUEST_IDTR_LIMIT);
	REQUIRE(c, canonical(c, gdtr), S_GUEST_DT, "the GDTR base address must be canonical",
		"GUEST_GDTR_BASE=0x%llx", ULL(gdtr));
	REQUIRE(c, canonical(c, idtr), S_GUEST_DT, "the IDTR base address must be canonical",
		"GUEST_IDTR_BASE=0x%llx", ULL(idtr));
	REQUIRE(c, gdtl <= 0xffff, S_GUEST_DT, "GDTR limit bits 31:16 must be 0", "GUEST_GDTR_LIMIT=0x%x",
		gdtl);
	REQUIRE(c, idtl <= 0xffff, S_GUEST_DT, "IDTR limit bits 31:16 must be 0", "GUEST_IDTR_LIMIT=0x%x",
		idtl);
	return false;
}

/* SDM 27.3.1.4: RIP and RFLAGS. */
static bool check_guest_rip_rflags(struct ck *c)
{
	bool guest64 = c->entry_ctl & ENTRY_IA32E_MODE_GUEST;
	uint32_t cs_ar = rd32(c, VMCS_GUEST_CS_AR_BYTES);
	uint64_t rip = rd(c, VMCS_GUEST_RIP), rflags = rd(c, VMCS_GUEST_RFLAGS);

	if (!guest64 || !ar_l(cs_ar)) {
		REQUIRE(c, !(rip >> 32), S_GUEST_RIP,
			"outside 64-bit mode (IA-32e mode guest 0 or CS.L 0) RIP bits 63:32 must be 0",
			"GUEST_RIP=0x%llx, GUEST_CS_AR_BYTES=0x%x", ULL(rip), cs_ar);
	} else {
		REQUIRE(c, upper_bits_identical(c, rip), S_GUEST_RIP,
			"in 64-bit mode RIP bits 63:N (N = linear-address width) must be identical",
			"GUEST_RIP=0x%llx, linear-address width %u", ULL(rip), linear_width(c));
	}
	uint64_t reserved = ~0ULL << 22 | BIT(15) | BIT(5) | BIT(3);
	REQUIRE(c, !(rflags & reserved), S_GUEST_RIP, "RFLAGS reserved bits 63:22, 15, 5 and 3 must be 0",
		"GUEST_RFLAGS=0x%llx: bits 0x%llx", ULL(rflags), ULL(rflags & reserved));
	REQUIRE(c, rflags & RFLAGS_FIXED, S_GUEST_RIP, "RFLAGS bit 1 (reserved) must be 1",
		"GUEST_RFLAGS=0x%llx", ULL(rflags));
	if (rflags & RFLAGS_VM) {
		uint64_t cr0 = rd(c, VMCS_GUEST_CR0);
		REQUIRE(c, !guest64 && (cr0 & CR0_PE), S_GUEST_RIP,
			"RFLAGS.VM must be 0 in IA-32e mode and when CR0.PE is 0",
			"GUEST_RFLAGS=0x%llx, GUEST_CR0=0x%llx, VM_ENTRY_CONTROLS=0x%08x", ULL(rflags),
			ULL(cr0), c->entry_ctl);
	}
	uint32_t info = rd32(c, VMCS_VM_ENTRY_INTR_INFO);
	bool ext_int = (info & INTR_INFO_VALID) &&
		       ((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) == INTR_TYPE_EXTERNAL_INTERRUPT;
	REQUIRE(c, !ext_int || (rflags & RFLAGS_IF), S_GUEST_RIP,
		"injecting an external interrupt requires RFLAGS.IF = 1",
		"GUEST_RFLAGS=0x%llx, VM_ENTRY_INTR_INFO=0x%08x", ULL(rflags), info);
	return false;
}

/* Which injected events an activity state lets through (SDM 27.3.1.5). */
static bool injection_allowed(unsigned state, unsigned type, unsigned vector)
{
	switch (state) {
	case ACTIVITY_ACTIVE:
		return true;
	case ACTIVITY_HLT:
		return type == INTR_TYPE_EXTERNAL_INTERRUPT || type == INTR_TYPE_NMI ||
		       (type == INTR_TYPE_HARDWARE_EXCEPTION && (vector == EXC_DB || vector == EXC_MC)) ||
		       (type == INTR_TYPE_OTHER_EVENT && vector == 0);
	case ACTIVITY_SHUTDOWN:
		return type == INTR_TYPE_NMI || (type == INTR_TYPE_HARDWARE_EXCEPTION && vector == EXC_MC);
	default: /* wait-for-SIPI: nothing */
		return false;
	}
}

/* SDM 27.3.1.5: activity state, interruptibility state, pending debug
 * exceptions and the VMCS link pointer. */
static bool check_guest_non_register_state(struct ck *c)
{
	uint32_t state = rd32(c, VMCS_GUEST_ACTIVITY_STATE);
	uint32_t intr = rd32(c, VMCS_GUEST_INTERRUPTIBILITY_INFO);
	uint32_t info = rd32(c, VMCS_VM_ENTRY_INTR_INFO);
	uint64_t rflags = rd(c, VMCS_GUEST_RFLAGS);
	uint32_t ss_ar = rd32(c, VMCS_GUEST_SS_AR_BYTES);
	bool injecting = info & INTR_INFO_VALID;
	unsigned type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	unsigned vector = info & INTR_INFO_VECTOR_MASK;
	bool inject_ext = injecting && type == INTR_TYPE_EXTERNAL_INTERRUPT;
	bool inject_nmi = injecting && type == INTR_TYPE_NMI;
	bool to_smm = c->entry_ctl & ENTRY_ENTRY_TO_SMM;

	/* Activity state: 0 always; 1-3 when IA32_VMX_MISC bits 6-8 say so. */
	REQUIRE(c, state == ACTIVITY_ACTIVE || (state <= 3 && (c->caps->misc & BIT(5 + state))),
		S_GUEST_STATE, "the activity state must be one the CPU supports (IA32_VMX_MISC bits 8:6)",
		"GUEST_ACTIVITY_STATE=%u, IA32_VMX_MISC=0x%llx", state, ULL(c->caps->misc));
	REQUIRE(c, state != ACTIVITY_HLT || ar_dpl(ss_ar) == 0, S_GUEST_STATE,
		"the HLT activity state requires SS.DPL = 0",
		"GUEST_ACTIVITY_STATE=%u, GUEST_SS_AR_BYTES=0x%x (DPL %u)", state, ss_ar, ar_dpl(ss_ar));
	REQUIRE(c, state == ACTIVITY_ACTIVE || !(intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)),
		S_GUEST_STATE, "blocking by STI or MOV SS requires the active state",
		"GUEST_ACTIVITY_STATE=%u, GUEST_INTERRUPTIBILITY_INFO=0x%x", state, intr);
	REQUIRE(c, !injecting || injection_allowed(state, type, vector), S_GUEST_STATE,
		"the activity state must allow the injected event (HLT: external interrupt, NMI, #DB, #MC, MTF; shutdown: NMI, #MC; wait-for-SIPI: none)",
		"GUEST_ACTIVITY_STATE=%u, VM_ENTRY_INTR_INFO=0x%08x", state, info);
	REQUIRE(c, !(to_smm && state == ACTIVITY_WAIT_FOR_SIPI), S_GUEST_STATE,
		"the wait-for-SIPI state is not allowed with \"entry to SMM\"",
		"GUEST_ACTIVITY_STATE=%u, VM_ENTRY_CONTROLS=0x%08x", state, c->entry_ctl);

	/* Interruptibility state */
	REQUIRE(c, !(intr & ~0x1fu), S_GUEST_STATE, "interruptibility-state reserved bits 31:5 must be 0",
		"GUEST_INTERRUPTIBILITY_INFO=0x%x", intr);
	REQUIRE(c, (intr & 3) != 3, S_GUEST_STATE, "blocking by STI and by MOV SS cannot both be 1",
		"GUEST_INTERRUPTIBILITY_INFO=0x%x", intr);
	REQUIRE(c, !(intr & INTERRUPTIBILITY_STI) || (rflags & RFLAGS_IF), S_GUEST_STATE,
		"blocking by STI requires RFLAGS.IF = 1",
		"GUEST_INTERRUPTIBILITY_INFO=0x%x, GUEST_RFLAGS=0x%llx", intr, ULL(rflags));
	REQUIRE(c, !inject_ext || !(intr & 3), S_GUEST_STATE,
		"injecting an external interrupt requires no blocking by STI or MOV SS",
		"GUEST_INTERRUPTIBILITY_INFO=0x%x, VM_ENTRY_INTR_INFO=0x%08x", intr, info);
	REQUIRE(c, !inject_nmi || !(intr & INTERRUPTIBILITY_MOV_SS), S_GUEST_STATE,
		"injecting an NMI requires no blocking by MOV SS",
		"GUEST_INTERRUPTIBILITY_INFO=0x%x, VM_ENTRY_INTR_INFO=0x%08x", intr, info);
	/* The hypervisor never runs in SMM. */
	REQUIRE(c, !(intr & INTERRUPTIBILITY_SMI), S_GUEST_STATE,
		"blocking by SMI must be 0 outside SMM", "GUEST_INTERRUPTIBILITY_INFO=0x%x", intr);
	REQUIRE(c, !to_smm || (intr & INTERRUPTIBILITY_SMI), S_GUEST_STATE,
		"\"entry to SMM\" requires blocking by SMI",
		"GUEST_INTERRUPTIBILITY_INFO=0x%x, VM_ENTRY_CONTROLS=0x%08x", intr, c->entry_ctl);
	REQUIRE(c, !(inject_nmi && (c->pin & PIN_VIRTUAL_NMIS) && (intr & INTERRUPTIBILITY_NMI)),
		S_GUEST_STATE, "with \"virtual NMIs\", injecting an NMI requires no blocking by NMI",
		"GUEST_INTERRUPTIBILITY_INFO=0x%x, VM_ENTRY_INTR_INFO=0x%08x", intr, info);
	REQUIRE(c, !((intr & INTERRUPTIBILITY_ENCLAVE) && (intr & INTERRUPTIBILITY_MOV_SS)), S_GUEST_STATE,
		"an enclave interruption (bit 4) cannot come with blocking by MOV SS",
		"GUEST_INTERRUPTIBILITY_INFO=0x%x", intr);

	/* Pending debug exceptions */
	uint64_t pde = rd(c, VMCS_GUEST_PENDING_DBG_EXCEPTIONS);
	uint64_t pde_reserved = 0xff0ULL | BIT(13) | BIT(15) | ~0ULL << 17;
	REQUIRE(c, !(pde & pde_reserved), S_GUEST_STATE,
		"pending debug exceptions bits 11:4, 13, 15 and 63:17 must be 0",
		"GUEST_PENDING_DBG_EXCEPTIONS=0x%llx: bits 0x%llx", ULL(pde), ULL(pde & pde_reserved));
	if ((intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) || state == ACTIVITY_HLT) {
		uint64_t debugctl = rd(c, VMCS_GUEST_IA32_DEBUGCTL);
		bool single_step = (rflags & RFLAGS_TF) && !(debugctl & DEBUGCTL_BTF);
		REQUIRE(c, !!(pde & PENDING_DBG_BS) == single_step, S_GUEST_STATE,
			"with blocking by STI/MOV SS or HLT, pending BS (bit 14) must be 1 exactly when RFLAGS.TF = 1 and DEBUGCTL.BTF = 0",
			"GUEST_PENDING_DBG_EXCEPTIONS=0x%llx, GUEST_RFLAGS=0x%llx, GUEST_IA32_DEBUGCTL=0x%llx",
			ULL(pde), ULL(rflags), ULL(debugctl));
	}
	if (pde & PENDING_DBG_RTM) {
		REQUIRE(c, !(pde & 0xf) && (pde & PENDING_DBG_ENABLED_BP) && !(pde & PENDING_DBG_BS) &&
				   !(intr & INTERRUPTIBILITY_MOV_SS),
			S_GUEST_STATE,
			"pending RTM (bit 16) requires bits 3:0 and 14 = 0, bit 12 = 1 and no blocking by MOV SS",
			"GUEST_PENDING_DBG_EXCEPTIONS=0x%llx, GUEST_INTERRUPTIBILITY_INFO=0x%x", ULL(pde),
			intr);
	}

	/* VMCS link pointer */
	uint64_t link = rd(c, VMCS_VMCS_LINK_POINTER);
	if (link != ~0ULL) {
		REQUIRE(c, !(link & 0xfff), S_GUEST_STATE,
			"a VMCS link pointer other than all ones must be 4-KByte aligned (bits 11:0 = 0)",
			"VMCS_LINK_POINTER=0x%llx", ULL(link));
		REQUIRE(c, !beyond_width(link, vmx_ptr_width(c)), S_GUEST_STATE,
			"a VMCS link pointer other than all ones must be within the physical-address width",
			"VMCS_LINK_POINTER=0x%llx", ULL(link));
		/* Otherwise the pointed-to VMCS needs the right revision identifier,
		 * which only memory shows; TextbookHV has no shadow VMCS. */
		REQUIRE(c, false, S_GUEST_STATE,
			"the VMCS link pointer must be FFFFFFFF_FFFFFFFFH (no shadow VMCS), or point to a VMCS with this CPU's revision identifier",
			"VMCS_LINK_POINTER=0x%llx, VMCS shadowing %u", ULL(link),
			(c->sec & SEC_VMCS_SHADOWING) ? 1u : 0u);
	}
	return false;
}

/* SDM 27.3.1.6: PDPTEs, when the guest uses PAE paging. Only the VMCS copies
 * (used with EPT) can be checked; without EPT they are read from guest memory. */
static bool check_guest_pdptes(struct ck *c)
{
	uint64_t cr0 = rd(c, VMCS_GUEST_CR0), cr4 = rd(c, VMCS_GUEST_CR4);
	if (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE) || (c->entry_ctl & ENTRY_IA32E_MODE_GUEST) ||
	    !(c->sec & SEC_ENABLE_EPT))
		return false;
	/* Reserved in a present PAE PDPTE: bits 2:1, 8:5 and 63:MAXPHYADDR. */
	uint64_t reserved = 0x6ULL | 0x1e0ULL;
	if (phys_width(c) < 64)
		reserved |= ~0ULL << phys_width(c);
	for (unsigned i = 0; i < 4; i++) {
		uint64_t e = rd(c, VMCS_GUEST_PDPTE0 + 2 * i);
		REQUIRE(c, !(e & 1) || !(e & reserved), S_GUEST_PDPTE,
			"a present PDPTE must have reserved bits (2:1, 8:5, 63:MAXPHYADDR) 0",
			"GUEST_PDPTE%u=0x%llx: bits 0x%llx", i, ULL(e), ULL(e & reserved));
	}
	return false;
}

bool entry_check_guest(const struct entry_check_input *in, struct entry_check_result *out)
{
	struct ck c;
	start(&c, in, out, ENTRY_CHECK_GUEST);
	return check_guest_registers(&c) || check_guest_segments(&c) ||
	       check_guest_descriptor_tables(&c) || check_guest_rip_rflags(&c) ||
	       check_guest_non_register_state(&c) || check_guest_pdptes(&c);
}

bool entry_check_all(const struct entry_check_input *in, struct entry_check_result *out)
{
	return entry_check_controls(in, out) || entry_check_host(in, out) ||
	       entry_check_guest(in, out);
}

const char *entry_check_area_name(enum entry_check_area area)
{
	switch (area) {
	case ENTRY_CHECK_CONTROLS:
		return "VMX controls";
	case ENTRY_CHECK_HOST:
		return "host-state area";
	case ENTRY_CHECK_GUEST:
		return "guest-state area";
	}
	return "unknown area";
}

int entry_check_format(const struct entry_check_result *r, char *buf, size_t size)
{
	return hv_snprintf(buf, size, "%s: %s (%s): %s", entry_check_area_name(r->area), r->rule,
			   r->sdm, r->detail);
}
