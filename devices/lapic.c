/* The local APIC: see lapic.h for what is emulated and how the vCPU uses it.
 * Section numbers are the Intel SDM Vol. 3A, chapter 11. */
#include "devices/lapic.h"
#include "devices/bus.h"
#include "lib/string.h"

/* --- Register offsets in the xAPIC page (SDM Table 11-1). The x2APIC MSR
 * of a register is 800H + offset / 16 (SDM 11.12.1.2). */
#define REG_ID 0x020
#define REG_VERSION 0x030
#define REG_TPR 0x080
#define REG_APR 0x090
#define REG_PPR 0x0A0
#define REG_EOI 0x0B0
#define REG_RRD 0x0C0
#define REG_LDR 0x0D0
#define REG_DFR 0x0E0
#define REG_SVR 0x0F0
#define REG_ISR 0x100 /* 8 registers, to 170H */
#define REG_TMR 0x180 /* to 1F0H */
#define REG_IRR 0x200 /* to 270H */
#define REG_ESR 0x280
#define REG_LVT_CMCI 0x2F0
#define REG_ICR_LOW 0x300
#define REG_ICR_HIGH 0x310
#define REG_LVT_TIMER 0x320 /* then thermal, perf, LINT0, LINT1, error, 16 bytes apart */
#define REG_LVT_ERROR 0x370
#define REG_TIMER_INITIAL 0x380
#define REG_TIMER_CURRENT 0x390
#define REG_TIMER_DCR 0x3E0
#define REG_SELF_IPI 0x3F0 /* x2APIC only (SDM 11.12.11) */

#define MSR_TO_REG(msr) (((msr) - MSR_X2APIC_FIRST) << 4)

/* Spurious-interrupt vector register (SDM 11.9, Figure 11-23). Bit 9 (focus
 * processor checking) is kept but has no effect. */
#define SVR_VECTOR 0xFFu
#define SVR_APIC_ENABLED BIT(8)
#define SVR_FOCUS_DISABLED BIT(9)
#define SVR_EOI_BROADCAST_SUPPRESSION BIT(12)
#define SVR_WRITABLE (SVR_VECTOR | SVR_APIC_ENABLED | SVR_FOCUS_DISABLED | SVR_EOI_BROADCAST_SUPPRESSION)

/* LVT entry fields (SDM 11.5.1, Figure 11-8). */
#define LVT_VECTOR 0xFFu
#define LVT_DELIVERY_MODE (7u << 8)
#define LVT_DELIVERY_STATUS BIT(12) /* read-only; always idle here */
#define LVT_POLARITY_LOW BIT(13)
#define LVT_REMOTE_IRR BIT(14) /* read-only */
#define LVT_LEVEL BIT(15)
#define LVT_MASKED BIT(16)
#define LVT_TIMER_MODE (3u << 17)
#define TIMER_ONE_SHOT 0u
#define TIMER_PERIODIC 1u
#define TIMER_TSC_DEADLINE 2u /* 3 is reserved: we run it as one-shot */

/* Which bits of each LVT register software writes, and which exist at all:
 * a WRMSR setting any other bit raises #GP (SDM 11.12.1.3). */
static const uint32_t lvt_writable[LAPIC_LVT_COUNT] = {
	[LAPIC_LVT_CMCI] = LVT_VECTOR | LVT_DELIVERY_MODE | LVT_MASKED,
	[LAPIC_LVT_TIMER] = LVT_VECTOR | LVT_MASKED | LVT_TIMER_MODE,
	[LAPIC_LVT_THERMAL] = LVT_VECTOR | LVT_DELIVERY_MODE | LVT_MASKED,
	[LAPIC_LVT_PERF] = LVT_VECTOR | LVT_DELIVERY_MODE | LVT_MASKED,
	[LAPIC_LVT_LINT0] = LVT_VECTOR | LVT_DELIVERY_MODE | LVT_POLARITY_LOW | LVT_LEVEL | LVT_MASKED,
	[LAPIC_LVT_LINT1] = LVT_VECTOR | LVT_DELIVERY_MODE | LVT_POLARITY_LOW | LVT_LEVEL | LVT_MASKED,
	[LAPIC_LVT_ERROR] = LVT_VECTOR | LVT_MASKED,
};

static uint32_t lvt_defined(enum lapic_lvt i)
{
	uint32_t ro = LVT_DELIVERY_STATUS;
	if (i == LAPIC_LVT_LINT0 || i == LAPIC_LVT_LINT1)
		ro |= LVT_REMOTE_IRR;
	return lvt_writable[i] | ro;
}

/* Interrupt command register (SDM 11.6.1, Figure 11-12; 11.12.9). */
#define ICR_VECTOR 0xFFu
#define ICR_LOGICAL BIT(11)
#define ICR_ASSERT BIT(14)
#define ICR_LEVEL BIT(15)
#define ICR_SHORTHAND_SHIFT 18
#define ICR_LOW_WRITABLE 0x000CCFFFu /* vector, mode, dest mode, level, trigger, shorthand */
#define ICR_HIGH_WRITABLE 0xFF000000u /* xAPIC destination, bits 63:56 */
#define SHORTHAND_NONE 0
#define SHORTHAND_SELF 1
#define SHORTHAND_ALL_INCLUDING_SELF 2
#define SHORTHAND_ALL_EXCLUDING_SELF 3

#define LDR_XAPIC_WRITABLE 0xFF000000u /* logical APIC ID, bits 31:24 (SDM 11.6.2.2) */
#define DFR_MODEL_SHIFT 28
#define DFR_RESERVED_ONES 0x0FFFFFFFu /* bits 27:0 read as ones */
#define DFR_FLAT 0xFu
#define DFR_CLUSTER 0x0u
#define TIMER_DCR_WRITABLE 0xBu /* bits 0, 1, 3 (SDM 11.5.4, Figure 11-10) */

/* --- Bit arrays: IRR, ISR, TMR (256 bits as 8 x 32, SDM 11.8.4) ---------- */

/* Registers live in the register page at their xAPIC offsets (lapic.h):
 * R(l, REG_TPR) is the TPR. A 256-bit array starting at `base` keeps vector
 * v's bit at bit v % 32 of the register at base + (v / 32) * 16 (SDM 11.8.4;
 * the same layout as VIRR/VISR, SDM Vol. 3C 30.1.1). */
#define R(l, off) ((l)->page[(off) >> 2])

static unsigned lvt_reg(enum lapic_lvt i)
{
	return i == LAPIC_LVT_CMCI ? REG_LVT_CMCI : REG_LVT_TIMER + 0x10 * (unsigned)(i - LAPIC_LVT_TIMER);
}
#define LVT(l, i) R(l, lvt_reg(i))

