"""Peers for the benchmarks, started on 127.0.0.1 in a scratch folder and
stopped by PID: Dovecot 2.3 (LMTP/IMAP/POP3 on Maildir) and Postfix
(virtual delivery into Maildir), plus ombu itself."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OMBU = os.environ.get("OMBU_BIN", os.path.join(ROOT, "build", "ombu"))


def head_commit():
    """The checked-out commit, "-dirty" when the tree has changes: the
    label a benchmark's results carry."""
    try:
        h = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return h + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %d" % port)


def du(path):
    """Bytes allocated on disk (du -s --block-size=1)."""
    out = subprocess.run(["du", "-s", "--block-size=1", path], capture_output=True, text=True).stdout
    return int(out.split()[0])


def apparent(path):
    out = subprocess.run(["du", "-s", "--apparent-size", "--block-size=1", path],
                         capture_output=True, text=True).stdout
    return int(out.split()[0])


def ensure_packages(*pkgs):
    missing = [p for p in pkgs if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq"] + missing, env=env, check=True,
                       stdout=subprocess.DEVNULL)


class Ombu:
    def __init__(self, base, users, extra=()):
        self.base = base
        self.data = os.path.join(base, "ombu")
        os.makedirs(base, exist_ok=True)
        os.chmod(base, 0o755)
        self.run("init")
        self.run("domain", "add", "example.test")
        for u in users:
            self.run("user", "add", u, "--password-stdin", input="pw-" + u.split("@")[0] + "\n")
        self.extra = list(extra)
        self.proc = None
        self.ports = {}

    def run(self, *args, input=None):
        return subprocess.run([OMBU, "--data", self.data] + list(args), input=input, text=True,
                              capture_output=True, check=True)

    def start(self, roles=None, workers=None, extra=None):
        """Starts serve; called again after stop(), the same roles and ports."""
        if roles is None:
            roles, workers, extra = self.last
        workers = workers if workers is not None else 2
        extra = extra if extra is not None else ()
        self.last = (roles, workers, extra)
        if self.ports:
            return self._start_on(roles, workers, extra, dict(self.ports))
        sets = []
        for role in ["mx", "submission", "submissions", "lmtp", "imap", "imaps", "pop3", "pop3s", "web"]:
            if role in roles:
                self.ports[role] = free_port()
                sets.append("%s.listen=127.0.0.1:%d" % (role, self.ports[role]))
            else:
                sets.append("%s.listen=" % role)
        sets.append("server.workers=%d" % workers)
        cmd = [OMBU, "--data", self.data]
        for s in sets + self.extra + list(extra):
            cmd += ["--set", s]
        self.log = open(os.path.join(self.base, "ombu.log"), "a")
        self.proc = subprocess.Popen(cmd + ["serve"], stdout=self.log, stderr=subprocess.STDOUT)
        for r in roles:
            wait_port(self.ports[r])
        return self

    def _start_on(self, roles, workers, extra, ports):
        self.ports = {}
        sets = []
        for role in ["mx", "submission", "submissions", "lmtp", "imap", "imaps", "pop3", "pop3s", "web"]:
            if role in roles:
                self.ports[role] = ports[role]
                sets.append("%s.listen=127.0.0.1:%d" % (role, ports[role]))
            else:
                sets.append("%s.listen=" % role)
        sets.append("server.workers=%d" % workers)
        cmd = [OMBU, "--data", self.data]
        for s in sets + self.extra + list(extra):
            cmd += ["--set", s]
        self.log = open(os.path.join(self.base, "ombu.log"), "a")
        self.proc = subprocess.Popen(cmd + ["serve"], stdout=self.log, stderr=subprocess.STDOUT)
        for r in roles:
            wait_port(self.ports[r])
        return self

    def pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True,
                             text=True).stdout
        return [self.proc.pid] + [int(p) for p in out.split()]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.proc = None

    def store_path(self):
        return os.path.join(self.data, "store")


DOVECOT_CONF = """
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = {protocols}
listen = 127.0.0.1
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
mail_location = maildir:{base}/mail/%d/%n
mail_fsync = {fsync}
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 0
default_internal_user = dovecot
default_login_user = dovenull
auth_cache_size = {auth_cache}
auth_cache_ttl = 5 min
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {base}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/mail/%d/%n
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
  process_min_avail = 2
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
  process_min_avail = 2
}}
service imap {{
  process_limit = 20000
}}
default_process_limit = 20000
default_client_limit = 40000
service anvil {{
  client_limit = 50000
}}
protocol lmtp {{
  postmaster_address = postmaster@example.test
}}
"""


