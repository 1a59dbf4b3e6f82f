#include "vm/linux_boot.h"
#include "vm/guest_boot.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/bytes.h"

bool linux_is_bzimage(const void *image, uint64_t size)
{
	const uint8_t *img = image;
	return size >= SETUP_HEADER_MAGIC + 4 && get_le16(img + SETUP_BOOT_FLAG) == SETUP_BOOT_FLAG_VALUE &&
	       get_le32(img + SETUP_HEADER_MAGIC) == SETUP_MAGIC_HDRS;
}

/* The boot GDT: __BOOT_CS is a 64-bit code segment (L=1, D=0), __BOOT_DS a
 * flat data segment (SDM Vol. 3A 3.4.5, 5.2.1). Entries 0 and 1 are unused,
 * as in the kernel's own boot GDT. */
static const uint64_t boot_gdt[] = {
	0,
	0,
	0x00af9b000000ffffULL, /* 0x10: code, execute/read, accessed, L, G */
	0x00cf93000000ffffULL, /* 0x18: data, read/write, accessed, D/B, G */
};

/* Identity map of guest-physical 0-4 GiB with 2 MiB pages (SDM Vol. 3A
 * 4.5): 4 GiB covers RAM (at most 2 GiB), the ACPI tables and the MMIO
 * holes, and the boot protocol only asks for the kernel, boot_params and
 * the command line to be mapped. */
#define PTE_P 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL

static bool write_page_tables(const struct guest_mem *mem, uint64_t base)
{
	static uint64_t t[LINUX_PAGE_TABLES_SIZE / 8];
	memset(t, 0, sizeof(t));
	uint64_t *pml4 = t, *pdpt = t + 512, *pd = t + 1024;
	pml4[0] = (base + 4096) | PTE_P | PTE_RW;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (base + 4096 * (2 + i)) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return guest_write(mem, base, t, sizeof(t));
}

const char *linux_boot_prepare(const struct guest_mem *mem, const struct linux_boot_params *p,
			       struct linux_boot *out)
{
	static char err[160];
	static uint8_t bp[BP_SIZE];
	const uint8_t *img = p->image;

	memset(out, 0, sizeof(*out));
	if (!linux_is_bzimage(img, p->image_size))
		return "not a Linux bzImage (no boot flag 0xAA55 and \"HdrS\" header)";
	if (p->image_size < SETUP_HEADER_END_MAX)
		return "the bzImage is truncated inside its setup header";
	uint16_t version = get_le16(img + SETUP_VERSION);
	out->protocol = version;
	if (version < LINUX_MIN_PROTOCOL) {
		hv_snprintf(err, sizeof(err),
			    "Linux boot protocol %u.%02u is older than 2.12 (no 64-bit entry point)",
			    version >> 8, version & 0xff);
		return err;
	}
	if (!(img[SETUP_LOADFLAGS] & LOADFLAGS_LOADED_HIGH))
		return "a zImage (loaded low) is not supported: only bzImages";
	if (!(get_le16(img + SETUP_XLOADFLAGS) & XLF_KERNEL_64))
		return "the kernel has no 64-bit entry point (a 32-bit kernel?)";

	/* The protected-mode kernel follows the boot sector and setup_sects
	 * sectors of real-mode setup code (0 means 4, boot.rst "setup_sects"). */
	uint64_t setup_sects = img[SETUP_SETUP_SECTS];
	if (!setup_sects)
		setup_sects = 4;
	uint64_t pm_offset = (setup_sects + 1) * 512;
	uint64_t pm_size = (uint64_t)get_le32(img + SETUP_SYSSIZE) * 16;
	if (!pm_size || pm_offset > p->image_size || pm_size > p->image_size - pm_offset) {
		hv_snprintf(err, sizeof(err),
			    "the bzImage is truncated: its header says %llu bytes, the module has %llu",
			    (unsigned long long)(pm_offset + pm_size), (unsigned long long)p->image_size);
		return err;
	}

	/* The kernel decompresses in place and needs init_size bytes from its
	 * load address (boot.rst "init_size"); a relocatable kernel loaded at
	 * pref_address does not have to move. */
	uint64_t init_size = get_le32(img + SETUP_INIT_SIZE);
	uint64_t align = get_le32(img + SETUP_KERNEL_ALIGNMENT);
	uint64_t load = get_le64(img + SETUP_PREF_ADDRESS);
	if (init_size < pm_size)
		init_size = pm_size;
	if (load < MiB(1) || (align && (align & (align - 1))) || (align && load % align))
		return "the kernel's preferred load address or alignment is invalid";
	if (!range_within(load, init_size, 0, mem->size)) {
		hv_snprintf(err, sizeof(err),
			    "the kernel needs RAM up to %llu MiB to decompress (init_size); give the VM more mem=",
			    (unsigned long long)((load + init_size + MiB(1) - 1) >> 20));
		return err;
	}
	out->load_addr = load;
	out->load_end = load + init_size;

