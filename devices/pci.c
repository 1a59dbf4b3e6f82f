/* PCI segment, bus 0: configuration space, mechanism #1, ECAM, BAR
 * decoding, capabilities, INTx, MSI and MSI-X. See pci.h for what is and
 * is not emulated. Spec references: PCI Local Bus Specification 3.0 ("PCI LB
 * 3.0") and PCI Express Base Specification 3.0 ("PCIe Base 3.0"). */
#include "devices/pci.h"
#include "lib/string.h"

static inline bool is_power_of_2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/* --- Raw configuration space ------------------------------------------------- */

uint32_t pci_get(const struct pci_function *fn, unsigned reg, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size && i < 4; i++)
		if (reg + i < PCI_CONFIG_SPACE_SIZE)
			v |= (uint32_t)fn->config[reg + i] << (8 * i);
	return v;
}

static void set_bytes(uint8_t *space, unsigned reg, unsigned size, uint32_t value)
{
	for (unsigned i = 0; i < size && i < 4; i++)
		if (reg + i < PCI_CONFIG_SPACE_SIZE)
			space[reg + i] = (uint8_t)(value >> (8 * i));
}

void pci_set(struct pci_function *fn, unsigned reg, unsigned size, uint32_t value)
{
	set_bytes(fn->config, reg, size, value);
}

void pci_set_wmask(struct pci_function *fn, unsigned reg, unsigned size, uint32_t mask)
{
	set_bytes(fn->wmask, reg, size, mask);
}

void pci_set_w1cmask(struct pci_function *fn, unsigned reg, unsigned size, uint32_t mask)
{
	set_bytes(fn->w1cmask, reg, size, mask);
}

/* --- The function's header ---------------------------------------------------- */

void pci_function_init(struct pci_function *fn, uint16_t vendor, uint16_t device,
		       uint32_t class_code, uint8_t revision)
{
	memset(fn, 0, sizeof(*fn));
	/* Device identification (PCI LB 3.0 6.2.1): all read-only. */
	pci_set16(fn, PCI_VENDOR_ID, vendor);
	pci_set16(fn, PCI_DEVICE_ID, device);
	pci_set8(fn, PCI_REVISION_ID, revision);
	pci_set8(fn, PCI_CLASS_PROG, (uint8_t)class_code);
	pci_set8(fn, PCI_CLASS_SUB, (uint8_t)(class_code >> 8));
	pci_set8(fn, PCI_CLASS_BASE, (uint8_t)(class_code >> 16));
	pci_set8(fn, PCI_HEADER_TYPE, 0x00); /* type 0; multi-function set on registration */
	/* Command (6.2.2): the implemented control bits; Status (6.2.3): the
	 * error bits are RW1C, the rest read-only. */
	pci_set_wmask(fn, PCI_COMMAND, 2, PCI_COMMAND_WRITABLE);
	pci_set_w1cmask(fn, PCI_STATUS, 2, PCI_STATUS_W1C);
	/* Cache Line Size and Interrupt Line are plain storage for software
	 * (6.2.4); Latency Timer is hardwired to 0 as on PCI Express. */
	pci_set_wmask(fn, PCI_CACHE_LINE_SIZE, 1, 0xff);
	pci_set_wmask(fn, PCI_INTERRUPT_LINE, 1, 0xff);
	fn->cap_end = PCI_CAPABILITY_START;
	fn->ext_cap_end = PCI_EXT_CAP_START;
}

/* Register bar is the upper half of a 64-bit BAR below it. */
static bool bar_is_upper_half(const struct pci_function *fn, unsigned bar)
{
	return bar > 0 && fn->bars[bar - 1].size != 0 &&
	       !(fn->bars[bar - 1].flags & PCI_BAR_SPACE_IO) &&
	       (fn->bars[bar - 1].flags & PCI_BAR_MEM_TYPE_64);
}

/* PCI LB 3.0 6.2.5.1: the low bits of a BAR are read-only and encode its
 * kind; of the address bits, those below the size are hardwired to 0. So
 * after software writes all-ones the register reads back ~(size - 1) with the
 * kind bits, and software computes the size from it. The write mask does
 * exactly that. */
