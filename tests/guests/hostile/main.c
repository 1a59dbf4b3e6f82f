/* A guest that misbehaves on purpose, for the isolation test (issue #7:
 * one VM that triple-faults, runs wild or is killed leaves the others
 * running; tests/scenarios/22-bochs-hostile-neighbour.sh). It does, in
 * phases, each announced with a line "hostile: phase NAME ..." so a scenario
 * can follow it:
 *
 *   scan    reads and writes guest-physical space beyond its RAM, up to
 *           4 GiB, where a PC bus answers nothing (all-ones, writes dropped);
 *   virtio  drives its own virtio-blk disk (virtio-pci) with requests whose
 *           buffers lie outside its RAM (where another VM's memory might be
 *           if guest-physical addresses were taken as host ones), chains that
 *           loop, an avail index jumping ahead, rings outside RAM, MSI-X
 *           messages to addresses that are not the APIC's;
 *   ipi     floods its local APIC's ICR: fixed IPIs and NMIs to itself, IPIs
 *           to APIC IDs nobody has, broadcasts excluding itself, INIT and
 *           start-up IPIs to nobody;
 *   spin    spins with interrupts off for `spin=N` TSC ticks;
 *   end     triple-faults (an empty IDT, then a fault).
 *
 * The hypervisor resets a VM after a triple fault and stops it the third
 * time (vmx/handlers.c, handle_triple_fault), so the sequence runs three
 * times; a CMOS NVRAM byte, which survives a reset as on a PC, counts the
 * runs. The guest never trusts that a request completes: every wait is
 * bounded by the TSC.
 *
 * Command line (Multiboot2 tag 1): spin=N (TSC ticks with interrupts off,
 * default 2^30: about 5 s of guest time in Bochs, where the TSC counts about
 * one tick per instruction), ipis=N (IPIs of the flood, default 20000),
 * sweep=N (MiB of guest-physical space the virtio sweep covers, default 256:
 * the RAM Bochs gives the whole machine). Numbers are decimal or 0x-hex. */
#include "tests/guests/common/guest.h"

#define MiB (1024u * 1024u)

/* --- Small helpers (no libc here, and no memset the compiler could call) --- */

static void zero(volatile void *p, uint32_t n)
{
	volatile uint8_t *b = p;
	for (uint32_t i = 0; i < n; i++)
		b[i] = 0;
}

static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline void pause(void)
{
	__asm__ volatile("pause");
}

/* Bounded waits: TSC ticks. In Bochs the TSC advances about once per
 * instruction (200 MHz of guest time); on hardware this is a few ms. */
#define WAIT_TICKS (1u << 22)

/* --- The boot information: command line and memory map (Multiboot2 3.6) --- */

#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_MMAP 6
#define MB2_MEMORY_AVAILABLE 1

static uint64_t opt_spin = 1ull << 30;
static uint32_t opt_ipis = 20000;
static uint32_t opt_sweep_mib = 256;

/* "NAME=" followed by a decimal or 0x-hex number at c: parse it into *out. */
static bool parse_opt(const char *c, const char *name, uint64_t *out)
{
	while (*name)
		if (*c++ != *name++)
			return false;
	if (*c++ != '=')
		return false;
	uint64_t v = 0;
	unsigned base = 10;
	if (c[0] == '0' && (c[1] == 'x' || c[1] == 'X')) {
		base = 16;
		c += 2;
	}
	bool any = false;
	for (;; c++) {
		unsigned d;
		if (*c >= '0' && *c <= '9')
			d = (unsigned)(*c - '0');
		else if (base == 16 && *c >= 'a' && *c <= 'f')
			d = (unsigned)(*c - 'a' + 10);
		else if (base == 16 && *c >= 'A' && *c <= 'F')
			d = (unsigned)(*c - 'A' + 10);
		else
			break;
		v = v * base + d;
		any = true;
	}
	if (any)
		*out = v;
	return any;
}

/* Options are words of the command line: "spin=N ipis=N sweep=N". */
static void parse_cmdline(const char *s)
{
	for (unsigned i = 0; s[i]; i++) {
		if (i > 0 && s[i - 1] != ' ')
			continue;
		uint64_t v;
		if (parse_opt(s + i, "spin", &v))
			opt_spin = v;
		else if (parse_opt(s + i, "ipis", &v))
			opt_ipis = (uint32_t)v;
		else if (parse_opt(s + i, "sweep", &v))
			opt_sweep_mib = (uint32_t)v;
	}
}

/* The end of RAM: the highest end of an "available" range of the memory
 * map. Reserved ranges (the ECAM the map also lists) are not RAM. */
