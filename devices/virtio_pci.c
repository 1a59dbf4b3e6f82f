#include "devices/virtio_pci.h"
#include "lib/string.h"

/* --- Interrupts: the transport ops the device type calls ------------------- */

static struct virtio_pci *vp_of(struct virtio_device *d)
{
	return d->transport_ctx;
}

static void send_vector(struct virtio_pci *vp, uint16_t vector)
{
	if (vector != VIRTIO_MSI_NO_VECTOR)
		pci_msix_notify(&vp->fn, vector);
}

static void raise_isr(struct virtio_pci *vp, uint8_t bits)
{
	vp->isr |= bits;
	pci_set_intx(&vp->fn, true);
}

/* 4.1.5.3: MSI-X enabled: the queue's vector; disabled: ISR bit 0 and INTx. */
static void vp_notify_queue(struct virtio_device *d, unsigned q)
{
	struct virtio_pci *vp = vp_of(d);
	struct virtqueue *vq = virtio_queue(d, q);
	if (!vq)
		return;
	if (pci_msix_enabled(&vp->fn))
		send_vector(vp, vq->msix_vector);
	else
		raise_isr(vp, VIRTIO_ISR_QUEUE);
}

/* 4.1.5.4, with 4.1.4.5.1: the ISR's configuration bit is set either way. */
static void vp_notify_config(struct virtio_device *d)
{
	struct virtio_pci *vp = vp_of(d);
	if (pci_msix_enabled(&vp->fn)) {
		vp->isr |= VIRTIO_ISR_CONFIG;
		send_vector(vp, vp->config_msix_vector);
	} else {
		raise_isr(vp, VIRTIO_ISR_CONFIG);
	}
}

static const struct virtio_transport_ops vp_transport_ops = {
	.notify_queue = vp_notify_queue,
	.notify_config = vp_notify_config,
};

/* --- Common configuration (4.1.4.3) ------------------------------------------ */

struct common_field {
	uint8_t offset, width;
};

static const struct common_field common_fields[] = {
	{ VIRTIO_PCI_COMMON_DFSELECT, 4 }, { VIRTIO_PCI_COMMON_DF, 4 },
	{ VIRTIO_PCI_COMMON_GFSELECT, 4 }, { VIRTIO_PCI_COMMON_GF, 4 },
	{ VIRTIO_PCI_COMMON_MSIX, 2 },     { VIRTIO_PCI_COMMON_NUMQ, 2 },
	{ VIRTIO_PCI_COMMON_STATUS, 1 },   { VIRTIO_PCI_COMMON_CFGGEN, 1 },
	{ VIRTIO_PCI_COMMON_Q_SELECT, 2 }, { VIRTIO_PCI_COMMON_Q_SIZE, 2 },
	{ VIRTIO_PCI_COMMON_Q_MSIX, 2 },   { VIRTIO_PCI_COMMON_Q_ENABLE, 2 },
	{ VIRTIO_PCI_COMMON_Q_NOFF, 2 },   { VIRTIO_PCI_COMMON_Q_DESC, 8 },
	{ VIRTIO_PCI_COMMON_Q_DRIVER, 8 }, { VIRTIO_PCI_COMMON_Q_DEVICE, 8 },
};

/* The field an access of size bytes at offset addresses: its natural width
 * (4.1.3.1), or for a 64-bit field either 32-bit half. NULL: none. */
static const struct common_field *common_field_at(uint64_t offset, unsigned size)
{
	for (unsigned i = 0; i < ARRAY_SIZE(common_fields); i++) {
		const struct common_field *f = &common_fields[i];
		if (offset == f->offset && size == f->width)
			return f;
		if (f->width == 8 && size == 4 && (offset == f->offset || offset == f->offset + 4u))
			return f;
	}
	return NULL;
}

static uint64_t *queue_address(struct virtqueue *vq, unsigned field)
{
	switch (field) {
	case VIRTIO_PCI_COMMON_Q_DESC:
		return &vq->desc_gpa;
	case VIRTIO_PCI_COMMON_Q_DRIVER:
		return &vq->avail_gpa;
	default:
		return &vq->used_gpa;
	}
}

