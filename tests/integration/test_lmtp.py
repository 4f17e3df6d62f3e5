"""LMTP into the store (RFC 2033), with real clients."""

import hashlib
import os
import sqlite3
import subprocess

import pytest

from lmtpclient import Client, dot_stuff, lmtp_deliver
from mbox import split_mboxrd


@pytest.fixture
def lmtp(ombu_ready):
    srv = ombu_ready.serve(workers=1, roles=["lmtp"])
    yield ombu_ready, srv.ports["lmtp"], srv
    srv.stop()


def export(ombu, user, folder=None):
    args = ["export", user] + (["--folder", folder] if folder else [])
    return split_mboxrd(ombu.run(*args, binary=True).stdout)


MSG = b"From: a@example.org\r\nSubject: hi\r\n\r\nline one\r\n.leading dot\r\n"


def test_delivery_with_smtplib(lmtp):
    import smtplib
    o, port, _ = lmtp
    s = smtplib.LMTP("127.0.0.1", port)
    refused = s.sendmail("sender@example.org", ["alice@example.test"], MSG)
    assert refused == {}
    s.quit()
    msgs = export(o, "alice@example.test")
    assert len(msgs) == 1
    m = msgs[0]
    assert m.startswith(b"Return-Path: <sender@example.org>\r\nReceived: from ")
    assert b"with LMTP id" in m and b"for <alice@example.test>" in m
    assert m.endswith(MSG)


def test_per_recipient_replies_and_errors(lmtp):
    o, port, _ = lmtp
    o.run("user", "set", "bob@example.test", "quota", "1k")
    rr, dr = lmtp_deliver(port, "s@example.org",
                          ["alice@example.test", "nobody@example.test", "bob@example.test",
                           "Alice+news@Example.TEST"],
                          b"Subject: x\r\n\r\n" + b"y" * 2000 + b"\r\n")
    assert [c for c, _ in rr] == [250, 550, 250, 250]
    assert "5.1.1" in rr[1][1]
    # bob's quota is 1k: this message would overflow it -> 552 at DATA
    assert [c for c, _ in dr] == [250, 552, 250]
    assert "5.2.2" in dr[1][1]
    assert len(export(o, "alice@example.test")) == 2
    # now fill bob up and RCPT itself is refused
    o.run("user", "set", "bob@example.test", "quota", "10k")
    o.run("deliver", "--rcpt", "bob@example.test", input=b"Subject: f\n\n" + b"z" * 1100 + b"\n")
    o.run("user", "set", "bob@example.test", "quota", "1k")
    rr, dr = lmtp_deliver(port, "s@example.org", ["bob@example.test"], b"Subject: x\r\n\r\nx\r\n")
    assert rr[0][0] == 552 and "5.2.2" in rr[0][1]


