/*
 * What IMAP needs from an owner's index beyond delivery and POP3:
 * consistent change sets for sessions that have a folder selected
 * (new UIDs, flag changes and expunges by MODSEQ), \Recent, keywords,
 * conditional STORE, EXPUNGE of \Deleted, COPY/MOVE under the quota,
 * and row queries that read only the columns a command needs.
 */

#include "store-private.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Keywords: space-separated words, compared without case              */

/* Calls fn for every word of a space-separated list. */
static bool kw_next(const char **sp, const char **w_r, size_t *len_r)
{
	const char *s = *sp;
	while (*s == ' ')
		s++;
	if (*s == '\0')
		return false;
	const char *e = s;
	while (*e != '\0' && *e != ' ')
		e++;
	*w_r = s;
	*len_r = (size_t)(e - s);
	*sp = e;
	return true;
}

/* The word in list equal to w without case, or NULL. */
static const char *kw_find(const char *list, const char *w, size_t len, size_t *flen_r)
{
	const char *x;
	size_t xl;
	while (list != NULL && kw_next(&list, &x, &xl)) {
		if (xl == len && mem_eq_icase(x, w, len)) {
			if (flen_r != NULL)
				*flen_r = xl;
			return x;
		}
	}
	return NULL;
}

int index_folder_add_keywords(struct mailbox *mb, struct pool *pool, const struct store_folder *f,
			      const char *keywords, const char **error_r)
{
	if (keywords == NULL || keywords[0] == '\0')
		return 0;
	/* the folder row may have grown in this transaction: read it again */
	sqlite3_stmt *s = index_stmt(mb, "SELECT keywords FROM folders WHERE id = ?", error_r);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, f->id);
	const char *cur = sqlite3_step(s) == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
	struct buf b;
	buf_init_pool(&b, pool, 0);
	buf_append_str(&b, cur != NULL ? cur : "");
	sqlite3_reset(s);
	size_t before = b.len;
	const char *w, *p = keywords;
	size_t wl;
	while (kw_next(&p, &w, &wl)) {
		if (kw_find(buf_cstr(&b), w, wl, NULL) != NULL)
			continue;
		if (b.len > 0)
			buf_append_c(&b, ' ');
		buf_append(&b, w, wl);
	}
	if (b.len == before)
		return 0;
	s = index_stmt(mb, "UPDATE folders SET keywords = ? WHERE id = ?", error_r);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, buf_cstr(&b), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, f->id);
	return index_step_done(mb, s, error_r);
}

/* ------------------------------------------------------------------ */
/* Folders and subscriptions                                           */

static int folder_by_id_locked(struct mailbox *mb, struct pool *pool, int64_t id,
			       struct store_folder *f_r, const char **error_r)
{
	sqlite3_stmt *s = index_stmt(mb, "SELECT " FOLDER_COLS " FROM folders WHERE id = ?", error_r);
	if (s == NULL)
		return STORE_FAIL;
	sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		index_folder_row(s, pool, f_r);
		sqlite3_reset(s);
		return STORE_OK;
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		*error_r = "the folder was deleted";
		return STORE_NOTFOUND;
	}
	*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
	return STORE_FAIL;
}

int mailbox_folder_get_id(struct mailbox *mb, struct pool *pool, int64_t id,
			  struct store_folder *f_r, const char **error_r)
{
	mailbox_lock(mb);
	int r = folder_by_id_locked(mb, pool, id, f_r, error_r);
	mailbox_unlock(mb);
	return r;
}

