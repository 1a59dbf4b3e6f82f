/* Loading a Linux bzImage the way a boot loader does, for the 64-bit entry
 * point (Linux Documentation/arch/x86/boot.rst, "The Linux/x86 Boot
 * Protocol", protocol 2.12 and later).
 *
 * A bzImage is a real-mode setup part (boot sector + setup_sects sectors)
 * followed by the protected-mode kernel (a self-decompressing, relocatable
 * blob). We skip the real-mode part entirely: we fill in the "zero page"
 * (struct boot_params) ourselves, copy the protected-mode kernel to its
 * preferred address, put the initrd at the top of RAM, and enter the kernel
 * at load address + 0x200 in 64-bit mode with RSI = the zero page, on
 * identity-mapped page tables that we build in guest RAM.
 *
 * Guest-physical layout (all below 1 MiB except kernel and initrd):
 *   0x6000  GDT with the boot selectors __BOOT_CS (0x10) and __BOOT_DS (0x18)
 *   0x7000  boot_params ("zero page", 4 KiB)
 *   0x9000  page tables: PML4, PDPT, 4 page directories of 2 MiB pages (0-4 GiB)
 *   0x20000 the kernel command line
 *   0xE0000 ACPI tables (vm/vm.c, reserved in the e820 map)
 *   pref_address (16 MiB for Debian's kernel): the protected-mode kernel,
 *           with init_size bytes of room for it to decompress in place
 *   top of RAM: the initrd, page aligned, below initrd_addr_max
 *
 * Pure logic: unit-tested on the host (tests/unit/test_linux_boot.c). */
#ifndef VM_LINUX_BOOT_H
#define VM_LINUX_BOOT_H

#include "lib/types.h"
#include "vm/guest_mem.h"

#define LINUX_GDT_GPA 0x6000ULL
#define LINUX_BOOT_PARAMS_GPA 0x7000ULL
#define LINUX_PAGE_TABLES_GPA 0x9000ULL
#define LINUX_PAGE_TABLES_SIZE (6 * 4096ULL) /* PML4 + PDPT + 4 PDs */
#define LINUX_CMDLINE_GPA 0x20000ULL
#define LINUX_CMDLINE_MAX 4096u

/* The boot selectors the 64-bit entry expects (boot.rst "64-bit BOOT
 * PROTOCOL"): CS = __BOOT_CS, DS/ES/SS = __BOOT_DS. */
#define LINUX_BOOT_CS 0x10
#define LINUX_BOOT_DS 0x18

/* boot_params ("zero page") fields we use, by byte offset
 * (arch/x86/include/uapi/asm/bootparam.h). The setup header sits at 0x1f1
 * in both the image and boot_params. */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_SENTINEL 0x1ef
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define BP_SIZE 4096

#define SETUP_HDR_START 0x1f1
#define SETUP_SETUP_SECTS 0x1f1
#define SETUP_SYSSIZE 0x1f4
#define SETUP_VID_MODE 0x1fa
#define SETUP_BOOT_FLAG 0x1fe  /* 0xAA55 */
#define SETUP_JUMP 0x200       /* its second byte + 0x202 = end of the header */
#define SETUP_HEADER_MAGIC 0x202 /* "HdrS" */
#define SETUP_VERSION 0x206
#define SETUP_TYPE_OF_LOADER 0x210
#define SETUP_LOADFLAGS 0x211
#define SETUP_CODE32_START 0x214
#define SETUP_RAMDISK_IMAGE 0x218
#define SETUP_RAMDISK_SIZE 0x21c
#define SETUP_CMD_LINE_PTR 0x228
#define SETUP_INITRD_ADDR_MAX 0x22c
#define SETUP_KERNEL_ALIGNMENT 0x230
#define SETUP_RELOCATABLE 0x234
#define SETUP_XLOADFLAGS 0x236
#define SETUP_CMDLINE_SIZE 0x238
#define SETUP_PREF_ADDRESS 0x258
#define SETUP_INIT_SIZE 0x260
#define SETUP_HEADER_END_MAX 0x290 /* end of the header as of protocol 2.15 */

#define SETUP_MAGIC_HDRS 0x53726448u
#define SETUP_BOOT_FLAG_VALUE 0xaa55u
#define LINUX_MIN_PROTOCOL 0x020c /* 2.12: xloadflags, the 64-bit entry */
#define LOADFLAGS_LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x01
#define LINUX_TYPE_OF_LOADER 0xff /* "undefined": we have no assigned ID */

struct linux_boot_params {
	const void *image;
	uint64_t image_size;
	const void *initrd;   /* may be NULL */
	uint64_t initrd_size;
	const char *cmdline;
	uint64_t rsdp_gpa;    /* 0: none */
};

struct linux_boot {
	uint16_t protocol;
	uint64_t load_addr, load_end;       /* the kernel and its init_size room */
	uint64_t initrd_addr, initrd_size;
	uint64_t entry;                     /* load_addr + 0x200 */
	uint64_t boot_params_gpa, cr3, gdt_base;
	uint16_t gdt_limit;
};

/* Is this a bzImage at all (boot flag and "HdrS")? Then the kind is decided,
 * and anything wrong after is an error, not "some other format". */
bool linux_is_bzimage(const void *image, uint64_t size);

/* Load the kernel, initrd, command line, boot_params, GDT and page tables
 * into guest RAM. NULL on success, else why the image was refused. */
const char *linux_boot_prepare(const struct guest_mem *mem, const struct linux_boot_params *p,
			       struct linux_boot *out);

#endif
