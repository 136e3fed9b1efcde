#!/usr/bin/env python3
"""A real Prometheus (Debian's) scrapes the real daemon every second while
real traffic flows; then every PromQL expression of the Grafana dashboard
and of the Prometheus rules, with the dashboard variables replaced by real
label values, must return a non-empty result without error.

Exit codes: 0 pass, 1 fail, 77 skipped (never under CI=true)."""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import e2e_test as e2e  # the daemon start, traffic and skip logic

JOB = "netstacklat"  # the job name the shipped rules expect


def api(prom, path, **params):
    url = f"http://127.0.0.1:{prom}/api/v1/{path}?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=30) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise e2e.Failure(f"{path} {params}: {body}")
    return body["data"]


def start_prometheus(workdir, prom_port, target_port, rules=None, extra=()):
    config = os.path.join(workdir, "prometheus.yml")
    rule_files = f'rule_files: ["{rules}"]' if rules else ""
    with open(config, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
{rule_files}
scrape_configs:
  - job_name: {JOB}
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
""")
    subprocess.run(["promtool", "check", "config", config], check=True,
                   capture_output=True)
    return subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={workdir}/data",
         f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn", *extra],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "prometheus.log"), "w"))


def wait_for_scrapes(prom, n, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            r = api(prom, "query", query=f'count_over_time(up{{job="{JOB}"}}[5m])')
            if r["result"] and float(r["result"][0]["value"][1]) >= n:
                return
        except OSError:
            pass
        time.sleep(1)
    raise e2e.Failure(f"Prometheus did not scrape the daemon {n} times in {timeout} s")


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


def substitute(expr, values):
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", expr)
    if m:  # a Grafana variable: the series it lists must exist
        expr = m.group(1)
    for var, val in values.items():
        expr = expr.replace(var, val)
    return expr


def keep_traffic_flowing(stop):
    while not stop.is_set():
        e2e.send_traffic()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--daemon", required=True)
    p.add_argument("--dashboard", required=True)
    p.add_argument("--rules", required=True)
    args = p.parse_args()
    if os.geteuid() != 0:
        e2e.skip("needs root to load BPF programs")
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found (Debian package prometheus)")
    e2e.MESSAGES = 50  # background traffic: keep each round short

    workdir = tempfile.mkdtemp(prefix="nstl-prom-")
    port, prom_port = e2e.free_port(), e2e.free_port()
    daemon = prom = None
    stop = threading.Event()
    try:
        daemon = e2e.start_daemon(args.daemon, port, 60)
        prom = start_prometheus(workdir, prom_port, port, os.path.abspath(args.rules))
        traffic = threading.Thread(target=keep_traffic_flowing, args=(stop,))
        traffic.start()
        wait_for_scrapes(prom_port, 10)
        stop.set()
        traffic.join()
        time.sleep(2)  # let the rules evaluate the last scrapes

        hooks = api(prom_port, "label/hook/values",
                    **{"match[]": "ebpf_exporter_netstack_latency_seconds_count"})
        e2e.check(len(hooks) >= 3, f"Prometheus has latency series for hooks {hooks}")
        base = {"${datasource}": "", "$instance": f"127.0.0.1:{port}",
                "$iface": "unknown:0", "$cgroup": "unknown_cgroup_id:0",
                "$__rate_interval": "5s", "$__interval": "1s"}
        queries = dashboard_queries(args.dashboard) + rule_queries(args.rules)
        for where, expr in queries:
            # Each hook in turn: the dashboard repeats its panels per hook.
            for hook in (hooks if "$hook" in expr else [None]):
                q = substitute(expr, dict(base, **({"$hook": hook} if hook else {})))
                result = api(prom_port, "query", query=q)["result"]
                e2e.check(len(result) > 0,
                          f"{where}{f' (hook {hook})' if hook else ''}: {len(result)} series "
                          f"for {q[:90]}")
    except e2e.Failure as err:
        e2e.log(f"FAIL: {err}")
        return 1
    finally:
        stop.set()
        for proc in (prom, daemon):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    e2e.log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
