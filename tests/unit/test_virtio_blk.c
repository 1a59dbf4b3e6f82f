/* devices/virtio_blk.c and devices/ramdisk.c: virtio-blk (VIRTIO 1.2, 5.2)
 * driven through queue 0 by the driver-side rig of virtq_rig.h: features
 * and configuration space, every request type, message framing across
 * descriptors, directions, capacity and overflow, the read-only disk,
 * limits, malformed chains, batches and notification suppression. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/virtq_rig.h"
#include "devices/ramdisk.h"
#include "devices/virtio_blk.h"

#define DISK_SECTORS 64u
#define DISK_BYTES (DISK_SECTORS * 512u)
#define SERIAL "TBHV-SERIAL-0001"

#define FEATURES (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_BLK_F_FLUSH) | \
		  BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES) | BIT(VIRTIO_BLK_F_SEG_MAX) | \
		  BIT(VIRTIO_BLK_F_SIZE_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE))

struct blkt {
	struct rig *r;
	struct ramdisk disk;
	uint8_t *data;
	struct virtio_blk blk;
	uint16_t next_desc;
	uint64_t next_gpa;
};

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 9) * 13 + 1);
}

static struct blkt *blkt_new(uint64_t features, bool read_only, uint16_t qsize)
{
	struct blkt *t = calloc(1, sizeof(*t));
	t->data = malloc(DISK_BYTES);
	for (uint64_t i = 0; i < DISK_BYTES; i++)
		t->data[i] = pattern(i);
	assert_true(ramdisk_init(&t->disk, t->data, DISK_BYTES, read_only));
	t->r = rig_new(qsize, features);
	virtio_blk_init(&t->blk, &t->r->dev, &t->disk, SERIAL);
	t->next_gpa = RIG_DATA_GPA;
	return t;
}

static void blkt_free(struct blkt *t)
{
	rig_free(t->r);
	free(t->data);
	free(t);
}

/* Guest RAM for buffers: a bump allocator, 16-byte aligned. */
static uint64_t galloc(struct blkt *t, uint64_t len)
{
	uint64_t gpa = t->next_gpa;
	t->next_gpa = ALIGN_UP(gpa + len, 16);
	assert_true(t->next_gpa <= RIG_RAM_SIZE);
	return gpa;
}

static uint8_t *hva(struct blkt *t, uint64_t gpa)
{
	return t->r->ram + gpa;
}

static uint64_t put_header(struct blkt *t, uint32_t type, uint64_t sector)
{
	uint64_t gpa = galloc(t, 16);
	memcpy(hva(t, gpa), &type, 4);
	memset(hva(t, gpa + 4), 0xa5, 4); /* reserved: ignored */
	memcpy(hva(t, gpa + 8), &sector, 8);
	return gpa;
}

/* Chain bufs[0..n-1] through direct descriptors (wrapping in the table)
 * and make it available. Returns the head. */
