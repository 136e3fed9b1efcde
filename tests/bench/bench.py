#!/usr/bin/env python3
"""netstacklat-exporter benchmark: each figure beside its reference, measured
side by side in the same run, and their ratio.

  1. BPF cost per event and hook: run_time_ns / run_cnt (kernel bpf_stats)
     of each attached program vs an empty program on the same attach point.
  2. Scrape cost at 7, 100 and 2,100 label sets, client-measured, vs the raw
     batch read of the same map; response bytes plain and gzip; daemon CPU.
  3. Packet path: iperf3 TCP throughput and sockperf ping-pong latency over a
     veth pair between two test namespaces, no hooks vs all hooks.
  4. Footprint: RSS after start and after 1,000 scrapes; CPU while idle.

Prints a table, then one machine-readable line per figure:
  BENCH section=<s> name=<n> ours=<v> ref=<v> ratio=<v> unit=<u>
--smoke runs everything briefly (CI: it works, timings not judged).
Needs root. Exit 77 (skipped) without, except under CI=true.
"""
import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import e2e_test as e2e  # noqa: E402  (daemon start, ports, skip rules)

NS_A, NS_B = "nstl-bench-a", "nstl-bench-b"
ADDR_A, ADDR_B = "10.199.0.1", "10.199.0.2"  # only inside the test namespaces
rows = []


def row(section, name, ours, ref, unit, note=""):
    ratio = ours / ref if ref else float("nan")
    rows.append((section, name, ours, ref, ratio, unit, note))
    print(f"BENCH section={section} name={name} ours={ours:.6g} ref={ref:.6g} "
          f"ratio={ratio:.3f} unit={unit}", flush=True)


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def in_ns(ns, *cmd):
    return ["ip", "netns", "exec", ns] + list(cmd)


# --- 1. BPF cost ---------------------------------------------------------------

def prog_stats():
    return {p["id"]: p for p in json.loads(sh("bpftool", "prog", "show", "-j"))}


def setup_veth():
    teardown_veth()
    for ns in (NS_A, NS_B):
        sh("ip", "netns", "add", ns)
        sh(*in_ns(ns, "ip", "link", "set", "lo", "up"))
    sh("ip", "link", "add", "nstlb-a", "netns", NS_A, "type", "veth",
       "peer", "name", "nstlb-b", "netns", NS_B)
    for ns, dev, addr in ((NS_A, "nstlb-a", ADDR_A), (NS_B, "nstlb-b", ADDR_B)):
        sh(*in_ns(ns, "ip", "addr", "add", f"{addr}/24", "dev", dev))
        sh(*in_ns(ns, "ip", "link", "set", dev, "up"))


