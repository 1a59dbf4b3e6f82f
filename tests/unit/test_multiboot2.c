/* boot/multiboot2.c: parsing the Multiboot2 boot information block. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/multiboot2.h"

/* --- Building information blocks ----------------------------------------- */

struct mb {
	uint64_t buf[1024]; /* 8-byte aligned, as the loader places the block */
	uint32_t len;
};

static uint8_t *mb_bytes(struct mb *m)
{
	return (uint8_t *)m->buf;
}

static void mb_put(struct mb *m, const void *p, size_t n)
{
	assert_true(m->len + n <= sizeof(m->buf));
	memcpy(mb_bytes(m) + m->len, p, n);
	m->len += (uint32_t)n;
}

static void mb_put32(struct mb *m, uint32_t v) { mb_put(m, &v, 4); }
static void mb_put64(struct mb *m, uint64_t v) { mb_put(m, &v, 8); }

static void mb_pad8(struct mb *m)
{
	while (m->len & 7)
		mb_put(m, "", 1);
}

static void mb_set32(struct mb *m, uint32_t off, uint32_t v)
{
	memcpy(mb_bytes(m) + off, &v, 4);
}

static void mb_begin(struct mb *m)
{
	memset(m, 0, sizeof(*m));
	m->len = 8; /* total_size, reserved */
}

static uint32_t mb_tag_begin(struct mb *m, uint32_t type)
{
	uint32_t off = m->len;
	mb_put32(m, type);
	mb_put32(m, 0);
	return off;
}

/* Patch the tag's size to what was written since mb_tag_begin, then pad. */
static void mb_tag_end(struct mb *m, uint32_t off)
{
	mb_set32(m, off + 4, m->len - off);
	mb_pad8(m);
}

static void mb_string_tag(struct mb *m, uint32_t type, const char *s)
{
	uint32_t off = mb_tag_begin(m, type);
	mb_put(m, s, strlen(s) + 1);
	mb_tag_end(m, off);
}

static void mb_module(struct mb *m, uint32_t start, uint32_t end, const char *s)
{
	uint32_t off = mb_tag_begin(m, MB2_TAG_MODULE);
	mb_put32(m, start);
	mb_put32(m, end);
	mb_put(m, s, strlen(s) + 1);
	mb_tag_end(m, off);
}

static void mb_meminfo(struct mb *m, uint32_t lower, uint32_t upper)
{
	uint32_t off = mb_tag_begin(m, MB2_TAG_BASIC_MEMINFO);
	mb_put32(m, lower);
	mb_put32(m, upper);
	mb_tag_end(m, off);
}

static void mb_mmap(struct mb *m, uint32_t entry_size, const struct mb2_mmap_entry *e, unsigned n)
{
	uint32_t off = mb_tag_begin(m, MB2_TAG_MMAP);
	mb_put32(m, entry_size);
	mb_put32(m, 0);
	for (unsigned i = 0; i < n; i++) {
		uint32_t start = m->len;
		mb_put64(m, e[i].base);
		mb_put64(m, e[i].length);
		mb_put32(m, e[i].type);
		while (m->len < start + entry_size)
			mb_put(m, "\xee", 1); /* reserved field and any extension */
	}
	mb_tag_end(m, off);
}

static void mb_raw_tag(struct mb *m, uint32_t type, const void *payload, uint32_t n)
{
	uint32_t off = mb_tag_begin(m, type);
	mb_put(m, payload, n);
	mb_tag_end(m, off);
}

static void mb_end_tag(struct mb *m)
{
	mb_put32(m, MB2_TAG_END);
	mb_put32(m, 8);
}

/* Set total_size to what was written. */
static void mb_seal(struct mb *m)
{
	mb_set32(m, 0, m->len);
}

static void mb_finish(struct mb *m)
{
	mb_end_tag(m);
	mb_seal(m);
}

/* Parse a copy in a heap buffer of exactly total_size bytes, so any read
 * outside the block is caught by AddressSanitizer. The caller frees *copy. */
static const char *parse_exact(const struct mb *m, struct boot_info *bi, uint8_t **copy)
{
	uint32_t total;
	memcpy(&total, m->buf, 4);
	size_t n = total < 8 ? 8 : total;
	*copy = malloc(n);
	assert_non_null(*copy);
	memcpy(*copy, m->buf, n);
	return mb2_parse(*copy, 0x10000, bi);
}

