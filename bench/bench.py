#!/usr/bin/python3
"""The benchmark: dnsd against NSD, Knot and PowerDNS (gsqlite3, with and without its packet
cache) on the same data, alternating servers over rounds. Run by bench/run (make bench).

Environment:
  SIZES          data set sizes (default "100000 1000000")
  ROUNDS         rounds of every server (default 3)
  BENCH_SECONDS  length of each dnsperf run (default 10)
  SERVERS        subset of "dnsd nsd knot pdns pdns-nocache floor" (default all); floor is no DNS server but
                 bench/nullresp.c, which sends each query back: the cost of the system calls alone
  FIXED_QPS      the fixed load for CPU time and latency (default 30000)
  FIXED_QPS_HIGH a second fixed load, near what NSD and Knot sustain pinned (default 70000; 0: none)
  QUEUE          dnsperf's outstanding queries when saturating (default 100: more overflow the default socket buffers at the start burst)
  QUEUE_RATE     the same at a fixed rate (default 100)
  SHARED_CLIENTS dnsperf's sockets (-c) in the shared-cores run (default 16, over as many threads as CPUs)
  LIVE           "1": the live change test at the largest size (default 1), "0" skips it
  LIVE_POLLS     dnsd --poll values (ms) for the live change test (default "200 20"; 200 is dnsd's default)
  LIVE_ONLY      "1": only the live change test (at every size in SIZES); LIVE_RATE sets its load
                 (default: 70% of dnsd's pinned saturated qps, measured first)
  LIVE_REPEAT    repetitions of the live tests, each with other names and keys (default 3)
  LIVE_WRITER_CPU the CPU of the live tests' writers (default 0, the server's; they run at nice 19)
  RRL            "1": the round with rate limiting on (default 1)
  BENCH_NICE     niceness of the servers, dnsperf and the checks (default -10), so that other work on a
                 shared machine disturbs the measurements less; 0 leaves it
  BENCH_WORK     work dir (default a temp dir, removed at the end)
  BENCH_OUT      results dir (default bench/results)
  BENCH_DNSD     the dnsd binary to measure (default build/dnsd): an A/B of two builds runs the
                 bench twice, alternating
"""
import json, os, platform, random, re, shutil, signal, statistics, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import dnscheck, servers  # noqa: E402

ALL = ["dnsd", "nsd", "knot", "pdns", "pdns-nocache", "floor"]
# column labels in the tables, where not the name
LABELS = {"floor": "floor (no DNS work)"}
# the reference that does no DNS work: no answers to check, no memory, RRL or live change, no ratio columns
FLOOR = "floor"
SIZES = [int(x) for x in os.environ.get("SIZES", "100000 1000000").split()]
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
SERVERS = os.environ.get("SERVERS", " ".join(ALL)).split()
FIXED_QPS = int(os.environ.get("FIXED_QPS", "30000"))
FIXED_QPS_HIGH = int(os.environ.get("FIXED_QPS_HIGH", "70000"))
QUEUE = int(os.environ.get("QUEUE", "100"))
QUEUE_RATE = int(os.environ.get("QUEUE_RATE", "100"))
LIVE = os.environ.get("LIVE", "1") == "1"
LIVE_POLLS = [int(x) for x in os.environ.get("LIVE_POLLS", "200 20").split()]
RRL = os.environ.get("RRL", "1") == "1"
LIVE_ONLY = os.environ.get("LIVE_ONLY", "0") == "1"
LIVE_RATE = int(os.environ.get("LIVE_RATE", "0"))
LIVE_WRITER_CPU = int(os.environ.get("LIVE_WRITER_CPU", "0"))
LIVE_REPEAT = int(os.environ.get("LIVE_REPEAT", "3"))
# dnsperf's sockets in the shared run. dnsd and Knot spread UDP over their workers by
# SO_REUSEPORT, which picks a worker's socket by the flow's hash: with 2 client sockets both
# landed on one worker in 2 of 3 runs (the other worker idle; 147-152k qps against 207k when
# they split). Resolvers send each query from a random port, so real traffic is many flows.
SHARED_CLIENTS = int(os.environ.get("SHARED_CLIENTS", "16"))
NCPU = os.cpu_count() or 2
# the files dnsperf and the writers make (latencies, CSV): never in a server's own directory,
# where a server watching its files would be woken by every write of the client's (set in main)
CLIENT = None
ALLCPUS = f"0-{NCPU - 1}"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- dnsperf

def dnsperf(port, qfile, seconds, cpus="1", clients=1, threads=1, queue=None, qps=None, verbose=None,
            timeout=None, stats_interval=None):
    """Runs dnsperf and returns its statistics (plus latencies if verbose is a file path). A rate
    limited run (qps) keeps at most QUEUE_RATE queries outstanding: dnsperf starts with a burst
    of that many, and more than a socket buffer holds would be lost at once whatever the server."""
    if queue is None:
        queue = QUEUE_RATE if qps else QUEUE
    argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(seconds), "-c", str(clients),
            "-T", str(threads), "-q", str(queue), "-e"]
    if qps:
        argv += ["-Q", str(qps)]
    if timeout:
        argv += ["-t", str(timeout)]
    if verbose:
        argv += ["-v"]
    if stats_interval:
        argv += ["-S", str(stats_interval)]
    argv = ["taskset", "-c", cpus] + argv
    if verbose:
        with open(verbose, "w") as f:
            r = subprocess.run(argv, stdout=f, stderr=subprocess.PIPE, text=True)
        text = open(verbose).read()
    else:
        r = subprocess.run(argv, capture_output=True, text=True)
        text = r.stdout
    if r.returncode != 0:
        raise RuntimeError(f"dnsperf failed: {r.stderr.strip()[-500:]}")
    return parse_dnsperf(text, verbose is not None)


