#!/usr/bin/python3
"""hostile.py: the raw-wire probe of hostile.sh and faults.sh: what a resolver, a
broken client or an attacker sends, and what dnsd sends back.

Every command takes the server's address and port first (127.0.0.1, ::1, or any
address inside a network namespace). Output is one line per result, key=value
fields, for the shell checks to compare.

  hostile.py HOST PORT batch
      reads query specs from stdin, one a line: LABEL NAME TYPE [opts]; prints
      "LABEL <summary>" per line, summary as in `sum` below, "none" on silence,
      "refused" when nothing listens. opts:
        --tcp  --src ADDR  --noedns  --norec  --bufsize N  --do  --ednsver V
        --opt CODE:HEX (an EDNS option, repeatable)  --nsid  --cookie HEX
        --two-opt (a second OPT record)  --class CLASS  --opcode N  --aa
        --noq (no question: QDCOUNT 0, as a DSO message or an unknown opcode may be)
      summary: rcode=R opcode=O flags=qr,aa,... q=NAME/TYPE/CLASS|- an=TYPE/n,...|0
               ns=TYPE/owner/ttl,...|0 opt=version/size/do|none opts=CODE:HEX,...|-
               id=ok|bad size=N txt=<first TXT rdata joined, spaces kept; always last>
  hostile.py HOST PORT garbage ZONE     malformed UDP and TCP messages, all at once;
      one line each: "udp|tcp CASE <reply>", reply one of: none, refused,
      "RCODE qr|noqr id=ok|bad fits|big(N)" (fits: at most 512 octets); then
      "beside asked=N answered=M" for a client on 127.0.1.1 asking throughout.
  hostile.py HOST PORT fuzz ZONE N SEED   N mutants of valid queries, paced; prints
      "fuzz sent=N replies=R qr_replied=A bad_header=B too_big=C" and up to 5
      "example ..." lines (hex of the offending message), then a beside line.
  hostile.py HOST PORT pipeline SPLIT NAME...  TXT queries for the names on one TCP
      connection, written at once (SPLIT 0) or in SPLIT-octet pieces; answers are
      matched by ID to queries and compared with the same query asked alone;
      prints "pipeline sent=N answered=M same=K".
  hostile.py HOST PORT timeouts NAME    concurrent TCP clients: silent, one octet of a
      length prefix, half a message, reuse after a pause, a message in three pieces;
      prints the seconds each connection lived ("open" if still open after 8 s).
  hostile.py HOST PORT limits NAME PER_CLIENT TOTAL  TCP connection limits; key=value.
  hostile.py HOST PORT stall NAME       50 silent connections, 5 half-sent queries, a
      half-closed one and a reader that never reads, all from 127.0.0.9; then timed
      UDP and TCP queries from 127.0.0.1; key=value.
  hostile.py HOST PORT flood NAME COUNT SECONDS SRC [--good SRC] [--other NAME]
      [--same SRC] [--tcp]   COUNT UDP queries for NAME from SRC over SECONDS, without
      waiting for answers; probes during the flood; key=value.
  hostile.py HOST PORT sigterm NAME N PID  N pipelined queries on one TCP connection
      (and a stalled and an idle connection beside), SIGTERM to PID before reading any
      answer, then reads them all: "asked=N answered=M read_secs=S killed_at=EPOCH".
  hostile.py HOST PORT update ZONE       DNS UPDATE adding and deleting records, over
      UDP and TCP: "update udp|tcp <summary>".
  hostile.py HOST PORT loop NAME TYPE SECONDS  asks every 50 ms: "asked=N answered=M
      distinct=K maxms=L" (distinct: distinct answer sections among the answers).
"""
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.update

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnsq import recv_exact, tcp_read  # noqa: E402  (the same framing as dns.sh's probe)

TIMEOUT = 2.0
GOOD_SRC = "127.0.1.1"   # a well-behaved client in another /24 than 127.0.0.1


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# ---- building queries ----

def opt_rr(size=1232, version=0, do=False, options=b""):
    ttl = (version << 16) | (0x8000 if do else 0)
    return b"\x00" + struct.pack("!HHIH", 41, size, ttl, len(options)) + options


