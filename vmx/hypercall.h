/* The VMCALL interface between guests and the hypervisor (docs/hypercalls.md).
 * RAX holds the call number on entry and the result on return; RBX, RCX, RDX
 * carry arguments. Only CPL 0 may call. */
#ifndef VMX_HYPERCALL_H
#define VMX_HYPERCALL_H

#define HC_GET_VERSION 0  /* returns HV_VERSION in RAX, "TextbookHV  " in RBX:RCX:RDX */
#define HC_GET_EXIT_COUNT 1 /* returns this vCPU's VM exits so far */
#define HC_DUMP_STATS 2     /* prints the VM's exit statistics and trace */
/* For tests of event injection, until virtual interrupt controllers exist: */
#define HC_QUEUE_INTERRUPT 3 /* RBX = vector 32..255: raise an external interrupt */
#define HC_QUEUE_NMI 4       /* raise an NMI */
#define HC_SINGLE_STEP 5     /* RBX = n: exit after each of the next n guest instructions (MTF) */

#define HV_VERSION 0x00000100ull /* 0.1.0 */

/* Results (RAX), as negative numbers. */
#define HC_ENOSYS ((unsigned long long)-38)
#define HC_EPERM ((unsigned long long)-1)
#define HC_EINVAL ((unsigned long long)-22)

#endif
