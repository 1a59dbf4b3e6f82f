/* devices/lapic.c: the local APIC against the rules of Intel SDM Vol. 3A
 * chapter 11, through its xAPIC page, its x2APIC MSRs and the calls the vCPU
 * makes, with a fake guest TSC. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "devices/lapic.h"

/* --- Fixture ---------------------------------------------------------------- */

struct fake_clock {
	uint64_t now;
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fake_clock *)ctx)->now;
}

/* What the LAPIC called. If `apics` is set, IPIs are delivered to them. */
struct recorder {
	struct apic_msg ipi[64];
	unsigned ipis;
	uint8_t eoi[64];
	unsigned eois;
	unsigned kicks;
	struct lapic **apics;
	unsigned napics;
};

static void rec_send_ipi(void *ctx, const struct apic_msg *m)
{
	struct recorder *r = ctx;
	if (r->ipis < 64)
		r->ipi[r->ipis] = *m;
	r->ipis++;
	if (r->apics)
		lapic_deliver(r->apics, r->napics, m);
}

static void rec_eoi(void *ctx, uint8_t vector)
{
	struct recorder *r = ctx;
	if (r->eois < 64)
		r->eoi[r->eois] = vector;
	r->eois++;
}

static void rec_kick(void *ctx)
{
	((struct recorder *)ctx)->kicks++;
}

#define TSC_HZ 3000000000ULL /* 3 TSC ticks per bus tick */

static struct fake_clock clk;
static struct vclock vclk = { fake_now, &clk, TSC_HZ };
static struct recorder rec;

static void setup_apic(struct lapic *l, uint32_t id, bool bsp)
{
	struct lapic_config cfg = {
		.apic_id = id,
		.bsp = bsp,
		.x2apic = true,
		.phys_addr_bits = 36,
		.clock = &vclk,
		.ops = { rec_send_ipi, rec_eoi, rec_kick, &rec },
	};
	lapic_init(l, &cfg);
}

static int reset_fixture(void **state)
{
	(void)state;
	memset(&rec, 0, sizeof(rec));
	clk.now = 0;
	vclk.tsc_hz = TSC_HZ;
	return 0;
}

static uint32_t rd(struct lapic *l, unsigned off)
{
	return (uint32_t)lapic_mmio_read(l, off, 4);
}

static void wr(struct lapic *l, unsigned off, uint32_t v)
{
	lapic_mmio_write(l, off, 4, v);
}

static uint64_t msr_rd(struct lapic *l, uint32_t msr)
{
	uint64_t v = 0xDEAD;
	assert_true(lapic_msr_read(l, msr, &v));
	return v;
}

static void msr_wr(struct lapic *l, uint32_t msr, uint64_t v)
{
	assert_true(lapic_msr_write(l, msr, v));
}

static bool msr_rd_gp(struct lapic *l, uint32_t msr)
{
	uint64_t v;
	return !lapic_msr_read(l, msr, &v);
}

static bool msr_wr_gp(struct lapic *l, uint32_t msr, uint64_t v)
{
	return !lapic_msr_write(l, msr, v);
}

static bool bit256(struct lapic *l, unsigned base, unsigned v)
{
	return rd(l, base + (v / 32) * 0x10) & (1u << (v % 32));
}

static bool irr(struct lapic *l, unsigned v) { return bit256(l, 0x200, v); }
static bool isr(struct lapic *l, unsigned v) { return bit256(l, 0x100, v); }
static bool tmr(struct lapic *l, unsigned v) { return bit256(l, 0x180, v); }

static void sw_enable(struct lapic *l)
{
	wr(l, 0xF0, 0x1FF);
}

static void to_x2apic(struct lapic *l)
{
	assert_true(lapic_set_base(l, lapic_get_base(l) | APIC_BASE_EXTD));
	assert_int_equal(lapic_mode(l), LAPIC_MODE_X2APIC);
}

static struct apic_msg fixed(uint8_t vector, bool level)
{
	return (struct apic_msg){ .mode = APIC_DM_FIXED, .vector = vector, .level_triggered = level, .assert = true };
}

static void accept(struct lapic *l, uint8_t vector, bool level)
{
	struct apic_msg m = fixed(vector, level);
	lapic_accept(l, &m);
}

/* ESR as software reads it: write, then read (SDM 11.5.3). */
static uint32_t esr(struct lapic *l)
{
	if (lapic_mode(l) == LAPIC_MODE_X2APIC) {
		msr_wr(l, 0x828, 0);
		return (uint32_t)msr_rd(l, 0x828);
	}
	wr(l, 0x280, 0);
	return rd(l, 0x280);
}

/* --- Reset values (SDM 11.4.7.1, 11.12.5.1) --------------------------------- */

static void test_reset_values(void **state)
{
	(void)state;
	struct lapic l, ap;
	setup_apic(&l, 0x12, true);
	setup_apic(&ap, 0x3, false);
	assert_int_equal(lapic_get_base(&l), 0xFEE00900);
	assert_int_equal(lapic_get_base(&ap), 0xFEE00800);
	assert_int_equal(lapic_mode(&l), LAPIC_MODE_XAPIC);
	assert_int_equal(rd(&l, 0x20), 0x12000000);
	assert_int_equal(rd(&ap, 0x20), 0x03000000);
	/* version 14H, max LVT entry 6, EOI-broadcast suppression */
	assert_int_equal(rd(&l, 0x30), 0x01060014);
	assert_int_equal(rd(&l, 0x80), 0);
	assert_int_equal(rd(&l, 0x90), 0);
	assert_int_equal(rd(&l, 0xA0), 0);
	assert_int_equal(rd(&l, 0xD0), 0);
	assert_int_equal(rd(&l, 0xE0), 0xFFFFFFFF);
	assert_int_equal(rd(&l, 0xF0), 0xFF);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(rd(&l, 0x100 + i * 0x10), 0);
		assert_int_equal(rd(&l, 0x180 + i * 0x10), 0);
		assert_int_equal(rd(&l, 0x200 + i * 0x10), 0);
	}
	assert_int_equal(rd(&l, 0x280), 0);
	static const unsigned lvts[] = { 0x2F0, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370 };
	for (unsigned i = 0; i < ARRAY_SIZE(lvts); i++)
		assert_int_equal(rd(&l, lvts[i]), 0x00010000);
	assert_int_equal(rd(&l, 0x300), 0);
	assert_int_equal(rd(&l, 0x310), 0);
	assert_int_equal(rd(&l, 0x380), 0);
	assert_int_equal(rd(&l, 0x390), 0);
	assert_int_equal(rd(&l, 0x3E0), 0);
	assert_int_equal(lapic_pending_vector(&l), -1);
	assert_int_equal(lapic_pending_events(&l), 0);
	assert_int_equal(lapic_next_deadline(&l), VCLOCK_NEVER);
	assert_true(lapic_handles_msr(0x1B));
	assert_true(lapic_handles_msr(0x6E0));
	assert_true(lapic_handles_msr(0x800));
	assert_true(lapic_handles_msr(0x8FF));
	assert_false(lapic_handles_msr(0x900));
	assert_false(lapic_handles_msr(0x10));

	/* lapic_reset puts back what the guest changed. */
	sw_enable(&l);
	wr(&l, 0x80, 0x40);
	assert_true(lapic_set_base(&l, 0xFED00800));
	lapic_reset(&l);
	assert_int_equal(lapic_get_base(&l), 0xFEE00900);
	assert_int_equal(rd(&l, 0xF0), 0xFF);
	assert_int_equal(rd(&l, 0x80), 0);
}

/* --- xAPIC page access (SDM 11.4.1) ------------------------------------------- */

static void test_xapic_access_sizes(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0x12, true);
	/* Narrow reads return the bytes they cover; 8 bytes: high half 0. */
	assert_int_equal(lapic_mmio_read(&l, 0x30, 1), 0x14);
	assert_int_equal(lapic_mmio_read(&l, 0x32, 1), 0x06);
	assert_int_equal(lapic_mmio_read(&l, 0x32, 2), 0x0106);
	assert_int_equal(lapic_mmio_read(&l, 0x23, 1), 0x12);
	assert_int_equal(lapic_mmio_read(&l, 0x30, 8), 0x01060014);
	assert_int_equal(lapic_mmio_read(&l, 0x34, 4), 0);
	assert_int_equal(lapic_mmio_read(&l, 0x3C, 4), 0);
	assert_int_equal(lapic_mmio_read(&l, 0xE8, 8), 0); /* DFR slot, bytes 8-15 */
	assert_int_equal(lapic_mmio_read(&l, 0xE0, 8), 0xFFFFFFFF);
	assert_int_equal(esr(&l), 0); /* all of those were registers */

	/* Writes: 4 or 8 bytes at the register offset, else dropped. */
	lapic_mmio_write(&l, 0x80, 1, 0x55);
	lapic_mmio_write(&l, 0x80, 2, 0x55);
	lapic_mmio_write(&l, 0x84, 4, 0x55);
	lapic_mmio_write(&l, 0x81, 4, 0x55);
	assert_int_equal(rd(&l, 0x80), 0);
	lapic_mmio_write(&l, 0x80, 8, 0xFFFFFFFF00000042ull);
	assert_int_equal(rd(&l, 0x80), 0x42);
	wr(&l, 0x80, 0xFFFFFF37); /* TPR bits 31:8 reserved */
	assert_int_equal(rd(&l, 0x80), 0x37);

	/* Read-only registers ignore writes in xAPIC mode, without an error. */
	wr(&l, 0x20, 0x05000000);
	wr(&l, 0x30, 0);
	wr(&l, 0xA0, 0xFF);
	wr(&l, 0x200, 0xFFFFFFFF);
	wr(&l, 0x100, 0xFFFFFFFF);
	wr(&l, 0x180, 0xFFFFFFFF);
	wr(&l, 0x390, 1234);
	assert_int_equal(rd(&l, 0x20), 0x12000000);
	assert_int_equal(rd(&l, 0x30), 0x01060014);
	assert_int_equal(rd(&l, 0x200), 0);
	assert_int_equal(rd(&l, 0x100), 0);
	assert_int_equal(rd(&l, 0x390), 0);
	assert_int_equal(esr(&l), 0);
	/* EOI is write-only: it reads 0. */
	assert_int_equal(rd(&l, 0xB0), 0);

	/* LDR bits 23:0 reserved; DFR bits 27:0 read as ones. */
	wr(&l, 0xD0, 0xFFFFFFFF);
	assert_int_equal(rd(&l, 0xD0), 0xFF000000);
	wr(&l, 0xE0, 0x00000000);
	assert_int_equal(rd(&l, 0xE0), 0x0FFFFFFF);
	/* SVR: bits 31:13, 11:10 reserved. */
	wr(&l, 0xF0, 0xFFFFFFFF);
	assert_int_equal(rd(&l, 0xF0), 0x13FF);
	/* ICR: delivery status reads 0; reserved bits dropped. */
	wr(&l, 0x310, 0xFFFFFFFF);
	assert_int_equal(rd(&l, 0x310), 0xFF000000);
	/* Divide configuration: bits 0, 1, 3. */
	wr(&l, 0x3E0, 0xFFFFFFFF);
	assert_int_equal(rd(&l, 0x3E0), 0xB);
	/* LVT entries keep their own fields only. */
	wr(&l, 0x320, 0xFFFFFFFF);
	assert_int_equal(rd(&l, 0x320), 0x000700FF);
	wr(&l, 0x350, 0xFFFFFFFF);
	assert_int_equal(rd(&l, 0x350), 0x0001A7FF);
	wr(&l, 0x370, 0xFFFFFFFF);
	assert_int_equal(rd(&l, 0x370), 0x000100FF);
	wr(&l, 0x2F0, 0xFFFFFFFF);
	assert_int_equal(rd(&l, 0x2F0), 0x000107FF);
	wr(&l, 0x370, 0x00010000); /* error LVT masked for what follows */

	/* Offsets without a register: ESR bit 7 (illegal register address). */
	static const unsigned holes[] = { 0x000, 0x010, 0x040, 0x070, 0x290, 0x2E0, 0x3A0, 0x3D0, 0x3F0, 0x400, 0xFF0 };
	for (unsigned i = 0; i < ARRAY_SIZE(holes); i++) {
		assert_int_equal(esr(&l), 0);
		assert_int_equal(rd(&l, holes[i]), 0);
		assert_int_equal(esr(&l), APIC_ESR_ILLEGAL_REGISTER);
		wr(&l, holes[i], 1);
		assert_int_equal(esr(&l), APIC_ESR_ILLEGAL_REGISTER);
	}
	/* x2APIC MSRs do not exist in xAPIC mode. */
	assert_true(msr_rd_gp(&l, 0x802));
	assert_true(msr_wr_gp(&l, 0x808, 0));
	assert_true(msr_rd_gp(&l, 0x830));
}

