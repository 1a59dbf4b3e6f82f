/* vm/config.c: VM settings from one line (a module's string) and from a
 * configuration file (docs/configuration.md).
 *
 * A configuration file is text of a given length, not a C string: every file
 * here is passed in a heap block of exactly its length with no terminator,
 * so AddressSanitizer reports any read past its end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/config.h"

/* --- One line ----------------------------------------------------------------------- */

static const char *parse(const char *s, struct vm_config *c, char *err, size_t errlen)
{
	return vm_config_parse(s, "dflt", c, err, errlen);
}

static void expect_parsed(const char *s, struct vm_config *c)
{
	char err[128];
	const char *e = parse(s, c, err, sizeof(err));
	if (e)
		fail_msg("'%s' refused: %s", s, e);
}

/* Refused with a message containing words, written to the caller's buffer
 * when it is formatted. */
static void expect_line_refused(const char *s, const char *words)
{
	struct vm_config c;
	char err[128];
	memset(err, 0, sizeof(err));
	const char *e = parse(s, &c, err, sizeof(err));
	if (!e)
		fail_msg("'%s' accepted", s);
	if (!strstr(e, words))
		fail_msg("'%s' refused with '%s', expected '%s'", s, e, words);
	assert_ptr_equal(e, err);
}

static void test_parse_defaults(void **state)
{
	(void)state;
	static const char *const empty[] = { "", " ", "\t \t", "\r" };
	for (unsigned i = 0; i < ARRAY_SIZE(empty); i++) {
		struct vm_config c;
		memset(&c, 0xa5, sizeof(c));
		expect_parsed(empty[i], &c);
		assert_string_equal(c.name, "dflt");
		assert_int_equal(c.mem, MiB(32));
		assert_int_equal(c.vcpus, 1);
		assert_string_equal(c.kernel, "");
		assert_int_equal(c.module_count, 0);
		assert_string_equal(c.cmdline, "");
		assert_string_equal(c.selftest, "");
		assert_int_equal(c.line, 0);
	}
}

static void test_parse_every_key(void **state)
{
	(void)state;
	struct vm_config c;
	expect_parsed("name=web-1 mem=64M vcpus=1 kernel=k.elf module=a.bin module=b_2.txt "
		      "cmdline=quiet selftest=guest_cr0",
		      &c);
	assert_string_equal(c.name, "web-1");
	assert_int_equal(c.mem, MiB(64));
	assert_int_equal(c.vcpus, 1);
	assert_string_equal(c.kernel, "k.elf");
	assert_int_equal(c.module_count, 2);
	assert_string_equal(c.modules[0], "a.bin");
	assert_string_equal(c.modules[1], "b_2.txt");
	assert_string_equal(c.cmdline, "quiet");
	assert_string_equal(c.selftest, "guest_cr0");
	assert_string_equal(c.disk, "");
	assert_false(c.disk_ro);

	expect_parsed("kernel=k disk=root.img disk_ro=yes disk_transport=mmio", &c);
	assert_string_equal(c.disk, "root.img");
	assert_true(c.disk_ro);
	assert_true(c.disk_mmio);
	expect_parsed("kernel=k disk_size=16M disk_ro=no disk_transport=pci", &c);
	assert_int_equal(c.disk_size, MiB(16));
	assert_false(c.disk_ro);
	assert_false(c.disk_mmio);

	/* APIC virtualization is used unless apicv=no; the last setting wins. */
	assert_false(c.no_apicv);
	expect_parsed("kernel=k apicv=no", &c);
	assert_true(c.no_apicv);
	assert_false(c.disk_ro);
	expect_parsed("kernel=k apicv=no apicv=yes", &c);
	assert_false(c.no_apicv);
	expect_parsed("apicv=yes kernel=k apicv=no", &c);
	assert_true(c.no_apicv);

	/* Tabs and runs of spaces separate; a later setting replaces an earlier one. */
	expect_parsed("\tname=a \t  mem=4M\tname=b  kernel=x kernel=y cmdline=one cmdline=two ", &c);
	assert_string_equal(c.name, "b");
	assert_int_equal(c.mem, MiB(4));
	assert_string_equal(c.kernel, "y");
	assert_string_equal(c.cmdline, "two");
}

