/* vm/guest_boot.c: recognising a guest kernel (Multiboot2, Multiboot v1 or
 * plain ELF), loading it and its modules into guest RAM and writing the boot
 * information it expects (Multiboot spec 0.6.96 sections 3.1 and 3.3,
 * Multiboot2 spec 2.0 sections 3.1 and 3.6).
 *
 * Every image is built in memory, in a heap block of exactly its size, so
 * AddressSanitizer reports any read past its end. The information is read
 * back by the layouts of the specifications (v1: field offsets, v2: our own
 * parser boot/multiboot2.c), never through the implementation's constants. */
#define _DEFAULT_SOURCE /* mmap's MAP_NORESERVE, for a VM with RAM above 4 GiB */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/guest_boot.h"
#include "boot/multiboot2.h"

#define RAM_FILL 0xcc
#define LOADER "TextbookHV"

/* Multiboot v1 information structure (spec 3.3): byte offsets and flags. */
#define MBI_FLAGS 0
#define MBI_MEM_LOWER 4
#define MBI_MEM_UPPER 8
#define MBI_CMDLINE 16
#define MBI_MODS_COUNT 20
#define MBI_MODS_ADDR 24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR 48
#define MBI_LOADER_NAME 64
#define MBI_END_OF_USED 68 /* one past boot_loader_name, the last field we read */
#define MBI_F_MEM (1u << 0)
#define MBI_F_CMDLINE (1u << 2)
#define MBI_F_MODS (1u << 3)
#define MBI_F_MMAP (1u << 6)
#define MBI_F_LOADER_NAME (1u << 9)

/* Multiboot v1 header flags (spec 3.1.2). */
#define MBH_PAGE_ALIGN (1u << 0)
#define MBH_MEMORY_INFO (1u << 1)
#define MBH_VIDEO_MODE (1u << 2)
#define MBH_AOUT_KLUDGE (1u << 16)

/* Multiboot2 header tags (spec 3.1.3-3.1.11). */
#define TAG_END 0
#define TAG_INFO_REQUEST 1
#define TAG_ADDRESS 2
#define TAG_ENTRY 3
#define TAG_CONSOLE 4
#define TAG_FRAMEBUFFER 5
#define TAG_MODULE_ALIGN 6
#define TAG_OPTIONAL 1

/* --- Guest RAM ------------------------------------------------------------------- */


/* The memory map every kind of guest must be given, written out here
 * independently of vm/guest_boot.c: conventional memory, EBDA and BIOS area
 * reserved, RAM from 1 MiB, the PCI ECAM window (bus 0) reserved. */
struct map_want {
	uint64_t base, len;
	uint32_t type;
};
/* RAM reaching into the ECAM window (only in these tests: mem= stops at
 * 2 GiB) leaves it out. */
#define EXPECTED_MAP_ENTRIES (m->size <= 0xb0000000 ? 5u : 4u)
static struct map_want expected_map(uint64_t ram, unsigned i)
{
	const struct map_want w[] = {
		{ 0, 0x9fc00, 1 },           { 0x9fc00, 0x400, 2 }, { 0xe0000, 0x20000, 2 },
		{ MiB(1), ram - MiB(1), 1 }, { 0xb0000000, MiB(1), 2 },
	};
	return w[i];
}

static struct guest_mem ram_new(uint64_t size)
{
	struct guest_mem m = { aligned_alloc(4096, ALIGN_UP(size, 4096)), size };
	assert_non_null(m.hva);
	memset(m.hva, RAM_FILL, size);
	return m;
}

static bool ram_fill_between(const struct guest_mem *m, uint64_t a, uint64_t b)
{
	static uint8_t ref[65536];
	if (ref[0] != RAM_FILL)
		memset(ref, RAM_FILL, sizeof(ref));
	while (a < b) {
		size_t n = (size_t)MIN(b - a, sizeof(ref));
		if (memcmp(m->hva + a, ref, n) != 0)
			return false;
		a += n;
	}
	return true;
}

static bool ram_untouched(const struct guest_mem *m)
{
	return ram_fill_between(m, 0, m->size);
}

static bool ram_zero(const struct guest_mem *m, uint64_t a, uint64_t b)
{
	for (uint64_t i = a; i < b; i++)
		if (m->hva[i] != 0)
			return false;
	return true;
}

struct range {
	uint64_t start, end;
};

/* Nothing but the listed ranges was written. */
static void assert_written_only(const struct guest_mem *m, const struct range *r, unsigned n)
{
	for (uint64_t i = 0; i < m->size; i++) {
		if (m->hva[i] == RAM_FILL)
			continue;
		bool listed = false;
		for (unsigned k = 0; k < n && !listed; k++)
			listed = i >= r[k].start && i < r[k].end;
		if (!listed)
			fail_msg("guest byte 0x%llx was written, outside the kernel, modules and boot "
				 "information", (unsigned long long)i);
	}
}

static uint32_t g32(const struct guest_mem *m, uint64_t gpa)
{
	uint32_t v;
	if (!guest_read(m, gpa, &v, 4))
		fail_msg("0x%llx is outside guest RAM", (unsigned long long)gpa);
	return v;
}

static uint64_t g64(const struct guest_mem *m, uint64_t gpa)
{
	uint64_t v;
	if (!guest_read(m, gpa, &v, 8))
		fail_msg("0x%llx is outside guest RAM", (unsigned long long)gpa);
	return v;
}

/* --- Building images --------------------------------------------------------------- */

struct image {
	uint8_t *data;
	size_t size;
};

static uint8_t pattern(size_t file_offset)
{
	/* Consecutive bytes differ by 13: never an ELF or Multiboot magic. */
	return (uint8_t)(file_offset * 13 + 5);
}

static struct image image_new(size_t size)
{
	struct image img = { malloc(size ? size : 1), size };
	assert_non_null(img.data);
	for (size_t i = 0; i < size; i++)
		img.data[i] = pattern(i);
	return img;
}

/* The first n bytes of img, in a block of exactly n bytes. */
static struct image image_prefix(const struct image *img, size_t n)
{
	struct image p = { malloc(n ? n : 1), n };
	assert_non_null(p.data);
	memcpy(p.data, img->data, n);
	return p;
}

static void put32(struct image *img, size_t off, uint32_t v)
{
	assert_true(off + 4 <= img->size);
	memcpy(img->data + off, &v, 4);
}

/* An ELF32 executable with one read/execute PT_LOAD segment. */
struct elf_spec {
	uint32_t paddr, filesz, memsz, entry;
	uint32_t data_off; /* file offset of the segment's data */
	size_t size;       /* file size */
};

/* 8 KiB of text and data at 1 MiB, then 4 KiB of .bss; the data fill the
 * file from 0x100, where tests place their Multiboot headers. */
static struct elf_spec elf_default(void)
{
	return (struct elf_spec){ 0x100000, 0x2000, 0x3000, 0x100010, 0x100, 0x2100 };
}

static struct image elf_build(const struct elf_spec *s)
{
	struct image img = image_new(s->size);
	Elf32_Ehdr h = { .e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
			 .e_entry = s->entry, .e_phoff = sizeof(Elf32_Ehdr),
			 .e_ehsize = sizeof(Elf32_Ehdr), .e_phentsize = sizeof(Elf32_Phdr),
			 .e_phnum = 1 };
	memcpy(h.e_ident, ELFMAG, SELFMAG);
	h.e_ident[EI_CLASS] = ELFCLASS32;
	h.e_ident[EI_DATA] = ELFDATA2LSB;
	h.e_ident[EI_VERSION] = EV_CURRENT;
	Elf32_Phdr ph = { PT_LOAD, s->data_off, s->paddr, s->paddr, s->filesz, s->memsz,
			  PF_R | PF_X, 0x1000 };
	assert_true(s->data_off + (size_t)s->filesz <= s->size);
	memcpy(img.data, &h, sizeof(h));
	memcpy(img.data + sizeof(h), &ph, sizeof(ph));
	return img;
}

static void put_mb1(struct image *img, size_t off, uint32_t flags)
{
	put32(img, off, MB1_HEADER_MAGIC);
	put32(img, off + 4, flags);
	put32(img, off + 8, -(MB1_HEADER_MAGIC + flags));
}

/* A Multiboot2 header under construction. */
struct mb2h {
	uint8_t b[4096];
	uint32_t len;
};

static void mb2h_put32(struct mb2h *h, uint32_t v)
{
	assert_true(h->len + 4 <= sizeof(h->b));
	memcpy(h->b + h->len, &v, 4);
	h->len += 4;
}

static void mb2h_begin(struct mb2h *h, uint32_t arch)
{
	memset(h, 0, sizeof(*h));
	mb2h_put32(h, MB2_HEADER_MAGIC);
	mb2h_put32(h, arch);
	mb2h_put32(h, 0); /* header_length and checksum: mb2h_finish */
	mb2h_put32(h, 0);
}

/* A tag whose size field says size, holding n words, padded to 8 bytes. */
static void mb2h_tag_sized(struct mb2h *h, uint16_t type, uint16_t flags, uint32_t size,
			   const uint32_t *words, unsigned n)
{
	mb2h_put32(h, type | (uint32_t)flags << 16);
	mb2h_put32(h, size);
	for (unsigned i = 0; i < n; i++)
		mb2h_put32(h, words[i]);
	if (h->len & 7)
		mb2h_put32(h, 0);
}

static void mb2h_tag(struct mb2h *h, uint16_t type, uint16_t flags, const uint32_t *words, unsigned n)
{
	mb2h_tag_sized(h, type, flags, 8 + 4 * n, words, n);
}

/* header_length = len, and the checksum that makes the sum zero. */
static void mb2h_finish_len(struct mb2h *h, uint32_t len)
{
	uint32_t magic, arch;
	memcpy(&magic, h->b, 4);
	memcpy(&arch, h->b + 4, 4);
	uint32_t sum = -(magic + arch + len);
	memcpy(h->b + 8, &len, 4);
	memcpy(h->b + 12, &sum, 4);
}

static void mb2h_end(struct mb2h *h)
{
	mb2h_tag(h, TAG_END, 0, NULL, 0);
	mb2h_finish_len(h, h->len);
}

