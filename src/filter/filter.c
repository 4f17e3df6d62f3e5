/* The filter hook: a pass-through until the rules engine exists. */

#include "filter.h"
#include "lib/master.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct filter {
	int unused;
};

struct filter *filter_create(const struct config *cfg, const char **error_r)
{
	(void)cfg;
	(void)error_r;
	return xcalloc(1, sizeof(struct filter));
}

void filter_destroy(struct filter **fp)
{
	free(*fp);
	*fp = NULL;
}

static void *worker_filter_create(struct worker *w, const char **error_r)
{
	return filter_create(worker_config(w), error_r);
}

static void worker_filter_destroy(void *obj)
{
	struct filter *f = obj;
	filter_destroy(&f);
}

struct filter *filter_worker(struct worker *w, const char **error_r)
{
	return worker_shared(w, "filter", worker_filter_create, worker_filter_destroy, error_r);
}

int filter_scan(struct filter *f, struct pool *pool, const void *msg, size_t len,
		const char *sender, const char *client_ip, struct filter_rcpt *rcpts, size_t n,
		struct filter_verdict *v, const char **error_r)
{
	(void)f;
	(void)pool;
	(void)msg;
	(void)len;
	(void)sender;
	(void)client_ip;
	(void)error_r;
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		rcpts[i].action = FILTER_INBOX;
		rcpts[i].folder = NULL;
		rcpts[i].headers = NULL;
		rcpts[i].headers_len = 0;
	}
	return 0;
}
