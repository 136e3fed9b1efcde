#!/usr/bin/env python3
"""Names the host hands the daemon, chosen as an attacker would: any local
user names its process (/proc/thread-self/comm) and, with a delegated
cgroup, its cgroups; interfaces take most bytes too. Here a reader running
as nobody, named with bytes that are not UTF-8, an escape sequence, a quote
and a backslash, sits in a cgroup named likewise and reads TCP that arrives
over a veth whose name is likewise (its peer in a network namespace the
test creates). The first read of each connection waits 0.3 s, so the
process is the slowest of every interval and its name is the exemplar's.

With grouping by cgroup and interface:
  - text, OpenMetrics and protobuf scrapes are valid UTF-8 and carry the
    names with U+FFFD where their bytes were not UTF-8 (what Python's
    errors="replace" makes of them), escaped as each format requires;
    OpenMetrics parses with prometheus_client's strict parser;
  - two real Prometheus 2.42 (classic with exemplar storage, and native
    histograms, which scrapes protobuf) scrape every second throughout:
    `up` is 1 at every scrape, the cgroup's series is stored under its
    label, and the stored exemplar names the process;
  - --report-once prints the names with their control bytes escaped: no
    escape byte reaches the terminal.
Exit 0 pass, 1 fail, 77 skipped (never under CI=true)."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import harness

COMM = b'\xff\xfe"\\\x1b[2Jq'  # 10 of comm's 15 bytes
CGROUP = b'nstl-h\xff\xfe\x1b[31m"\\\xc3('
IFACE = b'nh\xff\xfe\x1b"\\'  # an interface name: < 16 bytes, no '/', ':' or space
PEER = "nstl-hp"
NS = "nstl-hostile"
HOST_ADDR, NS_ADDR = "10.199.0.1", "10.199.0.2"
DELAY = 0.3
HOOK = "tcp-socket-read"
OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
PROTOBUF = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=delimited")

READER = r"""
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
sys.stdin.readline()  # go: the test has put us in the cgroup
with open("/proc/thread-self/comm", "wb") as f:
    f.write(bytes.fromhex(sys.argv[2]))
while True:
    c, _ = s.accept()
    time.sleep(float(sys.argv[3]))  # the slowest read of its interval
    while c.recv(65536):
        pass
    c.close()
"""
SENDER = """
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for _ in range(20):
    c.sendall(b"x" * 100)
    time.sleep(0.002)
c.close()
"""


def valid(raw):
    """What the daemon must make of bytes that may not be UTF-8."""
    return raw.decode("utf-8", "replace")


def printable(raw):
    """What the terminal report must print of them."""
    out = ""
    for ch in valid(raw):
        cp = ord(ch)
        if ch == "\\":
            out += "\\\\"
        elif cp < 0x20 or 0x7f <= cp <= 0x9f:
            out += f"\\x{cp:02x}"
        else:
            out += ch
    return out


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def cgroup_path():
    return os.path.join(harness.cgroup2_root().encode(), CGROUP)


def setup():
    teardown()
    sh("ip", "netns", "add", NS)
    sh("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up")
    sh(b"ip", b"link", b"add", IFACE, b"type", b"veth", b"peer", b"name", PEER.encode(),
       b"netns", NS.encode())
    sh(b"ip", b"addr", b"add", f"{HOST_ADDR}/24".encode(), b"dev", IFACE)
    sh(b"ip", b"link", b"set", IFACE, b"up")
    sh("ip", "netns", "exec", NS, "ip", "addr", "add", f"{NS_ADDR}/24", "dev", PEER)
    sh("ip", "netns", "exec", NS, "ip", "link", "set", PEER, "up")
    os.makedirs(cgroup_path(), exist_ok=True)


def teardown():
    subprocess.run([b"ip", b"link", b"del", IFACE], capture_output=True)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    try:
        os.rmdir(cgroup_path())
    except OSError:
        pass


class Reader:
    """The hostile reader: nobody, in the hostile cgroup, named COMM."""

    def __init__(self):
        self.proc = subprocess.Popen(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, "-c", READER, HOST_ADDR, COMM.hex(), str(DELAY)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        with open(os.path.join(cgroup_path(), b"cgroup.procs"), "w") as f:
            f.write(str(self.proc.pid))
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def connection(self):
        """One connection from the namespace, over the hostile veth."""
        subprocess.run(["ip", "netns", "exec", NS, sys.executable, "-c", SENDER, HOST_ADDR,
                        str(self.port)], check=True, timeout=30)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def get(port, accept):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def unescape(value):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def hostile_series(text):
    """{iface: count} of the hook's series whose cgroup ends with the hostile name."""
    out = {}
    for name, labels, v in harness.parse(text):
        labels = {k: unescape(x) for k, x in labels.items()}
        if (name == harness.HIST + "_count" and labels["hook"] == HOOK and
                labels["cgroup"].endswith("/" + valid(CGROUP))):
            out[labels["iface"]] = v
    return out


def check_utf8(body, what):
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise harness.Failure(f"{what} is not UTF-8: {err} near "
                              f"{body[max(0, err.start - 40):err.end + 20]!r}")
    harness.check(True, f"{what} is valid UTF-8 ({len(body)} bytes)")
    return text


