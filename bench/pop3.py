#!/usr/bin/python3
"""POP3: ombu against Dovecot 2.3's POP3 (Maildir, passwd-file with
SHA512-CRYPT), same users, same mail, same client, same run.

    /usr/bin/python3 bench/pop3.py [--clients 8] [--users 64] [--seconds 8] [--rounds 3]

Figures:
  - logins per second for USER/PASS + STAT + UIDL + QUIT (every command a
    round trip, as a polling client does it), `--clients` concurrent
    clients, each user holding 5 small messages: with the credentials
    cache warm, and cold (ombu: auth.cache_ttl=0, every login one
    yescrypt; Dovecot: auth_cache_size=0, every login one SHA512-CRYPT);
    server CPU per login from /proc;
  - RETR throughput (MB/s of message bytes) over a 1,000-message maildrop
    (the first 1,000 messages of the SpamAssassin corpus), one client
    fetching them one after the other, and 4 clients on 4 such maildrops.

Dovecot runs twice for the logins: as bench/peers.py configures it
(pop3-login in its default high-security mode, a process per connection)
and tuned for speed (pop3-login service_count=0, pop3 processes reused);
the ratio is taken against the faster of the two.

The client is a small C program (embedded below, compiled with cc into
the scratch folder) with one thread per client, so that the client is
not what is measured.  Each round runs ombu and Dovecot one after the
other and prints their ratio: the machine is shared and noisy."""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
from peers import Dovecot, Ombu, corpus_files, cpu_seconds, scratch  # noqa: E402
from lmtpclient import Client, dot_stuff  # noqa: E402
from mbox import smtplib_eols, strip_from_line  # noqa: E402

CLIENT_C = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* pop3bench login PORT THREADS SECONDS USERFILE
 * pop3bench retr PORT THREADS PASSES USERFILE
 * USERFILE: "user password" lines; thread t uses lines t, t+THREADS, ...
 * Prints: "count=N bytes=B secs=S errors=E". */

struct rd { int fd; char buf[1 << 18]; size_t pos, len; };

static char **users, **pws;
static size_t n_users;
static int port, threads;
static double seconds;
static int passes;
static int mode_retr;

struct result { unsigned long long count, bytes, errors; };

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fill(struct rd *r)
{
	if (r->pos == r->len)
		r->pos = r->len = 0;
	if (r->len == sizeof(r->buf)) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	ssize_t n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
	if (n <= 0)
		return -1;
	r->len += (size_t)n;
	return 0;
}

/* Reads one line; returns 1 for +OK, 0 for anything else, -1 on EOF. */
static int status(struct rd *r)
{
	for (;;) {
		char *lf = memchr(r->buf + r->pos, '\n', r->len - r->pos);
		if (lf != NULL) {
			int ok = r->len - r->pos >= 3 && memcmp(r->buf + r->pos, "+OK", 3) == 0;
			r->pos = (size_t)(lf - r->buf) + 1;
			return ok;
		}
		if (fill(r) < 0)
			return -1;
	}
}

/* Skips a multi-line body up to CRLF.CRLF (the status line's CRLF
 * counts); returns its size. */
static long long multi(struct rd *r)
{
	static const char T[] = "\r\n.\r\n";
	int m = 2;
	long long n = 0;
	for (;;) {
		while (r->pos < r->len) {
			char b = r->buf[r->pos++];
			n++;
			if (b == T[m])
				m++;
			else
				m = b == '\r' ? 1 : 0;
			if (m == 5)
				return n;
		}
		if (fill(r) < 0)
			return -1;
	}
}

static int sendstr(int fd, const char *s)
{
	size_t len = strlen(s);
	return send(fd, s, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static int dial(int t)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* one source address per thread: the ephemeral ports of one address
	 * would run out in a login storm (TIME_WAIT) */
	struct sockaddr_in src = { .sin_family = AF_INET };
	src.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)(2 + t));
	bind(fd, (struct sockaddr *)&src, sizeof(src));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	a.sin_addr.s_addr = htonl(0x7f000001u);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int login(struct rd *r, size_t u)
{
	char cmd[512];
	if (status(r) != 1)
		return -1;
	snprintf(cmd, sizeof(cmd), "USER %s\r\n", users[u]);
	if (sendstr(r->fd, cmd) < 0 || status(r) != 1)
		return -1;
	snprintf(cmd, sizeof(cmd), "PASS %s\r\n", pws[u]);
	if (sendstr(r->fd, cmd) < 0 || status(r) != 1)
		return -1;
	return 0;
}

