/* The ACPI tables of one VM: see vm/acpi.h for the tree and the platform.
 *
 * Section numbers are those of the ACPI Specification 6.5 unless another
 * document is named. Tables are written byte by byte at the offsets of the
 * specification's tables (all fields little-endian, ACPI 5.2.2), never
 * through packed structures: what is on the page is what the guest reads. */
#include "vm/acpi.h"
#include "lib/string.h"
#include "vm/aml.h"

/* --- Writing little-endian fields ----------------------------------------------------- */

static void put8(uint8_t *p, size_t off, uint8_t v)
{
	p[off] = v;
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	put32(p, off, (uint32_t)v);
	put32(p, off + 4, (uint32_t)(v >> 32));
}

static void put_chars(uint8_t *p, size_t off, const char *s, size_t n)
{
	memcpy(p + off, s, n);
}

/* A checksum byte makes the bytes [0, len) of a table sum to zero modulo
 * 256 (ACPI 5.2.5.3, 5.2.6). The checksum byte itself must be zero while
 * summing, which it is: every table is written onto zeroed memory. */
static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0u - sum);
}

/* --- The System Description Table Header (ACPI 5.2.6, Table 5.4) ------------------------ */

#define HDR_SIGNATURE 0        /* 4 ASCII characters */
#define HDR_LENGTH 4           /* whole table, header included */
#define HDR_REVISION 8
#define HDR_CHECKSUM 9
#define HDR_OEMID 10           /* 6 bytes */
#define HDR_OEM_TABLE_ID 16    /* 8 bytes */
#define HDR_OEM_REVISION 24
#define HDR_CREATOR_ID 28      /* vendor ID of the tool that made the table */
#define HDR_CREATOR_REVISION 32
#define HDR_SIZE 36

#define OEM_ID "TXTBHV"        /* exactly 6 characters */
#define OEM_TABLE_ID "TEXTBOOK" /* exactly 8 characters */
#define OEM_REVISION 1
#define CREATOR_ID "TBHV"
#define CREATOR_REVISION 1

static void put_header(uint8_t *t, const char *sig, uint32_t length, uint8_t revision)
{
	put_chars(t, HDR_SIGNATURE, sig, 4);
	put32(t, HDR_LENGTH, length);
	put8(t, HDR_REVISION, revision);
	put_chars(t, HDR_OEMID, OEM_ID, 6);
	put_chars(t, HDR_OEM_TABLE_ID, OEM_TABLE_ID, 8);
	put32(t, HDR_OEM_REVISION, OEM_REVISION);
	put_chars(t, HDR_CREATOR_ID, CREATOR_ID, 4);
	put32(t, HDR_CREATOR_REVISION, CREATOR_REVISION);
}

/* Last step of every table, once all its fields are written. */
static void seal(uint8_t *t, uint32_t length)
{
	put8(t, HDR_CHECKSUM, checksum(t, length));
}

/* --- The Generic Address Structure (ACPI 5.2.3.2, Table 5.1) --------------------------- */

#define GAS_SIZE 12
#define GAS_SPACE_SYSTEM_IO 1  /* Address Space ID */
#define GAS_ACCESS_BYTE 1      /* Access Size */
#define GAS_ACCESS_WORD 2

static void put_gas_io(uint8_t *p, size_t off, uint8_t bit_width, uint8_t access, uint16_t port)
{
	put8(p, off + 0, GAS_SPACE_SYSTEM_IO);
	put8(p, off + 1, bit_width);  /* Register Bit Width */
	put8(p, off + 2, 0);          /* Register Bit Offset */
	put8(p, off + 3, access);     /* Access Size */
	put64(p, off + 4, port);      /* Address: the I/O port */
}

/* --- RSDP (ACPI 5.2.5.3, Table 5.3) -------------------------------------------------------- */

#define RSDP_SIGNATURE 0        /* "RSD PTR " (8 bytes, ending in a space) */
#define RSDP_CHECKSUM 8         /* over the first 20 bytes (the ACPI 1.0 part) */
#define RSDP_OEMID 9
#define RSDP_REVISION 15        /* 2: ACPI 2.0 and later, the 36-byte form */
#define RSDP_RSDT_ADDRESS 16    /* 32-bit; 0: no RSDT, the XSDT replaces it */
#define RSDP_LENGTH 20          /* of the whole RSDP */
#define RSDP_XSDT_ADDRESS 24
#define RSDP_EXT_CHECKSUM 32    /* over all 36 bytes */
#define RSDP_V1_SIZE 20
#define RSDP_SIZE 36

