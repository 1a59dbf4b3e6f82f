#include "vm/page_walk.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"

/* Bits of a paging-structure entry (SDM Vol. 3A 4.3, 4.4.2, 4.5.4). */
#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_US BIT(2)
#define PTE_A BIT(5)
#define PTE_D BIT(6)
#define PTE_PS BIT(7)
#define PTE_XD BIT(63)

/* CR4 bits arch/x86/cpu.h does not name (SDM Vol. 3A 2.5). */
#define CR4_PKS_BIT BIT(24)
#define RFLAGS_AC_BIT BIT(18)

#define PAGE_ACCESS_ALL (PAGE_ACCESS_WRITE | PAGE_ACCESS_FETCH | PAGE_ACCESS_USER | PAGE_ACCESS_IMPLICIT)

/* Bits hi..lo of a 64-bit value; none when lo > hi. */
static uint64_t bits(unsigned hi, unsigned lo)
{
	if (lo > hi || lo > 63)
		return 0;
	uint64_t upto_hi = hi >= 63 ? ~0ULL : BIT(hi + 1) - 1;
	return upto_hi & ~(BIT(lo) - 1);
}

enum paging_mode paging_mode(const struct paging_regs *r)
{
	/* SDM Vol. 3A 4.1.1, Table 4-1: CR0.PG, CR4.PAE, IA32_EFER.LMA (= LME
	 * once paging is on), and CR4.LA57 for 5-level paging. */
	if (!(r->cr0 & CR0_PG))
		return PAGING_OFF;
	if (!(r->cr4 & CR4_PAE))
		return (r->efer & EFER_LMA) ? PAGING_UNSUPPORTED : PAGING_32BIT;
	if (!(r->efer & EFER_LMA))
		return PAGING_PAE;
	return (r->cr4 & CR4_LA57) ? PAGING_UNSUPPORTED : PAGING_4LEVEL;
}

const char *paging_mode_name(enum paging_mode mode)
{
	static const char *const names[] = { [PAGING_OFF] = "paging off",
					     [PAGING_32BIT] = "32-bit paging",
					     [PAGING_PAE] = "PAE paging",
					     [PAGING_4LEVEL] = "4-level paging",
					     [PAGING_UNSUPPORTED] = "an unsupported paging mode" };
	return (unsigned)mode < ARRAY_SIZE(names) ? names[mode] : "?";
}

const char *page_walk_level_name(enum paging_mode mode, unsigned level)
{
	(void)mode; /* the names are the same in every mode (SDM Vol. 3A 4.2) */
	static const char *const names[] = { "?", "PTE", "PDE", "PDPTE", "PML4E" };
	return level < ARRAY_SIZE(names) ? names[level] : "?";
}

/* --- One walk -------------------------------------------------------------------- */

struct walk {
	const struct guest_mem *mem;
	const struct paging_regs *r;
	enum paging_mode mode;
	unsigned access;
	unsigned m;      /* MAXPHYADDR */
	bool nxe;        /* bit 63 is XD (PAE or 4-level paging with EFER.NXE), else reserved */
	unsigned entry_size;
	/* The entries used, top level first, for the accessed and dirty flags. */
	struct {
		uint64_t gpa, value;
	} used[4];
	unsigned n_used;
	struct page_walk *out;
};

static enum page_walk_status unsupported(struct page_walk *out, const char *why)
{
	out->why = why;
	return PAGE_WALK_UNSUPPORTED;
}

/* The error code's W/R, U/S and I/D bits describe the access, not the page
 * (SDM Vol. 3A 4.7). I/D is set for a fetch only when CR4.SMEP = 1, or
 * CR4.PAE = 1 and IA32_EFER.NXE = 1. */
static uint32_t access_error_bits(const struct walk *w)
{
	uint32_t ec = 0;
	if (w->access & PAGE_ACCESS_WRITE)
		ec |= PF_ERROR_WR;
	if ((w->access & PAGE_ACCESS_USER) && !(w->access & PAGE_ACCESS_IMPLICIT))
		ec |= PF_ERROR_US;
	if ((w->access & PAGE_ACCESS_FETCH) &&
	    ((w->r->cr4 & CR4_SMEP) || ((w->r->cr4 & CR4_PAE) && (w->r->efer & EFER_NXE))))
		ec |= PF_ERROR_ID;
	return ec;
}

