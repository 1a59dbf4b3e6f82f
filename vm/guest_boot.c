#include "vm/guest_boot.h"
#include "lib/bytes.h"
#include "vm/elf_loader.h"
#include "vm/linux_boot.h"
#include "vm/acpi.h"
#include "boot/multiboot2.h"
#include "lib/printf.h"
#include "lib/string.h"

#define MB1_SEARCH 8192
#define MB2_SEARCH 32768

/* Multiboot v1 header flags (Multiboot spec 3.1.2). Bits 0-15 are
 * requirements: a loader that cannot meet one must refuse the kernel. */
#define MB1_FLAG_PAGE_ALIGN BIT(0)
#define MB1_FLAG_MEMORY_INFO BIT(1)
#define MB1_FLAG_VIDEO_MODE BIT(2)
#define MB1_FLAG_AOUT_KLUDGE BIT(16)
#define MB1_SUPPORTED_REQUIREMENTS (MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMORY_INFO)

/* Multiboot v1 information flags (spec 3.3). */
#define MB1_INFO_MEMORY BIT(0)
#define MB1_INFO_CMDLINE BIT(2)
#define MB1_INFO_MODS BIT(3)
#define MB1_INFO_MMAP BIT(6)
#define MB1_INFO_LOADER_NAME BIT(9)

/* Multiboot2 header tags (Multiboot2 spec 3.1.3). */
#define MB2H_TAG_END 0
#define MB2H_TAG_INFO_REQUEST 1
#define MB2H_TAG_ADDRESS 2
#define MB2H_TAG_ENTRY 3
#define MB2H_TAG_CONSOLE 4
#define MB2H_TAG_FRAMEBUFFER 5
#define MB2H_TAG_MODULE_ALIGN 6
#define MB2H_TAG_OPTIONAL BIT(0)

const char *guest_kind_name(enum guest_kind k)
{
	switch (k) {
	case GUEST_KIND_MULTIBOOT1: return "Multiboot kernel";
	case GUEST_KIND_MULTIBOOT2: return "Multiboot2 kernel";
	case GUEST_KIND_LINUX: return "Linux bzImage";
	default: return "ELF executable";
	}
}

/* Where the kernel is loaded from, whichever way the header says. */
struct load_plan {
	bool by_address;         /* a.out kludge (v1) or address tag (v2) */
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
	uint64_t header_offset;  /* of the Multiboot header in the file */
	bool has_entry;
	uint32_t entry_addr;
};

static const char *find_mb1(const uint8_t *img, uint64_t size, bool *found, struct load_plan *plan)
{
	*found = false;
	uint64_t limit = MIN(size, MB1_SEARCH); /* the header lies wholly in the first 8 KiB */
	for (uint64_t off = 0; off + 12 <= limit; off += 4) {
		if (get_le32(img + off) != MB1_HEADER_MAGIC)
			continue;
		uint32_t flags = get_le32(img + off + 4), sum = get_le32(img + off + 8);
		if (MB1_HEADER_MAGIC + flags + sum != 0)
			continue; /* not a header after all */
		*found = true;
		uint32_t required = flags & 0xffff;
		if (required & MB1_FLAG_VIDEO_MODE)
			return "the Multiboot kernel requires video mode information (flag 2), which this "
			       "hypervisor does not provide";
		if (required & ~MB1_SUPPORTED_REQUIREMENTS)
			return "the Multiboot kernel requires a feature this loader does not know "
			       "(unknown flag in bits 0-15)";
		plan->header_offset = off;
		if (flags & MB1_FLAG_AOUT_KLUDGE) {
			if (off + 32 > limit)
				return "the Multiboot header's address fields are cut off (by the end of "
				       "the file or of its first 8 KiB)";
			plan->by_address = true;
			plan->header_addr = get_le32(img + off + 12);
			plan->load_addr = get_le32(img + off + 16);
			plan->load_end_addr = get_le32(img + off + 20);
			plan->bss_end_addr = get_le32(img + off + 24);
			plan->has_entry = true;
			plan->entry_addr = get_le32(img + off + 28);
		}
		return NULL;
	}
	return NULL;
}

