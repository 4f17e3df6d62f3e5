"""The filter with the MX: SpamAssassin rules, per-recipient levels,
lists and contacts, blocklist zones for URIs and Received hops, and a
real clamd with a one-line custom signature."""

import base64
import email.utils
import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import free_port, wait_port
from mbox import split_mboxrd

FAST = ["mx.greet_delay=0", "mx.tarpit_delay=0"]
SPAMMY_RULE = """
body     OMBU_TEST_SPAMMY  /ombu-test-spammy-marker/
score    OMBU_TEST_SPAMMY  7.0
describe OMBU_TEST_SPAMMY  A rule the tests hit on purpose
"""
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def message(body, subject="A normal message", sender="friend@sender.example", extra=""):
    return ("From: Friend <%s>\r\nTo: Alice <alice@example.test>\r\nSubject: %s\r\n"
            "Date: %s\r\nMessage-ID: <%s@sender.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n%s\r\n%s\r\n" %
            (sender, subject, email.utils.formatdate(localtime=True), os.urandom(8).hex(), extra,
             body)).encode()


CLEAN = ("Hello Alice,\r\n\r\nthe meeting moved to Thursday at ten; the agenda is unchanged.\r\n"
         "See you there.\r\n\r\nBob\r\n")


def check(o, msg, *args):
    p = o.run("check", "--json", *args, input=msg)
    return json.loads(p.stdout)


def folder_msgs(o, user, folder=None):
    args = ["export", user] + (["--folder", folder] if folder else [])
    return split_mboxrd(o.run(*args, binary=True).stdout)


@pytest.fixture
def filtered(ombu_ready):
    o = ombu_ready
    with open(os.path.join(o.data, "rules", "ombu-tests.cf"), "w") as f:
        f.write(SPAMMY_RULE)
    o.add_user("strict@example.test", None, "--level", "strict")
    o.add_user("lenient@example.test", None, "--level", "lenient")
    return o


def test_check_command(filtered):
    o = filtered
    r = check(o, message(GTUBE))
    assert r["score"] > 900 and r["action"] == "discard"
    assert any(x["name"] == "GTUBE" for x in r["rules"])
    r = check(o, message(CLEAN))
    assert r["score"] < 5 and r["action"] == "inbox", r
    r = check(o, message(CLEAN + "ombu-test-spammy-marker\r\n"), "--rcpt", "strict@example.test")
    assert r["action"] == "spam" and r["folder"] == "Spam" and r["tag"] == 3.0
    assert any(x["name"] == "OMBU_TEST_SPAMMY" and x["score"] == 7.0 for x in r["rules"])
    r = check(o, message(CLEAN + "ombu-test-spammy-marker\r\n"), "--rcpt", "lenient@example.test")
    assert r["action"] == "inbox" and r["cutoff"] == 25.0
    p = o.run("check", "--stats", input=message(CLEAN))
    assert "slowest rules:" in p.stdout and "not supported" in p.stdout
    p = o.run("check", input=message(GTUBE))
    assert "GTUBE" in p.stdout and "action: discard" in p.stdout


def test_check_files(filtered, workdir):
    """Several files in one run, a saved message's mbox "From " line
    dropped; a missing file is reported and the others still checked."""
    o = filtered
    spam = os.path.join(workdir, "spam.eml")
    ham = os.path.join(workdir, "ham.eml")
    with open(spam, "wb") as f:
        f.write(b"From friend@sender.example Thu Nov 26 10:00:00 2026\n" + message(GTUBE))
    with open(ham, "wb") as f:
        f.write(message(CLEAN))
    p = o.run("check", "--json", spam, ham)
    rs = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["file"] for r in rs] == [spam, ham]
    assert rs[0]["action"] == "discard" and rs[1]["action"] == "inbox"
    assert all(r["usec"] > 0 for r in rs)
    p = o.run("check", spam, os.path.join(workdir, "missing.eml"), ham, check=False)
    assert p.returncode == 1 and "missing.eml" in p.stderr
    assert "==> %s <==" % spam in p.stdout and "==> %s <==" % ham in p.stdout
    assert p.stdout.count("action: ") == 2


