/* Modified UTF-7 for mailbox names (RFC 3501 5.1.3): printable ASCII
 * stands for itself ("&" as "&-"), everything else is UTF-16BE in a
 * base64 variant with "," for "/", between "&" and "-". */

#include "imap-proto.h"
#include "lib/buf.h"

#include <stdint.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(unsigned char c)
{
	const char *p = c != 0 ? strchr(b64, c) : NULL;
	return p != NULL ? (int)(p - b64) : -1;
}

static int utf7_decode(const char *in, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	while (*s != '\0') {
		if (*s < 0x20 || *s > 0x7e)
			return -1;
		if (*s != '&') {
			buf_append_c(out, (char)*s++);
			continue;
		}
		s++;
		if (*s == '-') {
			buf_append_c(out, '&');
			s++;
			continue;
		}
		uint32_t bits = 0, high = 0;
		int nbits = 0;
		bool any = false;
		while (*s != '-') {
			int v = b64_value(*s);
			if (v < 0)
				return -1;
			s++;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			uint32_t u = (bits >> nbits) & 0xffff;
			bits &= (1u << nbits) - 1;
			any = true;
			if (high != 0) {
				if (u < 0xdc00 || u > 0xdfff)
					return -1;
				buf_append_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
				high = 0;
			} else if (u >= 0xd800 && u <= 0xdbff) {
				high = u;
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				return -1;
			} else {
				/* printable ASCII must not be encoded */
				if (u >= 0x20 && u <= 0x7e)
					return -1;
				buf_append_utf8(out, u);
			}
		}
		s++; /* '-' */
		if (!any || high != 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
			return -1;
	}
	return 0;
}

int imap_utf8_to_utf7(const char *in, struct buf *out);

/* Only the canonical form is valid (what encoding the result gives
 * back, as Dovecot checks it): "&AOQ-&AOQ-" for "&AOQA5A-" is not. */
int imap_utf7_to_utf8(const char *in, struct buf *out)
{
	size_t start = out->len;
	if (utf7_decode(in, out) < 0)
		return -1;
	struct buf again;
	buf_init(&again, 0);
	int r = imap_utf8_to_utf7(out->data != NULL ? out->data + start : "", &again) == 0 &&
		strcmp(buf_cstr(&again), in) == 0 ? 0 : -1;
	buf_free(&again);
	if (r < 0)
		buf_truncate(out, start);
	return r;
}

/* Decodes one UTF-8 sequence; -1 when invalid. */
static int next_cp(const unsigned char **sp, uint32_t *cp_r)
{
	const unsigned char *s = *sp;
	uint32_t c = s[0];
	size_t n;
	uint32_t min;
	if (c < 0x80) {
		*cp_r = c;
		*sp = s + 1;
		return 0;
	} else if ((c & 0xe0) == 0xc0) {
		n = 1, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3, c &= 0x07, min = 0x10000;
	} else {
		return -1;
	}
	for (size_t i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp_r = c;
	*sp = s + n + 1;
	return 0;
}

bool imap_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;
	while (s < end) {
		if (*s < 0x80) {
			s++;
			continue;
		}
		uint32_t cp;
		/* next_cp reads at most 4 bytes; make sure they are inside */
		size_t need = (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3 : 4;
		if ((size_t)(end - s) < need)
			return false;
		if (next_cp(&s, &cp) < 0)
			return false;
	}
	return true;
}

int imap_utf8_to_utf7(const char *in, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	if (!imap_utf8_valid(in, strlen(in)))
		return -1;
	while (*s != '\0') {
		if (*s >= 0x20 && *s <= 0x7e) {
			if (*s == '&')
				buf_append_str(out, "&-");
			else
				buf_append_c(out, (char)*s);
			s++;
			continue;
		}
		buf_append_c(out, '&');
		uint32_t bits = 0;
		int nbits = 0;
		while (*s != '\0' && (*s < 0x20 || *s > 0x7e)) {
			uint32_t cp;
			if (next_cp(&s, &cp) < 0)
				return -1;
			uint16_t units[2];
			int nu = 1;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = (uint16_t)(0xd800 + (cp >> 10));
				units[1] = (uint16_t)(0xdc00 + (cp & 0x3ff));
				nu = 2;
			} else {
				units[0] = (uint16_t)cp;
			}
			for (int i = 0; i < nu; i++) {
				bits = (bits << 16) | units[i];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					buf_append_c(out, b64[(bits >> nbits) & 0x3f]);
				}
				bits &= (1u << nbits) - 1;
			}
		}
		if (nbits > 0)
			buf_append_c(out, b64[(bits << (6 - nbits)) & 0x3f]);
		buf_append_c(out, '-');
	}
	return 0;
}
