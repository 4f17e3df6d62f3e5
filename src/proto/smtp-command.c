/*
 * One SMTP/LMTP command line into a struct smtp_command.  The verb
 * table says which arguments each command takes, in which protocol it
 * exists and whether UTF-8 may appear in its arguments; each verb with
 * structured arguments has its own small parser.  The line is checked
 * as a whole first (NUL, CR, LF, UTF-8), so the per-verb parsers only
 * ever see printable text.
 */

#include "smtp-syntax-private.h"

#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <string.h>

#define SMTP_VERB_SHOWN_MAX 32
#define SMTP_SASL_MECH_MAX 20 /* RFC 4422 section 3.1 */
#define SMTP_BDAT_DIGITS_MAX 20

struct command_ctx {
	struct pool *pool;
	const struct smtp_parse_settings *set;
	struct smtp_command *cmd;
	struct smtp_error *err;
	const char *args;
	size_t args_len;
};

typedef int command_parse_fn(struct command_ctx *ctx);

static command_parse_fn parse_helo, parse_mail, parse_rcpt, parse_bdat, parse_auth;

struct verb_def {
	struct smtp_verb_info info;
	command_parse_fn *parse;
};

#define SMTP_ONLY (1u << SMTP_PROTOCOL_SMTP)
#define LMTP_ONLY (1u << SMTP_PROTOCOL_LMTP)
#define BOTH SMTP_PROTOCOLS_ALL

static const struct verb_def verb_defs[SMTP_VERB_COUNT] = {
	[SMTP_VERB_UNKNOWN] = { { SMTP_VERB_UNKNOWN, NULL, SMTP_ARGS_OPTIONAL, 0, false }, NULL },
	[SMTP_VERB_HELO] = { { SMTP_VERB_HELO, "HELO", SMTP_ARGS_REQUIRED, SMTP_ONLY, true },
			     parse_helo },
	[SMTP_VERB_EHLO] = { { SMTP_VERB_EHLO, "EHLO", SMTP_ARGS_REQUIRED, SMTP_ONLY, true },
			     parse_helo },
	[SMTP_VERB_LHLO] = { { SMTP_VERB_LHLO, "LHLO", SMTP_ARGS_REQUIRED, LMTP_ONLY, true },
			     parse_helo },
	[SMTP_VERB_MAIL] = { { SMTP_VERB_MAIL, "MAIL", SMTP_ARGS_REQUIRED, BOTH, true },
			     parse_mail },
	[SMTP_VERB_RCPT] = { { SMTP_VERB_RCPT, "RCPT", SMTP_ARGS_REQUIRED, BOTH, true },
			     parse_rcpt },
	[SMTP_VERB_DATA] = { { SMTP_VERB_DATA, "DATA", SMTP_ARGS_NONE, BOTH, false }, NULL },
	[SMTP_VERB_BDAT] = { { SMTP_VERB_BDAT, "BDAT", SMTP_ARGS_REQUIRED, BOTH, false },
			     parse_bdat },
	[SMTP_VERB_RSET] = { { SMTP_VERB_RSET, "RSET", SMTP_ARGS_NONE, BOTH, false }, NULL },
	[SMTP_VERB_NOOP] = { { SMTP_VERB_NOOP, "NOOP", SMTP_ARGS_OPTIONAL, BOTH, true }, NULL },
	[SMTP_VERB_QUIT] = { { SMTP_VERB_QUIT, "QUIT", SMTP_ARGS_NONE, BOTH, false }, NULL },
	[SMTP_VERB_VRFY] = { { SMTP_VERB_VRFY, "VRFY", SMTP_ARGS_REQUIRED, BOTH, true }, NULL },
	[SMTP_VERB_EXPN] = { { SMTP_VERB_EXPN, "EXPN", SMTP_ARGS_REQUIRED, BOTH, true }, NULL },
	[SMTP_VERB_HELP] = { { SMTP_VERB_HELP, "HELP", SMTP_ARGS_OPTIONAL, BOTH, true }, NULL },
	[SMTP_VERB_STARTTLS] = { { SMTP_VERB_STARTTLS, "STARTTLS", SMTP_ARGS_NONE, BOTH, false },
				 NULL },
	[SMTP_VERB_AUTH] = { { SMTP_VERB_AUTH, "AUTH", SMTP_ARGS_REQUIRED, BOTH, false },
			     parse_auth },
};