static void build_rsdp(uint8_t *p, uint64_t xsdt_gpa)
{
	put_chars(p, RSDP_SIGNATURE, "RSD PTR ", 8);
	put_chars(p, RSDP_OEMID, OEM_ID, 6);
	put8(p, RSDP_REVISION, 2);
	/* An OS of ACPI 2.0 or later uses the XSDT when the revision is 2 or
	 * more (ACPI 5.2.5.3); there is no RSDT, so RsdtAddress stays 0. */
	put32(p, RSDP_RSDT_ADDRESS, 0);
	put32(p, RSDP_LENGTH, RSDP_SIZE);
	put64(p, RSDP_XSDT_ADDRESS, xsdt_gpa);
	/* The first checksum covers bytes 0-19, the second all 36 bytes,
	 * including the first checksum: so the first is set first. */
	put8(p, RSDP_CHECKSUM, checksum(p, RSDP_V1_SIZE));
	put8(p, RSDP_EXT_CHECKSUM, checksum(p, RSDP_SIZE));
}

/* --- XSDT (ACPI 5.2.8, Table 5.6): 64-bit pointers to the other tables ------------------ */

#define XSDT_ENTRIES 3          /* FADT, MADT, MCFG (the DSDT hangs off the FADT) */
#define XSDT_SIZE (HDR_SIZE + 8 * XSDT_ENTRIES)

static void build_xsdt(uint8_t *t, const uint64_t entries[XSDT_ENTRIES])
{
	put_header(t, "XSDT", XSDT_SIZE, 1);
	/* The entries start at offset 36: 4-byte but not 8-byte aligned, which
	 * is why ACPI readers copy them rather than dereference them. */
	for (size_t i = 0; i < XSDT_ENTRIES; i++)
		put64(t, HDR_SIZE + 8 * i, entries[i]);
	seal(t, XSDT_SIZE);
}

/* --- FACS (ACPI 5.2.10, Table 5.14) ----------------------------------------------------------
 * Required when the platform is not HW-reduced (ACPI 5.2.9, FIRMWARE_CTRL).
 * No checksum; no global lock, no waking vector (S3 is not offered). */

#define FACS_SIGNATURE 0
#define FACS_LENGTH 4
#define FACS_HARDWARE_SIGNATURE 8
#define FACS_VERSION 32
#define FACS_SIZE 64
#define FACS_ALIGN 64           /* ACPI 5.2.10: 64-byte aligned */

static void build_facs(uint8_t *p)
{
	put_chars(p, FACS_SIGNATURE, "FACS", 4);
	put32(p, FACS_LENGTH, FACS_SIZE);
	put32(p, FACS_HARDWARE_SIGNATURE, 0);
	put8(p, FACS_VERSION, 2);
}

/* --- FADT (ACPI 5.2.9, Table 5.9), signature "FACP" -------------------------------------- */

#define FADT_FIRMWARE_CTRL 36   /* 32-bit FACS address */
#define FADT_DSDT 40            /* 32-bit DSDT address */
#define FADT_PREFERRED_PM_PROFILE 45
#define FADT_SCI_INT 46         /* 2 bytes */
#define FADT_SMI_CMD 48         /* 0: no SMI command port, ACPI mode always on */
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_P_LVL2_LAT 96
#define FADT_P_LVL3_LAT 98
#define FADT_CENTURY 108
#define FADT_IAPC_BOOT_ARCH 109 /* 2 bytes */
#define FADT_FLAGS 112
#define FADT_RESET_REG 116      /* Generic Address Structure */
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VERSION 131
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT 140
#define FADT_X_PM1A_EVT_BLK 148 /* Generic Address Structure */
#define FADT_X_PM1A_CNT_BLK 172 /* Generic Address Structure */
#define FADT_SIZE 276           /* revision 6: ends with the Hypervisor Vendor Identity */

