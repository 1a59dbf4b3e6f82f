/* The VM table: every VM the configuration defines, in order, whether it
 * waits, runs or ended; it runs them one after another and gives the
 * console router and the hypervisor shell their view of the VMs
 * (docs/console-and-shell.md). */
#ifndef VM_VM_TABLE_H
#define VM_VM_TABLE_H

#include "vm/vm_create.h"

#define VM_TABLE_MAX 64

struct vm_table_totals {
	unsigned ran, failed, refused;
};

/* Add a VM to run (everything is copied). False if the table is full. */
bool vm_table_define(const struct vm_config *cfg, const struct guest_boot_params *boot,
		     const struct vm_disk_params *disk);
/* Run the defined VMs in order. With stay (shell=yes) finished VMs are kept
 * for the shell to look at, and the shell has the console after the last
 * one until "quit"; otherwise each VM is destroyed when it ends, as before. */
void vm_table_run(bool stay, struct vm_table_totals *t);

#endif
