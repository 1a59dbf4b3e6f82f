/* devices/ioapic.c: the I/O APIC against the 82093AA datasheet (register
 * access, redirection entries, edge and level pins, remote IRR and EOI,
 * mask, polarity), and wired to local APICs (devices/lapic.c) end to end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "devices/ioapic.h"
#include "devices/lapic.h"

struct sink {
	struct apic_msg msg[256];
	unsigned n;
	struct lapic **apics; /* if set, messages go on to them */
	unsigned napics;
};

static void sink_deliver(void *ctx, const struct apic_msg *m)
{
	struct sink *s = ctx;
	s->msg[s->n % 256] = *m;
	s->n++;
	if (s->apics)
		lapic_deliver(s->apics, s->napics, m);
}

static struct sink sink;
static struct ioapic io;

static int fixture(void **state)
{
	(void)state;
	memset(&sink, 0, sizeof(sink));
	ioapic_init(&io, 2, sink_deliver, &sink);
	return 0;
}

static uint32_t ind_read(unsigned index)
{
	ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 4, index);
	return (uint32_t)ioapic_mmio_read(&io, IOAPIC_IOWIN, 4);
}

static void ind_write(unsigned index, uint32_t v)
{
	ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 4, index);
	ioapic_mmio_write(&io, IOAPIC_IOWIN, 4, v);
}

static uint64_t rte(unsigned pin)
{
	return ind_read(0x10 + 2 * pin) | ((uint64_t)ind_read(0x11 + 2 * pin) << 32);
}

/* High half first, then the low half (which may unmask). */
static void set_rte(unsigned pin, uint64_t v)
{
	ind_write(0x11 + 2 * pin, (uint32_t)(v >> 32));
	ind_write(0x10 + 2 * pin, (uint32_t)v);
}

#define LEVEL IOAPIC_RTE_LEVEL
#define MASKED IOAPIC_RTE_MASKED
#define LOW IOAPIC_RTE_POLARITY_LOW
#define RIRR IOAPIC_RTE_REMOTE_IRR
#define DEST(d) ((uint64_t)(d) << 56)

static void test_registers(void **state)
{
	(void)state;
	/* IOAPICID (3.2.1): bits 27:24. */
	assert_int_equal(ind_read(0), 0x02000000);
	ind_write(0, 0xFFFFFFFF);
	assert_int_equal(ind_read(0), 0x0F000000);
	ind_write(0, 0x05000000);
	/* IOAPICVER (3.2.2): version 20H, 24 entries (max 17H). Read-only. */
	assert_int_equal(ind_read(1), 0x00170020);
	ind_write(1, 0);
	assert_int_equal(ind_read(1), 0x00170020);
	/* IOAPICARB (3.2.3): the ID's bits; read-only. */
	assert_int_equal(ind_read(2), 0x05000000);
	ind_write(2, 0x0A000000);
	assert_int_equal(ind_read(2), 0x05000000);
	/* Unknown indexes read 0. */
	assert_int_equal(ind_read(3), 0);
	assert_int_equal(ind_read(0x0F), 0);
	assert_int_equal(ind_read(0x40), 0);
	assert_int_equal(ind_read(0xFF), 0);
	ind_write(0x40, 0x1234);
	/* IOREGSEL reads back its index (bits 7:0). */
	ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 4, 0x12345611);
	assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOREGSEL, 4), 0x11);
	ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 1, 0x01);
	assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOWIN, 4), 0x00170020);
	/* Narrow reads: the low bytes; 8-byte: zero-extended. */
	assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOWIN, 1), 0x20);
	assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOWIN, 2), 0x0020);
	assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOWIN, 8), 0x00170020);
	/* Other offsets: 0, writes ignored; EOI reads 0. */
	assert_int_equal(ioapic_mmio_read(&io, 0x04, 4), 0);
	assert_int_equal(ioapic_mmio_read(&io, 0x20, 4), 0);
	assert_int_equal(ioapic_mmio_read(&io, IOAPIC_EOI, 4), 0);
	ioapic_mmio_write(&io, 0x20, 4, 0xFFFFFFFF);
	ioapic_mmio_write(&io, 0xFFC, 4, 0xFFFFFFFF);

	/* Redirection entries: reset masked (3.2.4), the rest 0. */
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		assert_int_equal(rte(pin), MASKED);
	/* Writable bits only: delivery status, remote IRR, 55:17 stay 0. */
	set_rte(5, ~0ull);
	assert_int_equal(rte(5), 0xFF0000000001AFFFull);
	set_rte(5, MASKED);
	/* Each entry is its own. */
	set_rte(23, DEST(0x12) | LEVEL | 0x7F);
	assert_int_equal(rte(23), DEST(0x12) | LEVEL | 0x7F);
	assert_int_equal(rte(22), MASKED);
	/* IOWIN: narrow writes are dropped, 8-byte writes take bits 31:0. */
	ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 4, 0x10 + 2 * 4);
	ioapic_mmio_write(&io, IOAPIC_IOWIN, 2, 0x0041);
	assert_int_equal(rte(4), MASKED);
	ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 4, 0x10 + 2 * 4);
	ioapic_mmio_write(&io, IOAPIC_IOWIN, 8, 0xFFFFFFFF00010041ull);
	assert_int_equal(rte(4), MASKED | 0x41);
	assert_int_equal(sink.n, 0);
}

