/* The host machine's ACPI tables, as the firmware left them: find the MADT
 * from the RSDP that Multiboot2 hands over, and list the processors' local
 * APICs in it (ACPI 6.5 sections 5.2.5 RSDP, 5.2.7 RSDT, 5.2.8 XSDT,
 * 5.2.12 MADT). Not to be confused with vm/acpi.c, which builds tables for
 * guests. Pure logic: physical memory is reached only through the caller's
 * map function, so the unit tests can feed tables built in memory. */
#ifndef ARCH_X86_ACPI_HOST_H
#define ARCH_X86_ACPI_HOST_H

#include "lib/types.h"

#define ACPI_HOST_MAX_CPUS 16

/* MADT interrupt controller structure types (ACPI 6.5 Table 5.45). */
#define MADT_TYPE_LOCAL_APIC 0
#define MADT_TYPE_LOCAL_APIC_OVERRIDE 5
#define MADT_TYPE_LOCAL_X2APIC 9

/* Local APIC / x2APIC flags (ACPI 6.5 Table 5.47). */
#define MADT_LAPIC_ENABLED BIT(0)
#define MADT_LAPIC_ONLINE_CAPABLE BIT(1)

struct acpi_host_cpu {
	uint32_t apic_id;  /* local APIC ID (x2APIC ID for type 9 entries) */
	uint32_t acpi_uid; /* ACPI processor UID */
	bool x2apic;       /* from a Processor Local x2APIC structure */
};

struct acpi_host_madt {
	bool from_xsdt;         /* found through the XSDT (else the RSDT) */
	uint64_t madt_addr;     /* physical address of the MADT */
	uint64_t lapic_addr;    /* local APIC registers (the override if one is given) */
	uint32_t madt_flags;    /* bit 0: PCAT_COMPAT (8259s present) */
	/* Processors usable now (Enabled set), in MADT order. */
	struct acpi_host_cpu cpus[ACPI_HOST_MAX_CPUS];
	unsigned cpu_count;
	unsigned cpus_dropped;   /* enabled processors beyond ACPI_HOST_MAX_CPUS */
	unsigned online_capable; /* not enabled, but may be brought online later */
	unsigned duplicates;     /* an APIC ID listed twice (xAPIC and x2APIC entry) */
};

/* Returns a pointer to len readable bytes at physical address pa, or NULL
 * when that range is not memory the caller lets us read. */
typedef const void *(*acpi_map_fn)(void *ctx, uint64_t pa, uint64_t len);

/* rsdp: the RSDP copy (rsdp_len bytes: the Multiboot2 tag's payload).
 * Returns NULL with *out filled, or a message saying what is malformed.
 * Every length is checked before the bytes it covers are read, and every
 * checksum before a table is believed. */
const char *acpi_host_find_madt(const void *rsdp, size_t rsdp_len, acpi_map_fn map, void *ctx,
				struct acpi_host_madt *out);

#endif
