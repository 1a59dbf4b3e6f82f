#include "vm/platform.h"
#include "vm/vm.h"
#include "devices/msi.h"
#include "vm/acpi.h"
#include "lib/printf.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "arch/x86/serial.h"
#include "lib/log.h"
#include "vm/sched.h"

uint64_t platform_guest_tsc(const struct vm *vm)
{
	return rdtsc() + vm->tsc_offset;
}

static uint64_t clock_now(void *ctx)
{
	return platform_guest_tsc(ctx);
}

/* --- interrupt wiring --- */

/* An ISA interrupt line goes to both controllers, as on a PC with an IOAPIC;
 * IRQ 0 (the PIT) is on IOAPIC pin 2 (the MADT override in ACPI says so). */
static void isa_irq_set(void *ctx, unsigned irq, bool level)
{
	struct vm *vm = ctx;
	pic_set_irq(&vm->pic, irq, level);
	ioapic_set_irq(&vm->ioapic, irq == 0 ? 2 : irq, level);
}

static struct irq_line isa_line(struct vm *vm, unsigned irq)
{
	return (struct irq_line){ isa_irq_set, vm, irq };
}

/* The PIC's INTR output is wired to LINT0 of the bootstrap processor's
 * local APIC, which passes it on as ExtINT when its LVT says so
 * (virtual-wire mode; the other APICs' LINT0 is masked, MP spec 3.6.2.2). */
static void pic_intr(void *ctx, bool asserted)
{
	struct vm *vm = ctx;
	lapic_set_lint(&vm->vcpus[0].lapic, 0, asserted);
	vcpu_kick(&vm->vcpus[0]);
}

/* An interrupt message on the VM's "APIC bus": every local APIC it
 * addresses takes it (lapic_deliver matches the destination), and each
 * that got something is kicked by its own ops.kick. */
static void deliver_to_lapics(struct vm *vm, const struct apic_msg *msg)
{
	struct lapic *lapics[VM_MAX_VCPUS];
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		lapics[i] = &vm->vcpus[i].lapic;
	lapic_deliver(lapics, vm->vcpu_count, msg);
}

static void ioapic_deliver(void *ctx, const struct apic_msg *msg)
{
	deliver_to_lapics(ctx, msg);
}

static void lapic_send_ipi(void *ctx, const struct apic_msg *msg)
{
	struct vcpu *v = ctx;
	deliver_to_lapics(v->vm, msg);
}

static void lapic_eoi_broadcast(void *ctx, uint8_t vector)
{
	struct vcpu *v = ctx;
	ioapic_eoi(&v->vm->ioapic, vector);
}

static void lapic_kick(void *ctx)
{
	vcpu_kick(ctx);
}

/* A PCI device's MSI: decode the address/data pair (SDM 11.11) and deliver. */
static void pci_msi(void *ctx, uint64_t address, uint32_t data)
{
	struct vm *vm = ctx;
	struct apic_msg msg;
	if (!msi_decode(address, data, &msg)) {
		/* The guest programmed the address: it decides how often this
		 * happens, so only the first one is worth a line. */
		if (vm->malformed_msis++ == 0)
			pr_warn("VM %s: a PCI device sent a malformed MSI (address 0x%llx data 0x%x): dropped; "
				"reported once", vm->name, (unsigned long long)address, data);
		return;
	}
	deliver_to_lapics(vm, &msg);
}

static void pci_intx_set(void *ctx, unsigned pin, bool level)
{
	struct vm *vm = ctx;
	ioapic_set_irq(&vm->ioapic, pin, level);
}

static void kbc_reset(void *ctx)
{
	struct vm *vm = ctx;
	/* A pulse on the reset line (i8042 command 0xFE or output port bit 0):
	 * the run loop resets the VM before the next entry. */
	vm->reset_requested = true;
}

/* --- the console: the physical serial port's input goes to the VM that
 * runs, or through the router of vm/console.c once one is installed (the
 * VM table does: docs/console-and-shell.md) --- */

static void (*console_router)(void);

void platform_console_route(void (*poll)(void))
{
	console_router = poll;
}