static void test_edge_triggered(void **state)
{
	(void)state;
	set_rte(1, DEST(3) | 0x31);
	/* One message per asserting edge. */
	ioapic_set_irq(&io, 1, true);
	assert_int_equal(sink.n, 1);
	struct apic_msg *m = &sink.msg[0];
	assert_int_equal(m->vector, 0x31);
	assert_int_equal(m->dest, 3);
	assert_false(m->dest_logical);
	assert_int_equal(m->mode, APIC_DM_FIXED);
	assert_false(m->level_triggered);
	assert_true(m->assert);
	ioapic_set_irq(&io, 1, true); /* still high: no edge */
	assert_int_equal(sink.n, 1);
	ioapic_set_irq(&io, 1, false);
	assert_int_equal(sink.n, 1);
	ioapic_set_irq(&io, 1, true);
	assert_int_equal(sink.n, 2);
	ioapic_set_irq(&io, 1, false);
	/* irq_pulse through an irq_line, as the PIT does. */
	struct irq_line line = ioapic_irq_line(&io, 1);
	irq_pulse(&line);
	irq_pulse(&line);
	assert_int_equal(sink.n, 4);
	/* Masked edges are lost, not held (3.2.4 bit 16). */
	set_rte(1, DEST(3) | MASKED | 0x31);
	irq_pulse(&line);
	set_rte(1, DEST(3) | 0x31);
	assert_int_equal(sink.n, 4);
	/* No remote IRR for edge; an EOI does nothing. */
	assert_false(rte(1) & RIRR);
	ioapic_eoi(&io, 0x31);
	assert_int_equal(sink.n, 4);
	/* Pins beyond 23 are ignored. */
	ioapic_set_irq(&io, 24, true);
	ioapic_set_irq(&io, 1000, true);
	assert_int_equal(sink.n, 4);
}

