/*
 * src/proto SMTP codec: the command line parser, the verb table and the
 * pipelining reader.  Every case is a line and the one-line description
 * of what the parser must make of it (see describe()), or the error it
 * must answer with.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "proto/smtp-proto.h"

#include <stdio.h>
#include <string.h>

/* ---- rendering a parsed command as text ---- */

static const char *const address_flag_names[] = {
	"null", "at_null", "postmaster", "route", "quoted", "needs_quotes", "local_at",
	"percent", "bang", "bad_dots", "literal", "trailing_dot", "dotless", "utf8",
	"no_brackets",
};
static const char *const command_flag_names[] = { "space_after_colon", "extra_space",
						   "trailing_space" };

static void append_flags(struct buf *b, const char *label, unsigned flags,
			 const char *const *names, size_t n)
{
	if (flags == 0)
		return;
	buf_printf(b, " %s=", label);
	const char *sep = "";
	for (size_t i = 0; i < n; i++) {
		if ((flags & (1u << i)) != 0) {
			buf_printf(b, "%s%s", sep, names[i]);
			sep = ",";
		}
	}
}

static void describe_params(struct buf *b, const struct smtp_params *p)
{
	static const char *const bodies[] = { "", "7BIT", "8BITMIME", "BINARYMIME" };
	static const char *const rets[] = { "", "FULL", "HDRS" };

	if (p->has_size)
		buf_printf(b, " size=%llu", (unsigned long long)p->size);
	if (p->body != SMTP_BODY_NONE)
		buf_printf(b, " body=%s", bodies[p->body]);
	if (p->smtputf8)
		buf_printf(b, " smtputf8");
	if (p->ret != SMTP_RET_NONE)
		buf_printf(b, " ret=%s", rets[p->ret]);
	if (p->envid != NULL)
		buf_printf(b, " envid=%s", p->envid);
	if (p->auth != NULL)
		buf_printf(b, " auth=%s", p->auth);
	if (p->notify != 0)
		buf_printf(b, " notify=%x", p->notify);
	if (p->orcpt != NULL)
		buf_printf(b, " orcpt=%s;%s", p->orcpt_type, p->orcpt);
	for (size_t i = 0; i < p->count; i++) {
		if (smtp_params_get(p, p->list[i].keyword) == NULL)
			fail();
	}
}

static void describe(struct buf *b, const struct smtp_command *cmd)
{
	const struct smtp_verb_info *info = smtp_command_verb_info(cmd->verb);

	buf_printf(b, "%s", info->name);
	switch (cmd->verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
	case SMTP_VERB_LHLO:
		buf_printf(b, " %s %s", cmd->helo, cmd->helo_valid ? "valid" : "invalid");
		append_flags(b, "f", cmd->helo_flags, address_flag_names,
			     N_ELEMENTS(address_flag_names));
		break;
	case SMTP_VERB_MAIL:
	case SMTP_VERB_RCPT:
		buf_printf(b, " lp=%s dom=%s", cmd->path.localpart,
			   cmd->path.domain != NULL ? cmd->path.domain : "-");
		if (cmd->path.route != NULL)
			buf_printf(b, " route=%s", cmd->path.route);
		append_flags(b, "f", cmd->path.flags, address_flag_names,
			     N_ELEMENTS(address_flag_names));
		describe_params(b, &cmd->params);
		break;
	case SMTP_VERB_BDAT:
		buf_printf(b, " %llu%s", (unsigned long long)cmd->bdat_size,
			   cmd->bdat_last ? " last" : "");
		break;
	case SMTP_VERB_AUTH:
		buf_printf(b, " %s", cmd->auth_mech);
		if (cmd->auth_initial != NULL)
			buf_printf(b, " ir=%s", cmd->auth_initial);
		break;
	default:
		if (cmd->args[0] != '\0')
			buf_printf(b, " args=%s", cmd->args);
		break;
	}
	append_flags(b, "cf", cmd->flags, command_flag_names, N_ELEMENTS(command_flag_names));
}

/* "ERR name code enhanced" or the description. */
static const char *parse_describe(struct pool *pool, const struct smtp_parse_settings *set,
				  const char *line, size_t len)
{
	struct smtp_command cmd;
	struct smtp_error err;
	struct buf b;

	buf_init_pool(&b, pool, 0);
	if (smtp_command_parse(pool, set, line, len, &cmd, &err) < 0) {
		assert_int_not_equal(err.id, SMTP_ERROR_NONE);
		assert_non_null(err.text);
		buf_printf(&b, "ERR %s %u %s", smtp_error_name(err.id), err.code, err.enhanced);
	} else {
		describe(&b, &cmd);
	}
	return buf_cstr(&b);
}

/* ---- the case table ---- */

#define ALLCAPS SMTP_CAP_ALL
#define LMTP 0x100u /* in `opts`: LMTP protocol */
#define UTF8TX SMTP_PARSE_UTF8

struct cmd_case {
	const char *line;
	unsigned caps;
	unsigned opts; /* SMTP_PARSE_* | LMTP */
	const char *expect;
};

