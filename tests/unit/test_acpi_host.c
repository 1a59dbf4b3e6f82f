/* arch/x86/acpi_host.c: finding the host's MADT from the RSDP and listing
 * its processors. Tables are built in a fake physical memory in which every
 * table is its own heap block of exactly its size, so AddressSanitizer
 * catches any read past a table's end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi_host.h"

/* --- Fake physical memory: a few regions at chosen addresses ------------- */

struct region {
	uint64_t pa;
	uint8_t *buf;
	size_t len;
};
static struct region regions[16];
static unsigned nregions;
static unsigned map_calls;

static const void *fake_map(void *ctx, uint64_t pa, uint64_t len)
{
	(void)ctx;
	map_calls++;
	for (unsigned i = 0; i < nregions; i++) {
		struct region *r = &regions[i];
		if (pa >= r->pa && pa - r->pa <= r->len && len <= r->len - (pa - r->pa))
			return r->buf + (pa - r->pa);
	}
	return NULL;
}

static void put(uint64_t pa, const void *data, size_t len)
{
	assert_true(nregions < 16);
	uint8_t *b = malloc(len ? len : 1);
	memcpy(b, data, len);
	regions[nregions++] = (struct region){ pa, b, len };
}

static int reset(void **state)
{
	(void)state;
	for (unsigned i = 0; i < nregions; i++)
		free(regions[i].buf);
	nregions = 0;
	map_calls = 0;
	return 0;
}

static void w32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void w64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* A table: 36-byte header (signature, Length, checksum at 9) + body. */
static size_t sdt(uint8_t *out, const char *sig, const void *body, size_t body_len)
{
	memset(out, 0, 36);
	memcpy(out, sig, 4);
	w32(out + 4, (uint32_t)(36 + body_len));
	out[8] = 1;
	memcpy(out + 10, "TBHV  ", 6);
	memcpy(out + 36, body, body_len);
	out[9] = (uint8_t)-sum(out, 36 + body_len);
	return 36 + body_len;
}

static void fix_checksum(uint8_t *t, size_t len)
{
	t[9] = 0;
	t[9] = (uint8_t)-sum(t, len);
}

/* MADT body builder. */
struct madt_b {
	uint8_t body[512];
	size_t len;
};

static void madt_begin(struct madt_b *m, uint32_t lapic, uint32_t flags)
{
	m->len = 8;
	w32(m->body, lapic);
	w32(m->body + 4, flags);
}

static void madt_lapic(struct madt_b *m, uint8_t uid, uint8_t id, uint32_t flags)
{
	uint8_t *e = m->body + m->len;
	e[0] = MADT_TYPE_LOCAL_APIC;
	e[1] = 8;
	e[2] = uid;
	e[3] = id;
	w32(e + 4, flags);
	m->len += 8;
}

static void madt_x2apic(struct madt_b *m, uint32_t id, uint32_t flags, uint32_t uid)
{
	uint8_t *e = m->body + m->len;
	memset(e, 0, 16);
	e[0] = MADT_TYPE_LOCAL_X2APIC;
	e[1] = 16;
	w32(e + 4, id);
	w32(e + 8, flags);
	w32(e + 12, uid);
	m->len += 16;
}

static void madt_raw(struct madt_b *m, const uint8_t *bytes, size_t n)
{
	memcpy(m->body + m->len, bytes, n);
	m->len += n;
}

/* An IOAPIC structure (type 1, 12 bytes), which the parser must step over. */
static const uint8_t ioapic_entry[12] = { 1, 12, 0, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0 };

static void put_madt(uint64_t pa, const struct madt_b *m)
{
	uint8_t t[600];
	size_t n = sdt(t, "APIC", m->body, m->len);
	put(pa, t, n);
}

