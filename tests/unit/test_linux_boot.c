/* vm/linux_boot.c: loading a bzImage by the Linux/x86 boot protocol
 * (Documentation/arch/x86/boot.rst) for the 64-bit entry.
 *
 * Images are built here from the protocol's field offsets (written out
 * below, not taken from vm/linux_boot.h), in heap blocks of exactly their
 * size so AddressSanitizer catches any read past the end. What the loader
 * wrote is read back the way the kernel reads it: boot_params by offset,
 * the page tables by walking them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "vm/guest_boot.h"
#include "vm/linux_boot.h"

/* boot.rst "THE REAL-MODE KERNEL HEADER" and bootparam.h offsets. */
#define O_SETUP_SECTS 0x1f1
#define O_SYSSIZE 0x1f4
#define O_BOOT_FLAG 0x1fe
#define O_JUMP 0x200
#define O_HEADER 0x202
#define O_VERSION 0x206
#define O_TYPE_OF_LOADER 0x210
#define O_LOADFLAGS 0x211
#define O_RAMDISK_IMAGE 0x218
#define O_RAMDISK_SIZE 0x21c
#define O_CMD_LINE_PTR 0x228
#define O_INITRD_ADDR_MAX 0x22c
#define O_KERNEL_ALIGNMENT 0x230
#define O_RELOCATABLE 0x234
#define O_XLOADFLAGS 0x236
#define O_CMDLINE_SIZE 0x238
#define O_PREF_ADDRESS 0x258
#define O_INIT_SIZE 0x260
#define BPO_ACPI_RSDP 0x070
#define BPO_E820_ENTRIES 0x1e8
#define BPO_SENTINEL 0x1ef
#define BPO_E820_TABLE 0x2d0

struct bz_spec {
	uint8_t setup_sects;
	uint32_t pm_size;       /* bytes of protected-mode kernel (a multiple of 16) */
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t kernel_alignment;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint64_t truncate_by;   /* bytes cut off the end */
};

static struct bz_spec bz_default(void)
{
	return (struct bz_spec){ .setup_sects = 4, .pm_size = 0x3000, .version = 0x020f,
				 .loadflags = 0x01, .xloadflags = 0x01, .pref_address = MiB(16),
				 .init_size = MiB(4), .kernel_alignment = MiB(2),
				 .initrd_addr_max = 0x7fffffff, .cmdline_size = 2047 };
}

static void put16(uint8_t *p, size_t off, uint16_t v) { memcpy(p + off, &v, 2); }
static void put32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }
static void put64(uint8_t *p, size_t off, uint64_t v) { memcpy(p + off, &v, 8); }
static uint16_t get16(const uint8_t *p, size_t off) { uint16_t v; memcpy(&v, p + off, 2); return v; }
static uint32_t get32(const uint8_t *p, size_t off) { uint32_t v; memcpy(&v, p + off, 4); return v; }
static uint64_t get64(const uint8_t *p, size_t off) { uint64_t v; memcpy(&v, p + off, 8); return v; }

struct image {
	uint8_t *data;
	uint64_t size;
	uint64_t pm_offset;
};

static struct image bz_build(const struct bz_spec *s)
{
	unsigned sects = s->setup_sects ? s->setup_sects : 4;
	uint64_t pm_offset = (sects + 1) * 512ULL;
	uint64_t size = pm_offset + s->pm_size - s->truncate_by;
	uint8_t *p = calloc(1, size);
	assert_non_null(p);
	p[O_SETUP_SECTS] = s->setup_sects;
	put32(p, O_SYSSIZE, s->pm_size / 16);
	put16(p, O_BOOT_FLAG, 0xaa55);
	p[O_JUMP] = 0xeb;
	p[O_JUMP + 1] = 0x6a; /* header ends at 0x26c */
	memcpy(p + O_HEADER, "HdrS", 4);
	put16(p, O_VERSION, s->version);
	p[O_LOADFLAGS] = s->loadflags;
	put32(p, O_INITRD_ADDR_MAX, s->initrd_addr_max);
	put32(p, O_KERNEL_ALIGNMENT, s->kernel_alignment);
	p[O_RELOCATABLE] = 1;
	put16(p, O_XLOADFLAGS, s->xloadflags);
	put32(p, O_CMDLINE_SIZE, s->cmdline_size);
	put64(p, O_PREF_ADDRESS, s->pref_address);
	put32(p, O_INIT_SIZE, s->init_size);
	/* A recognisable protected-mode kernel. */
	for (uint64_t i = pm_offset; i < size; i++)
		p[i] = (uint8_t)(i * 13 + 7);
	return (struct image){ p, size, pm_offset };
}

