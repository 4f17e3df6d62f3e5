/* LIST (RFC 3501, LIST-EXTENDED RFC 5258, CHILDREN RFC 3348,
 * SPECIAL-USE RFC 6154, LIST-STATUS RFC 5819) and LSUB. */

#include "imap-private.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define PATTERN_MAX 1024

/* selection and return options */
#define SEL_SUBSCRIBED  0x01
#define SEL_REMOTE      0x02
#define SEL_RECURSIVE   0x04
#define SEL_SPECIALUSE  0x08
#define RET_SUBSCRIBED  0x10
#define RET_CHILDREN    0x20
#define RET_SPECIALUSE  0x40
#define RET_STATUS      0x80

struct list_name {
	const char *name;
	const struct store_folder *folder; /* NULL: implied by a child, or a dangling subscription */
	bool subscribed;
	bool has_children;
	bool child_subscribed;           /* a subscribed descendant that no pattern matches */
};

struct list_ctx {
	struct imap_cmd *cmd;
	unsigned int opts;
	bool extended;
	unsigned int status_mask;
	const char **patterns;
	unsigned int n_patterns;
	struct list_name *names;
	size_t n_names;
};

/* --- matching --- */

/* '*' matches anything, '%' anything but the separator; the first five
 * bytes of an INBOX name match without case. */
static bool match(const char *pat, const char *name)
{
	size_t p = strlen(pat), n = strlen(name);
	if (p > PATTERN_MAX)
		return false;
	bool inbox = strncmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/');
	/* dp[j]: pat[0..i) matches name[0..j) */
	bool *dp = xcalloc(n + 1, sizeof(bool));
	bool *nx = xcalloc(n + 1, sizeof(bool));
	dp[0] = true;
	for (size_t i = 0; i < p; i++) {
		char pc = pat[i];
		memset(nx, 0, (n + 1) * sizeof(bool));
		if (pc == '*' || pc == '%') {
			/* nx[j]: some k <= j with dp[k], and for '%' no separator
			 * in name[k..j) */
			bool run = false;
			for (size_t j = 0; j <= n; j++) {
				if (pc == '%' && j > 0 && name[j - 1] == '/')
					run = false;
				if (dp[j])
					run = true;
				nx[j] = run;
			}
		} else {
			for (size_t j = 1; j <= n; j++) {
				if (!dp[j - 1])
					continue;
				char nc = name[j - 1];
				if (nc == pc || (inbox && j <= 5 && ascii_upper(nc) == ascii_upper(pc)))
					nx[j] = true;
			}
		}
		bool *t = dp;
		dp = nx;
		nx = t;
	}
	bool r = dp[n];
	free(dp);
	free(nx);
	return r;
}

static bool match_any(const struct list_ctx *lc, const char *name)
{
	for (unsigned int i = 0; i < lc->n_patterns; i++) {
		if (match(lc->patterns[i], name))
			return true;
	}
	return false;
}

/* --- the set of names --- */

static int cmp_name(const void *a, const void *b)
{
	const struct list_name *x = a, *y = b;
	bool xi = strcmp(x->name, "INBOX") == 0, yi = strcmp(y->name, "INBOX") == 0;
	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

static struct list_name *find_name(struct list_ctx *lc, const char *name)
{
	for (size_t i = 0; i < lc->n_names; i++) {
		if (strcmp(lc->names[i].name, name) == 0)
			return &lc->names[i];
	}
	return NULL;
}

static struct list_name *add_name(struct list_ctx *lc, size_t *cap, const char *name)
{
	struct list_name *x = find_name(lc, name);
	if (x != NULL)
		return x;
	if (lc->n_names == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		lc->names = pool_realloc(lc->cmd->pool, lc->names, *cap * sizeof(*lc->names),
					 ncap * sizeof(*lc->names));
		*cap = ncap;
	}
	x = &lc->names[lc->n_names++];
	memset(x, 0, sizeof(*x));
	x->name = name;
	return x;
}

static int build_names(struct list_ctx *lc, struct mailbox *mb)
{
	struct imap_cmd *cmd = lc->cmd;
	struct store_folder *f;
	size_t nf, cap = 0;
	const char *err = NULL;
	int r = mailbox_folder_list(mb, cmd->pool, &f, &nf, &err);
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return -1;
	}
	const char **subs;
	size_t ns;
	r = mailbox_subscriptions(mb, cmd->pool, &subs, &ns, &err);
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return -1;
	}
	for (size_t i = 0; i < nf; i++)
		add_name(lc, &cap, f[i].name)->folder = &f[i];
	for (size_t i = 0; i < ns; i++)
		add_name(lc, &cap, subs[i])->subscribed = true;
	/* parents implied by a name below them */
	size_t n0 = lc->n_names;
	for (size_t i = 0; i < n0; i++) {
		const char *name = lc->names[i].name;
		bool real = lc->names[i].folder != NULL;
		for (const char *s = strchr(name, '/'); s != NULL; s = strchr(s + 1, '/')) {
			const char *parent = pool_strndup(cmd->pool, name, (size_t)(s - name));
			struct list_name *pn = add_name(lc, &cap, parent);
			if (real)
				pn->has_children = true;
		}
	}
	qsort(lc->names, lc->n_names, sizeof(*lc->names), cmp_name);
	/* subscribed descendants that no pattern matches (RECURSIVEMATCH) */
	for (size_t i = 0; i < lc->n_names; i++) {
		struct list_name *x = &lc->names[i];
		if (!x->subscribed || match_any(lc, x->name))
			continue;
		const char *name = x->name;
		for (const char *s = strchr(name, '/'); s != NULL; s = strchr(s + 1, '/')) {
			char *parent = pool_strndup(cmd->pool, name, (size_t)(s - name));
			struct list_name *pn = find_name(lc, parent);
			if (pn != NULL)
				pn->child_subscribed = true;
		}
	}
	return 0;
}

