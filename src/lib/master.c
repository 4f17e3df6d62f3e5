#include "master.h"
#include "anvil.h"
#include "config.h"
#include "conn.h"
#include "ioloop-private.h"
#include "log.h"
#include "net.h"
#include "num.h"
#include "threadpool.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/listener.h>
#include <grp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKER_EXIT_INIT_FAILED 3
#define MAX_LISTENERS 64
#define MAX_WORKERS 256
#define RESTART_DELAY_MIN_MS 1000
#define RESTART_DELAY_MAX_MS 60000
#define WORKER_YOUNG_MS 10000
#define READY_TIMEOUT_MS 30000

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };

static int check_user(const char *v, const char **error_r)
{
	if (v[0] == '\0') {
		*error_r = "must not be empty";
		return -1;
	}
	return 0;
}

static int check_workers(const char *v, const char **error_r)
{
	uint64_t n;
	if (strcmp(v, "auto") == 0 || (num_parse_u64(v, &n) == 0 && n <= MAX_WORKERS))
		return 0;
	*error_r = "expected auto or a number from 0 to 256";
	return -1;
}

const struct config_key master_config_keys[] = {
	{ "server", "hostname", CONFIG_STRING, "", "name in greetings and Received headers (default: the machine's name)" },
	{ "server", "workers", CONFIG_STRING, "auto", "worker processes: auto (one per CPU), or a number; 0 serves in one process (debugging)", .validate = check_workers },
	{ "server", "user", CONFIG_STRING, "ombu", "unprivileged user to run as once ports are bound (when started as root)", .validate = check_user },
	{ "server", "threads", CONFIG_UINT, "16", "blocking-work threads per worker (fsync, SQLite, crypt, clamd)", 1, 256 },
	{ "server", "max_connections", CONFIG_UINT, "20000", "connections per worker process; more are closed at accept", 1, 1000000 },
	{ "server", "shutdown_timeout", CONFIG_DURATION, "10s", "how long a stopping worker lets sessions finish before closing them", 0, 3600000 },
	{ "server", "drain_timeout", CONFIG_DURATION, "1h", "how long an old worker serves its connections after a reload", 0, 86400000 },
	{ "server", "tls_cert", CONFIG_PATH, "tls/cert.pem", "TLS certificate chain (PEM)" },
	{ "server", "tls_key", CONFIG_PATH, "tls/key.pem", "TLS private key (PEM)" },
	{ "server", "anvil_slots", CONFIG_UINT, "65536", "entries of the table of per-IP and per-user counters shared by all workers", 64, 16777216 },
	{ "server", "log_level", CONFIG_ENUM, "info", "least severe level logged", .enum_values = log_levels },
	{ NULL }
};


/* ------------------------------------------------------------------ */
/* Listeners                                                           */

struct listen_sock {
	int fd;
	const struct service *svc;
	char addr[NET_ADDR_TEXT_MAX];
	bool used; /* by the current generation */
};

struct worker {
	struct ioloop *loop;
	struct threadpool *pool;
	const struct config *cfg;
	struct tls_ctx *tls;
	struct anvil *anvil;
	const struct service *services;
	size_t n_services;
	void **sctx;
	struct evconnlistener *listeners[MAX_LISTENERS];
	const struct service *lsvc[MAX_LISTENERS];
	void *lctx[MAX_LISTENERS];
	size_t n_listeners;
	bool stopping;
	struct timer *stop_timer, *stop_poll, *accept_pause;
	struct ioloop_signal *sig_term, *sig_int, *sig_drain;
	uint64_t max_conns;
	char hostname[256];
	struct shared_obj {
		const char *name;
		void *obj;
		void (*destroy)(void *obj);
	} shared[16];
	size_t n_shared;
};

