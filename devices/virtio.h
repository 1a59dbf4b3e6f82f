/* The transport-independent core of a virtio device (VIRTIO 1.2, chapters
 * 2 and 3): status, feature negotiation, virtqueues, configuration space.
 * A transport (virtio-pci, 4.1; virtio-mmio, 4.2) owns a struct
 * virtio_device and maps its registers onto it; a device type (virtio-blk,
 * 5.2) fills in the ops. Pure logic: everything the guest supplies reaches
 * the device through vm/guest_mem.h's checked helpers. */
#ifndef DEVICES_VIRTIO_H
#define DEVICES_VIRTIO_H

#include "lib/types.h"
#include "vm/guest_mem.h"

/* Device status bits (VIRTIO 1.2, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* Reserved feature bits (VIRTIO 1.2, 6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_MAX_QUEUES 4
#define VIRTIO_MAX_QUEUE_SIZE 256
/* Distinct reasons a device remembers having reported (virtio_report):
 * more than the 26 rules devices/virtqueue.c and devices/virtio_blk.c name. */
#define VIRTIO_MAX_REPORTED 32

/* What a virtqueue is, as the driver set it up (VIRTIO 1.2, 2.7): the
 * transport writes these fields; devices/virtqueue.c uses them. */
struct virtqueue {
	uint16_t size;          /* entries; a power of 2, at most VIRTIO_MAX_QUEUE_SIZE */
	uint16_t max_size;      /* what the device offers */
	bool ready;             /* the driver enabled it */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t msix_vector;   /* virtio-pci: VIRTIO_MSI_NO_VECTOR when none */
	/* Device-side ring state. */
	uint16_t last_avail;    /* next avail entry to consume */
	uint16_t used_idx;      /* next used entry to write */
	uint16_t signalled_used; /* used_idx when we last notified (EVENT_IDX) */
	bool signalled_valid;
};

#define VIRTIO_MSI_NO_VECTOR 0xffff

struct virtio_device;

/* The device type's part. */
struct virtio_device_ops {
	/* Device-specific configuration space (VIRTIO 1.2, 2.5): offset and
	 * size within it; writes may be ignored where read-only. */
	uint64_t (*config_read)(struct virtio_device *d, uint64_t offset, unsigned size);
	void (*config_write)(struct virtio_device *d, uint64_t offset, unsigned size, uint64_t value);
	/* The driver notified queue q: drain every available buffer. */
	void (*queue_notify)(struct virtio_device *d, unsigned q);
	/* The driver reset the device (status written 0): forget in-flight state. */
	void (*reset)(struct virtio_device *d);
};

/* The transport's part: how the device interrupts the driver. */
struct virtio_transport_ops {
	/* Used buffers were added to queue q (VIRTIO 1.2, 2.7.7): interrupt
	 * the driver (MSI-X vector or INTx with ISR bit 0). */
	void (*notify_queue)(struct virtio_device *d, unsigned q);
	/* The configuration changed or the device needs a reset (ISR bit 1). */
	void (*notify_config)(struct virtio_device *d);
};

struct virtio_device {
	uint16_t device_id;             /* 2 = block (VIRTIO 1.2, 5) */
	uint64_t host_features;         /* offered */
	uint64_t guest_features;        /* accepted by the driver */
	uint8_t status;
	uint8_t config_generation;
	unsigned num_queues;
	struct virtqueue queues[VIRTIO_MAX_QUEUES];
	const struct guest_mem *mem;    /* the VM's RAM: every guest address goes through it */
	const struct virtio_device_ops *ops;
	const struct virtio_transport_ops *transport;
	void *transport_ctx;
	void *device_ctx;
	/* Why the device stopped trusting the driver (DEVICE_NEEDS_RESET), for logs. */
	const char *broken_reason;
	/* Whoever owns the device hears here that the driver broke a rule:
	 * what the device did about it and why (vm/platform.c prints it,
	 * naming the VM). NULL: nobody listens. Called only through
	 * virtio_report (devices/virtqueue.h), once per distinct reason. */
	void (*report)(void *ctx, const char *what, const char *why);
	void *report_ctx;
	/* The reasons reported so far. Kept across device resets (2.4), so a
	 * driver cannot flood the console by resetting the device and making
	 * the same mistake again. */
	const char *reported[VIRTIO_MAX_REPORTED];
	unsigned n_reported;
};

/* --- Rules every transport shares (added with virtio_pci.c and virtio_mmio.c)
 * The registers differ between virtio-pci (4.1) and virtio-mmio (4.2); what a
 * write to them means does not. Kept here, inline, so both transports apply
 * the same rules of chapters 2 and 3. */

/* Interrupt reasons: bit 0 of the ISR (4.1.4.5) and of InterruptStatus
 * (4.2.2) is a used buffer notification, bit 1 a configuration change. */
#define VIRTIO_ISR_QUEUE 1u
#define VIRTIO_ISR_CONFIG 2u

/* Queue q exists: below num_queues and offered with a non-zero size. */
static inline struct virtqueue *virtio_queue(struct virtio_device *d, unsigned q)
{
	if (q >= d->num_queues || q >= VIRTIO_MAX_QUEUES || d->queues[q].max_size == 0)
		return NULL;
	return &d->queues[q];
}

