/* vm/page_walk.c: the guest's page walk, over a fake guest RAM. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/page_walk.h"
#include "arch/x86/cpu.h"

#define RAM_SIZE MiB(4)

/* Entry bits, spelled out here rather than borrowed from the walk. */
#define P BIT(0)
#define RW BIT(1)
#define US BIT(2)
#define PWT BIT(3)
#define PCD BIT(4)
#define ACC BIT(5)
#define DIRTY BIT(6)
#define PS BIT(7)
#define G BIT(8)
#define XD BIT(63)
#define AC_FLAG BIT(18)
#define IGNORED_62_52 (0x7ff0000000000000ULL) /* 4-level paging, CR4.PKE = 0 */

static uint8_t *ram;
static struct guest_mem mem;

static int setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM_SIZE);
	mem = (struct guest_mem){ ram, RAM_SIZE };
	return ram ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static void put32(uint64_t gpa, uint32_t v)
{
	memcpy(ram + gpa, &v, 4);
}

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(ram + gpa, &v, 8);
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, ram + gpa, 4);
	return v;
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, ram + gpa, 8);
	return v;
}

/* --- Building page tables ---------------------------------------------------------
 * One table per level, at fixed places: 4-level PML4 0x1000, PDPT 0x2000,
 * PD 0x3000, PT 0x4000; PAE PDPT at CR3 0x1fe0 (32-byte aligned, not page
 * aligned), PD 0x3000, PT 0x4000; 32-bit PD 0x1000, PT 0x4000. */

static uint64_t table_at(enum paging_mode mode, unsigned level)
{
	if (mode == PAGING_PAE && level == 3)
		return 0x1fe0;
	if (mode == PAGING_32BIT && level == 2)
		return 0x1000;
	return 0x1000 * (5 - level);
}

static unsigned entry_size(enum paging_mode mode)
{
	return mode == PAGING_32BIT ? 4 : 8;
}

static uint64_t entry_gpa(enum paging_mode mode, unsigned level, uint64_t la)
{
	unsigned bits = mode == PAGING_32BIT ? 10 : 9;
	unsigned shift = 12 + (level - 1) * bits;
	uint64_t index = (la >> shift) & ((1u << bits) - 1);
	if (mode == PAGING_PAE && level == 3)
		index = (la >> 30) & 3;
	return table_at(mode, level) + index * entry_size(mode);
}

static unsigned top_level(enum paging_mode mode)
{
	return mode == PAGING_4LEVEL ? 4 : mode == PAGING_PAE ? 3 : 2;
}

static void set_entry(enum paging_mode mode, uint64_t gpa, uint64_t v)
{
	if (mode == PAGING_32BIT)
		put32(gpa, (uint32_t)v);
	else
		put64(gpa, v);
}

/* Registers for a mode: paging on, nothing else. */
static struct paging_regs regs_for(enum paging_mode mode)
{
	struct paging_regs r = { .cr0 = CR0_PE | CR0_PG, .rflags = 0x2, .maxphyaddr = 46,
				 .page_1gb = true };
	if (mode == PAGING_OFF)
		r.cr0 = CR0_PE;
	if (mode == PAGING_PAE || mode == PAGING_4LEVEL)
		r.cr4 |= CR4_PAE;
	if (mode == PAGING_4LEVEL)
		r.efer = EFER_LME | EFER_LMA;
	r.cr3 = table_at(mode, top_level(mode));
	return r;
}

/* Map la with a leaf at leaf_level pointing to frame. flags[level] are each
 * entry's flag bits (P, RW, US, XD...); PS is added to a large leaf. */
static void map(enum paging_mode mode, uint64_t la, unsigned leaf_level, uint64_t frame,
		const uint64_t flags[5])
{
	memset(ram, 0, 0x5000);
	for (unsigned level = top_level(mode); level > leaf_level; level--) {
		uint64_t next = table_at(mode, level - 1) & ~0xfffULL;
		uint64_t f = flags[level];
		if (mode == PAGING_PAE && level == 3)
			f &= P; /* a PAE PDPTE has no R/W, U/S or XD */
		set_entry(mode, entry_gpa(mode, level, la), next | f);
	}
	set_entry(mode, entry_gpa(mode, leaf_level, la),
		  frame | flags[leaf_level] | (leaf_level > 1 ? PS : 0));
}

static const uint64_t all_rw_user[5] = { 0, P | RW | US, P | RW | US, P | RW | US, P | RW | US };

static enum page_walk_status walk(const struct paging_regs *r, uint64_t la, unsigned access,
				  struct page_walk *w)
{
	return page_walk(&mem, r, la, access, w);
}

/* --- Paging off ------------------------------------------------------------------------- */

