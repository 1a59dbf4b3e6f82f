/* A Multiboot2 kernel with a header that requires information and names its
 * entry point: it checks the information tags (Multiboot2 spec 3.6). */
#include "tests/guests/common/mbcheck.h"

#define MB2_BOOTLOADER_MAGIC 0x36d76289u

extern uint32_t entry_tag_used;

void guest_main(uint32_t magic, uint32_t info_addr)
{
	gprintf("mb2 kernel: started by a Multiboot2 loader\n");
	check(magic == MB2_BOOTLOADER_MAGIC, "EAX holds the Multiboot2 magic", "0x%x", magic);
	if (magic != MB2_BOOTLOADER_MAGIC)
		return;
	check(entry_tag_used == 0x4d42, "entered at the entry address tag", "");
	check((info_addr & 7) == 0, "information is 8-byte aligned", "at 0x%x", info_addr);
	uint32_t total = *(const uint32_t *)info_addr;
	const char *cmdline = 0;
	unsigned mods = 0;
	bool meminfo = false, mmap_ok = false, end = false;
	for (uint32_t p = info_addr + 8; p + 8 <= info_addr + total;) {
		uint32_t type = *(const uint32_t *)p, size = *(const uint32_t *)(p + 4);
		if (type == 0) {
			end = true;
			break;
		}
		if (type == 1)
			cmdline = (const char *)(p + 8);
		if (type == 3) {
			check_module(mods, *(const uint32_t *)(p + 8), *(const uint32_t *)(p + 12),
				     (const char *)(p + 16));
			mods++;
		}
		if (type == 4)
			meminfo = *(const uint32_t *)(p + 12) >= 7 * 1024;
		if (type == 6) {
			uint32_t esz = *(const uint32_t *)(p + 8);
			for (uint32_t e = p + 16; e + esz <= p + size; e += esz) {
				uint64_t base = *(const uint64_t *)e, len = *(const uint64_t *)(e + 8);
				if (*(const uint32_t *)(e + 16) == 1 && base <= 0x100000 && base + len >= 0x200000)
					mmap_ok = true;
			}
		}
		p += (size + 7) & ~7u;
	}
	check(end, "the tags end with an end tag", "total %u bytes", total);
	check(cmdline && str_contains(cmdline, "modules=2"), "command line given", "'%s'",
	      cmdline ? cmdline : "");
	check(mods == 2, "two module tags", "count %u", mods);
	check(meminfo, "basic memory information given", "");
	check(mmap_ok, "the memory map has RAM where the kernel runs", "");
	checks_summary();
}
