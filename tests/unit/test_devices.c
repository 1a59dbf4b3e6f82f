/* The small pure modules: devices/bus.c, devices/uart16550.c, vm/config.c,
 * vm/cpuid_policy.c, vm/guest_mem.c, vm/guest_boot.c (the boot information
 * it writes), lib/printf.c and lib/string.c's parse_u64. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <elf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpu.h"
#include "boot/multiboot2.h"
#include "devices/bus.h"
#include "devices/debug_exit.h"
#include "devices/uart16550.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "vm/guest_boot.h"
#include "vm/config.h"
#include "vm/cpuid_policy.h"
#include "vm/guest_mem.h"

/* --- Bus ---------------------------------------------------------------------- */

struct probe {
	unsigned reads, writes;
	uint64_t offset, value;
	unsigned size;
	uint64_t answer;
};

static uint64_t probe_read(void *opaque, uint64_t offset, unsigned size)
{
	struct probe *p = opaque;
	p->reads++;
	p->offset = offset;
	p->size = size;
	return p->answer;
}

static void probe_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct probe *p = opaque;
	p->writes++;
	p->offset = offset;
	p->size = size;
	p->value = value;
}

static struct bus_device dev(uint64_t base, uint64_t len, struct probe *p)
{
	return (struct bus_device){ "probe", base, len, probe_read, probe_write, p };
}

static void test_bus_register(void **state)
{
	(void)state;
	struct bus b;
	struct probe p = { 0 };
	bus_init(&b, "test");
	assert_string_equal(b.name, "test");
	assert_true(bus_register(&b, &(struct bus_device){ "a", 0x100, 0x10, NULL, NULL, NULL }));
	assert_int_equal(b.count, 1);

	/* Overlaps of every shape are refused. */
	static const struct {
		uint64_t base, len;
	} overlapping[] = { { 0x100, 0x10 }, { 0xf8, 0x10 }, { 0x10f, 1 }, { 0x0, 0x1000 },
			    { 0x104, 0x4 }, { 0xff, 2 } };
	for (size_t i = 0; i < ARRAY_SIZE(overlapping); i++) {
		struct bus_device d = dev(overlapping[i].base, overlapping[i].len, &p);
		assert_false(bus_register(&b, &d));
	}
	/* Empty and wrapping ranges are refused. */
	struct bus_device empty = dev(0x200, 0, &p), wrap = dev(UINT64_MAX - 1, 3, &p),
			  to_top = dev(UINT64_MAX - 0xfff, 0x1000, &p);
	assert_false(bus_register(&b, &empty));
	assert_false(bus_register(&b, &wrap));
	assert_false(bus_register(&b, &to_top));
	assert_int_equal(b.count, 1);
	/* Adjacent ranges are fine. */
	struct bus_device below = dev(0xf0, 0x10, &p), above = dev(0x110, 0x10, &p);
	assert_true(bus_register(&b, &below));
	assert_true(bus_register(&b, &above));
	assert_int_equal(b.count, 3);
}

static void test_bus_full(void **state)
{
	(void)state;
	struct bus b;
	struct probe p = { 0 };
	bus_init(&b, "test");
	for (unsigned i = 0; i < BUS_MAX_DEVICES; i++) {
		struct bus_device d = dev(i * 0x10, 0x10, &p);
		assert_true(bus_register(&b, &d));
	}
	struct bus_device extra = dev(0x10000, 0x10, &p);
	assert_false(bus_register(&b, &extra));
	assert_int_equal(b.count, BUS_MAX_DEVICES);
}

static void test_bus_find(void **state)
{
	(void)state;
	struct bus b;
	struct probe p1 = { 0 }, p2 = { 0 };
	bus_init(&b, "test");
	struct bus_device d1 = dev(0x3f8, 8, &p1), d2 = dev(0x400, 4, &p2);
	assert_true(bus_register(&b, &d1));
	assert_true(bus_register(&b, &d2));
	assert_ptr_equal(bus_find(&b, 0x3f8, 1)->opaque, &p1);
	assert_ptr_equal(bus_find(&b, 0x3ff, 1)->opaque, &p1);
	assert_ptr_equal(bus_find(&b, 0x3fc, 4)->opaque, &p1);
	assert_ptr_equal(bus_find(&b, 0x400, 4)->opaque, &p2);
	assert_null(bus_find(&b, 0x3f7, 1));
	assert_null(bus_find(&b, 0x3fe, 4)); /* crosses into the next device */
	assert_null(bus_find(&b, 0x402, 4)); /* runs past the end */
	assert_null(bus_find(&b, 0x404, 1));
	assert_null(bus_find(&b, UINT64_MAX, 8));
}

static void test_bus_read_write(void **state)
{
	(void)state;
	struct bus b;
	struct probe p = { .answer = 0x1122334455667788ULL };
	bool claimed;
	bus_init(&b, "test");
	struct bus_device d = dev(0x1000, 0x100, &p);
	assert_true(bus_register(&b, &d));

	/* Claimed: offsets relative to the base, values cut to the size. */
	assert_int_equal(bus_read(&b, 0x1010, 2, &claimed), 0x7788);
	assert_true(claimed);
	assert_int_equal(p.offset, 0x10);
	assert_int_equal(p.size, 2);
	assert_int_equal(bus_read(&b, 0x1000, 8, &claimed), 0x1122334455667788ULL);
	bus_write(&b, 0x10ff, 1, 0xabcd, &claimed);
	assert_true(claimed);
	assert_int_equal(p.offset, 0xff);
	assert_int_equal(p.value, 0xcd);

	/* Unclaimed: all-ones of the access size, writes dropped. */
	static const struct {
		unsigned size;
		uint64_t ones;
	} sizes[] = { { 1, 0xff }, { 2, 0xffff }, { 4, 0xffffffff }, { 8, ~0ULL } };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		claimed = true;
		assert_int_equal(bus_read(&b, 0x2000, sizes[i].size, &claimed), sizes[i].ones);
		assert_false(claimed);
	}
	unsigned writes = p.writes, reads = p.reads;
	claimed = true;
	bus_write(&b, 0x2000, 4, 0x12345678, &claimed);
	assert_false(claimed);
	/* Straddling the device's end is not the device's either. */
	assert_int_equal(bus_read(&b, 0x10fe, 4, &claimed), 0xffffffff);
	assert_false(claimed);
	assert_int_equal(p.writes, writes);
	assert_int_equal(p.reads, reads);
}