static uint64_t read_boot_info(uint32_t mb_info)
{
	uint64_t ram_end = 0;
	for (uint32_t p = mb_info + 8; p < mb_info + *(uint32_t *)mb_info;) {
		uint32_t type = *(uint32_t *)p, size = *(uint32_t *)(p + 4);
		if (type == MB2_TAG_END)
			break;
		if (type == MB2_TAG_CMDLINE)
			parse_cmdline((const char *)(p + 8));
		if (type == MB2_TAG_MMAP) {
			uint32_t esize = *(uint32_t *)(p + 8);
			for (uint32_t e = p + 16; esize && e + esize <= p + size; e += esize) {
				uint64_t addr = *(uint64_t *)e, len = *(uint64_t *)(e + 8);
				if (*(uint32_t *)(e + 16) == MB2_MEMORY_AVAILABLE && addr + len > ram_end)
					ram_end = addr + len;
			}
		}
		p += (size + 7) & ~7u;
	}
	return ram_end;
}

/* --- The run counter: a CMOS NVRAM byte, kept across a VM reset --- */

#define CMOS_RUNS 0x41 /* an NVRAM byte no BIOS field uses (the reset guest has 0x40) */
#define RUNS_MARK 0x60 /* high bits: the byte is ours, not power-on garbage */

static unsigned next_run(void)
{
	outb(0x70, CMOS_RUNS);
	uint8_t v = inb(0x71);
	unsigned run = (v & 0xf0) == RUNS_MARK ? (v & 0x0f) + 1u : 1u;
	outb(0x70, CMOS_RUNS);
	outb(0x71, (uint8_t)(RUNS_MARK | (run & 0x0f)));
	return run;
}

/* ======================================================================
 * Phase 1: scan guest-physical space beyond RAM.
 * ====================================================================== */

/* Windows the board has devices in (vm/platform.h): skipped, since reading
 * or writing a device register is not "nothing there". An OS learns them
 * from the memory map (the ECAM is a reserved range) and ACPI. */
static bool device_window(uint32_t a)
{
	return (a >= 0xb0000000u && a < 0xb0100000u) || /* PCI ECAM, bus 0 */
	       (a >= 0xc0000000u && a < 0xe0000000u) || /* PCI memory window (BARs) */
	       (a >= 0xfeb00000u && a < 0xfeb01000u) || /* virtio-mmio, when configured */
	       (a >= 0xfec00000u && a < 0xfec01000u) || /* IOAPIC */
	       (a >= 0xfee00000u && a < 0xfee01000u);   /* local APIC */
}

/* Each access is one instruction of known length (2 bytes), so that if the
 * hypervisor chose to inject a fault instead, guest_try skips it. */
static volatile uint32_t scan_value;
static void scan_read(void *arg)
{
	uint32_t v;
	__asm__ volatile(".byte 0x8b, 0x10" /* movl (%eax), %edx */
			 : "=d"(v) : "a"(arg) : "memory");
	scan_value = v;
}
static void scan_write(void *arg)
{
	__asm__ volatile(".byte 0x89, 0x10" /* movl %edx, (%eax) */
			 : : "a"(arg), "d"(0x5a5aa5a5u) : "memory");
}

static void phase_scan(unsigned run, uint64_t ram_end)
{
	uint64_t first = (ram_end + 2 * MiB - 1) & ~(uint64_t)(2 * MiB - 1);
	uint32_t probed = 0, skipped = 0, not_ones = 0, stuck = 0, faults = 0, first_odd = 0;
	uint64_t t0 = rdtsc();
	for (uint64_t a = first; a < 0x100000000ull; a += 2 * MiB) {
		void *p = (void *)(uint32_t)a;
		if (device_window((uint32_t)a)) {
			skipped++;
			continue;
		}
		probed++;
		scan_value = 0xffffffffu;
		if (guest_try(scan_read, p, 2) >= 0)
			faults++;
		else if (scan_value != 0xffffffffu && !not_ones++)
			first_odd = (uint32_t)a;
		if (guest_try(scan_write, p, 2) >= 0)
			faults++;
		/* Read back: a write that stuck would mean RAM (someone's) there. */
		scan_value = 0xffffffffu;
		if (guest_try(scan_read, p, 2) >= 0)
			faults++;
		else if (scan_value == 0x5a5aa5a5u)
			stuck++;
	}
	uint64_t t = rdtsc() - t0;
	/* Lines stay under the hypervisor's console line (VM_CONSOLE_LINE). */
	gprintf("hostile: phase scan (run %u): %u addresses probed from 0x%x%08x to 4 GiB, %u skipped, "
		"in %u Mticks\n", run, probed, (uint32_t)(first >> 32), (uint32_t)first, skipped,
		(uint32_t)(t >> 20));
	gprintf("hostile: scan (run %u): %u reads not all-ones (first at 0x%x), %u writes read back, "
		"%u faults\n", run, not_ones, first_odd, stuck, faults);
}