def make_query(name, rdtype, spec):
    """A query as dnspython builds it, then adjusted to the spec, as wire."""
    rdclass = dns.rdataclass.from_text(spec.get("class", "IN"))
    m = dns.message.make_query(name, rdtype, rdclass=rdclass, use_edns=False)
    if spec.get("norec"):
        m.flags &= ~dns.flags.RD
    else:
        m.flags |= dns.flags.RD
    if spec.get("aa"):
        m.flags |= dns.flags.AA
    wire = bytearray(m.to_wire())
    if "opcode" in spec:
        wire[2] = (wire[2] & 0x87) | ((spec["opcode"] & 0x0F) << 3)
    if spec.get("noq"):
        del wire[12:]
        struct.pack_into("!H", wire, 4, 0)
    if not spec.get("noedns"):
        options = b""
        for code, data in spec.get("opts", []):
            options += struct.pack("!HH", code, len(data)) + data
        wire += opt_rr(spec.get("bufsize", 1232), spec.get("ednsver", 0), spec.get("do", False), options)
        nopt = 2 if spec.get("two_opt") else 1
        if nopt == 2:
            wire += opt_rr(spec.get("bufsize", 1232))
        struct.pack_into("!H", wire, 10, nopt)
    return bytes(wire)


# ---- transports ----

def udp_exchange(host, port, wire, src=None, timeout=TIMEOUT):
    """Returns reply bytes, None on silence, or "refused"."""
    with socket.socket(family(host), socket.SOCK_DGRAM) as s:
        if src:
            s.bind((src, 0))
        s.settimeout(timeout)
        s.connect((host, port))
        try:
            s.send(wire)
            return s.recv(65535)
        except socket.timeout:
            return None
        except ConnectionRefusedError:
            return "refused"


def tcp_connect(host, port, src=None, timeout=TIMEOUT):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    if src:
        s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def tcp_exchange(host, port, wire, src=None, timeout=TIMEOUT):
    try:
        s = tcp_connect(host, port, src, timeout)
    except ConnectionRefusedError:
        return "refused"
    with s:
        try:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            return tcp_read(s)
        except (socket.timeout, ConnectionError):
            return None


# ---- reading replies ----

def summary(wire, qwire):
    if wire is None:
        return "none"
    if wire == "refused":
        return "refused"
    idok = "ok" if len(wire) >= 2 and wire[:2] == qwire[:2] else "bad"
    try:
        r = dns.message.from_wire(wire, ignore_trailing=False)
    except Exception as e:
        return header_summary(wire, idok, e)
    flags = dns.flags.to_text(r.flags).lower().replace(" ", ",") or "-"
    if r.question:
        qq = r.question[0]
        q = "%s/%s/%s" % (qq.name.to_text(), dns.rdatatype.to_text(qq.rdtype),
                          dns.rdataclass.to_text(qq.rdclass))
    else:
        q = "-"
    an = ",".join("%s/%d" % (dns.rdatatype.to_text(rr.rdtype), len(rr)) for rr in r.answer) or "0"
    ns = ",".join("%s/%s/%d" % (dns.rdatatype.to_text(rr.rdtype), rr.name.to_text(), rr.ttl)
                  for rr in r.authority) or "0"
    if r.edns < 0:
        opt, opts = "none", "-"
    else:
        opt = "%d/%d/%s" % (r.edns, r.payload, "do" if r.ednsflags & dns.flags.DO else "-")
        opts = ",".join("%d:%s" % (o.otype, o.to_wire().hex()) for o in r.options) or "-"
    txt = ""
    for rr in r.answer:
        if rr.rdtype == dns.rdatatype.TXT:
            txt = b"".join(list(rr)[0].strings).decode("latin-1")
            break
    return "rcode=%s opcode=%s flags=%s q=%s an=%s ns=%s opt=%s opts=%s id=%s size=%d txt=%s" % (
        dns.rcode.to_text(r.rcode()), dns.opcode.to_text(r.opcode()), flags, q, an, ns, opt, opts,
        idok, len(wire), txt)


def header_summary(wire, idok, e):
    """The header's fields, for replies dnspython will not read (an opcode it does
    not know, say); parsed=header says so."""
    if len(wire) < 12:
        return "unparseable(%s) id=%s size=%d txt=" % (e.__class__.__name__, idok, len(wire))
    names = [(0x8000, "qr"), (0x0400, "aa"), (0x0200, "tc"), (0x0100, "rd"), (0x0080, "ra"),
             (0x0020, "ad"), (0x0010, "cd")]
    fl = struct.unpack("!H", wire[2:4])[0]
    qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])
    flags = ",".join(n for bit, n in names if fl & bit) or "-"
    return "rcode=%s opcode=%s flags=%s q=qd%d an=%s ns=%s opt=ar%d opts=? id=%s size=%d parsed=header(%s) txt=" % (
        dns.rcode.to_text(fl & 0x0F), dns.opcode.to_text((fl >> 11) & 0x0F), flags, qd,
        an or "0", ns or "0", ar, idok, len(wire), e.__class__.__name__)


