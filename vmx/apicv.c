#include "vmx/apicv.h"
#include "vmx/vmx.h"
#include "vmx/vmcs.h"
#include "vmx/vmx_caps.h"
#include "vm/vm.h"
#include "arch/x86/mm.h"
#include "lib/log.h"
#include "lib/string.h"

/* The APIC-access page: EPT maps the guest's xAPIC page (0xFEE00000) to
 * it, and with "virtualize APIC accesses" every guest access to it is
 * virtualized or exits (SDM 30.4), so its contents are never used. Each
 * VM has its own all the same: in a VM whose vCPUs are in different APIC
 * modes, a vCPU in x2APIC mode (no "virtualize APIC accesses") reaches
 * the page's memory, and a page shared between VMs would let two of them
 * talk through it. The EPT mapping is the VM's; it exists while at least
 * one vCPU is in xAPIC mode (apic_access_users). */

/* MSR bitmaps (SDM 25.6.9): read bitmap for MSRs 0-1FFFH at offset 0, for
 * C0000000H-C0001FFFH at 400H, write bitmaps at 800H and C00H; a 1 bit
 * exits. intercept_all makes every RDMSR/WRMSR exit, as with no bitmap;
 * x2apic lets through the x2APIC reads the page answers and the writes the
 * CPU virtualizes (TPR, EOI, SELF IPI: SDM 30.5). */
static uint8_t msr_bitmap_intercept_all[PAGE_SIZE] ALIGNED(PAGE_SIZE);
static uint8_t msr_bitmap_x2apic[PAGE_SIZE] ALIGNED(PAGE_SIZE);

static void msr_pass(uint8_t *bitmap, unsigned offset, uint32_t msr)
{
	bitmap[offset + msr / 8] &= (uint8_t)~(1u << (msr % 8));
}

static void build_msr_bitmaps(void)
{
	static bool built;
	if (built)
		return;
	memset(msr_bitmap_intercept_all, 0xff, PAGE_SIZE);
	memset(msr_bitmap_x2apic, 0xff, PAGE_SIZE);
	for (uint32_t msr = MSR_X2APIC_FIRST; msr <= MSR_X2APIC_LAST; msr++)
		if (lapic_x2apic_read_from_page(msr))
			msr_pass(msr_bitmap_x2apic, 0x000, msr);
	msr_pass(msr_bitmap_x2apic, 0x800, 0x808); /* TPR: TPR virtualization */
	msr_pass(msr_bitmap_x2apic, 0x800, 0x80B); /* EOI: EOI virtualization */
	msr_pass(msr_bitmap_x2apic, 0x800, 0x83F); /* SELF IPI: self-IPI virtualization */
	built = true;
}

static const uint32_t apicv_sec = SEC_APIC_REGISTER_VIRTUALIZATION | SEC_VIRTUAL_INTERRUPT_DELIVERY;

void apicv_decide(struct vm *vm, bool wanted)
{
	const char *missing = vmx_apicv_missing(&vmx_caps);
	vm->apicv = wanted && !missing;
	if (vm->apicv)
		build_msr_bitmaps(); /* here, on the boot CPU, before any vCPU of any VM uses them */
	if (vm->apicv && !vm->apic_access_page) {
		vm->apic_access_page = page_alloc(1, PAGE_SIZE);
		if (!vm->apic_access_page) {
			vm->apicv = false;
			pr_warn("VM %s: APIC virtualization: off: no memory for its APIC-access page", vm->name);
			return;
		}
		memset(vm->apic_access_page, 0, PAGE_SIZE);
	}
	if (vm->apicv)
		pr_info("VM %s: APIC virtualization: on (TPR shadow, APIC-register virtualization, "
			"virtual-interrupt delivery, x2APIC)", vm->name);
	else if (!wanted)
		pr_info("VM %s: APIC virtualization: off: apicv=no in its configuration", vm->name);
	else
		pr_info("VM %s: APIC virtualization: off: the CPU lacks %s", vm->name, missing);
}

void apicv_controls(const struct vcpu *v, uint32_t *cpu_set, uint32_t *cpu_clear, uint32_t *sec_set)
{
	*cpu_set = *cpu_clear = *sec_set = 0;
	if (!v->vm->apicv)
		return;
	/* With a TPR shadow MOV CR8 reads and writes VTPR (SDM 30.3): no exits. */
	*cpu_set = CPU_USE_TPR_SHADOW | CPU_USE_MSR_BITMAPS;
	*cpu_clear = CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING;
	*sec_set = apicv_sec; /* the mode's "virtualize" control: apicv_mode_changed */
}

