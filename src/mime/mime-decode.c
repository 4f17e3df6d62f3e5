/*
 * Incremental transfer decoders: base64 and quoted-printable.
 *
 * base64: bytes outside the alphabet (white space, junk) are skipped; '='
 * ends a quantum early (yielding its whole bytes), and decoding resumes
 * after it (concatenated base64 blocks).  An unpadded incomplete quantum
 * at the end is dropped, as mime4j does.
 *
 * quoted-printable (RFC 2045 6.7, lenient): "=XX" decodes (either case),
 * "=" at the end of a line (after optional white space) is a soft break,
 * an "=" not followed by two hex digits stays literal, white space at the
 * end of a line is dropped, and a hard line break (LF or CRLF) decodes to
 * CRLF: RFC 2045 6.7 (5) defines it as the canonical CRLF (mime4j agrees).
 */

#include "mime-private.h"

#include "lib/buf.h"
#include "lib/util.h"

#include <string.h>

enum qp_state {
	QP_TEXT = 0,
	QP_WS,       /* white space pending in dec->pending */
	QP_EQ,       /* "=" */
	QP_EQ_HEX,   /* "=X" */
	QP_EQ_WS,    /* "=" + white space: soft break if the line ends */
	QP_SOFT_CR,  /* soft break's CR seen, LF expected */
};

/* Appends what fits under out's max; -1 when something did not. */
static int append_bounded(struct buf *out, const void *data, size_t n)
{
	if (out->max != 0 && n > 0 && (out->len >= out->max || n > out->max - out->len)) {
		size_t room = out->len >= out->max ? 0 : out->max - out->len;
		(void)buf_append(out, data, room);
		return -1;
	}
	return buf_append(out, data, n);
}

