#!/usr/bin/python3
"""apidomcheck: the responses of dnsd-api's tenants, domains and policies against
docs/openapi.yaml, for tests/system/apidom.sh (with apicheck.py's validator). Prints "ok - ..."
and "not ok - ..." lines.

  apidomcheck.py openapi URL PLATFORM_TOKEN ACME_TOKEN BETA_TOKEN OPENAPI_YAML
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apicheck  # noqa: E402


def openapi(url, root, acme, beta, spec_path):
    validate, seen, spec = apicheck.validator(url, spec_path)
    ct = {"Content-Type": "application/json"}
    n = os.getpid()
    t = "oa%d" % n
    # tenants
    validate("tenants", "/v1/tenants", "GET", "/v1/tenants", root, want=200)
    validate("tenants, tenant", "/v1/tenants", "GET", "/v1/tenants", acme, want=200)
    validate("tenants, no token", "/v1/tenants", "GET", "/v1/tenants", want=401)
    validate("add tenant", "/v1/tenants", "POST", "/v1/tenants", root,
             {"name": t, "slots": 2, "ed25519": False}, want=201)
    validate("add tenant again", "/v1/tenants", "POST", "/v1/tenants", root, {"name": t},
             want=409)
    validate("add tenant, bad", "/v1/tenants", "POST", "/v1/tenants", root, {"name": "a b"},
             want=400)
    validate("add tenant, as a tenant", "/v1/tenants", "POST", "/v1/tenants", acme,
             {"name": "x"}, want=403)
    validate("add tenant, text/plain", "/v1/tenants", "POST", "/v1/tenants", root, b"{}",
             {"Content-Type": "text/plain"}, want=415)
    k = {"Idempotency-Key": "oa-t-%d" % n}
    validate("add tenant, keyed", "/v1/tenants", "POST", "/v1/tenants", root,
             {"name": t + "k"}, k, want=201)
    validate("add tenant, key reused", "/v1/tenants", "POST", "/v1/tenants", root,
             {"name": t + "j"}, k, want=422)
    validate("tenant", "/v1/tenants/{tenant}", "GET", "/v1/tenants/" + t, root, want=200)
    validate("tenant, another's", "/v1/tenants/{tenant}", "GET", "/v1/tenants/beta", acme,
             want=404)
    validate("tenant policy", "/v1/tenants/{tenant}/policy", "GET",
             "/v1/tenants/%s/policy" % t, root, want=200)
    validate("tenant policy, another's", "/v1/tenants/{tenant}/policy", "GET",
             "/v1/tenants/beta/policy", acme, want=404)
    validate("put tenant policy", "/v1/tenants/{tenant}/policy", "PUT",
             "/v1/tenants/%s/policy" % t, root, {"mx": "10 mx.example.", "spf": None},
             want=200)
    validate("put tenant policy, bad", "/v1/tenants/{tenant}/policy", "PUT",
             "/v1/tenants/%s/policy" % t, root, {"mx": "mx.example."}, want=400)
    validate("put tenant policy, another's", "/v1/tenants/{tenant}/policy", "PUT",
             "/v1/tenants/acme/policy", beta, {"mx": None}, want=404)
    # policy
    validate("policy", "/v1/policy", "GET", "/v1/policy", acme, want=200)
    validate("put policy", "/v1/policy", "PUT", "/v1/policy", root,
             {"dmarc": "v=DMARC1; p=none"}, want=200)
    validate("put policy, bad", "/v1/policy", "PUT", "/v1/policy", root, {"dmarc": "p=x"},
             want=400)
    validate("put policy, as a tenant", "/v1/policy", "PUT", "/v1/policy", acme, {"mx": None},
             want=403)
    # domains
    d = "oa%d.example" % n
    validate("add domain", "/v1/domains", "POST", "/v1/domains", acme,
             {"domain": d, "algorithm": "ed25519"}, want=201)
    validate("add domain again", "/v1/domains", "POST", "/v1/domains", root,
             {"domain": d, "tenant": "acme"}, want=409)
    validate("add domain, bad", "/v1/domains", "POST", "/v1/domains", root,
             {"domain": "a..b", "tenant": "acme"}, want=400)
    validate("add domain, another tenant", "/v1/domains", "POST", "/v1/domains", acme,
             {"domain": "x" + d, "tenant": "beta"}, want=404)
    validate("add domain, malformed", "/v1/domains", "POST", "/v1/domains", root, b"{", ct,
             want=400)
    k = {"Idempotency-Key": "oa-d-%d" % n}
    validate("add domain, keyed", "/v1/domains", "POST", "/v1/domains", acme,
             {"domain": "k" + d, "algorithm": "ed25519"}, k, want=201)
    validate("add domain, key reused", "/v1/domains", "POST", "/v1/domains", acme,
             {"domain": "j" + d}, k, want=422)
    validate("domains", "/v1/domains", "GET", "/v1/domains?limit=2", root, want=200)
    validate("domains, tenant", "/v1/domains", "GET", "/v1/domains?q=oa", acme, want=200)
    validate("domains, bad limit", "/v1/domains", "GET", "/v1/domains?limit=0", root, want=400)
    validate("domains, another tenant", "/v1/domains", "GET", "/v1/domains?tenant=beta", acme,
             want=404)
    validate("domain", "/v1/domains/{domain}", "GET", "/v1/domains/" + d, acme, want=200)
    validate("domain, bad", "/v1/domains/{domain}", "GET", "/v1/domains/a..b", acme, want=400)
    validate("domain, another's", "/v1/domains/{domain}", "GET", "/v1/domains/" + d, beta,
             want=404)
    validate("records", "/v1/domains/{domain}/records", "GET", "/v1/domains/%s/records" % d,
             acme, want=200)
    validate("records, another's", "/v1/domains/{domain}/records", "GET",
             "/v1/domains/%s/records" % d, beta, want=404)
    validate("domain policy", "/v1/domains/{domain}/policy", "GET",
             "/v1/domains/%s/policy" % d, acme, want=200)
    validate("domain policy, another's", "/v1/domains/{domain}/policy", "GET",
             "/v1/domains/%s/policy" % d, beta, want=404)
    validate("put domain policy", "/v1/domains/{domain}/policy", "PUT",
             "/v1/domains/%s/policy" % d, acme, {"dmarc": "v=DMARC1; p=reject"}, want=200)
    validate("put domain policy, bad", "/v1/domains/{domain}/policy", "PUT",
             "/v1/domains/%s/policy" % d, acme, {"color": "red"}, want=400)
    validate("put domain policy, another's", "/v1/domains/{domain}/policy", "PUT",
             "/v1/domains/%s/policy" % d, beta, {"dmarc": None}, want=404)
    validate("remove domain, another's", "/v1/domains/{domain}", "DELETE", "/v1/domains/" + d,
             beta, want=404)
    validate("remove domain", "/v1/domains/{domain}", "DELETE", "/v1/domains/" + d, acme,
             want=204)
    validate("removed domain", "/v1/domains/{domain}", "GET", "/v1/domains/" + d, acme,
             want=200)
    # a tenant's removal, last: it must have no domains
    validate("remove tenant, as a tenant", "/v1/tenants/{tenant}", "DELETE", "/v1/tenants/" + t,
             acme, want=403)
    validate("remove tenant with domains", "/v1/tenants/{tenant}", "DELETE", "/v1/tenants/acme",
             root, want=409)
    validate("remove tenant", "/v1/tenants/{tenant}", "DELETE", "/v1/tenants/" + t, root,
             want=204)
    validate("remove tenant, gone", "/v1/tenants/{tenant}", "DELETE", "/v1/tenants/" + t, root,
             want=404)
    apicheck.coverage(spec, seen, ["/v1/tenants", "/v1/tenants/{tenant}",
                                   "/v1/tenants/{tenant}/policy", "/v1/policy", "/v1/domains",
                                   "/v1/domains/{domain}", "/v1/domains/{domain}/records",
                                   "/v1/domains/{domain}/policy"])


if __name__ == "__main__":
    if sys.argv[1] == "openapi":
        openapi(*sys.argv[2:7])
    sys.exit(1 if apicheck.failed else 0)