static enum page_walk_status fault(struct walk *w, unsigned level, uint64_t entry_gpa,
				   uint32_t kind, const char *why)
{
	w->out->error_code = access_error_bits(w) | kind;
	w->out->level = level;
	w->out->entry_gpa = entry_gpa;
	w->out->why = why;
	return PAGE_WALK_FAULT;
}

/* Read one paging-structure entry, once, into *e. */
static bool read_entry(const struct walk *w, uint64_t gpa, uint64_t *e)
{
	if (w->entry_size == 4) {
		uint32_t v;
		if (!guest_read(w->mem, gpa, &v, 4))
			return false;
		*e = v;
		return true;
	}
	return guest_read(w->mem, gpa, e, 8);
}

static enum page_walk_status not_ram(struct walk *w, unsigned level, uint64_t entry_gpa)
{
	w->out->level = level;
	w->out->entry_gpa = entry_gpa;
	w->out->why = "a paging-structure entry is outside guest RAM";
	return PAGE_WALK_NOT_RAM;
}

/* The bits of entry e at level that must be 0 (SDM Vol. 3A Tables 4-4 to 4-6
 * for 32-bit paging, 4-9 to 4-11 for PAE paging, 4-15 to 4-20 for 4-level
 * paging). M is MAXPHYADDR. */
static uint64_t reserved_bits(const struct walk *w, unsigned level, uint64_t e)
{
	if (w->mode == PAGING_32BIT) {
		/* Only a PDE mapping a 4-MByte page has reserved bits: 21:(M-19),
		 * with M = min(MAXPHYADDR, 40) since bits 20:13 hold physical
		 * address bits (M-1):32 (PSE-36). */
		if (level == 2 && (e & PTE_PS) && (w->r->cr4 & CR4_PSE))
			return bits(21, MIN(w->m, 40) - 19);
		return 0;
	}
	/* PAE: 62:M reserved; 4-level: 51:M reserved, 62:52 ignored.
	 * Bit 63 is XD with EFER.NXE, reserved without. */
	uint64_t rsvd = w->mode == PAGING_PAE ? bits(62, w->m) : bits(51, w->m);
	if (!w->nxe)
		rsvd |= PTE_XD;
	if (level == 4)
		rsvd |= PTE_PS; /* PML4E: PS must be 0 */
	else if (level == 3 && (e & PTE_PS))
		/* A PDPTE mapping a 1-GByte page: 29:13 reserved; without
		 * 1-GByte page support, PS itself is reserved. */
		rsvd |= w->r->page_1gb ? bits(29, 13) : PTE_PS;
	else if (level == 2 && (e & PTE_PS))
		rsvd |= bits(20, 13); /* a PDE mapping a 2-MByte page */
	return rsvd;
}

/* Whether entry e at level maps a page rather than pointing to a table. */
static bool maps_page(const struct walk *w, unsigned level, uint64_t e)
{
	if (level == 1)
		return true;
	if (!(e & PTE_PS))
		return false;
	if (w->mode == PAGING_32BIT)
		return level == 2 && (w->r->cr4 & CR4_PSE); /* without PSE, PS is ignored */
	return level == 2 || level == 3; /* level 4 PS was refused as reserved */
}

/* The physical address the leaf entry e at level gives for la. */
static uint64_t page_address(const struct walk *w, unsigned level, uint64_t e, uint64_t la,
			     uint64_t *page_size)
{
	if (w->mode == PAGING_32BIT) {
		if (level == 1) {
			*page_size = KiB(4);
			return (e & 0xfffff000ULL) | (la & 0xfff);
		}
		/* 4 MBytes: bits 31:22 from the PDE, 39:32 from its bits 20:13. */
		*page_size = MiB(4);
		return (e & 0xffc00000ULL) | (((e >> 13) & 0xff) << 32) | (la & (MiB(4) - 1));
	}
	unsigned shift = level == 1 ? 12 : level == 2 ? 21 : 30;
	*page_size = BIT(shift);
	return (e & bits(w->m - 1, shift)) | (la & (BIT(shift) - 1));
}

