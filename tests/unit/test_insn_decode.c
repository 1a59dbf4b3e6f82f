/* vm/insn_decode.c: decoding the instruction behind an MMIO access, and the
 * arithmetic that carries it out. */
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
#define LOAD INSN_MOV_LOAD
#define STORE INSN_MOV_STORE
#define ADD INSN_ALU_ADD
#define OR INSN_ALU_OR
#define ADC INSN_ALU_ADC
#define SBB INSN_ALU_SBB
#define AND INSN_ALU_AND
#define SUB INSN_ALU_SUB
#define XOR INSN_ALU_XOR
#define CMP INSN_ALU_CMP

/* The bytes of an instruction and their count. */
#define BYTES(...) .bytes = { __VA_ARGS__ }, .n = sizeof((uint8_t[]){ __VA_ARGS__ })

struct good {
	const char *what;
	enum cpu_mode mode;
	uint8_t bytes[16];
	unsigned n; /* the instruction's length, which the decoder must report */
	enum insn_op op;
	enum insn_alu alu; /* checked for ALU, CMP, TEST */
	unsigned msz, rsz, reg;
	bool hb;       /* high byte register */
	bool has_imm;
	uint64_t imm;
	bool dst_reg, lock, rep;
	unsigned asz; /* 0: the mode's default (4 in 32-bit code, 8 in 64-bit mode) */
};

