/* vm/elf_loader.c: loading guest ELF images into guest RAM. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "vm/elf_loader.h"

#define RAM_FILL 0xcc

/* --- Guest RAM --------------------------------------------------------------- */

static struct guest_mem ram_new(uint64_t size)
{
	struct guest_mem m = { malloc(size), size };
	assert_non_null(m.hva);
	memset(m.hva, RAM_FILL, size);
	return m;
}

static bool ram_untouched(const struct guest_mem *m)
{
	for (uint64_t i = 0; i < m->size; i++)
		if (m->hva[i] != RAM_FILL)
			return false;
	return true;
}

/* --- Building images ------------------------------------------------------- */

struct seg {
	uint32_t type, flags;
	uint64_t vaddr, paddr, filesz, memsz;
	uint64_t offset; /* 0: placed after the program headers */
};

struct spec {
	bool is64;
	uint64_t entry;
	unsigned nsegs;
	struct seg segs[8];
	size_t trailing; /* bytes after the last segment's data */
};

struct image {
	uint8_t *data;
	size_t size;
};

static uint8_t pattern(size_t file_offset)
{
	return (uint8_t)(file_offset * 31 + 7);
}

static struct image build(const struct spec *s)
{
	size_t hsize = s->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	size_t phsize = s->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	size_t cur = (hsize + s->nsegs * phsize + 15) & ~(size_t)15;
	uint64_t offs[8];

	for (unsigned i = 0; i < s->nsegs; i++) {
		offs[i] = s->segs[i].offset;
		if (!offs[i] && s->segs[i].filesz) {
			offs[i] = cur;
			cur = (cur + s->segs[i].filesz + 15) & ~(size_t)15;
		}
	}
	struct image img = { NULL, cur + s->trailing };
	img.data = malloc(img.size);
	assert_non_null(img.data);
	for (size_t i = 0; i < img.size; i++)
		img.data[i] = pattern(i);

	if (s->is64) {
		Elf64_Ehdr h = { 0 };
		memcpy(h.e_ident, ELFMAG, SELFMAG);
		h.e_ident[EI_CLASS] = ELFCLASS64;
		h.e_ident[EI_DATA] = ELFDATA2LSB;
		h.e_ident[EI_VERSION] = EV_CURRENT;
		h.e_type = ET_EXEC;
		h.e_machine = EM_X86_64;
		h.e_version = EV_CURRENT;
		h.e_entry = s->entry;
		h.e_phoff = hsize;
		h.e_ehsize = (uint16_t)hsize;
		h.e_phentsize = (uint16_t)phsize;
		h.e_phnum = (uint16_t)s->nsegs;
		memcpy(img.data, &h, sizeof(h));
		for (unsigned i = 0; i < s->nsegs; i++) {
			const struct seg *g = &s->segs[i];
			Elf64_Phdr p = { g->type, g->flags, offs[i], g->vaddr, g->paddr,
					 g->filesz, g->memsz, 0x1000 };
			memcpy(img.data + hsize + i * phsize, &p, sizeof(p));
		}
	} else {
		Elf32_Ehdr h = { 0 };
		memcpy(h.e_ident, ELFMAG, SELFMAG);
		h.e_ident[EI_CLASS] = ELFCLASS32;
		h.e_ident[EI_DATA] = ELFDATA2LSB;
		h.e_ident[EI_VERSION] = EV_CURRENT;
		h.e_type = ET_EXEC;
		h.e_machine = EM_386;
		h.e_version = EV_CURRENT;
		h.e_entry = (uint32_t)s->entry;
		h.e_phoff = (uint32_t)hsize;
		h.e_ehsize = (uint16_t)hsize;
		h.e_phentsize = (uint16_t)phsize;
		h.e_phnum = (uint16_t)s->nsegs;
		memcpy(img.data, &h, sizeof(h));
		for (unsigned i = 0; i < s->nsegs; i++) {
			const struct seg *g = &s->segs[i];
			Elf32_Phdr p = { g->type, (uint32_t)offs[i], (uint32_t)g->vaddr,
					 (uint32_t)g->paddr, (uint32_t)g->filesz, (uint32_t)g->memsz,
					 g->flags, 0x1000 };
			memcpy(img.data + hsize + i * phsize, &p, sizeof(p));
		}
	}
	return img;
}

