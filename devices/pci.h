/* A PCI segment with one bus (bus 0): 32 devices x 8 functions, reached by
 * configuration mechanism #1 (ports 0xCF8/0xCFC) and by the PCI Express
 * enhanced configuration access mechanism (ECAM, 1 MiB of MMIO for bus 0).
 *
 * A function is a struct pci_function the device model owns and registers at
 * (device, function). It carries the whole 4 KiB configuration space of a
 * PCI Express function (256 bytes of PCI-compatible space and 3840 bytes of
 * extended space, PCIe Base 3.0 7.2.2), with two masks per byte: the bits a
 * configuration write may change, and the bits a write of 1 clears (RW1C).
 * Everything else is read-only, as the device model set it. Mechanism #1
 * reaches the first 256 bytes, ECAM all 4096.
 *
 * What is emulated: header type 0 (PCI LB 3.0 6.1), Command and Status
 * (6.2.2, 6.2.3), Interrupt Line/Pin (6.2.4), BARs of every kind with sizing
 * (6.2.5.1), the capability list (6.7) and the extended capability list
 * (PCIe Base 3.0 7.9), MSI with 32- or 64-bit addresses, up to 32 vectors
 * and per-vector masking (PCI LB 3.0 6.8.1), MSI-X with its table and PBA in
 * a memory BAR and function masking (6.8.2), INTx through an irq_line with
 * Interrupt Disable and Interrupt Status.
 *
 * Not emulated: header type 1 (PCI-to-PCI bridges) and buses other than 0
 * (reads all-ones, as for an absent function); expansion ROM BARs (the
 * register reads 0: "no ROM"); BIST; parity and system errors (their Status
 * bits are RW1C but never set); MSI Extended Message Data. The host bridge
 * has no chipset registers (no PAM, SMRAM or PCIEXBAR): the ECAM base is
 * fixed by the hypervisor and reported to the guest through ACPI MCFG.
 * Functions have no PCI Express capability unless a device model adds one,
 * so software treats them as conventional PCI and reads 256 bytes; their
 * extended space reads 0 ("no extended capabilities", PCIe Base 3.0 7.9.2).
 *
 * Wiring: pci_segment_attach claims the configuration ports and the ECAM
 * window; the hypervisor's MMIO and port handlers call pci_space_read/write
 * for accesses no fixed device claims (BARs must sit where EPT maps no RAM).
 * Messages leave through the segment's msi callback as raw (address, data)
 * pairs; decoding them for the local APICs is not this module's job. */
#ifndef DEVICES_PCI_H
#define DEVICES_PCI_H

#include "lib/types.h"
#include "devices/bus.h"
#include "devices/irq.h"

#define PCI_MAX_DEVICES 32
#define PCI_MAX_FUNCTIONS 8
#define PCI_CONFIG_SPACE_SIZE 4096      /* PCIe Base 3.0 7.2.2 */
#define PCI_COMPAT_CONFIG_SIZE 256      /* what mechanism #1 reaches */
#define PCI_NUM_BARS 6

/* Configuration mechanism #1 (PCI LB 3.0 3.2.2.3.2). */
#define PCI_CONFIG_ADDRESS_PORT 0xcf8
#define PCI_CONFIG_DATA_PORT 0xcfc
#define PCI_CONFIG_ENABLE 0x80000000u   /* CONFIG_ADDRESS bit 31 */

/* ECAM (PCIe Base 3.0 7.2.2, Table 7-1): A[27:20] bus, A[19:15] device,
 * A[14:12] function, A[11:0] register. One bus takes 1 MiB. */
#define PCI_ECAM_BUS_SHIFT 20
#define PCI_ECAM_DEVICE_SHIFT 15
#define PCI_ECAM_FUNCTION_SHIFT 12
#define PCI_ECAM_SIZE MiB(1)