/* A device that only takes writes reads as all-ones, but is still there. */
static void test_bus_write_only_device(void **state)
{
	(void)state;
	struct bus b;
	struct debug_exit de = { NULL, NULL }; /* no callback: writes are dropped */
	bool claimed;
	bus_init(&b, "test");
	struct bus_device d = { "exit", DEBUG_EXIT_PORT, DEBUG_EXIT_NR_PORTS, NULL, debug_exit_write,
				&de };
	assert_true(bus_register(&b, &d));
	assert_int_equal(bus_read(&b, DEBUG_EXIT_PORT, 1, &claimed), 0xff);
	assert_true(claimed);
	bus_write(&b, DEBUG_EXIT_PORT, 1, 3, &claimed);
	assert_true(claimed);
}

static void exit_code_cb(void *ctx, uint32_t code)
{
	*(uint32_t *)ctx = code;
}

static void test_debug_exit(void **state)
{
	(void)state;
	uint32_t code = 0;
	struct debug_exit de = { exit_code_cb, &code };
	debug_exit_write(&de, 0, 1, 0x2a);
	assert_int_equal(code, 0x2a);
	debug_exit_write(&de, 0, 4, 0xfffffffe);
	assert_int_equal(code, 0xfffffffe);
}

/* Each unclaimed address is reported at most once, however many there are. */
static void test_bus_first_unclaimed(void **state)
{
	(void)state;
	struct bus b;
	bus_init(&b, "test");
	assert_true(bus_first_unclaimed(&b, 0x80));
	assert_false(bus_first_unclaimed(&b, 0x80));
	assert_true(bus_first_unclaimed(&b, 0x81));
	assert_false(bus_first_unclaimed(&b, 0x80));

	unsigned reported = 2;
	for (uint64_t a = 0x1000; a < 0x1000 + 3 * BUS_MAX_LOGGED_UNCLAIMED; a++) {
		reported += bus_first_unclaimed(&b, a);
		/* A guest polling the same address must not flood the console. */
		for (unsigned k = 0; k < 5; k++)
			if (bus_first_unclaimed(&b, a))
				fail_msg("address 0x%llx reported again", (unsigned long long)a);
	}
	assert_true(reported >= BUS_MAX_LOGGED_UNCLAIMED);
	assert_true(reported <= 2 + 3 * BUS_MAX_LOGGED_UNCLAIMED);
	assert_false(bus_first_unclaimed(&b, 0x80));
	assert_false(bus_first_unclaimed(&b, 0x81));
	assert_true(b.logged_count <= BUS_MAX_LOGGED_UNCLAIMED);
}

static void test_size_mask(void **state)
{
	(void)state;
	assert_int_equal(size_mask(1), 0xff);
	assert_int_equal(size_mask(2), 0xffff);
	assert_int_equal(size_mask(4), 0xffffffff);
	assert_int_equal(size_mask(8), ~0ULL);
}

/* --- UART ----------------------------------------------------------------------- */

struct txlog {
	uint8_t bytes[16];
	unsigned n;
};

static void tx_cb(void *ctx, uint8_t byte)
{
	struct txlog *t = ctx;
	if (t->n < sizeof(t->bytes))
		t->bytes[t->n++] = byte;
}

#define THR 0
#define IER 1
#define IIR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

static void test_uart_transmit(void **state)
{
	(void)state;
	struct uart16550 u;
	struct txlog t = { .n = 0 };
	uart16550_init(&u, tx_cb, &t);
	uart16550_write(&u, THR, 1, 'h');
	uart16550_write(&u, THR, 1, 0x169); /* only the low byte: 'i' */
	assert_int_equal(t.n, 2);
	assert_int_equal(t.bytes[0], 'h');
	assert_int_equal(t.bytes[1], 'i');
	/* The transmitter is always empty and ready. */
	assert_int_equal(uart16550_read(&u, LSR, 1), 0x60);
	uart16550_write(&u, LSR, 1, 0); /* read-only */
	assert_int_equal(uart16550_read(&u, LSR, 1), 0x60);
	assert_int_equal(uart16550_read(&u, THR, 1), 0); /* no receive data */
	assert_int_equal(uart16550_read(&u, MSR, 1), 0xb0);
	assert_int_equal(t.n, 2);
}

static void test_uart_divisor_latch(void **state)
{
	(void)state;
	struct uart16550 u;
	struct txlog t = { .n = 0 };
	uart16550_init(&u, tx_cb, &t);
	uart16550_write(&u, IER, 1, 0x05);
	uart16550_write(&u, LCR, 1, 0x83); /* DLAB, 8N1 */
	assert_int_equal(uart16550_read(&u, THR, 1), 0x0c); /* 9600 baud after reset */
	uart16550_write(&u, THR, 1, 0x01);                  /* 115200 baud */
	uart16550_write(&u, IER, 1, 0x00);
	assert_int_equal(uart16550_read(&u, THR, 1), 0x01);
	assert_int_equal(uart16550_read(&u, IER, 1), 0x00);
	assert_int_equal(t.n, 0); /* divisor writes are not output */
	uart16550_write(&u, LCR, 1, 0x03);
	assert_int_equal(uart16550_read(&u, LCR, 1), 0x03);
	assert_int_equal(uart16550_read(&u, IER, 1), 0x05); /* IER was kept */
	assert_int_equal(uart16550_read(&u, THR, 1), 0);
	uart16550_write(&u, THR, 1, 'x');
	assert_int_equal(t.n, 1);
	/* And DLAB again shows the latch as set. */
	uart16550_write(&u, LCR, 1, 0x80);
	assert_int_equal(uart16550_read(&u, THR, 1), 0x01);
	assert_int_equal(uart16550_read(&u, IER, 1), 0x00);
}

static void test_uart_registers(void **state)
{
	(void)state;
	struct uart16550 u;
	uart16550_init(&u, NULL, NULL); /* no output: writes to THR go nowhere */
	uart16550_write(&u, THR, 1, 'x');
	uart16550_write(&u, SCR, 1, 0x5a);
	assert_int_equal(uart16550_read(&u, SCR, 1), 0x5a);
	uart16550_write(&u, IER, 1, 0xff); /* only 4 interrupt enables exist */
	assert_int_equal(uart16550_read(&u, IER, 1), 0x0f);
	uart16550_write(&u, MCR, 1, 0xff);
	assert_int_equal(uart16550_read(&u, MCR, 1), 0x1f);
	/* Enabling ETBEI with THR empty raises THRE; reading IIR clears it. */
	assert_int_equal(uart16550_read(&u, IIR, 1), 0x02);
	assert_int_equal(uart16550_read(&u, IIR, 1), 0x01); /* no interrupt pending */
	uart16550_write(&u, IIR, 1, 0x07);                  /* FCR: FIFOs on */
	assert_int_equal(uart16550_read(&u, IIR, 1), 0xc1);
	uart16550_write(&u, IIR, 1, 0x00);
	assert_int_equal(uart16550_read(&u, IIR, 1), 0x01);
	assert_int_equal(uart16550_read(&u, 8, 1), 0xff); /* beyond the register file */
}

struct irq_probe {
	bool level;
	unsigned edges;
};

