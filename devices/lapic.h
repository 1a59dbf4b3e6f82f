/* The local APIC of one vCPU (Intel SDM Vol. 3A chapter 11), as an xAPIC
 * (a 4 KiB MMIO page, SDM 11.4.1) and as an x2APIC (MSRs 800H-8FFH, SDM
 * 11.12). One register file, two ways in. Pure logic: the vCPU code calls in
 * when the guest touches the page or the MSRs, when it is about to inject an
 * event, and when time has passed; the LAPIC calls out through struct
 * lapic_ops to send IPIs, to broadcast EOIs to the IOAPICs and to wake its
 * vCPU. Not thread-safe: the caller serializes access to one VM's APICs.
 *
 * What the vCPU side does with it, once per VM entry:
 *
 *	lapic_update(l);                       fire timers that are due
 *	ev = lapic_pending_events(l);          INIT, SIPI, NMI, SMI, ExtINT
 *	lapic_take_init / _sipi / _nmi         when the CPU can take them
 *	lapic_take_extint(l)                   then INTA on the 8259 for the vector
 *	v = lapic_pending_vector(l);           a fixed interrupt above the PPR
 *	lapic_ack(l, v); inject v              when RFLAGS.IF allows (the INTA)
 *	lapic_next_deadline(l)                 when to come back (VMX-preemption timer)
 *
 * Emulated: every register of SDM Table 11-1 and Table 11-6 (APR and the
 * remote read register read 0), IA32_APIC_BASE with the state transitions of
 * SDM 11.12.5, IA32_TSC_DEADLINE, fixed/lowest-priority/NMI/SMI/INIT/SIPI/
 * ExtINT acceptance, TPR/PPR, EOI and EOI-broadcast suppression, the error
 * status register, the timer in all three modes, LINT0/LINT1, physical and
 * logical (flat, cluster, x2APIC cluster) destinations, every ICR shorthand
 * and the x2APIC SELF IPI.
 * Not emulated: the focus processor and the P6 arbitration priority (APR
 * reads 0, as on the Pentium 4 and later: SDM Table 11-1 note 1), remote
 * read (delivery mode 011B), the 82489DX and the P6 APIC bus, anything that
 * CMCI, thermal or performance-counter sources would need beyond
 * lapic_local_interrupt(). */
#ifndef DEVICES_LAPIC_H
#define DEVICES_LAPIC_H

#include "lib/types.h"
#include "lib/muldiv.h"
#include "devices/irq.h"
#include "arch/x86/cpu.h" /* MSR_IA32_APIC_BASE */

#define LAPIC_DEFAULT_BASE 0xFEE00000ULL /* IA32_APIC_BASE after reset (SDM 11.4.4) */
#define LAPIC_MMIO_SIZE 0x1000ULL

/* The clock the APIC timer counts (SDM 11.5.4: "the processor's bus clock or
 * core crystal clock frequency"). Ours is a fixed 1 GHz, one tick per
 * nanosecond, derived from the guest TSC: at guest TSC value t the bus clock
 * has ticked floor(t * LAPIC_BUS_HZ / tsc_hz) times. A guest calibrates it
 * against the PIT, or reads it from CPUID leaf 15H (ECX, the core crystal
 * clock) if the CPUID policy reports it. */
#define LAPIC_BUS_HZ 1000000000ULL

/* The version register (SDM 11.4.8, Figure 11-7): an integrated APIC
 * (version 14H, what KVM and most hardware of the x2APIC era report), seven
 * LVT entries (CMCI included: max LVT entry 6), and EOI-broadcast
 * suppression supported (bit 24), which the IOAPIC's EOI register (version
 * 20H, devices/ioapic.h) makes usable. */
#define LAPIC_VERSION 0x14u
#define LAPIC_MAX_LVT 6u
#define LAPIC_VERSION_REG (LAPIC_VERSION | (LAPIC_MAX_LVT << 16) | (1u << 24))