static const struct cmd_case cmd_cases[] = {
	/* verbs, case, arguments allowed / required */
	{ "QUIT", 0, 0, "QUIT" },
	{ "quit", 0, 0, "QUIT" },
	{ "QuIt", 0, 0, "QUIT" },
	{ "QUIT now", 0, 0, "ERR args_not_allowed 501 5.5.4" },
	{ "QUIT ", 0, 0, "QUIT cf=trailing_space" },
	{ "DATA", 0, 0, "DATA" },
	{ "DATA x", 0, 0, "ERR args_not_allowed 501 5.5.4" },
	{ "RSET", 0, 0, "RSET" },
	{ "RSET x", 0, 0, "ERR args_not_allowed 501 5.5.4" },
	{ "STARTTLS", 0, 0, "STARTTLS" },
	{ "STARTTLS x", 0, 0, "ERR args_not_allowed 501 5.5.4" },
	{ "NOOP", 0, 0, "NOOP" },
	{ "NOOP hello there", 0, 0, "NOOP args=hello there" },
	{ "HELP", 0, 0, "HELP" },
	{ "HELP MAIL", 0, 0, "HELP args=MAIL" },
	{ "VRFY", 0, 0, "ERR args_required 501 5.5.4" },
	{ "VRFY postmaster", 0, 0, "VRFY args=postmaster" },
	{ "EXPN staff", 0, 0, "EXPN args=staff" },
	{ "EXPN", 0, 0, "ERR args_required 501 5.5.4" },
	{ "VRFY j\xc3\xb6rg SMTPUTF8", 0, 0, "VRFY args=j\xc3\xb6rg SMTPUTF8" },
	{ "FOO", 0, 0, "ERR unknown_command 500 5.5.2" },
	{ "", 0, 0, "ERR unknown_command 500 5.5.2" },
	{ " HELO x", 0, 0, "ERR unknown_command 500 5.5.2" },
	{ "MAILFROM:<a@b.c>", 0, 0, "ERR unknown_command 500 5.5.2" },
	{ "MAIL\tFROM:<a@b.c>", 0, 0, "ERR unknown_command 500 5.5.2" },
	{ "HELO", 0, 0, "ERR args_required 501 5.5.4" },
	{ "HELO ", 0, 0, "ERR args_required 501 5.5.4" },
	{ "EHLO", 0, 0, "ERR args_required 501 5.5.4" },
	/* HELO / EHLO / LHLO: lenient, validity recorded */
	{ "HELO mx.example.com", 0, 0, "HELO mx.example.com valid" },
	{ "EHLO mx.example.com", 0, 0, "EHLO mx.example.com valid" },
	{ "EHLO  mx.example.com", 0, 0, "EHLO mx.example.com valid cf=extra_space" },
	{ "EHLO l", 0, 0, "EHLO l valid f=dotless" },
	{ "EHLO [192.0.2.1]", 0, 0, "EHLO [192.0.2.1] valid f=literal" },
	{ "EHLO [IPv6:2001:db8::1]", 0, 0, "EHLO [IPv6:2001:db8::1] valid f=literal" },
	{ "EHLO [IPv6:::ffff:192.0.2.1]", 0, 0, "EHLO [IPv6:::ffff:192.0.2.1] valid f=literal" },
	{ "EHLO [192.0.2.256]", 0, 0, "EHLO [192.0.2.256] invalid f=literal" },
	{ "EHLO [192.0.2]", 0, 0, "EHLO [192.0.2] invalid f=literal" },
	{ "EHLO [IPv6:zz::1]", 0, 0, "EHLO [IPv6:zz::1] invalid f=literal" },
	{ "EHLO [x400:c=us;a=b]", 0, 0, "EHLO [x400:c=us;a=b] valid f=literal" },
	{ "EHLO 192.0.2.1", 0, 0, "EHLO 192.0.2.1 valid" },
	{ "EHLO my_host.example", 0, 0, "EHLO my_host.example invalid" },
	{ "EHLO host.example.", 0, 0, "EHLO host.example. valid f=trailing_dot" },
	{ "EHLO -bad.example", 0, 0, "EHLO -bad.example invalid" },
	{ "EHLO a..b", 0, 0, "EHLO a..b invalid" },
	{ "EHLO two words", 0, 0, "EHLO two words invalid f=dotless" },
	{ "EHLO b\xc3\xbc\x63her.example", 0, 0, "EHLO b\xc3\xbc\x63her.example valid f=utf8" },
	{ "EHLO x ", 0, 0, "EHLO x valid f=dotless cf=trailing_space" },
	{ "LHLO store.example", 0, 0, "ERR wrong_protocol 500 5.5.2" },
	{ "LHLO store.example", 0, LMTP, "LHLO store.example valid" },
	{ "HELO store.example", 0, LMTP, "ERR wrong_protocol 500 5.5.2" },
	{ "EHLO store.example", 0, LMTP, "ERR wrong_protocol 500 5.5.2" },
	{ "MAIL FROM:<a@b.example>", 0, LMTP, "MAIL lp=a dom=b.example" },
	/* the line itself */
	{ "NOOP \x80", 0, 0, "ERR line_8bit 500 5.5.2" },
	{ "NOOP \xc3", 0, 0, "ERR line_8bit 500 5.5.2" },
	{ "NOOP \xc0\x80", 0, 0, "ERR line_8bit 500 5.5.2" },
	{ "NOOP \xed\xa0\x80", 0, 0, "ERR line_8bit 500 5.5.2" },
	{ "NOOP \xf4\x90\x80\x80", 0, 0, "ERR line_8bit 500 5.5.2" },
	{ "NOOP a\rb", 0, 0, "ERR line_bare_cr 500 5.5.2" },
	{ "NOOP\r", 0, 0, "ERR line_bare_cr 500 5.5.2" },
	{ "NOOP a\nb", 0, 0, "ERR line_bare_lf 500 5.5.2" },
	{ "AUTH PLAIN \xc3\xa9", 0, 0, "ERR line_8bit 500 5.5.2" },
	{ "BDAT 1\xc3\xa9", 0, 0, "ERR line_8bit 500 5.5.2" },
	{ "DATA \xc3\xa9", 0, 0, "ERR line_8bit 500 5.5.2" },
	{ "D\xc3\x81TA", 0, 0, "ERR unknown_command 500 5.5.2" },

	/* MAIL FROM */
	{ "MAIL FROM:<a@b.example>", 0, 0, "MAIL lp=a dom=b.example" },
	{ "mail from:<a@b.example>", 0, 0, "MAIL lp=a dom=b.example" },
	{ "MAIL FROM:<>", 0, 0, "MAIL lp= dom=- f=null" },
	{ "MAIL FROM:<@>", 0, 0, "MAIL lp= dom=- f=null,at_null" },
	{ "MAIL FROM: <a@b.example>", 0, 0, "MAIL lp=a dom=b.example cf=space_after_colon" },
	{ "MAIL FROM:  <a@b.example>", 0, 0, "MAIL lp=a dom=b.example cf=space_after_colon" },
	{ "MAIL FROM: <a@b.example>", 0, SMTP_PARSE_STRICT, "ERR space_after_colon 501 5.5.4" },
	{ "MAIL FROM:<a@b.example>", 0, SMTP_PARSE_STRICT, "MAIL lp=a dom=b.example" },
	{ "MAIL FROM :<a@b.example>", 0, 0, "ERR syntax 501 5.5.4" },
	{ "MAIL FROM", 0, 0, "ERR syntax 501 5.5.4" },
	{ "MAIL FROM:", 0, 0, "ERR syntax 501 5.5.4" },
	{ "MAIL FROM: ", 0, 0, "ERR syntax 501 5.5.4" },
	{ "MAIL TO:<a@b.example>", 0, 0, "ERR syntax 501 5.5.4" },
	{ "MAIL", 0, 0, "ERR args_required 501 5.5.4" },
	{ "MAIL FROM:a@b.example", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:a@b.example", 0, SMTP_PARSE_ALLOW_NO_BRACKETS,
	  "MAIL lp=a dom=b.example f=no_brackets" },
	{ "MAIL FROM:a@b.example SIZE=10", SMTP_CAP_SIZE, SMTP_PARSE_ALLOW_NO_BRACKETS,
	  "MAIL lp=a dom=b.example f=no_brackets size=10" },
	{ "MAIL FROM:<a@b.example>x", 0, 0, "ERR syntax 501 5.5.4" },
	{ "MAIL FROM:<a@b.example", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<@a>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<Postmaster>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:< a@b.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a @b.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@ b.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@b.example >", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@b@c.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a(comment)@b.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@b_c.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@-b.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@b-.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@b..example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@.>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@b.example.>", 0, 0, "MAIL lp=a dom=b.example. f=trailing_dot" },
	{ "MAIL FROM:<a@[192.0.2.1]>", 0, 0, "MAIL lp=a dom=[192.0.2.1] f=literal" },
	{ "MAIL FROM:<a@[IPv6:2001:db8::1]>", 0, 0,
	  "MAIL lp=a dom=[IPv6:2001:db8::1] f=literal" },
	{ "MAIL FROM:<a@[ipv6:2001:DB8::1]>", 0, 0,
	  "MAIL lp=a dom=[ipv6:2001:DB8::1] f=literal" },
	{ "MAIL FROM:<a@[300.0.2.1]>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@[192.0.2.1>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@[]>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@[IPv6:1::2::3]>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a@localhost>", 0, 0, "MAIL lp=a dom=localhost f=dotless" },
	{ "MAIL FROM:<a.b.c@d.example>", 0, 0, "MAIL lp=a.b.c dom=d.example" },
	{ "MAIL FROM:<a..b@d.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<.a@d.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a.@d.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<a..b@d.example>", 0, SMTP_PARSE_ALLOW_BAD_LOCALPART,
	  "MAIL lp=a..b dom=d.example f=bad_dots" },
	{ "MAIL FROM:<a.@d.example>", 0, SMTP_PARSE_ALLOW_BAD_LOCALPART,
	  "MAIL lp=a. dom=d.example f=bad_dots" },
	{ "MAIL FROM:<!#$%&'*+-/=?^_`{|}~@d.example>", 0, 0,
	  "MAIL lp=!#$%&'*+-/=?^_`{|}~ dom=d.example f=percent,bang" },
	{ "MAIL FROM:<\"a b\"@d.example>", 0, 0,
	  "MAIL lp=a b dom=d.example f=quoted,needs_quotes" },
	{ "MAIL FROM:<\"ab\"@d.example>", 0, 0, "MAIL lp=ab dom=d.example f=quoted" },
	{ "MAIL FROM:<\"\"@d.example>", 0, 0, "MAIL lp= dom=d.example f=quoted,needs_quotes" },
	{ "MAIL FROM:<\"a\\\"b\\\\c\"@d.example>", 0, 0,
	  "MAIL lp=a\"b\\c dom=d.example f=quoted,needs_quotes" },
	{ "MAIL FROM:<\"a\\\tb\"@d.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<\"ab@d.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<\"a\"b@d.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<@r1.example,@r2.example:a@d.example>", 0, 0,
	  "MAIL lp=a dom=d.example route=@r1.example,@r2.example f=route" },
	{ "MAIL FROM:<@[192.0.2.1]:a@d.example>", 0, 0,
	  "MAIL lp=a dom=d.example route=@[192.0.2.1] f=route" },
	{ "MAIL FROM:<@r1.example:>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<@r1.example,:a@d.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<@r1.example;a@d.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<r1.example:a@d.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	{ "MAIL FROM:<@:a@d.example>", 0, 0, "ERR bad_sender 553 5.1.7" },
	/* SMTPUTF8 (RFC 6531) */
	{ "MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc\x63her.example> SMTPUTF8", SMTP_CAP_SMTPUTF8, 0,
	  "MAIL lp=j\xc3\xb6rg dom=b\xc3\xbc\x63her.example f=utf8 smtputf8" },
	{ "MAIL FROM:<j\xc3\xb6rg@b.example>", SMTP_CAP_SMTPUTF8, 0,
	  "ERR utf8_address 553 5.6.7" },
	{ "MAIL FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", 0, 0, "ERR param_unknown 555 5.5.4" },
	{ "MAIL FROM:<\"j\xc3\xb6 rg\"@b.example> SMTPUTF8", ALLCAPS, 0,
	  "MAIL lp=j\xc3\xb6 rg dom=b.example f=quoted,needs_quotes,utf8 smtputf8" },
	{ "MAIL FROM:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac\xe5\x8f\xb8> "
	  "SMTPUTF8", ALLCAPS, 0,
	  "MAIL lp=\xe7\x94\xa8\xe6\x88\xb7 dom=\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac\xe5\x8f\xb8 "
	  "f=utf8 smtputf8" },
	{ "MAIL FROM:<a@b.example> SMTPUTF8", ALLCAPS, 0, "MAIL lp=a dom=b.example smtputf8" },
	{ "MAIL FROM:<\xc3\xb6@b.example> SMTPUTF8=yes", ALLCAPS, 0,
	  "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<\xe2\x80@b.example> SMTPUTF8", ALLCAPS, 0, "ERR line_8bit 500 5.5.2" },
	{ "RCPT TO:<j\xc3\xb6rg@b.example>", ALLCAPS, 0, "ERR utf8_address 553 5.6.7" },
	{ "RCPT TO:<j\xc3\xb6rg@b.example>", ALLCAPS, UTF8TX,
	  "RCPT lp=j\xc3\xb6rg dom=b.example f=utf8" },
	{ "RCPT TO:<a@b\xc3\xbc.example>", ALLCAPS, UTF8TX,
	  "RCPT lp=a dom=b\xc3\xbc.example f=utf8" },

	/* RCPT TO */
	{ "RCPT TO:<a@b.example>", 0, 0, "RCPT lp=a dom=b.example" },
	{ "RCPT TO: <a@b.example>", 0, 0, "RCPT lp=a dom=b.example cf=space_after_colon" },
	{ "rcpt to:<a@b.example>", 0, 0, "RCPT lp=a dom=b.example" },
	{ "RCPT TO:<Postmaster>", 0, 0, "RCPT lp=Postmaster dom=- f=postmaster" },
	{ "RCPT TO:<postMASTER>", 0, 0, "RCPT lp=postMASTER dom=- f=postmaster" },
	{ "RCPT TO:<Postmaster@b.example>", 0, 0, "RCPT lp=Postmaster dom=b.example" },
	{ "RCPT TO:<\"Postmaster\">", 0, 0, "ERR bad_recipient 553 5.1.3" },
	{ "RCPT TO:<@r.example:Postmaster>", 0, 0, "ERR bad_recipient 553 5.1.3" },
	{ "RCPT TO:<>", 0, 0, "ERR bad_recipient 553 5.1.3" },
	{ "RCPT TO:<@>", 0, 0, "ERR bad_recipient 553 5.1.3" },
	{ "RCPT TO:<a>", 0, 0, "ERR bad_recipient 553 5.1.3" },
	{ "RCPT TO:", 0, 0, "ERR syntax 501 5.5.4" },
	{ "RCPT FROM:<a@b.example>", 0, 0, "ERR syntax 501 5.5.4" },
	{ "RCPT TO <a@b.example>", 0, 0, "ERR syntax 501 5.5.4" },
	/* relay tricks: accepted as syntax, flagged for the MX */
	{ "RCPT TO:<user%other.example@local.example>", 0, 0,
	  "RCPT lp=user%other.example dom=local.example f=percent" },
	{ "RCPT TO:<other.example!user@local.example>", 0, 0,
	  "RCPT lp=other.example!user dom=local.example f=bang" },
	{ "RCPT TO:<@local.example:user@other.example>", 0, 0,
	  "RCPT lp=user dom=other.example route=@local.example f=route" },
	{ "RCPT TO:<\"user@other.example\"@local.example>", 0, 0,
	  "RCPT lp=user@other.example dom=local.example f=quoted,needs_quotes,local_at" },
	{ "RCPT TO:<\"user%other\"@local.example>", 0, 0,
	  "RCPT lp=user%other dom=local.example f=quoted,percent" },
	{ "RCPT TO:<user@local.example.>", 0, 0,
	  "RCPT lp=user dom=local.example. f=trailing_dot" },
	{ "RCPT TO:<user@[192.0.2.1]>", 0, 0, "RCPT lp=user dom=[192.0.2.1] f=literal" },
	{ "RCPT TO:<user@other.example@local.example>", 0, 0, "ERR bad_recipient 553 5.1.3" },

	/* ESMTP parameters on MAIL */
	{ "MAIL FROM:<a@b.example> SIZE=3005", ALLCAPS, 0, "MAIL lp=a dom=b.example size=3005" },
	{ "MAIL FROM:<a@b.example> size=0", ALLCAPS, 0, "MAIL lp=a dom=b.example size=0" },
	{ "MAIL FROM:<a@b.example> SIZE=18446744073709551615", ALLCAPS, 0,
	  "MAIL lp=a dom=b.example size=18446744073709551615" },
	{ "MAIL FROM:<a@b.example> SIZE=18446744073709551616", ALLCAPS, 0,
	  "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> SIZE=abc", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> SIZE=-1", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> SIZE=+1", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> SIZE=1k", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> SIZE", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> SIZE=", ALLCAPS, 0, "ERR param_syntax 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> SIZE=1 SIZE=2", ALLCAPS, 0, "ERR param_duplicate 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> SIZE=1 size=1", ALLCAPS, 0, "ERR param_duplicate 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> SIZE=100", 0, 0, "ERR param_unknown 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> BODY=7BIT", ALLCAPS, 0, "MAIL lp=a dom=b.example body=7BIT" },
	{ "MAIL FROM:<a@b.example> BODY=8bitmime", ALLCAPS, 0,
	  "MAIL lp=a dom=b.example body=8BITMIME" },
	{ "MAIL FROM:<a@b.example> BODY=BINARYMIME", ALLCAPS, 0,
	  "MAIL lp=a dom=b.example body=BINARYMIME" },
	{ "MAIL FROM:<a@b.example> BODY=BINARYMIME", SMTP_CAP_8BITMIME, 0,
	  "ERR param_unsupported 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> BODY=8BITMIME", SMTP_CAP_8BITMIME, 0,
	  "MAIL lp=a dom=b.example body=8BITMIME" },
	{ "MAIL FROM:<a@b.example> BODY=9BIT", ALLCAPS, 0, "ERR param_unsupported 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> BODY", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> BODY=7BIT", SMTP_CAP_SIZE, 0, "ERR param_unknown 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> BODY=8BITMIME SIZE=100", ALLCAPS, 0,
	  "MAIL lp=a dom=b.example size=100 body=8BITMIME" },
	{ "MAIL FROM:<a@b.example>  BODY=8BITMIME   SIZE=100  ", ALLCAPS, 0,
	  "MAIL lp=a dom=b.example size=100 body=8BITMIME cf=trailing_space" },
	{ "MAIL FROM:<a@b.example>SIZE=100", ALLCAPS, 0, "ERR syntax 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> RET=FULL", ALLCAPS, 0, "MAIL lp=a dom=b.example ret=FULL" },
	{ "MAIL FROM:<a@b.example> RET=hdrs", ALLCAPS, 0, "MAIL lp=a dom=b.example ret=HDRS" },
	{ "MAIL FROM:<a@b.example> RET=ALL", ALLCAPS, 0, "ERR param_unsupported 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> RET=FULL", SMTP_CAP_SIZE, 0, "ERR param_unknown 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> ENVID=QQ314159", ALLCAPS, 0,
	  "MAIL lp=a dom=b.example envid=QQ314159" },
	{ "MAIL FROM:<a@b.example> ENVID=a+2Bb+3Dc", ALLCAPS, 0,
	  "MAIL lp=a dom=b.example envid=a+b=c" },
	{ "MAIL FROM:<a@b.example> ENVID=a+20b", ALLCAPS, 0, "MAIL lp=a dom=b.example envid=a b" },
	{ "MAIL FROM:<a@b.example> ENVID=a+2", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> ENVID=a+ZZ", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> ENVID=a+00", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> ENVID=a+0A", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> ENVID=a+C3+A9", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> ENVID=a=b", ALLCAPS, 0, "ERR param_syntax 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> ENVID=\xc3\xa9", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> ENVID="
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "012345678901234567890123456789x", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> AUTH=<>", ALLCAPS, 0, "MAIL lp=a dom=b.example auth=<>" },
	{ "MAIL FROM:<a@b.example> AUTH=WHATEVER", ALLCAPS, 0,
	  "MAIL lp=a dom=b.example auth=WHATEVER" },
	{ "MAIL FROM:<a@b.example> AUTH=e+3Dmc2@example.com", ALLCAPS, 0,
	  "MAIL lp=a dom=b.example auth=e=mc2@example.com" },
	{ "MAIL FROM:<a@b.example> AUTH=a+0Db", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> AUTH=x", SMTP_CAP_SIZE, 0, "ERR param_unknown 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> OPT", ALLCAPS, 0, "ERR param_unknown 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> X-FOO=bar", ALLCAPS, 0, "ERR param_unknown 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> NOTIFY=NEVER", ALLCAPS, 0, "ERR param_unknown 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> ORCPT=rfc822;a@b", ALLCAPS, 0,
	  "ERR param_unknown 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> -X=1", ALLCAPS, 0, "ERR param_syntax 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> X_Y=1", ALLCAPS, 0, "ERR param_syntax 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> =1", ALLCAPS, 0, "ERR param_syntax 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> SIZE=1=2", ALLCAPS, 0, "ERR param_syntax 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> SIZE=\x01", ALLCAPS, 0, "ERR param_syntax 501 5.5.4" },
	{ "MAIL FROM:<a@b.example> OPT BODY=9BIT", ALLCAPS, 0, "ERR param_unknown 555 5.5.4" },
	{ "MAIL FROM:<a@b.example> BODY=9BIT OPT", ALLCAPS, 0,
	  "ERR param_unsupported 555 5.5.4" },
	{ "MAIL FROM:<> SIZE=1 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=x AUTH=<>", ALLCAPS, 0,
	  "MAIL lp= dom=- f=null size=1 body=8BITMIME smtputf8 ret=HDRS envid=x auth=<>" },

	/* ESMTP parameters on RCPT */
	{ "RCPT TO:<a@b.example> NOTIFY=NEVER", ALLCAPS, 0, "RCPT lp=a dom=b.example notify=1" },
	{ "RCPT TO:<a@b.example> NOTIFY=SUCCESS,FAILURE,DELAY", ALLCAPS, 0,
	  "RCPT lp=a dom=b.example notify=e" },
	{ "RCPT TO:<a@b.example> NOTIFY=delay", ALLCAPS, 0, "RCPT lp=a dom=b.example notify=8" },
	{ "RCPT TO:<a@b.example> NOTIFY=NEVER,DELAY", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "RCPT TO:<a@b.example> NOTIFY=FAILURE,FAILURE", ALLCAPS, 0,
	  "ERR param_value 501 5.5.4" },
	{ "RCPT TO:<a@b.example> NOTIFY=SUCCESS,", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "RCPT TO:<a@b.example> NOTIFY=,SUCCESS", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "RCPT TO:<a@b.example> NOTIFY=SOMETIMES", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "RCPT TO:<a@b.example> NOTIFY=NEVER", SMTP_CAP_SIZE, 0, "ERR param_unknown 555 5.5.4" },
	{ "RCPT TO:<a@b.example> ORCPT=rfc822;a+40b.example", ALLCAPS, 0,
	  "RCPT lp=a dom=b.example orcpt=rfc822;a@b.example" },
	{ "RCPT TO:<a@b.example> ORCPT=rfc822;", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "RCPT TO:<a@b.example> ORCPT=;a@b", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "RCPT TO:<a@b.example> ORCPT=rfc822", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "RCPT TO:<a@b.example> ORCPT=rf(c;a", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "RCPT TO:<a@b.example> ORCPT=rfc822;a+4", ALLCAPS, 0, "ERR param_value 501 5.5.4" },
	{ "RCPT TO:<a@b.example> ORCPT=utf-8;j\xc3\xb6rg@b.example", ALLCAPS, UTF8TX,
	  "RCPT lp=a dom=b.example orcpt=utf-8;j\xc3\xb6rg@b.example" },
	{ "RCPT TO:<a@b.example> ORCPT=utf-8;j\xc3\xb6rg+2B@b.example", ALLCAPS, UTF8TX,
	  "ERR param_value 501 5.5.4" },
	{ "RCPT TO:<a@b.example> ORCPT=rfc822;j\xc3\xb6rg@b.example", ALLCAPS, UTF8TX,
	  "ERR param_value 501 5.5.4" },
	{ "RCPT TO:<a@b.example> NOTIFY=NEVER NOTIFY=NEVER", ALLCAPS, 0,
	  "ERR param_duplicate 555 5.5.4" },
	{ "RCPT TO:<a@b.example> SIZE=3005", ALLCAPS, 0, "ERR param_unknown 555 5.5.4" },
	{ "RCPT TO:<a@b.example> BODY=7BIT", ALLCAPS, 0, "ERR param_unknown 555 5.5.4" },
	{ "RCPT TO:<a@b.example> AUTH=WHATEVER", ALLCAPS, 0, "ERR param_unknown 555 5.5.4" },
	{ "RCPT TO:<a@b.example> SMTPUTF8", ALLCAPS, 0, "ERR param_unknown 555 5.5.4" },
	{ "RCPT TO:<a@b.example> OPT", ALLCAPS, 0, "ERR param_unknown 555 5.5.4" },

	/* BDAT */
	{ "BDAT 100", 0, 0, "BDAT 100" },
	{ "BDAT 0 LAST", 0, 0, "BDAT 0 last" },
	{ "bdat 100 last", 0, 0, "BDAT 100 last" },
	{ "BDAT  100  LAST", 0, 0, "BDAT 100 last cf=extra_space" },
	{ "BDAT", 0, 0, "ERR args_required 501 5.5.4" },
	{ "BDAT x", 0, 0, "ERR bdat_syntax 501 5.5.4" },
	{ "BDAT -1", 0, 0, "ERR bdat_syntax 501 5.5.4" },
	{ "BDAT 1 FIRST", 0, 0, "ERR bdat_syntax 501 5.5.4" },
	{ "BDAT 1 LAST x", 0, 0, "ERR bdat_syntax 501 5.5.4" },
	{ "BDAT 18446744073709551616", 0, 0, "ERR bdat_syntax 501 5.5.4" },
	{ "BDAT 18446744073709551615 LAST", 0, 0, "BDAT 18446744073709551615 last" },

	/* AUTH */
	{ "AUTH PLAIN", 0, 0, "AUTH PLAIN" },
	{ "auth login", 0, 0, "AUTH LOGIN" },
	{ "AUTH PLAIN AGFsaWNlAHNlY3JldA==", 0, 0, "AUTH PLAIN ir=AGFsaWNlAHNlY3JldA==" },
	{ "AUTH PLAIN =", 0, 0, "AUTH PLAIN ir==" },
	{ "AUTH SCRAM-SHA-256", 0, 0, "AUTH SCRAM-SHA-256" },
	{ "AUTH X_MECH", 0, 0, "AUTH X_MECH" },
	{ "AUTH", 0, 0, "ERR args_required 501 5.5.4" },
	{ "AUTH PL@IN", 0, 0, "ERR auth_mechanism 504 5.5.4" },
	{ "AUTH ABCDEFGHIJKLMNOPQRSTU", 0, 0, "ERR auth_mechanism 504 5.5.4" },
	{ "AUTH PLAIN abc", 0, 0, "ERR auth_base64 501 5.5.2" },
	{ "AUTH PLAIN ab=c", 0, 0, "ERR auth_base64 501 5.5.2" },
	{ "AUTH PLAIN a===", 0, 0, "ERR auth_base64 501 5.5.2" },
	{ "AUTH PLAIN ab*c", 0, 0, "ERR auth_base64 501 5.5.2" },
	{ "AUTH PLAIN abcd efgh", 0, 0, "ERR syntax 501 5.5.4" },
};

static void command_table(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);
	unsigned failures = 0;

	for (size_t i = 0; i < N_ELEMENTS(cmd_cases); i++) {
		const struct cmd_case *c = &cmd_cases[i];
		struct smtp_parse_settings set = {
			.protocol = (c->opts & LMTP) != 0 ? SMTP_PROTOCOL_LMTP : SMTP_PROTOCOL_SMTP,
			.caps = c->caps,
			.flags = c->opts & ~LMTP,
		};
		const char *got = parse_describe(pool, &set, c->line, strlen(c->line));
		if (strcmp(got, c->expect) != 0) {
			print_error("case %zu: \"%s\"\n  expected: %s\n  got:      %s\n", i,
				    c->line, c->expect, got);
			failures++;
		}
	}
	pool_destroy(&pool);
	assert_int_equal(failures, 0);
}

/* NUL is not expressible in the table's C strings. */
static void command_nul(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);

	assert_string_equal(parse_describe(pool, NULL, "NOOP a\0b", 8),
			    "ERR line_nul 500 5.5.2");
	assert_string_equal(parse_describe(pool, NULL, "\0", 1), "ERR line_nul 500 5.5.2");
	assert_string_equal(parse_describe(pool, NULL, "MAIL FROM:<a\0@b.c>", 18),
			    "ERR line_nul 500 5.5.2");
	pool_destroy(&pool);
}

/* The verb is known even when its arguments are refused, so that the
 * engine can count errors per command; unknown verbs keep their name. */
static void command_error_keeps_verb(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);
	struct smtp_command cmd;
	struct smtp_error err;

	assert_int_equal(smtp_command_parse(pool, NULL, "MAIL FROM:<x>", 13, &cmd, &err), -1);
	assert_int_equal(cmd.verb, SMTP_VERB_MAIL);
	assert_string_equal(err.text, "Bad sender address syntax: Missing domain");
	assert_int_equal(smtp_command_parse(pool, NULL, "XYZZY plugh", 11, &cmd, &err), -1);
	assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
	assert_string_equal(cmd.name, "XYZZY");
	assert_string_equal(cmd.args, "plugh");
	/* long verbs are cut for the logs */
	char line[100];
	memset(line, 'A', sizeof(line));
	assert_int_equal(smtp_command_parse(pool, NULL, line, sizeof(line), &cmd, &err), -1);
	assert_int_equal(strlen(cmd.name), 32);
	/* the unknown parameter is named in the reply, the value is not */
	struct smtp_parse_settings set = { .caps = SMTP_CAP_ALL };
	const char *l = "MAIL FROM:<a@b.c> X-SECRET=\"hello\"";
	assert_int_equal(smtp_command_parse(pool, &set, l, strlen(l), &cmd, &err), -1);
	assert_string_equal(err.text, "Unsupported parameter: X-SECRET");
	pool_destroy(&pool);
}

