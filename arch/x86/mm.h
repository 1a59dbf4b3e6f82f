/* The hypervisor's memory: physical memory below 4 GiB is identity mapped by
 * boot/entry.S, so host virtual == host physical. */
#ifndef ARCH_X86_MM_H
#define ARCH_X86_MM_H

#include "lib/types.h"
#include "boot/multiboot2.h"

/* Highest address the hypervisor maps and allocates from. */
#define HOST_MAPPED_LIMIT GiB(4)

static inline uint64_t virt_to_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

void mm_init(const struct boot_info *bi);
/* Zeroed, contiguous pages aligned to align bytes; NULL when memory is short. */
void *page_alloc(uint64_t npages, uint64_t align);
void page_free(void *p, uint64_t npages);
uint64_t mm_free_pages(void);

#endif
