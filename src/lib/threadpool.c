#include "threadpool.h"
#include "ioloop.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct job {
	struct job *next;
	threadpool_fn *work, *done;
	void *ctx;
};

struct threadpool {
	struct ioloop *loop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *queue_head, *queue_tail;
	struct job *done_head, *done_tail;
	pthread_t *threads;
	unsigned n_threads;
	bool stopping;
	size_t pending;
	int efd;
	struct io_watch *watch;
};

static void run_done(void *arg)
{
	struct threadpool *p = arg;
	uint64_t v;
	(void)!read(p->efd, &v, sizeof(v));
	pthread_mutex_lock(&p->lock);
	struct job *j = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);
	while (j != NULL) {
		struct job *next = j->next;
		p->pending--;
		if (j->done != NULL)
			j->done(j->ctx);
		free(j);
		j = next;
	}
}

static void *thread_main(void *arg)
{
	struct threadpool *p = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->queue_head == NULL && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->queue_head == NULL && p->stopping)
			break;
		struct job *j = p->queue_head;
		p->queue_head = j->next;
		if (p->queue_head == NULL)
			p->queue_tail = NULL;
		pthread_mutex_unlock(&p->lock);

		j->work(j->ctx);

		pthread_mutex_lock(&p->lock);
		j->next = NULL;
		bool was_empty = p->done_head == NULL;
		if (p->done_tail != NULL)
			p->done_tail->next = j;
		else
			p->done_head = j;
		p->done_tail = j;
		if (was_empty) {
			uint64_t one = 1;
			(void)!write(p->efd, &one, sizeof(one));
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct threadpool *threadpool_create(struct ioloop *loop, unsigned threads)
{
	struct threadpool *p = xcalloc(1, sizeof(*p));
	p->loop = loop;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0)
		ombu_panic("eventfd failed");
	p->watch = io_watch_add(loop, p->efd, run_done, p);
	p->n_threads = threads ? threads : 1;
	p->threads = xcalloc(p->n_threads, sizeof(pthread_t));
	for (unsigned i = 0; i < p->n_threads; i++) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 1024 * 1024);
		if (pthread_create(&p->threads[i], &attr, thread_main, p) != 0)
			ombu_panic("pthread_create failed");
		pthread_attr_destroy(&attr);
	}
	return p;
}

void threadpool_submit(struct threadpool *p, threadpool_fn *work, threadpool_fn *done, void *ctx)
{
	struct job *j = xcalloc(1, sizeof(*j));
	j->work = work;
	j->done = done;
	j->ctx = ctx;
	p->pending++;
	pthread_mutex_lock(&p->lock);
	if (p->queue_tail != NULL)
		p->queue_tail->next = j;
	else
		p->queue_head = j;
	p->queue_tail = j;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

size_t threadpool_pending(const struct threadpool *p)
{
	return p->pending;
}

void threadpool_destroy(struct threadpool **pp)
{
	struct threadpool *p = *pp;
	if (p == NULL)
		return;
	*pp = NULL;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	run_done(p);
	io_watch_remove(&p->watch);
	close(p->efd);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->threads);
	free(p);
}
