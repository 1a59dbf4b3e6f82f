/* Describing a VM in words: a Multiboot2 module string such as
 *   "name=basic mem=32M"
 * Tokens are key=value separated by spaces; a token without '=' (GRUB may
 * pass the module's path first) is skipped. Pure logic: unit-tested. */
#ifndef VM_CONFIG_H
#define VM_CONFIG_H

#include "lib/types.h"

#define VM_MEM_DEFAULT MiB(32)
#define VM_MEM_MIN MiB(2)
#define VM_MEM_MAX GiB(2)

struct vm_config {
	char name[32];
	uint64_t mem; /* bytes, a multiple of 2 MiB */
};

/* Returns NULL on success, else a message naming the bad token (written to
 * errbuf). default_name is used when no name= is given. */
const char *vm_config_parse(const char *s, const char *default_name, struct vm_config *out,
			    char *errbuf, size_t errlen);

#endif
