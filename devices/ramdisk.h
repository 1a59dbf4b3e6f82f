/* A disk held in a block of host memory: the backend behind virtio-blk.
 * Sectors are 512 bytes (the unit virtio-blk counts in, VIRTIO 1.2 5.2.6,
 * whatever blk_size says). Every operation checks its range against the
 * disk without overflow before it touches a byte, and a read-only disk
 * refuses every change. Pure logic: unit-tested on the host. */
#ifndef DEVICES_RAMDISK_H
#define DEVICES_RAMDISK_H

#include "lib/types.h"

#define RAMDISK_SECTOR_SIZE 512u
#define RAMDISK_SECTOR_SHIFT 9

enum ramdisk_result {
	RAMDISK_OK,
	RAMDISK_E_RANGE,    /* outside the disk, or a length not in whole sectors */
	RAMDISK_E_READONLY, /* a change to a read-only disk */
};

struct ramdisk {
	uint8_t *data;
	uint64_t size;      /* bytes; a multiple of RAMDISK_SECTOR_SIZE */
	bool read_only;
	uint64_t flushes;   /* ramdisk_flush calls (nothing to write back) */
};

/* False if size is not a whole number of sectors (data may be NULL only when size is 0). */
bool ramdisk_init(struct ramdisk *rd, void *data, uint64_t size, bool read_only);
static inline uint64_t ramdisk_sectors(const struct ramdisk *rd)
{
	return rd->size >> RAMDISK_SECTOR_SHIFT;
}

/* Is [sector, sector+count) on the disk (no overflow)? */
bool ramdisk_range_ok(const struct ramdisk *rd, uint64_t sector, uint64_t count);

/* Whole sectors. */
enum ramdisk_result ramdisk_read(const struct ramdisk *rd, uint64_t sector, uint64_t count, void *dst);
enum ramdisk_result ramdisk_write(struct ramdisk *rd, uint64_t sector, uint64_t count, const void *src);
/* Byte ranges: [offset, offset+len) on the disk; for requests whose buffers
 * split sectors (the request as a whole was checked in sectors). */
enum ramdisk_result ramdisk_read_bytes(const struct ramdisk *rd, uint64_t offset, void *dst, uint64_t len);
enum ramdisk_result ramdisk_write_bytes(struct ramdisk *rd, uint64_t offset, const void *src, uint64_t len);
/* Nothing is cached: flush only counts. Read-only disks accept it. */
enum ramdisk_result ramdisk_flush(struct ramdisk *rd);
/* Discard: the sectors read back as zeroes afterwards (deterministic). */
enum ramdisk_result ramdisk_discard(struct ramdisk *rd, uint64_t sector, uint64_t count);
enum ramdisk_result ramdisk_write_zeroes(struct ramdisk *rd, uint64_t sector, uint64_t count);

/* FNV-1a 64 (Fowler/Noll/Vo; offset basis 0xcbf29ce484222325, prime
 * 0x100000001b3) of the whole disk, for tests. */
uint64_t ramdisk_fnv1a64(const struct ramdisk *rd);
uint64_t fnv1a64(const void *p, uint64_t len);

#endif
