#!/usr/bin/python3
"""recursor.py: a tiny recursive resolver for the system tests, for programs that
can only ask the resolver named in /etc/resolv.conf (on port 53) and expect it to
chase CNAMEs, like libopendkim's default resolver (opendkim-testmsg verifying).

  recursor.py LISTEN_ADDR LISTEN_PORT DNSD_PORT READY_FILE

Listens on LISTEN_ADDR:LISTEN_PORT (UDP and TCP; a loopback address). Every
query is answered by asking dnsd (127.0.0.1:DNSD_PORT, never anywhere else)
without RD, following CNAMEs across zones as a real resolver does (at most 8),
and returning the chain and the final records with their TTLs, RA set, AA
clear, as a recursive resolver answers. Failures (no answer, SERVFAIL, REFUSED,
a lame answer) become SERVFAIL. Honours EDNS (answers up to the client's size,
at most 1232 bytes; 512 without EDNS) and sets TC when the answer is larger.
Writes READY_FILE once both sockets listen; runs until killed. Each query is
logged to stderr ("qname type -> rcode, n answers").
"""
import socket
import socketserver
import struct
import sys
import threading

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

SERVER = "127.0.0.1"
DNSD_PORT = None
MAX_CNAME = 8


class Fail(Exception):
    pass


def ask(name, rdtype):
    q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
    q.flags &= ~dns.flags.RD
    try:
        r, _ = dns.query.udp_with_fallback(q, SERVER, timeout=1.0, port=DNSD_PORT)
    except (dns.exception.DNSException, OSError, EOFError) as e:
        raise Fail("%s: %s" % (name, type(e).__name__))
    if r.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise Fail("%s: %s" % (name, dns.rcode.to_text(r.rcode())))
    if not r.flags & dns.flags.AA:
        raise Fail("%s: lame" % name)
    return r


def recurse(qname, rdtype):
    """(rcode, [rrsets]) for qname/rdtype, the CNAME chain first."""
    out = []
    cur = qname
    while True:
        r = ask(cur, rdtype)
        moved = False
        while True:
            rr = r.get_rrset(r.answer, cur, dns.rdataclass.IN, rdtype)
            if rr is not None:
                out.append(rr)
                return dns.rcode.NOERROR, out
            cn = r.get_rrset(r.answer, cur, dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cn is None or rdtype == dns.rdatatype.CNAME:
                break
            out.append(cn)
            if len(out) > MAX_CNAME:
                raise Fail("CNAME chain too long")
            cur, moved = cn[0].target, True
        if not moved:
            return r.rcode(), out


def answer(wire, limit_default):
    q = dns.message.from_wire(wire)
    resp = dns.message.make_response(q)
    resp.flags |= dns.flags.RA
    resp.flags &= ~dns.flags.AA
    limit = limit_default
    if q.edns >= 0:
        resp.use_edns(0, payload=1232)
        limit = max(512, min(q.payload, 1232)) if limit_default == 512 else limit_default
    if len(q.question) != 1:
        resp.set_rcode(dns.rcode.FORMERR)
        return resp.to_wire(), "FORMERR"
    qs = q.question[0]
    try:
        rc, rrsets = recurse(qs.name, qs.rdtype)
        resp.set_rcode(rc)
        resp.answer.extend(rrsets)
        log = "%s, %d answers" % (dns.rcode.to_text(rc), len(rrsets))
    except Fail as e:
        resp.set_rcode(dns.rcode.SERVFAIL)
        log = "SERVFAIL (%s)" % e
    out = resp.to_wire()
    if len(out) > limit:
        resp.answer = []
        resp.flags |= dns.flags.TC
        out = resp.to_wire()
        log += ", truncated"
    sys.stderr.write("%s %s -> %s\n" % (qs.name, dns.rdatatype.to_text(qs.rdtype), log))
    return out, log


class UDP(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        try:
            out, _ = answer(data, 512)
        except Exception as e:  # a malformed query: no answer
            sys.stderr.write("udp: %s\n" % e)
            return
        sock.sendto(out, self.client_address)


class TCP(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.settimeout(5)
        try:
            while True:
                hdr = self._read(2)
                if not hdr:
                    return
                (n,) = struct.unpack("!H", hdr)
                data = self._read(n)
                out, _ = answer(data, 65535)
                s.sendall(struct.pack("!H", len(out)) + out)
        except Exception as e:
            sys.stderr.write("tcp: %s\n" % e)

    def _read(self, n):
        b = b""
        while len(b) < n:
            c = self.request.recv(n - len(b))
            if not c:
                return b""
            b += c
        return b


class UDPServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True
    allow_reuse_address = True


class TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv):
    global DNSD_PORT
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    addr, port, DNSD_PORT, ready = argv[0], int(argv[1]), int(argv[2]), argv[3]
    if not addr.startswith("127."):
        sys.stderr.write("recursor.py: listens on loopback only\n")
        return 2
    u = UDPServer((addr, port), UDP)
    t = TCPServer((addr, port), TCP)
    for srv in (u, t):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    with open(ready, "w") as f:
        f.write("%s:%d\n" % (addr, port))
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(0)
    except socket.error as e:
        sys.stderr.write("recursor.py: %s\n" % e)
        sys.exit(1)
