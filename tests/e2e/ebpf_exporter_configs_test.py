#!/usr/bin/env python3
"""ebpf_exporter's two netstacklat configs, loaded unchanged
(tests/e2e/ebpf_exporter/), serve what ebpf_exporter would serve from them:

  * bpf-examples' (ns buckets 0..34; cgroup, iface, hook; cgroup_id_map
    `^.*(system.slice/.*)$`);
  * ebpf_exporter's own examples/netstacklat.yaml (us buckets 0..24,
    bucket_multiplier 1e-6; cgroup and hook only; cgroup_id_map over
    /sys/fs/cgroup/production.slice/*/nginx-{cache,ssl}.service).

For each: the daemon groups socket reads by cgroup; a UDP reader that lets
each datagram wait ~2.5 ms reads DATAGRAMS in a matching cgroup made before
the daemon started, in one made while it runs, and in one that does not
match. The two matching ones must be served with exactly DATAGRAMS reads,
the third not at all; the `le` strings must be ebpf_exporter's for the
config's multiplier (Go's float format); every read must fall between the
2 ms and 32 ms buckets and _sum/_count between 2.5 and 32 ms (the unit is
right). For the microsecond config a real Prometheus scrapes it with the
shipped rules, whose p50 for udp-socket-read must come out in the same
range. Then, with `histogram.sample_one_in: 4`, the reader pinned to one CPU:
about a quarter of its reads are counted.
"""
import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "ebpf_exporter")
DATAGRAMS = 50
WAIT_S = 0.0025
HOOK = "udp-socket-read"

# Reads `n` datagrams, each WAIT_S after it was queued: it waits until the
# datagram the sender sent on the last acknowledgement is queued, sleeps,
# reads it and acknowledges.
READER = r"""
import os, select, socket, sys, time
n, wait, cpu = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
if cpu >= 0:
    os.sched_setaffinity(0, {cpu})
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
sys.stdin.readline()  # moved into its cgroup: go
for _ in range(n):
    select.select([s], [], [])  # queued (stamped) now: it waits from here
    time.sleep(wait)
    data, peer = s.recvfrom(2048)
    s.sendto(b"k", peer)
"""