static void put_mb2(struct image *img, size_t off, const struct mb2h *h)
{
	assert_true(off + h->len <= img->size);
	memcpy(img->data + off, h->b, h->len);
}

/* A flat binary loaded by address: a Multiboot v1 header with the a.out
 * kludge, or a Multiboot2 header with address and entry tags. */
struct flat_spec {
	bool mb2;
	uint32_t hdr_off; /* where the header lies in the file */
	uint32_t header_addr, load_addr, load_end, bss_end, entry;
	size_t size;
};

/* 12 KiB file, header at 0x40; the first 10 KiB loaded at 2 MiB, .bss to
 * 2 MiB + 20 KiB. */
static struct flat_spec flat_default(bool mb2)
{
	return (struct flat_spec){ mb2, 0x40, 0x200040, 0x200000, 0x202800, 0x205000, 0x200100, 0x3000 };
}

static void mb2h_address_and_entry(struct mb2h *h, const struct flat_spec *s)
{
	const uint32_t addr[] = { s->header_addr, s->load_addr, s->load_end, s->bss_end };
	mb2h_begin(h, 0);
	mb2h_tag(h, TAG_ADDRESS, 0, addr, 4);
	mb2h_tag(h, TAG_ENTRY, 0, &s->entry, 1);
	mb2h_end(h);
}

static struct image flat_build(const struct flat_spec *s)
{
	struct image img = image_new(s->size);
	if (s->mb2) {
		struct mb2h h;
		mb2h_address_and_entry(&h, s);
		put_mb2(&img, s->hdr_off, &h);
	} else {
		uint32_t flags = MBH_AOUT_KLUDGE | MBH_PAGE_ALIGN | MBH_MEMORY_INFO;
		put_mb1(&img, s->hdr_off, flags);
		put32(&img, s->hdr_off + 12, s->header_addr);
		put32(&img, s->hdr_off + 16, s->load_addr);
		put32(&img, s->hdr_off + 20, s->load_end);
		put32(&img, s->hdr_off + 24, s->bss_end);
		put32(&img, s->hdr_off + 28, s->entry);
	}
	return img;
}

/* --- Preparing a guest ------------------------------------------------------------ */

static const char *prepare(const struct guest_mem *m, const struct image *img,
			   const struct guest_module *mods, unsigned n, const char *cmdline,
			   struct guest_boot *gb)
{
	const struct guest_boot_params p = { .image = img->data, .image_size = img->size, .modules = mods,
					      .module_count = n, .cmdline = cmdline, .loader_name = LOADER };
	memset(gb, 0x5a, sizeof(*gb));
	return guest_boot_prepare(m, &p, gb);
}

static void expect_ok(const struct guest_mem *m, const struct image *img, struct guest_boot *gb)
{
	const char *err = prepare(m, img, NULL, 0, "", gb);
	if (err)
		fail_msg("refused: %s", err);
}

/* Refused with a message containing words; RAM left as it was if untouched. */
static void expect_refused(const struct guest_mem *m, const struct image *img, const char *words,
			   bool untouched)
{
	struct guest_boot gb;
	const char *err = prepare(m, img, NULL, 0, "", &gb);
	if (!err)
		fail_msg("loaded as %s; expected a refusal with '%s'", guest_kind_name(gb.kind), words);
	if (!strstr(err, words))
		fail_msg("refused with '%s', expected '%s'", err, words);
	if (untouched && !ram_untouched(m))
		fail_msg("refused with '%s', but guest RAM was written", err);
}

/* An ELF kernel with the given Multiboot2 header at file offset 0x100. */
static void expect_mb2_refused(const struct mb2h *h, const char *words)
{
	struct guest_mem m = ram_new(MiB(4));
	struct elf_spec s = elf_default();
	struct image img = elf_build(&s);
	put_mb2(&img, 0x100, h);
	expect_refused(&m, &img, words, true);
	free(img.data);
	free(m.hva);
}

static enum guest_kind expect_mb2_loads(const struct mb2h *h, struct guest_boot *gb)
{
	struct guest_mem m = ram_new(MiB(4));
	struct elf_spec s = elf_default();
	struct image img = elf_build(&s);
	put_mb2(&img, 0x100, h);
	expect_ok(&m, &img, gb);
	free(img.data);
	free(m.hva);
	return gb->kind;
}

/* --- Checking modules and boot information ----------------------------------------- */

/* The guest's memory map as the specifications let it be checked: every
 * module must lie in RAM the map calls available. */
static bool in_available_ram(const struct guest_mem *m, uint64_t a, uint64_t b)
{
	return (b <= GUEST_LOW_MEM_END) || (a >= MiB(1) && b <= m->size);
}

/* Modules i: at start[i]..end[i] as the information says. */
static void check_modules(const struct guest_mem *m, const struct guest_boot *gb,
			  const struct guest_module *mods, unsigned n, const uint64_t *start,
			  const uint64_t *end)
{
	uint64_t prev_end = gb->load_end;
	for (unsigned i = 0; i < n; i++) {
		if (start[i] % PAGE_SIZE)
			fail_msg("module %u at 0x%llx is not page aligned", i, (unsigned long long)start[i]);
		if (end[i] - start[i] != mods[i].size)
			fail_msg("module %u: end - start = %llu, its size is %llu", i,
				 (unsigned long long)(end[i] - start[i]), (unsigned long long)mods[i].size);
		/* After the kernel and the previous module: nothing overlaps. */
		if (start[i] < prev_end)
			fail_msg("module %u at 0x%llx overlaps what precedes it (up to 0x%llx)", i,
				 (unsigned long long)start[i], (unsigned long long)prev_end);
		if (ranges_overlap(start[i], end[i] - start[i], GUEST_BOOT_INFO_GPA, gb->info_size))
			fail_msg("module %u at 0x%llx-0x%llx overlaps the boot information", i,
				 (unsigned long long)start[i], (unsigned long long)end[i]);
		if (!in_available_ram(m, start[i], end[i]) || end[i] > UINT32_MAX)
			fail_msg("module %u at 0x%llx-0x%llx is not in available RAM below 4 GiB", i,
				 (unsigned long long)start[i], (unsigned long long)end[i]);
		if (mods[i].size)
			assert_memory_equal(m->hva + start[i], mods[i].data, mods[i].size);
		prev_end = end[i];
	}
	assert_int_equal(gb->modules_end, n ? end[n - 1] : gb->load_end);
}

/* The Multiboot2 information at EBX, checked through boot/multiboot2.c. */
static void check_mb2_info(const struct guest_mem *m, const struct guest_boot *gb, const char *cmdline,
			   const struct guest_module *mods, unsigned n, struct range *mod_ranges)
{
	assert_int_equal(gb->cpu.rax, MB2_BOOTLOADER_MAGIC);
	assert_int_equal(gb->cpu.rbx, GUEST_BOOT_INFO_GPA);
	assert_true(gb->info_size >= 16 && gb->info_size <= GUEST_BOOT_INFO_MAX);
	assert_int_equal(g32(m, gb->cpu.rbx + 4), 0); /* reserved */

	struct boot_info bi;
	const char *err = mb2_parse(m->hva + gb->cpu.rbx, gb->cpu.rbx, &bi);
	if (err)
		fail_msg("the boot information does not parse: %s", err);
	assert_int_equal(bi.info_size, gb->info_size);
	assert_non_null(bi.cmdline);
	assert_string_equal(bi.cmdline, cmdline);
	assert_non_null(bi.loader_name);
	assert_string_equal(bi.loader_name, LOADER);
	assert_int_equal(bi.mem_lower_kib, GUEST_LOW_MEM_END / 1024);
	assert_int_equal(bi.mem_lower_kib, 639);
	assert_int_equal(bi.mem_upper_kib, (m->size - MiB(1)) / 1024);
	assert_int_equal(bi.mmap_count, EXPECTED_MAP_ENTRIES);
	for (unsigned i = 0; i < EXPECTED_MAP_ENTRIES; i++) {
		struct map_want w = expected_map(m->size, i);
		assert_int_equal(bi.mmap[i].base, w.base);
		assert_int_equal(bi.mmap[i].length, w.len);
		assert_int_equal(bi.mmap[i].type, w.type);
	}

	assert_int_equal(bi.module_count, n);
	assert_int_equal(bi.modules_dropped, 0);
	uint64_t start[GUEST_MAX_MODULES], end[GUEST_MAX_MODULES];
	for (unsigned i = 0; i < n; i++) {
		assert_string_equal(bi.modules[i].string, mods[i].string);
		start[i] = bi.modules[i].start;
		end[i] = bi.modules[i].end;
		if (mod_ranges)
			mod_ranges[i] = (struct range){ start[i], end[i] };
	}
	check_modules(m, gb, mods, n, start, end);
}

/* A string the v1 information points at: inside the block, with its NUL. */
static const char *mb1_string(const struct guest_mem *m, const struct guest_boot *gb, uint32_t gpa)
{
	uint64_t lo = GUEST_BOOT_INFO_GPA, hi = lo + gb->info_size;
	if (gpa < lo || gpa >= hi)
		fail_msg("string at 0x%x lies outside the information block", gpa);
	const char *s = (const char *)m->hva + gpa;
	if (!memchr(s, 0, hi - gpa))
		fail_msg("string at 0x%x does not end inside the information block", gpa);
	return s;
}

static void assert_in_mb1_block(const struct guest_boot *gb, uint64_t gpa, uint64_t len, const char *what)
{
	if (!range_within(gpa, len, GUEST_BOOT_INFO_GPA, gb->info_size))
		fail_msg("%s at 0x%llx (%llu bytes) lies outside the information block", what,
			 (unsigned long long)gpa, (unsigned long long)len);
}

