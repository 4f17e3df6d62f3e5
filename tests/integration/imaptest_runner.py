"""A runner for Dovecot imaptest's scripted tests (docs/scripted_test.md).

Reads a test script (header, command groups, untagged and tagged
expectations with $variables and $!directives, {{{ }}} literals), sets
up the mailbox the way imaptest does (state nonauth/auth/created/
appended/selected, messages from the test's .mbox or default.mbox),
drives one or more IMAP connections, and matches the server's replies
with imaptest's rules: untagged replies in any order, prefix matching
for OK/NO/BAD/BYE texts, lists ordered unless a directive (or the
defaults for FETCH, FLAGS, LIST, LSUB and STATUS) says otherwise,
variables bound on first sight, $N relative sequence numbers that follow
EXPUNGEs, and $modseqN that must grow.

Usage as a program:

    python3 imaptest_runner.py HOST PORT USER PASSWORD SCRIPT...

Exit status 0 when every script that was run passed.
"""

import os
import re
import socket
import sys
import time

IS_VAR_CHAR = re.compile(r"[A-Za-z0-9_]")


class ScriptError(Exception):
    pass


class ScriptFailed(Exception):
    pass


# ---------------------------------------------------------------------------
# IMAP argument parsing (script expectations and server replies)

class Arg:
    __slots__ = ("type", "value")

    def __init__(self, type_, value):
        self.type = type_      # "atom" "string" "literal" "nil" "list"
        self.value = value     # str, or list of Arg

    def astring(self):
        if self.type in ("atom", "string", "literal"):
            return self.value
        return None

    def __repr__(self):
        return to_str([self])