def short(wire, qwire):
    """none / refused / "RCODE qr id=ok fits" for messages dnspython may not parse."""
    if wire is None:
        return "none"
    if wire == "refused":
        return "refused"
    if len(wire) < 12:
        return "short-reply(%d)" % len(wire)
    rcode = dns.rcode.to_text(wire[3] & 0x0F)
    qr = "qr" if wire[2] & 0x80 else "noqr"
    idok = "ok" if wire[:2] == qwire[:2] else "bad"
    fits = "fits" if len(wire) <= 512 else "big(%d)" % len(wire)
    return "%s %s id=%s %s" % (rcode, qr, idok, fits)


# ---- batch ----

def parse_spec(args):
    spec, rest = {"opts": []}, []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--tcp", "--noedns", "--norec", "--do", "--two-opt", "--aa", "--noq"):
            spec[a[2:].replace("-", "_")] = True
        elif a == "--nsid":
            spec["opts"].append((3, b""))
        elif a in ("--src", "--class"):
            i += 1
            spec[a[2:]] = args[i]
        elif a in ("--bufsize", "--ednsver", "--opcode"):
            i += 1
            spec[a[2:]] = int(args[i])
        elif a == "--opt":
            i += 1
            code, _, data = args[i].partition(":")
            spec["opts"].append((int(code), bytes.fromhex(data)))
        elif a == "--cookie":
            i += 1
            spec["opts"].append((10, bytes.fromhex(args[i])))
        else:
            rest.append(a)
        i += 1
    return spec, rest


def ask(host, port, name, rdtype, spec):
    qwire = make_query(name, rdtype, spec)
    if spec.get("tcp"):
        rep = tcp_exchange(host, port, qwire, spec.get("src"))
    else:
        rep = udp_exchange(host, port, qwire, spec.get("src"))
    return rep, qwire


def cmd_batch(host, port, _args):
    for line in sys.stdin:
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        label, rest = words[0], words[1:]
        spec, (name, rdtype) = parse_spec(rest)
        rep, qwire = ask(host, port, name, rdtype, spec)
        print("%s %s" % (label, summary(rep, qwire)), flush=True)
    return 0


# ---- a client asking beside the abuse ----

class Beside(threading.Thread):
    """Asks for the zone's SOA from another address every 20 ms until stopped."""

    def __init__(self, host, port, zone):
        super().__init__(daemon=True)
        self.host, self.port, self.zone = host, port, zone
        self.asked = self.answered = 0
        self.stop = threading.Event()

    def run(self):
        src = GOOD_SRC if family(self.host) == socket.AF_INET else None
        while not self.stop.is_set():
            q = make_query(self.zone, "SOA", {"norec": True})
            self.asked += 1
            rep = udp_exchange(self.host, self.port, q, src, timeout=1.0)
            if isinstance(rep, bytes) and len(rep) > 12 and rep[:2] == q[:2] and rep[3] & 0x0F == 0 \
                    and struct.unpack("!H", rep[6:8])[0] >= 1:
                self.answered += 1
            self.stop.wait(0.02)

    def finish(self):
        self.stop.set()
        self.join()
        return "beside asked=%d answered=%d" % (self.asked, self.answered)


# ---- garbage ----

def name_wire(text):
    return dns.name.from_text(text).to_wire()


def header(qd=1, an=0, ns=0, ar=0, id_=0x1234, flags=0x0100):
    return struct.pack("!HHHHHH", id_, flags, qd, an, ns, ar)