static void command_extra_params(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);
	static const char *const extra[] = { "MT-PRIORITY", "REQUIRETLS", NULL };
	struct smtp_parse_settings set = { .caps = SMTP_CAP_SIZE, .extra_params = extra };
	struct smtp_command cmd;
	struct smtp_error err;
	const char *l = "MAIL FROM:<a@b.c> mt-priority=3 REQUIRETLS SIZE=5";

	assert_int_equal(smtp_command_parse(pool, &set, l, strlen(l), &cmd, &err), 0);
	assert_int_equal(cmd.params.count, 3);
	assert_string_equal(cmd.params.list[0].keyword, "MT-PRIORITY");
	assert_string_equal(cmd.params.list[0].value, "3");
	assert_null(cmd.params.list[1].value);
	assert_string_equal(smtp_params_get(&cmd.params, "Mt-Priority"), "3");
	assert_string_equal(smtp_params_get(&cmd.params, "requiretls"), "");
	assert_null(smtp_params_get(&cmd.params, "BODY"));
	assert_int_equal(cmd.params.size, 5);
	l = "MAIL FROM:<a@b.c> MT-PRIORITY=3 MT-PRIORITY=4";
	assert_int_equal(smtp_command_parse(pool, &set, l, strlen(l), &cmd, &err), -1);
	assert_int_equal(err.id, SMTP_ERROR_PARAM_DUPLICATE);
	/* too many parameters */
	const char *many[41];
	struct buf b;
	buf_init_pool(&b, pool, 0);
	buf_append_str(&b, "MAIL FROM:<a@b.c>");
	for (int i = 0; i < 40; i++) {
		many[i] = pool_printf(pool, "X%d", i);
		buf_printf(&b, " %s", many[i]);
	}
	many[40] = NULL;
	set.extra_params = many;
	assert_int_equal(smtp_command_parse(pool, &set, b.data, b.len, &cmd, &err), -1);
	assert_int_equal(err.id, SMTP_ERROR_PARAM_SYNTAX);
	pool_destroy(&pool);
}