/* RSDT at pa listing the given table addresses. */
static void put_rsdt(uint64_t pa, const uint32_t *tables, unsigned n)
{
	uint8_t body[64], t[128];
	for (unsigned i = 0; i < n; i++)
		w32(body + 4 * i, tables[i]);
	put(pa, t, sdt(t, "RSDT", body, 4 * n));
}

static void put_xsdt(uint64_t pa, const uint64_t *tables, unsigned n)
{
	uint8_t body[128], t[192];
	for (unsigned i = 0; i < n; i++)
		w64(body + 8 * i, tables[i]);
	put(pa, t, sdt(t, "XSDT", body, 8 * n));
}

static void rsdp_v1(uint8_t r[20], uint32_t rsdt)
{
	memset(r, 0, 20);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "TBHV  ", 6);
	r[15] = 0;
	w32(r + 16, rsdt);
	r[8] = (uint8_t)-sum(r, 20);
}

static void rsdp_v2(uint8_t r[36], uint32_t rsdt, uint64_t xsdt)
{
	memset(r, 0, 36);
	memcpy(r, "RSD PTR ", 8);
	r[15] = 2;
	w32(r + 16, rsdt);
	r[8] = (uint8_t)-sum(r, 20);
	w32(r + 20, 36);
	w64(r + 24, xsdt);
	r[32] = (uint8_t)-sum(r, 36);
}

/* A FADT-like table that is not the MADT (the walk must skip it). */
static void put_other(uint64_t pa)
{
	uint8_t body[8] = { 0 }, t[64];
	put(pa, t, sdt(t, "FACP", body, sizeof(body)));
}

/* --- Tests -------------------------------------------------------------- */

static void test_rsdt_two_cpus(void **state)
{
	(void)state;
	struct madt_b m;
	madt_begin(&m, 0xfee00000, 1);
	madt_lapic(&m, 0, 0, MADT_LAPIC_ENABLED);
	madt_raw(&m, ioapic_entry, sizeof(ioapic_entry));
	madt_lapic(&m, 1, 1, MADT_LAPIC_ENABLED);
	madt_lapic(&m, 2, 2, 0);                         /* unusable */
	madt_lapic(&m, 3, 3, MADT_LAPIC_ONLINE_CAPABLE); /* hot-pluggable */
	put_madt(0x7000, &m);
	put_other(0x6000);
	uint32_t tables[] = { 0x6000, 0x7000 };
	put_rsdt(0x5000, tables, 2);
	uint8_t r[20];
	rsdp_v1(r, 0x5000);

	struct acpi_host_madt out;
	assert_null(acpi_host_find_madt(r, sizeof(r), fake_map, NULL, &out));
	assert_false(out.from_xsdt);
	assert_int_equal(out.madt_addr, 0x7000);
	assert_int_equal(out.lapic_addr, 0xfee00000);
	assert_int_equal(out.madt_flags, 1);
	assert_int_equal(out.cpu_count, 2);
	assert_int_equal(out.cpus[0].apic_id, 0);
	assert_int_equal(out.cpus[1].apic_id, 1);
	assert_int_equal(out.cpus[1].acpi_uid, 1);
	assert_false(out.cpus[1].x2apic);
	assert_int_equal(out.online_capable, 1);
	assert_int_equal(out.cpus_dropped, 0);
}

