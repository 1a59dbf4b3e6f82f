/* vm/shell.c and vm/console.c: the command parser against a fake VM table
 * (every command, every kind of bad input, random lines), the line editor,
 * and the input router (escape keys, focus, flow control). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/shell.h"
#include "vm/console.h"

extern char test_console[8192];
extern size_t test_console_len;

static void console_clear(void)
{
	test_console_len = 0;
	test_console[0] = '\0';
}

static void expect_console(const char *words)
{
	if (!strstr(test_console, words))
		fail_msg("console lacks '%s'; it holds:\n%s", words, test_console);
}

/* --- A fake VM table: records the last call ------------------------------- */

struct fake {
	const char *names[3];
	unsigned count;
	int running;        /* default_vm */
	bool live[3];
	unsigned room[3];
	char call[32];      /* last command called */
	unsigned vm;
	uint64_t gpa, len;
	unsigned calls;
	uint8_t to_vm[64];
	unsigned to_vm_len, to_vm_which;
};

static struct fake F;

static void rec(const char *call, unsigned vm, uint64_t gpa, uint64_t len)
{
	snprintf(F.call, sizeof(F.call), "%s", call);
	F.vm = vm;
	F.gpa = gpa;
	F.len = len;
	F.calls++;
}

static unsigned f_count(void *ctx) { (void)ctx; return F.count; }
static const char *f_name(void *ctx, unsigned vm) { (void)ctx; assert_true(vm < F.count); return F.names[vm]; }
static int f_default(void *ctx) { (void)ctx; return F.running; }
static void f_vms(void *ctx) { (void)ctx; rec("vms", 0, 0, 0); }
static void f_vcpus(void *ctx) { (void)ctx; rec("vcpus", 0, 0, 0); }
static void f_regs(void *ctx, unsigned vm) { (void)ctx; rec("regs", vm, 0, 0); }
static void f_exits(void *ctx, unsigned vm) { (void)ctx; rec("exits", vm, 0, 0); }
static void f_trace(void *ctx, unsigned vm) { (void)ctx; rec("trace", vm, 0, 0); }
static void f_ept(void *ctx, unsigned vm, uint64_t gpa) { (void)ctx; rec("ept", vm, gpa, 0); }
static void f_mem(void *ctx, unsigned vm, uint64_t gpa, uint64_t len) { (void)ctx; rec("mem", vm, gpa, len); }
static void f_disk(void *ctx, unsigned vm) { (void)ctx; rec("disk", vm, 0, 0); }
static void f_reset(void *ctx, unsigned vm) { (void)ctx; rec("reset", vm, 0, 0); }
static void f_kill(void *ctx, unsigned vm) { (void)ctx; rec("kill", vm, 0, 0); }
static void f_start(void *ctx, unsigned vm) { (void)ctx; rec("start", vm, 0, 0); }
static void f_quit(void *ctx) { (void)ctx; rec("quit", 0, 0, 0); }

static const struct shell_ops ops = {
	NULL, f_count, f_name, f_default, f_vms, f_vcpus, f_regs, f_exits, f_trace,
	f_ept, f_mem, f_disk, f_reset, f_kill, f_start, f_quit,
};

static struct shell sh;

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	F.names[0] = "alpha";
	F.names[1] = "beta";
	F.count = 2;
	F.running = 0;
	shell_init(&sh, &ops);
	console_clear();
	return 0;
}

/* Run line; it must call `call` for VM vm. */
static void expect_call(const char *line, const char *call, unsigned vm)
{
	unsigned before = F.calls;
	console_clear();
	shell_execute(&sh, line);
	if (F.calls != before + 1)
		fail_msg("'%s' called nothing; console: %s", line, test_console);
	assert_string_equal(F.call, call);
	assert_int_equal(F.vm, vm);
}

/* Run line; it must call nothing and print words. */
static void expect_refused(const char *line, const char *words)
{
	unsigned before = F.calls;
	console_clear();
	shell_execute(&sh, line);
	if (F.calls != before)
		fail_msg("'%s' was accepted as %s", line, F.call);
	expect_console(words);
}

static void test_every_command(void **state)
{
	(void)state;
	expect_call("vms", "vms", 0);
	expect_call("vcpus", "vcpus", 0);
	expect_call("regs beta", "regs", 1);
	expect_call("regs", "regs", 0); /* the running VM */
	expect_call("exits alpha", "exits", 0);
	expect_call("trace beta", "trace", 1);
	expect_call("ept beta 0x100000", "ept", 1);
	assert_int_equal(F.gpa, 0x100000);
	expect_call("mem alpha 4096", "mem", 0);
	assert_int_equal(F.gpa, 4096);
	assert_int_equal(F.len, SHELL_MEM_DEFAULT);
	expect_call("mem alpha 0x10 0x20", "mem", 0);
	assert_int_equal(F.len, 0x20);
	expect_call("mem alpha 0 512", "mem", 0);
	expect_call("disk beta", "disk", 1);
	expect_call("reset alpha", "reset", 0);
	expect_call("kill beta", "kill", 1);
	expect_call("start beta", "start", 1);
	expect_call("quit", "quit", 0);
	expect_call("  \tvms  ", "vms", 0);
	console_clear();
	shell_execute(&sh, "help");
	expect_console("ept    <vm> <gpa>");
	expect_console("Ctrl-A c");
	/* Every command in the table is in the help. */
	static const char *const all[] = { "help", "vms", "vcpus", "regs", "exits", "trace", "ept",
					   "mem", "disk", "reset", "kill", "start", "quit" };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		char w[16];
		snprintf(w, sizeof(w), "\n  %s ", all[i]);
		expect_console(w);
	}
}

