#!/usr/bin/python3
"""IMAP: ombu against Dovecot 2.3 (Maildir, passwd-file with SHA512-CRYPT),
same messages, same client, same run (issue 5).

    /usr/bin/python3 bench/imap.py            # the full run (about 15 minutes)
    /usr/bin/python3 bench/imap.py --quick    # a small run (2,000 messages, 200 idle connections)

Run as root on Debian 12 from the repository root after `make`; Dovecot is
installed from Debian when missing.  Both servers run on 127.0.0.1 from a
scratch folder under /tmp (KEEP=1 keeps it) and are stopped by PID.  The
results are printed and written to bench/results/imap.txt.

Figures (every "ombu / Dovecot" ratio is taken in the same run: the
machine is shared and noisy, the ratios mean more than the absolute
figures; for seconds and KiB lower is better, for commands/s higher):

  - big folder: one user's INBOX holds 10,000 messages (the SpamAssassin
    corpus without its mbox "From " lines, taken with a stride of 7 and
    repeated), the same bytes in
    both servers (ombu: `ombu import`; Dovecot: files written into the
    Maildir with S= and W= sizes).  One connection LOGINs and SELECTs,
    then times, in seconds from sending the command to reading its tagged
    OK: `UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)`, `UID FETCH 1:*
    (BODY.PEEK[])`, `UID SEARCH TEXT "<word>"` for a word that about 2%
    of the messages hold ("mortgage") and for one that none does.  Warm: each command runs
    once untimed (Dovecot builds its index and cache then), then the
    median of --repeat runs is reported;
  - mixed load: N concurrent clients (--clients, 8 and 32), each on its
    own user (a 200-message INBOX) looping over a new connection: LOGIN,
    SELECT INBOX, FETCH of the newest 10 (UID FLAGS RFC822.SIZE ENVELOPE
    BODY.PEEK[]), STORE +/-FLAGS (\\Seen) on them, APPEND of a 4 KiB
    message (synchronising literal), UID STORE +FLAGS.SILENT (\\Deleted)
    on it, EXPUNGE, LOGOUT: commands per second over --seconds.  Dovecot
    runs twice, as configured by default (a new imap-login and imap
    process per connection) and tuned (imap-login service_count=0, imap
    processes reused 1,000 times); the ratio is against the faster.  The
    client's own CPU and the whole machine's busy CPU are printed, so one
    can see that the client is not the bottleneck;
  - idle memory: --idle (1,000 and 10,000) connections, each LOGIN
    (1,000 users, connection i as user i mod 1,000), SELECT INBOX (5
    messages), IDLE, held until the count is reached; then the PSS
    (/proc/PID/smaps_rollup) of every server process (ombu: master and
    workers; Dovecot: the master and all its descendants) minus the PSS
    measured before connecting (after a warm-up of a few sessions), over
    the number of connections.  Plaintext on the IMAP port and implicit
    TLS (ombu imaps.listen, Dovecot imaps with the same certificate:
    TLS 1.3, P-256).  Each server is restarted before each figure, so
    that memory freed by an earlier figure is not reused.  Dovecot runs
    as it is normally deployed: one imap process per connection, and
    imap-login in its default high-security mode (one login process per
    connection, which stays as the TLS proxy).  Dovecot at 10,000 runs
    only when the machine holds it: the 1,000 figure times 10,000 under
    half of MemAvailable, and the processes it needs under 60% of the
    free PIDs (kernel.pid_max); otherwise the row says "skipped" and why.
    ombu's figure includes its cache of open mailbox indexes (one SQLite
    handle per user, up to store.open_mailboxes (64) per worker, kept
    whatever the number of connections): a third row at the first count
    runs ombu with store.open_mailboxes=16 to show that part apart.
    Targets for ombu: < 64 KiB per plaintext idle connection, < 128 KiB
    with TLS, 10,000 held.

The client is a small C program (embedded below, compiled with cc and
OpenSSL into the scratch folder): blocking sockets, one thread per mixed
client, responses read in full (literals skipped by their counts) but not
parsed, so that the client is not what is measured.  The process raises
RLIMIT_NOFILE (soft and hard) for itself and the servers it starts;
client connections come from 127.0.0.2-251 so that the ephemeral ports
of one address do not run out.  Dovecot's IDLE falls back from inotify
to polling past fs.inotify.max_user_instances (128) processes of one
user; the benchmark leaves that system setting alone."""

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
import peers  # noqa: E402
from peers import ROOT, Dovecot, Ombu, free_port, pss_kib, scratch, wait_port  # noqa: E402
from sa_common import corpus_files, read_message  # noqa: E402
from lmtpclient import Client as LmtpClient, dot_stuff  # noqa: E402
from mbox import to_mboxrd  # noqa: E402

ROLES = ["imap", "imaps", "lmtp"]
OMBU_SETS = ["imap.max_connections_per_user=0", "imap.max_connections_per_ip=0"]
OMBU_WORKERS = 2
OPEN_MAILBOXES = 64      # ombu's default store.open_mailboxes, per worker
SMALL_CACHE = 16

CLIENT_C = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* imapbench fetch PORT USER PASS REPEAT CMD...
 *   LOGIN, SELECT INBOX, then each CMD REPEAT times; one line per run:
 *   "run cmd=I rep=J secs=S bytes=B ok=K"
 * imapbench mixed PORT THREADS SECONDS USERFILE MSGFILE
 *   thread t loops on user t: LOGIN, SELECT, FETCH, STORE, APPEND,
 *   UID STORE \Deleted, EXPUNGE, LOGOUT (8 commands, a new connection
 *   each cycle); prints "cycles=N cmds=M secs=S errors=E cpu=C"
 * imapbench idle PORT TLS COUNT THREADS USERFILE
 *   opens COUNT connections (user i % users), each LOGIN, SELECT INBOX,
 *   IDLE; prints "ready n=N errors=E secs=S cpu=C" once all are idling,
 *   then holds them until stdin is closed.
 * USERFILE: "user password" lines.  The responses are read in full
 * (literals skipped by their counts), never parsed beyond the first
 * bytes of each line. */