static void test_level_triggered_remote_irr(void **state)
{
	(void)state;
	set_rte(10, DEST(1) | LEVEL | 0x4A);
	ioapic_set_irq(&io, 10, true);
	assert_int_equal(sink.n, 1);
	assert_true(sink.msg[0].level_triggered);
	assert_true(rte(10) & RIRR);
	/* Held: nothing more until the EOI. */
	ioapic_set_irq(&io, 10, true);
	assert_int_equal(sink.n, 1);
	/* An EOI for another vector changes nothing. */
	ioapic_eoi(&io, 0x4B);
	assert_true(rte(10) & RIRR);
	assert_int_equal(sink.n, 1);
	/* EOI with the line still asserted: delivered again. */
	ioapic_eoi(&io, 0x4A);
	assert_int_equal(sink.n, 2);
	assert_true(rte(10) & RIRR);
	/* The device lets go; the EOI clears remote IRR and that's all. */
	ioapic_set_irq(&io, 10, false);
	ioapic_eoi(&io, 0x4A);
	assert_int_equal(sink.n, 2);
	assert_false(rte(10) & RIRR);
	/* Remote IRR is read-only. */
	ioapic_set_irq(&io, 10, true);
	assert_true(rte(10) & RIRR);
	set_rte(10, DEST(1) | LEVEL | 0x4A);
	assert_true(rte(10) & RIRR);
	assert_int_equal(sink.n, 3);
	/* The EOI register (version 20H) does the same as the broadcast. */
	ioapic_mmio_write(&io, IOAPIC_EOI, 4, 0x4A);
	assert_int_equal(sink.n, 4);
	ioapic_set_irq(&io, 10, false);
	ioapic_mmio_write(&io, IOAPIC_EOI, 1, 0x4A);
	assert_false(rte(10) & RIRR);
	/* Two pins sharing a vector: one EOI serves both. */
	set_rte(11, DEST(1) | LEVEL | 0x4A);
	ioapic_set_irq(&io, 10, true);
	ioapic_set_irq(&io, 11, true);
	assert_int_equal(sink.n, 6);
	ioapic_set_irq(&io, 10, false);
	ioapic_eoi(&io, 0x4A);
	assert_int_equal(sink.n, 7); /* only 11 is still asserted */
	assert_false(rte(10) & RIRR);
	assert_true(rte(11) & RIRR);
	/* Switching an entry to edge drops remote IRR. */
	set_rte(11, DEST(1) | MASKED | 0x4A);
	assert_false(rte(11) & RIRR);
}

static void test_level_masking(void **state)
{
	(void)state;
	/* Asserted while masked: nothing; unmasked: delivered. */
	set_rte(16, DEST(0) | LEVEL | MASKED | 0x60);
	ioapic_set_irq(&io, 16, true);
	assert_int_equal(sink.n, 0);
	assert_false(rte(16) & RIRR);
	set_rte(16, DEST(0) | LEVEL | 0x60);
	assert_int_equal(sink.n, 1);
	assert_true(rte(16) & RIRR);
	/* Masked after acceptance: remote IRR stays until the EOI, and the EOI
	 * does not deliver through the mask. */
	set_rte(16, DEST(0) | LEVEL | MASKED | 0x60);
	assert_true(rte(16) & RIRR);
	ioapic_eoi(&io, 0x60);
	assert_false(rte(16) & RIRR);
	assert_int_equal(sink.n, 1);
	/* Deasserted while masked: nothing on unmask. */
	ioapic_set_irq(&io, 16, false);
	set_rte(16, DEST(0) | LEVEL | 0x60);
	assert_int_equal(sink.n, 1);
}

static void test_polarity(void **state)
{
	(void)state;
	/* An active-high wire read as active-low: idle looks asserted. */
	set_rte(3, DEST(0) | LEVEL | LOW | 0x33);
	assert_int_equal(sink.n, 1);
	ioapic_set_irq(&io, 3, true); /* the wire goes high: inactive */
	ioapic_eoi(&io, 0x33);
	assert_int_equal(sink.n, 1);
	ioapic_set_irq(&io, 3, false);
	assert_int_equal(sink.n, 2);
	/* A board that wires the pin active-low (PCI INTx), with the polarity
	 * the ACPI tables announce: "asserted" means active again. */
	set_rte(3, DEST(0) | LEVEL | LOW | MASKED | 0x33);
	ioapic_eoi(&io, 0x33);
	ioapic_set_wiring(&io, 3, true);
	set_rte(3, DEST(0) | LEVEL | LOW | 0x33);
	assert_int_equal(sink.n, 2);
	ioapic_set_irq(&io, 3, true);
	assert_int_equal(sink.n, 3);
	ioapic_set_irq(&io, 3, false);
	ioapic_eoi(&io, 0x33);
	assert_int_equal(sink.n, 3);
	/* Edge, active-low wiring and polarity: the asserting edge delivers. */
	ioapic_set_wiring(&io, 4, true);
	set_rte(4, DEST(0) | LOW | 0x34);
	ioapic_set_irq(&io, 4, true);
	assert_int_equal(sink.n, 4);
	ioapic_set_irq(&io, 4, false);
	assert_int_equal(sink.n, 4);
	/* Edge, polarity not matching the wiring: the deasserting edge. */
	set_rte(4, DEST(0) | 0x34);
	ioapic_set_irq(&io, 4, true);
	assert_int_equal(sink.n, 4);
	ioapic_set_irq(&io, 4, false);
	assert_int_equal(sink.n, 5);
	ioapic_set_wiring(&io, 4, false);
	ioapic_set_wiring(&io, 99, true);
}