static uint32_t *vec_word(uint32_t *page, unsigned base, unsigned v) { return &page[(base >> 2) + (v / 32) * 4]; }
static bool bit_test(const struct lapic *l, unsigned base, unsigned v)
{
	return l->page[(base >> 2) + (v / 32) * 4] & (1u << (v % 32));
}
/* Locked read-modify-writes: with APIC virtualization another CPU may be
 * running this vCPU, and its virtual-interrupt delivery and EOI
 * virtualization update VIRR and VISR in the same words (SDM Vol. 3C
 * 30.2.2, 30.1.4) while we set an IRR bit for an IPI. */
static void bit_set(struct lapic *l, unsigned base, unsigned v)
{
	__atomic_fetch_or(vec_word(l->page, base, v), 1u << (v % 32), __ATOMIC_SEQ_CST);
}
static void bit_clear(struct lapic *l, unsigned base, unsigned v)
{
	__atomic_fetch_and(vec_word(l->page, base, v), ~(1u << (v % 32)), __ATOMIC_SEQ_CST);
}

static int highest_bit(const struct lapic *l, unsigned base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = l->page[(base >> 2) + (unsigned)i * 4];
		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

/* --- State ---------------------------------------------------------------- */

enum lapic_mode lapic_mode(const struct lapic *l)
{
	if (!(l->apic_base & APIC_BASE_EN))
		return LAPIC_MODE_DISABLED;
	return (l->apic_base & APIC_BASE_EXTD) ? LAPIC_MODE_X2APIC : LAPIC_MODE_XAPIC;
}

static bool hw_enabled(const struct lapic *l) { return l->apic_base & APIC_BASE_EN; }
static bool sw_enabled(const struct lapic *l) { return R(l, REG_SVR) & SVR_APIC_ENABLED; }
static bool x2apic_mode(const struct lapic *l) { return lapic_mode(l) == LAPIC_MODE_X2APIC; }

/* Logical x2APIC ID (SDM 11.12.10.2): cluster = ID[19:4] in bits 31:16, and
 * bit ID[3:0] set in bits 15:0. */
static uint32_t x2apic_ldr(uint32_t id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xF));
}

/* The ID register as the guest reads it in the current mode (SDM 11.4.6,
 * 11.12.5.1), and in x2APIC mode the LDR derived from it (11.12.10.2): kept
 * in the page, where APIC-register virtualization reads them. */
static void publish_id(struct lapic *l)
{
	bool x2 = x2apic_mode(l);
	R(l, REG_ID) = x2 ? l->id : (l->id & 0xFF) << 24;
	if (x2)
		R(l, REG_LDR) = x2apic_ldr(l->id);
}

static void kick(struct lapic *l)
{
	if (l->ops.kick)
		l->ops.kick(l->ops.ctx);
}

/* The PPR may have dropped (EOI, a lower TPR): an interrupt waiting in the
 * IRR behind it can be delivered now, so the vCPU must look again. */
static void ppr_lowered(struct lapic *l)
{
	if (highest_bit(l, REG_IRR) >= 0)
		kick(l);
}


/* The registers as after power-up or INIT (SDM 11.4.7.1, 11.4.7.3 and
 * 11.12.5.1): IRR, ISR, TMR, ICR, LDR, TPR, timer counts and divide
 * configuration 0; DFR all ones; every LVT entry masked; SVR 000000FFH
 * (software-disabled). The ID, IA32_APIC_BASE and the version stay. Latched
 * NMI, SMI and ExtINT go with the reset; INIT and SIPI are the caller's. */
static void reset_registers(struct lapic *l)
{
	/* The whole page: IRR, ISR, TMR and every register in one go (with
	 * APIC virtualization this is also the virtual-APIC page, so its
	 * VIRR/VISR/VTPR are cleared with it). */
	memset(l->page, 0, sizeof(l->page));
	publish_id(l);
	R(l, REG_VERSION) = LAPIC_VERSION_REG;
	R(l, REG_DFR) = 0xFFFFFFFFu;
	R(l, REG_SVR) = SVR_VECTOR;
	l->esr_pending = 0;
	for (unsigned i = 0; i < LAPIC_LVT_COUNT; i++)
		LVT(l, i) = LVT_MASKED;
	l->remote_irr[0] = l->remote_irr[1] = false;
	l->timer_initial = l->timer_dcr = 0;
	l->timer_lvt = LVT_MASKED;
	l->timer_armed = false;
	l->timer_start = 0;
	l->tsc_deadline = 0;
	l->events &= ~(LAPIC_EV_NMI | LAPIC_EV_SMI | LAPIC_EV_EXTINT);
}

void lapic_init(struct lapic *l, const struct lapic_config *cfg)
{
	memset(l, 0, sizeof(*l));
	l->id = cfg->apic_id;
	l->x2apic_capable = cfg->x2apic;
	l->phys_addr_bits = cfg->phys_addr_bits ? cfg->phys_addr_bits : 36;
	if (l->phys_addr_bits > 52)
		l->phys_addr_bits = 52;
	l->clock = cfg->clock;
	l->ops = cfg->ops;
	l->apic_base = LAPIC_DEFAULT_BASE | APIC_BASE_EN | (cfg->bsp ? APIC_BASE_BSP : 0);
	reset_registers(l);
}

void lapic_reset(struct lapic *l)
{
	l->apic_base = LAPIC_DEFAULT_BASE | APIC_BASE_EN | (l->apic_base & APIC_BASE_BSP);
	reset_registers(l);
	l->events = 0;
}

/* --- Priorities (SDM 11.8.3.1) ------------------------------------------- */

/* PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] with bits 3:0 clear,
 * where ISRV is the highest vector in service (0 if none). */
static uint8_t ppr(const struct lapic *l)
{
	int isrv = highest_bit(l, REG_ISR);
	uint8_t isr_class = isrv < 0 ? 0 : (uint8_t)(isrv & 0xF0);
	return (R(l, REG_TPR) & 0xF0) >= isr_class ? (uint8_t)R(l, REG_TPR) : isr_class;
}

uint8_t lapic_get_ppr(const struct lapic *l) { return ppr(l); }
uint8_t lapic_get_tpr(const struct lapic *l) { return (uint8_t)R(l, REG_TPR); }
void lapic_set_tpr(struct lapic *l, uint8_t tpr)
{
	R(l, REG_TPR) = tpr;
	ppr_lowered(l);
}

/* The model computes PPR where it needs it (ppr()); the page's word is for
 * the CPU, which keeps it itself for what it virtualizes (VPPR, SDM Vol. 3C
 * 30.1.3) by the same rule. */
