"""Dovecot imaptest's scripted conformance tests, run against the IMAP
server with our runner for that format (imaptest_runner.py).

Every script whose capabilities ombu advertises must pass.  The scripts
that need a capability ombu does not offer are skipped the way imaptest
skips them, and NOT_RUN lists them with the reason (docs/imap.md has the
same list); the test fails if that list stops being true, in either
direction."""

import glob
import os

from conftest import corpus
from imaptest_runner import Runner, ScriptError, ScriptFailed

NOT_RUN = {
    "catenate": "CATENATE (RFC 4469) is not offered",
    "catenate-multiappend": "CATENATE (RFC 4469) is not offered",
    "esort": "ESORT (RFC 5267) is not offered",
    "notify": "NOTIFY (RFC 5465) is not offered",
    "search-context-update": "CONTEXT=SEARCH (RFC 5267) is not offered",
    "search-context-update2": "CONTEXT=SEARCH (RFC 5267) is not offered",
    "search-context-update3": "CONTEXT=SEARCH (RFC 5267) is not offered",
    "search-partial": "CONTEXT=SEARCH (RFC 5267) is not offered",
    "sort-display-from": "SORT=DISPLAY (RFC 5957) is not offered",
    "sort-display-to": "SORT=DISPLAY (RFC 5957) is not offered",
    "sort-partial": "CONTEXT=SORT (RFC 5267) is not offered",
    "urlauth": "URLAUTH (RFC 4467) is not offered",
    "urlauth-binary": "URLAUTH (RFC 4467) is not offered",
    "urlauth2": "URLAUTH (RFC 4467) is not offered",
}


def scripts():
    base = corpus("imaptest", "src", "tests")
    out = []
    for path in sorted(glob.glob(os.path.join(base, "*"))):
        # imaptest skips directories ("broken/" holds known-bad scripts)
        if os.path.isdir(path) or path.endswith(".mbox"):
            continue
        out.append(path)
    return out


def test_imaptest_scripts(ombu_ready):
    srv = ombu_ready.serve(workers=1, roles=["imap"])
    runner = Runner("127.0.0.1", srv.ports["imap"], "alice@example.test", "alice-pw")
    passed, skipped, failed = [], [], []
    for path in scripts():
        name = os.path.basename(path)
        try:
            res = runner.run(path)
        except (ScriptFailed, ScriptError) as e:
            failed.append("%s: %s" % (name, str(e)[:3000]))
            continue
        (passed if res == "passed" else skipped).append(name)
    assert not failed, "\n\n".join(failed)
    assert sorted(skipped) == sorted(NOT_RUN), (sorted(skipped), sorted(NOT_RUN))
    assert len(passed) >= 58, passed
    print("imaptest: %d passed, %d not run" % (len(passed), len(skipped)))
