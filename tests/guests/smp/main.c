/* An SMP guest: it finds its CPUs in the ACPI MADT, starts every
 * application processor (AP) with INIT-SIPI-SIPI, and then tests what
 * several CPUs do to each other through their local APICs: fixed IPIs to
 * one CPU (1000 timed round trips, each waking a halted CPU), the
 * all-excluding-self shorthand, logical (flat) destinations, and a TLB
 * shoot-down of a changed page-table entry.
 *
 * It behaves the same natively (Bochs with `cpu: count=N`) and in a VM with
 * `vcpus=N`. Command line: `cpus=N` makes "exactly N CPUs" a check (else: at
 * least 2). Only the BSP prints: the APs write what they saw into struct
 * cpu and the BSP checks it, so lines never interleave.
 *
 * The shared runtime (tests/guests/common) gives the IDT 64 entries, so the
 * IPI vectors are 0x30..0x3f rather than the 0x40 an OS might pick. */
#include "tests/guests/common/guest.h"

/* --- The local APIC, xAPIC mode (SDM Vol. 3A 11.4) ------------------------- */
#define LAPIC_BASE 0xfee00000u /* the power-on default (11.4.1) */
#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_LDR 0x0d0
#define LAPIC_DFR 0x0e0
#define LAPIC_SVR 0x0f0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

#define SVR_ENABLE (1u << 8) /* APIC software enable (11.4.3, 11.9) */

/* ICR fields (SDM Vol. 3A 11.6.1, Figure 11-12). The low half holds what to
 * send and how, the high half (bits 63:56 of the register) the destination;
 * writing the low half sends the IPI. */
#define ICR_FIXED (0u << 8)   /* delivery mode 000: the vector, to the destination */
#define ICR_INIT (5u << 8)    /* 101: INIT */
#define ICR_STARTUP (6u << 8) /* 110: start-up (SIPI); vector = page number */
#define ICR_LOGICAL (1u << 11) /* destination mode: 0 physical, 1 logical (11.6.2) */
#define ICR_PENDING (1u << 12) /* delivery status: 1 = send pending */
#define ICR_ASSERT (1u << 14)  /* level: 1 = assert (0 only for the INIT de-assert) */
#define ICR_ALL_BUT_SELF (3u << 18) /* destination shorthand 11 */

/* IA32_APIC_BASE (11.4.4, Figure 11-5). */
#define MSR_IA32_APIC_BASE 0x1b
#define APIC_BASE_BSP (1u << 8)     /* set only on the bootstrap processor (9.4.1) */
#define APIC_BASE_ENABLE (1u << 11) /* global enable (11.4.3) */

/* Vectors: all in 32..63, the entries the common IDT has. */
#define V_PING 0x30      /* BSP -> AP; the AP answers with V_PONG */
#define V_PONG 0x31      /* AP -> BSP */
#define V_BCAST 0x32     /* all-excluding-self */
#define V_LOGICAL 0x33   /* logical destination */
#define V_PAGING 0x34    /* "turn paging on and read the test page" */
#define V_SHOOTDOWN 0x35 /* "INVLPG the test page and read it again" */
#define V_SPURIOUS 0x3f  /* SVR's spurious vector: bits 3:0 all ones for older CPUs */

#define MAX_CPUS 16
#define AP_STACK_SIZE 8192

/* Each CPU from the MADT. Only the BSP reads the fields the APs write;
 * x86 keeps stores in program order as other CPUs see them (SDM Vol. 3A
 * 9.2.2), so a CPU that writes its data and then bumps a counter publishes
 * both, in that order, and `volatile` keeps the compiler from reordering. */
struct cpu {
	uint32_t apic_id, acpi_uid; /* from the MADT */
	bool is_bsp;
	uint32_t sipis;             /* STARTUP IPIs the BSP sent it */
	bool real_mode_seen;        /* its trampoline write arrived */
	volatile bool online;       /* reached ap_main and enabled its APIC */
	volatile uint32_t arrival;  /* order of arrival (its stack) */
	volatile uint32_t cpuid_id, lapic_id, apic_base;
	volatile uint32_t count[32]; /* interrupts taken, per vector 32..63 */
	volatile uint32_t read_first, read_stale, read_after; /* the TLB test */
};

static struct cpu cpus[MAX_CPUS];
static unsigned ncpus;          /* CPUs in cpus[] */
static uint8_t slot_of_apic[256]; /* APIC ID -> index in cpus[] + 1; 0: not listed */
static struct cpu *bsp;
static volatile uint32_t arrived; /* APs that reached ap_main */
static volatile uint32_t stray_aps, stray_apic_id; /* APs not in the MADT */
static volatile uint32_t spurious;
static uint32_t tsc_per_ms;

