/* The maildrop: a snapshot of INBOX taken at login under the mailbox's
 * exclusive POP3 lock, its UIDLs, and the UPDATE state's expunge. */

#include "pop3-private.h"
#include "lib/hash.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pop3_uidl_derive(char *dst, size_t size, uint32_t uidvalidity, uint32_t uid)
{
	snprintf(dst, size, "ombu.%u.%u", uidvalidity, uid);
}

struct collect {
	struct pop3_maildrop *md;
	const char **kept;
	size_t cap;
};

static int collect_message(const struct store_message *m, void *ctx)
{
	struct collect *c = ctx;
	struct pop3_maildrop *md = c->md;
	if (md->n == c->cap) {
		c->cap = c->cap == 0 ? 32 : c->cap * 2;
		md->msgs = xrealloc(md->msgs, c->cap * sizeof(*md->msgs));
		c->kept = xrealloc(c->kept, c->cap * sizeof(*c->kept));
	}
	struct pop3_msg *pm = &md->msgs[md->n];
	memset(pm, 0, sizeof(*pm));
	pm->uid = m->uid;
	pm->size = m->size;
	pm->blob = pool_strdup(md->pool, m->blob);
	pm->blob_file = m->blob_file;
	if (m->prefix_len > 0) {
		pm->prefix = pool_memdup(md->pool, m->prefix, m->prefix_len);
		pm->prefix_len = m->prefix_len;
	}
	/* the kept UIDL lives in the caller's scratch pool until assigned */
	c->kept[md->n] = m->pop3_uidl;
	md->bytes += m->size;
	md->n++;
	return 0;
}

/* A kept UIDL as it will be shown: trailing blanks of the header line
 * it came from dropped, then checked against RFC 1939's syntax. */
static bool kept_usable(const char *k, size_t *len_r)
{
	if (k == NULL)
		return false;
	size_t len = strlen(k);
	while (len > 0 && (k[len - 1] == ' ' || k[len - 1] == '\t'))
		len--;
	*len_r = len;
	return pop3_uidl_valid(k, len);
}

void pop3_maildrop_assign_uidls(struct pop3_maildrop *md, const char *const *kept)
{
	/* Derived UIDLs are "ombu.<V>.<UID>" with V this INBOX's
	 * UIDVALIDITY.  A kept UIDL that starts with "ombu.<V>." could equal
	 * one of them, so such a one is never used; any other kept UIDL
	 * (even "ombu.<other V>.<n>" from a previous ombu) cannot collide. */
	char reserved[32];
	size_t rlen = (size_t)snprintf(reserved, sizeof(reserved), "ombu.%u.", md->uidvalidity);
	struct hash *seen = NULL;
	for (size_t i = 0; i < md->n; i++) {
		struct pop3_msg *m = &md->msgs[i];
		size_t len = 0;
		const char *k = kept != NULL ? kept[i] : NULL;
		bool use = kept_usable(k, &len) && !(len >= rlen && memcmp(k, reserved, rlen) == 0);
		if (use) {
			/* two messages imported with the same X-UIDL: the one
			 * with the lower UID keeps it */
			if (seen == NULL)
				seen = hash_create(md->n * 2);
			if (hash_get(seen, k, len) != NULL)
				use = false;
			else
				hash_put(seen, k, len, m);
		}
		if (use) {
			m->uidl = pool_strndup(md->pool, k, len);
		} else {
			char d[64];
			pop3_uidl_derive(d, sizeof(d), md->uidvalidity, m->uid);
			m->uidl = pool_strdup(md->pool, d);
		}
	}
	if (seen != NULL)
		hash_destroy(&seen);
}

enum pop3_open_result pop3_maildrop_open(struct store *st, const char *owner,
					 struct pop3_maildrop **md_r, const char **error_r)
{
	struct mailbox *mb;
	*md_r = NULL;
	/* a user who never got mail has no mailbox yet: create it */
	if (store_mailbox_open(st, owner, true, &mb, error_r) != STORE_OK)
		return POP3_OPEN_FAIL;
	int fd = -1;
	int r = mailbox_exclusive_lock(mb, "pop3", &fd, error_r);
	if (r != STORE_OK) {
		store_mailbox_close(&mb);
		return r == STORE_EXISTS ? POP3_OPEN_IN_USE : POP3_OPEN_FAIL;
	}
	/* The snapshot is read under the lock, so it never sees half of
	 * another session's UPDATE (which runs before that one unlocks). */
	struct pool *tmp = pool_create("pop3-snapshot", 4096);
	struct pop3_maildrop *md = xcalloc(1, sizeof(*md));
	md->pool = pool_create("pop3-maildrop", 1024);
	md->owner = xstrdup(owner);
	md->lock_fd = fd;
	struct store_folder f;
	struct collect c = { .md = md };
	r = mailbox_folder_get(mb, tmp, "INBOX", &f, error_r);
	if (r == STORE_OK) {
		md->folder_id = f.id;
		md->uidvalidity = f.uidvalidity;
		r = mailbox_messages(mb, tmp, f.id, 1, UINT32_MAX, collect_message, &c, error_r);
	}
	store_mailbox_close(&mb);
	if (r != STORE_OK) {
		free(c.kept);
		pool_destroy(&tmp);
		pop3_maildrop_free(&md);
		return POP3_OPEN_FAIL;
	}
	pop3_maildrop_assign_uidls(md, c.kept);
	free(c.kept);
	pool_destroy(&tmp);
	*md_r = md;
	return POP3_OPEN_OK;
}

void pop3_maildrop_free(struct pop3_maildrop **mdp)
{
	struct pop3_maildrop *md = *mdp;
	if (md == NULL)
		return;
	*mdp = NULL;
	mailbox_exclusive_unlock(&md->lock_fd);
	free(md->msgs);
	free(md->owner);
	pool_destroy(&md->pool);
	free(md);
}

struct pop3_msg *pop3_maildrop_get(struct pop3_maildrop *md, uint64_t n)
{
	if (md == NULL || n == 0 || n > md->n)
		return NULL;
	return &md->msgs[n - 1];
}

int pop3_maildrop_update(struct store *st, struct pop3_maildrop *md, const char **error_r)
{
	if (md->n_deleted == 0)
		return 0;
	uint32_t *uids = xmalloc(md->n_deleted * sizeof(*uids));
	size_t n = 0;
	for (size_t i = 0; i < md->n; i++) {
		if (md->msgs[i].deleted)
			uids[n++] = md->msgs[i].uid;
	}
	struct mailbox *mb;
	int r = store_mailbox_open(st, md->owner, false, &mb, error_r);
	if (r == STORE_OK) {
		/* one transaction: all of them or none */
		r = mailbox_expunge(mb, md->folder_id, uids, n, error_r);
		store_mailbox_close(&mb);
	}
	free(uids);
	return r == STORE_OK ? 0 : -1;
}
