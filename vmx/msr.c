#include "vmx/msr.h"
#include "arch/x86/percpu.h"
#include "lib/string.h"
#include "vmx/vmcs.h"
#include "arch/x86/cpu.h"
#include "lib/log.h"
#include "vm/vm.h"
#include "vmx/apicv.h"

typedef bool (*msr_read_fn)(struct vcpu *v, uint32_t msr, uint64_t *value);
typedef bool (*msr_write_fn)(struct vcpu *v, uint32_t msr, uint64_t value);

struct msr_policy {
	uint32_t msr;
	const char *name;
	msr_read_fn read;   /* NULL: reads raise #GP */
	msr_write_fn write; /* NULL: writes raise #GP */
	uint32_t vmcs_field; /* for msr_vmcs_*: the guest-state field that holds it */
};

static const struct msr_policy *find_policy(uint32_t msr);
static bool host_has_rdtscp(void);

/* --- MSRs held in the VMCS guest-state area (SDM 25.4.1) --- */
static bool msr_vmcs_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	(void)v;
	*value = vmcs_read(find_policy(msr)->vmcs_field);
	return true;
}

static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static bool msr_vmcs_write_address(struct vcpu *v, uint32_t msr, uint64_t value)
{
	(void)v;
	if (!canonical(value))
		return false; /* non-canonical bases raise #GP (SDM Vol. 4) */
	vmcs_write(find_policy(msr)->vmcs_field, value);
	return true;
}

static bool msr_sysenter_cs_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
	(void)v;
	(void)msr;
	vmcs_write(VMCS_GUEST_SYSENTER_CS, value & 0xffffffff);
	return true;
}

static bool msr_efer_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
	(void)v;
	(void)msr;
	uint64_t old = vmcs_read(VMCS_GUEST_IA32_EFER);
	uint64_t allowed = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	if (value & ~allowed)
		return false;
	/* LME cannot change while paging is on (SDM Vol. 3A 9.8.5). */
	if (((value ^ old) & EFER_LME) && (vmcs_read(VMCS_GUEST_CR0) & CR0_PG))
		return false;
	/* LMA is the CPU's to set; writes leave it alone. */
	value = (value & ~EFER_LMA) | (old & EFER_LMA);
	vmcs_write(VMCS_GUEST_IA32_EFER, value);
	return true;
}

static bool msr_pat_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
	(void)v;
	(void)msr;
	/* Each byte must name a defined memory type: 0, 1, 4, 5, 6 or 7 (SDM 13.12.2). */
	for (unsigned i = 0; i < 8; i++) {
		uint8_t t = (uint8_t)(value >> (i * 8));
		if (t > 7 || t == 2 || t == 3)
			return false;
	}
	vmcs_write(VMCS_GUEST_IA32_PAT, value);
	return true;
}

/* --- MSRs kept in struct vcpu and loaded into the CPU while it runs --- */
static uint64_t *vcpu_msr_slot(struct vcpu *v, uint32_t msr)
{
	switch (msr) {
	case MSR_IA32_STAR: return &v->msr_star;
	case MSR_IA32_LSTAR: return &v->msr_lstar;
	case MSR_IA32_CSTAR: return &v->msr_cstar;
	case MSR_IA32_FMASK: return &v->msr_fmask;
	case MSR_IA32_KERNEL_GS_BASE: return &v->msr_kernel_gs_base;
	case MSR_IA32_TSC_AUX: return &v->msr_tsc_aux;
	default: return NULL;
	}
}

static bool msr_vcpu_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	*value = *vcpu_msr_slot(v, msr);
	return true;
}

static bool msr_vcpu_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
	if ((msr == MSR_IA32_LSTAR || msr == MSR_IA32_CSTAR || msr == MSR_IA32_KERNEL_GS_BASE) &&
	    !canonical(value))
		return false;
	if (msr == MSR_IA32_TSC_AUX && ((value >> 32) || !host_has_rdtscp()))
		return false;
	*vcpu_msr_slot(v, msr) = value;
	wrmsr(msr, value); /* live now: this vCPU owns the CPU */
	return true;
}

/* --- Emulated --- */
static bool msr_tsc_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	(void)v;
	(void)msr;
	*value = rdtsc() + vmcs_read(VMCS_TSC_OFFSET);
	return true;
}

