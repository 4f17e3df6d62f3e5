/* The MX queue: see mx-queue.h. */

#include "mx-queue.h"
#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/hash.h"
#include "lib/ioloop.h"
#include "lib/log.h"
#include "lib/master.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/threadpool.h"
#include "lib/util.h"
#include "proto/smtp-proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_JOBS_PER_WORKER 8

const struct config_key queue_config_keys[] = {
	{ "queue", "path", CONFIG_PATH, "queue", "where queued mail waits (fsynced; keep it on a durable disk)" },
	{ "queue", "scan_interval", CONFIG_DURATION, "5s", "how often each worker looks for due entries", 100, 3600000 },
	{ "queue", "retry_min", CONFIG_DURATION, "1m", "first retry delay; doubles with each attempt", 100, 86400000 },
	{ "queue", "retry_max", CONFIG_DURATION, "1h", "longest retry delay", 100, 86400000 },
	{ "queue", "max_age", CONFIG_DURATION, "5d", "after this, undelivered recipients are bounced", 1000, 31536000000ull },
	{ "queue", "lmtp_timeout", CONFIG_DURATION, "2m", "time allowed for one LMTP delivery to a store", 1000, 3600000 },
	{ NULL }
};

struct mx_queue {
	struct worker *w;
	struct ioloop *loop;
	struct threadpool *pool;
	const struct mx_deliverer *d;
	char *dir;        /* queue.path */
	char *mxdir;      /* queue.path/mx */
	char hostname[256];
	uint64_t retry_min_ms, retry_max_ms, max_age_ms;
	struct timer *timer;
	struct hash *busy; /* ids being delivered by this worker */
	unsigned jobs;
};

/* ------------------------------------------------------------------ */
/* Files                                                               */

static int write_atomic(const char *dir, const char *name, const void *data, size_t len,
			const char **error_r)
{
	static __thread char msg[300];
	char path[4096], tmp[4200];
	unsigned char rnd[6];
	random_bytes(rnd, sizeof(rnd));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1],
		     rnd[2], rnd[3], rnd[4], rnd[5]) >= (int)sizeof(tmp)) {
		*error_r = "queue path too long";
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "cannot create %s: %s", tmp, strerror(errno));
		*error_r = msg;
		return -1;
	}
	const char *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(msg, sizeof(msg), "cannot write %s: %s", tmp, strerror(errno));
			*error_r = msg;
			close(fd);
			unlink(tmp);
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(msg, sizeof(msg), "cannot save %s: %s", path, strerror(errno));
		*error_r = msg;
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

static int read_file(const char *path, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char chunk[65536];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(out, chunk, (size_t)n);
	close(fd);
	return n < 0 ? -1 : 0;
}

static void make_id(char id[40])
{
	unsigned char rnd[6];
	random_bytes(rnd, sizeof(rnd));
	snprintf(id, 40, "%llx%02x%02x%02x%02x%02x%02x", (unsigned long long)time(NULL), rnd[0],
		 rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
}

struct rcpt_state {
	unsigned attempts;
	int64_t next;
	char error[256];
	char **rcpts;
	unsigned *notify;
	char **orcpt;   /* NULL entries when none */
	size_t n;
};

static void state_add(struct rcpt_state *s, const char *addr, unsigned notify, const char *orcpt)
{
	s->rcpts = xrealloc(s->rcpts, (s->n + 1) * sizeof(char *));
	s->notify = xrealloc(s->notify, (s->n + 1) * sizeof(unsigned));
	s->orcpt = xrealloc(s->orcpt, (s->n + 1) * sizeof(char *));
	s->rcpts[s->n] = xstrdup(addr);
	s->notify[s->n] = notify;
	s->orcpt[s->n] = orcpt != NULL ? xstrdup(orcpt) : NULL;
	s->n++;
}

static void state_free(struct rcpt_state *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->rcpts[i]);
		free(s->orcpt[i]);
	}
	free(s->rcpts);
	free(s->notify);
	free(s->orcpt);
	memset(s, 0, sizeof(*s));
}