/* Sizes: plain bytes, K/M/G in either case, hexadecimal; rounded up to
 * 2 MiB; 2M to 2G (docs/configuration.md). */
static void test_parse_mem(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t mem;
	} ok[] = {
		{ "mem=2M", MiB(2) },          { "mem=2m", MiB(2) },           { "mem=2048K", MiB(2) },
		{ "mem=2048k", MiB(2) },       { "mem=1G", GiB(1) },           { "mem=2g", GiB(2) },
		{ "mem=2097152", MiB(2) },     { "mem=2097153", MiB(4) },      { "mem=0x200000", MiB(2) },
		{ "mem=0X400000", MiB(4) },    { "mem=0x7fE00001", GiB(2) },   { "mem=5M", MiB(6) },
		{ "mem=2047M", GiB(2) },       { "mem=2147483648", GiB(2) },   { "mem=0x10M", MiB(16) },
		{ "mem=4097K", MiB(6) },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(ok); i++) {
		struct vm_config c;
		expect_parsed(ok[i].s, &c);
		if (c.mem != ok[i].mem)
			fail_msg("'%s' gave %llu bytes, expected %llu", ok[i].s, (unsigned long long)c.mem,
				 (unsigned long long)ok[i].mem);
		assert_int_equal(c.mem % MiB(2), 0);
	}
	static const char *const bad[] = {
		"mem=1M", "mem=2047K", "mem=2097151", "mem=0", "mem=", "mem=2147483649", "mem=2049M",
		"mem=3G", "mem=0x80000001", "mem=1T", "mem=12MB", "mem=M", "mem=0x", "mem=-2M",
		"mem=2 M", "mem=99999999999999999999", "mem=18014398509481984K", "mem=\"\"",
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		char words[64];
		const char *v = strchr(bad[i], '=') + 1;
		snprintf(words, sizeof(words), "mem '%s' is not a size from 2M to 2G", v);
		if (strcmp(bad[i], "mem=2 M") == 0)
			snprintf(words, sizeof(words), "mem '2' is not a size");
		if (strcmp(bad[i], "mem=\"\"") == 0)
			snprintf(words, sizeof(words), "mem '' is not a size");
		expect_line_refused(bad[i], words);
	}
}

static void test_parse_vcpus(void **state)
{
	(void)state;
	struct vm_config c;
	expect_parsed("vcpus=1", &c);
	assert_int_equal(c.vcpus, 1);
	expect_parsed("vcpus=2", &c);
	assert_int_equal(c.vcpus, 2);
	expect_parsed("vcpus=4", &c);
	assert_int_equal(c.vcpus, VM_CONFIG_MAX_VCPUS);
	static const char *const bad[] = { "vcpus=0", "vcpus=5", "vcpus=64", "vcpus=", "vcpus=1K",
					   "vcpus=one", "vcpus=-1" };
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		char words[64];
		snprintf(words, sizeof(words), "vcpus '%s' is not a number from 1 to 4", strchr(bad[i], '=') + 1);
		expect_line_refused(bad[i], words);
	}
}

/* Names (of the VM, its kernel, its modules, a selftest): 1 to 31 of
 * letters, digits, '-', '_' and '.'. */
