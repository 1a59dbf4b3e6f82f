/* MMIO emulation: fetch (through the guest's page tables), decode
 * (vm/insn_decode.c), perform the access on the VM's MMIO bus, update the
 * registers and flags. The SDM sections are in the pure modules it uses. */
#include "vmx/mmio.h"
#include "vmx/vmcs.h"
#include "vmx/events.h"
#include "arch/x86/cpu.h"
#include "lib/log.h"
#include "lib/string.h"
#include "vm/insn_decode.h"
#include "vm/page_walk.h"

/* REP MOVS/STOS elements done per exit; the rest runs after re-entry, as
 * the CPU itself interrupts a long string instruction. */
#define MMIO_REP_BATCH 1024

/* Code-segment access-rights bits (SDM Vol. 3A 3.4.5). */
#define AR_L BIT(13)
#define AR_DB BIT(14)

struct mmio_ctx {
	struct vcpu *v;
	struct vm *vm;
	enum cpu_mode mode;
	struct paging_regs pr;
	uint64_t pdpte[4];
	bool user;                    /* CPL 3 */
	uint64_t gpr[GPR_COUNT];
	uint64_t rflags;
	uint64_t exit_gpa;
	char why[160];
	/* The fault a translation hit, delivered only if the instruction
	 * really needed that access. */
	bool faulted;
	unsigned fault_vector;
	uint32_t fault_error;
	uint64_t fault_cr2;
};

static void deliver_fault(struct mmio_ctx *c)
{
	if (c->fault_vector == EXC_PF)
		c->v->cr2 = c->fault_cr2; /* CR2 holds the faulting linear address (SDM Vol. 3A 6.15) */
	vcpu_inject_exception(c->v, c->fault_vector, true, c->fault_error);
}

static unsigned maxphyaddr(void)
{
	static unsigned width;
	if (!width) {
		struct cpuid_regs r;
		cpuid_count(0x80000000, 0, &r);
		width = 36;
		if (r.eax >= 0x80000008) {
			cpuid_count(0x80000008, 0, &r);
			width = r.eax & 0xff;
		}
	}
	return width;
}

/* 1-GByte pages (CPUID.80000001H:EDX[26]), read once. */
static bool page_1gb(void)
{
	static int known = -1;
	if (known < 0) {
		struct cpuid_regs r;
		cpuid_count(0x80000001, 0, &r);
		known = (r.edx & BIT(26)) != 0;
	}
	return known;
}

static bool load_context(struct mmio_ctx *c, struct vcpu *v)
{
	c->v = v;
	c->vm = v->vm;
	uint64_t cs_ar = vmcs_read(VMCS_GUEST_CS_AR_BYTES);
	uint64_t efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	/* 64-bit mode: IA-32e active and CS.L; else CS.D picks 32- or 16-bit
	 * code (SDM Vol. 3A 5.2.1). */
	if ((efer & EFER_LMA) && (cs_ar & AR_L))
		c->mode = CPU_MODE_64;
	else if (cs_ar & AR_DB)
		c->mode = CPU_MODE_32;
	else {
		hv_snprintf(c->why, sizeof(c->why), "16-bit code (real mode or CS.D = 0) is not decoded");
		return false;
	}
	c->pr.cr0 = vmcs_read(VMCS_GUEST_CR0);
	c->pr.cr3 = vmcs_read(VMCS_GUEST_CR3);
	c->pr.cr4 = vmcs_read(VMCS_GUEST_CR4);
	c->pr.efer = efer;
	c->rflags = c->pr.rflags = vmcs_read(VMCS_GUEST_RFLAGS);
	/* PAE paging: the CPU uses its PDPTE registers, which EPT keeps in the
	 * VMCS (SDM 25.4.2), not the table in memory. */
	if ((c->pr.cr0 & CR0_PG) && (c->pr.cr4 & CR4_PAE) && !(efer & EFER_LMA)) {
		c->pdpte[0] = vmcs_read(VMCS_GUEST_PDPTE0);
		c->pdpte[1] = vmcs_read(VMCS_GUEST_PDPTE1);
		c->pdpte[2] = vmcs_read(VMCS_GUEST_PDPTE2);
		c->pdpte[3] = vmcs_read(VMCS_GUEST_PDPTE3);
		c->pr.pdpte = c->pdpte;
	}
	c->pr.maxphyaddr = maxphyaddr();
	c->pr.page_1gb = page_1gb();
	c->user = vcpu_cpl() == 3;
	for (unsigned i = 0; i < GPR_COUNT; i++)
		c->gpr[i] = vcpu_gpr_read(v, i);
	return true;
}