/* Where the loader will find segment i's file data. */
static uint64_t seg_offset(const struct image *img, bool is64, unsigned i)
{
	if (is64) {
		Elf64_Phdr p;
		memcpy(&p, img->data + sizeof(Elf64_Ehdr) + i * sizeof(p), sizeof(p));
		return p.p_offset;
	}
	Elf32_Phdr p;
	memcpy(&p, img->data + sizeof(Elf32_Ehdr) + i * sizeof(p), sizeof(p));
	return p.p_offset;
}

static void put16(struct image *img, size_t off, uint16_t v) { memcpy(img->data + off, &v, 2); }
static void put32(struct image *img, size_t off, uint32_t v) { memcpy(img->data + off, &v, 4); }
static void put64(struct image *img, size_t off, uint64_t v) { memcpy(img->data + off, &v, 8); }

/* Text at 1 MiB (read/execute), data with .bss above it. */
static struct spec spec_basic(bool is64)
{
	struct spec s = { .is64 = is64, .entry = 0x100010, .nsegs = 2 };
	s.segs[0] = (struct seg){ PT_LOAD, PF_R | PF_X, 0x100000, 0x100000, 0x300, 0x300, 0 };
	s.segs[1] = (struct seg){ PT_LOAD, PF_R | PF_W, 0x101000, 0x101000, 0x123, 0x1000, 0 };
	return s;
}

/* Segment i of spec s was loaded from img: file bytes, then zeros. */
static void assert_segment_loaded(const struct guest_mem *m, const struct image *img,
				  const struct spec *s, unsigned i)
{
	const struct seg *g = &s->segs[i];
	uint64_t off = seg_offset(img, s->is64, i);
	assert_memory_equal(m->hva + g->paddr, img->data + off, g->filesz);
	for (uint64_t k = g->filesz; k < g->memsz; k++)
		if (m->hva[g->paddr + k] != 0)
			fail_msg("byte 0x%llx of segment %u's .bss is 0x%02x, not 0",
				 (unsigned long long)k, i, m->hva[g->paddr + k]);
}

static bool ram_fill_between(const struct guest_mem *m, uint64_t a, uint64_t b)
{
	for (uint64_t i = a; i < b; i++)
		if (m->hva[i] != RAM_FILL)
			return false;
	return true;
}

static const char *load(const struct image *img, const struct guest_mem *m,
			struct elf_load_result *out)
{
	return elf_load(img->data, img->size, m, 0x9000, 0x1000, out);
}

/* Expect refusal with a message containing words, and RAM untouched. */
static void expect_refused_img(const struct image *img, const struct guest_mem *m,
			       const char *words)
{
	struct elf_load_result r;
	const char *err = load(img, m, &r);
	if (!err)
		fail_msg("image loaded; expected refusal with '%s'", words);
	if (!strstr(err, words))
		fail_msg("refused with '%s', expected '%s'", err, words);
	assert_true(ram_untouched(m));
}

static void expect_refused(const struct spec *s, const char *words)
{
	struct guest_mem m = ram_new(MiB(4));
	struct image img = build(s);
	expect_refused_img(&img, &m, words);
	free(img.data);
	free(m.hva);
}

/* --- Loading ------------------------------------------------------------- */

static void check_basic_load(bool is64)
{
	struct guest_mem m = ram_new(MiB(4));
	struct spec s = spec_basic(is64);
	struct image img = build(&s);
	struct elf_load_result r;

	assert_null(load(&img, &m, &r));
	assert_int_equal(r.entry, 0x100010);
	assert_int_equal(r.is64, is64);
	assert_int_equal(r.load_start, 0x100000);
	assert_int_equal(r.load_end, 0x102000);
	assert_int_equal(r.segments, 2);
	assert_segment_loaded(&m, &img, &s, 0);
	assert_segment_loaded(&m, &img, &s, 1);
	/* Nothing else was written. */
	assert_true(ram_fill_between(&m, 0, 0x100000));
	assert_true(ram_fill_between(&m, 0x100300, 0x101000));
	assert_true(ram_fill_between(&m, 0x102000, m.size));
	free(img.data);
	free(m.hva);
}

