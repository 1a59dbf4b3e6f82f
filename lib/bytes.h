/* Reading and writing little-endian fields of guest images and tables at
 * any alignment: through memcpy, which compilers turn into one load or
 * store, so no unaligned pointer is ever dereferenced (C11 6.3.2.3). x86
 * is little-endian, as are every format read here (ELF for x86-64,
 * Multiboot, the Linux boot protocol, ACPI). */
#ifndef LIB_BYTES_H
#define LIB_BYTES_H

#include "lib/types.h"
#include "lib/string.h"

static inline uint16_t get_le16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t get_le32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t get_le64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void put_le32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put_le64(void *p, uint64_t v) { memcpy(p, &v, 8); }

#endif