#define FADT_REVISION 6         /* the major version: ACPI 6.x */
#define FADT_MINOR 5            /* ... of ACPI 6.5 */

/* Fixed Feature Flags (ACPI 5.2.9, Table 5.10). */
#define FADT_F_WBINVD BIT(0)        /* WBINVD flushes and invalidates caches */
#define FADT_F_PROC_C1 BIT(2)       /* C1 (HLT) works on every processor */
#define FADT_F_PWR_BUTTON BIT(4)    /* set: no fixed-feature power button */
#define FADT_F_SLP_BUTTON BIT(5)    /* set: no fixed-feature sleep button */
#define FADT_F_RESET_REG_SUP BIT(10) /* RESET_REG/RESET_VALUE reset the system */
#define FADT_F_HW_REDUCED_ACPI BIT(20) /* deliberately NOT set: PM1 blocks exist */

/* IA-PC Boot Architecture Flags (ACPI 5.2.9.3, Table 5.11). */
#define IAPC_LEGACY_DEVICES BIT(0)  /* ISA devices not listed in ACPI (PIC, PIT, RTC, UART) */
#define IAPC_8042 BIT(1)            /* an i8042 keyboard controller */
#define IAPC_VGA_NOT_PRESENT BIT(2) /* do not probe VGA */

/* "Not supported" latencies: above 100 µs for C2, above 1000 µs for C3. */
#define FADT_NO_C2_LATENCY 101
#define FADT_NO_C3_LATENCY 1001

/* The PIIX4 PM1 blocks: the event block is PM1_STS and PM1_EN (2 bytes
 * each), the control block PM1_CNT (ACPI 4.8.3.1, 4.8.3.2). */
#define PM1_EVT_LEN 4
#define PM1_CNT_LEN 2

static void build_fadt(uint8_t *t, uint64_t facs_gpa, uint64_t dsdt_gpa)
{
	put_header(t, "FACP", FADT_SIZE, FADT_REVISION);
	/* The same address in the 32- and 64-bit fields: both are below 4 GiB
	 * (acpi_build checks), and an OS that reads either finds the table. */
	put32(t, FADT_FIRMWARE_CTRL, (uint32_t)facs_gpa);
	put32(t, FADT_DSDT, (uint32_t)dsdt_gpa);
	put8(t, FADT_PREFERRED_PM_PROFILE, 0); /* Unspecified */
	put16(t, FADT_SCI_INT, ACPI_SCI_IRQ);
	put32(t, FADT_SMI_CMD, 0);
	put32(t, FADT_PM1A_EVT_BLK, ACPI_PM1A_EVT_PORT);
	put32(t, FADT_PM1A_CNT_BLK, ACPI_PM1A_CNT_PORT);
	put8(t, FADT_PM1_EVT_LEN, PM1_EVT_LEN);
	put8(t, FADT_PM1_CNT_LEN, PM1_CNT_LEN);
	/* PM1b, PM2, the PM timer and both GPE blocks are absent: left 0. */
	put16(t, FADT_P_LVL2_LAT, FADT_NO_C2_LATENCY);
	put16(t, FADT_P_LVL3_LAT, FADT_NO_C3_LATENCY);
	put8(t, FADT_CENTURY, ACPI_CENTURY_CMOS);
	put16(t, FADT_IAPC_BOOT_ARCH, IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT);
	put32(t, FADT_FLAGS, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
				     FADT_F_RESET_REG_SUP);
	put_gas_io(t, FADT_RESET_REG, 8, GAS_ACCESS_BYTE, ACPI_RESET_PORT);
	put8(t, FADT_RESET_VALUE, ACPI_RESET_VALUE);
	put8(t, FADT_MINOR_VERSION, FADT_MINOR);
	put64(t, FADT_X_FIRMWARE_CTRL, facs_gpa);
	put64(t, FADT_X_DSDT, dsdt_gpa);
	/* The extended PM1 blocks repeat the 32-bit ones; their bit widths
	 * must agree with PM1_EVT_LEN and PM1_CNT_LEN. */
	put_gas_io(t, FADT_X_PM1A_EVT_BLK, 8 * PM1_EVT_LEN, GAS_ACCESS_WORD, ACPI_PM1A_EVT_PORT);
	put_gas_io(t, FADT_X_PM1A_CNT_BLK, 8 * PM1_CNT_LEN, GAS_ACCESS_WORD, ACPI_PM1A_CNT_PORT);
	/* SLEEP_CONTROL_REG and SLEEP_STATUS_REG are for HW-reduced platforms,
	 * the Hypervisor Vendor Identity is optional: all left 0. */
	seal(t, FADT_SIZE);
}

