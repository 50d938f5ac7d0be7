#!/usr/bin/python3
"""apicheck: the python3 side of tests/system/api.sh: clients that curl cannot play (a slow
client, 64 at once, a writer holding the store's lock) and the check of the server's real
responses against docs/openapi.yaml's schemas (python3-jsonschema, python3-yaml). Prints
"ok - ..." and "not ok - ..." lines, which api.sh counts.

  apicheck.py openapi URL PLATFORM_TOKEN ACME_TOKEN BETA_TOKEN OPENAPI_YAML
  apicheck.py check URL PLATFORM_TOKEN ACME_TOKEN BETA_TOKEN OPENAPI_YAML DOMAIN
  apicheck.py slow URL TOKEN TIMEOUT
  apicheck.py concurrent URL TOKEN CLIENTS
  apicheck.py limit URL TOKEN MAX_CONNECTIONS
  apicheck.py lockhold DB RELEASE_FILE
  apicheck.py responses OPENAPI_YAML MANIFEST PATH_REGEX
"""
import http.client
import json
import os
import re
import socket
import sqlite3
import sys
import threading
import time
import urllib.parse

failed = 0


def check(desc, cond, detail=""):
    global failed
    if cond:
        print("ok - " + desc, flush=True)
    else:
        failed += 1
        print("not ok - " + desc + (": " + str(detail) if detail else ""), flush=True)


def conn(url, timeout=10):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)


def request(url, method, path, token=None, body=None, headers=None, c=None):
    """One request: (status, headers, parsed JSON or None, raw body)."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    own = c is None
    c = c or conn(url)
    try:
        try:
            c.request(method, path, body=body, headers=h)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the body was read (413): the reply is there to read
        r = c.getresponse()
        raw = r.read()
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return r.status, r.headers, doc, raw
    finally:
        if own:
            c.close()


# ---- OpenAPI ----

def to_jsonschema(s):
    """OpenAPI 3.0's schema dialect into JSON Schema: nullable becomes a null alternative."""
    if isinstance(s, list):
        return [to_jsonschema(x) for x in s]
    if not isinstance(s, dict):
        return s
    s = {k: to_jsonschema(v) for k, v in s.items()}
    if s.pop("nullable", False):
        return {"anyOf": [{k: v for k, v in s.items() if k != "description"}, {"type": "null"}]}
    return s


def validator(url, spec_path):
    """(validate, seen, spec): validate(desc, pattern, method, path, token, body, headers, want)
    sends one request and checks its response against spec_path's schema for pattern, method and
    the status; seen collects the (pattern, method, status) checked."""
    import jsonschema
    import yaml

    spec = yaml.safe_load(open(spec_path))
    components = to_jsonschema(spec["components"])

    def resolve(o):
        while isinstance(o, dict) and "$ref" in o and o["$ref"].startswith("#/components/responses/"):
            o = spec["components"]["responses"][o["$ref"].split("/")[-1]]
        return o

    def schema_for(pattern, method, status):
        op = spec["paths"].get(pattern, {}).get(method.lower())
        if op is None:
            return None, "no such operation"
        resp = op["responses"].get(str(status))
        if resp is None:
            return None, "status %d not documented" % status
        resp = resolve(resp)
        content = resp.get("content")
        if not content:
            return {}, None
        return content["application/json"]["schema"], None

    seen = set()

    def validate(desc, pattern, method, path, token=None, body=None, headers=None, want=None):
        st, hd, doc, raw = request(url, method, path, token, body, headers)
        if want is not None and st != want:
            check(desc + ": status %d" % want, False, "got %d %s" % (st, raw[:200]))
            return doc
        if pattern is None:
            schema, why = {"$ref": "#/components/schemas/Error"}, None
        else:
            schema, why = schema_for(pattern, method, st)
        if schema is None:
            check("%s: %s %s %d is in openapi.yaml" % (desc, method, pattern, st), False, why)
            return doc
        seen.add((pattern, method.lower(), str(st)))
        if schema == {}:
            check("%s: %s %s %d has no body" % (desc, method, path, st), raw == b"", raw[:100])
            return doc
        if st != 204:
            check("%s: Content-Type is JSON" % desc, hd.get("Content-Type") == "application/json",
                  hd.get("Content-Type"))
        full = dict(to_jsonschema(schema))
        full["components"] = components
        try:
            jsonschema.Draft7Validator(full).validate(doc)
            check("%s: %s %s %d matches openapi.yaml" % (desc, method, path, st), True)
        except jsonschema.ValidationError as e:
            check("%s: %s %s %d matches openapi.yaml" % (desc, method, path, st), False,
                  "%s at %s in %s" % (e.message, list(e.absolute_path), raw[:300]))
        return doc

    return validate, seen, spec


