/* The guest's own page walk: translating a guest linear address to a
 * guest-physical address the way the guest's CPU does (SDM Vol. 3A chapter 4),
 * for emulating an instruction that the guest runs with paging on.
 *
 * Modes (SDM Vol. 3A 4.1.1, Table 4-1): paging off, 32-bit paging (4-KByte
 * pages, 4-MByte pages with CR4.PSE and PSE-36 addresses), PAE paging (the
 * PDPTE registers, 4-KByte and 2-MByte pages) and 4-level paging (4-KByte,
 * 2-MByte and 1-GByte pages). Access rights follow 4.6 (CR0.WP, CR4.SMEP,
 * CR4.SMAP with RFLAGS.AC, IA32_EFER.NXE), reserved bits the tables of 4.3,
 * 4.4.2 and 4.5, a fault gives the page-fault error code of 4.7, and a
 * successful walk sets the accessed and dirty flags of 4.8.
 * Not done (refused as PAGE_WALK_UNSUPPORTED, never guessed): 5-level paging
 * (CR4.LA57), protection keys (CR4.PKE, CR4.PKS), shadow-stack accesses.
 *
 * Guest page tables are read only through vm/guest_mem.h, each entry once
 * into a local copy. Pure logic: unit-tested (tests/unit/test_page_walk.c) and
 * fuzzed (tests/fuzz/fuzz_decode.c). */
#ifndef VM_PAGE_WALK_H
#define VM_PAGE_WALK_H

#include "lib/types.h"
#include "vm/guest_mem.h"

/* The guest state a walk depends on, as the VMCS holds it, and two facts
 * about the guest's CPU. */
struct paging_regs {
	uint64_t cr0, cr3, cr4, efer;
	uint64_t rflags;      /* AC, for SMAP */
	/* PAE paging: the four PDPTE registers (with EPT, the VMCS guest
	 * PDPTE0-3 fields, SDM Vol. 3C 25.4.2), or NULL to read the PDPTEs
	 * from the table at CR3 as MOV to CR3 would. Prefer the registers: the
	 * CPU uses them, not the table, which may have changed since CR3 was
	 * loaded (even by this walk's accessed flags, when the table shares
	 * bytes with other entries: bit 5 is reserved in a PDPTE). */
	const uint64_t *pdpte;
	unsigned maxphyaddr;  /* physical-address width, CPUID.80000008H:EAX[7:0]: 32..52 */
	bool page_1gb;        /* 1-GByte pages, CPUID.80000001H:EDX[26] */
};

/* What the access is (combine): a read when neither WRITE nor FETCH. */
#define PAGE_ACCESS_WRITE BIT(0)    /* a data write */
#define PAGE_ACCESS_FETCH BIT(1)    /* an instruction fetch */
#define PAGE_ACCESS_USER BIT(2)     /* made at CPL 3 */
#define PAGE_ACCESS_IMPLICIT BIT(3) /* an implicit supervisor-mode access (GDT, LDT, IDT,
				     * TSS...): supervisor whatever the CPL (SDM 4.6) */

/* Page-fault error code bits (SDM Vol. 3A 4.7, Figure 4-12). */
#define PF_ERROR_P BIT(0)    /* 0: not present; 1: a protection or reserved-bit violation */
#define PF_ERROR_WR BIT(1)   /* the access was a write */
#define PF_ERROR_US BIT(2)   /* the access was a user-mode access */
#define PF_ERROR_RSVD BIT(3) /* a reserved bit was set in a paging-structure entry */
#define PF_ERROR_ID BIT(4)   /* an instruction fetch (with CR4.SMEP, or PAE and EFER.NXE) */

enum paging_mode { PAGING_OFF, PAGING_32BIT, PAGING_PAE, PAGING_4LEVEL, PAGING_UNSUPPORTED };

enum page_walk_status {
	PAGE_WALK_OK,            /* gpa and page_size are set; A/D flags were updated */
	PAGE_WALK_FAULT,         /* inject #PF with error_code and CR2 = the linear address */
	PAGE_WALK_NOT_RAM,       /* a paging-structure entry at entry_gpa is not in guest RAM:
				  * no architectural fault describes this; stop the VM */
	PAGE_WALK_NON_CANONICAL, /* 4-level paging: the address is not canonical, which is
				  * #GP(0) (#SS(0) for stack accesses), not #PF */
	PAGE_WALK_UNSUPPORTED,   /* a mode, feature or request this walk does not do: why */
};

struct page_walk {
	enum paging_mode mode;
	uint64_t gpa;         /* OK: the guest-physical address */
	uint64_t page_size;   /* OK: bytes of the page mapping it (4 GiB with paging off) */
	uint32_t error_code;  /* FAULT: the #PF error code */
	unsigned level;       /* OK: the level of the entry that mapped the page; FAULT,
			       * NOT_RAM: the level the walk stopped at. 4 PML4E, 3 PDPTE,
			       * 2 PDE, 1 PTE (32-bit paging: 2 PDE, 1 PTE) */
	uint64_t entry_gpa;   /* where that level's entry is (not for paging off) */
	const char *why;      /* all but OK: a sentence for logs */
};

enum paging_mode paging_mode(const struct paging_regs *r);
const char *paging_mode_name(enum paging_mode mode);
/* "PML4E", "PDPTE", "PDE", "PTE". */
const char *page_walk_level_name(enum paging_mode mode, unsigned level);

/* Translate linear address la for an access (PAGE_ACCESS_*). Outside 4-level
 * paging, linear addresses are 32 bits: a wider la is refused. */
enum page_walk_status page_walk(const struct guest_mem *mem, const struct paging_regs *r,
				uint64_t la, unsigned access, struct page_walk *out);

#endif