/* May this access use a translation whose entries give user_page (U/S = 1
 * in all of them), writable (R/W = 1 in all) and xd (XD = 1 in one, with
 * NXE)? SDM Vol. 3A 4.6.1. */
static bool access_allowed(const struct walk *w, bool user_page, bool writable, bool xd)
{
	const struct paging_regs *r = w->r;
	bool write = w->access & PAGE_ACCESS_WRITE, fetch = w->access & PAGE_ACCESS_FETCH;
	bool implicit = w->access & PAGE_ACCESS_IMPLICIT;

	if ((w->access & PAGE_ACCESS_USER) && !implicit) {
		/* User-mode access: only user-mode addresses; writes need R/W = 1
		 * everywhere; fetches need XD = 0 everywhere. */
		return user_page && !(write && !writable) && !(fetch && xd);
	}
	/* Supervisor-mode access. */
	if (fetch)
		/* SMEP: no fetches from user-mode addresses. */
		return !(user_page && (r->cr4 & CR4_SMEP)) && !xd;
	/* SMAP: no data accesses to user-mode addresses, except explicit
	 * ones with RFLAGS.AC = 1. */
	if (user_page && (r->cr4 & CR4_SMAP) && (implicit || !(r->rflags & RFLAGS_AC_BIT)))
		return false;
	/* CR0.WP: supervisor writes honour R/W. */
	return !(write && !writable && (r->cr0 & CR0_WP));
}

/* Set the accessed flag of every entry used and the dirty flag of the one
 * that mapped the page, for a write (SDM Vol. 3A 4.8). The CPU does this with
 * a locked OR; the guest is not running during an exit (one vCPU), so writing
 * the low byte (bits 7:0) of the copy read during the walk is the same, and
 * top level first keeps it right when one entry serves at two levels. */
static bool set_accessed_dirty(struct walk *w)
{
	for (unsigned i = 0; i < w->n_used; i++) {
		uint64_t set = PTE_A;
		if (i == w->n_used - 1 && (w->access & PAGE_ACCESS_WRITE))
			set |= PTE_D;
		if ((w->used[i].value & set) == set)
			continue;
		uint8_t low = (uint8_t)(w->used[i].value | set);
		if (!guest_write(w->mem, w->used[i].gpa, &low, 1))
			return false;
	}
	return true;
}

