#!/usr/bin/env python3
"""The HTTP server against attackers who never read the answers, spray
passwords, flood handshakes or shape requests for smuggling (issue 20),
each attack on the real daemon over loopback.

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
import socket
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
    """N clients, each from its own loopback address (127.0.0.2...), sending
    wrong passwords on a kept connection as fast as they are answered."""

    def __init__(self, port, n=40):
        self.answers = {}
        super().__init__(port, n)

    def attack(self, i):
        while not self.stop.is_set():
            try:
                with socket.socket() as s:
                    s.bind((f"127.0.0.{2 + i % 250}", 0))
                    s.settimeout(5)
                    s.connect(("127.0.0.1", self.port))
                    while not self.stop.is_set():
                        s.sendall(harness.request("/metrics", harness.basic(USER, f"wrong {i} {time.time()}")))
                        status, _ = harness.read_response(s)
                        if status == 0:
                            break
                        self.answers[status] = self.answers.get(status, 0) + 1
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


def run(args):
    port = harness.free_port()
    d = tempfile.mkdtemp(prefix="nstl-attacks-")
    proc = harness.start_daemon(args.daemon, port, 60, plain_http=False,
                            extra=[f"--web.config.file={harness.write_web_config(d, USER, PASSWORD)}"])
    try:
        harness.check(scrape_with_password(port, timeout=5) is not None,
                  "serving with basic auth (bcrypt cost 10)")
        for name in args.attacks.split(","):
            ATTACKS[name](port, proc.pid)
        harness.check(proc.poll() is None, "the daemon is still serving")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    return harness.root_test_main(__doc__, run, [
        ("--attacks", dict(default=",".join(ATTACKS), help="which attacks, comma-separated"))])

if __name__ == "__main__":
    sys.exit(main())
