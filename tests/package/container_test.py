#!/usr/bin/env python3
"""The OCI image and the DaemonSet that runs it.

Builds netstacklat-exporter:<version> with packaging/container/build-image.sh,
inspects the archive (labels, entrypoint, user nobody, file capabilities
CAP_BPF+CAP_PERFMON on the entrypoint alone, contents: no shell, no package
manager; size uncompressed), checks the DaemonSet manifest's structure
against it (image, args, non-root user, capabilities, RuntimeDefault seccomp
and AppArmor, mounts), and runs it as containerd's CRI would: runc (its
runtime) with the pod's user, capabilities (bounding, effective and
permitted, nothing ambient), no_new_privs, a read-only root, the host's
network, BTF and the ConfigMap's files mounted, and the seccomp profile
RuntimeDefault selects, made by containerd's own code from Debian's source
(containerd_seccomp/). It must attach every hook root on the host attaches,
run as the pod's uid in every thread, serve live histograms and the probes'
path, and hold no capability in any thread once it serves. Then the teeth:
the same pod under podman's and CRI-O's default profile as Debian 12 ships it
(containers-common) must attach nothing: bpf() needs CAP_SYS_ADMIN there.

  container_test.py --daemon BINARY --manifest MANIFEST.yaml --out DIR

Exit codes: 0 pass, 1 fail, 77 skipped (never under CI=true).
"""
import argparse
import gzip
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_IMAGE = os.path.join(HERE, "..", "..", "packaging", "container", "build-image.sh")
MAX_MB = 40
CAP_PERFMON, CAP_BPF = 38, 39
FORBIDDEN = ("bin/sh", "bin/bash", "usr/bin/sh", "usr/bin/bash", "usr/bin/apt",
             "usr/bin/apt-get", "usr/bin/dpkg", "etc/ssl/certs")


# --- the image ----------------------------------------------------------------

