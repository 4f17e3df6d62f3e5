"""Sessions that see each other: two sessions on one folder, IDLE woken
by an LMTP delivery, QRESYNC resynchronisation, CONDSTORE, and
COMPRESS=DEFLATE."""

import re
import threading
import time
import zlib

import pytest

from lmtpclient import lmtp_deliver
from test_imap import MSG1, MSG2, MSG3, Raw


@pytest.fixture
def srv(ombu_ready):
    s = ombu_ready.serve(workers=2, roles=["imap", "lmtp"])
    yield ombu_ready, s
    s.stop()


def two(srv, folder="Shared"):
    port = srv[1].ports["imap"]
    a, b = Raw(port), Raw(port)
    a.login()
    b.login()
    a.cmd('DELETE "%s"' % folder)
    a.ok('CREATE "%s"' % folder)
    for msg in (MSG1, MSG2, MSG3):
        a.send(b'x APPEND "%s" {%d+}\r\n%s\r\n' % (folder.encode(), len(msg), msg))
        assert a.wait("x")[0].startswith("OK")
    a.ok('SELECT "%s"' % folder)
    b.ok('SELECT "%s"' % folder)
    return a, b


def test_two_sessions_see_each_other(srv):
    a, b = two(srv)
    # flag changes reach the other session at its next command
    a.ok("STORE 1 +FLAGS (\\Flagged)")
    u = b.ok("NOOP")
    assert b"* 1 FETCH (FLAGS (\\Flagged))" in u, u
    # ... once only
    assert b.ok("NOOP") == []
    # the one that made the change does not hear it twice
    assert a.ok("NOOP") == []
    # an expunge is not reported during FETCH, STORE or SEARCH (RFC 3501
    # 7.4.1), but at the next NOOP, with the right sequence number
    a.ok("STORE 2 +FLAGS (\\Deleted)")
    assert b"* 2 EXPUNGE" in a.ok("EXPUNGE")
    u = b.ok("FETCH 3 (UID)")
    assert not any(b"EXPUNGE" in x for x in u)
    assert b"* 3 FETCH (UID 3)" in u
    u = b.ok("SEARCH ALL")
    assert not any(b"EXPUNGE" in x for x in u)
    u = b.ok("NOOP")
    assert b"* 2 EXPUNGE" in u, u
    # UID commands may hear expunges at once
    a.ok("STORE 1 +FLAGS (\\Deleted)")
    a.ok("EXPUNGE")
    u = b.ok("UID FETCH 1:* (FLAGS)")
    assert b"* 1 EXPUNGE" in u, u
    # a new message: EXISTS (and RECENT for one of them only)
    a.send(b"x APPEND Shared {%d+}\r\n%s\r\n" % (len(MSG2), MSG2))
    r, ua = a.wait("x")
    assert r.startswith("OK")
    ub = b.ok("NOOP")
    assert b"* 2 EXISTS" in ua and b"* 2 EXISTS" in ub
    # \Recent goes to one session only: the one that selected first has
    # uid 3 and now uid 4 as recent, the other none
    assert b"* 2 RECENT" in ua, ua
    assert not any(x.endswith(b"RECENT") for x in ub), ub
    # keywords new to the folder come with FLAGS
    a.ok("STORE 1 +FLAGS (NewKeyword)")
    u = b.ok("NOOP")
    assert any(x.startswith(b"* FLAGS (") and b"NewKeyword" in x for x in u), u
    # the folder deleted under a session: BYE
    b.ok("UNSELECT")
    a.ok("UNSELECT")
    b.ok("SELECT Shared")
    a.ok("DELETE Shared")
    r, u = b.cmd("NOOP")
    assert any(x.startswith(b"* BYE") for x in u) or b.closed()
    a.close()
    b.close()


def test_idle_push_on_lmtp_delivery(srv):
    o, s = srv
    r = Raw(s.ports["imap"])
    r.login()
    u = r.ok("SELECT INBOX")
    exists = int(next(x for x in u if x.endswith(b"EXISTS")).split()[1])
    r.send("i IDLE\r\n")
    assert r.response() == b"+ idling"
    times = []
    for n in range(3):
        t0 = time.monotonic()
        rr, dr = lmtp_deliver(s.ports["lmtp"], "sender@example.org", ["alice@example.test"], MSG2)
        assert dr and dr[0][0] == 250
        t_ack = time.monotonic()
        r.sock.settimeout(5)
        got = r.response()
        t_push = time.monotonic()
        assert got == b"* %d EXISTS" % (exists + n + 1), got
        r.response()  # RECENT
        times.append(t_push - t_ack)
    # pushed within a second of the LMTP 250 (in practice a few ms)
    assert max(times) < 1.0, times
    # a flag change by another session is pushed too
    other = Raw(s.ports["imap"])
    other.login()
    other.ok("SELECT INBOX")
    other.ok("STORE 1 +FLAGS (\\Seen)")
    assert r.response().startswith(b"* 1 FETCH (FLAGS (\\Seen")
    r.send("DONE\r\n")
    assert r.wait("i")[0].startswith("OK")
    # IDLE without a selected folder waits for DONE too; anything else is BAD
    r.ok("UNSELECT")
    r.send("j IDLE\r\n")
    assert r.response() == b"+ idling"
    r.send("NOPE\r\n")
    assert r.wait("j")[0].startswith("BAD")
    other.close()
    r.close()