def test_mx_per_recipient(filtered):
    o = filtered
    srv = o.serve(workers=1, roles=["mx"], extra=FAST)
    s = smtplib.SMTP("127.0.0.1", srv.ports["mx"])
    assert s.sendmail("friend@sender.example", ["alice@example.test"], message(GTUBE)) == {}
    assert s.sendmail("friend@sender.example", ["alice@example.test"], message(CLEAN)) == {}
    spammy = message(CLEAN + "ombu-test-spammy-marker\r\n", subject="Spammy")
    assert s.sendmail("friend@sender.example", ["strict@example.test", "lenient@example.test", "alice@example.test"],
                      spammy) == {}
    s.quit()
    srv.stop()
    inbox = folder_msgs(o, "alice@example.test")
    assert len(inbox) == 1 and b"the meeting moved" in inbox[0]          # GTUBE discarded, clean kept
    assert b"X-Spam-Status: No, score=" in inbox[0]
    assert len(folder_msgs(o, "alice@example.test", "Spam")) == 1       # 7.0 is between 5 and 15
    strict = folder_msgs(o, "strict@example.test", "Spam")
    # 7.0 from the test rule, less ALL_TRUSTED's 1.0 as the test talks from 127.0.0.1
    status = strict[0].replace(b"\r\n\t", b"")
    assert len(strict) == 1 and b"X-Spam-Status: Yes, score=" in status and b"required=3.0" in status
    assert b"OMBU_TEST_SPAMMY" in status
    assert folder_msgs(o, "strict@example.test") == []
    lenient = folder_msgs(o, "lenient@example.test")
    assert len(lenient) == 1 and b"required=8.0" in lenient[0]
    assert "event=mx.discarded" in srv.log() and "GTUBE" in srv.log()


def test_lists_and_contacts(filtered):
    o = filtered
    o.run("contact", "add", "alice@example.test", "pal@friends.example")
    o.run("list", "add", "alice@example.test", "black", "@spammer.example")
    o.run("list", "add", "alice@example.test", "white", "*.trusted.example")
    srv = o.serve(workers=1, roles=["mx"], extra=FAST)
    s = smtplib.SMTP("127.0.0.1", srv.ports["mx"])
    s.sendmail("pal@friends.example", ["alice@example.test"], message(GTUBE, sender="pal@friends.example"))
    s.sendmail("x@host.trusted.example", ["alice@example.test"], message(GTUBE, sender="x@host.trusted.example"))
    s.sendmail("boss@spammer.example", ["alice@example.test"], message(CLEAN, sender="boss@spammer.example"))
    s.quit()
    srv.stop()
    inbox = folder_msgs(o, "alice@example.test")
    assert len(inbox) == 2 and all(GTUBE.encode() in m for m in inbox)
    assert not any(b"boss@spammer.example" in m for m in inbox + folder_msgs(o, "alice@example.test", "Spam"))