def parse_dnsperf(text, verbose):
    st = {}
    pats = {"sent": r"Queries sent:\s+(\d+)", "completed": r"Queries completed:\s+(\d+)",
            "lost": r"Queries lost:\s+(\d+)", "runtime": r"Run time \(s\):\s+([\d.]+)",
            "qps": r"Queries per second:\s+([\d.]+)", "lat_avg": r"Average Latency \(s\):\s+([\d.]+)",
            "lat_min": r"Average Latency \(s\):\s+[\d.]+ \(min ([\d.]+)", "lat_max": r"max ([\d.]+)\)",
            "lat_sd": r"Latency StdDev \(s\):\s+([\d.]+)", "resp_size": r"response (\d+)"}
    for k, p in pats.items():
        m = re.search(p, text)
        st[k] = float(m.group(1)) if m else None
    m = re.search(r"Response codes:\s+(.*)", text)
    st["rcodes"] = dict((c, int(n)) for c, n in re.findall(r"(\w+) (\d+) \(", m.group(1))) if m else {}
    if verbose:
        lat, seg, segs = [], [], []
        for l in text.splitlines():  # "> NOERROR name type 0.000123"; "> T name type" is a timeout
            if l.startswith("> ") and not l.startswith("> T "):
                try:
                    x = float(l.rsplit(None, 1)[1])
                    lat.append(x)
                    seg.append(x)
                except ValueError:
                    pass
            else:
                mm = re.match(r"^(\d+\.\d+): [\d.]+$", l)  # -S 1: "epoch: qps" after each second
                if mm:
                    segs.append((float(mm.group(1)), seg))
                    seg = []
        st["segments"] = segs  # [(end time, latencies answered in the second before)]
        lat.sort()
        if lat:
            for p in (50, 90, 99, 99.9):
                st[f"p{p}"] = pct(lat, p)
    st["qps_answered"] = st["completed"] / st["runtime"] if st.get("runtime") else None
    return st


# ---------------------------------------------------------------- measurements

RUNNING = set()


def pct(sorted_values, p):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def start_ready(srv, checker, workers=1, cpus="0", rrl=False):
    """Starts srv and waits until every check name answers right (with rate limiting on, only
    the first: the limit would hold the rest back): returns the seconds."""
    t0 = srv.start(workers=workers, cpus=cpus if cpus else ALLCPUS, rrl=rrl)
    RUNNING.add(srv)
    if not srv.answers:  # the floor: ready once its ready file exists (the socket is bound)
        secs = srv.ready(t0)
        if secs is None:
            tail = open(os.path.join(srv.work, "log")).read()[-1500:]
            srv.stop()
            raise RuntimeError(f"{srv.name} not ready: no ready file\n{tail}")
        return secs
    secs, err = checker.ready(srv.port, t0, srv.alive, only_first=rrl)
    if err:
        tail = open(os.path.join(srv.work, "log")).read()[-1500:]
        srv.stop()
        raise RuntimeError(f"{srv.name} not ready: {err}\n{tail}")
    return secs


def dkim_verify(port, real):
    """Signs a message with each real key and verifies it through the server under test."""
    import dkim
    import dns.message, dns.query
    zone = servers.ZONE
    tokens = {r["domain"]: r["token"] for r in real}

    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        sel, _, rest = n.rstrip(".").partition("._domainkey.")
        q = dns.message.make_query(f"{sel}.{tokens[rest]}.dkim.{zone}.", "TXT", use_edns=0, payload=1232)
        a = dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
        for rrset in a.answer:
            for rd in rrset:
                return b"".join(rd.strings)
        return None
    ok = 0
    for r in real:
        msg = (f"From: a@{r['domain']}\r\nTo: b@example.org\r\nSubject: bench\r\n"
               f"Message-ID: <1@{r['domain']}>\r\n\r\nhello\r\n").encode()
        sig = dkim.sign(msg, r["selector"].encode(), r["domain"].encode(), open(r["pem"], "rb").read(),
                        include_headers=[b"from", b"to", b"subject"])
        if dkim.verify(sig + msg, dnsfunc=dnsfunc):
            ok += 1
    return ok


