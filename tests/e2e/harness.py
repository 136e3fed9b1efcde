"""What the end-to-end tests share, and only that (no test imports
another): starting and stopping the daemon as systemd would, scraping and
parsing /metrics, traffic, per-thread capability checks, a PKI made with
the openssl command, raw HTTP clients, a real Prometheus, and the rules for
reporting PASS / FAIL / SKIPPED (exit 0 / 1 / 77; a skip under CI=true is a
failure).
"""
import argparse
import base64
import json
import atexit
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # libxcrypt's bcrypt; Python 3.11 (Debian 12) has it

# The Prometheus server and promtool the tests run are unpacked from
# Debian's package into the tests' cache, not installed (no service, no
# user: tests/vm/unpack-test-packages.sh, whose test-cache.sh has the same
# default); an installed one serves where that is missing.
TEST_CACHE = os.environ.get("NSTL_TEST_CACHE", "/var/cache/netstacklat-tests")
os.environ["PATH"] = os.path.join(TEST_CACHE, "prometheus", "usr", "bin") + os.pathsep + \
    os.environ.get("PATH", os.defpath)

SKIP = 77
HIST = "ebpf_exporter_netstack_latency_seconds"
# ebpf_exporter's le strings for bucket_multiplier 1e-9, buckets 0..34.
LE = [
    "1e-09", "2e-09", "4e-09", "8e-09", "1.6e-08", "3.2e-08", "6.4e-08", "1.28e-07",
    "2.56e-07", "5.12e-07", "1.024e-06", "2.048e-06", "4.096e-06", "8.192e-06",
    "1.6384e-05", "3.2768e-05", "6.5536e-05", "0.000131072", "0.000262144",
    "0.000524288", "0.001048576", "0.002097152", "0.004194304", "0.008388608",
    "0.016777216", "0.033554432", "0.067108864", "0.134217728", "0.268435456",
    "0.536870912", "1.073741824", "2.147483648", "4.294967296", "8.589934592",
    "17.179869184", "+Inf",
]
# promtool's one allowed finding: ebpf_exporter's own counter name, kept as is.
ALLOWED_LINT = ('ebpf_exporter_ebpf_program_run_time_seconds counter metrics '
                'should have "_total" suffix')
MESSAGES = 300  # per protocol and address family


