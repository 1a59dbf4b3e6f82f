/* vm/acpi.c: the tables are built into a buffer, then read back the way an
 * OS does: find the RSDP by its signature, check its checksums, follow the
 * XSDT to every table, check each one, and look inside. The reader below
 * uses the specification's offsets written out again, not vm/acpi.c's
 * names, so a wrong offset there is not repeated here.
 *
 * Every buffer is a heap block of exactly its length, so AddressSanitizer
 * reports any byte written or read past its end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/acpi.h"

#define BASE 0xE0000ull /* the BIOS area an OS scans for the RSDP */

/* --- A reader ------------------------------------------------------------------------- */

struct image {
	uint8_t *buf;
	size_t len;
	uint64_t base;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* The host pointer of [gpa, gpa+n) inside the image; fails the test if any
 * of it is outside. */
static const uint8_t *at(const struct image *im, uint64_t gpa, uint64_t n)
{
	if (gpa < im->base || gpa - im->base > im->len || n > im->len - (gpa - im->base))
		fail_msg("address %#llx+%llu outside the tables", (unsigned long long)gpa,
			 (unsigned long long)n);
	return im->buf + (gpa - im->base);
}

/* A table with a standard header at gpa: signature, length, checksum, IDs. */
static const uint8_t *table(const struct image *im, uint64_t gpa, const char *sig)
{
	const uint8_t *h = at(im, gpa, 36);
	assert_memory_equal(h, sig, 4);
	uint32_t len = rd32(h + 4);
	assert_true(len >= 36);
	h = at(im, gpa, len);
	assert_int_equal(sum(h, len), 0);
	assert_memory_equal(h + 10, "TXTBHV", 6);
	assert_memory_equal(h + 16, "TEXTBOOK", 8);
	assert_int_equal(gpa % 16, 0);
	return h;
}

/* Scan for "RSD PTR " on 16-byte boundaries (ACPI 5.2.5.1); checks both
 * checksums and returns the RSDP's guest-physical address. */
static uint64_t find_rsdp(const struct image *im)
{
	for (size_t off = 0; off + 36 <= im->len; off += 16) {
		const uint8_t *r = im->buf + off;
		if (memcmp(r, "RSD PTR ", 8) != 0 || sum(r, 20) != 0)
			continue;
		assert_int_equal(r[15], 2);          /* Revision */
		assert_int_equal(rd32(r + 20), 36);  /* Length */
		assert_int_equal(sum(r, 36), 0);     /* Extended Checksum */
		assert_memory_equal(r + 9, "TXTBHV", 6);
		return im->base + off;
	}
	fail_msg("no RSDP");
	return 0;
}

/* What the OS found. */
struct found {
	uint64_t rsdp;
	const uint8_t *xsdt, *fadt, *madt, *mcfg, *dsdt, *facs;
	unsigned xsdt_entries;
};

static void walk(const struct image *im, struct found *f)
{
	memset(f, 0, sizeof(*f));
	f->rsdp = find_rsdp(im);
	const uint8_t *r = at(im, f->rsdp, 36);
	f->xsdt = table(im, rd64(r + 24), "XSDT");
	uint32_t xlen = rd32(f->xsdt + 4);
	assert_int_equal((xlen - 36) % 8, 0);
	f->xsdt_entries = (xlen - 36) / 8;
	for (unsigned i = 0; i < f->xsdt_entries; i++) {
		uint64_t gpa = rd64(f->xsdt + 36 + 8 * i);
		const uint8_t *h = at(im, gpa, 36);
		const uint8_t **slot = !memcmp(h, "FACP", 4) ? &f->fadt :
				       !memcmp(h, "APIC", 4) ? &f->madt :
				       !memcmp(h, "MCFG", 4) ? &f->mcfg : NULL;
		if (!slot)
			fail_msg("unexpected table %.4s in the XSDT", (const char *)h);
		assert_null(*slot);
		*slot = table(im, gpa, (const char *)h);
	}
	assert_non_null(f->fadt);
	assert_non_null(f->madt);
	assert_non_null(f->mcfg);
	/* The FADT leads to the DSDT and the FACS. */
	f->dsdt = table(im, rd64(f->fadt + 140), "DSDT");
	f->facs = at(im, rd64(f->fadt + 132), 64);
}

/* Build for vcpus at base into an exactly-sized heap buffer. */
static struct image build(unsigned vcpus, uint64_t base)
{
	struct acpi_config cfg = { .base_gpa = base, .vcpus = vcpus };
	size_t need = acpi_size(&cfg);
	assert_true(need > 0);
	struct image im = { .buf = malloc(need), .len = need, .base = base };
	assert_non_null(im.buf);
	memset(im.buf, 0xa5, need);
	uint64_t rsdp = 0;
	assert_int_equal(acpi_build(&cfg, im.buf, need, &rsdp), need);
	assert_int_equal(rsdp, base); /* the RSDP comes first */
	return im;
}

/* --- Tests ----------------------------------------------------------------------------- */

static void test_rsdp_and_xsdt(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 8; n++) {
		struct image im = build(n, BASE);
		struct found f;
		walk(&im, &f);
		assert_int_equal(f.rsdp, BASE);
		assert_int_equal(f.xsdt_entries, 3);
		assert_int_equal(f.xsdt[8], 1);                 /* XSDT revision */
		assert_int_equal(rd32(at(&im, f.rsdp, 36) + 16), 0); /* no RSDT */
		free(im.buf);
	}
}