/* A whole field's value. Queue fields of a queue that does not exist read
 * 0 (4.1.4.3.1: queue_size 0 means "unavailable"). */
static uint64_t common_value(struct virtio_pci *vp, unsigned field)
{
	struct virtio_device *d = vp->dev;
	struct virtqueue *vq = virtio_queue(d, vp->queue_select);
	switch (field) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return vp->device_feature_select;
	case VIRTIO_PCI_COMMON_DF:
		return virtio_feature_word(d->host_features, vp->device_feature_select);
	case VIRTIO_PCI_COMMON_GFSELECT:
		return vp->driver_feature_select;
	case VIRTIO_PCI_COMMON_GF:
		return virtio_feature_word(d->guest_features, vp->driver_feature_select);
	case VIRTIO_PCI_COMMON_MSIX:
		return vp->config_msix_vector;
	case VIRTIO_PCI_COMMON_NUMQ:
		return d->num_queues;
	case VIRTIO_PCI_COMMON_STATUS:
		return d->status;
	case VIRTIO_PCI_COMMON_CFGGEN:
		return d->config_generation;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return vp->queue_select;
	}
	if (!vq)
		return field == VIRTIO_PCI_COMMON_Q_MSIX ? VIRTIO_MSI_NO_VECTOR : 0;
	switch (field) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		return vq->size;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return vq->msix_vector;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return vq->ready;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return vp->queue_select; /* doorbell q at q * multiplier */
	default:
		return *queue_address(vq, field);
	}
}

static uint64_t common_read(struct virtio_pci *vp, uint64_t offset, unsigned size)
{
	const struct common_field *f = common_field_at(offset, size);
	if (!f)
		return 0;
	uint64_t v = common_value(vp, f->offset);
	return (v >> (8 * (offset - f->offset))) & size_mask(size);
}

/* 4.1.5.1.2: a vector the function does not have maps to NO_VECTOR, which
 * is what the driver reads back to learn the mapping failed. */
static uint16_t msix_vector(const struct virtio_pci *vp, uint64_t v)
{
	return v < vp->fn.msix_entries ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

/* queue_enable written 1 (4.1.4.3.2): check what the driver configured. */
static void virtio_pci_enable_queue(struct virtio_device *d, unsigned q)
{
	struct virtqueue *vq = virtio_queue(d, q);
	if (!vq || vq->ready)
		return;
	const char *why = virtq_check_config(d->mem, vq);
	if (why) {
		virtio_mark_broken(d, why);
		return;
	}
	virtq_reset_state(vq);
	vq->ready = true;
}

static void common_write(struct virtio_pci *vp, uint64_t offset, unsigned size, uint64_t value)
{
	struct virtio_device *d = vp->dev;
	const struct common_field *f = common_field_at(offset, size);
	if (!f)
		return;
	struct virtqueue *vq = virtio_queue(d, vp->queue_select);
	switch (f->offset) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->device_feature_select = (uint32_t)value;
		return;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->driver_feature_select = (uint32_t)value;
		return;
	case VIRTIO_PCI_COMMON_GF:
		virtio_write_driver_features(d, vp->driver_feature_select, (uint32_t)value);
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->config_msix_vector = msix_vector(vp, value);
		return;
	case VIRTIO_PCI_COMMON_STATUS:
		virtio_write_status(d, (uint8_t)value);
		if (d->status == 0) {
			/* The transport's part of the reset (4.1.4.3.1). */
			vp->device_feature_select = vp->driver_feature_select = 0;
			vp->queue_select = 0;
			vp->config_msix_vector = VIRTIO_MSI_NO_VECTOR;
			vp->isr = 0;
			pci_set_intx(&vp->fn, false);
		}
		return;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_select = (uint16_t)value;
		return;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		virtio_set_queue_size(d, vp->queue_select, (uint32_t)value);
		return;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (vq)
			vq->msix_vector = msix_vector(vp, value);
		return;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		/* 4.1.4.3.2: the driver MUST NOT write 0; such a write is ignored. */
		if (value == 1)
			virtio_pci_enable_queue(d, vp->queue_select);
		return;
	case VIRTIO_PCI_COMMON_Q_DESC:
	case VIRTIO_PCI_COMMON_Q_DRIVER:
	case VIRTIO_PCI_COMMON_Q_DEVICE: {
		/* Fixed once the queue is enabled (the device is using it). */
		if (!vq || vq->ready)
			return;
		uint64_t *a = queue_address(vq, f->offset);
		unsigned shift = 8 * (unsigned)(offset - f->offset);
		uint64_t mask = size_mask(size) << shift;
		*a = (*a & ~mask) | ((value << shift) & mask);
		return;
	}
	default:
		return; /* read-only: device_feature, num_queues, config_generation, queue_notify_off */
	}
}

