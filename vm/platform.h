/* The PC a VM sees: where each emulated device lives, how the interrupt
 * lines are wired, and the device timers. One place for the board layout:
 *
 *   ports 0x20, 0xa0, 0x4d0  8259A PIC pair and ELCR    IRQ n -> PIC n, IOAPIC n (IRQ 0 -> pin 2)
 *   ports 0x40-0x43, 0x61    8254 PIT, system port B    PIT channel 0 -> IRQ 0
 *   ports 0x60, 0x64         i8042 (reset line)         keyboard -> IRQ 1
 *   ports 0x70-0x71          MC146818 RTC/CMOS          IRQ 8
 *   ports 0x3f8-0x3ff        16550A COM1 (the console)  IRQ 4
 *   ports 0x2f8-0x2ff        16550A COM2 ([name:COM2])  IRQ 3
 *   port 0xf4                exit port; port 0x80 POST codes (ignored)
 *   ports 0x600-0x607        ACPI PM1a event and control (S5 powers off)
 *   port 0xcf9               reset control (6: reset the VM)
 *   ports 0xcf8, 0xcfc       PCI configuration mechanism #1
 *   0xb0000000 (1 MiB)       PCI ECAM for bus 0
 *   0xc0000000-0xdfffffff    PCI memory window (BARs), ports 0xc000-0xffff for I/O BARs
 *   0xfec00000               IOAPIC, 24 pins; PCI INTA-D of slot s -> pin 16 + (s + pin) % 4
 *   0xfee00000               local APIC page of the accessing vCPU
 *   PCI 00:00.0 host bridge, 00:01.0 test device (MSI, MSI-X, INTx),
 *       00:02.0 virtio-blk (virtio-pci, when the VM has a disk)
 *   0xfeb00000 (0x200)       virtio-blk over virtio-mmio instead (disk_transport=mmio), IRQ 5
 */
#ifndef VM_PLATFORM_H
#define VM_PLATFORM_H

#include "lib/types.h"

struct vm;
struct vcpu;

#define PLATFORM_ECAM_BASE 0xb0000000ULL
#define PLATFORM_PCI_MEM_BASE 0xc0000000ULL
#define PLATFORM_PCI_MEM_SIZE 0x20000000ULL
#define PLATFORM_PCI_IO_BASE 0xc000ULL
#define PLATFORM_PCI_IO_SIZE 0x4000ULL
#define PLATFORM_IOAPIC_BASE 0xfec00000ULL
/* PCI INTx (the swizzle of PCI-to-PCI Bridge 1.2 9.1): slot s, pin p
 * (0 = INTA) drives I/O APIC input PLATFORM_PCI_GSI_BASE + (s + p) % 4,
 * active low, as the DSDT's _PRT tells the guest. */
#define PLATFORM_PCI_GSI_BASE 16
#define PLATFORM_PCI_INTX_GSI(slot, pin) (PLATFORM_PCI_GSI_BASE + ((slot) + (pin)) % 4)
#define PLATFORM_TESTDEV_SLOT 1
#define PLATFORM_VIRTIO_BLK_SLOT 2
#define PLATFORM_VIRTIO_MMIO_BASE 0xfeb00000ULL
#define PLATFORM_VIRTIO_MMIO_IRQ 5

struct ramdisk;

/* Print the disk's size and checksum (FNV-1a 64 over every byte). */
void vm_print_disk(const struct vm *vm);
/* The interrupt and disk state, for a stall report (vmx/exit.c). */
void platform_describe(const struct vm *vm);
/* Attach the VM's virtio-blk disk over virtio-pci or virtio-mmio. */
bool platform_add_disk(struct vm *vm, bool over_mmio);

/* Build and wire every device; false (with a message) if registration fails. */
bool platform_init(struct vm *vm, int64_t wall_clock);
/* Every device back to its power-on state (the wiring stays). */
void platform_reset(struct vm *vm, int64_t wall_clock);
/* Let the device timers catch up with the guest's time, then the earliest
 * next deadline (guest TSC) or VCLOCK_NEVER. */
void platform_update(struct vm *vm);
/* Move bytes typed on the physical console into the VM's COM1; with a
 * router installed, hand them to it (it picks the VM or the shell). Called
 * from the run loop and from the guest's COM1 reads. */
void platform_console_poll(struct vm *vm);
void platform_console_route(void (*poll)(void));
/* COM1 would interrupt the guest when a byte arrives. */
bool platform_console_can_wake(const struct vm *vm);
/* Guest TSC now. */
uint64_t platform_guest_tsc(const struct vm *vm);

#endif
