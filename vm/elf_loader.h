/* Loading a guest ELF image into guest RAM by its program headers
 * (System V ABI, ELF32 and ELF64, PT_LOAD only). Everything is checked
 * before a single byte is copied, so a refused image leaves RAM untouched.
 * Pure logic: unit-tested on the host. */
#ifndef VM_ELF_LOADER_H
#define VM_ELF_LOADER_H

#include "lib/types.h"
#include "vm/guest_mem.h"

#define ELF_MAX_PHDRS 64

struct elf_load_result {
	uint64_t entry;         /* guest-physical entry point */
	bool is64;              /* ELFCLASS64 (still entered in 32-bit mode, as GRUB does) */
	uint64_t load_start;    /* lowest guest-physical byte loaded */
	uint64_t load_end;      /* one past the highest */
	unsigned segments;
};

/* Returns NULL on success or a message saying why the image was refused.
 * [avoid, avoid+avoid_len) is guest memory the image must not overlap (the
 * boot information page); avoid_len may be 0. */
const char *elf_load(const void *image, uint64_t image_size, const struct guest_mem *mem,
		     uint64_t avoid, uint64_t avoid_len, struct elf_load_result *out);

#endif
