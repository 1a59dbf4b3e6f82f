/* libFuzzer target for the two pure modules behind MMIO emulation:
 * vm/insn_decode.c (instruction bytes from the guest) and vm/page_walk.c
 * (page tables and control registers from the guest). Built with
 * clang -fsanitize=fuzzer,address,undefined (`make fuzz`, tests/fuzz/README.md).
 *
 * Input: the low bit of the first byte chooses the decoder (0) or the page
 * walk (1); the rest is the decoder's bytes, or a header of register state
 * followed by guest RAM. Every buffer handed over is allocated at exactly its
 * size, so AddressSanitizer reports any read outside it; UBSan any undefined
 * arithmetic; and the invariants below abort with a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/insn_decode.h"
#include "vm/page_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "fuzz_decode: invariant broken: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                          \
			abort();                                                              \
		}                                                                             \
	} while (0)

static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	CHECK(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

static uint64_t mix(uint64_t *s)
{
	/* splitmix64: register values from the input, deterministically. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static bool is_size(unsigned s)
{
	return s == 1 || s == 2 || s == 4 || s == 8;
}

/* --- The decoder ------------------------------------------------------------------------ */

static void check_decoded(const struct insn *in, unsigned avail, enum cpu_mode mode)
{
	CHECK(in->len >= 1 && in->len <= avail && in->len <= INSN_MAX_LEN);
	CHECK(in->op <= INSN_XCHG);
	CHECK(in->alu <= INSN_ALU_CMP);
	CHECK(is_size(in->mem_size));
	CHECK(in->reg_size == 0 || is_size(in->reg_size));
	CHECK(in->reg < 16);
	CHECK(!in->high_byte || (in->reg < 4 && in->reg_size == 1));
	CHECK(in->reg_size || in->has_imm || in->op == INSN_MOVS);
	CHECK(in->addr_size == 4 || (in->addr_size == 8 && mode == CPU_MODE_64));
	CHECK(in->seg <= INSN_SEG_GS);
	CHECK(in->base >= INSN_NO_REG && in->base < 16);
	CHECK(in->index >= INSN_NO_REG && in->index < 16);
	CHECK(in->scale == 1 || in->scale == 2 || in->scale == 4 || in->scale == 8);
	CHECK(!in->rep || in->op == INSN_MOVS || in->op == INSN_STOS);
	CHECK(!in->rip_relative || mode == CPU_MODE_64);
	CHECK(insn_zero_extend(in->imm, in->op == INSN_BT ? 1 : in->mem_size) == in->imm);
}

static void fuzz_decoder(const uint8_t *p, size_t n)
{
	uint64_t seed = n;
	for (size_t i = 0; i < n && i < 64; i++)
		seed = seed * 131 + p[i];

	for (int m = 0; m < 2; m++) {
		enum cpu_mode mode = m ? CPU_MODE_64 : CPU_MODE_32;
		/* Every prefix of the bytes up to 17, exactly allocated. */
		unsigned longest = n > INSN_MAX_LEN + 2 ? INSN_MAX_LEN + 2 : (unsigned)n;
		for (unsigned avail = 0; avail <= longest; avail++) {
			uint8_t *bytes = exact_copy(p, avail);
			struct insn in, again;
			const char *err = insn_decode(bytes, avail, mode, &in);
			if (err) {
				CHECK(strlen(err) > 10);
				free(bytes);
				continue;
			}
			check_decoded(&in, avail, mode);
			/* Its own bytes decode the same; one fewer does not. */
			CHECK(!insn_decode(bytes, in.len, mode, &again));
			CHECK(!memcmp(&in, &again, sizeof(in)));
			CHECK(insn_decode(bytes, in.len - 1, mode, &again));
			free(bytes);

			/* Carrying it out is defined for any register values. */
			uint64_t gpr[16], rflags = mix(&seed), store = 0, mem = mix(&seed);
			for (unsigned i = 0; i < 16; i++)
				gpr[i] = mix(&seed);
			bool stored = insn_execute(&in, gpr, &rflags, mem, &store);
			CHECK(stored == insn_writes_memory(&in));
			CHECK(!stored || insn_zero_extend(store, in.mem_size) == store);
			(void)insn_effective_address(&in, gpr, mix(&seed));
			if (in.op == INSN_MOVS || in.op == INSN_STOS) {
				(void)insn_rep_count(&in, gpr);
				insn_string_advance(&in, gpr, rflags, mix(&seed) & 0xffff);
			}
			if (in.op == INSN_BT) {
				int64_t off;
				unsigned bit;
				insn_bt_locate(&in, gpr, &off, &bit);
				CHECK(bit < in.mem_size * 8);
			}
		}
		/* All of it at once: more than 15 bytes is cut at 15. */
		struct insn in;
		if (!insn_decode(p, (unsigned)(n > 4096 ? 4096 : n), mode, &in))
			check_decoded(&in, (unsigned)n, mode);
	}
}

/* --- The page walk ----------------------------------------------------------------------- */

struct walk_header {
	uint64_t cr0, cr3, cr4, efer, rflags, la;
	uint64_t pdpte[4];
	uint8_t access, maxphyaddr, flags;
};

/* Copy out the header field by field (the input has no alignment). */
static size_t read_header(const uint8_t *p, size_t n, struct walk_header *h)
{
	uint8_t raw[6 * 8 + 4 * 8 + 3] = { 0 };
	size_t used = n < sizeof(raw) ? n : sizeof(raw);
	memcpy(raw, p, used);
	uint64_t *fields[] = { &h->cr0, &h->cr3, &h->cr4, &h->efer, &h->rflags, &h->la,
			       &h->pdpte[0], &h->pdpte[1], &h->pdpte[2], &h->pdpte[3] };
	for (unsigned i = 0; i < 10; i++)
		memcpy(fields[i], raw + 8 * i, 8);
	h->access = raw[80];
	h->maxphyaddr = raw[81];
	h->flags = raw[82];
	return used;
}