/* The AP stacks, handed out by trampoline.S in arrival order. */
uint8_t ap_stacks[MAX_CPUS - 1][AP_STACK_SIZE] __attribute__((aligned(16)));
const uint32_t ap_stack_count = MAX_CPUS - 1, ap_stack_size = AP_STACK_SIZE;
extern const char ap_trampoline_start[], ap_trampoline_end[], ap_trampoline_arrived[];
void ap_main(uint32_t arrival) __attribute__((noreturn, used));

/* The IDT the BSP runs with (tests/guests/common/guest.c): the APs load the
 * same one. */
static struct __attribute__((packed)) {
	uint16_t limit;
	uint32_t base;
} shared_idtr;

static inline uint32_t lapic_r(uint32_t reg) { return *(volatile uint32_t *)(LAPIC_BASE + reg); }
static inline void lapic_w(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(LAPIC_BASE + reg) = v; }
static inline void lapic_eoi(void) { lapic_w(LAPIC_EOI, 0); }
static inline uint32_t lapic_id(void) { return lapic_r(LAPIC_ID) >> 24; } /* xAPIC: bits 31:24 (11.4.6) */

static inline uint32_t rdmsr_lo(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo;
}

/* Addresses below 4 KiB read through asm: to the compiler a pointer made
 * from a small constant is a null-pointer offset. */
static inline uint16_t peek16(uint32_t addr)
{
	uint16_t v;
	__asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(addr));
	return v;
}

static uint64_t deadline_ms(uint32_t ms) { return rdtsc() + (uint64_t)ms * tsc_per_ms; }

static void delay_us(uint32_t us)
{
	uint32_t per_us = tsc_per_ms / 1000 ? tsc_per_ms / 1000 : 1;
	uint64_t end = rdtsc() + (uint64_t)us * per_us;
	while (rdtsc() < end)
		__asm__ volatile("pause");
}

/* A 64-bit number in decimal without 64-bit division (libgcc is not
 * linked): divide by 10 one 16-bit limb at a time. */
static const char *u64_dec(uint64_t v, char buf[21])
{
	uint32_t limb[4] = { (uint32_t)(v >> 48) & 0xffff, (uint32_t)(v >> 32) & 0xffff,
			     (uint32_t)(v >> 16) & 0xffff, (uint32_t)v & 0xffff };
	char rev[20];
	int n = 0;
	do {
		uint32_t rem = 0;
		for (int i = 0; i < 4; i++) {
			uint32_t cur = (rem << 16) | limb[i];
			limb[i] = cur / 10;
			rem = cur % 10;
		}
		rev[n++] = (char)('0' + rem);
	} while (limb[0] | limb[1] | limb[2] | limb[3]);
	for (int i = 0; i < n; i++)
		buf[i] = rev[n - 1 - i];
	buf[n] = 0;
	return buf;
}

/* --- Sending IPIs (SDM Vol. 3A 11.6.1) ------------------------------------ */

/* Delivery status (bit 12) reads 1 while the local APIC has not yet sent
 * the last IPI: wait for it to read 0 before writing the ICR again. */
static bool icr_idle(void)
{
	for (uint32_t spins = 0; spins < 1000000; spins++) {
		if (!(lapic_r(LAPIC_ICR_LO) & ICR_PENDING))
			return true;
		__asm__ volatile("pause");
	}
	return false;
}

/* The xAPIC ICR is two 32-bit registers: destination first, then the low
 * half, whose write sends. Interrupts stay off in between: a handler that
 * sent an IPI of its own there would change the destination under us. */
static bool send_ipi(uint32_t dest, uint32_t low)
{
	uint32_t flags;
	__asm__ volatile("pushfl; popl %0; cli" : "=r"(flags) : : "memory");
	bool ok = icr_idle();
	if (ok) {
		lapic_w(LAPIC_ICR_HI, dest << 24);
		lapic_w(LAPIC_ICR_LO, low);
		ok = icr_idle();
	}
	if (flags & (1u << 9))
		__asm__ volatile("sti" ::: "memory");
	return ok;
}

/* Physical destination mode (11.6.2.1): the destination is one APIC ID. */
static bool send_fixed(uint32_t apic_id, uint8_t vector)
{
	return send_ipi(apic_id, ICR_FIXED | ICR_ASSERT | vector);
}

/* Each CPU's local APIC: software-enabled with the spurious vector, TPR 0
 * (accept every priority class), and the flat logical model (11.6.2.2): DFR
 * bits 31:28 = 1111B, LDR bits 31:24 = a bit mask; CPU n gets bit n, so
 * APIC IDs 0..7 are addressable this way. */
static void lapic_enable(uint32_t apic_id)
{
	lapic_w(LAPIC_TPR, 0);
	lapic_w(LAPIC_DFR, 0xffffffffu);
	lapic_w(LAPIC_LDR, apic_id < 8 ? (1u << apic_id) << 24 : 0);
	lapic_w(LAPIC_SVR, SVR_ENABLE | V_SPURIOUS);
}

static struct cpu *cpu_by_apic_id(uint32_t id)
{
	return id < 256 && slot_of_apic[id] ? &cpus[slot_of_apic[id] - 1] : 0;
}

