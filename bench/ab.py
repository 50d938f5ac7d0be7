#!/usr/bin/python3
"""ab.py: two dnsd binaries against each other on the same store, alternating, so that a shared
machine's drift falls on both. Each run: the server pinned to CPU 0 with one worker, dnsperf
pinned to CPU 1; a saturated run (queries per second answered) and a fixed-rate run (the
server's CPU time per query, from /proc/PID/stat). Prints each run and the medians, with B's
ratio to A.

  bench/ab.py BIN_A BIN_B [--size 100000] [--rounds 5] [--seconds 8] [--qps 30000]
              [--out FILE.md]

The data set is bench/gen.py's (made first if missing: bench/gen.py N). Used for the cost of
dnsd's counters: BIN_B built with -DDNSD_NO_STATS (make bench-stats).
"""
import argparse, os, re, socket, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", 0))
        return u.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def dnsperf(port, qfile, seconds, qps=None):
    argv = ["taskset", "-c", "1", "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l",
            str(seconds), "-c", "1", "-T", "1", "-q", "100"]
    if qps:
        argv += ["-Q", str(qps)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    done = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))
    rate = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))
    return done, rate


def one_run(binary, db, qfile, seconds, qps, work):
    port = free_port()
    ready = os.path.join(work, "ready")
    if os.path.exists(ready):
        os.unlink(ready)
    argv = ["taskset", "-c", "0", binary, "--db", db, "--zone", os.path.join(ROOT, "zones", "demo.zone"),
            "--listen", f"127.0.0.1:{port}", "--threads", "1", "--rrl-rate", "0", "--ready-file", ready,
            "--log-level", "warning"]
    p = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if os.path.exists(ready) and os.path.getsize(ready):
                break
            if p.poll() is not None:
                raise RuntimeError(f"{binary} exited with {p.returncode}")
            time.sleep(0.1)
        dnsperf(port, qfile, 2)  # warm the caches
        _, sat = dnsperf(port, qfile, seconds)
        c0 = cpu_seconds(p.pid)
        done, _ = dnsperf(port, qfile, seconds, qps)
        us = (cpu_seconds(p.pid) - c0) / done * 1e6
        return sat, us
    finally:
        p.terminate()
        p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--size", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--qps", type=int, default=30000)
    ap.add_argument("--out")
    o = ap.parse_args()
    data = os.path.join(HERE, "data", str(o.size))
    db, qfile = os.path.join(data, "store", "store.db"), os.path.join(data, "q-uniform.txt")
    if not os.path.exists(db):
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(o.size)], check=True)
    res = {o.a: [], o.b: []}
    lines = []
    with tempfile.TemporaryDirectory() as work:
        for r in range(o.rounds):
            order = [o.a, o.b] if r % 2 == 0 else [o.b, o.a]
            for b in order:
                sat, us = one_run(b, db, qfile, o.seconds, o.qps, work)
                res[b].append((sat, us))
                line = f"round {r + 1} {b}: saturated {sat:.0f} qps, {us:.2f} us CPU per query at {o.qps} qps"
                print(line, flush=True)
                lines.append(line)
    med = {b: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for b, v in res.items()}
    summary = [f"A {o.a}: median saturated {med[o.a][0]:.0f} qps, {med[o.a][1]:.2f} us CPU per query",
               f"B {o.b}: median saturated {med[o.b][0]:.0f} qps, {med[o.b][1]:.2f} us CPU per query",
               f"B/A: saturated qps {med[o.b][0] / med[o.a][0]:.3f}, CPU per query {med[o.b][1] / med[o.a][1]:.3f}"]
    print("\n".join(summary))
    if o.out:
        with open(o.out, "w") as f:
            f.write(f"# A/B: {o.a} against {o.b}\n\n{o.size} domains, {o.rounds} rounds alternating, "
                    f"{o.seconds} s runs, fixed rate {o.qps} qps; server CPU 0 (1 worker), dnsperf CPU 1.\n\n```\n")
            f.write("\n".join(lines + [""] + summary) + "\n```\n")


if __name__ == "__main__":
    main()
