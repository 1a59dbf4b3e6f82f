/* The minimal Multiboot2 header (Multiboot2 spec 3.1.1): it makes a test
 * guest bootable by GRUB directly (for native comparisons) as well as by the
 * hypervisor. Guests with their own header.S do not get this one. */
	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long 0xe85250d6
	.long 0
	.long mb2_header_end - mb2_header
	.long -(0xe85250d6 + (mb2_header_end - mb2_header))
	.short 0
	.short 0
	.long 8
mb2_header_end:


	.section .note.GNU-stack, "", @progbits