const struct smtp_verb_info *smtp_command_verb_info(enum smtp_verb verb)
{
	if ((unsigned)verb >= SMTP_VERB_COUNT)
		verb = SMTP_VERB_UNKNOWN;
	return &verb_defs[verb].info;
}

const struct smtp_verb_info *smtp_command_verb_lookup(const char *name, size_t len)
{
	for (unsigned v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++) {
		const char *n = verb_defs[v].info.name;
		if (strlen(n) == len && mem_eq_icase(n, name, len))
			return &verb_defs[v].info;
	}
	return NULL;
}

static int command_fail(struct command_ctx *ctx, enum smtp_error_id id, const char *text)
{
	smtp_error_set(ctx->err, id);
	if (text != NULL)
		ctx->err->text = text;
	return -1;
}

/* ---- HELO / EHLO / LHLO ---- */

static int parse_helo(struct command_ctx *ctx)
{
	struct smtp_command *cmd = ctx->cmd;

	/* Lenient: real clients send underscores, bare names, junk; keep
	 * what was sent and say whether it was a valid domain. */
	cmd->helo = cmd->args;
	cmd->helo_valid = smtp_address_check_domain(ctx->args, ctx->args_len, true,
						    &cmd->helo_flags) == 0;
	return 0;
}

/* ---- MAIL / RCPT ---- */

/* "FROM:" / "TO:" then the optional space the RFC does not allow but
 * half the world sends. */
static int parse_path_prefix(struct command_ctx *ctx, const char *prefix, const char *usage,
			     size_t *pos_r)
{
	size_t plen = strlen(prefix), pos;

	if (ctx->args_len < plen || !mem_eq_icase(ctx->args, prefix, plen))
		return command_fail(ctx, SMTP_ERROR_SYNTAX, usage);
	pos = plen;
	if (pos < ctx->args_len && ctx->args[pos] == ' ') {
		if ((ctx->set->flags & SMTP_PARSE_STRICT) != 0)
			return command_fail(ctx, SMTP_ERROR_SPACE_AFTER_COLON, NULL);
		ctx->cmd->flags |= SMTP_COMMAND_F_SPACE_AFTER_COLON;
		while (pos < ctx->args_len && ctx->args[pos] == ' ')
			pos++;
	}
	if (pos == ctx->args_len)
		return command_fail(ctx, SMTP_ERROR_SYNTAX, usage);
	*pos_r = pos;
	return 0;
}

static int parse_path_and_params(struct command_ctx *ctx, enum smtp_params_command pcmd,
				 unsigned aflags, enum smtp_error_id bad_id,
				 const char *usage)
{
	struct smtp_command *cmd = ctx->cmd;
	const char *error;
	size_t pos, used;

	if (parse_path_prefix(ctx, pcmd == SMTP_PARAMS_MAIL ? "FROM:" : "TO:", usage, &pos) < 0)
		return -1;
	aflags |= SMTP_ADDRESS_PARSE_UTF8;
	if ((ctx->set->flags & SMTP_PARSE_ALLOW_NO_BRACKETS) != 0)
		aflags |= SMTP_ADDRESS_PARSE_NO_BRACKETS;
	if ((ctx->set->flags & SMTP_PARSE_ALLOW_BAD_LOCALPART) != 0)
		aflags |= SMTP_ADDRESS_PARSE_BAD_LOCALPART;
	if (smtp_address_parse_path(ctx->pool, ctx->args + pos, ctx->args_len - pos, aflags,
				    &cmd->path, &used, &error) < 0) {
		smtp_error_set_detail(ctx->err, ctx->pool, bad_id, error);
		return -1;
	}
	pos += used;
	if (pos < ctx->args_len && ctx->args[pos] != ' ')
		return command_fail(ctx, SMTP_ERROR_SYNTAX, usage);
	return smtp_params_parse(ctx->pool, ctx->set, pcmd, ctx->args + pos,
				 ctx->args_len - pos, &cmd->params, ctx->err);
}

