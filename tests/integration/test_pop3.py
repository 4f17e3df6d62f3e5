"""The POP3 role (RFC 1939, 2449, 2595, 5034) with real clients: Python's
poplib, curl, fetchmail, and a raw socket client for pipelining and the
exact bytes on the wire."""

import base64
import hashlib
import os
import poplib
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest

from mbox import crlf, split_mboxrd, to_mboxrd

ALICE = ("alice@example.test", "alice-pw")
BOB = ("bob@example.test", "bob-pw")

# Messages with everything dot-stuffing and byte-exactness can get wrong:
# lines that are or start with dots, a "." alone, a CRLF.CRLF inside,
# 8-bit bytes, a long line, an empty body line at the end.
MSGS = [
    b"From: a@example.org\nSubject: one\n\nhello\n.leading dot\n..two dots\n.\nend\n",
    b"From: b@example.org\nSubject: two\nX-Long: " + b"x" * 2000 + b"\n\nline\n\n.\n\n",
    b"Subject: three \xc3\xa9\n\nbody \xff\xfe bytes\r\n.\r\n.\r\nafter\n",
]


def unverified():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def deliver(o, rcpt, msg):
    o.run("deliver", "--rcpt", rcpt, input=msg)


def stored(o, user):
    return split_mboxrd(o.run("export", user, binary=True).stdout)


def stuffed(msg):
    """A message as a RETR response body must carry it."""
    out = b"".join((b"." + line if line.startswith(b".") else line)
                   for line in msg.splitlines(keepends=True))
    if not out.endswith(b"\r\n") and out:
        out += b"\r\n"
    return out + b".\r\n"