def coverage(spec, seen, paths):
    """Every documented response of the paths named (each test checks its own) that a test can
    bring about on demand was seen; 503 has its own test (the lock), and its body is the Error
    checked."""
    for p in paths:
        check("openapi.yaml has %s" % p, p in spec["paths"])
    for p, ops in spec["paths"].items():
        if p not in paths:
            continue
        for m, op in ops.items():
            if m == "parameters":
                continue
            for st in op["responses"]:
                if st == "503":
                    continue
                check("openapi.yaml's %s %s %s was seen" % (m.upper(), p, st),
                      (p, m, st) in seen)


def openapi(url, root, tenant, tenant_other, spec_path):
    validate, seen, spec = validator(url, spec_path)
    ct = {"Content-Type": "application/json"}
    validate("status, platform", "/v1/status", "GET", "/v1/status", root, want=200)
    validate("status, tenant", "/v1/status", "GET", "/v1/status", tenant, want=200)
    validate("status, no token", "/v1/status", "GET", "/v1/status", want=401)
    validate("status, bad token", "/v1/status", "GET", "/v1/status", "dnsd_" + "0" * 64, want=401)
    validate("tokens", "/v1/tokens", "GET", "/v1/tokens", root, want=200)
    validate("tokens, tenant", "/v1/tokens", "GET", "/v1/tokens", tenant, want=200)
    validate("tokens, no token", "/v1/tokens", "GET", "/v1/tokens", want=401)
    name = "oa-%d" % os.getpid()
    new = validate("add", "/v1/tokens", "POST", "/v1/tokens", root,
                   {"name": name, "tenant": "acme"}, want=201)
    validate("add again", "/v1/tokens", "POST", "/v1/tokens", root,
             {"name": name, "tenant": "acme"}, want=409)
    validate("add, malformed", "/v1/tokens", "POST", "/v1/tokens", root, b"{", ct, want=400)
    validate("add, no name", "/v1/tokens", "POST", "/v1/tokens", root, {"tenant": "acme"}, want=400)
    validate("add, as a tenant", "/v1/tokens", "POST", "/v1/tokens", tenant,
             {"name": "x", "tenant": "acme"}, want=403)
    validate("add, no token", "/v1/tokens", "POST", "/v1/tokens", None, {"name": "x"}, want=401)
    validate("add, text/plain", "/v1/tokens", "POST", "/v1/tokens", root, b"{}",
             {"Content-Type": "text/plain"}, want=415)
    validate("add, too large", "/v1/tokens", "POST", "/v1/tokens", root,
             b" " * (1024 * 1024 + 1), ct, want=413)
    k = {"Idempotency-Key": "oa-%d" % os.getpid()}
    validate("add, keyed", "/v1/tokens", "POST", "/v1/tokens", root,
             {"name": name + "-k", "tenant": "acme"}, k, want=201)
    validate("add, key reused", "/v1/tokens", "POST", "/v1/tokens", root,
             {"name": name + "-other", "tenant": "acme"}, k, want=422)
    if new and "token" in new:
        # A tenant's token is told 404 for another tenant's token, as for none at all.
        validate("revoke, another tenant's", "/v1/tokens/{name}", "DELETE", "/v1/tokens/" + name,
                 tenant_other, want=404)
        validate("revoke", "/v1/tokens/{name}", "DELETE", "/v1/tokens/" + name, new["token"],
                 want=204)
    validate("revoke, gone", "/v1/tokens/{name}", "DELETE", "/v1/tokens/" + name, root, want=404)
    validate("revoke, no token", "/v1/tokens/{name}", "DELETE", "/v1/tokens/x", want=401)
    validate("unknown path", None, "GET", "/v1/nothing", root, want=404)
    validate("wrong method", None, "PUT", "/v1/status", root, want=405)
    coverage(spec, seen, ["/v1/status", "/v1/tokens", "/v1/tokens/{name}"])