/* The Multiboot v1 information at EBX, field by field (spec 3.3). */
static void check_mb1_info(const struct guest_mem *m, const struct guest_boot *gb, const char *cmdline,
			   const struct guest_module *mods, unsigned n, struct range *mod_ranges)
{
	assert_int_equal(gb->cpu.rax, 0x2BADB002);
	assert_int_equal(gb->cpu.rbx, GUEST_BOOT_INFO_GPA);
	assert_true(gb->info_size >= MBI_END_OF_USED && gb->info_size <= GUEST_BOOT_INFO_MAX);
	uint64_t mbi = gb->cpu.rbx;

	/* Exactly the fields we fill are announced: no boot device, symbols,
	 * drives, ROM configuration, APM, VBE or framebuffer. */
	assert_int_equal(g32(m, mbi + MBI_FLAGS),
			 MBI_F_MEM | MBI_F_CMDLINE | MBI_F_MODS | MBI_F_MMAP | MBI_F_LOADER_NAME);
	assert_int_equal(g32(m, mbi + MBI_MEM_LOWER), 639);
	assert_int_equal(g32(m, mbi + MBI_MEM_UPPER), (m->size - MiB(1)) / 1024);
	assert_string_equal(mb1_string(m, gb, g32(m, mbi + MBI_CMDLINE)), cmdline);
	assert_string_equal(mb1_string(m, gb, g32(m, mbi + MBI_LOADER_NAME)), LOADER);

	/* Modules: 16-byte descriptors (start, end, string, reserved). */
	assert_int_equal(g32(m, mbi + MBI_MODS_COUNT), n);
	uint32_t mods_addr = g32(m, mbi + MBI_MODS_ADDR);
	assert_in_mb1_block(gb, mods_addr, 16ULL * n, "the module list");
	uint64_t start[GUEST_MAX_MODULES], end[GUEST_MAX_MODULES];
	for (unsigned i = 0; i < n; i++) {
		uint64_t d = mods_addr + 16ULL * i;
		start[i] = g32(m, d);
		end[i] = g32(m, d + 4);
		assert_string_equal(mb1_string(m, gb, g32(m, d + 8)), mods[i].string);
		assert_int_equal(g32(m, d + 12), 0);
		if (mod_ranges)
			mod_ranges[i] = (struct range){ start[i], end[i] };
	}
	check_modules(m, gb, mods, n, start, end);

	/* Memory map: entries with a size field (of the rest, at least 20)
	 * before base_addr, length and type; walked as the spec's example does. */
	uint32_t mmap_len = g32(m, mbi + MBI_MMAP_LENGTH), mmap_addr = g32(m, mbi + MBI_MMAP_ADDR);
	assert_in_mb1_block(gb, mmap_addr, mmap_len, "the memory map");
	struct {
		uint64_t base, len;
		uint32_t type;
	} e[8];
	unsigned count = 0;
	for (uint64_t p = mmap_addr; p < (uint64_t)mmap_addr + mmap_len; count++) {
		uint32_t size = g32(m, p);
		assert_true(size >= 20);
		assert_true(count < ARRAY_SIZE(e));
		assert_in_mb1_block(gb, p, 4ULL + size, "a memory map entry");
		e[count].base = g64(m, p + 4);
		e[count].len = g64(m, p + 12);
		e[count].type = g32(m, p + 20);
		p += 4ULL + size;
	}
	assert_int_equal(count, EXPECTED_MAP_ENTRIES);
	for (unsigned i = 0; i < EXPECTED_MAP_ENTRIES; i++) {
		struct map_want w = expected_map(m->size, i);
		assert_int_equal(e[i].base, w.base);
		assert_int_equal(e[i].len, w.len);
		assert_int_equal(e[i].type, w.type);
	}
}

static uint8_t *module_data(size_t size, uint8_t seed)
{
	uint8_t *d = malloc(size ? size : 1);
	assert_non_null(d);
	for (size_t i = 0; i < size; i++)
		d[i] = (uint8_t)(i * 7 + seed);
	return d;
}

/* --- (a) Plain ELF ------------------------------------------------------------------ */

static void test_elf_gets_multiboot2_info(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(8));
	struct elf_spec s = elf_default();
	struct image img = elf_build(&s);
	uint8_t *d0 = module_data(5000, 1), *d1 = module_data(0, 2), *d2 = module_data(4096, 3);
	const struct guest_module mods[] = { { d0, 5000, "first module args" },
					     { d1, 0, "empty" },
					     { d2, 4096, "" } };
	struct guest_boot gb;
	const char *err = prepare(&m, &img, mods, 3, "console=ttyS0 quiet", &gb);
	if (err)
		fail_msg("refused: %s", err);
	assert_int_equal(gb.kind, GUEST_KIND_ELF);
	assert_int_equal(gb.cpu.rip, 0x100010);
	assert_int_equal(gb.load_start, 0x100000);
	assert_int_equal(gb.load_end, 0x103000);
	assert_memory_equal(m.hva + 0x100000, img.data + 0x100, 0x2000);
	assert_true(ram_zero(&m, 0x102000, 0x103000));

	struct range r[2 + 3];
	check_mb2_info(&m, &gb, "console=ttyS0 quiet", mods, 3, r + 2);
	r[0] = (struct range){ GUEST_BOOT_INFO_GPA, GUEST_BOOT_INFO_GPA + gb.info_size };
	r[1] = (struct range){ gb.load_start, gb.load_end };
	assert_written_only(&m, r, 5);
	free(d0);
	free(d1);
	free(d2);
	free(img.data);
	free(m.hva);
}

/* No modules: none listed, modules_end is the kernel's end; the sizes follow
 * the VM's RAM. */
/* An RSDP handed over becomes the Multiboot2 "ACPI new RSDP" tag. */
static void test_mb2_acpi_rsdp_tag(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct elf_spec es = elf_default();
	struct image img = elf_build(&es);
	uint8_t rsdp[36];
	for (unsigned i = 0; i < sizeof(rsdp); i++)
		rsdp[i] = (uint8_t)(i * 7 + 1);
	const struct guest_boot_params p = { .image = img.data, .image_size = img.size, .cmdline = "",
					     .loader_name = LOADER, .rsdp = rsdp, .rsdp_len = sizeof(rsdp) };
	struct guest_boot gb;
	assert_null(guest_boot_prepare(&m, &p, &gb));
	struct boot_info bi;
	assert_null(mb2_parse(m.hva + gb.cpu.rbx, gb.cpu.rbx, &bi));
	assert_non_null(bi.rsdp);
	assert_int_equal(bi.rsdp_revision, 2);
	assert_memory_equal(bi.rsdp, rsdp, sizeof(rsdp));
	free(img.data);
	free(m.hva);
}

static void test_elf_without_modules(void **state)
{
	(void)state;
	static const uint64_t sizes[] = { MiB(2), MiB(3) + 0x1000, MiB(64) };
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct guest_mem m = ram_new(sizes[i]);
		struct elf_spec s = elf_default();
		struct image img = elf_build(&s);
		struct guest_boot gb;
		expect_ok(&m, &img, &gb);
		assert_int_equal(gb.kind, GUEST_KIND_ELF);
		assert_int_equal(gb.modules_end, gb.load_end);
		check_mb2_info(&m, &gb, "", NULL, 0, NULL);
		free(img.data);
		free(m.hva);
	}
}

/* --- (b) Multiboot v1, a.out kludge ----------------------------------------------------- */

static void test_mb1_aout_flat(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(8));
	struct flat_spec s = flat_default(false);
	struct image img = flat_build(&s);
	uint8_t *d0 = module_data(0x1800, 9), *d1 = module_data(3, 4);
	const struct guest_module mods[] = { { d0, 0x1800, "initrd.img rw" }, { d1, 3, "x" } };
	struct guest_boot gb;
	const char *err = prepare(&m, &img, mods, 2, "root=/dev/sda1 debug", &gb);
	if (err)
		fail_msg("refused: %s", err);
	assert_int_equal(gb.kind, GUEST_KIND_MULTIBOOT1);
	assert_int_equal(gb.cpu.rax, MB1_BOOTLOADER_MAGIC);
	assert_int_equal(gb.cpu.rip, 0x200100);
	assert_int_equal(gb.load_start, 0x200000);
	assert_int_equal(gb.load_end, 0x205000);
	/* The file from offset 0 (header at 0x40 = header_addr - load_addr) up
	 * to load_end_addr, then zeros up to bss_end_addr. */
	assert_memory_equal(m.hva + 0x200000, img.data, 0x2800);
	assert_true(ram_zero(&m, 0x202800, 0x205000));

	struct range r[2 + 2];
	check_mb1_info(&m, &gb, "root=/dev/sda1 debug", mods, 2, r + 2);
	r[0] = (struct range){ GUEST_BOOT_INFO_GPA, GUEST_BOOT_INFO_GPA + gb.info_size };
	r[1] = (struct range){ gb.load_start, gb.load_end };
	assert_written_only(&m, r, 4);
	free(d0);
	free(d1);
	free(img.data);
	free(m.hva);
}

/* The load starts where header_addr - load_addr says, before the header;
 * load_end_addr 0 loads to the end of the file, bss_end_addr 0 means no .bss. */
static void test_mb1_aout_offsets_and_zero_fields(void **state)
{
	(void)state;
	for (int mb2 = 0; mb2 <= 1; mb2++) {
		struct guest_mem m = ram_new(MiB(4));
		struct flat_spec s = flat_default(mb2);
		s.hdr_off = 0x1000;
		s.load_addr = 0x300000;
		s.header_addr = 0x300000 + 0x800; /* the load starts at file offset 0x800 */
		s.load_end = 0;
		s.bss_end = 0;
		s.entry = 0x300000;
		struct image img = flat_build(&s);
		struct guest_boot gb;
		expect_ok(&m, &img, &gb);
		assert_int_equal(gb.kind, mb2 ? GUEST_KIND_MULTIBOOT2 : GUEST_KIND_MULTIBOOT1);
		assert_int_equal(gb.load_start, 0x300000);
		assert_int_equal(gb.load_end, 0x300000 + 0x3000 - 0x800);
		assert_memory_equal(m.hva + 0x300000, img.data + 0x800, 0x3000 - 0x800);
		assert_true(ram_fill_between(&m, 0x300000 + 0x3000 - 0x800, m.size));
		assert_true(ram_fill_between(&m, GUEST_BOOT_INFO_GPA + gb.info_size, 0x300000));
		free(img.data);
		free(m.hva);
	}
}

