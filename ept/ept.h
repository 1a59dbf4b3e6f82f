/* Extended page tables (SDM Vol. 3C 29.3): the guest-physical to
 * host-physical map of one VM. 4-level tables, leaves of 4 KiB, 2 MiB or
 * 1 GiB, always the largest that fits. The table memory comes from callbacks,
 * so the host unit tests can build tables in a fake physical memory. */
#ifndef EPT_EPT_H
#define EPT_EPT_H

#include "lib/types.h"

#define EPT_READ BIT(0)
#define EPT_WRITE BIT(1)
#define EPT_EXEC BIT(2)
#define EPT_RWX (EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_MEMTYPE_SHIFT 3
#define EPT_MEMTYPE_UC 0ULL
#define EPT_MEMTYPE_WB 6ULL
#define EPT_IGNORE_PAT BIT(6)
#define EPT_LARGE_PAGE BIT(7)
#define EPT_ACCESSED BIT(8)
#define EPT_DIRTY BIT(9)
#define EPT_ADDR_MASK 0x000ffffffffff000ULL

/* EPTP (SDM 25.6.11): memory type in bits 2:0, page-walk length - 1 in 5:3,
 * accessed/dirty enable in bit 6. */
#define EPTP_MEMTYPE_WB 6ULL
#define EPTP_PWL4 (3ULL << 3)
#define EPTP_AD_ENABLE BIT(6)

struct ept_ops {
	/* A zeroed, 4 KiB-aligned page for a table: its physical address, 0 if none. */
	uint64_t (*alloc_table)(void *ctx);
	void *(*phys_to_virt)(void *ctx, uint64_t pa);
	void *ctx;
};

struct ept {
	const struct ept_ops *ops;
	uint64_t pml4_pa;
	bool use_2m, use_1g; /* page sizes the CPU supports (IA32_VMX_EPT_VPID_CAP) */
	unsigned tables;     /* paging-structure pages allocated */
	uint64_t leaves[3];  /* leaves of 4 KiB, 2 MiB, 1 GiB created */
};

bool ept_init(struct ept *e, const struct ept_ops *ops, bool use_2m, bool use_1g);
/* Map [gpa, gpa+len) to [hpa, hpa+len); all three 4 KiB aligned. Fails without
 * changing anything already mapped if any part is mapped already. */
bool ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t len, uint64_t perms,
	     uint64_t memtype);
/* Translate one guest-physical address. Returns false if not mapped. */
bool ept_lookup(const struct ept *e, uint64_t gpa, uint64_t *hpa, uint64_t *perms,
		uint64_t *page_size);
/* Remove the 4 KiB leaf that maps gpa (tables stay). false if gpa is not
 * mapped by a 4 KiB leaf. The caller invalidates cached translations. */
bool ept_unmap_page(struct ept *e, uint64_t gpa);
uint64_t ept_pointer(const struct ept *e);
/* Hand every paging-structure page back through free_table (not the memory
 * the tables map). The ept is empty afterwards. */
void ept_destroy(struct ept *e, void (*free_table)(void *ctx, uint64_t pa));

/* EPT-violation exit qualification (SDM 28.2.1, Table 28-7). */
#define EPT_VIOL_READ BIT(0)
#define EPT_VIOL_WRITE BIT(1)
#define EPT_VIOL_FETCH BIT(2)
#define EPT_VIOL_READABLE BIT(3)
#define EPT_VIOL_WRITABLE BIT(4)
#define EPT_VIOL_EXECUTABLE BIT(5)
#define EPT_VIOL_LINEAR_VALID BIT(7)
#define EPT_VIOL_TRANSLATED BIT(8)
#define EPT_VIOL_NMI_UNBLOCKING BIT(12)

/* Words for a violation qualification, e.g. "write to an unmapped page". */
int ept_describe_violation(uint64_t qual, char *buf, size_t size);

#endif
