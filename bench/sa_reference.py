#!/usr/bin/python3
"""Runs SpamAssassin (spamd + spamc, local tests only, no Bayes, the Debian
rule set) over the whole corpus once and caches what it hit, so that the
parity report (bench/sa_parity.py) can be redone in seconds.

    /usr/bin/python3 bench/sa_reference.py [--children 2] [--limit N]

Writes bench/results/sa-reference.tsv.gz: one line per message,
`path<TAB>score<TAB>RULE=score,...<TAB>__SUB,...<TAB>seconds`.  Resumes
where an interrupted run stopped (a partial file is kept beside it)."""

import argparse
import concurrent.futures
import gzip
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sa_common import REFERENCE, RESULTS, Spamd, corpus_files, read_message, relname  # noqa: E402


def collapse(subs):
    """`__A,__A,__B` -> `__A*2,__B` (counts matter to `multiple` metas)."""
    counts = {}
    for s in subs:
        counts[s] = counts.get(s, 0) + 1
    return [s if counts[s] == 1 else "%s*%d" % (s, counts[s]) for s in sorted(counts)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--children", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    partial = REFERENCE + ".partial"
    done = set()
    if os.path.exists(partial):
        with open(partial) as f:
            for line in f:
                done.add(line.split("\t", 1)[0])
    files = corpus_files()
    if args.limit:
        files = files[:args.limit]
    todo = [(k, p) for k, p in files if relname(p) not in done]
    print("%d messages, %d cached, %d to scan" % (len(files), len(done), len(todo)), flush=True)
    spamd = Spamd(children=args.children)
    try:
        with open(partial, "a") as out, \
                concurrent.futures.ThreadPoolExecutor(args.children) as ex:
            def one(item):
                return item, spamd.scan(read_message(item[1]))
            n = 0
            for (kind, path), (score, hits, subs, el) in ex.map(one, todo):
                out.write("%s\t%.3f\t%s\t%s\t%.4f\n" % (
                    relname(path), score, ",".join("%s=%s" % (k, hits[k]) for k in sorted(hits)),
                    ",".join(collapse(subs)), el))
                n += 1
                if n % 100 == 0:
                    out.flush()
                    print("%d/%d" % (n, len(todo)), flush=True)
    finally:
        spamd.stop()
    lines = []
    with open(partial) as f:
        lines = [line for line in f if line.strip()]
    if len(lines) >= len(files):
        lines.sort()
        with gzip.open(REFERENCE, "wt") as f:
            f.write("# spamassassin -L (spamd), use_bayes 0, rules %s\n" % "/usr/share/spamassassin")
            f.writelines(lines)
        os.unlink(partial)
        print("wrote", REFERENCE)


if __name__ == "__main__":
    main()