static void test_paging_off(void **state)
{
	(void)state;
	struct paging_regs r = regs_for(PAGING_OFF);
	struct page_walk w;
	memset(ram, 0xa5, 0x5000);
	assert_int_equal(walk(&r, 0x12345, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x12345);
	assert_int_equal(w.page_size, GiB(4));
	assert_int_equal(w.mode, PAGING_OFF);
	assert_int_equal(walk(&r, 0xfee00000, PAGE_ACCESS_FETCH | PAGE_ACCESS_USER, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0xfee00000);
	for (unsigned i = 0; i < 0x5000; i++)
		assert_int_equal(ram[i], 0xa5);
	/* Linear addresses are 32 bits outside IA-32e mode. */
	assert_int_equal(walk(&r, 0x100000000ULL, 0, &w), PAGE_WALK_UNSUPPORTED);
	assert_non_null(strstr(w.why, "32 bits"));
	/* CR3, CR4 and EFER do not matter. */
	r.cr4 = CR4_PAE | CR4_LA57 | CR4_PKE;
	r.cr3 = ~0ULL;
	assert_int_equal(walk(&r, 0x1000, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x1000);
}

/* --- 32-bit paging ----------------------------------------------------------------------- */

static void test_32bit_4k(void **state)
{
	(void)state;
	const uint64_t la = 0x8048abc, frame = 0x200000;
	struct paging_regs r = regs_for(PAGING_32BIT);
	struct page_walk w;
	map(PAGING_32BIT, la, 1, frame, all_rw_user);
	uint64_t pde = entry_gpa(PAGING_32BIT, 2, la), pte = entry_gpa(PAGING_32BIT, 1, la);
	assert_int_equal(pde, 0x1000 + 0x20 * 4);
	assert_int_equal(pte, 0x4000 + 0x48 * 4);

	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.mode, PAGING_32BIT);
	assert_int_equal(w.gpa, frame | 0xabc);
	assert_int_equal(w.page_size, KiB(4));
	assert_int_equal(w.level, 1);
	assert_int_equal(w.entry_gpa, pte);
	/* A read sets A in both entries, D in neither. */
	assert_int_equal(get32(pde), 0x4000 | P | RW | US | ACC);
	assert_int_equal(get32(pte), frame | P | RW | US | ACC);
	/* A write sets D in the PTE only. */
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_int_equal(get32(pde), 0x4000 | P | RW | US | ACC);
	assert_int_equal(get32(pte), frame | P | RW | US | ACC | DIRTY);
	/* Nothing else in RAM changed. */
	for (uint64_t a = 0; a < 0x5000; a += 4)
		if (a != pde && a != pte)
			assert_int_equal(get32(a), 0);
	/* Address bits 31:12 of the frame, whatever the high PTE bits. */
	put32(pte, 0xfffff000 | P | G | PWT | PCD);
	assert_int_equal(walk(&r, 0x8048fff, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0xffffffffULL);
}

static void test_32bit_4m_and_pse36(void **state)
{
	(void)state;
	const uint64_t la = 0xc0123456;
	struct paging_regs r = regs_for(PAGING_32BIT);
	struct page_walk w;
	r.cr4 |= CR4_PSE;
	uint64_t pde = entry_gpa(PAGING_32BIT, 2, la);
	map(PAGING_32BIT, la, 2, 0x00c00000, all_rw_user);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x00c00000 | (la & 0x3fffff));
	assert_int_equal(w.page_size, MiB(4));
	assert_int_equal(w.level, 2);
	/* The PDE that maps the page gets D. */
	assert_int_equal(get32(pde), 0x00c00000 | P | RW | US | PS | ACC | DIRTY);

	/* PSE-36: PDE bits 20:13 are physical-address bits 39:32, up to
	 * MAXPHYADDR (M = min(MAXPHYADDR, 40)); bits 21:(M-19) are reserved. */
	r.maxphyaddr = 40;
	put32(pde, 0x00c00000 | (0xffu << 13) | P | PS);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0xff00c00000ULL | (la & 0x3fffff));
	r.maxphyaddr = 52; /* still M = 40 */
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0xff00c00000ULL | (la & 0x3fffff));
	put32(pde, 0x00c00000 | BIT(21) | P | PS);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
	assert_int_equal(w.level, 2);
	r.maxphyaddr = 36; /* bits 16:13 are address, 21:17 reserved */
	put32(pde, 0x00c00000 | (0xfu << 13) | P | PS);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0xf00c00000ULL | (la & 0x3fffff));
	put32(pde, 0x00c00000 | BIT(17) | P | PS);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
	r.maxphyaddr = 32; /* all of 21:13 reserved */
	put32(pde, 0x00c00000 | BIT(13) | P | PS);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);

	/* Without CR4.PSE the PS flag is ignored: the PDE points to a page
	 * table (bits 31:12 are its address). */
	r.cr4 &= ~CR4_PSE;
	put32(pde, 0x4000 | P | PS | RW);
	put32(entry_gpa(PAGING_32BIT, 1, la), 0x7000 | P | RW);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x7000 | (la & 0xfff));
	assert_int_equal(w.page_size, KiB(4));
	/* The PDE is not the last entry: no D (bit 6) there. */
	assert_int_equal(get32(pde), 0x4000 | P | PS | RW | ACC);
	assert_int_equal(get32(entry_gpa(PAGING_32BIT, 1, la)), 0x7000 | P | RW | ACC | DIRTY);

	/* 32-bit paging has no XD bit and no reserved bits in 4-KByte entries;
	 * EFER.NXE changes nothing. */
	r.efer = EFER_NXE;
	put32(entry_gpa(PAGING_32BIT, 1, la), 0xfffff000 | P | BIT(7) | BIT(9) | BIT(10) | BIT(11));
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH, &w), PAGE_WALK_OK);
}

/* --- PAE paging --------------------------------------------------------------------------- */

