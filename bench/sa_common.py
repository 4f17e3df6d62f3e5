"""Shared pieces of the rules-engine benchmarks (issue 7): the corpus, a
SpamAssassin spamd started on 127.0.0.1 with the Debian rule set and no
site configuration beyond what the comparison needs, and the cached
reference results.

SpamAssassin is configured exactly like ombu's engine is loaded:
  - rules: /usr/share/spamassassin only (-C), no sa-update directory;
  - plugins: Debian's /etc/spamassassin/*.pre, copied (these decide which
    `ifplugin` blocks exist); Debian's 65_debian.cf and local.cf are NOT
    read (a site config that adds rules);
  - local tests only (-L), use_bayes 0: score set 0;
  - a report template that lists every rule hit with its score and the
    `__` sub-rules hit, so that hits can be compared rule by rule."""

import glob
import gzip
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.environ.get("OMBU_SA_CORPUS",
                        os.path.join(ROOT, "..", "shared", "corpus", "spamassassin"))
SA_RULES = "/usr/share/spamassassin"
RESULTS = os.path.join(ROOT, "bench", "results")
REFERENCE = os.path.join(RESULTS, "sa-reference.tsv.gz")

SITE_CF = """# written by bench/sa_common.py: score set 0, nothing learnt
use_bayes 0
bayes_auto_learn 0
use_auto_welcomelist 0
clear_report_template
report OMBU-HITS _TESTSSCORES(,)_
report OMBU-SUBTESTS _SUBTESTS(,)_
"""


def corpus_files():
    """(kind, path) for every message, ham first, in name order."""
    out = []
    for kind in ("ham", "spam"):
        for p in sorted(glob.glob(os.path.join(CORPUS, kind, "*"))):
            out.append((kind, p))
    return out