static struct guest_mem ram_new(uint64_t size)
{
	uint8_t *p = malloc(size);
	assert_non_null(p);
	memset(p, 0xcc, size);
	return (struct guest_mem){ p, size };
}

static const char *prepare(const struct guest_mem *m, const struct image *img, const void *initrd,
			   uint64_t initrd_size, const char *cmdline, struct linux_boot *out)
{
	struct linux_boot_params lp = { .image = img->data, .image_size = img->size, .initrd = initrd,
					.initrd_size = initrd_size, .cmdline = cmdline, .rsdp_gpa = 0xe0000 };
	return linux_boot_prepare(m, &lp, out);
}

/* Translate a linear address through the 4-level tables at cr3, as the
 * CPU does (SDM Vol. 3A 4.5); returns ~0 if not present. */
static uint64_t walk(const struct guest_mem *m, uint64_t cr3, uint64_t va)
{
	uint64_t pml4e = get64(m->hva, (cr3 & ~0xfffULL) + ((va >> 39) & 511) * 8);
	if (!(pml4e & 1))
		return ~0ULL;
	uint64_t pdpte = get64(m->hva, (pml4e & 0xffffffffff000ULL) + ((va >> 30) & 511) * 8);
	if (!(pdpte & 1))
		return ~0ULL;
	assert_false(pdpte & 0x80); /* we build 2 MiB pages, not 1 GiB */
	uint64_t pde = get64(m->hva, (pdpte & 0xffffffffff000ULL) + ((va >> 21) & 511) * 8);
	if (!(pde & 1))
		return ~0ULL;
	assert_true(pde & 0x80);
	assert_true(pde & 2); /* writable */
	return (pde & 0xfffffffe00000ULL) + (va & 0x1fffff);
}