static bool inside(const void *p, const uint8_t *base, size_t len)
{
	return (const uint8_t *)p >= base && (const uint8_t *)p < base + len;
}

static void assert_refused(const char *err, const char *words)
{
	assert_non_null(err);
	if (!strstr(err, words))
		fail_msg("refused with '%s', expected a message containing '%s'", err, words);
}

/* Parse m (sealed) expecting refusal with a message containing words. */
static void expect_refused(struct mb *m, const char *words)
{
	struct boot_info bi;
	uint8_t *copy;
	assert_refused(parse_exact(m, &bi, &copy), words);
	free(copy);
}

static const struct mb2_mmap_entry demo_mmap[] = {
	{ 0, 0x9fc00, MB2_MEMORY_AVAILABLE },
	{ 0xf0000, 0x10000, MB2_MEMORY_RESERVED },
	{ 0x100000, 0x7ee0000, MB2_MEMORY_AVAILABLE },
	{ 0xfffc0000, 0x40000, MB2_MEMORY_NVS },
};

static void build_full(struct mb *m)
{
	static const uint8_t rsdp[20] = "RSD PTR \x42OEMID\x01";
	mb_begin(m);
	mb_string_tag(m, MB2_TAG_CMDLINE, "loglevel=debug");
	mb_string_tag(m, MB2_TAG_BOOT_LOADER_NAME, "GRUB 2.06");
	mb_module(m, 0x200000, 0x201234, "name=basic mem=32M");
	mb_module(m, 0x300000, 0x300000, ""); /* empty module, empty string */
	mb_meminfo(m, 639, 129920);
	mb_mmap(m, 24, demo_mmap, 4);
	mb_raw_tag(m, MB2_TAG_ACPI_OLD, rsdp, sizeof(rsdp));
	mb_finish(m);
}

/* --- Valid blocks ----------------------------------------------------------- */

static void test_full_block_parsed(void **state)
{
	(void)state;
	struct mb m;
	struct boot_info bi;
	uint8_t *copy;
	build_full(&m);
	assert_null(parse_exact(&m, &bi, &copy));

	assert_int_equal(bi.info_addr, 0x10000);
	assert_int_equal(bi.info_size, m.len);
	assert_string_equal(bi.cmdline, "loglevel=debug");
	assert_string_equal(bi.loader_name, "GRUB 2.06");
	assert_true(inside(bi.cmdline, copy, m.len));
	assert_true(inside(bi.loader_name, copy, m.len));

	assert_int_equal(bi.module_count, 2);
	assert_int_equal(bi.modules_dropped, 0);
	assert_int_equal(bi.modules[0].start, 0x200000);
	assert_int_equal(bi.modules[0].end, 0x201234);
	assert_string_equal(bi.modules[0].string, "name=basic mem=32M");
	assert_true(inside(bi.modules[0].string, copy, m.len));
	assert_int_equal(bi.modules[1].start, 0x300000);
	assert_int_equal(bi.modules[1].end, 0x300000);
	assert_string_equal(bi.modules[1].string, "");

	assert_int_equal(bi.mem_lower_kib, 639);
	assert_int_equal(bi.mem_upper_kib, 129920);

	assert_int_equal(bi.mmap_count, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(bi.mmap[i].base, demo_mmap[i].base);
		assert_int_equal(bi.mmap[i].length, demo_mmap[i].length);
		assert_int_equal(bi.mmap[i].type, demo_mmap[i].type);
	}

	assert_non_null(bi.rsdp);
	assert_true(inside(bi.rsdp, copy, m.len));
	assert_memory_equal(bi.rsdp, "RSD PTR ", 8);
	assert_int_equal(bi.rsdp_revision, 1);
	assert_int_equal(bi.rsdp_len, 20);
	free(copy);
}

static void test_minimal_block(void **state)
{
	(void)state;
	struct mb m;
	struct boot_info bi;
	uint8_t *copy;
	mb_begin(&m);
	mb_finish(&m);
	assert_int_equal(m.len, 16);
	assert_null(parse_exact(&m, &bi, &copy));
	assert_null(bi.cmdline);
	assert_null(bi.loader_name);
	assert_null(bi.rsdp);
	assert_int_equal(bi.module_count, 0);
	assert_int_equal(bi.mmap_count, 0);
	assert_int_equal(bi.info_size, 16);
	free(copy);
}

