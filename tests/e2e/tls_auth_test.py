#!/usr/bin/env python3
"""--web.config.file on a real daemon: TLS, mutual TLS and basic auth, in
exporter-toolkit's format, checked with curl (certificates made here with the
openssl command, bcrypt hashes with libxcrypt through Python's crypt):

  tls+auth:  no password / a wrong one -> 401 and no metrics; the right one
             -> 200 with the histograms; the health check /-/healthy -> 200
             "OK" without a password, as a Kubernetes probe asks (HTTPS, the
             certificate not verified), and nothing else there; plain HTTP on
             the TLS port -> no HTTP answer at all; TLS 1.1 -> refused (TLS
             1.2 at least).
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
        # A rotation is not a config change: the reload itself succeeded
        # (the concurrency stress test caught one failing between the
        # key's rename and the certificate's).
        ok = {n: v for n, _, v in harness.parse(body)}.get(
            "netstacklat_exporter_config_last_reload_successful")
        harness.check(ok == 1, f"the SIGHUP that met the broken rotation still reloaded ({ok})")
    finally:
        stop(proc)


def padded_client_certificate(d, name, names):
    """A self-signed client certificate padded with `names` DNS names
    (~35 bytes each): 800 make ~28 KB, 2,500 ~88 KB (under OpenSSL's
    default limit of 100 KB, far over what a real chain needs)."""
    san = ",".join(f"DNS:host{i:05d}.padding.example.invalid" for i in range(names))
    harness.write(d, f"{name}.cnf", f"[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName={san}\n")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{d}/{name}.key", "-out",
                    f"{d}/{name}.crt", "-subj", f"/CN={name}", "-days", "2", "-config",
                    f"{d}/{name}.cnf", "-extensions", "ext"], check=True, capture_output=True)


def handshake_flood(port, ctxs, n):
    """n full handshakes (no resumption), each context in turn."""
    for i in range(n):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                    ctxs[i % len(ctxs)].wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                while s.recv(65536):
                    pass
        except (OSError, ssl.SSLError):
            pass  # refused: what a bounded server may do


def tls_memory(daemon, d):
    """TLS costs memory a client chooses, bounded: with RequireAnyClientCert
    any self-signed certificate is accepted, and OpenSSL's defaults kept
    each session, certificate included (up to 100 KB), in a server cache of
    20,480 for 300 s: a few hundred handshakes outgrew the DaemonSet's
    128 Mi. Now no server-side cache (Go's crypto/tls keeps none either:
    resumption by tickets the client holds), client certificate chains up
    to 32 KiB, and exporter-toolkit's curves: no finite-field groups, whose
    8192-bit key shares cost the server many X25519s each."""
    padded_client_certificate(d, "big", 2500)
    padded_client_certificate(d, "mid", 800)
    cfg = harness.write(d, "any.yml", f"tls_server_config:\n  cert_file: {d}/server.crt\n"
                        f"  key_file: {d}/server.key\n  client_auth_type: RequireAnyClientCert\n")
    proc, port = run_daemon(daemon, cfg)
    try:
        # TLS 1.2 without tickets: the server keeps the session (TLS 1.3's
        # tickets and a ticket-taking client leave nothing on the server).
        def no_tickets(name):
            ctx = client_context(d, ssl.TLSVersion.TLSv1_2, cert=False)
            ctx.options |= ssl.OP_NO_TICKET
            ctx.load_cert_chain(f"{d}/{name}.crt", f"{d}/{name}.key")
            return ctx
        status, why, _, _ = tls_get(port, no_tickets("big"))
        harness.check(status == 0, f"an 88 KB client certificate: refused ({why})")
        status = tls_get(port, no_tickets("mid"))[0]
        harness.check(status == 200, f"a 28 KB one: accepted ({status})")
        handshake_flood(port, [no_tickets("mid")], 20)  # the allocator's first growth
        before = harness.rss_kb(proc.pid)
        n = 400
        t0 = time.monotonic()
        handshake_flood(port, [no_tickets("mid"), no_tickets("big")], n)
        took = time.monotonic() - t0
        grew = (harness.rss_kb(proc.pid) - before) / 1024
        harness.log(f"{n} handshakes with 28 KB and 88 KB client certificates, no tickets, in "
                    f"{took:.1f} s: RSS grew {grew:.1f} MB")
        harness.check(grew < 16, f"a flood of handshakes with large client certificates: RSS "
                                 f"grows {grew:.1f} MB (bound: 16 MB; before 2026-12-04, 185 MB "
                                 f"for 400 with the 88 KB one)")
        status = tls_get(port, client_context(d, ssl.TLSVersion.TLSv1_3))[0]
        harness.check(status == 200, f"a client with a real certificate is served after it "
                                     f"({status})")
        out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3",
                              "-groups", "ffdhe8192", "-cert", f"{d}/client.crt", "-key",
                              f"{d}/client.key"], input="", capture_output=True, text=True,
                             timeout=30)
        harness.check("Server Temp Key" not in out.stdout and out.returncode != 0,
                      f"TLS 1.3 offering only ffdhe8192: refused (s_client exit {out.returncode})")
    finally:
        stop(proc)


def wait_reload(port, before, auths, scheme="http", timeout=10):
    """The reload's outcome as exported, (successful 0/1, success
    timestamp), once it differs from `before`; asked with each of `auths`
    (the password in force may be either)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for auth in auths:
            now = reload_state(port, auth, scheme)
            if now[0] is not None and now != before:
                return now
        time.sleep(0.2)
    raise harness.Failure("no reload outcome exported within 10 s")