/* --- x2APIC MSR rules (SDM 11.12.1.2, 11.12.1.3, Table 11-6) --------------------- */

enum { NONE, RO, RW, WO };

static int x2apic_kind(uint32_t msr)
{
	switch (msr) {
	case 0x802: case 0x803: case 0x80A: case 0x80D: case 0x839:
		return RO;
	case 0x808: case 0x80F: case 0x828: case 0x82F: case 0x830: case 0x832: case 0x833:
	case 0x834: case 0x835: case 0x836: case 0x837: case 0x838: case 0x83E:
		return RW;
	case 0x80B: case 0x83F:
		return WO;
	}
	if (msr >= 0x810 && msr <= 0x827)
		return RO;
	return NONE;
}

static void test_x2apic_msr_rules(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0x123, true);
	sw_enable(&l);
	wr(&l, 0x80, 0x20);
	to_x2apic(&l);
	/* Registers kept across xAPIC -> x2APIC. */
	assert_int_equal(msr_rd(&l, 0x808), 0x20);
	assert_int_equal(msr_rd(&l, 0x80F), 0x1FF);
	/* The x2APIC ID is all 32 bits; the LDR derives from it (11.12.10.2). */
	assert_int_equal(msr_rd(&l, 0x802), 0x123);
	assert_int_equal(msr_rd(&l, 0x80D), 0x00120008);
	assert_int_equal(msr_rd(&l, 0x803), 0x01060014);
	/* The page is gone (11.12.2). */
	assert_int_equal(lapic_mmio_read(&l, 0x20, 4), 0xFFFFFFFF);
	lapic_mmio_write(&l, 0x80, 4, 0x50);
	assert_int_equal(msr_rd(&l, 0x808), 0x20);

	for (uint32_t msr = 0x800; msr <= 0x8FF; msr++) {
		int kind = x2apic_kind(msr);
		uint64_t v;
		bool rd_ok = lapic_msr_read(&l, msr, &v);
		assert_int_equal(rd_ok, kind == RO || kind == RW);
		if (kind == NONE || kind == RO)
			assert_true(msr_wr_gp(&l, msr, 0));
	}
	assert_int_equal(msr_rd(&l, 0x802), 0x123); /* the RO writes changed nothing */

	/* Reserved bits (and bits 63:32 outside the ICR) raise #GP. */
	assert_true(msr_wr_gp(&l, 0x808, 0x100));
	assert_true(msr_wr_gp(&l, 0x808, 1ull << 32));
	assert_true(msr_wr_gp(&l, 0x80F, 0x1FF | BIT(10)));
	assert_true(msr_wr_gp(&l, 0x80F, 0x1FF | BIT(13)));
	assert_true(msr_wr_gp(&l, 0x832, 0x10000 | BIT(19)));
	assert_true(msr_wr_gp(&l, 0x832, 0x10000 | BIT(8))); /* the timer has no delivery mode */
	assert_true(msr_wr_gp(&l, 0x835, 0x10000 | BIT(11)));
	assert_true(msr_wr_gp(&l, 0x836, 0x10000 | BIT(17)));
	assert_true(msr_wr_gp(&l, 0x837, 0x10000 | BIT(13)));
	assert_true(msr_wr_gp(&l, 0x82F, 0x10000 | BIT(13)));
	assert_true(msr_wr_gp(&l, 0x83E, 0x4));
	assert_true(msr_wr_gp(&l, 0x80B, 1));  /* EOI: only 0 */
	assert_true(msr_wr_gp(&l, 0x828, 1));  /* ESR: only 0 */
	assert_true(msr_wr_gp(&l, 0x83F, 0x130)); /* SELF IPI bits 31:8 */
	assert_true(msr_wr_gp(&l, 0x838, 1ull << 40));
	static const uint64_t icr_reserved[] = { BIT(12), BIT(13), BIT(16), BIT(17), BIT(20), BIT(31) };
	for (unsigned i = 0; i < ARRAY_SIZE(icr_reserved); i++)
		assert_true(msr_wr_gp(&l, 0x830, 0x40 | icr_reserved[i]));
	assert_int_equal(rec.ipis, 0);

	/* ... and the legal values pass. Read-only bits of an LVT may be 1. */
	msr_wr(&l, 0x808, 0xFF);
	msr_wr(&l, 0x80F, 0x13FF);
	msr_wr(&l, 0x832, 0x000700FF | BIT(12));
	assert_int_equal(msr_rd(&l, 0x832), 0x000700FF);
	msr_wr(&l, 0x835, 0x0001A7FF | BIT(12) | BIT(14));
	assert_int_equal(msr_rd(&l, 0x835), 0x0001A7FF);
	msr_wr(&l, 0x83E, 0xB);
	msr_wr(&l, 0x80B, 0);
	msr_wr(&l, 0x828, 0);
	msr_wr(&l, 0x838, 0xFFFFFFFF);
	assert_int_equal(msr_rd(&l, 0x838), 0xFFFFFFFF);

	/* The ICR is one 64-bit MSR: a write sends, a read gives it back. */
	msr_wr(&l, 0x830, 0x0000012300004041ull);
	assert_int_equal(rec.ipis, 1);
	assert_int_equal(rec.ipi[0].dest, 0x123);
	assert_int_equal(rec.ipi[0].vector, 0x41);
	assert_int_equal(msr_rd(&l, 0x830), 0x0000012300004041ull);
}

/* --- IA32_APIC_BASE (SDM 11.4.4, 11.12.5) ------------------------------------- */

static void test_apic_base_transitions(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 7, true);
	const uint64_t xapic = 0xFEE00000 | APIC_BASE_EN, x2 = xapic | APIC_BASE_EXTD;

	/* Reserved bits: 7:0, 9, MAXPHYADDR and up. */
	assert_false(lapic_set_base(&l, xapic | 1));
	assert_false(lapic_set_base(&l, xapic | 0x80));
	assert_false(lapic_set_base(&l, xapic | BIT(9)));
	assert_false(lapic_set_base(&l, xapic | BIT(36)));
	assert_false(lapic_set_base(&l, xapic | BIT(63)));
	/* EN=0, EXTD=1 is the invalid state. */
	assert_false(lapic_set_base(&l, 0xFEE00000 | APIC_BASE_EXTD));
	/* The BSP flag stays what it was. */
	assert_true(lapic_set_base(&l, xapic));
	assert_int_equal(lapic_get_base(&l), xapic | APIC_BASE_BSP);
	/* The base moves (below MAXPHYADDR). */
	assert_true(lapic_set_base(&l, 0xFFFFFF000ull | APIC_BASE_EN));
	assert_int_equal(lapic_get_base(&l), 0xFFFFFF000ull | APIC_BASE_EN | APIC_BASE_BSP);
	assert_true(lapic_set_base(&l, xapic));

	/* xAPIC -> x2APIC -> (not xAPIC) -> disabled -> (not x2APIC) -> xAPIC. */
	sw_enable(&l);
	wr(&l, 0x80, 0x30);
	assert_true(lapic_set_base(&l, x2));
	assert_int_equal(lapic_mode(&l), LAPIC_MODE_X2APIC);
	assert_true(lapic_set_base(&l, x2)); /* staying is fine */
	assert_false(lapic_set_base(&l, xapic));
	assert_int_equal(lapic_mode(&l), LAPIC_MODE_X2APIC);
	assert_true(lapic_set_base(&l, 0xFEE00000));
	assert_int_equal(lapic_mode(&l), LAPIC_MODE_DISABLED);
	assert_int_equal(lapic_get_base(&l), 0xFEE00000 | APIC_BASE_BSP);
	assert_false(lapic_set_base(&l, x2));
	assert_int_equal(lapic_mode(&l), LAPIC_MODE_DISABLED);

	/* Disabled: no page, no MSRs, no messages, no destination. */
	assert_int_equal(lapic_mmio_read(&l, 0x20, 4), 0xFFFFFFFF);
	assert_true(msr_rd_gp(&l, 0x802));
	accept(&l, 0x40, false);
	struct apic_msg nmi = { .mode = APIC_DM_NMI };
	lapic_accept(&l, &nmi);
	assert_int_equal(lapic_pending_vector(&l), -1);
	assert_int_equal(lapic_pending_events(&l), 0);
	assert_false(lapic_matches(&l, 7, false));
	assert_false(lapic_matches(&l, APIC_BROADCAST, false));
	assert_int_equal(msr_rd(&l, 0x1B), 0xFEE00000 | APIC_BASE_BSP);

	/* Back to xAPIC: the power-up state, the ID kept (11.4.3). */
	assert_true(lapic_set_base(&l, xapic));
	assert_int_equal(lapic_mode(&l), LAPIC_MODE_XAPIC);
	assert_int_equal(rd(&l, 0x80), 0);
	assert_int_equal(rd(&l, 0xF0), 0xFF);
	assert_int_equal(rd(&l, 0x20), 0x07000000);
	/* Through the MSR interface too. */
	assert_true(lapic_msr_write(&l, 0x1B, x2));
	assert_int_equal(msr_rd(&l, 0x1B), x2 | APIC_BASE_BSP);
	assert_false(lapic_msr_write(&l, 0x1B, xapic));

	/* A CPU without x2APIC: EXTD is reserved. */
	struct lapic old;
	struct lapic_config cfg = { .apic_id = 1, .clock = &vclk };
	lapic_init(&old, &cfg);
	assert_false(lapic_set_base(&old, x2));
	assert_int_equal(lapic_get_base(&old), xapic);
	/* phys_addr_bits 0 means 36. */
	assert_false(lapic_set_base(&old, xapic | BIT(36)));
	assert_true(lapic_set_base(&old, xapic | BIT(35)));
}

