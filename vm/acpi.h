/* The ACPI tables of one VM (ACPI Specification 6.5, chapter 5; the MCFG
 * from the PCI Firmware Specification 3.3, 4.1.2).
 *
 * acpi_build() writes, into a caller-supplied buffer that the caller then
 * copies to guest-physical cfg->base_gpa, this tree:
 *
 *   RSDP --XsdtAddress--> XSDT --+--> FADT --DSDT/X_DSDT--> DSDT (\_S5, PCI root bridge)
 *                                |         --FIRMWARE_CTRL--> FACS
 *                                +--> MADT (local APICs, I/O APIC, overrides, NMI)
 *                                +--> MCFG (PCI Express ECAM window)
 *
 * Every pointer inside the tables is a guest-physical address: the tables are
 * laid out for the address they will live at, not the buffer's. Each table
 * starts 16-byte aligned (the RSDP must be, ACPI 5.2.5.1; the FACS 64-byte
 * aligned, ACPI 5.2.10). The platform they describe is QEMU's i440FX/PIIX4
 * PC: PM1a blocks at I/O ports 0x600/0x604, SCI on IRQ 9, reset through
 * port 0xCF9, the RTC century in CMOS register 0x32.
 *
 * The RSDP is placed first, at base_gpa. Where an OS looks for it is the
 * caller's business: a BIOS-style guest scans 0xE0000-0xFFFFF on 16-byte
 * boundaries (ACPI 5.2.5.1), a Multiboot2 guest gets a copy in a tag.
 *
 * Pure logic: unit-tested on the host (tests/unit/test_acpi.c). */
#ifndef VM_ACPI_H
#define VM_ACPI_H

#include "lib/types.h"

/* vCPU i gets local APIC ID i and ACPI processor UID i. APIC ID 0xFF is the
 * xAPIC broadcast and UID 0xFF means "all processors" in a Local APIC NMI
 * structure (ACPI 5.2.12.7), so at most 255 vCPUs fit in xAPIC entries. */
#define ACPI_MAX_VCPUS 255

/* What the tables describe. */
#define ACPI_LAPIC_ADDR 0xFEE00000u   /* MADT Local Interrupt Controller Address */
#define ACPI_IOAPIC_ADDR 0xFEC00000u  /* the one I/O APIC, ID 0, GSIs 0-23 */
#define ACPI_PM1A_EVT_PORT 0x600u     /* PM1a_EVT_BLK: PM1_STS (2) + PM1_EN (2) */
#define ACPI_PM1A_CNT_PORT 0x604u     /* PM1a_CNT_BLK: PM1_CNT (2) */
#define ACPI_SCI_IRQ 9u               /* SCI_INT: ISA IRQ 9, level, active high */
#define ACPI_RESET_PORT 0xCF9u        /* RESET_REG: the PIIX reset control register */
#define ACPI_RESET_VALUE 0x06u        /* full reset: SYS_RST | RST_CPU */
#define ACPI_CENTURY_CMOS 0x32u       /* CENTURY: CMOS RTC register of the century */
#define ACPI_MCFG_BASE 0xB0000000ull  /* ECAM window of segment 0, bus 0 */
#define ACPI_S5_SLP_TYP 5u            /* \_S5 SLP_TYPa/b: PIIX4's soft-off code */

struct acpi_config {
	/* Guest-physical address the buffer will be copied to: 16-byte aligned,
	 * and every table must end below 4 GiB, since the FADT also carries
	 * 32-bit pointers (DSDT, FIRMWARE_CTRL). */
	uint64_t base_gpa;
	unsigned vcpus; /* 1..ACPI_MAX_VCPUS */
	/* The PCI root bridge in the DSDT (0 size: none): the 32-bit memory
	 * window BARs are assigned from, and where INTx goes: slot s, pin p
	 * (0 = INTA) raises I/O APIC input pci_gsi_base + (s + p) % 4. */
	uint64_t pci_mem_base, pci_mem_size;
	unsigned pci_gsi_base;
};

/* Bytes acpi_build() needs for cfg, or 0 if cfg is refused. */
size_t acpi_size(const struct acpi_config *cfg);

/* Write the tables to buf[0, len). Returns the bytes used and sets *rsdp_gpa
 * to the RSDP's guest-physical address; returns 0, leaving buf and *rsdp_gpa
 * untouched, if cfg is refused or the tables do not fit in len bytes. Bytes
 * of buf past the returned size are not written; padding between tables is
 * zeroed. */
size_t acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t len, uint64_t *rsdp_gpa);

#endif
