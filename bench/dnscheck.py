"""A small UDP client for the benchmark: sends many queries with a window of outstanding ones,
compares answers with gen.py's expected ones, and polls names until they change."""
import json, select, socket, time

import dns.flags, dns.message, dns.rcode, dns.rdatatype


def wire(qname, qtype, qid):
    m = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
    m.flags &= ~dns.flags.RD
    m.id = qid
    return m.to_wire()


class Blaster:
    """Sends queries (a list of wire messages, ids = their index mod 65536) to 127.0.0.1:port
    and calls on_reply(index, data, monotonic time) for each answer; retries nothing."""

    def __init__(self, port, window=200):
        self.addr = ("127.0.0.1", port)
        self.window = window
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.s.setblocking(False)

    def close(self):
        self.s.close()

    def run(self, msgs, indices, on_reply, timeout=0.5):
        """Sends msgs[i] for i in indices; returns the indices that got no answer in time."""
        todo = list(indices)
        todo.reverse()
        out = {}  # id -> index
        last = time.monotonic()
        while todo or out:
            while todo and len(out) < self.window:
                i = todo.pop()
                qid = i & 0xFFFF
                out[qid] = i
                try:
                    self.s.sendto(msgs[i], self.addr)
                except BlockingIOError:
                    todo.append(i)
                    del out[qid]
                    break
                except OSError:  # ICMP unreachable from an earlier query: not listening yet
                    pass
            r, _, _ = select.select([self.s], [], [], min(0.05, timeout))
            now = time.monotonic()
            if r:
                while True:
                    try:
                        data = self.s.recv(65535)
                    except BlockingIOError:
                        break
                    except OSError:
                        continue
                    if len(data) < 12:
                        continue
                    qid = (data[0] << 8) | data[1]
                    i = out.pop(qid, None)
                    if i is not None:
                        on_reply(i, data, time.monotonic())
                last = now
            elif now - last > timeout:
                lost = list(out.values())
                out.clear()
                return lost + todo[::-1]
        return []


def answer_of(data):
    """(rcode text, aa, sorted [(owner, type, ttl, rdata)], has SOA in authority)."""
    m = dns.message.from_wire(data)
    ans = []
    for rrset in m.answer:
        for rd in rrset:
            ans.append([rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype), rrset.ttl,
                        rd.to_text()])
    soa = any(r.rdtype == dns.rdatatype.SOA for r in m.authority)
    return dns.rcode.to_text(m.rcode()), bool(m.flags & dns.flags.AA), sorted(ans), soa


