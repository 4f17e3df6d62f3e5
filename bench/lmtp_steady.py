#!/usr/bin/python3
"""Bytes on disk right after delivery once the store is past its cold
start (issue 3).  bench/lmtp.py delivers the corpus into an empty store:
its first `store.dict_after` bodies (1,000 by default) are compressed
before a dictionary exists, and only the nightly `store gc` gives them
the dictionary.  Here the corpus is delivered once (which trains the
dictionary), then again with one header added to each message (all new
bodies, compressed with the trained dictionary), and the second pass's
growth is compared with its raw size, before any gc.

    /usr/bin/python3 bench/lmtp_steady.py"""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmtp  # noqa: E402
from peers import Ombu, corpus_files, du  # noqa: E402


def main():
    base = tempfile.mkdtemp(prefix="ombu-bench-steady-")
    try:
        users = ["u%02d@example.test" % i for i in range(20)]
        msgs = [lmtp.wire(f) for f in corpus_files()]
        raw1 = sum(len(m) for m in msgs)
        o = Ombu(base, users)
        store = o.store_path()
        empty = du(store) if os.path.exists(store) else 0
        o.start(roles=["lmtp"])
        lmtp.deliver_all(o.ports["lmtp"], msgs, users, 4)
        o.stop()
        first = du(store)
        o.start()
        again = [b"X-Pass: 2\r\n" + m for m in msgs]
        raw = sum(len(m) for m in again)
        lmtp.deliver_all(o.ports["lmtp"], again, users, 4)
        o.stop()
        both = du(store)
        print("first pass (cold start): %.1f MB for %.1f MB raw = %.2fx"
              % ((first - empty) / 1e6, raw1 / 1e6, (first - empty) / raw1))
        print("second pass, right after delivery, no gc: %.1f MB for %.1f MB raw = %.2fx raw"
              % ((both - first) / 1e6, raw / 1e6, (both - first) / raw))
        o.run("store", "gc")
        gc = du(store)
        print("both passes after store gc: %.1f MB for %.1f MB raw = %.2fx raw"
              % ((gc - empty) / 1e6, (raw1 + raw) / 1e6, (gc - empty) / (raw1 + raw)))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