void lapic_update_ppr(struct lapic *l) { R(l, REG_PPR) = ppr(l); }

int lapic_pending_vector(const struct lapic *l)
{
	if (!hw_enabled(l))
		return -1;
	int v = highest_bit(l, REG_IRR);
	if (v < 0 || (v & 0xF0) <= (ppr(l) & 0xF0))
		return -1;
	return v;
}

void lapic_ack(struct lapic *l, uint8_t vector)
{
	if (!bit_test(l, REG_IRR, vector))
		return;
	bit_clear(l, REG_IRR, vector);
	bit_set(l, REG_ISR, vector);
}

/* --- Errors (SDM 11.5.3) -------------------------------------------------- */

/* Errors collect in esr_pending whatever the LVT error entry says; a write to
 * the ESR moves them to what the guest reads. An unmasked LVT error entry
 * raises its vector for each error. */
static void apic_error(struct lapic *l, uint32_t bits)
{
	l->esr_pending |= bits;
	uint32_t lvt = LVT(l, LAPIC_LVT_ERROR);
	if (lvt & LVT_MASKED)
		return;
	uint8_t v = lvt & LVT_VECTOR;
	if (v < 16) { /* an illegal vector in the LVT itself (SDM 11.5.3) */
		l->esr_pending |= APIC_ESR_RECEIVE_ILLEGAL_VECTOR;
		return;
	}
	bit_set(l, REG_IRR, v);
	bit_clear(l, REG_TMR, v);
	kick(l);
}

/* --- Acceptance (SDM 11.8.4, 11.6.3) --------------------------------------- */

/* A fixed interrupt into the IRR: vectors 0-15 are illegal (SDM 11.5.2). */
static void accept_fixed(struct lapic *l, uint8_t vector, bool level)
{
	if (vector < 16) {
		apic_error(l, APIC_ESR_RECEIVE_ILLEGAL_VECTOR);
		return;
	}
	bit_set(l, REG_IRR, vector);
	if (level)
		bit_set(l, REG_TMR, vector);
	else
		bit_clear(l, REG_TMR, vector);
	kick(l);
}

static void latch(struct lapic *l, unsigned event)
{
	l->events |= event;
	kick(l);
}

void lapic_accept(struct lapic *l, const struct apic_msg *msg)
{
	if (!hw_enabled(l))
		return;
	switch (msg->mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		/* A software-disabled APIC answers INIT, NMI, SMI and SIPI
		 * only (SDM 11.4.7.2). */
		if (sw_enabled(l))
			accept_fixed(l, msg->vector, msg->level_triggered);
		break;
	case APIC_DM_SMI:
		latch(l, LAPIC_EV_SMI);
		break;
	case APIC_DM_NMI:
		latch(l, LAPIC_EV_NMI);
		break;
	case APIC_DM_INIT:
		/* Level-triggered with level 0 is "INIT level de-assert", an
		 * arbitration-ID synchronization the Pentium 4 and later do not
		 * support (SDM 11.6.1): nothing to do. */
		if (msg->level_triggered && !msg->assert)
			break;
		latch(l, LAPIC_EV_INIT);
		break;
	case APIC_DM_STARTUP:
		l->sipi_vector = msg->vector;
		latch(l, LAPIC_EV_SIPI);
		break;
	case APIC_DM_EXTINT:
		latch(l, LAPIC_EV_EXTINT);
		break;
	default: /* 011B (remote read, P6 only) is not emulated */
		break;
	}
}

/* --- LINT0/LINT1 (SDM 11.5.1) --------------------------------------------- */

static bool lint_active(const struct lapic *l, unsigned pin)
{
	bool level = l->lint_level[pin];
	return (LVT(l, LAPIC_LVT_LINT0 + pin) & LVT_POLARITY_LOW) ? !level : level;
}

static unsigned lvt_mode(uint32_t lvt) { return (lvt & LVT_DELIVERY_MODE) >> 8; }

/* Level-sensitive fixed interrupts exist on LINT0 only ("level-sensitive
 * interrupts are not supported for LINT1", SDM 11.5.1). */
static bool lint_level_fixed(const struct lapic *l, unsigned pin)
{
	uint32_t lvt = LVT(l, LAPIC_LVT_LINT0 + pin);
	return pin == 0 && lvt_mode(lvt) == APIC_DM_FIXED && (lvt & LVT_LEVEL);
}

/* What an LVT entry sends when its source fires. level: LINT0 fixed
 * level-triggered. Delivery modes an LVT entry cannot use (lowest priority,
 * SIPI, 011B; ExtINT and INIT outside LINT0/LINT1) do nothing. */
static void lvt_fire(struct lapic *l, enum lapic_lvt i, bool level)
{
	uint32_t lvt = i == LAPIC_LVT_TIMER ? l->timer_lvt : LVT(l, i);
	if (lvt & LVT_MASKED)
		return;
	unsigned mode = (i == LAPIC_LVT_TIMER || i == LAPIC_LVT_ERROR) ? APIC_DM_FIXED : lvt_mode(lvt);
	bool lint = i == LAPIC_LVT_LINT0 || i == LAPIC_LVT_LINT1;
	switch (mode) {
	case APIC_DM_FIXED:
		accept_fixed(l, lvt & LVT_VECTOR, level);
		break;
	case APIC_DM_SMI:
		latch(l, LAPIC_EV_SMI);
		break;
	case APIC_DM_NMI:
		latch(l, LAPIC_EV_NMI);
		break;
	case APIC_DM_INIT:
		if (lint)
			latch(l, LAPIC_EV_INIT);
		break;
	default:
		break;
	}
}

/* A level-triggered LINT0 delivers while active and remote IRR is clear;
 * remote IRR stays set until the EOI of its vector (SDM 11.5.1). */
static void lint_check_level(struct lapic *l, unsigned pin)
{
	uint32_t *lvt = &LVT(l, LAPIC_LVT_LINT0 + pin);
	if (!lint_level_fixed(l, pin) || (*lvt & LVT_MASKED) || l->remote_irr[pin] || !lint_active(l, pin))
		return;
	uint8_t v = *lvt & LVT_VECTOR;
	lvt_fire(l, LAPIC_LVT_LINT0 + pin, true);
	if (v >= 16) {
		l->remote_irr[pin] = true;
		*lvt |= LVT_REMOTE_IRR;
	}
}

