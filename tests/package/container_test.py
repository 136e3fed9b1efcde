#!/usr/bin/env python3
"""The OCI image and the DaemonSet that runs it.

Builds netstacklat-exporter:<version> with packaging/container/build-image.sh,
inspects the archive (labels, entrypoint, user, contents: no shell, no
package manager; size uncompressed), checks the DaemonSet manifest's
structure against it (image, args, capabilities, mounts), and runs it as the
DaemonSet would (host network, read-only root, only CAP_BPF and CAP_PERFMON,
BTF mounted, the ConfigMap's files over the image's config directory) with
the manifest's args: through `podman run` where containers
can run; where they cannot (podman missing, or crun refused as on these
machines, which lack CAP_SYS_RESOURCE for its rlimits), by unpacking the
image's root file system and running its entrypoint chrooted in a private
mount namespace, read-only, with a capability bounding set of exactly
CAP_BPF and CAP_PERFMON and no_new_privs (allowPrivilegeEscalation: false).
It says which path it took. Either way it scrapes live histograms from it,
asks the probes' path as the kubelet does, and checks that no thread of the
running daemon holds a capability.

  container_test.py --daemon BINARY --manifest MANIFEST.yaml --out DIR

Exit codes: 0 pass, 1 fail, 77 skipped (never under CI=true).
"""
import argparse
import ctypes
import gzip
import json
import os
import shutil
import signal
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
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
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
    harness.check(cfg.get("User") in ("0:0", "0", "root"), f"runs as root ({cfg.get('User')})")
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
    return c.get("args", []), files, probe["path"]


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


def try_podman(archive, image, args, port, config_root):
    """A Popen of the container, or None with the reason podman cannot run it."""
    if not shutil.which("podman"):
        return None, "podman is not installed"
    load = subprocess.run(["podman", "load", "-q", "-i", archive], capture_output=True,
                          text=True)
    if load.returncode != 0:
        return None, "podman load: " + load.stderr.strip()
    cmd = ["podman", "run", "--rm", "--name", f"nstl-test-{os.getpid()}", "--net=host",
           "--read-only", "--cap-drop=ALL", "--cap-add=BPF,PERFMON",
           "--security-opt", "seccomp=unconfined",
           "-v", "/sys/kernel/btf:/sys/kernel/btf:ro"] + [
               f"-v={config_root}{path}:{path}:ro" for path in mounted(config_root)] + [
               image] + with_port(args, port)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=3)  # exits at once when crun refuses
        return None, f"podman run exited {proc.returncode}: {out.strip()[-300:]}"
    except subprocess.TimeoutExpired:
        return proc, ""


def mounted(config_root):
    """The mount paths under config_root that mount_config_maps filled."""
    return ["/" + os.path.relpath(d, config_root) for d, _, files in os.walk(config_root)
            if files]


def unpack(layers, rootfs):
    for layer in layers:
        opener = gzip.open if open(layer, "rb").read(2) == b"\x1f\x8b" else open
        with opener(layer, "rb") as raw, tarfile.open(fileobj=raw, mode="r|") as t:
            t.extractall(rootfs)


def run_chrooted(rootfs, argv):
    """In a private mount namespace (unshare): the image's root read-only,
    /proc, /sys and /dev as a runtime gives them, chroot, a bounding set of
    exactly CAP_BPF and CAP_PERFMON, exec the entrypoint as root."""
    def sh(*a):
        subprocess.run(a, check=True)
    sh("mount", "--bind", rootfs, rootfs)
    sh("mount", "-o", "remount,bind,ro", rootfs)
    sh("mount", "-t", "proc", "proc", f"{rootfs}/proc")
    sh("mount", "--rbind", "/sys", f"{rootfs}/sys")
    sh("mount", "--rbind", "/dev", f"{rootfs}/dev")
    os.chroot(rootfs)
    os.chdir("/")
    libc = ctypes.CDLL(None, use_errno=True)
    # allowPrivilegeEscalation: false is no_new_privs at exec.
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    for cap in range(64):
        if cap in (CAP_BPF, CAP_PERFMON):
            continue
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            if ctypes.get_errno() == 22:  # EINVAL: past the kernel's last cap
                break
            raise OSError(ctypes.get_errno(), f"PR_CAPBSET_DROP {cap}")
    os.execv(argv[0], argv)