class Dovecot:
    def __init__(self, base, users, protocols="lmtp imap pop3", fsync="optimized", auth_cache="10M"):
        ensure_packages("dovecot-core", "dovecot-lmtpd", "dovecot-imapd", "dovecot-pop3d")
        self.base = os.path.join(base, "dovecot")
        os.makedirs(os.path.join(self.base, "mail"), exist_ok=True)
        os.chmod(base, 0o755)
        import pwd
        pw = pwd.getpwnam("dovecot")
        self.ports = {"lmtp": free_port(), "imap": free_port(), "pop3": free_port()}
        with open(os.path.join(self.base, "users"), "w") as f:
            for u in users:
                h = subprocess.run(["doveadm", "pw", "-s", "SHA512-CRYPT", "-p", "pw-" + u.split("@")[0]],
                                   capture_output=True, text=True).stdout.strip()
                f.write("%s:%s\n" % (u, h))
        subprocess.run(["chown", "-R", "dovecot:dovecot", self.base])
        self.protocols = protocols
        self.conf = os.path.join(self.base, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(base=self.base, protocols=protocols, fsync=fsync,
                                        uid=pw.pw_uid, gid=pw.pw_gid, auth_cache=auth_cache,
                                        **self.ports))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for proto in self.protocols.split():
            wait_port(self.ports[proto])
        return self

    def pids(self):
        out = subprocess.run(["pgrep", "-f", "-d", " ", ""], capture_output=True, text=True).stdout
        # every process whose ancestry leads to the master
        res = [self.proc.pid]
        changed = True
        while changed:
            changed = False
            for pid in list(res):
                kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                                      text=True).stdout.split()
                for k in kids:
                    if int(k) not in res:
                        res.append(int(k))
                        changed = True
        return res

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def store_path(self):
        return os.path.join(self.base, "mail")


def pss_kib(pids):
    """Total proportional set size of the processes (KiB)."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_seconds(pids):
    tck = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tck
        except OSError:
            pass
    return total


def corpus_files():
    base = os.path.join(os.path.dirname(ROOT), "shared", "corpus", "spamassassin")
    files = []
    for sub in ("ham", "spam"):
        d = os.path.join(base, sub)
        files += [os.path.join(d, n) for n in sorted(os.listdir(d))]
    return files


def scratch():
    d = tempfile.mkdtemp(prefix="ombu-bench-", dir="/tmp")
    os.chmod(d, 0o755)
    return d


POSTFIX_MAIN = """
compatibility_level = 3.6
queue_directory = {base}/queue
data_directory = {base}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.example
mydestination =
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = example.test
virtual_mailbox_base = {base}/mail
virtual_mailbox_maps = texthash:{base}/etc/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_mailbox_limit = 0
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_client_connection_rate_limit = 0
smtpd_client_connection_count_limit = 0
default_process_limit = {procs}
maillog_file = {base}/maillog
maillog_file_prefixes = /tmp, /var, /dev/stdout
smtputf8_enable = no
biff = no
"""


class Postfix:
    """A private Postfix instance: smtpd on a port, virtual delivery to
    Maildir (Postfix fsyncs its queue files and the delivered files)."""

    def __init__(self, base, users, procs=200):
        ensure_packages("postfix")
        import pwd
        self.base = os.path.join(base, "postfix")
        etc = os.path.join(self.base, "etc")
        os.makedirs(etc, exist_ok=True)
        for d in ("queue", "data", "mail"):
            os.makedirs(os.path.join(self.base, d), exist_ok=True)
        pw = pwd.getpwnam("postfix")
        self.port = free_port()
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(POSTFIX_MAIN.format(base=self.base, uid=pw.pw_uid, gid=pw.pw_gid, procs=procs))
        master = []
        for line in open("/etc/postfix/master.cf"):
            if line.startswith("smtp      inet"):
                line = "127.0.0.1:%d inet n - n - - smtpd\n" % self.port
            elif line[:1] not in ("#", " ", "\t", "\n") and len(line.split()) >= 5:
                f = line.split()
                f[4] = "n"  # no chroot
                line = " ".join(f) + "\n"
            master.append(line)
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.writelines(master)
        with open(os.path.join(etc, "vmailbox"), "w") as f:
            for u in users:
                f.write("%s %s/%s/\n" % (u, u.split("@")[1], u.split("@")[0]))
        subprocess.run(["chown", "-R", "postfix:postfix", os.path.join(self.base, "mail"),
                        os.path.join(self.base, "data")])
        self.etc = etc

    def start(self):
        # Postfix runs a non-default configuration directory only when the
        # default main.cf lists it: added for the run, removed by stop()
        subprocess.run(["postconf", "-e", "alternate_config_directories = " + self.etc], check=True)
        subprocess.run(["postfix", "-c", self.etc, "create-missing"], capture_output=True)
        self.proc = subprocess.Popen(["postfix", "-c", self.etc, "start-fg"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return self

    def master_pid(self):
        try:
            with open(os.path.join(self.base, "queue", "pid", "master.pid")) as f:
                return int(f.read().strip())
        except OSError:
            return None

    def pids(self):
        res = []
        m = self.master_pid()
        if m is None:
            return res
        res.append(m)
        kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(m)], capture_output=True,
                              text=True).stdout.split()
        return res + [int(k) for k in kids]

    def stop(self):
        m = self.master_pid()
        if m is not None:
            try:
                os.kill(m, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for _ in range(100):
            if m is None or not os.path.exists("/proc/%d" % m):
                break
            time.sleep(0.1)
        subprocess.run(["postconf", "-X", "alternate_config_directories"])

    def mailbox_count(self, user):
        local, dom = user.split("@")
        d = os.path.join(self.base, "mail", dom, local)
        n = 0
        for sub in ("new", "cur"):
            try:
                n += len(os.listdir(os.path.join(d, sub)))
            except OSError:
                pass
        return n