/* ======================================================================
 * Phase 2: a hostile virtio-blk driver (VIRTIO 1.2: 3.1 initialization,
 * 4.1 PCI transport, 2.7 split virtqueues, 5.2 block device).
 * ====================================================================== */

#define BAR_BASE 0xc0000000u /* in the PCI memory window (vm/platform.h) */
#define Q 16                 /* our queue size */

struct virtq_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct virtq_avail { uint16_t flags, idx, ring[Q], used_event; };
struct virtq_used_elem { uint32_t id, len; };
struct virtq_used { uint16_t flags, idx; struct virtq_used_elem ring[Q]; uint16_t avail_event; };
#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

static volatile struct virtq_desc desc[Q] __attribute__((aligned(16)));
static volatile struct virtq_avail avail __attribute__((aligned(2)));
static volatile struct virtq_used used __attribute__((aligned(4)));
static volatile struct virtq_desc ind[4] __attribute__((aligned(16)));

struct blk_req { uint32_t type, reserved; uint64_t sector; };
#define T_IN 0
#define T_OUT 1
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define STATUS_POISON 0xee /* what the status byte holds until the device writes it */

static volatile struct blk_req hdr;
static volatile uint8_t status;
static volatile uint8_t buf[512] __attribute__((aligned(512)));

/* Device status bits (2.1). */
#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 0x40

static volatile uint8_t *common, *notify_addr;
static unsigned vslot, msix_cap;
static uint32_t msix_table_off;
static uint16_t last_used;
static uint64_t ram_top; /* the end of our RAM, for requests straddling it */

/* The common configuration structure (4.1.4.3), by offset. */
#define C8(o) (*(volatile uint8_t *)(common + (o)))
#define C16(o) (*(volatile uint16_t *)(common + (o)))
#define C32(o) (*(volatile uint32_t *)(common + (o)))
#define COMMON_DFSELECT 0x00
#define COMMON_DF 0x04
#define COMMON_GFSELECT 0x08
#define COMMON_GF 0x0c
#define COMMON_MSIX 0x10
#define COMMON_STATUS 0x14
#define COMMON_Q_SELECT 0x16
#define COMMON_Q_SIZE 0x18
#define COMMON_Q_MSIX 0x1a
#define COMMON_Q_ENABLE 0x1c
#define COMMON_Q_NOFF 0x1e
#define COMMON_Q_DESC 0x20
#define COMMON_Q_DRIVER 0x28
#define COMMON_Q_DEVICE 0x30
#define NO_VECTOR 0xffff

/* Find 1af4:1042 (virtio-blk, modern) on bus 0, place its BAR, map the
 * common and notify structures from its vendor capabilities (4.1.4). */
static bool pci_setup(void)
{
	bool found = false;
	for (unsigned d = 0; d < 32 && !found; d++)
		if (pci_cfg(d, 0) == 0x10421af4u) {
			vslot = d;
			found = true;
		}
	if (!found)
		return false;
	uint32_t off_common = 0, off_notify = 0, mult = 0;
	int bar = -1;
	for (unsigned cap = pci_cfg(vslot, 0x34) & 0xfc; cap; cap = (pci_cfg(vslot, cap) >> 8) & 0xfc) {
		uint32_t w0 = pci_cfg(vslot, cap);
		if ((w0 & 0xff) == 0x11) { /* MSI-X (PCI 3.0 6.8.2) */
			msix_cap = cap;
			msix_table_off = pci_cfg(vslot, cap + 4); /* BIR in bits 2:0 */
			continue;
		}
		if ((w0 & 0xff) != 0x09)
			continue;
		unsigned type = (w0 >> 24) & 0xff;
		if (type == 1) {
			off_common = pci_cfg(vslot, cap + 8);
			bar = (int)(pci_cfg(vslot, cap + 4) & 0xff);
		} else if (type == 2) {
			off_notify = pci_cfg(vslot, cap + 8);
			mult = pci_cfg(vslot, cap + 16);
		}
	}
	if (bar < 0)
		return false;
	uint32_t breg = 0x10 + (unsigned)bar * 4;
	pci_cfg_w(vslot, breg, BAR_BASE);
	if ((pci_cfg(vslot, breg) & 0x6) == 0x4)
		pci_cfg_w(vslot, breg + 4, 0); /* a 64-bit BAR: its high half */
	pci_cfg_w(vslot, 0x04, 0x6);       /* memory space, bus master */
	common = (volatile uint8_t *)(BAR_BASE + off_common);
	C16(COMMON_Q_SELECT) = 0;
	notify_addr = (volatile uint8_t *)(BAR_BASE + off_notify + C16(COMMON_Q_NOFF) * mult);
	return true;
}

