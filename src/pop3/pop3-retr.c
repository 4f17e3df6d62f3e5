/* RETR and TOP: messages are read (and decompressed) on the thread pool,
 * several at a time, then dot-stuffed into the output as fast as the
 * client reads it.
 *
 * Why batches: a POP3 client fetches one message after the other and
 * waits for each.  A small message costs the store a few microseconds,
 * but the hand-off to a pool thread and back costs two thread wake-ups,
 * which on a small virtual machine are most of a RETR's time.  So a read
 * takes the requested message and those that follow it, up to
 * pop3.readahead bytes, in one job, and the next batch is read while the
 * client is still busy with the current one. */

#include "pop3-private.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/threadpool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* At most this many messages per batch, however small. */
#define READ_BATCH_MAX 64

/* ------------------------------------------------------------------ */
/* Streaming a message out                                             */

static void write_out(void *ctx, const void *data, size_t len)
{
	struct pop3_session *s = ctx;
	conn_write(s->conn, data, len);
}

void pop3_stream_free(struct pop3_stream **stp)
{
	struct pop3_stream *st = *stp;
	if (st == NULL)
		return;
	*stp = NULL;
	free(st->data);
	free(st);
}

void pop3_stream_pump(struct pop3_session *s)
{
	struct pop3_stream *st = s->stream;
	while (st != NULL && !s->closed && conn_output_len(s->conn) < POP3_OUTPUT_HIGH) {
		if (st->pos == st->len || pop3_stuffer_done(&st->st)) {
			pop3_stuffer_finish(&st->st, write_out, s);
			s->bytes_out += st->st.written;
			pop3_stream_free(&s->stream);
			pop3_session_resume(s);
			return;
		}
		size_t n = MIN(POP3_STREAM_CHUNK, st->len - st->pos);
		st->pos += pop3_stuffer_feed(&st->st, st->data + st->pos, n, write_out, s);
	}
	/* the rest when the client has read some: the drained callback */
}

/* Starts the response; takes data. */
static void serve(struct pop3_session *s, uint64_t n, bool top, uint64_t lines, char *data, size_t len)
{
	struct pop3_stream *st = xcalloc(1, sizeof(*st));
	st->data = data;
	st->len = len;
	st->top = top;
	pop3_stuffer_init(&st->st, top, lines);
	if (top) {
		s->n_top++;
		pop3_reply(s, "+OK Top of message %llu follows", (unsigned long long)n);
	} else {
		s->n_retr++;
		pop3_reply(s, "+OK %llu octets", (unsigned long long)len);
	}
	s->stream = st;
}

/* ------------------------------------------------------------------ */
/* Reading batches                                                      */

struct read_item {
	uint64_t n;
	uint32_t uid;
	uint64_t size;
	char blob[65];
	bool blob_file;
	void *prefix;
	size_t prefix_len;
	/* result */
	char *data;
	size_t len;
	bool ok;
};

/* Owns copies of everything it reads, so that it never depends on the
 * maildrop (which QUIT may release while a read-ahead is running). */
struct read_job {
	struct pop3_session *s;
	struct store *st;
	char *owner;
	unsigned gen;
	struct read_item *items;
	size_t n_items;
	char error[256];
};

static void read_job_free(struct read_job *j)
{
	for (size_t i = 0; i < j->n_items; i++) {
		free(j->items[i].data);
		free(j->items[i].prefix);
	}
	free(j->items);
	free(j->owner);
	free(j);
}

static void read_work(void *ctx)
{
	struct read_job *j = ctx;
	struct mailbox *mb;
	const char *err = "";
	if (store_mailbox_open(j->st, j->owner, false, &mb, &err) != STORE_OK) {
		str_copy(j->error, err, sizeof(j->error));
		return;
	}
	for (size_t i = 0; i < j->n_items; i++) {
		struct read_item *it = &j->items[i];
		struct store_message sm = {
			.uid = it->uid,
			.size = it->size,
			.blob = it->blob,
			.blob_file = it->blob_file,
			.prefix = it->prefix,
			.prefix_len = it->prefix_len,
		};
		struct buf b;
		buf_init(&b, 0);
		buf_reserve(&b, it->size);
		if (mailbox_message_read(mb, &sm, &b, &err) == STORE_OK) {
			it->data = buf_steal(&b, &it->len);
			it->ok = true;
		} else {
			buf_free(&b);
			/* the first error is kept for the log */
			if (j->error[0] == '\0')
				str_copy(j->error, err, sizeof(j->error));
		}
	}
	store_mailbox_close(&mb);
}

static void cache_clear(struct pop3_session *s)
{
	struct pop3_readahead *ra = &s->ra;
	for (size_t i = 0; i < ra->count; i++)
		free(ra->items[i].data);
	ra->count = 0;
	ra->bytes = 0;
}

void pop3_readahead_free(struct pop3_session *s)
{
	cache_clear(s);
	free(s->ra.items);
	s->ra.items = NULL;
}

/* Takes message n out of the cache; earlier ones go too (the client has
 * moved past them). */
static bool cache_take(struct pop3_session *s, uint64_t n, char **data_r, size_t *len_r)
{
	struct pop3_readahead *ra = &s->ra;
	size_t i = 0;
	if (ra->count == 0)
		return false;
	while (i < ra->count && ra->items[i].n < n)
		i++;
	bool found = i < ra->count && ra->items[i].n == n;
	size_t drop = found ? i + 1 : i;
	for (size_t k = 0; k < drop; k++) {
		ra->bytes -= ra->items[k].len;
		if (found && k == i) {
			*data_r = ra->items[k].data;
			*len_r = ra->items[k].len;
		} else {
			free(ra->items[k].data);
		}
	}
	memmove(ra->items, ra->items + drop, (ra->count - drop) * sizeof(*ra->items));
	ra->count -= drop;
	return found;
}

