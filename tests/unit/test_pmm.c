/* arch/x86/pmm.c: the physical page allocator and how it is built from the
 * boot information. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/pmm.h"

#define LIMIT MiB(64)
#define NPAGES (LIMIT / PAGE_SIZE)

/* --- A machine: memory map, image, boot information, modules --------------- */

#define IMAGE_START 0x200000ULL
#define IMAGE_END 0x345678ULL /* not page aligned: its last page is in use too */
#define INFO_ADDR 0x400100ULL
#define INFO_SIZE 0x2345ULL

static const struct mb2_mmap_entry machine_mmap[] = {
	{ 0, 0x9fc00, MB2_MEMORY_AVAILABLE },
	{ 0xf0000, 0x10000, MB2_MEMORY_RESERVED },
	{ 0x100000, 0x2f00000, MB2_MEMORY_AVAILABLE },          /* 1 MiB .. 48 MiB */
	{ 0x2000000, 0x100000, MB2_MEMORY_RESERVED },           /* a hole inside it */
	{ 0x1234800, 0x800, MB2_MEMORY_BADRAM },                /* half a page, inside it */
	{ 0x3000800, 0x1000000 - 0x800, MB2_MEMORY_AVAILABLE }, /* starts mid-page */
	{ 0x3f00000, 0x1800, MB2_MEMORY_ACPI_RECLAIMABLE },     /* ends mid-page */
	{ 0x3e00000, 0x80000, MB2_MEMORY_AVAILABLE },           /* repeats part of the above */
	{ 0x5000000, 0x1000000, MB2_MEMORY_AVAILABLE },         /* above the limit */
	{ 0x3ff0000, 0x10001, MB2_MEMORY_NVS },                 /* crosses the limit */
};

static const struct mb2_module machine_modules[] = {
	{ 0x800000, 0x900001, "guest a" }, /* one byte into the next page */
	{ 0xa00800, 0xa00900, "guest b" }, /* inside one page */
	{ 0xb00000, 0xb00000, "empty" },   /* nothing */
};

static void machine_boot_info(struct boot_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	bi->info_addr = INFO_ADDR;
	bi->info_size = INFO_SIZE;
	memcpy(bi->mmap, machine_mmap, sizeof(machine_mmap));
	bi->mmap_count = ARRAY_SIZE(machine_mmap);
	memcpy(bi->modules, machine_modules, sizeof(machine_modules));
	bi->module_count = ARRAY_SIZE(machine_modules);
}

static bool touches(uint64_t page, uint64_t base, uint64_t len)
{
	return ranges_overlap(page, PAGE_SIZE, base, len);
}

/* Independently of pmm.c: may this page ever be handed out? */
static bool page_allowed(const struct boot_info *bi, uint64_t page)
{
	if (page < MiB(1) || page >= LIMIT)
		return false;
	bool available = false;
	for (unsigned i = 0; i < bi->mmap_count; i++) {
		const struct mb2_mmap_entry *m = &bi->mmap[i];
		if (m->type == MB2_MEMORY_AVAILABLE) {
			if (m->base <= page && page + PAGE_SIZE <= m->base + m->length)
				available = true;
		} else if (touches(page, m->base, m->length)) {
			return false;
		}
	}
	if (!available || touches(page, IMAGE_START, IMAGE_END - IMAGE_START) ||
	    touches(page, bi->info_addr, bi->info_size))
		return false;
	for (unsigned i = 0; i < bi->module_count; i++)
		if (touches(page, bi->modules[i].start, bi->modules[i].end - bi->modules[i].start))
			return false;
	return true;
}

struct fixture {
	struct boot_info bi;
	uint64_t *bitmap;
	struct pmm pmm;
	bool allowed[NPAGES];
	uint64_t allowed_count;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	machine_boot_info(&f->bi);
	/* Exactly the bitmap's size, so an overrun is caught. */
	f->bitmap = malloc(NPAGES / 64 * sizeof(uint64_t));
	if (!f->bitmap)
		return -1;
	pmm_init_from_boot(&f->pmm, f->bitmap, LIMIT, &f->bi, IMAGE_START, IMAGE_END);
	for (uint64_t i = 0; i < NPAGES; i++) {
		f->allowed[i] = page_allowed(&f->bi, i * PAGE_SIZE);
		f->allowed_count += f->allowed[i];
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->bitmap);
	free(f);
	return 0;
}

