#!/usr/bin/env python3
"""--web.config.file on a real daemon: TLS, mutual TLS and basic auth, in
exporter-toolkit's format, checked with curl (certificates made here with the
openssl command, bcrypt hashes with libxcrypt through Python's crypt):

  tls+auth:  no password / a wrong one -> 401 and no metrics; the right one
             -> 200 with the histograms; the health check /-/healthy -> 200
             "OK" without a password, as a Kubernetes probe asks (HTTPS, the
             certificate not verified), and nothing else there; plain HTTP on the TLS port -> no HTTP
             answer at all; TLS 1.1 -> refused (TLS 1.2 at least).
  mtls:      RequireAndVerifyClientCert: no client certificate and one from
             another CA -> handshake refused; one from the configured CA -> 200.
  bad files: a key that is not the certificate's -> exit 2 naming the file (as
             --config.check does); a
             missing certificate -> exit 2 naming line and key, before any BPF.

Exit 0 pass, 1 fail, 77 skipped (never under CI=true)."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import warnings

import harness

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # libxcrypt's bcrypt; Python 3.11 (Debian 12) has it

USER, PASSWORD = "prometheus", "s3cret-pass"


def run_daemon(daemon, web_config):
    port = harness.free_port()
    proc = harness.start_daemon(daemon, port, 60, extra=[f"--web.config.file={web_config}"],
                            plain_http=False)
    return proc, port


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)


def tls_and_auth(daemon, d):
    hashed = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10))
    cfg = harness.write(d, "web.yml", f"tls_server_config:\n  cert_file: {d}/server.crt\n"
                f"  key_file: {d}/server.key\nbasic_auth_users:\n  {USER}: '{hashed}'\n")
    proc, port = run_daemon(daemon, cfg)
    ca = ["--cacert", f"{d}/ca.crt"]
    try:
        code, status, body = harness.curl(port, *ca)
        harness.check(status == 401 and harness.HIST not in body, "TLS, no password: 401, no metrics")
        code, status, body = harness.curl(port, *ca, "-u", f"{USER}:wrong")
        harness.check(status == 401 and harness.HIST not in body, "TLS, wrong password: 401, no metrics")
        code, status, body = harness.curl(port, *ca, "-u", f"nobody:{PASSWORD}")
        harness.check(status == 401, "TLS, unknown user: 401")
        for path in ("/", "/-/healthy/", "/-/healthy/../metrics", "/-/ready"):
            code, status, body = harness.curl(port, "-k", path=path)
            harness.check(status in (401, 404) and harness.HIST not in body,
                      f"TLS, no password, {path}: {status}, no metrics")
        code, status, body = harness.curl(port, "-k", path="/-/healthy")
        harness.check(status == 200 and body == "OK\n",
                  f"TLS, no password, /-/healthy as a kubelet probe asks: {status} {body!r}")
        code, status, body = harness.curl(port, *ca, "-u", f"{USER}:{PASSWORD}")
        harness.check(status == 200 and "netstacklat_exporter_hook_attached" in body,
                  "TLS, right password: 200 with the metrics")
        code, status, body = harness.curl(port, "-u", f"{USER}:{PASSWORD}", scheme="http")
        harness.check(code != 0 and status == 0 and "netstacklat" not in body,
                  f"plain HTTP on the TLS port: no HTTP answer (curl exit {code})")
        code, status, _ = harness.curl(port, *ca, "--tls-max", "1.1", "-u", f"{USER}:{PASSWORD}")
        harness.check(code != 0 and status == 0, f"TLS 1.1: refused (curl exit {code})")
        code, status, _ = harness.curl(port, *ca, "-u", f"{USER}:{PASSWORD}")
        harness.check(status == 200, "still serving after the refused clients")
    finally:
        stop(proc)


def mutual_tls(daemon, d):
    cfg = harness.write(d, "mtls.yml", f"tls_server_config:\n  cert_file: {d}/server.crt\n"
                f"  key_file: {d}/server.key\n  client_ca_file: {d}/ca.crt\n"
                "  client_auth_type: RequireAndVerifyClientCert\n")
    proc, port = run_daemon(daemon, cfg)
    ca = ["--cacert", f"{d}/ca.crt"]
    try:
        code, status, _ = harness.curl(port, *ca)
        harness.check(status == 0 and code != 0, f"mTLS, no client certificate: refused ({code})")
        code, status, _ = harness.curl(port, *ca, "--cert", f"{d}/rogue.crt", "--key", f"{d}/rogue.key")
        harness.check(status == 0 and code != 0,
                  f"mTLS, a client certificate from another CA: refused ({code})")
        code, status, body = harness.curl(port, *ca, "--cert", f"{d}/client.crt", "--key",
                                  f"{d}/client.key")
        harness.check(status == 200 and harness.HIST in body,
                  "mTLS, a client certificate from the configured CA: 200 with the metrics")
    finally:
        stop(proc)


def tls_get(port, ctx, session=None):
    """(status, negotiated cipher, session reused, session) of one GET over
    TLS with ctx, or (0, error, False, None) if the handshake failed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
            return int(answer.split()[1]), s.cipher()[0], s.session_reused, s.session
    except (OSError, ssl.SSLError, IndexError, ValueError) as err:
        return 0, str(err), False, None


