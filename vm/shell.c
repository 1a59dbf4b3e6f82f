/* The hypervisor shell (docs/console-and-shell.md): a line editor, then one
 * table of commands. Everything typed is checked here (command, VM name,
 * numbers, how many words) before a struct shell_ops function runs, so that
 * nothing a user types reaches the VMs unchecked. */
#include "vm/shell.h"
#include "lib/printf.h"
#include "lib/string.h"

#define SHELL_MAX_WORDS 4

/* What a command takes after its name. */
enum shell_args {
	ARGS_NONE,       /* help, vms, vcpus, quit */
	ARGS_VM_OPT,     /* [vm]: the running VM when none is named */
	ARGS_VM,         /* vm */
	ARGS_VM_GPA,     /* vm gpa */
	ARGS_VM_GPA_LEN, /* vm gpa [len] */
};

struct shell_call {
	unsigned vm;
	uint64_t gpa, len;
};

struct shell_command {
	const char *name;
	enum shell_args args;
	const char *usage; /* the arguments, for help and errors */
	const char *help;
	void (*run)(struct shell *sh, const struct shell_call *c);
};

static void run_help(struct shell *sh, const struct shell_call *c);
static void run_vms(struct shell *sh, const struct shell_call *c) { (void)c; sh->ops->vms(sh->ops->ctx); }
static void run_vcpus(struct shell *sh, const struct shell_call *c) { (void)c; sh->ops->vcpus(sh->ops->ctx); }
static void run_regs(struct shell *sh, const struct shell_call *c) { sh->ops->regs(sh->ops->ctx, c->vm); }
static void run_exits(struct shell *sh, const struct shell_call *c) { sh->ops->exits(sh->ops->ctx, c->vm); }
static void run_trace(struct shell *sh, const struct shell_call *c) { sh->ops->trace(sh->ops->ctx, c->vm); }
static void run_ept(struct shell *sh, const struct shell_call *c) { sh->ops->ept(sh->ops->ctx, c->vm, c->gpa); }
static void run_mem(struct shell *sh, const struct shell_call *c)
{
	sh->ops->mem(sh->ops->ctx, c->vm, c->gpa, c->len);
}
static void run_disk(struct shell *sh, const struct shell_call *c) { sh->ops->disk(sh->ops->ctx, c->vm); }
static void run_reset(struct shell *sh, const struct shell_call *c) { sh->ops->reset(sh->ops->ctx, c->vm); }
static void run_kill(struct shell *sh, const struct shell_call *c) { sh->ops->kill(sh->ops->ctx, c->vm); }
static void run_start(struct shell *sh, const struct shell_call *c) { sh->ops->start(sh->ops->ctx, c->vm); }
static void run_quit(struct shell *sh, const struct shell_call *c) { (void)c; sh->ops->quit(sh->ops->ctx); }

static const struct shell_command commands[] = {
	{ "help", ARGS_NONE, "", "this list", run_help },
	{ "vms", ARGS_NONE, "", "every VM: state, RAM, exits, disk", run_vms },
	{ "vcpus", ARGS_NONE, "", "every vCPU: state, RIP, exits", run_vcpus },
	{ "regs", ARGS_VM_OPT, "[vm]", "the guest registers", run_regs },
	{ "exits", ARGS_VM_OPT, "[vm]", "exit statistics per reason", run_exits },
	{ "trace", ARGS_VM_OPT, "[vm]", "the last exits, oldest first", run_trace },
	{ "ept", ARGS_VM_GPA, "<vm> <gpa>", "walk the VM's EPT for a guest-physical address", run_ept },
	{ "mem", ARGS_VM_GPA_LEN, "<vm> <gpa> [len]", "hex dump of guest RAM (64 bytes, at most 512)", run_mem },
	{ "disk", ARGS_VM, "<vm>", "the virtio-blk disk's size and fnv1a64 checksum", run_disk },
	{ "reset", ARGS_VM, "<vm>", "reset a running VM, as its own reboot would", run_reset },
	{ "kill", ARGS_VM, "<vm>", "stop a running VM, or take a queued one off the queue", run_kill },
	{ "start", ARGS_VM, "<vm>", "run a VM that is not running again, from its configuration", run_start },
	{ "quit", ARGS_NONE, "", "stop the running VM, drop the queued ones, power off", run_quit },
};