# The key resources' paths: tests/system/apikeys.sh brings their responses about.
KEY_PATHS = re.compile(r"/keys(/|$)|/selectors/")


def responses(spec_path, manifest, path_regex):
    """The responses a shell test recorded (MANIFEST: one "METHOD PATTERN STATUS FILE" a line,
    FILE the body) against openapi.yaml; then every documented response of the paths matching
    PATH_REGEX was among them (503 aside: api.sh's lock test brings it about)."""
    import jsonschema
    import yaml

    spec = yaml.safe_load(open(spec_path))
    components = to_jsonschema(spec["components"])
    seen = set()
    for line in open(manifest):
        method, pattern, status, path = line.split()
        op = spec["paths"].get(pattern, {}).get(method.lower())
        resp = op["responses"].get(status) if op else None
        if pattern == "-":  # no operation (405): the Error body
            resp = {"$ref": "#/components/responses/BadRequest"}
        desc = "%s %s %s" % (method, pattern, status)
        if resp is None:
            check(desc + " is in openapi.yaml", False)
            continue
        seen.add((pattern, method.lower(), status))
        while "$ref" in resp:
            resp = spec["components"]["responses"][resp["$ref"].split("/")[-1]]
        raw = open(path, "rb").read()
        if not resp.get("content"):
            check(desc + " has no body", raw == b"", raw[:100])
            continue
        full = dict(to_jsonschema(resp["content"]["application/json"]["schema"]))
        full["components"] = components
        try:
            jsonschema.Draft7Validator(full).validate(json.loads(raw))
            check(desc + " matches openapi.yaml", True)
        except (ValueError, jsonschema.ValidationError) as e:
            check(desc + " matches openapi.yaml", False,
                  "%s at %s in %s" % (getattr(e, "message", e), list(getattr(e, "absolute_path", [])),
                                      raw[:300]))
    want = re.compile(path_regex)
    for p, ops in spec["paths"].items():
        if not want.search(p):
            continue
        for m, op in ops.items():
            if m == "parameters":
                continue
            for st in op["responses"]:
                if st != "503":
                    check("openapi.yaml's %s %s %s was seen" % (m.upper(), p, st),
                          (p, m, st) in seen)


def check_api(url, root, tenant, tenant_other, spec_path, domain):
    """The check's resource (GET and POST /v1/domains/{domain}/check, domain a tenant's, in
    place): each documented reply brought about and checked against openapi.yaml."""
    validate, seen, spec = validator(url, spec_path)
    pat = "/v1/domains/{domain}/check"
    path = "/v1/domains/%s/check" % domain
    for m in ("GET", "POST"):
        validate("check, platform", pat, m, path, root, want=200)
        validate("check, its tenant", pat, m, path, tenant, want=200)
        validate("check, another tenant", pat, m, path, tenant_other, want=404)
        validate("check, no such domain", pat, m, "/v1/domains/none.example/check", root, want=404)
        validate("check, not a domain name", pat, m, "/v1/domains/a..b/check", root, want=400)
        validate("check, no token", pat, m, path, want=401)
    coverage(spec, seen, [pat])


# ---- slow clients ----

