/* devices/pci.c and devices/pci_testdev.c: configuration mechanism #1 and
 * ECAM through real buses, the header's read-only and RW1C bits, BAR sizing
 * and decoding, capability lists, INTx, MSI, MSI-X, the test device, and a
 * random configuration-access loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "devices/irq.h"
#include "devices/pci.h"
#include "devices/pci_testdev.h"

#define ECAM_BASE 0xb0000000ULL
#define MSI_ADDR 0xfee00000u
#define MAX_FNS 16
#define MAX_MSGS 256

/* --- Fixture: a segment attached to a port bus and an MMIO bus ---------------- */

struct fixture {
	struct pci_segment seg;
	struct bus pio, mmio;
	unsigned msgs;
	uint64_t msg_address[MAX_MSGS];
	uint32_t msg_data[MAX_MSGS];
	bool irq_level;
	unsigned irq_changes;
	struct pci_function *fns[MAX_FNS];
	unsigned nfns;
	struct pci_testdev *testdev;
	/* config_write hook record */
	unsigned hook_calls, hook_reg, hook_size;
	uint32_t hook_value;
	/* bar_read/bar_write probe */
	unsigned bar_reads, bar_writes, probe_bar, probe_size;
	uint64_t probe_offset, probe_value;
	void *probe_opaque;
	/* legacy 0xCF8-0xCFB */
	unsigned legacy_reads, legacy_writes;
	uint64_t legacy_offset;
	unsigned legacy_size;
};

static void record_msi(void *ctx, uint64_t address, uint32_t data)
{
	struct fixture *f = ctx;
	if (f->msgs < MAX_MSGS) {
		f->msg_address[f->msgs] = address;
		f->msg_data[f->msgs] = data;
	}
	f->msgs++;
}

static void record_irq(void *ctx, unsigned pin, bool asserted)
{
	struct fixture *f = ctx;
	assert_int_equal(pin, 11);
	f->irq_level = asserted;
	f->irq_changes++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	if (!pci_segment_init(&f->seg, ECAM_BASE, record_msi, f))
		return -1;
	bus_init(&f->pio, "port I/O");
	bus_init(&f->mmio, "MMIO");
	if (!pci_segment_attach(&f->seg, &f->pio, &f->mmio))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	for (unsigned i = 0; i < f->nfns; i++)
		free(f->fns[i]);
	free(f->testdev);
	free(f);
	return 0;
}

static struct pci_function *new_fn(struct fixture *f, uint16_t vendor, uint16_t device, uint32_t class_code)
{
	assert_true(f->nfns < MAX_FNS);
	struct pci_function *fn = calloc(1, sizeof(*fn));
	assert_non_null(fn);
	pci_function_init(fn, vendor, device, class_code, 0x01);
	f->fns[f->nfns++] = fn;
	return fn;
}

static const struct irq_line *line_of(struct fixture *f)
{
	static struct irq_line l;
	l = (struct irq_line){ record_irq, f, 11 };
	return &l;
}

/* --- Access helpers -------------------------------------------------------------- */

static uint32_t cfg1_address(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return PCI_CONFIG_ENABLE | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static void set_address(struct fixture *f, uint32_t a)
{
	bool claimed;
	bus_write(&f->pio, PCI_CONFIG_ADDRESS_PORT, 4, a, &claimed);
	assert_true(claimed);
}

static uint64_t cfg1_read(struct fixture *f, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
	bool claimed;
	set_address(f, cfg1_address(0, dev, fn, reg));
	uint64_t v = bus_read(&f->pio, PCI_CONFIG_DATA_PORT + (reg & 3), size, &claimed);
	assert_true(claimed);
	return v;
}

static void cfg1_write(struct fixture *f, unsigned dev, unsigned fn, unsigned reg, unsigned size, uint64_t v)
{
	bool claimed;
	set_address(f, cfg1_address(0, dev, fn, reg));
	bus_write(&f->pio, PCI_CONFIG_DATA_PORT + (reg & 3), size, v, &claimed);
	assert_true(claimed);
}

static uint64_t ecam_offset(unsigned dev, unsigned fn, unsigned reg)
{
	return (uint64_t)dev << 15 | fn << 12 | reg;
}

static uint64_t ecam_read(struct fixture *f, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
	bool claimed;
	uint64_t v = bus_read(&f->mmio, ECAM_BASE + ecam_offset(dev, fn, reg), size, &claimed);
	assert_true(claimed);
	return v;
}

static void ecam_write(struct fixture *f, unsigned dev, unsigned fn, unsigned reg, unsigned size, uint64_t v)
{
	bool claimed;
	bus_write(&f->mmio, ECAM_BASE + ecam_offset(dev, fn, reg), size, v, &claimed);
	assert_true(claimed);
}

static uint64_t mem_read(struct fixture *f, uint64_t address, unsigned size)
{
	bool claimed;
	uint64_t v = pci_space_read(&f->seg, false, address, size, &claimed);
	assert_true(claimed);
	return v;
}

static void mem_write(struct fixture *f, uint64_t address, unsigned size, uint64_t v)
{
	bool claimed;
	pci_space_write(&f->seg, false, address, size, v, &claimed);
	assert_true(claimed);
}

static uint64_t probe_read(void *opaque, unsigned bar, uint64_t offset, unsigned size)
{
	struct fixture *f = opaque;
	f->bar_reads++;
	f->probe_bar = bar;
	f->probe_offset = offset;
	f->probe_size = size;
	return 0x12345678;
}

static void probe_write(void *opaque, unsigned bar, uint64_t offset, unsigned size, uint64_t value)
{
	struct fixture *f = opaque;
	f->bar_writes++;
	f->probe_bar = bar;
	f->probe_offset = offset;
	f->probe_size = size;
	f->probe_value = value;
}

static void hook(void *opaque, unsigned reg, unsigned size, uint32_t value)
{
	struct fixture *f = opaque;
	f->hook_calls++;
	f->hook_reg = reg;
	f->hook_size = size;
	f->hook_value = value;
}

/* A function at 00:dev.0 with a bit pattern in 0x40-0xff and a fully writable
 * scratch area at 0x80-0xbf (not a capability: just device-specific space). */
static struct pci_function *pattern_fn(struct fixture *f, unsigned dev)
{
	struct pci_function *fn = new_fn(f, 0x1234, (uint16_t)(0x5600 + dev), 0x020000);
	for (unsigned r = 0x40; r < 0x100; r++)
		pci_set8(fn, r, (uint8_t)(r * 7 + dev));
	for (unsigned r = 0x80; r < 0xc0; r++)
		pci_set_wmask(fn, r, 1, 0xff);
	assert_true(pci_register_function(&f->seg, dev, 0, fn));
	return fn;
}

/* --- The host bridge, mechanism #1 ---------------------------------------------- */

static void test_host_bridge_ids(void **state)
{
	struct fixture *f = *state;
	for (int ecam = 0; ecam < 2; ecam++) {
		uint64_t (*rd)(struct fixture *, unsigned, unsigned, unsigned, unsigned) = ecam ? ecam_read : cfg1_read;
		assert_int_equal(rd(f, 0, 0, PCI_VENDOR_ID, 4), 0x00081b36);
		assert_int_equal(rd(f, 0, 0, PCI_VENDOR_ID, 2), 0x1b36);
		assert_int_equal(rd(f, 0, 0, PCI_DEVICE_ID, 2), 0x0008);
		assert_int_equal(rd(f, 0, 0, PCI_REVISION_ID, 4), 0x06000000); /* class 06/00/00, rev 0 */
		assert_int_equal(rd(f, 0, 0, PCI_CLASS_BASE, 1), 0x06);
		assert_int_equal(rd(f, 0, 0, PCI_CLASS_SUB, 1), 0x00);
		assert_int_equal(rd(f, 0, 0, PCI_HEADER_TYPE, 1), 0x00);
		assert_int_equal(rd(f, 0, 0, PCI_CAPABILITY_LIST, 1), 0);
		assert_int_equal(rd(f, 0, 0, PCI_INTERRUPT_PIN, 1), 0);
		for (unsigned b = 0; b < PCI_NUM_BARS; b++)
			assert_int_equal(rd(f, 0, 0, PCI_BAR0 + 4 * b, 4), 0);
	}
	assert_ptr_equal(pci_lookup(&f->seg, 0, 0), &f->seg.host_bridge);
	/* IDs and class are read-only. */
	cfg1_write(f, 0, 0, PCI_VENDOR_ID, 4, 0xdeadbeef);
	ecam_write(f, 0, 0, PCI_REVISION_ID, 4, 0xffffffff);
	assert_int_equal(cfg1_read(f, 0, 0, PCI_VENDOR_ID, 4), 0x00081b36);
	assert_int_equal(cfg1_read(f, 0, 0, PCI_REVISION_ID, 4), 0x06000000);
}

static void test_mech1_every_width_and_offset(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = pattern_fn(f, 3);
	/* Reads: every offset, every width that stays inside the DWORD. */
	for (unsigned reg = 0; reg < 256; reg++)
		for (unsigned size = 1; size <= 4; size *= 2) {
			if ((reg & 3) + size > 4)
				continue;
			assert_int_equal(cfg1_read(f, 3, 0, reg, size), pci_get(fn, reg, size));
		}
	/* Writes to the scratch area, every offset and width. */
	for (unsigned reg = 0x80; reg < 0xc0; reg++)
		for (unsigned size = 1; size <= 4; size *= 2) {
			if ((reg & 3) + size > 4)
				continue;
			uint32_t v = 0xa1b2c3d4u ^ (reg * 0x01010101u) ^ size;
			uint8_t before[8];
			memcpy(before, &fn->config[reg & ~3u], 4);
			cfg1_write(f, 3, 0, reg, size, v);
			for (unsigned i = 0; i < 4; i++) {
				unsigned at = (reg & ~3u) + i;
				bool written = at >= reg && at < reg + size;
				uint8_t want = written ? (uint8_t)(v >> (8 * (at - reg))) : before[i];
				assert_int_equal(fn->config[at], want);
			}
			assert_int_equal(cfg1_read(f, 3, 0, reg, size), v & size_mask(size));
		}
	/* A word at 0xCFE is register + 2. */
	cfg1_write(f, 3, 0, 0x90, 4, 0x11223344);
	set_address(f, cfg1_address(0, 3, 0, 0x90));
	bool claimed;
	assert_int_equal(bus_read(&f->pio, 0xcfe, 2, &claimed), 0x1122);
	assert_int_equal(bus_read(&f->pio, 0xcff, 1, &claimed), 0x11);
	assert_int_equal(bus_read(&f->pio, 0xcfd, 1, &claimed), 0x33);
	bus_write(&f->pio, 0xcfe, 2, 0xbeef, &claimed);
	assert_int_equal(pci_get32(fn, 0x90), 0xbeef3344);
	/* Accesses that would cross 0xCFF are not the segment's. */
	assert_int_equal(bus_read(&f->pio, 0xcfe, 4, &claimed), 0xffffffff);
	assert_false(claimed);
	/* Mechanism #1 only reaches the first 256 bytes: register bits 7:2. */
	pci_set32(fn, 0x100, 0x12345678);
	assert_int_equal(cfg1_read(f, 3, 0, 0x00, 4), pci_get32(fn, 0));
}

static void test_config_address_register(void **state)
{
	struct fixture *f = *state;
	bool claimed;
	/* Reserved bits 30:24 and 1:0 read 0. */
	set_address(f, 0xffffffff);
	assert_int_equal(bus_read(&f->pio, 0xcf8, 4, &claimed), 0x80fffffc);
	set_address(f, 0x7f00ff03);
	assert_int_equal(bus_read(&f->pio, 0xcf8, 4, &claimed), 0x0000ff00);
	/* Only DWORD accesses latch it; others are ordinary I/O, unclaimed
	 * here: all-ones, write dropped. */
	set_address(f, cfg1_address(0, 0, 0, 0));
	for (unsigned port = 0xcf8; port < 0xcfc; port++) {
		bus_write(&f->pio, port, 1, 0x00, &claimed);
		assert_true(claimed);
		assert_int_equal(bus_read(&f->pio, port, 1, &claimed), 0xff);
	}
	bus_write(&f->pio, 0xcf8, 2, 0x0000, &claimed);
	bus_write(&f->pio, 0xcfa, 2, 0x0000, &claimed);
	assert_int_equal(bus_read(&f->pio, 0xcfa, 2, &claimed), 0xffff);
	assert_int_equal(bus_read(&f->pio, 0xcf8, 4, &claimed), cfg1_address(0, 0, 0, 0));
	assert_int_equal(bus_read(&f->pio, 0xcfc, 2, &claimed), 0x1b36);
	/* Enable clear: CONFIG_DATA is an unclaimed I/O port. */
	set_address(f, cfg1_address(0, 0, 0, 0) & ~PCI_CONFIG_ENABLE);
	assert_int_equal(bus_read(&f->pio, 0xcfc, 4, &claimed), 0xffffffff);
	assert_int_equal(bus_read(&f->pio, 0xcfd, 1, &claimed), 0xff);
	set_address(f, (cfg1_address(0, 0, 0, PCI_INTERRUPT_LINE)) & ~PCI_CONFIG_ENABLE);
	bus_write(&f->pio, 0xcfc, 1, 0x42, &claimed);
	assert_int_equal(pci_get8(&f->seg.host_bridge, PCI_INTERRUPT_LINE), 0);
	/* Buses other than 0: nothing there. */
	set_address(f, cfg1_address(1, 0, 0, 0));
	assert_int_equal(bus_read(&f->pio, 0xcfc, 4, &claimed), 0xffffffff);
	set_address(f, cfg1_address(0xff, 0, 0, PCI_INTERRUPT_LINE));
	bus_write(&f->pio, 0xcfc, 1, 0x42, &claimed);
	assert_int_equal(pci_get8(&f->seg.host_bridge, PCI_INTERRUPT_LINE), 0);
}

static uint64_t legacy_read(void *opaque, uint64_t offset, unsigned size)
{
	struct fixture *f = opaque;
	f->legacy_reads++;
	f->legacy_offset = offset;
	f->legacy_size = size;
	return 0x5a5a5a5a;
}

static void legacy_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct fixture *f = opaque;
	(void)value;
	f->legacy_writes++;
	f->legacy_offset = offset;
	f->legacy_size = size;
}

