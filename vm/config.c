#include "vm/config.h"
#include "lib/printf.h"
#include "lib/string.h"

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Copy a name-like value (VM, module names) into dst, checking its characters. */
static const char *take_name(const char *what, const char *val, size_t vlen, char *dst, size_t dstlen,
			     char *errbuf, size_t errlen)
{
	if (vlen == 0 || vlen >= dstlen) {
		hv_snprintf(errbuf, errlen, "%s must be 1 to %zu characters", what, dstlen - 1);
		return errbuf;
	}
	for (size_t i = 0; i < vlen; i++)
		if (!name_char_ok(val[i])) {
			hv_snprintf(errbuf, errlen, "%s '%.*s' may use only letters, digits, '-', '_' and '.'",
				    what, (int)vlen, val);
			return errbuf;
		}
	memcpy(dst, val, vlen);
	dst[vlen] = '\0';
	return NULL;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
	return strlen(name) == klen && strncmp(k, name, klen) == 0;
}

/* Parse settings from [s, end). */
static const char *parse_settings(const char *s, const char *end, struct vm_config *out, char *errbuf,
				  size_t errlen)
{
	while (s < end) {
		while (s < end && is_space(*s))
			s++;
		if (s == end)
			break;
		const char *tok = s, *eq = NULL;
		while (s < end && !is_space(*s) && *s != '=')
			s++;
		if (s == end || *s != '=') {
			while (s < end && !is_space(*s))
				s++;
			continue; /* a word without '=': the module's path, as GRUB may pass it */
		}
		eq = s++;
		const char *val = s;
		size_t vlen;
		if (s < end && *s == '"') {
			val = ++s;
			while (s < end && *s != '"')
				s++;
			if (s == end) {
				hv_snprintf(errbuf, errlen, "unterminated quote in '%.*s'", (int)(eq - tok), tok);
				return errbuf;
			}
			vlen = (size_t)(s - val);
			s++;
		} else {
			while (s < end && !is_space(*s))
				s++;
			vlen = (size_t)(s - val);
		}
		size_t klen = (size_t)(eq - tok);
		const char *e = NULL;

		if (key_is(tok, klen, "name")) {
			e = take_name("name", val, vlen, out->name, sizeof(out->name), errbuf, errlen);
		} else if (key_is(tok, klen, "mem")) {
			uint64_t m;
			if (!parse_u64(val, vlen, &m, true) || m < VM_MEM_MIN || m > VM_MEM_MAX) {
				hv_snprintf(errbuf, errlen, "mem '%.*s' is not a size from 2M to 2G", (int)vlen,
					    val);
				return errbuf;
			}
			out->mem = ALIGN_UP(m, MiB(2));
		} else if (key_is(tok, klen, "vcpus")) {
			uint64_t n;
			if (!parse_u64(val, vlen, &n, false) || n < 1 || n > VM_CONFIG_MAX_VCPUS) {
				hv_snprintf(errbuf, errlen, "vcpus '%.*s' is not a number from 1 to %u", (int)vlen,
					    val, VM_CONFIG_MAX_VCPUS);
				return errbuf;
			}
			out->vcpus = (unsigned)n;
		} else if (key_is(tok, klen, "kernel")) {
			e = take_name("kernel", val, vlen, out->kernel, sizeof(out->kernel), errbuf, errlen);
		} else if (key_is(tok, klen, "module")) {
			if (out->module_count == VM_CONFIG_MAX_MODULES) {
				hv_snprintf(errbuf, errlen, "more than %u modules", VM_CONFIG_MAX_MODULES);
				return errbuf;
			}
			e = take_name("module", val, vlen, out->modules[out->module_count],
				      sizeof(out->modules[0]), errbuf, errlen);
			if (!e)
				out->module_count++;
		} else if (key_is(tok, klen, "cmdline")) {
			if (vlen >= sizeof(out->cmdline)) {
				hv_snprintf(errbuf, errlen, "cmdline is longer than %zu characters",
					    sizeof(out->cmdline) - 1);
				return errbuf;
			}
			memcpy(out->cmdline, val, vlen);
			out->cmdline[vlen] = '\0';
		} else if (key_is(tok, klen, "selftest")) {
			e = take_name("selftest", val, vlen, out->selftest, sizeof(out->selftest), errbuf,
				      errlen);
		} else if (key_is(tok, klen, "disk")) {
			e = take_name("disk", val, vlen, out->disk, sizeof(out->disk), errbuf, errlen);
		} else if (key_is(tok, klen, "disk_size")) {
			uint64_t m;
			if (!parse_u64(val, vlen, &m, true) || m < 512 || m > GiB(1) || (m & 511)) {
				hv_snprintf(errbuf, errlen,
					    "disk_size '%.*s' is not a multiple of 512 bytes from 512 to 1G",
					    (int)vlen, val);
				return errbuf;
			}
			out->disk_size = m;
		} else if (key_is(tok, klen, "disk_ro") || key_is(tok, klen, "disk_transport") ||
			   key_is(tok, klen, "apicv")) {
			/* Two-valued settings: the first value sets the flag. */
			bool ro = key_is(tok, klen, "disk_ro"), apicv = key_is(tok, klen, "apicv");
			const char *a = ro ? "yes" : apicv ? "no" : "mmio", *b = ro ? "no" : apicv ? "yes" : "pci";
			if (vlen == strlen(a) && strncmp(val, a, vlen) == 0) {
				if (ro)
					out->disk_ro = true;
				else if (apicv)
					out->no_apicv = true;
				else
					out->disk_mmio = true;
			} else if (vlen == strlen(b) && strncmp(val, b, vlen) == 0) {
				if (apicv)
					out->no_apicv = false;
			} else {
				hv_snprintf(errbuf, errlen, "%.*s must be %s or %s", (int)klen, tok, a, b);
				return errbuf;
			}
		} else if (key_is(tok, klen, "initrd")) {
			e = take_name("initrd", val, vlen, out->initrd, sizeof(out->initrd), errbuf, errlen);
		} else {
			hv_snprintf(errbuf, errlen,
				    "unknown setting '%.*s' (known: name, mem, vcpus, kernel, initrd, module, "
				    "cmdline, disk, disk_size, disk_ro, disk_transport, apicv)",
				    (int)klen, tok);
			return errbuf;
		}
		if (e)
			return e;
	}
	return NULL;
}

