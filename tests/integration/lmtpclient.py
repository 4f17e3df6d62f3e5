"""A small LMTP/SMTP client that reads every reply (smtplib.LMTP reads only
one after DATA) and can pipeline raw bytes."""

import socket
import time


class Client:
    def __init__(self, port, host="127.0.0.1", timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        # no Nagle: a command split over two writes must not wait for an ACK
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; pending: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """One (code, text) reply, multi-line joined with newlines."""
        lines = []
        while True:
            line = self._line()
            lines.append(line[4:])
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), "\n".join(lines)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed_by_peer(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True


def dot_stuff(msg):
    if isinstance(msg, str):
        msg = msg.encode()
    lines = msg.split(b"\r\n")
    out = []
    for line in lines:
        out.append(b"." + line if line.startswith(b".") else line)
    data = b"\r\n".join(out)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def lmtp_deliver(port, sender, rcpts, msg):
    """Delivers one message; returns (rcpt replies, data replies)."""
    c = Client(port)
    try:
        assert c.reply()[0] == 220
        assert c.cmd("LHLO test.example")[0] == 250
        assert c.cmd("MAIL FROM:<%s>" % sender)[0] == 250
        rr = [c.cmd("RCPT TO:<%s>" % r) for r in rcpts]
        ok = sum(1 for code, _ in rr if code == 250)
        if ok == 0:
            return rr, []
        code, _ = c.cmd("DATA")
        assert code == 354, code
        c.send(dot_stuff(msg))
        dr = c.replies(ok)
        c.cmd("QUIT")
        return rr, dr
    finally:
        c.close()
