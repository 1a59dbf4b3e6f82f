/* vm/insn_decode.c: decoding the instruction behind an MMIO access. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/insn_decode.h"

#define M32 CPU_MODE_32
#define M64 CPU_MODE_64
#define LOAD INSN_LOAD
#define STORE INSN_STORE_REG
#define IMM INSN_STORE_IMM

struct good {
	const char *what;
	enum cpu_mode mode;
	uint8_t bytes[16];
	unsigned n; /* bytes of the instruction */
	enum insn_kind kind;
	unsigned mem_size, reg_size, reg;
	bool high_byte;
	uint64_t imm;
};

/* n is the instruction's length, which the decoder must report. */
#define G(what, mode, n, kind, msz, rsz, reg, hb, imm, ...) \
	{ what, mode, { __VA_ARGS__ }, n, kind, msz, rsz, reg, hb, imm }

static const struct good goods[] = {
	/* 88/89: stores of a register */
	G("mov [ebx], al", M32, 2, STORE, 1, 1, 0, false, 0, 0x88, 0x03),
	G("mov [ebx+0x10], ah", M32, 3, STORE, 1, 1, 0, true, 0, 0x88, 0x63, 0x10),
	G("mov [esi], bh", M32, 2, STORE, 1, 1, 3, true, 0, 0x88, 0x3e),
	G("mov [esi], dl", M32, 2, STORE, 1, 1, 2, false, 0, 0x88, 0x16),
	G("mov [disp32], ecx", M32, 6, STORE, 4, 4, 1, false, 0, 0x89, 0x0d, 0x00, 0x10, 0x00, 0xfe),
	G("mov [esp+disp32], eax", M32, 7, STORE, 4, 4, 0, false, 0, 0x89, 0x84, 0x24, 0x78, 0x56,
	  0x34, 0x12),
	G("mov [eax+ecx*4+disp8], edi", M32, 4, STORE, 4, 4, 7, false, 0, 0x89, 0x7c, 0x88, 0x08),
	G("mov [ebp+disp8], esi", M32, 3, STORE, 4, 4, 6, false, 0, 0x89, 0x75, 0xfc),
	G("mov [edx+disp32], ebx", M32, 6, STORE, 4, 4, 3, false, 0, 0x89, 0x9a, 1, 2, 3, 4),
	G("mov [ax-size] word [ebx], ax", M32, 3, STORE, 2, 2, 0, false, 0, 0x66, 0x89, 0x03),
	/* 8A/8B: loads */
	G("mov al, [edi+5]", M32, 3, LOAD, 1, 1, 0, false, 0, 0x8a, 0x47, 0x05),
	G("mov bh, [edi+5]", M32, 3, LOAD, 1, 1, 3, true, 0, 0x8a, 0x7f, 0x05),
	G("mov ch, [eax]", M32, 2, LOAD, 1, 1, 1, true, 0, 0x8a, 0x28),
	G("mov eax, [disp32] (SIB, no base)", M32, 7, LOAD, 4, 4, 0, false, 0, 0x8b, 0x04, 0x25,
	  0x00, 0x00, 0xe0, 0xfe),
	G("mov eax, [esp+8]", M32, 4, LOAD, 4, 4, 0, false, 0, 0x8b, 0x44, 0x24, 0x08),
	G("mov cx, [esi+disp32]", M32, 7, LOAD, 2, 2, 1, false, 0, 0x66, 0x8b, 0x8e, 0x00, 0x00,
	  0xc0, 0xfe),
	G("mov edx, [ebx+esi*2+disp32]", M32, 7, LOAD, 4, 4, 2, false, 0, 0x8b, 0x94, 0x73, 1, 2, 3,
	  4),
	/* C6/C7: stores of an immediate */
	G("mov byte [disp32], 0x5a", M32, 7, IMM, 1, 0, 0, false, 0x5a, 0xc6, 0x05, 0x00, 0x00, 0x00,
	  0xb0, 0x5a),
	G("mov byte [eax], 0xff", M32, 3, IMM, 1, 0, 0, false, 0xff, 0xc6, 0x00, 0xff),
	G("mov dword [eax], imm32", M32, 6, IMM, 4, 0, 0, false, 0x80000001, 0xc7, 0x00, 0x01, 0x00,
	  0x00, 0x80),
	G("mov word [eax], imm16", M32, 5, IMM, 2, 0, 0, false, 0xbeef, 0x66, 0xc7, 0x00, 0xef, 0xbe),
	G("mov dword [esp+disp8], imm32", M32, 8, IMM, 4, 0, 0, false, 0x12345678, 0xc7, 0x44, 0x24,
	  0x10, 0x78, 0x56, 0x34, 0x12),
	G("mov dword [ebx+disp32], imm32", M32, 10, IMM, 4, 0, 0, false, 0x1, 0xc7, 0x83, 0x00, 0x01,
	  0x00, 0x00, 0x01, 0x00, 0x00, 0x00),
	/* A0-A3: moffs */
	G("mov al, [moffs32]", M32, 5, LOAD, 1, 1, 0, false, 0, 0xa0, 0x00, 0x00, 0x00, 0xfe),
	G("mov eax, [moffs32]", M32, 5, LOAD, 4, 4, 0, false, 0, 0xa1, 0x00, 0x00, 0x00, 0xfe),
	G("mov ax, [moffs32]", M32, 6, LOAD, 2, 2, 0, false, 0, 0x66, 0xa1, 0x00, 0x00, 0x00, 0xfe),
	G("mov [moffs32], al", M32, 5, STORE, 1, 1, 0, false, 0, 0xa2, 0x00, 0x00, 0x00, 0xfe),
	G("mov [moffs32], eax", M32, 5, STORE, 4, 4, 0, false, 0, 0xa3, 0x00, 0x00, 0x00, 0xfe),
	/* 0F B6/B7: MOVZX */
	G("movzx eax, byte [ebx]", M32, 3, LOAD, 1, 4, 0, false, 0, 0x0f, 0xb6, 0x03),
	G("movzx edi, word [ebx+4]", M32, 4, LOAD, 2, 4, 7, false, 0, 0x0f, 0xb7, 0x7b, 0x04),
	G("movzx ax, byte [ebx]", M32, 4, LOAD, 1, 2, 0, false, 0, 0x66, 0x0f, 0xb6, 0x03),
	G("movzx esp, byte [eax] (no high byte)", M32, 3, LOAD, 1, 4, 4, false, 0, 0x0f, 0xb6, 0x20),
	/* Prefixes that change nothing here */
	G("mov fs:[ebx], eax", M32, 3, STORE, 4, 4, 0, false, 0, 0x64, 0x89, 0x03),
	G("lock mov es:cs:ss:ds:gs: [ebx], eax", M32, 8, STORE, 4, 4, 0, false, 0, 0xf0, 0x26, 0x2e,
	  0x36, 0x3e, 0x65, 0x89, 0x03),
	G("66 66 mov [ebx], ax", M32, 4, STORE, 2, 2, 0, false, 0, 0x66, 0x66, 0x89, 0x03),

	/* 64-bit mode */
	G("mov [rbx], rax", M64, 3, STORE, 8, 8, 0, false, 0, 0x48, 0x89, 0x03),
	G("mov [rbx], r8", M64, 3, STORE, 8, 8, 8, false, 0, 0x4c, 0x89, 0x03),
	G("mov [rbx], r15d", M64, 3, STORE, 4, 4, 15, false, 0, 0x44, 0x89, 0x3b),
	G("mov [rbx], r12b", M64, 3, STORE, 1, 1, 12, false, 0, 0x44, 0x88, 0x23),
	G("mov [rbx], spl", M64, 3, STORE, 1, 1, 4, false, 0, 0x40, 0x88, 0x23),
	G("mov [rbx], dil", M64, 3, STORE, 1, 1, 7, false, 0, 0x40, 0x88, 0x3b),
	G("mov [rbx], ah (no REX)", M64, 2, STORE, 1, 1, 0, true, 0, 0x88, 0x23),
	G("mov sil, [rip+disp32]", M64, 7, LOAD, 1, 1, 6, false, 0, 0x40, 0x8a, 0x35, 0, 0, 0, 0),
	G("mov eax, [rip+disp32]", M64, 6, LOAD, 4, 4, 0, false, 0, 0x8b, 0x05, 0x10, 0x00, 0x00,
	  0x00),
	G("mov rax, [rip+disp32]", M64, 7, LOAD, 8, 8, 0, false, 0, 0x48, 0x8b, 0x05, 0xf0, 0xff,
	  0xff, 0xff),
	G("mov r9w, [r8+disp8]", M64, 5, LOAD, 2, 2, 9, false, 0, 0x66, 0x45, 0x8b, 0x48, 0x08),
	G("REX.W wins over 66", M64, 4, STORE, 8, 8, 0, false, 0, 0x66, 0x48, 0x89, 0x03),
	G("mov eax, [ebx] (67)", M64, 3, LOAD, 4, 4, 0, false, 0, 0x67, 0x8b, 0x03),
	G("mov rax, gs:[disp32]", M64, 9, LOAD, 8, 8, 0, false, 0, 0x65, 0x48, 0x8b, 0x04, 0x25,
	  0x00, 0x10, 0x00, 0x00),
	G("lock mov [rbx], rax", M64, 4, STORE, 8, 8, 0, false, 0, 0xf0, 0x48, 0x89, 0x03),
	G("mov qword [rax], -0x80000000", M64, 7, IMM, 8, 0, 0, false, 0xffffffff80000000ULL, 0x48,
	  0xc7, 0x00, 0x00, 0x00, 0x00, 0x80),
	G("mov qword [rax], 0x7fffffff", M64, 7, IMM, 8, 0, 0, false, 0x7fffffff, 0x48, 0xc7, 0x00,
	  0xff, 0xff, 0xff, 0x7f),
	G("mov qword [rax], -1", M64, 7, IMM, 8, 0, 0, false, ~0ULL, 0x48, 0xc7, 0x00, 0xff, 0xff,
	  0xff, 0xff),
	G("mov dword [rax], 0x80000000 (not extended)", M64, 6, IMM, 4, 0, 0, false, 0x80000000,
	  0xc7, 0x00, 0x00, 0x00, 0x00, 0x80),
	G("mov word [rax], 0x8000 (not extended)", M64, 5, IMM, 2, 0, 0, false, 0x8000, 0x66, 0xc7,
	  0x00, 0x00, 0x80),
	G("mov byte [rax], 0x80 (REX.W: still a byte)", M64, 4, IMM, 1, 0, 0, false, 0x80, 0x48,
	  0xc6, 0x00, 0x80),
	G("mov qword [rip+disp32], imm32", M64, 11, IMM, 8, 0, 0, false, 5, 0x48, 0xc7, 0x05, 0x00,
	  0x10, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00),
	G("mov al, [moffs64]", M64, 9, LOAD, 1, 1, 0, false, 0, 0xa0, 0, 0, 0xe0, 0xfe, 0, 0, 0, 0),
	G("mov rax, [moffs64]", M64, 10, LOAD, 8, 8, 0, false, 0, 0x48, 0xa1, 0, 0, 0xe0, 0xfe, 0, 0,
	  0, 0),
	G("mov [moffs64], eax", M64, 9, STORE, 4, 4, 0, false, 0, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8),
	G("mov eax, [moffs32] (67)", M64, 6, LOAD, 4, 4, 0, false, 0, 0x67, 0xa1, 0, 0, 0xe0, 0xfe),
	G("movzx rax, byte [rbx]", M64, 4, LOAD, 1, 8, 0, false, 0, 0x48, 0x0f, 0xb6, 0x03),
	G("movzx r10d, word [rbx]", M64, 4, LOAD, 2, 4, 10, false, 0, 0x44, 0x0f, 0xb7, 0x13),
	G("REX.B only changes the base", M64, 3, LOAD, 4, 4, 2, false, 0, 0x41, 0x8b, 0x13),
};