/* The MSRs this file answers (lapic_handles_msr). */
#define MSR_IA32_TSC_DEADLINE 0x6E0u
#define MSR_X2APIC_FIRST 0x800u
#define MSR_X2APIC_LAST 0x8FFu

/* IA32_APIC_BASE bits (SDM 11.4.4, Figure 11-5; 11.12.1 for EXTD). */
#define APIC_BASE_BSP BIT(8)
#define APIC_BASE_EXTD BIT(10)
#define APIC_BASE_EN BIT(11)

/* Error status register bits (SDM 11.5.3, Figure 11-9). */
#define APIC_ESR_SEND_ILLEGAL_VECTOR BIT(5)
#define APIC_ESR_RECEIVE_ILLEGAL_VECTOR BIT(6)
#define APIC_ESR_ILLEGAL_REGISTER BIT(7)

/* The local vector table, in the order of the registers' MSR numbers. */
enum lapic_lvt {
	LAPIC_LVT_CMCI,    /* 2F0H / 82FH */
	LAPIC_LVT_TIMER,   /* 320H / 832H */
	LAPIC_LVT_THERMAL, /* 330H / 833H */
	LAPIC_LVT_PERF,    /* 340H / 834H */
	LAPIC_LVT_LINT0,   /* 350H / 835H */
	LAPIC_LVT_LINT1,   /* 360H / 836H */
	LAPIC_LVT_ERROR,   /* 370H / 837H */
	LAPIC_LVT_COUNT
};

/* The three legal states of IA32_APIC_BASE[EN, EXTD] (SDM 11.12.5). */
enum lapic_mode {
	LAPIC_MODE_DISABLED, /* EN=0 EXTD=0: globally disabled */
	LAPIC_MODE_XAPIC,    /* EN=1 EXTD=0: MMIO page */
	LAPIC_MODE_X2APIC,   /* EN=1 EXTD=1: MSRs */
};

/* Events that are not vectors in the IRR (lapic_pending_events): the vCPU
 * takes each with its lapic_take_* when the CPU can accept it. */
#define LAPIC_EV_NMI BIT(0)
#define LAPIC_EV_INIT BIT(1)
#define LAPIC_EV_SIPI BIT(2)
#define LAPIC_EV_EXTINT BIT(3) /* ask the 8259 (INTA) for the vector */
#define LAPIC_EV_SMI BIT(4)    /* no SMM here: the vCPU may log and drop it */

/* What the LAPIC calls. Any of them may be NULL. */
struct lapic_ops {
	/* An IPI for other APICs (ICR without shorthand, all-including-self,
	 * all-excluding-self with exclude_source set): deliver it, usually
	 * with lapic_deliver() over the VM's APICs. Self IPIs never come
	 * here: the LAPIC accepts them itself. */
	void (*send_ipi)(void *ctx, const struct apic_msg *msg);
	/* An EOI for a level-triggered vector (TMR bit set) while the SVR does
	 * not suppress the broadcast (SDM 11.8.5): call ioapic_eoi(). */
	void (*eoi_broadcast)(void *ctx, uint8_t vector);
	/* Something became pending for this vCPU: wake it if it halted. */
	void (*kick)(void *ctx);
	void *ctx;
};

struct lapic_config {
	uint32_t apic_id;       /* initial APIC ID: 8 bits in xAPIC mode, 32 in x2APIC */
	bool bsp;               /* IA32_APIC_BASE.BSP */
	bool x2apic;            /* CPUID.01H:ECX.x2APIC[bit 21] is shown: EXTD may be set */
	uint8_t phys_addr_bits; /* MAXPHYADDR, for IA32_APIC_BASE's reserved bits; 0 = 36 */
	const struct vclock *clock; /* the guest TSC; NULL: the timer never fires */
	struct lapic_ops ops;
};