static void test_init_keeps_mode_and_id(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0x205, false);
	sw_enable(&l);
	to_x2apic(&l);
	msr_wr(&l, 0x808, 0x40);
	accept(&l, 0x80, false);
	struct apic_msg init = { .mode = APIC_DM_INIT, .assert = true };
	lapic_accept(&l, &init);
	assert_int_equal(lapic_pending_events(&l), LAPIC_EV_INIT);
	assert_true(lapic_take_init(&l));
	assert_false(lapic_take_init(&l));
	/* x2APIC mode, ID and LDR kept; everything else reset (11.12.5.1). */
	assert_int_equal(lapic_mode(&l), LAPIC_MODE_X2APIC);
	assert_int_equal(msr_rd(&l, 0x802), 0x205);
	assert_int_equal(msr_rd(&l, 0x80D), 0x00200020);
	assert_int_equal(msr_rd(&l, 0x808), 0);
	assert_int_equal(msr_rd(&l, 0x80F), 0xFF);
	assert_int_equal(msr_rd(&l, 0x820 + 4), 0);
	assert_int_equal(lapic_pending_vector(&l), -1);

	/* SIPI: latched with its vector, taken once; INIT de-assert ignored. */
	struct apic_msg sipi = { .mode = APIC_DM_STARTUP, .vector = 0x9A, .assert = true };
	struct apic_msg deassert = { .mode = APIC_DM_INIT, .level_triggered = true, .assert = false };
	lapic_accept(&l, &deassert);
	assert_int_equal(lapic_pending_events(&l), 0);
	lapic_accept(&l, &sipi);
	uint8_t v = 0;
	assert_int_equal(lapic_pending_events(&l), LAPIC_EV_SIPI);
	assert_true(lapic_take_sipi(&l, &v));
	assert_int_equal(v, 0x9A);
	assert_false(lapic_take_sipi(&l, &v));
	/* A SIPI waiting when INIT is taken survives it. */
	lapic_accept(&l, &init);
	lapic_accept(&l, &sipi);
	assert_true(lapic_take_init(&l));
	assert_true(lapic_take_sipi(&l, &v));
	/* SMI is latched for the vCPU to drop. */
	struct apic_msg smi = { .mode = APIC_DM_SMI };
	lapic_accept(&l, &smi);
	assert_true(lapic_take_smi(&l));
	assert_false(lapic_take_smi(&l));
	assert_true(rec.kicks >= 4);
}

/* --- Priorities (SDM 11.8.3.1) ------------------------------------------------- */

static void test_tpr_ppr_priority_classes(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	sw_enable(&l);
	wr(&l, 0x80, 0x50);
	accept(&l, 0x51, false);
	/* Same class as TPR: waits. */
	assert_int_equal(lapic_pending_vector(&l), -1);
	assert_int_equal(rd(&l, 0xA0), 0x50);
	/* Lower the class: released. */
	wr(&l, 0x80, 0x4F);
	assert_int_equal(lapic_pending_vector(&l), 0x51);
	/* Raise it: blocked again. */
	lapic_set_tpr(&l, 0x60);
	assert_int_equal(lapic_get_tpr(&l), 0x60);
	assert_int_equal(lapic_pending_vector(&l), -1);
	lapic_set_tpr(&l, 0);
	assert_int_equal(lapic_pending_vector(&l), 0x51);

	/* In service, 0x51 sets the PPR class; a lower TPR does not lower it. */
	lapic_ack(&l, 0x51);
	assert_true(isr(&l, 0x51));
	assert_false(irr(&l, 0x51));
	assert_int_equal(rd(&l, 0xA0), 0x50);
	wr(&l, 0x80, 0x3F);
	assert_int_equal(rd(&l, 0xA0), 0x50);
	assert_int_equal(lapic_get_ppr(&l), 0x50);
	/* TPR class at or above the ISR class: PPR = TPR, all bits. */
	wr(&l, 0x80, 0x5A);
	assert_int_equal(rd(&l, 0xA0), 0x5A);
	wr(&l, 0x80, 0x73);
	assert_int_equal(rd(&l, 0xA0), 0x73);
	wr(&l, 0x80, 0);
	/* A vector of the in-service class waits; one above preempts. */
	accept(&l, 0x5F, false);
	assert_int_equal(lapic_pending_vector(&l), -1);
	accept(&l, 0x60, false);
	assert_int_equal(lapic_pending_vector(&l), 0x60);
	/* After the EOI the waiting ones go, highest first. */
	wr(&l, 0xB0, 0);
	assert_int_equal(rd(&l, 0xA0), 0);
	assert_int_equal(lapic_pending_vector(&l), 0x60);
	lapic_ack(&l, 0x60);
	assert_int_equal(lapic_pending_vector(&l), -1);
	wr(&l, 0xB0, 0);
	assert_int_equal(lapic_pending_vector(&l), 0x5F);
	/* Vectors 16-31 are legal for the APIC; TPR class 1 blocks them. */
	accept(&l, 0x10, false);
	assert_true(irr(&l, 0x10));
	assert_int_equal(esr(&l), 0);
}

static void test_nested_interrupts_eoi_order(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	sw_enable(&l);
	accept(&l, 0x30, false);
	assert_int_equal(lapic_pending_vector(&l), 0x30);
	lapic_ack(&l, 0x30);
	/* A higher vector preempts the one in service. */
	accept(&l, 0x80, false);
	assert_int_equal(lapic_pending_vector(&l), 0x80);
	lapic_ack(&l, 0x80);
	assert_true(isr(&l, 0x30) && isr(&l, 0x80));
	/* A middle one waits behind 0x80. */
	accept(&l, 0x40, false);
	assert_int_equal(lapic_pending_vector(&l), -1);
	/* The same vector again while in service: IRR and ISR both hold it. */
	accept(&l, 0x80, false);
	assert_true(irr(&l, 0x80) && isr(&l, 0x80));
	assert_int_equal(lapic_pending_vector(&l), -1);
	/* EOI clears the highest ISR bit first. */
	wr(&l, 0xB0, 0);
	assert_false(isr(&l, 0x80));
	assert_true(isr(&l, 0x30));
	assert_int_equal(lapic_pending_vector(&l), 0x80);
	lapic_ack(&l, 0x80);
	wr(&l, 0xB0, 0);
	assert_int_equal(lapic_pending_vector(&l), 0x40);
	lapic_ack(&l, 0x40);
	wr(&l, 0xB0, 0);
	assert_false(isr(&l, 0x40));
	assert_true(isr(&l, 0x30));
	wr(&l, 0xB0, 0);
	assert_false(isr(&l, 0x30));
	/* An EOI with nothing in service does nothing. */
	wr(&l, 0xB0, 0);
	assert_int_equal(rec.eois, 0);
	/* lapic_ack of a vector not requested changes nothing. */
	lapic_ack(&l, 0x99);
	assert_false(isr(&l, 0x99));
	assert_int_equal(lapic_pending_vector(&l), -1);
}

/* An EOI or a lower TPR that lets a waiting IRR vector through kicks the
 * vCPU, so it looks for the interrupt again (a lost kick here left Linux
 * waiting for a virtio completion that sat in the IRR). */
static void test_ppr_drop_kicks(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	sw_enable(&l);
	accept(&l, 0x80, false);
	lapic_ack(&l, 0x80);
	accept(&l, 0x40, false); /* waits behind 0x80 */
	assert_int_equal(lapic_pending_vector(&l), -1);
	unsigned k = rec.kicks;
	wr(&l, 0xB0, 0);
	assert_int_equal(lapic_pending_vector(&l), 0x40);
	assert_true(rec.kicks > k);
	lapic_ack(&l, 0x40);
	wr(&l, 0xB0, 0);
	/* TPR: raised above a vector, then lowered again. */
	wr(&l, 0x80, 0x50);
	accept(&l, 0x45, false);
	assert_int_equal(lapic_pending_vector(&l), -1);
	k = rec.kicks;
	wr(&l, 0x80, 0x00);
	assert_int_equal(lapic_pending_vector(&l), 0x45);
	assert_true(rec.kicks > k);
	lapic_set_tpr(&l, 0x50);
	k = rec.kicks;
	lapic_set_tpr(&l, 0x10); /* MOV to CR8 */
	assert_true(rec.kicks > k);
	/* Nothing waiting: no kick. */
	lapic_ack(&l, 0x45);
	wr(&l, 0xB0, 0);
	k = rec.kicks;
	wr(&l, 0x80, 0x00);
	assert_int_equal(rec.kicks, k);
}

static void test_tmr_and_eoi_broadcast(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	sw_enable(&l);
	accept(&l, 0x61, true);
	accept(&l, 0x62, false);
	assert_true(tmr(&l, 0x61));
	assert_false(tmr(&l, 0x62));
	lapic_ack(&l, 0x62);
	wr(&l, 0xB0, 0);
	assert_int_equal(rec.eois, 0); /* edge: no broadcast */
	lapic_ack(&l, 0x61);
	wr(&l, 0xB0, 0);
	assert_int_equal(rec.eois, 1);
	assert_int_equal(rec.eoi[0], 0x61);
	/* An edge acceptance of the vector clears its TMR bit. */
	accept(&l, 0x61, false);
	assert_false(tmr(&l, 0x61));
	lapic_ack(&l, 0x61);
	wr(&l, 0xB0, 0);
	assert_int_equal(rec.eois, 1);
	/* SVR bit 12 suppresses the broadcast. */
	wr(&l, 0xF0, 0x11FF);
	accept(&l, 0x70, true);
	lapic_ack(&l, 0x70);
	wr(&l, 0xB0, 0);
	assert_int_equal(rec.eois, 1);
	assert_false(isr(&l, 0x70));
	/* x2APIC EOI the same way. */
	wr(&l, 0xF0, 0x1FF);
	to_x2apic(&l);
	accept(&l, 0x71, true);
	lapic_ack(&l, 0x71);
	msr_wr(&l, 0x80B, 0);
	assert_int_equal(rec.eois, 2);
	assert_int_equal(rec.eoi[1], 0x71);
}

static void test_svr_software_disable(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	/* Reset state: software-disabled. Fixed interrupts are ignored; NMI,
	 * INIT, SIPI, SMI are answered (11.4.7.2). */
	accept(&l, 0x40, false);
	assert_false(irr(&l, 0x40));
	struct apic_msg nmi = { .mode = APIC_DM_NMI };
	lapic_accept(&l, &nmi);
	assert_true(lapic_take_nmi(&l));
	assert_false(lapic_take_nmi(&l));
	/* LVT masks cannot be cleared while disabled. */
	wr(&l, 0x350, 0x700);
	assert_int_equal(rd(&l, 0x350), 0x10700);
	/* Enabled: accepted; LVT unmasks. */
	sw_enable(&l);
	accept(&l, 0x40, false);
	assert_true(irr(&l, 0x40));
	wr(&l, 0x350, 0x700);
	wr(&l, 0x320, 0x20030);
	assert_int_equal(rd(&l, 0x350), 0x700);
	/* Disabled again: every mask set; pending IRR held and still offered. */
	wr(&l, 0xF0, 0xFF);
	static const unsigned lvts[] = { 0x2F0, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370 };
	for (unsigned i = 0; i < ARRAY_SIZE(lvts); i++)
		assert_true(rd(&l, lvts[i]) & 0x10000);
	assert_int_equal(rd(&l, 0x320), 0x30030); /* the rest of the entry stays */
	assert_int_equal(lapic_pending_vector(&l), 0x40);
	accept(&l, 0x41, false);
	assert_false(irr(&l, 0x41));
	/* Re-enabling leaves the masks set. */
	sw_enable(&l);
	assert_int_equal(rd(&l, 0x350), 0x10700);
}

