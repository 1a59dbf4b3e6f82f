/* A small virtio-blk driver (VIRTIO 1.2: 3.1 initialization, 4.1 PCI
 * transport, 2.7 split virtqueues, 5.2 block device) exercising the
 * hypervisor's disk from inside: writes and reads across the disk, batches
 * of requests per notification, flush, get-id, discard, write-zeroes, and a
 * hostile set that must fail cleanly without hurting anything. Completion is
 * polled: the device finishes requests during the notify exit.
 * The command line says what to expect: "ro" for a read-only disk. */
#include "tests/guests/common/guest.h"

#define BAR_BASE 0xc0000000u
#define QSIZE 64 /* 16 requests of 3 descriptors in flight, for the benchmark */

/* Split virtqueue layout (VIRTIO 1.2 2.7). */
struct virtq_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct virtq_avail { uint16_t flags, idx, ring[QSIZE], used_event; };
struct virtq_used_elem { uint32_t id, len; };
struct virtq_used { uint16_t flags, idx; struct virtq_used_elem ring[QSIZE]; uint16_t avail_event; };
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4

static struct virtq_desc desc[QSIZE] __attribute__((aligned(16)));
static struct virtq_avail avail __attribute__((aligned(2)));
static struct virtq_used used __attribute__((aligned(4)));
static struct virtq_desc indirect[QSIZE] __attribute__((aligned(16)));

struct blk_req { uint32_t type, reserved; uint64_t sector; };
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_T_DISCARD 11
#define BLK_T_WRITE_ZEROES 13
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2

static struct blk_req hdr[QSIZE];
static uint8_t status[QSIZE];
static uint8_t data[QSIZE][512] __attribute__((aligned(512)));
static uint8_t big[8 * 512];

static volatile uint8_t *common, *notify_addr, *devcfg;
static uint16_t last_used;
/* virtio-mmio (VIRTIO 1.2 4.2.2) instead of PCI, when the command line says "mmio". */
static bool use_mmio, bench;
#define MMIO_BASE 0xfeb00000u
#define M32(o) (*(volatile uint32_t *)(MMIO_BASE + (o)))

#define C8(o) (*(volatile uint8_t *)(common + (o)))
#define C16(o) (*(volatile uint16_t *)(common + (o)))
#define C32(o) (*(volatile uint32_t *)(common + (o)))

static bool find_device(unsigned *slot)
{
	for (unsigned d = 0; d < 32; d++)
		if (pci_cfg(d, 0) == 0x10421af4u) {
			*slot = d;
			return true;
		}
	return false;
}

static bool map_caps(unsigned slot)
{
	uint32_t bars_done = 0, notify_mult = 0;
	uint32_t off_common = 0, off_notify = 0, off_dev = 0;
	int bar_of[5] = { -1, -1, -1, -1, -1 };
	for (unsigned cap = pci_cfg(slot, 0x34) & 0xfc; cap; cap = (pci_cfg(slot, cap) >> 8) & 0xfc) {
		uint32_t w0 = pci_cfg(slot, cap);
		if ((w0 & 0xff) != 0x09)
			continue;
		unsigned type = (w0 >> 24) & 0xff;
		unsigned bar = pci_cfg(slot, cap + 4) & 0xff;
		uint32_t off = pci_cfg(slot, cap + 8);
		if (type >= 1 && type <= 4)
			bar_of[type] = (int)bar;
		if (type == 1)
			off_common = off;
		else if (type == 2) {
			off_notify = off;
			notify_mult = pci_cfg(slot, cap + 16);
		} else if (type == 4)
			off_dev = off;
	}
	if (bar_of[1] < 0 || bar_of[2] < 0 || bar_of[4] < 0 || bar_of[1] != bar_of[2])
		return false;
	unsigned bar = (unsigned)bar_of[1];
	uint32_t breg = 0x10 + bar * 4;
	pci_cfg_w(slot, breg, BAR_BASE);
	if ((pci_cfg(slot, breg) & 0x6) == 0x4)
		pci_cfg_w(slot, breg + 4, 0); /* 64-bit BAR: high half */
	pci_cfg_w(slot, 0x04, 0x6);       /* memory space, bus master */
	(void)bars_done;
	common = (volatile uint8_t *)(BAR_BASE + off_common);
	devcfg = (volatile uint8_t *)(BAR_BASE + off_dev);
	C16(0x16) = 0; /* queue_select 0 */
	notify_addr = (volatile uint8_t *)(BAR_BASE + off_notify + C16(0x1e) * notify_mult);
	return true;
}