static void set_q_addr(unsigned field, uint64_t a)
{
	C32(field) = (uint32_t)a;
	C32(field + 4) = (uint32_t)(a >> 32);
}

/* Reset the device and bring it up again (3.1.1) with queue 0 at the given
 * addresses; the driver's rings are zeroed first, as after any reset.
 * Returns the device status after DRIVER_OK. */
static uint8_t vinit(uint64_t d, uint64_t a, uint64_t u)
{
	C8(COMMON_STATUS) = 0; /* reset (4.1.4.3.2): also clears NEEDS_RESET */
	zero(&avail, sizeof(avail));
	zero(&used, sizeof(used));
	last_used = 0;
	C8(COMMON_STATUS) = ST_ACK;
	C8(COMMON_STATUS) = ST_ACK | ST_DRIVER;
	C32(COMMON_DFSELECT) = 0;
	uint32_t f_lo = C32(COMMON_DF);
	C32(COMMON_GFSELECT) = 1;
	C32(COMMON_GF) = 1; /* VIRTIO_F_VERSION_1 (bit 32) */
	C32(COMMON_GFSELECT) = 0;
	C32(COMMON_GF) = f_lo & (1u << 28); /* VIRTIO_F_INDIRECT_DESC, nothing else */
	C8(COMMON_STATUS) = ST_ACK | ST_DRIVER | ST_FEATURES_OK;
	C16(COMMON_Q_SELECT) = 0;
	C16(COMMON_Q_SIZE) = Q;
	C16(COMMON_Q_MSIX) = NO_VECTOR;
	set_q_addr(COMMON_Q_DESC, d);
	set_q_addr(COMMON_Q_DRIVER, a);
	set_q_addr(COMMON_Q_DEVICE, u);
	C16(COMMON_Q_ENABLE) = 1;
	C8(COMMON_STATUS) = ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK;
	return C8(COMMON_STATUS);
}

static uint8_t vinit_normal(void)
{
	return vinit((uint32_t)desc, (uint32_t)&avail, (uint32_t)&used);
}

/* What became of one request. */
enum outcome {
	O_OK,          /* completed, status OK */
	O_IOERR,       /* completed, status IOERR */
	O_UNSUPP,      /* completed, status UNSUPP */
	O_REFUSED,     /* completed with used length 0, status byte untouched: a malformed chain */
	O_NEEDS_RESET, /* no completion; the device set DEVICE_NEEDS_RESET */
	O_TIMEOUT,     /* no completion, no NEEDS_RESET: a driver waiting for it would hang */
	O_OTHER,
};
static const char *const outcome_name[] = {
	[O_OK] = "completed OK",
	[O_IOERR] = "completed with IOERR",
	[O_UNSUPP] = "completed with UNSUPP",
	[O_REFUSED] = "refused (used length 0, status untouched)",
	[O_NEEDS_RESET] = "no completion, device needs reset",
	[O_TIMEOUT] = "no completion within the timeout",
	[O_OTHER] = "completed with an unknown status",
};

/* Make head available (advancing avail.idx by `advance`, 1 unless hostile),
 * notify, and wait a bounded time for a used element. */
static enum outcome submit(uint16_t head, uint16_t advance)
{
	status = STATUS_POISON;
	avail.ring[avail.idx % Q] = head;
	barrier();
	avail.idx = (uint16_t)(avail.idx + advance);
	barrier();
	*(volatile uint16_t *)notify_addr = 0;
	uint64_t t0 = rdtsc();
	while (used.idx == last_used && rdtsc() - t0 < WAIT_TICKS)
		pause();
	barrier();
	if (used.idx == last_used)
		return (C8(COMMON_STATUS) & ST_NEEDS_RESET) ? O_NEEDS_RESET : O_TIMEOUT;
	uint32_t len = used.ring[last_used % Q].len;
	last_used++;
	if (len == 0 && status == STATUS_POISON)
		return O_REFUSED;
	switch (status) {
	case S_OK: return O_OK;
	case S_IOERR: return O_IOERR;
	case S_UNSUPP: return O_UNSUPP;
	default: return O_OTHER;
	}
}

/* A header, data, status chain at descriptors 0, 1, 2. */
static void chain3(uint32_t type, uint64_t sector, uint64_t data, uint32_t len, bool dev_writes)
{
	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	desc[0].addr = (uint32_t)&hdr;
	desc[0].len = sizeof(hdr);
	desc[0].flags = F_NEXT;
	desc[0].next = 1;
	desc[1].addr = data;
	desc[1].len = len;
	desc[1].flags = (uint16_t)(F_NEXT | (dev_writes ? F_WRITE : 0));
	desc[1].next = 2;
	desc[2].addr = (uint32_t)&status;
	desc[2].len = 1;
	desc[2].flags = F_WRITE;
	desc[2].next = 0;
}