void platform_console_poll(struct vm *vm)
{
	/* With the router, the boot CPU polls between exits with no VM lock
	 * held (vm/sched.c): the shell may touch any VM. */
	if (console_router)
		return;
	while (uart16550_rx_space(&vm->com1) && serial_rx_ready())
		uart16550_receive(&vm->com1, serial_getc());
}

bool platform_console_can_wake(const struct vm *vm)
{
	/* Received data enabled in IER and the IRQ gated through by OUT2. */
	return (vm->com1.ier & 0x01) && (vm->com1.mcr & 0x08);
}

/* COM1 reads look at the physical port first, so a guest polling LSR sees
 * what was typed. */
static uint64_t com1_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vm *vm = opaque;
	platform_console_poll(vm);
	return uart16550_read(&vm->com1, offset, size);
}

static void com1_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct vm *vm = opaque;
	uart16550_write(&vm->com1, offset, size, value);
}

/* --- ACPI fixed hardware (ACPI 6.x 4.8): the PM1a blocks the FADT names,
 * at the ports QEMU's PIIX4 uses; and the chipset reset register --- */

#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN BIT(13)
/* PM1_EN bits (ACPI 6.5 4.8.3.1.2, Table 4.12): TMR_EN, GBL_EN, PWRBTN_EN,
 * SLPBTN_EN, RTC_EN. They read back as written (an OS enables GBL_EN and
 * checks it stuck before it trusts the global lock); no event ever sets a
 * status bit, so no SCI is raised. */
#define PM1_EN_WRITABLE (BIT(0) | BIT(5) | BIT(8) | BIT(9) | BIT(10))
#define PM1_STS_OFFSET 0
#define PM1_EN_OFFSET 2
#define PM1_CNT_OFFSET 4

static uint64_t pm1_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vm *vm = opaque;
	(void)size;
	/* PM1_STS reads 0: no fixed event happened. PM1_CNT keeps SCI_EN set:
	 * the OS finds ACPI mode already on. */
	if (offset == PM1_EN_OFFSET)
		return vm->pm1_en;
	return offset == PM1_CNT_OFFSET ? (vm->pm1_cnt | 1u) : 0;
}

static void pm1_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct vm *vm = opaque;
	(void)size;
	if (offset == PM1_EN_OFFSET) {
		vm->pm1_en = (uint16_t)(value & PM1_EN_WRITABLE);
		return;
	}
	if (offset != PM1_CNT_OFFSET)
		return;
	vm->pm1_cnt = (uint16_t)(value & ~PM1_SLP_EN);
	if ((value & PM1_SLP_EN) && ((value >> PM1_SLP_TYP_SHIFT) & 7) == ACPI_S5_SLP_TYP)
		vm_stop(vm, false, "guest powered off (ACPI S5 through PM1a_CNT)");
}

/* Port 0xCF9, the reset control register of Intel chipsets the FADT names
 * as RESET_REG: writing 6 (full reset) resets the VM. It shares 0xCF8-0xCFB
 * with CONFIG_ADDRESS, which takes only 32-bit accesses (devices/pci.c). */
static uint64_t cf9_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)size;
	return offset == 1 ? 0 : 0xff;
}

static void cf9_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct vm *vm = opaque;
	(void)size;
	/* Bit 2 (RST_CPU) starts the reset; ACPI_RESET_VALUE sets it. */
	if (offset == ACPI_RESET_PORT - 0xcf8 && (value & ACPI_RESET_VALUE & 0x04))
		vm->reset_requested = true;
}

/* --- bus adapters --- */

static uint64_t port80_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return 0xff;
}

static void port80_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)opaque;
	(void)offset;
	(void)size;
	(void)value; /* POST codes and I/O delays: nothing to do */
}

/* The timer's registers: LVT timer, initial count, divide configuration
 * (SDM 11.5.4). Only writes to them can move its deadline; reads never do. */
static bool lapic_timer_register(uint64_t offset)
{
	offset &= ~0xfULL;
	return offset == 0x320 || offset == 0x380 || offset == 0x3e0;
}

