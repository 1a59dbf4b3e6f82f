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
};

#endif