static void irq_probe_set(void *ctx, unsigned pin, bool asserted)
{
	struct irq_probe *p = ctx;
	assert_int_equal(pin, 4);
	if (asserted && !p->level)
		p->edges++;
	p->level = asserted;
}

static void uart_with_irq(struct uart16550 *u, struct irq_probe *p)
{
	uart16550_init(u, NULL, NULL);
	*p = (struct irq_probe){ 0 };
	struct irq_line l = { irq_probe_set, p, 4 };
	uart16550_set_irq(u, &l);
}

static void test_uart_rx_fifo_and_interrupts(void **state)
{
	(void)state;
	struct uart16550 u;
	struct irq_probe p;
	uart_with_irq(&u, &p);
	uart16550_write(&u, IER, 1, 0x01); /* ERBFI */
	assert_true(uart16550_receive(&u, 'a'));
	assert_false(p.level); /* MCR.OUT2 clear: the line stays quiet */
	uart16550_write(&u, MCR, 1, 0x08);
	assert_true(p.level);
	assert_int_equal(uart16550_read(&u, IIR, 1), 0x04); /* data, no FIFO */
	assert_int_equal(uart16550_read(&u, LSR, 1) & 0x01, 0x01);
	assert_int_equal(uart16550_read(&u, THR, 1), 'a');
	assert_false(p.level);
	assert_int_equal(uart16550_read(&u, LSR, 1) & 0x01, 0);
	/* Without FIFOs a second byte before the first is read overruns. */
	assert_true(uart16550_receive(&u, 'b'));
	assert_false(uart16550_receive(&u, 'c'));
	assert_int_equal(uart16550_read(&u, LSR, 1) & 0x02, 0x02); /* OE */
	assert_int_equal(uart16550_read(&u, LSR, 1) & 0x02, 0);    /* cleared by the read */
	assert_int_equal(uart16550_read(&u, THR, 1), 'b');
	/* FIFO mode, trigger level 4: below it, a timeout; at it, data. */
	uart16550_write(&u, IIR, 1, 0x41);
	for (int i = 0; i < 3; i++)
		assert_true(uart16550_receive(&u, (uint8_t)('0' + i)));
	assert_int_equal(uart16550_read(&u, IIR, 1), 0xcc);
	assert_true(uart16550_receive(&u, '3'));
	assert_int_equal(uart16550_read(&u, IIR, 1), 0xc4);
	for (int i = 0; i < 12; i++)
		assert_true(uart16550_receive(&u, 'x'));
	assert_false(uart16550_receive(&u, 'y')); /* 17th byte */
	assert_int_equal(uart16550_rx_space(&u), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(uart16550_read(&u, THR, 1), '0' + i); /* in order */
	uart16550_write(&u, IIR, 1, 0x43); /* clear RX */
	assert_int_equal(uart16550_read(&u, LSR, 1) & 0x01, 0);
}

static void test_uart_thre_interrupt(void **state)
{
	(void)state;
	struct uart16550 u;
	struct irq_probe p;
	uart_with_irq(&u, &p);
	uart16550_write(&u, MCR, 1, 0x08);
	uart16550_write(&u, IER, 1, 0x02); /* ETBEI with THR empty: THRE at once */
	assert_true(p.level);
	assert_int_equal(uart16550_read(&u, IIR, 1), 0x02);
	assert_false(p.level); /* the IIR read cleared THRE */
	assert_int_equal(uart16550_read(&u, IIR, 1), 0x01);
	uart16550_write(&u, THR, 1, 'z'); /* sent at once, THR empty again */
	assert_true(p.level);
	assert_int_equal(p.edges, 2);
	/* Received data outranks THRE (PC16550D Table 4). */
	uart16550_write(&u, IER, 1, 0x03);
	uart16550_receive(&u, 'q');
	assert_int_equal(uart16550_read(&u, IIR, 1), 0x04);
	uart16550_read(&u, THR, 1);
	assert_int_equal(uart16550_read(&u, IIR, 1), 0x02);
}

static void test_uart_loopback(void **state)
{
	(void)state;
	struct uart16550 u;
	struct txlog t = { .n = 0 };
	uart16550_init(&u, tx_cb, &t);
	uart16550_write(&u, MCR, 1, 0x10 | 0x01 | 0x02); /* LOOP, DTR, RTS */
	uart16550_write(&u, THR, 1, 'L');
	assert_int_equal(t.n, 0); /* nothing left on the wire */
	assert_int_equal(uart16550_read(&u, THR, 1), 'L');
	uint8_t msr = (uint8_t)uart16550_read(&u, MSR, 1);
	assert_int_equal(msr & 0xf0, 0x30); /* DSR, CTS from DTR, RTS; no RI, DCD */
	assert_false(uart16550_receive(&u, 'w')); /* the outside is cut off */
}

/* --- VM configuration ---------------------------------------------------------- */

static const char *parse(const char *s, struct vm_config *c, char *err, size_t errlen)
{
	return vm_config_parse(s, "vm0", c, err, errlen);
}

static void test_config_defaults_and_values(void **state)
{
	(void)state;
	struct vm_config c;
	char err[128];
	assert_null(parse("", &c, err, sizeof(err)));
	assert_string_equal(c.name, "vm0");
	assert_int_equal(c.mem, VM_MEM_DEFAULT);
	assert_int_equal(c.mem, MiB(32));

	assert_null(parse("name=basic mem=64M", &c, err, sizeof(err)));
	assert_string_equal(c.name, "basic");
	assert_int_equal(c.mem, MiB(64));

	/* The module's path first, tabs and repeated spaces, later settings win. */
	assert_null(parse("/boot/guests/basic.elf \t name=a  mem=4M\tname=b.-_9 ", &c, err,
			  sizeof(err)));
	assert_string_equal(c.name, "b.-_9");
	assert_int_equal(c.mem, MiB(4));
}

static void test_config_sizes(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t mem;
	} ok[] = {
		{ "mem=2M", MiB(2) },        { "mem=2048K", MiB(2) },     { "mem=2048k", MiB(2) },
		{ "mem=1G", GiB(1) },        { "mem=2G", GiB(2) },        { "mem=2g", GiB(2) },
		{ "mem=3M", MiB(4) },        { "mem=3m", MiB(4) },        { "mem=33554432", MiB(32) },
		{ "mem=0x4000000", MiB(64) }, { "mem=2097153", MiB(4) },  { "mem=0x200000", MiB(2) },
		{ "mem=2047M", GiB(2) },     { "mem=0x10M", MiB(16) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct vm_config c;
		char err[128];
		const char *e = parse(ok[i].s, &c, err, sizeof(err));
		if (e)
			fail_msg("'%s' refused: %s", ok[i].s, e);
		if (c.mem != ok[i].mem)
			fail_msg("'%s' gave %llu bytes", ok[i].s, (unsigned long long)c.mem);
		assert_int_equal(c.mem % MiB(2), 0);
	}
}

static void test_config_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		const char *words;
	} bad[] = {
		{ "mem=1M", "mem '1M' is not a size from 2M to 2G" },
		{ "mem=2097151", "mem '2097151'" },
		{ "mem=3G", "mem '3G'" },
		{ "mem=2049M", "mem '2049M'" },
		{ "mem=0", "mem '0'" },
		{ "mem=", "mem ''" },
		{ "mem=abc", "mem 'abc'" },
		{ "mem=12Q", "mem '12Q'" },
		{ "mem=12MB", "mem '12MB'" },
		{ "mem=-4M", "mem '-4M'" },
		{ "mem=0x", "mem '0x'" },
		{ "mem=M", "mem 'M'" },
		{ "mem=99999999999999999999999", "mem '99999999999999999999999'" },
		{ "mem=17179869184G", "mem '17179869184G'" },
		{ "foo=1", "unknown setting 'foo'" },
		{ "names=x", "unknown setting 'names'" },
		{ "nam=x", "unknown setting 'nam'" },
		{ "=5", "unknown setting ''" },
		{ "name=", "name must be 1 to 31 characters" },
		{ "name=0123456789012345678901234567890x", "name must be 1 to 31 characters" },
		{ "name=a/b", "name 'a/b' may use only" },
		{ "name=a,b", "name 'a,b' may use only" },
		{ "name=a=b", "name 'a=b' may use only" },
		{ "name=\x7f", "may use only" },
		{ "name=ok mem=1K", "mem '1K'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vm_config c;
		char err[128];
		memset(err, 0, sizeof(err));
		const char *e = parse(bad[i].s, &c, err, sizeof(err));
		if (!e)
			fail_msg("'%s' accepted", bad[i].s);
		assert_ptr_equal(e, err);
		if (!strstr(e, bad[i].words))
			fail_msg("'%s' refused with '%s', expected '%s'", bad[i].s, e, bad[i].words);
	}
}