/* Bits 16-31 other than 16 are optional features: ignored. Flags 0 and 1
 * are requirements we meet (page-aligned modules, memory information). */
static void test_mb1_optional_flags_ignored(void **state)
{
	(void)state;
	static const uint32_t flags[] = { 0, MBH_PAGE_ALIGN, MBH_MEMORY_INFO, 0xfffe0003, 0x80000000 };
	for (unsigned i = 0; i < ARRAY_SIZE(flags); i++) {
		struct guest_mem m = ram_new(MiB(4));
		struct elf_spec s = elf_default();
		struct image img = elf_build(&s);
		put_mb1(&img, 0x100, flags[i]);
		struct guest_boot gb;
		expect_ok(&m, &img, &gb);
		assert_int_equal(gb.kind, GUEST_KIND_MULTIBOOT1);
		assert_int_equal(gb.cpu.rax, MB1_BOOTLOADER_MAGIC);
		free(img.data);
		free(m.hva);
	}
}

/* --- (c) Multiboot v1, ELF ------------------------------------------------------------ */

/* Without flag 16 the address fields are not there: what follows the header
 * (here nonsense) is ignored and the ELF program headers say where to load. */
static void test_mb1_elf(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct elf_spec s = elf_default();
	struct image img = elf_build(&s);
	put_mb1(&img, 0x120, MBH_PAGE_ALIGN | MBH_MEMORY_INFO);
	for (unsigned k = 0; k < 5; k++)
		put32(&img, 0x120 + 12 + 4 * k, 0xfff00000u + k); /* would-be address fields */
	uint8_t *d0 = module_data(100, 5);
	const struct guest_module mods[] = { { d0, 100, "mod" } };
	struct guest_boot gb;
	const char *err = prepare(&m, &img, mods, 1, "a b c", &gb);
	if (err)
		fail_msg("refused: %s", err);
	assert_int_equal(gb.kind, GUEST_KIND_MULTIBOOT1);
	assert_int_equal(gb.cpu.rip, 0x100010);
	assert_int_equal(gb.load_start, 0x100000);
	assert_int_equal(gb.load_end, 0x103000);
	assert_memory_equal(m.hva + 0x100000, img.data + 0x100, 0x2000);
	assert_true(ram_zero(&m, 0x102000, 0x103000));
	check_mb1_info(&m, &gb, "a b c", mods, 1, NULL);
	free(d0);
	free(img.data);
	free(m.hva);
}

/* --- (d) Multiboot2 -------------------------------------------------------------------- */

/* Information request, entry address, module alignment: the entry tag
 * overrides the ELF entry point; the information requested is there. */
static void test_mb2_elf_with_tags(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct elf_spec s = elf_default();
	struct image img = elf_build(&s);
	struct mb2h h;
	const uint32_t want[] = { MB2_TAG_CMDLINE, MB2_TAG_BOOT_LOADER_NAME, MB2_TAG_MODULE,
				  MB2_TAG_BASIC_MEMINFO, MB2_TAG_MMAP };
	const uint32_t entry = 0x100800;
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_INFO_REQUEST, 0, want, ARRAY_SIZE(want));
	mb2h_tag(&h, TAG_ENTRY, 0, &entry, 1);
	mb2h_tag(&h, TAG_MODULE_ALIGN, 0, NULL, 0);
	mb2h_end(&h);
	put_mb2(&img, 0x100, &h);
	uint8_t *d0 = module_data(0x2345, 6), *d1 = module_data(0x1000, 7);
	const struct guest_module mods[] = { { d0, 0x2345, "one" }, { d1, 0x1000, "two 2" } };
	struct guest_boot gb;
	const char *err = prepare(&m, &img, mods, 2, "mb2", &gb);
	if (err)
		fail_msg("refused: %s", err);
	assert_int_equal(gb.kind, GUEST_KIND_MULTIBOOT2);
	assert_int_equal(gb.cpu.rip, 0x100800);
	assert_int_equal(gb.load_start, 0x100000);
	assert_int_equal(gb.load_end, 0x103000);
	assert_memory_equal(m.hva + 0x100000, img.data + 0x100, 0x2000);
	struct range r[2 + 2];
	check_mb2_info(&m, &gb, "mb2", mods, 2, r + 2);
	r[0] = (struct range){ GUEST_BOOT_INFO_GPA, GUEST_BOOT_INFO_GPA + gb.info_size };
	r[1] = (struct range){ gb.load_start, gb.load_end };
	assert_written_only(&m, r, 4);
	free(d0);
	free(d1);
	free(img.data);
	free(m.hva);
}

/* The entry tag must point into what the ELF headers loaded. */
static void test_mb2_entry_tag_bounds(void **state)
{
	(void)state;
	static const struct {
		uint32_t entry;
		bool ok;
	} cases[] = {
		{ 0x100000, true }, { 0x102fff, true }, /* first byte; last byte of .bss */
		{ 0x103000, false }, { 0xfffff, false }, { 0, false }, { 0xffffffff, false },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mb2h h;
		mb2h_begin(&h, 0);
		mb2h_tag(&h, TAG_ENTRY, 0, &cases[i].entry, 1);
		mb2h_end(&h);
		if (cases[i].ok) {
			struct guest_boot gb;
			expect_mb2_loads(&h, &gb);
			assert_int_equal(gb.cpu.rip, cases[i].entry);
		} else {
			struct guest_mem m = ram_new(MiB(4));
			struct elf_spec s = elf_default();
			struct image img = elf_build(&s);
			put_mb2(&img, 0x100, &h);
			expect_refused(&m, &img, "entry address tag points outside the loaded kernel", false);
			free(img.data);
			free(m.hva);
		}
	}
}

/* An address tag loads by address even when the file is a valid ELF: the
 * program headers (which say 1 MiB) are not used. */
static void test_mb2_address_tag_wins_over_elf(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(8));
	struct elf_spec es = elf_default();
	struct image img = elf_build(&es);
	struct flat_spec s = { true, 0x100, 0x400100, 0x400000, 0, 0x404000, 0x400010, img.size };
	struct mb2h h;
	mb2h_address_and_entry(&h, &s);
	put_mb2(&img, 0x100, &h);
	struct guest_boot gb;
	expect_ok(&m, &img, &gb);
	assert_int_equal(gb.kind, GUEST_KIND_MULTIBOOT2);
	assert_int_equal(gb.cpu.rip, 0x400010);
	assert_int_equal(gb.load_start, 0x400000);
	assert_int_equal(gb.load_end, 0x404000);
	assert_memory_equal(m.hva + 0x400000, img.data, img.size); /* ELF header and all */
	assert_true(ram_zero(&m, 0x400000 + img.size, 0x404000));
	assert_true(ram_fill_between(&m, 0x100000, 0x400000));
	check_mb2_info(&m, &gb, "", NULL, 0, NULL);
	free(img.data);
	free(m.hva);
}

/* Multiboot2 spec 3.1.5: load_addr -1 means the file is loaded from its
 * beginning, so header_addr is where the header's file offset lands. */
static void test_mb2_address_tag_load_from_beginning(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct flat_spec s = flat_default(true);
	s.hdr_off = 0x200;
	s.header_addr = 0x300200;
	s.load_addr = 0xffffffff;
	s.load_end = 0;
	s.bss_end = 0x305000;
	s.entry = 0x300400;
	struct image img = flat_build(&s);
	struct guest_boot gb;
	expect_ok(&m, &img, &gb);
	assert_int_equal(gb.load_start, 0x300000);
	assert_int_equal(gb.load_end, 0x305000);
	assert_int_equal(gb.cpu.rip, 0x300400);
	assert_memory_equal(m.hva + 0x300000, img.data, img.size);
	assert_true(ram_zero(&m, 0x300000 + img.size, 0x305000));
	free(img.data);
	free(m.hva);

	/* header_addr below the header's file offset: the file would start
	 * below address 0. */
	m = ram_new(MiB(4));
	s.header_addr = 0x1ff;
	s.bss_end = 0;
	s.entry = 0x100;
	img = flat_build(&s);
	expect_refused(&m, &img, "does not match its place in the file", true);
	free(img.data);
	free(m.hva);
}

/* Tags we do not know, a framebuffer request and information we do not
 * write are all fine when optional; tag sizes that are not a multiple of 8
 * are padded (the next tag starts 8-aligned). */
static void test_mb2_optional_tags_ignored(void **state)
{
	(void)state;
	struct mb2h h;
	const uint32_t fb[] = { 1024, 768, 32 }, odd[] = { 0xffffffff, 0xffffffff };
	const uint32_t want[] = { MB2_TAG_CMDLINE, 8, 14, 15, 21 }; /* framebuffer, ACPI, load base */
	mb2h_begin(&h, 0);
	mb2h_tag_sized(&h, 42, TAG_OPTIONAL, 13, odd, 2); /* 13 bytes: the next tag at +16 */
	mb2h_tag(&h, TAG_FRAMEBUFFER, TAG_OPTIONAL, fb, 3);
	mb2h_tag(&h, TAG_INFO_REQUEST, TAG_OPTIONAL, want, ARRAY_SIZE(want));
	mb2h_tag(&h, 7, TAG_OPTIONAL, NULL, 0);  /* EFI boot services */
	mb2h_tag(&h, 10, TAG_OPTIONAL, fb, 3);   /* relocatable */
	mb2h_tag(&h, TAG_CONSOLE, 0, (const uint32_t[]){ 2 }, 1); /* has EGA text; none required */
	mb2h_tag(&h, TAG_CONSOLE, TAG_OPTIONAL, (const uint32_t[]){ 1 }, 1);
	mb2h_end(&h);
	struct guest_boot gb;
	assert_int_equal(expect_mb2_loads(&h, &gb), GUEST_KIND_MULTIBOOT2);
	assert_int_equal(gb.cpu.rip, 0x100010); /* no entry tag: the ELF entry */

	/* Tags after the end tag are not read. */
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_END, 0, NULL, 0);
	mb2h_tag(&h, 99, 0, NULL, 0);
	mb2h_finish_len(&h, h.len);
	assert_int_equal(expect_mb2_loads(&h, &gb), GUEST_KIND_MULTIBOOT2);
}