static void test_pae(void **state)
{
	(void)state;
	const uint64_t la = 0xc0345678;
	struct paging_regs r = regs_for(PAGING_PAE);
	struct page_walk w;
	uint64_t pdpte = entry_gpa(PAGING_PAE, 3, la), pde = entry_gpa(PAGING_PAE, 2, la),
		 pte = entry_gpa(PAGING_PAE, 1, la);
	assert_int_equal(r.cr3, 0x1fe0);
	assert_int_equal(pdpte, 0x1fe0 + 3 * 8);

	/* 4 KBytes, PDPTE from memory at CR3. */
	map(PAGING_PAE, la, 1, 0x123456000ULL, all_rw_user);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_int_equal(w.mode, PAGING_PAE);
	assert_int_equal(w.gpa, 0x123456678ULL);
	assert_int_equal(w.page_size, KiB(4));
	/* PDPTEs have no accessed flag: bit 5 is reserved there. */
	assert_int_equal(get64(pdpte), 0x3000 | P);
	assert_int_equal(get64(pde), 0x4000 | P | RW | US | ACC);
	assert_int_equal(get64(pte), 0x123456000ULL | P | RW | US | ACC | DIRTY);

	/* 2 MBytes. */
	map(PAGING_PAE, la, 2, 0x7fe00000, all_rw_user);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x7fe00000 | (la & 0x1fffff));
	assert_int_equal(w.page_size, MiB(2));
	assert_int_equal(w.level, 2);
	/* Bit 12 (PAT) is not reserved; 20:13 are. */
	put64(pde, 0x7fe00000 | BIT(12) | P | PS);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x7fe00000 | (la & 0x1fffff));
	for (unsigned b = 13; b <= 20; b++) {
		put64(pde, 0x7fe00000 | BIT(b) | P | PS);
		assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
		assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
	}
	/* 62:M are reserved in PAE paging (not ignored as in 4-level paging). */
	put64(pde, 0x7fe00000 | BIT(62) | P | PS);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
	put64(pde, 0x7fe00000 | BIT(46) | P | PS);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
	put64(pde, 0x7fe00000 | BIT(45) | P | PS); /* M = 46: bit 45 is address */
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, BIT(45) | 0x7fe00000 | (la & 0x1fffff));
	/* XD: reserved without EFER.NXE; with it, no fetch. */
	put64(pde, 0x7fe00000 | XD | P | PS);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
	r.efer |= EFER_NXE;
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_ID);
	r.efer &= ~EFER_NXE;

	/* PDPTE reserved bits: 2:1, 8:5, 63:M (XD included, whatever NXE). */
	map(PAGING_PAE, la, 1, 0x5000, all_rw_user);
	static const unsigned pdpte_reserved[] = { 1, 2, 5, 6, 7, 8, 46, 52, 62, 63 };
	for (unsigned i = 0; i < ARRAY_SIZE(pdpte_reserved); i++) {
		put64(pdpte, 0x3000 | P | BIT(pdpte_reserved[i]));
		r.efer = pdpte_reserved[i] == 63 ? EFER_NXE : 0;
		assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
		assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
		assert_int_equal(w.level, 3);
		assert_int_equal(w.entry_gpa, pdpte);
	}
	r.efer = 0;
	/* PWT, PCD and the ignored bits 11:9 are allowed. */
	put64(pdpte, 0x3000 | P | PWT | PCD | BIT(9) | BIT(10) | BIT(11));
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x5678);
	/* Not present. */
	put64(pdpte, 0x3000);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE | PAGE_ACCESS_USER, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_WR | PF_ERROR_US);
	assert_int_equal(w.level, 3);

	/* The PDPTE registers, when given, are used instead of memory. */
	uint64_t regs[4] = { 0, 0, 0, 0x3000 | P };
	r.pdpte = regs;
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x5678);
	put64(pdpte, 0x3000 | P);
	regs[3] = 0;
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, 0);
	/* ...even when CR3 points outside RAM. */
	regs[3] = 0x3000 | P;
	r.cr3 = 0xffffffe0;
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	r.pdpte = NULL;
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_NOT_RAM);
	assert_int_equal(w.entry_gpa, 0xffffffe0 + 24);
	assert_int_equal(w.level, 3);

	/* Each of the four PDPTEs serves its GiB. */
	r.cr3 = 0x1fe0;
	for (unsigned i = 0; i < 4; i++)
		put64(0x1fe0 + 8 * i, 0);
	put64(0x1fe0, 0x3000 | P);
	put64(0x3000, 0x400000 | P | PS);
	assert_int_equal(walk(&r, 0x1234, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x401234);
	assert_int_equal(walk(&r, 0x40001234, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.entry_gpa, 0x1fe8);
}

/* PDPTEs live in registers loaded by MOV to CR3 (SDM Vol. 3A 4.4.1): later
 * writes to the table do not reach them until CR3 is loaded again. A walk
 * that reads them from memory sees such writes, including the accessed flag
 * it set itself in an entry that is also a PDPTE, where bit 5 is reserved.
 * Callers should pass the VMCS PDPTE fields. */
static void test_pae_pdpte_shares_an_entry(void **state)
{
	(void)state;
	struct paging_regs r = regs_for(PAGING_PAE);
	struct page_walk w;
	memset(ram, 0, 0x5000);
	r.cr3 = 0;
	put64(0, 0 | P); /* PDPTE 0, PDE 0 and PTE 0 at once: page 0 */
	assert_int_equal(walk(&r, 0x10, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x10);
	assert_int_equal(get64(0), P | ACC); /* set as PDE and PTE */
	/* From memory, the PDPTE now has a reserved bit... */
	assert_int_equal(walk(&r, 0x10, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
	assert_int_equal(w.level, 3);
	/* ...the PDPTE registers, loaded before, do not. */
	uint64_t regs[4] = { P }; /* no R/W: bit 1 is reserved in a PDPTE */
	r.pdpte = regs;
	assert_int_equal(walk(&r, 0x10, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x10);
}

/* --- 4-level paging ------------------------------------------------------------------------- */

static void test_4level_page_sizes(void **state)
{
	(void)state;
	const uint64_t la = 0x00007f123456789aULL;
	struct paging_regs r = regs_for(PAGING_4LEVEL);
	struct page_walk w;

	map(PAGING_4LEVEL, la, 1, 0x3fffffff000ULL, all_rw_user);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_int_equal(w.mode, PAGING_4LEVEL);
	assert_int_equal(w.gpa, 0x3fffffff000ULL | 0x89a);
	assert_int_equal(w.page_size, KiB(4));
	assert_int_equal(w.level, 1);
	for (unsigned level = 4; level >= 1; level--) {
		uint64_t e = get64(entry_gpa(PAGING_4LEVEL, level, la));
		assert_true(e & ACC);
		assert_int_equal(!!(e & DIRTY), level == 1);
	}

	map(PAGING_4LEVEL, la, 2, 0x40000000, all_rw_user);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x40000000 | (la & 0x1fffff));
	assert_int_equal(w.page_size, MiB(2));
	assert_int_equal(w.level, 2);
	assert_true(get64(entry_gpa(PAGING_4LEVEL, 2, la)) & DIRTY);
	assert_false(get64(entry_gpa(PAGING_4LEVEL, 3, la)) & DIRTY);

	map(PAGING_4LEVEL, la, 3, 0x1c0000000ULL, all_rw_user);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x1c0000000ULL | (la & 0x3fffffff));
	assert_int_equal(w.page_size, GiB(1));
	assert_int_equal(w.level, 3);
	assert_true(get64(entry_gpa(PAGING_4LEVEL, 3, la)) & DIRTY);
	assert_false(get64(entry_gpa(PAGING_4LEVEL, 4, la)) & DIRTY);

	/* The upper half of the address space. */
	const uint64_t high = 0xffff800000201000ULL;
	map(PAGING_4LEVEL, high, 1, 0x9000, all_rw_user);
	assert_int_equal(entry_gpa(PAGING_4LEVEL, 4, high), 0x1000 + 256 * 8);
	assert_int_equal(walk(&r, high + 0x10, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x9010);

	/* CR3's low bits (PCID, PWT, PCD) and bits above MAXPHYADDR are not the address. */
	r.cr3 = 0x1000 | 0xfff | BIT(63);
	assert_int_equal(walk(&r, high, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0x9000);
}

static void test_4level_reserved_bits(void **state)
{
	(void)state;
	const uint64_t la = 0x0000001234567000ULL;
	struct paging_regs r = regs_for(PAGING_4LEVEL);
	struct page_walk w;
	r.maxphyaddr = 39;

	/* Bits 51:M in every level. */
	for (unsigned level = 1; level <= 4; level++) {
		map(PAGING_4LEVEL, la, 1, 0x8000, all_rw_user);
		uint64_t gpa = entry_gpa(PAGING_4LEVEL, level, la);
		for (unsigned b = 39; b <= 51; b++) {
			put64(gpa, get64(gpa) | BIT(b));
			assert_int_equal(walk(&r, la, PAGE_ACCESS_USER, &w), PAGE_WALK_FAULT);
			assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD | PF_ERROR_US);
			assert_int_equal(w.level, level);
			assert_int_equal(w.entry_gpa, gpa);
			put64(gpa, get64(gpa) & ~BIT(b));
		}
		/* 62:52 are ignored. */
		put64(gpa, get64(gpa) | IGNORED_62_52);
		assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
		assert_int_equal(w.gpa, 0x8000);
		/* XD: reserved without NXE. */
		put64(gpa, get64(gpa) | XD);
		assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
		assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
		r.efer |= EFER_NXE;
		assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
		r.efer &= ~EFER_NXE;
	}
	/* With a wider MAXPHYADDR the same bit is address. */
	map(PAGING_4LEVEL, la, 1, BIT(39) | 0x8000, all_rw_user);
	r.maxphyaddr = 40;
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, BIT(39) | 0x8000);
	r.maxphyaddr = 52;
	map(PAGING_4LEVEL, la, 1, BIT(51) | 0x8000, all_rw_user);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, BIT(51) | 0x8000);
	r.maxphyaddr = 39;

	/* PML4E: PS is reserved. */
	map(PAGING_4LEVEL, la, 1, 0x8000, all_rw_user);
	uint64_t pml4e = entry_gpa(PAGING_4LEVEL, 4, la);
	put64(pml4e, get64(pml4e) | PS);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
	assert_int_equal(w.level, 4);

	/* 1-GByte page: 29:13 reserved, 12 (PAT) not; without 1-GByte page
	 * support, PS itself is reserved. */
	map(PAGING_4LEVEL, la, 3, 0x40000000, all_rw_user);
	uint64_t pdpte = entry_gpa(PAGING_4LEVEL, 3, la);
	put64(pdpte, get64(pdpte) | BIT(12));
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	for (unsigned b = 13; b <= 29; b++) {
		put64(pdpte, get64(pdpte) | BIT(b));
		assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
		assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
		put64(pdpte, get64(pdpte) & ~BIT(b));
	}
	r.page_1gb = false;
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
	assert_int_equal(w.level, 3);
	r.page_1gb = true;

	/* 2-MByte page: 20:13 reserved. */
	map(PAGING_4LEVEL, la, 2, 0x200000, all_rw_user);
	uint64_t pde = entry_gpa(PAGING_4LEVEL, 2, la);
	for (unsigned b = 13; b <= 20; b++) {
		put64(pde, get64(pde) | BIT(b));
		assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
		assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
		put64(pde, get64(pde) & ~BIT(b));
	}
	/* A not-present entry's other bits are not checked. */
	put64(pde, ~P);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_WR);
	assert_int_equal(w.level, 2);
}

static void test_4level_non_canonical(void **state)
{
	(void)state;
	struct paging_regs r = regs_for(PAGING_4LEVEL);
	struct page_walk w;
	static const uint64_t bad[] = { 0x0000800000000000ULL, 0xffff7fffffffffffULL,
					0x8000000000000000ULL, 0x0001000000000000ULL };
	memset(ram, 0, 0x5000);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(walk(&r, bad[i], 0, &w), PAGE_WALK_NON_CANONICAL);
		assert_non_null(w.why);
	}
	/* The edges of the canonical halves walk (and find nothing). */
	assert_int_equal(walk(&r, 0x00007fffffffffffULL, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(walk(&r, 0xffff800000000000ULL, 0, &w), PAGE_WALK_FAULT);
}

/* --- Not present, at each level of each mode ----------------------------------------------- */

static void test_not_present_each_level(void **state)
{
	(void)state;
	static const enum paging_mode modes[] = { PAGING_32BIT, PAGING_PAE, PAGING_4LEVEL };
	const uint64_t la = 0x40201abc;
	for (unsigned m = 0; m < ARRAY_SIZE(modes); m++) {
		enum paging_mode mode = modes[m];
		struct paging_regs r = regs_for(mode);
		for (unsigned level = top_level(mode); level >= 1; level--) {
			struct page_walk w;
			map(mode, la, 1, 0x9000, all_rw_user);
			uint64_t gpa = entry_gpa(mode, level, la);
			/* Clear P, leaving junk (including reserved bits) behind. */
			set_entry(mode, gpa, mode == PAGING_32BIT ? 0xfffffffe : ~P);
			uint8_t before[0x5000];
			memcpy(before, ram, sizeof(before));
			assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE | PAGE_ACCESS_USER, &w),
					 PAGE_WALK_FAULT);
			assert_int_equal(w.error_code, PF_ERROR_WR | PF_ERROR_US);
			assert_int_equal(w.level, level);
			assert_int_equal(w.entry_gpa, gpa);
			assert_non_null(strstr(w.why, "not present"));
			/* A fault sets no accessed flag. */
			assert_memory_equal(before, ram, sizeof(before));
		}
	}
}

