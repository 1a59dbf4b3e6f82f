/* The PC platform from inside a guest: local APIC timers (periodic and
 * TSC-deadline) measured with the TSC, self-IPIs and NMI through the ICR
 * (xAPIC and x2APIC), the PIT through the 8259 and through the IOAPIC, the
 * PIT channel 2 gate loop, the RTC date, UART receive and THRE interrupts,
 * PCI enumeration (mechanism #1 and ECAM), a level-triggered INTx and an MSI
 * from the test device. */
#include "tests/guests/common/guest.h"

#define LAPIC 0xfee00000u
#define IOAPIC 0xfec00000u
#define ECAM 0xb0000000u
#define TESTDEV_BAR 0xc0000000u

#define V_PIC_BASE 32   /* 8259 master: IRQ n -> 32 + n */
#define V_SLAVE_BASE 40
#define V_TIMER 48
#define V_SELF_IPI 49
#define V_X2_SELF_IPI 50
#define V_DEADLINE 51
#define V_IOAPIC_PIT 56
#define V_INTX 57
#define V_MSI 58
#define V_SPURIOUS 63

static volatile uint32_t count[64];
static volatile uint64_t stamp[64][8];
static volatile uint32_t nmis;
static volatile uint8_t uart_rx;

static inline void mmio_w(uint32_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_r(uint32_t a) { return *(volatile uint32_t *)a; }
static inline void wrmsr(uint32_t m, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(m), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdmsr(uint32_t m)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(m));
	return ((uint64_t)hi << 32) | lo;
}
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }

static bool x2apic_mode;
static void lapic_eoi(void)
{
	if (x2apic_mode)
		wrmsr(0x80b, 0);
	else
		mmio_w(LAPIC + 0xb0, 0);
}

static void hook(struct exc_frame *f)
{
	unsigned v = f->vector;
	if (v == 2) {
		nmis++;
		return;
	}
	if (v < 64) {
		if (count[v] < 8)
			stamp[v][count[v]] = rdtsc();
		count[v]++;
	}
	if (v == V_INTX) /* the test device: drop INTx before the EOI, or it comes again */
		mmio_w(TESTDEV_BAR + 4, 1);
	if (v == V_PIC_BASE + 4) /* COM1: read what is there, clearing the cause */
		while (inb(0x3fd) & 1)
			uart_rx = inb(0x3f8);
	if (v >= V_PIC_BASE && v < V_SLAVE_BASE + 8)
		outb(0x20, 0x20); /* 8259 non-specific EOI */
	else if (v != V_SPURIOUS)
		lapic_eoi();
}

/* Rates in Hz; 32 bits suffice (up to 4.2 GHz) and keep 64-bit divisions,
 * which need libgcc, out of this 32-bit guest. */
static uint32_t tsc_hz, bus_hz;

static void wait_for(unsigned vector, uint32_t n)
{
	uint64_t give_up = rdtsc() + tsc_hz; /* one second of guest time */
	while (count[vector] < n && rdtsc() < give_up)
		__asm__ volatile("sti; hlt; cli");
}

static bool near(uint32_t measured, uint32_t expected, unsigned percent)
{
	uint32_t slack = expected / 100 * percent;
	return measured + slack >= expected && measured <= expected + slack;
}

static void check_lapic_timers(void)
{
	mmio_w(LAPIC + 0xf0, 0x100 | V_SPURIOUS); /* software enable */
	mmio_w(LAPIC + 0x3e0, 0xb);                /* divide by 1 */
	mmio_w(LAPIC + 0x320, (1u << 17) | V_TIMER); /* periodic */
	mmio_w(LAPIC + 0x380, (uint32_t)(bus_hz / 1000)); /* 1 ms */
	wait_for(V_TIMER, 6);
	mmio_w(LAPIC + 0x320, 1u << 16);           /* mask */
	uint32_t period = count[V_TIMER] >= 6 ? (uint32_t)(stamp[V_TIMER][5] - stamp[V_TIMER][1]) / 4 : 0;
	check(count[V_TIMER] >= 6 && near(period, tsc_hz / 1000, 10),
	      "LAPIC periodic timer fires every 1 ms", "%u ticks, period %u TSC (expected %u)",
	      count[V_TIMER], (uint32_t)period, (uint32_t)(tsc_hz / 1000));

	/* TSC-deadline mode: fire when the TSC reaches the deadline. */
	mmio_w(LAPIC + 0x320, (2u << 17) | V_DEADLINE);
	uint64_t deadline = rdtsc() + tsc_hz / 500; /* 2 ms */
	wrmsr(0x6e0, deadline);
	wait_for(V_DEADLINE, 1);
	uint32_t late = count[V_DEADLINE] ? (uint32_t)(stamp[V_DEADLINE][0] - deadline) : 0;
	check(count[V_DEADLINE] == 1 && stamp[V_DEADLINE][0] >= deadline && late < tsc_hz / 200,
	      "TSC-deadline timer fires at its deadline", "count %u, %u TSC late", count[V_DEADLINE],
	      (uint32_t)late);
	check(rdmsr(0x6e0) == 0, "IA32_TSC_DEADLINE reads 0 once fired", "");
	mmio_w(LAPIC + 0x320, 1u << 16);
}