static int state_read(const char *dir, const char *id, struct rcpt_state *s)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.rcpt", dir, id);
	struct buf b;
	buf_init(&b, 1 << 20);
	memset(s, 0, sizeof(*s));
	if (read_file(path, &b) < 0) {
		buf_free(&b);
		return -1;
	}
	char *save = NULL;
	for (char *line = strtok_r(b.data != NULL ? b.data : (char[]){ 0 }, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		uint64_t v;
		if (str_has_prefix(line, "attempts ") && num_parse_u64(line + 9, &v) == 0)
			s->attempts = (unsigned)v;
		else if (str_has_prefix(line, "next ") && num_parse_u64(line + 5, &v) == 0)
			s->next = (int64_t)v;
		else if (str_has_prefix(line, "error "))
			str_copy(s->error, line + 6, sizeof(s->error));
		else if (str_has_prefix(line, "rcpt ")) {
			/* "rcpt ADDRESS [NOTIFY-BITS [ORCPT-XTEXT]]" */
			char *addr = line + 5, *sp = strchr(addr, ' ');
			unsigned notify = 0;
			const char *orcpt = NULL;
			if (sp != NULL) {
				*sp = '\0';
				char *rest = sp + 1, *sp2 = strchr(rest, ' ');
				if (sp2 != NULL) {
					*sp2 = '\0';
					if (strcmp(sp2 + 1, "-") != 0)
						orcpt = sp2 + 1;
				}
				notify = (unsigned)strtoul(rest, NULL, 10);
			}
			state_add(s, addr, notify, orcpt);
		}
	}
	buf_free(&b);
	return 0;
}

static int state_write(const char *dir, const char *id, const struct rcpt_state *s,
		       const char **error_r)
{
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "attempts %u\nnext %lld\n", s->attempts, (long long)s->next);
	if (s->error[0] != '\0') {
		char clean[256];
		str_copy(clean, s->error, sizeof(clean));
		for (char *p = clean; *p != '\0'; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		buf_printf(&b, "error %s\n", clean);
	}
	for (size_t i = 0; i < s->n; i++) {
		buf_printf(&b, "rcpt %s %u ", s->rcpts[i], s->notify != NULL ? s->notify[i] : 0);
		if (s->orcpt != NULL && s->orcpt[i] != NULL)
			smtp_params_xtext_encode(&b, s->orcpt[i], strlen(s->orcpt[i]));
		else
			buf_append_c(&b, '-');
		buf_append_c(&b, '\n');
	}
	char name[64];
	snprintf(name, sizeof(name), "%s.rcpt", id);
	int r = write_atomic(dir, name, b.data, b.len, error_r);
	buf_free(&b);
	if (r == 0)
		dir_sync(dir);
	return r;
}

/* Envelope of a .msg file; *body_r points into b. */
static int msg_parse(struct buf *b, const char **sender_r, int64_t *created_r,
		     const char **envid_r, const char **body_r, size_t *len_r)
{
	if (b->len < 14 || memcmp(b->data, "OMBU-QUEUE 1\n", 13) != 0)
		return -1;
	char *end = strstr(b->data, "\n\n");
	if (end == NULL)
		return -1;
	*end = '\0';
	*sender_r = "";
	*created_r = 0;
	*envid_r = NULL;
	char *save = NULL;
	for (char *line = strtok_r(b->data + 13, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		uint64_t v;
		if (str_has_prefix(line, "sender "))
			*sender_r = line + 7;
		else if (str_has_prefix(line, "created ") && num_parse_u64(line + 8, &v) == 0)
			*created_r = (int64_t)v;
		else if (str_has_prefix(line, "envid "))
			*envid_r = line + 6;
	}
	*body_r = end + 2;
	*len_r = b->len - (size_t)(end + 2 - b->data);
	return 0;
}

static int put_in(const char *dir, const char *sender, const char *envid,
		  const struct mx_rcpt *rcpts, size_t n, const void *msg, size_t len, char id_r[40],
		  const char **error_r)
{
	static __thread char ebuf[300];
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		snprintf(ebuf, sizeof(ebuf), "cannot create %s: %s", dir, strerror(errno));
		*error_r = ebuf;
		return -1;
	}
	make_id(id_r);
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "OMBU-QUEUE 1\nsender %s\ncreated %lld\n", sender, (long long)time(NULL));
	if (envid != NULL && envid[0] != '\0') {
		buf_append_str(&b, "envid ");
		smtp_params_xtext_encode(&b, envid, strlen(envid));
		buf_append_c(&b, '\n');
	}
	buf_append_c(&b, '\n');
	buf_append(&b, msg, len);
	char name[64];
	snprintf(name, sizeof(name), "%s.msg", id_r);
	int r = write_atomic(dir, name, b.data, b.len, error_r);
	buf_free(&b);
	if (r < 0)
		return -1;
	struct rcpt_state s = { .attempts = 0, .next = 0 };
	for (size_t i = 0; i < n; i++)
		state_add(&s, rcpts[i].address, rcpts[i].notify, rcpts[i].orcpt);
	/* the .rcpt file makes the entry exist: written last */
	r = state_write(dir, id_r, &s, error_r);
	state_free(&s);
	if (r < 0) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.msg", dir, id_r);
		unlink(path);
		return -1;
	}
	return 0;
}