static void test_parse_names(void **state)
{
	(void)state;
	static const char *const keys[] = { "name", "kernel", "module", "selftest" };
	for (unsigned k = 0; k < ARRAY_SIZE(keys); k++) {
		char s[96], words[96];
		struct vm_config c;

		/* 31 characters: the most. */
		snprintf(s, sizeof(s), "%s=%s", keys[k], "Aa0-_.bcdefghijklmnopqrstuvwxyz");
		expect_parsed(s, &c);
		const char *got = k == 0 ? c.name : k == 1 ? c.kernel : k == 2 ? c.modules[0] : c.selftest;
		assert_string_equal(got, "Aa0-_.bcdefghijklmnopqrstuvwxyz");

		snprintf(words, sizeof(words), "%s must be 1 to 31 characters", keys[k]);
		snprintf(s, sizeof(s), "%s=%s", keys[k], "Aa0-_.bcdefghijklmnopqrstuvwxyz1");
		expect_line_refused(s, words);
		snprintf(s, sizeof(s), "%s=", keys[k]);
		expect_line_refused(s, words);
		snprintf(s, sizeof(s), "%s=\"\"", keys[k]);
		expect_line_refused(s, words);

		static const char *const bad[] = { "a/b", "a,b", "a=b", "\"a b\"", "a\"b", "caf\xc3\xa9",
						   "x\x7f", "#" };
		for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
			snprintf(s, sizeof(s), "%s=%s", keys[k], bad[i]);
			snprintf(words, sizeof(words), "%s '", keys[k]);
			expect_line_refused(s, words);
			expect_line_refused(s, "may use only letters, digits, '-', '_' and '.'");
		}
	}

	/* An overlong default name is cut to fit. */
	struct vm_config c;
	char err[128];
	assert_null(vm_config_parse("", "a-default-name-that-is-much-too-long-to-fit", &c, err,
				    sizeof(err)));
	assert_string_equal(c.name, "a-default-name-that-is-much-too");
}

static void test_parse_modules_up_to_eight(void **state)
{
	(void)state;
	char s[256] = "";
	struct vm_config c;
	for (unsigned i = 0; i < VM_CONFIG_MAX_MODULES; i++) {
		char one[16];
		snprintf(one, sizeof(one), "module=m%u ", i);
		strcat(s, one);
	}
	expect_parsed(s, &c);
	assert_int_equal(c.module_count, 8);
	for (unsigned i = 0; i < 8; i++) {
		char want[8];
		snprintf(want, sizeof(want), "m%u", i);
		assert_string_equal(c.modules[i], want); /* in order */
	}
	strcat(s, "module=m8");
	expect_line_refused(s, "more than 8 modules");

	/* A refused module name is not counted. */
	char err[128];
	assert_non_null(parse("module=a module=b/c", &c, err, sizeof(err)));
	assert_int_equal(c.module_count, 1);
}

static void test_parse_cmdline(void **state)
{
	(void)state;
	struct vm_config c;
	/* Quotes hold spaces, '#' and '='; they are not part of the value. */
	expect_parsed("name=a cmdline=\"console=ttyS0 quiet # not a comment\" mem=4M", &c);
	assert_string_equal(c.cmdline, "console=ttyS0 quiet # not a comment");
	assert_string_equal(c.name, "a");
	assert_int_equal(c.mem, MiB(4));
	expect_parsed("cmdline=\"\"", &c);
	assert_string_equal(c.cmdline, "");
	expect_parsed("cmdline=\"\ttabs\t\"", &c);
	assert_string_equal(c.cmdline, "\ttabs\t");
	expect_parsed("cmdline=a=b,c", &c);
	assert_string_equal(c.cmdline, "a=b,c");
	expect_parsed("cmdline=", &c);
	assert_string_equal(c.cmdline, "");
	/* Without quotes the value ends at the first space. */
	expect_parsed("cmdline=one two", &c);
	assert_string_equal(c.cmdline, "one");

	/* Up to 255 characters. */
	char s[300];
	memcpy(s, "cmdline=\"", 9);
	memset(s + 9, 'x', 255);
	memcpy(s + 9 + 255, "\"", 2);
	expect_parsed(s, &c);
	assert_int_equal(strlen(c.cmdline), 255);
	memcpy(s + 9 + 255, "y\"", 3);
	expect_line_refused(s, "cmdline is longer than 255 characters");
}

