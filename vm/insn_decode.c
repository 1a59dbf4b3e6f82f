#include "vm/insn_decode.h"
#include "lib/string.h"

/* Register numbers (SDM Vol. 2A 2.1.5, Table 2-2; REX.R/X/B add 8). */
enum { REG_RAX = 0, REG_RCX = 1, REG_RSP = 4, REG_RBP = 5, REG_RSI = 6, REG_RDI = 7 };

/* --- Reading the bytes ----------------------------------------------------------------- */

/* The bytes of one instruction; pos <= avail always, so avail - pos never wraps. */
struct cursor {
	const uint8_t *bytes;
	unsigned pos, avail;
	bool capped; /* more bytes were given than an instruction may have */
};

/* Take n (<= 8) little-endian bytes, or return false if they are not there. */
static bool take(struct cursor *c, unsigned n, uint64_t *value)
{
	if (n > c->avail - c->pos)
		return false;
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)c->bytes[c->pos + i] << (8 * i);
	c->pos += n;
	*value = v;
	return true;
}

/* Why an instruction ran out of bytes: the 15-byte limit (SDM Vol. 2A
 * 2.3.11: a longer instruction raises #GP), or the end of what was given. */
static const char *truncated(const struct cursor *c, const char *where)
{
	return c->capped ? "instruction longer than 15 bytes (the CPU raises #GP)" : where;
}

/* --- Prefixes (SDM Vol. 2A 2.1.1 legacy prefixes, 2.2.1 REX) ----------------------- */

struct prefixes {
	bool opsize;   /* 66 */
	bool addrsize; /* 67 */
	bool lock;     /* F0 */
	bool repne;    /* F2 */
	bool rep;      /* F3 */
	int seg;       /* 26 2E 36 3E 64 65 as enum insn_seg, or -1 */
	bool rex, rex_w, rex_r, rex_x, rex_b;
};

static int segment_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: return INSN_SEG_ES;
	case 0x2e: return INSN_SEG_CS;
	case 0x36: return INSN_SEG_SS;
	case 0x3e: return INSN_SEG_DS;
	case 0x64: return INSN_SEG_FS;
	case 0x65: return INSN_SEG_GS;
	default: return -1;
	}
}

static bool is_legacy_prefix(uint8_t b)
{
	return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || segment_prefix(b) >= 0;
}

static const char *decode_prefixes(struct cursor *c, enum cpu_mode mode, struct prefixes *px)
{
	memset(px, 0, sizeof(*px));
	px->seg = -1;
	for (;;) {
		if (c->pos == c->avail)
			return truncated(c, "instruction truncated in prefixes");
		uint8_t b = c->bytes[c->pos];
		int seg = segment_prefix(b);
		if (b == 0x66)
			px->opsize = true;
		else if (b == 0x67)
			px->addrsize = true;
		else if (b == 0xf0)
			px->lock = true;
		else if (b == 0xf2)
			px->repne = true;
		else if (b == 0xf3)
			px->rep = true;
		else if (seg >= 0) {
			/* The SDM gives no meaning to two different prefixes of
			 * one group (2.1.1): refuse rather than pick one. */
			if (px->seg >= 0 && px->seg != seg)
				return "two different segment-override prefixes";
			px->seg = seg;
		} else
			break;
		c->pos++;
	}
	if (px->rep && px->repne)
		return "both REP (F3) and REPNE (F2) prefixes";
	/* REX (40-4F) exists only in 64-bit mode, where it must come right
	 * before the opcode (2.2.1); in 32-bit code 40-4F are INC/DEC. */
	if (mode == CPU_MODE_64 && (c->bytes[c->pos] & 0xf0) == 0x40) {
		uint8_t rex = c->bytes[c->pos++];
		px->rex = true;
		px->rex_w = rex & 8;
		px->rex_r = rex & 4;
		px->rex_x = rex & 2;
		px->rex_b = rex & 1;
		if (c->pos == c->avail)
			return truncated(c, "instruction truncated after the REX prefix");
		uint8_t next = c->bytes[c->pos];
		if (is_legacy_prefix(next) || (next & 0xf0) == 0x40)
			return "REX prefix not immediately before the opcode";
	}
	return NULL;
}

/* --- Operands ---------------------------------------------------------------------------- */