struct conn {
	int fd;
	SSL *ssl;
	char *buf;
	size_t pos, len, cap;
};

static char **users, **pws;
static size_t n_users;
static int port;
static SSL_CTX *ssl_ctx;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_self(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int fill(struct conn *c)
{
	c->pos = c->len = 0;
	for (;;) {
		ssize_t n;
		if (c->ssl != NULL) {
			n = SSL_read(c->ssl, c->buf, (int)c->cap);
		} else {
			n = recv(c->fd, c->buf, c->cap, 0);
			if (n < 0 && errno == EINTR)
				continue;
		}
		if (n <= 0)
			return -1;
		c->len = (size_t)n;
		return 0;
	}
}

static int sendall(struct conn *c, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n;
		if (c->ssl != NULL)
			n = SSL_write(c->ssl, p, (int)len);
		else
			n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int sendf(struct conn *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return sendall(c, line, (size_t)n);
}

/* Reads one whole response: a line, and when it ends in a literal
 * "{N}", the N bytes and the rest of the line, and so on.  HEAD gets
 * the first bytes of it.  Returns the bytes read, -1 at EOF. */
static long long response(struct conn *c, char *head, size_t hsz)
{
	size_t hl = 0, tl = 0;
	char tail[32];
	long long total = 0;
	int first = 1;
	for (;;) {
		if (c->pos == c->len && fill(c) < 0)
			return -1;
		char *p = c->buf + c->pos;
		size_t avail = c->len - c->pos;
		char *nl = memchr(p, '\n', avail);
		size_t seg = nl != NULL ? (size_t)(nl - p) + 1 : avail;
		if (first && hl + 1 < hsz) {
			size_t k = seg < hsz - 1 - hl ? seg : hsz - 1 - hl;
			memcpy(head + hl, p, k);
			hl += k;
		}
		if (seg >= sizeof(tail)) {
			memcpy(tail, p + seg - sizeof(tail), sizeof(tail));
			tl = sizeof(tail);
		} else {
			if (tl + seg > sizeof(tail)) {
				size_t drop = tl + seg - sizeof(tail);
				memmove(tail, tail + drop, tl - drop);
				tl -= drop;
			}
			memcpy(tail + tl, p, seg);
			tl += seg;
		}
		c->pos += seg;
		total += (long long)seg;
		if (nl == NULL)
			continue;
		/* a literal: "{123}\r\n" (or "~{123}") at the end of the line */
		long long lit = -1;
		if (tl >= 4 && tail[tl - 1] == '\n' && tail[tl - 2] == '\r' && tail[tl - 3] == '}') {
			size_t i = tl - 4;
			long long v = 0, mul = 1;
			while (i > 0 && tail[i] >= '0' && tail[i] <= '9') {
				v += (tail[i] - '0') * mul;
				mul *= 10;
				i--;
			}
			if (tail[i] == '{' && i < tl - 4)
				lit = v;
		}
		if (lit < 0) {
			head[hl] = 0;
			return total;
		}
		first = 0;
		tl = 0;
		while (lit > 0) {
			if (c->pos == c->len && fill(c) < 0)
				return -1;
			size_t take = c->len - c->pos;
			if ((long long)take > lit)
				take = (size_t)lit;
			c->pos += take;
			lit -= (long long)take;
			total += (long long)take;
		}
	}
}

struct info {
	long exists;
	long appenduid;
	long long bytes;
};

/* Reads responses up to the tagged one: 1 = OK, 0 = NO/BAD, -1 = EOF.
 * With plus set, a continuation request also ends it (returns 2). */
static int wait_tag(struct conn *c, const char *tag, struct info *inf, int plus)
{
	char head[256];
	size_t tlen = strlen(tag);
	for (;;) {
		long long n = response(c, head, sizeof(head));
		if (n < 0)
			return -1;
		if (inf != NULL) {
			inf->bytes += n;
			long v;
			char w[16];
			if (head[0] == '*' && sscanf(head, "* %ld %15s", &v, w) == 2 && strcmp(w, "EXISTS") == 0)
				inf->exists = v;
		}
		if (plus && head[0] == '+')
			return 2;
		if (strncmp(head, tag, tlen) == 0 && head[tlen] == ' ') {
			const char *r = head + tlen + 1;
			if (inf != NULL) {
				const char *a = strstr(r, "[APPENDUID ");
				unsigned long uv, uid;
				if (a != NULL && sscanf(a, "[APPENDUID %lu %lu", &uv, &uid) == 2)
					inf->appenduid = (long)uid;
			}
			return strncmp(r, "OK", 2) == 0 ? 1 : 0;
		}
	}
}

static int cmd(struct conn *c, const char *tag, struct info *inf, const char *fmt, ...)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s ", tag);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "\r\n");
	if (sendall(c, line, (size_t)n) < 0)
		return -1;
	return wait_tag(c, tag, inf, 0);
}

static int dial(struct conn *c, unsigned k, int tls)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* many source addresses: tens of thousands of connections (and their
	 * TIME_WAIT) would exhaust the ephemeral ports of one */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	struct sockaddr_in src = { .sin_family = AF_INET };
	src.sin_addr.s_addr = htonl(0x7f000000u | (2 + k % 250));
	bind(fd, (struct sockaddr *)&src, sizeof(src));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	a.sin_addr.s_addr = htonl(0x7f000001u);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->ssl = NULL;
	c->pos = c->len = 0;
	if (tls) {
		c->ssl = SSL_new(ssl_ctx);
		SSL_set_fd(c->ssl, fd);
		if (SSL_connect(c->ssl) != 1) {
			SSL_free(c->ssl);
			c->ssl = NULL;
			close(fd);
			return -1;
		}
	}
	char head[256];
	if (response(c, head, sizeof(head)) < 0 || strncmp(head, "* OK", 4) != 0) {
		if (c->ssl)
			SSL_free(c->ssl);
		c->ssl = NULL;
		close(fd);
		return -1;
	}
	return 0;
}

