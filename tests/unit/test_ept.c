/* ept/ept.c: building EPT paging structures in a fake physical memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ept/ept.h"

/* --- Fake physical memory: an arena whose page i is physical FAKE_BASE + i * 4K. */
#define ARENA_SIZE MiB(4)
#define FAKE_BASE 0x100000ULL

struct arena {
	uint8_t *mem;
	unsigned used;      /* pages handed out */
	unsigned fail_after; /* hand out this many pages, then fail; ~0u: never */
};

static uint64_t arena_alloc(void *ctx)
{
	struct arena *a = ctx;
	if (a->used >= a->fail_after || (a->used + 1) * PAGE_SIZE > ARENA_SIZE)
		return 0;
	uint8_t *p = a->mem + a->used * PAGE_SIZE;
	/* The arena starts as garbage (setup); alloc_table promises a zeroed page. */
	memset(p, 0, PAGE_SIZE);
	return FAKE_BASE + a->used++ * PAGE_SIZE;
}

static void *arena_virt(void *ctx, uint64_t pa)
{
	struct arena *a = ctx;
	if (pa < FAKE_BASE || pa >= FAKE_BASE + a->used * PAGE_SIZE || (pa & 0xfff))
		fail_msg("EPT code followed physical address 0x%llx, which is no table",
			 (unsigned long long)pa);
	return a->mem + (pa - FAKE_BASE);
}

struct fixture {
	struct arena arena;
	struct ept_ops ops;
	struct ept ept;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->arena.mem = aligned_alloc(PAGE_SIZE, ARENA_SIZE);
	if (!f->arena.mem)
		return -1;
	memset(f->arena.mem, 0xa5, ARENA_SIZE);
	f->arena.fail_after = ~0u;
	f->ops = (struct ept_ops){ arena_alloc, arena_virt, &f->arena };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->arena.mem);
	free(f);
	return 0;
}

static struct ept *init(void **state, bool use_2m, bool use_1g)
{
	struct fixture *f = *state;
	assert_true(ept_init(&f->ept, &f->ops, use_2m, use_1g));
	return &f->ept;
}

static unsigned arena_used(void **state)
{
	return ((struct fixture *)*state)->arena.used;
}

/* The raw entry for gpa at level (3 = PML4 ... 0 = PT), or NULL if the walk
 * stops earlier (not present, or a large leaf above). */
static uint64_t *raw_entry(const struct ept *e, uint64_t gpa, int level)
{
	uint64_t pa = e->pml4_pa;
	for (int l = 3;; l--) {
		uint64_t *table = e->ops->phys_to_virt(e->ops->ctx, pa);
		uint64_t *ent = &table[(gpa >> (12 + 9 * l)) & 0x1ff];
		if (l == level)
			return ent;
		if (!(*ent & EPT_RWX) || (*ent & EPT_LARGE_PAGE))
			return NULL;
		pa = *ent & EPT_ADDR_MASK;
	}
}

static void assert_translates(const struct ept *e, uint64_t gpa, uint64_t hpa,
			      uint64_t perms, uint64_t page_size)
{
	uint64_t got_hpa = 0, got_perms = 0, got_size = 0;
	if (!ept_lookup(e, gpa, &got_hpa, &got_perms, &got_size))
		fail_msg("GPA 0x%llx is not mapped", (unsigned long long)gpa);
	if (got_hpa != hpa)
		fail_msg("GPA 0x%llx -> HPA 0x%llx, expected 0x%llx", (unsigned long long)gpa,
			 (unsigned long long)got_hpa, (unsigned long long)hpa);
	assert_int_equal(got_perms, perms);
	assert_int_equal(got_size, page_size);
}

static void assert_unmapped(const struct ept *e, uint64_t gpa)
{
	uint64_t hpa, perms, size;
	if (ept_lookup(e, gpa, &hpa, &perms, &size))
		fail_msg("GPA 0x%llx is mapped (to 0x%llx), expected not", (unsigned long long)gpa,
			 (unsigned long long)hpa);
}