/* --- Errors (SDM 11.5.3) ---------------------------------------------------------- */

static void test_error_status_register(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	sw_enable(&l);
	/* Receive an illegal vector: no IRR bit, ESR bit 6 after the latch. */
	accept(&l, 5, false);
	assert_int_equal(rd(&l, 0x200), 0);
	assert_int_equal(rd(&l, 0x280), 0); /* not yet latched */
	wr(&l, 0x280, 0);
	assert_int_equal(rd(&l, 0x280), APIC_ESR_RECEIVE_ILLEGAL_VECTOR);
	wr(&l, 0x280, 0xFFFFFFFF); /* the value written does not matter */
	assert_int_equal(rd(&l, 0x280), 0);
	/* Send an illegal vector: ESR bit 5, nothing sent. */
	wr(&l, 0x310, 0x01000000);
	wr(&l, 0x300, 0x0000000F);
	assert_int_equal(rec.ipis, 0);
	assert_int_equal(esr(&l), APIC_ESR_SEND_ILLEGAL_VECTOR);
	/* NMI, INIT and SIPI carry no vector to check. */
	wr(&l, 0x300, 0x00000400);
	wr(&l, 0x300, 0x00000500);
	wr(&l, 0x300, 0x00000600);
	assert_int_equal(rec.ipis, 3);
	assert_int_equal(esr(&l), 0);
	/* An unmasked LVT error entry raises its vector for each error. */
	wr(&l, 0x370, 0xE3);
	accept(&l, 2, false);
	assert_true(irr(&l, 0xE3));
	assert_false(tmr(&l, 0xE3));
	assert_int_equal(lapic_pending_vector(&l), 0xE3);
	/* An illegal vector in an LVT entry is a receive error when it fires. */
	wr(&l, 0x370, 0x10000);
	wr(&l, 0x330, 0x08);
	lapic_local_interrupt(&l, LAPIC_LVT_THERMAL);
	assert_int_equal(esr(&l), APIC_ESR_RECEIVE_ILLEGAL_VECTOR);
	/* ... and in the error entry itself. */
	wr(&l, 0x370, 0x07);
	accept(&l, 1, false);
	assert_int_equal(esr(&l), APIC_ESR_RECEIVE_ILLEGAL_VECTOR);
	/* x2APIC: SELF IPI with an illegal vector. */
	wr(&l, 0x370, 0x10000);
	to_x2apic(&l);
	msr_wr(&l, 0x83F, 0x0E);
	assert_int_equal(esr(&l), APIC_ESR_SEND_ILLEGAL_VECTOR);
}

/* --- IPIs (SDM 11.6.1, 11.12.9) ------------------------------------------------------ */

static void test_icr_xapic(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 1, true);
	sw_enable(&l);
	/* No shorthand, physical, fixed. */
	wr(&l, 0x310, 0x02000000);
	wr(&l, 0x300, 0x00004041);
	assert_int_equal(rec.ipis, 1);
	struct apic_msg *m = &rec.ipi[0];
	assert_int_equal(m->dest, 2);
	assert_false(m->dest_logical);
	assert_int_equal(m->mode, APIC_DM_FIXED);
	assert_int_equal(m->vector, 0x41);
	assert_false(m->level_triggered);
	assert_int_equal(m->source_id, 1);
	assert_false(m->exclude_source);
	/* Delivery status reads 0: delivery is immediate. */
	assert_int_equal(rd(&l, 0x300), 0x00004041);
	assert_int_equal(rd(&l, 0x310), 0x02000000);
	/* Logical, lowest priority; level trigger is sent as edge (Table 11-3). */
	wr(&l, 0x310, 0x0C000000);
	wr(&l, 0x300, 0x0000C942);
	m = &rec.ipi[1];
	assert_int_equal(m->dest, 0x0C);
	assert_true(m->dest_logical);
	assert_int_equal(m->mode, APIC_DM_LOWEST);
	assert_false(m->level_triggered);
	/* Physical 0xFF: broadcast. */
	wr(&l, 0x310, 0xFF000000);
	wr(&l, 0x300, 0x00000043);
	assert_int_equal(rec.ipi[2].dest, APIC_BROADCAST);
	/* Logical 0xFF stays an MDA. */
	wr(&l, 0x300, 0x00000843);
	assert_int_equal(rec.ipi[3].dest, 0xFF);
	/* Self: accepted here, not sent. */
	wr(&l, 0x300, 0x00040044);
	assert_int_equal(rec.ipis, 4);
	assert_true(irr(&l, 0x44));
	/* All including self, all excluding self: broadcast, dest ignored. */
	wr(&l, 0x310, 0x05000000);
	wr(&l, 0x300, 0x00080845);
	m = &rec.ipi[4];
	assert_int_equal(m->dest, APIC_BROADCAST);
	assert_false(m->dest_logical);
	assert_false(m->exclude_source);
	wr(&l, 0x300, 0x000C0046);
	m = &rec.ipi[5];
	assert_int_equal(m->dest, APIC_BROADCAST);
	assert_true(m->exclude_source);
	assert_int_equal(m->source_id, 1);
	/* INIT assert, INIT de-assert (level, assert 0), SIPI, NMI. */
	wr(&l, 0x310, 0x03000000);
	wr(&l, 0x300, 0x0000C500);
	assert_int_equal(rec.ipi[6].mode, APIC_DM_INIT);
	assert_true(rec.ipi[6].level_triggered && rec.ipi[6].assert);
	wr(&l, 0x300, 0x00008500);
	assert_true(rec.ipi[7].level_triggered);
	assert_false(rec.ipi[7].assert);
	wr(&l, 0x300, 0x0000069A);
	assert_int_equal(rec.ipi[8].mode, APIC_DM_STARTUP);
	assert_int_equal(rec.ipi[8].vector, 0x9A);
	assert_int_equal(rec.ipi[8].dest, 3);
	wr(&l, 0x300, 0x00000400);
	assert_int_equal(rec.ipi[9].mode, APIC_DM_NMI);
	/* Writing the high half alone sends nothing; remote read does nothing. */
	wr(&l, 0x310, 0x04000000);
	wr(&l, 0x300, 0x00000340);
	assert_int_equal(rec.ipis, 10);
	/* Self shorthand with NMI: delivered as asked. */
	wr(&l, 0x300, 0x00040400);
	assert_true(lapic_take_nmi(&l));
	assert_int_equal(rec.ipis, 10);
}

static void test_icr_x2apic_and_self_ipi(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0x1001, true);
	sw_enable(&l);
	to_x2apic(&l);
	/* 32-bit destination; 0xFF is an ordinary ID here. */
	msr_wr(&l, 0x830, 0x000000FF00000050ull);
	assert_int_equal(rec.ipi[0].dest, 0xFF);
	assert_int_equal(rec.ipi[0].source_id, 0x1001);
	msr_wr(&l, 0x830, 0xFFFFFFFF00000050ull);
	assert_int_equal(rec.ipi[1].dest, APIC_BROADCAST);
	msr_wr(&l, 0x830, 0x0001000200000851ull);
	assert_int_equal(rec.ipi[2].dest, 0x00010002);
	assert_true(rec.ipi[2].dest_logical);
	msr_wr(&l, 0x830, 0x00000000000C0052ull);
	assert_true(rec.ipi[3].exclude_source);
	msr_wr(&l, 0x830, 0x0000000000040053ull);
	assert_int_equal(rec.ipis, 4);
	assert_int_equal(msr_rd(&l, 0x822) & (1u << (0x53 - 0x40)), 1u << (0x53 - 0x40));
	/* SELF IPI register (11.12.11). */
	msr_wr(&l, 0x83F, 0x64);
	assert_int_equal(rec.ipis, 4);
	assert_int_equal(msr_rd(&l, 0x823), 1u << (0x64 - 0x60));
	assert_int_equal(lapic_pending_vector(&l), 0x64);
	/* No SELF IPI register in xAPIC mode. */
	struct lapic x;
	setup_apic(&x, 2, false);
	sw_enable(&x);
	wr(&x, 0x370, 0x10000);
	wr(&x, 0x3F0, 0x64);
	assert_false(irr(&x, 0x64));
	assert_int_equal(esr(&x), APIC_ESR_ILLEGAL_REGISTER);
}

/* --- Destinations (SDM 11.6.2, 11.12.10) ---------------------------------------------- */

static void test_destination_matching(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 3, false);
	/* Physical xAPIC. */
	assert_true(lapic_matches(&l, 3, false));
	assert_true(lapic_matches(&l, 0xFF, false));
	assert_true(lapic_matches(&l, APIC_BROADCAST, false));
	assert_false(lapic_matches(&l, 4, false));
	assert_false(lapic_matches(&l, 0x103, false));
	/* Logical flat, LDR 0: only the broadcast. */
	assert_false(lapic_matches(&l, 0x01, true));
	assert_true(lapic_matches(&l, 0xFF, true));
	wr(&l, 0xD0, 0x04000000);
	assert_true(lapic_matches(&l, 0x04, true));
	assert_true(lapic_matches(&l, 0x0C, true));
	assert_false(lapic_matches(&l, 0x03, true));
	assert_false(lapic_matches(&l, 0x104, true));
	assert_false(lapic_matches(&l, 0x04, false)); /* physical: ID 3 */
	/* Logical cluster: cluster 2, member bit 0. */
	wr(&l, 0xE0, 0x00000000);
	wr(&l, 0xD0, 0x21000000);
	assert_true(lapic_matches(&l, 0x21, true));
	assert_true(lapic_matches(&l, 0x2F, true));
	assert_true(lapic_matches(&l, 0xFF, true));
	assert_false(lapic_matches(&l, 0x11, true));
	assert_false(lapic_matches(&l, 0x22, true));
	assert_false(lapic_matches(&l, 0xF1, true));
	/* Neither model: nothing logical. */
	wr(&l, 0xE0, 0x50000000);
	assert_false(lapic_matches(&l, 0x21, true));
	/* x2APIC: 32-bit physical ID, cluster logical from the ID. */
	struct lapic x;
	setup_apic(&x, 0x123, false);
	to_x2apic(&x);
	assert_true(lapic_matches(&x, 0x123, false));
	assert_true(lapic_matches(&x, APIC_BROADCAST, false));
	assert_true(lapic_matches(&x, APIC_BROADCAST, true));
	assert_false(lapic_matches(&x, 0x23, false));
	assert_false(lapic_matches(&x, 0xFF, false));
	assert_true(lapic_matches(&x, 0x00120008, true));
	assert_true(lapic_matches(&x, 0x0012FFFF, true));
	assert_false(lapic_matches(&x, 0x00130008, true));
	assert_false(lapic_matches(&x, 0x00120004, true));
	assert_false(lapic_matches(&x, 0xFF, true));
}

