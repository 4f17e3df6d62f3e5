"""A runner for OpenSMTPD's smtpscript test language (regress/smtp), enough
for the scripts in ../shared/corpus/smtp/opensmtpd-smtpscript/.

    test-case [no-autoconnect] [name "x"] [expect fail] [skip] { ... }
    proc NAME [%param ...] { ... }
    expect smtp [ok|helo|permfail|tempfail] | expect disconnect
    writeln "text" | call NAME | repeat N STMT | random { STMT ... }
    sleep MS | noop | fail "why" | starttls | connect "host" port N | { ... }

"ok" accepts 2xx and 3xx (DATA's 354 is expected as ok), "helo" a 250.
"""

import random
import re
import socket
import ssl
import time


class ScriptError(Exception):
    pass


def tokenize(text):
    toks = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
        elif c.isspace():
            i += 1
        elif c in "{}":
            toks.append(c)
            i += 1
        elif c == '"':
            j = i + 1
            s = []
            while j < len(text) and text[j] != '"':
                if text[j] == "\\" and j + 1 < len(text):
                    j += 1
                    s.append({"n": "\n", "r": "\r", "t": "\t"}.get(text[j], text[j]))
                else:
                    s.append(text[j])
                j += 1
            toks.append(("str", "".join(s)))
            i = j + 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in '{}"#':
                j += 1
            toks.append(text[i:j])
            i = j
    return toks


class Parser:
    def __init__(self, toks):
        self.toks = toks
        self.pos = 0

    def peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self):
        t = self.peek()
        self.pos += 1
        return t

    def string(self):
        t = self.take()
        if not (isinstance(t, tuple) and t[0] == "str"):
            raise ScriptError("expected a string, got %r" % (t,))
        return t[1]

    def block(self):
        if self.take() != "{":
            raise ScriptError("expected {")
        stmts = []
        while self.peek() != "}":
            if self.peek() is None:
                raise ScriptError("unterminated block")
            stmts.append(self.stmt())
        self.take()
        return ("block", stmts)

    def stmt(self):
        t = self.peek()
        if t == "{":
            return self.block()
        self.take()
        if t == "expect":
            what = self.take()
            if what == "disconnect":
                return ("expect_disconnect",)
            if what != "smtp":
                raise ScriptError("expect %r" % (what,))
            q = self.peek()
            if q in ("ok", "helo", "permfail", "tempfail"):
                self.take()
                return ("expect_smtp", q)
            return ("expect_smtp", None)
        if t == "writeln":
            return ("writeln", self.string())
        if t == "call":
            name = self.take()
            args = []
            while isinstance(self.peek(), tuple):
                args.append(self.string())
            return ("call", name, args)
        if t == "repeat":
            n = int(self.take())
            return ("repeat", n, self.stmt())
        if t == "random":
            return ("random", self.block()[1])
        if t == "sleep":
            return ("sleep", int(self.take()))
        if t == "noop":
            return ("noop",)
        if t == "fail":
            return ("fail", self.string())
        if t == "starttls":
            return ("starttls",)
        if t == "connect":
            host = self.string()
            if self.take() != "port":
                raise ScriptError("connect: expected port")
            return ("connect", host, int(self.take()))
        raise ScriptError("unknown statement %r" % (t,))

    def file(self):
        procs, cases = {}, []
        while self.peek() is not None:
            t = self.take()
            if t == "proc":
                name = self.take()
                params = []
                while self.peek() not in ("{", None):
                    params.append(self.take())
                procs[name] = self.block()
            elif t == "test-case":
                opts = {"autoconnect": True, "name": None, "expect_fail": False, "skip": False}
                while self.peek() != "{":
                    o = self.take()
                    if o == "no-autoconnect":
                        opts["autoconnect"] = False
                    elif o == "name":
                        opts["name"] = self.string()
                    elif o == "expect":
                        if self.take() != "fail":
                            raise ScriptError("test-case expect ...?")
                        opts["expect_fail"] = True
                    elif o == "skip":
                        opts["skip"] = True
                    else:
                        raise ScriptError("test-case option %r" % (o,))
                opts["body"] = self.block()
                cases.append(opts)
            else:
                raise ScriptError("top level: %r" % (t,))
        return procs, cases


def parse_file(path):
    with open(path) as f:
        return Parser(tokenize(f.read())).file()


class Session:
    def __init__(self, port, procs):
        self.port = port
        self.procs = procs
        self.sock = None
        self.buf = b""
        self.replies = []

    def connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass

    def line(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise ScriptError("disconnected")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                break
        code = int(lines[0][:3])
        self.replies.append((code, lines[-1]))
        return code, lines

    def run(self, stmt):
        kind = stmt[0]
        if kind == "block":
            for s in stmt[1]:
                self.run(s)
        elif kind == "expect_smtp":
            code, lines = self.reply()
            q = stmt[1]
            ok = (q is None or (q == "ok" and 200 <= code < 400) or (q == "helo" and code == 250)
                  or (q == "permfail" and 500 <= code < 600) or (q == "tempfail" and 400 <= code < 500))
            if not ok:
                raise ScriptError("expected %s, got %s" % (q, lines[-1]))
        elif kind == "expect_disconnect":
            # a last reply (421) before the close is fine
            self.sock.settimeout(5)
            try:
                while True:
                    d = self.sock.recv(65536)
                    if not d:
                        return
            except socket.timeout:
                raise ScriptError("expected a disconnect")
            except ConnectionResetError:
                return
        elif kind == "writeln":
            self.sock.sendall(stmt[1].encode() + b"\r\n")
        elif kind == "call":
            self.run(self.procs[stmt[1]])
        elif kind == "repeat":
            for _ in range(stmt[1]):
                self.run(stmt[2])
        elif kind == "random":
            if stmt[1]:
                self.run(random.choice(stmt[1]))
        elif kind == "sleep":
            time.sleep(stmt[1] / 1000.0 / 100)  # the scripts' sleeps only exercise the grammar
        elif kind == "noop":
            pass
        elif kind == "fail":
            raise ScriptError("fail: " + stmt[1])
        elif kind == "starttls":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
            self.buf = b""
        elif kind == "connect":
            # the scripts connect to "localhost port 25": the server under test
            self.connect()
        else:
            raise ScriptError("cannot run %r" % (kind,))


def run_case(port, procs, case, substitute=None):
    """Returns (passed, detail).  substitute rewrites writeln text."""
    if case["skip"]:
        return True, "skipped by the script"
    body = case["body"]
    if substitute is not None:
        body = _rewrite(body, substitute)
    s = Session(port, {k: (_rewrite(v, substitute) if substitute else v) for k, v in procs.items()})
    error = None
    try:
        if case["autoconnect"]:
            s.connect()
        s.run(body)
    except (ScriptError, OSError, ValueError) as e:
        error = str(e)
    finally:
        s.close()
    failed = error is not None
    if case["expect_fail"]:
        return failed, error or "did not fail"
    return not failed, error or "ok"


def _rewrite(stmt, fn):
    if isinstance(stmt, tuple):
        if stmt and stmt[0] == "writeln":
            return ("writeln", fn(stmt[1]))
        return tuple(_rewrite(x, fn) for x in stmt)
    if isinstance(stmt, list):
        return [_rewrite(x, fn) for x in stmt]
    return stmt
