#include "sasl.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <string.h>

enum sasl_mech sasl_mech_parse(const char *name)
{
	if (str_eq_icase(name, "PLAIN"))
		return SASL_MECH_PLAIN;
	if (str_eq_icase(name, "LOGIN"))
		return SASL_MECH_LOGIN;
	return SASL_MECH_UNKNOWN;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int sasl_base64_decode(struct pool *pool, const char *in, size_t len, char **out_r,
		       size_t *len_r)
{
	if (len % 4 != 0)
		return -1;
	char *out = pool_alloc_nz(pool, len / 4 * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			char c = in[i + k];
			if (c == '=') {
				/* padding only at the very end, and at most two */
				if (i + 4 != len || k < 2)
					return -1;
				v[k] = 0;
				pad++;
			} else {
				if (pad > 0)
					return -1;
				v[k] = b64_val(c);
				if (v[k] < 0)
					return -1;
			}
		}
		unsigned triple = ((unsigned)v[0] << 18) | ((unsigned)v[1] << 12) |
				  ((unsigned)v[2] << 6) | (unsigned)v[3];
		out[o++] = (char)(triple >> 16);
		if (pad < 2)
			out[o++] = (char)((triple >> 8) & 0xff);
		if (pad < 1)
			out[o++] = (char)(triple & 0xff);
	}
	out[o] = '\0';
	*out_r = out;
	*len_r = o;
	return 0;
}

void sasl_base64_encode(struct buf *out, const void *data, size_t len)
{
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	size_t i;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned t = ((unsigned)p[i] << 16) | ((unsigned)p[i + 1] << 8) | p[i + 2];
		char q[4] = { alpha[t >> 18], alpha[(t >> 12) & 63], alpha[(t >> 6) & 63], alpha[t & 63] };
		buf_append(out, q, 4);
	}
	if (i < len) {
		unsigned t = (unsigned)p[i] << 16;
		if (i + 1 < len)
			t |= (unsigned)p[i + 1] << 8;
		char q[4] = { alpha[t >> 18], alpha[(t >> 12) & 63],
			      i + 1 < len ? alpha[(t >> 6) & 63] : '=', '=' };
		buf_append(out, q, 4);
	}
}

int sasl_plain_parse(struct pool *pool, const char *b64, size_t len, const char **user_r,
		     const char **password_r, const char **error_r)
{
	char *raw;
	size_t rl;
	if (sasl_base64_decode(pool, b64, len, &raw, &rl) < 0) {
		*error_r = "invalid base64";
		return -1;
	}
	const char *authz = raw;
	const char *nul1 = memchr(raw, '\0', rl);
	if (nul1 == NULL) {
		*error_r = "malformed PLAIN response";
		return -1;
	}
	const char *authc = nul1 + 1;
	const char *nul2 = memchr(authc, '\0', rl - (size_t)(authc - raw));
	if (nul2 == NULL) {
		*error_r = "malformed PLAIN response";
		return -1;
	}
	const char *pass = nul2 + 1;
	if (memchr(pass, '\0', rl - (size_t)(pass - raw)) != NULL || *authc == '\0') {
		*error_r = "malformed PLAIN response";
		return -1;
	}
	if (*authz != '\0' && !str_eq_icase(authz, authc)) {
		*error_r = "authorization identity differs from the authentication identity";
		return -1;
	}
	*user_r = authc;
	*password_r = pass;
	return 0;
}

bool sasl_is_cancel(const char *line, size_t len)
{
	return len == 1 && line[0] == '*';
}
