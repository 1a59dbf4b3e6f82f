/* Physical page allocator: one bit per 4 KiB page, 1 = in use. Everything
 * starts in use; only ranges the memory map calls available are freed, and
 * then the hypervisor image, the boot information and every module are taken
 * out again, so none of them is ever handed out. Pure logic: unit-tested on
 * the host. */
#ifndef ARCH_X86_PMM_H
#define ARCH_X86_PMM_H

#include "lib/types.h"
#include "boot/multiboot2.h"

struct pmm {
	uint64_t *bitmap;
	uint64_t npages;     /* pages covered: physical [0, npages * 4 KiB) */
	uint64_t free_pages;
};

void pmm_init(struct pmm *p, uint64_t *bitmap, uint64_t npages);
/* Free the pages lying wholly inside [base, base+len). */
void pmm_release_range(struct pmm *p, uint64_t base, uint64_t len);
/* Mark in use every page that [base, base+len) touches. */
void pmm_reserve_range(struct pmm *p, uint64_t base, uint64_t len);
/* npages contiguous pages aligned to align bytes (a power of two >= 4 KiB).
 * Returns the physical address, or 0 when nothing fits (page 0 is never free). */
uint64_t pmm_alloc(struct pmm *p, uint64_t npages, uint64_t align);
void pmm_free(struct pmm *p, uint64_t base, uint64_t npages);
bool pmm_page_is_free(const struct pmm *p, uint64_t addr);

/* Build the allocator from the boot information: available RAM below limit,
 * minus the low 1 MiB, [image_start, image_end), the boot information block
 * and the modules. */
void pmm_init_from_boot(struct pmm *p, uint64_t *bitmap, uint64_t limit,
			const struct boot_info *bi, uint64_t image_start, uint64_t image_end);

/* [base, base+len) lies wholly inside one range the memory map calls
 * available, no range calls any of it otherwise, and neither the boot
 * information nor a module overlaps it: RAM nobody else owns. */
bool boot_range_is_free_ram(const struct boot_info *bi, uint64_t base, uint64_t len);

#endif