static uint32_t n_cases, n_harmful, n_resets, n_timeouts;

/* One hostile case: print what happened. `harmful` outcomes are those that
 * would mean the hypervisor did what it must not (moved data to or from
 * memory that is not ours). A device that needs a reset is reset. */
static void report(const char *name, enum outcome o, bool harmful)
{
	n_cases++;
	if (harmful)
		n_harmful++;
	if (o == O_TIMEOUT)
		n_timeouts++;
	gprintf("hostile: virtio %s: %s%s\n", name, outcome_name[o], harmful ? " - HARMFUL" : "");
	if (o == O_NEEDS_RESET || o == O_TIMEOUT || (C8(COMMON_STATUS) & ST_NEEDS_RESET)) {
		uint8_t s = vinit_normal();
		n_resets++;
		if (s & ST_NEEDS_RESET)
			gprintf("hostile: virtio: still NEEDS_RESET after a reset (status 0x%x)\n", s);
	}
}

/* A request whose data buffer is at `addr` (len bytes): IN (the device would
 * write there) or OUT (the device would read from there). */
static enum outcome data_at(uint32_t type, uint64_t addr, uint32_t len)
{
	chain3(type, 8, addr, len, type == T_IN);
	return submit(0, 1);
}

static bool fill_check(bool write, uint8_t seed)
{
	for (unsigned i = 0; i < sizeof(buf); i++) {
		uint8_t want = (uint8_t)(seed + i * 13);
		if (write)
			buf[i] = want;
		else if (buf[i] != want)
			return false;
	}
	return true;
}

/* MSI-X table entry 0 (PCI 3.0 6.8.2.6): where the queue's interrupt goes. */
static void msix_entry0(uint32_t addr, uint32_t data)
{
	volatile uint32_t *e = (volatile uint32_t *)(BAR_BASE + (msix_table_off & ~7u));
	e[0] = addr;
	e[1] = 0;
	e[2] = data;
	e[3] = 0; /* unmasked */
}
static void msix_enable(bool on)
{
	uint32_t w = pci_cfg(vslot, msix_cap);
	pci_cfg_w(vslot, msix_cap, on ? w | (1u << 31) : w & ~(1u << 31)); /* Message Control bit 15 */
}

