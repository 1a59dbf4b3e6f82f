/* Message-signalled interrupts: a PCI device's MSI or MSI-X write of `data`
 * to `address`, read as the interrupt message it is (SDM Vol. 3A 11.11).
 * Pure logic. */
#ifndef DEVICES_MSI_H
#define DEVICES_MSI_H

#include "lib/types.h"
#include "devices/irq.h"

/* The 1 MiB window of interrupt messages (SDM 11.11.1: "bits 31-20 ...
 * 0FEEH"): a write anywhere else is an ordinary memory write. */
#define MSI_ADDRESS_BASE 0xFEE00000ULL
#define MSI_ADDRESS_SIZE 0x100000ULL

/* Message address (SDM 11.11.1, Figure 11-24). */
#define MSI_ADDR_DEST_SHIFT 12        /* bits 19:12: destination ID */
#define MSI_ADDR_REDIRECTION_HINT BIT(3)
#define MSI_ADDR_DEST_LOGICAL BIT(2)

/* Message data (SDM 11.11.2, Figure 11-25). */
#define MSI_DATA_VECTOR 0xFFu
#define MSI_DATA_DELIVERY_SHIFT 8     /* bits 10:8 */
#define MSI_DATA_LEVEL_ASSERT BIT(14) /* level trigger: 1 assert, 0 deassert */
#define MSI_DATA_LEVEL_TRIGGER BIT(15)

/* Decode an address/data pair into *msg. Returns false, leaving *msg
 * untouched, when it is not an interrupt message: an address outside
 * FEE00000H-FEEFFFFFH (a 64-bit address with any of bits 63:32 set
 * included), or a reserved delivery mode (011B, 110B: the data register
 * lists fixed, lowest priority, SMI, NMI, INIT and ExtINT only).
 *
 * The destination is the 8-bit destination ID, in the mode DM names; a
 * physical 0xFF becomes APIC_BROADCAST (devices/irq.h). With the
 * redirection hint set, a fixed message becomes lowest priority: RH=1 lets
 * the platform pick one processor of the destination (SDM 11.11.1). DM is
 * honoured whatever RH says, as chipsets do (the SDM's "if RH is 0, then the
 * DM bit is ignored" describes routing, not the destination's meaning).
 * Reserved address bits 11:4 and data bits 13:11 and 31:16 are ignored, as
 * the SDM asks of the receiver; vectors below 16 pass, for the receiving
 * local APIC to refuse (SDM 11.5.2). source_id is 0: no APIC sent it. */
bool msi_decode(uint64_t address, uint32_t data, struct apic_msg *msg);

#endif
