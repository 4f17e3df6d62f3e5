"""Fixtures that drive the real `ombu` binary.

Every test gets its own data directory (created with `ombu init`) under a
world-traversable temporary folder, because `serve` run as root drops to
the unprivileged `ombu` user, which must be able to reach it.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OMBU = os.environ.get("OMBU_BIN", os.path.join(ROOT, "build", "ombu"))
CORPUS = os.environ.get("OMBU_CORPUS", os.path.join(os.path.dirname(ROOT), "shared", "corpus"))
SANITIZED = os.environ.get("OMBU_SANITIZED") == "1"

ROLES = ["mx", "submission", "submissions", "lmtp", "imap", "imaps", "pop3", "pop3s", "web"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """A running `ombu serve`."""

    def __init__(self, ombu, proc, ports, logpath):
        self.ombu = ombu
        self.proc = proc
        self.ports = ports
        self.logpath = logpath

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        with open(self.logpath, "r", errors="replace") as f:
            return f.read()

    def wait_log(self, text, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            if text in self.log():
                return True
            time.sleep(0.05)
        return False

    def workers(self):
        """PIDs of the worker processes (children of the master)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.pid)],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill9(self):
        """SIGKILL the master and all its workers (a crash)."""
        pids = self.workers()
        for p in [self.pid] + pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        # SIGKILL is delivered asynchronously: a worker still holding the
        # listening socket would make the next bind fail
        deadline = time.time() + 10
        for p in pids:
            while time.time() < deadline and _alive(p):
                time.sleep(0.01)


def _alive(pid):
    """False once the process has let go of its files: gone, or a zombie
    whose threads have all exited (the leader turns zombie first while
    the other threads, and the shared file table, are still there)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                return True
        return len(os.listdir("/proc/%d/task" % pid)) > 1
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


class Ombu:
    def __init__(self, base):
        self.base = base
        self.data = os.path.join(base, "data")
        self.sets = []
        self.servers = []

    def run(self, *args, input=None, check=True, sets=None, env=None, binary=False):
        """Runs ombu; stdout is bytes when binary (or input is bytes),
        stderr is always text."""
        cmd = [OMBU, "--data", self.data]
        for s in (sets if sets is not None else self.sets):
            cmd += ["--set", s]
        cmd += list(args)
        if isinstance(input, str):
            input = input.encode()
        p = subprocess.run(cmd, input=input, capture_output=True, env=env, timeout=600)
        p.stderr = p.stderr.decode("utf-8", "replace")
        if not binary:
            p.stdout = p.stdout.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise AssertionError("ombu %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
        return p

    def init(self):
        self.run("init")
        return self

    def add_user(self, address, password=None, *extra):
        args = ["user", "add", address] + list(extra)
        if password is not None:
            args.append("--password-stdin")
        self.run(*args, input=(password + "\n") if password is not None else None)

    def serve(self, workers=2, extra=(), wait=True, roles=None):
        ports = {}
        sets = []
        for role in ROLES:
            if roles is None or role in roles:
                ports[role] = free_port()
                sets.append("%s.listen=127.0.0.1:%d" % (role, ports[role]))
            else:
                sets.append("%s.listen=" % role)
        sets.append("server.workers=%d" % workers)
        sets += list(extra)
        logpath = os.path.join(self.base, "serve-%d.log" % len(self.servers))
        logf = open(logpath, "w")
        cmd = [OMBU, "--data", self.data]
        for s in self.sets + sets:
            cmd += ["--set", s]
        cmd.append("serve")
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        srv = Server(self, proc, ports, logpath)
        self.servers.append(srv)
        if wait:
            if not srv.wait_log("event=server.ready", timeout=30):
                srv.stop()
                ss = subprocess.run(["ss", "-tanpe"], capture_output=True, text=True).stdout
                import re
                busy = set(re.findall(r"address=[^ ]*:(\d+) error", srv.log()))
                mine = [ln for ln in ss.splitlines() if any(":%s " % p in ln for p in busy)]
                raise AssertionError("server did not start:\n" + srv.log() + "\n".join(mine))
        return srv

    def cleanup(self):
        for s in self.servers:
            if s.proc.poll() is None:
                s.kill9()


@pytest.fixture
def workdir():
    base = tempfile.mkdtemp(prefix="ombu-it-", dir="/tmp")
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def ombu(workdir):
    o = Ombu(workdir)
    yield o
    o.cleanup()


@pytest.fixture
def ombu_ready(ombu):
    """An initialised data dir with example.test, alice and bob."""
    ombu.init()
    ombu.run("domain", "add", "example.test")
    ombu.add_user("alice@example.test", "alice-pw")
    ombu.add_user("bob@example.test", "bob-pw")
    return ombu


def corpus(*parts):
    path = os.path.join(CORPUS, *parts)
    if not os.path.exists(path):
        pytest.skip("corpus not found at %s (set OMBU_CORPUS)" % path)
    return path