static void phase_virtio(unsigned run)
{
	n_cases = n_harmful = n_resets = n_timeouts = 0;
	if (!common && !pci_setup()) {
		gprintf("hostile: phase virtio (run %u): no virtio-blk PCI function, skipped\n", run);
		return;
	}
	/* What the previous run left: after a reset (run 2 and 3 follow a
	 * triple fault) a PC's devices are reset too and the status reads 0. */
	uint8_t s0 = C8(COMMON_STATUS);
	uint8_t s = vinit_normal();
	gprintf("hostile: phase virtio (run %u): device status 0x%x at start, 0x%x after initialization\n",
		run, s0, s);

	/* A sane request first: the driver works, so what follows is the
	 * hostility, not a broken driver. Sector 8 holds a pattern. */
	fill_check(true, (uint8_t)run);
	enum outcome ow = data_at(T_OUT, (uint32_t)buf, 512);
	zero(buf, sizeof(buf));
	enum outcome orr = data_at(T_IN, (uint32_t)buf, 512);
	bool same = fill_check(false, (uint8_t)run);
	gprintf("hostile: virtio sane write and read back: %s, %s, data %s\n", outcome_name[ow],
		outcome_name[orr], same ? "intact" : "DIFFERENT");

	/* Buffers outside RAM: beyond it, at the top of 4 GiB, above 4 GiB,
	 * and one so high that address + length wraps around 2^64. */
	static const struct { const char *name; uint64_t addr; } far[] = {
		{ "IN buffer at 0x40000000 (1 GiB, no RAM)", 0x40000000ull },
		{ "IN buffer at 0xfffff000 (top of 4 GiB)", 0xfffff000ull },
		{ "IN buffer at 0x100000000 (above 4 GiB)", 0x100000000ull },
		{ "IN buffer at 0xfffffffffffffe00 (wraps 2^64)", 0xfffffffffffffe00ull },
	};
	for (unsigned i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
		enum outcome o = data_at(T_IN, far[i].addr, 512);
		report(far[i].name, o, o == O_OK);
	}
	/* Lengths that run past the end of RAM. */
	enum outcome o = data_at(T_IN, ram_top - 512, 4096);
	report("IN buffer straddling the end of RAM", o, o == O_OK);
	o = data_at(T_IN, (uint32_t)buf, 0xfffffe00u);
	report("IN buffer of 4 GiB - 512 bytes", o, o == O_OK);
	/* A write to the disk from memory that is not ours: the sector must keep
	 * what the sane write put there. */
	o = data_at(T_OUT, 0x40000000ull, 512);
	zero(buf, sizeof(buf));
	enum outcome back = data_at(T_IN, (uint32_t)buf, 512);
	bool kept = back == O_OK && fill_check(false, (uint8_t)run);
	report(kept ? "OUT from 0x40000000 (the sector kept its data)"
		    : "OUT from 0x40000000 (the sector CHANGED or is unreadable)", o, o == O_OK || !kept);
	/* The header and the status byte outside RAM. */
	chain3(T_IN, 8, (uint32_t)buf, 512, true);
	desc[0].addr = 0xfffff000ull;
	o = submit(0, 1);
	report("request header at 0xfffff000", o, o == O_OK);
	chain3(T_IN, 8, (uint32_t)buf, 512, true);
	desc[2].addr = 0x40000000ull;
	o = submit(0, 1);
	report("status byte at 0x40000000", o, false);
	/* Chains that loop: 0 -> 1 -> 2 -> 1 (both device-writable, so that
	 * the loop, not the order rule of 2.7.4.2, is what the device finds),
	 * and 0 -> 0. */
	chain3(T_IN, 8, (uint32_t)buf, 512, true);
	desc[2].flags = F_NEXT | F_WRITE;
	desc[2].next = 1;
	o = submit(0, 1);
	report("descriptor chain looping 0 -> 1 -> 2 -> 1", o, false);
	chain3(T_IN, 8, (uint32_t)buf, 512, true);
	desc[0].next = 0;
	o = submit(0, 1);
	report("descriptor pointing to itself", o, false);
	chain3(T_IN, 8, (uint32_t)buf, 512, true);
	desc[1].next = 1000;
	o = submit(0, 1);
	report("next index 1000, past the table", o, false);
	/* Indirect tables (2.7.5.3) outside RAM and pointing outside RAM. */
	desc[3].addr = 0x40000000ull;
	desc[3].len = 3 * 16;
	desc[3].flags = F_INDIRECT;
	desc[3].next = 0;
	o = submit(3, 1);
	report("indirect table at 0x40000000", o, false);
	ind[0] = (struct virtq_desc){ (uint32_t)&hdr, sizeof(hdr), F_NEXT, 1 };
	ind[1] = (struct virtq_desc){ 0xfffff000ull, 512, F_NEXT | F_WRITE, 2 };
	ind[2] = (struct virtq_desc){ (uint32_t)&status, 1, F_WRITE, 0 };
	desc[3].addr = (uint32_t)ind;
	o = submit(3, 1);
	report("indirect table with a buffer at 0xfffff000", o, o == O_OK);

	/* "Other VMs' addresses": a guest cannot name another VM's memory, but
	 * if the hypervisor ever took a guest-physical address for a host one,
	 * every MiB from our RAM's end to the host's (Bochs: 256 MiB) would be
	 * someone's. Read the disk into each (the device would write there)
	 * and write the disk from each (it would read there). */
	uint32_t swept = 0, sweep_ok = 0, sweep_refused = 0, sweep_other = 0;
	uint64_t sweep_end = (uint64_t)opt_sweep_mib * MiB;
	for (uint64_t a = (ram_top + MiB - 1) & ~(uint64_t)(MiB - 1); a < sweep_end; a += MiB)
		for (uint32_t type = T_IN; type <= T_OUT; type++) {
			o = data_at(type, a, 512);
			swept++;
			if (o == O_OK)
				sweep_ok++;
			else if (o == O_REFUSED)
				sweep_refused++;
			else
				sweep_other++;
			if (o == O_NEEDS_RESET || o == O_TIMEOUT)
				report("sweep request", o, false);
		}
	n_cases += swept;
	n_harmful += sweep_ok;
	gprintf("hostile: virtio sweep of %u requests (IN and OUT, one per MiB up to %u MiB): "
		"%u refused, %u completed OK%s, %u other\n",
		swept, opt_sweep_mib, sweep_refused, sweep_ok, sweep_ok ? " - HARMFUL" : "", sweep_other);

	/* MSI-X messages to addresses that are not the APIC's (PCI 3.0 6.8.2.6;
	 * SDM Vol. 3A 11.11.1: an MSI address has 0xFEE in bits 31:20) and to
	 * an APIC ID nobody has. The requests themselves are fine. */
	if (msix_cap) {
		msix_enable(true);
		C16(COMMON_Q_SELECT) = 0;
		C16(COMMON_Q_MSIX) = 0;
		msix_entry0(0x40000000u, 0x30);
		for (unsigned i = 0; i < 4; i++) {
			o = data_at(T_IN, (uint32_t)buf, 512);
			report("completion MSI-X to address 0x40000000", o, false);
		}
		msix_entry0(0xfee05000u, 0x30); /* APIC ID 5: nobody */
		o = data_at(T_IN, (uint32_t)buf, 512);
		report("completion MSI-X to APIC ID 5", o, false);
		C16(COMMON_Q_MSIX) = NO_VECTOR;
		msix_enable(false);
	}

	/* Breaking the ring itself (2.7.6): the avail index jumps 200 ahead
	 * (more than the queue size), then a head index past the table. */
	chain3(T_IN, 8, (uint32_t)buf, 512, true);
	o = submit(0, 200);
	report("avail index jumping 200 ahead", o, false);
	chain3(T_IN, 8, (uint32_t)buf, 512, true);
	o = submit(0xfff0, 1);
	report("avail ring entry 0xfff0, past the table", o, false);

	/* Rings placed outside RAM or across its end when the queue is enabled
	 * (4.1.4.3.2 queue_enable). */
	s = vinit(0x40000000ull, (uint32_t)&avail, (uint32_t)&used);
	gprintf("hostile: virtio descriptor table at 0x40000000: device status 0x%x%s\n", s,
		s & ST_NEEDS_RESET ? " (NEEDS_RESET)" : "");
	s = vinit((uint32_t)desc, 0xfffff000ull, (uint32_t)&used);
	gprintf("hostile: virtio avail ring at 0xfffff000: device status 0x%x%s\n", s,
		s & ST_NEEDS_RESET ? " (NEEDS_RESET)" : "");
	s = vinit((uint32_t)desc, (uint32_t)&avail, ram_top - 64);
	gprintf("hostile: virtio used ring across the end of RAM: device status 0x%x%s\n", s,
		s & ST_NEEDS_RESET ? " (NEEDS_RESET)" : "");
	s = vinit((uint32_t)desc, (uint32_t)&avail, 0x100000000ull + (uint32_t)&used);
	gprintf("hostile: virtio used ring 4 GiB above ours: device status 0x%x%s\n", s,
		s & ST_NEEDS_RESET ? " (NEEDS_RESET)" : "");

	/* And after all that, the device still serves a sane request. */
	s = vinit_normal();
	zero(buf, sizeof(buf));
	o = data_at(T_IN, (uint32_t)buf, 512);
	same = fill_check(false, (uint8_t)run);
	gprintf("hostile: phase virtio (run %u) done: %u hostile requests, %u harmful, %u resets, "
		"%u timeouts\n", run, n_cases, n_harmful, n_resets, n_timeouts);
	gprintf("hostile: virtio (run %u): a sane request afterwards: %s, data %s\n", run, outcome_name[o],
		same ? "intact" : "DIFFERENT");
}

