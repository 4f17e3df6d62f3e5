"""`ombu serve`: the process model (workers, signals, reload, privileges)."""

import os
import signal
import time

import pytest


def proc_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("no Uid line")


def test_serve_starts_and_stops_cleanly(ombu_ready):
    srv = ombu_ready.serve(workers=2)
    workers = srv.workers()
    assert len(workers) == 2
    assert srv.stop(signal.SIGTERM) == 0
    log = srv.log()
    assert "event=server.stop reason=SIGTERM" in log
    assert "event=server.stopped" in log
    for w in workers:
        assert not os.path.exists("/proc/%d" % w) or open("/proc/%d/status" % w).read().find("zombie") >= 0


def test_sigint_stops_too(ombu_ready):
    srv = ombu_ready.serve(workers=1)
    assert srv.stop(signal.SIGINT) == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs root")
def test_drops_privileges(ombu_ready):
    import pwd
    ombu_uid = pwd.getpwnam("ombu").pw_uid
    srv = ombu_ready.serve(workers=2)
    for pid in [srv.pid] + srv.workers():
        uids = proc_uid(pid)
        assert uids == [ombu_uid] * 4, (pid, uids)
    srv.stop()


def test_worker_restarted_after_crash(ombu_ready):
    srv = ombu_ready.serve(workers=2)
    before = srv.workers()
    os.kill(before[0], signal.SIGKILL)
    assert srv.wait_log("event=server.worker_died pid=%d signal=9" % before[0])
    deadline = time.time() + 10
    while time.time() < deadline:
        now = srv.workers()
        if len(now) == 2 and before[0] not in now:
            break
        time.sleep(0.1)
    now = srv.workers()
    assert len(now) == 2 and before[0] not in now and before[1] in now
    assert srv.stop() == 0


def test_sighup_reload(ombu_ready):
    srv = ombu_ready.serve(workers=2)
    old = srv.workers()
    os.kill(srv.pid, signal.SIGHUP)
    assert srv.wait_log("event=server.reloaded generation=2")
    deadline = time.time() + 10
    while time.time() < deadline and any(p in srv.workers() for p in old):
        time.sleep(0.1)
    new = srv.workers()
    assert len(new) == 2 and not set(new) & set(old)
    assert srv.proc.poll() is None

    # a broken configuration is refused and the old one kept
    conf = os.path.join(ombu_ready.data, "ombu.conf")
    with open(conf, "a") as f:
        f.write("\n[server]\nnot_a_key = 1\n")
    os.kill(srv.pid, signal.SIGHUP)
    assert srv.wait_log("event=server.reload_failed")
    assert "unknown key 'not_a_key'" in srv.log()
    time.sleep(0.5)
    assert sorted(srv.workers()) == sorted(new)
    assert srv.stop() == 0


def test_bad_listen_address_fails_fast(ombu_ready):
    # something already listens on the port: serve says so and exits 1
    import socket
    import subprocess
    from conftest import OMBU, ROLES
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    cmd = [OMBU, "--data", ombu_ready.data]
    for role in ROLES:
        cmd += ["--set", "%s.listen=%s" % (role, "127.0.0.1:%d" % port if role == "lmtp" else "")]
    try:
        p = subprocess.run(cmd + ["serve"], capture_output=True, text=True, timeout=20)
    finally:
        s.close()
    assert p.returncode == 1
    assert "cannot listen on 127.0.0.1:%d for lmtp" % port in p.stderr