int mailbox_subscriptions(struct mailbox *mb, struct pool *pool, const char ***names_r,
			  size_t *n_r, const char **error_r)
{
	mailbox_lock(mb);
	sqlite3_stmt *s = index_stmt(mb, "SELECT name FROM subscriptions ORDER BY name", error_r);
	if (s == NULL) {
		mailbox_unlock(mb);
		return STORE_FAIL;
	}
	size_t n = 0, cap = 16;
	const char **names = pool_alloc(pool, cap * sizeof(*names));
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n + 1 >= cap) {
			names = pool_realloc(pool, names, cap * sizeof(*names), cap * 2 * sizeof(*names));
			cap *= 2;
		}
		names[n++] = pool_strdup(pool, (const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_reset(s);
	mailbox_unlock(mb);
	if (rc != SQLITE_DONE) {
		*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
		return STORE_FAIL;
	}
	names[n] = NULL;
	*names_r = names;
	*n_r = n;
	return STORE_OK;
}

/* ------------------------------------------------------------------ */
/* Change sets                                                         */

static int uid_list(struct mailbox *mb, sqlite3_stmt *s, uint32_t **uids_r, size_t *n_r,
		    const char **error_r)
{
	size_t n = 0, cap = 0;
	uint32_t *u = NULL;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			u = xrealloc(u, cap * sizeof(*u));
		}
		u[n++] = (uint32_t)sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(u);
		*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
		return STORE_FAIL;
	}
	*uids_r = u;
	*n_r = n;
	return STORE_OK;
}

static int changes_locked(struct mailbox *mb, struct pool *pool, int64_t folder_id,
			  uint64_t modseq, uint32_t lo, uint32_t hi, struct store_change **ch_r,
			  size_t *n_r, const char **error_r)
{
	sqlite3_stmt *s = index_stmt(mb, "SELECT uid, flags, modseq, keywords FROM messages"
				     " WHERE folder_id = ? AND modseq > ? AND uid BETWEEN ? AND ?"
				     " ORDER BY uid", error_r);
	if (s == NULL)
		return STORE_FAIL;
	sqlite3_bind_int64(s, 1, folder_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)modseq);
	sqlite3_bind_int64(s, 3, lo);
	sqlite3_bind_int64(s, 4, hi);
	size_t n = 0, cap = 0;
	struct store_change *c = NULL;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			c = pool_realloc(pool, c, cap * sizeof(*c), ncap * sizeof(*c));
			cap = ncap;
		}
		c[n].uid = (uint32_t)sqlite3_column_int64(s, 0);
		c[n].flags = (uint32_t)sqlite3_column_int64(s, 1);
		c[n].modseq = (uint64_t)sqlite3_column_int64(s, 2);
		const char *kw = (const char *)sqlite3_column_text(s, 3);
		c[n].keywords = pool_strdup(pool, kw != NULL ? kw : "");
		n++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
		return STORE_FAIL;
	}
	*ch_r = c;
	*n_r = n;
	return STORE_OK;
}

static int expunged_locked(struct mailbox *mb, int64_t folder_id, uint64_t modseq, uint32_t lo,
			   uint32_t hi, uint32_t **uids_r, size_t *n_r, const char **error_r)
{
	sqlite3_stmt *s = index_stmt(mb, "SELECT uid FROM expunged WHERE folder_id = ? AND modseq > ?"
				     " AND uid BETWEEN ? AND ? ORDER BY uid", error_r);
	if (s == NULL)
		return STORE_FAIL;
	sqlite3_bind_int64(s, 1, folder_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)modseq);
	sqlite3_bind_int64(s, 3, lo);
	sqlite3_bind_int64(s, 4, hi);
	return uid_list(mb, s, uids_r, n_r, error_r);
}

int mailbox_changes(struct mailbox *mb, struct pool *pool, int64_t folder_id, uint64_t modseq,
		    uint32_t uid_lo, uint32_t uid_hi, struct store_change **ch_r, size_t *n_r,
		    const char **error_r)
{
	mailbox_lock(mb);
	int r = changes_locked(mb, pool, folder_id, modseq, uid_lo, uid_hi, ch_r, n_r, error_r);
	mailbox_unlock(mb);
	return r;
}

int mailbox_expunged(struct mailbox *mb, int64_t folder_id, uint64_t modseq, uint32_t uid_lo,
		     uint32_t uid_hi, uint32_t **uids_r, size_t *n_r, const char **error_r)
{
	mailbox_lock(mb);
	int r = expunged_locked(mb, folder_id, modseq, uid_lo, uid_hi, uids_r, n_r, error_r);
	mailbox_unlock(mb);
	return r;
}

/* Takes the \Recent messages below uidnext for this session: the first
 * session to see them gets them (RFC 3501 2.3.2), across processes. */