void lapic_set_lint(void *opaque, unsigned pin, bool level)
{
	struct lapic *l = opaque;
	if (pin > 1)
		return;
	bool was = l->lint_level[pin];
	l->lint_level[pin] = level;
	if (!hw_enabled(l)) {
		/* Without the APIC, LINT0 is INTR (lapic_take_extint reads the
		 * level) and LINT1 is NMI, edge-triggered (SDM 11.4.3). */
		if (pin == 1 && !was && level)
			latch(l, LAPIC_EV_NMI);
		else if (pin == 0 && level)
			kick(l);
		return;
	}
	uint32_t lvt = LVT(l, LAPIC_LVT_LINT0 + pin);
	bool low = lvt & LVT_POLARITY_LOW;
	bool rising = (low ? was && !level : !was && level);
	if (lvt & LVT_MASKED)
		return;
	switch (lvt_mode(lvt)) {
	case APIC_DM_FIXED:
		if (lint_level_fixed(l, pin))
			lint_check_level(l, pin);
		else if (rising)
			lvt_fire(l, LAPIC_LVT_LINT0 + pin, false);
		break;
	case APIC_DM_EXTINT: /* always level-sensitive: lapic_take_extint reads it */
		if (lint_active(l, pin))
			kick(l);
		break;
	default: /* NMI, SMI, INIT: always edge-sensitive */
		if (rising)
			lvt_fire(l, LAPIC_LVT_LINT0 + pin, false);
		break;
	}
}

void lapic_local_interrupt(struct lapic *l, enum lapic_lvt lvt)
{
	if (hw_enabled(l) && (unsigned)lvt < LAPIC_LVT_COUNT)
		lvt_fire(l, lvt, false);
}

static bool extint_line(const struct lapic *l)
{
	if (!hw_enabled(l))
		return l->lint_level[0];
	for (unsigned pin = 0; pin < 2; pin++) {
		uint32_t lvt = LVT(l, LAPIC_LVT_LINT0 + pin);
		if (!(lvt & LVT_MASKED) && lvt_mode(lvt) == APIC_DM_EXTINT && lint_active(l, pin))
			return true;
	}
	return false;
}

/* --- Events for the vCPU -------------------------------------------------- */

unsigned lapic_pending_events(const struct lapic *l)
{
	return l->events | (extint_line(l) ? LAPIC_EV_EXTINT : 0);
}

static bool take(struct lapic *l, unsigned event)
{
	bool was = l->events & event;
	l->events &= ~event;
	return was;
}

bool lapic_take_nmi(struct lapic *l) { return take(l, LAPIC_EV_NMI); }
bool lapic_take_smi(struct lapic *l) { return take(l, LAPIC_EV_SMI); }

bool lapic_take_extint(struct lapic *l)
{
	return take(l, LAPIC_EV_EXTINT) || extint_line(l);
}

bool lapic_take_sipi(struct lapic *l, uint8_t *vector)
{
	if (!take(l, LAPIC_EV_SIPI))
		return false;
	*vector = l->sipi_vector;
	return true;
}

bool lapic_take_init(struct lapic *l)
{
	if (!take(l, LAPIC_EV_INIT))
		return false;
	/* INIT keeps the mode, the ID and IA32_APIC_BASE (SDM 11.12.5.1); an
	 * APIC disabled by IA32_APIC_BASE stays disabled. */
	reset_registers(l);
	return true;
}

void lapic_setup_virtual_wire(struct lapic *l)
{
	R(l, REG_SVR) |= SVR_APIC_ENABLED;
	LVT(l, LAPIC_LVT_LINT0) = APIC_DM_EXTINT << 8;
	LVT(l, LAPIC_LVT_LINT1) = APIC_DM_NMI << 8;
}

/* --- The timer (SDM 11.5.4) ------------------------------------------------ */

/* The divide configuration register: bits 3 and 1:0 encode 2, 4, ... 128,
 * and 111B divides by 1 (SDM Figure 11-10). */
static unsigned timer_divisor(uint32_t dcr)
{
	unsigned code = (dcr & 3) | ((dcr >> 1) & 4);
	return code == 7 ? 1 : 2u << code;
}

/* The timer runs under timer_lvt, latched from the LVT timer register when
 * it is written (timer_set_lvt): a write the CPU has already put in the
 * page (an APIC-write exit) must not apply before the model has let the
 * timer catch up under the old entry. */
static unsigned timer_mode(const struct lapic *l)
{
	return (l->timer_lvt & LVT_TIMER_MODE) >> 17;
}

static bool clock_usable(const struct lapic *l)
{
	return l->clock && l->clock->now && l->clock->tsc_hz;
}

static uint64_t tsc_now(const struct lapic *l)
{
	return clock_usable(l) ? vclock_now(l->clock) : 0;
}

/* Bus ticks at guest TSC value tsc, and the first TSC value at which the
 * bus clock has reached `bus` ticks. */
static uint64_t bus_at(const struct lapic *l, uint64_t tsc)
{
	return clock_usable(l) ? muldiv64(tsc, LAPIC_BUS_HZ, l->clock->tsc_hz) : 0;
}

static uint64_t tsc_at(const struct lapic *l, uint64_t bus)
{
	return muldiv64_ceil(bus, l->clock->tsc_hz, LAPIC_BUS_HZ);
}

/* One-shot and periodic only: the bus ticks of one full count. */
static uint64_t timer_period(const struct lapic *l)
{
	return (uint64_t)l->timer_initial * timer_divisor(l->timer_dcr);
}

/* The current-count register: the initial count minus the divided bus ticks
 * since the period began; 0 once a one-shot count has run out, and always in
 * TSC-deadline mode. Bus tick counts subtract modulo 2^64 (timer_start may
 * be "before 0" after a divisor change). */
static uint32_t timer_current(const struct lapic *l)
{
	if (timer_mode(l) == TIMER_TSC_DEADLINE || !l->timer_armed || l->timer_initial == 0)
		return 0;
	uint64_t ticks = (bus_at(l, tsc_now(l)) - l->timer_start) / timer_divisor(l->timer_dcr);
	if (timer_mode(l) == TIMER_PERIODIC)
		return l->timer_initial - (uint32_t)(ticks % l->timer_initial);
	return ticks >= l->timer_initial ? 0 : l->timer_initial - (uint32_t)ticks;
}

static void timer_fire(struct lapic *l)
{
	lvt_fire(l, LAPIC_LVT_TIMER, false); /* the timer is always edge (SDM 11.5.1) */
}

