/* The split virtqueue, device side (VIRTIO 1.2, 2.7). The driver lays out
 * three areas in guest RAM: the descriptor table (2.7.5), the available
 * ring (2.7.6) and the used ring (2.7.8). This module validates what the
 * driver configured, pops descriptor chains into a local, checked array of
 * segments, pushes used elements and decides when to interrupt the driver
 * (2.7.7, 2.7.10). Everything is read through vm/guest_mem.h; every
 * descriptor is read exactly once into a local copy, so a driver changing
 * the table while the device works cannot make a checked value change.
 *
 * Byte order: virtio 1.x rings are little-endian (2.4); so is x86, and the
 * fields are accessed as native integers.
 *
 * A driver that breaks the ring protocol itself (an avail index jumping by
 * more than the queue size, a head index past the table) leaves the device
 * unable to tell which buffers are real: the device sets
 * VIRTIO_STATUS_DEVICE_NEEDS_RESET, records why in broken_reason and sends
 * a configuration change notification (2.1.2). A malformed chain with a
 * valid head is handed back as VIRTQ_POP_BAD_CHAIN so the device type can
 * complete it (used length 0) and carry on. */
#ifndef DEVICES_VIRTQUEUE_H
#define DEVICES_VIRTQUEUE_H

#include "lib/types.h"
#include "devices/virtio.h"

/* struct virtq_desc flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT 1u     /* the buffer continues via the next field */
#define VIRTQ_DESC_F_WRITE 2u    /* device-writable (otherwise device-readable) */
#define VIRTQ_DESC_F_INDIRECT 4u /* the buffer is a table of descriptors (2.7.5.3) */
/* struct virtq_avail flags (2.7.6). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
/* struct virtq_used flags (2.7.8). */
#define VIRTQ_USED_F_NO_NOTIFY 1u

/* Ring layout (2.7.5, 2.7.6, 2.7.8) and alignment (2.7, table "Virtqueue
 * Part Alignment"). The sizes include the event-index fields, which the
 * driver must provide space for whatever it negotiates. */
#define VIRTQ_DESC_SIZE 16u
#define VIRTQ_DESC_ALIGN 16u
#define VIRTQ_AVAIL_ALIGN 2u
#define VIRTQ_USED_ALIGN 4u
#define VIRTQ_USED_ELEM_SIZE 8u
static inline uint64_t virtq_desc_bytes(uint16_t size)
{
	return (uint64_t)VIRTQ_DESC_SIZE * size;
}
static inline uint64_t virtq_avail_bytes(uint16_t size)
{
	return 6 + 2 * (uint64_t)size; /* flags, idx, ring[size], used_event */
}
static inline uint64_t virtq_used_bytes(uint16_t size)
{
	return 6 + (uint64_t)VIRTQ_USED_ELEM_SIZE * size; /* flags, idx, ring[size], avail_event */
}

/* One descriptor, as it lies in guest RAM (2.7.5). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == VIRTQ_DESC_SIZE, "struct virtq_desc is 16 bytes");

/* The most segments one chain may carry. A direct chain is also limited to
 * the queue size (2.7.5.2: longer is a loop); an indirect table may hold up
 * to this many descriptors. */
#define VIRTQ_MAX_CHAIN VIRTIO_MAX_QUEUE_SIZE

/* One buffer of a chain, checked: [gpa, gpa+len) lies in guest RAM. */
struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

/* A popped chain. Readable segments come first, then writable ones
 * (2.7.4.2); n_read counts the readable ones. */
struct virtq_chain {
	uint16_t head;  /* the id to return in the used element */
	unsigned n;
	unsigned n_read;
	uint64_t read_bytes, write_bytes;
	struct virtq_seg seg[VIRTQ_MAX_CHAIN];
	const char *error; /* VIRTQ_POP_BAD_CHAIN: which rule was broken */
};

enum virtq_pop_result {
	VIRTQ_POP_EMPTY,     /* nothing (more) available */
	VIRTQ_POP_OK,        /* chain filled in */
	VIRTQ_POP_BAD_CHAIN, /* head valid, chain malformed: complete head with length 0 */
	VIRTQ_POP_BROKEN,    /* device needs reset: stop */
};

/* Check the configuration of queue vq when the driver enables it (2.7,
 * 4.1.4.3.2 queue_enable): size a power of 2, non-zero, at most max_size
 * and VIRTIO_MAX_QUEUE_SIZE; desc/avail/used aligned 16/2/4; each area
 * entirely in guest RAM. NULL if fine, else the rule broken. */
const char *virtq_check_config(const struct guest_mem *m, const struct virtqueue *vq);

/* Forget device-side ring state (device reset, 2.4). */
void virtq_reset_state(struct virtqueue *vq);

/* Mark the device broken (DEVICE_NEEDS_RESET, 2.1.2) with a reason, report
 * it (virtio_report) and send the configuration change notification. */
void virtio_mark_broken(struct virtio_device *d, const char *reason);

/* Tell the device's owner (d->report) that the driver broke a rule: what
 * the device did and why. Only the first time for each why (the reasons are
 * the static strings of this module and the device types, compared by
 * address); once VIRTIO_MAX_REPORTED reasons have been reported, nothing
 * more is. A guest decides how often its driver errs, so without this it
 * would decide how much the hypervisor prints: on a console shared by every
 * VM, one VM could drown the others' output. */
void virtio_report(struct virtio_device *d, const char *what, const char *why);

static inline bool virtio_is_broken(const struct virtio_device *d)
{
	return (d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) != 0;
}

/* Start one drain of queue q: with VIRTIO_F_EVENT_IDX, first publish
 * avail_event = last_avail (2.7.10: "notify me once you add past what I
 * have seen"), then read the avail index once into *avail_idx. The ordering
 * (store, full fence, load) means a buffer added after the read is either
 * seen by the next drain or kicked by the driver. False (device marked
 * broken) if the index moved by more than the queue size (2.7.6: the driver
 * can have at most size buffers outstanding) or the ring is not in RAM. */
bool virtq_drain_begin(struct virtio_device *d, unsigned q, uint16_t *avail_idx);

/* Pop the next chain below avail_idx (from virtq_drain_begin). */
enum virtq_pop_result virtq_pop(struct virtio_device *d, unsigned q, uint16_t avail_idx,
				struct virtq_chain *c);

/* Return buffer id with len bytes written by the device (2.7.8): write the
 * used element, then publish used->idx. False if the used ring is not in
 * RAM (device marked broken). */
bool virtq_push(struct virtio_device *d, unsigned q, uint16_t id, uint32_t len);

/* 2.7.10's rule: with event index event_idx, does moving the used index
 * from old_idx to new_idx cross it? */
static inline bool vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

/* After pushing used elements: must the driver be interrupted (2.7.7.2)?
 * Without VIRTIO_F_EVENT_IDX, unless avail->flags has
 * VIRTQ_AVAIL_F_NO_INTERRUPT; with it, if used_event was crossed since the
 * last notification. Records the used index as signalled. */
bool virtq_should_notify(struct virtio_device *d, unsigned q);

/* virtq_should_notify and, if so, the transport's notify_queue. */
void virtq_notify(struct virtio_device *d, unsigned q);

/* One line about queue q for a stall report: the driver's avail index (read
 * from the ring now), how far the device got, the used index. */
void virtq_describe(const struct virtio_device *d, unsigned q, char *buf, size_t len);

#endif