static void *run(void *arg)
{
	int t = (int)(long)arg;
	struct result *res = calloc(1, sizeof(*res));
	struct rd *r = malloc(sizeof(*r));
	size_t k = (size_t)t;
	double end = now() + seconds;
	int pass = 0;
	while (mode_retr ? pass < passes : now() < end) {
		size_t u = k % n_users;
		k += (size_t)threads;
		r->fd = dial(t);
		r->pos = r->len = 0;
		if (r->fd < 0 || login(r, u) < 0) {
			res->errors++;
			if (r->fd >= 0)
				close(r->fd);
			usleep(1000);
			continue;
		}
		if (!mode_retr) {
			if (sendstr(r->fd, "STAT\r\n") < 0 || status(r) != 1 ||
			    sendstr(r->fd, "UIDL\r\n") < 0 || status(r) != 1 || multi(r) < 0 ||
			    sendstr(r->fd, "QUIT\r\n") < 0 || status(r) != 1)
				res->errors++;
			else
				res->count++;
		} else {
			/* STAT, then every message in turn */
			char line[64];
			unsigned long n = 0;
			if (sendstr(r->fd, "STAT\r\n") == 0) {
				for (;;) {
					char *lf = memchr(r->buf + r->pos, '\n', r->len - r->pos);
					if (lf != NULL) {
						sscanf(r->buf + r->pos, "+OK %lu", &n);
						r->pos = (size_t)(lf - r->buf) + 1;
						break;
					}
					if (fill(r) < 0)
						break;
				}
			}
			for (unsigned long i = 1; i <= n; i++) {
				snprintf(line, sizeof(line), "RETR %lu\r\n", i);
				long long b;
				if (sendstr(r->fd, line) < 0 || status(r) != 1 || (b = multi(r)) < 0) {
					res->errors++;
					break;
				}
				res->bytes += (unsigned long long)b;
				res->count++;
			}
			sendstr(r->fd, "QUIT\r\n");
			status(r);
			pass++;
		}
		close(r->fd);
	}
	free(r);
	return res;
}