static int parse_mail(struct command_ctx *ctx)
{
	if (parse_path_and_params(ctx, SMTP_PARAMS_MAIL, SMTP_ADDRESS_PARSE_ALLOW_NULL,
				  SMTP_ERROR_BAD_SENDER, "Syntax: MAIL FROM:<address>") < 0)
		return -1;
	if ((ctx->cmd->path.flags & SMTP_ADDRESS_F_UTF8) != 0 && !ctx->cmd->params.smtputf8)
		return command_fail(ctx, SMTP_ERROR_UTF8_ADDRESS, NULL);
	return 0;
}

static int parse_rcpt(struct command_ctx *ctx)
{
	if (parse_path_and_params(ctx, SMTP_PARAMS_RCPT, SMTP_ADDRESS_PARSE_POSTMASTER,
				  SMTP_ERROR_BAD_RECIPIENT, "Syntax: RCPT TO:<address>") < 0)
		return -1;
	if ((ctx->cmd->path.flags & SMTP_ADDRESS_F_UTF8) != 0 &&
	    (ctx->set->flags & SMTP_PARSE_UTF8) == 0)
		return command_fail(ctx, SMTP_ERROR_UTF8_ADDRESS, NULL);
	return 0;
}

/* ---- BDAT ---- */

/* Splits args into at most max words separated by one or more SP. */
static size_t split_words(const char *s, size_t len, const char **words, size_t *lens,
			  size_t max)
{
	size_t n = 0, pos = 0;

	while (pos < len) {
		if (s[pos] == ' ') {
			pos++;
			continue;
		}
		size_t start = pos;
		while (pos < len && s[pos] != ' ')
			pos++;
		if (n == max)
			return max + 1;
		words[n] = s + start;
		lens[n++] = pos - start;
	}
	return n;
}

static int parse_bdat(struct command_ctx *ctx)
{
	const char *w[2];
	size_t wl[2];
	size_t n = split_words(ctx->args, ctx->args_len, w, wl, 2);

	if (n == 0 || n > 2 || wl[0] > SMTP_BDAT_DIGITS_MAX ||
	    num_parse_u64n(w[0], wl[0], &ctx->cmd->bdat_size) < 0)
		return command_fail(ctx, SMTP_ERROR_BDAT_SYNTAX, NULL);
	if (n == 2) {
		if (wl[1] != 4 || !mem_eq_icase(w[1], "LAST", 4))
			return command_fail(ctx, SMTP_ERROR_BDAT_SYNTAX, NULL);
		ctx->cmd->bdat_last = true;
	}
	return 0;
}

/* ---- AUTH ---- */

static bool is_base64(const char *s, size_t len)
{
	size_t pad = 0;

	if (len == 1 && s[0] == '=')
		return true; /* RFC 4954: an empty initial response */
	if (len == 0 || len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '=') {
			pad++;
		} else if (pad > 0 ||
			   !(smtp_syntax_is_alnum(c) || c == '+' || c == '/')) {
			return false;
		}
	}
	return pad <= 2;
}

static int parse_auth(struct command_ctx *ctx)
{
	const char *w[2];
	size_t wl[2];
	size_t n = split_words(ctx->args, ctx->args_len, w, wl, 2);

	if (n > 2)
		return command_fail(ctx, SMTP_ERROR_SYNTAX, "Syntax: AUTH mechanism [response]");
	if (wl[0] > SMTP_SASL_MECH_MAX)
		return command_fail(ctx, SMTP_ERROR_AUTH_MECHANISM, NULL);
	for (size_t i = 0; i < wl[0]; i++) {
		char c = w[0][i];
		if (!smtp_syntax_is_alnum(c) && c != '-' && c != '_')
			return command_fail(ctx, SMTP_ERROR_AUTH_MECHANISM, NULL);
	}
	char *mech = pool_strndup(ctx->pool, w[0], wl[0]);
	str_ucase(mech);
	ctx->cmd->auth_mech = mech;
	if (n == 2) {
		if (!is_base64(w[1], wl[1]))
			return command_fail(ctx, SMTP_ERROR_AUTH_BASE64, NULL);
		ctx->cmd->auth_initial = pool_strndup(ctx->pool, w[1], wl[1]);
	}
	return 0;
}

