#!/usr/bin/python3
"""gen.py: the benchmark's data set for N customer domains, written once into a data dir
and reused while its stamp matches (same N, seed and generator version).

  bench/gen.py N [--data DIR] [--seed S] [--dnsdctl build/dnsdctl] [--force]

What it writes into DIR (default bench/data/N):
  import.csv        dnsdctl import input: domain,public_key,private_key,token
  zone.txt          the same records as a zone file for NSD and Knot
  pdns.sqlite3      the same records in PowerDNS's gsqlite3 schema (Debian's)
  q-uniform.txt     dnsperf queries: ~70% DKIM TXT, 15% SPF TXT + MX, 10% NXDOMAIN, 5% NODATA
  q-zipf.txt        the same mix with domains drawn from a Zipf law (few get most queries)
  check.json        10,000 names with the answer every server must give (ready test)
  real.json         the domains that carry real RSA keys (private key paths), for DKIM verify
  store/store.db    dnsd's store, loaded with `dnsdctl import` (rebuilt if its schema is stale)
  meta.json         N, seed, counts, generation and import times

Public keys are random 2048-bit-sized RSA SubjectPublicKeyInfo values (they parse, but
nobody holds their private half), except REAL_KEYS real keys made once with openssl under
bench/data/keys/ and shared by every size.
"""
import argparse, base64, json, os, random, shutil, sqlite3, subprocess, sys, time

GEN_VERSION = 4
ZONE = "auth.demo.example"
PREFIX = "dnsd"
SLOTS = 3
TTL = 3600
SPF = "v=spf1 include:_spf.auth.demo.example -all"
MX = "10 bounce.auth.demo.example."
DMARC = "v=DMARC1; p=none; rua=mailto:dmarc@auth.demo.example"
EMPTY_DKIM = "v=DKIM1; p="
REAL_KEYS = 5
QLINES = 1_000_000
CHECK_NAMES = 10_000
ZIPF_S = 1.1
B32 = "abcdefghijklmnopqrstuvwxyz234567"
SPKI_HEAD = bytes.fromhex("30820122300d06092a864886f70d01010105000382010f003082010a0282010100")
SPKI_TAIL = bytes.fromhex("0203010001")
TLDS = ["com", "net", "org", "de", "fr", "io", "co.uk", "nl"]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def random_spki(rng):
    m = bytearray(rng.randbytes(256))
    m[0] |= 0x80
    m[-1] |= 1
    return base64.b64encode(SPKI_HEAD + bytes(m) + SPKI_TAIL).decode()


def chunks(s, n=255):
    return [s[i:i + n] for i in range(0, len(s), n)] or [""]


def txt_presentation(s):
    """The TXT rdata as a zone file (and dnspython's to_text) writes it: 255-byte strings."""
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks(s))


def dkim_value(pub):
    return "v=DKIM1; k=rsa; p=" + pub


def real_keys(datadir):
    """REAL_KEYS RSA-2048 keys made once; returns [(pem path, base64 SPKI)]."""
    kd = os.path.join(os.path.dirname(datadir.rstrip("/")), "keys")
    os.makedirs(kd, exist_ok=True)
    out = []
    for i in range(REAL_KEYS):
        p = os.path.join(kd, f"real{i}.pem")
        if not os.path.exists(p):
            subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                            "-out", p + ".tmp"], check=True, stderr=subprocess.DEVNULL)
            os.chmod(p + ".tmp", 0o600)
            os.rename(p + ".tmp", p)
        der = subprocess.run(["openssl", "pkey", "-in", p, "-pubout", "-outform", "DER"], check=True,
                             capture_output=True).stdout
        out.append((p, base64.b64encode(der).decode()))
    return out


class Data:
    """Domains, tokens and keys, drawn from the seed."""

    def __init__(self, n, seed, datadir):
        rng = random.Random(f"dnsd-bench-{seed}-{n}")
        self.n = n
        self.names = [f"c{i}-{rng.randrange(36**4):04x}.example.{TLDS[i % len(TLDS)]}" for i in range(n)]
        seen = set()
        self.tokens = []
        while len(self.tokens) < n:
            t = "".join(rng.choices(B32, k=16))
            if t not in seen:
                seen.add(t)
                self.tokens.append(t)
        self.token_set = seen
        self.pubs = [random_spki(rng) for _ in range(n)]
        self.real = {}  # index -> pem path
        for j, (pem, pub) in enumerate(real_keys(datadir)):
            i = (j * n) // REAL_KEYS + (n // (2 * REAL_KEYS))
            self.pubs[i] = pub
            self.real[i] = pem
        self.rng = rng