static uint16_t submit(struct blkt *t, const struct rig_buf *b, unsigned n)
{
	uint16_t size = rig_qsize(t->r), head = t->next_desc;
	for (unsigned i = 0; i < n; i++) {
		uint16_t cur = (uint16_t)((head + i) % size), nxt = (uint16_t)((head + i + 1) % size);
		uint16_t flags = (uint16_t)((b[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		rig_desc(t->r, cur, b[i].gpa, b[i].len, flags, nxt);
	}
	t->next_desc = (uint16_t)((head + n) % size);
	rig_avail_add(t->r, head);
	return head;
}

/* The same through an indirect table of its own: one direct descriptor. */
static uint16_t submit_indirect(struct blkt *t, const struct rig_buf *b, unsigned n)
{
	uint16_t size = rig_qsize(t->r), head = t->next_desc;
	uint64_t table = galloc(t, 16ull * n);
	rig_chain_at(t->r, table, 0, b, n);
	rig_desc(t->r, head, table, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
	t->next_desc = (uint16_t)((head + 1) % size);
	rig_avail_add(t->r, head);
	return head;
}

static void kick(struct blkt *t)
{
	t->r->dev.ops->queue_notify(&t->r->dev, 0);
}

/* A request of one type: header, data buffers of dir/len, status. */
struct req {
	uint16_t head;
	uint64_t data_gpa; /* first data buffer */
	uint64_t status_gpa;
};

static struct req make_req(struct blkt *t, uint32_t type, uint64_t sector, uint32_t data_len, bool data_write,
			   bool indirect)
{
	struct req q;
	struct rig_buf b[3];
	unsigned n = 0;
	b[n++] = (struct rig_buf){ put_header(t, type, sector), 16, false };
	if (data_len) {
		q.data_gpa = galloc(t, data_len);
		memset(hva(t, q.data_gpa), 0xee, data_len);
		b[n++] = (struct rig_buf){ q.data_gpa, data_len, data_write };
	} else {
		q.data_gpa = 0;
	}
	q.status_gpa = galloc(t, 1);
	*hva(t, q.status_gpa) = 0x77;
	b[n++] = (struct rig_buf){ q.status_gpa, 1, true };
	q.head = indirect ? submit_indirect(t, b, n) : submit(t, b, n);
	return q;
}

static uint8_t status_of(struct blkt *t, const struct req *q)
{
	return *hva(t, q->status_gpa);
}

/* The used element for the u-th completion. */
static void expect_used(struct blkt *t, uint16_t u, uint16_t id, uint32_t len)
{
	assert_int_equal(rig_used_id(t->r, u), id);
	assert_int_equal(rig_used_len(t->r, u), len);
}

/* One request, one kick: its status, with the used element checked. */
static uint8_t run1(struct blkt *t, uint32_t type, uint64_t sector, uint32_t data_len, bool data_write,
		    uint32_t used_len, struct req *out)
{
	uint16_t u = t->r->dev.queues[0].used_idx;
	struct req q = make_req(t, type, sector, data_len, data_write, false);
	kick(t);
	assert_int_equal(rig_used_idx(t->r), (uint16_t)(u + 1));
	expect_used(t, u, q.head, used_len);
	if (out)
		*out = q;
	return status_of(t, &q);
}

static uint64_t disk_sum(struct blkt *t)
{
	return ramdisk_fnv1a64(&t->disk);
}

/* --- Features and configuration space (5.2.3, 5.2.4) ------------------------------------ */

static void test_features(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	uint64_t f = t->r->dev.host_features;
	assert_int_equal(t->r->dev.device_id, VIRTIO_ID_BLOCK);
	assert_int_equal(t->r->dev.num_queues, 1);
	assert_int_equal(t->r->dev.queues[0].max_size, VIRTIO_BLK_QUEUE_SIZE);
	unsigned want[] = { VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_BLK_F_FLUSH,
			    VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_BLK_SIZE,
			    VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES };
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++)
		assert_true(f & BIT(want[i]));
	assert_false(f & BIT(VIRTIO_BLK_F_RO));
	assert_false(f & BIT(VIRTIO_BLK_F_CONFIG_WCE));
	assert_false(f & BIT(VIRTIO_BLK_F_MQ));
	blkt_free(t);
	t = blkt_new(FEATURES, true, 16);
	assert_true(t->r->dev.host_features & BIT(VIRTIO_BLK_F_RO));
	blkt_free(t);
}

static void test_config_space(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	struct virtio_device *d = &t->r->dev;
	const struct virtio_device_ops *ops = d->ops;
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_CAPACITY, 8), DISK_SECTORS);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_CAPACITY, 4), DISK_SECTORS);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_CAPACITY + 4, 4), 0);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_SIZE_MAX, 4), VIRTIO_BLK_SIZE_MAX);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_SEG_MAX, 4), VIRTIO_BLK_SEG_MAX);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_BLK_SIZE, 4), 512);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_NUM_QUEUES, 2), 1);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, 4), VIRTIO_BLK_MAX_DISCARD_SECTORS);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4), VIRTIO_BLK_MAX_DISCARD_SEG);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT, 4), 1);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, 4),
			 VIRTIO_BLK_MAX_WRITE_ZEROES_SECTORS);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG, 4), VIRTIO_BLK_MAX_WRITE_ZEROES_SEG);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP, 1), 0);
	/* Byte-wise reads assemble the same little-endian value. */
	uint64_t v = 0;
	for (unsigned i = 0; i < 4; i++)
		v |= ops->config_read(d, VIRTIO_BLK_CFG_SEG_MAX + i, 1) << (8 * i);
	assert_int_equal(v, VIRTIO_BLK_SEG_MAX);
	/* Outside the structure, or odd sizes: 0. */
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_SIZE, 1), 0);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_SIZE - 2, 4), 0);
	assert_int_equal(ops->config_read(d, UINT64_MAX, 4), 0);
	assert_int_equal(ops->config_read(d, 0, 0), 0);
	assert_int_equal(ops->config_read(d, 0, 16), 0);
	/* Writes change nothing (no CONFIG_WCE). */
	ops->config_write(d, VIRTIO_BLK_CFG_CAPACITY, 8, 5);
	ops->config_write(d, VIRTIO_BLK_CFG_WRITEBACK, 1, 1);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_CAPACITY, 8), DISK_SECTORS);
	assert_int_equal(ops->config_read(d, VIRTIO_BLK_CFG_WRITEBACK, 1), 0);
	blkt_free(t);
}

/* --- IN, OUT (5.2.6) --------------------------------------------------------------------- */

static void test_read(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	struct req q;
	assert_int_equal(run1(t, VIRTIO_BLK_T_IN, 3, 1024, true, 1025, &q), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(t, q.data_gpa), t->data + 3 * 512, 1024);
	assert_int_equal(t->r->queue_irqs, 1);
	assert_int_equal(t->blk.requests, 1);
	/* The last sector. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 512, true, 513, &q), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(t, q.data_gpa), t->data + DISK_BYTES - 512, 512);
	/* Indirect. */
	uint16_t u = t->r->dev.queues[0].used_idx;
	q = make_req(t, VIRTIO_BLK_T_IN, 7, 512, true, true);
	kick(t);
	expect_used(t, u, q.head, 513);
	assert_int_equal(status_of(t, &q), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(t, q.data_gpa), t->data + 7 * 512, 512);
	blkt_free(t);
}