def read_message(path):
    """The message without the mbox `From ` line."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"From "):
        nl = data.find(b"\n")
        data = data[nl + 1:] if nl >= 0 else b""
    return data


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=120, proc=None):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("peer exited with %d" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nothing listens on %d" % port)


def ensure_packages(*pkgs):
    missing = [p for p in pkgs if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq"] + missing, env=env, check=True,
                       stdout=subprocess.DEVNULL)


class Spamd:
    """spamd on 127.0.0.1:random, children = `children`, stopped by PID."""

    def __init__(self, children=2):
        ensure_packages("spamd", "spamc")
        self.dir = tempfile.mkdtemp(prefix="ombu-spamd-")
        os.chmod(self.dir, 0o755)
        self.site = os.path.join(self.dir, "site")
        os.makedirs(self.site)
        for pre in glob.glob("/etc/spamassassin/*.pre"):
            shutil.copy(pre, self.site)
        with open(os.path.join(self.site, "local.cf"), "w") as f:
            f.write(SITE_CF)
        home = os.path.join(self.dir, "home")
        os.makedirs(home)
        shutil.chown(home, "nobody", "nogroup")
        self.port = free_port()
        self.pidfile = os.path.join(self.dir, "spamd.pid")
        self.log = open(os.path.join(self.dir, "spamd.log"), "w")
        self.cmd = ["spamd", "-L", "-x", "-u", "nobody", "-C", SA_RULES,
                    "--siteconfigpath", self.site, "--helper-home-dir", home,
                    "-i", "127.0.0.1", "-p", str(self.port), "-A", "127.0.0.1",
                    "-m", str(children), "--min-children", str(children),
                    "--min-spare", str(children), "--max-spare", str(children),
                    "-s", "stderr", "-r", self.pidfile]
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=self.log)
        wait_port(self.port, proc=self.proc)
        # spamd answers before its children are ready; one scan warms them.
        self.scan(b"Subject: warm\n\nwarm\n")

    def scan(self, msg):
        """(score, {rule: score}, [subrules], seconds) for one message."""
        t0 = time.perf_counter()
        p = subprocess.run(["spamc", "-d", "127.0.0.1", "-p", str(self.port), "-R",
                            "-s", str(64 * 1024 * 1024), "-t", "600"],
                           input=msg, capture_output=True)
        el = time.perf_counter() - t0
        return parse_report(p.stdout.decode("utf-8", "replace")) + (el,)

    def stop(self):
        # The master's PID: spamd's own pidfile, else the process we started.
        pid = self.proc.pid
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            pass
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def parse_report(text):
    score = None
    hits = {}
    subs = []
    for line in text.splitlines():
        line = line.strip()
        if score is None and "/" in line and not line.startswith("OMBU-"):
            try:
                score = float(line.split("/")[0])
            except ValueError:
                pass
        elif line.startswith("OMBU-HITS "):
            v = line[len("OMBU-HITS "):].strip()
            if v != "none":
                for item in v.split(","):
                    if "=" in item:
                        n, s = item.split("=", 1)
                        hits[n] = float(s)
        elif line.startswith("OMBU-SUBTESTS "):
            v = line[len("OMBU-SUBTESTS "):].strip()
            if v != "none":
                subs = [s for s in v.split(",") if s]
    if hits:
        score = round(sum(hits.values()), 3)
    return (score if score is not None else 0.0, hits, subs)


def load_reference(path=REFERENCE):
    """{relative path: (score, {rule: score}, {subrule: times hit})}"""
    ref = {}
    if not os.path.exists(path):
        return ref
    with gzip.open(path, "rt") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 4 or parts[0].startswith("#"):
                continue
            name, score, hits, subs = parts[:4]
            h = {}
            if hits:
                for item in hits.split(","):
                    n, s = item.split("=", 1)
                    h[n] = float(s)
            sub = {}
            for item in subs.split(",") if subs else []:
                n, _, c = item.partition("*")
                sub[n] = int(c) if c else 1
            ref[name] = (float(score), h, sub)
    return ref


def relname(path):
    return os.path.relpath(path, CORPUS)


# A small driver over ombu's rules engine (src/filter/sa.h), compiled
# against the static libraries of the build: it loads the rules once and
# scans the files named on stdin, one result line each, on N threads.
DRIVER_C = r'''
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "filter/sa.h"
#include "lib/pool.h"

static struct sa_engine *eng;
static char **files;
static size_t nfiles, next_file;
static char **out;
static int stats;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void warn_cb(void *ctx, const char *msg) { (void)ctx; if (getenv("SA_WARN")) fprintf(stderr, "warn: %s\n", msg); }

static char *slurp(const char *path, size_t *len) {
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	*len = fread(b, 1, (size_t)n, f); b[*len] = 0; fclose(f);
	return b;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }

static void *worker(void *arg) {
	(void)arg;
	struct pool *pool = pool_create("scan", 256 * 1024);
	for (;;) {
		pthread_mutex_lock(&mu);
		size_t i = next_file++;
		pthread_mutex_unlock(&mu);
		if (i >= nfiles) break;
		size_t len; char *msg = slurp(files[i], &len);
		if (!msg) continue;
		struct sa_result r;
		double t0 = now();
		sa_engine_scan(eng, pool, msg, len, NULL, stats, &r);
		double us = now() - t0;
		size_t cap = 4096 + r.n_hits * 64 + r.n_subrules * 64, o = 0;
		char *line = malloc(cap);
		o += snprintf(line + o, cap - o, "%s\t%.3f\t", files[i], r.score);
		for (size_t k = 0; k < r.n_hits; k++)
			o += snprintf(line + o, cap - o, "%s%s=%g", k ? "," : "", r.hits[k].name, r.hits[k].score);
		o += snprintf(line + o, cap - o, "\t");
		for (size_t k = 0; k < r.n_subrules; k++)
			o += snprintf(line + o, cap - o, "%s%s", k ? "," : "", r.subrules[k]);
		snprintf(line + o, cap - o, "\t%.1f\n", us);
		if (stats && getenv("SA_TIMINGS")) {
			pthread_mutex_lock(&mu);
			for (size_t k = 0; k < r.n_timings; k++)
				if (r.timings[k].usec >= 5)
					fprintf(stderr, "T\t%s\t%.1f\n", r.timings[k].name, r.timings[k].usec);
			pthread_mutex_unlock(&mu);
		}
		out[i] = line;
		free(msg);
		pool_clear(pool);
	}
	pool_destroy(&pool);
	return NULL;
}

int main(int argc, char **argv) {
	const char *dir = argc > 1 ? argv[1] : "/usr/share/spamassassin";
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	stats = argc > 3 ? atoi(argv[3]) : 0;
	const char *err;
	double t0 = now();
	eng = sa_engine_load(dir, NULL, NULL, warn_cb, NULL, &err);
	if (!eng) { fprintf(stderr, "load: %s\n", err); return 1; }
	fprintf(stderr, "loaded %zu rules (%zu active) in %.0f ms\n", sa_engine_rule_count(eng), sa_engine_active_count(eng), (now() - t0) / 1000);
	if (getenv("SA_UNSUPPORTED")) {
		const struct sa_unsupported *u;
		size_t nu = sa_engine_unsupported(eng, &u);
		for (size_t i = 0; i < nu; i++) {
			fprintf(stderr, "unsupported\t%s\t%s\t", u[i].what, u[i].why);
			for (size_t k = 0; k < u[i].n_rules; k++) fprintf(stderr, "%s%s", k ? "," : "", u[i].rules[k]);
			fprintf(stderr, "\n");
		}
		const char *const *names;
		size_t ns = sa_eval_supported(&names);
		for (size_t i = 0; i < ns; i++)
			fprintf(stderr, "supported\t%s\n", names[i]);
	}
	char buf[4096]; size_t cap = 0;
	while (fgets(buf, sizeof buf, stdin)) {
		buf[strcspn(buf, "\n")] = 0;
		if (!buf[0]) continue;
		if (nfiles == cap) { cap = cap ? cap * 2 : 1024; files = realloc(files, cap * sizeof(char *)); }
		files[nfiles++] = strdup(buf);
	}
	out = calloc(nfiles + 1, sizeof(char *));
	pthread_t th[64];
	if (threads < 1) threads = 1;
	if (threads > 64) threads = 64;
	double w0 = now();
	for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, worker, NULL);
	for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
	double wall = now() - w0;
	for (size_t i = 0; i < nfiles; i++) if (out[i]) fputs(out[i], stdout);
	fprintf(stderr, "scanned %zu messages in %.3f s on %d threads\n", nfiles, wall / 1e6, threads);
	sa_engine_free(&eng);
	return 0;
}
'''


def build_driver(build_dir=None):
    """Compiles the driver against build/'s libraries; returns its path."""
    build_dir = build_dir or os.path.join(ROOT, "build")
    out_dir = os.path.join(build_dir, "bench-sa")
    os.makedirs(out_dir, exist_ok=True)
    src = os.path.join(out_dir, "sa-driver.c")
    exe = os.path.join(out_dir, "sa-driver")
    with open(src, "w") as f:
        f.write(DRIVER_C)
    libs = ["filter", "mime", "directory", "lib"]
    pc = subprocess.run(["pkg-config", "--libs", "libpcre2-8", "libcares", "libevent_core",
                         "libevent_openssl", "libevent_pthreads", "libssl", "libcrypto", "inih",
                         "sqlite3", "libxcrypt", "libpq"], capture_output=True, text=True, check=True)
    cmd = (["gcc", "-O2", "-D_GNU_SOURCE", "-I", os.path.join(ROOT, "src"), src, "-o", exe]
           + [os.path.join(build_dir, "src", "libombu_%s.a" % l) for l in libs]
           + pc.stdout.split() + ["-lpthread", "-lm"])
    subprocess.run(cmd, check=True)
    return exe


def run_driver(files, threads=1, stats=False, rules=SA_RULES, exe=None):
    """{path: (score, {rule: score}, {subrule: 1}, usec)} and the stderr text."""
    exe = exe or build_driver()
    p = subprocess.run([exe, rules, str(threads), "1" if stats else "0"],
                       input="\n".join(files) + "\n", capture_output=True, text=True)
    res = {}
    for line in p.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) < 5:
            continue
        path, score, hits, subs, us = parts[:5]
        h = {}
        if hits:
            for item in hits.split(","):
                n, s = item.split("=", 1)
                h[n] = float(s)
        res[path] = (float(score), h, {x: 1 for x in subs.split(",") if x}, float(us))
    return res, p.stderr