static void test_xsdt_preferred_over_rsdt(void **state)
{
	(void)state;
	struct madt_b a, b;
	madt_begin(&a, 0xfee00000, 0);
	madt_lapic(&a, 0, 0, MADT_LAPIC_ENABLED);
	put_madt(0x7000, &a); /* what the RSDT lists */
	madt_begin(&b, 0xfee00000, 0);
	for (uint8_t i = 0; i < 3; i++)
		madt_lapic(&b, i, (uint8_t)(i * 2), MADT_LAPIC_ENABLED);
	put_madt(0x100008000ULL, &b); /* above 4 GiB: only an XSDT can point there */
	uint32_t rt[] = { 0x7000 };
	put_rsdt(0x5000, rt, 1);
	uint64_t xt[] = { 0x6000, 0x100008000ULL };
	put_other(0x6000);
	put_xsdt(0x100000000ULL, xt, 2);
	uint8_t r[36];
	rsdp_v2(r, 0x5000, 0x100000000ULL);

	struct acpi_host_madt out;
	assert_null(acpi_host_find_madt(r, sizeof(r), fake_map, NULL, &out));
	assert_true(out.from_xsdt);
	assert_int_equal(out.madt_addr, 0x100008000ULL);
	assert_int_equal(out.cpu_count, 3);
	assert_int_equal(out.cpus[2].apic_id, 4);

	/* Revision 2 with no XSDT address: the RSDT is used. */
	rsdp_v2(r, 0x5000, 0);
	assert_null(acpi_host_find_madt(r, sizeof(r), fake_map, NULL, &out));
	assert_false(out.from_xsdt);
	assert_int_equal(out.cpu_count, 1);
}

static void test_x2apic_entries_and_duplicates(void **state)
{
	(void)state;
	struct madt_b m;
	madt_begin(&m, 0xfee00000, 0);
	madt_lapic(&m, 0, 0, MADT_LAPIC_ENABLED);
	madt_lapic(&m, 1, 1, MADT_LAPIC_ENABLED);
	madt_x2apic(&m, 1, MADT_LAPIC_ENABLED, 1);       /* the same CPU again */
	madt_x2apic(&m, 300, MADT_LAPIC_ENABLED, 77);    /* an ID only x2APIC can name */
	madt_x2apic(&m, 301, MADT_LAPIC_ONLINE_CAPABLE, 78);
	madt_x2apic(&m, 302, 0, 79);
	put_madt(0x7000, &m);
	uint32_t t[] = { 0x7000 };
	put_rsdt(0x5000, t, 1);
	uint8_t r[20];
	rsdp_v1(r, 0x5000);

	struct acpi_host_madt out;
	assert_null(acpi_host_find_madt(r, sizeof(r), fake_map, NULL, &out));
	assert_int_equal(out.cpu_count, 3);
	assert_int_equal(out.duplicates, 1);
	assert_int_equal(out.cpus[2].apic_id, 300);
	assert_int_equal(out.cpus[2].acpi_uid, 77);
	assert_true(out.cpus[2].x2apic);
	assert_int_equal(out.online_capable, 1);
}

static void test_lapic_address_override(void **state)
{
	(void)state;
	struct madt_b m;
	madt_begin(&m, 0xfee00000, 0);
	uint8_t ov[12] = { MADT_TYPE_LOCAL_APIC_OVERRIDE, 12, 0, 0 };
	w64(ov + 4, 0x123456789000ULL);
	madt_raw(&m, ov, sizeof(ov));
	madt_lapic(&m, 0, 0, MADT_LAPIC_ENABLED);
	put_madt(0x7000, &m);
	uint32_t t[] = { 0x7000 };
	put_rsdt(0x5000, t, 1);
	uint8_t r[20];
	rsdp_v1(r, 0x5000);
	struct acpi_host_madt out;
	assert_null(acpi_host_find_madt(r, sizeof(r), fake_map, NULL, &out));
	assert_int_equal(out.lapic_addr, 0x123456789000ULL);
}

static void test_more_cpus_than_room(void **state)
{
	(void)state;
	struct madt_b m;
	madt_begin(&m, 0xfee00000, 0);
	for (unsigned i = 0; i < ACPI_HOST_MAX_CPUS + 4; i++)
		madt_lapic(&m, (uint8_t)i, (uint8_t)i, MADT_LAPIC_ENABLED);
	put_madt(0x7000, &m);
	uint32_t t[] = { 0x7000 };
	put_rsdt(0x5000, t, 1);
	uint8_t r[20];
	rsdp_v1(r, 0x5000);
	struct acpi_host_madt out;
	assert_null(acpi_host_find_madt(r, sizeof(r), fake_map, NULL, &out));
	assert_int_equal(out.cpu_count, ACPI_HOST_MAX_CPUS);
	assert_int_equal(out.cpus_dropped, 4);
}