static const struct good goods[] = {
	/* 88/89: stores of a register */
	{ "mov [ebx], al", M32, BYTES(0x88, 0x03), .op = STORE, .msz = 1, .rsz = 1 },
	{ "mov [ebx+0x10], ah", M32, BYTES(0x88, 0x63, 0x10), .op = STORE, .msz = 1, .rsz = 1, .hb = true },
	{ "mov [esi], bh", M32, BYTES(0x88, 0x3e), .op = STORE, .msz = 1, .rsz = 1, .reg = 3, .hb = true },
	{ "mov [esi], dl", M32, BYTES(0x88, 0x16), .op = STORE, .msz = 1, .rsz = 1, .reg = 2 },
	{ "mov [disp32], ecx", M32, BYTES(0x89, 0x0d, 0x00, 0x10, 0x00, 0xfe), .op = STORE, .msz = 4, .rsz = 4, .reg = 1 },
	{ "mov [esp+disp32], eax", M32, BYTES(0x89, 0x84, 0x24, 0x78, 0x56, 0x34, 0x12), .op = STORE, .msz = 4, .rsz = 4 },
	{ "mov [eax+ecx*4+disp8], edi", M32, BYTES(0x89, 0x7c, 0x88, 0x08), .op = STORE, .msz = 4, .rsz = 4, .reg = 7 },
	{ "mov [ebp+disp8], esi", M32, BYTES(0x89, 0x75, 0xfc), .op = STORE, .msz = 4, .rsz = 4, .reg = 6 },
	{ "mov [edx+disp32], ebx", M32, BYTES(0x89, 0x9a, 1, 2, 3, 4), .op = STORE, .msz = 4, .rsz = 4, .reg = 3 },
	{ "mov word [ebx], ax", M32, BYTES(0x66, 0x89, 0x03), .op = STORE, .msz = 2, .rsz = 2 },
	/* 8A/8B: loads */
	{ "mov al, [edi+5]", M32, BYTES(0x8a, 0x47, 0x05), .op = LOAD, .msz = 1, .rsz = 1 },
	{ "mov bh, [edi+5]", M32, BYTES(0x8a, 0x7f, 0x05), .op = LOAD, .msz = 1, .rsz = 1, .reg = 3, .hb = true },
	{ "mov ch, [eax]", M32, BYTES(0x8a, 0x28), .op = LOAD, .msz = 1, .rsz = 1, .reg = 1, .hb = true },
	{ "mov eax, [disp32] (SIB, no base)", M32, BYTES(0x8b, 0x04, 0x25, 0x00, 0x00, 0xe0, 0xfe), .op = LOAD, .msz = 4, .rsz = 4 },
	{ "mov eax, [esp+8]", M32, BYTES(0x8b, 0x44, 0x24, 0x08), .op = LOAD, .msz = 4, .rsz = 4 },
	{ "mov cx, [esi+disp32]", M32, BYTES(0x66, 0x8b, 0x8e, 0x00, 0x00, 0xc0, 0xfe), .op = LOAD, .msz = 2, .rsz = 2, .reg = 1 },
	{ "mov edx, [ebx+esi*2+disp32]", M32, BYTES(0x8b, 0x94, 0x73, 1, 2, 3, 4), .op = LOAD, .msz = 4, .rsz = 4, .reg = 2 },
	/* C6/C7: stores of an immediate */
	{ "mov byte [disp32], 0x5a", M32, BYTES(0xc6, 0x05, 0x00, 0x00, 0x00, 0xb0, 0x5a), .op = STORE, .msz = 1, .has_imm = true, .imm = 0x5a },
	{ "mov byte [eax], 0xff", M32, BYTES(0xc6, 0x00, 0xff), .op = STORE, .msz = 1, .has_imm = true, .imm = 0xff },
	{ "mov dword [eax], imm32", M32, BYTES(0xc7, 0x00, 0x01, 0x00, 0x00, 0x80), .op = STORE, .msz = 4, .has_imm = true, .imm = 0x80000001 },
	{ "mov word [eax], imm16", M32, BYTES(0x66, 0xc7, 0x00, 0xef, 0xbe), .op = STORE, .msz = 2, .has_imm = true, .imm = 0xbeef },
	{ "mov dword [esp+disp8], imm32", M32, BYTES(0xc7, 0x44, 0x24, 0x10, 0x78, 0x56, 0x34, 0x12), .op = STORE, .msz = 4, .has_imm = true, .imm = 0x12345678 },
	{ "mov dword [ebx+disp32], imm32", M32, BYTES(0xc7, 0x83, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00), .op = STORE, .msz = 4, .has_imm = true, .imm = 1 },
	/* A0-A3: moffs */
	{ "mov al, [moffs32]", M32, BYTES(0xa0, 0x00, 0x00, 0x00, 0xfe), .op = LOAD, .msz = 1, .rsz = 1 },
	{ "mov eax, [moffs32]", M32, BYTES(0xa1, 0x00, 0x00, 0x00, 0xfe), .op = LOAD, .msz = 4, .rsz = 4 },
	{ "mov ax, [moffs32]", M32, BYTES(0x66, 0xa1, 0x00, 0x00, 0x00, 0xfe), .op = LOAD, .msz = 2, .rsz = 2 },
	{ "mov [moffs32], al", M32, BYTES(0xa2, 0x00, 0x00, 0x00, 0xfe), .op = STORE, .msz = 1, .rsz = 1 },
	{ "mov [moffs32], eax", M32, BYTES(0xa3, 0x00, 0x00, 0x00, 0xfe), .op = STORE, .msz = 4, .rsz = 4 },
	/* 0F B6/B7: MOVZX, 0F BE/BF: MOVSX */
	{ "movzx eax, byte [ebx]", M32, BYTES(0x0f, 0xb6, 0x03), .op = INSN_MOVZX, .msz = 1, .rsz = 4 },
	{ "movzx edi, word [ebx+4]", M32, BYTES(0x0f, 0xb7, 0x7b, 0x04), .op = INSN_MOVZX, .msz = 2, .rsz = 4, .reg = 7 },
	{ "movzx ax, byte [ebx]", M32, BYTES(0x66, 0x0f, 0xb6, 0x03), .op = INSN_MOVZX, .msz = 1, .rsz = 2 },
	{ "movzx esp, byte [eax] (no high byte)", M32, BYTES(0x0f, 0xb6, 0x20), .op = INSN_MOVZX, .msz = 1, .rsz = 4, .reg = 4 },
	{ "movsx eax, byte [ebx]", M32, BYTES(0x0f, 0xbe, 0x03), .op = INSN_MOVSX, .msz = 1, .rsz = 4 },
	{ "movsx cx, byte [ebx]", M32, BYTES(0x66, 0x0f, 0xbe, 0x0b), .op = INSN_MOVSX, .msz = 1, .rsz = 2, .reg = 1 },
	{ "movsx edx, word [esi]", M32, BYTES(0x0f, 0xbf, 0x16), .op = INSN_MOVSX, .msz = 2, .rsz = 4, .reg = 2 },
	{ "movsx ebp, byte [eax] (no high byte)", M32, BYTES(0x0f, 0xbe, 0x28), .op = INSN_MOVSX, .msz = 1, .rsz = 4, .reg = 5 },
	/* Prefixes that change nothing here */
	{ "mov fs:[ebx], eax", M32, BYTES(0x64, 0x89, 0x03), .op = STORE, .msz = 4, .rsz = 4 },
	{ "gs: gs: mov [ebx], eax", M32, BYTES(0x65, 0x65, 0x89, 0x03), .op = STORE, .msz = 4, .rsz = 4 },
	{ "66 66 mov [ebx], ax", M32, BYTES(0x66, 0x66, 0x89, 0x03), .op = STORE, .msz = 2, .rsz = 2 },

	/* MOVS, STOS, with and without REP */
	{ "movsb", M32, BYTES(0xa4), .op = INSN_MOVS, .msz = 1 },
	{ "movsd", M32, BYTES(0xa5), .op = INSN_MOVS, .msz = 4 },
	{ "movsw", M32, BYTES(0x66, 0xa5), .op = INSN_MOVS, .msz = 2 },
	{ "rep movsb", M32, BYTES(0xf3, 0xa4), .op = INSN_MOVS, .msz = 1, .rep = true },
	{ "rep movsd", M32, BYTES(0xf3, 0xa5), .op = INSN_MOVS, .msz = 4, .rep = true },
	{ "66 rep movsw", M32, BYTES(0x66, 0xf3, 0xa5), .op = INSN_MOVS, .msz = 2, .rep = true },
	{ "rep fs: movsd", M32, BYTES(0xf3, 0x64, 0xa5), .op = INSN_MOVS, .msz = 4, .rep = true },
	{ "stosb", M32, BYTES(0xaa), .op = INSN_STOS, .msz = 1, .rsz = 1 },
	{ "rep stosd", M32, BYTES(0xf3, 0xab), .op = INSN_STOS, .msz = 4, .rsz = 4, .rep = true },
	{ "stosw", M32, BYTES(0x66, 0xab), .op = INSN_STOS, .msz = 2, .rsz = 2 },

	/* 00-3B: ALU r/m,reg and reg,r/m */
	{ "add [ebx], eax", M32, BYTES(0x01, 0x03), .op = INSN_ALU, .alu = ADD, .msz = 4, .rsz = 4 },
	{ "add [ebx], al", M32, BYTES(0x00, 0x03), .op = INSN_ALU, .alu = ADD, .msz = 1, .rsz = 1 },
	{ "add al, [ebx]", M32, BYTES(0x02, 0x03), .op = INSN_ALU, .alu = ADD, .msz = 1, .rsz = 1, .dst_reg = true },
	{ "add eax, [ebx]", M32, BYTES(0x03, 0x03), .op = INSN_ALU, .alu = ADD, .msz = 4, .rsz = 4, .dst_reg = true },
	{ "or [esi], ecx", M32, BYTES(0x09, 0x0e), .op = INSN_ALU, .alu = OR, .msz = 4, .rsz = 4, .reg = 1 },
	{ "or dl, [esi]", M32, BYTES(0x0a, 0x16), .op = INSN_ALU, .alu = OR, .msz = 1, .rsz = 1, .reg = 2, .dst_reg = true },
	{ "adc [ebx], edx", M32, BYTES(0x11, 0x13), .op = INSN_ALU, .alu = ADC, .msz = 4, .rsz = 4, .reg = 2 },
	{ "adc cl, [ebx]", M32, BYTES(0x12, 0x0b), .op = INSN_ALU, .alu = ADC, .msz = 1, .rsz = 1, .reg = 1, .dst_reg = true },
	{ "sbb [ebx], dh", M32, BYTES(0x18, 0x33), .op = INSN_ALU, .alu = SBB, .msz = 1, .rsz = 1, .reg = 2, .hb = true },
	{ "sbb ecx, [ebx]", M32, BYTES(0x1b, 0x0b), .op = INSN_ALU, .alu = SBB, .msz = 4, .rsz = 4, .reg = 1, .dst_reg = true },
	{ "and [edi+4], bh", M32, BYTES(0x20, 0x7f, 0x04), .op = INSN_ALU, .alu = AND, .msz = 1, .rsz = 1, .reg = 3, .hb = true },
	{ "and esi, [edi]", M32, BYTES(0x23, 0x37), .op = INSN_ALU, .alu = AND, .msz = 4, .rsz = 4, .reg = 6, .dst_reg = true },
	{ "sub [ebx], eax", M32, BYTES(0x29, 0x03), .op = INSN_ALU, .alu = SUB, .msz = 4, .rsz = 4 },
	{ "sub dx, [ebx]", M32, BYTES(0x66, 0x2b, 0x13), .op = INSN_ALU, .alu = SUB, .msz = 2, .rsz = 2, .reg = 2, .dst_reg = true },
	{ "xor [ebx], esi", M32, BYTES(0x31, 0x33), .op = INSN_ALU, .alu = XOR, .msz = 4, .rsz = 4, .reg = 6 },
	{ "xor bl, [eax]", M32, BYTES(0x32, 0x18), .op = INSN_ALU, .alu = XOR, .msz = 1, .rsz = 1, .reg = 3, .dst_reg = true },
	{ "cmp [ebx], eax", M32, BYTES(0x39, 0x03), .op = INSN_CMP, .alu = CMP, .msz = 4, .rsz = 4 },
	{ "cmp [ebx], cl", M32, BYTES(0x38, 0x0b), .op = INSN_CMP, .alu = CMP, .msz = 1, .rsz = 1, .reg = 1 },
	{ "cmp al, [ebx]", M32, BYTES(0x3a, 0x03), .op = INSN_CMP, .alu = CMP, .msz = 1, .rsz = 1, .dst_reg = true },
	{ "cmp edi, [ebx]", M32, BYTES(0x3b, 0x3b), .op = INSN_CMP, .alu = CMP, .msz = 4, .rsz = 4, .reg = 7, .dst_reg = true },
	{ "lock add [ebx], eax", M32, BYTES(0xf0, 0x01, 0x03), .op = INSN_ALU, .alu = ADD, .msz = 4, .rsz = 4, .lock = true },
	{ "lock xor [ebx], al", M32, BYTES(0xf0, 0x30, 0x03), .op = INSN_ALU, .alu = XOR, .msz = 1, .rsz = 1, .lock = true },

	/* 80-83: group 1 with an immediate */
	{ "add dword [ebx], 1", M32, BYTES(0x83, 0x03, 0x01), .op = INSN_ALU, .alu = ADD, .msz = 4, .has_imm = true, .imm = 1 },
	{ "add dword [ebx], -1 (imm8 sign-extended)", M32, BYTES(0x83, 0x03, 0xff), .op = INSN_ALU, .alu = ADD, .msz = 4, .has_imm = true, .imm = 0xffffffff },
	{ "sub word [ebx], -2", M32, BYTES(0x66, 0x83, 0x2b, 0xfe), .op = INSN_ALU, .alu = SUB, .msz = 2, .has_imm = true, .imm = 0xfffe },
	{ "and byte [ebx], 0xf0", M32, BYTES(0x80, 0x23, 0xf0), .op = INSN_ALU, .alu = AND, .msz = 1, .has_imm = true, .imm = 0xf0 },
	{ "or byte [ebx], 0x80", M32, BYTES(0x80, 0x0b, 0x80), .op = INSN_ALU, .alu = OR, .msz = 1, .has_imm = true, .imm = 0x80 },
	{ "and dword [ebx], 0x80000000", M32, BYTES(0x81, 0x23, 0x00, 0x00, 0x00, 0x80), .op = INSN_ALU, .alu = AND, .msz = 4, .has_imm = true, .imm = 0x80000000 },
	{ "or word [ebx], 0x8000", M32, BYTES(0x66, 0x81, 0x0b, 0x00, 0x80), .op = INSN_ALU, .alu = OR, .msz = 2, .has_imm = true, .imm = 0x8000 },
	{ "xor dword [ebx], imm32", M32, BYTES(0x81, 0x33, 0x78, 0x56, 0x34, 0x12), .op = INSN_ALU, .alu = XOR, .msz = 4, .has_imm = true, .imm = 0x12345678 },
	{ "adc dword [ebx], 5", M32, BYTES(0x83, 0x13, 0x05), .op = INSN_ALU, .alu = ADC, .msz = 4, .has_imm = true, .imm = 5 },
	{ "sbb byte [ebx], 1", M32, BYTES(0x80, 0x1b, 0x01), .op = INSN_ALU, .alu = SBB, .msz = 1, .has_imm = true, .imm = 1 },
	{ "cmp dword [ebx+8], 0", M32, BYTES(0x83, 0x7b, 0x08, 0x00), .op = INSN_CMP, .alu = CMP, .msz = 4, .has_imm = true, .imm = 0 },
	{ "cmp byte [ebx], 0x41", M32, BYTES(0x80, 0x3b, 0x41), .op = INSN_CMP, .alu = CMP, .msz = 1, .has_imm = true, .imm = 0x41 },
	{ "cmp word [ebx], 0x1234", M32, BYTES(0x66, 0x81, 0x3b, 0x34, 0x12), .op = INSN_CMP, .alu = CMP, .msz = 2, .has_imm = true, .imm = 0x1234 },
	{ "lock and dword [ebx], ~4", M32, BYTES(0xf0, 0x83, 0x23, 0xfb), .op = INSN_ALU, .alu = AND, .msz = 4, .has_imm = true, .imm = 0xfffffffb, .lock = true },
	{ "82 /0: add byte [ebx], 1 (32-bit code)", M32, BYTES(0x82, 0x03, 0x01), .op = INSN_ALU, .alu = ADD, .msz = 1, .has_imm = true, .imm = 1 },

	/* TEST */
	{ "test [ebx], eax", M32, BYTES(0x85, 0x03), .op = INSN_TEST, .alu = AND, .msz = 4, .rsz = 4 },
	{ "test [ebx], ch", M32, BYTES(0x84, 0x2b), .op = INSN_TEST, .alu = AND, .msz = 1, .rsz = 1, .reg = 1, .hb = true },
	{ "test byte [ebx], 1", M32, BYTES(0xf6, 0x03, 0x01), .op = INSN_TEST, .alu = AND, .msz = 1, .has_imm = true, .imm = 1 },
	{ "test dword [ebx], 0x80000000", M32, BYTES(0xf7, 0x03, 0x00, 0x00, 0x00, 0x80), .op = INSN_TEST, .alu = AND, .msz = 4, .has_imm = true, .imm = 0x80000000 },
	{ "test word [ebx], 0x8000", M32, BYTES(0x66, 0xf7, 0x03, 0x00, 0x80), .op = INSN_TEST, .alu = AND, .msz = 2, .has_imm = true, .imm = 0x8000 },

	/* BT */
	{ "bt dword [ebx], 5", M32, BYTES(0x0f, 0xba, 0x23, 0x05), .op = INSN_BT, .msz = 4, .has_imm = true, .imm = 5 },
	{ "bt word [ebx], 15", M32, BYTES(0x66, 0x0f, 0xba, 0x23, 0x0f), .op = INSN_BT, .msz = 2, .has_imm = true, .imm = 15 },
	{ "bt dword [ebx], 0xff (kept as encoded)", M32, BYTES(0x0f, 0xba, 0x23, 0xff), .op = INSN_BT, .msz = 4, .has_imm = true, .imm = 0xff },
	{ "bt [ebx], eax", M32, BYTES(0x0f, 0xa3, 0x03), .op = INSN_BT, .msz = 4, .rsz = 4 },
	{ "bt [ebx], cx", M32, BYTES(0x66, 0x0f, 0xa3, 0x0b), .op = INSN_BT, .msz = 2, .rsz = 2, .reg = 1 },

	/* XCHG */
	{ "xchg [ebx], eax", M32, BYTES(0x87, 0x03), .op = INSN_XCHG, .msz = 4, .rsz = 4 },
	{ "xchg [ebx], ah", M32, BYTES(0x86, 0x23), .op = INSN_XCHG, .msz = 1, .rsz = 1, .hb = true },
	{ "lock xchg [ebx], dx", M32, BYTES(0xf0, 0x66, 0x87, 0x13), .op = INSN_XCHG, .msz = 2, .rsz = 2, .reg = 2, .lock = true },

	/* 64-bit mode */
	{ "mov [rbx], rax", M64, BYTES(0x48, 0x89, 0x03), .op = STORE, .msz = 8, .rsz = 8 },
	{ "mov [rbx], r8", M64, BYTES(0x4c, 0x89, 0x03), .op = STORE, .msz = 8, .rsz = 8, .reg = 8 },
	{ "mov [rbx], r15d", M64, BYTES(0x44, 0x89, 0x3b), .op = STORE, .msz = 4, .rsz = 4, .reg = 15 },
	{ "mov [rbx], r12b", M64, BYTES(0x44, 0x88, 0x23), .op = STORE, .msz = 1, .rsz = 1, .reg = 12 },
	{ "mov [rbx], spl", M64, BYTES(0x40, 0x88, 0x23), .op = STORE, .msz = 1, .rsz = 1, .reg = 4 },
	{ "mov [rbx], dil", M64, BYTES(0x40, 0x88, 0x3b), .op = STORE, .msz = 1, .rsz = 1, .reg = 7 },
	{ "mov [rbx], ah (no REX)", M64, BYTES(0x88, 0x23), .op = STORE, .msz = 1, .rsz = 1, .hb = true },
	{ "mov sil, [rip+disp32]", M64, BYTES(0x40, 0x8a, 0x35, 0, 0, 0, 0), .op = LOAD, .msz = 1, .rsz = 1, .reg = 6 },
	{ "mov eax, [rip+disp32]", M64, BYTES(0x8b, 0x05, 0x10, 0x00, 0x00, 0x00), .op = LOAD, .msz = 4, .rsz = 4 },
	{ "mov rax, [rip+disp32]", M64, BYTES(0x48, 0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff), .op = LOAD, .msz = 8, .rsz = 8 },
	{ "mov r9w, [r8+disp8]", M64, BYTES(0x66, 0x45, 0x8b, 0x48, 0x08), .op = LOAD, .msz = 2, .rsz = 2, .reg = 9 },
	{ "REX.W wins over 66", M64, BYTES(0x66, 0x48, 0x89, 0x03), .op = STORE, .msz = 8, .rsz = 8 },
	{ "mov eax, [ebx] (67)", M64, BYTES(0x67, 0x8b, 0x03), .op = LOAD, .msz = 4, .rsz = 4, .asz = 4 },
	{ "mov rax, gs:[disp32]", M64, BYTES(0x65, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00), .op = LOAD, .msz = 8, .rsz = 8 },
	{ "mov qword [rax], -0x80000000", M64, BYTES(0x48, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x80), .op = STORE, .msz = 8, .has_imm = true, .imm = 0xffffffff80000000ULL },
	{ "mov qword [rax], 0x7fffffff", M64, BYTES(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0x7f), .op = STORE, .msz = 8, .has_imm = true, .imm = 0x7fffffff },
	{ "mov qword [rax], -1", M64, BYTES(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff), .op = STORE, .msz = 8, .has_imm = true, .imm = ~0ULL },
	{ "mov dword [rax], 0x80000000 (not extended)", M64, BYTES(0xc7, 0x00, 0x00, 0x00, 0x00, 0x80), .op = STORE, .msz = 4, .has_imm = true, .imm = 0x80000000 },
	{ "mov word [rax], 0x8000 (not extended)", M64, BYTES(0x66, 0xc7, 0x00, 0x00, 0x80), .op = STORE, .msz = 2, .has_imm = true, .imm = 0x8000 },
	{ "mov byte [rax], 0x80 (REX.W: still a byte)", M64, BYTES(0x48, 0xc6, 0x00, 0x80), .op = STORE, .msz = 1, .has_imm = true, .imm = 0x80 },
	{ "mov qword [rip+disp32], imm32", M64, BYTES(0x48, 0xc7, 0x05, 0x00, 0x10, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00), .op = STORE, .msz = 8, .has_imm = true, .imm = 5 },
	{ "movabs al, [moffs64]", M64, BYTES(0xa0, 0, 0, 0xe0, 0xfe, 0, 0, 0, 0), .op = LOAD, .msz = 1, .rsz = 1 },
	{ "movabs rax, [moffs64]", M64, BYTES(0x48, 0xa1, 0, 0, 0xe0, 0xfe, 0, 0, 0, 0), .op = LOAD, .msz = 8, .rsz = 8 },
	{ "movabs [moffs64], eax", M64, BYTES(0xa3, 1, 2, 3, 4, 5, 6, 7, 8), .op = STORE, .msz = 4, .rsz = 4 },
	{ "movabs [moffs64], ax", M64, BYTES(0x66, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), .op = STORE, .msz = 2, .rsz = 2 },
	{ "movabs fs:[moffs64], rax", M64, BYTES(0x64, 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), .op = STORE, .msz = 8, .rsz = 8 },
	{ "mov eax, [moffs32] (67)", M64, BYTES(0x67, 0xa1, 0, 0, 0xe0, 0xfe), .op = LOAD, .msz = 4, .rsz = 4, .asz = 4 },
	{ "movzx rax, byte [rbx]", M64, BYTES(0x48, 0x0f, 0xb6, 0x03), .op = INSN_MOVZX, .msz = 1, .rsz = 8 },
	{ "movzx r10d, word [rbx]", M64, BYTES(0x44, 0x0f, 0xb7, 0x13), .op = INSN_MOVZX, .msz = 2, .rsz = 4, .reg = 10 },
	{ "movsx r9, word [rax]", M64, BYTES(0x4c, 0x0f, 0xbf, 0x08), .op = INSN_MOVSX, .msz = 2, .rsz = 8, .reg = 9 },
	{ "movsx rsi, byte [rax]", M64, BYTES(0x48, 0x0f, 0xbe, 0x30), .op = INSN_MOVSX, .msz = 1, .rsz = 8, .reg = 6 },
	{ "movsxd rax, dword [rbx]", M64, BYTES(0x48, 0x63, 0x03), .op = INSN_MOVSX, .msz = 4, .rsz = 8 },
	{ "movsxd r15, dword [rip+disp32]", M64, BYTES(0x4c, 0x63, 0x3d, 0, 0, 0, 0), .op = INSN_MOVSX, .msz = 4, .rsz = 8, .reg = 15 },
	{ "REX.B only changes the base", M64, BYTES(0x41, 0x8b, 0x13), .op = LOAD, .msz = 4, .rsz = 4, .reg = 2 },
	{ "rep movsq", M64, BYTES(0xf3, 0x48, 0xa5), .op = INSN_MOVS, .msz = 8, .rep = true },
	{ "movsq, 32-bit addressing", M64, BYTES(0x67, 0x48, 0xa5), .op = INSN_MOVS, .msz = 8, .asz = 4 },
	{ "rep stosq", M64, BYTES(0xf3, 0x48, 0xab), .op = INSN_STOS, .msz = 8, .rsz = 8, .rep = true },
	{ "rep stosb, 32-bit addressing", M64, BYTES(0xf3, 0x67, 0xaa), .op = INSN_STOS, .msz = 1, .rsz = 1, .rep = true, .asz = 4 },
	{ "cmp r8, [rax]", M64, BYTES(0x4c, 0x3b, 0x00), .op = INSN_CMP, .alu = CMP, .msz = 8, .rsz = 8, .reg = 8, .dst_reg = true },
	{ "and r12b, [r13+0]", M64, BYTES(0x45, 0x22, 0x65, 0x00), .op = INSN_ALU, .alu = AND, .msz = 1, .rsz = 1, .reg = 12, .dst_reg = true },
	{ "lock or qword [rdi], rax", M64, BYTES(0xf0, 0x48, 0x09, 0x07), .op = INSN_ALU, .alu = OR, .msz = 8, .rsz = 8, .lock = true },
	{ "or qword [rax], -128", M64, BYTES(0x48, 0x83, 0x08, 0x80), .op = INSN_ALU, .alu = OR, .msz = 8, .has_imm = true, .imm = 0xffffffffffffff80ULL },
	{ "and qword [rbx], imm32 (sign-extended)", M64, BYTES(0x48, 0x81, 0x23, 0x00, 0x00, 0x00, 0x80), .op = INSN_ALU, .alu = AND, .msz = 8, .has_imm = true, .imm = 0xffffffff80000000ULL },
	{ "lock sub qword [rip+disp32], 1", M64, BYTES(0xf0, 0x48, 0x83, 0x2d, 0x00, 0x10, 0x00, 0x00, 0x01), .op = INSN_ALU, .alu = SUB, .msz = 8, .has_imm = true, .imm = 1, .lock = true },
	{ "test qword [rbx], -1", M64, BYTES(0x48, 0xf7, 0x03, 0xff, 0xff, 0xff, 0xff), .op = INSN_TEST, .alu = AND, .msz = 8, .has_imm = true, .imm = ~0ULL },
	{ "test byte [rbx], 0x80 (REX.W: still a byte)", M64, BYTES(0x48, 0xf6, 0x03, 0x80), .op = INSN_TEST, .alu = AND, .msz = 1, .has_imm = true, .imm = 0x80 },
	{ "test [rbx], r11w", M64, BYTES(0x66, 0x44, 0x85, 0x1b), .op = INSN_TEST, .alu = AND, .msz = 2, .rsz = 2, .reg = 11 },
	{ "bt qword [rbx], 63", M64, BYTES(0x48, 0x0f, 0xba, 0x23, 0x3f), .op = INSN_BT, .msz = 8, .has_imm = true, .imm = 63 },
	{ "bt [rbx], r9", M64, BYTES(0x4c, 0x0f, 0xa3, 0x0b), .op = INSN_BT, .msz = 8, .rsz = 8, .reg = 9 },
	{ "lock xchg [rbx], r10", M64, BYTES(0xf0, 0x4c, 0x87, 0x13), .op = INSN_XCHG, .msz = 8, .rsz = 8, .reg = 10, .lock = true },
	{ "xchg [rbx], sil", M64, BYTES(0x40, 0x86, 0x33), .op = INSN_XCHG, .msz = 1, .rsz = 1, .reg = 6 },
	{ "longest: lock fs: add qword [rax+rbx*8+disp32], imm32", M64, BYTES(0xf0, 0x64, 0x67, 0x48, 0x81, 0x84, 0xd8, 1, 2, 3, 4, 5, 6, 7, 8), .op = INSN_ALU, .alu = ADD, .msz = 8, .has_imm = true, .imm = 0x08070605, .lock = true, .asz = 4 },
};