/* ModRM, SIB and displacement of a memory operand with 32- or 64-bit
 * addressing (SDM Vol. 2A 2.1.5 Tables 2-2 and 2-3, 2.2.1.3 for REX.B/X and
 * 2.2.1.6 for RIP-relative addressing). *field is the ModRM reg field, without
 * REX.R: a register number or an opcode extension (/digit). A register operand
 * (mod = 3) is refused: an instruction that faulted on memory has a memory
 * operand. The default segment is SS for an rSP or rBP base, DS otherwise
 * (SDM Vol. 1 3.7.4). */
static const char *decode_modrm(struct cursor *c, enum cpu_mode mode, const struct prefixes *px,
				struct insn *out, unsigned *field)
{
	uint64_t modrm, sib, disp;
	if (!take(c, 1, &modrm))
		return truncated(c, "instruction truncated at ModRM");
	unsigned mod = modrm >> 6, rm = modrm & 7;
	*field = (modrm >> 3) & 7;
	if (mod == 3)
		return "register operand where memory was accessed";

	unsigned disp_size = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	out->base = out->index = INSN_NO_REG;
	out->scale = 1;
	if (rm == 4) {
		if (!take(c, 1, &sib))
			return truncated(c, "instruction truncated at SIB");
		unsigned base = sib & 7, index = ((sib >> 3) & 7) | (px->rex_x ? 8 : 0);
		out->scale = 1u << (sib >> 6);
		if (index != REG_RSP) /* SIB index 100 is "none"; with REX.X it is R12 */
			out->index = (int)index;
		if (base == REG_RBP && mod == 0)
			disp_size = 4; /* no base: disp32 */
		else
			out->base = (int)(base | (px->rex_b ? 8 : 0));
	} else if (rm == 5 && mod == 0) {
		disp_size = 4; /* disp32; RIP-relative in 64-bit mode */
		out->rip_relative = mode == CPU_MODE_64;
	} else {
		out->base = (int)(rm | (px->rex_b ? 8 : 0));
	}
	if (!take(c, disp_size, &disp))
		return truncated(c, "instruction truncated in displacement");
	out->disp = disp_size ? (int64_t)insn_sign_extend(disp, disp_size) : 0;
	bool stack = out->base == REG_RSP || out->base == REG_RBP;
	out->seg = px->seg >= 0 ? (enum insn_seg)px->seg : stack ? INSN_SEG_SS : INSN_SEG_DS;
	out->seg_override = px->seg >= 0;
	return NULL;
}

/* The register operand named by a ModRM reg field (REX.R adds 8). Without
 * REX, byte registers 4-7 are AH, CH, DH, BH; with any REX they are SPL, BPL,
 * SIL, DIL (SDM Vol. 2A 2.2.1.2). */
static void set_reg(struct insn *out, const struct prefixes *px, unsigned field, unsigned size)
{
	out->reg = field | (px->rex_r ? 8 : 0);
	out->reg_size = size;
	out->high_byte = size == 1 && !px->rex && out->reg >= 4;
	if (out->high_byte)
		out->reg -= 4;
}

/* An immediate of imm_size bytes, sign-extended to the operand size when it
 * is shorter (imm8 of 83, imm32 of 64-bit operations), and cut to it. */
static const char *take_imm(struct cursor *c, unsigned imm_size, unsigned op_size, struct insn *out)
{
	uint64_t v;
	if (!take(c, imm_size, &v))
		return truncated(c, "instruction truncated in immediate");
	out->has_imm = true;
	out->imm = insn_zero_extend(insn_sign_extend(v, imm_size), op_size);
	return NULL;
}

/* --- Opcodes ----------------------------------------------------------------------------- */

struct decoder {
	struct cursor c;
	enum cpu_mode mode;
	struct prefixes px;
	unsigned opsz; /* operand size of the non-byte forms: 2, 4 or 8 */
};

/* Forms with ModRM and a register operand: op r/m, reg or op reg, r/m. */
static const char *modrm_and_reg(struct decoder *d, struct insn *out, unsigned size)
{
	unsigned field;
	const char *err = decode_modrm(&d->c, d->mode, &d->px, out, &field);
	if (err)
		return err;
	out->mem_size = size;
	set_reg(out, &d->px, field, size);
	return NULL;
}

