/* VMCS names and dumps, and the VM-instruction error numbers in words. */
#include "vmx/vmcs.h"
#include "vmx/vmcs_diag.h"
#include "lib/panic.h"
#include "lib/printf.h"

static const struct {
	uint32_t encoding;
	const char *name;
} field_names[] = {
#define VMCS_FIELD(name, enc) { enc, #name },
#include "vmx/vmcs_fields.def"
#undef VMCS_FIELD
};

const char *vmcs_field_name(uint32_t encoding)
{
	for (size_t i = 0; i < ARRAY_SIZE(field_names); i++)
		if (field_names[i].encoding == encoding)
			return field_names[i].name;
	return NULL;
}

/* VM-instruction error numbers (SDM Vol. 3C 31.4, Table 31-1). */
static const char *const instruction_errors[] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[19] = "VMCALL with non-clear VMCS",
	[20] = "VMCALL with invalid VM-exit control fields",
	[22] = "VMCALL with incorrect MSEG revision identifier",
	[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
	[24] = "VMCALL with invalid SMM-monitor features",
	[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "invalid operand to INVEPT/INVVPID",
};

const char *vm_instruction_error_name(uint32_t err)
{
	if (err < ARRAY_SIZE(instruction_errors) && instruction_errors[err])
		return instruction_errors[err];
	return "unknown VM-instruction error";
}

#ifndef HV_HOSTED
void vmcs_access_failed(const char *op, uint32_t field)
{
	const char *name = vmcs_field_name(field);
	panic("%s of VMCS field 0x%04x (%s) failed", op, field, name ? name : "unknown field");
}

/* VMREAD that reports failure instead of panicking: a dump must show what
 * it can even on a CPU that lacks some fields. */
static bool vmcs_try_read(uint32_t field, uint64_t *v)
{
	bool fail;
	__asm__ volatile("vmread %2, %0" : "=rm"(*v), "=@ccbe"(fail) : "r"((uint64_t)field) : "cc");
	return !fail;
}

void vmcs_dump(void)
{
	unsigned col = 0;
	kprintf("  VMCS fields:\n");
	for (size_t i = 0; i < ARRAY_SIZE(field_names); i++) {
		uint64_t v;
		if (!vmcs_try_read(field_names[i].encoding, &v))
			continue;
		kprintf("    %-32s %016llx%s", field_names[i].name, (unsigned long long)v,
			(++col % 2) ? "" : "\n");
	}
	if (col % 2)
		kprintf("\n");
}
#endif