/* --- Paging for the TLB test (SDM Vol. 3A 4.3, 32-bit paging) ------------- */
#define TEST_VA 0x40000000u /* outside the identity map: PDE 256, PTE 0 */
#define PTE_P 0x001
#define PTE_RW 0x002
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PDE_PS 0x080 /* a 4 MiB page (CR4.PSE = 1) */
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t page_table[1024] __attribute__((aligned(4096)));
static uint32_t page_a[1024] __attribute__((aligned(4096)));
static uint32_t page_b[1024] __attribute__((aligned(4096)));

static uint32_t read_test_va(void) { return *(volatile uint32_t *)TEST_VA; }
static void invlpg(uint32_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

/* CR4.PSE before CR0.PG: the PDEs with PS set mean 4 MiB pages only then
 * (4.3). The code runs identity mapped, so turning PG on needs no jump. */
static void paging_on(void)
{
	uint32_t cr0, cr4;
	__asm__ volatile("movl %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("movl %0, %%cr4" : : "r"(cr4 | CR4_PSE));
	__asm__ volatile("movl %0, %%cr3" : : "r"((uint32_t)page_dir) : "memory");
	__asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("movl %0, %%cr0" : : "r"(cr0 | CR0_PG) : "memory");
}

/* --- Interrupts, on every CPU ---------------------------------------------- */

static void ipi_hook(struct exc_frame *f)
{
	uint32_t v = f->vector;
	if (v == V_SPURIOUS) { /* no EOI for a spurious interrupt (11.9) */
		spurious++;
		return;
	}
	if (v < 32)
		return; /* #DB or NMI: none expected */
	struct cpu *c = cpu_by_apic_id(lapic_id());
	if (!c) {
		lapic_eoi();
		return;
	}
	switch (v) {
	case V_PING:
		/* Count first, so the BSP sees the count once the pong is in. */
		c->count[v - 32]++;
		lapic_eoi();
		send_fixed(bsp->apic_id, V_PONG);
		return;
	case V_PAGING:
		paging_on();
		c->read_first = read_test_va(); /* now in this CPU's TLB */
		break;
	case V_SHOOTDOWN:
		/* What this CPU's TLB still holds: the old translation may be
		 * used until INVLPG (4.10.4.1); it need not be (any TLB entry
		 * can be dropped at any time), so this is only reported. */
		c->read_stale = read_test_va();
		invlpg(TEST_VA);
		c->read_after = read_test_va();
		break;
	}
	c->count[v - 32]++;
	lapic_eoi();
}

/* --- The AP's side ---------------------------------------------------------- */

/* trampoline.S calls this in 32-bit protected mode, paging off, interrupts
 * off, on the AP's own stack. */
void ap_main(uint32_t arrival)
{
	__asm__ volatile("lidt %0" : : "m"(shared_idtr));
	uint32_t r[4];
	cpuid(1, 0, r);
	uint32_t id_cpuid = r[1] >> 24; /* CPUID.01H:EBX[31:24]: the initial APIC ID */
	uint32_t id_lapic = lapic_id();
	struct cpu *c = cpu_by_apic_id(id_lapic);
	if (!c || c->is_bsp) {
		/* Not a CPU of the MADT's: tell the BSP and stay out of the way. */
		stray_apic_id = id_lapic;
		__atomic_fetch_add(&stray_aps, 1, __ATOMIC_SEQ_CST);
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	c->cpuid_id = id_cpuid;
	c->lapic_id = id_lapic;
	c->apic_base = rdmsr_lo(MSR_IA32_APIC_BASE);
	c->arrival = arrival;
	lapic_enable(id_lapic);
	c->online = true;
	__atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST); /* LOCK XADD */
	/* Sleep until an IPI comes. STI delays interrupts by one instruction
	 * (SDM Vol. 2B STI), so none slips in between STI and HLT to be lost. */
	for (;;)
		__asm__ volatile("sti; hlt" ::: "memory");
}

/* --- Finding the CPUs: ACPI (ACPI 6.5 5.2) ----------------------------------- */

static uint8_t sum8(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static bool sig_is(const uint8_t *p, const char *sig, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)sig[i])
			return false;
	return true;
}

static uint32_t rd32(const uint8_t *p) { return *(const uint32_t *)p; }

/* The RSDP is on a 16-byte boundary with "RSD PTR " and a checksum over
 * its first 20 bytes (the ACPI 1.0 part; 5.2.5.3). */
static const uint8_t *rsdp_scan(uint32_t start, uint32_t len)
{
	for (uint32_t a = start; a + 20 <= start + len; a += 16)
		if (sig_is((const uint8_t *)a, "RSD PTR ", 8) && sum8((const uint8_t *)a, 20) == 0)
			return (const uint8_t *)a;
	return 0;
}

/* A system description table: its length covers at least the 36-byte
 * header, its bytes sum to 0 (5.2.6). Paging is off: physical addresses
 * below 4 GiB are pointers. */
static bool sdt_ok(const uint8_t *t, const char *sig)
{
	if (!t)
		return false;
	uint32_t len = rd32(t + 4);
	return sig_is(t, sig, 4) && len >= 36 && len < (1u << 20) && sum8(t, len) == 0;
}

/* Walks the RSDT or XSDT for the MADT and fills cpus[]; returns the number
 * of enabled CPUs it lists (also past MAX_CPUS), or 0 with a FAIL printed. */
static unsigned find_cpus(uint32_t *madt_lapic_addr)
{
	/* 5.2.5.1: the first KiB of the EBDA (its segment is the word at
	 * 40:0EH), then the BIOS read-only area 0E0000H-0FFFFFH. */
	uint32_t ebda = (uint32_t)peek16(0x40e) << 4;
	const uint8_t *rsdp = 0;
	if (ebda >= 0x80000 && ebda < 0xa0000)
		rsdp = rsdp_scan(ebda, 1024);
	if (!rsdp)
		rsdp = rsdp_scan(0xe0000, 0x20000);
	if (!rsdp) {
		check(false, "the ACPI RSDP is in the EBDA or the BIOS area", "");
		return 0;
	}
	uint8_t rev = rsdp[15];
	bool ext_ok = rev < 2 || (rd32(rsdp + 20) >= 36 && sum8(rsdp, rd32(rsdp + 20)) == 0);
	check(ext_ok, "the ACPI RSDP is found, its checksums are right", "at 0x%x, revision %u",
	      (uint32_t)rsdp, rev);
	/* ACPI 2.0+: the XSDT (64-bit entries) replaces the RSDT; use it if
	 * it lies below 4 GiB, where this 32-bit guest can reach it. */
	bool use_xsdt = rev >= 2 && rd32(rsdp + 24) && !rd32(rsdp + 28);
	const uint8_t *root = (const uint8_t *)(use_xsdt ? rd32(rsdp + 24) : rd32(rsdp + 16));
	bool root_ok = sdt_ok(root, use_xsdt ? "XSDT" : "RSDT");
	check(root_ok, use_xsdt ? "the XSDT's signature, length and checksum are right"
				: "the RSDT's signature, length and checksum are right",
	      "at 0x%x", (uint32_t)root);
	if (!root_ok)
		return 0;
	uint32_t esize = use_xsdt ? 8 : 4;
	const uint8_t *madt = 0;
	for (uint32_t off = 36; off + esize <= rd32(root + 4); off += esize) {
		if (use_xsdt && rd32(root + off + 4))
			continue; /* above 4 GiB */
		const uint8_t *t = (const uint8_t *)rd32(root + off);
		if (t && sig_is(t, "APIC", 4)) {
			madt = t;
			break;
		}
	}
	bool madt_ok = madt && sdt_ok(madt, "APIC") && rd32(madt + 4) >= 44;
	check(madt_ok, "the MADT is listed; its length and checksum are right", "at 0x%x", (uint32_t)madt);
	if (!madt_ok)
		return 0;
	*madt_lapic_addr = rd32(madt + 36); /* Local Interrupt Controller Address */

	/* The interrupt controller structures after the 44-byte head
	 * (5.2.12): type, length, then the type's fields. */
	unsigned listed = 0, x2apic_only = 0;
	uint32_t len = rd32(madt + 4);
	for (uint32_t e = 44; e + 2 <= len; e += madt[e + 1]) {
		uint8_t type = madt[e], elen = madt[e + 1];
		if (elen < 2 || e + elen > len) {
			check(false, "the MADT's entries fit in it", "entry at +%u, length %u", e, elen);
			break;
		}
		/* Processor Local APIC (5.2.12.2): UID, APIC ID, flags; bit 0
		 * "Enabled". A clear bit 0 is a CPU that is absent or that may
		 * only be brought online later (bit 1): not ours to start. */
		if (type == 0 && elen >= 8 && (rd32(madt + e + 4) & 1)) {
			if (ncpus < MAX_CPUS && !slot_of_apic[madt[e + 3]]) {
				struct cpu *c = &cpus[ncpus++];
				c->acpi_uid = madt[e + 2];
				c->apic_id = madt[e + 3];
				slot_of_apic[c->apic_id] = (uint8_t)ncpus;
				gprintf("smp-guest: MADT: CPU %u: APIC ID %u, ACPI processor UID %u\n", ncpus - 1,
					c->apic_id, c->acpi_uid);
			}
			listed++;
		}
		/* Processor Local x2APIC (5.2.12.12): IDs of 255 and above, which
		 * an xAPIC cannot address. Counted, not started. */
		if (type == 9 && elen >= 16 && (rd32(madt + e + 8) & 1))
			x2apic_only++;
	}
	if (listed > ncpus)
		gprintf("smp-guest: MADT lists %u CPUs; this guest uses the first %u\n", listed, ncpus);
	if (x2apic_only)
		gprintf("smp-guest: MADT lists %u x2APIC-only CPUs: not started (xAPIC guest)\n", x2apic_only);
	return listed;
}

/* --- The Multiboot2 information (Multiboot2 spec 3.6) ----------------------- */

/* `cpus=N` on the command line (tag 1); 0 when absent. */
static uint32_t cmdline_cpus(uint32_t mb_info)
{
	for (uint32_t p = mb_info + 8; p < mb_info + *(uint32_t *)mb_info;) {
		uint32_t type = *(uint32_t *)p, size = *(uint32_t *)(p + 4);
		if (type == 0)
			break;
		if (type == 1)
			for (const char *c = (const char *)(p + 8); *c; c++)
				if ((c == (const char *)(p + 8) || c[-1] == ' ') && sig_is((const uint8_t *)c, "cpus=", 5)) {
					uint32_t n = 0;
					for (c += 5; *c >= '0' && *c <= '9'; c++)
						n = n * 10 + (uint32_t)(*c - '0');
					return n;
				}
		p += (size + 7) & ~7u;
	}
	return 0;
}

/* A 4 KiB page for the trampoline: below 1 MiB (a STARTUP IPI's vector is a
 * page number 01H..9FH), available RAM in the memory map (tag 6), and not
 * where the boot information lies (the hypervisor puts it at 0x8000). Page
 * 0 holds the real-mode interrupt vectors and the BIOS data area. */
static uint32_t free_low_page(uint32_t mb_info)
{
	uint32_t mb_end = mb_info + *(uint32_t *)mb_info;
	for (uint32_t page = 0x1000; page < 0xa0000; page += 0x1000) {
		if (page < mb_end && mb_info < page + 0x1000)
			continue;
		for (uint32_t p = mb_info + 8; p < mb_end;) {
			uint32_t type = *(uint32_t *)p, size = *(uint32_t *)(p + 4);
			if (type == 0)
				break;
			if (type == 6) {
				uint32_t esize = *(uint32_t *)(p + 8);
				for (uint32_t e = p + 16; esize >= 24 && e + 24 <= p + size; e += esize) {
					uint64_t base = *(uint64_t *)e, len = *(uint64_t *)(e + 8);
					if (*(uint32_t *)(e + 16) == 1 && base <= page && page + 0x1000 <= base + len)
						return page;
				}
			}
			p += (size + 7) & ~7u;
		}
	}
	return 0;
}

/* --- The BSP's side ---------------------------------------------------------- */

/* The TSC rate from PIT channel 2 (gate on port 61H bit 0, OUT2 on bit 5):
 * mode 0 counts 11932 ticks of 1.193182 MHz, 10 ms, then raises OUT2. */
static void calibrate_tsc(void)
{
	outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01)); /* gate on, speaker off */
	outb(0x43, 0xb0);                                  /* channel 2, lo/hi byte, mode 0 */
	outb(0x42, (uint8_t)11932);
	outb(0x42, (uint8_t)(11932 >> 8));
	uint64_t t0 = rdtsc();
	bool fired;
	while (!(fired = inb(0x61) & 0x20) && rdtsc() - t0 < 2000000000u)
		;
	uint64_t took = rdtsc() - t0;
	tsc_per_ms = fired && took < 0xffffffffu ? (uint32_t)took / 10 : 0;
	check(tsc_per_ms >= 1000, "PIT channel 2 calibrates the TSC", "%u ticks per ms", tsc_per_ms);
	if (tsc_per_ms < 1000)
		tsc_per_ms = 200000; /* Bochs's 200 MHz: the timeouts stay finite */
}

