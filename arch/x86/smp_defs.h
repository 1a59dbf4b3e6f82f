/* Shared by arch/x86/smp.c and boot/ap_trampoline.S. */
#ifndef ARCH_X86_SMP_DEFS_H
#define ARCH_X86_SMP_DEFS_H

/* Where the AP start-up code is copied: a 4 KiB page below 1 MiB, because
 * a STARTUP IPI's vector VV starts the AP in real mode at 000VV000H
 * (SDM Vol. 3A 9.4.4.1; its CS = VV00H, IP = 0). The page allocator never
 * hands out the low 1 MiB (arch/x86/pmm.c), and smp.c checks that the
 * memory map calls this page available RAM and that no boot module or the
 * Multiboot2 information lies there. */
#define AP_TRAMPOLINE_BASE 0x8000
#define AP_TRAMPOLINE_VECTOR (AP_TRAMPOLINE_BASE >> 12)

#endif