class Failure(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def check(cond, msg):
    if not cond:
        raise Failure(msg)
    log("ok: " + msg)


def run_reporting(body, *args):
    """body(*args); logs PASS, or FAIL with the failed check, and returns the
    exit code (0 or 1)."""
    try:
        body(*args)
    except Failure as err:
        log(f"FAIL: {err}")
        return 1
    log("PASS")
    return 0


def run_with_tempdir(prefix, body):
    """body(a fresh temporary directory), removed afterwards; logs PASS or
    FAIL and returns the exit code (0 or 1)."""
    d = tempfile.mkdtemp(prefix=prefix)
    try:
        body(d)
    except Failure as err:
        log(f"FAIL: {err}")
        return 1
    finally:
        shutil.rmtree(d, ignore_errors=True)
    log("PASS")
    return 0


def root_test_main(doc, run, options=(), needs="needs root to load BPF programs", tools=()):
    """The main() of every e2e test: parses --daemon and `options`, pairs of
    (flag, argparse keywords); skips without root (`needs` says why) or
    without one of `tools`; returns run_reporting(run, args)."""
    p = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--daemon", required=True)
    for flag, keywords in options:
        p.add_argument(flag, **keywords)
    args = p.parse_args()
    if os.geteuid() != 0:
        skip(needs)
    for tool in tools:
        if not shutil.which(tool):
            skip(f"{tool} is not installed")
    return run_reporting(run, args)


def skip(reason):
    if os.environ.get("CI") == "true":
        log("FAIL: would skip under CI, where kernel tests must run: " + reason)
        sys.exit(1)
    log("SKIPPED: " + reason)
    sys.exit(SKIP)


# --- scraping and parsing -------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


def parse(text):
    """[(name, {labels}, value)] in order of appearance."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise Failure(f"unparsable line: {line}")
        labels = dict(LABEL.findall(m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def by_hook(samples, suffix):
    return {l["hook"]: v for n, l, v in samples if n == HIST + suffix}


def values(samples, name, key):
    return {l[key]: v for n, l, v in samples if n == name}


# --- the daemon -------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_STARTED = []


@atexit.register
def _stop_leftover_daemons():
    """A test that failed half way leaves no daemon (and so no BPF program)
    behind it: whatever start_daemon started and still runs gets SIGTERM."""
    for proc in _STARTED:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def as_nobody_with(caps):
    """A command prefix: as user nobody with exactly these capabilities
    (setpriv syntax, "+bpf,+perfmon"), to prove they suffice."""
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            f"--inh-caps=-all,{caps}", f"--ambient-caps=-all,{caps}",
            f"--bounding-set=-all,{caps}"]


def unit_memlock():
    """In a child before exec: the locked-memory limit the shipped unit sets
    (LimitMEMLOCK=infinity), which kernels before 5.11 charge BPF maps to
    and which a daemon without CAP_SYS_RESOURCE cannot raise itself."""
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def start_daemon(path, port, timeout, caps=None, wrapper=None, extra=(), plain_http=True):
    """Starts the daemon as systemd would for Type=notify and waits for
    READY=1, which must come only once the port serves the attached hooks
    (checked here when it serves plain HTTP without auth)."""
    notify_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"nstl-notify-{os.getpid()}")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.path.exists(notify_path):
        os.unlink(notify_path)
    notify.bind(notify_path)
    os.chmod(notify_path, 0o777)  # the daemon may run as nobody (--caps)
    notify.settimeout(timeout)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    cmd = (wrapper or [path]) + [f"--web.listen-address=127.0.0.1:{port}"] + list(extra)
    if caps:
        cmd = as_nobody_with(caps) + cmd
        log(f"running the daemon as nobody with only {caps}")
    proc = subprocess.Popen(cmd, env=env, preexec_fn=unit_memlock if caps else None,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _STARTED.append(proc)
    try:
        messages = ""
        while "READY=1" not in messages:
            messages += notify.recv(4096).decode() + "\n"
    except socket.timeout:
        proc.kill()
        raise Failure(f"no READY=1 from the daemon within {timeout} s: {proc.stdout.read()}")
    finally:
        notify.close()
        os.unlink(notify_path)
    if plain_http:
        check("netstacklat_exporter_hook_attached" in scrape(port),
              f"sd_notify READY=1 came once /metrics served the hooks ({messages.strip()!r})")
    return proc


CAP_SETS = ("CapInh", "CapPrm", "CapEff", "CapAmb")

# histogram.exemplar_labels that serves every label (the default serves
# only cpu and iface: docs/security.md).
ALL_EXEMPLAR_LABELS = "[flow, comm, pid, cpu, iface, cgroup]"


CAP_NUMBERS = {"bpf": 39, "perfmon": 38}


def cap_bits(caps):
    """The bit mask of setpriv's "+bpf,+perfmon" (0 for None)."""
    return sum(1 << CAP_NUMBERS[c.lstrip("+")] for c in (caps or "").split(",") if c)


def thread_status(pid):
    """{tid: {field: value}} of /proc/PID/task/*/status: every thread, not
    only the main one (capabilities are per thread)."""
    out = {}
    for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                out[int(tid)] = {k: v.strip() for k, v in
                                 (l.split(":", 1) for l in f if ":" in l)}
        except FileNotFoundError:  # the thread ended while we read
            pass
    return out


def check_no_thread_capabilities(pid, bounding, what, kept=0):
    """Every thread of PID: CapInh and CapAmb 0, CapPrm and CapEff == kept
    (0, or CAP_BPF's bit on kernels that refuse map reads without it),
    NoNewPrivs 1, CapBnd == bounding. Logs one line per thread (name, tid,
    the sets)."""
    threads = thread_status(pid)
    want = {"CapInh": 0, "CapPrm": kept, "CapEff": kept, "CapAmb": 0}
    bad = []
    for tid, st in threads.items():
        sets = {k: int(st[k], 16) for k in CAP_SETS + ("CapBnd",)}
        log(f"  {what}: thread {st['Name']} ({tid}): " +
            " ".join(f"{k}={v:016x}" for k, v in sets.items()) +
            f" NoNewPrivs={st.get('NoNewPrivs')}")
        if any(sets[k] != want[k] for k in CAP_SETS) or sets["CapBnd"] != bounding or \
                st.get("NoNewPrivs") != "1":
            bad.append(f"{st['Name']}({tid})")
    held = "no capability" if not kept else f"only the capabilities {kept:#x}"
    check(len(threads) > 1 and not bad,
          f"{what}: each of its {len(threads)} threads holds {held}, has "
          f"NoNewPrivs and the bounding set {bounding:#x}" +
          (f" (failing: {', '.join(bad)})" if bad else ""))


# --- traffic ----------------------------------------------------------------

def tcp_traffic(family, addr):
    with socket.socket(family, socket.SOCK_STREAM) as srv:
        srv.bind((addr, 0))
        srv.listen(1)
        received = []

        def serve():
            conn, _ = srv.accept()
            with conn:
                total = 0
                while chunk := conn.recv(65536):
                    total += len(chunk)
                received.append(total)

        t = threading.Thread(target=serve)
        t.start()
        with socket.socket(family, socket.SOCK_STREAM) as c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.connect(srv.getsockname()[:2])
            for _ in range(MESSAGES):
                c.sendall(b"x" * 100)
                time.sleep(0.001)  # separate segments, separate reads
        t.join(30)
        check(received == [MESSAGES * 100], f"TCP over {addr}: {MESSAGES} messages received")


def udp_traffic(family, addr, size):
    with socket.socket(family, socket.SOCK_DGRAM) as rx, \
            socket.socket(family, socket.SOCK_DGRAM) as tx:
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        rx.bind((addr, 0))
        rx.settimeout(5)
        got = 0
        for _ in range(MESSAGES):
            tx.sendto(b"y" * size, rx.getsockname()[:2])
            got += len(rx.recv(65536)) == size
        check(got == MESSAGES, f"UDP over {addr}: {MESSAGES} datagrams of {size} B received")


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def send_traffic():
    families = [(socket.AF_INET, "127.0.0.1")]
    if have_ipv6():
        families.append((socket.AF_INET6, "::1"))
    else:
        log("note: no IPv6 on loopback here; IPv4 only")
    for fam, addr in families:
        tcp_traffic(fam, addr)
        # Small datagrams sit in linear skbs; large ones (> ~16 KB on
        # loopback) in paged skbs, the only ones the UDP read tracepoint
        # fallback can see (see bpf/netstacklat.bpf.c).
        udp_traffic(fam, addr, 100)
        udp_traffic(fam, addr, 32000)


# --- cgroups ----------------------------------------------------------------

# A TCP reader on loopback that acknowledges each read with one byte, so a
# test that moves it between cgroups knows in which one it read. Prints
# its port; python3 -c ACK_READER.
ACK_READER = r"""
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
while c.recv(65536):
    c.sendall(b"k")
"""

_CGROUP2 = []  # where cgroup v2 is mounted, once known
_CGROUP2_MOUNTED = "/run/nstl-test-cgroup2"


def cgroup2_root():
    """Where cgroup v2 is mounted; on hybrid or v1-only hosts the test mounts
    the v2 hierarchy (no controllers needed) and unmounts it at exit."""
    if _CGROUP2:
        return _CGROUP2[0]
    for line in open("/proc/self/mounts"):
        fields = line.split()
        if fields[2] == "cgroup2":
            _CGROUP2.append(fields[1])
            return fields[1]
    os.makedirs(_CGROUP2_MOUNTED, exist_ok=True)
    subprocess.run(["mount", "-t", "cgroup2", "none", _CGROUP2_MOUNTED], check=True,
                   capture_output=True)
    atexit.register(subprocess.run, ["umount", _CGROUP2_MOUNTED], capture_output=True)
    _CGROUP2.append(_CGROUP2_MOUNTED)
    return _CGROUP2_MOUNTED


# --- checks -------------------------------------------------------------------

def check_histogram_shape(samples):
    series = {}
    for n, l, v in samples:
        if n == HIST + "_bucket":
            key = (l["cgroup"], l["iface"], l["hook"])
            series.setdefault(key, []).append((l["le"], v))
    check(len(series) > 0, "the latency histogram has series")
    counts = values(samples, HIST + "_count", "hook")
    for (cgroup, iface, hook), buckets in series.items():
        check(cgroup == "unknown_cgroup_id:0" and iface == "unknown:0",
              f"{hook}: ungrouped labels as ebpf_exporter renders them")
        check([le for le, _ in buckets] == LE, f"{hook}: le bounds are ebpf_exporter's 35 + +Inf")
        vals = [v for _, v in buckets]
        check(all(a <= b for a, b in zip(vals, vals[1:])), f"{hook}: buckets are cumulative")
        check(vals[-1] == counts[hook], f"{hook}: +Inf bucket == _count ({counts[hook]:.0f})")


def check_promtool(text):
    promtool = shutil.which("promtool")
    if not promtool:
        raise Failure("promtool not found (Debian package prometheus)")
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True)
    findings = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    check(findings == [ALLOWED_LINT],
          f"promtool check metrics: only the allowed _total lint (got {findings})")