enum page_walk_status page_walk(const struct guest_mem *mem, const struct paging_regs *r,
				uint64_t la, unsigned access, struct page_walk *out)
{
	struct walk w = { .mem = mem, .r = r, .access = access, .m = r->maxphyaddr, .out = out };

	memset(out, 0, sizeof(*out));
	w.mode = out->mode = paging_mode(r);
	if ((access & ~PAGE_ACCESS_ALL) ||
	    ((access & PAGE_ACCESS_FETCH) && (access & (PAGE_ACCESS_WRITE | PAGE_ACCESS_IMPLICIT))))
		return unsupported(out, "an access that is a write and a fetch, or an implicit fetch");
	if (w.mode == PAGING_UNSUPPORTED)
		return unsupported(out, (r->cr4 & CR4_PAE) ? "5-level paging (CR4.LA57) is not walked"
							   : "IA-32e mode without CR4.PAE");
	if (w.mode != PAGING_4LEVEL && (la >> 32))
		return unsupported(out, "a linear address wider than 32 bits outside IA-32e mode");
	if (w.mode == PAGING_OFF) {
		/* Linear is physical (SDM Vol. 3A 4.1.1). */
		out->gpa = la;
		out->page_size = GiB(4);
		return PAGE_WALK_OK;
	}
	if (w.m < 32 || w.m > 52)
		return unsupported(out, "MAXPHYADDR outside 32..52");
	if (w.mode == PAGING_4LEVEL && (r->cr4 & (CR4_PKE | CR4_PKS_BIT)))
		return unsupported(out, "protection keys (CR4.PKE, CR4.PKS) are not walked");
	if (w.mode == PAGING_4LEVEL) {
		/* Bits 63:47 all equal (SDM Vol. 1 3.3.7.1). */
		uint64_t top = la >> 47;
		if (top != 0 && top != 0x1ffff) {
			out->why = "a non-canonical linear address";
			return PAGE_WALK_NON_CANONICAL;
		}
	}
	w.nxe = w.mode != PAGING_32BIT && (r->efer & EFER_NXE);
	w.entry_size = w.mode == PAGING_32BIT ? 4 : 8;

	unsigned level, index_bits = w.mode == PAGING_32BIT ? 10 : 9;
	uint64_t table, e, entry_gpa;
	if (w.mode == PAGING_32BIT) {
		level = 2;
		table = r->cr3 & 0xfffff000ULL; /* CR3 bits 31:12 (4.3) */
	} else if (w.mode == PAGING_4LEVEL) {
		level = 4;
		table = r->cr3 & bits(w.m - 1, 12); /* CR3 bits M-1:12 (4.5.2) */
	} else {
		/* PAE paging: the PDPTE for bits 31:30 of la, from the PDPTE
		 * registers or the 32-byte table at CR3 bits 31:5 (4.4.1).
		 * PDPTEs have no accessed flag and no access-right bits. */
		unsigned i = (unsigned)(la >> 30) & 3;
		entry_gpa = (r->cr3 & 0xffffffe0ULL) + 8 * i;
		if (r->pdpte)
			e = r->pdpte[i];
		else if (!read_entry(&w, entry_gpa, &e))
			return not_ram(&w, 3, entry_gpa);
		if (!(e & PTE_P))
			return fault(&w, 3, entry_gpa, 0, "the PDPTE is not present");
		/* Table 4-8: bits 2:1, 8:5 and 63:M reserved. Hardware checks
		 * them when it loads the PDPTE registers (#GP then, 4.4.1);
		 * a walk from memory reports them as RSVD. */
		if (e & (bits(2, 1) | bits(8, 5) | bits(63, w.m)))
			return fault(&w, 3, entry_gpa, PF_ERROR_P | PF_ERROR_RSVD,
				     "the PDPTE sets a reserved bit");
		level = 2;
		table = e & bits(w.m - 1, 12);
	}

	bool user_page = true, writable = true, xd = false;
	for (;; level--) {
		unsigned shift = 12 + (level - 1) * index_bits;
		uint64_t index = (la >> shift) & (BIT(index_bits) - 1);
		entry_gpa = table + index * w.entry_size;
		if (!read_entry(&w, entry_gpa, &e))
			return not_ram(&w, level, entry_gpa);
		if (!(e & PTE_P))
			return fault(&w, level, entry_gpa, 0, "a paging-structure entry is not present");
		if (e & reserved_bits(&w, level, e))
			return fault(&w, level, entry_gpa, PF_ERROR_P | PF_ERROR_RSVD,
				     "a paging-structure entry sets a reserved bit");
		w.used[w.n_used].gpa = entry_gpa;
		w.used[w.n_used].value = e;
		w.n_used++;
		user_page = user_page && (e & PTE_US);
		writable = writable && (e & PTE_RW);
		xd = xd || (w.nxe && (e & PTE_XD));
		if (maps_page(&w, level, e))
			break;
		table = w.mode == PAGING_32BIT ? e & 0xfffff000ULL : e & bits(w.m - 1, 12);
	}

	if (!access_allowed(&w, user_page, writable, xd))
		return fault(&w, level, entry_gpa, PF_ERROR_P,
			     "the page's access rights do not allow the access");
	if (!set_accessed_dirty(&w))
		return not_ram(&w, level, entry_gpa);
	out->gpa = page_address(&w, level, e, la, &out->page_size);
	out->level = level;
	out->entry_gpa = entry_gpa;
	return PAGE_WALK_OK;
}