/* 00-3B: the eight ALU operations, r/m,reg (even bit 1) and reg,r/m. */
static const char *decode_alu_rm(struct decoder *d, uint8_t op, struct insn *out)
{
	out->alu = (enum insn_alu)(op >> 3);
	out->op = out->alu == INSN_ALU_CMP ? INSN_CMP : INSN_ALU;
	out->dst_is_reg = op & 2;
	return modrm_and_reg(d, out, (op & 1) ? d->opsz : 1);
}

/* 80-83: group 1, r/m op imm (SDM Vol. 2D Table A-6). */
static const char *decode_group1(struct decoder *d, uint8_t op, struct insn *out)
{
	unsigned field, size = (op == 0x81 || op == 0x83) ? d->opsz : 1;
	unsigned imm_size = op == 0x81 ? (d->opsz == 2 ? 2 : 4) : 1;
	const char *err = decode_modrm(&d->c, d->mode, &d->px, out, &field);
	if (err)
		return err;
	out->alu = (enum insn_alu)field;
	out->op = out->alu == INSN_ALU_CMP ? INSN_CMP : INSN_ALU;
	out->mem_size = size;
	return take_imm(&d->c, imm_size, size, out);
}

/* F6, F7: group 3. Only /0, TEST r/m, imm. */
static const char *decode_group3(struct decoder *d, uint8_t op, struct insn *out)
{
	unsigned field, size = op == 0xf7 ? d->opsz : 1;
	const char *err = decode_modrm(&d->c, d->mode, &d->px, out, &field);
	if (err)
		return err;
	if (field == 1)
		return "F6/F7 /1 (an undocumented alias of TEST) is not decoded";
	if (field != 0)
		return "NOT, NEG, MUL, IMUL, DIV, IDIV (F6/F7 /2-/7) are not decoded";
	out->op = INSN_TEST;
	out->alu = INSN_ALU_AND;
	out->mem_size = size;
	return take_imm(&d->c, size == 1 ? 1 : size == 2 ? 2 : 4, size, out);
}

/* C6 /0, C7 /0: MOV r/m, imm. */
static const char *decode_mov_imm(struct decoder *d, uint8_t op, struct insn *out)
{
	unsigned field, size = op == 0xc7 ? d->opsz : 1;
	/* The reg field is checked first: C6 F8 and C7 F8 are XABORT and XBEGIN. */
	if (d->c.pos < d->c.avail && ((d->c.bytes[d->c.pos] >> 3) & 7) != 0)
		return "opcode C6/C7 with a reg field other than 0 (not MOV)";
	const char *err = decode_modrm(&d->c, d->mode, &d->px, out, &field);
	if (err)
		return err;
	out->op = INSN_MOV_STORE;
	out->mem_size = size;
	return take_imm(&d->c, size == 1 ? 1 : size == 2 ? 2 : 4, size, out);
}

/* A0-A3: MOV AL/eAX <-> moffs. The offset is address-sized: 8 bytes in
 * 64-bit mode ("MOVABS"), 4 with 67 or in 32-bit code (SDM Vol. 2B MOV). */
static const char *decode_moffs(struct decoder *d, uint8_t op, struct insn *out)
{
	uint64_t moffs;
	if (!take(&d->c, out->addr_size, &moffs))
		return truncated(&d->c, "instruction truncated in memory offset");
	out->op = op <= 0xa1 ? INSN_MOV_LOAD : INSN_MOV_STORE;
	out->mem_size = out->reg_size = (op & 1) ? d->opsz : 1;
	out->reg = REG_RAX;
	out->base = out->index = INSN_NO_REG;
	out->scale = 1;
	out->disp = (int64_t)moffs;
	out->seg = d->px.seg >= 0 ? (enum insn_seg)d->px.seg : INSN_SEG_DS;
	out->seg_override = d->px.seg >= 0;
	return NULL;
}

/* A4 A5 MOVS, AA AB STOS: no ModRM. The destination is always ES:rDI; a
 * segment prefix applies to the source of MOVS only (SDM Vol. 2B MOVS, STOS). */
