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

/* Task-state segment of 64-bit mode (SDM Vol. 3A 8.7, Figure 8-11). */
struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};

/* null, code, data, and the 16-byte TSS descriptor */
#define GDT_ENTRIES 5

/* Interrupt vectors the host itself uses (above the 32 exceptions). */
#define HOST_WAKE_VECTOR 0xf0     /* IPI that wakes a parked CPU (arch/x86/smp.c) */
#define HOST_SPURIOUS_VECTOR 0xff /* local APIC spurious vector (SDM Vol. 3A 11.9) */

struct cpu;
/* Build c's GDT and TSS (its IST stacks given), load them and reload the
 * segment registers; ltr marks its TSS busy. */
void gdt_init(struct cpu *c, void *ist_df_top, void *ist_nmi_top);
/* Build the IDT once (BSP); idt_load loads it on any CPU. */
void idt_init(void);
void idt_load(void);
/* This CPU's TSS, for HOST_TR_BASE. */
uint64_t host_tss_base(void);

#endif
