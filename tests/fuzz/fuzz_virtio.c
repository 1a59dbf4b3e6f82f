/* libFuzzer target for the virtio request path: devices/virtqueue.c and
 * devices/virtio_blk.c over devices/ramdisk.c. Built with
 * clang -fsanitize=fuzzer,address,undefined (`make fuzz`, tests/fuzz/README.md).
 *
 * Input: a 33-byte header (features, queue size, ring addresses, starting
 * ring indices, number of kicks), then guest RAM: everything the driver
 * controls (descriptor tables, rings, headers, buffers). Guest RAM and the
 * disk are allocated at exactly their sizes, so AddressSanitizer reports
 * any access outside them. After the kicks:
 *   - every popped chain was completed: the used index moved exactly as far
 *     as the available entries consumed, unless the device declared itself
 *     broken (DEVICE_NEEDS_RESET with a reason);
 *   - without a break, the device stopped at the avail index in RAM;
 *   - every byte of guest RAM that changed lies in the used ring or in a
 *     device-writable buffer some descriptor names (direct, or one level of
 *     indirect table), whenever those areas do not overlap the descriptor
 *     tables or the available ring (else the device's own writes could
 *     legitimately change what later descriptors name);
 *   - a read-only disk is unchanged, and request counters add up. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/ramdisk.h"
#include "devices/virtio_blk.h"
#include "devices/virtqueue.h"

/* lib/printf.c (virtq_describe formats with hv_snprintf) prints through
 * this; the fuzzer has no console. */
void console_putc(char c);
void console_putc(char c)
{
	(void)c;
}

/* lib/printf.c's console lock asks which CPU prints: one thread, CPU 0. */
unsigned console_cpu_id(void);
unsigned console_cpu_id(void)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "fuzz_virtio: invariant broken: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                          \
			abort();                                                              \
		}                                                                             \
	} while (0)

#define RAM_SIZE 0x4000u  /* 16 KiB: small, so random addresses often land in it */
#define DISK_SIZE 0x1000u /* 8 sectors */
#define HDR_SIZE 33u

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}
static uint16_t le16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static void notify_queue(struct virtio_device *d, unsigned q)
{
	(void)d;
	(void)q;
}
static void notify_config(struct virtio_device *d)
{
	(void)d;
}
static const struct virtio_transport_ops tops = { notify_queue, notify_config };

/* Mark allowed[gpa..gpa+len) (clipped to RAM). */
static void allow(uint8_t *allowed, uint64_t gpa, uint64_t len)
{
	if (gpa >= RAM_SIZE)
		return;
	uint64_t end = len > RAM_SIZE - gpa ? RAM_SIZE : gpa + len;
	memset(allowed + gpa, 1, (size_t)(end - gpa));
}

/* From ram as the driver left it: in *allowed every device-writable buffer
 * any descriptor names (the direct table of qsize entries, and each
 * indirect table one of them points to); in *control the descriptor tables
 * themselves. */
static void map_descriptors(uint8_t *allowed, uint8_t *control, const uint8_t *ram, uint64_t desc_gpa,
			    uint16_t qsize)
{
	allow(control, desc_gpa, 16ull * qsize);
	for (unsigned i = 0; i < qsize; i++) {
		struct virtq_desc d;
		uint64_t at = desc_gpa + 16ull * i;
		if (desc_gpa >= RAM_SIZE || at + 16 > RAM_SIZE || at < desc_gpa)
			return;
		memcpy(&d, ram + at, 16);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			allow(control, d.addr, d.len);
			for (uint64_t j = 0; j < d.len / 16; j++) {
				struct virtq_desc e;
				uint64_t et = d.addr + 16 * j;
				if (d.addr >= RAM_SIZE || et + 16 > RAM_SIZE || et < d.addr)
					break;
				memcpy(&e, ram + et, 16);
				if (e.flags & VIRTQ_DESC_F_WRITE)
					allow(allowed, e.addr, e.len);
			}
		} else if (d.flags & VIRTQ_DESC_F_WRITE) {
			allow(allowed, d.addr, d.len);
		}
	}
}

