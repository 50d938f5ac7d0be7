#!/usr/bin/python3
"""apibench.py: `domain add` through the API (POST /v1/domains) while other writers and
readers work: do writers starve behind a bulk import?

  bench/apibench.py [--n N] [--import-n M] [--clients C] [--seconds S] [--path /v1/domains]

dnsd-api over a store of N domains (gen.py's data, default 100,000), C (16) clients, each a
Python thread with its own http.client connection, POSTing new domains one after another:
  (a) alone, for S seconds (default 20);
  (b) while `dnsdctl import` adds M (100,000) other domains and dnsd, serving that store,
      answers dnsperf's uniform query mix at 70 % of its saturated rate (measured first, as
      bench.py measures it: one worker on CPU 0, dnsperf on CPU 1), until the import ends.
Each POST must get 201, or 503 with Retry-After: then the client waits that long and sends it
again, until it gets 201. Latency is per request (each try) and per domain (from its first
try to its 201); counts of 201, 503 and anything else (a lost request: none may be). Only
127.0.0.1. Results: a table on stdout and bench/results/api-DATE.json.

Environment: API_N, API_IMPORT_N, API_CLIENTS, API_SECONDS set the defaults above; API_PATH
the endpoint (POST /v1/tokens {"name": ...} to try the harness where /v1/domains is not in).
"""
import argparse, base64, http.client, json, os, signal, sqlite3, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench  # noqa: E402  (dnsperf and its parser)
import gen  # noqa: E402  (the data set)

BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
DNSD, DNSDCTL, API = (os.path.join(BUILD, b) for b in ("dnsd", "dnsdctl", "dnsd-api"))


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def wait_file(path, proc, what, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return open(path).read().strip()
        if proc.poll() is not None:
            sys.exit(f"apibench: {what} exited ({proc.returncode})")
        time.sleep(0.05)
    sys.exit(f"apibench: {what} is not ready after {timeout} s")


class Clients:
    """C threads POSTing new names until stop() (or each has sent `each`)."""

    def __init__(self, addr, token, path, n, tag):
        self.host, self.port = addr.rsplit(":", 1)
        self.token, self.path, self.n, self.tag = token, path, n, tag
        self.lock = threading.Lock()
        self.tries, self.adds = [], []  # seconds
        self.codes = {}
        self.retried = self.reconnects = 0
        self.stopping = threading.Event()

    def body(self, name):
        if self.path == "/v1/domains":
            return {"domain": name, "tenant": "bench"}
        return {"name": name, "tenant": "bench"}

    def one(self, i):
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=120)
        hdr = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        k = 0
        while not self.stopping.is_set():
            name = f"{self.tag}-{i}-{k}.api.example" if self.path == "/v1/domains" else f"{self.tag}-{i}-{k}"
            k += 1
            body = json.dumps(self.body(name))
            t_first = time.monotonic()
            while True:
                t0 = time.monotonic()
                try:
                    conn.request("POST", self.path, body, hdr)
                    r = conn.getresponse()
                    r.read()
                    code, retry = r.status, r.getheader("Retry-After")
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    # dnsd-api closed the kept-alive connection (its --timeout counts from
                    # the request before): the request was not read, so send it again on a
                    # new connection, as HTTP clients do
                    conn.close()
                    conn = http.client.HTTPConnection(self.host, int(self.port), timeout=120)
                    with self.lock:
                        self.reconnects += 1
                    continue
                except (OSError, http.client.HTTPException) as e:
                    code, retry = f"conn:{type(e).__name__}", None
                    conn.close()
                    conn = http.client.HTTPConnection(self.host, int(self.port), timeout=120)
                t1 = time.monotonic()
                with self.lock:
                    self.tries.append(t1 - t0)
                    self.codes[str(code)] = self.codes.get(str(code), 0) + 1
                if code == 503 and retry is not None:
                    with self.lock:
                        self.retried += 1
                    time.sleep(float(retry))
                    continue
                if code == 201:
                    with self.lock:
                        self.adds.append(t1 - t_first)
                break  # 201, or a lost request (counted under its code)
        conn.close()

    def run(self, until):
        threads = [threading.Thread(target=self.one, args=(i,)) for i in range(self.n)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        until()
        self.stopping.set()
        for t in threads:
            t.join()
        self.seconds = time.monotonic() - t0

    def result(self):
        ms = lambda x: None if x is None else round(x * 1000, 1)  # noqa: E731
        lost = sum(v for k, v in self.codes.items() if k not in ("201", "503"))
        return {"requests": len(self.tries), "domains_added": len(self.adds), "codes": self.codes,
                "retried_503": self.retried, "reconnects": self.reconnects, "lost": lost, "seconds": round(self.seconds, 1),
                "adds_per_s": round(len(self.adds) / self.seconds, 1),
                "request_p50_ms": ms(pct(self.tries, 50)), "request_p99_ms": ms(pct(self.tries, 99)),
                "add_p50_ms": ms(pct(self.adds, 50)), "add_p99_ms": ms(pct(self.adds, 99)),
                "add_max_ms": ms(max(self.adds) if self.adds else None)}


def import_csv(path, m):
    """M new domains (names no other file has) with random public keys."""
    import random
    rng = random.Random(f"apibench-{m}")
    with open(path, "w") as f:
        f.write("domain,tenant,public_key\n")
        for i in range(m):
            f.write(f"imp{i}.import.example,bench,{gen.random_spki(rng)}\n")


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=int(env("API_N", "100000")))
    ap.add_argument("--import-n", type=int, default=int(env("API_IMPORT_N", "100000")))
    ap.add_argument("--clients", type=int, default=int(env("API_CLIENTS", "16")))
    ap.add_argument("--seconds", type=float, default=float(env("API_SECONDS", "20")))
    ap.add_argument("--path", default=env("API_PATH", "/v1/domains"))
    ap.add_argument("--load", type=float, default=0.7, help="dnsd's load during (b), of its saturated qps")
    a = ap.parse_args()

    data = subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(a.n), "--dnsdctl", DNSDCTL],
                          check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    work = tempfile.mkdtemp(prefix="apibench.")
    bench.CLIENT = work
    db = os.path.join(work, "store.db")
    # a copy of the store and its keys (the real keys' private halves): the import and the
    # clients change it
    subprocess.run(["cp", "-a", os.path.join(data, "store", "."), work], check=True)
    conf = os.path.join(work, "dnsdctl.conf")
    with open(conf, "w") as f:
        f.write(f"db {db}\nkeys {os.path.join(work, 'keys')}\nzone-file {os.path.join(ROOT, 'zones', 'demo.zone')}\n")
    os.chmod(conf, 0o600)
    ctl = [DNSDCTL, "--config", conf, "--export-dir", ""]  # no exports: not what is measured
    token = subprocess.run(ctl + ["api-token", "add", "apibench"], check=True, capture_output=True,
                           text=True).stdout.strip()
    csv = os.path.join(work, "import.csv")
    import_csv(csv, a.import_n)
    qfile = os.path.join(data, "q-uniform.txt")
    procs = []
    try:
        ready = os.path.join(work, "dnsd.ready")
        port = bench.servers.free_port()
        dnsd = subprocess.Popen(["taskset", "-c", "0", DNSD, "--db", db, "--zone",
                                 os.path.join(ROOT, "zones", "demo.zone"), "--listen", f"127.0.0.1:{port}",
                                 "--threads", "1", "--ready-file", ready, "--log-level", "warning",
                                 "--rrl-rate", "0"], stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "dnsd.log"), "w"))
        procs.append(dnsd)
        wait_file(ready, dnsd, "dnsd", 300)
        aready = os.path.join(work, "api.ready")
        api = subprocess.Popen([API, "--config", conf, "--listen", "127.0.0.1:0", "--ready-file", aready,
                                "--threads", str(a.clients)], stdout=subprocess.DEVNULL,
                               stderr=open(os.path.join(work, "api.log"), "w"))
        procs.append(api)
        addr = wait_file(aready, api, "dnsd-api")
        log(f"store {a.n} domains; dnsd on 127.0.0.1:{port}, dnsd-api on {addr}")

        sat = bench.dnsperf(port, qfile, 10)["qps"]
        rate = int(sat * a.load)
        log(f"dnsd saturated: {sat:.0f} qps; during the import: {rate} qps")

        log(f"(a) {a.clients} clients alone, {a.seconds} s")
        alone = Clients(addr, token, a.path, a.clients, "alone")
        alone.run(lambda: time.sleep(a.seconds))

        log(f"(b) the same during `dnsdctl import` of {a.import_n} domains and dnsperf at {rate} qps")
        during = Clients(addr, token, a.path, a.clients, "during")
        perf_out = os.path.join(work, "dnsperf.txt")
        perf = subprocess.Popen(["taskset", "-c", "1", "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile,
                                 "-l", "3600", "-c", "1", "-T", "1", "-q", str(bench.QUEUE_RATE), "-e", "-Q", str(rate)],
                                stdout=open(perf_out, "w"), stderr=subprocess.STDOUT)
        procs.append(perf)
        time.sleep(1)
        imp_t = {}

        def run_import():
            t0 = time.monotonic()
            batch = ["--batch", env("API_IMPORT_BATCH")] if env("API_IMPORT_BATCH") else []
            r = subprocess.run(ctl + ["import", csv, "--no-progress"] + batch, capture_output=True, text=True)
            imp_t.update(seconds=round(time.monotonic() - t0, 1), rc=r.returncode,
                         out=(r.stdout + r.stderr).strip()[-300:])

        during.run(run_import)
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=30)
        dns = bench.parse_dnsperf(open(perf_out).read(), False)
        log(f"import: {imp_t}")
        n_store = sqlite3.connect(db).execute("SELECT count(*) FROM domains").fetchone()[0]
        res = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "n": a.n, "import_n": a.import_n,
               "clients": a.clients, "path": a.path, "cpus": os.cpu_count(),
               "load_avg_start": os.getloadavg()[0],
               "dnsd_saturated_qps": round(sat), "dnsd_fixed_qps": rate,
               "alone": alone.result(), "during_import": during.result(), "import": imp_t,
               "dnsd_during": {k: dns.get(k) for k in ("sent", "completed", "lost", "qps")},
               "domains_in_store": n_store}
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", f"api-{time.strftime('%Y%m%d-%H%M')}.json")
    json.dump(res, open(out, "w"), indent=1)
    print(f"| POST {a.path}, {a.clients} clients | requests | 201 | 503 (retried) | lost | "
          "request p50 / p99 ms | add p50 / p99 ms | adds/s |")
    print("|---|---|---|---|---|---|---|---|")
    for k, r in (("alone", res["alone"]), ("during import + dnsd at 70 %", res["during_import"])):
        print(f"| {k} | {r['requests']} | {r['codes'].get('201', 0)} | {r['retried_503']} | {r['lost']} | "
              f"{r['request_p50_ms']} / {r['request_p99_ms']} | {r['add_p50_ms']} / {r['add_p99_ms']} | "
              f"{r['adds_per_s']} |")
    print(f"\nimport of {a.import_n}: {imp_t.get('seconds')} s (exit {imp_t.get('rc')}); dnsd at {rate} qps: "
          f"{dns.get('completed')} of {dns.get('sent')} answered, {dns.get('lost')} lost; {out}")
    lost = res["alone"]["lost"] + res["during_import"]["lost"]
    sys.exit(1 if lost or imp_t.get("rc") else 0)


if __name__ == "__main__":
    main()
