/* Decoding the instruction behind an MMIO or unmapped-memory access
 * (an EPT violation tells us the address, not what the guest did), and the
 * pure arithmetic needed to carry it out.
 *
 * The decoder knows the forms compilers emit for device access, in 32-bit
 * code and in 64-bit mode (SDM Vol. 2A chapter 2 for the encoding, Vol. 2B
 * and 2C for each instruction):
 *   MOV     88 89 8A 8B (r/m <-> reg), C6 /0 C7 /0 (r/m <- imm),
 *           A0-A3 (AL/eAX <-> moffs, moffs64 in 64-bit mode: "MOVABS")
 *   MOVZX   0F B6, 0F B7          MOVSX  0F BE, 0F BF
 *   MOVSXD  REX.W 63              MOVS   A4 A5     STOS  AA AB  (with F3: REP)
 *   ADD OR ADC SBB AND SUB XOR CMP   00-3B (r/m,reg and reg,r/m),
 *           80 /n, 81 /n, 83 /n, and 82 /n in 32-bit code (r/m,imm)
 *   TEST    84 85, F6 /0, F7 /0   BT   0F A3, 0F BA /4    XCHG  86 87
 * with the prefixes 66 (operand size), 67 (address size: 32-bit addressing
 * in 64-bit mode; 16-bit addressing is refused), REX (W, R, X, B), segment
 * overrides (reported), LOCK (where the SDM allows it) and F3 on MOVS/STOS.
 * Anything else is refused with a reason, never guessed.
 * Pure logic: unit-tested, and fuzzed (tests/fuzz/fuzz_decode.c). */
#ifndef VM_INSN_DECODE_H
#define VM_INSN_DECODE_H

#include "lib/types.h"
#include "arch/x86/cpu.h"

/* An instruction is at most 15 bytes, prefixes included (SDM Vol. 2A 2.3.11). */
#define INSN_MAX_LEN 15

/* RFLAGS status flags (SDM Vol. 1 3.4.3.1) and AC (3.4.3.3); arch/x86/cpu.h
 * has CF, ZF and DF. */
#ifndef RFLAGS_PF
#define RFLAGS_PF BIT(2)
#endif
#ifndef RFLAGS_AF
#define RFLAGS_AF BIT(4)
#endif
#ifndef RFLAGS_SF
#define RFLAGS_SF BIT(7)
#endif
#ifndef RFLAGS_OF
#define RFLAGS_OF BIT(11)
#endif
#ifndef RFLAGS_AC
#define RFLAGS_AC BIT(18)
#endif
#define RFLAGS_STATUS (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

/* The code the instruction belongs to: 32-bit protected mode or compatibility
 * mode with CS.D = 1, or 64-bit mode (CS.L = 1 in IA-32e mode). 16-bit code
 * segments (real mode, CS.D = 0) are not decoded. */
enum cpu_mode { CPU_MODE_32, CPU_MODE_64 };

/* What the instruction does with its memory operand. "reg" is the register
 * operand, "imm" the immediate; each comes with its size in struct insn. */
enum insn_op {
	INSN_MOV_LOAD,  /* reg <- mem                                  8A 8B A0 A1 */
	INSN_MOV_STORE, /* mem <- reg, or mem <- imm when has_imm       88 89 A2 A3 C6 C7 */
	INSN_MOVZX,     /* reg <- zero-extended mem                     0F B6, 0F B7 */
	INSN_MOVSX,     /* reg <- sign-extended mem                     0F BE, 0F BF, REX.W 63 */
	INSN_MOVS,      /* [ES:rDI] <- [seg:rSI], rep times with REP    A4 A5 */
	INSN_STOS,      /* [ES:rDI] <- AL/AX/EAX/RAX, rep times         AA AB */
	INSN_ALU,       /* dst <- dst alu src and the status flags, dst mem or reg (dst_is_reg) */
	INSN_CMP,       /* flags of dst - src; nothing written          38-3B, 80-83 /7 */
	INSN_TEST,      /* flags of mem AND src; nothing written        84 85 F6 /0 F7 /0 */
	INSN_BT,        /* CF <- the selected bit of mem                0F A3, 0F BA /4 */
	INSN_XCHG,      /* mem <-> reg (always locked)                  86 87 */
};

/* The eight arithmetic-logic operations, numbered as the reg field of 80-83
 * and bits 5:3 of opcodes 00-3B (SDM Vol. 2D Table A-6, group 1). */
enum insn_alu {
	INSN_ALU_ADD,
	INSN_ALU_OR,
	INSN_ALU_ADC,
	INSN_ALU_SBB,
	INSN_ALU_AND,
	INSN_ALU_SUB,
	INSN_ALU_XOR,
	INSN_ALU_CMP,
};

/* Segment registers, in the order of their Sreg encoding (SDM Vol. 2A 3.1.1.3). */
enum insn_seg { INSN_SEG_ES, INSN_SEG_CS, INSN_SEG_SS, INSN_SEG_DS, INSN_SEG_FS, INSN_SEG_GS };

/* No base or index register in the memory operand. */
#define INSN_NO_REG (-1)

