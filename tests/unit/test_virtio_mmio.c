/* devices/virtio_mmio.c (VIRTIO 1.2 4.2, version 2) with a dummy device
 * type, through an MMIO bus: the register map and magic, access widths,
 * feature windows, FEATURES_OK refusal, reset, queue setup and readiness,
 * QueueNotify, InterruptStatus/InterruptACK and the line, configuration
 * space and generation, and a random register-access loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "devices/virtio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "tests/unit/rig.h"

#define BASE 0xd0000000ULL
#define RAM_SIZE 0x10000
#define CFG_SIZE 12
#define OFFERED (BIT(0) | BIT(9) | BIT(33))

struct dummy {
	uint8_t config[CFG_SIZE];
	unsigned resets, config_writes;
	unsigned notifies[VIRTIO_MAX_QUEUES];
};

static uint64_t dummy_config_read(struct virtio_device *d, uint64_t offset, unsigned size)
{
	struct dummy *dm = d->device_ctx;
	uint64_t v = 0;
	assert_true(offset + size <= CFG_SIZE);
	memcpy(&v, dm->config + offset, size);
	return v;
}

static void dummy_config_write(struct virtio_device *d, uint64_t offset, unsigned size, uint64_t value)
{
	struct dummy *dm = d->device_ctx;
	assert_true(offset + size <= CFG_SIZE);
	memcpy(dm->config + offset, &value, size);
	dm->config_writes++;
}

static void dummy_queue_notify(struct virtio_device *d, unsigned q)
{
	struct dummy *dm = d->device_ctx;
	assert_true(q < d->num_queues);
	dm->notifies[q]++;
}

static void dummy_reset(struct virtio_device *d)
{
	((struct dummy *)d->device_ctx)->resets++;
}

static const struct virtio_device_ops dummy_ops = {
	.config_read = dummy_config_read,
	.config_write = dummy_config_write,
	.queue_notify = dummy_queue_notify,
	.reset = dummy_reset,
};

struct fixture {
	struct bus mmio;
	struct virtio_mmio m;
	struct virtio_device dev;
	struct dummy dummy;
	struct guest_mem mem;
	struct rig_line irq;
};

static void record_irq(void *ctx, unsigned pin, bool asserted)
{
	struct fixture *f = ctx;
	assert_int_equal(pin, 5);
	/* The transport reports changes only. */
	assert_true(asserted != f->irq.level);
	rig_line_set(&f->irq, asserted);
}

static uint64_t rd(struct fixture *f, uint64_t reg, unsigned size)
{
	bool claimed;
	uint64_t v = bus_read(&f->mmio, BASE + reg, size, &claimed);
	assert_true(claimed);
	return v;
}

static void wr(struct fixture *f, uint64_t reg, unsigned size, uint64_t v)
{
	bool claimed;
	bus_write(&f->mmio, BASE + reg, size, v, &claimed);
	assert_true(claimed);
}

static uint32_t rd32(struct fixture *f, uint64_t reg)
{
	return (uint32_t)rd(f, reg, 4);
}

static void wr32(struct fixture *f, uint64_t reg, uint32_t v)
{
	wr(f, reg, 4, v);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->mem.hva = calloc(1, RAM_SIZE);
	f->mem.size = RAM_SIZE;
	if (!f->mem.hva)
		return -1;
	f->dev.device_id = 2;
	f->dev.host_features = OFFERED;
	f->dev.num_queues = 2;
	f->dev.queues[0].max_size = 128;
	f->dev.queues[1].max_size = 16;
	f->dev.mem = &f->mem;
	f->dev.ops = &dummy_ops;
	f->dev.device_ctx = &f->dummy;
	for (unsigned i = 0; i < CFG_SIZE; i++)
		f->dummy.config[i] = (uint8_t)(0x20 + i);
	struct irq_line line = { record_irq, f, 5 };
	if (!virtio_mmio_init(&f->m, &f->dev, CFG_SIZE, &line))
		return -1;
	bus_init(&f->mmio, "MMIO");
	struct bus_device bd = { "virtio-mmio", BASE, VIRTIO_MMIO_SIZE, virtio_mmio_read, virtio_mmio_write, &f->m };
	if (!bus_register(&f->mmio, &bd))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->mem.hva);
	free(f);
	return 0;
}