/* INIT-SIPI-SIPI to one AP (SDM Vol. 3A 9.4.4.1 "Typical BSP Initialization
 * Sequence"; the ICR of 11.6.1): INIT resets the AP into wait-for-SIPI
 * whatever it was doing (the BIOS leaves its APs halted); 10 ms later a
 * STARTUP IPI starts it in real mode at vector * 4096. A second STARTUP
 * goes out only if the first did not get there: a CPU that is not waiting
 * for one ignores it (9.4.4.1). */
static void start_ap(struct cpu *c, uint32_t page)
{
	uint32_t flag_offset = (uint32_t)(ap_trampoline_arrived - ap_trampoline_start);
	volatile uint32_t *in_real_mode = (volatile uint32_t *)(page + flag_offset);
	*in_real_mode = 0;
	send_ipi(c->apic_id, ICR_INIT | ICR_ASSERT);
	delay_us(10000);
	for (c->sipis = 0; c->sipis < 2 && !*in_real_mode;) {
		send_ipi(c->apic_id, ICR_STARTUP | ICR_ASSERT | (page >> 12));
		c->sipis++;
		delay_us(200);
		/* An emulated or virtual CPU may take longer than 200 us. */
		for (uint64_t end = deadline_ms(10); !*in_real_mode && rdtsc() < end;)
			__asm__ volatile("pause");
	}
	c->real_mode_seen = *in_real_mode;
	for (uint64_t end = deadline_ms(500); !c->online && rdtsc() < end;)
		__asm__ volatile("pause");
	if (!c->online)
		send_ipi(c->apic_id, ICR_INIT | ICR_ASSERT); /* back to wait-for-SIPI: no late start */
}

