/* devices/virtio_pci.c (VIRTIO 1.2 4.1) with a dummy device type: the
 * function's identity, the capability chain walked as a driver walks it,
 * feature negotiation, FEATURES_OK refusal, reset, queue setup and
 * enabling, doorbells, MSI-X and INTx/ISR interrupts, configuration space
 * and generation, odd accesses, and a random register-access loop. Every
 * access goes through the PCI segment (ECAM and the decoded BAR). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/virtio.h"
#include "devices/virtio_pci.h"
#include "tests/unit/rig.h"

#define ECAM_BASE 0xb0000000ULL
#define BAR_ADDR 0x1e0000000ULL /* above 4 GiB: the BAR is 64-bit */
#define DEV 3
#define RAM_SIZE 0x10000
#define MSI_ADDR 0xfee00000u
#define MAX_MSGS 64
#define CFG_SIZE 12
#define DUMMY_ID 2 /* block: class 01/80/00 */
#define OFFERED (BIT(0) | BIT(9) | BIT(VIRTIO_F_EVENT_IDX) | BIT(33))

/* --- The dummy device type: records every call ------------------------------- */

struct dummy {
	uint8_t config[CFG_SIZE];
	unsigned resets;
	unsigned notifies[VIRTIO_MAX_QUEUES];
	unsigned config_writes;
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
	struct dummy *dm = d->device_ctx;
	dm->resets++;
}

static const struct virtio_device_ops dummy_ops = {
	.config_read = dummy_config_read,
	.config_write = dummy_config_write,
	.queue_notify = dummy_queue_notify,
	.reset = dummy_reset,
};

/* --- Fixture -------------------------------------------------------------------- */

struct fixture {
	struct pci_segment seg;
	struct virtio_pci vp;
	struct virtio_device dev;
	struct dummy dummy;
	struct guest_mem mem;
	struct rig_line intx;
	unsigned msgs;
	uint64_t msg_address[MAX_MSGS];
	uint32_t msg_data[MAX_MSGS];
};

static void record_msi(void *ctx, uint64_t address, uint32_t data)
{
	struct fixture *f = ctx;
	if (f->msgs < MAX_MSGS) {
		f->msg_address[f->msgs] = address;
		f->msg_data[f->msgs] = data;
	}
	f->msgs++;
}

static void record_intx(void *ctx, unsigned pin, bool asserted)
{
	struct fixture *f = ctx;
	assert_int_equal(pin, 10);
	rig_line_set(&f->intx, asserted);
}

static uint32_t cfg_read(struct fixture *f, unsigned reg, unsigned size)
{
	return (uint32_t)pci_ecam_read(&f->seg, (uint64_t)DEV << PCI_ECAM_DEVICE_SHIFT | reg, size);
}

static void cfg_write(struct fixture *f, unsigned reg, unsigned size, uint32_t v)
{
	pci_ecam_write(&f->seg, (uint64_t)DEV << PCI_ECAM_DEVICE_SHIFT | reg, size, v);
}

static uint64_t bar_rd(struct fixture *f, uint64_t offset, unsigned size)
{
	bool claimed;
	uint64_t v = pci_space_read(&f->seg, false, BAR_ADDR + offset, size, &claimed);
	assert_true(claimed);
	return v;
}

static void bar_wr(struct fixture *f, uint64_t offset, unsigned size, uint64_t v)
{
	bool claimed;
	pci_space_write(&f->seg, false, BAR_ADDR + offset, size, v, &claimed);
	assert_true(claimed);
}

#define COMMON(field) (VIRTIO_PCI_COMMON_OFFSET + VIRTIO_PCI_COMMON_##field)

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->mem.hva = calloc(1, RAM_SIZE);
	f->mem.size = RAM_SIZE;
	if (!f->mem.hva || !pci_segment_init(&f->seg, ECAM_BASE, record_msi, f))
		return -1;
	f->dev.device_id = DUMMY_ID;
	f->dev.host_features = OFFERED;
	f->dev.num_queues = 2;
	f->dev.queues[0].max_size = 128;
	f->dev.queues[1].max_size = 64;
	f->dev.mem = &f->mem;
	f->dev.ops = &dummy_ops;
	f->dev.device_ctx = &f->dummy;
	for (unsigned i = 0; i < CFG_SIZE; i++)
		f->dummy.config[i] = (uint8_t)(0x10 + i);
	struct irq_line line = { record_intx, f, 10 };
	if (!virtio_pci_init(&f->vp, &f->dev, CFG_SIZE, &line))
		return -1;
	if (!pci_register_function(&f->seg, DEV, 0, &f->vp.fn))
		return -1;
	/* Firmware's part: place BAR 4 (64-bit, two registers), decode memory,
	 * allow bus mastering (MSI-X messages are memory writes). */
	cfg_write(f, PCI_BAR0 + 4 * VIRTIO_PCI_BAR, 4, (uint32_t)BAR_ADDR);
	cfg_write(f, PCI_BAR0 + 4 * VIRTIO_PCI_BAR + 4, 4, (uint32_t)(BAR_ADDR >> 32));
	cfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
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