def measure_pinned(srv, d, checker, real):
    """One worker, server on CPU 0, dnsperf (one thread) on CPU 1. The floor (no answers to
    check) gets the loads only: no ready time, answer checks or memory."""
    m = {}
    ready_s = start_ready(srv, checker)
    try:
        if srv.answers:
            m["ready_s"] = ready_s
            m["check_pass_s"] = checker.pass_seconds(srv.port)
            bad, why = checker.verify(srv.port)
            m["wrong_answers"] = len(bad)
            if bad:
                log(f"  {srv.name}: {len(bad)} wrong answers, e.g. {why[:2]}")
            m["dkim_verified"] = f"{dkim_verify(srv.port, real)}/{len(real)}"
        s0 = servers.cpu_seconds(srv.pids())
        u = dnsperf(srv.port, os.path.join(d, "q-uniform.txt"), SECONDS)
        s1 = servers.cpu_seconds(srv.pids())
        # the share of CPU 0 the server got while saturated: well below 1, other processes
        # (noise) took CPU 0, or the server waited on the client
        m["sat_server_cpu_share"] = (s1 - s0) / u["runtime"]
        # queries per server CPU-second while saturated: the server's capacity where the one
        # dnsperf thread, not the server, is the bottleneck (share well below 1)
        m["sat_qps_per_cpu_s"] = u["completed"] / (s1 - s0) if s1 > s0 else None
        m["sat_pinned_qps"] = u["qps_answered"]
        m["sat_pinned_lost"] = u["lost"]
        m["sat_pinned_lat_avg_ms"] = u["lat_avg"] * 1000 if u["lat_avg"] is not None else None
        z = dnsperf(srv.port, os.path.join(d, "q-zipf.txt"), SECONDS)
        m["sat_pinned_zipf_qps"] = z["qps_answered"]
        m["sat_pinned_zipf_lost"] = z["lost"]
        f, cpu = fixed_load(srv, d, FIXED_QPS)
        m["fixed_qps"] = f["qps_answered"]
        m["fixed_lost"] = f["lost"]
        m["fixed_cpu_s"] = cpu
        m["qps_per_cpu_s"] = f["completed"] / cpu if cpu > 0 else None
        for p in ("p50", "p90", "p99", "p99.9"):
            m[f"fixed_{p}_ms"] = f.get(p, 0) * 1000
        m["fixed_lat_max_ms"] = (f["lat_max"] or 0) * 1000
        if FIXED_QPS_HIGH:
            # the same at a load near what NSD and Knot sustain pinned: where batching can pay
            f, cpu = fixed_load(srv, d, FIXED_QPS_HIGH)
            m["fixed_high_qps"] = f["qps_answered"]
            m["fixed_high_lost"] = f["lost"]
            m["qps_per_cpu_s_high"] = f["completed"] / cpu if cpu > 0 else None
            m["fixed_high_p99_ms"] = f.get("p99", 0) * 1000
        if srv.answers:
            m["pss_mib"] = servers.pss_kib(srv.pids()) / 1024
        m["rcodes"] = u["rcodes"]
        m["resp_size"] = u["resp_size"]
    finally:
        srv.stop()
    return m


def fixed_load(srv, d, qps):
    """dnsperf at a fixed rate on the uniform mix: its statistics (with latencies) and the
    server's CPU seconds meanwhile."""
    vf = os.path.join(CLIENT, "fixed.out")
    c0 = servers.cpu_seconds(srv.pids())
    f = dnsperf(srv.port, os.path.join(d, "q-uniform.txt"), SECONDS, qps=qps, verbose=vf)
    c1 = servers.cpu_seconds(srv.pids())
    os.unlink(vf)
    return f, c1 - c0


def measure_shared(srv, d, checker):
    """Two workers, server and dnsperf (two threads) on both cores, unpinned."""
    m = {}
    start_ready(srv, checker, workers=NCPU, cpus=None)
    try:
        u = dnsperf(srv.port, os.path.join(d, "q-uniform.txt"), SECONDS, cpus=ALLCPUS, clients=SHARED_CLIENTS,
                    threads=NCPU)
        m["sat_shared_qps"] = u["qps_answered"]
        m["sat_shared_lost"] = u["lost"]
    finally:
        srv.stop()
    return m


def measure_rrl(srv, d, checker):
    """Rate limiting on (100 responses/s per /24, slip 2): at the fixed load from one address,
    nearly everything is limited. Reports answers (slipped, truncated ones included) and the
    server's queries per CPU-second."""
    m = {}
    start_ready(srv, checker, rrl=True)  # the ready check itself is rate limited: it retries
    try:
        c0 = servers.cpu_seconds(srv.pids())
        # limited queries time out: enough of them outstanding to keep the rate
        f = dnsperf(srv.port, os.path.join(d, "q-uniform.txt"), SECONDS, qps=FIXED_QPS, timeout=0.5,
                    queue=FIXED_QPS)
        c1 = servers.cpu_seconds(srv.pids())
        m["rrl_sent"] = f["sent"]
        m["rrl_answered"] = f["completed"]
        m["rrl_queries_per_cpu_s"] = f["sent"] / (c1 - c0) if c1 > c0 else None
    finally:
        srv.stop()
    return m


# ---------------------------------------------------------------- the live change test

# the controls: the same polling with no change, to tell what the client side (the poller and
# dnsperf share CPU 1) adds to the latencies; the same SQL write on a copy of the store that dnsd
# does not serve, to tell what the writer itself adds to them
LIVE_TESTS = ("control-poll-no-change", "control-sql-update-unserved-copy", "sql-update-1000-keys",
              "dnsdctl-import-1000-domains")


def writer_nice():
    """The writers of the live test (SQL, dnsdctl) run on LIVE_WRITER_CPU (the server's by default)
    at the lowest priority, as a bulk job on the server's host would. On the client's CPU, even at
    nice 19, their work delayed dnsperf's reading of answers, which showed as server latency."""
    os.setpriority(os.PRIO_PROCESS, 0, 19)
    os.sched_setaffinity(0, {LIVE_WRITER_CPU % NCPU})


