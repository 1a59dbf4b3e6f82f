#ifndef VMX_VMCS_DIAG_H
#define VMX_VMCS_DIAG_H

#include "lib/types.h"

const char *vm_instruction_error_name(uint32_t err);
/* Print every VMCS field this CPU lets us read (current VMCS). */
void vmcs_dump(void);

#endif
