#!/usr/bin/env python3
"""The .deb under a real systemd as PID 1, as every fleet runs it.

A fresh Debian 12 root (mmdebstrap, cached like package_fresh_machine's),
the .deb installed into it by apt-get (which pulls the dependencies from the
archive), booted with systemd-nspawn --boot: systemd is PID 1 of the
container, on this machine's kernel, in its network namespace. Everything
is driven from outside with nsenter (systemctl, journalctl) and scraped over
loopback; each step prints its time.

Why nspawn and not QEMU: it boots in seconds on the kernel whose hooks the
other host tests measure, with the BPF of that kernel (the programs it loads
are the host's, seen by bpftool here); QEMU would need a disk image and a
TCG boot per run. fentry (refused on this kernel) is covered by the VM
tests. nspawn needs --register=no --keep-unit (no system bus here) and, for
BPF, CAP_BPF and CAP_PERFMON plus bpf() and perf_event_open() allowed by its
own seccomp filter: that is what the container grants, and the unit's own
settings are then applied by the container's systemd as on any host.

Steps: the package enabled the unit and boot started it; `systemctl start`
returns only once /metrics serves the attached hooks (Type=notify); as many
hooks attached as plain root attaches with the same binary; live
histograms; no capability in any thread (CapInh, CapPrm, CapEff, CapAmb 0,
NoNewPrivs, the unit's bounding set, a seccomp filter); `systemctl reload`
keeps the counts; the journal holds the start-up lines, the hooks this
kernel lacks at priority warning and nothing at err; every sandbox
directive of the unit proven by a probe (tests/package/sandbox_probe.sh)
run with no sandbox, with the unit's, and with each directive alone;
`systemd-analyze security`'s exposure score; kill -9 brings it back
(Restart=on-failure); `systemctl stop` leaves no BPF program, map or link.

  systemd_test.py --deb-dir DIR [--cache DIR]
Exit codes: 0 pass, 1 fail, 77 skipped (never under CI=true).
"""
import argparse
import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = "netstacklat-exporter.service"
UNIT_PATH = "/lib/systemd/system/" + UNIT
CAP_BPF_PERFMON = (1 << 39) | (1 << 38)
ROOTFS_MAX_AGE_DAYS = 7
BPF_NAME = re.compile(r"name (nstl_\S+|netstack\S*)")

# Which probe actions each directive refuses on its own (sandbox_probe.sh).
PROOF = {
    "CapabilityBoundingSet": ["mknod", "cap-sys-admin-bounding", "packet-socket", "realtime"],
    "NoNewPrivileges": ["no-new-privs-unset"],
    # Root without a capability still owns root's files and processes.
    "User": ["read-shadow", "signal-root-process"],
    "ProtectSystem": ["write-usr", "write-etc", "write-var"],
    "ProtectHome": ["see-home-files"],
    "PrivateTmp": ["see-shared-tmp"],
    "PrivateDevices": ["see-dev-console", "open-dev-tun"],
    "PrivateIPC": ["see-shared-ipc"],
    "ProtectKernelModules": ["see-modules"],
    "ProtectHostname": ["set-hostname"],
    "ProcSubset": ["see-proc-cpuinfo", "read-proc-kmsg"],
    "UMask": ["nonzero-umask"],
    "RestrictAddressFamilies": ["netlink-socket", "packet-socket"],
    "RestrictNamespaces": ["user-namespace"],
    "RestrictRealtime": ["realtime"],
    "RestrictSUIDSGID": ["setuid-bit"],
    "LockPersonality": ["personality"],
    "MemoryDenyWriteExecute": ["write-exec-memory"],
    "SystemCallFilter": ["ptrace-traceme", "mount-syscall"],
}
# What no probe can show alone here, and why; the test fails if the unit
# gains a directive that is in neither table.
UNPROVABLE = {
    "AmbientCapabilities": "grants CAP_BPF and CAP_PERFMON to the non-root User= (alone, "
                           "root has them already); the daemon drops them: CapAmb 0 is "
                           "checked per thread",
    "Group": "User='s own group (alone, as root, there is nothing for it to refuse)",
    "SecureBits": "noroot-locked: with the bounding set and NoNewPrivileges an exec gains "
                  "nothing anyway; the full sandbox refuses clear-noroot-securebit",
    "DevicePolicy": "closed: nspawn's device cgroup already allows only what it allows "
                    "(PrivateDevices hides the rest)",
    "ProtectKernelTunables": "nspawn mounts /proc/sys read-only already",
    "ProtectKernelLogs": "nspawn grants no CAP_SYSLOG, and ProcSubset=pid hides /proc/kmsg",
    "ProtectControlGroups": "nspawn's cgroup file system refuses writes already",
    "ProtectClock": "nspawn's seccomp filter refuses adjtimex already",
    "ProtectProc": "invisible: alone the probe runs as root, whom hidepid exempts; with "
                   "the unit's User= the full sandbox refuses see-other-users and see-pid1",
    "KeyringMode": "private: no keyutils in a minimal root to look at keyrings",
    "RemoveIPC": "applies only with a non-root User= (alone the probe runs as root)",
    "SystemCallArchitectures": "native: this kernel refuses x32 system calls already",
}
# Allowed without a sandbox, allowed with the unit's: what the unit lets
# through on purpose (nothing since it runs as its own user; before, as
# root, hidepid let it see PID 1 and other users' processes).
ALLOWED_IN_FULL = set()


