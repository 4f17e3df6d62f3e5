#include "mx-deliver.h"
#include "lmtp-client.h"
#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set(struct mx_rcpt *r, enum mx_delivery_status st, unsigned code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set(struct mx_rcpt *r, enum mx_delivery_status st, unsigned code, const char *fmt, ...)
{
	r->status = st;
	r->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

static void deliver_local(const struct mx_deliverer *d, const char *sender, const void *msg,
			  size_t len, struct mx_rcpt **rs, struct dir_user **users, size_t n)
{
	if (d->st == NULL) {
		for (size_t i = 0; i < n; i++)
			set(rs[i], MXD_TEMP, 451, "4.3.0 this node has no store");
		return;
	}
	/* The body is shared by every recipient; Return-Path (first, as a
	 * delivery agent writes it) and the filter's lines for each copy go
	 * in front of it as that copy's prefix. */
	struct pool *pool = pool_create("deliver-local", 1024);
	struct store_delivery *sd = xcalloc(n, sizeof(*sd));
	for (size_t i = 0; i < n; i++) {
		struct buf pre;
		buf_init_pool(&pre, pool, 0);
		buf_printf(&pre, "Return-Path: <%s>\r\n", sender);
		if (rs[i]->prefix_len > 0)
			buf_append(&pre, rs[i]->prefix, rs[i]->prefix_len);
		sd[i].owner = users[i]->mailbox;
		sd[i].folder = rs[i]->folder;
		sd[i].quota = users[i]->quota;
		sd[i].prefix = pre.data;
		sd[i].prefix_len = pre.len;
	}
	store_deliver(d->st, msg, len, NULL, sd, n);
	for (size_t i = 0; i < n; i++) {
		switch (sd[i].result) {
		case STORE_OK:
			set(rs[i], MXD_OK, 250, "2.0.0 stored");
			break;
		case STORE_QUOTA:
			set(rs[i], MXD_PERM, 552, "5.2.2 mailbox full");
			break;
		case STORE_TOOBIG:
			set(rs[i], MXD_PERM, 552, "5.3.4 message too big for the mailbox");
			break;
		case STORE_NOTFOUND:
		case STORE_INVALID:
			/* a missing folder: file into INBOX instead next time */
			set(rs[i], MXD_TEMP, 451, "4.2.0 %s", sd[i].error);
			rs[i]->folder = NULL;
			break;
		default:
			set(rs[i], MXD_TEMP, 451, "4.3.0 %s", sd[i].error);
			break;
		}
	}
	free(sd);
	pool_destroy(&pool);
}

static void deliver_remote(const struct mx_deliverer *d, struct pool *pool, const char *store,
			   const char *sender, const void *msg, size_t len, struct mx_rcpt **rs,
			   size_t n)
{
	struct dir_store *ds;
	const char *err;
	int r = dir_store_lookup(d->dir, pool, store, &ds, &err);
	if (r <= 0 || ds->lmtp == NULL || ds->lmtp[0] == '\0') {
		for (size_t i = 0; i < n; i++)
			set(rs[i], MXD_TEMP, 451, "4.3.0 store %s has no LMTP address", store);
		return;
	}
	const char **addrs = pool_alloc(pool, n * sizeof(char *));
	for (size_t i = 0; i < n; i++)
		addrs[i] = rs[i]->address;
	struct lmtp_client_result *res = pool_alloc(pool, n * sizeof(*res));
	if (lmtp_client_deliver(ds->lmtp, d->lmtp_timeout_ms, d->hostname, sender, addrs, n, msg,
				len, res, &err) < 0) {
		log_warn("mx.store_unreachable", "store=%s address=%s error=%s", log_str(store),
			 log_str(ds->lmtp), log_str(err));
		for (size_t i = 0; i < n; i++) {
			if (res[i].code / 100 == 2)
				set(rs[i], MXD_OK, res[i].code, "%s", res[i].text);
			else
				set(rs[i], MXD_TEMP, 451, "4.4.1 store %s: %s", store, err);
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned c = res[i].code;
		set(rs[i], c / 100 == 2 ? MXD_OK : c / 100 == 5 ? MXD_PERM : MXD_TEMP,
		    c != 0 ? c : 451, "%s", c != 0 ? res[i].text : "4.4.2 no answer from the store");
	}
}

void mx_deliver(const struct mx_deliverer *d, const char *sender, const void *msg, size_t len,
		struct mx_rcpt *rcpts, size_t n)
{
	struct pool *pool = pool_create("mx-deliver", 4096);
	struct mx_rcpt **local = pool_alloc(pool, (n + 1) * sizeof(*local));
	struct dir_user **users = pool_alloc(pool, (n + 1) * sizeof(*users));
	size_t n_local = 0;
	const char **stores = pool_alloc(pool, (n + 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		struct dir_user *u;
		const char *err;
		int r = dir_user_lookup(d->dir, pool, rcpts[i].address, &u, &err);
		stores[i] = NULL;
		if (r < 0) {
			set(&rcpts[i], MXD_TEMP, 451, "4.3.0 directory unavailable");
		} else if (r == 0 || u->disabled) {
			set(&rcpts[i], MXD_PERM, 550, "5.1.1 <%s>: user unknown", rcpts[i].address);
		} else if (u->store == NULL) {
			local[n_local] = &rcpts[i];
			users[n_local++] = u;
		} else {
			stores[i] = u->store;
		}
	}
	if (n_local > 0)
		deliver_local(d, sender, msg, len, local, users, n_local);
	/* One LMTP transaction per remote store and per distinct prefix: a
	 * transaction carries one body, so recipients whose filter lines
	 * differ go in transactions of their own, each with its lines in
	 * front of the body. */
	for (size_t i = 0; i < n; i++) {
		if (stores[i] == NULL)
			continue;
		const char *store = stores[i];
		const struct mx_rcpt *first = &rcpts[i];
		struct mx_rcpt **group = pool_alloc(pool, n * sizeof(*group));
		size_t ng = 0;
		for (size_t k = i; k < n; k++) {
			if (stores[k] != NULL && strcmp(stores[k], store) == 0 &&
			    rcpts[k].prefix_len == first->prefix_len &&
			    (first->prefix_len == 0 ||
			     memcmp(rcpts[k].prefix, first->prefix, first->prefix_len) == 0)) {
				group[ng++] = &rcpts[k];
				stores[k] = NULL;
			}
		}
		if (first->prefix_len == 0) {
			deliver_remote(d, pool, store, sender, msg, len, group, ng);
		} else {
			struct buf m;
			buf_init_pool(&m, pool, first->prefix_len + len);
			buf_append(&m, first->prefix, first->prefix_len);
			buf_append(&m, msg, len);
			deliver_remote(d, pool, store, sender, m.data, m.len, group, ng);
		}
	}
	pool_destroy(&pool);
}