def cap_bounding(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("CapBnd:"):
            return int(line.split()[1], 16)
    return None


def daemon_pid(proc):
    """The daemon's pid: proc's own when chrooted (exec all the way down),
    the container's init when podman runs it."""
    if os.path.basename(proc.args[0]) != "podman":
        return proc.pid
    out = subprocess.run(["podman", "inspect", "-f", "{{.State.Pid}}", f"nstl-test-{os.getpid()}"],
                         capture_output=True, text=True).stdout.strip()
    return int(out)


def scrape_live(port, proc):
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise harness.Failure(f"the image's daemon exited {proc.returncode}: "
                              f"{proc.stdout.read()}")
        try:
            text = harness.scrape(port)
            if "netstacklat_exporter_hook_attached" in text:
                break
        except OSError:
            pass
        time.sleep(0.2)
    for _ in range(20):  # loopback traffic, read by sockets: socket-read samples
        harness.scrape(port)
    samples = harness.parse(harness.scrape(port))
    counts = harness.by_hook(samples, "_count")
    harness.log("counts: " + ", ".join(f"{h}={v:.0f}" for h, v in sorted(counts.items())))
    harness.check(counts.get("tcp-socket-read", 0) > 0,
              "the image's daemon serves live histograms (tcp-socket-read counted)")


def run(args):
    if os.geteuid() != 0:
        harness.skip("needs root (image build storage, chroot, BPF)")
    if not shutil.which("buildah"):
        harness.skip("buildah is not installed (packaging/install-deps.sh --test)")
    banner = subprocess.run([args.daemon, "--version"], capture_output=True, text=True).stdout
    version = banner.split("version ")[1].split()[0]
    revision = banner.split("revision: ")[1].split(")")[0]
    t0 = time.time()
    archive = subprocess.run([BUILD_IMAGE, args.daemon, args.out], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
    harness.log(f"built {archive} in {time.time() - t0:.1f} s")
    work = tempfile.mkdtemp(prefix="nstl-image-", dir="/var/tmp")
    proc = None
    try:
        cfg, layers = inspect(archive, os.path.join(work, "layout"), version, revision)
        dargs, config_files, probe_path = check_manifest(args.manifest, version, cfg)
        argv = cfg["Entrypoint"] + (cfg.get("Cmd") or []) + dargs
        port = harness.free_port()
        config_root = os.path.join(work, "config-maps")
        mount_config_maps(config_files, config_root)
        proc, why = try_podman(archive, f"netstacklat-exporter:{version}", dargs, port,
                               config_root)
        if proc:
            harness.log("path taken: podman run (--net=host --read-only --cap-drop=ALL "
                    "--cap-add=BPF,PERFMON, BTF mounted)")
        else:
            harness.log(f"podman cannot run it here ({why}); path taken: the image's root file "
                    "system unpacked, its entrypoint run chrooted, read-only, with only "
                    "CAP_BPF and CAP_PERFMON in its bounding set")
            rootfs = os.path.join(work, "rootfs")
            os.mkdir(rootfs)
            unpack(layers, rootfs)
            mount_config_maps(config_files, rootfs)
            proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", sys.executable,
                 os.path.abspath(__file__), "--run-chrooted", rootfs, "--"] +
                with_port(argv, port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True)
            time.sleep(0.5)
            bnd = cap_bounding(proc.pid)
            harness.check(bnd == (1 << CAP_BPF) | (1 << CAP_PERFMON),
                      f"its capability bounding set is CAP_BPF+CAP_PERFMON ({bnd:#x})")
        scrape_live(port, proc)
        code, status, body = harness.curl(port, scheme="http", path=probe_path)
        harness.check(status == 200 and body == "OK\n",
                      f"the probes' {probe_path}: {status} {body!r}")
        harness.check_no_thread_capabilities(daemon_pid(proc), (1 << CAP_BPF) |
                                         (1 << CAP_PERFMON), "the image as the DaemonSet runs it")
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        log = proc.stdout.read()
        harness.check(rc == 0, f"it exits 0 on SIGTERM (got {rc})")
        harness.log("its log:\n" + log)
    finally:
        if proc and proc.poll() is None:
            proc.kill()
        if shutil.which("podman"):  # loaded by try_podman
            subprocess.run(["podman", "rmi", "-f", f"netstacklat-exporter:{version}"],
                           capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--run-chrooted":
        run_chrooted(sys.argv[2], sys.argv[4:])
        return 1  # not reached
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--daemon", required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    return harness.run_reporting(run, args)


if __name__ == "__main__":
    sys.exit(main())
