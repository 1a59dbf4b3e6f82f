/* MMIO emulation with the guest's paging on: the hypervisor walks the
 * guest's page tables to fetch the instruction and to reach string operands,
 * decodes ALU, TEST, BT, XCHG, MOVSX and string forms, and gives the guest
 * the page fault its CPU would have raised. The "device" is guest-physical
 * space with nothing in it: reads are all-ones, writes are dropped. */
#include "tests/guests/common/guest.h"

#define NOTHING 0xe0000000u      /* no RAM, no device: all-ones */
#define ABSENT_LINEAR 0x40000000u /* a 4 MiB page the guest leaves not present */

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t buffer[16];

static void enable_paging(void)
{
	/* 32-bit paging with 4 MiB pages (CR4.PSE): identity map all 4 GiB but
	 * one page directory entry. */
	for (uint32_t i = 0; i < 1024; i++)
		page_dir[i] = (i << 22) | 0x83; /* P, RW, PS */
	page_dir[ABSENT_LINEAR >> 22] = 0;
	uint32_t cr4;
	__asm__ volatile("movl %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("movl %0, %%cr4" ::"r"(cr4 | (1u << 4)));
	__asm__ volatile("movl %0, %%cr3" ::"r"((uint32_t)page_dir));
	uint32_t cr0;
	__asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("movl %0, %%cr0" ::"r"(cr0 | 0x80000000u) : "memory");
}

static uint32_t rep_ecx, rep_esi, rep_edi;
static void do_rep_movsd_to_absent(void *arg)
{
	(void)arg;
	uint32_t c = 4, s = NOTHING, d = ABSENT_LINEAR;
	__asm__ volatile("cld\n\trep movsl" : "+c"(c), "+S"(s), "+D"(d) : : "memory");
	rep_ecx = c;
	rep_esi = s;
	rep_edi = d;
}

void guest_main(uint32_t magic, uint32_t mb_info)
{
	(void)magic;
	(void)mb_info;
	gprintf("mmio guest: device access with paging on\n");
	enable_paging();
	uint32_t cr0;
	__asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
	check(cr0 & 0x80000000u, "paging is on", "cr0 0x%x", cr0);

	volatile uint32_t *dev = (volatile uint32_t *)NOTHING;
	uint32_t v = *dev;
	check(v == 0xffffffffu, "MOV load through the guest's page tables", "0x%x", v);

	/* ADD reg, [mem]: 5 + 0xffffffff = 4, carry out. */
	uint32_t sum = 5, flags;
	__asm__ volatile("addl (%2), %0\n\tpushfl\n\tpopl %1" : "+r"(sum), "=r"(flags) : "r"(dev) : "cc");
	check(sum == 4 && (flags & 1), "ADD from memory sets the sum and CF", "sum %u flags 0x%x", sum, flags);

	/* CMP [mem], imm8: 0xffffffff - 0xffffffff = 0: ZF. */
	__asm__ volatile("cmpl $-1, (%1)\n\tpushfl\n\tpopl %0" : "=r"(flags) : "r"(dev) : "cc");
	check(flags & 0x40, "CMP with memory sets ZF", "flags 0x%x", flags);

	/* TEST [mem], imm32: all-ones AND 0x80 is non-zero: ZF clear. */
	__asm__ volatile("testl $0x80, (%1)\n\tpushfl\n\tpopl %0" : "=r"(flags) : "r"(dev) : "cc");
	check(!(flags & 0x40), "TEST with memory clears ZF", "flags 0x%x", flags);

	/* BT [mem], 31: CF = bit 31 of all-ones. */
	__asm__ volatile("btl $31, (%1)\n\tpushfl\n\tpopl %0" : "=r"(flags) : "r"(dev) : "cc");
	check(flags & 1, "BT on memory copies the bit into CF", "flags 0x%x", flags);

	/* OR [mem], reg: the write goes nowhere, flags from all-ones. */
	uint32_t r = 1;
	__asm__ volatile("orl %1, (%2)\n\tpushfl\n\tpopl %0" : "=r"(flags) : "r"(r), "r"(dev) : "cc", "memory");
	check(flags & 0x80, "OR to memory sets SF from the result", "flags 0x%x", flags);

	/* XCHG: the register gets all-ones, the write is dropped. */
	uint32_t x = 0x1234;
	__asm__ volatile("xchgl %0, (%1)" : "+r"(x) : "r"(dev) : "memory");
	check(x == 0xffffffffu, "XCHG with memory", "0x%x", x);

	/* MOVSX of a byte 0xff gives -1. */
	int32_t sx;
	__asm__ volatile("movsbl (%1), %0" : "=r"(sx) : "r"(dev));
	check(sx == -1, "MOVSX from memory sign-extends", "%d", sx);

	/* REP MOVSD from the hole into RAM: four dwords of all-ones. */
	for (int i = 0; i < 16; i++)
		buffer[i] = 0;
	uint32_t c = 4, s = NOTHING, d = (uint32_t)buffer;
	__asm__ volatile("cld\n\trep movsl" : "+c"(c), "+S"(s), "+D"(d) : : "memory");
	check(c == 0 && s == NOTHING + 16 && d == (uint32_t)(buffer + 4) && buffer[0] == 0xffffffffu &&
		      buffer[3] == 0xffffffffu && buffer[4] == 0,
	      "REP MOVSD from MMIO to RAM", "ecx %u buffer %x %x %x", c, buffer[0], buffer[3], buffer[4]);

	/* REP STOSD into the hole: dropped, registers advanced. */
	c = 8;
	d = NOTHING;
	uint32_t a = 0x55aa55aa;
	__asm__ volatile("cld\n\trep stosl" : "+c"(c), "+D"(d) : "a"(a) : "memory");
	check(c == 0 && d == NOTHING + 32, "REP STOSD to MMIO", "ecx %u edi 0x%x", c, d);

	/* REP MOVSD into a page the guest left not present: #PF with CR2 =
	 * that address and a write error code, no element done. */
	int vec = guest_try(do_rep_movsd_to_absent, 0, 2);
	uint32_t cr2;
	__asm__ volatile("movl %%cr2, %0" : "=r"(cr2));
	check(vec == 14 && fault_error == 2 && cr2 == ABSENT_LINEAR,
	      "a page fault while emulating reaches the guest", "vector %d error %u cr2 0x%x", vec,
	      fault_error, cr2);
	checks_summary();
}