static void run_help(struct shell *sh, const struct shell_call *c)
{
	(void)sh;
	(void)c;
	kprintf("commands (numbers are decimal or 0x hex):\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		kprintf("  %-6s %-17s %s\n", commands[i].name, commands[i].usage, commands[i].help);
	kprintf("keys: Ctrl-A c shell/VM, Ctrl-A n next VM, Ctrl-A a a literal Ctrl-A\n");
}

struct word {
	const char *s;
	size_t len;
};

/* Split at spaces and tabs; false if there are more than max words. */
static bool split(const char *line, struct word *w, unsigned max, unsigned *n)
{
	*n = 0;
	for (const char *p = line; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (*n == max)
			return false;
		w[*n].s = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		w[*n].len = (size_t)(p - w[*n].s);
		(*n)++;
	}
	return true;
}

static bool word_is(const struct word *w, const char *s)
{
	return strlen(s) == w->len && strncmp(w->s, s, w->len) == 0;
}

static bool find_vm(struct shell *sh, const struct word *w, unsigned *vm)
{
	unsigned n = sh->ops->vm_count(sh->ops->ctx);
	for (unsigned i = 0; i < n; i++)
		if (word_is(w, sh->ops->vm_name(sh->ops->ctx, i))) {
			*vm = i;
			return true;
		}
	kprintf("shell: no VM named '%.*s' (vms lists them)\n", (int)w->len, w->s);
	return false;
}

static bool number(const struct word *w, const char *what, uint64_t *out)
{
	if (parse_u64(w->s, w->len, out, false))
		return true;
	kprintf("shell: '%.*s' is not a %s (decimal, or hex with 0x)\n", (int)w->len, w->s, what);
	return false;
}

static void usage(const struct shell_command *cmd)
{
	kprintf("shell: usage: %s %s\n", cmd->name, cmd->usage);
}

void shell_execute(struct shell *sh, const char *line)
{
	struct word w[SHELL_MAX_WORDS];
	unsigned n;
	bool fits = split(line, w, SHELL_MAX_WORDS, &n);
	if (n == 0)
		return;
	const struct shell_command *cmd = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(commands) && !cmd; i++)
		if (word_is(&w[0], commands[i].name))
			cmd = &commands[i];
	if (!cmd) {
		kprintf("shell: unknown command '%.*s' (help lists them)\n", (int)w[0].len, w[0].s);
		return;
	}
	static const unsigned min_words[] = { [ARGS_NONE] = 1, [ARGS_VM_OPT] = 1, [ARGS_VM] = 2,
					      [ARGS_VM_GPA] = 3, [ARGS_VM_GPA_LEN] = 3 };
	static const unsigned max_words[] = { [ARGS_NONE] = 1, [ARGS_VM_OPT] = 2, [ARGS_VM] = 2,
					      [ARGS_VM_GPA] = 3, [ARGS_VM_GPA_LEN] = 4 };
	if (!fits || n < min_words[cmd->args] || n > max_words[cmd->args]) {
		usage(cmd);
		return;
	}
	struct shell_call c = { .len = SHELL_MEM_DEFAULT };
	if (cmd->args == ARGS_VM_OPT && n == 1) {
		int d = sh->ops->default_vm(sh->ops->ctx);
		if (d < 0) {
			kprintf("shell: no VM runs now: name one (%s %s)\n", cmd->name, cmd->usage);
			return;
		}
		c.vm = (unsigned)d;
	} else if (cmd->args != ARGS_NONE && !find_vm(sh, &w[1], &c.vm)) {
		return;
	}
	if (n >= 3 && !number(&w[2], "guest-physical address", &c.gpa))
		return;
	if (n == 4) {
		if (!number(&w[3], "length", &c.len))
			return;
		if (c.len == 0 || c.len > SHELL_MEM_MAX) {
			kprintf("shell: length %.*s is out of range (1 to %u bytes)\n", (int)w[3].len, w[3].s,
				SHELL_MEM_MAX);
			return;
		}
	}
	cmd->run(sh, &c);
}

void shell_init(struct shell *sh, const struct shell_ops *ops)
{
	*sh = (struct shell){ .ops = ops };
}

void shell_prompt(struct shell *sh)
{
	sh->line[sh->len] = '\0';
	kprintf(SHELL_PROMPT "%s", sh->line);
}

void shell_input(struct shell *sh, uint8_t byte)
{
	bool after_cr = sh->after_cr;
	sh->after_cr = byte == '\r';
	if (byte == '\r' || byte == '\n') {
		if (byte == '\n' && after_cr)
			return;
		kprintf("\n");
		sh->line[sh->len] = '\0';
		sh->len = 0;
		/* Run a copy: a command may print the prompt (e.g. a focus change). */
		char line[SHELL_LINE_MAX];
		memcpy(line, sh->line, sizeof(line));
		shell_execute(sh, line);
		shell_prompt(sh);
		return;
	}
	if (byte == 0x08 || byte == 0x7f) {
		if (sh->len) {
			sh->len--;
			kprintf("\b \b");
		}
		return;
	}
	/* Printable ASCII only; the last byte of line[] stays for the NUL. */
	if (byte < 0x20 || byte > 0x7e || sh->len == SHELL_LINE_MAX - 1)
		return;
	sh->line[sh->len++] = (char)byte;
	kprintf("%c", byte);
}
