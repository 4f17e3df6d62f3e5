#!/usr/bin/python3
"""Parity of ombu's rules engine with SpamAssassin on the public corpus.

    /usr/bin/python3 bench/sa_parity.py [--limit N] [--write] [--rule NAME]

Needs bench/results/sa-reference.tsv.gz (bench/sa_reference.py makes it:
spamd, local tests only, no Bayes, the Debian rule set) and a build
(`make`).  Scans every message with ombu's engine (the same rules from
/usr/share/spamassassin) and compares, message by message:

  - the score: the share of messages within 0.5 of SpamAssassin's;
  - the rules: every (message, rule) pair over the rules ombu supports,
    hit by both or by neither counts as agreeing; and, stricter, the
    share of rules hit by either that both hit;
  - the rules that disagree most, each with its false hits and misses.

--write puts the report into docs/filter-parity.md.  --rule NAME lists
the messages where NAME disagrees."""

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sa_common import (ROOT, build_driver, corpus_files, load_reference,  # noqa: E402
                       relname, run_driver)

DOC = os.path.join(ROOT, "docs", "filter-parity.md")


def unsupported_rules(exe):
    """Rules ombu knows it cannot hit (network, Bayes, unimplemented)."""
    import subprocess
    p = subprocess.run([exe, "/usr/share/spamassassin", "1", "0"], input="",
                       capture_output=True, text=True, env=dict(os.environ, SA_UNSUPPORTED="1"))
    out = {}
    supported = []
    for line in p.stderr.splitlines():
        if line.startswith("supported\t"):
            supported.append(line.split("\t", 1)[1])
        if line.startswith("unsupported\t"):
            _, what, why, rules = line.split("\t", 3)
            for r in rules.split(","):
                if r:
                    out[r] = (what, why)
    return out, supported


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--rule", action="append", default=[])
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()

    ref = load_reference()
    if not ref:
        sys.exit("no reference: run bench/sa_reference.py first")
    files = corpus_files()
    if args.limit:
        step = max(1, len(files) // args.limit)
        files = files[::step][:args.limit]
    exe = build_driver()
    unsup, supported = unsupported_rules(exe)
    t0 = time.time()
    res, err = run_driver([p for _, p in files], threads=args.threads, stats=True, exe=exe)
    el = time.time() - t0

    n = within = 0
    kinds = {}
    diffs = []
    fp = collections.Counter()   # ombu hit, SA did not
    fn = collections.Counter()   # SA hit, ombu did not
    both = collections.Counter()
    sa_hits = collections.Counter()
    examples = collections.defaultdict(list)
    pairs_agree = pairs_total = 0
    jac_both = jac_either = 0
    universe = set()
    for kind, path in files:
        name = relname(path)
        if name not in ref or path not in res:
            continue
        sscore, shits, ssubs = ref[name]
        oscore, ohits, osubs, _ = res[path]
        universe.update(shits)
        universe.update(ohits)
        universe.update(ssubs)
        universe.update(osubs)
    universe = {r for r in universe if r not in unsup}
    for kind, path in files:
        name = relname(path)
        if name not in ref or path not in res:
            continue
        sscore, shits, ssubs = ref[name]
        oscore, ohits, osubs, _ = res[path]
        n += 1
        ok = abs(sscore - oscore) <= 0.5
        within += ok
        kinds.setdefault(kind, [0, 0])
        kinds[kind][0] += 1
        kinds[kind][1] += ok
        diffs.append((abs(sscore - oscore), name, sscore, oscore))
        s_all = set(shits) | set(ssubs)
        o_all = set(ohits) | set(osubs)
        for r in s_all | o_all:
            if r in unsup:
                continue
            if r in s_all and r in o_all:
                both[r] += 1
            elif r in s_all:
                fn[r] += 1
                if len(examples[r]) < 5:
                    examples[r].append(name)
            else:
                fp[r] += 1
                if len(examples[r]) < 5:
                    examples[r].append(name)
        for r in s_all:
            sa_hits[r] += 1
        inter = len((s_all & o_all) - set(unsup))
        uni = len((s_all | o_all) - set(unsup))
        jac_both += inter
        jac_either += uni
        pairs_total += len(universe)
        pairs_agree += len(universe) - (uni - inter)

    if n == 0:
        sys.exit("nothing compared")
    # weight of a disagreeing rule: how much score it moves
    def weight(r):
        return (fp[r] + fn[r])
    worst = sorted(set(fp) | set(fn), key=lambda r: (-weight(r), r))
    scored_worst = [r for r in worst if not r.startswith("__")]

    lines = []
    lines.append("| figure | value |")
    lines.append("| --- | --- |")
    lines.append("| messages compared | %d (ham %d, spam %d) |" % (
        n, kinds.get("ham", [0])[0], kinds.get("spam", [0])[0]))
    lines.append("| **score within 0.5 of SpamAssassin's** | **%.2f %%** (%d of %d) |" % (
        100.0 * within / n, within, n))
    for k in ("ham", "spam"):
        if k in kinds:
            lines.append("| ... %s | %.2f %% |" % (k, 100.0 * kinds[k][1] / kinds[k][0]))
    lines.append("| (message, supported rule) pairs that agree | %.3f %% of %d (%d rules, `__` sub-rules included) |" % (
        100.0 * pairs_agree / max(1, pairs_total), pairs_total, len(universe)))
    lines.append("| rules hit by either that both hit | %.2f %% |" % (
        100.0 * jac_both / max(1, jac_either)))
    lines.append("| ombu scan time for the run | %.1f s (%d threads, with per-rule timing) |" % (el, args.threads))
    report = "\n".join(lines)

    top = ["| rule | SA hits | both | SA only (ombu missed) | ombu only | examples |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in scored_worst[:args.top]:
        top.append("| %s | %d | %d | %d | %d | %s |" % (
            r, sa_hits[r], both[r], fn[r], fp[r], " ".join(e.split("/")[-1][:20] for e in examples[r][:2])))
    sub = ["| sub-rule | SA hits | both | SA only | ombu only |", "| --- | --- | --- | --- | --- |"]
    for r in [w for w in worst if w.startswith("__")][:args.top]:
        sub.append("| %s | %d | %d | %d | %d |" % (r, sa_hits[r], both[r], fn[r], fp[r]))

    print(report)
    print()
    print("\n".join(top))
    print()
    print("\n".join(sub[:25]))
    diffs.sort(reverse=True)
    print("\nlargest score differences:")
    for d, name, s, o in diffs[:15]:
        print("  %6.2f  %s  SA %.2f  ombu %.2f" % (d, name, s, o))
    for r in args.rule:
        print("\n%s: SA only %d, ombu only %d" % (r, fn[r], fp[r]))
        for kind, path in files:
            name = relname(path)
            if name not in ref or path not in res:
                continue
            s_all = set(ref[name][1]) | set(ref[name][2])
            o_all = set(res[path][1]) | set(res[path][2])
            if (r in s_all) != (r in o_all):
                print("   %s %s" % ("SA-only" if r in s_all else "ombu-only", path))
    if args.write:
        write_doc(report, top, sub, n, unsup, supported)


def evals_used():
    """eval: functions the Debian rule set calls, with how many rules."""
    import glob
    import re
    used = collections.Counter()
    for path in glob.glob("/usr/share/spamassassin/*.cf"):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = re.match(r"\s*(?:header|body|rawbody|full|uri)\s+\S+\s+eval:(\w+)", line)
                if m:
                    used[m.group(1)] += 1
    return used


def unsupported_doc(unsup, supported):
    used = evals_used()
    sup = set(supported)
    n_used = len(used)
    n_have = sum(1 for e in used if e in sup)
    by_what = collections.defaultdict(list)
    for rule, (what, why) in unsup.items():
        by_what[(what, why)].append(rule)
    lines = ["The Debian rule set calls %d distinct `eval:` functions in %d rules; ombu implements %d of "
             "them (%d functions in all, counting ones only local rules use).  What is left out, "
             "and the rules with a score that need it (these rules never hit in ombu):\n"
             % (n_used, sum(used.values()), n_have, len(sup)),
             "| left out | why | rules |", "| --- | --- | --- |"]
    for (what, why), rules in sorted(by_what.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        lines.append("| `%s` | %s | %s |" % (what, why, " ".join(sorted(rules))))
    missing = sorted(e for e in used if e not in sup)
    lines.append("\nEval functions of the rule set that ombu does not implement, whatever the reason "
                 "(also those only in rules that are not scored or sit in `ifplugin` blocks for "
                 "plugins that are not loaded): %s.\n" % (", ".join("`%s`" % e for e in missing) or "none"))
    return "\n".join(lines)


def replace_between(text, name, body):
    start = text.find("<!-- %s:begin -->" % name)
    end = text.find("<!-- %s:end -->" % name)
    if start < 0 or end < 0:
        sys.exit("docs/filter-parity.md has no %s markers" % name)
    return text[:start] + "<!-- %s:begin -->\n" % name + body + "\n" + text[end:]


def write_doc(report, top, sub, n, unsup, supported):
    with open(DOC) as f:
        text = f.read()
    text = replace_between(text, "unsupported", unsupported_doc(unsup, supported))
    start = text.find("<!-- parity:begin -->")
    end = text.find("<!-- parity:end -->")
    if start < 0 or end < 0:
        sys.exit("docs/filter-parity.md has no parity markers")
    body = ("<!-- parity:begin -->\n"
            "Run of %s, `/usr/bin/python3 bench/sa_parity.py --write`:\n\n" % time.strftime("%Y-%m-%d")
            + report + "\n\nThe scored rules that disagree most:\n\n" + "\n".join(top)
            + "\n\nThe `__` sub-rules that disagree most:\n\n" + "\n".join(sub[:27]) + "\n")
    text = text[:start] + body + text[end:]
    with open(DOC, "w") as f:
        f.write(text)
    print("wrote", DOC)


if __name__ == "__main__":
    main()