static void check_good(const struct good *g, const uint8_t *bytes, unsigned avail)
{
	struct insn in;
	const char *err = insn_decode(bytes, avail, g->mode, &in);
	unsigned asz = g->asz ? g->asz : g->mode == M64 ? 8 : 4;
	bool has_alu = g->op == INSN_ALU || g->op == INSN_CMP || g->op == INSN_TEST;
	if (err)
		fail_msg("%s: refused (%s)", g->what, err);
	if (in.len != g->n)
		fail_msg("%s: length %u, expected %u", g->what, in.len, g->n);
	if (in.op != g->op || (has_alu && in.alu != g->alu) || in.mem_size != g->msz ||
	    in.reg_size != g->rsz || in.high_byte != g->hb || in.has_imm != g->has_imm ||
	    in.imm != g->imm || in.dst_is_reg != g->dst_reg || in.lock != g->lock ||
	    in.rep != g->rep || in.addr_size != asz || (g->rsz && in.reg != g->reg))
		fail_msg("%s: op %s alu %s mem %u reg_size %u reg %u high %d imm %d 0x%llx dst_reg %d "
			 "lock %d rep %d addr %u",
			 g->what, insn_op_name(in.op), insn_alu_name(in.alu), in.mem_size, in.reg_size,
			 in.reg, in.high_byte, in.has_imm, (unsigned long long)in.imm, in.dst_is_reg,
			 in.lock, in.rep, in.addr_size);
}

