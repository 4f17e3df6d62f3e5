#!/usr/bin/python3
"""Filter throughput and detection (issue 7), one run, this machine:

  - ombu: `ombu check --json FILE...` — the filter exactly as the MX runs
    it (MIME parse, the full Debian rule set, the policy), one process,
    one thread;
  - SpamAssassin: spamd driven by spamc, the same rules, local tests only,
    no Bayes (bench/sa_common.py configures it);
  - rspamd 3.4 with its own default rules, offline: the modules that need
    the network or Redis are switched off and DNS points nowhere.

Throughput is reported per core: messages per CPU-second of the scanning
processes (ombu's rule loading is measured apart and taken out). spamd is
slow enough that it gets a sample (every --spamd-every'th message);
ombu and rspamd scan the whole corpus.  The ratio to rspamd comes from
ombu and rspamd taking turns on the same chunks (--chunks), because this
machine's speed drifts by a fifth from minute to minute and rspamd's
pass alone takes minutes.

Detection at the `normal` level (tag 5.0): a ham at or over 5 is a false
positive, a spam at or over 5 is caught.  For rspamd, its own actions
(anything but `no action` and `greylist`) count as caught.

    /usr/bin/python3 bench/filter.py [--limit N] [--spamd-every 10] [--ombu-passes 3] [--chunks 6]

Prints the figures and adds them, with the date and the commit, at the
top of bench/results/filter.txt (earlier runs stay below)."""

