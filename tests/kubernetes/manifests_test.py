#!/usr/bin/env python3
"""The shipped Kubernetes manifests (packaging/kubernetes/), as a user
applies them:

  schema:  every object (Namespace, ConfigMap, DaemonSet, PodMonitor and the
           PrometheusRule prometheus-rule.sh prints) is valid, unknown fields
           included, against the API schemas of Kubernetes 1.33 and 1.36 and
           the Prometheus Operator's CRDs (check_manifests.mjs, npm's
           kubernetes-models). Against 1.27 the DaemonSet must fail, on
           appArmorProfile alone: the docs name 1.30 as the minimum.
  teeth:   broken copies must fail the same check: a misspelt field, a value
           outside an enum, a missing required field, an unknown kind, a
           misspelt PodMonitor field.
  wiring:  one namespace; the selector and the PodMonitor select the pods;
           the probes ask the daemon's health path on the named port; the
           ConfigMap is mounted where the image's entrypoint reads its config
           and that config passes --config.check; the PodMonitor and the
           plain scrape config name the job the shipped alert selects; the
           scrape config passes promtool check config (its Kubernetes
           discovery block, which Debian's build lacks, swapped for a static
           target and checked against Prometheus' documented fields); the
           PrometheusRule holds exactly the shipped rules.

Usage: manifests_test.py --daemon BIN --promtool PROMTOOL --work DIR
Exit 0 pass, 1 fail, 77 skipped (never under CI=true)."""
import argparse
import copy
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
KUBE = os.path.join(ROOT, "packaging", "kubernetes")
RULES = os.path.join(ROOT, "packaging", "prometheus", "netstacklat-rules.yml")
IMAGE_SCRIPT = os.path.join(ROOT, "packaging", "container", "build-image.sh")


def install_checker(work):
    """package.json's pinned schemas, installed with npm ci into work."""
    if not shutil.which("node") or not shutil.which("npm"):
        harness.skip("node and npm are not installed (packaging/install-deps.sh --test)")
    os.makedirs(work, exist_ok=True)
    for name in ("package.json", "package-lock.json", "check_manifests.mjs"):
        shutil.copy(os.path.join(HERE, name), work)
    if not os.path.isdir(os.path.join(work, "node_modules")):
        out = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=work,
                             capture_output=True, text=True)
        harness.check(out.returncode == 0, f"npm ci: {out.stdout[-500:]}{out.stderr[-1500:]}")


def check(work, version, files):
    """(exit code, output lines) of the checker on files for version."""
    out = subprocess.run(["node", os.path.join(work, "check_manifests.mjs"), "--kubernetes",
                          version, *files], capture_output=True, text=True)
    lines = [l for l in (out.stdout + out.stderr).splitlines() if l.strip()]
    return out.returncode, lines


def write_docs(path, docs):
    import yaml  # python3-yaml
    with open(path, "w") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)
    return path


def load_docs(path):
    import yaml
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def shipped(work):
    """The shipped objects' files, the PrometheusRule printed into work."""
    rule = os.path.join(work, "prometheus-rule.yaml")
    with open(rule, "w") as f:
        subprocess.run([os.path.join(KUBE, "prometheus-rule.sh")], stdout=f, check=True)
    return [os.path.join(KUBE, "netstacklat-exporter.yaml"),
            os.path.join(KUBE, "prometheus-operator.yaml"), rule]


def schemas(work, files):
    for version in ("1.33", "1.36"):
        rc, lines = check(work, version, files)
        harness.log("\n".join(lines))
        harness.check(rc == 0 and len(lines) == 5 and all(l.startswith("OK") for l in lines),
                      f"Kubernetes {version}: all five objects valid")
    rc, lines = check(work, "1.27", files)
    fails = [l for l in lines if l.startswith("FAIL")]
    harness.log("\n".join(fails))
    harness.check(rc == 1 and len(fails) == 1 and "DaemonSet" in fails[0] and
                  "appArmorProfile" in fails[0],
                  "Kubernetes 1.27: only the DaemonSet fails, on appArmorProfile (1.30 and later)")


def kind(docs, name):
    return next(d for d in docs if d["kind"] == name)