/* --- MADT (ACPI 5.2.12, Table 5.19), signature "APIC" ----------------------------------- */

#define MADT_LAPIC_ADDRESS 36
#define MADT_FLAGS 40
#define MADT_ENTRIES 44
#define MADT_REVISION 5
#define MADT_PCAT_COMPAT BIT(0) /* dual 8259s present: mask them to use the APICs */

/* Interrupt Controller Structures: type, length, then the fields. */
#define MADT_LAPIC 0            /* Processor Local APIC (5.2.12.2) */
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC 1           /* I/O APIC (5.2.12.3) */
#define MADT_IOAPIC_LEN 12
#define MADT_ISO 2              /* Interrupt Source Override (5.2.12.5) */
#define MADT_ISO_LEN 10
#define MADT_LAPIC_NMI 4        /* Local APIC NMI (5.2.12.7) */
#define MADT_LAPIC_NMI_LEN 6

#define MADT_LAPIC_ENABLED BIT(0)
#define MADT_ALL_PROCESSORS 0xFF /* ACPI Processor UID of every processor */
#define MADT_ISA_BUS 0

/* MPS INTI Flags (5.2.12.5, Table 5.26): polarity in bits 1:0, trigger
 * mode in bits 3:2. */
#define INTI_ACTIVE_HIGH 0x1
#define INTI_EDGE (0x1 << 2)
#define INTI_LEVEL (0x3 << 2)

#define MADT_ISO_COUNT 2
#define MADT_FIXED_ENTRIES (MADT_IOAPIC_LEN + MADT_ISO_COUNT * MADT_ISO_LEN + MADT_LAPIC_NMI_LEN)

static size_t madt_size(unsigned vcpus)
{
	return MADT_ENTRIES + (size_t)vcpus * MADT_LAPIC_LEN + MADT_FIXED_ENTRIES;
}

static size_t put_iso(uint8_t *t, size_t off, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	put8(t, off + 0, MADT_ISO);
	put8(t, off + 1, MADT_ISO_LEN);
	put8(t, off + 2, MADT_ISA_BUS); /* Bus: 0 is ISA */
	put8(t, off + 3, irq);          /* Source: the ISA IRQ */
	put32(t, off + 4, gsi);         /* Global System Interrupt */
	put16(t, off + 8, flags);
	return off + MADT_ISO_LEN;
}

static void build_madt(uint8_t *t, unsigned vcpus)
{
	uint32_t length = (uint32_t)madt_size(vcpus);
	put_header(t, "APIC", length, MADT_REVISION);
	put32(t, MADT_LAPIC_ADDRESS, ACPI_LAPIC_ADDR);
	put32(t, MADT_FLAGS, MADT_PCAT_COMPAT);

	size_t off = MADT_ENTRIES;
	/* One Processor Local APIC per vCPU, in APIC ID order; the first is the
	 * boot processor by convention. */
	for (unsigned i = 0; i < vcpus; i++) {
		put8(t, off + 0, MADT_LAPIC);
		put8(t, off + 1, MADT_LAPIC_LEN);
		put8(t, off + 2, (uint8_t)i);  /* ACPI Processor UID */
		put8(t, off + 3, (uint8_t)i);  /* APIC ID */
		put32(t, off + 4, MADT_LAPIC_ENABLED);
		off += MADT_LAPIC_LEN;
	}

	put8(t, off + 0, MADT_IOAPIC);
	put8(t, off + 1, MADT_IOAPIC_LEN);
	put8(t, off + 2, 0);               /* I/O APIC ID */
	put8(t, off + 3, 0);               /* Reserved */
	put32(t, off + 4, ACPI_IOAPIC_ADDR);
	put32(t, off + 8, 0);              /* Global System Interrupt Base */
	off += MADT_IOAPIC_LEN;

	/* Without an override ISA IRQ n is GSI n, edge, active high. The PIT
	 * (IRQ 0) is wired to I/O APIC pin 2, as on every PC since pin 0
	 * went to the 8259's INTR; the SCI (IRQ 9) is level-triggered (ACPI
	 * 5.2.9, SCI_INT), and active high as the PIIX4 drives it. */
	off = put_iso(t, off, 0, 2, INTI_EDGE | INTI_ACTIVE_HIGH);
	off = put_iso(t, off, ACPI_SCI_IRQ, ACPI_SCI_IRQ, INTI_LEVEL | INTI_ACTIVE_HIGH);

	/* NMI reaches every processor through its LINT1 pin (the MP
	 * Specification's virtual-wire wiring): edge, active high. */
	put8(t, off + 0, MADT_LAPIC_NMI);
	put8(t, off + 1, MADT_LAPIC_NMI_LEN);
	put8(t, off + 2, MADT_ALL_PROCESSORS);
	put16(t, off + 3, INTI_EDGE | INTI_ACTIVE_HIGH);
	put8(t, off + 5, 1);               /* Local APIC LINT# */
	off += MADT_LAPIC_NMI_LEN;

	seal(t, length);
}

