/* SEARCH (with ESEARCH RFC 4731, SEARCHRES RFC 5182, CONDSTORE), SORT
 * (RFC 5256) and THREAD. */

#include "imap-private.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct ret {
	bool esearch, min, max, all, count, save;
};

static int check_charset(struct imap_cmd *cmd, const struct imap_arg *a)
{
	const char *cs;
	if (!imap_arg_astring(a, &cs)) {
		imap_cmd_bad(cmd, "Invalid charset.");
		return -1;
	}
	if (!str_eq_icase(cs, "UTF-8") && !str_eq_icase(cs, "US-ASCII") && !str_eq_icase(cs, "UTF8")) {
		imap_cmd_no(cmd, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset.");
		return -1;
	}
	return 0;
}

static int parse_return(struct imap_cmd *cmd, const struct imap_arg *l, struct ret *r)
{
	r->esearch = true;
	for (unsigned int i = 0; i < l->count; i++) {
		const struct imap_arg *a = &l->list[i];
		if (imap_arg_atom_is(a, "MIN"))
			r->min = true;
		else if (imap_arg_atom_is(a, "MAX"))
			r->max = true;
		else if (imap_arg_atom_is(a, "ALL"))
			r->all = true;
		else if (imap_arg_atom_is(a, "COUNT"))
			r->count = true;
		else if (imap_arg_atom_is(a, "SAVE"))
			r->save = true;
		else {
			imap_cmd_bad(cmd, "Unknown SEARCH return option.");
			return -1;
		}
	}
	if (!r->min && !r->max && !r->count && !r->save)
		r->all = true;
	return 0;
}

/* UIDs to the numbers the command speaks in, in place. */
static void to_numbers(struct imap_cmd *cmd, uint32_t *uids, size_t n)
{
	if (cmd->uid)
		return;
	for (size_t i = 0; i < n; i++)
		uids[i] = seqmap_seq(&cmd->client->view->map, uids[i]);
}

static void save_result(struct imap_view *v, const uint32_t *uids, size_t n, const struct ret *r)
{
	seqmap_clear(&v->searchres);
	if (n == 0)
		return;
	if ((r->min || r->max) && !r->all && !r->count) {
		if (r->min)
			seqmap_add(&v->searchres, uids[0]);
		if (r->max)
			seqmap_add(&v->searchres, uids[n - 1]);
		return;
	}
	for (size_t i = 0; i < n; i++)
		seqmap_add(&v->searchres, uids[i]);
}

static void write_esearch(struct imap_cmd *cmd, const uint32_t *nums, size_t n, const struct ret *r,
			  const uint64_t *modseqs)
{
	/* MODSEQ: the highest of the messages the answer names (RFC 7162
	 * 3.1.5): all of them for ALL and COUNT, else the MIN/MAX ones */
	uint64_t modseq = 0;
	for (size_t i = 0; modseqs != NULL && i < n; i++) {
		if ((r->all || r->count || (r->min && i == 0) || (r->max && i == n - 1)) &&
		    modseqs[i] > modseq)
			modseq = modseqs[i];
	}
	struct buf *out = &cmd->out;
	buf_append_str(out, "* ESEARCH (TAG ");
	imap_write_string(out, cmd->tag, strlen(cmd->tag), false);
	buf_append_c(out, ')');
	if (cmd->uid)
		buf_append_str(out, " UID");
	if (r->min && n > 0)
		buf_printf(out, " MIN %u", nums[0]);
	if (r->max && n > 0)
		buf_printf(out, " MAX %u", nums[n - 1]);
	if (r->count)
		buf_printf(out, " COUNT %zu", n);
	if (r->all && n > 0) {
		buf_append_str(out, " ALL ");
		imap_numbers_write(out, nums, n);
	}
	if (modseq > 0)
		buf_printf(out, " MODSEQ %llu", (unsigned long long)modseq);
	buf_append_str(out, "\r\n");
}

bool imap_cmd_search(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	struct ret r = { 0 };
	unsigned int i = 0;
	if (cmd->count >= 2 && imap_arg_atom_is(&cmd->args[0], "RETURN") &&
	    cmd->args[1].type == IMAP_ARG_LIST) {
		if (parse_return(cmd, &cmd->args[1], &r) < 0)
			return true;
		i = 2;
	}
	if (i + 1 < cmd->count && imap_arg_atom_is(&cmd->args[i], "CHARSET")) {
		if (check_charset(cmd, &cmd->args[i + 1]) < 0)
			goto failed;
		i += 2;
	}
	struct imap_search *s = imap_search_parse(cmd, cmd->args + i, cmd->count - i);
	if (s == NULL)
		goto failed;
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL)
		goto failed;
	uint32_t *uids;
	size_t n;
	uint64_t *modseqs;
	if (imap_search_run(cmd, mb, s, &uids, &n, &modseqs) < 0)
		goto failed;
	if (r.save)
		save_result(c->view, uids, n, &r);
	to_numbers(cmd, uids, n);
	if (r.esearch || c->imap4rev2) {
		if (!r.esearch)
			r.all = true;
		/* SAVE alone answers nothing (RFC 5182 2.4) */
		if (r.min || r.max || r.all || r.count)
			write_esearch(cmd, uids, n, &r, modseqs);
	} else {
		uint64_t modseq = 0;
		buf_append_str(&cmd->out, "* SEARCH");
		for (size_t k = 0; k < n; k++) {
			buf_printf(&cmd->out, " %u", uids[k]);
			if (modseqs != NULL && modseqs[k] > modseq)
				modseq = modseqs[k];
		}
		if (modseq > 0)
			buf_printf(&cmd->out, " (MODSEQ %llu)", (unsigned long long)modseq);
		buf_append_str(&cmd->out, "\r\n");
	}
	free(uids);
	free(modseqs);
	imap_cmd_ok(cmd, "Search completed.");
	return true;
failed:
	if (r.save)
		seqmap_clear(&c->view->searchres);
	return true;
}