static void test_config_address_passthrough(void **state)
{
	struct fixture *f = *state;
	bool claimed;
	f->seg.legacy_read = legacy_read;
	f->seg.legacy_write = legacy_write;
	f->seg.legacy_opaque = f;
	set_address(f, 0x80001234 & ~3u);
	/* e.g. a reset control register at 0xCF9 */
	bus_write(&f->pio, 0xcf9, 1, 0x06, &claimed);
	assert_int_equal(f->legacy_writes, 1);
	assert_int_equal(f->legacy_offset, 1);
	assert_int_equal(f->legacy_size, 1);
	assert_int_equal(bus_read(&f->pio, 0xcfa, 2, &claimed), 0x5a5a);
	assert_int_equal(f->legacy_reads, 1);
	assert_int_equal(f->legacy_offset, 2);
	assert_int_equal(f->legacy_size, 2);
	/* The DWORD latch is not passed on and not disturbed. */
	assert_int_equal(bus_read(&f->pio, 0xcf8, 4, &claimed), 0x80001234);
	assert_int_equal(f->legacy_reads, 1);
}

static void test_absent_functions(void **state)
{
	struct fixture *f = *state;
	pattern_fn(f, 5);
	for (unsigned dev = 0; dev < PCI_MAX_DEVICES; dev++)
		for (unsigned func = 0; func < PCI_MAX_FUNCTIONS; func++) {
			if ((dev == 0 || dev == 5) && func == 0)
				continue;
			assert_null(pci_lookup(&f->seg, dev, func));
			for (unsigned reg = 0; reg < 0x40; reg += 4) {
				assert_int_equal(cfg1_read(f, dev, func, reg, 4), 0xffffffff);
				assert_int_equal(cfg1_read(f, dev, func, reg + 2, 2), 0xffff);
				assert_int_equal(cfg1_read(f, dev, func, reg + 3, 1), 0xff);
				assert_int_equal(ecam_read(f, dev, func, reg, 4), 0xffffffff);
			}
			assert_int_equal(ecam_read(f, dev, func, 0xffc, 4), 0xffffffff);
			assert_true(ecam_read(f, dev, func, 0x100, 8) == UINT64_MAX);
			/* Writes go nowhere (ASan would catch a stray one). */
			cfg1_write(f, dev, func, PCI_COMMAND, 2, 0xffff);
			ecam_write(f, dev, func, PCI_INTERRUPT_LINE, 1, 0x0b);
		}
	assert_int_equal(cfg1_read(f, 5, 0, PCI_VENDOR_ID, 2), 0x1234);
	assert_null(pci_lookup(&f->seg, 32, 0));
	assert_null(pci_lookup(&f->seg, 0, 8));
}

static void test_ecam_matches_mech1(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = pattern_fn(f, 7);
	for (unsigned dev = 0; dev <= 7; dev += 7)
		for (unsigned reg = 0; reg < 256; reg++)
			for (unsigned size = 1; size <= 4; size *= 2)
				if ((reg & 3) + size <= 4)
					assert_int_equal(ecam_read(f, dev, 0, reg, size), cfg1_read(f, dev, 0, reg, size));
	/* Writes through ECAM show through mechanism #1 and vice versa. */
	ecam_write(f, 7, 0, 0x84, 4, 0xcafef00d);
	assert_int_equal(cfg1_read(f, 7, 0, 0x84, 4), 0xcafef00d);
	cfg1_write(f, 7, 0, 0x86, 2, 0x1234);
	assert_int_equal(ecam_read(f, 7, 0, 0x84, 4), 0x1234f00d);
	/* A QWORD is two DWORD requests; an access across a DWORD is split. */
	ecam_write(f, 7, 0, 0x88, 8, 0x0102030405060708ULL);
	assert_int_equal(pci_get32(fn, 0x88), 0x05060708);
	assert_int_equal(pci_get32(fn, 0x8c), 0x01020304);
	assert_true(ecam_read(f, 7, 0, 0x88, 8) == 0x0102030405060708ULL);
	assert_int_equal(ecam_read(f, 7, 0, 0x8b, 2), 0x0405);
	ecam_write(f, 7, 0, 0x8b, 2, 0xaabb);
	assert_int_equal(pci_get32(fn, 0x88), 0xbb060708);
	assert_int_equal(pci_get32(fn, 0x8c), 0x010203aa);
	/* ECAM reaches the extended space, which is zero without capabilities
	 * ("no extended capabilities" header, PCIe Base 3.0 7.9.2). */
	assert_int_equal(ecam_read(f, 7, 0, 0x100, 4), 0);
	pci_set32(fn, 0xffc, 0x89abcdef);
	assert_int_equal(ecam_read(f, 7, 0, 0xffc, 4), 0x89abcdef);
	assert_int_equal(ecam_read(f, 7, 0, 0xfff, 1), 0x89);
	/* Addresses past the window are not the segment's. */
	bool claimed;
	bus_read(&f->mmio, ECAM_BASE + PCI_ECAM_SIZE, 4, &claimed);
	assert_false(claimed);
	bus_read(&f->mmio, ECAM_BASE - 4, 4, &claimed);
	assert_false(claimed);
}

/* --- Header registers --------------------------------------------------------------- */

static void test_read_only_and_rw1c(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = new_fn(f, 0x1af4, 0x1000, 0x020000);
	pci_set_intx_pin(fn, PCI_INTA, NULL);
	assert_true(pci_register_function(&f->seg, 2, 0, fn));
	/* Command: only the implemented bits stick. */
	cfg1_write(f, 2, 0, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(cfg1_read(f, 2, 0, PCI_COMMAND, 2), PCI_COMMAND_WRITABLE);
	assert_int_equal(PCI_COMMAND_WRITABLE, 0x0547);
	cfg1_write(f, 2, 0, PCI_COMMAND, 2, 0);
	assert_int_equal(cfg1_read(f, 2, 0, PCI_COMMAND, 2), 0);
	/* Status: error bits are RW1C, the rest read-only. */
	pci_set16(fn, PCI_STATUS, PCI_STATUS_W1C | PCI_STATUS_CAP_LIST);
	cfg1_write(f, 2, 0, PCI_STATUS, 2, 0); /* writing 0 changes nothing */
	assert_int_equal(cfg1_read(f, 2, 0, PCI_STATUS, 2), PCI_STATUS_W1C | PCI_STATUS_CAP_LIST);
	cfg1_write(f, 2, 0, PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_CAP_LIST |
					       PCI_STATUS_INTERRUPT);
	assert_int_equal(cfg1_read(f, 2, 0, PCI_STATUS, 2),
			 (PCI_STATUS_W1C & ~PCI_STATUS_REC_MASTER_ABORT) | PCI_STATUS_CAP_LIST);
	/* A DWORD write to Command/Status with Status half 0 leaves Status. */
	cfg1_write(f, 2, 0, PCI_COMMAND, 4, 0x00000002);
	assert_int_equal(cfg1_read(f, 2, 0, PCI_COMMAND, 4),
			 (uint32_t)((PCI_STATUS_W1C & ~PCI_STATUS_REC_MASTER_ABORT) | PCI_STATUS_CAP_LIST) << 16 | 2);
	cfg1_write(f, 2, 0, PCI_COMMAND, 4, 0xffff0000);
	assert_int_equal(cfg1_read(f, 2, 0, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg1_read(f, 2, 0, PCI_COMMAND, 2), 0); /* 0 written to Command */
	/* IDs, class, header type, BIST, latency, pin: read-only. */
	static const unsigned ro[] = { PCI_VENDOR_ID, PCI_DEVICE_ID, PCI_REVISION_ID, PCI_CLASS_PROG,
				       PCI_CLASS_SUB, PCI_CLASS_BASE, PCI_LATENCY_TIMER, PCI_HEADER_TYPE,
				       PCI_BIST, PCI_SUBSYSTEM_VENDOR_ID, PCI_CARDBUS_CIS, PCI_ROM_ADDRESS,
				       PCI_CAPABILITY_LIST, PCI_INTERRUPT_PIN, PCI_MIN_GNT, PCI_MAX_LAT };
	for (size_t i = 0; i < ARRAY_SIZE(ro); i++) {
		uint8_t before = pci_get8(fn, ro[i]);
		cfg1_write(f, 2, 0, ro[i], 1, (uint8_t)~before);
		assert_int_equal(pci_get8(fn, ro[i]), before);
	}
	assert_int_equal(cfg1_read(f, 2, 0, PCI_INTERRUPT_PIN, 1), PCI_INTA);
	assert_int_equal(cfg1_read(f, 2, 0, PCI_ROM_ADDRESS, 4), 0); /* no expansion ROM */
	/* Cache Line Size and Interrupt Line are storage. */
	cfg1_write(f, 2, 0, PCI_CACHE_LINE_SIZE, 1, 0x10);
	cfg1_write(f, 2, 0, PCI_INTERRUPT_LINE, 1, 0x0b);
	assert_int_equal(cfg1_read(f, 2, 0, PCI_CACHE_LINE_SIZE, 1), 0x10);
	assert_int_equal(ecam_read(f, 2, 0, PCI_INTERRUPT_LINE, 2), 0x010b);
	/* Nothing else in the header or the rest of the space is writable. */
	for (unsigned reg = 0; reg < PCI_CONFIG_SPACE_SIZE; reg++) {
		bool writable = (reg >= PCI_COMMAND && reg < PCI_COMMAND + 2) || reg == PCI_CACHE_LINE_SIZE ||
				reg == PCI_INTERRUPT_LINE;
		if (!writable)
			assert_int_equal(fn->wmask[reg], 0);
	}
}

static void test_bar_sizing_32bit(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = new_fn(f, 0x1234, 0x0001, 0x020000);
	assert_true(pci_set_bar(fn, 0, PCI_BAR_MEM_TYPE_32, 0x1000));
	assert_true(pci_set_bar(fn, 1, PCI_BAR_MEM_TYPE_32 | PCI_BAR_MEM_PREFETCH, MiB(16)));
	assert_true(pci_set_bar(fn, 3, PCI_BAR_MEM_TYPE_32, 16));
	assert_true(pci_register_function(&f->seg, 4, 0, fn));
	/* Before sizing the BARs read their type bits. */
	assert_int_equal(cfg1_read(f, 4, 0, PCI_BAR0, 4), 0x0);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_BAR0 + 4, 4), 0x8);
	/* Write all-ones, read the size mask with the type bits. */
	cfg1_write(f, 4, 0, PCI_BAR0, 4, 0xffffffff);
	cfg1_write(f, 4, 0, PCI_BAR0 + 4, 4, 0xffffffff);
	cfg1_write(f, 4, 0, PCI_BAR0 + 8, 4, 0xffffffff);
	cfg1_write(f, 4, 0, PCI_BAR0 + 12, 4, 0xffffffff);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_BAR0, 4), 0xfffff000);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_BAR0 + 4, 4), 0xff000008);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_BAR0 + 8, 4), 0); /* not implemented */
	assert_int_equal(cfg1_read(f, 4, 0, PCI_BAR0 + 12, 4), 0xfffffff0);
	/* Size = ~(mask & ~0xf) + 1, as software computes it. */
	assert_int_equal((uint32_t)~(cfg1_read(f, 4, 0, PCI_BAR0 + 4, 4) & ~0xfu) + 1, MiB(16));
	/* Place them; low bits are kept whatever is written. */
	cfg1_write(f, 4, 0, PCI_BAR0, 4, 0xc0001fff);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_BAR0, 4), 0xc0001000);
	assert_true(pci_bar_address(fn, 0) == 0xc0001000);
	cfg1_write(f, 4, 0, PCI_BAR0 + 4, 4, 0xc1000000);
	assert_true(pci_bar_address(fn, 1) == 0xc1000000);
	/* Byte writes to a BAR work byte by byte. */
	cfg1_write(f, 4, 0, PCI_BAR0 + 3, 1, 0xd0);
	assert_true(pci_bar_address(fn, 0) == 0xd0001000);
	assert_true(pci_bar_address(fn, 2) == PCI_BAR_UNMAPPED);
	assert_true(pci_bar_address(fn, 6) == PCI_BAR_UNMAPPED);
}

