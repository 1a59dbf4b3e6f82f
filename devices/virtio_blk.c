#include "devices/virtio_blk.h"
#include "lib/string.h"

/* The request header (5.2.6), read once into this local copy. */
struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};
#define BLK_HDR_BYTES 16u
_Static_assert(sizeof(struct blk_hdr) == BLK_HDR_BYTES, "virtio_blk_req header is 16 bytes");

/* struct virtio_blk_discard_write_zeroes (5.2.6). */
struct blk_dwz {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};
#define BLK_DWZ_BYTES 16u
_Static_assert(sizeof(struct blk_dwz) == BLK_DWZ_BYTES, "discard/write-zeroes segment is 16 bytes");
#define BLK_DWZ_MAX_SEG MAX(VIRTIO_BLK_MAX_DISCARD_SEG, VIRTIO_BLK_MAX_WRITE_ZEROES_SEG)

static bool negotiated(const struct virtio_blk *b, unsigned bit)
{
	return (b->dev->guest_features & BIT(bit)) != 0;
}

/* --- The request as two byte streams (2.6.4 Message Framing) -------------------------- */

enum xfer {
	GUEST_TO_BUF, /* gather guest bytes into a local copy */
	BUF_TO_GUEST,
	DISK_TO_GUEST,
	GUEST_TO_DISK,
};

/* Move [off, off+len) of the readable (writable=false) or writable stream of
 * the popped chain. buf is the local buffer or NULL; disk_off the disk byte
 * offset for the DISK cases. Every segment was checked in guest RAM when it
 * was popped; the disk range by the caller. False if the stream is shorter
 * (callers check lengths first, so that is a bug) or the disk refuses. */
static bool stream_xfer(struct virtio_blk *b, bool writable, uint64_t off, uint64_t len,
			enum xfer op, uint8_t *buf, uint64_t disk_off)
{
	const struct virtq_chain *c = &b->chain;
	unsigned first = writable ? c->n_read : 0, end = writable ? c->n : c->n_read;
	uint64_t pos = 0, done = 0;

	for (unsigned i = first; i < end && done < len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint64_t seg_end = pos + s->len;

		if (off + done < seg_end) {
			uint64_t in = off + done - pos;
			uint64_t n = MIN(s->len - in, len - done);
			uint8_t *hva = gpa_to_hva(b->dev->mem, s->gpa + in, n);

			if (!hva)
				return false;
			switch (op) {
			case GUEST_TO_BUF:
				memcpy(buf + done, hva, (size_t)n);
				break;
			case BUF_TO_GUEST:
				memcpy(hva, buf + done, (size_t)n);
				break;
			case DISK_TO_GUEST:
				if (ramdisk_read_bytes(b->disk, disk_off + done, hva, n) != RAMDISK_OK)
					return false;
				break;
			case GUEST_TO_DISK:
				if (ramdisk_write_bytes(b->disk, disk_off + done, hva, n) != RAMDISK_OK)
					return false;
				break;
			}
			done += n;
		}
		pos = seg_end;
	}
	return done == len;
}

/* --- Request types (5.2.6) ---------------------------------------------------------------- */

/* IN and OUT: data_in writable bytes before the status, data_out readable
 * bytes after the header. *written: data bytes written to the guest. */