/* Info types (Multiboot2 spec 3.6) this loader writes. */
static bool mb2_info_supported(uint32_t type)
{
	return type == MB2_TAG_CMDLINE || type == MB2_TAG_BOOT_LOADER_NAME || type == MB2_TAG_MODULE ||
	       type == MB2_TAG_BASIC_MEMINFO || type == MB2_TAG_MMAP;
}

static const char *find_mb2(const uint8_t *img, uint64_t size, bool *found, struct load_plan *plan,
			    char *err, size_t errlen)
{
	*found = false;
	uint64_t limit = MIN(size, MB2_SEARCH); /* the header lies wholly in the first 32 KiB */
	for (uint64_t off = 0; off + 16 <= limit; off += 8) {
		if (get_le32(img + off) != MB2_HEADER_MAGIC)
			continue;
		uint32_t arch = get_le32(img + off + 4), len = get_le32(img + off + 8), sum = get_le32(img + off + 12);
		if (MB2_HEADER_MAGIC + arch + len + sum != 0)
			continue;
		*found = true;
		if (arch != 0)
			return "the Multiboot2 header is not for i386 (architecture field)";
		if (len < 24 || len > limit - off)
			return "the Multiboot2 header length runs past the image or its first 32 KiB";
		plan->header_offset = off;
		bool saw_end = false;
		for (uint64_t t = off + 16; t + 8 <= off + len;) {
			uint16_t type = get_le16(img + t), tflags = get_le16(img + t + 2);
			uint32_t tsize = get_le32(img + t + 4);
			bool optional = tflags & MB2H_TAG_OPTIONAL;
			if (tsize < 8 || tsize > off + len - t)
				return "a Multiboot2 header tag runs past the header";
			switch (type) {
			case MB2H_TAG_END:
				saw_end = true;
				break;
			case MB2H_TAG_INFO_REQUEST:
				for (uint32_t i = 8; i + 4 <= tsize; i += 4) {
					uint32_t want = get_le32(img + t + i);
					if (!mb2_info_supported(want) && !optional) {
						hv_snprintf(err, errlen,
							    "the Multiboot2 kernel requires information of "
							    "type %u, which this hypervisor does not provide",
							    want);
						return err;
					}
				}
				break;
			case MB2H_TAG_ADDRESS:
				if (tsize < 24)
					return "the Multiboot2 address tag is too short";
				plan->by_address = true;
				plan->header_addr = get_le32(img + t + 8);
				plan->load_addr = get_le32(img + t + 12);
				/* -1: load the file from its beginning (spec 3.1.5). */
				if (plan->load_addr == 0xffffffffu)
					plan->load_addr = plan->header_addr - (uint32_t)off;
				plan->load_end_addr = get_le32(img + t + 16);
				plan->bss_end_addr = get_le32(img + t + 20);
				break;
			case MB2H_TAG_ENTRY:
				if (tsize < 12)
					return "the Multiboot2 entry address tag is too short";
				plan->has_entry = true;
				plan->entry_addr = get_le32(img + t + 8);
				break;
			case MB2H_TAG_CONSOLE:
				if (tsize < 12)
					return "the Multiboot2 console flags tag is too short";
				/* Bit 0: a console described in the information; we describe none. */
				if ((get_le32(img + t + 8) & 1) && !optional)
					return "the Multiboot2 kernel requires a console described in the boot "
					       "information, which this hypervisor does not provide";
				break;
			case MB2H_TAG_MODULE_ALIGN:
				break; /* modules are always page aligned */
			case MB2H_TAG_FRAMEBUFFER:
				if (!optional)
					return "the Multiboot2 kernel requires a framebuffer, which this "
					       "hypervisor does not provide";
				break;
			default:
				if (!optional) {
					hv_snprintf(err, errlen,
						    "the Multiboot2 header has a required tag of type %u "
						    "that this loader does not know", type);
					return err;
				}
				break;
			}
			if (saw_end)
				break;
			t += ((uint64_t)tsize + 7) & ~7ULL;
		}
		if (!saw_end)
			return "the Multiboot2 header has no end tag";
		return NULL;
	}
	return NULL;
}