/* Type 0 configuration header (PCI LB 3.0 6.1, Figure 6-1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09             /* programming interface */
#define PCI_CLASS_SUB 0x0a
#define PCI_CLASS_BASE 0x0b
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_BIST 0x0f
#define PCI_BAR0 0x10                   /* BAR n at 0x10 + 4n */
#define PCI_CARDBUS_CIS 0x28
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_MIN_GNT 0x3e
#define PCI_MAX_LAT 0x3f
#define PCI_CAPABILITY_START 0x40       /* first byte after the header */

#define PCI_HEADER_TYPE_MULTI_FUNCTION 0x80

/* Command register (PCI LB 3.0 6.2.2). */
#define PCI_COMMAND_IO 0x0001           /* I/O Space: decode I/O BARs */
#define PCI_COMMAND_MEMORY 0x0002       /* Memory Space: decode memory BARs */
#define PCI_COMMAND_MASTER 0x0004       /* Bus Master: MSI/MSI-X are memory writes */
#define PCI_COMMAND_PARITY 0x0040
#define PCI_COMMAND_SERR 0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
/* The bits a configuration write may change; the rest are hardwired to 0
 * (Special Cycles, MWI, VGA snoop, fast back-to-back: not applicable). */
#define PCI_COMMAND_WRITABLE (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
			      PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

/* Status register (PCI LB 3.0 6.2.3). */
#define PCI_STATUS_INTERRUPT 0x0008     /* Interrupt Status, read-only */
#define PCI_STATUS_CAP_LIST 0x0010      /* Capabilities List, read-only */
#define PCI_STATUS_MASTER_PARITY 0x0100
#define PCI_STATUS_SIG_TARGET_ABORT 0x0800
#define PCI_STATUS_REC_TARGET_ABORT 0x1000
#define PCI_STATUS_REC_MASTER_ABORT 0x2000
#define PCI_STATUS_SIG_SYSTEM_ERROR 0x4000
#define PCI_STATUS_DETECTED_PARITY 0x8000
#define PCI_STATUS_W1C (PCI_STATUS_MASTER_PARITY | PCI_STATUS_SIG_TARGET_ABORT | \
			PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT | \
			PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

/* Base Address Registers (PCI LB 3.0 6.2.5.1). The low bits of a BAR are
 * read-only and say what it is; pci_set_bar takes them as its flags. */
#define PCI_BAR_SPACE_IO 0x1            /* bit 0: I/O space */
#define PCI_BAR_MEM_TYPE_32 0x0         /* bits 2:1 = 00: anywhere below 4 GiB */
#define PCI_BAR_MEM_TYPE_64 0x4         /* bits 2:1 = 10: anywhere, two registers */
#define PCI_BAR_MEM_PREFETCH 0x8        /* bit 3: prefetchable */
#define PCI_BAR_IO_FLAGS_MASK 0x3
#define PCI_BAR_MEM_FLAGS_MASK 0xf
#define PCI_BAR_UNMAPPED UINT64_MAX     /* from pci_bar_address: no such BAR */
#define PCI_BAR_MIN_MEM_SIZE 16
#define PCI_BAR_MIN_IO_SIZE 4
#define PCI_BAR_MAX_IO_SIZE 256         /* "should not request more than 256 bytes" */

/* Interrupt Pin (PCI LB 3.0 6.2.4): 0 none, 1-4 INTA#-INTD#. */
#define PCI_INTERRUPT_PIN_NONE 0
#define PCI_INTA 1
#define PCI_INTD 4

/* Capability IDs (PCI LB 3.0 Appendix H). */
#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_EXP 0x10
#define PCI_CAP_ID_MSIX 0x11
/* Every capability starts with its ID and the offset of the next one. */
#define PCI_CAP_ID 0
#define PCI_CAP_NEXT 1
#define PCI_CAP_MAX_CHAIN 48            /* (256 - 64) / 4: a longer walk loops */

/* Extended capability header (PCIe Base 3.0 7.9.2): ID in 15:0, version in
 * 19:16, next offset in 31:20; the list starts at 0x100. */