static void check_good(const struct good *g, const uint8_t *bytes, unsigned avail)
{
	struct insn in;
	const char *err = insn_decode(bytes, avail, g->mode, &in);
	if (err)
		fail_msg("%s: refused (%s)", g->what, err);
	if (in.len != g->n)
		fail_msg("%s: length %u, expected %u", g->what, in.len, g->n);
	if (in.kind != g->kind || in.mem_size != g->mem_size || in.reg != g->reg ||
	    in.high_byte != g->high_byte || in.imm != g->imm ||
	    (g->kind != INSN_STORE_IMM && in.reg_size != g->reg_size))
		fail_msg("%s: kind %d mem %u reg_size %u reg %u high %d imm 0x%llx", g->what, in.kind,
			 in.mem_size, in.reg_size, in.reg, in.high_byte, (unsigned long long)in.imm);
}

/* Exactly-sized heap copies, so any read past avail is caught. */
static void decode_exact(const uint8_t *bytes, unsigned avail, enum cpu_mode mode,
			 const char **err, struct insn *in)
{
	uint8_t *copy = malloc(avail);
	memcpy(copy, bytes, avail);
	*err = insn_decode(copy, avail, mode, in);
	free(copy);
}

static void test_supported_forms(void **state)
{
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(goods); i++) {
		const struct good *g = &goods[i];
		/* Exactly the instruction, and with more bytes after it. */
		uint8_t *copy = malloc(g->n);
		memcpy(copy, g->bytes, g->n);
		check_good(g, copy, g->n);
		free(copy);
		uint8_t more[32];
		memset(more, 0x90, sizeof(more));
		memcpy(more, g->bytes, g->n);
		check_good(g, more, sizeof(more));
	}
}