/* Every vCPU sees its own APIC at the same address (SDM 11.4.1): the page
 * goes to the APIC of the vCPU whose access exited. */
static struct lapic *accessing_lapic(struct vm *vm)
{
	struct vcpu *v = vcpu_running_here();
	return v && v->vm == vm ? &v->lapic : &vm->vcpus[0].lapic;
}

static uint64_t lapic_page_read(void *opaque, uint64_t offset, unsigned size)
{
	return lapic_mmio_read(accessing_lapic(opaque), offset, size);
}

static void lapic_page_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct vm *vm = opaque;
	if (lapic_timer_register(offset))
		vm->timers_dirty = true;
	lapic_mmio_write(accessing_lapic(vm), offset, size, value);
}

static uint64_t pci_mem_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vm *vm = opaque;
	bool claimed;
	return pci_space_read(&vm->pci, false, PLATFORM_PCI_MEM_BASE + offset, size, &claimed);
}

static void pci_mem_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct vm *vm = opaque;
	bool claimed;
	pci_space_write(&vm->pci, false, PLATFORM_PCI_MEM_BASE + offset, size, value, &claimed);
}

static uint64_t pci_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vm *vm = opaque;
	bool claimed;
	return pci_space_read(&vm->pci, true, PLATFORM_PCI_IO_BASE + offset, size, &claimed);
}

static void pci_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct vm *vm = opaque;
	bool claimed;
	pci_space_write(&vm->pci, true, PLATFORM_PCI_IO_BASE + offset, size, value, &claimed);
}

/* Timer devices: a register access may move their deadline. */
#define TIMER_ADAPTER(name, dev, rd, wr)                                                          \
	static uint64_t name##_read(void *opaque, uint64_t offset, unsigned size)                  \
	{                                                                                          \
		struct vm *vm = opaque;                                                            \
		vm->timers_dirty = true;                                                           \
		return rd(&vm->dev, offset, size);                                                 \
	}                                                                                          \
	static void name##_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)     \
	{                                                                                          \
		struct vm *vm = opaque;                                                            \
		vm->timers_dirty = true;                                                           \
		wr(&vm->dev, offset, size, value);                                                 \
	}
TIMER_ADAPTER(vm_pit, pit, pit_read, pit_write)
TIMER_ADAPTER(vm_port61, pit, pit_port61_read, pit_port61_write)
TIMER_ADAPTER(vm_rtc, rtc, rtc_read, rtc_write)

static void platform_power_on(struct vm *vm, int64_t wall_clock, bool first_time)
{
	vm->clock = (struct vclock){ clock_now, vm, tsc_hz };
	vm->next_deadline = VCLOCK_NEVER;
	vm->timers_dirty = true;
	vm->pm1_cnt = vm->pm1_en = 0;

	struct irq_line irq0 = isa_line(vm, 0), irq1 = isa_line(vm, 1), irq3 = isa_line(vm, 3),
			irq4 = isa_line(vm, 4),
			irq8 = isa_line(vm, 8), irq12 = isa_line(vm, 12);
	pic8259_init(&vm->pic, pic_intr, vm);
	pit8254_init(&vm->pit, &vm->clock, &irq0);
	/* The RTC and its NVRAM run on a battery: a reset leaves them alone. */
	if (first_time)
		rtc_cmos_init(&vm->rtc, &vm->clock, &irq8, wall_clock, vm->mem.size);
	i8042_init(&vm->kbc, &irq1, &irq12, kbc_reset, vm);
	ioapic_init(&vm->ioapic, 0, ioapic_deliver, vm);
	/* PCI INTx lines are active low (PCI Local Bus spec 2.2.6). */
	for (unsigned pin = 16; pin < 20; pin++)
		ioapic_set_wiring(&vm->ioapic, pin, true);
	uart16550_set_irq(&vm->com1, &irq4);
	uart16550_set_irq(&vm->com2, &irq3);

	/* APIC ID = vCPU index, as the MADT lists them (vm/acpi.c) and
	 * CPUID reports them (vm/cpuid_policy.c). */
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct lapic_config lc = {
			.apic_id = v->id,
			.bsp = v->id == 0,
			.x2apic = true,
			.clock = &vm->clock,
			.ops = { lapic_send_ipi, lapic_eoi_broadcast, lapic_kick, v },
		};
		lapic_init(&v->lapic, &lc);
	}
	/* No firmware runs before the guest: leave the BSP's APIC as a BIOS
	 * would, in virtual-wire mode, so the 8259 reaches the CPU (MP spec
	 * 3.6.2.2). The APs' APICs stay at their reset state until the OS
	 * starts them. */
	lapic_setup_virtual_wire(&vm->vcpus[0].lapic);
}