static void test_deliver_helper(void **state)
{
	(void)state;
	struct lapic a[4];
	struct lapic *p[5];
	for (unsigned i = 0; i < 4; i++) {
		setup_apic(&a[i], i, i == 0);
		sw_enable(&a[i]);
		wr(&a[i], 0xD0, (1u << i) << 24); /* flat logical: bit i */
		p[i] = &a[i];
	}
	p[4] = NULL; /* holes in the array are skipped */
	struct apic_msg m = fixed(0x40, false);
	m.dest = 2;
	assert_int_equal(lapic_deliver(p, 5, &m), 1);
	assert_true(irr(&a[2], 0x40));
	assert_false(irr(&a[1], 0x40));
	m.vector = 0x41;
	m.dest = APIC_BROADCAST;
	assert_int_equal(lapic_deliver(p, 5, &m), 4);
	m.vector = 0x42;
	m.exclude_source = true;
	m.source_id = 1;
	assert_int_equal(lapic_deliver(p, 5, &m), 3);
	assert_false(irr(&a[1], 0x42));
	assert_true(irr(&a[0], 0x42) && irr(&a[2], 0x42) && irr(&a[3], 0x42));
	/* Logical multicast to bits 0 and 3. */
	m = fixed(0x43, false);
	m.dest = 0x09;
	m.dest_logical = true;
	assert_int_equal(lapic_deliver(p, 5, &m), 2);
	assert_true(irr(&a[0], 0x43) && irr(&a[3], 0x43));
	/* Lowest priority: the lowest PPR, the first of equals. */
	wr(&a[0], 0x80, 0x30);
	wr(&a[1], 0x80, 0x10);
	wr(&a[2], 0x80, 0x20);
	wr(&a[3], 0x80, 0x10);
	m = fixed(0x50, false);
	m.mode = APIC_DM_LOWEST;
	m.dest = 0x0F;
	m.dest_logical = true;
	assert_int_equal(lapic_deliver(p, 5, &m), 1);
	assert_true(irr(&a[1], 0x50));
	/* PPR counts what is in service. */
	accept(&a[1], 0x90, false);
	lapic_ack(&a[1], 0x90);
	m.vector = 0x51;
	lapic_deliver(p, 5, &m);
	assert_true(irr(&a[3], 0x51));
	/* Software-disabled APICs take no part; none left: nobody. */
	wr(&a[3], 0xF0, 0xFF);
	m.vector = 0x52;
	lapic_deliver(p, 5, &m);
	assert_true(irr(&a[2], 0x52));
	m.dest = 0x08;
	m.vector = 0x53;
	assert_int_equal(lapic_deliver(p, 5, &m), 0);
	/* NMI to a logical group reaches a software-disabled APIC too. */
	struct apic_msg nmi = { .mode = APIC_DM_NMI, .dest = 0x0C, .dest_logical = true };
	assert_int_equal(lapic_deliver(p, 5, &nmi), 2);
	assert_true(lapic_take_nmi(&a[3]) && lapic_take_nmi(&a[2]));
	assert_false(lapic_take_nmi(&a[0]));
}

/* IPIs end to end: the send_ipi callback delivers over the VM's APICs. */
static void test_ipi_shorthands_end_to_end(void **state)
{
	(void)state;
	struct lapic a[3];
	struct lapic *p[3];
	for (unsigned i = 0; i < 3; i++) {
		setup_apic(&a[i], i, i == 0);
		sw_enable(&a[i]);
		p[i] = &a[i];
	}
	rec.apics = p;
	rec.napics = 3;
	/* All excluding self, fixed. */
	wr(&a[0], 0x300, 0x000C0060);
	assert_false(irr(&a[0], 0x60));
	assert_true(irr(&a[1], 0x60) && irr(&a[2], 0x60));
	/* All including self. */
	wr(&a[1], 0x300, 0x00080061);
	for (unsigned i = 0; i < 3; i++)
		assert_true(irr(&a[i], 0x61));
	/* Self. */
	wr(&a[2], 0x300, 0x00040062);
	assert_true(irr(&a[2], 0x62));
	assert_false(irr(&a[0], 0x62) || irr(&a[1], 0x62));
	/* The BSP wakes the APs: INIT, de-assert, SIPI to all but self. */
	wr(&a[0], 0x300, 0x000CC500);
	wr(&a[0], 0x300, 0x000C8500);
	wr(&a[0], 0x300, 0x000C0608);
	uint8_t v;
	for (unsigned i = 1; i < 3; i++) {
		assert_int_equal(lapic_pending_events(&a[i]), LAPIC_EV_INIT | LAPIC_EV_SIPI);
		assert_true(lapic_take_init(&a[i]));
		assert_true(lapic_take_sipi(&a[i], &v));
		assert_int_equal(v, 0x08);
	}
	assert_int_equal(lapic_pending_events(&a[0]), 0);
	/* x2APIC physical to one. */
	for (unsigned i = 0; i < 3; i++) {
		sw_enable(&a[i]);
		to_x2apic(&a[i]);
	}
	msr_wr(&a[0], 0x830, (2ull << 32) | 0x70);
	assert_true(msr_rd(&a[2], 0x823) & (1u << (0x70 - 0x60)));
	assert_false(msr_rd(&a[1], 0x823) & (1u << (0x70 - 0x60)));
}

/* --- The timer (SDM 11.5.4) ------------------------------------------------------------ */

/* Timer at one-shot, vector 0x40; TSC 3000 is bus tick 1000. */
static void test_timer_one_shot(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	sw_enable(&l);
	clk.now = 3000;
	wr(&l, 0x320, 0x40);
	wr(&l, 0x3E0, 0xB); /* divide by 1 */
	wr(&l, 0x380, 1000);
	assert_int_equal(rd(&l, 0x380), 1000);
	assert_int_equal(rd(&l, 0x390), 1000);
	assert_int_equal(lapic_next_deadline(&l), 6000);
	clk.now = 4500;
	assert_int_equal(rd(&l, 0x390), 500);
	clk.now = 5999;
	lapic_update(&l);
	assert_false(irr(&l, 0x40));
	assert_int_equal(rd(&l, 0x390), 1);
	clk.now = 6000;
	assert_int_equal(rd(&l, 0x390), 0); /* even before update */
	lapic_update(&l);
	assert_true(irr(&l, 0x40));
	assert_false(tmr(&l, 0x40));
	assert_int_equal(lapic_next_deadline(&l), VCLOCK_NEVER);
	assert_int_equal(rd(&l, 0x390), 0);
	assert_int_equal(rd(&l, 0x380), 1000);
	/* Fires once. */
	lapic_ack(&l, 0x40);
	wr(&l, 0xB0, 0);
	clk.now = 99999; /* bus tick 33333 */
	lapic_update(&l);
	assert_false(irr(&l, 0x40));
	/* Re-arm, then stop with 0. */
	wr(&l, 0x380, 10);
	assert_int_equal(lapic_next_deadline(&l), 99999 + 30);
	wr(&l, 0x380, 0);
	assert_int_equal(lapic_next_deadline(&l), VCLOCK_NEVER);
	clk.now += 1000;
	lapic_update(&l);
	assert_false(irr(&l, 0x40));
	/* Masked: counts, but no interrupt and no deadline; unmasking after
	 * the expiry does not bring it back. */
	wr(&l, 0x320, 0x10040);
	wr(&l, 0x380, 10);
	assert_int_equal(lapic_next_deadline(&l), VCLOCK_NEVER);
	clk.now += 15;
	assert_int_equal(rd(&l, 0x390), 5);
	clk.now += 100;
	wr(&l, 0x320, 0x40);
	lapic_update(&l);
	assert_false(irr(&l, 0x40));
	assert_int_equal(lapic_next_deadline(&l), VCLOCK_NEVER);
}

