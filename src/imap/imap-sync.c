/*
 * The selected folder as a session sees it, and keeping it in step with
 * the store.  The session holds only its sequence map, its \Recent set,
 * the UIDNEXT and HIGHESTMODSEQ it has reported, and the keywords it has
 * announced; everything that changed since is one store_sync() away
 * (new UIDs, expunged UIDs and flag changes by MODSEQ), so no per-message
 * flags are kept in memory.
 */

#include "imap-private.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	uint32_t flag;
	const char *name;
} system_flags[] = {
	{ STORE_FLAG_ANSWERED, "\\Answered" },
	{ STORE_FLAG_FLAGGED, "\\Flagged" },
	{ STORE_FLAG_DELETED, "\\Deleted" },
	{ STORE_FLAG_SEEN, "\\Seen" },
	{ STORE_FLAG_DRAFT, "\\Draft" },
};

void imap_write_flags(const struct imap_client *c, struct buf *out, uint32_t uid, uint32_t flags,
		      const char *keywords)
{
	buf_append_c(out, '(');
	bool first = true;
	for (size_t i = 0; i < N_ELEMENTS(system_flags); i++) {
		if (!(flags & system_flags[i].flag))
			continue;
		if (!first)
			buf_append_c(out, ' ');
		buf_append_str(out, system_flags[i].name);
		first = false;
	}
	if (c->view != NULL && !c->imap4rev2 && seqmap_has(&c->view->recent, uid)) {
		if (!first)
			buf_append_c(out, ' ');
		buf_append_str(out, "\\Recent");
		first = false;
	}
	if (keywords != NULL && keywords[0] != '\0') {
		if (!first)
			buf_append_c(out, ' ');
		buf_append_str(out, keywords);
	}
	buf_append_c(out, ')');
}

void imap_write_flag_lists(struct imap_client *c, struct buf *out, const char *keywords)
{
	const char *kw = keywords != NULL ? keywords : "";
	buf_printf(out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s%s)\r\n",
		   kw[0] != '\0' ? " " : "", kw);
	if (c->view != NULL && c->view->readonly)
		buf_append_str(out, "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n");
	else
		buf_printf(out, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s%s \\*)]"
			   " Flags permitted.\r\n", kw[0] != '\0' ? " " : "", kw);
	if (c->view != NULL) {
		free(c->view->keywords);
		c->view->keywords = xstrdup(kw);
	}
}

void imap_condstore_enable(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (c->condstore)
		return;
	c->condstore = true;
	/* RFC 7162 3.1: a CONDSTORE-enabling command in a selected folder */
	if (c->view != NULL)
		buf_printf(&cmd->out, "* OK [HIGHESTMODSEQ %llu] Highest.\r\n",
			   (unsigned long long)c->view->modseq);
}

void imap_view_own_modseq(struct imap_view *v, uint64_t modseq)
{
	if (v->n_own < N_ELEMENTS(v->own_modseq))
		v->own_modseq[v->n_own++] = modseq;
}

static bool is_own(const struct imap_view *v, uint64_t modseq)
{
	for (unsigned int i = 0; i < v->n_own; i++) {
		if (v->own_modseq[i] == modseq)
			return true;
	}
	return false;
}

void imap_view_close(struct imap_client *c)
{
	struct imap_view *v = c->view;
	if (v == NULL)
		return;
	c->view = NULL;
	seqmap_free(&v->map);
	seqmap_free(&v->recent);
	seqmap_free(&v->searchres);
	free(v->pending_expunges);
	free(v->keywords);
	free(v->name);
	free(v);
}

/* The first unseen message's sequence number (0: none). */
struct first_unseen {
	uint32_t uid;
};

static int find_unseen(const struct store_message *m, void *ctx)
{
	struct first_unseen *f = ctx;
	if (f->uid == 0 && !(m->flags & STORE_FLAG_SEEN))
		f->uid = m->uid;
	return 0;
}