static int claim_recent(struct mailbox *mb, struct store_sync *s, const char **error_r)
{
	uint32_t upto = s->folder.uidnext;
	if (index_begin(mb, error_r) < 0)
		return STORE_FAIL;
	sqlite3_stmt *q = index_stmt(mb, "SELECT first_recent FROM folders WHERE id = ?", error_r);
	int r = q != NULL ? STORE_OK : STORE_FAIL;
	uint32_t first = upto;
	if (r == STORE_OK) {
		sqlite3_bind_int64(q, 1, s->folder_id);
		if (sqlite3_step(q) == SQLITE_ROW)
			first = (uint32_t)sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
	}
	if (r == STORE_OK && first < upto) {
		q = index_stmt(mb, "UPDATE folders SET first_recent = ? WHERE id = ?", error_r);
		if (q == NULL) {
			r = STORE_FAIL;
		} else {
			sqlite3_bind_int64(q, 1, upto);
			sqlite3_bind_int64(q, 2, s->folder_id);
			if (index_step_done(mb, q, error_r) < 0)
				r = STORE_FAIL;
		}
	}
	if (r == STORE_OK && index_commit(mb, error_r) < 0)
		r = STORE_FAIL;
	if (r != STORE_OK) {
		index_rollback(mb);
		return r;
	}
	if (first < upto) {
		s->recent_lo = first;
		s->recent_hi = upto;
		s->folder.recent = 0;
		s->folder.first_recent = upto;
	}
	return STORE_OK;
}

int mailbox_sync(struct mailbox *mb, struct pool *pool, struct store_sync *s, const char **error_r)
{
	s->new_uids = s->expunged = NULL;
	s->changed = NULL;
	s->n_new = s->n_expunged = s->n_changed = 0;
	s->recent_lo = s->recent_hi = 0;
	mailbox_lock(mb);
	int r = index_exec(mb, "BEGIN", error_r) < 0 ? STORE_FAIL : STORE_OK;
	if (r == STORE_OK)
		r = folder_by_id_locked(mb, pool, s->folder_id, &s->folder, error_r);
	if (r == STORE_OK) {
		sqlite3_stmt *q = index_stmt(mb, "SELECT uid FROM messages WHERE folder_id = ?"
					     " AND uid >= ? ORDER BY uid", error_r);
		if (q == NULL) {
			r = STORE_FAIL;
		} else {
			sqlite3_bind_int64(q, 1, s->folder_id);
			sqlite3_bind_int64(q, 2, s->uidnext);
			r = uid_list(mb, q, &s->new_uids, &s->n_new, error_r);
		}
	}
	if (r == STORE_OK && s->modseq > 0 && s->uidnext > 1 &&
	    s->folder.highestmodseq > s->modseq) {
		r = changes_locked(mb, pool, s->folder_id, s->modseq, 1, s->uidnext - 1, &s->changed,
				   &s->n_changed, error_r);
		if (r == STORE_OK)
			r = expunged_locked(mb, s->folder_id, s->modseq, 1, s->uidnext - 1,
					    &s->expunged, &s->n_expunged, error_r);
	}
	const char *e;
	index_exec(mb, "COMMIT", &e);
	if (r == STORE_OK && s->claim_recent && s->folder.first_recent < s->folder.uidnext)
		r = claim_recent(mb, s, error_r);
	mailbox_unlock(mb);
	if (r != STORE_OK)
		store_sync_free(s);
	return r;
}