static void test_config_name_lengths(void **state)
{
	(void)state;
	struct vm_config c;
	char err[128], s[64];
	memcpy(s, "name=", 5);
	memset(s + 5, 'n', 31);
	s[36] = '\0';
	assert_null(parse(s, &c, err, sizeof(err))); /* 31 characters: the most */
	assert_int_equal(strlen(c.name), 31);
	s[36] = 'n';
	s[37] = '\0';
	assert_non_null(parse(s, &c, err, sizeof(err))); /* 32 */

	/* A short error buffer: the message is cut, still terminated. */
	char tiny[8];
	const char *e = parse("bogus=1", &c, tiny, sizeof(tiny));
	assert_ptr_equal(e, tiny);
	assert_string_equal(tiny, "unknown");

	/* An overlong default name is cut to fit. */
	assert_null(vm_config_parse("", "a-default-name-that-is-much-too-long-to-fit", &c, err,
				    sizeof(err)));
	assert_int_equal(strlen(c.name), 31);
}

/* --- CPUID policy ---------------------------------------------------------------- */

static void test_cpuid_time_leaves(void **state)
{
	(void)state;
	struct cpuid_guest_view g = { .host_max_leaf = 0xd, .tsc_hz = 2400000000ULL,
				      .apic_timer_hz = 1000000000ULL };
	struct cpuid_regs r = { 0xd, 1, 2, 3 };
	cpuid_policy_apply(0, 0, &r, &g);
	assert_int_equal(r.eax, 0x16); /* raised so 15H and 16H exist */
	assert_int_equal(r.ebx, 1);    /* the vendor string stays */

	r = (struct cpuid_regs){ 9, 9, 9, 9 };
	cpuid_policy_apply(0x14, 0, &r, &g); /* above the host's max: zeros, not the host's answer */
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);

	/* 15H: TSC = ECX * EBX / EAX; 2.4 GHz does not fit ECX, so it is halved. */
	r = (struct cpuid_regs){ 0 };
	cpuid_policy_apply(0x15, 0, &r, &g);
	assert_int_equal((uint64_t)r.ecx * r.ebx / r.eax, 2400000000ULL);
	r = (struct cpuid_regs){ 0 };
	cpuid_policy_apply(0x16, 0, &r, &g);
	assert_int_equal(r.eax, 2400);
	assert_int_equal(r.ecx, 1000);

	r = (struct cpuid_regs){ 0 };
	cpuid_policy_apply(0x40000000, 0, &r, &g);
	assert_int_equal(r.eax, 0x40000010);
	cpuid_policy_apply(0x40000010, 0, &r, &g);
	assert_int_equal(r.eax, 2400000);
	assert_int_equal(r.ebx, 1000000);
}

/* The real-OS policy: units we do not virtualize are hidden or zeroed,
 * features tied to VMCS controls follow them, invariant TSC is announced. */