/* Cut short at every length: refused, and nothing read past avail. */
static void test_truncated_at_every_length(void **state)
{
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(goods); i++) {
		const struct good *g = &goods[i];
		for (unsigned n = 0; n < g->n; n++) {
			const char *err;
			struct insn in;
			decode_exact(g->bytes, n, g->mode, &err, &in);
			if (!err)
				fail_msg("%s cut to %u bytes was accepted (length %u)", g->what, n,
					 in.len);
		}
	}
}

struct bad {
	const char *what;
	enum cpu_mode mode;
	uint8_t bytes[16];
	unsigned n;
	const char *words;
};

#define B(what, mode, n, words, ...) { what, mode, { __VA_ARGS__ }, n, words }

static const struct bad bads[] = {
	B("rep movsb", M32, 2, "REP", 0xf3, 0xa4),
	B("F3 before a MOV", M32, 3, "REP", 0xf3, 0x89, 0x03),
	B("repne", M64, 3, "REP", 0xf2, 0x89, 0x03),
	B("16-bit addressing", M32, 3, "16-bit addressing", 0x67, 0x89, 0x03),
	B("16-bit addressing, moffs16", M32, 3, "16-bit addressing", 0x67, 0xa1, 0x00, 0x10),
	B("add [ebx], eax", M32, 2, "opcode not decoded", 0x01, 0x03),
	B("inc dword [ebx]", M32, 2, "opcode not decoded", 0xff, 0x03),
	B("movs", M32, 1, "opcode not decoded", 0xa4),
	B("REX in 32-bit mode is DEC", M32, 3, "opcode not decoded", 0x48, 0x89, 0x03),
	B("REX before a legacy prefix", M64, 4, "opcode not decoded", 0x48, 0x66, 0x89, 0x03),
	B("two REX prefixes", M64, 4, "opcode not decoded", 0x48, 0x48, 0x89, 0x03),
	B("movups", M32, 3, "two-byte opcode", 0x0f, 0x10, 0x03),
	B("movsx", M32, 3, "two-byte opcode", 0x0f, 0xbe, 0x03),
	B("mov eax, eax (89 C0)", M32, 2, "register operand", 0x89, 0xc0),
	B("mov al, bl (8A C3)", M32, 2, "register operand", 0x8a, 0xc3),
	B("movzx eax, bl", M32, 3, "register operand", 0x0f, 0xb6, 0xc3),
	B("mov eax, 1 (C7 C0)", M32, 6, "register operand", 0xc7, 0xc0, 1, 0, 0, 0),
	B("C7 /1", M32, 6, "reg field", 0xc7, 0x08, 1, 0, 0, 0),
	B("C6 /7", M32, 3, "reg field", 0xc6, 0x38, 1),
	B("C6 with a register operand", M32, 3, "register operand", 0xc6, 0xc0, 1),
	B("only prefixes", M32, 3, "truncated", 0x66, 0xf0, 0x2e),
	B("only REX", M64, 1, "truncated", 0x48),
	B("fifteen prefixes, then the opcode", M32, 16, "truncated", 0x66, 0x66, 0x66, 0x66, 0x66,
	  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x89),
	B("longer than 15 bytes", M64, 16, "truncated", 0x66, 0x66, 0x66, 0x66, 0x66, 0x48, 0xc7,
	  0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00),
	B("empty", M32, 0, "truncated", 0),
};