#define PCI_EXT_CAP_START 0x100

/* MSI capability (PCI LB 3.0 6.8.1). */
#define PCI_MSI_FLAGS 2                 /* Message Control */
#define PCI_MSI_FLAGS_ENABLE 0x0001
#define PCI_MSI_FLAGS_QMASK 0x000e      /* Multiple Message Capable, log2 */
#define PCI_MSI_FLAGS_QSIZE 0x0070      /* Multiple Message Enable, log2 */
#define PCI_MSI_FLAGS_64BIT 0x0080
#define PCI_MSI_FLAGS_MASKBIT 0x0100    /* per-vector masking capable */
#define PCI_MSI_ADDRESS_LO 4
#define PCI_MSI_ADDRESS_HI 8            /* 64-bit capability only */
#define PCI_MSI_DATA_32 8
#define PCI_MSI_DATA_64 12
#define PCI_MSI_MASK_32 12              /* with per-vector masking */
#define PCI_MSI_MASK_64 16
#define PCI_MSI_PENDING_32 16
#define PCI_MSI_PENDING_64 20
#define PCI_MSI_MAX_VECTORS 32

/* MSI-X capability (PCI LB 3.0 6.8.2). */
#define PCI_MSIX_FLAGS 2                /* Message Control */
#define PCI_MSIX_FLAGS_QSIZE 0x07ff     /* Table Size, N - 1 */
#define PCI_MSIX_FLAGS_MASKALL 0x4000   /* Function Mask */
#define PCI_MSIX_FLAGS_ENABLE 0x8000
#define PCI_MSIX_TABLE 4                /* Table Offset (31:3) / Table BIR (2:0) */
#define PCI_MSIX_PBA 8                  /* PBA Offset (31:3) / PBA BIR (2:0) */
#define PCI_MSIX_BIR_MASK 0x7
#define PCI_MSIX_CAP_SIZE 12
/* A table entry (6.8.2.6-6.8.2.9): 16 bytes. */
#define PCI_MSIX_ENTRY_SIZE 16
#define PCI_MSIX_ENTRY_ADDR_LO 0
#define PCI_MSIX_ENTRY_ADDR_HI 4
#define PCI_MSIX_ENTRY_DATA 8
#define PCI_MSIX_ENTRY_VECTOR_CTRL 12
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1
/* This model's limit (the architecture's is 2048): one PBA QWORD. */
#define PCI_MSIX_MAX_ENTRIES 64

/* What became of an interrupt a device raised by MSI or MSI-X. */
enum pci_notify_result {
	PCI_NOTIFY_DISABLED = 0, /* not enabled, or no such vector/entry: nothing happened */
	PCI_NOTIFY_SENT,         /* the (address, data) write went to the msi callback */
	PCI_NOTIFY_PENDING,      /* masked: the Pending bit is set, sent on unmask */
	PCI_NOTIFY_BLOCKED,      /* Bus Master Enable clear: a function may not write
				  * memory, so the message is lost (PCIe Base 3.0 7.5.1.1) */
};

struct pci_segment;

struct pci_msix_entry {
	uint32_t addr_lo, addr_hi, data, vector_ctrl;
};

struct pci_bar {
	uint64_t size;  /* a power of two; 0: not implemented */
	uint8_t flags;  /* PCI_BAR_* low bits; the read-only part of the register */
};

struct pci_function {
	/* The configuration space as the guest reads it (little-endian). */
	uint8_t config[PCI_CONFIG_SPACE_SIZE];
	uint8_t wmask[PCI_CONFIG_SPACE_SIZE];   /* 1: the bit is read-write */
	uint8_t w1cmask[PCI_CONFIG_SPACE_SIZE]; /* 1: writing 1 clears the bit */
	struct pci_bar bars[PCI_NUM_BARS];      /* the upper half of a 64-bit BAR has size 0 */

