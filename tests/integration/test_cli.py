"""The `ombu` command: init and the directory commands, with their errors."""

import os
import stat
import sqlite3

from conftest import OMBU


def test_init_creates_everything(ombu):
    p = ombu.run("init")
    assert "initialised" in p.stdout
    d = ombu.data
    for name in ("ombu.conf", "directory.sqlite", "store", "queue", "tls/cert.pem", "tls/key.pem", "rules"):
        assert os.path.exists(os.path.join(d, name)), name
    conf = open(os.path.join(d, "ombu.conf")).read()
    for line in ("listen = 127.0.0.1:2525", "listen = 127.0.0.1:2143", "listen = 127.0.0.1:2424",
                 "plaintext_without_tls = yes"):
        assert line in conf
    assert stat.S_IMODE(os.stat(os.path.join(d, "tls/key.pem")).st_mode) == 0o600
    # the key is not readable by others; the database has the three default levels
    db = sqlite3.connect(os.path.join(d, "directory.sqlite"))
    levels = dict((r[0], (r[1], r[2])) for r in db.execute("SELECT name, tag_score, cutoff_score FROM spam_levels"))
    assert levels == {"lenient": (8.0, 25.0), "normal": (5.0, 15.0), "strict": (3.0, 10.0)}
    if os.geteuid() == 0:
        import pwd
        assert os.stat(d).st_uid == pwd.getpwnam("ombu").pw_uid
    # the certificate is for localhost and 127.0.0.1
    import subprocess
    out = subprocess.run(["openssl", "x509", "-in", os.path.join(d, "tls/cert.pem"), "-noout", "-text"],
                         capture_output=True, text=True).stdout
    assert "DNS:localhost" in out and "IP Address:127.0.0.1" in out


def test_init_twice_refused(ombu):
    ombu.init()
    p = ombu.run("init", check=False)
    assert p.returncode == 1
    assert "already exists" in p.stderr


def test_usage_errors_exit_2(ombu):
    ombu.init()
    for args in (["nosuchcommand"], ["domain"], ["domain", "frob"], ["user", "add"],
                 ["user", "add", "a@b", "--bogus"], ["level", "add", "x", "one", "two"],
                 ["user", "passwd", "alice@example.test"]):
        p = ombu.run(*args, check=False)
        assert p.returncode == 2, args
        assert p.stderr.startswith("ombu: "), p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_bad_config_exit_2(ombu):
    ombu.init()
    with open(os.path.join(ombu.data, "ombu.conf"), "a") as f:
        f.write("[mx]\nbogus_key = 1\n")
    p = ombu.run("domain", "list", check=False)
    assert p.returncode == 2
    assert "ombu.conf:" in p.stderr and "unknown key 'bogus_key' in section [mx]" in p.stderr
    p = ombu.run("domain", "list", check=False, sets=["server.threads=many"])
    assert p.returncode == 2


def test_missing_data_dir(ombu):
    p = ombu.run("domain", "list", check=False)
    assert p.returncode == 1
    assert "does not exist" in p.stderr and "init" in p.stderr


