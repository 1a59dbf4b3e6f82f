/* devices/msi.c: MSI address/data pairs as real systems program them, the
 * ones that are not interrupt messages, and random pairs against an
 * independent reading of SDM Vol. 3A 11.11. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "devices/lapic.h"
#include "devices/msi.h"

static void expect(uint64_t address, uint32_t data, uint32_t dest, bool logical, enum apic_delivery_mode mode,
		   uint8_t vector, bool level, bool assert)
{
	struct apic_msg m;
	memset(&m, 0xA5, sizeof(m));
	assert_true(msi_decode(address, data, &m));
	assert_int_equal(m.dest, dest);
	assert_int_equal(m.dest_logical, logical);
	assert_int_equal(m.mode, mode);
	assert_int_equal(m.vector, vector);
	assert_int_equal(m.level_triggered, level);
	assert_int_equal(m.assert, assert);
	assert_int_equal(m.source_id, 0);
	assert_false(m.exclude_source);
}

static void refused(uint64_t address, uint32_t data)
{
	struct apic_msg m, before;
	memset(&m, 0x5A, sizeof(m));
	before = m;
	assert_false(msi_decode(address, data, &m));
	assert_memory_equal(&m, &before, sizeof(m)); /* left untouched */
}

static void test_real_world_values(void **state)
{
	(void)state;
	/* Linux since 5.10, physical mode: data is the vector alone. */
	expect(0xFEE00000, 0x0022, 0, false, APIC_DM_FIXED, 0x22, false, true);
	expect(0xFEE03000, 0x00EF, 3, false, APIC_DM_FIXED, 0xEF, false, true);
	/* Older Linux: edge, "level assert", fixed (data 4000H | vector). */
	expect(0xFEE01000, 0x4041, 1, false, APIC_DM_FIXED, 0x41, false, true);
	/* Linux logical flat with lowest priority: RH=1, DM=1, data 41xxH. */
	expect(0xFEE0F00C, 0x4131, 0x0F, true, APIC_DM_LOWEST, 0x31, false, true);
	/* RH=1 on a fixed message: the platform picks one (lowest priority). */
	expect(0xFEE0300C, 0x0051, 0x03, true, APIC_DM_LOWEST, 0x51, false, true);
	expect(0xFEE02008, 0x0052, 0x02, false, APIC_DM_LOWEST, 0x52, false, true);
	/* RH=0 with DM=1: DM still decides (what chipsets do). */
	expect(0xFEE01004, 0x0053, 0x01, true, APIC_DM_FIXED, 0x53, false, true);
	/* NMI by MSI (a watchdog), SMI, INIT, ExtINT: RH changes nothing. */
	expect(0xFEE00008, 0x0400, 0, false, APIC_DM_NMI, 0, false, true);
	expect(0xFEE00000, 0x0200, 0, false, APIC_DM_SMI, 0, false, true);
	expect(0xFEE01000, 0x0500, 1, false, APIC_DM_INIT, 0, false, true);
	expect(0xFEE00000, 0x0700, 0, false, APIC_DM_EXTINT, 0, false, true);
	/* Level-triggered messages: assert and de-assert. */
	expect(0xFEE00000, 0xC061, 0, false, APIC_DM_FIXED, 0x61, true, true);
	expect(0xFEE00000, 0x8061, 0, false, APIC_DM_FIXED, 0x61, true, false);
	/* Physical 0xFF is the broadcast; logical 0xFF stays an MDA. */
	expect(0xFEEFF000, 0x0030, APIC_BROADCAST, false, APIC_DM_FIXED, 0x30, false, true);
	expect(0xFEEFF004, 0x0030, 0xFF, true, APIC_DM_FIXED, 0x30, false, true);
	/* Reserved address bits 11:4 (the "extended destination ID" some
	 * hypervisors put in 11:5) and bits 1:0 are ignored; so are data bits
	 * 13:11 and 31:16. */
	expect(0xFEE01FE3, 0x0041, 1, false, APIC_DM_FIXED, 0x41, false, true);
	expect(0xFEE01000, 0xFFFF3841, 1, false, APIC_DM_FIXED, 0x41, false, true);
	/* A 64-bit MSI address with the upper half zero, the last address
	 * (DM=1: logical 0xFF; RH=1: lowest priority). */
	expect(0x00000000FEEFFFFFull, 0x0041, 0xFF, true, APIC_DM_LOWEST, 0x41, false, true);
	/* Vectors 0-15 pass: the receiving APIC refuses them (11.5.2). */
	expect(0xFEE00000, 0x0005, 0, false, APIC_DM_FIXED, 5, false, true);
}