static void test_write(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	uint8_t *expect = malloc(DISK_BYTES);
	memcpy(expect, t->data, DISK_BYTES);
	uint16_t u = 0;
	struct req q = make_req(t, VIRTIO_BLK_T_OUT, 10, 1536, false, false);
	for (unsigned i = 0; i < 1536; i++)
		hva(t, q.data_gpa)[i] = (uint8_t)(i ^ 0x5a);
	memcpy(expect + 10 * 512, hva(t, q.data_gpa), 1536);
	kick(t);
	expect_used(t, u, q.head, 1);
	assert_int_equal(status_of(t, &q), VIRTIO_BLK_S_OK);
	assert_int_equal(disk_sum(t), fnv1a64(expect, DISK_BYTES));
	assert_memory_equal(t->data, expect, DISK_BYTES);
	free(expect);
	blkt_free(t);
}

/* 2.6.4: the layout of descriptors is the driver's choice. */
static void test_message_framing(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	uint64_t hdr = put_header(t, VIRTIO_BLK_T_IN, 5);
	uint64_t d1 = galloc(t, 100), d2 = galloc(t, 412), d3 = galloc(t, 513);
	/* Header in two pieces; data in three, the status byte the last byte
	 * of the third. */
	struct rig_buf b[] = {
		{ hdr, 8, false }, { hdr + 8, 8, false },
		{ d1, 100, true }, { d2, 412, true }, { d3, 513, true },
	};
	uint16_t head = submit(t, b, 5);
	kick(t);
	expect_used(t, 0, head, 1025);
	assert_memory_equal(hva(t, d1), t->data + 5 * 512, 100);
	assert_memory_equal(hva(t, d2), t->data + 5 * 512 + 100, 412);
	assert_memory_equal(hva(t, d3), t->data + 6 * 512, 512);
	assert_int_equal(*hva(t, d3 + 512), VIRTIO_BLK_S_OK);

	/* OUT with header and data in one descriptor. */
	uint64_t one = galloc(t, 16 + 512), st = galloc(t, 1);
	uint32_t type = VIRTIO_BLK_T_OUT;
	uint64_t sector = 20;
	memcpy(hva(t, one), &type, 4);
	memcpy(hva(t, one + 8), &sector, 8);
	memset(hva(t, one + 16), 0x42, 512);
	struct rig_buf c[] = { { one, 16 + 512, false }, { st, 1, true } };
	head = submit(t, c, 2);
	kick(t);
	expect_used(t, 1, head, 1);
	assert_int_equal(*hva(t, st), VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(t->data[20 * 512 + i], 0x42);
	blkt_free(t);
}

static void test_read_only(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, true, 16);
	uint64_t sum = disk_sum(t);
	struct req q;
	/* 5.2.6.2: writes fail with IOERR and write nothing. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_OUT, 0, 512, false, 1, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(disk_sum(t), sum);
	assert_int_equal(t->blk.io_errors, 1);
	/* Reads work. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_IN, 0, 512, true, 513, &q), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(t, q.data_gpa), t->data, 512);
	/* Flush is harmless. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_FLUSH, 0, 0, false, 1, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(disk_sum(t), sum);
	blkt_free(t);
}

/* --- Sector ranges ------------------------------------------------------------------------ */

static void test_capacity(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	uint64_t sum = disk_sum(t);
	struct req q;
	assert_int_equal(run1(t, VIRTIO_BLK_T_IN, DISK_SECTORS, 512, true, 1, &q), VIRTIO_BLK_S_IOERR);
	/* Nothing was written into the data buffer. */
	assert_int_equal(hva(t, q.data_gpa)[0], 0xee);
	assert_int_equal(run1(t, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024, true, 1, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run1(t, VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, 1024, false, 1, NULL), VIRTIO_BLK_S_IOERR);
	/* Sectors whose byte offset overflows 64 bits. */
	uint64_t huge[] = { UINT64_MAX, UINT64_MAX - 1, 1ull << 55, 1ull << 63, (UINT64_MAX >> 9) + 1 };
	for (unsigned i = 0; i < ARRAY_SIZE(huge); i++) {
		assert_int_equal(run1(t, VIRTIO_BLK_T_IN, huge[i], 512, true, 1, NULL), VIRTIO_BLK_S_IOERR);
		assert_int_equal(run1(t, VIRTIO_BLK_T_OUT, huge[i], 512, false, 1, NULL), VIRTIO_BLK_S_IOERR);
	}
	/* Partial sectors. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_IN, 0, 511, true, 1, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run1(t, VIRTIO_BLK_T_OUT, 0, 513, false, 1, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(disk_sum(t), sum);
	/* No data at all, at the capacity: nothing to move, fine. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_IN, DISK_SECTORS, 0, true, 1, NULL), VIRTIO_BLK_S_OK);
	blkt_free(t);
}

static void test_directions(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	uint64_t sum = disk_sum(t);
	/* IN whose data is device-readable. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_IN, 0, 512, false, 1, NULL), VIRTIO_BLK_S_IOERR);
	/* OUT whose data is device-writable: nothing written anywhere. */
	struct req q;
	assert_int_equal(run1(t, VIRTIO_BLK_T_OUT, 0, 512, true, 1, &q), VIRTIO_BLK_S_IOERR);
	assert_int_equal(hva(t, q.data_gpa)[0], 0xee);
	assert_int_equal(disk_sum(t), sum);
	/* No readable header at all. */
	uint64_t w = galloc(t, 17);
	struct rig_buf b[] = { { w, 17, true } };
	uint16_t head = submit(t, b, 1);
	kick(t);
	expect_used(t, t->r->dev.queues[0].used_idx - 1, head, 1);
	assert_int_equal(*hva(t, w + 16), VIRTIO_BLK_S_IOERR);
	/* A header shorter than 16 bytes. */
	uint64_t h = put_header(t, VIRTIO_BLK_T_IN, 0), st = galloc(t, 1);
	struct rig_buf c[] = { { h, 12, false }, { st, 1, true } };
	head = submit(t, c, 2);
	kick(t);
	expect_used(t, t->r->dev.queues[0].used_idx - 1, head, 1);
	assert_int_equal(*hva(t, st), VIRTIO_BLK_S_IOERR);
	blkt_free(t);
}

/* --- FLUSH, GET_ID, unknown types ----------------------------------------------------------- */

static void test_flush(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	assert_int_equal(run1(t, VIRTIO_BLK_T_FLUSH, 0, 0, false, 1, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(t->disk.flushes, 1);
	/* With data: malformed. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_FLUSH, 0, 512, true, 1, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(t->disk.flushes, 1);
	blkt_free(t);
	/* Not negotiated: unsupported. */
	t = blkt_new(FEATURES & ~BIT(VIRTIO_BLK_F_FLUSH), false, 16);
	assert_int_equal(run1(t, VIRTIO_BLK_T_FLUSH, 0, 0, false, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(t->disk.flushes, 0);
	assert_int_equal(t->blk.unsupported, 1);
	blkt_free(t);
}

static void test_get_id(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	struct req q;
	uint8_t want[20] = SERIAL; /* NUL-padded */
	assert_int_equal(run1(t, VIRTIO_BLK_T_GET_ID, 0, 20, true, 21, &q), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(t, q.data_gpa), want, 20);
	/* A buffer shorter than 20 bytes gets what fits. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_GET_ID, 0, 8, true, 9, &q), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(t, q.data_gpa), want, 8);
	/* Longer: 20 bytes written, the rest untouched. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_GET_ID, 0, 32, true, 21, &q), VIRTIO_BLK_S_OK);
	assert_int_equal(hva(t, q.data_gpa)[20], 0xee);
	/* No buffer, or a readable one. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_GET_ID, 0, 0, true, 1, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run1(t, VIRTIO_BLK_T_GET_ID, 0, 20, false, 1, NULL), VIRTIO_BLK_S_IOERR);
	blkt_free(t);

	/* A 20-character serial has no terminator; a longer one is cut. */
	struct ramdisk disk;
	uint8_t sector[512];
	struct rig *r = rig_new(16, FEATURES);
	struct virtio_blk *b = calloc(1, sizeof(*b));
	assert_true(ramdisk_init(&disk, sector, sizeof(sector), false));
	virtio_blk_init(b, &r->dev, &disk, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
	assert_memory_equal(b->serial, "ABCDEFGHIJKLMNOPQRST", 20);
	virtio_blk_init(b, &r->dev, &disk, NULL);
	for (unsigned i = 0; i < 20; i++)
		assert_int_equal(b->serial[i], 0);
	free(b);
	rig_free(r);
}

static void test_unknown_types(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	uint32_t types[] = { 2, 3, 5, 10 /* GET_LIFETIME */, 14 /* SECURE_ERASE */, 99, 0x80000000u, 0xffffffffu };
	uint64_t sum = disk_sum(t);
	for (unsigned i = 0; i < ARRAY_SIZE(types); i++)
		assert_int_equal(run1(t, types[i], 0, 512, true, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(t->blk.unsupported, ARRAY_SIZE(types));
	assert_int_equal(disk_sum(t), sum);
	blkt_free(t);
}

/* --- DISCARD and WRITE_ZEROES (5.2.6) ------------------------------------------------------ */

struct dwz {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/* A DISCARD or WRITE_ZEROES request of n segments; seg_bytes overrides the
 * segment data length when non-zero. Returns the status. */
static uint8_t run_dwz(struct blkt *t, uint32_t type, const struct dwz *s, unsigned n, uint32_t seg_bytes)
{
	uint32_t len = seg_bytes ? seg_bytes : 16 * n;
	uint64_t h = put_header(t, type, 0), d = galloc(t, MAX(len, 16u * n)), st = galloc(t, 1);
	uint16_t u = t->r->dev.queues[0].used_idx;
	memcpy(hva(t, d), s, 16ull * n);
	struct rig_buf b[] = { { h, 16, false }, { d, len, false }, { st, 1, true } };
	uint16_t head = submit(t, b, 3);
	kick(t);
	expect_used(t, u, head, 1);
	return *hva(t, st);
}

static bool zeroed(struct blkt *t, uint64_t sector, uint64_t count)
{
	for (uint64_t i = sector * 512; i < (sector + count) * 512; i++)
		if (t->data[i])
			return false;
	return true;
}

static void test_discard_write_zeroes(void **state)
{
	(void)state;
	uint32_t types[] = { VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES };
	for (unsigned k = 0; k < 2; k++) {
		struct blkt *t = blkt_new(FEATURES, false, 16);
		struct dwz s[] = { { 2, 3, 0 }, { 40, 1, 0 }, { 63, 1, 0 } };
		assert_int_equal(run_dwz(t, types[k], s, 3, 0), VIRTIO_BLK_S_OK);
		assert_true(zeroed(t, 2, 3));
		assert_true(zeroed(t, 40, 1));
		assert_true(zeroed(t, 63, 1));
		assert_false(zeroed(t, 1, 1));
		assert_false(zeroed(t, 5, 1));
		assert_false(zeroed(t, 39, 1));
		assert_false(zeroed(t, 41, 1));
		blkt_free(t);
	}
}

static void test_discard_write_zeroes_refused(void **state)
{
	(void)state;
	uint32_t types[] = { VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES };
	for (unsigned k = 0; k < 2; k++) {
		uint32_t type = types[k];
		struct blkt *t = blkt_new(FEATURES, false, 16);
		uint64_t sum = disk_sum(t);
		struct dwz many[VIRTIO_BLK_MAX_DISCARD_SEG + 1];
		for (unsigned i = 0; i < ARRAY_SIZE(many); i++)
			many[i] = (struct dwz){ i, 1, 0 };
		/* Unknown flags: UNSUPP (5.2.6.2). */
		struct dwz s = { 0, 1, 2 };
		assert_int_equal(run_dwz(t, type, &s, 1, 0), VIRTIO_BLK_S_UNSUPP);
		s.flags = 0x80000000u;
		assert_int_equal(run_dwz(t, type, &s, 1, 0), VIRTIO_BLK_S_UNSUPP);
		/* A later segment's bad flag refuses the whole request. */
		struct dwz two[] = { { 0, 1, 0 }, { 1, 1, 4 } };
		assert_int_equal(run_dwz(t, type, two, 2, 0), VIRTIO_BLK_S_UNSUPP);
		/* Over the limits (5.2.6.1). */
		assert_int_equal(run_dwz(t, type, many, ARRAY_SIZE(many), 0), VIRTIO_BLK_S_IOERR);
		s = (struct dwz){ 0, VIRTIO_BLK_MAX_DISCARD_SECTORS + 1, 0 };
		assert_int_equal(run_dwz(t, type, &s, 1, 0), VIRTIO_BLK_S_IOERR);
		/* Outside the disk, with overflow. */
		s = (struct dwz){ DISK_SECTORS - 1, 2, 0 };
		assert_int_equal(run_dwz(t, type, &s, 1, 0), VIRTIO_BLK_S_IOERR);
		s = (struct dwz){ UINT64_MAX, 2, 0 };
		assert_int_equal(run_dwz(t, type, &s, 1, 0), VIRTIO_BLK_S_IOERR);
		/* Segment data not a non-zero multiple of 16. */
		s = (struct dwz){ 0, 1, 0 };
		assert_int_equal(run_dwz(t, type, &s, 1, 20), VIRTIO_BLK_S_IOERR);
		assert_int_equal(run_dwz(t, type, &s, 1, 8), VIRTIO_BLK_S_IOERR);
		assert_int_equal(disk_sum(t), sum);
		blkt_free(t);

		/* Not negotiated: UNSUPP. */
		t = blkt_new(FEATURES & ~BIT(type == VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_F_DISCARD
									 : VIRTIO_BLK_F_WRITE_ZEROES),
			     false, 16);
		assert_int_equal(run_dwz(t, type, &s, 1, 0), VIRTIO_BLK_S_UNSUPP);
		assert_int_equal(disk_sum(t), sum);
		blkt_free(t);

		/* Read-only: IOERR. */
		t = blkt_new(FEATURES, true, 16);
		assert_int_equal(run_dwz(t, type, &s, 1, 0), VIRTIO_BLK_S_IOERR);
		assert_int_equal(disk_sum(t), sum);
		blkt_free(t);
	}
	/* The unmap flag: UNSUPP for DISCARD, fine for WRITE_ZEROES. */
	struct blkt *t = blkt_new(FEATURES, false, 16);
	struct dwz s = { 4, 2, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP };
	assert_int_equal(run_dwz(t, VIRTIO_BLK_T_DISCARD, &s, 1, 0), VIRTIO_BLK_S_UNSUPP);
	assert_false(zeroed(t, 4, 2));
	assert_int_equal(run_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1, 0), VIRTIO_BLK_S_OK);
	assert_true(zeroed(t, 4, 2));
	blkt_free(t);
}

/* --- Limits and malformed chains ------------------------------------------------------------ */

static void test_limits(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	struct rig_buf b[VIRTIO_BLK_SEG_MAX + 3];
	uint64_t h = put_header(t, VIRTIO_BLK_T_IN, 0), st = galloc(t, 1);
	/* seg_max data descriptors of 256 bytes: fine. */
	b[0] = (struct rig_buf){ h, 16, false };
	for (unsigned i = 1; i <= VIRTIO_BLK_SEG_MAX; i++)
		b[i] = (struct rig_buf){ galloc(t, 256), 256, true };
	b[VIRTIO_BLK_SEG_MAX + 1] = (struct rig_buf){ st, 1, true };
	uint16_t head = submit_indirect(t, b, VIRTIO_BLK_SEG_MAX + 2);
	kick(t);
	expect_used(t, 0, head, VIRTIO_BLK_SEG_MAX * 256 + 1);
	assert_int_equal(*hva(t, st), VIRTIO_BLK_S_OK);
	/* One more: over seg_max. */
	b[VIRTIO_BLK_SEG_MAX + 1] = (struct rig_buf){ galloc(t, 256), 256, true };
	b[VIRTIO_BLK_SEG_MAX + 2] = (struct rig_buf){ st, 1, true };
	head = submit_indirect(t, b, VIRTIO_BLK_SEG_MAX + 3);
	kick(t);
	expect_used(t, 1, head, 1);
	assert_int_equal(*hva(t, st), VIRTIO_BLK_S_IOERR);
	/* A descriptor over size_max. */
	uint64_t big = galloc(t, VIRTIO_BLK_SIZE_MAX + 512);
	struct rig_buf c[] = { { h, 16, false }, { big, VIRTIO_BLK_SIZE_MAX + 512, true }, { st, 1, true } };
	head = submit(t, c, 3);
	kick(t);
	expect_used(t, 2, head, 1);
	assert_int_equal(*hva(t, st), VIRTIO_BLK_S_IOERR);
	blkt_free(t);
}

static void test_no_status_byte(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	uint64_t sum = disk_sum(t);
	/* An OUT with everything readable: no place for a status. */
	uint64_t h = put_header(t, VIRTIO_BLK_T_OUT, 0), d = galloc(t, 512);
	memset(hva(t, d), 0x11, 512);
	struct rig_buf b[] = { { h, 16, false }, { d, 512, false } };
	uint16_t head = submit(t, b, 2);
	/* A writable descriptor of length 0 is no better. */
	uint64_t z = galloc(t, 1);
	*hva(t, z) = 0x77;
	struct rig_buf c[] = { { h, 16, false }, { z, 0, true } };
	uint16_t head2 = submit(t, c, 2);
	kick(t);
	assert_int_equal(rig_used_idx(t->r), 2);
	expect_used(t, 0, head, 0);
	expect_used(t, 1, head2, 0);
	assert_int_equal(t->blk.bad_chains, 2);
	assert_int_equal(t->blk.requests, 0);
	assert_int_equal(*hva(t, z), 0x77);
	assert_int_equal(disk_sum(t), sum);
	assert_int_equal(t->r->queue_irqs, 1);
	blkt_free(t);
}

static void test_malformed_chains(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	/* A loop, a buffer in the MMIO hole, one at a hypervisor address, one
	 * straddling the end of RAM, each followed by a good request: every
	 * chain is completed, the bad ones with length 0 and nothing written. */
	uint64_t bad[] = { RIG_MMIO_GPA, RIG_HV_GPA, RIG_RAM_SIZE - 256 };
	struct req q;
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		uint16_t u = t->r->dev.queues[0].used_idx;
		uint64_t h = put_header(t, VIRTIO_BLK_T_IN, 0), st = galloc(t, 1);
		*hva(t, st) = 0x77;
		struct rig_buf b[] = { { h, 16, false }, { bad[i], 512, true }, { st, 1, true } };
		uint16_t head = submit(t, b, 3);
		q = make_req(t, VIRTIO_BLK_T_IN, 1, 512, true, false);
		kick(t);
		expect_used(t, u, head, 0);
		expect_used(t, (uint16_t)(u + 1), q.head, 513);
		assert_int_equal(*hva(t, st), 0x77);
		assert_int_equal(status_of(t, &q), VIRTIO_BLK_S_OK);
	}
	/* A loop. */
	uint16_t u = t->r->dev.queues[0].used_idx;
	rig_desc(t->r, 0, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	rig_desc(t->r, 1, RIG_DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	rig_avail_add(t->r, 0);
	t->next_desc = 2;
	q = make_req(t, VIRTIO_BLK_T_IN, 1, 512, true, false);
	kick(t);
	expect_used(t, u, 0, 0);
	expect_used(t, (uint16_t)(u + 1), q.head, 513);
	assert_int_equal(t->blk.bad_chains, 4);
	assert_false(virtio_is_broken(&t->r->dev));
	blkt_free(t);
}

/* Malformed chains are reported with their reason, each reason once, however
 * often the driver repeats it; the chains still complete as before. */
static void test_malformed_chains_reported(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	for (unsigned i = 0; i < 5; i++) {
		uint64_t h = put_header(t, VIRTIO_BLK_T_IN, 0), st = galloc(t, 1);
		struct rig_buf b[] = { { h, 16, false }, { RIG_HV_GPA, 512, true }, { st, 1, true } };
		submit(t, b, 3);
	}
	kick(t);
	assert_int_equal(rig_used_idx(t->r), 5);
	assert_int_equal(t->blk.bad_chains, 5);
	assert_int_equal(t->r->reports, 1);
	assert_string_equal(t->r->last_why, "buffer outside guest RAM");
	assert_non_null(strstr(t->r->last_what, "refused"));
	/* A chain with no byte for the status: a reason of its own. */
	uint64_t h = put_header(t, VIRTIO_BLK_T_OUT, 0), d = galloc(t, 512);
	struct rig_buf c[] = { { h, 16, false }, { d, 512, false } };
	submit(t, c, 2);
	submit(t, c, 2);
	kick(t);
	assert_int_equal(t->blk.bad_chains, 7);
	assert_int_equal(t->r->reports, 2);
	assert_non_null(strstr(t->r->last_why, "status"));
	/* An ordinary request is not a complaint. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_IN, 1, 512, true, 513, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(t->r->reports, 2);
	blkt_free(t);
}

static void test_avail_jump_breaks_device(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	make_req(t, VIRTIO_BLK_T_IN, 0, 512, true, false);
	rig_put16(t->r, RIG_AVAIL_GPA + 2, 17);
	kick(t);
	assert_true(t->r->dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_non_null(t->r->dev.broken_reason);
	assert_ptr_equal(t->r->last_why, t->r->dev.broken_reason);
	assert_int_equal(t->r->config_irqs, 1);
	assert_int_equal(rig_used_idx(t->r), 0);
	assert_int_equal(t->r->queue_irqs, 0);
	/* Later kicks do nothing. */
	rig_put16(t->r, RIG_AVAIL_GPA + 2, 1);
	kick(t);
	assert_int_equal(rig_used_idx(t->r), 0);
	blkt_free(t);
}

static void test_not_ready(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	make_req(t, VIRTIO_BLK_T_IN, 0, 512, true, false);
	t->r->dev.status &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	kick(t);
	assert_int_equal(rig_used_idx(t->r), 0);
	t->r->dev.status |= VIRTIO_STATUS_DRIVER_OK;
	t->r->dev.queues[0].ready = false;
	kick(t);
	assert_int_equal(rig_used_idx(t->r), 0);
	t->r->dev.ops->queue_notify(&t->r->dev, 1); /* no such queue */
	t->r->dev.queues[0].ready = true;
	kick(t);
	assert_int_equal(rig_used_idx(t->r), 1);
	blkt_free(t);
}

/* --- Batches and notifications ----------------------------------------------------------------- */

static void test_batch_direct(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 256);
	struct req q[85];
	/* 85 requests of 3 descriptors: 255 of the 256, all in one kick. */
	for (unsigned i = 0; i < 85; i++) {
		q[i] = make_req(t, i % 2 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, i % DISK_SECTORS, 512, i % 2 == 0, false);
		if (i % 2)
			memset(hva(t, q[i].data_gpa), (int)i, 512);
	}
	kick(t);
	assert_int_equal(rig_used_idx(t->r), 85);
	assert_int_equal(t->r->queue_irqs, 1);
	for (unsigned i = 0; i < 85; i++) {
		expect_used(t, (uint16_t)i, q[i].head, i % 2 ? 1 : 513);
		assert_int_equal(status_of(t, &q[i]), VIRTIO_BLK_S_OK);
		if (i % 2 == 0)
			assert_int_equal(hva(t, q[i].data_gpa)[5], pattern((i % DISK_SECTORS) * 512 + 5));
		else if (i + DISK_SECTORS >= 85) /* the last write to that sector */
			assert_int_equal(t->data[(i % DISK_SECTORS) * 512 + 100], (uint8_t)i);
	}
	assert_int_equal(t->blk.requests, 85);
	blkt_free(t);
}

static void test_batch_indirect_wrap(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 256);
	/* Three kicks of 200 requests each through indirect tables, the
	 * indices crossing 65535 -> 0 on the way. */
	rig_start_at(t->r, 65400);
	uint16_t u = 65400;
	for (unsigned round = 0; round < 3; round++) {
		struct req q[200];
		t->next_gpa = RIG_DATA_GPA;
		for (unsigned i = 0; i < 200; i++)
			q[i] = make_req(t, VIRTIO_BLK_T_IN, (i + round) % DISK_SECTORS, 512, true, true);
		kick(t);
		assert_int_equal(rig_used_idx(t->r), (uint16_t)(u + 200));
		for (unsigned i = 0; i < 200; i++) {
			expect_used(t, (uint16_t)(u + i), q[i].head, 513);
			assert_int_equal(status_of(t, &q[i]), VIRTIO_BLK_S_OK);
			assert_memory_equal(hva(t, q[i].data_gpa), t->data + ((i + round) % DISK_SECTORS) * 512, 512);
		}
		u = (uint16_t)(u + 200);
	}
	assert_int_equal(t->r->queue_irqs, 3);
	blkt_free(t);
}

static void test_no_interrupt(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	rig_set_avail_flags(t->r, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(run1(t, VIRTIO_BLK_T_IN, 0, 512, true, 513, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(t->r->queue_irqs, 0);
	rig_set_avail_flags(t->r, 0);
	assert_int_equal(run1(t, VIRTIO_BLK_T_IN, 0, 512, true, 513, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(t->r->queue_irqs, 1);
	blkt_free(t);
}

static void test_event_idx(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES | BIT(VIRTIO_F_EVENT_IDX), false, 16);
	/* The first completion always interrupts. */
	assert_int_equal(run1(t, VIRTIO_BLK_T_IN, 0, 512, true, 513, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(t->r->queue_irqs, 1);
	/* avail_event tells the driver where to kick next. */
	assert_int_equal(rig_avail_event(t->r), 1);
	/* used_event 3: completions 1->2 and 2->3 are quiet, 3->4 interrupts. */
	rig_set_used_event(t->r, 3);
	run1(t, VIRTIO_BLK_T_IN, 0, 512, true, 513, NULL);
	run1(t, VIRTIO_BLK_T_IN, 0, 512, true, 513, NULL);
	assert_int_equal(t->r->queue_irqs, 1);
	run1(t, VIRTIO_BLK_T_IN, 0, 512, true, 513, NULL);
	assert_int_equal(t->r->queue_irqs, 2);
	assert_int_equal(rig_avail_event(t->r), 4);
	/* A batch of 5 crossing used_event 6 interrupts once. */
	rig_set_used_event(t->r, 6);
	for (int i = 0; i < 5; i++)
		make_req(t, VIRTIO_BLK_T_IN, 0, 512, true, false);
	kick(t);
	assert_int_equal(rig_used_idx(t->r), 9);
	assert_int_equal(t->r->queue_irqs, 3);
	assert_int_equal(rig_avail_event(t->r), 9);
	blkt_free(t);
}

static void test_reset(void **state)
{
	(void)state;
	struct blkt *t = blkt_new(FEATURES, false, 16);
	run1(t, VIRTIO_BLK_T_IN, 0, 512, true, 513, NULL);
	t->r->dev.ops->reset(&t->r->dev);
	assert_int_equal(t->r->dev.queues[0].last_avail, 0);
	assert_int_equal(t->r->dev.queues[0].used_idx, 0);
	assert_false(t->r->dev.queues[0].signalled_valid);
	blkt_free(t);
}

/* --- The ramdisk ------------------------------------------------------------------------------- */

static void test_ramdisk(void **state)
{
	(void)state;
	static uint8_t block[4 * 512];
	struct ramdisk rd;
	uint8_t buf[1024];
	assert_false(ramdisk_init(&rd, block, 1000, false));
	assert_false(ramdisk_init(&rd, NULL, 512, false));
	assert_true(ramdisk_init(&rd, NULL, 0, false));
	assert_true(ramdisk_init(&rd, block, sizeof(block), false));
	assert_int_equal(ramdisk_sectors(&rd), 4);
	assert_true(ramdisk_range_ok(&rd, 0, 4));
	assert_true(ramdisk_range_ok(&rd, 4, 0));
	assert_false(ramdisk_range_ok(&rd, 3, 2));
	assert_false(ramdisk_range_ok(&rd, 5, 0));
	assert_false(ramdisk_range_ok(&rd, UINT64_MAX, 2));
	assert_false(ramdisk_range_ok(&rd, 1, UINT64_MAX));
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(ramdisk_write(&rd, 2, 2, buf), RAMDISK_OK);
	assert_int_equal(block[2 * 512], 0xab);
	assert_int_equal(ramdisk_write(&rd, 3, 2, buf), RAMDISK_E_RANGE);
	assert_int_equal(ramdisk_read(&rd, 1ull << 60, 1, buf), RAMDISK_E_RANGE);
	assert_int_equal(ramdisk_read_bytes(&rd, sizeof(block) - 1, buf, 2), RAMDISK_E_RANGE);
	assert_int_equal(ramdisk_read_bytes(&rd, UINT64_MAX, buf, 2), RAMDISK_E_RANGE);
	assert_int_equal(ramdisk_write_zeroes(&rd, 2, 1), RAMDISK_OK);
	assert_int_equal(block[2 * 512], 0);
	assert_int_equal(block[3 * 512], 0xab);
	assert_int_equal(ramdisk_discard(&rd, 3, 1), RAMDISK_OK);
	assert_int_equal(block[3 * 512], 0);
	assert_int_equal(ramdisk_discard(&rd, 3, 2), RAMDISK_E_RANGE);
	rd.read_only = true;
	assert_int_equal(ramdisk_write(&rd, 0, 1, buf), RAMDISK_E_READONLY);
	assert_int_equal(ramdisk_write_bytes(&rd, 0, buf, 1), RAMDISK_E_READONLY);
	assert_int_equal(ramdisk_write_zeroes(&rd, 0, 1), RAMDISK_E_READONLY);
	assert_int_equal(ramdisk_discard(&rd, 0, 1), RAMDISK_E_READONLY);
	assert_int_equal(ramdisk_read(&rd, 0, 2, buf), RAMDISK_OK);
	assert_int_equal(ramdisk_flush(&rd), RAMDISK_OK);
	assert_int_equal(rd.flushes, 1);
}

static void test_fnv1a64(void **state)
{
	(void)state;
	/* Published FNV-1a 64 test vectors. */
	assert_int_equal(fnv1a64("", 0), 0xcbf29ce484222325ULL);
	assert_int_equal(fnv1a64("a", 1), 0xaf63dc4c8601ec8cULL);
	assert_int_equal(fnv1a64("foobar", 6), 0x85944171f73967e8ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_config_space),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_message_framing),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_directions),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_get_id),
		cmocka_unit_test(test_unknown_types),
		cmocka_unit_test(test_discard_write_zeroes),
		cmocka_unit_test(test_discard_write_zeroes_refused),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_no_status_byte),
		cmocka_unit_test(test_malformed_chains),
		cmocka_unit_test(test_malformed_chains_reported),
		cmocka_unit_test(test_avail_jump_breaks_device),
		cmocka_unit_test(test_not_ready),
		cmocka_unit_test(test_batch_direct),
		cmocka_unit_test(test_batch_indirect_wrap),
		cmocka_unit_test(test_no_interrupt),
		cmocka_unit_test(test_event_idx),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_ramdisk),
		cmocka_unit_test(test_fnv1a64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
