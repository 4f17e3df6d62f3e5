/* The LMTP role: the SMTP engine with LMTP callbacks delivering into the
 * store of this node. */

#include "lmtp.h"
#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/threadpool.h"
#include "lib/util.h"
#include "smtp/smtp-server.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const struct config_key lmtp_config_keys[] = {
	{ "lmtp", "max_recipients", CONFIG_UINT, "1000", "recipients per LMTP transaction", 1, 100000 },
	{ "lmtp", "timeout", CONFIG_DURATION, "5m", "idle time allowed between commands and in DATA", 1000, 3600000 },
	{ "lmtp", "max_line_length", CONFIG_SIZE, "0", "longest line in a message (0 = no limit: lines are checked by the MX)", 0, 1ull << 20 },
	{ "lmtp", "max_errors", CONFIG_UINT, "20", "protocol errors before the session is closed", 1, 10000 },
	{ NULL }
};

struct lmtp {
	struct worker *w;
	struct smtp_server *srv;
	struct directory *dir;
	struct store *st;
	struct threadpool *pool;
	char hostname[256];
};

/* ------------------------------------------------------------------ */
/* RCPT: look the user up and check the quota on the thread pool       */

/* What an accepted recipient resolved to: the users it delivers to. */
struct lmtp_rcpt {
	struct dir_user **users;
	size_t n_users;
};

struct rcpt_job {
	struct lmtp *l;
	struct smtp_session *s;
	struct pool *pool;         /* the transaction's: the user lives there */
	const char *address;
	/* results */
	int status;                /* 0 ok, 1 unknown, 2 over quota, 3 remote, -1 tempfail */
	struct dir_user **users;
	size_t n_users;
	char error[256];
};

static void rcpt_work(void *ctx)
{
	struct rcpt_job *j = ctx;
	struct dir_resolution r;
	const char *err;
	if (dir_resolve(j->l->dir, j->pool, j->address, &r, &err) < 0) {
		j->status = -1;
		str_copy(j->error, err, sizeof(j->error));
		return;
	}
	if (r.status != DIR_RESOLVED) {
		j->status = 1;
		return;
	}
	j->users = pool_alloc(j->pool, r.n_targets * sizeof(*j->users));
	for (size_t i = 0; i < r.n_targets; i++) {
		if (r.targets[i].kind != DIR_TARGET_LOCAL || r.targets[i].user->store != NULL) {
			/* LMTP stores here; forwarding is the MX's job */
			j->status = 3;
			return;
		}
		j->users[j->n_users++] = r.targets[i].user;
	}
	/* A mailbox that is already full is refused now, not after DATA. */
	for (size_t i = 0; i < j->n_users; i++) {
		struct dir_user *u = j->users[i];
		if (u->quota == 0)
			continue;
		struct mailbox *mb;
		if (store_mailbox_open(j->l->st, u->mailbox, false, &mb, &err) != STORE_OK)
			continue; /* not created yet: empty */
		uint64_t used = 0;
		int q = mailbox_quota(mb, &used, NULL, &err);
		store_mailbox_close(&mb);
		if (q != STORE_OK) {
			j->status = -1;
			str_copy(j->error, err, sizeof(j->error));
			return;
		}
		if (used >= u->quota) {
			j->status = 2;
			return;
		}
	}
	j->status = 0;
}

static void rcpt_done(void *ctx)
{
	struct rcpt_job *j = ctx;
	struct smtp_session *s = j->s;
	if (!smtp_session_closed(s)) {
		switch (j->status) {
		case 0: {
			struct lmtp_rcpt *lr = POOL_NEW(j->pool, struct lmtp_rcpt);
			lr->users = j->users;
			lr->n_users = j->n_users;
			smtp_session_rcpt_accept(s, lr);
			break;
		}
		case 1:
			smtp_session_reply(s, 550, "5.1.1", "<%s>: user unknown", j->address);
			break;
		case 2:
			smtp_session_reply(s, 552, "5.2.2", "<%s>: mailbox full", j->address);
			break;
		case 3:
			smtp_session_reply(s, 550, "5.1.1", "<%s>: not a mailbox of this store", j->address);
			break;
		default:
			log_error("lmtp.rcpt_failed", "address=%s error=%s", log_str(j->address), log_str(j->error));
			smtp_session_reply(s, 451, "4.3.0", "<%s>: temporary failure, try again later", j->address);
			break;
		}
	}
	smtp_session_unref(&j->s);
	free(j);
}

static void lmtp_rcpt(struct smtp_session *s, struct smtp_transaction *t, struct smtp_recipient *r)
{
	struct lmtp *l = smtp_server_ctx(smtp_session_server(s));
	if (r->addr.flags & SMTP_ADDRESS_F_NULL || r->addr.domain == NULL) {
		smtp_session_reply(s, 550, "5.1.1", "User unknown");
		return;
	}
	struct rcpt_job *j = xcalloc(1, sizeof(*j));
	j->l = l;
	j->s = s;
	j->pool = t->pool;
	j->address = r->address;
	smtp_session_ref(s);
	threadpool_submit(l->pool, rcpt_work, rcpt_done, j);
}