	/* The initrd goes as high as allowed (boot.rst: "as high as possible
	 * below initrd_addr_max"), clear of the kernel's decompression room. */
	if (p->initrd && p->initrd_size) {
		uint64_t max = (uint64_t)get_le32(img + SETUP_INITRD_ADDR_MAX) + 1;
		uint64_t top = MIN(mem->size, max);
		if (p->initrd_size > top || ((top - p->initrd_size) & ~(uint64_t)(PAGE_SIZE - 1)) < out->load_end) {
			hv_snprintf(err, sizeof(err),
				    "the initrd (%llu KiB) does not fit between the kernel and the top of RAM; "
				    "give the VM more mem=", (unsigned long long)(p->initrd_size >> 10));
			return err;
		}
		out->initrd_addr = (top - p->initrd_size) & ~(uint64_t)(PAGE_SIZE - 1);
		out->initrd_size = p->initrd_size;
	}

	/* The command line, NUL included, within cmdline_size (protocol 2.06+). */
	size_t cmdlen = strlen(p->cmdline);
	uint64_t cmdmax = MIN((uint64_t)get_le32(img + SETUP_CMDLINE_SIZE), (uint64_t)LINUX_CMDLINE_MAX - 1);
	if (cmdlen > cmdmax) {
		hv_snprintf(err, sizeof(err), "the command line is %llu bytes; the kernel takes at most %llu",
			    (unsigned long long)cmdlen, (unsigned long long)cmdmax);
		return err;
	}

	/* The zero page: zeroed (so the sentinel at 0x1ef is 0 and the kernel
	 * trusts it), the image's setup header copied in, then our fields. */
	memset(bp, 0, sizeof(bp));
	uint64_t hdr_end = SETUP_JUMP + 2 + img[SETUP_JUMP + 1];
	if (hdr_end > SETUP_HEADER_END_MAX)
		hdr_end = SETUP_HEADER_END_MAX;
	memcpy(bp + SETUP_HDR_START, img + SETUP_HDR_START, hdr_end - SETUP_HDR_START);
	bp[SETUP_TYPE_OF_LOADER] = LINUX_TYPE_OF_LOADER;
	put_le32(bp + SETUP_CMD_LINE_PTR, (uint32_t)LINUX_CMDLINE_GPA);
	put_le32(bp + SETUP_RAMDISK_IMAGE, (uint32_t)out->initrd_addr);
	put_le32(bp + SETUP_RAMDISK_SIZE, (uint32_t)out->initrd_size);
	put_le32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(out->initrd_addr >> 32));
	put_le32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(out->initrd_size >> 32));
	put_le32(bp + BP_EXT_CMD_LINE_PTR, 0);
	if (version >= 0x020e && p->rsdp_gpa) /* acpi_rsdp_addr: protocol 2.14 */
		put_le64(bp + BP_ACPI_RSDP_ADDR, p->rsdp_gpa);
	struct guest_map_entry map[GUEST_MAP_MAX];
	unsigned n = guest_memory_map(mem->size, map);
	for (unsigned i = 0; i < n; i++) {
		put_le64(bp + BP_E820_TABLE + 20 * i, map[i].addr);
		put_le64(bp + BP_E820_TABLE + 20 * i + 8, map[i].len);
		put_le32(bp + BP_E820_TABLE + 20 * i + 16, map[i].type);
	}
	bp[BP_E820_ENTRIES] = (uint8_t)n;

	if (!guest_write(mem, load, img + pm_offset, pm_size) ||
	    (out->initrd_size && !guest_write(mem, out->initrd_addr, p->initrd, out->initrd_size)) ||
	    !guest_write(mem, LINUX_CMDLINE_GPA, p->cmdline, cmdlen + 1) ||
	    !guest_write(mem, LINUX_BOOT_PARAMS_GPA, bp, sizeof(bp)) ||
	    !guest_write(mem, LINUX_GDT_GPA, boot_gdt, sizeof(boot_gdt)) ||
	    !write_page_tables(mem, LINUX_PAGE_TABLES_GPA))
		return "the kernel's boot data does not fit in the VM's RAM";

	/* The 64-bit entry point is 0x200 past the start of the protected-mode
	 * kernel (boot.rst "64-bit BOOT PROTOCOL"). */
	out->entry = load + 0x200;
	out->boot_params_gpa = LINUX_BOOT_PARAMS_GPA;
	out->cr3 = LINUX_PAGE_TABLES_GPA;
	out->gdt_base = LINUX_GDT_GPA;
	out->gdt_limit = sizeof(boot_gdt) - 1;
	return NULL;
}