def test_pipelining(lmtp):
    o, port, _ = lmtp
    c = Client(port)
    assert c.reply()[0] == 220
    c.send(b"LHLO pipe.example\r\nMAIL FROM:<p@example.org>\r\nRCPT TO:<alice@example.test>\r\n"
           b"RCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
    code, text = c.reply()
    assert code == 250 and "PIPELINING" in text and "CHUNKING" in text and "ENHANCEDSTATUSCODES" in text
    assert [r[0] for r in c.replies(5)] == [250, 250, 550, 250, 354]
    c.send(dot_stuff(b"Subject: piped\r\n\r\nbody\r\n") + b"RSET\r\nNOOP\r\nQUIT\r\n")
    assert [r[0] for r in c.replies(5)] == [250, 250, 250, 250, 221]
    assert c.closed_by_peer()
    assert b"Subject: piped" in export(o, "bob@example.test")[0]


def test_bdat(lmtp):
    o, port, _ = lmtp
    c = Client(port)
    c.reply()
    c.cmd("LHLO x")
    c.cmd("MAIL FROM:<s@example.org> BODY=8BITMIME")
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    part1 = b"Subject: chunks\r\n\r\nfirst "
    part2 = "second caf\u00e9\r\n.not stuffed\r\n".encode()
    c.send(b"BDAT %d\r\n" % len(part1) + part1)
    code, text = c.reply()
    assert code == 250 and "octets" in text
    c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    assert c.reply()[0] == 250
    # BDAT without recipients: refused, and its bytes are not taken for commands
    c.cmd("MAIL FROM:<s@example.org>")
    assert c.cmd("RCPT TO:<nobody@example.test>")[0] == 550
    evil = b"QUIT\r\n"
    c.send(b"BDAT %d LAST\r\n" % len(evil) + evil)
    assert c.reply()[0] in (503, 554)
    assert c.cmd("NOOP")[0] == 250
    c.cmd("QUIT")
    m = export(o, "alice@example.test")[0]
    assert m.endswith(part1 + part2)


@pytest.mark.parametrize("body", [
    b"Subject: x\r\n\r\nbare\nlf\r\n",
    b"Subject: x\r\n\r\nbare\rcr\r\n",
    b"Subject: x\r\n\r\nsmuggle\n.\r\nMAIL FROM:<evil@x>\r\n",
    b"Subject: x\r\n\r\nnul\x00byte\r\n",
])
def test_bad_data_refused(lmtp, body):
    o, port, _ = lmtp
    c = Client(port)
    c.reply()
    c.cmd("LHLO x")
    c.cmd("MAIL FROM:<s@example.org>")
    c.cmd("RCPT TO:<alice@example.test>")
    c.cmd("RCPT TO:<bob@example.test>")
    assert c.cmd("DATA")[0] == 354
    c.send(body + b"\r\n.\r\n")
    r = c.replies(2)
    assert all(code >= 550 for code, _ in r), r
    assert c.cmd("NOOP")[0] == 250
    c.close()
    assert export(o, "alice@example.test") == []


def test_protocol_errors(lmtp):
    o, port, _ = lmtp
    c = Client(port)
    c.reply()
    assert c.cmd("HELO x")[0] == 500                     # SMTP verb in LMTP
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 503   # no LHLO yet
    c.cmd("LHLO x")
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 503
    assert c.cmd("MAIL FROM:<a@b.example> SIZE=999999999999")[0] == 552
    assert c.cmd("MAIL FROM:<a@b.example> FOO=bar")[0] == 555
    assert c.cmd("MAIL FROM:a@b.example")[0] in (501, 553)
    assert c.cmd("DATA")[0] == 503
    code, _ = c.cmd("X" * 5000)
    assert code == 500
    assert c.cmd("VRFY alice@example.test")[0] == 252
    c.close()


def test_too_many_errors_disconnects(lmtp):
    o, port, _ = lmtp
    c = Client(port)
    c.reply()
    codes = []
    for _ in range(25):
        try:
            codes.append(c.cmd("BOGUS")[0])
        except (EOFError, OSError):
            break  # closed: by then the 421 was read, or the pipe broke
    assert 421 in codes
    assert c.closed_by_peer()


def test_one_blob_for_100_recipients(lmtp):
    o, port, _ = lmtp
    users = ["u%03d@example.test" % i for i in range(100)]
    for u in users:
        o.add_user(u)
    msg = b"Subject: to everyone\r\n\r\n" + os.urandom(3000).hex().encode() + b"\r\n"
    rr, dr = lmtp_deliver(port, "s@example.org", users, msg)
    assert all(c == 250 for c, _ in rr) and len(dr) == 100 and all(c == 250 for c, _ in dr)
    blobs = os.path.join(o.data, "store", "blobs")
    n = 0
    for name in os.listdir(blobs):
        if name.endswith(".sqlite"):
            n += sqlite3.connect(os.path.join(blobs, name)).execute("SELECT COUNT(*) FROM blobs").fetchone()[0]
        elif len(name) == 2:
            n += len(os.listdir(os.path.join(blobs, name)))
    assert n == 1
    for u in (users[0], users[57], users[99]):
        assert export(o, u)[0].endswith(msg)


def test_swaks(lmtp):
    o, port, _ = lmtp
    p = subprocess.run(["swaks", "--protocol", "LMTP", "--server", "127.0.0.1", "--port", str(port),
                        "--from", "swaks@example.org", "--to", "alice@example.test,bob@example.test",
                        "--header", "Subject: from swaks", "--body", "hello from swaks"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert b"Subject: from swaks" in export(o, "alice@example.test")[0]
    assert b"hello from swaks" in export(o, "bob@example.test")[0]


def test_stop_finishes_transaction(lmtp):
    """SIGTERM in the middle of DATA: the transaction completes, then 421."""
    import signal
    o, port, srv = lmtp
    c = Client(port)
    c.reply()
    c.cmd("LHLO x")
    c.cmd("MAIL FROM:<s@example.org>")
    c.cmd("RCPT TO:<alice@example.test>")
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: during shutdown\r\n\r\nfirst half\r\n")
    os.kill(srv.pid, signal.SIGTERM)
    import time
    time.sleep(0.5)
    c.send(b"second half\r\n.\r\n")
    assert c.reply()[0] == 250
    code, text = c.reply()
    assert code == 421
    assert srv.proc.wait(timeout=20) == 0
    assert export(o, "alice@example.test")[0].endswith(b"second half\r\n")
