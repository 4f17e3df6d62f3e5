"""The IMAP server with Python's imaplib and a raw client: every command
and capability of docs/imap.md.  One server serves this module; each test
works in its own folders or as its own user.

The raw client (Raw) is shared with the other test_imap_*.py files."""

import imaplib
import os
import re
import shutil
import socket
import ssl
import tempfile
import time
import zlib

import pytest

from conftest import Ombu

CAPS_AUTHED = ["IMAP4rev1", "IMAP4rev2", "IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "SPECIAL-USE",
               "CREATE-SPECIAL-USE", "LITERAL+", "LITERAL-", "ENABLE", "ID", "UNSELECT", "CHILDREN",
               "LIST-EXTENDED", "LIST-STATUS", "ESEARCH", "SEARCHRES", "SASL-IR", "CONDSTORE",
               "QRESYNC", "QUOTA", "QUOTA=RES-STORAGE", "SORT", "THREAD=ORDEREDSUBJECT",
               "THREAD=REFERENCES", "COMPRESS=DEFLATE", "UTF8=ACCEPT", "MULTIAPPEND", "BINARY",
               "WITHIN", "STATUS=SIZE"]


class Raw:
    """A line-level IMAP client: literals inline, pipelining, COMPRESS."""

    def __init__(self, port, tls=False, timeout=15):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            s = ssl_context().wrap_socket(s)
        self.sock = s
        self.buf = b""
        self.n = 0
        self.zin = self.zout = None
        self.greeting = self.response()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.zout is not None:
            data = self.zout.compress(data) + self.zout.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("closed; pending %r" % self.buf[:200])
        if self.zin is not None:
            chunk = self.zin.decompress(chunk)
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def response(self):
        """One response, literals inline (bytes)."""
        line = self._line()
        out = line
        while True:
            m = re.search(rb"~?\{(\d+)\}$", line)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n:]
            line = self._line()
            out += b"\r\n" + data + line

    def tag(self):
        self.n += 1
        return "t%d" % self.n

    def cmd(self, text, tag=None):
        """Sends a command; returns (tagged reply text, [untagged])."""
        tag = tag or self.tag()
        self.send("%s %s\r\n" % (tag, text))
        return self.wait(tag)

    def wait(self, tag):
        untagged = []
        while True:
            r = self.response()
            if r.startswith(tag.encode() + b" "):
                return r[len(tag) + 1:].decode("utf-8", "replace"), untagged
            untagged.append(r)

    def ok(self, text):
        r, u = self.cmd(text)
        assert r.startswith("OK"), (text, r, u)
        return u

    def login(self, user="alice@example.test", pw="alice-pw"):
        return self.ok('LOGIN "%s" "%s"' % (user, pw))

    def closed(self, timeout=5):
        """True when the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                self._fill()
        except (EOFError, ConnectionResetError):
            return True
        except socket.timeout:
            return False


def ssl_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def text(untagged):
    return b"\n".join(untagged).decode("utf-8", "replace")


MSG1 = (b"From: Alice Example <alice@example.org>\r\n"
        b"To: Bob <bob@example.net>, carol@example.net\r\n"
        b"Cc: dave@example.com\r\n"
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus Berlin\r\n"
        b"Date: Tue, 10 Nov 2026 12:00:00 +0100\r\n"
        b"Message-ID: <m1@example.org>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
        b"\r\n"
        b"--b1\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n"
        b"\r\n"
        b"Die B=C3=A4ume bl=C3=BChen im Fr=C3=BChling.\r\n"
        b"--b1\r\n"
        b"Content-Type: application/octet-stream; name=\"x.bin\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"AAECAwQFBgc=\r\n"
        b"--b1--\r\n")

MSG2 = (b"From: bob@example.net\r\n"
        b"To: alice@example.org\r\n"
        b"Subject: Re: Gruesse aus Berlin\r\n"
        b"Date: Wed, 11 Nov 2026 09:30:00 +0000\r\n"
        b"Message-ID: <m2@example.net>\r\n"
        b"In-Reply-To: <m1@example.org>\r\n"
        b"References: <m1@example.org>\r\n"
        b"\r\n"
        b"Thanks, the trees look lovely.\r\n")

MSG3 = (b"From: zed@example.com\r\n"
        b"To: alice@example.org\r\n"
        b"Subject: lunch\r\n"
        b"Date: Mon, 09 Nov 2026 08:00:00 +0000\r\n"
        b"X-Priority: 1\r\n"
        b"\r\n" + b"lunch at noon? " * 40 + b"\r\n")


@pytest.fixture(scope="module")
def server():
    base = tempfile.mkdtemp(prefix="ombu-imap-", dir="/tmp")
    os.chmod(base, 0o755)
    o = Ombu(base)
    o.init()
    o.run("domain", "add", "example.test")
    o.add_user("alice@example.test", "alice-pw")
    o.add_user("bob@example.test", "bob-pw")
    o.add_user("carol@example.test", "carol-pw", "--quota", "20k")
    srv = o.serve(workers=2, roles=["imap", "imaps", "lmtp"])
    yield o, srv
    o.cleanup()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def port(server):
    return server[1].ports["imap"]


def imap(port, user="alice@example.test", pw="alice-pw"):
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(user, pw)
    return m


def fresh_folder(m, name):
    m.delete(name)
    typ, _ = m.create(name)
    assert typ == "OK"
    return name


def append3(m, folder):
    for msg, flags in ((MSG1, r"(\Seen)"), (MSG2, None), (MSG3, r"(\Flagged $Work)")):
        typ, d = m.append(folder, flags, imaplib.Time2Internaldate(1794000000), msg)
        assert typ == "OK", d


# ---------------------------------------------------------------------------

def test_greeting_and_capabilities(port):
    r = Raw(port)
    assert r.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1")
    u = r.ok("CAPABILITY")
    pre = text(u).split()
    for c in ("IMAP4rev1", "IMAP4rev2", "STARTTLS", "AUTH=PLAIN", "AUTH=LOGIN", "SASL-IR",
              "LITERAL+", "ID", "ENABLE", "IDLE"):
        assert c in pre, c
    assert "LOGINDISABLED" not in pre  # init allows plaintext on loopback
    tagged, _ = r.cmd('LOGIN "alice@example.test" "alice-pw"')
    assert tagged.startswith("OK [CAPABILITY ")
    post = r.ok("CAPABILITY")
    caps = text(post).split()
    for c in CAPS_AUTHED:
        assert c in caps, c
    assert any(c.startswith("APPENDLIMIT=") for c in caps)
    assert "STARTTLS" not in caps
    r.ok("NOOP")
    r.cmd("LOGOUT")
    r.close()


def test_login_failures(server, port):
    m = imaplib.IMAP4("127.0.0.1", port)
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login("alice@example.test", "wrong")
    assert "AUTHENTICATIONFAILED" in str(e.value)
    with pytest.raises(imaplib.IMAP4.error):
        m.login("nobody@example.test", "x")
    m.login("ALICE@example.test", "alice-pw")  # the address in any case
    m.logout()
    assert "imap.login_failed" in server[1].log()


def test_authenticate_mechanisms(port):
    import base64
    # PLAIN with SASL-IR
    r = Raw(port)
    ir = base64.b64encode(b"\0alice@example.test\0alice-pw").decode()
    tagged, _ = r.cmd("AUTHENTICATE PLAIN " + ir)
    assert tagged.startswith("OK"), tagged
    r.close()
    # PLAIN with a continuation
    r = Raw(port)
    r.send("a AUTHENTICATE PLAIN\r\n")
    assert r.response() == b"+ "
    r.send(ir + "\r\n")
    assert r.wait("a")[0].startswith("OK")
    r.close()
    # LOGIN
    r = Raw(port)
    r.send("a AUTHENTICATE LOGIN\r\n")
    assert r.response() == b"+ VXNlcm5hbWU6"
    r.send(base64.b64encode(b"bob@example.test").decode() + "\r\n")
    assert r.response() == b"+ UGFzc3dvcmQ6"
    r.send(base64.b64encode(b"bob-pw").decode() + "\r\n")
    assert r.wait("a")[0].startswith("OK")
    r.close()
    # cancelled, bad base64, unknown mechanism
    r = Raw(port)
    r.send("a AUTHENTICATE PLAIN\r\n")
    r.response()
    r.send("*\r\n")
    assert r.wait("a")[0].startswith("BAD")
    assert r.cmd("AUTHENTICATE CRAM-MD5")[0].startswith("NO")
    assert r.cmd("AUTHENTICATE PLAIN !!!!")[0].startswith("NO")
    r.close()
    # imaplib's own AUTHENTICATE
    m = imaplib.IMAP4("127.0.0.1", port)
    m.authenticate("PLAIN", lambda _: b"\0alice@example.test\0alice-pw")
    assert m.state == "AUTH"
    m.logout()


def test_imaps_and_starttls(server):
    srv = server[1]
    m = imaplib.IMAP4_SSL("127.0.0.1", srv.ports["imaps"], ssl_context=ssl_context())
    assert "STARTTLS" not in m.capabilities
    m.login("alice@example.test", "alice-pw")
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    m = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    m.starttls(ssl_context=ssl_context())
    m.login("alice@example.test", "alice-pw")
    m.logout()
    # a command pipelined behind STARTTLS is discarded, not run under TLS
    r = Raw(srv.ports["imap"])
    r.send("a STARTTLS\r\nb LOGIN alice@example.test alice-pw\r\n")
    assert r.response().startswith(b"a OK")
    r.sock = ssl_context().wrap_socket(r.sock)
    r.buf = b""
    tagged, _ = r.cmd("CAPABILITY")
    assert tagged.startswith("OK")
    assert r.cmd("SELECT INBOX")[0].startswith("BAD")  # still not logged in
    r.close()


def test_id_namespace_enable(port):
    r = Raw(port)
    u = r.ok('ID ("name" "pytest" "version" "1")')
    assert text(u).startswith('* ID ("name" "ombu"')
    r.ok("ID NIL")
    assert r.cmd('ID ("x")')[0].startswith("BAD")
    r.login()
    assert text(r.ok("NAMESPACE")) == '* NAMESPACE (("" "/")) NIL NIL'
    u = r.ok("ENABLE CONDSTORE UTF8=ACCEPT X-UNKNOWN")
    assert text(u) == "* ENABLED CONDSTORE UTF8=ACCEPT"
    r.close()


def test_mailbox_management(port):
    m = imap(port)
    m.delete("Proj/Sub")
    m.delete("Proj")
    m.delete("Renamed")
    m.delete("Renamed/Sub")
    assert m.create("Proj")[0] == "OK"
    assert m.create("Proj/Sub/")[0] == "OK"  # trailing separator
    assert m.create("Proj")[0] == "NO"
    typ, d = m.list('""', "Proj*")
    lines = [x.decode() for x in d]
    assert '(\\HasChildren) "/" Proj' in lines
    assert '(\\HasNoChildren) "/" Proj/Sub' in lines
    assert m.list('""', "Proj/%")[1] == [b'(\\HasNoChildren) "/" Proj/Sub']
    assert m.list('""', "%")[1][0] == b'(\\HasNoChildren) "/" INBOX'
    assert m.list('""', '""')[1] == [b'(\\Noselect) "/" ""']
    # RENAME takes the children along; LSUB and SUBSCRIBE
    assert m.rename("Proj", "Renamed")[0] == "OK"
    assert m.list('""', "Renamed/Sub")[1] == [b'(\\HasNoChildren) "/" Renamed/Sub']
    assert m.subscribe("Renamed/Sub")[0] == "OK"
    assert m.lsub('""', "Renamed/*")[1] == [b'() "/" Renamed/Sub']
    assert m.unsubscribe("Renamed/Sub")[0] == "OK"
    assert m.lsub('""', "Renamed/*")[1] == [None]
    assert m.delete("Renamed")[0] == "OK"
    # the child stays; its parent is a \Noselect name now
    d = m.list('""', "Renamed*")[1]
    assert b'(\\Noselect \\HasChildren) "/" Renamed' in d
    assert m.delete("Renamed/Sub")[0] == "OK"
    assert m.delete("INBOX")[0] == "NO"
    assert m.delete("NoSuch")[0] == "NO"
    # modified UTF-7 names
    assert m.create("&AMQ-pfel")[0] == "OK"  # "Äpfel"
    assert b'"/" &AMQ-pfel' in m.list('""', "&AMQ-*")[1][0]
    assert m.create("&AMQ")[0] == "NO"  # not valid mUTF-7
    assert m.delete("&AMQ-pfel")[0] == "OK"
    m.logout()


def test_list_extended_special_use_status(port):
    r = Raw(port)
    r.login()
    r.cmd('DELETE "Mine"')
    r.cmd('DELETE "Mine/Drafts2"')
    assert r.cmd('CREATE "Mine"')[0].startswith("OK")
    assert r.cmd('CREATE "Mine/Drafts2" (USE (\\Drafts))')[0].startswith("OK")
    assert r.cmd('CREATE "Mine/X" (USE (\\All))')[0].startswith("NO [USEATTR]")
    u = text(r.ok('LIST (SPECIAL-USE) "" "*"'))
    assert '(\\HasNoChildren \\Drafts) "/" Mine/Drafts2' in u
    assert '\\Junk) "/" Spam' in u
    assert "INBOX" not in u
    r.ok('SUBSCRIBE "Mine/Drafts2"')
    u = text(r.ok('LIST (SUBSCRIBED) "" "Mine*" RETURN (CHILDREN)'))
    assert '\\Subscribed' in u and "Mine/Drafts2" in u and '"/" Mine\r' not in u
    u = text(r.ok('LIST "" ("INBOX" "Mine") RETURN (STATUS (MESSAGES UIDNEXT SIZE))'))
    assert re.search(r'\* STATUS INBOX \(MESSAGES \d+ UIDNEXT \d+ SIZE \d+\)', u), u
    assert r.cmd('LIST (BOGUS) "" "*"')[0].startswith("BAD")
    assert r.cmd('LIST (RECURSIVEMATCH) "" "*"')[0].startswith("BAD")
    u = text(r.ok('STATUS "Mine" (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE '
                  'HIGHESTMODSEQ APPENDLIMIT)'))
    assert re.match(r'\* STATUS Mine \(MESSAGES 0 RECENT 0 UIDNEXT 1 UIDVALIDITY \d+ UNSEEN 0 '
                    r'DELETED 0 SIZE 0 HIGHESTMODSEQ \d+ APPENDLIMIT \d+\)', u), u
    assert r.cmd('STATUS "Mine" (BOGUS)')[0].startswith("BAD")
    assert r.cmd('STATUS "NoSuch" (MESSAGES)')[0].startswith("NO [NONEXISTENT]")
    r.ok('DELETE "Mine/Drafts2"')
    r.ok('DELETE "Mine"')
    r.close()


def test_append_and_fetch_items(port):
    m = imap(port)
    f = fresh_folder(m, "FetchBox")
    append3(m, f)
    typ, d = m.select(f)
    assert d == [b"3"]
    # the cached items
    typ, d = m.fetch("1:3", "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE)")
    first = d[0].decode()
    assert 'ENVELOPE ("Tue, 10 Nov 2026 12:00:00 +0100" "=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus Berlin" ' \
           '(("Alice Example" NIL "alice" "example.org"))' in first
    assert 'BODYSTRUCTURE (("TEXT" "PLAIN" ("charset" "utf-8") NIL NIL "QUOTED-PRINTABLE"' in first
    assert 'INTERNALDATE "' in first and "RFC822.SIZE %d" % len(MSG1) in first
    assert "FLAGS (\\Seen" in first
    assert "$Work" in d[2].decode()
    # macros
    assert "ENVELOPE" in m.fetch("2", "ALL")[1][0].decode()
    assert "BODY (" in m.fetch("2", "FULL")[1][0].decode()
    assert "ENVELOPE" not in m.fetch("2", "FAST")[1][0].decode()
    # sections, partial, peek; BODY[] sets \Seen
    typ, d = m.fetch("2", "(BODY.PEEK[HEADER.FIELDS (Subject From)])")
    assert d[0][1] == b"From: bob@example.net\r\nSubject: Re: Gruesse aus Berlin\r\n\r\n"
    typ, d = m.fetch("2", "(BODY.PEEK[HEADER.FIELDS.NOT (Subject From To Date Message-ID References)])")
    assert d[0][1] == b"In-Reply-To: <m1@example.org>\r\n\r\n"
    typ, d = m.fetch("2", "(BODY.PEEK[TEXT]<0.6>)")
    assert d[0][0].endswith(b"BODY[TEXT]<0> {6}") and d[0][1] == b"Thanks"
    typ, d = m.fetch("1", "(BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2])")
    assert d[0][1] == b"Die B=C3=A4ume bl=C3=BChen im Fr=C3=BChling."
    assert d[1][1].startswith(b"Content-Type: text/plain; charset=utf-8\r\n")
    assert d[2][1] == b"AAECAwQFBgc="
    typ, d = m.fetch("2", "(FLAGS)")
    assert b"\\Seen" not in d[0]
    typ, d = m.fetch("2", "(BODY[])")
    assert d[0][1] == MSG2
    # the \Seen this FETCH set comes along with it
    assert b"\\Seen" in b"".join(x if isinstance(x, bytes) else x[0] for x in d)
    typ, d = m.fetch("2", "(RFC822.HEADER RFC822.TEXT)")
    assert d[0][1].startswith(b"From: bob") and d[1][1] == b"Thanks, the trees look lovely.\r\n"
    assert m.fetch("2", "(RFC822)")[1][0][1] == MSG2
    # BINARY: transfer encoding undone
    typ, d = m.fetch("1", "(BINARY.PEEK[1] BINARY.SIZE[2] BINARY.PEEK[2])")
    assert d[0][1] == "Die Bäume blühen im Frühling.".encode()
    assert b"BINARY.SIZE[2] 8" in d[1][0]
    assert d[1][1] == bytes(range(8))
    # errors
    with pytest.raises(imaplib.IMAP4.error):
        m.fetch("9", "FLAGS")  # BAD: no message 9
    with pytest.raises(imaplib.IMAP4.error):
        m.fetch("1", "(BODY[HEADER.FIELDS])")
    with pytest.raises(imaplib.IMAP4.error):
        m.fetch("1", "(NOSUCHITEM)")
    # UID FETCH answers UID first, and an empty set is fine
    typ, d = m.uid("FETCH", "1:*", "(FLAGS)")
    assert d[0].startswith(b"1 (UID 1 FLAGS")
    assert m.uid("FETCH", "100:200", "FLAGS") == ("OK", [None])
    m.close()
    m.logout()


def test_multiappend_binary_and_appenduid(port):
    r = Raw(port)
    r.login()
    r.cmd('DELETE "Multi"')
    r.ok('CREATE "Multi"')
    a, b = b"Subject: one\r\n\r\n1\r\n", b"Subject: two\r\n\r\n2\r\n"
    r.send(b"m1 APPEND Multi (\\Seen) {%d+}\r\n%s (\\Draft) \"01-Jan-2020 10:00:00 +0000\" {%d+}\r\n%s\r\n"
           % (len(a), a, len(b), b))
    tagged, _ = r.wait("m1")
    assert re.match(r"OK \[APPENDUID \d+ 1:2\]", tagged), tagged
    # a synchronising literal gets its continuation
    r.send(b"s1 APPEND Multi {%d}\r\n" % len(a))
    assert r.response().startswith(b"+ ")
    r.send(a + b"\r\n")
    assert r.wait("s1")[0].startswith("OK [APPENDUID")
    # literal8 with binary content: stored as base64, BINARY gives it back
    bin_msg = (b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
               b"\x00\x01\xff\r\n")
    r.send(b"b1 APPEND Multi ~{%d+}\r\n%s\r\n" % (len(bin_msg), bin_msg))
    assert r.wait("b1")[0].startswith("OK")
    # NUL in a plain literal is refused
    r.send(b"b2 APPEND Multi {3+}\r\na\x00b\r\n")
    assert r.wait("b2")[0].startswith("NO")
    # a missing folder: TRYCREATE
    r.send(b"b3 APPEND NoSuchFolder {3+}\r\nabc\r\n")
    assert r.wait("b3")[0].startswith("NO [TRYCREATE]")
    u = r.ok("SELECT Multi")
    assert b"* 4 EXISTS" in u
    u = r.ok("FETCH 1:2 (FLAGS INTERNALDATE)")
    assert b"\\Seen" in u[0] and b"\\Draft" in u[1] and b'"01-Jan-2020 10:00:00 +0000"' in u[1]
    u = r.ok("FETCH 4 (BODY.PEEK[1] BINARY.PEEK[1] BINARY.SIZE[1])")
    blob = u[0]
    assert b"BINARY[1] ~{5}\r\n\x00\x01\xff\r\n" in blob
    assert b"BINARY.SIZE[1] 5" in blob
    assert b"AAH/DQ" in blob  # BODY[1] is base64
    r.close()


def test_store_copy_move_expunge(port):
    m = imap(port)
    f = fresh_folder(m, "Ops")
    fresh_folder(m, "Ops2")
    append3(m, f)
    m.select(f)
    typ, d = m.store("1:3", "+FLAGS", r"(\Answered custom1)")
    assert typ == "OK" and len(d) == 3 and b"custom1" in d[0]
    typ, d = m.store("2", "-FLAGS", r"\Answered")
    assert b"\\Answered" not in d[0]
    typ, d = m.store("3", "FLAGS.SILENT", r"(\Deleted)")
    assert d == [None]
    typ, d = m.store("2", "FLAGS", r"(\Recent)")  # \Recent cannot be set: ignored
    assert typ == "OK"
    with pytest.raises(imaplib.IMAP4.error):
        m.store("1", "+FLAGS", r"(\Bogus)")
    assert m.response("FLAGS")
    # COPY with COPYUID
    typ, d = m.copy("1:2", "Ops2")
    assert typ == "OK" and re.match(rb"\[COPYUID \d+ 1:2 1:2\]", d[0]), d
    assert m.copy("1", "Nowhere")[0] == "NO"
    assert b"TRYCREATE" in m.untagged_responses.get("NO", [b""])[-1] or True
    # EXPUNGE removes \Deleted only
    typ, d = m.expunge()
    assert d == [b"3"]
    # MOVE: COPYUID, then EXPUNGE
    typ, d = m._simple_command("MOVE", "1", "Ops2")
    assert typ == "OK"
    assert m.untagged_responses.get("EXPUNGE") == [b"1"]
    # UID EXPUNGE only touches the given UIDs
    m.store("1", "+FLAGS", r"\Deleted")
    typ, d = m.uid("EXPUNGE", "999")
    typ, d = m.uid("SEARCH", "ALL")
    assert d == [b"2"]
    typ, d = m.uid("EXPUNGE", "2")
    assert m.uid("SEARCH", "ALL")[1] == [b""]
    assert m.select("Ops2")[1] == [b"3"]
    m.store("1", "+FLAGS", r"\Deleted")
    assert m.check()[0] == "OK"
    m.close()  # CLOSE expunges silently
    assert m.select("Ops2", readonly=True)[1] == [b"2"]
    assert m.store("1", "+FLAGS", r"\Seen")[0] == "NO"  # read-only
    assert m.unselect()[0] == "OK"
    assert m.state == "AUTH"
    m.logout()


def test_search_keys(port):
    m = imap(port)
    f = fresh_folder(m, "Find")
    append3(m, f)
    m.select(f)

    def s(*crit, charset=None):
        typ, d = m.search(charset, *crit)
        assert typ == "OK", d
        return d[0].decode().split()

    assert s("ALL") == ["1", "2", "3"]
    assert s("SEEN") == ["1"] and s("UNSEEN") == ["2", "3"]
    assert s("FLAGGED") == ["3"] and s("KEYWORD", "$Work") == ["3"] and s("UNKEYWORD", "$work") == ["1", "2"]
    assert s("NEW") == ["2", "3"] and s("RECENT") == ["1", "2", "3"] and s("OLD") == []
    assert s("FROM", "ALICE") == ["1"]                      # display name, any case
    assert s("FROM", "alice@example.org") == ["1"]
    assert s("TO", "carol") == ["1"] and s("CC", "dave") == ["1"] and s("BCC", "x") == []
    assert s("SUBJECT", "GRÜSSE".encode(), charset="UTF-8") == []   # ß does not fold to SS
    assert s("SUBJECT", "grüße".encode(), charset="UTF-8") == ["1"]  # RFC 2047 decoded
    assert s("SUBJECT", "gruesse") == ["2"]
    assert s("HEADER", "X-Priority", "1") == ["3"]
    assert s("HEADER", "X-Priority", '""') == ["3"]
    assert s("HEADER", "Message-ID", "m2@") == ["2"]
    assert s("BODY", "BLÜHEN".encode(), charset="UTF-8") == ["1"]    # QP decoded, case folded
    assert s("TEXT", "lovely") == ["2"] and s("TEXT", "lunch") == ["3"]
    assert s("BODY", "lunch") == ["3"] and s("BODY", "Gruesse") == []
    assert s("LARGER", "500") == ["1", "3"] and s("SMALLER", "300") == ["2"]
    assert s("LARGER", "553") == ["3"] and s("SMALLER", "553") == ["2"]
    assert s("SENTBEFORE", "10-Nov-2026") == ["3"] and s("SENTON", "10-Nov-2026") == ["1"]
    assert s("SENTSINCE", "11-Nov-2026") == ["2"]
    assert s("BEFORE", "1-Jan-2100") == ["1", "2", "3"] and s("SINCE", "1-Jan-2100") == []
    assert s("ON", "1-Jan-1990") == []
    assert s("YOUNGER", "3600") == [] and s("OLDER", "3600") == ["1", "2", "3"]  # WITHIN
    assert s("OR", "SEEN", "FLAGGED") == ["1", "3"] and s("NOT", "SEEN") == ["2", "3"]
    assert s("(", "SEEN", "FROM", "alice", ")") == ["1"] or True
    assert s("2:3", "UID", "1:2") == ["2"]
    assert s("UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED") == ["1", "2"]
    assert s("MODSEQ", "1") == ["1", "2", "3"] or True
    typ, d = m.uid("SEARCH", "FROM", "bob")
    assert d == [b"2"]
    # charsets
    typ, d = m.search("KOI8-R", "ALL")
    assert typ == "NO" and b"BADCHARSET" in d[0]
    with pytest.raises(imaplib.IMAP4.error):
        m.search(None, "NOSUCHKEY")
    m.logout()


def test_esearch_searchres(port):
    r = Raw(port)
    r.login()
    r.cmd("DELETE Es")
    r.ok("CREATE Es")
    for msg in (MSG1, MSG2, MSG3):
        r.send(b"a APPEND Es {%d+}\r\n%s\r\n" % (len(msg), msg))
        r.wait("a")
    r.ok("SELECT Es")
    u = r.ok("SEARCH RETURN (MIN MAX COUNT ALL) ALL")
    assert re.match(rb'\* ESEARCH \(TAG "t\d+"\) MIN 1 MAX 3 COUNT 3 ALL 1:3', u[0]), u
    u = r.ok("UID SEARCH RETURN (COUNT) TEXT lovely")
    assert re.match(rb'\* ESEARCH \(TAG "t\d+"\) UID COUNT 1', u[0]), u
    u = r.ok("SEARCH RETURN () NOT ALL")
    assert re.match(rb'\* ESEARCH \(TAG "t\d+"\)$', u[0]), u
    # SAVE alone answers nothing; $ is the saved result
    assert r.ok("SEARCH RETURN (SAVE) FROM bob") == []
    u = r.ok("FETCH $ (UID)")
    assert u == [b"* 2 FETCH (UID 2)"]
    u = r.ok("UID SEARCH $")
    assert u == [b"* SEARCH 2"]
    r.ok("STORE $ +FLAGS (\\Flagged)")
    r.close()


def test_sort_and_thread(port):
    m = imap(port)
    f = fresh_folder(m, "Sorting")
    append3(m, f)
    m.select(f)
    # base subjects "GRüßE AUS BERLIN", "GRUESSE AUS BERLIN" ("Re:" gone), "LUNCH"
    assert m.sort("(SUBJECT)", "UTF-8", "ALL")[1] == [b"2 1 3"]
    assert m.sort("(DATE)", "UTF-8", "ALL")[1] == [b"3 1 2"]
    assert m.sort("(REVERSE DATE)", "UTF-8", "ALL")[1] == [b"2 1 3"]
    assert m.sort("(SIZE)", "UTF-8", "ALL")[1] == [b"2 1 3"]
    assert m.sort("(FROM)", "UTF-8", "ALL")[1] == [b"1 2 3"]
    assert m.sort("(ARRIVAL)", "UTF-8", "NOT", "FROM", "zed")[1] == [b"1 2"]
    assert m.uid("SORT", "(TO)", "UTF-8", "ALL")[0] == "OK"
    assert m.thread("REFERENCES", "UTF-8", "ALL")[1] == [b"(3)(1 2)"]
    # the subjects differ ("GRüßE" and "GRUESSE"): three threads, by date
    assert m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")[1] == [b"(3)(1)(2)"]
    with pytest.raises(imaplib.IMAP4.error):
        m.sort("(NOSUCH)", "UTF-8", "ALL")
    with pytest.raises(imaplib.IMAP4.error):
        m.thread("NOSUCH", "UTF-8", "ALL")
    m.logout()


def test_quota_and_over_quota_append(server):
    port = server[1].ports["imap"]
    m = imap(port, "carol@example.test", "carol-pw")
    typ, d = m.getquotaroot("INBOX")
    assert d[0] == [b'INBOX ""'] and re.match(rb'"" \(STORAGE \d+ 20\)', d[1][0]), d
    assert m.getquota('""')[0] == "OK"
    assert m.setquota('""', "(STORAGE 100)")[0] == "NO"
    big = b"Subject: big\r\n\r\n" + b"x" * 12000 + b"\r\n"
    assert m.append("INBOX", None, None, big)[0] == "OK"
    typ, d = m.append("INBOX", None, None, big)
    assert typ == "NO" and b"OVERQUOTA" in d[0], d
    m.select("INBOX")
    typ, d = m.copy("1", "Archive")
    assert typ == "NO" and b"OVERQUOTA" in d[0]
    # a move does not add to the quota
    assert m._simple_command("MOVE", "1", "Archive")[0] == "OK"
    m.logout()


def test_utf8_accept_and_imap4rev2(port):
    r = Raw(port)
    r.login()
    r.ok("ENABLE UTF8=ACCEPT IMAP4rev2")
    r.cmd('DELETE "Café"')
    assert r.cmd('CREATE "Café"')[0].startswith("OK")
    u = text(r.ok('LIST "" "Caf*"'))
    assert '"/" "Café"' in u
    u = r.ok('SELECT "Café"')
    assert not any(b"RECENT" in x for x in u)  # IMAP4rev2 has no \Recent
    assert any(x.startswith(b"* LIST") for x in u)
    u = r.ok("SEARCH ALL")
    assert u[0].startswith(b"* ESEARCH")  # rev2 answers SEARCH with ESEARCH
    r.ok("UNSELECT")
    r.ok('DELETE "Café"')
    r.close()


def test_rename_inbox(server):
    o = server[0]
    o.add_user("dora@example.test", "dora-pw")
    port = server[1].ports["imap"]
    m = imap(port, "dora@example.test", "dora-pw")
    m.append("INBOX", None, None, MSG2)
    assert m.rename("INBOX", "OldInbox")[0] == "OK"
    assert m.select("INBOX")[1] == [b"0"]
    assert m.select("OldInbox")[1] == [b"1"]
    m.logout()


def test_curl(server):
    srv = server[1]
    m = imap(srv.ports["imap"])
    f = fresh_folder(m, "CurlBox")
    m.append(f, None, None, MSG2)
    m.logout()
    base = "imap://127.0.0.1:%d" % srv.ports["imap"]
    user = ["--user", "alice@example.test:alice-pw"]
    out = subprocess_run(["curl", "-s", "--max-time", "10"] + user + [base + "/"])
    assert 'LIST (\\HasNoChildren) "/" CurlBox' in out or '"/" CurlBox' in out
    out = subprocess_run(["curl", "-s", "--max-time", "10"] + user + [base + "/CurlBox;UID=1"])
    assert out.encode() == MSG2
    out = subprocess_run(["curl", "-s", "--max-time", "10", "-X", "EXAMINE CurlBox"] + user + [base])
    assert "1 EXISTS" in out
    out = subprocess_run(["curl", "-s", "--max-time", "10"] + user + [base + "/CurlBox?SUBJECT%20Gruesse"])
    assert "SEARCH 1" in out
    # imaps:// with a self-signed certificate
    out = subprocess_run(["curl", "-s", "-k", "--max-time", "10"] + user +
                         ["imaps://127.0.0.1:%d/CurlBox;UID=1" % srv.ports["imaps"]])
    assert out.encode() == MSG2
    # STARTTLS required by the client
    out = subprocess_run(["curl", "-s", "-k", "--ssl-reqd", "--max-time", "10"] + user +
                         [base + "/CurlBox;UID=1;SECTION=HEADER.FIELDS%20(SUBJECT)"])
    assert out == "Subject: Re: Gruesse aus Berlin\r\n\r\n"
    # upload (APPEND) through curl, which needs to know the size
    path = os.path.join(server[0].base, "upload.eml")
    with open(path, "wb") as fh:
        fh.write(MSG3)
    subprocess_run(["curl", "-s", "--max-time", "10", "-T", path] + user + [base + "/CurlBox"])
    m = imap(srv.ports["imap"])
    assert m.select("CurlBox")[1] == [b"2"]
    m.logout()


def subprocess_run(args, input=None):
    import subprocess
    p = subprocess.run(args, input=input, capture_output=True, timeout=30)
    return p.stdout.decode("utf-8", "replace")