static void check_ipis(void)
{
	mmio_w(LAPIC + 0x300, (1u << 18) | V_SELF_IPI); /* shorthand: self */
	__asm__ volatile("sti; nop; cli");
	check(count[V_SELF_IPI] == 1, "xAPIC self-IPI arrives", "count %u", count[V_SELF_IPI]);
	mmio_w(LAPIC + 0x300, (1u << 18) | (4u << 8) | 2); /* NMI to self */
	__asm__ volatile("nop");
	check(nmis == 1, "NMI through the ICR arrives", "count %u", nmis);

	/* x2APIC: IA32_APIC_BASE.EXTD, then the SELF IPI MSR (SDM 11.12). */
	uint32_t r[4];
	cpuid(1, 0, r);
	check(r[2] & (1u << 21), "CPUID offers x2APIC", "ecx 0x%x", r[2]);
	uint64_t base = rdmsr(0x1b);
	wrmsr(0x1b, base | (1u << 10));
	x2apic_mode = true;
	check((rdmsr(0x802) & 0xffffffffu) == 0, "x2APIC ID reads through its MSR", "");
	wrmsr(0x83f, V_X2_SELF_IPI);
	__asm__ volatile("sti; nop; cli");
	check(count[V_X2_SELF_IPI] == 1, "x2APIC self-IPI arrives", "count %u", count[V_X2_SELF_IPI]);
}

static void pic_init(uint8_t master_mask)
{
	outb(0x20, 0x11); outb(0x21, V_PIC_BASE); outb(0x21, 4); outb(0x21, 1);
	outb(0xa0, 0x11); outb(0xa1, V_SLAVE_BASE); outb(0xa1, 2); outb(0xa1, 1);
	outb(0x21, master_mask);
	outb(0xa1, 0xff);
}

static void pit_periodic(uint16_t divisor)
{
	outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
	outb(0x40, (uint8_t)divisor);
	outb(0x40, (uint8_t)(divisor >> 8));
}

static void check_pit(void)
{
	pic_init(0xfe); /* IRQ 0 only */
	pit_periodic(1193); /* ~1 kHz */
	wait_for(V_PIC_BASE, 6);
	uint32_t period = count[V_PIC_BASE] >= 6 ? (uint32_t)(stamp[V_PIC_BASE][5] - stamp[V_PIC_BASE][1]) / 4 : 0;
	/* 1193 PIT ticks at 1.193182 MHz: 0.99985 ms. */
	check(count[V_PIC_BASE] >= 6 && near(period, tsc_hz / 1000, 10),
	      "PIT channel 0 interrupts through the 8259", "%u interrupts, period %u TSC",
	      count[V_PIC_BASE], (uint32_t)period);
	outb(0x21, 0xff);

	/* The same timer through IOAPIC pin 2 (ISA IRQ 0 is wired there). */
	mmio_w(IOAPIC, 0x10 + 2 * 2 + 1);
	mmio_w(IOAPIC + 0x10, 0);          /* destination APIC 0 */
	mmio_w(IOAPIC, 0x10 + 2 * 2);
	mmio_w(IOAPIC + 0x10, V_IOAPIC_PIT); /* fixed, edge, unmasked */
	wait_for(V_IOAPIC_PIT, 3);
	check(count[V_IOAPIC_PIT] >= 3, "PIT channel 0 interrupts through the IOAPIC", "%u interrupts",
	      count[V_IOAPIC_PIT]);
	mmio_w(IOAPIC, 0x10 + 2 * 2);
	mmio_w(IOAPIC + 0x10, 1u << 16); /* mask */
	outb(0x43, 0x30);                /* channel 0 back to one-shot, idle */
	outb(0x40, 0);
	outb(0x40, 0);

	/* Channel 2 gate loop, as kernels calibrate the TSC: 10 ms. */
	outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xb0);
	outb(0x42, (uint8_t)11932);
	outb(0x42, (uint8_t)(11932 >> 8));
	uint64_t t0 = rdtsc();
	uint32_t spins = 0;
	while (!(inb(0x61) & 0x20) && ++spins < 10000000)
		;
	uint32_t took = (uint32_t)(rdtsc() - t0);
	check(spins < 10000000 && near(took, tsc_hz / 100, 15), "PIT channel 2 gate loop ends after 10 ms",
	      "%u TSC (expected %u), %u polls", (uint32_t)took, (uint32_t)(tsc_hz / 100), spins);
}

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static unsigned bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0xf); }

