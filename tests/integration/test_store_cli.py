"""deliver, export, import, folder list, store check: the store from the
command line."""

import hashlib
import os
import sqlite3
import subprocess

from mbox import crlf, split_mboxrd, to_mboxrd


MSG = b"From: a@example.org\nSubject: hello\n\nFrom the start of a line\n>From quoted\nbody\n"


def folders(ombu, user):
    out = ombu.run("folder", "list", user).stdout
    res = {}
    for line in out.splitlines():
        parts = line.split()
        res[parts[0]] = (int(parts[1]), int(parts[3]))
    return res


def test_deliver_export_roundtrip(ombu_ready):
    o = ombu_ready
    o.run("deliver", "--rcpt", "alice@example.test", input=MSG)
    o.run("deliver", "--rcpt", "Alice+news@EXAMPLE.test", input=MSG.replace(b"hello", b"second"))
    o.run("deliver", "--rcpt", "alice@example.test", "--folder", "Spam", input=b"Subject: s\n\nspam\n")
    p = o.run("export", "alice@example.test", binary=True)
    exported = split_mboxrd(p.stdout)
    assert exported == [crlf(MSG), crlf(MSG.replace(b"hello", b"second"))]
    spam = split_mboxrd(o.run("export", "alice@example.test", "--folder", "Spam", binary=True).stdout)
    assert spam == [b"Subject: s\r\n\r\nspam\r\n"]
    f = folders(o, "alice@example.test")
    assert f["INBOX"] == (2, len(crlf(MSG)) * 2 + 1)
    assert f["Spam"][0] == 1
    for name in ("Drafts", "Sent", "Trash", "Archive"):
        assert name in f
    assert "consistent" in o.run("store", "check", "alice@example.test").stdout


def test_deliver_errors(ombu_ready):
    o = ombu_ready
    p = o.run("deliver", "--rcpt", "nobody@example.test", input=MSG, check=False)
    assert p.returncode == 67 and "no such user" in p.stderr
    p = o.run("deliver", "--rcpt", "x@example.org", input=MSG, check=False)
    assert p.returncode == 1 and "not in a local domain" in p.stderr
    p = o.run("deliver", "--rcpt", "alice@example.test", "--folder", "NoSuch", input=MSG, check=False)
    assert p.returncode == 1 and "does not exist" in p.stderr
    p = o.run("deliver", input=MSG, check=False)
    assert p.returncode == 2
    p = o.run("deliver", "--rcpt", "alice@example.test", input=b"", check=False)
    assert p.returncode == 1 and "empty" in p.stderr
    # too big for store.max_message_size
    p = o.run("deliver", "--rcpt", "alice@example.test", input=b"x" * 5000, check=False,
              sets=["store.max_message_size=1024"])
    assert p.returncode == 1 and "larger than" in p.stderr


def test_quota_is_enforced(ombu_ready):
    o = ombu_ready
    o.run("user", "set", "bob@example.test", "quota", "1k")
    body = b"Subject: q\n\n" + b"x" * 300 + b"\n"
    o.run("deliver", "--rcpt", "bob@example.test", input=body)
    o.run("deliver", "--rcpt", "bob@example.test", input=body)
    o.run("deliver", "--rcpt", "bob@example.test", input=body)
    p = o.run("deliver", "--rcpt", "bob@example.test", input=body, check=False)
    assert p.returncode == 75 and "over quota" in p.stderr
    assert folders(o, "bob@example.test")["INBOX"][0] == 3


def test_import_export_and_uidl(ombu_ready):
    o = ombu_ready
    msgs = [b"Subject: one\nX-UIDL: abc123\n\nFrom here\n", b"Subject: two\n\n>From x\n>>From y\nbody\n",
            b"Subject: three\nX-UIDL: 0000ff\n\nlast\n"]
    p = o.run("import", "alice@example.test", "--folder", "Archive", "--keep-uidl", input=to_mboxrd(msgs))
    assert "imported 3 messages" in p.stderr
    out = split_mboxrd(o.run("export", "alice@example.test", "--folder", "Archive", binary=True).stdout)
    assert out == [crlf(m) for m in msgs]
    # the UIDLs are kept in the index for POP3
    idx = os.path.join(o.data, "store", "example.test", "alice", "index.sqlite")
    db = sqlite3.connect(idx)
    uidls = [r[0] for r in db.execute("SELECT pop3_uidl FROM messages ORDER BY uid")]
    assert uidls == ["abc123", None, "0000ff"]