void lapic_update(struct lapic *l)
{
	if (!hw_enabled(l) || !clock_usable(l))
		return;
	uint64_t now = vclock_now(l->clock);
	if (timer_mode(l) == TIMER_TSC_DEADLINE) {
		/* SDM 11.5.4.1: the timer fires when the TSC reaches the
		 * deadline, and IA32_TSC_DEADLINE goes back to 0. */
		if (l->tsc_deadline && now >= l->tsc_deadline) {
			l->tsc_deadline = 0;
			timer_fire(l);
		}
		return;
	}
	if (!l->timer_armed || l->timer_initial == 0)
		return;
	uint64_t elapsed = bus_at(l, now) - l->timer_start, period = timer_period(l);
	if (elapsed < period)
		return;
	if (timer_mode(l) == TIMER_PERIODIC)
		l->timer_start += elapsed / period * period; /* whole periods: no drift */
	else
		l->timer_armed = false;
	timer_fire(l);
}

uint64_t lapic_next_deadline(const struct lapic *l)
{
	if (!hw_enabled(l) || !clock_usable(l) || (l->timer_lvt & LVT_MASKED))
		return VCLOCK_NEVER; /* a masked expiry changes nothing lapic_update must see */
	if (timer_mode(l) == TIMER_TSC_DEADLINE)
		return l->tsc_deadline ? l->tsc_deadline : VCLOCK_NEVER;
	if (!l->timer_armed || l->timer_initial == 0)
		return VCLOCK_NEVER;
	return tsc_at(l, l->timer_start + timer_period(l));
}

/* A write to the initial count starts a count (SDM 11.5.4); 0 stops the
 * timer; in TSC-deadline mode the write is ignored. */
static void timer_set_initial(struct lapic *l, uint32_t count)
{
	lapic_update(l);
	if (timer_mode(l) == TIMER_TSC_DEADLINE) {
		R(l, REG_TIMER_INITIAL) = l->timer_initial; /* a virtualized write undone */
		return;
	}
	l->timer_initial = R(l, REG_TIMER_INITIAL) = count;
	l->timer_armed = count != 0;
	l->timer_start = bus_at(l, tsc_now(l));
}

/* A new divisor applies from now on: the count left keeps counting, at the
 * new rate (the SDM does not say; this is what the divider hardware does). */
static void timer_set_dcr(struct lapic *l, uint32_t dcr)
{
	lapic_update(l);
	uint32_t left = timer_current(l);
	l->timer_dcr = R(l, REG_TIMER_DCR) = dcr;
	if (left)
		l->timer_start = bus_at(l, tsc_now(l)) -
				 (uint64_t)(l->timer_initial - left) * timer_divisor(dcr);
}

static void timer_set_lvt(struct lapic *l, uint32_t value)
{
	lapic_update(l); /* what expired under the old entry */
	unsigned old_mode = timer_mode(l);
	LVT(l, LAPIC_LVT_TIMER) = l->timer_lvt = value;
	unsigned new_mode = timer_mode(l);
	/* "Transitioning between TSC-deadline mode and other timer modes also
	 * disarms the timer" (SDM 11.5.4.1); one-shot <-> periodic keeps
	 * counting and follows the new mode when the count runs out. */
	if ((old_mode == TIMER_TSC_DEADLINE) != (new_mode == TIMER_TSC_DEADLINE)) {
		l->timer_armed = false;
		l->timer_initial = R(l, REG_TIMER_INITIAL) = 0;
		l->tsc_deadline = 0;
	}
}

static void timer_set_deadline(struct lapic *l, uint64_t deadline)
{
	lapic_update(l);
	if (timer_mode(l) != TIMER_TSC_DEADLINE)
		return; /* ignored outside TSC-deadline mode (SDM 11.5.4.1) */
	l->tsc_deadline = deadline; /* 0 disarms; a time already past fires now */
	lapic_update(l);
}

/* --- EOI (SDM 11.8.5) ----------------------------------------------------- */

/* What follows the EOI of vector v once its ISR bit is clear: the
 * level-triggered sources hear of it. */
static void eoi_done(struct lapic *l, uint8_t v)
{
	if (!bit_test(l, REG_TMR, v))
		return;
	/* A level-triggered LINT0 waits for this EOI (remote IRR, 11.5.1). */
	for (unsigned pin = 0; pin < 2; pin++) {
		uint32_t *lvt = &LVT(l, LAPIC_LVT_LINT0 + pin);
		if (l->remote_irr[pin] && (*lvt & LVT_VECTOR) == v) {
			l->remote_irr[pin] = false;
			*lvt &= ~LVT_REMOTE_IRR;
			lint_check_level(l, pin);
		}
	}
	/* The IOAPICs hear of it unless the SVR suppresses the broadcast
	 * (SDM 11.8.5, "EOI-broadcast suppression"). */
	if (!(R(l, REG_SVR) & SVR_EOI_BROADCAST_SUPPRESSION) && l->ops.eoi_broadcast)
		l->ops.eoi_broadcast(l->ops.ctx, v);
}

static void eoi(struct lapic *l)
{
	int v = highest_bit(l, REG_ISR);
	if (v < 0)
		return;
	bit_clear(l, REG_ISR, (unsigned)v);
	ppr_lowered(l);
	eoi_done(l, (uint8_t)v);
}

/* --- IPIs (SDM 11.6.1, 11.12.9, 11.12.11) ---------------------------------- */

/* Send what the ICR says. dest is the ICR destination: 8 bits in xAPIC mode,
 * 32 in x2APIC mode. */
static void send_ipi(struct lapic *l, uint32_t low, uint32_t dest)
{
	uint8_t vector = low & ICR_VECTOR;
	unsigned mode = (low >> 8) & 7;
	unsigned shorthand = (low >> ICR_SHORTHAND_SHIFT) & 3;
	if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) && vector < 16) {
		apic_error(l, APIC_ESR_SEND_ILLEGAL_VECTOR); /* not sent (SDM 11.5.3) */
		return;
	}
	if (mode == 3)
		return; /* remote read: P6 only, not emulated */
	struct apic_msg m = {
		.dest = dest,
		.dest_logical = low & ICR_LOGICAL,
		.mode = (enum apic_delivery_mode)mode,
		.vector = vector,
		/* The Pentium 4 and later send every IPI edge-triggered
		 * (SDM Table 11-3 note 2); only INIT keeps its level bits, so
		 * that receivers recognize the de-assert and ignore it. */
		.level_triggered = mode == APIC_DM_INIT && (low & ICR_LEVEL),
		.assert = mode != APIC_DM_INIT || !(low & ICR_LEVEL) || (low & ICR_ASSERT),
		.source_id = l->id,
	};
	if (!x2apic_mode(l) && !m.dest_logical && dest == 0xFF)
		m.dest = APIC_BROADCAST;
	/* Shorthands ignore the destination field. Self takes no trip on the
	 * bus. The SDM lists shorthand/mode pairs it calls invalid (Table
	 * 11-3), with undefined results; we deliver them as asked. */
	switch (shorthand) {
	case SHORTHAND_SELF:
		lapic_accept(l, &m);
		return;
	case SHORTHAND_ALL_INCLUDING_SELF:
	case SHORTHAND_ALL_EXCLUDING_SELF:
		m.dest = APIC_BROADCAST;
		m.dest_logical = false;
		m.exclude_source = shorthand == SHORTHAND_ALL_EXCLUDING_SELF;
		break;
	case SHORTHAND_NONE:
		break;
	}
	if (l->ops.send_ipi)
		l->ops.send_ipi(l->ops.ctx, &m);
}

