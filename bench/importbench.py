#!/usr/bin/python3
"""importbench.py: how long `dnsdctl import` takes for N rows into a new store.

  bench/importbench.py [--n 1000000] [--base 100000] [--keep]

The rows are gen.py's import.csv for BASE domains (made first if missing), written N/BASE
times, each copy with names and tokens of its own (x<copy>- before each name, its own first
letter in each token); the few rows with a real private key keep it. Then a new store made as
gen.py makes its own (zone, selector prefix, slots, tenant, policies) and
`dnsdctl import FILE --tenant bench`, timed: wall clock, CPU (user and system), peak RSS and
blocks written, from the kernel's accounting of the child. Results: a line on stdout and
bench/results/import-DATE.json. Files only, no network. The work directory is deleted at the
end unless --keep.
"""
import argparse, json, os, resource, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gen  # noqa: E402  (the data set's constants)

BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
DNSDCTL = os.path.join(BUILD, "dnsdctl")


def rows(base_csv, copies):
    """The header, then each row of base_csv once per copy with its own name and token."""
    with open(base_csv) as f:
        head = f.readline()
        body = f.read().splitlines()
    cols = head.strip().split(",")
    iname, itok = cols.index("domain"), cols.index("token")
    yield head
    for c in range(copies):
        for line in body:
            f = line.split(",")
            f[iname] = f"x{c}-{f[iname]}"
            f[itok] = gen.B32[c] + f[itok][1:]
            yield ",".join(f) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--base", type=int, default=100_000)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if a.n % a.base or not 1 <= a.n // a.base <= len(gen.B32):
        sys.exit(f"importbench: --n must be 1 to {len(gen.B32)} times --base")
    data = subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(a.base), "--dnsdctl", DNSDCTL],
                          check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    work = tempfile.mkdtemp(prefix="importbench.")
    try:
        csv = os.path.join(work, "import.csv")
        with open(csv, "w") as out:
            out.writelines(rows(os.path.join(data, "import.csv"), a.n // a.base))
        db = os.path.join(work, "store.db")
        ctl = [DNSDCTL, "--db", db, "--zone-file", os.path.join(ROOT, "zones", "demo.zone")]
        for args in (["init", "--zone", gen.ZONE, "--selector-prefix", gen.PREFIX, "--slots", str(gen.SLOTS)],
                     ["tenant", "add", "bench"], ["spf", "set", gen.SPF], ["mx", "set", gen.MX],
                     ["dmarc", "set", gen.DMARC]):
            subprocess.run(ctl + args, check=True, stdout=subprocess.DEVNULL)
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        p = subprocess.run(ctl + ["import", csv, "--tenant", "bench", "--no-progress"],
                           capture_output=True, text=True)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode:
            sys.exit(f"importbench: dnsdctl import exited {p.returncode}: {p.stderr.strip()}")
        r = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rows": a.n,
            "cpus": os.cpu_count(),
            "load_avg_start": round(load, 2),
            "wall_s": round(wall, 2),
            "user_s": round(after.ru_utime - before.ru_utime, 2),
            "sys_s": round(after.ru_stime - before.ru_stime, 2),
            "max_rss_mb": round(after.ru_maxrss / 1024),  # the largest child's so far
            "written_mb": round((after.ru_oublock - before.ru_oublock) * 512 / 1e6),
            "out": p.stdout.strip(),
        }
    finally:
        if a.keep:
            print(f"importbench: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"import of {r['rows']} rows: {r['wall_s']} s wall, {r['user_s'] + r['sys_s']:.1f} s CPU "
          f"({r['user_s']} user, {r['sys_s']} sys), {r['max_rss_mb']} MB peak, {r['written_mb']} MB written "
          f"(load average {r['load_avg_start']} at the start)")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", time.strftime("import-%Y%m%d-%H%M.json"))
    with open(path, "w") as f:
        json.dump(r, f, indent=1)
    print(path)


if __name__ == "__main__":
    main()