def test_domains_users_aliases(ombu):
    ombu.init()
    ombu.run("domain", "add", "Example.TEST")
    ombu.run("domain", "add", "other.test")
    assert ombu.run("domain", "list").stdout.split() == ["example.test", "other.test"]
    p = ombu.run("domain", "add", "example.test", check=False)
    assert p.returncode == 1 and "already exists" in p.stderr

    p = ombu.run("user", "add", "x@example.org", check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == ("ombu: domain example.org is not a local domain; "
                                "add it with 'ombu domain add example.org'")

    ombu.add_user("Alice@Example.test", "pw1", "--quota", "100M", "--level", "strict")
    ombu.add_user("bob@example.test")
    show = ombu.run("user", "show", "alice@example.test").stdout
    assert "quota: 100M" in show and "level: strict" in show and "yescrypt" in show
    assert "none (login disabled)" in ombu.run("user", "show", "bob@example.test").stdout
    listing = ombu.run("user", "list").stdout
    assert "alice@example.test" in listing and "bob@example.test" in listing

    p = ombu.run("user", "add", "carol@example.test", "--quota", "lots", check=False)
    assert p.returncode == 2 and "--quota" in p.stderr
    p = ombu.run("user", "add", "carol@example.test", "--password-stdin", input="\n", check=False)
    assert p.returncode == 2 and "empty" in p.stderr

    ombu.run("user", "set", "bob@example.test", "quota", "1G")
    assert "quota: 1G" in ombu.run("user", "show", "bob@example.test").stdout
    p = ombu.run("user", "set", "bob@example.test", "colour", "red", check=False)
    assert p.returncode == 1 and "unknown setting" in p.stderr
    ombu.run("user", "passwd", "bob@example.test", "--password-stdin", input="newpw\n")
    assert "yescrypt" in ombu.run("user", "show", "bob@example.test").stdout
    # an existing hash made elsewhere can be imported
    import subprocess
    h = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input="imported\n",
                       capture_output=True, text=True).stdout.strip()
    ombu.run("user", "set", "bob@example.test", "password_hash", h)
    p = ombu.run("user", "set", "bob@example.test", "password_hash", "$6$", check=False)
    assert p.returncode == 1

    ombu.run("alias", "add", "team@example.test", "alice@example.test")
    ombu.run("alias", "add", "team@example.test", "friend@remote.example")
    out = ombu.run("alias", "list").stdout
    assert "team@example.test -> alice@example.test" in out
    assert "team@example.test -> friend@remote.example" in out
    ombu.run("alias", "del", "team@example.test", "friend@remote.example")
    assert "friend" not in ombu.run("alias", "list").stdout
    p = ombu.run("alias", "del", "team@example.test", "friend@remote.example", check=False)
    assert p.returncode == 1 and "does not exist" in p.stderr

    p = ombu.run("domain", "del", "example.test", check=False)
    assert p.returncode == 1 and "still has 2 users" in p.stderr
    ombu.run("user", "del", "bob@example.test")
    p = ombu.run("user", "show", "bob@example.test", check=False)
    assert p.returncode == 1 and "does not exist" in p.stderr
    ombu.run("domain", "del", "other.test")


def test_lists_contacts_levels(ombu):
    ombu.init()
    ombu.run("domain", "add", "example.test")
    ombu.add_user("alice@example.test")
    ombu.run("list", "add", "alice@example.test", "black", "@spam.test")
    ombu.run("list", "add", "alice@example.test", "white", "*.friends.test")
    ombu.run("list", "add", "alice@example.test", "white", "pal@x.test")
    out = ombu.run("list", "show", "alice@example.test").stdout.splitlines()
    assert "white *.friends.test" in out and "white pal@x.test" in out and "black @spam.test" in out
    p = ombu.run("list", "add", "alice@example.test", "grey", "@x.test", check=False)
    assert p.returncode == 2
    p = ombu.run("list", "add", "alice@example.test", "black", "nodomain", check=False)
    assert p.returncode == 1 and "pattern" in p.stderr
    ombu.run("list", "del", "alice@example.test", "black", "@spam.test")
    assert "black" not in ombu.run("list", "show", "alice@example.test").stdout

    ombu.run("contact", "add", "alice@example.test", "Bob@Mail.test", "--name", "Bob Builder")
    assert "bob@mail.test\tBob Builder" in ombu.run("contact", "list", "alice@example.test").stdout
    p = ombu.run("contact", "add", "alice@example.test", "bob@mail.test", check=False)
    assert p.returncode == 1 and "already" in p.stderr
    ombu.run("contact", "del", "alice@example.test", "bob@mail.test")
    assert ombu.run("contact", "list", "alice@example.test").stdout == ""

    levels = ombu.run("level", "list").stdout
    for name in ("lenient", "normal", "strict"):
        assert name in levels
    ombu.run("level", "add", "paranoid", "1", "4")
    assert "paranoid" in ombu.run("level", "list").stdout
    p = ombu.run("level", "add", "bad", "9", "4", check=False)
    assert p.returncode == 1 and "below the cutoff" in p.stderr
    ombu.run("user", "set", "alice@example.test", "level", "paranoid")
    assert "level: paranoid (tag 1.0, cutoff 4.0)" in ombu.run("user", "show", "alice@example.test").stdout


def test_help_and_version():
    import subprocess
    p = subprocess.run([OMBU, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "usage: ombu" in p.stdout
    p = subprocess.run([OMBU, "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("ombu ")
    p = subprocess.run([OMBU], capture_output=True, text=True)
    assert p.returncode == 2


def test_configuration_reference_is_current():
    """docs/configuration.md is generated from the schema; a change to a
    key without `scripts/gen-docs` fails here."""
    import subprocess
    from conftest import ROOT
    out = subprocess.run([OMBU, "config-reference"], capture_output=True, text=True).stdout
    with open(os.path.join(ROOT, "docs", "configuration.md")) as f:
        assert f.read() == out, "run scripts/gen-docs"