static void verb_table(void **state)
{
	(void)state;
	for (unsigned v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++) {
		const struct smtp_verb_info *info = smtp_command_verb_info(v);
		assert_int_equal(info->verb, v);
		assert_non_null(info->name);
		assert_ptr_equal(smtp_command_verb_lookup(info->name, strlen(info->name)), info);
		assert_true(info->protocols != 0);
	}
	assert_null(smtp_command_verb_info(SMTP_VERB_UNKNOWN)->name);
	assert_null(smtp_command_verb_lookup("MAI", 3));
	assert_null(smtp_command_verb_lookup("MAILX", 5));
	assert_ptr_equal(smtp_command_verb_lookup("starttls", 8),
			 smtp_command_verb_info(SMTP_VERB_STARTTLS));
	assert_int_equal(smtp_command_verb_info(SMTP_VERB_LHLO)->protocols,
			 1u << SMTP_PROTOCOL_LMTP);
	assert_int_equal(smtp_command_verb_info(SMTP_VERB_EHLO)->protocols,
			 1u << SMTP_PROTOCOL_SMTP);
	assert_int_equal(smtp_command_verb_info(SMTP_VERB_DATA)->args, SMTP_ARGS_NONE);
	assert_int_equal(smtp_command_verb_info(SMTP_VERB_MAIL)->args, SMTP_ARGS_REQUIRED);
	assert_int_equal(smtp_command_verb_info(SMTP_VERB_NOOP)->args, SMTP_ARGS_OPTIONAL);
	assert_string_equal(smtp_error_name(SMTP_ERROR_PARAM_DUPLICATE), "param_duplicate");
	assert_string_equal(smtp_error_name(SMTP_ERROR_COUNT), "invalid");
}

