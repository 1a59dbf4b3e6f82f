#include "vm/boot_info.h"
#include "boot/multiboot2.h"
#include "lib/string.h"

struct builder {
	uint8_t buf[GUEST_BOOT_INFO_MAX];
	uint32_t len;
	bool overflow;
};

static void put(struct builder *b, const void *data, uint32_t n)
{
	if (b->len + n > sizeof(b->buf)) {
		b->overflow = true;
		return;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
}

static void put32(struct builder *b, uint32_t v) { put(b, &v, 4); }
static void put64(struct builder *b, uint64_t v) { put(b, &v, 8); }
static void align8(struct builder *b)
{
	static const uint8_t zero[8];
	put(b, zero, (8 - (b->len & 7)) & 7);
}

static void put_string_tag(struct builder *b, uint32_t type, const char *s)
{
	uint32_t n = (uint32_t)strlen(s) + 1;
	put32(b, type);
	put32(b, 8 + n);
	put(b, s, n);
	align8(b);
}

uint64_t guest_mb2_info_build(const struct guest_mem *m, const char *cmdline,
			      const char *loader_name)
{
	static struct builder b; /* 4 KiB: kept off the hypervisor stack */
	memset(&b, 0, sizeof(b));

	put32(&b, 0); /* total_size, patched below */
	put32(&b, 0);
	put_string_tag(&b, MB2_TAG_CMDLINE, cmdline);
	put_string_tag(&b, MB2_TAG_BOOT_LOADER_NAME, loader_name);

	put32(&b, MB2_TAG_BASIC_MEMINFO);
	put32(&b, 16);
	put32(&b, (uint32_t)(GUEST_LOW_MEM_END / 1024));
	put32(&b, (uint32_t)((m->size - MiB(1)) / 1024));

	put32(&b, MB2_TAG_MMAP);
	put32(&b, 16 + 2 * 24);
	put32(&b, 24); /* entry size */
	put32(&b, 0);  /* entry version */
	put64(&b, 0);
	put64(&b, GUEST_LOW_MEM_END);
	put32(&b, MB2_MEMORY_AVAILABLE);
	put32(&b, 0);
	put64(&b, MiB(1));
	put64(&b, m->size - MiB(1));
	put32(&b, MB2_MEMORY_AVAILABLE);
	put32(&b, 0);

	put32(&b, MB2_TAG_END);
	put32(&b, 8);
	if (b.overflow)
		return 0;
	memcpy(b.buf, &b.len, 4);
	return guest_write(m, GUEST_BOOT_INFO_GPA, b.buf, b.len) ? b.len : 0;
}