SQL_WRITER = r"""
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
rows = [l.rstrip("\n").split("\t") for l in sys.stdin]
db.execute("PRAGMA foreign_keys = ON")
db.execute("BEGIN IMMEDIATE")
db.executemany(
    "UPDATE keys SET public_key = ? WHERE state IN ('published', 'active', 'retired') AND slot_id = "
    "(SELECT s.id FROM slots s JOIN domains d ON d.id = s.domain_id "
    " WHERE d.token = ? AND d.state = 'active' AND s.position = 1)", rows)
db.execute("UPDATE journal SET serial = max((SELECT value FROM serial WHERE id = 1) + 1, unixepoch())"
           " WHERE serial > (SELECT value FROM serial WHERE id = 1)")
db.execute("UPDATE serial SET value = (SELECT max(serial) FROM journal)"
           " WHERE id = 1 AND (SELECT max(serial) FROM journal) > value")
db.execute("COMMIT")
print(time.monotonic())
"""


def sql_update(db, rows):
    """1,000 keys changed in one SQL batch, sealed as docs/schema.md says, by a process of its own
    (writer_nice). Returns the time its COMMIT returned (CLOCK_MONOTONIC, shared by processes)."""
    r = subprocess.run([sys.executable, "-c", SQL_WRITER, db], input="".join(f"{k}\t{t}\n" for k, t in rows),
                       capture_output=True, text=True, check=True, preexec_fn=writer_nice)
    return float(r.stdout.split()[-1])


def live_rep(srv, doms, copy, qf, rate, base, poll_ms, rep):
    """One repetition of the live tests (LIVE_TESTS), each during a dnsperf run of its own."""
    from gen import random_spki
    rng = random.Random(f"live-{len(doms)}-{poll_ms}-{rep}")
    pick = rng.sample(range(len(doms)), 1000)
    newkeys = [random_spki(rng) for _ in pick]
    res = {}
    for test in LIVE_TESTS:
        t_commit = None
        out = os.path.join(CLIENT, "live1.out")
        box = {}
        # three times as long as the run before: a writer at nice 19 beside the loaded server may
        # write for 15 s (dnsdctl import), and the 3 s after its commit must fall inside the run
        th = threading.Thread(target=lambda: box.update(r=dnsperf(srv.port, qf, 3 * SECONDS, qps=rate,
                                                                           verbose=out, stats_interval=1)))
        th.start()
        time.sleep(SECONDS / 3)
        if test.startswith("control"):
            names = [f"dnsd1.{doms[i][1]}.dkim.{servers.ZONE}." for i in pick]
            needles = [b"\0never"] * len(names)
            msgs = dnscheck.queries(names)  # built before the change: not the server's time
            tc0 = time.monotonic()
            if test == "control-sql-update-unserved-copy":
                t_commit = sql_update(copy, [(k, doms[i][1]) for k, i in zip(newkeys, pick)])
        elif test.startswith("sql"):
            names = [f"dnsd1.{doms[i][1]}.dkim.{servers.ZONE}." for i in pick]
            needles = [k[50:90].encode() for k in newkeys]  # past the DER header every RSA-2048 key shares
            msgs = dnscheck.queries(names)  # built before the change: not the server's time
            if dnscheck.matching_now(srv.port, msgs, needles):
                raise SystemExit("bench: the live test's needles match the data before the change")
            tc0 = time.monotonic()
            t_commit = sql_update(srv.db, [(k, doms[i][1]) for k, i in zip(newkeys, pick)])
        else:
            csvp = os.path.join(CLIENT, "new.csv")
            names, needles, rows = [], [], ["domain,public_key,token"]
            taken = {t for _, t in doms}
            for j in range(1000):
                while True:
                    t = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz234567", k=16))
                    if t not in taken:
                        taken.add(t)
                        break
                k = random_spki(rng)
                rows.append(f"new{j}-{poll_ms}-{rep}.live.example,{k},{t}")
                names.append(f"dnsd1.{t}.dkim.{servers.ZONE}.")
                needles.append(k[50:90].encode())
            open(csvp, "w").write("\n".join(rows) + "\n")
            msgs = dnscheck.queries(names)  # built before the change: not the server's time
            tc0 = time.monotonic()
            subprocess.run([servers.DNSDCTL, "--db", srv.db, "import", csvp, "--tenant", "bench"],
                           check=True, stdout=subprocess.DEVNULL, preexec_fn=writer_nice)
        t_commit = t_commit or time.monotonic()
        wall_commit = time.time() - (time.monotonic() - t_commit)
        t_sample, t_all, never = dnscheck.poll_changed(srv.port, names, needles, t_commit, msgs=msgs,
                                                       timeout=1.5 if test.startswith("control") else 10.0)
        th.join()
        during = box["r"]
        # the answers of the 1-second intervals that end in the 3 s after the commit (dnsd applies
        # the change), and of those that end while the writer writes
        wall_start = wall_commit - (t_commit - tc0)
        win = sorted(x for end, l in during["segments"] if wall_commit < end <= wall_commit + 3 for x in l)
        wwin = sorted(x for end, l in during["segments"] if wall_start < end <= wall_commit for x in l)
        os.unlink(out)
        res[test] = {
            "commit_s": t_commit - tc0,
            "visible_ms": t_sample * 1000 if t_sample is not None else None,
            "all_confirmed_ms": t_all * 1000 if t_all is not None else None,
            "never_visible": never,
            "during": {k: during.get(k) for k in ("sent", "completed", "lost", "p50", "p99", "p99.9", "lat_max")},
        }
        res[test]["window_p99"] = pct(win, 99)
        res[test]["window_queries"] = len(win)
        res[test]["write_p99"] = pct(wwin, 99)
        res[test]["write_queries"] = len(wwin)
        res[test]["p99_ratio"] = res[test]["window_p99"] / base["p99"] \
            if base.get("p99") and res[test]["window_p99"] is not None else None
        log(f"  live {rep + 1}/{LIVE_REPEAT} {test} (poll {poll_ms or 200} ms): visible after "
            f"{res[test]['visible_ms']} ms (all 1000 confirmed by {res[test]['all_confirmed_ms']} ms), lost "
            f"{during['lost']} (before {base['lost']}), p99 around the change {res[test]['window_p99']} vs "
            f"{base.get('p99')} before")
    return res