/* --- MCFG (PCI Firmware Specification 3.3, 4.1.2, Tables 4-2 and 4-3) ------------------- */

#define MCFG_ALLOCATIONS 44     /* after the header and 8 reserved bytes */
#define MCFG_ALLOC_LEN 16
#define MCFG_SIZE (MCFG_ALLOCATIONS + MCFG_ALLOC_LEN)

static void build_mcfg(uint8_t *t)
{
	put_header(t, "MCFG", MCFG_SIZE, 1);
	size_t a = MCFG_ALLOCATIONS;
	put64(t, a + 0, ACPI_MCFG_BASE);  /* Base Address of the ECAM window */
	put16(t, a + 8, 0);               /* PCI Segment Group Number */
	put8(t, a + 10, 0);               /* Start Bus Number */
	put8(t, a + 11, 0);               /* End Bus Number */
	put32(t, a + 12, 0);              /* Reserved */
	seal(t, MCFG_SIZE);
}

/* --- DSDT (ACPI 5.2.11.1): a definition block of AML ----------------------------------------
 * The ASL source it compiles from:
 *
 *     DefinitionBlock ("", "DSDT", 2, "TXTBHV", "TEXTBOOK", 1)
 *     {
 *         Name (_S5, Package () { 5, 5, 0, 0 })
 *         Scope (\_SB) {
 *             Device (PCI0) {
 *                 Name (_HID, EisaId ("PNP0A08"))   // PCI Express root bridge
 *                 Name (_CID, EisaId ("PNP0A03"))   // ... compatible with PCI
 *                 Name (_SEG, 0)  Name (_BBN, 0)  Name (_UID, 0)
 *                 Name (_CRS, ResourceTemplate () {
 *                     WordBusNumber (0-0)
 *                     IO (Decode16, 0xCF8, 0xCF8, 1, 8)
 *                     WordIO (0x0000-0x0CF7)  WordIO (0x0D00-0xFFFF)
 *                     DWordMemory (pci_mem_base, pci_mem_base + pci_mem_size - 1)
 *                 })
 *                 Name (_PRT, Package () {        // slot s, pin p (0 = INTA)
 *                     Package () { s << 16 | 0xFFFF, p, 0, gsi(s, p) }, ...
 *                 })
 *             }
 *         }
 *     }
 *
 * \_S5 gives the values to write to SLP_TYPa and SLP_TYPb for soft-off
 * (ACPI 7.4.2, 16.1.7): with SLP_EN, 5 << 10 | 1 << 13 = 0x3400 written to
 * PM1a_CNT powers the PIIX4 off. The other two elements are reserved.
 *
 * PCI0 is how an OS finds the PCI bus at all under ACPI (9.4 / PCI Firmware
 * 3.3 4.1.1): _CRS gives the bus range, I/O ports and memory window it may
 * assign BARs from, _PRT routes each slot's INTx pins straight to I/O APIC
 * inputs (a zero Source, 6.2.13), level-triggered active-low by default.
 * Without a PCI0 a guest like Linux never scans the bus. */

