"""OpenSMTPD's 76 SMTP regression cases (smtpscript), run against the MX.

The test addresses test@localhost and test@foo.bar are OpenSMTPD's local
users; here they become test@example.test, a local user of the MX, so that
the limits the scripts test are reached (a dotless domain is refused by
the MX as a relay trick).  The MX runs with OpenSMTPD's limits for the
scripts: 1000 recipients and 100 messages per session, 5 errors.

Where ombu decides differently on purpose, the case is listed in
DIFFERENT with the reason (also in docs/smtp-conformance.md); the test
fails if such a case starts agreeing, so the list stays true."""

import glob
import os

import pytest

from conftest import corpus
from smtpscript import parse_file, run_case

DIFFERENT = {
    ("test.base", 2):
        "not SMTP: the script engine's own grammar test, written to fail ('ahaha! I failed')",
    ("test.mailfrom", "mailfrom.src-route"):
        "'<whatever:a@a>' is not RFC 5321 syntax (a route is '@domain,...:'); refused 553",
    ("test.mailfrom", "mailfrom.option-auth"):
        "AUTH= on MAIL is only valid when AUTH is advertised (RFC 4954 5); the MX offers no AUTH: 555",
    ("test.rcptto", "rcptto.src-route"):
        "'<whatever:a@a>' is not RFC 5321 syntax; and a route is a relay trick for the MX",
    ("test.smtp0", 7):
        "the RCPT line holds a raw line feed: ombu refuses a bare LF in a command (500)",
}


def substitute(text):
    return text.replace("@localhost>", "@example.test>").replace("@foo.bar>", "@example.test>")


def cases():
    base = corpus("smtp", "opensmtpd-smtpscript")
    out = []
    for path in sorted(glob.glob(os.path.join(base, "test.*"))):
        procs, cs = parse_file(path)
        for i, c in enumerate(cs):
            out.append((os.path.basename(path), c["name"] or i, procs, c))
    return out


def test_all_scripts(ombu_ready):
    for u in ("test", "gilles", "root"):
        ombu_ready.add_user(u + "@example.test")
    srv = ombu_ready.serve(workers=1, roles=["mx"],
                           extra=["mx.greet_delay=0", "mx.tarpit_delay=0", "mx.max_recipients=1000",
                                  "mx.max_errors=5", "mx.max_messages_per_session=100",
                                  "mx.max_connection_rate=0"])
    port = srv.ports["mx"]
    all_cases = cases()
    assert len(all_cases) == 76, len(all_cases)
    results = []
    unexpected = []
    for fname, name, procs, case in all_cases:
        passed, detail = run_case(port, procs, case, substitute)
        key = (fname, name)
        results.append((key, passed, detail))
        if key in DIFFERENT:
            if passed:
                unexpected.append("%s %s now agrees with OpenSMTPD: drop it from DIFFERENT" % key)
        elif not passed:
            unexpected.append("%s %s: %s" % (fname, name, detail))
    srv.stop()
    agree = sum(1 for _, p, _ in results if p)
    print("opensmtpd smtpscript: %d of %d cases agree, %d differ on purpose" %
          (agree, len(results), len(DIFFERENT)))
    assert not unexpected, "\n".join(unexpected)