static void test_destination_and_modes(void **state)
{
	(void)state;
	static const struct {
		uint64_t entry;
		uint32_t dest;
		bool logical;
		enum apic_delivery_mode mode;
	} cases[] = {
		{ DEST(0x07) | 0x40, 7, false, APIC_DM_FIXED },
		{ DEST(0xFE) | 0x40, 0xFE, false, APIC_DM_FIXED },
		{ DEST(0xFF) | 0x40, APIC_BROADCAST, false, APIC_DM_FIXED },
		{ DEST(0xFF) | IOAPIC_RTE_LOGICAL | 0x40, 0xFF, true, APIC_DM_FIXED },
		{ DEST(0x0F) | IOAPIC_RTE_LOGICAL | (1 << 8) | 0x40, 0x0F, true, APIC_DM_LOWEST },
		{ DEST(0x01) | (2 << 8), 1, false, APIC_DM_SMI },
		{ DEST(0x01) | (4 << 8), 1, false, APIC_DM_NMI },
		{ DEST(0x01) | (5 << 8), 1, false, APIC_DM_INIT },
		{ DEST(0x00) | (7 << 8), 0, false, APIC_DM_EXTINT },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		set_rte(7, cases[i].entry);
		ioapic_set_irq(&io, 7, true);
		ioapic_set_irq(&io, 7, false);
		assert_int_equal(sink.n, i + 1);
		struct apic_msg *m = &sink.msg[i];
		assert_int_equal(m->dest, cases[i].dest);
		assert_int_equal(m->dest_logical, cases[i].logical);
		assert_int_equal(m->mode, cases[i].mode);
		assert_int_equal(m->vector, cases[i].entry & 0xFF);
		assert_int_equal(m->source_id, 0);
		assert_false(m->exclude_source);
	}
	/* Reserved delivery modes send nothing. */
	set_rte(7, DEST(1) | (3 << 8) | 0x40);
	irq_pulse(&(struct irq_line){ ioapic_set_irq, &io, 7 });
	set_rte(7, DEST(1) | (6 << 8) | 0x40);
	irq_pulse(&(struct irq_line){ ioapic_set_irq, &io, 7 });
	assert_int_equal(sink.n, ARRAY_SIZE(cases));
	/* No deliver callback: nothing breaks. */
	struct ioapic quiet;
	ioapic_init(&quiet, 0, NULL, NULL);
	ioapic_set_irq(&quiet, 0, true);
	quiet.rte[0] = 0x40;
	ioapic_set_irq(&quiet, 0, false);
	ioapic_set_irq(&quiet, 0, true);
}

/* The IOAPIC with two local APICs: destinations, level interrupts and the
 * EOI path through the LAPIC's broadcast, and the EOI register when the
 * LAPIC suppresses broadcasts. */
static struct ioapic *eoi_target;

static void lapic_eoi_to_ioapic(void *ctx, uint8_t vector)
{
	(void)ctx;
	ioapic_eoi(eoi_target, vector);
}