/* --- Error-code bits --------------------------------------------------------------------- */

static void test_error_code_bits(void **state)
{
	(void)state;
	const uint64_t la = 0x5000;
	struct page_walk w;
	static const uint64_t none[5] = { 0 };

	/* Not present, each kind of access. */
	struct paging_regs r = regs_for(PAGING_4LEVEL);
	map(PAGING_4LEVEL, la, 1, 0, none);
	static const struct {
		unsigned access;
		uint32_t ec;
	} kinds[] = {
		{ 0, 0 },
		{ PAGE_ACCESS_WRITE, PF_ERROR_WR },
		{ PAGE_ACCESS_USER, PF_ERROR_US },
		{ PAGE_ACCESS_USER | PAGE_ACCESS_WRITE, PF_ERROR_US | PF_ERROR_WR },
		/* An implicit supervisor-mode access at CPL 3 is a supervisor access. */
		{ PAGE_ACCESS_USER | PAGE_ACCESS_IMPLICIT, 0 },
		{ PAGE_ACCESS_USER | PAGE_ACCESS_IMPLICIT | PAGE_ACCESS_WRITE, PF_ERROR_WR },
		{ PAGE_ACCESS_IMPLICIT, 0 },
		/* No I/D without NXE or SMEP. */
		{ PAGE_ACCESS_FETCH, 0 },
		{ PAGE_ACCESS_FETCH | PAGE_ACCESS_USER, PF_ERROR_US },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(kinds); i++) {
		assert_int_equal(walk(&r, la, kinds[i].access, &w), PAGE_WALK_FAULT);
		assert_int_equal(w.error_code, kinds[i].ec);
	}

	/* I/D: with NXE (PAE or 4-level paging), or with SMEP (any mode). */
	r.efer |= EFER_NXE;
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_ID);
	r.efer &= ~EFER_NXE;
	r.cr4 |= CR4_SMEP;
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH | PAGE_ACCESS_USER, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_ID | PF_ERROR_US);

	r = regs_for(PAGING_PAE);
	map(PAGING_PAE, la, 1, 0, none);
	r.efer |= EFER_NXE;
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_ID);

	/* 32-bit paging: CR4.PAE = 0, so NXE alone does not set I/D; SMEP does. */
	r = regs_for(PAGING_32BIT);
	map(PAGING_32BIT, la, 1, 0, none);
	r.efer |= EFER_NXE;
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, 0);
	r.cr4 |= CR4_SMEP;
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_ID);

	/* A reserved bit: P and RSVD, with the access bits. */
	r = regs_for(PAGING_4LEVEL);
	map(PAGING_4LEVEL, la, 1, BIT(50), all_rw_user);
	r.cr4 |= CR4_SMEP;
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH | PAGE_ACCESS_USER, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD | PF_ERROR_US | PF_ERROR_ID);
}

