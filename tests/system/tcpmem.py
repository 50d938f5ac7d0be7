#!/usr/bin/python3
"""tcpmem.py: the attacker of tcpmem.sh: TCP clients that pipeline queries and never
read the answers, while dnsd's memory is watched and a bystander asks beside them.

  tcpmem.py HOST PORT attack PID NAME CONNS QUERIES SECONDS PROBE [--read|--closed S|--term]
      CONNS connections from 127.0.0.9 (a small receive buffer each), each writing
      QUERIES TXT queries for NAME as fast as dnsd takes them and reading nothing,
      for at most SECONDS or until dnsd has taken nothing for a second. dnsd's VmRSS
      (/proc/PID/status) is sampled every 50 ms from before the first query until
      the attack ends. Then, with the attack still holding, 10 UDP and 10 TCP
      queries for PROBE from 127.0.0.1, one at a time.
      --read: the attacker then reads every answer on every connection.
      --closed S: instead, it waits up to S seconds for dnsd to close every
      connection, still reading nothing.
      --term: sends PID a SIGTERM, then waits as --closed does, up to 8 seconds;
      adds term_at=EPOCH.
      Prints one line of key=value:
        rss_base=KB rss_max=KB growth=KB sent=N of=N stalled=0|1 attack_secs=S
        probe_udp=A/10 probe_tcp=B/10 probe_maxms=L
        [read=M inorder=K read_secs=S] [closed=C/CONNS closed_secs=S]
  tcpmem.py HOST PORT chat NAME SECONDS
      one connection from 127.0.0.1 that asks NAME and reads the answer, again and
      again, always with the first half of its next query already written (so dnsd
      never finds it idle), until dnsd closes it or SECONDS pass:
        asked=N answered=M closed_at=EPOCH|open
      sent: whole queries written; inorder: answers that came in the order asked
      (by ID), NOERROR with an answer; closed_secs: from the end of the writing,
      or from the SIGTERM.
"""
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnsq import tcp_read  # noqa: E402
from hostile import make_query, tcp_exchange, udp_exchange  # noqa: E402