/* Exactly-sized heap copies, so any read past avail is caught. */
static void decode_exact(const uint8_t *bytes, unsigned avail, enum cpu_mode mode,
			 const char **err, struct insn *in)
{
	uint8_t *copy = malloc(avail ? avail : 1);
	memcpy(copy, bytes, avail);
	*err = insn_decode(copy, avail, mode, in);
	free(copy);
}

static void test_supported_forms(void **state)
{
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(goods); i++) {
		const struct good *g = &goods[i];
		assert_true(g->n <= INSN_MAX_LEN);
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
			if (!strstr(err, "truncated") && !strstr(err, "LOCK") && !strstr(err, "REP"))
				fail_msg("%s cut to %u bytes: refused with '%s'", g->what, n, err);
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

#define B(what, mode, expect, ...) { what, mode, BYTES(__VA_ARGS__), .words = expect }

static const struct bad bads[] = {
	B("F3 before a MOV", M32, "REP", 0xf3, 0x89, 0x03),
	B("repne mov", M64, "REP", 0xf2, 0x89, 0x03),
	B("xacquire lock add", M32, "REP", 0xf2, 0xf0, 0x01, 0x03),
	B("rep add", M32, "REP", 0xf3, 0x01, 0x03),
	B("repne movsb", M32, "REPNE", 0xf2, 0xa4),
	B("rep and repne", M32, "both REP", 0xf3, 0xf2, 0xa4),
	B("16-bit addressing", M32, "16-bit addressing", 0x67, 0x89, 0x03),
	B("16-bit addressing, moffs16", M32, "16-bit addressing", 0x67, 0xa1, 0x00, 0x10),
	B("16-bit addressing, movsb", M32, "16-bit addressing", 0x67, 0xa4),
	B("inc dword [ebx]", M32, "opcode not decoded", 0xff, 0x03),
	B("push dword [ebx]", M32, "opcode not decoded", 0xff, 0x33),
	B("add eax, imm32 (no memory operand)", M32, "opcode not decoded", 0x05, 1, 0, 0, 0),
	B("REX in 32-bit mode is DEC", M32, "opcode not decoded", 0x48, 0x89, 0x03),
	B("REX before a legacy prefix", M64, "REX prefix not immediately", 0x48, 0x66, 0x89, 0x03),
	B("two REX prefixes", M64, "REX prefix not immediately", 0x48, 0x48, 0x89, 0x03),
	B("movups", M32, "two-byte opcode", 0x0f, 0x10, 0x03),
	B("cmpxchg", M32, "two-byte opcode", 0x0f, 0xb1, 0x03),
	B("mov eax, eax (89 C0)", M32, "register operand", 0x89, 0xc0),
	B("mov al, bl (8A C3)", M32, "register operand", 0x8a, 0xc3),
	B("movzx eax, bl", M32, "register operand", 0x0f, 0xb6, 0xc3),
	B("movsx eax, bl", M32, "register operand", 0x0f, 0xbe, 0xc3),
	B("mov eax, 1 (C7 C0)", M32, "register operand", 0xc7, 0xc0, 1, 0, 0, 0),
	B("add eax, ebx (01 D8)", M32, "register operand", 0x01, 0xd8),
	B("add eax, 1 (83 C0)", M32, "register operand", 0x83, 0xc0, 0x01),
	B("test eax, 1 (F7 C0)", M32, "register operand", 0xf7, 0xc0, 1, 0, 0, 0),
	B("bt eax, 1 (0F BA E0)", M32, "register operand", 0x0f, 0xba, 0xe0, 0x01),
	B("xchg eax, ebx (87 D8)", M32, "register operand", 0x87, 0xd8),
	B("C7 /1", M32, "reg field", 0xc7, 0x08, 1, 0, 0, 0),
	B("C6 /7", M32, "reg field", 0xc6, 0x38, 1),
	B("xbegin (C7 F8)", M32, "reg field", 0xc7, 0xf8, 0, 0, 0, 0),
	B("C6 with a register operand", M32, "register operand", 0xc6, 0xc0, 1),
	B("lock mov", M32, "LOCK", 0xf0, 0x89, 0x03),
	B("lock mov (64-bit)", M64, "LOCK", 0xf0, 0x48, 0x89, 0x03),
	B("lock cmp", M32, "LOCK", 0xf0, 0x39, 0x03),
	B("lock cmp imm", M32, "LOCK", 0xf0, 0x83, 0x3b, 0x01),
	B("lock add reg, mem", M32, "LOCK", 0xf0, 0x03, 0x03),
	B("lock test", M32, "LOCK", 0xf0, 0x85, 0x03),
	B("lock bt", M32, "LOCK", 0xf0, 0x0f, 0xa3, 0x03),
	B("lock movsb", M32, "LOCK", 0xf0, 0xa4),
	B("lock movzx", M32, "LOCK", 0xf0, 0x0f, 0xb6, 0x03),
	B("two segment overrides", M32, "segment-override", 0x2e, 0x3e, 0x89, 0x03),
	B("lock es: cs: mov", M32, "segment-override", 0xf0, 0x26, 0x2e, 0x89, 0x03),
	B("F6 /1", M32, "alias of TEST", 0xf6, 0x0b, 0x01),
	B("not dword [ebx]", M32, "NOT", 0xf7, 0x13),
	B("div dword [ebx]", M32, "NOT", 0xf7, 0x33),
	B("0F BA /0", M32, "#UD", 0x0f, 0xba, 0x03, 0x01),
	B("bts dword [ebx], 1", M32, "BTS", 0x0f, 0xba, 0x2b, 0x01),
	B("btr dword [ebx], 1", M32, "BTS", 0x0f, 0xba, 0x33, 0x01),
	B("btc dword [ebx], 1", M32, "BTS", 0x0f, 0xba, 0x3b, 0x01),
	B("bts [ebx], eax", M32, "BTS", 0x0f, 0xab, 0x03),
	B("btr [ebx], eax", M32, "BTS", 0x0f, 0xb3, 0x03),
	B("btc [ebx], eax", M32, "BTS", 0x0f, 0xbb, 0x03),
	B("82 in 64-bit mode", M64, "invalid in 64-bit mode", 0x82, 0x03, 0x01),
	B("movsxd without REX.W", M64, "MOVSXD without REX.W", 0x63, 0x03),
	B("arpl", M32, "ARPL", 0x63, 0x03),
	B("cmpsb", M32, "CMPS", 0xa6),
	B("lodsd", M64, "CMPS", 0xad),
	B("rep scasb", M32, "CMPS", 0xf3, 0xae),
	B("only prefixes", M32, "truncated", 0x66, 0xf0, 0x2e),
	B("only REX", M64, "truncated", 0x48),
	B("fifteen prefixes, then the opcode", M32, "longer than 15 bytes", 0x66, 0x66, 0x66, 0x66,
	  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x89),
	B("longer than 15 bytes", M64, "longer than 15 bytes", 0x66, 0x66, 0x66, 0x66, 0x66, 0x48,
	  0xc7, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00),
	B("15 bytes of prefixes", M32, "longer than 15 bytes", 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66),
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
	/* Nothing at all. */
	struct insn in;
	const char *err = insn_decode(NULL, 0, M32, &in);
	assert_non_null(err);
	assert_non_null(strstr(err, "truncated"));
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

/* --- Segments and addressing -------------------------------------------------------- */

#define NONE INSN_NO_REG

struct addressing {
	const char *what;
	enum cpu_mode mode;
	uint8_t bytes[16];
	unsigned n;
	enum insn_seg seg;
	bool override, rip;
	int base, index;
	unsigned scale;
	int64_t disp;
};

#define A(what, mode, seg, ovr, rip, base, index, scale, disp, ...) \
	{ what, mode, BYTES(__VA_ARGS__), seg, ovr, rip, base, index, scale, disp }

static const struct addressing addressings[] = {
	A("[ebx]", M32, INSN_SEG_DS, false, false, 3, NONE, 1, 0, 0x8b, 0x03),
	A("[ebp+8]: SS", M32, INSN_SEG_SS, false, false, 5, NONE, 1, 8, 0x8b, 0x45, 0x08),
	A("[esp+4]: SS", M32, INSN_SEG_SS, false, false, 4, NONE, 1, 4, 0x8b, 0x44, 0x24, 0x04),
	A("[esp+ebp]: the base decides", M32, INSN_SEG_SS, false, false, 4, 5, 1, 0, 0x8b, 0x04, 0x2c),
	A("[ebx+ebp]: DS", M32, INSN_SEG_DS, false, false, 3, 5, 1, 0, 0x8b, 0x04, 0x2b),
	A("[ebp*2+disp32]: no base", M32, INSN_SEG_DS, false, false, NONE, 5, 2, 0x100, 0x8b, 0x04,
	  0x6d, 0x00, 0x01, 0x00, 0x00),
	A("[disp32] in 32-bit code", M32, INSN_SEG_DS, false, false, NONE, NONE, 1, 0x12345678, 0x8b,
	  0x05, 0x78, 0x56, 0x34, 0x12),
	A("[ebx-4]", M32, INSN_SEG_DS, false, false, 3, NONE, 1, -4, 0x8b, 0x43, 0xfc),
	A("[ebx-256] (disp32)", M32, INSN_SEG_DS, false, false, 3, NONE, 1, -256, 0x8b, 0x83, 0x00,
	  0xff, 0xff, 0xff),
	A("[eax+ecx*8+1]", M32, INSN_SEG_DS, false, false, 0, 1, 8, 1, 0x8b, 0x44, 0xc8, 0x01),
	A("fs:[ebx]", M32, INSN_SEG_FS, true, false, 3, NONE, 1, 0, 0x64, 0x8b, 0x03),
	A("ds:[ebp]", M32, INSN_SEG_DS, true, false, 5, NONE, 1, 0, 0x3e, 0x8b, 0x45, 0x00),
	A("es:[ebx]", M32, INSN_SEG_ES, true, false, 3, NONE, 1, 0, 0x26, 0x8b, 0x03),
	A("cs:[ebx]", M32, INSN_SEG_CS, true, false, 3, NONE, 1, 0, 0x2e, 0x8b, 0x03),
	A("ss:[ebx]", M32, INSN_SEG_SS, true, false, 3, NONE, 1, 0, 0x36, 0x8b, 0x03),
	A("moffs32", M32, INSN_SEG_DS, false, false, NONE, NONE, 1, 0xfee00000, 0xa1, 0x00, 0x00,
	  0xe0, 0xfe),
	A("gs: moffs32", M32, INSN_SEG_GS, true, false, NONE, NONE, 1, 0xfee00000, 0x65, 0xa1, 0x00,
	  0x00, 0xe0, 0xfe),
	A("movsb: DS source", M32, INSN_SEG_DS, false, false, NONE, NONE, 1, 0, 0xa4),
	A("es: movsb: ES source", M32, INSN_SEG_ES, true, false, NONE, NONE, 1, 0, 0x26, 0xa4),
	A("fs: stosb: still ES", M32, INSN_SEG_ES, false, false, NONE, NONE, 1, 0, 0x64, 0xaa),
	A("[rip-16]", M64, INSN_SEG_DS, false, true, NONE, NONE, 1, -16, 0x8b, 0x05, 0xf0, 0xff,
	  0xff, 0xff),
	A("[r13+0]: DS, not SS", M64, INSN_SEG_DS, false, false, 13, NONE, 1, 0, 0x41, 0x8b, 0x45,
	  0x00),
	A("[r12]: DS, not SS", M64, INSN_SEG_DS, false, false, 12, NONE, 1, 0, 0x41, 0x8b, 0x04,
	  0x24),
	A("[rsp]", M64, INSN_SEG_SS, false, false, 4, NONE, 1, 0, 0x8b, 0x04, 0x24),
	A("[rax+r12*8]", M64, INSN_SEG_DS, false, false, 0, 12, 8, 0, 0x42, 0x8b, 0x04, 0xe0),
	A("[r9+r15*2+disp8]", M64, INSN_SEG_DS, false, false, 9, 15, 2, -1, 0x43, 0x8b, 0x44, 0x79,
	  0xff),
	A("[disp32] via SIB in 64-bit mode: absolute", M64, INSN_SEG_DS, false, false, NONE, NONE, 1,
	  0x1000, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00),
	A("[rbp*1+disp32]: SIB base 101, mod 0: no base even with REX.B", M64, INSN_SEG_DS, false, false, NONE, 5, 1,
	  0x10, 0x41, 0x8b, 0x04, 0x2d, 0x10, 0x00, 0x00, 0x00),
	A("gs:[rax]", M64, INSN_SEG_GS, true, false, 0, NONE, 1, 0, 0x65, 0x8b, 0x00),
	A("moffs64", M64, INSN_SEG_DS, false, false, NONE, NONE, 1, (int64_t)0xfedcba9876543210ULL,
	  0x48, 0xa1, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe),
};

static void test_addressing(void **state)
{
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(addressings); i++) {
		const struct addressing *a = &addressings[i];
		struct insn in;
		const char *err = insn_decode(a->bytes, a->n, a->mode, &in);
		if (err)
			fail_msg("%s: refused (%s)", a->what, err);
		if (in.len != a->n || in.seg != a->seg || in.seg_override != a->override ||
		    in.rip_relative != a->rip || in.base != a->base || in.index != a->index ||
		    in.scale != a->scale || in.disp != a->disp)
			fail_msg("%s: len %u seg %d override %d rip %d base %d index %d scale %u disp %lld",
				 a->what, in.len, in.seg, in.seg_override, in.rip_relative, in.base,
				 in.index, in.scale, (long long)in.disp);
	}
}

static uint64_t ea_of(const uint8_t *bytes, unsigned n, enum cpu_mode mode, const uint64_t *gpr,
		      uint64_t rip)
{
	struct insn in;
	assert_null(insn_decode(bytes, n, mode, &in));
	return insn_effective_address(&in, gpr, rip);
}

static void test_effective_address(void **state)
{
	(void)state;
	uint64_t gpr[16];
	for (unsigned i = 0; i < 16; i++)
		gpr[i] = 0x1000 * (i + 1);
	gpr[3] = 0xfffffff0; /* EBX */

	static const uint8_t ebx_plus_32[] = { 0x8b, 0x43, 0x20 }; /* [ebx+0x20]: wraps at 4 GiB */
	assert_int_equal(ea_of(ebx_plus_32, 3, M32, gpr, 0), 0x10);
	static const uint8_t eax_ecx8[] = { 0x8b, 0x44, 0xc8, 0x01 }; /* [eax+ecx*8+1] */
	assert_int_equal(ea_of(eax_ecx8, 4, M32, gpr, 0), 0x1000 + 0x2000 * 8 + 1);
	static const uint8_t ebx_minus4[] = { 0x8b, 0x43, 0xfc };
	assert_int_equal(ea_of(ebx_minus4, 3, M32, gpr, 0), 0xffffffec);
	static const uint8_t rbx_minus4[] = { 0x48, 0x8b, 0x43, 0xfc }; /* 64-bit: no wrap */
	assert_int_equal(ea_of(rbx_minus4, 4, M64, gpr, 0), 0xffffffec);
	static const uint8_t ebx_67[] = { 0x67, 0x8b, 0x43, 0x20 }; /* 67: 32-bit addressing */
	assert_int_equal(ea_of(ebx_67, 4, M64, gpr, 0), 0x10);
	/* RIP-relative: from the next instruction. */
	static const uint8_t rip_rel[] = { 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00 };
	assert_int_equal(ea_of(rip_rel, 6, M64, gpr, 0x400000), 0x400000 + 6 + 0x100);
	static const uint8_t rip_neg[] = { 0x48, 0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff };
	assert_int_equal(ea_of(rip_neg, 7, M64, gpr, 0xffffffff80001000ULL),
			 0xffffffff80001000ULL + 7 - 16);
	/* [r13*1+disp32] */
	static const uint8_t r13_index[] = { 0x42, 0x8b, 0x04, 0x2d, 0x10, 0x00, 0x00, 0x00 };
	assert_int_equal(ea_of(r13_index, 8, M64, gpr, 0), 0xe000 + 0x10);
	/* moffs */
	static const uint8_t moffs64[] = { 0xa1, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe };
	assert_int_equal(ea_of(moffs64, 9, M64, gpr, 0), 0xfedcba9876543210ULL);
	/* MOVS: the source rSI; STOS: rDI. */
	static const uint8_t movsb[] = { 0xa4 }, stosb[] = { 0xaa };
	assert_int_equal(ea_of(movsb, 1, M64, gpr, 0), 0x7000);
	assert_int_equal(ea_of(stosb, 1, M64, gpr, 0), 0x8000);
}

/* --- Register-file rules ---------------------------------------------------- */

#define V 0x1122334455667788ULL

static uint64_t write_reg(enum insn_op op, unsigned reg, unsigned mem_size, unsigned reg_size,
			  bool high, uint64_t value)
{
	uint64_t gpr[16];
	for (unsigned i = 0; i < 16; i++)
		gpr[i] = V + i;
	struct insn in = { .op = op, .mem_size = mem_size, .reg_size = reg_size, .reg = reg,
			   .high_byte = high };
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
	assert_int_equal(write_reg(LOAD, 0, 1, 1, false, 0xab), 0x11223344556677abULL);
	/* AH: byte 1 only. */
	assert_int_equal(write_reg(LOAD, 0, 1, 1, true, 0xab), (V & ~0xff00ULL) | 0xab00);
	assert_int_equal(write_reg(LOAD, 3, 1, 1, true, 0xab), ((V + 3) & ~0xff00ULL) | 0xab00);
	/* R12B, SPL: the low byte. */
	assert_int_equal(write_reg(LOAD, 12, 1, 1, false, 0xcd), ((V + 12) & ~0xffULL) | 0xcd);
	assert_int_equal(write_reg(LOAD, 4, 1, 1, false, 0xcd), ((V + 4) & ~0xffULL) | 0xcd);
	/* 16-bit: the low word only. */
	assert_int_equal(write_reg(LOAD, 1, 2, 2, false, 0xbeef), ((V + 1) & ~0xffffULL) | 0xbeef);
	/* 32-bit: zero-extended into the whole register. */
	assert_int_equal(write_reg(LOAD, 2, 4, 4, false, 0xdeadbeef), 0xdeadbeefULL);
	assert_int_equal(write_reg(LOAD, 9, 4, 4, false, 0xffffffffffffffffULL), 0xffffffffULL);
	/* 64-bit: all of it. */
	assert_int_equal(write_reg(LOAD, 15, 8, 8, false, 0xfedcba9876543210ULL),
			 0xfedcba9876543210ULL);
	/* The value is cut to the memory access size first. */
	assert_int_equal(write_reg(LOAD, 0, 1, 1, false, 0x1ff), 0x11223344556677ffULL);
	assert_int_equal(write_reg(LOAD, 0, 1, 1, true, 0x1ff), (V & ~0xff00ULL) | 0xff00);
	assert_int_equal(write_reg(LOAD, 1, 2, 2, false, 0x12345678), ((V + 1) & ~0xffffULL) | 0x5678);
	/* MOVZX: byte or word memory, zero-extended to the register size. */
	assert_int_equal(write_reg(INSN_MOVZX, 0, 1, 4, false, 0xffffff80), 0x80);
	assert_int_equal(write_reg(INSN_MOVZX, 0, 2, 8, false, 0xffff8000), 0x8000);
	assert_int_equal(write_reg(INSN_MOVZX, 5, 1, 2, false, 0x1ff), ((V + 5) & ~0xffffULL) | 0xff);
	/* MOVSX: sign-extended to the register size, 32-bit still zeroing the top. */
	assert_int_equal(write_reg(INSN_MOVSX, 0, 1, 4, false, 0x80), 0xffffff80ULL);
	assert_int_equal(write_reg(INSN_MOVSX, 0, 1, 4, false, 0x7f), 0x7f);
	assert_int_equal(write_reg(INSN_MOVSX, 0, 1, 2, false, 0x80), (V & ~0xffffULL) | 0xff80);
	assert_int_equal(write_reg(INSN_MOVSX, 0, 2, 8, false, 0x8000), 0xffffffffffff8000ULL);
	assert_int_equal(write_reg(INSN_MOVSX, 0, 2, 4, false, 0xfffe), 0xfffffffeULL);
	assert_int_equal(write_reg(INSN_MOVSX, 0, 4, 8, false, 0x80000000), 0xffffffff80000000ULL);
	assert_int_equal(write_reg(INSN_MOVSX, 0, 4, 8, false, 0xffffffff7fffffffULL), 0x7fffffffULL);
	/* No register operand: nothing written. */
	assert_int_equal(write_reg(INSN_MOVS, 0, 1, 0, false, 0x42), V);
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

	static const uint8_t movsxd[] = { 0x48, 0x63, 0x0f }; /* movsxd rcx, dword [rdi] */
	assert_null(insn_decode(movsxd, sizeof(movsxd), M64, &in));
	insn_write_reg(gpr, &in, 0x87654321);
	assert_int_equal(gpr[1], 0xffffffff87654321ULL);
}

static void test_store_value(void **state)
{
	(void)state;
	uint64_t gpr[16];
	for (unsigned i = 0; i < 16; i++)
		gpr[i] = V + (uint64_t)i * 0x0101010101010101ULL;
	struct insn in = { .op = STORE, .reg_size = 1 };

	in.reg = 0, in.mem_size = 1;
	assert_int_equal(insn_store_value(gpr, &in), 0x88);
	in.high_byte = true; /* AH */
	assert_int_equal(insn_store_value(gpr, &in), 0x77);
	in.high_byte = false, in.reg = 13; /* R13B */
	assert_int_equal(insn_store_value(gpr, &in), (uint8_t)(V + 13 * 0x0101010101010101ULL));
	in.reg = 2, in.mem_size = in.reg_size = 2;
	assert_int_equal(insn_store_value(gpr, &in), (V + 2 * 0x0101010101010101ULL) & 0xffff);
	in.mem_size = in.reg_size = 4;
	assert_int_equal(insn_store_value(gpr, &in), (V + 2 * 0x0101010101010101ULL) & 0xffffffff);
	in.mem_size = in.reg_size = 8;
	assert_int_equal(insn_store_value(gpr, &in), V + 2 * 0x0101010101010101ULL);

	/* An immediate store writes the (already extended) immediate. */
	in = (struct insn){ .op = STORE, .mem_size = 8, .has_imm = true, .imm = 0xffffffff80000000ULL };
	assert_int_equal(insn_store_value(gpr, &in), 0xffffffff80000000ULL);

	/* Through the decoder: mov [rbx], ch; mov [rbx], bpl; stosw. */
	static const uint8_t mov_ch[] = { 0x88, 0x2b }, mov_bpl[] = { 0x40, 0x88, 0x2b },
			     stosw[] = { 0x66, 0xab };
	assert_null(insn_decode(mov_ch, sizeof(mov_ch), M64, &in));
	assert_int_equal(insn_store_value(gpr, &in), (uint8_t)((V + 0x0101010101010101ULL) >> 8));
	assert_null(insn_decode(mov_bpl, sizeof(mov_bpl), M64, &in));
	assert_int_equal(insn_store_value(gpr, &in), (uint8_t)(V + 5 * 0x0101010101010101ULL));
	assert_null(insn_decode(stosw, sizeof(stosw), M64, &in));
	assert_int_equal(insn_store_value(gpr, &in), V & 0xffff);
}

static void test_extension_helpers(void **state)
{
	(void)state;
	assert_int_equal(insn_zero_extend(0x1234567890abcdefULL, 1), 0xef);
	assert_int_equal(insn_zero_extend(0x1234567890abcdefULL, 2), 0xcdef);
	assert_int_equal(insn_zero_extend(0x1234567890abcdefULL, 4), 0x90abcdef);
	assert_int_equal(insn_zero_extend(0x1234567890abcdefULL, 8), 0x1234567890abcdefULL);
	assert_int_equal(insn_sign_extend(0x7f, 1), 0x7f);
	assert_int_equal(insn_sign_extend(0x80, 1), 0xffffffffffffff80ULL);
	assert_int_equal(insn_sign_extend(0x1280, 1), 0xffffffffffffff80ULL); /* upper bits ignored */
	assert_int_equal(insn_sign_extend(0x7fff, 2), 0x7fff);
	assert_int_equal(insn_sign_extend(0x8000, 2), 0xffffffffffff8000ULL);
	assert_int_equal(insn_sign_extend(0x80000000, 4), 0xffffffff80000000ULL);
	assert_int_equal(insn_sign_extend(0x123456787fffffffULL, 4), 0x7fffffff);
	assert_int_equal(insn_sign_extend(0x8000000000000000ULL, 8), 0x8000000000000000ULL);
}

/* --- Flags -------------------------------------------------------------------------- */

/* "CPAZSO" letters to RFLAGS bits. */
static uint64_t flags_of(const char *s)
{
	uint64_t f = 0;
	for (; *s; s++)
		f |= *s == 'C' ? RFLAGS_CF : *s == 'P' ? RFLAGS_PF : *s == 'A' ? RFLAGS_AF :
		     *s == 'Z' ? RFLAGS_ZF : *s == 'S' ? RFLAGS_SF : *s == 'O' ? RFLAGS_OF : 0;
	return f;
}

struct known {
	enum insn_alu alu;
	unsigned size;
	uint64_t dst, src;
	bool carry_in;
	uint64_t result;
	const char *flags;
};

/* Worked by hand from SDM Vol. 1 3.4.3.1 and Appendix A. */
static const struct known knowns[] = {
	{ ADD, 1, 0x7f, 0x01, false, 0x80, "ASO" },
	{ ADD, 1, 0xff, 0x01, false, 0x00, "CPAZ" },
	{ ADD, 1, 0x80, 0x80, false, 0x00, "CPZO" },
	{ ADD, 2, 0x7fff, 0x0001, false, 0x8000, "PASO" },
	{ ADD, 4, 0xffffffff, 0x1, false, 0x0, "CPAZ" },
	{ ADD, 4, 0x12345678, 0x11111111, false, 0x23456789, "" },
	{ ADD, 8, 0x7fffffffffffffffULL, 1, false, 0x8000000000000000ULL, "PASO" },
	{ ADD, 8, 0xffffffffffffffffULL, 0xffffffffffffffffULL, false, 0xfffffffffffffffeULL, "CAS" },
	{ ADD, 1, 0x08, 0x08, true, 0x10, "A" }, /* ADD ignores the carry in */
	{ ADC, 1, 0xff, 0x00, true, 0x00, "CPAZ" },
	{ ADC, 1, 0x7f, 0x00, true, 0x80, "ASO" },
	{ ADC, 4, 0xffffffff, 0xffffffff, true, 0xffffffff, "CPAS" },
	{ ADC, 2, 0x1234, 0x1111, false, 0x2345, "" },
	{ SUB, 1, 0x00, 0x01, false, 0xff, "CPAS" },
	{ SUB, 1, 0x80, 0x01, false, 0x7f, "AO" },
	{ SUB, 4, 5, 5, false, 0, "PZ" },
	{ SUB, 2, 0x8000, 0x0001, false, 0x7fff, "PAO" },
	{ SUB, 8, 0, 0x8000000000000000ULL, false, 0x8000000000000000ULL, "CPSO" },
	{ SUB, 4, 0x10, 0x1, true, 0xf, "PA" }, /* SUB ignores the carry in */
	{ SBB, 1, 0x00, 0x00, true, 0xff, "CPAS" },
	{ SBB, 1, 0x05, 0x05, true, 0xff, "CPAS" },
	{ SBB, 4, 0x10, 0x0f, true, 0x00, "PAZ" },
	{ SBB, 8, 0x8000000000000000ULL, 0, true, 0x7fffffffffffffffULL, "PAO" },
	{ CMP, 1, 0x41, 0x41, false, 0x00, "PZ" },
	{ CMP, 4, 1, 2, false, 0xffffffff, "CPAS" },
	{ CMP, 2, 0x7fff, 0xffff, false, 0x8000, "CPSO" },
	{ AND, 1, 0xf0, 0x0f, true, 0x00, "PZ" },
	{ AND, 4, 0x80000000, 0xffffffff, false, 0x80000000, "PS" },
	{ AND, 8, 0xff00ff00ff00ff00ULL, 0x0ff00ff00ff00ff0ULL, false, 0x0f000f000f000f00ULL, "P" },
	{ OR, 1, 0x01, 0x02, false, 0x03, "P" },
	{ OR, 8, 0x8000000000000000ULL, 1, false, 0x8000000000000001ULL, "S" },
	{ OR, 2, 0, 0, true, 0, "PZ" },
	{ XOR, 2, 0xffff, 0xffff, false, 0, "PZ" },
	{ XOR, 1, 0x55, 0x0f, false, 0x5a, "P" },
	{ XOR, 4, 0x7fffffff, 0xffffffff, false, 0x80000000, "PS" },
};

static void test_flags_known_values(void **state)
{
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(knowns); i++) {
		const struct known *k = &knowns[i];
		/* From clear status flags, and from all of them set (but CF as
		 * the row says): the result must not depend on the old flags.
		 * Bits other than the status flags are kept. */
		static const uint64_t others[] = { 0x2, 0x2 | RFLAGS_STATUS | RFLAGS_DF | RFLAGS_IF | RFLAGS_AC };
		for (unsigned j = 0; j < ARRAY_SIZE(others); j++) {
			uint64_t in = (others[j] & ~RFLAGS_CF) | (k->carry_in ? RFLAGS_CF : 0), f = in;
			uint64_t res = insn_alu(k->alu, k->size, k->dst, k->src, &f);
			uint64_t want = (in & ~RFLAGS_STATUS) | flags_of(k->flags);
			if (res != k->result || f != want)
				fail_msg("row %u: %s%u 0x%llx, 0x%llx (CF %d): result 0x%llx flags 0x%llx, "
					 "expected 0x%llx flags 0x%llx",
					 i, insn_alu_name(k->alu), k->size * 8, (unsigned long long)k->dst,
					 (unsigned long long)k->src, k->carry_in, (unsigned long long)res,
					 (unsigned long long)f, (unsigned long long)k->result,
					 (unsigned long long)want);
		}
	}
	/* Operands wider than the size are cut first. */
	uint64_t f = 0x2;
	assert_int_equal(insn_alu(ADD, 1, 0x1ff, 0x101, &f), 0x00);
	assert_int_equal(f, 0x2 | flags_of("CPAZ"));
}