def live_change(d, work, checker, sat_qps, poll_ms):
    """dnsd at 70% of its pinned saturated load; 1,000 keys changed in one SQL batch (sealed as
    docs/schema.md says), then 1,000 new domains with dnsdctl import. Lost queries, p99 before and
    during, and the time until all changed names answer the new data."""
    srv = servers.Dnsd(d, work, poll_ms=poll_ms)
    res = {"poll_ms": poll_ms or 200, "rate_qps": int(sat_qps * 0.7)}
    rate = res["rate_qps"]
    qf = os.path.join(d, "q-uniform.txt")
    start_ready(srv, checker)
    try:
        base = dnsperf(srv.port, qf, SECONDS, qps=rate, verbose=os.path.join(CLIENT, "live0.out"),
                       stats_interval=1)
        base_seg = [pct(sorted(l), 99) for _, l in base["segments"] if l]
        res["before_worst_second_p99"] = max(base_seg) if base_seg else None
        res["before"] = {k: base.get(k) for k in ("sent", "completed", "lost", "p50", "p99", "p99.9", "lat_max")}
        log(f"  live: {rate} qps before the change: lost {base['lost']}, p99 {base.get('p99')}")
        doms = [l.rstrip("\n").split("\t") for l in open(os.path.join(d, "domains.tsv"))]
        copy = os.path.join(work, "unserved.db")  # not beside dnsd's store, whose directory dnsd watches
        shutil.copyfile(srv.db, copy)
        res["reps"] = []
        for rep in range(LIVE_REPEAT):
            res["reps"].append(live_rep(srv, doms, copy, qf, rate, base, poll_ms, rep))
    finally:
        srv.stop()
    return res


# ---------------------------------------------------------------- report

METRICS = [  # key, label, unit, better (+1 higher, -1 lower)
    ("sat_pinned_qps", "saturated qps, pinned (1 worker, CPU 0; dnsperf CPU 1)", "qps", 1),
    ("sat_pinned_zipf_qps", "saturated qps, pinned, Zipf-skewed queries", "qps", 1),
    ("sat_shared_qps", f"saturated qps, {NCPU} workers, cores shared with dnsperf", "qps", 1),
    ("sat_qps_per_cpu_s", "queries per server CPU-second, saturated pinned", "q/cpu-s", 1),
    ("fixed_qps", f"answered qps at the fixed load of {FIXED_QPS} (below it: not sustained)", "qps", 0),
    ("qps_per_cpu_s", f"queries per server CPU-second at {FIXED_QPS} qps", "q/cpu-s", 1),
    ("fixed_p50_ms", f"latency p50 at {FIXED_QPS} qps", "ms", -1),
    ("fixed_p99_ms", f"latency p99 at {FIXED_QPS} qps", "ms", -1),
    ("fixed_p99.9_ms", f"latency p99.9 at {FIXED_QPS} qps", "ms", -1),
    ("fixed_lost", f"lost queries at {FIXED_QPS} qps", "", 0),
    ("fixed_high_qps", f"answered qps at the fixed load of {FIXED_QPS_HIGH} (below it: not sustained)", "qps", 0),
    ("qps_per_cpu_s_high", f"queries per server CPU-second at {FIXED_QPS_HIGH} qps", "q/cpu-s", 1),
    ("fixed_high_p99_ms", f"latency p99 at {FIXED_QPS_HIGH} qps", "ms", -1),
    ("fixed_high_lost", f"lost queries at {FIXED_QPS_HIGH} qps", "", 0),
    ("sat_pinned_lost", "lost queries, saturated pinned", "", 0),
    ("sat_server_cpu_share", "server CPU time / wall time while saturated pinned (1 = had CPU 0 to itself)", "", 0),
    ("pss_mib", "memory: PSS of all server processes after load", "MiB", -1),
    ("ready_s", "ready: start until 10,000 names answer right", "s", -1),
    ("rrl_queries_per_cpu_s", f"RRL on: queries per CPU-second at {FIXED_QPS} qps", "q/cpu-s", 1),
    ("rrl_answered", f"RRL on: answers (incl. truncated) of {FIXED_QPS}/s x {SECONDS:g} s", "", 0),
]


def med(v):
    v = [x for x in v if isinstance(x, (int, float))]
    return statistics.median(v) if v else None


def fmt(x, unit=""):
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if unit in ("qps", "q/cpu-s") or (abs(x) >= 1000):
        return f"{x:,.0f}"
    if unit == "ms":
        return f"{x:.3f}"
    if unit in ("s", "MiB"):
        return f"{x:.2f}" if x < 100 else f"{x:.0f}"
    return f"{x:g}" if x == int(x) else f"{x:.2f}"