def client_context(d, version, cert=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(f"{d}/ca.crt")
    ctx.minimum_version = ctx.maximum_version = version
    if cert:
        ctx.load_cert_chain(f"{d}/client.crt", f"{d}/client.key")
    return ctx


def tls_settings(daemon, d):
    """Resumed handshakes with client certificates (OpenSSL 3 aborts them
    without a session id context: curl and nginx resume), only forward-secret
    suites on TLS 1.2, and exporter-toolkit's cipher_suites,
    prefer_server_cipher_suites and curve_preferences accepted."""
    cfg = harness.write(d, "resume.yml", f"tls_server_config:\n  cert_file: {d}/server.crt\n"
                f"  key_file: {d}/server.key\n  client_ca_file: {d}/ca.crt\n"
                "  client_auth_type: RequireAndVerifyClientCert\n")
    proc, port = run_daemon(daemon, cfg)
    try:
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            ctx = client_context(d, version)
            status, _, _, session = tls_get(port, ctx)
            harness.check(status == 200, f"mTLS {version.name}: first handshake, 200")
            status, cipher, reused, _ = tls_get(port, ctx, session)
            harness.check(status == 200 and reused,
                      f"mTLS {version.name}: the session resumed, 200 "
                      f"(status {status}, reused {reused}: {cipher})")
    finally:
        stop(proc)
    cfg = harness.write(d, "rsa.yml", f"tls_server_config:\n  cert_file: {d}/server-rsa.crt\n"
                f"  key_file: {d}/server-rsa.key\n")
    proc, port = run_daemon(daemon, cfg)
    try:
        ctx = client_context(d, ssl.TLSVersion.TLSv1_2, cert=False)
        status, cipher, _, _ = tls_get(port, ctx)
        harness.check(status == 200 and cipher.startswith("ECDHE-"),
                  f"TLS 1.2, RSA key: an ECDHE suite is chosen ({cipher})")
        ctx.set_ciphers("AES128-GCM-SHA256:AES256-GCM-SHA384")  # RSA key exchange only
        status, error, _, _ = tls_get(port, ctx)
        harness.check(status == 0, f"TLS 1.2 without forward secrecy: refused ({error[:80]})")
    finally:
        stop(proc)
    cfg = harness.write(d, "suites.yml", f"tls_server_config:\n  cert_file: {d}/server-rsa.crt\n"
                f"  key_file: {d}/server-rsa.key\n  min_version: TLS12\n"
                "  max_version: TLS12\n  prefer_server_cipher_suites: true\n"
                "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\n"
                "  curve_preferences: [X25519, CurveP256]\n")
    proc, port = run_daemon(daemon, cfg)
    try:
        status, cipher, _, _ = tls_get(port, client_context(d, ssl.TLSVersion.TLSv1_2,
                                                            cert=False))
        harness.check(status == 200 and cipher == "ECDHE-RSA-AES256-GCM-SHA384",
                  f"cipher_suites, curve_preferences, prefer_server_cipher_suites, "
                  f"min/max_version accepted and in force ({cipher})")
    finally:
        stop(proc)


def served_certificate(port):
    """The DER of the certificate the daemon presents now."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            ctx.wrap_socket(raw) as s:
        return s.getpeercert(binary_form=True)


def rotation(daemon, d):
    """A certificate rotated on disk is served without a restart: on the
    next handshake a second or more after the files changed (as
    exporter-toolkit re-reads them per handshake), and at once on SIGHUP;
    a half-written rotation keeps the old one; not_after is exported."""
    for name in ("rot.crt", "rot.key"):
        shutil.copy(f"{d}/server.{name.split('.')[1]}", f"{d}/{name}")
    cfg = harness.write(d, "rot.yml", f"tls_server_config:\n  cert_file: {d}/rot.crt\n"
                f"  key_file: {d}/rot.key\n")
    proc, port = run_daemon(daemon, cfg)
    try:
        first = served_certificate(port)
        for _ in range(3):  # closes after the handshake, before the session tickets
            served_certificate(port)
        harness.check(proc.poll() is None, "clients that close right after the handshake do not "
                  "kill the daemon (before 2026-12-01: SIGPIPE)")
        # Rotate: the RSA certificate and key, as cert-manager or certbot do.
        shutil.copy(f"{d}/server-rsa.key", f"{d}/rot.key.new")
        shutil.copy(f"{d}/server-rsa.crt", f"{d}/rot.crt.new")
        os.replace(f"{d}/rot.key.new", f"{d}/rot.key")
        os.replace(f"{d}/rot.crt.new", f"{d}/rot.crt")
        deadline, now_served = time.time() + 5, first
        while time.time() < deadline and now_served == first:
            time.sleep(0.5)
            now_served = served_certificate(port)
        harness.check(now_served != first and now_served == ssl.PEM_cert_to_DER_cert(
            open(f"{d}/server-rsa.crt").read()),
            "a rotated certificate is served without a restart, within seconds")
        # A broken rotation (key and certificate do not match) keeps the one in use.
        shutil.copy(f"{d}/server.key", f"{d}/rot.key")
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        harness.check(served_certificate(port) == now_served,
                  "a rotation that does not load keeps the certificate in use")
        code, status, body = harness.curl(port, "--cacert", f"{d}/ca.crt")
        harness.check(status == 200 and 'result="failed"' in body and
                  "netstacklat_exporter_tls_certificate_not_after_seconds" in body,
                  "the failed reload is counted; the certificate's expiry is exported")
    finally:
        stop(proc)


def bad_files(daemon, d):
    mismatched = harness.write(d, "mismatch.yml", f"tls_server_config:\n  cert_file: {d}/server.crt\n"
                       f"  key_file: {d}/client.key\n")
    start = subprocess.run([daemon, "--web.listen-address=127.0.0.1:0",
                            f"--web.config.file={mismatched}"], capture_output=True, text=True,
                           timeout=60)
    check = subprocess.run([daemon, f"--web.config.file={mismatched}", "--config.check"],
                           capture_output=True, text=True, timeout=60)
    line = [l for l in start.stderr.splitlines() if " error " in l]
    harness.check(start.returncode == 2 and len(line) == 1 and
              f"{mismatched}: loading key_file {d}/client.key" in line[0] and
              "key values mismatch" in line[0] and "hook " not in start.stderr,
              f"a key that is not the certificate's: exit {start.returncode}, named, before any BPF")
    harness.check(check.returncode == 2 and line and line[0].split(" error ")[1] in check.stderr,
              f"--config.check refuses it with the same message (exit {check.returncode})")
    missing = harness.write(d, "missing.yml", "tls_server_config:\n  cert_file: /nonexistent.crt\n"
                    f"  key_file: {d}/server.key\n")
    out = subprocess.run([daemon, f"--web.config.file={missing}"], capture_output=True,
                         text=True, timeout=60)
    harness.check(out.returncode == 2 and
              f"{missing}:2:14: tls_server_config.cert_file: cannot read" in out.stderr and
              "hook " not in out.stderr,
              "a missing certificate: exit 2 with file:line:column: key, before any BPF")


def main():
    return harness.root_test_main(__doc__, run, needs="needs root (the daemon loads BPF)",
                                  tools=("openssl", "curl"))


def run(args):
    with tempfile.TemporaryDirectory(prefix="nstl-web-") as d:
        harness.make_pki(d)
        tls_and_auth(args.daemon, d)
        mutual_tls(args.daemon, d)
        tls_settings(args.daemon, d)
        rotation(args.daemon, d)
        bad_files(args.daemon, d)


if __name__ == "__main__":
    sys.exit(main())
