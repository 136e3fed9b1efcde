#!/usr/bin/env python3
"""End to end on a real kernel: start the daemon (real BPF programs attached
to the running kernel), send real TCP and UDP traffic over loopback (IPv4 and
IPv6), scrape the real /metrics endpoint and check what it reports; then
SIGTERM and check that no BPF program or link of ours is left behind.

Exit codes: 0 pass, 1 fail, 77 skipped (with the reason printed; never under
CI=true, where a skip is a failure).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

import yaml

import harness


def check_memlock_hint(args):
    """Kernels before 5.11 charge maps to RLIMIT_MEMLOCK: without the unit's
    LimitMEMLOCK=infinity (64 KiB, the kernel's default then) a daemon
    without CAP_SYS_RESOURCE must stop with a line that says what to do."""
    limit = 64 * 1024

    def small_memlock():
        import resource
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (limit, limit))

    out = subprocess.run(harness.as_nobody_with(args.caps) +
                         [args.daemon, f"--web.listen-address=127.0.0.1:{harness.free_port()}"],
                         preexec_fn=small_memlock, capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    harness.check(out.returncode != 0 and "LimitMEMLOCK=infinity" in text and "64 KiB" in text,
                  f"with RLIMIT_MEMLOCK at 64 KiB the daemon stops (exit {out.returncode}) and "
                  f"says how to raise it: {text.strip().splitlines()[-1] if text.strip() else ''}")


def check_helper_probe(args, log):
    """The helpers tracing programs gained in 5.11 are probed, not judged by
    version: the fallbacks where they are missing, never where they exist,
    and a probe that told either way."""
    lacking = "tracing programs lack socket storage and bpf_get_current_task_btf" in log
    harness.check(lacking == args.expect_helper_fallbacks,
                  "the daemon took the 5.10 helper fallbacks" if args.expect_helper_fallbacks
                  else "the daemon used socket storage and the BTF task pointer")
    harness.check("could not tell whether" not in log, "each helper probe told yes or no")


def check_object_choice(log):
    """bpf_rdonly_cast (6.2+) reads tcp_sock fields as plain loads; an
    object that names it does not load where the kernel lacks it (without
    CAP_SYS_ADMIN), so the daemon carries two and probes which one."""
    release = tuple(int(x) for x in re.findall(r"\d+", os.uname().release)[:2])
    want = "as plain loads" if release >= (6, 2) else "through probe reads"
    harness.check(f"tcp_sock fields at the read tracepoint {want}" in log,
                  f"kernel {os.uname().release}: the daemon loaded the object that reads "
                  f"tcp_sock fields {want}")


def check_hol_tracker(log, attached):
    """With TCP reads measured and their head-of-line check on (the
    default), the tcp_probe program tracks out-of-order data, so that reads
    of data queued after it skip the check; where tcp-start took fentry it
    is attached to track only (the counts above would double otherwise)."""
    if "tcp-socket-read" not in attached:
        return
    harness.check("head-of-line check: skipped by TCP reads of data queued after the last "
                  "out-of-order segment (tp_btf/tcp_probe tracks them)" in log,
                  "tp_btf/tcp_probe tracks out-of-order data for the head-of-line check")


def check_tracepoints_taken(args, points, attached, refusal):
    """With fentry/fexit refused, the hooks that have a tracepoint take it."""
    if args.refuse_fentry:
        harness.check_fell_back(points, attached, refusal)


def configured_features(config_file):
    """Whether the daemon's config turns exemplars and native buckets on
    (histogram.exemplars, histogram.native_histograms; both on by default),
    read from the file the daemon is given, so the test never restates it."""
    histogram = {}
    if config_file:
        with open(config_file) as f:
            histogram = (yaml.safe_load(f) or {}).get("histogram") or {}
    return {"exemplars": histogram.get("exemplars", True),
            "native buckets": histogram.get("native_histograms", True)}


def check_features(args, pid):
    """After the traffic, every hook's classic buckets counted, and its
    native buckets and exemplar records are filled exactly when the config
    turns them on: a feature turned off must leave its part of the map
    untouched (5.10's verifier removes that code as dead), one left on must
    have run."""
    entries = [m["id"] for m in harness.daemon_maps(pid)
               if m.get("type") == "percpu_array" and m.get("name") == "netstack_latenc"]
    if len(entries) != 1:
        raise harness.Failure(f"the daemon holds {len(entries)} per-hook histogram maps, not one")
    dump = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "id", str(entries[0])],
                                     check=True, capture_output=True, text=True).stdout)
    counted = 0
    filled = {"exemplars": 0, "native buckets": 0}
    for entry in dump:
        for cpu in entry["formatted"]["values"]:
            hist = cpu["value"]["hist"]
            counted += sum(hist["slots"])
            filled["native buckets"] += sum(cpu["value"]["native"])
            filled["exemplars"] += hist["ex_max"] + sum(ex["done"] for ex in hist["ex"])
    harness.check(counted > 0, f"the classic buckets counted the traffic ({counted} in slots)")
    for feature, on in configured_features(args.config_file).items():
        if on:
            harness.check(filled[feature] > 0, f"{feature} on: the programs filled them "
                          f"({filled[feature]} in the map)")
        else:
            harness.check(filled[feature] == 0, f"{feature} off: the programs left them empty "
                          f"({filled[feature]} in the map)")


def run(args):
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        harness.skip("the kernel has no BTF (/sys/kernel/btf/vmlinux)")
    refusal = harness.start_refusal(args.refuse_fentry) if args.refuse_fentry else None
    try:
        run_daemon(args, refusal)
    finally:
        if refusal and refusal.poll() is None:
            refusal.kill()


def run_daemon(args, refusal):
    attached = [h for h in args.expect_attached.split(",") if h]
    detached = [h for h in (args.expect_detached or "").split(",") if h]
    listing = subprocess.run([args.daemon, "--list-hooks"], capture_output=True, text=True,
                             timeout=60).stdout
    for h in attached:
        harness.check(h in harness.list_hooks(listing) and any(ok for _, ok in harness.list_hooks(listing)[h]),
                      f"--list-hooks lists {h} with an available attach point")
    if args.expect_memlock_hint:
        check_memlock_hint(args)
    port = harness.free_port()
    old_stats = harness.set_bpf_stats("1")
    proc = None
    try:
        extra = [f"--config.file={args.config_file}"] if args.config_file else []
        proc = harness.start_daemon(args.daemon, port, args.start_timeout, args.caps, extra=extra)
        # As nobody with only --caps the bounding set stays what setpriv left
        # (no CAP_SETPCAP to empty it); as plain root it is emptied.
        harness.check_no_thread_capabilities(proc.pid, harness.cap_bits(args.caps),
                                             f"started with {args.caps}" if args.caps else "plain root",
                                             kept=harness.cap_bits(args.expect_kept_caps))
        before = harness.parse(harness.scrape(port))
        hooks = harness.values(before, "netstacklat_exporter_hook_attached", "hook")
        points = {l["hook"]: l["attach_point"] for n, l, _ in before
                  if n == "netstacklat_exporter_hook_attached"}
        for h in attached:
            harness.check(hooks.get(h) == 1, f"hook {h} attached at {points.get(h)}")
            if args.expect_fentry and h != "netif-receive":
                harness.check(points[h].startswith(("fentry/", "fexit/")),
                              f"hook {h} uses fentry/fexit where the kernel allows it")
        check_tracepoints_taken(args, points, attached, refusal)
        for h in detached:
            harness.check(hooks.get(h) == 0, f"hook {h} reported as not attached (not missing)")
        for h in args.expect_disabled.split(","):
            if h:
                harness.check(h not in hooks, f"hook {h} disabled by the config: not loaded, not reported")

        harness.send_traffic()
        time.sleep(0.5)
        text = harness.scrape(port)
        after = harness.parse(text)
        c0, c1 = harness.by_hook(before, "_count"), harness.by_hook(after, "_count")
        s1 = harness.by_hook(after, "_sum")
        for h in attached:
            grew = c1.get(h, 0) - c0.get(h, 0)
            harness.check(grew >= harness.MESSAGES, f"hook {h}: count grew by {grew:.0f} (>= {harness.MESSAGES})")
            mean = s1[h] / c1[h]
            low = args.min_mean if h.endswith("-read") else args.min_mean_early
            harness.check(low <= mean <= 1.0, f"hook {h}: mean latency {mean * 1e6:.2f} us is "
                          f"plausible (in [{low * 1e6:g} us, 1 s])")
        for h in detached + [h for h in args.expect_disabled.split(",") if h]:
            harness.check(h not in c1, f"hook {h}: no series, as it is not attached")
        harness.check_histogram_shape(after)
        harness.check_promtool(text)
        harness.check_programs_ran(before, after)
        med, worst = harness.scrape_times(port)
        harness.log(f"scrape time over 50 scrapes: median {med * 1e3:.2f} ms, max {worst * 1e3:.2f} ms")
        harness.log("counts per hook: " + ", ".join(f"{h}={c1.get(h, 0):.0f}" for h in sorted(c1)))
        ids = [l["id"] for n, l, _ in after if n == "ebpf_exporter_ebpf_program_info"]
        check_features(args, proc.pid)

        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=20)
        output = proc.stdout.read()
        harness.check(rc == 0, f"daemon exited 0 on SIGTERM (got {rc})")
        deadline = time.time() + 5  # programs are freed after an RCU grace period
        while harness.our_leftovers(ids) and time.time() < deadline:
            time.sleep(0.2)
        left = harness.our_leftovers(ids)
        harness.check(not left, f"no BPF program of ours left after SIGTERM ({left})")
        harness.log("daemon log:\n" + output)
        check_helper_probe(args, output)
        check_object_choice(output)
        check_hol_tracker(output, attached)
    finally:
        harness.set_bpf_stats(old_stats)
        if proc and proc.poll() is None:
            proc.kill()


def main():
    return harness.root_test_main(__doc__, run, [
        ("--expect-attached", dict(required=True)),
        ("--expect-detached", dict()),
        ("--expect-disabled", dict(default="", help="hooks the config disables")),
        ("--config-file", dict(help="--config.file for the daemon")),
        ("--expect-fentry", dict(action="store_true",
                                 help="hooks must use their fentry/fexit attach points")),
        ("--min-mean", dict(type=float, default=1e-6,
                            help="lowest plausible mean latency to a socket read, in seconds")),
        # Loopback TCP keeps its mono delivery time until ip_local_deliver,
        # where the kernel stamps it again: tcp-start is then well under 1 us
        # later.
        ("--min-mean-early", dict(type=float, default=5e-8,
                                  help="the same for the hooks before the socket read")),
        ("--start-timeout", dict(type=float, default=60)),
        ("--caps", dict(help="run the daemon as nobody with only these capabilities, "
                             "setpriv syntax, e.g. +bpf,+perfmon")),
        ("--expect-memlock-hint", dict(action="store_true",
                                       help="the kernel charges maps to RLIMIT_MEMLOCK (< 5.11): "
                                            "check the error with a small limit (needs --caps)")),
        ("--expect-helper-fallbacks", dict(action="store_true",
                                           help="the kernel's tracing programs lack socket storage "
                                                "and bpf_get_current_task_btf (< 5.11)")),
        ("--expect-kept-caps", dict(help="capabilities the daemon must keep after attaching "
                                         "(+bpf where the kernel refuses map reads "
                                         "without it), none by default")),
        ("--refuse-fentry", dict(metavar="LOADER",
                                 help="nstl-refuse-fentry: refuse every fentry/fexit load "
                                      "(BPF-LSM; the kernel booted with lsm=bpf) before the "
                                      "daemon starts; the hooks must take their tracepoints"))],
        needs="needs root to load BPF programs (CAP_BPF, CAP_PERFMON)", tools=("bpftool",))


if __name__ == "__main__":
    sys.exit(main())
