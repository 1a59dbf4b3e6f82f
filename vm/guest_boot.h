/* Preparing a guest to start: recognising what kind of kernel an image is,
 * loading it and its modules into guest RAM, and writing the boot
 * information it expects. Four kinds:
 *   - Linux bzImages (Linux boot protocol 2.12+, vm/linux_boot.c), entered
 *     in 64-bit mode with RSI = boot_params;
 *   - Multiboot2 kernels (Multiboot2 spec 1.0): a header in the first 32 KiB;
 *     loaded by their ELF program headers or their address tag;
 *   - Multiboot (v1) kernels (Multiboot spec 0.6.96): a header in the first
 *     8 KiB; loaded by their ELF program headers or the a.out-kludge addresses;
 *   - plain ELF executables (our native test-guest format), entered like a
 *     Multiboot2 kernel.
 * The Multiboot kinds are entered in 32-bit protected mode with paging off
 * (vmx/vmcs_setup.c) with the magic in EAX and the information's address in
 * EBX. All kinds see the same physical memory map (guest_memory_map).
 * Pure logic: unit-tested on the host. */
#ifndef VM_GUEST_BOOT_H
#define VM_GUEST_BOOT_H

#include "lib/types.h"
#include "vm/guest_mem.h"

/* The boot information lives in low memory, below where kernels load. */
#define GUEST_BOOT_INFO_GPA 0x8000ULL
#define GUEST_BOOT_INFO_MAX 0x7000ULL
#define GUEST_LOW_MEM_END 0x9fc00ULL /* conventional memory, as a PC BIOS reports it */
#define GUEST_MAX_MODULES 8

#define MB1_HEADER_MAGIC 0x1badb002u
#define MB1_BOOTLOADER_MAGIC 0x2badb002u

enum guest_kind { GUEST_KIND_ELF, GUEST_KIND_MULTIBOOT1, GUEST_KIND_MULTIBOOT2, GUEST_KIND_LINUX };

/* Memory-map entry types, shared by the e820 map (ACPI 6.5 15.3, Table 15.4)
 * and the Multiboot memory maps, which use the same numbers. */
#define E820_TYPE_RAM 1
#define E820_TYPE_RESERVED 2

struct guest_map_entry {
	uint64_t addr, len;
	uint32_t type;
};
#define GUEST_MAP_MAX 5

/* The guest-physical memory map of a VM with ram_size bytes of RAM, the one
 * every loader reports: conventional memory, the EBDA and BIOS areas (where
 * the ACPI tables live) reserved, RAM from 1 MiB, the PCI ECAM window
 * reserved (so an OS trusts the MCFG table). Returns the entry count. */
unsigned guest_memory_map(uint64_t ram_size, struct guest_map_entry out[GUEST_MAP_MAX]);

struct guest_module {
	const void *data;
	uint64_t size;
	const char *string; /* what the guest sees as the module's command line */
};

struct guest_boot_params {
	const void *image;
	uint64_t image_size;
	const struct guest_module *modules;
	unsigned module_count;
	const char *cmdline;
	const char *loader_name;
	/* The ACPI RSDP (revision 2, 36 bytes) to hand over in a Multiboot2
	 * "ACPI new RSDP" tag (spec 3.6.16), or NULL. */
	const void *rsdp;
	uint32_t rsdp_len;
	uint64_t rsdp_gpa; /* where the RSDP is in guest RAM (Linux's acpi_rsdp_addr) */
	/* Linux only: the initial RAM disk, or NULL. */
	const void *initrd;
	uint64_t initrd_size;
};

/* The CPU state a kernel is entered in. */
enum guest_cpu_mode {
	GUEST_MODE_PROTECTED32, /* Multiboot: flat 32-bit segments, paging off */
	GUEST_MODE_LONG64,      /* Linux 64-bit entry: identity-mapped 4-level paging */
	GUEST_MODE_REAL16,      /* an AP after a start-up IPI: real mode at CS:0000 (cs = VV00H) */
};

struct guest_entry {
	enum guest_cpu_mode mode;
	uint64_t rip;
	uint64_t rax, rbx, rsi;
	uint64_t cr3;                 /* LONG64 */
	uint64_t gdt_base;            /* LONG64: a GDT holding cs and ds */
	uint16_t gdt_limit;
	uint16_t cs, ds;              /* selectors */
};

struct guest_boot {
	enum guest_kind kind;
	struct guest_entry cpu;  /* how the kernel is entered */
	uint64_t load_start, load_end; /* the kernel image in guest RAM */
	uint64_t modules_end;    /* one past the last module byte (== load_end if none) */
	uint64_t info_size;
};

/* Returns NULL on success or a message saying why the guest was refused.
 * Nothing is trusted: header offsets, sizes and addresses are checked against
 * the image and the VM's RAM before use. */
const char *guest_boot_prepare(const struct guest_mem *mem, const struct guest_boot_params *p,
			       struct guest_boot *out);
const char *guest_kind_name(enum guest_kind k);

#endif