struct insn {
	enum insn_op op;
	enum insn_alu alu;     /* INSN_ALU, INSN_CMP (INSN_ALU_CMP), INSN_TEST (INSN_ALU_AND) */
	unsigned len;          /* bytes, prefixes included */
	unsigned mem_size;     /* bytes of each memory access: 1, 2, 4, 8 (MOVS/STOS: per element) */
	unsigned reg_size;     /* bytes of the register operand: 1, 2, 4, 8; 0 if there is none */
	unsigned reg;          /* register operand number, 0..15 (STOS: 0, rAX; BT: the bit offset) */
	bool high_byte;        /* AH, CH, DH, BH: byte 1 of register reg (0..3) */
	bool has_imm;          /* the operand that is not memory is the immediate imm */
	uint64_t imm;          /* sign- or zero-extended as the form says, cut to mem_size;
			        * BT: the imm8 as encoded */
	bool dst_is_reg;       /* INSN_ALU, INSN_CMP: the register is the destination (first
			        * operand: 02, 03, 0A, ... 3B), memory the source */
	bool lock;             /* LOCK prefix (XCHG with memory is locked without it) */
	bool rep;              /* MOVS, STOS: F3, repeat rCX times */
	unsigned addr_size;    /* 4 or 8: address size (rSI, rDI, rCX width for MOVS/STOS) */
	enum insn_seg seg;     /* segment of the memory operand (MOVS: of the source) */
	bool seg_override;     /* seg came from a prefix rather than the default rules */
	/* The memory operand's offset in seg (SDM Vol. 2A 2.1.5): base + index * scale
	 * + disp, or next RIP + disp when rip_relative; moffs forms have only disp.
	 * MOVS and STOS address memory through rSI/rDI instead: base and index are
	 * INSN_NO_REG. */
	int base, index;       /* register numbers, or INSN_NO_REG */
	unsigned scale;        /* 1, 2, 4, 8 */
	int64_t disp;
	bool rip_relative;
};

/* Decodes bytes[0..avail). Returns NULL on success, or why the bytes were
 * refused; never reads bytes[avail] or beyond. */
const char *insn_decode(const uint8_t *bytes, unsigned avail, enum cpu_mode mode, struct insn *out);

const char *insn_op_name(enum insn_op op);
const char *insn_alu_name(enum insn_alu alu);

/* --- Carrying an instruction out -------------------------------------------------------
 * gpr is a register file indexed by x86 register number (RAX 0 ... R15 15). */

/* v cut to size bytes (1, 2, 4, 8), and v's low size bytes sign-extended to 64 bits. */
uint64_t insn_zero_extend(uint64_t v, unsigned size);
uint64_t insn_sign_extend(uint64_t v, unsigned size);

/* The register operand's value, cut to reg_size (AH..BH read byte 1). */
uint64_t insn_read_reg(const uint64_t *gpr, const struct insn *in);
/* Write a value to the register operand with x86's partial-register rules
 * (SDM Vol. 1 3.4.1.1): 8- and 16-bit writes keep the rest of the register,
 * 32-bit writes zero the upper half. value is first cut to mem_size, then
 * extended to reg_size: sign-extended for INSN_MOVSX, zero-extended otherwise. */
void insn_write_reg(uint64_t *gpr, const struct insn *in, uint64_t value);
/* The value a MOV store, STOS or XCHG writes to memory: the immediate or the
 * register operand, cut to mem_size. */
uint64_t insn_store_value(const uint64_t *gpr, const struct insn *in);

/* dst alu src on size-byte operands: returns the result cut to size and
 * replaces the status flags in *rflags (other bits kept) per SDM Vol. 1 3.4.3.1
 * and each instruction's "Flags Affected": ADD/ADC/SUB/SBB/CMP set CF, PF, AF,
 * ZF, SF, OF from the result; AND/OR/XOR (and TEST) clear CF and OF, set PF, ZF,
 * SF, and clear AF, which the SDM leaves undefined. ADC and SBB take CF from
 * *rflags. INSN_ALU_CMP computes dst - src. */
uint64_t insn_alu(enum insn_alu alu, unsigned size, uint64_t dst, uint64_t src, uint64_t *rflags);

/* BT: which bit of the mem_size-byte value read at the accessed address is
 * tested, and the accessed address's distance in bytes from the operand's
 * effective address. An immediate offset is taken modulo the operand width;
 * a register offset is signed and selects the element at effective address +
 * mem_size * floor(offset / width) (SDM Vol. 2A BT), which is the address an
 * EPT violation reports. */
void insn_bt_locate(const struct insn *in, const uint64_t *gpr, int64_t *byte_offset, unsigned *bit);

/* Whether the instruction reads its memory operand (MOVS: the source), and
 * whether it may write it (MOVS, STOS: the destination). */
bool insn_reads_memory(const struct insn *in);
bool insn_writes_memory(const struct insn *in);

/* Carry out one instruction (one element of MOVS/STOS) on the register file
 * and RFLAGS, given the value read from memory (when insn_reads_memory;
 * ignored otherwise). Returns true, with *store set, when memory must be
 * written (an ALU operation on memory always writes, as the CPU does). Does
 * not move RIP, nor rSI/rDI/rCX (see insn_string_advance). */
bool insn_execute(const struct insn *in, uint64_t *gpr, uint64_t *rflags, uint64_t mem_value,
		  uint64_t *store);

/* The memory operand's offset within its segment, cut to addr_size; rip is
 * the address of the instruction itself. MOVS: the source (rSI); STOS: the
 * destination (rDI). */
uint64_t insn_effective_address(const struct insn *in, const uint64_t *gpr, uint64_t rip);

/* MOVS, STOS: how many elements to move: rCX (ECX with 32-bit addressing)
 * with REP, which may be 0; 1 without. */
uint64_t insn_rep_count(const struct insn *in, const uint64_t *gpr);
/* MOVS, STOS: after n elements, step rSI (MOVS) and rDI by n * mem_size,
 * down when RFLAGS.DF = 1, and with REP count rCX down by n, each in
 * addr_size bits (a 32-bit update zeroes the upper half). */
void insn_string_advance(const struct insn *in, uint64_t *gpr, uint64_t rflags, uint64_t n);

#endif