static void test_acpi_new_rsdp(void **state)
{
	(void)state;
	uint8_t rsdp[36] = "RSD PTR ";
	rsdp[15] = 2; /* revision */
	struct mb m;
	struct boot_info bi;
	uint8_t *copy;
	mb_begin(&m);
	mb_raw_tag(&m, MB2_TAG_ACPI_NEW, rsdp, sizeof(rsdp));
	mb_finish(&m);
	assert_null(parse_exact(&m, &bi, &copy));
	assert_int_equal(bi.rsdp_revision, 2);
	assert_int_equal(bi.rsdp_len, 36);
	assert_memory_equal(bi.rsdp, rsdp, sizeof(rsdp));
	free(copy);
}

static void test_unknown_tags_skipped(void **state)
{
	(void)state;
	static const uint8_t junk[13] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
	struct mb m;
	struct boot_info bi;
	uint8_t *copy;
	mb_begin(&m);
	mb_raw_tag(&m, 21, junk, sizeof(junk));  /* image load base */
	mb_raw_tag(&m, 999, junk, 0);            /* unknown, header only */
	mb_string_tag(&m, MB2_TAG_CMDLINE, "a"); /* size 10: padded to 16 */
	mb_raw_tag(&m, 8, junk, 5);              /* framebuffer, odd size */
	mb_string_tag(&m, MB2_TAG_BOOT_LOADER_NAME, "x");
	mb_finish(&m);
	assert_null(parse_exact(&m, &bi, &copy));
	assert_string_equal(bi.cmdline, "a");
	assert_string_equal(bi.loader_name, "x");
	free(copy);
}

static void test_tags_after_end_ignored(void **state)
{
	(void)state;
	struct mb m;
	struct boot_info bi;
	uint8_t *copy;
	mb_begin(&m);
	mb_string_tag(&m, MB2_TAG_CMDLINE, "first");
	mb_end_tag(&m);
	mb_string_tag(&m, MB2_TAG_BOOT_LOADER_NAME, "after the end");
	mb_seal(&m);
	assert_null(parse_exact(&m, &bi, &copy));
	assert_string_equal(bi.cmdline, "first");
	assert_null(bi.loader_name);
	free(copy);
}

static void test_mmap_larger_entry_size(void **state)
{
	(void)state;
	struct mb m;
	struct boot_info bi;
	uint8_t *copy;
	mb_begin(&m);
	mb_mmap(&m, 40, demo_mmap, 3); /* a future, larger entry format */
	mb_finish(&m);
	assert_null(parse_exact(&m, &bi, &copy));
	assert_int_equal(bi.mmap_count, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(bi.mmap[i].base, demo_mmap[i].base);
		assert_int_equal(bi.mmap[i].length, demo_mmap[i].length);
		assert_int_equal(bi.mmap[i].type, demo_mmap[i].type);
	}
	free(copy);
}

static void test_mmap_max_entries(void **state)
{
	(void)state;
	struct mb2_mmap_entry e[MB2_MAX_MMAP + 1];
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++)
		e[i] = (struct mb2_mmap_entry){ i * 0x1000ULL, 0x1000, MB2_MEMORY_AVAILABLE };
	struct mb m;
	struct boot_info bi;
	uint8_t *copy;

	mb_begin(&m);
	mb_mmap(&m, 24, e, MB2_MAX_MMAP);
	mb_finish(&m);
	assert_null(parse_exact(&m, &bi, &copy));
	assert_int_equal(bi.mmap_count, MB2_MAX_MMAP);
	assert_int_equal(bi.mmap[MB2_MAX_MMAP - 1].base, (MB2_MAX_MMAP - 1) * 0x1000ULL);
	free(copy);

	mb_begin(&m);
	mb_mmap(&m, 24, e, MB2_MAX_MMAP + 1);
	mb_finish(&m);
	expect_refused(&m, "too many entries");
}