static void test_load_elf32(void **state)
{
	(void)state;
	check_basic_load(false);
}

static void test_load_elf64(void **state)
{
	(void)state;
	check_basic_load(true);
}

/* The entry point is virtual; the loader reports where it lies physically. */
static void test_entry_translated_to_physical(void **state)
{
	(void)state;
	for (int is64 = 0; is64 <= 1; is64++) {
		struct guest_mem m = ram_new(MiB(4));
		struct spec s = spec_basic(is64);
		uint64_t vbase = is64 ? 0xffffffff80000000ULL : 0xc0000000ULL;
		s.segs[0].vaddr = vbase + 0x100000;
		s.segs[1].vaddr = vbase + 0x101000;
		s.segs[1].flags |= PF_X;
		s.entry = vbase + 0x101040; /* in the second segment, also executable */
		struct image img = build(&s);
		struct elf_load_result r;
		assert_null(load(&img, &m, &r));
		assert_int_equal(r.entry, 0x101040);
		assert_segment_loaded(&m, &img, &s, 1);
		free(img.data);
		free(m.hva);
	}
}

static void test_only_pt_load_is_loaded(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct spec s = spec_basic(false);
	/* A note whose numbers would be refused for a PT_LOAD, and an empty PT_LOAD. */
	s.segs[2] = (struct seg){ PT_NOTE, PF_R, 0x3f0000, 0xfffff000, 0x100000, 0x10, 0x7fff0000 };
	s.segs[3] = (struct seg){ PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 0 };
	s.segs[4] = (struct seg){ PT_LOAD, PF_R, 0x200000, 0x200000, 0, 0, 0 };
	s.nsegs = 5;
	struct image img = build(&s);
	struct elf_load_result r;
	assert_null(load(&img, &m, &r));
	assert_int_equal(r.segments, 2);
	assert_int_equal(r.load_end, 0x102000);
	assert_true(ram_fill_between(&m, 0x102000, m.size));
	free(img.data);
	free(m.hva);
}

static void test_pure_bss_segment(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct spec s = spec_basic(true);
	s.segs[1].filesz = 0; /* all .bss */
	s.segs[1].memsz = 0x2345;
	struct image img = build(&s);
	struct elf_load_result r;
	assert_null(load(&img, &m, &r));
	assert_segment_loaded(&m, &img, &s, 1);
	assert_int_equal(r.load_end, 0x101000 + 0x2345);
	assert_true(ram_fill_between(&m, 0x101000 + 0x2345, m.size));
	free(img.data);
	free(m.hva);
}

static void test_segment_ending_at_ram_end(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(2));
	struct spec s = spec_basic(false);
	s.segs[1].paddr = s.segs[1].vaddr = MiB(2) - 0x1000; /* last page, exactly */
	struct image img = build(&s);
	struct elf_load_result r;
	assert_null(load(&img, &m, &r));
	assert_int_equal(r.load_end, MiB(2));
	assert_segment_loaded(&m, &img, &s, 1);
	free(img.data);
	free(m.hva);
}

