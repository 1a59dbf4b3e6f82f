#include "devices/ramdisk.h"
#include "lib/string.h"

bool ramdisk_init(struct ramdisk *rd, void *data, uint64_t size, bool read_only)
{
	if (size % RAMDISK_SECTOR_SIZE || (size && !data))
		return false;
	rd->data = data;
	rd->size = size;
	rd->read_only = read_only;
	rd->flushes = 0;
	return true;
}

bool ramdisk_range_ok(const struct ramdisk *rd, uint64_t sector, uint64_t count)
{
	uint64_t total = ramdisk_sectors(rd);

	return sector <= total && count <= total - sector;
}

static bool bytes_ok(const struct ramdisk *rd, uint64_t offset, uint64_t len)
{
	return range_within(offset, len, 0, rd->size);
}

enum ramdisk_result ramdisk_read_bytes(const struct ramdisk *rd, uint64_t offset, void *dst, uint64_t len)
{
	if (!bytes_ok(rd, offset, len))
		return RAMDISK_E_RANGE;
	if (len)
		memcpy(dst, rd->data + offset, (size_t)len);
	return RAMDISK_OK;
}

enum ramdisk_result ramdisk_write_bytes(struct ramdisk *rd, uint64_t offset, const void *src, uint64_t len)
{
	if (!bytes_ok(rd, offset, len))
		return RAMDISK_E_RANGE;
	if (rd->read_only)
		return RAMDISK_E_READONLY;
	if (len)
		memcpy(rd->data + offset, src, (size_t)len);
	return RAMDISK_OK;
}

/* After ramdisk_range_ok, count << 9 cannot overflow: it is at most size. */
enum ramdisk_result ramdisk_read(const struct ramdisk *rd, uint64_t sector, uint64_t count, void *dst)
{
	if (!ramdisk_range_ok(rd, sector, count))
		return RAMDISK_E_RANGE;
	return ramdisk_read_bytes(rd, sector << RAMDISK_SECTOR_SHIFT, dst, count << RAMDISK_SECTOR_SHIFT);
}

enum ramdisk_result ramdisk_write(struct ramdisk *rd, uint64_t sector, uint64_t count, const void *src)
{
	if (!ramdisk_range_ok(rd, sector, count))
		return RAMDISK_E_RANGE;
	return ramdisk_write_bytes(rd, sector << RAMDISK_SECTOR_SHIFT, src, count << RAMDISK_SECTOR_SHIFT);
}

enum ramdisk_result ramdisk_flush(struct ramdisk *rd)
{
	rd->flushes++;
	return RAMDISK_OK;
}

static enum ramdisk_result zero(struct ramdisk *rd, uint64_t sector, uint64_t count)
{
	if (!ramdisk_range_ok(rd, sector, count))
		return RAMDISK_E_RANGE;
	if (rd->read_only)
		return RAMDISK_E_READONLY;
	if (count)
		memset(rd->data + (sector << RAMDISK_SECTOR_SHIFT), 0, (size_t)(count << RAMDISK_SECTOR_SHIFT));
	return RAMDISK_OK;
}

enum ramdisk_result ramdisk_discard(struct ramdisk *rd, uint64_t sector, uint64_t count)
{
	return zero(rd, sector, count);
}

enum ramdisk_result ramdisk_write_zeroes(struct ramdisk *rd, uint64_t sector, uint64_t count)
{
	return zero(rd, sector, count);
}

uint64_t fnv1a64(const void *p, uint64_t len)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint64_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t ramdisk_fnv1a64(const struct ramdisk *rd)
{
	return fnv1a64(rd->data, rd->size);
}