struct lapic {
	/* The register file (SDM Table 11-1), kept at the registers' xAPIC
	 * offsets in one 4 KiB page, 32 bits per 16-byte slot: ID, version,
	 * TPR, PPR, LDR, DFR, SVR, ISR, TMR, IRR, ESR, the LVT, ICR (x2APIC:
	 * bits 31:0 at 300H, 63:32 at 310H), initial count and divide
	 * configuration. Laid out so, the page is also the virtual-APIC page
	 * of APIC virtualization (SDM Vol. 3C 30.1): the CPU reads and writes
	 * VTPR, VPPR, VISR and VIRR here, and this model reads and writes the
	 * same words. One owner of IRR, ISR and TPR, whichever path runs. */
	uint32_t page[1024] ALIGNED(4096);

	/* Configuration, fixed at lapic_init. */
	uint32_t id;
	bool x2apic_capable;
	uint8_t phys_addr_bits;
	const struct vclock *clock;
	struct lapic_ops ops;

	uint64_t apic_base; /* IA32_APIC_BASE */

	uint32_t esr_pending; /* errors since the last ESR write (the page holds what the guest reads) */
	bool remote_irr[2];   /* LVT LINT0/LINT1 remote IRR; the page's bit 14 shows it */

	/* The timer (SDM 11.5.4). One-shot and periodic count down from
	 * timer_initial, one count per divisor bus ticks, starting at bus
	 * tick timer_start (the start of the current period); TSC-deadline
	 * mode fires when the guest TSC reaches tsc_deadline (0: disarmed). */
	uint32_t timer_initial, timer_dcr; /* the count and divisor running (also in the page) */
	uint32_t timer_lvt;                /* the LVT timer entry the count runs under (also in the page) */
	bool timer_armed;
	uint64_t timer_start;
	uint64_t tsc_deadline;

	bool lint_level[2]; /* the LINT0/LINT1 pins, as last set */

	/* Events latched for the vCPU (LAPIC_EV_*, without ExtINT from LINT0,
	 * which is a level and computed), and the last SIPI's vector. */
	unsigned events;
	uint8_t sipi_vector;
};

/* Power-up RESET (SDM 11.4.7.1): IA32_APIC_BASE = FEE00000H | EN (| BSP),
 * xAPIC mode, every register at its reset value. lapic_reset does it again
 * on the same configuration. */
void lapic_init(struct lapic *l, const struct lapic_config *cfg);
void lapic_reset(struct lapic *l);
/* What a PC BIOS leaves on the bootstrap processor for an OS that starts in
 * "virtual wire" mode (MultiProcessor Specification 1.4, 3.6.2.2): APIC
 * software-enabled, LINT0 ExtINT (the 8259 reaches the CPU), LINT1 NMI. For
 * guests booted without firmware. */
void lapic_setup_virtual_wire(struct lapic *l);

/* IA32_APIC_BASE (SDM 11.4.4, 11.12.5). set returns false where WRMSR
 * raises #GP: reserved bits, EXTD without x2APIC support, EN=0 with EXTD=1,
 * x2APIC to xAPIC, disabled to x2APIC. The BSP flag is read-only here. */
uint64_t lapic_get_base(const struct lapic *l);
bool lapic_set_base(struct lapic *l, uint64_t value);
enum lapic_mode lapic_mode(const struct lapic *l);

/* The xAPIC page, as bus_device callbacks (opaque = struct lapic; offset in
 * the page at lapic_get_base() & ~0xFFF, which the caller routes to the
 * accessing vCPU's APIC). Registers are 32 bits at 16-byte offsets (SDM
 * 11.4.1). A write counts when it starts at a register's offset and is 4 or
 * 8 bytes wide (bits 31:0 are written; the rest of the 16 bytes is
 * reserved); narrower or unaligned writes are dropped. A read of any size
 * returns, byte by byte, bytes 0-3 of each 16-byte slot from its register
 * and 0 for bytes 4-15. Offsets with no register set ESR bit 7 (illegal
 * register address). Outside xAPIC mode the page is not decoded (SDM
 * 11.12.2): reads return all ones and writes are dropped, as an unclaimed
 * address on our bus. */