#if defined(__x86_64__)
/* The host CPU as the reference: run the instruction itself with the given
 * flags and read them back (the asm keeps clear of the red zone). */
#define HW(mnemonic, d, s, fin, fout)                                                           \
	__asm__ volatile("sub $128, %%rsp\n\tpush %[fi]\n\tpopfq\n\t" mnemonic " %[sv], %[dv]\n\t" \
			 "pushfq\n\tpop %[fo]\n\tadd $128, %%rsp"                                  \
			 : [dv] "+r"(d), [fo] "=&r"(fout)                                          \
			 : [sv] "r"(s), [fi] "r"(fin)                                              \
			 : "cc", "memory")

#define HW_ALU(T)                                                                          \
	static uint64_t hw_alu_##T(enum insn_alu alu, uint64_t dst, uint64_t src, uint64_t fin, \
				   uint64_t *fout)                                              \
	{                                                                                  \
		T d = (T)dst, s = (T)src;                                                  \
		uint64_t fo = 0;                                                           \
		switch (alu) {                                                             \
		case ADD: HW("add", d, s, fin, fo); break;                                 \
		case OR: HW("or", d, s, fin, fo); break;                                   \
		case ADC: HW("adc", d, s, fin, fo); break;                                 \
		case SBB: HW("sbb", d, s, fin, fo); break;                                 \
		case AND: HW("and", d, s, fin, fo); break;                                 \
		case SUB: HW("sub", d, s, fin, fo); break;                                 \
		case XOR: HW("xor", d, s, fin, fo); break;                                 \
		case CMP: HW("cmp", d, s, fin, fo); break;                                 \
		}                                                                          \
		*fout = fo;                                                                \
		return d;                                                                  \
	}