/* --- Access rights ---------------------------------------------------------------------- */

/* SDM Vol. 3A 4.6.1, restated bullet by bullet, as the reference. */
static bool sdm_allows(unsigned access, bool user_addr, bool writable, bool xd, bool wp,
		       bool smep, bool smap, bool ac)
{
	bool supervisor = !(access & PAGE_ACCESS_USER) || (access & PAGE_ACCESS_IMPLICIT);
	bool implicit = access & PAGE_ACCESS_IMPLICIT;
	if (access & PAGE_ACCESS_FETCH) {
		if (supervisor) {
			if (!user_addr)
				return !xd;            /* from supervisor-mode addresses: XD */
			return !smep && !xd;           /* from user-mode addresses: SMEP, XD */
		}
		return user_addr && !xd;               /* user mode: user addresses, XD */
	}
	if (access & PAGE_ACCESS_WRITE) {
		if (supervisor) {
			if (!user_addr)
				return !wp || writable;
			if (smap && (!ac || implicit))
				return false;
			return !wp || writable;
		}
		return user_addr && writable;
	}
	/* Data reads. */
	if (supervisor) {
		if (!user_addr)
			return true;
		return !smap || (ac && !implicit);
	}
	return user_addr;
}

static void test_access_rights_matrix(void **state)
{
	(void)state;
	static const enum paging_mode modes[] = { PAGING_32BIT, PAGING_PAE, PAGING_4LEVEL };
	static const unsigned accesses[] = {
		0,
		PAGE_ACCESS_WRITE,
		PAGE_ACCESS_FETCH,
		PAGE_ACCESS_USER,
		PAGE_ACCESS_USER | PAGE_ACCESS_WRITE,
		PAGE_ACCESS_USER | PAGE_ACCESS_FETCH,
		PAGE_ACCESS_IMPLICIT,
		PAGE_ACCESS_IMPLICIT | PAGE_ACCESS_WRITE,
		PAGE_ACCESS_IMPLICIT | PAGE_ACCESS_USER,
		PAGE_ACCESS_IMPLICIT | PAGE_ACCESS_USER | PAGE_ACCESS_WRITE,
	};
	const uint64_t la = 0x00403000;
	unsigned checked = 0, allowed = 0;
	for (unsigned m = 0; m < ARRAY_SIZE(modes); m++) {
		enum paging_mode mode = modes[m];
		unsigned top = top_level(mode), first = mode == PAGING_PAE ? 2 : top;
		/* Which level has U/S = 0, R/W = 0, XD = 1 (0: none). */
		for (unsigned us_at = 0; us_at <= first; us_at++)
		for (unsigned rw_at = 0; rw_at <= first; rw_at++)
		for (unsigned xd_at = 0; xd_at <= (mode == PAGING_32BIT ? 0 : first); xd_at++)
		for (unsigned cfg = 0; cfg < 32; cfg++) {
			bool wp = cfg & 1, smep = cfg & 2, smap = cfg & 4, ac = cfg & 8, nxe = cfg & 16;
			if (mode == PAGING_32BIT && nxe)
				continue;
			if (xd_at && !nxe)
				continue; /* XD without NXE is a reserved bit: tested elsewhere */
			uint64_t flags[5];
			for (unsigned l = 1; l <= 4; l++)
				flags[l] = P | (l == us_at ? 0 : US) | (l == rw_at ? 0 : RW) |
					   (l == xd_at ? XD : 0);
			map(mode, la, 1, 0x6000, flags);
			struct paging_regs r = regs_for(mode);
			r.cr0 |= wp ? CR0_WP : 0;
			r.cr4 |= (smep ? CR4_SMEP : 0) | (smap ? CR4_SMAP : 0);
			r.efer |= nxe ? EFER_NXE : 0;
			r.rflags |= ac ? AC_FLAG : 0;
			for (unsigned a = 0; a < ARRAY_SIZE(accesses); a++) {
				unsigned access = accesses[a];
				bool want = sdm_allows(access, !us_at, !rw_at, xd_at != 0, wp, smep,
						       smap, ac);
				struct page_walk w;
				enum page_walk_status s = walk(&r, la, access, &w);
				checked++;
				if (s != (want ? PAGE_WALK_OK : PAGE_WALK_FAULT))
					fail_msg("%s, U/S=0 at %u, R/W=0 at %u, XD at %u, WP %d SMEP %d "
						 "SMAP %d AC %d NXE %d, access 0x%x: status %d, SDM says %s",
						 paging_mode_name(mode), us_at, rw_at, xd_at, wp, smep,
						 smap, ac, nxe, access, s, want ? "allowed" : "fault");
				if (want) {
					allowed++;
					assert_int_equal(w.gpa, 0x6000);
					continue;
				}
				uint32_t ec = PF_ERROR_P;
				ec |= (access & PAGE_ACCESS_WRITE) ? PF_ERROR_WR : 0;
				ec |= (access & PAGE_ACCESS_USER) && !(access & PAGE_ACCESS_IMPLICIT)
					      ? PF_ERROR_US : 0;
				ec |= (access & PAGE_ACCESS_FETCH) && (smep || nxe) ? PF_ERROR_ID : 0;
				assert_int_equal(w.error_code, ec);
				assert_int_equal(w.level, 1);
			}
		}
	}
	assert_true(checked > 10000);
	assert_true(allowed > 1000 && allowed < checked - 1000);
}

