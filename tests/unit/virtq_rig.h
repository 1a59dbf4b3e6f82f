/* The driver's side of a split virtqueue (VIRTIO 1.2, 2.7), for
 * test_virtqueue.c and test_virtio_blk.c: a calloc'd guest RAM, a device
 * whose queue 0 lies in it, helpers that write descriptors, publish
 * available buffers and read the used ring back, and a transport that
 * counts notifications. Header-only (static inline): each test is one
 * translation unit. Rings are little-endian, like the host. */
#ifndef TESTS_UNIT_VIRTQ_RIG_H
#define TESTS_UNIT_VIRTQ_RIG_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio.h"
#include "devices/virtqueue.h"

#define RIG_RAM_SIZE (1u << 20) /* 1 MiB of guest RAM */
#define RIG_DESC_GPA 0x1000u
#define RIG_AVAIL_GPA 0x3000u
#define RIG_USED_GPA 0x4000u
#define RIG_TABLE_GPA 0x8000u  /* room for indirect tables */
#define RIG_DATA_GPA 0x10000u  /* buffers from here up */
/* Addresses no RAM backs: hypervisor-like (the kernel's -mcmodel=kernel
 * range), the local APIC in the MMIO hole, and the last page of the space. */
#define RIG_HV_GPA 0xffffffff80100000ull
#define RIG_MMIO_GPA 0xfee00000ull
#define RIG_TOP_GPA 0xfffffffffffff000ull

struct rig {
	uint8_t *ram;
	struct guest_mem mem;
	struct virtio_device dev;
	struct virtio_transport_ops tops;
	uint16_t avail_idx; /* the driver's copy */
	unsigned queue_irqs, config_irqs;
	/* What the device reported (virtio_report): how often, the last one. */
	unsigned reports;
	const char *last_what, *last_why;
};

static inline struct rig *rig_of(struct virtio_device *d)
{
	return (struct rig *)((char *)d - offsetof(struct rig, dev));
}
static inline void rig_notify_queue(struct virtio_device *d, unsigned q)
{
	(void)q;
	rig_of(d)->queue_irqs++;
}
static inline void rig_notify_config(struct virtio_device *d)
{
	rig_of(d)->config_irqs++;
}
static inline void rig_report(void *ctx, const char *what, const char *why)
{
	struct rig *r = ctx;
	r->reports++;
	r->last_what = what;
	r->last_why = why;
}

/* Queue 0 of size qsize at the RIG_* addresses, features accepted, DRIVER_OK. */
static inline struct rig *rig_new(uint16_t qsize, uint64_t features)
{
	struct rig *r = calloc(1, sizeof(*r));
	r->ram = calloc(1, RIG_RAM_SIZE);
	r->mem.hva = r->ram;
	r->mem.size = RIG_RAM_SIZE;
	r->tops.notify_queue = rig_notify_queue;
	r->tops.notify_config = rig_notify_config;
	r->dev.mem = &r->mem;
	r->dev.transport = &r->tops;
	r->dev.report = rig_report;
	r->dev.report_ctx = r;
	r->dev.num_queues = 1;
	r->dev.guest_features = features;
	r->dev.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			VIRTIO_STATUS_DRIVER_OK;
	struct virtqueue *vq = &r->dev.queues[0];
	vq->max_size = VIRTIO_MAX_QUEUE_SIZE;
	vq->size = qsize;
	vq->desc_gpa = RIG_DESC_GPA;
	vq->avail_gpa = RIG_AVAIL_GPA;
	vq->used_gpa = RIG_USED_GPA;
	vq->ready = true;
	return r;
}

static inline void rig_free(struct rig *r)
{
	free(r->ram);
	free(r);
}

static inline uint16_t rig_qsize(const struct rig *r)
{
	return r->dev.queues[0].size;
}

static inline void rig_put16(struct rig *r, uint64_t gpa, uint16_t v)
{
	memcpy(r->ram + gpa, &v, 2);
}
static inline uint16_t rig_get16(const struct rig *r, uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, r->ram + gpa, 2);
	return v;
}
static inline uint32_t rig_get32(const struct rig *r, uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, r->ram + gpa, 4);
	return v;
}

/* Descriptor i of the table at table_gpa. */
static inline void rig_desc_at(struct rig *r, uint64_t table_gpa, unsigned i, uint64_t addr,
			       uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };
	memcpy(r->ram + table_gpa + 16ull * i, &d, sizeof(d));
}
static inline void rig_desc(struct rig *r, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			    uint16_t next)
{
	rig_desc_at(r, RIG_DESC_GPA, i, addr, len, flags, next);
}

/* A buffer of a chain the rig builds. */
struct rig_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Descriptors first..first+n-1 of the table at table_gpa, linked in order. */
static inline void rig_chain_at(struct rig *r, uint64_t table_gpa, unsigned first,
				const struct rig_buf *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t flags = (uint16_t)((b[i].write ? VIRTQ_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		rig_desc_at(r, table_gpa, first + i, b[i].gpa, b[i].len, flags, (uint16_t)(first + i + 1));
	}
}
static inline void rig_chain(struct rig *r, unsigned first, const struct rig_buf *b, unsigned n)
{
	rig_chain_at(r, RIG_DESC_GPA, first, b, n);
}

/* Publish head in the available ring (2.7.13): entry, then idx. */
static inline void rig_avail_add(struct rig *r, uint16_t head)
{
	rig_put16(r, RIG_AVAIL_GPA + 4 + 2u * (r->avail_idx % rig_qsize(r)), head);
	r->avail_idx++;
	rig_put16(r, RIG_AVAIL_GPA + 2, r->avail_idx);
}
/* Start both indices at idx, as after idx requests (for wraparound). */
static inline void rig_start_at(struct rig *r, uint16_t idx)
{
	r->avail_idx = idx;
	rig_put16(r, RIG_AVAIL_GPA + 2, idx);
	r->dev.queues[0].last_avail = idx;
	r->dev.queues[0].used_idx = idx;
	r->dev.queues[0].signalled_used = idx;
	rig_put16(r, RIG_USED_GPA + 2, idx);
}
static inline void rig_set_avail_flags(struct rig *r, uint16_t flags)
{
	rig_put16(r, RIG_AVAIL_GPA, flags);
}
static inline void rig_set_used_event(struct rig *r, uint16_t v)
{
	rig_put16(r, RIG_AVAIL_GPA + 4 + 2u * rig_qsize(r), v);
}
static inline uint16_t rig_avail_event(const struct rig *r)
{
	return rig_get16(r, RIG_USED_GPA + 4 + 8u * rig_qsize(r));
}
static inline uint16_t rig_used_idx(const struct rig *r)
{
	return rig_get16(r, RIG_USED_GPA + 2);
}
/* Used element for used index i (taken modulo the size). */
static inline uint32_t rig_used_id(const struct rig *r, uint16_t i)
{
	return rig_get32(r, RIG_USED_GPA + 4 + 8u * (i % rig_qsize(r)));
}
static inline uint32_t rig_used_len(const struct rig *r, uint16_t i)
{
	return rig_get32(r, RIG_USED_GPA + 8 + 8u * (i % rig_qsize(r)));
}

#endif
