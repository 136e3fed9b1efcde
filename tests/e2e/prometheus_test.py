#!/usr/bin/env python3
"""Two real Prometheus (Debian's), one storing classic histograms and one
with --enable-feature=native-histograms (which then stores native ones
instead: 2.42 drops the classic buckets), scrape the real daemon every
second while real traffic flows; then every PromQL expression of the
Grafana dashboard and of the Prometheus rules, with the dashboard variables
replaced by real label values, must return a non-empty result without
error from the Prometheus it is written for: queries of the native series
from the native one, of the classic series from the classic one, queries
that fall back from one to the other (`or`) and the rest from both.
kernel.bpf_stats_enabled is 1 meanwhile (and restored after), as an
operator sets it to read what the exporter costs: the cost rules and
panels need it.

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


def written_for(expr):
    """Which Prometheus a query must answer: (native, classic)."""
    native = bool(re.search(r"ebpf_exporter_netstack_latency_seconds(?=[{\[])|:native_", expr))
    classic = bool(re.search(r"_bucket|(?<!histogram)_count\b|(?<!histogram)_sum\b|:p\d+_5m\b|"
                             r"seconds_count:rate5m", expr))
    if "__name__=~" in expr or not (native or classic):
        return True, True
    return native, classic


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
    port = harness.free_port()
    proms = {"native": harness.free_port(), "classic": harness.free_port()}
    procs = []
    stop = threading.Event()
    old_stats = harness.set_bpf_stats("1")
    try:
        procs.append(harness.start_daemon(args.daemon, port, 60))
        rules = os.path.abspath(args.rules)
        for kind, prom_port in proms.items():
            os.mkdir(os.path.join(workdir, kind))
            extra = ["--enable-feature=native-histograms"] if kind == "native" else []
            procs.append(harness.start_prometheus(os.path.join(workdir, kind), prom_port, port,
                                                  rules, extra=extra))
        traffic = threading.Thread(target=keep_traffic_flowing, args=(stop,))
        traffic.start()
        for prom_port in proms.values():
            harness.wait_for_scrapes(prom_port, 10)
        stop.set()
        traffic.join()
        time.sleep(2)  # let the rules evaluate the last scrapes

        hooks = harness.api(proms["classic"], "label/hook/values",
                            **{"match[]": "ebpf_exporter_netstack_latency_seconds_count"})
        harness.check(len(hooks) >= 3, f"Prometheus has latency series for hooks {hooks}")
        native_hooks = harness.api(proms["native"], "label/hook/values",
                                   **{"match[]": "ebpf_exporter_netstack_latency_seconds"})
        harness.check(sorted(native_hooks) == sorted(hooks),
                      "the native Prometheus has native series for the same hooks")
        base = {"${datasource}": "", "$instance": f"127.0.0.1:{port}",
                "$iface": "unknown:0", "$cgroup": "unknown_cgroup_id:0",
                "$__rate_interval": "5s", "$__interval": "1s"}
        queries = dashboard_queries(args.dashboard) + rule_queries(args.rules)
        checked = {"native": 0, "classic": 0}
        for where, expr in queries:
            native, classic = written_for(expr)
            for kind in [k for k, on in (("native", native), ("classic", classic)) if on]:
                # Each hook in turn: the dashboard repeats its panels per hook.
                for hook in (hooks if "$hook" in expr else [None]):
                    q = harness.substitute(expr, dict(base, **({"$hook": hook} if hook else {})))
                    result = harness.api(proms[kind], "query", query=q)["result"]
                    harness.check(len(result) > 0,
                                  f"{kind}: {where}{f' (hook {hook})' if hook else ''}: "
                                  f"{len(result)} series for {q[:90]}")
                checked[kind] += 1
        harness.check(checked["native"] >= 8 and checked["classic"] >= 8,
                      f"queries checked on each Prometheus: {checked}")
    finally:
        stop.set()
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
        harness.set_bpf_stats(old_stats)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
