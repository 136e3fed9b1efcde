#!/usr/bin/env python3
"""--report-once prints the latency seen in its interval; its numbers must
agree with the /metrics deltas of a second daemon over the same period.

UDP datagrams of 32 KB on loopback, N of them, all inside the interval,
read by this process; both daemons filter socket reads by this pid, so
udp-socket-read sees exactly these and the report's count and the /metrics
delta must both be N.
Exit 0 pass, 1 fail, 77 skipped (never under CI=true)."""
import os
import re
import socket
import subprocess
import sys
import time

import harness

N = 60


def main():
    return harness.root_test_main(__doc__, run)


def run(args):
    config = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"nstl-report-{os.getpid()}.yaml")
    with open(config, "w") as f:
        f.write(f"filters: {{pids: [{os.getpid()}]}}\n")
    port = harness.free_port()
    serving = harness.start_daemon(args.daemon, port, 60, extra=[f"--config.file={config}"])
    try:
        before = harness.by_hook(harness.parse(harness.scrape(port)), "_count").get("udp-socket-read", 0)
        report = subprocess.Popen([args.daemon, "--report-once", "4", f"--config.file={config}"],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        # Wait for its interval to start (its log says so), then send inside it.
        for line in report.stderr:
            if "reporting the next" in line:
                break
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(("127.0.0.1", 0))
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(N):
            tx.sendto(b"r" * 32000, rx.getsockname())
            rx.recv(65536)
            time.sleep(0.005)
        out, _ = report.communicate(timeout=30)
        time.sleep(0.3)
        after = harness.by_hook(harness.parse(harness.scrape(port)), "_count").get("udp-socket-read", 0)
        print(out)
        harness.check(report.returncode == 0, "--report-once exited 0")
        m = re.search(r"^udp-socket-read\n(?:  \(.*\n)+  count (\d+) \(([\d.]+)/s\)", out, re.M)
        harness.check(m is not None, "the report has a udp-socket-read histogram")
        harness.check(int(m.group(1)) == N, f"report: udp-socket-read count {m.group(1)} == {N}")
        quantiles = re.search(r"^udp-socket-read\n(?:  \(.*\n)+  count .*p99 \S+(.*)$", out, re.M)
        harness.check(quantiles is not None and quantiles.group(1) == " (native buckets)",
                      "report: udp-socket-read's p50 and p99 come from the native buckets")
        harness.check(after - before == N, f"/metrics delta over the same period: {after - before:.0f}")
        bars = re.findall(r"^  \(\s*(\S+),\s*(\S+)\]\s+(\d+) #+$", out, re.M)
        harness.check(len(bars) > 0, f"the report draws bucket bars ({len(bars)})")
        # The slowest datagram of the interval, and who read it: this test.
        port = rx.getsockname()[1]
        slow = re.search(r"^udp-socket-read\n(?:  [(c].*\n)+  slowest (\S+): (.*)$", out, re.M)
        harness.check(slow is not None and f"->127.0.0.1:{port} " in slow.group(2) and
                      f"pid={os.getpid()} " in slow.group(2),
                      f"the report names udp-socket-read's slowest datagram: its flow to port "
                      f"{port} and this reader (pid {os.getpid()})")
    finally:
        serving.terminate()
        serving.wait(timeout=20)
        os.unlink(config)


if __name__ == "__main__":
    sys.exit(main())
