#include "boot/multiboot2.h"
#include "lib/string.h"

struct mb2_tag {
	uint32_t type, size;
};

static uint32_t read_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t read_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* A string inside a tag must end inside the tag. */
static const char *tag_string(const uint8_t *tag, uint32_t tag_size, uint32_t offset)
{
	if (offset >= tag_size)
		return NULL;
	if (strnlen((const char *)tag + offset, tag_size - offset) == tag_size - offset)
		return NULL;
	return (const char *)tag + offset;
}

const char *mb2_parse(const void *info, uint64_t info_addr, struct boot_info *out)
{
	const uint8_t *base = info;
	memset(out, 0, sizeof(*out));

	if ((uintptr_t)info & 7)
		return "information block is not 8-byte aligned";
	uint32_t total = read_u32(base);
	if (total < 16)
		return "information block total_size is too small";
	out->info_addr = info_addr;
	out->info_size = total;

	bool saw_end = false;
	for (uint64_t off = 8; off + 8 <= total;) {
		const uint8_t *tag = base + off;
		uint32_t type = read_u32(tag), size = read_u32(tag + 4);

		if (size < 8)
			return "a tag is smaller than its 8-byte header";
		if (size > total - off)
			return "a tag's size runs past the information block";
		if (type == MB2_TAG_END) {
			saw_end = true;
			break;
		}
		switch (type) {
		case MB2_TAG_CMDLINE:
			out->cmdline = tag_string(tag, size, 8);
			if (!out->cmdline)
				return "command line is not NUL-terminated";
			break;
		case MB2_TAG_BOOT_LOADER_NAME:
			out->loader_name = tag_string(tag, size, 8);
			if (!out->loader_name)
				return "boot loader name is not NUL-terminated";
			break;
		case MB2_TAG_MODULE: {
			if (size < 17)
				return "module tag is too short";
			uint32_t start = read_u32(tag + 8), end = read_u32(tag + 12);
			const char *s = tag_string(tag, size, 16);
			if (!s)
				return "module string is not NUL-terminated";
			if (end < start)
				return "module ends before it starts";
			if (out->module_count == MB2_MAX_MODULES) {
				out->modules_dropped++;
				break;
			}
			out->modules[out->module_count++] = (struct mb2_module){ start, end, s };
			break;
		}
		case MB2_TAG_BASIC_MEMINFO:
			if (size < 16)
				return "basic memory information tag is too short";
			out->mem_lower_kib = read_u32(tag + 8);
			out->mem_upper_kib = read_u32(tag + 12);
			break;
		case MB2_TAG_MMAP: {
			if (size < 16)
				return "memory map tag is too short";
			uint32_t entry_size = read_u32(tag + 8);
			if (entry_size < 24 || (entry_size & 7))
				return "memory map entry size is invalid";
			for (uint32_t e = 16; e + entry_size <= size; e += entry_size) {
				if (out->mmap_count == MB2_MAX_MMAP)
					return "memory map has too many entries";
				struct mb2_mmap_entry *m = &out->mmap[out->mmap_count++];
				m->base = read_u64(tag + e);
				m->length = read_u64(tag + e + 8);
				m->type = read_u32(tag + e + 16);
				if (m->base + m->length < m->base)
					return "memory map entry wraps around";
			}
			break;
		}
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW:
			/* The ACPI 1.0 RSDP is 20 bytes, the 2.0 one 36 (ACPI 5.2.5.3). */
			if (size < 8 + (type == MB2_TAG_ACPI_OLD ? 20 : 36))
				return "ACPI RSDP tag is too short";
			out->rsdp = tag + 8;
			out->rsdp_len = size - 8;
			out->rsdp_revision = type == MB2_TAG_ACPI_OLD ? 1 : 2;
			break;
		default:
			break; /* tags we do not use are skipped, as the spec asks */
		}
		off += ((uint64_t)size + 7) & ~7ull;
	}
	if (!saw_end)
		return "no end tag";
	return NULL;
}

const char *mb2_memory_type_name(uint32_t type)
{
	switch (type) {
	case MB2_MEMORY_AVAILABLE: return "available";
	case MB2_MEMORY_RESERVED: return "reserved";
	case MB2_MEMORY_ACPI_RECLAIMABLE: return "ACPI reclaimable";
	case MB2_MEMORY_NVS: return "ACPI NVS";
	case MB2_MEMORY_BADRAM: return "bad RAM";
	default: return "unknown";
	}
}