	/* The device model's callbacks (any may be NULL) and their argument.
	 * bar_read/bar_write: an access to a decoded BAR, offset from its base
	 * (MSI-X table and PBA accesses are handled here and not passed on).
	 * config_write: after a configuration write took effect, with what was
	 * written (read the new state back with pci_get*), e.g. to follow BAR
	 * moves and Command register changes. */
	uint64_t (*bar_read)(void *opaque, unsigned bar, uint64_t offset, unsigned size);
	void (*bar_write)(void *opaque, unsigned bar, uint64_t offset, unsigned size, uint64_t value);
	void (*config_write)(void *opaque, unsigned reg, unsigned size, uint32_t value);
	void *opaque;

	/* Legacy INTx: the function's pin, routed by the platform. */
	struct irq_line intx;
	bool intx_request;   /* the device wants service (Interrupt Status) */
	bool intx_asserted;  /* the line's level as last driven */

	/* Kept by pci.c. */
	struct pci_segment *segment; /* NULL until registered */
	uint8_t device, function;
	uint8_t last_cap;            /* offset of the last capability, 0: none */
	uint16_t cap_end;            /* first free byte for the next capability */
	uint16_t last_ext_cap;       /* 0: none */
	uint16_t ext_cap_end;
	uint8_t msi_cap, msix_cap;   /* capability offsets, 0: absent */
	unsigned msix_entries;
	unsigned msix_table_bar, msix_pba_bar;
	uint32_t msix_table_offset, msix_pba_offset;
	struct pci_msix_entry msix_table[PCI_MSIX_MAX_ENTRIES];
	uint64_t msix_pba[PCI_MSIX_MAX_ENTRIES / 64];
	unsigned messages_blocked;   /* MSI/MSI-X lost to a clear Bus Master Enable */
};

/* The host bridge at 00:00.0: Red Hat's ID for QEMU's generic PCIe host
 * bridge (1b36:0008, docs/specs/pci-ids in QEMU), a bridge with no chipset
 * registers, which is what this one is; class 06/00/00 (host bridge). */
#define PCI_HOST_BRIDGE_VENDOR 0x1b36
#define PCI_HOST_BRIDGE_DEVICE 0x0008
#define PCI_CLASS_HOST_BRIDGE 0x060000

struct pci_segment {
	struct pci_function *functions[PCI_MAX_DEVICES][PCI_MAX_FUNCTIONS];
	uint32_t config_address;     /* the CONFIG_ADDRESS latch */
	uint64_t ecam_base;
	void (*msi)(void *ctx, uint64_t address, uint32_t data);
	void *msi_ctx;
	/* Byte and word accesses to 0xCF8-0xCFB are not CONFIG_ADDRESS but
	 * ordinary I/O (3.2.2.3.2), e.g. the reset control register at 0xCF9 of
	 * Intel chipsets. They go here (offset from 0xCF8); if NULL they read
	 * all-ones and writes are dropped, as with no device there. */
	uint64_t (*legacy_read)(void *opaque, uint64_t offset, unsigned size);
	void (*legacy_write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
	void *legacy_opaque;
	struct pci_function host_bridge;
};

/* --- The segment ----------------------------------------------------------- */

/* Empty bus 0 plus the host bridge at 00:00.0. ecam_base must be 1 MiB
 * aligned (PCIe Base 3.0 7.2.2: the window is aligned to its size); msi
 * receives every MSI/MSI-X write (may be NULL: messages vanish). */
bool pci_segment_init(struct pci_segment *seg, uint64_t ecam_base,
		      void (*msi)(void *ctx, uint64_t address, uint32_t data), void *msi_ctx);
/* Claims CONFIG_ADDRESS (0xCF8-0xCFB) and CONFIG_DATA (0xCFC-0xCFF) on the
 * port bus and the ECAM window on the MMIO bus. False if a bus refused. */
bool pci_segment_attach(struct pci_segment *seg, struct bus *pio, struct bus *mmio);

/* Puts fn at 00:device.function. Refused: out of range, slot taken, fn
 * already registered, or function > 0 with no function 0 (every device
 * implements function 0, PCI LB 3.0 6.2.1). A second function sets the
 * multi-function bit of the Header Type of them all. */
bool pci_register_function(struct pci_segment *seg, unsigned device, unsigned function,
			   struct pci_function *fn);
struct pci_function *pci_lookup(struct pci_segment *seg, unsigned device, unsigned function);

/* Bus callbacks: opaque is the segment. CONFIG_ADDRESS at 0xCF8 (len 4),
 * CONFIG_DATA at 0xCFC (len 4), the ECAM window (len PCI_ECAM_SIZE). */
uint64_t pci_config_address_read(void *opaque, uint64_t offset, unsigned size);
void pci_config_address_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);
uint64_t pci_config_data_read(void *opaque, uint64_t offset, unsigned size);
void pci_config_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);
uint64_t pci_ecam_read(void *opaque, uint64_t offset, unsigned size);
void pci_ecam_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

