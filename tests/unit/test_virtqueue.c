/* devices/virtqueue.c: the split virtqueue, device side (VIRTIO 1.2, 2.7),
 * driven by the driver-side rig of virtq_rig.h over a calloc'd guest RAM:
 * queue configuration checks, chain walking and every refusal (loops,
 * indirect tables, buffers outside RAM), used ring updates, the avail index
 * jump, and both notification suppression schemes (2.7.7, 2.7.10). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/virtq_rig.h"

#define FEAT_INDIRECT BIT(VIRTIO_F_INDIRECT_DESC)
#define FEAT_EVENT_IDX BIT(VIRTIO_F_EVENT_IDX)

static struct virtq_chain chain;

/* --- Queue configuration (2.7) ----------------------------------------------------------- */

static const char *check(struct rig *r)
{
	return virtq_check_config(&r->mem, &r->dev.queues[0]);
}

static void test_config_valid(void **state)
{
	(void)state;
	struct rig *r = rig_new(256, 0);
	assert_null(check(r));
	/* Every power of 2 up to the maximum. */
	for (uint16_t s = 1; s <= 256; s = (uint16_t)(s * 2)) {
		r->dev.queues[0].size = s;
		assert_null(check(r));
	}
	/* Rings ending exactly at the end of RAM. */
	r->dev.queues[0].size = 16;
	r->dev.queues[0].avail_gpa = RIG_RAM_SIZE - virtq_avail_bytes(16);
	r->dev.queues[0].used_gpa = RIG_RAM_SIZE - 0x1000;
	r->dev.queues[0].desc_gpa = RIG_RAM_SIZE - 0x2000;
	assert_null(check(r));
	rig_free(r);
}

static void test_config_size(void **state)
{
	(void)state;
	struct rig *r = rig_new(256, 0);
	uint16_t bad[] = { 0, 3, 6, 100, 255 };
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		r->dev.queues[0].size = bad[i];
		assert_non_null(check(r));
	}
	/* Above what the device offers. */
	r->dev.queues[0].max_size = 64;
	r->dev.queues[0].size = 128;
	assert_string_equal(check(r), "queue size above the maximum offered (4.1.4.3)");
	/* Above the implementation's maximum even if max_size says more. */
	r->dev.queues[0].max_size = 1024;
	r->dev.queues[0].size = 512;
	assert_non_null(check(r));
	rig_free(r);
}

static void test_config_alignment(void **state)
{
	(void)state;
	struct rig *r = rig_new(64, 0);
	struct virtqueue *vq = &r->dev.queues[0];
	vq->desc_gpa = RIG_DESC_GPA + 8;
	assert_string_equal(check(r), "descriptor table not 16-byte aligned (2.7)");
	vq->desc_gpa = RIG_DESC_GPA;
	vq->avail_gpa = RIG_AVAIL_GPA + 1;
	assert_string_equal(check(r), "available ring not 2-byte aligned (2.7)");
	vq->avail_gpa = RIG_AVAIL_GPA + 2; /* 2-aligned is enough */
	assert_null(check(r));
	vq->used_gpa = RIG_USED_GPA + 2;
	assert_string_equal(check(r), "used ring not 4-byte aligned (2.7)");
	vq->used_gpa = RIG_USED_GPA + 4;
	assert_null(check(r));
	rig_free(r);
}