void store_sync_free(struct store_sync *s)
{
	free(s->new_uids);
	free(s->expunged);
	s->new_uids = s->expunged = NULL;
	s->n_new = s->n_expunged = 0;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */

static const char *col_dup(sqlite3_stmt *s, int i, struct pool *pool)
{
	const char *v = (const char *)sqlite3_column_text(s, i);
	return v != NULL ? pool_strndup(pool, v, (size_t)sqlite3_column_bytes(s, i)) : NULL;
}

int mailbox_query(struct mailbox *mb, struct pool *pool, const struct store_query *q,
		  int (*fn)(const struct store_message *m, void *ctx), void *ctx,
		  const char **error_r)
{
	/* one prepared statement per column choice */
	static const char *const sqls[4] = {
		"SELECT uid, modseq, flags, keywords, internal_date, size FROM messages"
		" WHERE folder_id = ? AND uid BETWEEN ? AND ? AND modseq > ? ORDER BY uid LIMIT ?",
		"SELECT uid, modseq, flags, keywords, internal_date, size, cache FROM messages"
		" WHERE folder_id = ? AND uid BETWEEN ? AND ? AND modseq > ? ORDER BY uid LIMIT ?",
		"SELECT uid, modseq, flags, keywords, internal_date, size, NULL,"
		" blob, blob_file, prefix FROM messages"
		" WHERE folder_id = ? AND uid BETWEEN ? AND ? AND modseq > ? ORDER BY uid LIMIT ?",
		"SELECT uid, modseq, flags, keywords, internal_date, size, cache,"
		" blob, blob_file, prefix FROM messages"
		" WHERE folder_id = ? AND uid BETWEEN ? AND ? AND modseq > ? ORDER BY uid LIMIT ?",
	};
	unsigned int want = q->want & 3;
	mailbox_lock(mb);
	sqlite3_stmt *s = index_stmt(mb, sqls[want], error_r);
	if (s == NULL) {
		mailbox_unlock(mb);
		return STORE_FAIL;
	}
	sqlite3_bind_int64(s, 1, q->folder_id);
	sqlite3_bind_int64(s, 2, q->uid_lo);
	sqlite3_bind_int64(s, 3, q->uid_hi);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)q->changedsince);
	sqlite3_bind_int64(s, 5, q->limit > 0 ? (sqlite3_int64)q->limit : -1);
	size_t n = 0, cap = 0;
	struct store_message *ms = NULL;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ms = xrealloc(ms, cap * sizeof(*ms));
		}
		struct store_message *m = &ms[n++];
		memset(m, 0, sizeof(*m));
		m->folder_id = q->folder_id;
		m->uid = (uint32_t)sqlite3_column_int64(s, 0);
		m->modseq = (uint64_t)sqlite3_column_int64(s, 1);
		m->flags = (uint32_t)sqlite3_column_int64(s, 2);
		m->keywords = col_dup(s, 3, pool);
		m->internal_date = sqlite3_column_int64(s, 4);
		m->size = (uint64_t)sqlite3_column_int64(s, 5);
		if (want & STORE_WANT_CACHE)
			cache_unpack(mb->st, pool, sqlite3_column_blob(s, 6),
				     (size_t)sqlite3_column_bytes(s, 6), &m->cache);
		if (want & STORE_WANT_BLOB) {
			m->blob = col_dup(s, 7, pool);
			m->blob_file = sqlite3_column_int(s, 8) != 0;
			m->prefix_len = (size_t)sqlite3_column_bytes(s, 9);
			m->prefix = m->prefix_len > 0
				? pool_memdup(pool, sqlite3_column_blob(s, 9), m->prefix_len) : NULL;
		}
	}
	sqlite3_reset(s);
	mailbox_unlock(mb);
	if (rc != SQLITE_DONE) {
		free(ms);
		*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
		return STORE_FAIL;
	}
	int r = STORE_OK;
	for (size_t i = 0; i < n && r == STORE_OK; i++) {
		if (fn(&ms[i], ctx) < 0)
			r = STORE_FAIL;
	}
	free(ms);
	if (r != STORE_OK)
		*error_r = "stopped";
	return r;
}

/* ------------------------------------------------------------------ */
/* STORE                                                               */