static void test_refusals(void **state)
{
	(void)state;
	/* An MSI-X table entry nobody programmed. */
	refused(0, 0);
	/* Outside FEE00000H-FEEFFFFFH. */
	refused(0xFEDFFFFC, 0x0041);
	refused(0xFEF00000, 0x0041);
	refused(0xFEC00000, 0x0041);
	refused(0xFFFFFFFF, 0x0041);
	/* Above 4 GiB, however the low half looks. */
	refused(0x1FEE00000ull, 0x0041);
	refused(0xFFFFFFFFFEE00000ull, 0x0041);
	refused(0x80000000FEE01000ull, 0x0041);
	/* Reserved delivery modes 011B and 110B (11.11.2). */
	refused(0xFEE00000, 0x0341);
	refused(0xFEE00000, 0x0641);
	refused(0xFEE00000, 0xC341);
}

/* An MSI decoded and delivered to local APICs: the path a virtio-pci
 * device's interrupt takes. */
static void test_delivered_to_local_apics(void **state)
{
	(void)state;
	struct lapic a[3];
	struct lapic *p[3];
	for (unsigned i = 0; i < 3; i++) {
		struct lapic_config cfg = { .apic_id = i };
		lapic_init(&a[i], &cfg);
		lapic_mmio_write(&a[i], 0xF0, 4, 0x1FF);
		lapic_mmio_write(&a[i], 0xD0, 4, (1u << i) << 24);
		p[i] = &a[i];
	}
	struct apic_msg m;
	assert_true(msi_decode(0xFEE02000, 0x0045, &m));
	assert_int_equal(lapic_deliver(p, 3, &m), 1);
	assert_int_equal(lapic_pending_vector(&a[2]), 0x45);
	assert_true(msi_decode(0xFEEFF000, 0x0046, &m));
	assert_int_equal(lapic_deliver(p, 3, &m), 3);
	/* Logical, redirectable: one of APICs 0 and 1, the lower PPR. */
	lapic_mmio_write(&a[0], 0x80, 4, 0x80);
	assert_true(msi_decode(0xFEE0300C, 0x0047, &m));
	assert_int_equal(lapic_deliver(p, 3, &m), 1);
	assert_true(lapic_mmio_read(&a[1], 0x220, 4) & (1u << 7));
	assert_false(lapic_mmio_read(&a[0], 0x220, 4) & (1u << 7));
}

/* Random pairs, against a decoding written from the figures. */
static uint64_t rng = 0xB7E151628AED2A6Bull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_random_pairs(void **state)
{
	(void)state;
	struct lapic a[2];
	struct lapic *p[2] = { &a[0], &a[1] };
	for (unsigned i = 0; i < 2; i++) {
		struct lapic_config cfg = { .apic_id = i };
		lapic_init(&a[i], &cfg);
		lapic_mmio_write(&a[i], 0xF0, 4, 0x1FF);
	}
	unsigned accepted = 0;
	for (unsigned i = 0; i < 200000; i++) {
		uint64_t address;
		switch (rnd() % 4) {
		case 0:
			address = rnd();
			break;
		case 1:
			address = (uint32_t)rnd();
			break;
		default:
			address = 0xFEE00000u | (rnd() & 0xFFFFF);
			break;
		}
		uint32_t data = (uint32_t)rnd();
		/* Figure 11-24: bits 31:20 0FEEH, 19:12 destination ID, 3 RH,
		 * 2 DM. Figure 11-25: 7:0 vector, 10:8 delivery mode, 14 level,
		 * 15 trigger mode. */
		bool valid = (address >> 20) == 0xFEE;
		unsigned mode = (data >> 8) & 7;
		if (mode == 3 || mode == 6)
			valid = false;
		struct apic_msg m;
		memset(&m, 0, sizeof(m));
		bool ok = msi_decode(address, data, &m);
		assert_int_equal(ok, valid);
		if (!ok)
			continue;
		accepted++;
		uint32_t id = (address >> 12) & 0xFF;
		bool dm = (address >> 2) & 1, rh = (address >> 3) & 1;
		assert_int_equal(m.dest_logical, dm);
		assert_int_equal(m.dest, (!dm && id == 0xFF) ? 0xFFFFFFFFu : id);
		assert_int_equal(m.vector, data & 0xFF);
		assert_int_equal(m.mode, (rh && mode == 0) ? 1u : mode);
		assert_int_equal(m.level_triggered, (data >> 15) & 1);
		assert_int_equal(m.assert, !((data >> 15) & 1) || ((data >> 14) & 1));
		lapic_deliver(p, 2, &m);
		int v = lapic_pending_vector(&a[i & 1]);
		if (v >= 0 && rnd() % 2) {
			lapic_ack(&a[i & 1], (uint8_t)v);
			lapic_mmio_write(&a[i & 1], 0xB0, 4, 0);
		}
	}
	assert_true(accepted > 50000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_world_values),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_delivered_to_local_apics),
		cmocka_unit_test(test_random_pairs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
