/* Multiboot2 boot information (Multiboot2 specification 1.0, section 3.6). */
#ifndef BOOT_MULTIBOOT2_H
#define BOOT_MULTIBOOT2_H

#include "lib/types.h"

#define MB2_HEADER_MAGIC 0xe85250d6u
#define MB2_BOOTLOADER_MAGIC 0x36d76289u

#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_BOOT_LOADER_NAME 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_BASIC_MEMINFO 4
#define MB2_TAG_MMAP 6
#define MB2_TAG_ACPI_OLD 14
#define MB2_TAG_ACPI_NEW 15

#define MB2_MEMORY_AVAILABLE 1
#define MB2_MEMORY_RESERVED 2
#define MB2_MEMORY_ACPI_RECLAIMABLE 3
#define MB2_MEMORY_NVS 4
#define MB2_MEMORY_BADRAM 5

#define MB2_MAX_MODULES 16
#define MB2_MAX_MMAP 64

struct mb2_mmap_entry {
	uint64_t base, length;
	uint32_t type;
};

struct mb2_module {
	uint64_t start, end; /* physical, end exclusive */
	const char *string;  /* NUL-terminated, inside the info block */
};

struct boot_info {
	uint64_t info_addr, info_size; /* where the information block itself lies */
	const char *cmdline;
	const char *loader_name;
	struct mb2_module modules[MB2_MAX_MODULES];
	unsigned module_count;
	unsigned modules_dropped; /* more than MB2_MAX_MODULES were given */
	struct mb2_mmap_entry mmap[MB2_MAX_MMAP];
	unsigned mmap_count;
	uint32_t mem_lower_kib, mem_upper_kib;
	const void *rsdp;    /* copy of the RSDP inside the tag, or NULL */
	size_t rsdp_len;     /* bytes of it the tag holds */
	unsigned rsdp_revision; /* 1 for the old (ACPI 1.0) tag, 2 for the new */
};

/* Parse the information block at info (whose address the loader reported as
 * info_addr). Returns NULL on success, or a message naming what is malformed.
 * Never reads outside [info, info + total_size). */
const char *mb2_parse(const void *info, uint64_t info_addr, struct boot_info *out);

const char *mb2_memory_type_name(uint32_t type);

#endif