def garbage_cases(zone):
    zw = name_wire(zone)
    q = zw + b"\x00\x06\x00\x01"                        # zone SOA IN
    good = header() + q
    cases = []

    def add(name, wire):
        cases.append((name, wire))

    add("header-only", header())
    add("qdcount-0", header(qd=0))
    add("qdcount-0-with-edns", header(qd=0, ar=1) + opt_rr())
    add("qdcount-2", header(qd=2) + q + q)
    add("qdcount-2-one-present", header(qd=2) + q)
    add("qdcount-65535", header(qd=65535) + q)
    add("truncated-qname", good[:12 + 3])
    add("qname-without-root", header() + zw[:-1])
    add("no-qtype", header() + zw)
    add("no-qclass", header() + zw + b"\x00\x06")
    add("half-qclass", header() + zw + b"\x00\x06\x00")
    add("pointer-to-itself", header() + b"\xc0\x0c" + b"\x00\x06\x00\x01")
    add("pointer-loop-with-label", header() + b"\x01a\xc0\x0c" + b"\x00\x06\x00\x01")
    add("pointer-pair-loop", header() + b"\xc0\x0e\xc0\x0c" + b"\x00\x06\x00\x01")
    add("pointer-forward", header() + b"\xc0\x12" + b"\x00\x06\x00\x01" + zw)
    add("pointer-beyond-end", header() + b"\xc0\xff" + b"\x00\x06\x00\x01")
    add("pointer-cut", header() + b"\x01a\xc0")
    add("label-64", header() + b"\x40" + b"a" * 64 + zw + b"\x00\x10\x00\x01")
    add("label-type-0x40", header() + b"\x41" + b"a" * 1 + zw + b"\x00\x10\x00\x01")
    add("label-type-0x80", header() + b"\x80" + b"a" * 10 + zw + b"\x00\x10\x00\x01")
    add("label-past-end", header() + b"\x3f" + b"a" * 10)
    long_name = (b"\x3f" + b"a" * 63) * 4 + zw           # 256 + zone: over 255 octets
    add("name-over-255", header() + long_name + b"\x00\x10\x00\x01")
    # A question name of 3*61+zone octets, then an additional RR whose owner is one
    # 63-octet label and a pointer to it: over 255 octets only through compression.
    qn = (b"\x3c" + b"b" * 60) * 3 + zw
    add("name-over-255-via-pointer",
        header(ar=1) + qn + b"\x00\x10\x00\x01" + b"\x3f" + b"c" * 63 + b"\xc0\x0c" +
        struct.pack("!HHIH", 16, 1, 0, 2) + b"\x01x")
    # Additional RRs whose owners each add a label to the previous one through a
    # pointer: the names pass 255 octets after about 120 of them.
    chain = header(ar=200) + q
    prev = 12
    for _ in range(200):
        here = len(chain)
        chain += b"\x01z" + struct.pack("!H", 0xC000 | prev) + struct.pack("!HHIH", 16, 1, 0, 0)
        prev = here
    add("pointer-chain-past-255", chain)
    add("arcount-1-nothing", header(ar=1) + q)
    add("ancount-junk", header(an=1) + q + b"\x05junk")
    add("all-counts-65535", header(an=65535, ns=65535, ar=65535) + q)
    add("opt-rdlen-past-end", header(ar=1) + q + b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 40) + b"\x00\x0a")
    add("opt-option-past-rdata", header(ar=1) + q + opt_rr(options=b"\x00\x0a\x00\x20" + b"\x01" * 8))
    add("opt-owner-not-root", header(ar=1) + q + b"\x01a\x00" + struct.pack("!HHIH", 41, 1232, 0, 0))
    add("opt-in-answer-section", header(an=1) + q + opt_rr())
    add("random-64", bytes([0x12, 0x34, 0x01]) + random.Random(53).randbytes(61))
    return cases


def qr_cases(zone):
    zw = name_wire(zone)
    q = zw + b"\x00\x06\x00\x01"
    return [
        ("qr-query", header(flags=0x8100) + q),
        ("qr-notify", header(flags=0x8000 | (4 << 11) | 0x0400) + q),
        ("qr-garbage", header(flags=0x8000) + b"\xc0\x0c\xff"),
        ("qr-qdcount-0", header(qd=0, flags=0x8000)),
        ("qr-formerr-response", header(qd=0, flags=0x8001)),
        ("qr-notimp-update", header(flags=0x8000 | (5 << 11) | 4) + q),
    ]


def cmd_garbage(host, port, args):
    zone = args[0]
    beside = Beside(host, port, zone)
    beside.start()
    cases = garbage_cases(zone) + qr_cases(zone)
    socks = []
    for name, wire in cases:  # all at once: each on its own socket
        s = socket.socket(family(host), socket.SOCK_DGRAM)
        s.connect((host, port))
        try:
            s.send(wire)
        except OSError:
            pass
        socks.append((name, wire, s))
        time.sleep(0.005)
    deadline = time.time() + 0.8
    for name, wire, s in socks:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            rep = s.recv(65535)
        except socket.timeout:
            rep = None
        except ConnectionRefusedError:
            rep = "refused"
        s.close()
        print("udp %s %s" % (name, short(rep, wire)))
    # The same over TCP, each on its own connection.
    tcp_cases = [c for c in cases if c[0] in (
        "header-only", "qdcount-0", "qdcount-2", "pointer-to-itself", "pointer-pair-loop",
        "label-64", "name-over-255", "name-over-255-via-pointer", "opt-rdlen-past-end",
        "truncated-qname")]
    tcp_cases += [c for c in cases if c[0].startswith("qr-")]
    tcp_cases.append(("empty-message", b""))
    conns = []
    for name, wire in tcp_cases:
        try:
            s = tcp_connect(host, port, timeout=1.0)
            s.sendall(struct.pack("!H", len(wire)) + wire)
        except ConnectionRefusedError:
            print("tcp %s refused" % name)
            continue
        except OSError:
            pass
        conns.append((name, wire, s))
    deadline = time.time() + 0.8
    for name, wire, s in conns:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            rep = tcp_read(s)
        except (socket.timeout, ConnectionError):
            rep = None
        s.close()
        print("tcp %s %s" % (name, short(rep, wire)))
    print(beside.finish())
    return 0