/* The avoid range is half-open: touching it is fine, overlapping is not. */
static void test_avoid_range_edges(void **state)
{
	(void)state;
	static const struct {
		uint64_t paddr, memsz;
		bool ok;
	} cases[] = {
		{ 0x8000, 0x1000, true },   /* ends where the boot info starts */
		{ 0xa000, 0x1000, true },   /* starts where it ends */
		{ 0x8000, 0x1001, false },  /* one byte into it */
		{ 0x9fff, 0x1, false },     /* its last byte */
		{ 0x8000, 0x3000, false },  /* all of it and more */
		{ 0x9400, 0x100, false },   /* inside it */
	};
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		struct guest_mem m = ram_new(MiB(4));
		struct spec s = spec_basic(false);
		s.segs[1].paddr = s.segs[1].vaddr = cases[i].paddr;
		s.segs[1].filesz = MIN(0x80, cases[i].memsz);
		s.segs[1].memsz = cases[i].memsz;
		struct image img = build(&s);
		struct elf_load_result r;
		const char *err = load(&img, &m, &r);
		if (cases[i].ok) {
			assert_null(err);
		} else {
			assert_non_null(err);
			assert_non_null(strstr(err, "boot information"));
			assert_true(ram_untouched(&m));
		}
		/* Without an avoid range, every case loads. */
		memset(m.hva, RAM_FILL, m.size);
		assert_null(elf_load(img.data, img.size, &m, 0x9000, 0, &r));
		free(img.data);
		free(m.hva);
	}
}

/* --- Refusals: the file -------------------------------------------------- */

static void test_refuse_too_small(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct spec s = spec_basic(false);
	struct image img = build(&s);
	struct elf_load_result r;
	for (size_t n = 0; n < 52; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, img.data, n);
		const char *err = elf_load(copy, n, &m, 0, 0, &r);
		assert_non_null(err);
		assert_non_null(strstr(err, "too small"));
		free(copy);
	}
	assert_true(ram_untouched(&m));
	free(img.data);
	free(m.hva);
}

static void test_refuse_bad_ident(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	for (int is64 = 0; is64 <= 1; is64++) {
		struct spec s = spec_basic(is64);
		struct image img = build(&s);
		for (unsigned i = 0; i < 4; i++) {
			img.data[i] ^= 0x20;
			expect_refused_img(&img, &m, "bad magic");
			img.data[i] ^= 0x20;
		}
		img.data[EI_DATA] = ELFDATA2MSB;
		expect_refused_img(&img, &m, "little-endian");
		img.data[EI_DATA] = ELFDATANONE;
		expect_refused_img(&img, &m, "little-endian");
		img.data[EI_DATA] = ELFDATA2LSB;
		img.data[EI_VERSION] = 2;
		expect_refused_img(&img, &m, "version");
		img.data[EI_VERSION] = EV_CURRENT;
		img.data[EI_CLASS] = ELFCLASSNONE;
		expect_refused_img(&img, &m, "class");
		img.data[EI_CLASS] = 3;
		expect_refused_img(&img, &m, "class");
		free(img.data);
	}
	free(m.hva);
}

/* An ELF64 header is 64 bytes: 52 to 63 bytes of one are refused. */
static void test_refuse_truncated_elf64_header(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	struct spec s = spec_basic(true);
	struct image img = build(&s);
	struct elf_load_result r;
	for (size_t n = 52; n < 64; n++) {
		uint8_t *copy = malloc(n);
		memcpy(copy, img.data, n);
		const char *err = elf_load(copy, n, &m, 0, 0, &r);
		assert_non_null(err);
		assert_non_null(strstr(err, "truncated ELF header"));
		free(copy);
	}
	assert_true(ram_untouched(&m));
	free(img.data);
	free(m.hva);
}

static void test_refuse_type_and_machine(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	for (int is64 = 0; is64 <= 1; is64++) {
		struct spec s = spec_basic(is64);
		struct image img = build(&s);
		size_t type_off = offsetof(Elf32_Ehdr, e_type), mach_off = offsetof(Elf32_Ehdr, e_machine);
		static const uint16_t bad_types[] = { ET_NONE, ET_REL, ET_DYN, ET_CORE };
		for (unsigned i = 0; i < ARRAY_SIZE(bad_types); i++) {
			put16(&img, type_off, bad_types[i]);
			expect_refused_img(&img, &m, "ET_EXEC");
		}
		put16(&img, type_off, ET_EXEC);
		/* The machine must match the class: EM_386 for ELF32, EM_X86_64 for ELF64. */
		const uint16_t bad_machines[] = { is64 ? EM_386 : EM_X86_64, EM_ARM, EM_AARCH64, 0 };
		for (unsigned i = 0; i < ARRAY_SIZE(bad_machines); i++) {
			put16(&img, mach_off, bad_machines[i]);
			expect_refused_img(&img, &m, "machine");
		}
		free(img.data);
	}
	free(m.hva);
}