/* Every interesting offset of [gpa, gpa+len) translates to hpa + offset. */
static void assert_range_translates(const struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t len,
				    uint64_t perms, uint64_t page_size)
{
	const uint64_t offs[] = { 0, 1, 0x7ff, 0xfff, 0x1000, 0x1234, 0x1fffff, 0x200000,
				  0x345678, len / 2, len / 2 + 0xabc, len - 0x1000, len - 1 };
	for (unsigned i = 0; i < ARRAY_SIZE(offs); i++)
		if (offs[i] < len)
			assert_translates(e, gpa + offs[i], hpa + offs[i], perms, page_size);
	/* And a walk over every page with a varying offset inside it. */
	for (uint64_t off = 0; off < len; off += MAX(PAGE_SIZE, len / 4096))
		assert_translates(e, gpa + off + (off >> 12) % 4096, hpa + off + (off >> 12) % 4096,
				  perms, page_size);
	assert_unmapped(e, gpa + len);
	if (gpa)
		assert_unmapped(e, gpa - 1);
}

/* --- Setup and the EPT pointer ------------------------------------------------ */

static void test_init(void **state)
{
	struct ept *e = init(state, true, true);
	assert_int_equal(e->tables, 1);
	assert_int_equal(e->pml4_pa, FAKE_BASE);
	assert_int_equal(e->leaves[0] + e->leaves[1] + e->leaves[2], 0);
	assert_unmapped(e, 0);
	assert_unmapped(e, 0x12345000);
}

static void test_init_without_memory(void **state)
{
	struct fixture *f = *state;
	f->arena.fail_after = 0;
	assert_false(ept_init(&f->ept, &f->ops, true, true));
	assert_int_equal(f->ept.tables, 0);
}

static void test_ept_pointer_format(void **state)
{
	struct ept *e = init(state, true, false);
	uint64_t eptp = ept_pointer(e);
	assert_int_equal(eptp & 7, 6);                /* write-back */
	assert_int_equal((eptp >> 3) & 7, 3);         /* 4-level walk, minus one */
	assert_int_equal(eptp & BIT(6), 0);           /* no accessed/dirty flags */
	assert_int_equal(eptp & ~0xfffULL, e->pml4_pa);
	assert_int_equal(eptp & 0xf80, 0);            /* reserved bits 11:7 */
}

/* --- Page sizes ----------------------------------------------------------------- */

