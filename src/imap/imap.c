/* The IMAP role: imap.listen (STARTTLS) and imaps.listen (implicit TLS)
 * over the store of this node.  One server per listener and worker; the
 * sessions are in imap-client.c, the commands in cmd-*.c. */

#include "imap-private.h"
#include "directory/directory.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/master.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

const struct config_key imap_config_keys[] = {
	{ "imap", "max_line_length", CONFIG_SIZE, "64k", "longest command line, literals not counted (longer: BYE)", 1024, 16ull << 20 },
	{ "imap", "max_literal_size", CONFIG_SIZE, "64k", "largest literal in a command other than APPEND", 1024, 1ull << 30 },
	{ "imap", "append_limit", CONFIG_SIZE, "0", "largest message APPEND takes, advertised as APPENDLIMIT; refused before it is sent (0 = store.max_message_size)", 0, 1ull << 31 },
	{ "imap", "max_command_size", CONFIG_SIZE, "100M", "all literals of one command together (MULTIAPPEND)", 1024, 1ull << 32 },
	{ "imap", "max_nesting", CONFIG_UINT, "16", "parenthesis nesting in a command, and SEARCH key nesting", 2, 256 },
	{ "imap", "max_errors", CONFIG_UINT, "10", "bad commands before the session gets BYE", 1, 10000 },
	{ "imap", "max_connections_per_user", CONFIG_UINT, "50", "sessions of one user at once, all workers (0 = no limit)", 0, 1000000 },
	{ "imap", "max_connections_per_ip", CONFIG_UINT, "200", "connections from one IP address at once, all workers (0 = no limit)", 0, 1000000 },
	{ "imap", "login_timeout", CONFIG_DURATION, "1m", "time a client has to log in", 1000, 3600000 },
	{ "imap", "timeout", CONFIG_DURATION, "30m", "inactivity allowed once logged in (RFC 3501 asks for at least 30 minutes)", 1000, 86400000 },
	{ NULL }
};

static void *watcher_create(struct worker *w, const char **error_r)
{
	return store_watcher_create(worker_loop(w), error_r);
}

static void watcher_destroy(void *obj)
{
	struct store_watcher *sw = obj;
	store_watcher_destroy(&sw);
}

static struct imap_server *server_init(struct worker *w, const char *name, const char **error_r)
{
	const struct config *cfg = worker_config(w);
	struct imap_server *srv = xcalloc(1, sizeof(*srv));
	srv->name = name;
	srv->w = w;
	srv->loop = worker_loop(w);
	srv->tp = worker_pool(w);
	srv->anvil = worker_anvil(w);
	srv->tls = worker_tls(w);
	srv->dir = directory_worker(w, error_r);
	srv->st = srv->dir != NULL ? store_worker(w, error_r) : NULL;
	srv->watcher = srv->st != NULL ? worker_shared(w, "imap-watcher", watcher_create,
						       watcher_destroy, error_r) : NULL;
	if (srv->watcher == NULL) {
		free(srv);
		return NULL;
	}
	srv->throttle = auth_throttle_worker(w);
	str_copy(srv->hostname, worker_hostname(w), sizeof(srv->hostname));
	struct imap_settings *set = &srv->set;
	set->max_line = config_size(cfg, "imap", "max_line_length");
	set->max_literal = config_size(cfg, "imap", "max_literal_size");
	set->append_limit = config_size(cfg, "imap", "append_limit");
	if (set->append_limit == 0 || set->append_limit > store_max_message_size(srv->st))
		set->append_limit = store_max_message_size(srv->st);
	set->max_command = config_size(cfg, "imap", "max_command_size");
	set->max_depth = (unsigned int)config_uint(cfg, "imap", "max_nesting");
	set->max_errors = (unsigned int)config_uint(cfg, "imap", "max_errors");
	set->max_user_conns = (unsigned int)config_uint(cfg, "imap", "max_connections_per_user");
	set->max_ip_conns = (unsigned int)config_uint(cfg, "imap", "max_connections_per_ip");
	set->login_timeout_ms = config_ms(cfg, "imap", "login_timeout");
	set->timeout_ms = config_ms(cfg, "imap", "timeout");
	set->plaintext_ok = config_bool(cfg, "auth", "plaintext_without_tls");
	return srv;
}

static void *imap_init(struct worker *w, const char **error_r)
{
	return server_init(w, "imap", error_r);
}

static void *imaps_init(struct worker *w, const char **error_r)
{
	return server_init(w, "imaps", error_r);
}

static void imap_accept(void *ctx, struct conn *c)
{
	imap_client_accept(ctx, c);
}

static void imap_stop(void *ctx)
{
	struct imap_server *srv = ctx;
	srv->stopping = true;
	for (struct imap_client *c = srv->clients, *next; c != NULL; c = next) {
		next = c->next;
		imap_client_stop(c);
	}
}

static void imap_deinit(void *ctx)
{
	free(ctx);
}

const struct service imap_service = {
	.name = "imap",
	.init = imap_init,
	.accept = imap_accept,
	.stop = imap_stop,
	.deinit = imap_deinit,
};

const struct service imaps_service = {
	.name = "imaps",
	.implicit_tls = true,
	.init = imaps_init,
	.accept = imap_accept,
	.stop = imap_stop,
	.deinit = imap_deinit,
};