/* ------------------------------------------------------------------ */
/* DATA: store once, append for every recipient                        */

struct data_job {
	struct lmtp *l;
	struct smtp_session *s;
	struct smtp_transaction *t;
	struct buf msg;
	struct store_blob blob;
	struct pool *cache_pool;
	struct store_cache cache;
	int blob_result;
	char blob_error[256];
	struct store_delivery *d;
	size_t n_d, pending;
	size_t *rcpt_first;   /* index into d of each SMTP recipient */
	size_t *rcpt_count;
};

struct append_job {
	struct data_job *j;
	size_t i;
};

static void data_finish(struct data_job *j);

/* The body once, then every owner's append as its own job, so that the
 * appends (each a commit with an fsync) run side by side on the pool. */
static void blob_work(void *ctx)
{
	struct data_job *j = ctx;
	const char *err;
	j->cache_pool = pool_create("cache", 4096);
	store_cache_compute(j->cache_pool, j->msg.data, j->msg.len, &j->cache);
	j->blob_result = store_blob_put(j->l->st, j->msg.data, j->msg.len, &j->blob, &err);
	if (j->blob_result != STORE_OK) {
		str_copy(j->blob_error, err, sizeof(j->blob_error));
		return;
	}
	/* one owner (the common case): append here, saving a hand-off */
	if (j->n_d == 1)
		store_deliver_blob(j->l->st, &j->blob, &j->cache, &j->d[0]);
}

static void append_work(void *ctx)
{
	struct append_job *a = ctx;
	store_deliver_blob(a->j->l->st, &a->j->blob, &a->j->cache, &a->j->d[a->i]);
}

static void append_done(void *ctx)
{
	struct append_job *a = ctx;
	struct data_job *j = a->j;
	free(a);
	if (--j->pending == 0)
		data_finish(j);
}

static void blob_done(void *ctx)
{
	struct data_job *j = ctx;
	if (j->blob_result != STORE_OK || j->n_d <= 1) {
		for (size_t i = 0; i < j->n_d && j->blob_result != STORE_OK; i++) {
			j->d[i].result = j->blob_result;
			str_copy(j->d[i].error, j->blob_error, sizeof(j->d[i].error));
		}
		data_finish(j);
		return;
	}
	j->pending = j->n_d;
	for (size_t i = 0; i < j->n_d; i++) {
		struct append_job *a = xcalloc(1, sizeof(*a));
		a->j = j;
		a->i = i;
		threadpool_submit(j->l->pool, append_work, append_done, a);
	}
}

static void data_finish(struct data_job *j)
{
	struct smtp_session *s = j->s;
	if (!smtp_session_closed(s)) {
		for (size_t i = 0; i < j->t->n_rcpts; i++) {
			/* an alias reaching several users: the worst result wins */
			int worst = STORE_OK;
			const char *err = "";
			for (size_t k = 0; k < j->rcpt_count[i]; k++) {
				struct store_delivery *d = &j->d[j->rcpt_first[i] + k];
				if (d->result != STORE_OK && (worst == STORE_OK || d->result == STORE_FAIL)) {
					worst = d->result;
					err = d->error;
				}
			}
			const char *addr = j->t->rcpts[i].address;
			if (worst == STORE_OK) {
				log_info("lmtp.delivered", "session=%s tx=%s to=%s size=%zu", smtp_session_id(s),
					 j->t->id, log_str(addr), j->msg.len);
				smtp_session_data_reply(s, i, 250, "2.0.0", "<%s> Saved", addr);
			} else if (worst == STORE_QUOTA) {
				smtp_session_data_reply(s, i, 552, "5.2.2", "<%s> Mailbox full", addr);
			} else if (worst == STORE_TOOBIG) {
				smtp_session_data_reply(s, i, 552, "5.3.4", "<%s> Message too big", addr);
			} else if (worst == STORE_NOTFOUND) {
				smtp_session_data_reply(s, i, 550, "5.2.0", "<%s> Folder missing", addr);
			} else {
				log_error("lmtp.store_failed", "session=%s tx=%s to=%s error=%s", smtp_session_id(s),
					  j->t->id, log_str(addr), log_str(err));
				smtp_session_data_reply(s, i, 451, "4.3.0", "<%s> Temporary failure, try again", addr);
			}
		}
		smtp_session_data_done(s);
	}
	buf_free(&j->msg);
	pool_destroy(&j->cache_pool);
	free(j->d);
	free(j->rcpt_first);
	free(j->rcpt_count);
	smtp_session_unref(&j->s);
	free(j);
}