static void hangup(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void load_users(const char *path)
{
	FILE *f = fopen(path, "r");
	char u[400], p[400];
	while (f != NULL && fscanf(f, "%399s %399s", u, p) == 2) {
		users = realloc(users, (n_users + 1) * sizeof(*users));
		pws = realloc(pws, (n_users + 1) * sizeof(*pws));
		users[n_users] = strdup(u);
		pws[n_users] = strdup(p);
		n_users++;
	}
	if (f != NULL)
		fclose(f);
}

/* ---- fetch ---- */

static int do_fetch(int argc, char **argv)
{
	const char *user = argv[3], *pw = argv[4];
	int repeat = atoi(argv[5]);
	struct conn c = { .cap = 1 << 18 };
	c.buf = malloc(c.cap);
	if (dial(&c, 0, 0) < 0 || cmd(&c, "L", NULL, "LOGIN \"%s\" \"%s\"", user, pw) != 1 ||
	    cmd(&c, "S", NULL, "SELECT INBOX") != 1) {
		fprintf(stderr, "login/select failed\n");
		return 1;
	}
	for (int i = 6; i < argc; i++) {
		for (int j = 0; j < repeat; j++) {
			struct info inf = { 0 };
			double t0 = now();
			int ok = cmd(&c, "F", &inf, "%s", argv[i]);
			double el = now() - t0;
			printf("run cmd=%d rep=%d secs=%.6f bytes=%lld ok=%d\n", i - 6, j, el, inf.bytes, ok);
			fflush(stdout);
			if (ok < 0)
				return 1;
		}
	}
	cmd(&c, "O", NULL, "LOGOUT");
	return 0;
}

/* ---- mixed ---- */

static double mixed_seconds;
static int mixed_threads;
static char *append_msg;
static size_t append_len;

struct mres { unsigned long long cycles, cmds, errors; };

static int cycle(struct conn *c, size_t u, unsigned k, unsigned long long *cmds)
{
	struct info inf = { 0 };
	if (dial(c, k, 0) < 0)
		return -1;
	int rc = -1;
	if (cmd(c, "a", NULL, "LOGIN \"%s\" \"%s\"", users[u], pws[u]) != 1)
		goto out;
	(*cmds)++;
	if (cmd(c, "b", &inf, "SELECT INBOX") != 1 || inf.exists < 1)
		goto out;
	(*cmds)++;
	long n = inf.exists, lo = n > 10 ? n - 9 : 1;
	/* what a client shows when the folder opens: the newest ten */
	if (cmd(c, "c", NULL, "FETCH %ld:%ld (UID FLAGS RFC822.SIZE ENVELOPE BODY.PEEK[])", lo, n) != 1)
		goto out;
	(*cmds)++;
	if (cmd(c, "d", NULL, "STORE %ld:%ld %cFLAGS (\\Seen)", lo, n, k % 2 ? '+' : '-') != 1)
		goto out;
	(*cmds)++;
	if (sendf(c, "e APPEND INBOX (\\Seen) {%zu}\r\n", append_len) < 0 || wait_tag(c, "e", NULL, 1) != 2 ||
	    sendall(c, append_msg, append_len) < 0 || sendall(c, "\r\n", 2) < 0 ||
	    wait_tag(c, "e", &inf, 0) != 1 || inf.appenduid <= 0)
		goto out;
	(*cmds)++;
	if (cmd(c, "f", NULL, "UID STORE %ld +FLAGS.SILENT (\\Deleted)", inf.appenduid) != 1)
		goto out;
	(*cmds)++;
	if (cmd(c, "g", NULL, "EXPUNGE") != 1)
		goto out;
	(*cmds)++;
	if (cmd(c, "h", NULL, "LOGOUT") != 1)
		goto out;
	(*cmds)++;
	rc = 0;
out:
	hangup(c);
	return rc;
}

static void *mixed_thread(void *arg)
{
	unsigned t = (unsigned)(long)arg;
	struct mres *r = calloc(1, sizeof(*r));
	struct conn c = { .cap = 1 << 16, .fd = -1 };
	c.buf = malloc(c.cap);
	double end = now() + mixed_seconds;
	unsigned k = t;
	while (now() < end) {
		if (cycle(&c, t % n_users, k, &r->cmds) == 0)
			r->cycles++;
		else {
			r->errors++;
			usleep(1000);
		}
		k += (unsigned)mixed_threads;
	}
	free(c.buf);
	return r;
}

static int do_mixed(char **argv)
{
	mixed_threads = atoi(argv[3]);
	mixed_seconds = atof(argv[4]);
	load_users(argv[5]);
	FILE *f = fopen(argv[6], "rb");
	if (f == NULL || n_users < (size_t)mixed_threads)
		return 2;
	fseek(f, 0, SEEK_END);
	append_len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	append_msg = malloc(append_len);
	if (fread(append_msg, 1, append_len, f) != append_len)
		return 2;
	fclose(f);
	pthread_t th[512];
	struct mres tot = { 0 };
	double t0 = now(), c0 = cpu_self();
	for (int t = 0; t < mixed_threads; t++)
		pthread_create(&th[t], NULL, mixed_thread, (void *)(long)t);
	for (int t = 0; t < mixed_threads; t++) {
		struct mres *r;
		pthread_join(th[t], (void **)&r);
		tot.cycles += r->cycles;
		tot.cmds += r->cmds;
		tot.errors += r->errors;
		free(r);
	}
	printf("cycles=%llu cmds=%llu secs=%.4f errors=%llu cpu=%.3f\n", tot.cycles, tot.cmds, now() - t0,
	       tot.errors, cpu_self() - c0);
	return 0;
}

/* ---- idle ---- */

static struct conn *idle_conns;
static int idle_count, idle_threads, idle_tls;
static unsigned long long idle_errors;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int idle_one(struct conn *c, unsigned i)
{
	size_t u = i % n_users;
	if (dial(c, i, idle_tls) < 0)
		return -1;
	if (cmd(c, "a", NULL, "LOGIN \"%s\" \"%s\"", users[u], pws[u]) != 1 ||
	    cmd(c, "b", NULL, "SELECT INBOX") != 1 || sendall(c, "c IDLE\r\n", 8) < 0 ||
	    wait_tag(c, "c", NULL, 1) != 2) {
		hangup(c);
		return -1;
	}
	return 0;
}

static void *idle_thread(void *arg)
{
	unsigned t = (unsigned)(long)arg;
	unsigned long long err = 0;
	char *buf = malloc(4096);
	for (unsigned i = t; i < (unsigned)idle_count; i += (unsigned)idle_threads) {
		struct conn *c = &idle_conns[i];
		c->buf = buf; /* only used until the connection idles */
		c->cap = 4096;
		int tries = 0;
		while (idle_one(c, i) < 0) {
			if (++tries == 5) {
				err++;
				c->fd = -1;
				break;
			}
			usleep(100000);
		}
		c->buf = NULL;
	}
	free(buf);
	pthread_mutex_lock(&mu);
	idle_errors += err;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static int do_idle(char **argv)
{
	idle_tls = atoi(argv[3]);
	idle_count = atoi(argv[4]);
	idle_threads = atoi(argv[5]);
	load_users(argv[6]);
	if (n_users == 0 || idle_threads < 1 || idle_threads > 512)
		return 2;
	if (idle_tls) {
		ssl_ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_mode(ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	}
	idle_conns = calloc((size_t)idle_count, sizeof(*idle_conns));
	pthread_t th[512];
	double t0 = now(), c0 = cpu_self();
	for (int t = 0; t < idle_threads; t++)
		pthread_create(&th[t], NULL, idle_thread, (void *)(long)t);
	for (int t = 0; t < idle_threads; t++)
		pthread_join(th[t], NULL);
	printf("ready n=%llu errors=%llu secs=%.3f cpu=%.3f\n", (unsigned long long)idle_count - idle_errors,
	       idle_errors, now() - t0, cpu_self() - c0);
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof(line), stdin) != NULL)
		;
	for (int i = 0; i < idle_count; i++)
		if (idle_conns[i].fd >= 0)
			hangup(&idle_conns[i]);
	printf("closed\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	port = atoi(argv[2]);
	if (strcmp(argv[1], "fetch") == 0 && argc >= 7)
		return do_fetch(argc, argv);
	if (strcmp(argv[1], "mixed") == 0 && argc == 7)
		return do_mixed(argv);
	if (strcmp(argv[1], "idle") == 0 && argc == 7)
		return do_idle(argv);
	return 2;
}
"""


def build_client(base):
    src = os.path.join(base, "imapbench.c")
    exe = os.path.join(base, "imapbench")
    with open(src, "w") as f:
        f.write(CLIENT_C)
    subprocess.run(["cc", "-O2", "-pthread", "-o", exe, src, "-lssl", "-lcrypto"], check=True)
    return exe


def raise_nofile(n=200000):
    """For this process and the servers and clients it starts."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def tree(root):
    """root and all its descendants, from one pass over /proc (Dovecot
    runs one process per connection: thousands)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out = [root]
    i = 0
    while i < len(out):
        out += kids.get(out[i], [])
        i += 1
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def free_pids():
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    with open("/proc/loadavg") as f:
        tasks = int(f.read().split()[3].split("/")[1])
    return pid_max - tasks


def cpu_busy():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def password(user):
    return "pw-" + user.split("@")[0]


def userfile(base, name, users):
    path = os.path.join(base, name)
    with open(path, "w") as f:
        for u in users:
            f.write("%s %s\n" % (u, password(u)))
    return path


def crlf(m):
    m = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", m)
    return m if m.endswith(b"\r\n") else m + b"\r\n"


# --- filling the two servers with the same messages -------------------

def ombu_add_users(om, users):
    def add(u):
        subprocess.run([peers.OMBU, "--data", om.data, "user", "add", u, "--password-stdin"],
                       input=(password(u) + "\n").encode(), capture_output=True, check=True)
    with ThreadPoolExecutor(4) as ex:
        list(ex.map(add, users))


def ombu_import(om, user, msgs):
    p = subprocess.run([peers.OMBU, "--data", om.data, "import", user], input=to_mboxrd(msgs),
                       capture_output=True)
    if p.returncode != 0:
        raise RuntimeError("ombu import %s: %s" % (user, p.stderr.decode(errors="replace")))


def lmtp_many(port, users, msgs, batch=100):
    """Each message to every user, one transaction per batch of users."""
    c = LmtpClient(port, timeout=300)
    c.reply()
    c.cmd("LHLO bench.example")
    for m in msgs:
        for i in range(0, len(users), batch):
            rcpts = users[i:i + batch]
            c.cmd("MAIL FROM:<bench@example.org>")
            for u in rcpts:
                code, text = c.cmd("RCPT TO:<%s>" % u)
                if code != 250:
                    raise RuntimeError("RCPT %s: %s" % (u, text))
            c.cmd("DATA")
            c.send(dot_stuff(crlf(m)))
            for _ in rcpts:
                code, text = c.reply()
                if code != 250:
                    raise RuntimeError("DATA: %s" % text)
    c.cmd("QUIT")


def maildir_write(dv, user, msgs):
    """Files as Dovecot's LMTP leaves them: LF line ends, S= and W= sizes."""
    local, dom = user.split("@")
    root = os.path.join(dv.base, "mail", dom, local)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    t = int(time.time())
    for i, m in enumerate(msgs):
        vsize = len(m) + m.count(b"\n") - m.count(b"\r\n")
        name = "%d.M%06dP%d.bench,S=%d,W=%d:2," % (t, i, os.getpid(), len(m), vsize)
        with open(os.path.join(root, "cur", name), "wb") as f:
            f.write(m)


def dovecot_confs(dv, cert, key):
    """The peer's configuration plus TLS (imaps and STARTTLS, the same
    certificate as ombu) and no per-user connection limit; a second file
    tuned for connection rate."""
    dv.ports["imaps"] = free_port()
    conf = open(dv.conf).read()
    conf = conf.replace("ssl = no", "ssl = yes\nssl_cert = <%s\nssl_key = <%s" % (cert, key))
    conf, n = re.subn(r"(service imap-login \{\s*inet_listener imap \{.*?\}\s*inet_listener imaps \{\s*)port = 0",
                      r"\g<1>address = 127.0.0.1\n    port = %d" % dv.ports["imaps"], conf, flags=re.S)
    assert n == 1, "imaps listener not found in the Dovecot configuration"
    conf += "mail_max_userip_connections = 1000000\n"
    tuned = re.sub(r"(service imap-login \{.*?process_min_avail = 2)", r"\1\n  service_count = 0", conf,
                   flags=re.S)
    tuned = tuned.replace("service imap {\n  process_limit = 20000",
                          "service imap {\n  process_limit = 20000\n  service_count = 1000\n  process_min_avail = 4")
    assert tuned != conf
    default_path = dv.conf
    tuned_path = os.path.join(dv.base, "dovecot-tuned.conf")
    with open(default_path, "w") as f:
        f.write(conf)
    with open(tuned_path, "w") as f:
        f.write(tuned)
    return default_path, tuned_path


# --- the two servers behind one interface -----------------------------

class Peer:
    def __init__(self, name, srv, conf=None):
        self.name = name
        self.srv = srv
        self.conf = conf

    def start(self, conf=None, extra=()):
        if self.name == "ombu":
            self.srv.start(ROLES, workers=OMBU_WORKERS, extra=extra)
        else:
            self.srv.conf = conf or self.conf
            self.srv.start()
            wait_port(self.srv.ports["imaps"])
        return self

    def port(self, tls=False):
        return self.srv.ports["imaps" if tls else "imap"]

    def pids(self):
        return tree(self.srv.proc.pid)

    def stop(self):
        if self.srv.proc is None:
            return
        pids = self.pids()
        self.srv.stop()
        # Dovecot's children outlive a master killed after its timeout
        end = time.time() + 30
        for p in pids[1:]:
            while alive(p) and time.time() < end:
                time.sleep(0.05)
            if alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def settle(peer, procs, timeout=120):
    """Waits until the server is back to `procs` processes (Dovecot's
    imap processes end when their clients have gone)."""
    end = time.time() + timeout
    while time.time() < end and len(peer.pids()) > procs:
        time.sleep(0.2)


# --- the figures --------------------------------------------------------

def fetch_bench(exe, peer, user, cmds, repeat):
    """{command: (median seconds, bytes)} after one untimed run each."""
    p = subprocess.run([exe, "fetch", str(peer.port()), user, password(user), str(repeat + 1)] + cmds,
                       capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        raise RuntimeError("%s fetch: %s %s" % (peer.name, p.stdout[-300:], p.stderr[-300:]))
    runs = {}
    for line in p.stdout.splitlines():
        kv = dict(x.split("=") for x in line.split()[1:])
        if kv["ok"] != "1":
            raise RuntimeError("%s: %s failed" % (peer.name, cmds[int(kv["cmd"])]))
        if kv["rep"] != "0":
            runs.setdefault(cmds[int(kv["cmd"])], []).append((float(kv["secs"]), int(kv["bytes"])))
    return {c: (statistics.median(s for s, _ in r), r[-1][1]) for c, r in runs.items()}


def search_hits(port, user, word):
    """How many messages the server finds (not timed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=600)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b'a LOGIN "%s" "%s"\r\nb SELECT INBOX\r\nc UID SEARCH TEXT "%s"\r\nd LOGOUT\r\n'
              % (user.encode(), password(user).encode(), word.encode()))
    hits = None
    for line in f:
        if line.startswith(b"* SEARCH"):
            hits = len(line.split()) - 2
        if line.startswith(b"d "):
            break
    s.close()
    return hits


def mixed_bench(exe, peer, clients, seconds, ufile, msgfile):
    port = str(peer.port())
    # one short untimed pass: logins cached, indexes open
    subprocess.run([exe, "mixed", port, str(clients), "1", ufile, msgfile], capture_output=True,
                   check=True)
    b0 = cpu_busy()
    p = subprocess.run([exe, "mixed", port, str(clients), str(seconds), ufile, msgfile],
                       capture_output=True, text=True, check=True)
    b1 = cpu_busy()
    kv = dict(x.split("=") for x in p.stdout.split())
    secs = float(kv["secs"])
    ncpu = os.cpu_count()
    return dict(rate=int(kv["cmds"]) / secs, errors=int(kv["errors"]), cycles=int(kv["cycles"]),
                client_cpu=float(kv["cpu"]) / secs,
                busy=ncpu * (b1[0] - b0[0]) / max(b1[1] - b0[1], 1))


def idle_bench(exe, peer, tls, count, ufile, threads=16, extra=()):
    """KiB of PSS per idle connection, and how the run went."""
    port = str(peer.port(tls))
    peer.start(extra=extra)
    try:
        # warm-up: the first sessions load what every session shares
        w = subprocess.Popen([exe, "idle", port, "1" if tls else "0", "32", "8", ufile],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        w.stdout.readline()
        w.stdin.close()
        w.wait()
        time.sleep(2)
        base_pids = peer.pids()
        settle(peer, len(base_pids))
        time.sleep(1)
        base_pids = peer.pids()
        base = pss_kib(base_pids)
        p = subprocess.Popen([exe, "idle", port, "1" if tls else "0", str(count), str(threads), ufile],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        kv = dict(x.split("=") for x in line.split()[1:])
        time.sleep(3)
        pids = peer.pids()
        after = pss_kib(pids)
        p.stdin.close()
        p.stdout.readline()
        p.wait()
        settle(peer, len(base_pids))
        held = int(kv["n"])
        return dict(kib=(after - base) / max(held, 1), held=held, errors=int(kv["errors"]),
                    secs=float(kv["secs"]), client_cpu=float(kv["cpu"]), procs=len(pids),
                    base_procs=len(base_pids), base=base, after=after)
    finally:
        peer.stop()


SMALL = [b"From: friend@example.org\nTo: you@example.test\nSubject: note %d\n"
         b"Message-ID: <%d.idle@example.org>\nDate: Thu, 26 Nov 2026 10:00:00 +0000\n\n"
         b"A short message, as most of a mailbox is.\n" % (i, i) for i in range(5)]


def show_idle(name, r):
    print("  %-8s %7.1f KiB per connection (%d held, %d failed, opened in %.1f s; "
          "%d processes, %d before; PSS %.1f -> %.1f MiB; client CPU %.1f s)"
          % (name, r["kib"], r["held"], r["errors"], r["secs"], r["procs"], r["base_procs"],
             r["base"] / 1024, r["after"] / 1024, r["client_cpu"]), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small run: 2,000 messages, 8 clients, 200 idle")
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each big-folder command")
    ap.add_argument("--word", default="mortgage", help="a word that some messages hold")
    ap.add_argument("--absent", default="zqxvjkwplm", help="a word that none holds")
    ap.add_argument("--clients", default="8,32")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--mixed-messages", type=int, default=200)
    ap.add_argument("--idle", default="1000,10000")
    ap.add_argument("--idle-users", type=int, default=1000)
    ap.add_argument("--phases", default="big,mixed,idle", help="which figures to take")
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "results", "imap.txt"),
                    help="where the table is written ('' = nowhere)")
    args = ap.parse_args()
    if args.quick:
        args.messages, args.repeat, args.clients, args.seconds = 2000, 1, "8", 3
        args.mixed_messages, args.idle, args.idle_users = 50, "200", 50
    phases = set(args.phases.split(","))
    clients = [int(x) for x in args.clients.split(",")] if "mixed" in phases else []
    idle_counts = [int(x) for x in args.idle.split(",")] if "idle" in phases else []
    nofile = raise_nofile()

    corpus = [read_message(p) for _, p in corpus_files()]
    # stride 7 (coprime with the corpus size): ham and spam mixed in any prefix
    big = [corpus[(7 * i) % len(corpus)] for i in range(args.messages)]
    big_user = "big@example.test"
    mixed_users = ["m%02d@example.test" % i for i in range(max(clients, default=0))]
    mixed_msgs = {u: [corpus[(k * args.mixed_messages + j) % len(corpus)] for j in range(args.mixed_messages)]
                  for k, u in enumerate(mixed_users)}
    idle_users = ["i%04d@example.test" % i for i in range(args.idle_users)]
    users = [big_user] + mixed_users + idle_users
    append_msg = crlf(next(m for m in corpus if 3500 <= len(m) <= 4500))

    head = peers.head_commit()
    base = scratch()
    # a copy: others may rebuild build/ombu during the run
    shutil.copy(peers.OMBU, os.path.join(base, "ombu"))
    peers.OMBU = os.path.join(base, "ombu")
    exe = build_client(base)
    mfile = userfile(base, "mixed-users", mixed_users)
    ifile = userfile(base, "idle-users", idle_users)
    msgfile = os.path.join(base, "append.eml")
    with open(msgfile, "wb") as f:
        f.write(append_msg)
    notes = []
    res = {}
    started = []
    t_start = time.time()
    try:
        print("setting up: %d messages (%.1f MB) for %s; %d users x %d messages; %d idle users x 5"
              % (len(big), sum(map(len, big)) / 1e6, big_user, len(mixed_users), args.mixed_messages,
                 len(idle_users)), flush=True)
        om = Ombu(os.path.join(base, "o"), [], extra=OMBU_SETS)
        t0 = time.time()
        ombu_add_users(om, users)
        print("  ombu: %d users in %.0fs" % (len(users), time.time() - t0), flush=True)
        t0 = time.time()
        with ThreadPoolExecutor(3) as ex:
            jobs = [ex.submit(ombu_import, om, big_user, big)]
            jobs += [ex.submit(ombu_import, om, u, m) for u, m in mixed_msgs.items()]
            for j in jobs:
                j.result()
        n_imp = len(big) + len(mixed_users) * args.mixed_messages
        print("  ombu: imported %d messages in %.0fs" % (n_imp, time.time() - t0), flush=True)
        o = Peer("ombu", om)
        om.start(ROLES, workers=OMBU_WORKERS)
        lmtp_many(om.ports["lmtp"], idle_users, SMALL)
        om.stop()
        started.append(o)

        t0 = time.time()
        dv = Dovecot(os.path.join(base, "d"), users, protocols="imap")
        shutil.copy(os.path.join(om.data, "tls", "cert.pem"), os.path.join(dv.base, "cert.pem"))
        shutil.copy(os.path.join(om.data, "tls", "key.pem"), os.path.join(dv.base, "key.pem"))
        os.chmod(os.path.join(dv.base, "key.pem"), 0o600)
        conf_default, conf_tuned = dovecot_confs(dv, os.path.join(dv.base, "cert.pem"),
                                                 os.path.join(dv.base, "key.pem"))
        maildir_write(dv, big_user, big)
        for u, m in mixed_msgs.items():
            maildir_write(dv, u, m)
        for u in idle_users:
            maildir_write(dv, u, SMALL)
        subprocess.run(["chown", "-R", "dovecot:dovecot", os.path.join(dv.base, "mail")], check=True)
        d = Peer("dovecot", dv, conf_default)
        started.append(d)
        print("  Dovecot: users and Maildirs in %.0fs" % (time.time() - t0), flush=True)

        # -- the big folder --
        cmds = ["UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)", "UID FETCH 1:* (BODY.PEEK[])",
                'UID SEARCH TEXT "%s"' % args.word, 'UID SEARCH TEXT "%s"' % args.absent]
        if "big" in phases:
            print("big folder: %d messages, untimed run then %d timed" % (len(big), args.repeat), flush=True)
        for peer in (o, d) if "big" in phases else ():
            peer.start()
            try:
                r = fetch_bench(exe, peer, big_user, cmds, args.repeat)
                hits = search_hits(peer.port(), big_user, args.word)
            finally:
                peer.stop()
            res[peer.name + ".big"] = r
            res[peer.name + ".hits"] = hits
            for c in cmds:
                print("  %-8s %-46s %8.3f s  %10d bytes" % (peer.name, c, r[c][0], r[c][1]), flush=True)
            print("  %-8s %d messages hold %r" % (peer.name, hits, args.word), flush=True)

        # -- the mixed load --
        for n in clients:
            print("mixed load, %d clients, %.0f s" % (n, args.seconds), flush=True)
            for label, peer, conf in (("ombu", o, None), ("dovecot", d, conf_default),
                                      ("dovecot-tuned", d, conf_tuned)):
                peer.start(conf)
                try:
                    r = mixed_bench(exe, peer, n, args.seconds, mfile, msgfile)
                finally:
                    peer.stop()
                res["%s.mixed%d" % (label, n)] = r
                print("  %-14s %7.0f commands/s (%d cycles, %d errors); client CPU %.2f cores, "
                      "machine busy %.2f of %d cores" % (label, r["rate"], r["cycles"], r["errors"],
                                                         r["client_cpu"], r["busy"], os.cpu_count()),
                      flush=True)

        # -- idle connections --
        for count in idle_counts:
            for tls in (False, True):
                mode = "TLS" if tls else "plaintext"
                print("idle: %d %s connections" % (count, mode), flush=True)
                for peer in (o, d):
                    key = "%s.idle%d.%s" % (peer.name, count, "tls" if tls else "plain")
                    if peer is d and count > idle_counts[0]:
                        prev = res.get("%s.idle%d.%s" % (peer.name, idle_counts[0], "tls" if tls else "plain"))
                        need_kib = prev["kib"] * count if prev else 0
                        need_procs = count * (2 if tls else 1)
                        why = None
                        if prev is None:
                            why = "no figure at %d to estimate from" % idle_counts[0]
                        elif need_kib > 0.5 * mem_available_kib():
                            why = "would need about %.1f GiB, over half of MemAvailable (%.1f GiB)" % (
                                need_kib / 2**20, mem_available_kib() / 2**20)
                        elif need_procs > 0.6 * free_pids():
                            why = "would need %d processes, over 60%% of the %d free PIDs" % (
                                need_procs, free_pids())
                        if why:
                            res[key] = dict(skipped=why)
                            print("  %-8s skipped: %s" % (peer.name, why), flush=True)
                            notes.append("Dovecot, %d %s idle connections: skipped, %s." % (count, mode, why))
                            continue
                    r = idle_bench(exe, peer, tls, count, ifile)
                    res[key] = r
                    show_idle(peer.name, r)
                if count == idle_counts[0] and not tls:
                    # the same with a small cache of open mailbox indexes
                    r = idle_bench(exe, o, tls, count, ifile, extra=("store.open_mailboxes=%d" % SMALL_CACHE,))
                    res["ombu-cache.idle%d.plain" % count] = r
                    show_idle("ombu, store.open_mailboxes=%d" % SMALL_CACHE, r)
    finally:
        for p in started:
            try:
                p.stop()
            except Exception:  # noqa: BLE001
                pass
        if not os.environ.get("KEEP"):
            shutil.rmtree(base, ignore_errors=True)
        else:
            print("kept", base)

    lines = report(args, res, cmds, clients, idle_counts, notes, big, nofile, time.time() - t_start, head)
    print()
    print("\n".join(lines))
    if args.results:
        os.makedirs(os.path.dirname(args.results), exist_ok=True)
        with open(args.results, "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\nwritten to %s" % os.path.relpath(args.results, ROOT))


def split_idle(res, idle_counts, n_users):
    """What ombu's cache of open mailbox indexes (one SQLite handle per
    user, at most store.open_mailboxes per worker, kept whatever the
    number of connections) adds to the first idle figure."""
    if not idle_counts:
        return []
    count = idle_counts[0]
    full, small = res.get("ombu.idle%d.plain" % count), res.get("ombu-cache.idle%d.plain" % count)
    if not full or not small:
        return []
    users = min(count, n_users)
    handles = min(users, OMBU_WORKERS * OPEN_MAILBOXES) - min(users, OMBU_WORKERS * SMALL_CACHE)
    extra = full["kib"] * full["held"] - small["kib"] * small["held"]
    out = ["ombu at %d plaintext connections of %d users: %.1f KiB each with store.open_mailboxes=%d "
           "instead of %d; the difference, %.1f MiB, is the cache of open mailbox indexes (about %.0f KiB "
           "per cached index, at most %d per worker), which does not grow with the connections."
           % (count, users, small["kib"], SMALL_CACHE, OPEN_MAILBOXES, extra / 1024,
              extra / max(handles, 1), OPEN_MAILBOXES)]
    return out


def report(args, res, cmds, clients, idle_counts, notes, big, nofile, elapsed, head):
    dv_version = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    out = ["IMAP: ombu (build/ombu, tree at %s) against Dovecot %s, same machine, same run (bench/imap.py)"
           % (head, dv_version),
           "",
           "    /usr/bin/python3 bench/imap.py " + " ".join(sys.argv[1:]),
           "",
           "%s; %d CPUs, %.1f GiB RAM; load average at the end %s; %.0f minutes; RLIMIT_NOFILE %d"
           % (time.strftime("%Y-%m-%d %H:%M %Z"), os.cpu_count(),
              os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, load, elapsed / 60, nofile),
           "big folder: %d messages, %.1f MB (the SpamAssassin corpus repeated); median of %d warm runs"
           % (len(big), sum(map(len, big)) / 1e6, args.repeat),
           "",
           "| figure | ombu | Dovecot 2.3 | ombu / Dovecot |",
           "| --- | --- | --- | --- |"]
    names = {cmds[0]: "UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)",
             cmds[1]: "UID FETCH 1:* (BODY.PEEK[])",
             cmds[2]: 'UID SEARCH TEXT "%s" (%s / %s hits)' % (
                 args.word, res.get("ombu.hits"), res.get("dovecot.hits")),
             cmds[3]: 'UID SEARCH TEXT "%s" (absent)' % args.absent}
    if "ombu.big" in res and "dovecot.big" in res:
        for c in cmds:
            ob, db = res["ombu.big"][c], res["dovecot.big"][c]
            out.append("| %d msgs: %s, s | %.3f | %.3f | %.2fx |" % (len(big), names[c], ob[0], db[0],
                                                                     ob[0] / db[0]))
    for n in clients:
        k = "mixed%d" % n
        if "ombu." + k not in res or "dovecot-tuned." + k not in res:
            continue
        om, dd, dt = res["ombu." + k], res["dovecot." + k], res["dovecot-tuned." + k]
        best = max(dd["rate"], dt["rate"])
        out.append("| mixed load, %d clients, commands/s | %.0f | %.0f (default), %.0f (tuned) | %.2fx |"
                   % (n, om["rate"], dd["rate"], dt["rate"], om["rate"] / best))
    for count in idle_counts:
        for tls in ("plain", "tls"):
            ko, kd = res.get("ombu.idle%d.%s" % (count, tls)), res.get("dovecot.idle%d.%s" % (count, tls))
            if ko is None:
                continue
            label = "| idle in IDLE, %d %s connections, KiB PSS each" % (
                count, "plaintext" if tls == "plain" else "TLS")
            o_txt = "%.1f (%d held)" % (ko["kib"], ko["held"])
            if tls == "plain" and count == idle_counts[0] and res.get("ombu-cache.idle%d.plain" % count):
                kc = res["ombu-cache.idle%d.plain" % count]
                o_txt += "; %.1f with store.open_mailboxes=%d" % (kc["kib"], SMALL_CACHE)
            if kd is None or "skipped" in kd:
                out.append("%s | %s | skipped | |" % (label, o_txt))
            else:
                out.append("%s | %s | %.1f (%d held) | %.3fx |" % (label, o_txt, kd["kib"], kd["held"],
                                                                   ko["kib"] / kd["kib"]))
    split = split_idle(res, idle_counts, args.idle_users)
    out += [""] + split if split else []
    out.append("")
    out.append("Client CPU during the mixed load (cores of %d; the machine's busy CPU in brackets):"
               % os.cpu_count())
    for n in clients:
        parts = []
        for label in ("ombu", "dovecot", "dovecot-tuned"):
            r = res.get("%s.mixed%d" % (label, n))
            if r:
                parts.append("%s %.2f (%.2f)" % (label, r["client_cpu"], r["busy"]))
        out.append("  %d clients: %s" % (n, ", ".join(parts)))
    errs = [(k, r["errors"]) for k, r in res.items() if isinstance(r, dict) and r.get("errors")]
    if errs:
        out.append("Errors: " + ", ".join("%s %d" % e for e in errs))
    out.append("Targets for ombu: < 64 KiB per plaintext idle connection, < 128 KiB with TLS, 10,000 held.")
    out += notes
    return out


if __name__ == "__main__":
    main()
