#!/usr/bin/env python3
"""End to end on a real kernel: start the daemon (real BPF programs attached
to the running kernel), send real TCP and UDP traffic over loopback (IPv4 and
IPv6), scrape the real /metrics endpoint and check what it reports; then
SIGTERM and check that no BPF program or link of ours is left behind.

Exit codes: 0 pass, 1 fail, 77 skipped (with the reason printed; never under
CI=true, where a skip is a failure).
"""
import argparse
import atexit
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SKIP = 77
HIST = "ebpf_exporter_netstack_latency_seconds"
# ebpf_exporter's le strings for bucket_multiplier 1e-9, buckets 0..34.
LE = [
    "1e-09", "2e-09", "4e-09", "8e-09", "1.6e-08", "3.2e-08", "6.4e-08", "1.28e-07",
    "2.56e-07", "5.12e-07", "1.024e-06", "2.048e-06", "4.096e-06", "8.192e-06",
    "1.6384e-05", "3.2768e-05", "6.5536e-05", "0.000131072", "0.000262144",
    "0.000524288", "0.001048576", "0.002097152", "0.004194304", "0.008388608",
    "0.016777216", "0.033554432", "0.067108864", "0.134217728", "0.268435456",
    "0.536870912", "1.073741824", "2.147483648", "4.294967296", "8.589934592",
    "17.179869184", "+Inf",
]
# promtool's one allowed finding: ebpf_exporter's own counter name, kept as is.
ALLOWED_LINT = ('ebpf_exporter_ebpf_program_run_time_seconds counter metrics '
                'should have "_total" suffix')
MESSAGES = 300  # per protocol and address family