import argparse
import glob
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import head_commit  # noqa: E402
from sa_common import Spamd, corpus_files, free_port, read_message, wait_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OMBU = os.path.join(ROOT, "build", "ombu")
TAG = 5.0


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def stripped_corpus(tmp, limit):
    """Copies of the corpus without the mbox `From ` line (every scanner
    sees the same bytes); [(kind, path)]."""
    out = []
    files = corpus_files()
    if limit:
        ham = [f for f in files if f[0] == "ham"][:limit // 2]
        spam = [f for f in files if f[0] == "spam"][:limit - limit // 2]
        files = ham + spam
    for kind, p in files:
        d = os.path.join(tmp, kind)
        os.makedirs(d, exist_ok=True)
        q = os.path.join(d, os.path.basename(p))
        with open(q, "wb") as f:
            f.write(read_message(p))
        out.append((kind, q))
    return out


def run_ombu(tmp, files, n=0):
    data = os.path.join(tmp, "ombu-%s" % n)
    subprocess.run([OMBU, "--data", data, "init"], check=True, stdout=subprocess.DEVNULL)
    # rule loading alone: one tiny message
    one = os.path.join(tmp, "one.eml")
    with open(one, "wb") as f:
        f.write(b"Subject: x\r\n\r\nx\r\n")
    c0 = children_cpu()
    subprocess.run([OMBU, "--data", data, "check", "--json", one], check=True, stdout=subprocess.DEVNULL)
    load_cpu = children_cpu() - c0
    res = {}
    c0 = children_cpu()
    w0 = time.perf_counter()
    paths = [p for _, p in files]
    for i in range(0, len(paths), 2000):
        p = subprocess.run([OMBU, "--data", data, "check", "--json"] + paths[i:i + 2000],
                           check=True, capture_output=True, text=True)
        for line in p.stdout.splitlines():
            r = json.loads(line)
            res[r["file"]] = (r["score"], r["usec"] / 1e6, r["action"])
    wall = time.perf_counter() - w0
    runs = (len(paths) + 1999) // 2000
    cpu = children_cpu() - c0 - runs * load_cpu
    return res, cpu, wall, load_cpu


def run_spamd(files, every):
    sample = files[::every]
    sd = Spamd(children=2)
    try:
        c0 = tree_cpu(sd.proc.pid)
        w0 = time.perf_counter()
        res = {}
        # two spamc at a time: spamd has two children
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            futs = {ex.submit(sd.scan, open(p, "rb").read()): p for _, p in sample}
            for fu in concurrent.futures.as_completed(futs):
                score, hits, subs, el = fu.result()
                res[futs[fu]] = (score, el)
        wall = time.perf_counter() - w0
        cpu = tree_cpu(sd.proc.pid) - c0
    finally:
        sd.stop()
    return res, cpu, wall


def tree_cpu(root):
    """CPU seconds of a server: the master with the children it has
    reaped (cutime/cstime), plus its live children (spamd renames its
    children, "spamd child", and replaces them now and then, so they
    are found by parent, and the ones gone are in the master's count)."""
    tck = os.sysconf("SC_CLK_TCK")

    def stat(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return [int(x) for x in f.read().rsplit(")", 1)[1].split()[11:15]]
        except (OSError, ValueError):
            return [0, 0, 0, 0]
    total = sum(stat(root))
    kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(root)], capture_output=True,
                          text=True).stdout.split()
    for k in kids:
        total += sum(stat(int(k)))
    return total / tck


RSPAMD_OFF = ["rbl", "fuzzy_check", "spf", "dkim", "dmarc", "arc", "asn", "dkim_signing",
              "arc_signing", "mx_check", "url_redirector", "neural", "reputation", "replies",
              "ratelimit", "greylist", "dcc", "external_services", "antivirus", "phishing",
              "clickhouse", "elastic", "metadata_exporter", "history_redis", "p0f",
              "external_relay", "known_senders", "bayes_expiry", "rspamd_update",
              "maillist", "dynamic_conf"]


class Rspamd:
    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "rspamd")
        conf = os.path.join(self.dir, "etc")
        shutil.copytree("/etc/rspamd", conf)
        for d in ("db", "run", "log"):
            os.makedirs(os.path.join(self.dir, d))
            shutil.chown(os.path.join(self.dir, d), "_rspamd" if has_user("_rspamd") else "nobody")
        self.port = free_port()
        ctl = free_port()
        proxy = free_port()
        main = os.path.join(conf, "rspamd.conf")
        with open(main) as f:
            text = f.read()
        text = (text.replace('"localhost:11333"', '"127.0.0.1:%d"' % self.port)
                .replace('"localhost:11334"', '"127.0.0.1:%d"' % ctl)
                .replace('"localhost:11332"', '"127.0.0.1:%d"' % proxy))
        with open(main, "w") as f:
            f.write(text)
        local = os.path.join(conf, "local.d")
        for m in RSPAMD_OFF:
            with open(os.path.join(local, m + ".conf"), "w") as f:
                f.write("enabled = false;\n")
        with open(os.path.join(local, "worker-normal.inc"), "w") as f:
            f.write("count = 1;\n")
        with open(os.path.join(local, "worker-proxy.inc"), "w") as f:
            f.write("enabled = false;\n")
        with open(os.path.join(local, "options.inc"), "w") as f:
            # nothing answers there: lookups fail at once instead of waiting
            f.write('dns { nameserver = ["127.0.0.1:9"]; timeout = 0.2s; retransmits = 0; }\n')
        with open(os.path.join(local, "classifier-bayes.conf"), "w") as f:
            f.write("enabled = false;\n")
        self.log = open(os.path.join(self.dir, "stderr"), "w")
        user = "_rspamd" if has_user("_rspamd") else "nobody"
        self.proc = subprocess.Popen(
            ["rspamd", "-f", "-u", user, "-g", user, "-c", main,
             "--var=CONFDIR=" + conf, "--var=LOCAL_CONFDIR=" + conf,
             "--var=DBDIR=" + os.path.join(self.dir, "db"),
             "--var=RUNDIR=" + os.path.join(self.dir, "run"),
             "--var=LOGDIR=" + os.path.join(self.dir, "log")],
            stdout=self.log, stderr=self.log)
        wait_port(self.port, timeout=120, proc=self.proc)

    def pids(self):
        k = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [self.proc.pid] + [int(x) for x in k.split()]

    def scan(self, paths):
        """{path: (score, action)} through rspamc, two at a time."""
        res = {}
        for i in range(0, len(paths), 500):
            p = subprocess.run(["rspamc", "-h", "127.0.0.1:%d" % self.port, "-n", "2", "-j",
                                "symbols"] + paths[i:i + 500], capture_output=True, text=True)
            res.update(parse_rspamc(p.stdout))
        return res

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def has_user(name):
    import pwd
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def parse_rspamc(text):
    """rspamc -j prints one JSON object per file, in the order they finish,
    each naming its file."""
    res = {}
    dec = json.JSONDecoder()
    i = 0
    while True:
        i = text.find("{", i)
        if i < 0:
            break
        obj, i = dec.raw_decode(text, i)
        if "filename" in obj:
            res[obj["filename"]] = (float(obj.get("score", 0.0)), obj.get("action", "?"))
    return res