int mx_queue_put(const char *queue_dir, const char *sender, const char *envid,
		 const struct mx_rcpt *rcpts, size_t n, const void *msg, size_t len,
		 char id_r[40], const char **error_r)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/mx", queue_dir);
	return put_in(dir, sender, envid, rcpts, n, msg, len, id_r, error_r);
}

/* ------------------------------------------------------------------ */
/* Bounces                                                             */

static const char *enhanced_of(const char *text, char *out, size_t size)
{
	if (text[0] >= '2' && text[0] <= '5' && text[1] == '.') {
		size_t n = strcspn(text, " ");
		if (n < size) {
			memcpy(out, text, n);
			out[n] = '\0';
			return out;
		}
	}
	return "5.0.0";
}

static void append_headers_of(struct buf *b, const char *msg, size_t len)
{
	const char *end = NULL;
	for (size_t i = 0; i + 3 < len; i++) {
		if (memcmp(msg + i, "\r\n\r\n", 4) == 0) {
			end = msg + i + 2;
			break;
		}
	}
	size_t hl = end != NULL ? (size_t)(end - msg) : MIN(len, (size_t)65536);
	buf_append(b, msg, MIN(hl, (size_t)65536));
}

/* NOTIFY given without FAILURE (NEVER, or SUCCESS/DELAY only): the
 * sender asked for no failure report for that recipient. */
static bool wants_failure_dsn(unsigned notify)
{
	return notify == 0 || (notify & SMTP_NOTIFY_FAILURE) != 0;
}

