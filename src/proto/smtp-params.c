/*
 * ESMTP parameters of MAIL and RCPT (RFC 5321 section 4.1.2), with the
 * standard ones validated from one table: SIZE (RFC 1870), BODY (RFC
 * 6152, RFC 3030), SMTPUTF8 (RFC 6531), RET ENVID NOTIFY ORCPT (RFC
 * 3461), AUTH (RFC 4954).  A parameter is known only when the server
 * advertised its extension and it belongs to the command; anything else
 * is "unknown" (555 5.5.4), so a client cannot use an extension that
 * was not offered.
 */

#include "smtp-syntax-private.h"

#include "lib/buf.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <string.h>

#define SMTP_PARAMS_MAX 32
#define SMTP_SIZE_DIGITS_MAX 20   /* RFC 1870 */
#define SMTP_ENVID_MAX 100        /* RFC 3461 section 4.4 */
#define SMTP_ORCPT_MAX 500        /* RFC 3461 section 4.2 */
#define SMTP_KEYWORD_SHOWN_MAX 32

#define CMD_MAIL (1u << SMTP_PARAMS_MAIL)
#define CMD_RCPT (1u << SMTP_PARAMS_RCPT)

enum param_value { VALUE_REQUIRED, VALUE_FORBIDDEN };

struct params_ctx {
	struct pool *pool;
	const struct smtp_parse_settings *set;
	struct smtp_params *params;
	struct smtp_error *err;
};

struct param_def {
	const char *keyword;
	unsigned commands;
	unsigned cap;
	enum param_value value;
	int (*parse)(struct params_ctx *ctx, const char *value);
};

static int param_fail(struct params_ctx *ctx, enum smtp_error_id id, const char *what)
{
	smtp_error_set_detail(ctx->err, ctx->pool, id, what);
	return -1;
}

static int param_size(struct params_ctx *ctx, const char *value)
{
	size_t len = strlen(value);

	if (len > SMTP_SIZE_DIGITS_MAX || num_parse_u64n(value, len, &ctx->params->size) < 0)
		return param_fail(ctx, SMTP_ERROR_PARAM_VALUE, "SIZE");
	ctx->params->has_size = true;
	return 0;
}

static int param_body(struct params_ctx *ctx, const char *value)
{
	if (str_eq_icase(value, "7BIT"))
		ctx->params->body = SMTP_BODY_7BIT;
	else if (str_eq_icase(value, "8BITMIME"))
		ctx->params->body = SMTP_BODY_8BITMIME;
	else if (str_eq_icase(value, "BINARYMIME") &&
		 (ctx->set->caps & SMTP_CAP_BINARYMIME) != 0)
		ctx->params->body = SMTP_BODY_BINARYMIME;
	else
		return param_fail(ctx, SMTP_ERROR_PARAM_UNSUPPORTED, "BODY");
	return 0;
}

static int param_smtputf8(struct params_ctx *ctx, const char *value)
{
	ctx->params->smtputf8 = true;
	return 0;
}

static int param_ret(struct params_ctx *ctx, const char *value)
{
	if (str_eq_icase(value, "FULL"))
		ctx->params->ret = SMTP_RET_FULL;
	else if (str_eq_icase(value, "HDRS"))
		ctx->params->ret = SMTP_RET_HDRS;
	else
		return param_fail(ctx, SMTP_ERROR_PARAM_UNSUPPORTED, "RET");
	return 0;
}

static bool printable_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s < 32 || *s > 126)
			return false;
	}
	return true;
}

static int param_envid(struct params_ctx *ctx, const char *value)
{
	const char *envid;

	if (strlen(value) > SMTP_ENVID_MAX ||
	    smtp_params_xtext_decode(ctx->pool, value, strlen(value), &envid) < 0 ||
	    !printable_ascii(envid))
		return param_fail(ctx, SMTP_ERROR_PARAM_VALUE, "ENVID");
	ctx->params->envid = envid;
	return 0;
}

static int param_auth(struct params_ctx *ctx, const char *value)
{
	const char *auth;

	if (strcmp(value, "<>") == 0) {
		ctx->params->auth = "<>";
		return 0;
	}
	if (smtp_params_xtext_decode(ctx->pool, value, strlen(value), &auth) < 0 ||
	    !printable_ascii(auth))
		return param_fail(ctx, SMTP_ERROR_PARAM_VALUE, "AUTH");
	ctx->params->auth = auth;
	return 0;
}

