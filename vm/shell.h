/* The hypervisor shell: a line editor and a table of commands that look at
 * the VMs (docs/console-and-shell.md). Pure logic: it parses and checks what
 * was typed, then calls one function of struct shell_ops per command, which
 * the VM table (vm/vm_table.c) implements and the unit tests fake. */
#ifndef VM_SHELL_H
#define VM_SHELL_H

#include "lib/types.h"

#define SHELL_LINE_MAX 80
#define SHELL_PROMPT "hv> "
#define SHELL_MEM_DEFAULT 64  /* bytes "mem" dumps without a length */
#define SHELL_MEM_MAX 512     /* at most this many: the console is slow */

struct shell_ops {
	void *ctx;
	/* The VMs by index, in the order they were defined. */
	unsigned (*vm_count)(void *ctx);
	const char *(*vm_name)(void *ctx, unsigned vm);
	/* The VM a command means when none is named (the one that runs), or -1. */
	int (*default_vm)(void *ctx);
	void (*vms)(void *ctx);
	void (*vcpus)(void *ctx);
	void (*regs)(void *ctx, unsigned vm);
	void (*exits)(void *ctx, unsigned vm);
	void (*trace)(void *ctx, unsigned vm);
	void (*ept)(void *ctx, unsigned vm, uint64_t gpa);
	void (*mem)(void *ctx, unsigned vm, uint64_t gpa, uint64_t len);
	void (*disk)(void *ctx, unsigned vm);
	void (*reset)(void *ctx, unsigned vm);
	void (*kill)(void *ctx, unsigned vm);
	void (*start)(void *ctx, unsigned vm);
	void (*quit)(void *ctx);
};

struct shell {
	const struct shell_ops *ops;
	char line[SHELL_LINE_MAX];
	unsigned len;
	bool after_cr; /* a '\n' right after '\r' is the same Enter */
};

void shell_init(struct shell *sh, const struct shell_ops *ops);
/* Print the prompt and whatever of the line is typed already. */
void shell_prompt(struct shell *sh);
/* One typed byte: printable ones are echoed and kept, backspace (BS or DEL)
 * erases, Enter (CR or LF) runs the line and prints the prompt again. */
void shell_input(struct shell *sh, uint8_t byte);
/* Run one command line (without its line end). */
void shell_execute(struct shell *sh, const char *line);

#endif