static struct virtio_blk blk; /* holds a 4 KiB chain: static, reset each run */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR_SIZE)
		return 0;
	const uint8_t *h = data;
	uint8_t flags = h[0];
	uint8_t *ram = calloc(1, RAM_SIZE);
	uint8_t *before = malloc(RAM_SIZE);
	uint8_t *allowed = calloc(1, RAM_SIZE);
	uint8_t *disk_data = malloc(DISK_SIZE);
	CHECK(ram && before && allowed && disk_data);
	memcpy(ram, data + HDR_SIZE, MIN(size - HDR_SIZE, (size_t)RAM_SIZE));
	for (unsigned i = 0; i < DISK_SIZE; i++)
		disk_data[i] = (uint8_t)(i * 31 + 7);

	struct guest_mem mem = { ram, RAM_SIZE };
	struct ramdisk disk;
	struct virtio_device dev;
	memset(&dev, 0, sizeof(dev));
	CHECK(ramdisk_init(&disk, disk_data, DISK_SIZE, flags & 0x10));
	uint64_t disk_sum = ramdisk_fnv1a64(&disk);
	virtio_blk_init(&blk, &dev, &disk, "fuzz");
	dev.mem = &mem;
	dev.transport = &tops;
	/* Features: a subset of those offered, from the flags. */
	uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_SIZE_MAX);
	if (flags & 0x01)
		f |= BIT(VIRTIO_F_INDIRECT_DESC);
	if (flags & 0x02)
		f |= BIT(VIRTIO_F_EVENT_IDX);
	if (flags & 0x04)
		f |= BIT(VIRTIO_BLK_F_FLUSH);
	if (flags & 0x08)
		f |= BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	dev.guest_features = f & dev.host_features;
	dev.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		     VIRTIO_STATUS_DRIVER_OK;

	struct virtqueue *vq = &dev.queues[0];
	vq->size = (h[1] & 0x10) ? le16(h + 2) : (uint16_t)(1u << (h[1] % 9));
	vq->desc_gpa = le64(h + 4);
	vq->avail_gpa = le64(h + 12);
	vq->used_gpa = le64(h + 20);
	if (!(flags & 0x40)) {
		/* Mostly inside RAM, and aligned unless bit 5 of h[1] says raw. */
		vq->desc_gpa %= RAM_SIZE;
		vq->avail_gpa %= RAM_SIZE;
		vq->used_gpa %= RAM_SIZE;
		if (!(h[1] & 0x20)) {
			vq->desc_gpa = ALIGN_DOWN(vq->desc_gpa, 16);
			vq->avail_gpa = ALIGN_DOWN(vq->avail_gpa, 2);
			vq->used_gpa = ALIGN_DOWN(vq->used_gpa, 4);
		}
	}
	const char *why = virtq_check_config(&mem, vq);
	if (why) {
		/* What a transport does: refuse to enable. Bit 5 of the flags
		 * goes on regardless (with a non-zero size), to show the pop
		 * path is safe even on a queue nobody checked. */
		if (!(flags & 0x20) || vq->size == 0 || vq->size > VIRTIO_MAX_QUEUE_SIZE)
			goto out;
	}
	vq->ready = true;
	virtq_reset_state(vq);
	vq->last_avail = le16(h + 28);
	vq->used_idx = le16(h + 30);
	vq->signalled_used = vq->used_idx;

	memcpy(before, ram, RAM_SIZE);
	uint16_t last0 = vq->last_avail, used0 = vq->used_idx;
	unsigned kicks = 1 + h[32] % 3;
	for (unsigned k = 0; k < kicks; k++)
		dev.ops->queue_notify(&dev, 0);

	uint16_t consumed = (uint16_t)(vq->last_avail - last0);
	uint16_t completed = (uint16_t)(vq->used_idx - used0);
	if (virtio_is_broken(&dev)) {
		CHECK(dev.broken_reason != NULL);
		/* A push into a used ring outside RAM is the one way to lose a
		 * completion, and it breaks the device. */
		CHECK(completed == consumed || completed + 1 == consumed);
	} else {
		CHECK(completed == consumed);
		CHECK((uint64_t)consumed <= (uint64_t)vq->size * VIRTIO_BLK_MAX_DRAIN_ROUNDS * kicks);
		/* Stopped at the avail index in RAM, unless the round limit
		 * cut a self-feeding ring short. */
		uint16_t avail_idx;
		CHECK(guest_read(&mem, vq->avail_gpa + 2, &avail_idx, 2));
		CHECK(avail_idx == vq->last_avail || consumed >= VIRTIO_BLK_MAX_DRAIN_ROUNDS);
	}
	CHECK(blk.requests + blk.bad_chains == consumed || virtio_is_broken(&dev));
	if (disk.read_only)
		CHECK(ramdisk_fnv1a64(&disk) == disk_sum);

	if (getenv("FUZZ_VIRTIO_VERBOSE"))
		fprintf(stderr, "fuzz_virtio: consumed %u requests %llu bad %llu ioerr %llu unsupp %llu broken %s\n",
			consumed, (unsigned long long)blk.requests, (unsigned long long)blk.bad_chains,
			(unsigned long long)blk.io_errors, (unsigned long long)blk.unsupported,
			dev.broken_reason ? dev.broken_reason : "-");
	/* Writes only where the driver allowed them. The check is exact when
	 * nothing the device may write overlaps what the driver described
	 * (descriptor tables, available ring): then the descriptors the device
	 * walked are those in RAM before the kicks. A driver that lets the
	 * device rewrite its own descriptors gets the other checks only. */
	uint8_t *control = calloc(1, RAM_SIZE);
	CHECK(control);
	allow(allowed, vq->used_gpa, virtq_used_bytes(vq->size));
	allow(control, vq->avail_gpa, virtq_avail_bytes(vq->size));
	map_descriptors(allowed, control, before, vq->desc_gpa, vq->size);
	bool self_modifying = false;
	for (unsigned i = 0; i < RAM_SIZE && !self_modifying; i++)
		self_modifying = allowed[i] && control[i];
	for (unsigned i = 0; i < RAM_SIZE && !self_modifying; i++)
		if (ram[i] != before[i] && !allowed[i]) {
			fprintf(stderr, "fuzz_virtio: byte %#x written outside any writable buffer\n", i);
			abort();
		}
	if (getenv("FUZZ_VIRTIO_VERBOSE"))
		fprintf(stderr, "fuzz_virtio: write check %s\n", self_modifying ? "skipped (self-modifying)" : "exact");
	free(control);
out:
	free(ram);
	free(before);
	free(allowed);
	free(disk_data);
	return 0;
}