def test_uri_and_received_zones(filtered, workdir):
    o = filtered
    uri_zone = os.path.join(workdir, "uri.dnset")
    with open(uri_zone, "w") as f:
        f.write(":127.0.0.2:URI listed\nlisted-spam.example\n")
    rcv_zone = os.path.join(workdir, "rcv.ip4set")
    with open(rcv_zone, "w") as f:
        f.write("203.0.113.0/24\n")
    with open(os.path.join(o.data, "ombu.conf"), "a") as f:
        f.write("\n[zone uribl]\nfile = %s\ntype = dnset\nuse = uri\nscore = 3.5\n"
                "\n[zone hops]\nfile = %s\ntype = ip4set\nuse = received\nscore = 2.0\n" % (uri_zone, rcv_zone))
    r = check(o, message(CLEAN + "see http://www.listed-spam.example/offer?x=1\r\n"))
    names = {x["name"]: x["score"] for x in r["rules"]}
    assert names.get("ZONE_URIBL") == 3.5, r
    r = check(o, message(CLEAN + "see http://www.innocent.example/\r\n"))
    assert "ZONE_URIBL" not in {x["name"] for x in r["rules"]}
    hop = "Received: from bad.example ([203.0.113.9]) by relay.example; Thu, 1 Jan 2026 00:00:00 +0000\r\n"
    r = check(o, message(CLEAN, extra=hop))
    assert {x["name"]: x["score"] for x in r["rules"]}.get("ZONE_HOPS") == 2.0, r


def start_clamd(workdir):
    d = os.path.join(workdir, "clamd")
    os.makedirs(d)
    os.chmod(d, 0o755)
    eicar_hex = EICAR.encode().hex()
    with open(os.path.join(d, "ombu-test.ldb"), "w") as f:
        # one line: the clamav-testfiles samples or EICAR
        f.write("Ombu.Test.Sample;Engine:51-255,Target:0;0|1;5b434c414d41565d0010000000100000;%s\n" % eicar_hex)
    port = free_port()
    with open(os.path.join(d, "clamd.conf"), "w") as f:
        f.write("Foreground yes\nTCPSocket %d\nTCPAddr 127.0.0.1\nDatabaseDirectory %s\n"
                "LogFile %s/clamd.log\nStreamMaxLength 25M\n" % (port, d, d))
    p = subprocess.Popen(["clamd", "-c", os.path.join(d, "clamd.conf")], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_port(port, timeout=60)
    return p, port


def attach(path):
    data = base64.encodebytes(open(path, "rb").read()).replace(b"\n", b"\r\n")
    return (b"From: a@sender.example\r\nTo: alice@example.test\r\nSubject: attachment\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
            b"--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"" + os.path.basename(path).encode() +
            b"\"\r\n\r\n" + data + b"--b1--\r\n")


@pytest.mark.skipif(shutil.which("clamd") is None, reason="clamav-daemon is not installed")
def test_clamd(filtered, workdir):
    o = filtered
    clam, port = start_clamd(workdir)
    try:
        srv = o.serve(workers=1, roles=["mx"], extra=FAST + ["filter.clamd=127.0.0.1:%d" % port])
        samples = sorted(os.listdir("/usr/share/clamav-testfiles"))
        assert len(samples) >= 40
        s = smtplib.SMTP("127.0.0.1", srv.ports["mx"])
        refused = 0
        for name in samples:
            try:
                s.sendmail("a@sender.example", ["alice@example.test"],
                           attach(os.path.join("/usr/share/clamav-testfiles", name)))
            except smtplib.SMTPDataError as e:
                assert e.smtp_code == 554 and b"5.7.1" in e.smtp_error and b"Ombu.Test.Sample" in e.smtp_error
                refused += 1
                s.rset()
        assert refused == len(samples)
        with pytest.raises(smtplib.SMTPDataError) as ei:
            s.sendmail("a@sender.example", ["alice@example.test"], message(EICAR))
        assert ei.value.smtp_code == 554
        s.rset()
        assert s.sendmail("a@sender.example", ["alice@example.test"], message(CLEAN)) == {}
        # clamd goes away: temporary failure, never a silent pass
        clam.terminate()
        clam.wait()
        with pytest.raises(smtplib.SMTPDataError) as ei:
            s.sendmail("a@sender.example", ["alice@example.test"], message(CLEAN))
        assert ei.value.smtp_code == 451 and b"4.7.1" in ei.value.smtp_error
        s.quit()
        srv.stop()
        assert len(folder_msgs(o, "alice@example.test")) == 1
    finally:
        if clam.poll() is None:
            clam.kill()