static void config_defaults(struct vm_config *out, const char *default_name)
{
	memset(out, 0, sizeof(*out));
	hv_snprintf(out->name, sizeof(out->name), "%s", default_name);
	out->mem = VM_MEM_DEFAULT;
	out->vcpus = 1;
}

const char *vm_config_parse(const char *s, const char *default_name, struct vm_config *out,
			    char *errbuf, size_t errlen)
{
	config_defaults(out, default_name);
	return parse_settings(s, s + strlen(s), out, errbuf, errlen);
}

unsigned vm_config_parse_file(const char *text, size_t len, struct vm_config *out, unsigned max,
			      config_error_fn report, void *ctx)
{
	unsigned count = 0, line = 0;
	const char *p = text, *end = text + len;
	char err[128];

	while (p < end) {
		const char *eol = p;
		while (eol < end && *eol != '\n')
			eol++;
		line++;
		const char *s = p, *e = eol;
		p = eol < end ? eol + 1 : end;

		/* A '#' outside a quoted value starts a comment. Quotes count only
		 * where parse_settings takes them: right after '='. */
		bool quoted = false;
		for (const char *q = s; q < e; q++) {
			if (quoted) {
				if (*q == '"')
					quoted = false;
			} else if (*q == '"' && q > s && q[-1] == '=') {
				quoted = true;
			} else if (*q == '#') {
				e = q;
				break;
			}
		}
		while (s < e && is_space(*s))
			s++;
		if (s == e)
			continue;
		for (const char *q = s; q < e; q++)
			if (*q == '\0') {
				report(ctx, line, "the line holds a NUL byte");
				goto next;
			}
		if (e - s < 2 || strncmp(s, "vm", 2) != 0 || (e - s > 2 && !is_space(s[2]))) {
			report(ctx, line, "expected a line starting with 'vm'");
			continue;
		}
		if (e - s == 2) {
			report(ctx, line, "a 'vm' line needs at least kernel=");
			continue;
		}
		struct vm_config c;
		char defname[16];
		hv_snprintf(defname, sizeof(defname), "vm%u", count);
		config_defaults(&c, defname);
		c.line = line;
		const char *msg = parse_settings(s + 3, e, &c, err, sizeof(err));
		if (!msg && !c.kernel[0])
			msg = "no kernel= given";
		for (unsigned i = 0; !msg && i < count; i++)
			if (strcmp(out[i].name, c.name) == 0)
				msg = "a VM of that name is already defined";
		if (!msg && count == max)
			msg = "too many VMs";
		if (msg) {
			report(ctx, line, msg);
			continue;
		}
		out[count++] = c;
	next:;
	}
	return count;
}