static void test_errors(void **state)
{
	(void)state;
	expect_refused("frobnicate", "shell: unknown command 'frobnicate'");
	expect_refused("VMS", "unknown command 'VMS'");
	expect_refused("regs gamma", "shell: no VM named 'gamma'");
	expect_refused("regs alph", "no VM named 'alph'");
	expect_refused("regs alpha beta", "usage: regs [vm]");
	expect_refused("vms alpha", "usage: vms");
	expect_refused("ept alpha", "usage: ept <vm> <gpa>");
	expect_refused("ept alpha zz", "'zz' is not a guest-physical address");
	expect_refused("ept alpha 0x", "'0x' is not a guest-physical address");
	expect_refused("ept alpha 99999999999999999999999", "is not a guest-physical address");
	expect_refused("ept alpha -1", "is not a guest-physical address");
	expect_refused("ept alpha 1 2", "usage: ept");
	expect_refused("mem alpha 0 0", "length 0 is out of range");
	expect_refused("mem alpha 0 513", "length 513 is out of range");
	expect_refused("mem alpha 0 16K", "'16K' is not a length");
	expect_refused("mem alpha 0 1 2", "usage: mem <vm> <gpa> [len]");
	expect_refused("disk", "usage: disk <vm>");
	expect_refused("kill", "usage: kill <vm>");
	expect_refused("a b c d e f g", "unknown command 'a'");
	F.running = -1;
	expect_refused("regs", "no VM runs now: name one");
	expect_refused("trace", "no VM runs now");
	/* Nothing at all: no output, no call. */
	expect_refused("", "");
	assert_int_equal(test_console_len, 0);
	expect_refused("   ", "");
	assert_int_equal(test_console_len, 0);
}

/* Random lines of words, numbers and junk: nothing crashes (ASan, UBSan),
 * every accepted call names a real VM and a length in range. */