static void test_cpuid_os_policy(void **state)
{
	(void)state;
	struct cpuid_guest_view g = { .host_max_leaf = 0x1f, .tsc_hz = 200000000ULL };
	struct cpuid_regs r = { 0, ~0u, ~0u, ~0u };
	cpuid_policy_apply(7, 0, &r, &g);
	assert_int_equal(r.ebx & (BIT(2) | BIT(10) | BIT(14) | BIT(25)), 0); /* SGX, INVPCID, MPX, PT */
	assert_true(r.ebx & BIT(1));  /* TSC_ADJUST: emulated */
	assert_true(r.ebx & BIT(0));  /* FSGSBASE: native */
	assert_int_equal(r.ecx & BIT(5), 0);  /* WAITPKG */
	assert_int_equal(r.edx & (BIT(26) | BIT(29)), 0); /* IBRS/IBPB, ARCH_CAPABILITIES */
	g.invpcid = true;
	r = (struct cpuid_regs){ 0, ~0u, ~0u, ~0u };
	cpuid_policy_apply(7, 0, &r, &g);
	assert_true(r.ebx & BIT(10));
	r = (struct cpuid_regs){ 0, ~0u, ~0u, ~0u };
	cpuid_policy_apply(7, 1, &r, &g); /* other subleaves untouched */
	assert_int_equal(r.ebx, ~0u);

	r = (struct cpuid_regs){ ~0u, ~0u, ~0u, ~0u };
	cpuid_policy_apply(0xd, 1, &r, &g);
	assert_int_equal(r.eax, ~0u & ~BIT(3)); /* XSAVES hidden, XSAVEOPT/XSAVEC kept */
	r = (struct cpuid_regs){ ~0u, ~0u, ~0u, ~0u };
	cpuid_policy_apply(0xd, 0, &r, &g);
	assert_int_equal(r.eax, ~0u);

	static const uint32_t zeroed[] = { 6, 0xa, 0xf, 0x10, 0x12, 0x14 };
	for (unsigned i = 0; i < ARRAY_SIZE(zeroed); i++) {
		r = (struct cpuid_regs){ ~0u, ~0u, ~0u, ~0u };
		cpuid_policy_apply(zeroed[i], 0, &r, &g);
		assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	}

	/* Leaf 0DH sizes from the layout and the guest's XCR0, not the CPU's
	 * (Bochs's) answer: standard format EBX/ECX, compacted subleaf 1 EBX. */
	struct xsave_component lay[8] = { { 0 } };
	lay[2] = (struct xsave_component){ 576, 250, false }; /* odd size: alignment shows */
	lay[3] = (struct xsave_component){ 960, 64, false };
	lay[4] = (struct xsave_component){ 1024, 64, false };
	lay[5] = (struct xsave_component){ 1088, 64, true };
	lay[6] = (struct xsave_component){ 1152, 512, false };
	lay[7] = (struct xsave_component){ 1664, 1024, false };
	g.xsave = lay;
	g.xsave_count = 8;
	g.xcr0 = 0x7;
	r = (struct cpuid_regs){ 0xff, 1234, 1234, 0 };
	cpuid_policy_apply(0xd, 0, &r, &g);
	assert_int_equal(r.ebx, 576 + 250);
	assert_int_equal(r.ecx, 1664 + 1024);
	g.xcr0 = 0xe7;
	r = (struct cpuid_regs){ 0xf, 1234, 0, 0 };
	cpuid_policy_apply(0xd, 1, &r, &g);
	assert_int_equal(r.ebx, 832 + 64 + 512 + 1024); /* 826 rounded up to 832 for component 5 */
	assert_int_equal(r.eax, 0x7);
	g.xsave = NULL;

	r = (struct cpuid_regs){ 0, 0, 0, 0 };
	cpuid_policy_apply(0x80000007, 0, &r, &g);
	assert_int_equal(r.edx, BIT(8));
	r = (struct cpuid_regs){ 0, 0, ~0u, ~0u };
	cpuid_policy_apply(0x80000001, 0, &r, &g);
	assert_int_equal(r.edx & BIT(27), 0); /* RDTSCP without "enable RDTSCP" */
	g.rdtscp = true;
	r = (struct cpuid_regs){ 0, 0, ~0u, ~0u };
	cpuid_policy_apply(0x80000001, 0, &r, &g);
	assert_true(r.edx & BIT(27));

	r = (struct cpuid_regs){ 0, 0, ~0u, ~0u };
	cpuid_policy_apply(1, 0, &r, &g);
	assert_int_equal(r.ecx & (BIT(3) | BIT(5) | BIT(6) | BIT(7) | BIT(15)), 0);
	assert_int_equal(r.edx & (BIT(7) | BIT(14) | BIT(22)), 0);
	assert_true(r.edx & BIT(12)); /* MTRR: emulated */
}

static void test_cpuid_policy(void **state)
{
	(void)state;
	struct cpuid_guest_view g = { .apic_id = 5, .cr4_osxsave = false, .host_max_leaf = 0x16 };
	struct cpuid_regs r = { 0x906ea, 0xff100800,
				(uint32_t)(CPUID_1_ECX_VMX | CPUID_1_ECX_SMX | CPUID_1_ECX_XSAVE |
					   CPUID_1_ECX_OSXSAVE | BIT(0)),
				0x1234 };
	cpuid_policy_apply(1, 0, &r, &g);
	assert_int_equal(r.eax, 0x906ea);
	assert_int_equal(r.ebx, 0x05010800); /* APIC ID 5; one logical processor (vcpus 0 means 1) */
	assert_int_equal(r.ecx, (uint32_t)(CPUID_1_ECX_XSAVE | BIT(0) | CPUID_1_ECX_HYPERVISOR));
	assert_int_equal(r.edx, 0x1234);

	g.cr4_osxsave = true;
	r.ecx = (uint32_t)CPUID_1_ECX_XSAVE;
	cpuid_policy_apply(1, 0, &r, &g);
	assert_true(r.ecx & CPUID_1_ECX_OSXSAVE);
	r.ecx = 0; /* no XSAVE: no OSXSAVE, whatever CR4 says */
	cpuid_policy_apply(1, 0, &r, &g);
	assert_false(r.ecx & CPUID_1_ECX_OSXSAVE);

	r = (struct cpuid_regs){ 1, 2, 3, 4 };
	cpuid_policy_apply(HV_CPUID_BASE, 0, &r, &g);
	assert_int_equal(r.eax, HV_CPUID_MAX);
	assert_memory_equal(&r.ebx, "Text", 4);
	assert_memory_equal(&r.ecx, "book", 4);
	assert_memory_equal(&r.edx, "HV  ", 4);

	/* The rest of the hypervisor range is ours too, and empty. */
	static const uint32_t ours[] = { HV_CPUID_BASE + 1, HV_CPUID_BASE + 0x100, 0x4000ffff };
	for (size_t i = 0; i < ARRAY_SIZE(ours); i++) {
		r = (struct cpuid_regs){ 1, 2, 3, 4 };
		cpuid_policy_apply(ours[i], 0, &r, &g);
		assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	}
	/* Outside it, and ordinary leaves, pass through. */
	static const uint32_t theirs[] = { 2, 7, 0x3fffffff, 0x40010000, 0x80000001 };
	for (size_t i = 0; i < ARRAY_SIZE(theirs); i++) {
		r = (struct cpuid_regs){ 1, 2, 3, 4 };
		cpuid_policy_apply(theirs[i], 1, &r, &g);
		assert_int_equal(r.eax, 1);
		assert_int_equal(r.ebx, 2);
		assert_int_equal(r.ecx, 3);
		assert_int_equal(r.edx, 4);
	}
	/* No performance monitoring. */
	r = (struct cpuid_regs){ 0x07300805, 0, 0, 0x603 };
	cpuid_policy_apply(0xa, 0, &r, &g);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
}

/* --- Guest memory ---------------------------------------------------------------- */