/* --- BAR decoding ---------------------------------------------------------- */

/* The base the guest programmed, whether decoded or not; PCI_BAR_UNMAPPED
 * for an unimplemented BAR or the upper half of a 64-bit one. */
uint64_t pci_bar_address(const struct pci_function *fn, unsigned bar);
/* The BAR answers accesses now: implemented, its space enabled in Command,
 * and its range neither wraps nor (I/O) leaves the 64 KiB port space. */
bool pci_bar_decoding(const struct pci_function *fn, unsigned bar);
/* The function and BAR whose decoded range holds [address, address+size)
 * in I/O (is_io) or memory space; *offset from the BAR's base. */
bool pci_find_bar(struct pci_segment *seg, bool is_io, uint64_t address, unsigned size,
		  struct pci_function **fn, unsigned *bar, uint64_t *offset);
/* An access to a BAR: the MSI-X table and PBA, or the device's bar_read/
 * bar_write (none: reads all-ones, writes dropped). */
uint64_t pci_bar_read(struct pci_function *fn, unsigned bar, uint64_t offset, unsigned size);
void pci_bar_write(struct pci_function *fn, unsigned bar, uint64_t offset, unsigned size, uint64_t value);
/* pci_find_bar then pci_bar_read/write, for the hypervisor's MMIO and port
 * handlers after the fixed devices: *claimed says whether a BAR answered
 * (if not: all-ones, write dropped). */
uint64_t pci_space_read(struct pci_segment *seg, bool is_io, uint64_t address, unsigned size,
			bool *claimed);
void pci_space_write(struct pci_segment *seg, bool is_io, uint64_t address, unsigned size,
		     uint64_t value, bool *claimed);

/* --- Building a function (the device model's side) ------------------------ */

/* A type 0 header with these IDs and class (0xCCSSPP: base class, sub-class,
 * programming interface), no BARs, no capabilities, no interrupt pin. */
void pci_function_init(struct pci_function *fn, uint16_t vendor, uint16_t device,
		       uint32_t class_code, uint8_t revision);
/* BAR n: flags PCI_BAR_SPACE_IO, or PCI_BAR_MEM_TYPE_32/64 with optional
 * PCI_BAR_MEM_PREFETCH; size a power of two, at least 16 (memory) or 4 (I/O,
 * at most 256). A 64-bit BAR also takes register n+1. */
bool pci_set_bar(struct pci_function *fn, unsigned bar, uint8_t flags, uint64_t size);
/* Interrupt Pin (PCI_INTA..PCI_INTD) and the line it drives. */
void pci_set_intx_pin(struct pci_function *fn, uint8_t pin, const struct irq_line *line);

/* Appends a capability of len bytes (ID and next pointer included) to the
 * list: dword aligned, after the previous one; sets Status bit 4. Returns its
 * offset, 0 if it does not fit below 0x100. Its body is read-only and zero
 * until the device model sets values and write masks. */