/* The rules again, as single worked examples. */
static void test_access_rights_examples(void **state)
{
	(void)state;
	const uint64_t la = 0x00403000;
	struct paging_regs r = regs_for(PAGING_4LEVEL);
	struct page_walk w;
	uint64_t f[5];

	/* A user read of a supervisor page: the PDE alone makes it so. */
	for (unsigned l = 1; l <= 4; l++)
		f[l] = P | RW | (l == 2 ? 0 : US);
	map(PAGING_4LEVEL, la, 1, 0x6000, f);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_USER, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_US);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);

	/* A supervisor write to a read-only page: allowed with WP = 0. */
	for (unsigned l = 1; l <= 4; l++)
		f[l] = P | US | (l == 3 ? 0 : RW);
	map(PAGING_4LEVEL, la, 1, 0x6000, f);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	r.cr0 |= CR0_WP;
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_WR);
	/* A user write to it: never. */
	r.cr0 &= ~CR0_WP;
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE | PAGE_ACCESS_USER, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_WR | PF_ERROR_US);

	/* SMAP: a supervisor read of a user page faults unless AC = 1, and
	 * an implicit access faults whatever AC. */
	map(PAGING_4LEVEL, la, 1, 0x6000, all_rw_user);
	r.cr4 |= CR4_SMAP;
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P);
	r.rflags |= AC_FLAG;
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_IMPLICIT, &w), PAGE_WALK_FAULT);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_IMPLICIT | PAGE_ACCESS_USER, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P);
	/* A user access is not affected by SMAP. */
	r.rflags &= ~AC_FLAG;
	assert_int_equal(walk(&r, la, PAGE_ACCESS_USER | PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	r.cr4 &= ~CR4_SMAP;

	/* SMEP: no supervisor fetch from a user page; a user fetch is fine. */
	r.cr4 |= CR4_SMEP;
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_ID);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH | PAGE_ACCESS_USER, &w), PAGE_WALK_OK);
	r.cr4 &= ~CR4_SMEP;

	/* NX: XD in the PML4E forbids fetches, not reads. */
	f[4] = P | RW | US | XD;
	f[3] = f[2] = f[1] = P | RW | US;
	map(PAGING_4LEVEL, la, 1, 0x6000, f);
	r.efer |= EFER_NXE;
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_ID);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE | PAGE_ACCESS_USER, &w), PAGE_WALK_OK);
	/* Without NXE, the same bit is reserved. */
	r.efer &= ~EFER_NXE;
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, PF_ERROR_P | PF_ERROR_RSVD);
	assert_int_equal(w.level, 4);

	/* A protection fault sets no accessed flag. */
	map(PAGING_4LEVEL, la, 1, 0x6000, all_rw_user);
	r.cr4 |= CR4_SMEP;
	uint8_t before[0x5000];
	memcpy(before, ram, sizeof(before));
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH, &w), PAGE_WALK_FAULT);
	assert_memory_equal(before, ram, sizeof(before));
}

/* --- Accessed and dirty flags ------------------------------------------------------------ */

static void test_accessed_dirty(void **state)
{
	(void)state;
	const uint64_t la = 0x00403000;
	struct paging_regs r = regs_for(PAGING_4LEVEL);
	struct page_walk w;
	uint64_t f[5];
	/* Other bits of each entry are kept: the ignored ones set. */
	for (unsigned l = 1; l <= 4; l++)
		f[l] = P | RW | US | BIT(9) | BIT(10) | BIT(11) | BIT(52) | BIT(58);
	map(PAGING_4LEVEL, la, 1, 0x6000, f);
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_OK);
	for (unsigned l = 1; l <= 4; l++)
		assert_int_equal(get64(entry_gpa(PAGING_4LEVEL, l, la)),
				 (l == 1 ? 0x6000 : table_at(PAGING_4LEVEL, l - 1)) | f[l] | ACC);
	/* A fetch and a read set no D. */
	assert_int_equal(walk(&r, la, PAGE_ACCESS_FETCH, &w), PAGE_WALK_OK);
	assert_false(get64(entry_gpa(PAGING_4LEVEL, 1, la)) & DIRTY);
	/* Once set, the flags are not written again: memory stays as it is
	 * even if the walk's copy would differ (it does not here). */
	uint8_t before[0x5000];
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	memcpy(before, ram, sizeof(before));
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_memory_equal(before, ram, sizeof(before));
	/* D only where the page is mapped: a 2-MByte page's PDE. */
	map(PAGING_4LEVEL, la, 2, 0x200000, all_rw_user);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_int_equal(get64(entry_gpa(PAGING_4LEVEL, 2, la)), 0x200000 | P | RW | US | PS | ACC | DIRTY);
	assert_int_equal(get64(entry_gpa(PAGING_4LEVEL, 3, la)), 0x3000 | P | RW | US | ACC);
	/* Accessed flags are set even for a translation to a page outside RAM (MMIO). */
	map(PAGING_4LEVEL, la, 1, 0xfee00000, all_rw_user);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0xfee00000);
	assert_true(get64(entry_gpa(PAGING_4LEVEL, 1, la)) & DIRTY);

	/* A PML4 that maps itself (a recursive mapping): one entry serves as
	 * PML4E, PDPTE, PDE and PTE, and ends with both A and D. */
	memset(ram, 0, 0x5000);
	const uint64_t self = 0x1000 + 5 * 8;
	put64(self, 0x1000 | P | RW);
	const uint64_t rla = (5ULL << 39) | (5ULL << 30) | (5ULL << 21) | (5ULL << 12) | 0x28;
	assert_int_equal(walk(&r, rla, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, self);
	assert_int_equal(get64(self), 0x1000 | P | RW | ACC | DIRTY);
}

