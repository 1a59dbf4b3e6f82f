/* Decoding the instruction behind an MMIO or unmapped-memory access
 * (an EPT violation tells us the address, not what the guest did).
 * This first version knows the forms compilers emit for plain device access:
 * MOV to and from memory in every width (88, 89, 8A, 8B, C6, C7, A0-A3) and
 * MOVZX (0F B6, 0F B7), with operand-size, segment, LOCK and REX prefixes.
 * Anything else is refused, never guessed. Pure logic: unit-tested. */
#ifndef VM_INSN_DECODE_H
#define VM_INSN_DECODE_H

#include "lib/types.h"

#define INSN_MAX_LEN 15

enum cpu_mode { CPU_MODE_32, CPU_MODE_64 };

enum insn_kind {
	INSN_LOAD,       /* reg <- mem, zero-extended to the register size when zext */
	INSN_STORE_REG,  /* mem <- reg */
	INSN_STORE_IMM,  /* mem <- imm */
};

struct insn {
	enum insn_kind kind;
	unsigned len;          /* bytes, prefixes included */
	unsigned mem_size;     /* bytes accessed in memory: 1, 2, 4, 8 */
	unsigned reg_size;     /* bytes of the register written or read */
	unsigned reg;          /* register number, 0..15 */
	bool high_byte;        /* AH/CH/DH/BH: byte 1 of register reg */
	uint64_t imm;
};

/* Returns NULL on success or why the bytes were refused. */
const char *insn_decode(const uint8_t *bytes, unsigned avail, enum cpu_mode mode, struct insn *out);

/* Apply a load's result to a register file indexed by x86 register number,
 * with x86's partial-register rules (32-bit writes zero the upper half). */
void insn_write_reg(uint64_t *gpr, const struct insn *in, uint64_t value);
/* The value a store writes. */
uint64_t insn_store_value(const uint64_t *gpr, const struct insn *in);

#endif
