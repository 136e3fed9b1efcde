#!/usr/bin/env python3
"""The HTTP server against attackers who never read the answers, spray
passwords, flood handshakes or shape requests for smuggling (issue 20),
each attack on the real daemon over loopback.

  cold_spray: a fresh daemon (nothing remembered): 4 sprayers from 4
             addresses hold the bcrypt queue; every scrape answered within 1 s.
  ipv6_spray: a fresh daemon in a network namespace of the test's own, where
             one IPv6 /64 is local: 16 sprayers, each request from a new
             random address of it; every scrape answered within 1 s.
  spray:     40 clients from other loopback addresses send wrong passwords
             (basic auth on, bcrypt cost 10) as fast as they are answered;
             the scraper (right password, a new connection every 0.45 s,
             1 s limit) must have every scrape answered; prints the checks
             per second the sprayers got and the slowest scrape.
  nonreaders: 256 clients from other loopback addresses, each pipelining
             1,000 requests without a password (cheap 401s) and never
             reading, re-armed as soon as the daemon closes one; the scraper
             on a new connection every 0.45 s and a second one on a kept
             connection (as Prometheus keeps it) must have every scrape
             answered within 1 s; prints the slowest scrape, the daemon's
             peak RSS and how long a non-reader lived.
  smuggling: two differing Content-Length headers, Content-Length with
             Transfer-Encoding, HTTP/1.1 without Host: each answered 400 and
             the connection closed, so bytes after the head are never read
             as a next request; a head sent one byte per segment still
             parses.

Prints what it saw. Exit 0 pass, 1 fail, 77 skipped (never under CI=true).
"""
import ctypes
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time


import harness