static const char *decode_string(struct insn *out, const struct decoder *d, uint8_t op)
{
	out->op = op <= 0xa5 ? INSN_MOVS : INSN_STOS;
	out->mem_size = (op & 1) ? d->opsz : 1;
	out->base = out->index = INSN_NO_REG;
	out->scale = 1;
	out->rep = d->px.rep;
	if (out->op == INSN_STOS) {
		out->reg = REG_RAX;
		out->reg_size = out->mem_size;
		out->seg = INSN_SEG_ES;
	} else {
		out->seg = d->px.seg >= 0 ? (enum insn_seg)d->px.seg : INSN_SEG_DS;
		out->seg_override = d->px.seg >= 0;
	}
	return NULL;
}

/* 0F xx: MOVZX, MOVSX, BT. */
static const char *decode_0f(struct decoder *d, struct insn *out)
{
	uint64_t op2;
	unsigned field;
	const char *err;
	if (!take(&d->c, 1, &op2))
		return truncated(&d->c, "instruction truncated after 0F");
	switch (op2) {
	case 0xb6: case 0xb7: case 0xbe: case 0xbf:
		/* MOVZX/MOVSX reg, r/m8 or r/m16: the register is the
		 * destination, in the operand size. */
		out->op = op2 <= 0xb7 ? INSN_MOVZX : INSN_MOVSX;
		if ((err = modrm_and_reg(d, out, d->opsz)))
			return err;
		out->mem_size = (op2 & 1) ? 2 : 1;
		return NULL;
	case 0xa3: /* BT r/m, reg */
		out->op = INSN_BT;
		return modrm_and_reg(d, out, d->opsz);
	case 0xba: /* group 8: BT r/m, imm8 is /4 */
		if ((err = decode_modrm(&d->c, d->mode, &d->px, out, &field)))
			return err;
		if (field < 4)
			return "0F BA /0-/3 is undefined (the CPU raises #UD)";
		if (field > 4)
			return "BTS, BTR, BTC (0F BA /5-/7) are not decoded";
		out->op = INSN_BT;
		out->mem_size = d->opsz;
		uint64_t imm;
		if (!take(&d->c, 1, &imm))
			return truncated(&d->c, "instruction truncated in immediate");
		out->has_imm = true;
		out->imm = imm; /* a bit offset: not sign-extended */
		return NULL;
	case 0xab: case 0xb3: case 0xbb:
		return "BTS, BTR, BTC (0F AB, 0F B3, 0F BB) are not decoded";
	default:
		return "two-byte opcode other than MOVZX, MOVSX and BT";
	}
}

static const char *decode_opcode(struct decoder *d, uint8_t op, struct insn *out)
{
	if (op < 0x40 && (op & 7) < 4)
		return decode_alu_rm(d, op, out);
	switch (op) {
	case 0x0f:
		return decode_0f(d, out);
	case 0x63: {
		if (d->mode == CPU_MODE_32)
			return "ARPL (63 in 32-bit code) is not decoded";
		if (!d->px.rex_w)
			return "MOVSXD without REX.W (a plain 32- or 16-bit move) is not decoded";
		out->op = INSN_MOVSX; /* MOVSXD r64, r/m32 */
		const char *err = modrm_and_reg(d, out, 8);
		out->mem_size = 4;
		return err;
	}
	case 0x82:
		if (d->mode == CPU_MODE_64)
			return "opcode 82 is invalid in 64-bit mode (the CPU raises #UD)";
		return decode_group1(d, op, out);
	case 0x80: case 0x81: case 0x83:
		return decode_group1(d, op, out);
	case 0x84: case 0x85:
		out->op = INSN_TEST;
		out->alu = INSN_ALU_AND;
		return modrm_and_reg(d, out, (op & 1) ? d->opsz : 1);
	case 0x86: case 0x87:
		out->op = INSN_XCHG;
		return modrm_and_reg(d, out, (op & 1) ? d->opsz : 1);
	case 0x88: case 0x89: case 0x8a: case 0x8b:
		out->op = op <= 0x89 ? INSN_MOV_STORE : INSN_MOV_LOAD;
		return modrm_and_reg(d, out, (op & 1) ? d->opsz : 1);
	case 0xa0: case 0xa1: case 0xa2: case 0xa3:
		return decode_moffs(d, op, out);
	case 0xa4: case 0xa5: case 0xaa: case 0xab:
		return decode_string(out, d, op);
	case 0xc6: case 0xc7:
		return decode_mov_imm(d, op, out);
	case 0xf6: case 0xf7:
		return decode_group3(d, op, out);
	case 0xa6: case 0xa7: case 0xac: case 0xad: case 0xae: case 0xaf:
		return "CMPS, LODS, SCAS are not decoded";
	default:
		return "opcode not decoded for memory-mapped I/O";
	}
}

