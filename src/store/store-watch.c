/*
 * Change notification without polling: every change to a mailbox touches
 * its `notify` file (mailbox_notify), and watchers get IN_ATTRIB from
 * inotify, in any process on the machine, within the kernel's wake-up
 * latency.  One inotify instance per event loop serves every watch.
 */

#include "store.h"
#include "lib/ioloop.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

struct store_watch {
	struct store_watch *prev, *next;
	struct store_watcher *w;
	int wd;
	store_watch_fn *fn;
	void *ctx;
};

struct store_watcher {
	struct ioloop *loop;
	int fd;
	struct io_watch *io;
	struct store_watch *watches;
};

static bool still_there(struct store_watcher *w, struct store_watch *s)
{
	for (struct store_watch *x = w->watches; x != NULL; x = x->next) {
		if (x == s)
			return true;
	}
	return false;
}

static void on_events(void *ctx)
{
	struct store_watcher *w = ctx;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			/* the watches of this mailbox, called one by one; a
			 * callback may remove any watch, so check each is alive */
			struct store_watch *hit[64];
			size_t nh = 0;
			for (struct store_watch *s = w->watches; s != NULL && nh < 64; s = s->next) {
				if (s->wd == ev->wd)
					hit[nh++] = s;
			}
			for (size_t i = 0; i < nh; i++) {
				if (still_there(w, hit[i]))
					hit[i]->fn(hit[i]->ctx);
			}
		}
	}
}

struct store_watcher *store_watcher_create(struct ioloop *loop, const char **error_r)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		*error_r = strerror(errno);
		return NULL;
	}
	struct store_watcher *w = xcalloc(1, sizeof(*w));
	w->loop = loop;
	w->fd = fd;
	w->io = io_watch_add(loop, fd, on_events, w);
	return w;
}

void store_watcher_destroy(struct store_watcher **wp)
{
	struct store_watcher *w = *wp;
	if (w == NULL)
		return;
	*wp = NULL;
	while (w->watches != NULL) {
		struct store_watch *s = w->watches;
		store_watch_remove(&s);
	}
	io_watch_remove(&w->io);
	close(w->fd);
	free(w);
}

struct store_watch *store_watch_add(struct store_watcher *w, const char *notify_path,
				    store_watch_fn *fn, void *ctx, const char **error_r)
{
	static __thread char msg[300];
	/* the file exists once the mailbox changed once; create it so that
	 * the first delivery is seen too */
	int cfd = open(notify_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (cfd >= 0)
		close(cfd);
	int wd = inotify_add_watch(w->fd, notify_path, IN_ATTRIB | IN_MODIFY | IN_CLOSE_WRITE);
	if (wd < 0) {
		snprintf(msg, sizeof(msg), "cannot watch %s: %s", notify_path, strerror(errno));
		*error_r = msg;
		return NULL;
	}
	struct store_watch *s = xcalloc(1, sizeof(*s));
	s->w = w;
	s->wd = wd;
	s->fn = fn;
	s->ctx = ctx;
	s->next = w->watches;
	if (w->watches != NULL)
		w->watches->prev = s;
	w->watches = s;
	return s;
}

void store_watch_remove(struct store_watch **sp)
{
	struct store_watch *s = *sp;
	if (s == NULL)
		return;
	*sp = NULL;
	struct store_watcher *w = s->w;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		w->watches = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	/* the kernel watch is shared by every watch of the same file (the
	 * same wd): remove it with the last one */
	bool shared = false;
	for (struct store_watch *x = w->watches; x != NULL; x = x->next)
		shared = shared || x->wd == s->wd;
	if (!shared)
		inotify_rm_watch(w->fd, s->wd);
	free(s);
}