def floor_line(res, names):
    """Each server's queries per CPU-second at the fixed loads as a share of the floor's."""
    titles = {"dnsd": "dnsd", "knot": "Knot", "nsd": "NSD", "pdns": "PowerDNS",
              "pdns-nocache": "PowerDNS without its cache"}
    lines = []
    for key, load in (("qps_per_cpu_s", FIXED_QPS), ("qps_per_cpu_s_high", FIXED_QPS_HIGH)):
        fl = med(res.get(FLOOR, {}).get(key, []))
        if FLOOR not in names or not fl:
            continue
        parts = []
        for s in ("dnsd", "knot", "nsd", "pdns", "pdns-nocache"):
            v = med(res.get(s, {}).get(key, [])) if s in names else None
            if v is not None:
                parts.append((titles[s], f"{100 * v / fl:.0f}%"))
        if parts:
            first = (f"At {load:,} qps, {parts[0][0]}'s queries per CPU-second are {parts[0][1]} of the floor's "
                     "(the kernel alone)")
            lines.append("; ".join([first] + [f"{t}'s {p}" for t, p in parts[1:]]) + ".")
    return " ".join(lines)


def table(size, res, names):
    """Markdown table: metric rows, server columns (median over rounds), dnsd's ratios to the
    other servers; the floor gets a column but no ratio, and a line under the table instead."""
    others = [s for s in names if s not in ("dnsd", FLOOR)]
    head = (["metric"] + [LABELS.get(s, s) for s in names]
            + ([f"dnsd/{s}" for s in others] if "dnsd" in names else []))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label, unit, better in METRICS:
        vals = {s: med(res[s].get(key, [])) for s in names}
        if all(v is None for v in vals.values()):
            continue
        row = [f"{label} ({unit})" if unit else label] + [fmt(vals[s], unit) for s in names]
        if "dnsd" in names:
            for s in others:
                a, b = vals["dnsd"], vals[s]
                row.append(f"{a / b:.2f}" if better and a is not None and b else "-")
        lines.append("| " + " | ".join(row) + " |")
    for key, label in (("dkim_verified", "real DKIM signatures verified through the server"),
                       ("wrong_answers", "wrong answers among the 10,000 check names")):
        row = [label] + [", ".join(str(x) for x in res[s].get(key, [])) or "-" for s in names]
        if "dnsd" in names:
            row += [""] * len(others)
        lines.append("| " + " | ".join(row) + " |")
    fl = floor_line(res, names)
    return "\n".join(lines) + (f"\n\n{fl}" if fl else "")


def machine():
    model = ""
    for l in open("/proc/cpuinfo"):
        if l.startswith("model name"):
            model = l.split(":", 1)[1].strip()
            break
    mem = ""
    for l in open("/proc/meminfo"):
        if l.startswith("MemTotal"):
            mem = f"{int(l.split()[1]) / 1048576:.1f} GiB"
    return {"nproc": NCPU, "cpu": model, "kernel": platform.release(), "memory": mem,
            "load_at_start": open("/proc/loadavg").read().split()[:3]}


def stop_all(*_):
    for srv in list(RUNNING):
        srv.stop()
    sys.exit("bench: interrupted")


def render(path):
    """Rebuilds the markdown summary from a results JSON (bench.py --render FILE.json)."""
    r = json.load(open(path))
    e, mc = r["env"], r["machine"]
    out = [f"# dnsd benchmark {r['date']}", "",
           f"Machine: {mc['nproc']} CPUs ({mc['cpu']}), kernel {mc['kernel']}, {mc['memory']} memory; load average "
           f"at start {' '.join(mc['load_at_start'])}.", "",
           f"Rounds {e['ROUNDS']}, dnsperf runs of {e['BENCH_SECONDS']:g} s (`dnsperf -c 1 -T 1 -q {e['QUEUE']} -e` "
           f"pinned to CPU 1; server pinned to CPU 0 with one worker; shared: {mc['nproc']} workers and "
           f"`dnsperf -c {e.get('SHARED_CLIENTS', mc['nproc'])} -T {mc['nproc']}`, unpinned). Figures are medians over the rounds. EDNS buffer "
           f"1232 in every server, rate limiting off except in the RRL round. PowerDNS's authoritative server has no "
           f"RRL. Servers and dnsperf run at nice {e.get('BENCH_NICE', '-10')}. Ratios are dnsd's figure over the "
           f"other's (for times, memory and latency lower is better).", ""]
    if FLOOR in e.get("SERVERS", []):
        out[-2] += (" The floor is no DNS server: bench/nullresp.c sends each query back with QR set "
                    "(recvmmsg, sendmmsg), what the system calls alone allow here; it is measured under load "
                    "only (no answer checks, ready time, memory, shared cores, RRL), has no ratio column, and "
                    "the line under each table gives the servers' queries per CPU-second at the fixed loads as "
                    "a share of the floor's.")
    for size, entry in r["sizes"].items():
        res = entry["rounds"]
        for v in res.values():  # results written before this figure existed
            if "sat_qps_per_cpu_s" not in v and v.get("sat_server_cpu_share"):
                v["sat_qps_per_cpu_s"] = [q / c for q, c in zip(v["sat_pinned_qps"], v["sat_server_cpu_share"])]
        names = [k for k in ALL if k in res]
        meta = entry.get("data", {})
        out += [f"## {int(size):,} domains", ""]
        if meta:
            out += [f"Data generated in {meta.get('gen_seconds')} s; `dnsdctl import` of {int(size):,} domains "
                    f"took {meta.get('import_seconds')} s.", ""]
        if any(res.values()):
            out += [table(int(size), res, names), "", per_round(res, names), ""]
        if entry.get("live_change"):
            out += live_md(entry["live_change"], int(size))
    out += ["## Versions", ""] + [f"- **{k}**: `{v}`" for k, v in r["versions"].items()] + [""]
    return "\n".join(out)


