/* MSI address/data decoding: see msi.h. Sections are the SDM Vol. 3A's. */
#include "devices/msi.h"

bool msi_decode(uint64_t address, uint32_t data, struct apic_msg *msg)
{
	/* 11.11.1: bits 31:20 are 0FEEH; above 4 GiB there are no messages. */
	if (address < MSI_ADDRESS_BASE || address >= MSI_ADDRESS_BASE + MSI_ADDRESS_SIZE)
		return false;
	/* 11.11.2: 011B and 110B are reserved. */
	unsigned mode = (data >> MSI_DATA_DELIVERY_SHIFT) & 7;
	if (mode == 3 || mode == 6)
		return false;

	bool logical = address & MSI_ADDR_DEST_LOGICAL;
	uint32_t dest = (uint32_t)(address >> MSI_ADDR_DEST_SHIFT) & 0xFF;
	bool level = data & MSI_DATA_LEVEL_TRIGGER;
	if (!logical && dest == 0xFF)
		dest = APIC_BROADCAST;
	if ((address & MSI_ADDR_REDIRECTION_HINT) && mode == APIC_DM_FIXED)
		mode = APIC_DM_LOWEST;

	*msg = (struct apic_msg){
		.dest = dest,
		.dest_logical = logical,
		.mode = (enum apic_delivery_mode)mode,
		.vector = (uint8_t)(data & MSI_DATA_VECTOR),
		.level_triggered = level,
		/* Edge messages carry no level; a level message asserts or
		 * de-asserts (11.11.2, "Level"). */
		.assert = !level || (data & MSI_DATA_LEVEL_ASSERT),
	};
	return true;
}