void mx_queue_bounce(const struct mx_deliverer *d, const char *queue_dir, const char *hostname,
		     const char *sender, const char *envid, const void *msg, size_t len,
		     const struct mx_rcpt *all_failed, size_t n_all)
{
	size_t n = 0;
	struct mx_rcpt *failed = xcalloc(n_all ? n_all : 1, sizeof(*failed));
	for (size_t i = 0; i < n_all; i++) {
		if (wants_failure_dsn(all_failed[i].notify))
			failed[n++] = all_failed[i];
	}
	if (sender == NULL || sender[0] == '\0' || n == 0) {
		log_info("mx.bounce_dropped", "reason=%s recipients=%zu",
			 n == 0 && n_all > 0 ? "NOTIFY" : "\"null sender\"", n_all);
		free(failed);
		return;
	}
	char id[40], date[64], boundary[64], enh[32];
	make_id(id);
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	snprintf(boundary, sizeof(boundary), "%s/%s", id, hostname);
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\nTo: <%s>\r\n"
		       "Subject: Undelivered Mail Returned to Sender\r\nDate: %s\r\n"
		       "Message-ID: <%s@%s>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
		       "Content-Type: multipart/report; report-type=delivery-status;\r\n"
		       "\tboundary=\"%s\"\r\n\r\nThis is a MIME-encapsulated message.\r\n\r\n"
		       "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
		       "This is the mail system at host %s.\r\n\r\n"
		       "Your message could not be delivered to one or more recipients:\r\n\r\n",
		   hostname, sender, date, id, hostname, boundary, boundary, hostname);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "<%s>: %u %s\r\n", failed[i].address, failed[i].code, failed[i].text);
	buf_printf(&b, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n\r\n"
		       "Reporting-MTA: dns; %s\r\n", boundary, hostname);
	if (envid != NULL && envid[0] != '\0') {
		buf_append_str(&b, "Original-Envelope-Id: ");
		smtp_params_xtext_encode(&b, envid, strlen(envid));
		buf_append_str(&b, "\r\n");
	}
	for (size_t i = 0; i < n; i++) {
		buf_append_str(&b, "\r\n");
		if (failed[i].orcpt != NULL) {
			buf_append_str(&b, "Original-Recipient: rfc822; ");
			smtp_params_xtext_encode(&b, failed[i].orcpt, strlen(failed[i].orcpt));
			buf_append_str(&b, "\r\n");
		}
		buf_printf(&b, "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\n"
			       "Diagnostic-Code: smtp; %u %s\r\n", failed[i].address,
			   enhanced_of(failed[i].text, enh, sizeof(enh)), failed[i].code, failed[i].text);
	}
	buf_printf(&b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary);
	append_headers_of(&b, msg, len);
	buf_printf(&b, "\r\n--%s--\r\n", boundary);

	const char *at = strrchr(sender, '@');
	const char *err;
	int local = at != NULL ? dir_domain_is_local(d->dir, at + 1, &err) : 0;
	char qid[40], dir[4096];
	struct mx_rcpt rcpt = { .address = sender };
	if (local == 1) {
		/* into the MX queue with a null sender: delivered (or dropped) like any mail */
		if (mx_queue_put(queue_dir, "", NULL, &rcpt, 1, b.data, b.len, qid, &err) < 0)
			log_error("mx.bounce_failed", "to=%s error=%s", log_str(sender), log_str(err));
		else
			log_info("mx.bounce", "to=%s queue_id=%s recipients=%zu", log_str(sender), qid, n);
	} else {
		snprintf(dir, sizeof(dir), "%s/outbound", queue_dir);
		if (put_in(dir, "", NULL, &rcpt, 1, b.data, b.len, qid, &err) < 0)
			log_error("mx.bounce_failed", "to=%s error=%s", log_str(sender), log_str(err));
		else
			log_info("mx.bounce", "to=%s outbound_id=%s recipients=%zu note=\"waits for the outbound queue\"",
				 log_str(sender), qid, n);
	}
	buf_free(&b);
	free(failed);
}

/* ------------------------------------------------------------------ */
/* The runner                                                          */

struct run_job {
	struct mx_queue *q;
	char id[40];
	int fd;             /* the locked .msg */
	bool done;
};

static uint64_t backoff_ms(const struct mx_queue *q, unsigned attempts)
{
	uint64_t d = q->retry_min_ms;
	for (unsigned i = 1; i < attempts && d < q->retry_max_ms; i++)
		d *= 2;
	return MIN(d, q->retry_max_ms);
}

static void remove_entry(const char *dir, const char *id)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.rcpt", dir, id);
	unlink(path);
	dir_sync(dir);
	snprintf(path, sizeof(path), "%s/%s.msg", dir, id);
	unlink(path);
	dir_sync(dir);
}