def test_idle_sees_delivery_in_another_worker_process(ombu_ready):
    # workers=4: the delivering LMTP session is likely in another process
    s = ombu_ready.serve(workers=4, roles=["imap", "lmtp"])
    sessions = []
    for _ in range(4):
        r = Raw(s.ports["imap"])
        r.login()
        r.ok("SELECT INBOX")
        r.send("i IDLE\r\n")
        assert r.response() == b"+ idling"
        sessions.append(r)
    lmtp_deliver(s.ports["lmtp"], "s@example.org", ["alice@example.test"], MSG3)
    for r in sessions:
        r.sock.settimeout(5)
        assert r.response() == b"* 1 EXISTS"
        r.close()
    s.stop()


def test_qresync_resynchronisation(srv):
    a, b = two(srv, "Sync")
    r, u = a.cmd("ENABLE QRESYNC")
    assert b"* ENABLED QRESYNC" in u
    u = a.ok("SELECT Sync")
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", b"".join(u)).group(1))
    modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"".join(u)).group(1))
    a.close()
    # while the client is away: a flag change and an expunge
    b.ok("STORE 1 +FLAGS (\\Answered)")
    b.ok("STORE 2 +FLAGS (\\Deleted)")
    b.ok("EXPUNGE")
    c = Raw(srv[1].ports["imap"])
    c.login()
    c.ok("ENABLE QRESYNC")
    u = c.ok("SELECT Sync (QRESYNC (%d %d 1:3))" % (uidvalidity, modseq))
    joined = b"\n".join(u)
    assert b"* VANISHED (EARLIER) 2" in joined, joined
    assert re.search(rb"\* 1 FETCH \(UID 1 FLAGS \(\\Answered[^)]*\) MODSEQ \(\d+\)\)", joined), joined
    assert b"UID 3 " not in joined  # unchanged
    # with QRESYNC an expunge is reported as VANISHED
    b.ok("STORE 1 +FLAGS (\\Deleted)")
    b.ok("EXPUNGE")
    u = c.ok("NOOP")
    assert u == [b"* VANISHED 1"], u
    # FETCH CHANGEDSINCE and UID FETCH ... VANISHED
    u = c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE 1)")
    assert re.match(rb"\* 1 FETCH \(UID 3 FLAGS \([^)]*\) MODSEQ \(\d+\)\)", u[0]), u
    u = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % modseq)
    assert u[0] == b"* VANISHED (EARLIER) 1:2", u
    # a wrong UIDVALIDITY: a plain SELECT, no VANISHED
    u = c.ok("SELECT Sync (QRESYNC (1 %d))" % modseq)
    assert b"* OK [CLOSED]" in u[0]
    assert not any(b"VANISHED" in x for x in u)
    assert c.cmd("SELECT Sync (QRESYNC (bad))")[0].startswith("BAD")
    b.close()
    c.close()


def test_condstore(srv):
    a, b = two(srv, "Cond")
    u = a.ok("FETCH 1 (MODSEQ)")
    assert u[0].startswith(b"* OK [HIGHESTMODSEQ ")  # CONDSTORE switched on here
    m1 = int(re.search(rb"MODSEQ \((\d+)\)", u[1]).group(1))
    # UNCHANGEDSINCE: the store goes through below, fails above
    u = a.ok("STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % m1)
    m2 = int(re.search(rb"MODSEQ \((\d+)\)", u[0]).group(1))
    assert m2 > m1
    r, u = a.cmd("STORE 1,2 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % (m2 - 1))
    assert r.startswith("OK [MODIFIED 1]"), r
    assert any(x.startswith(b"* 2 FETCH") for x in u)
    u = a.ok("SEARCH MODSEQ %d" % m2)
    assert re.match(rb"\* SEARCH 1 2 \(MODSEQ \d+\)", u[0]), u
    u = a.ok('STATUS Cond (HIGHESTMODSEQ)')
    assert b"HIGHESTMODSEQ" in u[0]
    # SELECT (CONDSTORE) in another session
    u = b.ok("SELECT Cond (CONDSTORE)")
    assert any(b"HIGHESTMODSEQ" in x for x in u)
    a.close()
    b.close()


def test_compress_deflate(srv):
    r = Raw(srv[1].ports["imap"])
    r.login()
    assert r.cmd("COMPRESS GZIP")[0].startswith("NO")
    tagged, _ = r.cmd("COMPRESS DEFLATE")
    assert tagged.startswith("OK")
    r.zout = zlib.compressobj(wbits=-15)
    r.zin = zlib.decompressobj(wbits=-15)
    r.send(b"x APPEND INBOX {%d+}\r\n%s\r\n" % (len(MSG3), MSG3))
    assert r.wait("x")[0].startswith("OK")
    u = r.ok("SELECT INBOX")
    assert any(x.endswith(b"EXISTS") for x in u)
    u = r.ok("FETCH 1 (BODY.PEEK[])")
    assert MSG3 in u[0]
    u = r.ok("CAPABILITY")
    assert b"COMPRESS=DEFLATE" not in u[0]
    assert r.cmd("COMPRESS DEFLATE")[0].startswith("NO [COMPRESSIONACTIVE]")
    # a big response travels compressed
    big = b"Subject: big\r\n\r\n" + b"The same line again and again.\r\n" * 20000
    r.send(b"y APPEND INBOX {%d+}\r\n%s\r\n" % (len(big), big))
    assert r.wait("y")[0].startswith("OK")
    r.ok("NOOP")
    u = r.ok("FETCH 2 (BODY.PEEK[])")
    assert big in u[0]
    r.cmd("LOGOUT")
    r.close()
    # garbage instead of deflate data ends the session
    r = Raw(srv[1].ports["imap"])
    r.login()
    r.ok("COMPRESS DEFLATE")
    r.sock.sendall(b"\xff\xff\xff\xff garbage\r\n")
    assert r.closed()
