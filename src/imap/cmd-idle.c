/* IDLE (RFC 2177): a watch on the owner's change file (inotify, any
 * process) while the client idles; every change runs a sync on the
 * thread pool that pushes EXISTS/EXPUNGE/FETCH at once. */

#include "imap-private.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/threadpool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdlib.h>
#include <strings.h>

struct idle_job {
	struct imap_client *c;
	struct buf out;
	int result;
};

static void start_sync(struct imap_client *c);

static void sync_work(void *ctx)
{
	struct idle_job *j = ctx;
	struct imap_client *c = j->c;
	struct mailbox *mb;
	const char *err;
	if (store_mailbox_open(c->srv->st, c->owner, false, &mb, &err) != STORE_OK) {
		log_error("imap.store_failed", "user=%s error=%s", log_str(c->user), log_str(err));
		return;
	}
	j->result = imap_sync(c, mb, &j->out, 0);
	store_mailbox_close(&mb);
}

static void sync_done(void *ctx)
{
	struct idle_job *j = ctx;
	struct imap_client *c = j->c;
	c->busy = false;
	if (!c->closed) {
		if (j->out.len > 0)
			conn_write(c->conn, j->out.data, j->out.len);
		if (j->result < 0)
			imap_client_bye(c, "Mailbox was deleted or changed under the session.");
		else if (c->srv->stopping)
			imap_client_bye(c, "Server shutting down.");
		else if (c->idle_sync_pending)
			start_sync(c);
		if (!c->busy && !c->closed && conn_input_len(c->conn) > 0)
			conn_kick(c->conn);
	}
	buf_free(&j->out);
	free(j);
	imap_client_unref(&c);
}

static void start_sync(struct imap_client *c)
{
	if (!c->idle_sync_pending || c->busy || c->closed || c->mode != INPUT_IDLE || c->view == NULL)
		return;
	c->idle_sync_pending = false;
	c->busy = true;
	imap_client_ref(c);
	struct idle_job *j = xcalloc(1, sizeof(*j));
	j->c = c;
	buf_init(&j->out, 0);
	threadpool_submit(c->srv->tp, sync_work, sync_done, j);
}

static void idle_notify(void *ctx)
{
	struct imap_client *c = ctx;
	c->idle_sync_pending = true;
	start_sync(c);
}

static void idle_line(struct imap_cmd *cmd, const char *line, size_t len)
{
	struct imap_client *c = cmd->client;
	(void)len;
	store_watch_remove(&c->watch);
	c->idle_sync_pending = false;
	if (strcasecmp(line, "DONE") == 0)
		imap_cmd_ok(cmd, "Idle completed.");
	else
		imap_cmd_bad(cmd, "Expected DONE to end IDLE.");
	imap_cmd_finish(cmd);
}

bool imap_cmd_idle(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "IDLE takes no arguments.");
		return true;
	}
	cmd->line = idle_line;
	imap_cmd_continue(cmd, "idling", INPUT_IDLE);
	if (c->view != NULL && c->notify_path != NULL) {
		const char *err;
		c->watch = store_watch_add(c->srv->watcher, c->notify_path, idle_notify, c, &err);
		if (c->watch == NULL)
			log_error("imap.idle_watch", "user=%s error=%s", log_str(c->user), log_str(err));
		/* whatever changed since the last command */
		c->idle_sync_pending = true;
		start_sync(c);
	}
	return false;
}