static void add_trace_headers(struct lmtp *l, struct smtp_session *s, struct smtp_transaction *t,
			      struct buf *out)
{
	struct buf from;
	buf_init(&from, 0);
	smtp_address_write_path(&from, &t->mail_from);
	buf_printf(out, "Return-Path: %s\r\n", buf_cstr(&from));
	buf_free(&from);
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	const char *helo = smtp_session_helo(s);
	buf_printf(out, "Received: from %s ([%s])\r\n\tby %s (ombu) with LMTP id %s", helo != NULL ? helo : "unknown",
		   smtp_session_peer_ip(s), l->hostname, t->id);
	/* "for" only for one recipient: the blob is shared by all of them */
	if (t->n_rcpts == 1)
		buf_printf(out, "\r\n\tfor <%s>", t->rcpts[0].address);
	buf_printf(out, "; %s\r\n", date);
}

static void lmtp_data(struct smtp_session *s, struct smtp_transaction *t)
{
	struct lmtp *l = smtp_server_ctx(smtp_session_server(s));
	struct data_job *j = xcalloc(1, sizeof(*j));
	j->l = l;
	j->s = s;
	j->t = t;
	buf_init(&j->msg, 0);
	add_trace_headers(l, s, t, &j->msg);
	buf_append(&j->msg, t->body.data, t->body.len);
	/* one delivery per final user */
	j->rcpt_first = xcalloc(t->n_rcpts, sizeof(size_t));
	j->rcpt_count = xcalloc(t->n_rcpts, sizeof(size_t));
	for (size_t i = 0; i < t->n_rcpts; i++)
		j->n_d += ((struct lmtp_rcpt *)t->rcpts[i].ctx)->n_users;
	j->d = xcalloc(j->n_d ? j->n_d : 1, sizeof(*j->d));
	size_t k = 0;
	for (size_t i = 0; i < t->n_rcpts; i++) {
		const struct lmtp_rcpt *lr = t->rcpts[i].ctx;
		j->rcpt_first[i] = k;
		j->rcpt_count[i] = lr->n_users;
		for (size_t u = 0; u < lr->n_users; u++, k++) {
			j->d[k].owner = lr->users[u]->mailbox;
			j->d[k].quota = lr->users[u]->quota;
		}
	}
	smtp_session_ref(s);
	threadpool_submit(l->pool, blob_work, blob_done, j);
}

static void lmtp_connect(struct smtp_session *s)
{
	smtp_session_greet(s);
}

static const struct smtp_server_callbacks lmtp_callbacks = {
	.connect = lmtp_connect,
	.rcpt = lmtp_rcpt,
	.data = lmtp_data,
};

/* ------------------------------------------------------------------ */
/* The service                                                          */

static void *lmtp_init(struct worker *w, const char **error_r)
{
	const struct config *cfg = worker_config(w);
	struct lmtp *l = xcalloc(1, sizeof(*l));
	l->w = w;
	l->pool = worker_pool(w);
	l->dir = directory_worker(w, error_r);
	l->st = l->dir != NULL ? store_worker(w, error_r) : NULL;
	if (l->st == NULL) {
		free(l);
		return NULL;
	}
	str_copy(l->hostname, worker_hostname(w), sizeof(l->hostname));
	struct smtp_server_settings set = {
		.protocol = SMTP_PROTOCOL_LMTP,
		.name = "lmtp",
		.hostname = l->hostname,
		.max_command_line = 4096,
		.max_text_line = config_size(cfg, "lmtp", "max_line_length"),
		.max_message_size = store_max_message_size(l->st),
		.max_recipients = (unsigned)config_uint(cfg, "lmtp", "max_recipients"),
		.max_errors = (unsigned)config_uint(cfg, "lmtp", "max_errors"),
		.timeout_ms = config_ms(cfg, "lmtp", "timeout"),
		.caps = SMTP_CAP_SIZE | SMTP_CAP_8BITMIME | SMTP_CAP_SMTPUTF8 | SMTP_CAP_CHUNKING |
			SMTP_CAP_BINARYMIME | SMTP_CAP_DSN,
		.enhanced_codes = true,
		.require_helo = true,
	};
	l->srv = smtp_server_create(worker_loop(w), &set, &lmtp_callbacks, l);
	return l;
}

static void lmtp_accept(void *ctx, struct conn *c)
{
	struct lmtp *l = ctx;
	smtp_server_accept(l->srv, c);
}

static void lmtp_stop(void *ctx)
{
	struct lmtp *l = ctx;
	smtp_server_stop(l->srv);
}

static void lmtp_deinit(void *ctx)
{
	struct lmtp *l = ctx;
	smtp_server_destroy(&l->srv);
	free(l);
}

const struct service lmtp_service = {
	.name = "lmtp",
	.init = lmtp_init,
	.accept = lmtp_accept,
	.stop = lmtp_stop,
	.deinit = lmtp_deinit,
};