static void test_too_many_modules_dropped(void **state)
{
	(void)state;
	struct mb m;
	struct boot_info bi;
	uint8_t *copy;
	char s[16];
	mb_begin(&m);
	for (unsigned i = 0; i < MB2_MAX_MODULES + 4; i++) {
		snprintf(s, sizeof(s), "m%u", i);
		mb_module(&m, 0x100000 * (i + 1), 0x100000 * (i + 1) + 0x1000, s);
	}
	mb_finish(&m);
	assert_null(parse_exact(&m, &bi, &copy));
	assert_int_equal(bi.module_count, MB2_MAX_MODULES);
	assert_int_equal(bi.modules_dropped, 4);
	for (unsigned i = 0; i < MB2_MAX_MODULES; i++) {
		snprintf(s, sizeof(s), "m%u", i);
		assert_string_equal(bi.modules[i].string, s);
		assert_int_equal(bi.modules[i].start, 0x100000 * (i + 1));
	}
	free(copy);
}

static void test_memory_type_names(void **state)
{
	(void)state;
	assert_string_equal(mb2_memory_type_name(MB2_MEMORY_AVAILABLE), "available");
	assert_string_equal(mb2_memory_type_name(MB2_MEMORY_RESERVED), "reserved");
	assert_string_equal(mb2_memory_type_name(MB2_MEMORY_ACPI_RECLAIMABLE), "ACPI reclaimable");
	assert_string_equal(mb2_memory_type_name(MB2_MEMORY_NVS), "ACPI NVS");
	assert_string_equal(mb2_memory_type_name(MB2_MEMORY_BADRAM), "bad RAM");
	assert_string_equal(mb2_memory_type_name(0), "unknown");
	assert_string_equal(mb2_memory_type_name(6), "unknown");
}

/* --- Malformed blocks ------------------------------------------------------- */

static void test_refuse_unaligned(void **state)
{
	(void)state;
	struct mb m;
	struct boot_info bi;
	build_full(&m);
	/* The same block, 4 bytes further on. */
	uint8_t *p = malloc(m.len + 8);
	assert_non_null(p);
	memcpy(p + 4, m.buf, m.len);
	assert_refused(mb2_parse(p + 4, 0x10004, &bi), "aligned");
	memcpy(p, m.buf, m.len);
	assert_null(mb2_parse(p, 0x10000, &bi));
	free(p);
}

static void test_refuse_small_total(void **state)
{
	(void)state;
	struct mb m;
	for (uint32_t total = 0; total < 16; total++) {
		mb_begin(&m);
		mb_finish(&m);
		mb_set32(&m, 0, total);
		expect_refused(&m, "total_size");
	}
}

static void test_refuse_tag_smaller_than_header(void **state)
{
	(void)state;
	for (uint32_t size = 0; size < 8; size++) {
		struct mb m;
		mb_begin(&m);
		uint32_t off = mb_tag_begin(&m, MB2_TAG_CMDLINE);
		mb_put64(&m, 0);
		mb_set32(&m, off + 4, size);
		mb_finish(&m);
		expect_refused(&m, "smaller than its 8-byte header");
	}
	/* An end tag claiming 4 bytes is no end tag either. */
	struct mb m;
	mb_begin(&m);
	mb_put32(&m, MB2_TAG_END);
	mb_put32(&m, 4);
	mb_seal(&m);
	expect_refused(&m, "smaller than its 8-byte header");
}

static void test_refuse_tag_past_total(void **state)
{
	(void)state;
	struct mb m;
	mb_begin(&m);
	uint32_t off = mb_tag_begin(&m, 77);
	mb_put64(&m, 0);
	mb_tag_end(&m, off);
	mb_finish(&m);
	/* The tag claims one byte more than lies between it and the end. */
	mb_set32(&m, off + 4, m.len - off + 1);
	expect_refused(&m, "runs past");
	/* Exactly to the end is fine size-wise, but then there is no end tag. */
	mb_set32(&m, off + 4, m.len - off);
	expect_refused(&m, "no end tag");
	/* A huge size must not wrap the offset arithmetic. */
	mb_set32(&m, off + 4, 0xfffffff8u);
	expect_refused(&m, "runs past");
}

static void test_refuse_missing_end_tag(void **state)
{
	(void)state;
	struct mb m;
	mb_begin(&m);
	mb_string_tag(&m, MB2_TAG_CMDLINE, "no end");
	mb_seal(&m);
	expect_refused(&m, "no end tag");

	/* The end tag exists but lies beyond total_size. */
	mb_begin(&m);
	mb_string_tag(&m, MB2_TAG_CMDLINE, "cut");
	uint32_t before_end = m.len;
	mb_end_tag(&m);
	mb_set32(&m, 0, before_end + 4); /* half the end tag */
	expect_refused(&m, "no end tag");
}