def reload_state(port, auth, scheme="http"):
    """(last reload successful, its timestamp) as served to `auth`;
    (None, None) while it is refused."""
    _, status, body = harness.curl(port, *auth, scheme=scheme)
    if status != 200:
        return None, None
    samples = {n: v for n, _, v in harness.parse(body)}
    return (samples.get("netstacklat_exporter_config_last_reload_successful"),
            samples.get("netstacklat_exporter_config_last_reload_success_timestamp_seconds"))


def socket_reads(port, auth):
    _, _, body = harness.curl(port, *auth, scheme="http")
    return harness.by_hook(harness.parse(body), "_count").get("tcp-socket-read", 0)


def web_config_reload(daemon, d):
    """SIGHUP applies a changed web config, as exporter-toolkit re-reads it
    per connection: a revoked password gets 401 at once. A reload that
    cannot apply (here TLS turned on, which needs a restart) changes
    nothing, not even the filters edited with it. Before 2026-12-04 every
    web config change was refused: the old password kept working."""
    old_pw, new_pw = "old-pass-1", "new-pass-2"
    bcrypt = lambda pw: crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10))
    web = harness.write(d, "reload-web.yml", f"basic_auth_users:\n  {USER}: '{bcrypt(old_pw)}'\n")
    cfg = harness.write(d, "reload.yml", f"web:\n  config_file: {web}\n")
    port = harness.free_port()
    proc = harness.start_daemon(daemon, port, 60, extra=[f"--config.file={cfg}"], plain_http=False)
    old, new = ["-u", f"{USER}:{old_pw}"], ["-u", f"{USER}:{new_pw}"]
    try:
        status = harness.curl(port, *old, scheme="http")[1]
        harness.check(status == 200, f"before: the old password gets {status}")
        before = reload_state(port, old)
        harness.write(d, "reload-web.yml", f"basic_auth_users:\n  {USER}: '{bcrypt(new_pw)}'\n")
        time.sleep(0.05)  # a distinct success timestamp
        proc.send_signal(signal.SIGHUP)
        ok, _ = wait_reload(port, before, (old, new))
        s_old, s_new = (harness.curl(port, *a, scheme="http")[1] for a in (old, new))
        harness.check(ok == 1 and s_old == 401 and s_new == 200,
                      f"a reload that changes the password: successful ({ok}); the revoked one "
                      f"gets {s_old}, the new one {s_new}")

        # TLS on needs a restart: refused whole, the pid filter edited
        # with it (only PID 1's reads would count) not applied either.
        before = reload_state(port, new)
        harness.write(d, "reload-web.yml", f"tls_server_config:\n  cert_file: {d}/server.crt\n"
                      f"  key_file: {d}/server.key\nbasic_auth_users:\n  {USER}: '{bcrypt(old_pw)}'\n")
        harness.write(d, "reload.yml", f"web:\n  config_file: {web}\nfilters:\n  pids: [1]\n")
        proc.send_signal(signal.SIGHUP)
        ok, _ = wait_reload(port, before, (old, new))
        reads = socket_reads(port, new)
        harness.send_traffic()
        time.sleep(0.3)
        grew = socket_reads(port, new) - reads
        s_old, s_new = (harness.curl(port, *a, scheme="http")[1] for a in (old, new))
        harness.check(ok == 0 and s_new == 200 and s_old == 401 and grew > 0,
                      f"a reload that cannot apply: failed ({ok}), nothing of it applied: plain "
                      f"HTTP, the password in force gets {s_new}, the one in the file {s_old}, "
                      f"socket reads of every process still counted (+{grew:.0f})")
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
        web_config_reload(args.daemon, d)
        tls_memory(args.daemon, d)
        bad_files(args.daemon, d)


if __name__ == "__main__":
    sys.exit(main())
