#!/usr/bin/python3
"""The transfer benchmark (bench/run xfr): dnsd as primary against Knot as primary, each
serving the same zone (Knot's is dnsd's AXFR written to a zone file), to a Knot secondary.
Everything on 127.0.0.1, on free high ports; the primary pinned to CPU 0, the secondary and
the clients to CPU 1. Per size (gen.py's data set), per round, per primary (alternating):

  full     a fresh Knot secondary transfers the whole zone: the time and bytes its log gives
           (`AXFR, incoming, ..., finished, S seconds, M messages, B bytes`) and the time from
           its start until it answers the primary's serial;
  raw      the whole zone read by a client that only counts messages and bytes (no parsing):
           what the primary alone streams;
then once per primary, with its secondary current:
  ixfr     1,000 keys rotated: for dnsd `dnsdctl key rotate --all --over 0` then
           `dnsdctl maintain --max-keys 1000` (1,000 new keys published in one batch); for
           Knot the same 2,000 record changes (read from dnsd's IXFR) in one `knotc`
           transaction. From the commit (dnsd: the store's serial moves, polled every
           millisecond; Knot: before `zone-commit`) until the primary serves the new serial and
           until the secondary does; the IXFR's bytes and time from the secondary's log;
  load     dnsperf (pinned to CPU 1, as bench.py) against the primary with one worker: at the
           fixed rate FIXED_QPS with latencies, and saturated, each without and then with
           AXFRs read back to back (the raw client, at nice 19 on CPU 1) during the run.

Environment: SIZES (default "1000000"), ROUNDS (default 2), BENCH_SECONDS (default 10),
FIXED_QPS (default 30000), STEPS (default "full ixfr load"; ixfr needs full), XFR_KEYS (keys
rotated for the IXFR, default 1000), BENCH_WORK, BENCH_OUT (default bench/results; files xfr-DATE.json
and .md). Develop with SIZES=10000 ROUNDS=1 BENCH_SECONDS=3.
"""
import base64, json, os, re, shutil, signal, socket, sqlite3, struct, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import servers  # noqa: E402
import bench  # noqa: E402  (dnsperf and its parsing)

