/* vm/aml.c: the AML byte encodings of ACPI 6.5 chapter 20, checked against
 * the bytes iasl emits for the same ASL (written out by hand below), and the
 * DSDT's PCI root bridge found the way an OS finds it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "vm/aml.h"
#include "vm/acpi.h"

static uint8_t buf[8192];

static struct aml fresh(void)
{
	memset(buf, 0xee, sizeof(buf));
	return (struct aml){ buf, 0, sizeof(buf), false };
}

static void test_integers(void **state)
{
	(void)state;
	struct aml a = fresh();
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 5);
	aml_integer(&a, 0x1234);
	aml_integer(&a, 0x0001ffff);
	aml_integer(&a, 0x100000000ULL);
	const uint8_t want[] = { 0x00, 0x01, 0x0a, 0x05, 0x0b, 0x34, 0x12, 0x0c, 0xff, 0xff, 0x01, 0x00,
				 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 };
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_names_and_eisaid(void **state)
{
	(void)state;
	struct aml a = fresh();
	aml_name(&a, "_HID");
	aml_name(&a, "\\_SB");
	aml_name(&a, "\\_SB.PCI0");
	aml_name(&a, "A.B.C");
	const uint8_t want[] = { '_', 'H', 'I', 'D', 0x5c, '_', 'S', 'B', '_', 0x5c, 0x2e, '_', 'S', 'B', '_',
				 'P', 'C', 'I', '0', 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_' };
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* iasl: EisaId ("PNP0A03") = 0x030AD041, EisaId ("PNP0A08") = 0x080AD041. */
	assert_int_equal(aml_eisaid("PNP0A03"), 0x030ad041);
	assert_int_equal(aml_eisaid("PNP0A08"), 0x080ad041);
	assert_int_equal(aml_eisaid("PNP0C0f"), 0x0f0cd041);
}

/* PkgLength: one byte up to 63 (counting itself), then a lead byte with the
 * low nibble and 1-3 more bytes (20.2.4). */
static void test_pkglength(void **state)
{
	(void)state;
	struct aml a = fresh();
	aml_byte(&a, AML_PACKAGE_OP);
	size_t s = aml_open(&a);
	for (int i = 0; i < 62; i++)
		aml_byte(&a, 0x11);
	aml_close(&a, s);
	assert_int_equal(a.len, 1 + 1 + 62);
	assert_int_equal(buf[1], 63);
	assert_int_equal(buf[2], 0x11);

	a = fresh();
	s = aml_open(&a);
	for (int i = 0; i < 63; i++)
		aml_byte(&a, (uint8_t)i);
	aml_close(&a, s);
	/* 63 + 2 = 65 = 0x41: lead 0x40 | 0x1, then 0x41 >> 4 = 0x04. */
	assert_int_equal(a.len, 65);
	assert_int_equal(buf[0], 0x41);
	assert_int_equal(buf[1], 0x04);
	assert_int_equal(buf[2], 0);
	assert_int_equal(buf[64], 62);

	a = fresh();
	s = aml_open(&a);
	for (int i = 0; i < 5000; i++)
		aml_byte(&a, 0x22);
	aml_close(&a, s);
	/* 5000 + 3 = 5003 = 0x138b: lead 0x80 | 0xb, 0x38, 0x01. */
	assert_int_equal(a.len, 5003);
	assert_int_equal(buf[0], 0x8b);
	assert_int_equal(buf[1], 0x38);
	assert_int_equal(buf[2], 0x01);

	/* Counting mode writes nothing and gives the same length. */
	struct aml c = { NULL, 0, 0, false };
	s = aml_open(&c);
	for (int i = 0; i < 5000; i++)
		aml_byte(&c, 0x22);
	aml_close(&c, s);
	assert_int_equal(c.len, 5003);

	/* Too small a buffer: overflow, never a write past it. */
	uint8_t small[4] = { 0 };
	struct aml o = { small, 0, 3, false };
	aml_bytes(&o, "abcd", 4);
	assert_true(o.overflow);
}

/* The DSDT of a VM with PCI: \_SB.PCI0 with the PCI Express root bridge
 * IDs, its memory window in _CRS and INTx routing in _PRT. */
static const uint8_t *find(const uint8_t *p, const uint8_t *end, const void *what, size_t n)
{
	for (; p + n <= end; p++)
		if (!memcmp(p, what, n))
			return p;
	return NULL;
}

static void test_dsdt_pci_root(void **state)
{
	(void)state;
	static uint8_t t[65536];
	uint64_t rsdp;
	struct acpi_config c = { .base_gpa = 0xe0000, .vcpus = 1, .pci_mem_base = 0xc0000000,
				 .pci_mem_size = 0x20000000, .pci_gsi_base = 16 };
	size_t n = acpi_build(&c, t, sizeof(t), &rsdp);
	assert_true(n > 0);
	const uint8_t *d = find(t, t + n, "DSDT", 4);
	assert_non_null(d);
	uint32_t len;
	memcpy(&len, d + 4, 4);
	const uint8_t *end = d + len;
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + d[i]);
	assert_int_equal(sum, 0);

	const uint8_t dev[] = { 0x5b, 0x82 };
	const uint8_t *dv = find(d + 36, end, dev, 2);
	assert_non_null(dv);
	assert_non_null(find(dv, end, "PCI0", 4));
	const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x08 };
	const uint8_t cid[] = { 0x08, '_', 'C', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	assert_non_null(find(dv, end, hid, sizeof(hid)));
	assert_non_null(find(dv, end, cid, sizeof(cid)));
	/* DWordMemory: min 0xC0000000, max 0xDFFFFFFF, length 0x20000000. */
	const uint8_t mem[] = { 0x87, 23, 0, 0, 0x0c, 0x01, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff, 0xff, 0xdf };
	assert_non_null(find(dv, end, mem, sizeof(mem)));
	/* _PRT: 124 entries; slot 2 INTA -> GSI 18, slot 3 INTD -> GSI 18 too. */
	const uint8_t *prt = find(dv, end, "_PRT", 4);
	assert_non_null(prt);
	const uint8_t e2a[] = { 0x04, 0x0c, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x0a, 18 };
	const uint8_t e3d[] = { 0x04, 0x0c, 0xff, 0xff, 0x03, 0x00, 0x0a, 0x03, 0x00, 0x0a, 18 };
	assert_non_null(find(prt, end, e2a, sizeof(e2a)));
	assert_non_null(find(prt, end, e3d, sizeof(e3d)));

	/* Without a PCI window the DSDT holds \_S5 only. */
	struct acpi_config bare = { .base_gpa = 0xe0000, .vcpus = 1 };
	n = acpi_build(&bare, t, sizeof(t), &rsdp);
	d = find(t, t + n, "DSDT", 4);
	memcpy(&len, d + 4, 4);
	assert_null(find(d + 36, d + len, "PCI0", 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_names_and_eisaid),
		cmocka_unit_test(test_pkglength),
		cmocka_unit_test(test_dsdt_pci_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
