/* The shared physical console's input (docs/console-and-shell.md): every
 * byte typed goes either to one VM's COM1 or to the hypervisor shell. The
 * escape key Ctrl-A followed by a command key moves the focus:
 *   Ctrl-A c   the shell <-> the VM that had the input
 *   Ctrl-A n   the next VM that takes input (and leaves the shell)
 *   Ctrl-A a   a literal Ctrl-A to whoever has the input
 * Pure logic, unit-tested: the VMs are reached through struct console_ops. */
#ifndef VM_CONSOLE_H
#define VM_CONSOLE_H

#include "lib/types.h"

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A, as in QEMU and screen */

struct shell;

struct console_ops {
	void *ctx;
	unsigned (*vm_count)(void *ctx);
	const char *(*vm_name)(void *ctx, unsigned vm);
	/* The VM runs and can take input now. */
	bool (*vm_live)(void *ctx, unsigned vm);
	/* Room for bytes in the VM's receive FIFO. */
	unsigned (*vm_room)(void *ctx, unsigned vm);
	void (*to_vm)(void *ctx, unsigned vm, uint8_t byte);
};

struct console {
	const struct console_ops *ops;
	struct shell *shell;
	bool shell_focus;
	bool escape;     /* Ctrl-A seen: the next byte is a command key */
	bool vm_chosen;  /* vm was picked: otherwise input follows the VM that starts */
	unsigned vm;     /* the VM that gets input when the shell has no focus */
	bool dropped;    /* said already that input is dropped (no live VM) */
};

void console_init(struct console *c, const struct console_ops *ops, struct shell *shell);
/* One byte from the physical console. */
void console_input(struct console *c, uint8_t byte);
/* A byte can be taken now: false while the focused VM's FIFO is full, so the
 * byte waits in the physical UART (flow control, nothing lost). */
bool console_ready(const struct console *c);
/* Give the input to the shell (announced, with a prompt) or to a VM. */
void console_focus_shell(struct console *c);
void console_focus_vm(struct console *c, unsigned vm);
/* VM vm started: it gets the input unless the shell or another live VM has it. */
void console_vm_started(struct console *c, unsigned vm);

#endif