/* ---- the reader and pipelining ---- */

/* Runs a pipelined session input through the reader, switching to the
 * data decoder after DATA and BDAT the way the engine will; renders the
 * events as text.  chunks: sizes to feed (0 = everything at once). */
static const char *pipeline_run(struct pool *pool, const char *input, size_t len,
				size_t max_line, unsigned flags, const size_t *cuts,
				size_t n_cuts)
{
	struct smtp_command_reader *r = smtp_command_reader_create(pool, max_line, flags);
	struct smtp_data_decoder *dec = NULL;
	struct buf ev;
	size_t start = 0;

	buf_init_pool(&ev, pool, 0);
	for (size_t c = 0; c <= n_cuts; c++) {
		size_t end = c < n_cuts ? cuts[c] : len;
		const char *p = input + start;
		size_t left = end - start;
		while (left > 0) {
			size_t used;
			if (dec != NULL) {
				int ret = smtp_data_decoder_feed(dec, p, left, &used);
				assert_true(ret >= 0);
				if (ret == 1) {
					if (smtp_data_decoder_finished(dec)) {
						buf_printf(&ev, "[body %zu bytes f=%x]",
							   (size_t)smtp_data_decoder_size(dec),
							   smtp_data_decoder_flags(dec));
					}
					dec = NULL;
				}
			} else {
				const unsigned char *line;
				size_t llen;
				struct smtp_error err;
				struct smtp_command cmd;
				int ret = smtp_command_reader_read(r, p, left, &used, &line, &llen,
								   &err);
				if (ret < 0) {
					buf_printf(&ev, "[%s]", smtp_error_name(err.id));
				} else if (ret == 1) {
					if (smtp_command_parse(pool, NULL, line, llen, &cmd, &err) < 0) {
						buf_printf(&ev, "[%s]", smtp_error_name(err.id));
					} else {
						buf_printf(&ev, "[%s]",
							   smtp_command_verb_info(cmd.verb)->name);
					}
					if (cmd.verb == SMTP_VERB_DATA && err.id == SMTP_ERROR_NONE) {
						dec = smtp_data_decoder_create(pool, NULL, NULL, NULL);
					} else if (cmd.verb == SMTP_VERB_BDAT &&
						   err.id == SMTP_ERROR_NONE) {
						struct smtp_data_settings set = {
							.mode = SMTP_DATA_MODE_BDAT
						};
						dec = smtp_data_decoder_create(pool, &set, NULL, NULL);
						smtp_data_decoder_chunk(dec, cmd.bdat_size, true);
						if (cmd.bdat_size == 0) {
							buf_printf(&ev, "[body 0 bytes f=0]");
							dec = NULL;
						}
					}
				}
			}
			assert_true(used <= left);
			assert_true(used > 0 || left == 0);
			p += used;
			left -= used;
		}
		start = end;
	}
	if (smtp_command_reader_pending(r))
		buf_printf(&ev, "[pending]");
	return buf_cstr(&ev);
}

