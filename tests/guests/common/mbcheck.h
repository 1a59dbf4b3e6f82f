/* Checks shared by the Multiboot test kernels: what every loader must give. */
#ifndef MBCHECK_H
#define MBCHECK_H

#include "tests/guests/common/guest.h"

static inline bool str_ends_with(const char *s, const char *suffix)
{
	uint32_t n = 0, m = 0;
	while (s[n])
		n++;
	while (suffix[m])
		m++;
	if (m > n)
		return false;
	for (uint32_t i = 0; i < m; i++)
		if (s[n - m + i] != suffix[i])
			return false;
	return true;
}

static inline bool str_contains(const char *s, const char *needle)
{
	for (; *s; s++) {
		uint32_t i = 0;
		while (needle[i] && s[i] == needle[i])
			i++;
		if (!needle[i])
			return true;
	}
	return false;
}

/* Module i (0-based) holds "MODULE<i+1>" and is named ...mod<i+1>.txt. */
static inline void check_module(unsigned i, uint32_t start, uint32_t end, const char *string)
{
	static const char *const names[2] = { "mod1.txt", "mod2.txt" };
	const char *data = (const char *)start;
	bool content = end - start >= 7 && data[0] == 'M' && data[1] == 'O' && data[2] == 'D' &&
		       data[6] == (char)('1' + i);
	check((start & 0xfff) == 0, i ? "module 2 is page aligned" : "module 1 is page aligned",
	      "at 0x%x", start);
	check(content, i ? "module 2 holds its file" : "module 1 holds its file", "%u bytes", end - start);
	check(i < 2 && str_ends_with(string, names[i]), i ? "module 2 string names it" : "module 1 string names it",
	      "'%s'", string);
}

#endif