static void test_refusals(void **state)
{
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(bads); i++) {
		const struct bad *b = &bads[i];
		const char *err;
		struct insn in;
		decode_exact(b->bytes, b->n, b->mode, &err, &in);
		if (!err)
			fail_msg("%s: accepted (length %u)", b->what, in.len);
		if (!strstr(err, b->words))
			fail_msg("%s: refused with '%s', expected '%s'", b->what, err, b->words);
	}
}

/* C6/C7 cut inside the displacement: refused without reading the missing
 * immediate (the length check must not wrap). */
static void test_c7_cut_in_displacement(void **state)
{
	(void)state;
	static const uint8_t c7[] = { 0xc7, 0x05, 0x00, 0x10, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04 };
	static const uint8_t c6[] = { 0xc6, 0x80, 0x00, 0x10, 0x00, 0x00, 0x01 };
	for (unsigned n = 2; n < sizeof(c7); n++) {
		const char *err;
		struct insn in;
		decode_exact(c7, n, M32, &err, &in);
		assert_non_null(err);
		assert_non_null(strstr(err, "truncated"));
	}
	for (unsigned n = 2; n < sizeof(c6); n++) {
		const char *err;
		struct insn in;
		decode_exact(c6, n, M64, &err, &in);
		assert_non_null(err);
	}
}

