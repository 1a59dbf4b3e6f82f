#include "arch/x86/lapic_host.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/mm.h"
#include "lib/spinlock.h"

/* xAPIC register offsets (SDM Vol. 3A Table 11-1); in x2APIC mode the MSR
 * is 800H + offset / 16 (Table 11-6), and the ICR is one 64-bit MSR. */
#define APIC_ID 0x020
#define APIC_TPR 0x080
#define APIC_EOI 0x0b0
#define APIC_SVR 0x0f0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define X2APIC_MSR(off) (0x800u + (off) / 16)

#define SVR_APIC_ENABLE BIT(8)

/* ICR fields (SDM Vol. 3A 11.6.1, Figure 11-12). */
#define ICR_DELIVERY_FIXED (0u << 8)
#define ICR_DELIVERY_INIT (5u << 8)
#define ICR_DELIVERY_STARTUP (6u << 8)
#define ICR_DELIVERY_PENDING BIT(12) /* xAPIC only: "send pending" */
#define ICR_LEVEL_ASSERT BIT(14)

/* Every CPU's APIC sits at the same physical address (the MADT and each
 * CPU's IA32_APIC_BASE agree on it), so one base serves all. Below 4 GiB it
 * is identity mapped; the firmware's MTRRs make the range uncacheable
 * (SDM Vol. 3A 11.4.1 asks for strong UC). */
static uint64_t apic_base;
static bool x2apic;

uint64_t lapic_host_base(void)
{
	return apic_base;
}

bool lapic_host_x2apic(void)
{
	return x2apic;
}

static uint32_t apic_read(uint32_t off)
{
	if (x2apic)
		return (uint32_t)rdmsr(X2APIC_MSR(off));
	return *(volatile uint32_t *)phys_to_virt(apic_base + off);
}

static void apic_write(uint32_t off, uint32_t v)
{
	if (x2apic)
		wrmsr(X2APIC_MSR(off), v);
	else
		*(volatile uint32_t *)phys_to_virt(apic_base + off) = v;
}

bool lapic_host_init(void)
{
	uint64_t b = rdmsr(MSR_IA32_APIC_BASE);
	if (!(b & APIC_BASE_ENABLE))
		return false;
	apic_base = b & 0xffffff000ULL; /* bits 12..35 at least; MAXPHYADDR bounds the rest */
	x2apic = b & APIC_BASE_EXTD;
	if (!x2apic && apic_base + PAGE_SIZE > HOST_MAPPED_LIMIT)
		return false;
	return lapic_host_enable_this_cpu();
}

bool lapic_host_enable_this_cpu(void)
{
	uint64_t b = rdmsr(MSR_IA32_APIC_BASE);
	if (!(b & APIC_BASE_ENABLE) || (b & 0xffffff000ULL) != apic_base || !(b & APIC_BASE_EXTD) != !x2apic)
		return false;
	apic_write(APIC_TPR, 0);
	apic_write(APIC_SVR, SVR_APIC_ENABLE | HOST_SPURIOUS_VECTOR);
	return true;
}

uint32_t lapic_host_id(void)
{
	uint32_t id = apic_read(APIC_ID);
	return x2apic ? id : id >> 24; /* xAPIC: bits 31:24 (SDM Vol. 3A 11.4.6) */
}

/* The ICR of an xAPIC is written in two halves, high first: the write of
 * the low half sends (SDM Vol. 3A 11.6.1). Wait until the last IPI left
 * (delivery status idle) before writing a new one. x2APIC: one WRMSR, no
 * delivery status to poll (11.12.9). */
static bool send_ipi(uint32_t apic_id, uint32_t low)
{
	if (x2apic) {
		wrmsr(X2APIC_MSR(APIC_ICR_LO), ((uint64_t)apic_id << 32) | low);
		return true;
	}
	unsigned spins = 0;
	while (apic_read(APIC_ICR_LO) & ICR_DELIVERY_PENDING)
		if (++spins > 1000000)
			return false;
	apic_write(APIC_ICR_HI, apic_id << 24);
	apic_write(APIC_ICR_LO, low);
	spins = 0;
	while (apic_read(APIC_ICR_LO) & ICR_DELIVERY_PENDING) {
		if (++spins > 1000000)
			return false;
		cpu_relax();
	}
	return true;
}

bool lapic_host_send_init(uint32_t apic_id)
{
	return send_ipi(apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT);
}

bool lapic_host_send_startup(uint32_t apic_id, uint8_t vector)
{
	return send_ipi(apic_id, ICR_DELIVERY_STARTUP | ICR_LEVEL_ASSERT | vector);
}

bool lapic_host_send_fixed(uint32_t apic_id, uint8_t vector)
{
	return send_ipi(apic_id, ICR_DELIVERY_FIXED | ICR_LEVEL_ASSERT | vector);
}

void lapic_host_eoi(void)
{
	apic_write(APIC_EOI, 0);
}