/* The a.out kludge / address tag load (Multiboot spec 3.1.3): the file from
 * header_offset - (header_addr - load_addr) is copied to load_addr up to
 * load_end_addr (0: to the end of the file), then zeroed up to bss_end_addr. */
static const char *load_by_address(const uint8_t *img, uint64_t size, const struct guest_mem *mem,
				   const struct load_plan *pl, struct guest_boot *out)
{
	if (pl->header_addr < pl->load_addr || pl->header_addr - pl->load_addr > pl->header_offset)
		return "the header's load address does not match its place in the file";
	uint64_t file_off = pl->header_offset - (pl->header_addr - pl->load_addr);
	uint64_t avail = size - file_off;
	uint64_t load_len = pl->load_end_addr ? (uint64_t)pl->load_end_addr - pl->load_addr : avail;
	if (pl->load_end_addr && pl->load_end_addr < pl->load_addr)
		return "the header's load end address is below its load address";
	if (load_len > avail)
		return "the header asks to load more bytes than the file has";
	uint64_t end = (uint64_t)pl->load_addr + load_len;
	uint64_t bss_end = pl->bss_end_addr ? pl->bss_end_addr : end;
	if (bss_end < end)
		return "the header's bss end address is below its load end address";
	if (!range_within(pl->load_addr, bss_end - pl->load_addr, 0, mem->size))
		return "the kernel does not fit in the VM's RAM";
	if (ranges_overlap(pl->load_addr, bss_end - pl->load_addr, GUEST_BOOT_INFO_GPA,
			   GUEST_BOOT_INFO_MAX))
		return "the kernel overlaps the boot information area";
	if (!pl->has_entry)
		return "the header gives load addresses but no entry address (Multiboot2 needs an "
		       "entry address tag with an address tag)";
	if (pl->entry_addr < pl->load_addr || pl->entry_addr >= bss_end)
		return "the entry address is not inside the loaded kernel";
	guest_write(mem, pl->load_addr, img + file_off, load_len);
	guest_fill(mem, end, 0, bss_end - end);
	out->cpu.rip = pl->entry_addr;
	out->load_start = pl->load_addr;
	out->load_end = bss_end;
	return NULL;
}

/* Building the information block in a local buffer, then one checked copy. */
struct info_builder {
	uint8_t buf[GUEST_BOOT_INFO_MAX];
	uint32_t len;
	bool overflow;
};

