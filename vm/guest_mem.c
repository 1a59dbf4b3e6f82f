#include "vm/guest_mem.h"
#include "lib/string.h"

void *gpa_to_hva(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (!range_within(gpa, len, 0, m->size))
		return NULL;
	return m->hva + gpa;
}

bool gpa_is_ram(const struct guest_mem *m, uint64_t gpa)
{
	return gpa < m->size;
}

bool guest_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	void *src = gpa_to_hva(m, gpa, len);
	if (!src)
		return false;
	memcpy(dst, src, (size_t)len);
	return true;
}

bool guest_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = gpa_to_hva(m, gpa, len);
	if (!dst)
		return false;
	memcpy(dst, src, (size_t)len);
	return true;
}

bool guest_fill(const struct guest_mem *m, uint64_t gpa, uint8_t byte, uint64_t len)
{
	void *dst = gpa_to_hva(m, gpa, len);
	if (!dst)
		return false;
	memset(dst, byte, (size_t)len);
	return true;
}