static void test_timer_divide_values(void **state)
{
	(void)state;
	static const struct {
		uint32_t dcr;
		unsigned divisor;
	} div[] = { { 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		    { 0x8, 32 }, { 0x9, 64 }, { 0xA, 128 }, { 0xB, 1 } };
	for (unsigned i = 0; i < ARRAY_SIZE(div); i++) {
		struct lapic l;
		setup_apic(&l, 0, true);
		sw_enable(&l);
		clk.now = 3000 * (i + 1);
		uint64_t t0 = clk.now, tick = 3ull * div[i].divisor; /* TSC per count */
		wr(&l, 0x320, 0x41);
		wr(&l, 0x3E0, div[i].dcr);
		wr(&l, 0x380, 10);
		assert_int_equal(lapic_next_deadline(&l), t0 + 10 * tick);
		for (unsigned k = 0; k < 10; k++) {
			clk.now = t0 + k * tick;
			assert_int_equal(rd(&l, 0x390), 10 - k);
			clk.now = t0 + (k + 1) * tick - 1;
			assert_int_equal(rd(&l, 0x390), 10 - k);
		}
		clk.now = t0 + 10 * tick - 1;
		lapic_update(&l);
		assert_false(irr(&l, 0x41));
		clk.now = t0 + 10 * tick;
		lapic_update(&l);
		assert_true(irr(&l, 0x41));
	}
}

static void test_timer_periodic_no_drift(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	sw_enable(&l);
	clk.now = 3000;
	wr(&l, 0x320, 0x20042); /* periodic */
	wr(&l, 0x3E0, 0x0);     /* divide by 2 */
	wr(&l, 0x380, 100);     /* 200 bus ticks = 600 TSC */
	assert_int_equal(lapic_next_deadline(&l), 3600);
	clk.now = 3300;
	assert_int_equal(rd(&l, 0x390), 50);
	clk.now = 3600;
	assert_int_equal(rd(&l, 0x390), 100); /* reloaded */
	lapic_update(&l);
	assert_true(irr(&l, 0x42));
	assert_int_equal(lapic_next_deadline(&l), 4200);
	lapic_ack(&l, 0x42);
	wr(&l, 0xB0, 0);
	/* Late by 3 periods and a bit: one interrupt, the schedule kept. */
	clk.now = 4200 + 3 * 600 + 10;
	lapic_update(&l);
	assert_true(irr(&l, 0x42));
	assert_int_equal(lapic_next_deadline(&l), 6600);
	assert_int_equal(rd(&l, 0x390), 99); /* 3 bus ticks into the period: 1 count */

	/* A ratio that does not divide: 2.5 TSC per bus tick, 7 ticks per
	 * period (17.5 TSC). After 1000 periods the deadline is exactly
	 * ceil((start + 7000) * 2.5). */
	vclk.tsc_hz = 2500000000ULL;
	struct lapic p;
	setup_apic(&p, 0, true);
	sw_enable(&p);
	clk.now = 1001;                /* bus tick floor(1001 / 2.5) = 400 */
	wr(&p, 0x320, 0x20043);
	wr(&p, 0x3E0, 0xB);
	wr(&p, 0x380, 7);
	unsigned fired = 0;
	for (unsigned k = 1; k <= 1000; k++) {
		uint64_t d = lapic_next_deadline(&p);
		assert_int_equal(d, ((400 + 7 * (uint64_t)k) * 5 + 1) / 2);
		clk.now = d - 1;
		lapic_update(&p);
		assert_false(irr(&p, 0x43));
		clk.now = d;
		lapic_update(&p);
		if (irr(&p, 0x43))
			fired++;
		lapic_ack(&p, 0x43);
		wr(&p, 0xB0, 0);
	}
	assert_int_equal(fired, 1000);
	/* Periodic -> one-shot mid-count: the count finishes, once. */
	wr(&p, 0x320, 0x43);
	uint64_t d = lapic_next_deadline(&p);
	clk.now = d;
	lapic_update(&p);
	assert_true(irr(&p, 0x43));
	assert_int_equal(lapic_next_deadline(&p), VCLOCK_NEVER);
}

static void test_timer_divisor_change_mid_count(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	sw_enable(&l);
	clk.now = 3000;
	wr(&l, 0x320, 0x44);
	wr(&l, 0x3E0, 0xB);
	wr(&l, 0x380, 100);
	clk.now = 3000 + 3 * 40; /* 60 left */
	wr(&l, 0x3E0, 0x3);      /* divide by 16: 48 TSC per count */
	assert_int_equal(rd(&l, 0x390), 60);
	assert_int_equal(lapic_next_deadline(&l), 3120 + 60 * 48);
	clk.now = 3120 + 59 * 48;
	assert_int_equal(rd(&l, 0x390), 1);
	clk.now = 3120 + 60 * 48;
	lapic_update(&l);
	assert_true(irr(&l, 0x44));
}

static void test_timer_tsc_deadline(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	sw_enable(&l);
	clk.now = 1000;
	/* Not in TSC-deadline mode: the MSR reads 0, writes are ignored. */
	msr_wr(&l, 0x6E0, 5000);
	assert_int_equal(msr_rd(&l, 0x6E0), 0);
	assert_int_equal(lapic_next_deadline(&l), VCLOCK_NEVER);
	wr(&l, 0x320, 0x40045);
	assert_int_equal(msr_rd(&l, 0x6E0), 0);
	msr_wr(&l, 0x6E0, 1500);
	assert_int_equal(msr_rd(&l, 0x6E0), 1500);
	assert_int_equal(lapic_next_deadline(&l), 1500);
	/* The count registers do nothing in this mode. */
	wr(&l, 0x380, 100);
	assert_int_equal(rd(&l, 0x380), 0);
	assert_int_equal(rd(&l, 0x390), 0);
	clk.now = 1499;
	lapic_update(&l);
	assert_false(irr(&l, 0x45));
	clk.now = 1500;
	lapic_update(&l);
	assert_true(irr(&l, 0x45));
	assert_int_equal(msr_rd(&l, 0x6E0), 0);
	assert_int_equal(lapic_next_deadline(&l), VCLOCK_NEVER);
	lapic_ack(&l, 0x45);
	wr(&l, 0xB0, 0);
	/* A deadline already past fires at once; 0 disarms. */
	msr_wr(&l, 0x6E0, 10);
	assert_true(irr(&l, 0x45));
	lapic_ack(&l, 0x45);
	wr(&l, 0xB0, 0);
	msr_wr(&l, 0x6E0, 2000);
	msr_wr(&l, 0x6E0, 0);
	clk.now = 3000;
	lapic_update(&l);
	assert_false(irr(&l, 0x45));
	/* Leaving TSC-deadline mode disarms; so does entering it. */
	msr_wr(&l, 0x6E0, 4000);
	wr(&l, 0x320, 0x45);
	wr(&l, 0x320, 0x40045);
	assert_int_equal(msr_rd(&l, 0x6E0), 0);
	clk.now = 5000;
	lapic_update(&l);
	assert_false(irr(&l, 0x45));
	wr(&l, 0x320, 0x45);
	wr(&l, 0x380, 100);
	wr(&l, 0x320, 0x40045);
	assert_int_equal(rd(&l, 0x380), 0);
	assert_int_equal(lapic_next_deadline(&l), VCLOCK_NEVER);
	/* Masked: the deadline passes (the MSR goes to 0), no interrupt. */
	wr(&l, 0x320, 0x50045);
	msr_wr(&l, 0x6E0, 6000);
	assert_int_equal(lapic_next_deadline(&l), VCLOCK_NEVER);
	clk.now = 6000;
	assert_int_equal(msr_rd(&l, 0x6E0), 0);
	assert_false(irr(&l, 0x45));
	/* Through x2APIC MSRs. */
	to_x2apic(&l);
	msr_wr(&l, 0x832, 0x40046);
	msr_wr(&l, 0x6E0, 7000);
	clk.now = 7000;
	lapic_update(&l);
	assert_true(msr_rd(&l, 0x822) & (1u << (0x46 - 0x40)));
}

static void test_timer_x2apic_and_big_numbers(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	sw_enable(&l);
	to_x2apic(&l);
	/* Guest TSC near 2^63: conversions need 128-bit intermediates. */
	clk.now = (1ull << 63) + 12345;
	msr_wr(&l, 0x832, 0x47);
	msr_wr(&l, 0x83E, 0xA); /* divide by 128 */
	msr_wr(&l, 0x838, 0xFFFFFFFF);
	uint64_t bus0 = (uint64_t)((unsigned __int128)clk.now * 1000000000u / TSC_HZ);
	unsigned __int128 end = (unsigned __int128)(bus0 + 0xFFFFFFFFull * 128) * TSC_HZ;
	uint64_t expect = (uint64_t)((end + 999999999u) / 1000000000u);
	assert_int_equal(lapic_next_deadline(&l), expect);
	assert_int_equal(msr_rd(&l, 0x839), 0xFFFFFFFF);
	clk.now = expect - 1;
	assert_int_equal(msr_rd(&l, 0x839), 1);
	lapic_update(&l);
	assert_int_equal(lapic_pending_vector(&l), -1);
	clk.now = expect;
	lapic_update(&l);
	assert_int_equal(lapic_pending_vector(&l), 0x47);
	/* No clock: the timer never fires, counts read 0. */
	struct lapic n;
	struct lapic_config cfg = { .apic_id = 1 };
	lapic_init(&n, &cfg);
	sw_enable(&n);
	wr(&n, 0x320, 0x48);
	wr(&n, 0x380, 5);
	assert_int_equal(lapic_next_deadline(&n), VCLOCK_NEVER);
	lapic_update(&n);
	assert_int_equal(lapic_pending_vector(&n), -1);
}

/* --- LINT0 / LINT1 (SDM 11.5.1) ---------------------------------------------------------- */

static void test_lint_extint_and_nmi(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	/* After reset, LINT0 is masked: the 8259 cannot reach the CPU. */
	lapic_set_lint(&l, 0, true);
	assert_int_equal(lapic_pending_events(&l), 0);
	assert_false(lapic_take_extint(&l));
	lapic_set_lint(&l, 0, false);
	/* Virtual wire: LINT0 ExtINT, LINT1 NMI. */
	lapic_setup_virtual_wire(&l);
	assert_int_equal(rd(&l, 0x350), 0x700);
	assert_int_equal(rd(&l, 0x360), 0x400);
	assert_true(rd(&l, 0xF0) & 0x100);
	unsigned kicks = rec.kicks;
	lapic_set_lint(&l, 0, true);
	assert_true(rec.kicks > kicks);
	assert_int_equal(lapic_pending_events(&l), LAPIC_EV_EXTINT);
	/* A level: still there after a take, until INTR drops. */
	assert_true(lapic_take_extint(&l));
	assert_true(lapic_take_extint(&l));
	lapic_set_lint(&l, 0, false);
	assert_false(lapic_take_extint(&l));
	assert_int_equal(lapic_pending_vector(&l), -1); /* never in the IRR */
	/* LINT1 NMI on the rising edge only. */
	lapic_set_lint(&l, 1, true);
	assert_true(lapic_take_nmi(&l));
	lapic_set_lint(&l, 1, true);
	assert_false(lapic_take_nmi(&l));
	lapic_set_lint(&l, 1, false);
	assert_false(lapic_take_nmi(&l));
	lapic_set_lint(&l, 1, true);
	assert_true(lapic_take_nmi(&l));
	lapic_set_lint(&l, 1, false);
	/* Masked LINT0: nothing. */
	wr(&l, 0x350, 0x10700);
	lapic_set_lint(&l, 0, true);
	assert_false(lapic_take_extint(&l));
	/* Unmasking with INTR high: pending at once. */
	wr(&l, 0x350, 0x700);
	assert_true(lapic_take_extint(&l));
	lapic_set_lint(&l, 0, false);
	/* Active-low polarity inverts the pin. */
	wr(&l, 0x360, 0x2400);
	lapic_set_lint(&l, 1, true);
	assert_false(lapic_take_nmi(&l));
	lapic_set_lint(&l, 1, false);
	assert_true(lapic_take_nmi(&l));
	/* An ExtINT message (IOAPIC pin in ExtINT mode): latched, taken once. */
	struct apic_msg ext = { .mode = APIC_DM_EXTINT };
	lapic_accept(&l, &ext);
	assert_int_equal(lapic_pending_events(&l), LAPIC_EV_EXTINT);
	assert_true(lapic_take_extint(&l));
	assert_false(lapic_take_extint(&l));
	/* Bad pin numbers are ignored. */
	lapic_set_lint(&l, 2, true);
	assert_int_equal(lapic_pending_events(&l), 0);

	/* Globally disabled: LINT0 is INTR, LINT1 is NMI, no LVT. */
	struct lapic g;
	setup_apic(&g, 1, false);
	assert_true(lapic_set_base(&g, 0xFEE00000));
	lapic_set_lint(&g, 0, true);
	assert_true(lapic_take_extint(&g));
	lapic_set_lint(&g, 0, false);
	assert_false(lapic_take_extint(&g));
	lapic_set_lint(&g, 1, true);
	assert_true(lapic_take_nmi(&g));
}

static void test_lint_fixed_edge_and_level(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	sw_enable(&l);
	/* LINT1 fixed, edge: one interrupt per rising edge. */
	wr(&l, 0x360, 0x51);
	lapic_set_lint(&l, 1, true);
	assert_true(irr(&l, 0x51));
	assert_false(tmr(&l, 0x51));
	lapic_ack(&l, 0x51);
	wr(&l, 0xB0, 0);
	lapic_set_lint(&l, 1, true);
	assert_false(irr(&l, 0x51));
	/* LINT1 level-triggered is not supported: still edge. */
	lapic_set_lint(&l, 1, false);
	wr(&l, 0x360, 0x8051);
	lapic_set_lint(&l, 1, true);
	assert_true(irr(&l, 0x51));
	assert_false(tmr(&l, 0x51));
	assert_false(rd(&l, 0x360) & 0x4000);
	lapic_ack(&l, 0x51);
	wr(&l, 0xB0, 0);
	/* LINT0 fixed, level: remote IRR until the EOI, then again while high. */
	wr(&l, 0x350, 0x8052);
	lapic_set_lint(&l, 0, true);
	assert_true(irr(&l, 0x52));
	assert_true(tmr(&l, 0x52));
	assert_true(rd(&l, 0x350) & 0x4000);
	lapic_ack(&l, 0x52);
	lapic_set_lint(&l, 0, true); /* held: nothing new */
	assert_false(irr(&l, 0x52));
	wr(&l, 0xB0, 0);
	assert_int_equal(rec.eois, 1); /* the TMR bit also tells the IOAPICs */
	assert_true(irr(&l, 0x52));    /* still high: delivered again */
	assert_true(rd(&l, 0x350) & 0x4000);
	lapic_ack(&l, 0x52);
	lapic_set_lint(&l, 0, false);
	wr(&l, 0xB0, 0);
	assert_false(irr(&l, 0x52));
	assert_false(rd(&l, 0x350) & 0x4000);
	/* Unmasking a level that is high delivers it. */
	wr(&l, 0x350, 0x18052);
	lapic_set_lint(&l, 0, true);
	assert_false(irr(&l, 0x52));
	wr(&l, 0x350, 0x8052);
	assert_true(irr(&l, 0x52));
	/* LINT0 INIT on the rising edge. */
	lapic_set_lint(&l, 0, false);
	wr(&l, 0x350, 0x500);
	lapic_set_lint(&l, 0, true);
	assert_true(lapic_pending_events(&l) & LAPIC_EV_INIT);
	/* CMCI, thermal, performance counter through their LVT entries. */
	wr(&l, 0x2F0, 0x61);
	wr(&l, 0x330, 0x400);
	wr(&l, 0x340, 0x10062);
	lapic_local_interrupt(&l, LAPIC_LVT_CMCI);
	lapic_local_interrupt(&l, LAPIC_LVT_THERMAL);
	lapic_local_interrupt(&l, LAPIC_LVT_PERF);
	assert_true(irr(&l, 0x61));
	assert_true(lapic_take_nmi(&l));
	assert_false(irr(&l, 0x62));
	/* ExtINT and INIT are not for those entries. */
	wr(&l, 0x340, 0x700);
	lapic_local_interrupt(&l, LAPIC_LVT_PERF);
	assert_false(lapic_take_extint(&l));
	lapic_local_interrupt(&l, LAPIC_LVT_COUNT);
}

/* --- Random sequences under the sanitizers ------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint32_t reg_of(struct lapic *l, unsigned off)
{
	if (lapic_mode(l) == LAPIC_MODE_X2APIC) {
		uint64_t v = 0;
		lapic_msr_read(l, 0x800 + (off >> 4), &v);
		return (uint32_t)v;
	}
	return rd(l, off);
}

static void check_invariants(struct lapic *l)
{
	if (lapic_mode(l) == LAPIC_MODE_DISABLED) {
		assert_int_equal(lapic_pending_vector(l), -1);
		return;
	}
	uint32_t irrw[8], isrw[8], tmrw[8];
	for (unsigned i = 0; i < 8; i++) {
		irrw[i] = reg_of(l, 0x200 + i * 0x10);
		isrw[i] = reg_of(l, 0x100 + i * 0x10);
		tmrw[i] = reg_of(l, 0x180 + i * 0x10);
	}
	/* Vectors 0-15 never enter. */
	assert_int_equal(irrw[0] & 0xFFFF, 0);
	assert_int_equal(isrw[0] & 0xFFFF, 0);
	assert_int_equal(tmrw[0] & 0xFFFF, 0);
	/* PPR from TPR and ISR (11.8.3.1). */
	int isrv = -1, irrv = -1;
	for (int v = 255; v >= 0 && (isrv < 0 || irrv < 0); v--) {
		if (isrv < 0 && (isrw[v / 32] >> (v % 32) & 1))
			isrv = v;
		if (irrv < 0 && (irrw[v / 32] >> (v % 32) & 1))
			irrv = v;
	}
	uint32_t tpr = reg_of(l, 0x80);
	uint32_t cls = isrv < 0 ? 0 : (uint32_t)isrv & 0xF0;
	uint32_t ppr = (tpr & 0xF0) >= cls ? tpr : cls;
	assert_int_equal(reg_of(l, 0xA0), ppr);
	int expect = (irrv >= 0 && ((uint32_t)irrv & 0xF0) > (ppr & 0xF0)) ? irrv : -1;
	assert_int_equal(lapic_pending_vector(l), expect);
	/* Counts: current never above initial. */
	assert_true(reg_of(l, 0x390) <= reg_of(l, 0x380));
	/* After an update, nothing due is left behind. */
	lapic_update(l);
	uint64_t d = lapic_next_deadline(l);
	assert_true(d == VCLOCK_NEVER || d > clk.now);
	if (lapic_mode(l) == LAPIC_MODE_X2APIC) {
		uint64_t id = 0, ldr = 0;
		assert_true(lapic_msr_read(l, 0x802, &id));
		assert_true(lapic_msr_read(l, 0x80D, &ldr));
		assert_int_equal(ldr, ((id >> 4) << 16) | (1u << (id & 0xF)));
	}
}

