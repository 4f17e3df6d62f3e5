"""Limits and hostile input: plaintext before TLS, line and literal sizes
(APPENDLIMIT refused before the literal is sent), nesting, the error
limit, connections per IP and per user, login throttling and timeout,
BAD with a useful text for broken syntax, and BYE on shutdown."""

import imaplib
import signal
import socket
import time

import pytest

from test_imap import Raw, ssl_context


def serve(ombu, *extra):
    return ombu.serve(workers=1, roles=["imap", "imaps"], extra=list(extra))


def test_plaintext_refused_before_tls(ombu_ready):
    s = serve(ombu_ready, "auth.plaintext_without_tls=no")
    r = Raw(s.ports["imap"])
    caps = r.greeting.decode()
    assert "LOGINDISABLED" in caps and "STARTTLS" in caps and "AUTH=PLAIN" not in caps
    assert r.cmd('LOGIN "alice@example.test" "alice-pw"')[0].startswith("NO [PRIVACYREQUIRED]")
    assert r.cmd("AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1wdw==")[0].startswith(
        "NO [PRIVACYREQUIRED]")
    r.close()
    m = imaplib.IMAP4("127.0.0.1", s.ports["imap"])
    m.starttls(ssl_context=ssl_context())
    assert "LOGINDISABLED" not in m.capabilities and "AUTH=PLAIN" in m.capabilities
    m.login("alice@example.test", "alice-pw")
    m.logout()
    m = imaplib.IMAP4_SSL("127.0.0.1", s.ports["imaps"], ssl_context=ssl_context())
    m.login("alice@example.test", "alice-pw")
    m.logout()


def test_line_literal_and_nesting_limits(ombu_ready):
    s = serve(ombu_ready, "imap.max_line_length=2k", "imap.append_limit=10k",
              "imap.max_literal_size=4k", "imap.max_nesting=8")
    r = Raw(s.ports["imap"])
    r.login()
    caps = b"".join(r.ok("CAPABILITY"))
    assert b"APPENDLIMIT=10240" in caps
    # a synchronising literal over APPENDLIMIT: NO [TOOBIG], no "+"
    r.send("a APPEND INBOX {20000}\r\n")
    line = r.response()
    assert line.startswith(b"a NO [TOOBIG]"), line
    # ... the session goes on
    r.ok("NOOP")
    # a non-synchronising one is read and dropped, then NO
    data = b"x" * 20000
    r.send(b"b APPEND INBOX {20000+}\r\n" + data + b"\r\n")
    assert r.wait("b")[0].startswith("NO [TOOBIG]")
    r.ok("NOOP")
    # within the limit: fine
    msg = b"Subject: ok\r\n\r\n" + b"y" * 9000 + b"\r\n"
    r.send(b"c APPEND INBOX {%d}\r\n" % len(msg))
    assert r.response().startswith(b"+ ")
    r.send(msg + b"\r\n")
    assert r.wait("c")[0].startswith("OK")
    # a literal in another command is bounded by max_literal_size
    r.send("d SEARCH TEXT {5000}\r\n")
    assert r.response().startswith(b"d BAD")
    # nesting
    r.ok("SELECT INBOX")
    assert r.cmd("SEARCH " + "(" * 10 + "ALL" + ")" * 10)[0].startswith("BAD")
    r.ok("SEARCH " + "(" * 3 + "ALL" + ")" * 3)
    assert r.cmd("SEARCH " + "NOT " * 20 + "ALL")[0].startswith("BAD")
    # a line over the limit ends the session
    r.send("e NOOP " + "z" * 3000 + "\r\n")
    resp = r.response()
    assert resp.startswith(b"* BYE"), resp
    assert r.closed()