HW_ALU(uint8_t)
HW_ALU(uint16_t)
HW_ALU(uint32_t)
HW_ALU(uint64_t)

static uint64_t hw_alu(enum insn_alu alu, unsigned size, uint64_t dst, uint64_t src, uint64_t fin,
		       uint64_t *fout)
{
	switch (size) {
	case 1: return hw_alu_uint8_t(alu, dst, src, fin, fout);
	case 2: return hw_alu_uint16_t(alu, dst, src, fin, fout);
	case 4: return hw_alu_uint32_t(alu, dst, src, fin, fout);
	default: return hw_alu_uint64_t(alu, dst, src, fin, fout);
	}
}
#endif

static uint64_t rnd64(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* Operands that reach the edge cases often: 0, 1, all-ones, the sign bit, near it. */
static uint64_t interesting_operand(uint64_t *s)
{
	static const uint64_t edges[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
					  0x7fffffff, 0x80000000, 0xffffffff, 0x0f, 0x10,
					  0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL };
	uint64_t r = rnd64(s);
	return (r & 3) ? edges[(r >> 2) % ARRAY_SIZE(edges)] + ((r >> 8) & 3) - 1 : rnd64(s);
}

static void test_flags_against_the_cpu(void **state)
{
	(void)state;
#if defined(__x86_64__)
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	for (unsigned iter = 0; iter < 200000; iter++) {
		enum insn_alu alu = (enum insn_alu)(rnd64(&seed) & 7);
		unsigned size = sizes[rnd64(&seed) & 3];
		uint64_t dst = interesting_operand(&seed), src = interesting_operand(&seed);
		uint64_t fin = 0x202 | (rnd64(&seed) & RFLAGS_STATUS), fhw, fsw = fin;
		uint64_t rhw = hw_alu(alu, size, dst, src, fin, &fhw);
		uint64_t rsw = insn_alu(alu, size, dst, src, &fsw);
		/* AF is undefined after AND, OR, XOR: not compared. */
		bool logic = alu == AND || alu == OR || alu == XOR;
		uint64_t mask = RFLAGS_STATUS & ~(logic ? RFLAGS_AF : 0);
		if ((alu != CMP && rsw != insn_zero_extend(rhw, size)) || ((fsw ^ fhw) & mask))
			fail_msg("%s%u 0x%llx, 0x%llx flags in 0x%llx: ours 0x%llx flags 0x%llx, "
				 "CPU 0x%llx flags 0x%llx",
				 insn_alu_name(alu), size * 8, (unsigned long long)dst,
				 (unsigned long long)src, (unsigned long long)fin,
				 (unsigned long long)rsw, (unsigned long long)fsw,
				 (unsigned long long)rhw, (unsigned long long)fhw);
	}
#else
	skip();
#endif
}

/* --- Carrying instructions out ------------------------------------------------------------ */

struct run {
	uint64_t gpr[16];
	uint64_t rflags;
	uint64_t store;
	bool stored;
};

static struct insn run(const uint8_t *bytes, unsigned n, enum cpu_mode mode, struct run *r,
		       uint64_t mem)
{
	struct insn in;
	assert_null(insn_decode(bytes, n, mode, &in));
	r->store = 0xdeadbeef;
	r->stored = insn_execute(&in, r->gpr, &r->rflags, mem, &r->store);
	assert_int_equal(r->stored, insn_writes_memory(&in));
	return in;
}

static void init_run(struct run *r)
{
	for (unsigned i = 0; i < 16; i++)
		r->gpr[i] = V + i;
	r->rflags = 0x202;
}

static void test_execute(void **state)
{
	(void)state;
	struct run r;

	/* add [ebx], eax: memory is the destination. */
	static const uint8_t add_m_r[] = { 0x01, 0x03 };
	init_run(&r);
	r.gpr[0] = 0xffffffff;
	run(add_m_r, 2, M32, &r, 1);
	assert_int_equal(r.store, 0);
	assert_int_equal(r.rflags, 0x202 | flags_of("CPAZ"));
	assert_int_equal(r.gpr[0], 0xffffffff);

	/* sub ecx, [ebx]: the register is. */
	static const uint8_t sub_r_m[] = { 0x2b, 0x0b };
	init_run(&r);
	r.gpr[1] = 0x123456789;
	run(sub_r_m, 2, M32, &r, 0x100000000ULL | 0x89); /* memory cut to 4 bytes */
	assert_int_equal(r.gpr[1], 0x23456700); /* 32-bit write: upper half zeroed */
	assert_false(r.stored);

	/* or byte [ebx], 0x80 */
	static const uint8_t or_imm[] = { 0x80, 0x0b, 0x80 };
	init_run(&r);
	run(or_imm, 3, M32, &r, 0x01);
	assert_int_equal(r.store, 0x81);
	assert_int_equal(r.rflags, 0x202 | flags_of("PS"));

	/* adc dword [ebx], 5 with CF set */
	static const uint8_t adc_imm[] = { 0x83, 0x13, 0x05 };
	init_run(&r);
	r.rflags |= RFLAGS_CF;
	run(adc_imm, 3, M32, &r, 10);
	assert_int_equal(r.store, 16);

	/* cmp al, [ebx]: AL - mem; nothing written. */
	static const uint8_t cmp_r_m[] = { 0x3a, 0x03 };
	init_run(&r);
	r.gpr[0] = 0x01;
	run(cmp_r_m, 2, M32, &r, 0x02);
	assert_int_equal(r.rflags, 0x202 | flags_of("CPAS"));
	assert_int_equal(r.gpr[0], 0x01);
	/* cmp [ebx], al: mem - AL. */
	static const uint8_t cmp_m_r[] = { 0x38, 0x03 };
	init_run(&r);
	r.gpr[0] = 0x01;
	run(cmp_m_r, 2, M32, &r, 0x02);
	assert_int_equal(r.rflags, 0x202);

	/* test byte [ebx], 1 */
	static const uint8_t test_imm[] = { 0xf6, 0x03, 0x01 };
	init_run(&r);
	r.rflags |= RFLAGS_CF | RFLAGS_OF;
	run(test_imm, 3, M32, &r, 0xfe);
	assert_int_equal(r.rflags, 0x202 | flags_of("PZ"));

	/* xchg [ebx], ah */
	static const uint8_t xchg_ah[] = { 0x86, 0x23 };
	init_run(&r);
	run(xchg_ah, 2, M32, &r, 0x5a);
	assert_int_equal(r.store, 0x77); /* AH of V */
	assert_int_equal(r.gpr[0], (V & ~0xff00ULL) | 0x5a00);

	/* mov [ebx], eax; mov eax, [ebx]; movsx */
	static const uint8_t mov_st[] = { 0x89, 0x03 }, mov_ld[] = { 0x8b, 0x03 },
			     movsx_w[] = { 0x0f, 0xbf, 0x03 };
	init_run(&r);
	run(mov_st, 2, M32, &r, 0);
	assert_int_equal(r.store, V & 0xffffffff);
	run(mov_ld, 2, M32, &r, 0xaabbccdd);
	assert_int_equal(r.gpr[0], 0xaabbccdd);
	run(movsx_w, 3, M32, &r, 0x8001);
	assert_int_equal(r.gpr[0], 0xffff8001);

	/* stosb, movsd: one element. */
	static const uint8_t stosb[] = { 0xaa }, movsd[] = { 0xa5 };
	init_run(&r);
	run(stosb, 1, M32, &r, 0);
	assert_int_equal(r.store, 0x88);
	run(movsd, 1, M32, &r, 0x1122334455ULL);
	assert_int_equal(r.store, 0x22334455);
}

static void test_execute_bt(void **state)
{
	(void)state;
	struct run r;
	struct insn in;
	int64_t off;
	unsigned bit;

	/* bt dword [ebx], 5 */
	static const uint8_t bt5[] = { 0x0f, 0xba, 0x23, 0x05 };
	init_run(&r);
	r.rflags |= RFLAGS_ZF | RFLAGS_OF;
	run(bt5, 4, M32, &r, 0x20);
	assert_int_equal(r.rflags, 0x202 | RFLAGS_ZF | RFLAGS_OF | RFLAGS_CF); /* only CF changes */
	run(bt5, 4, M32, &r, ~0x20ULL);
	assert_int_equal(r.rflags, 0x202 | RFLAGS_ZF | RFLAGS_OF);

	/* An immediate is taken modulo the operand width. */
	static const uint8_t bt_ff[] = { 0x0f, 0xba, 0x23, 0xff }, bt_w_ff[] = { 0x66, 0x0f, 0xba, 0x23, 0xff };
	in = run(bt_ff, 4, M32, &r, 0x80000000);
	insn_bt_locate(&in, r.gpr, &off, &bit);
	assert_int_equal(bit, 31);
	assert_int_equal(off, 0);
	assert_true(r.rflags & RFLAGS_CF);
	in = run(bt_w_ff, 5, M32, &r, 0x8000);
	insn_bt_locate(&in, r.gpr, &off, &bit);
	assert_int_equal(bit, 15);
	assert_true(r.rflags & RFLAGS_CF);

	/* A register offset is signed and may select another element. */
	static const uint8_t bt_eax[] = { 0x0f, 0xa3, 0x03 }, bt_cx[] = { 0x66, 0x0f, 0xa3, 0x0b },
			     bt_r9[] = { 0x4c, 0x0f, 0xa3, 0x0b };
	static const struct {
		const uint8_t *bytes;
		unsigned n;
		enum cpu_mode mode;
		unsigned reg;
		uint64_t value;
		int64_t off;
		unsigned bit;
	} cases[] = {
		{ bt_eax, 3, M32, 0, 0, 0, 0 },
		{ bt_eax, 3, M32, 0, 31, 0, 31 },
		{ bt_eax, 3, M32, 0, 35, 4, 3 },
		{ bt_eax, 3, M32, 0, 0xffffffff, -4, 31 },       /* -1 */
		{ bt_eax, 3, M32, 0, 0xffffffe0, -4, 0 },        /* -32 */
		{ bt_eax, 3, M32, 0, 0xffffffdf, -8, 31 },       /* -33 */
		{ bt_eax, 3, M32, 0, 0x7fffffff, 0x0ffffffc, 31 },
		{ bt_eax, 3, M32, 0, 0x80000000, -0x10000000, 0 },
		{ bt_eax, 3, M32, 0, 0xffffffff00000040ULL, 8, 0 }, /* upper half ignored */
		{ bt_cx, 4, M32, 1, 0xffff, -2, 15 },
		{ bt_cx, 4, M32, 1, 0x10, 2, 0 },
		{ bt_cx, 4, M32, 1, 0x8000, -0x1000, 0 },     /* -32768 */
		{ bt_r9, 4, M64, 9, 64 * 3 + 7, 24, 7 },
		{ bt_r9, 4, M64, 9, ~0ULL, -8, 63 },
		{ bt_r9, 4, M64, 9, 0x8000000000000000ULL, -(int64_t)0x1000000000000000LL, 0 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		init_run(&r);
		r.gpr[cases[i].reg] = cases[i].value;
		in = run(cases[i].bytes, cases[i].n, cases[i].mode, &r, 1ULL << cases[i].bit);
		insn_bt_locate(&in, r.gpr, &off, &bit);
		if (off != cases[i].off || bit != cases[i].bit)
			fail_msg("case %u: offset %lld bit %u, expected %lld bit %u", i, (long long)off,
				 bit, (long long)cases[i].off, cases[i].bit);
		assert_true(r.rflags & RFLAGS_CF);
	}
}

static void test_memory_access_kinds(void **state)
{
	(void)state;
	static const struct {
		uint8_t bytes[4];
		unsigned n;
		bool reads, writes;
	} cases[] = {
		{ { 0x8b, 0x03 }, 2, true, false },       /* mov eax, [ebx] */
		{ { 0x89, 0x03 }, 2, false, true },       /* mov [ebx], eax */
		{ { 0x0f, 0xb6, 0x03 }, 3, true, false }, /* movzx */
		{ { 0x0f, 0xbe, 0x03 }, 3, true, false }, /* movsx */
		{ { 0xa4 }, 1, true, true },              /* movsb */
		{ { 0xaa }, 1, false, true },             /* stosb */
		{ { 0x01, 0x03 }, 2, true, true },        /* add [ebx], eax */
		{ { 0x03, 0x03 }, 2, true, false },       /* add eax, [ebx] */
		{ { 0x39, 0x03 }, 2, true, false },       /* cmp */
		{ { 0x85, 0x03 }, 2, true, false },       /* test */
		{ { 0x0f, 0xa3, 0x03 }, 3, true, false }, /* bt */
		{ { 0x87, 0x03 }, 2, true, true },        /* xchg */
	};
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		struct insn in;
		assert_null(insn_decode(cases[i].bytes, cases[i].n, M32, &in));
		assert_int_equal(insn_reads_memory(&in), cases[i].reads);
		assert_int_equal(insn_writes_memory(&in), cases[i].writes);
	}
}

static void test_string_helpers(void **state)
{
	(void)state;
	struct insn in;
	uint64_t gpr[16] = { 0 };

	static const uint8_t rep_movsd[] = { 0xf3, 0xa5 }, movsd[] = { 0xa5 },
			     rep_stosq[] = { 0xf3, 0x48, 0xab }, rep_stosb_67[] = { 0xf3, 0x67, 0xaa };
	assert_null(insn_decode(rep_movsd, 2, M32, &in));
	gpr[1] = 0x100000005ULL; /* RCX: ECX counts with 32-bit addressing */
	gpr[6] = 0x1000;
	gpr[7] = 0x2000;
	assert_int_equal(insn_rep_count(&in, gpr), 5);
	insn_string_advance(&in, gpr, 0x202, 2);
	assert_int_equal(gpr[6], 0x1008);
	assert_int_equal(gpr[7], 0x2008);
	assert_int_equal(gpr[1], 3);
	insn_string_advance(&in, gpr, 0x202 | RFLAGS_DF, 3); /* DF: downwards */
	assert_int_equal(gpr[6], 0x1008 - 12);
	assert_int_equal(gpr[7], 0x2008 - 12);
	assert_int_equal(gpr[1], 0);

	/* Without REP: one element, rCX untouched. */
	assert_null(insn_decode(movsd, 1, M32, &in));
	gpr[1] = 77;
	assert_int_equal(insn_rep_count(&in, gpr), 1);
	insn_string_advance(&in, gpr, 0x202, 1);
	assert_int_equal(gpr[1], 77);

	/* STOS moves rDI only; 64-bit addressing. */
	assert_null(insn_decode(rep_stosq, 3, M64, &in));
	gpr[1] = 0x100000000ULL;
	gpr[6] = 0x5000;
	gpr[7] = 0xfffffffffffffff8ULL;
	assert_int_equal(insn_rep_count(&in, gpr), 0x100000000ULL);
	insn_string_advance(&in, gpr, 0x202, 1);
	assert_int_equal(gpr[7], 0);
	assert_int_equal(gpr[6], 0x5000);
	assert_int_equal(gpr[1], 0xffffffffULL);

	/* 32-bit addressing in 64-bit mode: EDI wraps, upper halves zeroed. */
	assert_null(insn_decode(rep_stosb_67, 3, M64, &in));
	gpr[1] = 0xaaaaaaaa00000000ULL;
	gpr[7] = 0x55555555ffffffffULL;
	assert_int_equal(insn_rep_count(&in, gpr), 0);
	insn_string_advance(&in, gpr, 0x202, 1);
	assert_int_equal(gpr[7], 0);
	assert_int_equal(gpr[1], 0xffffffffULL);
}

/* --- Random bytes ----------------------------------------------------------------- */

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* 300000 random byte strings (fixed seed), biased towards prefixes and the
 * opcodes the decoder knows: never a read past avail (ASan), a length within
 * avail, sane fields, the same answer for exactly the reported bytes, and
 * executing the result is defined behaviour (UBSan). */
static void test_random_bytes(void **state)
{
	(void)state;
	static const uint8_t interesting[] = {
		0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x40, 0x41, 0x44,
		0x48, 0x4c, 0x4f, 0x00, 0x01, 0x02, 0x03, 0x09, 0x11, 0x1b, 0x21, 0x2b, 0x31, 0x39,
		0x3a, 0x63, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
		0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xaa, 0xab, 0xc6, 0xc7, 0xf6, 0xf7, 0x0f, 0xa3,
		0xb6, 0xb7, 0xba, 0xbe, 0xbf, 0x04, 0x05, 0x25, 0x44, 0x84, 0x00, 0xc0, 0x23, 0x3f
	};
	uint32_t seed = 20240601;
	uint64_t rseed = 12345;
	unsigned ok = 0, ops[INSN_XCHG + 1] = { 0 };
	for (unsigned iter = 0; iter < 300000; iter++) {
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
		if (err) {
			assert_true(strlen(err) > 10);
			continue;
		}
		ok++;
		ops[in.op]++;
		assert_true(in.len >= 1 && in.len <= avail && in.len <= INSN_MAX_LEN);
		assert_true(in.op <= INSN_XCHG);
		assert_true(in.mem_size == 1 || in.mem_size == 2 || in.mem_size == 4 ||
			    in.mem_size == 8);
		assert_true(in.reg < 16);
		assert_true(in.reg_size == 0 || in.reg_size == 1 || in.reg_size == 2 ||
			    in.reg_size == 4 || in.reg_size == 8);
		assert_true(in.reg_size || in.has_imm || in.op == INSN_MOVS);
		if (in.high_byte)
			assert_true(in.reg < 4 && in.reg_size == 1);
		assert_true(in.addr_size == 4 || (in.addr_size == 8 && mode == M64));
		assert_true(in.seg <= INSN_SEG_GS);
		assert_true(in.base >= INSN_NO_REG && in.base < 16);
		assert_true(in.index >= INSN_NO_REG && in.index < 16 && in.index != 4);
		assert_true(in.scale == 1 || in.scale == 2 || in.scale == 4 || in.scale == 8);
		assert_true(insn_zero_extend(in.imm, in.op == INSN_BT ? 1 : in.mem_size) == in.imm);
		if (in.rep)
			assert_true(in.op == INSN_MOVS || in.op == INSN_STOS);
		/* Exactly its own bytes decode the same; one fewer does not decode. */
		struct insn again;
		decode_exact(bytes, in.len, mode, &err, &again);
		assert_null(err);
		assert_memory_equal(&in, &again, sizeof(in));
		decode_exact(bytes, in.len - 1, mode, &err, &again);
		assert_non_null(err);
		/* Carrying it out is defined for any register values. */
		uint64_t gpr[16], rflags = rnd64(&rseed), store = 0;
		for (unsigned i = 0; i < 16; i++)
			gpr[i] = rnd64(&rseed);
		bool stored = insn_execute(&in, gpr, &rflags, rnd64(&rseed), &store);
		assert_int_equal(stored, insn_writes_memory(&in));
		if (stored)
			assert_int_equal(insn_zero_extend(store, in.mem_size), store);
		(void)insn_effective_address(&in, gpr, rnd64(&rseed));
	}
	assert_true(ok > 10000);
	for (unsigned op = 0; op <= INSN_XCHG; op++)
		if (ops[op] < 20)
			fail_msg("random bytes reached %s only %u times", insn_op_name(op), ops[op]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_supported_forms),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_c7_cut_in_displacement),
		cmocka_unit_test(test_addressing),
		cmocka_unit_test(test_effective_address),
		cmocka_unit_test(test_write_reg_partial_rules),
		cmocka_unit_test(test_decode_then_write),
		cmocka_unit_test(test_store_value),
		cmocka_unit_test(test_extension_helpers),
		cmocka_unit_test(test_flags_known_values),
		cmocka_unit_test(test_flags_against_the_cpu),
		cmocka_unit_test(test_execute),
		cmocka_unit_test(test_execute_bt),
		cmocka_unit_test(test_memory_access_kinds),
		cmocka_unit_test(test_string_helpers),
		cmocka_unit_test(test_random_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