static void self_ipi(struct lapic *l, uint8_t vector)
{
	send_ipi(l, vector | (SHORTHAND_SELF << ICR_SHORTHAND_SHIFT), 0);
}

/* --- Destinations (SDM 11.6.2, 11.12.10) ------------------------------------ */

bool lapic_matches(const struct lapic *l, uint32_t dest, bool logical)
{
	if (!hw_enabled(l))
		return false;
	if (dest == APIC_BROADCAST)
		return true;
	if (x2apic_mode(l)) {
		if (!logical)
			return dest == l->id;
		uint32_t ldr = x2apic_ldr(l->id);
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xFFFF);
	}
	if (dest > 0xFF)
		return false;
	if (!logical)
		return dest == 0xFF || dest == (l->id & 0xFF);
	if (dest == 0xFF) /* "a broadcast ... by setting the MDA to 1s" (11.6.2.2) */
		return true;
	uint8_t logical_id = (uint8_t)(R(l, REG_LDR) >> 24);
	switch (R(l, REG_DFR) >> DFR_MODEL_SHIFT) {
	case DFR_FLAT: /* bitwise AND of MDA and logical APIC ID */
		return dest & logical_id;
	case DFR_CLUSTER: /* MDA[7:4] selects the cluster, MDA[3:0] its members */
		return (dest >> 4) == (logical_id >> 4) && (dest & logical_id & 0xF);
	default:
		return false;
	}
}

unsigned lapic_deliver(struct lapic *const *lapics, unsigned n, const struct apic_msg *msg)
{
	unsigned delivered = 0;
	struct lapic *lowest = NULL;
	for (unsigned i = 0; i < n; i++) {
		struct lapic *l = lapics[i];
		if (!l || !lapic_matches(l, msg->dest, msg->dest_logical))
			continue;
		if (msg->exclude_source && l->id == msg->source_id)
			continue;
		if (msg->mode != APIC_DM_LOWEST) {
			lapic_accept(l, msg);
			delivered++;
		} else if (sw_enabled(l) && (!lowest || ppr(l) < ppr(lowest))) {
			lowest = l;
		}
	}
	if (lowest) {
		lapic_accept(lowest, msg);
		delivered++;
	}
	return delivered;
}

/* --- The register file ---------------------------------------------------- */

/* Read a 32-bit register at xAPIC offset `reg`. false: no such register in
 * this mode (x2APIC: #GP; xAPIC: illegal register address). */
static bool reg_read(struct lapic *l, unsigned reg, bool x2, uint32_t *val)
{
	if (reg >= REG_ISR && reg < REG_ISR + 0x80) {
		*val = R(l, reg);
		return true;
	}
	if (reg >= REG_TMR && reg < REG_TMR + 0x80) {
		*val = R(l, reg);
		return true;
	}
	if (reg >= REG_IRR && reg < REG_IRR + 0x80) {
		*val = R(l, reg);
		return true;
	}
	if (reg == REG_LVT_CMCI || (reg >= REG_LVT_TIMER && reg <= REG_LVT_ERROR)) {
		unsigned i = reg == REG_LVT_CMCI ? LAPIC_LVT_CMCI : LAPIC_LVT_TIMER + ((reg - REG_LVT_TIMER) >> 4);
		*val = LVT(l, i); /* delivery status always idle: delivery is immediate */
		return true;
	}
	switch (reg) {
	case REG_ID: /* SDM 11.4.6; x2APIC 11.12.5.1 */
		*val = x2 ? l->id : (l->id & 0xFF) << 24;
		return true;
	case REG_VERSION:
		*val = LAPIC_VERSION_REG;
		return true;
	case REG_TPR:
		*val = R(l, REG_TPR);
		return true;
	case REG_APR: /* not on the Pentium 4 and later; none in x2APIC */
	case REG_RRD: /* remote read: P6 only; none in x2APIC */
		*val = 0;
		return !x2;
	case REG_PPR:
		*val = ppr(l);
		return true;
	case REG_EOI: /* write-only: #GP on RDMSR, 0 through MMIO */
		*val = 0;
		return !x2;
	case REG_LDR:
		*val = x2 ? x2apic_ldr(l->id) : R(l, REG_LDR);
		return true;
	case REG_DFR: /* no DFR in x2APIC mode (SDM 11.12.1.2) */
		*val = R(l, REG_DFR);
		return !x2;
	case REG_SVR:
		*val = R(l, REG_SVR);
		return true;
	case REG_ESR:
		*val = R(l, REG_ESR);
		return true;
	case REG_ICR_LOW: /* delivery status (bit 12) always 0: idle */
		*val = R(l, REG_ICR_LOW);
		return true;
	case REG_ICR_HIGH: /* one 64-bit MSR at 830H in x2APIC mode */
		*val = R(l, REG_ICR_HIGH);
		return !x2;
	case REG_TIMER_INITIAL:
		*val = l->timer_initial;
		return true;
	case REG_TIMER_CURRENT:
		*val = timer_current(l);
		return true;
	case REG_TIMER_DCR:
		*val = l->timer_dcr;
		return true;
	default: /* including SELF IPI: write-only in x2APIC, absent in xAPIC */
		*val = 0;
		return false;
	}
}

static void set_lvt(struct lapic *l, enum lapic_lvt i, uint32_t value)
{
	uint32_t v = value & lvt_writable[i];
	/* While software-disabled, "the mask bits for all the LVT entries
	 * are set; attempts to reset these bits will be ignored" (11.4.7.2). */
	if (!sw_enabled(l))
		v |= LVT_MASKED;
	if (i == LAPIC_LVT_TIMER) {
		timer_set_lvt(l, v);
		return;
	}
	LVT(l, i) = v;
	if (i == LAPIC_LVT_LINT0 || i == LAPIC_LVT_LINT1) {
		unsigned pin = i - LAPIC_LVT_LINT0;
		/* Remote IRR means something for level-triggered fixed only;
		 * remote_irr holds it, the page shows it. */
		if (!lint_level_fixed(l, pin))
			l->remote_irr[pin] = false;
		else if (l->remote_irr[pin])
			LVT(l, i) |= LVT_REMOTE_IRR;
		lint_check_level(l, pin);
		if (lint_active(l, pin) && !(v & LVT_MASKED) && lvt_mode(v) == APIC_DM_EXTINT)
			kick(l);
	}
}