def per_round(res, names):
    """The main figures of every round, to show the spread."""
    keys = [("sat_pinned_qps", "saturated pinned qps"), ("sat_qps_per_cpu_s", "q/CPU-s saturated"),
            ("qps_per_cpu_s", f"q/CPU-s at {FIXED_QPS}"), ("qps_per_cpu_s_high", f"q/CPU-s at {FIXED_QPS_HIGH}"),
            ("ready_s", "ready s")]
    lines = ["Every round (order of the rounds):", "", "| server | " + " | ".join(l for _, l in keys) + " |",
             "|" + "---|" * (len(keys) + 1)]
    for s in names:
        cells = []
        for k, _ in keys:
            v = [x for x in res[s].get(k, []) if isinstance(x, (int, float))]
            cells.append(", ".join(fmt(x, "s" if k == "ready_s" else "qps") for x in v) or "-")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--render":
        print(render(sys.argv[2]))
        return
    if len(sys.argv) > 1:  # anything else is a mistake, not a request for a 45-minute run
        raise SystemExit("usage: bench.py (settings by environment: see its docstring) | bench.py --render RESULT.json")
    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    for s in SERVERS:
        if s not in ALL:
            sys.exit(f"bench: unknown server {s} (known: {' '.join(ALL)})")
    nice = int(os.environ.get("BENCH_NICE", "-10"))
    if nice:
        try:
            os.nice(nice)  # inherited by the servers and dnsperf alike
        except PermissionError:
            log("bench: cannot raise the priority (not root): BENCH_NICE ignored")
    os.sched_setaffinity(0, {1 % NCPU})  # the bench's own work (checks, polling) stays off CPU 0
    work = os.environ.get("BENCH_WORK") or tempfile.mkdtemp(prefix="dnsd-bench.")
    global CLIENT
    CLIENT = os.path.join(work, "client")
    os.makedirs(CLIENT, exist_ok=True)
    outdir = os.environ.get("BENCH_OUT") or os.path.join(HERE, "results")
    os.makedirs(outdir, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d-%H%M%S")
    result = {"date": stamp, "machine": machine(), "env": {
        "SIZES": SIZES, "ROUNDS": ROUNDS, "BENCH_SECONDS": SECONDS, "SERVERS": SERVERS, "FIXED_QPS": FIXED_QPS,
        "FIXED_QPS_HIGH": FIXED_QPS_HIGH,
        "QUEUE": QUEUE, "SHARED_CLIENTS": SHARED_CLIENTS, "BENCH_NICE": os.environ.get("BENCH_NICE", "-10")}, "versions": {}, "sizes": {}}
    try:
        os.makedirs(os.path.join(work, "bin"), exist_ok=True)
        for b in ("dnsd", "dnsdctl"):  # the binaries as they are now, whatever is rebuilt meanwhile
            src = os.environ.get("BENCH_DNSD") if b == "dnsd" and os.environ.get("BENCH_DNSD") else \
                os.path.join(ROOT, "build", b)
            shutil.copy2(src, os.path.join(work, "bin", b))
        servers.DNSD = os.path.join(work, "bin", "dnsd")
        servers.DNSDCTL = os.path.join(work, "bin", "dnsdctl")
        if FLOOR in SERVERS:
            servers.NULLRESP = os.path.join(work, "bin", "nullresp")
            subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", servers.NULLRESP,
                            os.path.join(HERE, "nullresp.c")], check=True)
        for k in SERVERS:
            cls = servers.KINDS[k]
            result["versions"][k] = cls.__new__(cls).version()
        for size in SIZES:
            log(f"== {size} domains: data")
            r = subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(size), "--dnsdctl", servers.DNSDCTL],
                               stdout=subprocess.PIPE, text=True)
            if r.returncode:
                sys.exit("bench: gen.py failed")
            d = r.stdout.strip().splitlines()[-1]
            meta = json.load(open(os.path.join(d, "meta.json")))
            checker = dnscheck.Checker(os.path.join(d, "check.json"))
            real = json.load(open(os.path.join(d, "real.json")))
            swork = os.path.join(work, str(size))
            srvs = {k: servers.KINDS[k](d, swork) for k in SERVERS}
            res = {k: {} for k in SERVERS}

            def add(k, m):
                for key, v in m.items():
                    res[k].setdefault(key, []).append(v)
            for rnd in range(0 if LIVE_ONLY else ROUNDS):
                order = SERVERS[rnd % len(SERVERS):] + SERVERS[:rnd % len(SERVERS)]
                for k in order:
                    log(f"{size} round {rnd + 1}/{ROUNDS}: {k} pinned")
                    m = measure_pinned(srvs[k], d, checker, real)
                    if srvs[k].answers:
                        log(f"  ready {m['ready_s']:.2f} s, {m['sat_pinned_qps']:,.0f} qps (zipf "
                            f"{m['sat_pinned_zipf_qps']:,.0f}), {m['qps_per_cpu_s'] or 0:,.0f} q/cpu-s, p99 "
                            f"{m['fixed_p99_ms']:.3f} ms, lost {m['fixed_lost']:.0f}, {m['pss_mib']:.0f} MiB, "
                            f"dkim {m['dkim_verified']}, wrong {m['wrong_answers']}")
                    else:
                        log(f"  {m['sat_pinned_qps']:,.0f} qps (zipf {m['sat_pinned_zipf_qps']:,.0f}), "
                            f"{m['qps_per_cpu_s'] or 0:,.0f} q/cpu-s, p99 {m['fixed_p99_ms']:.3f} ms, "
                            f"lost {m['fixed_lost']:.0f}")
                    add(k, m)
                    if not srvs[k].answers:  # one socket, one thread: nothing to share the cores with
                        continue
                    log(f"{size} round {rnd + 1}/{ROUNDS}: {k} shared")
                    m = measure_shared(srvs[k], d, checker)
                    log(f"  {m['sat_shared_qps']:,.0f} qps")
                    add(k, m)
            if RRL and not LIVE_ONLY:
                for k in SERVERS:
                    if not srvs[k].rrl_supported:
                        continue
                    log(f"{size} RRL round: {k}")
                    m = measure_rrl(srvs[k], d, checker)
                    log(f"  sent {m['rrl_sent']:.0f}, answered {m['rrl_answered']:.0f}, "
                        f"{m['rrl_queries_per_cpu_s'] or 0:,.0f} q/cpu-s")
                    add(k, m)
            entry = {"n": size, "data": meta, "rounds": res}
            if LIVE and "dnsd" in SERVERS and (size == max(SIZES) or LIVE_ONLY):
                sat = med(res["dnsd"].get("sat_pinned_qps", []))
                if LIVE_RATE:
                    sat = LIVE_RATE / 0.7
                elif sat is None:
                    log(f"{size}: dnsd's saturated load, for the live change test")
                    sat = measure_pinned(srvs["dnsd"], d, checker, real)["sat_pinned_qps"]
                entry["live_change"] = []
                for p in LIVE_POLLS:
                    log(f"{size} live change test, dnsd --poll {p}")
                    entry["live_change"].append(live_change(d, swork, checker, sat, p if p != 200 else None))
            result["sizes"][str(size)] = entry
            t = table(size, res, SERVERS) if not LIVE_ONLY else ""
            print(f"\n## {size:,} domains\n\n{t}\n", flush=True)
            if entry.get("live_change"):
                print("\n".join(live_md(entry["live_change"], size)), flush=True)
            shutil.rmtree(swork, ignore_errors=True)
            json.dump(result, open(os.path.join(outdir, f"{stamp}.json"), "w"), indent=1)
    finally:
        if not os.environ.get("BENCH_WORK"):
            shutil.rmtree(work, ignore_errors=True)
    json.dump(result, open(os.path.join(outdir, f"{stamp}.json"), "w"), indent=1)
    open(os.path.join(outdir, f"{stamp}.md"), "w").write(render(os.path.join(outdir, f"{stamp}.json")))
    log(f"results: {outdir}/{stamp}.json and .md")