static void test_refuse_program_header_table(void **state)
{
	(void)state;
	struct guest_mem m = ram_new(MiB(4));
	for (int is64 = 0; is64 <= 1; is64++) {
		struct spec s = spec_basic(is64);
		struct image img = build(&s);
		size_t phoff = is64 ? offsetof(Elf64_Ehdr, e_phoff) : offsetof(Elf32_Ehdr, e_phoff);
		size_t phentsize = is64 ? offsetof(Elf64_Ehdr, e_phentsize)
					: offsetof(Elf32_Ehdr, e_phentsize);
		size_t phnum = is64 ? offsetof(Elf64_Ehdr, e_phnum) : offsetof(Elf32_Ehdr, e_phnum);
		size_t entsz = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
		size_t hsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);

		/* The table must lie wholly in the file. */
		uint64_t bad_offsets[] = { img.size, img.size - 2 * entsz + 1, 0xffffffffULL,
					   is64 ? 0xfffffffffffffff0ULL : 0xfffffff0ULL };
		for (unsigned i = 0; i < ARRAY_SIZE(bad_offsets); i++) {
			if (is64)
				put64(&img, phoff, bad_offsets[i]);
			else
				put32(&img, phoff, (uint32_t)bad_offsets[i]);
			expect_refused_img(&img, &m, "program headers lie outside the file");
		}
		if (is64)
			put64(&img, phoff, hsize);
		else
			put32(&img, phoff, (uint32_t)hsize);

		put16(&img, phentsize, (uint16_t)(entsz - 1));
		expect_refused_img(&img, &m, "entry size is too small");
		put16(&img, phentsize, 0);
		expect_refused_img(&img, &m, "entry size is too small");
		put16(&img, phentsize, (uint16_t)entsz);

		put16(&img, phnum, 0);
		expect_refused_img(&img, &m, "no program headers");
		put16(&img, phnum, ELF_MAX_PHDRS + 1);
		expect_refused_img(&img, &m, "too many program headers");
		put16(&img, phnum, 0xffff);
		expect_refused_img(&img, &m, "too many program headers");
		free(img.data);
	}
	free(m.hva);
}

/* A larger phentsize (a future format) is fine: entries are read by stride. */
static void test_larger_phentsize(void **state)
{
	(void)state;
	for (int is64 = 0; is64 <= 1; is64++) {
		struct guest_mem m = ram_new(MiB(4));
		struct spec s = spec_basic(is64);
		struct image base = build(&s);
		size_t hsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
		size_t entsz = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
		size_t stride = entsz + 8;
		/* Same file, with the two entries re-spread 8 bytes apart at the end. */
		struct image img = { malloc(base.size + 2 * stride), base.size + 2 * stride };
		memcpy(img.data, base.data, base.size);
		for (unsigned i = 0; i < 2; i++) {
			memcpy(img.data + base.size + i * stride, base.data + hsize + i * entsz, entsz);
			memset(img.data + base.size + i * stride + entsz, 0xab, 8);
		}
		if (is64) {
			put64(&img, offsetof(Elf64_Ehdr, e_phoff), base.size);
			put16(&img, offsetof(Elf64_Ehdr, e_phentsize), (uint16_t)stride);
		} else {
			put32(&img, offsetof(Elf32_Ehdr, e_phoff), (uint32_t)base.size);
			put16(&img, offsetof(Elf32_Ehdr, e_phentsize), (uint16_t)stride);
		}
		struct elf_load_result r;
		assert_null(load(&img, &m, &r));
		assert_int_equal(r.segments, 2);
		assert_segment_loaded(&m, &base, &s, 0);
		assert_segment_loaded(&m, &base, &s, 1);
		free(img.data);
		free(base.data);
		free(m.hva);
	}
}

/* --- Refusals: segments -------------------------------------------------- */