static void set_svr(struct lapic *l, uint32_t value)
{
	lapic_update(l);
	R(l, REG_SVR) = value & SVR_WRITABLE;
	if (!sw_enabled(l)) {
		for (unsigned i = 0; i < LAPIC_LVT_COUNT; i++)
			LVT(l, i) |= LVT_MASKED;
		l->timer_lvt |= LVT_MASKED;
	}
}

/* Write a 32-bit register at xAPIC offset `reg` (not the x2APIC ICR).
 * false: #GP in x2APIC mode. In xAPIC mode writes to read-only registers
 * and reserved bits are dropped, and missing registers set ESR bit 7. */
static bool reg_write(struct lapic *l, unsigned reg, bool x2, uint32_t val)
{
	if (reg == REG_LVT_CMCI || (reg >= REG_LVT_TIMER && reg <= REG_LVT_ERROR)) {
		enum lapic_lvt i = reg == REG_LVT_CMCI ? LAPIC_LVT_CMCI : LAPIC_LVT_TIMER + ((reg - REG_LVT_TIMER) >> 4);
		if (x2 && (val & ~lvt_defined(i)))
			return false;
		set_lvt(l, i, val);
		return true;
	}
	if ((reg >= REG_ISR && reg < REG_IRR + 0x80))
		return !x2; /* ISR, TMR, IRR: read-only */
	switch (reg) {
	case REG_ID: /* read-only in x2APIC; model-specific in xAPIC, read-only here */
	case REG_VERSION:
	case REG_PPR:
	case REG_TIMER_CURRENT:
		return !x2;
	case REG_APR:
	case REG_RRD:
		return !x2; /* absent in x2APIC; read-only in xAPIC */
	case REG_TPR:
		if (x2 && (val & ~0xFFu))
			return false;
		lapic_set_tpr(l, (uint8_t)val);
		return true;
	case REG_EOI: /* x2APIC: "WRMSR of a non-zero value causes #GP(0)" (Table 11-6) */
		if (x2 && val)
			return false;
		eoi(l);
		return true;
	case REG_LDR: /* read-only in x2APIC: derived from the ID */
		if (x2)
			return false;
		R(l, REG_LDR) = val & LDR_XAPIC_WRITABLE;
		return true;
	case REG_DFR:
		if (x2)
			return false;
		R(l, REG_DFR) = (val & ~DFR_RESERVED_ONES) | DFR_RESERVED_ONES;
		return true;
	case REG_SVR:
		if (x2 && (val & ~SVR_WRITABLE))
			return false;
		set_svr(l, val);
		return true;
	case REG_ESR: /* the write latches the errors since the last one (11.5.3) */
		if (x2 && val)
			return false;
		R(l, REG_ESR) = l->esr_pending;
		l->esr_pending = 0;
		return true;
	case REG_ICR_LOW: /* xAPIC: writing the low half sends */
		R(l, REG_ICR_LOW) = val & ICR_LOW_WRITABLE;
		send_ipi(l, R(l, REG_ICR_LOW), R(l, REG_ICR_HIGH) >> 24);
		return true;
	case REG_ICR_HIGH:
		if (x2)
			return false;
		R(l, REG_ICR_HIGH) = val & ICR_HIGH_WRITABLE;
		return true;
	case REG_TIMER_INITIAL:
		timer_set_initial(l, val);
		return true;
	case REG_TIMER_DCR:
		if (x2 && (val & ~TIMER_DCR_WRITABLE))
			return false;
		timer_set_dcr(l, val & TIMER_DCR_WRITABLE);
		return true;
	case REG_SELF_IPI: /* SDM 11.12.11: bits 7:0 the vector, 31:8 reserved */
		if (!x2)
			break;
		if (val & ~0xFFu)
			return false;
		self_ipi(l, (uint8_t)val);
		return true;
	default:
		break;
	}
	if (x2)
		return false;
	apic_error(l, APIC_ESR_ILLEGAL_REGISTER);
	return true;
}

/* --- The xAPIC page --------------------------------------------------------- */

uint64_t lapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct lapic *l = opaque;
	if (lapic_mode(l) != LAPIC_MODE_XAPIC)
		return size_mask(size);
	uint64_t result = 0;
	uint64_t slot = UINT64_MAX;
	uint32_t reg = 0;
	for (unsigned i = 0; i < size && i < 8; i++) {
		uint64_t at = offset + i;
		uint8_t byte = 0;
		if (at < LAPIC_MMIO_SIZE && (at & 0xF) < 4) {
			if ((at & ~0xFull) != slot) {
				slot = at & ~0xFull;
				if (!reg_read(l, (unsigned)slot, false, &reg))
					apic_error(l, APIC_ESR_ILLEGAL_REGISTER);
			}
			byte = (uint8_t)(reg >> (8 * (at & 3)));
		}
		result |= (uint64_t)byte << (8 * i);
	}
	return result;
}

void lapic_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct lapic *l = opaque;
	if (lapic_mode(l) != LAPIC_MODE_XAPIC || offset >= LAPIC_MMIO_SIZE)
		return;
	/* SDM 11.4.1: registers are written with 128-bit-aligned 32-bit
	 * stores; anything narrower or elsewhere in the slot is dropped. */
	if ((offset & 0xF) != 0 || size < 4)
		return;
	reg_write(l, (unsigned)offset, false, (uint32_t)value);
}

/* --- MSRs ------------------------------------------------------------------ */

bool lapic_handles_msr(uint32_t msr)
{
	return msr == MSR_IA32_APIC_BASE || msr == MSR_IA32_TSC_DEADLINE ||
	       (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST);
}

bool lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *value)
{
	*value = 0;
	if (msr == MSR_IA32_APIC_BASE) {
		*value = l->apic_base;
		return true;
	}
	if (msr == MSR_IA32_TSC_DEADLINE) {
		lapic_update(l);
		*value = timer_mode(l) == TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
		return true;
	}
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || !x2apic_mode(l))
		return false;
	unsigned reg = MSR_TO_REG(msr);
	if (reg == REG_ICR_LOW) { /* the one 64-bit register (SDM 11.12.1.1) */
		*value = ((uint64_t)R(l, REG_ICR_HIGH) << 32) | R(l, REG_ICR_LOW);
		return true;
	}
	uint32_t v;
	if (!reg_read(l, reg, true, &v))
		return false;
	*value = v;
	return true;
}