def read_in(cgroup, n=DATAGRAMS, cpu=-1):
    """n datagrams read by a process in `cgroup`, each ~WAIT_S after it came."""
    reader = subprocess.Popen([sys.executable, "-c", READER, str(n), str(WAIT_S), str(cpu)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = int(reader.stdout.readline())
    with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
        f.write(str(reader.pid))
    reader.stdin.write("go\n")
    reader.stdin.flush()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    for _ in range(n):
        s.sendto(b"x" * 64, ("127.0.0.1", port))
        s.recvfrom(16)
    s.close()
    reader.wait(timeout=30)


def series(text, cgroup):
    """le -> cumulative count, and (_sum, _count), of HOOK in `cgroup`."""
    buckets, total, count = {}, 0.0, 0.0
    for n, l, v in harness.parse(text):
        if l.get("hook") != HOOK or l.get("cgroup") != cgroup:
            continue
        if n == harness.HIST + "_bucket":
            buckets[l["le"]] = buckets.get(l["le"], 0) + v
        elif n == harness.HIST + "_sum":
            total += v
        elif n == harness.HIST + "_count":
            count += v
    return buckets, total, count


def le_strings(text):
    return sorted({l["le"] for n, l, _ in harness.parse(text) if n == harness.HIST + "_bucket"},
                  key=lambda s: float(s))


def cgroup_dirs(base, names):
    for name in names:
        os.makedirs(os.path.join(base, name), exist_ok=True)
    return [os.path.join(base, name) for name in names]


def check_reads(text, cgroup, lo_le, hi_le, what):
    buckets, total, count = series(text, cgroup)
    harness.check(count == DATAGRAMS,
                  f"{what}: {cgroup} served with all {DATAGRAMS} reads (got {count:g})")
    harness.check(buckets.get(lo_le, 0) == 0 and buckets.get(hi_le) == DATAGRAMS,
                  f"{what}: none of them at or below le={lo_le}, all at le={hi_le} "
                  f"(~{WAIT_S * 1e3} ms each: the buckets' unit is right; {buckets})")
    mean = total / count
    harness.check(WAIT_S <= mean <= 0.032, f"{what}: _sum/_count {mean * 1e3:.2f} ms, in seconds")


def run_config(args, d, name, matched_before, matched_after, other, lo_le, hi_le, les,
               prometheus=False):
    what = os.path.basename(name)
    metrics = os.path.join(CONFIGS, name)
    config = harness.write(d, f"{what}.daemon.yaml", "grouping: {by_cgroup: true}\n")
    for c in [matched_before]:
        os.makedirs(c, exist_ok=True)
    port = harness.free_port()
    daemon = harness.start_daemon(args.daemon, port, 60,
                                  extra=[f"--config.file={config}", f"--metrics.config={metrics}"])
    prom = None
    try:
        for c in (matched_after, other):
            os.makedirs(c, exist_ok=True)
        time.sleep(2)  # the daemon takes new cgroups from the kernel every second
        for c in (matched_before, matched_after, other):
            read_in(c)
        text = harness.scrape(port)
        harness.check(le_strings(text) == les + ["+Inf"],
                      f"{what}: le strings as ebpf_exporter prints them ({les[0]} .. {les[-1]})")
        check_reads(text, matched_before, lo_le, hi_le, what + " (cgroup there at start)")
        check_reads(text, matched_after, lo_le, hi_le, what + " (cgroup made while running)")
        _, _, count = series(text, other)
        harness.check(count == 0, f"{what}: {other} (no regexp matches) not served")
        if prometheus:
            prom_port = harness.free_port()
            prom = harness.start_prometheus(d, prom_port, port, rules=os.path.abspath(args.rules))
            harness.wait_for_scrapes(prom_port, 3)
            for c in (matched_before, matched_after):
                read_in(c)
            rule = "instance_hook:ebpf_exporter_netstack_latency_seconds:p50_5m"
            deadline = time.time() + 60
            value = None
            while time.time() < deadline and value is None:
                r = harness.api(prom_port, "query", query=f'{rule}{{hook="{HOOK}"}}')
                if r["result"] and r["result"][0]["value"][1] not in ("NaN",):
                    value = float(r["result"][0]["value"][1])
                else:
                    time.sleep(1)
            harness.check(value is not None and 0.002 <= value <= 0.032,
                          f"{what}: a real Prometheus with the shipped rules: {rule} "
                          f"for {HOOK} = {value}")
            up = harness.api(prom_port, "query", query=f'up{{job="{harness.JOB}"}}')["result"]
            harness.check(up and up[0]["value"][1] == "1", f"{what}: up is 1")
    finally:
        if prom:
            prom.terminate()
            prom.wait(timeout=30)
        daemon.terminate()
        daemon.wait(timeout=30)


def run_sampled(args, d, cgroup):
    config = harness.write(d, "sampled.yaml",
                           "grouping: {by_cgroup: true}\nhistogram: {sample_one_in: 4}\n")
    port = harness.free_port()
    daemon = harness.start_daemon(args.daemon, port, 60, extra=[f"--config.file={config}"])
    try:
        n = 4 * DATAGRAMS
        read_in(cgroup, n=n, cpu=0)
        _, _, count = series(harness.scrape(port), cgroup)
        harness.check(0.7 * n / 4 <= count <= 1.3 * n / 4,
                      f"sample_one_in 4: {count:g} of {n} reads on one CPU counted "
                      f"(one in four, give or take other readers on that CPU)")
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def cgroup2_at_sys_fs_cgroup():
    """ebpf_exporter's regexps name /sys/fs/cgroup: where no cgroup v2 is
    mounted at all (a VM's bare sysfs), mount it there for the test."""
    if not any(l.split()[2] == "cgroup2" for l in open("/proc/self/mounts")):
        subprocess.run(["mount", "-t", "cgroup2", "none", "/sys/fs/cgroup"], check=True)
        atexit.register(subprocess.run, ["umount", "/sys/fs/cgroup"])
    return harness.cgroup2_root()


def run(args):
    root = cgroup2_at_sys_fs_cgroup()
    if root != "/sys/fs/cgroup":
        harness.skip(f"cgroup v2 is at {root}: ebpf_exporter's regexps name /sys/fs/cgroup")
    made = []
    with tempfile.TemporaryDirectory(prefix="nstl-ee-") as d:
        try:
            sysslice = os.path.join(root, "system.slice")
            made += [p for p in (sysslice,) if not os.path.isdir(p)]
            before, after = cgroup_dirs(sysslice, ["nstl-ee-before.service",
                                                   "nstl-ee-after.service"])
            other = os.path.join(root, "nstl-ee-other")
            made += [before, after, other]
            run_config(args, d, "bpf-examples-netstacklat.yaml", before, after, other,
                       "0.002097152", "0.033554432", harness.LE[:-1])
            for c in (after, other):
                os.rmdir(c)
            prod = os.path.join(root, "production.slice")
            made += [p for p in (prod,) if not os.path.isdir(p)]
            app = os.path.join(prod, "nstl-ee.slice")
            made.append(app)
            before, after = (os.path.join(app, "nginx-ssl.service"),
                             os.path.join(app, "nginx-cache.service"))
            other = os.path.join(app, "nginx-other.service")
            made += [before, after, other]
            us = ["1e-06", "2e-06", "4e-06", "8e-06", "1.6e-05", "3.2e-05", "6.4e-05",
                  "0.000128", "0.000256", "0.000512", "0.001024", "0.002048", "0.004096",
                  "0.008192", "0.016384", "0.032768", "0.065536", "0.131072", "0.262144",
                  "0.524288", "1.048576", "2.097152", "4.194304", "8.388608", "16.777216"]
            os.makedirs(app, exist_ok=True)
            run_config(args, d, "ebpf_exporter-netstacklat.yaml", before, after, other,
                       "0.002048", "0.032768", us, prometheus=True)
            run_sampled(args, d, before)
        finally:
            for c in reversed(made):
                if os.path.isdir(c):
                    try:
                        os.rmdir(c)
                    except OSError:
                        pass


if __name__ == "__main__":
    sys.exit(harness.root_test_main(__doc__, run, options=(
        ("--rules", {"required": True}),), tools=("prometheus", "promtool")))