def write_csv(d, path):
    with open(path + ".tmp", "w") as f:
        f.write("domain,public_key,private_key,token\n")
        for i in range(d.n):
            if i in d.real:
                f.write(f"{d.names[i]},,{d.real[i]},{d.tokens[i]}\n")
            else:
                f.write(f"{d.names[i]},{d.pubs[i]},,{d.tokens[i]}\n")
    os.rename(path + ".tmp", path)


def apex_zone():
    with open(os.path.join(ROOT, "zones", "demo.zone")) as f:
        return f.read()


def records(d, i):
    """(owner relative to the zone, type, rdata presentation) of domain i."""
    t = d.tokens[i]
    yield f"{PREFIX}1.{t}.dkim", "TXT", txt_presentation(dkim_value(d.pubs[i]))
    for s in range(2, SLOTS + 1):
        yield f"{PREFIX}{s}.{t}.dkim", "TXT", txt_presentation(EMPTY_DKIM)
    yield f"{t}.rp", "TXT", txt_presentation(SPF)
    yield f"{t}.rp", "MX", MX
    yield f"{t}.dmarc", "TXT", txt_presentation(DMARC)
    yield f"{d.names[i]}._report._dmarc", "TXT", txt_presentation("v=DMARC1")


def write_zone(d, path):
    with open(path + ".tmp", "w") as f:
        f.write(apex_zone())
        f.write(f"\n; {d.n} customer domains, as dnsd serves them from its store\n$TTL {TTL}\n")
        for i in range(d.n):
            for owner, typ, rdata in records(d, i):
                f.write(f"{owner} IN {typ} {rdata}\n")
    os.rename(path + ".tmp", path)


def apex_rows():
    """The apex records of zones/demo.zone as (name, type, content), parsed with dnspython."""
    import dns.zone
    z = dns.zone.from_text(apex_zone(), origin=ZONE + ".", relativize=False, check_origin=True)
    rows = []
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            for rd in rds:
                rows.append((name.to_text(omit_final_dot=True).lower(), dns.rdatatype.to_text(rds.rdtype),
                             rd.to_text(), rds.ttl))
    return rows


def write_pdns(d, path):
    tmp = path + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    db = sqlite3.connect(tmp)
    schema = None
    for p in ("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql",
              "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql"):
        if os.path.exists(p):
            schema = open(p).read()
            break
    if schema is None:
        sys.exit("gen.py: PowerDNS's gsqlite3 schema is missing: install pdns-backend-sqlite3")
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    # Indexes after the rows: much faster.
    create, indexes = [], []
    for stmt in schema.split(";"):
        (indexes if "CREATE INDEX" in stmt or "CREATE UNIQUE INDEX" in stmt else create).append(stmt)
    db.executescript(";".join(create))
    db.execute("INSERT INTO domains(id, name, type) VALUES (1, ?, 'NATIVE')", (ZONE,))
    rows = []
    for name, typ, content, ttl in apex_rows():
        rows.append((1, name, typ, content, ttl, 0, None, 1))
    # Empty non-terminals: rows with a NULL type, as `pdnsutil rectify-zone` writes them.
    ents = {f"dkim.{ZONE}", f"rp.{ZONE}", f"dmarc.{ZONE}", f"_report._dmarc.{ZONE}"}
    db.executemany("INSERT INTO records(domain_id, name, type, content, ttl, prio, ordername, auth) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    ins = ("INSERT INTO records(domain_id, name, type, content, ttl, prio, ordername, auth) "
           "VALUES (1, ?, ?, ?, 3600, ?, NULL, 1)")
    batch = []
    for i in range(d.n):
        for owner, typ, rdata in records(d, i):
            name = f"{owner}.{ZONE}"
            if typ == "MX":  # gsqlite3 keeps the preference in prio
                pref, host = rdata.split(None, 1)
                batch.append((name, typ, host, int(pref)))
            else:
                batch.append((name, typ, rdata, 0))
        t = d.tokens[i]
        batch.append((f"{t}.dkim.{ZONE}", None, None, 0))
        labels = d.names[i].split(".")
        for k in range(1, len(labels)):
            ents.add(".".join(labels[k:]) + f"._report._dmarc.{ZONE}")
        if len(batch) > 100000:
            db.executemany(ins, batch)
            batch = []
    db.executemany(ins, batch)
    db.executemany(ins, [(e, None, None, 0) for e in sorted(ents)])
    db.executescript(";".join(indexes))
    db.commit()
    db.execute("ANALYZE")
    db.commit()
    db.close()
    os.rename(tmp, path)


