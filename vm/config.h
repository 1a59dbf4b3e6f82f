/* Describing VMs in words. Two places use the same line syntax:
 *  - a configuration file, given to GRUB as a module whose string is
 *    "config" (docs/configuration.md): one "vm key=value..." line per VM;
 *  - without a configuration file, each guest module's own string, e.g.
 *    "name=basic mem=32M" (the module itself is the kernel).
 * Values may be double-quoted to hold spaces: cmdline="console=ttyS0 quiet".
 * Pure logic: unit-tested. */
#ifndef VM_CONFIG_H
#define VM_CONFIG_H

#include "lib/types.h"

#define VM_MEM_DEFAULT MiB(32)
#define VM_MEM_MIN MiB(2)
#define VM_MEM_MAX GiB(2)
#define VM_CONFIG_NAME_MAX 32
#define VM_CONFIG_MAX_MODULES 8
#define VM_CONFIG_MAX_VCPUS 4 /* VM_MAX_VCPUS (vm/vm.h) */
#define VM_CONFIG_CMDLINE_MAX 256

struct vm_config {
	char name[VM_CONFIG_NAME_MAX];
	uint64_t mem;      /* bytes, a multiple of 2 MiB */
	unsigned vcpus;
	char kernel[VM_CONFIG_NAME_MAX];  /* module name; empty: the module itself */
	char initrd[VM_CONFIG_NAME_MAX];  /* module name of a Linux initrd; empty: none */
	char modules[VM_CONFIG_MAX_MODULES][VM_CONFIG_NAME_MAX];
	unsigned module_count;
	char cmdline[VM_CONFIG_CMDLINE_MAX];
	char selftest[VM_CONFIG_NAME_MAX]; /* tests only: break=... (docs/entry-failures.md) */
	/* The virtio-blk disk: a module served in place, or an empty one. */
	char disk[VM_CONFIG_NAME_MAX];     /* module name; empty: no image */
	uint64_t disk_size;                /* bytes of an empty disk (no image) */
	bool disk_ro;
	bool disk_mmio;                    /* virtio-mmio instead of virtio-pci */
	bool no_apicv;                     /* apicv=no: emulate the local APIC fully, no APIC virtualization */
	unsigned line;     /* line number in the configuration file, 0 if none */
};

/* One line of key=value settings. Returns NULL on success, else a message
 * naming the bad token (written to errbuf). default_name is used when no
 * name= is given. Tokens without '=' (GRUB may pass the module's path
 * first) are skipped. */
const char *vm_config_parse(const char *s, const char *default_name, struct vm_config *out,
			    char *errbuf, size_t errlen);

/* Called for each bad line of a configuration file. */
typedef void (*config_error_fn)(void *ctx, unsigned line, const char *message);

/* A whole configuration file (text of len bytes, need not be NUL-terminated).
 * Fills out[] with the valid VMs, at most max; reports each bad line with its
 * number and goes on. Returns the number of valid VMs. */
unsigned vm_config_parse_file(const char *text, size_t len, struct vm_config *out, unsigned max,
			      config_error_fn report, void *ctx);

#endif
