"""The servers under test: dnsd and the baselines, each started on its own port on 127.0.0.1
with its own config, pid, socket and state paths under a work dir, never a packaged service."""
import os, re, shutil, signal, socket, subprocess, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ZONE = "auth.demo.example"
EDNS = 1232
# bench.py points these at copies made when it starts, so that a rebuild during the run changes nothing
DNSD = os.path.join(ROOT, "build", "dnsd")
DNSDCTL = os.path.join(ROOT, "build", "dnsdctl")
# bench.py compiles bench/nullresp.c into its work dir and points this at it
NULLRESP = os.path.join(HERE, "data", "nullresp")


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


def proc_tree(pid):
    """pid and all its descendants that are alive."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if os.path.exists(f"/proc/{p}"):
            out.append(p)
        todo += kids.get(p, [])
    return out


def cpu_seconds(pids):
    """utime + stime of all threads of these processes (plus children they have reaped)."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / tck


def pss_kib(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


class Server:
    name = "?"
    rrl_supported = True
    answers = True  # a DNS server: its answers are checked, its memory measured, ...

    def __init__(self, datadir, work):
        self.datadir = datadir
        self.work = os.path.join(work, self.name)
        os.makedirs(self.work, exist_ok=True)
        self.proc = None
        self.port = None
        self.log = None

    def cmd(self, workers, rrl):
        raise NotImplementedError

    def start(self, workers=1, cpus="0", rrl=False):
        """Start pinned to cpus (None: unpinned); returns the monotonic start time."""
        self.port = free_port()
        argv = self.cmd(workers, rrl)
        if cpus is not None:
            argv = ["taskset", "-c", cpus] + argv
        self.log = open(os.path.join(self.work, "log"), "a")
        self.log.write(f"\n### {' '.join(argv)}\n")
        self.log.flush()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.work,
                                     start_new_session=True)
        return t0

    def pids(self):
        return proc_tree(self.proc.pid) if self.proc else []

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if not self.proc:
            return
        tree = self.pids()
        try:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            pass
        for p in tree:  # whatever of ours is still there (NSD's children, a hung process)
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None

    def version(self):
        return ""


class Dnsd(Server):
    name = "dnsd"

    def __init__(self, datadir, work, poll_ms=None):
        super().__init__(datadir, work)
        self.db = os.path.join(self.work, "store.db")
        self.poll_ms = poll_ms
        # a copy: dnsd writes its serial into it, and the live change test changes it
        for f in ("store.db-wal", "store.db-shm"):
            if os.path.exists(os.path.join(self.work, f)):
                os.unlink(os.path.join(self.work, f))
        shutil.copyfile(os.path.join(datadir, "store", "store.db"), self.db)

    def cmd(self, workers, rrl):
        ready = os.path.join(self.work, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        a = [DNSD, "--db", self.db, "--zone", os.path.join(ROOT, "zones", "demo.zone"),
             "--listen", f"127.0.0.1:{self.port}", "--threads", str(workers), "--max-udp", str(EDNS),
             "--ready-file", ready, "--log-level", "warning"]
        a += ["--rrl-rate", "100", "--rrl-slip", "2"] if rrl else ["--rrl-rate", "0"]
        if self.poll_ms:
            a += ["--poll", str(self.poll_ms)]
        return a

    def version(self):
        r = subprocess.run([DNSD, "--version"], capture_output=True, text=True)
        git = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                             text=True).stdout.strip()
        return f"{(r.stdout or r.stderr).strip()} (git {git}; built by make: -O2 -g)"


class Nsd(Server):
    name = "nsd"

    def cmd(self, workers, rrl):
        w = self.work
        conf = os.path.join(w, "nsd.conf")
        rrl_lines = ("        rrl-ratelimit: 100\n        rrl-slip: 2\n        rrl-ipv4-prefix-length: 24\n"
                     "        rrl-ipv6-prefix-length: 56\n        rrl-whitelist-ratelimit: 100\n" if rrl
                     else "        rrl-ratelimit: 0\n        rrl-whitelist-ratelimit: 0\n")
        with open(conf, "w") as f:
            f.write(f"""server:
        ip-address: 127.0.0.1@{self.port}
        port: {self.port}
        do-ip6: no
        server-count: {workers}
        reuseport: {"yes" if workers > 1 else "no"}
        username: ""
        chroot: ""
        zonesdir: "{self.datadir}"
        database: ""
        zonelistfile: "{w}/zone.list"
        xfrdfile: "{w}/xfrd.state"
        xfrdir: "{w}"
        pidfile: "{w}/nsd.pid"
        logfile: "{w}/nsd.log"
        verbosity: 0
        minimal-responses: yes
        ipv4-edns-size: {EDNS}
        ipv6-edns-size: {EDNS}
{rrl_lines}remote-control:
        control-enable: no
zone:
        name: "{ZONE}"
        zonefile: "{self.datadir}/zone.txt"
""")
        for f in ("zone.list", "xfrd.state"):
            if os.path.exists(os.path.join(w, f)):
                os.unlink(os.path.join(w, f))
        return ["nsd", "-d", "-c", conf]

    def version(self):
        out = subprocess.run(["nsd", "-v"], capture_output=True, text=True)
        return " ".join(l for l in (out.stdout + out.stderr).splitlines() if l.startswith(("NSD", "Configure")))