static uint32_t ib_put(struct info_builder *b, const void *data, uint32_t n)
{
	uint32_t at = b->len;
	if (n > sizeof(b->buf) - b->len) {
		b->overflow = true;
		return at;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	return at;
}

static void ib_put32(struct info_builder *b, uint32_t v) { ib_put(b, &v, 4); }
static void ib_put64(struct info_builder *b, uint64_t v) { ib_put(b, &v, 8); }
static void ib_align(struct info_builder *b, uint32_t a)
{
	static const uint8_t zero[8];
	ib_put(b, zero, (a - (b->len % a)) % a);
}
static void ib_set32(struct info_builder *b, uint32_t at, uint32_t v)
{
	if (at + 4 <= b->len)
		memcpy(b->buf + at, &v, 4);
}
static uint32_t ib_string(struct info_builder *b, const char *s)
{
	return ib_put(b, s, (uint32_t)strlen(s) + 1);
}

/* EBDA and BIOS area as a PC BIOS reserves them; the ACPI tables live in the
 * latter (vm/vm.c). */
#define GUEST_EBDA_END 0xa0000ULL
#define GUEST_BIOS_AREA 0xe0000ULL
#define GUEST_ECAM_SIZE MiB(1) /* bus 0 only (devices/pci.h) */

unsigned guest_memory_map(uint64_t ram_size, struct guest_map_entry out[GUEST_MAP_MAX])
{
	unsigned n = 0;
	out[n++] = (struct guest_map_entry){ 0, GUEST_LOW_MEM_END, E820_TYPE_RAM };
	out[n++] = (struct guest_map_entry){ GUEST_LOW_MEM_END, GUEST_EBDA_END - GUEST_LOW_MEM_END,
					     E820_TYPE_RESERVED };
	out[n++] = (struct guest_map_entry){ GUEST_BIOS_AREA, MiB(1) - GUEST_BIOS_AREA, E820_TYPE_RESERVED };
	if (ram_size > MiB(1))
		out[n++] = (struct guest_map_entry){ MiB(1), ram_size - MiB(1), E820_TYPE_RAM };
	if (ram_size <= ACPI_MCFG_BASE)
		out[n++] = (struct guest_map_entry){ ACPI_MCFG_BASE, GUEST_ECAM_SIZE, E820_TYPE_RESERVED };
	return n;
}

static void put_mb2_string_tag(struct info_builder *b, uint32_t type, const char *s)
{
	uint32_t n = (uint32_t)strlen(s) + 1;
	ib_put32(b, type);
	ib_put32(b, 8 + n);
	ib_put(b, s, n);
	ib_align(b, 8);
}

static void build_mb2_info(struct info_builder *b, const struct guest_mem *m,
			   const struct guest_boot_params *p, const uint64_t *mod_gpa)
{
	struct guest_map_entry r[GUEST_MAP_MAX];
	unsigned nr = guest_memory_map(m->size, r);
	ib_put32(b, 0); /* total_size, set at the end */
	ib_put32(b, 0);
	put_mb2_string_tag(b, MB2_TAG_CMDLINE, p->cmdline);
	put_mb2_string_tag(b, MB2_TAG_BOOT_LOADER_NAME, p->loader_name);
	for (unsigned i = 0; i < p->module_count; i++) {
		uint32_t n = (uint32_t)strlen(p->modules[i].string) + 1;
		ib_put32(b, MB2_TAG_MODULE);
		ib_put32(b, 16 + n);
		ib_put32(b, (uint32_t)mod_gpa[i]);
		ib_put32(b, (uint32_t)(mod_gpa[i] + p->modules[i].size));
		ib_put(b, p->modules[i].string, n);
		ib_align(b, 8);
	}
	ib_put32(b, MB2_TAG_BASIC_MEMINFO);
	ib_put32(b, 16);
	ib_put32(b, (uint32_t)(GUEST_LOW_MEM_END / 1024));
	ib_put32(b, (uint32_t)((m->size - MiB(1)) / 1024));
	ib_put32(b, MB2_TAG_MMAP);
	ib_put32(b, 16 + nr * 24);
	ib_put32(b, 24); /* entry size */
	ib_put32(b, 0);  /* entry version */
	for (unsigned i = 0; i < nr; i++) {
		ib_put64(b, r[i].addr);
		ib_put64(b, r[i].len);
		ib_put32(b, r[i].type);
		ib_put32(b, 0);
	}
	if (p->rsdp && p->rsdp_len) {
		ib_put32(b, MB2_TAG_ACPI_NEW);
		ib_put32(b, 8 + p->rsdp_len);
		ib_put(b, p->rsdp, p->rsdp_len);
		ib_align(b, 8);
	}
	ib_put32(b, MB2_TAG_END);
	ib_put32(b, 8);
	ib_set32(b, 0, b->len);
}

/* Multiboot v1 information structure (spec 3.3), fields by byte offset. */
#define MB1I_FLAGS 0
#define MB1I_MEM_LOWER 4
#define MB1I_MEM_UPPER 8
#define MB1I_CMDLINE 16
#define MB1I_MODS_COUNT 20
#define MB1I_MODS_ADDR 24
#define MB1I_MMAP_LENGTH 44
#define MB1I_MMAP_ADDR 48
#define MB1I_LOADER_NAME 64
#define MB1I_SIZE 88

static void build_mb1_info(struct info_builder *b, const struct guest_mem *m,
			   const struct guest_boot_params *p, const uint64_t *mod_gpa)
{
	static const uint8_t zero[MB1I_SIZE];
	uint32_t base = (uint32_t)GUEST_BOOT_INFO_GPA;
	struct guest_map_entry r[GUEST_MAP_MAX];
	unsigned nr = guest_memory_map(m->size, r);

	ib_put(b, zero, MB1I_SIZE);
	ib_set32(b, MB1I_FLAGS, MB1_INFO_MEMORY | MB1_INFO_CMDLINE | MB1_INFO_MODS | MB1_INFO_MMAP |
					MB1_INFO_LOADER_NAME);
	ib_set32(b, MB1I_MEM_LOWER, (uint32_t)(GUEST_LOW_MEM_END / 1024));
	ib_set32(b, MB1I_MEM_UPPER, (uint32_t)((m->size - MiB(1)) / 1024));

	/* Memory map entries: size (of the rest, 20), base, length, type. */
	ib_align(b, 4);
	uint32_t mmap_at = b->len;
	for (unsigned i = 0; i < nr; i++) {
		ib_put32(b, 20);
		ib_put64(b, r[i].addr);
		ib_put64(b, r[i].len);
		ib_put32(b, r[i].type);
	}
	ib_set32(b, MB1I_MMAP_ADDR, base + mmap_at);
	ib_set32(b, MB1I_MMAP_LENGTH, b->len - mmap_at);

	/* Module descriptors: start, end, string, reserved; strings follow. */
	uint32_t mods_at = b->len;
	for (unsigned i = 0; i < p->module_count; i++)
		ib_put(b, zero, 16); /* not 16 * count bytes of zero[]: it holds 88 */
	for (unsigned i = 0; i < p->module_count; i++) {
		uint32_t s = ib_string(b, p->modules[i].string);
		ib_set32(b, mods_at + 16 * i, (uint32_t)mod_gpa[i]);
		ib_set32(b, mods_at + 16 * i + 4, (uint32_t)(mod_gpa[i] + p->modules[i].size));
		ib_set32(b, mods_at + 16 * i + 8, base + s);
	}
	ib_set32(b, MB1I_MODS_COUNT, p->module_count);
	ib_set32(b, MB1I_MODS_ADDR, base + mods_at);
	ib_set32(b, MB1I_CMDLINE, base + ib_string(b, p->cmdline));
	ib_set32(b, MB1I_LOADER_NAME, base + ib_string(b, p->loader_name));
}

static const char *prepare_linux(const struct guest_mem *mem, const struct guest_boot_params *p,
				 struct guest_boot *out)
{
	if (p->module_count)
		return "a Linux kernel takes its initial RAM disk as initrd=, not module=";
	struct linux_boot_params lp = {
		.image = p->image, .image_size = p->image_size,
		.initrd = p->initrd, .initrd_size = p->initrd_size,
		.cmdline = p->cmdline, .rsdp_gpa = p->rsdp_gpa,
	};
	struct linux_boot lb;
	const char *e = linux_boot_prepare(mem, &lp, &lb);
	if (e)
		return e;
	out->kind = GUEST_KIND_LINUX;
	out->load_start = lb.load_addr;
	out->load_end = lb.load_end;
	out->modules_end = lb.initrd_size ? lb.initrd_addr + lb.initrd_size : lb.load_end;
	out->info_size = BP_SIZE;
	out->cpu = (struct guest_entry){
		.mode = GUEST_MODE_LONG64, .rip = lb.entry, .rsi = lb.boot_params_gpa,
		.cr3 = lb.cr3, .gdt_base = lb.gdt_base, .gdt_limit = lb.gdt_limit,
		.cs = LINUX_BOOT_CS, .ds = LINUX_BOOT_DS,
	};
	return NULL;
}

const char *guest_boot_prepare(const struct guest_mem *mem, const struct guest_boot_params *p,
			       struct guest_boot *out)
{
	static char err[160];
	static struct info_builder ib; /* 28 KiB: kept off the hypervisor stack */
	const uint8_t *img = p->image;
	struct load_plan plan = { 0 };
	bool mb1 = false, mb2 = false;
	const char *e;

	memset(out, 0, sizeof(*out));
	if (mem->size <= MiB(1))
		return "the VM needs more than 1 MiB of RAM";
	if (linux_is_bzimage(img, p->image_size))
		return prepare_linux(mem, p, out);
	if (p->initrd)
		return "initrd= is for Linux kernels; this kernel is not a bzImage (use module=)";
	if (p->module_count > GUEST_MAX_MODULES)
		return "too many modules for one guest";
	if ((e = find_mb2(img, p->image_size, &mb2, &plan, err, sizeof(err))))
		return e;
	if (!mb2 && (e = find_mb1(img, p->image_size, &mb1, &plan)))
		return e;
	out->kind = mb2 ? GUEST_KIND_MULTIBOOT2 : mb1 ? GUEST_KIND_MULTIBOOT1 : GUEST_KIND_ELF;

	if (plan.by_address) {
		if ((e = load_by_address(img, p->image_size, mem, &plan, out)))
			return e;
	} else {
		struct elf_load_result elf;
		if ((e = elf_load(img, p->image_size, mem, GUEST_BOOT_INFO_GPA, GUEST_BOOT_INFO_MAX, &elf)))
			return e;
		out->cpu.rip = elf.entry;
		out->load_start = elf.load_start;
		out->load_end = elf.load_end;
		/* A Multiboot2 entry tag overrides the ELF entry point. */
		if (plan.has_entry) {
			if (plan.entry_addr < elf.load_start || plan.entry_addr >= elf.load_end)
				return "the entry address tag points outside the loaded kernel";
			out->cpu.rip = plan.entry_addr;
		}
	}

	/* Modules go after the kernel, each on a page boundary (Multiboot
	 * flag 0 / module alignment tag), all below 4 GiB and inside RAM. */
	uint64_t mod_gpa[GUEST_MAX_MODULES];
	uint64_t next = ALIGN_UP(MAX(out->load_end, MiB(1)), PAGE_SIZE);
	for (unsigned i = 0; i < p->module_count; i++) {
		const struct guest_module *gm = &p->modules[i];
		if (!range_within(next, gm->size, 0, mem->size) || next + gm->size > UINT32_MAX) {
			hv_snprintf(err, sizeof(err), "module '%s' (%llu bytes) does not fit in the VM's RAM",
				    gm->string, (unsigned long long)gm->size);
			return err;
		}
		guest_write(mem, next, gm->data, gm->size);
		mod_gpa[i] = next;
		next = ALIGN_UP(next + gm->size, PAGE_SIZE);
	}
	out->modules_end = p->module_count ? mod_gpa[p->module_count - 1] + p->modules[p->module_count - 1].size
					   : out->load_end;

	memset(&ib, 0, sizeof(ib));
	if (out->kind == GUEST_KIND_MULTIBOOT1)
		build_mb1_info(&ib, mem, p, mod_gpa);
	else
		build_mb2_info(&ib, mem, p, mod_gpa);
	if (ib.overflow)
		return "the boot information (command line and module strings) is too large";
	if (!guest_write(mem, GUEST_BOOT_INFO_GPA, ib.buf, ib.len))
		return "the boot information does not fit in the VM's RAM";
	out->info_size = ib.len;
	out->cpu.mode = GUEST_MODE_PROTECTED32;
	out->cpu.cs = 0x08;
	out->cpu.ds = 0x10;
	out->cpu.rbx = GUEST_BOOT_INFO_GPA;
	out->cpu.rax = out->kind == GUEST_KIND_MULTIBOOT1 ? MB1_BOOTLOADER_MAGIC : MB2_BOOTLOADER_MAGIC;
	return NULL;
}