static void test_fuzz_lines(void **state)
{
	(void)state;
	static const char *const pieces[] = { "regs", "mem", "ept", "disk", "kill", "start", "alpha",
					      "beta", "0x", "0xffffffffffffffff", "18446744073709551616",
					      "512", "513", "0", "-", " ", "\t", "\x7f", "\xff", "vms",
					      "help", "exits", "trace", "reset", "vcpus", "zz" };
	srand(7);
	for (int i = 0; i < 20000; i++) {
		char line[200] = "";
		size_t len = 0;
		int words = rand() % 7;
		for (int j = 0; j < words; j++) {
			const char *p = pieces[rand() % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t pl = strlen(p);
			if (len + pl + 2 >= sizeof(line))
				break;
			memcpy(line + len, p, pl);
			len += pl;
			if (rand() % 4)
				line[len++] = ' ';
			if (rand() % 8 == 0)
				line[len++] = (char)(1 + rand() % 255);
			line[len] = '\0';
		}
		F.call[0] = '\0';
		F.running = rand() % 3 - 1;
		console_clear();
		shell_execute(&sh, line);
		if (F.call[0]) {
			assert_true(F.vm < F.count);
			assert_true(F.len <= SHELL_MEM_MAX);
			if (!strcmp(F.call, "mem"))
				assert_true(F.len >= 1);
		}
	}
}

static void type(const char *s)
{
	for (; *s; s++)
		shell_input(&sh, (uint8_t)*s);
}

static void test_line_editor(void **state)
{
	(void)state;
	type("vmz\x7f" "s\r\n");
	assert_string_equal(F.call, "vms");
	assert_int_equal(F.calls, 1);
	expect_console("vmz\b \bs\n");
	expect_console("\n" SHELL_PROMPT);
	/* CR LF is one Enter: the LF runs no second (empty) line. */
	console_clear();
	type("\r\n");
	assert_string_equal(test_console, "\n" SHELL_PROMPT);
	/* Backspace on an empty line, control bytes, a line too long. */
	console_clear();
	type("\b\b\x01\x1b");
	assert_int_equal(test_console_len, 0);
	for (int i = 0; i < 300; i++)
		shell_input(&sh, 'x');
	assert_int_equal(sh.len, SHELL_LINE_MAX - 1);
	type("\n");
	expect_console("unknown command 'xxxx");
	/* Every byte value, many times: the line editor holds. */
	srand(3);
	for (int i = 0; i < 100000; i++) {
		shell_input(&sh, (uint8_t)rand());
		assert_true(sh.len < SHELL_LINE_MAX);
		if (test_console_len > 4000)
			console_clear();
	}
}

/* --- The input router ------------------------------------------------------ */

static bool f_live(void *ctx, unsigned vm) { (void)ctx; return F.live[vm]; }
static unsigned f_room(void *ctx, unsigned vm) { (void)ctx; return F.room[vm]; }
static void f_to_vm(void *ctx, unsigned vm, uint8_t byte)
{
	(void)ctx;
	F.to_vm_which = vm;
	assert_true(F.to_vm_len < sizeof(F.to_vm));
	F.to_vm[F.to_vm_len++] = byte;
}

static const struct console_ops cops = { NULL, f_count, f_name, f_live, f_room, f_to_vm };

static void feed(struct console *c, const char *s)
{
	for (; *s; s++)
		console_input(c, (uint8_t)*s);
}

static void test_router(void **state)
{
	(void)state;
	struct console c;
	console_init(&c, &cops, &sh);
	F.live[0] = true;
	F.room[0] = 16;
	/* Before any VM started, input is dropped, and said once. */
	feed(&c, "xy");
	assert_int_equal(F.to_vm_len, 0);
	expect_console("no VM takes input now");
	console_clear();
	console_vm_started(&c, 0);
	expect_console("[hv] input: VM alpha\n");
	feed(&c, "hi");
	assert_int_equal(F.to_vm_len, 2);
	assert_memory_equal(F.to_vm, "hi", 2);
	/* Ctrl-A a: a literal Ctrl-A to the VM. */
	feed(&c, "\x01" "a");
	assert_int_equal(F.to_vm_len, 3);
	assert_int_equal(F.to_vm[2], 0x01);
	/* Ctrl-A c: the shell; typed lines run there, the VM gets nothing. */
	console_clear();
	feed(&c, "\x01" "c");
	expect_console("[hv] input: shell");
	expect_console(SHELL_PROMPT);
	feed(&c, "vcpus\r");
	assert_string_equal(F.call, "vcpus");
	assert_int_equal(F.to_vm_len, 3);
	/* Flow control: in the shell always ready; for a full VM FIFO not. */
	F.room[0] = 0;
	assert_true(console_ready(&c));
	console_clear();
	feed(&c, "\x01" "c");
	expect_console("[hv] input: VM alpha");
	assert_false(console_ready(&c));
	F.room[0] = 1;
	assert_true(console_ready(&c));
	/* Ctrl-A n with beta live too: beta, then round to alpha. */
	F.live[1] = true;
	console_clear();
	feed(&c, "\x01" "n");
	expect_console("[hv] input: VM beta");
	feed(&c, "b");
	assert_int_equal(F.to_vm_which, 1);
	feed(&c, "\x01" "n");
	feed(&c, "q");
	assert_int_equal(F.to_vm_which, 0);
	/* A VM starting does not take the input from a live VM... */
	console_clear();
	console_vm_started(&c, 1);
	assert_int_equal(test_console_len, 0);
	/* ...but does from one that ended. */
	F.live[0] = false;
	console_vm_started(&c, 1);
	expect_console("[hv] input: VM beta");
	/* An unknown escape key explains the keys; no byte reaches the VM. */
	unsigned n = F.to_vm_len;
	console_clear();
	feed(&c, "\x01" "z");
	expect_console("Ctrl-A then c");
	assert_int_equal(F.to_vm_len, n);
	/* No live VM: Ctrl-A c from the shell keeps the shell. */
	F.live[1] = false;
	feed(&c, "\x01" "c");
	assert_true(c.shell_focus);
	console_clear();
	feed(&c, "\x01" "c");
	expect_console("no VM takes input now; the shell keeps it");
	assert_true(c.shell_focus);
	console_clear();
	feed(&c, "\x01" "n");
	expect_console("no VM takes input now");
	/* Random bytes: the router and the shell hold, bytes go only to live VMs. */
	srand(11);
	for (int i = 0; i < 100000; i++) {
		F.live[0] = rand() % 2;
		F.live[1] = rand() % 2;
		F.to_vm_len = 0;
		uint8_t b = (uint8_t)(rand() % 4 ? rand() : 0x01);
		console_input(&c, b);
		if (F.to_vm_len)
			assert_true(F.live[F.to_vm_which]);
		if (test_console_len > 4000)
			console_clear();
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_every_command, setup),
		cmocka_unit_test_setup(test_errors, setup),
		cmocka_unit_test_setup(test_fuzz_lines, setup),
		cmocka_unit_test_setup(test_line_editor, setup),
		cmocka_unit_test_setup(test_router, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
