#!/usr/bin/env python3
"""Exemplars end to end: a TCP reader on a port this test chooses waits 300
ms before it reads; an OpenMetrics scrape must carry, on the tcp-socket-read
bucket that holds 300 ms, an exemplar whose value is in that bucket and
whose labels name that flow (both ports) and the reading process (this
test's pid and comm) when exemplar_labels asks for them (by default only
cpu and iface, and no warning; with them on an open port, a warning at
start). Over IPv4 and IPv6. A text 0.0.4 scrape carries none;
with exemplar_interval_seconds 0 the interval a scrape ends is not served
again; the output parses as OpenMetrics (prometheus_client's strict
parser). A stranger's OpenMetrics scrape every 0.3 s cannot take the
exemplar from a scraper that comes every 2 s (interval 3 s: it reaches
both). With --prometheus, a real
Prometheus (--enable-feature=exemplar-storage, 1 s scrapes) scrapes the
daemon during such reads and /api/v1/query_exemplars must return the
delayed flow's exemplar.

Exit codes: 0 pass, 1 fail, 77 skipped (never under CI=true).
"""
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

import harness

OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
DELAY = 0.3
EXEMPLAR = re.compile(r'^(\S+)_bucket\{(.*)\} (\S+) # \{(.*)\} (\S+) (\S+)$')