static void run_work(void *ctx)
{
	struct run_job *j = ctx;
	struct mx_queue *q = j->q;
	struct rcpt_state s;
	if (state_read(q->mxdir, j->id, &s) < 0)
		return; /* deleted meanwhile */
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.msg", q->mxdir, j->id);
	struct buf b;
	buf_init(&b, 0);
	const char *sender, *body, *envid_x;
	int64_t created;
	size_t blen;
	if (read_file(path, &b) < 0 || msg_parse(&b, &sender, &created, &envid_x, &body, &blen) < 0) {
		log_error("mx.queue_corrupt", "id=%s", j->id);
		buf_free(&b);
		state_free(&s);
		return;
	}
	struct pool *xp = pool_create("queue-run", 512);
	const char *envid = NULL;
	if (envid_x != NULL)
		smtp_params_xtext_decode(xp, envid_x, strlen(envid_x), &envid);
	struct mx_rcpt *r = xcalloc(s.n ? s.n : 1, sizeof(*r));
	for (size_t i = 0; i < s.n; i++) {
		r[i].address = s.rcpts[i];
		r[i].notify = s.notify[i];
		if (s.orcpt[i] != NULL)
			smtp_params_xtext_decode(xp, s.orcpt[i], strlen(s.orcpt[i]), &r[i].orcpt);
	}
	bool expired = (uint64_t)(time(NULL) - created) * 1000 >= q->max_age_ms;
	if (!expired)
		mx_deliver(q->d, sender, body, blen, r, s.n);
	struct rcpt_state left = { .attempts = s.attempts + 1 };
	struct mx_rcpt *failed = xcalloc(s.n ? s.n : 1, sizeof(*failed));
	size_t nf = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (expired) {
			failed[nf] = r[i];
			failed[nf].code = 421;
			snprintf(failed[nf].text, sizeof(failed[nf].text),
				 "4.4.7 delivery time expired; last error: %s", s.error);
			nf++;
		} else if (r[i].status == MXD_OK) {
			log_info("mx.queue_delivered", "id=%s to=%s attempts=%u", j->id, log_str(r[i].address),
				 left.attempts);
		} else if (r[i].status == MXD_PERM) {
			failed[nf++] = r[i];
		} else {
			state_add(&left, r[i].address, r[i].notify, r[i].orcpt);
			str_copy(left.error, r[i].text, sizeof(left.error));
		}
	}
	if (nf > 0)
		mx_queue_bounce(q->d, q->dir, q->hostname, sender, envid, body, blen, failed, nf);
	const char *err;
	if (left.n == 0) {
		remove_entry(q->mxdir, j->id);
	} else {
		left.next = time(NULL) + (int64_t)(backoff_ms(q, left.attempts) / 1000);
		if (state_write(q->mxdir, j->id, &left, &err) < 0)
			log_error("mx.queue_write_failed", "id=%s error=%s", j->id, log_str(err));
		log_info("mx.queue_deferred", "id=%s recipients=%zu attempts=%u next_in=%llus error=%s",
			 j->id, left.n, left.attempts,
			 (unsigned long long)(backoff_ms(q, left.attempts) / 1000), log_str(left.error));
	}
	free(r);
	free(failed);
	state_free(&left);
	state_free(&s);
	buf_free(&b);
	pool_destroy(&xp);
}

static void run_done(void *ctx)
{
	struct run_job *j = ctx;
	struct mx_queue *q = j->q;
	close(j->fd);
	hash_remove(q->busy, j->id, strlen(j->id));
	q->jobs--;
	free(j);
}

static void scan(void *ctx)
{
	struct mx_queue *q = ctx;
	if (worker_stopping(q->w))
		return;
	DIR *d = opendir(q->mxdir);
	if (d == NULL)
		return;
	int64_t now = time(NULL);
	struct dirent *de;
	while (q->jobs < QUEUE_JOBS_PER_WORKER && (de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 6 || l > 45 || strcmp(de->d_name + l - 5, ".rcpt") != 0)
			continue;
		char id[40];
		memcpy(id, de->d_name, l - 5);
		id[l - 5] = '\0';
		if (hash_get_str(q->busy, id) != NULL)
			continue;
		struct rcpt_state s;
		if (state_read(q->mxdir, id, &s) < 0)
			continue;
		bool due = s.next <= now;
		state_free(&s);
		if (!due)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.msg", q->mxdir, id);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd); /* another worker has it */
			continue;
		}
		struct run_job *j = xcalloc(1, sizeof(*j));
		j->q = q;
		j->fd = fd;
		str_copy(j->id, id, sizeof(j->id));
		hash_put(q->busy, id, strlen(id), j);
		q->jobs++;
		threadpool_submit(q->pool, run_work, run_done, j);
	}
	closedir(d);
}

struct mx_queue *mx_queue_create(struct worker *w, const struct mx_deliverer *d,
				 const char **error_r)
{
	static __thread char msg[300];
	const struct config *cfg = worker_config(w);
	struct mx_queue *q = xcalloc(1, sizeof(*q));
	q->w = w;
	q->loop = worker_loop(w);
	q->pool = worker_pool(w);
	q->d = d;
	q->dir = xstrdup(config_path_value(cfg, "queue", "path"));
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s/mx", q->dir);
	q->mxdir = buf_steal(&b, NULL);
	str_copy(q->hostname, d->hostname, sizeof(q->hostname));
	q->retry_min_ms = config_ms(cfg, "queue", "retry_min");
	q->retry_max_ms = config_ms(cfg, "queue", "retry_max");
	q->max_age_ms = config_ms(cfg, "queue", "max_age");
	q->busy = hash_create(16);
	if ((mkdir(q->dir, 0750) < 0 && errno != EEXIST) ||
	    (mkdir(q->mxdir, 0750) < 0 && errno != EEXIST)) {
		snprintf(msg, sizeof(msg), "cannot create %s: %s", q->mxdir, strerror(errno));
		*error_r = msg;
		mx_queue_destroy(&q);
		return NULL;
	}
	q->timer = timer_add(q->loop, config_ms(cfg, "queue", "scan_interval"), true, scan, q);
	return q;
}