def detection(files, scores, caught):
    ham = [p for k, p in files if k == "ham" and p in scores]
    spam = [p for k, p in files if k == "spam" and p in scores]
    fp = sum(1 for p in ham if caught(scores[p]))
    tp = sum(1 for p in spam if caught(scores[p]))
    return fp, len(ham), tp, len(spam)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="messages (half ham, half spam)")
    ap.add_argument("--spamd-every", type=int, default=10)
    ap.add_argument("--skip-rspamd", action="store_true")
    ap.add_argument("--ombu-passes", type=int, default=3,
                    help="ombu scans of the corpus; the median one counts")
    ap.add_argument("--chunks", type=int, default=6,
                    help="ombu and rspamd take turns on this many chunks of the corpus")
    a = ap.parse_args()
    started = time.time()
    tmp = tempfile.mkdtemp(prefix="ombu-bench-filter-")
    os.chmod(tmp, 0o755)
    lines = []

    def say(s):
        print(s, flush=True)
        lines.append(s)

    try:
        files = stripped_corpus(tmp, a.limit)
        for d in glob.glob(os.path.join(tmp, "*")):
            os.chmod(d, 0o755)
        say("corpus: %d messages (%d ham, %d spam)" % (len(files), sum(k == "ham" for k, _ in files),
                                                      sum(k == "spam" for k, _ in files)))
        # The machine's speed drifts by a fifth from minute to minute:
        # several passes, and the one with the median CPU time counts
        # (spamd and rspamd each run minutes, which averages the drift).
        passes = []
        for n in range(a.ombu_passes):
            o, ocpu, owall, oload = run_ombu(tmp, files, n)
            ous = [v[1] for v in o.values()]
            say("ombu check:  %5d msgs  cpu %.1f s (rules load %.2f s taken out)  %.0f msg/s per core"
                "  scan median %.2f ms  p99 %.2f ms  max %.1f ms  [pass %d]"
                % (len(o), ocpu, oload, len(o) / ocpu, statistics.median(ous) * 1e3, pct(ous, 0.99) * 1e3,
                   max(ous) * 1e3, n + 1))
            passes.append((ocpu, o, ous))
        passes.sort(key=lambda x: x[0])
        ocpu, o, ous = passes[len(passes) // 2]
        if len(passes) > 1:
            say("ombu check, median pass:  %.0f msg/s per core  scan p99 %.2f ms"
                % (len(o) / ocpu, pct(ous, 0.99) * 1e3))
        s, scpu, swall = run_spamd(files, a.spamd_every)
        sel = [v[1] for v in s.values()]
        say("spamd/spamc: %5d msgs  cpu %.1f s  %.1f msg/s per core  (wall per message median %.0f ms, p99 %.0f ms)"
            % (len(s), scpu, len(s) / scpu, statistics.median(sel) * 1e3, pct(sel, 0.99) * 1e3))
        say("ombu / spamd per core: %.1fx" % ((len(o) / ocpu) / (len(s) / scpu)))
        r = {}
        if not a.skip_rspamd:
            # ombu and rspamd take turns on the same chunks of the corpus,
            # so that the machine's drift weighs on both alike
            rs = Rspamd(tmp)
            ocpu2 = rcpu = rwall = 0.0
            ratios = []
            try:
                # rspamd compiles its regular expressions after it starts
                # (its hs_helper process, a second or so of CPU after the
                # port opens): wait until it is idle, then a first scan,
                # not counted
                last = tree_cpu(rs.proc.pid)
                for _ in range(120):
                    time.sleep(1.5)
                    now = tree_cpu(rs.proc.pid)
                    if now - last < 0.05:
                        break
                    last = now
                rs.scan([p for _, p in files[:100]])
                step = (len(files) + a.chunks - 1) // a.chunks
                for i in range(0, len(files), step):
                    chunk = files[i:i + step]
                    _, c_o, _, _ = run_ombu(tmp, chunk, "chunk-%d" % i)
                    c0 = tree_cpu(rs.proc.pid)
                    w0 = time.perf_counter()
                    got = rs.scan([p for _, p in chunk])
                    rwall += time.perf_counter() - w0
                    c_r = tree_cpu(rs.proc.pid) - c0
                    r.update(got)
                    ocpu2 += c_o
                    rcpu += c_r
                    ratios.append((len(chunk) / c_o) / (len(got) / c_r))
            finally:
                rs.stop()
            say("rspamd:      %5d msgs  cpu %.1f s  %.0f msg/s per core  (wall %.1f s)"
                % (len(r), rcpu, len(r) / rcpu, rwall))
            say("ombu, same chunks, taking turns with rspamd:  cpu %.1f s  %.0f msg/s per core"
                % (ocpu2, len(files) / ocpu2))
            say("ombu / rspamd per core: %.2fx  (chunks of %d: %s)"
                % ((len(files) / ocpu2) / (len(r) / rcpu), step,
                   " ".join("%.2f" % x for x in ratios)))
        say("")
        say("detection at normal (tag %.1f):" % TAG)
        fp, nh, tp, ns = detection(files, {p: v[0] for p, v in o.items()}, lambda x: x >= TAG)
        say("  ombu          false positives %d/%d ham (%.2f %%), spam caught %d/%d (%.1f %%)"
            % (fp, nh, 100.0 * fp / max(nh, 1), tp, ns, 100.0 * tp / max(ns, 1)))
        sample = {p for _, p in files[::a.spamd_every]}
        sfiles = [(k, p) for k, p in files if p in sample]
        fp, nh, tp, ns = detection(sfiles, {p: v[0] for p, v in s.items()}, lambda x: x >= TAG)
        say("  spamassassin  false positives %d/%d ham (%.2f %%), spam caught %d/%d (%.1f %%)  [sample]"
            % (fp, nh, 100.0 * fp / max(nh, 1), tp, ns, 100.0 * tp / max(ns, 1)))
        fp, nh, tp, ns = detection(sfiles, {p: v[0] for p, v in o.items()}, lambda x: x >= TAG)
        say("  ombu, same sample  false positives %d/%d, spam caught %d/%d" % (fp, nh, tp, ns))
        if r:
            fp, nh, tp, ns = detection(files, {p: v[1] for p, v in r.items()},
                                       lambda x: x not in ("no action", "greylist"))
            say("  rspamd        false positives %d/%d ham (%.2f %%), spam caught %d/%d (%.1f %%)  [own rules, own actions]"
                % (fp, nh, 100.0 * fp / max(nh, 1), tp, ns, 100.0 * tp / max(ns, 1)))
        # the newest run first, above the earlier ones (the history the
        # bench README cites)
        path = os.path.join(ROOT, "bench", "results", "filter.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with open(path) as f:
                before = f.read()
        except FileNotFoundError:
            before = ""
        head = "# bench/filter.py %s, %s UTC, commit %s" % (
            " ".join(sys.argv[1:]), time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)), head_commit())
        with open(path, "w") as f:
            f.write(head + "\n" + "\n".join(lines) + "\n" + ("\n" + before if before else ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