static void test_config_outside_ram(void **state)
{
	(void)state;
	struct rig *r = rig_new(64, 0);
	struct virtqueue *vq = &r->dev.queues[0];
	uint64_t bad[] = { RIG_HV_GPA, RIG_MMIO_GPA, RIG_TOP_GPA, RIG_RAM_SIZE };

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		vq->desc_gpa = bad[i];
		assert_string_equal(check(r), "descriptor table outside guest RAM");
		vq->desc_gpa = RIG_DESC_GPA;
		vq->avail_gpa = bad[i];
		assert_string_equal(check(r), "available ring outside guest RAM");
		vq->avail_gpa = RIG_AVAIL_GPA;
		vq->used_gpa = bad[i];
		assert_string_equal(check(r), "used ring outside guest RAM");
		vq->used_gpa = RIG_USED_GPA;
	}
	/* Straddling the end of RAM by one byte: each area's full length,
	 * event fields included, must fit. */
	vq->desc_gpa = RIG_RAM_SIZE - virtq_desc_bytes(64) + 16;
	assert_non_null(check(r));
	vq->desc_gpa = RIG_DESC_GPA;
	vq->avail_gpa = RIG_RAM_SIZE - virtq_avail_bytes(64) + 2;
	assert_non_null(check(r));
	vq->avail_gpa = RIG_RAM_SIZE - virtq_avail_bytes(64);
	assert_null(check(r));
	vq->used_gpa = RIG_RAM_SIZE - virtq_used_bytes(64) + 4;
	assert_non_null(check(r));
	rig_free(r);
}

/* --- Popping chains (2.7.5, 2.7.6) ------------------------------------------------------- */

static enum virtq_pop_result pop(struct rig *r)
{
	uint16_t avail;
	if (!virtq_drain_begin(&r->dev, 0, &avail))
		return VIRTQ_POP_BROKEN;
	return virtq_pop(&r->dev, 0, avail, &chain);
}

static void test_pop_empty(void **state)
{
	(void)state;
	struct rig *r = rig_new(8, 0);
	assert_int_equal(pop(r), VIRTQ_POP_EMPTY);
	rig_free(r);
}

static void test_pop_chain(void **state)
{
	(void)state;
	struct rig *r = rig_new(8, 0);
	struct rig_buf b[] = {
		{ RIG_DATA_GPA, 16, false },
		{ RIG_DATA_GPA + 0x100, 512, false },
		{ RIG_DATA_GPA + 0x400, 1000, true },
		{ RIG_DATA_GPA + 0x1000, 1, true },
	};
	rig_chain(r, 3, b, 4); /* descriptors 3..6 */
	rig_avail_add(r, 3);
	assert_int_equal(pop(r), VIRTQ_POP_OK);
	assert_int_equal(chain.head, 3);
	assert_int_equal(chain.n, 4);
	assert_int_equal(chain.n_read, 2);
	assert_int_equal(chain.read_bytes, 528);
	assert_int_equal(chain.write_bytes, 1001);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(chain.seg[i].gpa, b[i].gpa);
		assert_int_equal(chain.seg[i].len, b[i].len);
		assert_int_equal(chain.seg[i].write, b[i].write);
	}
	assert_int_equal(r->dev.queues[0].last_avail, 1);
	assert_int_equal(pop(r), VIRTQ_POP_EMPTY);
	rig_free(r);
}

/* A chain that is refused but completable: BAD_CHAIN, head kept, consumed. */
static void expect_bad(struct rig *r, uint16_t head, const char *why)
{
	uint16_t before = r->dev.queues[0].last_avail;
	assert_int_equal(pop(r), VIRTQ_POP_BAD_CHAIN);
	assert_int_equal(chain.head, head);
	assert_int_equal(chain.n, 0);
	assert_int_equal(r->dev.queues[0].last_avail, (uint16_t)(before + 1));
	assert_false(virtio_is_broken(&r->dev));
	if (why)
		assert_string_equal(chain.error, why);
}

