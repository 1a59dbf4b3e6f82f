#include "devices/pci_testdev.h"

static uint32_t reg_read(const struct pci_testdev *t, uint64_t reg)
{
	switch (reg) {
	case PCI_TESTDEV_DOORBELL:
		return t->last_vector;
	case PCI_TESTDEV_INTX_STATUS:
		return t->fn.intx_request ? 1 : 0;
	case PCI_TESTDEV_RESULT:
		return t->result;
	case PCI_TESTDEV_COUNT:
		return t->count;
	}
	return 0;
}

/* The doorbell: the interrupt goes out by the mechanism software enabled,
 * MSI-X first (enabling both is undefined, PCI LB 3.0 6.8.3.3). */
static void ring(struct pci_testdev *t, uint32_t vector)
{
	unsigned path, outcome;
	t->last_vector = vector;
	t->count++;
	if (pci_msix_enabled(&t->fn)) {
		path = PCI_TESTDEV_PATH_MSIX;
		outcome = pci_msix_notify(&t->fn, vector);
	} else if (pci_msi_enabled(&t->fn)) {
		path = PCI_TESTDEV_PATH_MSI;
		outcome = pci_msi_notify(&t->fn, vector);
	} else {
		path = PCI_TESTDEV_PATH_INTX;
		pci_set_intx(&t->fn, true);
		outcome = t->fn.intx_asserted ? 1 : 0;
	}
	t->result = path | outcome << 8;
}

static void reg_write(struct pci_testdev *t, uint64_t reg, uint32_t value)
{
	switch (reg) {
	case PCI_TESTDEV_DOORBELL:
		ring(t, value);
		break;
	case PCI_TESTDEV_INTX_STATUS:
		if (value & 1)
			pci_set_intx(&t->fn, false);
		break;
	default:
		break; /* RESULT and COUNT are read-only */
	}
}

/* Any width: a read is assembled from the DWORD registers it covers; a write
 * acts on the register it starts at (two for a QWORD). */
static uint64_t testdev_bar_read(void *opaque, unsigned bar, uint64_t offset, unsigned size)
{
	const struct pci_testdev *t = opaque;
	uint64_t v = 0;
	(void)bar;
	for (unsigned i = 0; i < size && i < 8; i++) {
		uint64_t at = offset + i;
		v |= (uint64_t)((reg_read(t, at & ~3ull) >> (8 * (at & 3))) & 0xff) << (8 * i);
	}
	return v;
}

static void testdev_bar_write(void *opaque, unsigned bar, uint64_t offset, unsigned size, uint64_t value)
{
	struct pci_testdev *t = opaque;
	(void)bar;
	if (offset & 3)
		return;
	if (size == 8) {
		reg_write(t, offset, (uint32_t)value);
		reg_write(t, offset + 4, (uint32_t)(value >> 32));
	} else {
		reg_write(t, offset, (uint32_t)(value & size_mask(size)));
	}
}

void pci_testdev_init(struct pci_testdev *t, const struct irq_line *intx)
{
	struct pci_function *fn = &t->fn;
	pci_function_init(fn, PCI_TESTDEV_VENDOR, PCI_TESTDEV_DEVICE, PCI_TESTDEV_CLASS, 0);
	pci_set16(fn, PCI_SUBSYSTEM_VENDOR_ID, PCI_TESTDEV_VENDOR);
	pci_set16(fn, PCI_SUBSYSTEM_ID, PCI_TESTDEV_DEVICE);
	pci_set_bar(fn, PCI_TESTDEV_BAR, PCI_BAR_MEM_TYPE_32, PCI_TESTDEV_BAR_SIZE);
	pci_set_intx_pin(fn, PCI_INTA, intx);
	pci_add_msi(fn, PCI_TESTDEV_MSI_VECTORS, true, true);
	pci_add_msix(fn, PCI_TESTDEV_MSIX_ENTRIES, PCI_TESTDEV_BAR, PCI_TESTDEV_MSIX_TABLE,
		     PCI_TESTDEV_BAR, PCI_TESTDEV_MSIX_PBA);
	fn->bar_read = testdev_bar_read;
	fn->bar_write = testdev_bar_write;
	fn->opaque = t;
	t->last_vector = 0;
	t->result = PCI_TESTDEV_PATH_NONE;
	t->count = 0;
}