def mutations(docs):
    """(what, broken copy of the objects, text the failure must name)."""
    def broken(edit):
        d = copy.deepcopy(docs)
        edit(d)
        return d

    def container(d):
        return kind(d, "DaemonSet")["spec"]["template"]["spec"]["containers"][0]

    def rename(m, old, new):
        m[new] = m.pop(old)

    return [
        ("a misspelt probe field", broken(lambda d: rename(container(d), "readinessProbe",
                                                           "readinesProbe")), "readinesProbe"),
        ("imagePullPolicy outside its enum",
         broken(lambda d: container(d).update(imagePullPolicy="Sometimes")), "imagePullPolicy"),
        ("no containers", broken(lambda d: kind(d, "DaemonSet")["spec"]["template"]["spec"]
                                 .pop("containers")), "containers"),
        ("an unknown kind", broken(lambda d: kind(d, "Namespace").update(kind="Namespaces")),
         "no kind Namespaces"),
        ("a misspelt PodMonitor field",
         broken(lambda d: rename(kind(d, "PodMonitor")["spec"]["podMetricsEndpoints"][0],
                                 "port", "prot")), "prot"),
    ]


def teeth(work, docs):
    for what, bad, needle in mutations(docs):
        path = write_docs(os.path.join(work, "broken.yaml"), bad)
        rc, lines = check(work, "1.36", [path])
        fails = [l for l in lines if l.startswith("FAIL")]
        harness.check(rc == 1 and any(needle in l for l in fails),
                      f"{what}: refused, naming {needle!r} ({fails[:1]})")


def alert_job():
    text = open(RULES).read()
    m = re.search(r'up\{job="([^"]+)"\}', text)
    harness.check(m is not None, "the shipped rules have the target-down alert on a job")
    return m.group(1)


def wiring(daemon, promtool, work, docs):
    ns = kind(docs, "Namespace")["metadata"]["name"]
    harness.check(all(d["metadata"].get("namespace", ns) == ns for d in docs),
                  f"every object is in namespace {ns}, which the manifest creates")
    ds = kind(docs, "DaemonSet")
    pod_labels = ds["spec"]["template"]["metadata"]["labels"]
    sel = ds["spec"]["selector"]["matchLabels"]
    pm = kind(docs, "PodMonitor")
    harness.check(sel.items() <= pod_labels.items() and
                  pm["spec"]["selector"]["matchLabels"].items() <= pod_labels.items(),
                  "the DaemonSet's selector and the PodMonitor's select its pods")
    pod = ds["spec"]["template"]["spec"]
    c = pod["containers"][0]
    ports = {p["name"]: p for p in c["ports"]}
    # The daemon never talks to the API server: no token in the pod.
    sc = c["securityContext"]
    harness.check(pod.get("automountServiceAccountToken") is False and
                  sc.get("allowPrivilegeEscalation") is False and
                  sc.get("readOnlyRootFilesystem") is True and sc.get("privileged") is False and
                  sc["capabilities"] == {"drop": ["ALL"], "add": ["BPF", "PERFMON"]} and
                  sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0 and
                  sc.get("seccompProfile") == {"type": "RuntimeDefault"} and
                  sc.get("appArmorProfile") == {"type": "RuntimeDefault"},
                  "the pod mounts no service-account token; the container: no privilege "
                  "escalation, a read-only root, ALL capabilities dropped but BPF and PERFMON, "
                  "not root, the runtime's default seccomp and AppArmor profiles")
    for probe in ("readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        harness.check(get["path"] == "/-/healthy" and get["port"] in ports,
                      f"{probe}: the health path on the named port ({get})")
    endpoint = pm["spec"]["podMetricsEndpoints"][0]
    harness.check(endpoint["port"] in ports, "the PodMonitor scrapes the named port")
    job = alert_job()
    relabel = [r for r in endpoint.get("relabelings", []) if r.get("targetLabel") == "job"]
    harness.check(len(relabel) == 1 and relabel[0].get("replacement") == job,
                  f"the PodMonitor names the job {job!r}, as the shipped alert selects")

    # The ConfigMap replaces the image's config directory; the entrypoint's
    # --config.file must be one of its keys, and the config valid.
    cm = kind(docs, "ConfigMap")
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    vol = next(v for v in pod["volumes"] if v.get("configMap", {}).get("name") ==
               cm["metadata"]["name"])
    mount = mounts[vol["name"]]["mountPath"]
    entry = re.search(r"--config\.file=([^\"']+)", open(IMAGE_SCRIPT).read()).group(1)
    harness.check(os.path.dirname(entry) == mount and os.path.basename(entry) in cm["data"],
                  f"the image's --config.file ({entry}) is the ConfigMap's, mounted at {mount}")
    conf = os.path.join(work, os.path.basename(entry))
    with open(conf, "w") as f:
        f.write(cm["data"][os.path.basename(entry)])
    out = subprocess.run([daemon, f"--config.file={conf}", "--config.check"],
                         capture_output=True, text=True)
    harness.check(out.returncode == 0, f"the ConfigMap's config passes --config.check: "
                  f"{out.stdout}{out.stderr}")
    port = int(re.search(r'listen_address: ":(\d+)"', cm["data"][os.path.basename(entry)])[1])
    harness.check(ports["metrics"]["containerPort"] == port == ports["metrics"]["hostPort"],
                  f"the config listens on the container's metrics port {port}")

    scrape_config(promtool, work, job, pod_labels, ns)