def teardown_veth():
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def traffic(seconds):
    """TCP bulk, UDP and TCP/UDP request-response from A to B."""
    srv = [subprocess.Popen(in_ns(NS_B, "iperf3", "-s", "-B", ADDR_B, "-p", str(p)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
           for p in (5201, 5202)]
    pp = subprocess.Popen(in_ns(NS_B, "sockperf", "server", "-i", ADDR_B, "-p", "11111", "--tcp"),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ppu = subprocess.Popen(in_ns(NS_B, "sockperf", "server", "-i", ADDR_B, "-p", "11112"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        jobs = [subprocess.Popen(in_ns(NS_A, *c), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL) for c in (
            ["iperf3", "-c", ADDR_B, "-p", "5201", "-t", str(seconds)],
            ["iperf3", "-c", ADDR_B, "-p", "5202", "-u", "-b", "100M", "-l", "1200",
             "-t", str(seconds)],
            ["sockperf", "ping-pong", "-i", ADDR_B, "-p", "11111", "--tcp", "-t", str(seconds)],
            ["sockperf", "ping-pong", "-i", ADDR_B, "-p", "11112", "-t", str(seconds)])]
        for j in jobs:
            j.wait(timeout=seconds + 30)
    finally:
        for p in srv + [pp, ppu]:
            p.kill()
            p.wait()


# The traffic runs between two test namespaces: count every namespace.
CONFIGS = {
    "": "filters: {network_namespace: all}\n",
    "-grouped": "filters: {network_namespace: all}\n"
                "grouping: {by_interface: true, by_cgroup: true}\n",
    # The namespace filter in force, samples passing (the default is such a
    # filter, on the daemon's own namespace).
    "-netns-filter": f"filters: {{network_namespace: /run/netns/{NS_B}}}\n",
    # The head-of-line filter off: what tracking out-of-order data costs.
    "-hol-included": "filters: {network_namespace: all, include_tcp_hol_delay: true}\n",
    # Only lo: every sample of the veth traffic is rejected by the filter.
    "-filtered-out": "filters: {network_namespace: all, interfaces: [lo]}\n",
}


def daemon_with(args, port, config):
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"nstl-bench-{os.getpid()}.yaml")
    with open(path, "w") as f:
        f.write(config)
    return e2e.start_daemon(args.daemon, port, 120, extra=[f"--config.file={path}"])


def bench_bpf(args, label, variant=""):
    port = e2e.free_port()
    daemon = daemon_with(args, port, CONFIGS[variant])
    floor = subprocess.Popen([args.floor], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    refs = {"floor": {}, "clock": {}, "mono-clock": {}, "map": {}}  # kind -> section -> id
    for line in floor.stdout:
        if line.strip() == "ready":
            break
        kind, pid, section = line.split()
        refs[kind][section] = int(pid)
    floor_ids = refs["floor"]
    metrics = e2e.parse(e2e.scrape(port))
    ours = {int(l["id"]): l["program"] for n, l, _ in metrics
            if n == "ebpf_exporter_ebpf_program_info"}
    old = e2e.set_bpf_stats("1")
    try:
        before = prog_stats()
        traffic(args.seconds)
        after = prog_stats()
    finally:
        e2e.set_bpf_stats(old)
        floor.stdin.close()
        floor.wait(timeout=30)
        daemon.terminate()
        daemon.wait(timeout=30)

    def per_event(pid):
        cnt = after[pid].get("run_cnt", 0) - before[pid].get("run_cnt", 0)
        ns = after[pid].get("run_time_ns", 0) - before[pid].get("run_time_ns", 0)
        return (ns / cnt if cnt else float("nan")), cnt

    sections = program_sections()
    for pid, name in sorted(ours.items(), key=lambda kv: kv[1]):
        section = sections.get(name)
        ref_id = floor_ids.get(section)
        if ref_id is None:
            continue
        ns, cnt = per_event(pid)
        ref_ns, _ = per_event(ref_id)
        if cnt < 100:  # e.g. the IPv6 programs under IPv4-only traffic
            continue
        row(f"bpf-{label}{variant}", f"{name}@{section}", ns, ref_ns, "ns/event",
            f"{cnt} events")
        if variant:
            continue
        # Where ours goes: the clock alone and the map update alone, each
        # on the same hook in the same run, against the same floor.
        for kind in ("clock", "mono-clock", "map"):
            if section in refs[kind]:
                part_ns, _ = per_event(refs[kind][section])
                row(f"bpf-{label}-parts", f"{kind}-only@{section}", part_ns, ref_ns, "ns/event",
                    f"ours {ns:.0f}")


def program_sections():
    """program name -> attach point, from bpf/netstacklat.bpf.c."""
    src = open(os.path.join(HERE, "..", "..", "bpf", "netstacklat.bpf.c")).read()
    return {name: sec for sec, name in re.findall(r'SEC\("([^"]+)"\)\nint BPF_PROG\((\w+)', src)}


# --- 2. scrape cost ------------------------------------------------------------

def proc_cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_scrapes(port, n, gzip_ok=False):
    times = []
    headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
    for _ in range(n):
        t0 = time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/metrics", headers=headers), timeout=60) as r:
            body = r.read()
        times.append(time.perf_counter() - t0)
    return times, body


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def bench_scrape(args):
    for label_sets in (7, 100, 2100):
        port = e2e.free_port()
        helper = subprocess.Popen([args.scrape, str(label_sets), str(port)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        raw_med = raw_p99 = entries = None
        for line in helper.stdout:
            if line.startswith("raw_read_us"):
                raw_med, raw_p99 = (float(x) / 1e3 for x in line.split()[1:])
            elif line.startswith("upstream_raw_read_us"):
                up_med, _, up_entries = (float(x) for x in line.split()[1:])
            elif line.startswith("entries"):
                entries = int(line.split()[1])
            elif line.strip() == "ready":
                break
        try:
            cpu0 = proc_cpu_seconds(helper.pid)
            times, body = timed_scrapes(port, args.scrapes)
            cpu = (proc_cpu_seconds(helper.pid) - cpu0) / args.scrapes
            _, gz = timed_scrapes(port, 1, gzip_ok=True)
        finally:
            helper.stdin.close()
            helper.wait(timeout=60)
        series = sum(1 for l in body.splitlines() if l and not l.startswith(b"#"))
        name = f"{label_sets}-label-sets"
        note = f"{entries} map entries, {series} series"
        row("scrape", f"{name}-median", statistics.median(times) * 1e3, raw_med, "ms", note)
        # The reference: reading the same data in upstream's layout
        # (one key per slot), as ebpf_exporter would, before any formatting.
        row("scrape", f"{name}-median-vs-upstream-layout-read", statistics.median(times) * 1e3,
            up_med / 1e3, "ms", f"{up_entries:.0f} entries in upstream's layout")
        row("scrape", f"{name}-p99", pct(times, 99) * 1e3, raw_p99, "ms", note)
        row("scrape", f"{name}-cpu", cpu * 1e3, raw_med, "ms", "daemon CPU per scrape")
        row("scrape", f"{name}-bytes", len(body), len(gzip.decompress(gz)), "bytes", "plain")
        row("scrape", f"{name}-gzip-bytes", len(gz), len(body), "bytes", "gzip vs plain")


# --- 3. packet path ---------------------------------------------------------------

def iperf_gbps(seconds):
    srv = subprocess.Popen(in_ns(NS_B, "iperf3", "-s", "-1", "-B", ADDR_B, "-p", "5301"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    out = json.loads(sh(*in_ns(NS_A, "iperf3", "-c", ADDR_B, "-p", "5301", "-t", str(seconds),
                               "-J")))
    srv.wait(timeout=10)
    return out["end"]["sum_received"]["bits_per_second"] / 1e9


def pingpong_us(seconds):
    srv = subprocess.Popen(in_ns(NS_B, "sockperf", "server", "-i", ADDR_B, "-p", "11311", "--tcp"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    try:
        out = sh(*in_ns(NS_A, "sockperf", "ping-pong", "-i", ADDR_B, "-p", "11311", "--tcp",
                        "-t", str(seconds), "--full-rtt"))
    finally:
        srv.kill()
        srv.wait()
    p50 = float(re.search(r"percentile 50\.000 =\s+([\d.]+)", out).group(1))
    p99 = float(re.search(r"percentile 99\.000 =\s+([\d.]+)", out).group(1))
    return p50, p99


def bench_packet_path(args):
    results = {}
    for state in ("off", "on", "off2", "on2"):  # interleaved against drift
        daemon = None
        if state.startswith("on"):
            daemon = daemon_with(args, e2e.free_port(), CONFIGS[""])
        try:
            results[state] = (iperf_gbps(args.seconds), *pingpong_us(args.seconds))
        finally:
            if daemon:
                daemon.terminate()
                daemon.wait(timeout=30)
    off = [statistics.mean(v) for v in zip(results["off"], results["off2"])]
    on = [statistics.mean(v) for v in zip(results["on"], results["on2"])]
    row("packet", "tcp-throughput", on[0], off[0], "Gbit/s", "all hooks vs none")
    row("packet", "rtt-p50", on[1], off[1], "us", "TCP ping-pong round trip")
    row("packet", "rtt-p99", on[2], off[2], "us", "TCP ping-pong round trip")
    # The noise floor of the same run: the two runs without hooks against
    # each other. A hooks-on delta below it cannot be told from noise.
    row("packet", "tcp-throughput-noise", results["off2"][0], results["off"][0], "Gbit/s",
        "no hooks vs no hooks")
    row("packet", "tcp-throughput-on-runs", results["on2"][0], results["on"][0], "Gbit/s",
        "hooks on, second run vs first")
    row("packet", "rtt-p50-noise", results["off2"][1], results["off"][1], "us", "no hooks vs no hooks")
    row("packet", "rtt-p99-noise", results["off2"][2], results["off"][2], "us", "no hooks vs no hooks")


# --- 4. footprint ------------------------------------------------------------------

def bench_footprint(args):
    port = e2e.free_port()
    daemon = e2e.start_daemon(args.daemon, port, 120)
    try:
        start = e2e.rss_kb(daemon.pid)
        timed_scrapes(port, args.footprint_scrapes)
        after = e2e.rss_kb(daemon.pid)
        cpu0 = proc_cpu_seconds(daemon.pid)
        time.sleep(args.idle)
        idle = proc_cpu_seconds(daemon.pid) - cpu0
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    row("footprint", "rss-start", start / 1024, 20, "MB", "target <= 20 MB")
    row("footprint", f"rss-after-{args.footprint_scrapes}-scrapes", after / 1024, start / 1024, "MB")
    row("footprint", f"idle-cpu-{args.idle:g}s", idle, args.idle, "s", "CPU seconds while idle")


def print_table():
    print("\n%-10s %-44s %12s %12s %8s  %-9s %s" % ("section", "figure", "ours", "reference",
                                                  "ratio", "unit", "note"))
    for s, n, o, r, ratio, u, note in rows:
        print("%-10s %-44s %12.4g %12.4g %8.3f  %-9s %s" % (s, n, o, r, ratio, u, note))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--daemon", required=True)
    p.add_argument("--floor", required=True, help="nstl-bench-floor")
    p.add_argument("--scrape", required=True, help="nstl-bench-scrape")
    p.add_argument("--sections", default="bpf,scrape,packet,footprint")
    p.add_argument("--label", default="host", help="names the kernel in bpf rows")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args()
    args.seconds = 1 if args.smoke else 10
    args.scrapes = 5 if args.smoke else 200
    args.footprint_scrapes = 20 if args.smoke else 1000
    args.idle = 2 if args.smoke else 60
    if os.geteuid() != 0:
        e2e.skip("needs root (BPF, network namespaces)")
    sections = args.sections.split(",")
    print(f"# {os.uname().release}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}")
    try:
        if "bpf" in sections or "packet" in sections:
            setup_veth()
        if "bpf" in sections:
            for variant in CONFIGS:
                bench_bpf(args, args.label, variant)
        if "scrape" in sections:
            bench_scrape(args)
        if "packet" in sections:
            bench_packet_path(args)
        if "footprint" in sections:
            bench_footprint(args)
    finally:
        teardown_veth()
    print_table()
    expected = {"bpf": 4, "scrape": 15, "packet": 3, "footprint": 3}
    missing = [s for s in sections
               if sum(1 for r in rows if r[0].startswith(s)) < expected[s]]
    if missing:
        print(f"FAIL: no figures for {missing}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
