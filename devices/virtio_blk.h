/* virtio-blk (VIRTIO 1.2, 5.2) over a struct ramdisk, on the transport-
 * independent core of devices/virtio.h and the split virtqueue of
 * devices/virtqueue.h. One request queue (5.2.2).
 *
 * A request (5.2.6) is a byte stream, whatever its descriptor layout (2.6.4
 * Message Framing): the readable bytes are the header (le32 type, le32
 * reserved, le64 sector) followed by OUT data or DISCARD/WRITE_ZEROES
 * segments; the writable bytes are IN or GET_ID data followed by the status
 * byte, the last writable byte of the chain.
 *
 * Every available chain is completed: a malformed chain (a virtqueue rule
 * broken, or no writable byte to hold a status) gets a used element of
 * length 0, nothing written, counts in bad_chains and is reported (once per
 * reason, devices/virtqueue.h virtio_report); every other request
 * gets its status byte and a used length of the bytes written (data plus
 * the status byte). */
#ifndef DEVICES_VIRTIO_BLK_H
#define DEVICES_VIRTIO_BLK_H

#include "lib/types.h"
#include "devices/virtio.h"
#include "devices/virtqueue.h"
#include "devices/ramdisk.h"

#define VIRTIO_ID_BLOCK 2

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status (5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1u
#define VIRTIO_BLK_ID_BYTES 20

/* struct virtio_blk_config offsets (5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY 0                    /* le64 */
#define VIRTIO_BLK_CFG_SIZE_MAX 8                    /* le32 */
#define VIRTIO_BLK_CFG_SEG_MAX 12                    /* le32 */
#define VIRTIO_BLK_CFG_GEOMETRY 16                   /* le16 cylinders, u8 heads, u8 sectors */
#define VIRTIO_BLK_CFG_BLK_SIZE 20                   /* le32 */
#define VIRTIO_BLK_CFG_TOPOLOGY 24                   /* 8 bytes */
#define VIRTIO_BLK_CFG_WRITEBACK 32                  /* u8 */
#define VIRTIO_BLK_CFG_NUM_QUEUES 34                 /* le16 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36        /* le32 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG 40            /* le32 */
#define VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT 44   /* le32 */
#define VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS 48   /* le32 */
#define VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG 52       /* le32 */
#define VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP 56     /* u8 */
#define VIRTIO_BLK_CFG_SIZE 72                       /* through the secure-erase fields */

/* This device's limits, as offered in the configuration space. */
#define VIRTIO_BLK_QUEUE_SIZE VIRTIO_MAX_QUEUE_SIZE
#define VIRTIO_BLK_SIZE_MAX (1u << 16)   /* bytes per descriptor */
#define VIRTIO_BLK_SEG_MAX 126u /* data descriptors, header and status apart: 128 in all */
#define VIRTIO_BLK_MAX_DISCARD_SECTORS (1u << 16)
#define VIRTIO_BLK_MAX_DISCARD_SEG 16u
#define VIRTIO_BLK_MAX_WRITE_ZEROES_SECTORS (1u << 16)
#define VIRTIO_BLK_MAX_WRITE_ZEROES_SEG 16u
/* Drain rounds per notification (each at most a queue's worth). */
#define VIRTIO_BLK_MAX_DRAIN_ROUNDS 16u

struct virtio_blk {
	struct virtio_device *dev;
	struct ramdisk *disk;
	char serial[VIRTIO_BLK_ID_BYTES]; /* NUL-padded */
	uint8_t config[VIRTIO_BLK_CFG_SIZE];
	struct virtq_chain chain;         /* the request being handled (too big for a stack) */
	/* Counters, for logs and tests. */
	uint64_t requests;   /* chains completed with a status */
	uint64_t bad_chains; /* chains completed with length 0 (no status possible) */
	uint64_t io_errors;  /* VIRTIO_BLK_S_IOERR */
	uint64_t unsupported; /* VIRTIO_BLK_S_UNSUPP */
};

/* Make d a virtio-blk device over disk (5.2): device ID, offered features
 * (VERSION_1, EVENT_IDX, INDIRECT_DESC, FLUSH, SEG_MAX, SIZE_MAX, BLK_SIZE,
 * DISCARD, WRITE_ZEROES, and RO for a read-only disk), one queue, ops and
 * configuration space. serial: up to 20 bytes, may be NULL. The transport
 * sets d->mem, d->transport and whatever else it owns. */
void virtio_blk_init(struct virtio_blk *b, struct virtio_device *d, struct ramdisk *disk,
		     const char *serial);

extern const struct virtio_device_ops virtio_blk_ops;

#endif
