#include "tests/guests/common/guest.h"

#define COM1 0x3f8

static void putc_serial(char c)
{
	if (c == '\n')
		putc_serial('\r');
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

static void put_u32(uint32_t v, unsigned base, int width, char pad)
{
	char buf[12];
	int n = 0;
	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > n)
		putc_serial(pad);
	while (n)
		putc_serial(buf[--n]);
}

static void vprint(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			putc_serial(*fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		switch (*fmt) {
		case 'u': put_u32(va_arg(ap, uint32_t), 10, width, pad); break;
		case 'd': {
			int32_t v = va_arg(ap, int32_t);
			if (v < 0) {
				putc_serial('-');
				v = -v;
			}
			put_u32((uint32_t)v, 10, width, pad);
			break;
		}
		case 'x': put_u32(va_arg(ap, uint32_t), 16, width, pad); break;
		case 's': for (const char *s = va_arg(ap, const char *); *s; s++) putc_serial(*s); break;
		case 'c': putc_serial((char)va_arg(ap, int)); break;
		default: putc_serial('%'); putc_serial(*fmt); break;
		}
	}
}

void gprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
}

void guest_exit(uint32_t code)
{
	while (!(inb(COM1 + 5) & 0x40))
		; /* let the last bytes leave the UART */
	outl(GUEST_EXIT_PORT, code);
	/* Still here: booted natively. End Bochs (its shutdown port) or halt. */
	for (const char *p = "Shutdown"; *p; p++)
		outb(0x8900, (uint8_t)*p);
	for (;;)
		__asm__ volatile("cli; hlt");
}

bool running_under_hypervisor(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	return r[2] & (1u << 31);
}

/* --- Descriptor tables: the guest brings its own, as any OS must --- */
static uint64_t gdt[3] = {
	0,
	0x00cf9a000000ffffULL, /* 0x08: flat 32-bit code */
	0x00cf92000000ffffULL, /* 0x10: flat 32-bit data */
};
static uint64_t idt[64];
extern const uint32_t guest_exc_stubs[64];

static void setup_tables(void)
{
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } gp = { sizeof(gdt) - 1, (uint32_t)gdt },
								       ip = { sizeof(idt) - 1, (uint32_t)idt };
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp $0x08, $1f\n"
			 "1:\n\t"
			 "movw $0x10, %%ax\n\t"
			 "movw %%ax, %%ds\n\tmovw %%ax, %%es\n\tmovw %%ax, %%ss\n\t"
			 "movw %%ax, %%fs\n\tmovw %%ax, %%gs\n\t"
			 : : "m"(gp) : "eax", "memory");
	for (unsigned v = 0; v < 64; v++) {
		uint32_t off = guest_exc_stubs[v];
		if (!off)
			continue;
		/* 32-bit interrupt gate, present, DPL 0 */
		idt[v] = (off & 0xffff) | (0x08ULL << 16) | (0x8eULL << 40) | ((uint64_t)(off >> 16) << 48);
	}
	__asm__ volatile("lidt %0" : : "m"(ip));
}

/* --- Expected exceptions --- */
static volatile int fault_vector = -1;
static volatile unsigned fault_skip;
static volatile bool fault_expected;
volatile uint32_t fault_eip, fault_error;
void (*volatile guest_irq_hook)(struct exc_frame *f);

void guest_exception(struct exc_frame *f);
void guest_exception(struct exc_frame *f)
{
	if ((f->vector == 1 || f->vector == 2 || f->vector >= 32) && guest_irq_hook) {
		guest_irq_hook(f);
		return;
	}
	if (fault_expected) {
		fault_vector = (int)f->vector;
		fault_eip = f->eip;
		fault_error = f->error_code;
		fault_expected = false;
		f->eip += fault_skip;
		return;
	}
	gprintf("FAIL: unexpected exception %u (error code 0x%x) at EIP 0x%x\n", f->vector,
		f->error_code, f->eip);
	guest_exit(0xee);
}

int guest_try(void (*fn)(void *), void *arg, unsigned skip)
{
	fault_vector = -1;
	fault_skip = skip;
	fault_expected = true;
	fn(arg);
	fault_expected = false;
	return fault_vector;
}

/* --- Checks --- */
static int passed, failed;

void check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;
	gprintf("%s: %s", ok ? "PASS" : "FAIL", name);
	if (fmt && *fmt) {
		gprintf(" (");
		va_start(ap, fmt);
		vprint(fmt, ap);
		va_end(ap);
		gprintf(")");
	}
	gprintf("\n");
	if (ok)
		passed++;
	else
		failed++;
}

int checks_failed(void)
{
	return failed;
}

void checks_summary(void)
{
	gprintf("RESULT: %u passed, %u failed\n", (uint32_t)passed, (uint32_t)failed);
}

void guest_start(uint32_t magic, uint32_t mb_info);
void guest_start(uint32_t magic, uint32_t mb_info)
{
	setup_tables();
	guest_main(magic, mb_info);
	guest_exit((uint32_t)checks_failed());
}