/* Prefixes the decoded instruction does not allow. LOCK: only on the ALU
 * operations but CMP with a memory destination, and XCHG; elsewhere the
 * CPU raises #UD (SDM Vol. 2A LOCK). REP: only on MOVS and STOS here; REPNE
 * and F2/F3 elsewhere (string compares, XACQUIRE/XRELEASE hints, mandatory
 * prefixes) are refused. */
static const char *check_prefixes(const struct prefixes *px, const struct insn *in)
{
	bool string = in->op == INSN_MOVS || in->op == INSN_STOS;
	if (px->lock && !(in->op == INSN_XCHG || (in->op == INSN_ALU && !in->dst_is_reg)))
		return "LOCK prefix on an instruction that does not allow it (the CPU raises #UD)";
	if (px->repne && string)
		return "REPNE prefix on MOVS/STOS is not decoded";
	if ((px->rep || px->repne) && !string)
		return "REP/REPNE prefix on an instruction other than MOVS/STOS";
	return NULL;
}

const char *insn_decode(const uint8_t *bytes, unsigned avail, enum cpu_mode mode, struct insn *out)
{
	struct decoder d = { .c = { bytes, 0, MIN(avail, INSN_MAX_LEN), avail > INSN_MAX_LEN },
			     .mode = mode };
	const char *err;

	memset(out, 0, sizeof(*out));
	if ((err = decode_prefixes(&d.c, mode, &d.px)))
		return err;
	if (d.px.addrsize && mode == CPU_MODE_32)
		return "16-bit addressing (0x67 prefix in 32-bit mode) is not decoded";
	out->addr_size = mode == CPU_MODE_64 && !d.px.addrsize ? 8 : 4;
	/* REX.W wins over 66 (SDM Vol. 2A 2.2.1.2). */
	d.opsz = d.px.rex_w ? 8 : d.px.opsize ? 2 : 4;
	out->lock = d.px.lock;

	uint64_t op;
	if (!take(&d.c, 1, &op))
		return truncated(&d.c, "instruction truncated in prefixes");
	if ((err = decode_opcode(&d, (uint8_t)op, out)))
		return err;
	if ((err = check_prefixes(&d.px, out)))
		return err;
	out->len = d.c.pos;
	return NULL;
}

const char *insn_op_name(enum insn_op op)
{
	static const char *const names[] = {
		[INSN_MOV_LOAD] = "MOV (load)", [INSN_MOV_STORE] = "MOV (store)",
		[INSN_MOVZX] = "MOVZX",         [INSN_MOVSX] = "MOVSX",
		[INSN_MOVS] = "MOVS",           [INSN_STOS] = "STOS",
		[INSN_ALU] = "ALU",             [INSN_CMP] = "CMP",
		[INSN_TEST] = "TEST",           [INSN_BT] = "BT",
		[INSN_XCHG] = "XCHG",
	};
	return (unsigned)op < ARRAY_SIZE(names) ? names[op] : "?";
}

const char *insn_alu_name(enum insn_alu alu)
{
	static const char *const names[] = { "ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP" };
	return (unsigned)alu < ARRAY_SIZE(names) ? names[alu] : "?";
}

/* --- Carrying an instruction out ------------------------------------------------------- */

uint64_t insn_zero_extend(uint64_t v, unsigned size)
{
	return size >= 8 ? v : v & ((1ULL << (size * 8)) - 1);
}

uint64_t insn_sign_extend(uint64_t v, unsigned size)
{
	if (size >= 8)
		return v;
	uint64_t sign = 1ULL << (size * 8 - 1);
	v = insn_zero_extend(v, size);
	return (v ^ sign) - sign;
}

uint64_t insn_read_reg(const uint64_t *gpr, const struct insn *in)
{
	uint64_t v = gpr[in->reg & 15];
	if (in->high_byte)
		v >>= 8;
	return insn_zero_extend(v, in->reg_size);
}

