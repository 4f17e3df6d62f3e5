"""The inbound MX with real clients: smtplib, swaks, raw sockets."""

import os
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from lmtpclient import Client, dot_stuff
from mbox import split_mboxrd

FAST = ["mx.greet_delay=0", "mx.tarpit_delay=0"]


@pytest.fixture
def mx(ombu_ready):
    srv = ombu_ready.serve(workers=2, roles=["mx", "lmtp"], extra=FAST)
    yield ombu_ready, srv.ports["mx"], srv
    srv.stop()


def export(o, user, folder=None):
    args = ["export", user] + (["--folder", folder] if folder else [])
    return split_mboxrd(o.run(*args, binary=True).stdout)


def test_delivery_one_and_many(mx):
    o, port, _ = mx
    s = smtplib.SMTP("127.0.0.1", port)
    s.ehlo("client.example")
    assert s.has_extn("pipelining") and s.has_extn("starttls") and s.has_extn("size")
    assert s.has_extn("chunking") and s.has_extn("smtputf8") and s.has_extn("enhancedstatuscodes")
    assert s.sendmail("a@example.org", ["alice@example.test"], b"Subject: one\r\n\r\nbody\r\n") == {}
    assert s.sendmail("a@example.org", ["alice@example.test", "Bob@Example.Test", "alice+x@example.test"],
                      b"Subject: many\r\n\r\nbody\r\n") == {}
    s.quit()
    a = export(o, "alice@example.test")
    b = export(o, "bob@example.test")
    assert len(a) == 2 and len(b) == 1   # alice once per message, even when named twice
    assert a[0].startswith(b"Return-Path: <a@example.org>\r\n")
    assert b"\r\nReceived: from client.example ([127.0.0.1])" in a[0]
    assert b"\r\nX-Spam-Status: No, score=" in a[0]
    assert b"with ESMTP id" in a[0] and b"for <alice@example.test>" in a[0]
    assert b"Subject: many" in b[0]


def test_unknown_users(mx):
    o, port, _ = mx
    s = smtplib.SMTP("127.0.0.1", port)
    s.ehlo("c.example")
    s.mail("a@example.org")
    code, text = s.rcpt("nobody@example.test")
    assert code == 550 and b"5.1.1" in text
    assert s.rcpt("alice@example.test")[0] == 250
    s.quit()


@pytest.mark.parametrize("rcpt", [
    "<user%other.example@example.test>",
    "<other.example!user@example.test>",
    "<@example.test:user@other.example>",
    "<\"user@other.example\"@example.test>",
    "<user@example.test.>",
    "<user@[127.0.0.1]>",
    "<user@other.example>",
    "<alice@example.test.other.example>",
])
def test_relay_tricks_refused(mx, rcpt):
    o, port, _ = mx
    c = Client(port)
    c.reply()
    c.cmd("EHLO c.example")
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
    code, text = c.cmd("RCPT TO:%s" % rcpt)
    assert code == 554 and "5.7.1" in text and "Relay access denied" in text, (rcpt, code, text)
    c.cmd("QUIT")


def test_no_relay_even_with_valid_local_sender(mx):
    o, port, _ = mx
    s = smtplib.SMTP("127.0.0.1", port)
    s.ehlo("c.example")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        s.sendmail("alice@example.test", ["victim@elsewhere.example"], b"Subject: relay\r\n\r\nx\r\n")
    s.quit()


def test_size_limit(ombu_ready):
    srv = ombu_ready.serve(workers=1, roles=["mx"], extra=FAST + ["mx.max_message_size=10k"])
    port = srv.ports["mx"]
    c = Client(port)
    c.reply()
    code, text = c.cmd("EHLO c.example")
    assert "SIZE 10240" in text
    assert c.cmd("MAIL FROM:<a@example.org> SIZE=20000")[0] == 552
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(dot_stuff(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 300))
    code, text = c.reply()
    assert code == 552 and "5.3.4" in text
    assert c.cmd("NOOP")[0] == 250
    c.close()
    srv.stop()
    assert export(ombu_ready, "alice@example.test") == []


