#include "vmx/vmx_caps.h"

struct vmx_caps vmx_caps;

bool vmx_adjust_controls(uint64_t cap_msr, uint32_t required, uint32_t wanted,
			 uint32_t *out, uint32_t *missing)
{
	uint32_t must_be_one = (uint32_t)cap_msr;
	uint32_t may_be_one = (uint32_t)(cap_msr >> 32);

	*missing = required & ~may_be_one;
	*out = ((required | wanted) & may_be_one) | must_be_one;
	return *missing == 0;
}