static uint32_t first_unseen_seq(struct imap_cmd *cmd, struct mailbox *mb)
{
	struct imap_view *v = cmd->client->view;
	struct first_unseen f = { 0 };
	const char *err;
	/* in batches along the sequence map, so that a big folder whose
	 * first unseen message is early costs one small query */
	for (uint32_t seq = 1; f.uid == 0 && seq <= v->map.count;) {
		uint32_t last = MIN(seq + 999, v->map.count);
		struct store_query q = { .folder_id = v->folder_id, .uid_lo = seqmap_uid(&v->map, seq),
					 .uid_hi = seqmap_uid(&v->map, last) };
		struct pool *p = pool_create("unseen", 0);
		int r = mailbox_query(mb, p, &q, find_unseen, &f, &err);
		pool_destroy(&p);
		if (r != STORE_OK)
			break;
		seq = last + 1;
	}
	return f.uid != 0 ? seqmap_seq(&v->map, f.uid) : 0;
}

int imap_view_open(struct imap_cmd *cmd, struct mailbox *mb, const char *name, bool readonly,
		   const char **error_r)
{
	struct imap_client *c = cmd->client;
	struct store_folder f;
	int r = mailbox_folder_get(mb, cmd->pool, name, &f, error_r);
	if (r != STORE_OK)
		return r;
	struct store_sync s = { .folder_id = f.id, .uidnext = 1, .claim_recent = !readonly };
	r = mailbox_sync(mb, cmd->pool, &s, error_r);
	if (r != STORE_OK)
		return r;
	struct imap_view *v = xcalloc(1, sizeof(*v));
	v->folder_id = f.id;
	v->name = xstrdup(s.folder.name);
	v->uidvalidity = s.folder.uidvalidity;
	v->uidnext = s.folder.uidnext;
	v->modseq = s.folder.highestmodseq;
	v->readonly = readonly;
	seqmap_init(&v->map);
	seqmap_init(&v->recent);
	seqmap_init(&v->searchres);
	for (size_t i = 0; i < s.n_new; i++)
		seqmap_append(&v->map, s.new_uids[i]);
	if (s.recent_hi > s.recent_lo)
		seqmap_add_range(&v->recent, s.recent_lo, s.recent_hi - 1);
	else if (readonly && s.folder.first_recent < s.folder.uidnext)
		seqmap_add_range(&v->recent, s.folder.first_recent, s.folder.uidnext - 1);
	store_sync_free(&s);
	c->view = v;
	c->state = STATE_SELECTED;
	struct buf *out = &cmd->out;
	imap_write_flag_lists(c, out, s.folder.keywords);
	v->exists_sent = v->map.count;
	buf_printf(out, "* %u EXISTS\r\n", v->exists_sent);
	if (!c->imap4rev2) {
		v->recent_sent = seqmap_intersect_count(&v->map, &v->recent);
		buf_printf(out, "* %u RECENT\r\n", v->recent_sent);
		if (s.folder.unseen > 0) {
			uint32_t seq = first_unseen_seq(cmd, mb);
			if (seq > 0)
				buf_printf(out, "* OK [UNSEEN %u] First unseen.\r\n", seq);
		}
	}
	buf_printf(out, "* OK [UIDVALIDITY %u] UIDs valid.\r\n", v->uidvalidity);
	buf_printf(out, "* OK [UIDNEXT %u] Predicted next UID.\r\n", v->uidnext);
	buf_printf(out, "* OK [HIGHESTMODSEQ %llu] Highest.\r\n", (unsigned long long)v->modseq);
	if (c->imap4rev2) {
		buf_append_str(out, "* LIST () \"/\" ");
		imap_name_out(c, out, v->name);
		buf_append_str(out, "\r\n");
	}
	return STORE_OK;
}

