#!/usr/bin/env python3
"""Exact counts: a known number of packets of each traffic class must give
exactly that many samples at each hook that sees them.

Traffic runs inside a receiving namespace the test creates (nstl-cnt-b),
over its loopback and over a veth pair from a sending namespace
(nstl-cnt-a); the daemon runs in the host's namespace with its namespace
filter on the receiver's, so nothing else is counted (not even its own
scrapes). For each cell (class x IPv4/IPv6 x lo/veth) the test takes the
histogram's _count per hook and the receiver namespace's own kernel
counters (interface RX packets, Ip/Ip6 InReceives, Tcp InSegs, Udp/Udp6
InDatagrams) before and after, and compares each hook's growth with what
that hook must see:

  netif-receive   every packet the receiver's interfaces took in (RX
                  packets), less TCP segments: they carry the sender's
                  delivery time (EDT, CLOCK_MONOTONIC) until IP's local
                  delivery, so they hold no RX timestamp yet (bounds for TCP)
  ip-start        Ip + Ip6 InReceives (fragments each), less TCP as above
  udp-start       Udp + Udp6 InDatagrams (reassembled datagrams)
  tcp-start       fentry: Tcp InSegs; tracepoint tcp_probe: segments of
                  established connections only, so within [data
                  segments, InSegs]
  *-enqueued      UDP: datagrams read; TCP: data segments queued (one per
                  message in ping-pong) plus the FIN each closing peer sends
  *-socket-read   UDP: datagrams read (fentry); through the tracepoint only
                  paged datagrams whose checksum was checked before the
                  read are seen (linear ones, and reassembled fragments
                  checksummed while copied, are copied without it; see the
                  README), TCP: reads that returned data (ping-pong: one
                  segment per read)

TCP ping-pong (a 1 KB message, a 1-byte answer, repeated) makes segments
and reads countable; TCP bulk gives bounds only (how the kernel splits and
coalesces a stream is its own business).

  exact_counts_test.py --daemon PATH [--senders N] [--cpu-hog] [--refuse-fentry LOADER]

--refuse-fentry LOADER makes the kernel refuse fentry/fexit loads first
(tests/e2e/refuse_fentry.cpp, a BPF-LSM program; the guest needs lsm=bpf),
so the four hooks that have a tracepoint count there, with the paths the
tracepoint programs take on that kernel.

--senders runs N sender/receiver pairs at once per cell; --cpu-hog adds a
CPU-bound process on every CPU (the PREEMPT_RT case: preempted per-CPU
increments would lose counts).

Exit codes: 0 pass, 1 fail, 77 skipped (never under CI=true).
"""
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

NS_A, NS_B = "nstl-cnt-a", "nstl-cnt-b"
DEV_A, DEV_B = "nstlc-a", "nstlc-b"
ADDR = {"v4": ("10.198.0.1", "10.198.0.2"), "v6": ("fd00:198::1", "fd00:198::2")}
LOOP = {"v4": "127.0.0.1", "v6": "::1"}
# class -> (protocol, message bytes, messages per sender)
CLASSES = {
    "udp-small": ("udp", 64, 400),
    "udp-paged": ("udp", 32000, 150),  # paged on lo, 22 fragments on veth
    "tcp-pingpong": ("tcp", 1024, 300),
    "tcp-bulk": ("tcp", 65536, 200),
}
# The hooks that have a tracepoint, where fentry/fexit cannot be used.
TRACEPOINT_HOOKS = ("tcp-start", "tcp-socket-read", "udp-socket-read", "netif-receive")
HERE = os.path.abspath(__file__)
SO_TIMESTAMPNS = 35  # asm-generic/socket.h; not in every Python's socket module


# --- the peers (run inside the namespaces through `ip netns exec`) ----------

def family(addr):
    return socket.getaddrinfo(addr, None)[0][0]


