#ifndef OMBU_SASL_H
#define OMBU_SASL_H

/*
 * SASL mechanisms PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login)
 * as the IMAP, POP3 and submission servers use them: base64 in and out,
 * and the parsing of the client's responses.  Pure: no I/O.
 */

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct pool;

enum sasl_mech { SASL_MECH_UNKNOWN, SASL_MECH_PLAIN, SASL_MECH_LOGIN };

enum sasl_mech sasl_mech_parse(const char *name);

/* Base64 (RFC 4648, no line breaks).  Decoding refuses anything but the
 * alphabet and correct padding: -1.  The output is NUL-terminated (and
 * may contain NULs: use *len_r). */
int sasl_base64_decode(struct pool *pool, const char *in, size_t len,
		       char **out_r, size_t *len_r);
void sasl_base64_encode(struct buf *out, const void *data, size_t len);

/* PLAIN: authzid NUL authcid NUL passwd, after base64 decoding.  An
 * authzid different from authcid (acting for someone else) is refused:
 * -1 with *error_r. */
int sasl_plain_parse(struct pool *pool, const char *b64, size_t len,
		     const char **user_r, const char **password_r, const char **error_r);

/* LOGIN: the two challenges (base64 of "Username:" and "Password:"). */
#define SASL_LOGIN_CHALLENGE_USER "VXNlcm5hbWU6"
#define SASL_LOGIN_CHALLENGE_PASS "UGFzc3dvcmQ6"

/* A client's answer "*" cancels the exchange (RFC 4954, 3501, 5034). */
bool sasl_is_cancel(const char *line, size_t len);

#endif
