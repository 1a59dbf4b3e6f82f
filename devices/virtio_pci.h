/* Virtio over PCI, the modern (non-transitional) interface of VIRTIO 1.2
 * section 4.1, over one struct pci_function.
 *
 * Identity (4.1.2): vendor 0x1AF4, device 0x1040 + the virtio device ID
 * (0x1042 for block), subsystem vendor 0x1AF4 and subsystem device the same
 * as the device ID (4.1.2.1: non-transitional devices SHOULD use 0x40 or
 * higher), revision 1 (4.1.2.1: 1 or higher), class code from the device
 * type (block: 01/80/00, mass storage "other").
 *
 * One BAR: BAR 4 (the conventional choice, QEMU's too), 64-bit memory, not
 * prefetchable (reading the ISR clears it, and prefetchable means reads have
 * no side effects, PCI LB 3.0 6.2.5.1), 32 KiB laid out in 4 KiB pages:
 *   0x0000 common configuration (4.1.4.3), 0x38 bytes
 *   0x1000 ISR status (4.1.4.5), 1 byte, read clears it
 *   0x2000 device-specific configuration (4.1.4.6), the device type's size
 *   0x3000 notifications (4.1.4.4): notify_off_multiplier 4, queue_notify_off
 *          = queue index, so queue q's doorbell is at 0x3000 + 4q
 *   0x4000 MSI-X table, 0x5000 MSI-X PBA (num_queues + 1 entries)
 * Each region is announced by a vendor-specific capability (struct
 * virtio_pci_cap, 4.1.4) of cfg_type 1-4, then the MSI-X capability.
 * VIRTIO_PCI_CAP_PCI_CFG (type 5) is not offered: its window must perform a
 * BAR access when pci_cfg_data is *read*, and struct pci_function has no
 * configuration-read callback (configuration reads are side-effect free).
 * Shared memory regions (type 8) and the optional NOTIF_CONFIG_DATA and
 * RING_RESET fields of the common configuration are not offered either.
 *
 * Interrupts (4.1.5.3, 4.1.5.4): with MSI-X enabled, a queue interrupt goes
 * to its queue_msix_vector and a configuration change to config_msix_vector
 * (NO_VECTOR: none). With MSI-X disabled they set ISR bit 0 or 1 and request
 * INTx; reading the ISR returns and clears it and withdraws the request. The
 * configuration bit is set in the ISR in both cases (4.1.4.5.1).
 *
 * queue_enable checks the queue with virtqueue.h's virtq_check_config; a
 * queue that fails stays disabled and the device sets DEVICE_NEEDS_RESET
 * (virtio_mark_broken, 2.1.2) with the rule in broken_reason.
 *
 * Register access: every common-configuration field at its natural width
 * (4.1.3.1), the 64-bit ones also as two 32-bit halves; any other access
 * reads 0 and writes are dropped. Device configuration accesses go to the
 * device type whole if they lie inside it (else read 0, writes dropped).
 * Notification writes of 2 or 4 bytes at a doorbell kick that queue (the
 * address says which; the value, the queue index, is not needed). */
#ifndef DEVICES_VIRTIO_PCI_H
#define DEVICES_VIRTIO_PCI_H

#include "lib/types.h"
#include "devices/irq.h"
#include "devices/pci.h"
#include "devices/virtio.h"
#include "devices/virtqueue.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040   /* + device ID (4.1.2) */
#define VIRTIO_PCI_REVISION 1

/* Vendor-specific capability (4.1.4, struct virtio_pci_cap). */
#define VIRTIO_PCI_CAP_LEN 2            /* u8 cap_len */
#define VIRTIO_PCI_CAP_CFG_TYPE 3       /* u8 cfg_type */
#define VIRTIO_PCI_CAP_BAR 4            /* u8 bar */
#define VIRTIO_PCI_CAP_ID 5             /* u8 id: several of one type */
#define VIRTIO_PCI_CAP_OFFSET 8         /* le32 offset within the BAR */
#define VIRTIO_PCI_CAP_LENGTH 12        /* le32 length */
#define VIRTIO_PCI_CAP_SIZE 16
#define VIRTIO_PCI_NOTIFY_CAP_MULT 16   /* le32 notify_off_multiplier */
#define VIRTIO_PCI_NOTIFY_CAP_SIZE 20
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

