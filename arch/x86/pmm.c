#include "arch/x86/pmm.h"
#include "lib/string.h"

static bool test_bit(const struct pmm *p, uint64_t i)
{
	return p->bitmap[i / 64] & BIT(i % 64);
}

static void set_used(struct pmm *p, uint64_t i)
{
	if (!test_bit(p, i)) {
		p->bitmap[i / 64] |= BIT(i % 64);
		p->free_pages--;
	}
}

static void set_free(struct pmm *p, uint64_t i)
{
	if (test_bit(p, i)) {
		p->bitmap[i / 64] &= ~BIT(i % 64);
		p->free_pages++;
	}
}

void pmm_init(struct pmm *p, uint64_t *bitmap, uint64_t npages)
{
	p->bitmap = bitmap;
	p->npages = npages;
	p->free_pages = 0;
	memset(bitmap, 0xff, (size_t)((npages + 63) / 64 * 8));
}

void pmm_release_range(struct pmm *p, uint64_t base, uint64_t len)
{
	if (base + len < base)
		len = UINT64_MAX - base;
	uint64_t first = ALIGN_UP(base, PAGE_SIZE) / PAGE_SIZE;
	uint64_t last = (base + len) / PAGE_SIZE; /* exclusive */
	if (ALIGN_UP(base, PAGE_SIZE) < base)
		return;
	last = MIN(last, p->npages);
	for (uint64_t i = first; i < last; i++)
		set_free(p, i);
	/* Page 0 stays in use: 0 is the allocator's "nothing". */
	if (p->npages)
		set_used(p, 0);
}

void pmm_reserve_range(struct pmm *p, uint64_t base, uint64_t len)
{
	if (len == 0)
		return;
	if (base + len < base)
		len = UINT64_MAX - base;
	uint64_t first = base / PAGE_SIZE;
	uint64_t last = ALIGN_UP(base + len, PAGE_SIZE) / PAGE_SIZE;
	if (base + len > UINT64_MAX - PAGE_SIZE)
		last = p->npages;
	last = MIN(last, p->npages);
	for (uint64_t i = first; i < last; i++)
		set_used(p, i);
}

uint64_t pmm_alloc(struct pmm *p, uint64_t npages, uint64_t align)
{
	uint64_t step = MAX(align, PAGE_SIZE) / PAGE_SIZE;

	if (npages == 0 || npages > p->free_pages)
		return 0;
	for (uint64_t start = step; start + npages <= p->npages; start += step) {
		uint64_t i = 0;
		while (i < npages && !test_bit(p, start + i))
			i++;
		if (i == npages) {
			for (i = 0; i < npages; i++)
				set_used(p, start + i);
			return start * PAGE_SIZE;
		}
		/* Skip past the used page we hit. */
		uint64_t used = start + i;
		start = ALIGN_DOWN(used, step);
	}
	return 0;
}

void pmm_free(struct pmm *p, uint64_t base, uint64_t npages)
{
	/* Page 0 stays in use, as in pmm_release_range: it is never allocated,
	 * so freeing it would only make free_pages count a page nobody gets. */
	uint64_t first = MAX(base / PAGE_SIZE, 1), end = base / PAGE_SIZE + npages;
	for (uint64_t i = first; i < end && i < p->npages; i++)
		set_free(p, i);
}

bool pmm_page_is_free(const struct pmm *p, uint64_t addr)
{
	uint64_t i = addr / PAGE_SIZE;
	return i < p->npages && !test_bit(p, i);
}

void pmm_init_from_boot(struct pmm *p, uint64_t *bitmap, uint64_t limit,
			const struct boot_info *bi, uint64_t image_start, uint64_t image_end)
{
	pmm_init(p, bitmap, limit / PAGE_SIZE);
	for (unsigned i = 0; i < bi->mmap_count; i++)
		if (bi->mmap[i].type == MB2_MEMORY_AVAILABLE)
			pmm_release_range(p, bi->mmap[i].base, bi->mmap[i].length);
	/* Overlapping map entries: anything any entry calls unavailable wins. */
	for (unsigned i = 0; i < bi->mmap_count; i++)
		if (bi->mmap[i].type != MB2_MEMORY_AVAILABLE)
			pmm_reserve_range(p, bi->mmap[i].base, bi->mmap[i].length);
	pmm_reserve_range(p, 0, MiB(1)); /* BIOS data, EBDA, option ROMs */
	pmm_reserve_range(p, image_start, image_end - image_start);
	pmm_reserve_range(p, bi->info_addr, bi->info_size);
	for (unsigned i = 0; i < bi->module_count; i++)
		pmm_reserve_range(p, bi->modules[i].start, bi->modules[i].end - bi->modules[i].start);
}

bool boot_range_is_free_ram(const struct boot_info *bi, uint64_t base, uint64_t len)
{
	bool inside = false;
	for (unsigned i = 0; i < bi->mmap_count; i++) {
		const struct mb2_mmap_entry *m = &bi->mmap[i];
		if (m->type == MB2_MEMORY_AVAILABLE)
			inside |= range_within(base, len, m->base, m->length);
		else if (ranges_overlap(base, len, m->base, m->length))
			return false;
	}
	if (!inside || ranges_overlap(base, len, bi->info_addr, bi->info_size))
		return false;
	for (unsigned i = 0; i < bi->module_count; i++)
		if (ranges_overlap(base, len, bi->modules[i].start, bi->modules[i].end - bi->modules[i].start))
			return false;
	return true;
}
