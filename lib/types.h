/* Freestanding basic types shared by the hypervisor and the host unit tests. */
#ifndef LIB_TYPES_H
#define LIB_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIT(n) (1ULL << (n))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((uint64_t)(a) - 1)) == 0)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define PAGE_SIZE 4096ULL
#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

#define UNUSED __attribute__((unused))
#define NORETURN __attribute__((noreturn))
#define PACKED __attribute__((packed))
#define ALIGNED(n) __attribute__((aligned(n)))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* [base, base+len) inside [lo, lo+size) without any overflow. */
static inline bool range_within(uint64_t base, uint64_t len, uint64_t lo, uint64_t size)
{
	if (base < lo)
		return false;
	if (base - lo > size)
		return false;
	return len <= size - (base - lo);
}

/* Two half-open ranges overlap (both non-empty and no overflow assumed for ends). */
static inline bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	if (alen == 0 || blen == 0)
		return false;
	return a < b + blen && b < a + alen;
}

#endif
