#!/usr/bin/python3
"""xfrq.py: the zone-transfer probe of xfr.sh. It talks to servers on loopback only.

  xfrq.py xfr PORT ZONE axfr|ixfr udp|tcp [--src ADDR] [--v6] [--key NAME:SECRET]
              [--serial N]
      sends one transfer request (an IXFR carries an SOA with serial N, default 1)
      and prints what the first answer message says: "RCODE tsig=ERR an=N", where
      ERR is none (unsigned), ok (signed and verified), BADSIG, BADKEY, BADTIME (the
      TSIG error the server put in its unsigned answer) or badmac (signed, but not
      with our key); or "none" when no answer came (timeout, connection closed).
  xfrq.py batch
      the same for each line of standard input (the arguments after "xfr"), one
      answer line per line, in order.
  xfrq.py same PORT_A PORT_B FILE
      asks both servers (127.0.0.1, over TCP, no recursion) each "NAME TYPE" line
      of FILE (names in the zone) and compares: rcode, the AA bit (which both must
      set), the answer section (each RRset with its TTL and rdatas, sorted), and for
      a negative answer (NXDOMAIN, or NOERROR with no answer) the SOA in the
      authority section. Prints one line per difference and exits 1 if there is
      any; prints the count compared.
  xfrq.py serial PORT ZONE
      the SOA serial the server answers (AA set), or "none".
  xfrq.py stop-mid-transfer PORT PIDFILE READYFILE SECONDS
      writes READYFILE, waits for PIDFILE (the secondary, started after READYFILE
      appeared), then watches the kernel's TCP table (/proc/net/tcp, tcp6) until
      that process has a connection to port PORT (the primary's) established,
      sends it SIGSTOP at once, and makes sure that the primary has data it cannot
      send on that connection (a secondary stopped in the middle of a transfer);
      another process's connection to PORT (a secondary refreshing) is passed
      over. Exits 1 if that did not happen within SECONDS.
"""
import socket
import struct
import sys

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.flags

TIMEOUT = 3.0


def read_tcp(s):
    hdr = b""
    while len(hdr) < 2:
        c = s.recv(2 - len(hdr))
        if not c:
            return None
        hdr += c
    n = struct.unpack("!H", hdr)[0]
    buf = b""
    while len(buf) < n:
        c = s.recv(n - len(buf))
        if not c:
            return None
        buf += c
    return buf


def tsig_state(wire, key, request_mac):
    """How the answer's TSIG reads: none, ok, a peer's error, or badmac."""
    try:
        m = dns.message.from_wire(wire, keyring=key, request_mac=request_mac, xfr=True, one_rr_per_rrset=True)
    except dns.message.UnknownTSIGKey:
        return "badmac"
    except dns.tsig.PeerBadSignature:
        return "BADSIG"
    except dns.tsig.PeerBadKey:
        return "BADKEY"
    except dns.tsig.PeerBadTime:
        return "BADTIME"
    except dns.tsig.PeerError as e:
        return "peer-" + type(e).__name__
    except (dns.tsig.BadSignature, dns.tsig.BadKey, dns.tsig.BadTime):
        return "badmac"
    except Exception as e:  # a malformed answer
        return "malformed-" + type(e).__name__
    return "ok" if m.had_tsig else "none"