static void test_fadt(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 8; n++) {
		struct image im = build(n, BASE);
		struct found f;
		walk(&im, &f);
		const uint8_t *t = f.fadt;
		assert_int_equal(rd32(t + 4), 276);   /* revision 6 length */
		assert_int_equal(t[8], 6);            /* major version */
		/* The DSDT in both pointers, and the same for the FACS. */
		uint64_t dsdt = rd64(t + 140);
		assert_int_equal(rd32(t + 40), dsdt);
		assert_int_equal(rd32(t + 36), rd64(t + 132));
		assert_ptr_equal(at(&im, dsdt, 36), f.dsdt);
		assert_int_equal(rd16(t + 46), 9);    /* SCI_INT */
		assert_int_equal(rd32(t + 56), 0x600); /* PM1a_EVT_BLK */
		assert_int_equal(rd32(t + 64), 0x604); /* PM1a_CNT_BLK */
		assert_int_equal(t[88], 4);           /* PM1_EVT_LEN */
		assert_int_equal(t[89], 2);           /* PM1_CNT_LEN */
		assert_int_equal(t[108], 0x32);       /* CENTURY */
		uint32_t flags = rd32(t + 112);
		assert_true(flags & (1u << 10));      /* RESET_REG_SUP */
		assert_false(flags & (1u << 20));     /* not HW_REDUCED_ACPI */
		/* RESET_REG: System I/O, 8 bits, byte access, port 0xCF9; value 6. */
		assert_int_equal(t[116], 1);
		assert_int_equal(t[117], 8);
		assert_int_equal(t[118], 0);
		assert_int_equal(t[119], 1);
		assert_int_equal(rd64(t + 120), 0xCF9);
		assert_int_equal(t[128], 0x06);
		/* X_PM1a_EVT_BLK and X_PM1a_CNT_BLK agree with the 32-bit blocks. */
		assert_int_equal(t[148], 1);
		assert_int_equal(t[149], 32);
		assert_int_equal(rd64(t + 152), 0x600);
		assert_int_equal(t[172], 1);
		assert_int_equal(t[173], 16);
		assert_int_equal(rd64(t + 176), 0x604);
		/* The FACS: 64-byte aligned, signature and length. */
		assert_int_equal(rd64(t + 132) % 64, 0);
		assert_memory_equal(f.facs, "FACS", 4);
		assert_int_equal(rd32(f.facs + 4), 64);
		free(im.buf);
	}
}