void insn_write_reg(uint64_t *gpr, const struct insn *in, uint64_t value)
{
	uint64_t *r = &gpr[in->reg & 15];
	value = in->op == INSN_MOVSX ? insn_sign_extend(value, in->mem_size)
				     : insn_zero_extend(value, in->mem_size);
	if (in->high_byte)
		*r = (*r & ~0xff00ULL) | ((value & 0xff) << 8);
	else if (in->reg_size == 1)
		*r = (*r & ~0xffULL) | (value & 0xff);
	else if (in->reg_size == 2)
		*r = (*r & ~0xffffULL) | (value & 0xffff);
	else if (in->reg_size == 4)
		*r = value & 0xffffffffULL; /* 32-bit writes zero-extend (SDM Vol. 1 3.4.1.1) */
	else if (in->reg_size == 8)
		*r = value;
}

uint64_t insn_store_value(const uint64_t *gpr, const struct insn *in)
{
	return insn_zero_extend(in->has_imm ? in->imm : insn_read_reg(gpr, in), in->mem_size);
}

/* PF: set when the low byte of the result has an even number of 1 bits. */
static bool parity_even(uint64_t v)
{
	uint8_t b = (uint8_t)v;
	b ^= b >> 4;
	b ^= b >> 2;
	b ^= b >> 1;
	return !(b & 1);
}

uint64_t insn_alu(enum insn_alu alu, unsigned size, uint64_t dst, uint64_t src, uint64_t *rflags)
{
	const uint64_t sign = 1ULL << (size * 8 - 1);
	uint64_t carry_in = (*rflags & RFLAGS_CF) ? 1 : 0, res;
	bool cf = false, of = false, af = false;

	dst = insn_zero_extend(dst, size);
	src = insn_zero_extend(src, size);
	switch (alu) {
	case INSN_ALU_ADD:
	case INSN_ALU_ADC: {
		uint64_t c = alu == INSN_ALU_ADC ? carry_in : 0;
		res = insn_zero_extend(dst + src + c, size);
		/* Carry out: the sum wrapped below dst (to dst itself with a carry in). */
		cf = c ? res <= dst : res < dst;
		/* Overflow: both operands of one sign, the result of the other. */
		of = ~(dst ^ src) & (dst ^ res) & sign;
		af = (dst ^ src ^ res) & 0x10;
		break;
	}
	case INSN_ALU_SUB:
	case INSN_ALU_SBB:
	case INSN_ALU_CMP: {
		uint64_t b = alu == INSN_ALU_SBB ? carry_in : 0;
		res = insn_zero_extend(dst - src - b, size);
		/* Borrow: src (plus the borrow in) exceeds dst. */
		cf = b ? dst <= src : dst < src;
		/* Overflow: operands of different signs, result of src's sign. */
		of = (dst ^ src) & (dst ^ res) & sign;
		af = (dst ^ src ^ res) & 0x10;
		break;
	}
	case INSN_ALU_AND:
		res = dst & src;
		break;
	case INSN_ALU_OR:
		res = dst | src;
		break;
	case INSN_ALU_XOR:
		res = dst ^ src;
		break;
	default:
		res = dst;
		break;
	}
	uint64_t f = *rflags & ~RFLAGS_STATUS;
	f |= cf ? RFLAGS_CF : 0;
	f |= parity_even(res) ? RFLAGS_PF : 0;
	f |= af ? RFLAGS_AF : 0;
	f |= res == 0 ? RFLAGS_ZF : 0;
	f |= (res & sign) ? RFLAGS_SF : 0;
	f |= of ? RFLAGS_OF : 0;
	*rflags = f;
	return res;
}

void insn_bt_locate(const struct insn *in, const uint64_t *gpr, int64_t *byte_offset, unsigned *bit)
{
	unsigned width = in->mem_size * 8;
	if (in->has_imm) {
		*bit = (unsigned)(in->imm & (width - 1));
		*byte_offset = 0;
		return;
	}
	/* A register offset is a signed number of bits: floor division by
	 * the width is an arithmetic shift. */
	int64_t offset = (int64_t)insn_sign_extend(insn_read_reg(gpr, in), in->reg_size);
	unsigned shift = width == 16 ? 4 : width == 32 ? 5 : 6;
	*bit = (unsigned)((uint64_t)offset & (width - 1));
	/* offset >> shift, rounding down, without shifting a negative number. */
	int64_t element = offset >= 0 ? offset >> shift : -(int64_t)(((uint64_t)-(offset + 1) >> shift) + 1);
	*byte_offset = element * (int64_t)in->mem_size;
}