/* The guest moves its TSC by delta: keep the host's, move the offset (SDM
 * 26.6.5). IA32_TSC_ADJUST follows every such move (SDM 17.17.3). The device
 * clocks run on the guest TSC and follow. */
static void move_guest_tsc(struct vcpu *v, uint64_t delta)
{
	v->vm->tsc_offset += delta;
	v->tsc_adjust += delta;
	vmcs_write(VMCS_TSC_OFFSET, v->vm->tsc_offset);
	v->vm->timers_dirty = true;
}

static bool msr_tsc_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
	(void)msr;
	move_guest_tsc(v, value - (rdtsc() + v->vm->tsc_offset));
	return true;
}

static bool msr_tsc_adjust_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	(void)msr;
	*value = v->tsc_adjust;
	return true;
}

static bool msr_tsc_adjust_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
	(void)msr;
	move_guest_tsc(v, value - v->tsc_adjust);
	return true;
}

/* MTRRs: IA32_MTRRCAP reads 0 (no variable or fixed ranges, no WC), so the
 * default type is all there is. EPT decides the real memory type (WB). */
static bool msr_mtrr_def_type_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	(void)msr;
	*value = v->mtrr_def_type;
	return true;
}

static bool msr_mtrr_def_type_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
	(void)msr;
	uint8_t type = (uint8_t)value;
	/* Reserved bits and undefined types #GP (SDM 12.11.2.1, 12.11.1). */
	if (value & ~(0xffULL | MTRR_DEF_TYPE_FE | MTRR_DEF_TYPE_E))
		return false;
	if (type != 0 && type != 1 && type != 4 && type != 5 && type != 6)
		return false;
	v->mtrr_def_type = value;
	return true;
}

static bool msr_feature_control_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	(void)v;
	(void)msr;
	/* Locked, with VMX off: the guest sees no VT-x, consistent with CPUID. */
	*value = FEATURE_CONTROL_LOCKED;
	return true;
}

static bool msr_misc_enable_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	(void)v;
	(void)msr;
	/* Fast strings on; BTS and PEBS unavailable (bits 11, 12). */
	*value = BIT(0) | BIT(11) | BIT(12);
	return true;
}

static bool msr_read_zero(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	(void)v;
	(void)msr;
	*value = 0;
	return true;
}

static bool msr_write_ignore(struct vcpu *v, uint32_t msr, uint64_t value)
{
	(void)v;
	(void)msr;
	(void)value;
	return true;
}