uint8_t pci_add_capability(struct pci_function *fn, uint8_t id, uint8_t len);
/* The same in extended space, from 0x100; 0 if it does not fit. */
uint16_t pci_add_ext_capability(struct pci_function *fn, uint16_t id, uint8_t version, uint16_t len);
/* Walks the list from Capabilities Pointer as software does; 0: not found. */
uint8_t pci_find_capability(const struct pci_function *fn, uint8_t id);

/* Raw access for the device model: no masks, no side effects. reg + size must
 * lie within the 4 KiB (checked: out-of-range bytes are ignored / read 0). */
uint32_t pci_get(const struct pci_function *fn, unsigned reg, unsigned size);
void pci_set(struct pci_function *fn, unsigned reg, unsigned size, uint32_t value);
void pci_set_wmask(struct pci_function *fn, unsigned reg, unsigned size, uint32_t mask);
void pci_set_w1cmask(struct pci_function *fn, unsigned reg, unsigned size, uint32_t mask);
static inline uint8_t pci_get8(const struct pci_function *fn, unsigned reg) { return (uint8_t)pci_get(fn, reg, 1); }
static inline uint16_t pci_get16(const struct pci_function *fn, unsigned reg) { return (uint16_t)pci_get(fn, reg, 2); }
static inline uint32_t pci_get32(const struct pci_function *fn, unsigned reg) { return pci_get(fn, reg, 4); }
static inline void pci_set8(struct pci_function *fn, unsigned reg, uint8_t v) { pci_set(fn, reg, 1, v); }
static inline void pci_set16(struct pci_function *fn, unsigned reg, uint16_t v) { pci_set(fn, reg, 2, v); }
static inline void pci_set32(struct pci_function *fn, unsigned reg, uint32_t v) { pci_set(fn, reg, 4, v); }

/* A configuration transaction to fn, as mechanism #1 and ECAM make it:
 * reads any size 1-4 within a dword; writes honour the masks, then update
 * INTx, send MSI/MSI-X messages that became deliverable, and call
 * config_write. */
uint32_t pci_config_read(const struct pci_function *fn, unsigned reg, unsigned size);
void pci_config_write(struct pci_function *fn, unsigned reg, unsigned size, uint32_t value);

/* --- Interrupts -------------------------------------------------------------- */

/* INTx: the device's request (level). The pin is asserted while requested,
 * Interrupt Disable is clear, and neither MSI nor MSI-X is enabled (6.8: "a
 * function is prohibited from using its INTx# pin" then). Status bit 3
 * follows the request whatever Interrupt Disable says (6.2.3). */
void pci_set_intx(struct pci_function *fn, bool level);

/* MSI: vectors 1, 2, 4, 8, 16 or 32 (Multiple Message Capable); 64-bit
 * Message Address; per-vector Mask and Pending bits. Returns the offset. */
uint8_t pci_add_msi(struct pci_function *fn, unsigned vectors, bool addr64, bool per_vector_mask);
bool pci_msi_enabled(const struct pci_function *fn);
/* Vectors the guest allocated (Multiple Message Enable, at most capable). */
unsigned pci_msi_vectors(const struct pci_function *fn);
enum pci_notify_result pci_msi_notify(struct pci_function *fn, unsigned vector);

/* MSI-X: entries (1..PCI_MSIX_MAX_ENTRIES) in a table at table_offset of
 * memory BAR table_bar, the PBA at pba_offset of pba_bar; both QWORD aligned,
 * inside their BARs (set first), not overlapping. Every entry starts masked.
 * Returns the capability offset, 0 if refused. */
uint8_t pci_add_msix(struct pci_function *fn, unsigned entries, unsigned table_bar,
		     uint32_t table_offset, unsigned pba_bar, uint32_t pba_offset);
bool pci_msix_enabled(const struct pci_function *fn);
enum pci_notify_result pci_msix_notify(struct pci_function *fn, unsigned entry);
bool pci_msix_pending(const struct pci_function *fn, unsigned entry);

#endif