def blob(layout, digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(layout, "blobs", algo, hexd)


def read_image(archive, layout):
    """(config, [layer paths], manifest) of the archive's only image."""
    with tarfile.open(archive) as t:
        t.extractall(layout)
    index = json.load(open(os.path.join(layout, "index.json")))
    harness.check(len(index["manifests"]) == 1, "the archive holds one image")
    ref = index["manifests"][0]
    manifest = json.load(open(blob(layout, ref["digest"])))
    config = json.load(open(blob(layout, manifest["config"]["digest"])))
    layers = [blob(layout, l["digest"]) for l in manifest["layers"]]
    return config, layers, ref.get("annotations", {})


def layer_members(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|") as t:
        for m in t:
            yield m


def inspect(archive, layout, version, revision):
    config, layers, annotations = read_image(archive, layout)
    cfg = config["config"]
    labels = cfg.get("Labels", {})
    harness.check(annotations.get("org.opencontainers.image.ref.name", "").endswith(version),
                  f"the archive's image is tagged {version} "
                  f"({annotations.get('org.opencontainers.image.ref.name')})")
    harness.check(labels.get("org.opencontainers.image.version") == version and
                  labels.get("org.opencontainers.image.revision") == revision and
                  labels.get("org.opencontainers.image.source", "").startswith("https://"),
                  f"OCI labels: version {version}, revision {revision}, source")
    harness.check(cfg.get("Entrypoint", [None])[0] == "/usr/bin/netstacklat-exporter",
                  f"entrypoint {cfg.get('Entrypoint')}")
    harness.check(cfg.get("User") == "65534:65534", f"runs as nobody ({cfg.get('User')})")
    size, names = 0, []
    for layer in layers:
        for m in layer_members(layer):
            size += m.size
            names.append(m.name.lstrip("./"))
    bad = [n for n in names if n in FORBIDDEN]
    harness.check(not bad, f"no shell, package manager or CA bundle in the image ({bad})")
    harness.log("image contents: " + " ".join(sorted(n for n in names if not n.endswith("/"))))
    harness.log(f"image size: {size / 1e6:.1f} MB uncompressed, "
                f"{os.path.getsize(archive) / 1e6:.1f} MB archive, {len(layers)} layer(s)")
    harness.check(size <= MAX_MB * 1e6, f"image <= {MAX_MB} MB uncompressed ({size / 1e6:.1f} MB)")
    return cfg, layers


# --- the manifest ----------------------------------------------------------------

def check_manifest(path, version, cfg):
    import yaml  # python3-yaml
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    ds = next((d for d in docs if d.get("kind") == "DaemonSet"), None)
    harness.check(ds is not None and ds.get("apiVersion") == "apps/v1", "the manifest has an "
                  "apps/v1 DaemonSet")
    spec = ds["spec"]
    tmpl = spec["template"]
    sel = spec["selector"]["matchLabels"]
    harness.check(all(tmpl["metadata"]["labels"].get(k) == v for k, v in sel.items()),
                  "its selector matches the pod template's labels")
    pod = tmpl["spec"]
    harness.check(pod.get("hostNetwork") is True, "host network (it measures the host's stack)")
    c = pod["containers"][0]
    harness.check(c["image"] == f"netstacklat-exporter:{version}",
                  f"it runs the image this project builds ({c['image']})")
    harness.check(c.get("imagePullPolicy") == "IfNotPresent",
                  "imagePullPolicy IfNotPresent (a loaded image, no registry needed)")
    sc = c["securityContext"]
    caps = sc["capabilities"]
    harness.check(caps.get("drop") == ["ALL"] and sorted(caps.get("add", [])) == ["BPF", "PERFMON"],
                  "capabilities: all dropped but BPF and PERFMON")
    harness.check(sc.get("readOnlyRootFilesystem") is True and
                  sc.get("allowPrivilegeEscalation") is False and not sc.get("privileged"),
                  "read-only root, no privilege escalation, not privileged")
    harness.check(sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0,
                  f"runAsNonRoot, runAsUser {sc.get('runAsUser')}")
    harness.check(sc.get("seccompProfile") == {"type": "RuntimeDefault"} and
                  sc.get("appArmorProfile") == {"type": "RuntimeDefault"},
                  f"the runtime's default seccomp and AppArmor profiles "
                  f"({sc.get('seccompProfile')}, {sc.get('appArmorProfile')})")
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    btf = [m for m in mounts.values() if m["mountPath"] == "/sys/kernel/btf"]
    harness.check(len(btf) == 1 and btf[0].get("readOnly") is True and
                  vols[btf[0]["name"]]["hostPath"]["path"] == "/sys/kernel/btf",
                  "/sys/kernel/btf mounted read-only from the host")
    port = next(p for p in c["ports"] if p["name"] == "metrics")["containerPort"]
    harness.check(not c.get("command"), "no command: the image's entrypoint is completed by args")
    # The ConfigMaps' files, by the directory they are mounted over.
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in docs
                   if d.get("kind") == "ConfigMap"}
    files = {mounts[v["name"]]["mountPath"]: config_maps[v["configMap"]["name"]]
             for v in vols.values() if "configMap" in v}
    entry_config = next(a.split("=", 1)[1] for a in cfg["Entrypoint"]
                        if a.startswith("--config.file="))
    config = files.get(os.path.dirname(entry_config), {}).get(os.path.basename(entry_config))
    harness.check(config is not None and f'listen_address: ":{port}"' in config,
                  f"the entrypoint's {entry_config} comes from a ConfigMap, listening on {port}")
    probe = c["readinessProbe"]["httpGet"]
    harness.check(c["livenessProbe"]["httpGet"] == probe and probe["port"] == "metrics",
                  f"both probes ask the metrics port: {probe}")
    return c.get("args", []), files, probe["path"], sc


def mount_config_maps(files, rootfs):
    """What the kubelet does with the ConfigMap volumes: their files in place
    of whatever the image had at each mount path."""
    for path, data in files.items():
        target = rootfs + path
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(target)
        for name, text in data.items():
            with open(os.path.join(target, name), "w") as f:
                f.write(text)


# --- running it -------------------------------------------------------------

def with_port(args, port):
    return [a for a in args if not a.startswith("--web.listen-address=")] + [
        f"--web.listen-address=127.0.0.1:{port}"]


def unpack(layers, rootfs):
    """The layers applied as containerd applies them: file capabilities
    (the security.capability xattr) included."""
    caps = {}
    for layer in layers:
        for m, data in layer_files(layer):
            path = os.path.join(rootfs, m.name)
            if m.isdir():
                os.makedirs(path, exist_ok=True)
            elif m.isfile():
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(data)
            elif m.issym():
                os.symlink(m.linkname, path)
            else:
                continue
            if not m.issym():
                os.chmod(path, m.mode)
            for key, value in m.pax_headers.items():
                if key.startswith("SCHILY.xattr."):
                    raw = value.encode("utf-8", "surrogateescape")
                    os.setxattr(path, key[len("SCHILY.xattr."):], raw)
                    if key.endswith("security.capability"):
                        caps["/" + m.name] = file_caps(raw)
    return caps


def layer_files(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|") as t:
        for m in t:
            yield m, t.extractfile(m).read() if m.isfile() else None


def file_caps(raw):
    """(permitted bits, effective flag) of a vfs_cap_data xattr (revision 2)."""
    magic, lo, _, hi, _ = struct.unpack("<IIIII", raw[:20])
    return lo | hi << 32, bool(magic & 1)


# --- the runtime: containerd's CRI, as runc sees it ---------------------------

def containerd_default_profile(caps, work):
    """The seccomp profile a pod's RuntimeDefault selects under containerd,
    made by containerd's own code (tests/package/containerd_seccomp)."""
    if not shutil.which("go"):
        harness.skip("go is not installed (packaging/install-deps.sh --test)")
    gen = os.path.join(work, "containerd-seccomp")
    env = dict(os.environ, GOPATH="/usr/share/gocode", GO111MODULE="off",
               GOCACHE=os.path.join(work, "gocache"), GOFLAGS="")
    built = subprocess.run(["go", "build", "-o", gen, "main.go"],
                           cwd=os.path.join(HERE, "containerd_seccomp"), env=env,
                           capture_output=True, text=True)
    harness.check(built.returncode == 0, f"containerd's default seccomp profile built "
                  f"from its source: {built.stderr[-800:]}")
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}",
                              "golang-github-containerd-containerd-dev"],
                             capture_output=True, text=True).stdout
    harness.log(f"RuntimeDefault: containerd {version}'s default profile for {caps}")
    return json.loads(subprocess.run([gen] + caps, check=True, capture_output=True,
                                     text=True).stdout)