def test_dedup_and_check_detects_damage(ombu_ready):
    o = ombu_ready
    o.run("deliver", "--rcpt", "alice@example.test", input=MSG)
    o.run("deliver", "--rcpt", "bob@example.test", input=MSG)
    # one body in the packs for both
    store = os.path.join(o.data, "store", "blobs")
    n = 0
    for name in os.listdir(store):
        if name.startswith("pack-") and name.endswith(".sqlite"):
            n += sqlite3.connect(os.path.join(store, name)).execute("SELECT COUNT(*) FROM blobs").fetchone()[0]
    assert n == 1
    assert o.run("store", "check", "bob@example.test").returncode == 0
    # damage bob's quota counter: check says so and exits 1; --repair fixes it
    idx = os.path.join(o.data, "store", "example.test", "bob", "index.sqlite")
    db = sqlite3.connect(idx)
    db.execute("UPDATE meta SET value = value + 7 WHERE key = 'quota_used'")
    db.commit()
    db.close()
    p = o.run("store", "check", "bob@example.test", check=False)
    assert p.returncode == 1 and "not consistent" in p.stderr
    o.run("store", "check", "bob@example.test", "--repair", check=False)
    assert o.run("store", "check", "bob@example.test").returncode == 0


def test_big_message_is_a_file_blob(ombu_ready):
    o = ombu_ready
    big = b"Subject: big\n\n" + os.urandom(200000).hex().encode() + b"\n"
    o.run("deliver", "--rcpt", "alice@example.test", input=big)
    o.run("deliver", "--rcpt", "bob@example.test", input=big)
    digest = hashlib.sha256(crlf(big)).hexdigest()
    pool_file = os.path.join(o.data, "store", "blobs", digest[:2], digest + ".zst")
    assert os.path.exists(pool_file)
    assert os.stat(pool_file).st_nlink == 3  # the pool + alice + bob
    out = split_mboxrd(o.run("export", "bob@example.test", binary=True).stdout)
    assert out == [crlf(big)]
    assert o.run("store", "check", "alice@example.test").returncode == 0


# The message columns of index version 3 (and 2, WITHOUT ROWID), before
# the four cache columns became one compressed column in version 4.
V3_MESSAGES = ("CREATE TABLE messages ("
               " folder_id INTEGER NOT NULL, uid INTEGER NOT NULL, modseq INTEGER NOT NULL,"
               " flags INTEGER NOT NULL DEFAULT 0, keywords TEXT, internal_date INTEGER NOT NULL,"
               " saved INTEGER NOT NULL, size INTEGER NOT NULL, blob TEXT NOT NULL,"
               " blob_file INTEGER NOT NULL, prefix BLOB, pop3_uidl TEXT, envelope TEXT,"
               " bodystructure TEXT, body TEXT, headers TEXT,"
               " PRIMARY KEY (folder_id, uid))")
BASE_COLS = ("folder_id, uid, modseq, flags, keywords, internal_date, saved, size, blob, blob_file,"
             " prefix, pop3_uidl")


def unpack_cache(z):
    """Version 4's cache column: one zstd frame (without a dictionary
    before the volume has trained one) of a byte saying which of
    ENVELOPE, BODYSTRUCTURE, BODY and the header lines are present, then
    each present one NUL-terminated."""
    if z is None:
        return (None, None, None, None)
    plain = subprocess.run(["zstd", "-d", "-c", "-q"], input=z, capture_output=True, check=True).stdout
    present, rest = plain[0], plain[1:].split(b"\0")
    out = []
    for i in range(4):
        out.append(rest.pop(0).decode("utf-8", "surrogateescape") if present & (1 << i) else None)
    return tuple(out)