/* The keyword list after op, in the folder's spelling. */
static const char *apply_keywords(struct pool *pool, const char *cur, const char *folder_kw,
				  const struct store_flags_op *op)
{
	struct buf b;
	buf_init_pool(&b, pool, 0);
	const char *w, *p;
	size_t wl;
	if (op->mode != 0) {
		/* keep the current ones, minus the removed */
		p = cur != NULL ? cur : "";
		while (kw_next(&p, &w, &wl)) {
			if (op->mode < 0 && kw_find(op->keywords, w, wl, NULL) != NULL)
				continue;
			if (b.len > 0)
				buf_append_c(&b, ' ');
			buf_append(&b, w, wl);
		}
	}
	if (op->mode >= 0) {
		p = op->keywords != NULL ? op->keywords : "";
		while (kw_next(&p, &w, &wl)) {
			if (kw_find(buf_cstr(&b), w, wl, NULL) != NULL)
				continue;
			size_t fl;
			const char *canon = kw_find(folder_kw, w, wl, &fl);
			if (b.len > 0)
				buf_append_c(&b, ' ');
			if (canon != NULL)
				buf_append(&b, canon, fl);
			else
				buf_append(&b, w, wl);
		}
	}
	return buf_cstr(&b);
}

/* Same set of keywords, whatever the order and case. */
static bool keywords_equal(const char *a, const char *b)
{
	const char *w, *p = a;
	size_t wl, na = 0, nb = 0;
	while (kw_next(&p, &w, &wl)) {
		if (kw_find(b, w, wl, NULL) == NULL)
			return false;
		na++;
	}
	p = b;
	while (kw_next(&p, &w, &wl))
		nb++;
	return na == nb;
}

int mailbox_flags_store(struct mailbox *mb, struct pool *pool, int64_t folder_id,
			const uint32_t *uids, size_t n, const struct store_flags_op *op,
			struct store_flags_result *res, const char **error_r)
{
	mailbox_lock(mb);
	struct store_folder f = { 0 };
	int r = index_begin(mb, error_r) < 0 ? STORE_FAIL
		: folder_by_id_locked(mb, pool, folder_id, &f, error_r);
	/* new keywords join the folder's list first so that every message
	 * gets the folder's spelling */
	if (r == STORE_OK && op->mode >= 0 &&
	    index_folder_add_keywords(mb, pool, &f, op->keywords, error_r) < 0)
		r = STORE_FAIL;
	if (r == STORE_OK)
		r = folder_by_id_locked(mb, pool, folder_id, &f, error_r);
	uint64_t modseq = f.highestmodseq + 1;
	bool changed = false;
	for (size_t i = 0; i < n && r == STORE_OK; i++) {
		struct store_flags_result *x = &res[i];
		memset(x, 0, sizeof(*x));
		x->uid = uids[i];
		sqlite3_stmt *s = index_stmt(mb, "SELECT flags, keywords, modseq FROM messages"
					     " WHERE folder_id = ? AND uid = ?", error_r);
		if (s == NULL) {
			r = STORE_FAIL;
			break;
		}
		sqlite3_bind_int64(s, 1, folder_id);
		sqlite3_bind_int64(s, 2, uids[i]);
		if (sqlite3_step(s) != SQLITE_ROW) {
			sqlite3_reset(s);
			x->status = STORE_FLAGS_GONE;
			continue;
		}
		uint32_t flags = (uint32_t)sqlite3_column_int64(s, 0);
		const char *kw = col_dup(s, 1, pool);
		uint64_t ms = (uint64_t)sqlite3_column_int64(s, 2);
		sqlite3_reset(s);
		if (kw == NULL)
			kw = "";
		x->flags = flags;
		x->keywords = kw;
		x->modseq = ms;
		if (op->conditional && ms > op->unchangedsince) {
			x->status = STORE_FLAGS_MODIFIED;
			continue;
		}
		uint32_t nf = op->mode > 0 ? flags | op->flags : op->mode < 0 ? flags & ~op->flags
			: op->flags;
		const char *nkw = apply_keywords(pool, kw, f.keywords, op);
		if (nf == flags && keywords_equal(nkw, kw)) {
			x->status = STORE_FLAGS_UNCHANGED;
			continue;
		}
		s = index_stmt(mb, "UPDATE messages SET flags = ?, keywords = ?, modseq = ?"
			       " WHERE folder_id = ? AND uid = ?", error_r);
		if (s == NULL) {
			r = STORE_FAIL;
			break;
		}
		sqlite3_bind_int64(s, 1, nf);
		if (nkw[0] != '\0')
			sqlite3_bind_text(s, 2, nkw, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)modseq);
		sqlite3_bind_int64(s, 4, folder_id);
		sqlite3_bind_int64(s, 5, uids[i]);
		if (index_step_done(mb, s, error_r) < 0) {
			r = STORE_FAIL;
			break;
		}
		x->status = STORE_FLAGS_CHANGED;
		x->flags = nf;
		x->keywords = nkw;
		x->modseq = modseq;
		changed = true;
	}
	if (r == STORE_OK && changed && index_bump_folder(mb, folder_id, 0, modseq, error_r) < 0)
		r = STORE_FAIL;
	if (r == STORE_OK && index_commit(mb, error_r) < 0)
		r = STORE_FAIL;
	if (r != STORE_OK)
		index_rollback(mb);
	mailbox_unlock(mb);
	if (r == STORE_OK && changed)
		mailbox_notify(mb);
	return r;
}