static void test_with_local_apics(void **state)
{
	(void)state;
	struct lapic a[2];
	struct lapic *p[2] = { &a[0], &a[1] };
	for (unsigned i = 0; i < 2; i++) {
		struct lapic_config cfg = {
			.apic_id = i, .bsp = i == 0, .x2apic = true, .ops = { .eoi_broadcast = lapic_eoi_to_ioapic }
		};
		lapic_init(&a[i], &cfg);
		lapic_mmio_write(&a[i], 0xF0, 4, 0x1FF);
		lapic_mmio_write(&a[i], 0xD0, 4, (1u << i) << 24);
	}
	sink.apics = p;
	sink.napics = 2;
	eoi_target = &io;
	/* Level, physical to APIC 1. */
	set_rte(9, DEST(1) | LEVEL | 0x59);
	ioapic_set_irq(&io, 9, true);
	assert_int_equal(lapic_pending_vector(&a[1]), 0x59);
	assert_int_equal(lapic_pending_vector(&a[0]), -1);
	lapic_ack(&a[1], 0x59);
	lapic_mmio_write(&a[1], 0xB0, 4, 0); /* EOI: broadcast, still asserted */
	assert_int_equal(lapic_pending_vector(&a[1]), 0x59);
	assert_true(rte(9) & RIRR);
	lapic_ack(&a[1], 0x59);
	ioapic_set_irq(&io, 9, false);
	lapic_mmio_write(&a[1], 0xB0, 4, 0);
	assert_false(rte(9) & RIRR);
	assert_int_equal(lapic_pending_vector(&a[1]), -1);
	/* With EOI-broadcast suppression the guest writes the EOI register. */
	lapic_mmio_write(&a[1], 0xF0, 4, 0x11FF);
	ioapic_set_irq(&io, 9, true);
	lapic_ack(&a[1], 0x59);
	ioapic_set_irq(&io, 9, false);
	lapic_mmio_write(&a[1], 0xB0, 4, 0);
	assert_true(rte(9) & RIRR);
	ioapic_mmio_write(&io, IOAPIC_EOI, 4, 0x59);
	assert_false(rte(9) & RIRR);
	/* Logical flat to both; physical broadcast to both. */
	set_rte(2, DEST(0x03) | IOAPIC_RTE_LOGICAL | 0x62);
	ioapic_set_irq(&io, 2, true);
	assert_int_equal(lapic_pending_vector(&a[0]), 0x62);
	assert_int_equal(lapic_pending_vector(&a[1]), 0x62);
	set_rte(3, DEST(0xFF) | 0x63);
	ioapic_set_irq(&io, 3, true);
	assert_int_equal(lapic_pending_vector(&a[0]), 0x63);
	/* Lowest priority to the group: the lower PPR wins. */
	lapic_mmio_write(&a[0], 0x80, 4, 0x70);
	set_rte(4, DEST(0x03) | IOAPIC_RTE_LOGICAL | (1 << 8) | 0x64);
	ioapic_set_irq(&io, 4, true);
	assert_true(lapic_mmio_read(&a[1], 0x230, 4) & (1u << 4));
	assert_false(lapic_mmio_read(&a[0], 0x230, 4) & (1u << 4));
	/* The physical broadcast reaches an APIC in x2APIC mode too, where
	 * 0xFF would otherwise be an ordinary x2APIC ID. */
	assert_true(lapic_set_base(&a[1], 0xFEE00000 | APIC_BASE_EN | APIC_BASE_EXTD));
	set_rte(5, DEST(0xFF) | 0x65);
	ioapic_set_irq(&io, 5, true);
	uint64_t irr3 = 0;
	assert_true(lapic_msr_read(&a[1], 0x823, &irr3));
	assert_true(irr3 & (1u << 5));
	assert_true(lapic_mmio_read(&a[0], 0x230, 4) & (1u << 5));
	/* And physical 1 is still APIC 1. */
	set_rte(6, DEST(1) | 0x66);
	ioapic_set_irq(&io, 6, true);
	assert_true(lapic_msr_read(&a[1], 0x823, &irr3));
	assert_true(irr3 & (1u << 6));
	assert_false(lapic_mmio_read(&a[0], 0x230, 4) & (1u << 6));
}