def test_bad_syntax_gets_bad_with_text(ombu_ready):
    s = serve(ombu_ready, "imap.max_errors=100")
    r = Raw(s.ports["imap"])
    cases = [
        ("", b"* BAD"),
        ("nocommand", b"nocommand BAD"),
        ("a NOSUCHCOMMAND", b"a BAD"),
        ("a+b NOOP", b"* BAD"),
        ('a LOGIN "unterminated', b"a BAD"),
        ("a LOGIN a b c", b"a BAD"),
        ("a SELECT INBOX", b"a BAD"),          # not logged in
        ("a NOOP )", b"a BAD"),
        ("a {x}", b"a BAD"),
    ]
    for line, want in cases:
        r.send(line + "\r\n")
        got = r.response()
        assert got.startswith(want), (line, got)
        assert len(got) > len(want) + 3, got  # a text that says something
    r.login()
    for line in ["a FETCH", "a FETCH 1 FLAGS", "a UID", "a UID NOOP", "a STORE 1 BOGUS x",
                 "a SEARCH", "a SEARCH BOGUS", "a SELECT", "a LIST", "a STATUS INBOX", "a ENABLE"]:
        r.send(line + "\r\n")
        got = r.response()
        if line == "a FETCH 1 FLAGS":
            # no mailbox selected
            assert got.startswith(b"a BAD"), got
        else:
            assert got.startswith(b"a BAD") or got.startswith(b"* "), (line, got)
            while not got.startswith(b"a "):
                got = r.response()
            assert got.startswith(b"a BAD"), (line, got)
    r.ok("SELECT INBOX")
    for line in ["a FETCH 0 FLAGS", "a FETCH 1:* BODY[HEADER.FIELDS]", "a FETCH 1 (FLAGS",
                 "a STORE 1 +FLAGS (\\Bogus)", "a COPY", "a SEARCH UID x", "a SORT (DATE)",
                 "a THREAD X UTF-8 ALL"]:
        got, _ = r.cmd(line[2:])
        assert got.startswith("BAD"), (line, got)
    r.ok("NOOP")
    r.close()


def test_error_limit_gets_bye(ombu_ready):
    s = serve(ombu_ready, "imap.max_errors=3")
    r = Raw(s.ports["imap"])
    r.send("a BOGUS\r\nb BOGUS\r\nc BOGUS\r\nd NOOP\r\n")
    got = [r.response() for _ in range(4)]
    assert got[0].startswith(b"a BAD") and got[2].startswith(b"c BAD")
    assert got[3].startswith(b"* BYE"), got
    assert r.closed()


def test_connection_limits(ombu_ready):
    s = serve(ombu_ready, "imap.max_connections_per_ip=3", "imap.max_connections_per_user=2")
    port = s.ports["imap"]
    conns = [Raw(port) for _ in range(3)]
    fourth = Raw(port)
    assert fourth.greeting.startswith(b"* BYE"), fourth.greeting
    assert fourth.closed()
    conns[0].login()
    conns[1].login()
    r, _ = conns[2].cmd('LOGIN "alice@example.test" "alice-pw"')
    assert r.startswith("NO [LIMIT]"), r
    conns[2].login("bob@example.test", "bob-pw")
    for c in conns:
        c.cmd("LOGOUT")
        c.close()
    # the counts go down again
    time.sleep(0.3)
    again = Raw(port)
    again.login()
    again.close()


def test_login_throttle_and_timeout(ombu_ready):
    s = serve(ombu_ready, "auth.ip_block_after=3", "auth.fail_delay_after=100",
              "imap.login_timeout=1s")
    r = Raw(s.ports["imap"])
    for _ in range(3):
        assert r.cmd('LOGIN "alice@example.test" "wrong"')[0].startswith("NO [AUTHENTICATIONFAILED]")
    got = r.cmd('LOGIN "alice@example.test" "alice-pw"')[0]
    assert got.startswith("NO [UNAVAILABLE]"), got
    r.close()
    # an unauthenticated connection that stays silent is closed
    r = Raw(s.ports["imap"])
    t0 = time.monotonic()
    assert r.closed(timeout=5)
    assert time.monotonic() - t0 < 4


def test_shutdown_says_bye(ombu_ready):
    s = serve(ombu_ready)
    r = Raw(s.ports["imap"])
    r.login()
    r.ok("SELECT INBOX")
    r.send("i IDLE\r\n")
    assert r.response() == b"+ idling"
    s.proc.send_signal(signal.SIGTERM)
    r.sock.settimeout(10)
    got = r.response()
    assert got.startswith(b"* BYE"), got
    assert s.proc.wait(timeout=30) == 0
