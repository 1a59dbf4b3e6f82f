/* VMCS field encodings, control bits and the VMREAD/VMWRITE wrappers. */
#ifndef VMX_VMCS_H
#define VMX_VMCS_H

#include "lib/types.h"

enum vmcs_field {
#define VMCS_FIELD(name, enc) VMCS_##name = enc,
#include "vmx/vmcs_fields.def"
#undef VMCS_FIELD
};

/* Name of a field for dumps, or NULL if the encoding is unknown. */
const char *vmcs_field_name(uint32_t encoding);

/* Pin-based VM-execution controls (SDM Vol. 3C 25.6.1). */
#define PIN_EXTERNAL_INTERRUPT_EXITING BIT(0)
#define PIN_NMI_EXITING BIT(3)
#define PIN_VIRTUAL_NMIS BIT(5)
#define PIN_PREEMPTION_TIMER BIT(6)
#define PIN_POSTED_INTERRUPTS BIT(7)

/* Primary processor-based VM-execution controls (SDM 25.6.2, Table 25-6). */
#define CPU_INTERRUPT_WINDOW_EXITING BIT(2)
#define CPU_USE_TSC_OFFSETTING BIT(3)
#define CPU_HLT_EXITING BIT(7)
#define CPU_INVLPG_EXITING BIT(9)
#define CPU_MWAIT_EXITING BIT(10)
#define CPU_RDPMC_EXITING BIT(11)
#define CPU_RDTSC_EXITING BIT(12)
#define CPU_CR3_LOAD_EXITING BIT(15)
#define CPU_CR3_STORE_EXITING BIT(16)
#define CPU_ACTIVATE_TERTIARY_CONTROLS BIT(17)
#define CPU_CR8_LOAD_EXITING BIT(19)
#define CPU_CR8_STORE_EXITING BIT(20)
#define CPU_USE_TPR_SHADOW BIT(21)
#define CPU_NMI_WINDOW_EXITING BIT(22)
#define CPU_MOV_DR_EXITING BIT(23)
#define CPU_UNCONDITIONAL_IO_EXITING BIT(24)
#define CPU_USE_IO_BITMAPS BIT(25)
#define CPU_MONITOR_TRAP_FLAG BIT(27)
#define CPU_USE_MSR_BITMAPS BIT(28)
#define CPU_MONITOR_EXITING BIT(29)
#define CPU_PAUSE_EXITING BIT(30)
#define CPU_ACTIVATE_SECONDARY_CONTROLS BIT(31)

/* Secondary processor-based VM-execution controls (SDM 25.6.2, Table 25-7). */
#define SEC_VIRTUALIZE_APIC_ACCESSES BIT(0)
#define SEC_ENABLE_EPT BIT(1)
#define SEC_DESCRIPTOR_TABLE_EXITING BIT(2)
#define SEC_ENABLE_RDTSCP BIT(3)
#define SEC_VIRTUALIZE_X2APIC_MODE BIT(4)
#define SEC_ENABLE_VPID BIT(5)
#define SEC_WBINVD_EXITING BIT(6)
#define SEC_UNRESTRICTED_GUEST BIT(7)
#define SEC_APIC_REGISTER_VIRTUALIZATION BIT(8)
#define SEC_VIRTUAL_INTERRUPT_DELIVERY BIT(9)
#define SEC_PAUSE_LOOP_EXITING BIT(10)
#define SEC_RDRAND_EXITING BIT(11)
#define SEC_ENABLE_INVPCID BIT(12)
#define SEC_ENABLE_VM_FUNCTIONS BIT(13)
#define SEC_VMCS_SHADOWING BIT(14)
#define SEC_RDSEED_EXITING BIT(16)
#define SEC_ENABLE_PML BIT(17)
#define SEC_EPT_VIOLATION_VE BIT(18)
#define SEC_ENABLE_XSAVES BIT(20)
#define SEC_MODE_BASED_EPT_EXEC BIT(22)
#define SEC_USE_TSC_SCALING BIT(25)
#define SEC_ENABLE_USER_WAIT_PAUSE BIT(26)