static const unsigned interesting_regs[] = {
	0x020, 0x030, 0x080, 0x090, 0x0A0, 0x0B0, 0x0C0, 0x0D0, 0x0E0, 0x0F0, 0x100, 0x170, 0x180,
	0x200, 0x270, 0x280, 0x2F0, 0x300, 0x310, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370,
	0x380, 0x390, 0x3E0, 0x3F0, 0x010, 0x400,
};

static uint32_t random_value(void)
{
	switch (rnd() % 6) {
	case 0:
		return 0;
	case 1:
		return (uint32_t)rnd();
	case 2:
		return (uint32_t)(rnd() & 0x000FFFFF); /* ICR-ish, LVT-ish */
	case 3:
		return (uint32_t)(rnd() % 40); /* small counts */
	case 4:
		return 0x100 | (uint32_t)(rnd() & 0x10FF); /* SVR enabled */
	default:
		return (uint32_t)(rnd() & 0xFF);
	}
}

static void test_random_sequences(void **state)
{
	(void)state;
	struct lapic a[3];
	struct lapic *p[3];
	for (unsigned i = 0; i < 3; i++) {
		setup_apic(&a[i], i == 2 ? 0x123 : i, i == 0);
		p[i] = &a[i];
	}
	rec.apics = p;
	rec.napics = 3;
	clk.now = 1;
	for (unsigned iter = 0; iter < 200000; iter++) {
		struct lapic *l = &a[rnd() % 3];
		unsigned op = rnd() % 16;
		uint32_t off = interesting_regs[rnd() % ARRAY_SIZE(interesting_regs)];
		switch (op) {
		case 0:
		case 1:
			lapic_mmio_write(l, off, 4, random_value());
			break;
		case 2:
			lapic_mmio_read(l, rnd() % 0x1000, 1u << (rnd() % 4));
			lapic_mmio_write(l, rnd() % 0x1000, 1u << (rnd() % 4), rnd());
			break;
		case 3:
		case 4: {
			uint64_t v = random_value();
			if (off == 0x300)
				v |= (rnd() % 4) << 32;
			lapic_msr_write(l, 0x800 + (off >> 4), v);
			lapic_msr_read(l, 0x800 + (uint32_t)(rnd() % 0x100), &v);
			break;
		}
		case 5: {
			static const uint64_t bases[] = { 0xFEE00000, 0xFEE00800, 0xFEE00C00, 0xFEE00400, 0xFEE00801 };
			lapic_set_base(l, bases[rnd() % ARRAY_SIZE(bases)]);
			break;
		}
		case 6: {
			struct apic_msg m = {
				.dest = (uint32_t)(rnd() % 5 == 0 ? APIC_BROADCAST : rnd() % 0x130),
				.dest_logical = rnd() & 1,
				.mode = (enum apic_delivery_mode)(rnd() % 8),
				.vector = (uint8_t)rnd(),
				.level_triggered = rnd() & 1,
				.assert = rnd() & 1,
				.source_id = (uint32_t)(rnd() % 3),
				.exclude_source = rnd() % 4 == 0,
			};
			lapic_deliver(p, 3, &m);
			break;
		}
		case 7:
		case 8: {
			int v = lapic_pending_vector(l);
			if (v >= 0)
				lapic_ack(l, (uint8_t)v);
			break;
		}
		case 9:
			if (lapic_mode(l) == LAPIC_MODE_X2APIC)
				lapic_msr_write(l, 0x80B, 0);
			else
				wr(l, 0xB0, 0);
			break;
		case 10:
			clk.now += rnd() % 5000;
			lapic_update(l);
			break;
		case 11:
			lapic_set_lint(l, (unsigned)(rnd() % 3), rnd() & 1);
			break;
		case 12: {
			uint8_t v;
			lapic_take_nmi(l);
			lapic_take_extint(l);
			lapic_take_sipi(l, &v);
			lapic_take_smi(l);
			if (rnd() % 8 == 0)
				lapic_take_init(l);
			break;
		}
		case 13:
			lapic_msr_write(l, 0x6E0, clk.now + rnd() % 20000);
			break;
		case 14:
			lapic_local_interrupt(l, (enum lapic_lvt)(rnd() % (LAPIC_LVT_COUNT + 1)));
			break;
		default:
			if (rnd() % 64 == 0)
				lapic_reset(l);
			else
				lapic_set_tpr(l, (uint8_t)rnd());
			break;
		}
		check_invariants(l);
	}
}


/* --- APIC virtualization: the page is the virtual-APIC page (SDM Vol. 3C 30.1) --- */

/* The words the CPU reads and writes: VTPR 80H, VPPR A0H, VISR 100H, VIRR 200H. */
static uint32_t pg(const struct lapic *l, unsigned off) { return l->page[off / 4]; }
static void cpu_deliver(struct lapic *l, unsigned v) /* as virtual-interrupt delivery does (30.2.2) */
{
	l->page[(0x200 + (v / 32) * 0x10) / 4] &= ~(1u << (v % 32));
	l->page[(0x100 + (v / 32) * 0x10) / 4] |= 1u << (v % 32);
}
static void cpu_eoi(struct lapic *l, unsigned v) /* as EOI virtualization does (30.1.4) */
{
	l->page[(0x100 + (v / 32) * 0x10) / 4] &= ~(1u << (v % 32));
}

