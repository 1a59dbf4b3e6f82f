#include "vmx/exit_reasons.h"

static const char *const names[EXIT_REASON_TABLE_SIZE] = {
#define EXIT_REASON(name, num, desc) [num] = #name,
#include "vmx/exit_reasons.def"
#undef EXIT_REASON
};

static const char *const descriptions[EXIT_REASON_TABLE_SIZE] = {
#define EXIT_REASON(name, num, desc) [num] = desc,
#include "vmx/exit_reasons.def"
#undef EXIT_REASON
};

const char *exit_reason_name(uint32_t basic)
{
	return basic < EXIT_REASON_TABLE_SIZE ? names[basic] : NULL;
}

const char *exit_reason_description(uint32_t basic)
{
	return basic < EXIT_REASON_TABLE_SIZE ? descriptions[basic] : NULL;
}
