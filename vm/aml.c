#include "vm/aml.h"
#include "lib/string.h"

void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->buf) {
		if (n > a->cap - a->len || a->len > a->cap) {
			a->overflow = true;
			return;
		}
		memcpy(a->buf + a->len, p, n);
	}
	a->len += n;
}

void aml_name(struct aml *a, const char *name)
{
	if (*name == '\\') {
		aml_byte(a, AML_ROOT_CHAR);
		name++;
	}
	unsigned segs = 1;
	for (const char *p = name; *p; p++)
		segs += *p == '.';
	/* NamePath (20.2.2): one NameSeg, DualNamePrefix + 2, MultiNamePrefix
	 * + count + segments. */
	if (segs == 2)
		aml_byte(a, 0x2e);
	else if (segs > 2) {
		aml_byte(a, 0x2f);
		aml_byte(a, (uint8_t)segs);
	}
	while (*name) {
		char seg[4] = { '_', '_', '_', '_' };
		for (unsigned i = 0; i < 4 && *name && *name != '.'; i++)
			seg[i] = *name++;
		aml_bytes(a, seg, 4);
		if (*name == '.')
			name++;
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else {
		unsigned n = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffff ? 4 : 8;
		aml_byte(a, n == 1 ? AML_BYTE_PREFIX : n == 2 ? AML_WORD_PREFIX
					: n == 4 ? AML_DWORD_PREFIX : AML_QWORD_PREFIX);
		for (unsigned i = 0; i < n; i++)
			aml_byte(a, (uint8_t)(v >> (8 * i)));
	}
}

uint32_t aml_eisaid(const char *id)
{
	/* Three letters, 5 bits each ('A' = 1), then four hex digits; stored
	 * big-endian in a little-endian DWord. */
	uint16_t vendor = (uint16_t)(((id[0] - 0x40) & 0x1f) << 10 | ((id[1] - 0x40) & 0x1f) << 5 |
				     ((id[2] - 0x40) & 0x1f));
	uint16_t product = 0;
	for (unsigned i = 3; i < 7; i++) {
		char c = id[i];
		product = (uint16_t)(product << 4 | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10));
	}
	return (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xff) << 8 | (uint32_t)(product >> 8) << 16 |
	       (uint32_t)(product & 0xff) << 24;
}

size_t aml_open(struct aml *a)
{
	return a->len;
}

void aml_close(struct aml *a, size_t start)
{
	/* PkgLength (20.2.4) counts itself and what follows; one lead byte for
	 * up to 63, else the lead byte's low nibble and 1-3 more bytes. */
	size_t content = a->len - start, total = 0;
	unsigned n;
	for (n = 1; n <= 4; n++) {
		total = content + n;
		if ((n == 1 && total <= 0x3f) || (n == 2 && total <= 0xfff) ||
		    (n == 3 && total <= 0xfffff) || (n == 4 && total <= 0xfffffff))
			break;
	}
	if (n > 4) {
		a->overflow = true;
		return;
	}
	uint8_t enc[4];
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (unsigned i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (a->buf) {
		if (a->overflow || n > a->cap - a->len) {
			a->overflow = true;
			a->len += n;
			return;
		}
		memmove(a->buf + start + n, a->buf + start, content);
		memcpy(a->buf + start, enc, n);
	}
	a->len += n;
}
