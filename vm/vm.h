/* VM and vCPU objects. A VM owns its RAM, its EPT, its buses and devices;
 * a vCPU owns its VMCS and the guest registers the VMCS does not hold. */
#ifndef VM_VM_H
#define VM_VM_H

#include "lib/types.h"
#include "vm/guest_mem.h"
#include "vm/guest_boot.h"
#include "ept/ept.h"
#include "devices/bus.h"
#include "devices/uart16550.h"
#include "devices/debug_exit.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/rtc_cmos.h"
#include "devices/i8042.h"
#include "devices/lapic.h"
#include "devices/ioapic.h"
#include "devices/pci.h"
#include "devices/pci_testdev.h"
#include "devices/ramdisk.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_pci.h"
#include "devices/virtio_mmio.h"
#include "lib/muldiv.h"
#include "vmx/exit_reasons.h"
#include "lib/spinlock.h"

#define VM_NAME_MAX 32
#define VM_MAX 8 /* VMs that exist at once */
#define VM_MAX_VCPUS 4 /* vCPUs of one VM (the config key vcpus=) */
#define VM_CONSOLE_LINE 160
#define VCPU_TRACE_LEN 32

/* Guest general-purpose registers, indexed by their x86 encoding
 * (0 = RAX, 1 = RCX, ... 7 = RDI, 8..15 = R8..R15). Slot 4 (RSP) is unused:
 * the guest RSP lives in the VMCS. */
enum gpr {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
	GPR_COUNT
};

/* An event to inject at the next VM entry (SDM 27.6). */
struct pending_event {
	bool valid;
	uint32_t intr_info;  /* VM-entry interruption-information format */
	uint32_t error_code;
	uint32_t instr_len;  /* for software interrupts and exceptions */
};

struct vm;
struct cpu;

/* Where a vCPU is, for the scheduler (vm/sched.c) and for kicks. */
enum vcpu_mode {
	VCPU_OUTSIDE_GUEST, /* in the hypervisor, or not on any CPU */
	VCPU_IN_GUEST,      /* about to enter or in VMX non-root operation */
};

struct vcpu {
	/* Saved and restored by vmx/entry.S at offsets from vmx/asm_offsets.c. */
	uint64_t gpr[GPR_COUNT];
	uint64_t cr2;
	uint64_t host_rsp;     /* last HOST_RSP written, to skip a VMWRITE */
	uint8_t launched;      /* VMLAUNCH done: use VMRESUME */

	struct vm *vm;
	unsigned id;
	uint16_t vpid;
	void *vmcs;
	uint64_t vmcs_pa;
	struct pending_event event;
	bool entry_event_written; /* the VMCS holds an event for the next entry (cleared after it) */
	uint64_t xcr0;
	uint64_t exits;

	/* Scheduling (vm/sched.c, docs/smp.md). home is the CPU whose run
	 * queue holds the vCPU; its VMCS is active (VMPTRLD) on at most that
	 * CPU, vmcs_cpu, and moves only after a VMCLEAR there (SDM 25.11.1). */
	struct cpu *home;
	struct cpu *vmcs_cpu;     /* the CPU the VMCS was last current on, or NULL (clear) */
	uint32_t mode;            /* enum vcpu_mode, atomic: kicks read it */
	uint32_t kicked;          /* atomic: something for this vCPU arrived; the next entry looks */
	bool wait_for_sipi;       /* an AP after INIT: not entered until a SIPI (SDM Vol. 3A 9.4.4) */
	bool halted;              /* in the HLT activity state: wakes on an event or a deadline */
	bool started;             /* its VMCS has been set up for this run of the VM */
	bool retired;             /* taken off its CPU after its VM stopped: the VMCS is clear */
	unsigned reset_generation; /* the VM's, when this vCPU's VMCS was last set up */
	uint64_t slice_end;       /* host TSC at which it should give its CPU to another vCPU */
	uint64_t run_start;       /* host TSC when it got its CPU */
	uint64_t runtime;         /* TSC ticks it has had its CPU (fairness among the vCPUs sharing one) */
	uint32_t kicks_seen;      /* its CPU's kick count when it last looked (wakeup preemption) */
	uint64_t migrations;      /* moves to another CPU */
	uint64_t last_migration;  /* host TSC of the last move */
	uint64_t last_rip;        /* guest RIP at the last exit, for the shell */
	uint32_t dump_requested;  /* atomic: the shell wants its registers printed by its own CPU */
	void *fpu;                /* its x87/SSE/AVX state while off the CPU (XSAVE area) */
	bool fpu_valid;           /* fpu holds its state (else: the INIT state) */

	/* Interrupts waiting for the guest to be interruptible (vmx/events.c):
	 * external-interrupt vectors 32..255 as a bitmap, and one NMI. */
	uint64_t pending_irq[4];
	bool pending_nmi;
	bool events_waiting;     /* pending_irq or pending_nmi non-empty: the fast check */
	uint32_t cpu_controls;   /* primary processor-based controls, cached */
	uint32_t pin_controls;   /* pin-based controls, cached */
	unsigned mtf_steps;      /* guest instructions left to single-step */

	struct lapic lapic;      /* this vCPU's local APIC (devices/lapic.c); its page is the virtual-APIC page */
	/* APIC virtualization (vmx/apicv.c), when the VM uses it. */
	bool apic_access_mapped;     /* in xAPIC mode: it counts in vm->apic_access_users */
	uint32_t ept_flush;          /* atomic: the VM's EPT changed; INVEPT on this vCPU's CPU before entry */
	uint64_t eoi_exit_bitmap[4]; /* as last written to the VMCS */

	/* Registers VMX does not switch, emulated or loaded for the guest. */
	uint64_t dr[4], dr6;     /* loaded into the CPU before each entry */

