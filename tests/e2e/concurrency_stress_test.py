#!/usr/bin/env python3
"""Every thread of the daemon at once, against what comes and goes on the
host, for a ThreadSanitizer build (tests/CMakeLists.txt: tsan_stress_host
builds the daemon with clang -fsanitize=thread and runs this with --tsan).

For --seconds (default 30), all at the same time:
  - SIGHUP every 5 ms (the main thread reloads: the cgroup filter's
    children are walked again each time);
  - two scrapers over TLS, each cycling text, OpenMetrics (each ends an
    exemplar interval), protobuf, gzip and HEAD;
  - cgroups created, a reader moved in, one TCP read there (an id the
    daemon has not seen: its scrape path looks it up), moved out, removed;
  - veth pairs created (peer in a test namespace), one UDP datagram over
    each, removed;
  - the certificate and key rotated on disk every 0.3 s (re-read on the
    next handshake and on SIGHUP);
  - the running report (--report-interval=1) on its own thread.
Then SIGTERM. The daemon must have answered every scrape with 200, reloaded
successfully, printed its reports, exited 0, and (with --tsan) printed no
ThreadSanitizer report.
Exit 0 pass, 1 fail, 77 skipped (never under CI=true)."""
import gzip
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import harness

NS = "nstl-stress"
FORMATS = [
    ("GET", "text/plain;version=0.0.4", None),
    ("GET", "application/openmetrics-text;version=1.0.0", None),
    ("GET", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=delimited", None),
    ("GET", "text/plain;version=0.0.4", "gzip"),
    ("HEAD", "application/openmetrics-text;version=1.0.0", None),
]


class Stress:
    def __init__(self, seconds):
        self.stop = threading.Event()
        self.deadline = time.time() + seconds
        self.counts = {}
        self.errors = []
        self.lock = threading.Lock()

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def fail(self, what):
        with self.lock:
            self.errors.append(what)

    def running(self):
        return not self.stop.is_set() and time.time() < self.deadline

    def run(self, name, body):
        """body() in a loop on a thread of its own until the end."""
        def loop():
            try:
                while self.running():
                    body()
            except Exception as err:  # noqa: BLE001 (any error ends the test as a failure)
                self.fail(f"{name}: {err!r}")
        t = threading.Thread(target=loop, name=name)
        t.start()
        return t


def scraper(stress, port):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    i = [0]

    def once():
        method, accept, encoding = FORMATS[i[0] % len(FORMATS)]
        i[0] += 1
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=60)
        headers = {"Accept": accept}
        if encoding:
            headers["Accept-Encoding"] = encoding
        conn.request(method, "/metrics", headers=headers)
        r = conn.getresponse()
        body = r.read()
        conn.close()
        if r.status != 200:
            stress.fail(f"{method} {accept}: HTTP {r.status}")
            return
        if encoding:
            body = gzip.decompress(body)
        if method == "GET" and not body:
            stress.fail(f"{method} {accept}: empty body")
        stress.count(f"scrapes ({accept.split(';')[0]}{', ' + encoding if encoding else ''}"
                     f"{', HEAD' if method == 'HEAD' else ''})")
    return once


def reloader(stress, proc):
    def once():
        proc.send_signal(signal.SIGHUP)
        stress.count("SIGHUPs")
        time.sleep(0.005)
    return once


def cgroup_churn(stress, base):
    """A reader process, moved into a new cgroup for each read."""
    reader = subprocess.Popen([sys.executable, "-c", harness.ACK_READER],
                              stdout=subprocess.PIPE, text=True)
    port = int(reader.stdout.readline())
    sender = socket.create_connection(("127.0.0.1", port))
    i = [0]

    def move(cgroup):
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write(str(reader.pid))

    def once():
        i[0] += 1
        cgroup = os.path.join(base, f"c{i[0]}")
        os.mkdir(cgroup)
        move(cgroup)
        sender.sendall(b"x" * 100)
        sender.recv(1)  # the reader read, in that cgroup
        move(base)
        os.rmdir(cgroup)
        stress.count("cgroups created and removed")
    return once, lambda: (sender.close(), reader.kill(), reader.wait())