def pick_domain_zipf(rng, n, perm):
    """A Zipf(ZIPF_S) sampler over the n domains, rank r mapped to domain perm[r]."""
    w = [1.0 / (r + 1) ** ZIPF_S for r in range(n)]
    cum, s = [], 0.0
    for x in w:
        s += x
        cum.append(s)
    def draw(k):
        return [perm[r] for r in rng.choices(range(n), cum_weights=cum, k=k)]
    return draw


def query_kinds(rng, k):
    """k query kinds following the mix."""
    return rng.choices(["dkim1", "dkim2", "dkim3", "spf", "mx", "nx", "nodata"],
                       weights=[56, 7, 7, 7.5, 7.5, 10, 5], k=k)


def nx_token(d, rng):
    while True:
        t = "".join(rng.choices(B32, k=16))
        if t not in d.token_set:
            return t


def query_line(d, rng, kind, i):
    t = d.tokens[i]
    if kind.startswith("dkim"):
        return f"{PREFIX}{kind[4]}.{t}.dkim.{ZONE} TXT"
    if kind == "spf":
        return f"{t}.rp.{ZONE} TXT"
    if kind == "mx":
        return f"{t}.rp.{ZONE} MX"
    if kind == "nx":
        return f"{PREFIX}1.{nx_token(d, rng)}.dkim.{ZONE} TXT"
    return f"{t}.rp.{ZONE} AAAA"


def write_queries(d, path, domains, rng):
    kinds = query_kinds(rng, len(domains))
    with open(path + ".tmp", "w") as f:
        for kind, i in zip(kinds, domains):
            f.write(query_line(d, rng, kind, i) + "\n")
    os.rename(path + ".tmp", path)


def expected(d, rng, kind, i):
    """(qname, qtype, rcode, [(owner, type, ttl, rdata text)]) for a check name."""
    t = d.tokens[i]
    if kind.startswith("dkim"):
        q = f"{PREFIX}{kind[4]}.{t}.dkim.{ZONE}."
        v = dkim_value(d.pubs[i]) if kind == "dkim1" else EMPTY_DKIM
        return q, "TXT", "NOERROR", [[q, "TXT", TTL, txt_presentation(v)]]
    if kind == "spf":
        q = f"{t}.rp.{ZONE}."
        return q, "TXT", "NOERROR", [[q, "TXT", TTL, txt_presentation(SPF)]]
    if kind == "mx":
        q = f"{t}.rp.{ZONE}."
        return q, "MX", "NOERROR", [[q, "MX", TTL, MX]]
    if kind == "dmarc":
        q = f"{t}.dmarc.{ZONE}."
        return q, "TXT", "NOERROR", [[q, "TXT", TTL, txt_presentation(DMARC)]]
    if kind == "report":
        q = f"{d.names[i]}._report._dmarc.{ZONE}."
        return q, "TXT", "NOERROR", [[q, "TXT", TTL, txt_presentation("v=DMARC1")]]
    if kind == "nx":
        return f"{PREFIX}1.{nx_token(d, rng)}.dkim.{ZONE}.", "TXT", "NXDOMAIN", []
    if kind == "ent":
        return f"{t}.dkim.{ZONE}.", "TXT", "NOERROR", []
    return f"{t}.rp.{ZONE}.", "AAAA", "NOERROR", []


def write_check(d, path, rng):
    kinds = rng.choices(["dkim1", "dkim2", "dkim3", "spf", "mx", "dmarc", "report", "nx", "nodata", "ent"],
                        weights=[50, 5, 5, 7, 7, 5, 5, 8, 4, 4], k=CHECK_NAMES)
    doms = [rng.randrange(d.n) for _ in kinds]
    # the last domain, so a server that loads in order is only ready once all is in
    kinds[0], doms[0] = "dkim1", d.n - 1
    checks = [expected(d, rng, k, i) for k, i in zip(kinds, doms)]
    checks += [[f"{ZONE}.", "NS", "NOERROR", [[f"{ZONE}.", "NS", TTL, f"ns{k}.{ZONE}."] for k in (1, 2)]],
               [f"_spf.{ZONE}.", "TXT", "NOERROR",
                [[f"_spf.{ZONE}.", "TXT", TTL, '"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"']]],
               [f"dkim.{ZONE}.", "TXT", "NOERROR", []], [f"rp.{ZONE}.", "A", "NOERROR", []]]
    with open(path + ".tmp", "w") as f:
        json.dump(checks, f)
    os.rename(path + ".tmp", path)


def store_schema_version(dnsdctl):
    """The schema version a new store gets from this dnsdctl."""
    import tempfile
    with tempfile.TemporaryDirectory() as td:
        db = os.path.join(td, "s.db")
        subprocess.run([dnsdctl, "--db", db, "init", "--zone", ZONE], check=True, capture_output=True)
        return sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0]


