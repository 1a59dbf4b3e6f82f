#include "vmx/events.h"
#include "vmx/vmcs.h"
#include "vmx/vmx_caps.h"
#include "arch/x86/cpu.h"
#include "vm/vm.h"
#include "vmx/apicv.h"
#include "lib/log.h"
#include "lib/string.h"

/* Vectors that push an error code (SDM Vol. 3A 6.15). */
static bool exception_has_error_code(unsigned vector)
{
	return vector == EXC_DF || vector == EXC_TS || vector == EXC_NP || vector == EXC_SS ||
	       vector == EXC_GP || vector == EXC_PF || vector == EXC_AC || vector == EXC_CP;
}

/* Contributory exceptions for the double-fault rule (SDM Vol. 3A Table 6-4). */
static bool contributory(unsigned vector)
{
	return vector == EXC_DE || (vector >= EXC_TS && vector <= EXC_GP);
}

void vcpu_inject_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error_code)
{
	if (v->event.valid) {
		/* An exception while another waits for delivery: the rules of
		 * SDM Vol. 3A Table 6-5 decide between delivering both serially
		 * and a double fault. A #DF over a #DF is a triple fault, which we
		 * deliver as the CPU would: shutdown, here a stopped VM. */
		unsigned first = v->event.intr_info & INTR_INFO_VECTOR_MASK;
		uint32_t type = (v->event.intr_info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
		if (type == INTR_TYPE_HARDWARE_EXCEPTION) {
			if (first == EXC_DF) {
				vm_stop(v->vm, true, "triple fault: exception %u while delivering a double fault",
					vector);
				return;
			}
			bool df = (contributory(first) && contributory(vector)) ||
				  (first == EXC_PF && (contributory(vector) || vector == EXC_PF));
			if (df) {
				vector = EXC_DF;
				has_error = true;
				error_code = 0;
			}
		}
	}
	v->event.valid = true;
	v->event.intr_info = INTR_INFO_VALID | (INTR_TYPE_HARDWARE_EXCEPTION << INTR_INFO_TYPE_SHIFT) |
			     (vector & INTR_INFO_VECTOR_MASK);
	v->event.error_code = 0;
	/* In real mode (CR0.PE = 0) no error code is delivered (SDM 27.2.1.3). */
	bool pe = vmcs_read(VMCS_GUEST_CR0) & CR0_PE;
	if (has_error && exception_has_error_code(vector) && pe) {
		v->event.intr_info |= INTR_INFO_DELIVER_ERROR_CODE;
		v->event.error_code = error_code;
	}
}

void vcpu_queue_interrupt(struct vcpu *v, unsigned vector)
{
	if (vector < 32 || vector > 255)
		return; /* 0-31 are exceptions, never external interrupts */
	v->pending_irq[vector / 64] |= BIT(vector % 64);
	v->events_waiting = true;
}

void vcpu_queue_nmi(struct vcpu *v)
{
	v->pending_nmi = true;
	v->events_waiting = true;
}


static int highest_pending_irq(const struct vcpu *v)
{
	for (int w = 3; w >= 0; w--)
		if (v->pending_irq[w])
			return w * 64 + 63 - __builtin_clzll(v->pending_irq[w]);
	return -1;
}

/* Where an external interrupt comes from, most urgent first: the 8259 via
 * LINT0 in ExtINT mode (its vector is known only at the INTA), the local
 * APIC's IRR (above the PPR), the test hypercall queue. */
enum irq_source { IRQ_NONE, IRQ_EXTINT, IRQ_LAPIC, IRQ_TEST_QUEUE };

static enum irq_source next_external(const struct vcpu *v, int *vector)
{
	if (lapic_pending_events(&v->lapic) & LAPIC_EV_EXTINT) {
		*vector = -1;
		return IRQ_EXTINT;
	}
	/* With virtual-interrupt delivery the CPU delivers the APIC's vectors
	 * itself, from RVI (SDM Vol. 3C 30.2): nothing to inject. */
	if (!v->vm->apicv && (*vector = lapic_pending_vector(&v->lapic)) >= 0)
		return IRQ_LAPIC;
	if ((*vector = highest_pending_irq(v)) >= 0)
		return IRQ_TEST_QUEUE;
	return IRQ_NONE;
}

static bool nmi_waiting(const struct vcpu *v)
{
	return v->pending_nmi || (lapic_pending_events(&v->lapic) & LAPIC_EV_NMI);
}

bool vcpu_has_wake_event(const struct vcpu *v)
{
	int vector;
	return nmi_waiting(v) || next_external(v, &vector) != IRQ_NONE ||
	       lapic_pending_vector(&v->lapic) >= 0;
}

void vcpu_set_cpu_control(struct vcpu *v, uint32_t bit, bool on)
{
	uint32_t c = on ? (v->cpu_controls | bit) : (v->cpu_controls & ~bit);
	if (c != v->cpu_controls) {
		v->cpu_controls = c;
		vmcs_write(VMCS_CPU_BASED_VM_EXEC_CONTROL, c);
	}
}

void events_requeue_vectoring(struct vcpu *v, uint32_t idt)
{
	if (!(idt & INTR_INFO_VALID))
		return;
	uint32_t type = (idt & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	if (type == INTR_TYPE_EXTERNAL_INTERRUPT) {
		/* Not delivered after all: back in the queue, where priority and
		 * the guest's interruptibility decide again. */
		vcpu_queue_interrupt(v, idt & INTR_INFO_VECTOR_MASK);
		return;
	}
	if (type == INTR_TYPE_NMI) {
		vcpu_queue_nmi(v);
		return;
	}
	v->event.valid = true;
	/* Bit 12 of the vectoring information is undefined; it must be 0 on entry. */
	v->event.intr_info = idt & ~(uint32_t)INTR_INFO_NMI_UNBLOCKING;
	v->event.error_code = (uint32_t)vmcs_read(VMCS_IDT_VECTORING_ERROR_CODE);
	v->event.instr_len = (uint32_t)vmcs_read(VMCS_VM_EXIT_INSTRUCTION_LEN);
}

static void write_injection(const struct pending_event *e)
{
	vmcs_write(VMCS_VM_ENTRY_INTR_INFO, e->intr_info);
	if (e->intr_info & INTR_INFO_DELIVER_ERROR_CODE)
		vmcs_write(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, e->error_code);
	uint32_t type = (e->intr_info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	/* Software events need their instruction length (SDM 27.6.1.1). */
	if (type == INTR_TYPE_SOFTWARE_INTERRUPT || type == INTR_TYPE_PRIV_SOFTWARE_EXCEPTION ||
	    type == INTR_TYPE_SOFTWARE_EXCEPTION)
		vmcs_write(VMCS_VM_ENTRY_INSTRUCTION_LEN, e->instr_len);
}

static bool virtual_nmis(void)
{
	return vmcs_read(VMCS_PIN_BASED_VM_EXEC_CONTROL) & PIN_VIRTUAL_NMIS;
}

/* Ask for an exit when the guest can take what is still pending. NMI-window
 * exiting exists only with virtual NMIs (SDM 27.2.1.1); without it, the
 * interrupt window is the next best chance. */
static void arm_windows(struct vcpu *v)
{
	if (nmi_waiting(v)) {
		if (virtual_nmis())
			vcpu_set_cpu_control(v, CPU_NMI_WINDOW_EXITING, true);
		else
			vcpu_set_cpu_control(v, CPU_INTERRUPT_WINDOW_EXITING, true);
	}
	if (highest_pending_irq(v) >= 0)
		vcpu_set_cpu_control(v, CPU_INTERRUPT_WINDOW_EXITING, true);
}

static void before_entry(struct vcpu *v);

void events_before_entry_slow(struct vcpu *v)
{
	before_entry(v);
	if (v->vm->apicv)
		apicv_before_entry(v);
	/* What still waits for us (not for the CPU's virtual-interrupt delivery). */
	int vector;
	v->events_waiting = nmi_waiting(v) || next_external(v, &vector) != IRQ_NONE;
}

/* Injecting wakes a vCPU sleeping in the HLT activity state. */
static void inject_event(const struct pending_event *e)
{
	write_injection(e);
	if (vmcs_read(VMCS_GUEST_ACTIVITY_STATE) != GUEST_ACTIVITY_ACTIVE)
		vmcs_write(VMCS_GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
}

static void inject(uint32_t intr_info)
{
	inject_event(&(struct pending_event){ .intr_info = intr_info });
}

/* INIT, SIPI and SMI messages from the local APIC. INIT puts an AP in the
 * wait-for-SIPI state (SDM Vol. 3A 9.4.4.1; the run loop then leaves it
 * off the CPU until a SIPI, vmx/exit.c); on the bootstrap processor it
 * restarts the machine's boot, which for us is a VM reset. A SIPI to a
 * vCPU that is not waiting is ignored, as the CPU does: an OS sends two
 * (9.4.4.1) and the second finds the AP running. There is no SMM. */
static void local_apic_signals(struct vcpu *v)
{
	unsigned ev = lapic_pending_events(&v->lapic);
	uint8_t sipi;
	if (ev & LAPIC_EV_SMI) {
		lapic_take_smi(&v->lapic);
		pr_warn("VM %s: an SMI was sent to vCPU %u; there is no SMM here, dropped", v->vm->name, v->id);
	}
	if ((ev & LAPIC_EV_INIT) && lapic_take_init(&v->lapic)) {
		if (v->id == 0) {
			pr_info("VM %s: INIT IPI to its bootstrap processor: the VM is reset", v->vm->name);
			v->vm->reset_requested = true;
			return;
		}
		pr_debug("VM %s: vCPU %u received INIT: waiting for a start-up IPI", v->vm->name, v->id);
		memset(&v->event, 0, sizeof(v->event));
		memset(v->pending_irq, 0, sizeof(v->pending_irq));
		v->pending_nmi = false;
		v->halted = false;
		v->wait_for_sipi = true;
		return; /* a SIPI latched with it is the run loop's */
	}
	if ((ev & LAPIC_EV_SIPI) && lapic_take_sipi(&v->lapic, &sipi))
		pr_debug("VM %s: start-up IPI (vector 0x%x) to vCPU %u, which is not waiting for one: "
			 "ignored", v->vm->name, sipi, v->id);
}

static void before_entry(struct vcpu *v)
{
	/* An event is written for this entry already (the run loop looked
	 * again after a kick, before entering): it must reach the guest, not
	 * be overwritten by the next one; what waits comes after it. */
	if (v->entry_event_written) {
		arm_windows(v);
		return;
	}
	if (v->event.valid) {
		inject_event(&v->event);
		v->entry_event_written = true;
		v->event.valid = false;
		/* Whatever else waits is injected after this one is delivered. */
		arm_windows(v);
		return;
	}
	local_apic_signals(v);
	int vector;
	enum irq_source src = next_external(v, &vector);
	if (!nmi_waiting(v) && src == IRQ_NONE)
		return;

	uint64_t intr = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY_INFO);
	bool shadow = intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);

	if (nmi_waiting(v)) {
		/* NMIs are blocked while one is being handled (until IRET) and
		 * in the shadow of STI/MOV SS (SDM Vol. 3A 6.7.1, 27.3.1.5). */
		if (!shadow && !(intr & INTERRUPTIBILITY_NMI)) {
			if (v->pending_nmi)
				v->pending_nmi = false;
			else
				lapic_take_nmi(&v->lapic);
			inject(INTR_INFO_VALID | (INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT) | EXC_NMI);
			v->entry_event_written = true;
			arm_windows(v);
			return;
		}
		arm_windows(v);
	}
	if (src == IRQ_NONE)
		return;
	bool if_set = vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_IF;
	if (!if_set || shadow) {
		/* Exit as soon as the guest can take an interrupt (SDM 25.6.2). */
		vcpu_set_cpu_control(v, CPU_INTERRUPT_WINDOW_EXITING, true);
		return;
	}
	/* The INTA cycle: the controller hands over the vector and moves it to
	 * in-service (8259A datasheet; SDM 11.8.4 for the local APIC). */
	switch (src) {
	case IRQ_EXTINT:
		lapic_take_extint(&v->lapic);
		vector = pic_acknowledge(&v->vm->pic);
		break;
	case IRQ_LAPIC:
		lapic_ack(&v->lapic, (uint8_t)vector);
		break;
	default:
		v->pending_irq[vector / 64] &= ~BIT(vector % 64);
		break;
	}
	inject(INTR_INFO_VALID | (INTR_TYPE_EXTERNAL_INTERRUPT << INTR_INFO_TYPE_SHIFT) |
			  (uint32_t)(vector & 0xff));
	v->entry_event_written = true;
	arm_windows(v);
}

void events_interrupt_window(struct vcpu *v)
{
	vcpu_set_cpu_control(v, CPU_INTERRUPT_WINDOW_EXITING, false);
}

void events_nmi_window(struct vcpu *v)
{
	vcpu_set_cpu_control(v, CPU_NMI_WINDOW_EXITING, false);
}