static int param_notify(struct params_ctx *ctx, const char *value)
{
	static const struct {
		const char *name;
		unsigned bit;
	} words[] = {
		{ "NEVER", SMTP_NOTIFY_NEVER },
		{ "SUCCESS", SMTP_NOTIFY_SUCCESS },
		{ "FAILURE", SMTP_NOTIFY_FAILURE },
		{ "DELAY", SMTP_NOTIFY_DELAY },
	};
	unsigned notify = 0;
	const char *p = value;

	for (;;) {
		size_t len = strcspn(p, ",");
		unsigned bit = 0;
		for (size_t i = 0; i < N_ELEMENTS(words); i++) {
			if (strlen(words[i].name) == len && mem_eq_icase(p, words[i].name, len))
				bit = words[i].bit;
		}
		if (bit == 0 || (notify & bit) != 0)
			return param_fail(ctx, SMTP_ERROR_PARAM_VALUE, "NOTIFY");
		notify |= bit;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	if ((notify & SMTP_NOTIFY_NEVER) != 0 && notify != SMTP_NOTIFY_NEVER)
		return param_fail(ctx, SMTP_ERROR_PARAM_VALUE, "NOTIFY");
	ctx->params->notify = notify;
	return 0;
}

/* ORCPT=addr-type;xtext.  For the "utf-8" type (RFC 6533) the value may
 * carry raw UTF-8 (utf-8-addr-unitext); it must then be valid. */
static int param_orcpt(struct params_ctx *ctx, const char *value)
{
	const char *semi = strchr(value, ';');
	const char *type, *addr;
	size_t tlen;

	if (strlen(value) > SMTP_ORCPT_MAX || semi == NULL || semi == value)
		return param_fail(ctx, SMTP_ERROR_PARAM_VALUE, "ORCPT");
	tlen = (size_t)(semi - value);
	for (size_t i = 0; i < tlen; i++) {
		if (!smtp_syntax_is_atext(value[i]))
			return param_fail(ctx, SMTP_ERROR_PARAM_VALUE, "ORCPT");
	}
	type = pool_strndup(ctx->pool, value, tlen);
	if (str_eq_icase(type, "utf-8") && smtp_syntax_has_8bit(semi + 1, strlen(semi + 1))) {
		/* unitext: only '+' and '=' and controls are escaped */
		if (!smtp_syntax_utf8_valid(semi + 1, strlen(semi + 1)) ||
		    strchr(semi + 1, '+') != NULL)
			return param_fail(ctx, SMTP_ERROR_PARAM_VALUE, "ORCPT");
		addr = pool_strdup(ctx->pool, semi + 1);
	} else if (smtp_params_xtext_decode(ctx->pool, semi + 1, strlen(semi + 1), &addr) < 0) {
		return param_fail(ctx, SMTP_ERROR_PARAM_VALUE, "ORCPT");
	}
	if (addr[0] == '\0')
		return param_fail(ctx, SMTP_ERROR_PARAM_VALUE, "ORCPT");
	ctx->params->orcpt_type = type;
	ctx->params->orcpt = addr;
	return 0;
}

static const struct param_def param_defs[] = {
	{ "SIZE", CMD_MAIL, SMTP_CAP_SIZE, VALUE_REQUIRED, param_size },
	{ "BODY", CMD_MAIL, SMTP_CAP_8BITMIME | SMTP_CAP_BINARYMIME, VALUE_REQUIRED, param_body },
	{ "SMTPUTF8", CMD_MAIL, SMTP_CAP_SMTPUTF8, VALUE_FORBIDDEN, param_smtputf8 },
	{ "RET", CMD_MAIL, SMTP_CAP_DSN, VALUE_REQUIRED, param_ret },
	{ "ENVID", CMD_MAIL, SMTP_CAP_DSN, VALUE_REQUIRED, param_envid },
	{ "AUTH", CMD_MAIL, SMTP_CAP_AUTH, VALUE_REQUIRED, param_auth },
	{ "NOTIFY", CMD_RCPT, SMTP_CAP_DSN, VALUE_REQUIRED, param_notify },
	{ "ORCPT", CMD_RCPT, SMTP_CAP_DSN, VALUE_REQUIRED, param_orcpt },
};

static const struct param_def *param_def_find(const struct smtp_parse_settings *set,
					      enum smtp_params_command cmd, const char *kw)
{
	for (size_t i = 0; i < N_ELEMENTS(param_defs); i++) {
		const struct param_def *d = &param_defs[i];
		if (strcmp(d->keyword, kw) != 0)
			continue;
		if ((d->commands & (1u << cmd)) == 0 || (d->cap & set->caps) == 0)
			return NULL;
		return d;
	}
	return NULL;
}

static bool param_is_extra(const struct smtp_parse_settings *set, const char *kw)
{
	if (set->extra_params == NULL)
		return false;
	for (const char *const *e = set->extra_params; *e != NULL; e++) {
		if (str_eq_icase(*e, kw))
			return true;
	}
	return false;
}

/* esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii) */
static bool value_is_valid(const char *v, size_t len)
{
	const unsigned char *u = (const unsigned char *)v;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len;) {
		if (u[i] >= 33 && u[i] <= 126 && u[i] != '=') {
			i++;
			continue;
		}
		size_t n = u[i] >= 0x80 ? smtp_syntax_utf8_seq(u + i, len - i) : 0;
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* Splits one "KEY[=VALUE]" word into list[n]; syntax only. */
static int param_split(struct params_ctx *ctx, const char *word, size_t len,
		       struct smtp_param *param_r)
{
	const char *eq = memchr(word, '=', len);
	size_t klen = eq != NULL ? (size_t)(eq - word) : len;
	char *kw;

	if (klen == 0 || !smtp_syntax_is_alnum(word[0]))
		return param_fail(ctx, SMTP_ERROR_PARAM_SYNTAX, NULL);
	for (size_t i = 1; i < klen; i++) {
		if (!smtp_syntax_is_keyword_char(word[i]))
			return param_fail(ctx, SMTP_ERROR_PARAM_SYNTAX, NULL);
	}
	kw = pool_strndup(ctx->pool, word, klen);
	str_ucase(kw);
	param_r->keyword = kw;
	param_r->value = NULL;
	if (eq != NULL) {
		if (!value_is_valid(eq + 1, len - klen - 1))
			return param_fail(ctx, SMTP_ERROR_PARAM_SYNTAX, NULL);
		param_r->value = pool_strndup(ctx->pool, eq + 1, len - klen - 1);
	}
	return 0;
}

static int param_check(struct params_ctx *ctx, enum smtp_params_command cmd,
		       const struct smtp_param *param, size_t index)
{
	const char *kw = param->keyword;
	char shown[SMTP_KEYWORD_SHOWN_MAX + 1];

	str_copy(shown, kw, sizeof(shown));
	for (size_t i = 0; i < index; i++) {
		if (strcmp(ctx->params->list[i].keyword, kw) == 0)
			return param_fail(ctx, SMTP_ERROR_PARAM_DUPLICATE, shown);
	}
	const struct param_def *d = param_def_find(ctx->set, cmd, kw);
	if (d == NULL) {
		if (param_is_extra(ctx->set, kw))
			return 0;
		return param_fail(ctx, SMTP_ERROR_PARAM_UNKNOWN, shown);
	}
	if ((d->value == VALUE_REQUIRED) != (param->value != NULL))
		return param_fail(ctx, SMTP_ERROR_PARAM_VALUE, shown);
	return d->parse(ctx, param->value != NULL ? param->value : "");
}

static size_t count_words(const char *data, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (data[i] != ' ' && (i == 0 || data[i - 1] == ' '))
			n++;
	}
	return n;
}

int smtp_params_parse(struct pool *pool, const struct smtp_parse_settings *set,
		      enum smtp_params_command cmd, const char *data, size_t len,
		      struct smtp_params *params_r, struct smtp_error *err_r)
{
	static const struct smtp_parse_settings default_set;
	struct params_ctx ctx = {
		.pool = pool, .set = set != NULL ? set : &default_set,
		.params = params_r, .err = err_r,
	};
	size_t pos = 0;

	memset(params_r, 0, sizeof(*params_r));
	size_t words = count_words(data, len);
	if (words > SMTP_PARAMS_MAX)
		return param_fail(&ctx, SMTP_ERROR_PARAM_SYNTAX, "Too many parameters");
	/* a transaction may have a thousand RCPTs: allocate what is used */
	params_r->list = words == 0 ? NULL : POOL_NEW_ARRAY(pool, struct smtp_param, words);
	while (pos < len) {
		if (data[pos] == ' ') {
			pos++;
			continue;
		}
		const char *sp = memchr(data + pos, ' ', len - pos);
		size_t wlen = sp != NULL ? (size_t)(sp - (data + pos)) : len - pos;
		struct smtp_param *param = &params_r->list[params_r->count];
		if (param_split(&ctx, data + pos, wlen, param) < 0 ||
		    param_check(&ctx, cmd, param, params_r->count) < 0)
			return -1;
		params_r->count++;
		pos += wlen;
	}
	return 0;
}

const char *smtp_params_get(const struct smtp_params *params, const char *keyword)
{
	for (size_t i = 0; i < params->count; i++) {
		if (str_eq_icase(params->list[i].keyword, keyword))
			return params->list[i].value != NULL ? params->list[i].value : "";
	}
	return NULL;
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int smtp_params_xtext_decode(struct pool *pool, const char *data, size_t len,
			     const char **out_r)
{
	char *out = pool_alloc_nz(pool, len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '+') {
			/* RFC 3461 wants upper-case hex; lower case is
			 * unambiguous and some clients send it */
			if (i + 2 >= len)
				return -1;
			int hi = hex_value(data[i + 1]);
			int lo = hex_value(data[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (smtp_syntax_is_xchar(c)) {
			out[o++] = (char)c;
		} else {
			return -1;
		}
	}
	out[o] = '\0';
	*out_r = out;
	return 0;
}

void smtp_params_xtext_encode(struct buf *out, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		if (smtp_syntax_is_xchar(p[i]))
			buf_append_c(out, (char)p[i]);
		else
			buf_printf(out, "+%02X", p[i]);
	}
}
