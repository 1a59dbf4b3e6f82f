/* A Multiboot2 header with tags (Multiboot2 spec 3.1): it requires the
 * command line, modules, basic memory information and the memory map, and
 * names its entry point with an entry address tag. */
#define MB2_MAGIC 0xe85250d6

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long 0                               /* i386 */
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + (mb2_header_end - mb2_header))

	.balign 8
info_request:                                 /* type 1, required */
	.short 1, 0
	.long info_request_end - info_request
	.long 1, 3, 4, 6                      /* cmdline, modules, basic meminfo, mmap */
info_request_end:

	.balign 8
	.short 3, 0                           /* entry address */
	.long 12
	.long mb2_entry

	.balign 8
	.short 6, 0                           /* module alignment */
	.long 8

	.balign 8
	.short 0, 0                           /* end */
	.long 8
mb2_header_end:

	.text
	.code32
mb2_entry:
	movl $0x4d42, %ecx                    /* mark: entered through the entry tag */
	movl %ecx, entry_tag_used
	jmp _start

	.data
	.globl entry_tag_used
entry_tag_used:
	.long 0

	.section .note.GNU-stack, "", @progbits