/* A required information request is met exactly when the information we
 * write holds a tag of that type (spec 3.1.4). */
static void test_mb2_info_request_matches_what_is_written(void **state)
{
	(void)state;
	uint8_t d0[16] = { 0 };
	const struct guest_module mod = { d0, sizeof(d0), "m" };
	unsigned accepted = 0;
	for (uint32_t type = 0; type <= 24; type++) {
		struct guest_mem m = ram_new(MiB(4));
		struct elf_spec s = elf_default();
		struct image img = elf_build(&s);
		struct mb2h h;
		mb2h_begin(&h, 0);
		mb2h_tag(&h, TAG_INFO_REQUEST, 0, &type, 1);
		mb2h_end(&h);
		put_mb2(&img, 0x100, &h);
		struct guest_boot gb;
		const char *err = prepare(&m, &img, &mod, 1, "c", &gb);
		if (err) {
			char words[96];
			snprintf(words, sizeof(words), "requires information of type %u,", type);
			if (!strstr(err, words))
				fail_msg("type %u refused with '%s'", type, err);
			assert_true(ram_untouched(&m));
		} else {
			/* Walk the tags written: one of the requested type is there. */
			const uint8_t *info = m.hva + gb.cpu.rbx;
			uint32_t total = g32(&m, gb.cpu.rbx);
			bool found = false;
			for (uint32_t off = 8; off + 8 <= total && !found;) {
				uint32_t t, size;
				memcpy(&t, info + off, 4);
				memcpy(&size, info + off + 4, 4);
				found = t == type;
				if (t == MB2_TAG_END)
					break;
				off += (size + 7) & ~7u;
			}
			if (!found)
				fail_msg("a required request for type %u was accepted, but no such tag was "
					 "written", type);
			accepted++;
		}
		free(img.data);
		free(m.hva);
	}
	/* Command line, loader name, modules, basic memory info, memory map. */
	assert_int_equal(accepted, 5);

	/* The first unsupported type of several is named. */
	struct mb2h h;
	const uint32_t want[] = { MB2_TAG_CMDLINE, MB2_TAG_MMAP, 5, 8 };
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_INFO_REQUEST, 0, want, ARRAY_SIZE(want));
	mb2h_end(&h);
	expect_mb2_refused(&h, "requires information of type 5,");
}

/* A Multiboot2 header is preferred over a Multiboot one; one whose checksum
 * is wrong is no header at all. */
static void test_header_precedence(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct elf_spec s = elf_default();
	struct image img = elf_build(&s);
	struct mb2h h;
	mb2h_begin(&h, 0);
	mb2h_end(&h);
	put_mb1(&img, 0x100, MBH_PAGE_ALIGN);
	put_mb2(&img, 0x200, &h);
	struct guest_boot gb;
	expect_ok(&m, &img, &gb);
	assert_int_equal(gb.kind, GUEST_KIND_MULTIBOOT2);
	assert_int_equal(gb.cpu.rax, MB2_BOOTLOADER_MAGIC);

	img.data[0x200 + 12] ^= 1; /* the v2 checksum */
	expect_ok(&m, &img, &gb);
	assert_int_equal(gb.kind, GUEST_KIND_MULTIBOOT1);
	assert_int_equal(gb.cpu.rax, MB1_BOOTLOADER_MAGIC);
	free(img.data);
	free(m.hva);
}

/* Where headers are looked for: v1 32-bit aligned and completely in the
 * first 8 KiB (spec 3.1.1), v2 64-bit aligned and completely in the first
 * 32 KiB (Multiboot2 spec 3.1.1). Outside that, the file is a plain ELF. */
static void test_header_search_window(void **state)
{
	(void)state;
	static const struct {
		bool mb2;
		uint32_t off;
		int kind; /* -1: refused */
	} cases[] = {
		{ false, 0x102, GUEST_KIND_ELF },        /* not 32-bit aligned */
		{ false, 8192 - 12, GUEST_KIND_MULTIBOOT1 }, /* ends at 8 KiB */
		{ false, 8192 - 8, GUEST_KIND_ELF },     /* flags and checksum past 8 KiB */
		{ false, 8192 - 4, GUEST_KIND_ELF },
		{ false, 8192, GUEST_KIND_ELF },
		{ true, 0x104, GUEST_KIND_ELF },         /* not 64-bit aligned */
		{ true, 32768 - 24, GUEST_KIND_MULTIBOOT2 }, /* ends at 32 KiB */
		{ true, 32768 - 16, -1 },               /* its end tag past 32 KiB */
		{ true, 32768 - 8, GUEST_KIND_ELF },
		{ true, 32768, GUEST_KIND_ELF },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		struct guest_mem m = ram_new(MiB(4));
		struct elf_spec s = elf_default();
		s.filesz = s.memsz = 0x8100;
		s.size = 0x100 + 0x8100;
		struct image img = elf_build(&s);
		if (cases[i].mb2) {
			struct mb2h h;
			mb2h_begin(&h, 0);
			mb2h_end(&h);
			put_mb2(&img, cases[i].off, &h);
		} else {
			put_mb1(&img, cases[i].off, MBH_PAGE_ALIGN);
		}
		struct guest_boot gb;
		const char *err = prepare(&m, &img, NULL, 0, "", &gb);
		if (cases[i].kind < 0) {
			if (!err)
				fail_msg("case %u: a header running past 32 KiB was accepted", i);
			assert_true(ram_untouched(&m));
		} else {
			if (err)
				fail_msg("case %u: refused: %s", i, err);
			if ((int)gb.kind != cases[i].kind)
				fail_msg("case %u (%s header at %u): loaded as %s", i, cases[i].mb2 ? "v2" : "v1",
					 cases[i].off, guest_kind_name(gb.kind));
		}
		free(img.data);
		free(m.hva);
	}

	/* The a.out fields are part of the header: at 8 KiB - 32 they fit. */
	struct guest_mem m = ram_new(MiB(4));
	struct flat_spec f = flat_default(false);
	f.size = 0x2100;
	f.hdr_off = 8192 - 32;
	f.header_addr = f.load_addr + f.hdr_off;
	f.load_end = f.bss_end = 0;
	struct image img = flat_build(&f);
	struct guest_boot gb;
	expect_ok(&m, &img, &gb);
	assert_int_equal(gb.kind, GUEST_KIND_MULTIBOOT1);
	free(img.data);
	memset(m.hva, RAM_FILL, m.size);
	f.hdr_off = 8192 - 28;
	f.header_addr = f.load_addr + f.hdr_off;
	img = flat_build(&f);
	expect_refused(&m, &img, "cut off", true);
	free(img.data);
	free(m.hva);
}

/* --- (e) Refusals -------------------------------------------------------------------- */

static void test_refuse_mb1_requirements(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	for (int aout = 0; aout <= 1; aout++) {
		struct flat_spec f = flat_default(false);
		struct elf_spec s = elf_default();
		/* Video mode (flag 2), alone or with others. */
		static const uint32_t video[] = { MBH_VIDEO_MODE, MBH_VIDEO_MODE | 3, MBH_VIDEO_MODE | 0xfff8 };
		for (unsigned i = 0; i < ARRAY_SIZE(video); i++) {
			struct image img = aout ? flat_build(&f) : elf_build(&s);
			uint32_t flags = video[i] | (aout ? MBH_AOUT_KLUDGE : 0);
			put_mb1(&img, aout ? f.hdr_off : 0x100, flags);
			expect_refused(&m, &img, "video mode information (flag 2)", true);
			free(img.data);
		}
		/* Every other requirement bit we do not know. */
		for (unsigned bit = 3; bit < 16; bit++) {
			struct image img = aout ? flat_build(&f) : elf_build(&s);
			uint32_t flags = (1u << bit) | 3 | (aout ? MBH_AOUT_KLUDGE : 0);
			put_mb1(&img, aout ? f.hdr_off : 0x100, flags);
			expect_refused(&m, &img, "unknown flag in bits 0-15", true);
			free(img.data);
		}
	}
	free(m.hva);
}

/* A header whose checksum does not add up is not a header: the file is
 * what it is without it (a plain ELF, or refused if not an ELF either). */
static void test_bad_checksum_is_no_header(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct guest_boot gb;
	/* v1 with a requirement we would refuse, checksum one off. */
	struct elf_spec s = elf_default();
	struct image img = elf_build(&s);
	put_mb1(&img, 0x100, MBH_VIDEO_MODE);
	put32(&img, 0x108, -(MB1_HEADER_MAGIC + MBH_VIDEO_MODE) + 1);
	expect_ok(&m, &img, &gb);
	assert_int_equal(gb.kind, GUEST_KIND_ELF);
	assert_int_equal(gb.cpu.rax, MB2_BOOTLOADER_MAGIC);
	free(img.data);

	/* v2 with a required unknown tag, checksum one off. */
	memset(m.hva, RAM_FILL, m.size);
	struct mb2h h;
	mb2h_begin(&h, 0);
	mb2h_tag(&h, 77, 0, NULL, 0);
	mb2h_end(&h);
	h.b[12]++;
	img = elf_build(&s);
	put_mb2(&img, 0x100, &h);
	expect_ok(&m, &img, &gb);
	assert_int_equal(gb.kind, GUEST_KIND_ELF);
	free(img.data);

	/* Flat binaries: without their header they are nothing we can load. */
	for (int mb2 = 0; mb2 <= 1; mb2++) {
		memset(m.hva, RAM_FILL, m.size);
		struct flat_spec f = flat_default(mb2);
		img = flat_build(&f);
		size_t sum_off = f.hdr_off + (mb2 ? 12 : 8);
		img.data[sum_off] ^= 1;
		expect_refused(&m, &img, "not an ELF file", true);
		img.data[sum_off] ^= 1;
		expect_ok(&m, &img, &gb); /* and with it, loaded */
		free(img.data);
	}
	free(m.hva);
}