def check_programs_ran(before, after):
    """With kernel.bpf_stats_enabled=1: every attached program ran, i.e. the
    IPv4 and the IPv6 attach points of a hook each saw packets."""
    runs0 = values(before, "ebpf_exporter_ebpf_program_run_count_total", "id")
    runs1 = values(after, "ebpf_exporter_ebpf_program_run_count_total", "id")
    names = {l["id"]: l["program"] for n, l, _ in after
             if n == "ebpf_exporter_ebpf_program_info"}
    for pid, name in sorted(names.items(), key=lambda kv: kv[1]):
        ran = runs1.get(pid, 0) - runs0.get(pid, 0)
        check(ran > 0, f"program {name} (id {pid}) ran {ran:.0f} times")


def daemon_maps(pid):
    """bpftool's record (-j map show) of each BPF map the process PID holds
    an fd to: its own maps, not those of a daemon running beside it."""
    ids = set()
    fd_dir = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                ids |= {int(line.split()[1]) for line in f if line.startswith("map_id:")}
        except OSError:
            pass  # closed since listed
    out = subprocess.run(["bpftool", "-j", "map", "show"], check=True, capture_output=True,
                         text=True).stdout
    return [m for m in json.loads(out or "[]") if m["id"] in ids]


def our_leftovers(ids):
    left = []
    for pid in ids:
        r = subprocess.run(["bpftool", "prog", "show", "id", pid], capture_output=True)
        if r.returncode == 0:
            left.append(pid)
    r = subprocess.run(["bpftool", "prog", "show"], capture_output=True, text=True)
    left += [l for l in r.stdout.splitlines() if " nstl_" in l]
    return left


