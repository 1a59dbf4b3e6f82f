/* Routing the physical console's input between the VMs and the shell
 * (vm/console.h). With one serial line shared by everything, the focus is
 * one place, changed only by the escape key, and each change is announced
 * on the console so the reader of a log knows where later input went. */
#include "vm/console.h"
#include "vm/shell.h"
#include "lib/printf.h"

void console_init(struct console *c, const struct console_ops *ops, struct shell *shell)
{
	*c = (struct console){ .ops = ops, .shell = shell };
}

static bool vm_live(const struct console *c, unsigned vm)
{
	return vm < c->ops->vm_count(c->ops->ctx) && c->ops->vm_live(c->ops->ctx, vm);
}

void console_focus_shell(struct console *c)
{
	c->shell_focus = true;
	kprintf("[hv] input: shell (Ctrl-A c: back to the VM, help: the commands)\n");
	shell_prompt(c->shell);
}

void console_focus_vm(struct console *c, unsigned vm)
{
	if (c->shell_focus)
		kprintf("\n"); /* end the prompt's line */
	c->shell_focus = false;
	c->vm = vm;
	c->vm_chosen = true;
	c->dropped = false;
	kprintf("[hv] input: VM %s\n", c->ops->vm_name(c->ops->ctx, vm));
}

void console_vm_started(struct console *c, unsigned vm)
{
	if (c->shell_focus || (c->vm_chosen && vm_live(c, c->vm)))
		return;
	console_focus_vm(c, vm);
}

/* The live VM after the focused one, round the table; -1 if none is live. */
static int next_live_vm(const struct console *c)
{
	unsigned n = c->ops->vm_count(c->ops->ctx);
	for (unsigned i = 1; i <= n; i++) {
		unsigned vm = (c->vm + i) % n;
		if (vm_live(c, vm))
			return (int)vm;
	}
	return -1;
}

static void deliver(struct console *c, uint8_t byte)
{
	if (c->shell_focus) {
		shell_input(c->shell, byte);
		return;
	}
	if (c->vm_chosen && vm_live(c, c->vm)) {
		c->ops->to_vm(c->ops->ctx, c->vm, byte);
		return;
	}
	if (!c->dropped)
		kprintf("[hv] input: no VM takes input now (Ctrl-A c: the shell); dropped\n");
	c->dropped = true;
}

static void escape_key(struct console *c, uint8_t key)
{
	switch (key) {
	case 'c':
		if (!c->shell_focus) {
			console_focus_shell(c);
		} else if (c->vm_chosen && vm_live(c, c->vm)) {
			console_focus_vm(c, c->vm);
		} else {
			int vm = next_live_vm(c);
			if (vm >= 0)
				console_focus_vm(c, (unsigned)vm);
			else {
				kprintf("\n[hv] input: no VM takes input now; the shell keeps it\n");
				shell_prompt(c->shell);
			}
		}
		return; /* console_focus_shell printed the prompt */
	case 'n': {
		int vm = next_live_vm(c);
		if (vm >= 0)
			console_focus_vm(c, (unsigned)vm);
		else
			kprintf("\n[hv] input: no VM takes input now\n");
		break;
	}
	case 'a':
	case CONSOLE_ESCAPE:
		deliver(c, CONSOLE_ESCAPE);
		return; /* no prompt to redraw */
	default:
		kprintf("\n[hv] input: Ctrl-A then c (shell/VM), n (next VM) or a (Ctrl-A itself)\n");
		break;
	}
	/* Whatever was printed broke the shell's line: show it again. */
	if (c->shell_focus)
		shell_prompt(c->shell);
}

void console_input(struct console *c, uint8_t byte)
{
	if (c->escape) {
		c->escape = false;
		escape_key(c, byte);
	} else if (byte == CONSOLE_ESCAPE) {
		c->escape = true;
	} else {
		deliver(c, byte);
	}
}

bool console_ready(const struct console *c)
{
	if (c->shell_focus || c->escape || !c->vm_chosen || !vm_live(c, c->vm))
		return true;
	return c->ops->vm_room(c->ops->ctx, c->vm) > 0;
}