/* A v1 header without address fields on a file that is not ELF. */
static void test_refuse_mb1_flat_without_address_fields(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct image img = image_new(0x1000);
	put_mb1(&img, 0x40, MBH_PAGE_ALIGN | MBH_MEMORY_INFO);
	expect_refused(&m, &img, "not an ELF file", true);
	free(img.data);
	free(m.hva);
}

static void expect_flat_refused(const struct flat_spec *s, uint64_t ram, const char *words)
{
	struct guest_mem m = ram_new(ram);
	struct image img = flat_build(s);
	expect_refused(&m, &img, words, true);
	free(img.data);
	free(m.hva);
}

static void expect_flat_loads(const struct flat_spec *s, uint64_t ram)
{
	struct guest_mem m = ram_new(ram);
	struct image img = flat_build(s);
	struct guest_boot gb;
	expect_ok(&m, &img, &gb);
	uint64_t file_off = s->hdr_off - (s->header_addr - s->load_addr);
	uint64_t len = s->load_end ? s->load_end - s->load_addr : s->size - file_off;
	uint64_t bss_end = s->bss_end ? s->bss_end : s->load_addr + len;
	assert_int_equal(gb.load_start, s->load_addr);
	assert_int_equal(gb.load_end, bss_end);
	assert_int_equal(gb.cpu.rip, s->entry);
	assert_memory_equal(m.hva + s->load_addr, img.data + file_off, len);
	assert_true(ram_zero(&m, s->load_addr + len, bss_end));
	free(img.data);
	free(m.hva);
}

/* The a.out kludge and the address tag share their rules (v1 spec 3.1.3,
 * v2 spec 3.1.5); each is checked with both headers. */
static void test_refuse_load_addresses(void **state)
{
	(void)state;
	for (int mb2 = 0; mb2 <= 1; mb2++) {
		const struct flat_spec d = flat_default(mb2);
		struct flat_spec s;

		/* header_addr - load_addr must be where the header is in the file. */
		s = d;
		s.header_addr = s.load_addr - 1;
		expect_flat_refused(&s, MiB(4), "does not match its place in the file");
		s = d;
		s.header_addr = s.load_addr + s.hdr_off + 4;
		expect_flat_refused(&s, MiB(4), "does not match its place in the file");
		s = d;
		s.header_addr = s.load_addr; /* the load starts at the header */
		expect_flat_loads(&s, MiB(4));

		/* load_end_addr below load_addr. */
		s = d;
		s.load_end = s.load_addr - 1;
		expect_flat_refused(&s, MiB(4), "load end address is below its load address");

		/* More than the file holds: one byte too many, exactly all of it. */
		s = d;
		s.load_end = s.load_addr + (uint32_t)s.size + 1;
		s.bss_end = s.load_end;
		expect_flat_refused(&s, MiB(4), "more bytes than the file has");
		s.load_end--;
		expect_flat_loads(&s, MiB(4));

		/* bss_end_addr below load_end_addr; equal is no .bss. */
		s = d;
		s.bss_end = s.load_end - 1;
		expect_flat_refused(&s, MiB(4), "bss end address is below its load end address");
		s.bss_end = s.load_end;
		expect_flat_loads(&s, MiB(4));

		/* Outside RAM: the file part, the .bss, above 4 GiB - 4 KiB. */
		s = d;
		s.load_addr = MiB(4) - 0x1000;
		s.header_addr = s.load_addr + s.hdr_off;
		s.load_end = s.load_addr + 0x2800;
		s.bss_end = 0;
		s.entry = s.load_addr;
		expect_flat_refused(&s, MiB(4), "does not fit in the VM's RAM");
		s = d;
		s.bss_end = MiB(4) + 1;
		expect_flat_refused(&s, MiB(4), "does not fit in the VM's RAM");
		s.bss_end = MiB(4); /* up to the last byte of RAM */
		expect_flat_loads(&s, MiB(4));
		s = d;
		s.load_addr = 0xfffff000;
		s.header_addr = s.load_addr + s.hdr_off;
		s.load_end = s.bss_end = 0;
		s.entry = s.load_addr;
		expect_flat_refused(&s, MiB(4), "does not fit in the VM's RAM");

		/* The boot information area [0x8000, 0xf000): touching is fine. */
		s = d;
		s.load_addr = 0x5800;
		s.header_addr = s.load_addr + s.hdr_off;
		s.load_end = 0x8000;
		s.bss_end = 0;
		s.entry = s.load_addr;
		expect_flat_loads(&s, MiB(4));
		s.load_end = 0x8001;
		expect_flat_refused(&s, MiB(4), "overlaps the boot information area");
		s.load_end = 0x6000;
		s.bss_end = 0x8001; /* the .bss counts */
		expect_flat_refused(&s, MiB(4), "overlaps the boot information area");
		s = d;
		s.load_addr = 0xf000;
		s.header_addr = s.load_addr + s.hdr_off;
		s.load_end = s.bss_end = 0;
		s.entry = s.load_addr;
		expect_flat_loads(&s, MiB(4));
		s.load_addr = 0xefff;
		s.header_addr = s.load_addr + s.hdr_off;
		s.entry = s.load_addr;
		expect_flat_refused(&s, MiB(4), "overlaps the boot information area");

		/* The entry point inside [load_addr, bss_end). */
		s = d;
		s.entry = s.load_addr;
		expect_flat_loads(&s, MiB(4));
		s.entry = s.bss_end - 1;
		expect_flat_loads(&s, MiB(4));
		s.entry = s.bss_end;
		expect_flat_refused(&s, MiB(4), "entry address is not inside the loaded kernel");
		s.entry = s.load_addr - 1;
		expect_flat_refused(&s, MiB(4), "entry address is not inside the loaded kernel");
	}

	/* An address tag without an entry address tag: nowhere to start. */
	struct guest_mem m = ram_new(MiB(4));
	struct flat_spec s = flat_default(true);
	struct image img = image_new(s.size);
	struct mb2h h;
	const uint32_t addr[] = { s.header_addr, s.load_addr, s.load_end, s.bss_end };
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_ADDRESS, 0, addr, 4);
	mb2h_end(&h);
	put_mb2(&img, s.hdr_off, &h);
	expect_refused(&m, &img, "load addresses but no entry address", true);
	free(img.data);
	free(m.hva);
}

static void test_refuse_mb2_header(void **state)
{
	(void)state;
	struct mb2h h;

	/* Not i386 (4 is MIPS). */
	mb2h_begin(&h, 4);
	mb2h_end(&h);
	expect_mb2_refused(&h, "not for i386");

	/* header_length past the image, and shorter than a header with an end tag. */
	mb2h_begin(&h, 0);
	mb2h_end(&h);
	mb2h_finish_len(&h, 0x2100 - 0x100 + 8);
	expect_mb2_refused(&h, "header length");
	mb2h_finish_len(&h, 0xfffffff8);
	expect_mb2_refused(&h, "header length");
	mb2h_finish_len(&h, 16);
	expect_mb2_refused(&h, "header length");

	/* A tag running past header_length, or smaller than its own header. */
	const uint32_t want = MB2_TAG_CMDLINE;
	mb2h_begin(&h, 0);
	mb2h_tag_sized(&h, TAG_INFO_REQUEST, 0, 64, &want, 1);
	mb2h_end(&h);
	expect_mb2_refused(&h, "tag runs past the header");
	mb2h_begin(&h, 0);
	mb2h_tag_sized(&h, TAG_MODULE_ALIGN, 0, 4, NULL, 0);
	mb2h_end(&h);
	expect_mb2_refused(&h, "tag runs past the header");

	/* No end tag: none at all, or one that header_length cuts off. */
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_MODULE_ALIGN, 0, NULL, 0);
	mb2h_finish_len(&h, h.len);
	expect_mb2_refused(&h, "no end tag");
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_INFO_REQUEST, 0, &want, 1);
	mb2h_end(&h);
	mb2h_finish_len(&h, h.len - 4);
	expect_mb2_refused(&h, "no end tag");
}

static void test_refuse_mb2_tags(void **state)
{
	(void)state;
	struct mb2h h;
	char words[96];

	/* Required tags we do not know, named by type. */
	static const uint16_t unknown[] = { 7, 8, 9, 10, 42, 0xffff };
	for (unsigned i = 0; i < ARRAY_SIZE(unknown); i++) {
		mb2h_begin(&h, 0);
		mb2h_tag(&h, unknown[i], 0, NULL, 0);
		mb2h_end(&h);
		snprintf(words, sizeof(words), "required tag of type %u ", unknown[i]);
		expect_mb2_refused(&h, words);
	}

	/* A framebuffer, required. */
	const uint32_t fb[] = { 1024, 768, 32 };
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_FRAMEBUFFER, 0, fb, 3);
	mb2h_end(&h);
	expect_mb2_refused(&h, "requires a framebuffer");

	/* A console described in the information (console_flags bit 0). */
	const uint32_t console_required = 1, console_and_ega = 3;
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_CONSOLE, 0, &console_required, 1);
	mb2h_end(&h);
	expect_mb2_refused(&h, "requires a console");
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_CONSOLE, 0, &console_and_ega, 1);
	mb2h_end(&h);
	expect_mb2_refused(&h, "requires a console");

	/* Information we do not write, required (optional: see above). */
	const uint32_t want[] = { MB2_TAG_CMDLINE, 8 };
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_INFO_REQUEST, 0, want, 2);
	mb2h_end(&h);
	expect_mb2_refused(&h, "requires information of type 8,");

	/* Tags too short to hold their fields. */
	const uint32_t three[] = { 0x100100, 0x100000, 0 };
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_ADDRESS, 0, three, 3);
	mb2h_end(&h);
	expect_mb2_refused(&h, "address tag is too short");
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_ENTRY, 0, NULL, 0);
	mb2h_end(&h);
	expect_mb2_refused(&h, "entry address tag is too short");
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_CONSOLE, 0, NULL, 0);
	mb2h_end(&h);
	expect_mb2_refused(&h, "console flags tag is too short");
}

