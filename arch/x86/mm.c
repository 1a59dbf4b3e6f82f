#include "arch/x86/mm.h"
#include "arch/x86/pmm.h"
#include "lib/log.h"
#include "lib/spinlock.h"
#include "lib/string.h"

extern char __hv_start[], __hv_end[];

static uint64_t pmm_bitmap[HOST_MAPPED_LIMIT / PAGE_SIZE / 64];
static struct pmm host_pmm;
/* Any CPU may allocate: the bitmap and free count change under this lock. */
static struct ticket_lock pmm_lock = TICKET_LOCK_INIT;

void mm_init(const struct boot_info *bi)
{
	pmm_init_from_boot(&host_pmm, pmm_bitmap, HOST_MAPPED_LIMIT, bi, virt_to_phys(__hv_start),
			   virt_to_phys(__hv_end));
	pr_info("page allocator: %llu MiB free below 4 GiB (hypervisor image 0x%llx-0x%llx kept out)",
		(unsigned long long)(host_pmm.free_pages * PAGE_SIZE >> 20),
		(unsigned long long)virt_to_phys(__hv_start), (unsigned long long)virt_to_phys(__hv_end));
}

void *page_alloc(uint64_t npages, uint64_t align)
{
	ticket_lock(&pmm_lock);
	uint64_t pa = pmm_alloc(&host_pmm, npages, align);
	ticket_unlock(&pmm_lock);
	if (!pa)
		return NULL;
	void *p = phys_to_virt(pa);
	memset(p, 0, (size_t)(npages * PAGE_SIZE));
	return p;
}

void page_free(void *p, uint64_t npages)
{
	ticket_lock(&pmm_lock);
	pmm_free(&host_pmm, virt_to_phys(p), npages);
	ticket_unlock(&pmm_lock);
}

uint64_t mm_free_pages(void)
{
	return host_pmm.free_pages;
}
