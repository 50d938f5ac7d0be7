"""distmetrics.py KIND SCRAPE: the metrics that dist/grafana/dnsd.json and
dist/prometheus/dnsd-alerts.yml use, of one source (KIND: dnsd, the job's file, or dnsd-api),
must all be in SCRAPE, what that source served. Prints "N used, missing: none" or the names."""
import json
import os
import re
import sys

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
JOB = ("dnsd_keys", "dnsd_check_domains", "dnsd_secondary_", "dnsd_job_", "dnsd_store_serial")


def kind(name):
    if name.startswith("dnsd_api_"):
        return "api"
    if name.startswith(JOB):
        return "job"
    return "dnsd"


dash = json.load(open(os.path.join(ROOT, "dist/grafana/dnsd.json")))
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
rules = yaml.safe_load(open(os.path.join(ROOT, "dist/prometheus/dnsd-alerts.yml")))
exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
served = {l.split("{")[0].split()[0] for l in open(sys.argv[2]) if l.strip() and l[0] != "#"}
used = {m for e in exprs for m in re.findall(r"\b(dnsd_[a-z_]+|process_resident_memory_bytes)\b", e)}
used = {m for m in used if kind(m) == sys.argv[1]}
missing = sorted(used - served)
print(len(used), "used, missing:", " ".join(missing) if missing else "none")