struct pipeline_case {
	const char *input;
	size_t max_line;
	unsigned flags;
	const char *expect;
};

static const struct pipeline_case pipeline_cases[] = {
	{ "EHLO a.example\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"
	  "Subject: x\r\n\r\n..hi\r\n.\r\nQUIT\r\n", 512, 0,
	  "[EHLO][MAIL][RCPT][DATA][body 19 bytes f=0][QUIT]" },
	/* a smuggled command inside the body stays body */
	{ "DATA\r\nx\n.\nRSET\r\n.\r\nQUIT\r\n", 512, 0,
	  "[DATA][body 10 bytes f=21][QUIT]" },
	{ "BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n", 512, 0, "[BDAT][body 6 bytes f=0][NOOP]" },
	{ "BDAT 5 LAST\r\nQUIT\r\nNOOP\r\n", 512, 0,
	  "[BDAT][body 5 bytes f=2][line_bare_lf][NOOP]" },
	{ "BDAT 0 LAST\r\nNOOP\r\n", 512, 0, "[BDAT][body 0 bytes f=0][NOOP]" },
	{ "NOOP\nQUIT\r\n", 512, 0, "[line_bare_lf][QUIT]" },
	{ "NOOP\nQUIT\r\n", 512, SMTP_PARSE_ALLOW_BARE_LF, "[NOOP][QUIT]" },
	{ "\r\n\n", 512, 0, "[unknown_command][line_bare_lf]" },
	/* 10 bytes with CRLF fit, 11 do not; the rest of a long line is
	 * skipped and the next command is read normally */
	{ "NOOP 1234\r\nNOOP 12345\r\nQUIT\r\n", 11, 0, "[NOOP][line_too_long][QUIT]" },
	{ "NOOP 1234567890123456789\r\nQUIT\r\n", 11, 0, "[line_too_long][QUIT]" },
	{ "NOOP 12345\nQUIT\r\n", 11, SMTP_PARSE_ALLOW_BARE_LF, "[NOOP][QUIT]" },
	{ "NOOP 123456\nQUIT\r\n", 11, SMTP_PARSE_ALLOW_BARE_LF, "[line_too_long][QUIT]" },
	{ "NOOP 1234\r\nNOOP", 11, 0, "[NOOP][pending]" },
	{ "RSET\r\nNOOP 1234567890123456789", 11, 0, "[RSET][line_too_long][pending]" },
	{ "HELO x\r\r\nQUIT\r\n", 512, 0, "[line_bare_cr][QUIT]" },
};

