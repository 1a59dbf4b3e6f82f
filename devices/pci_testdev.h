/* A PCI test device: one function whose only purpose is to raise interrupts
 * on request, so a guest can prove INTx, MSI and MSI-X delivery end to end.
 *
 * IDs 1b36:0005, Red Hat's "QEMU PCI test device" from QEMU's list of PCI IDs
 * (docs/specs/pci-ids); class ff/00/00 ("does not fit any defined class").
 * Only the IDs are shared: the registers below are this device's own, not
 * those of QEMU's pci-testdev, so a guest must not assume QEMU's layout.
 *
 * BAR0: 4 KiB, 32-bit memory, not prefetchable. DWORD registers:
 *   0x000 DOORBELL     write N: raise interrupt N: MSI-X entry N if MSI-X is
 *                      enabled, else MSI vector N if MSI is enabled, else
 *                      INTx (N ignored). Reads the last N written.
 *   0x004 INTX_STATUS  bit 0: INTx requested (level, held until cleared);
 *                      write 1 to clear it.
 *   0x008 RESULT       what the last doorbell did: bits 7:0 the path
 *                      (PCI_TESTDEV_PATH_*), bits 15:8 the outcome (enum
 *                      pci_notify_result; for INTx 1 if the pin is asserted,
 *                      0 if Interrupt Disable holds it back).
 *   0x00c COUNT        doorbells rung since reset.
 *   0x800 MSI-X table  16 entries; 0xc00 MSI-X PBA.
 * Other offsets read 0 and ignore writes. Capabilities: MSI (4 vectors,
 * 64-bit, per-vector masking), MSI-X (16 entries). Interrupt Pin INTA#.
 * Remember that MSI and MSI-X need Bus Master Enable in Command. */
#ifndef DEVICES_PCI_TESTDEV_H
#define DEVICES_PCI_TESTDEV_H

#include "lib/types.h"
#include "devices/irq.h"
#include "devices/pci.h"

#define PCI_TESTDEV_VENDOR 0x1b36
#define PCI_TESTDEV_DEVICE 0x0005
#define PCI_TESTDEV_CLASS 0xff0000
#define PCI_TESTDEV_BAR 0
#define PCI_TESTDEV_BAR_SIZE 0x1000

#define PCI_TESTDEV_DOORBELL 0x000
#define PCI_TESTDEV_INTX_STATUS 0x004
#define PCI_TESTDEV_RESULT 0x008
#define PCI_TESTDEV_COUNT 0x00c
#define PCI_TESTDEV_MSIX_TABLE 0x800
#define PCI_TESTDEV_MSIX_PBA 0xc00
#define PCI_TESTDEV_MSI_VECTORS 4
#define PCI_TESTDEV_MSIX_ENTRIES 16

#define PCI_TESTDEV_PATH_NONE 0 /* no doorbell yet */
#define PCI_TESTDEV_PATH_INTX 1
#define PCI_TESTDEV_PATH_MSI 2
#define PCI_TESTDEV_PATH_MSIX 3

struct pci_testdev {
	struct pci_function fn; /* register this with pci_register_function */
	uint32_t last_vector;
	uint32_t result;
	uint32_t count;
};

/* intx: the line INTA# drives (may be NULL). */
void pci_testdev_init(struct pci_testdev *t, const struct irq_line *intx);

#endif