static void test_refuse_filesz_over_memsz(void **state)
{
	(void)state;
	for (int is64 = 0; is64 <= 1; is64++) {
		struct spec s = spec_basic(is64);
		s.segs[1].memsz = s.segs[1].filesz - 1;
		expect_refused(&s, "file size exceeds its memory size");
	}
}

static void set_seg_offset(struct image *img, bool is64, unsigned i, uint64_t off)
{
	if (is64)
		put64(img, sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr) + offsetof(Elf64_Phdr, p_offset),
		      off);
	else
		put32(img, sizeof(Elf32_Ehdr) + i * sizeof(Elf32_Phdr) + offsetof(Elf32_Phdr, p_offset),
		      (uint32_t)off);
}

static void test_refuse_data_outside_file(void **state)
{
	(void)state;
	for (int is64 = 0; is64 <= 1; is64++) {
		struct guest_mem m = ram_new(MiB(4));
		struct spec s = spec_basic(is64);
		struct image img = build(&s);
		uint64_t filesz = s.segs[1].filesz;

		set_seg_offset(&img, is64, 1, img.size - filesz + 1); /* one byte past the end */
		expect_refused_img(&img, &m, "data lies outside the file");
		set_seg_offset(&img, is64, 1, img.size);
		expect_refused_img(&img, &m, "data lies outside the file");
		/* offset + filesz wraps around */
		set_seg_offset(&img, is64, 1, is64 ? 0xffffffffffffff00ULL : 0xffffff00ULL);
		expect_refused_img(&img, &m, "data lies outside the file");
		/* Exactly up to the end is fine. */
		set_seg_offset(&img, is64, 1, img.size - filesz);
		struct elf_load_result r;
		assert_null(load(&img, &m, &r));
		assert_memory_equal(m.hva + s.segs[1].paddr, img.data + img.size - filesz, filesz);
		free(img.data);
		free(m.hva);
	}
}

static void test_refuse_segment_outside_ram(void **state)
{
	(void)state;
	for (int is64 = 0; is64 <= 1; is64++) {
		struct spec s = spec_basic(is64);
		/* 4 MiB of RAM: one byte too many. */
		s.segs[1].paddr = s.segs[1].vaddr = MiB(4) - s.segs[1].memsz + 1;
		expect_refused(&s, "does not fit in the VM's RAM");
		s.segs[1].paddr = s.segs[1].vaddr = MiB(4);
		expect_refused(&s, "does not fit in the VM's RAM");
		s.segs[1].paddr = s.segs[1].vaddr = MiB(64);
		expect_refused(&s, "does not fit in the VM's RAM");
		/* A huge .bss. */
		s = spec_basic(is64);
		s.segs[1].memsz = MiB(8);
		expect_refused(&s, "does not fit in the VM's RAM");
	}
}

static void test_refuse_paddr_wrap(void **state)
{
	(void)state;
	struct spec s = spec_basic(true);
	s.segs[1].paddr = 0xfffffffffffff000ULL; /* + 0x1000 wraps to 0 */
	expect_refused(&s, "does not fit in the VM's RAM");
	s.segs[1].paddr = 0xffffffffffffffffULL;
	s.segs[1].memsz = 0x200;
	expect_refused(&s, "does not fit in the VM's RAM");

	s = spec_basic(false);
	s.segs[1].paddr = 0xfffff000u; /* fits 32 bits, not 4 MiB of RAM */
	expect_refused(&s, "does not fit in the VM's RAM");
}

static void test_refuse_vaddr_wrap(void **state)
{
	(void)state;
	struct spec s = spec_basic(true);
	s.segs[1].vaddr = 0xfffffffffffff800ULL;
	expect_refused(&s, "virtual range wraps around");
}

static void test_refuse_overlap_boot_info(void **state)
{
	(void)state;
	for (int is64 = 0; is64 <= 1; is64++) {
		struct spec s = spec_basic(is64);
		s.segs[0].paddr = 0x8e00; /* text over the boot information page */
		s.entry = s.segs[0].vaddr;
		expect_refused(&s, "overlaps the boot information area");
	}
}