def make_old_index(idx, version):
    """Rewrites a version 4 index as version 3 (or 2: WITHOUT ROWID) would
    have it; returns the rows as (base columns, cache fields)."""
    db = sqlite3.connect(idx)
    assert db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0] == 4
    rows = [(r[:-1], unpack_cache(r[-1])) for r in
            db.execute("SELECT %s, cache FROM messages ORDER BY folder_id, uid" % BASE_COLS)]
    assert all(c[0] is not None and c[1] is not None for _, c in rows)
    db.executescript("DROP TABLE messages;" + V3_MESSAGES + (" WITHOUT ROWID;" if version == 2 else ";"))
    for base, cache in rows:
        db.execute("INSERT INTO messages VALUES (%s)" % ", ".join("?" * 16), base + cache)
    db.execute("UPDATE meta SET value = ? WHERE key = 'version'", (version,))
    db.commit()
    db.close()
    return rows


def check_migrated(o, idx, rows):
    """After a version 2 or 3 index was opened: version 4, the same
    messages with the same cache, triggers and indexes made again."""
    o.run("deliver", "--rcpt", "alice@example.test", input=MSG)
    db = sqlite3.connect(idx)
    assert db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0] == 4
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'messages'").fetchone()[0]
    assert "WITHOUT ROWID" not in sql.upper() and "envelope" not in sql
    got = [(r[:-1], unpack_cache(r[-1])) for r in
           db.execute("SELECT %s, cache FROM messages WHERE uid <= ? ORDER BY folder_id, uid"
                      % BASE_COLS, (len(rows),))]
    assert got == rows
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'messages'")}
    assert {"messages_blob", "messages_modseq", "msg_ins", "msg_del", "msg_flags"} <= names
    # the old table's pages were given back
    assert db.execute("PRAGMA freelist_count").fetchone()[0] < 4
    db.close()
    assert folders(o, "alice@example.test")["INBOX"][0] == len(rows) + 1
    assert "consistent" in o.run("store", "check", "alice@example.test").stdout


def test_index_v2_is_migrated(ombu_ready):
    """An index written before version 3 (messages WITHOUT ROWID) is
    rebuilt as a rowid table on first open, with every message, its
    flags, UIDs and cache, its triggers (counters) and indexes."""
    o = ombu_ready
    for i in range(20):
        o.run("deliver", "--rcpt", "alice@example.test", input=MSG.replace(b"hello", b"m%d" % i))
    before = o.run("export", "alice@example.test", binary=True).stdout
    idx = os.path.join(o.data, "store", "example.test", "alice", "index.sqlite")
    rows = make_old_index(idx, 2)
    db = sqlite3.connect(idx)
    assert "WITHOUT ROWID" in db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'messages'").fetchone()[0].upper()
    db.close()
    assert o.run("export", "alice@example.test", binary=True).stdout == before
    check_migrated(o, idx, rows)


def test_index_v3_cache_is_compressed(ombu_ready):
    """An index of version 3 (the IMAP cache in four text columns) gets
    the cache compressed into one column on first open, every message
    with the same cache, and the space the old columns took is given
    back."""
    o = ombu_ready
    body = b"".join(b"line %d of a message that the cache does not hold\n" % i for i in range(50))
    for i in range(30):
        msg = (b"From: Someone <a%d@example.org>\nTo: alice@example.test\nSubject: number %d\n"
               b"Message-ID: <%d@example.org>\nDate: Mon, 2 Nov 2026 10:00:00 +0000\n" % (i, i, i)
               + b"References:" + b"".join(b" <thread-%d@example.org>\n" % k for k in range(60)) + b"\n" + body)
        o.run("deliver", "--rcpt", "alice@example.test", input=msg)
    before = o.run("export", "alice@example.test", binary=True).stdout
    idx = os.path.join(o.data, "store", "example.test", "alice", "index.sqlite")
    v4_size = os.path.getsize(idx)
    rows = make_old_index(idx, 3)
    db = sqlite3.connect(idx)
    db.execute("VACUUM")
    db.close()
    v3_size = os.path.getsize(idx)
    assert o.run("export", "alice@example.test", binary=True).stdout == before
    check_migrated(o, idx, rows)
    assert os.path.getsize(idx) < v3_size
    assert os.path.getsize(idx) <= v4_size + 4096