void *worker_shared(struct worker *w, const char *name,
		    void *(*create)(struct worker *w, const char **error_r),
		    void (*destroy)(void *obj), const char **error_r)
{
	for (size_t i = 0; i < w->n_shared; i++) {
		if (strcmp(w->shared[i].name, name) == 0)
			return w->shared[i].obj;
	}
	if (w->n_shared == N_ELEMENTS(w->shared))
		ombu_panic("too many shared worker objects");
	void *obj = create(w, error_r);
	if (obj == NULL)
		return NULL;
	w->shared[w->n_shared].name = name;
	w->shared[w->n_shared].obj = obj;
	w->shared[w->n_shared].destroy = destroy;
	w->n_shared++;
	return obj;
}

struct ioloop *worker_loop(struct worker *w) { return w->loop; }
struct threadpool *worker_pool(struct worker *w) { return w->pool; }
const struct config *worker_config(struct worker *w) { return w->cfg; }
struct tls_ctx *worker_tls(struct worker *w) { return w->tls; }
struct anvil *worker_anvil(struct worker *w) { return w->anvil; }

const char *worker_hostname(struct worker *w)
{
	if (w->hostname[0] == '\0') {
		const char *hn = config_str(w->cfg, "server", "hostname");
		if (hn[0] != '\0')
			str_copy(w->hostname, hn, sizeof(w->hostname));
		else if (gethostname(w->hostname, sizeof(w->hostname)) < 0 || w->hostname[0] == '\0')
			str_copy(w->hostname, "localhost", sizeof(w->hostname));
	}
	return w->hostname;
}
bool worker_stopping(struct worker *w) { return w->stopping; }

void *worker_service_ctx(struct worker *w, const char *name)
{
	for (size_t i = 0; i < w->n_services; i++) {
		if (strcmp(w->services[i].name, name) == 0)
			return w->sctx[i];
	}
	return NULL;
}