static void test_refuse_entry_not_executable(void **state)
{
	(void)state;
	for (int is64 = 0; is64 <= 1; is64++) {
		struct spec s = spec_basic(is64);
		s.entry = 0x101010; /* in data, which is not executable */
		expect_refused(&s, "entry point");
		s.entry = 0x100300; /* one past the end of text */
		expect_refused(&s, "entry point");
		s.entry = 0xfffff; /* one before text */
		expect_refused(&s, "entry point");
		s.entry = 0;
		expect_refused(&s, "entry point");
		s.entry = 0x1002ff; /* last byte of text: fine */
		struct guest_mem m = ram_new(MiB(4));
		struct image img = build(&s);
		struct elf_load_result r;
		assert_null(load(&img, &m, &r));
		assert_int_equal(r.entry, 0x1002ff);
		free(img.data);
		free(m.hva);
	}
}

/* A 64-bit image is entered in 32-bit mode: its entry must be below 4 GiB. */
static void test_refuse_entry_above_4g(void **state)
{
	(void)state;
	struct spec s = { .is64 = true, .entry = GiB(4) + 0x10, .nsegs = 1 };
	s.segs[0] = (struct seg){ PT_LOAD, PF_R | PF_X, GiB(4), GiB(4), 0x100, 0x100, 0 };
	struct image img = build(&s);
	/* RAM said to be 8 GiB; the check must refuse before anything is copied. */
	uint8_t *small = malloc(4096);
	memset(small, RAM_FILL, 4096);
	struct guest_mem m = { small, GiB(8) };
	struct elf_load_result r;
	const char *err = load(&img, &m, &r);
	assert_non_null(err);
	assert_non_null(strstr(err, "above 4 GiB"));
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(small[i], RAM_FILL);
	free(small);
	free(img.data);
}

static void test_refuse_no_pt_load(void **state)
{
	(void)state;
	for (int is64 = 0; is64 <= 1; is64++) {
		struct spec s = spec_basic(is64);
		s.segs[0].type = PT_NOTE;
		s.segs[1].type = PT_PHDR;
		expect_refused(&s, "no loadable segment");
		s = spec_basic(is64);
		s.segs[0].memsz = s.segs[0].filesz = 0;
		s.segs[1].memsz = s.segs[1].filesz = 0;
		expect_refused(&s, "no loadable segment");
	}
}

/* A bad segment after a good one: the good one must not have been copied. */
static void test_refusal_is_all_or_nothing(void **state)
{
	(void)state;
	struct spec s = spec_basic(false);
	s.segs[2] = (struct seg){ PT_LOAD, PF_R, 0x200000, 0x200000, 0x10, 0x8, 0 };
	s.nsegs = 3;
	expect_refused(&s, "file size exceeds");
	s.segs[2] = (struct seg){ PT_LOAD, PF_R, MiB(5), MiB(5), 0x10, 0x10, 0 };
	expect_refused(&s, "does not fit");
}

/* --- Robustness ------------------------------------------------------------ */

static struct spec spec_small(bool is64)
{
	struct spec s = { .is64 = is64, .entry = 0x2004, .nsegs = 2, .trailing = 40 };
	s.segs[0] = (struct seg){ PT_LOAD, PF_R | PF_X, 0x2000, 0x2000, 0x80, 0x80, 0 };
	s.segs[1] = (struct seg){ PT_LOAD, PF_R | PF_W, 0x3000, 0x3000, 0x44, 0x100, 0 };
	return s;
}

/* The image cut at every length: refused (RAM untouched) while it lacks any
 * byte the segments need, loaded exactly as in full once it has them all. */
