/* Breaking a VMCS on purpose, to test the VM-entry failure diagnosis
 * (docs/entry-failures.md). Only a VM whose configuration says
 * selftest=break-... is touched, and only that VM fails. */
#ifndef VMX_SELFTEST_H
#define VMX_SELFTEST_H

#include "lib/types.h"

/* Apply the named breakage to the current VMCS. False if the name is unknown. */
bool vmx_selftest_break(const char *name);
/* The known names, for messages. */
const char *vmx_selftest_names(void);

#endif
