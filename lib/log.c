#include "lib/log.h"
#include "lib/string.h"

enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_threshold)
		return;
	console_lock(); /* the whole line at once */
	kprintf("[hv %s] ", level_names[level]);
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	console_unlock();
}

bool log_level_parse(const char *s, size_t len, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strlen(level_names[i]) == len && strncmp(s, level_names[i], len) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}