static void test_refuse_modules(void **state)
{
	(void)state;
	uint64_t ram = MiB(4);
	struct elf_spec s = elf_default(); /* the kernel ends at 0x103000 */
	struct image img = elf_build(&s);
	uint64_t room = ram - 0x103000;
	uint8_t *big = module_data(room + 1, 8);
	struct guest_boot gb;
	const char *err;

	/* A module filling the rest of RAM exactly is fine; one byte more is not. */
	struct guest_mem m = ram_new(ram);
	struct guest_module mod = { big, room, "big" };
	err = prepare(&m, &img, &mod, 1, "", &gb);
	if (err)
		fail_msg("refused: %s", err);
	check_mb2_info(&m, &gb, "", &mod, 1, NULL);
	assert_int_equal(gb.modules_end, ram);
	mod.size = room + 1;
	err = prepare(&m, &img, &mod, 1, "", &gb);
	assert_non_null(err);
	char words[96];
	snprintf(words, sizeof(words), "module 'big' (%llu bytes) does not fit in the VM's RAM",
		 (unsigned long long)(room + 1));
	assert_string_equal(err, words);

	/* The second of two: the first is page aligned, so the second has a
	 * page less. */
	memset(m.hva, RAM_FILL, m.size);
	const struct guest_module two[] = { { big, 1, "a" }, { big, room - PAGE_SIZE + 1, "second" } };
	err = prepare(&m, &img, two, 2, "", &gb);
	assert_non_null(err);
	assert_non_null(strstr(err, "module 'second'"));
	/* No boot information is written for a refused guest. */
	assert_true(ram_fill_between(&m, GUEST_BOOT_INFO_GPA, GUEST_BOOT_INFO_GPA + GUEST_BOOT_INFO_MAX));

	/* A very long module string: the message is cut, not overrun. */
	char *name = malloc(1001);
	memset(name, 'n', 1000);
	name[1000] = '\0';
	mod = (struct guest_module){ big, room + 1, name };
	err = prepare(&m, &img, &mod, 1, "", &gb);
	assert_non_null(err);
	assert_true(strncmp(err, "module 'nnnn", 12) == 0);
	assert_true(strlen(err) < 200);
	free(name);

	/* At most GUEST_MAX_MODULES, refused before anything is loaded. */
	struct guest_module many[GUEST_MAX_MODULES + 1];
	for (unsigned i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct guest_module){ big + i, 100 + i, i & 1 ? "odd" : "even" };
	memset(m.hva, RAM_FILL, m.size);
	err = prepare(&m, &img, many, GUEST_MAX_MODULES + 1, "", &gb);
	assert_non_null(err);
	assert_non_null(strstr(err, "too many modules"));
	assert_true(ram_untouched(&m));
	err = prepare(&m, &img, many, GUEST_MAX_MODULES, "", &gb);
	if (err)
		fail_msg("refused: %s", err);
	check_mb2_info(&m, &gb, "", many, GUEST_MAX_MODULES, NULL);
	free(m.hva);

	/* The same eight in a v1 information structure. */
	m = ram_new(ram);
	struct flat_spec f = flat_default(false);
	struct image flat = flat_build(&f);
	err = prepare(&m, &flat, many, GUEST_MAX_MODULES, "eight", &gb);
	if (err)
		fail_msg("refused: %s", err);
	check_mb1_info(&m, &gb, "eight", many, GUEST_MAX_MODULES, NULL);
	free(flat.data);
	free(m.hva);
	free(big);
	free(img.data);
}

/* A VM needs RAM above 1 MiB; with a page of it, a kernel loaded low runs. */
static void test_refuse_small_vm(void **state)
{
	(void)state;
	struct flat_spec f = flat_default(false);
	f.load_addr = 0x10000;
	f.header_addr = f.load_addr + f.hdr_off;
	f.load_end = f.bss_end = 0;
	f.entry = f.load_addr;
	struct image img = flat_build(&f);
	static const uint64_t small[] = { MiB(1), MiB(1) - 1, 0x10000 + 0x3000 };
	for (unsigned i = 0; i < ARRAY_SIZE(small); i++) {
		struct guest_mem m = ram_new(small[i]);
		expect_refused(&m, &img, "more than 1 MiB", true);
		free(m.hva);
	}
	struct guest_mem m = ram_new(MiB(1) + PAGE_SIZE);
	struct guest_boot gb;
	expect_ok(&m, &img, &gb);
	check_mb1_info(&m, &gb, "", NULL, 0, NULL);
	assert_int_equal(g32(&m, gb.cpu.rbx + MBI_MEM_UPPER), 4);
	free(m.hva);
	free(img.data);
}

/* The information must fit in GUEST_BOOT_INFO_MAX bytes. The longest
 * command line accepted fills the area (v1: to the byte, v2: to the 8-byte
 * padding of the last string tag); one more character is refused and leaves
 * the area as it was. */
static void test_refuse_info_too_large(void **state)
{
	(void)state;
	size_t cap = GUEST_BOOT_INFO_MAX + 100000;
	char *cmd = malloc(cap + 1);
	memset(cmd, 'c', cap);
	cmd[cap] = '\0';
	for (int mb2 = 0; mb2 <= 1; mb2++) {
		struct guest_mem m = ram_new(MiB(4));
		struct flat_spec f = flat_default(mb2);
		struct image img = flat_build(&f);
		struct guest_boot gb;
		size_t lo = 0, hi = GUEST_BOOT_INFO_MAX; /* lo fits, hi does not */
		while (hi - lo > 1) {
			size_t mid = (lo + hi) / 2;
			cmd[mid] = '\0';
			if (prepare(&m, &img, NULL, 0, cmd, &gb))
				hi = mid;
			else
				lo = mid;
			cmd[mid] = 'c';
		}
		assert_true(lo > GUEST_BOOT_INFO_MAX - 512);

		cmd[lo] = '\0';
		const char *err = prepare(&m, &img, NULL, 0, cmd, &gb);
		if (err)
			fail_msg("refused: %s", err);
		if (mb2) {
			struct boot_info bi;
			assert_null(mb2_parse(m.hva + gb.cpu.rbx, gb.cpu.rbx, &bi));
			assert_int_equal(strlen(bi.cmdline), lo);
			assert_true(gb.info_size > GUEST_BOOT_INFO_MAX - 8);
			assert_true(gb.info_size <= GUEST_BOOT_INFO_MAX);
		} else {
			check_mb1_info(&m, &gb, cmd, NULL, 0, NULL);
			assert_int_equal(gb.info_size, GUEST_BOOT_INFO_MAX);
		}
		cmd[lo] = 'c';

		size_t too_long[] = { lo + 1, lo + 8, GUEST_BOOT_INFO_MAX, cap };
		for (unsigned i = 0; i < ARRAY_SIZE(too_long); i++) {
			memset(m.hva + GUEST_BOOT_INFO_GPA, RAM_FILL, GUEST_BOOT_INFO_MAX);
			cmd[too_long[i]] = '\0';
			err = prepare(&m, &img, NULL, 0, cmd, &gb);
			if (too_long[i] < cap)
				cmd[too_long[i]] = 'c';
			if (!err)
				fail_msg("a %zu-character command line was accepted", too_long[i]);
			assert_non_null(strstr(err, "boot information (command line and module strings) is "
						    "too large"));
			assert_true(ram_fill_between(&m, GUEST_BOOT_INFO_GPA,
						     GUEST_BOOT_INFO_GPA + GUEST_BOOT_INFO_MAX));
		}

		/* Module strings count too. */
		cmd[cap / 2] = '\0';
		uint8_t d = 1;
		const struct guest_module mod = { &d, 1, cmd };
		err = prepare(&m, &img, &mod, 1, "", &gb);
		assert_non_null(err);
		assert_non_null(strstr(err, "too large"));
		struct guest_module eight[GUEST_MAX_MODULES];
		cmd[GUEST_BOOT_INFO_MAX / GUEST_MAX_MODULES] = '\0';
		for (unsigned i = 0; i < GUEST_MAX_MODULES; i++)
			eight[i] = (struct guest_module){ &d, 1, cmd };
		err = prepare(&m, &img, eight, GUEST_MAX_MODULES, "", &gb);
		assert_non_null(err);
		assert_non_null(strstr(err, "too large"));
		memset(cmd, 'c', cap);
		free(img.data);
		free(m.hva);
	}
	free(cmd);
}

/* A kernel loaded low: its modules still go to available RAM, clear of the
 * boot information and of the hole below 1 MiB. */
static void test_modules_after_low_kernel(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct flat_spec f = flat_default(false);
	f.load_addr = 0x1000;
	f.header_addr = f.load_addr + f.hdr_off;
	f.load_end = f.bss_end = 0;
	f.entry = f.load_addr;
	struct image img = flat_build(&f);
	uint8_t *d0 = module_data(0x8000, 1), *d1 = module_data(MiB(1), 2);
	const struct guest_module mods[] = { { d0, 0x8000, "a" }, { d1, MiB(1), "b" } };
	struct guest_boot gb;
	const char *err = prepare(&m, &img, mods, 2, "", &gb);
	if (err)
		fail_msg("refused: %s", err);
	assert_int_equal(gb.load_end, 0x4000);
	check_mb1_info(&m, &gb, "", mods, 2, NULL);
	free(d0);
	free(d1);
	free(img.data);
	free(m.hva);
}

/* Module addresses are 32-bit in both formats: with RAM above 4 GiB, a
 * module may end at 4 GiB - 1 but not at 4 GiB. A sparse mapping stands in
 * for 4 GiB + 8 MiB of guest RAM (only the pages written are backed). */