def docker_profile_for(path, caps):
    """A profile in the Docker/containers-common format (podman's and
    CRI-O's default, /usr/share/containers/seccomp.json) resolved for CAPS
    on x86-64, in the OCI form runc takes."""
    p = json.load(open(path))
    arches = [a for m in p.get("archMap", []) if m["architecture"] == "SCMP_ARCH_X86_64"
              for a in [m["architecture"]] + m.get("subArchitectures", [])]

    def applies(rule):
        inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
        return (all(c in caps for c in inc.get("caps") or []) and
                not any(c in caps for c in exc.get("caps") or []) and
                "amd64" in (inc.get("arches") or ["amd64"]) and
                "amd64" not in (exc.get("arches") or []))
    keep = ("names", "action", "args", "errnoRet")
    return {"defaultAction": p["defaultAction"],
            "defaultErrnoRet": p.get("defaultErrnoRet", 1), "architectures": arches,
            "syscalls": [{k: r[k] for k in keep if r.get(k) is not None}
                         for r in p["syscalls"] if applies(r)]}


def pod_process(sc, image_user):
    """(uid, gid, capabilities, no_new_privs) the CRI gives the container:
    runAsUser/runAsGroup over the image's user; the added capabilities as
    bounding, effective and permitted set (containerd's WithCapabilities:
    no inheritable, no ambient)."""
    uid, gid = (int(x) for x in image_user.split(":"))
    caps = ["CAP_" + c for c in sc["capabilities"]["add"]]
    return (sc.get("runAsUser", uid), sc.get("runAsGroup", gid), caps,
            sc.get("allowPrivilegeEscalation") is False)


def write_bundle(bundle, rootfs, argv, process, profile, binds):
    """An OCI bundle as containerd's CRI writes it for the DaemonSet's pod:
    runc's default spec, the pod's user, capabilities and no_new_privs, the
    seccomp profile, a read-only root, the host's network and UTS
    namespaces (hostNetwork), no rlimits (this machine refuses raising
    them: no CAP_SYS_RESOURCE), BTF and the ConfigMaps bound read-only."""
    subprocess.run(["runc", "spec", "--bundle", bundle], check=True)
    path = os.path.join(bundle, "config.json")
    spec = json.load(open(path))
    uid, gid, caps, nnp = process
    proc = spec["process"]
    proc.update(terminal=False, args=argv, user={"uid": uid, "gid": gid},
                noNewPrivileges=nnp,
                capabilities={"bounding": caps, "effective": caps, "permitted": caps})
    proc.pop("rlimits", None)
    spec["root"] = {"path": rootfs, "readonly": True}
    spec.pop("hostname", None)
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"]
                                   if n["type"] not in ("network", "uts")]
    spec["linux"]["seccomp"] = profile
    spec["mounts"] += [{"destination": dst, "type": "bind", "source": src,
                        "options": ["rbind", "ro"]} for src, dst in binds]
    with open(path, "w") as f:
        json.dump(spec, f)


