#!/usr/bin/env python3
"""netstacklat-exporter benchmark: each figure beside its reference, measured
side by side in the same run, and their ratio.

  1. BPF cost per event, hook and traffic class: run_time_ns / run_cnt
     (kernel bpf_stats) of each attached program vs an empty program and vs
     the necessary work (tstamp, clock, bucket, one per-CPU slot) on the same
     attach point, for a matrix of TCP small/bulk, UDP small/paged, IPv4 and
     IPv6, loopback and a veth pair between two test namespaces, under each
     config variant. Any program above 10x its empty reference in any cell,
     measured twice, fails the run (a pathology guard, not a timing target).
  2. Scrape cost at 7, 100 and 2,100 label sets, client-measured, vs the raw
     batch read of the same map; response bytes plain and gzip; daemon CPU.
  3. Packet path: iperf3 TCP throughput and sockperf ping-pong latency over a
     veth pair between two test namespaces, no hooks vs all hooks.
  4. Footprint: RSS after start and after 1,000 scrapes; CPU while idle.
  5. Native histograms: two daemons at once on the same hooks, one counting
     native buckets and one not, over the same traffic matrix: each
     program's ns/event with them against without, per cell (both attach
     orders, since the first program on a hook pays the cache misses).
  6. A change (--sections ab --against OLD_DAEMON): the same as 5 for two
     daemon binaries, --daemon (new) and OLD_DAEMON, both with the default
     config: each program's ns/event new against old, and per cell the
     difference in ns, the mean of the two attach orders. On a machine whose
     runs move by 5 .. 20 % from one to the next, the way to see a few ns.
  7. Start-up: start to READY=1 (load, verify, attach, bind), the verifier's
     instruction count per program (a change that makes it walk more paths
     shows here), and what kernel.bpf_stats_enabled=1 itself adds to each
     run of any program (the kernel's own timing of a minimal program, off
     against on).

Prints a table, then one machine-readable line per figure:
  BENCH section=<s> name=<n> ours=<v> ref=<v> ratio=<v> unit=<u>
--runs N repeats the bpf section and prints each cell's median over the runs
with the cells above --goal (ours / necessary work, 1.25x): a single run's
ratio moves by 5 .. 10 %, so judge the goal on medians.
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
import harness  # noqa: E402  (daemon start, ports, skip rules)

NS_A, NS_B = "nstl-bench-a", "nstl-bench-b"
# Only inside the test namespaces.
ADDR_A, ADDR_B = "10.199.0.1", "10.199.0.2"
ADDR6_A, ADDR6_B = "fd00:199::1", "fd00:199::2"
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
    for ns, dev, addr, addr6 in ((NS_A, "nstlb-a", ADDR_A, ADDR6_A),
                                 (NS_B, "nstlb-b", ADDR_B, ADDR6_B)):
        sh(*in_ns(ns, "ip", "addr", "add", f"{addr}/24", "dev", dev))
        sh(*in_ns(ns, "ip", "-6", "addr", "add", f"{addr6}/64", "dev", dev, "nodad"))
        sh(*in_ns(ns, "ip", "link", "set", dev, "up"))


def teardown_veth():
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


# The traffic matrix: class -> (protocol, message bytes); path -> (receiver
# namespace, sender namespace, IPv4 address, IPv6 address).
CLASSES = {
    "tcp-small": ("tcp", 1024),
    "tcp-bulk": ("tcp", 65536),
    "udp-small": ("udp", 64),
    "udp-paged": ("udp", 32000),  # paged on loopback, fragmented on veth
}
PATHS = {
    "lo": (None, None, "127.0.0.1", "::1"),
    "veth": (NS_B, NS_A, ADDR_B, ADDR6_B),
}
TRAFFIC = os.path.join(HERE, "traffic.py")


def run_class(path, fam, cls, seconds, port):
    rx_ns, tx_ns, addr4, addr6 = PATHS[path]
    proto, size = CLASSES[cls]
    addr = addr4 if fam == "v4" else addr6

    def cmd(ns, *argv):
        argv = [sys.executable, TRAFFIC, *argv]
        return in_ns(ns, *argv) if ns else argv

    rx = subprocess.Popen(cmd(rx_ns, "recv", proto, addr, str(port)), stdout=subprocess.PIPE,
                          text=True)
    try:
        if rx.stdout.readline().strip() != "ready":
            raise RuntimeError(f"traffic receiver for {path}-{fam}-{cls} did not start")
        sh(*cmd(tx_ns, "send", proto, addr, str(port), str(size), str(seconds)))
    finally:
        rx.kill()
        rx.wait()


def matrix_cells(pattern=None):
    """The traffic matrix's cells, or those whose name (path-family-class,
    such as lo-v4-udp-paged) pattern matches (--cells)."""
    cells = [(path, fam, cls) for path in PATHS for fam in ("v4", "v6") for cls in CLASSES]
    if pattern is None:
        return cells
    return [c for c in cells if re.search(pattern, "-".join(c))]


def run_matrix(args, first_port, suspect=None):
    """Every cell of the traffic matrix with bpf_stats on: (cell name,
    program stats before, after) per cell. A cell that suspect(cell,
    before, after) flags is measured once more and the second measurement
    kept: one interrupt storm or page-cache miss inside a 1 s cell can
    multiply a program's mean on its own, a fault repeats."""
    old = harness.set_bpf_stats("1")
    cells = []
    try:
        for i, (path, fam, cls) in enumerate(matrix_cells(args.cells)):
            name = f"{path}-{fam}-{cls}"
            measured = measure_cell(args, path, fam, cls, first_port + i)
            if suspect and suspect(name, *measured):
                print(f"# {name}: suspect, measured again", flush=True)
                measured = measure_cell(args, path, fam, cls, first_port + RECHECK_PORTS + i)
            cells.append((name, *measured))
    finally:
        harness.set_bpf_stats(old)
    return cells