def peer_recv(proto, addr, port, size, count):
    """Prints 'ready', then the number of reads that returned data."""
    reads = 0
    if proto == "udp":
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, 33, 1 << 25)  # SO_RCVBUFFORCE: no drops
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.bind((addr, port))
        print("ready", flush=True)
        # A datagram lost on the way (a fragment dropped under load) must
        # not hang the test: the counts are compared with what was read.
        # The first one may take long (the sender is a new process).
        try:
            for _ in range(count):
                if len(s.recv(1 << 16)) != size:
                    raise SystemExit("short datagram")
                reads += 1
                s.settimeout(20)
        except socket.timeout:
            pass
    else:
        srv = socket.create_server((addr, port), family=family(addr), backlog=1)
        print("ready", flush=True)
        conn, _ = srv.accept()
        # fentry's tcp-socket-read runs only for sockets that ask for
        # timestamps (tcp_recv_timestamp()); the tracepoint sees all reads.
        conn.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        pingpong = size < 65536
        while True:
            got = 0
            while got < size:
                data = conn.recv(1 << 20)
                if not data:
                    break
                reads += 1
                got += len(data)
            if got == 0:
                break
            if pingpong:
                conn.sendall(b"k")
        conn.close()
    print(reads, flush=True)


def peer_send(proto, addr, port, size, count):
    """Prints the number of reads that returned data (the answers)."""
    payload = b"n" * size
    reads = 0
    if proto == "udp":
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        # Paced: the reader's buffer is large, but a veth's backlog holds
        # 1000 packets and a 32 KB datagram is 22 fragments there.
        every = 16 if size < 1500 else 2
        for i in range(count):
            s.sendto(payload, (addr, port))
            if i % every == every - 1:
                time.sleep(0.001)
    else:
        s = socket.create_connection((addr, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        pingpong = size < 65536
        for _ in range(count):
            s.sendall(payload)
            if pingpong:
                if s.recv(1) != b"k":
                    raise SystemExit("no answer")
                reads += 1
        s.shutdown(socket.SHUT_WR)
        while s.recv(1 << 16):  # until the receiver's FIN
            pass
    s.close()
    print(reads, flush=True)


def peer_tun(name, count):
    """A tun device reader (a VPN's, say) in its namespace: prints 'ready'
    once the device exists, then the number of packets it read."""
    import fcntl
    import struct
    fd = os.open("/dev/net/tun", os.O_RDWR)
    tunsetiff, iff_tun, iff_no_pi = 0x400454CA, 0x0001, 0x1000
    fcntl.ioctl(fd, tunsetiff, struct.pack("16sH", name.encode(), iff_tun | iff_no_pi))
    print("ready", flush=True)
    reads = 0
    os.set_blocking(fd, False)
    deadline = time.time() + 30
    while reads < count and time.time() < deadline:
        try:
            os.read(fd, 65536)
            reads += 1
        except BlockingIOError:
            time.sleep(0.001)
    print(reads, flush=True)


def peer_raw(count):
    """Raw IPv4 sockets for TCP and UDP (a packet capture's, or a user
    space protocol stack's): prints 'ready', then the packets they read."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
             for proto in (socket.IPPROTO_TCP, socket.IPPROTO_UDP)]
    for s in socks:
        s.setblocking(False)
    print("ready", flush=True)
    reads = 0
    deadline = time.time() + 30
    while reads < count and time.time() < deadline:
        idle = True
        for s in socks:
            try:
                s.recv(65536)
                reads += 1
                idle = False
            except BlockingIOError:
                pass
        if idle:
            time.sleep(0.001)
    print(reads, flush=True)


def cpu_hog():
    while True:
        pass


# --- the namespaces and their counters --------------------------------------

def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True, text=True)


def in_ns(ns, *argv):
    return ["ip", "netns", "exec", ns, *argv]


def setup():
    teardown()
    for ns in (NS_A, NS_B):
        sh("ip", "netns", "add", ns)
        # No router solicitations and no addresses of its own on links:
        # the only packets are the test's (the counters must be exact).
        for key, value in (("net.ipv6.conf.default.addr_gen_mode", "1"),
                           ("net.ipv6.conf.all.router_solicitations", "0"),
                           ("net.ipv6.conf.default.router_solicitations", "0")):
            sh(*in_ns(ns, "sysctl", "-qw", f"{key}={value}"))
        sh(*in_ns(ns, "ip", "link", "set", "lo", "up"))
    sh("ip", "link", "add", DEV_A, "netns", NS_A, "type", "veth",
       "peer", "name", DEV_B, "netns", NS_B)
    macs = {}
    for ns, dev in ((NS_A, DEV_A), (NS_B, DEV_B)):
        out = subprocess.run(in_ns(ns, "cat", f"/sys/class/net/{dev}/address"),
                             capture_output=True, text=True, check=True).stdout
        macs[ns] = out.strip()
    for i, (ns, dev, peer) in enumerate(((NS_A, DEV_A, NS_B), (NS_B, DEV_B, NS_A))):
        for fam in ("v4", "v6"):
            addr, peer_addr = ADDR[fam][i], ADDR[fam][1 - i]
            plen = "24" if fam == "v4" else "64"
            extra = ["nodad"] if fam == "v6" else []
            sh(*in_ns(ns, "ip", "addr", "add", f"{addr}/{plen}", "dev", dev, *extra))
            # Static neighbours: no ARP or neighbour discovery mid-cell.
            sh(*in_ns(ns, "ip", "neigh", "replace", peer_addr, "lladdr", macs[peer],
                      "dev", dev, "nud", "permanent"))
        sh(*in_ns(ns, "ip", "link", "set", dev, "up"))


def teardown():
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def ns_counters(ns):
    """The receiver namespace's packet counters (its own /proc/net)."""
    def read(path):
        return subprocess.run(in_ns(ns, "cat", path), capture_output=True, text=True,
                              check=True).stdout
    c = {"rx": 0}
    for line in read("/proc/net/dev").splitlines()[2:]:
        c["rx"] += int(line.split(":", 1)[1].split()[1])
    lines = read("/proc/net/snmp").splitlines()
    for head, vals in zip(lines[::2], lines[1::2]):
        proto = head.split(":")[0]
        for k, v in zip(head.split()[1:], vals.split()[1:]):
            c[f"{proto}{k}"] = int(v)
    for line in read("/proc/net/snmp6").splitlines():
        k, v = line.split()
        c[k] = int(v)
    return c


def hook_counts(port):
    """hook -> samples counted, or not counted for a reason the exporter
    reports: a timestamp from the future (two CPUs' clocks apart) or a run
    the kernel skipped (a program preempted on PREEMPT_RT); each packet a
    hook's attach point saw is in exactly one of them.
    hook -> (future, missed); hook -> attach points."""
    samples = harness.parse(harness.scrape(port))
    points = {l["hook"]: l["attach_point"] for n, l, v in samples
              if n == "netstacklat_exporter_hook_attached" and v == 1}
    future = harness.values(samples, "netstacklat_exporter_future_timestamps_total", "hook")
    missed = harness.values(samples, "netstacklat_exporter_missed_runs_total", "hook")
    counts = harness.by_hook(samples, "_count")
    seen = {h: counts.get(h, 0) + future.get(h, 0) + missed.get(h, 0) for h in points}
    return seen, {h: (future.get(h, 0), missed.get(h, 0)) for h in points}, points


# --- one cell ----------------------------------------------------------------

def run_peers(cls, fam, path, senders, base_port):
    proto, size, count = CLASSES[cls]
    if path == "lo":
        rx_ns, tx_ns, addr = NS_B, NS_B, LOOP[fam]
    else:
        rx_ns, tx_ns, addr = NS_B, NS_A, ADDR[fam][1]
    peer = lambda ns, role, port: subprocess.Popen(
        in_ns(ns, sys.executable, HERE, "--peer", role, proto, addr, str(port), str(size),
              str(count)), stdout=subprocess.PIPE, text=True)
    receivers = [peer(rx_ns, "recv", base_port + i) for i in range(senders)]
    for r in receivers:
        if r.stdout.readline().strip() != "ready":
            raise harness.Failure(f"{cls} receiver did not start")
    senders_p = [peer(tx_ns, "send", base_port + i) for i in range(senders)]
    result = {"reads": 0, "answers": 0, "messages": count * senders}
    for role, procs in (("answers", senders_p), ("reads", receivers)):
        for p in procs:
            out, _ = p.communicate(timeout=120)
            if p.returncode != 0:
                raise harness.Failure(f"{cls} {role} peer failed ({p.returncode})")
            result[role] += int(out.split()[-1])
    return result


def expectations(cls, path, points, peers, d):
    """hook -> (low, high, why) for this cell; d: counter deltas."""
    proto, size, _ = CLASSES[cls]
    tcp = proto == "tcp"
    pingpong = cls == "tcp-pingpong"
    tcp_in = d["TcpInSegs"] if tcp else 0
    ip_in = d["IpInReceives"] + d["Ip6InReceives"]
    lo = path == "lo"
    # Data segments B's sockets take in, and FINs (each closing peer in B's
    # view: on lo both ends are B's).
    data_segs = peers["messages"] + (peers["answers"] if lo else 0)
    fins = peers["messages"] // CLASSES[cls][2] * (2 if lo else 1)
    reads = peers["reads"] + (peers["answers"] if lo else 0)
    exp = {}
    exp["netif-receive"] = (d["rx"] - tcp_in, d["rx"], "RX packets, less TCP (delivery time)")
    exp["ip-start"] = (ip_in - tcp_in, ip_in, "Ip+Ip6 InReceives, less TCP (delivery time)")
    udp_in = sum(d[f"{p}{k}"] for p in ("Udp", "Udp6") for k in ("InDatagrams", "NoPorts", "InErrors"))
    exp["udp-start"] = (udp_in, udp_in, "Udp+Udp6 InDatagrams + NoPorts + InErrors")
    if points.get("tcp-start", "").startswith("tp_btf/"):
        exp["tcp-start"] = (data_segs if pingpong else 1, tcp_in,
                            "tcp_probe: established segments, within [data, InSegs]")
    else:
        exp["tcp-start"] = (tcp_in, tcp_in, "Tcp InSegs")
    if pingpong:
        exp["tcp-socket-enqueued"] = (data_segs + fins,) * 2 + ("data segments + FINs",)
        exp["tcp-socket-read"] = (reads, reads, "reads that returned data")
    elif tcp:
        exp["tcp-socket-enqueued"] = (1, tcp_in, "bulk: within [1, InSegs]")
        exp["tcp-socket-read"] = (reads if points.get("tcp-socket-read", "").startswith(
            "tp_btf/") else 1, reads + tcp_in, "bulk: reads, within skbs copied")
    else:
        exp["tcp-socket-enqueued"] = exp["tcp-socket-read"] = (0, 0, "no TCP")
        exp["tcp-start"] = (0, 0, "no TCP")
    if tcp:
        exp["udp-start"] = exp["udp-socket-enqueued"] = exp["udp-socket-read"] = (0, 0, "no UDP")
    else:
        exp["udp-socket-enqueued"] = (reads, reads, "datagrams read")
        if points.get("udp-socket-read", "").startswith("tp_btf/") and size < 16384:
            exp["udp-socket-read"] = (0, 0, "tracepoint: linear datagrams are not seen")
        elif points.get("udp-socket-read", "").startswith("tp_btf/") and not lo:
            # 22 fragments reassembled: the checksum is verified while copying.
            exp["udp-socket-read"] = (0, 0, "tracepoint: checksummed while copied, not seen")
        else:
            exp["udp-socket-read"] = (reads, reads, "datagrams read")
    return exp


def run_cell(port, cls, fam, path, senders, base_port, totals):
    name = f"{path}-{fam}-{cls}"
    c0, f0, points = hook_counts(port)
    k0 = ns_counters(NS_B)
    peers = run_peers(cls, fam, path, senders, base_port)
    time.sleep(0.3)  # the last ACKs and FINs
    k1 = ns_counters(NS_B)
    c1, f1, _ = hook_counts(port)
    d = {k: k1[k] - k0.get(k, 0) for k in k1}
    if CLASSES[cls][0] == "udp" and peers["reads"] != peers["messages"]:
        harness.log(f"{name}: {peers['reads']} of {peers['messages']} datagrams arrived "
                    f"(fragments lost under load); counts are compared with what was read")
    failures = []
    line = []
    for hook, (low, high, why) in sorted(expectations(cls, path, points, peers, d).items()):
        if hook not in points:
            continue
        seen = int(c1.get(hook, 0) - c0.get(hook, 0))
        future = int(f1[hook][0] - f0[hook][0])
        missed = int(f1[hook][1] - f0[hook][1])
        # A skipped run is the program's, whichever namespace the packet
        # was in: the lost samples of this hook are at most that many.
        counted = seen - missed
        want = str(low) if low == high else f"[{low}, {high}]"
        good = counted <= high and low <= seen  # counted: in the histogram, or future
        line.append(f"{hook}={counted - future}" + (f" (+{future} future)" if future else "") +
                    (f" (+{missed} missed)" if missed else "") + ("" if good else f" (want {want})"))
        totals[hook] = [a + b for a, b in zip(totals.get(hook, [0, 0, 0]), (seen, future, missed))]
        if not good:
            failures.append(f"{hook}: {counted - future} counted (+{future} future, +{missed} missed), "
                            f"want {want} ({why})")
    harness.log(f"{name}: " + ", ".join(line))
    return failures, d


TUN = "nstlc-tun"
TUN_NET = "10.197.0"


def foreign_reads(port, reader, addr, ports, n, what):
    """Sends n UDP datagrams and n TCP SYNs from A to addr (ports: UDP's,
    TCP's), which only `reader` (a process in B that prints the packets it
    read) reads; the socket-read hooks must not count its reads. Returns
    how much each hook grew."""
    c0, _, points = hook_counts(port)
    sender = ("import socket\n"
              f"u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              f"for i in range({n}):\n"
              f"    u.sendto(b'v' * 100, ('{addr}', {ports[0]}))\n"
              f"    t = socket.socket(); t.setblocking(False)\n"
              f"    t.connect_ex(('{addr}', {ports[1]})); t.close()\n")
    subprocess.run(in_ns(NS_A, sys.executable, "-c", sender), check=True)
    out, _ = reader.communicate(timeout=60)
    read = int(out.split()[-1])
    time.sleep(0.3)
    c1, _, _ = hook_counts(port)
    grew = {h: int(c1.get(h, 0) - c0.get(h, 0)) for h in points}
    harness.log(f"{what}: {read} packets read; hooks grew: {grew}")
    harness.check(read >= n, f"{what}: the UDP datagrams and TCP SYNs were read ({read})")
    for hook in ("tcp-socket-read", "udp-socket-read"):
        if hook in points:
            harness.check(grew[hook] == 0, f"{hook}: the {what}'s reads are not socket reads of "
                          f"that protocol ({grew[hook]} counted)")
    return grew


def tun_case(port):
    """Packets redirected into a tun device (tc mirred, as a VPN or a
    traffic mirror does; unlike forwarding, it keeps their RX timestamps)
    and read by its reader go through skb_copy_datagram_iter like a
    socket's data, but no socket reads them: the socket-read hooks must not
    count them (the sk-less skb's IP protocol byte says TCP or UDP; its
    data starts at its IP header)."""
    n = 200
    reader = subprocess.Popen(in_ns(NS_B, sys.executable, HERE, "--tun", TUN, str(2 * n)),
                              stdout=subprocess.PIPE, text=True)
    if reader.stdout.readline().strip() != "ready":
        raise harness.Failure("the tun reader did not start")
    sh(*in_ns(NS_B, "ip", "addr", "add", f"{TUN_NET}.1/24", "dev", TUN))
    sh(*in_ns(NS_B, "ip", "link", "set", TUN, "up"))
    sh(*in_ns(NS_A, "ip", "route", "replace", f"{TUN_NET}.0/24", "via", ADDR["v4"][1]))
    sh(*in_ns(NS_B, "tc", "qdisc", "add", "dev", DEV_B, "ingress"))
    sh(*in_ns(NS_B, "tc", "filter", "add", "dev", DEV_B, "ingress", "protocol", "ip", "u32",
              "match", "ip", "dst", f"{TUN_NET}.0/24", "action", "mirred", "egress",
              "redirect", "dev", TUN))
    # From A, through B, into the tunnel: UDP datagrams and TCP SYNs.
    grew = foreign_reads(port, reader, f"{TUN_NET}.2", (7000, 7001), n, "tun reader")
    # (The SYNs still carry the sender's delivery time there.)
    harness.check(grew.get("netif-receive", 0) >= n,
                  f"netif-receive saw the datagrams arrive ({grew.get('netif-receive', 0)})")


def learned_tcp_prots(daemon_pid):
    """The struct proto pointers the daemon's socket-read program has
    learned as TCP's (its .data.tcp_prots map): the non-zero slots."""
    ours = [m["id"] for m in harness.daemon_maps(daemon_pid)
            if m.get("name") == ".data.tcp_prots"]
    if len(ours) != 1:
        raise harness.Failure(f"the daemon holds {len(ours)} .data.tcp_prots maps, not one")
    dump = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "id", str(ours[0])],
                                     check=True, capture_output=True, text=True).stdout)
    slots = dump[0]["formatted"]["value"][".data.tcp_prots"][0]["tcp_prots"]
    return {p for p in slots if p}


