#include "ept/ept.h"
#include "lib/printf.h"

/* Level 3 = PML4, 2 = PDPT, 1 = PD, 0 = PT; each index is 9 bits of the GPA. */
static unsigned index_at(uint64_t gpa, int level)
{
	return (unsigned)((gpa >> (12 + 9 * level)) & 0x1ff);
}

static uint64_t *table_at(const struct ept *e, uint64_t pa)
{
	return e->ops->phys_to_virt(e->ops->ctx, pa);
}

bool ept_init(struct ept *e, const struct ept_ops *ops, bool use_2m, bool use_1g)
{
	e->ops = ops;
	e->use_2m = use_2m;
	e->use_1g = use_1g;
	e->tables = 0;
	e->leaves[0] = e->leaves[1] = e->leaves[2] = 0;
	e->pml4_pa = ops->alloc_table(ops->ctx);
	if (!e->pml4_pa)
		return false;
	e->tables = 1;
	return true;
}

/* Walk to the entry for gpa at target level, creating tables on the way.
 * NULL if a larger leaf is in the way or no table could be allocated. */
static uint64_t *walk_create(struct ept *e, uint64_t gpa, int target)
{
	uint64_t *table = table_at(e, e->pml4_pa);
	for (int level = 3; level > target; level--) {
		uint64_t *ent = &table[index_at(gpa, level)];
		if (!(*ent & EPT_RWX)) {
			uint64_t pa = e->ops->alloc_table(e->ops->ctx);
			if (!pa)
				return NULL;
			e->tables++;
			/* Non-leaf entries grant everything; leaves decide (SDM 29.3.3). */
			*ent = pa | EPT_RWX;
		} else if (*ent & EPT_LARGE_PAGE) {
			return NULL;
		}
		table = table_at(e, *ent & EPT_ADDR_MASK);
	}
	return &table[index_at(gpa, target)];
}

static bool range_is_unmapped(const struct ept *e, uint64_t gpa, uint64_t len)
{
	for (uint64_t off = 0; off < len;) {
		uint64_t hpa, perms, size;
		if (ept_lookup(e, gpa + off, &hpa, &perms, &size))
			return false;
		/* Step by the smallest page size: an unmapped address says nothing
		 * about the rest of its 2 MiB region. */
		off += PAGE_SIZE;
	}
	return true;
}

bool ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t len, uint64_t perms,
	     uint64_t memtype)
{
	if (!IS_ALIGNED(gpa | hpa | len, PAGE_SIZE) || len == 0)
		return false;
	if (gpa + len < gpa || hpa + len < hpa || gpa + len > BIT(48))
		return false;
	if (!range_is_unmapped(e, gpa, len))
		return false;
	while (len) {
		int level = 0;
		if (e->use_1g && IS_ALIGNED(gpa | hpa, GiB(1)) && len >= GiB(1))
			level = 2;
		else if (e->use_2m && IS_ALIGNED(gpa | hpa, MiB(2)) && len >= MiB(2))
			level = 1;
		uint64_t size = PAGE_SIZE << (9 * level);
		uint64_t *ent = walk_create(e, gpa, level);
		if (!ent)
			return false;
		*ent = hpa | (perms & EPT_RWX) | (memtype << EPT_MEMTYPE_SHIFT) |
		       (level ? EPT_LARGE_PAGE : 0);
		e->leaves[level]++;
		gpa += size;
		hpa += size;
		len -= size;
	}
	return true;
}

bool ept_lookup(const struct ept *e, uint64_t gpa, uint64_t *hpa, uint64_t *perms,
		uint64_t *page_size)
{
	if (gpa >= BIT(48))
		return false;
	const uint64_t *table = table_at(e, e->pml4_pa);
	for (int level = 3; level >= 0; level--) {
		uint64_t ent = table[index_at(gpa, level)];
		if (!(ent & EPT_RWX))
			return false;
		if (level == 0 || (level <= 2 && (ent & EPT_LARGE_PAGE))) {
			uint64_t size = PAGE_SIZE << (9 * level);
			*page_size = size;
			*perms = ent & EPT_RWX;
			*hpa = (ent & EPT_ADDR_MASK & ~(size - 1)) | (gpa & (size - 1));
			return true;
		}
		table = table_at(e, ent & EPT_ADDR_MASK);
	}
	return false;
}

bool ept_unmap_page(struct ept *e, uint64_t gpa)
{
	if (gpa >= BIT(48) || !IS_ALIGNED(gpa, PAGE_SIZE))
		return false;
	uint64_t *table = table_at(e, e->pml4_pa);
	for (int level = 3; level > 0; level--) {
		uint64_t ent = table[index_at(gpa, level)];
		if (!(ent & EPT_RWX) || (level <= 2 && (ent & EPT_LARGE_PAGE)))
			return false;
		table = table_at(e, ent & EPT_ADDR_MASK);
	}
	uint64_t *leaf = &table[index_at(gpa, 0)];
	if (!(*leaf & EPT_RWX))
		return false;
	*leaf = 0;
	e->leaves[0]--;
	return true;
}

static void free_level(struct ept *e, uint64_t table_pa, int level,
		       void (*free_table)(void *ctx, uint64_t pa))
{
	uint64_t *table = table_at(e, table_pa);
	for (unsigned i = 0; level > 0 && i < 512; i++) {
		uint64_t ent = table[i];
		if ((ent & EPT_RWX) && !(ent & EPT_LARGE_PAGE))
			free_level(e, ent & EPT_ADDR_MASK, level - 1, free_table);
	}
	free_table(e->ops->ctx, table_pa);
	e->tables--;
}

void ept_destroy(struct ept *e, void (*free_table)(void *ctx, uint64_t pa))
{
	if (e->pml4_pa)
		free_level(e, e->pml4_pa, 3, free_table);
	e->pml4_pa = 0;
	e->leaves[0] = e->leaves[1] = e->leaves[2] = 0;
}

uint64_t ept_pointer(const struct ept *e)
{
	return e->pml4_pa | EPTP_PWL4 | EPTP_MEMTYPE_WB;
}

int ept_describe_violation(uint64_t qual, char *buf, size_t size)
{
	const char *access = (qual & EPT_VIOL_FETCH)   ? "instruction fetch"
			     : (qual & EPT_VIOL_WRITE) ? "write"
						       : "read";
	const char *what = (qual & (EPT_VIOL_READABLE | EPT_VIOL_WRITABLE | EPT_VIOL_EXECUTABLE))
				   ? "a page that does not allow it"
				   : "an unmapped guest-physical address";
	return hv_snprintf(buf, size, "%s of %s%s", access, what,
			   (qual & EPT_VIOL_LINEAR_VALID)
				   ? ((qual & EPT_VIOL_TRANSLATED) ? " (final translation)"
								   : " (during a guest page walk)")
				   : "");
}
