#include "lib/printf.h"
#include "lib/string.h"
#include "lib/spinlock.h"

struct fmt_spec {
	bool left, zero;
	int width, precision;
	int length; /* 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t */
};

static int emit_padding(fmt_sink_fn sink, void *ctx, char c, int n)
{
	for (int i = 0; i < n; i++)
		sink(ctx, c);
	return n > 0 ? n : 0;
}

static int emit_number(fmt_sink_fn sink, void *ctx, uint64_t v, bool negative,
		       unsigned base, bool upper, const struct fmt_spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, count = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	int len = n + (negative ? 1 : 0);
	int pad = sp->width - len;
	if (!sp->left && !sp->zero)
		count += emit_padding(sink, ctx, ' ', pad);
	if (negative) {
		sink(ctx, '-');
		count++;
	}
	if (!sp->left && sp->zero)
		count += emit_padding(sink, ctx, '0', pad);
	while (n)
		sink(ctx, tmp[--n]), count++;
	if (sp->left)
		count += emit_padding(sink, ctx, ' ', pad);
	return count;
}

static uint64_t fetch_unsigned(va_list *ap, int length)
{
	switch (length) {
	case -2: return (unsigned char)va_arg(*ap, unsigned int);
	case -1: return (unsigned short)va_arg(*ap, unsigned int);
	case 1: return va_arg(*ap, unsigned long);
	case 2: return va_arg(*ap, unsigned long long);
	case 3: return va_arg(*ap, size_t);
	default: return va_arg(*ap, unsigned int);
	}
}

static int64_t fetch_signed(va_list *ap, int length)
{
	switch (length) {
	case -2: return (signed char)va_arg(*ap, int);
	case -1: return (short)va_arg(*ap, int);
	case 1: return va_arg(*ap, long);
	case 2: return va_arg(*ap, long long);
	case 3: return (int64_t)va_arg(*ap, size_t);
	default: return va_arg(*ap, int);
	}
}

int fmt_vformat(fmt_sink_fn sink, void *ctx, const char *fmt, va_list ap_in)
{
	va_list ap;
	int count = 0;

	va_copy(ap, ap_in);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			sink(ctx, *fmt);
			count++;
			continue;
		}
		struct fmt_spec sp = { .precision = -1 };
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				sp.left = true;
			else if (*fmt == '0')
				sp.zero = true;
			else
				break;
		}
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				sp.width = sp.width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			sp.precision = 0;
			if (*fmt == '*') {
				sp.precision = va_arg(ap, int);
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					sp.precision = sp.precision * 10 + (*fmt++ - '0');
			}
		}
		if (*fmt == 'h') {
			sp.length = -1;
			if (*++fmt == 'h') {
				sp.length = -2;
				fmt++;
			}
		} else if (*fmt == 'l') {
			sp.length = 1;
			if (*++fmt == 'l') {
				sp.length = 2;
				fmt++;
			}
		} else if (*fmt == 'z') {
			sp.length = 3;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = fetch_signed(&ap, sp.length);
			uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			count += emit_number(sink, ctx, mag, v < 0, 10, false, &sp);
			break;
		}
		case 'u':
			count += emit_number(sink, ctx, fetch_unsigned(&ap, sp.length), false, 10, false, &sp);
			break;
		case 'x':
		case 'X':
			count += emit_number(sink, ctx, fetch_unsigned(&ap, sp.length), false, 16,
					     *fmt == 'X', &sp);
			break;
		case 'o':
			count += emit_number(sink, ctx, fetch_unsigned(&ap, sp.length), false, 8, false, &sp);
			break;
		case 'p': {
			sink(ctx, '0');
			sink(ctx, 'x');
			count += 2;
			struct fmt_spec ps = { .zero = true, .width = 16 };
			count += emit_number(sink, ctx, (uint64_t)(uintptr_t)va_arg(ap, void *), false,
					     16, false, &ps);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			if (!sp.left)
				count += emit_padding(sink, ctx, ' ', sp.width - 1);
			sink(ctx, c);
			count++;
			if (sp.left)
				count += emit_padding(sink, ctx, ' ', sp.width - 1);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			size_t n = sp.precision >= 0 ? strnlen(s, (size_t)sp.precision) : strlen(s);
			if (!sp.left)
				count += emit_padding(sink, ctx, ' ', sp.width - (int)n);
			for (size_t i = 0; i < n; i++)
				sink(ctx, s[i]);
			count += (int)n;
			if (sp.left)
				count += emit_padding(sink, ctx, ' ', sp.width - (int)n);
			break;
		}
		case '%':
			sink(ctx, '%');
			count++;
			break;
		case '\0':
			fmt--; /* a lone '%' at the end: stop at the terminator */
			break;
		default:
			/* Unknown conversion: show it rather than guess. */
			sink(ctx, '%');
			sink(ctx, *fmt);
			count += 2;
			break;
		}
	}
	va_end(ap);
	return count;
}

struct buf_sink {
	char *buf;
	size_t size, pos;
};

static void buf_putc(void *ctx, char c)
{
	struct buf_sink *b = ctx;
	if (b->size && b->pos < b->size - 1)
		b->buf[b->pos] = c;
	b->pos++;
}

int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buf_sink b = { buf, size, 0 };
	int n = fmt_vformat(buf_putc, &b, fmt, ap);
	if (size)
		buf[MIN(b.pos, size - 1)] = '\0';
	return n;
}

int hv_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = hv_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static void console_sink(void *ctx, char c)
{
	(void)ctx;
	console_putc(c);
}

static struct ticket_lock console_ticket = TICKET_LOCK_INIT;
static unsigned console_owner = UINT32_MAX; /* CPU holding console_ticket */
static unsigned console_depth;

void console_lock(void)
{
	unsigned me = console_cpu_id();
	/* Only this CPU ever stores its own id there: if we read it, we hold it. */
	if (__atomic_load_n(&console_owner, __ATOMIC_RELAXED) == me) {
		console_depth++;
		return;
	}
	ticket_lock(&console_ticket);
	__atomic_store_n(&console_owner, me, __ATOMIC_RELAXED);
	console_depth = 1;
}

void console_unlock(void)
{
	if (--console_depth == 0) {
		__atomic_store_n(&console_owner, UINT32_MAX, __ATOMIC_RELAXED);
		ticket_unlock(&console_ticket);
	}
}

int kvprintf(const char *fmt, va_list ap)
{
	console_lock();
	int n = fmt_vformat(console_sink, NULL, fmt, ap);
	console_unlock();
	return n;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvprintf(fmt, ap);
	va_end(ap);
	return n;
}