class Raw:
    """A POP3 client that sends bytes as given and reads replies exactly."""

    def __init__(self, port, tls=False, timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            self.sock = unverified().wrap_socket(self.sock)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("closed; pending %r" % self.buf[:200])
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def multi(self):
        """The raw body of a multi-line response, terminator included."""
        while b"\r\n.\r\n" not in self.buf and not self.buf.startswith(b".\r\n"):
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("closed in a multi-line response")
            self.buf += chunk
        if self.buf.startswith(b".\r\n"):
            end = 3
        else:
            end = self.buf.index(b"\r\n.\r\n") + 5
        body, self.buf = self.buf[:end], self.buf[end:]
        return body

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.line().decode("utf-8", "replace")

    def login(self, user=ALICE):
        assert self.line().startswith(b"+OK")
        assert self.cmd("USER " + user[0]) == "+OK"
        r = self.cmd("PASS " + user[1])
        assert r.startswith("+OK"), r
        return r

    def starttls(self):
        self.sock = unverified().wrap_socket(self.sock)

    def closed_by_peer(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def login_retrying(port, user=ALICE, timeout=10):
    """A session right after another one ended may still find the maildrop
    locked for a moment (the server sees the old close a little later)."""
    end = time.time() + timeout
    while True:
        p = poplib.POP3("127.0.0.1", port, timeout=20)
        p.user(user[0])
        try:
            p.pass_(user[1])
            return p
        except poplib.error_proto as e:
            p.quit()
            if b"[IN-USE]" not in e.args[0] or time.time() > end:
                raise
            time.sleep(0.05)


def stop(srv):
    """Stops the server; no worker may have died (a crash, a sanitizer
    report) during the test."""
    code = srv.stop()
    log = srv.log()
    assert "server.worker_died" not in log and "Sanitizer" not in log and "runtime error" not in log, log[-3000:]
    return code


@pytest.fixture
def pop(ombu_ready):
    for m in MSGS:
        deliver(ombu_ready, ALICE[0], m)
    srv = ombu_ready.serve(workers=1, roles=["pop3", "pop3s", "lmtp"])
    yield ombu_ready, srv.ports["pop3"], srv
    stop(srv)


def test_every_command_with_poplib(pop):
    o, port, _ = pop
    wire = stored(o, ALICE[0])
    assert wire == [crlf(m) for m in MSGS]
    p = poplib.POP3("127.0.0.1", port)
    # no APOP timestamp: the directory has no shared secrets
    assert re.match(rb"^\+OK [^<]*$", p.getwelcome())
    caps = p.capa()
    for c in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER", "STLS"):
        assert c in caps
    assert caps["SASL"] == ["PLAIN", "LOGIN"] and caps["IMPLEMENTATION"] == ["ombu"]
    assert "EXPIRE" not in caps and "LOGIN-DELAY" not in caps and "APOP" not in caps
    assert p.user(ALICE[0]) == b"+OK"
    assert p.pass_(ALICE[1]).startswith(b"+OK")
    sizes = [len(w) for w in wire]
    assert p.stat() == (3, sum(sizes))
    resp, listing, _ = p.list()
    assert listing == [b"%d %d" % (i + 1, s) for i, s in enumerate(sizes)]
    assert p.list(2) == b"+OK 2 %d" % sizes[1]
    resp, uidls, _ = p.uidl()
    uids = [u.split()[1] for u in uidls]
    assert len(set(uids)) == 3 and all(re.match(rb"^ombu\.\d+\.\d+$", u) for u in uids)
    assert p.uidl(3) == b"+OK 3 " + uids[2]
    for i, w in enumerate(wire):
        resp, lines, octets = p.retr(i + 1)
        assert resp == b"+OK %d octets" % len(w)
        # poplib un-stuffs and splits lines: joined back, the bytes stored
        assert b"\r\n".join(lines) + b"\r\n" == w
    # TOP 0: the header and the empty line; TOP 2: two body lines more
    head, body = wire[0].split(b"\r\n\r\n", 1)
    assert p.top(1, 0)[1] == head.split(b"\r\n") + [b""]
    assert p.top(1, 2)[1] == head.split(b"\r\n") + [b"", b"hello", b".leading dot"]
    assert p.top(1, 1000)[1] == p.retr(1)[1]
    assert p.noop() == b"+OK"
    assert p.dele(2).startswith(b"+OK")
    assert p.stat() == (2, sizes[0] + sizes[2])
    for bad in (lambda: p.retr(2), lambda: p.list(2), lambda: p.dele(2), lambda: p.top(2, 0),
                lambda: p.retr(4), lambda: p.retr(0)):
        with pytest.raises(poplib.error_proto):
            bad()
    resp, listing, _ = p.list()
    assert [x.split()[0] for x in listing] == [b"1", b"3"]
    assert p.rset().startswith(b"+OK")
    assert p.stat() == (3, sum(sizes))
    assert p.quit().startswith(b"+OK")
    # RSET undid the DELE: nothing was removed
    assert len(stored(o, ALICE[0])) == 3


def test_retr_bytes_on_the_wire(pop):
    o, port, _ = pop
    wire = stored(o, ALICE[0])
    c = Raw(port)
    c.login()
    for i, w in enumerate(wire):
        assert c.cmd("RETR %d" % (i + 1)) == "+OK %d octets" % len(w)
        assert c.multi() == stuffed(w)
    assert c.cmd("TOP 2 1") .startswith("+OK")
    head = wire[1].split(b"\r\n\r\n", 1)[0]
    assert c.multi() == stuffed(head + b"\r\n\r\nline\r\n")
    assert c.cmd("TOP 3 2").startswith("+OK")
    assert c.multi() == b"Subject: three \xc3\xa9\r\n\r\nbody \xff\xfe bytes\r\n..\r\n.\r\n"
    assert c.cmd("QUIT").startswith("+OK")
    assert c.closed_by_peer()


def test_pipelining(pop):
    o, port, _ = pop
    wire = stored(o, ALICE[0])
    c = Raw(port)
    assert c.line().startswith(b"+OK")
    # everything in one write, the login included
    c.send("CAPA\r\nUSER %s\r\nPASS %s\r\nSTAT\r\nLIST\r\nUIDL 1\r\nRETR 1\r\nTOP 3 0\r\n"
           "DELE 2\r\nNOOP\r\nSTAT\r\nRSET\r\nDELE 3\r\nQUIT\r\n" % ALICE)
    assert c.line() == b"+OK Capability list follows"
    assert b"PIPELINING" in c.multi()
    assert c.line() == b"+OK"
    assert c.line().startswith(b"+OK Logged in")
    assert c.line() == b"+OK 3 %d" % sum(len(w) for w in wire)
    assert c.line().startswith(b"+OK 3 messages")
    assert c.multi().count(b"\r\n") == 4
    assert c.line().startswith(b"+OK 1 ombu.")
    assert c.line() == b"+OK %d octets" % len(wire[0])
    assert c.multi() == stuffed(wire[0])
    assert c.line().startswith(b"+OK")
    assert c.multi() == stuffed(wire[2].split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
    assert c.line() == b"+OK Message 2 deleted"
    assert c.line() == b"+OK"
    assert c.line() == b"+OK 2 %d" % (len(wire[0]) + len(wire[2]))
    assert c.line().startswith(b"+OK Maildrop has 3")
    assert c.line() == b"+OK Message 3 deleted"
    assert c.line() == b"+OK Bye, 1 messages deleted"
    assert c.closed_by_peer()
    assert stored(o, ALICE[0]) == wire[:2]


def test_dele_then_quit_vs_dele_then_drop(pop):
    o, port, _ = pop
    wire = stored(o, ALICE[0])
    # DELE and the connection drops: nothing is deleted
    c = Raw(port)
    c.login()
    assert c.cmd("DELE 1").startswith("+OK")
    assert c.cmd("DELE 2").startswith("+OK")
    c.close()
    p = login_retrying(port)
    assert p.stat()[0] == 3
    # DELE then QUIT: deleted, atomically, by the time +OK comes
    p.dele(1)
    p.dele(3)
    assert p.quit() == b"+OK Bye, 2 messages deleted"
    assert stored(o, ALICE[0]) == [wire[1]]
    p = login_retrying(port)
    assert p.stat() == (1, len(wire[1]))
    p.quit()


def test_in_use_and_snapshot(pop):
    o, port, _ = pop
    a = Raw(port)
    a.login()
    b = Raw(port)
    assert b.line().startswith(b"+OK")
    assert b.cmd("USER " + ALICE[0]) == "+OK"
    assert b.cmd("PASS " + ALICE[1]).startswith("-ERR [IN-USE]")
    # the other user is not affected
    p = poplib.POP3("127.0.0.1", port)
    p.user(BOB[0])
    p.pass_(BOB[1])
    assert p.stat() == (0, 0)
    p.quit()
    # mail that arrives during a session is not shown to it
    deliver(o, ALICE[0], b"Subject: late\n\nlate\n")
    assert a.cmd("STAT").startswith("+OK 3 ")
    assert a.cmd("QUIT").startswith("+OK")
    assert a.closed_by_peer()
    # b is still in AUTHORIZATION and may try again
    assert b.cmd("USER " + ALICE[0]) == "+OK"
    assert b.cmd("PASS " + ALICE[1]).startswith("+OK Logged in, 4 messages")
    assert b.cmd("QUIT").startswith("+OK")


def test_state_and_syntax_errors(ombu_ready):
    srv = ombu_ready.serve(workers=1, roles=["pop3"], extra=["pop3.max_errors=8",
                                                             "pop3.max_line_length=300"])
    port = srv.ports["pop3"]
    c = Raw(port)
    assert c.line().startswith(b"+OK")
    assert c.cmd("STAT").startswith("-ERR STAT is not allowed before login")
    assert c.cmd("PASS x").startswith("-ERR Give USER first")
    assert c.cmd("XTND XMIT").startswith("-ERR Unknown command")
    assert c.cmd("APOP alice@example.test c4c9334bac560ecc979e58001b3e22fb").startswith("-ERR APOP is not supported")
    assert c.cmd("USER " + ALICE[0]) == "+OK"
    assert c.cmd("PASS " + ALICE[1]).startswith("+OK")
    assert c.cmd("USER x").startswith("-ERR USER is not allowed after login")
    assert c.cmd("RETR x").startswith("-ERR Invalid number")
    # a line over the limit is refused whole, and the next one works
    assert c.cmd("NOOP " + "x" * 400).startswith("-ERR Command line too long")
    assert c.cmd("NOOP") == "+OK"
    # the eighth error closes the connection
    assert c.cmd("BOGUS") == "-ERR Unknown command"
    assert c.line().startswith(b"-ERR Too many bad commands")
    assert c.closed_by_peer()
    stop(srv)


def test_sasl_plain_and_login(pop):
    o, port, _ = pop
    plain = base64.b64encode(b"\0%s\0%s" % (ALICE[0].encode(), ALICE[1].encode())).decode()
    c = Raw(port)
    assert c.line().startswith(b"+OK")
    # the listing older clients ask for
    assert c.cmd("AUTH") == "+OK"
    assert c.multi() == b"PLAIN\r\nLOGIN\r\n.\r\n"
    assert c.cmd("AUTH CRAM-MD5").startswith("-ERR")
    # a cancelled exchange, then a bad response
    assert c.cmd("AUTH PLAIN") == "+ "
    assert c.cmd("*").startswith("-ERR")
    assert c.cmd("AUTH PLAIN") == "+ "
    assert c.cmd("not base64!").startswith("-ERR [AUTH]")
    # PLAIN with an initial response
    assert c.cmd("AUTH PLAIN " + plain).startswith("+OK Logged in")
    assert c.cmd("QUIT").startswith("+OK")
    c.close()
    # LOGIN, step by step; then PLAIN as a continuation
    c = Raw(port)
    assert c.line().startswith(b"+OK")
    assert c.cmd("AUTH LOGIN") == "+ VXNlcm5hbWU6"
    assert c.cmd(base64.b64encode(BOB[0].encode()).decode()) == "+ UGFzc3dvcmQ6"
    assert c.cmd(base64.b64encode(BOB[1].encode()).decode()).startswith("+OK Logged in")
    assert c.cmd("QUIT").startswith("+OK")
    c = Raw(port)
    assert c.line().startswith(b"+OK")
    assert c.cmd("AUTH PLAIN") == "+ "
    assert c.cmd(plain).startswith("+OK Logged in")
    assert c.cmd("QUIT").startswith("+OK")
    # a wrong password over SASL
    c = Raw(port)
    assert c.line().startswith(b"+OK")
    bad = base64.b64encode(b"\0%s\0wrong" % ALICE[0].encode()).decode()
    assert c.cmd("AUTH PLAIN " + bad) == "-ERR [AUTH] Authentication failed"
    c.close()


def test_stls_and_pop3s(ombu_ready):
    deliver(ombu_ready, ALICE[0], MSGS[0])
    srv = ombu_ready.serve(workers=1, roles=["pop3", "pop3s"],
                           extra=["auth.plaintext_without_tls=no"])
    port, sport = srv.ports["pop3"], srv.ports["pop3s"]
    c = Raw(port)
    assert c.line().startswith(b"+OK")
    assert c.cmd("CAPA").startswith("+OK")
    caps = c.multi()
    assert b"STLS\r\n" in caps and b"USER\r\n" not in caps and b"SASL" not in caps
    assert c.cmd("USER " + ALICE[0]).startswith("-ERR [AUTH] Plaintext authentication disallowed")
    assert c.cmd("AUTH PLAIN").startswith("-ERR [AUTH]")
    # a command pipelined after STLS is discarded, never run under TLS
    c.send("STLS\r\nUSER injected\r\n")
    assert c.line() == b"+OK Begin TLS negotiation"
    assert c.buf == b""
    c.starttls()
    assert c.cmd("CAPA").startswith("+OK")
    caps = c.multi()
    assert b"STLS" not in caps and b"USER\r\n" in caps and b"SASL PLAIN LOGIN" in caps
    assert c.cmd("PASS x").startswith("-ERR Give USER first")
    assert c.cmd("STLS").startswith("-ERR TLS is already active")
    assert c.cmd("USER " + ALICE[0]) == "+OK"
    assert c.cmd("PASS " + ALICE[1]).startswith("+OK Logged in, 1 messages")
    assert c.cmd("QUIT").startswith("+OK")
    c.close()
    # poplib's own STLS
    p = poplib.POP3("127.0.0.1", port)
    p.stls(context=unverified())
    p.user(ALICE[0])
    p.pass_(ALICE[1])
    assert p.stat()[0] == 1
    p.quit()
    # implicit TLS
    p = poplib.POP3_SSL("127.0.0.1", sport, context=unverified())
    assert "STLS" not in p.capa()
    p.user(ALICE[0])
    p.pass_(ALICE[1])
    assert b"\r\n".join(p.retr(1)[1]) + b"\r\n" == crlf(MSGS[0])
    p.quit()
    stop(srv)


def test_wrong_passwords_and_throttling(ombu_ready):
    srv = ombu_ready.serve(workers=1, roles=["pop3"], extra=[
        "auth.fail_delay_after=2", "auth.fail_delay=400ms", "auth.fail_delay_max=400ms",
        "auth.ip_block_after=5", "pop3.max_auth_failures=10"])
    port = srv.ports["pop3"]
    c = Raw(port)
    assert c.line().startswith(b"+OK")

    def attempt(user, pw):
        assert c.cmd("USER " + user) == "+OK"
        t0 = time.time()
        r = c.cmd("PASS " + pw)
        return r, time.time() - t0

    # an unknown user and a wrong password look the same
    r1, d1 = attempt("nobody@example.test", "x")
    r2, d2 = attempt(ALICE[0], "wrong")
    assert r1 == r2 == "-ERR [AUTH] Authentication failed"
    assert d1 < 0.35 and d2 < 0.35
    # from the third failure on, answers are delayed
    r3, d3 = attempt(ALICE[0], "wrong")
    assert r3 == "-ERR [AUTH] Authentication failed" and d3 >= 0.35
    attempt(ALICE[0], "wrong")
    attempt(ALICE[0], "wrong")
    # five failures: this IP is refused for now, even with the right password
    r, _ = attempt(ALICE[0], ALICE[1])
    assert r == "-ERR [SYS/TEMP] Too many failed logins, try again later"
    c.close()
    assert "reason=throttled" in srv.log()
    stop(srv)
    # a connection is closed after pop3.max_auth_failures (3) failures
    srv = ombu_ready.serve(workers=1, roles=["pop3"])
    c = Raw(srv.ports["pop3"])
    assert c.line().startswith(b"+OK")
    for _ in range(2):
        c.cmd("USER " + BOB[0])
        assert c.cmd("PASS nope") == "-ERR [AUTH] Authentication failed"
    c.cmd("USER " + BOB[0])
    assert c.cmd("PASS nope") == "-ERR [AUTH] Authentication failed"
    assert c.line().startswith(b"-ERR [AUTH] Too many failed logins")
    assert c.closed_by_peer()
    stop(srv)


def test_options_login_delay_expire_and_limits(ombu_ready):
    srv = ombu_ready.serve(workers=2, roles=["pop3"], extra=[
        "pop3.login_delay=30s", "pop3.expire=NEVER", "pop3.max_connections_per_ip=3"])
    port = srv.ports["pop3"]
    p = poplib.POP3("127.0.0.1", port)
    caps = p.capa()
    assert caps["LOGIN-DELAY"] == ["30"] and caps["EXPIRE"] == ["NEVER"]
    p.user(ALICE[0])
    p.pass_(ALICE[1])
    p.quit()
    p = poplib.POP3("127.0.0.1", port)
    p.user(ALICE[0])
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(ALICE[1])
    assert e.value.args[0].startswith(b"-ERR [LOGIN-DELAY]")
    p.quit()
    # three connections from one IP (over both workers), not a fourth
    conns = [Raw(port) for _ in range(3)]
    for c in conns:
        assert c.line().startswith(b"+OK")
    extra = Raw(port)
    assert extra.line() == b"-ERR [SYS/TEMP] Too many connections from your address"
    assert extra.closed_by_peer()
    conns[0].cmd("QUIT")
    conns[0].closed_by_peer()
    time.sleep(0.1)
    again = Raw(port)
    assert again.line().startswith(b"+OK")
    stop(srv)


def test_imported_uidls_preserved(ombu_ready):
    o = ombu_ready
    msgs = [b"Subject: a\nX-UIDL: 1a2b3c4d5e\n\none\n",
            b"Subject: b\n\nno uidl kept\n",
            b"Subject: c\nX-UIDL: UID77-1234567890\n\nthree\n"]
    o.run("import", ALICE[0], "--keep-uidl", input=to_mboxrd(msgs))
    o.run("import", BOB[0], input=to_mboxrd(msgs))
    srv = o.serve(workers=1, roles=["pop3"])
    p = poplib.POP3("127.0.0.1", srv.ports["pop3"])
    p.user(ALICE[0])
    p.pass_(ALICE[1])
    uidls = [u.split()[1] for u in p.uidl()[1]]
    assert uidls[0] == b"1a2b3c4d5e" and uidls[2] == b"UID77-1234567890"
    assert re.match(rb"^ombu\.\d+\.2$", uidls[1])
    p.quit()
    # without --keep-uidl every message gets the derived form
    p = poplib.POP3("127.0.0.1", srv.ports["pop3"])
    p.user(BOB[0])
    p.pass_(BOB[1])
    assert all(re.match(rb"^ombu\.\d+\.\d+$", u.split()[1]) for u in p.uidl()[1])
    p.quit()
    stop(srv)


def test_curl(pop):
    o, port, srv = pop
    wire = stored(o, ALICE[0])
    u = "%s:%s" % ALICE
    out = subprocess.run(["curl", "-s", "pop3://127.0.0.1:%d/" % port, "-u", u],
                         capture_output=True, check=True).stdout
    assert out == b"".join(b"%d %d\r\n" % (i + 1, len(w)) for i, w in enumerate(wire))
    for i, w in enumerate(wire):
        out = subprocess.run(["curl", "-s", "pop3://127.0.0.1:%d/%d" % (port, i + 1), "-u", u],
                             capture_output=True, check=True).stdout
        assert out == w
    # over implicit TLS and over STLS; UIDL and TOP as custom requests
    out = subprocess.run(["curl", "-sk", "pop3s://127.0.0.1:%d/1" % srv.ports["pop3s"], "-u", u],
                         capture_output=True, check=True).stdout
    assert out == wire[0]
    out = subprocess.run(["curl", "-sk", "--ssl-reqd", "-X", "UIDL", "pop3://127.0.0.1:%d/" % port,
                          "-u", u], capture_output=True, check=True).stdout
    assert len(out.splitlines()) == 3 and out.startswith(b"1 ombu.")
    out = subprocess.run(["curl", "-s", "-X", "TOP 1 0", "pop3://127.0.0.1:%d/" % port, "-u", u],
                         capture_output=True, check=True).stdout
    assert out == wire[0].split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    # SASL PLAIN as curl does it, and DELE
    subprocess.run(["curl", "-s", "--login-options", "AUTH=PLAIN", "-X", "DELE", "-I",
                    "pop3://127.0.0.1:%d/2" % port, "-u", u], capture_output=True, check=True)
    assert stored(o, ALICE[0]) == [wire[0], wire[2]]


def fetchmail(home, port, user, mda_out, keep=True):
    rc = os.path.join(home, "fetchmailrc")
    with open(rc, "w") as f:
        f.write('set no syslog\n'
                'poll 127.0.0.1 service %d protocol pop3 uidl\n'
                '  user "%s" there with password "%s" is "root" here\n'
                "  %s sslproto '' mda \"cat >> %s\"\n" % (port, user[0], user[1],
                                                         "keep" if keep else "fetchall nokeep",
                                                         mda_out))
    os.chmod(rc, 0o600)
    p = subprocess.run(["fetchmail", "-f", rc, "-i", os.path.join(home, "fetchids")],
                       env=dict(os.environ, HOME=home), capture_output=True, text=True, timeout=60)
    # 0: mail fetched, 1: no new mail
    assert p.returncode in (0, 1), p.stderr
    return p.returncode


def count(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\nX-Test-Id: ")
    except FileNotFoundError:
        return 0


def empty_maildrop(port):
    p = login_retrying(port)
    for i in range(p.stat()[0]):
        p.dele(i + 1)
    p.quit()


def test_fetchmail_keep_uidl_survives_an_import(ombu_ready, workdir):
    o = ombu_ready
    home = os.path.join(workdir, "fm")
    os.makedirs(home)
    out = os.path.join(home, "out")
    # the mailbox as it came from the old server: each message carries the
    # UIDL that server gave it (here in Dovecot's %08Xu%08Xv form)
    old = [b"X-UIDL: 0000000%d5f3a2b1c\nSubject: m%d\nX-Test-Id: %d\n\nbody %d\n.dot\n" % (i + 1, i, i, i)
           for i in range(3)]
    o.run("import", ALICE[0], "--keep-uidl", input=to_mboxrd(old))
    srv = o.serve(workers=1, roles=["pop3"])
    port = srv.ports["pop3"]
    # "leave a copy on the server": the first poll fetches all three, the
    # second none
    assert fetchmail(home, port, ALICE, out) == 0
    assert count(out) == 3
    assert fetchmail(home, port, ALICE, out) == 1
    assert count(out) == 3
    with open(os.path.join(home, "fetchids"), "rb") as f:
        assert f.read().count(b"5f3a2b1c") == 3

    # the mailbox moves: exported, emptied, imported again with
    # --keep-uidl; every message gets a new UID, none a new UIDL
    moved = o.run("export", ALICE[0], binary=True).stdout
    empty_maildrop(port)
    assert stored(o, ALICE[0]) == []
    o.run("import", ALICE[0], "--keep-uidl", input=moved)
    p = login_retrying(port)
    assert [u.split()[1] for u in p.uidl()[1]] == [b"0000000%d5f3a2b1c" % (i + 1) for i in range(3)]
    p.quit()
    assert fetchmail(home, port, ALICE, out) == 1
    assert count(out) == 3
    # a message that is really new is fetched
    deliver(o, ALICE[0], b"Subject: new\nX-Test-Id: 9\n\nnew\n")
    assert fetchmail(home, port, ALICE, out) == 0
    assert count(out) == 4

    # without --keep-uidl the same move makes every message new again
    moved = o.run("export", ALICE[0], binary=True).stdout
    empty_maildrop(port)
    o.run("import", ALICE[0], input=moved)
    assert fetchmail(home, port, ALICE, out) == 0
    assert count(out) == 8
    # nokeep: fetched and deleted
    assert fetchmail(home, port, ALICE, out, keep=False) == 0
    assert count(out) == 12
    assert stored(o, ALICE[0]) == []
    stop(srv)


def test_retr_batches_in_any_order(ombu_ready):
    """RETR and TOP read messages in batches ahead of the client
    (pop3.readahead): whatever the order, every answer is the message."""
    import random
    rnd = random.Random(7)
    msgs = [b"Subject: m%d\n\n" % i + b"".join(b".%d-%d %s\n" % (i, k, b"y" * rnd.randrange(0, 300))
                                               for k in range(rnd.randrange(1, 40)))
            for i in range(40)]
    o = ombu_ready
    o.run("import", ALICE[0], input=to_mboxrd(msgs))
    srv = o.serve(workers=1, roles=["pop3"], extra=["pop3.readahead=3k"])
    port = srv.ports["pop3"]
    wire = stored(o, ALICE[0])
    c = Raw(port)
    c.login()

    def retr(n):
        assert c.cmd("RETR %d" % n) == "+OK %d octets" % len(wire[n - 1])
        assert c.multi() == stuffed(wire[n - 1])

    for n in range(1, 11):
        retr(n)
    # backwards, and jumps
    for n in (3, 2, 25, 26, 40, 1, 39):
        retr(n)
    # TOP then RETR of the same message, from one batch
    assert c.cmd("TOP 12 1").startswith("+OK")
    head, body = wire[11].split(b"\r\n\r\n", 1)
    assert c.multi() == stuffed(head + b"\r\n\r\n" + body.split(b"\r\n")[0] + b"\r\n")
    retr(12)
    # a deleted message is skipped by the batches and refused
    assert c.cmd("DELE 14").startswith("+OK")
    retr(13)
    assert c.cmd("RETR 14").startswith("-ERR")
    retr(15)
    # all the rest pipelined in one write
    rest = [n for n in range(16, 40)]
    c.send("".join("RETR %d\r\n" % n for n in rest))
    for n in rest:
        assert c.line() == b"+OK %d octets" % len(wire[n - 1])
        assert c.multi() == stuffed(wire[n - 1])
    assert c.cmd("QUIT") == "+OK Bye, 1 messages deleted"
    assert len(stored(o, ALICE[0])) == 39
    # and without read-ahead
    stop(srv)
    srv = o.serve(workers=1, roles=["pop3"], extra=["pop3.readahead=0"])
    wire = stored(o, ALICE[0])
    c = Raw(srv.ports["pop3"])
    c.login()
    for n in (5, 1, 39):
        retr(n)
    c.cmd("QUIT")
    stop(srv)


def test_large_message_streams_byte_exact(ombu_ready):
    big = (b"Subject: big\n\n" + b"".join(b".%07d line of a large message, with a dot first\n" % i
                                           for i in range(160000)))
    deliver(ombu_ready, ALICE[0], big)
    srv = ombu_ready.serve(workers=1, roles=["pop3"])
    c = Raw(srv.ports["pop3"])
    c.login()
    w = crlf(big)
    assert c.cmd("RETR 1") == "+OK %d octets" % len(w)
    # a slow reader: the server must wait for it, not buffer it all
    time.sleep(0.5)
    body = c.multi()
    assert len(body) == len(w) + 160000 + 3
    assert hashlib.sha256(body).digest() == hashlib.sha256(stuffed(w)).digest()
    assert c.cmd("QUIT").startswith("+OK")
    stop(srv)


def test_shutdown_discards_marks(pop):
    o, port, srv = pop
    c = Raw(port)
    c.login()
    assert c.cmd("DELE 1").startswith("+OK")
    srv.proc.send_signal(signal.SIGTERM)
    assert c.line() == b"-ERR [SYS/TEMP] Server shutting down, try again later"
    assert c.closed_by_peer()
    assert stop(srv) == 0
    assert len(stored(o, ALICE[0])) == 3