static void negotiate(struct fixture *f, uint64_t features)
{
	wr32(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr32(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr32(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr32(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr32(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr32(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr32(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void setup_queue(struct fixture *f, unsigned q, uint32_t size, uint64_t base)
{
	wr32(f, VIRTIO_MMIO_QUEUE_SEL, q);
	wr32(f, VIRTIO_MMIO_QUEUE_NUM, size);
	wr32(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
	wr32(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(base >> 32));
	wr32(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(base + 0x1000));
	wr32(f, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	wr32(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(base + 0x2000));
	wr32(f, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	wr32(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void driver_ok(struct fixture *f)
{
	negotiate(f, BIT(VIRTIO_F_VERSION_1) | BIT(9));
	setup_queue(f, 0, 128, 0x1000);
	setup_queue(f, 1, 16, 0x8000);
	wr32(f, VIRTIO_MMIO_STATUS, 0x0f);
	assert_int_equal(rd32(f, VIRTIO_MMIO_STATUS), 0x0f);
}

static void test_register_map(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rd32(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd32(f, VIRTIO_MMIO_VERSION_REG), 2);
	assert_int_equal(rd32(f, VIRTIO_MMIO_DEVICE_ID), 2);
	assert_int_equal(rd32(f, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_int_equal(rd32(f, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd32(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(rd32(f, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 128);
	assert_int_equal(rd32(f, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(rd32(f, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_RESET), 0);
	/* Read-only registers ignore writes; write-only ones read 0. */
	wr32(f, VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr32(f, VIRTIO_MMIO_VERSION_REG, 1);
	wr32(f, VIRTIO_MMIO_DEVICE_ID, 7);
	wr32(f, VIRTIO_MMIO_QUEUE_NUM_MAX, 4);
	wr32(f, VIRTIO_MMIO_CONFIG_GENERATION, 9);
	assert_int_equal(rd32(f, VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	assert_int_equal(rd32(f, VIRTIO_MMIO_VERSION_REG), 2);
	assert_int_equal(rd32(f, VIRTIO_MMIO_DEVICE_ID), 2);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 128);
	assert_int_equal(rd32(f, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	wr32(f, VIRTIO_MMIO_QUEUE_NUM, 32);
	wr32(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_NUM), 0);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
	assert_int_equal(f->dev.queues[0].size, 32);
	assert_true(f->dev.queues[0].desc_gpa == 0x1000);
	/* Control registers: 32-bit aligned accesses only. */
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE, 1), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
	assert_true(rd(f, VIRTIO_MMIO_MAGIC_VALUE, 8) == 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE + 1, 4), 0);
	wr(f, VIRTIO_MMIO_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(f, VIRTIO_MMIO_STATUS, 8, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(f, VIRTIO_MMIO_STATUS + 2, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(rd32(f, VIRTIO_MMIO_STATUS), 0);
	/* Reserved offsets read 0. */
	for (uint64_t r = 0; r < VIRTIO_MMIO_CONFIG; r += 4) {
		switch (r) {
		case VIRTIO_MMIO_MAGIC_VALUE: case VIRTIO_MMIO_VERSION_REG: case VIRTIO_MMIO_DEVICE_ID:
		case VIRTIO_MMIO_VENDOR_ID: case VIRTIO_MMIO_DEVICE_FEATURES: case VIRTIO_MMIO_QUEUE_NUM_MAX:
		case VIRTIO_MMIO_SHM_LEN_LOW: case VIRTIO_MMIO_SHM_LEN_HIGH:
			break;
		default:
			assert_int_equal(rd32(f, r), 0);
		}
	}
	/* Refusals at init. */
	struct virtio_mmio m2;
	struct virtio_device d2 = { .num_queues = 1 };
	assert_false(virtio_mmio_init(&m2, &d2, VIRTIO_MMIO_CONFIG_MAX + 1, NULL));
	d2.num_queues = 0;
	assert_false(virtio_mmio_init(&m2, &d2, 0, NULL));
}

static void test_features(void **state)
{
	struct fixture *f = *state;
	uint64_t offered = OFFERED | BIT(VIRTIO_F_VERSION_1);
	assert_int_equal(rd32(f, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)offered);
	wr32(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd32(f, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(offered >> 32));
	wr32(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd32(f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	/* Driver features, both windows; window 2 dropped. */
	wr32(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr32(f, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	assert_true(f->dev.guest_features == 0);
	negotiate(f, BIT(VIRTIO_F_VERSION_1) | BIT(33) | BIT(9));
	assert_true(f->dev.guest_features == (BIT(VIRTIO_F_VERSION_1) | BIT(33) | BIT(9)));
	assert_int_equal(rd32(f, VIRTIO_MMIO_STATUS), 0x0b);
	wr32(f, VIRTIO_MMIO_DRIVER_FEATURES, 0); /* fixed after FEATURES_OK */
	assert_true(f->dev.guest_features & BIT(33));
	/* Refusals: an unoffered bit; no VERSION_1. */
	wr32(f, VIRTIO_MMIO_STATUS, 0);
	negotiate(f, BIT(VIRTIO_F_VERSION_1) | BIT(2));
	assert_int_equal(rd32(f, VIRTIO_MMIO_STATUS), 0x03);
	wr32(f, VIRTIO_MMIO_STATUS, 0x07);
	assert_int_equal(rd32(f, VIRTIO_MMIO_STATUS), 0x03);
	wr32(f, VIRTIO_MMIO_STATUS, 0);
	negotiate(f, BIT(0));
	assert_int_equal(rd32(f, VIRTIO_MMIO_STATUS), 0x03);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	driver_ok(f);
	f->dev.transport->notify_queue(&f->dev, 0);
	assert_true(f->irq.level);
	wr32(f, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr32(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	wr32(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(f->dummy.resets, 1);
	assert_false(f->irq.level);
	assert_int_equal(rd32(f, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd32(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(rd32(f, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)OFFERED); /* selector 0 */
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 128);                /* QueueSel 0 */
	assert_true(f->dev.guest_features == 0);
	for (unsigned q = 0; q < 2; q++) {
		assert_false(f->dev.queues[q].ready);
		assert_true(f->dev.queues[q].desc_gpa == 0 && f->dev.queues[q].used_gpa == 0);
		assert_int_equal(f->dev.queues[q].size, f->dev.queues[q].max_size);
	}
}

static void test_queues(void **state)
{
	struct fixture *f = *state;
	negotiate(f, BIT(VIRTIO_F_VERSION_1));
	/* A queue beyond num_queues: max 0, nothing sticks. */
	wr32(f, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr32(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_READY), 0);
	wr32(f, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	/* Sizes: powers of 2 up to the maximum. */
	wr32(f, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	wr32(f, VIRTIO_MMIO_QUEUE_NUM, 32);
	wr32(f, VIRTIO_MMIO_QUEUE_NUM, 12);
	assert_int_equal(f->dev.queues[1].size, 16);
	wr32(f, VIRTIO_MMIO_QUEUE_NUM, 8);
	assert_int_equal(f->dev.queues[1].size, 8);
	/* 64-bit addresses in two halves. */
	wr32(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x12);
	wr32(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x3000);
	assert_true(f->dev.queues[1].desc_gpa == 0x1200003000ULL);
	/* Outside RAM: not ready, device needs reset. */
	wr32(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd32(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_non_null(f->dev.broken_reason);
	wr32(f, VIRTIO_MMIO_STATUS, 0);
	/* A misaligned used ring is refused too. */
	negotiate(f, BIT(VIRTIO_F_VERSION_1));
	wr32(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr32(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x3002);
	wr32(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_READY), 0);
	wr32(f, VIRTIO_MMIO_STATUS, 0);
	/* A good queue: ready; its configuration fixed until QueueReady 0. */
	negotiate(f, BIT(VIRTIO_F_VERSION_1));
	f->dev.queues[0].used_idx = 9;
	setup_queue(f, 0, 64, 0x1000);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_READY), 1);
	assert_int_equal(f->dev.queues[0].used_idx, 0);
	wr32(f, VIRTIO_MMIO_QUEUE_NUM, 32);
	wr32(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	assert_int_equal(f->dev.queues[0].size, 64);
	assert_true(f->dev.queues[0].desc_gpa == 0x1000);
	wr32(f, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_READY), 0);
	wr32(f, VIRTIO_MMIO_QUEUE_NUM, 32);
	assert_int_equal(f->dev.queues[0].size, 32);
	assert_false(f->dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void test_notify(void **state)
{
	struct fixture *f = *state;
	negotiate(f, BIT(VIRTIO_F_VERSION_1));
	setup_queue(f, 0, 128, 0x1000);
	wr32(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* before DRIVER_OK: ignored */
	assert_int_equal(f->dummy.notifies[0], 0);
	wr32(f, VIRTIO_MMIO_STATUS, 0x0f);
	wr32(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->dummy.notifies[0], 1);
	wr32(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1); /* not ready */
	wr32(f, VIRTIO_MMIO_QUEUE_NOTIFY, 7); /* no such queue */
	wr32(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 2, 0); /* not 32-bit */
	assert_int_equal(f->dummy.notifies[0], 1);
	assert_int_equal(f->dummy.notifies[1], 0);
	setup_queue(f, 1, 16, 0x8000);
	wr32(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(f->dummy.notifies[1], 1);
	assert_int_equal(rd32(f, VIRTIO_MMIO_QUEUE_NOTIFY), 0);
}

static void test_interrupts(void **state)
{
	struct fixture *f = *state;
	driver_ok(f);
	f->dev.transport->notify_queue(&f->dev, 1);
	assert_true(f->irq.level);
	assert_int_equal(rd32(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_QUEUE);
	/* Reading does not clear it (unlike the PCI ISR). */
	assert_int_equal(rd32(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_QUEUE);
	virtio_config_changed(&f->dev);
	assert_int_equal(rd32(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
	assert_int_equal(rd32(f, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	assert_int_equal(f->irq.rises, 1);
	/* InterruptACK clears the bits written; the line follows. */
	wr32(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_QUEUE);
	assert_true(f->irq.level);
	assert_int_equal(rd32(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
	wr32(f, VIRTIO_MMIO_INTERRUPT_ACK, 0);
	assert_true(f->irq.level);
	wr32(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_CONFIG);
	assert_false(f->irq.level);
	assert_int_equal(f->irq.falls, 1);
	/* InterruptStatus is read-only; a narrow ACK is dropped. */
	wr32(f, VIRTIO_MMIO_INTERRUPT_STATUS, 3);
	assert_int_equal(rd32(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	f->dev.transport->notify_queue(&f->dev, 0);
	wr(f, VIRTIO_MMIO_INTERRUPT_ACK, 1, 1);
	assert_true(f->irq.level);
	wr32(f, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	assert_false(f->irq.level);
	/* A broken device interrupts a running driver (2.1.2). */
	virtio_mark_broken(&f->dev, "test");
	assert_int_equal(rd32(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
	assert_true(rd32(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void test_config_space(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG, 1), 0x20);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 2, 2), 0x2322);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 4, 4), 0x27262524);
	assert_true(rd(f, VIRTIO_MMIO_CONFIG + 4, 8) == 0x2b2a292827262524ULL);
	assert_true(rd(f, VIRTIO_MMIO_CONFIG + 8, 8) == 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_SIZE - 4, 4), 0);
	wr(f, VIRTIO_MMIO_CONFIG + 9, 2, 0x5566);
	assert_int_equal(f->dummy.config[9], 0x66);
	assert_int_equal(f->dummy.config[10], 0x55);
	wr(f, VIRTIO_MMIO_CONFIG + CFG_SIZE - 2, 4, 0);
	wr(f, VIRTIO_MMIO_SIZE - 8, 8, ~0ull);
	assert_int_equal(f->dummy.config_writes, 1);
	uint32_t gen = rd32(f, VIRTIO_MMIO_CONFIG_GENERATION);
	virtio_config_changed(&f->dev);
	virtio_config_changed(&f->dev);
	assert_int_equal(rd32(f, VIRTIO_MMIO_CONFIG_GENERATION), gen + 2);
}

static void test_random_accesses(void **state)
{
	struct fixture *f = *state;
	uint32_t rng = 0x13579bdf;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	driver_ok(f);
	for (unsigned i = 0; i < 200000; i++) {
		uint32_t r = rig_xorshift32(&rng);
		unsigned size = (r & 0x30) ? 4 : sizes[r & 3];
		uint64_t offset = ((r >> 8) % VIRTIO_MMIO_SIZE) & ~(uint64_t)(size - 1);
		uint64_t value = rig_xorshift32(&rng);
		if ((r >> 6) & 1)
			value &= 0xff; /* small values hit selectors and sizes */
		if (r & 0x80000000u)
			rd(f, offset, size);
		else if (!(offset == VIRTIO_MMIO_STATUS && (r & 0x40000000u)))
			wr(f, offset, size, value);
		if (i % 64 == 0)
			f->dev.transport->notify_queue(&f->dev, r % 2);
		if (i % 999 == 0)
			virtio_config_changed(&f->dev);
		for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
			const struct virtqueue *vq = &f->dev.queues[q];
			assert_true(vq->size <= vq->max_size);
			assert_true(vq->size == 0 || (vq->size & (vq->size - 1)) == 0);
			assert_true(!vq->ready || q < f->dev.num_queues);
		}
		assert_true(f->irq.level == (f->m.interrupt_status != 0));
		assert_true((f->m.interrupt_status & ~3u) == 0);
		if (f->dev.status & VIRTIO_STATUS_FEATURES_OK)
			assert_true((f->dev.guest_features & ~f->dev.host_features) == 0);
		if (f->dev.status & VIRTIO_STATUS_DRIVER_OK)
			assert_true(f->dev.status & VIRTIO_STATUS_FEATURES_OK);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_accesses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
