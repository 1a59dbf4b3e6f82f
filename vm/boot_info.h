/* The Multiboot2 information block the hypervisor gives a guest, so that a
 * guest written for GRUB finds what it expects (Multiboot2 spec 3.6). */
#ifndef VM_BOOT_INFO_H
#define VM_BOOT_INFO_H

#include "lib/types.h"
#include "vm/guest_mem.h"

/* Where the block goes in guest memory: low memory, below the 1 MiB where
 * guest images load. */
#define GUEST_BOOT_INFO_GPA 0x9000ULL
#define GUEST_BOOT_INFO_MAX 0x1000ULL
#define GUEST_LOW_MEM_END 0x9fc00ULL /* conventional memory, as a PC BIOS reports it */

/* Build the block; returns its size, or 0 if it does not fit. */
uint64_t guest_mb2_info_build(const struct guest_mem *m, const char *cmdline,
			      const char *loader_name);

#endif