static void test_bar_sizing_64bit(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = new_fn(f, 0x1234, 0x0002, 0x020000);
	assert_true(pci_set_bar(fn, 0, PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH, 0x2000));
	assert_true(pci_set_bar(fn, 2, PCI_BAR_MEM_TYPE_64, GiB(8)));
	assert_true(pci_set_bar(fn, 4, PCI_BAR_MEM_TYPE_64, GiB(4)));
	assert_true(pci_register_function(&f->seg, 6, 0, fn));
	for (unsigned r = PCI_BAR0; r < PCI_BAR0 + 24; r += 4)
		ecam_write(f, 6, 0, r, 4, 0xffffffff);
	assert_int_equal(ecam_read(f, 6, 0, PCI_BAR0, 4), 0xffffe00c);
	assert_int_equal(ecam_read(f, 6, 0, PCI_BAR0 + 4, 4), 0xffffffff);
	assert_int_equal(ecam_read(f, 6, 0, PCI_BAR0 + 8, 4), 0x00000004);
	assert_int_equal(ecam_read(f, 6, 0, PCI_BAR0 + 12, 4), 0xfffffffe);
	assert_int_equal(ecam_read(f, 6, 0, PCI_BAR0 + 16, 4), 0x00000004);
	assert_int_equal(ecam_read(f, 6, 0, PCI_BAR0 + 20, 4), 0xffffffff);
	/* The 64-bit size from the pair. */
	uint64_t mask = ecam_read(f, 6, 0, PCI_BAR0 + 8, 4) | ecam_read(f, 6, 0, PCI_BAR0 + 12, 4) << 32;
	assert_true(~(mask & ~0xfULL) + 1 == GiB(8));
	/* Place BAR2 above 4 GiB through a QWORD ECAM write. */
	ecam_write(f, 6, 0, PCI_BAR0 + 8, 8, 0x0000000a00000000ULL);
	assert_true(pci_bar_address(fn, 2) == 0xa00000000ULL);
	ecam_write(f, 6, 0, PCI_BAR0, 4, 0xfebfe000);
	ecam_write(f, 6, 0, PCI_BAR0 + 4, 4, 0x1);
	assert_true(pci_bar_address(fn, 0) == 0x1febfe000ULL);
	/* The upper halves are not BARs of their own. */
	assert_true(pci_bar_address(fn, 1) == PCI_BAR_UNMAPPED);
	assert_true(pci_bar_address(fn, 3) == PCI_BAR_UNMAPPED);
	assert_true(pci_bar_address(fn, 5) == PCI_BAR_UNMAPPED);
}

static void test_bar_sizing_io(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = new_fn(f, 0x1234, 0x0003, 0x010100);
	assert_true(pci_set_bar(fn, 0, PCI_BAR_SPACE_IO, 32));
	assert_true(pci_set_bar(fn, 1, PCI_BAR_SPACE_IO, 4));
	assert_true(pci_set_bar(fn, 5, PCI_BAR_SPACE_IO, 256));
	assert_true(pci_register_function(&f->seg, 8, 0, fn));
	assert_int_equal(cfg1_read(f, 8, 0, PCI_BAR0, 4), 0x1);
	cfg1_write(f, 8, 0, PCI_BAR0, 4, 0xffffffff);
	cfg1_write(f, 8, 0, PCI_BAR0 + 4, 4, 0xffffffff);
	cfg1_write(f, 8, 0, PCI_BAR0 + 20, 4, 0xffffffff);
	assert_int_equal(cfg1_read(f, 8, 0, PCI_BAR0, 4), 0xffffffe1);
	assert_int_equal(cfg1_read(f, 8, 0, PCI_BAR0 + 4, 4), 0xfffffffd);
	assert_int_equal(cfg1_read(f, 8, 0, PCI_BAR0 + 20, 4), 0xffffff01);
	cfg1_write(f, 8, 0, PCI_BAR0, 4, 0xc040);
	assert_int_equal(cfg1_read(f, 8, 0, PCI_BAR0, 4), 0xc041);
	assert_true(pci_bar_address(fn, 0) == 0xc040);
	cfg1_write(f, 8, 0, PCI_BAR0, 2, 0xc05f);
	assert_true(pci_bar_address(fn, 0) == 0xc040);
}

static void test_set_bar_refusals(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = new_fn(f, 0x1234, 0x0004, 0x020000);
	assert_false(pci_set_bar(fn, 6, PCI_BAR_MEM_TYPE_32, 0x1000));
	assert_false(pci_set_bar(fn, 0, PCI_BAR_MEM_TYPE_32, 0x1800)); /* not a power of two */
	assert_false(pci_set_bar(fn, 0, PCI_BAR_MEM_TYPE_32, 0));
	assert_false(pci_set_bar(fn, 0, PCI_BAR_MEM_TYPE_32, 8));      /* below 16 */
	assert_false(pci_set_bar(fn, 0, PCI_BAR_MEM_TYPE_32, GiB(4))); /* cannot fit below 4 GiB */
	assert_false(pci_set_bar(fn, 0, PCI_BAR_SPACE_IO, 2));
	assert_false(pci_set_bar(fn, 0, PCI_BAR_SPACE_IO, 512));
	assert_false(pci_set_bar(fn, 0, PCI_BAR_SPACE_IO | PCI_BAR_MEM_PREFETCH, 16));
	assert_false(pci_set_bar(fn, 0, 0x2, 0x1000));  /* type 01b: reserved */
	assert_false(pci_set_bar(fn, 0, 0x6, 0x1000));  /* type 11b: reserved */
	assert_false(pci_set_bar(fn, 0, 0x10, 0x1000)); /* not a flag */
	assert_false(pci_set_bar(fn, 5, PCI_BAR_MEM_TYPE_64, 0x1000)); /* no register 6 */
	assert_true(pci_set_bar(fn, 1, PCI_BAR_MEM_TYPE_32, 0x1000));
	assert_false(pci_set_bar(fn, 1, PCI_BAR_MEM_TYPE_32, 0x1000)); /* taken */
	assert_false(pci_set_bar(fn, 0, PCI_BAR_MEM_TYPE_64, 0x1000)); /* would take register 1 */
	assert_true(pci_set_bar(fn, 2, PCI_BAR_MEM_TYPE_64, 0x1000));
	assert_false(pci_set_bar(fn, 3, PCI_BAR_SPACE_IO, 16)); /* upper half of BAR2 */
	assert_true(pci_set_bar(fn, 0, PCI_BAR_MEM_TYPE_32, GiB(2)));
	/* An unimplemented BAR reads 0 and ignores writes. */
	assert_true(pci_register_function(&f->seg, 9, 0, fn));
	ecam_write(f, 9, 0, PCI_BAR0 + 16, 4, 0xffffffff);
	assert_int_equal(ecam_read(f, 9, 0, PCI_BAR0 + 16, 4), 0);
}

/* --- Capability lists --------------------------------------------------------------- */