def interface_churn(stress):
    i = [0]

    def ip(*args, netns=False):
        cmd = (["ip", "netns", "exec", NS] if netns else []) + ["ip", *args]
        subprocess.run(cmd, check=True, capture_output=True)

    def once():
        i[0] += 1
        name, peer = f"nstl-s{i[0]}", f"nstl-t{i[0]}"
        ip("link", "add", name, "type", "veth", "peer", "name", peer, "netns", NS)
        ip("addr", "add", "10.197.0.1/24", "dev", name)
        ip("link", "set", name, "up")
        ip("addr", "add", "10.197.0.2/24", "dev", peer, netns=True)
        ip("link", "set", peer, "up", netns=True)
        subprocess.run(["ip", "netns", "exec", NS, sys.executable, "-c",
                        "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                        ".sendto(b'u' * 100, ('10.197.0.1', 9))"], check=True)
        ip("link", "del", name)
        stress.count("interfaces created and removed")
    return once


def certificate_rotation(stress, d):
    pairs = [("server.crt", "server.key"), ("server-rsa.crt", "server-rsa.key")]
    i = [0]

    def once():
        i[0] += 1
        crt, key = pairs[i[0] % 2]
        shutil.copy(f"{d}/{key}", f"{d}/live.key.new")
        shutil.copy(f"{d}/{crt}", f"{d}/live.crt.new")
        os.replace(f"{d}/live.key.new", f"{d}/live.key")
        os.replace(f"{d}/live.crt.new", f"{d}/live.crt")
        stress.count("certificate rotations")
        time.sleep(0.3)
    return once


def drain(proc, lines):
    """The daemon's output, read as it comes (a full pipe would stall it)."""
    for line in proc.stdout:
        lines.append(line)


def setup(d):
    teardown()
    subprocess.run(["ip", "netns", "add", NS], check=True)
    base = os.path.join(harness.cgroup2_root(), "nstl-stress")
    os.makedirs(base, exist_ok=True)
    harness.make_pki(d)
    for name in ("crt", "key"):
        shutil.copy(f"{d}/server.{name}", f"{d}/live.{name}")
    web = harness.write(d, "web.yml", f"tls_server_config:\n  cert_file: {d}/live.crt\n"
                                      f"  key_file: {d}/live.key\n")
    config = harness.write(d, "config.yaml", f"filters: {{cgroups: [{base}], "
                                             f"cgroups_include_children: true}}\n"
                                             "grouping: {by_interface: true, by_cgroup: true}\n"
                                             "histogram: {exemplar_interval_seconds: 0, "
                                             f"exemplar_labels: {harness.ALL_EXEMPLAR_LABELS}}}\n")
    return base, web, config


def teardown():
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    base = os.path.join(harness.cgroup2_root(), "nstl-stress")
    if os.path.isdir(base):
        for child in os.listdir(base):
            if child.startswith("c") and os.path.isdir(os.path.join(base, child)):
                os.rmdir(os.path.join(base, child))
        os.rmdir(base)


def run(args):
    with tempfile.TemporaryDirectory(prefix="nstl-stress-") as d:
        base, web, config = setup(d)
        port = harness.free_port()
        proc = harness.start_daemon(args.daemon, port, 120, plain_http=False, extra=[
            f"--config.file={config}", f"--web.config.file={web}", "--report-interval=1"])
        lines = []
        drainer = threading.Thread(target=drain, args=(proc, lines))
        drainer.start()
        stress = Stress(args.seconds)
        churn, stop_churn = cgroup_churn(stress, base)
        threads = [stress.run("reload", reloader(stress, proc)),
                   stress.run("scraper-1", scraper(stress, port)),
                   stress.run("scraper-2", scraper(stress, port)),
                   stress.run("cgroups", churn),
                   stress.run("interfaces", interface_churn(stress)),
                   stress.run("certificates", certificate_rotation(stress, d))]
        try:
            for t in threads:
                t.join()
            alive = proc.poll() is None
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=120)
        finally:
            stress.stop.set()
            stop_churn()
            if proc.poll() is None:
                proc.kill()
            drainer.join()
            teardown()
        output = "".join(lines)
        for what, n in sorted(stress.counts.items()):
            harness.log(f"{what}: {n}")
        reports = output.count("--- ")
        reloads = output.count("reloaded ")
        tsan = [l for l in lines if "ThreadSanitizer" in l]
        if tsan:
            start = output.find("WARNING: ThreadSanitizer")
            harness.log(output[start:start + 6000])
        harness.check(not stress.errors, f"every request answered 200, every churn step worked "
                                         f"({stress.errors[:5]})")
        harness.check(alive and code == 0, f"the daemon lived through it and exited 0 ({code})")
        harness.check(all(n > 0 for n in stress.counts.values()) and len(stress.counts) == 9,
                      "every kind of scrape and churn ran")
        harness.check(reloads > 0 and "reload failed" not in output,
                      f"{reloads} reloads logged, none failed")
        harness.check(reports >= args.seconds // 2, f"{reports} reports printed")
        if args.tsan:
            harness.check(not tsan, f"no ThreadSanitizer report ({len(tsan)} lines name it)")


def main():
    return harness.root_test_main(__doc__, run, [
        ("--seconds", dict(type=int, default=30, help="how long the stress lasts")),
        ("--tsan", dict(action="store_true",
                        help="the daemon is built with ThreadSanitizer: no report allowed"))],
        tools=("ip", "openssl"))


if __name__ == "__main__":
    sys.exit(main())
