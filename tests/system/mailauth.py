#!/usr/bin/python3
"""mailauth.py: what a sending platform and a receiving mail server do, for the
system tests: DKIM signing (dkimpy) with a key dnsdctl wrote, DKIM verification
and SPF checks (pyspf) whose every DNS lookup goes to dnsd through resolve.py's
stub resolver (the system resolver is disabled, so nothing leaks elsewhere).

  mailauth.py message DOMAIN OUT
      writes a plain test message From: someone at DOMAIN
  mailauth.py sign ALGORITHM DOMAIN SELECTOR KEYFILE IN OUT
      ALGORITHM rsa-* or ed25519; writes IN with a DKIM-Signature prepended
  mailauth.py verify PORT MSG [--until True|False --within SECONDS]
      prints "True KTAG KEYBITS via NAME" (NAME: where the key was found after
      the CNAME chain) or "False: REASON"; with --until, repeats the verification
      until the result is the one wanted or SECONDS have passed, then prints the
      last result and "after S.SS s" on a second line; exit 1 if never reached
  mailauth.py spf PORT IP SENDER HELO [--until RESULT --within SECONDS]
      prints "RESULT: EXPLANATION" from spf.check2
  mailauth.py mutate HEADER|body IN OUT
      alters the message after signing: the Subject header or one body word
"""
import logging
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resolve  # noqa: E402

import dkim  # noqa: E402
import dns.resolver  # noqa: E402
import spf  # noqa: E402


def _no_system_resolver(*a, **k):
    raise RuntimeError("the system resolver was used: every lookup must go to dnsd")


dns.resolver.resolve = dns.resolver.query = _no_system_resolver
dns.resolver.Resolver.resolve = dns.resolver.Resolver.query = _no_system_resolver

PORT = None
FETCHED = []  # names the key was finally read from (after CNAMEs)


def dkim_dnsfunc(name, timeout=5):
    """dkimpy's dnsfunc: the TXT at name, bytes, or None when there is none."""
    try:
        a = resolve.resolve(name, "TXT", PORT, timeout=min(timeout, 1.0))
    except resolve.NXDomain:
        return None
    except resolve.LookupFailed as e:
        raise dkim.DnsTimeoutError(str(e))
    FETCHED.append(a.name.to_text())
    recs = [b"".join(rd.strings) for rd in a.records()]
    return recs[0] if recs else None


def spf_dnslookup(name, qtype, strict=True, timeout=30):
    """pyspf's DNSLookup: [((name, qtype), value)], the shape of spf.DNSLookup_dnspython."""
    try:
        a = resolve.resolve(name, qtype, PORT, timeout=min(timeout, 1.0))
    except resolve.NXDomain:
        return []
    except resolve.LookupFailed as e:
        raise spf.TempError("DNS " + str(e))
    out = []
    for rd in a.records():
        if qtype in ("A", "AAAA"):
            v = rd.address
        elif qtype == "MX":
            v = (rd.preference, rd.exchange)
        elif qtype == "PTR":
            v = rd.target.to_text(True)
        elif qtype in ("TXT", "SPF"):
            v = list(rd.strings)
        else:
            continue
        out.append(((name, qtype), v))
    return out


spf.DNSLookup = spf_dnslookup


def message(domain):
    return ("From: Customer Support <support@%s>\r\n"
            "To: Someone <someone@receiver.example>\r\n"
            "Subject: Your order has shipped\r\n"
            "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: <test-1@%s>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n"
            "Hello,\r\n\r\nyour order 12345 has shipped.\r\n\r\n-- \r\nThe team\r\n"
            % (domain, domain)).encode()


def sign(alg, domain, selector, keyfile, msg):
    if alg == "ed25519":
        der = subprocess.run(["openssl", "pkey", "-in", keyfile, "-outform", "DER"],
                             check=True, capture_output=True).stdout
        import base64
        priv = base64.b64encode(der[-32:])  # the raw 32-byte seed
        sa = b"ed25519-sha256"
    else:
        with open(keyfile, "rb") as f:
            priv = f.read()
        sa = b"rsa-sha256"
    sig = dkim.sign(msg, selector.encode(), domain.encode(), priv, signature_algorithm=sa,
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig + msg


class _Keep(logging.Handler):
    def __init__(self):
        super().__init__()
        self.last = None

    def emit(self, record):
        self.last = record.getMessage()


def verify_once(msg):
    del FETCHED[:]
    log = logging.getLogger("dkimverify")
    log.propagate = False
    log.handlers[:] = []
    keep = _Keep()
    log.addHandler(keep)
    log.setLevel(logging.DEBUG)
    d = dkim.DKIM(msg, logger=log, minkey=1024, timeout=1)
    try:
        ok = d.verify(dnsfunc=dkim_dnsfunc)
    except dkim.DKIMException as e:
        return "False: %s" % e
    if not ok:
        if getattr(d, "ktag", None) and FETCHED:  # the key was found and parsed: the signature is wrong
            return "False: signature does not match the %s %s key via %s" % (
                d.ktag.decode(), d.keysize, FETCHED[-1])
        return "False: %s" % (keep.last or "no reason given")
    return "True %s %s via %s" % (d.ktag.decode(), d.keysize, FETCHED[-1] if FETCHED else "?")


def until(fn, want, within):
    t0 = time.monotonic()
    while True:
        got = fn()
        if got.split(":")[0].split(" ")[0] == want or time.monotonic() - t0 > within:
            break
        time.sleep(0.05)
    print(got)
    print("after %.2f s" % (time.monotonic() - t0))
    return 0 if got.split(":")[0].split(" ")[0] == want else 1


def opt_until(args):
    if len(args) >= 4 and args[-4] == "--until" and args[-2] == "--within":
        return args[:-4], args[-3], float(args[-1])
    return args, None, None


def main(argv):
    global PORT
    if not argv:
        sys.stderr.write(__doc__)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "message":
        with open(args[1], "wb") as f:
            f.write(message(args[0]))
        return 0
    if cmd == "sign":
        alg, domain, selector, keyfile, src, dst = args
        with open(src, "rb") as f:
            msg = f.read()
        out = sign(alg, domain, selector, keyfile, msg)
        with open(dst, "wb") as f:
            f.write(out)
        return 0
    if cmd == "mutate":
        what, src, dst = args
        with open(src, "rb") as f:
            msg = f.read()
        if what == "body":
            new = msg.replace(b"order 12345", b"order 12346")
        else:
            new = msg.replace(b"Subject: Your order has shipped", b"Subject: Your order has NOT shipped")
        if new == msg:
            sys.stderr.write("mutate: nothing changed\n")
            return 1
        with open(dst, "wb") as f:
            f.write(new)
        return 0
    if cmd == "verify":
        args, want, within = opt_until(args)
        PORT = int(args[0])
        with open(args[1], "rb") as f:
            msg = f.read()
        if want:
            return until(lambda: verify_once(msg), want, within)
        print(verify_once(msg))
        return 0
    if cmd == "spf":
        args, want, within = opt_until(args)
        PORT = int(args[0])
        ip, sender, helo = args[1:4]

        def once():
            res, expl = spf.check2(i=ip, s=sender, h=helo, timeout=5)
            return "%s: %s" % (res, expl)
        if want:
            return until(once, want, within)
        print(once())
        return 0
    sys.stderr.write("unknown command %s\n" % cmd)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