static void test_guest_mem_bounds(void **state)
{
	(void)state;
	uint8_t *ram = malloc(0x10000);
	memset(ram, 0x11, 0x10000);
	struct guest_mem m = { ram, 0x10000 };
	assert_ptr_equal(gpa_to_hva(&m, 0, 0x10000), ram);
	assert_ptr_equal(gpa_to_hva(&m, 0xffff, 1), ram + 0xffff);
	assert_ptr_equal(gpa_to_hva(&m, 0x1234, 16), ram + 0x1234);
	assert_null(gpa_to_hva(&m, 0xffff, 2));
	assert_null(gpa_to_hva(&m, 0x10000, 1));
	assert_null(gpa_to_hva(&m, 0, 0x10001));
	/* Overflow in gpa + len must not wrap into RAM. */
	assert_null(gpa_to_hva(&m, 0x10, UINT64_MAX));
	assert_null(gpa_to_hva(&m, UINT64_MAX, 2));
	assert_null(gpa_to_hva(&m, UINT64_MAX - 0xf, 0x20));
	assert_true(gpa_is_ram(&m, 0));
	assert_true(gpa_is_ram(&m, 0xffff));
	assert_false(gpa_is_ram(&m, 0x10000));
	assert_false(gpa_is_ram(&m, UINT64_MAX));

	uint8_t buf[32];
	memset(buf, 0x22, sizeof(buf));
	assert_true(guest_write(&m, 0xffe0, buf, 32));
	assert_int_equal(ram[0xffff], 0x22);
	assert_int_equal(ram[0xffdf], 0x11);
	assert_false(guest_write(&m, 0xffe1, buf, 32));
	assert_int_equal(ram[0xffe0], 0x22); /* nothing of the refused write */
	memset(buf, 0x33, sizeof(buf));
	assert_false(guest_read(&m, 0xfff0, buf, 32));
	assert_int_equal(buf[0], 0x33); /* nothing read either */
	assert_true(guest_read(&m, 0xffe0, buf, 32));
	assert_int_equal(buf[31], 0x22);
	assert_true(guest_fill(&m, 0x100, 0x44, 0x10));
	assert_int_equal(ram[0x10f], 0x44);
	assert_int_equal(ram[0x110], 0x11);
	assert_false(guest_fill(&m, 0x100, 0x55, UINT64_MAX - 0x80));
	assert_int_equal(ram[0x100], 0x44);
	assert_false(guest_fill(&m, 0x10000, 0x55, 1));
	free(ram);
}

/* --- Boot information for guests ------------------------------------------------- */

/* A plain ELF32 kernel: one read/execute segment at 1 MiB, with .bss. */
static uint8_t *tiny_elf(size_t *size)
{
	*size = sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr) + 0x100;
	uint8_t *img = calloc(1, *size);
	Elf32_Ehdr h = { .e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
			 .e_entry = 0x100010, .e_phoff = sizeof(Elf32_Ehdr),
			 .e_ehsize = sizeof(Elf32_Ehdr), .e_phentsize = sizeof(Elf32_Phdr),
			 .e_phnum = 1 };
	memcpy(h.e_ident, ELFMAG, SELFMAG);
	h.e_ident[EI_CLASS] = ELFCLASS32;
	h.e_ident[EI_DATA] = ELFDATA2LSB;
	h.e_ident[EI_VERSION] = EV_CURRENT;
	Elf32_Phdr ph = { PT_LOAD, sizeof(h) + sizeof(ph), 0x100000, 0x100000, 0x100, 0x1800,
			  PF_R | PF_X, 0x1000 };
	memcpy(img, &h, sizeof(h));
	memcpy(img + sizeof(h), &ph, sizeof(ph));
	memset(img + sizeof(h) + sizeof(ph), 0x90, 0x100);
	return img;
}

/* A plain ELF guest gets a Multiboot2 information block that our own parser
 * accepts, listing its modules where they were copied. */
static void test_guest_boot_info_parses(void **state)
{
	(void)state;
	uint64_t size = MiB(32);
	uint8_t *ram = aligned_alloc(4096, size);
	memset(ram, 0xee, size);
	struct guest_mem m = { ram, size };
	size_t img_size;
	uint8_t *img = tiny_elf(&img_size);
	uint8_t mod0[5000], mod1[3] = { 1, 2, 3 };
	for (size_t i = 0; i < sizeof(mod0); i++)
		mod0[i] = (uint8_t)(i * 7);
	const struct guest_module mods[] = { { mod0, sizeof(mod0), "first module args" },
					     { mod1, sizeof(mod1), "" } };
	const struct guest_boot_params p = { img, img_size, mods, 2, "console=ttyS0 quiet",
					     "TextbookHV", NULL, 0, 0, NULL, 0 };
	struct guest_boot gb;
	const char *err = guest_boot_prepare(&m, &p, &gb);
	if (err)
		fail_msg("refused: %s", err);
	assert_int_equal(gb.kind, GUEST_KIND_ELF);
	assert_int_equal(gb.cpu.rax, MB2_BOOTLOADER_MAGIC);
	assert_int_equal(gb.cpu.rbx, GUEST_BOOT_INFO_GPA);
	assert_int_equal(gb.cpu.rip, 0x100010);
	assert_int_equal(gb.load_start, 0x100000);
	assert_int_equal(gb.load_end, 0x101800);
	assert_true(gb.info_size >= 16 && gb.info_size <= GUEST_BOOT_INFO_MAX);

	struct boot_info bi;
	err = mb2_parse(ram + GUEST_BOOT_INFO_GPA, GUEST_BOOT_INFO_GPA, &bi);
	if (err)
		fail_msg("the guest's boot information does not parse: %s", err);
	assert_int_equal(bi.info_size, gb.info_size);
	assert_string_equal(bi.cmdline, "console=ttyS0 quiet");
	assert_string_equal(bi.loader_name, "TextbookHV");
	assert_int_equal(bi.mem_lower_kib, 639);
	assert_int_equal(bi.mem_upper_kib, (size - MiB(1)) / 1024);
	/* RAM below 640 KiB and from 1 MiB; the reserved ranges between are
	 * checked entry by entry in test_guest_boot.c. */
	assert_int_equal(bi.mmap_count, 5);
	assert_int_equal(bi.mmap[0].base, 0);
	assert_int_equal(bi.mmap[0].length, GUEST_LOW_MEM_END);
	assert_int_equal(bi.mmap[0].type, MB2_MEMORY_AVAILABLE);
	assert_int_equal(bi.mmap[3].base, MiB(1));
	assert_int_equal(bi.mmap[3].base + bi.mmap[3].length, size);
	assert_int_equal(bi.mmap[3].type, MB2_MEMORY_AVAILABLE);

	/* Modules: page aligned, after the kernel, in order, copied. */
	assert_int_equal(bi.module_count, 2);
	assert_int_equal(bi.modules[0].start, 0x102000);
	assert_int_equal(bi.modules[0].end, 0x102000 + sizeof(mod0));
	assert_string_equal(bi.modules[0].string, "first module args");
	assert_int_equal(bi.modules[1].start, ALIGN_UP(0x102000 + sizeof(mod0), PAGE_SIZE));
	assert_int_equal(bi.modules[1].end, bi.modules[1].start + 3);
	assert_string_equal(bi.modules[1].string, "");
	assert_memory_equal(ram + bi.modules[0].start, mod0, sizeof(mod0));
	assert_memory_equal(ram + bi.modules[1].start, mod1, sizeof(mod1));
	assert_int_equal(gb.modules_end, bi.modules[1].end);

	/* Nothing written besides the block, the kernel and the modules. */
	for (uint64_t i = 0; i < size; i++) {
		bool used = (i >= GUEST_BOOT_INFO_GPA && i < GUEST_BOOT_INFO_GPA + gb.info_size) ||
			    (i >= gb.load_start && i < gb.load_end) ||
			    (i >= bi.modules[0].start && i < bi.modules[0].end) ||
			    (i >= bi.modules[1].start && i < bi.modules[1].end);
		if (!used && ram[i] != 0xee)
			fail_msg("byte 0x%llx written", (unsigned long long)i);
	}
	free(img);
	free(ram);
}