void platform_reset(struct vm *vm, int64_t wall_clock)
{
	platform_power_on(vm, wall_clock, false);
}

bool platform_init(struct vm *vm, int64_t wall_clock)
{
	platform_power_on(vm, wall_clock, true);
	if (!pci_segment_init(&vm->pci, PLATFORM_ECAM_BASE, pci_msi, vm))
		return false;
	vm->pci.legacy_read = cf9_read;
	vm->pci.legacy_write = cf9_write;
	vm->pci.legacy_opaque = vm;
	struct irq_line inta = { pci_intx_set, vm, PLATFORM_PCI_INTX_GSI(PLATFORM_TESTDEV_SLOT, 0) };
	pci_testdev_init(&vm->testdev, &inta);
	if (!pci_register_function(&vm->pci, PLATFORM_TESTDEV_SLOT, 0, &vm->testdev.fn))
		return false;

	const struct bus_device pio[] = {
		{ "COM1 16550A", UART_COM1_BASE, UART_NR_PORTS, com1_read, com1_write, vm },
		{ "8259A master", 0x20, 2, pic_master_read, pic_master_write, &vm->pic },
		{ "8259A slave", 0xa0, 2, pic_slave_read, pic_slave_write, &vm->pic },
		{ "ELCR", 0x4d0, 2, pic_elcr_read, pic_elcr_write, &vm->pic },
		{ "8254 PIT", 0x40, 4, vm_pit_read, vm_pit_write, vm },
		{ "system port B", 0x61, 1, vm_port61_read, vm_port61_write, vm },
		{ "i8042 data", 0x60, 1, i8042_data_read, i8042_data_write, &vm->kbc },
		{ "i8042 command", 0x64, 1, i8042_status_read, i8042_command_write, &vm->kbc },
		{ "RTC/CMOS", 0x70, 2, vm_rtc_read, vm_rtc_write, vm },
		{ "POST port", 0x80, 1, port80_read, port80_write, NULL },
		{ "ACPI PM1a", ACPI_PM1A_EVT_PORT, 8, pm1_read, pm1_write, vm },
		{ "PCI I/O window", PLATFORM_PCI_IO_BASE, PLATFORM_PCI_IO_SIZE, pci_io_read, pci_io_write, vm },
	};
	const struct bus_device mmio[] = {
		{ "local APIC", LAPIC_DEFAULT_BASE, LAPIC_MMIO_SIZE, lapic_page_read, lapic_page_write, vm },
		{ "IOAPIC", PLATFORM_IOAPIC_BASE, 0x1000, ioapic_mmio_read, ioapic_mmio_write, &vm->ioapic },
		{ "PCI memory window", PLATFORM_PCI_MEM_BASE, PLATFORM_PCI_MEM_SIZE, pci_mem_read,
		  pci_mem_write, vm },
	};
	for (size_t i = 0; i < ARRAY_SIZE(pio); i++)
		if (!bus_register(&vm->pio, &pio[i])) {
			pr_err("VM %s: cannot place %s", vm->name, pio[i].name);
			return false;
		}
	for (size_t i = 0; i < ARRAY_SIZE(mmio); i++)
		if (!bus_register(&vm->mmio, &mmio[i])) {
			pr_err("VM %s: cannot place %s", vm->name, mmio[i].name);
			return false;
		}
	return pci_segment_attach(&vm->pci, &vm->pio, &vm->mmio);
}