def exchange(port, data, timeout=5, per_byte=False):
    """Sends data, then reads until the daemon closes or `timeout` passes;
    returns (answers received, closed by the daemon)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if per_byte:
            for b in data:
                s.sendall(bytes([b]))
                time.sleep(0.001)
        else:
            s.sendall(data)
        got, closed = b"", False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            got += chunk
    return got, closed


def statuses(answer):
    return [int(line.split()[1]) for line in answer.split(b"\r\n")
            if line.startswith(b"HTTP/1.1 ")]


def smuggling(port, pid):
    follow = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    cases = {
        "Content-Length 0 and 40": b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                                   b"Content-Length: " + str(len(follow)).encode() + b"\r\n\r\n",
        "Content-Length with Transfer-Encoding": b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                                 b"Content-Length: 0\r\nTransfer-Encoding: "
                                                 b"chunked\r\n\r\n",
        "HTTP/1.1 without Host": b"GET /metrics HTTP/1.1\r\n\r\n",
        "two Host headers": b"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    }
    for name, head in cases.items():
        answer, closed = exchange(port, head + follow)
        harness.check(statuses(answer) == [400] and closed,
                      f"smuggling: {name}: one 400, connection closed, the bytes after the head "
                      f"never answered (statuses {statuses(answer)}, closed {closed})")
    t0 = time.monotonic()
    head = harness.request("/metrics", harness.basic(USER, PASSWORD))[:-2] + b"".join(
        b"X-Pad-%d: %s\r\n" % (i, b"v" * 40) for i in range(40)) + b"Connection: close\r\n\r\n"
    answer, closed = exchange(port, head, timeout=30, per_byte=True)
    harness.check(statuses(answer) == [200],
                  f"a {len(head)}-byte head sent one byte per segment is answered 200 "
                  f"({time.monotonic() - t0:.1f} s)")


USER, PASSWORD = "prometheus", "right horse battery"


def scrape_with_password(port, timeout=1.0):
    """Seconds a scrape with the right password took on a new connection,
    or None if it was not answered 200 within `timeout`."""
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(max(0.01, timeout - (time.monotonic() - t0)))
            s.sendall(harness.request("/metrics", harness.basic(USER, PASSWORD), close=True))
            status, _ = harness.read_response(s)
    except OSError:
        return None
    took = time.monotonic() - t0
    return took if status == 200 and took <= timeout else None


def scraper_under(port, attack_running, n=20, every=0.45):
    """The real scraper while an attack runs: (answered, attempted, slowest)."""
    answered, slowest = 0, 0.0
    for _ in range(n):
        if not attack_running():
            break
        t0 = time.monotonic()
        took = scrape_with_password(port)
        if took is not None:
            answered += 1
            slowest = max(slowest, took)
        time.sleep(max(0.0, every - (time.monotonic() - t0)))
    return answered, n, slowest


class Attackers:
    """N threads running self.attack(i) until the `with` block ends."""

    def __init__(self, port, n):
        self.port, self.stop = port, threading.Event()
        self.threads = [threading.Thread(target=self.attack, args=(i,)) for i in range(n)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


class Sprayers(Attackers):
    """N clients sending wrong passwords as fast as they are answered: each
    from its own loopback address (127.0.0.2...) on a kept connection, or,
    with `source`, each request on a new connection from source(i)."""

    def __init__(self, port, n=40, source=None):
        self.answers, self.source = {}, source
        super().__init__(port, n)

    def attack(self, i):
        while not self.stop.is_set():
            try:
                family, address = ((socket.AF_INET, f"127.0.0.{2 + i % 250}")
                                   if self.source is None else self.source(i))
                with socket.socket(family) as s:
                    s.bind((address, 0))
                    s.settimeout(5)
                    s.connect(("127.0.0.1" if family == socket.AF_INET else "::1", self.port))
                    while not self.stop.is_set():
                        s.sendall(harness.request("/metrics", harness.basic(USER, f"wrong {i} {time.time()}")))
                        status, _ = harness.read_response(s)
                        if status == 0:
                            break
                        self.answers[status] = self.answers.get(status, 0) + 1
                        if self.source is not None:
                            break
            except OSError:
                time.sleep(0.01)


def spray(port, pid):
    with Sprayers(port) as sprayers:
        time.sleep(1)  # the sprayers are at full speed
        t0 = time.monotonic()
        answered, attempted, slowest = scraper_under(port, lambda: True)
        seconds = time.monotonic() - t0
        got = dict(sprayers.answers)
    rate = got.get(401, 0) / (seconds + 1)
    harness.log(f"spray: {answered}/{attempted} scrapes answered within 1 s, slowest "
                f"{slowest * 1000:.0f} ms; the sprayers got {got} (about {rate:.0f} bcrypt "
                f"checks/s)")
    harness.check(answered == attempted, "spray: every scrape with the right password answered "
                  "within 1 s")


def cold_spray(daemon, d):
    """Just after a start no credentials are remembered: 4 sprayers from 4
    addresses keep the bcrypt queue busy before the scraper's first
    request. Each scrape must still be answered within 1 s."""
    proc, port = start(daemon, d)
    try:
        with Sprayers(port, n=4) as sprayers:
            time.sleep(1)  # every sprayer has a check queued or running
            answered, attempted, slowest = scraper_under(port, lambda: True)
            got = dict(sprayers.answers)
        harness.log(f"cold_spray: {answered}/{attempted} scrapes answered within 1 s, slowest "
                    f"{slowest * 1000:.0f} ms; the 4 sprayers got {got}")
        harness.check(answered == attempted, "cold_spray: after a start, with the bcrypt queue "
                      "held by 4 sprayers, every scrape answered within 1 s")
    finally:
        stop_daemon(proc)


V6_NET = "fd00:6464:0:1"


def random_v6_source(i):
    """A new address of the sprayers' /64 for each connection: an IPv6 host
    has 2^64 of them."""
    return socket.AF_INET6, V6_NET + "".join(f":{random.getrandbits(16):x}" for _ in range(4))


def ipv6_spray(daemon, d):
    """Sprayers from one IPv6 /64, each request from a new address of it
    (the daemon in a network namespace of the test's own, where the whole
    /64 is local). The scraper (IPv4, kept by the dual-stack socket) must
    have every scrape answered within 1 s."""
    with Netns(V6_NET + "::/64"):
        proc, port = start(daemon, d, listen=":")
        try:
            with Sprayers(port, n=16, source=random_v6_source) as sprayers:
                time.sleep(1)
                answered, attempted, slowest = scraper_under(port, lambda: True)
                got = dict(sprayers.answers)
            harness.log(f"ipv6_spray: {answered}/{attempted} scrapes answered within 1 s, "
                        f"slowest {slowest * 1000:.0f} ms; 16 sprayers from random addresses of "
                        f"{V6_NET}::/64 got {got}")
            harness.check(got.get(401, 0) + got.get(429, 0) > 100,
                          "ipv6_spray: the sprayers were answered (the /64 is reachable)")
            harness.check(answered == attempted, "ipv6_spray: with one /64 spraying from new "
                          "addresses, every scrape answered within 1 s")
        finally:
            stop_daemon(proc)


CLONE_NEWNET = 0x40000000


class Netns:
    """A network namespace of the test's own: loopback up, `prefix` routed
    to it (any address of the /64 can be bound), entered by this thread, so
    the daemon started next and the threads started next live in it."""

    def __init__(self, prefix):
        self.name, self.prefix = f"nstl-v6-{os.getpid()}", prefix
        self.libc = ctypes.CDLL(None, use_errno=True)

    def setns(self, path):
        fd = os.open(path, os.O_RDONLY)
        try:
            if self.libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {path}")
        finally:
            os.close(fd)

    def __enter__(self):
        if not harness.have_ipv6():
            harness.skip("the kernel has no IPv6")
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        for cmd in (["link", "set", "lo", "up"],
                    ["-6", "route", "add", "local", self.prefix, "dev", "lo"]):
            subprocess.run(["ip", "-n", self.name] + cmd, check=True)
        subprocess.run(["ip", "netns", "exec", self.name, "sysctl", "-qw",
                        "net.ipv6.ip_nonlocal_bind=1"], check=True)
        self.back = f"/proc/self/fd/{os.open('/proc/self/ns/net', os.O_RDONLY)}"
        self.setns(f"/run/netns/{self.name}")
        return self

    def __exit__(self, *exc):
        self.setns(self.back)
        subprocess.run(["ip", "netns", "del", self.name], check=False)


def start(daemon, d, listen="127.0.0.1:"):
    port = harness.free_port()
    proc = harness.start_daemon(daemon, port, 60, plain_http=False, extra=[
        f"--web.config.file={harness.write_web_config(d, USER, PASSWORD)}",
        f"--web.listen-address={listen}{port}"])
    return proc, port


def stop_daemon(proc):
    proc.terminate()
    proc.wait(timeout=30)


class NonReaders(Attackers):
    """N clients pipelining `depth` requests each and never reading; each
    reconnects as soon as the daemon closes it. Records how long each
    connection lived."""

    def __init__(self, port, n=256, depth=1000, path="/x"):
        self.lived = []
        self.burst = b"".join(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                              for _ in range(depth))
        super().__init__(port, n)

    def attack(self, i):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    s.bind((harness.client_address(i), 0))
                    s.settimeout(1)
                    s.connect(("127.0.0.1", self.port))
                    try:
                        s.sendall(self.burst)
                    except socket.timeout:
                        pass  # the daemon stopped reading: it is answering
                    # Never read. A closed connection answers a send with a
                    # reset, and the next send fails: that is how it notices.
                    while not self.stop.is_set():
                        try:
                            s.send(b"\r\n")
                        except socket.timeout:
                            pass
                        except OSError:
                            break
                        time.sleep(0.2)
            except OSError:
                time.sleep(0.05)
            if not self.stop.is_set():
                self.lived.append(time.monotonic() - t0)


class KeptScraper:
    """A scraper on one kept connection (as Prometheus), every 0.45 s;
    reconnects if the daemon closed it. Counts scrapes answered in 1 s."""

    def __init__(self, port):
        self.port, self.stop = port, threading.Event()
        self.answered, self.attempted, self.slowest, self.reconnects = 0, 0, 0.0, 0
        self.thread = threading.Thread(target=self.run)

    def run(self):
        s = None
        while not self.stop.is_set():
            t0 = time.monotonic()
            self.attempted += 1
            try:
                if s is None:
                    s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                    self.reconnects += 1
                s.settimeout(1)
                s.sendall(harness.request("/metrics", harness.basic(USER, PASSWORD)))
                status, _ = harness.read_response(s)
                took = time.monotonic() - t0
                if status == 200 and took <= 1:
                    self.answered += 1
                    self.slowest = max(self.slowest, took)
                if status == 0:
                    s.close()
                    s = None
            except OSError:
                if s:
                    s.close()
                s = None
            time.sleep(max(0.0, 0.45 - (time.monotonic() - t0)))
        if s:
            s.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def nonreaders(port, pid):
    with NonReaders(port) as attackers, KeptScraper(port) as kept:
        time.sleep(2)  # every slot taken
        answered, attempted, slowest = scraper_under(port, lambda: True)
        lived = sorted(attackers.lived)
    harness.log(f"nonreaders: new connections {answered}/{attempted} answered within 1 s "
                f"(slowest {slowest * 1000:.0f} ms); kept connection {kept.answered}/"
                f"{kept.attempted} (slowest {kept.slowest * 1000:.0f} ms, {kept.reconnects} "
                f"connects); peak RSS {harness.peak_rss_kb(pid) // 1024} MB; non-reader connections "
                f"closed: {len(lived)}, longest lived {lived[-1] if lived else 0:.1f} s")
    harness.check(answered == attempted, "nonreaders: every scrape on a new connection answered")
    harness.check(kept.answered == kept.attempted,
                  "nonreaders: every scrape on the kept connection answered")


ATTACKS = {"smuggling": smuggling, "spray": spray, "nonreaders": nonreaders}
# Each on a daemon of its own, started for it: nothing remembered yet.
COLD_ATTACKS = {"cold_spray": cold_spray, "ipv6_spray": ipv6_spray}


def run(args):
    d = tempfile.mkdtemp(prefix="nstl-attacks-")
    names = args.attacks.split(",")
    for name in names:
        if name in COLD_ATTACKS:
            COLD_ATTACKS[name](args.daemon, d)
    warm = [name for name in names if name in ATTACKS]
    if not warm:
        return
    proc, port = start(args.daemon, d)
    try:
        harness.check(scrape_with_password(port, timeout=5) is not None,
                      "serving with basic auth (bcrypt cost 10)")
        for name in warm:
            ATTACKS[name](port, proc.pid)
        harness.check(proc.poll() is None, "the daemon is still serving")
    finally:
        stop_daemon(proc)


def main():
    return harness.root_test_main(__doc__, run, [
        ("--attacks", dict(default=",".join(list(COLD_ATTACKS) + list(ATTACKS)),
                           help="which attacks, comma-separated"))])


if __name__ == "__main__":
    sys.exit(main())