static void test_page_is_the_register_file(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 2, true);
	assert_true(((uintptr_t)l.page & 0xFFF) == 0);
	sw_enable(&l);
	/* What the model accepts, the CPU finds in VIRR, and RVI says so. */
	accept(&l, 0x41, false);
	accept(&l, 0x92, false);
	assert_int_equal(pg(&l, 0x200 + 0x20), 1u << 1);
	assert_int_equal(pg(&l, 0x200 + 0x40), 1u << 0x12);
	assert_int_equal(lapic_guest_interrupt_status(&l), 0x0092);
	/* The model's INTA moves it to ISR: SVI, and PPR in the page. */
	lapic_ack(&l, 0x92);
	assert_int_equal(pg(&l, 0x100 + 0x40), 1u << 0x12);
	assert_int_equal(lapic_guest_interrupt_status(&l), 0x9241);
	lapic_update_ppr(&l);
	assert_int_equal(pg(&l, 0xA0), 0x90);
	/* TPR written by the guest through the model, or by the CPU (VTPR): one word. */
	wr(&l, 0x80, 0xA0);
	assert_int_equal(pg(&l, 0x80), 0xA0);
	lapic_update_ppr(&l);
	assert_int_equal(pg(&l, 0xA0), 0xA0);
	l.page[0x80 / 4] = 0x30; /* a TPR virtualization */
	assert_int_equal(lapic_get_tpr(&l), 0x30);
	assert_int_equal(rd(&l, 0x80), 0x30);
	/* The CPU delivers 41H and completes 92H's EOI: the model sees both. */
	cpu_eoi(&l, 0x92);
	cpu_deliver(&l, 0x41);
	assert_false(irr(&l, 0x41));
	assert_true(isr(&l, 0x41));
	assert_int_equal(lapic_pending_vector(&l), -1);
	assert_int_equal(lapic_guest_interrupt_status(&l), 0x4100);
	/* Registers the CPU reads for the guest (APIC-register virtualization)
	 * hold what the model would answer. */
	wr(&l, 0x320, 0x20033);
	wr(&l, 0x380, 12345);
	wr(&l, 0x3E0, 0xB);
	wr(&l, 0x310, 0x05000000);
	wr(&l, 0xD0, 0x08000000);
	static const unsigned regs[] = { 0x20, 0x30, 0x80, 0xD0, 0xE0, 0xF0, 0x100, 0x180, 0x200, 0x280,
					 0x2F0, 0x300, 0x310, 0x320, 0x350, 0x370, 0x380, 0x3E0 };
	for (unsigned i = 0; i < ARRAY_SIZE(regs); i++)
		assert_int_equal(pg(&l, regs[i]), rd(&l, regs[i]));
	/* x2APIC: the ID and the derived LDR, in the page too. */
	to_x2apic(&l);
	assert_int_equal(pg(&l, 0x20), 2);
	assert_int_equal(pg(&l, 0xD0), msr_rd(&l, 0x80D));
	assert_int_equal(pg(&l, 0xD0), 0x4);
	msr_wr(&l, 0x830, 0x0000000700000000ull | 0x4000 | 0x0D0); /* to APIC 7, not us */
	assert_int_equal(pg(&l, 0x300), msr_rd(&l, 0x830) & 0xFFFFFFFF);
	assert_int_equal(pg(&l, 0x310), 7);
	/* Reset (and INIT) clear VIRR, VISR and VTPR with the rest. */
	accept(&l, 0x55, true);
	lapic_reset(&l);
	for (unsigned off = 0x80; off < 0x280; off += 0x10)
		if (off != 0xE0 && off != 0xF0) /* DFR all ones, SVR 0FFH */
			assert_int_equal(pg(&l, off), 0);
	assert_int_equal(lapic_guest_interrupt_status(&l), 0);
}

static void test_eoi_exit_bitmap_and_virtualized_eoi(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 0, true);
	sw_enable(&l);
	uint64_t bm[4];
	lapic_eoi_exit_bitmap(&l, bm);
	assert_true(!bm[0] && !bm[1] && !bm[2] && !bm[3]);
	/* Level-triggered vectors need the EOI exit; edge ones complete in the CPU. */
	accept(&l, 0x31, true);
	accept(&l, 0x72, false);
	accept(&l, 0xC5, true);
	accept(&l, 0xFF, true);
	lapic_eoi_exit_bitmap(&l, bm);
	assert_int_equal(bm[0], 1ull << 0x31);
	assert_int_equal(bm[1], 0);
	assert_int_equal(bm[3], (1ull << (0xC5 - 0xC0)) | (1ull << 63));
	/* Virtual delivery and EOI of the edge vector: nobody else hears of it. */
	cpu_deliver(&l, 0x72);
	cpu_eoi(&l, 0x72);
	assert_int_equal(rec.eois, 0);
	/* The level one: the CPU retires it, the EOI-induced exit tells the IOAPIC. */
	cpu_deliver(&l, 0xFF);
	cpu_eoi(&l, 0xFF);
	lapic_eoi_virtualized(&l, 0xFF);
	assert_int_equal(rec.eois, 1);
	assert_int_equal(rec.eoi[0], 0xFF);
	lapic_update_ppr(&l);
	assert_int_equal(pg(&l, 0xA0), 0); /* PPR follows */
	/* A vector re-accepted as edge leaves the bitmap. */
	accept(&l, 0x31, false);
	lapic_eoi_exit_bitmap(&l, bm);
	assert_int_equal(bm[0], 0);
	/* Suppressed broadcasts stay suppressed (SDM 11.8.5). */
	wr(&l, 0xF0, 0x11FF);
	cpu_deliver(&l, 0xC5);
	cpu_eoi(&l, 0xC5);
	lapic_eoi_virtualized(&l, 0xC5);
	assert_int_equal(rec.eois, 1);
	/* LINT0 level-triggered: remote IRR waits for the virtualized EOI. */
	wr(&l, 0xF0, 0x1FF);
	wr(&l, 0x350, 0x8000 | 0x66);
	lapic_set_lint(&l, 0, true);
	assert_true(rd(&l, 0x350) & (1u << 14));
	cpu_deliver(&l, 0x66);
	cpu_eoi(&l, 0x66);
	lapic_set_lint(&l, 0, false);
	lapic_eoi_virtualized(&l, 0x66);
	assert_false(rd(&l, 0x350) & (1u << 14));
}

static void test_apic_write_forwarding(void **state)
{
	(void)state;
	struct lapic l;
	setup_apic(&l, 3, true);
	sw_enable(&l);
	/* ICR low, self IPI: the guest's write is in the page, the exit sends it. */
	l.page[0x300 / 4] = (1u << 18) | 0x44;
	assert_true(lapic_apic_write(&l, 0x300));
	assert_true(irr(&l, 0x44));
	/* ID is read-only here: the page shows the ID again. */
	l.page[0x20 / 4] = 0x7F000000;
	assert_true(lapic_apic_write(&l, 0x20));
	assert_int_equal(pg(&l, 0x20), 0x03000000);
	/* Reserved bits of an LVT entry do not stay. */
	l.page[0x370 / 4] = 0xFFFFFFFF;
	assert_true(lapic_apic_write(&l, 0x370));
	assert_int_equal(pg(&l, 0x370), 0x000100FF);
	/* Timer: a one-shot count that ran out under a masked entry is not
	 * delivered with the vector of the entry written over it. */
	wr(&l, 0x3E0, 0xB);
	wr(&l, 0x320, 0x10000 | 0x50); /* masked one-shot */
	wr(&l, 0x380, 100);
	clk.now += 3 * 1000;
	l.page[0x320 / 4] = (2u << 17) | 0x51; /* TSC-deadline, unmasked */
	assert_true(lapic_apic_write(&l, 0x320));
	assert_false(irr(&l, 0x50));
	assert_false(irr(&l, 0x51));
	assert_int_equal(pg(&l, 0x380), 0); /* the mode change disarmed the count */
	msr_wr(&l, 0x6E0, clk.now + 30);
	clk.now += 30;
	lapic_update(&l);
	assert_true(irr(&l, 0x51));
	/* The initial count, written in TSC-deadline mode, is ignored: the page says so. */
	l.page[0x380 / 4] = 777;
	assert_true(lapic_apic_write(&l, 0x380));
	assert_int_equal(pg(&l, 0x380), 0);
	/* The ESR write latches the errors since the last one. */
	wr(&l, 0x3A0, 1); /* no such register: illegal register address */
	l.page[0x280 / 4] = 0;
	assert_true(lapic_apic_write(&l, 0x280));
	assert_int_equal(pg(&l, 0x280), APIC_ESR_ILLEGAL_REGISTER);
	/* x2APIC SELF IPI the CPU left to us. */
	to_x2apic(&l);
	l.page[0x3F0 / 4] = 0x47;
	assert_true(lapic_apic_write(&l, 0x3F0));
	assert_true(irr(&l, 0x47));
	assert_int_equal(pg(&l, 0x3F0), 0);
	/* x2APIC LDR is read-only: refused, and restored. */
	l.page[0xD0 / 4] = 0x1234;
	assert_false(lapic_apic_write(&l, 0xD0));
	assert_int_equal(pg(&l, 0xD0), 0x8);
}

static void test_x2apic_reads_from_page(void **state)
{
	(void)state;
	static const uint32_t yes[] = { 0x802, 0x803, 0x808, 0x80D, 0x80F, 0x810, 0x817, 0x818, 0x81F,
					0x820, 0x827, 0x828, 0x82F, 0x830, 0x832, 0x837, 0x838, 0x83E };
	static const uint32_t no[] = { 0x800, 0x801, 0x804, 0x809, 0x80A, 0x80B, 0x80C, 0x80E, 0x829,
				       0x82E, 0x831, 0x839, 0x83A, 0x83D, 0x83F, 0x840, 0x8FF };
	for (unsigned i = 0; i < ARRAY_SIZE(yes); i++)
		assert_true(lapic_x2apic_read_from_page(yes[i]));
	for (unsigned i = 0; i < ARRAY_SIZE(no); i++)
		assert_false(lapic_x2apic_read_from_page(no[i]));
	/* Every register served from the page reads there what RDMSR returns. */
	struct lapic l;
	setup_apic(&l, 0x21, true);
	sw_enable(&l);
	to_x2apic(&l);
	msr_wr(&l, 0x808, 0x20);
	msr_wr(&l, 0x838, 1000);
	accept(&l, 0x90, true);
	for (uint32_t msr = 0x800; msr <= 0x8FF; msr++)
		if (lapic_x2apic_read_from_page(msr))
			assert_int_equal(pg(&l, (msr - 0x800) << 4), msr_rd(&l, msr) & 0xFFFFFFFF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_values, reset_fixture),
		cmocka_unit_test_setup(test_xapic_access_sizes, reset_fixture),
		cmocka_unit_test_setup(test_x2apic_msr_rules, reset_fixture),
		cmocka_unit_test_setup(test_apic_base_transitions, reset_fixture),
		cmocka_unit_test_setup(test_init_keeps_mode_and_id, reset_fixture),
		cmocka_unit_test_setup(test_tpr_ppr_priority_classes, reset_fixture),
		cmocka_unit_test_setup(test_nested_interrupts_eoi_order, reset_fixture),
		cmocka_unit_test_setup(test_ppr_drop_kicks, reset_fixture),
		cmocka_unit_test_setup(test_tmr_and_eoi_broadcast, reset_fixture),
		cmocka_unit_test_setup(test_svr_software_disable, reset_fixture),
		cmocka_unit_test_setup(test_error_status_register, reset_fixture),
		cmocka_unit_test_setup(test_icr_xapic, reset_fixture),
		cmocka_unit_test_setup(test_icr_x2apic_and_self_ipi, reset_fixture),
		cmocka_unit_test_setup(test_destination_matching, reset_fixture),
		cmocka_unit_test_setup(test_deliver_helper, reset_fixture),
		cmocka_unit_test_setup(test_ipi_shorthands_end_to_end, reset_fixture),
		cmocka_unit_test_setup(test_timer_one_shot, reset_fixture),
		cmocka_unit_test_setup(test_timer_divide_values, reset_fixture),
		cmocka_unit_test_setup(test_timer_periodic_no_drift, reset_fixture),
		cmocka_unit_test_setup(test_timer_divisor_change_mid_count, reset_fixture),
		cmocka_unit_test_setup(test_timer_tsc_deadline, reset_fixture),
		cmocka_unit_test_setup(test_timer_x2apic_and_big_numbers, reset_fixture),
		cmocka_unit_test_setup(test_lint_extint_and_nmi, reset_fixture),
		cmocka_unit_test_setup(test_lint_fixed_edge_and_level, reset_fixture),
		cmocka_unit_test_setup(test_random_sequences, reset_fixture),
		cmocka_unit_test_setup(test_page_is_the_register_file, reset_fixture),
		cmocka_unit_test_setup(test_eoi_exit_bitmap_and_virtualized_eoi, reset_fixture),
		cmocka_unit_test_setup(test_apic_write_forwarding, reset_fixture),
		cmocka_unit_test_setup(test_x2apic_reads_from_page, reset_fixture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
