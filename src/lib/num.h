#ifndef OMBU_NUM_H
#define OMBU_NUM_H

/*
 * Checked number parsing: the whole input must be the number, no sign
 * unless asked for, no leading white space, overflow detected.  Every
 * number that comes from the wire or a configuration file goes through
 * here.  Return 0 on success, -1 on error (the output is untouched).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int num_parse_u64(const char *s, uint64_t *r);
int num_parse_u64n(const char *s, size_t len, uint64_t *r);
int num_parse_u32(const char *s, uint32_t *r);
int num_parse_i64(const char *s, int64_t *r);
/* Unsigned decimal bounded by max. */
int num_parse_uint_max(const char *s, uint64_t max, uint64_t *r);
/* Decimal number with optional fraction ("-1.5"); finite. */
int num_parse_double(const char *s, double *r);
/* "300M", "1G", "512k", "4096" (bytes; K/M/G/T are powers of 1024). */
int num_parse_size(const char *s, uint64_t *r);
/* "30s", "5m", "2h", "7d", "250ms", "10" (seconds) -> milliseconds. */
int num_parse_duration_ms(const char *s, uint64_t *r);
/* yes/no/true/false/on/off/1/0 */
int num_parse_bool(const char *s, bool *r);
/* Formats a byte count as "300M" when exact, else bytes. */
void num_format_size(uint64_t v, char *dst, size_t dstsize);

#endif