def test_bare_lf_and_long_lines(ombu_ready):
    srv = ombu_ready.serve(workers=1, roles=["mx"], extra=FAST + ["mx.max_line_length=1000"])
    port = srv.ports["mx"]
    for body, expect in [(b"Subject: x\r\n\r\nbare\nlf\r\n", 554),
                         (b"Subject: x\r\n\r\n" + b"y" * 1200 + b"\r\n", 554),
                         (b"Subject: x\r\n\r\nsmuggled\n.\nMAIL FROM:<x@y.example>\r\n", 554),
                         (b"Subject: x\r\n\r\n" + b"y" * 990 + b"\r\n", 250)]:
        c = Client(port)
        c.reply()
        c.cmd("EHLO c.example")
        c.cmd("MAIL FROM:<a@example.org>")
        c.cmd("RCPT TO:<alice@example.test>")
        assert c.cmd("DATA")[0] == 354
        c.send(body + b"\r\n.\r\n")
        code, text = c.reply()
        assert code == expect, (body[:40], code, text)
        c.cmd("QUIT")
        c.close()
    # an over-long command line
    c = Client(port)
    c.reply()
    code, _ = c.cmd("EHLO " + "x" * 3000)
    assert code == 500
    assert c.cmd("NOOP")[0] == 250
    # NUL in a command
    c.send(b"NOOP \x00\r\n")
    assert c.reply()[0] == 500
    c.close()
    srv.stop()
    assert len(export(ombu_ready, "alice@example.test")) == 1


def test_starttls(mx):
    o, port, _ = mx
    s = smtplib.SMTP("127.0.0.1", port)
    s.ehlo("c.example")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    s.ehlo("c.example")
    assert not s.has_extn("starttls")
    assert s.sendmail("a@example.org", ["alice@example.test"], b"Subject: tls\r\n\r\nsecret\r\n") == {}
    s.quit()
    m = export(o, "alice@example.test")[0]
    assert b"with ESMTPS" in m and b"version=TLSv1" in m and b"cipher=" in m


def test_starttls_injection_discarded(mx):
    """Commands pipelined after STARTTLS in the clear must not be run
    inside the TLS session (CVE-2011-0411 family)."""
    o, port, _ = mx
    raw = socket.create_connection(("127.0.0.1", port))
    f = raw.makefile("rb")
    f.readline()
    raw.sendall(b"EHLO c.example\r\n")
    while True:
        line = f.readline()
        if line[3:4] == b" ":
            break
    raw.sendall(b"STARTTLS\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<alice@example.test>\r\n")
    assert f.readline().startswith(b"220")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    tls = ctx.wrap_socket(raw, server_hostname="localhost")
    tf = tls.makefile("rb")
    tls.sendall(b"EHLO c.example\r\n")
    lines = []
    while True:
        line = tf.readline()
        lines.append(line)
        if line[3:4] == b" ":
            break
    assert lines[0].startswith(b"250")
    # had the injected MAIL been run, this would be a nested MAIL (503)
    tls.sendall(b"MAIL FROM:<ok@example.org>\r\n")
    assert tf.readline().startswith(b"250")
    tls.sendall(b"QUIT\r\n")
    tls.close()


def test_swaks(mx):
    o, port, _ = mx
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--from", "s@example.org",
                        "--to", "bob@example.test", "--header", "Subject: swaks mx", "--tls"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert b"Subject: swaks mx" in export(o, "bob@example.test")[0]


