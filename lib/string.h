#ifndef LIB_STRING_H
#define LIB_STRING_H

#include "lib/types.h"

#ifdef HV_HOSTED
/* Host unit tests use the C library's versions. strnlen is POSIX, not
 * ISO C: <string.h> hides it under -std=c11. */
#include <string.h>
size_t strnlen(const char *s, size_t max);
#else
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
#endif

/* Parse an unsigned number: decimal, or hex with 0x; an optional K/M/G suffix
 * when allow_suffix. Returns false on empty input, junk or overflow. */
bool parse_u64(const char *s, size_t len, uint64_t *out, bool allow_suffix);

#endif
