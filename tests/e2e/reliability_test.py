#!/usr/bin/env python3
"""The daemon keeps serving through bad clients, signal storms, load and
missing mounts, loses no counts, and leaves nothing behind after stop.

  - HTTP faults: idle connections, garbage requests, clients that hang up
    mid-response; a SIGHUP storm; SIGTERM during a scrape.
  - bpffs and tracefs not mounted: still attaches (it needs neither).
  - Least privilege: after attaching, no thread holds a capability (as plain
    root and with --runas.user) and scrapes still work.
  - Load: CONCURRENCY scrapers (wrk) for LOAD_SECONDS: no failed scrape,
    RSS flat, histograms still advancing.
  - Cycles: CYCLES start/stop (SIGTERM) leave no BPF program, map or link.
Prints the figures. Exit 0 pass, 1 fail, 77 skipped (never under CI=true).
"""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import harness

HIST_COUNT = "ebpf_exporter_netstack_latency_seconds_count"


def total_count(port):
    return sum(v for n, _, v in harness.parse(harness.scrape(port)) if n == HIST_COUNT)


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def bpf_objects():
    out = {}
    for kind in ("prog", "map", "link"):
        r = subprocess.run(["bpftool", kind, "show"], capture_output=True, text=True)
        out[kind] = {l.split(":")[0] for l in r.stdout.splitlines() if l[:1].isdigit()}
    return out


def http_faults(port):
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    for junk in (b"\x00\xff garbage\r\n\r\n", b"GET /metrics HTTP/9.9\r\n\r\n",
                 b"GET " + b"A" * 20000 + b" HTTP/1.1\r\n\r\n", b"POST /metrics HTTP/1.1\r\n"
                 b"Content-Length: 99999999\r\n\r\nabc"):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(junk)
            try:
                s.recv(100)
            except OSError:
                pass
    for _ in range(20):  # hang up after the first bytes of the response
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    for s in idle:
        s.close()


def run_load(port, seconds, concurrency):
    out = subprocess.run(["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency",
                          "--timeout", "10s", f"http://127.0.0.1:{port}/metrics"],
                         capture_output=True, text=True).stdout
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = (sum(int(x) for x in errors.groups()) if errors else 0) + \
        (int(non2xx.group(1)) if non2xx else 0)
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    return reqs, failed, p99


def main():
    return harness.root_test_main(__doc__, run, [
        ("--cycles", dict(type=int, default=100)),
        ("--load-seconds", dict(type=int, default=60)),
        ("--concurrency", dict(type=int, default=50))])


def plain_root_start(daemon):
    """Started as plain root (the README's command): every thread gives up
    every capability, and the bounding set too (root may drop it), so that
    no thread, nor a program it could exec, can load BPF again."""
    port = harness.free_port()
    proc = harness.start_daemon(daemon, port, 60)
    try:
        harness.check_no_thread_capabilities(proc.pid, 0, "plain root")
        harness.send_traffic()
        harness.check(total_count(port) > 0, "plain root: serves live histograms without them")
    finally:
        proc.send_signal(signal.SIGTERM)
        harness.check(proc.wait(timeout=30) == 0, "plain root: exits 0 on SIGTERM")


def run(args):
    before = bpf_objects()
    plain_root_start(args.daemon)
    port = harness.free_port()
    # Without bpffs and tracefs: a private mount namespace where both are gone.
    cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
           "umount -l /sys/fs/bpf 2>/dev/null; umount -l /sys/kernel/tracing 2>/dev/null; "
           "umount -l /sys/kernel/debug/tracing 2>/dev/null; "
           "! mountpoint -q /sys/fs/bpf && exec \"$0\" \"$@\"", args.daemon,
           "--runas.user=nobody"]
    proc = harness.start_daemon(args.daemon, port, 60, wrapper=cmd)
    harness.check(True, "started with bpffs and tracefs unmounted in its mount namespace")
    harness.check_no_thread_capabilities(proc.pid, 0, "--runas.user=nobody")
    uids = {st["Uid"].split()[0] for st in harness.thread_status(proc.pid).values()}
    harness.check(uids == {"65534"}, f"every thread runs as nobody after attaching (uids {uids})")

    harness.send_traffic()
    c0, fd0 = total_count(port), fds(proc.pid)
    http_faults(port)
    for _ in range(200):
        proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    harness.check(proc.poll() is None, "alive after bad clients and 200 SIGHUPs")
    harness.send_traffic()
    c1 = total_count(port)
    harness.check(c1 > c0, f"counts kept and still growing ({c0:.0f} -> {c1:.0f})")
    harness.check(fds(proc.pid) <= fd0 + 1, f"no fd leaked ({fd0} -> {fds(proc.pid)})")

    rss0 = harness.rss_kb(proc.pid)
    stop = threading.Event()

    def keep_traffic_flowing():
        while not stop.is_set():
            harness.send_traffic()

    traffic = threading.Thread(target=keep_traffic_flowing)
    harness.MESSAGES = 50
    traffic.start()
    reqs, failed, p99 = run_load(port, args.load_seconds, args.concurrency)
    stop.set()
    traffic.join()
    rss1 = harness.rss_kb(proc.pid)
    c2 = total_count(port)
    harness.log(f"load: {reqs} scrapes by {args.concurrency} clients in {args.load_seconds} s, "
                f"{failed} failed, p99 {p99}; RSS {rss0} -> {rss1} KiB")
    harness.check(failed == 0, "no failed scrape under load")
    harness.check(rss1 <= rss0 * 1.25 + 2048, f"RSS flat under load ({rss0} -> {rss1} KiB)")
    harness.check(c2 > c1, f"histograms advanced under load ({c1:.0f} -> {c2:.0f})")

    # SIGTERM while a large scrape is in flight.
    def scrape_until_gone():
        try:
            while True:
                harness.scrape(port)
        except OSError:  # the daemon closed the connection, or is gone
            pass

    t = threading.Thread(target=scrape_until_gone, daemon=True)
    t.start()
    time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    harness.check(proc.wait(timeout=20) == 0, "SIGTERM during scrapes: exit 0")

    for i in range(args.cycles):
        port = harness.free_port()
        cycle = subprocess.Popen([args.daemon, f"--web.listen-address=127.0.0.1:{port}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if "hook_attached" in harness.scrape(port):
                    break
            except OSError:
                time.sleep(0.05)
        cycle.send_signal(signal.SIGTERM)
        if cycle.wait(timeout=20) != 0:
            raise harness.Failure(f"cycle {i}: exit {cycle.returncode}")
    deadline = time.time() + 10  # objects are freed after an RCU grace period
    while bpf_objects() != before and time.time() < deadline:
        time.sleep(0.2)
    after = bpf_objects()
    extra = {k: after[k] - before[k] for k in after}
    harness.check(all(not v for v in extra.values()),
                  f"{args.cycles} start/stop cycles left no BPF program, map or link ({extra})")


if __name__ == "__main__":
    sys.exit(main())