# kubernetes_sd_config as Prometheus documents it (configuration.md), and
# the pod role's meta labels: Debian's promtool is built without Kubernetes
# discovery, so it checks everything else and this checks the SD block.
SD_KEYS = {"api_server", "role", "kubeconfig_file", "namespaces", "selectors", "attach_metadata"}
SD_ROLES = {"node", "service", "pod", "endpoints", "endpointslice", "ingress"}
POD_META = {"__meta_kubernetes_pod_container_port_name", "__meta_kubernetes_pod_node_name"}


def scrape_config(promtool, work, job, pod_labels, ns):
    scrape = load_docs(os.path.join(KUBE, "prometheus-scrape-config.yaml"))[0]
    harness.check([j["job_name"] for j in scrape["scrape_configs"]] == [job],
                  f"the plain scrape config's job is {job!r}")
    sd = scrape["scrape_configs"][0]["kubernetes_sd_configs"]
    harness.check(len(sd) == 1 and set(sd[0]) <= SD_KEYS and sd[0]["role"] == "pod" and
                  sd[0]["namespaces"] == {"names": [ns]} and
                  all(set(s) <= {"role", "label", "field"} and s["role"] in SD_ROLES
                      for s in sd[0]["selectors"]), f"kubernetes_sd_configs: pods in {ns}")
    selector = sd[0]["selectors"][0]["label"].split("=")
    harness.check(pod_labels.get(selector[0]) == selector[1],
                  f"its label selector selects the pods ({'='.join(selector)})")
    used = {l for r in scrape["scrape_configs"][0]["relabel_configs"]
            for l in r.get("source_labels", []) if l.startswith("__meta_kubernetes")}
    harness.check(used <= POD_META, f"it relabels from the pod role's meta labels ({used})")
    # promtool on the rest: the same job with a static target in place of
    # the discovery Debian's build lacks, and the shipped rules.
    static = copy.deepcopy(scrape)
    static["scrape_configs"][0].pop("kubernetes_sd_configs")
    static["scrape_configs"][0]["static_configs"] = [{"targets": ["node-1:9661"]}]
    prom = write_docs(os.path.join(work, "prometheus.yml"),
                      [dict(static, rule_files=[os.path.abspath(RULES)])])
    out = subprocess.run([promtool, "check", "config", prom], capture_output=True, text=True)
    harness.check(out.returncode == 0, f"promtool check config: {out.stdout}{out.stderr}")


def rule_matches(files):
    rule = load_docs(files[2])[0]
    harness.check(rule["spec"] == load_docs(RULES)[0],
                  "the PrometheusRule holds exactly packaging/prometheus/netstacklat-rules.yml")


def run(args):
    install_checker(args.work)
    files = shipped(args.work)
    schemas(args.work, files)
    docs = [d for f in files for d in load_docs(f)]
    teeth(args.work, docs)
    wiring(args.daemon, args.promtool, args.work, docs)
    rule_matches(files)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--daemon", required=True)
    p.add_argument("--promtool", required=True)
    p.add_argument("--work", required=True)
    return harness.run_reporting(run, p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