uint64_t lapic_mmio_read(void *opaque, uint64_t offset, unsigned size);
void lapic_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

/* RDMSR/WRMSR of IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range.
 * false means #GP(0): any x2APIC MSR outside x2APIC mode (SDM 11.12.2), a
 * register that does not exist (SDM 11.12.1.2: 800H-801H, 804H-807H, APR
 * 809H, 80CH, DFR 80EH, 829H-82EH, ICR high 831H, 83AH-83DH, 840H-8FFH),
 * reading a write-only one (EOI, SELF IPI), writing a read-only one, a
 * non-zero reserved bit or a non-zero bits 63:32 outside the ICR (SDM
 * 11.12.1.3), a non-zero write to EOI or ESR. IA32_TSC_DEADLINE reads 0 and
 * ignores writes unless the LVT timer is in TSC-deadline mode (SDM
 * 11.5.4.1). */
bool lapic_handles_msr(uint32_t msr);
bool lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *value);
bool lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t value);

/* TPR for MOV to/from CR8 (SDM 11.8.6: CR8[3:0] is TPR[7:4]), and PPR. */
uint8_t lapic_get_tpr(const struct lapic *l);
void lapic_set_tpr(struct lapic *l, uint8_t tpr);
uint8_t lapic_get_ppr(const struct lapic *l);

/* An interrupt message addressed to this APIC (the caller has matched the
 * destination). Fixed and lowest priority set the IRR bit, and the TMR bit
 * for level trigger, or clear it for edge (SDM 11.8.4); vectors 0-15 are
 * refused with ESR bit 6 (SDM 11.5.2); a software-disabled APIC ignores
 * them (SDM 11.4.7.2). NMI, SMI, INIT, SIPI and ExtINT are latched as
 * LAPIC_EV_*; an INIT level de-assert is ignored (SDM 11.6.1). A globally
 * disabled APIC accepts nothing. */
void lapic_accept(struct lapic *l, const struct apic_msg *msg);

/* The highest IRR vector whose priority class (vector bits 7:4) is above
 * the PPR's (SDM 11.8.3.1), or -1. */
int lapic_pending_vector(const struct lapic *l);
/* The processor takes `vector` (INTA): IRR bit to ISR bit (SDM 11.8.4). */
void lapic_ack(struct lapic *l, uint8_t vector);

/* LAPIC_EV_* now pending, without consuming them. */
unsigned lapic_pending_events(const struct lapic *l);
bool lapic_take_nmi(struct lapic *l);
bool lapic_take_smi(struct lapic *l);
/* True once per INIT; it also applies INIT to this APIC (SDM 11.4.7.3:
 * registers reset, ID, IA32_APIC_BASE and mode kept). The caller resets the
 * CPU and puts it in wait-for-SIPI. A SIPI latched meanwhile is kept. */
bool lapic_take_init(struct lapic *l);
/* True once per SIPI, with its vector (the start page, 11.6.1). */
bool lapic_take_sipi(struct lapic *l, uint8_t *vector);
/* True while an ExtINT is pending: a latched ExtINT message (consumed) or
 * LINT0/LINT1 programmed ExtINT and asserted (a level: true again as long as
 * the 8259 holds INTR). The caller then runs the 8259's INTA cycle. */
bool lapic_take_extint(struct lapic *l);

/* Does a message for `dest` (physical APIC ID, or logical when `logical`)
 * address this APIC (SDM 11.6.2, 11.12.10)? xAPIC: physical 8-bit ID, 0xFF
 * broadcast; logical flat (DFR model 1111B: MDA AND logical ID), cluster
 * (0000B: cluster nibble equal and member bits in common), MDA 0xFF
 * broadcast. x2APIC: physical 32-bit ID; logical cluster (LDR[31:16] equal,
 * LDR[15:0] bits in common). APIC_BROADCAST matches in every mode. A
 * globally disabled APIC matches nothing. */
