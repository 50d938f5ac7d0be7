"""alloc.py PORT COUNT NAMES_FILE: sends COUNT UDP queries to dnsd on 127.0.0.1:PORT,
cycling through the (name, type, options) lines of NAMES_FILE, 64 in flight at a
time, and prints how many were answered. Then over one TCP connection it sends
200 pipelined queries and prints how many answers came back.

NAMES_FILE lines: NAME TYPE [noedns] [bufsize=N] [chaos] [raw=HEX]."""
import socket
import struct
import sys

import dns.message
import dns.rdataclass

import dnsq


def queries(path):
    out = []
    for line in open(path):
        f = line.split()
        if not f:
            continue
        raw = [x for x in f if x.startswith("raw=")]
        if raw:
            out.append(bytes.fromhex(raw[0][4:]))
            continue
        opts = {}
        for x in f[2:]:
            if x == "noedns":
                opts["noedns"] = True
            elif x.startswith("bufsize="):
                opts["bufsize"] = int(x[8:])
        if "chaos" in f[2:]:
            m = dns.message.make_query(f[0], f[1], rdclass=dns.rdataclass.CH)
            out.append(m.to_wire())
        else:
            out.append(dnsq.make(f[0], f[1], **opts).to_wire())
    return out


def main():
    port, count, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    qs = queries(path)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.settimeout(2.0)
    sent = answered = 0
    inflight = 0
    while sent < count or inflight:
        while sent < count and inflight < 64:
            w = bytearray(qs[sent % len(qs)])
            w[0:2] = struct.pack(">H", sent & 0xFFFF)
            s.sendto(bytes(w), ("127.0.0.1", port))
            sent += 1
            inflight += 1
        try:
            s.recv(65535)
            answered += 1
        except socket.timeout:
            pass  # dropped on purpose (QR set, malformed): stop waiting for it
        inflight -= 1
    print("udp", sent, answered)
    t = socket.create_connection(("127.0.0.1", port), timeout=5)
    tcp = [dnsq.make("_spf.auth.demo.example", "TXT").to_wire() for _ in range(200)]
    t.sendall(b"".join(struct.pack(">H", len(q)) + q for q in tcp))
    got = 0
    try:
        while got < len(tcp) and dnsq.tcp_read(t) is not None:
            got += 1
    except Exception:
        pass
    t.close()
    print("tcp", len(tcp), got)


if __name__ == "__main__":
    main()
