/* A Multiboot (v1) header with the a.out kludge (Multiboot spec 3.1.1-3.1.3):
 * the loader copies the file to load_addr and enters at entry_addr, without
 * reading ELF headers. This is how kernels for QEMU's -kernel often look. */
#define MB1_MAGIC 0x1badb002
#define MB1_FLAGS 0x00010003 /* page-aligned modules, memory info, address fields valid */

	.section .multiboot, "a"
	.balign 4
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)
	.long mb1_header     /* header_addr */
	.long _load_start    /* load_addr */
	.long _edata         /* load_end_addr */
	.long _end           /* bss_end_addr */
	.long _start         /* entry_addr */

	.section .note.GNU-stack, "", @progbits
