#include "vm/insn_decode.h"
#include "lib/string.h"

/* Length of ModRM + SIB + displacement for 32/64-bit addressing
 * (SDM Vol. 2A 2.1.5, Tables 2-2 and 2-3). Register operands are refused:
 * an instruction that faulted on memory has a memory operand. */
static const char *modrm_length(const uint8_t *p, unsigned avail, unsigned *len)
{
	if (avail < 1)
		return "instruction truncated at ModRM";
	uint8_t modrm = p[0];
	unsigned mod = modrm >> 6, rm = modrm & 7, n = 1;
	if (mod == 3)
		return "register operand where memory was accessed";
	if (rm == 4) {
		if (avail < 2)
			return "instruction truncated at SIB";
		uint8_t sib = p[1];
		n++;
		if (mod == 0 && (sib & 7) == 5)
			n += 4;
	} else if (mod == 0 && rm == 5) {
		n += 4; /* disp32, or RIP-relative in 64-bit mode */
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	/* Callers compute avail - (position after ModRM): it must not wrap. */
	if (n > avail)
		return "instruction truncated in displacement";
	*len = n;
	return NULL;
}

static uint64_t read_imm(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;
	memcpy(&v, p, size);
	return v;
}

const char *insn_decode(const uint8_t *bytes, unsigned avail, enum cpu_mode mode, struct insn *out)
{
	unsigned i = 0;
	bool opsize = false, rex_w = false, rex_r = false, has_rex = false, addrsize = false;

	memset(out, 0, sizeof(*out));
	if (avail > INSN_MAX_LEN)
		avail = INSN_MAX_LEN;

	/* Legacy prefixes (SDM Vol. 2A 2.1.1). */
	for (; i < avail; i++) {
		uint8_t b = bytes[i];
		if (b == 0x66)
			opsize = true;
		else if (b == 0x67)
			addrsize = true;
		else if (b == 0xf0 || b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 ||
			 b == 0x65)
			continue; /* LOCK, segment overrides: the GPA is already known */
		else if (b == 0xf2 || b == 0xf3)
			return "REP/REPNE prefix (string instructions are not decoded yet)";
		else
			break;
	}
	/* REX must come last, and only in 64-bit mode (SDM 2.2.1). */
	if (mode == CPU_MODE_64 && i < avail && (bytes[i] & 0xf0) == 0x40) {
		has_rex = true;
		rex_w = bytes[i] & 8;
		rex_r = bytes[i] & 4;
		i++;
	}
	if (addrsize && mode == CPU_MODE_32)
		return "16-bit addressing (0x67 prefix in 32-bit mode)";
	if (i >= avail)
		return "instruction truncated in prefixes";

	unsigned opsz = rex_w ? 8 : opsize ? 2 : 4;
	uint8_t op = bytes[i++];
	unsigned mlen;
	const char *err;

	switch (op) {
	case 0x88: case 0x89: case 0x8a: case 0x8b: {
		bool byte = !(op & 1);
		if ((err = modrm_length(bytes + i, avail - i, &mlen)))
			return err;
		out->reg = ((bytes[i] >> 3) & 7) | (rex_r ? 8 : 0);
		out->mem_size = out->reg_size = byte ? 1 : opsz;
		out->high_byte = byte && !has_rex && out->reg >= 4;
		if (out->high_byte)
			out->reg -= 4;
		out->kind = op <= 0x89 ? INSN_STORE_REG : INSN_LOAD;
		i += mlen;
		break;
	}
	case 0xc6: case 0xc7: {
		if (avail - i < 1 || ((bytes[i] >> 3) & 7) != 0)
			return "opcode C6/C7 with a reg field other than 0 (not MOV)";
		if ((err = modrm_length(bytes + i, avail - i, &mlen)))
			return err;
		i += mlen;
		out->mem_size = op == 0xc6 ? 1 : opsz;
		unsigned immsz = op == 0xc6 ? 1 : (opsz == 2 ? 2 : 4);
		if (avail - i < immsz)
			return "instruction truncated in immediate";
		out->imm = read_imm(bytes + i, immsz);
		if (out->mem_size == 8 && (out->imm & BIT(31)))
			out->imm |= 0xffffffff00000000ULL; /* imm32 sign-extended */
		out->kind = INSN_STORE_IMM;
		i += immsz;
		break;
	}
	case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
		/* MOV AL/eAX <-> moffs: the offset is address-sized (SDM Vol. 2B MOV). */
		unsigned asz = mode == CPU_MODE_64 ? (addrsize ? 4 : 8) : 4;
		if (avail - i < asz)
			return "instruction truncated in memory offset";
		i += asz;
		out->reg = 0;
		out->mem_size = out->reg_size = (op & 1) ? opsz : 1;
		out->kind = op <= 0xa1 ? INSN_LOAD : INSN_STORE_REG;
		break;
	}
	case 0x0f: {
		if (i >= avail)
			return "instruction truncated after 0F";
		uint8_t op2 = bytes[i++];
		if (op2 != 0xb6 && op2 != 0xb7)
			return "two-byte opcode other than MOVZX";
		if ((err = modrm_length(bytes + i, avail - i, &mlen)))
			return err;
		out->reg = ((bytes[i] >> 3) & 7) | (rex_r ? 8 : 0);
		out->mem_size = op2 == 0xb6 ? 1 : 2;
		out->reg_size = opsz;
		out->kind = INSN_LOAD;
		i += mlen;
		break;
	}
	default:
		return "opcode not decoded for memory-mapped I/O";
	}
	if (i > avail)
		return "instruction truncated";
	out->len = i;
	return NULL;
}

void insn_write_reg(uint64_t *gpr, const struct insn *in, uint64_t value)
{
	uint64_t *r = &gpr[in->reg];
	value &= in->mem_size >= 8 ? ~0ULL : (1ULL << (in->mem_size * 8)) - 1;
	if (in->high_byte)
		*r = (*r & ~0xff00ULL) | ((value & 0xff) << 8);
	else if (in->reg_size == 1)
		*r = (*r & ~0xffULL) | value;
	else if (in->reg_size == 2)
		*r = (*r & ~0xffffULL) | (value & 0xffff);
	else
		*r = value; /* 32-bit writes zero-extend (SDM Vol. 1 3.4.1.1) */
}

uint64_t insn_store_value(const uint64_t *gpr, const struct insn *in)
{
	if (in->kind == INSN_STORE_IMM)
		return in->imm;
	uint64_t v = gpr[in->reg];
	if (in->high_byte)
		v >>= 8;
	return v & (in->mem_size >= 8 ? ~0ULL : (1ULL << (in->mem_size * 8)) - 1);
}