/* x2APIC ICR: reserved are bits 12 (delivery status, removed in x2APIC mode,
 * SDM 11.12.9), 13, 17:16 and 31:20. */
#define ICR_X2APIC_RESERVED 0x00000000FFF33000ull

bool lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t value)
{
	if (msr == MSR_IA32_APIC_BASE)
		return lapic_set_base(l, value);
	if (msr == MSR_IA32_TSC_DEADLINE) {
		timer_set_deadline(l, value);
		return true;
	}
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || !x2apic_mode(l))
		return false;
	unsigned reg = MSR_TO_REG(msr);
	if (reg == REG_ICR_LOW) {
		if (value & ICR_X2APIC_RESERVED)
			return false;
		R(l, REG_ICR_LOW) = (uint32_t)value;
		R(l, REG_ICR_HIGH) = (uint32_t)(value >> 32);
		send_ipi(l, (uint32_t)value, (uint32_t)(value >> 32));
		return true;
	}
	if (value >> 32) /* bits 63:32 of every other register are reserved */
		return false;
	return reg_write(l, reg, true, (uint32_t)value);
}

/* --- IA32_APIC_BASE (SDM 11.4.4, 11.12.5) ------------------------------------ */

uint64_t lapic_get_base(const struct lapic *l) { return l->apic_base; }

bool lapic_set_base(struct lapic *l, uint64_t value)
{
	/* Reserved: bits 7:0, bit 9, bits 63:MAXPHYADDR, and EXTD on a CPU
	 * without x2APIC (SDM Figure 11-5, 11.12.1). */
	uint64_t reserved = 0xFFull | BIT(9) | ~((1ull << l->phys_addr_bits) - 1);
	if (!l->x2apic_capable)
		reserved |= APIC_BASE_EXTD;
	if (value & reserved)
		return false;
	bool en = value & APIC_BASE_EN, extd = value & APIC_BASE_EXTD;
	if (extd && !en)
		return false; /* the invalid state (SDM 11.12.5) */
	enum lapic_mode from = lapic_mode(l);
	enum lapic_mode to = !en ? LAPIC_MODE_DISABLED : extd ? LAPIC_MODE_X2APIC : LAPIC_MODE_XAPIC;
	/* x2APIC -> xAPIC and disabled -> x2APIC go through the other state
	 * (SDM 11.12.5, Figure 11-27). */
	if ((from == LAPIC_MODE_X2APIC && to == LAPIC_MODE_XAPIC) ||
	    (from == LAPIC_MODE_DISABLED && to == LAPIC_MODE_X2APIC))
		return false;
	lapic_update(l);
	l->apic_base = (value & ~APIC_BASE_BSP) | (l->apic_base & APIC_BASE_BSP);
	/* Disabling loses the APIC's state: re-enabled, it starts from the
	 * power-up values (SDM 11.4.3); only the ID survives. */
	if (to == LAPIC_MODE_DISABLED && from != LAPIC_MODE_DISABLED) {
		reset_registers(l);
		l->events = 0;
	}
	/* xAPIC -> x2APIC: the x2APIC ID and the logical x2APIC ID come from the
	 * initial ID; the other registers stay. */
	publish_id(l);
	return true;
}

/* --- APIC virtualization (SDM Vol. 3C chapter 30) ----------------------------- */

bool lapic_apic_write(struct lapic *l, unsigned offset)
{
	/* The write is already in the page (SDM 30.4.3.3, "APIC-write VM
	 * exits" are trap-like): run it through the register file as if it
	 * had come now, which also puts back what a read-only register or a
	 * reserved bit must show. */
	offset &= 0xFF0;
	uint32_t val = R(l, offset);
	bool x2 = x2apic_mode(l);
	bool ok;
	if (x2 && offset == REG_SELF_IPI) {
		/* x2APIC SELF IPI the CPU did not virtualize (SDM 30.5). */
		R(l, REG_SELF_IPI) = 0;
		self_ipi(l, (uint8_t)val);
		return true;
	}
	ok = reg_write(l, offset, x2, val);
	publish_id(l);
	R(l, REG_VERSION) = LAPIC_VERSION_REG;
	return ok;
}

void lapic_eoi_virtualized(struct lapic *l, uint8_t vector)
{
	/* EOI virtualization has cleared the VISR bit and updated SVI and
	 * VPPR (SDM 30.1.4); the exit came because the EOI-exit bitmap asked
	 * for it. */
	eoi_done(l, vector);
}

void lapic_eoi_exit_bitmap(const struct lapic *l, uint64_t bitmap[4])
{
	/* Level-triggered vectors (TMR set at acceptance, SDM 11.8.4) need the
	 * model at their EOI: remote IRR of LINT0 and the IOAPIC's broadcast.
	 * An edge-triggered EOI changes nothing outside the page. */
	for (unsigned w = 0; w < 4; w++)
		bitmap[w] = (uint64_t)l->page[(REG_TMR >> 2) + 8 * w] |
			    ((uint64_t)l->page[(REG_TMR >> 2) + 8 * w + 4] << 32);
}

uint16_t lapic_guest_interrupt_status(const struct lapic *l)
{
	/* RVI: the highest requested vector; SVI: the highest in service; 0
	 * for none (SDM Vol. 3C 25.4.2, 30.1.1). */
	int rvi = highest_bit(l, REG_IRR), svi = highest_bit(l, REG_ISR);
	return (uint16_t)(((svi < 0 ? 0 : svi) << 8) | (rvi < 0 ? 0 : rvi));
}

bool lapic_x2apic_read_from_page(uint32_t msr)
{
	/* Registers the page always holds as the guest must read them. PPR is
	 * left out (the CPU updates VPPR only on the events it virtualizes),
	 * and so are the current count (computed), EOI and SELF IPI
	 * (write-only: #GP) and every MSR without a register (#GP). */
	switch (msr) {
	case 0x802: /* ID */
	case 0x803: /* version */
	case 0x808: /* TPR */
	case 0x80D: /* LDR */
	case 0x80F: /* SVR */
	case 0x828: /* ESR */
	case 0x82F: /* LVT CMCI */
	case 0x830: /* ICR */
	case 0x838: /* initial count */
	case 0x83E: /* divide configuration */
		return true;
	default:
		return (msr >= 0x810 && msr <= 0x827) || /* ISR, TMR, IRR */
		       (msr >= 0x832 && msr <= 0x837);   /* LVT timer to error */
	}
}