#define DSDT_REVISION 2         /* 2 and up: AML integers are 64-bit */

/* Resource descriptors (6.4): small IO, large Word/DWord Address Space, End Tag. */
static void res_word_range(struct aml *a, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max)
{
	const uint8_t d[] = { 0x88, 13, 0, type,
			      0x0c, /* MinFixed, MaxFixed, positive decode, producer */
			      type_flags, 0, 0, /* granularity */
			      (uint8_t)min, (uint8_t)(min >> 8), (uint8_t)max, (uint8_t)(max >> 8),
			      0, 0, /* translation */
			      (uint8_t)(max - min + 1), (uint8_t)((max - min + 1) >> 8) };
	aml_bytes(a, d, sizeof(d));
}

static void res_dword_memory(struct aml *a, uint32_t min, uint32_t max)
{
	uint32_t f[5] = { 0, min, max, 0, max - min + 1 }; /* granularity, min, max, translation, length */
	const uint8_t h[] = { 0x87, 23, 0, 0 /* memory */, 0x0c, 0x01 /* read/write, non-cacheable */ };
	aml_bytes(a, h, sizeof(h));
	for (unsigned i = 0; i < 5; i++) {
		const uint8_t b[4] = { (uint8_t)f[i], (uint8_t)(f[i] >> 8), (uint8_t)(f[i] >> 16),
				       (uint8_t)(f[i] >> 24) };
		aml_bytes(a, b, 4);
	}
}

static void name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_byte(a, AML_NAME_OP);
	aml_name(a, name);
	aml_integer(a, v);
}

static void dsdt_aml(struct aml *a, const struct acpi_config *cfg)
{
	/* Name (_S5, Package () { 5, 5, 0, 0 }) */
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_S5_");
	aml_byte(a, AML_PACKAGE_OP);
	size_t pkg = aml_open(a);
	aml_byte(a, 4);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_close(a, pkg);
	if (!cfg->pci_mem_size)
		return;

	aml_byte(a, AML_SCOPE_OP);
	size_t scope = aml_open(a);
	aml_name(a, "\\_SB_");
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	size_t dev = aml_open(a);
	aml_name(a, "PCI0");
	name_integer(a, "_HID", aml_eisaid("PNP0A08"));
	name_integer(a, "_CID", aml_eisaid("PNP0A03"));
	name_integer(a, "_SEG", 0);
	name_integer(a, "_BBN", 0);
	name_integer(a, "_UID", 0);

	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER_OP);
	size_t buf = aml_open(a);
	struct aml crs = { NULL, 0, 0, false }; /* count the descriptors first: BufferSize */
	for (int pass = 0; pass < 2; pass++) {
		struct aml *t = pass ? a : &crs;
		if (pass)
			aml_integer(a, crs.len);
		res_word_range(t, 2, 0, 0, 0);                        /* bus 0 */
		const uint8_t cf8[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08 };
		aml_bytes(t, cf8, sizeof(cf8));                      /* the config ports */
		res_word_range(t, 1, 0x03, 0x0000, 0x0cf7);           /* I/O below them */
		res_word_range(t, 1, 0x03, 0x0d00, 0xffff);           /* and above */
		res_dword_memory(t, (uint32_t)cfg->pci_mem_base,
				 (uint32_t)(cfg->pci_mem_base + cfg->pci_mem_size - 1));
		const uint8_t end_tag[] = { 0x79, 0x00 };             /* checksum 0: "ignore" */
		aml_bytes(t, end_tag, sizeof(end_tag));
	}
	aml_close(a, buf);

	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_PRT");
	aml_byte(a, AML_PACKAGE_OP);
	size_t prt = aml_open(a);
	aml_byte(a, (uint8_t)(31 * 4)); /* slots 1-31, pins A-D */
	for (unsigned slot = 1; slot < 32; slot++)
		for (unsigned pin = 0; pin < 4; pin++) {
			aml_byte(a, AML_PACKAGE_OP);
			size_t e = aml_open(a);
			aml_byte(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff); /* any function of the slot */
			aml_integer(a, pin);
			aml_integer(a, 0);                            /* Source: a GSI, not a link */
			aml_integer(a, cfg->pci_gsi_base + (slot + pin) % 4);
			aml_close(a, e);
		}
	aml_close(a, prt);
	aml_close(a, dev);
	aml_close(a, scope);
}