class Timer:
    def __init__(self):
        self.steps = []

    @contextlib.contextmanager
    def step(self, name):
        t0 = time.monotonic()
        yield
        dt = time.monotonic() - t0
        self.steps.append((name, dt))
        harness.log(f"step: {name}: {dt:.2f} s")


# --- the root file system ---------------------------------------------------

def cached_rootfs(cache):
    """A tar of Debian 12 with apt and systemd (mmdebstrap), rebuilt weekly."""
    tar = os.path.join(cache, "bookworm-systemd.tar")
    fresh = os.path.exists(tar) and time.time() - os.path.getmtime(tar) < \
        ROOTFS_MAX_AGE_DAYS * 86400
    if not fresh:
        os.makedirs(cache, exist_ok=True)
        partial = tar + ".partial"
        subprocess.run(["mmdebstrap", "--quiet", "--variant=apt",
                        "--include=systemd,systemd-sysv,dbus", "--format=tar", "bookworm",
                        partial], check=True)
        os.replace(partial, tar)
    harness.log(f"root file system: {tar} ({'cached' if fresh else 'made now'}, "
                f"{os.path.getsize(tar) >> 20} MB)")
    return tar


def nspawn(root, *args, boot=False):
    cmd = ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "-D", root]
    if boot:
        cmd += ["--boot", "--capability=CAP_BPF,CAP_PERFMON",
                "--system-call-filter=bpf perf_event_open"]
    return cmd + list(args)


def install(root, deb):
    """apt-get install ./DEB inside ROOT, with the machine's apt sources."""
    for d in ("sources.list.d", "apt.conf.d"):
        shutil.copytree(f"/etc/apt/{d}", f"{root}/etc/apt/{d}", dirs_exist_ok=True)
    if os.path.exists("/etc/apt/sources.list"):
        shutil.copy("/etc/apt/sources.list", f"{root}/etc/apt/")
    shutil.copy("/etc/resolv.conf", f"{root}/etc/resolv.conf")
    # Not /tmp: nspawn mounts a tmpfs there.
    shutil.copy(deb, f"{root}/var/tmp/")
    r = subprocess.run(nspawn(root, "sh", "-c",
                              "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get "
                              "install -y -qq --no-install-recommends /var/tmp/" +
                              os.path.basename(deb)), capture_output=True, text=True)
    harness.check(r.returncode == 0, f"apt-get install ./{os.path.basename(deb)} in the fresh root"
                  + ("" if r.returncode == 0 else f": {r.stdout[-2000:]}{r.stderr[-2000:]}"))


def add_option(root, option):
    """Appends to OPTIONS= of /etc/default/netstacklat-exporter, as an admin would."""
    path = f"{root}/etc/default/netstacklat-exporter"
    text = open(path).read()
    text, n = re.subn(r'^OPTIONS="([^"]*)"', lambda m: f'OPTIONS="{m.group(1)} {option}"', text,
                      flags=re.M)
    harness.check(n == 1, "/etc/default/netstacklat-exporter has one OPTIONS line")
    open(path, "w").write(text)