static void test_capability_list(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = new_fn(f, 0x1234, 0x0005, 0x020000);
	assert_int_equal(pci_get16(fn, PCI_STATUS) & PCI_STATUS_CAP_LIST, 0);
	assert_int_equal(pci_find_capability(fn, PCI_CAP_ID_VNDR), 0);
	static const struct {
		uint8_t id, len, offset;
	} caps[] = { { PCI_CAP_ID_VNDR, 5, 0x40 }, { 0x01, 8, 0x48 }, { PCI_CAP_ID_EXP, 0x3c, 0x50 },
		     { 0x0d, 2, 0x8c } };
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		assert_int_equal(pci_add_capability(fn, caps[i].id, caps[i].len), caps[i].offset);
	assert_int_equal(pci_add_capability(fn, 0x09, 1), 0);          /* shorter than a header */
	assert_int_equal(pci_add_capability(fn, 0x09, 0x71), 0);       /* 0x90 + 0x71 > 0x100 */
	assert_int_equal(pci_add_capability(fn, 0x09, 0x70), 0x90);    /* exactly to the end */
	assert_int_equal(pci_add_capability(fn, 0x09, 2), 0);          /* full */
	assert_true(pci_register_function(&f->seg, 10, 0, fn));

	/* Walk it as a guest does: Status bit 4, then 0x34, then next pointers. */
	assert_true(cfg1_read(f, 10, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	unsigned off = cfg1_read(f, 10, 0, PCI_CAPABILITY_LIST, 1) & ~3u;
	size_t n = 0;
	static const uint8_t ids[] = { PCI_CAP_ID_VNDR, 0x01, PCI_CAP_ID_EXP, 0x0d, 0x09 };
	static const uint8_t offs[] = { 0x40, 0x48, 0x50, 0x8c, 0x90 };
	while (off) {
		assert_true(n < ARRAY_SIZE(ids));
		assert_int_equal(off, offs[n]);
		assert_int_equal(off & 3, 0);
		uint16_t hdr = (uint16_t)cfg1_read(f, 10, 0, off, 2);
		assert_int_equal(hdr & 0xff, ids[n]);
		off = (hdr >> 8) & ~3u;
		n++;
	}
	assert_int_equal(n, ARRAY_SIZE(ids));
	assert_int_equal(pci_find_capability(fn, PCI_CAP_ID_EXP), 0x50);
	assert_int_equal(pci_find_capability(fn, 0x09), 0x40);
	assert_int_equal(pci_find_capability(fn, PCI_CAP_ID_MSI), 0);
	/* Headers are read-only. */
	cfg1_write(f, 10, 0, 0x48, 2, 0x0000);
	cfg1_write(f, 10, 0, PCI_CAPABILITY_LIST, 1, 0x80);
	assert_int_equal(cfg1_read(f, 10, 0, 0x48, 2), 0x5001);
	assert_int_equal(cfg1_read(f, 10, 0, PCI_CAPABILITY_LIST, 1), 0x40);
	/* A looping list (a broken device) ends the walk. */
	pci_set8(fn, 0x90 + PCI_CAP_NEXT, 0x40);
	assert_int_equal(pci_find_capability(fn, 0x77), 0);
}

static void test_ext_capability_list(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = new_fn(f, 0x1234, 0x0006, 0x020000);
	assert_int_equal(pci_add_ext_capability(fn, 0x0001, 2, 0x48), 0x100);
	assert_int_equal(pci_add_ext_capability(fn, 0x000b, 1, 6), 0x148);
	assert_int_equal(pci_add_ext_capability(fn, 0x0019, 1, 3), 0);  /* shorter than a header */
	assert_int_equal(pci_add_ext_capability(fn, 0x0019, 16, 8), 0); /* version is 4 bits */
	assert_int_equal(pci_add_ext_capability(fn, 0x0019, 1, 0xeb0), 0x150); /* to 0x1000 */
	assert_int_equal(pci_add_ext_capability(fn, 0x0019, 1, 4), 0); /* full */
	assert_true(pci_register_function(&f->seg, 11, 0, fn));
	unsigned off = PCI_EXT_CAP_START, n = 0;
	static const uint16_t ids[] = { 0x0001, 0x000b, 0x0019 };
	static const uint8_t versions[] = { 2, 1, 1 };
	while (off) {
		uint32_t hdr = (uint32_t)ecam_read(f, 11, 0, off, 4);
		assert_true(n < ARRAY_SIZE(ids));
		assert_int_equal(hdr & 0xffff, ids[n]);
		assert_int_equal((hdr >> 16) & 0xf, versions[n]);
		off = hdr >> 20;
		n++;
	}
	assert_int_equal(n, 3);
}

/* --- MSI ----------------------------------------------------------------------------- */

static struct pci_function *msi_fn(struct fixture *f, unsigned dev, unsigned vectors, bool addr64, bool pvm)
{
	struct pci_function *fn = new_fn(f, 0x1234, 0x0010, 0x020000);
	pci_set_intx_pin(fn, PCI_INTA, line_of(f));
	assert_int_not_equal(pci_add_msi(fn, vectors, addr64, pvm), 0);
	assert_true(pci_register_function(&f->seg, dev, 0, fn));
	return fn;
}

static void test_msi_32bit(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = msi_fn(f, 12, 1, false, false);
	unsigned cap = pci_find_capability(fn, PCI_CAP_ID_MSI);
	assert_int_equal(cap, PCI_CAPABILITY_START);
	assert_int_equal(cfg1_read(f, 12, 0, cap, 2), PCI_CAP_ID_MSI); /* last capability */
	assert_int_equal(cfg1_read(f, 12, 0, cap + PCI_MSI_FLAGS, 2), 0x0000);
	/* Message Control: only Enable and Multiple Message Enable are writable;
	 * with one vector MME stays effectively 1. */
	cfg1_write(f, 12, 0, cap + PCI_MSI_FLAGS, 2, 0xffff);
	assert_int_equal(cfg1_read(f, 12, 0, cap + PCI_MSI_FLAGS, 2), 0x0071);
	assert_int_equal(pci_msi_vectors(fn), 1);
	cfg1_write(f, 12, 0, cap + PCI_MSI_FLAGS, 2, 0);
	assert_int_equal(pci_msi_notify(fn, 0), PCI_NOTIFY_DISABLED);
	/* Address bits 1:0 read 0; Data is 16 bits; upper 16 read 0. */
	cfg1_write(f, 12, 0, cap + PCI_MSI_ADDRESS_LO, 4, MSI_ADDR | 0x3003);
	cfg1_write(f, 12, 0, cap + PCI_MSI_DATA_32, 4, 0xffff4041);
	assert_int_equal(cfg1_read(f, 12, 0, cap + PCI_MSI_ADDRESS_LO, 4), MSI_ADDR | 0x3000);
	assert_int_equal(cfg1_read(f, 12, 0, cap + PCI_MSI_DATA_32, 4), 0x4041);
	cfg1_write(f, 12, 0, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	assert_true(pci_msi_enabled(fn));
	/* Bus Master Enable clear: the message cannot be written. */
	assert_int_equal(pci_msi_notify(fn, 0), PCI_NOTIFY_BLOCKED);
	assert_int_equal(fn->messages_blocked, 1);
	assert_int_equal(f->msgs, 0);
	cfg1_write(f, 12, 0, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(pci_msi_notify(fn, 0), PCI_NOTIFY_SENT);
	assert_int_equal(f->msgs, 1);
	assert_true(f->msg_address[0] == (MSI_ADDR | 0x3000));
	assert_int_equal(f->msg_data[0], 0x4041);
	assert_int_equal(pci_msi_notify(fn, 1), PCI_NOTIFY_DISABLED);
	/* No Mask Bits register: the bytes after Data are not part of it. */
	assert_int_equal(fn->wmask[cap + PCI_MSI_MASK_32], 0);
	/* Disabled again: nothing. */
	cfg1_write(f, 12, 0, cap + PCI_MSI_FLAGS, 2, 0);
	assert_int_equal(pci_msi_notify(fn, 0), PCI_NOTIFY_DISABLED);
	assert_int_equal(f->msgs, 1);
}

static void test_msi_64bit_multiple(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = msi_fn(f, 13, 8, true, false);
	unsigned cap = pci_find_capability(fn, PCI_CAP_ID_MSI);
	/* Multiple Message Capable = 3 (8 vectors), 64-bit capable. */
	assert_int_equal(ecam_read(f, 13, 0, cap + PCI_MSI_FLAGS, 2), 0x0086);
	ecam_write(f, 13, 0, cap + PCI_MSI_ADDRESS_LO, 4, MSI_ADDR | 0x1000);
	ecam_write(f, 13, 0, cap + PCI_MSI_ADDRESS_HI, 4, 0x00000001);
	ecam_write(f, 13, 0, cap + PCI_MSI_DATA_64, 2, 0x40a7);
	/* MME = 2: four vectors; the data's low two bits carry the vector. */
	ecam_write(f, 13, 0, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 2 << 4);
	ecam_write(f, 13, 0, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(pci_msi_vectors(fn), 4);
	for (unsigned v = 0; v < 4; v++)
		assert_int_equal(pci_msi_notify(fn, v), PCI_NOTIFY_SENT);
	assert_int_equal(pci_msi_notify(fn, 4), PCI_NOTIFY_DISABLED);
	assert_int_equal(f->msgs, 4);
	for (unsigned v = 0; v < 4; v++) {
		assert_true(f->msg_address[v] == 0x1fee01000ULL);
		assert_int_equal(f->msg_data[v], 0x40a4 | v);
	}
	/* More than capable (and reserved encodings) allocate what is capable. */
	ecam_write(f, 13, 0, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 7 << 4);
	assert_int_equal(pci_msi_vectors(fn), 8);
	assert_int_equal(pci_msi_notify(fn, 7), PCI_NOTIFY_SENT);
	assert_int_equal(f->msg_data[4], 0x40a7);
	assert_int_equal(pci_msi_notify(fn, 8), PCI_NOTIFY_DISABLED);
	/* MME = 0: one vector, data unchanged. */
	ecam_write(f, 13, 0, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(pci_msi_notify(fn, 0), PCI_NOTIFY_SENT);
	assert_int_equal(f->msg_data[5], 0x40a7);
	/* Other sizes and refusals. */
	struct pci_function *g = new_fn(f, 1, 2, 0);
	assert_int_equal(pci_add_msi(g, 3, false, false), 0);
	assert_int_equal(pci_add_msi(g, 64, false, false), 0);
	assert_int_equal(pci_add_msi(g, 32, false, true), 0x40);
	assert_int_equal(pci_add_msi(g, 1, false, false), 0); /* only one MSI capability */
	assert_int_equal(pci_get16(g, 0x40 + PCI_MSI_FLAGS), 0x010a);
	assert_int_equal(g->wmask[0x40 + PCI_MSI_MASK_32], 0xff);
	assert_int_equal(g->wmask[0x40 + PCI_MSI_MASK_32 + 3], 0xff);
	assert_int_equal(g->wmask[0x40 + PCI_MSI_PENDING_32], 0);
}

static void test_msi_masking(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = msi_fn(f, 14, 4, true, true);
	unsigned cap = pci_find_capability(fn, PCI_CAP_ID_MSI);
	assert_int_equal(cfg1_read(f, 14, 0, cap + PCI_MSI_FLAGS, 2), 0x0184);
	/* Mask Bits: one per capable vector. */
	cfg1_write(f, 14, 0, cap + PCI_MSI_MASK_64, 4, 0xffffffff);
	assert_int_equal(cfg1_read(f, 14, 0, cap + PCI_MSI_MASK_64, 4), 0xf);
	cfg1_write(f, 14, 0, cap + PCI_MSI_MASK_64, 4, 0x2);
	cfg1_write(f, 14, 0, cap + PCI_MSI_ADDRESS_LO, 4, MSI_ADDR);
	cfg1_write(f, 14, 0, cap + PCI_MSI_DATA_64, 2, 0x0030);
	cfg1_write(f, 14, 0, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 2 << 4);
	cfg1_write(f, 14, 0, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	/* Masked vector 1: pending, not sent. */
	assert_int_equal(pci_msi_notify(fn, 1), PCI_NOTIFY_PENDING);
	assert_int_equal(pci_msi_notify(fn, 1), PCI_NOTIFY_PENDING);
	assert_int_equal(f->msgs, 0);
	assert_int_equal(cfg1_read(f, 14, 0, cap + PCI_MSI_PENDING_64, 4), 0x2);
	/* Pending Bits are read-only. */
	cfg1_write(f, 14, 0, cap + PCI_MSI_PENDING_64, 4, 0);
	assert_int_equal(cfg1_read(f, 14, 0, cap + PCI_MSI_PENDING_64, 4), 0x2);
	/* Other vectors go. */
	assert_int_equal(pci_msi_notify(fn, 2), PCI_NOTIFY_SENT);
	assert_int_equal(f->msg_data[0], 0x0032);
	/* Unmask: the pending message goes once, and Pending clears. */
	cfg1_write(f, 14, 0, cap + PCI_MSI_MASK_64, 4, 0);
	assert_int_equal(f->msgs, 2);
	assert_int_equal(f->msg_data[1], 0x0031);
	assert_int_equal(cfg1_read(f, 14, 0, cap + PCI_MSI_PENDING_64, 4), 0);
	cfg1_write(f, 14, 0, cap + PCI_MSI_MASK_64, 4, 0);
	assert_int_equal(f->msgs, 2);
	/* A pending message also waits for Bus Master Enable and MSI Enable. */
	cfg1_write(f, 14, 0, cap + PCI_MSI_MASK_64, 4, 0x1);
	assert_int_equal(pci_msi_notify(fn, 0), PCI_NOTIFY_PENDING);
	cfg1_write(f, 14, 0, PCI_COMMAND, 2, 0);
	cfg1_write(f, 14, 0, cap + PCI_MSI_MASK_64, 4, 0);
	assert_int_equal(f->msgs, 2);
	assert_int_equal(pci_get32(fn, cap + PCI_MSI_PENDING_64), 1);
	cfg1_write(f, 14, 0, cap + PCI_MSI_FLAGS, 2, 2 << 4);
	cfg1_write(f, 14, 0, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(f->msgs, 2);
	cfg1_write(f, 14, 0, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 2 << 4);
	assert_int_equal(f->msgs, 3);
	assert_int_equal(f->msg_data[2], 0x0030);
	assert_int_equal(pci_get32(fn, cap + PCI_MSI_PENDING_64), 0);
}

/* --- INTx --------------------------------------------------------------------------- */

static void test_intx(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = msi_fn(f, 15, 1, false, false);
	unsigned cap = pci_find_capability(fn, PCI_CAP_ID_MSI);
	assert_int_equal(cfg1_read(f, 15, 0, PCI_INTERRUPT_PIN, 1), PCI_INTA);
	pci_set_intx(fn, true);
	assert_true(f->irq_level);
	assert_int_equal(f->irq_changes, 1);
	assert_true(cfg1_read(f, 15, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_set_intx(fn, true); /* no change, no call */
	assert_int_equal(f->irq_changes, 1);
	/* Interrupt Disable drops the pin; Interrupt Status stays. */
	cfg1_write(f, 15, 0, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_false(f->irq_level);
	assert_true(cfg1_read(f, 15, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg1_write(f, 15, 0, PCI_COMMAND, 2, 0);
	assert_true(f->irq_level);
	/* Writing Status bit 3 does nothing. */
	cfg1_write(f, 15, 0, PCI_STATUS, 2, PCI_STATUS_INTERRUPT);
	assert_true(cfg1_read(f, 15, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_true(f->irq_level);
	/* MSI enabled: no INTx. */
	cfg1_write(f, 15, 0, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	assert_false(f->irq_level);
	cfg1_write(f, 15, 0, cap + PCI_MSI_FLAGS, 2, 0);
	assert_true(f->irq_level);
	/* Request withdrawn: pin and status clear. */
	pci_set_intx(fn, false);
	assert_false(f->irq_level);
	assert_false(cfg1_read(f, 15, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Set while disabled: status yes, pin no, until enabled. */
	cfg1_write(f, 15, 0, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	unsigned changes = f->irq_changes;
	pci_set_intx(fn, true);
	assert_int_equal(f->irq_changes, changes);
	assert_true(cfg1_read(f, 15, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg1_write(f, 15, 0, PCI_COMMAND, 2, 0);
	assert_true(f->irq_level);
	/* No Interrupt Pin: never asserted. */
	struct pci_function *g = new_fn(f, 1, 2, 0);
	g->intx = *line_of(f);
	pci_set_intx(g, false);
	changes = f->irq_changes;
	pci_set_intx(g, true);
	assert_int_equal(f->irq_changes, changes);
}

/* --- MSI-X -------------------------------------------------------------------------- */

#define MSIX_BAR_ADDR 0xc0002000u /* the table: BAR2 (0xc0000000) + 0x2000 */

static struct pci_function *msix_fn(struct fixture *f, unsigned dev, unsigned entries)
{
	struct pci_function *fn = new_fn(f, 0x1234, 0x0011, 0x020000);
	pci_set_intx_pin(fn, PCI_INTA, line_of(f));
	assert_true(pci_set_bar(fn, 0, PCI_BAR_MEM_TYPE_32, 0x1000));
	assert_true(pci_set_bar(fn, 2, PCI_BAR_MEM_TYPE_64, 0x4000));
	assert_int_not_equal(pci_add_msix(fn, entries, 2, 0x2000, 2, 0x3000), 0);
	assert_true(pci_register_function(&f->seg, dev, 0, fn));
	ecam_write(f, dev, 0, PCI_BAR0, 4, 0xc1000000);
	ecam_write(f, dev, 0, PCI_BAR0 + 8, 8, MSIX_BAR_ADDR - 0x2000);
	ecam_write(f, dev, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return fn;
}

static uint64_t entry_addr(unsigned entry, unsigned field)
{
	return MSIX_BAR_ADDR + entry * PCI_MSIX_ENTRY_SIZE + field;
}

#define PBA_ADDR (MSIX_BAR_ADDR + 0x1000)

static void program_entry(struct fixture *f, unsigned entry, uint64_t address, uint32_t data, bool masked)
{
	mem_write(f, entry_addr(entry, PCI_MSIX_ENTRY_ADDR_LO), 8, address);
	mem_write(f, entry_addr(entry, PCI_MSIX_ENTRY_DATA), 4, data);
	mem_write(f, entry_addr(entry, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, masked);
}

static void test_msix_capability_and_table(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = msix_fn(f, 16, 10);
	unsigned cap = pci_find_capability(fn, PCI_CAP_ID_MSIX);
	assert_int_equal(cap, 0x40);
	assert_int_equal(cfg1_read(f, 16, 0, cap + PCI_MSIX_FLAGS, 2), 9);
	assert_int_equal(cfg1_read(f, 16, 0, cap + PCI_MSIX_TABLE, 4), 0x2002);
	assert_int_equal(cfg1_read(f, 16, 0, cap + PCI_MSIX_PBA, 4), 0x3002);
	/* Only Enable and Function Mask are writable. */
	cfg1_write(f, 16, 0, cap + PCI_MSIX_FLAGS, 2, 0xffff);
	assert_int_equal(cfg1_read(f, 16, 0, cap + PCI_MSIX_FLAGS, 2), 0xc009);
	cfg1_write(f, 16, 0, cap + PCI_MSIX_TABLE, 4, 0);
	cfg1_write(f, 16, 0, cap + PCI_MSIX_PBA, 4, 0);
	assert_int_equal(cfg1_read(f, 16, 0, cap + PCI_MSIX_TABLE, 4), 0x2002);
	cfg1_write(f, 16, 0, cap + PCI_MSIX_FLAGS, 2, 0);
	/* Every entry starts masked, with zero address and data. */
	for (unsigned e = 0; e < 10; e++) {
		assert_int_equal(mem_read(f, entry_addr(e, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 1);
		assert_int_equal(mem_read(f, entry_addr(e, PCI_MSIX_ENTRY_ADDR_LO), 4), 0);
		assert_true(mem_read(f, entry_addr(e, PCI_MSIX_ENTRY_ADDR_LO), 8) == 0);
	}
	/* DWORD and QWORD writes read back; address bits 1:0 and the reserved
	 * Vector Control bits read 0. */
	mem_write(f, entry_addr(3, PCI_MSIX_ENTRY_ADDR_LO), 4, MSI_ADDR | 0x00f3);
	mem_write(f, entry_addr(3, PCI_MSIX_ENTRY_ADDR_HI), 4, 0x2);
	mem_write(f, entry_addr(3, PCI_MSIX_ENTRY_DATA), 4, 0xdead0051);
	mem_write(f, entry_addr(3, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0xfffffffe);
	assert_int_equal(mem_read(f, entry_addr(3, PCI_MSIX_ENTRY_ADDR_LO), 4), MSI_ADDR | 0x00f0);
	assert_int_equal(mem_read(f, entry_addr(3, PCI_MSIX_ENTRY_ADDR_HI), 4), 2);
	assert_int_equal(mem_read(f, entry_addr(3, PCI_MSIX_ENTRY_DATA), 4), 0xdead0051);
	assert_int_equal(mem_read(f, entry_addr(3, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 0);
	mem_write(f, entry_addr(4, 0), 8, 0x00000003fee0200cULL);
	mem_write(f, entry_addr(4, 8), 8, 0x0000000100000061ULL);
	assert_true(mem_read(f, entry_addr(4, 0), 8) == 0x00000003fee0200cULL);
	assert_true(mem_read(f, entry_addr(4, 8), 8) == 0x0000000100000061ULL);
	assert_true(fn->msix_table[4].addr_hi == 3 && fn->msix_table[4].data == 0x61);
	/* Narrower accesses act on the bytes they cover (undefined by the
	 * spec; defined here). */
	mem_write(f, entry_addr(4, PCI_MSIX_ENTRY_DATA + 1), 1, 0x7f);
	assert_int_equal(mem_read(f, entry_addr(4, PCI_MSIX_ENTRY_DATA), 4), 0x7f61);
	assert_int_equal(mem_read(f, entry_addr(4, PCI_MSIX_ENTRY_DATA), 2), 0x7f61);
	/* The table ends at entry 9; the bytes after it are the device's. */
	fn->bar_read = probe_read;
	fn->bar_write = probe_write;
	fn->opaque = f;
	assert_int_equal(mem_read(f, entry_addr(10, 0), 4), 0x12345678);
	assert_int_equal(f->bar_reads, 1);
	assert_int_equal(f->probe_bar, 2);
	assert_true(f->probe_offset == 0x20a0);
	mem_write(f, entry_addr(9, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	assert_int_equal(f->bar_writes, 0);
	/* The PBA: bits for 10 entries in one QWORD, read-only; after it, the device. */
	assert_true(mem_read(f, PBA_ADDR, 8) == 0);
	mem_write(f, PBA_ADDR, 8, UINT64_MAX);
	assert_true(mem_read(f, PBA_ADDR, 8) == 0);
	assert_int_equal(f->bar_writes, 0);
	mem_write(f, PBA_ADDR + 8, 4, 1);
	assert_int_equal(f->bar_writes, 1);
	assert_true(f->probe_offset == 0x3008);
	/* BAR0 is all the device's. */
	assert_int_equal(mem_read(f, 0xc1000000 + 0x10, 4), 0x12345678);
	assert_int_equal(f->probe_bar, 0);
	assert_true(f->probe_offset == 0x10);
}

static void test_msix_refusals(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = new_fn(f, 1, 2, 0);
	assert_true(pci_set_bar(fn, 0, PCI_BAR_MEM_TYPE_32, 0x1000));
	assert_true(pci_set_bar(fn, 1, PCI_BAR_SPACE_IO, 0x100));
	assert_int_equal(pci_add_msix(fn, 0, 0, 0, 0, 0x800), 0);
	assert_int_equal(pci_add_msix(fn, PCI_MSIX_MAX_ENTRIES + 1, 0, 0, 0, 0x800), 0);
	assert_int_equal(pci_add_msix(fn, 4, 1, 0, 0, 0x800), 0);      /* I/O BAR */
	assert_int_equal(pci_add_msix(fn, 4, 2, 0, 0, 0x800), 0);      /* no BAR 2 */
	assert_int_equal(pci_add_msix(fn, 4, 6, 0, 0, 0x800), 0);      /* no BIR 6 */
	assert_int_equal(pci_add_msix(fn, 4, 0, 4, 0, 0x800), 0);      /* not QWORD aligned */
	assert_int_equal(pci_add_msix(fn, 4, 0, 0xfc8, 0, 0x800), 0);  /* table past the BAR */
	assert_int_equal(pci_add_msix(fn, 4, 0, 0, 0, 0x1000), 0);     /* PBA past the BAR */
	assert_int_equal(pci_add_msix(fn, 4, 0, 0, 0, 0x38), 0);       /* overlap */
	assert_int_equal(pci_add_msix(fn, 64, 0, 0, 0, 0x400), 0x40);  /* 64 entries: 1 KiB, PBA 8 bytes */
	assert_int_equal(pci_add_msix(fn, 4, 0, 0x800, 0, 0x900), 0);  /* only one */
	assert_false(pci_msix_enabled(fn));
	assert_int_equal(pci_msix_notify(fn, 0), PCI_NOTIFY_DISABLED);
	assert_false(pci_msix_pending(fn, 64));
}

static void test_msix_masking_and_pba(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = msix_fn(f, 17, PCI_MSIX_MAX_ENTRIES);
	unsigned cap = fn->msix_cap;
	for (unsigned e = 0; e < 4; e++)
		program_entry(f, e, 0xfee00000u | e << 12, 0x40 + e, e == 2);
	/* Disabled: nothing, and no pending bits. */
	assert_int_equal(pci_msix_notify(fn, 0), PCI_NOTIFY_DISABLED);
	assert_true(mem_read(f, PBA_ADDR, 8) == 0);
	cfg1_write(f, 17, 0, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_true(pci_msix_enabled(fn));
	assert_int_equal(pci_msix_notify(fn, 0), PCI_NOTIFY_SENT);
	assert_int_equal(pci_msix_notify(fn, 3), PCI_NOTIFY_SENT);
	assert_int_equal(f->msgs, 2);
	assert_true(f->msg_address[0] == 0xfee00000u && f->msg_data[0] == 0x40);
	assert_true(f->msg_address[1] == 0xfee03000u && f->msg_data[1] == 0x43);
	/* Entry 2 is masked: pending, visible in the PBA. Entries past the
	 * table are nothing. Entry 63 starts masked. */
	assert_int_equal(pci_msix_notify(fn, 2), PCI_NOTIFY_PENDING);
	assert_int_equal(pci_msix_notify(fn, 63), PCI_NOTIFY_PENDING);
	assert_int_equal(pci_msix_notify(fn, 64), PCI_NOTIFY_DISABLED);
	assert_true(pci_msix_pending(fn, 2));
	assert_true(mem_read(f, PBA_ADDR, 8) == (BIT(2) | BIT(63)));
	assert_int_equal(mem_read(f, PBA_ADDR, 4), BIT(2));
	assert_int_equal(mem_read(f, PBA_ADDR + 4, 4), 0x80000000u);
	assert_int_equal(f->msgs, 2);
	/* Unmask entry 2 by a DWORD write to Vector Control: delivered, PBA clear. */
	mem_write(f, entry_addr(2, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	assert_int_equal(f->msgs, 3);
	assert_true(f->msg_address[2] == 0xfee02000u && f->msg_data[2] == 0x42);
	assert_false(pci_msix_pending(fn, 2));
	assert_true(mem_read(f, PBA_ADDR, 8) == BIT(63));
	/* Unmask by a QWORD write of Data + Vector Control. */
	mem_write(f, entry_addr(63, PCI_MSIX_ENTRY_ADDR_LO), 8, 0xfee0f000u);
	mem_write(f, entry_addr(63, PCI_MSIX_ENTRY_DATA), 8, 0x00000000000000ffULL);
	assert_int_equal(f->msgs, 4);
	assert_true(f->msg_address[3] == 0xfee0f000u && f->msg_data[3] == 0xff);
	assert_true(mem_read(f, PBA_ADDR, 8) == 0);
	/* A pending entry waits for Bus Master Enable too. */
	mem_write(f, entry_addr(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 1);
	assert_int_equal(pci_msix_notify(fn, 1), PCI_NOTIFY_PENDING);
	cfg1_write(f, 17, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	mem_write(f, entry_addr(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	assert_int_equal(f->msgs, 4);
	assert_int_equal(pci_msix_notify(fn, 0), PCI_NOTIFY_BLOCKED);
	cfg1_write(f, 17, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(f->msgs, 5);
	assert_int_equal(f->msg_data[4], 0x41);
	assert_false(pci_msix_pending(fn, 1));
}

static void test_msix_function_mask(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = msix_fn(f, 18, 8);
	unsigned cap = fn->msix_cap;
	for (unsigned e = 0; e < 8; e++)
		program_entry(f, e, MSI_ADDR, 0x50 + e, false);
	cfg1_write(f, 18, 0, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(pci_msix_notify(fn, 5), PCI_NOTIFY_PENDING);
	assert_int_equal(pci_msix_notify(fn, 7), PCI_NOTIFY_PENDING);
	assert_int_equal(f->msgs, 0);
	/* Entry 7 also masked on its own: clearing Function Mask sends only 5. */
	mem_write(f, entry_addr(7, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 1);
	/* Rewriting an unmasked entry changes nothing while the function is masked. */
	mem_write(f, entry_addr(5, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	assert_int_equal(f->msgs, 0);
	cfg1_write(f, 18, 0, cap + PCI_MSIX_FLAGS + 1, 1, PCI_MSIX_FLAGS_ENABLE >> 8);
	assert_int_equal(f->msgs, 1);
	assert_int_equal(f->msg_data[0], 0x55);
	assert_true(pci_msix_pending(fn, 7));
	mem_write(f, entry_addr(7, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	assert_int_equal(f->msgs, 2);
	assert_int_equal(f->msg_data[1], 0x57);
	/* MSI-X enabled: INTx is not used. */
	pci_set_intx(fn, true);
	assert_false(f->irq_level);
	cfg1_write(f, 18, 0, cap + PCI_MSIX_FLAGS, 2, 0);
	assert_true(f->irq_level);
	/* Pending entries wait for MSI-X Enable. */
	cfg1_write(f, 18, 0, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_false(f->irq_level);
	assert_int_equal(pci_msix_notify(fn, 0), PCI_NOTIFY_PENDING);
	cfg1_write(f, 18, 0, cap + PCI_MSIX_FLAGS, 2, 0);
	assert_int_equal(f->msgs, 2);
	cfg1_write(f, 18, 0, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(f->msgs, 3);
	assert_int_equal(f->msg_data[2], 0x50);
}

/* --- The test device ------------------------------------------------------------------ */

#define TESTDEV_BAR_ADDR 0xfebf0000u

static struct pci_testdev *testdev(struct fixture *f, unsigned dev)
{
	f->testdev = calloc(1, sizeof(*f->testdev));
	assert_non_null(f->testdev);
	pci_testdev_init(f->testdev, line_of(f));
	assert_true(pci_register_function(&f->seg, dev, 0, &f->testdev->fn));
	cfg1_write(f, dev, 0, PCI_BAR0, 4, TESTDEV_BAR_ADDR);
	cfg1_write(f, dev, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return f->testdev;
}

static void test_testdev_config(void **state)
{
	struct fixture *f = *state;
	testdev(f, 3);
	assert_int_equal(cfg1_read(f, 3, 0, PCI_VENDOR_ID, 4), 0x00051b36);
	assert_int_equal(cfg1_read(f, 3, 0, PCI_REVISION_ID, 4), 0xff000000);
	assert_int_equal(cfg1_read(f, 3, 0, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00051b36);
	assert_int_equal(cfg1_read(f, 3, 0, PCI_INTERRUPT_PIN, 1), PCI_INTA);
	cfg1_write(f, 3, 0, PCI_BAR0, 4, 0xffffffff);
	assert_int_equal(cfg1_read(f, 3, 0, PCI_BAR0, 4), 0xfffff000);
	for (unsigned b = 1; b < PCI_NUM_BARS; b++)
		assert_int_equal(cfg1_read(f, 3, 0, PCI_BAR0 + 4 * b, 4), 0);
	unsigned msi = cfg1_read(f, 3, 0, PCI_CAPABILITY_LIST, 1);
	assert_int_equal(cfg1_read(f, 3, 0, msi, 1), PCI_CAP_ID_MSI);
	assert_int_equal(cfg1_read(f, 3, 0, msi + PCI_MSI_FLAGS, 2), 0x0184);
	unsigned msix = cfg1_read(f, 3, 0, msi + PCI_CAP_NEXT, 1);
	assert_int_equal(cfg1_read(f, 3, 0, msix, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(cfg1_read(f, 3, 0, msix + PCI_CAP_NEXT, 1), 0);
	assert_int_equal(cfg1_read(f, 3, 0, msix + PCI_MSIX_FLAGS, 2), PCI_TESTDEV_MSIX_ENTRIES - 1);
	assert_int_equal(cfg1_read(f, 3, 0, msix + PCI_MSIX_TABLE, 4), PCI_TESTDEV_MSIX_TABLE | 0);
	assert_int_equal(cfg1_read(f, 3, 0, msix + PCI_MSIX_PBA, 4), PCI_TESTDEV_MSIX_PBA | 0);
}

static void test_testdev_intx(void **state)
{
	struct fixture *f = *state;
	testdev(f, 3);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_RESULT, 4), PCI_TESTDEV_PATH_NONE);
	mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL, 4, 9);
	assert_true(f->irq_level);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL, 4), 9);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_INTX_STATUS, 4), 1);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_RESULT, 4), PCI_TESTDEV_PATH_INTX | 1 << 8);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_COUNT, 4), 1);
	assert_true(cfg1_read(f, 3, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Level: stays until the guest clears it (W1C); writing 0 does nothing. */
	mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_INTX_STATUS, 4, 0);
	assert_true(f->irq_level);
	mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_INTX_STATUS, 4, 1);
	assert_false(f->irq_level);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_INTX_STATUS, 4), 0);
	assert_false(cfg1_read(f, 3, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* With Interrupt Disable: requested, not asserted; outcome 0. */
	cfg1_write(f, 3, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL, 4, 0);
	assert_false(f->irq_level);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_RESULT, 4), PCI_TESTDEV_PATH_INTX);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_INTX_STATUS, 4), 1);
	cfg1_write(f, 3, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(f->irq_level);
	/* Other widths and registers. */
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_COUNT, 2), 2);
	assert_true(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL, 8) == 0x100000000ULL);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + 0x100, 4), 0);
	mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_COUNT, 4, 0); /* read-only */
	mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL + 1, 1, 0); /* not a register start */
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_COUNT, 4), 2);
	mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL, 8, 0x100000005ULL); /* ring, then clear */
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_COUNT, 4), 3);
	assert_false(f->irq_level);
}

static void test_testdev_msi(void **state)
{
	struct fixture *f = *state;
	struct pci_testdev *t = testdev(f, 3);
	unsigned cap = pci_find_capability(&t->fn, PCI_CAP_ID_MSI);
	cfg1_write(f, 3, 0, cap + PCI_MSI_ADDRESS_LO, 4, MSI_ADDR);
	cfg1_write(f, 3, 0, cap + PCI_MSI_ADDRESS_HI, 4, 0);
	cfg1_write(f, 3, 0, cap + PCI_MSI_DATA_64, 2, 0x60);
	cfg1_write(f, 3, 0, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 2 << 4);
	for (unsigned v = 0; v < 4; v++) {
		mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL, 4, v);
		assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_RESULT, 4),
				 PCI_TESTDEV_PATH_MSI | PCI_NOTIFY_SENT << 8);
	}
	assert_int_equal(f->msgs, 4);
	for (unsigned v = 0; v < 4; v++) {
		assert_true(f->msg_address[v] == MSI_ADDR);
		assert_int_equal(f->msg_data[v], 0x60 + v);
	}
	assert_false(f->irq_level);
	/* Out of range; masked; no bus mastering. */
	mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL, 4, 4);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_RESULT, 4),
			 PCI_TESTDEV_PATH_MSI | PCI_NOTIFY_DISABLED << 8);
	cfg1_write(f, 3, 0, cap + PCI_MSI_MASK_64, 4, 0x4);
	mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL, 4, 2);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_RESULT, 4),
			 PCI_TESTDEV_PATH_MSI | PCI_NOTIFY_PENDING << 8);
	assert_int_equal(f->msgs, 4);
	cfg1_write(f, 3, 0, cap + PCI_MSI_MASK_64, 4, 0);
	assert_int_equal(f->msgs, 5);
	assert_int_equal(f->msg_data[4], 0x62);
	cfg1_write(f, 3, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL, 4, 1);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_RESULT, 4),
			 PCI_TESTDEV_PATH_MSI | PCI_NOTIFY_BLOCKED << 8);
	assert_int_equal(f->msgs, 5);
}

static void test_testdev_msix(void **state)
{
	struct fixture *f = *state;
	struct pci_testdev *t = testdev(f, 3);
	unsigned msi = pci_find_capability(&t->fn, PCI_CAP_ID_MSI);
	unsigned msix = pci_find_capability(&t->fn, PCI_CAP_ID_MSIX);
	uint64_t table = TESTDEV_BAR_ADDR + PCI_TESTDEV_MSIX_TABLE;
	for (unsigned e = 0; e < PCI_TESTDEV_MSIX_ENTRIES; e++) {
		mem_write(f, table + 16 * e, 8, MSI_ADDR | e << 12);
		mem_write(f, table + 16 * e + 8, 4, 0x80 + e);
		mem_write(f, table + 16 * e + 12, 4, e == 5);
	}
	/* MSI-X wins over MSI when both are enabled. */
	cfg1_write(f, 3, 0, msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	cfg1_write(f, 3, 0, msix + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	for (unsigned e = 0; e < PCI_TESTDEV_MSIX_ENTRIES; e++) {
		mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL, 4, e);
		unsigned want = e == 5 ? PCI_NOTIFY_PENDING : PCI_NOTIFY_SENT;
		assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_RESULT, 4),
				 PCI_TESTDEV_PATH_MSIX | want << 8);
	}
	assert_int_equal(f->msgs, PCI_TESTDEV_MSIX_ENTRIES - 1);
	for (unsigned i = 0, e = 0; e < PCI_TESTDEV_MSIX_ENTRIES; e++) {
		if (e == 5)
			continue;
		assert_true(f->msg_address[i] == (MSI_ADDR | e << 12));
		assert_int_equal(f->msg_data[i], 0x80 + e);
		i++;
	}
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_MSIX_PBA, 4), BIT(5));
	mem_write(f, table + 16 * 5 + 12, 4, 0);
	assert_int_equal(f->msgs, PCI_TESTDEV_MSIX_ENTRIES);
	assert_int_equal(f->msg_data[PCI_TESTDEV_MSIX_ENTRIES - 1], 0x85);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_MSIX_PBA, 4), 0);
	mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL, 4, PCI_TESTDEV_MSIX_ENTRIES);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_RESULT, 4),
			 PCI_TESTDEV_PATH_MSIX | PCI_NOTIFY_DISABLED << 8);
	/* MSI-X off: back to MSI. */
	cfg1_write(f, 3, 0, msix + PCI_MSIX_FLAGS, 2, 0);
	mem_write(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_DOORBELL, 4, 0);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_RESULT, 4),
			 PCI_TESTDEV_PATH_MSI | PCI_NOTIFY_SENT << 8);
	assert_false(f->irq_level);
	assert_int_equal(mem_read(f, TESTDEV_BAR_ADDR + PCI_TESTDEV_COUNT, 4), PCI_TESTDEV_MSIX_ENTRIES + 2);
}

/* --- Decoding and routing ------------------------------------------------------------- */

static void test_decoding_gated_by_command(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = new_fn(f, 0x1234, 0x0020, 0x020000);
	assert_true(pci_set_bar(fn, 0, PCI_BAR_MEM_TYPE_32, 0x1000));
	assert_true(pci_set_bar(fn, 1, PCI_BAR_SPACE_IO, 0x20));
	fn->bar_read = probe_read;
	fn->bar_write = probe_write;
	fn->config_write = hook;
	fn->opaque = f;
	assert_true(pci_register_function(&f->seg, 20, 0, fn));
	cfg1_write(f, 20, 0, PCI_BAR0, 4, 0xd0000000);
	assert_int_equal(f->hook_calls, 1);
	assert_int_equal(f->hook_reg, PCI_BAR0);
	assert_int_equal(f->hook_size, 4);
	assert_int_equal(f->hook_value, 0xd0000000);
	cfg1_write(f, 20, 0, PCI_BAR0 + 4, 4, 0xc000);
	bool claimed;
	/* Command = 0: neither BAR decodes. */
	assert_false(pci_bar_decoding(fn, 0));
	assert_false(pci_bar_decoding(fn, 1));
	assert_int_equal(pci_space_read(&f->seg, false, 0xd0000000, 4, &claimed), 0xffffffff);
	assert_false(claimed);
	pci_space_write(&f->seg, false, 0xd0000000, 4, 1, &claimed);
	assert_false(claimed);
	assert_int_equal(pci_space_read(&f->seg, true, 0xc000, 2, &claimed), 0xffff);
	assert_false(claimed);
	assert_int_equal(f->bar_reads + f->bar_writes, 0);
	/* Memory Space only. */
	cfg1_write(f, 20, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(f->hook_reg, PCI_COMMAND);
	assert_int_equal(f->hook_size, 2);
	assert_int_equal(f->hook_value, PCI_COMMAND_MEMORY);
	assert_int_equal(pci_space_read(&f->seg, false, 0xd0000ffc, 4, &claimed), 0x12345678);
	assert_true(claimed);
	assert_true(f->probe_offset == 0xffc && f->probe_size == 4 && f->probe_bar == 0);
	pci_space_read(&f->seg, false, 0xd0000ffe, 4, &claimed); /* straddles the end */
	assert_false(claimed);
	pci_space_read(&f->seg, false, 0xd0001000, 1, &claimed);
	assert_false(claimed);
	pci_space_read(&f->seg, true, 0xc000, 2, &claimed);
	assert_false(claimed);
	/* I/O Space too. */
	cfg1_write(f, 20, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	pci_space_write(&f->seg, true, 0xc01f, 1, 0xab, &claimed);
	assert_true(claimed);
	assert_true(f->probe_bar == 1 && f->probe_offset == 0x1f && f->probe_value == 0xab);
	/* Memory off again; I/O still on. */
	cfg1_write(f, 20, 0, PCI_COMMAND, 2, PCI_COMMAND_IO);
	pci_space_read(&f->seg, false, 0xd0000000, 4, &claimed);
	assert_false(claimed);
	pci_space_read(&f->seg, true, 0xc000, 4, &claimed);
	assert_true(claimed);
	/* An I/O BAR beyond the 64 KiB port space does not decode. */
	cfg1_write(f, 20, 0, PCI_BAR0 + 4, 4, 0x10000);
	assert_false(pci_bar_decoding(fn, 1));
	cfg1_write(f, 20, 0, PCI_BAR0 + 4, 4, 0xffe0);
	assert_true(pci_bar_decoding(fn, 1));
	/* No callbacks: all-ones, dropped, still claimed. */
	fn->bar_read = NULL;
	fn->bar_write = NULL;
	assert_int_equal(pci_space_read(&f->seg, true, 0xffe0, 4, &claimed), 0xffffffff);
	assert_true(claimed);
	pci_space_write(&f->seg, true, 0xffe0, 4, 0, &claimed);
	assert_true(claimed);
}

static void test_find_bar_routing(void **state)
{
	struct fixture *f = *state;
	struct pci_function *a = new_fn(f, 0x1234, 0x0030, 0x020000);
	struct pci_function *b = new_fn(f, 0x1234, 0x0031, 0x020000);
	assert_true(pci_set_bar(a, 0, PCI_BAR_MEM_TYPE_32, 0x1000));
	assert_true(pci_set_bar(a, 2, PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH, MiB(1)));
	assert_true(pci_set_bar(a, 4, PCI_BAR_SPACE_IO, 0x40));
	assert_true(pci_set_bar(b, 1, PCI_BAR_MEM_TYPE_32, 0x4000));
	assert_true(pci_set_bar(b, 5, PCI_BAR_SPACE_IO, 0x10));
	assert_true(pci_register_function(&f->seg, 21, 0, a));
	assert_true(pci_register_function(&f->seg, 21, 3, b));
	/* Function 0 and 3 of a multi-function device. */
	assert_int_equal(cfg1_read(f, 21, 0, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_MULTI_FUNCTION);
	assert_int_equal(cfg1_read(f, 21, 3, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_MULTI_FUNCTION);
	ecam_write(f, 21, 0, PCI_BAR0, 4, 0xe0000000);
	ecam_write(f, 21, 0, PCI_BAR0 + 8, 8, 0x800000000ULL);
	ecam_write(f, 21, 0, PCI_BAR0 + 16, 4, 0x1000);
	ecam_write(f, 21, 3, PCI_BAR0 + 4, 4, 0xe0004000);
	ecam_write(f, 21, 3, PCI_BAR0 + 20, 4, 0x1040);
	ecam_write(f, 21, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	ecam_write(f, 21, 3, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	static const struct {
		bool io;
		uint64_t address;
		unsigned size;
		int which; /* 0: a, 1: b, -1: none */
		unsigned bar;
		uint64_t offset;
	} cases[] = {
		{ false, 0xe0000000, 4, 0, 0, 0 },         { false, 0xe0000fff, 1, 0, 0, 0xfff },
		{ false, 0xe0001000, 4, -1, 0, 0 },        { false, 0x800000000ULL, 8, 0, 2, 0 },
		{ false, 0x8000ffff8ULL, 8, 0, 2, 0xffff8 }, { false, 0x800100000ULL, 1, -1, 0, 0 },
		{ false, 0xe0004000, 4, 1, 1, 0 },         { false, 0xe0007ffc, 4, 1, 1, 0x3ffc },
		{ false, 0xe0008000, 4, -1, 0, 0 },        { true, 0x1000, 1, 0, 4, 0 },
		{ true, 0x103f, 1, 0, 4, 0x3f },           { true, 0x103e, 4, -1, 0, 0 },
		{ true, 0x1040, 2, 1, 5, 0 },              { true, 0x104c, 4, 1, 5, 0xc },
		{ true, 0x1050, 1, -1, 0, 0 },             { true, 0xe0000000, 4, -1, 0, 0 },
		{ false, 0x1000, 4, -1, 0, 0 },            { false, 0x00000000, 4, -1, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pci_function *fn = NULL;
		unsigned bar = 99;
		uint64_t offset = 99;
		bool found = pci_find_bar(&f->seg, cases[i].io, cases[i].address, cases[i].size, &fn, &bar, &offset);
		assert_int_equal(found, cases[i].which >= 0);
		if (!found)
			continue;
		assert_ptr_equal(fn, cases[i].which ? b : a);
		assert_int_equal(bar, cases[i].bar);
		assert_true(offset == cases[i].offset);
	}
	/* Moving a BAR moves the routing. */
	ecam_write(f, 21, 3, PCI_BAR0 + 4, 4, 0xe0010000);
	struct pci_function *fn;
	unsigned bar;
	uint64_t offset;
	assert_false(pci_find_bar(&f->seg, false, 0xe0004000, 4, &fn, &bar, &offset));
	assert_true(pci_find_bar(&f->seg, false, 0xe0010010, 4, &fn, &bar, &offset));
	assert_ptr_equal(fn, b);
	assert_true(offset == 0x10);
}

/* --- Registration ------------------------------------------------------------------------ */

static void test_registration(void **state)
{
	struct fixture *f = *state;
	struct pci_function *a = new_fn(f, 1, 1, 0), *b = new_fn(f, 1, 2, 0), *c = new_fn(f, 1, 3, 0);
	assert_false(pci_register_function(&f->seg, 0, 0, a)); /* the host bridge */
	assert_false(pci_register_function(&f->seg, 32, 0, a));
	assert_false(pci_register_function(&f->seg, 1, 8, a));
	assert_false(pci_register_function(&f->seg, 1, 1, a)); /* no function 0 */
	assert_false(pci_register_function(&f->seg, 1, 0, NULL));
	assert_true(pci_register_function(&f->seg, 1, 0, a));
	assert_int_equal(pci_get8(a, PCI_HEADER_TYPE), 0);
	assert_false(pci_register_function(&f->seg, 2, 0, a)); /* already registered */
	assert_false(pci_register_function(&f->seg, 1, 0, b)); /* taken */
	assert_true(pci_register_function(&f->seg, 1, 7, b));
	assert_true(pci_register_function(&f->seg, 31, 0, c));
	assert_int_equal(pci_get8(a, PCI_HEADER_TYPE), PCI_HEADER_TYPE_MULTI_FUNCTION);
	assert_int_equal(pci_get8(b, PCI_HEADER_TYPE), PCI_HEADER_TYPE_MULTI_FUNCTION);
	assert_int_equal(pci_get8(c, PCI_HEADER_TYPE), 0);
	assert_int_equal(pci_get8(&f->seg.host_bridge, PCI_HEADER_TYPE), 0);
	assert_ptr_equal(pci_lookup(&f->seg, 1, 7), b);
	assert_ptr_equal(b->segment, &f->seg);
	assert_int_equal(b->device, 1);
	assert_int_equal(b->function, 7);
	assert_int_equal(cfg1_read(f, 31, 0, PCI_DEVICE_ID, 2), 3);
	assert_int_equal(ecam_read(f, 1, 7, PCI_DEVICE_ID, 2), 2);

	/* Segment set-up: ECAM alignment, bus conflicts. */
	struct pci_segment *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	assert_false(pci_segment_init(s, ECAM_BASE + 0x1000, NULL, NULL));
	assert_false(pci_segment_init(s, UINT64_MAX - PCI_ECAM_SIZE + 1, NULL, NULL));
	assert_true(pci_segment_init(s, 0xe0000000, NULL, NULL));
	assert_false(pci_segment_attach(s, &f->pio, &f->mmio)); /* 0xCF8 already claimed */
	struct bus pio, mmio;
	bus_init(&pio, "p");
	bus_init(&mmio, "m");
	assert_true(bus_register(&mmio, &(struct bus_device){ "x", 0xe0080000, 0x1000, NULL, NULL, NULL }));
	assert_false(pci_segment_attach(s, &pio, &mmio));
	bus_init(&pio, "p");
	bus_init(&mmio, "m");
	assert_true(pci_segment_attach(s, &pio, &mmio));
	assert_int_equal(pio.count, 2);
	assert_int_equal(mmio.count, 1);
	/* No msi callback: messages are "sent" nowhere. */
	struct pci_function *d = new_fn(f, 1, 4, 0);
	unsigned cap = pci_add_msi(d, 1, false, false);
	assert_true(pci_register_function(s, 2, 0, d));
	pci_config_write(d, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	pci_config_write(d, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(pci_msi_notify(d, 0), PCI_NOTIFY_SENT);
	/* Unregistered function: no segment, no crash. */
	struct pci_function *e = new_fn(f, 1, 5, 0);
	cap = pci_add_msi(e, 1, false, false);
	pci_config_write(e, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	pci_config_write(e, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(pci_msi_notify(e, 0), PCI_NOTIFY_SENT);
	assert_int_equal(f->msgs, 0);
	free(s);
}

/* --- Random configuration accesses under ASan/UBSan -------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void test_random_config_accesses(void **state)
{
	struct fixture *f = *state;
	pattern_fn(f, 1);
	struct pci_testdev *t = testdev(f, 2);
	struct pci_function *m = msix_fn(f, 3, 20);
	struct pci_function *x = new_fn(f, 0x1234, 0x0040, 0x020000);
	assert_true(pci_set_bar(x, 0, PCI_BAR_SPACE_IO, 0x80));
	assert_true(pci_set_bar(x, 1, PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH, GiB(16)));
	pci_add_msi(x, 16, false, true);
	pci_add_ext_capability(x, 1, 1, 0x40);
	assert_true(pci_register_function(&f->seg, 3, 1, x));
	struct pci_function *fns[] = { &f->seg.host_bridge, pci_lookup(&f->seg, 1, 0), &t->fn, m, x };

	/* Bytes no configuration write may change: read-only, not RW1C, and
	 * not state the function keeps (Interrupt Status, MSI Pending Bits). */
	static uint8_t frozen[ARRAY_SIZE(fns)][PCI_CONFIG_SPACE_SIZE];
	static bool is_frozen[ARRAY_SIZE(fns)][PCI_CONFIG_SPACE_SIZE];
	for (size_t i = 0; i < ARRAY_SIZE(fns); i++) {
		unsigned pending = 0;
		if (fns[i]->msi_cap)
			pending = fns[i]->msi_cap + ((pci_get16(fns[i], fns[i]->msi_cap + PCI_MSI_FLAGS) &
						      PCI_MSI_FLAGS_64BIT) ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
		for (unsigned r = 0; r < PCI_CONFIG_SPACE_SIZE; r++) {
			frozen[i][r] = fns[i]->config[r];
			is_frozen[i][r] = fns[i]->wmask[r] == 0 && fns[i]->w1cmask[r] == 0 && r != PCI_STATUS &&
					  !(pending && r >= pending && r < pending + 4);
		}
	}
	unsigned sent_before = 0;
	for (unsigned iter = 0; iter < 200000; iter++) {
		uint64_t r = rnd();
		/* Mostly the populated devices, sometimes anywhere. */
		unsigned dev = (r & 0x7) ? (unsigned)((r >> 3) % 4) : (unsigned)((r >> 3) & 31);
		unsigned func = (r & 0x30) ? ((r >> 8) & 1) : (unsigned)((r >> 8) & 7);
		unsigned size = 1u << ((r >> 12) % 3);
		unsigned reg = (unsigned)(r >> 16) & 0xfff;
		uint64_t value = rnd();
		bool ecam = (r >> 40) & 1;
		bool write = ((r >> 41) & 3) == 0;
		if (!ecam)
			reg &= 0xff;
		if ((reg & 3) + size > 4)
			reg &= ~(size - 1);
		struct pci_function *fn = pci_lookup(&f->seg, dev, func);
		if (write) {
			if (ecam)
				ecam_write(f, dev, func, reg, size, value);
			else
				cfg1_write(f, dev, func, reg, size, value);
		} else {
			uint64_t got = ecam ? ecam_read(f, dev, func, reg, size) : cfg1_read(f, dev, func, reg, size);
			if (!fn)
				assert_true(got == size_mask(size));
			else
				assert_true(got == pci_get(fn, reg, size));
		}
		/* Now and then: interrupts, BAR traffic, a full check. */
		switch ((r >> 44) & 0x3f) {
		case 0:
			pci_msi_notify(fns[(r >> 50) % ARRAY_SIZE(fns)], (unsigned)(value % 40));
			break;
		case 1:
			pci_msix_notify(m, (unsigned)(value % 24));
			break;
		case 2:
			pci_set_intx(fns[(r >> 50) % ARRAY_SIZE(fns)], value & 1);
			break;
		case 3: {
			bool claimed;
			uint64_t address = (r >> 50) & 1 ? pci_bar_address(m, 2) + (value & 0x3fff)
							 : pci_bar_address(&t->fn, 0) + (value & 0xfff);
			unsigned sz = 1u << ((value >> 20) % 4);
			if ((value >> 30) & 1)
				pci_space_write(&f->seg, false, address, sz, rnd(), &claimed);
			else
				pci_space_read(&f->seg, false, address, sz, &claimed);
			break;
		}
		case 4:
			for (size_t i = 0; i < ARRAY_SIZE(fns); i++)
				for (unsigned b = 0; b < PCI_CONFIG_SPACE_SIZE; b++)
					if (is_frozen[i][b])
						assert_int_equal(fns[i]->config[b], frozen[i][b]);
			break;
		default:
			break;
		}
		/* Invariants that hold after every access. */
		for (size_t i = 0; i < ARRAY_SIZE(fns); i++) {
			uint16_t status = pci_get16(fns[i], PCI_STATUS);
			assert_int_equal(!!(status & PCI_STATUS_INTERRUPT), fns[i]->intx_request);
			assert_int_equal(pci_get16(fns[i], PCI_COMMAND) & ~PCI_COMMAND_WRITABLE, 0);
			if (fns[i]->intx_asserted)
				assert_false(pci_msi_enabled(fns[i]) || pci_msix_enabled(fns[i]));
		}
		assert_true(f->msgs >= sent_before);
		sent_before = f->msgs;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fns); i++)
		for (unsigned b = 0; b < PCI_CONFIG_SPACE_SIZE; b++)
			if (is_frozen[i][b])
				assert_int_equal(fns[i]->config[b], frozen[i][b]);
	/* The host bridge IDs survived. */
	assert_int_equal(cfg1_read(f, 0, 0, PCI_VENDOR_ID, 4), 0x00081b36);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_host_bridge_ids),
		T(test_mech1_every_width_and_offset),
		T(test_config_address_register),
		T(test_config_address_passthrough),
		T(test_absent_functions),
		T(test_ecam_matches_mech1),
		T(test_read_only_and_rw1c),
		T(test_bar_sizing_32bit),
		T(test_bar_sizing_64bit),
		T(test_bar_sizing_io),
		T(test_set_bar_refusals),
		T(test_capability_list),
		T(test_ext_capability_list),
		T(test_msi_32bit),
		T(test_msi_64bit_multiple),
		T(test_msi_masking),
		T(test_intx),
		T(test_msix_capability_and_table),
		T(test_msix_refusals),
		T(test_msix_masking_and_pba),
		T(test_msix_function_mask),
		T(test_testdev_config),
		T(test_testdev_intx),
		T(test_testdev_msi),
		T(test_testdev_msix),
		T(test_decoding_gated_by_command),
		T(test_find_bar_routing),
		T(test_registration),
		T(test_random_config_accesses),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
