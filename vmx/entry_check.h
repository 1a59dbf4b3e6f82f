/* A software copy of the checks VM entry makes (SDM Vol. 3C 27.2 "checks on
 * VMX controls and host-state area" and 27.3.1 "checks on the guest-state
 * area"), to name the first rule a VMCS breaks when VMLAUNCH/VMRESUME fails
 * with VM-instruction error 7 or 8, or exits with basic reason 33.
 *
 * Pure logic: every VMCS field comes through in->read, so the same code runs
 * in the hypervisor (read = VMREAD) and in host unit tests (a fake VMCS).
 * Fields that exist only when a feature exists (the secondary controls, the
 * EPTP, the PAT and EFER fields, ...) are read only when the controls say the
 * CPU uses them, so a VMREAD of an unsupported field never happens.
 * docs/entry-failures.md lists the rules. */
#ifndef VMX_ENTRY_CHECK_H
#define VMX_ENTRY_CHECK_H

#include "lib/types.h"
#include "vmx/vmx_caps.h"

struct entry_check_input {
	/* VMREAD of one field (an encoding of vmx/vmcs_fields.def). */
	uint64_t (*read)(void *ctx, uint32_t field);
	void *ctx;
	/* The capability MSRs: allowed control settings, CR fixed bits,
	 * IA32_VMX_MISC, IA32_VMX_EPT_VPID_CAP, IA32_VMX_BASIC. */
	const struct vmx_caps *caps;
	/* MAXPHYADDR, CPUID.80000008H:EAX[7:0] (e.g. 39, 46); 0 means 52. */
	unsigned phys_addr_width;
	/* Linear-address width, CPUID.80000008H:EAX[15:8]; 0 means 48. */
	unsigned linear_addr_width;
	/* The VMM runs outside IA-32e mode (IA32_EFER.LMA = 0, SDM 27.2.4).
	 * Always false for TextbookHV, a 64-bit hypervisor. */
	bool vmm_outside_ia32e;
};

enum entry_check_area {
	ENTRY_CHECK_CONTROLS, /* SDM 27.2.1: VM-instruction error 7 */
	ENTRY_CHECK_HOST,     /* SDM 27.2.2-27.2.4: VM-instruction error 8 */
	ENTRY_CHECK_GUEST,    /* SDM 27.3.1: exit reason 33 */
};

struct entry_check_result {
	const char *rule; /* the rule in short words */
	const char *sdm;  /* where the SDM states it, e.g. "SDM 27.3.1.2" */
	char detail[192]; /* the fields involved and their values */
	enum entry_check_area area;
};

/* Each returns true, with *out filled in, when the VMCS breaks a rule of its
 * area; false, with *out untouched, when every rule it knows holds. */
bool entry_check_controls(const struct entry_check_input *in, struct entry_check_result *out);
bool entry_check_host(const struct entry_check_input *in, struct entry_check_result *out);
bool entry_check_guest(const struct entry_check_input *in, struct entry_check_result *out);
/* Controls, then host state, then guest state: the order VM entry uses. */
bool entry_check_all(const struct entry_check_input *in, struct entry_check_result *out);

/* "VMX controls", "host-state area" or "guest-state area". */
const char *entry_check_area_name(enum entry_check_area area);

/* One line for the log: "<area>: <rule> (<sdm>): <detail>". Returns what
 * hv_snprintf returns. */
int entry_check_format(const struct entry_check_result *r, char *buf, size_t size);

#endif