int process_drop_privileges(const char *user, const char **error_r)
{
	static char msg[256];
	if (geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(msg, sizeof(msg),
			 "server.user '%s' does not exist; create it (scripts/bootstrap does) or set server.user",
			 user);
		*error_r = msg;
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(msg, sizeof(msg), "server.user '%s' is root; pick an unprivileged user", user);
		*error_r = msg;
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		snprintf(msg, sizeof(msg), "cannot switch to user '%s': %s", user, strerror(errno));
		*error_r = msg;
		return -1;
	}
	if (setuid(0) == 0) {
		*error_r = "dropped privileges could be regained";
		return -1;
	}
	prctl(PR_SET_DUMPABLE, 1);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Worker                                                              */

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct worker *w = arg;
	size_t li;
	for (li = 0; li < w->n_listeners; li++) {
		if (w->listeners[li] == l)
			break;
	}
	if (w->stopping || li == w->n_listeners) {
		close(fd);
		return;
	}
	if (conn_count() >= w->max_conns) {
		log_warn("server.max_connections", "limit=%llu", (unsigned long long)w->max_conns);
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct net_addr peer, local;
	net_addr_from_sockaddr(&peer, sa, (socklen_t)salen);
	struct sockaddr_storage ls;
	socklen_t lslen = sizeof(ls);
	if (getsockname(fd, (struct sockaddr *)&ls, &lslen) < 0) {
		close(fd);
		return;
	}
	net_addr_from_sockaddr(&local, (struct sockaddr *)&ls, lslen);
	struct conn *c = conn_create(w->loop, fd, &peer, &local);
	const struct service *svc = w->lsvc[li];
	if (svc->implicit_tls)
		conn_starttls(c, w->tls);
	svc->accept(w->lctx[li], c);
}

static void listeners_resume(void *arg)
{
	struct worker *w = arg;
	timer_remove(&w->accept_pause);
	if (w->stopping)
		return;
	for (size_t i = 0; i < w->n_listeners; i++)
		evconnlistener_enable(w->listeners[i]);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct worker *w = arg;
	int e = EVUTIL_SOCKET_ERROR();
	log_error("server.accept", "error=%s", log_str(evutil_socket_error_to_string(e)));
	/* EMFILE and friends: pause accepting briefly instead of spinning. */
	if (w->accept_pause == NULL) {
		for (size_t i = 0; i < w->n_listeners; i++)
			evconnlistener_disable(w->listeners[i]);
		w->accept_pause = timer_add(w->loop, 100, false, listeners_resume, w);
	}
}

static void worker_exit_check(void *arg)
{
	struct worker *w = arg;
	if (conn_count() == 0 && threadpool_pending(w->pool) == 0)
		ioloop_stop(w->loop);
}

static void worker_deadline(void *arg)
{
	struct worker *w = arg;
	if (conn_count() > 0)
		log_info("server.stop_timeout", "closing=%zu", conn_count());
	conn_close_all();
	ioloop_stop(w->loop);
}

static void worker_begin_stop(struct worker *w, uint64_t deadline_ms, const char *why)
{
	if (w->stopping)
		return;
	w->stopping = true;
	log_info("worker.stop", "reason=%s connections=%zu", why, conn_count());
	for (size_t i = 0; i < w->n_listeners; i++) {
		evconnlistener_free(w->listeners[i]);
		w->listeners[i] = NULL;
	}
	w->n_listeners = 0;
	for (size_t i = 0; i < w->n_services; i++) {
		if (w->sctx[i] != NULL && w->services[i].stop != NULL)
			w->services[i].stop(w->sctx[i]);
	}
	w->stop_poll = timer_add(w->loop, 50, true, worker_exit_check, w);
	w->stop_timer = timer_add(w->loop, deadline_ms, false, worker_deadline, w);
}

static void on_sigterm(void *arg)
{
	struct worker *w = arg;
	worker_begin_stop(w, config_ms(w->cfg, "server", "shutdown_timeout"), "shutdown");
}

static void on_drain(void *arg)
{
	struct worker *w = arg;
	worker_begin_stop(w, config_ms(w->cfg, "server", "drain_timeout"), "reload");
}

static int worker_run(const struct service *services, size_t n_services,
		      struct listen_sock *socks, size_t n_socks, const struct config *cfg,
		      struct tls_ctx *tls, struct anvil *anvil, int ready_fd)
{
	struct worker w = { 0 };
	w.cfg = cfg;
	w.tls = tls;
	w.anvil = anvil;
	w.services = services;
	w.n_services = n_services;
	w.max_conns = config_uint(cfg, "server", "max_connections");
	w.loop = ioloop_create();
	w.pool = threadpool_create(w.loop, (unsigned)config_uint(cfg, "server", "threads"));
	w.sctx = xcalloc(n_services ? n_services : 1, sizeof(void *));

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	w.sig_term = ioloop_signal_add(w.loop, SIGTERM, on_sigterm, &w);
	w.sig_int = ioloop_signal_add(w.loop, SIGINT, on_sigterm, &w);
	w.sig_drain = ioloop_signal_add(w.loop, SIGUSR2, on_drain, &w);

	for (size_t i = 0; i < n_services; i++) {
		bool enabled = false;
		for (size_t s = 0; s < n_socks; s++)
			enabled = enabled || (socks[s].used && socks[s].svc == &services[i]);
		if (!enabled)
			continue;
		const char *err = NULL;
		w.sctx[i] = services[i].init(&w, &err);
		if (w.sctx[i] == NULL) {
			log_error("worker.init_failed", "service=%s error=%s", services[i].name,
				  log_str(err));
			return WORKER_EXIT_INIT_FAILED;
		}
	}
	for (size_t s = 0; s < n_socks; s++) {
		if (!socks[s].used)
			continue;
		size_t si = (size_t)(socks[s].svc - services);
		struct evconnlistener *l = evconnlistener_new(
			ioloop_base(w.loop), accept_cb, &w, LEV_OPT_CLOSE_ON_EXEC, 0, socks[s].fd);
		if (l == NULL) {
			log_error("worker.init_failed", "listener=%s", socks[s].addr);
			return WORKER_EXIT_INIT_FAILED;
		}
		evconnlistener_set_error_cb(l, accept_error_cb);
		w.listeners[w.n_listeners] = l;
		w.lsvc[w.n_listeners] = socks[s].svc;
		w.lctx[w.n_listeners] = w.sctx[si];
		w.n_listeners++;
	}
	if (ready_fd >= 0) {
		(void)!write(ready_fd, "R", 1);
		close(ready_fd);
	}
	ioloop_run(w.loop);

	threadpool_destroy(&w.pool);
	for (size_t i = 0; i < n_services; i++) {
		if (w.sctx[i] != NULL && services[i].deinit != NULL)
			services[i].deinit(w.sctx[i]);
	}
	while (w.n_shared > 0) {
		struct shared_obj *so = &w.shared[--w.n_shared];
		if (so->destroy != NULL)
			so->destroy(so->obj);
	}
	timer_remove(&w.stop_timer);
	timer_remove(&w.stop_poll);
	timer_remove(&w.accept_pause);
	ioloop_signal_remove(&w.sig_term);
	ioloop_signal_remove(&w.sig_int);
	ioloop_signal_remove(&w.sig_drain);
	for (size_t i = 0; i < w.n_listeners; i++)
		evconnlistener_free(w.listeners[i]);
	ioloop_destroy(&w.loop);
	free(w.sctx);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Master                                                              */

enum wstate { W_FREE, W_STARTING, W_RUNNING, W_DRAINING };

struct wslot {
	pid_t pid;
	enum wstate state;
	unsigned gen;
	int ready_fd;
	uint64_t started_us;
	uint64_t restart_at_us; /* 0 = none scheduled */
	uint64_t delay_ms;
};

struct master {
	const struct service *services;
	size_t n_services;
	struct config *cfg, *prev_cfg; /* prev_cfg: kept while a reload is pending */
	struct tls_ctx *tls, *prev_tls;
	struct anvil *anvil;
	struct listen_sock socks[MAX_LISTENERS];
	size_t n_socks;
	struct wslot w[MAX_WORKERS * 2];
	unsigned gen;
	unsigned n_workers;
	unsigned prev_workers;
	bool stopping, reloading;
	int exit_code;
	uint64_t stop_deadline_us, reload_deadline_us;
	int sfd;
	master_reload_fn *reload;
	void *reload_ctx;
};

static unsigned workers_wanted(const struct config *cfg)
{
	const char *v = config_str(cfg, "server", "workers");
	uint64_t n;
	if (strcmp(v, "auto") != 0 && num_parse_u64(v, &n) == 0)
		return (unsigned)n;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus > 0 ? (unsigned)MIN(cpus, MAX_WORKERS) : 1;
}

/* Binds every enabled listener of cfg, reusing sockets already open for
 * the same service and address.  Marks them used. */
static int bind_listeners(struct master *m, const struct config *cfg, bool fatal)
{
	for (size_t s = 0; s < m->n_socks; s++)
		m->socks[s].used = false;
	for (size_t i = 0; i < m->n_services; i++) {
		const struct service *svc = &m->services[i];
		const char *v = config_str(cfg, svc->name, "listen");
		struct net_addr *addrs;
		size_t n;
		const char *err;
		if (net_addr_parse_list(v, &addrs, &n, &err) < 0)
			return -1; /* validated at load */
		for (size_t a = 0; a < n; a++) {
			char text[NET_ADDR_TEXT_MAX];
			net_addr_to_string(&addrs[a], text, sizeof(text));
			bool found = false;
			for (size_t s = 0; s < m->n_socks; s++) {
				if (m->socks[s].svc == svc && strcmp(m->socks[s].addr, text) == 0) {
					m->socks[s].used = true;
					found = true;
				}
			}
			if (found)
				continue;
			if (m->n_socks == MAX_LISTENERS) {
				log_error("server.listen", "error=\"too many listeners\"");
				free(addrs);
				return -1;
			}
			int fd = net_listen(&addrs[a], 1024, &err);
			if (fd < 0) {
				log_error("server.listen", "service=%s address=%s error=%s",
					  svc->name, text, log_str(err));
				if (fatal) {
					fprintf(stderr, "ombu: cannot listen on %s for %s: %s\n", text,
						svc->name, err);
					free(addrs);
					return -1;
				}
				continue;
			}
			struct listen_sock *ls = &m->socks[m->n_socks++];
			ls->fd = fd;
			ls->svc = svc;
			str_copy(ls->addr, text, sizeof(ls->addr));
			ls->used = true;
			log_info("server.listen", "service=%s address=%s%s", svc->name, text,
				 svc->implicit_tls ? " tls=implicit" : "");
		}
		free(addrs);
	}
	return 0;
}

static void close_unused_listeners(struct master *m)
{
	size_t o = 0;
	for (size_t s = 0; s < m->n_socks; s++) {
		if (m->socks[s].used) {
			m->socks[o++] = m->socks[s];
		} else {
			log_info("server.unlisten", "service=%s address=%s", m->socks[s].svc->name,
				 m->socks[s].addr);
			close(m->socks[s].fd);
		}
	}
	m->n_socks = o;
}

static bool needs_tls(const struct master *m)
{
	for (size_t s = 0; s < m->n_socks; s++) {
		if (m->socks[s].used && m->socks[s].svc->implicit_tls)
			return true;
	}
	return false;
}

/* Loads the certificate; required only when an implicit-TLS listener is
 * enabled, otherwise STARTTLS is simply not offered without one. */
static int load_tls(const struct config *cfg, bool required, struct tls_ctx **tls_r)
{
	const char *cert = config_path_value(cfg, "server", "tls_cert");
	const char *key = config_path_value(cfg, "server", "tls_key");
	const char *err;
	*tls_r = NULL;
	if (access(cert, F_OK) < 0 && !required) {
		log_warn("server.tls", "certificate=%s error=\"not found; STARTTLS disabled\"", cert);
		return 0;
	}
	struct tls_ctx *t = tls_ctx_server_create(cert, key, &err);
	if (t == NULL) {
		log_error("server.tls", "error=%s", log_str(err));
		if (required)
			fprintf(stderr, "ombu: %s\n", err);
		return required ? -1 : 0;
	}
	*tls_r = t;
	return 0;
}

static struct wslot *free_slot(struct master *m)
{
	for (size_t i = 0; i < N_ELEMENTS(m->w); i++) {
		if (m->w[i].state == W_FREE && m->w[i].restart_at_us == 0)
			return &m->w[i];
	}
	return NULL;
}

static void master_close_fds_in_child(struct master *m)
{
	close(m->sfd);
	for (size_t i = 0; i < N_ELEMENTS(m->w); i++) {
		if (m->w[i].ready_fd >= 0)
			close(m->w[i].ready_fd);
	}
}

static int spawn(struct master *m, struct wslot *slot)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		log_error("server.fork", "error=%s", log_str(strerror(errno)));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_error("server.fork", "error=%s", log_str(strerror(errno)));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		master_close_fds_in_child(m);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		log_init("worker");
		int rc = worker_run(m->services, m->n_services, m->socks, m->n_socks, m->cfg,
				    m->tls, m->anvil, p[1]);
		_exit(rc);
	}
	close(p[1]);
	slot->pid = pid;
	slot->state = W_STARTING;
	slot->gen = m->gen;
	slot->ready_fd = p[0];
	slot->started_us = time_monotonic_us();
	slot->restart_at_us = 0;
	return 0;
}

