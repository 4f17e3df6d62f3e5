/*
 * The reply for every refusal the codec can produce, in one table so
 * that the engine, the tests and the documentation agree.  Codes follow
 * RFC 5321 section 4.2, enhanced codes RFC 3463 and the RFC 5248
 * registry; the texts are short and never quote the peer.
 */

#include "smtp-syntax-private.h"

#include "lib/pool.h"

struct smtp_error_def {
	const char *name;
	unsigned code;
	const char *enhanced;
	const char *text;
};

static const struct smtp_error_def smtp_error_defs[SMTP_ERROR_COUNT] = {
	[SMTP_ERROR_NONE] = { "none", 250, "2.0.0", "OK" },
	[SMTP_ERROR_LINE_NUL] = { "line_nul", 500, "5.5.2", "NUL character in command" },
	[SMTP_ERROR_LINE_BARE_CR] = { "line_bare_cr", 500, "5.5.2", "Bare CR in command" },
	[SMTP_ERROR_LINE_BARE_LF] = { "line_bare_lf", 500, "5.5.2", "Bare LF in command" },
	[SMTP_ERROR_LINE_8BIT] = { "line_8bit", 500, "5.5.2", "Invalid 8-bit data in command" },
	[SMTP_ERROR_LINE_TOO_LONG] = { "line_too_long", 500, "5.5.2", "Line too long" },
	[SMTP_ERROR_UNKNOWN_COMMAND] = { "unknown_command", 500, "5.5.2", "Unknown command" },
	[SMTP_ERROR_WRONG_PROTOCOL] = { "wrong_protocol", 500, "5.5.2",
					"Command not valid in this protocol" },
	[SMTP_ERROR_ARGS_NOT_ALLOWED] = { "args_not_allowed", 501, "5.5.4",
					  "No arguments allowed" },
	[SMTP_ERROR_ARGS_REQUIRED] = { "args_required", 501, "5.5.4", "Argument required" },
	[SMTP_ERROR_SYNTAX] = { "syntax", 501, "5.5.4", "Syntax error" },
	[SMTP_ERROR_SPACE_AFTER_COLON] = { "space_after_colon", 501, "5.5.4",
					   "No space allowed after the colon" },
	[SMTP_ERROR_BAD_SENDER] = { "bad_sender", 553, "5.1.7", "Bad sender address syntax" },
	[SMTP_ERROR_BAD_RECIPIENT] = { "bad_recipient", 553, "5.1.3",
				       "Bad recipient address syntax" },
	[SMTP_ERROR_UTF8_ADDRESS] = { "utf8_address", 553, "5.6.7",
				      "Non-ASCII address requires SMTPUTF8" },
	[SMTP_ERROR_PARAM_SYNTAX] = { "param_syntax", 501, "5.5.4", "Invalid parameter syntax" },
	[SMTP_ERROR_PARAM_VALUE] = { "param_value", 501, "5.5.4", "Invalid parameter value" },
	[SMTP_ERROR_PARAM_UNKNOWN] = { "param_unknown", 555, "5.5.4", "Unsupported parameter" },
	[SMTP_ERROR_PARAM_DUPLICATE] = { "param_duplicate", 555, "5.5.4", "Duplicate parameter" },
	[SMTP_ERROR_PARAM_UNSUPPORTED] = { "param_unsupported", 555, "5.5.4",
					   "Unsupported parameter value" },
	[SMTP_ERROR_BDAT_SYNTAX] = { "bdat_syntax", 501, "5.5.4", "Syntax: BDAT size [LAST]" },
	[SMTP_ERROR_AUTH_MECHANISM] = { "auth_mechanism", 504, "5.5.4",
					"Unrecognized authentication type" },
	[SMTP_ERROR_AUTH_BASE64] = { "auth_base64", 501, "5.5.2",
				     "Cannot decode the initial response" },
	[SMTP_ERROR_DATA_TOO_BIG] = { "data_too_big", 552, "5.3.4",
				      "Message exceeds the size limit" },
	[SMTP_ERROR_DATA_SMUGGLING] = { "data_smuggling", 554, "5.7.0",
					"Bad end-of-data sequence in message" },
	[SMTP_ERROR_DATA_BARE_LF] = { "data_bare_lf", 554, "5.6.0", "Bare LF in message" },
	[SMTP_ERROR_DATA_BARE_CR] = { "data_bare_cr", 554, "5.6.0", "Bare CR in message" },
	[SMTP_ERROR_DATA_NUL] = { "data_nul", 554, "5.6.0", "NUL character in message" },
	[SMTP_ERROR_DATA_LONG_LINE] = { "data_long_line", 554, "5.6.0",
					"Message line too long" },
	[SMTP_ERROR_DATA_SINK] = { "data_sink", 451, "4.3.0",
				   "Temporary failure storing the message" },
};

void smtp_error_set(struct smtp_error *err, enum smtp_error_id id)
{
	if ((unsigned)id >= SMTP_ERROR_COUNT)
		id = SMTP_ERROR_SYNTAX;
	const struct smtp_error_def *d = &smtp_error_defs[id];
	err->id = id;
	err->code = d->code;
	err->enhanced = d->enhanced;
	err->text = d->text;
}

void smtp_error_set_detail(struct smtp_error *err, struct pool *pool,
			   enum smtp_error_id id, const char *detail)
{
	smtp_error_set(err, id);
	if (detail != NULL && pool != NULL)
		err->text = pool_printf(pool, "%s: %s", err->text, detail);
}

const char *smtp_error_name(enum smtp_error_id id)
{
	if ((unsigned)id >= SMTP_ERROR_COUNT)
		return "invalid";
	return smtp_error_defs[id].name;
}