/* Wait until every CPU has taken `vector` at least want[i] times, then a
 * millisecond more for any extra one; true if the counts are exact. */
static bool counts_become(uint8_t vector, const uint32_t want[MAX_CPUS], uint32_t got[MAX_CPUS])
{
	uint64_t end = deadline_ms(200);
	for (;;) {
		bool all = true;
		for (unsigned i = 0; i < ncpus; i++)
			all &= cpus[i].count[vector - 32] >= want[i];
		if (all || rdtsc() > end)
			break;
		__asm__ volatile("pause");
	}
	delay_us(1000);
	bool exact = true;
	for (unsigned i = 0; i < ncpus; i++) {
		got[i] = cpus[i].count[vector - 32];
		exact &= got[i] == want[i];
	}
	return exact;
}

static char *append(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

/* "APIC id:got/want" per CPU, for a check's details. */
static const char *counts_str(const uint32_t want[MAX_CPUS], const uint32_t got[MAX_CPUS])
{
	static char buf[MAX_CPUS * 40];
	char num[21], *p = buf;
	for (unsigned i = 0; i < ncpus; i++) {
		p = append(p, i ? " APIC " : "APIC ");
		p = append(p, u64_dec(cpus[i].apic_id, num));
		p = append(p, ":");
		p = append(p, u64_dec(got[i], num));
		p = append(p, "/");
		p = append(p, u64_dec(want[i], num));
	}
	*p = 0;
	return buf;
}

static void snapshot(uint8_t vector, uint32_t out[MAX_CPUS])
{
	for (unsigned i = 0; i < ncpus; i++)
		out[i] = cpus[i].count[vector - 32];
}

/* 1000 round trips to the first AP, then one to each other AP. */
static void test_ping_pong(struct cpu *first)
{
	volatile uint32_t *pongs = &bsp->count[V_PONG - 32];
	uint32_t done = 0, base = *pongs;
	uint64_t t0 = rdtsc();
	for (; done < 1000; done++) {
		if (!send_fixed(first->apic_id, V_PING))
			break;
		uint64_t end = deadline_ms(100);
		while (*pongs == base + done && rdtsc() < end)
			__asm__ volatile("pause");
		if (*pongs == base + done)
			break;
	}
	uint64_t ticks = rdtsc() - t0;
	char num[21];
	if (done == 1000)
		gprintf("smp-guest: ipi roundtrips=1000 ticks=%s\n", u64_dec(ticks, num));
	check(done == 1000, "1000 IPI round trips BSP -> AP -> BSP (the AP halts in between)",
	      "APIC ID %u answered %u", first->apic_id, done);

	bool all = true;
	for (unsigned i = 0; i < ncpus; i++) {
		struct cpu *c = &cpus[i];
		if (c->is_bsp || !c->online)
			continue;
		if (c != first) {
			uint32_t before = *pongs;
			send_fixed(c->apic_id, V_PING);
			for (uint64_t end = deadline_ms(100); *pongs == before && rdtsc() < end;)
				__asm__ volatile("pause");
		}
		if (!c->count[V_PING - 32]) {
			all = false;
			gprintf("smp-guest: APIC ID %u did not answer a ping\n", c->apic_id);
		}
	}
	check(all, "every AP answers a ping with an IPI back", "");
}

/* The destination shorthand (11.6.1): "all excluding self" needs no
 * destination field and reaches every other CPU whose APIC is enabled. */
static void test_broadcast(void)
{
	uint32_t want[MAX_CPUS], got[MAX_CPUS];
	snapshot(V_BCAST, want);
	for (unsigned i = 0; i < ncpus; i++)
		want[i] += !cpus[i].is_bsp && cpus[i].online;
	send_ipi(0, ICR_FIXED | ICR_ASSERT | ICR_ALL_BUT_SELF | V_BCAST);
	bool ok = counts_become(V_BCAST, want, got);
	check(ok, "all-excluding-self reaches each AP once, not the sender", "%s", counts_str(want, got));
}

/* Logical destination mode, flat model (11.6.2.2): the destination field
 * is a mask, and a CPU accepts the IPI when (its LDR & mask) != 0. */
static void test_logical(struct cpu *first)
{
	uint32_t want[MAX_CPUS], got[MAX_CPUS];
	if (first->apic_id >= 8) {
		gprintf("smp-guest: first AP has APIC ID %u: no flat logical ID, logical test skipped\n",
			first->apic_id);
		return;
	}
	snapshot(V_LOGICAL, want);
	want[first - cpus]++;
	send_ipi(1u << first->apic_id, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | V_LOGICAL);
	bool ok = counts_become(V_LOGICAL, want, got);
	check(ok, "a logical IPI to the first AP's bit reaches only it", "mask 0x%x: %s",
	      1u << first->apic_id, counts_str(want, got));

	uint32_t mask = 0;
	snapshot(V_LOGICAL, want);
	for (unsigned i = 0; i < ncpus; i++)
		if (!cpus[i].is_bsp && cpus[i].online && cpus[i].apic_id < 8) {
			mask |= 1u << cpus[i].apic_id;
			want[i]++;
		}
	send_ipi(mask, ICR_FIXED | ICR_ASSERT | ICR_LOGICAL | V_LOGICAL);
	ok = counts_become(V_LOGICAL, want, got);
	check(ok, "a logical IPI to every AP's bit reaches each once, not the BSP", "mask 0x%x: %s", mask,
	      counts_str(want, got));
}

/* A TLB shoot-down (SDM Vol. 3A 4.10.5 "Propagation of Paging-Structure
 * Changes to Multiple Processors"). The TLBs are per CPU and no CPU sees
 * another's page-table writes in its own TLB: a CPU that changes a
 * translation the others may have cached must tell them, by IPI, to
 * invalidate it, and wait until all have before it treats the old page as
 * unused. Here: one page directory for all CPUs; the test address maps
 * page A; every CPU reads it (caching the translation); the BSP remaps it
 * to page B, INVLPGs locally (4.10.4.1) and sends the shoot-down. */
static void test_tlb_shootdown(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	if (!(r[3] & (1u << 3))) {
		check(false, "CPUID.01H:EDX.PSE: 4 MiB pages", "edx 0x%x", r[3]);
		return;
	}
	for (uint32_t i = 0; i < 16; i++) /* identity map of 0..64 MiB: the guest, stacks, tables */
		page_dir[i] = (i << 22) | PDE_PS | PTE_RW | PTE_P;
	/* The local APIC's 4 MiB (0xfec00000..0xff000000) identity mapped,
	 * uncached: it is MMIO. */
	page_dir[LAPIC_BASE >> 22] = (LAPIC_BASE & 0xffc00000u) | PDE_PS | PTE_PCD | PTE_PWT | PTE_RW | PTE_P;
	page_dir[TEST_VA >> 22] = (uint32_t)page_table | PTE_RW | PTE_P;
	page_a[0] = 0xaaaa;
	page_b[0] = 0xbbbb;
	volatile uint32_t *pte = &page_table[(TEST_VA >> 12) & 1023];
	*pte = (uint32_t)page_a | PTE_RW | PTE_P;

	paging_on();
	uint32_t bsp_first = read_test_va();
	uint32_t want[MAX_CPUS], got[MAX_CPUS];
	snapshot(V_PAGING, want);
	for (unsigned i = 0; i < ncpus; i++)
		if (!cpus[i].is_bsp && cpus[i].online) {
			send_fixed(cpus[i].apic_id, V_PAGING);
			want[i]++;
		}
	bool ok = counts_become(V_PAGING, want, got);
	for (unsigned i = 0; i < ncpus; i++)
		if (!cpus[i].is_bsp && cpus[i].online)
			ok &= cpus[i].read_first == 0xaaaa;
	check(ok && bsp_first == 0xaaaa, "paging on on every CPU; each reads 0xaaaa at the test address",
	      "BSP 0x%x; %s", bsp_first, counts_str(want, got));

	*pte = (uint32_t)page_b | PTE_RW | PTE_P;
	invlpg(TEST_VA);
	uint32_t bsp_after = read_test_va();
	check(bsp_after == 0xbbbb, "after the PTE change and INVLPG the BSP reads 0xbbbb", "0x%x", bsp_after);

	snapshot(V_SHOOTDOWN, want);
	for (unsigned i = 0; i < ncpus; i++)
		want[i] += !cpus[i].is_bsp && cpus[i].online;
	send_ipi(0, ICR_FIXED | ICR_ASSERT | ICR_ALL_BUT_SELF | V_SHOOTDOWN);
	ok = counts_become(V_SHOOTDOWN, want, got);
	bool all_b = true;
	for (unsigned i = 0; i < ncpus; i++) {
		struct cpu *c = &cpus[i];
		if (c->is_bsp || !c->online)
			continue;
		gprintf("smp-guest: APIC ID %u: before its INVLPG it read 0x%x%s, after 0x%x\n", c->apic_id,
			c->read_stale, c->read_stale == 0xaaaa ? " (the stale TLB entry)" : "", c->read_after);
		all_b &= c->read_after == 0xbbbb;
	}
	check(ok && all_b, "after the shoot-down IPI every AP reads 0xbbbb", "%s", counts_str(want, got));
}

void guest_main(uint32_t magic, uint32_t mb_info)
{
	(void)magic;
	gprintf("smp-guest: ACPI MADT, INIT-SIPI-SIPI, IPIs, TLB shoot-down\n");
	uint32_t want_cpus = cmdline_cpus(mb_info);

	uint32_t madt_lapic = 0;
	unsigned listed = find_cpus(&madt_lapic);
	if (want_cpus)
		check(listed == want_cpus, "the MADT lists as many enabled CPUs as cpus= says",
		      "%u listed, cpus=%u", listed, want_cpus);
	else
		check(listed >= 2, "the MADT lists at least 2 enabled CPUs", "%u listed", listed);

	/* The BSP's local APIC: present (CPUID.01H:EDX bit 9), globally
	 * enabled at its default base, and this CPU is the BSP (9.4.1). */
	uint32_t r[4];
	cpuid(1, 0, r);
	uint32_t apic_base = rdmsr_lo(MSR_IA32_APIC_BASE);
	check((r[3] & (1u << 9)) && (apic_base & APIC_BASE_ENABLE) && (apic_base & APIC_BASE_BSP) &&
		      (apic_base & 0xfffff000u) == LAPIC_BASE && madt_lapic == LAPIC_BASE,
	      "BSP: local APIC present, enabled, BSP flag set, at 0xfee00000 as the MADT says",
	      "IA32_APIC_BASE 0x%x, MADT 0x%x", apic_base, madt_lapic);
	bsp = cpu_by_apic_id(lapic_id());
	check(bsp && bsp->apic_id == r[1] >> 24, "BSP: its APIC ID (LAPIC and CPUID) is in the MADT",
	      "LAPIC %u, CPUID %u", lapic_id(), r[1] >> 24);
	if (!bsp || ncpus < 2) {
		gprintf("smp-guest: %s\n", bsp ? "one CPU: no AP to start" : "cannot tell which CPU this is");
		checks_summary();
		return;
	}
	bsp->is_bsp = true;
	bsp->online = true;

	/* Interrupts from now on come from the local APICs only: mask the 8259s
	 * (the BIOS leaves its timer on, at a vector that is an exception here). */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	guest_irq_hook = ipi_hook;
	lapic_enable(bsp->apic_id);
	__asm__ volatile("sidt %0" : "=m"(shared_idtr));
	calibrate_tsc();

	uint32_t page = free_low_page(mb_info);
	check(page != 0, "a free page below 1 MiB for the AP start-up code", "0x%x", page);
	if (!page) {
		checks_summary();
		return;
	}
	uint32_t tsize = (uint32_t)(ap_trampoline_end - ap_trampoline_start);
	for (uint32_t i = 0; i < tsize; i++)
		((volatile uint8_t *)page)[i] = (uint8_t)ap_trampoline_start[i];
	gprintf("smp-guest: AP start-up code at 0x%x (STARTUP vector 0x%x), %u bytes\n", page, page >> 12,
		tsize);

	unsigned aps = 0;
	uint64_t t0 = rdtsc();
	for (unsigned i = 0; i < ncpus; i++)
		if (!cpus[i].is_bsp) {
			aps++;
			start_ap(&cpus[i], page);
		}
	char num[21];
	gprintf("smp-guest: %u of %u APs arrived in %s TSC ticks\n", arrived, aps, u64_dec(rdtsc() - t0, num));
	__asm__ volatile("sti");

	struct cpu *first = 0;
	for (unsigned i = 0; i < ncpus; i++) {
		struct cpu *c = &cpus[i];
		if (c->is_bsp)
			continue;
		check(c->online && c->cpuid_id == c->apic_id && c->lapic_id == c->apic_id &&
			      (c->apic_base & APIC_BASE_ENABLE) && !(c->apic_base & APIC_BASE_BSP),
		      "AP started: CPUID and LAPIC IDs agree with the MADT, IA32_APIC_BASE.BSP clear",
		      "APIC ID %u: %s, %u STARTUP IPI(s)%s, arrival %u, CPUID %u, LAPIC %u, APIC_BASE 0x%x",
		      c->apic_id, c->online ? "online" : "did not arrive", c->sipis,
		      c->real_mode_seen ? "" : " (never reached real mode)", c->arrival, c->cpuid_id,
		      c->lapic_id, c->apic_base);
		if (c->online && !first)
			first = c;
	}
	if (stray_aps)
		gprintf("smp-guest: %u CPUs not in the MADT started (the last: APIC ID %u)\n", stray_aps,
			stray_apic_id);
	check(arrived == aps && !stray_aps, "every CPU the MADT lists arrived, and no other",
	      "%u of %u APs", arrived, aps);
	if (!first) {
		checks_summary();
		return;
	}

	test_ping_pong(first);
	test_broadcast();
	test_logical(first);
	test_tlb_shootdown();

	/* The error status register: write to latch, then read (11.5.3). */
	lapic_w(LAPIC_ESR, 0);
	uint32_t esr = lapic_r(LAPIC_ESR);
	check(esr == 0, "the BSP's APIC error status is clear", "ESR 0x%x", esr);
	if (spurious)
		gprintf("smp-guest: %u spurious interrupts\n", spurious);
	checks_summary();
}
