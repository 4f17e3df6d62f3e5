#ifndef OMBU_LOG_H
#define OMBU_LOG_H

/*
 * Logging: one line per event on stderr,
 *
 *   2026-11-26T10:00:00.123Z info mx[4242] event=smtp.connect ip=192.0.2.1
 *
 * The event name comes first, then key=value fields written by the
 * caller's format.  Text that came from a peer (a HELO name, an address,
 * a command) must go through log_str(), which quotes it when it holds
 * spaces or quotes, escapes control and non-ASCII bytes and truncates it.
 * The finished line is filtered again, so that a forgotten log_str() can
 * never inject a line break into the log.
 */

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* process: the name shown on every line ("master", "worker", "cli"). */
void log_init(const char *process);
void log_set_level(enum log_level min);
enum log_level log_get_level(void);
int log_parse_level(const char *s, enum log_level *r);
/* Redirects output (tests); NULL = stderr. */
void log_set_sink(void (*sink)(const char *line, size_t len, void *ctx), void *ctx);

void log_event(enum log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_eventv(enum log_level level, const char *event, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define log_debug(event, ...) \
	do { if (log_get_level() <= LOG_DEBUG) log_event(LOG_DEBUG, event, __VA_ARGS__); } while (0)
#define log_info(event, ...) log_event(LOG_INFO, event, __VA_ARGS__)
#define log_warn(event, ...) log_event(LOG_WARN, event, __VA_ARGS__)
#define log_error(event, ...) log_event(LOG_ERROR, event, __VA_ARGS__)

/* Sanitized copy of untrusted text, valid until 16 further calls in this
 * thread.  NULL becomes "-". */
const char *log_str(const char *s);
const char *log_strn(const char *s, size_t len);
/* Writes the sanitized form of s into dst (always terminated). */
void log_sanitize(char *dst, size_t dstsize, const char *s, size_t len);

#endif
