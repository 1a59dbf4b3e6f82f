/* The VMCALL interface between guests and the hypervisor (docs/hypercalls.md).
 * RAX holds the call number on entry and the result on return; RBX, RCX, RDX
 * carry arguments. Only CPL 0 may call. */
#ifndef VMX_HYPERCALL_H
#define VMX_HYPERCALL_H

#define HC_GET_VERSION 0  /* returns HV_VERSION in RAX, "TextbookHV  " in RBX:RCX:RDX */
#define HC_GET_EXIT_COUNT 1 /* returns this vCPU's VM exits so far */

#define HV_VERSION 0x00000100ull /* 0.1.0 */

/* Results (RAX), as negative numbers. */
#define HC_ENOSYS ((unsigned long long)-38)
#define HC_EPERM ((unsigned long long)-1)

#endif