static void test_loads_bzimage(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(64));
	struct bz_spec s = bz_default();
	struct image img = bz_build(&s);
	uint8_t initrd[10000];
	for (unsigned i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
	const char *cmd = "console=ttyS0 root=/dev/vda";
	struct linux_boot lb;
	const char *err = prepare(&m, &img, initrd, sizeof(initrd), cmd, &lb);
	if (err)
		fail_msg("refused: %s", err);

	/* The protected-mode kernel at pref_address, entered 0x200 in. */
	assert_int_equal(lb.load_addr, MiB(16));
	assert_int_equal(lb.load_end, MiB(16) + MiB(4));
	assert_memory_equal(m.hva + MiB(16), img.data + img.pm_offset, s.pm_size);
	assert_int_equal(lb.entry, MiB(16) + 0x200);
	assert_int_equal(lb.protocol, 0x020f);

	/* The initrd as high as possible, page aligned, whole. */
	assert_int_equal(lb.initrd_size, sizeof(initrd));
	assert_int_equal(lb.initrd_addr % 4096, 0);
	assert_true(lb.initrd_addr + sizeof(initrd) <= MiB(64));
	assert_true(lb.initrd_addr + sizeof(initrd) > MiB(64) - 4096);
	assert_memory_equal(m.hva + lb.initrd_addr, initrd, sizeof(initrd));

	/* boot_params: the image's header copied, our fields set. */
	const uint8_t *bp = m.hva + lb.boot_params_gpa;
	assert_int_equal(get32(bp, O_HEADER), 0x53726448);
	assert_int_equal(get16(bp, O_VERSION), 0x020f);
	assert_int_equal(get64(bp, O_PREF_ADDRESS), MiB(16));
	assert_int_equal(bp[O_TYPE_OF_LOADER], 0xff);
	assert_int_equal(bp[BPO_SENTINEL], 0);
	assert_int_equal(get32(bp, O_RAMDISK_IMAGE), lb.initrd_addr);
	assert_int_equal(get32(bp, O_RAMDISK_SIZE), sizeof(initrd));
	uint32_t cmd_ptr = get32(bp, O_CMD_LINE_PTR);
	assert_string_equal((const char *)m.hva + cmd_ptr, cmd);
	assert_int_equal(get64(bp, BPO_ACPI_RSDP), 0xe0000);

	/* The e820 map is the one every guest gets. */
	struct guest_map_entry map[GUEST_MAP_MAX];
	unsigned n = guest_memory_map(m.size, map);
	assert_int_equal(bp[BPO_E820_ENTRIES], n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(get64(bp, BPO_E820_TABLE + 20 * i), map[i].addr);
		assert_int_equal(get64(bp, BPO_E820_TABLE + 20 * i + 8), map[i].len);
		assert_int_equal(get32(bp, BPO_E820_TABLE + 20 * i + 16), map[i].type);
	}
	/* The kernel, initrd, boot_params and command line lie in e820 RAM. */
	uint64_t ranges[][2] = { { lb.load_addr, lb.load_end }, { lb.initrd_addr, lb.initrd_addr + sizeof(initrd) },
				 { lb.boot_params_gpa, lb.boot_params_gpa + 4096 }, { cmd_ptr, cmd_ptr + strlen(cmd) + 1 } };
	for (unsigned r = 0; r < 4; r++) {
		bool in_ram = false;
		for (unsigned i = 0; i < n; i++)
			in_ram |= map[i].type == 1 && ranges[r][0] >= map[i].addr &&
				  ranges[r][1] <= map[i].addr + map[i].len;
		assert_true(in_ram);
	}

	/* The boot GDT: 0x10 a 64-bit code segment, 0x18 a data segment. */
	uint64_t cs = get64(m.hva, lb.gdt_base + 0x10), ds = get64(m.hva, lb.gdt_base + 0x18);
	assert_true(lb.gdt_limit >= 0x1f);
	assert_true(cs & (1ULL << 53));    /* L */
	assert_false(cs & (1ULL << 54));   /* D must be 0 with L */
	assert_true(cs & (1ULL << 47));    /* present */
	assert_int_equal((cs >> 40) & 0x18, 0x18); /* code segment */
	assert_int_equal((ds >> 40) & 0x18, 0x10); /* data segment */
	assert_true(ds & (1ULL << 41));    /* writable */

	/* Identity mapping of everything the kernel touches, and MMIO. */
	uint64_t probe[] = { lb.entry, lb.load_end - 1, lb.boot_params_gpa, cmd_ptr, lb.initrd_addr,
			     0xe0000, 0xfee00000, 0xffffffff };
	for (unsigned i = 0; i < ARRAY_SIZE(probe); i++)
		assert_int_equal(walk(&m, lb.cr3, probe[i]), probe[i]);
	assert_int_equal(walk(&m, lb.cr3, 0x100000000ULL), ~0ULL);
	free(img.data);
	free(m.hva);
}

static void test_no_initrd_and_setup_sects_zero(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(32));
	struct bz_spec s = bz_default();
	s.setup_sects = 0; /* means 4 (boot.rst) */
	s.version = 0x020c; /* 2.12: no acpi_rsdp_addr field yet */
	struct image img = bz_build(&s);
	assert_int_equal(img.pm_offset, 5 * 512);
	struct linux_boot lb;
	assert_null(prepare(&m, &img, NULL, 0, "", &lb));
	assert_memory_equal(m.hva + MiB(16), img.data + img.pm_offset, s.pm_size);
	const uint8_t *bp = m.hva + lb.boot_params_gpa;
	assert_int_equal(get32(bp, O_RAMDISK_IMAGE), 0);
	assert_int_equal(get32(bp, O_RAMDISK_SIZE), 0);
	assert_int_equal(get64(bp, BPO_ACPI_RSDP), 0);
	assert_int_equal(lb.initrd_size, 0);
	free(img.data);
	free(m.hva);
}

static void expect_refused(struct bz_spec s, uint64_t ram, uint64_t initrd_size, const char *cmdline,
			   const char *want)
{
	struct guest_mem m = ram_new(ram);
	struct image img = bz_build(&s);
	uint8_t *initrd = initrd_size ? calloc(1, initrd_size) : NULL;
	struct linux_boot lb;
	const char *err = prepare(&m, &img, initrd, initrd_size, cmdline, &lb);
	if (!err)
		fail_msg("accepted, expected refusal with '%s'", want);
	if (!strstr(err, want))
		fail_msg("refused with '%s', expected '%s'", err, want);
	free(initrd);
	free(img.data);
	free(m.hva);
}