static void unterminated_string_tag(uint32_t type, const char *words)
{
	struct mb m;
	mb_begin(&m);
	uint32_t off = mb_tag_begin(&m, type);
	mb_put(&m, "ABCDEFGH", 8); /* no NUL inside the tag */
	mb_set32(&m, off + 4, m.len - off);
	mb_pad8(&m);
	mb_finish(&m);
	expect_refused(&m, words);

	/* A tag with no room for a string at all. */
	mb_begin(&m);
	off = mb_tag_begin(&m, type);
	mb_set32(&m, off + 4, 8);
	mb_finish(&m);
	expect_refused(&m, words);

	/* The NUL lies in the padding after the tag, outside its size. */
	mb_begin(&m);
	off = mb_tag_begin(&m, type);
	mb_put(&m, "ABC", 3);
	mb_set32(&m, off + 4, m.len - off);
	mb_pad8(&m); /* zero bytes */
	mb_finish(&m);
	expect_refused(&m, words);
}

static void test_refuse_unterminated_strings(void **state)
{
	(void)state;
	unterminated_string_tag(MB2_TAG_CMDLINE, "command line is not NUL-terminated");
	unterminated_string_tag(MB2_TAG_BOOT_LOADER_NAME, "boot loader name is not NUL-terminated");

	struct mb m;
	mb_begin(&m);
	uint32_t off = mb_tag_begin(&m, MB2_TAG_MODULE);
	mb_put32(&m, 0x1000);
	mb_put32(&m, 0x2000);
	mb_put(&m, "path", 4);
	mb_set32(&m, off + 4, m.len - off);
	mb_pad8(&m);
	mb_finish(&m);
	expect_refused(&m, "module string is not NUL-terminated");
}

static void test_refuse_module_end_before_start(void **state)
{
	(void)state;
	struct mb m;
	mb_begin(&m);
	mb_module(&m, 0x200000, 0x1fffff, "backwards");
	mb_finish(&m);
	expect_refused(&m, "module ends before it starts");
}

static void test_refuse_short_fixed_tags(void **state)
{
	(void)state;
	static const uint8_t z[40];
	struct mb m;

	mb_begin(&m);
	mb_raw_tag(&m, MB2_TAG_MODULE, z, 8); /* start, end, but no string */
	mb_finish(&m);
	expect_refused(&m, "module tag is too short");

	mb_begin(&m);
	mb_raw_tag(&m, MB2_TAG_BASIC_MEMINFO, z, 7);
	mb_finish(&m);
	expect_refused(&m, "basic memory information tag is too short");

	mb_begin(&m);
	mb_raw_tag(&m, MB2_TAG_MMAP, z, 4); /* no entry_version */
	mb_finish(&m);
	expect_refused(&m, "memory map tag is too short");

	mb_begin(&m);
	mb_raw_tag(&m, MB2_TAG_ACPI_OLD, z, 19);
	mb_finish(&m);
	expect_refused(&m, "ACPI RSDP tag is too short");

	/* The ACPI 2.0 RSDP is 36 bytes: a 20-byte copy is not one. */
	mb_begin(&m);
	mb_raw_tag(&m, MB2_TAG_ACPI_NEW, z, 20);
	mb_finish(&m);
	expect_refused(&m, "ACPI RSDP tag is too short");
}

static void test_refuse_mmap_entry_size(void **state)
{
	(void)state;
	static const uint32_t bad[] = { 0, 8, 16, 20, 23, 25, 28, 30, 33 };
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		struct mb m;
		mb_begin(&m);
		uint32_t off = mb_tag_begin(&m, MB2_TAG_MMAP);
		mb_put32(&m, bad[i]);
		mb_put32(&m, 0);
		for (unsigned j = 0; j < 64; j++)
			mb_put(&m, "", 1);
		mb_tag_end(&m, off);
		mb_finish(&m);
		expect_refused(&m, "memory map entry size is invalid");
	}
}

static void test_refuse_mmap_wrapping_entry(void **state)
{
	(void)state;
	const struct mb2_mmap_entry e[] = {
		{ 0x100000, 0x100000, MB2_MEMORY_AVAILABLE },
		{ 0xfffffffffffff000ULL, 0x2000, MB2_MEMORY_RESERVED },
	};
	struct mb m;
	mb_begin(&m);
	mb_mmap(&m, 24, e, 2);
	mb_finish(&m);
	expect_refused(&m, "wraps around");
}