/* --- The BAR ---------------------------------------------------------------- */

static bool in_region(uint64_t offset, unsigned size, uint64_t base, uint64_t len)
{
	return range_within(offset, size, base, len);
}

static uint32_t notify_len(const struct virtio_pci *vp)
{
	return vp->dev->num_queues * VIRTIO_PCI_NOTIFY_MULTIPLIER;
}

uint64_t virtio_pci_bar_read(void *opaque, unsigned bar, uint64_t offset, unsigned size)
{
	struct virtio_pci *vp = opaque;
	if (bar != VIRTIO_PCI_BAR)
		return 0;
	if (in_region(offset, size, VIRTIO_PCI_COMMON_OFFSET, VIRTIO_PCI_COMMON_SIZE))
		return common_read(vp, offset - VIRTIO_PCI_COMMON_OFFSET, size);
	if (offset == VIRTIO_PCI_ISR_OFFSET) {
		/* 4.1.4.5: reading resets it to 0 and deasserts the interrupt. */
		uint8_t isr = vp->isr;
		vp->isr = 0;
		pci_set_intx(&vp->fn, false);
		return isr;
	}
	if (vp->config_size && in_region(offset, size, VIRTIO_PCI_DEVICE_OFFSET, vp->config_size)) {
		const struct virtio_device_ops *ops = vp->dev->ops;
		if (ops && ops->config_read)
			return ops->config_read(vp->dev, offset - VIRTIO_PCI_DEVICE_OFFSET, size) & size_mask(size);
	}
	return 0; /* the doorbells, and every gap, read 0 */
}

void virtio_pci_bar_write(void *opaque, unsigned bar, uint64_t offset, unsigned size, uint64_t value)
{
	struct virtio_pci *vp = opaque;
	if (bar != VIRTIO_PCI_BAR)
		return;
	value &= size_mask(size);
	if (in_region(offset, size, VIRTIO_PCI_COMMON_OFFSET, VIRTIO_PCI_COMMON_SIZE)) {
		common_write(vp, offset - VIRTIO_PCI_COMMON_OFFSET, size, value);
	} else if (vp->config_size && in_region(offset, size, VIRTIO_PCI_DEVICE_OFFSET, vp->config_size)) {
		const struct virtio_device_ops *ops = vp->dev->ops;
		if (ops && ops->config_write)
			ops->config_write(vp->dev, offset - VIRTIO_PCI_DEVICE_OFFSET, size, value);
	} else if (in_region(offset, size, VIRTIO_PCI_NOTIFY_OFFSET, notify_len(vp)) &&
		   (size == 2 || size == 4)) {
		uint64_t at = offset - VIRTIO_PCI_NOTIFY_OFFSET;
		if (at % VIRTIO_PCI_NOTIFY_MULTIPLIER == 0)
			virtio_driver_notified(vp->dev, (unsigned)(at / VIRTIO_PCI_NOTIFY_MULTIPLIER));
	}
	/* The ISR is read-only; writes elsewhere are dropped. */
}

/* --- Building the function ------------------------------------------------------ */

uint32_t virtio_pci_class_code(uint16_t device_id)
{
	switch (device_id) {
	case 1:
		return 0x020000; /* network controller, Ethernet */
	case 2:
		return 0x018000; /* mass storage controller, other */
	case 3:
		return 0x078000; /* simple communication controller, other */
	default:
		return 0xff0000; /* "does not fit any defined class" */
	}
}