/* Common configuration structure (4.1.4.3, struct virtio_pci_common_cfg). */
#define VIRTIO_PCI_COMMON_DFSELECT 0x00 /* le32 device_feature_select */
#define VIRTIO_PCI_COMMON_DF 0x04       /* le32 device_feature, RO */
#define VIRTIO_PCI_COMMON_GFSELECT 0x08 /* le32 driver_feature_select */
#define VIRTIO_PCI_COMMON_GF 0x0c       /* le32 driver_feature */
#define VIRTIO_PCI_COMMON_MSIX 0x10     /* le16 config_msix_vector */
#define VIRTIO_PCI_COMMON_NUMQ 0x12     /* le16 num_queues, RO */
#define VIRTIO_PCI_COMMON_STATUS 0x14   /* u8 device_status */
#define VIRTIO_PCI_COMMON_CFGGEN 0x15   /* u8 config_generation, RO */
#define VIRTIO_PCI_COMMON_Q_SELECT 0x16 /* le16 queue_select */
#define VIRTIO_PCI_COMMON_Q_SIZE 0x18   /* le16 queue_size */
#define VIRTIO_PCI_COMMON_Q_MSIX 0x1a   /* le16 queue_msix_vector */
#define VIRTIO_PCI_COMMON_Q_ENABLE 0x1c /* le16 queue_enable */
#define VIRTIO_PCI_COMMON_Q_NOFF 0x1e   /* le16 queue_notify_off, RO */
#define VIRTIO_PCI_COMMON_Q_DESC 0x20   /* le64 queue_desc */
#define VIRTIO_PCI_COMMON_Q_DRIVER 0x28 /* le64 queue_driver (available ring) */
#define VIRTIO_PCI_COMMON_Q_DEVICE 0x30 /* le64 queue_device (used ring) */
#define VIRTIO_PCI_COMMON_SIZE 0x38

/* This transport's BAR layout (see above). */
#define VIRTIO_PCI_BAR 4
#define VIRTIO_PCI_BAR_SIZE 0x8000
#define VIRTIO_PCI_COMMON_OFFSET 0x0000
#define VIRTIO_PCI_ISR_OFFSET 0x1000
#define VIRTIO_PCI_ISR_SIZE 1
#define VIRTIO_PCI_DEVICE_OFFSET 0x2000
#define VIRTIO_PCI_DEVICE_MAX 0x1000
#define VIRTIO_PCI_NOTIFY_OFFSET 0x3000
#define VIRTIO_PCI_NOTIFY_MULTIPLIER 4
#define VIRTIO_PCI_MSIX_TABLE_OFFSET 0x4000
#define VIRTIO_PCI_MSIX_PBA_OFFSET 0x5000

struct virtio_pci {
	struct pci_function fn;         /* register this with pci_register_function */
	struct virtio_device *dev;
	uint32_t config_size;           /* bytes of device-specific configuration */
	/* Common configuration state that is the transport's, not the device's. */
	uint32_t device_feature_select, driver_feature_select;
	uint16_t queue_select;
	uint16_t config_msix_vector;
	uint8_t isr;                    /* VIRTIO_ISR_* */
	/* Where the capabilities landed in configuration space. */
	uint8_t cap_common, cap_notify, cap_isr, cap_device;
};

/* PCI class code (0xCCSSPP) for a virtio device type; 0xff0000 if none fits. */
uint32_t virtio_pci_class_code(uint16_t device_id);

/* Builds vp->fn for d, which the device type has filled in already
 * (device_id, host_features, num_queues, queues[].max_size, mem, ops).
 * VIRTIO_F_VERSION_1 is added to the offered features; d->transport and
 * d->transport_ctx are set to this transport; d starts reset. intx: the line
 * INTA# drives (may be NULL). False (nothing usable) if num_queues is 0 or
 * above VIRTIO_MAX_QUEUES, or config_size above VIRTIO_PCI_DEVICE_MAX. */
bool virtio_pci_init(struct virtio_pci *vp, struct virtio_device *d, uint32_t config_size,
		     const struct irq_line *intx);

/* The BAR's registers, as struct pci_function's bar_read/bar_write (opaque
 * is the struct virtio_pci); exported for tests and tracing. */
uint64_t virtio_pci_bar_read(void *opaque, unsigned bar, uint64_t offset, unsigned size);
void virtio_pci_bar_write(void *opaque, unsigned bar, uint64_t offset, unsigned size, uint64_t value);

#endif
