/* A guest that jumps to a guest-physical address where there is no RAM.
 * The hypervisor must stop only this VM and say why. */
#include "tests/guests/common/guest.h"

void guest_main(uint32_t magic, uint32_t mb_info)
{
	(void)magic;
	(void)mb_info;
	gprintf("wild guest: jumping to 0xd0000000\n");
	void (*wild)(void) = (void (*)(void))0xd0000000u;
	wild();
	gprintf("FAIL: came back from the wild jump\n");
}