int main(int argc, char **argv)
{
	if (argc != 6)
		return 2;
	mode_retr = strcmp(argv[1], "retr") == 0;
	port = atoi(argv[2]);
	threads = atoi(argv[3]);
	seconds = atof(argv[4]);
	passes = atoi(argv[4]);
	FILE *f = fopen(argv[5], "r");
	char u[400], p[400];
	while (f != NULL && fscanf(f, "%399s %399s", u, p) == 2) {
		users = realloc(users, (n_users + 1) * sizeof(*users));
		pws = realloc(pws, (n_users + 1) * sizeof(*pws));
		users[n_users] = strdup(u);
		pws[n_users] = strdup(p);
		n_users++;
	}
	if (n_users == 0)
		return 2;
	pthread_t th[256];
	struct result total = { 0 };
	double t0 = now();
	for (int t = 0; t < threads; t++)
		pthread_create(&th[t], NULL, run, (void *)(long)t);
	for (int t = 0; t < threads; t++) {
		struct result *r;
		pthread_join(th[t], (void **)&r);
		total.count += r->count;
		total.bytes += r->bytes;
		total.errors += r->errors;
		free(r);
	}
	printf("count=%llu bytes=%llu secs=%.4f errors=%llu\n", total.count, total.bytes, now() - t0,
	       total.errors);
	return 0;
}
"""


def build_client(base):
    src = os.path.join(base, "pop3bench.c")
    exe = os.path.join(base, "pop3bench")
    with open(src, "w") as f:
        f.write(CLIENT_C)
    subprocess.run(["cc", "-O2", "-pthread", "-o", exe, src], check=True)
    return exe


def wire(path):
    m = smtplib_eols(strip_from_line(open(path, "rb").read()))
    return m if m.endswith(b"\r\n") else m + b"\r\n"


def lmtp_fill(port, plan):
    """plan: list of (rcpt, message)."""
    c = Client(port, timeout=120)
    c.reply()
    c.cmd("LHLO bench.example")
    for rcpt, msg in plan:
        c.cmd("MAIL FROM:<bench@example.org>")
        code, text = c.cmd("RCPT TO:<%s>" % rcpt)
        if code != 250:
            raise RuntimeError("RCPT %s: %s" % (rcpt, text))
        c.cmd("DATA")
        c.send(dot_stuff(msg))
        code, text = c.reply()
        if code != 250:
            raise RuntimeError("DATA: %s" % text)
    c.cmd("QUIT")


def userfile(base, name, users):
    path = os.path.join(base, name)
    with open(path, "w") as f:
        for u in users:
            f.write("%s pw-%s\n" % (u, u.split("@")[0]))
    return path


def run_client(exe, mode, port, clients, arg, ufile, pids):
    c0 = cpu_seconds(pids())
    p = subprocess.run([exe, mode, str(port), str(clients), str(arg), ufile], capture_output=True,
                       text=True, check=True)
    cpu = cpu_seconds(pids()) - c0
    m = dict(kv.split("=") for kv in p.stdout.split())
    return int(m["count"]), int(m["bytes"]), float(m["secs"]), int(m["errors"]), cpu


SMALL = [b"From: friend@example.org\r\nSubject: note %d\r\nMessage-ID: <%d.bench@example.org>\r\n\r\n"
         b"A short message, as most of a dial-up user's mail is.\r\n" % (i, i) for i in range(5)]


def tune_dovecot(dv):
    """pop3-login reused for many connections, pop3 processes kept."""
    conf = open(dv.conf).read()
    conf = re.sub(r"(service pop3-login \{.*?process_min_avail = 2)",
                  r"\1\n  service_count = 0", conf, flags=re.S)
    conf += "\nservice pop3 {\n  service_count = 1000\n  process_min_avail = 4\n}\n"
    with open(dv.conf, "w") as f:
        f.write(conf)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--users", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--retr-messages", type=int, default=1000)
    args = ap.parse_args()
    users = ["u%03d@example.test" % i for i in range(args.users)]
    retr_users = ["r%d@example.test" % i for i in range(4)]
    corpus = [wire(f) for f in corpus_files()[:args.retr_messages]]
    corpus_bytes = sum(len(m) for m in corpus)
    base = scratch()
    exe = build_client(base)
    ufile = userfile(base, "users", users)
    rfile1 = userfile(base, "retr1", retr_users[:1])
    rfile4 = userfile(base, "retr4", retr_users)
    plan = [(u, m) for u in users for m in SMALL] + [(u, m) for u in retr_users for m in corpus]
    servers = []
    res = {}

    def add(key, value):
        res.setdefault(key, []).append(value)

    try:
        print("setting up: %d users, 5 messages each; %d x %d messages (%.1f MB) for RETR"
              % (len(users), len(retr_users), len(corpus), corpus_bytes / 1e6), flush=True)
        om = Ombu(os.path.join(base, "o"), users + retr_users)
        servers.append(om)
        om.start(["pop3", "lmtp"], workers=2)
        lmtp_fill(om.ports["lmtp"], plan)
        dvs = {}
        for name, cache, tuned in (("dovecot", "10M", False), ("dovecot-tuned", "10M", True),
                                   ("dovecot-cold", "0", True)):
            dv = Dovecot(os.path.join(base, name), users + retr_users, protocols="lmtp pop3",
                         auth_cache=cache)
            if tuned:
                tune_dovecot(dv)
            servers.append(dv)
            dvs[name] = dv
        dv = dvs["dovecot"].start()
        lmtp_fill(dv.ports["lmtp"], plan)
        dv.stop()
        # the other two Dovecots read the same mail
        for name in ("dovecot-tuned", "dovecot-cold"):
            shutil.rmtree(os.path.join(dvs[name].base, "mail"))
            shutil.copytree(os.path.join(dvs["dovecot"].base, "mail"), os.path.join(dvs[name].base, "mail"),
                            symlinks=True)
            subprocess.run(["chown", "-R", "dovecot:dovecot", os.path.join(dvs[name].base, "mail")])

        def login_bench(label, port, pids):
            # one pass over every user first: caches warm, mailboxes open
            run_client(exe, "login", port, args.clients, 1.0, ufile, pids)
            n, _, secs, err, cpu = run_client(exe, "login", port, args.clients, args.seconds, ufile, pids)
            rate = n / secs
            print("  %-14s logins: %6.0f /s  (%d in %.1fs, %d errors, server CPU %.2f ms/login)"
                  % (label, rate, n, secs, err, 1000 * cpu / max(n, 1)), flush=True)
            add(label + ".login", rate)
            add(label + ".cpu", 1000 * cpu / max(n, 1))
            return rate

        def retr_bench(label, port, pids):
            for clients, rf in ((1, rfile1), (4, rfile4)):
                run_client(exe, "retr", port, clients, 1, rf, pids)   # warm the page cache
                passes = 5 if clients == 1 else 3
                n, b, secs, err, cpu = run_client(exe, "retr", port, clients, passes, rf, pids)
                mbs = b / secs / 1e6
                print("  %-14s RETR x%d: %6.1f MB/s (%d messages, %.1f MB in %.2fs, %d errors)"
                      % (label, clients, mbs, n, b / 1e6, secs, err), flush=True)
                add("%s.retr%d" % (label, clients), mbs)

        for r in range(args.rounds):
            print("round %d" % (r + 1), flush=True)
            om.stop()
            om.start(["pop3", "lmtp"], workers=2, extra=())
            o_rate = login_bench("ombu", om.ports["pop3"], om.pids)
            dv_rates = []
            for name in ("dovecot", "dovecot-tuned"):
                d = dvs[name].start()
                dv_rates.append(login_bench(name, d.ports["pop3"], d.pids))
                if name == "dovecot-tuned":
                    retr_bench(name, d.ports["pop3"], d.pids)
                d.stop()
            retr_bench("ombu", om.ports["pop3"], om.pids)
            print("  warm ratio ombu / best Dovecot: %.2fx" % (o_rate / max(dv_rates)), flush=True)
            add("ratio.warm", o_rate / max(dv_rates))
            # cold: every login hashes
            om.stop()
            om.start(["pop3", "lmtp"], workers=2, extra=("auth.cache_ttl=0",))
            oc = login_bench("ombu-cold", om.ports["pop3"], om.pids)
            d = dvs["dovecot-cold"].start()
            dc = login_bench("dovecot-cold", d.ports["pop3"], d.pids)
            d.stop()
            print("  cold ratio ombu / Dovecot: %.2fx" % (oc / dc), flush=True)
            add("ratio.cold", oc / dc)
            for k in (1, 4):
                add("ratio.retr%d" % k, res["ombu.retr%d" % k][-1] / res["dovecot-tuned.retr%d" % k][-1])
    finally:
        for s in servers:
            try:
                s.stop()
            except Exception:  # noqa: BLE001
                pass
        if not os.environ.get("KEEP"):
            shutil.rmtree(base, ignore_errors=True)
        else:
            print("kept", base)

    def med(k):
        return statistics.median(res[k])

    def runs(k, fmt="%.0f"):
        return ", ".join(fmt % v for v in res[k])

    print()
    print("medians of %d rounds (every round: %s)" % (args.rounds, "per-round figures in brackets"))
    print("| figure | ombu | Dovecot 2.3 | ombu / Dovecot (per round) |")
    print("| --- | --- | --- | --- |")
    print("| logins/s, warm cache, %d clients (USER/PASS+STAT+UIDL+QUIT) | %.0f | %.0f default, %.0f tuned | %.2fx [%s] |" % (
        args.clients, med("ombu.login"), med("dovecot.login"), med("dovecot-tuned.login"),
        med("ratio.warm"), runs("ratio.warm", "%.2f")))
    print("| server CPU per login, warm | %.2f ms | %.2f ms default, %.2f ms tuned | |" % (
        med("ombu.cpu"), med("dovecot.cpu"), med("dovecot-tuned.cpu")))
    print("| logins/s, cold (every login hashes: yescrypt / SHA512-CRYPT) | %.0f | %.0f | %.2fx [%s] |" % (
        med("ombu-cold.login"), med("dovecot-cold.login"), med("ratio.cold"), runs("ratio.cold", "%.2f")))
    for k in (1, 4):
        print("| RETR, %d client%s x %d messages (MB/s) | %.1f | %.1f | %.2fx [%s] |" % (
            k, "s" if k > 1 else "", len(corpus), med("ombu.retr%d" % k), med("dovecot-tuned.retr%d" % k),
            med("ratio.retr%d" % k), runs("ratio.retr%d" % k, "%.2f")))


if __name__ == "__main__":
    main()