static size_t dsdt_size(const struct acpi_config *cfg)
{
	struct aml a = { NULL, 0, 0, false };
	dsdt_aml(&a, cfg);
	return HDR_SIZE + a.len;
}

static void build_dsdt(uint8_t *t, const struct acpi_config *cfg)
{
	size_t size = dsdt_size(cfg);
	struct aml a = { t + HDR_SIZE, 0, size - HDR_SIZE, false };
	put_header(t, "DSDT", (uint32_t)size, DSDT_REVISION);
	dsdt_aml(&a, cfg);
	seal(t, size);
}

/* --- Layout ------------------------------------------------------------------------------- */

#define TABLE_ALIGN 16

/* Offsets from the buffer's start; the alignment is of the guest-physical
 * address, the buffer lives wherever the caller put it. */
struct acpi_layout {
	size_t rsdp, facs, xsdt, fadt, madt, mcfg, dsdt, end;
};

static size_t place(uint64_t base, size_t *cur, size_t size, uint64_t align)
{
	size_t off = (size_t)(ALIGN_UP(base + *cur, align) - base);
	*cur = off + size;
	return off;
}

static bool acpi_layout(const struct acpi_config *cfg, struct acpi_layout *l)
{
	if (!cfg || cfg->vcpus == 0 || cfg->vcpus > ACPI_MAX_VCPUS)
		return false;
	/* The RSDP, first, must be 16-byte aligned (ACPI 5.2.5.1). */
	if (!IS_ALIGNED(cfg->base_gpa, TABLE_ALIGN) || cfg->base_gpa >= GiB(4))
		return false;
	uint64_t base = cfg->base_gpa;
	size_t cur = 0;
	l->rsdp = place(base, &cur, RSDP_SIZE, TABLE_ALIGN);
	l->facs = place(base, &cur, FACS_SIZE, FACS_ALIGN);
	l->xsdt = place(base, &cur, XSDT_SIZE, TABLE_ALIGN);
	l->fadt = place(base, &cur, FADT_SIZE, TABLE_ALIGN);
	l->madt = place(base, &cur, madt_size(cfg->vcpus), TABLE_ALIGN);
	l->mcfg = place(base, &cur, MCFG_SIZE, TABLE_ALIGN);
	l->dsdt = place(base, &cur, dsdt_size(cfg), TABLE_ALIGN);
	l->end = cur;
	/* The FADT's 32-bit DSDT and FIRMWARE_CTRL must reach their tables:
	 * everything lies below 4 GiB. */
	return l->end <= GiB(4) - base;
}

size_t acpi_size(const struct acpi_config *cfg)
{
	struct acpi_layout l;
	return acpi_layout(cfg, &l) ? l.end : 0;
}

size_t acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t len, uint64_t *rsdp_gpa)
{
	struct acpi_layout l;
	if (!buf || !rsdp_gpa || !acpi_layout(cfg, &l) || l.end > len)
		return 0;
	uint64_t base = cfg->base_gpa;

	/* Zeroed first: reserved fields and padding are 0, and checksums are
	 * computed over tables whose checksum byte is still 0. */
	memset(buf, 0, l.end);
	/* Leaves first, so that every table is complete before the one that
	 * points to it; each table's checksum covers only itself. */
	build_dsdt(buf + l.dsdt, cfg);
	build_facs(buf + l.facs);
	build_mcfg(buf + l.mcfg);
	build_madt(buf + l.madt, cfg->vcpus);
	build_fadt(buf + l.fadt, base + l.facs, base + l.dsdt);
	const uint64_t entries[XSDT_ENTRIES] = { base + l.fadt, base + l.madt, base + l.mcfg };
	build_xsdt(buf + l.xsdt, entries);
	build_rsdp(buf + l.rsdp, base + l.xsdt);

	*rsdp_gpa = base + l.rsdp;
	return l.end;
}