	/* The last exits, newest at trace_next - 1 (mod VCPU_TRACE_LEN). */
	struct exit_trace_entry {
		uint32_t reason;
		uint64_t rip, qualification, cycles;
	} trace[VCPU_TRACE_LEN];
	unsigned trace_next;

	/* MSRs the VMCS does not switch: kept here, loaded into the CPU while
	 * this vCPU owns it (vmx/msr.c). */
	uint64_t msr_star, msr_lstar, msr_cstar, msr_fmask, msr_kernel_gs_base, msr_tsc_aux;
	uint64_t tsc_adjust;     /* IA32_TSC_ADJUST, emulated (vmx/msr.c) */
	uint64_t mtrr_def_type;  /* IA32_MTRR_DEF_TYPE, emulated (vmx/msr.c) */
};

/* FREE: the slot holds no VM (vm/vm.c reuses it). */
enum vm_state { VM_STATE_FREE, VM_STATE_READY, VM_STATE_RUNNING, VM_STATE_STOPPED };

struct vm {
	char name[VM_NAME_MAX];
	unsigned id;
	enum vm_state state;
	struct guest_mem mem;
	uint64_t ram_hpa;
	struct ept ept;
	struct bus pio, mmio;
	struct uart16550 com1;
	struct debug_exit exit_port;
	/* The PC platform (vm/platform.c): interrupt controllers, timers, PCI. */
	struct pic8259 pic;
	struct pit8254 pit;
	struct rtc_cmos rtc;
	struct i8042 kbc;
	struct ioapic ioapic;
	struct pci_segment pci;
	struct pci_testdev testdev;
	/* The virtio-blk disk (vm/platform.c), when the configuration gives one. */
	bool has_disk;
	bool disk_mmio;
	bool disk_allocated;     /* an empty disk's pages, to give back */
	struct ramdisk disk;
	struct virtio_device vdev;
	struct virtio_blk blk;
	struct virtio_pci vpci;
	struct virtio_mmio vmmio;
	uint64_t malformed_msis;   /* MSIs from its PCI devices that msi_decode refused (dropped) */
	struct vclock clock;     /* the guest TSC: host TSC + tsc_offset */
	uint64_t tsc_offset;
	uint64_t next_deadline;  /* earliest device timer, guest TSC; VCLOCK_NEVER */
	bool timers_dirty;       /* a device was touched: deadlines may have moved */
	bool reset_requested;
	bool reset_by_shell;     /* the hypervisor shell asked for it, not the guest */
	unsigned triple_faults;    /* guest triple faults so far (each resets the VM, up to a limit) */
	uint64_t console_last_tsc; /* guest TSC of the last console byte (stall reports) */
	uint64_t stall_reported_tsc;
	bool apicv;              /* APIC virtualization in use (vmx/apicv.c), decided at the first run */
	bool apicv_wanted;       /* not turned off by apicv=no */
	void *apic_access_page;  /* its APIC-access page (vmx/apicv.c), when apicv */
	unsigned apic_access_users; /* vCPUs in xAPIC mode: EPT maps the page while > 0 */
	uint16_t pm1_cnt;        /* ACPI PM1a control, as last written */
	uint16_t pm1_en;         /* ACPI PM1a enable, as last written */
	/* One lock for the VM's devices, its vCPUs' local APICs and its
	 * statistics: held by a vCPU from its VM exit to its next entry, so
	 * exit handling and device emulation of one VM never run on two CPUs
	 * at once. Guest code runs without it. */
	struct ticket_lock lock;
	unsigned reset_generation; /* bumped by vm_reset: each vCPU sets up its VMCS again */
	unsigned vcpu_count;
	struct vcpu vcpus[VM_MAX_VCPUS];
	struct guest_entry entry; /* the CPU state the loaded kernel starts in */
	/* What to load again when the guest resets itself. */
	const void *kernel_image;
	uint64_t kernel_size;
	const void *initrd;
	uint64_t initrd_size;
	struct guest_module_ref {
		const void *data;
		uint64_t size;
		char string[32];
	} boot_modules[8];
	unsigned boot_module_count;
	char boot_cmdline[256];
	unsigned resets;
	char selftest[32]; /* tests only: a VMCS field to break (vmx/selftest.c) */

	/* How the VM ended. */
	bool has_exit_code;
	uint32_t exit_code;
	char stop_reason[320];
	bool failed; /* stopped by the hypervisor for misbehaviour or our error */

	/* Guest serial output, a line at a time, printed with the VM's name
	 * (and the port's, for COM2). */
	struct vm_console {
		struct vm *vm;
		const char *port; /* NULL for COM1, the console */
		char line[VM_CONSOLE_LINE];
		unsigned len;
	} console[2];
	struct uart16550 com2;

	/* Statistics: exits and TSC cycles spent handling them, per basic reason. */
	uint64_t exit_count[EXIT_REASON_TABLE_SIZE];
	uint64_t exit_cycles[EXIT_REASON_TABLE_SIZE];
};

/* The VM's EPT lost or changed a mapping: every vCPU invalidates what its
 * CPU may cache for it (INVEPT is per CPU, SDM 29.4.3.4) before it next
 * enters; the ones in the guest are kicked out first. */
void vm_ept_changed(struct vm *vm);

/* Exits of all its vCPUs. */
uint64_t vm_exits(const struct vm *vm);

/* Print the VM's exit counts and cycles per reason. */
void vm_print_stats(const struct vm *vm);

/* Stop a VM: only that VM; the hypervisor goes on. */
void vm_stop(struct vm *vm, bool failed, const char *fmt, ...) PRINTF_LIKE(3, 4);

#endif