static uint8_t do_rw(struct virtio_blk *b, const struct blk_hdr *h, uint64_t data_in,
		     uint64_t data_out, uint32_t *written)
{
	bool out = h->type == VIRTIO_BLK_T_OUT;
	uint64_t len = out ? data_out : data_in;

	/* Directions: IN carries no data for the device, OUT nothing back but
	 * the status (5.2.6: data is device-readable for OUT, writable for IN). */
	if ((out && data_in) || (!out && data_out))
		return VIRTIO_BLK_S_IOERR;
	/* 5.2.6: requests move whole 512-byte sectors. */
	if (len % RAMDISK_SECTOR_SIZE)
		return VIRTIO_BLK_S_IOERR;
	if (!ramdisk_range_ok(b->disk, h->sector, len >> RAMDISK_SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	if (out) {
		/* 5.2.6.2: with VIRTIO_BLK_F_RO offered, a write fails with
		 * IOERR and writes nothing. */
		if (b->disk->read_only)
			return VIRTIO_BLK_S_IOERR;
		if (!stream_xfer(b, false, BLK_HDR_BYTES, len, GUEST_TO_DISK, NULL,
				 h->sector << RAMDISK_SECTOR_SHIFT))
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	}
	if (!stream_xfer(b, true, 0, len, DISK_TO_GUEST, NULL, h->sector << RAMDISK_SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	*written = (uint32_t)len;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct virtio_blk *b, uint64_t data_in, uint64_t data_out, uint32_t *written)
{
	/* 5.2.6: the ID is up to 20 bytes, NUL-padded; a shorter buffer gets
	 * what fits. */
	uint64_t n = MIN(data_in, (uint64_t)VIRTIO_BLK_ID_BYTES);

	if (data_out || n == 0)
		return VIRTIO_BLK_S_IOERR;
	if (!stream_xfer(b, true, 0, n, BUF_TO_GUEST, (uint8_t *)b->serial, 0))
		return VIRTIO_BLK_S_IOERR;
	*written = (uint32_t)n;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_discard_write_zeroes(struct virtio_blk *b, const struct blk_hdr *h,
				       uint64_t data_in, uint64_t data_out)
{
	bool discard = h->type == VIRTIO_BLK_T_DISCARD;
	uint32_t max_seg = discard ? VIRTIO_BLK_MAX_DISCARD_SEG : VIRTIO_BLK_MAX_WRITE_ZEROES_SEG;
	uint32_t max_sectors = discard ? VIRTIO_BLK_MAX_DISCARD_SECTORS : VIRTIO_BLK_MAX_WRITE_ZEROES_SECTORS;
	struct blk_dwz seg[BLK_DWZ_MAX_SEG];
	uint64_t nseg;

	if (!negotiated(b, discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES))
		return VIRTIO_BLK_S_UNSUPP;
	if (data_in || data_out == 0 || data_out % BLK_DWZ_BYTES)
		return VIRTIO_BLK_S_IOERR;
	nseg = data_out / BLK_DWZ_BYTES;
	/* 5.2.6.1: the driver MUST NOT exceed max_discard_seg /
	 * max_write_zeroes_seg. */
	if (nseg > max_seg)
		return VIRTIO_BLK_S_IOERR;
	/* Each segment read once, all checked before any is done. */
	if (!stream_xfer(b, false, BLK_HDR_BYTES, data_out, GUEST_TO_BUF, (uint8_t *)seg, 0))
		return VIRTIO_BLK_S_IOERR;
	for (uint64_t i = 0; i < nseg; i++) {
		/* 5.2.6.2: UNSUPP for an unknown flag, and for discard with
		 * the unmap flag. */
		if (seg[i].flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
			return VIRTIO_BLK_S_UNSUPP;
		if (discard && (seg[i].flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
			return VIRTIO_BLK_S_UNSUPP;
		/* 5.2.6.1: num_sectors at most max_*_sectors. */
		if (seg[i].num_sectors > max_sectors)
			return VIRTIO_BLK_S_IOERR;
		if (!ramdisk_range_ok(b->disk, seg[i].sector, seg[i].num_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	if (b->disk->read_only)
		return VIRTIO_BLK_S_IOERR;
	for (uint64_t i = 0; i < nseg; i++) {
		enum ramdisk_result r = discard ? ramdisk_discard(b->disk, seg[i].sector, seg[i].num_sectors)
						: ramdisk_write_zeroes(b->disk, seg[i].sector, seg[i].num_sectors);
		if (r != RAMDISK_OK)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* One popped chain with at least one writable byte: its status. */
static uint8_t handle_request(struct virtio_blk *b, uint32_t *written)
{
	const struct virtq_chain *c = &b->chain;
	struct blk_hdr h;
	uint64_t data_in, data_out;

	*written = 0;
	/* This device's limits (configuration space, 5.2.4): seg_max data
	 * descriptors besides header and status, size_max bytes each. */
	if (c->n > VIRTIO_BLK_SEG_MAX + 2)
		return VIRTIO_BLK_S_IOERR;
	for (unsigned i = 0; i < c->n; i++)
		if (c->seg[i].len > VIRTIO_BLK_SIZE_MAX)
			return VIRTIO_BLK_S_IOERR;
	/* The header: the first 16 readable bytes, read once. */
	if (c->read_bytes < BLK_HDR_BYTES)
		return VIRTIO_BLK_S_IOERR;
	if (!stream_xfer(b, false, 0, BLK_HDR_BYTES, GUEST_TO_BUF, (uint8_t *)&h, 0))
		return VIRTIO_BLK_S_IOERR;
	data_out = c->read_bytes - BLK_HDR_BYTES;
	data_in = c->write_bytes - 1; /* the status byte apart */

	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return do_rw(b, &h, data_in, data_out, written);
	case VIRTIO_BLK_T_FLUSH:
		if (!negotiated(b, VIRTIO_BLK_F_FLUSH))
			return VIRTIO_BLK_S_UNSUPP;
		if (data_in || data_out)
			return VIRTIO_BLK_S_IOERR;
		return ramdisk_flush(b->disk) == RAMDISK_OK ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_GET_ID:
		return do_get_id(b, data_in, data_out, written);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return do_discard_write_zeroes(b, &h, data_in, data_out);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* What the device does with a malformed chain (virtio_report's "what"). */
#define CHAIN_REFUSED "a request was refused (completed with used length 0, nothing transferred)"

/* Complete the popped chain: status byte, used element. */
static void complete(struct virtio_blk *b, unsigned q)
{
	uint32_t written;
	uint8_t status;

	if (b->chain.write_bytes == 0) {
		/* No byte to carry a status: nothing can be reported but
		 * the completion itself. */
		b->bad_chains++;
		virtio_report(b->dev, CHAIN_REFUSED, "no device-writable byte for the status (5.2.6)");
		virtq_push(b->dev, q, b->chain.head, 0);
		return;
	}
	status = handle_request(b, &written);
	if (status == VIRTIO_BLK_S_IOERR)
		b->io_errors++;
	else if (status == VIRTIO_BLK_S_UNSUPP)
		b->unsupported++;
	b->requests++;
	/* The status is the last writable byte (5.2.6). written <= data_in,
	 * which is at most seg_max * size_max: the sum fits 32 bits. */
	stream_xfer(b, true, b->chain.write_bytes - 1, 1, BUF_TO_GUEST, &status, 0);
	virtq_push(b->dev, q, b->chain.head, written + 1);
}

static void blk_queue_notify(struct virtio_device *d, unsigned q)
{
	struct virtio_blk *b = d->device_ctx;
	struct virtqueue *vq;
	bool pushed = false;
	uint16_t avail;

	if (q >= d->num_queues || virtio_is_broken(d) || !(d->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	vq = &d->queues[q];
	if (!vq->ready || vq->size == 0)
		return;
	/* Drain until a fresh read of the avail index shows nothing new; each
	 * round reads it once (virtq_drain_begin). The rounds are bounded: a
	 * driver could otherwise keep one exit busy for ever, by adding
	 * buffers from another vCPU or by pointing IN buffers at its own
	 * avail ring. What is left waits for the next notification. */
	for (unsigned round = 0; round < VIRTIO_BLK_MAX_DRAIN_ROUNDS; round++) {
		if (!virtq_drain_begin(d, q, &avail) || avail == vq->last_avail)
			break;
		for (;;) {
			enum virtq_pop_result r = virtq_pop(d, q, avail, &b->chain);

			if (r == VIRTQ_POP_EMPTY || r == VIRTQ_POP_BROKEN)
				break;
			if (r == VIRTQ_POP_BAD_CHAIN) {
				b->bad_chains++;
				virtio_report(d, CHAIN_REFUSED, b->chain.error);
				virtq_push(d, q, b->chain.head, 0);
			} else {
				complete(b, q);
			}
			pushed = true;
		}
	}
	if (pushed && !virtio_is_broken(d))
		virtq_notify(d, q);
}

/* --- Configuration space (5.2.4) ------------------------------------------------------ */

static void put(uint8_t *p, unsigned off, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		p[off + i] = (uint8_t)(v >> (8 * i)); /* little-endian (2.4) */
}

static uint64_t blk_config_read(struct virtio_device *d, uint64_t offset, unsigned size)
{
	struct virtio_blk *b = d->device_ctx;
	uint64_t v = 0;

	if (size == 0 || size > 8 || !range_within(offset, size, 0, VIRTIO_BLK_CFG_SIZE))
		return 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)b->config[offset + i] << (8 * i);
	return v;
}

static void blk_config_write(struct virtio_device *d, uint64_t offset, unsigned size, uint64_t value)
{
	/* Only writeback is writable, and only with VIRTIO_BLK_F_CONFIG_WCE,
	 * which is not offered: every field is read-only. */
	(void)d;
	(void)offset;
	(void)size;
	(void)value;
}

static void blk_reset(struct virtio_device *d)
{
	for (unsigned q = 0; q < d->num_queues; q++)
		virtq_reset_state(&d->queues[q]);
}

const struct virtio_device_ops virtio_blk_ops = {
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
};

void virtio_blk_init(struct virtio_blk *b, struct virtio_device *d, struct ramdisk *disk,
		     const char *serial)
{
	memset(b, 0, sizeof(*b));
	b->dev = d;
	b->disk = disk;
	if (serial)
		memcpy(b->serial, serial, strnlen(serial, VIRTIO_BLK_ID_BYTES));

	d->device_id = VIRTIO_ID_BLOCK;
	d->host_features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX) |
			   BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_BLK_F_FLUSH) |
			   BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_SIZE_MAX) |
			   BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_DISCARD) |
			   BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	if (disk->read_only)
		d->host_features |= BIT(VIRTIO_BLK_F_RO);
	d->num_queues = 1;
	d->queues[0].max_size = VIRTIO_BLK_QUEUE_SIZE;
	d->ops = &virtio_blk_ops;
	d->device_ctx = b;

	put(b->config, VIRTIO_BLK_CFG_CAPACITY, ramdisk_sectors(disk), 8);
	put(b->config, VIRTIO_BLK_CFG_SIZE_MAX, VIRTIO_BLK_SIZE_MAX, 4);
	put(b->config, VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX, 4);
	put(b->config, VIRTIO_BLK_CFG_BLK_SIZE, RAMDISK_SECTOR_SIZE, 4);
	put(b->config, VIRTIO_BLK_CFG_NUM_QUEUES, 1, 2);
	put(b->config, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, VIRTIO_BLK_MAX_DISCARD_SECTORS, 4);
	put(b->config, VIRTIO_BLK_CFG_MAX_DISCARD_SEG, VIRTIO_BLK_MAX_DISCARD_SEG, 4);
	put(b->config, VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT, 1, 4);
	put(b->config, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, VIRTIO_BLK_MAX_WRITE_ZEROES_SECTORS, 4);
	put(b->config, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG, VIRTIO_BLK_MAX_WRITE_ZEROES_SEG, 4);
	/* Zeroing here never deallocates, though it would be allowed. */
	put(b->config, VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP, 0, 1);
}
