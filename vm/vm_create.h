#ifndef VM_VM_CREATE_H
#define VM_VM_CREATE_H

#include "vm/vm.h"
#include "vm/config.h"
#include "vm/guest_boot.h"

/* Build a VM: RAM, EPT, devices, the guest kernel and modules loaded and
 * its boot information written. NULL (with a message) if anything is wrong. */
/* A disk for the VM: image bytes served in place (data, size), or an empty
 * disk of size bytes allocated here (data NULL). */
struct vm_disk_params {
	void *data;
	uint64_t size;
	bool read_only;
	bool over_mmio;
};

struct vm *vm_create(const struct vm_config *cfg, const struct guest_boot_params *boot,
		     const struct vm_disk_params *disk);
/* Put its vCPUs on CPUs (vm/sched.c): vCPU 0 starts at the kernel's
 * entry, the others wait for a start-up IPI. */
void vm_start(struct vm *vm);
/* Print how the VM ended and its exit statistics. */
void vm_report(const struct vm *vm);
/* The guest asked for a reset: reload it and start over. False if the VM
 * had to be stopped instead. */
bool vm_reset(struct vm *vm);
/* Give back a stopped VM's RAM, EPT and VMCS; its slot is free again. */
void vm_destroy(struct vm *vm);

#endif