def xfr(a):
    port, zone, kind, proto = int(a[0]), a[1], a[2], a[3]
    src, v6, key, serial = None, False, None, 1
    i = 4
    while i < len(a):
        if a[i] == "--src":
            src = a[i + 1]; i += 2
        elif a[i] == "--v6":
            v6 = True; i += 1
        elif a[i] == "--key":
            name, secret = a[i + 1].split(":", 1)
            key = dns.tsig.Key(name, secret, dns.tsig.HMAC_SHA256); i += 2
        elif a[i] == "--serial":
            serial = int(a[i + 1]); i += 2
        else:
            raise SystemExit("xfrq.py: unknown option " + a[i])
    q = dns.message.make_query(zone, dns.rdatatype.AXFR if kind == "axfr" else dns.rdatatype.IXFR, use_edns=False)
    q.flags &= ~dns.flags.RD
    if kind == "ixfr":
        soa = dns.rrset.from_text(zone.rstrip(".") + ".", 0, "IN", "SOA", ". . %d 0 0 0 0" % serial)
        q.authority.append(soa)
    if key is not None:
        q.use_tsig(key)
    wire = q.to_wire()
    mac = q.mac if key is not None else b""
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    host = "::1" if v6 else "127.0.0.1"
    s = socket.socket(fam, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    try:
        if src:
            s.bind((src, 0))
        if proto == "udp":
            s.sendto(wire, (host, port))
            ans = s.recv(65535)
        else:
            s.connect((host, port))
            s.sendall(struct.pack("!H", len(wire)) + wire)
            ans = read_tcp(s)
    except (socket.timeout, ConnectionError, OSError):
        ans = None
    finally:
        s.close()
    if not ans or len(ans) < 12:
        return "none"
    rcode = dns.rcode.to_text(ans[3] & 0xF)
    an = struct.unpack("!H", ans[6:8])[0]
    return "%s tsig=%s an=%d" % (rcode, tsig_state(ans, key, mac), an)


def cmd_xfr(a):
    print(xfr(a))
    return 0


def cmd_batch(a):
    for line in sys.stdin:
        if line.strip():
            print(xfr(line.split()), flush=True)
    return 0


def ask(port, name, rdtype):
    q = dns.message.make_query(name, rdtype, use_edns=True, payload=1232)
    q.flags &= ~dns.flags.RD
    return dns.query.tcp(q, "127.0.0.1", port=port, timeout=TIMEOUT)


def summary(m):
    """What must be the same between two servers: rcode, AA, answer, negative SOA."""
    def rrsets(sec):
        out = []
        for r in sec:
            out.append("%s %d %s %s" % (r.name.to_text().lower(), r.ttl, dns.rdatatype.to_text(r.rdtype),
                                        " | ".join(sorted(rd.to_text() for rd in r))))
        return sorted(out)
    rc = dns.rcode.to_text(m.rcode())
    d = {"rcode": rc, "aa": bool(m.flags & dns.flags.AA), "answer": rrsets(m.answer)}
    if m.rcode() == dns.rcode.NXDOMAIN or (m.rcode() == dns.rcode.NOERROR and not m.answer):
        d["soa"] = rrsets([r for r in m.authority if r.rdtype == dns.rdatatype.SOA])
    return d


def cmd_same(a):
    pa, pb, path = int(a[0]), int(a[1]), a[2]
    bad = n = 0
    for line in open(path):
        f = line.split()
        if len(f) != 2:
            continue
        n += 1
        try:
            sa = summary(ask(pa, f[0], f[1]))
        except Exception as e:
            sa = {"error": type(e).__name__}
        try:
            sb = summary(ask(pb, f[0], f[1]))
        except Exception as e:
            sb = {"error": type(e).__name__}
        if sa != sb or not sa.get("aa"):  # every name asked is in the zone: AA is required
            bad += 1
            if bad <= 10:
                print("%s %s differs:\n  %d: %s\n  %d: %s" % (f[0], f[1], pa, sa, pb, sb))
    print("%d names compared, %d differ" % (n, bad))
    return 1 if bad or not n else 0


def cmd_serial(a):
    port, zone = int(a[0]), a[1]
    try:
        m = ask(port, zone, "SOA")
    except Exception:
        print("none")
        return 0
    soa = [r for r in m.answer if r.rdtype == dns.rdatatype.SOA]
    if m.rcode() != dns.rcode.NOERROR or not (m.flags & dns.flags.AA) or not soa:
        print("none")
    else:
        print(soa[0][0].serial)
    return 0


def tcp_rows():
    """Each established TCP socket: (local, remote, bytes not yet sent, inode)."""
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(path).read().splitlines()[1:]
        except OSError:
            continue
        for l in lines:
            f = l.split()
            if f[3] == "01":
                yield f[1], f[2], int(f[4].split(":")[0], 16), int(f[9])


def port_of(addr):
    return int(addr.rsplit(":", 1)[1], 16)


def tcp_table(port):
    """The established TCP sockets with local port `port`: {remote: bytes not yet sent}."""
    return {r: q for l, r, q, _ in tcp_rows() if port_of(l) == port}


def socket_inodes(pid):
    """The inodes of the sockets process `pid` holds open."""
    import os
    out = set()
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            t = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        if t.startswith("socket:["):
            out.add(int(t[8:-1]))
    return out


def cmd_stop_mid_transfer(a):
    import os, signal, time
    port, pidfile, ready, secs = int(a[0]), a[1], a[2], float(a[3])
    # the client ends of connections to the primary already there: not the secondary's
    seen = {l for l, r, _, _ in tcp_rows() if port_of(r) == port}
    open(ready, "w").write("ready\n")
    end = time.monotonic() + secs
    conn = pid = None
    while time.monotonic() < end and pid is None:
        try:
            pid = int(open(pidfile).read())
        except (OSError, ValueError):
            time.sleep(0.0002)
    while pid is not None and time.monotonic() < end:
        new = {l: i for l, r, _, i in tcp_rows() if port_of(r) == port and l not in seen}
        if new:
            mine = [l for l, i in new.items() if i in socket_inodes(pid)]
            if mine:
                os.kill(pid, signal.SIGSTOP)
                conn = mine[0]  # the primary's end has it as its remote address
                break
            seen |= set(new)
        time.sleep(0.0002)
    while conn and time.monotonic() < end:
        time.sleep(0.2)
        t = tcp_table(port)
        if conn not in t:
            print("the transfer ended before it could be stopped")
            return 1
        if t[conn] > 0:
            print("stopped with %d bytes unsent" % t[conn])
            return 0
        # the request may not have been sent yet: let it run a little
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.001)
        os.kill(pid, signal.SIGSTOP)
    print("no transfer seen")
    return 1


if __name__ == "__main__":
    cmds = {"xfr": cmd_xfr, "batch": cmd_batch, "same": cmd_same, "serial": cmd_serial, "stop-mid-transfer": cmd_stop_mid_transfer}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        raise SystemExit(__doc__)
    sys.exit(cmds[sys.argv[1]](sys.argv[2:]))