static void check_rtc(void)
{
	while (cmos(0x0a) & 0x80)
		; /* update in progress */
	unsigned year = bcd(cmos(0x32)) * 100 + bcd(cmos(0x09)), month = bcd(cmos(0x08)),
		 day = bcd(cmos(0x07)), hour = bcd(cmos(0x04)), min = bcd(cmos(0x02));
	check(year >= 2024 && year < 2100 && month >= 1 && month <= 12 && day >= 1 && day <= 31 &&
		      hour < 24 && min < 60,
	      "the RTC holds a sane date", "%u-%02u-%02u %02u:%02u", year, month, day, hour, min);
	uint16_t ext = (uint16_t)(cmos(0x17) | (cmos(0x18) << 8));
	check(ext >= 7 * 1024, "CMOS extended memory size is filled in", "%u KiB", ext);
}

static void check_uart(void)
{
	pic_init(0xef); /* IRQ 4 only */
	outb(0x3fc, 0x08);       /* MCR: OUT2 gates the IRQ */
	outb(0x3f9, 0x02);       /* IER: THRE */
	__asm__ volatile("sti; nop; nop; cli");
	uint32_t thre = count[V_PIC_BASE + 4];
	outb(0x3f9, 0x00);
	/* Loopback: what we send comes back and raises "data ready". */
	outb(0x3fc, 0x18);       /* LOOP | OUT2 */
	outb(0x3f9, 0x01);       /* IER: received data */
	outb(0x3f8, 'Z');
	__asm__ volatile("sti; nop; nop; cli");
	outb(0x3f9, 0x00);
	outb(0x3fc, 0x03);
	outb(0x21, 0xff);
	check(thre >= 1, "UART THRE interrupt through IRQ 4", "count %u", thre);
	check(count[V_PIC_BASE + 4] > thre && uart_rx == 'Z', "UART receive interrupt (loopback)",
	      "count %u, byte 0x%x", count[V_PIC_BASE + 4], uart_rx);
}

static void check_pci(void)
{
	unsigned found = 0, bridge = 0, testdev = 0;
	for (unsigned d = 0; d < 32; d++) {
		uint32_t id = pci_cfg(d, 0);
		if (id == 0xffffffffu)
			continue;
		found++;
		if (d == 0 && id == 0x00081b36u)
			bridge = 1;
		if (id == 0x00051b36u)
			testdev = d;
	}
	check(bridge && found == 2 && testdev == 1, "PCI bus 0 has the host bridge and the test device",
	      "%u functions, test device at slot %u", found, testdev);
	check(pci_cfg(5, 0) == 0xffffffffu, "an absent PCI function reads all-ones", "");
	check(mmio_r(ECAM + (1u << 15)) == 0x00051b36u, "ECAM reads the same configuration space", "0x%x",
	      mmio_r(ECAM + (1u << 15)));

	/* BAR sizing, then MSI from the test device's doorbell. */
	pci_cfg_w(1, 0x10, 0xffffffffu);
	uint32_t size = ~(pci_cfg(1, 0x10) & ~0xfu) + 1;
	check(size == 4096, "BAR 0 sizes to 4 KiB", "%u bytes", size);
	pci_cfg_w(1, 0x10, TESTDEV_BAR);
	pci_cfg_w(1, 0x04, 0x6); /* memory space, bus master */
	/* INTx: INTA# of slot 1 is IOAPIC pin 17, active low, level-triggered.
	 * The IOAPIC holds the pin's remote IRR until the local APIC's EOI
	 * reaches it (with APIC virtualization: an EOI-induced exit), so a
	 * second interrupt arrives only if the first EOI got there. */
	mmio_w(IOAPIC, 0x10 + 2 * 17 + 1);
	mmio_w(IOAPIC + 0x10, 0);
	mmio_w(IOAPIC, 0x10 + 2 * 17);
	mmio_w(IOAPIC + 0x10, (1u << 15) | (1u << 13) | V_INTX);
	for (int i = 0; i < 2; i++) {
		mmio_w(TESTDEV_BAR, 0); /* doorbell: MSI is off, so INTx */
		__asm__ volatile("sti; nop; cli");
	}
	mmio_w(IOAPIC, 0x10 + 2 * 17);
	uint32_t rte = mmio_r(IOAPIC + 0x10);
	mmio_w(IOAPIC + 0x10, 1u << 16);
	check(count[V_INTX] == 2 && !(rte & (1u << 14)),
	      "level-triggered INTx through the IOAPIC, twice: each EOI clears remote IRR",
	      "count %u, RTE 0x%x", count[V_INTX], rte);

	unsigned cap = pci_cfg(1, 0x34) & 0xff;
	while (cap && (pci_cfg(1, cap) & 0xff) != 0x05)
		cap = (pci_cfg(1, cap) >> 8) & 0xfc;
	check(cap != 0, "the MSI capability is on the list", "at 0x%x", cap);
	if (!cap)
		return;
	uint32_t ctl = pci_cfg(1, cap) >> 16;
	pci_cfg_w(1, cap + 4, 0xfee00000u); /* destination APIC 0 */
	unsigned data_at = (ctl & 0x80) ? cap + 12 : cap + 8;
	if (ctl & 0x80)
		pci_cfg_w(1, cap + 8, 0);
	pci_cfg_w(1, data_at, V_MSI);
	pci_cfg_w(1, cap, (pci_cfg(1, cap) & 0xffff) | ((ctl | 1u) << 16)); /* MSI enable */
	mmio_w(TESTDEV_BAR, 0); /* doorbell: vector 0 */
	__asm__ volatile("sti; nop; cli");
	check(count[V_MSI] == 1, "an MSI from the test device arrives", "count %u", count[V_MSI]);
}

