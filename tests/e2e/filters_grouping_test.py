#!/usr/bin/env python3
"""Filters and grouping on a real kernel, with real traffic from two network
namespaces, two interfaces and two cgroups that the test creates:

  root netns:  lo  and  nstl-f0 (10.198.0.1)  <-veth->  nstl-f1 (10.198.0.2): netns nstl-f-b
  cgroups:     <cgroup2 mount>/nstl-test-{a,b,c}, one per receiver

Each case starts the daemon with a config, sends TCP traffic to receivers
in the test's cgroups, and checks which tcp-socket-read series grew (the
cgroups keep the daemon's own HTTP reads out of the picture).
Exit 0 pass, 1 fail, 77 skipped (never under CI=true)."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import harness

NS_B = "nstl-f-b"
HOOK = "tcp-socket-read"
N = 40
# TCP may merge two sends into one read under load: growth is checked
# against half the messages sent, non-growth against zero.
GROWN = N // 2
RECEIVER = r"""
import socket, sys, threading
s = socket.socket()
s.bind((sys.argv[1], 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
sys.stdin.readline()  # go: the test has put us in our cgroup
def drain(c):
    while c.recv(65536):
        pass
while True:
    threading.Thread(target=drain, args=(s.accept()[0],), daemon=True).start()
"""


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def setup():
    teardown()
    sh("ip", "netns", "add", NS_B)
    sh("ip", "netns", "exec", NS_B, "ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "nstl-f0", "type", "veth", "peer", "name", "nstl-f1", "netns", NS_B)
    sh("ip", "addr", "add", "10.198.0.1/24", "dev", "nstl-f0")
    sh("ip", "link", "set", "nstl-f0", "up")
    sh("ip", "netns", "exec", NS_B, "ip", "addr", "add", "10.198.0.2/24", "dev", "nstl-f1")
    sh("ip", "netns", "exec", NS_B, "ip", "link", "set", "nstl-f1", "up")
    for cg in "abc":
        os.makedirs(cgroup_dir(cg), exist_ok=True)


def cgroup_dir(name):
    return f"{harness.cgroup2_root()}/nstl-test-{name}"


def teardown():
    subprocess.run(["ip", "link", "del", "nstl-f0"], capture_output=True)
    subprocess.run(["ip", "netns", "del", NS_B], capture_output=True)


class Receiver:
    """A UDP reader process in a cgroup (and optionally a netns)."""

    def __init__(self, addr, cgroup, netns=None):
        cmd = ["python3", "-c", RECEIVER, addr]
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addr, self.port = addr, int(self.proc.stdout.readline())
        with open(f"{cgroup_dir(cgroup)}/cgroup.procs", "w") as f:
            f.write(str(self.proc.pid))
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def send(self, n=N, netns=None):
        code = (f"import socket,time\ns=socket.create_connection(('{self.addr}',{self.port}))\n"
                f"s.setsockopt(socket.IPPROTO_TCP,socket.TCP_NODELAY,1)\n"
                f"for _ in range({n}):\n s.sendall(b'x'*100)\n time.sleep(0.003)\n"
                f"s.close()\ntime.sleep(0.2)\n")
        cmd = ["python3", "-c", code]
        subprocess.run((["ip", "netns", "exec", netns] if netns else []) + cmd, check=True)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def series(port, hook=HOOK):
    """{(cgroup, iface): count} of a hook's histogram (tcp-socket-read)."""
    out = {}
    for n, l, v in harness.parse(harness.scrape(port)):
        if n == harness.HIST + "_count" and l["hook"] == hook:
            key = (l["cgroup"], l["iface"])
            out[key] = out.get(key, 0) + v
    return out


def grew_for(before, after, cgroup, iface=None):
    keys = [k for k in set(before) | set(after) if k[0] == cgroup and iface in (None, k[1])]
    return sum(after.get(k, 0) - before.get(k, 0) for k in keys)


def run_case(daemon, name, config, traffic, expect, hook=HOOK):
    """expect: {(cgroup, iface or None): True if it must grow by >= N, False if not at all}."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(config)
    port = harness.free_port()
    proc = harness.start_daemon(daemon, port, 60, extra=[f"--config.file={f.name}"])
    try:
        before = series(port, hook)
        traffic()
        time.sleep(0.5)
        after = series(port, hook)
        for (cgroup, iface), must_grow in expect.items():
            grew = grew_for(before, after, cgroup, iface)
            what = f"{name}: cgroup={cgroup.rsplit('/', 1)[-1]} iface={iface or '*'}"
            if must_grow:
                harness.check(grew >= GROWN, f"{what} grew by {grew:.0f} (>= {GROWN})")
            else:
                harness.check(grew == 0, f"{what} did not grow ({grew:.0f})")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        os.unlink(f.name)


def udp_datagrams():
    """N datagrams over lo and N from netns b over the veth: netif-receive
    sees them (TCP's carry the sender's delivery time there)."""
    code = ("import socket,sys\nr=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "r.bind((sys.argv[1],0));t=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"for _ in range({N}):\n t.sendto(b'u'*100,(sys.argv[2],r.getsockname()[1]))\n")
    subprocess.run(["python3", "-c", code, "127.0.0.1", "127.0.0.1"], check=True)
    # From b to a port nobody listens on here: still received on nstl-f0.
    code = ("import socket\nt=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"for _ in range({N}):\n t.sendto(b'u'*100,('10.198.0.1',9))\n")
    subprocess.run(["ip", "netns", "exec", NS_B, "python3", "-c", code], check=True)


def gauge(port, name):
    return next(v for n, _, v in harness.parse(harness.scrape(port)) if n == name)


RELOAD_OK = "netstacklat_exporter_config_last_reload_successful"
RELOAD_TS = "netstacklat_exporter_config_last_reload_success_timestamp_seconds"


def reload(proc, port, expect_ok):
    """SIGHUP, then waits (10 s at most) until /metrics shows that reload's
    outcome: a new success timestamp, or the failure gauge; True if seen."""
    ts0 = gauge(port, RELOAD_TS)
    proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        ok, ts = gauge(port, RELOAD_OK), gauge(port, RELOAD_TS)
        if (ok == 1 and ts != ts0) if expect_ok else ok == 0:
            return True
        time.sleep(0.05)
    return False


def reload_case(daemon, lo, veth, a, b):
    """SIGHUP swaps the cgroup filter in place; counts stay; a broken file
    is refused and the running filter stays in force."""
    both = "grouping: {by_interface: true, by_cgroup: true}\n"
    path = os.path.join(tempfile.gettempdir(), f"nstl-reload-{os.getpid()}.yaml")
    with open(path, "w") as f:
        f.write(both + f"filters: {{cgroups: [{a}]}}\n")
    port = harness.free_port()
    proc = harness.start_daemon(daemon, port, 60, extra=[f"--config.file={path}"])
    try:
        s0 = series(port)
        lo(), veth()
        s1 = series(port)
        harness.check(grew_for(s0, s1, a) >= GROWN and grew_for(s0, s1, b) == 0,
                      "reload: before, only cgroup a is counted")
        with open(path, "w") as f:
            f.write(both + f"filters: {{cgroups: [{b}]}}\n")
        harness.check(reload(proc, port, True), "reload: the new file is accepted")
        s2 = series(port)
        harness.check(all(s2.get(k, 0) >= v for k, v in s1.items()),
                      "reload: counts collected before are kept")
        lo(), veth()
        s3 = series(port)
        harness.check(grew_for(s2, s3, b) >= GROWN and grew_for(s2, s3, a) == 0,
                      "reload: after, only cgroup b is counted")
        with open(path, "w") as f:
            f.write("filters: {cgroups: [/nonexistent/cgroup]}\n")
        harness.check(reload(proc, port, False) and proc.poll() is None,
                      "reload of a broken file: refused, reported, daemon alive")
        lo(), veth()
        s4 = series(port)
        harness.check(grew_for(s3, s4, b) >= GROWN and grew_for(s3, s4, a) == 0,
                      "reload of a broken file: the running filter stays in force")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        os.unlink(path)


def spread_reads():
    """Reads delayed by 1 us .. 65 ms over TCP and UDP on loopback: socket-read
    latencies in ~17 buckets per hook, more keys than one label set holds."""
    with socket.socket() as srv, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as urx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as utx:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        urx.bind(("127.0.0.1", 0))
        with socket.create_connection(srv.getsockname()) as tx:
            rx, _ = srv.accept()
            with rx:
                for k in range(17):
                    tx.sendall(b"m" * 100)
                    utx.sendto(b"u" * 32000, urx.getsockname())  # paged: seen by the tracepoint
                    time.sleep(2 ** k * 1e-6)
                    rx.recv(100)
                    urx.recv(65536)


def map_full_case(daemon, traffic):
    """A grouped map too small for the traffic (one label set: 36 slots):
    samples that find it full are counted, the daemon keeps serving, and
    what it had collected is kept (counts never go down: with room for one
    label set, a quarter of the room is none, so nothing is shed)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("grouping: {by_interface: true, max_label_sets: 1}\n")
    port = harness.free_port()
    proc = harness.start_daemon(daemon, port, 60, extra=[f"--config.file={f.name}"])
    drops = "netstacklat_exporter_grouped_map_full_drops_total"
    try:
        traffic()
        time.sleep(0.5)
        first = {(n, tuple(sorted(l.items()))): v for n, l, v in harness.parse(harness.scrape(port))
                 if n.startswith(harness.HIST)}
        harness.check(gauge(port, drops) > 0, f"map full: samples that found no room are counted "
                      f"({drops} {gauge(port, drops):.0f})")
        traffic()
        time.sleep(0.5)
        second = {(n, tuple(sorted(l.items()))): v for n, l, v in harness.parse(harness.scrape(port))
                  if n.startswith(harness.HIST)}
        kept = all(second.get(k, -1) >= v for k, v in first.items())
        harness.check(first and kept, f"map full: all {len(first)} series kept, none went down")
        harness.check(proc.poll() is None, "map full: the daemon keeps serving")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        os.unlink(f.name)


def main():
    return harness.root_test_main(__doc__, run, needs="needs root (BPF, network namespaces, cgroups)")


def run(args):
    setup()
    recv_lo = Receiver("127.0.0.1", "a")               # root netns, lo, cgroup a
    recv_veth = Receiver("10.198.0.1", "b")            # root netns, nstl-f0, cgroup b
    recv_nsb = Receiver("127.0.0.1", "c", netns=NS_B)  # netns b, its lo, cgroup c
    lo = lambda: recv_lo.send()                         # noqa: E731
    veth = lambda: recv_veth.send(netns=NS_B)           # noqa: E731 (sent from netns b)
    nsb = lambda: recv_nsb.send(netns=NS_B)             # noqa: E731
    everything = lambda: (lo(), veth(), nsb())          # noqa: E731
    a, b, c = (cgroup_dir(x) for x in "abc")
    both = "grouping: {by_interface: true, by_cgroup: true}\n"
    try:
        run_case(args.daemon, "group by interface and cgroup, own netns (default)", both,
                 everything, {(a, "lo"): True, (b, "nstl-f0"): True, (c, None): False})
        run_case(args.daemon, "netns filter by path",
                 both + f"filters: {{network_namespace: /run/netns/{NS_B}}}\n",
                 lambda: (lo(), nsb()), {(c, None): True, (a, None): False})
        run_case(args.daemon, "interfaces named in another namespace (interface_namespace)",
                 both + f"filters: {{interface_namespace: /run/netns/{NS_B}, interfaces: [lo]}}\n",
                 everything, {(c, "lo"): True, (a, None): False, (b, None): False})
        run_case(args.daemon, "interface filter",
                 both + "filters: {interfaces: [nstl-f0]}\n", everything,
                 {(b, "nstl-f0"): True, (a, None): False, (c, None): False})
        # netif-receive runs before the core receive path sets skb_iif:
        # its interface is the receiving device's.
        none = "unknown_cgroup_id:0"
        run_case(args.daemon, "netif-receive grouped by interface", both, udp_datagrams,
                 {(none, "lo"): True, (none, "nstl-f0"): True}, hook="netif-receive")
        run_case(args.daemon, "netif-receive, interface filter",
                 both + "filters: {interfaces: [nstl-f0]}\n", udp_datagrams,
                 {(none, "nstl-f0"): True, (none, "lo"): False}, hook="netif-receive")
        run_case(args.daemon, "cgroup filter",
                 both + f"filters: {{cgroups: [{b}]}}\n", lambda: (lo(), veth()),
                 {(b, None): True, (a, None): False})
        reload_case(args.daemon, lo, veth, a, b)
        map_full_case(args.daemon, lambda: (everything(), spread_reads()))
        run_case(args.daemon, "pid filter",
                 both + f"filters: {{pids: [{recv_lo.proc.pid}]}}\n", lambda: (lo(), veth()),
                 {(a, None): True, (b, None): False})
    finally:
        for r in (recv_lo, recv_veth, recv_nsb):
            r.stop()
        teardown()
        for cg in "abc":
            try:
                os.rmdir(cgroup_dir(cg))
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