def test_dictionary_attack(ombu_ready):
    srv = ombu_ready.serve(workers=2, roles=["mx"],
                           extra=["mx.greet_delay=0", "mx.tarpit_delay=200ms", "mx.tarpit_max=500ms",
                                  "mx.max_unknown_recipients=3", "mx.unknown_limit=5",
                                  "mx.block_time=5s"])
    port = srv.ports["mx"]
    c = Client(port)
    c.reply()
    c.cmd("EHLO bot.example")
    c.cmd("MAIL FROM:<bot@example.org>")
    t0 = time.time()
    assert c.cmd("RCPT TO:<a1@example.test>")[0] == 550
    t1 = time.time()
    assert c.cmd("RCPT TO:<a2@example.test>")[0] == 550
    t2 = time.time()
    assert t2 - t1 > t1 - t0 and t2 - t1 >= 0.35     # answered ever more slowly
    assert c.cmd("RCPT TO:<a3@example.test>")[0] == 550
    assert c.reply()[0] == 421                      # third unknown ends the session
    assert c.closed_by_peer()
    # two more unknown in a new session reach the per-IP limit of 5
    c = Client(port)
    c.reply()
    c.cmd("EHLO bot.example")
    c.cmd("MAIL FROM:<bot@example.org>")
    c.cmd("RCPT TO:<a4@example.test>")
    c.cmd("RCPT TO:<a5@example.test>")
    c.close()
    # now refused at connect, from every worker, until the block ends
    for _ in range(4):
        c = Client(port)
        code, text = c.reply()
        assert code == 421 and "4.7.0" in text
        c.close()
    time.sleep(5.5)
    c = Client(port)
    assert c.reply()[0] == 220
    c.close()
    srv.stop()
    assert "event=mx.blocked" in srv.log()


def test_pregreet(ombu_ready):
    srv = ombu_ready.serve(workers=1, roles=["mx"], extra=["mx.greet_delay=1s"])
    port = srv.ports["mx"]
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"EHLO impatient.example\r\n")
    s.settimeout(5)
    data = s.recv(4096)
    assert data.startswith(b"554 5.7.1"), data
    s.close()
    # a patient client is greeted after the delay, then at once next time
    t0 = time.time()
    c = Client(port)
    assert c.reply()[0] == 220
    assert time.time() - t0 >= 0.9
    c.cmd("EHLO patient.example")
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
    c.close()
    t0 = time.time()
    c = Client(port)
    assert c.reply()[0] == 220
    assert time.time() - t0 < 0.5
    c.close()
    srv.stop()
    assert "event=smtp.pregreet" in srv.log()


def test_connection_limits(ombu_ready):
    srv = ombu_ready.serve(workers=2, roles=["mx"],
                           extra=FAST + ["mx.max_connections_per_ip=3", "mx.max_connection_rate=0"])
    port = srv.ports["mx"]
    clients = []
    for _ in range(3):
        c = Client(port)
        assert c.reply()[0] == 220
        clients.append(c)
    c = Client(port)
    code, text = c.reply()
    assert code == 421 and "Too many connections" in text
    for c in clients:
        c.close()
    time.sleep(0.5)
    c = Client(port)
    assert c.reply()[0] == 220
    c.close()
    srv.stop()
    srv = ombu_ready.serve(workers=2, roles=["mx"],
                           extra=FAST + ["mx.max_connection_rate=5", "mx.rate_window=1m"])
    port = srv.ports["mx"]
    codes = []
    for _ in range(7):
        c = Client(port)
        codes.append(c.reply()[0])
        c.close()
    assert codes[:5] == [220] * 5 and codes[5:] == [421, 421]
    srv.stop()


def test_vrfy_never_leaks(mx):
    o, port, _ = mx
    c = Client(port)
    c.reply()
    c.cmd("EHLO c.example")
    a = c.cmd("VRFY alice@example.test")
    b = c.cmd("VRFY nobody@example.test")
    assert a == b and a[0] == 252
    assert c.cmd("HELP")[0] == 214
    assert c.cmd("EXPN staff")[0] == 502
    c.close()


def test_remote_alias_tempfails(mx):
    o, port, _ = mx
    o.run("alias", "add", "fwd@example.test", "someone@remote.example")
    c = Client(port)
    c.reply()
    c.cmd("EHLO c.example")
    c.cmd("MAIL FROM:<a@example.org>")
    code, text = c.cmd("RCPT TO:<fwd@example.test>")
    assert code == 451 and "4.3.0" in text
    c.close()


