#include "vmx/selftest.h"
#include "vmx/vmcs.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"

struct breakage {
	const char *name;
	uint32_t field;
	uint64_t and_mask, or_mask; /* new = (old & and_mask) | or_mask */
};

/* Each breaks one rule of SDM Vol. 3C 27.2 (controls, host state) or 27.3
 * (guest state) in a VMCS that is otherwise valid. */
static const struct breakage breakages[] = {
	{ "break-cr0-pg-without-pe", VMCS_GUEST_CR0, ~CR0_PE, CR0_PG },
	{ "break-cr4-vmxe", VMCS_GUEST_CR4, ~CR4_VMXE, 0 },
	{ "break-rflags-bit1", VMCS_GUEST_RFLAGS, ~RFLAGS_FIXED, 0 },
	{ "break-cs-type", VMCS_GUEST_CS_AR_BYTES, ~0xfULL, 0x1 },     /* read-only data in CS */
	{ "break-tr-type", VMCS_GUEST_TR_AR_BYTES, ~0xfULL, 0x1 },     /* 16-bit available TSS */
	{ "break-ss-present", VMCS_GUEST_SS_AR_BYTES, ~0x80ULL, 0 },   /* usable but not present */
	{ "break-ldtr-usable", VMCS_GUEST_LDTR_AR_BYTES, 0, 0x0082 | BIT(7) | BIT(4) }, /* S=1 LDT */
	{ "break-gdtr-limit", VMCS_GUEST_GDTR_LIMIT, 0, 0x10000 },
	{ "break-activity-state", VMCS_GUEST_ACTIVITY_STATE, 0, 5 },
	{ "break-sti-and-mov-ss", VMCS_GUEST_INTERRUPTIBILITY_INFO, 0, 3 },
	{ "break-link-pointer", VMCS_VMCS_LINK_POINTER, 0, 0x1000 },
	{ "break-dr7-high", VMCS_GUEST_DR7, ~0ULL, 1ULL << 40 },
	{ "break-host-tr", VMCS_HOST_TR_SELECTOR, 0, 0 },
	{ "break-host-rip", VMCS_HOST_RIP, 0, 0x0000800000000000ULL }, /* not canonical */
	/* #UD with an error code (Bochs panics on the reserved type 7 instead). */
	{ "break-entry-intr-info", VMCS_VM_ENTRY_INTR_INFO, 0, 0x80000000u | BIT(11) | (3u << 8) | 6 },
	{ "break-cr3-target-count", VMCS_CR3_TARGET_COUNT, 0, 5 },
};

bool vmx_selftest_break(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(breakages); i++) {
		const struct breakage *b = &breakages[i];
		if (strcmp(name, b->name) == 0) {
			vmcs_write(b->field, (vmcs_read(b->field) & b->and_mask) | b->or_mask);
			return true;
		}
	}
	return false;
}

const char *vmx_selftest_names(void)
{
	return "break-cr0-pg-without-pe, break-cr4-vmxe, break-rflags-bit1, break-cs-type, "
	       "break-tr-type, break-ss-present, break-ldtr-usable, break-gdtr-limit, "
	       "break-activity-state, break-sti-and-mov-ss, break-link-pointer, break-dr7-high, "
	       "break-host-tr, break-host-rip, break-entry-intr-info, break-cr3-target-count";
}