def prepare_probes(root):
    shutil.copy(os.path.join(HERE, "sandbox_probe.sh"), f"{root}/usr/local/bin/nstl-sandbox-probe")
    os.chmod(f"{root}/usr/local/bin/nstl-sandbox-probe", 0o755)
    # What the probe looks for: a file in /root, /tmp and /lib/modules.
    open(f"{root}/root/.nstl-probe-marker", "w").close()
    os.makedirs(f"{root}/usr/lib/modules/nstl-probe-marker", exist_ok=True)
    with open(f"{root}/etc/systemd/system/nstl-probe-other-user.service", "w") as f:
        f.write("[Service]\nUser=nobody\nExecStart=/bin/sleep infinity\n")


# --- plain root, for reference ----------------------------------------------

def hooks_attached(text):
    return {l["hook"] for n, l, v in harness.parse(text)
            if n == "netstacklat_exporter_hook_attached" and v == 1}


def wait_serving(port, proc=None, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc and proc.poll() is not None:
            raise harness.Failure(f"exited {proc.returncode}: {proc.stdout.read()}")
        try:
            text = harness.scrape(port)
            if "netstacklat_exporter_hook_attached" in text:
                return text
        except OSError:
            pass
        time.sleep(0.1)
    raise harness.Failure(f"nothing served on port {port} within {timeout} s")


def plain_root_hooks(root):
    """The installed binary, chrooted into ROOT as plain root (every
    capability): the hooks this kernel lets it attach."""
    port = harness.free_port()
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount -t proc proc "$0/proc" && mount --rbind /sys "$0/sys" && '
         'mount --rbind /dev "$0/dev" && exec chroot "$0" "$@"', root,
         "/usr/bin/netstacklat-exporter", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        return hooks_attached(wait_serving(port, proc))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --- the booted container ---------------------------------------------------

class Container:
    def __init__(self, root):
        self.root = root
        self.proc = subprocess.Popen(nspawn(root, boot=True), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.leader = self._find_leader()

    def _find_leader(self):
        """The container's init: the child of systemd-nspawn in a PID
        namespace of its own. For its first ~4 ms nspawn has another child,
        in ours, that exits once it has forked init: taken for the leader,
        every nsenter failed and the boot looked 'not up' for 120 s (seen
        once in a CI run)."""
        own = os.readlink("/proc/self/ns/pid")
        for _ in range(200):
            if self.proc.poll() is not None:
                raise harness.Failure(f"systemd-nspawn exited {self.proc.returncode}: "
                                      f"{self.proc.stdout.read().decode(errors='replace')}")
            kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                                  capture_output=True, text=True).stdout.split()
            for kid in kids:
                try:
                    if os.readlink(f"/proc/{kid}/ns/pid") != own:
                        return int(kid)
                except OSError:
                    pass  # gone already: the forking helper
            time.sleep(0.05)
        raise harness.Failure("systemd-nspawn started no init")

    def wait_booted(self, timeout=120):
        """`systemctl is-system-running --wait`, once systemd listens."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not os.path.exists(f"/proc/{self.leader}"):
                raise harness.Failure(f"the container's init ({self.leader}) is gone")
            state = self.run("systemctl", "is-system-running", "--wait").stdout.strip()
            if state in ("running", "degraded", "maintenance", "stopping"):
                return state
            time.sleep(0.1)  # init not yet exec'd, or not yet listening
        return "not up"

    def run(self, *cmd, check=False):
        r = subprocess.run(["nsenter", "-t", str(self.leader), "-a"] + list(cmd),
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise harness.Failure(f"{' '.join(cmd)} exited {r.returncode}: {r.stdout}{r.stderr}")
        return r

    def systemctl(self, *args):
        return self.run("systemctl", "--no-pager", *args)

    def prop(self, name, unit=UNIT):
        return self.systemctl("show", "-p", name, "--value", unit).stdout.strip()

    def cursor(self):
        out = self.run("journalctl", "--show-cursor", "-n", "0", "--no-pager").stdout
        return out.rsplit("-- cursor: ", 1)[1].strip()

    def journal(self, unit, *args):
        return self.run("journalctl", "-u", unit, "-o", "cat", "--no-pager", *args).stdout

    def host_pid(self, pid):
        """The host's pid of the container's PID."""
        ns = os.readlink(f"/proc/{self.leader}/ns/pid")
        for p in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{p}/ns/pid") != ns:
                    continue
                nspid = [l for l in open(f"/proc/{p}/status") if l.startswith("NSpid:")][0]
            except OSError:
                continue
            if nspid.split()[-1] == str(pid):
                return int(p)
        raise harness.Failure(f"no host pid for the container's pid {pid}")

    def poweroff(self):
        if self.proc.poll() is None:
            # SIGTERM: nspawn asks the container's systemd to power off.
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # An nspawn killed hard leaves its container running (its systemd
        # reparented to ours, the daemon and its BPF programs with it):
        # killing the container's init ends every process of its namespace.
        try:
            if os.readlink(f"/proc/{self.leader}/ns/pid") != os.readlink("/proc/self/ns/pid"):
                os.kill(self.leader, signal.SIGKILL)
        except OSError:
            pass  # gone, as it should be


def counts(port):
    return harness.by_hook(harness.parse(harness.scrape(port)), "_count")


def bpf_ids():
    ids = set()
    for kind in ("prog", "map", "link"):
        out = subprocess.run(["bpftool", kind, "show"], capture_output=True, text=True).stdout
        ids |= {(kind, l.split(":")[0]) for l in out.splitlines() if l[:1].isdigit()}
    return ids


def ours_left(before, timeout=10):
    """Our BPF objects that appeared since `before` and are still there
    after up to `timeout` s (the kernel frees a map after its last fd
    closes, from a work queue)."""
    deadline = time.monotonic() + timeout
    while True:
        left = {i for i in bpf_ids() - before
                if BPF_NAME.search(subprocess.run(["bpftool", i[0], "show", "id", i[1]],
                                                  capture_output=True, text=True).stdout)}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def main_pid(c):
    pid = int(c.prop("MainPID") or 0)
    harness.check(pid > 0, f"the unit has a main pid ({pid})")
    return pid


# --- the sandbox probes -----------------------------------------------------

def system_user(root):
    """netstacklat-exporter's passwd entry in ROOT, split, or None."""
    return next((l.strip().split(":") for l in open(f"{root}/etc/passwd")
                 if l.startswith("netstacklat-exporter:")), None)


def check_dedicated_user(root, host_pid, what):
    """Least privilege: a capability-less uid 0 still reads root's files
    (/etc/shadow, host keys) and signals root's processes; every thread
    runs as the package's system user, with its own group and no other."""
    entry = system_user(root)
    want = ("\t".join([entry[2]] * 4), "\t".join([entry[3]] * 4))
    ids = {(st["Uid"], st["Gid"]) for st in harness.thread_status(host_pid).values()}
    # systemd's initgroups() lists the user's own group again, no other.
    groups = {st.get("Groups", "") for st in harness.thread_status(host_pid).values()}
    harness.check(ids == {want} and groups <= {"", entry[3]},
                  f"{what}: every thread's real, effective, saved and file uid/gid are "
                  f"netstacklat-exporter's ({entry[2]}/{entry[3]}), no other group "
                  f"({sorted(ids)}, groups {sorted(groups)})")


def check_failed_reload(c, root, pid):
    """A reload that applies nothing fails `systemctl reload` itself and
    shows in the status line; the daemon serves on with the running config,
    and the next good reload clears it. Before 2026-12-04 the unit's
    `kill -HUP` made every reload exit 0 and only the journal knew."""
    path = f"{root}/etc/netstacklat-exporter/netstacklat-exporter.yaml"
    good = open(path).read()
    try:
        with open(path, "a") as f:
            f.write("\nno_such_key: 1\n")
        r = c.systemctl("reload", UNIT)
        status = c.prop("StatusText")
        harness.check(r.returncode != 0 and "no_such_key" in r.stderr + c.journal(UNIT) and
                      status.startswith("reload failed") and "no_such_key" in status,
                      f"a reload that cannot apply: `systemctl reload` exits {r.returncode}, "
                      f"the status line says why ({status!r})")
        harness.check(c.systemctl("is-active", UNIT).stdout.strip() == "active" and
                      int(c.prop("MainPID")) == pid, "after it: still active, same main pid")
    finally:
        with open(path, "w") as f:
            f.write(good)
    r = c.systemctl("reload", UNIT)
    status = c.prop("StatusText")
    harness.check(r.returncode == 0 and "hooks attached" in status,
                  f"the next good reload exits 0 and restores the status line ({status!r})")


def check_memlock(c, host_pid):
    """LimitMEMLOCK=infinity (kernels before 5.11 charge maps to it): in
    force as far as the container's systemd can raise it. A host's PID 1
    raises it to infinity; here it cannot go past the hard limit this test
    inherited (no CAP_SYS_RESOURCE on this machine), and silently clamps."""
    with open(f"/proc/{host_pid}/limits") as f:
        soft, hard = next(l for l in f if l.startswith("Max locked memory")).split()[3:5]
    ours = resource.getrlimit(resource.RLIMIT_MEMLOCK)[1]
    most = "unlimited" if ours == resource.RLIM_INFINITY else str(ours)
    harness.check(c.prop("LimitMEMLOCK") == "infinity" and soft == hard == most,
                  f"the locked-memory limit kernels before 5.11 charge maps to: the unit asks "
                  f"infinity ({c.prop('LimitMEMLOCK')}), the daemon has {soft}/{hard}, the most "
                  f"this machine allows ({most})")


def sandbox_lines(root):
    """The shipped unit's [Service] settings that are sandboxing."""
    service = open(root + UNIT_PATH).read().split("[Service]", 1)[1].split("\n[", 1)[0]
    # LimitMEMLOCK grants (kernels before 5.11 charge maps to it): checked
    # on the running daemon instead.
    # RuntimeDirectory: where the reload's outcome is written, a grant.
    not_sandbox = re.compile(r"^(Type|EnvironmentFile|ExecStart|ExecReload|Restart|RestartSec|"
                             r"TimeoutStartSec|SystemCallErrorNumber|LimitMEMLOCK|"
                             r"RuntimeDirectory)=")
    return [l for l in service.splitlines()
            if l.strip() and not l.startswith("#") and not not_sandbox.match(l)]


def run_probes(c, variants):
    """{variant: {action: ALLOWED|REFUSED}}: sandbox_probe.sh as a oneshot
    unit per variant (its [Service] lines)."""
    for name, lines in variants.items():
        with open(f"{c.root}/etc/systemd/system/nstl-probe-{name}.service", "w") as f:
            f.write("[Service]\nType=oneshot\nExecStart=/usr/local/bin/nstl-sandbox-probe\n"
                    "SystemCallErrorNumber=EPERM\n" + "\n".join(lines) + "\n")
    c.systemctl("daemon-reload")
    c.run("sh", "-c", "touch /tmp/.nstl-probe-marker && ipcmk -Q >/dev/null", check=True)
    c.systemctl("start", "nstl-probe-other-user")
    results = {}
    for name in variants:
        cursor = c.cursor()
        c.systemctl("start", f"nstl-probe-{name}")
        out = c.run("journalctl", "-u", f"nstl-probe-{name}", "-o", "cat", "--no-pager",
                    f"--after-cursor={cursor}").stdout
        results[name] = dict(re.findall(r"^probe (\S+) (ALLOWED|REFUSED)$", out, re.M))
        if not results[name]:
            raise harness.Failure(f"the probe printed nothing under {name}: {out}")
    return results


def check_sandbox(c):
    lines = sandbox_lines(c.root)
    directives = [l.split("=", 1)[0] for l in lines]
    variants = {"none": [], "unit": lines}
    variants.update({d: [l] for d, l in zip(directives, lines)})
    res = run_probes(c, variants)
    none, unit = res["none"], res["unit"]
    harness.log("probe actions: without a sandbox / with the unit's:")
    for a in none:
        harness.log(f"  {a:24s} {none[a]:8s} {unit.get(a)}")
    leaks = [a for a in none if none[a] == "ALLOWED" and unit.get(a) == "ALLOWED"
             and a not in ALLOWED_IN_FULL]
    harness.check(not leaks, "the unit's sandbox refuses every probe action a bare unit may do"
                  + (f", but {sorted(ALLOWED_IN_FULL)}" if ALLOWED_IN_FULL else "")
                  + f" (let through: {leaks or 'none'})")
    unknown = [d for d in directives if d not in PROOF and d not in UNPROVABLE]
    harness.check(not unknown, f"every sandbox directive of the unit has a proof or a reason "
                  f"({len(directives)} directives; without either: {unknown})")
    for d in directives:
        alone = res[d]
        if d in UNPROVABLE:
            harness.log(f"  {d}: not provable alone here: {UNPROVABLE[d]}")
            continue
        proven = [a for a in PROOF[d] if none.get(a) == "ALLOWED" and alone.get(a) == "REFUSED"]
        harness.check(proven == PROOF[d], f"{d} alone refuses {PROOF[d]} (allowed without it)"
                      + ("" if proven == PROOF[d] else f"; refused: {proven}"))


# --- the test ---------------------------------------------------------------

def run(args):
    if os.geteuid() != 0:
        harness.skip("needs root (mmdebstrap, systemd-nspawn, BPF)")
    for tool in ("mmdebstrap", "systemd-nspawn", "nsenter", "bpftool"):
        if not shutil.which(tool):
            harness.skip(f"{tool} is not installed (packaging/install-deps.sh --test)")
    debs = sorted((os.path.join(args.deb_dir, f) for f in os.listdir(args.deb_dir)
                   if re.match(r"netstacklat-exporter_.*\.deb$", f)), key=os.path.getmtime)
    harness.check(bool(debs), f"a .deb in {args.deb_dir} (package_deb builds it)")
    timer = Timer()
    root = tempfile.mkdtemp(prefix="nstl-systemd-", dir="/var/tmp")
    c = None
    before = bpf_ids()
    try:
        with timer.step("root file system"):
            subprocess.run(["tar", "-C", root, "-xf", cached_rootfs(args.cache)], check=True)
        with timer.step("apt-get install the .deb"):
            install(root, debs[-1])
        # At install, not at the next boot (systemd-sysusers.service): the
        # unit starts before that on a running host.
        entry = system_user(root)
        harness.check(entry is not None and entry[2] != "0" and entry[6] == "/usr/sbin/nologin",
                      f"installing the package created the system user netstacklat-exporter, "
                      f"no login ({entry})")
        port = harness.free_port()
        add_option(root, f"--web.listen-address=127.0.0.1:{port}")
        prepare_probes(root)
        with timer.step("plain root, for reference"):
            reference = plain_root_hooks(root)
        harness.log(f"plain root attaches {len(reference)} hooks: {sorted(reference)}")

        with timer.step("boot to multi-user"):
            c = Container(root)
            state = c.wait_booted()
        harness.check(state in ("running", "degraded"), f"systemd booted ({state}): "
                      + c.systemctl("--failed", "--no-legend").stdout.strip())
        harness.check(c.systemctl("is-enabled", UNIT).stdout.strip() == "enabled",
                      "the package enabled the unit")
        harness.check(c.systemctl("is-active", UNIT).stdout.strip() == "active",
                      "boot started it: active")
        wait_serving(port)

        with timer.step("systemctl stop"):
            c.systemctl("stop", UNIT)
        with timer.step("systemctl start (returns at READY=1)"):
            r = c.systemctl("start", UNIT)
            try:
                first = harness.scrape(port)  # the first request after start returns
            except OSError as err:
                first = f"no answer: {err}"
        harness.check(r.returncode == 0, f"systemctl start exits 0 ({r.stderr.strip()})")
        harness.check("netstacklat_exporter_hook_attached" in first,
                      "the first scrape after `systemctl start` returns is complete (Type=notify)")
        harness.check(c.systemctl("is-active", UNIT).stdout.strip() == "active", "active")
        attached = hooks_attached(first)
        harness.check(attached == reference, f"the unit attaches what plain root attaches: "
                      f"{len(attached)} of 8 ({sorted(attached)}; STATUS: {c.prop('StatusText')})")

        harness.send_traffic()
        live = counts(port)
        harness.check(live.get("tcp-socket-read", 0) > 0 and live.get("udp-socket-read", 0) > 0,
                      f"live histograms: {live}")

        pid = main_pid(c)
        host_pid = c.host_pid(pid)
        harness.check_no_thread_capabilities(host_pid, CAP_BPF_PERFMON, "under systemd")
        check_dedicated_user(root, host_pid, "under systemd")
        check_memlock(c, host_pid)
        seccomp = {st["Seccomp"] for st in harness.thread_status(host_pid).values()}
        harness.check(seccomp == {"2"}, f"every thread runs under a seccomp filter ({seccomp})")

        c0 = sum(counts(port).values())
        with timer.step("systemctl reload"):
            r = c.systemctl("reload", UNIT)
        harness.check(r.returncode == 0 and c.systemctl("is-active", UNIT).stdout.strip() == "active"
                      and int(c.prop("MainPID")) == pid, "reload: still active, same main pid"
                      + ("" if r.returncode == 0 else f" ({r.stderr.strip()}; {c.journal(UNIT)})"))
        c1 = sum(counts(port).values())
        harness.check(c1 >= c0, f"reload keeps the counts ({c0:.0f} -> {c1:.0f})")
        log = c.journal(UNIT)
        for line in ("attached at", "dropped all capabilities", "no capability in any of",
                     "serving /metrics", "reloaded"):
            harness.check(line in log, f"the journal has '{line}'")
        warnings = c.journal(UNIT, "-p", "warning")
        missing = set(reference) ^ {"ip-start", "tcp-start", "udp-start", "tcp-socket-enqueued",
                                    "udp-socket-enqueued", "tcp-socket-read", "udp-socket-read",
                                    "netif-receive"}
        harness.check(all(f"hook {h} not attached" in warnings for h in missing),
                      f"journalctl -p warning shows the hooks this kernel lacks ({sorted(missing)})")
        errors = c.journal(UNIT, "-p", "err").strip()
        harness.check(errors in ("", "-- No entries --"), f"journalctl -p err: nothing ({errors!r})")
        check_failed_reload(c, root, pid)  # after: it logs at err on purpose

        with timer.step("sandbox probes"):
            check_sandbox(c)
        score = c.run("systemd-analyze", "security", "--no-pager", UNIT).stdout
        level = re.search(r"Overall exposure level for \S+: (\S+ \S+)", score)
        harness.log(f"systemd-analyze security: exposure {level.group(1) if level else score}")
        harness.check(level is not None and float(level.group(1).split()[0]) <= 2.0,
                      "exposure score 2.0 or better")

        with timer.step("kill -9, restarted by systemd"):
            c.systemctl("kill", "-s", "KILL", UNIT)
            deadline = time.monotonic() + 40  # RestartSec=10s
            while time.monotonic() < deadline:
                new = int(c.prop("MainPID") or 0)
                if new not in (0, pid) and c.systemctl("is-active", UNIT).stdout.strip() == \
                        "active":
                    break
                time.sleep(0.2)
            wait_serving(port)
        harness.check(new not in (0, pid), f"Restart=on-failure: back with main pid {new} "
                      f"(was {pid}), NRestarts={c.prop('NRestarts')}")
        harness.check_no_thread_capabilities(c.host_pid(new), CAP_BPF_PERFMON, "after the restart")
        check_dedicated_user(root, c.host_pid(new), "after the restart")

        with timer.step("systemctl stop"):
            c.systemctl("stop", UNIT)
        left = ours_left(before)
        harness.check(c.systemctl("is-active", UNIT).stdout.strip() == "inactive" and not left,
                      f"stopped: inactive, no BPF program, map or link of ours left ({left})")
    finally:
        if c:
            with timer.step("poweroff"):
                c.poweroff()
        shutil.rmtree(root, ignore_errors=True)
        harness.log("steps: " + ", ".join(f"{n} {t:.1f} s" for n, t in timer.steps))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--deb-dir", required=True)
    p.add_argument("--cache", default=os.environ.get("NSTL_ROOTFS_CACHE",
                                                     "/var/cache/netstacklat-tests"))
    args = p.parse_args()
    return harness.run_reporting(run, args)


if __name__ == "__main__":
    sys.exit(main())
