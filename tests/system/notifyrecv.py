#!/usr/bin/python3
"""notifyrecv.py: a stand-in secondary for notify.sh: it receives dnsd's NOTIFYs
on loopback with dnspython, checks their TSIG, and answers them.

  notifyrecv.py PORTFILE LOG [--key NAME:SECRET] [--silent N]

Binds 127.0.0.1 on a port the system picks and writes it to PORTFILE. For each
message it appends one line to LOG:
  notify zone=<qname> serial=<SOA serial in the answer|-> tsig=<valid|none> aa=<0|1>
  bad <what dnspython said>          (not a NOTIFY it accepts: TSIG wrong, malformed)
It answers each NOTIFY (signed over the NOTIFY's MAC when it was signed), except
the first N with --silent N. Runs until killed.
"""
import socket
import sys

import dns.flags
import dns.message
import dns.opcode
import dns.rdatatype
import dns.tsigkeyring


def main():
    portfile, log = sys.argv[1], sys.argv[2]
    keyring, silent = None, 0
    args = sys.argv[3:]
    while args:
        if args[0] == "--key":
            name, secret = args[1].split(":", 1)
            keyring = dns.tsigkeyring.from_text({name: ("hmac-sha256", secret)})
        elif args[0] == "--silent":
            silent = int(args[1])
        args = args[2:]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    import os
    os.rename(portfile + ".tmp", portfile)
    while True:
        wire, peer = s.recvfrom(65535)
        try:
            q = dns.message.from_wire(wire, keyring=keyring)
        except Exception as e:  # a TSIG that does not verify, or garbage
            line = "bad %s" % type(e).__name__
            q = None
        if q is not None:
            if q.opcode() != dns.opcode.NOTIFY or len(q.question) != 1:
                line = "bad not-a-notify"
                q = None
            else:
                serial = "-"
                for rrset in q.answer:
                    if rrset.rdtype == dns.rdatatype.SOA:
                        serial = str(rrset[0].serial)
                line = "notify zone=%s serial=%s tsig=%s aa=%d" % (
                    q.question[0].name, serial, "valid" if q.had_tsig else "none",
                    1 if q.flags & dns.flags.AA else 0)
        with open(log, "a") as f:
            f.write(line + "\n")
        if q is None:
            continue
        if silent > 0:
            silent -= 1
            continue
        r = dns.message.make_response(q)
        s.sendto(r.to_wire(), peer)


if __name__ == "__main__":
    main()