static void test_parse_unterminated_quote(void **state)
{
	(void)state;
	expect_line_refused("cmdline=\"console=ttyS0", "unterminated quote in 'cmdline'");
	expect_line_refused("name=a cmdline=\"", "unterminated quote in 'cmdline'");
	expect_line_refused("name=\"abc", "unterminated quote in 'name'");
}

static void test_parse_refused_keys(void **state)
{
	(void)state;
	expect_line_refused("initrd=rd/img", "initrd 'rd/img' may use only");
	expect_line_refused("disk_size=1000", "is not a multiple of 512 bytes");
	expect_line_refused("disk_size=2G", "is not a multiple of 512 bytes from 512 to 1G");
	expect_line_refused("disk_ro=maybe", "disk_ro must be yes or no");
	expect_line_refused("disk_transport=isa", "disk_transport must be mmio or pci");
	expect_line_refused("apicv=off", "apicv must be no or yes");
	expect_line_refused("apicv=", "apicv must be no or yes");
	expect_line_refused("name=a initrd=", "initrd must be 1 to 31 characters");
	static const char *const unknown[] = { "foo", "Name", "names", "nam", "mem ory", "cpus", "" };
	for (unsigned i = 0; i < ARRAY_SIZE(unknown); i++) {
		char s[64], words[64];
		snprintf(s, sizeof(s), "%s=1", unknown[i]);
		const char *key = strrchr(unknown[i], ' ') ? strrchr(unknown[i], ' ') + 1 : unknown[i];
		snprintf(words, sizeof(words), "unknown setting '%s'", key);
		expect_line_refused(s, words);
	}
	/* A short error buffer: the message is cut and still terminated. */
	struct vm_config c;
	char tiny[8];
	const char *e = parse("bogus=1", &c, tiny, sizeof(tiny));
	assert_ptr_equal(e, tiny);
	assert_string_equal(tiny, "unknown");
}

/* Words without '=' (GRUB may pass the module's path first) are skipped. */
static void test_parse_path_tokens_skipped(void **state)
{
	(void)state;
	struct vm_config c;
	expect_parsed("/boot/guests/basic.elf name=basic", &c);
	assert_string_equal(c.name, "basic");
	expect_parsed("name=x stray words mem=8M /more/paths", &c);
	assert_string_equal(c.name, "x");
	assert_int_equal(c.mem, MiB(8));
	expect_parsed("/boot/guests/basic.elf", &c);
	assert_string_equal(c.name, "dflt");
	assert_int_equal(c.mem, MiB(32));
}

/* --- A configuration file ------------------------------------------------------------- */

struct report {
	unsigned line;
	char message[160];
};

struct reports {
	struct report r[64];
	unsigned n;
};

static void record(void *ctx, unsigned line, const char *message)
{
	struct reports *rs = ctx;
	assert_true(rs->n < ARRAY_SIZE(rs->r));
	assert_non_null(message);
	assert_true(strlen(message) < sizeof(rs->r[0].message));
	rs->r[rs->n].line = line;
	strcpy(rs->r[rs->n].message, message);
	rs->n++;
}

/* Parse text of len bytes from an exactly sized, unterminated heap copy. */
static unsigned parse_file_n(const char *text, size_t len, struct vm_config *out, unsigned max,
			     struct reports *rs)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, text, len);
	memset(rs, 0, sizeof(*rs));
	unsigned n = vm_config_parse_file(copy, len, out, max, record, rs);
	free(copy);
	return n;
}

static unsigned parse_file(const char *text, struct vm_config *out, unsigned max, struct reports *rs)
{
	return parse_file_n(text, strlen(text), out, max, rs);
}

