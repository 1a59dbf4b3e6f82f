#include "devices/virtqueue.h"
#include "lib/string.h"
#include "lib/printf.h"

/* Offsets inside the rings (2.7.6, 2.7.8). */
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_FLAGS 0
#define USED_IDX 2
#define USED_RING 4

/* Guest memory is ordinary memory shared with other CPUs. x86 keeps stores
 * in order and loads in order (SDM Vol. 3A 9.2.2), so a compiler barrier
 * orders store-store and load-load; a store followed by a load of another
 * location needs a full fence. */
static inline void compiler_barrier(void)
{
	__asm__ __volatile__("" ::: "memory");
}
static inline void full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static bool feature(const struct virtio_device *d, unsigned bit)
{
	return (d->guest_features & BIT(bit)) != 0;
}

static bool is_pow2(uint16_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

const char *virtq_check_config(const struct guest_mem *m, const struct virtqueue *vq)
{
	if (!is_pow2(vq->size))
		return "queue size not a power of 2 (2.7)";
	if (vq->size > vq->max_size || vq->size > VIRTIO_MAX_QUEUE_SIZE)
		return "queue size above the maximum offered (4.1.4.3)";
	if (!IS_ALIGNED(vq->desc_gpa, VIRTQ_DESC_ALIGN))
		return "descriptor table not 16-byte aligned (2.7)";
	if (!IS_ALIGNED(vq->avail_gpa, VIRTQ_AVAIL_ALIGN))
		return "available ring not 2-byte aligned (2.7)";
	if (!IS_ALIGNED(vq->used_gpa, VIRTQ_USED_ALIGN))
		return "used ring not 4-byte aligned (2.7)";
	if (!gpa_to_hva(m, vq->desc_gpa, virtq_desc_bytes(vq->size)))
		return "descriptor table outside guest RAM";
	if (!gpa_to_hva(m, vq->avail_gpa, virtq_avail_bytes(vq->size)))
		return "available ring outside guest RAM";
	if (!gpa_to_hva(m, vq->used_gpa, virtq_used_bytes(vq->size)))
		return "used ring outside guest RAM";
	return NULL;
}

void virtq_reset_state(struct virtqueue *vq)
{
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
}

void virtio_report(struct virtio_device *d, const char *what, const char *why)
{
	if (!d->report || !why)
		return;
	for (unsigned i = 0; i < d->n_reported; i++)
		if (d->reported[i] == why)
			return;
	/* A full list cannot tell "first" from "again": stay quiet, as the
	 * MMIO bus does for unclaimed addresses (devices/bus.c). */
	if (d->n_reported == VIRTIO_MAX_REPORTED)
		return;
	d->reported[d->n_reported++] = why;
	d->report(d->report_ctx, what, why);
}

void virtio_mark_broken(struct virtio_device *d, const char *reason)
{
	if (virtio_is_broken(d))
		return;
	d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	d->broken_reason = reason;
	virtio_report(d, "the device needs a reset (DEVICE_NEEDS_RESET, 2.1.2)", reason);
	/* 2.1.2: the device SHOULD send a configuration change notification
	 * when it sets DEVICE_NEEDS_RESET after DRIVER_OK. */
	if ((d->status & VIRTIO_STATUS_DRIVER_OK) && d->transport && d->transport->notify_config)
		d->transport->notify_config(d);
}

/* A queue the transport enabled without virtq_check_config must still not
 * divide by zero. */
static bool size_usable(struct virtio_device *d, const struct virtqueue *vq)
{
	if (vq->size == 0 || vq->size > VIRTIO_MAX_QUEUE_SIZE) {
		virtio_mark_broken(d, "queue size invalid");
		return false;
	}
	return true;
}

/* Ring fields are reached through the whole area's host mapping, so that
 * base + offset can never wrap around 2^64 onto RAM, even on a queue whose
 * configuration was never checked. */
static uint8_t *ring_area(const struct virtio_device *d, uint64_t base, uint64_t bytes)
{
	return gpa_to_hva(d->mem, base, bytes);
}

static bool ring_read(const struct virtio_device *d, uint64_t base, uint64_t bytes, uint64_t off,
		      void *dst, uint64_t len)
{
	uint8_t *p = ring_area(d, base, bytes);

	if (!p || off > bytes || len > bytes - off)
		return false;
	memcpy(dst, p + off, (size_t)len);
	return true;
}

static bool ring_write(const struct virtio_device *d, uint64_t base, uint64_t bytes, uint64_t off,
		       const void *src, uint64_t len)
{
	uint8_t *p = ring_area(d, base, bytes);

	if (!p || off > bytes || len > bytes - off)
		return false;
	memcpy(p + off, src, (size_t)len);
	return true;
}

static bool avail_read16(const struct virtio_device *d, const struct virtqueue *vq, uint64_t off,
			 uint16_t *v)
{
	return ring_read(d, vq->avail_gpa, virtq_avail_bytes(vq->size), off, v, sizeof(*v));
}

static bool used_write(const struct virtio_device *d, const struct virtqueue *vq, uint64_t off,
		       const void *src, uint64_t len)
{
	return ring_write(d, vq->used_gpa, virtq_used_bytes(vq->size), off, src, len);
}

bool virtq_drain_begin(struct virtio_device *d, unsigned q, uint16_t *avail_idx)
{
	struct virtqueue *vq = &d->queues[q];

	if (virtio_is_broken(d) || !size_usable(d, vq))
		return false;
	if (feature(d, VIRTIO_F_EVENT_IDX)) {
		/* avail_event follows used->ring[size] (2.7.8). */
		if (!used_write(d, vq, USED_RING + (uint64_t)VIRTQ_USED_ELEM_SIZE * vq->size,
				&vq->last_avail, sizeof(vq->last_avail))) {
			virtio_mark_broken(d, "used ring outside guest RAM");
			return false;
		}
		full_fence();
	}
	if (!avail_read16(d, vq, AVAIL_IDX, avail_idx)) {
		virtio_mark_broken(d, "available ring outside guest RAM");
		return false;
	}
	/* The ring entries are read after the index (load-load: in order). */
	compiler_barrier();
	if ((uint16_t)(*avail_idx - vq->last_avail) > vq->size) {
		virtio_mark_broken(d, "avail idx moved by more than the queue size (2.7.6)");
		return false;
	}
	return true;
}

/* Read descriptor i of a table of entries descriptors once into *out. */
static bool read_desc(const struct virtio_device *d, uint64_t table_gpa, unsigned entries, unsigned i,
		      struct virtq_desc *out)
{
	return ring_read(d, table_gpa, (uint64_t)VIRTQ_DESC_SIZE * entries, (uint64_t)VIRTQ_DESC_SIZE * i,
			 out, sizeof(*out));
}

/* Append one buffer to the chain, checking it. NULL or the rule broken. */
static const char *add_seg(const struct virtio_device *d, struct virtq_chain *c,
			   const struct virtq_desc *desc)
{
	bool write = (desc->flags & VIRTQ_DESC_F_WRITE) != 0;

	if (c->n >= VIRTQ_MAX_CHAIN)
		return "chain longer than the device supports";
	if (!gpa_to_hva(d->mem, desc->addr, desc->len))
		return "buffer outside guest RAM";
	/* 2.7.4.2: the driver MUST place any device-writable descriptor
	 * elements after any device-readable ones. */
	if (!write && c->n > c->n_read)
		return "readable descriptor after a writable one (2.7.4.2)";
	c->seg[c->n].gpa = desc->addr;
	c->seg[c->n].len = desc->len;
	c->seg[c->n].write = write;
	c->n++;
	if (write) {
		c->write_bytes += desc->len;
	} else {
		c->n_read++;
		c->read_bytes += desc->len;
	}
	return NULL;
}

/* Walk the indirect table that desc names (2.7.5.3). */
static const char *walk_indirect(const struct virtio_device *d, struct virtq_chain *c,
				 const struct virtq_desc *ind)
{
	struct virtq_desc desc;
	unsigned entries, i = 0, steps = 0;
	const char *err;

	if (!feature(d, VIRTIO_F_INDIRECT_DESC))
		return "VIRTQ_DESC_F_INDIRECT without VIRTIO_F_INDIRECT_DESC (2.7.5.3.1)";
	/* 2.7.5.3.1: the driver MUST NOT set VIRTQ_DESC_F_INDIRECT and
	 * VIRTQ_DESC_F_NEXT together. */
	if (ind->flags & VIRTQ_DESC_F_NEXT)
		return "VIRTQ_DESC_F_INDIRECT together with VIRTQ_DESC_F_NEXT (2.7.5.3.1)";
	if (ind->len == 0 || ind->len % VIRTQ_DESC_SIZE)
		return "indirect table length not a non-zero multiple of 16 (2.7.5.3)";
	entries = ind->len / VIRTQ_DESC_SIZE;
	if (entries > VIRTQ_MAX_CHAIN)
		return "indirect table longer than the device supports";
	if (!gpa_to_hva(d->mem, ind->addr, ind->len))
		return "indirect table outside guest RAM";
	for (;;) {
		/* More steps than entries means a loop (2.7.5.3.1: next < entries). */
		if (steps++ >= entries)
			return "loop in an indirect table";
		if (!read_desc(d, ind->addr, entries, i, &desc))
			return "indirect table outside guest RAM";
		/* 2.7.5.3.1: the device MUST ignore the write-only flag of the
		 * descriptor that refers to the table; inside it, no nesting. */
		if (desc.flags & VIRTQ_DESC_F_INDIRECT)
			return "nested indirect table (2.7.5.3.1)";
		err = add_seg(d, c, &desc);
		if (err)
			return err;
		if (!(desc.flags & VIRTQ_DESC_F_NEXT))
			return NULL;
		if (desc.next >= entries)
			return "indirect next index past the table";
		i = desc.next;
	}
}

static const char *walk_chain(const struct virtio_device *d, const struct virtqueue *vq,
			      struct virtq_chain *c)
{
	struct virtq_desc desc;
	unsigned i = c->head, steps = 0;
	const char *err;

	for (;;) {
		/* 2.7.5.2: a chain is at most the queue size long; more is a loop. */
		if (steps++ >= vq->size)
			return "descriptor chain loops (longer than the queue size)";
		if (!read_desc(d, vq->desc_gpa, vq->size, i, &desc))
			return "descriptor table outside guest RAM";
		if (desc.flags & VIRTQ_DESC_F_INDIRECT) {
			/* An indirect descriptor carries the whole request: it
			 * must be the only one in the direct chain (as every
			 * driver does; the spec never defines mixing). */
			if (steps != 1)
				return "indirect descriptor not at the head of the chain";
			return walk_indirect(d, c, &desc);
		}
		err = add_seg(d, c, &desc);
		if (err)
			return err;
		if (!(desc.flags & VIRTQ_DESC_F_NEXT))
			return NULL;
		if (desc.next >= vq->size)
			return "next index past the descriptor table";
		i = desc.next;
	}
}

enum virtq_pop_result virtq_pop(struct virtio_device *d, unsigned q, uint16_t avail_idx,
				struct virtq_chain *c)
{
	struct virtqueue *vq = &d->queues[q];
	uint16_t head;

	if (virtio_is_broken(d) || !size_usable(d, vq))
		return VIRTQ_POP_BROKEN;
	if (vq->last_avail == avail_idx)
		return VIRTQ_POP_EMPTY;
	if (!avail_read16(d, vq, AVAIL_RING + 2 * (uint64_t)(vq->last_avail % vq->size), &head)) {
		virtio_mark_broken(d, "available ring outside guest RAM");
		return VIRTQ_POP_BROKEN;
	}
	if (head >= vq->size) {
		/* No valid id to complete: the ring itself is corrupt. */
		virtio_mark_broken(d, "available ring entry past the descriptor table (2.7.6)");
		return VIRTQ_POP_BROKEN;
	}
	vq->last_avail++;
	c->head = head;
	c->n = c->n_read = 0;
	c->read_bytes = c->write_bytes = 0;
	c->error = walk_chain(d, vq, c);
	if (c->error) {
		c->n = c->n_read = 0;
		c->read_bytes = c->write_bytes = 0;
		return VIRTQ_POP_BAD_CHAIN;
	}
	return VIRTQ_POP_OK;
}

bool virtq_push(struct virtio_device *d, unsigned q, uint16_t id, uint32_t len)
{
	struct virtqueue *vq = &d->queues[q];
	uint32_t elem[2] = { id, len }; /* struct virtq_used_elem: le32 id, le32 len */
	uint64_t slot;

	if (virtio_is_broken(d) || !size_usable(d, vq))
		return false;
	slot = USED_RING + (uint64_t)VIRTQ_USED_ELEM_SIZE * (vq->used_idx % vq->size);
	if (!used_write(d, vq, slot, elem, sizeof(elem))) {
		virtio_mark_broken(d, "used ring outside guest RAM");
		return false;
	}
	/* 2.7.8.2: the element before the index (store-store: in order). */
	compiler_barrier();
	vq->used_idx++;
	if (!used_write(d, vq, USED_IDX, &vq->used_idx, sizeof(vq->used_idx))) {
		virtio_mark_broken(d, "used ring outside guest RAM");
		return false;
	}
	return true;
}

bool virtq_should_notify(struct virtio_device *d, unsigned q)
{
	struct virtqueue *vq = &d->queues[q];
	uint16_t old = vq->signalled_used;
	bool valid = vq->signalled_valid;
	uint16_t v;

	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	/* The used index store before the flag/event load (store-load). */
	full_fence();
	if (!feature(d, VIRTIO_F_EVENT_IDX)) {
		if (!avail_read16(d, vq, AVAIL_FLAGS, &v))
			return true;
		return !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	/* used_event follows avail->ring[size] (2.7.6). */
	if (!avail_read16(d, vq, AVAIL_RING + 2 * (uint64_t)vq->size, &v))
		return true;
	return !valid || vring_need_event(v, vq->used_idx, old);
}

void virtq_notify(struct virtio_device *d, unsigned q)
{
	if (virtq_should_notify(d, q) && d->transport && d->transport->notify_queue)
		d->transport->notify_queue(d, q);
}

void virtq_describe(const struct virtio_device *d, unsigned q, char *buf, size_t len)
{
	const struct virtqueue *vq = &d->queues[q];
	uint16_t avail = 0;
	bool ok = vq->ready && vq->size && avail_read16(d, vq, AVAIL_IDX, &avail);
	if (!ok) {
		hv_snprintf(buf, len, "queue %u: %s", q, vq->ready ? "avail ring unreadable" : "not enabled");
		return;
	}
	hv_snprintf(buf, len,
		    "queue %u: size %u, the driver made %u available, the device took %u, used index %u, "
		    "last interrupt at used %u, MSI-X vector %u",
		    q, vq->size, avail, vq->last_avail, vq->used_idx, vq->signalled_used, vq->msix_vector);
}