static void test_refusals(void **state)
{
	(void)state;
	struct bz_spec s = bz_default();
	s.version = 0x020b;
	expect_refused(s, MiB(64), 0, "", "protocol 2.11 is older than 2.12");
	s = bz_default();
	s.xloadflags = 0;
	expect_refused(s, MiB(64), 0, "", "no 64-bit entry point");
	s = bz_default();
	s.loadflags = 0;
	expect_refused(s, MiB(64), 0, "", "zImage");
	s = bz_default();
	s.truncate_by = 16;
	expect_refused(s, MiB(64), 0, "", "truncated");
	s = bz_default();
	expect_refused(s, MiB(18), 0, "", "needs RAM up to 20 MiB");
	s = bz_default();
	expect_refused(s, MiB(24), MiB(5), "", "the initrd (5120 KiB) does not fit");
	s = bz_default();
	s.initrd_addr_max = MiB(20) - 1; /* the initrd would have to overlap the kernel */
	expect_refused(s, MiB(64), 4096, "", "does not fit");
	s = bz_default();
	s.cmdline_size = 8;
	expect_refused(s, MiB(64), 0, "console=ttyS0", "the command line is 13 bytes; the kernel takes at most 8");
	s = bz_default();
	s.pref_address = MiB(16) + 4096;
	expect_refused(s, MiB(64), 0, "", "alignment is invalid");
}

static void test_truncated_header(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(32));
	uint8_t *p = calloc(1, 0x210); /* boot flag and "HdrS", then nothing */
	put16(p, O_BOOT_FLAG, 0xaa55);
	memcpy(p + O_HEADER, "HdrS", 4);
	assert_true(linux_is_bzimage(p, 0x210));
	assert_false(linux_is_bzimage(p, 0x205));
	struct linux_boot_params lp = { .image = p, .image_size = 0x210, .cmdline = "" };
	struct linux_boot lb;
	const char *err = linux_boot_prepare(&m, &lp, &lb);
	assert_non_null(err);
	assert_non_null(strstr(err, "truncated inside its setup header"));
	free(p);
	free(m.hva);
}

/* Through guest_boot_prepare: a bzImage is recognised, entered in 64-bit
 * mode with RSI = boot_params; Multiboot modules and initrds do not mix. */
static void test_guest_boot_dispatch(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(64));
	struct bz_spec s = bz_default();
	struct image img = bz_build(&s);
	uint8_t rd[100] = { 1 };
	struct guest_boot_params p = { .image = img.data, .image_size = img.size, .cmdline = "quiet",
				       .loader_name = "x", .initrd = rd, .initrd_size = sizeof(rd),
				       .rsdp_gpa = 0xe0000 };
	struct guest_boot gb;
	assert_null(guest_boot_prepare(&m, &p, &gb));
	assert_int_equal(gb.kind, GUEST_KIND_LINUX);
	assert_string_equal(guest_kind_name(gb.kind), "Linux bzImage");
	assert_int_equal(gb.cpu.mode, GUEST_MODE_LONG64);
	assert_int_equal(gb.cpu.rip, MiB(16) + 0x200);
	assert_int_equal(gb.cpu.rsi, LINUX_BOOT_PARAMS_GPA);
	assert_int_equal(gb.cpu.cs, 0x10);
	assert_int_equal(gb.cpu.ds, 0x18);
	assert_int_equal(gb.cpu.cr3, LINUX_PAGE_TABLES_GPA);

	struct guest_module mod = { rd, sizeof(rd), "m" };
	p.modules = &mod;
	p.module_count = 1;
	const char *err = guest_boot_prepare(&m, &p, &gb);
	assert_non_null(err);
	assert_non_null(strstr(err, "initrd=, not module="));

	/* An initrd for something that is not a bzImage. */
	uint8_t junk[64] = { 0 };
	struct guest_boot_params q = { .image = junk, .image_size = sizeof(junk), .cmdline = "",
				       .loader_name = "x", .initrd = rd, .initrd_size = sizeof(rd) };
	err = guest_boot_prepare(&m, &q, &gb);
	assert_non_null(err);
	assert_non_null(strstr(err, "initrd= is for Linux kernels"));
	free(img.data);
	free(m.hva);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads_bzimage),
		cmocka_unit_test(test_no_initrd_and_setup_sects_zero),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_guest_boot_dispatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