/* ---- the line ---- */

/* NUL, CR and LF never; 8-bit only as valid UTF-8.  Sets *has_8bit. */
static int check_line(const unsigned char *s, size_t len, bool *has_8bit,
		      struct smtp_error *err)
{
	*has_8bit = false;
	for (size_t i = 0; i < len; i++) {
		enum smtp_error_id id = SMTP_ERROR_NONE;
		if (s[i] == '\0')
			id = SMTP_ERROR_LINE_NUL;
		else if (s[i] == '\r')
			id = SMTP_ERROR_LINE_BARE_CR;
		else if (s[i] == '\n')
			id = SMTP_ERROR_LINE_BARE_LF;
		else if (s[i] >= 0x80) {
			size_t n = smtp_syntax_utf8_seq(s + i, len - i);
			if (n == 0)
				id = SMTP_ERROR_LINE_8BIT;
			else
				i += n - 1;
			*has_8bit = true;
		}
		if (id != SMTP_ERROR_NONE) {
			smtp_error_set(err, id);
			return -1;
		}
	}
	return 0;
}

/* Finds the verb and the arguments; trims trailing SP. */
static void split_line(struct command_ctx *ctx, const char *s, size_t len, size_t *vlen_r)
{
	size_t vlen = 0, pos;

	while (len > 0 && s[len - 1] == ' ') {
		len--;
		ctx->cmd->flags |= SMTP_COMMAND_F_TRAILING_SPACE;
	}
	while (vlen < len && s[vlen] != ' ')
		vlen++;
	pos = vlen;
	if (pos < len && pos + 1 < len && s[pos + 1] == ' ')
		ctx->cmd->flags |= SMTP_COMMAND_F_EXTRA_SPACE;
	while (pos < len && s[pos] == ' ')
		pos++;
	ctx->args = s + pos;
	ctx->args_len = len - pos;
	*vlen_r = vlen;
}

int smtp_command_parse(struct pool *pool, const struct smtp_parse_settings *set,
		       const void *line, size_t len, struct smtp_command *cmd_r,
		       struct smtp_error *err_r)
{
	static const struct smtp_parse_settings default_set;
	struct command_ctx ctx = {
		.pool = pool, .set = set != NULL ? set : &default_set,
		.cmd = cmd_r, .err = err_r,
	};
	const char *s = line;
	size_t vlen;
	bool has_8bit;

	memset(cmd_r, 0, sizeof(*cmd_r));
	smtp_error_set(err_r, SMTP_ERROR_NONE);
	cmd_r->name = cmd_r->args = "";
	if (check_line(line, len, &has_8bit, err_r) < 0)
		return -1;
	split_line(&ctx, s, len, &vlen);
	cmd_r->name = pool_strndup(pool, s, MIN(vlen, SMTP_VERB_SHOWN_MAX));
	cmd_r->args = pool_strndup(pool, ctx.args, ctx.args_len);
	ctx.args = cmd_r->args;

	const struct smtp_verb_info *info = smtp_command_verb_lookup(s, vlen);
	if (info == NULL)
		return command_fail(&ctx, SMTP_ERROR_UNKNOWN_COMMAND, NULL);
	cmd_r->verb = info->verb;
	if ((info->protocols & (1u << ctx.set->protocol)) == 0)
		return command_fail(&ctx, SMTP_ERROR_WRONG_PROTOCOL, NULL);
	if (has_8bit && !info->utf8)
		return command_fail(&ctx, SMTP_ERROR_LINE_8BIT, NULL);
	if (info->args == SMTP_ARGS_NONE && ctx.args_len > 0)
		return command_fail(&ctx, SMTP_ERROR_ARGS_NOT_ALLOWED, NULL);
	if (info->args == SMTP_ARGS_REQUIRED && ctx.args_len == 0)
		return command_fail(&ctx, SMTP_ERROR_ARGS_REQUIRED, NULL);
	if (verb_defs[info->verb].parse != NULL)
		return verb_defs[info->verb].parse(&ctx);
	return 0;
}