SIZES = [int(x) for x in os.environ.get("SIZES", "1000000").split()]
ROUNDS = int(os.environ.get("ROUNDS", "2"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
FIXED_QPS = int(os.environ.get("FIXED_QPS", "30000"))
STEPS = os.environ.get("STEPS", "full ixfr load").split()
KEYS = int(os.environ.get("XFR_KEYS", "1000"))  # keys rotated for the IXFR
ZONE = servers.ZONE
KEYNAME = "bench-key"
SECRET = base64.b64encode(os.urandom(32)).decode()
RUNNING = set()


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def wait(pred, timeout, step=0.001):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


# ---------------------------------------------------------------- small DNS clients

def soa_serial(port):
    """The serial the server answers over UDP (AA set), or None."""
    q = bytearray(struct.pack("!HHHHHH", 0x5151, 0, 1, 0, 0, 0))
    for l in ZONE.split("."):
        q += bytes([len(l)]) + l.encode()
    q += b"\0" + struct.pack("!HH", 6, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.sendto(bytes(q), ("127.0.0.1", port))
        a = s.recv(4096)
    except OSError:
        return None
    finally:
        s.close()
    if len(a) < 12 or a[3] & 0xF or not a[2] & 0x04 or struct.unpack("!H", a[6:8])[0] < 1:
        return None
    # the answer's SOA: after the question (echoed, uncompressed) and the answer's owner (a pointer)
    p = len(q)
    if a[p] & 0xC0 != 0xC0:
        return None
    p += 2 + 10  # pointer, type, class, ttl, rdlength
    for _ in range(2):  # mname, rname
        while a[p]:
            if a[p] & 0xC0 == 0xC0:
                p += 1
                break
            p += a[p] + 1
        p += 1
    return struct.unpack("!I", a[p:p + 4])[0]


def axfr_raw(port):
    """Reads the whole zone by AXFR over TCP, signed with the bench key, counting messages, records
    and bytes (no parsing past the header). Returns (seconds, messages, records, bytes)."""
    import dns.message, dns.rdatatype, dns.tsig, dns.flags
    q = dns.message.make_query(ZONE + ".", dns.rdatatype.AXFR, use_edns=False)
    q.flags &= ~dns.flags.RD
    q.use_tsig(dns.tsig.Key(KEYNAME, SECRET, dns.tsig.HMAC_SHA256))
    w = q.to_wire()
    s = socket.create_connection(("127.0.0.1", port), timeout=300)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    t0 = time.monotonic()
    s.sendall(struct.pack("!H", len(w)) + w)
    msgs = rrs = total = 0
    f = s.makefile("rb", buffering=1 << 20)
    while True:
        h = f.read(2)
        if len(h) < 2:
            raise RuntimeError("AXFR: connection closed before the final SOA")
        n = struct.unpack("!H", h)[0]
        m = f.read(n)
        if len(m) < n:
            raise RuntimeError("AXFR: connection closed inside a message")
        msgs += 1
        total += 2 + n
        if m[3] & 0xF:
            raise RuntimeError(f"AXFR: rcode {m[3] & 0xF}")
        an = struct.unpack("!H", m[6:8])[0]
        rrs += an
        # the end: the closing SOA is the last record of the last message (the first message
        # opens with the SOA, and may close with it too)
        if an and (an > 1 or msgs > 1) and last_is_soa(m):
            break
    t = time.monotonic() - t0
    s.close()
    return t, msgs, rrs, total


def last_is_soa(m):
    """1 if the message's last answer record (before any TSIG) is an SOA: walks the records."""
    qd, an, ns, ar = struct.unpack("!HHHH", m[4:12])
    p = 12
    for _ in range(qd):
        p = skip_name(m, p) + 4
    last = None
    for _ in range(an):
        p = skip_name(m, p)
        last = struct.unpack("!H", m[p:p + 2])[0]
        p += 10 + struct.unpack("!H", m[p + 8:p + 10])[0]
    return last == 6


def skip_name(m, p):
    while True:
        c = m[p]
        if c == 0:
            return p + 1
        if c & 0xC0 == 0xC0:
            return p + 2
        p += c + 1


# ---------------------------------------------------------------- the servers

class Proc:
    """A server process of the benchmark, started in a session of its own."""

    def __init__(self, name, work):
        self.name, self.work = name, work
        os.makedirs(work, exist_ok=True)
        self.proc = None
        self.port = servers.free_port()

    def run(self, argv, cpus):
        self.out = open(os.path.join(self.work, "out"), "a")
        self.proc = subprocess.Popen(["taskset", "-c", cpus] + argv, stdout=self.out, stderr=subprocess.STDOUT,
                                     cwd=self.work, start_new_session=True)
        RUNNING.add(self)

    def pids(self):
        return servers.proc_tree(self.proc.pid) if self.proc else []

    def stop(self):
        if not self.proc:
            return
        tree = self.pids()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        for p in tree:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.proc = None
        self.out.close()
        RUNNING.discard(self)


def knot_conf(work, port, zone_lines, extra=""):
    return f"""server:
    rundir: "{work}"
    pidfile: "{work}/knot.pid"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: "{work}/log"
    any: info
database:
    storage: "{work}/db"
key:
  - id: {KEYNAME}
    algorithm: hmac-sha256
    secret: {SECRET}
{extra}zone:
  - domain: {ZONE}
    storage: "{work}"
    zonefile-sync: -1
{zone_lines}"""


class Secondary(Proc):
    """A Knot secondary of the primary on port pport (fresh state), on CPU 1."""

    def start(self, pport):
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(os.path.join(self.work, "db"))
        conf = os.path.join(self.work, "knot.conf")
        open(conf, "w").write(knot_conf(self.work, self.port, f"""    file: "{self.work}/zone"
    master: primary
    acl: notify
    journal-content: none
""", f"""remote:
  - id: primary
    address: 127.0.0.1@{pport}
    key: {KEYNAME}
acl:
  - id: notify
    address: 127.0.0.1
    key: {KEYNAME}
    action: notify
"""))
        t0 = time.monotonic()
        self.run(["knotd", "-c", conf], "1")
        return t0

    def updated_line(self, n):
        """Seconds of the n-th 'refresh, ..., zone updated, S seconds' line of its log (the whole
        refresh: SOA query, transfer, applying it), or None."""
        try:
            lines = [l for l in open(os.path.join(self.work, "log")) if "zone updated" in l]
        except OSError:
            return None
        m = re.search(r"zone updated, ([\d.]+) seconds", lines[n - 1]) if len(lines) >= n else None
        return float(m.group(1)) if m else None

    def xfr_line(self, kind, n=1):
        """The n-th 'KIND, incoming, ... finished' line of its log: (seconds, messages, bytes), or None."""
        try:
            lines = [l for l in open(os.path.join(self.work, "log"))
                     if f"{kind}, incoming" in l and "finished" in l]
        except OSError:
            return None
        if len(lines) < n:
            return None
        m = re.search(r"finished, ([\d.]+) seconds, (\d+) messages, (\d+) bytes", lines[n - 1])
        return (float(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


class DnsdPrimary(Proc):
    def __init__(self, work, data, notify_port):
        super().__init__("dnsd", work)
        self.db = os.path.join(work, "store.db")
        for f in ("store.db", "store.db-wal", "store.db-shm"):
            if os.path.exists(os.path.join(work, f)):
                os.unlink(os.path.join(work, f))
        shutil.copyfile(os.path.join(data, "store", "store.db"), self.db)
        self.keys = os.path.join(work, "keys")
        shutil.copytree(os.path.join(data, "store", "keys"), self.keys, dirs_exist_ok=True)
        self.tsig = os.path.join(work, "tsig.keys")
        with open(self.tsig, "w") as f:
            f.write(f"{KEYNAME} hmac-sha256 {SECRET}\n")
        os.chmod(self.tsig, 0o600)
        self.notify_port = notify_port

    def start(self):
        ready = os.path.join(self.work, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        self.run([servers.DNSD, "--db", self.db, "--zone", os.path.join(ROOT, "zones", "demo.zone"),
                  "--listen", f"127.0.0.1:{self.port}", "--threads", "1", "--max-udp", "1232", "--rrl-rate", "0",
                  "--ready-file", ready, "--log-level", "info", "--tsig-keys", self.tsig,
                  "--allow-transfer", f"127.0.0.1 key {KEYNAME}",
                  "--notify", f"127.0.0.1:{self.notify_port} key {KEYNAME}"], "0")
        if not wait(lambda: os.path.exists(ready) and os.path.getsize(ready) > 0 or self.proc.poll() is not None,
                    600, 0.05) or self.proc.poll() is not None:
            raise RuntimeError("dnsd did not start: " + open(os.path.join(self.work, "out")).read()[-2000:])

    def ctl(self, *args, **kw):
        return subprocess.run([servers.DNSDCTL, "--db", self.db, "--keys", self.keys, "--zone-file",
                               os.path.join(ROOT, "zones", "demo.zone"), "--export-dir", ""] + list(args),
                              check=True, capture_output=True, text=True, **kw)


class KnotPrimary(Proc):
    def __init__(self, work, zonefile, notify_port):
        super().__init__("knot", work)
        self.zonefile = zonefile
        self.notify_port = notify_port

    def start(self):
        shutil.rmtree(os.path.join(self.work, "db"), ignore_errors=True)
        for f in os.listdir(self.work):
            if f.startswith("journal") or f == "timers":
                shutil.rmtree(os.path.join(self.work, f), ignore_errors=True)
        os.makedirs(os.path.join(self.work, "db"), exist_ok=True)
        conf = os.path.join(self.work, "knot.conf")
        open(conf, "w").write(knot_conf(self.work, self.port, f"""    file: "{self.zonefile}"
    zonefile-load: whole
    journal-content: changes
    journal-max-usage: 2G
    notify: secondary
    acl: transfer
""", f"""remote:
  - id: secondary
    address: 127.0.0.1@{self.notify_port}
    key: {KEYNAME}
acl:
  - id: transfer
    address: 127.0.0.1
    key: {KEYNAME}
    action: transfer
"""))
        self.run(["knotd", "-c", conf], "0")
        self.sock = os.path.join(self.work, "knot.sock")

    def knotc(self, *args):
        return subprocess.run(["knotc", "-s", self.sock, "-t", "600"] + list(args), check=True, capture_output=True,
                              text=True)


# ---------------------------------------------------------------- the measurements

def full_transfer(prim, sec, serial):
    """A fresh secondary of prim: the AXFR its log reports and the time until it serves serial."""
    t0 = sec.start(prim.port)
    ok = wait(lambda: soa_serial(sec.port) == serial, 1800, 0.01)
    t = time.monotonic() - t0
    line = wait(lambda: sec.xfr_line("AXFR"), 10, 0.05)
    if not ok or not line:
        raise RuntimeError(f"{sec.name}: no full transfer from {prim.name}: "
                           + open(os.path.join(sec.work, "log")).read()[-1500:])
    return {"log_s": line[0], "messages": line[1], "bytes": line[2], "start_to_serving_s": t}


def poll_serial_change(port, old, timeout):
    """The time (monotonic) when the server first answers a serial other than old, or None."""
    ok = wait(lambda: (lambda s: s is not None and s != old)(soa_serial(port)), timeout, 0.0005)
    return time.monotonic() if ok else None


def ixfr_dnsd(prim, sec):
    """1,000 keys rotated in one maintain batch; times from the store's commit."""
    old = soa_serial(prim.port)
    prim.ctl("key", "rotate", "--all", "--over", "0")
    t_gen0 = time.monotonic()
    box = {}
    stop = threading.Event()

    def watch():  # the commit: the store's serial moves (each SELECT reads the latest commit)
        c = sqlite3.connect(f"file:{prim.db}?mode=ro", uri=True, timeout=5, isolation_level=None)
        s0 = c.execute("SELECT value FROM serial").fetchone()[0]
        while not stop.is_set():
            if c.execute("SELECT value FROM serial").fetchone()[0] != s0:
                box["commit"] = time.monotonic()
                break
            time.sleep(0.001)
        c.close()
    th = threading.Thread(target=watch)
    th.start()
    before = sec_count(sec, "IXFR")
    upd = sec_updates(sec)
    r = prim.ctl("maintain", "--max-keys", str(KEYS), env=dict(os.environ, DNSD_NOW=str(int(time.time()) + 1)))
    t_exit = time.monotonic()
    stop.set()
    th.join()
    tc = box.get("commit")
    if tc is None:
        raise RuntimeError("maintain did not move the serial: " + r.stdout[-500:])
    tp = poll_serial_change(prim.port, old, 60)
    ts = poll_serial_change(sec.port, old, 600)
    line = wait(lambda: sec.xfr_line("IXFR", before + 1), 10, 0.05)
    applied = wait(lambda: sec.updated_line(upd + 1), 10, 0.05)
    new = soa_serial(prim.port)
    published = int(re.search(r"(\d+) published", r.stdout).group(1)) if re.search(r"(\d+) published", r.stdout) else None
    return {"published": published, "keygen_and_commit_s": tc - t_gen0, "maintain_exit_after_commit_s": t_exit - tc,
            "commit_to_primary_s": tp - tc if tp else None, "commit_to_secondary_s": ts - tc if ts else None,
            "ixfr_log_s": line[0] if line else None, "ixfr_messages": line[1] if line else None,
            "ixfr_bytes": line[2] if line else None, "secondary_refresh_s": applied, "old": old, "new": new}


def sec_updates(sec):
    try:
        return len([l for l in open(os.path.join(sec.work, "log")) if "zone updated" in l])
    except OSError:
        return 0


def sec_count(sec, kind):
    try:
        return len([l for l in open(os.path.join(sec.work, "log")) if f"{kind}, incoming" in l and "finished" in l])
    except OSError:
        return 0


def ixfr_diff(port, old):
    """The differences from serial old to the current one, from the primary's IXFR (dnspython):
    (deleted, added) as lists of (owner, ttl, type, rdata presentation)."""
    import dns.query, dns.rdatatype, dns.tsig, dns.zone, dns.message, dns.flags, dns.rrset, dns.name
    q = dns.message.make_query(ZONE + ".", dns.rdatatype.IXFR, use_edns=False)
    q.flags &= ~dns.flags.RD
    q.authority.append(dns.rrset.from_text(ZONE + ".", 0, "IN", "SOA", f". . {old} 0 0 0 0"))
    key = dns.tsig.Key(KEYNAME, SECRET, dns.tsig.HMAC_SHA256)
    q.use_tsig(key)
    rrs = []
    for m in dns.query.xfr("127.0.0.1", ZONE + ".", rdtype=dns.rdatatype.IXFR, serial=old, port=port,
                           keyring={dns.name.from_text(KEYNAME): key}, keyname=KEYNAME, relativize=False,
                           keyalgorithm=dns.tsig.HMAC_SHA256):
        for rrset in m.answer:
            for rd in rrset:
                rrs.append((rrset.name.to_text(), rrset.ttl, dns.rdatatype.to_text(rrset.rdtype), rd.to_text()))
    # SOA(new) [SOA(old) deletions SOA(new) additions]... SOA(new)
    dels, adds, mode = [], [], None
    for r in rrs[1:-1]:
        if r[2] == "SOA":
            mode = "del" if mode != "del" else "add"
            continue
        (dels if mode == "del" else adds).append(r)
    return dels, adds


def ixfr_knot(prim, sec, dels, adds):
    """The same changes in one knotc transaction; times from before zone-commit."""
    old = soa_serial(prim.port)
    before = sec_count(sec, "IXFR")
    upd = sec_updates(sec)
    prim.knotc("zone-begin", ZONE)
    for o, ttl, t, rd in dels:
        prim.knotc("zone-unset", ZONE, o, t, rd)
    for o, ttl, t, rd in adds:
        prim.knotc("zone-set", ZONE, o, str(ttl), t, rd)
    tc = time.monotonic()
    prim.knotc("zone-commit", ZONE)
    t_ret = time.monotonic()
    tp = poll_serial_change(prim.port, old, 60)
    ts = poll_serial_change(sec.port, old, 600)
    line = wait(lambda: sec.xfr_line("IXFR", before + 1), 10, 0.05)
    applied = wait(lambda: sec.updated_line(upd + 1), 10, 0.05)
    return {"changes": len(dels) + len(adds), "commit_call_s": t_ret - tc, "secondary_refresh_s": applied,
            "commit_to_primary_s": tp - tc if tp else None, "commit_to_secondary_s": ts - tc if ts else None,
            "ixfr_log_s": line[0] if line else None, "ixfr_messages": line[1] if line else None,
            "ixfr_bytes": line[2] if line else None}


def load(prim, d, work):
    """dnsperf against the primary, without and with AXFRs read back to back meanwhile."""
    out = {}
    qf = os.path.join(d, "q-uniform.txt")
    for with_axfr in (False, True):
        done = []
        tag = "axfr" if with_axfr else "idle"
        for mode in ("fixed", "sat"):
            done.clear()
            child = None
            if with_axfr:  # one process reading AXFRs back to back, at nice 19 on CPU 1
                child = subprocess.Popen(["taskset", "-c", "1", "nice", "-n", "19", sys.executable, __file__,
                                          "--axfr-loop", str(prim.port), SECRET, str(SECONDS + 30)],
                                         stdout=subprocess.PIPE, text=True)
                time.sleep(1.0)  # its start (Python, dnspython) before dnsperf's
            vf = os.path.join(work, "dnsperf.out")
            r = bench.dnsperf(prim.port, qf, SECONDS, qps=FIXED_QPS if mode == "fixed" else None,
                              verbose=vf if mode == "fixed" else None)
            if child:
                child.send_signal(signal.SIGTERM)
                out_, _ = child.communicate()
                done[:] = json.loads(out_.strip().splitlines()[-1])
            m = {"qps": r["qps_answered"], "lost": r["lost"], "axfrs_meanwhile": len(done)}
            if mode == "fixed":
                m.update({p: r.get(p, 0) * 1000 for p in ("p50", "p99", "p99.9")})
                os.unlink(vf)
            out[f"{mode}_{tag}"] = m
    return out


def dump_zone(port, path):
    """dnsd's zone by AXFR (kdig) as a zone file for Knot: records only, the closing SOA left out."""
    r = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "-y", f"hmac-sha256:{KEYNAME}:{SECRET}", "+nocomments",
                        "+nostats", "+noquestion", ZONE, "AXFR"], capture_output=True, text=True, check=True)
    lines = [l for l in r.stdout.splitlines() if l and not l.startswith(";") and "\tTSIG\t" not in l
             and " TSIG " not in l]
    soas = [i for i, l in enumerate(lines) if re.search(r"\sSOA\s", l)]
    if len(soas) != 2 or soas[0] != 0 or soas[1] != len(lines) - 1:
        raise RuntimeError(f"the AXFR dump does not start and end with the SOA ({len(soas)} SOAs)")
    with open(path, "w") as f:
        f.write("\n".join(lines[:-1]) + "\n")
    return len(lines) - 1


# ---------------------------------------------------------------- the report

def fmt_s(x):
    return "-" if x is None else (f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s")


def med(v):
    v = sorted(x for x in v if isinstance(x, (int, float)))
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2 if v else None


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def render(r):
    out = [f"# dnsd transfer benchmark {r['date']}", "",
           f"Machine: {r['machine']['nproc']} CPUs ({r['machine']['cpu']}), kernel {r['machine']['kernel']}. "
           f"Rounds {r['env']['ROUNDS']} (medians; primaries alternate), dnsperf runs of {r['env']['BENCH_SECONDS']:g} s. "
           "Primary pinned to CPU 0 (dnsd `--threads 1`, Knot 1 UDP/TCP/background worker), the Knot secondary "
           "and the clients on CPU 1; TSIG (hmac-sha256) on every transfer. Ratios are dnsd over Knot "
           "(for times and bytes lower is better).", ""]
    for size, e in r["sizes"].items():
        D, K = e["dnsd"], e["knot"]

        def m(side, k):
            return med([x[k] for x in side["full"]])

        def mr(side, k):
            return med([x[k] for x in side["raw"]])
        out += [f"## {int(size):,} domains ({e['records']:,} records)", "",
                "| | dnsd | Knot | dnsd/Knot |", "|---|---|---|---|"]
        rows = [] if not D["full"] else [("full transfer to a Knot secondary (its log)", fmt_s(m(D, "log_s")), fmt_s(m(K, "log_s")),
                 ratio(m(D, "log_s"), m(K, "log_s"))),
                ("secondary start until it serves the serial", fmt_s(m(D, "start_to_serving_s")),
                 fmt_s(m(K, "start_to_serving_s")), ratio(m(D, "start_to_serving_s"), m(K, "start_to_serving_s"))),
                ("bytes of the full transfer", f"{m(D, 'bytes'):,.0f}", f"{m(K, 'bytes'):,.0f}",
                 ratio(m(D, "bytes"), m(K, "bytes"))),
                ("messages of the full transfer", f"{m(D, 'messages'):,.0f}", f"{m(K, 'messages'):,.0f}",
                 ratio(m(D, "messages"), m(K, "messages"))),
                ("full transfer read raw (no parsing)", fmt_s(mr(D, "s")), fmt_s(mr(K, "s")), ratio(mr(D, "s"), mr(K, "s"))),
                ("raw: MB/s", f"{mr(D, 'bytes') / mr(D, 's') / 1e6:.0f}", f"{mr(K, 'bytes') / mr(K, 's') / 1e6:.0f}",
                 ratio(mr(K, 's'), mr(D, 's')) + " (inverse: speed)")]
        dx, kx = D.get("ixfr") or {}, K.get("ixfr") or {}
        rows += [] if not dx else [(f"IXFR after {dx.get('published') or 0:,} keys rotated: commit until the primary serves it",
                  fmt_s(dx.get("commit_to_primary_s")), fmt_s(kx.get("commit_to_primary_s")),
                  ratio(dx.get("commit_to_primary_s"), kx.get("commit_to_primary_s"))),
                 ("... commit until the secondary serves it (end to end)", fmt_s(dx.get("commit_to_secondary_s")),
                  fmt_s(kx.get("commit_to_secondary_s")),
                  ratio(dx.get("commit_to_secondary_s"), kx.get("commit_to_secondary_s"))),
                 ("... the IXFR (secondary's log)", fmt_s(dx.get("ixfr_log_s")), fmt_s(kx.get("ixfr_log_s")),
                  ratio(dx.get("ixfr_log_s"), kx.get("ixfr_log_s"))),
                 ("... the secondary's refresh (its log: SOA query, IXFR, applying it)",
                  fmt_s(dx.get("secondary_refresh_s")), fmt_s(kx.get("secondary_refresh_s")),
                  ratio(dx.get("secondary_refresh_s"), kx.get("secondary_refresh_s"))),
                 ("... its bytes", f"{dx.get('ixfr_bytes') or 0:,}", f"{kx.get('ixfr_bytes') or 0:,}",
                  ratio(dx.get("ixfr_bytes"), kx.get("ixfr_bytes")))]
        for k, label in (("fixed", f"at {r['env']['FIXED_QPS']:,} qps"), ("sat", "saturated")) if "load" in D else ():
            for w in ("idle", "axfr"):
                a, b = D["load"][f"{k}_{w}"], K["load"][f"{k}_{w}"]
                what = "alone" if w == "idle" else \
                    f"while serving AXFRs back to back ({a['axfrs_meanwhile']} / {b['axfrs_meanwhile']} finished)"
                rows.append((f"queries {label}, {what}: answered qps", f"{a['qps']:,.0f}", f"{b['qps']:,.0f}",
                             ratio(a["qps"], b["qps"])))
                if k == "fixed":
                    rows.append((f"... p99 latency", f"{a['p99']:.3f} ms", f"{b['p99']:.3f} ms", ratio(a["p99"], b["p99"])))
                rows.append(("... lost", f"{a['lost']:.0f}", f"{b['lost']:.0f}", ""))
        out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows] + [""]
        out += [] if not dx else [f"dnsd's rotation: {dx.get('published')} keys published by one `maintain` "
                f"(key generation and commit {fmt_s(dx.get('keygen_and_commit_s'))}); Knot: the same "
                f"{kx.get('changes')} record changes in one `knotc` transaction (`zone-commit` returned after "
                f"{fmt_s(kx.get('commit_call_s'))}).", ""]
    out += ["Versions: " + "; ".join(f"{k}: `{v}`" for k, v in r["versions"].items()), ""]
    return "\n".join(out)


def stop_all(*_):
    for p in list(RUNNING):
        p.stop()
    sys.exit("xfr bench: interrupted")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--axfr-loop":  # the raw reader, as a child process
        global SECRET
        SECRET = sys.argv[3]
        end = time.monotonic() + float(sys.argv[4])
        done = []
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        while not stop and time.monotonic() < end:
            try:
                done.append(axfr_raw(int(sys.argv[2])))
            except (OSError, RuntimeError):
                if not stop:
                    raise
        print(json.dumps(done))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--render":
        print(render(json.load(open(sys.argv[2]))))
        return
    if len(sys.argv) > 1:
        raise SystemExit("usage: xfr.py (settings by environment: see its docstring) | xfr.py --render FILE.json")
    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    work = os.environ.get("BENCH_WORK") or tempfile.mkdtemp(prefix="dnsd-xfr.")
    outdir = os.environ.get("BENCH_OUT") or os.path.join(HERE, "results")
    os.makedirs(outdir, exist_ok=True)
    os.sched_setaffinity(0, {1})
    bench.CLIENT = work
    stamp = time.strftime("%Y-%m-%d-%H%M%S")
    os.makedirs(os.path.join(work, "bin"), exist_ok=True)
    for b in ("dnsd", "dnsdctl"):
        shutil.copy2(os.path.join(ROOT, "build", b), os.path.join(work, "bin", b))
    servers.DNSD = os.path.join(work, "bin", "dnsd")
    servers.DNSDCTL = os.path.join(work, "bin", "dnsdctl")
    res = {"date": stamp, "machine": bench.machine(), "env": {"SIZES": SIZES, "ROUNDS": ROUNDS,
           "BENCH_SECONDS": SECONDS, "FIXED_QPS": FIXED_QPS},
           "versions": {"dnsd": servers.Dnsd.version(servers.Dnsd.__new__(servers.Dnsd)),
                        "knot": servers.Knot.version(None)}, "sizes": {}}
    try:
        for size in SIZES:
            log(f"== {size} domains: data")
            r = subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(size), "--dnsdctl", servers.DNSDCTL],
                               stdout=subprocess.PIPE, text=True, check=True)
            d = r.stdout.strip().splitlines()[-1]
            sw = os.path.join(work, str(size))
            sec = {"dnsd": Secondary("sec-of-dnsd", os.path.join(sw, "sec-dnsd")),
                   "knot": Secondary("sec-of-knot", os.path.join(sw, "sec-knot"))}
            prim = {"dnsd": DnsdPrimary(os.path.join(sw, "dnsd"), d, sec["dnsd"].port)}
            log(f"{size}: dnsd starts")
            prim["dnsd"].start()
            zf = os.path.join(sw, "knot-zone.txt")
            nrec = dump_zone(prim["dnsd"].port, zf)
            log(f"{size}: dnsd's AXFR dumped for Knot: {nrec:,} records")
            prim["knot"] = KnotPrimary(os.path.join(sw, "knot"), zf, sec["knot"].port)
            prim["knot"].start()
            serial = soa_serial(prim["dnsd"].port)
            if not wait(lambda: soa_serial(prim["knot"].port) == serial, 1800, 0.05):
                raise RuntimeError("Knot did not load dnsd's zone: "
                                   + open(os.path.join(prim["knot"].work, "log")).read()[-1500:])
            e = {"records": nrec, "dnsd": {"full": [], "raw": []}, "knot": {"full": [], "raw": []}}
            for rnd in range(ROUNDS if "full" in STEPS else 0):
                for k in (["dnsd", "knot"] if rnd % 2 == 0 else ["knot", "dnsd"]):
                    log(f"{size} round {rnd + 1}/{ROUNDS}: {k} full transfer")
                    last = rnd == ROUNDS - 1
                    if sec[k].proc:
                        sec[k].stop()
                    f = full_transfer(prim[k], sec[k], serial)
                    log(f"  {f}")
                    e[k]["full"].append(f)
                    raw = axfr_raw(prim[k].port)
                    e[k]["raw"].append({"s": raw[0], "messages": raw[1], "records": raw[2], "bytes": raw[3]})
                    log(f"  raw {raw}")
                    if not last:
                        sec[k].stop()
            if "ixfr" in STEPS and "full" in STEPS:
                log(f"{size}: dnsd IXFR after {KEYS:,} rotated keys")
                e["dnsd"]["ixfr"] = ixfr_dnsd(prim["dnsd"], sec["dnsd"])
                log(f"  {e['dnsd']['ixfr']}")
                dels, adds = ixfr_diff(prim["dnsd"].port, e["dnsd"]["ixfr"]["old"])
                log(f"{size}: Knot IXFR after the same {len(dels)} deletions and {len(adds)} additions")
                e["knot"]["ixfr"] = ixfr_knot(prim["knot"], sec["knot"], dels, adds)
                log(f"  {e['knot']['ixfr']}")
            for k in ("dnsd", "knot"):
                sec[k].stop()
            for k in ("dnsd", "knot") if "load" in STEPS else ():
                log(f"{size}: {k} queries with and without AXFRs")
                e[k]["load"] = load(prim[k], d, work)
                log(f"  {e[k]['load']}")
            for p in prim.values():
                p.stop()
            res["sizes"][str(size)] = e
            json.dump(res, open(os.path.join(outdir, f"xfr-{stamp}.json"), "w"), indent=1)
    finally:
        for p in list(RUNNING):
            p.stop()
        if not os.environ.get("BENCH_WORK"):
            shutil.rmtree(work, ignore_errors=True)
    json.dump(res, open(os.path.join(outdir, f"xfr-{stamp}.json"), "w"), indent=1)
    md = render(res)
    open(os.path.join(outdir, f"xfr-{stamp}.md"), "w").write(md)
    print(md)
    log(f"results: {outdir}/xfr-{stamp}.json and .md")


if __name__ == "__main__":
    main()