static void pipeline_split_everywhere(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);

	for (size_t i = 0; i < N_ELEMENTS(pipeline_cases); i++) {
		const struct pipeline_case *c = &pipeline_cases[i];
		size_t len = strlen(c->input);
		const char *whole = pipeline_run(pool, c->input, len, c->max_line, c->flags,
						 NULL, 0);
		if (strcmp(whole, c->expect) != 0)
			fail_msg("case %zu: expected %s, got %s", i, c->expect, whole);
		/* split in two at every position */
		for (size_t cut = 0; cut <= len; cut++) {
			const char *got = pipeline_run(pool, c->input, len, c->max_line,
						       c->flags, &cut, 1);
			if (strcmp(got, c->expect) != 0)
				fail_msg("case %zu cut %zu: expected %s, got %s", i, cut,
					 c->expect, got);
		}
		/* one byte at a time */
		size_t *cuts = pool_alloc(pool, sizeof(size_t) * (len + 1));
		for (size_t k = 0; k < len; k++)
			cuts[k] = k + 1;
		const char *got = pipeline_run(pool, c->input, len, c->max_line, c->flags, cuts,
					       len);
		if (strcmp(got, c->expect) != 0)
			fail_msg("case %zu bytewise: expected %s, got %s", i, c->expect, got);
		pool_clear(pool);
	}
	pool_destroy(&pool);
}

