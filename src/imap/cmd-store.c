/* STORE and UID STORE, with UNCHANGEDSINCE (CONDSTORE, RFC 7162), and
 * the flag syntax APPEND shares. */

#include "imap-private.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	uint32_t flag;
} sysflags[] = {
	{ "\\Seen", STORE_FLAG_SEEN }, { "\\Answered", STORE_FLAG_ANSWERED },
	{ "\\Flagged", STORE_FLAG_FLAGGED }, { "\\Deleted", STORE_FLAG_DELETED },
	{ "\\Draft", STORE_FLAG_DRAFT },
};

static bool keyword_valid(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' ||
		    c == '"' || c == '\\' || c == ']')
			return false;
	}
	return true;
}

static int add_flag(struct imap_cmd *cmd, const struct imap_arg *a, uint32_t *flags,
		    struct buf *kw)
{
	if (a->type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "Flags are atoms.");
		return -1;
	}
	const char *s = a->str;
	if (s[0] == '\\') {
		for (size_t i = 0; i < N_ELEMENTS(sysflags); i++) {
			if (str_eq_icase(s, sysflags[i].name)) {
				*flags |= sysflags[i].flag;
				return 0;
			}
		}
		if (str_eq_icase(s, "\\Recent"))
			return 0; /* only the server sets it */
		imap_cmd_bad(cmd, "Invalid system flag %s.", s);
		return -1;
	}
	if (!keyword_valid(s)) {
		imap_cmd_bad(cmd, "Invalid keyword.");
		return -1;
	}
	if (kw->len > 0)
		buf_append_c(kw, ' ');
	buf_append_str(kw, s);
	return 0;
}

int imap_flags_parse(struct imap_cmd *cmd, const struct imap_arg *arg, bool list_only,
		     uint32_t *flags_r, const char **keywords_r)
{
	struct buf kw;
	buf_init_pool(&kw, cmd->pool, 0);
	uint32_t flags = 0;
	if (arg->type == IMAP_ARG_LIST) {
		for (unsigned int i = 0; i < arg->count; i++) {
			if (add_flag(cmd, &arg->list[i], &flags, &kw) < 0)
				return -1;
		}
	} else if (list_only) {
		imap_cmd_bad(cmd, "Flags must be a list.");
		return -1;
	} else if (add_flag(cmd, arg, &flags, &kw) < 0) {
		return -1;
	}
	*flags_r = flags;
	*keywords_r = buf_cstr(&kw);
	return 0;
}

bool imap_cmd_store(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	struct imap_view *v = c->view;
	unsigned int i = 1;
	struct store_flags_op op = { 0 };
	if (cmd->count < 3 || cmd->args[0].type != IMAP_ARG_ATOM)
		goto usage;
	if (cmd->args[1].type == IMAP_ARG_LIST) {
		const struct imap_arg *m = &cmd->args[1];
		if (m->count != 2 || !imap_arg_atom_is(&m->list[0], "UNCHANGEDSINCE") ||
		    m->list[1].type != IMAP_ARG_ATOM ||
		    num_parse_u64(m->list[1].str, &op.unchangedsince) < 0) {
			imap_cmd_bad(cmd, "Invalid STORE modifier.");
			return true;
		}
		op.conditional = true;
		imap_condstore_enable(cmd);
		i++;
	}
	if (i >= cmd->count || cmd->args[i].type != IMAP_ARG_ATOM)
		goto usage;
	const char *item = cmd->args[i].str;
	op.mode = item[0] == '+' ? 1 : item[0] == '-' ? -1 : 0;
	if (op.mode != 0)
		item++;
	bool silent;
	if (str_eq_icase(item, "FLAGS"))
		silent = false;
	else if (str_eq_icase(item, "FLAGS.SILENT"))
		silent = true;
	else
		goto usage;
	i++;
	if (i >= cmd->count)
		goto usage;
	struct buf kw;
	buf_init_pool(&kw, cmd->pool, 0);
	if (cmd->args[i].type == IMAP_ARG_LIST) {
		if (i + 1 != cmd->count)
			goto usage;
		const char *k;
		if (imap_flags_parse(cmd, &cmd->args[i], true, &op.flags, &k) < 0)
			return true;
		buf_append_str(&kw, k);
	} else {
		for (; i < cmd->count; i++) {
			if (add_flag(cmd, &cmd->args[i], &op.flags, &kw) < 0)
				return true;
		}
	}
	op.keywords = buf_cstr(&kw);
	if (v->readonly) {
		imap_cmd_no(cmd, "[READ-ONLY] The mailbox is read-only.");
		return true;
	}
	uint32_t *uids;
	size_t n;
	if (imap_uids_from_set(cmd, cmd->args[0].str, cmd->uid, &uids, &n) < 0)
		return true;
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL) {
		free(uids);
		return true;
	}
	struct store_flags_result *res = xcalloc(n ? n : 1, sizeof(*res));
	const char *err = NULL;
	int r = mailbox_flags_store(mb, cmd->pool, v->folder_id, uids, n, &op, res, &err);
	free(uids);
	if (r != STORE_OK) {
		free(res);
		imap_cmd_store_error(cmd, r, err);
		return true;
	}
	bool with_uid = cmd->uid || c->qresync;
	uint32_t *modified = xmalloc((n ? n : 1) * sizeof(*modified));
	size_t nmod = 0, gone = 0;
	for (size_t k = 0; k < n; k++) {
		const struct store_flags_result *x = &res[k];
		uint32_t seq = seqmap_seq(&v->map, x->uid);
		if (x->status == STORE_FLAGS_GONE || seq == 0) {
			gone++;
			continue;
		}
		if (x->status == STORE_FLAGS_MODIFIED) {
			modified[nmod++] = cmd->uid ? x->uid : seq;
			continue;
		}
		if (x->status == STORE_FLAGS_CHANGED)
			imap_view_own_modseq(v, x->modseq);
		bool show_flags = !silent;
		bool show_modseq = c->condstore && (x->status == STORE_FLAGS_CHANGED || !silent);
		if (!show_flags && !show_modseq)
			continue;
		buf_printf(&cmd->out, "* %u FETCH (", seq);
		const char *sp = "";
		if (with_uid) {
			buf_printf(&cmd->out, "UID %u", x->uid);
			sp = " ";
		}
		if (show_flags) {
			buf_printf(&cmd->out, "%sFLAGS ", sp);
			imap_write_flags(c, &cmd->out, x->uid, x->flags, x->keywords);
			sp = " ";
		}
		if (show_modseq)
			buf_printf(&cmd->out, "%sMODSEQ (%llu)", sp, (unsigned long long)x->modseq);
		buf_append_str(&cmd->out, ")\r\n");
	}
	free(res);
	if (nmod > 0) {
		struct buf set;
		buf_init_pool(&set, cmd->pool, 0);
		imap_numbers_write(&set, modified, nmod);
		imap_cmd_ok(cmd, "[MODIFIED %s] Conditional STORE failed.", buf_cstr(&set));
	} else if (gone > 0) {
		imap_cmd_no(cmd, "[EXPUNGEISSUED] Some of the messages no longer exist.");
	} else {
		imap_cmd_ok(cmd, "Store completed.");
	}
	free(modified);
	return true;

usage:
	imap_cmd_bad(cmd, "Usage: STORE set [(UNCHANGEDSINCE modseq)] [+|-]FLAGS[.SILENT] (flags)");
	return true;
}