bool pci_set_bar(struct pci_function *fn, unsigned bar, uint8_t flags, uint64_t size)
{
	if (bar >= PCI_NUM_BARS || !is_power_of_2(size) || fn->bars[bar].size != 0 ||
	    bar_is_upper_half(fn, bar))
		return false;
	unsigned reg = PCI_BAR0 + 4 * bar;
	if (flags & PCI_BAR_SPACE_IO) {
		if (flags != PCI_BAR_SPACE_IO || size < PCI_BAR_MIN_IO_SIZE || size > PCI_BAR_MAX_IO_SIZE)
			return false;
		pci_set32(fn, reg, flags);
		pci_set_wmask(fn, reg, 4, (uint32_t)~(size - 1) & ~(uint32_t)PCI_BAR_IO_FLAGS_MASK);
	} else if ((flags & ~(PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH)) == 0) {
		bool is64 = flags & PCI_BAR_MEM_TYPE_64;
		if (size < PCI_BAR_MIN_MEM_SIZE)
			return false;
		if (!is64 && size > GiB(2))
			return false; /* a 32-bit BAR must fit below 4 GiB */
		if (is64 && (bar + 1 >= PCI_NUM_BARS || fn->bars[bar + 1].size != 0 || size > BIT(63)))
			return false;
		pci_set32(fn, reg, flags);
		pci_set_wmask(fn, reg, 4, (uint32_t)~(size - 1) & ~(uint32_t)PCI_BAR_MEM_FLAGS_MASK);
		if (is64) {
			pci_set32(fn, reg + 4, 0);
			pci_set_wmask(fn, reg + 4, 4, (uint32_t)(~(size - 1) >> 32));
		}
	} else {
		return false; /* type 01b (below 1 MiB) is reserved since PCI 3.0, 11b always */
	}
	fn->bars[bar].size = size;
	fn->bars[bar].flags = flags;
	return true;
}

void pci_set_intx_pin(struct pci_function *fn, uint8_t pin, const struct irq_line *line)
{
	pci_set8(fn, PCI_INTERRUPT_PIN, pin <= PCI_INTD ? pin : PCI_INTERRUPT_PIN_NONE);
	fn->intx = line ? *line : (struct irq_line){ 0 };
}

/* --- Capability lists (PCI LB 3.0 6.7, PCIe Base 3.0 7.9) ----------------- */