static void assert_report(const struct reports *rs, unsigned i, unsigned line, const char *words)
{
	if (i >= rs->n)
		fail_msg("report %u (line %u, '%s') missing: only %u", i, line, words, rs->n);
	if (rs->r[i].line != line || !strstr(rs->r[i].message, words))
		fail_msg("report %u: line %u '%s', expected line %u '%s'", i, rs->r[i].line,
			 rs->r[i].message, line, words);
}

static void test_file_basic(void **state)
{
	(void)state;
	static const char text[] =
		"# two VMs\n"
		"\n"
		"vm name=mb1 mem=16M kernel=mb1.bin module=mod1.txt cmdline=\"console=com1 debug\"\n"
		"   \t\n"
		"  # indented comment\n"
		"vm name=demo kernel=basic.elf # the rest are defaults\n";
	struct vm_config out[4];
	struct reports rs;
	assert_int_equal(parse_file(text, out, 4, &rs), 2);
	assert_int_equal(rs.n, 0);
	assert_string_equal(out[0].name, "mb1");
	assert_int_equal(out[0].mem, MiB(16));
	assert_string_equal(out[0].kernel, "mb1.bin");
	assert_int_equal(out[0].module_count, 1);
	assert_string_equal(out[0].modules[0], "mod1.txt");
	assert_string_equal(out[0].cmdline, "console=com1 debug");
	assert_int_equal(out[0].line, 3);
	assert_string_equal(out[1].name, "demo");
	assert_int_equal(out[1].mem, MiB(32));
	assert_int_equal(out[1].vcpus, 1);
	assert_string_equal(out[1].kernel, "basic.elf");
	assert_int_equal(out[1].module_count, 0);
	assert_string_equal(out[1].cmdline, "");
	assert_int_equal(out[1].line, 6);
}

/* Nothing to parse: no VMs and no reports. */
static void test_file_empty(void **state)
{
	(void)state;
	static const char *const texts[] = { "", "\n", "\n\n\n", "# only\n# comments", "  \t \r\n",
					     "#\r\n\r\n# x \"unterminated\n" };
	for (unsigned i = 0; i < ARRAY_SIZE(texts); i++) {
		struct vm_config out[2];
		struct reports rs;
		assert_int_equal(parse_file(texts[i], out, 2, &rs), 0);
		assert_int_equal(rs.n, 0);
	}
}

/* CRLF line endings: '\r' is whitespace, never part of a value, and line
 * numbers count '\n'. */
static void test_file_crlf(void **state)
{
	(void)state;
	static const char text[] = "# windows\r\n"
				   "vm name=a kernel=k.elf cmdline=quiet\r\n"
				   "\r\n"
				   "vm name=b kernel=k.elf cmdline=\"x y\"\r\n"
				   "vm name=c kernel=k.elf mem=1K\r\n"
				   "vm name=d kernel=k.elf\r\n";
	struct vm_config out[8];
	struct reports rs;
	assert_int_equal(parse_file(text, out, 8, &rs), 3);
	assert_string_equal(out[0].cmdline, "quiet");
	assert_string_equal(out[0].kernel, "k.elf");
	assert_int_equal(out[0].line, 2);
	assert_string_equal(out[1].cmdline, "x y");
	assert_int_equal(out[1].line, 4);
	assert_string_equal(out[2].name, "d");
	assert_string_equal(out[2].kernel, "k.elf");
	assert_int_equal(out[2].line, 6);
	assert_int_equal(rs.n, 1);
	assert_report(&rs, 0, 5, "mem '1K'");
}

/* The last line need not end in a newline; the text is read to its length
 * and no further. */
