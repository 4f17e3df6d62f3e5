"""deliver, export, import, folder list, store check: the store from the
command line."""

import hashlib
import os
import sqlite3

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


def test_index_v2_is_migrated(ombu_ready):
    """An index written before version 3 (messages WITHOUT ROWID) is
    rebuilt as a rowid table on first open, with every message, its
    flags, UIDs and cache, its triggers (counters) and indexes."""
    o = ombu_ready
    for i in range(20):
        o.run("deliver", "--rcpt", "alice@example.test", input=MSG.replace(b"hello", b"m%d" % i))
    before = o.run("export", "alice@example.test", binary=True).stdout
    idx = os.path.join(o.data, "store", "example.test", "alice", "index.sqlite")
    db = sqlite3.connect(idx)
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'messages'").fetchone()[0]
    assert "WITHOUT ROWID" not in sql.upper()
    rows = db.execute("SELECT * FROM messages ORDER BY uid").fetchall()
    # make it look like version 2: the old table shape
    db.executescript("CREATE TABLE m2 AS SELECT * FROM messages; DROP TABLE messages;")
    db.executescript(sql + " WITHOUT ROWID;")
    db.executescript("INSERT INTO messages SELECT * FROM m2; DROP TABLE m2;"
                     "UPDATE meta SET value = 2 WHERE key = 'version';")
    assert "WITHOUT ROWID" in db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'messages'").fetchone()[0].upper()
    db.close()
    assert o.run("export", "alice@example.test", binary=True).stdout == before
    o.run("deliver", "--rcpt", "alice@example.test", input=MSG)
    db = sqlite3.connect(idx)
    assert db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0] == 3
    assert "WITHOUT ROWID" not in db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'messages'").fetchone()[0].upper()
    assert db.execute("SELECT * FROM messages WHERE uid <= 20 ORDER BY uid").fetchall() == rows
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'messages'")}
    assert {"messages_blob", "messages_modseq", "msg_ins", "msg_del", "msg_flags"} <= names
    db.close()
    assert folders(o, "alice@example.test")["INBOX"][0] == 21
    assert "consistent" in o.run("store", "check", "alice@example.test").stdout