uint8_t pci_add_capability(struct pci_function *fn, uint8_t id, uint8_t len)
{
	/* Each capability is DWORD aligned; the list lives after the header,
	 * within the first 256 bytes. */
	unsigned off = (unsigned)ALIGN_UP(fn->cap_end, 4);
	if (len < 2 || off + len > PCI_COMPAT_CONFIG_SIZE)
		return 0;
	pci_set8(fn, off + PCI_CAP_ID, id);
	pci_set8(fn, off + PCI_CAP_NEXT, 0); /* end of list */
	if (fn->last_cap)
		pci_set8(fn, fn->last_cap + PCI_CAP_NEXT, (uint8_t)off);
	else
		pci_set8(fn, PCI_CAPABILITY_LIST, (uint8_t)off);
	pci_set16(fn, PCI_STATUS, pci_get16(fn, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	fn->last_cap = (uint8_t)off;
	fn->cap_end = (uint16_t)(off + len);
	return (uint8_t)off;
}

uint16_t pci_add_ext_capability(struct pci_function *fn, uint16_t id, uint8_t version, uint16_t len)
{
	/* The first extended capability is at 0x100; each header holds its
	 * ID, version and the next one's offset (0: end). */
	unsigned off = (unsigned)ALIGN_UP(fn->ext_cap_end, 4);
	if (len < 4 || version > 0xf || off + len > PCI_CONFIG_SPACE_SIZE)
		return 0;
	pci_set32(fn, off, (uint32_t)id | (uint32_t)version << 16);
	if (fn->last_ext_cap) {
		uint32_t prev = pci_get32(fn, fn->last_ext_cap);
		pci_set32(fn, fn->last_ext_cap, (prev & 0x000fffffu) | (uint32_t)off << 20);
	}
	fn->last_ext_cap = (uint16_t)off;
	fn->ext_cap_end = (uint16_t)(off + len);
	return (uint16_t)off;
}

uint8_t pci_find_capability(const struct pci_function *fn, uint8_t id)
{
	if (!(pci_get16(fn, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	/* "The bottom two bits are reserved ... software must mask these bits
	 * off" (6.7); a chain longer than fits in 192 bytes is a loop. */
	unsigned off = pci_get8(fn, PCI_CAPABILITY_LIST) & ~3u;
	for (unsigned n = 0; off >= PCI_CAPABILITY_START && n < PCI_CAP_MAX_CHAIN; n++) {
		if (pci_get8(fn, off + PCI_CAP_ID) == id)
			return (uint8_t)off;
		off = pci_get8(fn, off + PCI_CAP_NEXT) & ~3u;
	}
	return 0;
}

/* --- INTx ----------------------------------------------------------------------- */

/* PCI LB 3.0 6.2.2-6.2.3: the pin is asserted only while Interrupt Status is
 * 1 and Interrupt Disable is 0; 6.8: not at all while MSI or MSI-X is
 * enabled. Status bit 3 reflects the request regardless. */
static void update_intx(struct pci_function *fn)
{
	uint16_t status = pci_get16(fn, PCI_STATUS) & ~PCI_STATUS_INTERRUPT;
	if (fn->intx_request)
		status |= PCI_STATUS_INTERRUPT;
	pci_set16(fn, PCI_STATUS, status);

	bool level = fn->intx_request && pci_get8(fn, PCI_INTERRUPT_PIN) != PCI_INTERRUPT_PIN_NONE &&
		     !(pci_get16(fn, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) &&
		     !pci_msi_enabled(fn) && !pci_msix_enabled(fn);
	if (level != fn->intx_asserted) {
		fn->intx_asserted = level;
		irq_set(&fn->intx, level);
	}
}

void pci_set_intx(struct pci_function *fn, bool level)
{
	fn->intx_request = level;
	update_intx(fn);
}

/* --- Sending a message ------------------------------------------------------- */

/* An MSI or MSI-X message is a DWORD memory write by the function (PCI LB
 * 3.0 6.8.3.4), so it needs Bus Master Enable (PCIe Base 3.0 7.5.1.1: clearing
 * it "disables MSI/MSI-X interrupt Messages as well"). */
static enum pci_notify_result send_message(struct pci_function *fn, uint64_t address, uint32_t data)
{
	if (!(pci_get16(fn, PCI_COMMAND) & PCI_COMMAND_MASTER)) {
		fn->messages_blocked++;
		return PCI_NOTIFY_BLOCKED;
	}
	if (fn->segment && fn->segment->msi)
		fn->segment->msi(fn->segment->msi_ctx, address, data);
	return PCI_NOTIFY_SENT;
}

/* --- MSI (PCI LB 3.0 6.8.1) ---------------------------------------------------- */

static uint16_t msi_flags(const struct pci_function *fn)
{
	return pci_get16(fn, fn->msi_cap + PCI_MSI_FLAGS);
}

static bool msi_is64(const struct pci_function *fn)
{
	return msi_flags(fn) & PCI_MSI_FLAGS_64BIT;
}

static unsigned msi_mask_reg(const struct pci_function *fn)
{
	return fn->msi_cap + (msi_is64(fn) ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

static unsigned msi_pending_reg(const struct pci_function *fn)
{
	return fn->msi_cap + (msi_is64(fn) ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
}

uint8_t pci_add_msi(struct pci_function *fn, unsigned vectors, bool addr64, bool per_vector_mask)
{
	if (fn->msi_cap || !is_power_of_2(vectors) || vectors > PCI_MSI_MAX_VECTORS)
		return 0;
	/* Sizes of the four layouts (6.8.1, Figure 6-9): 32-bit 0x0a, 64-bit
	 * 0x0e, each 0x0a longer with Mask Bits and Pending Bits. */
	uint8_t len = (uint8_t)((addr64 ? 0x0e : 0x0a) + (per_vector_mask ? 0x0a : 0));
	uint8_t cap = pci_add_capability(fn, PCI_CAP_ID_MSI, len);
	if (!cap)
		return 0;
	unsigned log2 = 0;
	while ((1u << log2) < vectors)
		log2++;
	uint16_t flags = (uint16_t)(log2 << 1);
	if (addr64)
		flags |= PCI_MSI_FLAGS_64BIT;
	if (per_vector_mask)
		flags |= PCI_MSI_FLAGS_MASKBIT;
	fn->msi_cap = cap;
	/* Message Control (6.8.1.3): MSI Enable and Multiple Message Enable
	 * are written by software, the rest says what the function can do. */
	pci_set16(fn, cap + PCI_MSI_FLAGS, flags);
	pci_set_wmask(fn, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	/* Message Address (6.8.1.4): DWORD aligned, bits 1:0 read 0. */
	pci_set_wmask(fn, cap + PCI_MSI_ADDRESS_LO, 4, 0xfffffffc);
	if (addr64)
		pci_set_wmask(fn, cap + PCI_MSI_ADDRESS_HI, 4, 0xffffffff);
	/* Message Data (6.8.1.6): 16 bits. */
	pci_set_wmask(fn, cap + (addr64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, 0xffff);
	/* Mask Bits (6.8.1.7): one per capable vector; Pending Bits (6.8.1.8)
	 * are read-only. Both reset to 0. */
	if (per_vector_mask)
		pci_set_wmask(fn, msi_mask_reg(fn), 4,
			      vectors == 32 ? 0xffffffffu : (uint32_t)BIT(vectors) - 1);
	return cap;
}

bool pci_msi_enabled(const struct pci_function *fn)
{
	return fn->msi_cap && (msi_flags(fn) & PCI_MSI_FLAGS_ENABLE);
}

unsigned pci_msi_vectors(const struct pci_function *fn)
{
	if (!fn->msi_cap)
		return 0;
	uint16_t flags = msi_flags(fn);
	unsigned capable = (flags & PCI_MSI_FLAGS_QMASK) >> 1;
	unsigned enabled = (flags & PCI_MSI_FLAGS_QSIZE) >> 4;
	/* Software must not enable more than capable; if it does (or writes a
	 * reserved encoding), allocate what the function can use. */
	return 1u << MIN(enabled, capable);
}

static bool msi_per_vector_mask(const struct pci_function *fn)
{
	return msi_flags(fn) & PCI_MSI_FLAGS_MASKBIT;
}

static enum pci_notify_result msi_send(struct pci_function *fn, unsigned vector)
{
	unsigned cap = fn->msi_cap;
	bool is64 = msi_is64(fn);
	uint64_t address = pci_get32(fn, cap + PCI_MSI_ADDRESS_LO);
	if (is64)
		address |= (uint64_t)pci_get32(fn, cap + PCI_MSI_ADDRESS_HI) << 32;
	uint32_t data = pci_get16(fn, cap + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32));
	/* 6.8.1.6: with n vectors allocated the function puts the vector
	 * number in the low log2(n) bits of Message Data. */
	unsigned n = pci_msi_vectors(fn);
	data = (data & ~(n - 1)) | vector;
	return send_message(fn, address, data);
}

enum pci_notify_result pci_msi_notify(struct pci_function *fn, unsigned vector)
{
	if (!pci_msi_enabled(fn) || vector >= pci_msi_vectors(fn))
		return PCI_NOTIFY_DISABLED;
	/* 6.8.3.5: while a vector is masked the function must not send its
	 * message, and sets its Pending bit instead. */
	if (msi_per_vector_mask(fn) && (pci_get32(fn, msi_mask_reg(fn)) & BIT(vector))) {
		pci_set32(fn, msi_pending_reg(fn), pci_get32(fn, msi_pending_reg(fn)) | (uint32_t)BIT(vector));
		return PCI_NOTIFY_PENDING;
	}
	return msi_send(fn, vector);
}

/* 6.8.3.5: "When software unmasks a vector whose associated Pending bit is
 * set, the function must schedule sending the associated message, and clear
 * the Pending bit as soon as the message has been sent." Pending messages
 * also wait for MSI Enable and Bus Master Enable. */
static void msi_deliver_pending(struct pci_function *fn)
{
	if (!pci_msi_enabled(fn) || !msi_per_vector_mask(fn) ||
	    !(pci_get16(fn, PCI_COMMAND) & PCI_COMMAND_MASTER))
		return;
	unsigned n = pci_msi_vectors(fn);
	for (unsigned v = 0; v < n; v++) {
		uint32_t pending = pci_get32(fn, msi_pending_reg(fn));
		if (!(pending & BIT(v)) || (pci_get32(fn, msi_mask_reg(fn)) & BIT(v)))
			continue;
		pci_set32(fn, msi_pending_reg(fn), pending & ~(uint32_t)BIT(v));
		msi_send(fn, v);
	}
}

/* --- MSI-X (PCI LB 3.0 6.8.2) -------------------------------------------------- */

static uint16_t msix_flags(const struct pci_function *fn)
{
	return pci_get16(fn, fn->msix_cap + PCI_MSIX_FLAGS);
}

bool pci_msix_enabled(const struct pci_function *fn)
{
	return fn->msix_cap && (msix_flags(fn) & PCI_MSIX_FLAGS_ENABLE);
}

static bool msix_function_masked(const struct pci_function *fn)
{
	return msix_flags(fn) & PCI_MSIX_FLAGS_MASKALL;
}

/* Where the table or PBA is in its memory BAR: the range [offset, offset +
 * len) of BAR bir, which must be a memory BAR that holds it. */
static bool msix_region_ok(const struct pci_function *fn, unsigned bir, uint32_t offset, uint64_t len)
{
	return bir < PCI_NUM_BARS && fn->bars[bir].size != 0 &&
	       !(fn->bars[bir].flags & PCI_BAR_SPACE_IO) && IS_ALIGNED(offset, 8) &&
	       range_within(offset, len, 0, fn->bars[bir].size);
}

static uint64_t msix_pba_len(unsigned entries)
{
	return 8 * ((entries + 63) / 64); /* QWORDs of pending bits (6.8.2.10) */
}

uint8_t pci_add_msix(struct pci_function *fn, unsigned entries, unsigned table_bar,
		     uint32_t table_offset, unsigned pba_bar, uint32_t pba_offset)
{
	uint64_t table_len = (uint64_t)entries * PCI_MSIX_ENTRY_SIZE, pba_len = msix_pba_len(entries);
	if (fn->msix_cap || entries == 0 || entries > PCI_MSIX_MAX_ENTRIES ||
	    !msix_region_ok(fn, table_bar, table_offset, table_len) ||
	    !msix_region_ok(fn, pba_bar, pba_offset, pba_len))
		return 0;
	/* 6.8.2: the table and the PBA may share a BAR but must not overlap. */
	if (table_bar == pba_bar && ranges_overlap(table_offset, table_len, pba_offset, pba_len))
		return 0;
	uint8_t cap = pci_add_capability(fn, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_SIZE);
	if (!cap)
		return 0;
	fn->msix_cap = cap;
	fn->msix_entries = entries;
	fn->msix_table_bar = table_bar;
	fn->msix_table_offset = table_offset;
	fn->msix_pba_bar = pba_bar;
	fn->msix_pba_offset = pba_offset;
	/* Message Control (6.8.2.3): Table Size is read-only N-1; Function
	 * Mask and MSI-X Enable are read-write, 0 at reset. */
	pci_set16(fn, cap + PCI_MSIX_FLAGS, (uint16_t)(entries - 1));
	pci_set_wmask(fn, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE);
	/* Table and PBA Offset/BIR (6.8.2.4-5): read-only. */
	pci_set32(fn, cap + PCI_MSIX_TABLE, table_offset | table_bar);
	pci_set32(fn, cap + PCI_MSIX_PBA, pba_offset | pba_bar);
	/* 6.8.2.9: each entry's Mask bit is set at reset. */
	for (unsigned i = 0; i < entries; i++)
		fn->msix_table[i] = (struct pci_msix_entry){ .vector_ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT };
	memset(fn->msix_pba, 0, sizeof(fn->msix_pba));
	return cap;
}

bool pci_msix_pending(const struct pci_function *fn, unsigned entry)
{
	return entry < fn->msix_entries && (fn->msix_pba[entry / 64] & BIT(entry % 64));
}

static void msix_set_pending(struct pci_function *fn, unsigned entry, bool pending)
{
	if (pending)
		fn->msix_pba[entry / 64] |= BIT(entry % 64);
	else
		fn->msix_pba[entry / 64] &= ~BIT(entry % 64);
}

static bool msix_entry_masked(const struct pci_function *fn, unsigned entry)
{
	return msix_function_masked(fn) || (fn->msix_table[entry].vector_ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static enum pci_notify_result msix_send(struct pci_function *fn, unsigned entry)
{
	const struct pci_msix_entry *e = &fn->msix_table[entry];
	return send_message(fn, (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
}

enum pci_notify_result pci_msix_notify(struct pci_function *fn, unsigned entry)
{
	if (!pci_msix_enabled(fn) || entry >= fn->msix_entries)
		return PCI_NOTIFY_DISABLED;
	/* 6.8.3.5: masked by its own Mask bit or by Function Mask, the entry
	 * sets its Pending bit instead of sending. */
	if (msix_entry_masked(fn, entry)) {
		msix_set_pending(fn, entry, true);
		return PCI_NOTIFY_PENDING;
	}
	return msix_send(fn, entry);
}

static void msix_deliver_pending(struct pci_function *fn)
{
	if (!pci_msix_enabled(fn) || msix_function_masked(fn) ||
	    !(pci_get16(fn, PCI_COMMAND) & PCI_COMMAND_MASTER))
		return;
	for (unsigned i = 0; i < fn->msix_entries; i++) {
		if (!pci_msix_pending(fn, i) || msix_entry_masked(fn, i))
			continue;
		msix_set_pending(fn, i, false);
		msix_send(fn, i);
	}
}

/* The DWORD of an entry at byte offset field (0, 4, 8, 12) and the bits
 * software may write there: Message Address bits 1:0 read 0 (6.8.2.6),
 * Vector Control has only its Mask bit (6.8.2.9). */
static uint32_t *msix_word(struct pci_msix_entry *e, unsigned field, uint32_t *wmask)
{
	switch (field) {
	case PCI_MSIX_ENTRY_ADDR_LO:
		*wmask = 0xfffffffc;
		return &e->addr_lo;
	case PCI_MSIX_ENTRY_ADDR_HI:
		*wmask = 0xffffffff;
		return &e->addr_hi;
	case PCI_MSIX_ENTRY_DATA:
		*wmask = 0xffffffff;
		return &e->data;
	default:
		*wmask = PCI_MSIX_ENTRY_CTRL_MASKBIT;
		return &e->vector_ctrl;
	}
}

/* Byte i of the table, for reads (write false) or writes. "Software must use
 * aligned full DWORD or aligned full QWORD transactions; otherwise, the result
 * is undefined" (6.8.2): this model makes other widths act on the bytes they
 * cover. */
static uint8_t msix_table_byte(struct pci_function *fn, uint64_t i, bool write, uint8_t value)
{
	uint32_t wmask;
	uint32_t *w = msix_word(&fn->msix_table[i / PCI_MSIX_ENTRY_SIZE], (unsigned)(i % PCI_MSIX_ENTRY_SIZE) & ~3u,
				&wmask);
	unsigned shift = 8 * (unsigned)(i % 4);
	if (write) {
		uint32_t m = wmask & (0xffu << shift);
		*w = (*w & ~m) | (((uint32_t)value << shift) & m);
	}
	return (uint8_t)(*w >> shift);
}

/* The access [offset, offset+size) of BAR bar touches the table or PBA. */
static bool msix_hits(const struct pci_function *fn, unsigned bar, uint64_t offset, unsigned size,
		      unsigned region_bar, uint32_t region_offset, uint64_t region_len)
{
	return fn->msix_cap && bar == region_bar && ranges_overlap(offset, size, region_offset, region_len);
}

/* Reads or writes the table or PBA bytes the access covers; bytes outside
 * them read 0 and take no writes. Returns true if the access was MSI-X's. */
static bool msix_bar_access(struct pci_function *fn, unsigned bar, uint64_t offset, unsigned size,
			    bool write, uint64_t *value)
{
	uint64_t table_len = (uint64_t)fn->msix_entries * PCI_MSIX_ENTRY_SIZE;
	uint64_t pba_len = msix_pba_len(fn->msix_entries);
	bool table = msix_hits(fn, bar, offset, size, fn->msix_table_bar, fn->msix_table_offset, table_len);
	bool pba = msix_hits(fn, bar, offset, size, fn->msix_pba_bar, fn->msix_pba_offset, pba_len);
	if (!table && !pba)
		return false;
	uint64_t result = 0;
	for (unsigned b = 0; b < size; b++) {
		uint64_t at = offset + b;
		uint8_t byte = 0;
		if (table && at >= fn->msix_table_offset && at - fn->msix_table_offset < table_len) {
			byte = msix_table_byte(fn, at - fn->msix_table_offset, write, (uint8_t)(*value >> (8 * b)));
		} else if (pba && at >= fn->msix_pba_offset && at - fn->msix_pba_offset < pba_len) {
			/* Pending bits are read-only to software (6.8.2.10). */
			uint64_t i = at - fn->msix_pba_offset;
			byte = (uint8_t)(fn->msix_pba[i / 8] >> (8 * (i % 8)));
		}
		result |= (uint64_t)byte << (8 * b);
	}
	if (write)
		msix_deliver_pending(fn); /* a Mask bit may have been cleared */
	else
		*value = result;
	return true;
}

/* --- Configuration transactions ---------------------------------------------- */

uint32_t pci_config_read(const struct pci_function *fn, unsigned reg, unsigned size)
{
	return pci_get(fn, reg, size);
}

void pci_config_write(struct pci_function *fn, unsigned reg, unsigned size, uint32_t value)
{
	for (unsigned i = 0; i < size && i < 4 && reg + i < PCI_CONFIG_SPACE_SIZE; i++) {
		unsigned at = reg + i;
		uint8_t b = (uint8_t)(value >> (8 * i));
		uint8_t v = (uint8_t)((fn->config[at] & ~fn->wmask[at]) | (b & fn->wmask[at]));
		fn->config[at] = (uint8_t)(v & ~(b & fn->w1cmask[at]));
	}
	/* Command, MSI and MSI-X controls and mask bits may have changed what
	 * the function's interrupt outputs do. */
	update_intx(fn);
	msi_deliver_pending(fn);
	msix_deliver_pending(fn);
	if (fn->config_write)
		fn->config_write(fn->opaque, reg, size, value);
}

/* --- The segment ------------------------------------------------------------- */

struct pci_function *pci_lookup(struct pci_segment *seg, unsigned device, unsigned function)
{
	if (device >= PCI_MAX_DEVICES || function >= PCI_MAX_FUNCTIONS)
		return NULL;
	return seg->functions[device][function];
}

bool pci_register_function(struct pci_segment *seg, unsigned device, unsigned function,
			   struct pci_function *fn)
{
	if (!fn || fn->segment || device >= PCI_MAX_DEVICES || function >= PCI_MAX_FUNCTIONS ||
	    seg->functions[device][function])
		return false;
	/* Software probes function 0 and reads its Header Type to learn whether
	 * to look at 1-7 (6.2.1): a device without function 0 is invisible. */
	if (function > 0 && !seg->functions[device][0])
		return false;
	seg->functions[device][function] = fn;
	fn->segment = seg;
	fn->device = (uint8_t)device;
	fn->function = (uint8_t)function;
	if (function > 0)
		for (unsigned f = 0; f < PCI_MAX_FUNCTIONS; f++) {
			struct pci_function *g = seg->functions[device][f];
			if (g)
				pci_set8(g, PCI_HEADER_TYPE, pci_get8(g, PCI_HEADER_TYPE) | PCI_HEADER_TYPE_MULTI_FUNCTION);
		}
	return true;
}

bool pci_segment_init(struct pci_segment *seg, uint64_t ecam_base,
		      void (*msi)(void *ctx, uint64_t address, uint32_t data), void *msi_ctx)
{
	memset(seg, 0, sizeof(*seg));
	seg->ecam_base = ecam_base;
	seg->msi = msi;
	seg->msi_ctx = msi_ctx;
	pci_function_init(&seg->host_bridge, PCI_HOST_BRIDGE_VENDOR, PCI_HOST_BRIDGE_DEVICE,
			  PCI_CLASS_HOST_BRIDGE, 0);
	pci_register_function(seg, 0, 0, &seg->host_bridge);
	return IS_ALIGNED(ecam_base, PCI_ECAM_SIZE) && ecam_base + PCI_ECAM_SIZE > ecam_base;
}

bool pci_segment_attach(struct pci_segment *seg, struct bus *pio, struct bus *mmio)
{
	const struct bus_device address = { "PCI CONFIG_ADDRESS", PCI_CONFIG_ADDRESS_PORT, 4,
					    pci_config_address_read, pci_config_address_write, seg };
	const struct bus_device data = { "PCI CONFIG_DATA", PCI_CONFIG_DATA_PORT, 4,
					 pci_config_data_read, pci_config_data_write, seg };
	const struct bus_device ecam = { "PCI ECAM", seg->ecam_base, PCI_ECAM_SIZE,
					 pci_ecam_read, pci_ecam_write, seg };
	return bus_register(pio, &address) && bus_register(pio, &data) && bus_register(mmio, &ecam);
}

/* --- Configuration mechanism #1 (PCI LB 3.0 3.2.2.3.2) ------------------------ */

/* CONFIG_ADDRESS: bit 31 enable, 30:24 reserved (read 0), 23:16 bus, 15:11
 * device, 10:8 function, 7:2 register (DWORD), 1:0 read 0. */
#define CONFIG_ADDRESS_WRITABLE (PCI_CONFIG_ENABLE | 0x00fffffcu)

uint64_t pci_config_address_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_segment *seg = opaque;
	/* "On full DWORD I/O reads to CONFIG_ADDRESS, the bridge must return
	 * the data in CONFIG_ADDRESS. Any other types of accesses to this
	 * address (non-DWORD) have no effect on CONFIG_ADDRESS and are
	 * executed as normal I/O transactions." */
	if (offset == 0 && size == 4)
		return seg->config_address;
	if (seg->legacy_read)
		return seg->legacy_read(seg->legacy_opaque, offset, size) & size_mask(size);
	return size_mask(size);
}

void pci_config_address_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pci_segment *seg = opaque;
	if (offset == 0 && size == 4)
		seg->config_address = (uint32_t)value & CONFIG_ADDRESS_WRITABLE;
	else if (seg->legacy_write)
		seg->legacy_write(seg->legacy_opaque, offset, size, value & size_mask(size));
}

/* The function CONFIG_ADDRESS selects, or NULL: enable clear (the access is
 * an ordinary I/O cycle nobody claims), another bus (no bridges here), or no
 * function there (master abort). */
static struct pci_function *config_address_target(struct pci_segment *seg)
{
	uint32_t a = seg->config_address;
	if (!(a & PCI_CONFIG_ENABLE) || ((a >> 16) & 0xff) != 0)
		return NULL;
	return pci_lookup(seg, (a >> 11) & 0x1f, (a >> 8) & 0x7);
}

/* CONFIG_DATA: byte n of the selected DWORD is port 0xCFC + n, so a byte
 * or word access reaches register + (port - 0xCFC). A read that finds no
 * function returns all-ones (master abort, 6.1). */
uint64_t pci_config_data_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_segment *seg = opaque;
	struct pci_function *fn = config_address_target(seg);
	if (!fn || offset >= 4)
		return size_mask(size);
	unsigned n = MIN(size, 4 - (unsigned)offset); /* the bus never crosses 0xCFF */
	uint64_t ones_above = size_mask(size) & ~size_mask(n);
	return pci_config_read(fn, (seg->config_address & 0xfc) + (unsigned)offset, n) | ones_above;
}

void pci_config_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pci_segment *seg = opaque;
	struct pci_function *fn = config_address_target(seg);
	if (!fn || offset >= 4)
		return; /* dropped */
	unsigned n = MIN(size, 4 - (unsigned)offset);
	pci_config_write(fn, (seg->config_address & 0xfc) + (unsigned)offset, n, (uint32_t)value);
}

/* --- ECAM (PCIe Base 3.0 7.2.2) ------------------------------------------------ */

static struct pci_function *ecam_target(struct pci_segment *seg, uint64_t offset)
{
	if ((offset >> PCI_ECAM_BUS_SHIFT) != 0)
		return NULL; /* only bus 0 is in the window */
	return pci_lookup(seg, (offset >> PCI_ECAM_DEVICE_SHIFT) & 0x1f, (offset >> PCI_ECAM_FUNCTION_SHIFT) & 0x7);
}

/* A Root Complex need not turn a memory access that crosses a DWORD
 * boundary into one configuration request (7.2.2); this one splits it into
 * a request per DWORD, so a QWORD access acts as two DWORD accesses. */
uint64_t pci_ecam_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_segment *seg = opaque;
	uint64_t result = 0;
	for (unsigned done = 0; done < size && done < 8;) {
		uint64_t at = offset + done;
		unsigned n = MIN(size - done, 4 - (unsigned)(at & 3));
		struct pci_function *fn = ecam_target(seg, at);
		uint64_t v = fn ? pci_config_read(fn, (unsigned)(at & 0xfff), n) : size_mask(n);
		result |= v << (8 * done);
		done += n;
	}
	return result;
}

void pci_ecam_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pci_segment *seg = opaque;
	for (unsigned done = 0; done < size && done < 8;) {
		uint64_t at = offset + done;
		unsigned n = MIN(size - done, 4 - (unsigned)(at & 3));
		struct pci_function *fn = ecam_target(seg, at);
		if (fn)
			pci_config_write(fn, (unsigned)(at & 0xfff), n, (uint32_t)(value >> (8 * done)));
		done += n;
	}
}

/* --- BAR decoding (PCI LB 3.0 6.2.5.1) ------------------------------------------ */

uint64_t pci_bar_address(const struct pci_function *fn, unsigned bar)
{
	if (bar >= PCI_NUM_BARS || fn->bars[bar].size == 0)
		return PCI_BAR_UNMAPPED;
	uint64_t lo = pci_get32(fn, PCI_BAR0 + 4 * bar);
	if (fn->bars[bar].flags & PCI_BAR_SPACE_IO)
		return lo & ~(uint64_t)PCI_BAR_IO_FLAGS_MASK;
	uint64_t address = lo & ~(uint64_t)PCI_BAR_MEM_FLAGS_MASK;
	if (fn->bars[bar].flags & PCI_BAR_MEM_TYPE_64)
		address |= (uint64_t)pci_get32(fn, PCI_BAR0 + 4 * (bar + 1)) << 32;
	return address;
}

bool pci_bar_decoding(const struct pci_function *fn, unsigned bar)
{
	uint64_t address = pci_bar_address(fn, bar);
	if (address == PCI_BAR_UNMAPPED)
		return false;
	uint64_t size = fn->bars[bar].size;
	uint16_t command = pci_get16(fn, PCI_COMMAND);
	if (fn->bars[bar].flags & PCI_BAR_SPACE_IO)
		/* x86 port space is 64 KiB: a BAR beyond it cannot be reached. */
		return (command & PCI_COMMAND_IO) && address + size <= 0x10000;
	return (command & PCI_COMMAND_MEMORY) && address + size - 1 >= address;
}

bool pci_find_bar(struct pci_segment *seg, bool is_io, uint64_t address, unsigned size,
		  struct pci_function **fn_out, unsigned *bar_out, uint64_t *offset_out)
{
	for (unsigned d = 0; d < PCI_MAX_DEVICES; d++)
		for (unsigned f = 0; f < PCI_MAX_FUNCTIONS; f++) {
			struct pci_function *fn = seg->functions[d][f];
			if (!fn)
				continue;
			for (unsigned b = 0; b < PCI_NUM_BARS; b++) {
				if (!pci_bar_decoding(fn, b) || !(fn->bars[b].flags & PCI_BAR_SPACE_IO) != !is_io)
					continue;
				uint64_t base = pci_bar_address(fn, b);
				if (!range_within(address, size, base, fn->bars[b].size))
					continue;
				*fn_out = fn;
				*bar_out = b;
				*offset_out = address - base;
				return true;
			}
		}
	return false;
}

uint64_t pci_bar_read(struct pci_function *fn, unsigned bar, uint64_t offset, unsigned size)
{
	uint64_t value = 0;
	if (msix_bar_access(fn, bar, offset, size, false, &value))
		return value;
	if (!fn->bar_read)
		return size_mask(size);
	return fn->bar_read(fn->opaque, bar, offset, size) & size_mask(size);
}

void pci_bar_write(struct pci_function *fn, unsigned bar, uint64_t offset, unsigned size, uint64_t value)
{
	value &= size_mask(size);
	if (msix_bar_access(fn, bar, offset, size, true, &value))
		return;
	if (fn->bar_write)
		fn->bar_write(fn->opaque, bar, offset, size, value);
}

uint64_t pci_space_read(struct pci_segment *seg, bool is_io, uint64_t address, unsigned size,
			bool *claimed)
{
	struct pci_function *fn;
	unsigned bar;
	uint64_t offset;
	*claimed = pci_find_bar(seg, is_io, address, size, &fn, &bar, &offset);
	return *claimed ? pci_bar_read(fn, bar, offset, size) : size_mask(size);
}

void pci_space_write(struct pci_segment *seg, bool is_io, uint64_t address, unsigned size,
		     uint64_t value, bool *claimed)
{
	struct pci_function *fn;
	unsigned bar;
	uint64_t offset;
	*claimed = pci_find_bar(seg, is_io, address, size, &fn, &bar, &offset);
	if (*claimed)
		pci_bar_write(fn, bar, offset, size, value);
}