def raw_case(port, daemon_pid, points):
    """Raw sockets opened for IPPROTO_TCP and IPPROTO_UDP get a copy of
    every TCP segment and UDP datagram their namespace receives, and their
    reads copy those skbs like a socket's data: they are neither TCP nor
    UDP reads and the socket-read hooks must not count them (the socket is
    an inet socket of that protocol, but not a stream or datagram one).
    Where reads are seen at the copy tracepoint, the program tells TCP by
    the struct proto pointers it learned from TCP reads (tcp_prots[]; the
    TCP cells' and this test's own scrapes teach it, in any order of
    cases), and the raw sockets' reads must teach it nothing."""
    n = 200
    at_tracepoint = "skb_copy_datagram" in points.get("tcp-socket-read", "")
    learned = learned_tcp_prots(daemon_pid) if at_tracepoint else set()
    if at_tracepoint:
        harness.check(learned, f"TCP reads taught the socket-read program TCP's struct "
                      f"proto before the raw sockets read ({len(learned)} learned)")
    reader = subprocess.Popen(in_ns(NS_B, sys.executable, HERE, "--raw", str(2 * n)),
                              stdout=subprocess.PIPE, text=True)
    if reader.stdout.readline().strip() != "ready":
        raise harness.Failure("the raw socket reader did not start")
    # To ports nobody listens on: only the raw sockets read them.
    foreign_reads(port, reader, ADDR["v4"][1], (7002, 7003), n, "raw socket reader")
    if at_tracepoint:
        now = learned_tcp_prots(daemon_pid)
        harness.check(now == learned, f"the raw sockets' reads taught the program no struct "
                      f"proto as TCP's ({sorted(map(hex, now - learned))} added)")