/* --- Robustness ------------------------------------------------------------- */

static void check_consistent(const struct boot_info *bi, const uint8_t *copy, uint32_t total)
{
	assert_true(bi->module_count <= MB2_MAX_MODULES);
	assert_true(bi->mmap_count <= MB2_MAX_MMAP);
	if (bi->cmdline)
		assert_true(inside(bi->cmdline, copy, total) &&
			    inside(bi->cmdline + strlen(bi->cmdline), copy, total));
	if (bi->loader_name)
		assert_true(inside(bi->loader_name, copy, total) &&
			    inside(bi->loader_name + strlen(bi->loader_name), copy, total));
	for (unsigned i = 0; i < bi->module_count; i++) {
		assert_true(bi->modules[i].start <= bi->modules[i].end);
		assert_true(inside(bi->modules[i].string, copy, total));
		assert_true(inside(bi->modules[i].string + strlen(bi->modules[i].string), copy,
				   total));
	}
	if (bi->rsdp)
		assert_true(inside(bi->rsdp, copy, total) &&
			    inside((const uint8_t *)bi->rsdp + 19, copy, total));
}

/* total_size cut at every length: only lengths that still hold the end tag
 * parse, and no length reads outside the block. */
static void test_truncated_at_every_length(void **state)
{
	(void)state;
	struct mb m;
	build_full(&m);
	uint32_t full = m.len;
	for (uint32_t total = 0; total <= full; total++) {
		struct boot_info bi;
		uint8_t *copy;
		mb_set32(&m, 0, total);
		const char *err = parse_exact(&m, &bi, &copy);
		if (total == full) {
			assert_null(err);
			check_consistent(&bi, copy, total);
		} else {
			assert_non_null(err);
		}
		free(copy);
	}
}

/* Random corruption of a valid block (fixed seed): whatever is accepted is
 * consistent, and nothing reads outside the block. */
static void test_random_corruption(void **state)
{
	(void)state;
	struct mb good;
	build_full(&good);
	uint32_t seed = 12345;
	unsigned accepted = 0;
	for (unsigned iter = 0; iter < 20000; iter++) {
		struct mb m = good;
		unsigned flips = 1 + iter % 4;
		for (unsigned f = 0; f < flips; f++) {
			seed = seed * 1103515245u + 12345u;
			uint32_t pos = (seed >> 8) % good.len;
			seed = seed * 1103515245u + 12345u;
			mb_bytes(&m)[pos] = (uint8_t)(seed >> 16);
		}
		struct boot_info bi;
		uint8_t *copy;
		uint32_t total;
		memcpy(&total, m.buf, 4);
		if (total > sizeof(m.buf))
			continue; /* would describe more than the buffer holds */
		if (!parse_exact(&m, &bi, &copy)) {
			accepted++;
			check_consistent(&bi, copy, total);
		}
		free(copy);
	}
	assert_true(accepted > 0); /* flips in string bytes keep it valid */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_block_parsed),
		cmocka_unit_test(test_minimal_block),
		cmocka_unit_test(test_acpi_new_rsdp),
		cmocka_unit_test(test_unknown_tags_skipped),
		cmocka_unit_test(test_tags_after_end_ignored),
		cmocka_unit_test(test_mmap_larger_entry_size),
		cmocka_unit_test(test_mmap_max_entries),
		cmocka_unit_test(test_too_many_modules_dropped),
		cmocka_unit_test(test_memory_type_names),
		cmocka_unit_test(test_refuse_unaligned),
		cmocka_unit_test(test_refuse_small_total),
		cmocka_unit_test(test_refuse_tag_smaller_than_header),
		cmocka_unit_test(test_refuse_tag_past_total),
		cmocka_unit_test(test_refuse_missing_end_tag),
		cmocka_unit_test(test_refuse_unterminated_strings),
		cmocka_unit_test(test_refuse_module_end_before_start),
		cmocka_unit_test(test_refuse_short_fixed_tags),
		cmocka_unit_test(test_refuse_mmap_entry_size),
		cmocka_unit_test(test_refuse_mmap_wrapping_entry),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_random_corruption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
