/*
 * Building replies (RFC 5321 section 4.2, enhanced codes RFC 2034).
 * Reply text often quotes what a peer sent (an address, a HELO name),
 * so it is sanitized here, once, for every caller: CR and LF can never
 * reach the wire from text, and lines are wrapped to the 512-octet
 * limit instead of being sent too long.
 */

#include "smtp-syntax-private.h"

#include "lib/buf.h"
#include "lib/util.h"

#include <stdio.h>
#include <string.h>

#define SMTP_REPLY_PREFIX_MAX 16 /* "250-5.123.123 " */

static bool enhanced_valid(unsigned code, const char *e)
{
	size_t i = 0;

	if (e[0] != (char)('0' + code / 100) || e[1] != '.')
		return false;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (smtp_syntax_is_digit(e[i]) && i - start < 4)
			i++;
		if (i == start || i - start > 3)
			return false;
		if (part == 0 && e[i++] != '.')
			return false;
	}
	return e[i] == '\0';
}

static bool code_valid(unsigned code)
{
	return code >= 200 && code <= 599 && (code / 10) % 10 <= 5;
}

/* Copies text into out with CR/LF as spaces, other controls and bad
 * UTF-8 as '?'. */
static void sanitize(struct buf *out, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t len = strlen(text);

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			buf_append_c(out, ' ');
		} else if ((s[i] < 32 && s[i] != '\t') || s[i] == 127) {
			buf_append_c(out, '?');
		} else if (s[i] < 0x80) {
			buf_append_c(out, (char)s[i]);
		} else {
			size_t n = smtp_syntax_utf8_seq(s + i, len - i);
			if (n == 0) {
				buf_append_c(out, '?');
			} else {
				buf_append(out, s + i, n);
				i += n - 1;
			}
		}
	}
}

/* Where to cut text of length len so that a line holds at most max
 * bytes: the last space, else max backed off to a UTF-8 boundary.
 * *skip_r: bytes to skip after the cut (the spaces). */
static size_t wrap_point(const char *s, size_t len, size_t max, size_t *skip_r)
{
	size_t cut;

	*skip_r = 0;
	if (len <= max)
		return len;
	for (cut = max; cut > 0 && s[cut] != ' '; cut--)
		;
	if (cut > 0) {
		size_t end = cut, next = cut;
		while (end > 0 && s[end - 1] == ' ')
			end--;
		while (next < len && s[next] == ' ')
			next++;
		if (end > 0) {
			*skip_r = next - end;
			return end;
		}
	}
	cut = max;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	return cut > 0 ? cut : max;
}

/* Writes one logical line, wrapped; `last` marks the reply's end. */
static int write_logical(struct buf *out, unsigned code, const char *enhanced,
			 const char *text, bool last)
{
	struct buf clean;
	char prefix_tail[SMTP_REPLY_PREFIX_MAX];
	size_t max, pos = 0;
	int ret = 0;

	buf_init(&clean, 0);
	sanitize(&clean, text);
	snprintf(prefix_tail, sizeof(prefix_tail), "%s%s", enhanced != NULL ? enhanced : "",
		 enhanced != NULL ? " " : "");
	max = SMTP_REPLY_LINE_MAX - 2 - 4 - strlen(prefix_tail);
	do {
		size_t skip, n = wrap_point(clean.data != NULL ? clean.data + pos : "",
					    clean.len - pos, max, &skip);
		bool final = last && pos + n + skip >= clean.len;
		if (clean.len == 0 && enhanced == NULL)
			ret = buf_printf(out, "%03u%s\r\n", code, final ? "" : "-");
		else
			ret = buf_printf(out, "%03u%c%s%.*s\r\n", code, final ? ' ' : '-',
					 clean.len == 0 ? enhanced : prefix_tail, (int)n,
					 clean.len == 0 ? "" : clean.data + pos);
		pos += n + skip;
	} while (ret == 0 && pos < clean.len);
	buf_free(&clean);
	return ret;
}

int smtp_reply_write_lines(struct buf *out, unsigned code, const char *enhanced,
			   const char *const *lines, size_t n)
{
	size_t start = out->len;

	if (!code_valid(code) || (enhanced != NULL && !enhanced_valid(code, enhanced)))
		return -1;
	for (size_t i = 0; i < n || i == 0; i++) {
		if (write_logical(out, code, enhanced, n > 0 ? lines[i] : "", i + 1 >= n) < 0) {
			buf_truncate(out, start);
			return -1;
		}
	}
	return 0;
}

int smtp_reply_write(struct buf *out, unsigned code, const char *enhanced, const char *text)
{
	return smtp_reply_write_lines(out, code, enhanced, &text, 1);
}

int smtp_reply_writef(struct buf *out, unsigned code, const char *enhanced,
		      const char *fmt, ...)
{
	struct buf text;
	va_list ap;
	int ret;

	buf_init(&text, 0);
	va_start(ap, fmt);
	ret = buf_vprintf(&text, fmt, ap);
	va_end(ap);
	if (ret == 0)
		ret = smtp_reply_write(out, code, enhanced, buf_cstr(&text));
	buf_free(&text);
	return ret;
}

int smtp_reply_write_error(struct buf *out, const struct smtp_error *err, bool with_enhanced)
{
	return smtp_reply_write(out, err->code, with_enhanced ? err->enhanced : NULL, err->text);
}