bool insn_reads_memory(const struct insn *in)
{
	return in->op != INSN_MOV_STORE && in->op != INSN_STOS;
}

bool insn_writes_memory(const struct insn *in)
{
	switch (in->op) {
	case INSN_MOV_STORE: case INSN_MOVS: case INSN_STOS: case INSN_XCHG:
		return true;
	case INSN_ALU:
		return !in->dst_is_reg;
	default:
		return false;
	}
}

bool insn_execute(const struct insn *in, uint64_t *gpr, uint64_t *rflags, uint64_t mem_value,
		  uint64_t *store)
{
	uint64_t mem = insn_zero_extend(mem_value, in->mem_size);
	/* The operand that is not memory: the immediate or the register. */
	uint64_t other = in->has_imm ? in->imm : insn_read_reg(gpr, in);
	int64_t byte_offset;
	unsigned bit;

	switch (in->op) {
	case INSN_MOV_LOAD:
	case INSN_MOVZX:
	case INSN_MOVSX:
		insn_write_reg(gpr, in, mem);
		return false;
	case INSN_MOV_STORE:
	case INSN_STOS:
		*store = insn_store_value(gpr, in);
		return true;
	case INSN_MOVS:
		*store = mem;
		return true;
	case INSN_ALU:
		if (in->dst_is_reg) {
			insn_write_reg(gpr, in, insn_alu(in->alu, in->mem_size, other, mem, rflags));
			return false;
		}
		*store = insn_alu(in->alu, in->mem_size, mem, other, rflags);
		return true;
	case INSN_CMP:
	case INSN_TEST:
		if (in->dst_is_reg)
			insn_alu(in->alu, in->mem_size, other, mem, rflags);
		else
			insn_alu(in->alu, in->mem_size, mem, other, rflags);
		return false;
	case INSN_BT:
		/* CF is the bit; ZF is kept; OF, SF, AF, PF are undefined and
		 * kept as they were (SDM Vol. 2A BT, Flags Affected). */
		insn_bt_locate(in, gpr, &byte_offset, &bit);
		*rflags = (*rflags & ~RFLAGS_CF) | (((mem >> bit) & 1) ? RFLAGS_CF : 0);
		return false;
	case INSN_XCHG:
		*store = other;
		insn_write_reg(gpr, in, mem);
		return true;
	}
	return false;
}

uint64_t insn_effective_address(const struct insn *in, const uint64_t *gpr, uint64_t rip)
{
	uint64_t ea;
	if (in->op == INSN_MOVS)
		ea = gpr[REG_RSI];
	else if (in->op == INSN_STOS)
		ea = gpr[REG_RDI];
	else {
		ea = (uint64_t)in->disp;
		if (in->base != INSN_NO_REG)
			ea += gpr[in->base & 15];
		if (in->index != INSN_NO_REG)
			ea += gpr[in->index & 15] * in->scale;
		if (in->rip_relative)
			ea += rip + in->len;
	}
	return insn_zero_extend(ea, in->addr_size);
}

uint64_t insn_rep_count(const struct insn *in, const uint64_t *gpr)
{
	return in->rep ? insn_zero_extend(gpr[REG_RCX], in->addr_size) : 1;
}

/* Write an address-sized register: 32-bit updates zero the upper half. */
static void set_addr_reg(uint64_t *gpr, unsigned reg, const struct insn *in, uint64_t v)
{
	gpr[reg] = insn_zero_extend(v, in->addr_size);
}

void insn_string_advance(const struct insn *in, uint64_t *gpr, uint64_t rflags, uint64_t n)
{
	uint64_t step = n * in->mem_size;
	if (rflags & RFLAGS_DF)
		step = -step;
	if (in->op == INSN_MOVS)
		set_addr_reg(gpr, REG_RSI, in, gpr[REG_RSI] + step);
	set_addr_reg(gpr, REG_RDI, in, gpr[REG_RDI] + step);
	if (in->rep)
		set_addr_reg(gpr, REG_RCX, in, gpr[REG_RCX] - n);
}