class Knot(Server):
    name = "knot"

    def cmd(self, workers, rrl):
        w = self.work
        st = os.path.join(w, "storage")
        shutil.rmtree(st, ignore_errors=True)
        os.makedirs(st)
        conf = os.path.join(w, "knot.conf")
        mod = """mod-rrl:
  - id: bench
    rate-limit: 100
    slip: 2
""" if rrl else ""
        with open(conf, "w") as f:
            f.write(f"""server:
    rundir: "{w}"
    pidfile: "{w}/knot.pid"
    listen: 127.0.0.1@{self.port}
    udp-workers: {workers}
    tcp-workers: {workers}
    background-workers: {workers}
    udp-max-payload: {EDNS}
log:
  - target: stderr
    any: warning
database:
    storage: "{st}"
control:
    listen: "{w}/knot.sock"
{mod}template:
  - id: default
    storage: "{st}"
    zonefile-load: whole
    journal-content: none
    zonefile-sync: -1
{"    global-module: mod-rrl/bench" + chr(10) if rrl else ""}zone:
  - domain: {ZONE}
    file: "{self.datadir}/zone.txt"
""")
        return ["knotd", "-c", conf]

    def version(self):
        out = subprocess.run(["knotd", "-V"], capture_output=True, text=True)
        return " ".join((out.stdout + out.stderr).split())


class Pdns(Server):
    name = "pdns"
    rrl_supported = False  # the authoritative server has no RRL (dnsdist does)
    cache = True

    def cmd(self, workers, rrl):
        w = self.work
        open(os.path.join(w, "pdns.conf"), "w").close()
        a = ["pdns_server", f"--config-dir={w}", "--launch=gsqlite3",
             f"--gsqlite3-database={self.datadir}/pdns.sqlite3", "--local-address=127.0.0.1",
             f"--local-port={self.port}", f"--socket-dir={w}", "--daemon=no", "--guardian=no",
             "--disable-syslog", "--loglevel=3", "--webserver=no", "--api=no",
             f"--receiver-threads={workers}", "--distributor-threads=1", f"--reuseport={'yes' if workers > 1 else 'no'}",
             f"--udp-truncation-threshold={EDNS}", "--query-local-address=127.0.0.1"]
        if not self.cache:
            a += ["--cache-ttl=0", "--query-cache-ttl=0", "--negquery-cache-ttl=0"]
        return a

    def version(self):
        out = subprocess.run(["pdns_server", "--version"], capture_output=True, text=True)
        lines = [re.sub(r"^\w+ \d+ [\d:]+ ", "", l) for l in (out.stdout + out.stderr).splitlines()]
        return " ".join(l for l in lines if "PowerDNS" in l and "WARRANTY" not in l or "Features" in l
                        or "Configured" in l)


class PdnsNoCache(Pdns):
    name = "pdns-nocache"
    cache = False


class Floor(Server):
    """Not a DNS server: bench/nullresp.c sends every query back with QR set (recvmmsg,
    sendmmsg), so its CPU per query is what the kernel's system calls alone cost here."""
    name = "floor"
    rrl_supported = False
    answers = False

    def cmd(self, workers, rrl):
        self.ready_file = os.path.join(self.work, "ready")
        if os.path.exists(self.ready_file):
            os.unlink(self.ready_file)
        return [NULLRESP, str(self.port), self.ready_file]

    def ready(self, t0, timeout=10.0):
        """Seconds from t0 until the ready file exists (created once the socket is bound), or None."""
        while time.monotonic() < t0 + timeout:
            if os.path.exists(self.ready_file):
                return time.monotonic() - t0
            if not self.alive():
                return None
            time.sleep(0.002)
        return None

    def version(self):
        return "nullresp (no DNS work)"


KINDS = {"dnsd": Dnsd, "nsd": Nsd, "knot": Knot, "pdns": Pdns, "pdns-nocache": PdnsNoCache, "floor": Floor}