static void test_guest_boot_refusals(void **state)
{
	(void)state;
	uint64_t size = MiB(4);
	uint8_t *ram = aligned_alloc(4096, size);
	struct guest_mem m = { ram, size };
	size_t img_size;
	uint8_t *img = tiny_elf(&img_size);
	struct guest_boot gb;
	const char *err;

	/* Strings too large for the information area. */
	char *cmd = malloc(GUEST_BOOT_INFO_MAX + 1);
	memset(cmd, 'c', GUEST_BOOT_INFO_MAX);
	cmd[GUEST_BOOT_INFO_MAX] = '\0';
	struct guest_boot_params p = { img, img_size, NULL, 0, cmd, "TextbookHV", NULL, 0, 0, NULL, 0 };
	err = guest_boot_prepare(&m, &p, &gb);
	assert_non_null(err);
	assert_non_null(strstr(err, "too large"));

	/* A module larger than the RAM left. */
	uint8_t *big = calloc(1, MiB(4));
	const struct guest_module too_big = { big, MiB(4), "big" };
	p = (struct guest_boot_params){ img, img_size, &too_big, 1, "", "TextbookHV", NULL, 0, 0, NULL, 0 };
	err = guest_boot_prepare(&m, &p, &gb);
	assert_non_null(err);
	assert_non_null(strstr(err, "'big'"));
	assert_non_null(strstr(err, "does not fit"));

	/* More modules than a guest may have. */
	struct guest_module many[GUEST_MAX_MODULES + 1];
	for (unsigned i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct guest_module){ big, 16, "m" };
	p = (struct guest_boot_params){ img, img_size, many, GUEST_MAX_MODULES + 1, "", "x", NULL, 0, 0, NULL, 0 };
	assert_non_null(guest_boot_prepare(&m, &p, &gb));
	p.module_count = GUEST_MAX_MODULES;
	assert_null(guest_boot_prepare(&m, &p, &gb));

	/* An image the ELF loader refuses. */
	img[0] = 0;
	p = (struct guest_boot_params){ img, img_size, NULL, 0, "", "x", NULL, 0, 0, NULL, 0 };
	assert_non_null(guest_boot_prepare(&m, &p, &gb));

	/* No more than 1 MiB of RAM: nowhere to put a kernel. */
	struct guest_mem small = { ram, MiB(1) };
	assert_non_null(guest_boot_prepare(&small, &p, &gb));
	free(big);
	free(cmd);
	free(img);
	free(ram);
}

/* --- printf ------------------------------------------------------------------------ */

#define CHECK_FMT(expected, ...)                                                   \
	do {                                                                       \
		char b_[128];                                                      \
		int n_ = hv_snprintf(b_, sizeof(b_), __VA_ARGS__);                 \
		assert_string_equal(b_, expected);                                 \
		assert_int_equal(n_, (int)strlen(expected));                       \
	} while (0)

static void test_printf_integers(void **state)
{
	(void)state;
	CHECK_FMT("-42", "%d", -42);
	CHECK_FMT("0", "%d", 0);
	CHECK_FMT("-2147483648", "%d", INT_MIN);
	CHECK_FMT("2147483647", "%i", INT_MAX);
	CHECK_FMT("4294967295", "%u", UINT_MAX);
	CHECK_FMT("   42|", "%5d|", 42);
	CHECK_FMT("42   |", "%-5d|", 42);
	CHECK_FMT("-0042", "%05d", -42);
	CHECK_FMT("  -42", "%5d", -42);
	CHECK_FMT("12345", "%3d", 12345);
	CHECK_FMT("   7", "%*d", 4, 7);
	CHECK_FMT("deadbeef", "%x", 0xdeadbeefu);
	CHECK_FMT("DEADBEEF", "%X", 0xdeadbeefu);
	CHECK_FMT("123456789abcdef0", "%llx", 0x123456789abcdef0ULL);
	CHECK_FMT("0000000000001234", "%016llx", 0x1234ULL);
	CHECK_FMT("ffffffffffffffff", "%016llx", ~0ULL);
	CHECK_FMT("-9223372036854775808", "%lld", LLONG_MIN);
	CHECK_FMT("18446744073709551615", "%llu", ULLONG_MAX);
	CHECK_FMT("18446744073709551615", "%zu", SIZE_MAX);
	CHECK_FMT("4000000000", "%lu", 4000000000UL);
	CHECK_FMT("-1", "%ld", -1L);
	CHECK_FMT("ff", "%hhx", 0x1ff);
	CHECK_FMT("-1", "%hd", 0xffff);
	CHECK_FMT("-128", "%hhd", 0x80);
	CHECK_FMT("17", "%o", 15);
	CHECK_FMT("0x00ff", "0x%04x", 0xff);
}

static void test_printf_strings_and_more(void **state)
{
	(void)state;
	CHECK_FMT("ab      |", "%-8s|", "ab");
	CHECK_FMT("      ab|", "%8s|", "ab");
	CHECK_FMT("abcdefghij", "%-3s", "abcdefghij");
	CHECK_FMT("abc", "%.*s", 3, "abcdef");
	CHECK_FMT("abc", "%.*s", 10, "abc");
	CHECK_FMT("", "%.*s", 0, "abc");
	CHECK_FMT("abcdef", "%.*s", -1, "abcdef"); /* negative: as if none */
	CHECK_FMT("ab", "%.2s", "abcdef");
	CHECK_FMT("  ab", "%4.2s", "abcdef");
	const char *volatile null_string = NULL; /* hidden from GCC's format check */
	CHECK_FMT("(null)", "%s", null_string);
	CHECK_FMT("x", "%c", 'x');
	CHECK_FMT("  x|x  |", "%3c|%-3c|", 'x', 'x');
	CHECK_FMT("100%", "%d%%", 100);
	CHECK_FMT("0x0000000000000000", "%p", (void *)NULL);
	CHECK_FMT("0x00000000deadbeef", "%p", (void *)(uintptr_t)0xdeadbeef);
	CHECK_FMT("a 1 b 2 c", "a %d b %u c", 1, 2u);

	/* Precision bounds the read: a string without a terminator is fine. */
	char *raw = malloc(3);
	memcpy(raw, "xyz", 3);
	CHECK_FMT("xyz|", "%.3s|", raw);
	free(raw);

	/* Conversions it does not know are shown, not guessed; a lone '%' at
	 * the end stops cleanly. (Formats through a variable: GCC would
	 * rightly complain about these literals.) */
	const char *unknown = "%q|%d", *lone = "abc%";
	char b[32];
	int n = hv_snprintf(b, sizeof(b), unknown, 5);
	assert_string_equal(b, "%q|5");
	assert_int_equal(n, 4);
	n = hv_snprintf(b, sizeof(b), lone, 0);
	assert_string_equal(b, "abc");
	assert_int_equal(n, 3);

	/* Formats that end inside a conversion: nothing is read past the
	 * terminator (heap copies, so ASan would see it). */
	static const char *const cut[] = { "x%l", "x%ll", "x%h", "x%hh", "x%z", "x%.", "x%-",
					   "x%05", "x%.*", "x%-08.3" };
	for (size_t i = 0; i < ARRAY_SIZE(cut); i++) {
		size_t len = strlen(cut[i]) + 1;
		char *f = malloc(len);
		memcpy(f, cut[i], len);
		n = hv_snprintf(b, sizeof(b), f, 3, 4);
		assert_string_equal(b, "x");
		assert_int_equal(n, 1);
		free(f);
	}
}