/* --- Paging structures outside RAM ---------------------------------------------------------- */

static void test_not_ram(void **state)
{
	(void)state;
	const uint64_t la = 0x00403000;
	struct page_walk w;

	/* CR3 outside RAM: the very first entry. */
	struct paging_regs r = regs_for(PAGING_4LEVEL);
	r.cr3 = RAM_SIZE;
	assert_int_equal(walk(&r, la, 0, &w), PAGE_WALK_NOT_RAM);
	assert_int_equal(w.level, 4);
	assert_int_equal(w.entry_gpa, RAM_SIZE);
	assert_non_null(strstr(w.why, "outside guest RAM"));

	/* A PDE pointing to a page table at the local APIC. */
	r = regs_for(PAGING_4LEVEL);
	map(PAGING_4LEVEL, la, 1, 0x6000, all_rw_user);
	put64(entry_gpa(PAGING_4LEVEL, 2, la), 0xfee00000 | P | RW);
	uint8_t before[0x5000];
	memcpy(before, ram, sizeof(before));
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_NOT_RAM);
	assert_int_equal(w.level, 1);
	assert_int_equal(w.entry_gpa, 0xfee00000 + ((la >> 12) & 511) * 8);
	assert_memory_equal(before, ram, sizeof(before)); /* no accessed flags either */

	/* 32-bit paging: the PD just past the end of RAM. */
	r = regs_for(PAGING_32BIT);
	r.cr3 = RAM_SIZE;
	assert_int_equal(walk(&r, 0, 0, &w), PAGE_WALK_NOT_RAM);
	assert_int_equal(w.level, 2);

	/* An entry straddling the end of RAM: RAM that ends mid-entry. */
	struct guest_mem short_mem = { ram, 0x1000 + 4 };
	r = regs_for(PAGING_4LEVEL);
	memset(ram, 0, 0x5000);
	assert_int_equal(page_walk(&short_mem, &r, 0, 0, &w), PAGE_WALK_NOT_RAM);
	assert_int_equal(w.entry_gpa, 0x1000);
	/* ...and a 4-byte entry that just fits. */
	r = regs_for(PAGING_32BIT);
	assert_int_equal(page_walk(&short_mem, &r, 0, 0, &w), PAGE_WALK_FAULT);
	assert_int_equal(w.error_code, 0);

	/* The page itself outside RAM is fine: that is MMIO. */
	r = regs_for(PAGING_PAE);
	map(PAGING_PAE, la, 2, 0xfec00000, all_rw_user);
	assert_int_equal(walk(&r, la, PAGE_ACCESS_WRITE, &w), PAGE_WALK_OK);
	assert_int_equal(w.gpa, 0xfec00000 | (la & 0x1fffff));
}

/* --- What the walk does not do ----------------------------------------------------------- */

static void test_unsupported(void **state)
{
	(void)state;
	struct page_walk w;
	struct paging_regs r = regs_for(PAGING_4LEVEL);
	map(PAGING_4LEVEL, 0x1000, 1, 0x6000, all_rw_user);
	assert_int_equal(walk(&r, 0x1000, 0, &w), PAGE_WALK_OK);

	r.cr4 |= CR4_LA57;
	assert_int_equal(paging_mode(&r), PAGING_UNSUPPORTED);
	assert_int_equal(walk(&r, 0x1000, 0, &w), PAGE_WALK_UNSUPPORTED);
	assert_non_null(strstr(w.why, "5-level"));
	r.cr4 &= ~CR4_LA57;

	r.cr4 |= CR4_PKE;
	assert_int_equal(walk(&r, 0x1000, 0, &w), PAGE_WALK_UNSUPPORTED);
	assert_non_null(strstr(w.why, "protection keys"));
	r.cr4 &= ~CR4_PKE;
	r.cr4 |= BIT(24); /* PKS */
	assert_int_equal(walk(&r, 0x1000, 0, &w), PAGE_WALK_UNSUPPORTED);
	r.cr4 &= ~BIT(24);

	/* Protection keys exist only in IA-32e mode: PAE paging ignores PKE. */
	struct paging_regs pae = regs_for(PAGING_PAE);
	map(PAGING_PAE, 0x1000, 1, 0x6000, all_rw_user);
	pae.cr4 |= CR4_PKE;
	assert_int_equal(walk(&pae, 0x1000, 0, &w), PAGE_WALK_OK);
	/* Wider than 32 bits outside IA-32e mode. */
	assert_int_equal(walk(&pae, 0x100001000ULL, 0, &w), PAGE_WALK_UNSUPPORTED);

	/* LMA without PAE cannot happen on a CPU: refused. */
	struct paging_regs odd = regs_for(PAGING_32BIT);
	odd.efer = EFER_LMA;
	assert_int_equal(paging_mode(&odd), PAGING_UNSUPPORTED);
	assert_int_equal(walk(&odd, 0x1000, 0, &w), PAGE_WALK_UNSUPPORTED);

	/* MAXPHYADDR outside 32..52. */
	r.maxphyaddr = 31;
	assert_int_equal(walk(&r, 0x1000, 0, &w), PAGE_WALK_UNSUPPORTED);
	r.maxphyaddr = 53;
	assert_int_equal(walk(&r, 0x1000, 0, &w), PAGE_WALK_UNSUPPORTED);
	r.maxphyaddr = 46;

	/* Requests that make no sense. */
	assert_int_equal(walk(&r, 0x1000, PAGE_ACCESS_FETCH | PAGE_ACCESS_WRITE, &w),
			 PAGE_WALK_UNSUPPORTED);
	assert_int_equal(walk(&r, 0x1000, PAGE_ACCESS_FETCH | PAGE_ACCESS_IMPLICIT, &w),
			 PAGE_WALK_UNSUPPORTED);
	assert_int_equal(walk(&r, 0x1000, BIT(7), &w), PAGE_WALK_UNSUPPORTED);

	/* Names, for messages. */
	assert_string_equal(paging_mode_name(PAGING_4LEVEL), "4-level paging");
	assert_string_equal(page_walk_level_name(PAGING_4LEVEL, 4), "PML4E");
	assert_string_equal(page_walk_level_name(PAGING_32BIT, 1), "PTE");
}

/* --- Random tables ----------------------------------------------------------------------- */