static void fuzz_page_walk(const uint8_t *p, size_t n)
{
	struct walk_header h;
	size_t used = read_header(p, n, &h);
	size_t ram_size = n - used;
	uint8_t *ram = exact_copy(p + used, ram_size), *before = exact_copy(p + used, ram_size);
	struct guest_mem mem = { ram, ram_size };

	struct paging_regs r = { .cr0 = h.cr0, .cr3 = h.cr3, .cr4 = h.cr4, .efer = h.efer,
				 .rflags = h.rflags, .maxphyaddr = h.maxphyaddr,
				 .page_1gb = h.flags & 16, .pdpte = (h.flags & 8) ? h.pdpte : NULL };
	/* Help the fuzzer into each paging mode, and into RAM: flags bits 1:0
	 * force a consistent mode (0 leaves the registers as they are), bit 2
	 * keeps MAXPHYADDR raw (else 32..52), bit 5 puts CR3 inside RAM. */
	switch (h.flags & 3) {
	case 1:
		r.cr0 |= CR0_PG, r.cr4 &= ~CR4_PAE, r.efer &= ~EFER_LMA;
		break;
	case 2:
		r.cr0 |= CR0_PG, r.cr4 |= CR4_PAE, r.efer &= ~EFER_LMA;
		break;
	case 3:
		r.cr0 |= CR0_PG, r.cr4 |= CR4_PAE, r.cr4 &= ~(CR4_LA57 | CR4_PKE | BIT(24));
		r.efer |= EFER_LMA;
		break;
	}
	if (!(h.flags & 4))
		r.maxphyaddr = 32 + h.maxphyaddr % 21;
	if ((h.flags & 32) && ram_size)
		r.cr3 %= ram_size;
	enum paging_mode mode = paging_mode(&r);
	uint64_t la = h.la;
	if ((h.flags & 64) && mode != PAGING_4LEVEL)
		la &= 0xffffffff;
	unsigned access = h.access & ((h.flags & 128) ? 0xff : 0xf);

	struct page_walk w, again;
	enum page_walk_status s = page_walk(&mem, &r, la, access, &w);
	CHECK(s <= PAGE_WALK_UNSUPPORTED);
	CHECK(w.mode == mode);
	/* RAM changes only by setting accessed and dirty flags, and only on success. */
	bool ram_changed = false;
	for (size_t i = 0; i < ram_size; i++) {
		uint8_t changed = before[i] ^ ram[i];
		CHECK((changed & ~0x60) == 0 && (before[i] & changed) == 0);
		CHECK(!changed || s == PAGE_WALK_OK);
		ram_changed = ram_changed || changed;
	}
	switch (s) {
	case PAGE_WALK_OK:
		CHECK(w.page_size == KiB(4) || w.page_size == MiB(2) || w.page_size == MiB(4) ||
		      w.page_size == GiB(1) || (w.page_size == GiB(4) && mode == PAGING_OFF));
		CHECK((w.gpa & (w.page_size - 1)) == (la & (w.page_size - 1)));
		CHECK(mode == PAGING_OFF || w.gpa < BIT(r.maxphyaddr));
		CHECK(mode != PAGING_OFF || w.gpa == la);
		break;
	case PAGE_WALK_FAULT:
		CHECK(mode != PAGING_OFF);
		CHECK((w.error_code & ~0x1fu) == 0);
		CHECK(!!(w.error_code & PF_ERROR_WR) == !!(access & PAGE_ACCESS_WRITE));
		CHECK(!!(w.error_code & PF_ERROR_US) ==
		      ((access & PAGE_ACCESS_USER) && !(access & PAGE_ACCESS_IMPLICIT)));
		CHECK(!(w.error_code & PF_ERROR_RSVD) || (w.error_code & PF_ERROR_P));
		CHECK(!(w.error_code & PF_ERROR_ID) || (access & PAGE_ACCESS_FETCH));
		CHECK(w.why);
		break;
	case PAGE_WALK_NOT_RAM:
		CHECK(!range_within(w.entry_gpa, mode == PAGING_32BIT ? 4 : 8, 0, ram_size));
		CHECK(w.why);
		break;
	case PAGE_WALK_NON_CANONICAL:
		CHECK(mode == PAGING_4LEVEL);
		CHECK(w.why);
		break;
	case PAGE_WALK_UNSUPPORTED:
		CHECK(w.why);
		break;
	}
	/* Walking again gives the same answer and changes nothing more. The
	 * exception: PAE PDPTEs read from memory that shares bytes with an entry
	 * whose accessed flag the first walk set, which is a reserved bit in a
	 * PDPTE (a CPU would still use its PDPTE registers). */
	memcpy(before, ram, ram_size);
	enum page_walk_status s2 = page_walk(&mem, &r, la, access, &again);
	if (!(ram_changed && mode == PAGING_PAE && !r.pdpte)) {
		CHECK(s2 == s);
		CHECK(!memcmp(&w, &again, sizeof(w)));
	}
	CHECK(!memcmp(before, ram, ram_size));
	free(ram);
	free(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_page_walk(data + 1, size - 1);
	else
		fuzz_decoder(data + 1, size - 1);
	return 0;
}