/* Random sequences under the sanitizers, checked against a model of what
 * remote IRR and the deliveries must be. */
static uint64_t rng = 0x243F6A8885A308D3ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_random_sequences(void **state)
{
	(void)state;
	for (unsigned iter = 0; iter < 200000; iter++) {
		unsigned pin = (unsigned)(rnd() % 26); /* 24, 25: out of range */
		switch (rnd() % 8) {
		case 0:
		case 1: {
			uint64_t e = rnd() & (DEST(0xFF) | 0x1FFFF);
			if (rnd() % 4 == 0)
				e |= rnd();
			if (pin < IOAPIC_PINS) {
				uint64_t before = io.rte[pin];
				unsigned n = sink.n;
				set_rte(pin, e);
				uint64_t now = rte(pin);
				/* The writable bits are what was written. */
				assert_int_equal(now & 0xFF0000000001AFFFull, e & 0xFF0000000001AFFFull);
				assert_int_equal(now & 0x00FFFFFFFFFE1000ull & ~RIRR, 0);
				/* Remote IRR: only level entries keep or gain it. */
				if (!(e & LEVEL))
					assert_false(now & RIRR);
				else if (sink.n == n)
					assert_int_equal(now & RIRR, before & RIRR);
			}
			break;
		}
		case 2:
		case 3:
		case 4: {
			unsigned n = sink.n;
			uint64_t e = pin < IOAPIC_PINS ? io.rte[pin] : 0;
			bool rirr = e & RIRR;
			ioapic_set_irq(&io, pin, rnd() & 1);
			if (pin >= IOAPIC_PINS) {
				assert_int_equal(sink.n, n);
				break;
			}
			unsigned mode = (e >> 8) & 7;
			if ((e & MASKED) || mode == 3 || mode == 6)
				assert_int_equal(sink.n, n); /* masked: never */
			if ((e & LEVEL) && rirr)
				assert_int_equal(sink.n, n); /* waiting for the EOI */
			if (sink.n != n) {
				assert_int_equal(sink.n, n + 1);
				assert_int_equal(sink.msg[(sink.n - 1) % 256].vector, e & 0xFF);
			}
			break;
		}
		case 5:
			ioapic_eoi(&io, (uint8_t)(rnd() % 4 ? rnd() : io.rte[rnd() % IOAPIC_PINS]));
			break;
		case 6:
			ioapic_mmio_write(&io, rnd() % 0x60, 1u << (rnd() % 4), rnd());
			ioapic_mmio_read(&io, rnd() % 0x60, 1u << (rnd() % 4));
			break;
		default:
			ioapic_set_wiring(&io, pin, rnd() & 1);
			break;
		}
		/* Remote IRR only on level entries that are active or awaiting an
		 * EOI; delivery status never set; reserved bits clear. */
		for (unsigned i = 0; i < IOAPIC_PINS; i++) {
			assert_false(io.rte[i] & IOAPIC_RTE_DELIVERY_STATUS);
			if (io.rte[i] & RIRR)
				assert_true(io.rte[i] & LEVEL);
			assert_int_equal(io.rte[i] & 0x00FFFFFFFFFE0000ull, 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_registers, fixture),
		cmocka_unit_test_setup(test_edge_triggered, fixture),
		cmocka_unit_test_setup(test_level_triggered_remote_irr, fixture),
		cmocka_unit_test_setup(test_level_masking, fixture),
		cmocka_unit_test_setup(test_polarity, fixture),
		cmocka_unit_test_setup(test_destination_and_modes, fixture),
		cmocka_unit_test_setup(test_with_local_apics, fixture),
		cmocka_unit_test_setup(test_random_sequences, fixture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
