#!/usr/bin/env python3
"""Start-up failures print one clear log line and exit non-zero, and a bad
config is rejected before anything touches the kernel.

Exit codes: 0 pass, 1 fail, 77 skipped (never under CI=true)."""
import socket
import subprocess
import sys
import tempfile

import harness


def outcome(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)
    return r.returncode, [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]


def expect(name, got, code, needle):
    rc, lines = got
    errors = [l for l in lines if " error " in l or l.startswith("netstacklat-exporter:")]
    ok = rc == code and len(errors) == 1 and needle in errors[0]
    print(("ok: " if ok else "FAIL: ") + f"{name}: exit {rc}, {errors}")
    return ok


def bpf_program_ids():
    r = subprocess.run(["bpftool", "prog", "show"], capture_output=True, text=True)
    return {l.split(":")[0] for l in r.stdout.splitlines() if l and l[0].isdigit()}


def main():
    return harness.root_test_main(
        __doc__, run, needs="needs root (to drop to nobody, and to hold a port as another user)")


def run(args):
    """Every case runs and prints ok or FAIL; fails at the end if one did."""
    daemon = args.daemon
    ok = True
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as bad:
        bad.write("metrics:\n  histograms:\n    - name: x\n      bucket_type: linear\n")
        bad.flush()
        before = bpf_program_ids()
        ok &= expect("bad metrics config", outcome([daemon, f"--metrics.config={bad.name}"]), 2,
                     f"{bad.name}:3:7: metrics.histograms[0]: missing required key 'help'")
        # No new program: one of the previous test's daemon may still be
        # going away (the kernel frees programs after an RCU grace period).
        untouched = not bpf_program_ids() - before
        print(("ok: " if untouched else "FAIL: ") + "no BPF program was loaded for a bad config")
        ok &= untouched
    for flag in ("--web.listen-address=:99999", "--web.listen-address=nonexistent.invalid:1"):
        started, checked = outcome([daemon, flag]), outcome([daemon, flag, "--config.check"])
        ok &= expect(f"{flag}: start", started, 2, flag.split("=")[1])
        ok &= expect(f"{flag}: --config.check", checked, 2, flag.split("=")[1])
        message = lambda lines: [l.split(" error ", 1)[-1] for l in lines[-1:]]
        same = message(started[1]) == message(checked[1]) != []
        print(("ok: " if same else "FAIL: ") + f"{flag}: the same message from both")
        ok &= same
    ok &= expect("unknown flag", outcome([daemon, "--web.listen-adress=:1"]), 2,
                 "unknown flag '--web.listen-adress'")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        ok &= expect("port in use", outcome([daemon, f"--web.listen-address=127.0.0.1:{port}"]), 1,
                     f"cannot listen on 127.0.0.1:{port}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
              "--inh-caps=-all", "--bounding-set=-all"]
    ok &= expect("no BPF permission", outcome(nobody + [daemon, f"--web.listen-address=127.0.0.1:{port}"]),
                 1, "no permission to use BPF")
    # No kernel BTF: /sys/kernel/btf/vmlinux hidden by an empty file in a
    # private mount namespace (as on a kernel without CONFIG_DEBUG_INFO_BTF).
    no_btf = ["unshare", "--mount", "sh", "-c",
              'mount --bind /dev/null /sys/kernel/btf/vmlinux && exec "$@"', "sh"]
    ok &= expect("no kernel BTF", outcome(no_btf + [daemon, f"--web.listen-address=127.0.0.1:{port}"]),
                 1, "kernel BTF not available")
    harness.check(ok, "every start-up failure above as expected")


if __name__ == "__main__":
    sys.exit(main())