void platform_update(struct vm *vm)
{
	platform_console_poll(vm);
	pit_update(&vm->pit);
	rtc_update(&vm->rtc);
	uint64_t d = pit_next_deadline(&vm->pit);
	d = MIN(d, rtc_next_deadline(&vm->rtc));
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		lapic_update(&vm->vcpus[i].lapic);
		d = MIN(d, lapic_next_deadline(&vm->vcpus[i].lapic));
	}
	vm->next_deadline = d;
	vm->timers_dirty = false;
}

/* The disk's complaints about the guest's driver (devices/virtqueue.c
 * virtio_report: once per reason, so a guest cannot flood the console). */
static void virtio_complaint(void *ctx, const char *what, const char *why)
{
	struct vm *vm = ctx;
	pr_warn("VM %s: virtio-blk: %s: %s; reported once per reason", vm->name, what, why);
}

bool platform_add_disk(struct vm *vm, bool over_mmio)
{
	char serial[21];
	hv_snprintf(serial, sizeof(serial), "hv-%s", vm->name);
	virtio_blk_init(&vm->blk, &vm->vdev, &vm->disk, serial);
	vm->vdev.mem = &vm->mem; /* every guest address goes through the checked helpers */
	vm->vdev.report = virtio_complaint;
	vm->vdev.report_ctx = vm;
	vm->has_disk = true;
	vm->disk_mmio = over_mmio;
	if (over_mmio) {
		struct irq_line irq = isa_line(vm, PLATFORM_VIRTIO_MMIO_IRQ);
		if (!virtio_mmio_init(&vm->vmmio, &vm->vdev, VIRTIO_BLK_CFG_SIZE, &irq))
			return false;
		const struct bus_device dev = { "virtio-mmio block", PLATFORM_VIRTIO_MMIO_BASE,
						VIRTIO_MMIO_SIZE, virtio_mmio_read, virtio_mmio_write,
						&vm->vmmio };
		return bus_register(&vm->mmio, &dev);
	}
	struct irq_line inta = { pci_intx_set, vm, PLATFORM_PCI_INTX_GSI(PLATFORM_VIRTIO_BLK_SLOT, 0) };
	return virtio_pci_init(&vm->vpci, &vm->vdev, VIRTIO_BLK_CFG_SIZE, &inta) &&
	       pci_register_function(&vm->pci, PLATFORM_VIRTIO_BLK_SLOT, 0, &vm->vpci.fn);
}

void vm_print_disk(const struct vm *vm)
{
	if (!vm->has_disk)
		return;
	pr_info("VM %s disk: %llu bytes, checksum fnv1a64 %016llx, %llu requests (%llu I/O errors, "
		"%llu unsupported, %llu malformed chains)", vm->name,
		(unsigned long long)vm->disk.size, (unsigned long long)ramdisk_fnv1a64(&vm->disk),
		(unsigned long long)vm->blk.requests, (unsigned long long)vm->blk.io_errors,
		(unsigned long long)vm->blk.unsupported, (unsigned long long)vm->blk.bad_chains);
}

void platform_describe(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		const struct lapic *l = &vm->vcpus[i].lapic;
		pr_warn("VM %s:   vCPU %u local APIC: TPR 0x%02x, PPR 0x%02x, deliverable vector %d; %s",
			vm->name, i, lapic_get_tpr(l), lapic_get_ppr(l), lapic_pending_vector(l),
			lapic_next_deadline(l) == VCLOCK_NEVER ? "no timer armed" : "timer armed");
	}
	if (!vm->has_disk)
		return;
	char line[200];
	for (unsigned q = 0; q < vm->vdev.num_queues; q++) {
		virtq_describe(&vm->vdev, q, line, sizeof(line));
		pr_warn("VM %s:   virtio-blk %s", vm->name, line);
	}
	pr_warn("VM %s:   virtio-blk: %llu requests, %llu I/O errors, %llu unsupported, %llu malformed chains, "
		"status 0x%x", vm->name, (unsigned long long)vm->blk.requests,
		(unsigned long long)vm->blk.io_errors, (unsigned long long)vm->blk.unsupported,
		(unsigned long long)vm->blk.bad_chains, vm->vdev.status);
}