/* --- From the boot information ------------------------------------------------ */

static void test_free_pages_match_the_map(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(f->pmm.npages, NPAGES);
	assert_true(f->allowed_count > 8000); /* the reference itself is sane */
	assert_int_equal(f->pmm.free_pages, f->allowed_count);
	for (uint64_t i = 0; i < NPAGES; i++)
		if (pmm_page_is_free(&f->pmm, i * PAGE_SIZE) != f->allowed[i])
			fail_msg("page 0x%llx: free %d, expected %d",
				 (unsigned long long)(i * PAGE_SIZE),
				 pmm_page_is_free(&f->pmm, i * PAGE_SIZE), f->allowed[i]);
}

static void test_specific_pages(void **state)
{
	struct fixture *f = *state;
	struct pmm *p = &f->pmm;
	assert_false(pmm_page_is_free(p, 0));
	assert_false(pmm_page_is_free(p, 0x1000));            /* low 1 MiB */
	assert_false(pmm_page_is_free(p, 0xff000));
	assert_true(pmm_page_is_free(p, 0x100000));           /* first above 1 MiB */
	assert_false(pmm_page_is_free(p, IMAGE_START));
	assert_false(pmm_page_is_free(p, 0x345000));          /* image's partial last page */
	assert_true(pmm_page_is_free(p, 0x346000));
	assert_true(pmm_page_is_free(p, 0x3ff000));
	assert_false(pmm_page_is_free(p, 0x400000));          /* boot information */
	assert_false(pmm_page_is_free(p, 0x402000));
	assert_true(pmm_page_is_free(p, 0x403000));
	assert_false(pmm_page_is_free(p, 0x900000));          /* module a's last byte */
	assert_true(pmm_page_is_free(p, 0x901000));
	assert_false(pmm_page_is_free(p, 0xa00000));          /* module b */
	assert_true(pmm_page_is_free(p, 0xb00000));           /* the empty module */
	assert_false(pmm_page_is_free(p, 0x1234000));         /* half a page of bad RAM */
	assert_false(pmm_page_is_free(p, 0x2000000));         /* reserved hole */
	assert_false(pmm_page_is_free(p, 0x20ff000));
	assert_true(pmm_page_is_free(p, 0x2100000));
	assert_false(pmm_page_is_free(p, 0x3000000));         /* available from mid-page only */
	assert_true(pmm_page_is_free(p, 0x3001000));
	assert_false(pmm_page_is_free(p, 0x3f01000));         /* ACPI's partial last page */
	assert_true(pmm_page_is_free(p, 0x3f02000));
	assert_false(pmm_page_is_free(p, 0x3ff0000));         /* NVS */
	assert_false(pmm_page_is_free(p, LIMIT));             /* beyond what it covers */
	assert_false(pmm_page_is_free(p, 0x5000000));
}

/* Allocate single pages until nothing is left: each one allowed, none twice. */
static void test_exhaust_single_pages(void **state)
{
	struct fixture *f = *state;
	bool *seen = calloc(NPAGES, 1);
	uint64_t n = 0;
	for (;;) {
		uint64_t pa = pmm_alloc(&f->pmm, 1, PAGE_SIZE);
		if (!pa)
			break;
		assert_int_equal(pa & 0xfff, 0);
		assert_true(pa < LIMIT);
		if (!f->allowed[pa / PAGE_SIZE])
			fail_msg("page 0x%llx handed out", (unsigned long long)pa);
		assert_false(seen[pa / PAGE_SIZE]);
		seen[pa / PAGE_SIZE] = true;
		n++;
		assert_int_equal(f->pmm.free_pages, f->allowed_count - n);
	}
	assert_int_equal(n, f->allowed_count);
	assert_int_equal(f->pmm.free_pages, 0);
	assert_int_equal(pmm_alloc(&f->pmm, 1, PAGE_SIZE), 0);
	free(seen);
}

/* 2 MiB-aligned blocks of 512 pages: each aligned and wholly allowed, and as
 * many as the map holds. */
