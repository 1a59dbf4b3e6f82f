/* Host GDT, IDT and TSS (SDM Vol. 3A 3.4.5, 6.14, 7.7). */
#ifndef ARCH_X86_DESC_H
#define ARCH_X86_DESC_H

#include "lib/types.h"

#define HOST_CS 0x08
#define HOST_DS 0x10
#define HOST_TR 0x18

/* The registers an exception stub saves, in the order isr.S pushes them. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

void gdt_init(void);
void idt_init(void);
uint64_t host_tss_base(void);

#endif