def slow(url, token, timeout):
    """Clients that send their headers a byte at a time and stall: the others are served
    meanwhile, and the stalled ones are cut off after the server's idle timeout."""
    u = urllib.parse.urlsplit(url)
    head = b"GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode()
    stalled = []
    for _ in range(32):
        s = socket.create_connection((u.hostname, u.port))
        stalled.append(s)
    t0 = time.monotonic()
    for i in range(len(head)):
        for s in stalled[:4]:
            s.send(head[i:i + 1])
        time.sleep(0.002)
    for s in stalled[4:]:
        s.send(head[:20])
    times = []
    for _ in range(20):
        a = time.monotonic()
        st, _, doc, _ = request(url, "GET", "/v1/status", token)
        times.append(time.monotonic() - a)
        if st != 200:
            break
    check("32 stalled clients: 20 others are served", st == 200 and len(times) == 20, st)
    check("... each within 0.5 s (slowest %.3f s)" % max(times), max(times) < 0.5)
    closed = 0
    deadline = t0 + timeout + 5
    for s in stalled:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            data = s.recv(4096)
            closed += data == b"" or data.startswith(b"HTTP/1.1 408")
        except (socket.timeout, ConnectionResetError):
            closed += 0 if isinstance(sys.exc_info()[1], socket.timeout) else 1
        s.close()
    took = time.monotonic() - t0
    check("the 32 stalled clients were cut off (%d), after about the %d s timeout (%.1f s)"
          % (closed, timeout, took), closed == 32 and timeout - 0.5 <= took <= timeout + 5)


# ---- many clients ----

def concurrent(url, token, clients):
    """clients threads at once, each with its own keep-alive connection: reads, then one write
    each; every request answered, none lost."""
    results = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def one(i):
        c = conn(url, timeout=30)
        out = []
        try:
            start.wait()
            for _ in range(10):
                out.append(request(url, "GET", "/v1/status", token, c=c)[0])
            out.append(request(url, "POST", "/v1/tokens", token,
                               {"name": "c%d-%d" % (os.getpid(), i), "tenant": "acme"}, c=c)[0])
        except Exception as e:  # a lost request is a result too
            out.append(repr(e))
        finally:
            c.close()
        with lock:
            results.extend(out)

    t0 = time.monotonic()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    took = time.monotonic() - t0
    reads = [r for r in results if r == 200]
    writes = [r for r in results if r == 201]
    other = [r for r in results if r not in (200, 201)]
    check("%d clients at once: %d reads answered 200 (%.2f s)" % (clients, len(reads), took),
          len(reads) == clients * 10, other[:5])
    check("... and %d writes answered 201" % len(writes), len(writes) == clients, other[:5])
    _, _, doc, _ = request(url, "GET", "/v1/tokens", token)
    made = [t for t in doc["tokens"] if t["name"].startswith("c%d-" % os.getpid())]
    check("... and the store has the %d tokens" % clients, len(made) == clients, len(made))


def limit(url, token, most):
    """most connections held open (half a request each, within the idle timeout): one more
    waits unanswered in the listen queue, taking no memory of the server's, and is served once
    they close."""
    u = urllib.parse.urlsplit(url)
    held = []
    for _ in range(most):
        s = socket.create_connection((u.hostname, u.port))
        s.send(b"GET /v1/status HTTP/1.1\r\n")
        held.append(s)
    time.sleep(0.2)
    c = conn(url, timeout=1)
    try:
        st = request(url, "GET", "/v1/status", token, c=c)[0]
    except (ConnectionError, http.client.HTTPException, socket.timeout) as e:
        st = type(e).__name__
    c.close()
    check("with %d connections open, one more is not answered (%s)" % (most, st), st != 200, st)
    for s in held:
        s.close()
    st = request(url, "GET", "/v1/status", token)[0]
    check("... and once they close, requests are served again", st == 200, st)


def lockhold(db, release):
    """Holds the store's write lock, as another writer would, until release exists (30 s at
    most)."""
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    end = time.monotonic() + 30
    while not os.path.exists(release) and time.monotonic() < end:
        time.sleep(0.02)
    c.execute("ROLLBACK")
    c.close()
    print("released", flush=True)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "openapi":
        openapi(*sys.argv[2:7])
    elif cmd == "check":
        check_api(*sys.argv[2:8])
    elif cmd == "slow":
        slow(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "concurrent":
        concurrent(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "limit":
        limit(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "lockhold":
        lockhold(sys.argv[2], sys.argv[3])
    elif cmd == "responses":
        responses(sys.argv[2], sys.argv[3], sys.argv[4])
    sys.exit(1 if failed else 0)