static uint64_t rnd64(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* 20000 walks over random entries in a 32 KiB RAM (exactly allocated, so
 * ASan sees any stray access), most of them pointing inside it: the status
 * is consistent with what the walk reports, RAM changes only by setting
 * A/D bits and only on success, and a second walk gives the same answer
 * and changes nothing. */
static void test_random_tables(void **state)
{
	(void)state;
	const size_t size = KiB(32);
	uint8_t *small = malloc(size), *before = malloc(size);
	struct guest_mem sm = { small, size };
	uint64_t seed = 0x1234567;
	unsigned seen[PAGE_WALK_UNSUPPORTED + 1] = { 0 };
	for (unsigned iter = 0; iter < 20000; iter++) {
		for (size_t i = 0; i < size; i += 8) {
			/* Mostly plausible entries: present, pointing into this RAM,
			 * random flags, XD now and then; some entirely random. */
			uint64_t e = rnd64(&seed), r2 = rnd64(&seed);
			if (e & 7) {
				e = (r2 & 0x7fff) | P | ((r2 >> 20) & 0x7ff0000000000000ULL);
				if (((r2 >> 32) & 15) == 0)
					e |= 0x8000; /* just past the end of RAM */
				if (!(r2 >> 61))
					e |= XD;
			}
			memcpy(small + i, &e, 8);
		}
		uint64_t x = rnd64(&seed);
		struct paging_regs r = regs_for((enum paging_mode)(1 + x % 3));
		r.cr3 = (r.cr3 & 0xfff) | (rnd64(&seed) & 0x7000);
		r.cr0 |= (x & 8) ? CR0_WP : 0;
		r.cr4 |= ((x & 16) ? CR4_SMEP : 0) | ((x & 32) ? CR4_SMAP : 0) | ((x & 64) ? CR4_PSE : 0);
		r.efer |= (x & 128) ? EFER_NXE : 0;
		r.rflags |= (x & 256) ? AC_FLAG : 0;
		r.maxphyaddr = 32 + (unsigned)((x >> 9) % 21);
		r.page_1gb = x & BIT(20);
		uint64_t pdptes[4] = { rnd64(&seed), rnd64(&seed), rnd64(&seed), rnd64(&seed) };
		r.pdpte = (x & BIT(21)) ? pdptes : NULL;
		uint64_t la = rnd64(&seed);
		if (paging_mode(&r) != PAGING_4LEVEL)
			la &= 0xffffffff;
		else if (x & BIT(22))
			la = (uint64_t)((int64_t)(la << 16) >> 16);
		static const unsigned accesses[] = {
			0, PAGE_ACCESS_WRITE, PAGE_ACCESS_FETCH, PAGE_ACCESS_USER,
			PAGE_ACCESS_USER | PAGE_ACCESS_WRITE, PAGE_ACCESS_USER | PAGE_ACCESS_FETCH,
			PAGE_ACCESS_IMPLICIT, PAGE_ACCESS_IMPLICIT | PAGE_ACCESS_WRITE,
			PAGE_ACCESS_IMPLICIT | PAGE_ACCESS_USER, PAGE_ACCESS_FETCH | PAGE_ACCESS_WRITE,
		};
		unsigned access = accesses[rnd64(&seed) % ARRAY_SIZE(accesses)];

		memcpy(before, small, size);
		struct page_walk w, again;
		enum page_walk_status s = page_walk(&sm, &r, la, access, &w);
		seen[s]++;
		bool ram_changed = false;
		for (size_t i = 0; i < size; i++) {
			uint8_t changed = before[i] ^ small[i];
			assert_true((changed & ~(ACC | DIRTY)) == 0 && (before[i] & changed) == 0);
			if (changed)
				assert_int_equal(s, PAGE_WALK_OK);
			ram_changed = ram_changed || changed;
		}
		switch (s) {
		case PAGE_WALK_OK:
			assert_true(w.page_size == KiB(4) || w.page_size == MiB(2) ||
				    w.page_size == MiB(4) || w.page_size == GiB(1));
			assert_int_equal(w.gpa & (w.page_size - 1), la & (w.page_size - 1));
			assert_true(w.gpa < BIT(r.maxphyaddr));
			break;
		case PAGE_WALK_FAULT:
			assert_true((w.error_code & ~0x1fu) == 0);
			assert_int_equal(!!(w.error_code & PF_ERROR_WR), !!(access & PAGE_ACCESS_WRITE));
			if (w.error_code & PF_ERROR_RSVD)
				assert_true(w.error_code & PF_ERROR_P);
			break;
		case PAGE_WALK_NOT_RAM:
			assert_false(range_within(w.entry_gpa, entry_size(w.mode), 0, size));
			break;
		default:
			assert_non_null(w.why);
			break;
		}
		/* Again: the same, and nothing more changes. Except PAE PDPTEs read
		 * from memory that the first walk's accessed flags changed (see
		 * test_pae_pdpte_shares_an_entry). */
		memcpy(before, small, size);
		enum page_walk_status s2 = page_walk(&sm, &r, la, access, &again);
		if (!(ram_changed && paging_mode(&r) == PAGING_PAE && !r.pdpte)) {
			assert_int_equal(s2, s);
			assert_memory_equal(&w, &again, sizeof(w));
		}
		assert_memory_equal(before, small, size);
	}
	free(small);
	free(before);
	print_message("random tables: %u OK, %u faults, %u outside RAM, %u non-canonical, %u refused\n",
		      seen[0], seen[1], seen[2], seen[3], seen[4]);
	assert_true(seen[PAGE_WALK_OK] > 500);
	assert_true(seen[PAGE_WALK_FAULT] > 500);
	assert_true(seen[PAGE_WALK_NOT_RAM] > 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paging_off),
		cmocka_unit_test(test_32bit_4k),
		cmocka_unit_test(test_32bit_4m_and_pse36),
		cmocka_unit_test(test_pae),
		cmocka_unit_test(test_pae_pdpte_shares_an_entry),
		cmocka_unit_test(test_4level_page_sizes),
		cmocka_unit_test(test_4level_reserved_bits),
		cmocka_unit_test(test_4level_non_canonical),
		cmocka_unit_test(test_not_present_each_level),
		cmocka_unit_test(test_error_code_bits),
		cmocka_unit_test(test_access_rights_matrix),
		cmocka_unit_test(test_access_rights_examples),
		cmocka_unit_test(test_accessed_dirty),
		cmocka_unit_test(test_not_ram),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_random_tables),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