def check_scrapes(port, reader):
    text = check_utf8(get(port, "text/plain"), "the text scrape")
    series = hostile_series(text)
    # At least one read per connection: TCP coalesces the segments that
    # wait in the queue while the reader sleeps, so fewer skbs than sends.
    harness.check(series.get(valid(IFACE), 0) >= 5,
                  f"the hostile cgroup's {HOOK} series over the hostile veth is served under "
                  f"the names made valid ({series})")
    harness.check_promtool(text)

    from prometheus_client.openmetrics import parser
    for attempt in range(5):
        # A read, then an exemplar interval's end after it (the two
        # Prometheus end them too, at most once a second).
        reader.connection()
        time.sleep(DELAY + 1.2)
        om = check_utf8(get(port, OPENMETRICS), "the OpenMetrics scrape")
        exemplars = [s.exemplar.labels for f in parser.text_string_to_metric_families(om)
                     for s in f.samples if s.exemplar and s.labels.get("hook") == HOOK]
        if any(e.get("comm") == valid(COMM) for e in exemplars):
            break
    harness.check(any(e.get("comm") == valid(COMM) and e.get("iface") == valid(IFACE)
                      for e in exemplars),
                  f"it parses as OpenMetrics (prometheus_client) and the {HOOK} exemplar names "
                  f"the process and interface made valid ({exemplars})")

    pb = get(port, PROTOBUF)
    harness.check(COMM not in pb and IFACE not in pb and CGROUP not in pb and
                  valid(CGROUP).encode() in pb and valid(IFACE).encode() in pb,
                  "the protobuf answer carries the names made valid, never their raw bytes")


def start_prometheus(workdir, port, kind, extra):
    d = os.path.join(workdir, kind)
    os.makedirs(d)
    prom_port = harness.free_port()
    return harness.start_prometheus(d, prom_port, port, extra=extra), prom_port


def scrapes(prom_port, fn="count"):
    job = f'job="{harness.JOB}"'
    r = harness.api(prom_port, "query", query=f"{fn}_over_time(up{{{job}}}[5m])")["result"]
    return float(r[0]["value"][1]) if r else 0


def check_prometheus(prom_port, kind):
    """Two more scrapes than now, so some came after the hostile reads."""
    n = scrapes(prom_port)
    harness.wait_for_scrapes(prom_port, n + 2)
    errors = {t["lastError"] for t in harness.api(prom_port, "targets")["activeTargets"]}
    harness.check(scrapes(prom_port, "min") == 1,
                  f"{kind} Prometheus: up was 1 at every one of its {scrapes(prom_port):.0f} "
                  f"scrapes (last error: {errors})")


def check_stored(prom_port):
    query = f'{harness.HIST}_count{{hook="{HOOK}",cgroup=~".*/nstl-h.*"}}'
    found = harness.api(prom_port, "query", query=query)["result"]
    labels = [r["metric"] for r in found]
    harness.check(any(l["cgroup"].endswith("/" + valid(CGROUP)) and l["iface"] == valid(IFACE)
                      for l in labels), f"classic Prometheus stored the series as {labels}")
    now = time.time()
    data = harness.api(prom_port, "query_exemplars",
                       query=f'{harness.HIST}_bucket{{hook="{HOOK}"}}', start=now - 300,
                       end=now + 5)
    comms = {e["labels"].get("comm") for s in data for e in s["exemplars"]}
    # Prometheus 2.42 stores exemplar label values as they were on the wire,
    # escapes and all (its series labels are unescaped): either form names
    # the process, and an invalid byte in either would have failed the scrape.
    wire = valid(COMM).replace("\\", "\\\\").replace('"', '\\"')
    harness.check(valid(COMM) in comms or wire in comms,
                  f"and its exemplar names the process ({comms})")


def check_report(daemon, config, reader):
    report = subprocess.Popen([daemon, "--report-once", "3", f"--config.file={config}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in report.stderr:
        if b"reporting the next" in line:
            break
    reader.connection()
    out, _ = report.communicate(timeout=30)
    harness.log(out.decode("utf-8", "backslashreplace"))
    harness.check(report.returncode == 0, "--report-once exited 0")
    text = check_utf8(out, "the report")
    harness.check("\x1b" not in text and "\x9b" not in text, "no escape byte reaches the terminal")
    harness.check("comm=" + printable(COMM) in text and "/" + printable(CGROUP) in text and
                  "iface=" + printable(IFACE) in text,
                  "it shows the process, cgroup and interface with their control bytes escaped")


def run(args):
    with tempfile.TemporaryDirectory(prefix="nstl-host-names-") as workdir:
        config = os.path.join(workdir, "config.yaml")
        with open(config, "w") as f:
            f.write("grouping: {by_interface: true, by_cgroup: true}\n"
                    "histogram: {exemplar_interval_seconds: 1, "
                    f"exemplar_labels: {harness.ALL_EXEMPLAR_LABELS}}}\n")
        setup()
        reader = Reader()
        port = harness.free_port()
        daemon = harness.start_daemon(args.daemon, port, 60, extra=[f"--config.file={config}"])
        proms = []
        try:
            classic, classic_port = start_prometheus(
                workdir, port, "classic", ["--enable-feature=exemplar-storage"])
            proms.append(classic)
            native, native_port = start_prometheus(
                workdir, port, "native", ["--enable-feature=native-histograms"])
            proms.append(native)
            harness.wait_for_scrapes(classic_port, 1)
            harness.wait_for_scrapes(native_port, 1)
            for _ in range(5):  # over several exemplar intervals
                reader.connection()
                time.sleep(0.5)
            check_prometheus(classic_port, "classic")
            check_prometheus(native_port, "native-histogram")
            check_scrapes(port, reader)
            check_stored(classic_port)
            check_report(args.daemon, config, reader)
        finally:
            for p in proms:
                p.terminate()
                p.wait(timeout=30)
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=20)
            reader.stop()
            teardown()


def main():
    return harness.root_test_main(__doc__, run, tools=("prometheus", "promtool", "setpriv"))


if __name__ == "__main__":
    sys.exit(main())