def scrape(port, accept=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                 headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.headers.get("Content-Type"), r.read().decode()


def exemplars(text, hook):
    """[(le, value, timestamp, {labels})] on hook's buckets."""
    out = []
    for line in text.splitlines():
        m = EXEMPLAR.match(line)
        if not m or f'hook="{hook}"' not in m.group(2):
            continue
        le = dict(harness.LABEL.findall(m.group(2)))["le"]
        out.append((le, float(m.group(5)), float(m.group(6)), dict(harness.LABEL.findall(m.group(4)))))
    return out


def delayed_read(family, addr):
    """A connection whose reader waits DELAY s before reading: (client
    port, server port)."""
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.bind((addr, 0))
    srv.listen(1)
    server_port = srv.getsockname()[1]

    def reader():
        conn, _ = srv.accept()
        time.sleep(DELAY)
        conn.recv(4096)
        conn.close()
    t = threading.Thread(target=reader)
    t.start()
    c = socket.create_connection((addr, server_port))
    client_port = c.getsockname()[1]
    c.sendall(b"x" * 100)
    t.join()
    c.close()
    srv.close()
    return client_port, server_port


def check_openmetrics_parses(text):
    try:
        from prometheus_client.openmetrics import parser
    except ImportError:
        harness.skip("python3-prometheus-client is not installed (packaging/install-deps.sh --test)")
    families = list(parser.text_string_to_metric_families(text))
    n = sum(1 for f in families for s in f.samples if s.exemplar)
    harness.check(families and n >= 1, f"the scrape parses as OpenMetrics (prometheus_client's "
                  f"parser: {len(families)} families, {n} exemplars)")


def check_flow(port, family, addr, bracket):
    scrape(port, OPENMETRICS)  # ends the interval so far: this one starts clean
    client, server = delayed_read(family, addr)
    ctype, text = scrape(port, OPENMETRICS)
    harness.check(ctype.startswith("application/openmetrics-text; version=1.0.0"),
                  f"Accept: openmetrics gets OpenMetrics ({ctype})")
    harness.check(text.endswith("# EOF\n"), "it ends with # EOF")
    found = exemplars(text, "tcp-socket-read")
    harness.log(f"tcp-socket-read exemplars: {found}")
    harness.check(len(found) == 1, "one exemplar on tcp-socket-read")
    le, value, ts, labels = found[0]
    harness.check(le == "0.536870912" and DELAY <= value <= 0.536870912,
                  f"on the bucket that holds {DELAY} s (le {le}), with a value in it ({value})")
    harness.check(abs(ts - time.time()) < 30, f"its timestamp is now ({ts:.3f})")
    want = f"tcp {bracket(addr)}:{client}->{bracket(addr)}:{server}"
    harness.check(labels.get("flow") == want, f"it names the flow: {labels.get('flow')} == {want}")
    comm = open("/proc/self/comm").read().strip()
    harness.check(labels.get("pid") == str(os.getpid()) and labels.get("comm") == comm,
                  f"it names the reading process ({labels.get('comm')}, pid {labels.get('pid')})")
    harness.check("cpu" in labels, f"and the CPU ({labels.get('cpu')})")
    size = sum(len(k) + len(v) for k, v in labels.items())
    harness.check(size <= 128, f"its labels fit OpenMetrics' 128 characters ({size})")
    return text


def config(workdir, interval, labels=harness.ALL_EXEMPLAR_LABELS):
    path = os.path.join(workdir, f"exemplars-{interval}-{bool(labels)}.yaml")
    with open(path, "w") as f:
        f.write(f"histogram:\n  exemplar_interval_seconds: {interval}\n")
        if labels:
            f.write(f"  exemplar_labels: {labels}\n")
    return path


def default_labels(args):
    """Without exemplar_labels, an exemplar names the CPU and interface
    only: no flow, process or cgroup to whoever reaches the port. With them
    on an open port, the daemon says so at start."""
    port = harness.free_port()
    proc = harness.start_daemon(args.daemon, port, 60,
                                extra=[f"--config.file={config(args.workdir, 0, None)}"])
    try:
        scrape(port, OPENMETRICS)
        delayed_read(socket.AF_INET, "127.0.0.1")
        found = exemplars(scrape(port, OPENMETRICS)[1], "tcp-socket-read")
        harness.log(f"default labels: tcp-socket-read exemplars: {found}")
        harness.check(len(found) == 1 and "cpu" in found[0][3] and
                      set(found[0][3]) <= {"cpu", "iface"},
                      f"by default an exemplar carries cpu and iface only "
                      f"({sorted(found[0][3]) if found else None})")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    log = proc.stdout.read()
    harness.check("exemplars carry" not in log, "and the default draws no exposure warning")


def stranger(args):
    """Before, every OpenMetrics scrape ended the exemplar interval: one
    curl per second left Prometheus none."""
    port = harness.free_port()
    proc = harness.start_daemon(args.daemon, port, 60,
                                extra=[f"--config.file={config(args.workdir, 3)}"])
    stop = threading.Event()
    took = []

    def strange():
        while not stop.is_set():
            took.extend(v for _, v, _, _ in exemplars(scrape(port, OPENMETRICS)[1],
                                                      "tcp-socket-read") if v >= DELAY)
            time.sleep(0.3)
    t = threading.Thread(target=strange)
    try:
        t.start()
        time.sleep(1)
        delayed_read(socket.AF_INET, "127.0.0.1")
        seen = []
        for _ in range(4):  # the scraper, every 2 s
            time.sleep(2)
            seen = [v for _, v, _, _ in exemplars(scrape(port, OPENMETRICS)[1],
                                                  "tcp-socket-read") if v >= DELAY]
            if seen:
                break
    finally:
        stop.set()
        t.join()
        proc.terminate()
        proc.wait(timeout=20)
    harness.check(bool(seen) and bool(took),
                  f"a stranger scraping every 0.3 s did not take the exemplar: both saw it "
                  f"(scraper {seen}, stranger {len(took)} times)")


def run(args):
    default_labels(args)
    stranger(args)
    port = harness.free_port()
    proc = harness.start_daemon(args.daemon, port, 60,
                                extra=[f"--config.file={config(args.workdir, 0)}"])
    prom = None
    try:
        text = check_flow(port, socket.AF_INET, "127.0.0.1", lambda a: a)
        check_openmetrics_parses(text)
        _, again = scrape(port, OPENMETRICS)
        harness.check(not any(v >= DELAY for _, v, _, _ in exemplars(again, "tcp-socket-read")),
                      "the next OpenMetrics scrape does not serve the ended interval's exemplar again")
        if harness.have_ipv6():
            check_flow(port, socket.AF_INET6, "::1", lambda a: f"[{a}]")
        delayed_read(socket.AF_INET, "127.0.0.1")
        ctype, plain = scrape(port)
        harness.check(ctype.startswith("text/plain; version=0.0.4") and " # {" not in plain and
                      "# EOF" not in plain, "a plain scrape is text 0.0.4, without exemplars")
        if args.prometheus:
            prom = check_prometheus(port, args.workdir, args.dashboard)
    finally:
        if prom:
            prom.terminate()
            prom.wait(timeout=30)
        proc.terminate()
        proc.wait(timeout=20)
    # Every label on a port open to all (the tests' daemons listen on
    # loopback, which draws no warning): the start says so.
    out = subprocess.run([args.daemon, f"--config.file={config(args.workdir, 0)}",
                          "--web.listen-address=:9661", "--config.check"],
                         capture_output=True, text=True)
    warning = "exemplars carry flow, comm, pid, cgroup (histogram.exemplar_labels) to anyone"
    harness.check(out.returncode == 0 and warning in out.stdout + out.stderr,
                  f"every label on an open port draws a warning at start: {out.stderr.strip()}")


def dashboard_exemplar_queries(path):
    """(panel, expr) of the dashboard's targets that ask Grafana for exemplars."""
    dash = json.load(open(path))
    return [(p["title"], t["expr"]) for p in dash["panels"]
            for t in p.get("targets", []) if t.get("exemplar")]


def check_prometheus(port, workdir, dashboard):
    prom_port = harness.free_port()
    prom = harness.start_prometheus(workdir, prom_port, port,
                                    extra=["--enable-feature=exemplar-storage"])
    harness.wait_for_scrapes(prom_port, 2)
    client, server = delayed_read(socket.AF_INET, "127.0.0.1")
    want = f"tcp 127.0.0.1:{client}->127.0.0.1:{server}"
    deadline = time.time() + 30
    found = []
    while time.time() < deadline:
        now = time.time()
        data = harness.api(
            prom_port, "query_exemplars",
            query='ebpf_exporter_netstack_latency_seconds_bucket{hook="tcp-socket-read"}',
            start=now - 120, end=now + 5)
        found = [(e["labels"], e["value"]) for series in data for e in series["exemplars"]]
        if any(l.get("flow") == want for l, _ in found):
            break
        time.sleep(1)
    harness.log(f"Prometheus' exemplars for tcp-socket-read: {found}")
    harness.check(any(l.get("flow") == want and float(v) >= DELAY for l, v in found),
                  f"Prometheus (exemplar storage) returns the delayed flow's exemplar ({want})")
    # What Grafana asks for: the heatmap's and the quantile panel's queries.
    values = {"${datasource}": "", "$instance": f"127.0.0.1:{port}", "$hook": "tcp-socket-read",
              "$iface": "unknown:0", "$cgroup": "unknown_cgroup_id:0",
              "$__rate_interval": "5s", "$__interval": "1s"}
    queries = dashboard_exemplar_queries(dashboard)
    harness.check(len(queries) >= 2, f"the dashboard asks for exemplars in {len(queries)} targets")
    for panel, expr in queries:
        now = time.time()
        data = harness.api(prom_port, "query_exemplars",
                           query=harness.substitute(expr, values),
                           start=now - 120, end=now + 5)
        flows = [e["labels"].get("flow") for series in data for e in series["exemplars"]]
        harness.check(want in flows, f"panel '{panel}': its query's exemplars include {want}")
    return prom


def main():
    return harness.root_test_main(__doc__, run_in_workdir, [
        ("--prometheus", dict(action="store_true",
                              help="also let a real Prometheus with exemplar storage scrape it")),
        ("--dashboard", dict(help="the Grafana dashboard whose exemplar queries to run "
                                  "(with --prometheus)"))])


def run_in_workdir(args):
    with tempfile.TemporaryDirectory(prefix="nstl-exemplars-") as d:
        args.workdir = d
        run(args)


if __name__ == "__main__":
    raise SystemExit(main())
