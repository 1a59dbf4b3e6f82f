/* Control values from capability MSRs, and the decisions about whether VMX
 * can be used at all (vmx/vmx_caps.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "vmx/vmx_caps.h"
#include "vmx/vmcs.h"
#include "arch/x86/cpu.h"

static uint64_t cap(uint32_t must_be_one, uint32_t may_be_one)
{
	return ((uint64_t)may_be_one << 32) | must_be_one;
}

static void test_adjust_sets_forced_bits(void **state)
{
	(void)state;
	uint32_t out, missing;
	assert_true(vmx_adjust_controls(cap(0x16, 0xff), 0x80, 0, &out, &missing));
	assert_int_equal(out, 0x96);
	assert_int_equal(missing, 0);
}

static void test_adjust_drops_unavailable_wanted_bits(void **state)
{
	(void)state;
	uint32_t out, missing;
	assert_true(vmx_adjust_controls(cap(0, 0x0f), 0x01, 0x30, &out, &missing));
	assert_int_equal(out, 0x01);
}

static void test_adjust_reports_missing_required_bits(void **state)
{
	(void)state;
	uint32_t out, missing;
	assert_false(vmx_adjust_controls(cap(0, 0x0f), 0x31, 0, &out, &missing));
	assert_int_equal(missing, 0x30);
}

static void test_control_allowed(void **state)
{
	(void)state;
	assert_true(vmx_control_allowed(cap(0, (uint32_t)SEC_ENABLE_EPT), SEC_ENABLE_EPT));
	assert_false(vmx_control_allowed(cap((uint32_t)SEC_ENABLE_EPT, 0), SEC_ENABLE_EPT));
}

static void test_apply_fixed(void **state)
{
	(void)state;
	/* Typical CR0 fixed bits: PE, NE, PG must be 1; all may be 1. */
	assert_int_equal(vmx_apply_fixed(0, 0x80000021, 0xffffffff), 0x80000021);
	/* CR4: VMXE forced, bits above 22 forced to 0. */
	assert_int_equal(vmx_apply_fixed(0xff000000 | 0x20, 0x2000, 0x7fffff), 0x2020);
}

static void test_verdicts(void **state)
{
	(void)state;
	uint32_t vmx = (uint32_t)CPUID_1_ECX_VMX;
	assert_int_equal(vmx_feature_verdict(0, 0x5), VMX_VERDICT_NO_VMX);
	assert_int_equal(vmx_feature_verdict(vmx, 0x5), VMX_VERDICT_OK);
	assert_int_equal(vmx_feature_verdict(vmx, 0x1), VMX_VERDICT_LOCKED_OFF);
	assert_int_equal(vmx_feature_verdict(vmx, 0x3), VMX_VERDICT_LOCKED_OFF); /* SMX only */
	assert_int_equal(vmx_feature_verdict(vmx, 0x0), VMX_VERDICT_ENABLE_AND_LOCK);
	assert_int_equal(vmx_feature_verdict(vmx, 0x4), VMX_VERDICT_ENABLE_AND_LOCK);
}

static struct vmx_caps full_caps(void)
{
	struct vmx_caps c = { 0 };
	c.basic = 6ULL << 50;
	c.procbased = cap(0, (uint32_t)CPU_ACTIVATE_SECONDARY_CONTROLS);
	c.procbased2 = cap(0, (uint32_t)(SEC_ENABLE_EPT | SEC_UNRESTRICTED_GUEST));
	c.ept_vpid = EPT_CAP_PWL4 | EPT_CAP_MEMTYPE_WB;
	return c;
}

static void test_missing_feature(void **state)
{
	(void)state;
	struct vmx_caps c = full_caps();
	assert_null(vmx_missing_feature(&c));

	c = full_caps();
	c.procbased = 0;
	assert_string_equal(vmx_missing_feature(&c), "secondary processor-based controls");
	c = full_caps();
	c.procbased2 = cap(0, (uint32_t)SEC_UNRESTRICTED_GUEST);
	assert_string_equal(vmx_missing_feature(&c), "EPT");
	c = full_caps();
	c.ept_vpid = EPT_CAP_PWL4;
	assert_string_equal(vmx_missing_feature(&c), "4-level write-back EPT");
	c = full_caps();
	c.procbased2 = cap(0, (uint32_t)SEC_ENABLE_EPT);
	assert_non_null(strstr(vmx_missing_feature(&c), "unrestricted guest"));
	c = full_caps();
	c.basic = 0;
	assert_string_equal(vmx_missing_feature(&c), "write-back memory type for the VMCS");
}

/* APIC virtualization needs every piece (vmx/apicv.h); the first missing
 * one is named. */
static void test_apicv_missing(void **state)
{
	(void)state;
	struct vmx_caps c = full_caps();
	assert_string_equal(vmx_apicv_missing(&c), "the TPR shadow");
	c.procbased = cap(0, (uint32_t)(CPU_ACTIVATE_SECONDARY_CONTROLS | CPU_USE_TPR_SHADOW |
					 CPU_USE_MSR_BITMAPS));
	c.pinbased = cap(0, PIN_EXTERNAL_INTERRUPT_EXITING);
	uint32_t all = SEC_ENABLE_EPT | SEC_UNRESTRICTED_GUEST | SEC_VIRTUALIZE_APIC_ACCESSES |
		       SEC_VIRTUALIZE_X2APIC_MODE | SEC_APIC_REGISTER_VIRTUALIZATION |
		       SEC_VIRTUAL_INTERRUPT_DELIVERY;
	c.procbased2 = cap(0, all);
	assert_null(vmx_apicv_missing(&c));
	static const struct {
		uint32_t bit;
		const char *name;
	} sec[] = {
		{ SEC_VIRTUALIZE_APIC_ACCESSES, "virtualize APIC accesses" },
		{ SEC_VIRTUALIZE_X2APIC_MODE, "virtualize x2APIC mode" },
		{ SEC_APIC_REGISTER_VIRTUALIZATION, "APIC-register virtualization" },
		{ SEC_VIRTUAL_INTERRUPT_DELIVERY, "virtual-interrupt delivery" },
	};
	for (unsigned i = 0; i < 4; i++) {
		struct vmx_caps d = c;
		d.procbased2 = cap(0, all & ~sec[i].bit);
		assert_string_equal(vmx_apicv_missing(&d), sec[i].name);
	}
	struct vmx_caps d = c;
	d.procbased = cap(0, (uint32_t)(CPU_ACTIVATE_SECONDARY_CONTROLS | CPU_USE_TPR_SHADOW));
	assert_string_equal(vmx_apicv_missing(&d), "MSR bitmaps");
	d = c;
	d.pinbased = 0;
	assert_string_equal(vmx_apicv_missing(&d), "external-interrupt exiting");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adjust_sets_forced_bits),
		cmocka_unit_test(test_apicv_missing),
		cmocka_unit_test(test_adjust_drops_unavailable_wanted_bits),
		cmocka_unit_test(test_adjust_reports_missing_required_bits),
		cmocka_unit_test(test_control_allowed),
		cmocka_unit_test(test_apply_fixed),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_missing_feature),
	};
	return cmocka_run_group_tests_name("vmx_caps", tests, NULL, NULL);
}