# A re-measured cell listens on its own port: the first one's sockets may
# still be in TIME_WAIT.
RECHECK_PORTS = 500


def measure_cell(args, path, fam, cls, port):
    before = prog_stats()
    run_class(path, fam, cls, args.cell_seconds, port)
    return before, prog_stats()


# Config variants. "default" is the shipped default (the daemon's own
# namespace: the veth traffic, in test namespaces, is filtered out by it).
CONFIGS = {
    "default": "",
    "all-netns": "filters: {network_namespace: all}\n",
    "grouped": "filters: {network_namespace: all}\n"
               "grouping: {by_interface: true, by_cgroup: true}\n",
    # The namespace filter in force with veth samples passing.
    "netns-filter": f"filters: {{network_namespace: /run/netns/{NS_B}}}\n",
    # The head-of-line filter off: what tracking out-of-order data costs.
    "hol-included": "filters: {network_namespace: all, include_tcp_hol_delay: true}\n",
    # Only lo: every veth sample is rejected by the interface filter.
    "filtered-out": "filters: {network_namespace: all, interfaces: [lo]}\n",
    # Atomic adds (what PREEMPT_RT kernels get by default) and plain ones
    # (what the others get), forced either way, beside all-netns.
    "atomic": "filters: {network_namespace: all}\nhistogram: {atomic_increments: true}\n",
    "plain": "filters: {network_namespace: all}\nhistogram: {atomic_increments: false}\n",
    # Exemplar capture off, beside "default" (on): what it costs per packet.
    "no-exemplars": "histogram: {exemplars: false}\n",
    # 1-in-32 sampling (as Cloudflare runs netstacklat), beside all-netns:
    # the mean per event of the 31 skipped (a countdown) and the one kept.
    "sampled-32": "filters: {network_namespace: all}\nhistogram: {sample_one_in: 32}\n",
    # The clock path of kernels without bpf_ktime_get_tai_ns (before 6.1),
    # forced, beside all-netns (TAI where the kernel has it): the monotonic
    # clock plus the offset the daemon keeps in .bss.
    "monotonic": "filters: {network_namespace: all}\nhistogram: {clock: monotonic}\n",
}
# The pathology guard: no program may average more than this many times
# its empty reference in any cell (with enough events to judge), unless
# the necessary-work reference on that attach point costs nearly as much:
# under QEMU's emulation (the VM mode) reading the clock alone costs ~15x an
# empty program, so there the empty reference cannot tell a fault from the
# clock. The fault this guards against cost 39x the necessary work.
PATHOLOGY_RATIO = 10
PATHOLOGY_NECESSARY_RATIO = 2
PATHOLOGY_MIN_EVENTS = 500
pathologies = []


def daemon_with(args, port, config, daemon=None):
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"nstl-bench-{os.getpid()}.yaml")
    with open(path, "w") as f:
        f.write(config)
    return harness.start_daemon(daemon or args.daemon, port, 120,
                                extra=[f"--config.file={path}"])


PART_KINDS = ("necessary+hol-load", "necessary+protocol-read", "necessary+task-netns")
REF_KINDS = ("floor", "clock", "mono-clock", "map", "necessary") + PART_KINDS
FIRST_KINDS = ("floor", "necessary")


