/* Log levels for the hypervisor console. Every line is prefixed with its level
 * so the test harness and a person reading the serial log can filter it. */
#ifndef LIB_LOG_H
#define LIB_LOG_H

#include "lib/printf.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;

void log_msg(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Parse "error", "warn", "info" or "debug"; false if unknown. */
bool log_level_parse(const char *s, size_t len, enum log_level *out);

#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