/* The two transports behind one small interface. */
static void set_status(uint8_t v)
{
	if (use_mmio)
		M32(0x070) = v;
	else
		C8(0x14) = v;
}
static uint8_t get_status(void)
{
	return use_mmio ? (uint8_t)M32(0x070) : C8(0x14);
}
static uint32_t device_features(unsigned word)
{
	if (use_mmio) {
		M32(0x014) = word;
		return M32(0x010);
	}
	C32(0x00) = word;
	return C32(0x04);
}
static void driver_features(unsigned word, uint32_t v)
{
	if (use_mmio) {
		M32(0x024) = word;
		M32(0x020) = v;
	} else {
		C32(0x08) = word;
		C32(0x0c) = v;
	}
}
static uint16_t setup_queue0(void)
{
	uint16_t max;
	if (use_mmio) {
		M32(0x030) = 0;
		max = (uint16_t)M32(0x034);
		M32(0x038) = QSIZE;
		M32(0x080) = (uint32_t)desc;
		M32(0x084) = 0;
		M32(0x090) = (uint32_t)&avail;
		M32(0x094) = 0;
		M32(0x0a0) = (uint32_t)&used;
		M32(0x0a4) = 0;
		M32(0x044) = 1;
		return max;
	}
	C16(0x16) = 0;
	max = C16(0x18);
	C16(0x18) = QSIZE;
	*(volatile uint32_t *)(common + 0x20) = (uint32_t)desc;
	*(volatile uint32_t *)(common + 0x24) = 0;
	*(volatile uint32_t *)(common + 0x28) = (uint32_t)&avail;
	*(volatile uint32_t *)(common + 0x2c) = 0;
	*(volatile uint32_t *)(common + 0x30) = (uint32_t)&used;
	*(volatile uint32_t *)(common + 0x34) = 0;
	C16(0x1c) = 1;
	return max;
}

/* Submit chains described by (head) in order, notify once, wait for all. */
static void submit(const uint16_t *heads, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		avail.ring[(avail.idx + i) % QSIZE] = heads[i];
	__asm__ volatile("" ::: "memory");
	avail.idx = (uint16_t)(avail.idx + n);
	if (use_mmio)
		M32(0x050) = 0; /* QueueNotify: queue 0 */
	else
		*(volatile uint16_t *)notify_addr = 0;
	__asm__ volatile("" ::: "memory");
}

static unsigned completed(void)
{
	unsigned n = (uint16_t)(used.idx - last_used);
	last_used = used.idx;
	return n;
}

/* A 3-descriptor request in slot s: header, data (len, write?), status. */
static uint16_t build(unsigned s, uint32_t type, uint64_t sector, void *buf, uint32_t len, bool dev_writes)
{
	unsigned d0 = s * 3 % QSIZE, d1 = (d0 + 1) % QSIZE, d2 = (d0 + 2) % QSIZE;
	hdr[s] = (struct blk_req){ type, 0, sector };
	status[s] = 0xee;
	desc[d0] = (struct virtq_desc){ (uint32_t)&hdr[s], sizeof(hdr[s]), VIRTQ_DESC_F_NEXT, (uint16_t)d1 };
	if (len) {
		desc[d1] = (struct virtq_desc){ (uint32_t)buf, len,
						(uint16_t)(VIRTQ_DESC_F_NEXT | (dev_writes ? VIRTQ_DESC_F_WRITE : 0)),
						(uint16_t)d2 };
		desc[d2] = (struct virtq_desc){ (uint32_t)&status[s], 1, VIRTQ_DESC_F_WRITE, 0 };
	} else {
		desc[d0].next = (uint16_t)d1;
		desc[d1] = (struct virtq_desc){ (uint32_t)&status[s], 1, VIRTQ_DESC_F_WRITE, 0 };
	}
	return (uint16_t)d0;
}