static void test_printf_truncation(void **state)
{
	(void)state;
	char b[8];
	memset(b, 'z', sizeof(b));
	int n = hv_snprintf(b, 5, "hello %s", "world");
	assert_int_equal(n, 11); /* what it would have written */
	assert_string_equal(b, "hell");
	assert_int_equal(b[5], 'z'); /* nothing past size */

	memset(b, 'z', sizeof(b));
	n = hv_snprintf(b, 0, "hello");
	assert_int_equal(n, 5);
	assert_int_equal(b[0], 'z'); /* size 0: untouched */

	n = hv_snprintf(b, 1, "hello");
	assert_int_equal(n, 5);
	assert_string_equal(b, "");

	n = hv_snprintf(b, 6, "hello");
	assert_int_equal(n, 5);
	assert_string_equal(b, "hello");
	n = hv_snprintf(b, 5, "%016llx", 0x1ULL);
	assert_int_equal(n, 16);
	assert_string_equal(b, "0000");

	/* Into an exactly sized heap buffer: no write past it. */
	char *h = malloc(4);
	n = hv_snprintf(h, 4, "%d-%d-%d", 1, 22, 333);
	assert_int_equal(n, 8);
	assert_string_equal(h, "1-2");
	free(h);
}

/* --- parse_u64 ------------------------------------------------------------------------ */

static void check_parse(const char *s, bool suffix, bool ok, uint64_t want)
{
	uint64_t v = 0xabababab;
	bool got = parse_u64(s, strlen(s), &v, suffix);
	if (got != ok)
		fail_msg("parse_u64(\"%s\", suffix %d) %s", s, suffix, got ? "accepted" : "refused");
	if (ok && v != want)
		fail_msg("parse_u64(\"%s\") = %llu, expected %llu", s, (unsigned long long)v,
			 (unsigned long long)want);
	if (!ok)
		assert_int_equal(v, 0xabababab); /* untouched on failure */
}

static void test_parse_u64(void **state)
{
	(void)state;
	check_parse("0", false, true, 0);
	check_parse("123", false, true, 123);
	check_parse("007", false, true, 7);
	check_parse("0x1F", false, true, 31);
	check_parse("0XfF", false, true, 255);
	check_parse("18446744073709551615", false, true, UINT64_MAX);
	check_parse("18446744073709551616", false, false, 0);
	check_parse("99999999999999999999", false, false, 0);
	check_parse("0xffffffffffffffff", false, true, UINT64_MAX);
	check_parse("0x10000000000000000", false, false, 0);
	check_parse("", false, false, 0);
	check_parse("0x", false, false, 0);
	check_parse("12a", false, false, 0);
	check_parse("0x1g", false, false, 0);
	check_parse(" 1", false, false, 0);
	check_parse("1 ", false, false, 0);
	check_parse("-1", false, false, 0);
	check_parse("+1", false, false, 0);
	check_parse("1K", false, false, 0);
	check_parse("1K", true, true, 1024);
	check_parse("1k", true, true, 1024);
	check_parse("16M", true, true, MiB(16));
	check_parse("16m", true, true, MiB(16));
	check_parse("4G", true, true, GiB(4));
	check_parse("4g", true, true, GiB(4));
	check_parse("0x10M", true, true, MiB(16));
	check_parse("17179869183G", true, true, 17179869183ULL << 30);
	check_parse("17179869184G", true, false, 0); /* 2^64 */
	check_parse("18014398509481984K", true, false, 0);
	check_parse("1T", true, false, 0);
	check_parse("1KB", true, false, 0);
	check_parse("1MK", true, false, 0);
	/* A suffix needs a number in front of it. */
	check_parse("K", true, false, 0);
	check_parse("M", true, false, 0);
	check_parse("0xG", true, false, 0);

	/* Only len characters are looked at. */
	uint64_t v;
	assert_true(parse_u64("123abc", 3, &v, false));
	assert_int_equal(v, 123);
	assert_true(parse_u64("64Mxyz", 3, &v, true));
	assert_int_equal(v, MiB(64));
	assert_false(parse_u64("123", 0, &v, true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus_register),
		cmocka_unit_test(test_bus_full),
		cmocka_unit_test(test_bus_find),
		cmocka_unit_test(test_bus_read_write),
		cmocka_unit_test(test_bus_write_only_device),
		cmocka_unit_test(test_debug_exit),
		cmocka_unit_test(test_bus_first_unclaimed),
		cmocka_unit_test(test_size_mask),
		cmocka_unit_test(test_uart_transmit),
		cmocka_unit_test(test_uart_divisor_latch),
		cmocka_unit_test(test_uart_registers),
		cmocka_unit_test(test_uart_rx_fifo_and_interrupts),
		cmocka_unit_test(test_uart_thre_interrupt),
		cmocka_unit_test(test_uart_loopback),
		cmocka_unit_test(test_config_defaults_and_values),
		cmocka_unit_test(test_config_sizes),
		cmocka_unit_test(test_config_refusals),
		cmocka_unit_test(test_config_name_lengths),
		cmocka_unit_test(test_cpuid_policy),
		cmocka_unit_test(test_cpuid_os_policy),
		cmocka_unit_test(test_cpuid_time_leaves),
		cmocka_unit_test(test_guest_mem_bounds),
		cmocka_unit_test(test_guest_boot_info_parses),
		cmocka_unit_test(test_guest_boot_refusals),
		cmocka_unit_test(test_printf_integers),
		cmocka_unit_test(test_printf_strings_and_more),
		cmocka_unit_test(test_printf_truncation),
		cmocka_unit_test(test_parse_u64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
