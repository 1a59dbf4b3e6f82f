/* A Multiboot (v1) kernel as written for QEMU's -kernel: it checks what the
 * loader gave it (spec 3.2, 3.3): the magic, memory sizes, the memory map,
 * its command line and two modules. Booted by the hypervisor and, in the
 * tests, by QEMU directly. */
#include "tests/guests/common/mbcheck.h"

#define MB1_BOOTLOADER_MAGIC 0x2badb002u

struct mb1_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table;
	uint32_t boot_loader_name;
};

struct mb1_module {
	uint32_t start, end, string, reserved;
};

void guest_main(uint32_t magic, uint32_t info_addr)
{
	const struct mb1_info *mbi = (const struct mb1_info *)info_addr;
	gprintf("mb1 kernel: started by a Multiboot (v1) loader\n");
	check(magic == MB1_BOOTLOADER_MAGIC, "EAX holds the Multiboot magic", "0x%x", magic);
	if (magic != MB1_BOOTLOADER_MAGIC)
		return;
	check(mbi->flags & 1, "memory sizes given", "flags 0x%x", mbi->flags);
	check(mbi->mem_lower >= 600 && mbi->mem_lower <= 640 && mbi->mem_upper >= 7 * 1024,
	      "memory sizes are plausible", "lower %u KiB, upper %u KiB", mbi->mem_lower, mbi->mem_upper);
	check(mbi->flags & (1 << 6), "memory map given", "flags 0x%x", mbi->flags);
	bool covers_kernel = false;
	for (uint32_t p = mbi->mmap_addr; p < mbi->mmap_addr + mbi->mmap_length;) {
		uint32_t size = *(const uint32_t *)p;
		uint64_t base = *(const uint64_t *)(p + 4), len = *(const uint64_t *)(p + 12);
		uint32_t type = *(const uint32_t *)(p + 20);
		if (type == 1 && base <= 0x100000 && base + len >= 0x200000)
			covers_kernel = true;
		p += size + 4;
	}
	check(covers_kernel, "the memory map has RAM where the kernel runs", "");
	check((mbi->flags & (1 << 2)) && str_contains((const char *)mbi->cmdline, "modules=2"),
	      "command line given", "'%s'", (mbi->flags & 4) ? (const char *)mbi->cmdline : "");
	check((mbi->flags & (1 << 3)) && mbi->mods_count == 2, "two modules given", "count %u",
	      mbi->mods_count);
	const struct mb1_module *mods = (const struct mb1_module *)mbi->mods_addr;
	for (unsigned i = 0; i < mbi->mods_count && i < 2; i++)
		check_module(i, mods[i].start, mods[i].end, (const char *)mods[i].string);
	if (mbi->flags & (1 << 9))
		gprintf("mb1 kernel: boot loader is '%s'\n", (const char *)mbi->boot_loader_name);
	checks_summary();
}