static uint8_t do_request(uint32_t type, uint64_t sector, void *buf, uint32_t len, bool dev_writes)
{
	uint16_t h = build(0, type, sector, buf, len, dev_writes);
	submit(&h, 1);
	return completed() == 1 ? status[0] : 0xfe;
}

static void fill(uint8_t *b, unsigned n, uint32_t seed)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 131 + i * 7);
}

static bool same(const uint8_t *a, const uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Sequential transfers of 1 MiB in requests of `size` bytes, `depth` at a
 * time: guest TSC ticks (instructions, in Bochs) and VM exits. */
static uint8_t bench_buf[1 << 20] __attribute__((aligned(4096)));

static void bench_run(uint32_t type, uint32_t size, unsigned depth, uint32_t *ticks, uint32_t *exits)
{
	unsigned per_req = size / 512, nreq = (1u << 20) / size;
	uint32_t x0 = vmcall1(HC_GET_EXIT_COUNT, 0);
	uint64_t t0 = rdtsc();
	for (unsigned r = 0; r < nreq; r += depth) {
		uint16_t heads[16];
		unsigned n = nreq - r < depth ? nreq - r : depth;
		for (unsigned k = 0; k < n; k++)
			heads[k] = build(k, type, (uint64_t)(r + k) * per_req, bench_buf + (r + k) * size, size,
					 type == BLK_T_IN);
		submit(heads, n);
		completed();
	}
	*ticks = (uint32_t)(rdtsc() - t0);
	*exits = vmcall1(HC_GET_EXIT_COUNT, 0) - x0 - 1;
}

static void run_benchmarks(void)
{
	static uint8_t copy_dst[1 << 20];
	uint64_t t0 = rdtsc();
	__asm__ volatile("cld; rep movsl" : : "S"(bench_buf), "D"(copy_dst), "c"((1u << 20) / 4) : "memory");
	uint32_t memcpy_ticks = (uint32_t)(rdtsc() - t0);
	static const uint32_t sizes[2] = { 4096, 65536 };
	static const unsigned depths[2] = { 1, 16 };
	for (unsigned si = 0; si < 2; si++)
		for (unsigned di = 0; di < 2; di++) {
			uint32_t rt, rx, wt, wx;
			bench_run(BLK_T_OUT, sizes[si], depths[di], &wt, &wx);
			bench_run(BLK_T_IN, sizes[si], depths[di], &rt, &rx);
			gprintf("blkbench: size=%u depth=%u requests=%u read_ticks=%u read_exits=%u "
				"write_ticks=%u write_exits=%u memcpy_ticks=%u\n", sizes[si], depths[di],
				(1u << 20) / sizes[si], rt, rx, wt, wx, memcpy_ticks);
		}
}

void guest_main(uint32_t magic, uint32_t mb_info)
{
	(void)magic;
	bool expect_ro = false;
	/* The command line (Multiboot2 tag 1): "ro" for a read-only disk,
	 * "mmio" for the virtio-mmio transport. */
	for (uint32_t p = mb_info + 8; p < mb_info + *(uint32_t *)mb_info;) {
		uint32_t type = *(uint32_t *)p, size = *(uint32_t *)(p + 4);
		if (type == 1) {
			const char *c = (const char *)(p + 8);
			for (; *c; c++) {
				if (c[0] == 'r' && c[1] == 'o')
					expect_ro = true;
				if (c[0] == 'm' && c[1] == 'm' && c[2] == 'i' && c[3] == 'o')
					use_mmio = true;
				if (c[0] == 'b' && c[1] == 'e' && c[2] == 'n' && c[3] == 'c' && c[4] == 'h')
					bench = true;
			}
		}
		if (type == 0)
			break;
		p += (size + 7) & ~7u;
	}
	gprintf("virtio guest: virtio-blk over %s%s\n", use_mmio ? "MMIO" : "PCI",
		expect_ro ? ", read-only disk" : "");
	if (use_mmio) {
		check(M32(0x000) == 0x74726976u && M32(0x004) == 2 && M32(0x008) == 2,
		      "virtio-mmio: magic, version 2, block device", "magic 0x%x version %u id %u",
		      M32(0x000), M32(0x004), M32(0x008));
		devcfg = (volatile uint8_t *)(MMIO_BASE + 0x100);
	} else {
		unsigned slot;
		if (!find_device(&slot)) {
			check(false, "a virtio-blk PCI function (1af4:1042) is on bus 0", "");
			return;
		}
		check(map_caps(slot), "the virtio capabilities describe the common, notify and device areas", "");
	}

	/* Initialization (VIRTIO 1.2 3.1.1). */
	set_status(0);
	set_status(1);     /* ACKNOWLEDGE */
	set_status(1 | 2); /* DRIVER */
	uint32_t f_hi = device_features(1), f_lo = device_features(0);
	check(f_hi & 1, "the device offers VIRTIO_F_VERSION_1", "features 0x%x%08x", f_hi, f_lo);
	bool ro_offered = f_lo & (1u << 5);
	driver_features(1, 1); /* VERSION_1 */
	/* RO, FLUSH, DISCARD, WRITE_ZEROES, INDIRECT_DESC */
	driver_features(0, f_lo & ((1u << 5) | (1u << 9) | (1u << 13) | (1u << 14) | (1u << 28)));
	set_status(1 | 2 | 8); /* FEATURES_OK */
	check(get_status() & 8, "FEATURES_OK is accepted", "status 0x%x", get_status());
	uint16_t qmax = setup_queue0();
	set_status(1 | 2 | 4 | 8); /* DRIVER_OK */
	check(qmax >= QSIZE && !(get_status() & 0x40), "queue 0 is set up, no DEVICE_NEEDS_RESET",
	      "max %u status 0x%x", qmax, get_status());
	uint32_t cap_lo = *(volatile uint32_t *)(devcfg + 0);
	check(cap_lo >= 64, "capacity is read from the device configuration", "%u sectors", cap_lo);
	check(ro_offered == expect_ro, "VIRTIO_BLK_F_RO matches the configuration", "RO %u", ro_offered);

	if (bench) {
		run_benchmarks();
		return;
	}
	static uint8_t ref[512];
	if (!expect_ro) {
		/* Sector i * (capacity - 1) / 7, i = 0..7, filled with the byte
		 * (i + 1) * 17: the test script applies the same writes to its copy
		 * of the image and compares the hypervisor's disk checksum. */
		bool ok = true;
		for (unsigned i = 0; i < 8; i++) {
			uint32_t sec = i * (cap_lo - 1) / 7;
			for (unsigned b = 0; b < 512; b++)
				data[1][b] = (uint8_t)((i + 1) * 17);
			ok &= do_request(BLK_T_OUT, sec, data[1], 512, false) == BLK_S_OK;
		}
		for (unsigned i = 0; i < 8; i++) {
			uint32_t sec = i * (cap_lo - 1) / 7;
			for (unsigned b = 0; b < 512; b++)
				ref[b] = (uint8_t)((i + 1) * 17);
			ok &= do_request(BLK_T_IN, sec, data[2], 512, true) == BLK_S_OK && same(data[2], ref, 512);
		}
		check(ok, "writes across the whole disk read back", "");

		/* WRITE_ZEROES sectors 100-101 and DISCARD sector 200 (both zero
		 * the data here; the test script expects zeros there). */
		static struct { uint64_t sector; uint32_t num, flags; } seg;
		seg.sector = 100;
		seg.num = 2;
		seg.flags = 0;
		uint8_t wz = do_request(BLK_T_WRITE_ZEROES, 0, &seg, sizeof(seg), false);
		seg.sector = 200;
		seg.num = 1;
		uint8_t dc = do_request(BLK_T_DISCARD, 0, &seg, sizeof(seg), false);
		uint8_t rs = do_request(BLK_T_IN, 100, data[2], 512, true);
		bool zeros = true;
		for (unsigned b = 0; b < 512; b++)
			zeros &= data[2][b] == 0;
		check(wz == BLK_S_OK && dc == BLK_S_OK && rs == BLK_S_OK && zeros,
		      "WRITE_ZEROES and DISCARD complete; the sectors read as zeros", "%u %u %u", wz, dc, rs);
	} else {
		fill(data[1], 512, 9);
		check(do_request(BLK_T_OUT, 0, data[1], 512, false) == BLK_S_IOERR,
		      "a write to the read-only disk fails with IOERR", "status %u", status[0]);
		check(do_request(BLK_T_IN, 0, data[2], 512, true) == BLK_S_OK, "the read-only disk reads", "");
	}

	/* Five requests in one notification. */
	uint16_t heads[5];
	for (unsigned s = 0; s < 5; s++)
		heads[s] = build(s, BLK_T_IN, s, data[s + 5], 512, true);
	submit(heads, 5);
	unsigned done = completed();
	bool all_ok = done == 5;
	for (unsigned s = 0; s < 5; s++)
		all_ok &= status[s] == BLK_S_OK;
	check(all_ok, "five requests complete on one notification", "%u completed", done);

	uint8_t fs = do_request(BLK_T_FLUSH, 0, 0, 0, false);
	check(fs == BLK_S_OK, "FLUSH completes", "status %u", fs);
	static char id[20];
	uint8_t is = do_request(BLK_T_GET_ID, 0, id, 20, true);
	check(is == BLK_S_OK && id[0], "GET_ID returns a serial", "status %u '%c%c%c'", is, id[0], id[1], id[2]);
	uint8_t us = do_request(77, 0, data[3], 512, true);
	check(us == BLK_S_UNSUPP, "an unknown request type is UNSUPP", "status %u", us);

	/* Hostile requests: each must fail cleanly, never hurt anything. */
	uint8_t e1 = do_request(BLK_T_IN, 0, (void *)0xe0000000u, 512, true);   /* MMIO hole */
	uint8_t e2 = do_request(BLK_T_IN, (uint64_t)cap_lo, data[3], 512, true); /* past the end */
	uint8_t e3 = do_request(BLK_T_IN, ~0ULL - 1, data[3], 1024, true);       /* sector overflow */
	check(e1 != BLK_S_OK && e2 == BLK_S_IOERR && e3 == BLK_S_IOERR,
	      "buffers outside RAM and sectors past the end fail", "%u %u %u", e1, e2, e3);
	/* A buffer far beyond RAM (8 GiB) and one straddling its end. */
	uint16_t h = build(0, BLK_T_IN, 0, data[3], 512, true);
	desc[(h + 1) % QSIZE].addr = 0x200000000ULL;
	submit(&h, 1);
	bool far_ok = completed() == 1 && status[0] != BLK_S_OK;
	h = build(0, BLK_T_IN, 0, data[3], 512, true);
	desc[(h + 1) % QSIZE].addr = 16 * 1024 * 1024 - 256; /* the VM has 16 MiB */
	submit(&h, 1);
	bool end_ok = completed() == 1 && status[0] != BLK_S_OK;
	check(far_ok && end_ok, "buffers beyond RAM and straddling its end are refused", "");
	/* An indirect table claiming 1000 entries (bigger than the queue). */
	desc[0] = (struct virtq_desc){ (uint32_t)indirect, 16 * 1000, VIRTQ_DESC_F_INDIRECT, 0 };
	h = 0;
	submit(&h, 1);
	check(completed() == 1, "an oversized indirect table is refused, the chain completed", "");
	/* A descriptor loop: 0 -> 1 -> 0, both device-readable (a writable 1
	 * would be refused for coming before a readable one, 2.7.4.2, before
	 * the loop is found). */
	desc[0] = (struct virtq_desc){ (uint32_t)&hdr[0], 16, VIRTQ_DESC_F_NEXT, 1 };
	desc[1] = (struct virtq_desc){ (uint32_t)&status[0], 1, VIRTQ_DESC_F_NEXT, 0 };
	h = 0;
	submit(&h, 1);
	check(completed() == 1, "a descriptor loop is refused, the chain completed", "");
	/* After all that, an ordinary request still works. */
	uint8_t after = do_request(BLK_T_IN, 1, data[4], 512, true);
	check(after == BLK_S_OK && !(get_status() & 0x40), "a normal request works after the hostile set",
	      "status %u, device status 0x%x", after, get_status());
	(void)big;
	checks_summary();
}