static void reader_reset(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);
	struct smtp_command_reader *r = smtp_command_reader_create(pool, 512, 0);
	const unsigned char *line;
	size_t used, llen;
	struct smtp_error err;

	/* STARTTLS followed by injected plaintext (CVE-2011-0411 style) */
	const char *in = "STARTTLS\r\nRSET";
	assert_int_equal(smtp_command_reader_read(r, in, strlen(in), &used, &line, &llen, &err),
			 1);
	assert_int_equal(used, 10);
	assert_false(smtp_command_reader_pending(r));
	assert_int_equal(smtp_command_reader_read(r, in + 10, 4, &used, &line, &llen, &err), 0);
	assert_true(smtp_command_reader_pending(r));
	smtp_command_reader_reset(r);
	assert_false(smtp_command_reader_pending(r));
	assert_int_equal(smtp_command_reader_read(r, "EHLO x\r\n", 8, &used, &line, &llen,
						  &err), 1);
	assert_int_equal(llen, 6);
	assert_memory_equal(line, "EHLO x", 6);
	pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(command_table),
		cmocka_unit_test(command_nul),
		cmocka_unit_test(command_error_keeps_verb),
		cmocka_unit_test(command_extra_params),
		cmocka_unit_test(verb_table),
		cmocka_unit_test(pipeline_split_everywhere),
		cmocka_unit_test(reader_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
