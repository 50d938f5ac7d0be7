#!/usr/bin/python3
"""rrl.py: the attacks on response rate limiting that rrl.sh replays against dnsd.

  rrl.py zone ORIGIN N FILE
      writes a zone file for ORIGIN with N names t0..t<N-1>, each holding a 400-octet
      TXT record: an amplifier, as a hosted DKIM key is.
  rrl.py collide ORIGIN N
      prints two of those names whose buckets collided in the RRL table dnsd had
      before its hash was keyed (FNV-1a over /24, 'a', the name and the type, 2^18
      buckets): the queries an attacker alternated to reset each other's bucket.
  rrl.py HOST PORT flood SECONDS SRC SPEC... [--good SRC NAME]
      sends 2000 UDP queries from SRC over SECONDS, cycling through the SPECs
      (NAME/TYPE, or NAME/TYPE/badvers for EDNS version 1; TYPE a number or a
      mnemonic, or FROM-TO for a range of numbers), without waiting for answers;
      with --good, a client at SRC asks NAME TXT every 100 ms meanwhile. Prints
      "sent=N secs=S full=F tc=T none=X other=O tc_of_dropped=R bytes_in=I
      bytes_out=J good=G/A": full, a reply with TC clear; tc, TC set with the
      question and no records; other, anything else.
"""
import os
import socket
import struct
import sys
import time

import dns.rdatatype

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile import Prober, family, make_query  # noqa: E402  (the same queries as hostile.sh)

COUNT = 2000


def cmd_zone(args):
    origin, n, path = args[0].rstrip("."), int(args[1]), args[2]
    txt = " ".join('"%s"' % (chr(ord("a") + k) * 200) for k in range(2))
    with open(path, "w") as f:
        f.write("$ORIGIN %s.\n$TTL 3600\n" % origin)
        f.write("@ IN SOA ns1 hostmaster 1 3600 600 1209600 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n")
        for i in range(n):
            f.write("t%d IN TXT %s\n" % (i, txt))
    return 0


def old_bucket(name, rdtype):
    """The bucket dnsd's unkeyed RRL table gave an answer for NAME/TYPE to 127.0.0.0/24."""
    key = bytes([127, 0, 0, 0, 0, 0, 0, 0]) + b"a"
    for label in name.lower().rstrip(".").split("."):
        key += bytes([len(label)]) + label.encode()
    key += b"\0" + struct.pack("!H", rdtype)
    h = 1469598103934665603  # as db_hash had it (one digit short of FNV's offset basis)
    for b in key:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & 0xFFFFFFFFFFFFFFFF
    h ^= h >> 33
    return h & ((1 << 18) - 1), h


def cmd_collide(args):
    origin, n = args[0].rstrip("."), int(args[1])
    seen = {}
    for i in range(n):
        name = "t%d.%s" % (i, origin)
        slot, h = old_bucket(name, dns.rdatatype.TXT)
        if slot in seen and seen[slot][1] != h:
            print(seen[slot][0], name)
            return 0
        seen[slot] = (name, h)
    print("none")
    return 1


def spec_queries(spec):
    """The query wires a SPEC stands for."""
    parts = spec.split("/")
    name, rdtype = parts[0], parts[1]
    opts = {"ednsver": 1} if parts[2:] == ["badvers"] else {}
    if "-" in rdtype:
        lo, hi = (int(x) for x in rdtype.split("-"))
        types = range(lo, hi + 1)
    else:
        types = [dns.rdatatype.from_text(rdtype)]
    return [make_query(name, t, opts) for t in types]


def classify(rep):
    if len(rep) < 12 or not rep[2] & 0x80:
        return "other"
    qd, an, ns = struct.unpack("!HHH", rep[4:10])
    if rep[2] & 0x02:
        return "tc" if qd == 1 and an == 0 and ns == 0 else "other"
    return "full"


class Tally:
    """The replies of one flood, read as they come."""

    def __init__(self, sock):
        self.sock, self.n, self.bytes = sock, {"full": 0, "tc": 0, "other": 0}, 0

    def drain(self, wait):
        """Reads what has come; with wait, until nothing has for that long."""
        self.sock.settimeout(wait if wait else 0.0)
        while True:
            try:
                rep = self.sock.recv(65535)
            except (BlockingIOError, socket.timeout, ConnectionRefusedError):
                return
            ours = len(rep) >= 2 and struct.unpack("!H", rep[:2])[0] < COUNT
            self.n[classify(rep) if ours else "other"] += 1
            self.bytes += len(rep)


def udp_from(host, port, src):
    """A UDP socket from SRC to the server, with room for a flood's replies."""
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    for opt in (33, socket.SO_RCVBUF):  # SO_RCVBUFFORCE (as root), else what is allowed
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
            break
        except OSError:
            pass
    s.bind((src, 0))
    s.connect((host, port))
    return s


def cmd_flood(host, port, args):
    secs, src = float(args[0]), args[1]
    rest, good = args[2:], None
    if "--good" in rest:
        k = rest.index("--good")
        good = Prober(host, port, rest[k + 2], rest[k + 1], 0.1)
        rest = rest[:k] + rest[k + 3:]
    wires = [bytearray(w) for spec in rest for w in spec_queries(spec)]
    s = udp_from(host, port, src)
    tally, sent_bytes = Tally(s), 0
    if good:
        good.start()
    t0 = time.time()
    for k in range(COUNT):
        w = wires[k % len(wires)]
        struct.pack_into("!H", w, 0, k)
        try:
            sent_bytes += s.send(w)
        except OSError:
            pass
        behind = t0 + secs * (k + 1) / COUNT - time.time()
        if behind > 0:  # paced: k queries by k/COUNT of the time
            tally.drain(0)
            time.sleep(max(0.0, t0 + secs * (k + 1) / COUNT - time.time()))
    took = time.time() - t0
    if good:
        good.stop.set()
        good.join()
    tally.drain(0.5)
    s.close()
    n = tally.n
    dropped = COUNT - n["full"]
    out = "sent=%d secs=%.2f full=%d tc=%d none=%d other=%d tc_of_dropped=%.2f" % (
        COUNT, took, n["full"], n["tc"], COUNT - sum(n.values()), n["other"],
        n["tc"] / dropped if dropped else 0.0)
    out += " bytes_in=%d bytes_out=%d" % (sent_bytes, tally.bytes)
    if good:
        out += " good=%d/%d" % (good.full, good.asked)
    print(out)
    return 0


def main(argv):
    if argv[1] == "zone":
        return cmd_zone(argv[2:])
    if argv[1] == "collide":
        return cmd_collide(argv[2:])
    host, port, cmd = argv[1], int(argv[2]), argv[3]
    if cmd != "flood":
        raise SystemExit("unknown command " + cmd)
    return cmd_flood(host, port, argv[4:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