def run(args):
    hogs = []
    proc = None
    refusal = None
    setup()
    try:
        if args.refuse_fentry:
            refusal = harness.start_refusal(args.refuse_fentry)
        cfg = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"nstl-counts-{os.getpid()}.yaml")
        with open(cfg, "w") as f:
            f.write(f"filters: {{network_namespace: /run/netns/{NS_B}}}\n"
                    f"histogram: {{atomic_increments: {args.atomic_increments}}}\n")
        port = harness.free_port()
        proc = harness.start_daemon(args.daemon, port, 60, extra=[f"--config.file={cfg}"])
        os.unlink(cfg)
        _, _, points = hook_counts(port)
        harness.log("attached: " + ", ".join(f"{h} ({p})" for h, p in sorted(points.items())))
        if refusal:
            harness.check(set(points) == set(TRACEPOINT_HOOKS),
                          f"with fentry refused, the hooks with a tracepoint attached "
                          f"({', '.join(sorted(points))})")
            harness.check_fell_back(points, TRACEPOINT_HOOKS, refusal)
        if args.cpu_hog:
            hogs = [multiprocessing.Process(target=cpu_hog, daemon=True)
                    for _ in range(os.cpu_count())]
            for h in hogs:
                h.start()
            harness.log(f"{len(hogs)} CPU-bound processes compete")
        failures = []
        totals = {}  # hook -> [seen, of which future, of which missed]
        base = 20000
        for path in ("lo", "veth"):
            for fam in ("v4", "v6"):
                if fam == "v6" and not harness.have_ipv6():
                    harness.skip("IPv6 is disabled on this machine")
                for cls in args.classes.split(","):
                    f, _ = run_cell(port, cls, fam, path, args.senders, base, totals)
                    base += args.senders
                    failures += [f"{path}-{fam}-{cls}: {x}" for x in f]
        if args.tun:
            tun_case(port)
            raw_case(port, proc.pid, points)
        for hook, (seen, future, missed) in sorted(totals.items()):
            harness.log(f"total {hook}: {seen - future - missed} counted, {future} not counted "
                        f"for a future timestamp, {missed} runs skipped by the kernel")
        for f in failures:
            harness.log("MISMATCH " + f)
        harness.check(not failures, f"every hook counted exactly what it must see "
                      f"({len(failures)} mismatches)")
    finally:
        if refusal and refusal.poll() is None:
            refusal.kill()
        for h in hogs:
            h.terminate()
        if proc:
            proc.terminate()
            proc.wait(timeout=20)
            harness.log("daemon log:\n" + proc.stdout.read())
        teardown()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--raw":
        peer_raw(int(sys.argv[2]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--tun":
        peer_tun(sys.argv[2], int(sys.argv[3]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--peer":
        role, proto, addr, port, size, count = sys.argv[2:8]
        fn = peer_recv if role == "recv" else peer_send
        fn(proto, addr, int(port), int(size), int(count))
        return 0
    return harness.root_test_main(__doc__, run, [
        ("--senders", dict(type=int, default=1)),
        ("--cpu-hog", dict(action="store_true")),
        ("--classes", dict(default=",".join(CLASSES))),
        ("--no-tun", dict(dest="tun", action="store_false",
                          help="leave out the tun and raw socket reader cases")),
        ("--refuse-fentry", dict(metavar="LOADER",
                                 help="nstl-refuse-fentry: refuse every fentry/fexit load, so "
                                      "the hooks with a tracepoint count there (needs lsm=bpf)")),
        ("--atomic-increments", dict(default="auto", choices=("auto", "true", "false"),
                                     help="the daemon's histogram.atomic_increments"))],
        needs="needs root (BPF, network namespaces)", tools=("bpftool",))


if __name__ == "__main__":
    sys.exit(main())
