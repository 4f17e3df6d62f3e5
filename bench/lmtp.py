#!/usr/bin/python3
"""LMTP delivery: ombu against Dovecot 2.3 LMTP + Maildir, same messages,
same clients, same run.

    /usr/bin/python3 bench/lmtp.py [--clients 4] [--users 20]

Prints delivery throughput (the SpamAssassin corpus, and smtp-source -L
with a fixed 4 KiB message), bytes on disk after the corpus against its raw
size, and one message to 100 recipients (bytes on disk and time)."""

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
from peers import Dovecot, Ombu, apparent, corpus_files, du, scratch  # noqa: E402
from lmtpclient import Client, dot_stuff  # noqa: E402
from mbox import smtplib_eols, strip_from_line  # noqa: E402


def wire(path):
    m = smtplib_eols(strip_from_line(open(path, "rb").read()))
    return m if m.endswith(b"\r\n") else m + b"\r\n"


def deliver_all(port, msgs, users, clients):
    """msgs: list of bytes; round-robin users; returns seconds."""
    errors = []

    def worker(k):
        try:
            c = Client(port, timeout=120)
            c.reply()
            c.cmd("LHLO bench.example")
            for i in range(k, len(msgs), clients):
                c.cmd("MAIL FROM:<bench@example.org>")
                c.cmd("RCPT TO:<%s>" % users[i % len(users)])
                c.cmd("DATA")
                c.send(dot_stuff(msgs[i]))
                code, text = c.reply()
                if code != 250:
                    errors.append(text)
            c.cmd("QUIT")
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    t0 = time.time()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise RuntimeError("delivery errors: %s" % errors[:3])
    return time.time() - t0


def smtp_source(port, rcpt, count, sessions, size):
    t0 = time.time()
    p = subprocess.run(["smtp-source", "-L", "-d", "-s", str(sessions), "-m", str(count), "-l", str(size),
                        "-f", "bench@example.org", "-t", rcpt, "127.0.0.1:%d" % port],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("smtp-source failed: %s" % p.stderr[-500:])
    return time.time() - t0


def hundred(port, users):
    msg = b"Subject: to everyone\r\nFrom: a@example.org\r\n\r\n" + (b"x" * 76 + b"\r\n") * 400
    t0 = time.time()
    c = Client(port)
    c.reply()
    c.cmd("LHLO bench")
    c.cmd("MAIL FROM:<bench@example.org>")
    for u in users:
        c.cmd("RCPT TO:<%s>" % u)
    c.cmd("DATA")
    c.send(dot_stuff(msg))
    codes = [c.reply()[0] for _ in users]
    c.cmd("QUIT")
    assert all(x == 250 for x in codes), codes
    return time.time() - t0, len(msg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--fixed", type=int, default=5000, help="messages for the smtp-source run")
    args = ap.parse_args()
    files = corpus_files()
    msgs = [wire(f) for f in files]
    raw = sum(len(m) for m in msgs)
    users = ["u%02d@example.test" % i for i in range(args.users)]
    many = ["m%03d@example.test" % i for i in range(100)]
    base = scratch()
    results = {}
    try:
        for name in ("ombu", "dovecot"):
            d = os.path.join(base, name)
            if name == "ombu":
                srv = Ombu(d, users + many + ["fixed@example.test"]).start(["lmtp"], workers=2)
            else:
                srv = Dovecot(d, users + many + ["fixed@example.test"], protocols="lmtp").start()
            port = srv.ports["lmtp"]
            store = srv.store_path()
            before = du(store)
            secs = deliver_all(port, msgs, users, args.clients)
            # disk at rest: stopped, so that neither keeps journals open
            srv.stop()
            after_raw = du(store)
            if name == "ombu":
                # the nightly maintenance: recompress early bodies with the
                # dictionary trained meanwhile
                srv.run("store", "gc")
            after = du(store)
            srv.start()
            port = srv.ports["lmtp"]
            fixed = smtp_source(port, "fixed@example.test", args.fixed, 8, 4096)
            hundred(port, many)           # creates the 100 mailboxes
            srv.stop()
            b100 = du(store)
            srv.start()
            t100, size100 = hundred(port if name == "dovecot" else srv.ports["lmtp"], many)
            srv.stop()
            a100 = du(store)
            results[name] = dict(rate=len(msgs) / secs, disk=after - before, disk_raw=after_raw - before,
                                 fixed=args.fixed / fixed,
                                 d100=a100 - b100, t100=t100, size100=size100)
            print("%-8s corpus %d msgs in %.1fs = %.0f msg/s; disk %.1f MB (%.2fx raw); "
                  "smtp-source -L 4KiB: %.0f msg/s; 100 rcpts: %.0f KB on disk in %.3fs"
                  % (name, len(msgs), secs, len(msgs) / secs, (after - before) / 1e6,
                     (after - before) / raw, args.fixed / fixed, (a100 - b100) / 1e3, t100), flush=True)
    finally:
        if not os.environ.get("KEEP"):
            shutil.rmtree(base, ignore_errors=True)
        else:
            print("kept", base)
    o, dv = results["ombu"], results["dovecot"]
    print()
    print("raw corpus: %d messages, %.1f MB (as delivered, CRLF)" % (len(msgs), raw / 1e6))
    print("| figure | ombu | Dovecot 2.3 | ombu / Dovecot |")
    print("| --- | --- | --- | --- |")
    print("| corpus over LMTP, %d clients (msg/s) | %.0f | %.0f | %.2fx |" % (args.clients, o["rate"], dv["rate"], o["rate"] / dv["rate"]))
    print("| smtp-source -L, 8 sessions, 4 KiB (msg/s) | %.0f | %.0f | %.2fx |" % (o["fixed"], dv["fixed"], o["fixed"] / dv["fixed"]))
    print("| bytes on disk after the corpus, before `store gc` | %.1f MB (%.2fx raw) | %.1f MB (%.2fx raw) | %.2fx |" % (
        o["disk_raw"] / 1e6, o["disk_raw"] / raw, dv["disk"] / 1e6, dv["disk"] / raw, o["disk_raw"] / dv["disk"]))
    print("| bytes on disk after the corpus and `store gc` | %.1f MB (%.2fx raw) | %.1f MB (%.2fx raw) | %.2fx |" % (
        o["disk"] / 1e6, o["disk"] / raw, dv["disk"] / 1e6, dv["disk"] / raw, o["disk"] / dv["disk"]))
    print("| one %d-byte message to 100 recipients: disk | %.0f KB | %.0f KB | %.2fx |" % (
        o["size100"], o["d100"] / 1e3, dv["d100"] / 1e3, o["d100"] / max(dv["d100"], 1)))
    print("| one message to 100 recipients: time | %.3f s | %.3f s | %.2fx |" % (o["t100"], dv["t100"], o["t100"] / dv["t100"]))


if __name__ == "__main__":
    main()