/* --- output --- */

static void attr(struct buf *out, bool *first, const char *a)
{
	if (!*first)
		buf_append_c(out, ' ');
	buf_append_str(out, a);
	*first = false;
}

static void write_list(struct list_ctx *lc, const struct list_name *x, bool childinfo)
{
	struct imap_cmd *cmd = lc->cmd;
	struct imap_client *c = cmd->client;
	struct buf *out = &cmd->out;
	buf_append_str(out, "* LIST (");
	bool first = true;
	if (x->folder == NULL)
		attr(out, &first, lc->extended ? "\\NonExistent" : "\\Noselect");
	if (x->folder != NULL || x->has_children || !lc->extended) {
		if (x->has_children)
			attr(out, &first, "\\HasChildren");
		else if (x->folder != NULL)
			attr(out, &first, "\\HasNoChildren");
	}
	if (x->subscribed && (lc->opts & (SEL_SUBSCRIBED | RET_SUBSCRIBED)))
		attr(out, &first, "\\Subscribed");
	if (x->folder != NULL && x->folder->special_use != NULL)
		attr(out, &first, x->folder->special_use);
	buf_append_str(out, ") \"/\" ");
	imap_name_out(c, out, x->name);
	if (childinfo)
		buf_append_str(out, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	buf_append_str(out, "\r\n");
	if ((lc->opts & RET_STATUS) && x->folder != NULL)
		imap_status_write(cmd, x->folder, lc->status_mask);
}

static void list_names(struct list_ctx *lc)
{
	for (size_t i = 0; i < lc->n_names; i++) {
		const struct list_name *x = &lc->names[i];
		if (!match_any(lc, x->name))
			continue;
		bool childinfo = false;
		if (lc->opts & SEL_SUBSCRIBED) {
			if (!x->subscribed) {
				if (!(lc->opts & SEL_RECURSIVE) || !x->child_subscribed)
					continue;
				childinfo = true;
			}
		} else if (x->folder == NULL && !x->has_children) {
			continue; /* a dangling subscription is not a mailbox */
		}
		if ((lc->opts & SEL_SPECIALUSE) && (x->folder == NULL || x->folder->special_use == NULL))
			continue;
		write_list(lc, x, childinfo);
	}
}

/* --- parsing --- */

static int parse_options(struct imap_cmd *cmd, const struct imap_arg *l, bool selection,
			 struct list_ctx *lc)
{
	for (unsigned int i = 0; i < l->count; i++) {
		const struct imap_arg *a = &l->list[i];
		if (selection && imap_arg_atom_is(a, "SUBSCRIBED"))
			lc->opts |= SEL_SUBSCRIBED;
		else if (selection && imap_arg_atom_is(a, "REMOTE"))
			lc->opts |= SEL_REMOTE;
		else if (selection && imap_arg_atom_is(a, "RECURSIVEMATCH"))
			lc->opts |= SEL_RECURSIVE;
		else if (selection && imap_arg_atom_is(a, "SPECIAL-USE"))
			lc->opts |= SEL_SPECIALUSE;
		else if (!selection && imap_arg_atom_is(a, "SUBSCRIBED"))
			lc->opts |= RET_SUBSCRIBED;
		else if (!selection && imap_arg_atom_is(a, "CHILDREN"))
			lc->opts |= RET_CHILDREN;
		else if (!selection && imap_arg_atom_is(a, "SPECIAL-USE"))
			lc->opts |= RET_SPECIALUSE;
		else if (!selection && imap_arg_atom_is(a, "STATUS") && i + 1 < l->count &&
			 l->list[i + 1].type == IMAP_ARG_LIST) {
			lc->opts |= RET_STATUS;
			i++;
			if (imap_status_items(cmd, l->list[i].list, l->list[i].count, &lc->status_mask) < 0)
				return -1;
		} else {
			imap_cmd_bad(cmd, "Unknown LIST %s option.", selection ? "selection" : "return");
			return -1;
		}
	}
	if ((lc->opts & SEL_RECURSIVE) && !(lc->opts & (SEL_SUBSCRIBED | SEL_SPECIALUSE))) {
		imap_cmd_bad(cmd, "RECURSIVEMATCH needs another selection option.");
		return -1;
	}
	return 0;
}

static const char *pattern_in(struct imap_cmd *cmd, const char *ref, const char *pat)
{
	const char *full = pool_printf(cmd->pool, "%s%s", ref, pat);
	if (cmd->client->utf8)
		return full;
	struct buf b;
	buf_init_pool(&b, cmd->pool, 0);
	/* a pattern that is not modified UTF-7 simply matches nothing of
	 * it: keep it as it is */
	if (imap_utf7_to_utf8(full, &b) < 0)
		return full;
	return buf_cstr(&b);
}

static bool do_list(struct imap_cmd *cmd, bool lsub);

bool imap_cmd_list(struct imap_cmd *cmd)
{
	return do_list(cmd, false);
}

static void write_lsub(struct imap_cmd *cmd, const char *name, bool noselect)
{
	buf_printf(&cmd->out, "* LSUB (%s) \"/\" ", noselect ? "\\Noselect" : "");
	imap_name_out(cmd->client, &cmd->out, name);
	buf_append_str(&cmd->out, "\r\n");
}

/* LSUB: subscribed names; with "%", an unsubscribed level above a
 * subscribed name is listed as \Noselect (RFC 3501 6.3.9). */
static void lsub_names(struct list_ctx *lc)
{
	for (size_t i = 0; i < lc->n_names; i++) {
		const struct list_name *x = &lc->names[i];
		if (x->subscribed && match_any(lc, x->name)) {
			write_lsub(lc->cmd, x->name, false);
			continue;
		}
		if (x->subscribed)
			continue;
		/* a level above a subscribed name that "%" stops at */
		bool below = false;
		size_t len = strlen(x->name);
		for (size_t k = 0; k < lc->n_names && !below; k++) {
			const struct list_name *y = &lc->names[k];
			below = y->subscribed && strncmp(y->name, x->name, len) == 0 && y->name[len] == '/';
		}
		if (!below)
			continue;
		for (unsigned int p = 0; p < lc->n_patterns; p++) {
			if (strchr(lc->patterns[p], '%') != NULL && match(lc->patterns[p], x->name)) {
				write_lsub(lc->cmd, x->name, true);
				break;
			}
		}
	}
}

static bool do_list(struct imap_cmd *cmd, bool lsub)
{
	struct list_ctx lc = { .cmd = cmd };
	unsigned int i = 0;
	const char *ref;
	if (!lsub && cmd->count > 0 && cmd->args[0].type == IMAP_ARG_LIST) {
		lc.extended = true;
		if (parse_options(cmd, &cmd->args[0], true, &lc) < 0)
			return true;
		i++;
	}
	if (cmd->count < i + 2 || !imap_arg_astring(&cmd->args[i], &ref)) {
		imap_cmd_bad(cmd, "Usage: %s reference pattern", cmd->name);
		return true;
	}
	const struct imap_arg *pats = &cmd->args[i + 1];
	unsigned int npats = 1;
	if (pats->type == IMAP_ARG_LIST && !lsub) {
		lc.extended = true;
		npats = pats->count;
		pats = pats->list;
	}
	if (npats == 0) {
		imap_cmd_bad(cmd, "Missing pattern.");
		return true;
	}
	lc.patterns = pool_alloc(cmd->pool, npats * sizeof(char *));
	for (unsigned int k = 0; k < npats; k++) {
		const char *p;
		if (!imap_arg_astring(&pats[k], &p)) {
			imap_cmd_bad(cmd, "Invalid pattern.");
			return true;
		}
		lc.patterns[lc.n_patterns++] = pattern_in(cmd, ref, p);
	}
	i += 2;
	if (!lsub && i < cmd->count) {
		if (i + 2 != cmd->count || !imap_arg_atom_is(&cmd->args[i], "RETURN") ||
		    cmd->args[i + 1].type != IMAP_ARG_LIST) {
			imap_cmd_bad(cmd, "Usage: LIST [(options)] reference pattern [RETURN (options)]");
			return true;
		}
		lc.extended = true;
		if (parse_options(cmd, &cmd->args[i + 1], false, &lc) < 0)
			return true;
	} else if (i != cmd->count) {
		imap_cmd_bad(cmd, "Too many arguments.");
		return true;
	}
	/* LIST "" "": the hierarchy separator and root */
	if (!lsub && lc.n_patterns == 1 && lc.patterns[0][0] == '\0' && !(lc.opts & SEL_SUBSCRIBED)) {
		imap_cmd_untagged(cmd, "LIST (\\Noselect) \"/\" \"\"");
		imap_cmd_ok(cmd, "List completed.");
		return true;
	}
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL || build_names(&lc, mb) < 0)
		return true;
	if (lsub)
		lsub_names(&lc);
	else
		list_names(&lc);
	imap_cmd_ok(cmd, "%s completed.", lsub ? "Lsub" : "List");
	return true;
}

bool imap_cmd_lsub(struct imap_cmd *cmd)
{
	return do_list(cmd, true);
}