static void test_truncated_at_every_length(void **state)
{
	(void)state;
	for (int is64 = 0; is64 <= 1; is64++) {
		struct spec s = spec_small(is64);
		struct image img = build(&s);
		size_t needed = 0;
		for (unsigned i = 0; i < s.nsegs; i++)
			needed = MAX(needed, seg_offset(&img, is64, i) + s.segs[i].filesz);
		assert_true(needed < img.size);
		struct guest_mem ref = ram_new(KiB(64)), m = ram_new(KiB(64));
		struct elf_load_result full, r;
		assert_null(elf_load(img.data, img.size, &ref, 0x9000, 0x1000, &full));

		for (size_t n = 0; n <= img.size; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			memcpy(copy, img.data, n);
			const char *err = elf_load(copy, n, &m, 0x9000, 0x1000, &r);
			if (n >= needed) {
				assert_null(err);
				assert_memory_equal(&r, &full, sizeof(r));
				assert_memory_equal(m.hva, ref.hva, m.size);
				memset(m.hva, RAM_FILL, m.size);
			} else {
				assert_non_null(err);
				assert_true(ram_untouched(&m));
			}
			free(copy);
		}
		free(img.data);
		free(ref.hva);
		free(m.hva);
	}
}

/* Random corruption of headers and program headers (fixed seed): whatever
 * loads stays inside RAM and writes only what it reports; whatever is
 * refused writes nothing. */
static void test_random_corruption(void **state)
{
	(void)state;
	uint32_t seed = 0xe1f;
	unsigned loaded = 0, refused = 0;
	for (int is64 = 0; is64 <= 1; is64++) {
		struct spec s = spec_small(is64);
		struct image good = build(&s);
		size_t hdrs = (is64 ? sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr)
				    : sizeof(Elf32_Ehdr) + 2 * sizeof(Elf32_Phdr));
		struct guest_mem m = ram_new(KiB(64));
		for (unsigned iter = 0; iter < 20000; iter++) {
			uint8_t *copy = malloc(good.size);
			memcpy(copy, good.data, good.size);
			for (unsigned f = 0; f <= iter % 3; f++) {
				seed = seed * 1664525u + 1013904223u;
				size_t pos = (seed >> 8) % hdrs;
				seed = seed * 1664525u + 1013904223u;
				copy[pos] = (seed >> 28) < 4 ? 0xff : (uint8_t)(seed >> 20);
			}
			struct elf_load_result r;
			const char *err = elf_load(copy, good.size, &m, 0x9000, 0x1000, &r);
			if (err) {
				refused++;
				assert_true(ram_untouched(&m));
			} else {
				loaded++;
				assert_true(r.load_start < r.load_end);
				assert_true(r.load_end <= m.size);
				assert_true(r.entry < m.size);
				assert_true(r.segments >= 1);
				assert_true(ram_fill_between(&m, 0x9000, 0xa000)); /* boot info */
				assert_true(ram_fill_between(&m, 0, r.load_start));
				assert_true(ram_fill_between(&m, r.load_end, m.size));
				memset(m.hva, RAM_FILL, m.size);
			}
			free(copy);
		}
		free(good.data);
		free(m.hva);
	}
	assert_true(loaded > 0);
	assert_true(refused > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_elf32),
		cmocka_unit_test(test_load_elf64),
		cmocka_unit_test(test_entry_translated_to_physical),
		cmocka_unit_test(test_only_pt_load_is_loaded),
		cmocka_unit_test(test_pure_bss_segment),
		cmocka_unit_test(test_segment_ending_at_ram_end),
		cmocka_unit_test(test_avoid_range_edges),
		cmocka_unit_test(test_larger_phentsize),
		cmocka_unit_test(test_refuse_too_small),
		cmocka_unit_test(test_refuse_bad_ident),
		cmocka_unit_test(test_refuse_truncated_elf64_header),
		cmocka_unit_test(test_refuse_type_and_machine),
		cmocka_unit_test(test_refuse_program_header_table),
		cmocka_unit_test(test_refuse_filesz_over_memsz),
		cmocka_unit_test(test_refuse_data_outside_file),
		cmocka_unit_test(test_refuse_segment_outside_ram),
		cmocka_unit_test(test_refuse_paddr_wrap),
		cmocka_unit_test(test_refuse_vaddr_wrap),
		cmocka_unit_test(test_refuse_overlap_boot_info),
		cmocka_unit_test(test_refuse_entry_not_executable),
		cmocka_unit_test(test_refuse_entry_above_4g),
		cmocka_unit_test(test_refuse_no_pt_load),
		cmocka_unit_test(test_refusal_is_all_or_nothing),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_random_corruption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