static uint64_t segment_base(const struct mmio_ctx *c, enum insn_seg seg)
{
	static const uint32_t base_field[] = {
		[INSN_SEG_ES] = VMCS_GUEST_ES_BASE, [INSN_SEG_CS] = VMCS_GUEST_CS_BASE,
		[INSN_SEG_SS] = VMCS_GUEST_SS_BASE, [INSN_SEG_DS] = VMCS_GUEST_DS_BASE,
		[INSN_SEG_FS] = VMCS_GUEST_FS_BASE, [INSN_SEG_GS] = VMCS_GUEST_GS_BASE,
	};
	/* In 64-bit mode only FS and GS have bases (SDM Vol. 3A 3.4.4). */
	if (c->mode == CPU_MODE_64 && seg != INSN_SEG_FS && seg != INSN_SEG_GS)
		return 0;
	return vmcs_read(base_field[seg]);
}

enum xlate { XLATE_OK, XLATE_FAULTED, XLATE_STOP };

/* Linear to guest-physical for one access. A fault is recorded in c; the
 * caller delivers it (deliver_fault) when the instruction needed the access. */
static enum xlate translate(struct mmio_ctx *c, uint64_t la, unsigned access, uint64_t *gpa,
			    uint64_t *page_left)
{
	struct page_walk w;
	if (c->mode != CPU_MODE_64)
		la &= 0xffffffffULL;
	switch (page_walk(&c->vm->mem, &c->pr, la, access | (c->user ? PAGE_ACCESS_USER : 0), &w)) {
	case PAGE_WALK_OK:
		*gpa = w.gpa;
		*page_left = w.page_size - (w.gpa & (w.page_size - 1));
		return XLATE_OK;
	case PAGE_WALK_FAULT:
		c->faulted = true;
		c->fault_vector = EXC_PF;
		c->fault_error = w.error_code;
		c->fault_cr2 = la;
		return XLATE_FAULTED;
	case PAGE_WALK_NON_CANONICAL:
		c->faulted = true;
		c->fault_vector = EXC_GP;
		c->fault_error = 0;
		return XLATE_FAULTED;
	default:
		hv_snprintf(c->why, sizeof(c->why), "guest page walk for 0x%llx: %s",
			    (unsigned long long)la, w.why ? w.why : "failed");
		return XLATE_STOP;
	}
}

/* Fetch up to 15 instruction bytes; a page boundary takes a second walk. */
static enum xlate fetch(struct mmio_ctx *c, uint8_t *buf, unsigned *len)
{
	uint64_t la = segment_base(c, INSN_SEG_CS) + vmcs_read(VMCS_GUEST_RIP);
	unsigned got = 0;
	while (got < INSN_MAX_LEN) {
		uint64_t gpa, left;
		enum xlate x = translate(c, la + got, PAGE_ACCESS_FETCH, &gpa, &left);
		if (x != XLATE_OK) {
			if (got == 0 || x == XLATE_STOP)
				return x;
			/* Bytes past a fault may not be needed: decode what we
			 * have; the fault is delivered only if decoding runs out. */
			break;
		}
		unsigned n = (unsigned)MIN((uint64_t)(INSN_MAX_LEN - got), left);
		/* An instruction at the very end of RAM: fetch only what is there. */
		if (gpa_is_ram(&c->vm->mem, gpa))
			n = (unsigned)MIN((uint64_t)n, c->vm->mem.size - gpa);
		if (!guest_read(&c->vm->mem, gpa, buf + got, n)) {
			if (got)
				break;
			hv_snprintf(c->why, sizeof(c->why),
				    "the instruction at guest-physical 0x%llx is not in RAM",
				    (unsigned long long)gpa);
			return XLATE_STOP;
		}
		got += n;
	}
	*len = got;
	return XLATE_OK;
}

/* One access of size bytes at a guest-physical address: RAM through the
 * checked helpers, anything else on the MMIO bus (nothing there: all-ones
 * and dropped writes). A range that is partly RAM is refused. */
static bool access_gpa(struct mmio_ctx *c, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
	struct guest_mem *m = &c->vm->mem;
	if (gpa_to_hva(m, gpa, size)) {
		if (write)
			return guest_write(m, gpa, val, size);
		*val = 0;
		return guest_read(m, gpa, val, size);
	}
	if (gpa_is_ram(m, gpa) || gpa_is_ram(m, gpa + size - 1)) {
		hv_snprintf(c->why, sizeof(c->why),
			    "a %u-byte access at 0x%llx straddles the end of RAM", size,
			    (unsigned long long)gpa);
		return false;
	}
	bool claimed;
	if (write)
		bus_write(&c->vm->mmio, gpa, size, *val, &claimed);
	else
		*val = bus_read(&c->vm->mmio, gpa, size, &claimed);
	if (!claimed && bus_first_unclaimed(&c->vm->mmio, gpa & ~(PAGE_SIZE - 1)))
		pr_info("VM %s: %u-byte %s guest-physical 0x%llx (RIP 0x%llx): no RAM or device "
			"there, %s; reported once per page", c->vm->name, size,
			write ? "write to" : "read from", (unsigned long long)gpa,
			(unsigned long long)vmcs_read(VMCS_GUEST_RIP),
			write ? "the write is dropped" : "reads as all-ones");
	return true;
}