static void expect_error(const void *rsdp, size_t len, const char *needle)
{
	struct acpi_host_madt out;
	const char *err = acpi_host_find_madt(rsdp, len, fake_map, NULL, &out);
	assert_non_null(err);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_rsdp_refusals(void **state)
{
	(void)state;
	uint8_t r[36];
	rsdp_v1(r, 0x5000);
	expect_error(r, 19, "too short");
	expect_error(NULL, 0, "too short");
	r[0] = 'X';
	expect_error(r, 20, "signature");
	rsdp_v1(r, 0x5000);
	r[16] ^= 1;
	expect_error(r, 20, "checksum");

	rsdp_v2(r, 0x5000, 0x6000);
	expect_error(r, 20, "too short"); /* revision 2 but only 20 bytes given */
	r[33] = 1;                        /* reserved byte: breaks only the extended checksum */
	expect_error(r, 36, "extended checksum");
	rsdp_v2(r, 0x5000, 0x6000);
	w32(r + 20, 200); /* Length beyond what the tag holds */
	r[8] = 0;
	r[8] = (uint8_t)-sum(r, 20);
	expect_error(r, 36, "Length");
	rsdp_v1(r, 0);
	expect_error(r, 20, "no RSDT");
	rsdp_v1(r, 0x5000); /* nothing there */
	expect_error(r, 20, "outside readable memory");
}

static void test_root_table_refusals(void **state)
{
	(void)state;
	uint8_t r[20], t[64], body[8] = { 0 };
	rsdp_v1(r, 0x5000);

	size_t n = sdt(t, "XSDT", body, 4); /* wrong signature for an RSDT */
	put(0x5000, t, n);
	expect_error(r, 20, "RSDT has the wrong signature");
	reset(NULL);

	n = sdt(t, "RSDT", body, 6); /* 1.5 entries */
	put(0x5000, t, n);
	expect_error(r, 20, "whole number");
	reset(NULL);

	n = sdt(t, "RSDT", body, 4);
	t[20] ^= 0x55;
	put(0x5000, t, n);
	expect_error(r, 20, "checksum");
	reset(NULL);

	/* Length claims more than the memory holding the table: refused before
	 * a byte past the 40 real ones is read (ASan would see it). */
	n = sdt(t, "RSDT", body, 4);
	w32(t + 4, 4096);
	fix_checksum(t, n);
	put(0x5000, t, n);
	expect_error(r, 20, "outside readable memory");
	reset(NULL);

	n = sdt(t, "RSDT", body, 4);
	w32(t + 4, 35); /* shorter than its own header */
	put(0x5000, t, n);
	expect_error(r, 20, "bad Length");
	reset(NULL);

	/* A root table with only other tables, and an entry pointing nowhere. */
	put_other(0x6000);
	uint32_t tl[] = { 0x6000, 0xdead000 };
	put_rsdt(0x5000, tl, 2);
	expect_error(r, 20, "no MADT");
}

/* A MADT with a body of raw bytes after the fixed fields. */
static void madt_error(const uint8_t *bytes, size_t n, const char *needle)
{
	struct madt_b m;
	madt_begin(&m, 0xfee00000, 0);
	madt_lapic(&m, 0, 0, MADT_LAPIC_ENABLED);
	madt_raw(&m, bytes, n);
	put_madt(0x7000, &m);
	uint32_t t[] = { 0x7000 };
	put_rsdt(0x5000, t, 1);
	uint8_t r[20];
	rsdp_v1(r, 0x5000);
	expect_error(r, 20, needle);
	reset(NULL);
}

static void test_madt_structure_refusals(void **state)
{
	(void)state;
	uint8_t zero_len[2] = { 0, 0 };
	madt_error(zero_len, 2, "bad Length");
	uint8_t one_len[2] = { 7, 1 };
	madt_error(one_len, 2, "bad Length");
	uint8_t past_end[8] = { 0, 9, 1, 1, 1, 0, 0, 0 };
	madt_error(past_end, 8, "bad Length");
	uint8_t short_lapic[6] = { 0, 6, 1, 1, 1, 0 };
	madt_error(short_lapic, 6, "Local APIC structure is too short");
	uint8_t short_x2[12] = { 9, 12, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0 };
	madt_error(short_x2, 12, "x2APIC structure is too short");
	uint8_t short_ov[8] = { 5, 8, 0, 0, 0, 0, 0, 0 };
	madt_error(short_ov, 8, "Override structure is too short");
	uint8_t lone_byte[1] = { 0 };
	madt_error(lone_byte, 1, "ends inside a structure header");

	/* A MADT without room for its fixed fields. */
	uint8_t t[64], body[4] = { 0 };
	put(0x7000, t, sdt(t, "APIC", body, 4));
	uint32_t tl[] = { 0x7000 };
	put_rsdt(0x5000, tl, 1);
	uint8_t r[20];
	rsdp_v1(r, 0x5000);
	expect_error(r, 20, "shorter than its fixed fields");
}

/* Every shorter Length of a valid MADT, each with a good checksum and held
 * in a block of exactly that size: the parser either lists the CPUs whose
 * structures fit entirely, or refuses; it never reads past the end. */
static void test_every_truncation(void **state)
{
	(void)state;
	struct madt_b m;
	madt_begin(&m, 0xfee00000, 0);
	madt_lapic(&m, 0, 0, MADT_LAPIC_ENABLED);
	madt_raw(&m, ioapic_entry, sizeof(ioapic_entry));
	madt_lapic(&m, 1, 1, MADT_LAPIC_ENABLED);
	madt_x2apic(&m, 300, MADT_LAPIC_ENABLED, 5);
	uint8_t full[600];
	size_t n = sdt(full, "APIC", m.body, m.len);
	unsigned ok = 0, refused = 0;
	for (size_t cut = 36; cut <= n; cut++) {
		uint8_t *t = malloc(cut);
		memcpy(t, full, cut);
		w32(t + 4, (uint32_t)cut);
		fix_checksum(t, cut);
		regions[0] = (struct region){ 0x7000, t, cut };
		nregions = 1;
		uint32_t tl[] = { 0x7000 };
		put_rsdt(0x5000, tl, 1);
		uint8_t r[20];
		rsdp_v1(r, 0x5000);
		struct acpi_host_madt out;
		const char *err = acpi_host_find_madt(r, 20, fake_map, NULL, &out);
		if (err) {
			refused++;
		} else {
			ok++;
			/* Only whole structures count. */
			unsigned want = cut >= 36 + 8 + 8 ? 1 : 0;
			want += cut >= 36 + 8 + 8 + 12 + 8;
			want += cut >= n;
			assert_int_equal(out.cpu_count, want);
		}
		reset(NULL);
	}
	/* Cuts at a structure boundary parse; cuts inside one are refused. */
	assert_int_equal(ok, 5);
	assert_int_equal(refused, n - 36 + 1 - 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_rsdt_two_cpus, reset),
		cmocka_unit_test_teardown(test_xsdt_preferred_over_rsdt, reset),
		cmocka_unit_test_teardown(test_x2apic_entries_and_duplicates, reset),
		cmocka_unit_test_teardown(test_lapic_address_override, reset),
		cmocka_unit_test_teardown(test_more_cpus_than_room, reset),
		cmocka_unit_test_teardown(test_rsdp_refusals, reset),
		cmocka_unit_test_teardown(test_root_table_refusals, reset),
		cmocka_unit_test_teardown(test_madt_structure_refusals, reset),
		cmocka_unit_test_teardown(test_every_truncation, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
