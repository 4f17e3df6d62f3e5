"""mboxrd reading, to check `ombu export` byte for byte."""

import re

_FROM_QUOTED = re.compile(rb"^>+From ")


def split_mboxrd(data):
    """Messages of an mboxrd stream, unquoted, without the blank line that
    separates them."""
    msgs = []
    cur = None
    for line in data.splitlines(keepends=True):
        if line.startswith(b"From "):
            if cur is not None:
                msgs.append(cur)
            cur = []
            continue
        if cur is None:
            continue
        if _FROM_QUOTED.match(line):
            line = line[1:]
        cur.append(line)
    if cur is not None:
        msgs.append(cur)
    out = []
    for m in msgs:
        body = b"".join(m)
        if body.endswith(b"\n"):
            body = body[:-1]
        out.append(body)
    return out


def to_mboxrd(messages):
    parts = []
    for m in messages:
        parts.append(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n")
        for line in m.splitlines(keepends=True):
            if re.match(rb"^>*From ", line):
                line = b">" + line
            parts.append(line)
        if not m.endswith(b"\n"):
            parts.append(b"\n")
        parts.append(b"\n")
    return b"".join(parts)


def crlf(data):
    """What the store keeps: every line ending CRLF."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def smtplib_eols(data):
    """What smtplib sends for a message: CRLF, LF and a lone CR all become
    CRLF (smtplib._fix_eols)."""
    return re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", data)


def strip_from_line(raw):
    """A corpus file without its leading mbox 'From ' line."""
    if raw.startswith(b"From "):
        nl = raw.find(b"\n")
        return raw[nl + 1:]
    return raw