static void report_expunges(struct imap_client *c, struct buf *out, const uint32_t *uids, size_t n)
{
	struct imap_view *v = c->view;
	uint32_t *gone = c->qresync ? xmalloc((n ? n : 1) * sizeof(*gone)) : NULL;
	size_t ng = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t seq = seqmap_remove(&v->map, uids[i]);
		if (seq == 0)
			continue;
		seqmap_remove(&v->recent, uids[i]);
		if (gone != NULL)
			gone[ng++] = uids[i];
		else
			buf_printf(out, "* %u EXPUNGE\r\n", seq);
	}
	if (gone != NULL && ng > 0) {
		buf_append_str(out, "* VANISHED ");
		imap_numbers_write(out, gone, ng);
		buf_append_str(out, "\r\n");
	}
	free(gone);
	v->exists_sent = v->map.count;
}

void imap_view_expunged(struct imap_client *c, struct buf *out, const uint32_t *uids, size_t n)
{
	report_expunges(c, out, uids, n);
}

static void flush_pending(struct imap_client *c, struct buf *out)
{
	struct imap_view *v = c->view;
	if (v->n_pending == 0)
		return;
	/* report in UID order */
	uint32_t *p = v->pending_expunges;
	size_t n = v->n_pending;
	for (size_t i = 1; i < n; i++) {
		uint32_t x = p[i];
		size_t j = i;
		while (j > 0 && p[j - 1] > x) {
			p[j] = p[j - 1];
			j--;
		}
		p[j] = x;
	}
	report_expunges(c, out, p, n);
	v->n_pending = 0;
}

static bool is_pending(const struct imap_view *v, uint32_t uid)
{
	for (uint32_t i = 0; i < v->n_pending; i++) {
		if (v->pending_expunges[i] == uid)
			return true;
	}
	return false;
}

int imap_sync(struct imap_client *c, struct mailbox *mb, struct buf *out, unsigned int flags)
{
	struct imap_view *v = c->view;
	if (v == NULL)
		return 0;
	struct pool *pool = pool_create("sync", 0);
	struct store_sync s = { .folder_id = v->folder_id, .uidnext = v->uidnext,
				.modseq = v->modseq, .claim_recent = !v->readonly };
	const char *err;
	int r = mailbox_sync(mb, pool, &s, &err);
	if (r == STORE_NOTFOUND || (r == STORE_OK && s.folder.uidvalidity != v->uidvalidity)) {
		if (r == STORE_OK)
			store_sync_free(&s);
		pool_destroy(&pool);
		return -1;
	}
	if (r != STORE_OK) {
		log_error("imap.sync_failed", "user=%s error=%s", log_str(c->user), log_str(err));
		pool_destroy(&pool);
		return 0;
	}
	/* expunges first: they change the sequence numbers */
	if (!(flags & SYNC_NO_EXPUNGE)) {
		flush_pending(c, out);
		report_expunges(c, out, s.expunged, s.n_expunged);
	} else if (s.n_expunged > 0) {
		if (v->n_pending + s.n_expunged > v->cap_pending) {
			v->cap_pending = (uint32_t)(v->n_pending + s.n_expunged) * 2;
			v->pending_expunges = xrealloc(v->pending_expunges,
						       v->cap_pending * sizeof(uint32_t));
		}
		for (size_t i = 0; i < s.n_expunged; i++) {
			if (seqmap_has(&v->map, s.expunged[i]))
				v->pending_expunges[v->n_pending++] = s.expunged[i];
		}
	}
	for (size_t i = 0; i < s.n_new; i++)
		seqmap_append(&v->map, s.new_uids[i]);
	if (s.recent_hi > s.recent_lo)
		seqmap_add_range(&v->recent, s.recent_lo, s.recent_hi - 1);
	if (v->map.count != v->exists_sent || s.n_new > 0) {
		v->exists_sent = v->map.count;
		buf_printf(out, "* %u EXISTS\r\n", v->exists_sent);
	}
	if (!c->imap4rev2) {
		uint32_t recent = seqmap_intersect_count(&v->map, &v->recent);
		if (recent != v->recent_sent || s.recent_hi > s.recent_lo) {
			v->recent_sent = recent;
			buf_printf(out, "* %u RECENT\r\n", recent);
		}
	}
	if (strcmp(s.folder.keywords, v->keywords != NULL ? v->keywords : "") != 0)
		imap_write_flag_lists(c, out, s.folder.keywords);
	bool with_uid = c->qresync || (flags & SYNC_UID_FETCH);
	for (size_t i = 0; i < s.n_changed; i++) {
		const struct store_change *ch = &s.changed[i];
		if (is_own(v, ch->modseq) || is_pending(v, ch->uid))
			continue;
		uint32_t seq = seqmap_seq(&v->map, ch->uid);
		if (seq == 0)
			continue;
		buf_printf(out, "* %u FETCH (", seq);
		if (with_uid)
			buf_printf(out, "UID %u ", ch->uid);
		buf_append_str(out, "FLAGS ");
		imap_write_flags(c, out, ch->uid, ch->flags, ch->keywords);
		if (c->condstore)
			buf_printf(out, " MODSEQ (%llu)", (unsigned long long)ch->modseq);
		buf_append_str(out, ")\r\n");
	}
	v->uidnext = s.folder.uidnext;
	if (s.folder.highestmodseq > v->modseq)
		v->modseq = s.folder.highestmodseq;
	v->n_own = 0;
	store_sync_free(&s);
	pool_destroy(&pool);
	return 0;
}