def scrape_times(port, n=50):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        scrape(port)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times)


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def set_bpf_stats(value):
    path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(path) as f:
        old = f.read().strip()
    with open(path, "w") as f:
        f.write(value)
    return old


def start_refusal(loader):
    """The policy of a kernel where fentry/fexit cannot be used
    (--refuse-fentry: a BPF-LSM program that refuses their loads), in
    force until refused_loads()."""
    proc = subprocess.Popen([loader], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    first = proc.stdout.readline().strip()
    if first != "ready":
        proc.kill()
        raise Failure(f"{loader} did not attach its BPF-LSM program: {first} "
                      f"{proc.stdout.read().strip()}")
    log("fentry/fexit loads refused from now on (BPF-LSM, as this project's machines do)")
    return proc


def refused_loads(proc):
    """Ends the refusal; the number of loads it refused."""
    out, _ = proc.communicate(input="", timeout=30)
    found = re.search(r"refused (\d+)", out)
    return int(found.group(1)) if found else -1


def check_fell_back(points, hooks, refusal):
    """With fentry/fexit refused (start_refusal()), each of these hooks took
    its tracepoint, after the daemon met the refusal; ends the refusal."""
    for h in hooks:
        check(points.get(h, "").startswith("tp_btf/"),
              f"hook {h} took its tracepoint ({points.get(h)}) with fentry refused")
    n = refused_loads(refusal)
    check(n > 0, f"the daemon's fentry/fexit loads were refused ({n}), then it fell back")


def list_hooks(text):
    """--list-hooks output: {hook: [(attach point, available?)]}. A hook line
    starts in column 0; its attach points follow, indented."""
    hooks, current = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace():
            current = line.split()[0]
            hooks[current] = []
        elif line.strip() and current:
            point, rest = line.split(None, 1)
            hooks[current].append((point, rest.strip() == "available"))
    return hooks


# --- TLS: a PKI made with the openssl command ------------------------------

def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1, a client certificate from
    the CA, and a self-signed client certificate (another CA)."""
    def key(name):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-out", f"{d}/{name}.key")

    def self_signed(name, subject):
        key(name)
        openssl("req", "-x509", "-new", "-key", f"{d}/{name}.key", "-out", f"{d}/{name}.crt",
                "-days", "2", "-subj", subject)

    def signed(name, subject, ext):
        key(name)
        openssl("req", "-new", "-key", f"{d}/{name}.key", "-out", f"{d}/{name}.csr",
                "-subj", subject)
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(ext)
        openssl("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.crt", "-CAkey",
                f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/{name}.crt", "-days", "2",
                "-extfile", f"{d}/{name}.ext")

    self_signed("ca", "/CN=nstl-test-ca")
    signed("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\n")
    # RSA: the key exchange that TLS 1.2 could also do without forward secrecy.
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", f"{d}/server-rsa.key")
    openssl("req", "-new", "-key", f"{d}/server-rsa.key", "-out", f"{d}/server-rsa.csr",
            "-subj", "/CN=127.0.0.1")
    with open(f"{d}/server-rsa.ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", f"{d}/server-rsa.csr", "-CA", f"{d}/ca.crt", "-CAkey",
            f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/server-rsa.crt", "-days", "2",
            "-extfile", f"{d}/server-rsa.ext")
    signed("client", "/CN=prometheus", "extendedKeyUsage=clientAuth\n")
    self_signed("rogue", "/CN=rogue")


def curl(port, *args, scheme="https", path="/metrics"):
    """(exit code, HTTP status or 0, body) of one request to path."""
    out = subprocess.run(["curl", "-s", "-m", "10", "--path-as-is", "-w", "\n%{http_code}", *args,
                          f"{scheme}://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True)
    body, _, status = out.stdout.rpartition("\n")
    return out.returncode, int(status or 0), body


def write(d, name, text):
    path = f"{d}/{name}"
    with open(path, "w") as f:
        f.write(text)
    return path


# --- raw HTTP clients ---------------------------------------------------------

def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request(path, authorization, close=False):
    return (f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {authorization}\r\n" +
            ("Connection: close\r\n" if close else "") + "\r\n").encode()


def read_response(s):
    """(status, body length) of one response on s; (0, 0) if closed."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return 0, 0
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    length = int([l.split(b":")[1] for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:")][0])
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            return 0, 0
        body += chunk
    return int(head.split()[1]), length


def client_address(i):
    """A loopback address of its own for attacker i (127.0.0.2 ...)."""
    return f"127.0.{1 + i // 250}.{2 + i % 250}"


def peak_rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


# --- a real Prometheus ---------------------------------------------------------

JOB = "netstacklat"  # the job name the shipped rules expect


def api(prom, path, **params):
    url = f"http://127.0.0.1:{prom}/api/v1/{path}?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=30) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise Failure(f"{path} {params}: {body}")
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
    raise Failure(f"Prometheus did not scrape the daemon {n} times in {timeout} s")


def substitute(expr, values):
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", expr)
    if m:  # a Grafana variable: the series it lists must exist
        expr = m.group(1)
    for var, val in values.items():
        expr = expr.replace(var, val)
    return expr


def write_web_config(d, user, password, extra=""):
    """A web config in d with one basic-auth user (bcrypt cost 10), and
    `extra` YAML after it; returns its path."""
    path = os.path.join(d, "web.yml")
    hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10))
    with open(path, "w") as f:
        f.write(f"basic_auth_users:\n  {user}: '{hashed}'\n" + extra)
    return path