static size_t count_state(const struct master *m, enum wstate st, bool cur_gen_only)
{
	size_t n = 0;
	for (size_t i = 0; i < N_ELEMENTS(m->w); i++) {
		if (m->w[i].state == st && (!cur_gen_only || m->w[i].gen == m->gen))
			n++;
	}
	return n;
}

static void signal_gen(struct master *m, int sig, bool old_only)
{
	for (size_t i = 0; i < N_ELEMENTS(m->w); i++) {
		if (m->w[i].state == W_FREE || m->w[i].pid <= 0)
			continue;
		if (old_only && m->w[i].gen == m->gen)
			continue;
		kill(m->w[i].pid, sig);
	}
}

static void begin_stop(struct master *m, const char *why)
{
	if (m->stopping)
		return;
	m->stopping = true;
	log_info("server.stop", "reason=%s", why);
	signal_gen(m, SIGTERM, false);
	for (size_t i = 0; i < N_ELEMENTS(m->w); i++)
		m->w[i].restart_at_us = 0;
	m->stop_deadline_us = time_monotonic_us() +
			      (config_ms(m->cfg, "server", "shutdown_timeout") + 5000) * 1000;
}

static void on_child_exit(struct master *m, pid_t pid, int status)
{
	struct wslot *slot = NULL;
	for (size_t i = 0; i < N_ELEMENTS(m->w); i++) {
		if (m->w[i].pid == pid && m->w[i].state != W_FREE)
			slot = &m->w[i];
	}
	if (slot == NULL)
		return;
	bool init_failed = WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_INIT_FAILED;
	enum wstate was = slot->state;
	if (slot->ready_fd >= 0) {
		close(slot->ready_fd);
		slot->ready_fd = -1;
	}
	slot->state = W_FREE;
	slot->pid = 0;
	if (m->stopping || was == W_DRAINING) {
		log_info("server.worker_exit", "pid=%d status=%d", (int)pid,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return;
	}
	if (WIFSIGNALED(status))
		log_error("server.worker_died", "pid=%d signal=%d", (int)pid, WTERMSIG(status));
	else
		log_error("server.worker_died", "pid=%d status=%d", (int)pid, WEXITSTATUS(status));

	if (init_failed && was == W_STARTING) {
		if (m->reloading && slot->gen == m->gen)
			return; /* reload_progress() rolls back */
		if (slot->gen == 1) {
			fprintf(stderr, "ombu: a worker could not start (see the log above)\n");
			m->exit_code = 1;
			begin_stop(m, "worker_init_failed");
			return;
		}
	}
	if (slot->gen != m->gen)
		return; /* an old generation's worker: not restarted */
	uint64_t lived_ms = (time_monotonic_us() - slot->started_us) / 1000;
	if (lived_ms < WORKER_YOUNG_MS)
		slot->delay_ms = slot->delay_ms ? MIN(slot->delay_ms * 2, RESTART_DELAY_MAX_MS)
					       : RESTART_DELAY_MIN_MS;
	else
		slot->delay_ms = RESTART_DELAY_MIN_MS;
	slot->restart_at_us = time_monotonic_us() + slot->delay_ms * 1000;
	log_info("server.worker_restart", "in_ms=%llu", (unsigned long long)slot->delay_ms);
}

static void set_log_level(const struct config *cfg);

static void do_reload(struct master *m)
{
	if (m->reloading) {
		log_warn("server.reload", "error=\"a reload is still in progress\"");
		return;
	}
	char *err = NULL;
	struct config *ncfg = m->reload(m->reload_ctx, &err);
	if (ncfg == NULL) {
		log_error("server.reload_failed", "error=%s", log_str(err));
		free(err);
		return;
	}
	unsigned n = workers_wanted(ncfg);
	if (n == 0) {
		log_error("server.reload_failed", "error=\"server.workers = 0 cannot be reloaded\"");
		config_free(&ncfg);
		return;
	}
	struct tls_ctx *ntls = NULL;
	if (bind_listeners(m, ncfg, false) < 0 || load_tls(ncfg, needs_tls(m), &ntls) < 0) {
		log_error("server.reload_failed", "error=\"listeners or TLS could not be set up\"");
		bind_listeners(m, m->cfg, false);
		config_free(&ncfg);
		return;
	}
	m->prev_cfg = m->cfg;
	m->prev_tls = m->tls;
	m->prev_workers = m->n_workers;
	m->cfg = ncfg;
	m->tls = ntls;
	set_log_level(ncfg);
	m->gen++;
	m->n_workers = n;
	m->reloading = true;
	m->reload_deadline_us = time_monotonic_us() + READY_TIMEOUT_MS * 1000ull;
	/* Pending restarts belong to the old generation. */
	for (size_t i = 0; i < N_ELEMENTS(m->w); i++)
		m->w[i].restart_at_us = 0;
	log_info("server.reload", "generation=%u workers=%u", m->gen, n);
	for (unsigned i = 0; i < n; i++) {
		struct wslot *s = free_slot(m);
		if (s != NULL)
			spawn(m, s);
	}
}

static void set_log_level(const struct config *cfg)
{
	enum log_level lvl;
	if (log_parse_level(config_str(cfg, "server", "log_level"), &lvl) == 0)
		log_set_level(lvl);
}

static void reload_progress(struct master *m)
{
	if (!m->reloading)
		return;
	size_t running = count_state(m, W_RUNNING, true);
	size_t starting = count_state(m, W_STARTING, true);
	if (running == m->n_workers) {
		m->reloading = false;
		for (size_t i = 0; i < N_ELEMENTS(m->w); i++) {
			if (m->w[i].gen != m->gen && m->w[i].state == W_RUNNING) {
				m->w[i].state = W_DRAINING;
				kill(m->w[i].pid, SIGUSR2);
			}
			if (m->w[i].gen != m->gen && m->w[i].state == W_STARTING) {
				m->w[i].state = W_DRAINING;
				kill(m->w[i].pid, SIGTERM);
			}
		}
		close_unused_listeners(m);
		config_free(&m->prev_cfg);
		tls_ctx_free(&m->prev_tls);
		log_info("server.reloaded", "generation=%u", m->gen);
	} else if (starting == 0 || time_monotonic_us() > m->reload_deadline_us) {
		/* A new worker failed: keep serving with the old generation. */
		m->reloading = false;
		for (size_t i = 0; i < N_ELEMENTS(m->w); i++) {
			if (m->w[i].gen == m->gen && m->w[i].state != W_FREE) {
				kill(m->w[i].pid, SIGKILL);
				m->w[i].state = W_DRAINING;
			}
		}
		config_free(&m->cfg);
		tls_ctx_free(&m->tls);
		m->cfg = m->prev_cfg;
		m->tls = m->prev_tls;
		m->n_workers = m->prev_workers;
		m->prev_cfg = NULL;
		m->prev_tls = NULL;
		bind_listeners(m, m->cfg, false);
		close_unused_listeners(m);
		set_log_level(m->cfg);
		m->gen--;
		log_error("server.reload_failed", "error=\"new workers did not start; still serving the previous configuration\"");
	}
}

int master_run(const struct service *services, size_t n_services, struct config *cfg,
	       master_reload_fn *reload, void *reload_ctx)
{
	struct master *m = xcalloc(1, sizeof(*m));
	int rc = 0;
	m->services = services;
	m->n_services = n_services;
	m->cfg = cfg;
	m->reload = reload;
	m->reload_ctx = reload_ctx;
	for (size_t i = 0; i < N_ELEMENTS(m->w); i++)
		m->w[i].ready_fd = -1;
	log_init("master");
	set_log_level(cfg);

	if (bind_listeners(m, cfg, true) < 0)
		return 1;
	if (load_tls(cfg, needs_tls(m), &m->tls) < 0)
		return 1;
	const char *err;
	if (process_drop_privileges(config_str(cfg, "server", "user"), &err) < 0) {
		fprintf(stderr, "ombu: %s\n", err);
		return 1;
	}
	m->anvil = anvil_create(config_uint(cfg, "server", "anvil_slots"), &err);
	if (m->anvil == NULL) {
		fprintf(stderr, "ombu: cannot map the shared counters: %s\n", err);
		return 1;
	}
	m->n_workers = workers_wanted(cfg);
	if (m->n_workers == 0) {
		log_info("server.ready", "workers=0 uid=%d", (int)getuid());
		log_init("worker");
		return worker_run(services, n_services, m->socks, m->n_socks, cfg, m->tls, m->anvil,
				  -1) == 0 ? 0 : 1;
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	m->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->sfd < 0) {
		fprintf(stderr, "ombu: signalfd: %s\n", strerror(errno));
		return 1;
	}
	m->gen = 1;
	for (unsigned i = 0; i < m->n_workers; i++)
		spawn(m, &m->w[i]);
	bool announced = false;

	for (;;) {
		uint64_t now = time_monotonic_us();
		if (m->stopping) {
			bool any = false;
			for (size_t i = 0; i < N_ELEMENTS(m->w); i++)
				any = any || m->w[i].state != W_FREE;
			if (!any)
				break;
			if (now > m->stop_deadline_us) {
				log_warn("server.stop_kill", "error=\"workers did not stop in time\"");
				signal_gen(m, SIGKILL, false);
				m->stop_deadline_us = now + 5000000;
			}
		}
		/* restarts due */
		int timeout_ms = 1000;
		for (size_t i = 0; i < N_ELEMENTS(m->w); i++) {
			struct wslot *s = &m->w[i];
			if (s->restart_at_us == 0 || m->stopping)
				continue;
			if (s->restart_at_us <= now) {
				s->restart_at_us = 0;
				s->gen = m->gen;
				spawn(m, s);
			} else {
				timeout_ms = (int)MIN((uint64_t)timeout_ms, (s->restart_at_us - now) / 1000 + 1);
			}
		}
		struct pollfd pfd[1 + N_ELEMENTS(m->w)];
		struct wslot *pslot[1 + N_ELEMENTS(m->w)];
		size_t np = 0;
		pfd[np].fd = m->sfd;
		pfd[np].events = POLLIN;
		pslot[np++] = NULL;
		for (size_t i = 0; i < N_ELEMENTS(m->w); i++) {
			if (m->w[i].state == W_STARTING && m->w[i].ready_fd >= 0) {
				pfd[np].fd = m->w[i].ready_fd;
				pfd[np].events = POLLIN;
				pslot[np++] = &m->w[i];
			}
		}
		int r = poll(pfd, np, timeout_ms);
		if (r < 0 && errno != EINTR) {
			log_error("server.poll", "error=%s", log_str(strerror(errno)));
			break;
		}
		for (size_t i = 1; i < np && r > 0; i++) {
			if (pfd[i].revents == 0)
				continue;
			char ch;
			struct wslot *s = pslot[i];
			ssize_t n = read(s->ready_fd, &ch, 1);
			close(s->ready_fd);
			s->ready_fd = -1;
			if (n == 1 && s->state == W_STARTING)
				s->state = W_RUNNING;
		}
		if (r > 0 && (pfd[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(m->sfd, &si, sizeof(si)) == sizeof(si)) {
				switch (si.ssi_signo) {
				case SIGCHLD: {
					int status;
					pid_t pid;
					while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
						on_child_exit(m, pid, status);
					break;
				}
				case SIGTERM:
				case SIGINT:
					begin_stop(m, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
					break;
				case SIGHUP:
					if (!m->stopping)
						do_reload(m);
					break;
				}
			}
		}
		reload_progress(m);
		if (!announced && !m->stopping && count_state(m, W_RUNNING, true) == m->n_workers) {
			announced = true;
			log_info("server.ready", "workers=%u uid=%d", m->n_workers, (int)getuid());
		}
	}
	log_info("server.stopped", "workers=%u", m->n_workers);
	rc = m->exit_code;
	for (size_t s = 0; s < m->n_socks; s++)
		close(m->socks[s].fd);
	tls_ctx_free(&m->tls);
	anvil_destroy(&m->anvil);
	config_free(&m->cfg);
	close(m->sfd);
	free(m);
	return rc;
}