void mx_queue_destroy(struct mx_queue **qp)
{
	struct mx_queue *q = *qp;
	if (q == NULL)
		return;
	*qp = NULL;
	timer_remove(&q->timer);
	hash_destroy(&q->busy);
	free(q->dir);
	free(q->mxdir);
	free(q);
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */

static int list_dir(const char *queue_dir, const char *which,
		    void (*fn)(const struct mx_queue_entry *e, void *ctx), void *ctx)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/%s", queue_dir, which);
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 6 || l > 45 || strcmp(de->d_name + l - 5, ".rcpt") != 0)
			continue;
		char id[40], path[4096];
		memcpy(id, de->d_name, l - 5);
		id[l - 5] = '\0';
		struct rcpt_state s;
		if (state_read(dir, id, &s) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s.msg", dir, id);
		struct buf b;
		buf_init(&b, 0);
		const char *sender = "?", *body = NULL, *envid = NULL;
		int64_t created = 0;
		size_t blen = 0;
		if (read_file(path, &b) == 0)
			msg_parse(&b, &sender, &created, &envid, &body, &blen);
		struct mx_queue_entry e = {
			.id = id, .queue = which, .sender = sender,
			.rcpts = (const char *const *)s.rcpts, .n_rcpts = s.n, .size = blen,
			.created = created, .next = s.next, .attempts = s.attempts,
			.last_error = s.error,
		};
		fn(&e, ctx);
		buf_free(&b);
		state_free(&s);
	}
	closedir(d);
	return 0;
}

int mx_queue_list(const char *queue_dir, void (*fn)(const struct mx_queue_entry *e, void *ctx),
		  void *ctx, const char **error_r)
{
	(void)error_r;
	list_dir(queue_dir, "mx", fn, ctx);
	list_dir(queue_dir, "outbound", fn, ctx);
	return 0;
}

static int lock_entry(const char *dir, const char *id)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.msg", dir, id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -2;
	}
	return fd;
}

int mx_queue_flush(const char *queue_dir, size_t *n_r, const char **error_r)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/mx", queue_dir);
	*n_r = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	struct dirent *de;
	int ret = 0;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 6 || l > 45 || strcmp(de->d_name + l - 5, ".rcpt") != 0)
			continue;
		char id[40];
		memcpy(id, de->d_name, l - 5);
		id[l - 5] = '\0';
		int fd = lock_entry(dir, id);
		if (fd == -2) {
			(*n_r)++; /* being delivered right now */
			continue;
		}
		if (fd < 0)
			continue;
		struct rcpt_state s;
		if (state_read(dir, id, &s) == 0) {
			s.next = 0;
			if (state_write(dir, id, &s, error_r) < 0)
				ret = -1;
			else
				(*n_r)++;
			state_free(&s);
		}
		close(fd);
	}
	closedir(d);
	return ret;
}

int mx_queue_delete(const char *queue_dir, const char *id, const char **error_r)
{
	static __thread char msg[200];
	for (const char *p = id; *p != '\0'; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
			*error_r = "a queue id is hexadecimal; see 'ombu queue list'";
			return -1;
		}
	}
	static const char *const which[] = { "mx", "outbound" };
	for (size_t i = 0; i < N_ELEMENTS(which); i++) {
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s/%s", queue_dir, which[i]);
		int fd = lock_entry(dir, id);
		if (fd == -2) {
			snprintf(msg, sizeof(msg), "%s is being delivered right now; try again", id);
			*error_r = msg;
			return -1;
		}
		if (fd < 0)
			continue;
		remove_entry(dir, id);
		close(fd);
		return 0;
	}
	snprintf(msg, sizeof(msg), "no queue entry %s; see 'ombu queue list'", id);
	*error_r = msg;
	return -1;
}
