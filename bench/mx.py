#!/usr/bin/python3
"""The inbound MX: ombu (MX delivering into its store) against Postfix 3.7
(smtpd + virtual delivery into Maildir), both fsyncing, in one run.

    /usr/bin/python3 bench/mx.py [--sessions 20] [--set filter.enabled=no]

ombu's filter (the full SpamAssassin rule set) is on unless --set turns
it off; Postfix runs no content filter, so the filter-off run is the
like-for-like comparison of the SMTP and delivery path.

Prints messages/s from the first connection until the last message is in
a mailbox (4 KiB and 64 KiB messages), smtp-source into smtp-sink as the
protocol ceiling, end-of-DATA-to-250 latency (median, p99), and memory
and CPU for 1,000 concurrent idle SMTP connections."""

import argparse
import os
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
from peers import Ombu, Postfix, cpu_seconds, free_port, pss_kib, scratch, wait_port  # noqa: E402
from lmtpclient import Client, dot_stuff  # noqa: E402

USER = "u@example.test"
OMBU_MX = ["mx.greet_delay=0", "mx.max_connections_per_ip=0", "mx.max_connection_rate=0",
           "mx.max_messages_per_session=0", "server.max_connections=50000"]


def ombu_count(o):
    idx = os.path.join(o.data, "store", "example.test", "u", "index.sqlite")
    if not os.path.exists(idx):
        return 0
    try:
        db = sqlite3.connect("file:%s?mode=ro" % idx, uri=True, timeout=5)
        n = db.execute("SELECT value FROM meta WHERE key = 'quota_messages'").fetchone()[0]
        db.close()
        return n
    except sqlite3.Error:
        return 0


def flood(port, count, size, sessions, counter):
    base = counter()
    t0 = time.time()
    p = subprocess.Popen(["smtp-source", "-s", str(sessions), "-m", str(count), "-l", str(size),
                          "-f", "bench@example.org", "-t", USER, "127.0.0.1:%d" % port],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while counter() - base < count:
        if p.poll() is not None and p.returncode != 0:
            raise RuntimeError("smtp-source: " + p.stderr.read()[-400:])
        time.sleep(0.02)
    el = time.time() - t0
    p.wait()
    return count / el


def sink_ceiling(count, size, sessions):
    port = free_port()
    sink = subprocess.Popen(["smtp-sink", "-u", "postfix", "127.0.0.1:%d" % port, "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        t0 = time.time()
        subprocess.run(["smtp-source", "-s", str(sessions), "-m", str(count), "-l", str(size),
                        "-f", "bench@example.org", "-t", USER, "127.0.0.1:%d" % port],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return count / (time.time() - t0)
    finally:
        sink.kill()
        sink.wait()


def latencies(port, n, size):
    body = b"Subject: latency\r\n\r\n" + (b"x" * 78 + b"\r\n") * (size // 80)
    c = Client(port)
    c.reply()
    c.cmd("EHLO bench.example")
    res = []
    for _ in range(n):
        c.cmd("MAIL FROM:<bench@example.org>")
        c.cmd("RCPT TO:<%s>" % USER)
        c.cmd("DATA")
        data = dot_stuff(body)
        c.send(data[:-3])
        t0 = time.perf_counter()
        c.send(b".\r\n")
        code, _ = c.reply()
        res.append(time.perf_counter() - t0)
        assert code == 250
    c.cmd("QUIT")
    res.sort()
    return statistics.median(res) * 1000, res[int(len(res) * 0.99) - 1] * 1000


def idle(port, pids_fn, n=1000):
    before_mem = pss_kib(pids_fn())
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        socks.append(s)
    for s in socks:
        s.settimeout(30)
        s.recv(512)  # the greeting
    time.sleep(1)
    pids = pids_fn()
    mem = pss_kib(pids)
    c0 = cpu_seconds(pids)
    time.sleep(10)
    c1 = cpu_seconds(pids_fn())
    for s in socks:
        s.close()
    return (mem - before_mem) / 1024.0, c1 - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--small", type=int, default=5000)
    ap.add_argument("--big", type=int, default=1000)
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="an extra ombu setting, e.g. filter.enabled=no (Postfix runs no content filter)")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    base = scratch()
    res = {}
    try:
        o = Ombu(os.path.join(base, "o"), [USER], extra=OMBU_MX + args.set).start(["mx"], workers=2)
        res["ombu"] = dict(
            small=flood(o.ports["mx"], args.small, 4096, args.sessions, lambda: ombu_count(o)),
            big=flood(o.ports["mx"], args.big, 65536, args.sessions, lambda: ombu_count(o)),
            lat=latencies(o.ports["mx"], 500, 4096),
            idle=idle(o.ports["mx"], o.pids))
        o.stop()
        print("ombu", res["ombu"], flush=True)
        p = Postfix(os.path.join(base, "p"), [USER], procs=1200).start()
        res["postfix"] = dict(
            small=flood(p.port, args.small, 4096, args.sessions, lambda: p.mailbox_count(USER)),
            big=flood(p.port, args.big, 65536, args.sessions, lambda: p.mailbox_count(USER)),
            lat=latencies(p.port, 500, 4096),
            idle=idle(p.port, p.pids))
        p.stop()
        print("postfix", res["postfix"], flush=True)
        res["sink"] = dict(small=sink_ceiling(args.small, 4096, args.sessions),
                           big=sink_ceiling(args.big, 65536, args.sessions))
    finally:
        import shutil
        shutil.rmtree(base, ignore_errors=True)
    o, p, s = res["ombu"], res["postfix"], res["sink"]
    print()
    print("| figure | ombu | Postfix 3.7 | ombu / Postfix | smtp-sink ceiling |")
    print("| --- | --- | --- | --- | --- |")
    print("| 4 KiB, %d sessions, accepted to in-mailbox (msg/s) | %.0f | %.0f | %.2fx | %.0f |" % (
        args.sessions, o["small"], p["small"], o["small"] / p["small"], s["small"]))
    print("| 64 KiB, %d sessions (msg/s) | %.0f | %.0f | %.2fx | %.0f |" % (
        args.sessions, o["big"], p["big"], o["big"] / p["big"], s["big"]))
    print("| end of DATA to 250, 4 KiB, median / p99 (ms) | %.2f / %.2f | %.2f / %.2f | | |" % (
        o["lat"][0], o["lat"][1], p["lat"][0], p["lat"][1]))
    print("| memory for 1,000 idle connections (PSS) | %.1f MiB (%.1f KiB each) | %.1f MiB (%.1f KiB each) | %.4fx | |" % (
        o["idle"][0], o["idle"][0] * 1024 / 1000, p["idle"][0], p["idle"][0] * 1024 / 1000,
        o["idle"][0] / max(p["idle"][0], 0.1)))
    print("| CPU for 1,000 idle connections over 10 s (s) | %.2f | %.2f | | |" % (o["idle"][1], p["idle"][1]))


if __name__ == "__main__":
    main()