static void test_madt(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 8; n++) {
		struct image im = build(n, BASE);
		struct found f;
		walk(&im, &f);
		const uint8_t *t = f.madt;
		uint32_t len = rd32(t + 4);
		assert_int_equal(rd32(t + 36), 0xFEE00000u);
		assert_int_equal(rd32(t + 40) & 1, 1);   /* PCAT_COMPAT */
		unsigned lapics = 0, ioapics = 0, nmis = 0;
		bool irq0 = false, irq9 = false;
		uint8_t seen_ids[256] = { 0 };
		size_t off = 44;
		while (off < len) {
			assert_true(off + 2 <= len);
			const uint8_t *e = t + off;
			assert_true(e[1] >= 2 && off + e[1] <= len);
			switch (e[0]) {
			case 0: /* Processor Local APIC */
				assert_int_equal(e[1], 8);
				assert_int_equal(rd32(e + 4) & 1, 1);       /* Enabled */
				assert_int_equal(seen_ids[e[3]]++, 0);      /* unique APIC IDs */
				assert_true(e[3] < n);
				lapics++;
				break;
			case 1: /* I/O APIC */
				assert_int_equal(e[1], 12);
				assert_int_equal(e[2], 0);
				assert_int_equal(rd32(e + 4), 0xFEC00000u);
				assert_int_equal(rd32(e + 8), 0);
				ioapics++;
				break;
			case 2: /* Interrupt Source Override */
				assert_int_equal(e[1], 10);
				assert_int_equal(e[2], 0);                  /* ISA */
				if (e[3] == 0) {
					assert_int_equal(rd32(e + 4), 2);
					assert_int_equal(rd16(e + 8), 0x5); /* edge, active high */
					irq0 = true;
				} else if (e[3] == 9) {
					assert_int_equal(rd32(e + 4), 9);
					assert_int_equal(rd16(e + 8), 0xD); /* level, active high */
					irq9 = true;
				} else {
					fail_msg("override of IRQ %u", e[3]);
				}
				break;
			case 4: /* Local APIC NMI */
				assert_int_equal(e[1], 6);
				assert_int_equal(e[2], 0xFF);               /* all processors */
				assert_int_equal(e[5], 1);                  /* LINT1 */
				nmis++;
				break;
			default:
				fail_msg("unexpected MADT entry type %u", e[0]);
			}
			off += e[1];
		}
		assert_int_equal(off, len);
		assert_int_equal(lapics, n);
		assert_int_equal(ioapics, 1);
		assert_int_equal(nmis, 1);
		assert_true(irq0 && irq9);
		free(im.buf);
	}
}

static void test_mcfg(void **state)
{
	(void)state;
	struct image im = build(2, BASE);
	struct found f;
	walk(&im, &f);
	const uint8_t *t = f.mcfg;
	assert_int_equal(rd32(t + 4), 60);            /* one allocation */
	assert_int_equal(rd64(t + 44), 0xB0000000ull);
	assert_int_equal(rd16(t + 52), 0);            /* segment */
	assert_int_equal(t[54], 0);                   /* start bus */
	assert_int_equal(t[55], 0);                   /* end bus */
	free(im.buf);
}

/* AML integer at p: ZeroOp, OneOp, or Byte/Word/DWordPrefix (ACPI 20.2.3). */
static uint64_t aml_int(const uint8_t *p, const uint8_t *end)
{
	assert_true(p < end);
	switch (p[0]) {
	case 0x00: return 0;
	case 0x01: return 1;
	case 0x0A: assert_true(p + 2 <= end); return p[1];
	case 0x0B: assert_true(p + 3 <= end); return rd16(p + 1);
	case 0x0C: assert_true(p + 5 <= end); return rd32(p + 1);
	}
	fail_msg("not an AML integer: %#x", p[0]);
	return 0;
}

static void test_dsdt_s5(void **state)
{
	(void)state;
	struct image im = build(1, BASE);
	struct found f;
	walk(&im, &f);
	const uint8_t *t = f.dsdt;
	uint32_t len = rd32(t + 4);
	assert_true(t[8] >= 2);
	const uint8_t *end = t + len;
	/* Find "_S5_" in the AML, preceded by NameOp. */
	const uint8_t *s5 = NULL;
	for (const uint8_t *p = t + 36; p + 4 <= end; p++)
		if (!memcmp(p, "_S5_", 4)) {
			s5 = p;
			break;
		}
	assert_non_null(s5);
	assert_int_equal(s5[-1], 0x08);                /* NameOp */
	const uint8_t *p = s5 + 4;
	assert_true(p + 3 <= end);
	assert_int_equal(p[0], 0x12);                  /* PackageOp */
	/* PkgLength: the top two bits count the extra length bytes. */
	unsigned extra = p[1] >> 6;
	size_t pkglen = extra ? (p[1] & 0x0F) : (p[1] & 0x3F);
	for (unsigned i = 0; i < extra; i++)
		pkglen |= (size_t)p[2 + i] << (4 + 8 * i);
	const uint8_t *pkg_end = p + 1 + pkglen;
	assert_true(pkg_end <= end);
	const uint8_t *q = p + 2 + extra;
	assert_int_equal(q[0], 4);                     /* NumElements */
	assert_int_equal(aml_int(q + 1, pkg_end), 5);  /* SLP_TYPa */
	free(im.buf);
}