void apicv_setup_vmcs(struct vcpu *v)
{
	if (!v->vm->apicv)
		return;
	vmcs_write(VMCS_VIRTUAL_APIC_PAGE_ADDR, virt_to_phys(v->lapic.page));
	vmcs_write(VMCS_APIC_ACCESS_ADDR, virt_to_phys(v->vm->apic_access_page));
	/* With virtual-interrupt delivery the TPR threshold is not used (SDM
	 * 30.1.2); bits 31:4 must still be 0. */
	vmcs_write(VMCS_TPR_THRESHOLD, 0);
	memset(v->eoi_exit_bitmap, 0, sizeof(v->eoi_exit_bitmap));
	for (unsigned i = 0; i < 4; i++)
		vmcs_write(VMCS_EOI_EXIT_BITMAP0 + 2 * i, 0);
	vmcs_write(VMCS_GUEST_INTR_STATUS, lapic_guest_interrupt_status(&v->lapic));
	apicv_mode_changed(v);
}

/* The APIC-access page is in the guest-physical map while the APIC is in
 * xAPIC mode; otherwise the page is not decoded (SDM 11.12.2) and accesses
 * there go to the MMIO bus, like any address without a device. */
static void map_apic_access_page(struct vcpu *v, bool map)
{
	struct vm *vm = v->vm;
	if (map == v->apic_access_mapped)
		return;
	v->apic_access_mapped = map;
	unsigned before = vm->apic_access_users;
	vm->apic_access_users += map ? 1 : -1u;
	if ((before == 0) == (vm->apic_access_users == 0))
		return; /* another vCPU still (or already) needs it mapped */
	bool ok = map ? ept_map(&vm->ept, LAPIC_DEFAULT_BASE, virt_to_phys(vm->apic_access_page), PAGE_SIZE,
				EPT_READ | EPT_WRITE, EPT_MEMTYPE_WB)
		      : ept_unmap_page(&vm->ept, LAPIC_DEFAULT_BASE);
	if (!ok) {
		vm_stop(vm, true, "cannot %s the APIC-access page at 0x%llx in its EPT", map ? "map" : "unmap",
			(unsigned long long)LAPIC_DEFAULT_BASE);
		return;
	}
	vm_ept_changed(vm);
}

void apicv_mode_changed(struct vcpu *v)
{
	if (!v->vm->apicv)
		return;
	enum lapic_mode mode = lapic_mode(&v->lapic);
	uint32_t sec = (uint32_t)vmcs_read(VMCS_SECONDARY_VM_EXEC_CONTROL);
	sec &= ~(uint32_t)(SEC_VIRTUALIZE_APIC_ACCESSES | SEC_VIRTUALIZE_X2APIC_MODE);
	if (mode == LAPIC_MODE_XAPIC)
		sec |= SEC_VIRTUALIZE_APIC_ACCESSES;
	else if (mode == LAPIC_MODE_X2APIC)
		sec |= SEC_VIRTUALIZE_X2APIC_MODE;
	vmcs_write(VMCS_SECONDARY_VM_EXEC_CONTROL, sec);
	/* Outside x2APIC mode every x2APIC MSR access exits: the model raises
	 * the #GP (SDM 11.12.2), not the host's APIC. */
	vmcs_write(VMCS_MSR_BITMAP, virt_to_phys(mode == LAPIC_MODE_X2APIC ? msr_bitmap_x2apic
									   : msr_bitmap_intercept_all));
	map_apic_access_page(v, mode == LAPIC_MODE_XAPIC);
}

void apicv_before_entry(struct vcpu *v)
{
	struct lapic *l = &v->lapic;
	/* The model may have requested (IRR) or retired (ISR) vectors in the
	 * page: RVI, SVI and VPPR must say so, and VM entry then evaluates pending
	 * virtual interrupts (SDM 30.2.1). */
	vmcs_write(VMCS_GUEST_INTR_STATUS, lapic_guest_interrupt_status(l));
	lapic_update_ppr(l); /* VPPR, against which RVI is evaluated */
	uint64_t bitmap[4];
	lapic_eoi_exit_bitmap(l, bitmap);
	for (unsigned i = 0; i < 4; i++)
		if (bitmap[i] != v->eoi_exit_bitmap[i]) {
			vmcs_write(VMCS_EOI_EXIT_BITMAP0 + 2 * i, bitmap[i]);
			v->eoi_exit_bitmap[i] = bitmap[i];
		}
	/* A halted vCPU wakes for an interrupt it can take (HLT is entered
	 * only with RFLAGS.IF = 1): make it active, and the CPU delivers. */
	if (lapic_pending_vector(l) >= 0 && vmcs_read(VMCS_GUEST_ACTIVITY_STATE) == GUEST_ACTIVITY_HLT)
		vmcs_write(VMCS_GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
}