/* ACPI: the RSDP from the Multiboot2 tag and from the BIOS-area scan,
 * checksums, and the MADT through the XSDT. */
static bool mem_eq(const void *a, const void *b, uint32_t n)
{
	const uint8_t *x = a, *y = b;
	while (n--)
		if (*x++ != *y++)
			return false;
	return true;
}

static uint8_t sum8(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void check_acpi(uint32_t mb_info)
{
	const uint8_t *tag_rsdp = 0;
	for (uint32_t p = mb_info + 8; p < mb_info + *(uint32_t *)mb_info;) {
		uint32_t type = *(uint32_t *)p, size = *(uint32_t *)(p + 4);
		if (type == 15)
			tag_rsdp = (const uint8_t *)(p + 8);
		if (type == 0)
			break;
		p += (size + 7) & ~7u;
	}
	const uint8_t *scan = 0;
	for (uint32_t a = 0xe0000; a < 0x100000 && !scan; a += 16)
		if (mem_eq((const void *)a, "RSD PTR ", 8))
			scan = (const uint8_t *)a;
	check(tag_rsdp && scan && mem_eq(tag_rsdp, scan, 36),
	      "the ACPI RSDP is in the Multiboot2 tag and in the BIOS area", "at 0x%x", (uint32_t)scan);
	if (!scan)
		return;
	check(sum8(scan, 20) == 0 && sum8(scan, 36) == 0 && scan[15] == 2, "the RSDP checksums are right",
	      "revision %u", scan[15]);
	const uint8_t *xsdt = (const uint8_t *)*(const uint32_t *)(scan + 24);
	uint32_t xlen = *(const uint32_t *)(xsdt + 4);
	bool all_ok = sum8(xsdt, xlen) == 0;
	unsigned lapics = 0;
	for (uint32_t off = 36; off + 8 <= xlen; off += 8) {
		const uint8_t *t = (const uint8_t *)*(const uint32_t *)(xsdt + off);
		all_ok &= sum8(t, *(const uint32_t *)(t + 4)) == 0;
		if (mem_eq(t, "APIC", 4))
			for (uint32_t e = 44; e < *(const uint32_t *)(t + 4); e += t[e + 1])
				lapics += t[e] == 0;
	}
	check(all_ok && lapics == 1, "every table's checksum is right; the MADT lists one local APIC",
	      "%u local APICs", lapics);
}

void guest_main(uint32_t magic, uint32_t mb_info)
{
	(void)magic;
	gprintf("platform guest: APIC timers, IPIs, PIT, PIC, IOAPIC, RTC, UART, PCI, MSI\n");
	uint32_t r[4];
	cpuid(0x40000010, 0, r);
	tsc_hz = r[0] * 1000;
	bus_hz = r[1] * 1000;
	check(tsc_hz && bus_hz, "CPUID 0x40000010 gives the TSC and APIC timer rates", "%u kHz, %u kHz",
	      r[0], r[1]);
	guest_irq_hook = hook;
	check_acpi(mb_info);
	check_lapic_timers();
	check_pit();
	check_rtc();
	check_uart();
	check_pci();
	check_ipis(); /* last: it leaves the APIC in x2APIC mode */
	checks_summary();
}