class Failure(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def check(cond, msg):
    if not cond:
        raise Failure(msg)
    log("ok: " + msg)


def run_reporting(body, *args):
    """body(*args); logs PASS, or FAIL with the failed check, and returns the
    exit code (0 or 1)."""
    try:
        body(*args)
    except Failure as err:
        log(f"FAIL: {err}")
        return 1
    log("PASS")
    return 0


def run_with_tempdir(prefix, body):
    """body(a fresh temporary directory), removed afterwards; logs PASS or
    FAIL and returns the exit code (0 or 1)."""
    d = tempfile.mkdtemp(prefix=prefix)
    try:
        body(d)
    except Failure as err:
        log(f"FAIL: {err}")
        return 1
    finally:
        shutil.rmtree(d, ignore_errors=True)
    log("PASS")
    return 0


def root_test_main(doc, run, options=()):
    """The main() of a test that needs root: --daemon, and `options` as
    (flag, default, help) triples; exits through run_reporting(run, args)
    or skip()."""
    p = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--daemon", required=True)
    for flag, default, text in options:
        p.add_argument(flag, default=default, help=text)
    args = p.parse_args()
    if os.geteuid() != 0:
        skip("needs root to load BPF programs")
    return run_reporting(run, args)


def skip(reason):
    if os.environ.get("CI") == "true":
        log("FAIL: would skip under CI, where kernel tests must run: " + reason)
        sys.exit(1)
    log("SKIPPED: " + reason)
    sys.exit(SKIP)


# --- scraping and parsing -------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


def parse(text):
    """[(name, {labels}, value)] in order of appearance."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise Failure(f"unparsable line: {line}")
        labels = dict(LABEL.findall(m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def by_hook(samples, suffix):
    return {l["hook"]: v for n, l, v in samples if n == HIST + suffix}


def values(samples, name, key):
    return {l[key]: v for n, l, v in samples if n == name}


# --- the daemon -------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_STARTED = []


@atexit.register
def _stop_leftover_daemons():
    """A test that failed half way leaves no daemon (and so no BPF program)
    behind it: whatever start_daemon started and still runs gets SIGTERM."""
    for proc in _STARTED:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_daemon(path, port, timeout, caps=None, wrapper=None, extra=(), plain_http=True):
    """Starts the daemon as systemd would for Type=notify and waits for
    READY=1, which must come only once the port serves the attached hooks
    (checked here when it serves plain HTTP without auth)."""
    notify_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"nstl-notify-{os.getpid()}")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.path.exists(notify_path):
        os.unlink(notify_path)
    notify.bind(notify_path)
    os.chmod(notify_path, 0o777)  # the daemon may run as nobody (--caps)
    notify.settimeout(timeout)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    cmd = (wrapper or [path]) + [f"--web.listen-address=127.0.0.1:{port}"] + list(extra)
    if caps:
        # As user nobody with exactly these capabilities: proves they suffice.
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               f"--inh-caps=-all,{caps}", f"--ambient-caps=-all,{caps}",
               f"--bounding-set=-all,{caps}"] + cmd
        log(f"running the daemon as nobody with only {caps}")
    proc = subprocess.Popen(cmd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _STARTED.append(proc)
    try:
        messages = ""
        while "READY=1" not in messages:
            messages += notify.recv(4096).decode() + "\n"
    except socket.timeout:
        proc.kill()
        raise Failure(f"no READY=1 from the daemon within {timeout} s: {proc.stdout.read()}")
    finally:
        notify.close()
        os.unlink(notify_path)
    if plain_http:
        check("netstacklat_exporter_hook_attached" in scrape(port),
              f"sd_notify READY=1 came once /metrics served the hooks ({messages.strip()!r})")
    return proc


CAP_SETS = ("CapInh", "CapPrm", "CapEff", "CapAmb")


CAP_NUMBERS = {"bpf": 39, "perfmon": 38}


def cap_bits(caps):
    """The bit mask of setpriv's "+bpf,+perfmon" (0 for None)."""
    return sum(1 << CAP_NUMBERS[c.lstrip("+")] for c in (caps or "").split(",") if c)


def thread_status(pid):
    """{tid: {field: value}} of /proc/PID/task/*/status: every thread, not
    only the main one (capabilities are per thread)."""
    out = {}
    for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                out[int(tid)] = {k: v.strip() for k, v in
                                 (l.split(":", 1) for l in f if ":" in l)}
        except FileNotFoundError:  # the thread ended while we read
            pass
    return out


def check_no_thread_capabilities(pid, bounding, what):
    """Every thread of PID: CapInh, CapPrm, CapEff and CapAmb 0, NoNewPrivs 1,
    CapBnd == bounding. Logs one line per thread (name, tid, the sets)."""
    threads = thread_status(pid)
    bad = []
    for tid, st in threads.items():
        sets = {k: int(st[k], 16) for k in CAP_SETS + ("CapBnd",)}
        log(f"  {what}: thread {st['Name']} ({tid}): " +
            " ".join(f"{k}={v:016x}" for k, v in sets.items()) +
            f" NoNewPrivs={st.get('NoNewPrivs')}")
        if any(sets[k] for k in CAP_SETS) or sets["CapBnd"] != bounding or \
                st.get("NoNewPrivs") != "1":
            bad.append(f"{st['Name']}({tid})")
    check(len(threads) > 1 and not bad,
          f"{what}: none of its {len(threads)} threads holds a capability, each has "
          f"NoNewPrivs and the bounding set {bounding:#x}" +
          (f" (failing: {', '.join(bad)})" if bad else ""))


# --- traffic ----------------------------------------------------------------

def tcp_traffic(family, addr):
    with socket.socket(family, socket.SOCK_STREAM) as srv:
        srv.bind((addr, 0))
        srv.listen(1)
        received = []

        def serve():
            conn, _ = srv.accept()
            with conn:
                total = 0
                while chunk := conn.recv(65536):
                    total += len(chunk)
                received.append(total)

        t = threading.Thread(target=serve)
        t.start()
        with socket.socket(family, socket.SOCK_STREAM) as c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.connect(srv.getsockname()[:2])
            for _ in range(MESSAGES):
                c.sendall(b"x" * 100)
                time.sleep(0.001)  # separate segments, separate reads
        t.join(30)
        check(received == [MESSAGES * 100], f"TCP over {addr}: {MESSAGES} messages received")


def udp_traffic(family, addr, size):
    with socket.socket(family, socket.SOCK_DGRAM) as rx, \
            socket.socket(family, socket.SOCK_DGRAM) as tx:
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        rx.bind((addr, 0))
        rx.settimeout(5)
        got = 0
        for _ in range(MESSAGES):
            tx.sendto(b"y" * size, rx.getsockname()[:2])
            got += len(rx.recv(65536)) == size
        check(got == MESSAGES, f"UDP over {addr}: {MESSAGES} datagrams of {size} B received")


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def send_traffic():
    families = [(socket.AF_INET, "127.0.0.1")]
    if have_ipv6():
        families.append((socket.AF_INET6, "::1"))
    else:
        log("note: no IPv6 on loopback here; IPv4 only")
    for fam, addr in families:
        tcp_traffic(fam, addr)
        # Small datagrams sit in linear skbs; large ones (> ~16 KB on
        # loopback) in paged skbs, the only ones the UDP read tracepoint
        # fallback can see (see bpf/netstacklat.bpf.c).
        udp_traffic(fam, addr, 100)
        udp_traffic(fam, addr, 32000)


# --- checks -------------------------------------------------------------------

def check_histogram_shape(samples):
    series = {}
    for n, l, v in samples:
        if n == HIST + "_bucket":
            key = (l["cgroup"], l["iface"], l["hook"])
            series.setdefault(key, []).append((l["le"], v))
    check(len(series) > 0, "the latency histogram has series")
    counts = values(samples, HIST + "_count", "hook")
    for (cgroup, iface, hook), buckets in series.items():
        check(cgroup == "unknown_cgroup_id:0" and iface == "unknown:0",
              f"{hook}: ungrouped labels as ebpf_exporter renders them")
        check([le for le, _ in buckets] == LE, f"{hook}: le bounds are ebpf_exporter's 35 + +Inf")
        vals = [v for _, v in buckets]
        check(all(a <= b for a, b in zip(vals, vals[1:])), f"{hook}: buckets are cumulative")
        check(vals[-1] == counts[hook], f"{hook}: +Inf bucket == _count ({counts[hook]:.0f})")


def check_promtool(text):
    promtool = shutil.which("promtool")
    if not promtool:
        raise Failure("promtool not found (Debian package prometheus)")
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True)
    findings = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    check(findings == [ALLOWED_LINT],
          f"promtool check metrics: only the allowed _total lint (got {findings})")


