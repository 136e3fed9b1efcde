#!/usr/bin/env python3
"""--web.config.file on a real daemon: TLS, mutual TLS and basic auth, in
exporter-toolkit's format, checked with curl (certificates made here with the
openssl command, bcrypt hashes with libxcrypt through Python's crypt):

  tls+auth:  no password / a wrong one -> 401 and no metrics; the right one
             -> 200 with the histograms; plain HTTP on the TLS port -> no HTTP
             answer at all; TLS 1.1 -> refused (TLS 1.2 at least).
  mtls:      RequireAndVerifyClientCert: no client certificate and one from
             another CA -> handshake refused; one from the configured CA -> 200.
  bad files: a key that is not the certificate's -> exit 2 naming the file (as
             --config.check does); a
             missing certificate -> exit 2 naming line and key, before any BPF.

Exit 0 pass, 1 fail, 77 skipped (never under CI=true)."""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import warnings

import e2e_test as e2e

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # libxcrypt's bcrypt; Python 3.11 (Debian 12) has it

USER, PASSWORD = "prometheus", "s3cret-pass"


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
    signed("client", "/CN=prometheus", "extendedKeyUsage=clientAuth\n")
    self_signed("rogue", "/CN=rogue")


def curl(port, *args, scheme="https"):
    """(exit code, HTTP status or 0, body) of one request to /metrics."""
    out = subprocess.run(["curl", "-s", "-m", "10", "-w", "\n%{http_code}", *args,
                          f"{scheme}://127.0.0.1:{port}/metrics"],
                         capture_output=True, text=True)
    body, _, status = out.stdout.rpartition("\n")
    return out.returncode, int(status or 0), body


def write(d, name, text):
    path = f"{d}/{name}"
    with open(path, "w") as f:
        f.write(text)
    return path


def run_daemon(daemon, web_config):
    port = e2e.free_port()
    proc = e2e.start_daemon(daemon, port, 60, extra=[f"--web.config.file={web_config}"],
                            plain_http=False)
    return proc, port


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)


def tls_and_auth(daemon, d):
    hashed = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10))
    cfg = write(d, "web.yml", f"tls_server_config:\n  cert_file: {d}/server.crt\n"
                f"  key_file: {d}/server.key\nbasic_auth_users:\n  {USER}: '{hashed}'\n")
    proc, port = run_daemon(daemon, cfg)
    ca = ["--cacert", f"{d}/ca.crt"]
    try:
        code, status, body = curl(port, *ca)
        e2e.check(status == 401 and e2e.HIST not in body, f"TLS, no password: 401, no metrics")
        code, status, body = curl(port, *ca, "-u", f"{USER}:wrong")
        e2e.check(status == 401 and e2e.HIST not in body, "TLS, wrong password: 401, no metrics")
        code, status, body = curl(port, *ca, "-u", f"nobody:{PASSWORD}")
        e2e.check(status == 401, "TLS, unknown user: 401")
        code, status, body = curl(port, *ca, "-u", f"{USER}:{PASSWORD}")
        e2e.check(status == 200 and "netstacklat_exporter_hook_attached" in body,
                  "TLS, right password: 200 with the metrics")
        code, status, body = curl(port, "-u", f"{USER}:{PASSWORD}", scheme="http")
        e2e.check(code != 0 and status == 0 and "netstacklat" not in body,
                  f"plain HTTP on the TLS port: no HTTP answer (curl exit {code})")
        code, status, _ = curl(port, *ca, "--tls-max", "1.1", "-u", f"{USER}:{PASSWORD}")
        e2e.check(code != 0 and status == 0, f"TLS 1.1: refused (curl exit {code})")
        code, status, _ = curl(port, *ca, "-u", f"{USER}:{PASSWORD}")
        e2e.check(status == 200, "still serving after the refused clients")
    finally:
        stop(proc)


def mutual_tls(daemon, d):
    cfg = write(d, "mtls.yml", f"tls_server_config:\n  cert_file: {d}/server.crt\n"
                f"  key_file: {d}/server.key\n  client_ca_file: {d}/ca.crt\n"
                "  client_auth_type: RequireAndVerifyClientCert\n")
    proc, port = run_daemon(daemon, cfg)
    ca = ["--cacert", f"{d}/ca.crt"]
    try:
        code, status, _ = curl(port, *ca)
        e2e.check(status == 0 and code != 0, f"mTLS, no client certificate: refused ({code})")
        code, status, _ = curl(port, *ca, "--cert", f"{d}/rogue.crt", "--key", f"{d}/rogue.key")
        e2e.check(status == 0 and code != 0,
                  f"mTLS, a client certificate from another CA: refused ({code})")
        code, status, body = curl(port, *ca, "--cert", f"{d}/client.crt", "--key",
                                  f"{d}/client.key")
        e2e.check(status == 200 and e2e.HIST in body,
                  "mTLS, a client certificate from the configured CA: 200 with the metrics")
    finally:
        stop(proc)


def bad_files(daemon, d):
    mismatched = write(d, "mismatch.yml", f"tls_server_config:\n  cert_file: {d}/server.crt\n"
                       f"  key_file: {d}/client.key\n")
    start = subprocess.run([daemon, "--web.listen-address=127.0.0.1:0",
                            f"--web.config.file={mismatched}"], capture_output=True, text=True,
                           timeout=60)
    check = subprocess.run([daemon, f"--web.config.file={mismatched}", "--config.check"],
                           capture_output=True, text=True, timeout=60)
    line = [l for l in start.stderr.splitlines() if " error " in l]
    e2e.check(start.returncode == 2 and len(line) == 1 and
              f"{mismatched}: loading key_file {d}/client.key" in line[0] and
              "key values mismatch" in line[0] and "hook " not in start.stderr,
              f"a key that is not the certificate's: exit {start.returncode}, named, before any BPF")
    e2e.check(check.returncode == 2 and line and line[0].split(" error ")[1] in check.stderr,
              f"--config.check refuses it with the same message (exit {check.returncode})")
    missing = write(d, "missing.yml", "tls_server_config:\n  cert_file: /nonexistent.crt\n"
                    f"  key_file: {d}/server.key\n")
    out = subprocess.run([daemon, f"--web.config.file={missing}"], capture_output=True,
                         text=True, timeout=60)
    e2e.check(out.returncode == 2 and
              f"{missing}:2:14: tls_server_config.cert_file: cannot read" in out.stderr and
              "hook " not in out.stderr,
              f"a missing certificate: exit 2 with file:line:column: key, before any BPF")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--daemon", required=True)
    args = p.parse_args()
    if os.geteuid() != 0:
        e2e.skip("needs root (the daemon loads BPF)")
    for tool in ("openssl", "curl"):
        if not shutil.which(tool):
            e2e.skip(f"{tool} is not installed")
    def cases(d):
        make_pki(d)
        tls_and_auth(args.daemon, d)
        mutual_tls(args.daemon, d)
        bad_files(args.daemon, d)

    return e2e.run_with_tempdir("nstl-web-", cases)

if __name__ == "__main__":
    sys.exit(main())
