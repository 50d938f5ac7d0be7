#!/usr/bin/python3
"""dnsq.py: the raw-wire DNS probe of the system tests (dns.sh, live.sh).

It talks to dnsd on loopback only and reports what a resolver would see, in a
form the shell checks compare with `expect`. Every command takes the port first.

  dnsq.py PORT sum NAME TYPE [opts]
      one line of key=value fields:
        rcode=NOERROR flags=qr,aa,rd q=<question as sent back> owner=<first answer owner|->
        an=<TYPE/count,...|0> ns=<TYPE/owner/ttl,...|0> opt=<version/udpsize/do|-|none>
        size=<bytes received>
      opts: --tcp  --v6 (::1, PORT is then the IPv6 port)  --noedns  --norec
            --bufsize N  --do  --edns-version V
      exit 0 when an answer came, 2 on timeout.
  dnsq.py PORT txt NAME [opts]     the TXT RRset: n=<rdatas> lens=<string lengths>
                                   value=<strings of the first rdata, joined>
  dnsq.py PORT line NAME           one TXT query over TCP, printed as pipeline does
  dnsq.py PORT pipeline NAME...    TXT queries for the names, all written at once on
                                   one TCP connection; one line per answer, by query:
                                   "<name> <rcode> <joined TXT>"; exit 1 on a missing
                                   or mismatched answer
  dnsq.py PORT garbage             malformed UDP and TCP messages; one line each:
                                   "<what> <reply: none|RCODE [qr|noqr]>"; then, while
                                   a TCP connection holds half a message, one query on
                                   another connection: "tcp-beside-stalled <RCODE|none>"
"""
import random
import socket
import struct
import sys

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

HOST4, HOST6 = "127.0.0.1", "::1"
TIMEOUT = 2.0


def make(name, rdtype, noedns=False, norec=False, bufsize=1232, do=False, edns_version=0):
    m = dns.message.make_query(name, rdtype, use_edns=False)
    if not noedns:
        m.use_edns(edns_version, dns.flags.DO if do else 0, bufsize)
    if norec:
        m.flags &= ~dns.flags.RD
    else:
        m.flags |= dns.flags.RD
    return m


