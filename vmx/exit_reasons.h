#ifndef VMX_EXIT_REASONS_H
#define VMX_EXIT_REASONS_H

#include "lib/types.h"

enum exit_reason {
#define EXIT_REASON(name, num, desc) EXIT_REASON_##name = num,
#include "vmx/exit_reasons.def"
#undef EXIT_REASON
};

/* One past the highest basic exit reason we know. */
#define EXIT_REASON_TABLE_SIZE 80

/* "CPUID", "EPT_VIOLATION"...: the SDM name; NULL if the SDM defines none. */
const char *exit_reason_name(uint32_t basic);
/* Words for it, e.g. "EPT violation". */
const char *exit_reason_description(uint32_t basic);

#endif