def run_runc(bundle, state, name):
    """runc run in a private mount namespace whose cgroup2 mount is its own
    (runc's cgroupfs driver writes into it), so nothing outlives the test."""
    script = ("umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && "
              f"exec runc --root {state} run --bundle {bundle} {name}")
    return subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                             script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def container_pid(state, name, proc):
    deadline = time.time() + 20
    while time.time() < deadline and proc.poll() is None:
        out = subprocess.run(["runc", "--root", state, "state", name], capture_output=True,
                             text=True)
        if out.returncode == 0 and json.loads(out.stdout).get("pid"):
            return json.loads(out.stdout)["pid"]
        time.sleep(0.1)
    if proc.poll() is not None:
        return None  # it ran and exited already: stop() returns its log
    raise harness.Failure("runc did not start the container within 20 s")


def proc_status(pid):
    return dict(line.rstrip("\n").split(":\t", 1) for line in open(f"/proc/{pid}/status")
                if ":\t" in line)


def attached(port):
    return {l["hook"] for n, l, v in harness.parse(harness.scrape(port))
            if n == "netstacklat_exporter_hook_attached" and v == 1}


def wait_serving(port, proc, what):
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise harness.Failure(f"{what} exited {proc.returncode}: {proc.stdout.read()}")
        try:
            if "netstacklat_exporter_hook_attached" in harness.scrape(port):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise harness.Failure(f"{what} did not serve within 60 s")


def scrape_live(port):
    for _ in range(20):  # loopback traffic, read by sockets: socket-read samples
        harness.scrape(port)
    counts = harness.by_hook(harness.parse(harness.scrape(port)), "_count")
    harness.log("counts: " + ", ".join(f"{h}={v:.0f}" for h, v in sorted(counts.items())))
    harness.check(counts.get("tcp-socket-read", 0) > 0,
                  "the image's daemon serves live histograms (tcp-socket-read counted)")