static const signed char b64_table[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
	['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
	['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
	['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
	['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
	['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
	['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

enum mime_encoding mime_decode_encoding(const char *value, size_t len)
{
	static const struct {
		const char *name;
		enum mime_encoding enc;
	} names[] = {
		{ "7bit", MIME_ENCODING_7BIT },
		{ "8bit", MIME_ENCODING_8BIT },
		{ "binary", MIME_ENCODING_BINARY },
		{ "base64", MIME_ENCODING_BASE64 },
		{ "quoted-printable", MIME_ENCODING_QP },
	};
	size_t a = 0, b = len;

	while (a < b && (value[a] == ' ' || value[a] == '\t' ||
			 value[a] == '\r' || value[a] == '\n' || value[a] == '"'))
		a++;
	while (b > a && (value[b - 1] == ' ' || value[b - 1] == '\t' ||
			 value[b - 1] == '\r' || value[b - 1] == '\n' ||
			 value[b - 1] == '"' || value[b - 1] == ';'))
		b--;
	/* a comment after the token */
	for (size_t i = a; i < b; i++) {
		if (value[i] == '(' || value[i] == ' ' || value[i] == ';') {
			b = i;
			break;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if (strlen(names[i].name) == b - a &&
		    mem_eq_icase(value + a, names[i].name, b - a))
			return names[i].enc;
	}
	return a == b ? MIME_ENCODING_7BIT : MIME_ENCODING_UNKNOWN;
}

void mime_decode_init(struct mime_decoder *dec, enum mime_encoding encoding)
{
	memset(dec, 0, sizeof(*dec));
	dec->encoding = encoding;
}

static int b64_feed(struct mime_decoder *dec, const unsigned char *s,
		    size_t n, struct buf *out)
{
	unsigned char tmp[768];
	size_t t = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64_table[s[i]];
		if (v == 0) {
			if (s[i] == '=' && dec->nbits > 0) {
				/* padding completes the quantum early */
				uint32_t q = dec->bits << (24 - dec->nbits);
				for (unsigned int k = 0; k + 8 <= dec->nbits; k += 8)
					tmp[t++] = (unsigned char)(q >> (16 - k));
				dec->bits = 0;
				dec->nbits = 0;
			}
		} else {
			dec->bits = (dec->bits << 6) | (uint32_t)(v - 1);
			dec->nbits += 6;
			if (dec->nbits == 24) {
				tmp[t++] = (unsigned char)(dec->bits >> 16);
				tmp[t++] = (unsigned char)(dec->bits >> 8);
				tmp[t++] = (unsigned char)dec->bits;
				dec->bits = 0;
				dec->nbits = 0;
			}
		}
		if (t + 3 > sizeof(tmp)) {
			if (append_bounded(out, tmp, t) < 0)
				return -1;
			t = 0;
		}
	}
	return append_bounded(out, tmp, t);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int qp_flush(struct mime_decoder *dec, struct buf *out)
{
	int r = append_bounded(out, dec->pending, dec->pending_len);
	dec->pending_len = 0;
	return r;
}

static void qp_pend(struct mime_decoder *dec, unsigned char c, struct buf *out)
{
	if (dec->pending_len == sizeof(dec->pending)) {
		/* an absurd run of white space: it cannot all be trailing */
		(void)qp_flush(dec, out);
	}
	dec->pending[dec->pending_len++] = c;
}

/* One byte in QP_TEXT state. */
static int qp_text(struct mime_decoder *dec, unsigned char c, struct buf *out)
{
	if (c == '=') {
		dec->state = QP_EQ;
		dec->pending_len = 0;
		qp_pend(dec, c, out);
		return 0;
	}
	if (c == ' ' || c == '\t') {
		dec->state = QP_WS;
		dec->pending_len = 0;
		qp_pend(dec, c, out);
		return 0;
	}
	if (c == '\n') {
		bool crlf = dec->last_cr;
		dec->last_cr = false;
		return crlf ? append_bounded(out, "\n", 1) :
			append_bounded(out, "\r\n", 2);
	}
	dec->last_cr = c == '\r';
	return append_bounded(out, &c, 1);
}

static int qp_byte(struct mime_decoder *dec, unsigned char c, struct buf *out)
{
	int h, l;

	switch ((enum qp_state)dec->state) {
	case QP_TEXT:
		return qp_text(dec, c, out);
	case QP_WS:
		if (c == ' ' || c == '\t') {
			qp_pend(dec, c, out);
			return 0;
		}
		dec->state = QP_TEXT;
		if (c == '\r' || c == '\n')
			dec->pending_len = 0; /* trailing white space */
		else if (qp_flush(dec, out) < 0)
			return -1;
		return qp_text(dec, c, out);
	case QP_EQ:
		if (hexval(c) >= 0) {
			qp_pend(dec, c, out);
			dec->state = QP_EQ_HEX;
			return 0;
		}
		if (c == ' ' || c == '\t') {
			qp_pend(dec, c, out);
			dec->state = QP_EQ_WS;
			return 0;
		}
		if (c == '\r' || c == '\n') {
			dec->pending_len = 0;
			dec->state = c == '\r' ? QP_SOFT_CR : QP_TEXT;
			return 0;
		}
		dec->state = QP_TEXT;
		if (qp_flush(dec, out) < 0)
			return -1;
		return qp_text(dec, c, out);
	case QP_EQ_HEX:
		h = hexval(dec->pending[1]);
		l = hexval(c);
		dec->state = QP_TEXT;
		if (l >= 0) {
			unsigned char b = (unsigned char)(h * 16 + l);
			dec->pending_len = 0;
			return append_bounded(out, &b, 1);
		}
		if (qp_flush(dec, out) < 0)
			return -1;
		return qp_text(dec, c, out);
	case QP_EQ_WS:
		if (c == ' ' || c == '\t') {
			qp_pend(dec, c, out);
			return 0;
		}
		if (c == '\r' || c == '\n') {
			dec->pending_len = 0;
			dec->state = c == '\r' ? QP_SOFT_CR : QP_TEXT;
			return 0;
		}
		dec->state = QP_TEXT;
		if (qp_flush(dec, out) < 0)
			return -1;
		return qp_text(dec, c, out);
	case QP_SOFT_CR:
		dec->state = QP_TEXT;
		dec->last_cr = false;
		if (c == '\n')
			return 0;
		return qp_text(dec, c, out);
	}
	return 0;
}

static int qp_feed(struct mime_decoder *dec, const unsigned char *s, size_t n,
		   struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		if (dec->state == QP_TEXT) {
			/* fast path: copy a run of plain bytes */
			size_t j = i;
			while (j < n && s[j] != '=' && s[j] != ' ' && s[j] != '\t' &&
			       s[j] != '\n')
				j++;
			if (j > i) {
				if (append_bounded(out, s + i, j - i) < 0)
					return -1;
				dec->last_cr = s[j - 1] == '\r';
			}
			i = j;
			if (i == n)
				break;
		}
		if (qp_byte(dec, s[i++], out) < 0)
			return -1;
	}
	return 0;
}

int mime_decode_feed(struct mime_decoder *dec, const void *data, size_t size,
		     struct buf *out)
{
	switch (dec->encoding) {
	case MIME_ENCODING_BASE64:
		return b64_feed(dec, data, size, out);
	case MIME_ENCODING_QP:
		return qp_feed(dec, data, size, out);
	default:
		return append_bounded(out, data, size);
	}
}

int mime_decode_finish(struct mime_decoder *dec, struct buf *out)
{
	int r = 0;

	if (dec->encoding == MIME_ENCODING_QP) {
		/* "=X" at the very end stays literal; a lone "=" or trailing
		   white space is a line end's */
		if (dec->state == QP_EQ_HEX)
			r = qp_flush(dec, out);
		dec->pending_len = 0;
		dec->state = QP_TEXT;
	}
	dec->bits = 0;
	dec->nbits = 0;
	return r;
}