static void test_exhaust_2m_blocks(void **state)
{
	struct fixture *f = *state;
	uint64_t expected = 0;
	for (uint64_t b = 0; b < NPAGES; b += 512) {
		bool all = true;
		for (uint64_t i = b; i < b + 512; i++)
			all = all && f->allowed[i];
		expected += all;
	}
	assert_true(expected >= 10);

	uint64_t n = 0, pa;
	while ((pa = pmm_alloc(&f->pmm, 512, MiB(2))) != 0) {
		assert_int_equal(pa & (MiB(2) - 1), 0);
		for (uint64_t i = pa / PAGE_SIZE; i < pa / PAGE_SIZE + 512; i++)
			if (!f->allowed[i])
				fail_msg("block 0x%llx holds page 0x%llx", (unsigned long long)pa,
					 (unsigned long long)(i * PAGE_SIZE));
		n++;
	}
	assert_int_equal(n, expected);
	assert_int_equal(f->pmm.free_pages, f->allowed_count - 512 * expected);
	/* What is left is in pieces: still usable as single pages. */
	assert_true(pmm_alloc(&f->pmm, 1, PAGE_SIZE) != 0);
}

/* Runs that are not a power of two, at other alignments. */
static void test_odd_sizes_and_alignments(void **state)
{
	struct fixture *f = *state;
	static const struct {
		uint64_t npages, align;
	} reqs[] = { { 3, 0x4000 }, { 17, PAGE_SIZE }, { 1, MiB(1) }, { 300, 0x10000 },
		     { 2, 0 } /* less than a page: a page */ };
	for (unsigned round = 0; round < 20; round++)
		for (unsigned r = 0; r < ARRAY_SIZE(reqs); r++) {
			uint64_t pa = pmm_alloc(&f->pmm, reqs[r].npages, reqs[r].align);
			assert_true(pa != 0);
			assert_int_equal(pa & (MAX(reqs[r].align, PAGE_SIZE) - 1), 0);
			for (uint64_t i = 0; i < reqs[r].npages; i++) {
				assert_true(f->allowed[pa / PAGE_SIZE + i]);
				assert_false(pmm_page_is_free(&f->pmm, pa + i * PAGE_SIZE));
			}
		}
}

/* --- Allocation, free, accounting --------------------------------------------- */

static void test_free_and_reuse(void **state)
{
	struct fixture *f = *state;
	struct pmm *p = &f->pmm;
	uint64_t before = p->free_pages;
	uint64_t a = pmm_alloc(p, 4, PAGE_SIZE);
	uint64_t b = pmm_alloc(p, 4, PAGE_SIZE);
	assert_true(a && b && a != b);
	assert_false(ranges_overlap(a, 4 * PAGE_SIZE, b, 4 * PAGE_SIZE));
	assert_int_equal(p->free_pages, before - 8);

	pmm_free(p, a, 4);
	assert_int_equal(p->free_pages, before - 4);
	for (unsigned i = 0; i < 4; i++)
		assert_true(pmm_page_is_free(p, a + i * PAGE_SIZE));
	/* First fit: the freed run comes back. */
	assert_int_equal(pmm_alloc(p, 4, PAGE_SIZE), a);
	assert_int_equal(p->free_pages, before - 8);

	/* Freeing twice counts once. */
	pmm_free(p, b, 4);
	pmm_free(p, b, 4);
	assert_int_equal(p->free_pages, before - 4);
	/* Freeing beyond the covered range is ignored. */
	pmm_free(p, LIMIT, 10);
	pmm_free(p, LIMIT - PAGE_SIZE, 10);
	assert_int_equal(p->free_pages, before - 4 + 1);
	assert_true(pmm_page_is_free(p, LIMIT - PAGE_SIZE));
}

static void test_alloc_refusals(void **state)
{
	struct fixture *f = *state;
	struct pmm *p = &f->pmm;
	uint64_t before = p->free_pages;
	assert_int_equal(pmm_alloc(p, 0, PAGE_SIZE), 0);
	assert_int_equal(pmm_alloc(p, before + 1, PAGE_SIZE), 0);
	assert_int_equal(pmm_alloc(p, NPAGES, PAGE_SIZE), 0);
	/* Enough pages in total, but no run that long: 1 MiB .. 48 MiB has holes. */
	assert_int_equal(pmm_alloc(p, MiB(40) / PAGE_SIZE, PAGE_SIZE), 0);
	assert_int_equal(p->free_pages, before);
}

/* --- The building blocks --------------------------------------------------- */

