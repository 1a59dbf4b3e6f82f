/* A small ACPI Machine Language (AML) emitter, enough for the DSDT the
 * hypervisor hands each VM (ACPI 6.5 chapter 20, "ACPI Machine Language
 * Specification"; encodings in 20.2). It writes the byte stream an ASL
 * compiler would produce for Name, Scope, Device, Package and Buffer terms
 * with integer and EISA ID data.
 *
 * Terms that hold others (Scope, Device, Package, Buffer) start with a
 * PkgLength whose size depends on what follows: aml_open() marks where the
 * content starts, aml_close() measures it and inserts the PkgLength.
 *
 * With buf == NULL nothing is written and only the length is counted, so
 * the same code sizes a table before it is laid out. Pure logic. */
#ifndef VM_AML_H
#define VM_AML_H

#include "lib/types.h"

struct aml {
	uint8_t *buf; /* NULL: count only */
	size_t len, cap;
	bool overflow;
};

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR 0x5c

void aml_byte(struct aml *a, uint8_t v);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* A NameString: an optional leading '\' then 4-character segments joined by
 * '.', e.g. "_HID" or "\\_SB_". Segments shorter than 4 are '_'-padded. */
void aml_name(struct aml *a, const char *name);
/* The shortest integer encoding: ZeroOp, OneOp, Byte/Word/DWord/QWordConst. */
void aml_integer(struct aml *a, uint64_t v);
/* EisaId("PNP0A03"): the compressed 32-bit EISA ID (ACPI 19.6.35). */
uint32_t aml_eisaid(const char *id);

/* Open a PkgLength-prefixed term after its opcode; close it when its
 * content is written. */
size_t aml_open(struct aml *a);
void aml_close(struct aml *a, size_t start);

#endif