def test_dnsbl_with_rbldnsd(ombu_ready, workdir):
    """A remote DNS blocklist served by rbldnsd: a listed client is refused
    with the list's name, an unlisted one greeted; a dead list times out
    without blocking mail."""
    import shutil
    if shutil.which("rbldnsd") is None:
        pytest.skip("rbldnsd is not installed (scripts/bootstrap installs it)")
    from conftest import free_port
    zone = os.path.join(workdir, "bl.zone")
    with open(zone, "w") as f:
        f.write(":127.0.0.2:listed by the test\n127.0.0.1\n")
    os.chmod(workdir, 0o755)
    dport = free_port()
    rbl = subprocess.Popen(["rbldnsd", "-n", "-f", "-b", "127.0.0.1/%d" % dport, "-r", workdir,
                            "bl.test:ip4set:bl.zone"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        srv = ombu_ready.serve(workers=1, roles=["mx"],
                               extra=FAST + ["mx.dnsbl=bl.test*2, dead.test", "mx.dnsbl_threshold=2",
                                             "mx.dns_servers=127.0.0.1:%d" % dport,
                                             "mx.dnsbl_timeout=1s"])
        c = Client(srv.ports["mx"])
        code, text = c.reply()
        assert code == 554 and "bl.test" in text, (code, text)
        c.close()
        srv.stop()
        with open(zone, "w") as f:
            f.write("127.0.0.99\n")
        time.sleep(1.5)  # rbldnsd rereads changed files
        rbl.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        srv = ombu_ready.serve(workers=1, roles=["mx"],
                               extra=FAST + ["mx.dnsbl=bl.test*2", "mx.dnsbl_threshold=2",
                                             "mx.dns_servers=127.0.0.1:%d" % dport])
        c = Client(srv.ports["mx"])
        assert c.reply()[0] == 220
        c.close()
        srv.stop()
        # a list server that does not answer: the timeout, then mail flows
        srv = ombu_ready.serve(workers=1, roles=["mx"],
                               extra=FAST + ["mx.dnsbl=slow.test", "mx.dns_servers=127.0.0.1:%d" % free_port(),
                                             "mx.dnsbl_timeout=500ms"])
        t0 = time.time()
        c = Client(srv.ports["mx"])
        assert c.reply()[0] == 220
        assert time.time() - t0 < 3
        c.close()
        srv.stop()
    finally:
        rbl.kill()
        rbl.wait()


def test_store_down_then_back(ombu, workdir):
    """The user's store is another node that is down: the MX queues the mail
    (250), and delivers it when the store comes back."""
    import shutil
    from conftest import Ombu, free_port
    store_port = free_port()
    # the store node
    st = Ombu(os.path.join(workdir, "store"))
    os.makedirs(st.base)
    os.chmod(st.base, 0o755)
    st.init()
    st.run("domain", "add", "example.test")
    st.add_user("carol@example.test")
    # the MX node: carol lives on store "s1"
    mx = ombu
    mx.init()
    mx.run("domain", "add", "example.test")
    import sqlite3
    db = sqlite3.connect(os.path.join(mx.data, "directory.sqlite"))
    db.execute("INSERT INTO stores (name, lmtp) VALUES ('s1', '127.0.0.1:%d')" % store_port)
    db.commit()
    db.close()
    mx.add_user("carol@example.test", None, "--store", "s1")
    srv = mx.serve(workers=1, roles=["mx"], extra=FAST + ["queue.scan_interval=200ms",
                                                          "queue.retry_min=500ms", "queue.retry_max=1s"])
    s = smtplib.SMTP("127.0.0.1", srv.ports["mx"])
    assert s.sendmail("a@example.org", ["carol@example.test"], b"Subject: queued\r\n\r\nwait for me\r\n") == {}
    s.quit()
    listing = mx.run("queue", "list").stdout
    assert "carol@example.test" in listing
    time.sleep(1)
    assert "carol@example.test" in mx.run("queue", "list").stdout
    # the store comes up on its port
    ssrv = st.serve(workers=1, roles=["lmtp"], extra=[], wait=False)
    # serve() picked a random port: restart it on the agreed one
    ssrv.stop()
    ssrv = st.serve(workers=1, roles=[], extra=["lmtp.listen=127.0.0.1:%d" % store_port])
    deadline = time.time() + 20
    while time.time() < deadline:
        if "the queues are empty" in mx.run("queue", "list").stdout:
            break
        time.sleep(0.3)
    assert "the queues are empty" in mx.run("queue", "list").stdout
    msgs = split_mboxrd(st.run("export", "carol@example.test", binary=True).stdout)
    assert len(msgs) == 1 and b"wait for me" in msgs[0]
    srv.stop()
    ssrv.stop()


def test_queue_commands(ombu):
    """queue list/flush/delete on entries made by an MX whose store is down."""
    import sqlite3
    o = ombu
    o.init()
    o.run("domain", "add", "example.test")
    db = sqlite3.connect(os.path.join(o.data, "directory.sqlite"))
    db.execute("INSERT INTO stores (name, lmtp) VALUES ('gone', '127.0.0.1:9')")
    db.commit()
    db.close()
    o.add_user("dan@example.test", None, "--store", "gone")
    srv = o.serve(workers=1, roles=["mx"], extra=FAST + ["queue.retry_min=1h"])
    s = smtplib.SMTP("127.0.0.1", srv.ports["mx"])
    s.sendmail("a@example.org", ["dan@example.test"], b"Subject: q1\r\n\r\nx\r\n")
    s.sendmail("a@example.org", ["dan@example.test"], b"Subject: q2\r\n\r\nx\r\n")
    s.quit()
    time.sleep(0.5)
    out = o.run("queue", "list").stdout
    ids = [line.split()[0] for line in out.splitlines() if not line.startswith(" ")]
    assert len(ids) == 2
    assert "flush" not in out
    p = o.run("queue", "flush")
    assert "2 entries" in p.stdout
    o.run("queue", "delete", ids[0])
    out = o.run("queue", "list").stdout
    assert ids[0] not in out and ids[1] in out
    p = o.run("queue", "delete", "deadbeef", check=False)
    assert p.returncode == 1 and "no queue entry" in p.stderr
    p = o.run("queue", "delete", "../etc", check=False)
    assert p.returncode == 1
    srv.stop()


def test_graceful_stop(mx):
    o, port, srv = mx
    idle = Client(port)
    idle.reply()
    busy = Client(port)
    busy.reply()
    busy.cmd("EHLO c.example")
    busy.cmd("MAIL FROM:<a@example.org>")
    busy.cmd("RCPT TO:<alice@example.test>")
    assert busy.cmd("DATA")[0] == 354
    busy.send(b"Subject: stopping\r\n\r\npart one\r\n")
    os.kill(srv.pid, signal.SIGTERM)
    code, _ = idle.reply()
    assert code == 421
    time.sleep(0.3)
    busy.send(b"part two\r\n.\r\n")
    assert busy.reply()[0] == 250
    assert busy.reply()[0] == 421
    assert srv.proc.wait(timeout=20) == 0
    assert b"part two" in export(o, "alice@example.test")[0]


def test_blocklist_zone_at_connect_and_reload(ombu_ready, workdir):
    """A client listed in a local rbldnsd-format zone (use = connect) is
    refused with the zone's text; an unlisted one is greeted; SIGHUP loads
    the changed file."""
    zone = os.path.join(workdir, "local.ip4set")
    with open(zone, "w") as f:
        f.write(":127.0.0.2:Listed in the local blocklist: $\n127.0.0.1\n10.0.0.0/8\n")
    os.chmod(zone, 0o644)
    with open(os.path.join(ombu_ready.data, "ombu.conf"), "a") as f:
        f.write("\n[zone local-bl]\nfile = %s   # rbldnsd data format\ntype = ip4set\n"
                "use = connect\nscore = 3.5\n" % zone)
    srv = ombu_ready.serve(workers=2, roles=["mx"], extra=FAST)
    port = srv.ports["mx"]
    c = Client(port)
    code, text = c.reply()
    assert code == 554 and "5.7.1" in text and "Listed in the local blocklist: 127.0.0.1" in text, text
    c.close()
    # IPv6 loopback is not in the zone
    try:
        s6 = socket.create_connection(("::1", port), timeout=2)
        s6.close()
    except OSError:
        pass  # the listener is IPv4 only
    # take 127.0.0.1 off the list and reload
    with open(zone, "w") as f:
        f.write("10.0.0.0/8\n")
    os.kill(srv.pid, signal.SIGHUP)
    assert srv.wait_log("event=server.reloaded")
    time.sleep(0.5)
    c = Client(port)
    assert c.reply()[0] == 220
    c.close()
    srv.stop()
    assert "event=zone.loaded zone=local-bl" in srv.log()


def test_zone_file_missing_refuses_to_start(ombu_ready):
    with open(os.path.join(ombu_ready.data, "ombu.conf"), "a") as f:
        f.write("\n[zone gone]\nfile = /nonexistent/zone\n")
    import subprocess
    from conftest import OMBU
    p = subprocess.run([OMBU, "--data", ombu_ready.data, "--set", "lmtp.listen=",
                        "--set", "mx.listen=127.0.0.1:0", "serve"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1
    assert "zone gone" in p.stderr


def test_queue_expiry_bounces(ombu):
    """Mail for a store that stays down expires after queue.max_age: the
    local sender gets a DSN (RFC 3464) in its mailbox; a null sender
    gets nothing."""
    import sqlite3
    o = ombu
    o.init()
    o.run("domain", "add", "example.test")
    db = sqlite3.connect(os.path.join(o.data, "directory.sqlite"))
    db.execute("INSERT INTO stores (name, lmtp) VALUES ('down', '127.0.0.1:9')")
    db.commit()
    db.close()
    o.add_user("far@example.test", None, "--store", "down")
    o.add_user("sender@example.test")
    srv = o.serve(workers=1, roles=["mx"], extra=FAST + ["queue.scan_interval=200ms", "queue.retry_min=300ms",
                                                         "queue.max_age=2s"])
    s = smtplib.SMTP("127.0.0.1", srv.ports["mx"])
    s.ehlo("c.example")
    s.sendmail("sender@example.test", ["far@example.test"], b"Subject: will bounce\r\n\r\nbody\r\n",
               mail_options=["ENVID=env+2Bid-42"], rcpt_options=["ORCPT=rfc822;Far@Example.Test"])
    s.sendmail("", ["far@example.test"], b"Subject: null sender\r\n\r\nbody\r\n")
    # the sender asked for no failure report: none comes
    s.sendmail("sender@example.test", ["far@example.test"], b"Subject: never tell\r\n\r\nbody\r\n",
               rcpt_options=["NOTIFY=NEVER"])
    s.quit()
    deadline = time.time() + 20
    while time.time() < deadline:
        if "the queues are empty" in o.run("queue", "list").stdout:
            break
        time.sleep(0.3)
    assert "the queues are empty" in o.run("queue", "list").stdout
    srv.stop()
    dsn = export(o, "sender@example.test")
    assert len(dsn) == 1
    d = dsn[0]
    assert b"Subject: Undelivered Mail Returned to Sender" in d
    assert b"report-type=delivery-status" in d
    assert b"Final-Recipient: rfc822; far@example.test" in d and b"Action: failed" in d
    assert b"Status: 4.4.7" in d and b"Subject: will bounce" in d
    assert b"Original-Envelope-Id: env+2Bid-42" in d
    assert b"Original-Recipient: rfc822; Far@Example.Test" in d
    assert b"never tell" not in d
    assert "event=mx.bounce_dropped reason=NOTIFY" in srv.log()
    assert "event=mx.bounce_dropped reason=\"null sender\"" in srv.log()