static const struct msr_policy msr_table[] = {
	{ MSR_IA32_TSC, "IA32_TSC", msr_tsc_read, msr_tsc_write, 0 },
	{ MSR_IA32_PLATFORM_ID, "IA32_PLATFORM_ID", msr_read_zero, NULL, 0 },
	{ MSR_IA32_FEATURE_CONTROL, "IA32_FEATURE_CONTROL", msr_feature_control_read, NULL, 0 },
	/* Microcode: the guest reads revision 0 and its update trigger is ignored. */
	{ MSR_IA32_BIOS_SIGN_ID, "IA32_BIOS_SIGN_ID", msr_read_zero, msr_write_ignore, 0 },
	{ MSR_IA32_TSC_ADJUST, "IA32_TSC_ADJUST", msr_tsc_adjust_read, msr_tsc_adjust_write, 0 },
	{ MSR_IA32_MTRRCAP, "IA32_MTRRCAP", msr_read_zero, NULL, 0 },
	{ MSR_IA32_MTRR_DEF_TYPE, "IA32_MTRR_DEF_TYPE", msr_mtrr_def_type_read, msr_mtrr_def_type_write, 0 },
	{ MSR_IA32_MISC_ENABLE, "IA32_MISC_ENABLE", msr_misc_enable_read, msr_write_ignore, 0 },
	{ MSR_IA32_SYSENTER_CS, "IA32_SYSENTER_CS", msr_vmcs_read, msr_sysenter_cs_write,
	  VMCS_GUEST_SYSENTER_CS },
	{ MSR_IA32_SYSENTER_ESP, "IA32_SYSENTER_ESP", msr_vmcs_read, msr_vmcs_write_address,
	  VMCS_GUEST_SYSENTER_ESP },
	{ MSR_IA32_SYSENTER_EIP, "IA32_SYSENTER_EIP", msr_vmcs_read, msr_vmcs_write_address,
	  VMCS_GUEST_SYSENTER_EIP },
	{ MSR_IA32_PAT, "IA32_PAT", msr_vmcs_read, msr_pat_write, VMCS_GUEST_IA32_PAT },
	{ MSR_IA32_EFER, "IA32_EFER", msr_vmcs_read, msr_efer_write, VMCS_GUEST_IA32_EFER },
	{ MSR_IA32_FS_BASE, "IA32_FS_BASE", msr_vmcs_read, msr_vmcs_write_address, VMCS_GUEST_FS_BASE },
	{ MSR_IA32_GS_BASE, "IA32_GS_BASE", msr_vmcs_read, msr_vmcs_write_address, VMCS_GUEST_GS_BASE },
	{ MSR_IA32_STAR, "IA32_STAR", msr_vcpu_read, msr_vcpu_write, 0 },
	{ MSR_IA32_LSTAR, "IA32_LSTAR", msr_vcpu_read, msr_vcpu_write, 0 },
	{ MSR_IA32_CSTAR, "IA32_CSTAR", msr_vcpu_read, msr_vcpu_write, 0 },
	{ MSR_IA32_FMASK, "IA32_FMASK", msr_vcpu_read, msr_vcpu_write, 0 },
	{ MSR_IA32_KERNEL_GS_BASE, "IA32_KERNEL_GS_BASE", msr_vcpu_read, msr_vcpu_write, 0 },
	{ MSR_IA32_TSC_AUX, "IA32_TSC_AUX", msr_vcpu_read, msr_vcpu_write, 0 },
	/* Refused on purpose (#GP, as on a CPU without them): what Linux
	 * probes at boot for features CPUID does not offer the guest
	 * (vm/cpuid_policy.c), named so the log says what was asked. */
	{ 0x034, "MSR_SMI_COUNT (not offered)", NULL, NULL, 0 },
	{ 0x048, "IA32_SPEC_CTRL (CPUID hides it)", NULL, NULL, 0 },
	{ 0x049, "IA32_PRED_CMD (CPUID hides it)", NULL, NULL, 0 },
	{ 0x04e, "MSR_PPIN_CTL (not offered)", NULL, NULL, 0 },
	{ 0x10a, "IA32_ARCH_CAPABILITIES (CPUID hides it)", NULL, NULL, 0 },
	{ 0x0ce, "MSR_PLATFORM_INFO (not offered)", NULL, NULL, 0 },
	{ 0x140, "MSR_MISC_FEATURES_ENABLES (no CPUID faulting)", NULL, NULL, 0 },
	{ 0x150, "MSR_OC_MAILBOX (not offered)", NULL, NULL, 0 },
	{ 0x179, "IA32_MCG_CAP (CPUID hides MCA)", NULL, NULL, 0 },
	{ 0x17a, "IA32_MCG_STATUS (CPUID hides MCA)", NULL, NULL, 0 },
	{ 0x19b, "IA32_THERM_INTERRUPT (CPUID hides ACPI thermal)", NULL, NULL, 0 },
	{ 0x1b2, "IA32_PACKAGE_THERM_INTERRUPT (CPUID hides ACPI thermal)", NULL, NULL, 0 },
	{ 0x64e, "MSR_PPERF (CPUID hides leaf 6)", NULL, NULL, 0 },
	{ 0xc0011029, "an AMD MSR (the guest sees an Intel CPU)", NULL, NULL, 0 },
};

static const struct msr_policy *find_policy(uint32_t msr)
{
	for (size_t i = 0; i < ARRAY_SIZE(msr_table); i++)
		if (msr_table[i].msr == msr)
			return &msr_table[i];
	return NULL;
}

const char *msr_name(uint32_t msr)
{
	if (msr == MSR_IA32_APIC_BASE)
		return "IA32_APIC_BASE";
	if (msr == MSR_IA32_TSC_DEADLINE)
		return "IA32_TSC_DEADLINE";
	if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST)
		return "x2APIC register";
	const struct msr_policy *p = find_policy(msr);
	return p ? p->name : NULL;
}

bool msr_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	/* IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range belong to the
	 * vCPU's local APIC, which knows their #GP rules (devices/lapic.c). */
	if (lapic_handles_msr(msr))
		return lapic_msr_read(&v->lapic, msr, value);
	const struct msr_policy *p = find_policy(msr);
	return p && p->read && p->read(v, msr, value);
}