def test_gc_recompresses_packs_once(ombu_ready):
    """store gc recompresses packed bodies with the dictionary trained
    meanwhile and at store.gc_compression_level, once: every body stays
    byte-exact, every row remembers its level, a second gc changes
    nothing."""
    o = ombu_ready
    sets = ["store.dict_after=100"]
    msgs = []
    for i in range(160):
        msg = (b"From: Sender %d <s%d@example.org>\nTo: alice@example.test\nSubject: report %d\n"
               b"Message-ID: <%d.gc@example.org>\n\n" % (i, i % 7, i, i)
               + b"".join(b"row %d of report %d: value %d\n" % (k, i, k * i) for k in range(40)))
        msgs.append(msg)
    o.run("import", "alice@example.test", input=to_mboxrd(msgs), sets=sets)
    before = o.run("export", "alice@example.test", binary=True).stdout
    assert split_mboxrd(before) == [crlf(m) for m in msgs]
    blobs = os.path.join(o.data, "store", "blobs")

    def packed():
        rows = {}
        for n in range(16):
            db = sqlite3.connect(os.path.join(blobs, "pack-%x.sqlite" % n))
            rows.update({r[0]: (r[1], r[2]) for r in db.execute("SELECT id, data, level FROM blobs")})
            db.close()
        return rows

    first = packed()
    assert len(first) == 160 and {lv for _, lv in first.values()} == {3}
    o.run("store", "gc", sets=sets)
    second = packed()
    assert {lv for _, lv in second.values()} == {15}
    assert sum(len(d) for d, _ in second.values()) < sum(len(d) for d, _ in first.values())
    assert o.run("export", "alice@example.test", binary=True).stdout == before
    o.run("store", "gc", sets=sets)
    assert packed() == second
    assert "consistent" in o.run("store", "check", "alice@example.test").stdout


def test_pack_from_before_levels_is_upgraded(ombu_ready):
    """A pack written before bodies remembered their zstd level gets the
    column on open (0: unknown), and store gc then recompresses those
    bodies once like any other, byte-exact."""
    o = ombu_ready
    for i in range(5):
        o.run("deliver", "--rcpt", "alice@example.test", input=MSG.replace(b"hello", b"old %d" % i))
    before = o.run("export", "alice@example.test", binary=True).stdout
    blobs = os.path.join(o.data, "store", "blobs")
    for n in range(16):
        db = sqlite3.connect(os.path.join(blobs, "pack-%x.sqlite" % n))
        db.execute("ALTER TABLE blobs DROP COLUMN level")
        db.commit()
        db.close()
    o.run("deliver", "--rcpt", "alice@example.test", input=MSG.replace(b"hello", b"new"))
    levels = []
    for n in range(16):
        db = sqlite3.connect(os.path.join(blobs, "pack-%x.sqlite" % n))
        levels += [r[0] for r in db.execute("SELECT level FROM blobs")]
        db.close()
    assert sorted(levels) == [0] * 5 + [3]
    o.run("store", "gc")
    levels = []
    for n in range(16):
        db = sqlite3.connect(os.path.join(blobs, "pack-%x.sqlite" % n))
        levels += [r[0] for r in db.execute("SELECT level FROM blobs")]
        db.close()
    assert levels == [15] * 6
    assert split_mboxrd(o.run("export", "alice@example.test", binary=True).stdout)[:5] == split_mboxrd(before)
    assert "consistent" in o.run("store", "check", "alice@example.test").stdout