/* ------------------------------------------------------------------ */
/* EXPUNGE                                                             */

static bool uid_in(const uint32_t *uids, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (uids[mid] < uid)
			lo = mid + 1;
		else if (uids[mid] > uid)
			hi = mid;
		else
			return true;
	}
	return false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int mailbox_expunge_deleted(struct mailbox *mb, int64_t folder_id, const uint32_t *uids, size_t n,
			    uint32_t **expunged_r, size_t *n_r, const char **error_r)
{
	uint32_t *sorted = NULL;
	if (uids != NULL) {
		sorted = xmalloc((n ? n : 1) * sizeof(*sorted));
		memcpy(sorted, uids, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_u32);
	}
	*expunged_r = NULL;
	*n_r = 0;
	mailbox_lock(mb);
	uint64_t modseq = 0;
	struct blob_ref *refs = NULL;
	size_t nrefs = 0, removed = 0, nd = 0;
	uint32_t *del = NULL;
	int r = index_begin(mb, error_r) < 0 ? STORE_FAIL
		: index_folder_modseq(mb, folder_id, &modseq, error_r);
	if (r == STORE_OK) {
		sqlite3_stmt *s = index_stmt(mb, "SELECT uid FROM messages WHERE folder_id = ?"
					     " AND (flags & 8) != 0 ORDER BY uid", error_r);
		if (s == NULL) {
			r = STORE_FAIL;
		} else {
			sqlite3_bind_int64(s, 1, folder_id);
			r = uid_list(mb, s, &del, &nd, error_r);
		}
	}
	if (r == STORE_OK && sorted != NULL) {
		size_t k = 0;
		for (size_t i = 0; i < nd; i++) {
			if (uid_in(sorted, n, del[i]))
				del[k++] = del[i];
		}
		nd = k;
	}
	uint32_t *gone = NULL;
	if (r == STORE_OK && nd > 0) {
		gone = xmalloc(nd * sizeof(*gone));
		r = index_expunge_locked(mb, folder_id, del, nd, modseq + 1, &refs, &nrefs, gone,
					 &removed, error_r);
	}
	if (r == STORE_OK && index_commit(mb, error_r) < 0)
		r = STORE_FAIL;
	if (r != STORE_OK)
		index_rollback(mb);
	mailbox_unlock(mb);
	free(del);
	free(sorted);
	if (r == STORE_OK) {
		index_release_blobs(mb, refs, nrefs);
		if (removed > 0)
			mailbox_notify(mb);
		*expunged_r = gone;
		*n_r = removed;
	} else {
		free(gone);
	}
	free(refs);
	return r;
}

/* ------------------------------------------------------------------ */
/* COPY and MOVE                                                       */

