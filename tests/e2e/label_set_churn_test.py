#!/usr/bin/env python3
"""Label sets come and go with what they label. With grouping by cgroup and
room for 256 label sets, a reader moves through 5,000 cgroups, each created,
read in once and removed (as pods and scopes come and go), while a scraper
scrapes every 0.5 s. Then:
  - a new cgroup's reads after the next scrape are served within three
    scrapes (before
    2026-12-03 the map stayed full of cgroups long gone, and a new one's
    reads were dropped until a restart);
  - a cgroup whose path the daemon knows, once removed, loses its series
    within three scrapes (reason "gone");
  - the map is not full at the end, the removals are counted by reason,
    and the daemon's RSS and the map's kernel memory are printed.
Exit 0 pass, 1 fail, 77 skipped (never under CI=true)."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import harness

CGROUPS = 5000
ROOM = 256
HOOK = "tcp-socket-read"
METRIC = "netstacklat_exporter_grouped_label_sets"


class Reader:
    """One reader process; each read is acknowledged, so the test knows it
    happened in the cgroup the reader was in."""

    def __init__(self, base):
        self.base = base
        self.proc = subprocess.Popen([sys.executable, "-c", harness.ACK_READER],
                                     stdout=subprocess.PIPE, text=True)
        self.sock = socket.create_connection(("127.0.0.1", int(self.proc.stdout.readline())))
        self.move(base)

    def move(self, cgroup):
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write(str(self.proc.pid))

    def read_in(self, cgroup, n=1):
        self.move(cgroup)
        for _ in range(n):
            self.sock.sendall(b"x" * 100)
            self.sock.recv(1)
        self.move(self.base)

    def stop(self):
        self.sock.close()
        self.proc.kill()
        self.proc.wait()


def own(text, name, labels=None):
    return sum(v for n, l, v in harness.parse(text)
               if n == name and all(l.get(k) == x for k, x in (labels or {}).items()))


def reads_in(text, cgroup):
    """The hook's count for a cgroup, under its path or its id."""
    names = {cgroup, f"unknown_cgroup_id:{os.stat(cgroup).st_ino}"}
    return sum(v for n, l, v in harness.parse(text)
               if n == harness.HIST + "_count" and l["hook"] == HOOK and l["cgroup"] in names)


def churn(reader, base, port):
    stop = threading.Event()
    scrapes = []

    def scraper():
        while not stop.is_set():
            scrapes.append(own(harness.scrape(port), METRIC))
            time.sleep(0.5)
    t = threading.Thread(target=scraper)
    t.start()
    start = time.time()
    try:
        for i in range(CGROUPS):
            cgroup = os.path.join(base, f"c{i}")
            os.mkdir(cgroup)
            reader.read_in(cgroup)
            os.rmdir(cgroup)
    finally:
        stop.set()
        t.join()
    harness.log(f"{CGROUPS} cgroups created, read in once and removed in "
                f"{time.time() - start:.1f} s; label sets at each of {len(scrapes)} scrapes: "
                f"max {max(scrapes):.0f} of {ROOM}")


def wait_scrapes(port, cond, n=3):
    """Up to n scrapes, 0.5 s apart, until cond(text); the last text."""
    text = ""
    for _ in range(n):
        time.sleep(0.5)
        text = harness.scrape(port)
        if cond(text):
            break
    return text


def new_cgroup_served(reader, base, port):
    cgroup = os.path.join(base, "last")
    os.mkdir(cgroup)
    try:
        # Reads that come while the map is full are dropped (counted); the
        # next scrape makes room, and from then on the new cgroup's count.
        wait_scrapes(port, lambda t: False, 1)
        reader.read_in(cgroup, 20)
        text = wait_scrapes(port, lambda t: reads_in(t, cgroup) >= 20)
        harness.check(reads_in(text, cgroup) >= 20,
                      f"after the churn a new cgroup's 20 reads are served within three scrapes "
                      f"({reads_in(text, cgroup):.0f})")
    finally:
        os.rmdir(cgroup)


def gone_cgroup_ends(reader, base, port):
    cgroup = os.path.join(base, "gone")
    os.mkdir(cgroup)
    deadline = time.time() + 30
    named = False
    while time.time() < deadline and not named:  # until the daemon knows its path
        reader.read_in(cgroup)
        # An unknown id sends the next scrape to look (at most every 10 s).
        named = any(l.get("cgroup") == cgroup for _, l, _ in
                    harness.parse(wait_scrapes(port, lambda t: False, 1)))
    harness.check(named, f"a cgroup's series is served under its path ({cgroup})")
    gone = own(harness.scrape(port), METRIC + "_removed_total", {"reason": "gone"})
    os.rmdir(cgroup)
    text = wait_scrapes(port, lambda t: not any(l.get("cgroup") == cgroup
                                                for _, l, _ in harness.parse(t)))
    harness.check(not any(l.get("cgroup") == cgroup for _, l, _ in harness.parse(text)) and
                  own(text, METRIC + "_removed_total", {"reason": "gone"}) > gone,
                  "once removed, its series ends within three scrapes (a removal for "
                  "reason gone)")


def map_memory(pid):
    """The grouped map's kernel memory (bpftool's bytes_memlock), or None."""
    for m in harness.daemon_maps(pid):
        if m.get("name", "").startswith("netstack_latenc") and m.get("type") == "percpu_hash":
            return m.get("bytes_memlock")
    return None


def run(args):
    base = os.path.join(harness.cgroup2_root(), "nstl-churn")
    os.makedirs(base, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nstl-churn-") as d:
        config = harness.write(d, "config.yaml", f"grouping: {{by_cgroup: true, max_label_sets: "
                                                 f"{ROOM}, label_set_idle_seconds: 0}}\n")
        port = harness.free_port()
        proc = harness.start_daemon(args.daemon, port, 60, extra=[f"--config.file={config}"])
        reader = Reader(base)
        try:
            churn(reader, base, port)
            new_cgroup_served(reader, base, port)
            gone_cgroup_ends(reader, base, port)
            text = harness.scrape(port)
            removed = {r: own(text, METRIC + "_removed_total", {"reason": r})
                       for r in ("gone", "idle", "full")}
            in_use, room = own(text, METRIC), own(text, METRIC + "_capacity")
            harness.check(room == ROOM and in_use < room,
                          f"the map is not full: {in_use:.0f} of {room:.0f} label sets; "
                          f"removed {removed}")
            harness.check(removed["full"] > 0 and removed["idle"] == 0,
                          "the churn's label sets were shed to make room (idle removal off)")
            harness.log(f"daemon RSS {harness.rss_kb(proc.pid)} kB (peak "
                        f"{harness.peak_rss_kb(proc.pid)} kB); grouped map: "
                        f"{map_memory(proc.pid)} bytes of kernel memory")
        finally:
            reader.stop()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
            os.rmdir(base)


def main():
    return harness.root_test_main(__doc__, run, tools=("bpftool",))


if __name__ == "__main__":
    sys.exit(main())