static void test_page_zero_never_handed_out(void **state)
{
	(void)state;
	uint64_t bitmap[1];
	struct pmm p;
	pmm_init(&p, bitmap, 16);
	assert_int_equal(p.free_pages, 0);
	pmm_release_range(&p, 0, 16 * PAGE_SIZE);
	assert_false(pmm_page_is_free(&p, 0));
	assert_int_equal(p.free_pages, 15);
	/* Even if someone frees it. */
	pmm_free(&p, 0, 1);
	assert_false(pmm_page_is_free(&p, 0));
	assert_int_equal(p.free_pages, 15);
	uint64_t n = 0, pa;
	while ((pa = pmm_alloc(&p, 1, PAGE_SIZE)) != 0) {
		assert_true(pa >= PAGE_SIZE);
		n++;
	}
	assert_int_equal(n, 15);
	assert_int_equal(p.free_pages, 0);
	/* The whole range as one run: it cannot include page 0. */
	pmm_release_range(&p, 0, 16 * PAGE_SIZE);
	assert_int_equal(pmm_alloc(&p, 16, PAGE_SIZE), 0);
	assert_int_equal(pmm_alloc(&p, 15, PAGE_SIZE), PAGE_SIZE);
}

static void test_release_and_reserve_partial_pages(void **state)
{
	(void)state;
	uint64_t bitmap[2];
	struct pmm p;
	pmm_init(&p, bitmap, 100);
	/* Release frees only whole pages inside the range. */
	pmm_release_range(&p, 0x1800, 0x2000); /* [0x1800, 0x3800): page 2 only */
	assert_false(pmm_page_is_free(&p, 0x1000));
	assert_true(pmm_page_is_free(&p, 0x2000));
	assert_false(pmm_page_is_free(&p, 0x3000));
	assert_int_equal(p.free_pages, 1);
	pmm_release_range(&p, 0x5000, 0xfff); /* less than a page */
	assert_int_equal(p.free_pages, 1);

	pmm_release_range(&p, 0x10000, 0x10000); /* pages 16..31 */
	assert_int_equal(p.free_pages, 17);
	/* Reserve takes every page the range touches. */
	pmm_reserve_range(&p, 0x10fff, 2); /* pages 16 and 17 */
	assert_false(pmm_page_is_free(&p, 0x10000));
	assert_false(pmm_page_is_free(&p, 0x11000));
	assert_true(pmm_page_is_free(&p, 0x12000));
	assert_int_equal(p.free_pages, 15);
	pmm_reserve_range(&p, 0x14000, 0); /* empty: nothing */
	assert_true(pmm_page_is_free(&p, 0x14000));
	pmm_reserve_range(&p, 0x10000, 0x10000); /* again: counted once */
	assert_int_equal(p.free_pages, 1);
}

/* Ranges up to the top of the address space: no wrap, nothing past npages
 * (the bitmap is exactly sized, so an overrun is caught). */
static void test_ranges_at_the_top(void **state)
{
	(void)state;
	uint64_t *bitmap = malloc(2 * sizeof(uint64_t));
	struct pmm p;
	pmm_init(&p, bitmap, 100); /* not a multiple of 64 */
	pmm_release_range(&p, 0x10000, UINT64_MAX); /* wraps: to the end */
	assert_int_equal(p.free_pages, 100 - 16);
	assert_true(pmm_page_is_free(&p, 99 * PAGE_SIZE));
	assert_false(pmm_page_is_free(&p, 100 * PAGE_SIZE));
	pmm_release_range(&p, UINT64_MAX - 0x10, 0x5);
	pmm_release_range(&p, UINT64_MAX - 0x800, 0x1000);
	assert_int_equal(p.free_pages, 100 - 16);

	pmm_reserve_range(&p, 0x50000, UINT64_MAX); /* wraps: to the end */
	assert_int_equal(p.free_pages, 0x50 - 16);
	assert_false(pmm_page_is_free(&p, 99 * PAGE_SIZE));
	pmm_reserve_range(&p, UINT64_MAX - 0x10, 0x5);
	pmm_reserve_range(&p, UINT64_MAX - 0x1800, 0x1000);
	pmm_reserve_range(&p, 200 * PAGE_SIZE, PAGE_SIZE);
	assert_int_equal(p.free_pages, 0x50 - 16);

	/* The last pages can be allocated; a run past the end cannot. */
	pmm_reserve_range(&p, 0, 100 * PAGE_SIZE);
	assert_int_equal(p.free_pages, 0);
	pmm_free(&p, 50 * PAGE_SIZE, 1);
	pmm_free(&p, 97 * PAGE_SIZE, 3);
	assert_int_equal(p.free_pages, 4);
	assert_int_equal(pmm_alloc(&p, 4, PAGE_SIZE), 0); /* 4 free, but not in one run */
	assert_int_equal(pmm_alloc(&p, 3, PAGE_SIZE), 97 * PAGE_SIZE);
	assert_int_equal(pmm_alloc(&p, 1, PAGE_SIZE), 50 * PAGE_SIZE);
	assert_int_equal(p.free_pages, 0);
	free(bitmap);
}