/* ======================================================================
 * Phase 3: an IPI flood through the xAPIC (SDM Vol. 3A 11.6.1: the ICR;
 * 11.4.1: the APIC at 0xFEE00000).
 * ====================================================================== */

#define APIC_BASE 0xfee00000u
#define APIC_ID 0x020
#define APIC_EOI 0x0b0
#define APIC_SVR 0x0f0
#define APIC_ICR_LOW 0x300
#define APIC_ICR_HIGH 0x310
#define APIC_LVT_LINT0 0x350
#define APIC(r) (*(volatile uint32_t *)(APIC_BASE + (r)))

#define ICR_FIXED (0u << 8)
#define ICR_NMI (4u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_ASSERT (1u << 14)
#define ICR_ALL_BUT_SELF (3u << 18)

#define VEC_SELF 0x30   /* fixed IPIs to ourselves */
#define VEC_OTHER 0x31  /* fixed IPIs to nobody: must never arrive */
#define VEC_SPURIOUS 0x3f

static volatile uint32_t got_self, got_other, got_nmi, got_unexpected;

static void irq_hook(struct exc_frame *f)
{
	if (f->vector == 2) {
		got_nmi++;
		return;
	}
	if (f->vector == VEC_SELF)
		got_self++;
	else if (f->vector == VEC_OTHER)
		got_other++;
	else if (f->vector != 1)
		got_unexpected++;
	if (f->vector >= 32 && f->vector != VEC_SPURIOUS)
		APIC(APIC_EOI) = 0; /* no EOI for a spurious vector (SDM 11.9) */
}

static void send_ipi(uint32_t dest, uint32_t low)
{
	APIC(APIC_ICR_HIGH) = dest << 24;
	APIC(APIC_ICR_LOW) = low; /* writing the low half sends */
}

