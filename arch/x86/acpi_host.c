#include "arch/x86/acpi_host.h"
#include "lib/string.h"
#include "lib/bytes.h"

#define RSDP_V1_LEN 20 /* ACPI 1.0 RSDP: up to and including RsdtAddress */
#define RSDP_V2_LEN 36 /* ACPI 2.0+: Length, XsdtAddress, extended checksum */
#define SDT_HEADER_LEN 36 /* System Description Table Header, ACPI 6.5 5.2.6 */
#define MADT_FIXED_LEN 44 /* header + Local Interrupt Controller Address + Flags */
/* The RSDT and XSDT are walked entry by entry; a table this big is damage. */
#define SDT_MAX_LEN MiB(1)

/* Every byte of a table, checksum byte included, adds up to 0 (ACPI 5.2.5.3, 5.2.6). */
static bool checksum_ok(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum == 0;
}

/* Map a whole System Description Table at pa: the header first, then its
 * Length bytes, checked against the header size and the checksum. */
static const uint8_t *map_sdt(acpi_map_fn map, void *ctx, uint64_t pa, uint32_t *len_out,
			      const char **err)
{
	const uint8_t *h = map(ctx, pa, SDT_HEADER_LEN);
	if (!h) {
		*err = "an ACPI table lies outside readable memory";
		return NULL;
	}
	uint32_t len = get_le32(h + 4);
	if (len < SDT_HEADER_LEN || len > SDT_MAX_LEN) {
		*err = "an ACPI table has a bad Length";
		return NULL;
	}
	const uint8_t *t = map(ctx, pa, len);
	if (!t) {
		*err = "an ACPI table runs outside readable memory";
		return NULL;
	}
	if (!checksum_ok(t, len)) {
		*err = "an ACPI table has a bad checksum";
		return NULL;
	}
	*len_out = len;
	return t;
}

static void add_cpu(struct acpi_host_madt *out, uint32_t apic_id, uint32_t uid, uint32_t flags,
		    bool x2apic)
{
	if (!(flags & MADT_LAPIC_ENABLED)) {
		/* ACPI 6.5 Table 5.47: Online Capable means the OS may enable it
		 * at run time; with neither bit the processor is unusable. */
		if (flags & MADT_LAPIC_ONLINE_CAPABLE)
			out->online_capable++;
		return;
	}
	for (unsigned i = 0; i < out->cpu_count; i++) {
		if (out->cpus[i].apic_id == apic_id) {
			out->duplicates++;
			return;
		}
	}
	if (out->cpu_count == ACPI_HOST_MAX_CPUS) {
		out->cpus_dropped++;
		return;
	}
	out->cpus[out->cpu_count++] = (struct acpi_host_cpu){ apic_id, uid, x2apic };
}

/* The MADT's interrupt controller structures (ACPI 6.5 5.2.12): each begins
 * with Type and Length; a Length that cannot hold its own structure, or
 * runs past the table, ends the walk with an error. */
static const char *parse_madt(const uint8_t *t, uint32_t len, struct acpi_host_madt *out)
{
	if (len < MADT_FIXED_LEN)
		return "the MADT is shorter than its fixed fields";
	out->lapic_addr = get_le32(t + 36);
	out->madt_flags = get_le32(t + 40);
	for (uint32_t off = MADT_FIXED_LEN; off < len;) {
		if (len - off < 2)
			return "the MADT ends inside a structure header";
		uint8_t type = t[off], elen = t[off + 1];
		if (elen < 2 || elen > len - off)
			return "a MADT structure has a bad Length";
		const uint8_t *e = t + off;
		switch (type) {
		case MADT_TYPE_LOCAL_APIC: /* Table 5.46: UID, APIC ID, Flags */
			if (elen < 8)
				return "a MADT Processor Local APIC structure is too short";
			add_cpu(out, e[3], e[2], get_le32(e + 4), false);
			break;
		case MADT_TYPE_LOCAL_X2APIC: /* Table 5.62: reserved, x2APIC ID, Flags, UID */
			if (elen < 16)
				return "a MADT Processor Local x2APIC structure is too short";
			add_cpu(out, get_le32(e + 4), get_le32(e + 12), get_le32(e + 8), true);
			break;
		case MADT_TYPE_LOCAL_APIC_OVERRIDE: /* Table 5.54: 64-bit address */
			if (elen < 12)
				return "a MADT Local APIC Address Override structure is too short";
			out->lapic_addr = get_le64(e + 4);
			break;
		default:
			break; /* IOAPICs, overrides, NMI sources: not needed here */
		}
		off += elen;
	}
	return NULL;
}

const char *acpi_host_find_madt(const void *rsdp_v, size_t rsdp_len, acpi_map_fn map, void *ctx,
				struct acpi_host_madt *out)
{
	const uint8_t *rsdp = rsdp_v;
	memset(out, 0, sizeof(*out));
	if (!rsdp || rsdp_len < RSDP_V1_LEN)
		return "the RSDP is too short";
	if (memcmp(rsdp, "RSD PTR ", 8) != 0)
		return "the RSDP has no 'RSD PTR ' signature";
	/* ACPI 5.2.5.3: the checksum covers the first 20 bytes (all revisions). */
	if (!checksum_ok(rsdp, RSDP_V1_LEN))
		return "the RSDP has a bad checksum";
	uint8_t revision = rsdp[15];
	uint64_t table_pa = get_le32(rsdp + 16);
	unsigned entry_size = 4;
	const char *sig = "RSDT";
	if (revision >= 2) {
		/* Length, XsdtAddress and the extended checksum over Length bytes. */
		if (rsdp_len < RSDP_V2_LEN)
			return "the ACPI 2.0 RSDP is too short";
		uint32_t len = get_le32(rsdp + 20);
		if (len < RSDP_V2_LEN || len > rsdp_len)
			return "the RSDP has a bad Length";
		if (!checksum_ok(rsdp, len))
			return "the RSDP has a bad extended checksum";
		/* An OS uses the XSDT when it is there (ACPI 5.2.5.3, XsdtAddress). */
		uint64_t xsdt = get_le64(rsdp + 24);
		if (xsdt) {
			table_pa = xsdt;
			entry_size = 8;
			sig = "XSDT";
			out->from_xsdt = true;
		}
	}
	if (!table_pa)
		return "the RSDP points at no RSDT or XSDT";

	const char *err = NULL;
	uint32_t len;
	const uint8_t *sdt = map_sdt(map, ctx, table_pa, &len, &err);
	if (!sdt)
		return err;
	if (memcmp(sdt, sig, 4) != 0)
		return out->from_xsdt ? "the XSDT has the wrong signature" : "the RSDT has the wrong signature";
	if ((len - SDT_HEADER_LEN) % entry_size)
		return "the RSDT/XSDT length is not a whole number of entries";
	for (uint32_t off = SDT_HEADER_LEN; off < len; off += entry_size) {
		uint64_t pa = entry_size == 8 ? get_le64(sdt + off) : get_le32(sdt + off);
		const uint8_t *h = map(ctx, pa, SDT_HEADER_LEN);
		if (!h || memcmp(h, "APIC", 4) != 0)
			continue; /* other tables, or an entry pointing nowhere: not ours */
		uint32_t madt_len;
		const uint8_t *madt = map_sdt(map, ctx, pa, &madt_len, &err);
		if (!madt)
			return err;
		out->madt_addr = pa;
		return parse_madt(madt, madt_len, out);
	}
	return "no MADT (signature APIC) in the RSDT/XSDT";
}