static void test_file_no_trailing_newline(void **state)
{
	(void)state;
	struct vm_config out[4];
	struct reports rs;
	assert_int_equal(parse_file("vm kernel=ab", out, 4, &rs), 1);
	assert_string_equal(out[0].kernel, "ab");
	assert_int_equal(out[0].line, 1);
	assert_int_equal(parse_file("# c\nvm kernel=a\nvm kernel=b cmdline=\"q r\"", out, 4, &rs), 2);
	assert_string_equal(out[1].cmdline, "q r");
	assert_int_equal(out[1].line, 3);
	assert_int_equal(rs.n, 0);

	/* Cut in the middle of a value: it ends at the end of the text. */
	static const char text[] = "vm kernel=abcdef name=xyz";
	assert_int_equal(parse_file_n(text, 15, out, 4, &rs), 1); /* "vm kernel=abcde" */
	assert_string_equal(out[0].kernel, "abcde");
	assert_string_equal(out[0].name, "vm0");
	assert_int_equal(parse_file_n(text, 10, out, 4, &rs), 0); /* "vm kernel=" */
	assert_report(&rs, 0, 1, "kernel must be 1 to 31 characters");

	/* An open quote at the very end. */
	assert_int_equal(parse_file("vm kernel=a cmdline=\"abc", out, 4, &rs), 0);
	assert_report(&rs, 0, 1, "unterminated quote in 'cmdline'");
	assert_int_equal(parse_file("vm kernel=a cmdline=\"", out, 4, &rs), 0);
	assert_report(&rs, 0, 1, "unterminated quote");
	/* A comment to the end. */
	assert_int_equal(parse_file("vm kernel=a # abc", out, 4, &rs), 1);
	assert_int_equal(parse_file("vm kernel=a #", out, 4, &rs), 1);
}

/* Each bad line is reported once with its number; the good ones are
 * returned in order. */
static void test_file_bad_lines_reported(void **state)
{
	(void)state;
	static const char text[] = "vm name=first kernel=k1\n"          /* 1 ok */
				   "vmx kernel=a\n"                     /* 2 */
				   "vm name=nokernel\n"                 /* 3 */
				   "vm kernel=a mem=lots\n"             /* 4 */
				   "vm kernel=a name=first\n"           /* 5 duplicate */
				   "name=c kernel=d\n"                  /* 6 */
				   "vm kernel=a cmdline=\"open\n"       /* 7 */
				   "vm kernel=a vcpus=9\n"              /* 8 */
				   "vm kernel=a initrd=\n"              /* 9 */
				   "vm kernel=a colour=blue\n"          /* 10 */
				   "# fine\n"                           /* 11 */
				   "vm kernel=a module=m module=n/o\n"  /* 12 */
				   "vm name=last kernel=k2 module=m\n"; /* 13 ok */
	struct vm_config out[8];
	struct reports rs;
	assert_int_equal(parse_file(text, out, 8, &rs), 2);
	assert_string_equal(out[0].name, "first");
	assert_string_equal(out[0].kernel, "k1");
	assert_int_equal(out[0].line, 1);
	assert_string_equal(out[1].name, "last");
	assert_string_equal(out[1].kernel, "k2");
	assert_int_equal(out[1].module_count, 1);
	assert_int_equal(out[1].line, 13);
	assert_int_equal(rs.n, 10);
	assert_report(&rs, 0, 2, "expected a line starting with 'vm'");
	assert_report(&rs, 1, 3, "no kernel= given");
	assert_report(&rs, 2, 4, "mem 'lots' is not a size from 2M to 2G");
	assert_report(&rs, 3, 5, "a VM of that name is already defined");
	assert_report(&rs, 4, 6, "expected a line starting with 'vm'");
	assert_report(&rs, 5, 7, "unterminated quote in 'cmdline'");
	assert_report(&rs, 6, 8, "vcpus '9'");
	assert_report(&rs, 7, 9, "initrd must be 1 to 31 characters");
	assert_report(&rs, 8, 10, "unknown setting 'colour'");
	assert_report(&rs, 9, 12, "module 'n/o' may use only");
}