def check_programs_ran(before, after):
    """With kernel.bpf_stats_enabled=1: every attached program ran, i.e. the
    IPv4 and the IPv6 attach points of a hook each saw packets."""
    runs0 = values(before, "ebpf_exporter_ebpf_program_run_count_total", "id")
    runs1 = values(after, "ebpf_exporter_ebpf_program_run_count_total", "id")
    names = {l["id"]: l["program"] for n, l, _ in after
             if n == "ebpf_exporter_ebpf_program_info"}
    for pid, name in sorted(names.items(), key=lambda kv: kv[1]):
        ran = runs1.get(pid, 0) - runs0.get(pid, 0)
        check(ran > 0, f"program {name} (id {pid}) ran {ran:.0f} times")


def our_leftovers(ids):
    left = []
    for pid in ids:
        r = subprocess.run(["bpftool", "prog", "show", "id", pid], capture_output=True)
        if r.returncode == 0:
            left.append(pid)
    r = subprocess.run(["bpftool", "prog", "show"], capture_output=True, text=True)
    left += [l for l in r.stdout.splitlines() if " nstl_" in l]
    return left


def scrape_times(port, n=50):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        scrape(port)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times)


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def set_bpf_stats(value):
    path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(path) as f:
        old = f.read().strip()
    with open(path, "w") as f:
        f.write(value)
    return old


def list_hooks(text):
    """--list-hooks output: {hook: [(attach point, available?)]}. A hook line
    starts in column 0; its attach points follow, indented."""
    hooks, current = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace():
            current = line.split()[0]
            hooks[current] = []
        elif line.strip() and current:
            point, rest = line.split(None, 1)
            hooks[current].append((point, rest.strip() == "available"))
    return hooks