/* --- Register-file rules ---------------------------------------------------- */

#define V 0x1122334455667788ULL

static uint64_t write_reg(unsigned reg, unsigned mem_size, unsigned reg_size, bool high,
			  uint64_t value)
{
	uint64_t gpr[16];
	for (unsigned i = 0; i < 16; i++)
		gpr[i] = V + i;
	struct insn in = { .kind = INSN_LOAD, .mem_size = mem_size, .reg_size = reg_size,
			   .reg = reg, .high_byte = high };
	insn_write_reg(gpr, &in, value);
	for (unsigned i = 0; i < 16; i++)
		if (i != reg)
			assert_int_equal(gpr[i], V + i); /* no other register touched */
	return gpr[reg];
}

static void test_write_reg_partial_rules(void **state)
{
	(void)state;
	/* 8-bit: the low byte only. */
	assert_int_equal(write_reg(0, 1, 1, false, 0xab), 0x11223344556677abULL);
	/* AH: byte 1 only. */
	assert_int_equal(write_reg(0, 1, 1, true, 0xab), (V & ~0xff00ULL) | 0xab00);
	assert_int_equal(write_reg(3, 1, 1, true, 0xab), ((V + 3) & ~0xff00ULL) | 0xab00);
	/* R12B, SPL: the low byte. */
	assert_int_equal(write_reg(12, 1, 1, false, 0xcd), ((V + 12) & ~0xffULL) | 0xcd);
	assert_int_equal(write_reg(4, 1, 1, false, 0xcd), ((V + 4) & ~0xffULL) | 0xcd);
	/* 16-bit: the low word only. */
	assert_int_equal(write_reg(1, 2, 2, false, 0xbeef), ((V + 1) & ~0xffffULL) | 0xbeef);
	/* 32-bit: zero-extended into the whole register. */
	assert_int_equal(write_reg(2, 4, 4, false, 0xdeadbeef), 0xdeadbeefULL);
	assert_int_equal(write_reg(9, 4, 4, false, 0xffffffffffffffffULL), 0xffffffffULL);
	/* 64-bit: all of it. */
	assert_int_equal(write_reg(15, 8, 8, false, 0xfedcba9876543210ULL), 0xfedcba9876543210ULL);
	/* The value is cut to the memory access size first. */
	assert_int_equal(write_reg(0, 1, 1, false, 0x1ff), 0x11223344556677ffULL);
	assert_int_equal(write_reg(0, 1, 1, true, 0x1ff), (V & ~0xff00ULL) | 0xff00);
	assert_int_equal(write_reg(1, 2, 2, false, 0x12345678), ((V + 1) & ~0xffffULL) | 0x5678);
	/* MOVZX: byte or word memory, zero-extended to the register size. */
	assert_int_equal(write_reg(0, 1, 4, false, 0xffffff80), 0x80);
	assert_int_equal(write_reg(0, 2, 8, false, 0xffff8000), 0x8000);
	assert_int_equal(write_reg(5, 1, 2, false, 0x1ff), ((V + 5) & ~0xffffULL) | 0xff);
}

