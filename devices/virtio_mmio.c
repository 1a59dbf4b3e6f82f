#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "devices/bus.h"
#include "lib/string.h"

/* --- The interrupt line: level, high while InterruptStatus is non-zero ------- */

static void update_irq(struct virtio_mmio *m)
{
	bool level = m->interrupt_status != 0;
	if (level != m->irq_level) {
		m->irq_level = level;
		irq_set(&m->irq, level);
	}
}

static void raise_interrupt(struct virtio_mmio *m, uint32_t bits)
{
	m->interrupt_status |= bits;
	update_irq(m);
}

static void mmio_notify_queue(struct virtio_device *d, unsigned q)
{
	(void)q; /* one line for every queue: the driver scans them all */
	raise_interrupt(d->transport_ctx, VIRTIO_ISR_QUEUE);
}

static void mmio_notify_config(struct virtio_device *d)
{
	raise_interrupt(d->transport_ctx, VIRTIO_ISR_CONFIG);
}

static const struct virtio_transport_ops mmio_transport_ops = {
	.notify_queue = mmio_notify_queue,
	.notify_config = mmio_notify_config,
};

/* --- Control registers (4.2.2) ----------------------------------------------------- */

static uint32_t reg_read(struct virtio_mmio *m, uint64_t reg)
{
	struct virtio_device *d = m->dev;
	struct virtqueue *vq = virtio_queue(d, m->queue_sel);
	switch (reg) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG:
		return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return virtio_feature_word(d->host_features, m->device_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? vq->max_size : 0; /* 0: the queue is not available */
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return m->interrupt_status;
	case VIRTIO_MMIO_STATUS:
		return d->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return 0xffffffffu; /* 4.2.2: length -1 means "no such region" */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return d->config_generation;
	}
	/* 4.2.2 lists QueueNum and the ring addresses as write-only: they read
	 * 0 like every other write-only or undefined register. */
	return 0;
}

/* QueueReady written 1 (4.2.3.2 step 8): check what the driver configured. */
static void enable_queue(struct virtio_device *d, struct virtqueue *vq)
{
	if (vq->ready)
		return;
	const char *why = virtq_check_config(d->mem, vq);
	if (why) {
		virtio_mark_broken(d, why);
		return;
	}
	virtq_reset_state(vq);
	vq->ready = true;
}

static void set_half(uint64_t *a, bool high, uint32_t v)
{
	*a = high ? (*a & 0xffffffffull) | (uint64_t)v << 32 : (*a & ~0xffffffffull) | v;
}

static void reg_write(struct virtio_mmio *m, uint64_t reg, uint32_t v)
{
	struct virtio_device *d = m->dev;
	struct virtqueue *vq = virtio_queue(d, m->queue_sel);
	/* Queue configuration is fixed while the queue is in use. */
	struct virtqueue *idle = vq && !vq->ready ? vq : NULL;
	switch (reg) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		m->device_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_write_driver_features(d, m->driver_features_sel, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		m->driver_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		virtio_set_queue_size(d, m->queue_sel, v);
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		/* 1 enables; 0 stops the device using the queue (4.2.2). */
		if (vq && v == 1)
			enable_queue(d, vq);
		else if (vq && v == 0)
			vq->ready = false;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* The value is the queue index (4.2.3.3, without
		 * VIRTIO_F_NOTIFICATION_DATA, which is not offered). */
		virtio_driver_notified(d, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		m->interrupt_status &= ~v;
		update_irq(m);
		break;
	case VIRTIO_MMIO_STATUS:
		virtio_write_status(d, (uint8_t)v);
		if (d->status == 0) {
			/* The transport's part of the reset (4.2.2.1). */
			m->device_features_sel = m->driver_features_sel = m->queue_sel = 0;
			m->interrupt_status = 0;
			update_irq(m);
		}
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (idle)
			set_half(&idle->desc_gpa, reg & 4, v);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if (idle)
			set_half(&idle->avail_gpa, reg & 4, v);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if (idle)
			set_half(&idle->used_gpa, reg & 4, v);
		break;
	default:
		break; /* read-only, SHMSel (no regions), QueueReset (not offered), reserved */
	}
}

/* --- Bus callbacks -------------------------------------------------------------- */

static bool is_config(const struct virtio_mmio *m, uint64_t offset, unsigned size)
{
	return m->config_size && range_within(offset, size, VIRTIO_MMIO_CONFIG, m->config_size);
}

uint64_t virtio_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct virtio_mmio *m = opaque;
	if (offset < VIRTIO_MMIO_CONFIG)
		return size == 4 && IS_ALIGNED(offset, 4) ? reg_read(m, offset) : 0;
	if (is_config(m, offset, size) && m->dev->ops && m->dev->ops->config_read)
		return m->dev->ops->config_read(m->dev, offset - VIRTIO_MMIO_CONFIG, size) & size_mask(size);
	return 0;
}

void virtio_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct virtio_mmio *m = opaque;
	value &= size_mask(size);
	if (offset < VIRTIO_MMIO_CONFIG) {
		if (size == 4 && IS_ALIGNED(offset, 4))
			reg_write(m, offset, (uint32_t)value);
		return;
	}
	if (is_config(m, offset, size) && m->dev->ops && m->dev->ops->config_write)
		m->dev->ops->config_write(m->dev, offset - VIRTIO_MMIO_CONFIG, size, value);
}

bool virtio_mmio_init(struct virtio_mmio *m, struct virtio_device *d, uint32_t config_size,
		      const struct irq_line *irq)
{
	memset(m, 0, sizeof(*m));
	if (d->num_queues == 0 || d->num_queues > VIRTIO_MAX_QUEUES || config_size > VIRTIO_MMIO_CONFIG_MAX)
		return false;
	m->dev = d;
	m->config_size = config_size;
	if (irq)
		m->irq = *irq;
	virtio_bind_transport(d, &mmio_transport_ops, m);
	return true;
}