/* The keyword: "vm" then whitespace, after optional leading whitespace. */
static void test_file_vm_keyword(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool ok;
	} cases[] = {
		{ "vm kernel=a", true },    { "vm\tkernel=a", true },  { "  \tvm  kernel=a", true },
		{ "vm\rkernel=a", true },   { "VM kernel=a", false },  { "vmkernel=a", false },
		{ "vm", false },            { "v", false },            { "kernel=a", false },
		{ "vms kernel=a", false },  { "xvm kernel=a", false }, { "vm=1 kernel=a", false },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vm_config out[2];
		struct reports rs;
		unsigned n = parse_file(cases[i].text, out, 2, &rs);
		if (n != (cases[i].ok ? 1u : 0u) || rs.n != (cases[i].ok ? 0u : 1u))
			fail_msg("'%s': %u VMs, %u reports", cases[i].text, n, rs.n);
		if (!cases[i].ok)
			assert_int_equal(rs.r[0].line, 1);
	}
	/* "vm" alone says what is missing. */
	struct vm_config out[2];
	struct reports rs;
	parse_file("vm \n", out, 2, &rs);
	assert_report(&rs, 0, 1, "no kernel= given");
}

/* Names must differ, default names ("vmN", N = VMs accepted so far)
 * included. */
static void test_file_duplicate_names(void **state)
{
	(void)state;
	struct vm_config out[8];
	struct reports rs;
	unsigned n = parse_file("vm kernel=a\n"
				"vm kernel=a\n"
				"vm name=vm2 kernel=b\n"
				"vm kernel=c\n"   /* would be vm3 */
				"vm kernel=d name=vm3\n"
				"vm name=VM0 kernel=e\n",
				out, 8, &rs);
	assert_int_equal(n, 5);
	assert_string_equal(out[0].name, "vm0");
	assert_string_equal(out[1].name, "vm1");
	assert_string_equal(out[2].name, "vm2");
	assert_string_equal(out[3].name, "vm3");
	assert_string_equal(out[4].name, "VM0");
	assert_int_equal(rs.n, 1);
	assert_report(&rs, 0, 5, "a VM of that name is already defined");
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			assert_true(strcmp(out[i].name, out[j].name) != 0);

	/* A default name that an earlier line took explicitly. */
	n = parse_file("vm name=vm1 kernel=a\nvm kernel=b\n", out, 8, &rs);
	assert_int_equal(n, 1);
	assert_report(&rs, 0, 2, "already defined");
}

/* At most max VMs are written: out[] is a heap block of exactly max, so a
 * write past it is reported by AddressSanitizer. */
static void test_file_max_vms(void **state)
{
	(void)state;
	static const char text[] = "vm kernel=a\nvm kernel=b\n# c\nvm kernel=c\nvm kernel=d\n";
	for (unsigned max = 0; max <= 5; max++) {
		struct vm_config *out = malloc(sizeof(*out) * (max ? max : 1));
		struct reports rs;
		unsigned n = parse_file(text, out, max, &rs);
		unsigned want = max < 4 ? max : 4;
		assert_int_equal(n, want);
		assert_int_equal(rs.n, 4 - want);
		static const unsigned lines[] = { 1, 2, 4, 5 };
		for (unsigned i = 0; i < n; i++)
			assert_int_equal(out[i].line, lines[i]);
		for (unsigned i = 0; i < rs.n; i++)
			assert_report(&rs, i, lines[want + i], "too many VMs");
		free(out);
	}
}

/* A NUL byte in a line is reported; one inside a comment does no harm. */
static void test_file_nul_byte(void **state)
{
	(void)state;
	static const char text[] = "vm kernel=a\n"
				   "vm kernel=b\0 name=x\n"
				   "v\0m kernel=c\n"
				   "\0\n"
				   "vm kernel=d # a \0 in a comment\n"
				   "vm kernel=e cmdline=\"a\0b\"\n";
	struct vm_config out[8];
	struct reports rs;
	unsigned n = parse_file_n(text, sizeof(text) - 1, out, 8, &rs);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].kernel, "a");
	assert_string_equal(out[1].kernel, "d");
	assert_int_equal(out[1].line, 5);
	assert_int_equal(rs.n, 4);
	assert_report(&rs, 0, 2, "NUL byte");
	assert_report(&rs, 1, 3, "NUL byte");
	assert_report(&rs, 2, 4, "NUL byte");
	assert_report(&rs, 3, 6, "NUL byte");
}