ATTACKER = "127.0.0.9"  # another address than the bystander's, as a real attacker's
BYSTANDER = "127.0.0.1"


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Conn:
    """One attacking connection: its queries as one blob, and how far it got."""

    def __init__(self, host, port, blob, qlen):
        self.blob, self.qlen = blob, qlen
        self.off = 0
        self.s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                               socket.SOCK_STREAM)
        # A small window: the answers stay in dnsd, not in this host's buffers.
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.s.bind((ATTACKER if ":" not in host else "::1", 0))
        self.s.settimeout(2.0)
        self.s.connect((host, port))
        self.s.setblocking(False)
        self.inbuf = bytearray()
        self.got = self.inorder = 0

    def send_some(self, upto):
        """Writes what the socket takes, up to offset upto. Returns octets written."""
        if self.off >= upto:
            return 0
        try:
            k = self.s.send(self.blob[self.off:upto])
        except (BlockingIOError, InterruptedError):
            return 0
        self.off += k
        return k

    def whole(self):
        """Queries written whole (rounded up once the rest of the last one is sent)."""
        return -(-self.off // self.qlen)

    def take(self):
        """Reads what has come; counts the whole answers."""
        try:
            d = self.s.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return True
        except ConnectionError:
            return False
        if not d:
            return False
        self.inbuf += d
        while len(self.inbuf) >= 2:
            ml = struct.unpack("!H", self.inbuf[:2])[0]
            if len(self.inbuf) < 2 + ml:
                break
            m = bytes(self.inbuf[2:2 + ml])
            del self.inbuf[:2 + ml]
            if (len(m) >= 12 and struct.unpack("!H", m[:2])[0] == self.got & 0xFFFF
                    and m[2] & 0x80 and m[3] & 0x0F == 0 and struct.unpack("!H", m[6:8])[0] >= 1):
                self.inorder += 1
            self.got += 1
        return True


def probe(host, port, name):
    """10 UDP and 10 TCP queries, one at a time: (udp answered, tcp answered, max ms)."""
    udp = tcp = 0
    maxms = 0
    for k in range(20):
        q = make_query(name, "TXT", {})
        t0 = time.time()
        if k % 2:
            rep = tcp_exchange(host, port, q, BYSTANDER, timeout=2.0)
        else:
            rep = udp_exchange(host, port, q, BYSTANDER, timeout=2.0)
        maxms = max(maxms, int((time.time() - t0) * 1000))
        good = isinstance(rep, bytes) and len(rep) >= 12 and rep[:2] == q[:2] and not rep[2] & 0x02 \
            and struct.unpack("!H", rep[6:8])[0] >= 1
        if k % 2:
            tcp += good
        else:
            udp += good
    return udp, tcp, maxms


def sendq_max(port):
    """The largest send queue of dnsd's side of its TCP connections on port, in octets:
    what the kernel holds of its answers, outside dnsd's memory (ss, from iproute2)."""
    out = subprocess.run(["ss", "-tnH", "state", "established", "( sport = :%d )" % port],
                         capture_output=True, text=True).stdout
    return max([int(line.split()[1]) for line in out.splitlines() if line.split()] or [0])


def cmd_attack(host, port, args):
    pid, name, nconns, nq, secs, probe_name = (int(args[0]), args[1], int(args[2]), int(args[3]),
                                               float(args[4]), args[5])
    read = "--read" in args
    closed_wait = float(args[args.index("--closed") + 1]) if "--closed" in args else 0.0
    term = "--term" in args
    base = rss_kb(pid)
    peak = base
    q = make_query(name, "TXT", {})
    qs = []
    for i in range(nq):  # IDs 0, 1, 2...: the answers' order shows
        w = bytearray(struct.pack("!H", len(q)) + q)
        struct.pack_into("!H", w, 2, i & 0xFFFF)
        qs.append(bytes(w))
    blob = b"".join(qs)
    conns = [Conn(host, port, blob, len(qs[0])) for _ in range(nconns)]
    t0 = last_progress = last_sample = time.time()
    stalled = 0
    while True:
        now = time.time()
        if now - last_sample >= 0.05:
            peak = max(peak, rss_kb(pid))
            last_sample = now
        todo = [c for c in conns if c.off < len(c.blob)]
        if not todo or now - t0 >= secs:
            break
        if now - last_progress >= 1.0:
            stalled = 1
            break
        _, w, _ = select.select([], [c.s for c in todo], [], 0.05)
        for c in todo:
            if c.s in w and c.send_some(len(c.blob)):
                last_progress = time.time()
    attack_secs = time.time() - t0
    # Hold a moment longer: dnsd may still be answering what it has read.
    end = time.time() + 1.0
    while time.time() < end:
        peak = max(peak, rss_kb(pid))
        time.sleep(0.05)
    sendq = sendq_max(port)
    pu, pt, pms = probe(host, port, probe_name)
    peak = max(peak, rss_kb(pid))
    sent = sum(c.whole() for c in conns)
    out = ("rss_base=%d rss_max=%d growth=%d sent=%d of=%d stalled=%d attack_secs=%.1f "
           "probe_udp=%d/10 probe_tcp=%d/10 probe_maxms=%d sendq_max=%d") % (
        base, peak, peak - base, sent, nconns * nq, stalled, attack_secs, pu, pt, pms, sendq)
    if read:
        # Finish the last query each connection began, and read every answer.
        t1 = time.time()
        live = list(conns)
        while live and time.time() - t1 < 20.0:
            for c in live:
                c.send_some(c.whole() * c.qlen)
            r, _, _ = select.select([c.s for c in live], [], [], 0.2)
            for c in list(live):
                if c.s in r and not c.take():
                    live.remove(c)
                elif c.got >= c.whole():
                    live.remove(c)
        out += " read=%d inorder=%d read_secs=%.1f" % (
            sum(c.got for c in conns), sum(c.inorder for c in conns), time.time() - t1)
    elif closed_wait or term:
        # Closed by dnsd: a reset (it had unread queries) or an end of stream,
        # seen by poll without reading a single answer.
        t1 = t0 + attack_secs
        if term:
            t1 = time.time()
            os.kill(pid, signal.SIGTERM)
            closed_wait = 8.0
            out += " term_at=%.3f" % t1
        p = select.poll()
        for c in conns:
            p.register(c.s, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
        gone = set()
        while len(gone) < len(conns) and time.time() - t1 < closed_wait:
            for fd, ev in p.poll(100):
                if ev & (select.POLLRDHUP | select.POLLHUP | select.POLLERR):
                    gone.add(fd)
                    p.unregister(fd)
        out += " closed=%d/%d closed_secs=%.1f" % (len(gone), len(conns), time.time() - t1)
    for c in conns:
        c.s.close()
    print(out)
    return 0


def cmd_chat(host, port, args):
    name, secs = args[0], float(args[1])
    asked = answered = 0
    closed = "open"
    end = time.time() + secs
    q = make_query(name, "TXT", {})
    msg = struct.pack("!H", len(q)) + q
    half = len(msg) // 2
    with socket.create_connection((host, port), timeout=2.0, source_address=(BYSTANDER, 0)) as s:
        try:
            s.sendall(msg[:half])
            while time.time() < end:
                asked += 1
                s.sendall(msg[half:] + msg[:half])
                rep = tcp_read(s)
                if rep is None:
                    break
                answered += rep[:2] == q[:2]
                time.sleep(0.01)
        except (socket.timeout, ConnectionError):
            pass
        if time.time() < end:
            closed = "%.3f" % time.time()
    print("asked=%d answered=%d closed_at=%s" % (asked, answered, closed))
    return 0


def main(argv):
    host, port, cmd, args = argv[1], int(argv[2]), argv[3], argv[4:]
    return {"attack": cmd_attack, "chat": cmd_chat}[cmd](host, port, args)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OSError as e:  # refused, reset while connecting: what the shell check then shows
        print("connection failed: %s" % e)
        sys.exit(2)
