#!/usr/bin/env python3
"""A real Prometheus (Debian's) scrapes the real daemon every second while
real traffic flows; then every PromQL expression of the Grafana dashboard
and of the Prometheus rules, with the dashboard variables replaced by real
label values, must return a non-empty result without error.

Exit codes: 0 pass, 1 fail, 77 skipped (never under CI=true)."""
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time

import harness

def dashboard_queries(path):
    """(where, expr) for every panel target and every query variable."""
    dash = json.load(open(path))
    out = []
    for panel in dash["panels"]:
        for t in panel.get("targets", []):
            out.append((f"panel '{panel['title']}'", t["expr"]))
    for var in dash["templating"]["list"]:
        if var["type"] == "query":
            out.append((f"variable ${var['name']}", var["query"]["query"]))
    return out


def rule_queries(path):
    """(where, expr) for every rule; an alert's threshold comparison is
    dropped, so the test sees that its input exists, not that it fires."""
    out = []
    text = open(path).read()
    for kind, name, expr in re.findall(
            r"- (record|alert): (\S+)\n\s+expr: (.+)", text):
        if kind == "alert":
            expr = re.split(r"\s(?:==|!=|>=|<=|>|<)\s+[0-9.]+\s*$", expr)[0]
        out.append((f"{kind} {name}", expr))
        if kind == "record":
            out.append((f"recorded series {name}", name))
    return out


def keep_traffic_flowing(stop):
    while not stop.is_set():
        harness.send_traffic()


def main():
    return harness.root_test_main(__doc__, run, [("--dashboard", dict(required=True)),
                                                 ("--rules", dict(required=True))],
                                  tools=("prometheus", "promtool"))


def run(args):
    harness.MESSAGES = 50  # background traffic: keep each round short

    workdir = tempfile.mkdtemp(prefix="nstl-prom-")
    port, prom_port = harness.free_port(), harness.free_port()
    daemon = prom = None
    stop = threading.Event()
    try:
        daemon = harness.start_daemon(args.daemon, port, 60)
        prom = harness.start_prometheus(workdir, prom_port, port, os.path.abspath(args.rules))
        traffic = threading.Thread(target=keep_traffic_flowing, args=(stop,))
        traffic.start()
        harness.wait_for_scrapes(prom_port, 10)
        stop.set()
        traffic.join()
        time.sleep(2)  # let the rules evaluate the last scrapes

        hooks = harness.api(prom_port, "label/hook/values",
                    **{"match[]": "ebpf_exporter_netstack_latency_seconds_count"})
        harness.check(len(hooks) >= 3, f"Prometheus has latency series for hooks {hooks}")
        base = {"${datasource}": "", "$instance": f"127.0.0.1:{port}",
                "$iface": "unknown:0", "$cgroup": "unknown_cgroup_id:0",
                "$__rate_interval": "5s", "$__interval": "1s"}
        queries = dashboard_queries(args.dashboard) + rule_queries(args.rules)
        for where, expr in queries:
            # Each hook in turn: the dashboard repeats its panels per hook.
            for hook in (hooks if "$hook" in expr else [None]):
                q = harness.substitute(expr, dict(base, **({"$hook": hook} if hook else {})))
                result = harness.api(prom_port, "query", query=q)["result"]
                harness.check(len(result) > 0,
                          f"{where}{f' (hook {hook})' if hook else ''}: {len(result)} series "
                          f"for {q[:90]}")
    finally:
        stop.set()
        for proc in (prom, daemon):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