/* --- SORT --- */

enum sort_key { SK_ARRIVAL, SK_CC, SK_DATE, SK_FROM, SK_SIZE, SK_SUBJECT, SK_TO };

struct sort_crit {
	enum sort_key key;
	bool reverse;
};

static __thread struct sort_crit *t_crit;
static __thread unsigned int t_ncrit;

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_msgs(const void *x, const void *y)
{
	const struct sort_msg *a = x, *b = y;
	for (unsigned int i = 0; i < t_ncrit; i++) {
		int c = 0;
		switch (t_crit[i].key) {
		case SK_ARRIVAL: c = cmp_i64(a->arrival, b->arrival); break;
		case SK_DATE: c = cmp_i64(a->date, b->date); break;
		case SK_SIZE: c = cmp_i64((int64_t)a->size, (int64_t)b->size); break;
		case SK_SUBJECT: c = strcmp(a->subject, b->subject); break;
		case SK_FROM: c = strcmp(a->from, b->from); break;
		case SK_TO: c = strcmp(a->to, b->to); break;
		case SK_CC: c = strcmp(a->cc, b->cc); break;
		}
		if (c != 0)
			return t_crit[i].reverse ? -c : c;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int parse_sort(struct imap_cmd *cmd, const struct imap_arg *l, struct sort_crit **crit_r,
		      unsigned int *n_r)
{
	static const struct {
		const char *name;
		enum sort_key key;
	} keys[] = {
		{ "ARRIVAL", SK_ARRIVAL }, { "CC", SK_CC }, { "DATE", SK_DATE }, { "FROM", SK_FROM },
		{ "SIZE", SK_SIZE }, { "SUBJECT", SK_SUBJECT }, { "TO", SK_TO },
	};
	struct sort_crit *crit = pool_alloc(cmd->pool, (l->count + 1) * sizeof(*crit));
	unsigned int n = 0;
	bool reverse = false;
	for (unsigned int i = 0; i < l->count; i++) {
		if (imap_arg_atom_is(&l->list[i], "REVERSE")) {
			reverse = true;
			continue;
		}
		size_t k;
		for (k = 0; k < N_ELEMENTS(keys); k++) {
			if (imap_arg_atom_is(&l->list[i], keys[k].name))
				break;
		}
		if (k == N_ELEMENTS(keys)) {
			imap_cmd_bad(cmd, "Unknown sort criterion.");
			return -1;
		}
		crit[n].key = keys[k].key;
		crit[n].reverse = reverse;
		reverse = false;
		n++;
	}
	if (n == 0 || reverse) {
		imap_cmd_bad(cmd, "Invalid sort criteria.");
		return -1;
	}
	*crit_r = crit;
	*n_r = n;
	return 0;
}

/* The messages the search keys select, with their sort keys. */
static int selected_msgs(struct imap_cmd *cmd, unsigned int first, bool refs,
			 struct sort_msg **msgs_r, size_t *n_r)
{
	if (cmd->count < first + 2) {
		imap_cmd_bad(cmd, "Usage: %s ... charset search-keys", cmd->name);
		return -1;
	}
	if (check_charset(cmd, &cmd->args[first]) < 0)
		return -1;
	struct imap_search *s = imap_search_parse(cmd, cmd->args + first + 1, cmd->count - first - 1);
	if (s == NULL)
		return -1;
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL)
		return -1;
	uint32_t *uids;
	size_t n;
	if (imap_search_run(cmd, mb, s, &uids, &n, NULL) < 0)
		return -1;
	int got = imap_sort_load(cmd, mb, uids, n, refs, msgs_r);
	free(uids);
	if (got < 0)
		return -1;
	*n_r = (size_t)got;
	return 0;
}

bool imap_cmd_sort(struct imap_cmd *cmd)
{
	if (cmd->count < 3 || cmd->args[0].type != IMAP_ARG_LIST) {
		imap_cmd_bad(cmd, "Usage: SORT (criteria) charset search-keys");
		return true;
	}
	struct sort_crit *crit;
	unsigned int ncrit;
	if (parse_sort(cmd, &cmd->args[0], &crit, &ncrit) < 0)
		return true;
	struct sort_msg *msgs;
	size_t n;
	if (selected_msgs(cmd, 1, false, &msgs, &n) < 0)
		return true;
	t_crit = crit;
	t_ncrit = ncrit;
	qsort(msgs, n, sizeof(*msgs), cmp_msgs);
	buf_append_str(&cmd->out, "* SORT");
	for (size_t i = 0; i < n; i++)
		buf_printf(&cmd->out, " %u", cmd->uid ? msgs[i].uid : msgs[i].seq);
	buf_append_str(&cmd->out, "\r\n");
	imap_cmd_ok(cmd, "Sort completed.");
	return true;
}

bool imap_cmd_thread(struct imap_cmd *cmd)
{
	if (cmd->count < 3 || cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "Usage: THREAD algorithm charset search-keys");
		return true;
	}
	bool refs;
	if (imap_arg_atom_is(&cmd->args[0], "REFERENCES"))
		refs = true;
	else if (imap_arg_atom_is(&cmd->args[0], "ORDEREDSUBJECT"))
		refs = false;
	else {
		imap_cmd_bad(cmd, "Unknown thread algorithm.");
		return true;
	}
	struct sort_msg *msgs;
	size_t n;
	if (selected_msgs(cmd, 1, refs, &msgs, &n) < 0)
		return true;
	struct buf t;
	buf_init_pool(&t, cmd->pool, 0);
	if (refs)
		imap_thread_references(cmd->pool, msgs, n, cmd->uid, &t);
	else
		imap_thread_orderedsubject(msgs, n, cmd->uid, &t);
	buf_printf(&cmd->out, "* THREAD%s%s\r\n", t.len > 0 ? " " : "", buf_cstr(&t));
	imap_cmd_ok(cmd, "Thread completed.");
	return true;
}