def udp_raw(wire, port, host=HOST4, timeout=TIMEOUT):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(wire, (host, port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_read(s):
    head = recv_exact(s, 2)
    if head is None:
        return None
    return recv_exact(s, struct.unpack("!H", head)[0])


def tcp_raw(wire, port, host=HOST4, timeout=TIMEOUT):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.sendall(struct.pack("!H", len(wire)) + wire)
        try:
            return tcp_read(s)
        except socket.timeout:
            return None


def ask(name, rdtype, port, tcp=False, v6=False, **kw):
    """Returns (message or None, size of the wire answer)."""
    q = make(name, rdtype, **kw)
    host = HOST6 if v6 else HOST4
    wire = (tcp_raw if tcp else udp_raw)(q.to_wire(), port, host)
    if wire is None:
        return None, 0
    r = dns.message.from_wire(wire, ignore_trailing=False)
    if r.id != q.id:
        raise SystemExit("answer ID %d does not match query ID %d" % (r.id, q.id))
    return r, len(wire)


def summary(r, size):
    flags = dns.flags.to_text(r.flags).lower().replace(" ", ",")
    q = r.question[0].name.to_text() if r.question else "-"
    owner = r.answer[0].name.to_text() if r.answer else "-"
    an = ",".join("%s/%d" % (dns.rdatatype.to_text(rr.rdtype), len(rr)) for rr in r.answer) or "0"
    ns = ",".join("%s/%s/%d" % (dns.rdatatype.to_text(rr.rdtype), rr.name.to_text(), rr.ttl)
                  for rr in r.authority) or "0"
    if r.edns < 0:
        opt = "none"
    else:
        opt = "%d/%d/%s" % (r.edns, r.payload, "do" if r.ednsflags & dns.flags.DO else "-")
    return "rcode=%s flags=%s q=%s owner=%s an=%s ns=%s opt=%s size=%d" % (
        dns.rcode.to_text(r.rcode()), flags, q, owner, an, ns, opt, size)


def parse_opts(args):
    kw, rest = {}, []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--tcp":
            kw["tcp"] = True
        elif a == "--v6":
            kw["v6"] = True
        elif a == "--noedns":
            kw["noedns"] = True
        elif a == "--norec":
            kw["norec"] = True
        elif a == "--do":
            kw["do"] = True
        elif a == "--bufsize":
            i += 1
            kw["bufsize"] = int(args[i])
        elif a == "--edns-version":
            i += 1
            kw["edns_version"] = int(args[i])
        else:
            rest.append(a)
        i += 1
    return kw, rest


def txt_of(rdata):
    return b"".join(rdata.strings).decode("latin-1")


def cmd_sum(port, args):
    kw, (name, rdtype) = parse_opts(args)
    r, size = ask(name, rdtype, port, **kw)
    if r is None:
        print("timeout")
        return 2
    print(summary(r, size))
    return 0


def cmd_txt(port, args):
    kw, (name,) = parse_opts(args)
    r, _ = ask(name, "TXT", port, **kw)
    if r is None:
        print("timeout")
        return 2
    rrs = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.TXT]
    if not rrs:
        print("n=0 rcode=%s" % dns.rcode.to_text(r.rcode()))
        return 0
    rd = list(rrs[0])
    lens = ",".join(str(len(s)) for s in rd[0].strings)
    print("n=%d lens=%s value=%s" % (len(rd), lens, txt_of(rd[0])))
    return 0


def line(name, r):
    val = "|".join(txt_of(rd) for rr in r.answer if rr.rdtype == dns.rdatatype.TXT for rd in rr)
    return "%s %s %s" % (name, dns.rcode.to_text(r.rcode()), val)


def cmd_line(port, name):
    r, _ = ask(name, "TXT", port, tcp=True)
    if r is None:
        print("%s no answer" % name)
        return 1
    print(line(r.question[0].name, r))
    return 0


def cmd_pipeline(port, names):
    qs = [make(n, "TXT") for n in names]
    ids = set()
    for q in qs:  # distinct IDs, so that answers can be matched to queries
        while q.id in ids:
            q.id = (q.id + 1) & 0xFFFF
        ids.add(q.id)
    blob = b"".join(struct.pack("!H", len(w)) + w for w in (q.to_wire() for q in qs))
    got = {}
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(TIMEOUT)
        s.connect((HOST4, port))
        s.sendall(blob)  # every query before reading any answer
        for _ in qs:
            try:
                w = tcp_read(s)
            except socket.timeout:
                w = None
            if w is None:
                break
            r = dns.message.from_wire(w)
            got[r.id] = r
    bad = 0
    for q in qs:
        r = got.get(q.id)
        if r is None:
            print("%s no answer" % q.question[0].name)
            bad = 1
            continue
        if r.question[0].name != q.question[0].name:
            print("%s answered for %s" % (q.question[0].name, r.question[0].name))
            bad = 1
        print(line(q.question[0].name, r))
    return bad


def cmd_garbage(port):
    good = make("auth.demo.example", "SOA").to_wire()
    hdr = make("x.auth.demo.example", "TXT").to_wire()
    as_response = bytearray(good)
    as_response[2] |= 0x80  # QR set: must be dropped
    rnd = random.Random(53).randbytes(64)
    cases = [
        ("empty", b""),
        ("short-header", good[:7]),
        ("random", bytes(rnd)),
        ("qr-set", bytes(as_response)),
        ("truncated-question", hdr[:12 + 5]),
        ("no-qtype", hdr[:len(hdr) - 4 - 11] if len(hdr) > 27 else hdr[:14]),
        ("pointer-loop", good[:12] + b"\xc0\x0c" + b"\x00\x01\x00\x01"),
        ("label-too-long", good[:12] + b"\x3f" + b"a" * 10),
        ("qdcount-2", good[:4] + b"\x00\x02" + good[6:]),
    ]
    for what, wire in cases:
        reply = udp_raw(wire, port, timeout=0.3)
        if reply is None:
            print("udp %s none" % what)
        elif len(reply) < 4:
            print("udp %s short-reply" % what)
        else:
            qr = "qr" if reply[2] & 0x80 else "noqr"
            print("udp %s %s %s" % (what, dns.rcode.to_text(reply[3] & 0x0F), qr))
    # TCP: a length prefix announcing more than is sent, then a close; random bytes.
    for what, blob in (("tcp-short", b"\x01\x00abc"), ("tcp-random", struct.pack("!H", 64) + rnd)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect((HOST4, port))
            s.sendall(blob)
            if what == "tcp-short":
                s.shutdown(socket.SHUT_WR)
            try:
                w = tcp_read(s)
            except (socket.timeout, ConnectionError):
                w = None
            print("%s %s" % (what, "none" if not w else dns.rcode.to_text(w[3] & 0x0F)))
    # A connection that sent one byte of a length prefix and waits must not stall others.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as stalled:
        stalled.connect((HOST4, port))
        stalled.sendall(b"\x00")
        try:
            r, _ = ask("auth.demo.example", "SOA", port, tcp=True)
        except (socket.timeout, ConnectionError):
            r = None
        print("tcp-beside-stalled %s" % ("none" if r is None else dns.rcode.to_text(r.rcode())))
    return 0


def main(argv):
    port, cmd, args = int(argv[1]), argv[2], argv[3:]
    if cmd == "sum":
        return cmd_sum(port, args)
    if cmd == "txt":
        return cmd_txt(port, args)
    if cmd == "line":
        return cmd_line(port, args[0])
    if cmd == "pipeline":
        return cmd_pipeline(port, args)
    if cmd == "garbage":
        return cmd_garbage(port)
    raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OSError as e:  # refused, unreachable: what the shell check shows
        print("connection failed: %s" % e)
        sys.exit(2)