def host_reference(daemon):
    """The hooks this kernel lets the daemon attach, as root on the host."""
    port = harness.free_port()
    proc = harness.start_daemon(daemon, port, 60)
    try:
        return attached(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


class Pod:
    """The image run by runc as the DaemonSet's pod, with PROFILE."""

    def __init__(self, work, name, rootfs, argv, process, profile, binds):
        self.bundle = os.path.join(work, name)
        self.state = os.path.join(work, "runc-state")
        self.name = f"nstl-{name}-{os.getpid()}"
        os.makedirs(self.bundle)
        write_bundle(self.bundle, rootfs, argv, process, profile, binds)
        self.proc = run_runc(self.bundle, self.state, self.name)
        self.pid = container_pid(self.state, self.name, self.proc)

    def stop(self):
        """SIGTERM as the kubelet sends it; (exit code, log)."""
        if self.proc.poll() is None and self.pid:
            os.kill(self.pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        subprocess.run(["runc", "--root", self.state, "delete", "--force", self.name],
                       capture_output=True)
        return rc, self.proc.stdout.read()


def check_pod_process(pid, process):
    uid, gid, _, _ = process
    st = proc_status(pid)
    harness.log(f"the pod's daemon: Uid {st['Uid']}, Gid {st['Gid']}, Groups "
                f"{st.get('Groups', '')!r}, NoNewPrivs {st['NoNewPrivs']}, Seccomp "
                f"{st['Seccomp']}")
    harness.check(st["Uid"].split() == [str(uid)] * 4 and st["Gid"].split() == [str(gid)] * 4
                  and uid != 0, f"it runs as {uid}:{gid}, not uid 0 (real, effective, saved, fs)")
    harness.check(st["Seccomp"] == "2" and st["NoNewPrivs"] == "1",
                  "under a seccomp filter (mode 2), with no_new_privs")


def run(args):
    if os.geteuid() != 0:
        harness.skip("needs root (image build storage, runc, BPF)")
    for tool in ("buildah", "runc", "setcap"):
        if not shutil.which(tool):
            harness.skip(f"{tool} is not installed (packaging/install-deps.sh --test)")
    banner = subprocess.run([args.daemon, "--version"], capture_output=True, text=True).stdout
    version = banner.split("version ")[1].split()[0]
    revision = banner.split("revision: ")[1].split(")")[0]
    t0 = time.time()
    archive = subprocess.run([BUILD_IMAGE, args.daemon, args.out], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
    harness.log(f"built {archive} in {time.time() - t0:.1f} s")
    work = tempfile.mkdtemp(prefix="nstl-image-", dir="/var/tmp")
    pods = []
    try:
        cfg, layers = inspect(archive, os.path.join(work, "layout"), version, revision)
        dargs, config_files, probe_path, sc = check_manifest(args.manifest, version, cfg)
        rootfs = os.path.join(work, "rootfs")
        os.mkdir(rootfs)
        caps = unpack(layers, rootfs)
        want = ((1 << CAP_BPF) | (1 << CAP_PERFMON), True)
        harness.check(caps.get(cfg["Entrypoint"][0]) == want and len(caps) == 1,
                      f"only the entrypoint has file capabilities, CAP_BPF and CAP_PERFMON, "
                      f"effective ({caps})")
        config_root = os.path.join(work, "config-maps")
        mount_config_maps(config_files, config_root)
        binds = [("/sys/kernel/btf", "/sys/kernel/btf")] + [
            (config_root + path, path) for path in config_files]
        process = pod_process(sc, cfg["User"])
        port = harness.free_port()
        argv = with_port(cfg["Entrypoint"] + (cfg.get("Cmd") or []) + dargs, port)
        reference = host_reference(args.daemon)
        harness.log(f"as root on the host the daemon attaches {sorted(reference)}")

        profile = containerd_default_profile(process[2], work)
        pods.append(Pod(work, "runtime-default", rootfs, argv, process, profile, binds))
        pod = pods[-1]
        harness.log("path taken: runc (containerd's runtime) with the spec containerd's CRI "
                    "writes for the DaemonSet: user, capabilities, no_new_privs, RuntimeDefault "
                    "seccomp, read-only root, host network, BTF and the ConfigMap mounted")
        wait_serving(port, pod.proc, "the pod")
        check_pod_process(pod.pid, process)
        got = attached(port)
        harness.check(got == reference, f"under RuntimeDefault as {process[0]} it attaches what "
                      f"root on the host does ({sorted(got)})")
        scrape_live(port)
        code, status, body = harness.curl(port, scheme="http", path=probe_path)
        harness.check(status == 200 and body == "OK\n",
                      f"the probes' {probe_path}: {status} {body!r}")
        harness.check_no_thread_capabilities(pod.pid, (1 << CAP_BPF) | (1 << CAP_PERFMON),
                                             "the image as the DaemonSet runs it")
        rc, log = pod.stop()
        harness.check(rc == 0, f"it exits 0 on SIGTERM (got {rc})")
        harness.log("its log:\n" + log)
        podman_default(work, rootfs, argv, process, binds, port)
    finally:
        for pod in pods:
            pod.stop()
        shutil.rmtree(work, ignore_errors=True)


def podman_default(work, rootfs, argv, process, binds, port):
    """The teeth, and a limit the docs state: podman's and CRI-O's default
    profile as Debian 12 ships it (containers-common) admits bpf() and
    perf_event_open() only with CAP_SYS_ADMIN, so under it the same pod
    attaches nothing."""
    path = "/usr/share/containers/seccomp.json"
    if not os.path.exists(path):
        harness.skip(f"{path} is not installed (golang-github-containers-common; "
                     "packaging/install-deps.sh --test)")
    pod = Pod(work, "containers-common", rootfs, argv, process,
              docker_profile_for(path, process[2]), binds)
    deadline = time.time() + 30
    while pod.proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    rc, log = pod.stop()
    harness.check(rc not in (0, None) and "a seccomp filter refuses bpf()" in log,
                  f"under containers-common's default profile (podman, CRI-O) bpf() is "
                  f"refused and the start fails naming the filter (exit {rc})")
    harness.log("its log:\n" + log[-1500:])


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--daemon", required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    return harness.run_reporting(run, args)


if __name__ == "__main__":
    sys.exit(main())