static void test_decode_then_write(void **state)
{
	(void)state;
	uint64_t gpr[16];
	struct insn in;
	for (unsigned i = 0; i < 16; i++)
		gpr[i] = V;

	static const uint8_t mov_bh[] = { 0x8a, 0x7f, 0x05 }; /* mov bh, [edi+5] */
	assert_null(insn_decode(mov_bh, sizeof(mov_bh), M32, &in));
	insn_write_reg(gpr, &in, 0x42);
	assert_int_equal(gpr[3], (V & ~0xff00ULL) | 0x4200);
	assert_int_equal(gpr[7], V);

	static const uint8_t mov_sil[] = { 0x40, 0x8a, 0x37 }; /* mov sil, [rdi] */
	assert_null(insn_decode(mov_sil, sizeof(mov_sil), M64, &in));
	insn_write_reg(gpr, &in, 0x42);
	assert_int_equal(gpr[6], (V & ~0xffULL) | 0x42);

	static const uint8_t mov_r11d[] = { 0x44, 0x8b, 0x1f }; /* mov r11d, [rdi] */
	assert_null(insn_decode(mov_r11d, sizeof(mov_r11d), M64, &in));
	insn_write_reg(gpr, &in, 0xcafef00d);
	assert_int_equal(gpr[11], 0xcafef00d);

	static const uint8_t movzx_ax[] = { 0x66, 0x0f, 0xb6, 0x07 }; /* movzx ax, byte [edi] */
	assert_null(insn_decode(movzx_ax, sizeof(movzx_ax), M32, &in));
	insn_write_reg(gpr, &in, 0xfe);
	assert_int_equal(gpr[0], (V & ~0xffffULL) | 0xfe);
}