static void test_2m_leaves_when_aligned(void **state)
{
	struct ept *e = init(state, true, true);
	assert_true(ept_map(e, 0, GiB(1), MiB(32), EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->leaves[1], 16);
	assert_int_equal(e->leaves[0], 0);
	assert_int_equal(e->leaves[2], 0);
	assert_int_equal(e->tables, 3); /* PML4, PDPT, one PD */
	assert_int_equal(arena_used(state), 3);
	assert_range_translates(e, 0, GiB(1), MiB(32), EPT_RWX, MiB(2));
}

static void test_4k_leaves_without_2m(void **state)
{
	struct ept *e = init(state, false, false);
	assert_true(ept_map(e, 0, GiB(1), MiB(32), EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->leaves[0], 8192);
	assert_int_equal(e->leaves[1], 0);
	assert_int_equal(e->tables, 3 + 16); /* and one PT per 2 MiB */
	assert_range_translates(e, 0, GiB(1), MiB(32), EPT_RWX, PAGE_SIZE);
}

/* The APIC-access page comes and goes with the APIC's mode (vmx/apicv.c). */
static void test_unmap_page(void **state)
{
	struct ept *e = init(state, true, true);
	assert_true(ept_map(e, 0xfee00000, GiB(1), PAGE_SIZE, EPT_READ | EPT_WRITE, EPT_MEMTYPE_WB));
	assert_true(ept_map(e, 0xfee01000, GiB(1) + PAGE_SIZE, PAGE_SIZE, EPT_RWX, EPT_MEMTYPE_WB));
	assert_true(ept_map(e, 0, GiB(2), MiB(2), EPT_RWX, EPT_MEMTYPE_WB));
	unsigned tables = e->tables;
	assert_true(ept_unmap_page(e, 0xfee00000));
	uint64_t hpa, perms, size;
	assert_false(ept_lookup(e, 0xfee00000, &hpa, &perms, &size));
	assert_true(ept_lookup(e, 0xfee01000, &hpa, &perms, &size)); /* the neighbour stays */
	assert_int_equal(hpa, GiB(1) + PAGE_SIZE);
	assert_int_equal(e->leaves[0], 1);
	assert_int_equal(e->tables, tables);
	/* Gone already, never mapped, inside a 2 MiB leaf, unaligned: refused. */
	assert_false(ept_unmap_page(e, 0xfee00000));
	assert_false(ept_unmap_page(e, 0xfed00000));
	assert_false(ept_unmap_page(e, 0x1000));
	assert_false(ept_unmap_page(e, 0xfee01008));
	assert_true(ept_lookup(e, 0x1000, &hpa, &perms, &size));
	/* And it maps again. */
	assert_true(ept_map(e, 0xfee00000, GiB(1), PAGE_SIZE, EPT_READ | EPT_WRITE, EPT_MEMTYPE_WB));
	assert_true(ept_lookup(e, 0xfee00000, &hpa, &perms, &size));
	assert_int_equal(perms, EPT_READ | EPT_WRITE);
}

static void test_4k_leaves_when_hpa_unaligned(void **state)
{
	struct ept *e = init(state, true, true);
	uint64_t hpa = GiB(1) + 0x3000; /* 4 KiB but not 2 MiB aligned */
	assert_true(ept_map(e, 0, hpa, MiB(32), EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->leaves[0], 8192);
	assert_int_equal(e->leaves[1], 0);
	assert_range_translates(e, 0, hpa, MiB(32), EPT_RWX, PAGE_SIZE);
}

static void test_4k_leaves_when_gpa_unaligned(void **state)
{
	struct ept *e = init(state, true, true);
	/* GPA 4 KiB and HPA 8 KiB past a 2 MiB boundary: never aligned together. */
	assert_true(ept_map(e, 0x1000, GiB(1) + 0x2000, MiB(4), EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->leaves[1], 0);
	assert_int_equal(e->leaves[0], 1024);
	assert_range_translates(e, 0x1000, GiB(1) + 0x2000, MiB(4), EPT_RWX, PAGE_SIZE);
}

/* 4 KiB up to the 2 MiB boundary, 2 MiB pages while they fit, 4 KiB after. */
static void test_mixed_page_sizes(void **state)
{
	struct ept *e = init(state, true, true);
	uint64_t gpa = MiB(2) - 0x2000, hpa = MiB(64) - 0x2000, len = 0x2000 + MiB(4) + 0x3000;
	assert_true(ept_map(e, gpa, hpa, len, EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->leaves[0], 2 + 3);
	assert_int_equal(e->leaves[1], 2);
	assert_translates(e, gpa, hpa, EPT_RWX, PAGE_SIZE);
	assert_translates(e, gpa + 0x1fff, hpa + 0x1fff, EPT_RWX, PAGE_SIZE);
	assert_translates(e, MiB(2), MiB(64), EPT_RWX, MiB(2));
	assert_translates(e, MiB(6) - 1, MiB(68) - 1, EPT_RWX, MiB(2));
	assert_translates(e, MiB(6), MiB(68), EPT_RWX, PAGE_SIZE);
	assert_translates(e, gpa + len - 1, hpa + len - 1, EPT_RWX, PAGE_SIZE);
	assert_unmapped(e, gpa + len);
	assert_unmapped(e, gpa - 1);
}

static void test_1g_leaf(void **state)
{
	struct ept *e = init(state, true, true);
	assert_true(ept_map(e, GiB(1), GiB(3), GiB(1), EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->leaves[2], 1);
	assert_int_equal(e->leaves[1], 0);
	assert_int_equal(e->leaves[0], 0);
	assert_int_equal(e->tables, 2); /* PML4 and PDPT only */
	assert_range_translates(e, GiB(1), GiB(3), GiB(1), EPT_RWX, GiB(1));
}

static void test_1g_then_2m_remainder(void **state)
{
	struct ept *e = init(state, true, true);
	assert_true(ept_map(e, 0, GiB(2), GiB(1) + MiB(6), EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->leaves[2], 1);
	assert_int_equal(e->leaves[1], 3);
	assert_translates(e, GiB(1) - 1, GiB(3) - 1, EPT_RWX, GiB(1));
	assert_translates(e, GiB(1), GiB(3), EPT_RWX, MiB(2));
	assert_translates(e, GiB(1) + MiB(6) - 1, GiB(3) + MiB(6) - 1, EPT_RWX, MiB(2));
	assert_unmapped(e, GiB(1) + MiB(6));
}

static void test_1g_disabled_gives_2m(void **state)
{
	struct ept *e = init(state, true, false);
	assert_true(ept_map(e, GiB(1), GiB(3), GiB(1), EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->leaves[2], 0);
	assert_int_equal(e->leaves[1], 512);
	assert_range_translates(e, GiB(1), GiB(3), GiB(1), EPT_RWX, MiB(2));
}

/* 1 GiB pages without 2 MiB pages: a CPU reporting that is odd, but each
 * size is used only where it is allowed. */
static void test_1g_without_2m(void **state)
{
	struct ept *e = init(state, false, true);
	assert_true(ept_map(e, 0, 0, GiB(1) + MiB(2), EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->leaves[2], 1);
	assert_int_equal(e->leaves[1], 0);
	assert_int_equal(e->leaves[0], 512);
	assert_translates(e, GiB(1) + 0x1234, GiB(1) + 0x1234, EPT_RWX, PAGE_SIZE);
}

static void test_1g_of_4k_pages(void **state)
{
	struct ept *e = init(state, false, false);
	assert_true(ept_map(e, GiB(4), 0x1000, GiB(1), EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->leaves[0], 262144);
	assert_int_equal(e->tables, 1 + 1 + 1 + 512);
	assert_range_translates(e, GiB(4), 0x1000, GiB(1), EPT_RWX, PAGE_SIZE);
}

/* Mappings in different PML4 and PDPT slots do not disturb each other. */
static void test_far_apart_mappings(void **state)
{
	struct ept *e = init(state, true, true);
	static const struct {
		uint64_t gpa, hpa, len;
	} maps[] = {
		{ 0, MiB(2), MiB(2) },
		{ GiB(512), MiB(8), 0x3000 },                  /* PML4 slot 1 */
		{ BIT(47) + GiB(7), MiB(16), MiB(4) },         /* PML4 slot 256 */
		{ BIT(48) - MiB(2), MiB(32), MiB(2) },         /* the very last 2 MiB */
		{ GiB(1) + MiB(2) + 0x5000, GiB(9), 0x1000 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++)
		assert_true(ept_map(e, maps[i].gpa, maps[i].hpa, maps[i].len, EPT_RWX,
				    EPT_MEMTYPE_WB));
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++) {
		uint64_t hpa, perms, size;
		assert_true(ept_lookup(e, maps[i].gpa, &hpa, &perms, &size));
		assert_int_equal(hpa, maps[i].hpa);
		assert_true(ept_lookup(e, maps[i].gpa + maps[i].len - 1, &hpa, &perms, &size));
		assert_int_equal(hpa, maps[i].hpa + maps[i].len - 1);
		assert_unmapped(e, maps[i].gpa + maps[i].len);
	}
	assert_unmapped(e, GiB(512) - 1);
	assert_unmapped(e, BIT(47));
	assert_unmapped(e, BIT(48));            /* beyond a 4-level walk */
	assert_unmapped(e, BIT(48) + 0x1000);   /* would alias GPA 0x1000 if not checked */
	assert_unmapped(e, ~0ULL);
}

/* --- Entry bits ------------------------------------------------------------------ */

static void test_leaf_entry_bits(void **state)
{
	struct ept *e = init(state, true, true);
	assert_true(ept_map(e, 0, GiB(2), MiB(2), EPT_READ, EPT_MEMTYPE_UC));
	assert_true(ept_map(e, MiB(2), GiB(2) + MiB(2), 0x1000, EPT_READ | EPT_EXEC,
			    EPT_MEMTYPE_WB));
	assert_true(ept_map(e, GiB(1), GiB(1), GiB(1), EPT_RWX, EPT_MEMTYPE_WB));
	/* Bits other than RWX in perms are not put in the entry. */
	assert_true(ept_map(e, MiB(2) + 0x1000, GiB(2) + 0x7000, 0x1000,
			    EPT_WRITE | EPT_READ | EPT_LARGE_PAGE | BIT(63), EPT_MEMTYPE_WB));

	uint64_t *pml4e = raw_entry(e, 0, 3), *pdpte = raw_entry(e, 0, 2);
	uint64_t *pde2m = raw_entry(e, 0, 1), *pde_pt = raw_entry(e, MiB(2), 1);
	uint64_t *pte = raw_entry(e, MiB(2), 0), *pte2 = raw_entry(e, MiB(2) + 0x1000, 0);
	uint64_t *pdpte1g = raw_entry(e, GiB(1), 2);
	assert_non_null(pml4e);
	assert_non_null(pte);
	/* Non-leaf entries: the next table and all permissions, nothing else. */
	assert_int_equal(*pml4e & ~EPT_ADDR_MASK, EPT_RWX);
	assert_int_equal(*pdpte & ~EPT_ADDR_MASK, EPT_RWX);
	assert_int_equal(*pde_pt & ~EPT_ADDR_MASK, EPT_RWX);
	/* Leaves: address, permissions, memory type in 5:3, bit 7 for large pages. */
	assert_int_equal(*pde2m, GiB(2) | EPT_READ | (EPT_MEMTYPE_UC << 3) | EPT_LARGE_PAGE);
	assert_int_equal(*pte, (GiB(2) + MiB(2)) | EPT_READ | EPT_EXEC | (EPT_MEMTYPE_WB << 3));
	assert_int_equal(*pte2, (GiB(2) + 0x7000) | EPT_READ | EPT_WRITE | (EPT_MEMTYPE_WB << 3));
	assert_int_equal(*pdpte1g, GiB(1) | EPT_RWX | (EPT_MEMTYPE_WB << 3) | EPT_LARGE_PAGE);

	assert_translates(e, 0x10, GiB(2) + 0x10, EPT_READ, MiB(2));
	assert_translates(e, MiB(2) + 0x10, GiB(2) + MiB(2) + 0x10, EPT_READ | EPT_EXEC, PAGE_SIZE);
	assert_translates(e, MiB(2) + 0x1010, GiB(2) + 0x7010, EPT_READ | EPT_WRITE, PAGE_SIZE);
}

/* Execute-only and write-only leaves still count as present. */
static void test_single_permission_leaves(void **state)
{
	struct ept *e = init(state, true, true);
	assert_true(ept_map(e, 0, 0x10000, 0x1000, EPT_EXEC, EPT_MEMTYPE_WB));
	assert_true(ept_map(e, 0x1000, 0x20000, 0x1000, EPT_WRITE, EPT_MEMTYPE_WB));
	assert_translates(e, 0x10, 0x10010, EPT_EXEC, PAGE_SIZE);
	assert_translates(e, 0x1010, 0x20010, EPT_WRITE, PAGE_SIZE);
	/* Mapping them again is an overlap. */
	assert_false(ept_map(e, 0, 0x30000, 0x2000, EPT_RWX, EPT_MEMTYPE_WB));
}

/* --- Refusals ---------------------------------------------------------------------- */

static void test_refuse_unaligned_and_empty(void **state)
{
	struct ept *e = init(state, true, true);
	assert_false(ept_map(e, 0x800, 0, 0x1000, EPT_RWX, EPT_MEMTYPE_WB));
	assert_false(ept_map(e, 0, 0x800, 0x1000, EPT_RWX, EPT_MEMTYPE_WB));
	assert_false(ept_map(e, 0, 0, 0x800, EPT_RWX, EPT_MEMTYPE_WB));
	assert_false(ept_map(e, 0, 0, 0x1001, EPT_RWX, EPT_MEMTYPE_WB));
	assert_false(ept_map(e, 0x1001, 0x1000, 0x1000, EPT_RWX, EPT_MEMTYPE_WB));
	assert_false(ept_map(e, 0x1000, 0x1000, 0, EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->tables, 1);
	assert_int_equal(e->leaves[0] + e->leaves[1] + e->leaves[2], 0);
	assert_unmapped(e, 0);
	assert_unmapped(e, 0x1000);
}

static void test_refuse_wrapping(void **state)
{
	struct ept *e = init(state, true, true);
	assert_false(ept_map(e, ~0xfffULL, 0, 0x2000, EPT_RWX, EPT_MEMTYPE_WB));
	assert_false(ept_map(e, 0, ~0xfffULL, 0x2000, EPT_RWX, EPT_MEMTYPE_WB));
	assert_false(ept_map(e, 0x1000, 0x1000, ~0xfffULL, EPT_RWX, EPT_MEMTYPE_WB));
	/* Past the 48-bit guest-physical space a 4-level EPT covers. */
	assert_false(ept_map(e, BIT(48), 0, 0x1000, EPT_RWX, EPT_MEMTYPE_WB));
	assert_false(ept_map(e, BIT(48) - 0x1000, 0, 0x2000, EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->tables, 1);
	assert_unmapped(e, 0);
	assert_unmapped(e, 0x1000);
	/* Up to the last byte is fine. */
	assert_true(ept_map(e, BIT(48) - 0x1000, 0x5000, 0x1000, EPT_RWX, EPT_MEMTYPE_WB));
	assert_translates(e, BIT(48) - 1, 0x5fff, EPT_RWX, PAGE_SIZE);
}

static void test_refuse_overlap(void **state)
{
	struct ept *e = init(state, true, true);
	assert_true(ept_map(e, MiB(2), GiB(2), MiB(2), EPT_RWX, EPT_MEMTYPE_WB)); /* a 2M leaf */
	assert_true(ept_map(e, MiB(8), GiB(3) + 0x1000, 0x3000, EPT_READ, EPT_MEMTYPE_WB));
	struct ept before = *e;
	unsigned used = arena_used(state);

	static const struct {
		uint64_t gpa, len;
	} bad[] = {
		{ MiB(2), 0x1000 },                  /* the first page of the 2M leaf */
		{ MiB(4) - 0x1000, 0x1000 },         /* its last page */
		{ MiB(2) + MiB(1), 0x1000 },         /* inside it */
		{ 0, MiB(2) + 0x1000 },              /* ending one page into it */
		{ MiB(4) - 0x1000, MiB(4) },         /* starting in it */
		{ 0, MiB(16) },                      /* covering everything */
		{ MiB(8) + 0x2000, 0x1000 },         /* a 4K leaf */
		{ MiB(8) - 0x1000, 0x2000 },
		{ MiB(8) + 0x2000, MiB(2) },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		if (ept_map(e, bad[i].gpa, GiB(5), bad[i].len, EPT_RWX, EPT_MEMTYPE_WB))
			fail_msg("overlapping map %u (0x%llx + 0x%llx) accepted", i,
				 (unsigned long long)bad[i].gpa, (unsigned long long)bad[i].len);
		/* Nothing changed: no tables taken, no leaf counted, the old map intact. */
		assert_int_equal(e->tables, before.tables);
		assert_memory_equal(e->leaves, before.leaves, sizeof(e->leaves));
		assert_int_equal(arena_used(state), used);
		assert_translates(e, MiB(2) + 0x123, GiB(2) + 0x123, EPT_RWX, MiB(2));
		assert_translates(e, MiB(8) + 0x2123, GiB(3) + 0x3123, EPT_READ, PAGE_SIZE);
		assert_unmapped(e, 0);
		assert_unmapped(e, MiB(8) + 0x3000);
	}
	/* Right next to them is fine. */
	assert_true(ept_map(e, 0, GiB(6), MiB(2), EPT_RWX, EPT_MEMTYPE_WB));
	assert_true(ept_map(e, MiB(4), GiB(6) + MiB(2), MiB(2), EPT_RWX, EPT_MEMTYPE_WB));
	assert_true(ept_map(e, MiB(8) - 0x1000, GiB(7), 0x1000, EPT_RWX, EPT_MEMTYPE_WB));
	assert_true(ept_map(e, MiB(8) + 0x3000, GiB(7) + 0x1000, 0x1000, EPT_RWX, EPT_MEMTYPE_WB));
	assert_translates(e, MiB(2) - 1, GiB(6) + MiB(2) - 1, EPT_RWX, MiB(2));
	assert_translates(e, MiB(4), GiB(6) + MiB(2), EPT_RWX, MiB(2));
	assert_translates(e, MiB(8) + 0x3fff, GiB(7) + 0x1fff, EPT_RWX, PAGE_SIZE);
}

/* A 2 MiB leaf may go where a page table exists whose pages are all unmapped
 * (left from nothing here, but the walk must not be fooled by a table). */
static void test_large_leaf_over_empty_region(void **state)
{
	struct ept *e = init(state, true, true);
	assert_true(ept_map(e, MiB(2) - 0x1000, 0x7000, 0x1000, EPT_RWX, EPT_MEMTYPE_WB));
	assert_true(ept_map(e, MiB(2), MiB(10), MiB(2), EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->leaves[1], 1);
	assert_translates(e, MiB(2) - 1, 0x7fff, EPT_RWX, PAGE_SIZE);
	assert_translates(e, MiB(2), MiB(10), EPT_RWX, MiB(2));
}

static void test_allocation_failure(void **state)
{
	struct fixture *f = *state;
	struct ept *e = init(state, false, false);
	assert_true(ept_map(e, 0, GiB(1), 0x1000, EPT_RWX, EPT_MEMTYPE_WB)); /* 4 tables */
	assert_int_equal(e->tables, 4);
	/* 4 MiB of 4K pages in a new 1 GiB region needs a PD and two PTs. */
	f->arena.fail_after = 5; /* one more table, then nothing */
	assert_false(ept_map(e, GiB(2), GiB(3), MiB(4), EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(e->tables, 5);
	assert_int_equal(arena_used(state), 5);
	/* The existing mapping is intact, the failed one never got a leaf. */
	assert_translates(e, 0x123, GiB(1) + 0x123, EPT_RWX, PAGE_SIZE);
	assert_unmapped(e, GiB(2));
	assert_int_equal(e->leaves[0], 1);

	/* Failing half-way through: the first page table is taken, the second is
	 * not. Whatever got mapped is mapped right; the old mapping is intact. */
	f->arena.fail_after = 6;
	assert_false(ept_map(e, GiB(2), GiB(3), MiB(4), EPT_RWX, EPT_MEMTYPE_WB));
	assert_int_equal(arena_used(state), 6);
	assert_int_equal(e->tables, 6);
	assert_translates(e, 0x123, GiB(1) + 0x123, EPT_RWX, PAGE_SIZE);
	for (uint64_t off = 0; off < MiB(4); off += 0x1000) {
		uint64_t hpa, perms, size;
		if (ept_lookup(e, GiB(2) + off, &hpa, &perms, &size))
			assert_int_equal(hpa, GiB(3) + off);
	}
	assert_unmapped(e, GiB(2) + MiB(2)); /* needed the table that was refused */
}

/* --- Violation descriptions ------------------------------------------------------ */

/* ept_destroy hands back every table page exactly once, none twice. */
static uint64_t freed[64];
static unsigned freed_count;

static void record_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	for (unsigned i = 0; i < freed_count; i++)
		if (freed[i] == pa)
			fail_msg("table page 0x%llx freed twice", (unsigned long long)pa);
	assert_true(freed_count < 64);
	freed[freed_count++] = pa;
}

static void test_destroy_frees_every_table(void **state)
{
	struct ept *e = init(state, true, false);
	/* 4 KiB leaves here and there and a 2 MiB leaf: PML4, PDPTs, PDs, PTs. */
	assert_true(ept_map(e, 0, FAKE_BASE + GiB(1), MiB(2), EPT_RWX, EPT_MEMTYPE_WB));
	assert_true(ept_map(e, MiB(4) + PAGE_SIZE, FAKE_BASE + GiB(2), PAGE_SIZE, EPT_READ, EPT_MEMTYPE_WB));
	assert_true(ept_map(e, GiB(600), FAKE_BASE + GiB(3), PAGE_SIZE, EPT_RWX, EPT_MEMTYPE_UC));
	unsigned tables = e->tables;
	assert_int_equal(tables, arena_used(state));
	freed_count = 0;
	ept_destroy(e, record_free);
	assert_int_equal(freed_count, tables);
	assert_int_equal(e->tables, 0);
	assert_int_equal(e->pml4_pa, 0);
	/* Every freed page is a page the arena handed out, the PML4 last. */
	for (unsigned i = 0; i < freed_count; i++) {
		assert_true(freed[i] >= FAKE_BASE && freed[i] < FAKE_BASE + tables * PAGE_SIZE);
		assert_int_equal(freed[i] & 0xfff, 0);
	}
	assert_int_equal(freed[freed_count - 1], FAKE_BASE);
}

static void assert_describes(uint64_t qual, const char *expected)
{
	char buf[128];
	int n = ept_describe_violation(qual, buf, sizeof(buf));
	assert_string_equal(buf, expected);
	assert_int_equal(n, (int)strlen(expected));
}

static void test_describe_violation(void **state)
{
	(void)state;
	assert_describes(EPT_VIOL_READ, "read of an unmapped guest-physical address");
	assert_describes(EPT_VIOL_WRITE, "write of an unmapped guest-physical address");
	assert_describes(EPT_VIOL_FETCH, "instruction fetch of an unmapped guest-physical address");
	/* A fetch is reported as a fetch even when the read bit is also set. */
	assert_describes(EPT_VIOL_FETCH | EPT_VIOL_READ,
			 "instruction fetch of an unmapped guest-physical address");
	assert_describes(EPT_VIOL_WRITE | EPT_VIOL_READABLE, "write of a page that does not allow it");
	assert_describes(EPT_VIOL_FETCH | EPT_VIOL_READABLE | EPT_VIOL_WRITABLE,
			 "instruction fetch of a page that does not allow it");
	assert_describes(EPT_VIOL_READ | EPT_VIOL_EXECUTABLE, "read of a page that does not allow it");
	assert_describes(EPT_VIOL_READ | EPT_VIOL_LINEAR_VALID | EPT_VIOL_TRANSLATED,
			 "read of an unmapped guest-physical address (final translation)");
	assert_describes(EPT_VIOL_READ | EPT_VIOL_LINEAR_VALID,
			 "read of an unmapped guest-physical address (during a guest page walk)");
	/* Bit 8 means nothing without bit 7; NMI unblocking adds nothing. */
	assert_describes(EPT_VIOL_WRITE | EPT_VIOL_TRANSLATED | EPT_VIOL_NMI_UNBLOCKING,
			 "write of an unmapped guest-physical address");

	/* A short buffer: truncated, terminated, full length returned. */
	char small[8];
	memset(small, 'x', sizeof(small));
	int n = ept_describe_violation(EPT_VIOL_WRITE, small, sizeof(small));
	assert_int_equal(n, (int)strlen("write of an unmapped guest-physical address"));
	assert_string_equal(small, "write o");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_init),
		T(test_init_without_memory),
		T(test_ept_pointer_format),
		T(test_2m_leaves_when_aligned),
		T(test_4k_leaves_without_2m),
		T(test_unmap_page),
		T(test_4k_leaves_when_hpa_unaligned),
		T(test_4k_leaves_when_gpa_unaligned),
		T(test_mixed_page_sizes),
		T(test_1g_leaf),
		T(test_1g_then_2m_remainder),
		T(test_1g_disabled_gives_2m),
		T(test_1g_without_2m),
		T(test_1g_of_4k_pages),
		T(test_far_apart_mappings),
		T(test_leaf_entry_bits),
		T(test_single_permission_leaves),
		T(test_refuse_unaligned_and_empty),
		T(test_refuse_wrapping),
		T(test_refuse_overlap),
		T(test_large_leaf_over_empty_region),
		T(test_allocation_failure),
		T(test_destroy_frees_every_table),
		T(test_describe_violation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