bool lapic_matches(const struct lapic *l, uint32_t dest, bool logical);
/* Delivers msg to every APIC of lapics[0..n) it addresses (skipping the
 * sender for exclude_source). Lowest priority goes to one of them: the
 * software-enabled one with the lowest PPR, the first in array order on a
 * tie (SDM 11.6.2.4 leaves the choice to the platform). Returns how many
 * APICs were handed the message. */
unsigned lapic_deliver(struct lapic *const *lapics, unsigned n, const struct apic_msg *msg);

/* The LINT0/LINT1 pins (irq_line-compatible: opaque = struct lapic, pin 0
 * or 1). `level` is the electrical level; the sources on a PC (the 8259's
 * INTR, the NMI logic) drive them active-high, so pass "asserted". The LVT
 * entry decides (SDM 11.5.1): its polarity bit inverts the level, fixed
 * mode delivers on the rising edge (or, level-triggered on LINT0, while
 * active and remote IRR is clear, until the EOI), NMI/SMI/INIT on the
 * rising edge, ExtINT while active. Masked entries ignore the pin. With the
 * APIC globally disabled, LINT0 is the CPU's INTR (ExtINT) and LINT1 its
 * NMI (SDM 11.4.3). */
void lapic_set_lint(void *opaque, unsigned pin, bool level);

/* A CMCI, thermal or performance-monitoring event (or any LVT entry): deliver
 * what the LVT entry says, unless it is masked. */
void lapic_local_interrupt(struct lapic *l, enum lapic_lvt lvt);

/* The timer. next_deadline is the guest TSC at which lapic_update has work
 * to do (an unmasked timer expires), or VCLOCK_NEVER. update fires what has
 * expired by now: the LVT timer vector into the IRR, unless masked; a
 * periodic timer restarts from the exact end of its last period (no drift;
 * periods missed while nobody called coalesce into one interrupt). */
uint64_t lapic_next_deadline(const struct lapic *l);
void lapic_update(struct lapic *l);

/* --- APIC virtualization (SDM Vol. 3C chapter 30): the vCPU code gives
 * the CPU this APIC's page as the virtual-APIC page, and calls these. --- */

/* An APIC-write VM exit at page offset `offset` (SDM 30.4.3.3): the guest's
 * write is already in the page; carry out its side effects (IPIs, timer,
 * LVT, SVR...) and restore what read-only registers and reserved bits must
 * show. false where the register would have refused the write. */
bool lapic_apic_write(struct lapic *l, unsigned offset);
/* An EOI-induced VM exit for `vector` (SDM 30.1.4): the CPU has cleared its
 * ISR bit; tell the level-triggered sources. */
void lapic_eoi_virtualized(struct lapic *l, uint8_t vector);
/* The EOI-exit bitmap (SDM 25.6.8): the vectors whose EOI must exit to this
 * model, the level-triggered ones (TMR). Vector v is bit v % 64 of word v / 64. */
void lapic_eoi_exit_bitmap(const struct lapic *l, uint64_t bitmap[4]);
/* The guest interrupt status for the page's state: SVI (highest ISR vector)
 * in bits 15:8, RVI (highest IRR vector) in bits 7:0 (SDM 25.4.2). */
uint16_t lapic_guest_interrupt_status(const struct lapic *l);
/* Write the PPR the page's TPR and ISR give into the page (VPPR), for the
 * CPU; the model's own PPR reads do not use the word. */
void lapic_update_ppr(struct lapic *l);
/* Whether an x2APIC RDMSR of msr may be served from the page by
 * APIC-register virtualization without an exit (SDM 30.5): the page holds
 * exactly what the guest must read. */
bool lapic_x2apic_read_from_page(uint32_t msr);

#endif