/* The image, boot information and modules are kept out even when the map
 * calls them available, and an image range ending mid-page keeps that page. */
static void test_boot_ranges_kept_out(void **state)
{
	(void)state;
	uint64_t bitmap[LIMIT / PAGE_SIZE / 64];
	struct boot_info bi;
	struct pmm p;
	memset(&bi, 0, sizeof(bi));
	bi.mmap[0] = (struct mb2_mmap_entry){ 0, LIMIT, MB2_MEMORY_AVAILABLE };
	bi.mmap_count = 1;
	bi.info_addr = 0x7ff8;  /* straddles pages 7 and 8, below 1 MiB anyway */
	bi.info_size = 0x10;
	bi.modules[0] = (struct mb2_module){ 0x1fff000, 0x2000001, "m" };
	bi.module_count = 1;
	pmm_init_from_boot(&p, bitmap, LIMIT, &bi, 0x100000, 0x100001);
	assert_false(pmm_page_is_free(&p, 0xff000));
	assert_false(pmm_page_is_free(&p, 0x100000));
	assert_true(pmm_page_is_free(&p, 0x101000));
	assert_false(pmm_page_is_free(&p, 0x1fff000));
	assert_false(pmm_page_is_free(&p, 0x2000000));
	assert_true(pmm_page_is_free(&p, 0x2001000));
	assert_int_equal(p.free_pages, LIMIT / PAGE_SIZE - 256 - 1 - 2);
}

/* The AP trampoline's check: a low page is usable only if available RAM,
 * wholly inside one available range, and not reserved, the boot
 * information or a module. */
static void test_boot_range_is_free_ram(void **state)
{
	(void)state;
	struct boot_info bi;
	machine_boot_info(&bi);
	assert_true(boot_range_is_free_ram(&bi, 0x8000, PAGE_SIZE));
	assert_true(boot_range_is_free_ram(&bi, 0x9e000, PAGE_SIZE));
	assert_false(boot_range_is_free_ram(&bi, 0x9f000, PAGE_SIZE));    /* runs past 0x9fc00 */
	assert_false(boot_range_is_free_ram(&bi, 0xf0000, PAGE_SIZE));    /* reserved */
	assert_false(boot_range_is_free_ram(&bi, 0xa0000, PAGE_SIZE));    /* not in the map */
	assert_false(boot_range_is_free_ram(&bi, 0x2000000, PAGE_SIZE));  /* the hole */
	assert_false(boot_range_is_free_ram(&bi, 0x1234000, PAGE_SIZE));  /* bad RAM inside */
	assert_false(boot_range_is_free_ram(&bi, INFO_ADDR, 1));
	assert_false(boot_range_is_free_ram(&bi, 0x8ff000, PAGE_SIZE));   /* module a */
	assert_false(boot_range_is_free_ram(&bi, 0xa00000, PAGE_SIZE));   /* module b */
	assert_true(boot_range_is_free_ram(&bi, 0xa01000, PAGE_SIZE));
	bi.info_addr = 0x8800; /* the information block moved into the page */
	assert_false(boot_range_is_free_ram(&bi, 0x8000, PAGE_SIZE));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_range_is_free_ram),
		T(test_free_pages_match_the_map),
		T(test_specific_pages),
		T(test_exhaust_single_pages),
		T(test_exhaust_2m_blocks),
		T(test_odd_sizes_and_alignments),
		T(test_free_and_reuse),
		T(test_alloc_refusals),
		cmocka_unit_test(test_page_zero_never_handed_out),
		cmocka_unit_test(test_release_and_reserve_partial_pages),
		cmocka_unit_test(test_ranges_at_the_top),
		cmocka_unit_test(test_boot_ranges_kept_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