static void test_store_value(void **state)
{
	(void)state;
	uint64_t gpr[16];
	for (unsigned i = 0; i < 16; i++)
		gpr[i] = V + (uint64_t)i * 0x0101010101010101ULL;
	struct insn in = { .kind = INSN_STORE_REG };

	in.reg = 0, in.mem_size = 1;
	assert_int_equal(insn_store_value(gpr, &in), 0x88);
	in.high_byte = true; /* AH */
	assert_int_equal(insn_store_value(gpr, &in), 0x77);
	in.high_byte = false, in.reg = 13; /* R13B */
	assert_int_equal(insn_store_value(gpr, &in), (uint8_t)(V + 13 * 0x0101010101010101ULL));
	in.reg = 2, in.mem_size = 2;
	assert_int_equal(insn_store_value(gpr, &in), (V + 2 * 0x0101010101010101ULL) & 0xffff);
	in.mem_size = 4;
	assert_int_equal(insn_store_value(gpr, &in), (V + 2 * 0x0101010101010101ULL) & 0xffffffff);
	in.mem_size = 8;
	assert_int_equal(insn_store_value(gpr, &in), V + 2 * 0x0101010101010101ULL);

	/* An immediate store writes the (already extended) immediate. */
	in = (struct insn){ .kind = INSN_STORE_IMM, .mem_size = 8, .imm = 0xffffffff80000000ULL };
	assert_int_equal(insn_store_value(gpr, &in), 0xffffffff80000000ULL);

	/* Through the decoder: mov [rbx], ch; mov [rbx], bpl. */
	static const uint8_t mov_ch[] = { 0x88, 0x2b }, mov_bpl[] = { 0x40, 0x88, 0x2b };
	assert_null(insn_decode(mov_ch, sizeof(mov_ch), M64, &in));
	assert_int_equal(insn_store_value(gpr, &in), (uint8_t)((V + 0x0101010101010101ULL) >> 8));
	assert_null(insn_decode(mov_bpl, sizeof(mov_bpl), M64, &in));
	assert_int_equal(insn_store_value(gpr, &in), (uint8_t)(V + 5 * 0x0101010101010101ULL));
}

/* --- Random bytes ----------------------------------------------------------------- */

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* 200000 random byte strings (fixed seed), biased towards prefixes and the
 * opcodes the decoder knows: never a read past avail (ASan), a length within
 * avail, sane fields, and the same answer for exactly the reported bytes. */
static void test_random_bytes(void **state)
{
	(void)state;
	static const uint8_t interesting[] = { 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x64, 0x65, 0x40,
					       0x41, 0x44, 0x48, 0x4c, 0x4f, 0x88, 0x89, 0x8a, 0x8b,
					       0xc6, 0xc7, 0xa0, 0xa1, 0xa2, 0xa3, 0x0f, 0xb6, 0xb7,
					       0x04, 0x05, 0x25, 0x44, 0x84, 0x80, 0x00, 0xc0 };
	uint32_t seed = 20240601;
	unsigned ok = 0;
	for (unsigned iter = 0; iter < 200000; iter++) {
		uint8_t bytes[20];
		unsigned avail = lcg(&seed) % 18;
		for (unsigned i = 0; i < avail; i++) {
			uint32_t r = lcg(&seed);
			bytes[i] = (r & 1) ? interesting[(r >> 1) % sizeof(interesting)] : (uint8_t)(r >> 9);
		}
		enum cpu_mode mode = (lcg(&seed) & 1) ? M64 : M32;
		const char *err;
		struct insn in;
		decode_exact(bytes, avail, mode, &err, &in);
		if (err)
			continue;
		ok++;
		assert_true(in.len >= 1 && in.len <= avail && in.len <= INSN_MAX_LEN);
		assert_true(in.mem_size == 1 || in.mem_size == 2 || in.mem_size == 4 ||
			    in.mem_size == 8);
		assert_true(in.reg < 16);
		if (in.kind != INSN_STORE_IMM)
			assert_true(in.reg_size == 1 || in.reg_size == 2 || in.reg_size == 4 ||
				    in.reg_size == 8);
		if (in.high_byte)
			assert_true(in.reg < 4 && in.mem_size == 1);
		/* Exactly its own bytes decode the same; one fewer does not decode. */
		struct insn again;
		decode_exact(bytes, in.len, mode, &err, &again);
		assert_null(err);
		assert_memory_equal(&in, &again, sizeof(in));
		decode_exact(bytes, in.len - 1, mode, &err, &again);
		assert_non_null(err);
	}
	assert_true(ok > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_supported_forms),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_c7_cut_in_displacement),
		cmocka_unit_test(test_write_reg_partial_rules),
		cmocka_unit_test(test_decode_then_write),
		cmocka_unit_test(test_store_value),
		cmocka_unit_test(test_random_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