bool msr_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
	if (lapic_handles_msr(msr)) {
		/* The xAPIC page is wired at its reset address (vm/platform.c):
		 * moving it would leave the guest talking to nothing, so it is
		 * refused, loudly. No OS we know of moves it. */
		if (msr == MSR_IA32_APIC_BASE && (value & ~0xfffULL) != LAPIC_DEFAULT_BASE) {
			pr_warn("VM %s: WRMSR IA32_APIC_BASE 0x%llx would move the local APIC page: "
				"not supported, #GP", v->vm->name, (unsigned long long)value);
			return false;
		}
		/* LVT timer, initial count, divide configuration, TSC deadline:
		 * the timer's deadline may move. */
		if (msr == MSR_IA32_TSC_DEADLINE || msr == 0x832 || msr == 0x838 || msr == 0x83e)
			v->vm->timers_dirty = true;
		if (!lapic_msr_write(&v->lapic, msr, value))
			return false;
		/* The page may have changed under the CPU's virtual-interrupt
		 * delivery, or the APIC its mode (vmx/apicv.c). */
		v->events_waiting = true;
		if (msr == MSR_IA32_APIC_BASE)
			apicv_mode_changed(v);
		return true;
	}
	const struct msr_policy *p = find_policy(msr);
	return p && p->write && p->write(v, msr, value);
}

static bool host_has_rdtscp(void)
{
	struct cpuid_regs r;
	cpuid_count(0x80000000, 0, &r);
	if (r.eax < 0x80000001)
		return false;
	cpuid_count(0x80000001, 0, &r);
	return r.edx & BIT(27); /* RDTSCP and IA32_TSC_AUX */
}

/* XCR0 as the hardware holds it now, and as the host had it: per CPU
 * (struct cpu), since each CPU has its own XCR0. */
void msr_load_guest_state(struct vcpu *v)
{
	struct cpu *c = this_cpu();
	wrmsr(MSR_IA32_STAR, v->msr_star);
	wrmsr(MSR_IA32_LSTAR, v->msr_lstar);
	wrmsr(MSR_IA32_CSTAR, v->msr_cstar);
	wrmsr(MSR_IA32_FMASK, v->msr_fmask);
	wrmsr(MSR_IA32_KERNEL_GS_BASE, v->msr_kernel_gs_base);
	if (host_has_rdtscp())
		wrmsr(MSR_IA32_TSC_AUX, v->msr_tsc_aux);
	if (read_cr4() & CR4_OSXSAVE)
		c->host_xcr0 = c->hw_xcr0 = xgetbv(0);
	/* The hypervisor uses no debug registers: they hold the guest's
	 * while it owns the CPU, so MOV DR needs no exit. */
	write_dr(0, v->dr[0]);
	write_dr(1, v->dr[1]);
	write_dr(2, v->dr[2]);
	write_dr(3, v->dr[3]);
	write_dr(6, v->dr6);
}

void msr_save_guest_state(struct vcpu *v)
{
	struct cpu *c = this_cpu();
	/* SWAPGS exchanges GS base with IA32_KERNEL_GS_BASE without an exit
	 * (SDM Vol. 2B SWAPGS): the CPU's copy is the current one. */
	v->msr_kernel_gs_base = rdmsr(MSR_IA32_KERNEL_GS_BASE);
	v->dr[0] = read_dr(0);
	v->dr[1] = read_dr(1);
	v->dr[2] = read_dr(2);
	v->dr[3] = read_dr(3);
	v->dr6 = read_dr(6);
	/* Guest writes went to the vcpu as they happened; give the host its XCR0 back. */
	if ((read_cr4() & CR4_OSXSAVE) && c->hw_xcr0 != c->host_xcr0) {
		xsetbv(0, c->host_xcr0);
		c->hw_xcr0 = c->host_xcr0;
	}
}

void msr_before_entry(struct vcpu *v)
{
	struct cpu *c = this_cpu();
	if (v->xcr0 != c->hw_xcr0 && (read_cr4() & CR4_OSXSAVE)) {
		xsetbv(0, v->xcr0);
		c->hw_xcr0 = v->xcr0;
	}
}

