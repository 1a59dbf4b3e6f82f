#include "vm/config.h"
#include "lib/printf.h"
#include "lib/string.h"

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

const char *vm_config_parse(const char *s, const char *default_name, struct vm_config *out,
			    char *errbuf, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	hv_snprintf(out->name, sizeof(out->name), "%s", default_name);
	out->mem = VM_MEM_DEFAULT;

	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		const char *tok = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		size_t len = (size_t)(s - tok);
		const char *eq = NULL;
		for (size_t i = 0; i < len; i++)
			if (tok[i] == '=') {
				eq = tok + i;
				break;
			}
		if (!eq)
			continue; /* the module's path, as GRUB may pass it */
		size_t klen = (size_t)(eq - tok), vlen = len - klen - 1;
		const char *val = eq + 1;

		if (klen == 4 && strncmp(tok, "name", 4) == 0) {
			if (vlen == 0 || vlen >= sizeof(out->name)) {
				hv_snprintf(errbuf, errlen, "name must be 1 to %zu characters",
					    sizeof(out->name) - 1);
				return errbuf;
			}
			for (size_t i = 0; i < vlen; i++)
				if (!name_char_ok(val[i])) {
					hv_snprintf(errbuf, errlen,
						    "name '%.*s' may use only letters, digits, '-', '_' and '.'",
						    (int)vlen, val);
					return errbuf;
				}
			memcpy(out->name, val, vlen);
			out->name[vlen] = '\0';
		} else if (klen == 3 && strncmp(tok, "mem", 3) == 0) {
			uint64_t m;
			if (!parse_u64(val, vlen, &m, true) || m < VM_MEM_MIN || m > VM_MEM_MAX) {
				hv_snprintf(errbuf, errlen, "mem '%.*s' is not a size from 2M to 2G",
					    (int)vlen, val);
				return errbuf;
			}
			out->mem = ALIGN_UP(m, MiB(2));
		} else {
			hv_snprintf(errbuf, errlen, "unknown setting '%.*s' (known: name, mem)",
				    (int)klen, tok);
			return errbuf;
		}
	}
	return NULL;
}
