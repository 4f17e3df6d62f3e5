"""smtp-source (Postfix's load generator) sends 5,000 messages over 20
connections into the MX while the server is SIGKILLed at random moments
and restarted: every message acknowledged with 250 is afterwards in a
mailbox or in the queue, exactly once."""

import os
import random
import re
import shutil
import subprocess
import threading
import time

import pytest

from conftest import SANITIZED
from mbox import split_mboxrd

BATCH = 10  # messages per smtp-source session
RCPT_RE = re.compile(r"RCPT TO:<(\d+)(p\d+b\d+)@example\.test>")


def run_sender(port, k, batch, count):
    """One smtp-source session sending `count` messages; returns the set
    of recipient ids whose DATA got a 250, and the last id attempted."""
    p = subprocess.run(["smtp-source", "-v", "-d", "-s", "1", "-m", str(count), "-N",
                        "-f", "crash@example.org", "-t", "p%db%d@example.test" % (k, batch),
                        "-l", "2000", "127.0.0.1:%d" % port],
                       capture_output=True, text=True, timeout=600)
    acked = set()
    current = None
    after_dot = False
    for line in p.stderr.splitlines():
        m = RCPT_RE.search(line)
        if m:
            current = m.group(1) + m.group(2)
            after_dot = False
        elif line.endswith("smtp-source: ."):
            after_dot = True
        elif after_dot and "<<< 250 2.0.0 Ok:" in line and current is not None:
            acked.add(current)
            after_dot = False
    return acked


@pytest.mark.skipif(shutil.which("smtp-source") is None, reason="postfix (smtp-source) is not installed")
def test_smtp_source_with_kills(ombu_ready):
    o = ombu_ready
    o.run("alias", "add", "@example.test", "alice@example.test")
    total = 5000 if not SANITIZED else 1000
    per = total // 20
    extra = ["mx.greet_delay=0", "mx.max_connection_rate=0", "mx.max_connections_per_ip=0",
             "queue.scan_interval=200ms", "queue.retry_min=200ms"]
    state = {"srv": o.serve(workers=2, roles=["mx"], extra=extra)}
    state["port"] = state["srv"].ports["mx"]
    acked = set()
    lock = threading.Lock()
    killed = threading.Event()

    def sender(k):
        done = 0
        batch = 0
        while done < per:
            left = per - done
            if left <= BATCH:
                # the last batch waits for the fifth kill, so that the load
                # cannot run out before the kills have all come
                killed.wait(300)
            batch += 1
            got = run_sender(state["port"], k, batch, min(left, BATCH))
            with lock:
                acked.update(got)
            done += len(got)
            if len(got) == 0:
                time.sleep(0.2)

    threads = [threading.Thread(target=sender, args=(k,), daemon=True) for k in range(20)]
    for t in threads:
        t.start()
    rnd = random.Random(11)
    kills = 0
    # five kills spread over the load, at 10 % .. 75 % of the messages
    # acknowledged.  The count is the senders' own (small batches keep it
    # current): reading the mailbox's index from here was a busy or
    # recovering database now and then, and on CI the count stayed under
    # the last marks until the senders had finished.
    marks = sorted(rnd.uniform(0.1, 0.75) * total for _ in range(5))
    while any(t.is_alive() for t in threads):
        time.sleep(0.02)
        with lock:
            n = len(acked)
        if kills < 5 and n >= marks[kills]:
            state["srv"].kill9()
            kills += 1
            # the same port again, so that the senders find it
            port = state["port"]
            state["srv"] = o.serve(workers=2, roles=[], extra=extra + ["mx.listen=127.0.0.1:%d" % port])
            if kills == 5:
                killed.set()
    for t in threads:
        t.join()
    assert len(acked) == total
    # let the queue drain (a kill may have left entries), then stop
    deadline = time.time() + 60
    while time.time() < deadline and "the queues are empty" not in o.run("queue", "list").stdout:
        time.sleep(0.5)
    state["srv"].stop()
    assert "the queues are empty" in o.run("queue", "list").stdout
    stored = {}
    for m in split_mboxrd(o.run("export", "alice@example.test", binary=True).stdout):
        mm = re.search(rb"for <(\d+p\d+b\d+)@example\.test>", m)
        assert mm, m[:300]
        key = mm.group(1).decode()
        stored[key] = stored.get(key, 0) + 1
    missing = [a for a in acked if a not in stored]
    dups = [a for a in acked if stored.get(a, 0) > 1]
    assert not missing, missing[:10]
    assert not dups, dups[:10]
    assert kills == 5
    assert o.run("store", "check", "alice@example.test").returncode == 0