# ---- fuzz ----

def cmd_fuzz(host, port, args):
    zone, n, seed = args[0], int(args[1]), int(args[2])
    rnd = random.Random(seed)
    bases = [
        (make_query("esp1.zzzz.dkim." + zone, "TXT", {"noedns": True}), 512),
        (make_query(zone, "SOA", {"noedns": True}), 512),
        (make_query("_spf." + zone, "TXT", {"noedns": True}), 512),
        (make_query(zone, "ANY", {"bufsize": 1232}), 1232),
        (make_query("x.rp." + zone, "MX", {"bufsize": 512, "do": True}), 1232),
    ]
    beside = Beside(host, port, zone)
    beside.start()
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.connect((host, port))
    sent = {}
    for i in range(n):
        base, limit = rnd.choice(bases)
        m = bytearray(base)
        kind = rnd.random()
        if kind < 0.6:
            for _ in range(rnd.randint(1, 4)):
                pos = rnd.randrange(2, len(m))
                m[pos] ^= 1 << rnd.randrange(8)
        elif kind < 0.75:
            m = m[:rnd.randrange(2, len(m))]
        elif kind < 0.9:
            pos = rnd.randrange(12, len(m))
            m[pos:pos] = rnd.randbytes(rnd.randint(1, 8))
        else:
            pos = rnd.randrange(12, len(m))
            m[pos] = rnd.choice([0xC0, 0xC0 | rnd.randrange(64), 0x3F, 0x40, 0x80, 0xFF])
        if len(m) >= 2:
            struct.pack_into("!H", m, 0, i)
        # The client's limit: a mutated OPT may still be read as one.
        lim = limit
        try:
            pm = dns.message.from_wire(bytes(m))
            if pm.edns >= 0:
                lim = max(512, min(pm.payload, 65535))
        except Exception:
            pass
        sent[i] = (bytes(m), lim)
        try:
            s.send(bytes(m))
        except OSError:
            pass
        if i % 4 == 3:
            time.sleep(0.002)
    replies = qr_replied = bad_header = too_big = 0
    examples = []
    s.settimeout(0.5)
    while True:
        try:
            rep = s.recv(65535)
        except (socket.timeout, ConnectionRefusedError):
            break
        replies += 1
        if len(rep) < 12:
            bad_header += 1
            continue
        i = struct.unpack("!H", rep[:2])[0]
        if i not in sent:
            bad_header += 1
            continue
        m, lim = sent[i]
        if len(m) > 2 and m[2] & 0x80:
            qr_replied += 1
            examples.append("qr-set query answered: %s" % m.hex())
        if not rep[2] & 0x80:
            bad_header += 1
            examples.append("reply without QR to %s" % m.hex())
        if len(rep) > lim:
            too_big += 1
            examples.append("%d-octet reply (limit %d) to %s" % (len(rep), lim, m.hex()))
    s.close()
    print("fuzz sent=%d replies=%d qr_replied=%d bad_header=%d too_big=%d" % (
        n, replies, qr_replied, bad_header, too_big))
    for e in examples[:5]:
        print("example " + e)
    print(beside.finish())
    return 0


# ---- TCP ----

def cmd_pipeline(host, port, args):
    split, names = int(args[0]), args[1:]
    qs = []
    for i, n in enumerate(names):
        w = bytearray(make_query(n, "TXT", {}))
        struct.pack_into("!H", w, 0, 0x4000 + i)
        qs.append(bytes(w))
    blob = b"".join(struct.pack("!H", len(w)) + w for w in qs)
    got = {}
    with tcp_connect(host, port) as s:
        if split:
            for k in range(0, len(blob), split):
                s.sendall(blob[k:k + split])
                time.sleep(0.001)
        else:
            s.sendall(blob)
        for _ in qs:
            try:
                w = tcp_read(s)
            except (socket.timeout, ConnectionError):
                w = None
            if w is None:
                break
            got[w[:2]] = w
    same = 0
    for i, (n, q) in enumerate(zip(names, qs)):
        w = got.get(q[:2])
        if w is None:
            print("missing %s" % n)
            continue
        alone = tcp_exchange(host, port, q)
        a, b = summary(w, q), summary(alone, q)
        if a == b:
            same += 1
        else:
            print("differs %s: pipelined %s / alone %s" % (n, a, b))
    print("pipeline sent=%d answered=%d same=%d" % (len(qs), len(got), same))
    return 0