static void read_done(void *ctx);

/* Reads message `first` and those after it (not deleted) up to `budget`
 * bytes, always at least one. */
static void read_submit(struct pop3_session *s, uint64_t first, uint64_t budget)
{
	struct pop3_maildrop *md = s->md;
	struct pop3_readahead *ra = &s->ra;
	struct read_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->st = s->srv->st;
	j->owner = xstrdup(md->owner);
	j->gen = ++ra->gen;
	j->items = xcalloc(READ_BATCH_MAX, sizeof(*j->items));
	uint64_t total = 0, n = first;
	for (; n <= md->n && j->n_items < READ_BATCH_MAX; n++) {
		const struct pop3_msg *m = &md->msgs[n - 1];
		if (m->deleted)
			continue;
		if (j->n_items > 0 && total + m->size > budget)
			break;
		struct read_item *it = &j->items[j->n_items++];
		it->n = n;
		it->uid = m->uid;
		it->size = m->size;
		str_copy(it->blob, m->blob, sizeof(it->blob));
		it->blob_file = m->blob_file;
		if (m->prefix_len > 0) {
			it->prefix = xmalloc(m->prefix_len);
			memcpy(it->prefix, m->prefix, m->prefix_len);
			it->prefix_len = m->prefix_len;
		}
		total += m->size;
	}
	ra->in_flight = true;
	ra->first = first;
	ra->last = j->items[j->n_items - 1].n;
	ra->next = ra->last + 1;
	pop3_session_ref(s);
	threadpool_submit(s->srv->tp, read_work, read_done, j);
}

/* After serving from the cache: reads the next batch while the client
 * takes this one, once less than half the budget is left. */
static void read_ahead(struct pop3_session *s)
{
	struct pop3_readahead *ra = &s->ra;
	uint64_t budget = s->srv->set.readahead;
	if (budget == 0 || ra->in_flight || s->md == NULL || ra->next == 0 || ra->next > s->md->n ||
	    ra->bytes >= budget / 2)
		return;
	while (ra->next <= s->md->n && s->md->msgs[ra->next - 1].deleted)
		ra->next++;
	if (ra->next <= s->md->n)
		read_submit(s, ra->next, budget - ra->bytes);
}

static void read_done(void *ctx)
{
	struct read_job *j = ctx;
	struct pop3_session *s = j->s;
	struct pop3_readahead *ra = &s->ra;
	bool current = j->gen == ra->gen;
	if (current)
		ra->in_flight = false;
	if (s->closed || !current || s->md == NULL) {
		/* the client left, jumped elsewhere, or quit */
		read_job_free(j);
		pop3_session_unref(&s);
		return;
	}
	if (ra->items == NULL)
		ra->items = xcalloc(READ_BATCH_MAX * 2, sizeof(*ra->items));
	for (size_t i = 0; i < j->n_items; i++) {
		struct read_item *it = &j->items[i];
		if (!it->ok || ra->count == READ_BATCH_MAX * 2)
			continue;
		ra->items[ra->count].n = it->n;
		ra->items[ra->count].data = it->data;
		ra->items[ra->count].len = it->len;
		ra->bytes += it->len;
		ra->count++;
		it->data = NULL;
	}
	if (j->error[0] != '\0')
		log_error("pop3.read_failed", "service=%s session=%s user=%s error=%s", s->srv->name, s->id,
			  log_str(s->address), log_str(j->error));
	if (ra->waiting) {
		ra->waiting = false;
		s->busy = false;
		char *data;
		size_t len;
		if (cache_take(s, ra->wait_n, &data, &len)) {
			serve(s, ra->wait_n, ra->wait_top, ra->wait_lines, data, len);
			read_ahead(s);
			pop3_stream_pump(s);
		} else {
			pop3_reply(s, "-ERR [SYS/TEMP] Message %llu cannot be read now", (unsigned long long)ra->wait_n);
			pop3_session_resume(s);
		}
	}
	read_job_free(j);
	pop3_session_unref(&s);
}

void pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_readahead *ra = &s->ra;
	const struct pop3_msg *m = pop3_maildrop_get(s->md, cmd->msg);
	if (m == NULL) {
		pop3_reply(s, "-ERR No such message, only %zu in the maildrop", s->md->n);
		return;
	}
	if (m->deleted) {
		pop3_reply(s, "-ERR Message %llu is deleted", (unsigned long long)cmd->msg);
		return;
	}
	bool top = cmd->verb == POP3_VERB_TOP;
	char *data;
	size_t len;
	if (cache_take(s, cmd->msg, &data, &len)) {
		serve(s, cmd->msg, top, cmd->lines, data, len);
		read_ahead(s);
		pop3_stream_pump(s);
		return;
	}
	/* wait for the batch that is being read, or read a new one */
	s->busy = true;
	ra->waiting = true;
	ra->wait_n = cmd->msg;
	ra->wait_top = top;
	ra->wait_lines = cmd->lines;
	if (ra->in_flight && cmd->msg >= ra->first && cmd->msg <= ra->last)
		return;
	cache_clear(s);
	read_submit(s, cmd->msg, s->srv->set.readahead);
}