/* The guest's x87, SSE and AVX registers are not in the VMCS: the CPU
 * keeps them across VM entries and exits (the hypervisor itself is built
 * with -mgeneral-regs-only and never touches them). When another vCPU is
 * to run on this CPU, or this one moves, they go to the vCPU's XSAVE area.
 * XSAVE and XRSTOR act on the components XCR0 enables (SDM Vol. 1 13.7,
 * 13.8): they run with every user component the CPU supports enabled
 * (CPUID.(EAX=0DH,ECX=0):EDX:EAX, 13.2), a superset of any guest's XCR0,
 * so that every register is moved, whatever the guest enabled (a guest
 * may use SSE without SSE in XCR0, through FXSAVE). The hypervisor's own
 * XCR0 is only x87. If all of them would not fit the page, x87, SSE and
 * AVX are moved. */
static uint64_t fpu_xcr0(void)
{
	static uint64_t mask;
	if (!__atomic_load_n(&mask, __ATOMIC_ACQUIRE)) {
		struct cpuid_regs r;
		cpuid_count(0xd, 0, &r);
		uint64_t m = ((uint64_t)r.edx << 32) | r.eax;
		if (r.ecx > PAGE_SIZE)
			m &= 7;
		__atomic_store_n(&mask, m | 1, __ATOMIC_RELEASE);
	}
	return mask;
}

static void xcr0_for_fpu(struct cpu *c)
{
	uint64_t m = fpu_xcr0();
	if (c->hw_xcr0 != m) {
		xsetbv(0, m);
		c->hw_xcr0 = m;
	}
}

void msr_fpu_save(struct vcpu *v)
{
	if (!v->fpu)
		return;
	if (read_cr4() & CR4_OSXSAVE) {
		xcr0_for_fpu(this_cpu());
		xsave64(v->fpu, ~0ULL);
		/* x87 and SSE are loaded from the legacy area on the way back even
		 * if they were in their initial configuration (XSAVE wrote that
		 * there): see msr_fpu_restore for why x87 is never left to
		 * XRSTOR's initialization. XSTATE_BV is at byte 512 (13.4.2). */
		uint64_t bv;
		memcpy(&bv, (uint8_t *)v->fpu + 512, sizeof(bv));
		bv |= 3;
		memcpy((uint8_t *)v->fpu + 512, &bv, sizeof(bv));
	} else {
		fxsave64(v->fpu);
	}
	v->fpu_valid = true;
}

void msr_fpu_restore(struct vcpu *v)
{
	if (!v->fpu)
		return;
	bool xsave = read_cr4() & CR4_OSXSAVE;
	if (v->fpu_valid) {
		/* x87 and SSE by FXRSTOR from the legacy area, the rest by XRSTOR
		 * (see below for why XRSTOR never loads x87 here). */
		fxrstor64(v->fpu);
		if (xsave) {
			xcr0_for_fpu(this_cpu());
			xrstor64(v->fpu, fpu_xcr0() & ~3ULL);
			msr_before_entry(v); /* the guest's XCR0 again */
		}
		return;
	}
	/* Never saved: the INIT state (SDM Vol. 3A Table 9-1), so that
	 * nothing of the vCPU that had this CPU before shows through. x87
	 * and SSE from a legacy image: FCW 037FH, MXCSR 1F80H, the rest 0.
	 * (An XRSTOR with XSTATE_BV = 0 would do it in one go, but in Bochs
	 * x87 initialized so left Linux's decompressor unable to finish:
	 * docs/debugging.md.) Then every other component the host has (AVX,
	 * AVX-512...) to its initial configuration: XRSTOR with those bits
	 * requested and clear in XSTATE_BV (SDM Vol. 1 13.8.1). */
	memset(v->fpu, 0, PAGE_SIZE);
	uint16_t fcw = 0x037f;
	uint32_t mxcsr = 0x1f80;
	memcpy((uint8_t *)v->fpu, &fcw, sizeof(fcw));
	memcpy((uint8_t *)v->fpu + 24, &mxcsr, sizeof(mxcsr));
	fxrstor64(v->fpu);
	if (xsave) {
		xcr0_for_fpu(this_cpu());
		xrstor64(v->fpu, fpu_xcr0() & ~3ULL);
		msr_before_entry(v);
	}
}