static void test_pop_loop(void **state)
{
	(void)state;
	struct rig *r = rig_new(8, 0);
	/* 0 -> 1 -> 2 -> 0 */
	rig_desc(r, 0, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	rig_desc(r, 1, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	rig_desc(r, 2, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	rig_avail_add(r, 0);
	expect_bad(r, 0, "descriptor chain loops (longer than the queue size)");
	/* A descriptor pointing at itself. */
	rig_desc(r, 5, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 5);
	rig_avail_add(r, 5);
	expect_bad(r, 5, "descriptor chain loops (longer than the queue size)");
	/* Exactly the queue size long, no loop: accepted. */
	for (unsigned i = 0; i < 8; i++)
		rig_desc(r, i, RIG_DATA_GPA, 16, i < 7 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	rig_avail_add(r, 0);
	assert_int_equal(pop(r), VIRTQ_POP_OK);
	assert_int_equal(chain.n, 8);
	rig_free(r);
}

static void test_pop_next_past_table(void **state)
{
	(void)state;
	struct rig *r = rig_new(8, 0);
	rig_desc(r, 0, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 8);
	rig_avail_add(r, 0);
	expect_bad(r, 0, "next index past the descriptor table");
	rig_free(r);
}

static void test_pop_readable_after_writable(void **state)
{
	(void)state;
	struct rig *r = rig_new(8, 0);
	struct rig_buf b[] = { { RIG_DATA_GPA, 16, true }, { RIG_DATA_GPA + 16, 16, false } };
	rig_chain(r, 0, b, 2);
	rig_avail_add(r, 0);
	expect_bad(r, 0, "readable descriptor after a writable one (2.7.4.2)");
	rig_free(r);
}

static void test_pop_buffers_outside_ram(void **state)
{
	(void)state;
	struct rig *r = rig_new(8, 0);
	struct {
		uint64_t gpa;
		uint32_t len;
	} bad[] = {
		{ RIG_HV_GPA, 16 },                 /* the hypervisor's own memory */
		{ RIG_MMIO_GPA, 4 },                /* the local APIC in the MMIO hole */
		{ 0xfec00000ull, 0x20 },            /* the I/O APIC */
		{ RIG_RAM_SIZE - 8, 16 },           /* straddling the end of RAM */
		{ RIG_RAM_SIZE + 1, 0 },            /* empty, but past the end */
		{ 0xfffffffffffffff0ull, 0x20 },    /* wraps around 2^64 */
		{ RIG_TOP_GPA, 0xffffffffu },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		rig_desc(r, 0, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
		rig_desc(r, 1, bad[i].gpa, bad[i].len, VIRTQ_DESC_F_WRITE, 0);
		rig_avail_add(r, 0);
		expect_bad(r, 0, "buffer outside guest RAM");
	}
	/* The last byte of RAM is fine. */
	rig_desc(r, 1, RIG_RAM_SIZE - 1, 1, VIRTQ_DESC_F_WRITE, 0);
	rig_avail_add(r, 0);
	assert_int_equal(pop(r), VIRTQ_POP_OK);
	rig_free(r);
}

static void test_pop_head_past_table(void **state)
{
	(void)state;
	struct rig *r = rig_new(8, 0);
	rig_avail_add(r, 8);
	assert_int_equal(pop(r), VIRTQ_POP_BROKEN);
	assert_true(r->dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_non_null(r->dev.broken_reason);
	assert_int_equal(r->config_irqs, 1);
	/* Broken stays broken: nothing popped or pushed any more. */
	assert_int_equal(pop(r), VIRTQ_POP_BROKEN);
	assert_false(virtq_push(&r->dev, 0, 0, 0));
	assert_int_equal(rig_used_idx(r), 0);
	assert_int_equal(r->config_irqs, 1);
	rig_free(r);
}

static void test_avail_idx_jump(void **state)
{
	(void)state;
	struct rig *r = rig_new(16, 0);
	uint16_t avail;
	/* Exactly the queue size outstanding: fine. */
	rig_put16(r, RIG_AVAIL_GPA + 2, 16);
	assert_true(virtq_drain_begin(&r->dev, 0, &avail));
	assert_int_equal(avail, 16);
	/* One more: the driver cannot have made that many available. */
	rig_put16(r, RIG_AVAIL_GPA + 2, 17);
	assert_false(virtq_drain_begin(&r->dev, 0, &avail));
	assert_true(virtio_is_broken(&r->dev));
	assert_string_equal(r->dev.broken_reason, "avail idx moved by more than the queue size (2.7.6)");
	assert_int_equal(r->config_irqs, 1);
	rig_free(r);

	/* Backwards is a jump too (65535 ahead). */
	r = rig_new(16, 0);
	rig_start_at(r, 100);
	rig_put16(r, RIG_AVAIL_GPA + 2, 99);
	assert_false(virtq_drain_begin(&r->dev, 0, &avail));
	assert_true(virtio_is_broken(&r->dev));
	rig_free(r);

	/* Across the 16-bit wrap, within the size: fine. */
	r = rig_new(16, 0);
	rig_start_at(r, 65530);
	rig_put16(r, RIG_AVAIL_GPA + 2, 4);
	assert_true(virtq_drain_begin(&r->dev, 0, &avail));
	rig_free(r);
}

static void test_no_config_irq_before_driver_ok(void **state)
{
	(void)state;
	struct rig *r = rig_new(16, 0);
	r->dev.status &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	virtio_mark_broken(&r->dev, "test");
	assert_true(virtio_is_broken(&r->dev));
	assert_int_equal(r->config_irqs, 0);
	rig_free(r);
}

/* --- Indirect descriptors (2.7.5.3) ----------------------------------------------------- */

static void put_indirect(struct rig *r, uint16_t head, uint32_t table_len, uint16_t flags)
{
	rig_desc(r, head, RIG_TABLE_GPA, table_len, (uint16_t)(VIRTQ_DESC_F_INDIRECT | flags), 0);
	rig_avail_add(r, head);
}

static void test_indirect_ok(void **state)
{
	(void)state;
	struct rig *r = rig_new(4, FEAT_INDIRECT);
	struct rig_buf b[6];
	for (unsigned i = 0; i < 6; i++)
		b[i] = (struct rig_buf){ RIG_DATA_GPA + 0x1000 * i, 100 + i, i >= 3 };
	rig_chain_at(r, RIG_TABLE_GPA, 0, b, 6);
	/* More entries than the queue size: allowed in a table. The WRITE
	 * flag on the indirect descriptor itself is ignored. */
	put_indirect(r, 2, 6 * 16, VIRTQ_DESC_F_WRITE);
	assert_int_equal(pop(r), VIRTQ_POP_OK);
	assert_int_equal(chain.head, 2);
	assert_int_equal(chain.n, 6);
	assert_int_equal(chain.n_read, 3);
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(chain.seg[i].gpa, b[i].gpa);
		assert_int_equal(chain.seg[i].len, b[i].len);
	}
	/* The chain may end before the table does. */
	rig_chain_at(r, RIG_TABLE_GPA, 0, b, 2);
	put_indirect(r, 0, 6 * 16, 0);
	assert_int_equal(pop(r), VIRTQ_POP_OK);
	assert_int_equal(chain.n, 2);
	rig_free(r);
}

static void test_indirect_not_negotiated(void **state)
{
	(void)state;
	struct rig *r = rig_new(4, 0);
	rig_desc_at(r, RIG_TABLE_GPA, 0, RIG_DATA_GPA, 16, 0, 0);
	put_indirect(r, 0, 16, 0);
	expect_bad(r, 0, "VIRTQ_DESC_F_INDIRECT without VIRTIO_F_INDIRECT_DESC (2.7.5.3.1)");
	rig_free(r);
}

static void test_indirect_with_next(void **state)
{
	(void)state;
	struct rig *r = rig_new(4, FEAT_INDIRECT);
	rig_desc_at(r, RIG_TABLE_GPA, 0, RIG_DATA_GPA, 16, 0, 0);
	rig_desc(r, 1, RIG_DATA_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
	rig_desc(r, 0, RIG_TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	rig_avail_add(r, 0);
	expect_bad(r, 0, "VIRTQ_DESC_F_INDIRECT together with VIRTQ_DESC_F_NEXT (2.7.5.3.1)");
	rig_free(r);
}

static void test_indirect_nested(void **state)
{
	(void)state;
	struct rig *r = rig_new(4, FEAT_INDIRECT);
	rig_desc_at(r, RIG_TABLE_GPA, 0, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	rig_desc_at(r, RIG_TABLE_GPA, 1, RIG_TABLE_GPA + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	rig_desc_at(r, RIG_TABLE_GPA + 0x100, 0, RIG_DATA_GPA, 16, 0, 0);
	put_indirect(r, 0, 32, 0);
	expect_bad(r, 0, "nested indirect table (2.7.5.3.1)");
	rig_free(r);
}

static void test_indirect_bad_length(void **state)
{
	(void)state;
	struct rig *r = rig_new(4, FEAT_INDIRECT);
	uint32_t bad[] = { 0, 1, 15, 17, 24, 0xfffffff0u };
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		put_indirect(r, 0, bad[i], 0);
		expect_bad(r, 0, NULL);
	}
	/* A table longer than the device supports (VIRTQ_MAX_CHAIN entries). */
	put_indirect(r, 0, 16 * (VIRTQ_MAX_CHAIN + 1), 0);
	expect_bad(r, 0, "indirect table longer than the device supports");
	rig_free(r);
}

static void test_indirect_table_outside_ram(void **state)
{
	(void)state;
	struct rig *r = rig_new(4, FEAT_INDIRECT);
	uint64_t bad[] = { RIG_HV_GPA, RIG_MMIO_GPA, RIG_RAM_SIZE - 16, RIG_TOP_GPA };
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		rig_desc(r, 0, bad[i], 32, VIRTQ_DESC_F_INDIRECT, 0);
		rig_avail_add(r, 0);
		expect_bad(r, 0, "indirect table outside guest RAM");
	}
	rig_free(r);
}

static void test_indirect_loop_and_next(void **state)
{
	(void)state;
	struct rig *r = rig_new(4, FEAT_INDIRECT);
	rig_desc_at(r, RIG_TABLE_GPA, 0, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	rig_desc_at(r, RIG_TABLE_GPA, 1, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	put_indirect(r, 0, 32, 0);
	expect_bad(r, 0, "loop in an indirect table");
	rig_desc_at(r, RIG_TABLE_GPA, 1, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	put_indirect(r, 0, 32, 0);
	expect_bad(r, 0, "indirect next index past the table");
	/* A buffer outside RAM inside the table. */
	rig_desc_at(r, RIG_TABLE_GPA, 1, RIG_MMIO_GPA, 16, 0, 0);
	put_indirect(r, 0, 32, 0);
	expect_bad(r, 0, "buffer outside guest RAM");
	rig_free(r);
}

static void test_indirect_not_at_head(void **state)
{
	(void)state;
	struct rig *r = rig_new(4, FEAT_INDIRECT);
	rig_desc_at(r, RIG_TABLE_GPA, 0, RIG_DATA_GPA, 16, 0, 0);
	rig_desc(r, 0, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	rig_desc(r, 1, RIG_TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	rig_avail_add(r, 0);
	expect_bad(r, 0, "indirect descriptor not at the head of the chain");
	rig_free(r);
}

/* --- Used ring and notifications (2.7.7, 2.7.8, 2.7.10) ---------------------------------- */

static void test_push(void **state)
{
	(void)state;
	struct rig *r = rig_new(4, 0);
	/* Ten pushes through a ring of four: elements wrap, idx counts on. */
	for (uint16_t i = 0; i < 10; i++) {
		assert_true(virtq_push(&r->dev, 0, (uint16_t)(i % 4), 1000u + i));
		assert_int_equal(rig_used_idx(r), i + 1);
		assert_int_equal(rig_used_id(r, i), i % 4);
		assert_int_equal(rig_used_len(r, i), 1000u + i);
	}
	/* The used ring's flags are never touched. */
	assert_int_equal(rig_get16(r, RIG_USED_GPA), 0);
	/* The 16-bit index wraps. */
	rig_start_at(r, 65535);
	assert_true(virtq_push(&r->dev, 0, 3, 7));
	assert_int_equal(rig_used_idx(r), 0);
	assert_int_equal(rig_used_id(r, 65535), 3);
	rig_free(r);
}

static void test_push_used_ring_outside_ram(void **state)
{
	(void)state;
	struct rig *r = rig_new(4, 0);
	r->dev.queues[0].used_gpa = RIG_MMIO_GPA; /* never validated */
	assert_false(virtq_push(&r->dev, 0, 0, 0));
	assert_true(virtio_is_broken(&r->dev));
	rig_free(r);
}

/* Found by fuzz_virtio: on a queue nobody checked, ring offsets must not
 * wrap around 2^64 back onto RAM (used_gpa 2^64 - 4: avail_event at
 * offset 4 + 8 * size would land at guest-physical 8 * size). */
static void test_ring_address_wrap(void **state)
{
	(void)state;
	struct rig *r = rig_new(16, FEAT_EVENT_IDX);
	uint8_t *zero = calloc(1, RIG_RAM_SIZE);
	uint16_t avail;
	r->dev.queues[0].used_gpa = 0xfffffffffffffffcull;
	r->dev.queues[0].avail_gpa = 0xfffffffffffffffeull;
	r->dev.queues[0].desc_gpa = 0xfffffffffffffff0ull;
	assert_false(virtq_drain_begin(&r->dev, 0, &avail));
	assert_true(virtio_is_broken(&r->dev));
	r->dev.status = VIRTIO_STATUS_DRIVER_OK;
	assert_false(virtq_push(&r->dev, 0, 1, 1));
	assert_memory_equal(r->ram, zero, RIG_RAM_SIZE);
	free(zero);
	rig_free(r);
}

/* A queue of size 0 that was never checked: broken, no division by zero. */
static void test_size_zero_unchecked(void **state)
{
	(void)state;
	struct rig *r = rig_new(16, 0);
	uint16_t avail;
	r->dev.queues[0].size = 0;
	assert_false(virtq_push(&r->dev, 0, 0, 0));
	assert_true(virtio_is_broken(&r->dev));
	r->dev.status = VIRTIO_STATUS_DRIVER_OK;
	assert_false(virtq_drain_begin(&r->dev, 0, &avail));
	assert_int_equal(virtq_pop(&r->dev, 0, 1, &chain), VIRTQ_POP_BROKEN);
	rig_free(r);
}

static void test_vring_need_event(void **state)
{
	(void)state;
	/* Moving from old to new crosses event when old <= event < new (mod 2^16). */
	assert_true(vring_need_event(0, 1, 0));
	assert_false(vring_need_event(1, 1, 0));
	assert_true(vring_need_event(5, 10, 0));
	assert_false(vring_need_event(10, 10, 0));
	assert_false(vring_need_event(4, 10, 5));
	assert_true(vring_need_event(65535, 2, 65534));
	assert_false(vring_need_event(65533, 2, 65534));
	assert_false(vring_need_event(3, 3, 3));
}

static void test_no_interrupt_flag(void **state)
{
	(void)state;
	struct rig *r = rig_new(8, 0);
	virtq_push(&r->dev, 0, 0, 0);
	assert_true(virtq_should_notify(&r->dev, 0));
	rig_set_avail_flags(r, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_push(&r->dev, 0, 0, 0);
	assert_false(virtq_should_notify(&r->dev, 0));
	rig_set_avail_flags(r, 0);
	virtq_push(&r->dev, 0, 0, 0);
	virtq_notify(&r->dev, 0);
	assert_int_equal(r->queue_irqs, 1);
	/* Without EVENT_IDX, used_event means nothing. */
	rig_set_used_event(r, 1000);
	virtq_push(&r->dev, 0, 0, 0);
	assert_true(virtq_should_notify(&r->dev, 0));
	rig_free(r);
}

static void test_event_idx_notify(void **state)
{
	(void)state;
	struct rig *r = rig_new(8, FEAT_EVENT_IDX);
	/* The first notification is always sent (nothing signalled yet). */
	rig_set_used_event(r, 100);
	virtq_push(&r->dev, 0, 0, 0);
	assert_true(virtq_should_notify(&r->dev, 0));
	/* used_event 3: pushes to 2, then 3 do not cross it; to 4 does. */
	rig_set_used_event(r, 3);
	virtq_push(&r->dev, 0, 0, 0);
	assert_false(virtq_should_notify(&r->dev, 0)); /* 1 -> 2 */
	virtq_push(&r->dev, 0, 0, 0);
	assert_false(virtq_should_notify(&r->dev, 0)); /* 2 -> 3 */
	virtq_push(&r->dev, 0, 0, 0);
	assert_true(virtq_should_notify(&r->dev, 0));  /* 3 -> 4 crosses 3 */
	/* Several pushes at once crossing it. */
	rig_set_used_event(r, 5);
	for (int i = 0; i < 3; i++)
		virtq_push(&r->dev, 0, 0, 0);
	assert_true(virtq_should_notify(&r->dev, 0));  /* 4 -> 7 */
	/* used_event behind: no interrupt. */
	rig_set_used_event(r, 6);
	virtq_push(&r->dev, 0, 0, 0);
	assert_false(virtq_should_notify(&r->dev, 0)); /* 7 -> 8 */
	/* With EVENT_IDX, VIRTQ_AVAIL_F_NO_INTERRUPT is not the rule. */
	rig_set_avail_flags(r, VIRTQ_AVAIL_F_NO_INTERRUPT);
	rig_set_used_event(r, 8);
	virtq_push(&r->dev, 0, 0, 0);
	assert_true(virtq_should_notify(&r->dev, 0));  /* 8 -> 9 */
	rig_free(r);
}

static void test_avail_event(void **state)
{
	(void)state;
	struct rig *r = rig_new(8, FEAT_EVENT_IDX);
	uint16_t avail;
	struct rig_buf b = { RIG_DATA_GPA, 1, true };
	rig_put16(r, RIG_USED_GPA + 4 + 8 * 8, 0xdead);
	rig_chain(r, 0, &b, 1);
	rig_avail_add(r, 0);
	rig_avail_add(r, 0);
	assert_true(virtq_drain_begin(&r->dev, 0, &avail));
	assert_int_equal(rig_avail_event(r), 0);
	assert_int_equal(virtq_pop(&r->dev, 0, avail, &chain), VIRTQ_POP_OK);
	assert_int_equal(virtq_pop(&r->dev, 0, avail, &chain), VIRTQ_POP_OK);
	assert_int_equal(virtq_pop(&r->dev, 0, avail, &chain), VIRTQ_POP_EMPTY);
	assert_true(virtq_drain_begin(&r->dev, 0, &avail));
	assert_int_equal(rig_avail_event(r), 2);
	rig_free(r);

	/* Without EVENT_IDX the field is left alone. */
	r = rig_new(8, 0);
	rig_put16(r, RIG_USED_GPA + 4 + 8 * 8, 0xdead);
	assert_true(virtq_drain_begin(&r->dev, 0, &avail));
	assert_int_equal(rig_avail_event(r), 0xdead);
	rig_free(r);
}

/* The avail index is read once per drain: a driver adding buffers while the
 * device pops does not extend the current drain. */
static void test_avail_idx_read_once(void **state)
{
	(void)state;
	struct rig *r = rig_new(8, 0);
	uint16_t avail;
	struct rig_buf b = { RIG_DATA_GPA, 1, true };
	rig_chain(r, 0, &b, 1);
	rig_avail_add(r, 0);
	assert_true(virtq_drain_begin(&r->dev, 0, &avail));
	rig_avail_add(r, 0);
	assert_int_equal(virtq_pop(&r->dev, 0, avail, &chain), VIRTQ_POP_OK);
	assert_int_equal(virtq_pop(&r->dev, 0, avail, &chain), VIRTQ_POP_EMPTY);
	assert_true(virtq_drain_begin(&r->dev, 0, &avail));
	assert_int_equal(virtq_pop(&r->dev, 0, avail, &chain), VIRTQ_POP_OK);
	rig_free(r);
}

/* A driver's mistakes are reported to the device's owner once per reason,
 * also after the device was reset; a full list goes quiet. */
static void test_report_once_per_reason(void **state)
{
	(void)state;
	static const char reason_a[] = "reason a", reason_b[] = "reason b";
	static char many[VIRTIO_MAX_REPORTED][8];
	struct rig *r = rig_new(16, 0);
	virtio_mark_broken(&r->dev, reason_a);
	assert_int_equal(r->reports, 1);
	assert_ptr_equal(r->last_why, reason_a);
	assert_non_null(strstr(r->last_what, "DEVICE_NEEDS_RESET"));
	/* Broken again after a reset (2.4), for the same reason: no new line. */
	virtio_reset(&r->dev);
	assert_false(virtio_is_broken(&r->dev));
	virtio_mark_broken(&r->dev, reason_a);
	assert_true(virtio_is_broken(&r->dev));
	assert_int_equal(r->reports, 1);
	/* A different reason is news. */
	virtio_report(&r->dev, "refused", reason_b);
	assert_int_equal(r->reports, 2);
	assert_ptr_equal(r->last_why, reason_b);
	virtio_report(&r->dev, "refused", reason_b);
	assert_int_equal(r->reports, 2);
	/* Fill the list: then even new reasons are not reported. */
	for (unsigned i = 0; i < VIRTIO_MAX_REPORTED; i++)
		virtio_report(&r->dev, "refused", many[i]);
	assert_int_equal(r->reports, VIRTIO_MAX_REPORTED);
	assert_int_equal(r->dev.n_reported, VIRTIO_MAX_REPORTED);
	/* Nobody listening, no reason: nothing happens. */
	virtio_report(&r->dev, "refused", NULL);
	r->dev.report = NULL;
	r->dev.n_reported = 0;
	virtio_report(&r->dev, "refused", reason_a);
	assert_int_equal(r->reports, VIRTIO_MAX_REPORTED);
	rig_free(r);
}

static void test_reset_state(void **state)
{
	(void)state;
	struct virtqueue vq = { .size = 8, .last_avail = 5, .used_idx = 4, .signalled_used = 3,
				.signalled_valid = true };
	virtq_reset_state(&vq);
	assert_int_equal(vq.last_avail, 0);
	assert_int_equal(vq.used_idx, 0);
	assert_false(vq.signalled_valid);
	assert_int_equal(vq.size, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_valid),
		cmocka_unit_test(test_config_size),
		cmocka_unit_test(test_config_alignment),
		cmocka_unit_test(test_config_outside_ram),
		cmocka_unit_test(test_pop_empty),
		cmocka_unit_test(test_pop_chain),
		cmocka_unit_test(test_pop_loop),
		cmocka_unit_test(test_pop_next_past_table),
		cmocka_unit_test(test_pop_readable_after_writable),
		cmocka_unit_test(test_pop_buffers_outside_ram),
		cmocka_unit_test(test_pop_head_past_table),
		cmocka_unit_test(test_avail_idx_jump),
		cmocka_unit_test(test_no_config_irq_before_driver_ok),
		cmocka_unit_test(test_indirect_ok),
		cmocka_unit_test(test_indirect_not_negotiated),
		cmocka_unit_test(test_indirect_with_next),
		cmocka_unit_test(test_indirect_nested),
		cmocka_unit_test(test_indirect_bad_length),
		cmocka_unit_test(test_indirect_table_outside_ram),
		cmocka_unit_test(test_indirect_loop_and_next),
		cmocka_unit_test(test_indirect_not_at_head),
		cmocka_unit_test(test_push),
		cmocka_unit_test(test_push_used_ring_outside_ram),
		cmocka_unit_test(test_ring_address_wrap),
		cmocka_unit_test(test_size_zero_unchecked),
		cmocka_unit_test(test_vring_need_event),
		cmocka_unit_test(test_no_interrupt_flag),
		cmocka_unit_test(test_event_idx_notify),
		cmocka_unit_test(test_avail_event),
		cmocka_unit_test(test_avail_idx_read_once),
		cmocka_unit_test(test_report_once_per_reason),
		cmocka_unit_test(test_reset_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