/* The tables move with base: every pointer is a guest-physical address. */
static void test_bases(void **state)
{
	(void)state;
	static const uint64_t bases[] = { 0, 0x10, 0x7FFF0, 0xE0000, 0xF0010, 0x3FFF0000ull };
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		struct image im = build(4, bases[i]);
		struct found f;
		walk(&im, &f);
		assert_int_equal(rd64(f.fadt + 132) % 64, 0); /* FACS aligned in guest memory */
		free(im.buf);
	}
}

static void test_too_small(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 8; n++) {
		struct acpi_config cfg = { .base_gpa = BASE, .vcpus = n };
		size_t need = acpi_size(&cfg);
		assert_true(need > 0);
		for (size_t len = 0; len < need; len++) {
			uint8_t *buf = malloc(len ? len : 1);
			assert_non_null(buf);
			memset(buf, 0xa5, len ? len : 1);
			uint64_t rsdp = 0x1234;
			assert_int_equal(acpi_build(&cfg, buf, len, &rsdp), 0);
			assert_int_equal(rsdp, 0x1234);
			for (size_t j = 0; j < len; j++)
				assert_int_equal(buf[j], 0xa5);
			free(buf);
		}
	}
}

/* A larger buffer: the same bytes used, the rest untouched. */
static void test_larger_buffer(void **state)
{
	(void)state;
	struct acpi_config cfg = { .base_gpa = BASE, .vcpus = 3 };
	size_t need = acpi_size(&cfg);
	uint8_t *buf = malloc(need + 100);
	assert_non_null(buf);
	memset(buf, 0xa5, need + 100);
	uint64_t rsdp = 0;
	assert_int_equal(acpi_build(&cfg, buf, need + 100, &rsdp), need);
	for (size_t j = need; j < need + 100; j++)
		assert_int_equal(buf[j], 0xa5);
	free(buf);
}

static void test_refused_configs(void **state)
{
	(void)state;
	static const struct acpi_config bad[] = {
		{ .base_gpa = BASE, .vcpus = 0 },
		{ .base_gpa = BASE, .vcpus = ACPI_MAX_VCPUS + 1 },
		{ .base_gpa = BASE + 8, .vcpus = 1 },          /* RSDP not 16-byte aligned */
		{ .base_gpa = 0x100000000ull, .vcpus = 1 },    /* above 4 GiB */
		{ .base_gpa = 0xFFFFFF00ull, .vcpus = 1 },     /* would cross 4 GiB */
	};
	static uint8_t buf[16384];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t rsdp = 0x1234;
		assert_int_equal(acpi_size(&bad[i]), 0);
		assert_int_equal(acpi_build(&bad[i], buf, sizeof(buf), &rsdp), 0);
		assert_int_equal(rsdp, 0x1234);
	}
	struct acpi_config ok = { .base_gpa = BASE, .vcpus = 1 };
	uint64_t rsdp;
	assert_int_equal(acpi_size(NULL), 0);
	assert_int_equal(acpi_build(NULL, buf, sizeof(buf), &rsdp), 0);
	assert_int_equal(acpi_build(&ok, NULL, sizeof(buf), &rsdp), 0);
	assert_int_equal(acpi_build(&ok, buf, sizeof(buf), NULL), 0);
}

/* The most vCPUs there are xAPIC IDs for: every ID once. */
static void test_max_vcpus(void **state)
{
	(void)state;
	struct image im = build(ACPI_MAX_VCPUS, BASE);
	struct found f;
	walk(&im, &f);
	uint8_t seen[256] = { 0 };
	unsigned lapics = 0;
	uint32_t len = rd32(f.madt + 4);
	for (size_t off = 44; off < len; off += f.madt[off + 1])
		if (f.madt[off] == 0) {
			assert_int_equal(seen[f.madt[off + 3]]++, 0);
			lapics++;
		}
	assert_int_equal(lapics, ACPI_MAX_VCPUS);
	assert_int_equal(seen[0xFF], 0);
	free(im.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsdp_and_xsdt),
		cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt),
		cmocka_unit_test(test_mcfg),
		cmocka_unit_test(test_dsdt_s5),
		cmocka_unit_test(test_bases),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_larger_buffer),
		cmocka_unit_test(test_refused_configs),
		cmocka_unit_test(test_max_vcpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