/* A queue as it is after reset (2.4): disabled, no addresses, at its
 * maximum size, no MSI-X vector, ring state at 0. */
static inline void virtio_queue_clear(struct virtqueue *vq)
{
	uint16_t max = vq->max_size;
	*vq = (struct virtqueue){ 0 };
	vq->max_size = max;
	vq->size = max;
	vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
}

/* Device reset (2.4): the device type forgets its in-flight work, then
 * status, features and every queue return to their initial values. The
 * configuration generation is kept: it only ever moves forward. */
static inline void virtio_reset(struct virtio_device *d)
{
	if (d->ops && d->ops->reset)
		d->ops->reset(d);
	d->status = 0;
	d->guest_features = 0;
	d->broken_reason = NULL;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		virtio_queue_clear(&d->queues[q]);
}

/* 32 bits of the offered features: word 0 is bits 0-31, word 1 bits 32-63,
 * higher words read 0 (no feature bits beyond 63 are defined). */
static inline uint32_t virtio_feature_word(uint64_t features, uint32_t word)
{
	return word < 2 ? (uint32_t)(features >> (32 * word)) : 0;
}

/* The driver's accepted features, one word at a time. Taken as written (so
 * that FEATURES_OK can refuse a bad set, 2.2.1) but only until FEATURES_OK
 * is set: after that the set is fixed (3.1.1 step 5). Words above 1 are
 * ignored. */
static inline void virtio_write_driver_features(struct virtio_device *d, uint32_t word, uint32_t value)
{
	if (word >= 2 || (d->status & VIRTIO_STATUS_FEATURES_OK))
		return;
	uint64_t mask = 0xffffffffull << (32 * word);
	d->guest_features = (d->guest_features & ~mask) | ((uint64_t)value << (32 * word));
}

/* 2.2.1: the device accepts only features it offered; 6.1: a modern
 * transport requires VIRTIO_F_VERSION_1 (without it the driver is a legacy
 * one, which these transports do not serve). */
static inline bool virtio_features_acceptable(const struct virtio_device *d)
{
	return !(d->guest_features & ~d->host_features) && (d->guest_features & BIT(VIRTIO_F_VERSION_1));
}

/* The device configuration changed: a new generation (2.5.1: the driver
 * rereads until two generation reads agree) and a notification. */
static inline void virtio_config_changed(struct virtio_device *d)
{
	d->config_generation++;
	if (d->transport && d->transport->notify_config)
		d->transport->notify_config(d);
}

/* The driver wrote the status field (2.1, 3.1.1). 0 resets the device.
 * Otherwise bits only accumulate (2.1.1: the driver MUST NOT clear a bit,
 * so a cleared bit in the value is ignored) and DEVICE_NEEDS_RESET is the
 * device's to set. FEATURES_OK stays clear if the accepted features are not
 * acceptable (2.2.1: the driver reads it back to find out); DRIVER_OK stays
 * clear until FEATURES_OK is set (3.1.1 orders them: without agreed
 * features the device has nothing to operate with). */
static inline void virtio_write_status(struct virtio_device *d, uint8_t value)
{
	if (value == 0) {
		virtio_reset(d);
		return;
	}
	uint8_t old = d->status;
	uint8_t s = old | (value & (uint8_t)~VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	if ((s & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !virtio_features_acceptable(d))
		s &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	if (!(s & VIRTIO_STATUS_FEATURES_OK))
		s &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	d->status = s;
}

/* The driver chose a queue size (4.1.4.3 queue_size, 4.2.2 QueueNum): a
 * power of 2 (2.7: split virtqueues) from 1 to max_size, written while the
 * queue is disabled; anything else leaves the size as it was. */
static inline void virtio_set_queue_size(struct virtio_device *d, unsigned q, uint32_t size)
{
	struct virtqueue *vq = virtio_queue(d, q);
	if (!vq || vq->ready || size == 0 || size > vq->max_size || (size & (size - 1)))
		return;
	vq->size = (uint16_t)size;
}

/* The driver notified queue q (2.9): passed to the device type only when it
 * may act on it (2.1.2: not before DRIVER_OK, not once it needs a reset, not
 * for a disabled queue). */
static inline void virtio_driver_notified(struct virtio_device *d, unsigned q)
{
	struct virtqueue *vq = virtio_queue(d, q);
	if (!vq || !vq->ready || !(d->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return;
	if (d->ops && d->ops->queue_notify)
		d->ops->queue_notify(d, q);
}

/* A transport takes a device the device type has filled in: VERSION_1 is
 * offered on every modern transport (VIRTIO 1.2, 6.1), and the device
 * starts reset with its unused queues absent. */
static inline void virtio_bind_transport(struct virtio_device *d,
					 const struct virtio_transport_ops *ops, void *ctx)
{
	d->host_features |= BIT(VIRTIO_F_VERSION_1);
	d->transport = ops;
	d->transport_ctx = ctx;
	d->status = 0;
	d->guest_features = 0;
	d->broken_reason = NULL;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (q >= d->num_queues)
			d->queues[q].max_size = 0;
		virtio_queue_clear(&d->queues[q]);
	}
}

#endif