def to_str(args):
    out = []
    for a in args:
        if a.type == "list":
            out.append("(" + to_str(a.value) + ")")
        elif a.type == "nil":
            out.append("NIL")
        elif a.type == "string":
            out.append('"' + a.value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif a.type == "literal":
            out.append("{%d}" % len(a.value))
        else:
            out.append(a.value)
    return " ".join(out)


def parse_args(data, allchars=False):
    """Parses one line's arguments (literals already inline as
    {n}\\r\\n<data>).  Returns a list of Arg."""
    pos = 0
    n = len(data)
    stack = [[]]

    def skip_sp(p):
        while p < n and data[p] == " ":
            p += 1
        return p

    while True:
        pos = skip_sp(pos)
        if pos >= n or data[pos] in "\r\n":
            break
        c = data[pos]
        if c == "(":
            stack.append([])
            pos += 1
            continue
        if c == ")":
            if len(stack) == 1:
                if allchars:
                    # part of an atom
                    pass
                else:
                    raise ScriptError("unexpected ')' in: %r" % data)
            else:
                lst = stack.pop()
                stack[-1].append(Arg("list", lst))
                pos += 1
                continue
        if c == '"':
            pos += 1
            s = []
            while pos < n and data[pos] != '"':
                if data[pos] == "\\" and pos + 1 < n:
                    pos += 1
                s.append(data[pos])
                pos += 1
            pos += 1
            stack[-1].append(Arg("string", "".join(s)))
            continue
        m = re.match(r"~?\{(\d+)\+?\}\r?\n", data[pos:])
        if m:
            size = int(m.group(1))
            start = pos + m.end()
            stack[-1].append(Arg("literal", data[start:start + size]))
            pos = start + size
            continue
        start = pos
        while pos < n and data[pos] not in " \r\n":
            if data[pos] == ")" and len(stack) > 1:
                break
            if data[pos] == "(" and not allchars and pos > start:
                break
            pos += 1
        atom = data[start:pos]
        if atom.upper() == "NIL":
            stack[-1].append(Arg("nil", atom))
        else:
            stack[-1].append(Arg("atom", atom))
    while len(stack) > 1:
        lst = stack.pop()
        stack[-1].append(Arg("list", lst))
    return stack[0]


# ---------------------------------------------------------------------------
# Script parsing

EXIST_MUST, EXIST_MUST_NOT, EXIST_MAY = 1, 2, 3


class Command:
    def __init__(self, line, linenum, tag, reply):
        self.line = line
        self.linenum = linenum
        self.tag = tag          # explicit "tagN" index or 0
        self.reply = reply      # list of Arg or None
        self.cur_tag = None


class Group:
    def __init__(self):
        self.commands = []
        self.untagged = []      # (args, existence)
        self.conn = 0
        self.replies_pending = 0
        self.have_bye = False
        self.sleep = 0
        self.ordered = False


class Test:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.capabilities = None
        self.connections = 1
        self.messages = 0
        self.state = "selected"
        self.ignore_extra_untagged = True
        self.groups = []
        self.have_banner_check = False
        mbox = path + ".mbox"
        self.mbox = mbox if os.path.exists(mbox) else os.path.join(os.path.dirname(path), "default.mbox")


def apply_directives(args, reply_name):
    """Inserts the default directives into sublists (test-parser.c)."""
    reply_name = reply_name.lower()

    def handle(lst, ctx):
        # ctx: dict(parent, parent_chain_idx, prev_atom, chain_count, directives)
        i = 0
        while i < len(lst) and lst[i].type == "atom" and lst[i].value.startswith("$!"):
            d = lst[i].value[2:]
            if d.startswith("unordered="):
                ctx["chain_count"] = int(d[len("unordered="):])
            ctx["directives"] = True
            i += 1
        if not ctx["directives"]:
            add = default_for(ctx)
            for d in reversed(add):
                lst.insert(0, Arg("atom", d))
            for d in add:
                if d.startswith("$!unordered="):
                    ctx["chain_count"] = int(d[len("$!unordered="):])
        ndir = 0
        while ndir < len(lst) and lst[ndir].type == "atom" and lst[ndir].value.startswith("$!"):
            ndir += 1
        prev_atom = None
        idx = 0
        for a in lst:
            if a.type == "atom":
                prev_atom = a.value.lower()
            if a.type == "list":
                sub = {
                    "parent": ctx,
                    "prev_atom": prev_atom,
                    "parent_chain_idx": idx if ctx["chain_count"] == 1 else idx % ctx["chain_count"],
                    "chain_count": 1,
                    "directives": False,
                }
                handle(a.value, sub)
            idx += 1

    def default_for(ctx):
        parent = ctx["parent"]
        if parent is None:
            return []
        if reply_name in ("list", "lsub"):
            if parent["parent"] is None and parent["parent_chain_idx"] == 0 and ctx["parent_chain_idx"] == 1:
                return ["$!unordered"]
        elif reply_name == "status":
            if parent["parent"] is None and parent["parent_chain_idx"] == 0 and ctx["parent_chain_idx"] == 2:
                return ["$!unordered=2"]
        elif reply_name == "fetch":
            if parent["parent"] is None and parent["parent_chain_idx"] == 0 and ctx["parent_chain_idx"] == 2:
                return ["$!unordered=2"]
            if (parent["parent"] is not None and parent["parent"]["parent"] is None and
                    parent["parent"]["parent_chain_idx"] == 0 and parent["parent_chain_idx"] == 2 and
                    ctx["prev_atom"] == "flags"):
                return ["$!unordered", "$!noextra", "$!ignore=\\recent",
                        "$!ignore=$HasAttachment", "$!ignore=$HasNoAttachment"]
        return []

    top = {"parent": None, "prev_atom": None, "parent_chain_idx": 0, "chain_count": 1,
           "directives": False}
    handle(args, top)
    return args


def parse_untagged(line):
    args = parse_args(line, allchars=True)
    name = ""
    if args and args[0].type == "atom":
        s = args[0].value
        if s.startswith("$") or s[:1].isdigit():
            if len(args) > 1 and args[1].type == "atom":
                name = args[1].value
        else:
            name = s
    elif args and args[0].type == "nil":
        name = "nil"
    apply_directives(args, name)
    return args, name


def get_cmd_reply(line):
    """Parses an optional "tagN" and "ok"/"no"/"bad"/"\"\"" at the start."""
    tag = 0
    first = line.split(" ", 1)[0]
    if first.lower().startswith("tag") and first[3:].isdigit() and int(first[3:]) > 0 and " " in line:
        tag = int(first[3:])
        line = line.split(" ", 1)[1]
        first = line.split(" ", 1)[0]
    reply = None
    low = first.lower()
    if low in ("ok", "no", "bad"):
        reply = [Arg("atom", low)]
        line = line[len(first):]
    elif first == '""':
        reply = [Arg("atom", "")]
        line = line[2:]
    if reply is not None and line.startswith(" "):
        line = line[1:]
    return tag, reply, line


def parse_script(path):
    t = Test(path)
    with open(path, "rb") as f:
        raw = f.read().decode("latin-1")
    if not raw.endswith("\n"):
        raise ScriptError("last line doesn't end with LF")
    lines = raw.split("\n")[:-1]
    header = True
    group = None
    ifstack = []
    skip = False
    i = 0
    while i < len(lines):
        linenum = i + 1
        line = lines[i]
        i += 1
        if line.endswith("\r"):
            # keep CRs only inside literals
            pass
        if not header and line.rstrip("\r").endswith("{{{"):
            # multiline literals: lines are taken up to LF as they are (a CR
            # stays), joined with CRLF (LF in ~{{{ binary literals), and the
            # last line's break is dropped (test-parser.c)
            text = line.rstrip("\r")
            out = ""
            while True:
                binary = text.endswith("~{{{")
                out += text[:-4 if binary else -3]
                content = ""
                last_end = 0
                while True:
                    if i >= len(lines):
                        raise ScriptError("multiline literal at line %d not ended" % linenum)
                    cl = lines[i]
                    i += 1
                    if cl.startswith("}}}"):
                        break
                    content += cl
                    last_end = len(content)
                    content += "\n" if binary else "\r\n"
                data = content[:last_end]
                out += "%s{%d}\r\n%s" % ("~" if binary else "", len(data), data)
                text = cl[3:].rstrip("\r")
                if text.endswith("{{{"):
                    continue
                out += text
                break
            line = out
        else:
            line = line.rstrip("\r")
            if line == "":
                header = False
                continue
            if line.startswith("#"):
                continue
        if header:
            k, _, v = line.partition(":")
            k = k.strip().lower()
            v = v.strip()
            if k == "capabilities":
                t.capabilities = v.split()
            elif k == "connections":
                t.connections = int(v)
            elif k == "messages":
                t.messages = 10 ** 9 if v == "all" else int(v)
            elif k == "state":
                t.state = v.lower()
            elif k == "ignore_extra_untagged":
                t.ignore_extra_untagged = v.startswith("y")
            elif k.startswith("user "):
                pass
            else:
                raise ScriptError("unknown setting %s" % k)
            continue
        # preprocessing
        if line.startswith("!ifenv ") or line.startswith("!ifnenv "):
            env = line.split(" ", 1)[1]
            have = env in os.environ
            if line.startswith("!ifnenv "):
                have = not have
            ifstack.append([skip, False])
            if not have:
                skip = True
            continue
        if line == "!else":
            top = ifstack[-1]
            top[1] = True
            if not top[0]:
                skip = not skip
            continue
        if line == "!endif":
            skip = ifstack.pop()[0]
            continue
        if skip:
            continue
        if group is not None:
            if line.startswith("!sleep "):
                group.sleep = float(line[7:].rstrip("s").rstrip("m")) / (1000 if line.endswith("ms") else 1)
                continue
            if line.startswith("!output "):
                continue
            if line == "!ordered":
                group.ordered = True
                continue
            if line[:2] in ("* ", "! ", "? "):
                ex = {"* ": EXIST_MUST, "! ": EXIST_MUST_NOT, "? ": EXIST_MAY}[line[:2]]
                args, name = parse_untagged(line[2:])
                if name.lower().startswith("bye") and ex == EXIST_MUST:
                    group.have_bye = True
                group.untagged.append((args, ex))
                continue
            if group.replies_pending > 0:
                lnc = line
                conn_idx = 0
                if t.connections > 1:
                    first = lnc.split(" ", 1)[0]
                    if first.isdigit() and int(first) > 0:
                        conn_idx = int(first)
                        lnc = lnc.split(" ", 1)[1] if " " in lnc else ""
                tag, reply, rest = get_cmd_reply(lnc)
                if reply is not None:
                    cmd = next((c for c in group.commands if c.tag == tag), None)
                    if cmd is None or cmd.reply is not None:
                        raise ScriptError("line %d: reply for unknown tag" % linenum)
                    args = parse_args(lnc.split(" ", 1)[1] if tag else lnc, allchars=True)
                    cmd.reply = args
                    group.replies_pending -= 1
                    continue
        if group is None or group.replies_pending == 0:
            group = Group()
            t.groups.append(group)
        if t.connections > 1:
            first = line.split(" ", 1)[0]
            if not first.isdigit() or int(first) == 0:
                raise ScriptError("line %d: missing client index" % linenum)
            idx = int(first) - 1
            if group.commands and group.conn != idx:
                raise ScriptError("line %d: pipelined commands on different connections" % linenum)
            group.conn = idx
            t.connections = max(t.connections, idx + 1)
            line = line.split(" ", 1)[1] if " " in line else ""
        tag, reply, rest = get_cmd_reply(line)
        if not group.commands and rest[:2] in ("* ", "! ", "? "):
            ex = {"* ": EXIST_MUST, "! ": EXIST_MUST_NOT, "? ": EXIST_MAY}[rest[:2]]
            t.have_banner_check = True
            args, name = parse_untagged(rest[2:])
            group.untagged.append((args, ex))
            continue
        if reply is None:
            group.replies_pending += 1
        group.commands.append(Command(rest, linenum, tag, reply))
    if group is not None and group.replies_pending > 0:
        raise ScriptError("missing reply")
    # imaptest adds a LOGOUT unless the test logs out itself
    has_logout = any(c.line.lower() == "logout" or g.have_bye for g in t.groups for c in g.commands)
    if not has_logout:
        g = Group()
        g.commands.append(Command("logout", 0, 0, [Arg("atom", "ok")]))
        t.groups.append(g)
    return t


# ---------------------------------------------------------------------------
# mbox source

def mbox_messages(path):
    """Messages of an mbox as imaptest reads them: From_ line to the next,
    lines as CRLF; the date of the From_ line."""
    with open(path, "rb") as f:
        data = f.read().decode("latin-1")
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    msgs = []
    cur = None
    for line in lines:
        if line.startswith("From ") and mbox_from_date(line) is not None:
            if cur is not None and cur[1]:
                msgs.append(cur)
            cur = (mbox_from_date(line), [])
            continue
        if cur is not None:
            cur[1].append(line.rstrip("\r") + "\r\n")
    if cur is not None:
        msgs.append(cur)
    return [(d, "".join(body)) for d, body in msgs]


MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def mbox_from_date(line):
    m = re.match(r"From \S+\s+\w{3} (\w{3})\s+(\d+) (\d+):(\d+):(\d+) (\d{4})(?: ([+-]\d{4}))?", line)
    if not m:
        return None
    mon = MONTHS.index(m.group(1).lower()) + 1
    tz = m.group(7) or "+0000"
    return "%02d-%s-%s %s:%s:%s %s" % (int(m.group(2)), m.group(1).capitalize(), m.group(6),
                                      m.group(3).zfill(2), m.group(4), m.group(5), tz) if mon else None


class Source:
    """Messages handed out in order, wrapping around like imaptest's."""

    def __init__(self, path):
        self.msgs = mbox_messages(path)
        self.next = 0

    def get(self):
        m = self.msgs[self.next % len(self.msgs)]
        self.next += 1
        return m

    def eof(self):
        return self.next >= len(self.msgs)


# ---------------------------------------------------------------------------
# Connections

class Conn:
    def __init__(self, host, port, idx, timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.idx = idx
        self.tagn = 0
        self.count = 0           # messages the session knows (EXISTS/EXPUNGE)
        self.caps = []
        self.disconnected = False
        self.seen_bye = False
        self.transcript = []

    def readline(self):
        while b"\r\n" not in self.buf:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                raise ScriptFailed("timeout waiting for the server; transcript:\n" + self.tail())
            if not d:
                self.disconnected = True
                raise EOFError()
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                self.disconnected = True
                raise EOFError()
            self.buf += d
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def read_response(self):
        """One response with its literals inline, as latin-1 text."""
        line = self.readline()
        out = line
        while True:
            m = re.search(rb"~?\{(\d+)\+?\}$", line)
            if not m:
                break
            data = self.read_exact(int(m.group(1)))
            line = self.readline()
            out += b"\r\n" + data + line
        text = out.decode("latin-1")
        self.transcript.append("S: " + text[:300])
        return text

    def send(self, data):
        self.transcript.append("C: " + data[:300].decode("latin-1").rstrip("\r\n"))
        self.sock.sendall(data)

    def next_tag(self):
        self.tagn += 1
        return "%d.%d" % (self.idx + 1, self.tagn)

    def tail(self, n=40):
        return "\n".join(self.transcript[-n:])

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# Matching (test-exec.c)

class Runner:
    def __init__(self, host, port, user, password, mailbox="imaptest", timeout=30):
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.mailbox = mailbox
        self.timeout = timeout

    # --- variables ---

    def rel_seq(self, n):
        if n == 0:
            return "<zero seq>"
        if n > len(self.seqmap):
            return "<out of range>"
        if self.seqmap[n - 1] == 0:
            return "<expunged>"
        return str(self.seqmap[n - 1])

    def expand_all(self, line, skip_uninit=False):
        out = []
        i = 0
        n = len(line)
        while i < n:
            c = line[i]
            if c != "$" or i + 1 == n:
                out.append(c)
                i += 1
                continue
            i += 1
            if line[i] == "$":
                out.append("$")
                i += 1
                continue
            if line[i] == "!":
                while i + 1 < n and line[i + 1] != " ":
                    i += 1
                i += 1
                continue
            if line[i] == "{":
                j = line.index("}", i)
                name = line[i + 1:j]
                i = j + 1
            else:
                j = i
                while j < n and IS_VAR_CHAR.match(line[j]):
                    j += 1
                name = line[i:j]
                i = j
            if name.isdigit():
                val = self.rel_seq(int(name))
            else:
                val = self.vars.get(name)
                if val is None:
                    if not skip_uninit:
                        raise ScriptFailed("uninitialized variable: %s" % name)
                    val = "$"
            out.append(val)
        return "".join(out)

    def expand_input(self, pat, inp):
        """Matches pattern text against input, binding variables; returns
        (expanded, icase) or (None, icase)."""
        icase = True
        out = []
        s = 0
        ip = 0
        while s < len(pat):
            if pat[s] != "$" or (s + 1 < len(pat) and pat[s + 1] == "$"):
                if pat[s] == "$":
                    s += 1
                if ip >= len(inp) or pat[s].upper() != inp[ip].upper():
                    return None, icase
                out.append(pat[s])
                s += 1
                ip += 1
                continue
            s += 1
            if s < len(pat) and pat[s] == "{":
                e = pat.find("}", s + 1)
                if e < 0:
                    return "", icase
                name = pat[s + 1:e]
                s = e + 1
            else:
                e = s
                while e < len(pat) and IS_VAR_CHAR.match(pat[e]):
                    e += 1
                name = pat[s:e]
                s = e
            value = None
            if name.isdigit():
                value = self.rel_seq(int(name))
            elif name.startswith("case:"):
                icase = False
                value = name[5:]
            else:
                value = self.vars.get(name) if name else None
                if value is None:
                    rest = pat[s:]
                    if rest.startswith("$"):
                        rest2, ic2 = self.expand_input(rest, inp[ip:])
                        rest = rest2 if rest2 is not None else ""
                        ic = ic2
                    else:
                        ic = True
                    p = ip
                    first = rest[:1]
                    while p < len(inp):
                        if first and ((ic and inp[p].upper() == first.upper()) or inp[p] == first):
                            break
                        p += 1
                    value = inp[ip:p]
                    if name == "":
                        pass
                    elif name.startswith("modseq") and name[6:].isdigit():
                        value = self.new_modseq(int(name[6:]), value)
                        self.vars[name] = value
                    else:
                        self.vars[name] = value
                        self.added.append(name)
            out.append(value)
            if inp[ip:ip + len(value)] != value:
                return None, icase
            ip += len(value)
        return "".join(out), icase

    def new_modseq(self, idx, value):
        if not value.isdigit():
            return "$modseq-not-number"
        v = int(value)
        if self.modseq_idx > idx:
            return "$modseq-order-mismatch"
        at_least = self.modseq_val + (idx - self.modseq_idx)
        res = value
        if v < at_least:
            res = "$modseq-at-least-%d" % at_least
            v = at_least
        self.modseq_idx = idx
        self.modseq_val = v
        return res

    def match_list(self, match, args):
        unordered = False
        chain = 1
        ignores = []
        bans = []
        noextra = -1
        i = 0
        while i < len(match) and match[i].type == "atom" and match[i].value.startswith("$!"):
            d = match[i].value[2:]
            if d.startswith("unordered"):
                unordered = True
                if noextra == -1:
                    noextra = 0
                if d[9:10] == "=":
                    chain = int(d[10:])
            elif d == "ordered":
                unordered = False
            elif d == "extra":
                noextra = 0
            elif d == "noextra":
                noextra = 1
            elif d.startswith("ignore="):
                ignores.append(d[7:])
            elif d.startswith("ban="):
                bans.append(d[4:])
            i += 1
        match = match[i:]
        if noextra == -1:
            noextra = 1
        if not unordered:
            return self.match_args(match, args, None, False)
        if len(args) % chain != 0:
            return 0
        matched = [False] * len(args)
        ret = 0
        for mi in range(0, len(match), chain):
            found = False
            for ai in range(0, len(args), chain):
                if self.match_args(match[mi:mi + chain], args[ai:ai + chain], chain, False) == -1:
                    matched[ai] = True
                    found = True
                    break
            if not found:
                return ret
            ret += 1
        if noextra > 0:
            for ai in range(0, len(args), chain):
                if matched[ai]:
                    continue
                s = args[ai].astring()
                if s is None:
                    continue
                if not any(x.lower() == s.lower() for x in ignores):
                    return ret
        elif bans:
            for ai in range(0, len(args), chain):
                if matched[ai]:
                    continue
                s = args[ai].astring()
                if s is not None and any(x.lower() == s.lower() for x in bans):
                    return ret
        return -1

    def match_args(self, match, args, maxn, prefix):
        """-1 (imaptest's UINT_MAX) on a full match, else how many matched."""
        ret = 0
        mi = 0
        ai = 0
        maxn = 1 << 60 if maxn is None else maxn
        while mi < len(match) and maxn > 0:
            m = match[mi]
            a = args[ai] if ai < len(args) else None
            if m.type == "nil":
                if a is None or a.type != "nil":
                    return ret
            elif m.type in ("atom", "string", "literal"):
                ms = m.value
                if ms == "$" and a is not None and a.type == "list":
                    pass
                elif ms == "$]":
                    while ai < len(args) and args[ai].type == "atom" and "]" not in args[ai].value:
                        ai += 1
                else:
                    if a is None:
                        return ret
                    s = a.astring()
                    if s is None:
                        return ret
                    # imaptest compares C strings: a NUL ends them
                    ms = ms.split("\0")[0]
                    s = s.split("\0")[0]
                    exp, icase = self.expand_input(ms, s)
                    if exp is None:
                        return ret
                    last = mi + 1 == len(match)
                    if prefix and last:
                        ok = s.lower().startswith(exp.lower()) if icase else s.startswith(exp)
                    else:
                        ok = s.lower() == exp.lower() if icase else s == exp
                    if not ok:
                        return ret
            elif m.type == "list":
                if a is None or a.type != "list":
                    return ret
                sub = self.match_list(m.value, a.value)
                if sub != -1:
                    return ret + sub
            ret += 1
            mi += 1
            ai += 1
            maxn -= 1
        if prefix or ai >= len(args) or maxn == 0:
            return -1
        return ret

    # --- protocol helpers ---

    def command(self, conn, line, expect=("OK",), fail=True):
        """Sends a command, returns (status, text, untagged)."""
        tag = conn.next_tag()
        conn.send(("%s %s\r\n" % (tag, line)).encode("latin-1"))
        untagged = []
        while True:
            r = conn.read_response()
            if r.startswith(tag + " "):
                status = r[len(tag) + 1:].split(" ", 1)[0].upper()
                if fail and status not in expect:
                    raise ScriptFailed("%s failed: %s" % (line, r))
                return status, r, untagged
            if r.startswith("* "):
                self.track(conn, r[2:])
                untagged.append(r[2:])

    def track(self, conn, text):
        m = re.match(r"(\d+) (EXISTS|EXPUNGE)\b", text, re.I)
        if m:
            n = int(m.group(1))
            if m.group(2).upper() == "EXISTS":
                conn.count = n
            else:
                conn.count -= 1
        m = re.match(r"VANISHED (?!\(EARLIER\))(\S+)", text, re.I)
        if m:
            for part in m.group(1).split(","):
                a, _, b = part.partition(":")
                conn.count -= int(b or a) - int(a) + 1
        if text.upper().startswith("CAPABILITY "):
            conn.caps = text.split()[1:]
        if text.upper().startswith("OK [CAPABILITY "):
            conn.caps = text[len("OK [CAPABILITY "):].split("]")[0].split()
        if text.upper().startswith("BYE"):
            conn.seen_bye = True

    def append_msg(self, conn, args=None):
        date, body = self.source.get()
        data = body.encode("latin-1")
        if args is None:
            head = '"%s" "%s"' % (self.mailbox, date)
        else:
            head = args
        tag = conn.next_tag()
        conn.send(("%s APPEND %s {%d+}\r\n" % (tag, head, len(data))).encode("latin-1") + data + b"\r\n")
        return tag

    def connect(self, idx):
        c = Conn(self.host, self.port, idx, self.timeout)
        banner = c.read_response()
        if not banner.startswith("* OK"):
            raise ScriptFailed("bad banner: " + banner)
        self.track(c, banner[2:])
        return c

    def login(self, c):
        self.command(c, 'LOGIN "%s" "%s"' % (self.user, self.password))

    # --- setup (the startup states) ---

    def setup(self, t):
        self.conns = [self.connect(i) for i in range(t.connections)]
        c0 = self.conns[0]
        if t.state == "nonauth":
            if t.capabilities and not self.has_caps(c0, t.capabilities):
                return False
            return True
        for c in self.conns:
            self.login(c)
        self.command(c0, "CAPABILITY")
        if t.capabilities and not self.has_caps(c0, t.capabilities):
            return False
        # delete the test mailboxes and their subscriptions
        _, _, lst = self.command(c0, 'LIST "" "%s*"' % self.mailbox)
        _, _, lsub = self.command(c0, 'LSUB "" "%s*"' % self.mailbox)
        names = [parse_args(x)[3].astring() for x in lst if x.upper().startswith("LIST ")]
        subs = [parse_args(x)[3].astring() for x in lsub if x.upper().startswith("LSUB ")]
        for n in sorted(names, key=str.lower, reverse=True):
            self.command(c0, 'DELETE "%s"' % n, expect=("OK", "NO"))
        for n in sorted(subs, key=str.lower, reverse=True):
            self.command(c0, 'UNSUBSCRIBE "%s"' % n, expect=("OK", "NO"))
        if t.state == "auth":
            return True
        self.command(c0, 'CREATE "%s"' % self.mailbox)
        if t.state == "created":
            return True
        self.source = Source(t.mbox)
        for _ in range(t.messages):
            if t.messages >= 10 ** 9 and self.source.eof():
                break
            tag = self.append_msg(c0)
            while True:
                r = c0.read_response()
                if r.startswith(tag + " "):
                    if not r[len(tag) + 1:].upper().startswith("OK"):
                        raise ScriptFailed("APPEND failed: " + r)
                    break
        if t.state == "appended":
            return True
        for c in self.conns:
            self.command(c, 'SELECT "%s"' % self.mailbox)
        return True

    def has_caps(self, c, caps):
        have = [x.lower() for x in c.caps]
        return all(x.lower() in have for x in caps)

    # --- running ---

    def run(self, path):
        """Returns "passed", "skipped" or raises ScriptFailed."""
        t = parse_script(path)
        self.vars = {}
        self.added = []
        self.modseq_idx = 0
        self.modseq_val = 0
        self.source = Source(t.mbox)
        self.conns = []
        try:
            if not self.setup(t):
                for c in self.conns:
                    c.close()
                return "skipped"
            self.vars["user"] = self.user
            self.vars["username"] = self.user.split("@")[0]
            self.vars["domain"] = self.user.split("@")[1] if "@" in self.user else self.host
            self.vars["password"] = self.password
            for i in range(1, t.connections):
                self.vars["user%d" % (i + 1)] = self.user
                self.vars["username%d" % (i + 1)] = self.user.split("@")[0]
                self.vars["password%d" % (i + 1)] = self.password
            self.vars["mailbox"] = self.mailbox
            self.vars["mailbox_url"] = self.mailbox
            for gi, g in enumerate(t.groups):
                self.run_group(t, gi, g)
        finally:
            for c in self.conns:
                c.close()
        return "passed"

    def send_command(self, c, g, cmd):
        line = self.expand_all(cmd.line)
        low = line.lower()
        tag = c.next_tag()
        cmd.cur_tag = tag
        if low == "append":
            date, body = self.source.get()
            data = body.encode("latin-1")
            c.send(('%s APPEND "%s" "%s" {%d+}\r\n' % (tag, self.mailbox, date, len(data))).encode("latin-1") +
                   data + b"\r\n")
            return
        if low.startswith("append ") and not re.search(r"~?\{\d+\}\r\n", line) and \
                " catenate " not in low:
            date, body = self.source.get()
            data = body.encode("latin-1")
            c.send(("%s %s {%d+}\r\n" % (tag, line, len(data))).encode("latin-1") + data + b"\r\n")
            return
        # literals in the script go as LITERAL+ (the server offers it)
        data = re.sub(r"(~?)\{(\d+)\}\r\n", lambda m: "%s{%s+}\r\n" % (m.group(1), m.group(2)), line)
        c.send(("%s %s\r\n" % (tag, data)).encode("latin-1"))

    def run_group(self, t, gi, g):
        c = self.conns[g.conn]
        self.seqmap = list(range(1, c.count + 1))
        self.found = [False] * len(g.untagged)
        self.best = [None] * len(g.untagged)
        self.mismatches = 0
        self.first_extra = None
        where = "%s group %d (line %d: %s)" % (t.name, gi + 1,
                                                 g.commands[0].linenum if g.commands else 0,
                                                 g.commands[0].line[:200] if g.commands else "banner")
        for cmd in g.commands:
            self.send_command(c, g, cmd)
        pending = {cmd.cur_tag: cmd for cmd in g.commands}
        while pending:
            try:
                r = c.read_response()
            except EOFError:
                if g.have_bye and c.seen_bye:
                    for cmd in pending.values():
                        if not (cmd.reply and cmd.reply[0].value == "" and len(cmd.reply) == 1):
                            raise ScriptFailed("%s: expected %s, got BYE" % (where, to_str(cmd.reply)))
                    break
                raise ScriptFailed("%s: unexpected disconnection\n%s" % (where, c.tail()))
            if r.startswith("* "):
                self.untagged(t, g, c, r[2:], pending, where)
                continue
            if r.startswith("+"):
                continue
            tag = r.split(" ", 1)[0]
            cmd = pending.pop(tag, None)
            if cmd is None:
                raise ScriptFailed("%s: unexpected tagged reply %s" % (where, r))
            args = parse_args(r.split(" ", 1)[1] if " " in r else "")
            status = args[0].value.upper() if args and args[0].type == "atom" else ""
            exp = cmd.reply
            self.vars["tag"] = tag
            ok = self.match_args(exp, args, None, True) == -1
            del self.vars["tag"]
            if exp[0].value == "" and status == "BAD":
                ok = False
            if not ok:
                raise ScriptFailed("%s: expected tagged reply '%s', got '%s'\n%s" %
                                 (where, to_str(exp), r, c.tail()))
        # the untagged replies that must have come
        missing = [i for i, (a, ex) in enumerate(g.untagged) if ex == EXIST_MUST and not self.found[i]]
        if missing:
            i = missing[0]
            exp = g.untagged[i][0]
            raise ScriptFailed("%s: missing %d untagged replies (%d mismatches)\n"
                             " - first unexpanded: %s\n - first expanded: %s\n - best match: %s\n%s" %
                             (where, len(missing), self.mismatches, to_str(exp),
                              self.expand_all(to_str(exp), True), self.best[i] or "", c.tail()))
        if self.first_extra is not None:
            raise ScriptFailed("%s: %d unexpected untagged replies, first: %s" %
                             (where, self.mismatches, self.first_extra))
        if g.sleep:
            time.sleep(g.sleep)

    def untagged(self, t, g, c, text, pending, where):
        args = parse_args(text)
        prefix = bool(args) and args[0].type == "atom" and args[0].value.upper() in ("OK", "NO", "BAD", "BYE")
        tag = None
        if g.commands:
            tag = g.commands[0].cur_tag
        found_some = False
        for i, (exp, ex) in enumerate(g.untagged):
            if self.found[i]:
                continue
            self.added = []
            if tag is not None:
                self.vars["tag"] = tag
            n = self.match_args(exp, args, None, prefix)
            self.vars.pop("tag", None)
            if n == -1:
                if ex == EXIST_MUST_NOT:
                    raise ScriptFailed("%s: unexpected untagged match:\nMatch: %s\nReply: %s" %
                                     (where, to_str(exp), text))
                self.found[i] = True
                found_some = True
                if g.ordered:
                    break
                continue
            if self.best[i] is None or n > self.best[i][0]:
                self.best[i] = (n, text[:300])
            for v in self.added:
                self.vars.pop(v, None)
            self.added = []
            if g.ordered and ex == EXIST_MUST:
                break
        if not found_some:
            self.mismatches += 1
            if not t.ignore_extra_untagged and self.first_extra is None:
                self.first_extra = text
        # sequence bookkeeping after matching
        self.track(c, text)
        m = re.match(r"(\d+) EXPUNGE\b", text, re.I)
        if m:
            seq = int(m.group(1))
            if seq <= len(self.seqmap):
                for k in range(seq - 1, len(self.seqmap)):
                    if self.seqmap[k] >= seq:
                        if self.seqmap[k] == seq:
                            self.seqmap[k] = 0
                        else:
                            self.seqmap[k] -= 1


def main(argv):
    if len(argv) < 6:
        print(__doc__)
        return 2
    host, port, user, password = argv[1], int(argv[2]), argv[3], argv[4]
    r = Runner(host, port, user, password)
    failed = 0
    for path in argv[5:]:
        if os.path.isdir(path) or path.endswith(".mbox"):
            continue
        try:
            res = r.run(path)
            print("%-40s %s" % (os.path.basename(path), res))
        except (ScriptFailed, ScriptError) as e:
            failed += 1
            print("%-40s FAILED\n%s\n" % (os.path.basename(path), e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
