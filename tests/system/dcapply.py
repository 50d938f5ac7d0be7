#!/usr/bin/python3
"""dcapply.py: applies a Domain Connect template the way a DNS host does, for the
system tests (Domain Connect 2.1, "Template Record" and "Variables and Host"):
every %variable% in a record's host and pointsTo is replaced by its value (the
built-in domain, host and fqdn, and those given), "@" stands for the fqdn, a
host is relative to the fqdn, and a pointsTo name is absolute (an implicit
final dot). A variable without a value, or a record type this test does not
apply, fails the application, as a DNS host refuses it.

  dcapply.py TEMPLATE.json DOMAIN [HOST] [--groups G1,G2] [VAR=VALUE ...]
      prints the records as zone-file lines, "OWNER TTL IN TYPE TARGET", sorted
"""
import json
import re
import sys


def main(argv):
    tpl_path, domain = argv[0], argv[1].rstrip(".").lower()
    rest = argv[2:]
    host, groups, values = "", None, {}
    i = 0
    while i < len(rest):
        a = rest[i]
        if a == "--groups":
            groups = set(rest[i + 1].split(","))
            i += 2
            continue
        if "=" in a:
            k, v = a.split("=", 1)
            values[k.lower()] = v
        else:
            host = a.lower()
        i += 1
    fqdn = (host + "." if host else "") + domain + "."
    values.update({"domain": domain, "host": host, "fqdn": fqdn})
    with open(tpl_path) as f:
        tpl = json.load(f)

    def subst(s):
        def one(m):
            k = m.group(1).lower()
            if k not in values:
                raise SystemExit("dcapply: no value for the variable %%%s%%" % k)
            return values[k]
        return re.sub(r"%([A-Za-z0-9_-]+)%", one, s)

    out = []
    for r in tpl["records"]:
        if groups is not None and r.get("groupId") not in groups:
            continue
        if r["type"] != "CNAME":
            raise SystemExit("dcapply: record type %s is not applied by this test" % r["type"])
        h = subst(r["host"])
        owner = fqdn if h in ("@", "") else h + "." + fqdn
        t = subst(r["pointsTo"])
        target = fqdn if t == "@" else (t if t.endswith(".") else t + ".")
        out.append("%s %d IN CNAME %s" % (owner.lower(), int(r["ttl"]), target.lower()))
    print("\n".join(sorted(out)))


if __name__ == "__main__":
    main(sys.argv[1:])