def ms(seconds):
    return f"{seconds * 1000:.3f} ms" if seconds else "-"


def live_md(lc, size):
    out = [f"### Live change at {size:,} domains (dnsd at 70% of its pinned saturated load)", "",
           "Lost: dnsperf runs before (10 s) and during the change (30 s). p99 before: the whole run "
           "before; while written: the 1-second intervals that end while the writer writes; applied: those "
           "that end in the 3 s after its commit, while dnsd applies the change (the ratio is this one's). "
           "Visible: from the commit's return until 8 of the changed names (polled once a "
           "millisecond, with queries built before the change) all answer the new data, told by a part of "
           "the new key past the header every RSA key shares; confirmed: until a pass over all 1,000 has "
           "seen every one changed (a pass takes this Python client tens of ms). For an import, the commit "
           "comes before dnsdctl's exit (it then rewrites the signer's exports), so visible may be ~0. "
           f"The writers (the SQL batch in a process of its own, dnsdctl) run on CPU {LIVE_WRITER_CPU % NCPU} "
           "at nice 19, as a bulk job on the server's host would. Controls: the same polling with no change; "
           "the same SQL write into a copy of the store that dnsd does not serve (what the writer alone "
           "costs the answers). Each test is repeated; the median row of each test comes last.", "",
           "| test | run | --poll | rate | write+commit | visible after | all confirmed | lost before | "
           "lost during | p99 before | p99 while written | p99 applied | ratio |", "|" + "---|" * 13]
    for r in lc:
        reps = r.get("reps") or [r]  # results written before the repetitions: one
        for test in LIVE_TESTS:
            rows = [rep[test] for rep in reps if rep.get(test)]
            for i, t in enumerate(rows):
                out.append(live_row(test, str(i + 1), r, t))
            if len(rows) > 1:
                m = {k: med([t.get(k) for t in rows]) for k in
                     ("commit_s", "visible_ms", "all_confirmed_ms", "write_p99", "window_p99", "p99_ratio")}
                m["during"] = {"lost": sum(t["during"]["lost"] or 0 for t in rows)}
                out.append(live_row(test, "**median** (lost: sum)", r, m))
    return out + [""]


def live_row(test, run, r, t):
    b, d = r["before"], t["during"]
    return (f"| {test} | {run} | {r['poll_ms']} ms | {r['rate_qps']:,} qps | {t['commit_s'] * 1000:.0f} ms | "
            f"{fmt(t.get('visible_ms'), 'ms')} ms | {fmt(t.get('all_confirmed_ms'), 'ms')} ms | "
            f"{b['lost']:.0f} | {d['lost']:.0f} | {fmt((b.get('p99') or 0) * 1000, 'ms')} ms | "
            f"{ms(t.get('write_p99'))} | {ms(t.get('window_p99'))} | {fmt(t['p99_ratio']) if t.get('window_p99') is not None else '-'} |")


if __name__ == "__main__":
    main()