def start_references(args, kinds, refs):
    """Attaches the floor helper's programs of these kinds; fills refs
    (kind -> attach point -> program id)."""
    floor = subprocess.Popen([args.floor, ",".join(kinds)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    for line in floor.stdout:
        if line.strip() == "ready":
            break
        kind, pid, section = line.split()
        refs.setdefault(kind, {})[section] = int(pid)
    return floor


def bench_bpf(args, label, variant):
    port = harness.free_port()
    # Programs on one attach point run in the order they were attached, and
    # the first pays the cache misses on the skb and socket lines for all
    # that follow. So the empty and the necessary-work programs go first
    # (ours then pays only for the lines it reads beyond them, as it would
    # alone), the breakdown programs after ours. --ours-first: ours first.
    # --parts-first: the breakdown programs too go before ours, so each pays
    # the cache misses of the lines it reads beyond the necessary work, and
    # ours what is left; printed per cell.
    refs = {k: {} for k in REF_KINDS}
    helpers = []
    first = args.first + PART_KINDS if args.parts_first else args.first
    if not args.ours_first:
        helpers.append(start_references(args, first, refs))
    daemon = daemon_with(args, port, CONFIGS[variant])
    rest = REF_KINDS if args.ours_first else [k for k in REF_KINDS if k not in first]
    helpers.append(start_references(args, rest, refs))
    ours = {pid: name for name, pid in program_ids(port).items()}
    sections = program_sections()

    def suspect(cell, before, after):
        return bool(cell_pathologies(variant, cell, ours, refs, sections, before, after))

    try:
        cells = run_matrix(args, 21000, suspect)
    finally:
        for floor in helpers:
            floor.stdin.close()
            floor.wait(timeout=30)
        daemon.terminate()
        daemon.wait(timeout=30)
    for cell, before, after in cells:
        for pid, name in sorted(ours.items(), key=lambda kv: kv[1]):
            section = sections.get(name)
            if section not in refs["floor"]:
                continue
            ns, cnt = per_event(before, after, pid)
            if cnt < 100:  # this class does not reach this hook
                continue
            floor_ns, _ = per_event(before, after, refs["floor"][section])
            figure = f"{cell}:{name}@{section}"
            row(f"bpf-{label}-{variant}", figure, ns, floor_ns, "ns/event", f"{cnt} events")
            if section in refs["necessary"]:
                nec_ns, _ = per_event(before, after, refs["necessary"][section])
                if args.parts_first:
                    part_rows(label, variant, figure, refs, section, nec_ns, before, after)
                row(f"bpf-{label}-{variant}-vs-necessary", figure, ns, nec_ns, "ns/event",
                    f"{cnt} events")
        pathologies.extend(cell_pathologies(variant, cell, ours, refs, sections, before, after))
    if variant == "all-netns":
        bench_parts(label, ours, refs, sections, cells[0][1], cells[-1][2])


def cell_pathologies(variant, cell, ours, refs, sections, before, after):
    """What the pathology guard finds in one cell: each of our programs
    with enough events above PATHOLOGY_RATIO x its empty reference, unless
    the necessary work on that attach point costs nearly as much."""
    found = []
    for pid, name in sorted(ours.items(), key=lambda kv: kv[1]):
        section = sections.get(name)
        if section not in refs["floor"]:
            continue
        ns, cnt = per_event(before, after, pid)
        floor_ns, _ = per_event(before, after, refs["floor"][section])
        if cnt < PATHOLOGY_MIN_EVENTS or not floor_ns or not ns > PATHOLOGY_RATIO * floor_ns:
            continue
        nec_ns = reference_ns(refs, "necessary", section, before, after)
        if nec_ns and ns <= PATHOLOGY_NECESSARY_RATIO * nec_ns:
            continue
        found.append(f"{variant} {cell}:{name}@{section}: {ns:.0f} ns/event, "
                     f"{ns / floor_ns:.1f}x its empty reference ({floor_ns:.0f})")
    return found


def reference_ns(refs, kind, section, before, after):
    """ns/event of the reference program of this kind on this attach
    point, None where the floor helper has none there."""
    if section not in refs[kind]:
        return None
    return per_event(before, after, refs[kind][section])[0]


def part_rows(label, variant, figure, refs, section, nec_ns, before, after):
    """Each breakdown program of this cell against the necessary work."""
    for kind in PART_KINDS:
        part_ns = reference_ns(refs, kind, section, before, after)
        if part_ns is not None:
            row(f"bpf-{label}-{variant}-part", f"{figure}:{kind}", part_ns, nec_ns, "ns/event", "")


def per_event(before, after, pid):
    cnt = after[pid].get("run_cnt", 0) - before[pid].get("run_cnt", 0)
    ns = after[pid].get("run_time_ns", 0) - before[pid].get("run_time_ns", 0)
    return (ns / cnt if cnt else float("nan")), cnt


def bench_parts(label, ours, refs, sections, before, after):
    """Where ours goes, over the whole matrix: the clock alone and the map
    update alone, each on the same hook in the same run, against the floor."""
    for pid, name in sorted(ours.items(), key=lambda kv: kv[1]):
        section = sections.get(name)
        if section not in refs["floor"]:
            continue
        ns, cnt = per_event(before, after, pid)
        if cnt < 100:
            continue
        ref_ns, _ = per_event(before, after, refs["floor"][section])
        for kind in ("clock", "mono-clock", "map", "necessary") + PART_KINDS:
            part_ns = reference_ns(refs, kind, section, before, after)
            if part_ns is not None:
                row(f"bpf-{label}-parts", f"{kind}-only@{section}", part_ns, ref_ns, "ns/event",
                    f"ours {ns:.0f}")


def program_sections():
    """program name -> attach point, from bpf/netstacklat.bpf.c."""
    src = open(os.path.join(HERE, "..", "..", "bpf", "netstacklat.bpf.c")).read()
    return {name: sec for sec, name in re.findall(r'SEC\("([^"]+)"\)\nint BPF_PROG\((\w+)', src)}


# --- 5. native histograms ------------------------------------------------------

NATIVE_OFF = "filters: {network_namespace: all}\nhistogram: {native_histograms: false}\n"
NATIVE_ON = "filters: {network_namespace: all}\nhistogram: {native_histograms: true}\n"


def program_ids(port):
    """program name -> id of this daemon's programs."""
    return {l["program"]: int(l["id"]) for n, l, _ in harness.parse(harness.scrape(port))
            if n == "ebpf_exporter_ebpf_program_info"}


def bench_pair(args, tag, label, subject, reference, subject_first, first_port):
    """Two daemons at once on the same hooks, seeing the same packets in the
    same run: each program's ns/event in subject against reference, per
    cell, with the subject attached first or second (the first program on a
    hook pays the cache misses for both; the summary takes the mean of the
    two orders). subject, reference: (name, daemon binary, config)."""
    order = [subject, reference] if subject_first else [reference, subject]
    daemons, ids = {}, {}
    try:
        for which, daemon, config in order:
            port = harness.free_port()
            daemons[which] = daemon_with(args, port, config, daemon)
            ids[which] = program_ids(port)
        cells = run_matrix(args, first_port)
    finally:
        for d in daemons.values():
            d.terminate()
            d.wait(timeout=30)
    sections = program_sections()
    subj, ref = subject[0], reference[0]
    first = order[0][0] + "-first"
    for cell, before, after in cells:
        for name in sorted(ids[subj]):
            if name not in ids[ref] or name not in sections:
                continue
            subj_ns, cnt = per_event(before, after, ids[subj][name])
            ref_ns, _ = per_event(before, after, ids[ref][name])
            if cnt < 100:
                continue
            row(f"{tag}-{label}-{first}", f"{cell}:{name}@{sections[name]}", subj_ns, ref_ns,
                "ns/event", f"{cnt} events")


def bench_native(args, label, on_first):
    """Native buckets' cost per event: a daemon with them and one without."""
    bench_pair(args, "native", label, ("on", args.daemon, NATIVE_ON),
               ("off", args.daemon, NATIVE_OFF), on_first, 22000)


def bench_ab(args, label, new_first):
    """A change's cost per event: --daemon (new) against --against (old),
    both with the config variant --ab-variant (the default config unless
    told). Separate runs of each move by 5 .. 20 % on a noisy machine, far
    more than a change of a few ns; here both see the same packets at the
    same moment, and only the order differs."""
    config = CONFIGS[args.ab_variant]
    bench_pair(args, "ab", label, ("new", args.daemon, config),
               ("old", args.against, config), new_first, 23000)


# --- 2. scrape cost ------------------------------------------------------------

def proc_cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


PROTOBUF = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=delimited")


def timed_scrapes(port, n, gzip_ok=False, accept=None):
    times = []
    headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
    if accept:
        headers["Accept"] = accept
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
        port = harness.free_port()
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
            # Prometheus' protobuf format (what it asks for with native
            # histograms on), beside text, the same collection otherwise.
            pb_times, pb = timed_scrapes(port, args.scrapes, accept=PROTOBUF)
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
        row("scrape", f"{name}-protobuf-median", statistics.median(pb_times) * 1e3,
            statistics.median(times) * 1e3, "ms", "protobuf vs text 0.0.4")
        row("scrape", f"{name}-protobuf-bytes", len(pb), len(body), "bytes",
            "protobuf vs text 0.0.4")


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
            daemon = daemon_with(args, harness.free_port(), CONFIGS["all-netns"])
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
    port = harness.free_port()
    daemon = harness.start_daemon(args.daemon, port, 120)
    try:
        start = harness.rss_kb(daemon.pid)
        timed_scrapes(port, args.footprint_scrapes)
        after = harness.rss_kb(daemon.pid)
        cpu0 = proc_cpu_seconds(daemon.pid)
        time.sleep(args.idle)
        idle = proc_cpu_seconds(daemon.pid) - cpu0
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    row("footprint", "rss-start", start / 1024, 20, "MB", "target <= 20 MB")
    row("footprint", f"rss-after-{args.footprint_scrapes}-scrapes", after / 1024, start / 1024, "MB")
    row("footprint", f"idle-cpu-{args.idle:g}s", idle, args.idle, "s", "CPU seconds while idle")


# --- 6. start-up and the verifier, and what the stats cost ------------------

def verified_insns(tool, ids):
    """program id -> instructions the verifier processed (kernel >= 5.16;
    0 where it does not say), from bpf_prog_info (nstl-bench-prog-info)."""
    out = sh(tool, *[str(i) for i in ids])
    return {int(line.split()[0]): int(line.split("verified_insns=")[1])
            for line in out.splitlines()}


def bench_startup(args):
    """Start to READY=1 (load, verify, attach, bind), the median of 3
    starts; the verifier's instruction count per program; and what
    kernel.bpf_stats_enabled=1 adds to each run of any program."""
    took, insns = [], {}
    for _ in range(1 if args.smoke else 3):
        port = harness.free_port()
        t0 = time.monotonic()
        daemon = harness.start_daemon(args.daemon, port, 120)
        took.append(time.monotonic() - t0)
        try:
            ids = program_ids(port)
            counts = verified_insns(args.prog_info, ids.values())
            insns = {name: counts[prog_id] for name, prog_id in ids.items()}
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
    row("startup", "start-to-ready", statistics.median(took) * 1000, 0, "ms",
        "load + verify + attach + bind, median of the starts")
    for name, n in sorted(insns.items()):
        if n:
            row("startup", f"verified-insns:{name}", n, 0, "insns")
    out = sh(args.stats_cost).split()
    fields = dict(f.split("=") for f in out[1:])
    row("startup", "bpf-stats-added-per-run", float(fields["added"]), float(fields["off"]), "ns",
        "kernel.bpf_stats_enabled=1 on a minimal program, BPF_PROG_TEST_RUN")


def print_matrix_summary(runs):
    """Per config variant and program: the range of ours/necessary and
    ours/empty over the traffic cells (of every run, with --runs), and the
    worst cell."""
    by = {}
    for section, name, ours, ref, ratio, unit, note in rows:
        if not section.startswith("bpf-") or section.endswith(("-parts", "-part")):
            continue
        kind = "necessary" if section.endswith("-vs-necessary") else "empty"
        variant = section[len("bpf-"):].removesuffix("-vs-necessary")
        cell, prog = name.split(":", 1)
        by.setdefault((variant, prog), {}).setdefault(kind, []).append(
            (ratio, ours, cell, ours - ref))
    if not by:
        return
    # The difference in ns beside the ratio: bpf_stats adds its own ~70 ns
    # to both sides of each ratio (the startup section measures it), so a
    # ratio understates what a program adds; the difference does not.
    print("\n%-28s %-50s %-22s %-24s %-22s %s" % (
        "variant" if runs < 2 else f"variant (cells of {runs} runs)", "program", "ours/necessary",
        "ours-necessary (ns)", "ours/empty", "worst cell (vs necessary)"))
    for (variant, prog), kinds in sorted(by.items()):
        nec, emp = kinds.get("necessary", []), kinds.get("empty", [])
        rng = lambda xs: f"{min(xs)[0]:.2f} .. {max(xs)[0]:.2f}" if xs else "-"
        diffs = [x[3] for x in nec]
        drng = f"{min(diffs):+.0f} .. {max(diffs):+.0f}" if diffs else "-"
        worst = max(nec) if nec else None
        print("%-28s %-50s %-22s %-24s %-22s %s" % (
            variant, prog, rng(nec), drng, rng(emp),
            f"{worst[2]} ({worst[1]:.0f} ns)" if worst else "-"))


def pair_orders(tag):
    """The rows of bench_pair(tag): program -> cell -> which side was
    first -> [(subject ns, reference ns, events)], one per run."""
    by = {}
    for section, name, ours, ref, ratio, unit, note in rows:
        if not (section.startswith(tag + "-") and section.endswith("-first")):
            continue
        first = section.rsplit("-", 2)[-2]
        cell, prog = name.split(":", 1)
        by.setdefault(prog, {}).setdefault(cell, {}).setdefault(first, []).append(
            (ours, ref, int(note.split()[0])))
    return by


def pair_cell_difference(sides):
    """One cell's subject - reference in ns: per attach order the median
    over the runs, then the mean of the two orders (the first program on a
    hook pays the misses for both; the mean cancels that); None without
    both orders."""
    if len(sides) < 2:
        return None
    per_order = {first: statistics.median(s - r for s, r, _ in runs)
                 for first, runs in sides.items()}
    return statistics.mean(per_order.values()), per_order


def print_pair_summary(tag, subject, reference, per_cell=False):
    """Per program: the subject's cost against the reference's over the
    whole matrix (events weighted), with each side attached first, and the
    mean of the two orders; per_cell: each cell's mean difference in ns
    too (for a change of a few ns, which a ratio over ~100 ns hides)."""
    by = pair_orders(tag)
    if not by:
        return
    header = (f"program ({tag}: {subject} vs {reference})", f"attached first: {subject}",
              f"attached first: {reference}", "mean")
    print("\n%-50s %22s %22s %10s" % header)
    for prog, cells in sorted(by.items()):
        orders = {}
        for sides in cells.values():
            for first, runs in sides.items():
                for s_ns, r_ns, events in runs:
                    acc = orders.setdefault(first, [0.0, 0.0, 0])
                    acc[0] += s_ns * events
                    acc[1] += r_ns * events
                    acc[2] += events
        ratios = {k: v[0] / v[1] for k, v in orders.items() if v[1]}
        shown = ["%14.1f/%.1f ns %5.3f" % (orders[k][0] / orders[k][2],
                                           orders[k][1] / orders[k][2], ratios[k])
                 if k in ratios else "-" for k in (subject, reference)]
        mean = statistics.mean(ratios.values()) if ratios else float("nan")
        print("%-50s %22s %22s %10.3f" % (prog, shown[0], shown[1], mean))
        row(f"{tag}-summary", prog, mean, 1.0, "ratio", "mean of both attach orders")
        if not per_cell:
            continue
        for cell, sides in sorted(cells.items()):
            found = pair_cell_difference(sides)
            if found is None:
                continue
            diff, per_order = found
            print("    %-46s %+8.1f ns (%s first %+.1f, %s first %+.1f)" % (
                cell, diff, subject, per_order[subject], reference, per_order[reference]))
            row(f"{tag}-cell", f"{cell}:{prog}", diff, 0.0, "ns", "mean of both attach orders")


def vs_necessary_by_order():
    """(variant, cell:program) -> {ours first?: [(ours, necessary) per run]}
    from the rows printed so far."""
    runs = {}
    for section, name, ours, ref, ratio, unit, note in rows:
        if not section.startswith("bpf-") or not section.endswith("-vs-necessary"):
            continue
        first = "-ours-first-" in section
        variant = section[len("bpf-"):].removesuffix("-vs-necessary").replace("-ours-first", "")
        runs.setdefault((variant, name), {}).setdefault(first, []).append((ours, ref))
    return runs


def print_order_summary():
    """--both-orders: per config variant and program, each traffic cell
    measured with ours attached after the references (as by default) and
    before them (--ours-first). The first program on an attach point pays
    the misses on the skb and socket lines, so each order alone favours one
    side: after them ours pays none of those misses and the necessary work
    all; first, the reverse. Like with like, across the two runs: each
    first (cold: what either would cost alone) and each after (warm)."""
    by = {}
    for (variant, name), v in sorted(vs_necessary_by_order().items()):
        if len(v) != 2:
            continue
        # The last run's (--runs prints the medians).
        (ours_after, nec_first), (ours_first, nec_after) = v[False][-1], v[True][-1]
        row(f"orders-{variant}-cold", name, ours_first, nec_first, "ns/event",
            "ours first vs necessary first (two runs)")
        row(f"orders-{variant}-warm", name, ours_after, nec_after, "ns/event",
            "ours after vs necessary after (two runs)")
        cell, prog = name.split(":", 1)
        by.setdefault((variant, prog), []).append(
            (ours_first / nec_first, ours_after / nec_after, ours_after / nec_first,
             ours_first / nec_after, cell))
    if not by:
        return
    print("\n%-28s %-50s %-14s %-14s %-14s %-14s %s" % (
        "variant (both orders)", "program", "cold/cold", "warm/warm", "ours after",
        "ours first", "worst cell (cold/cold)"))
    for (variant, prog), xs in sorted(by.items()):
        rng = lambda i: f"{min(x[i] for x in xs):.2f} .. {max(x[i] for x in xs):.2f}"
        worst = max(xs)
        print("%-28s %-50s %-14s %-14s %-14s %-14s %s" % (
            variant, prog, rng(0), rng(1), rng(2), rng(3), f"{worst[4]} ({worst[0]:.2f}x)"))


def cell_medians(runs_of):
    """(variant, cell:program) -> {column: (ours, necessary)}: the median
    over the runs of each, in each attach order that was run ("ours after",
    "ours first"), and with both, like with like across the orders: each
    where it was first ("cold/cold": ours from the ours-first runs, the
    necessary work from the ours-after runs) and each where it was after
    ("warm/warm"). runs_of is vs_necessary_by_order()'s."""
    out = {}
    for key, orders in runs_of.items():
        cols = {}
        for first, xs in orders.items():
            cols["ours first" if first else "ours after"] = (
                statistics.median(x[0] for x in xs), statistics.median(x[1] for x in xs))
        if len(orders) == 2:
            (oa, nf), (of, na) = cols["ours after"], cols["ours first"]
            cols["cold/cold"], cols["warm/warm"] = (of, nf), (oa, na)
        out[key] = cols
    return out


def above_goal(medians, goal):
    """The cells of cell_medians() whose ours / necessary is above goal."""
    return [f"{variant} {name} {what}: {o:.1f} / {n:.1f} ns ({o / n:.2f}x)"
            for (variant, name), cols in sorted(medians.items())
            for what, (o, n) in cols.items() if o > goal * n]


def print_median_summary(runs, goal):
    """--runs N: per config variant, attach order and traffic cell, the
    median over the runs of ours and of the necessary work, their ratio,
    and the cells above the goal. One run's ratio of a cell moves by 5 ..
    10 % from run to run (where the scheduler and the caches place things),
    more than the margin of a cell near the goal: judge it on medians."""
    runs_of = vs_necessary_by_order()
    if runs < 2 or not runs_of:
        return
    medians = cell_medians(runs_of)
    table = []
    for (variant, name), cols in sorted(medians.items()):
        for first, xs in runs_of[(variant, name)].items():
            order = "ours-first" if first else "ours-after"
            o, n = cols["ours first" if first else "ours after"]
            row(f"median-{variant}-{order}", name, o, n, "ns/event", f"median of {len(xs)} runs")
        table.append("%-28s %-66s %-20s %-20s %-20s %s" % ((variant, name) + tuple(
            "%6.1f/%-6.1f %5.2fx" % (cols[k][0], cols[k][1], cols[k][0] / cols[k][1])
            if k in cols else "-" for k in ("ours after", "ours first", "cold/cold", "warm/warm"))))
    above = above_goal(medians, goal)
    print(f"\nmedians of {runs} runs: ours / necessary work (ns per event), goal {goal:.2f}x")
    print("%-28s %-66s %-20s %-20s %-20s %s" % (
        "variant", "cell:program", "ours after", "ours first", "cold/cold", "warm/warm"))
    print("\n".join(table))
    print(f"GOAL {goal:.2f}x: " + ("every cell within it" if not above else
                                   f"{len(above)} above it:\n  " + "\n  ".join(above)))


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
    p.add_argument("--stats-cost", required=True, help="nstl-bench-stats-cost")
    p.add_argument("--prog-info", required=True, help="nstl-bench-prog-info")
    p.add_argument("--sections", default="bpf,scrape,packet,footprint,native,startup")
    p.add_argument("--label", default="host", help="names the kernel in bpf rows")
    p.add_argument("--variants", default=",".join(CONFIGS),
                   help="config variants of the bpf section: " + ", ".join(CONFIGS))
    order = p.add_mutually_exclusive_group()
    order.add_argument("--ours-first", action="store_true",
                       help="attach ours before the empty and necessary-work references")
    order.add_argument("--both-orders", action="store_true",
                       help="run each variant with ours after the references, then before them; "
                            "print both and their sum")
    order.add_argument("--parts-first", action="store_true",
                       help="attach the breakdown programs before ours too; print them per cell")
    p.add_argument("--first", default=",".join(FIRST_KINDS),
                   help="the reference kinds attached before ours (attached in floor.bpf.c's "
                        "order), the rest after: which program before ours makes it cheaper; "
                        "of " + ", ".join(REF_KINDS[:5]))
    p.add_argument("--runs", type=int, default=1,
                   help="repeat the bpf and ab sections; print each cell's median over the runs")
    p.add_argument("--goal", type=float, default=None,
                   help="with --runs: list the cells whose median ours / necessary is above it "
                        "(default 1.25)")
    p.add_argument("--against", metavar="OLD_DAEMON",
                   help="section ab: this daemon binary (say, main's) beside --daemon, both "
                        "attached at once in both orders; each program's cost per cell, new - old")
    p.add_argument("--ab-variant", default="default", choices=list(CONFIGS),
                   help="section ab: the config variant both daemons run with (say, grouped: "
                        "what a change costs the paths the default config does not take)")
    p.add_argument("--cells", metavar="REGEX",
                   help="sections bpf and ab: only the matrix cells whose name matches (say, "
                        "'lo-.*-udp': a change to one path measured in seconds, not minutes)")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args()
    if args.runs < 1:
        p.error("--runs must be 1 or more")
    args.first = tuple(args.first.split(","))
    if not set(args.first) <= set(REF_KINDS[:5]):
        p.error(f"--first: kinds of {', '.join(REF_KINDS[:5])}")
    if args.ours_first and args.first != FIRST_KINDS:
        p.error("--first and --ours-first: ours cannot be both after and first")
    if args.goal is not None and args.runs < 2:
        p.error("--goal judges medians: it needs --runs 2 or more")
    if args.goal is None:
        args.goal = 1.25
    if ("ab" in args.sections.split(",")) != bool(args.against):
        p.error("the ab section and --against go together")
    if args.ab_variant != "default" and not args.against:
        p.error("--ab-variant is the ab section's: it needs --against")
    if args.cells is not None:
        try:
            matched = matrix_cells(args.cells)
        except re.error as e:
            p.error(f"--cells: not a regular expression ({e})")
        if not matched:
            p.error(f"--cells: no cell of the matrix matches '{args.cells}'")
    args.seconds = 1 if args.smoke else 10
    args.cell_seconds = 0.5 if args.smoke else 2
    args.scrapes = 5 if args.smoke else 200
    args.footprint_scrapes = 20 if args.smoke else 1000
    args.idle = 2 if args.smoke else 60
    if os.geteuid() != 0:
        harness.skip("needs root (BPF, network namespaces)")
    sections = args.sections.split(",")
    print(f"# {os.uname().release}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}")
    try:
        if any(s in sections for s in ("bpf", "packet", "native", "ab")):
            setup_veth()
        if "bpf" in sections:
            for run in range(args.runs):
                if args.runs > 1:
                    print(f"# bpf run {run + 1} of {args.runs}", flush=True)
                for variant in args.variants.split(","):
                    bench_bpf(args, args.label, variant)
                    if args.both_orders:
                        args.ours_first = True
                        bench_bpf(args, args.label + "-ours-first", variant)
                        args.ours_first = False
        if "scrape" in sections:
            bench_scrape(args)
        if "packet" in sections:
            bench_packet_path(args)
        if "footprint" in sections:
            bench_footprint(args)
        if "native" in sections:
            bench_native(args, args.label, on_first=True)
            bench_native(args, args.label, on_first=False)
        if "ab" in sections:
            for run in range(args.runs):
                if args.runs > 1:
                    print(f"# ab run {run + 1} of {args.runs}", flush=True)
                bench_ab(args, args.label, new_first=True)
                bench_ab(args, args.label, new_first=False)
        if "startup" in sections:
            bench_startup(args)
    finally:
        teardown_veth()
    print_pair_summary("native", "on", "off")
    print_pair_summary("ab", "new", "old", per_cell=True)
    print_table()
    print_matrix_summary(args.runs)
    print_order_summary()
    print_median_summary(args.runs, args.goal)
    expected = {"bpf": 4, "scrape": 15, "packet": 3, "footprint": 3, "native": 4, "ab": 4,
                "startup": 2}
    missing = [s for s in sections
               if sum(1 for r in rows if r[0].startswith(s)) < expected[s]]
    if args.parts_first and "bpf" in sections:
        if not any(r[0].endswith("-part") for r in rows):
            missing.append("bpf parts")
    if args.runs > 1 and "bpf" in sections:
        if not any(r[0].startswith("median-") for r in rows):
            missing.append("bpf medians")
    if missing:
        print(f"FAIL: no figures for {missing}")
        return 1
    for p in pathologies:
        print(f"FAIL: pathological per-event cost: {p}")
    return 1 if pathologies else 0


if __name__ == "__main__":
    sys.exit(main())