def lifetime(s, start, limit=8.0):
    """Seconds from start until the peer closes s (EOF or reset), or None."""
    s.settimeout(0.05)
    while time.time() - start < limit:
        try:
            d = s.recv(65535)
            if not d:
                return time.time() - start
        except socket.timeout:
            continue
        except ConnectionError:
            return time.time() - start
    return None


def fmt_life(t):
    return "open" if t is None else "%.2f" % t


def cmd_timeouts(host, port, args):
    name = args[0]
    results = {}

    def silent():
        s = tcp_connect(host, port)
        results["silent"] = lifetime(s, time.time())
        s.close()

    def one_octet():
        s = tcp_connect(host, port)
        s.sendall(b"\x00")
        results["one_octet"] = lifetime(s, time.time())
        s.close()

    def half_message():
        q = make_query(name, "TXT", {})
        s = tcp_connect(host, port)
        s.sendall(struct.pack("!H", len(q)) + q[:len(q) // 2])
        results["half_message"] = lifetime(s, time.time())
        s.close()

    def reuse():
        q = make_query(name, "TXT", {})
        s = tcp_connect(host, port)
        s.sendall(struct.pack("!H", len(q)) + q)
        a1 = tcp_read(s)
        time.sleep(0.6)
        s.sendall(struct.pack("!H", len(q)) + q)
        try:
            a2 = tcp_read(s)
        except (socket.timeout, ConnectionError):
            a2 = None
        results["reuse_answers"] = (a1 is not None) + (a2 is not None)
        results["reuse_closed_after"] = lifetime(s, time.time())
        s.close()

    def pieces():
        q = make_query(name, "TXT", {})
        m = struct.pack("!H", len(q)) + q
        s = tcp_connect(host, port)
        half = len(m) // 2
        for piece in (m[:1], m[1:half], m[half:]):  # the prefix split, then the body
            s.sendall(piece)
            time.sleep(0.1)
        try:
            a = tcp_read(s)
        except (socket.timeout, ConnectionError):
            a = None
        results["pieces"] = "answered" if a else "none"
        s.close()

    ts = [threading.Thread(target=f) for f in (silent, one_octet, half_message, reuse, pieces)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("silent=%s one_octet=%s half_message=%s reuse_answers=%d reuse_closed_after=%s pieces=%s" % (
        fmt_life(results.get("silent")), fmt_life(results.get("one_octet")),
        fmt_life(results.get("half_message")), results.get("reuse_answers", 0),
        fmt_life(results.get("reuse_closed_after")), results.get("pieces")))
    return 0


def query_on(s, name):
    q = make_query(name, "TXT", {})
    try:
        s.sendall(struct.pack("!H", len(q)) + q)
        a = tcp_read(s)
        return a is not None and a[:2] == q[:2]
    except (socket.timeout, ConnectionError, OSError):
        return False


def closed_soon(s, within=1.0):
    return lifetime(s, time.time(), within) is not None


def cmd_limits(host, port, args):
    name, per, total = args[0], int(args[1]), int(args[2])
    out = {}
    held = []
    ok = 0
    for _ in range(per):  # one by one, each seen answering before the next
        s = tcp_connect(host, port, "127.0.0.1")
        held.append(s)
        ok += query_on(s, name)
    out["first"] = "%d/%d" % (ok, per)
    extra = [tcp_connect(host, port, "127.0.0.1") for _ in range(3)]
    out["extra_closed"] = "%d/3" % sum(closed_soon(s) for s in extra)
    for s in extra:
        s.close()
    out["first_still"] = "%d/%d" % (sum(query_on(s, name) for s in held), per)
    udp = udp_exchange(host, port, make_query(name, "TXT", {}), "127.0.0.1")
    out["udp_same_client"] = "answered" if isinstance(udp, bytes) else "none"
    s = tcp_connect(host, port, "127.0.0.2")
    held.append(s)
    out["other_client"] = "answered" if query_on(s, name) else "none"
    # Fill up to the total from other addresses, then one more.
    ok, want = 0, total - len(held)
    for k in range(want):
        s = tcp_connect(host, port, "127.0.0.%d" % (10 + k))
        held.append(s)
        ok += query_on(s, name)
    out["fill_total"] = "%d/%d" % (ok, want)
    over = [tcp_connect(host, port, "127.0.0.%d" % (100 + k)) for k in range(2)]
    out["over_total_closed"] = "%d/2" % sum(closed_soon(s) for s in over)
    for s in over:
        s.close()
    # Releasing one lets the next in.
    held.pop(0).close()
    time.sleep(0.3)
    s = tcp_connect(host, port, "127.0.0.1")
    held.append(s)
    out["after_release"] = "answered" if query_on(s, name) else "none"
    for s in held:
        s.close()
    print(" ".join("%s=%s" % kv for kv in out.items()))
    return 0


def cmd_stall(host, port, args):
    name = args[0]
    bad = "127.0.0.9"
    held = []
    for _ in range(50):
        held.append(tcp_connect(host, port, bad))
    q = make_query(name, "TXT", {})
    for _ in range(5):
        s = tcp_connect(host, port, bad)
        s.sendall(struct.pack("!H", len(q)) + q[:7])
        held.append(s)
    s = tcp_connect(host, port, bad)
    s.sendall(struct.pack("!H", len(q)) + q[:9])
    s.shutdown(socket.SHUT_WR)  # half-closed, message never finished
    held.append(s)
    # A reader that asks for ~300 answers and never reads them.
    s = tcp_connect(host, port, bad)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall((struct.pack("!H", len(q)) + q) * 300)
    held.append(s)
    time.sleep(0.2)
    lat, answered = [], 0
    for k in range(40):
        t0 = time.time()
        q = make_query(name, "TXT", {})
        if k % 2:
            rep = tcp_exchange(host, port, q, "127.0.0.1", timeout=2.0)
        else:
            rep = udp_exchange(host, port, q, "127.0.0.1", timeout=2.0)
        lat.append(time.time() - t0)
        answered += isinstance(rep, bytes) and rep[:2] == q[:2] and not rep[2] & 0x02
    print("held=%d answered=%d/40 maxms=%d" % (len(held), answered, int(max(lat) * 1000)))
    for s in held:
        s.close()
    return 0


# ---- RRL flood ----

def classify(rep, ids):
    if len(rep) < 12:
        return "other"
    i = struct.unpack("!H", rep[:2])[0]
    qd, an = struct.unpack("!HH", rep[4:8])
    if i not in ids or not rep[2] & 0x80:
        return "other"
    if rep[2] & 0x02:
        return "tc" if an == 0 and qd == 1 else "other"
    return "full" if an >= 1 else "other"


class Prober(threading.Thread):
    """Asks NAME every INTERVAL seconds while the flood runs; counts full answers."""

    def __init__(self, host, port, name, src, interval, tcp=False):
        super().__init__(daemon=True)
        self.host, self.port, self.name, self.src = host, port, name, src
        self.interval, self.tcp = interval, tcp
        self.asked = self.full = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            q = make_query(self.name, "TXT", {})
            ex = tcp_exchange if self.tcp else udp_exchange
            rep = ex(self.host, self.port, q, self.src, timeout=0.5 if self.tcp else 0.25)
            self.asked += 1
            if isinstance(rep, bytes) and classify(rep, {struct.unpack("!H", q[:2])[0]}) == "full":
                self.full += 1
            self.stop.wait(self.interval)


def cmd_flood(host, port, args):
    name, count, secs, src = args[0], int(args[1]), float(args[2]), args[3]
    extra = args[4:]
    probes = {}
    i = 0
    while i < len(extra):
        if extra[i] == "--good":
            probes["good"] = Prober(host, port, name, extra[i + 1], 0.1)
            i += 2
        elif extra[i] == "--other":
            probes["other_name"] = Prober(host, port, extra[i + 1], src, 0.15)
            i += 2
        elif extra[i] == "--same":
            probes["same_prefix"] = Prober(host, port, name, extra[i + 1], 0.05)
            i += 2
        elif extra[i] == "--tcp":
            probes["tcp"] = Prober(host, port, name, src, 0.15, tcp=True)
            i += 1
        else:
            raise SystemExit("unknown flood option " + extra[i])
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: root
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((src, 0))
    s.connect((host, port))
    counts = {"full": 0, "tc": 0, "other": 0}
    ids = set(range(count))
    done = threading.Event()

    def reader():
        s.settimeout(0.1)
        quiet_since = None
        while True:
            try:
                rep = s.recv(65535)
                counts[classify(rep, ids)] += 1
                quiet_since = None
            except (socket.timeout, ConnectionRefusedError):
                if done.is_set():
                    quiet_since = quiet_since or time.time()
                    if time.time() - quiet_since > 0.5:
                        return

    rt = threading.Thread(target=reader, daemon=True)
    rt.start()
    base = bytearray(make_query(name, "TXT", {}))
    for p in probes.values():
        p.start()
    t0 = time.time()
    for k in range(count):
        struct.pack_into("!H", base, 0, k)
        try:
            s.send(base)
        except OSError:
            pass
        if k % 10 == 9:  # paced: k queries by k/count of the time
            ahead = t0 + secs * (k + 1) / count - time.time()
            if ahead > 0:
                time.sleep(ahead)
    took = time.time() - t0
    for p in probes.values():
        p.stop.set()
        p.join()
    done.set()
    rt.join()
    s.close()
    none = count - counts["full"] - counts["tc"] - counts["other"]
    dropped = count - counts["full"]
    ratio = counts["tc"] / dropped if dropped else 0.0
    out = "sent=%d secs=%.2f full=%d tc=%d none=%d other=%d tc_of_dropped=%.2f" % (
        count, took, counts["full"], counts["tc"], none, counts["other"], ratio)
    for k, p in probes.items():
        out += " %s=%d/%d" % (k, p.full, p.asked)
    print(out)
    return 0


# ---- SIGTERM with answers in flight ----

def cmd_sigterm(host, port, args):
    name, n, pid = args[0], int(args[1]), int(args[2])
    qs = []
    for i in range(n):
        w = bytearray(make_query(name, "TXT", {}))
        struct.pack_into("!H", w, 0, i)
        qs.append(bytes(w))
    stalled = tcp_connect(host, port)
    stalled.sendall(b"\x00\x30" + qs[0][:10])
    idle = tcp_connect(host, port)
    s = tcp_connect(host, port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in qs))
    time.sleep(0.3)  # dnsd has them all, and has written what the buffers take
    os.kill(pid, signal.SIGTERM)
    killed = time.time()
    got = set()
    s.settimeout(5.0)
    while len(got) < n:
        try:
            w = tcp_read(s)
        except (socket.timeout, ConnectionError):
            break
        if w is None:
            break
        if len(w) >= 12 and w[3] & 0x0F == 0 and struct.unpack("!H", w[6:8])[0] >= 1:
            got.add(struct.unpack("!H", w[:2])[0])
    print("asked=%d answered=%d read_secs=%.2f killed_at=%.3f" % (n, len(got), time.time() - killed, killed))
    for c in (s, stalled, idle):
        c.close()
    return 0


# ---- UPDATE ----

def cmd_update(host, port, args):
    zone = args[0]
    for how in ("udp", "tcp"):
        u = dns.update.UpdateMessage(zone)
        u.add("upd-%s" % how, 300, "TXT", "injected")
        u.delete("_spf")
        u.replace("@", 300, "SOA", "ns1.%s. h.%s. 4000000000 1 1 1 1" % (zone, zone))
        w = u.to_wire()
        rep = (tcp_exchange if how == "tcp" else udp_exchange)(host, port, w)
        print("update %s %s" % (how, summary(rep, w)))
    return 0


# ---- a resolver asking in a loop ----

def cmd_loop(host, port, args):
    name, rdtype, secs = args[0], args[1], float(args[2])
    asked = answered = 0
    distinct = set()
    maxms = 0
    end = time.time() + secs
    while time.time() < end:
        q = make_query(name, rdtype, {})
        t0 = time.time()
        rep = udp_exchange(host, port, q, timeout=2.0)
        ms = int((time.time() - t0) * 1000)
        maxms = max(maxms, ms)
        asked += 1
        if isinstance(rep, bytes):
            try:
                r = dns.message.from_wire(rep)
                if r.rcode() == dns.rcode.NOERROR and r.answer:
                    answered += 1
                    distinct.add(tuple(sorted(rr.to_text() for rr in r.answer)))
            except Exception:
                pass
        time.sleep(0.05)
    print("asked=%d answered=%d distinct=%d maxms=%d" % (asked, answered, len(distinct), maxms))
    return 0


COMMANDS = {
    "batch": cmd_batch, "garbage": cmd_garbage, "fuzz": cmd_fuzz, "pipeline": cmd_pipeline,
    "timeouts": cmd_timeouts, "limits": cmd_limits, "stall": cmd_stall, "flood": cmd_flood,
    "sigterm": cmd_sigterm, "update": cmd_update, "loop": cmd_loop,
}


def main(argv):
    host, port, cmd, args = argv[1], int(argv[2]), argv[3], argv[4:]
    return COMMANDS[cmd](host, port, args)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OSError as e:  # refused, unreachable: what the shell check then shows
        print("connection failed: %s" % e)
        sys.exit(2)