/* A struct virtio_pci_cap (4.1.4) for [offset, offset+length) of our BAR. */
static uint8_t add_virtio_cap(struct pci_function *fn, uint8_t cfg_type, uint8_t len,
			      uint32_t offset, uint32_t length)
{
	uint8_t cap = pci_add_capability(fn, PCI_CAP_ID_VNDR, len);
	if (!cap)
		return 0;
	pci_set8(fn, cap + VIRTIO_PCI_CAP_LEN, len);
	pci_set8(fn, cap + VIRTIO_PCI_CAP_CFG_TYPE, cfg_type);
	pci_set8(fn, cap + VIRTIO_PCI_CAP_BAR, VIRTIO_PCI_BAR);
	pci_set8(fn, cap + VIRTIO_PCI_CAP_ID, 0);
	pci_set32(fn, cap + VIRTIO_PCI_CAP_OFFSET, offset);
	pci_set32(fn, cap + VIRTIO_PCI_CAP_LENGTH, length);
	return cap;
}

bool virtio_pci_init(struct virtio_pci *vp, struct virtio_device *d, uint32_t config_size,
		     const struct irq_line *intx)
{
	memset(vp, 0, sizeof(*vp));
	if (d->num_queues == 0 || d->num_queues > VIRTIO_MAX_QUEUES || config_size > VIRTIO_PCI_DEVICE_MAX)
		return false;
	vp->dev = d;
	vp->config_size = config_size;
	vp->config_msix_vector = VIRTIO_MSI_NO_VECTOR;

	virtio_bind_transport(d, &vp_transport_ops, vp);

	struct pci_function *fn = &vp->fn;
	uint16_t device = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + d->device_id);
	pci_function_init(fn, VIRTIO_PCI_VENDOR, device, virtio_pci_class_code(d->device_id),
			  VIRTIO_PCI_REVISION);
	pci_set16(fn, PCI_SUBSYSTEM_VENDOR_ID, VIRTIO_PCI_VENDOR);
	pci_set16(fn, PCI_SUBSYSTEM_ID, device);
	if (!pci_set_bar(fn, VIRTIO_PCI_BAR, PCI_BAR_MEM_TYPE_64, VIRTIO_PCI_BAR_SIZE))
		return false;
	pci_set_intx_pin(fn, PCI_INTA, intx);

	vp->cap_common = add_virtio_cap(fn, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_SIZE,
					VIRTIO_PCI_COMMON_OFFSET, VIRTIO_PCI_COMMON_SIZE);
	vp->cap_notify = add_virtio_cap(fn, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_CAP_SIZE,
					VIRTIO_PCI_NOTIFY_OFFSET, notify_len(vp));
	if (vp->cap_notify)
		pci_set32(fn, vp->cap_notify + VIRTIO_PCI_NOTIFY_CAP_MULT, VIRTIO_PCI_NOTIFY_MULTIPLIER);
	vp->cap_isr = add_virtio_cap(fn, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_CAP_SIZE,
				     VIRTIO_PCI_ISR_OFFSET, VIRTIO_PCI_ISR_SIZE);
	/* 4.1.4.6: present only for a device type that has a configuration. */
	if (config_size)
		vp->cap_device = add_virtio_cap(fn, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_CAP_SIZE,
						VIRTIO_PCI_DEVICE_OFFSET, config_size);
	if (!vp->cap_common || !vp->cap_notify || !vp->cap_isr || (config_size && !vp->cap_device))
		return false;
	/* 4.1.5.1.2: one vector for configuration changes plus one per queue. */
	if (!pci_add_msix(fn, d->num_queues + 1, VIRTIO_PCI_BAR, VIRTIO_PCI_MSIX_TABLE_OFFSET,
			  VIRTIO_PCI_BAR, VIRTIO_PCI_MSIX_PBA_OFFSET))
		return false;

	fn->bar_read = virtio_pci_bar_read;
	fn->bar_write = virtio_pci_bar_write;
	fn->opaque = vp;
	return true;
}
