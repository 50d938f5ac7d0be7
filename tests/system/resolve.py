#!/usr/bin/python3
"""resolve.py: the stub resolver of the system tests.

It stands in for the resolver a receiving mail server uses: every lookup goes to
dnsd (127.0.0.1:PORT, never anywhere else), which serves both the hosted zone and
the customers' zones. Like a real resolver it follows CNAME chains across zones
(dnsd, like NSD, does not chase a CNAME into another zone): it asks for the type
at the name, and when the answer is a CNAME it asks again at the target, at most
MAX_CNAME times. It sends EDNS (1232 bytes) and retries over TCP when the UDP
answer comes back truncated. It refuses answers without the AA bit (a lame
server) and treats timeouts, refused connections, SERVFAIL and REFUSED as a
failed lookup.

Library: resolve(name, rdtype, port) -> Answer; txt(name, port) -> [bytes].
Command line: resolve.py PORT NAME TYPE
  prints each record's text (TXT: its strings joined, unquoted), one a line;
  exit 0 (also for NODATA, printing nothing), 3 for NXDOMAIN, 1 when the
  lookup fails. With -v first, prints the CNAME chain to stderr.
"""
import sys

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

MAX_CNAME = 8
SERVER = "127.0.0.1"


class LookupFailed(Exception):
    """The lookup failed: no answer, SERVFAIL, REFUSED, lame answer, CNAME chain too long."""


class NXDomain(Exception):
    """The name (the end of the CNAME chain) does not exist."""


class Answer:
    def __init__(self, qname, rdtype):
        self.qname = qname        # dns.name.Name asked for
        self.rdtype = rdtype
        self.chain = []           # [(owner, target)] CNAMEs followed, in order
        self.name = qname         # the name that finally holds the data
        self.rrset = None         # the records, or None for NODATA

    def records(self):
        return list(self.rrset) if self.rrset is not None else []


def _ask(name, rdtype, port, timeout):
    q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
    q.flags &= ~dns.flags.RD  # asking the authority itself, as an iterative resolver does
    try:
        r, _tcp = dns.query.udp_with_fallback(q, SERVER, timeout=timeout, port=port)
    except (dns.exception.Timeout, OSError, EOFError) as e:
        raise LookupFailed("%s/%s: no answer from %s#%d (%s)" % (
            name, dns.rdatatype.to_text(rdtype), SERVER, port, type(e).__name__))
    except dns.exception.DNSException as e:
        raise LookupFailed("%s/%s: bad answer: %s" % (name, dns.rdatatype.to_text(rdtype), e))
    rc = r.rcode()
    if rc not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise LookupFailed("%s/%s: %s" % (name, dns.rdatatype.to_text(rdtype), dns.rcode.to_text(rc)))
    if not r.flags & dns.flags.AA:
        raise LookupFailed("%s/%s: answer without AA (lame)" % (name, dns.rdatatype.to_text(rdtype)))
    return r


def resolve(name, rdtype, port, timeout=1.0):
    """Resolves name/rdtype at dnsd, following CNAMEs. Raises NXDomain or LookupFailed."""
    if isinstance(name, bytes):
        name = name.decode("ascii")
    if isinstance(rdtype, str):
        rdtype = dns.rdatatype.from_text(rdtype)
    cur = dns.name.from_text(name) if isinstance(name, str) else name
    ans = Answer(cur, rdtype)
    while True:
        r = _ask(cur, rdtype, port, timeout)
        moved = False
        # Follow the chain as far as this answer goes (a server may chase
        # CNAMEs inside its own zone).
        while True:
            rrset = r.get_rrset(r.answer, cur, dns.rdataclass.IN, rdtype)
            if rrset is not None and rdtype != dns.rdatatype.CNAME:
                ans.name, ans.rrset = cur, rrset
                return ans
            cn = r.get_rrset(r.answer, cur, dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cn is None:
                break
            target = cn[0].target
            ans.chain.append((cur, target))
            if len(ans.chain) > MAX_CNAME:
                raise LookupFailed("%s: CNAME chain longer than %d" % (name, MAX_CNAME))
            cur, moved = target, True
        if moved:
            continue  # ask again at the end of the chain
        ans.name = cur
        if r.rcode() == dns.rcode.NXDOMAIN:
            raise NXDomain("%s: NXDOMAIN" % cur)
        return ans  # NODATA


def txt(name, port, timeout=1.0):
    """The TXT records at name (following CNAMEs), each as its strings joined."""
    return [b"".join(rd.strings) for rd in resolve(name, "TXT", port, timeout).records()]


def main(argv):
    verbose = False
    if argv and argv[0] == "-v":
        verbose, argv = True, argv[1:]
    if len(argv) != 3:
        sys.stderr.write("usage: resolve.py [-v] PORT NAME TYPE\n")
        return 2
    port, name, rdtype = int(argv[0]), argv[1], argv[2].upper()
    try:
        a = resolve(name, rdtype, port)
    except NXDomain as e:
        print("NXDOMAIN")
        sys.stderr.write("%s\n" % e)
        return 3
    except LookupFailed as e:
        sys.stderr.write("lookup failed: %s\n" % e)
        return 1
    if verbose:
        for owner, target in a.chain:
            sys.stderr.write("%s CNAME %s\n" % (owner, target))
    for rd in a.records():
        if rdtype == "TXT":
            print(b"".join(rd.strings).decode("utf-8", "replace"))
        else:
            print(rd.to_text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