/* One element of MOVS or STOS, at the addresses rSI/rDI give now. */
static enum xlate string_element(struct mmio_ctx *c, const struct insn *in)
{
	unsigned sz = in->mem_size;
	uint64_t mask = in->addr_size == 8 ? ~0ULL : 0xffffffffULL;
	uint64_t value = 0, gpa, left;
	enum xlate x;

	if (in->op == INSN_MOVS) {
		uint64_t src = segment_base(c, in->seg) + (c->gpr[GPR_RSI] & mask);
		if ((x = translate(c, src, 0, &gpa, &left)) != XLATE_OK)
			return x;
		if (left < sz || !access_gpa(c, gpa, sz, false, &value)) {
			if (left < sz)
				hv_snprintf(c->why, sizeof(c->why), "a string element crosses a page");
			return XLATE_STOP;
		}
	}
	uint64_t store = 0;
	insn_execute(in, c->gpr, &c->rflags, value, &store);
	uint64_t dst = segment_base(c, INSN_SEG_ES) + (c->gpr[GPR_RDI] & mask);
	if ((x = translate(c, dst, PAGE_ACCESS_WRITE, &gpa, &left)) != XLATE_OK)
		return x;
	if (left < sz) {
		hv_snprintf(c->why, sizeof(c->why), "a string element crosses a page");
		return XLATE_STOP;
	}
	if (!access_gpa(c, gpa, sz, true, &store))
		return XLATE_STOP;
	insn_string_advance(in, c->gpr, c->rflags, 1);
	return XLATE_OK;
}

static void write_back(struct mmio_ctx *c)
{
	for (unsigned i = 0; i < GPR_COUNT; i++)
		vcpu_gpr_write(c->v, i, c->gpr[i]);
	if (c->rflags != c->pr.rflags)
		vmcs_write(VMCS_GUEST_RFLAGS, c->rflags);
}

static void stop(struct mmio_ctx *c, const struct vmexit *e, const uint8_t *bytes, unsigned n)
{
	char what[96];
	ept_describe_violation(e->qualification, what, sizeof(what));
	char hex[3 * INSN_MAX_LEN + 1] = "";
	for (unsigned i = 0; i < n && i < INSN_MAX_LEN; i++)
		hv_snprintf(hex + 3 * i, 4, "%02x ", bytes[i]);
	vm_stop(c->vm, true, "cannot emulate the %s at guest-physical 0x%llx, RIP 0x%llx: %s "
		"(bytes: %s)", what, (unsigned long long)e->guest_physical,
		(unsigned long long)e->rip, c->why, hex);
	vcpu_dump(c->v);
}

void mmio_emulate(struct vcpu *v, const struct vmexit *e)
{
	struct mmio_ctx c; /* on this CPU's stack: other CPUs emulate at the same time */
	uint8_t bytes[INSN_MAX_LEN];
	unsigned n = 0;
	struct insn in;

	c.faulted = false;
	c.pr.pdpte = NULL;
	c.exit_gpa = e->guest_physical;
	if (!load_context(&c, v)) {
		stop(&c, e, bytes, 0);
		return;
	}
	enum xlate x = fetch(&c, bytes, &n);
	if (x == XLATE_FAULTED) {
		deliver_fault(&c);
		return;
	}
	if (x == XLATE_STOP) {
		stop(&c, e, bytes, 0);
		return;
	}
	const char *err = insn_decode(bytes, n, c.mode, &in);
	if (err && c.faulted) {
		deliver_fault(&c); /* the instruction runs into the page that faulted */
		return;
	}
	if (err) {
		hv_snprintf(c.why, sizeof(c.why), "%s", err);
		stop(&c, e, bytes, n);
		return;
	}

	if (in.op == INSN_MOVS || in.op == INSN_STOS) {
		uint64_t count = insn_rep_count(&in, c.gpr), done = 0;
		while (done < count && done < MMIO_REP_BATCH) {
			x = string_element(&c, &in);
			if (x == XLATE_STOP) {
				stop(&c, e, bytes, n);
				return;
			}
			if (x == XLATE_FAULTED) {
				deliver_fault(&c);
				break; /* the registers say how far it got, as on the CPU */
			}
			done++;
		}
		write_back(&c);
		/* RIP moves on only when the whole REP is done (SDM Vol. 2B REP). */
		if (x == XLATE_OK && done == count) {
			struct vmexit next = *e;
			next.instruction_len = in.len;
			vcpu_skip_instruction(v, &next);
		}
		return;
	}

	/* Every other form has one memory operand, the one that exited: the
	 * EPT violation gives its guest-physical address. */
	uint64_t mem = 0, store = 0;
	if (insn_reads_memory(&in) && !access_gpa(&c, e->guest_physical, in.mem_size, false, &mem)) {
		stop(&c, e, bytes, n);
		return;
	}
	if (insn_execute(&in, c.gpr, &c.rflags, mem, &store) &&
	    !access_gpa(&c, e->guest_physical, in.mem_size, true, &store)) {
		stop(&c, e, bytes, n);
		return;
	}
	write_back(&c);
	struct vmexit done_exit = *e;
	done_exit.instruction_len = in.len;
	vcpu_skip_instruction(v, &done_exit);
}
