/* Virtio over MMIO, version 2 (VIRTIO 1.2 section 4.2; "version 1" is the
 * legacy layout, not served here). A device is a window of
 * VIRTIO_MMIO_SIZE bytes on the MMIO bus, found by the guest through the
 * platform (device tree, ACPI or a kernel command line; 4.2.1), with one
 * interrupt line.
 *
 * Registers (4.2.2, Table "MMIO Device Register Layout"), all 32 bits:
 * the offsets below. The control registers (below 0x100) take 32-bit
 * aligned accesses only (4.2.2.2: "The driver MUST only use 32 bit wide and
 * aligned reads and writes"); any other access to them reads 0 and a write
 * is dropped. Read-only registers ignore writes, write-only ones read 0.
 * The device configuration from 0x100 is the device type's, accessed at
 * any width (1, 2, 4, 8) that lies inside its size (else 0 / dropped).
 *
 * Emulated: the magic, version, IDs; features in 32-bit windows (selector
 * 0 and 1; higher selectors read 0 and drop writes); queue selection,
 * sizes, readiness and ring addresses (changes only while the queue is not
 * ready); QueueNotify (the value is the queue index, 4.2.3.3); Status with
 * reset on 0 and the FEATURES_OK rules of devices/virtio.h;
 * InterruptStatus / InterruptACK, with the line asserted while any bit is
 * set (level); ConfigGeneration; no shared memory regions (SHMLen reads
 * all-ones: "no such region", 4.2.2); no QueueReset (VIRTIO_F_RING_RESET
 * is not offered; the register reads 0). */
#ifndef DEVICES_VIRTIO_MMIO_H
#define DEVICES_VIRTIO_MMIO_H

#include "lib/types.h"
#include "devices/irq.h"
#include "devices/virtio.h"

#define VIRTIO_MMIO_MAGIC 0x74726976u   /* "virt", little-endian */
#define VIRTIO_MMIO_VERSION 2
/* VendorID is free for the device to choose (4.2.2); ours is the PCI
 * vendor ID virtio devices are registered under. */
#define VIRTIO_MMIO_VENDOR 0x1af4
#define VIRTIO_MMIO_SIZE 0x200
#define VIRTIO_MMIO_CONFIG_MAX (VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG)

#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION_REG 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIRTIO_MMIO_QUEUE_RESET 0x0c0
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

struct virtio_mmio {
	struct virtio_device *dev;
	uint32_t config_size;
	struct irq_line irq;
	bool irq_level;                 /* the line as last driven */
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint32_t interrupt_status;      /* VIRTIO_ISR_* */
};

/* Sets up m for d, which the device type has filled in already (device_id,
 * host_features, num_queues, queues[].max_size, mem, ops). Adds
 * VIRTIO_F_VERSION_1 to the offered features, makes this the transport of
 * d, and starts d reset. irq: the device's interrupt (may be NULL). False
 * if num_queues is 0 or above VIRTIO_MAX_QUEUES, or config_size above
 * VIRTIO_MMIO_CONFIG_MAX. */
bool virtio_mmio_init(struct virtio_mmio *m, struct virtio_device *d, uint32_t config_size,
		      const struct irq_line *irq);

/* Bus callbacks (struct bus_device, len VIRTIO_MMIO_SIZE; opaque is m). */
uint64_t virtio_mmio_read(void *opaque, uint64_t offset, unsigned size);
void virtio_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

#endif