/* The driver's side of 3.1.1 up to FEATURES_OK, accepting `features`. */
static void negotiate(struct fixture *f, uint64_t features)
{
	bar_wr(f, COMMON(STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE);
	bar_wr(f, COMMON(STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_wr(f, COMMON(GFSELECT), 4, 0);
	bar_wr(f, COMMON(GF), 4, (uint32_t)features);
	bar_wr(f, COMMON(GFSELECT), 4, 1);
	bar_wr(f, COMMON(GF), 4, (uint32_t)(features >> 32));
	bar_wr(f, COMMON(STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

/* Queue q set up with rings at base (desc), base+0x1000, base+0x2000. */
static void setup_queue(struct fixture *f, unsigned q, uint16_t size, uint64_t base)
{
	bar_wr(f, COMMON(Q_SELECT), 2, q);
	bar_wr(f, COMMON(Q_SIZE), 2, size);
	bar_wr(f, COMMON(Q_DESC), 4, (uint32_t)base);
	bar_wr(f, COMMON(Q_DESC) + 4, 4, (uint32_t)(base >> 32));
	bar_wr(f, COMMON(Q_DRIVER), 8, base + 0x1000);
	bar_wr(f, COMMON(Q_DEVICE), 4, (uint32_t)(base + 0x2000));
	bar_wr(f, COMMON(Q_DEVICE) + 4, 4, 0);
	bar_wr(f, COMMON(Q_ENABLE), 2, 1);
}

static void driver_ok(struct fixture *f)
{
	negotiate(f, BIT(VIRTIO_F_VERSION_1) | BIT(0));
	setup_queue(f, 0, 128, 0x1000);
	setup_queue(f, 1, 64, 0x8000);
	bar_wr(f, COMMON(STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_true(f->dev.status & VIRTIO_STATUS_DRIVER_OK);
}

/* --- Tests ------------------------------------------------------------------------ */

static void test_identity(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(cfg_read(f, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_read(f, PCI_DEVICE_ID, 2), 0x1042);
	assert_int_equal(cfg_read(f, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_true(cfg_read(f, PCI_SUBSYSTEM_ID, 2) >= 0x40);
	assert_int_equal(cfg_read(f, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_read(f, PCI_CLASS_PROG, 1), 0x00);
	assert_int_equal(cfg_read(f, PCI_CLASS_SUB, 1), 0x80);
	assert_int_equal(cfg_read(f, PCI_CLASS_BASE, 1), 0x01);
	assert_int_equal(cfg_read(f, PCI_INTERRUPT_PIN, 1), PCI_INTA);
	assert_true(cfg_read(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* BAR 4: 64-bit memory, not prefetchable, at the address we gave. */
	assert_int_equal(cfg_read(f, PCI_BAR0 + 16, 4) & 0xf, PCI_BAR_MEM_TYPE_64);
	assert_true(pci_bar_address(&f->vp.fn, VIRTIO_PCI_BAR) == BAR_ADDR);
	/* Sizing: all-ones reads back the size mask. */
	cfg_write(f, PCI_BAR0 + 16, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, PCI_BAR0 + 16, 4), (uint32_t)~(VIRTIO_PCI_BAR_SIZE - 1) | PCI_BAR_MEM_TYPE_64);
	cfg_write(f, PCI_BAR0 + 16, 4, (uint32_t)BAR_ADDR);
	/* No other BAR. */
	for (unsigned b = 0; b < 4; b++)
		assert_int_equal(cfg_read(f, PCI_BAR0 + 4 * b, 4), 0);
	assert_int_equal(virtio_pci_class_code(1), 0x020000);
	assert_int_equal(virtio_pci_class_code(99), 0xff0000);
}

struct found_cap {
	unsigned count;
	uint8_t bar;
	uint32_t offset, length, multiplier;
};

static void test_capability_chain(void **state)
{
	struct fixture *f = *state;
	struct found_cap caps[6] = { 0 };
	unsigned msix = 0, steps = 0;
	/* As a driver does (4.1.4.1): follow cap_next from the Capabilities
	 * Pointer, taking vendor-specific ones by cfg_type. */
	for (unsigned at = cfg_read(f, PCI_CAPABILITY_LIST, 1) & 0xfc; at; at = cfg_read(f, at + 1, 1) & 0xfc) {
		assert_true(++steps < PCI_CAP_MAX_CHAIN);
		assert_true(at >= PCI_CAPABILITY_START);
		unsigned id = cfg_read(f, at, 1);
		if (id == PCI_CAP_ID_MSIX) {
			msix = at;
			continue;
		}
		assert_int_equal(id, PCI_CAP_ID_VNDR);
		unsigned type = cfg_read(f, at + VIRTIO_PCI_CAP_CFG_TYPE, 1);
		unsigned len = cfg_read(f, at + VIRTIO_PCI_CAP_LEN, 1);
		assert_true(type >= 1 && type <= 4);
		assert_int_equal(len, type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 20 : 16);
		caps[type].count++;
		caps[type].bar = (uint8_t)cfg_read(f, at + VIRTIO_PCI_CAP_BAR, 1);
		caps[type].offset = cfg_read(f, at + VIRTIO_PCI_CAP_OFFSET, 4);
		caps[type].length = cfg_read(f, at + VIRTIO_PCI_CAP_LENGTH, 4);
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			caps[type].multiplier = cfg_read(f, at + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
		/* Read-only: a driver cannot move a region. */
		cfg_write(f, at + VIRTIO_PCI_CAP_OFFSET, 4, 0x12340000);
		assert_int_equal(cfg_read(f, at + VIRTIO_PCI_CAP_OFFSET, 4), caps[type].offset);
	}
	for (unsigned t = 1; t <= 4; t++) {
		assert_int_equal(caps[t].count, 1);
		assert_int_equal(caps[t].bar, VIRTIO_PCI_BAR);
		assert_int_equal(caps[t].offset % 4, 0);
		assert_true(caps[t].offset + caps[t].length <= VIRTIO_PCI_BAR_SIZE);
	}
	assert_int_equal(caps[VIRTIO_PCI_CAP_COMMON_CFG].offset, VIRTIO_PCI_COMMON_OFFSET);
	assert_int_equal(caps[VIRTIO_PCI_CAP_COMMON_CFG].length, 0x38);
	assert_int_equal(caps[VIRTIO_PCI_CAP_ISR_CFG].offset, VIRTIO_PCI_ISR_OFFSET);
	assert_true(caps[VIRTIO_PCI_CAP_ISR_CFG].length >= 1);
	assert_int_equal(caps[VIRTIO_PCI_CAP_DEVICE_CFG].offset, VIRTIO_PCI_DEVICE_OFFSET);
	assert_int_equal(caps[VIRTIO_PCI_CAP_DEVICE_CFG].length, CFG_SIZE);
	assert_int_equal(caps[VIRTIO_PCI_CAP_NOTIFY_CFG].offset, VIRTIO_PCI_NOTIFY_OFFSET);
	assert_int_equal(caps[VIRTIO_PCI_CAP_NOTIFY_CFG].multiplier, 4);
	/* 4.1.4.4: room for every queue's doorbell (queue_notify_off * mult + 2). */
	for (unsigned q = 0; q < 2; q++) {
		bar_wr(f, COMMON(Q_SELECT), 2, q);
		uint32_t off = (uint32_t)bar_rd(f, COMMON(Q_NOFF), 2) * caps[2].multiplier;
		assert_true(off + 2 <= caps[VIRTIO_PCI_CAP_NOTIFY_CFG].length);
	}
	/* MSI-X: num_queues + 1 entries, table and PBA in BAR 4. */
	assert_int_not_equal(msix, 0);
	assert_int_equal(cfg_read(f, msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE, 2);
	assert_int_equal(cfg_read(f, msix + PCI_MSIX_TABLE, 4), VIRTIO_PCI_MSIX_TABLE_OFFSET | VIRTIO_PCI_BAR);
	assert_int_equal(cfg_read(f, msix + PCI_MSIX_PBA, 4), VIRTIO_PCI_MSIX_PBA_OFFSET | VIRTIO_PCI_BAR);
}

static void test_no_device_config(void **state)
{
	(void)state;
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	struct virtio_device d = { .device_id = 4, .num_queues = 1 };
	d.queues[0].max_size = 8;
	assert_non_null(vp);
	assert_true(virtio_pci_init(vp, &d, 0, NULL));
	assert_int_equal(vp->cap_device, 0);
	assert_int_equal(pci_get16(&vp->fn, PCI_CLASS_SUB), 0xff00);
	assert_true(d.host_features & BIT(VIRTIO_F_VERSION_1));
	/* Refusals: no queues, too many, configuration too large. */
	d.num_queues = 0;
	assert_false(virtio_pci_init(vp, &d, 0, NULL));
	d.num_queues = VIRTIO_MAX_QUEUES + 1;
	assert_false(virtio_pci_init(vp, &d, 0, NULL));
	d.num_queues = 1;
	assert_false(virtio_pci_init(vp, &d, VIRTIO_PCI_DEVICE_MAX + 1, NULL));
	free(vp);
}

static void test_feature_windows(void **state)
{
	struct fixture *f = *state;
	uint64_t offered = OFFERED | BIT(VIRTIO_F_VERSION_1);
	assert_int_equal(bar_rd(f, COMMON(DF), 4), (uint32_t)offered);
	bar_wr(f, COMMON(DFSELECT), 4, 1);
	assert_int_equal(bar_rd(f, COMMON(DFSELECT), 4), 1);
	assert_int_equal(bar_rd(f, COMMON(DF), 4), (uint32_t)(offered >> 32));
	bar_wr(f, COMMON(DFSELECT), 4, 2);
	assert_int_equal(bar_rd(f, COMMON(DF), 4), 0);
	bar_wr(f, COMMON(DFSELECT), 4, 0xffffffff);
	assert_int_equal(bar_rd(f, COMMON(DF), 4), 0);
	/* device_feature is read-only. */
	bar_wr(f, COMMON(DFSELECT), 4, 0);
	bar_wr(f, COMMON(DF), 4, 0);
	assert_int_equal(bar_rd(f, COMMON(DF), 4), (uint32_t)offered);

	/* driver_feature: both windows read back; window 2 drops writes. */
	bar_wr(f, COMMON(GFSELECT), 4, 0);
	bar_wr(f, COMMON(GF), 4, BIT(0) | BIT(9));
	bar_wr(f, COMMON(GFSELECT), 4, 1);
	bar_wr(f, COMMON(GF), 4, 1 | 2);
	bar_wr(f, COMMON(GFSELECT), 4, 2);
	bar_wr(f, COMMON(GF), 4, 0xffffffff);
	assert_int_equal(bar_rd(f, COMMON(GF), 4), 0);
	assert_true(f->dev.guest_features == (BIT(0) | BIT(9) | BIT(32) | BIT(33)));
	bar_wr(f, COMMON(GFSELECT), 4, 0);
	assert_int_equal(bar_rd(f, COMMON(GF), 4), BIT(0) | BIT(9));

	bar_wr(f, COMMON(STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(bar_rd(f, COMMON(STATUS), 1),
			 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	/* After FEATURES_OK the set is fixed. */
	bar_wr(f, COMMON(GF), 4, 0);
	assert_true(f->dev.guest_features == (BIT(0) | BIT(9) | BIT(32) | BIT(33)));
}

static void test_features_ok_refused(void **state)
{
	struct fixture *f = *state;
	/* A feature not offered (bit 1). */
	negotiate(f, BIT(VIRTIO_F_VERSION_1) | BIT(1));
	assert_int_equal(bar_rd(f, COMMON(STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* DRIVER_OK cannot follow a refused FEATURES_OK. */
	bar_wr(f, COMMON(STATUS), 1, 0x0f);
	assert_int_equal(bar_rd(f, COMMON(STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* Without VERSION_1: a legacy driver. */
	bar_wr(f, COMMON(STATUS), 1, 0);
	negotiate(f, BIT(0));
	assert_false(bar_rd(f, COMMON(STATUS), 1) & VIRTIO_STATUS_FEATURES_OK);
	/* Fixed set, accepted. */
	bar_wr(f, COMMON(STATUS), 1, 0);
	negotiate(f, BIT(VIRTIO_F_VERSION_1) | BIT(33));
	assert_true(bar_rd(f, COMMON(STATUS), 1) & VIRTIO_STATUS_FEATURES_OK);
	/* The driver cannot set DEVICE_NEEDS_RESET, nor clear bits. */
	bar_wr(f, COMMON(STATUS), 1, VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(bar_rd(f, COMMON(STATUS), 1),
			 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	driver_ok(f);
	bar_wr(f, COMMON(MSIX), 2, 0);
	bar_wr(f, COMMON(Q_SELECT), 2, 1);
	bar_wr(f, COMMON(Q_MSIX), 2, 2);
	f->dev.queues[0].last_avail = 7;
	virtio_config_changed(&f->dev); /* ISR bit 1, INTx */
	assert_true(f->intx.level);
	bar_wr(f, COMMON(STATUS), 1, 0);
	assert_int_equal(f->dummy.resets, 1);
	assert_int_equal(bar_rd(f, COMMON(STATUS), 1), 0);
	assert_true(f->dev.guest_features == 0);
	assert_false(f->intx.level);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 1), 0);
	assert_int_equal(bar_rd(f, COMMON(MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(bar_rd(f, COMMON(Q_SELECT), 2), 0);
	for (unsigned q = 0; q < 2; q++) {
		bar_wr(f, COMMON(Q_SELECT), 2, q);
		assert_int_equal(bar_rd(f, COMMON(Q_ENABLE), 2), 0);
		assert_int_equal(bar_rd(f, COMMON(Q_SIZE), 2), q ? 64 : 128);
		assert_int_equal(bar_rd(f, COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
		assert_true(bar_rd(f, COMMON(Q_DESC), 8) == 0);
		assert_true(bar_rd(f, COMMON(Q_DRIVER), 8) == 0);
		assert_true(bar_rd(f, COMMON(Q_DEVICE), 8) == 0);
		assert_int_equal(f->dev.queues[q].last_avail, 0);
	}
	/* The generation only moves forward. */
	assert_int_equal(bar_rd(f, COMMON(CFGGEN), 1), 1);
}

static void test_queue_setup(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(bar_rd(f, COMMON(NUMQ), 2), 2);
	bar_wr(f, COMMON(NUMQ), 2, 9);
	assert_int_equal(bar_rd(f, COMMON(NUMQ), 2), 2);
	/* queue_size: the maximum, then smaller powers of 2 only. */
	bar_wr(f, COMMON(Q_SELECT), 2, 0);
	assert_int_equal(bar_rd(f, COMMON(Q_SIZE), 2), 128);
	bar_wr(f, COMMON(Q_SIZE), 2, 256);
	assert_int_equal(bar_rd(f, COMMON(Q_SIZE), 2), 128);
	bar_wr(f, COMMON(Q_SIZE), 2, 48);
	assert_int_equal(bar_rd(f, COMMON(Q_SIZE), 2), 128);
	bar_wr(f, COMMON(Q_SIZE), 2, 0);
	assert_int_equal(bar_rd(f, COMMON(Q_SIZE), 2), 128);
	bar_wr(f, COMMON(Q_SIZE), 2, 32);
	assert_int_equal(bar_rd(f, COMMON(Q_SIZE), 2), 32);
	bar_wr(f, COMMON(Q_SIZE), 2, 1);
	assert_int_equal(bar_rd(f, COMMON(Q_SIZE), 2), 1);
	/* A queue that does not exist reads size 0 and ignores writes. */
	bar_wr(f, COMMON(Q_SELECT), 2, 2);
	assert_int_equal(bar_rd(f, COMMON(Q_SIZE), 2), 0);
	bar_wr(f, COMMON(Q_SIZE), 2, 4);
	bar_wr(f, COMMON(Q_ENABLE), 2, 1);
	bar_wr(f, COMMON(Q_DESC), 8, 0x1000);
	assert_int_equal(bar_rd(f, COMMON(Q_SIZE), 2), 0);
	assert_int_equal(bar_rd(f, COMMON(Q_ENABLE), 2), 0);
	assert_true(bar_rd(f, COMMON(Q_DESC), 8) == 0);
	assert_int_equal(bar_rd(f, COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	/* Addresses: 64-bit fields as two halves or whole. */
	bar_wr(f, COMMON(Q_SELECT), 2, 1);
	assert_int_equal(bar_rd(f, COMMON(Q_NOFF), 2), 1);
	bar_wr(f, COMMON(Q_DESC), 4, 0x89abcdf0);
	bar_wr(f, COMMON(Q_DESC) + 4, 4, 0x01234567);
	assert_true(bar_rd(f, COMMON(Q_DESC), 8) == 0x0123456789abcdf0ULL);
	assert_int_equal(bar_rd(f, COMMON(Q_DESC) + 4, 4), 0x01234567);
	assert_true(f->dev.queues[1].desc_gpa == 0x0123456789abcdf0ULL);
	/* Enabling a queue whose rings are outside RAM: refused, needs reset. */
	bar_wr(f, COMMON(Q_ENABLE), 2, 1);
	assert_int_equal(bar_rd(f, COMMON(Q_ENABLE), 2), 0);
	assert_true(bar_rd(f, COMMON(STATUS), 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_non_null(f->dev.broken_reason);
	bar_wr(f, COMMON(STATUS), 1, 0);
	assert_null(f->dev.broken_reason);
	/* Misaligned descriptor table: refused. */
	negotiate(f, BIT(VIRTIO_F_VERSION_1));
	setup_queue(f, 0, 128, 0x1008);
	assert_false(f->dev.queues[0].ready);
	bar_wr(f, COMMON(STATUS), 1, 0);
	/* A good layout: enabled, ring state at 0, then fixed. */
	negotiate(f, BIT(VIRTIO_F_VERSION_1));
	f->dev.queues[0].last_avail = 5;
	setup_queue(f, 0, 64, 0x1000);
	assert_int_equal(bar_rd(f, COMMON(Q_ENABLE), 2), 1);
	assert_true(f->dev.queues[0].ready);
	assert_int_equal(f->dev.queues[0].size, 64);
	assert_int_equal(f->dev.queues[0].last_avail, 0);
	assert_true(f->dev.queues[0].avail_gpa == 0x2000 && f->dev.queues[0].used_gpa == 0x3000);
	bar_wr(f, COMMON(Q_SIZE), 2, 16);
	bar_wr(f, COMMON(Q_DESC), 8, 0x4000);
	bar_wr(f, COMMON(Q_ENABLE), 2, 0); /* the driver MUST NOT: ignored */
	assert_int_equal(f->dev.queues[0].size, 64);
	assert_true(f->dev.queues[0].desc_gpa == 0x1000);
	assert_true(f->dev.queues[0].ready);
	assert_false(f->dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void test_notify(void **state)
{
	struct fixture *f = *state;
	negotiate(f, BIT(VIRTIO_F_VERSION_1));
	setup_queue(f, 0, 128, 0x1000);
	/* Before DRIVER_OK the device must not act (2.1.2). */
	bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET, 2, 0);
	assert_int_equal(f->dummy.notifies[0], 0);
	bar_wr(f, COMMON(STATUS), 1, 0x0f);
	bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET, 2, 0);
	bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET, 4, 0);
	assert_int_equal(f->dummy.notifies[0], 2);
	/* Queue 1 is not enabled: no call. */
	bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET + 4, 2, 1);
	assert_int_equal(f->dummy.notifies[1], 0);
	setup_queue(f, 1, 64, 0x8000);
	bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET + 4, 2, 1);
	assert_int_equal(f->dummy.notifies[1], 1);
	/* Off the doorbells, wrong widths, past the last queue: nothing. */
	bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET + 2, 2, 0);
	bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET, 1, 0);
	bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET, 8, 0);
	bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET + 8, 2, 2);
	assert_int_equal(f->dummy.notifies[0], 2);
	assert_int_equal(f->dummy.notifies[1], 1);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_NOTIFY_OFFSET, 2), 0);
	/* Once the device needs a reset it ignores the driver. */
	f->dev.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET, 2, 0);
	assert_int_equal(f->dummy.notifies[0], 2);
}

static uint64_t entry(unsigned e, unsigned field)
{
	return VIRTIO_PCI_MSIX_TABLE_OFFSET + e * PCI_MSIX_ENTRY_SIZE + field;
}

static void test_msix(void **state)
{
	struct fixture *f = *state;
	unsigned cap = pci_find_capability(&f->vp.fn, PCI_CAP_ID_MSIX);
	driver_ok(f);
	for (unsigned e = 0; e < 3; e++) {
		bar_wr(f, entry(e, PCI_MSIX_ENTRY_ADDR_LO), 4, MSI_ADDR);
		bar_wr(f, entry(e, PCI_MSIX_ENTRY_ADDR_HI), 4, 0);
		bar_wr(f, entry(e, PCI_MSIX_ENTRY_DATA), 4, 0x40 + e);
		bar_wr(f, entry(e, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	}
	cfg_write(f, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	/* Vector mapping; one the function lacks reads back NO_VECTOR. */
	bar_wr(f, COMMON(MSIX), 2, 0);
	assert_int_equal(bar_rd(f, COMMON(MSIX), 2), 0);
	bar_wr(f, COMMON(Q_SELECT), 2, 0);
	bar_wr(f, COMMON(Q_MSIX), 2, 3);
	assert_int_equal(bar_rd(f, COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	bar_wr(f, COMMON(Q_MSIX), 2, 1);
	assert_int_equal(bar_rd(f, COMMON(Q_MSIX), 2), 1);
	bar_wr(f, COMMON(Q_SELECT), 2, 1);
	bar_wr(f, COMMON(Q_MSIX), 2, 2);

	f->dev.transport->notify_queue(&f->dev, 0);
	f->dev.transport->notify_queue(&f->dev, 1);
	f->dev.transport->notify_config(&f->dev);
	assert_int_equal(f->msgs, 3);
	assert_true(f->msg_address[0] == MSI_ADDR && f->msg_data[0] == 0x41);
	assert_true(f->msg_address[1] == MSI_ADDR && f->msg_data[1] == 0x42);
	assert_true(f->msg_address[2] == MSI_ADDR && f->msg_data[2] == 0x40);
	/* No INTx with MSI-X; the ISR carries only the configuration bit. */
	assert_int_equal(f->intx.rises, 0);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 1), VIRTIO_ISR_CONFIG);

	/* NO_VECTOR: no message. Masked: pending, sent on unmask. */
	bar_wr(f, COMMON(MSIX), 2, VIRTIO_MSI_NO_VECTOR);
	f->dev.transport->notify_config(&f->dev);
	assert_int_equal(f->msgs, 3);
	bar_wr(f, entry(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 1);
	f->dev.transport->notify_queue(&f->dev, 0);
	assert_int_equal(f->msgs, 3);
	assert_true(pci_msix_pending(&f->vp.fn, 1));
	bar_wr(f, entry(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	assert_int_equal(f->msgs, 4);
	assert_int_equal(f->msg_data[3], 0x41);
	/* Bus Master Enable clear: the message is lost. */
	cfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	f->dev.transport->notify_queue(&f->dev, 1);
	assert_int_equal(f->msgs, 4);
	assert_int_equal(f->intx.rises, 0);
}

static void test_intx_isr(void **state)
{
	struct fixture *f = *state;
	driver_ok(f);
	f->dev.transport->notify_queue(&f->dev, 1);
	assert_true(f->intx.level);
	assert_true(cfg_read(f, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	f->dev.transport->notify_config(&f->dev);
	assert_int_equal(f->intx.rises, 1);
	assert_int_equal(f->msgs, 0);
	/* Read-to-clear (4.1.4.5). */
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 1), VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
	assert_false(f->intx.level);
	assert_false(cfg_read(f, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 1), 0);
	/* Writes do nothing. */
	f->dev.transport->notify_queue(&f->dev, 0);
	bar_wr(f, VIRTIO_PCI_ISR_OFFSET, 1, 0xff);
	assert_true(f->intx.level);
	/* Interrupt Disable holds the pin back; the ISR keeps the reason. */
	cfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	assert_false(f->intx.level);
	cfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_true(f->intx.level);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 4), VIRTIO_ISR_QUEUE);
	assert_false(f->intx.level);
	/* A broken device tells a running driver (2.1.2): config interrupt. */
	bar_wr(f, COMMON(Q_SELECT), 2, 0);
	virtio_mark_broken(&f->dev, "test");
	assert_true(f->intx.level);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 1), VIRTIO_ISR_CONFIG);
}

static void test_device_config(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(bar_rd(f, VIRTIO_PCI_DEVICE_OFFSET, 1), 0x10);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_DEVICE_OFFSET + 2, 2), 0x1312);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_DEVICE_OFFSET + 4, 4), 0x17161514);
	assert_true(bar_rd(f, VIRTIO_PCI_DEVICE_OFFSET + 4, 8) == 0x1b1a191817161514ULL);
	/* Past the end: 0, writes dropped, the device type never called. */
	assert_int_equal(bar_rd(f, VIRTIO_PCI_DEVICE_OFFSET + 8, 8), 0);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_DEVICE_OFFSET + CFG_SIZE, 1), 0);
	bar_wr(f, VIRTIO_PCI_DEVICE_OFFSET + 10, 4, 0);
	assert_int_equal(f->dummy.config_writes, 0);
	bar_wr(f, VIRTIO_PCI_DEVICE_OFFSET + 8, 2, 0xbeef);
	assert_int_equal(f->dummy.config_writes, 1);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_DEVICE_OFFSET + 8, 2), 0xbeef);
	/* Generation: read-only, moves when the device type says so. */
	uint8_t gen = (uint8_t)bar_rd(f, COMMON(CFGGEN), 1);
	bar_wr(f, COMMON(CFGGEN), 1, gen + 5);
	assert_int_equal(bar_rd(f, COMMON(CFGGEN), 1), gen);
	f->dummy.config[0] = 0x99;
	virtio_config_changed(&f->dev);
	assert_int_equal(bar_rd(f, COMMON(CFGGEN), 1), (uint8_t)(gen + 1));
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 1), VIRTIO_ISR_CONFIG);
}

static void test_odd_accesses(void **state)
{
	struct fixture *f = *state;
	/* Not a field's natural width or offset: 0, writes dropped. */
	assert_int_equal(bar_rd(f, COMMON(NUMQ), 1), 0);
	assert_int_equal(bar_rd(f, COMMON(NUMQ), 4), 0);
	assert_int_equal(bar_rd(f, COMMON(DF) + 1, 2), 0);
	assert_int_equal(bar_rd(f, COMMON(Q_DESC) + 2, 4), 0);
	assert_int_equal(bar_rd(f, COMMON(STATUS), 2), 0);
	bar_wr(f, COMMON(STATUS), 4, VIRTIO_STATUS_ACKNOWLEDGE);
	bar_wr(f, COMMON(Q_SELECT), 1, 1);
	assert_int_equal(bar_rd(f, COMMON(STATUS), 1), 0);
	assert_int_equal(bar_rd(f, COMMON(Q_SELECT), 2), 0);
	/* Past the common structure, in the gaps, and the unused end. */
	assert_int_equal(bar_rd(f, VIRTIO_PCI_COMMON_SIZE, 4), 0);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET + 4, 4), 0);
	assert_int_equal(bar_rd(f, VIRTIO_PCI_BAR_SIZE - 8, 8), 0);
	bar_wr(f, VIRTIO_PCI_BAR_SIZE - 8, 8, ~0ull);
	/* The BAR does not decode while Memory Space is off. */
	cfg_write(f, PCI_COMMAND, 2, 0);
	bool claimed;
	pci_space_read(&f->seg, false, BAR_ADDR, 4, &claimed);
	assert_false(claimed);
	/* Only BAR 4 is ours. */
	assert_int_equal(virtio_pci_bar_read(&f->vp, 0, 0, 4), 0);
	virtio_pci_bar_write(&f->vp, 0, COMMON(STATUS), 1, 1);
	assert_int_equal(f->dev.status, 0);
}

/* Random traffic over the whole BAR and configuration space: nothing may
 * crash or trip the sanitizers, and the invariants hold throughout. */
static void test_random_accesses(void **state)
{
	struct fixture *f = *state;
	uint32_t rng = 0x5eed1234;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	driver_ok(f);
	for (unsigned i = 0; i < 200000; i++) {
		uint32_t r = rig_xorshift32(&rng);
		unsigned size = sizes[r & 3];
		uint64_t value = (uint64_t)rig_xorshift32(&rng) << 32 | rig_xorshift32(&rng);
		uint64_t offset;
		switch ((r >> 2) & 7) {
		case 0:
		case 1:
			offset = (r >> 8) % (VIRTIO_PCI_COMMON_SIZE + 8);
			break;
		case 2:
			offset = VIRTIO_PCI_NOTIFY_OFFSET + (r >> 8) % 16;
			break;
		case 3:
			offset = VIRTIO_PCI_DEVICE_OFFSET + (r >> 8) % (CFG_SIZE + 8);
			break;
		case 4:
			offset = VIRTIO_PCI_ISR_OFFSET + (r >> 8) % 8;
			break;
		case 5:
			offset = VIRTIO_PCI_MSIX_TABLE_OFFSET + (r >> 8) % 0x1100;
			break;
		case 6:
			/* Configuration space, but keep the BAR and Command in place. */
			offset = (r >> 8) % 256;
			if (offset >= 0x04 && offset < 0x28)
				offset = 0x40 + offset;
			pci_ecam_write(&f->seg, (uint64_t)DEV << PCI_ECAM_DEVICE_SHIFT | (offset & ~3ull),
				       4, (uint32_t)value);
			continue;
		default:
			offset = (r >> 8) % VIRTIO_PCI_BAR_SIZE;
			break;
		}
		offset &= ~(uint64_t)(size - 1);
		if (r & 0x80000000u) {
			bar_rd(f, offset, size);
		} else if (!(offset == COMMON(STATUS) && (r & 0x40000000u))) {
			bar_wr(f, offset, size, value);
		}
		if (i % 64 == 0) {
			f->dev.transport->notify_queue(&f->dev, r % 2);
			if (i % 1024 == 0)
				virtio_config_changed(&f->dev);
		}
		/* Invariants. */
		for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
			const struct virtqueue *vq = &f->dev.queues[q];
			assert_true(vq->size <= vq->max_size);
			assert_true(vq->size == 0 || (vq->size & (vq->size - 1)) == 0);
			assert_true(!vq->ready || q < f->dev.num_queues);
			assert_true(vq->msix_vector == VIRTIO_MSI_NO_VECTOR || vq->msix_vector < 3);
		}
		assert_true(f->vp.config_msix_vector == VIRTIO_MSI_NO_VECTOR || f->vp.config_msix_vector < 3);
		assert_true(f->intx.level == f->vp.fn.intx_asserted);
		if ((f->dev.status & VIRTIO_STATUS_FEATURES_OK) != 0)
			assert_true((f->dev.guest_features & ~f->dev.host_features) == 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capability_chain, setup, teardown),
		cmocka_unit_test(test_no_device_config),
		cmocka_unit_test_setup_teardown(test_feature_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_ok_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_isr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_accesses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