int imap_uids_from_set(struct imap_cmd *cmd, const char *set, bool uid, uint32_t **uids_r,
		       size_t *n_r)
{
	struct imap_view *v = cmd->client->view;
	*uids_r = NULL;
	*n_r = 0;
	if (v == NULL) {
		imap_cmd_bad(cmd, "No mailbox selected.");
		return -1;
	}
	size_t n = 0, cap = 0;
	uint32_t *u = NULL;
	if (strcmp(set, "$") == 0) {
		for (uint32_t i = 0; i < v->searchres.nr; i++) {
			for (uint32_t x = v->searchres.r[i].lo;; x++) {
				if (seqmap_has(&v->map, x)) {
					if (n == cap) {
						cap = cap ? cap * 2 : 64;
						u = xrealloc(u, cap * sizeof(*u));
					}
					u[n++] = x;
				}
				if (x == v->searchres.r[i].hi)
					break;
			}
		}
		*uids_r = u;
		*n_r = n;
		return 0;
	}
	struct imap_seqset ss;
	if (imap_seqset_parse(cmd->pool, set, &ss) < 0) {
		imap_cmd_bad(cmd, "Invalid %s set.", uid ? "UID" : "sequence");
		return -1;
	}
	if (uid) {
		uint32_t last = seqmap_last(&v->map);
		imap_seqset_resolve(&ss, last);
		for (unsigned int i = 0; i < ss.count; i++) {
			for (uint32_t seq = seqmap_seq_ge(&v->map, ss.r[i].lo); seq <= v->map.count; seq++) {
				uint32_t x = seqmap_uid(&v->map, seq);
				if (x > ss.r[i].hi)
					break;
				if (n == cap) {
					cap = cap ? cap * 2 : 64;
					u = xrealloc(u, cap * sizeof(*u));
				}
				u[n++] = x;
			}
		}
	} else {
		for (unsigned int i = 0; i < ss.count; i++) {
			uint32_t big = MAX(ss.r[i].lo, ss.r[i].hi);
			if (big > v->map.count) {
				imap_cmd_bad(cmd, "Invalid messageset: message %u does not exist.", big);
				return -1;
			}
		}
		imap_seqset_resolve(&ss, v->map.count);
		for (unsigned int i = 0; i < ss.count; i++) {
			for (uint32_t seq = ss.r[i].lo; seq <= ss.r[i].hi && seq <= v->map.count; seq++) {
				if (n == cap) {
					cap = cap ? cap * 2 : 64;
					u = xrealloc(u, cap * sizeof(*u));
				}
				u[n++] = seqmap_uid(&v->map, seq);
				if (seq == UINT32_MAX)
					break;
			}
		}
	}
	*uids_r = u;
	*n_r = n;
	return 0;
}