def run(args):
    attached = [h for h in args.expect_attached.split(",") if h]
    detached = [h for h in (args.expect_detached or "").split(",") if h]
    listing = subprocess.run([args.daemon, "--list-hooks"], capture_output=True, text=True,
                             timeout=60).stdout
    for h in attached:
        check(h in list_hooks(listing) and any(ok for _, ok in list_hooks(listing)[h]),
              f"--list-hooks lists {h} with an available attach point")
    port = free_port()
    old_stats = set_bpf_stats("1")
    proc = None
    try:
        extra = [f"--config.file={args.config_file}"] if args.config_file else []
        proc = start_daemon(args.daemon, port, args.start_timeout, args.caps, extra=extra)
        # As nobody with only --caps the bounding set stays what setpriv left
        # (no CAP_SETPCAP to empty it); as plain root it is emptied.
        check_no_thread_capabilities(proc.pid, cap_bits(args.caps),
                                     f"started with {args.caps}" if args.caps else "plain root")
        before = parse(scrape(port))
        hooks = values(before, "netstacklat_exporter_hook_attached", "hook")
        points = {l["hook"]: l["attach_point"] for n, l, _ in before
                  if n == "netstacklat_exporter_hook_attached"}
        for h in attached:
            check(hooks.get(h) == 1, f"hook {h} attached at {points.get(h)}")
            if args.expect_fentry and h != "netif-receive":
                check(points[h].startswith(("fentry/", "fexit/")),
                      f"hook {h} uses fentry/fexit where the kernel allows it")
        for h in detached:
            check(hooks.get(h) == 0, f"hook {h} reported as not attached (not missing)")
        for h in args.expect_disabled.split(","):
            if h:
                check(h not in hooks, f"hook {h} disabled by the config: not loaded, not reported")

        send_traffic()
        time.sleep(0.5)
        text = scrape(port)
        after = parse(text)
        c0, c1 = by_hook(before, "_count"), by_hook(after, "_count")
        s1 = by_hook(after, "_sum")
        for h in attached:
            grew = c1.get(h, 0) - c0.get(h, 0)
            check(grew >= MESSAGES, f"hook {h}: count grew by {grew:.0f} (>= {MESSAGES})")
            mean = s1[h] / c1[h]
            low = args.min_mean if h.endswith("-read") else args.min_mean_early
            check(low <= mean <= 1.0, f"hook {h}: mean latency {mean * 1e6:.2f} us is "
                  f"plausible (in [{low * 1e6:g} us, 1 s])")
        for h in detached + [h for h in args.expect_disabled.split(",") if h]:
            check(h not in c1, f"hook {h}: no series, as it is not attached")
        check_histogram_shape(after)
        check_promtool(text)
        check_programs_ran(before, after)
        med, worst = scrape_times(port)
        log(f"scrape time over 50 scrapes: median {med * 1e3:.2f} ms, max {worst * 1e3:.2f} ms")
        log("counts per hook: " + ", ".join(f"{h}={c1.get(h, 0):.0f}" for h in sorted(c1)))
        ids = [l["id"] for n, l, _ in after if n == "ebpf_exporter_ebpf_program_info"]

        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=20)
        output = proc.stdout.read()
        check(rc == 0, f"daemon exited 0 on SIGTERM (got {rc})")
        deadline = time.time() + 5  # programs are freed after an RCU grace period
        while our_leftovers(ids) and time.time() < deadline:
            time.sleep(0.2)
        left = our_leftovers(ids)
        check(not left, f"no BPF program of ours left after SIGTERM ({left})")
        log("daemon log:\n" + output)
    finally:
        set_bpf_stats(old_stats)
        if proc and proc.poll() is None:
            proc.kill()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--daemon", required=True)
    p.add_argument("--expect-attached", required=True)
    p.add_argument("--expect-detached")
    p.add_argument("--expect-disabled", default="", help="hooks the config disables")
    p.add_argument("--config-file", help="--config.file for the daemon")
    p.add_argument("--expect-fentry", action="store_true",
                   help="hooks must use their fentry/fexit attach points")
    p.add_argument("--min-mean", type=float, default=1e-6,
                   help="lowest plausible mean latency to a socket read, in seconds")
    # Loopback TCP keeps its mono delivery time until ip_local_deliver, where
    # the kernel stamps it again: tcp-start is then well under 1 us later.
    p.add_argument("--min-mean-early", type=float, default=5e-8,
                   help="the same for the hooks before the socket read")
    p.add_argument("--start-timeout", type=float, default=60)
    p.add_argument("--caps", help="run the daemon as nobody with only these capabilities, "
                   "setpriv syntax, e.g. +bpf,+perfmon")
    args = p.parse_args()

    if os.geteuid() != 0:
        skip("needs root to load BPF programs (CAP_BPF, CAP_PERFMON)")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        skip("the kernel has no BTF (/sys/kernel/btf/vmlinux)")
    if not shutil.which("bpftool"):
        raise SystemExit("bpftool not found")
    try:
        run(args)
    except Failure as e:
        log(f"FAIL: {e}")
        sys.exit(1)
    log("PASS")


if __name__ == "__main__":
    main()