/* VM-exit controls (SDM 25.7.1, Table 25-13). */
#define EXIT_SAVE_DEBUG_CONTROLS BIT(2)
#define EXIT_HOST_ADDRESS_SPACE_SIZE BIT(9)
#define EXIT_LOAD_PERF_GLOBAL_CTRL BIT(12)
#define EXIT_ACK_INTERRUPT_ON_EXIT BIT(15)
#define EXIT_SAVE_IA32_PAT BIT(18)
#define EXIT_LOAD_IA32_PAT BIT(19)
#define EXIT_SAVE_IA32_EFER BIT(20)
#define EXIT_LOAD_IA32_EFER BIT(21)
#define EXIT_SAVE_PREEMPTION_TIMER BIT(22)

/* VM-entry controls (SDM 25.8.1, Table 25-15). */
#define ENTRY_LOAD_DEBUG_CONTROLS BIT(2)
#define ENTRY_IA32E_MODE_GUEST BIT(9)
#define ENTRY_ENTRY_TO_SMM BIT(10)
#define ENTRY_LOAD_PERF_GLOBAL_CTRL BIT(13)
#define ENTRY_LOAD_IA32_PAT BIT(14)
#define ENTRY_LOAD_IA32_EFER BIT(15)

/* Interruption-information format for VM entry and exit (SDM 25.8.3, 28.2.2). */
#define INTR_INFO_VECTOR_MASK 0xffu
#define INTR_INFO_TYPE_SHIFT 8
#define INTR_INFO_TYPE_MASK (7u << 8)
#define INTR_INFO_DELIVER_ERROR_CODE BIT(11)
#define INTR_INFO_NMI_UNBLOCKING BIT(12)
#define INTR_INFO_VALID BIT(31)
#define INTR_TYPE_EXTERNAL_INTERRUPT 0
#define INTR_TYPE_NMI 2
#define INTR_TYPE_HARDWARE_EXCEPTION 3
#define INTR_TYPE_SOFTWARE_INTERRUPT 4
#define INTR_TYPE_PRIV_SOFTWARE_EXCEPTION 5
#define INTR_TYPE_SOFTWARE_EXCEPTION 6

/* Guest interruptibility state (SDM 25.4.2, Table 25-3). */
#define INTERRUPTIBILITY_STI BIT(0)
#define INTERRUPTIBILITY_MOV_SS BIT(1)
#define INTERRUPTIBILITY_SMI BIT(2)
#define INTERRUPTIBILITY_NMI BIT(3)

/* Guest activity states (SDM 25.4.2). */
#define GUEST_ACTIVITY_ACTIVE 0
#define GUEST_ACTIVITY_HLT 1

/* Exit reason field (SDM 28.2.1): basic reason in bits 15:0. */
#define EXIT_REASON_BASIC_MASK 0xffffu
#define EXIT_REASON_ENTRY_FAILURE BIT(31)

/* Segment access rights (SDM 25.4.1, Table 25-2). */
#define AR_UNUSABLE BIT(16)

#ifndef HV_HOSTED
/* VMREAD/VMWRITE report failure in RFLAGS.CF/ZF (SDM 31.2). A failure here is
 * a hypervisor bug (bad encoding, no current VMCS), so it panics with the
 * field's name rather than continuing with a wrong value. */
NORETURN void vmcs_access_failed(const char *op, uint32_t field);

static inline uint64_t vmcs_read(uint32_t field)
{
	uint64_t v;
	bool fail;
	__asm__ volatile("vmread %2, %0" : "=rm"(v), "=@ccbe"(fail) : "r"((uint64_t)field) : "cc");
	if (__builtin_expect(fail, 0))
		vmcs_access_failed("VMREAD", field);
	return v;
}

static inline void vmcs_write(uint32_t field, uint64_t v)
{
	bool fail;
	__asm__ volatile("vmwrite %2, %1" : "=@ccbe"(fail) : "r"((uint64_t)field), "rm"(v) : "cc");
	if (__builtin_expect(fail, 0))
		vmcs_access_failed("VMWRITE", field);
}
#else
/* Host unit tests: a fake VMCS (tests/unit/fake_hw.c). */
uint64_t vmcs_read(uint32_t field);
void vmcs_write(uint32_t field, uint64_t v);
#endif

#endif
