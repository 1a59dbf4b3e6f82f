/* Checked access to a VM's RAM. Guest-physical [0, size) is backed by host
 * memory at hva (host physical == host virtual in the hypervisor). Every
 * guest-supplied address goes through these helpers; nothing else in the
 * hypervisor dereferences guest memory. Pure logic: unit-tested on the host. */
#ifndef VM_GUEST_MEM_H
#define VM_GUEST_MEM_H

#include "lib/types.h"

struct guest_mem {
	uint8_t *hva;  /* host address of guest-physical 0 */
	uint64_t size; /* bytes of RAM, from guest-physical 0 */
};

/* Host pointer for [gpa, gpa+len) if all of it is guest RAM, else NULL. */
void *gpa_to_hva(const struct guest_mem *m, uint64_t gpa, uint64_t len);
bool gpa_is_ram(const struct guest_mem *m, uint64_t gpa);
/* Copy to/from guest RAM; false (and nothing copied) if any byte is outside. */
bool guest_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);
bool guest_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);
bool guest_fill(const struct guest_mem *m, uint64_t gpa, uint8_t byte, uint64_t len);

#endif
