#include "vm/elf_loader.h"
#include "lib/bytes.h"
#include "lib/string.h"

#define EI_CLASS 4
#define EI_DATA 5
#define EI_VERSION 6
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_386 3
#define EM_X86_64 62
#define PT_LOAD 1
#define PF_X 1

/* The fields we use, widened to 64 bits from either class. */
struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};


static void read_phdr(const uint8_t *p, bool is64, struct phdr *ph)
{
	if (is64) {
		ph->type = get_le32(p);
		ph->flags = get_le32(p + 4);
		ph->offset = get_le64(p + 8);
		ph->vaddr = get_le64(p + 16);
		ph->paddr = get_le64(p + 24);
		ph->filesz = get_le64(p + 32);
		ph->memsz = get_le64(p + 40);
	} else {
		ph->type = get_le32(p);
		ph->offset = get_le32(p + 4);
		ph->vaddr = get_le32(p + 8);
		ph->paddr = get_le32(p + 12);
		ph->filesz = get_le32(p + 16);
		ph->memsz = get_le32(p + 20);
		ph->flags = get_le32(p + 24);
	}
}

const char *elf_load(const void *image, uint64_t image_size, const struct guest_mem *mem,
		     uint64_t avoid, uint64_t avoid_len, struct elf_load_result *out)
{
	const uint8_t *img = image;
	memset(out, 0, sizeof(*out));

	if (image_size < 52)
		return "too small to be an ELF file";
	if (memcmp(img, "\x7f" "ELF", 4) != 0)
		return "not an ELF file (bad magic)";
	if (img[EI_DATA] != ELFDATA2LSB)
		return "not a little-endian ELF file";
	if (img[EI_VERSION] != 1)
		return "unknown ELF version";
	bool is64;
	if (img[EI_CLASS] == ELFCLASS32)
		is64 = false;
	else if (img[EI_CLASS] == ELFCLASS64)
		is64 = true;
	else
		return "unknown ELF class";
	if (is64 && image_size < 64)
		return "truncated ELF header";

	uint16_t type = get_le16(img + 16), machine = get_le16(img + 18);
	if (type != ET_EXEC)
		return "not an executable ELF file (ET_EXEC)";
	if (machine != (is64 ? EM_X86_64 : EM_386))
		return "ELF machine is not x86";

	uint64_t entry = is64 ? get_le64(img + 24) : get_le32(img + 24);
	uint64_t phoff = is64 ? get_le64(img + 32) : get_le32(img + 28);
	uint16_t phentsize = is64 ? get_le16(img + 54) : get_le16(img + 42);
	uint16_t phnum = is64 ? get_le16(img + 56) : get_le16(img + 44);

	if (phnum == 0)
		return "no program headers";
	if (phnum > ELF_MAX_PHDRS)
		return "too many program headers";
	if (phentsize < (is64 ? 56 : 32))
		return "program header entry size is too small";
	if (!range_within(phoff, (uint64_t)phentsize * phnum, 0, image_size))
		return "program headers lie outside the file";

	/* Pass 1: check every segment before touching guest memory. */
	bool entry_ok = false;
	uint64_t entry_phys = 0, lo = UINT64_MAX, hi = 0;
	unsigned loads = 0;
	for (unsigned i = 0; i < phnum; i++) {
		struct phdr ph;
		read_phdr(img + phoff + (uint64_t)i * phentsize, is64, &ph);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		if (ph.filesz > ph.memsz)
			return "a segment's file size exceeds its memory size";
		if (!range_within(ph.offset, ph.filesz, 0, image_size))
			return "a segment's data lies outside the file";
		if (!range_within(ph.paddr, ph.memsz, 0, mem->size))
			return "a segment does not fit in the VM's RAM";
		if (avoid_len && ranges_overlap(ph.paddr, ph.memsz, avoid, avoid_len))
			return "a segment overlaps the boot information area";
		if (ph.vaddr + ph.memsz < ph.vaddr)
			return "a segment's virtual range wraps around";
		if ((ph.flags & PF_X) && entry >= ph.vaddr && entry - ph.vaddr < ph.memsz) {
			entry_ok = true;
			entry_phys = entry - ph.vaddr + ph.paddr;
		}
		lo = MIN(lo, ph.paddr);
		hi = MAX(hi, ph.paddr + ph.memsz);
		loads++;
	}
	if (loads == 0)
		return "no loadable segment";
	if (!entry_ok)
		return "entry point is not inside an executable segment";
	if (entry_phys > UINT32_MAX)
		return "entry point is above 4 GiB (entered in 32-bit mode)";

	/* Pass 2: copy file contents and zero the rest (.bss). */
	for (unsigned i = 0; i < phnum; i++) {
		struct phdr ph;
		read_phdr(img + phoff + (uint64_t)i * phentsize, is64, &ph);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		if (!guest_write(mem, ph.paddr, img + ph.offset, ph.filesz) ||
		    !guest_fill(mem, ph.paddr + ph.filesz, 0, ph.memsz - ph.filesz))
			return "internal error: checked segment did not fit";
	}
	out->entry = entry_phys;
	out->is64 = is64;
	out->load_start = lo;
	out->load_end = hi;
	out->segments = loads;
	return NULL;
}