static void phase_ipi(unsigned run)
{
	/* Software-enable the APIC (SVR bit 8) with a spurious vector our IDT
	 * has; mask LINT0 and the 8259s so only IPIs arrive. */
	APIC(APIC_SVR) = 0x100 | VEC_SPURIOUS;
	APIC(APIC_LVT_LINT0) = 1u << 16;
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	uint32_t me = APIC(APIC_ID) >> 24;
	got_self = got_other = got_nmi = got_unexpected = 0;
	guest_irq_hook = irq_hook;
	uint32_t sent_self = 0, sent_nmi = 0, sent_nobody = 0;
	uint64_t t0 = rdtsc();
	__asm__ volatile("sti");
	for (uint32_t i = 0; i < opt_ipis; i++) {
		switch (i % 8) {
		case 0:
		case 1:
			send_ipi(me, ICR_FIXED | ICR_ASSERT | VEC_SELF);
			sent_self++;
			break;
		case 2:
			send_ipi(5, ICR_FIXED | ICR_ASSERT | VEC_OTHER); /* no such APIC ID */
			sent_nobody++;
			break;
		case 3:
			send_ipi(0x7f, ICR_FIXED | ICR_ASSERT | VEC_OTHER);
			sent_nobody++;
			break;
		case 4:
			send_ipi(0, ICR_ALL_BUT_SELF | ICR_FIXED | ICR_ASSERT | VEC_OTHER); /* we are alone */
			sent_nobody++;
			break;
		case 5:
			send_ipi(me, ICR_NMI | ICR_ASSERT);
			sent_nmi++;
			break;
		case 6:
			send_ipi((i & 8) ? 5 : 0x7f, ICR_INIT | ICR_ASSERT);
			sent_nobody++;
			break;
		case 7:
			send_ipi((i & 8) ? 5 : 0x7f, ICR_STARTUP | ICR_ASSERT | 0x10);
			sent_nobody++;
			break;
		}
	}
	/* Let anything still pending arrive. */
	for (uint64_t t1 = rdtsc(); rdtsc() - t1 < WAIT_TICKS;)
		pause();
	__asm__ volatile("cli");
	uint64_t t = rdtsc() - t0;
	gprintf("hostile: phase ipi (run %u): %u IPIs sent from APIC ID %u in %u Mticks\n", run, opt_ipis, me,
		(uint32_t)(t >> 20));
	gprintf("hostile: ipi (run %u) arrived: fixed to self %u of %u, NMI to self %u of %u, "
		"to nobody %u of %u, unexpected %u\n", run, got_self, sent_self, got_nmi, sent_nmi, got_other,
		sent_nobody, got_unexpected);
	guest_irq_hook = 0;
}

/* ======================================================================
 * Phase 4: spin with interrupts off.
 * ====================================================================== */

static void phase_spin(unsigned run)
{
	gprintf("hostile: phase spin (run %u): %x%08x TSC ticks with interrupts off\n", run,
		(uint32_t)(opt_spin >> 32), (uint32_t)opt_spin);
	__asm__ volatile("cli");
	uint64_t t0 = rdtsc(), n = 0;
	while (rdtsc() - t0 < opt_spin)
		n++;
	uint64_t t = rdtsc() - t0;
	gprintf("hostile: phase spin (run %u) done: %u Mticks, %u Mloops\n", run, (uint32_t)(t >> 20),
		(uint32_t)(n >> 20));
}

/* ======================================================================
 * Phase 5: triple fault (as tests/guests/triple): with an empty IDT the
 * #DE cannot be delivered, nor the #DF that follows (SDM Vol. 3A 6.15,
 * interrupt 8): shutdown.
 * ====================================================================== */

static void phase_end(unsigned run)
{
	gprintf("hostile: phase end (run %u): loading an empty IDT and faulting\n", run);
	while (!(inb(0x3f8 + 5) & 0x40))
		; /* let the line leave the UART first */
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } empty = { 0, 0 };
	__asm__ volatile("lidt %0\n\t"
			 "xorl %%ecx, %%ecx\n\t"
			 "divl %%ecx" : : "m"(empty) : "eax", "ecx", "edx");
	gprintf("hostile: FAIL: still running after the triple fault\n");
}

void guest_main(uint32_t magic, uint32_t mb_info)
{
	(void)magic;
	uint64_t ram_end = read_boot_info(mb_info);
	ram_top = ram_end;
	unsigned run = next_run();
	gprintf("hostile guest: run %u, RAM ends at 0x%x%08x; spin=0x%x%08x ipis=%u sweep=%u MiB\n", run,
		(uint32_t)(ram_end >> 32), (uint32_t)ram_end, (uint32_t)(opt_spin >> 32), (uint32_t)opt_spin,
		opt_ipis, opt_sweep_mib);
	phase_scan(run, ram_end);
	phase_virtio(run);
	phase_ipi(run);
	phase_spin(run);
	phase_end(run);
}