int mailbox_copy_ex(struct mailbox *mb, int64_t from_folder, const uint32_t *uids, size_t n,
		    const char *to_folder, const struct store_copy *c, uint32_t *new_uids_r,
		    uint32_t *uidvalidity_r, const char **error_r)
{
	mailbox_lock(mb);
	struct pool *pool = pool_create("copy", 0);
	struct store_folder to = { 0 };
	int r = index_begin(mb, error_r) < 0 ? STORE_FAIL
		: index_folder_get_locked(mb, pool, to_folder, &to, error_r);
	/* the quota, in the same transaction as the copies */
	if (r == STORE_OK && c->quota > 0) {
		uint64_t add = 0;
		sqlite3_stmt *s = index_stmt(mb, "SELECT size FROM messages WHERE folder_id = ? AND uid = ?",
					     error_r);
		for (size_t i = 0; s != NULL && i < n; i++) {
			sqlite3_reset(s);
			sqlite3_bind_int64(s, 1, from_folder);
			sqlite3_bind_int64(s, 2, uids[i]);
			if (sqlite3_step(s) == SQLITE_ROW)
				add += (uint64_t)sqlite3_column_int64(s, 0);
		}
		if (s == NULL)
			r = STORE_FAIL;
		else
			sqlite3_reset(s);
		int64_t used = r == STORE_OK ? index_meta_get(mb, "quota_used", error_r) : 0;
		if (used < 0)
			r = STORE_FAIL;
		/* a move into the same owner adds nothing */
		if (r == STORE_OK && !c->move && (uint64_t)used + add > c->quota) {
			*error_r = store_errf("over quota (%llu + %llu > %llu bytes)",
					      (unsigned long long)used, (unsigned long long)add,
					      (unsigned long long)c->quota);
			r = STORE_QUOTA;
		}
	}
	uint32_t uid = to.uidnext;
	uint64_t modseq = to.highestmodseq + 1;
	struct buf kw;
	buf_init_pool(&kw, pool, 0);
	for (size_t i = 0; i < n && r == STORE_OK; i++) {
		sqlite3_stmt *s = index_stmt(mb,
			"INSERT INTO messages (folder_id, uid, modseq, flags, keywords, internal_date,"
			" saved, size, blob, blob_file, prefix, pop3_uidl, cache)"
			" SELECT ?, ?, ?, flags, keywords, internal_date, ?, size, blob, blob_file,"
			" prefix, NULL, cache FROM messages"
			" WHERE folder_id = ? AND uid = ? RETURNING keywords", error_r);
		if (s == NULL) {
			r = STORE_FAIL;
			break;
		}
		sqlite3_bind_int64(s, 1, to.id);
		sqlite3_bind_int64(s, 2, uid);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)modseq);
		sqlite3_bind_int64(s, 4, time_now());
		sqlite3_bind_int64(s, 5, from_folder);
		sqlite3_bind_int64(s, 6, uids[i]);
		int rc = sqlite3_step(s);
		bool copied = rc == SQLITE_ROW;
		if (copied) {
			const char *k = (const char *)sqlite3_column_text(s, 0);
			if (k != NULL && k[0] != '\0') {
				buf_append_c(&kw, ' ');
				buf_append_str(&kw, k);
			}
			rc = sqlite3_step(s);
		}
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
			r = STORE_FAIL;
			break;
		}
		if (new_uids_r != NULL)
			new_uids_r[i] = copied ? uid : 0;
		if (copied)
			uid++;
	}
	if (r == STORE_OK && uid > to.uidnext &&
	    index_bump_folder(mb, to.id, uid, modseq, error_r) < 0)
		r = STORE_FAIL;
	if (r == STORE_OK && index_folder_add_keywords(mb, pool, &to, buf_cstr(&kw), error_r) < 0)
		r = STORE_FAIL;
	struct blob_ref *refs = NULL;
	size_t nrefs = 0, removed = 0;
	if (r == STORE_OK && c->move && n > 0) {
		uint64_t ms = 0;
		r = index_folder_modseq(mb, from_folder, &ms, error_r);
		if (r == STORE_OK)
			r = index_expunge_locked(mb, from_folder, uids, n, ms + 1, &refs, &nrefs, NULL,
						 &removed, error_r);
	}
	if (r == STORE_OK && index_commit(mb, error_r) < 0)
		r = STORE_FAIL;
	if (r != STORE_OK)
		index_rollback(mb);
	mailbox_unlock(mb);
	if (uidvalidity_r != NULL)
		*uidvalidity_r = to.uidvalidity;
	pool_destroy(&pool);
	if (r == STORE_OK) {
		/* a move never drops the last reference: the copy holds it */
		free(refs);
		mailbox_notify(mb);
	} else {
		free(refs);
	}
	return r;
}