static void test_modules_below_4g(void **state)
{
	(void)state;
	uint64_t size = GiB(4) + MiB(8);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (p == MAP_FAILED)
		skip();
	struct guest_mem m = { p, size };
	struct flat_spec f = flat_default(false);
	f.load_addr = 0xfff00000;
	f.header_addr = f.load_addr + f.hdr_off;
	f.load_end = f.bss_end = 0;
	f.entry = f.load_addr;
	struct image img = flat_build(&f); /* loaded at 0xfff00000-0xfff03000 */
	uint64_t room = 0x100000000ULL - 0xfff03000;
	uint8_t *d = module_data(room, 3);
	struct guest_module mod = { d, room - 1, "top" };
	struct guest_boot gb;
	const char *err = prepare(&m, &img, &mod, 1, "", &gb);
	if (err)
		fail_msg("refused: %s", err);
	check_mb1_info(&m, &gb, "", &mod, 1, NULL);
	assert_int_equal(gb.modules_end, 0xffffffff);
	mod.size = room; /* would end at 4 GiB: no 32-bit mod_end for it */
	err = prepare(&m, &img, &mod, 1, "", &gb);
	assert_non_null(err);
	assert_non_null(strstr(err, "module 'top'"));
	free(d);
	free(img.data);
	munmap(p, size);
}

/* --- (f) Truncation and corruption --------------------------------------------------- */

/* A v1 flat image cut at every length: before the header's 12 bytes it is
 * no Multiboot kernel (and no ELF); then the address fields are cut off;
 * then the file holds fewer bytes than load_end_addr asks; then it loads. */
static void test_truncated_mb1_flat(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(1) + MiB(1));
	struct flat_spec f = flat_default(false);
	f.size = 0x1000;
	f.load_addr = 0x10000;
	f.header_addr = f.load_addr + f.hdr_off;
	f.load_end = f.load_addr + 0xc00;
	f.bss_end = f.load_addr + 0x2000;
	f.entry = f.load_addr + 0x100;
	struct image full = flat_build(&f);
	unsigned loaded = 0;
	for (size_t n = 0; n <= full.size; n++) {
		struct image img = image_prefix(&full, n);
		struct guest_boot gb;
		const char *err = prepare(&m, &img, NULL, 0, "x", &gb);
		const char *expect = n < f.hdr_off + 12 ? "ELF"
				     : n < f.hdr_off + 32 ? "address fields are cut off"
				     : n < 0xc00 ? "more bytes than the file has"
						 : NULL;
		if (expect) {
			if (!err || !strstr(err, expect))
				fail_msg("cut to %zu bytes: %s, expected '%s'", n, err ? err : "loaded", expect);
			if (!ram_untouched(&m))
				fail_msg("cut to %zu bytes: refused, but guest RAM was written", n);
		} else {
			if (err)
				fail_msg("cut to %zu bytes: refused: %s", n, err);
			assert_memory_equal(m.hva + f.load_addr, full.data, 0xc00);
			assert_true(ram_zero(&m, f.load_addr + 0xc00, f.bss_end));
			memset(m.hva, RAM_FILL, m.size);
			loaded++;
		}
		free(img.data);
	}
	assert_int_equal(loaded, full.size - 0xc00 + 1);
	free(full.data);
	free(m.hva);
}

/* A Multiboot2 ELF whose one segment runs to the end of the file: every
 * shorter cut is refused (no header yet, a header cut short, or segment data
 * outside the file); only the whole file loads. */
static void test_truncated_mb2_elf(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(2));
	struct elf_spec s = elf_default();
	struct image full = elf_build(&s);
	struct mb2h h;
	const uint32_t want[] = { MB2_TAG_CMDLINE, MB2_TAG_MMAP }, entry = 0x100020;
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_INFO_REQUEST, 0, want, 2);
	mb2h_tag(&h, TAG_ENTRY, 0, &entry, 1);
	mb2h_tag(&h, TAG_MODULE_ALIGN, 0, NULL, 0);
	mb2h_end(&h);
	put_mb2(&full, 0x100, &h);
	uint8_t d[64] = { 1 };
	const struct guest_module mod = { d, sizeof(d), "mod" };
	for (size_t n = 0; n <= full.size; n++) {
		struct image img = image_prefix(&full, n);
		struct guest_boot gb;
		const char *err = prepare(&m, &img, &mod, 1, "cmd", &gb);
		if (n < full.size) {
			if (!err)
				fail_msg("cut to %zu of %zu bytes: loaded", n, full.size);
			if (n >= 0x110 && n < 0x100 + h.len && !strstr(err, "header length"))
				fail_msg("cut to %zu bytes inside the header: '%s'", n, err);
			if (!ram_untouched(&m))
				fail_msg("cut to %zu bytes: refused, but guest RAM was written", n);
		} else {
			if (err)
				fail_msg("the whole file was refused: %s", err);
			assert_int_equal(gb.kind, GUEST_KIND_MULTIBOOT2);
			assert_int_equal(gb.cpu.rip, 0x100020);
			check_mb2_info(&m, &gb, "cmd", &mod, 1, NULL);
		}
		free(img.data);
	}
	free(full.data);
	free(m.hva);
}

/* A v2 flat image with address tag and load_end_addr 0 (to the end of the
 * file): refused until the header is whole, then loads what there is. */
static void test_truncated_mb2_flat(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(2));
	struct flat_spec f = flat_default(true);
	f.size = 0x800;
	f.load_addr = 0x10000;
	f.header_addr = f.load_addr + f.hdr_off;
	f.load_end = f.bss_end = 0;
	f.entry = f.load_addr;
	struct image full = flat_build(&f);
	struct mb2h h;
	mb2h_address_and_entry(&h, &f);
	for (size_t n = 0; n <= full.size; n++) {
		struct image img = image_prefix(&full, n);
		struct guest_boot gb;
		const char *err = prepare(&m, &img, NULL, 0, "", &gb);
		if (n < f.hdr_off + h.len) {
			if (!err)
				fail_msg("cut to %zu bytes, inside the header: loaded", n);
			assert_true(ram_untouched(&m));
		} else {
			if (err)
				fail_msg("cut to %zu bytes: refused: %s", n, err);
			assert_int_equal(gb.load_end, f.load_addr + n);
			assert_memory_equal(m.hva + f.load_addr, full.data, n);
			memset(m.hva, RAM_FILL, m.size);
		}
		free(img.data);
	}
	free(full.data);
	free(m.hva);
}

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* Random bytes in and around the headers: never a crash, and whatever loads
 * is consistent (entry inside the kernel, kernel and modules in RAM, the
 * information inside its area and, for v2, parseable). */
static void test_random_header_corruption(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct flat_spec f1 = flat_default(false), f2 = flat_default(true);
	struct elf_spec es = elf_default();
	struct image base[3] = { flat_build(&f1), flat_build(&f2), elf_build(&es) };
	struct mb2h h;
	const uint32_t entry = 0x100040;
	mb2h_begin(&h, 0);
	mb2h_tag(&h, TAG_ENTRY, 0, &entry, 1);
	mb2h_tag(&h, TAG_MODULE_ALIGN, 0, NULL, 0);
	mb2h_end(&h);
	put_mb2(&base[2], 0x100, &h);
	uint8_t d[300] = { 0 };
	const struct guest_module mod = { d, sizeof(d), "m" };
	unsigned loaded = 0, refused = 0;
	for (unsigned iter = 0; iter < 6000; iter++) {
		const struct image *b = &base[iter % 3];
		struct image img = image_prefix(b, b->size);
		unsigned flips = 1 + rnd() % 4;
		for (unsigned k = 0; k < flips; k++) {
			size_t at = (iter % 3 == 2 ? 0x100 : 0x40) + rnd() % 0x40;
			img.data[at] = (uint8_t)rnd();
		}
		struct guest_boot gb;
		if (prepare(&m, &img, &mod, 1, "r", &gb)) {
			refused++;
		} else {
			loaded++;
			assert_true(gb.cpu.rip >= gb.load_start && gb.cpu.rip < gb.load_end);
			assert_true(gb.load_end <= m.size && gb.modules_end <= m.size);
			assert_false(ranges_overlap(gb.load_start, gb.load_end - gb.load_start,
						    GUEST_BOOT_INFO_GPA, GUEST_BOOT_INFO_MAX));
			assert_true(gb.info_size <= GUEST_BOOT_INFO_MAX);
			if (gb.kind == GUEST_KIND_MULTIBOOT1)
				check_mb1_info(&m, &gb, "r", &mod, 1, NULL);
			else
				check_mb2_info(&m, &gb, "r", &mod, 1, NULL);
		}
		free(img.data);
	}
	assert_true(loaded > 0);
	assert_true(refused > 0);
	for (unsigned i = 0; i < 3; i++)
		free(base[i].data);
	free(m.hva);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_gets_multiboot2_info),
		cmocka_unit_test(test_elf_without_modules),
		cmocka_unit_test(test_mb2_acpi_rsdp_tag),
		cmocka_unit_test(test_mb1_aout_flat),
		cmocka_unit_test(test_mb1_aout_offsets_and_zero_fields),
		cmocka_unit_test(test_mb1_optional_flags_ignored),
		cmocka_unit_test(test_mb1_elf),
		cmocka_unit_test(test_mb2_elf_with_tags),
		cmocka_unit_test(test_mb2_entry_tag_bounds),
		cmocka_unit_test(test_mb2_address_tag_wins_over_elf),
		cmocka_unit_test(test_mb2_address_tag_load_from_beginning),
		cmocka_unit_test(test_mb2_optional_tags_ignored),
		cmocka_unit_test(test_mb2_info_request_matches_what_is_written),
		cmocka_unit_test(test_header_precedence),
		cmocka_unit_test(test_header_search_window),
		cmocka_unit_test(test_refuse_mb1_requirements),
		cmocka_unit_test(test_bad_checksum_is_no_header),
		cmocka_unit_test(test_refuse_mb1_flat_without_address_fields),
		cmocka_unit_test(test_refuse_load_addresses),
		cmocka_unit_test(test_refuse_mb2_header),
		cmocka_unit_test(test_refuse_mb2_tags),
		cmocka_unit_test(test_refuse_modules),
		cmocka_unit_test(test_refuse_small_vm),
		cmocka_unit_test(test_refuse_info_too_large),
		cmocka_unit_test(test_modules_after_low_kernel),
		cmocka_unit_test(test_modules_below_4g),
		cmocka_unit_test(test_truncated_mb1_flat),
		cmocka_unit_test(test_truncated_mb2_elf),
		cmocka_unit_test(test_truncated_mb2_flat),
		cmocka_unit_test(test_random_header_corruption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