/* '#' starts a comment outside quotes only. */
static void test_file_comments_and_quotes(void **state)
{
	(void)state;
	struct vm_config out[4];
	struct reports rs;
	unsigned n = parse_file("vm kernel=a cmdline=\"x # y\" # mem=1K\n"
				"vm kernel=b # mem=1K cmdline=\"z\n"
				"vm kernel=c#mem=1K\n",
				out, 4, &rs);
	assert_int_equal(rs.n, 0);
	assert_int_equal(n, 3);
	assert_string_equal(out[0].cmdline, "x # y");
	assert_int_equal(out[0].mem, MiB(32));
	assert_string_equal(out[1].cmdline, "");
	assert_int_equal(out[1].mem, MiB(32));
	assert_string_equal(out[2].kernel, "c");
	assert_int_equal(out[2].mem, MiB(32));
}

/* Very long lines: a comment, leading blanks, a value far too long (its
 * message is cut to the error buffer, not overrun). */
static void test_file_long_lines(void **state)
{
	(void)state;
	size_t big = 200000;
	char *text = malloc(3 * big + 2000);
	size_t len = 0;
	text[len++] = '#';
	memset(text + len, 'c', big);
	len += big;
	text[len++] = '\n';
	memset(text + len, ' ', big);
	len += big;
	len += (size_t)sprintf(text + len, "vm kernel=a\n");
	len += (size_t)sprintf(text + len, "vm kernel=b cmdline=");
	memset(text + len, 'x', big);
	len += big;
	len += (size_t)sprintf(text + len, "\nvm kernel=c ");
	memset(text + len, 'k', 1000); /* an unknown key 1000 characters long */
	len += 1000;
	len += (size_t)sprintf(text + len, "=1\nvm kernel=d\n");

	struct vm_config out[4];
	struct reports rs;
	unsigned n = parse_file_n(text, len, out, 4, &rs);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].kernel, "a");
	assert_int_equal(out[0].line, 2);
	assert_string_equal(out[1].kernel, "d");
	assert_int_equal(out[1].line, 5);
	assert_int_equal(rs.n, 2);
	assert_report(&rs, 0, 3, "cmdline is longer than 255 characters");
	assert_report(&rs, 1, 4, "unknown setting 'kkkk");
	assert_true(strlen(rs.r[1].message) < 128);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_every_key),
		cmocka_unit_test(test_parse_mem),
		cmocka_unit_test(test_parse_vcpus),
		cmocka_unit_test(test_parse_names),
		cmocka_unit_test(test_parse_modules_up_to_eight),
		cmocka_unit_test(test_parse_cmdline),
		cmocka_unit_test(test_parse_unterminated_quote),
		cmocka_unit_test(test_parse_refused_keys),
		cmocka_unit_test(test_parse_path_tokens_skipped),
		cmocka_unit_test(test_file_basic),
		cmocka_unit_test(test_file_empty),
		cmocka_unit_test(test_file_crlf),
		cmocka_unit_test(test_file_no_trailing_newline),
		cmocka_unit_test(test_file_bad_lines_reported),
		cmocka_unit_test(test_file_vm_keyword),
		cmocka_unit_test(test_file_duplicate_names),
		cmocka_unit_test(test_file_max_vms),
		cmocka_unit_test(test_file_nul_byte),
		cmocka_unit_test(test_file_comments_and_quotes),
		cmocka_unit_test(test_file_long_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