class Checker:
    """gen.py's check.json: [qname, qtype, rcode, expected answer] each."""

    def __init__(self, path):
        self.checks = json.load(open(path))
        self.msgs = [wire(q, t, i & 0xFFFF) for i, (q, t, _, _) in enumerate(self.checks)]
        for c in self.checks:
            c[3] = sorted(c[3])

    def ok(self, i, data):
        qname, qtype, rcode, want = self.checks[i]
        try:
            rc, aa, ans, soa = answer_of(data)
        except Exception:
            return False
        if rc != rcode or not aa or ans != want:
            return False
        return bool(ans) or soa  # negative answers carry the SOA

    def why(self, i, data):
        qname, qtype, rcode, want = self.checks[i]
        try:
            got = answer_of(data)
        except Exception as e:
            return f"{qname} {qtype}: unparsable answer: {e}"
        return f"{qname} {qtype}: want {rcode} {want}, got {got}"

    def verify(self, port, indices=None, tries=3):
        """All checks once (answers parsed after they all came): returns (bad indices, messages)."""
        b = Blaster(port)
        got = {}
        todo = list(range(len(self.checks))) if indices is None else list(indices)
        for _ in range(tries):
            todo = b.run(self.msgs, todo, lambda i, d, t: got.__setitem__(i, d))
            if not todo:
                break
        b.close()
        bad = [i for i in range(len(self.checks)) if (indices is None or i in set(indices))
               and (i not in got or not self.ok(i, got[i]))]
        why = [self.why(i, got[i]) if i in got else f"{self.checks[i][0]} {self.checks[i][1]}: no answer"
               for i in bad[:5]]
        return bad, why

    def ready(self, port, t0, alive, timeout=600.0, only_first=False):
        """Seconds from t0 until every check name answers correctly. First polls check 0 (the last
        domain generated) every 5 ms; then sends all, parsing the answers after each pass and
        re-sending the wrong ones, until all are right. The time is that of the last right answer
        (so it includes one pass of sending: see pass_seconds)."""
        b = Blaster(port)
        done = {}
        deadline = t0 + timeout

        def take0(i, data, t):
            if self.ok(i, data):
                done[i] = t
        while 0 not in done:
            if not alive():
                b.close()
                return None, "the server exited"
            if time.monotonic() > deadline:
                b.close()
                return None, "not ready in time"
            b.run(self.msgs, [0], take0, timeout=0.005)
        while not only_first and len(done) < len(self.checks):
            if not alive() or time.monotonic() > deadline:
                b.close()
                bad = [i for i in range(len(self.checks)) if i not in done][:3]
                return None, f"{len(self.checks) - len(done)} names never answered right, e.g. " + \
                    ", ".join(self.checks[i][0] for i in bad)
            got = {}
            b.run(self.msgs, [i for i in range(len(self.checks)) if i not in done],
                  lambda i, d, t: got.__setitem__(i, (d, t)), timeout=0.3)
            for i, (d, t) in got.items():
                if self.ok(i, d):
                    done[i] = t
        b.close()
        return max(done.values()) - t0, None

    def pass_seconds(self, port):
        """How long one pass of sending every check name takes against a running server: the
        floor of the ready time as measured here."""
        b = Blaster(port)
        t0 = time.monotonic()
        b.run(self.msgs, range(len(self.checks)), lambda i, d, t: None)
        b.close()
        return time.monotonic() - t0


def queries(names):
    """The TXT queries poll_changed sends, built ahead: building 1,000 of them takes this client
    tens of milliseconds, which must not count as the server's delay."""
    return [wire(n, "TXT", i & 0xFFFF) for i, n in enumerate(names)]


def matching_now(port, msgs, needles, count=50):
    """How many of the first `count` names already answer with their needle: the live test's
    guard that a needle tells new data from old (0 expected, before the change)."""
    hits = set()
    b = Blaster(port, window=100)
    b.run(msgs, range(min(count, len(msgs))), lambda i, data, t: hits.add(i) if needles[i] in data else None,
          timeout=0.5)
    b.close()
    return len(hits)


def poll_changed(port, names, needles, t_commit, timeout=10.0, sample=8, msgs=None):
    """Times when changed names answer the new data (their needle, bytes, in the answer).
    A pass over 1,000 names takes this client tens of milliseconds, too coarse: it first polls
    `sample` of them (spread over the list) every millisecond until all of those answer the new data,
    then checks every name, re-polling those not changed yet. Returns (seconds from t_commit until
    the sample all changed, seconds until every name was seen changed, names never seen changed)."""
    msgs = msgs or queries(names)
    seen = {}
    b = Blaster(port, window=100)

    def take(i, data, t):
        if i not in seen and needles[i] in data:
            seen[i] = t - t_commit
    step = max(1, len(names) // sample)
    probe = list(range(0, len(names), step))[:sample]
    end = time.monotonic() + timeout
    # one round a millisecond: polling flat out would itself be a load of tens of thousands
    # of queries a second on the server's CPU, competing with the change it waits for
    while any(i not in seen for i in probe) and time.monotonic() < end:
        t_round = time.monotonic()
        b.run(msgs, [i for i in probe if i not in seen], take, timeout=0.05)
        pause = t_round + 0.001 - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    t_sample = max(seen[i] for i in probe) if all(i in seen for i in probe) else None
    while len(seen) < len(names) and time.monotonic() < end:
        b.run(msgs, [i for i in range(len(names)) if i not in seen], take, timeout=0.2)
    b.close()
    return t_sample, (max(seen.values()) if len(seen) == len(names) else None), len(names) - len(seen)
