/* Entry of every test guest: 32-bit protected mode, paging off, EAX = boot
 * magic, EBX = boot information, as a Multiboot loader leaves it. The header
 * that makes a guest a Multiboot kernel is in mb2_header.S (the default) or
 * the guest's own header.S. */
	.text
	.code32
	.globl _start
_start:
	cli
	movl $stack_top, %esp
	pushl %ebx                      /* Multiboot2 information */
	pushl %eax                      /* magic */
	call guest_start
1:	cli
	hlt
	jmp 1b

/* Exception entry: push a uniform frame and call guest_exception(frame). */
.macro EXC_NOERR vec
exc_\vec:
	pushl $0
	pushl $\vec
	jmp exc_common
.endm
.macro EXC_ERR vec
exc_\vec:
	pushl $\vec
	jmp exc_common
.endm
EXC_NOERR 0
EXC_NOERR 1
EXC_NOERR 2
EXC_NOERR 3
EXC_NOERR 4
EXC_NOERR 5
EXC_NOERR 6
EXC_NOERR 7
EXC_ERR 8
EXC_NOERR 9
EXC_ERR 10
EXC_ERR 11
EXC_ERR 12
EXC_ERR 13
EXC_ERR 14
EXC_NOERR 15
EXC_NOERR 16
EXC_ERR 17
EXC_NOERR 18
EXC_NOERR 19
/* Vectors 32..63: external interrupts raised by the tests. */
.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
EXC_NOERR \v
.endr
exc_common:
	pushal
	pushl %esp                      /* struct exc_frame * */
	call guest_exception
	addl $4, %esp
	popal
	addl $8, %esp                   /* vector, error code */
	iret

	.section .rodata
	.balign 4
	.globl guest_exc_stubs
guest_exc_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19
	.long exc_\v
	.endr
	.rept 12
	.long 0
	.endr
	.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
	.long exc_\v
	.endr

	.bss
	.balign 16
	.skip 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