def build_store(datadir, dnsdctl, meta):
    """dnsd's store in DIR/store/ (store.db, and keys/ with the real keys' copies)."""
    sd = os.path.join(datadir, "store")
    want = store_schema_version(dnsdctl)
    if os.path.exists(os.path.join(sd, "store.db")) and meta.get("store_schema") == want:
        return False
    tmpd = os.path.join(datadir, "store.tmp")
    shutil.rmtree(tmpd, ignore_errors=True)
    os.makedirs(tmpd)
    tdb = os.path.join(tmpd, "store.db")
    zf = os.path.join(ROOT, "zones", "demo.zone")
    # The zone file on every command: dnsdctl takes paths from its command line or config
    # file only, never from the store (the SPF include check needs it).
    ctl = [dnsdctl, "--db", tdb, "--zone-file", zf]
    for args in (["init", "--zone", ZONE, "--selector-prefix", PREFIX, "--slots", str(SLOTS)],
                 ["tenant", "add", "bench"], ["spf", "set", SPF], ["mx", "set", MX], ["dmarc", "set", DMARC]):
        subprocess.run(ctl + args, check=True, stdout=subprocess.DEVNULL)
    t0 = time.monotonic()
    subprocess.run(ctl + ["import", os.path.join(datadir, "import.csv"), "--tenant", "bench"], check=True,
                   stdout=subprocess.DEVNULL)
    meta["import_seconds"] = round(time.monotonic() - t0, 2)
    meta["store_schema"] = want
    shutil.rmtree(sd, ignore_errors=True)
    os.rename(tmpd, sd)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int)
    ap.add_argument("--data")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("BENCH_SEED", "1")))
    ap.add_argument("--dnsdctl", default=os.path.join(ROOT, "build", "dnsdctl"))
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--no-store", action="store_true", help="skip dnsd's store")
    a = ap.parse_args()
    datadir = a.data or os.path.join(HERE, "data", str(a.n))
    os.makedirs(datadir, exist_ok=True)
    mpath = os.path.join(datadir, "meta.json")
    meta = {}
    if os.path.exists(mpath):
        meta = json.load(open(mpath))
    stamp = {"gen_version": GEN_VERSION, "n": a.n, "seed": a.seed}
    fresh = a.force or meta.get("stamp") != stamp
    if fresh:
        t0 = time.monotonic()
        print(f"gen: {a.n} domains into {datadir} (seed {a.seed})", file=sys.stderr, flush=True)
        shutil.rmtree(os.path.join(datadir, "store"), ignore_errors=True)
        meta = {}
        d = Data(a.n, a.seed, datadir)
        write_csv(d, os.path.join(datadir, "import.csv"))
        write_zone(d, os.path.join(datadir, "zone.txt"))
        print("gen: zone file written; PowerDNS database ...", file=sys.stderr, flush=True)
        write_pdns(d, os.path.join(datadir, "pdns.sqlite3"))
        qrng = random.Random(f"queries-{a.seed}-{a.n}")
        write_queries(d, os.path.join(datadir, "q-uniform.txt"),
                      [qrng.randrange(a.n) for _ in range(QLINES)], qrng)
        perm = list(range(a.n))
        qrng.shuffle(perm)
        write_queries(d, os.path.join(datadir, "q-zipf.txt"), pick_domain_zipf(qrng, a.n, perm)(QLINES), qrng)
        write_check(d, os.path.join(datadir, "check.json"), random.Random(f"check-{a.seed}-{a.n}"))
        with open(os.path.join(datadir, "domains.tsv"), "w") as f:  # for the live change test
            for i in range(a.n):
                f.write(f"{d.names[i]}\t{d.tokens[i]}\n")
        json.dump([{"domain": d.names[i], "token": d.tokens[i], "pem": d.real[i], "selector": f"{PREFIX}1"}
                   for i in sorted(d.real)], open(os.path.join(datadir, "real.json"), "w"), indent=1)
        meta.update(stamp=stamp, n=a.n, seed=a.seed, zone=ZONE, records_per_domain=7,
                    query_lines=QLINES, zipf_s=ZIPF_S, gen_seconds=round(time.monotonic() - t0, 1))
        json.dump(meta, open(mpath, "w"), indent=1)
        print(f"gen: done in {meta['gen_seconds']} s", file=sys.stderr, flush=True)
    if not a.no_store:
        if build_store(datadir, a.dnsdctl, meta):
            json.dump(meta, open(mpath, "w"), indent=1)
            print(f"gen: dnsd store imported in {meta['import_seconds']} s", file=sys.stderr, flush=True)
    print(datadir)


if __name__ == "__main__":
    main()
